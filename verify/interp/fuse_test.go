package interp

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/onnx-prom/onnx-prom/onnx/ir"
	"github.com/onnx-prom/onnx-prom/onnx/onnxpb"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
	"google.golang.org/protobuf/proto"
)

// fuseNet builds a model from node specs: each node is (op, inputs,
// output, attributes); names of initializers come from consts.
type fuseNode struct {
	op     string
	in     []string
	out    string
	attrs  []*onnxpb.AttributeProto
	domain string
}

func fuseModel(t testing.TB, opset int64, x *tensor.Tensor, consts map[string]*tensor.Tensor, nodes []fuseNode, outputs ...string) *ir.Model {
	t.Helper()
	g := &onnxpb.GraphProto{Name: proto.String("g")}
	tt := &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(tensor.Float))}
	g.Input = []*onnxpb.ValueInfoProto{{Name: proto.String("x"), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: tt}}}}
	for name, c := range consts {
		tp, err := tensor.ToProto(c, name)
		if err != nil {
			t.Fatal(err)
		}
		g.Initializer = append(g.Initializer, tp)
	}
	for i, n := range nodes {
		g.Node = append(g.Node, &onnxpb.NodeProto{Name: proto.String(n.out + "_node"), OpType: proto.String(n.op),
			Input: n.in, Output: []string{n.out}, Attribute: n.attrs, Domain: proto.String(nodes[i].domain)})
	}
	for _, o := range outputs {
		g.Output = append(g.Output, &onnxpb.ValueInfoProto{Name: proto.String(o)})
	}
	mp := &onnxpb.ModelProto{IrVersion: proto.Int64(10), Graph: g,
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(opset)}}}
	m, err := ir.FromProto(mp)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func fuseRand(r *rand.Rand, lo, hi float32, shape ...int64) *tensor.Tensor {
	n := int64(1)
	for _, d := range shape {
		n *= d
	}
	v := make([]float32, n)
	for i := range v {
		v[i] = lo + (hi-lo)*r.Float32()
	}
	return tensor.FromFloat32(v, shape...)
}

// fuseCompare runs m op by op and fused; it checks that the fused program
// has wantSteps steps and that every output agrees within 1e-5 of the
// output's scale, and returns the fused outputs.
func fuseCompare(t *testing.T, name string, m *ir.Model, x *tensor.Tensor, wantSteps int) map[string]*tensor.Tensor {
	t.Helper()
	ref, err := Compile(m, Options{Threads: 2})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	fused, err := Compile(m, Options{Threads: 2, Fuse: true})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if len(fused.steps) != wantSteps {
		var ops []string
		for _, s := range fused.steps {
			ops = append(ops, s.node.OpType)
		}
		t.Errorf("%s: fused program runs %v, want %d steps", name, ops, wantSteps)
	}
	in := map[string]*tensor.Tensor{"x": x}
	want, err := ref.Run(in)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	got, err := fused.Run(in)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	for o, w := range want {
		wv, gv := w.Data.([]float32), got[o].Data.([]float32)
		scale := 1.0
		for _, v := range wv {
			scale = math.Max(scale, math.Abs(float64(v)))
		}
		for i := range wv {
			if d := math.Abs(float64(gv[i] - wv[i])); d > 1e-5*scale {
				t.Fatalf("%s: output %s element %d: fused %v, op by op %v", name, o, i, gv[i], wv[i])
			}
		}
	}
	return got
}

func TestFuseConvBatchNormClip(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 1))
	x := fuseRand(r, -1, 1, 2, 4, 9, 9)
	consts := map[string]*tensor.Tensor{
		"w": fuseRand(r, -0.5, 0.5, 8, 4, 3, 3), "b": fuseRand(r, -0.2, 0.2, 8),
		"gamma": fuseRand(r, 0.5, 2, 8), "beta": fuseRand(r, -1, 1, 8),
		"mean": fuseRand(r, -0.3, 0.3, 8), "var": fuseRand(r, 0.1, 2, 8),
		"dw": fuseRand(r, -0.5, 0.5, 8, 1, 3, 3),
		"pw": fuseRand(r, -0.5, 0.5, 5, 8, 1, 1),
		"lo": tensor.FromFloat32([]float32{0}), "hi": tensor.FromFloat32([]float32{6}),
		"lo2": tensor.FromFloat32([]float32{-0.25}),
	}
	pad := ints("pads", 1, 1, 1, 1)
	chain := []fuseNode{
		{op: "Conv", in: []string{"x", "w", "b"}, out: "c1", attrs: []*onnxpb.AttributeProto{pad}},
		{op: "BatchNormalization", in: []string{"c1", "gamma", "beta", "mean", "var"}, out: "n1"},
		{op: "Clip", in: []string{"n1", "lo", "hi"}, out: "a1"},
		// A depthwise conv (no bias) with BN and Relu.
		{op: "Conv", in: []string{"a1", "dw"}, out: "c2", attrs: []*onnxpb.AttributeProto{pad, intA("group", 8), ints("strides", 2, 2)}},
		{op: "BatchNormalization", in: []string{"c2", "gamma", "beta", "mean", "var"}, out: "n2"},
		{op: "Relu", in: []string{"n2"}, out: "a2"},
		// A pointwise conv with a Clip that has only a lower bound.
		{op: "Conv", in: []string{"a2", "pw"}, out: "c3"},
		{op: "Clip", in: []string{"c3", "lo2"}, out: "y"},
	}
	m := fuseModel(t, 17, x, consts, chain, "y")
	got := fuseCompare(t, "chain", m, x, 3)
	for _, v := range got["y"].Data.([]float32) {
		if v < -0.25 {
			t.Fatalf("output %v below the Clip bound", v)
		}
	}

	// An intermediate that is a graph output, or read twice, stays.
	m = fuseModel(t, 17, x, consts, chain, "y", "c1")
	fuseCompare(t, "conv output is a graph output", m, x, 5)
	twice := append(append([]fuseNode{}, chain...), fuseNode{op: "Add", in: []string{"c3", "c3"}, out: "z"})
	m = fuseModel(t, 17, x, consts, twice, "y", "z")
	fuseCompare(t, "conv output read twice", m, x, 5)

	// Clip with attribute bounds (opset 6) and BN with spatial=1.
	old := []fuseNode{
		{op: "Conv", in: []string{"x", "w", "b"}, out: "c1", attrs: []*onnxpb.AttributeProto{pad}},
		{op: "BatchNormalization", in: []string{"c1", "gamma", "beta", "mean", "var"}, out: "n1", attrs: []*onnxpb.AttributeProto{fltA("epsilon", 1e-3)}},
		{op: "Clip", in: []string{"n1"}, out: "y", attrs: []*onnxpb.AttributeProto{fltA("min", -1), fltA("max", 1)}},
	}
	m = fuseModel(t, 7, x, consts, old, "y")
	got = fuseCompare(t, "opset 7", m, x, 1)
	for _, v := range got["y"].Data.([]float32) {
		if v < -1 || v > 1 {
			t.Fatalf("output %v outside the Clip bounds [-1, 1]", v)
		}
	}

	// A Clip whose bound is computed is not fused; BN still folds.
	dyn := []fuseNode{
		{op: "Conv", in: []string{"x", "w", "b"}, out: "c1", attrs: []*onnxpb.AttributeProto{pad}},
		{op: "BatchNormalization", in: []string{"c1", "gamma", "beta", "mean", "var"}, out: "n1"},
		{op: "Neg", in: []string{"hi"}, out: "neghi"},
		{op: "Clip", in: []string{"n1", "neghi", "hi"}, out: "y"},
	}
	m = fuseModel(t, 17, x, consts, dyn, "y")
	fuseCompare(t, "computed bound", m, x, 3)

	// Observe does not see the fused intermediates.
	m = fuseModel(t, 17, x, consts, chain, "y")
	p, err := Compile(m, Options{Fuse: true})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	if _, err := p.RunWith(map[string]*tensor.Tensor{"x": x}, RunOptions{Observe: func(name string, _ *tensor.Tensor) { seen[name] = true }}); err != nil {
		t.Fatal(err)
	}
	if seen["c1"] || seen["n1"] || !seen["a1"] || !seen["a2"] || !seen["y"] {
		t.Errorf("fused run observed %v; want a1, a2 and y only", seen)
	}
}
