package passes

import (
	"bytes"
	"fmt"
	"path/filepath"
	"sort"
	"testing"

	"github.com/onnx-prom/onnx-prom/onnx"
	"github.com/onnx-prom/onnx-prom/onnx/inspect"
	"github.com/onnx-prom/onnx-prom/onnx/ir"
	"github.com/onnx-prom/onnx-prom/onnx/onnxpb"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
	"github.com/onnx-prom/onnx-prom/testdata/models"
	"github.com/onnx-prom/onnx-prom/verify/data"
	"github.com/onnx-prom/onnx-prom/verify/interp"
)

// npyCalib reads the calibration samples committed beside a test model.
type npyCalib struct {
	paths []string
	input string
}

func (c npyCalib) Len() int { return len(c.paths) }
func (c npyCalib) Sample(i int) (map[string]*tensor.Tensor, error) {
	t, err := data.ReadNPYFile(c.paths[i])
	if err != nil {
		return nil, err
	}
	return map[string]*tensor.Tensor{c.input: t}, nil
}

func calibFor(t testing.TB, name string) npyCalib {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join("..", "testdata", "models", "calib", name, "*.npy"))
	if len(paths) == 0 {
		t.Fatalf("no calibration samples for %s", name)
	}
	sort.Strings(paths)
	return npyCalib{paths: paths, input: models.InputName}
}

func loadTestModel(t testing.TB, file string) *onnxpb.ModelProto {
	t.Helper()
	mp, err := onnx.Load(filepath.Join("..", "testdata", "models", file))
	if err != nil {
		t.Fatal(err)
	}
	return mp
}

func convertOrFail(t testing.TB, mp *onnxpb.ModelProto, o Options) (*onnxpb.ModelProto, *Report) {
	t.Helper()
	if o.Config.Format == "" {
		o.Config = DefaultConfig()
	}
	out, rep, err := Convert(mp, o)
	if err != nil {
		t.Fatal(err)
	}
	return out, rep
}

// opCounts counts the output's nodes by domain/op.
func opCounts(mp *onnxpb.ModelProto) map[string]int {
	c := map[string]int{}
	for _, n := range mp.GetGraph().GetNode() {
		op := n.GetOpType()
		if n.GetDomain() != "" {
			op = n.GetDomain() + "." + op
		}
		c[op]++
	}
	return c
}

func pointwiseCount(t testing.TB, mp *onnxpb.ModelProto) int {
	t.Helper()
	rep, err := inspect.Analyze(mustIR(t, mp))
	if err != nil {
		t.Fatal(err)
	}
	return rep.Convs.Pointwise
}

func mustIR(t testing.TB, mp *onnxpb.ModelProto) *ir.Model {
	t.Helper()
	m, err := ir.FromProto(mp)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestConvertTestModels(t *testing.T) {
	for _, c := range []struct{ file, calib string }{
		{"tiny.onnx", "tiny"}, {"tiny_folded.onnx", "tiny"}, {"small.onnx", "small"}, {"small_folded.onnx", "small"},
	} {
		t.Run(c.file, func(t *testing.T) {
			mp := loadTestModel(t, c.file)
			wantPW := pointwiseCount(t, mp)
			out, rep := convertOrFail(t, mp, Options{Calib: calibFor(t, c.calib)})
			ops := opCounts(out)
			if ops["dev.onnxprom.TernaryConv"] != wantPW || wantPW == 0 {
				t.Errorf("%d TernaryConv for %d pointwise convs; ops %v", ops["dev.onnxprom.TernaryConv"], wantPW, ops)
			}
			for _, float := range []string{"Conv", "Gemm", "MatMul", "BatchNormalization"} {
				if ops[float] != 0 {
					t.Errorf("%d float %s remain; ops %v", ops[float], float, ops)
				}
			}
			if out.GetIrVersion() > 13 || opsetOf(out, "") > 26 || opsetOf(out, interp.TernaryDomain) != 1 {
				t.Errorf("IR %d, opset %d, %s %d", out.GetIrVersion(), opsetOf(out, ""), interp.TernaryDomain, opsetOf(out, interp.TernaryDomain))
			}
			if !hasFunction(out, interp.TernaryDomain, "TernaryConv") {
				t.Error("no TernaryConv function body")
			}
			if rep.Totals.Ternarized != wantPW || rep.Totals.PointwiseConvs != wantPW {
				t.Errorf("report: %d of %d ternarized, want %d", rep.Totals.Ternarized, rep.Totals.PointwiseConvs, wantPW)
			}
			// Deterministic: a second conversion gives the same bytes.
			again, _ := convertOrFail(t, mp, Options{Calib: calibFor(t, c.calib)})
			b1, _ := onnx.Marshal(out)
			b2, _ := onnx.Marshal(again)
			if !bytes.Equal(b1, b2) {
				t.Error("two conversions differ")
			}
			// The converted model runs in the interpreter.
			prog, err := interp.Compile(mustIR(t, out), interp.Options{})
			if err != nil {
				t.Fatal(err)
			}
			in, _ := calibFor(t, c.calib).Sample(0)
			res, err := prog.Run(in)
			if err != nil {
				t.Fatal(err)
			}
			if got := res[models.OutputName]; got == nil || got.Type != tensor.Float || got.Shape[1] != 10 {
				t.Fatalf("output %v", got)
			}
		})
	}
}

func opsetOf(mp *onnxpb.ModelProto, domain string) int64 {
	for _, o := range mp.GetOpsetImport() {
		if o.GetDomain() == domain {
			return o.GetVersion()
		}
	}
	return 0
}

// exactTernaryExport rewrites the pointwise conv weights of a BN-folded
// model to exact ternary values per channel, as a QAT export would hold.
func exactTernaryExport(t testing.TB, mp *onnxpb.ModelProto) *onnxpb.ModelProto {
	t.Helper()
	m := mustIR(t, mp)
	for _, n := range m.Graph.Nodes() {
		info, ok := inspect.Classify(n)
		if !ok || info.Kind != inspect.Pointwise {
			continue
		}
		w := n.Input(1)
		f, shape, err := floatConst(w)
		if err != nil {
			t.Fatal(err)
		}
		tw := TernarizeWeights(f, shape, RuleTWN)
		tp, err := tensor.ToProto(tensor.FromFloat32(tw.Dequantized(), shape...), w.Name)
		if err != nil {
			t.Fatal(err)
		}
		w.SetConst(tp)
	}
	out, err := m.ToProto()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestConvertExactTernaryHasZeroWeightError(t *testing.T) {
	mp := exactTernaryExport(t, loadTestModel(t, "small_folded.onnx"))
	var warnings []string
	_, rep := convertOrFail(t, mp, Options{Calib: calibFor(t, "small"), Warn: func(s string) { warnings = append(warnings, s) }})
	n := 0
	for _, l := range rep.Layers {
		if l.OpType != "TernaryConv" {
			continue
		}
		n++
		if l.WeightError != 0 || l.ExactChannels != l.Channels {
			t.Errorf("%s: weight error %g, %d of %d channels exact", l.Name, l.WeightError, l.ExactChannels, l.Channels)
		}
	}
	if n == 0 {
		t.Fatal("no TernaryConv layer")
	}
	for _, w := range warnings {
		if bytes.Contains([]byte(w), []byte("after training")) {
			t.Errorf("exact ternary weights still warned: %s", w)
		}
	}
}

func TestConvertFullMobileNetV2(t *testing.T) {
	if testing.Short() {
		t.Skip("full MobileNetV2 in -short mode")
	}
	for _, fold := range []bool{false, true} {
		t.Run(fmt.Sprintf("folded=%v", fold), func(t *testing.T) {
			cfg := models.Full()
			cfg.FoldBN = fold
			mp, err := models.MobileNetV2(cfg)
			if err != nil {
				t.Fatal(err)
			}
			out, rep := convertOrFail(t, mp, Options{})
			ops := opCounts(out)
			if ops["dev.onnxprom.TernaryConv"] != 34 {
				t.Errorf("%d TernaryConv, want 34; ops %v", ops["dev.onnxprom.TernaryConv"], ops)
			}
			for _, float := range []string{"Conv", "Gemm", "MatMul"} {
				if ops[float] != 0 {
					t.Errorf("%d float %s remain", ops[float], float)
				}
			}
			b, _ := onnx.Marshal(out)
			ratio := float64(rep.Totals.Float16FileBytes) / float64(len(b))
			t.Logf("file %d bytes, float16 %d bytes: %.2fx smaller; weights %.2fx vs float16, %.2fx vs float32",
				len(b), rep.Totals.Float16FileBytes, ratio, rep.Totals.RatioVsFloat16, rep.Totals.RatioVsFloat32)
			if ratio < 3 {
				t.Errorf("file only %.2fx smaller than float16, want >= 3x", ratio)
			}
		})
	}
}

// BenchmarkConvertMobileNetV2 times the conversion of the full model with
// known ranges (no calibration runs) beside the same conversion with
// synthetic calibration.
func BenchmarkConvertMobileNetV2(b *testing.B) {
	cfg := models.Full()
	cfg.FoldBN = true
	mp, err := models.MobileNetV2(cfg)
	if err != nil {
		b.Fatal(err)
	}
	_, rep, err := Convert(mp, Options{Config: DefaultConfig()})
	if err != nil {
		b.Fatal(err)
	}
	_ = rep
	ranges := Ranges{}
	{
		// Ranges of every activation, from one synthetic calibration.
		s := &State{Model: mustIR(b, mp), Config: DefaultConfig()}
		for _, p := range []*Pass{Cleanup, FoldBN, InferShapes, UpgradeOpset, SelectPointwise, Ternarize, Calibrate} {
			if _, err := p.Run(s); err != nil {
				b.Fatal(err)
			}
		}
		ranges, _ = Fact[Ranges](s, factRanges)
	}
	b.Run("ranges-given", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := Convert(mp, Options{Config: DefaultConfig(), Ranges: ranges}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("synthetic-calibration", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := Convert(mp, Options{Config: DefaultConfig()}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
