package interp

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/onnx-prom/onnx-prom/onnx/ir"
	"github.com/onnx-prom/onnx-prom/onnx/onnxpb"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
	"github.com/onnx-prom/onnx-prom/testdata/models"
	"github.com/onnx-prom/onnx-prom/verify/ort"
	"github.com/x448/float16"
	"google.golang.org/protobuf/proto"
)

// Tests of the convolution, matrix product, pooling, normalization and
// resize kernels: hand-computed cases, agreement with naive direct
// implementations written here on random shapes (covering the depthwise,
// pointwise and im2col paths), and errors for malformed nodes.

// hvIn is one input of a test node.
type hvIn struct {
	t *tensor.Tensor
	// konst makes the input an initializer (so the builder sees it).
	konst bool
	// shape, when set, is the declared shape of a graph input (dims < 0
	// are symbolic); nil declares no shape.
	shape []int64
}

// hvNode is a one-node model.
type hvNode struct {
	op      string
	opset   int64
	attrs   []*onnxpb.AttributeProto
	inputs  []hvIn // nil t: omitted optional input
	outputs int
	threads int
}

const hvNodeName = "heavy_node"

func hvBuild(nd hvNode) (*ir.Model, map[string]*tensor.Tensor, error) {
	mp, feeds, err := hvProto(nd)
	if err != nil {
		return nil, nil, err
	}
	m, err := ir.FromProto(mp)
	return m, feeds, err
}

// hvProto builds the one-node model as a proto, with its feeds.
func hvProto(nd hvNode) (*onnxpb.ModelProto, map[string]*tensor.Tensor, error) {
	if nd.outputs == 0 {
		nd.outputs = 1
	}
	if nd.opset == 0 {
		nd.opset = 21
	}
	node := &onnxpb.NodeProto{Name: proto.String(hvNodeName), OpType: proto.String(nd.op), Attribute: nd.attrs}
	g := &onnxpb.GraphProto{Name: proto.String("g")}
	feeds := map[string]*tensor.Tensor{}
	for i, in := range nd.inputs {
		if in.t == nil {
			node.Input = append(node.Input, "")
			continue
		}
		name := fmt.Sprintf("in%d", i)
		node.Input = append(node.Input, name)
		if in.konst {
			tp, err := tensor.ToProto(in.t, name)
			if err != nil {
				return nil, nil, err
			}
			g.Initializer = append(g.Initializer, tp)
			continue
		}
		tt := &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(in.t.Type))}
		if in.shape != nil {
			tt.Shape = &onnxpb.TensorShapeProto{}
			for _, d := range in.shape {
				dim := &onnxpb.TensorShapeProto_Dimension{}
				if d >= 0 {
					dim.Value = &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d}
				} else {
					dim.Value = &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: "N"}
				}
				tt.Shape.Dim = append(tt.Shape.Dim, dim)
			}
		}
		g.Input = append(g.Input, &onnxpb.ValueInfoProto{Name: proto.String(name),
			Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: tt}}})
		feeds[name] = in.t
	}
	for i := 0; i < nd.outputs; i++ {
		name := fmt.Sprintf("out%d", i)
		node.Output = append(node.Output, name)
		g.Output = append(g.Output, &onnxpb.ValueInfoProto{Name: proto.String(name)})
	}
	g.Node = []*onnxpb.NodeProto{node}
	mp := &onnxpb.ModelProto{
		IrVersion:   proto.Int64(10),
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(nd.opset)}},
		Graph:       g,
	}
	return mp, feeds, nil
}

// hvRun compiles and runs the node; it returns the outputs or the first
// error.
func hvRun(t testing.TB, nd hvNode) ([]*tensor.Tensor, error) {
	t.Helper()
	m, feeds, err := hvBuild(nd)
	if err != nil {
		t.Fatalf("building the model: %v", err)
	}
	threads := nd.threads
	if threads == 0 {
		threads = 2
	}
	prog, err := Compile(m, Options{Threads: threads})
	if err != nil {
		return nil, err
	}
	res, err := prog.Run(feeds)
	if err != nil {
		return nil, err
	}
	outs := make([]*tensor.Tensor, len(prog.Outputs()))
	for i := range outs {
		outs[i] = res[fmt.Sprintf("out%d", i)]
	}
	return outs, nil
}

func hvOne(t testing.TB, nd hvNode) *tensor.Tensor {
	t.Helper()
	outs, err := hvRun(t, nd)
	if err != nil {
		t.Fatalf("%s: %v", nd.op, err)
	}
	return outs[0]
}

func f32(shape []int64, v ...float32) *tensor.Tensor { return tensor.FromFloat32(v, shape...) }

func seq(shape []int64, from float32) *tensor.Tensor {
	n, _ := tensor.NumElements(shape)
	v := make([]float32, n)
	for i := range v {
		v[i] = from + float32(i)
	}
	return tensor.FromFloat32(v, shape...)
}

func randT(r *rand.Rand, shape ...int64) *tensor.Tensor {
	n, _ := tensor.NumElements(shape)
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return tensor.FromFloat32(v, shape...)
}

func ints(name string, v ...int64) *onnxpb.AttributeProto { return ir.IntsAttr(name, v...) }
func intA(name string, v int64) *onnxpb.AttributeProto    { return ir.IntAttr(name, v) }
func strA(name, v string) *onnxpb.AttributeProto          { return ir.StringAttr(name, v) }
func fltA(name string, v float32) *onnxpb.AttributeProto  { return ir.FloatAttr(name, v) }

// hvCheck compares got with the shape and values of want (float64
// reference) within tol relative to the largest |want|.
func hvCheck(t testing.TB, what string, got *tensor.Tensor, shape []int64, want []float64, tol float64) {
	t.Helper()
	if err := hvDiff(got, shape, want, tol); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// hvDiff is hvCheck returning the mismatch as an error.
func hvDiff(got *tensor.Tensor, shape []int64, want []float64, tol float64) error {
	if got == nil {
		return fmt.Errorf("no output")
	}
	if fmt.Sprint(got.Shape) != fmt.Sprint(shape) {
		return fmt.Errorf("shape %v, want %v", got.Shape, shape)
	}
	g, err := got.Float64s()
	if err != nil {
		return err
	}
	if len(g) != len(want) {
		return fmt.Errorf("%d values, want %d", len(g), len(want))
	}
	scale := 1.0
	for _, w := range want {
		scale = math.Max(scale, math.Abs(w))
	}
	for i := range want {
		if d := math.Abs(g[i] - want[i]); !(d <= tol*scale) {
			return fmt.Errorf("element %d = %v, want %v", i, g[i], want[i])
		}
	}
	return nil
}

func f64s(v ...float64) []float64 { return v }

// ---- hand-computed cases ----

func TestConvHandComputed(t *testing.T) {
	type tc struct {
		name  string
		x, w  *tensor.Tensor
		b     *tensor.Tensor
		attrs []*onnxpb.AttributeProto
		shape []int64
		want  []float64
	}
	ones := func(shape ...int64) *tensor.Tensor {
		n, _ := tensor.NumElements(shape)
		v := make([]float32, n)
		for i := range v {
			v[i] = 1
		}
		return tensor.FromFloat32(v, shape...)
	}
	cases := []tc{
		{"asymmetric pads", seq([]int64{1, 1, 3, 3}, 1), ones(1, 1, 2, 2), nil,
			[]*onnxpb.AttributeProto{ints("pads", 1, 0, 0, 1)},
			[]int64{1, 1, 3, 3}, f64s(3, 5, 3, 12, 16, 9, 24, 28, 15)},
		{"dilation and stride", seq([]int64{1, 1, 5, 5}, 0), f32([]int64{1, 1, 2, 2}, 1, 2, 3, 4), nil,
			[]*onnxpb.AttributeProto{ints("dilations", 2, 2), ints("strides", 2, 2)},
			[]int64{1, 1, 2, 2}, f64s(82, 102, 182, 202)},
		{"group conv with bias", f32([]int64{1, 4, 1, 1}, 1, 2, 3, 4), f32([]int64{2, 2, 1, 1}, 1, 10, 100, 1000),
			f32([]int64{2}, 0.5, -0.5), []*onnxpb.AttributeProto{intA("group", 2)},
			[]int64{1, 2, 1, 1}, f64s(21.5, 4299.5)},
		{"depthwise multiplier 2", f32([]int64{1, 2, 1, 2}, 1, 2, 3, 4), f32([]int64{4, 1, 1, 1}, 1, 2, 3, 4), nil,
			[]*onnxpb.AttributeProto{intA("group", 2)},
			[]int64{1, 4, 1, 2}, f64s(1, 2, 2, 4, 9, 12, 12, 16)},
		{"1d same_lower", f32([]int64{1, 1, 4}, 1, 2, 3, 4), f32([]int64{1, 1, 2}, 1, 1), nil,
			[]*onnxpb.AttributeProto{strA("auto_pad", "SAME_LOWER")}, []int64{1, 1, 4}, f64s(1, 3, 5, 7)},
		{"1d same_upper", f32([]int64{1, 1, 4}, 1, 2, 3, 4), f32([]int64{1, 1, 2}, 1, 1), nil,
			[]*onnxpb.AttributeProto{strA("auto_pad", "SAME_UPPER")}, []int64{1, 1, 4}, f64s(3, 5, 7, 4)},
		{"2d same_lower stride 2", seq([]int64{1, 1, 3, 3}, 1), ones(1, 1, 2, 2), nil,
			[]*onnxpb.AttributeProto{strA("auto_pad", "SAME_LOWER"), ints("strides", 2, 2)},
			[]int64{1, 1, 2, 2}, f64s(1, 5, 11, 28)},
		{"2d same_upper stride 2", seq([]int64{1, 1, 3, 3}, 1), ones(1, 1, 2, 2), nil,
			[]*onnxpb.AttributeProto{strA("auto_pad", "SAME_UPPER"), ints("strides", 2, 2)},
			[]int64{1, 1, 2, 2}, f64s(12, 9, 15, 9)},
		{"valid", seq([]int64{1, 1, 3, 4}, 1), ones(1, 1, 2, 2), nil,
			[]*onnxpb.AttributeProto{strA("auto_pad", "VALID"), ints("pads", 5, 5, 5, 5)},
			[]int64{1, 1, 2, 3}, f64s(14, 18, 22, 30, 34, 38)},
		{"3d", seq([]int64{1, 1, 2, 2, 2}, 1), ones(1, 1, 2, 2, 2), nil, nil, []int64{1, 1, 1, 1, 1}, f64s(36)},
		{"3d padded depthwise", seq([]int64{1, 2, 1, 1, 2}, 1), ones(2, 1, 1, 1, 2), nil,
			[]*onnxpb.AttributeProto{intA("group", 2), ints("pads", 0, 0, 1, 0, 0, 0)},
			[]int64{1, 2, 1, 1, 2}, f64s(1, 3, 3, 7)},
	}
	for _, c := range cases {
		for _, konst := range []bool{false, true} {
			ins := []hvIn{{t: c.x}, {t: c.w, konst: konst}}
			if c.b != nil {
				ins = append(ins, hvIn{t: c.b, konst: konst})
			}
			for _, th := range []int{1, 3} {
				got := hvOne(t, hvNode{op: "Conv", attrs: c.attrs, inputs: ins, threads: th})
				hvCheck(t, fmt.Sprintf("%s (const %v, threads %d)", c.name, konst, th), got, c.shape, c.want, 1e-6)
			}
		}
	}
}

func TestPoolHandComputed(t *testing.T) {
	x16 := seq([]int64{1, 1, 4, 4}, 1)
	x9 := seq([]int64{1, 1, 3, 3}, 1)
	cases := []struct {
		name  string
		op    string
		x     *tensor.Tensor
		attrs []*onnxpb.AttributeProto
		shape []int64
		want  []float64
	}{
		{"max ceil_mode", "MaxPool", x16, []*onnxpb.AttributeProto{ints("kernel_shape", 3, 3), ints("strides", 2, 2), intA("ceil_mode", 1)},
			[]int64{1, 1, 2, 2}, f64s(11, 12, 15, 16)},
		{"max floor", "MaxPool", x16, []*onnxpb.AttributeProto{ints("kernel_shape", 3, 3), ints("strides", 2, 2)},
			[]int64{1, 1, 1, 1}, f64s(11)},
		// ceil would give 4 windows; the last would start in the trailing pad.
		{"max ceil_mode last window dropped", "MaxPool", seq([]int64{1, 1, 5}, 1),
			[]*onnxpb.AttributeProto{ints("kernel_shape", 2), ints("strides", 2), ints("pads", 1, 1), intA("ceil_mode", 1)},
			[]int64{1, 1, 3}, f64s(1, 3, 5)},
		{"max dilation", "MaxPool", x16, []*onnxpb.AttributeProto{ints("kernel_shape", 2, 2), ints("dilations", 2, 2)},
			[]int64{1, 1, 2, 2}, f64s(11, 12, 15, 16)},
		{"avg count_include_pad", "AveragePool", x9, []*onnxpb.AttributeProto{ints("kernel_shape", 2, 2), ints("strides", 2, 2),
			ints("pads", 1, 1, 1, 1), intA("count_include_pad", 1)}, []int64{1, 1, 2, 2}, f64s(0.25, 1.25, 2.75, 7)},
		{"avg exclude pad", "AveragePool", x9, []*onnxpb.AttributeProto{ints("kernel_shape", 2, 2), ints("strides", 2, 2),
			ints("pads", 1, 1, 1, 1)}, []int64{1, 1, 2, 2}, f64s(1, 2.5, 5.5, 7)},
		// The last window (5..7) covers one input, one pad and one position
		// past the pad: 2 positions count with count_include_pad.
		{"avg ceil_mode count_include_pad", "AveragePool", seq([]int64{1, 1, 6}, 1), []*onnxpb.AttributeProto{ints("kernel_shape", 3),
			ints("strides", 2), ints("pads", 1, 1), intA("ceil_mode", 1), intA("count_include_pad", 1)}, []int64{1, 1, 4}, f64s(1, 3, 5, 3)},
		{"avg ceil_mode", "AveragePool", seq([]int64{1, 1, 6}, 1), []*onnxpb.AttributeProto{ints("kernel_shape", 3),
			ints("strides", 2), ints("pads", 1, 1), intA("ceil_mode", 1)}, []int64{1, 1, 4}, f64s(1.5, 3, 5, 6)},
		{"avg same_lower", "AveragePool", x9, []*onnxpb.AttributeProto{ints("kernel_shape", 2, 2), strA("auto_pad", "SAME_LOWER")},
			[]int64{1, 1, 3, 3}, f64s(1, 1.5, 2.5, 2.5, 3, 4, 5.5, 6, 7)},
		{"lp p=2", "LpPool", f32([]int64{1, 1, 4}, 3, 4, 0, 1), []*onnxpb.AttributeProto{ints("kernel_shape", 2), ints("strides", 2)},
			[]int64{1, 1, 2}, f64s(5, 1)},
		{"global average", "GlobalAveragePool", x9, nil, []int64{1, 1, 1, 1}, f64s(5)},
		{"global max", "GlobalMaxPool", x9, nil, []int64{1, 1, 1, 1}, f64s(9)},
	}
	for _, c := range cases {
		got := hvOne(t, hvNode{op: c.op, attrs: c.attrs, inputs: []hvIn{{t: c.x}}})
		hvCheck(t, c.name, got, c.shape, c.want, 1e-6)
	}
}

func TestMaxPoolIndices(t *testing.T) {
	x := f32([]int64{1, 2, 2, 2}, 1, 4, 3, 2, 5, 6, 8, 7)
	for _, tc := range []struct {
		order int64
		want  []int64
	}{{0, []int64{1, 6}}, {1, []int64{2, 5}}} {
		outs, err := hvRun(t, hvNode{op: "MaxPool", outputs: 2, inputs: []hvIn{{t: x}},
			attrs: []*onnxpb.AttributeProto{ints("kernel_shape", 2, 2), intA("storage_order", tc.order)}})
		if err != nil {
			t.Fatal(err)
		}
		hvCheck(t, "values", outs[0], []int64{1, 2, 1, 1}, f64s(4, 8), 0)
		if got := outs[1].Data.([]int64); fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("storage_order %d: indices %v, want %v", tc.order, got, tc.want)
		}
	}
}

func TestResizeHandComputed(t *testing.T) {
	x := f32([]int64{1, 1, 1, 4}, 1, 2, 3, 4)
	cases := []struct {
		name  string
		opset int64
		attrs []*onnxpb.AttributeProto
		scale []float32
		sizes []int64
		shape []int64
		want  []float64
	}{
		// Antialiased linear downsampling by 2: 4 taps with weights
		// 1/8, 3/8, 3/8, 1/8 around x_original = 0.5 and 2.5.
		{"linear antialias", 18, []*onnxpb.AttributeProto{strA("mode", "linear"), intA("antialias", 1)},
			[]float32{1, 1, 1, 0.5}, nil, []int64{1, 1, 1, 2}, f64s(1.625, 3.375)},
		{"linear half_pixel up", 13, []*onnxpb.AttributeProto{strA("mode", "linear")},
			[]float32{1, 1, 1, 2}, nil, []int64{1, 1, 1, 8}, f64s(1, 1.25, 1.75, 2.25, 2.75, 3.25, 3.75, 4)},
		{"nearest asymmetric floor", 13, []*onnxpb.AttributeProto{strA("coordinate_transformation_mode", "asymmetric"), strA("nearest_mode", "floor")},
			nil, []int64{1, 1, 1, 6}, []int64{1, 1, 1, 6}, f64s(1, 1, 2, 3, 3, 4)},
		{"axes sizes", 18, []*onnxpb.AttributeProto{ints("axes", 3), strA("mode", "linear"), strA("coordinate_transformation_mode", "align_corners")},
			nil, []int64{7}, []int64{1, 1, 1, 7}, f64s(1, 1.5, 2, 2.5, 3, 3.5, 4)},
		{"not_larger", 18, []*onnxpb.AttributeProto{ints("axes", 2, 3), strA("keep_aspect_ratio_policy", "not_larger")},
			nil, []int64{3, 2}, []int64{1, 1, 1, 2}, f64s(1, 3)},
	}
	for _, c := range cases {
		ins := []hvIn{{t: x}, {}, {}, {}}
		if c.scale != nil {
			ins[2] = hvIn{t: tensor.FromFloat32(c.scale, int64(len(c.scale)))}
		}
		if c.sizes != nil {
			ins[3] = hvIn{t: &tensor.Tensor{Type: tensor.Int64, Shape: []int64{int64(len(c.sizes))}, Data: c.sizes}}
		} else {
			ins = ins[:3]
		}
		got := hvOne(t, hvNode{op: "Resize", opset: c.opset, attrs: c.attrs, inputs: ins})
		hvCheck(t, c.name, got, c.shape, c.want, 1e-6)
	}
	// Resize-10 and Upsample: asymmetric coordinates, nearest rounds down
	// when upsampling and up when downsampling.
	got := hvOne(t, hvNode{op: "Resize", opset: 10, inputs: []hvIn{{t: x}, {t: f32([]int64{4}, 1, 1, 1, 0.5)}}})
	hvCheck(t, "resize-10 down", got, []int64{1, 1, 1, 2}, f64s(1, 3), 0)
	got = hvOne(t, hvNode{op: "Upsample", opset: 9, inputs: []hvIn{{t: x}, {t: f32([]int64{4}, 1, 1, 1, 1.5)}}})
	hvCheck(t, "upsample", got, []int64{1, 1, 1, 6}, f64s(1, 1, 2, 3, 3, 4), 0)
}

func TestNormHandComputed(t *testing.T) {
	x := f32([]int64{2, 2, 1, 2}, 1, 2, 3, 4, 5, 6, 7, 8)
	p := func(v ...float32) hvIn { return hvIn{t: f32([]int64{2}, v...), konst: true} }
	// BN with var 3 and eps 1: (x - mean)/2·scale + B.
	got := hvOne(t, hvNode{op: "BatchNormalization", opset: 15, attrs: []*onnxpb.AttributeProto{fltA("epsilon", 1)},
		inputs: []hvIn{{t: x}, p(2, 1), p(0, 10), p(1, 2), p(3, 3)}})
	hvCheck(t, "batchnorm", got, []int64{2, 2, 1, 2}, f64s(0, 1, 10.5, 11, 4, 5, 12.5, 13), 1e-6)
	// Training mode: channel 0 holds 1,2,5,6 (mean 3.5, var 4.25).
	outs, err := hvRun(t, hvNode{op: "BatchNormalization", opset: 15, outputs: 3,
		attrs:  []*onnxpb.AttributeProto{intA("training_mode", 1), fltA("momentum", 0.5), fltA("epsilon", 0)},
		inputs: []hvIn{{t: x}, p(1, 1), p(0, 0), p(1, 2), p(3, 3)}})
	if err != nil {
		t.Fatal(err)
	}
	sd := math.Sqrt(4.25)
	hvCheck(t, "bn training y", outs[0], []int64{2, 2, 1, 2},
		f64s(-2.5/sd, -1.5/sd, -2.5/sd, -1.5/sd, 1.5/sd, 2.5/sd, 1.5/sd, 2.5/sd), 1e-6)
	hvCheck(t, "bn running mean", outs[1], []int64{2}, f64s(0.5*1+0.5*3.5, 0.5*2+0.5*5.5), 1e-6)
	hvCheck(t, "bn running var", outs[2], []int64{2}, f64s(0.5*3+0.5*4.25, 0.5*3+0.5*4.25), 1e-6)
	// Opset 7 with spatial=0: one parameter per channel and position.
	q := func(v ...float32) hvIn { return hvIn{t: f32([]int64{1, 2}, v...)} }
	got = hvOne(t, hvNode{op: "BatchNormalization", opset: 7, attrs: []*onnxpb.AttributeProto{intA("spatial", 0), fltA("epsilon", 0)},
		inputs: []hvIn{{t: f32([]int64{2, 1, 2}, 1, 2, 3, 4)}, q(1, 2), q(0, 0), q(0, 1), q(1, 1)}})
	hvCheck(t, "batchnorm spatial=0", got, []int64{2, 1, 2}, f64s(1, 2, 3, 6), 1e-6)
	// LayerNormalization over the last two axes with broadcast scale.
	outs, err = hvRun(t, hvNode{op: "LayerNormalization", opset: 17, outputs: 3, attrs: []*onnxpb.AttributeProto{intA("axis", -2), fltA("epsilon", 0)},
		inputs: []hvIn{{t: f32([]int64{1, 2, 2}, 1, 3, 5, 7)}, {t: f32([]int64{2}, 1, 2)}, {t: f32([]int64{1}, 1)}}})
	if err != nil {
		t.Fatal(err)
	}
	s5 := math.Sqrt(5)
	hvCheck(t, "layernorm", outs[0], []int64{1, 2, 2}, f64s(1-3/s5, 1-2/s5, 1+1/s5, 1+6/s5), 1e-6)
	hvCheck(t, "layernorm mean", outs[1], []int64{1, 1, 1}, f64s(4), 1e-6)
	hvCheck(t, "layernorm inv std", outs[2], []int64{1, 1, 1}, f64s(1/s5), 1e-6)
}

// ---- agreement with naive implementations on random shapes ----

// naiveConvND is a direct grouped N-D convolution in float64.
func naiveConvND(x, w *tensor.Tensor, b []float32, group int, strides, dil, pads []int, out []int) []float64 {
	xs, ws := x.Shape, w.Shape
	nd := len(xs) - 2
	n, c, m := int(xs[0]), int(xs[1]), int(ws[0])
	cg, mg := c/group, m/group
	xv, wv := x.Data.([]float32), w.Data.([]float32)
	in := make([]int, nd)
	k := make([]int, nd)
	inSize, kSize, outSize := 1, 1, 1
	for i := 0; i < nd; i++ {
		in[i], k[i] = int(xs[2+i]), int(ws[2+i])
		inSize *= in[i]
		kSize *= k[i]
		outSize *= out[i]
	}
	res := make([]float64, n*m*outSize)
	oc := make([]int, nd)
	kc := make([]int, nd)
	for b0 := 0; b0 < n; b0++ {
		for o := 0; o < m; o++ {
			g := o / mg
			for j := 0; j < outSize; j++ {
				r := j
				for i := nd - 1; i >= 0; i-- {
					oc[i] = r % out[i]
					r /= out[i]
				}
				var s float64
				if b != nil {
					s = float64(b[o])
				}
				for ci := 0; ci < cg; ci++ {
					for kk := 0; kk < kSize; kk++ {
						r := kk
						for i := nd - 1; i >= 0; i-- {
							kc[i] = r % k[i]
							r /= k[i]
						}
						off, ok := 0, true
						for i := 0; i < nd; i++ {
							p := oc[i]*strides[i] - pads[i] + kc[i]*dil[i]
							if p < 0 || p >= in[i] {
								ok = false
								break
							}
							off = off*in[i] + p
						}
						if ok {
							s += float64(xv[(b0*c+g*cg+ci)*inSize+off]) * float64(wv[(o*cg+ci)*kSize+kk])
						}
					}
				}
				res[(b0*m+o)*outSize+j] = s
			}
		}
	}
	return res
}

func TestConvRandomAgainstNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	type cs struct {
		n, c, m, group int
		in, k          []int
		s, d, pb, pe   []int
	}
	cases := []cs{
		// depthwise 3x3, stride 1 and 2, narrow and wide planes
		{1, 32, 32, 32, []int{40, 40}, []int{3, 3}, []int{1, 1}, []int{1, 1}, []int{1, 1}, []int{1, 1}},
		{2, 24, 24, 24, []int{15, 17}, []int{3, 3}, []int{2, 2}, []int{1, 1}, []int{1, 1}, []int{1, 1}},
		{1, 8, 16, 8, []int{9, 5}, []int{5, 3}, []int{1, 3}, []int{2, 1}, []int{2, 0}, []int{1, 3}},
		{1, 7, 7, 7, []int{7, 7}, []int{3, 3}, []int{1, 1}, []int{1, 1}, []int{1, 1}, []int{1, 1}},
		// 1x1 (pointwise), odd sizes, grouped pointwise, 1x1 with stride
		{2, 13, 37, 1, []int{7, 9}, []int{1, 1}, []int{1, 1}, []int{1, 1}, []int{0, 0}, []int{0, 0}},
		{1, 12, 18, 3, []int{5, 5}, []int{1, 1}, []int{1, 1}, []int{1, 1}, []int{0, 0}, []int{0, 0}},
		{1, 5, 6, 1, []int{9, 9}, []int{1, 1}, []int{2, 2}, []int{1, 1}, []int{1, 0}, []int{0, 1}},
		// general im2col
		{1, 3, 32, 1, []int{33, 31}, []int{3, 3}, []int{2, 2}, []int{1, 1}, []int{1, 1}, []int{1, 1}},
		{2, 6, 10, 2, []int{11, 8}, []int{3, 2}, []int{1, 2}, []int{2, 1}, []int{0, 2}, []int{3, 0}},
		{1, 300, 7, 1, []int{4, 4}, []int{2, 2}, []int{1, 1}, []int{1, 1}, []int{0, 0}, []int{0, 0}},
		// 1-D and 3-D
		{2, 4, 5, 1, []int{20}, []int{4}, []int{3}, []int{2}, []int{2}, []int{1}},
		{1, 6, 6, 6, []int{20}, []int{3}, []int{2}, []int{1}, []int{1}, []int{1}},
		{1, 4, 6, 2, []int{5, 4, 6}, []int{2, 3, 2}, []int{1, 2, 2}, []int{2, 1, 1}, []int{1, 0, 1}, []int{0, 1, 1}},
		{1, 3, 3, 3, []int{4, 5, 6}, []int{3, 3, 3}, []int{1, 1, 1}, []int{1, 1, 1}, []int{1, 1, 1}, []int{1, 1, 1}},
	}
	for ci, c := range cases {
		nd := len(c.in)
		xs := []int64{int64(c.n), int64(c.c)}
		ws := []int64{int64(c.m), int64(c.c / c.group)}
		out := make([]int, nd)
		var pads []int64
		for i := 0; i < nd; i++ {
			xs = append(xs, int64(c.in[i]))
			ws = append(ws, int64(c.k[i]))
			out[i] = (c.in[i]+c.pb[i]+c.pe[i]-((c.k[i]-1)*c.d[i]+1))/c.s[i] + 1
			pads = append(pads, int64(c.pb[i]))
		}
		for i := 0; i < nd; i++ {
			pads = append(pads, int64(c.pe[i]))
		}
		x, w, b := randT(r, xs...), randT(r, ws...), randT(r, int64(c.m))
		want := naiveConvND(x, w, b.Data.([]float32), c.group, c.s, c.d, c.pb, out)
		shape := append([]int64{int64(c.n), int64(c.m)}, make([]int64, nd)...)
		for i := range out {
			shape[2+i] = int64(out[i])
		}
		var s, d []int64
		for i := 0; i < nd; i++ {
			s = append(s, int64(c.s[i]))
			d = append(d, int64(c.d[i]))
		}
		attrs := []*onnxpb.AttributeProto{intA("group", int64(c.group)), ints("strides", s...), ints("dilations", d...), ints("pads", pads...)}
		for _, konst := range []bool{false, true} {
			for _, th := range []int{1, 3} {
				got := hvOne(t, hvNode{op: "Conv", attrs: attrs, threads: th,
					inputs: []hvIn{{t: x}, {t: w, konst: konst}, {t: b, konst: konst}}})
				hvCheck(t, fmt.Sprintf("case %d const %v threads %d", ci, konst, th), got, shape, want, 1e-5)
			}
		}
	}
}

// naiveConvTranspose scatters every input element through the kernel.
func naiveConvTranspose(x, w *tensor.Tensor, b []float32, group int, s, d, pb, out []int) []float64 {
	xs, ws := x.Shape, w.Shape
	nd := len(xs) - 2
	n, c := int(xs[0]), int(xs[1])
	mg := int(ws[1])
	m := mg * group
	cg := c / group
	xv, wv := x.Data.([]float32), w.Data.([]float32)
	in, k := make([]int, nd), make([]int, nd)
	inSize, kSize, outSize := 1, 1, 1
	for i := 0; i < nd; i++ {
		in[i], k[i] = int(xs[2+i]), int(ws[2+i])
		inSize *= in[i]
		kSize *= k[i]
		outSize *= out[i]
	}
	res := make([]float64, n*m*outSize)
	for bb := 0; bb < n; bb++ {
		for o := 0; o < m; o++ {
			for j := 0; j < outSize; j++ {
				res[(bb*m+o)*outSize+j] = float64(b[o])
			}
		}
		for ci := 0; ci < c; ci++ {
			g := ci / cg
			for ii := 0; ii < inSize; ii++ {
				xval := float64(xv[(bb*c+ci)*inSize+ii])
				for ol := 0; ol < mg; ol++ {
					o := g*mg + ol
					for kk := 0; kk < kSize; kk++ {
						off, ok := 0, true
						ri, rk := ii, kk
						pos := make([]int, nd)
						for i := nd - 1; i >= 0; i-- {
							pos[i] = (ri%in[i])*s[i] - pb[i] + (rk%k[i])*d[i]
							ri /= in[i]
							rk /= k[i]
						}
						for i := 0; i < nd; i++ {
							if pos[i] < 0 || pos[i] >= out[i] {
								ok = false
								break
							}
							off = off*out[i] + pos[i]
						}
						if ok {
							res[(bb*m+o)*outSize+off] += xval * float64(wv[(ci*mg+ol)*kSize+kk])
						}
					}
				}
			}
		}
	}
	return res
}

func TestConvTransposeRandomAgainstNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	type cs struct {
		n, c, mg, group int
		in, k           []int
		s, d, pb, pe    []int
		op              []int
	}
	cases := []cs{
		{1, 4, 3, 1, []int{5, 6}, []int{3, 3}, []int{2, 2}, []int{1, 1}, []int{1, 0}, []int{0, 1}, []int{1, 0}},
		{2, 6, 2, 3, []int{4, 3}, []int{2, 3}, []int{1, 3}, []int{2, 1}, []int{0, 1}, []int{1, 1}, []int{0, 2}},
		{1, 3, 5, 1, []int{7}, []int{4}, []int{3}, []int{1}, []int{2}, []int{0}, []int{1}},
		{1, 2, 2, 2, []int{3, 2, 3}, []int{2, 2, 2}, []int{2, 1, 2}, []int{1, 2, 1}, []int{0, 1, 1}, []int{1, 0, 0}, []int{1, 0, 0}},
	}
	for ci, c := range cases {
		nd := len(c.in)
		xs := []int64{int64(c.n), int64(c.c)}
		ws := []int64{int64(c.c), int64(c.mg)}
		out := make([]int, nd)
		var pads, s, d, op []int64
		for i := 0; i < nd; i++ {
			xs = append(xs, int64(c.in[i]))
			ws = append(ws, int64(c.k[i]))
			out[i] = c.s[i]*(c.in[i]-1) + c.op[i] + (c.k[i]-1)*c.d[i] + 1 - c.pb[i] - c.pe[i]
			pads = append(pads, int64(c.pb[i]))
			s = append(s, int64(c.s[i]))
			d = append(d, int64(c.d[i]))
			op = append(op, int64(c.op[i]))
		}
		for i := 0; i < nd; i++ {
			pads = append(pads, int64(c.pe[i]))
		}
		x, w, b := randT(r, xs...), randT(r, ws...), randT(r, int64(c.mg*c.group))
		want := naiveConvTranspose(x, w, b.Data.([]float32), c.group, c.s, c.d, c.pb, out)
		shape := []int64{int64(c.n), int64(c.mg * c.group)}
		for _, o := range out {
			shape = append(shape, int64(o))
		}
		attrs := []*onnxpb.AttributeProto{intA("group", int64(c.group)), ints("strides", s...), ints("dilations", d...),
			ints("pads", pads...), ints("output_padding", op...)}
		for _, konst := range []bool{false, true} {
			got := hvOne(t, hvNode{op: "ConvTranspose", attrs: attrs, inputs: []hvIn{{t: x}, {t: w, konst: konst}, {t: b, konst: konst}}})
			hvCheck(t, fmt.Sprintf("case %d const %v", ci, konst), got, shape, want, 1e-5)
		}
		// The same through output_shape: the pads then come from it.
		attrs = []*onnxpb.AttributeProto{intA("group", int64(c.group)), ints("strides", s...), ints("dilations", d...),
			ints("output_padding", op...), ints("output_shape", shape[2:]...)}
		total := make([]int, nd)
		for i := range total {
			total[i] = c.pb[i] + c.pe[i]
		}
		got := hvOne(t, hvNode{op: "ConvTranspose", attrs: attrs, inputs: []hvIn{{t: x}, {t: w}, {t: b}}})
		pbSpec := make([]int, nd)
		for i := range pbSpec {
			pbSpec[i] = total[i] - total[i]/2
		}
		hvCheck(t, fmt.Sprintf("case %d output_shape", ci), got, shape,
			naiveConvTranspose(x, w, b.Data.([]float32), c.group, c.s, c.d, pbSpec, out), 1e-5)
	}
}

func naiveMatMul(a, b []float32, m, k, n int) []float64 {
	out := make([]float64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for l := 0; l < k; l++ {
				s += float64(a[i*k+l]) * float64(b[l*n+j])
			}
			out[i*n+j] = s
		}
	}
	return out
}

func TestMatMulBroadcastAgainstNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(25, 26))
	cases := []struct {
		a, b, out []int64
	}{
		{[]int64{2, 1, 5, 7}, []int64{3, 7, 4}, []int64{2, 3, 5, 4}},
		{[]int64{7}, []int64{2, 7, 3}, []int64{2, 3}},
		{[]int64{4, 7}, []int64{7}, []int64{4}},
		{[]int64{7}, []int64{7}, []int64{}},
		{[]int64{3, 20, 33}, []int64{33, 17}, []int64{3, 20, 17}},
		{[]int64{1, 200, 70}, []int64{2, 70, 9}, []int64{2, 200, 9}},
	}
	for ci, c := range cases {
		a, b := randT(r, c.a...), randT(r, c.b...)
		// Reference: promote to batched matrices and loop.
		as, bs := append([]int64(nil), c.a...), append([]int64(nil), c.b...)
		if len(as) == 1 {
			as = []int64{1, as[0]}
		}
		if len(bs) == 1 {
			bs = []int64{bs[0], 1}
		}
		m, k, n := int(as[len(as)-2]), int(as[len(as)-1]), int(bs[len(bs)-1])
		ab, bb := as[:len(as)-2], bs[:len(bs)-2]
		nb := max(len(ab), len(bb))
		pad := func(s []int64) []int64 {
			return append(append(make([]int64, 0, nb), make([]int64, nb-len(s))...), s...)
		}
		pa, pbb := pad(ab), pad(bb)
		batch := make([]int64, nb)
		count := 1
		for i := range batch {
			da, db := max(pa[i], 1), max(pbb[i], 1)
			if len(ab) < nb-i || pa[i] == 0 {
				da = 1
			}
			if len(bb) < nb-i || pbb[i] == 0 {
				db = 1
			}
			pa[i], pbb[i] = da, db
			batch[i] = max(da, db)
			count *= int(batch[i])
		}
		var want []float64
		av, bv := a.Data.([]float32), b.Data.([]float32)
		for p := 0; p < count; p++ {
			ia, ib, ma, mb, q := 0, 0, 1, 1, p
			for i := nb - 1; i >= 0; i-- {
				x := q % int(batch[i])
				q /= int(batch[i])
				if pa[i] > 1 {
					ia += x * ma
				}
				if pbb[i] > 1 {
					ib += x * mb
				}
				ma *= int(pa[i])
				mb *= int(pbb[i])
			}
			want = append(want, naiveMatMul(av[ia*m*k:], bv[ib*k*n:], m, k, n)...)
		}
		for _, konst := range []bool{false, true} {
			for _, th := range []int{1, 3} {
				got := hvOne(t, hvNode{op: "MatMul", threads: th, inputs: []hvIn{{t: a}, {t: b, konst: konst}}})
				hvCheck(t, fmt.Sprintf("case %d const %v threads %d", ci, konst, th), got, c.out, want, 1e-5)
			}
		}
	}
}

func TestGemmAgainstNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(27, 28))
	const M, K, N = 9, 37, 21
	for _, ta := range []int64{0, 1} {
		for _, tb := range []int64{0, 1} {
			for ci, cshape := range [][]int64{nil, {}, {N}, {M, 1}, {1, N}, {M, N}} {
				as, bs := []int64{int64(M), int64(K)}, []int64{int64(K), int64(N)}
				if ta == 1 {
					as = []int64{int64(K), int64(M)}
				}
				if tb == 1 {
					bs = []int64{int64(N), int64(K)}
				}
				a, b := randT(r, as...), randT(r, bs...)
				av, bv := a.Data.([]float32), b.Data.([]float32)
				var cv []float32
				ins := []hvIn{{t: a}, {t: b}}
				if cshape != nil {
					ct := randT(r, cshape...)
					cv = ct.Data.([]float32)
					ins = append(ins, hvIn{t: ct})
				}
				want := make([]float64, M*N)
				for i := 0; i < M; i++ {
					for j := 0; j < N; j++ {
						var s float64
						for l := 0; l < K; l++ {
							x, y := av[i*K+l], bv[l*N+j]
							if ta == 1 {
								x = av[l*M+i]
							}
							if tb == 1 {
								y = bv[j*K+l]
							}
							s += float64(x) * float64(y)
						}
						s *= 0.5
						if cv != nil {
							ci, cj := i, j
							cs := append([]int64{1, 1}[:2-len(cshape)], cshape...)
							if cs[0] == 1 {
								ci = 0
							}
							if cs[1] == 1 {
								cj = 0
							}
							s += -2 * float64(cv[ci*int(cs[1])+cj])
						}
						want[i*N+j] = s
					}
				}
				attrs := []*onnxpb.AttributeProto{fltA("alpha", 0.5), fltA("beta", -2), intA("transA", ta), intA("transB", tb)}
				for _, konst := range []int{0, 1, 2} { // none, B, A constant
					in := append([]hvIn(nil), ins...)
					switch konst {
					case 1:
						in[1].konst = true
					case 2:
						in[0].konst = true
					}
					got := hvOne(t, hvNode{op: "Gemm", attrs: attrs, inputs: in})
					hvCheck(t, fmt.Sprintf("transA %d transB %d C %d const %d", ta, tb, ci, konst), got, []int64{int64(M), int64(N)}, want, 1e-5)
				}
			}
		}
	}
}

// ---- bad input ----

func TestHeavyBadInput(t *testing.T) {
	x4 := randT(rand.New(rand.NewPCG(1, 1)), 1, 3, 5, 5)
	w := func(s ...int64) *tensor.Tensor { return randT(rand.New(rand.NewPCG(2, 2)), s...) }
	cases := []struct {
		name string
		nd   hvNode
	}{
		{"conv rank 2 input", hvNode{op: "Conv", inputs: []hvIn{{t: randT(rand.New(rand.NewPCG(3, 3)), 3, 5)}, {t: w(4, 3, 3, 3)}}}},
		{"conv channel mismatch declared", hvNode{op: "Conv", inputs: []hvIn{{t: x4, shape: []int64{-1, 3, 5, 5}}, {t: w(4, 2, 3, 3), konst: true}}}},
		{"conv channel mismatch run", hvNode{op: "Conv", inputs: []hvIn{{t: x4}, {t: w(4, 2, 3, 3)}}}},
		{"conv group 0", hvNode{op: "Conv", attrs: []*onnxpb.AttributeProto{intA("group", 0)}, inputs: []hvIn{{t: x4}, {t: w(4, 3, 3, 3)}}}},
		{"conv group not dividing M", hvNode{op: "Conv", attrs: []*onnxpb.AttributeProto{intA("group", 3)}, inputs: []hvIn{{t: x4}, {t: w(4, 1, 3, 3), konst: true}}}},
		{"conv negative pads", hvNode{op: "Conv", attrs: []*onnxpb.AttributeProto{ints("pads", -1, 0, 0, 0)}, inputs: []hvIn{{t: x4}, {t: w(4, 3, 3, 3)}}}},
		{"conv huge pads", hvNode{op: "Conv", attrs: []*onnxpb.AttributeProto{ints("pads", 1<<40, 0, 0, 0)}, inputs: []hvIn{{t: x4}, {t: w(4, 3, 3, 3)}}}},
		{"conv zero stride", hvNode{op: "Conv", attrs: []*onnxpb.AttributeProto{ints("strides", 0, 1)}, inputs: []hvIn{{t: x4}, {t: w(4, 3, 3, 3)}}}},
		{"conv pads length", hvNode{op: "Conv", attrs: []*onnxpb.AttributeProto{ints("pads", 1, 1, 1)}, inputs: []hvIn{{t: x4}, {t: w(4, 3, 3, 3)}}}},
		{"conv pads rank", hvNode{op: "Conv", attrs: []*onnxpb.AttributeProto{ints("pads", 1, 1)}, inputs: []hvIn{{t: x4}, {t: w(4, 3, 3, 3)}}}},
		{"conv kernel_shape mismatch", hvNode{op: "Conv", attrs: []*onnxpb.AttributeProto{ints("kernel_shape", 2, 2)}, inputs: []hvIn{{t: x4}, {t: w(4, 3, 3, 3), konst: true}}}},
		{"conv kernel larger than input", hvNode{op: "Conv", inputs: []hvIn{{t: x4}, {t: w(4, 3, 7, 3)}}}},
		{"conv bad auto_pad", hvNode{op: "Conv", attrs: []*onnxpb.AttributeProto{strA("auto_pad", "SAME")}, inputs: []hvIn{{t: x4}, {t: w(4, 3, 3, 3)}}}},
		{"conv bias shape", hvNode{op: "Conv", inputs: []hvIn{{t: x4}, {t: w(4, 3, 3, 3)}, {t: w(3)}}}},
		{"conv int input", hvNode{op: "Conv", inputs: []hvIn{{t: &tensor.Tensor{Type: tensor.Int32, Shape: []int64{1, 1, 1, 1}, Data: []int32{1}}}, {t: w(1, 1, 1, 1)}}}},
		{"conv weight rank", hvNode{op: "Conv", inputs: []hvIn{{t: x4}, {t: w(4, 3, 3)}}}},
		{"convtranspose channels", hvNode{op: "ConvTranspose", inputs: []hvIn{{t: x4}, {t: w(2, 3, 3, 3)}}}},
		{"convtranspose output_shape rank", hvNode{op: "ConvTranspose", attrs: []*onnxpb.AttributeProto{ints("output_shape", 5, 5, 5)}, inputs: []hvIn{{t: x4}, {t: w(3, 3, 3, 3)}}}},
		{"convtranspose negative output", hvNode{op: "ConvTranspose", attrs: []*onnxpb.AttributeProto{ints("pads", 9, 9, 9, 9)}, inputs: []hvIn{{t: x4}, {t: w(3, 3, 3, 3)}}}},
		{"matmul inner", hvNode{op: "MatMul", inputs: []hvIn{{t: w(2, 3)}, {t: w(4, 5)}}}},
		{"matmul batch", hvNode{op: "MatMul", inputs: []hvIn{{t: w(2, 2, 3)}, {t: w(3, 3, 5)}}}},
		{"matmul scalar", hvNode{op: "MatMul", inputs: []hvIn{{t: f32(nil, 1)}, {t: w(3)}}}},
		{"matmul const inner", hvNode{op: "MatMul", inputs: []hvIn{{t: w(2, 3), shape: []int64{2, 3}}, {t: w(4, 5), konst: true}}}},
		{"gemm inner", hvNode{op: "Gemm", inputs: []hvIn{{t: w(2, 3)}, {t: w(4, 5)}}}},
		{"gemm C shape", hvNode{op: "Gemm", inputs: []hvIn{{t: w(2, 3)}, {t: w(3, 5)}, {t: w(3)}}}},
		{"gemm rank", hvNode{op: "Gemm", inputs: []hvIn{{t: w(2, 3, 1)}, {t: w(3, 5)}}}},
		{"pool no kernel_shape", hvNode{op: "MaxPool", inputs: []hvIn{{t: x4}}}},
		{"pool kernel rank", hvNode{op: "AveragePool", attrs: []*onnxpb.AttributeProto{ints("kernel_shape", 2)}, inputs: []hvIn{{t: x4}}}},
		{"pool kernel too large", hvNode{op: "MaxPool", attrs: []*onnxpb.AttributeProto{ints("kernel_shape", 9, 9)}, inputs: []hvIn{{t: x4}}}},
		{"pool storage_order", hvNode{op: "MaxPool", attrs: []*onnxpb.AttributeProto{ints("kernel_shape", 2, 2), intA("storage_order", 2)}, inputs: []hvIn{{t: x4}}}},
		{"global pool rank", hvNode{op: "GlobalAveragePool", inputs: []hvIn{{t: w(3)}}}},
		{"batchnorm param length", hvNode{op: "BatchNormalization", inputs: []hvIn{{t: x4}, {t: w(2)}, {t: w(3)}, {t: w(3)}, {t: w(3)}}}},
		{"batchnorm missing input", hvNode{op: "BatchNormalization", inputs: []hvIn{{t: x4}, {t: w(3)}, {t: w(3)}, {t: w(3)}}}},
		{"batchnorm training outputs opset 9", hvNode{op: "BatchNormalization", opset: 9, outputs: 3, inputs: []hvIn{{t: x4}, {t: w(3)}, {t: w(3)}, {t: w(3)}, {t: w(3)}}}},
		{"instancenorm scale", hvNode{op: "InstanceNormalization", inputs: []hvIn{{t: x4}, {t: w(2)}, {t: w(3)}}}},
		{"layernorm axis", hvNode{op: "LayerNormalization", opset: 17, attrs: []*onnxpb.AttributeProto{intA("axis", 4)}, inputs: []hvIn{{t: x4}, {t: w(5)}}}},
		{"layernorm scale", hvNode{op: "LayerNormalization", opset: 17, inputs: []hvIn{{t: x4}, {t: w(4)}}}},
		{"lrn size", hvNode{op: "LRN", attrs: []*onnxpb.AttributeProto{intA("size", 0)}, inputs: []hvIn{{t: x4}}}},
		{"resize scales and sizes", hvNode{op: "Resize", opset: 13, inputs: []hvIn{{t: x4}, {}, {t: f32([]int64{4}, 1, 1, 2, 2)},
			{t: &tensor.Tensor{Type: tensor.Int64, Shape: []int64{4}, Data: []int64{1, 3, 10, 10}}}}}},
		{"resize scales count", hvNode{op: "Resize", opset: 13, inputs: []hvIn{{t: x4}, {}, {t: f32([]int64{2}, 2, 2)}}}},
		{"resize negative scale", hvNode{op: "Resize", opset: 13, inputs: []hvIn{{t: x4}, {}, {t: f32([]int64{4}, 1, 1, -2, 2)}}}},
		{"resize bad mode", hvNode{op: "Resize", opset: 13, attrs: []*onnxpb.AttributeProto{strA("mode", "area")}, inputs: []hvIn{{t: x4}, {}, {t: f32([]int64{4}, 1, 1, 2, 2)}}}},
		{"resize axes", hvNode{op: "Resize", opset: 18, attrs: []*onnxpb.AttributeProto{ints("axes", 7)}, inputs: []hvIn{{t: x4, shape: []int64{1, 3, 5, 5}}, {}, {t: f32([]int64{1}, 2)}}}},
		{"resize huge", hvNode{op: "Resize", opset: 13, inputs: []hvIn{{t: x4}, {}, {t: f32([]int64{4}, 1, 1, 1e9, 1e9)}}}},
	}
	for _, c := range cases {
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("%s: panic: %v", c.name, r)
				}
			}()
			_, err := hvRun(t, c.nd)
			switch {
			case err == nil:
				t.Errorf("%s: no error", c.name)
			case !strings.Contains(err.Error(), hvNodeName):
				t.Errorf("%s: error %q does not name the node", c.name, err)
			}
		}()
	}
}

// ---- whole models ----

// TestMobileNetV2AgainstORT runs the MobileNetV2 test models (tiny,
// small, and torchvision's full model with BatchNormalization kept and
// folded) in the interpreter, op by op and fused, and in ONNX Runtime.
func TestMobileNetV2AgainstORT(t *testing.T) {
	ort.RequireOrSkip(t)
	folded := models.Full()
	folded.FoldBN = true
	cfgs := []models.MobileNetV2Config{models.Tiny(), models.Small(), folded, models.Full()}
	if testing.Short() {
		cfgs = cfgs[:2]
	}
	for _, cfg := range cfgs {
		mp, err := models.MobileNetV2(cfg)
		if err != nil {
			t.Fatal(err)
		}
		data, err := models.Marshal(mp)
		if err != nil {
			t.Fatal(err)
		}
		m, err := ir.FromProto(mp)
		if err != nil {
			t.Fatal(err)
		}
		res := int64(cfg.Resolution)
		shape := []int64{3, 3, res, res}
		x := benchInput(3, int(res))
		s, err := ort.Open(data, ort.Options{IntraOpThreads: 1})
		if err != nil {
			t.Fatal(err)
		}
		want, err := s.Run([]ort.Tensor{{Name: models.InputName, Shape: shape, Data: x}})
		s.Close()
		if err != nil {
			t.Fatal(err)
		}
		wv := want[0].Data.([]float32)
		w64 := make([]float64, len(wv))
		for i, v := range wv {
			w64[i] = float64(v)
		}
		for _, th := range []int{1, 2} {
			for _, fuse := range []bool{false, true} {
				prog, err := Compile(m, Options{Threads: th, Fuse: fuse})
				if err != nil {
					t.Fatal(err)
				}
				got, err := prog.Run(map[string]*tensor.Tensor{models.InputName: tensor.FromFloat32(x, shape...)})
				if err != nil {
					t.Fatal(err)
				}
				name := fmt.Sprintf("%dx%d width %g BN folded %v, threads %d, fused %v", res, res, cfg.Width, cfg.FoldBN, th, fuse)
				hvCheck(t, name, got[models.OutputName], want[0].Shape, w64, 1e-4)
				if th == 2 {
					scale, worst := 0.0, 0.0
					for i, v := range got[models.OutputName].Data.([]float32) {
						scale = math.Max(scale, math.Abs(w64[i]))
						worst = math.Max(worst, math.Abs(float64(v)-w64[i]))
					}
					t.Logf("%s: max |diff| %.3g of scale %.3g", name, worst, scale)
				}
			}
		}
	}
}

// TestHeavyAllocs checks that a steady-state run of a small CNN allocates
// little, and nothing in proportion to the tensor sizes.
func TestHeavyAllocs(t *testing.T) {
	mp, err := models.MobileNetV2(models.Tiny())
	if err != nil {
		t.Fatal(err)
	}
	m, err := ir.FromProto(mp)
	if err != nil {
		t.Fatal(err)
	}
	prog, err := Compile(m, Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	in := map[string]*tensor.Tensor{models.InputName: tensor.FromFloat32(benchInput(2, 32), 2, 3, 32, 32)}
	if _, err := prog.Run(in); err != nil {
		t.Fatal(err)
	}
	nodes := m.Graph.NumNodes()
	allocs := testing.AllocsPerRun(5, func() {
		if _, err := prog.Run(in); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("%.0f allocations per run for %d nodes", allocs, nodes)
	if allocs > float64(8*nodes) {
		t.Errorf("%.0f allocations per run, want at most %d", allocs, 8*nodes)
	}
}

// hvAs converts a float32 tensor to another element type.
func hvAs(t testing.TB, x *tensor.Tensor, dt tensor.DataType) *tensor.Tensor {
	t.Helper()
	out, err := tensor.New(dt, x.Shape...)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range x.Data.([]float32) {
		switch d := out.Data.(type) {
		case []float64:
			d[i] = float64(v)
		case []float16.Float16:
			d[i] = float16.Fromfloat32(v)
		case []tensor.BFloat16:
			d[i] = tensor.BFloat16FromFloat32(v)
		case []int8:
			d[i] = int8(v)
		case []uint8:
			d[i] = uint8(v)
		case []int32:
			d[i] = int32(v)
		case []int64:
			d[i] = int64(v)
		default:
			t.Fatalf("hvAs: type %s", tensor.Name(dt))
		}
	}
	return out
}

// TestHeavyElementTypes runs the ops on the other element types they
// accept and compares with the float32 results (on small integers, so that
// every type represents the values exactly).
func TestHeavyElementTypes(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	small := func(shape ...int64) *tensor.Tensor {
		x := randT(r, shape...)
		for i, v := range x.Data.([]float32) {
			x.Data.([]float32)[i] = float32(math.Round(float64(v) * 2))
		}
		return x
	}
	x, w := small(1, 4, 5, 5), small(6, 2, 3, 3)
	a, b := small(3, 4, 5), small(5, 6)
	cases := []struct {
		name  string
		op    string
		opset int64
		attrs []*onnxpb.AttributeProto
		ins   []*tensor.Tensor
		types []tensor.DataType
	}{
		{"conv", "Conv", 21, []*onnxpb.AttributeProto{intA("group", 2), ints("pads", 1, 1, 1, 1)}, []*tensor.Tensor{x, w},
			[]tensor.DataType{tensor.Double, tensor.Float16, tensor.BFloat16T}},
		{"matmul", "MatMul", 21, nil, []*tensor.Tensor{a, b}, []tensor.DataType{tensor.Double, tensor.Float16, tensor.Int32, tensor.Int64}},
		{"gemm", "Gemm", 21, []*onnxpb.AttributeProto{intA("transB", 1)}, []*tensor.Tensor{small(4, 5), small(3, 5), small(3)},
			[]tensor.DataType{tensor.Double, tensor.Float16, tensor.Int32, tensor.Int64}},
		{"maxpool", "MaxPool", 21, []*onnxpb.AttributeProto{ints("kernel_shape", 2, 2), ints("pads", 1, 1, 0, 0)}, []*tensor.Tensor{x},
			[]tensor.DataType{tensor.Double, tensor.Float16, tensor.Int8}},
		{"averagepool", "AveragePool", 21, []*onnxpb.AttributeProto{ints("kernel_shape", 2, 2)}, []*tensor.Tensor{x},
			[]tensor.DataType{tensor.Double, tensor.Float16}},
		{"resize nearest", "Resize", 13, nil, []*tensor.Tensor{x, nil, f32([]int64{4}, 1, 1, 2, 1.5)},
			[]tensor.DataType{tensor.Double, tensor.Float16, tensor.Int8, tensor.Int64}},
	}
	for _, c := range cases {
		hvIns := func(dt tensor.DataType) []hvIn {
			var ins []hvIn
			for i, in := range c.ins {
				switch {
				case in == nil:
					ins = append(ins, hvIn{})
				case c.op == "Resize" && i > 0:
					ins = append(ins, hvIn{t: in})
				case dt == tensor.Float:
					ins = append(ins, hvIn{t: in})
				default:
					ins = append(ins, hvIn{t: hvAs(t, in, dt)})
				}
			}
			return ins
		}
		want := hvOne(t, hvNode{op: c.op, opset: c.opset, attrs: c.attrs, inputs: hvIns(tensor.Float)})
		wv, _ := want.Float64s()
		for _, dt := range c.types {
			got := hvOne(t, hvNode{op: c.op, opset: c.opset, attrs: c.attrs, inputs: hvIns(dt)})
			if got.Type != dt {
				t.Fatalf("%s %s: output type %s", c.name, tensor.Name(dt), tensor.Name(got.Type))
			}
			tol := 1e-6
			if dt == tensor.Float16 || dt == tensor.BFloat16T {
				tol = 1e-2
			}
			hvCheck(t, c.name+" "+tensor.Name(dt), got, want.Shape, wv, tol)
		}
	}
}

// TestHeavyNoPanics runs the ops on random, often invalid, shapes and
// attributes: every run must succeed or fail with an error, never reach
// the interpreter's panic guard.
func TestHeavyNoPanics(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	dim := func() int64 { return []int64{0, 1, 1, 2, 3, 5, 8}[r.IntN(7)] }
	shape := func(rank int) []int64 {
		s := make([]int64, rank)
		for i := range s {
			s[i] = dim()
		}
		return s
	}
	attrVals := func(n int, lo, hi int64) []int64 {
		v := make([]int64, n)
		for i := range v {
			v[i] = lo + r.Int64N(hi-lo+1)
		}
		if r.IntN(20) == 0 {
			v[0] = 1 << 23
		}
		return v
	}
	ok := 0
	ops := []string{"Conv", "ConvTranspose", "MaxPool", "AveragePool", "LpPool", "GlobalAveragePool", "MatMul", "Gemm",
		"BatchNormalization", "InstanceNormalization", "LayerNormalization", "LRN", "Resize"}
	for i := 0; i < 400; i++ {
		op := ops[r.IntN(len(ops))]
		rank := 1 + r.IntN(5)
		nd := max(1, rank-2)
		x := randT(r, shape(rank)...)
		var ins []hvIn
		var attrs []*onnxpb.AttributeProto
		if r.IntN(2) == 0 {
			attrs = append(attrs, ints("pads", attrVals(2*nd, -1, 3)...))
		}
		if r.IntN(2) == 0 {
			attrs = append(attrs, ints("strides", attrVals(nd, 0, 3)...))
		}
		if r.IntN(3) == 0 {
			attrs = append(attrs, ints("dilations", attrVals(nd, 0, 3)...))
		}
		if r.IntN(3) == 0 {
			attrs = append(attrs, strA("auto_pad", []string{"SAME_UPPER", "SAME_LOWER", "VALID", "NOTSET"}[r.IntN(4)]))
		}
		switch op {
		case "Conv", "ConvTranspose":
			ins = []hvIn{{t: x}, {t: randT(r, shape(rank)...), konst: r.IntN(2) == 0}}
			if r.IntN(2) == 0 {
				ins = append(ins, hvIn{t: randT(r, dim())})
			}
			attrs = append(attrs, intA("group", []int64{1, 1, 2, 3, 0}[r.IntN(5)]))
			if op == "ConvTranspose" && r.IntN(3) == 0 {
				attrs = append(attrs, ints("output_shape", attrVals(nd, 0, 9)...))
			}
		case "MaxPool", "AveragePool", "LpPool":
			ins = []hvIn{{t: x}}
			attrs = append(attrs, ints("kernel_shape", attrVals(nd, 0, 4)...), intA("ceil_mode", int64(r.IntN(2))))
		case "GlobalAveragePool", "LRN":
			ins = []hvIn{{t: x}}
			attrs = []*onnxpb.AttributeProto{intA("size", int64(r.IntN(4)))}
		case "MatMul", "Gemm":
			ins = []hvIn{{t: x}, {t: randT(r, shape(1+r.IntN(3))...), konst: r.IntN(2) == 0}}
			attrs = []*onnxpb.AttributeProto{intA("transB", int64(r.IntN(2)))}
		case "BatchNormalization":
			ins = []hvIn{{t: x}}
			for j := 0; j < 4; j++ {
				ins = append(ins, hvIn{t: randT(r, dim()), konst: r.IntN(2) == 0})
			}
			attrs = nil
		case "InstanceNormalization", "LayerNormalization":
			ins = []hvIn{{t: x}, {t: randT(r, dim())}, {t: randT(r, dim())}}
			attrs = []*onnxpb.AttributeProto{intA("axis", int64(r.IntN(7)-3))}
		case "Resize":
			ins = []hvIn{{t: x}, {}, {t: randT(r, int64(rank))}}
			attrs = []*onnxpb.AttributeProto{strA("mode", []string{"nearest", "linear", "cubic"}[r.IntN(3)]),
				intA("antialias", int64(r.IntN(2))), intA("exclude_outside", int64(r.IntN(2)))}
		}
		_, err := hvRun(t, hvNode{op: op, opset: 19, attrs: attrs, inputs: ins})
		if err != nil && strings.Contains(err.Error(), "kernel failed") {
			t.Errorf("%s %v %v: %v", op, x.Shape, attrs, err)
		}
		if err == nil {
			ok++
		}
	}
	t.Logf("%d of 400 random nodes ran, the others gave errors", ok)
}

// TestHeavyAgainstORT compares the ops with ONNX Runtime on attribute
// combinations the backend tests do not cover.
func TestHeavyAgainstORT(t *testing.T) {
	ort.RequireOrSkip(t)
	r := rand.New(rand.NewPCG(51, 52))
	x4 := randT(r, 2, 6, 11, 9)
	x3 := randT(r, 2, 4, 13)
	x5 := randT(r, 1, 4, 5, 6, 7)
	type tc struct {
		name    string
		op      string
		opset   int64
		attrs   []*onnxpb.AttributeProto
		ins     []hvIn
		outputs int
	}
	f := func(v ...float32) *tensor.Tensor { return f32([]int64{int64(len(v))}, v...) }
	i64 := func(v ...int64) *tensor.Tensor {
		return &tensor.Tensor{Type: tensor.Int64, Shape: []int64{int64(len(v))}, Data: v}
	}
	cases := []tc{
		{"conv group dilation", "Conv", 21, []*onnxpb.AttributeProto{intA("group", 2), ints("dilations", 2, 1), ints("strides", 1, 2), ints("pads", 2, 0, 1, 3)},
			[]hvIn{{t: x4}, {t: randT(r, 4, 3, 3, 2)}, {t: randT(r, 4)}}, 1},
		{"conv depthwise same_lower", "Conv", 21, []*onnxpb.AttributeProto{intA("group", 6), strA("auto_pad", "SAME_LOWER"), ints("strides", 2, 2)},
			[]hvIn{{t: x4}, {t: randT(r, 12, 1, 4, 3)}}, 1},
		// ONNX Runtime rejects dilations with SAME_*.
		{"conv same_upper", "Conv", 21, []*onnxpb.AttributeProto{strA("auto_pad", "SAME_UPPER"), ints("strides", 3, 2)},
			[]hvIn{{t: x4}, {t: randT(r, 5, 6, 2, 3)}}, 1},
		{"conv 1d", "Conv", 21, []*onnxpb.AttributeProto{ints("pads", 1, 2), ints("strides", 2)}, []hvIn{{t: x3}, {t: randT(r, 3, 4, 4)}}, 1},
		{"conv 3d", "Conv", 21, []*onnxpb.AttributeProto{intA("group", 2), ints("pads", 1, 0, 1, 0, 1, 1)}, []hvIn{{t: x5}, {t: randT(r, 4, 2, 2, 3, 2)}}, 1},
		{"convtranspose", "ConvTranspose", 21, []*onnxpb.AttributeProto{intA("group", 2), ints("strides", 2, 3), ints("dilations", 1, 2), ints("pads", 1, 0, 0, 2), ints("output_padding", 1, 2)},
			[]hvIn{{t: x4}, {t: randT(r, 6, 2, 3, 3)}, {t: randT(r, 4)}}, 1},
		{"convtranspose output_shape", "ConvTranspose", 21, []*onnxpb.AttributeProto{ints("strides", 2, 2), ints("output_shape", 22, 18)},
			[]hvIn{{t: x4}, {t: randT(r, 6, 3, 3, 3)}}, 1},
		{"convtranspose same_upper", "ConvTranspose", 21, []*onnxpb.AttributeProto{ints("strides", 2, 3), strA("auto_pad", "SAME_UPPER")},
			[]hvIn{{t: x4}, {t: randT(r, 6, 2, 4, 3)}}, 1},
		{"convtranspose same_lower", "ConvTranspose", 21, []*onnxpb.AttributeProto{ints("strides", 2, 3), strA("auto_pad", "SAME_LOWER")},
			[]hvIn{{t: x4}, {t: randT(r, 6, 2, 4, 3)}}, 1},
		{"convtranspose 1d", "ConvTranspose", 21, []*onnxpb.AttributeProto{ints("strides", 3), ints("pads", 1, 1)}, []hvIn{{t: x3}, {t: randT(r, 4, 2, 5)}}, 1},
		{"maxpool ceil dilation indices", "MaxPool", 12, []*onnxpb.AttributeProto{ints("kernel_shape", 3, 2), ints("strides", 2, 2), ints("dilations", 2, 1),
			ints("pads", 1, 1, 1, 0), intA("ceil_mode", 1)}, []hvIn{{t: x4}}, 2},
		{"maxpool same_lower", "MaxPool", 12, []*onnxpb.AttributeProto{ints("kernel_shape", 2, 3), strA("auto_pad", "SAME_LOWER"), ints("strides", 2, 2)}, []hvIn{{t: x4}}, 1},
		{"maxpool 1d", "MaxPool", 12, []*onnxpb.AttributeProto{ints("kernel_shape", 4), ints("strides", 3), intA("ceil_mode", 1)}, []hvIn{{t: x3}}, 1},
		{"avgpool ceil include pad", "AveragePool", 19, []*onnxpb.AttributeProto{ints("kernel_shape", 3, 3), ints("strides", 2, 2), ints("pads", 1, 1, 1, 1),
			intA("ceil_mode", 1), intA("count_include_pad", 1)}, []hvIn{{t: x4}}, 1},
		{"avgpool ceil", "AveragePool", 19, []*onnxpb.AttributeProto{ints("kernel_shape", 3, 2), ints("strides", 2, 3), ints("pads", 1, 0, 1, 1), intA("ceil_mode", 1)}, []hvIn{{t: x4}}, 1},
		{"avgpool same_upper 3d", "AveragePool", 19, []*onnxpb.AttributeProto{ints("kernel_shape", 2, 3, 2), strA("auto_pad", "SAME_UPPER")}, []hvIn{{t: x5}}, 1},
		{"lppool", "LpPool", 18, []*onnxpb.AttributeProto{ints("kernel_shape", 2, 2), ints("strides", 2, 1), intA("p", 3)}, []hvIn{{t: x4}}, 1},
		{"globallppool", "GlobalLpPool", 2, []*onnxpb.AttributeProto{intA("p", 2)}, []hvIn{{t: x4}}, 1},
		{"globalmaxpool 3d", "GlobalMaxPool", 1, nil, []hvIn{{t: x5}}, 1},
		{"lrn", "LRN", 13, []*onnxpb.AttributeProto{intA("size", 5), fltA("alpha", 0.01), fltA("beta", 0.6), fltA("bias", 2)}, []hvIn{{t: x4}}, 1},
		{"instancenorm", "InstanceNormalization", 6, []*onnxpb.AttributeProto{fltA("epsilon", 0.01)}, []hvIn{{t: x4}, {t: randT(r, 6)}, {t: randT(r, 6)}}, 1},
		{"layernorm", "LayerNormalization", 17, []*onnxpb.AttributeProto{intA("axis", 2)}, []hvIn{{t: x4}, {t: randT(r, 11, 9)}, {t: randT(r, 9)}}, 3},
		{"batchnorm", "BatchNormalization", 15, nil, []hvIn{{t: x4}, {t: randT(r, 6)}, {t: randT(r, 6)}, {t: randT(r, 6)}, {t: f(1, 2, 3, 0.5, 0.25, 1)}}, 1},
		{"matmul broadcast", "MatMul", 13, nil, []hvIn{{t: randT(r, 3, 1, 5, 7)}, {t: randT(r, 4, 7, 2)}}, 1},
		{"gemm", "Gemm", 13, []*onnxpb.AttributeProto{fltA("alpha", 0.7), fltA("beta", 1.5), intA("transA", 1)},
			[]hvIn{{t: randT(r, 7, 5)}, {t: randT(r, 7, 3)}, {t: randT(r, 5, 1)}}, 1},
	}
	// Resize: every coordinate mode with each interpolation mode, up and
	// down, plus antialias, exclude_outside, axes and the aspect policies.
	// With scales whose output size is not scale·in exactly, align_corners
	// follows the ONNX reference (and backend tests), which divides by
	// scale·in - 1 where ONNX Runtime divides by out - 1: such cases use
	// sizes here. The scales avoid exact nearest-rounding ties.
	xr := randT(r, 1, 2, 6, 7)
	for _, coord := range []string{"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric", "half_pixel_symmetric"} {
		for _, mode := range []string{"nearest", "linear", "cubic"} {
			ins := [][]hvIn{{{t: xr}, {}, {t: f(1, 1, 1.5, 2.25)}}, {{t: xr}, {}, {t: f(1, 1, 0.45, 0.55)}}}
			if coord == "align_corners" {
				ins = [][]hvIn{{{t: xr}, {}, {}, {t: i64(1, 2, 9, 15)}}, {{t: xr}, {}, {}, {t: i64(1, 2, 2, 3)}}}
			}
			for _, in := range ins {
				cases = append(cases, tc{"resize " + coord + " " + mode, "Resize", 19,
					[]*onnxpb.AttributeProto{strA("mode", mode), strA("coordinate_transformation_mode", coord)}, in, 1})
			}
		}
	}
	for _, nm := range []string{"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"} {
		cases = append(cases, tc{"resize nearest " + nm, "Resize", 19,
			[]*onnxpb.AttributeProto{strA("nearest_mode", nm), strA("coordinate_transformation_mode", "asymmetric")},
			[]hvIn{{t: xr}, {}, {}, {t: i64(1, 2, 15, 4)}}, 1})
	}
	cases = append(cases, tc{"resize exclude_outside cubic", "Resize", 19,
		[]*onnxpb.AttributeProto{strA("mode", "cubic"), intA("exclude_outside", 1), fltA("cubic_coeff_a", -0.5)},
		[]hvIn{{t: xr}, {}, {t: f(1, 1, 1.7, 0.8)}}, 1})
	for _, mode := range []string{"linear", "cubic"} {
		cases = append(cases,
			tc{"resize antialias " + mode, "Resize", 19, []*onnxpb.AttributeProto{strA("mode", mode), intA("antialias", 1)},
				[]hvIn{{t: xr}, {}, {t: f(1, 1, 0.5, 0.35)}}, 1},
			tc{"resize antialias exclude_outside " + mode, "Resize", 19, []*onnxpb.AttributeProto{strA("mode", mode), intA("antialias", 1), intA("exclude_outside", 1)},
				[]hvIn{{t: xr}, {}, {t: f(1, 1, 0.45, 0.3)}}, 1},
			tc{"resize tf_crop_and_resize " + mode, "Resize", 19, []*onnxpb.AttributeProto{strA("mode", mode), strA("coordinate_transformation_mode", "tf_crop_and_resize"), fltA("extrapolation_value", 7)},
				[]hvIn{{t: xr}, {t: f(0, 0, -0.2, 0.3, 1, 1, 0.9, 1.4)}, {}, {t: i64(1, 2, 5, 8)}}, 1})
	}
	cases = append(cases,
		tc{"resize axes", "Resize", 19, []*onnxpb.AttributeProto{ints("axes", 3, 2), strA("mode", "linear")}, []hvIn{{t: xr}, {}, {}, {t: i64(10, 4)}}, 1},
		tc{"resize not_smaller", "Resize", 19, []*onnxpb.AttributeProto{ints("axes", 2, 3), strA("keep_aspect_ratio_policy", "not_smaller")}, []hvIn{{t: xr}, {}, {}, {t: i64(9, 5)}}, 1},
		tc{"resize not_larger", "Resize", 19, []*onnxpb.AttributeProto{ints("axes", 2, 3), strA("keep_aspect_ratio_policy", "not_larger"), strA("mode", "linear")}, []hvIn{{t: xr}, {}, {}, {t: i64(9, 5)}}, 1},
		tc{"resize opset 10 nearest down", "Resize", 10, nil, []hvIn{{t: xr}, {t: f(1, 1, 0.6, 0.45)}}, 1},
		tc{"resize opset 10 linear", "Resize", 10, []*onnxpb.AttributeProto{strA("mode", "linear")}, []hvIn{{t: xr}, {t: f(1, 1, 1.5, 2)}}, 1},
		tc{"upsample", "Upsample", 9, []*onnxpb.AttributeProto{strA("mode", "linear")}, []hvIn{{t: xr}, {t: f(1, 1, 2, 1.5)}}, 1},
	)
	var failed []string
	for _, c := range cases {
		nd := hvNode{op: c.op, opset: c.opset, attrs: c.attrs, inputs: c.ins, outputs: c.outputs}
		mp, feeds, err := hvProto(nd)
		if err != nil {
			t.Fatal(err)
		}
		for i, o := range mp.Graph.Output {
			dt := int32(tensor.Float)
			if c.op == "MaxPool" && i == 1 {
				dt = int32(tensor.Int64)
			}
			o.Type = &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(dt)}}}
		}
		data, err := models.Marshal(mp)
		if err != nil {
			t.Fatal(err)
		}
		s, err := ort.Open(data, ort.Options{IntraOpThreads: 1})
		if err != nil {
			t.Errorf("%s: ONNX Runtime: %v", c.name, err)
			continue
		}
		var in []ort.Tensor
		for _, gi := range mp.Graph.Input {
			ft := feeds[gi.GetName()]
			in = append(in, ort.Tensor{Name: gi.GetName(), Shape: ft.Shape, Data: ft.Data})
		}
		want, err := s.Run(in)
		s.Close()
		if err != nil {
			t.Errorf("%s: ONNX Runtime: %v", c.name, err)
			continue
		}
		got, err := hvRun(t, nd)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		for i := range want {
			var w []float64
			switch d := want[i].Data.(type) {
			case []float32:
				for _, v := range d {
					w = append(w, float64(v))
				}
			case []int64:
				for _, v := range d {
					w = append(w, float64(v))
				}
			}
			if err := hvDiff(got[i], want[i].Shape, w, 1e-5); err != nil {
				failed = append(failed, fmt.Sprintf("%s output %d: %v", c.name, i, err))
			}
		}
	}
	for _, f := range failed {
		t.Error(f)
	}
	t.Logf("%d cases compared with ONNX Runtime %s", len(cases), ort.Version())
}
