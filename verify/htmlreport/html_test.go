package htmlreport

import (
	"strings"
	"testing"

	"github.com/onnx-prom/onnx-prom/verify/accuracy"
	"github.com/onnx-prom/onnx-prom/verify/cost"
)

func TestSIValue(t *testing.T) {
	for v, want := range map[float64]string{15.59e-6: "15.6 µJ", 451.161e-6: "451 µJ", 2028104: "2.03 MB", 0: "0 J", 0.5: "500 mJ"} {
		unit := "J"
		if v > 1 {
			unit = "B"
		}
		if got := siValue(v, unit); got != want {
			t.Errorf("siValue(%g) = %q, want %q", v, got, want)
		}
	}
}

func TestEscapingAndSelfContained(t *testing.T) {
	evil := `<script>alert("x")</script>`
	r := &cost.Report{Layers: []cost.Layer{{Name: evil, MACs: 10, EnergyPJ: 3, Float16PJ: 15, WeightBytes: 4, BaselineParams: 4}},
		Assumptions: []string{evil}, Warnings: []string{evil}}
	var b strings.Builder
	if err := Cost(&b, r, evil); err != nil {
		t.Fatal(err)
	}
	v := &accuracy.Report{Samples: 1, Layers: []accuracy.Layer{{Name: evil, SQNR: -12, Isolated: true, CumulativeSQNR: -3}, {Name: "ok", SQNR: 40, Isolated: true}}}
	if err := Verify(&b, v, evil, evil, Gate{Passed: false, Checks: []string{evil}}); err != nil {
		t.Fatal(err)
	}
	h := b.String()
	for _, bad := range []string{"<script", "NaN", "Inf", "src=", "href="} {
		if strings.Contains(h, bad) {
			t.Errorf("report contains %q", bad)
		}
	}
	if !strings.Contains(h, "&lt;script&gt;") || strings.Count(h, "<svg") != 3 {
		t.Errorf("escaped names or charts missing")
	}
}
