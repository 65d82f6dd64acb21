package interp

// Hand-computed tests of the quantized kernels (op_quant.go, op_qlinear.go,
// op_integer.go, op_msquant.go), their error handling, and the small model
// builder the quantization tests share (ort_crosscheck_test.go uses it too).

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/onnx-prom/onnx-prom/onnx/ir"
	"github.com/onnx-prom/onnx-prom/onnx/onnxpb"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
	"github.com/x448/float16"
	"google.golang.org/protobuf/proto"
)

// qmBuilder assembles a small ONNX model for the tests of this package.
type qmBuilder struct {
	t       testing.TB
	irVer   int64
	opset   int64
	ms      bool // import com.microsoft version 1
	inputs  []*onnxpb.ValueInfoProto
	outputs []*onnxpb.ValueInfoProto
	inits   []*onnxpb.TensorProto
	nodes   []*onnxpb.NodeProto
	feeds   map[string]*tensor.Tensor
	order   []string
}

func newQM(t testing.TB, opset int64) *qmBuilder {
	ir := int64(8)
	switch {
	case opset >= 25:
		ir = 11
	case opset >= 21:
		ir = 10
	}
	return &qmBuilder{t: t, irVer: ir, opset: opset, feeds: map[string]*tensor.Tensor{}}
}

func qValueInfo(name string, dt tensor.DataType, shape []int64) *onnxpb.ValueInfoProto {
	tt := &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(dt))}
	if shape != nil {
		tt.Shape = &onnxpb.TensorShapeProto{}
		for _, d := range shape {
			tt.Shape.Dim = append(tt.Shape.Dim, &onnxpb.TensorShapeProto_Dimension{
				Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d}})
		}
	}
	return &onnxpb.ValueInfoProto{Name: proto.String(name), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: tt}}}
}

// in adds a graph input fed with v.
func (b *qmBuilder) in(name string, v *tensor.Tensor) string {
	b.inputs = append(b.inputs, qValueInfo(name, v.Type, v.Shape))
	b.feeds[name] = v
	b.order = append(b.order, name)
	return name
}

// init adds an initializer.
func (b *qmBuilder) init(name string, v *tensor.Tensor) string {
	tp, err := tensor.ToProto(v, name)
	if err != nil {
		b.t.Fatalf("initializer %s: %v", name, err)
	}
	b.inits = append(b.inits, tp)
	return name
}

func (b *qmBuilder) node(op, domain string, in []string, out []string, attrs ...*onnxpb.AttributeProto) {
	if domain == MSDomain {
		b.ms = true
	}
	b.nodes = append(b.nodes, &onnxpb.NodeProto{Name: proto.String(fmt.Sprintf("n%d_%s", len(b.nodes), op)),
		OpType: proto.String(op), Domain: proto.String(domain), Input: in, Output: out, Attribute: attrs})
}

func (b *qmBuilder) out(name string, dt tensor.DataType) {
	b.outputs = append(b.outputs, qValueInfo(name, dt, nil))
}

func (b *qmBuilder) proto() *onnxpb.ModelProto {
	ops := []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(b.opset)}}
	if b.ms {
		ops = append(ops, &onnxpb.OperatorSetIdProto{Domain: proto.String(MSDomain), Version: proto.Int64(1)})
	}
	return &onnxpb.ModelProto{
		IrVersion:    proto.Int64(b.irVer),
		OpsetImport:  ops,
		ProducerName: proto.String("onnx-prom interp test"),
		Graph: &onnxpb.GraphProto{Name: proto.String("g"), Input: b.inputs, Output: b.outputs,
			Initializer: b.inits, Node: b.nodes},
	}
}

// run runs the model in the interpreter.
func (b *qmBuilder) run() (map[string]*tensor.Tensor, error) {
	m, err := ir.FromProto(b.proto())
	if err != nil {
		return nil, err
	}
	p, err := Compile(m, Options{})
	if err != nil {
		return nil, err
	}
	return p.Run(b.feeds)
}

func qIntAttr(name string, v int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(v)}
}

func qIntsAttr(name string, v ...int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INTS.Enum(), Ints: v}
}

func qFloatAttr(name string, v float32) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_FLOAT.Enum(), F: proto.Float32(v)}
}

func qStringAttr(name, v string) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_STRING.Enum(), S: []byte(v)}
}

// Random test data.

func qRandInts(r *rand.Rand, dt tensor.DataType, lo, hi int, shape ...int64) *tensor.Tensor {
	t, err := tensor.New(dt, shape...)
	if err != nil {
		panic(err)
	}
	n := t.Len()
	for i := 0; i < n; i++ {
		v := lo + r.IntN(hi-lo+1)
		switch d := t.Data.(type) {
		case []int8:
			d[i] = int8(v)
		case []uint8:
			d[i] = uint8(v)
		case []int16:
			d[i] = int16(v)
		case []uint16:
			d[i] = uint16(v)
		case []int32:
			d[i] = int32(v)
		}
	}
	return t
}

// qRand8 is a random INT8 or UINT8 tensor over the type's whole range.
func qRand8(r *rand.Rand, dt tensor.DataType, shape ...int64) *tensor.Tensor {
	lo, hi, _ := qRange(dt)
	return qRandInts(r, dt, int(lo), int(hi), shape...)
}

func qRandFloats(r *rand.Rand, lo, hi float32, shape ...int64) *tensor.Tensor {
	n, _ := tensor.NumElements(shape)
	d := make([]float32, n)
	for i := range d {
		d[i] = lo + (hi-lo)*r.Float32()
	}
	return tensor.FromFloat32(d, shape...)
}

// qScale is a random positive scale between lo and hi.
func qScale(r *rand.Rand, lo, hi float32) float32 { return lo + (hi-lo)*r.Float32() }

func qScalesT(r *rand.Rand, n int, lo, hi float32) *tensor.Tensor {
	d := make([]float32, n)
	for i := range d {
		d[i] = qScale(r, lo, hi)
	}
	return tensor.FromFloat32(d, int64(n))
}

func qScalarT(v float32) *tensor.Tensor { return tensor.FromFloat32([]float32{v}) }

// qZP is a scalar zero point of type dt.
func qZP(dt tensor.DataType, v int) *tensor.Tensor {
	t, _ := tensor.New(dt)
	switch d := t.Data.(type) {
	case []int8:
		d[0] = int8(v)
	case []uint8:
		d[0] = uint8(v)
	case []int16:
		d[0] = int16(v)
	case []uint16:
		d[0] = uint16(v)
	}
	return t
}

// qZPVec is a vector of zero points.
func qZPVec(dt tensor.DataType, v []int) *tensor.Tensor {
	t, _ := tensor.New(dt, int64(len(v)))
	for i, x := range v {
		switch d := t.Data.(type) {
		case []int8:
			d[i] = int8(x)
		case []uint8:
			d[i] = uint8(x)
		}
	}
	return t
}

// qT builds a tensor of type dt from int or float values.
func qT(dt tensor.DataType, shape []int64, vals ...float64) *tensor.Tensor {
	t, err := tensor.New(dt, shape...)
	if err != nil {
		panic(err)
	}
	if t.Len() != len(vals) {
		panic(fmt.Sprintf("qT: %d values for shape %v", len(vals), shape))
	}
	for i, v := range vals {
		switch d := t.Data.(type) {
		case []float32:
			d[i] = float32(v)
		case []int8:
			d[i] = int8(v)
		case []uint8:
			d[i] = uint8(v)
		case []int16:
			d[i] = int16(v)
		case []uint16:
			d[i] = uint16(v)
		case []int32:
			d[i] = int32(v)
		default:
			panic("qT: unsupported type")
		}
	}
	return t
}

// qExpect checks an output's type, shape and values exactly.
func qExpect(t *testing.T, what string, got *tensor.Tensor, dt tensor.DataType, shape []int64, vals ...float64) {
	t.Helper()
	if got == nil {
		t.Errorf("%s: no output", what)
		return
	}
	if got.Type != dt || fmt.Sprint(got.Shape) != fmt.Sprint(shape) {
		t.Errorf("%s: %s %v, want %s %v", what, tensor.Name(got.Type), got.Shape, tensor.Name(dt), shape)
		return
	}
	g, err := got.Float64s()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	for i := range vals {
		if g[i] != vals[i] {
			t.Errorf("%s: got %v, want %v", what, g, vals)
			return
		}
	}
}

// qRun1 runs a one-node model whose output y has type dt and returns y.
func qRun1(t *testing.T, b *qmBuilder) *tensor.Tensor {
	t.Helper()
	out, err := b.run()
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if out["y"] == nil {
		t.Fatalf("no output y")
	}
	return out["y"]
}

func TestDequantizeSubByteHandComputed(t *testing.T) {
	// INT2 per axis 0: y = (x - zp[row]) * scale[row].
	b := newQM(t, 25)
	b.node("DequantizeLinear", "", []string{
		b.in("x", qT(tensor.Int2, []int64{3, 4}, 1, -2, 0, -1, -1, 1, 1, 0, -2, -2, 1, 1)),
		b.init("s", qT(tensor.Float, []int64{3}, 0.5, 2, 0.25)),
		b.init("z", qT(tensor.Int2, []int64{3}, 0, 1, -1))}, []string{"y"}, qIntAttr("axis", 0))
	b.out("y", tensor.Float)
	qExpect(t, "INT2 per-axis", qRun1(t, b), tensor.Float, []int64{3, 4},
		0.5, -1, 0, -0.5, -4, 0, 0, -2, -0.25, -0.25, 0.5, 0.5)

	// UINT2 per axis 1 (the default axis).
	b = newQM(t, 25)
	b.node("DequantizeLinear", "", []string{
		b.in("x", qT(tensor.Uint2, []int64{2, 3}, 0, 3, 2, 1, 1, 3)),
		b.init("s", qT(tensor.Float, []int64{3}, 1, 0.5, 4)),
		b.init("z", qT(tensor.Uint2, []int64{3}, 1, 2, 0))}, []string{"y"})
	b.out("y", tensor.Float)
	qExpect(t, "UINT2 per-axis", qRun1(t, b), tensor.Float, []int64{2, 3}, -1, 0.5, 8, 0, -0.5, 12)

	// INT4 blocked along axis 1, blocks of 4 (the last block has 2).
	b = newQM(t, 21)
	b.node("DequantizeLinear", "", []string{
		b.in("x", qT(tensor.Int4, []int64{2, 6}, -8, 7, 1, -1, 3, -3, 0, 2, 4, 6, -5, 5)),
		b.init("s", qT(tensor.Float, []int64{2, 2}, 0.5, 1, 2, 0.25)),
		b.init("z", qT(tensor.Int4, []int64{2, 2}, 0, 1, -1, 2))}, []string{"y"}, qIntAttr("axis", 1), qIntAttr("block_size", 4))
	b.out("y", tensor.Float)
	qExpect(t, "INT4 blocked", qRun1(t, b), tensor.Float, []int64{2, 6},
		-4, 3.5, 0.5, -0.5, 2, -4, 2, 6, 10, 14, -1.75, 0.75)

	// INT2 blocked along axis 0, blocks of 3, no zero point.
	b = newQM(t, 25)
	b.node("DequantizeLinear", "", []string{
		b.in("x", qT(tensor.Int2, []int64{4, 2}, 1, 0, -1, -2, 0, 1, -2, 1)),
		b.init("s", qT(tensor.Float, []int64{2, 2}, 1, 2, 0.5, 4))}, []string{"y"}, qIntAttr("axis", 0), qIntAttr("block_size", 3))
	b.out("y", tensor.Float)
	qExpect(t, "INT2 blocked", qRun1(t, b), tensor.Float, []int64{4, 2}, 1, 0, -1, -4, 0, 2, -1, 4)

	// FLOAT16 scale: the output is FLOAT16, rounded from the float32
	// product; output_dtype (opset 23+) asks for FLOAT instead.
	s16 := &tensor.Tensor{Type: tensor.Float16, Shape: []int64{}, Data: []float16.Float16{float16.Fromfloat32(0.1)}}
	for _, od := range []tensor.DataType{0, tensor.Float} {
		b = newQM(t, 25)
		var attrs []*onnxpb.AttributeProto
		if od != 0 {
			attrs = append(attrs, qIntAttr("output_dtype", int64(od)))
		}
		b.node("DequantizeLinear", "", []string{b.in("x", qT(tensor.Int8, []int64{3}, -128, 3, 127)),
			b.init("s", s16), b.init("z", qT(tensor.Int8, nil, 1))}, []string{"y"}, attrs...)
		if od == 0 {
			b.out("y", tensor.Float16)
		} else {
			b.out("y", od)
		}
		y := qRun1(t, b)
		sf := float16.Fromfloat32(0.1).Float32() // 0.0999755859375
		want := []float32{-129 * sf, 2 * sf, 126 * sf}
		if od == 0 {
			if y.Type != tensor.Float16 {
				t.Fatalf("FLOAT16 scale: output %s, want FLOAT16", tensor.Name(y.Type))
			}
			for i, v := range y.Data.([]float16.Float16) {
				if v != float16.Fromfloat32(want[i]) {
					t.Errorf("FLOAT16 scale: element %d = %v, want %v", i, v.Float32(), float16.Fromfloat32(want[i]).Float32())
				}
			}
			continue
		}
		qExpect(t, "output_dtype FLOAT", y, tensor.Float, []int64{3}, float64(want[0]), float64(want[1]), float64(want[2]))
	}
}

func TestQuantizeLinearTiesAndSaturation(t *testing.T) {
	x := qT(tensor.Float, []int64{8}, 2.5, 3.5, -2.5, -3.5, 0.5, 1.5, 300, -300)
	for _, c := range []struct {
		name  string
		opset int64
		scale float64
		zp    *tensor.Tensor
		dt    tensor.DataType
		want  []float64
	}{
		// Half to even, then saturation.
		{"int8 zp 0", 13, 1, qT(tensor.Int8, nil, 0), tensor.Int8, []float64{2, 4, -2, -4, 0, 2, 127, -128}},
		// The same with uint8 and its usual zero point 128.
		{"uint8 zp 128", 13, 1, qT(tensor.Uint8, nil, 128), tensor.Uint8, []float64{130, 132, 126, 124, 128, 130, 255, 0}},
		// No zero point: uint8 with zero point 0.
		{"no zp opset 10", 10, 1, nil, tensor.Uint8, []float64{2, 4, 0, 0, 0, 2, 255, 0}},
		// Scale 0.5 doubles (no ties left), zero point -1.
		{"int8 scale 0.5 zp -1", 13, 0.5, qT(tensor.Int8, nil, -1), tensor.Int8, []float64{4, 6, -6, -8, 0, 2, 127, -128}},
		{"int16 zp 1000", 21, 1, qT(tensor.Int16, nil, 1000), tensor.Int16, []float64{1002, 1004, 998, 996, 1000, 1002, 1300, 700}},
		{"uint16", 21, 0.001, qT(tensor.Uint16, nil, 0), tensor.Uint16, []float64{2500, 3500, 0, 0, 500, 1500, 65535, 0}},
		{"int4 zp 1", 21, 1, qT(tensor.Int4, nil, 1), tensor.Int4, []float64{3, 5, -1, -3, 1, 3, 7, -8}},
		{"uint4 zp 8", 21, 1, qT(tensor.Uint4, nil, 8), tensor.Uint4, []float64{10, 12, 6, 4, 8, 10, 15, 0}},
		{"int2", 25, 1, qT(tensor.Int2, nil, 0), tensor.Int2, []float64{1, 1, -2, -2, 0, 1, 1, -2}},
		{"uint2 zp 1", 25, 1, qT(tensor.Uint2, nil, 1), tensor.Uint2, []float64{3, 3, 0, 0, 1, 3, 3, 0}},
	} {
		b := newQM(t, c.opset)
		in := []string{b.in("x", x), b.init("s", qT(tensor.Float, nil, c.scale))}
		if c.zp != nil {
			in = append(in, b.init("z", c.zp))
		}
		b.node("QuantizeLinear", "", in, []string{"y"})
		b.out("y", c.dt)
		qExpect(t, c.name, qRun1(t, b), c.dt, []int64{8}, c.want...)
	}

	// output_dtype without a zero point (opset 21), per-axis INT4 with
	// per-channel zero points.
	b := newQM(t, 21)
	b.node("QuantizeLinear", "", []string{b.in("x", qT(tensor.Float, []int64{2, 3}, 0.3, -0.3, 9, 1.25, 1.75, -40)),
		b.init("s", qT(tensor.Float, []int64{2}, 0.1, 0.5))}, []string{"y"}, qIntAttr("axis", 0), qIntAttr("output_dtype", int64(tensor.Int4)))
	b.out("y", tensor.Int4)
	// Row 0: 3, -3, 90 -> 7. Row 1: 2.5 -> 2, 3.5 -> 4, -80 -> -8.
	qExpect(t, "output_dtype INT4 per-axis", qRun1(t, b), tensor.Int4, []int64{2, 3}, 3, -3, 7, 2, 4, -8)

	// precision FLOAT16 (opset 23): the quotient is rounded to float16
	// first. 1000.4/1 is 1000.5 in float16 (a tie, to 1000) but 1000.4 in
	// float32 (to 1000); 2049/1 is 2048 in float16.
	b = newQM(t, 23)
	b.node("QuantizeLinear", "", []string{b.in("x", qT(tensor.Float, []int64{3}, 1000.4, 2049, 1000.6)),
		b.init("s", qT(tensor.Float, nil, 1)), b.init("z", qT(tensor.Int16, nil, 0))}, []string{"y"}, qIntAttr("precision", int64(tensor.Float16)))
	b.out("y", tensor.Int16)
	qExpect(t, "precision FLOAT16", qRun1(t, b), tensor.Int16, []int64{3}, 1000, 2048, 1000)
}

func TestDynamicQuantizeLinearHandComputed(t *testing.T) {
	for _, c := range []struct {
		name  string
		x     []float64
		scale float32
		zp    float64
		y     []float64
	}{
		// Range ±127.5/128: scale exactly 1/128, zero point 127.5 is a tie
		// (to 128); x / scale = ±127.5 rounds to ±128, then 256 saturates.
		{"ties", []float64{-0.99609375, 0.99609375, 0}, 1.0 / 128, 128, []float64{0, 255, 128}},
		// Range [-1, 1]: float32(2/255) is a little above 2/255, so 1/scale
		// is 127.49999 in float32: zero point 127, and 1 -> 127 + 127.
		{"symmetric", []float64{-1, 1, 0}, 2.0 / 255, 127, []float64{0, 254, 127}},
		// All zero: ONNX Runtime uses scale 1 (the ONNX formula divides by 0).
		{"zeros", []float64{0, 0, 0}, 1, 0, []float64{0, 0, 0}},
		// Positive only: the range is extended to 0.
		{"positive", []float64{0.5, 2.55, 1}, 0.01, 0, []float64{50, 255, 100}},
	} {
		b := newQM(t, 11)
		b.node("DynamicQuantizeLinear", "", []string{b.in("x", qT(tensor.Float, []int64{int64(len(c.x))}, c.x...))}, []string{"y", "s", "z"})
		b.out("y", tensor.Uint8)
		b.out("s", tensor.Float)
		b.out("z", tensor.Uint8)
		out, err := b.run()
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		qExpect(t, c.name+" y", out["y"], tensor.Uint8, []int64{int64(len(c.x))}, c.y...)
		qExpect(t, c.name+" scale", out["s"], tensor.Float, []int64{}, float64(c.scale))
		qExpect(t, c.name+" zero point", out["z"], tensor.Uint8, []int64{}, c.zp)
	}
}

func TestQLinearConvDepthwisePerChannel(t *testing.T) {
	// Two channels, 3x3 input, 2x2 depthwise kernels, no padding.
	// x - zp: c0 = [[0 1 2] [3 4 5] [6 7 8]], c1 = [[-2 -3 -4] [-5 -6 -7] [-8 -9 -10]].
	// c0: w = [[1 2] [0 -1]], bias 7: acc = [5 7 11 13], multiplier
	//     0.5*0.25/0.5 = 0.25: [1.25 1.75 2.75 3.25] -> [1 2 3 3], + zp -2.
	// c1: w = [[2 1] [1 2]], bias -3: acc = [-27 -33 -45 -51], multiplier
	//     0.5*0.75/0.5 = 0.75: [-20.25 -24.75 -33.75 -38.25] -> [-20 -25 -34 -38], -2.
	b := newQM(t, 13)
	x := qT(tensor.Int8, []int64{1, 2, 3, 3}, 1, 2, 3, 4, 5, 6, 7, 8, 9, -1, -2, -3, -4, -5, -6, -7, -8, -9)
	in := []string{b.in("x", x), b.init("xs", qT(tensor.Float, nil, 0.5)), b.init("xz", qT(tensor.Int8, nil, 1)),
		b.init("w", qT(tensor.Int8, []int64{2, 1, 2, 2}, 1, 2, 0, -1, 2, 1, 1, 2)),
		b.init("ws", qT(tensor.Float, []int64{2}, 0.25, 0.75)), b.init("wz", qT(tensor.Int8, []int64{2}, 0, 0)),
		b.init("ys", qT(tensor.Float, nil, 0.5)), b.init("yz", qT(tensor.Int8, nil, -2)),
		b.init("B", qT(tensor.Int32, []int64{2}, 7, -3))}
	b.node("QLinearConv", "", in, []string{"y"}, qIntAttr("group", 2))
	b.out("y", tensor.Int8)
	qExpect(t, "depthwise int8", qRun1(t, b), tensor.Int8, []int64{1, 2, 2, 2}, -1, 0, 1, 1, -22, -27, -36, -40)

	// uint8 with per-channel weight zero points (which ONNX allows and
	// ONNX Runtime does not), stride 2, padding 1. x - zp = [[0 1 2] [3 4 5]
	// [6 7 8]] in both channels. w - zp is [[0 0] [0 1]] for c0 (zp 5), so
	// output (i, j) reads input (2i, 2j): 0, 2, 6, 8 (multiplier 1); and
	// [[1 0] [0 0]] for c1 (zp 3), reading (2i-1, 2j-1): padding except for
	// (1, 1), which reads 4, times the multiplier 2. Output zero point 100.
	b = newQM(t, 13)
	x = qT(tensor.Uint8, []int64{1, 2, 3, 3}, 10, 11, 12, 13, 14, 15, 16, 17, 18, 10, 11, 12, 13, 14, 15, 16, 17, 18)
	in = []string{b.in("x", x), b.init("xs", qT(tensor.Float, nil, 1)), b.init("xz", qT(tensor.Uint8, nil, 10)),
		b.init("w", qT(tensor.Uint8, []int64{2, 1, 2, 2}, 5, 5, 5, 6, 4, 3, 3, 3)),
		b.init("ws", qT(tensor.Float, []int64{2}, 1, 2)), b.init("wz", qT(tensor.Uint8, []int64{2}, 5, 3)),
		b.init("ys", qT(tensor.Float, nil, 1)), b.init("yz", qT(tensor.Uint8, nil, 100))}
	b.node("QLinearConv", "", in, []string{"y"}, qIntAttr("group", 2), qIntsAttr("strides", 2, 2), qIntsAttr("pads", 1, 1, 1, 1))
	b.out("y", tensor.Uint8)
	qExpect(t, "depthwise uint8 per-channel zp", qRun1(t, b), tensor.Uint8, []int64{1, 2, 2, 2}, 100, 102, 106, 108, 100, 100, 100, 108)
}

func TestIntegerOpsHandComputed(t *testing.T) {
	// MatMulInteger with per-row a and per-column b zero points:
	// A - zp = [[0 1 2] [0 1 2]], B - zp = [[1 -1] [0 0] [2 1]].
	b := newQM(t, 10)
	b.node("MatMulInteger", "", []string{b.in("A", qT(tensor.Uint8, []int64{2, 3}, 1, 2, 3, 4, 5, 6)),
		b.init("B", qT(tensor.Uint8, []int64{3, 2}, 1, 0, 0, 1, 2, 2)),
		b.init("az", qT(tensor.Uint8, []int64{2}, 1, 4)), b.init("bz", qT(tensor.Uint8, []int64{2}, 0, 1))}, []string{"y"})
	b.out("y", tensor.Int32)
	qExpect(t, "MatMulInteger", qRun1(t, b), tensor.Int32, []int64{2, 2}, 4, 2, 4, 2)

	// ConvInteger, 1x1 input channel pair, x zero point 2, per-channel w
	// zero points: y[m] = Σ_c (x_c - 2)(w_mc - wz_m).
	b = newQM(t, 10)
	b.node("ConvInteger", "", []string{b.in("x", qT(tensor.Int8, []int64{1, 2, 1, 2}, 3, -1, 5, 2)),
		b.init("w", qT(tensor.Int8, []int64{2, 2, 1, 1}, 1, 2, -3, 4)),
		b.init("xz", qT(tensor.Int8, nil, 2)), b.init("wz", qT(tensor.Int8, []int64{2}, 1, -1))}, []string{"y"})
	b.out("y", tensor.Int32)
	// x - 2: c0 = [1 -3], c1 = [3 0]. m0: w - 1 = [0 1] -> [3 0].
	// m1: w + 1 = [-2 5] -> [-2+15, 6+0] = [13 6].
	qExpect(t, "ConvInteger", qRun1(t, b), tensor.Int32, []int64{1, 2, 1, 2}, 3, 0, 13, 6)
}

func TestContribOpsHandComputed(t *testing.T) {
	// QLinearAdd: (a - 1)*0.5 + (b + 2)*0.25 over scale 0.25, zero point 3.
	b := newQM(t, 13)
	b.node("QLinearAdd", MSDomain, []string{b.in("A", qT(tensor.Int8, []int64{4}, 1, 3, -5, 127)),
		b.init("as", qT(tensor.Float, nil, 0.5)), b.init("az", qT(tensor.Int8, nil, 1)),
		b.in("B", qT(tensor.Int8, []int64{4}, -2, 0, 1, 127)),
		b.init("bs", qT(tensor.Float, nil, 0.25)), b.init("bz", qT(tensor.Int8, nil, -2)),
		b.init("cs", qT(tensor.Float, nil, 0.25)), b.init("cz", qT(tensor.Int8, nil, 3))}, []string{"y"})
	b.out("y", tensor.Int8)
	// Values: 0, 1+0.5=1.5, -3+0.75=-2.25, 63+32.25 -> /0.25: 0, 6, -9, 381.
	qExpect(t, "QLinearAdd", qRun1(t, b), tensor.Int8, []int64{4}, 3, 9, -6, 127)

	// QLinearMul: (a-1)(b-2)*0.5*0.5/0.25 = (a-1)(b-2), zero point 10.
	b = newQM(t, 13)
	b.node("QLinearMul", MSDomain, []string{b.in("A", qT(tensor.Uint8, []int64{3}, 1, 4, 0)),
		b.init("as", qT(tensor.Float, nil, 0.5)), b.init("az", qT(tensor.Uint8, nil, 1)),
		b.in("B", qT(tensor.Uint8, []int64{3}, 9, 5, 255)),
		b.init("bs", qT(tensor.Float, nil, 0.5)), b.init("bz", qT(tensor.Uint8, nil, 2)),
		b.init("cs", qT(tensor.Float, nil, 0.25)), b.init("cz", qT(tensor.Uint8, nil, 10))}, []string{"y"})
	b.out("y", tensor.Uint8)
	qExpect(t, "QLinearMul", qRun1(t, b), tensor.Uint8, []int64{3}, 10, 19, 0)

	// QLinearGlobalAveragePool: per channel mean of x - zp, times
	// x_scale / y_scale = 1: c0 = mean(0, 1, 2, 4) = 1.75 -> 2; c1 = 2.5 -> 2.
	for _, last := range []int64{0, 1} {
		b = newQM(t, 13)
		x := qT(tensor.Uint8, []int64{1, 2, 2, 2}, 5, 6, 7, 9, 6, 7, 8, 9)
		shape := []int64{1, 2, 1, 1}
		if last == 1 {
			x = qT(tensor.Uint8, []int64{1, 2, 2, 2}, 5, 6, 6, 7, 7, 8, 9, 9)
			shape = []int64{1, 1, 1, 2}
		}
		b.node("QLinearGlobalAveragePool", MSDomain, []string{b.in("x", x), b.init("xs", qT(tensor.Float, nil, 0.5)),
			b.init("xz", qT(tensor.Uint8, nil, 5)), b.init("ys", qT(tensor.Float, nil, 0.5)), b.init("yz", qT(tensor.Uint8, nil, 7))},
			[]string{"y"}, qIntAttr("channels_last", last))
		b.out("y", tensor.Uint8)
		qExpect(t, fmt.Sprintf("QLinearGlobalAveragePool channels_last=%d", last), qRun1(t, b), tensor.Uint8, shape, 9, 9)
	}

	// QLinearConcat: the first input shares the output's parameters (a
	// copy), the second is requantized: (x - 1) * 1 / 0.5 + 0.
	b = newQM(t, 13)
	b.node("QLinearConcat", MSDomain, []string{b.init("ys", qT(tensor.Float, nil, 0.5)), b.init("yz", qT(tensor.Int8, nil, 0)),
		b.in("a", qT(tensor.Int8, []int64{1, 2}, -7, 100)), b.init("as", qT(tensor.Float, nil, 0.5)), b.init("az", qT(tensor.Int8, nil, 0)),
		b.in("b", qT(tensor.Int8, []int64{1, 3}, 1, 3, 120)), b.init("bs", qT(tensor.Float, nil, 1)), b.init("bz", qT(tensor.Int8, nil, 1))},
		[]string{"y"}, qIntAttr("axis", 1))
	b.out("y", tensor.Int8)
	qExpect(t, "QLinearConcat", qRun1(t, b), tensor.Int8, []int64{1, 5}, -7, 100, 0, 4, 127)

	// QGemm with a float output: alpha * a_scale * b_scale * (A-za)(B-zb) + C.
	b = newQM(t, 13)
	b.node("QGemm", MSDomain, []string{b.in("A", qT(tensor.Uint8, []int64{1, 2}, 3, 5)), b.init("as", qT(tensor.Float, nil, 0.5)),
		b.init("az", qT(tensor.Uint8, nil, 1)), b.init("B", qT(tensor.Int8, []int64{2, 2}, 1, -1, 2, 3)),
		b.init("bs", qT(tensor.Float, []int64{2}, 1, 0.25)), b.init("bz", qT(tensor.Int8, []int64{2}, 0, 0)),
		b.init("C", qT(tensor.Int32, []int64{2}, 10, -2))}, []string{"y"}, qFloatAttr("alpha", 2))
	b.out("y", tensor.Float)
	// (A-1) = [2 4]; acc = [2+8+10, -2+12-2] = [20 8]; scales 2*0.5*[1 0.25].
	qExpect(t, "QGemm float", qRun1(t, b), tensor.Float, []int64{1, 2}, 20, 2)

	// QLinearLeakyRelu: x = (v - 0) * 0.5, alpha 0.25, y scale 0.25.
	b = newQM(t, 13)
	b.node("QLinearLeakyRelu", MSDomain, []string{b.in("x", qT(tensor.Int8, []int64{4}, -8, -3, 0, 5)),
		b.init("xs", qT(tensor.Float, nil, 0.5)), b.init("xz", qT(tensor.Int8, nil, 0)),
		b.init("ys", qT(tensor.Float, nil, 0.25)), b.init("yz", qT(tensor.Int8, nil, 0))}, []string{"y"}, qFloatAttr("alpha", 0.25))
	b.out("y", tensor.Int8)
	// -4*0.25 = -1 -> -4; -1.5*0.25 = -0.375 -> -1.5 -> -2 (tie to even); 0; 2.5 -> 10.
	qExpect(t, "QLinearLeakyRelu", qRun1(t, b), tensor.Int8, []int64{4}, -4, -2, 0, 10)
}

// TestQuantBadInputs checks that malformed quantized nodes give errors that
// name the node, at compile time when the problem is visible there, at run
// time otherwise, and never panic.
func TestQuantBadInputs(t *testing.T) {
	f := func(shape []int64, v ...float64) *tensor.Tensor { return qT(tensor.Float, shape, v...) }
	x23 := f([]int64{2, 3}, 1, 2, 3, 4, 5, 6)
	i8x := qT(tensor.Int8, []int64{1, 1, 3, 3}, 1, 2, 3, 4, 5, 6, 7, 8, 9)
	for _, c := range []struct {
		name  string
		build func(b *qmBuilder)
		want  string
	}{
		{"scale of wrong length for the axis", func(b *qmBuilder) {
			b.node("QuantizeLinear", "", []string{b.in("x", x23), b.init("s", f([]int64{2}, 1, 1)), b.init("z", qT(tensor.Int8, []int64{2}, 0, 0))}, []string{"y"})
		}, "scale has 2 elements, but axis 1"},
		{"axis out of range", func(b *qmBuilder) {
			b.node("DequantizeLinear", "", []string{b.in("x", qT(tensor.Int8, []int64{2, 3}, 1, 2, 3, 4, 5, 6)), b.init("s", f([]int64{3}, 1, 1, 1))}, []string{"y"}, qIntAttr("axis", 2))
		}, "axis 2 is out of range"},
		{"zero point type mismatch (compile time)", func(b *qmBuilder) {
			b.node("DequantizeLinear", "", []string{b.in("x", qT(tensor.Int8, []int64{3}, 1, 2, 3)), b.init("s", f(nil, 1)), b.init("z", qT(tensor.Uint8, nil, 0))}, []string{"y"})
		}, "must have the same type"},
		{"output_dtype against zero point", func(b *qmBuilder) {
			b.node("QuantizeLinear", "", []string{b.in("x", x23), b.init("s", f(nil, 1)), b.init("z", qT(tensor.Uint8, nil, 0))}, []string{"y"}, qIntAttr("output_dtype", int64(tensor.Int8)))
		}, "does not match y_zero_point"},
		{"INT2 value out of range", func(b *qmBuilder) {
			b.node("DequantizeLinear", "", []string{b.in("x", qT(tensor.Int2, []int64{3}, 1, 5, -2)), b.init("s", f(nil, 1))}, []string{"y"})
		}, "outside the INT2 range"},
		{"UINT2 zero point out of range", func(b *qmBuilder) {
			b.node("DequantizeLinear", "", []string{b.in("x", qT(tensor.Uint2, []int64{3}, 1, 2, 3)), b.init("s", f(nil, 1)), b.in("z", qT(tensor.Uint2, nil, 4))}, []string{"y"})
		}, "outside the UINT2 range"},
		{"INT2 before opset 25", func(b *qmBuilder) {
			b.node("DequantizeLinear", "", []string{b.in("x", qT(tensor.Int2, []int64{3}, 1, 0, -2)), b.init("s", f(nil, 1))}, []string{"y"})
		}, "needs opset 25"},
		{"blocked scale of wrong shape", func(b *qmBuilder) {
			b.node("DequantizeLinear", "", []string{b.in("x", qT(tensor.Int4, []int64{2, 6}, 1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6)), b.init("s", f([]int64{2, 3}, 1, 1, 1, 1, 1, 1))},
				[]string{"y"}, qIntAttr("axis", 1), qIntAttr("block_size", 4))
		}, "blocks"},
		{"float8 output", func(b *qmBuilder) {
			b.node("QuantizeLinear", "", []string{b.in("x", x23), b.init("s", f(nil, 1))}, []string{"y"}, qIntAttr("output_dtype", int64(onnxpb.TensorProto_FLOAT8E4M3FN)))
		}, "not supported"},
		{"QLinearConv w_scale of wrong length", func(b *qmBuilder) {
			b.node("QLinearConv", "", []string{b.in("x", i8x), b.init("xs", f(nil, 1)), b.init("xz", qT(tensor.Int8, nil, 0)),
				b.init("w", qT(tensor.Int8, []int64{2, 1, 2, 2}, 1, 1, 1, 1, 1, 1, 1, 1)), b.init("ws", f([]int64{3}, 1, 1, 1)), b.init("wz", qT(tensor.Int8, nil, 0)),
				b.init("ys", f(nil, 1)), b.init("yz", qT(tensor.Int8, nil, 0))}, []string{"y"})
		}, "w_scale has shape [3]"},
		{"QLinearConv channel mismatch", func(b *qmBuilder) {
			b.node("QLinearConv", "", []string{b.in("x", i8x), b.init("xs", f(nil, 1)), b.init("xz", qT(tensor.Int8, nil, 0)),
				b.init("w", qT(tensor.Int8, []int64{1, 2, 1, 1}, 1, 1)), b.init("ws", f(nil, 1)), b.init("wz", qT(tensor.Int8, nil, 0)),
				b.init("ys", f(nil, 1)), b.init("yz", qT(tensor.Int8, nil, 0))}, []string{"y"})
		}, "channels"},
		{"QLinearConv bias of wrong length", func(b *qmBuilder) {
			b.node("QLinearConv", "", []string{b.in("x", i8x), b.init("xs", f(nil, 1)), b.init("xz", qT(tensor.Int8, nil, 0)),
				b.init("w", qT(tensor.Int8, []int64{1, 1, 1, 1}, 1)), b.init("ws", f(nil, 1)), b.init("wz", qT(tensor.Int8, nil, 0)),
				b.init("ys", f(nil, 1)), b.init("yz", qT(tensor.Int8, nil, 0)), b.init("B", qT(tensor.Int32, []int64{2}, 1, 2))}, []string{"y"})
		}, "bias B"},
		{"QLinearConv zero point type mismatch", func(b *qmBuilder) {
			b.node("QLinearConv", "", []string{b.in("x", i8x), b.init("xs", f(nil, 1)), b.init("xz", qT(tensor.Uint8, nil, 0)),
				b.init("w", qT(tensor.Int8, []int64{1, 1, 1, 1}, 1)), b.init("ws", f(nil, 1)), b.init("wz", qT(tensor.Int8, nil, 0)),
				b.init("ys", f(nil, 1)), b.init("yz", qT(tensor.Int8, nil, 0))}, []string{"y"})
		}, "zero point"},
		{"QLinearMatMul inner dimensions", func(b *qmBuilder) {
			b.node("QLinearMatMul", "", []string{b.in("a", qT(tensor.Uint8, []int64{2, 3}, 1, 2, 3, 4, 5, 6)), b.init("as", f(nil, 1)), b.init("az", qT(tensor.Uint8, nil, 0)),
				b.init("b", qT(tensor.Uint8, []int64{2, 2}, 1, 2, 3, 4)), b.init("bs", f(nil, 1)), b.init("bz", qT(tensor.Uint8, nil, 0)),
				b.init("ys", f(nil, 1)), b.init("yz", qT(tensor.Uint8, nil, 0))}, []string{"y"})
		}, "do not multiply"},
		{"QLinearMatMul b_scale of wrong length", func(b *qmBuilder) {
			b.node("QLinearMatMul", "", []string{b.in("a", qT(tensor.Uint8, []int64{1, 2}, 1, 2)), b.init("as", f(nil, 1)), b.init("az", qT(tensor.Uint8, nil, 0)),
				b.init("b", qT(tensor.Uint8, []int64{2, 2}, 1, 2, 3, 4)), b.init("bs", f([]int64{3}, 1, 1, 1)), b.init("bz", qT(tensor.Uint8, nil, 0)),
				b.init("ys", f(nil, 1)), b.init("yz", qT(tensor.Uint8, nil, 0))}, []string{"y"})
		}, "b_scale has shape [3]"},
		{"MatMulInteger a_zero_point shape", func(b *qmBuilder) {
			b.node("MatMulInteger", "", []string{b.in("a", qT(tensor.Uint8, []int64{2, 2}, 1, 2, 3, 4)), b.init("b", qT(tensor.Uint8, []int64{2, 2}, 1, 2, 3, 4)),
				b.init("az", qT(tensor.Uint8, []int64{3}, 1, 2, 3))}, []string{"y"})
		}, "a_zero_point has shape [3]"},
		{"QLinearAdd mixed types", func(b *qmBuilder) {
			b.node("QLinearAdd", MSDomain, []string{b.in("a", qT(tensor.Uint8, []int64{2}, 1, 2)), b.init("as", f(nil, 1)), b.init("az", qT(tensor.Uint8, nil, 0)),
				b.in("b", qT(tensor.Int8, []int64{2}, 1, 2)), b.init("bs", f(nil, 1)), b.init("bz", qT(tensor.Int8, nil, 0)),
				b.init("cs", f(nil, 1)), b.init("cz", qT(tensor.Uint8, nil, 0))}, []string{"y"})
		}, "input B is INT8 but A is UINT8"},
		{"QLinearAdd shapes that do not broadcast", func(b *qmBuilder) {
			b.node("QLinearAdd", MSDomain, []string{b.in("a", qT(tensor.Int8, []int64{2}, 1, 2)), b.init("as", f(nil, 1)), b.init("az", qT(tensor.Int8, nil, 0)),
				b.in("b", qT(tensor.Int8, []int64{3}, 1, 2, 3)), b.init("bs", f(nil, 1)), b.init("bz", qT(tensor.Int8, nil, 0)),
				b.init("cs", f(nil, 1)), b.init("cz", qT(tensor.Int8, nil, 0))}, []string{"y"})
		}, "do not broadcast"},
		{"QLinearGlobalAveragePool scale out of range", func(b *qmBuilder) {
			b.node("QLinearGlobalAveragePool", MSDomain, []string{b.in("x", i8x), b.init("xs", f(nil, 10000)), b.init("xz", qT(tensor.Int8, nil, 0)),
				b.init("ys", f(nil, 1)), b.init("yz", qT(tensor.Int8, nil, 0))}, []string{"y"})
		}, "outside [2^-32, 256)"},
		{"QLinearConcat axis out of range", func(b *qmBuilder) {
			b.node("QLinearConcat", MSDomain, []string{b.init("ys", f(nil, 1)), b.init("yz", qT(tensor.Int8, nil, 0)),
				b.in("a", qT(tensor.Int8, []int64{2}, 1, 2)), b.init("as", f(nil, 1)), b.init("az", qT(tensor.Int8, nil, 0))}, []string{"y"}, qIntAttr("axis", 3))
		}, "axis 3 is out of range"},
		{"QGemm zero point without scale", func(b *qmBuilder) {
			b.node("QGemm", MSDomain, []string{b.in("a", qT(tensor.Uint8, []int64{1, 2}, 1, 2)), b.init("as", f(nil, 1)), b.init("az", qT(tensor.Uint8, nil, 0)),
				b.init("b", qT(tensor.Uint8, []int64{2, 1}, 1, 2)), b.init("bs", f(nil, 1)), b.init("bz", qT(tensor.Uint8, nil, 0)), "", "", b.init("yz", qT(tensor.Uint8, nil, 0))}, []string{"y"})
		}, "y_zero_point needs y_scale"},
	} {
		b := newQM(t, 25)
		if strings.Contains(c.name, "before opset 25") {
			b = newQM(t, 21)
		}
		c.build(b)
		b.out("y", tensor.Undefined)
		_, err := b.run()
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		node := b.nodes[0].GetName()
		if !strings.Contains(err.Error(), node) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q, want one naming node %s and containing %q", c.name, err, node, c.want)
		}
	}
}

// TestQuantNoPanicOnRandomShapes runs quantized kernels on valid random
// inputs with some inputs replaced by tensors of random shape and type:
// each run must end in a result or an error, never a panic (the
// interpreter's last-resort recover would turn one into an error that says
// "kernel failed", which this test refuses; a panic in a worker goroutine
// would crash the test binary).
func TestQuantNoPanicOnRandomShapes(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	shape := func() []int64 {
		s := make([]int64, r.IntN(5))
		for i := range s {
			s[i] = int64(r.IntN(4))
		}
		return s
	}
	junk := func() *tensor.Tensor {
		switch r.IntN(4) {
		case 0:
			return qRandInts(r, tensor.Int8, -128, 127, shape()...)
		case 1:
			return qRandInts(r, tensor.Uint8, 0, 255, shape()...)
		case 2:
			return qRandInts(r, tensor.Int32, -9, 9, shape()...)
		}
		return qRandFloats(r, -1, 1, shape()...)
	}
	sc := func() *tensor.Tensor { return qScalarT(qScale(r, 0.01, 1)) }
	i8 := func(shape ...int64) *tensor.Tensor { return qRandInts(r, tensor.Int8, -128, 127, shape...) }
	z := func() *tensor.Tensor { return qT(tensor.Int8, nil, float64(r.IntN(9)-4)) }
	var ok, bad [7]int
	for i := 0; i < 700; i++ {
		kind := i % 7
		var op, domain string
		var ins []*tensor.Tensor
		var attrs []*onnxpb.AttributeProto
		n, c, h, w := int64(1+r.IntN(2)), int64(1+r.IntN(3)), int64(1+r.IntN(5)), int64(1+r.IntN(5))
		switch kind {
		case 0:
			op = "QuantizeLinear"
			ins = []*tensor.Tensor{qRandFloats(r, -3, 3, n, c, h), qRandFloats(r, 0.1, 1, c), qRandInts(r, tensor.Int8, -3, 3, c)}
		case 1:
			op = "DequantizeLinear"
			ins = []*tensor.Tensor{i8(n, c, h), qRandFloats(r, 0.1, 1, n, c, (h+1)/2), qRandInts(r, tensor.Int8, -3, 3, n, c, (h+1)/2)}
			attrs = append(attrs, qIntAttr("axis", 2), qIntAttr("block_size", 2))
		case 2:
			op = "QLinearConv"
			k := int64(1 + r.IntN(3))
			ins = []*tensor.Tensor{i8(n, c, h, w), sc(), z(), i8(2, c, k, k), qRandFloats(r, 0.1, 1, 2), qT(tensor.Int8, []int64{2}, 0, 0), sc(), z(), qRandInts(r, tensor.Int32, -9, 9, 2)}
			attrs = append(attrs, qIntsAttr("pads", k/2, k/2, k/2, k/2), qIntsAttr("strides", 1+int64(r.IntN(2)), 1))
		case 3:
			op = "QLinearMatMul"
			ins = []*tensor.Tensor{i8(n, h, w), sc(), z(), i8(w, c), qRandFloats(r, 0.1, 1, c), qT(tensor.Int8, nil, 0), sc(), z()}
		case 4:
			op, domain = "QLinearAdd", MSDomain
			ins = []*tensor.Tensor{i8(n, c, h), sc(), z(), i8(c, 1), sc(), z(), sc(), z()}
		case 5:
			op = "MatMulInteger"
			ins = []*tensor.Tensor{i8(h, w), i8(w, c), qRandInts(r, tensor.Int8, -3, 3, h), z()}
		case 6:
			op, domain = "QGemm", MSDomain
			ins = []*tensor.Tensor{i8(h, w), sc(), z(), i8(w, c), sc(), z(), qRandInts(r, tensor.Int32, -9, 9, c), sc(), z()}
		}
		// Corrupt up to two inputs in two runs out of three.
		if i%3 != 0 {
			for j := 0; j < 1+r.IntN(2); j++ {
				ins[r.IntN(len(ins))] = junk()
			}
		}
		b := newQM(t, 21)
		var names []string
		for j, v := range ins {
			names = append(names, b.in(fmt.Sprintf("i%d", j), v))
		}
		b.node(op, domain, names, []string{"y"}, attrs...)
		b.out("y", tensor.Undefined)
		_, err := b.run()
		switch {
		case err == nil:
			ok[kind]++
		case strings.Contains(err.Error(), "kernel failed"):
			t.Errorf("%s case %d: %v", op, i, err)
		default:
			bad[kind]++
		}
	}
	// Both outcomes must occur for every kernel, or the test shows little.
	for k := range ok {
		if ok[k] == 0 || bad[k] == 0 {
			t.Errorf("kind %d: %d runs succeeded, %d failed", k, ok[k], bad[k])
		}
	}
	t.Logf("runs that succeeded per kind: %v, that gave errors: %v", ok, bad)
}
