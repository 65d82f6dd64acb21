package cost

import (
	"math"
	"strings"
	"testing"

	"github.com/onnx-prom/onnx-prom/onnx"
	"github.com/onnx-prom/onnx-prom/onnx/onnxpb"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
	"github.com/onnx-prom/onnx-prom/passes"
	"google.golang.org/protobuf/proto"
)

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func vi(name string, dt tensor.DataType, dims ...any) *onnxpb.ValueInfoProto {
	shape := &onnxpb.TensorShapeProto{}
	for _, d := range dims {
		switch d := d.(type) {
		case int:
			shape.Dim = append(shape.Dim, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: int64(d)}})
		case string:
			shape.Dim = append(shape.Dim, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: d}})
		}
	}
	if len(dims) == 0 {
		shape = nil // unknown rank
	}
	return &onnxpb.ValueInfoProto{Name: proto.String(name), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{
		TensorType: &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(dt)), Shape: shape}}}}
}

func node(op, domain, name string, in []string, out string, attrs ...*onnxpb.AttributeProto) *onnxpb.NodeProto {
	n := &onnxpb.NodeProto{OpType: proto.String(op), Name: proto.String(name), Input: in, Output: []string{out}, Attribute: attrs}
	if domain != "" {
		n.Domain = proto.String(domain)
	}
	return n
}

func ints(name string, v ...int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INTS.Enum(), Ints: v}
}

func init_(t *testing.T, name string, dt tensor.DataType, data any, dims ...int64) *onnxpb.TensorProto {
	t.Helper()
	tp, err := tensor.ToProto(&tensor.Tensor{Type: dt, Shape: dims, Data: data}, name)
	if err != nil {
		t.Fatal(err)
	}
	return tp
}

func model(nodes []*onnxpb.NodeProto, inits []*onnxpb.TensorProto, in, out *onnxpb.ValueInfoProto) *onnxpb.ModelProto {
	return &onnxpb.ModelProto{
		IrVersion: proto.Int64(11),
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(25)},
			{Domain: proto.String(ternaryDomain), Version: proto.Int64(1)}},
		Graph: &onnxpb.GraphProto{Name: proto.String("g"), Node: nodes, Initializer: inits,
			Input: []*onnxpb.ValueInfoProto{in}, Output: []*onnxpb.ValueInfoProto{out}},
	}
}

func fill(n int, v float32) []float32 {
	f := make([]float32, n)
	for i := range f {
		f[i] = v
	}
	return f
}

// TestFloatConvHandComputed: a float Conv, x [N,3,8,8] (N symbolic),
// w [4,3,3,3], pads 1, bias: 4·8·8 = 256 outputs of 27 MACs each.
func TestFloatConvHandComputed(t *testing.T) {
	mp := model([]*onnxpb.NodeProto{node("Conv", "", "conv", []string{"x", "w", "b"}, "y", ints("pads", 1, 1, 1, 1))},
		[]*onnxpb.TensorProto{init_(t, "w", tensor.Float, fill(108, 0.1), 4, 3, 3, 3), init_(t, "b", tensor.Float, fill(4, 0), 4)},
		vi("x", tensor.Float, "N", 3, 8, 8), vi("y", tensor.Float))
	r, err := Analyze(mp, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Layers) != 1 || r.MACs != 6912 || r.FloatMACs != 6912 {
		t.Fatalf("MACs %d, layers %+v; want 6912", r.MACs, r.Layers)
	}
	l := r.Layers[0]
	if l.Class != "conv" || l.Arith != "fp32" || l.Outputs != 256 || l.MACOps != (Ops{FP32Mult: 6912, FP32Add: 6912}) || l.OverheadOps != (Ops{FP32Add: 256}) {
		t.Errorf("layer %+v", l)
	}
	if !near(r.EnergyPJ, 6912*4.6) || !near(r.Float16.EnergyPJ, 6912*1.5) || !near(r.Float32.EnergyPJ, 6912*4.6) {
		t.Errorf("energy %v, fp16 %v, fp32 %v", r.EnergyPJ, r.Float16.EnergyPJ, r.Float32.EnergyPJ)
	}
	// Weights 108 + bias 4 floats: 448 bytes; baselines count 108 + 4.
	if r.StorageBytes != 448 || r.BaselineParams != 112 || r.Float16.Bytes != 224 || !near(r.Float32.StorageRatio, 1) {
		t.Errorf("storage %d, baseline params %d, fp16 bytes %d, fp32 ratio %v", r.StorageBytes, r.BaselineParams, r.Float16.Bytes, r.Float32.StorageRatio)
	}
}

// quantModel: Q -> TernaryConv (w INT2 [6,8,1,1], half the codes zero) ->
// QLinearConv (w [4,6,3,3], pads 1) -> DQ, x [N,8,4,4].
func quantModel(t *testing.T) *onnxpb.ModelProto {
	codes := make([]int8, 48)
	for i := range codes {
		codes[i] = []int8{1, 0, -1, 0}[i%4]
	}
	w2 := make([]int8, 216)
	for i := range w2 {
		w2[i] = int8(i%200 - 100)
	}
	f32 := func(name string, v ...float32) *onnxpb.TensorProto {
		if len(v) == 1 {
			return init_(t, name, tensor.Float, v, []int64{}...)
		}
		return init_(t, name, tensor.Float, v, int64(len(v)))
	}
	i8 := func(name string, v ...int8) *onnxpb.TensorProto {
		if len(v) == 1 {
			return init_(t, name, tensor.Int8, v, []int64{}...)
		}
		return init_(t, name, tensor.Int8, v, int64(len(v)))
	}
	return model([]*onnxpb.NodeProto{
		node("QuantizeLinear", "", "q", []string{"x", "s", "z"}, "xq"),
		node("TernaryConv", ternaryDomain, "pw", []string{"xq", "s", "z", "w", "ws", "ys", "yz", "B"}, "y"),
		node("QLinearConv", "", "conv", []string{"y", "ys", "yz", "w2", "ws2", "wz2", "ys2", "yz2", "B2"}, "y2", ints("pads", 1, 1, 1, 1)),
		node("DequantizeLinear", "", "dq", []string{"y2", "ys2", "yz2"}, "out"),
	}, []*onnxpb.TensorProto{
		f32("s", 0.1), i8("z", 0),
		init_(t, "w", tensor.Int2, codes, 6, 8, 1, 1), f32("ws", 1, 2, 3, 4, 5, 6), f32("ys", 0.2), i8("yz", 3),
		init_(t, "B", tensor.Int32, make([]int32, 6), 6),
		init_(t, "w2", tensor.Int8, w2, 4, 6, 3, 3), f32("ws2", 1, 1, 1, 1), i8("wz2", 0, 0, 0, 0), f32("ys2", 0.3), i8("yz2", -1),
		init_(t, "B2", tensor.Int32, make([]int32, 4), 4),
	}, vi("x", tensor.Float, "N", 8, 4, 4), vi("out", tensor.Float))
}

func TestQuantizedHandComputed(t *testing.T) {
	mp := quantModel(t)
	r, err := Analyze(mp, Options{})
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]Layer{}
	for _, l := range r.Layers {
		byName[l.Name] = l
	}
	pw, conv := byName["pw"], byName["conv"]
	// TernaryConv: 6·4·4 outputs x 8 inputs = 768 MACs, each one int8 add.
	if pw.MACs != 768 || pw.Arith != "ternary" || pw.Class != "pointwise" || pw.MACOps != (Ops{Int8Add: 768}) ||
		pw.OverheadOps != (Ops{Int32Add: 96, Int32Mult: 96}) || pw.BaselineParams != 54 {
		t.Errorf("ternary layer %+v", pw)
	}
	// QLinearConv: 4·4·4 outputs x 6·9 = 3456 MACs, int8 mult + int8 add.
	if conv.MACs != 3456 || conv.Arith != "int8" || conv.Class != "conv" || conv.MACOps != (Ops{Int8Mult: 3456, Int8Add: 3456}) ||
		conv.OverheadOps != (Ops{Int32Add: 64, Int32Mult: 64}) || conv.BaselineParams != 220 {
		t.Errorf("int8 layer %+v", conv)
	}
	if q := byName["q"]; q.OverheadOps != (Ops{FP32Mult: 128, Int32Add: 128}) {
		t.Errorf("quantize %+v", q)
	}
	if dq := byName["dq"]; dq.OverheadOps != (Ops{FP32Mult: 64, Int32Add: 64}) {
		t.Errorf("dequantize %+v", dq)
	}
	macPJ := 768*0.03 + 3456*0.23
	if !near(r.EnergyPJ, macPJ) || !near(r.Float16.EnergyPJ, 4224*1.5) || !near(r.Float16.EnergyRatio, 4224*1.5/macPJ) {
		t.Errorf("energy %v (want %v), fp16 %v, ratio %v", r.EnergyPJ, macPJ, r.Float16.EnergyPJ, r.Float16.EnergyRatio)
	}
	over := 352*0.1 + 160*3.1 + 192*3.7
	if !near(r.OverheadPJ, over) || !near(r.Float16.FullRatio, (4224*1.5+160*0.4)/(macPJ+over)) {
		t.Errorf("overhead %v (want %v), full ratio %v", r.OverheadPJ, over, r.Float16.FullRatio)
	}
	// Storage: INT2 48 codes = 12 bytes; int8 216 + 7 zero points; 13
	// float scales; 10 int32 biases.
	want := map[string]int64{"INT2": 12, "INT8": 223, "FLOAT": 52, "INT32": 40}
	for _, s := range r.Storage {
		if want[s.Type] != s.Bytes {
			t.Errorf("%s: %d bytes, want %d", s.Type, s.Bytes, want[s.Type])
		}
		delete(want, s.Type)
	}
	if len(want) > 0 || r.StorageBytes != 327 || r.Float16.Bytes != 548 {
		t.Errorf("storage %d bytes (want 327), missing %v, fp16 %d (want 548)", r.StorageBytes, want, r.Float16.Bytes)
	}

	// Zero codes skipped: 16 positions x 24 nonzero codes.
	r2, err := Analyze(mp, Options{SkipZeroWeights: true, Accumulator: AccInt32, Scope: ScopeFull, Memory: true})
	if err != nil {
		t.Fatal(err)
	}
	if r2.ChargedMACs != 384+3456 || r2.MACOps != (Ops{Int32Add: 384 + 3456, Int8Mult: 3456}) {
		t.Errorf("skip zeros, int32 accumulator: charged %d, ops %+v", r2.ChargedMACs, r2.MACOps)
	}
	mac2 := 384*0.1 + 3456*0.3
	if !near(r2.EnergyPJ, mac2+over+327*1.25) || !near(r2.Float16.EnergyPJ, 4224*1.5+160*0.4+548*1.25) {
		t.Errorf("full scope with memory: %v (want %v), fp16 %v", r2.EnergyPJ, mac2+over+327*1.25, r2.Float16.EnergyPJ)
	}
	var sb strings.Builder
	if err := r2.WriteText(&sb); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"zero weight code are skipped", "int32 add", "SRAM", "scope full"} {
		if !strings.Contains(sb.String(), s) {
			t.Errorf("text report lacks %q", s)
		}
	}
}

// TestQDQMatchesQOperator: the QDQ form of a conversion costs the same MACs
// as its QOperator form (DQ -> Conv -> Q priced as one integer conv).
func TestQDQMatchesQOperator(t *testing.T) {
	mp, err := onnx.Load("../../testdata/models/tiny.onnx")
	if err != nil {
		t.Fatal(err)
	}
	var reps []*Report
	for _, f := range []passes.Format{passes.QOperator, passes.QDQ} {
		cfg := passes.DefaultConfig()
		cfg.Format = f
		out, _, err := passes.Convert(mp, passes.Options{Config: cfg})
		if err != nil {
			t.Fatal(err)
		}
		r, err := Analyze(out, Options{})
		if err != nil {
			t.Fatal(err)
		}
		reps = append(reps, r)
	}
	q, d := reps[0], reps[1]
	if q.TernaryMACs == 0 || q.Int8MACs == 0 || q.FloatMACs != 0 {
		t.Errorf("qoperator: ternary %d int8 %d float %d MACs", q.TernaryMACs, q.Int8MACs, q.FloatMACs)
	}
	if d.MACOps != q.MACOps || d.TernaryMACs != q.TernaryMACs || d.Int8MACs != q.Int8MACs || d.FloatMACs != 0 {
		t.Errorf("qdq %+v (%d/%d/%d) != qoperator %+v (%d/%d/%d)", d.MACOps, d.TernaryMACs, d.Int8MACs, d.FloatMACs,
			q.MACOps, q.TernaryMACs, q.Int8MACs, q.FloatMACs)
	}
	// The tiny model: 373,632 MACs (models.Tiny's documentation).
	if q.MACs != 373632 || d.MACs != 373632 {
		t.Errorf("MACs %d / %d, want 373632", q.MACs, d.MACs)
	}
}

func TestReadTable(t *testing.T) {
	tb, err := ReadTable(strings.NewReader(`{"int8_add": 0.05, "fp16_mult": 1.2}`), Horowitz45nm())
	if err != nil {
		t.Fatal(err)
	}
	want := Horowitz45nm()
	want.Int8Add, want.FP16Mult = 0.05, 1.2
	if tb != want {
		t.Errorf("table %+v, want %+v", tb, want)
	}
	for _, bad := range []string{`{"int9_add": 1}`, `{"int8_add": -1}`, `{"int8_add": "x"}`, `[1]`, `{"int8_add": 1} {}`} {
		if _, err := ReadTable(strings.NewReader(bad), Horowitz45nm()); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func TestHostileModels(t *testing.T) {
	// A TernaryConv whose pads do not match the spatial rank.
	mp := quantModel(t)
	mp.Graph.Node[1].Attribute = []*onnxpb.AttributeProto{ints("pads", 1)}
	if _, err := Analyze(mp, Options{}); err == nil {
		t.Error("bad pads: no error")
	}
	// A Conv whose weight is an input of unknown shape.
	mp2 := model([]*onnxpb.NodeProto{node("Conv", "", "conv", []string{"x", "w"}, "y")}, nil,
		vi("x", tensor.Float, 1, 3, 8, 8), vi("y", tensor.Float))
	mp2.Graph.Input = append(mp2.Graph.Input, &onnxpb.ValueInfoProto{Name: proto.String("w")})
	if _, err := Analyze(mp2, Options{}); err == nil {
		t.Error("weight of unknown shape: no error")
	}
	if _, err := Analyze(quantModel(t), Options{Scope: "all"}); err == nil {
		t.Error("unknown scope: no error")
	}
	bad := Horowitz45nm()
	bad.Int8Add = math.NaN()
	if _, err := Analyze(quantModel(t), Options{Table: bad}); err == nil {
		t.Error("NaN energy: no error")
	}
}
