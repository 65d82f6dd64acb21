package accuracy

import (
	"math"
	"regexp"
	"testing"

	"github.com/onnx-prom/onnx-prom/onnx"
	"github.com/onnx-prom/onnx-prom/onnx/onnxpb"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
	"github.com/onnx-prom/onnx-prom/passes"
	"github.com/onnx-prom/onnx-prom/verify/accuracy/testmodels"
	"github.com/onnx-prom/onnx-prom/verify/data"
	"google.golang.org/protobuf/proto"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func TestErrStatsHandComputed(t *testing.T) {
	var s errStats
	for i, r := range []float64{1, 2, 3} {
		s.add(r, []float64{1, 2, 4}[i])
	}
	// Σref² = 14, Σerr² = 1, Σcand² = 21, Σref·cand = 17.
	if got, want := s.sqnr(), 10*math.Log10(14); !near(got, want, 1e-12) {
		t.Errorf("sqnr = %v, want %v", got, want)
	}
	if got, want := s.cosine(), 17/math.Sqrt(14*21); !near(got, want, 1e-12) {
		t.Errorf("cosine = %v, want %v", got, want)
	}
	if s.maxAbs != 1 || !near(s.meanAbs(), 1.0/3, 1e-15) {
		t.Errorf("max %v mean %v, want 1 and 1/3", s.maxAbs, s.meanAbs())
	}
	var exact errStats
	exact.add(2, 2)
	if exact.sqnr() != MaxSQNR {
		t.Errorf("identical tensors: sqnr %v, want %v", exact.sqnr(), MaxSQNR)
	}
	var bad errStats
	bad.add(1, math.NaN())
	if got := finite(bad.sqnr()); got != -MaxSQNR {
		t.Errorf("NaN candidate: sqnr %v, want %v", got, -MaxSQNR)
	}
}

func TestTopK(t *testing.T) {
	v := []float64{0.1, 0.9, 0.5, 0.9, 0.2, 0.3, 0.0}
	if argmax(v) != 1 {
		t.Errorf("argmax = %d, want 1 (first of the ties)", argmax(v))
	}
	for class, want := range map[int]bool{1: true, 3: true, 2: true, 5: true, 4: true, 0: false, 6: false} {
		if got := inTop(v, class, 5); got != want {
			t.Errorf("inTop(class %d, 5) = %v, want %v", class, got, want)
		}
	}
}

func TestQuantizeHalfEvenSaturating(t *testing.T) {
	x := tensor.FromFloat32([]float32{0.1, 0.3, -0.5, 100, -100, 0.25}, 6)
	q, err := quantize(x, &qparams{scale: 0.2, zp: 0, dt: tensor.Int8})
	if err != nil {
		t.Fatal(err)
	}
	// 0.5 -> 0, 1.5 -> 2, -2.5 -> -2, saturate, 1.25 -> 1.
	want := []int8{0, 2, -2, 127, -128, 1}
	for i, v := range q.Data.([]int8) {
		if v != want[i] {
			t.Errorf("element %d: %d, want %d", i, v, want[i])
		}
	}
	qu, err := quantize(x, &qparams{scale: 0.2, zp: 128, dt: tensor.Uint8})
	if err != nil {
		t.Fatal(err)
	}
	if got := qu.Data.([]uint8); got[0] != 128 || got[3] != 255 || got[4] != 0 {
		t.Errorf("uint8: %v", got)
	}
}

// listSource is a data.Source over fixed tensors.
type listSource []*tensor.Tensor

func (l listSource) Len() int { return len(l) }
func (l listSource) Sample(i int) (data.Sample, error) {
	return data.Sample{Name: "s", Input: l[i], Label: -1}, nil
}

func vi(name string, dt tensor.DataType, dims ...int64) *onnxpb.ValueInfoProto {
	shape := &onnxpb.TensorShapeProto{}
	for _, d := range dims {
		shape.Dim = append(shape.Dim, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d}})
	}
	return &onnxpb.ValueInfoProto{Name: proto.String(name), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{
		TensorType: &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(dt)), Shape: shape}}}}
}

func model(nodes []*onnxpb.NodeProto, inits []*onnxpb.TensorProto) *onnxpb.ModelProto {
	return &onnxpb.ModelProto{
		IrVersion:   proto.Int64(8),
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(19)}},
		Graph: &onnxpb.GraphProto{Name: proto.String("g"), Node: nodes, Initializer: inits,
			Input: []*onnxpb.ValueInfoProto{vi("x", tensor.Float, 1, 3)}, Output: []*onnxpb.ValueInfoProto{vi("y", tensor.Float, 1, 3)}},
	}
}

func node(op, name string, in []string, out ...string) *onnxpb.NodeProto {
	return &onnxpb.NodeProto{OpType: proto.String(op), Name: proto.String(name), Input: in, Output: out}
}

func scalar(name string, t *tensor.Tensor) *onnxpb.TensorProto {
	tp, err := tensor.ToProto(t, name)
	if err != nil {
		panic(err)
	}
	return tp
}

// TestPairingHandComputed quantizes x = [0.1, 0.26, -0.5] with scale 0.2:
// codes [0, 1, -2] (0.5 and -2.5 round to even), values [0, 0.2, -0.4],
// errors [-0.1, -0.06, 0.1]: SQNR = 10·log10(0.3276 / 0.0236).
func TestPairingHandComputed(t *testing.T) {
	ref := model([]*onnxpb.NodeProto{node("Identity", "layer", []string{"x"}, "y")}, nil)
	cand := model([]*onnxpb.NodeProto{
		node("QuantizeLinear", "x_q", []string{"x", "s", "z"}, "xq"),
		node("DequantizeLinear", "layer", []string{"xq", "s", "z"}, "y"),
	}, []*onnxpb.TensorProto{
		scalar("s", &tensor.Tensor{Type: tensor.Float, Shape: []int64{}, Data: []float32{0.2}}),
		scalar("z", &tensor.Tensor{Type: tensor.Int8, Shape: []int64{}, Data: []int8{0}}),
	})
	src := listSource{tensor.FromFloat32([]float32{0.1, 0.26, -0.5}, 3)}
	r, err := Compare(ref, cand, src, Options{PerLayer: true})
	if err != nil {
		t.Fatal(err)
	}
	want := 10 * math.Log10(0.3276/0.0236)
	if !near(r.SQNR, want, 1e-4) || !near(r.MaxAbsError, 0.1, 1e-6) || !near(r.MeanAbsError, 0.26/3, 1e-6) {
		t.Errorf("output: SQNR %v (want %v), max %v (0.1), mean %v (%v)", r.SQNR, want, r.MaxAbsError, r.MeanAbsError, 0.26/3)
	}
	// argmax of [0.1, 0.26, -0.5] is 1, of [0, 0.2, -0.4] also 1.
	if r.Samples != 1 || r.Agreement != 1 {
		t.Errorf("samples %d agreement %v, want 1 and 1", r.Samples, r.Agreement)
	}
	if len(r.Layers) != 1 {
		t.Fatalf("layers %+v, want one (the QuantizeLinear output; the DequantizeLinear is its twin)", r.Layers)
	}
	l := r.Layers[0]
	if l.Value != "xq" || l.Ref != "x" || !l.Isolated || !near(l.SQNR, want, 1e-4) || !near(l.CumulativeSQNR, want, 1e-4) {
		t.Errorf("layer %+v, want xq paired with x at %v dB", l, want)
	}
}

func loadFolded(t *testing.T, name string) *onnxpb.ModelProto {
	t.Helper()
	mp, err := onnx.Load("../../testdata/models/" + name + "_folded.onnx")
	if err != nil {
		t.Fatal(err)
	}
	return mp
}

// nodeNamed returns the node of mp called base, allowing the "#tag" and
// "_<digits>" suffixes renaming may add.
func nodeNamed(t *testing.T, mp *onnxpb.ModelProto, base string) *onnxpb.NodeProto {
	t.Helper()
	re := regexp.MustCompile("^" + regexp.QuoteMeta(base) + "(#[^#]*)?(_[0-9]+)?$")
	for _, n := range mp.Graph.Node {
		if re.MatchString(n.GetName()) {
			return n
		}
	}
	t.Fatalf("no node %s", base)
	return nil
}

// TestAcceptanceQAT is acceptance test (a): a QAT-style export (exact
// ternary pointwise weights, int8-grid weights elsewhere) converted with
// calibration data agrees with its float form on at least 99.5% of 1,000
// inputs and loses at most 0.3 pp of top-1 accuracy on their labels.
func TestAcceptanceQAT(t *testing.T) {
	ref, cand, eval, err := testmodels.Acceptance(loadFolded(t, "tiny"), 32, 1000, passes.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	r, err := Compare(ref, cand, eval, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("agreement %.2f%%, top-1 %.2f%% -> %.2f%%, top-5 %.2f%% -> %.2f%%, SQNR %.2f dB, cosine %.5f",
		100*r.Agreement, 100*r.Ref.Top1, 100*r.Cand.Top1, 100*r.Ref.Top5, 100*r.Cand.Top5, r.SQNR, r.Cosine)
	if r.Samples != 1000 || r.Labelled != 1000 || r.Classes != 10 {
		t.Fatalf("samples %d labelled %d classes %d", r.Samples, r.Labelled, r.Classes)
	}
	if r.Agreement < 0.995 {
		t.Errorf("top-1 agreement %.2f%% < 99.5%%", 100*r.Agreement)
	}
	if r.Top1Drop > 0.3 {
		t.Errorf("top-1 drop %.2f pp > 0.3 pp", r.Top1Drop)
	}
	if r.Ref.Top1 < 0.9 {
		t.Errorf("reference top-1 %.2f%%: the data set lost its class structure", 100*r.Ref.Top1)
	}
}

// TestPerLayerCoverage checks that per-layer mode pairs every integer
// layer of a converted model, in QOperator form with and without ONNX
// Runtime's com.microsoft ops and in QDQ form, and that on a QAT-style
// export, where weights convert exactly, every layer keeps a high SQNR.
func TestPerLayerCoverage(t *testing.T) {
	folded := loadFolded(t, "tiny")
	for _, c := range []struct {
		name   string
		format passes.Format
		ms     bool
	}{{"qoperator", passes.QOperator, false}, {"ms-ops", passes.QOperator, true}, {"qdq", passes.QDQ, false}} {
		t.Run(c.name, func(t *testing.T) {
			cfg := passes.DefaultConfig()
			cfg.Format, cfg.MicrosoftOps = c.format, c.ms
			ref, cand, eval, err := testmodels.Acceptance(folded, 32, 40, cfg)
			if err != nil {
				t.Fatal(err)
			}
			r, err := Compare(ref, cand, eval, Options{PerLayer: true})
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range r.Warnings {
				t.Errorf("warning: %s", w)
			}
			seen := map[string]bool{}
			for _, l := range r.Layers {
				seen[l.Name] = true
				if !l.Isolated {
					t.Errorf("layer %s has no layer SQNR", l.Name)
				}
				if l.SQNR < 25 {
					t.Errorf("layer %s (%s): SQNR %.2f dB < 25 dB on exactly convertible weights", l.Name, l.OpType, l.SQNR)
				}
			}
			want := map[string]bool{"QLinearConv": true, "TernaryConv": true, "MatMulInteger": true, "QLinearAdd": true,
				"QLinearGlobalAveragePool": true, "QLinearMatMul": true}
			if c.format == passes.QDQ {
				want = map[string]bool{"Conv": true, "TernaryConv": true, "MatMul": true, "Gemm": true}
			}
			n := 0
			for _, nd := range cand.Graph.Node {
				if want[nd.GetOpType()] {
					n++
					if !seen[nd.GetName()] {
						t.Errorf("%s %s not in the per-layer list", nd.GetOpType(), nd.GetName())
					}
				}
			}
			if n < 10 {
				t.Errorf("only %d integer layers in the candidate", n)
			}
			for i := 1; i < len(r.Layers); i++ {
				if r.Layers[i].SQNR < r.Layers[i-1].SQNR {
					t.Errorf("layers not sorted worst first at %d", i)
				}
			}
		})
	}
}

// TestDamagedLayerFirst is acceptance test (b) at the package level: a
// scale off by 10x in one layer puts that layer first.
func TestDamagedLayerFirst(t *testing.T) {
	ref, cand, eval, err := testmodels.Acceptance(loadFolded(t, "tiny"), 32, 60, passes.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		base string
		op   string
		idx  int // the damaged input
	}{
		{"features.2.conv.2", "TernaryConv", 5},   // y_scale
		{"features.2.conv.1.0", "QLinearConv", 4}, // w_scale
		{"features.3.conv.0.0", "TernaryConv", 4}, // w_scale
	} {
		n := nodeNamed(t, cand, c.base)
		if n.GetOpType() != c.op {
			t.Fatalf("%s is %s, want %s", n.GetName(), n.GetOpType(), c.op)
		}
		bad, err := testmodels.Damage(cand, n.GetName(), c.idx, 10)
		if err != nil {
			t.Fatal(err)
		}
		r, err := Compare(ref, bad, eval, Options{PerLayer: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Layers) < 2 || r.Layers[0].Name != n.GetName() {
			t.Errorf("input %d of %s off by 10x: first layer %+v", c.idx, n.GetName(), r.Layers[0])
			continue
		}
		t.Logf("%s input %d x10: first %s at %.2f dB (next %s at %.2f dB); agreement %.1f%%",
			c.base, c.idx, r.Layers[0].Name, r.Layers[0].SQNR, r.Layers[1].Name, r.Layers[1].SQNR, 100*r.Agreement)
		if r.Layers[0].SQNR > 15 || r.Layers[1].SQNR < 25 {
			t.Errorf("damaged layer %.2f dB, next %.2f dB: not separated", r.Layers[0].SQNR, r.Layers[1].SQNR)
		}
	}
}

func TestCompareErrors(t *testing.T) {
	ref := model([]*onnxpb.NodeProto{node("Identity", "layer", []string{"x"}, "y")}, nil)
	if _, err := Compare(ref, ref, listSource{}, Options{}); err == nil {
		t.Error("empty data set: no error")
	}
	src := listSource{tensor.FromFloat32([]float32{1, 2, 3, 4}, 4)}
	if _, err := Compare(ref, ref, src, Options{}); err == nil {
		t.Error("sample of the wrong shape: no error")
	}
	if _, err := Compare(ref, ref, src, Options{Limit: -1}); err == nil {
		t.Error("negative limit: no error")
	}
	broken := proto.Clone(ref).(*onnxpb.ModelProto)
	broken.Graph.Node[0].OpType = proto.String("NoSuchOp")
	if _, err := Compare(ref, broken, listSource{tensor.FromFloat32([]float32{1, 2, 3}, 3)}, Options{}); err == nil {
		t.Error("candidate with an unknown op: no error")
	}
}
