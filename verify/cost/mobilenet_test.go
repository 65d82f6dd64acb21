package cost

import (
	"fmt"
	"strings"
	"testing"

	"github.com/onnx-prom/onnx-prom/passes"
	"github.com/onnx-prom/onnx-prom/testdata/models"
)

// mobileNetV2MACs computes torchvision MobileNetV2's MACs per layer class
// from its architecture table, independently of any ONNX graph: stem 3x3
// conv (stride 2), per block an optional 1x1 expansion, a 3x3 depthwise
// conv and a 1x1 projection, the final 1x1 conv to 1280 channels and the
// 1280 -> 1000 classifier.
func mobileNetV2MACs() map[string]int64 {
	r := int64(224 / 2)
	cin := int64(32)
	m := map[string]int64{"stem": r * r * cin * 3 * 9}
	for _, b := range models.TorchvisionBlocks() {
		for i := range b.Repeats {
			s := int64(1)
			if i == 0 {
				s = int64(b.Stride)
			}
			hidden := cin * int64(b.Expand)
			if b.Expand != 1 {
				m["pointwise"] += r * r * hidden * cin
			}
			r /= s
			m["depthwise"] += r * r * hidden * 9
			m["pointwise"] += r * r * int64(b.Channels) * hidden
			cin = int64(b.Channels)
		}
	}
	m["final 1x1"] = r * r * 1280 * cin
	m["classifier"] = 1280 * 1000
	return m
}

// classOf groups the layers of the converted MobileNetV2 like the paper's
// discussion: stem, depthwise, pointwise (inside the blocks), final 1x1,
// classifier.
func classOf(l Layer) string {
	switch {
	case l.Class == "fc":
		return "classifier"
	case strings.HasPrefix(l.Name, "features.18."):
		return "final 1x1"
	case l.Class == "conv":
		return "stem"
	}
	return l.Class
}

// TestMobileNetV2 checks the cost of torchvision's MobileNetV2 converted
// with the default configuration against hand arithmetic: float16 is
// 300,774,272 MACs x 1.5 pJ; the PROM form prices the pointwise MACs
// (final 1x1 included) as int8 additions and the rest as int8 mult + add.
func TestMobileNetV2(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and converts the full MobileNetV2 (a few seconds)")
	}
	mp, err := models.MobileNetV2(models.Full())
	if err != nil {
		t.Fatal(err)
	}
	fr, err := Analyze(mp, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ref := mobileNetV2MACs()
	var total int64
	for _, v := range ref {
		total += v
	}
	if total != 300774272 || fr.MACs != total || fr.FloatMACs != total {
		t.Fatalf("MACs: analytic %d, float model %d (float %d), want 300774272", total, fr.MACs, fr.FloatMACs)
	}
	if !near(fr.Float16.EnergyPJ, float64(total)*1.5) {
		t.Errorf("float16 energy %v pJ, want %v", fr.Float16.EnergyPJ, float64(total)*1.5)
	}
	out, _, err := passes.Convert(mp, passes.Options{Config: passes.DefaultConfig()})
	if err != nil {
		t.Fatal(err)
	}
	r, err := Analyze(out, Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	pj := map[string]float64{}
	fp16 := map[string]float64{}
	for _, l := range r.Layers {
		c := classOf(l)
		got[c] += l.MACs
		pj[c] += l.EnergyPJ
		fp16[c] += l.Float16PJ
		want := map[string]string{"pointwise": "ternary", "final 1x1": "ternary", "stem": "int8", "depthwise": "int8", "classifier": "int8"}[c]
		if l.MACs > 0 && l.Arith != want {
			t.Errorf("%s (%s): arithmetic %s, want %s", l.Name, c, l.Arith, want)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "| class | MACs | share | arithmetic | pJ/MAC | PROM uJ | float16 uJ |\n|---|---:|---:|---|---:|---:|---:|\n")
	for _, c := range []string{"stem", "depthwise", "pointwise", "final 1x1", "classifier"} {
		if got[c] != ref[c] {
			t.Errorf("%s: %d MACs, analytic %d", c, got[c], ref[c])
		}
		per := 0.23
		if c == "pointwise" || c == "final 1x1" {
			per = 0.03
		}
		if !near(pj[c], float64(ref[c])*per) {
			t.Errorf("%s: %v pJ, want %d x %v", c, pj[c], ref[c], per)
		}
		fmt.Fprintf(&b, "| %s | %d | %.1f%% | | %.2f | %.3f | %.3f |\n", c, got[c], 100*float64(got[c])/float64(total), per, pj[c]/1e6, fp16[c]/1e6)
	}
	fmt.Fprintf(&b, "| total | %d | | | | %.3f | %.3f |\n", r.MACs, r.EnergyPJ/1e6, r.Float16.EnergyPJ/1e6)
	t.Logf("per-class table:\n%s", b.String())
	t.Logf("energy %.3f uJ vs float16 %.3f uJ: %.2fx (with overhead %.2fx, overhead %.3f uJ); storage %d vs %d bytes: %.2fx",
		r.EnergyPJ/1e6, r.Float16.EnergyPJ/1e6, r.Float16.EnergyRatio, r.Float16.FullRatio, r.OverheadPJ/1e6,
		r.StorageBytes, r.Float16.Bytes, r.Float16.StorageRatio)
	for _, s := range r.Storage {
		t.Logf("storage %s: %d elements, %d bytes", s.Type, s.Elements, s.Bytes)
	}
	if r.Float16.EnergyRatio < 23.9 {
		t.Errorf("energy ratio vs float16 %.2fx < 23.9x", r.Float16.EnergyRatio)
	}
	if r.Float16.StorageRatio < 3 {
		t.Errorf("storage ratio vs float16 %.2fx < 3x", r.Float16.StorageRatio)
	}
	// The alternatives the documentation discusses.
	for _, o := range []Options{{Accumulator: AccInt32}, {SkipZeroWeights: true}, {Scope: ScopeFull}, {Memory: true}} {
		ar, err := Analyze(out, o)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%+v: %.3f uJ, float16 %.3f uJ, ratio %.2fx", o, ar.EnergyPJ/1e6, ar.Float16.EnergyPJ/1e6, ar.Float16.EnergyRatio)
	}
}
