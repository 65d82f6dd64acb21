package passes

import (
	"testing"

	"github.com/onnx-prom/onnx-prom/onnx/onnxpb"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
	"github.com/onnx-prom/onnx-prom/testdata/models"
	"github.com/onnx-prom/onnx-prom/verify/interp"
)

// A QDQ model (as a QAT framework exports, here made by our own QDQ
// output) converts to the same integer model as its float original: the
// activation ranges and int8 weight grids come from the Q/DQ pairs.
func TestAbsorbQDQReproducesDirectConversion(t *testing.T) {
	calib := calibFor(t, "small")
	float := loadTestModel(t, "small_folded.onnx")
	qdqCfg := DefaultConfig()
	qdqCfg.Format = QDQ
	qdqCfg.Select = SelectNone
	qdqModel, _ := convertOrFail(t, float, Options{Config: qdqCfg, Calib: calib})

	cfg := DefaultConfig()
	cfg.Select = SelectNone
	direct, _ := convertOrFail(t, float, Options{Config: cfg, Calib: calib})
	var warnings []string
	again, rep := convertOrFail(t, qdqModel, Options{Config: cfg, Warn: func(s string) { warnings = append(warnings, s) }})
	for _, w := range warnings {
		t.Logf("warning: %s", w)
	}
	for _, p := range rep.Passes {
		if p.Name == "absorb-qdq" {
			t.Logf("absorb-qdq: %v", p.Stats)
			if p.Stats["activation pairs"] == 0 || p.Stats["weights"] == 0 {
				t.Fatalf("nothing absorbed: %v", p.Stats)
			}
		}
		if p.Name == "calibrate" && p.Changed != 0 {
			t.Errorf("calibrated %d values although the Q/DQ pairs gave every range", p.Changed)
		}
		if p.Name == "quantize" && p.Stats["weight grids kept"] != 22 {
			t.Errorf("kept %d weight grids, want all 22 convs", p.Stats["weight grids kept"])
		}
	}
	in, _ := calib.Sample(0)
	outs := make([][]float32, 2)
	for i, mp := range []*onnxpb.ModelProto{direct, again} {
		prog, err := interp.Compile(mustIR(t, mp), interp.Options{})
		if err != nil {
			t.Fatal(err)
		}
		res, err := prog.Run(map[string]*tensor.Tensor{models.InputName: in[models.InputName]})
		if err != nil {
			t.Fatal(err)
		}
		outs[i] = res[models.OutputName].Data.([]float32)
	}
	for i := range outs[0] {
		if outs[0][i] != outs[1][i] {
			t.Fatalf("output %d: direct %v, via QDQ %v", i, outs[0][i], outs[1][i])
		}
	}
}
