package shapes_test

import (
	"strings"
	"testing"

	"github.com/onnx-prom/onnx-prom/onnx/ir"
	"github.com/onnx-prom/onnx-prom/onnx/onnxpb"
	"github.com/onnx-prom/onnx-prom/onnx/shapes"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
	"google.golang.org/protobuf/proto"
)

// gb builds small test graphs.
type gb struct {
	opset int64
	g     *onnxpb.GraphProto
}

func newGB(opset int64) *gb { return &gb{opset: opset, g: &onnxpb.GraphProto{Name: proto.String("t")}} }

// vinfo builds a tensor value_info; dims are int (known) or string (symbolic).
func vinfo(name string, dt tensor.DataType, dims ...any) *onnxpb.ValueInfoProto {
	sh := &onnxpb.TensorShapeProto{}
	for _, d := range dims {
		switch d := d.(type) {
		case int:
			sh.Dim = append(sh.Dim, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: int64(d)}})
		case string:
			sh.Dim = append(sh.Dim, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: d}})
		}
	}
	return &onnxpb.ValueInfoProto{Name: proto.String(name), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{
		TensorType: &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(dt)), Shape: sh}}}}
}

func (b *gb) input(name string, dt tensor.DataType, dims ...any) *gb {
	b.g.Input = append(b.g.Input, vinfo(name, dt, dims...))
	return b
}

// weight adds a zero FLOAT initializer.
func (b *gb) weight(name string, dims ...int64) *gb {
	n, _ := tensor.NumElements(dims)
	tp, _ := tensor.ToProto(&tensor.Tensor{Type: tensor.Float, Shape: dims, Data: make([]float32, n)}, name)
	b.g.Initializer = append(b.g.Initializer, tp)
	return b
}

func (b *gb) ints(name string, vals ...int64) *gb {
	tp, _ := tensor.ToProto(&tensor.Tensor{Type: tensor.Int64, Shape: []int64{int64(len(vals))}, Data: vals}, name)
	b.g.Initializer = append(b.g.Initializer, tp)
	return b
}

func (b *gb) floats(name string, vals ...float32) *gb {
	tp, _ := tensor.ToProto(&tensor.Tensor{Type: tensor.Float, Shape: []int64{int64(len(vals))}, Data: vals}, name)
	b.g.Initializer = append(b.g.Initializer, tp)
	return b
}

func (b *gb) scalar(name string, dt tensor.DataType, v float64) *gb {
	t, _ := tensor.New(dt)
	switch d := t.Data.(type) {
	case []float32:
		d[0] = float32(v)
	case []int8:
		d[0] = int8(v)
	case []uint8:
		d[0] = uint8(v)
	case []int32:
		d[0] = int32(v)
	}
	tp, _ := tensor.ToProto(t, name)
	b.g.Initializer = append(b.g.Initializer, tp)
	return b
}

func (b *gb) node(op, name string, in, out []string, attrs ...*onnxpb.AttributeProto) *gb {
	b.g.Node = append(b.g.Node, &onnxpb.NodeProto{OpType: proto.String(op), Name: proto.String(name), Input: in, Output: out, Attribute: attrs})
	return b
}

func (b *gb) output(name string) *gb {
	b.g.Output = append(b.g.Output, &onnxpb.ValueInfoProto{Name: proto.String(name)})
	return b
}

func (b *gb) model(t *testing.T) *ir.Model {
	t.Helper()
	mp := &onnxpb.ModelProto{IrVersion: proto.Int64(8), Graph: b.g,
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(b.opset)}}}
	m, err := ir.FromProto(mp)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func (b *gb) infer(t *testing.T) *ir.Model {
	t.Helper()
	m := b.model(t)
	if err := shapes.Infer(m); err != nil {
		t.Fatal(err)
	}
	return m
}

func (b *gb) inferErr(t *testing.T, want ...string) {
	t.Helper()
	err := shapes.Infer(b.model(t))
	if err == nil {
		t.Fatalf("no error, want one containing %q", want)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
}

// want checks value name's type and shape, written "N,3,224,224" ("?" for
// unknown dims, "" for a scalar, "-" for unknown rank).
func want(t *testing.T, m *ir.Model, name string, dt tensor.DataType, shape string) {
	t.Helper()
	v := m.Graph.Value(name)
	if v == nil {
		t.Fatalf("no value %q", name)
	}
	got := strings.Trim(v.Shape.String(), "[]")
	if v.Shape == nil {
		got = "-"
	}
	if got != shape || v.Type != dt {
		t.Errorf("%s: got %s [%s], want %s [%s]", name, tensor.Name(v.Type), got, tensor.Name(dt), shape)
	}
}

var (
	ia  = ir.IntAttr
	isa = ir.IntsAttr
	sa  = ir.StringAttr
	fa  = ir.FloatAttr
)

const f32 = tensor.Float

func TestConvHandComputed(t *testing.T) {
	// 32 + 2*1 pad, dilated kernel 2*(3-1)+1 = 5, stride 2: (34-5)/2+1 = 15.
	m := newGB(13).input("x", f32, "N", 8, 32, 32).weight("w", 16, 4, 3, 3).weight("b", 16).
		node("Conv", "c", []string{"x", "w", "b"}, []string{"y"}, ia("group", 2), isa("strides", 2, 2), isa("pads", 1, 1, 1, 1), isa("dilations", 2, 2)).
		// SAME_UPPER stride 2: ceil(15/2) = 8.
		weight("w2", 16, 16, 3, 3).node("Conv", "same", []string{"y", "w2"}, []string{"y2"}, sa("auto_pad", "SAME_UPPER"), isa("strides", 2, 2)).
		// VALID 3x1 kernel: 8-3+1 = 6, 8-1+1 = 8.
		weight("w3", 4, 16, 3, 1).node("Conv", "valid", []string{"y2", "w3"}, []string{"y3"}, sa("auto_pad", "VALID")).
		// Asymmetric pads 0 before, 2 after, kernel 2, stride 3: (6+2-2)/3+1 = 3; (8+0-2)/3+1 = 3.
		weight("w4", 4, 4, 2, 2).node("Conv", "asym", []string{"y3", "w4"}, []string{"y4"}, isa("strides", 3, 3), isa("pads", 0, 0, 2, 0)).
		output("y4").infer(t)
	want(t, m, "y", f32, "N,16,15,15")
	want(t, m, "y2", f32, "N,16,8,8")
	want(t, m, "y3", f32, "N,4,6,8")
	want(t, m, "y4", f32, "N,4,3,3")
}

func TestConvKeepsSymbols(t *testing.T) {
	m := newGB(13).input("x", f32, "N", 32, "H", "W").
		weight("dw", 32, 1, 3, 3).node("Conv", "dw", []string{"x", "dw"}, []string{"a"}, ia("group", 32), isa("pads", 1, 1, 1, 1)).
		weight("pw", 64, 32, 1, 1).node("Conv", "pw", []string{"a", "pw"}, []string{"b"}).
		node("Conv", "same", []string{"x", "dw"}, []string{"c"}, ia("group", 32), sa("auto_pad", "SAME_LOWER")).
		node("Conv", "s2", []string{"x", "dw"}, []string{"d"}, ia("group", 32), isa("strides", 2, 2), isa("pads", 1, 1, 1, 1)).
		output("b").infer(t)
	want(t, m, "a", f32, "N,32,H,W")
	want(t, m, "b", f32, "N,64,H,W")
	want(t, m, "c", f32, "N,32,H,W")
	want(t, m, "d", f32, "N,32,?,?")
}

func TestConvErrors(t *testing.T) {
	newGB(13).input("x", f32, 1, 8, 16, 16).weight("w", 16, 3, 3, 3).
		node("Conv", "bad_channels", []string{"x", "w"}, []string{"y"}).output("y").
		inferErr(t, "bad_channels", "8 channels")
	newGB(13).input("x", f32, 1, 8, 16).weight("w", 16, 8, 3, 3).
		node("Conv", "bad_rank", []string{"x", "w"}, []string{"y"}).output("y").
		inferErr(t, "bad_rank", "rank")
	newGB(13).input("x", f32, 1, 8, 2, 2).weight("w", 16, 8, 3, 3).
		node("Conv", "too_big", []string{"x", "w"}, []string{"y"}).output("y").
		inferErr(t, "too_big", "larger than the padded input")
	newGB(13).input("x", f32, 1, 8, 8, 8).weight("w", 16, 8, 3, 3).
		node("Conv", "neg_pad", []string{"x", "w"}, []string{"y"}, isa("pads", -1, 0, 0, 0)).output("y").
		inferErr(t, "neg_pad", "pads")
	newGB(13).input("x", f32, 1, 8, 8, 8).weight("w", 16, 8, 3, 3).weight("b", 8).
		node("Conv", "bad_bias", []string{"x", "w", "b"}, []string{"y"}).output("y").
		inferErr(t, "bad_bias", "bias")
	newGB(13).input("x", f32, 1, 8, 8, 8).weight("w", 15, 4, 3, 3).
		node("Conv", "bad_group", []string{"x", "w"}, []string{"y"}, ia("group", 2)).output("y").
		inferErr(t, "bad_group", "group")
}

func TestConvTranspose(t *testing.T) {
	// stride 2, pads 1, output_padding 1: 2*(7-1) + 1 + 3 - 2 = 14.
	m := newGB(13).input("x", f32, "N", 8, 7, 7).weight("w", 8, 4, 3, 3).
		node("ConvTranspose", "ct", []string{"x", "w"}, []string{"y"}, ia("group", 2), isa("strides", 2, 2), isa("pads", 1, 1, 1, 1), isa("output_padding", 1, 1)).
		node("ConvTranspose", "ct2", []string{"x", "w"}, []string{"y2"}, isa("strides", 2, 2), sa("auto_pad", "SAME_UPPER")).
		node("ConvTranspose", "ct3", []string{"x", "w"}, []string{"y3"}, isa("output_shape", 15, 16)).
		output("y").infer(t)
	want(t, m, "y", f32, "N,8,14,14")
	want(t, m, "y2", f32, "N,4,14,14")
	want(t, m, "y3", f32, "N,4,15,16")
}

func TestPools(t *testing.T) {
	m := newGB(13).input("x", f32, "N", 4, 5, 6).
		// ceil_mode, k2 s2 pad 1: height 5 -> ceil(5/2)+1 = 4, but the last
		// window would start in the right padding (3*2 >= 5+1): 3. Width 6 ->
		// ceil(6/2)+1 = 4, 3*2 < 6+1: 4 (PyTorch and ONNX Runtime agree).
		node("MaxPool", "ceil", []string{"x"}, []string{"a", "ai"}, isa("kernel_shape", 2, 2), isa("strides", 2, 2), isa("pads", 1, 1, 1, 1), ia("ceil_mode", 1)).
		// floor mode: (5+2-2)/2+1 = 3, (6+2-2)/2+1 = 4.
		node("MaxPool", "floor", []string{"x"}, []string{"b"}, isa("kernel_shape", 2, 2), isa("strides", 2, 2), isa("pads", 1, 1, 1, 1)).
		// dilation 2, kernel 2 (effective 3), stride 1: 5-3+1 = 3, 6-3+1 = 4.
		node("MaxPool", "dil", []string{"x"}, []string{"c"}, isa("kernel_shape", 2, 2), isa("dilations", 2, 2)).
		// AveragePool SAME_UPPER stride 2: ceil(5/2) = 3, 3.
		node("AveragePool", "avg", []string{"x"}, []string{"d"}, isa("kernel_shape", 3, 3), isa("strides", 2, 2), sa("auto_pad", "SAME_UPPER")).
		node("GlobalAveragePool", "gap", []string{"x"}, []string{"e"}).
		node("GlobalMaxPool", "gmp", []string{"x"}, []string{"f"}).
		output("a").infer(t)
	want(t, m, "a", f32, "N,4,3,4")
	want(t, m, "ai", tensor.Int64, "N,4,3,4")
	want(t, m, "b", f32, "N,4,3,4")
	want(t, m, "c", f32, "N,4,3,4")
	want(t, m, "d", f32, "N,4,3,3")
	want(t, m, "e", f32, "N,4,1,1")
	want(t, m, "f", f32, "N,4,1,1")
}

func TestBroadcast(t *testing.T) {
	m := newGB(13).input("a", f32, "N", 3, 1, 5).input("b", f32, 1, 4, 1).input("c", f32, "N", 3, 4, 5).
		input("s", f32).input("m", f32, "M", 1).input("u", f32, -1).
		node("Add", "", []string{"a", "b"}, []string{"ab"}).
		node("Mul", "", []string{"a", "c"}, []string{"ac"}).
		node("Sub", "", []string{"c", "s"}, []string{"cs"}).
		node("Div", "", []string{"a", "m"}, []string{"am"}).
		node("Max", "", []string{"a", "b", "c"}, []string{"abc"}).
		node("Pow", "", []string{"a", "s"}, []string{"p"}).
		node("Min", "", []string{"c", "c"}, []string{"cc"}).
		node("Equal", "", []string{"a", "c"}, []string{"eq"}).
		output("ab").infer(t)
	want(t, m, "ab", f32, "N,3,4,5")
	want(t, m, "ac", f32, "N,3,4,5")
	want(t, m, "cs", f32, "N,3,4,5")
	want(t, m, "am", f32, "N,3,M,5")
	want(t, m, "abc", f32, "N,3,4,5")
	want(t, m, "p", f32, "N,3,1,5")
	want(t, m, "cc", f32, "N,3,4,5")
	want(t, m, "eq", tensor.Bool, "N,3,4,5")

	newGB(13).input("a", f32, 3, 4).input("b", f32, 5, 4).
		node("Add", "bad_add", []string{"a", "b"}, []string{"y"}).output("y").inferErr(t, "bad_add", "broadcast")
}

func TestUnaryAndActivations(t *testing.T) {
	m := newGB(13).input("x", f32, "N", 16, 7, 7).scalar("lo", f32, 0).scalar("hi", f32, 6).
		weight("g", 16).weight("bb", 16).weight("mu", 16).weight("var", 16).
		node("BatchNormalization", "bn", []string{"x", "g", "bb", "mu", "var"}, []string{"a"}).
		node("Relu", "", []string{"a"}, []string{"b"}).
		node("Clip", "", []string{"b", "lo", "hi"}, []string{"c"}).
		node("Clip", "", []string{"c", "", "hi"}, []string{"c2"}).
		node("HardSwish", "", []string{"c2"}, []string{"d"}).
		node("HardSigmoid", "", []string{"d"}, []string{"e"}).
		node("LeakyRelu", "", []string{"e"}, []string{"f"}).
		node("Sigmoid", "", []string{"f"}, []string{"g2"}).
		node("Tanh", "", []string{"g2"}, []string{"h"}).
		node("Softmax", "", []string{"h"}, []string{"i"}, ia("axis", 1)).
		node("Dropout", "", []string{"i"}, []string{"j", "jm"}).
		node("Identity", "", []string{"j"}, []string{"k"}).
		node("FancyUnknownOp", "", []string{"k"}, []string{"z"}).
		node("Relu", "", []string{"z"}, []string{"z2"}).
		output("z2").infer(t)
	for _, v := range []string{"a", "b", "c", "c2", "d", "e", "f", "g2", "h", "i", "j", "k"} {
		want(t, m, v, f32, "N,16,7,7")
	}
	want(t, m, "jm", tensor.Bool, "N,16,7,7")
	want(t, m, "z", tensor.Undefined, "-")
	want(t, m, "z2", tensor.Undefined, "-")

	// Clip's attribute form (opset 6).
	m = newGB(6).input("x", f32, 2, 3).node("Clip", "", []string{"x"}, []string{"y"}, fa("min", 0), fa("max", 6)).output("y").infer(t)
	want(t, m, "y", f32, "2,3")

	newGB(13).input("x", f32, "N", 16, 7, 7).weight("g", 8).weight("bb", 16).weight("mu", 16).weight("var", 16).
		node("BatchNormalization", "bad_bn", []string{"x", "g", "bb", "mu", "var"}, []string{"a"}).output("a").
		inferErr(t, "bad_bn", "scale")
}

func TestReshapePatterns(t *testing.T) {
	m := newGB(13).input("x", f32, "N", 256, 7, 7).
		// Reshape(x, Concat(Gather(Shape(x), 0) unsqueezed, [-1])): torch.flatten(x, 1) as exported.
		node("Shape", "", []string{"x"}, []string{"sh"}).
		ints("zero", 0).node("Gather", "", []string{"sh", "zero"}, []string{"n"}, ia("axis", 0)).
		ints("minus1", -1).node("Concat", "", []string{"n", "minus1"}, []string{"target"}, ia("axis", 0)).
		node("Reshape", "r1", []string{"x", "target"}, []string{"y1"}).
		// Scalar Gather, then Unsqueeze with an axes input (opset 13).
		node("Constant", "", nil, []string{"zs"}, ir.TensorAttr("value", must(tensor.ToProto(&tensor.Tensor{Type: tensor.Int64, Shape: []int64{}, Data: []int64{0}}, "")))).
		node("Gather", "", []string{"sh", "zs"}, []string{"ns"}).
		node("Unsqueeze", "", []string{"ns", "zero"}, []string{"nu"}).
		ints("c12544", 12544).node("Concat", "", []string{"nu", "c12544"}, []string{"target2"}, ia("axis", 0)).
		node("Reshape", "r2", []string{"x", "target2"}, []string{"y2"}).
		// [0, -1] and [-1, 12544].
		ints("zm", 0, -1).node("Reshape", "r3", []string{"x", "zm"}, []string{"y3"}).
		ints("m12544", -1, 12544).node("Reshape", "r4", []string{"x", "m12544"}, []string{"y4"}).
		// Shape slices: Slice(Shape(x), 2, 4) = [7, 7]; Concat(N, 256*49).
		ints("two", 2).ints("four", 4).node("Slice", "", []string{"sh", "two", "four"}, []string{"hw"}).
		node("ReduceProd", "", []string{"hw"}, []string{"hwp"}, ia("keepdims", 1)).
		node("Reshape", "r5", []string{"x", "target"}, []string{"y5"}).
		// -1 with a different total: [N*256*49] -> [-1, 64] = N*196.
		ints("m64", -1, 64).node("Reshape", "r6", []string{"x", "m64"}, []string{"y6"}).
		// Flatten.
		node("Flatten", "", []string{"x"}, []string{"fl"}, ia("axis", 1)).
		node("Flatten", "", []string{"x"}, []string{"fl2"}, ia("axis", 2)).
		output("y1").infer(t)
	want(t, m, "sh", tensor.Int64, "4")
	want(t, m, "y1", f32, "N,12544")
	want(t, m, "y2", f32, "N,12544")
	want(t, m, "y3", f32, "N,12544")
	want(t, m, "y4", f32, "N,12544")
	want(t, m, "hw", tensor.Int64, "2")
	want(t, m, "y6", f32, "?,64")
	want(t, m, "fl", f32, "N,12544")
	want(t, m, "fl2", f32, "?,49")

	info, err := shapes.InferGraph(m.Graph)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := info.Ints(m.Graph.Value("hw")); !ok || len(v) != 2 || v[0] != 7 || v[1] != 7 {
		t.Errorf("Ints(hw) = %v, %v; want [7 7]", v, ok)
	}
	if _, ok := info.Ints(m.Graph.Value("target")); ok {
		t.Errorf("Ints(target) is known, but it holds the symbol N")
	}

	newGB(13).input("x", f32, 2, 3).ints("s", 4, 2).node("Reshape", "bad_reshape", []string{"x", "s"}, []string{"y"}).output("y").
		inferErr(t, "bad_reshape", "reshape")
	newGB(13).input("x", f32, 2, 3).ints("s", -1, -1).node("Reshape", "two_minus", []string{"x", "s"}, []string{"y"}).output("y").
		inferErr(t, "two_minus", "-1")
	newGB(13).input("x", f32, 2, 3).ints("s", 1<<62, 1<<62).node("Reshape", "huge", []string{"x", "s"}, []string{"y"}).output("y").
		inferErr(t, "huge")
	// allowzero=1: a 0 is a real 0.
	m = newGB(14).input("x", f32, 0, 3).ints("s", 3, 0).node("Reshape", "", []string{"x", "s"}, []string{"y"}, ia("allowzero", 1)).output("y").infer(t)
	want(t, m, "y", f32, "3,0")
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestGemmMatMulConcatTranspose(t *testing.T) {
	m := newGB(13).input("x", f32, "N", 1280).weight("w", 1000, 1280).weight("b", 1000).
		node("Gemm", "fc", []string{"x", "w", "b"}, []string{"y"}, ia("transB", 1)).
		input("a", f32, "B", 5, 2, 3).input("c", f32, 3, 4).input("v", f32, 4).
		node("MatMul", "", []string{"a", "c"}, []string{"ac"}).
		node("MatMul", "", []string{"ac", "v"}, []string{"acv"}).
		node("MatMul", "", []string{"v", "c2"}, []string{"vc"}).input("c2", f32, 7, 4, 6).
		node("Concat", "", []string{"a", "a"}, []string{"cat"}, ia("axis", -1)).
		node("Transpose", "", []string{"a"}, []string{"tr"}, isa("perm", 0, 2, 3, 1)).
		node("Transpose", "", []string{"a"}, []string{"tr2"}).
		output("y").infer(t)
	want(t, m, "y", f32, "N,1000")
	want(t, m, "ac", f32, "B,5,2,4")
	want(t, m, "acv", f32, "B,5,2")
	want(t, m, "vc", f32, "7,6")
	want(t, m, "cat", f32, "B,5,2,6")
	want(t, m, "tr", f32, "B,2,3,5")
	want(t, m, "tr2", f32, "3,2,5,B")

	newGB(13).input("a", f32, 2, 3).input("b", f32, 4, 5).node("MatMul", "bad_mm", []string{"a", "b"}, []string{"y"}).output("y").
		inferErr(t, "bad_mm", "inner")
	newGB(13).input("a", f32, 2, 3).input("b", f32, 4, 5).node("Gemm", "bad_gemm", []string{"a", "b"}, []string{"y"}).output("y").
		inferErr(t, "bad_gemm", "inner")
	newGB(13).input("a", f32, 2, 3).input("b", f32, 4, 5).node("Concat", "bad_cat", []string{"a", "b"}, []string{"y"}, ia("axis", 0)).output("y").
		inferErr(t, "bad_cat", "differ")
	newGB(13).input("a", f32, 2, 3).node("Transpose", "bad_perm", []string{"a"}, []string{"y"}, isa("perm", 0, 0)).output("y").
		inferErr(t, "bad_perm", "perm")
}

func TestSqueezeUnsqueezeByOpset(t *testing.T) {
	m := newGB(11).input("x", f32, "N", 1, 5, 1).
		node("Squeeze", "", []string{"x"}, []string{"a"}, isa("axes", 1, -1)).
		node("Unsqueeze", "", []string{"a"}, []string{"b"}, isa("axes", 0, 3)).
		output("b").infer(t)
	want(t, m, "a", f32, "N,5")
	want(t, m, "b", f32, "1,N,5,1")
	m = newGB(13).input("x", f32, "N", 1, 5, 1).ints("ax", 1, -1).ints("ax2", 0, 3).
		node("Squeeze", "", []string{"x", "ax"}, []string{"a"}).
		node("Unsqueeze", "", []string{"a", "ax2"}, []string{"b"}).
		node("Squeeze", "", []string{"x"}, []string{"c"}).
		output("b").infer(t)
	want(t, m, "a", f32, "N,5")
	want(t, m, "b", f32, "1,N,5,1")
	want(t, m, "c", f32, "-") // N might be 1
	newGB(13).input("x", f32, 2, 3).ints("ax", 0).node("Squeeze", "bad_sq", []string{"x", "ax"}, []string{"y"}).output("y").
		inferErr(t, "bad_sq", "squeeze")
}

func TestPadCastReduceResize(t *testing.T) {
	m := newGB(13).input("x", f32, "N", 3, 10, 10).
		ints("pads", 0, 0, 1, 2, 0, 0, 3, 4).node("Pad", "", []string{"x", "pads"}, []string{"p"}).
		node("Cast", "", []string{"x"}, []string{"c"}, ia("to", int64(tensor.Float16))).
		ints("axes", 2, 3).
		node("ReduceMean", "", []string{"x"}, []string{"rm"}, isa("axes", 2, 3)).
		node("ReduceMean", "", []string{"x"}, []string{"rm0"}, isa("axes", -1), ia("keepdims", 0)).
		node("ReduceSum", "", []string{"x", "axes"}, []string{"rs"}).
		floats("scales", 1, 1, 2, 0.5).floats("roi").
		node("Resize", "", []string{"x", "roi", "scales"}, []string{"rz"}).
		ints("sizes", 1, 3, 17, 19).
		node("Resize", "", []string{"x", "", "", "sizes"}, []string{"rz2"}).
		node("Shape", "", []string{"x"}, []string{"sh"}).
		node("Resize", "", []string{"x", "roi", "scales"}, []string{"rz3"}).
		output("p").infer(t)
	want(t, m, "p", f32, "N,3,14,16")
	want(t, m, "c", tensor.Float16, "N,3,10,10")
	want(t, m, "rm", f32, "N,3,1,1")
	want(t, m, "rm0", f32, "N,3,10")
	want(t, m, "rs", f32, "N,3,1,1")
	want(t, m, "rz", f32, "N,3,20,5")
	want(t, m, "rz2", f32, "1,3,17,19")
	// Upsample by 2 computed from Shape: sizes = Shape(x)[2:] * 2.
	m = newGB(13).input("x", f32, "N", 3, 10, 12).
		node("Shape", "", []string{"x"}, []string{"sh"}).
		ints("two", 2).ints("four", 4).ints("zero", 0).node("Slice", "", []string{"sh", "two", "four"}, []string{"hw"}).
		node("Slice", "", []string{"sh", "zero", "two"}, []string{"nc"}).
		node("Mul", "", []string{"hw", "two"}, []string{"hw2"}).
		node("Concat", "", []string{"nc", "hw2"}, []string{"sizes"}, ia("axis", 0)).
		node("Resize", "", []string{"x", "", "", "sizes"}, []string{"up"}).
		output("up").infer(t)
	want(t, m, "up", f32, "N,3,20,24")

	newGB(13).input("x", f32, 1, 3, 4, 4).ints("pads", 0, 0, -3, 0, 0, 0, -2, 0).
		node("Pad", "bad_pad", []string{"x", "pads"}, []string{"y"}).output("y").inferErr(t, "bad_pad", "negative")
}

func TestQuantizedOps(t *testing.T) {
	m := newGB(13).input("x", f32, "N", 8, 6, 6).
		scalar("xs", f32, 0.1).scalar("xz", tensor.Int8, 0).scalar("uz", tensor.Uint8, 128).
		node("QuantizeLinear", "", []string{"x", "xs", "xz"}, []string{"q"}).
		node("QuantizeLinear", "", []string{"x", "xs"}, []string{"qu"}).
		node("DequantizeLinear", "", []string{"q", "xs", "xz"}, []string{"dq"}).
		weight("ws", 16).
		node("QLinearConv", "qc", []string{"q", "xs", "xz", "wq", "ws", "xz", "xs", "uz"}, []string{"qy"}, isa("pads", 1, 1, 1, 1)).
		input("wq", tensor.Int8, 16, 8, 3, 3).
		node("ConvInteger", "", []string{"q", "wq"}, []string{"ci"}).
		input("a", tensor.Uint8, "N", 4).input("b", tensor.Int8, 4, 10).
		node("QLinearMatMul", "", []string{"a", "xs", "uz", "b", "xs", "xz", "xs", "xz"}, []string{"qm"}).
		node("MatMulInteger", "", []string{"a", "b"}, []string{"mi"}).
		output("qy").infer(t)
	want(t, m, "q", tensor.Int8, "N,8,6,6")
	want(t, m, "qu", tensor.Uint8, "N,8,6,6")
	want(t, m, "dq", f32, "N,8,6,6")
	want(t, m, "qy", tensor.Uint8, "N,16,6,6")
	want(t, m, "ci", tensor.Int32, "N,16,4,4")
	want(t, m, "qm", tensor.Int8, "N,10")
	want(t, m, "mi", tensor.Int32, "N,10")
}

func TestShapeConstantFolding(t *testing.T) {
	m := newGB(15).input("x", f32, "N", 3, 8, 8).
		node("Shape", "", []string{"x"}, []string{"tail"}, ia("start", -2)).
		node("Cast", "", []string{"tail"}, []string{"tailf"}, ia("to", int64(tensor.Float))).
		node("ConstantOfShape", "", []string{"tail"}, []string{"z"}).
		ints("one", 1).node("Sub", "", []string{"tail", "one"}, []string{"tm1"}).
		node("ConstantOfShape", "", []string{"tm1"}, []string{"z2"}).
		output("z").infer(t)
	want(t, m, "tail", tensor.Int64, "2")
	want(t, m, "z", f32, "8,8")
	want(t, m, "z2", f32, "7,7")
	info, _ := shapes.InferGraph(m.Graph)
	if tt := info.Tensor(m.Graph.Value("tm1")); tt == nil || tt.Len() != 2 {
		t.Errorf("Tensor(tm1) = %v, want [7 7]", tt)
	} else if v, _ := tt.Int64s(); v[0] != 7 || v[1] != 7 {
		t.Errorf("Tensor(tm1) = %v, want [7 7]", v)
	}
}

func TestDeclaredConflict(t *testing.T) {
	b := newGB(13).input("x", f32, 1, 3).node("Relu", "r", []string{"x"}, []string{"y"}).node("Relu", "", []string{"y"}, []string{"z"}).output("z")
	b.g.ValueInfo = append(b.g.ValueInfo, vinfo("y", f32, 1, 4))
	b.inferErr(t, "r", "declared")
	// A declared symbolic or unknown dimension is refined; a declared size
	// fills in an unknown one.
	b = newGB(13).input("x", f32, "N", -1).node("Relu", "r", []string{"x"}, []string{"y"}).node("Relu", "", []string{"y"}, []string{"z"}).output("z")
	b.g.ValueInfo = append(b.g.ValueInfo, vinfo("y", f32, "batch", 4))
	m := b.infer(t)
	want(t, m, "y", f32, "N,4")
}

func TestHostileShapes(t *testing.T) {
	// Kernel shape attribute disagreeing with the weight.
	newGB(13).input("x", f32, 1, 3, 8, 8).weight("w", 4, 3, 3, 3).
		node("Conv", "ks", []string{"x", "w"}, []string{"y"}, isa("kernel_shape", 5, 5)).output("y").inferErr(t, "ks", "kernel_shape")
	// Zero stride.
	newGB(13).input("x", f32, 1, 3, 8, 8).weight("w", 4, 3, 3, 3).
		node("Conv", "st", []string{"x", "w"}, []string{"y"}, isa("strides", 0, 1)).output("y").inferErr(t, "st", "strides")
	// Overflowing tile.
	newGB(13).input("x", f32, 1<<40, 2).ints("r", 1<<40, 1).
		node("Tile", "tile", []string{"x", "r"}, []string{"y"}).output("y").inferErr(t, "tile", "overflow")
	// Constant without a value.
	newGB(13).node("Constant", "c", nil, []string{"y"}).output("y").inferErr(t, "c", "Constant")
	// Gather index out of range during constant propagation.
	newGB(13).input("x", f32, 2, 3).node("Shape", "", []string{"x"}, []string{"s"}).ints("i", 5).
		node("Gather", "g", []string{"s", "i"}, []string{"y"}).output("y").inferErr(t, "g", "out of range")
	// A negative declared dimension in a Constant tensor.
	tp := &onnxpb.TensorProto{Dims: []int64{-2}, DataType: proto.Int32(int32(tensor.Float))}
	newGB(13).node("Constant", "neg", nil, []string{"y"}, ir.TensorAttr("value", tp)).output("y").inferErr(t, "neg", "negative")
}
