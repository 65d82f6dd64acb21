package train

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/onnx-prom/onnx-prom/onnx/onnxpb"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
	"github.com/onnx-prom/onnx-prom/passes"
	"google.golang.org/protobuf/proto"
)

// A tiny graph language for gradient checks.
type tnode struct {
	op    string
	in    []string
	out   string
	attrs []*onnxpb.AttributeProto
}

type tinit struct {
	name  string
	shape []int64
	data  []float32
}

func aInt(name string, v int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(v)}
}

func aInts(name string, v ...int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INTS.Enum(), Ints: v}
}

func aFloat(name string, v float32) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_FLOAT.Enum(), F: proto.Float32(v)}
}

// tmodel builds a model with input "x" of per-sample shape in, the nodes,
// the initializers and the graph output out.
func tmodel(in []int, nodes []tnode, inits []tinit, out string) *onnxpb.ModelProto {
	g := &onnxpb.GraphProto{Name: proto.String("t"), Input: []*onnxpb.ValueInfoProto{floatInfo("x", in...)}}
	for _, n := range nodes {
		g.Node = append(g.Node, &onnxpb.NodeProto{Name: proto.String(n.out), OpType: proto.String(n.op), Input: n.in, Output: []string{n.out}, Attribute: n.attrs})
	}
	for _, it := range inits {
		var tp *onnxpb.TensorProto
		if it.data == nil {
			ints := make([]int64, 0)
			for _, v := range it.shape {
				ints = append(ints, v)
			}
			tp, _ = tensor.ToProto(&tensor.Tensor{Type: tensor.Int64, Shape: []int64{int64(len(ints))}, Data: ints}, it.name)
		} else {
			tp, _ = tensor.ToProto(tensor.FromFloat32(it.data, it.shape...), it.name)
		}
		g.Initializer = append(g.Initializer, tp)
	}
	g.Output = []*onnxpb.ValueInfoProto{{Name: proto.String(out)}}
	return &onnxpb.ModelProto{IrVersion: proto.Int64(8), Graph: g,
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(13)}}}
}

func rnd(r *rand.Rand, n int, std float64) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(r.NormFloat64() * std)
	}
	return out
}

type gcase struct {
	name   string
	in     []int
	nodes  []tnode
	inits  []tinit
	out    string
	batch  int
	h      float64   // finite-difference step (default 1e-2)
	kinks  []float32 // input values to stay 3h away from
	bnMode bool      // BatchNormalization with batch statistics
	lo, hi float32   // input range (default [-2, 2])
}

// gradCheck compares the backward pass with central differences of the
// loss L = Σ r·y (r fixed random) with respect to every trainable
// parameter and the input, then checks that accumulating into an input
// gradient adds exactly the gradient.
func gradCheck(t *testing.T, c gcase) {
	t.Helper()
	gradCheckT(t, c)
}

type checkT interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
	Errorf(format string, args ...any)
}

func gradCheckT(t checkT, c gcase) {
	t.Helper()
	mp := tmodel(c.in, c.nodes, c.inits, c.out)
	m, _, err := prepare(mp, Float, passes.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if c.batch == 0 {
		c.batch = 3
	}
	nt, err := build(m, nil, buildOptions{mode: Float, cfg: passes.DefaultConfig(), batch: c.batch, workers: 2, inputGrad: true, frozenBN: !c.bnMode})
	if err != nil {
		t.Fatal(err)
	}
	defer nt.close()
	r := rand.New(rand.NewPCG(11, uint64(len(c.name))))
	h := c.h
	if h == 0 {
		h = 1e-2
	}
	lo, hi := c.lo, c.hi
	if lo == hi {
		lo, hi = -2, 2
	}
	x := nt.input.data
	for i := range x {
		for {
			v := lo + (hi-lo)*float32(r.Float64())
			ok := true
			for _, k := range c.kinks {
				ok = ok && math.Abs(float64(v-k)) > 3*h
			}
			if ok {
				x[i] = v
				break
			}
		}
	}
	nt.st.training = true
	proj := rnd(r, len(nt.logits.data), 1)
	loss := func() float64 {
		nt.prepare()
		nt.forward()
		var s float64
		for i, v := range nt.logits.data {
			s += float64(proj[i]) * float64(v)
		}
		return s
	}
	loss()
	copy(nt.logits.grad, proj)
	nt.backward()
	type target struct {
		name string
		data []float32
		grad []float32
	}
	var targets []target
	for _, p := range nt.params {
		if p.Trainable {
			targets = append(targets, target{p.Name, p.Data, append([]float32{}, p.Grad...)})
		}
	}
	inGrad := append([]float32{}, nt.input.grad...)
	targets = append(targets, target{"input", nt.input.data, inGrad})
	for _, tg := range targets {
		var gmax float64
		for _, g := range tg.grad {
			gmax = max(gmax, math.Abs(float64(g)))
		}
		idx := r.Perm(len(tg.data))
		if len(idx) > 40 {
			idx = idx[:40]
		}
		for _, j := range idx {
			v := tg.data[j]
			tg.data[j] = v + float32(h)
			lp := loss()
			tg.data[j] = v - float32(h)
			lm := loss()
			tg.data[j] = v
			num := (lp - lm) / (2 * h)
			ana := float64(tg.grad[j])
			if math.Abs(num-ana) > 1e-2*math.Abs(num)+2e-3*max(gmax, 1e-3)+1e-4 {
				t.Errorf("%s: d/d %s[%d]: backward %g, finite difference %g (max |grad| %g)", c.name, tg.name, j, ana, num, gmax)
			}
		}
	}
	// Accumulation: ops reading the input add into a prefilled gradient.
	loss()
	pre := rnd(r, len(nt.input.grad), 1)
	for _, o := range nt.ops {
		ob := o.b()
		for i, in := range ob.in {
			if in == nt.input {
				ob.acc[i] = true
			}
		}
	}
	copy(nt.input.grad, pre)
	copy(nt.logits.grad, proj)
	nt.backward()
	for i, g := range nt.input.grad {
		if want := pre[i] + inGrad[i]; math.Abs(float64(g-want)) > 1e-5*(1+math.Abs(float64(want))) {
			t.Fatalf("%s: accumulated input gradient [%d] = %g, want %g + %g", c.name, i, g, pre[i], inGrad[i])
		}
	}
}

func convCase(name string, in []int, m, kh, kw int, group int64, attrs []*onnxpb.AttributeProto, bias bool) gcase {
	r := rand.New(rand.NewPCG(5, uint64(len(name))))
	c := in[0]
	w := tinit{"w", []int64{int64(m), int64(c) / group, int64(kh), int64(kw)}, rnd(r, m*c/int(group)*kh*kw, 0.5)}
	ins := []string{"x", "w"}
	inits := []tinit{w}
	if bias {
		inits = append(inits, tinit{"b", []int64{int64(m)}, rnd(r, m, 0.5)})
		ins = append(ins, "b")
	}
	attrs = append(attrs, aInt("group", group))
	return gcase{name: name, in: in, nodes: []tnode{{"Conv", ins, "y", attrs}}, inits: inits, out: "y"}
}

func TestGradConv(t *testing.T) {
	cases := []gcase{
		convCase("pointwise", []int{5, 4, 3}, 6, 1, 1, 1, nil, true),
		convCase("pointwise-nobias", []int{3, 2, 5}, 4, 1, 1, 1, nil, false),
		convCase("depthwise-s1", []int{4, 6, 5}, 4, 3, 3, 4, []*onnxpb.AttributeProto{aInts("pads", 1, 1, 1, 1)}, true),
		convCase("depthwise-s2", []int{3, 7, 6}, 3, 3, 3, 3, []*onnxpb.AttributeProto{aInts("pads", 1, 1, 1, 1), aInts("strides", 2, 2)}, true),
		convCase("depthwise-nopad", []int{2, 6, 6}, 2, 3, 3, 2, nil, true),
		convCase("depthwise-bigpad", []int{2, 4, 5}, 2, 3, 3, 2, []*onnxpb.AttributeProto{aInts("pads", 3, 2, 1, 3)}, true),
		convCase("depthwise-dil", []int{2, 7, 7}, 2, 3, 3, 2, []*onnxpb.AttributeProto{aInts("pads", 2, 2, 2, 2), aInts("dilations", 2, 2)}, false),
		convCase("depthwise-5x3-s21", []int{3, 8, 7}, 3, 5, 3, 3, []*onnxpb.AttributeProto{aInts("pads", 2, 1, 2, 1), aInts("strides", 2, 1)}, true),
		convCase("general-3x3-s2", []int{3, 7, 8}, 4, 3, 3, 1, []*onnxpb.AttributeProto{aInts("pads", 0, 1, 1, 0), aInts("strides", 2, 2)}, true),
		convCase("general-samepad", []int{2, 5, 5}, 3, 3, 2, 1, []*onnxpb.AttributeProto{{Name: proto.String("auto_pad"), Type: onnxpb.AttributeProto_STRING.Enum(), S: []byte("SAME_UPPER")}}, true),
		convCase("grouped", []int{4, 5, 4}, 6, 3, 3, 2, []*onnxpb.AttributeProto{aInts("pads", 1, 1, 1, 1)}, true),
		convCase("depthwise-multiplier", []int{2, 5, 5}, 4, 3, 3, 2, []*onnxpb.AttributeProto{aInts("pads", 1, 1, 1, 1), aInts("strides", 2, 2)}, false),
		convCase("pointwise-strided", []int{3, 5, 5}, 2, 1, 1, 1, []*onnxpb.AttributeProto{aInts("strides", 2, 2)}, true),
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { gradCheck(t, c) })
	}
}

func TestGradGemm(t *testing.T) {
	r := rand.New(rand.NewPCG(6, 0))
	cases := []gcase{
		{name: "gemm-transB", in: []int{5}, nodes: []tnode{{"Gemm", []string{"x", "w", "b"}, "y", []*onnxpb.AttributeProto{aInt("transB", 1)}}},
			inits: []tinit{{"w", []int64{4, 5}, rnd(r, 20, 0.5)}, {"b", []int64{4}, rnd(r, 4, 0.5)}}, out: "y", batch: 5},
		{name: "gemm-alpha-beta", in: []int{3}, nodes: []tnode{{"Gemm", []string{"x", "w", "b"}, "y", []*onnxpb.AttributeProto{aFloat("alpha", 0.7), aFloat("beta", 1.5)}}},
			inits: []tinit{{"w", []int64{3, 4}, rnd(r, 12, 0.5)}, {"b", []int64{1, 4}, rnd(r, 4, 0.5)}}, out: "y"},
		{name: "gemm-scalar-bias", in: []int{3}, nodes: []tnode{{"Gemm", []string{"x", "w", "b"}, "y", nil}},
			inits: []tinit{{"w", []int64{3, 2}, rnd(r, 6, 0.5)}, {"b", []int64{}, rnd(r, 1, 0.5)}}, out: "y"},
		{name: "matmul", in: []int{6}, nodes: []tnode{{"MatMul", []string{"x", "w"}, "y", nil}},
			inits: []tinit{{"w", []int64{6, 3}, rnd(r, 18, 0.5)}}, out: "y", batch: 4},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { gradCheck(t, c) })
	}
}

func bnInits(r *rand.Rand, c int) []tinit {
	v := make([]float32, c)
	for i := range v {
		v[i] = float32(0.5 + r.Float64())
	}
	return []tinit{{"g", []int64{int64(c)}, rnd(r, c, 1)}, {"beta", []int64{int64(c)}, rnd(r, c, 1)},
		{"mean", []int64{int64(c)}, rnd(r, c, 0.3)}, {"var", []int64{int64(c)}, v}}
}

func TestGradBatchNorm(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 0))
	bn := []tnode{{"BatchNormalization", []string{"x", "g", "beta", "mean", "var"}, "y", []*onnxpb.AttributeProto{aFloat("epsilon", 1e-3)}}}
	gradCheck(t, gcase{name: "bn-batch-stats", in: []int{3, 4, 2}, nodes: bn, inits: bnInits(r, 3), out: "y", batch: 4, bnMode: true, h: 3e-3})
	gradCheck(t, gcase{name: "bn-frozen", in: []int{3, 2, 2}, nodes: bn, inits: bnInits(r, 3), out: "y", batch: 3})
	gradCheck(t, gcase{name: "bn-1d", in: []int{5}, nodes: bn, inits: bnInits(r, 5), out: "y", batch: 6, bnMode: true, h: 3e-3})
}

func TestGradActivations(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 0))
	clipAttrs := []tinit{{"lo", []int64{}, []float32{-0.5}}, {"hi", []int64{}, []float32{1}}}
	cases := []gcase{
		{name: "relu", nodes: []tnode{{"Relu", []string{"x"}, "y", nil}}, kinks: []float32{0}},
		{name: "clip", nodes: []tnode{{"Clip", []string{"x", "lo", "hi"}, "y", nil}}, inits: clipAttrs, kinks: []float32{-0.5, 1}},
		{name: "clip-min-only", nodes: []tnode{{"Clip", []string{"x", "lo"}, "y", nil}}, inits: clipAttrs[:1], kinks: []float32{-0.5}},
		{name: "hardsigmoid", nodes: []tnode{{"HardSigmoid", []string{"x"}, "y", []*onnxpb.AttributeProto{aFloat("alpha", 0.3), aFloat("beta", 0.4)}}},
			kinks: []float32{-0.4 / 0.3, 0.6 / 0.3}, lo: -4, hi: 4},
		{name: "hardswish", nodes: []tnode{{"HardSwish", []string{"x"}, "y", nil}}, kinks: []float32{-3, 3}, lo: -5, hi: 5},
		{name: "sigmoid", nodes: []tnode{{"Sigmoid", []string{"x"}, "y", nil}}},
		{name: "tanh", nodes: []tnode{{"Tanh", []string{"x"}, "y", nil}}},
		{name: "leakyrelu", nodes: []tnode{{"LeakyRelu", []string{"x"}, "y", []*onnxpb.AttributeProto{aFloat("alpha", 0.1)}}}, kinks: []float32{0}},
	}
	for _, c := range cases {
		c.in = []int{2, 3, 4}
		c.out = "y"
		// A pointwise conv in front gives the activation a trainable input.
		w := tinit{"w", []int64{2, 2, 1, 1}, []float32{1, 0, 0, 1}}
		c.nodes = append([]tnode{{"Mul", []string{"x", "one"}, "x1", nil}}, c.nodes...)
		c.nodes[1].in[0] = "x1"
		c.inits = append(c.inits, tinit{"one", []int64{}, []float32{1}}, w)
		_ = r
		t.Run(c.name, func(t *testing.T) { gradCheck(t, c) })
	}
}

func TestGradBinary(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 0))
	w := func(name string, c int) tinit {
		return tinit{name, []int64{int64(c), int64(c), 1, 1}, rnd(r, c*c, 0.7)}
	}
	cases := []gcase{
		{name: "add-same", in: []int{2, 3, 3}, nodes: []tnode{{"Conv", []string{"x", "w1"}, "a", nil}, {"Add", []string{"a", "x"}, "y", nil}}, inits: []tinit{w("w1", 2)}},
		{name: "sub-same", in: []int{2, 3, 3}, nodes: []tnode{{"Conv", []string{"x", "w1"}, "a", nil}, {"Sub", []string{"x", "a"}, "y", nil}}, inits: []tinit{w("w1", 2)}},
		{name: "mul-se", in: []int{3, 2, 4}, nodes: []tnode{{"GlobalAveragePool", []string{"x"}, "p", nil}, {"Conv", []string{"p", "w1"}, "s", nil},
			{"Sigmoid", []string{"s"}, "g", nil}, {"Mul", []string{"x", "g"}, "y", nil}}, inits: []tinit{w("w1", 3)}},
		{name: "mul-self", in: []int{4}, nodes: []tnode{{"Mul", []string{"x", "x"}, "y", nil}}},
		{name: "mul-const-channel", in: []int{3, 2, 2}, nodes: []tnode{{"Mul", []string{"x", "k"}, "y", nil}}, inits: []tinit{{"k", []int64{3, 1, 1}, rnd(r, 3, 1)}}},
		{name: "add-const-batchaxis", in: []int{2, 3}, nodes: []tnode{{"Add", []string{"k", "x"}, "y", nil}}, inits: []tinit{{"k", []int64{1, 1, 3}, rnd(r, 3, 1)}}},
		{name: "div-const", in: []int{3, 2}, nodes: []tnode{{"Div", []string{"x", "k"}, "y", nil}}, inits: []tinit{{"k", []int64{}, []float32{6}}}},
		{name: "div-act", in: []int{2, 3}, nodes: []tnode{{"Sigmoid", []string{"x"}, "s", nil}, {"Add", []string{"s", "half"}, "d", nil}, {"Div", []string{"x", "d"}, "y", nil}},
			inits: []tinit{{"half", []int64{}, []float32{0.5}}}},
		{name: "hardswish-spelled", in: []int{2, 2, 3}, lo: -5, hi: 5, kinks: []float32{-3, 3},
			nodes: []tnode{{"Add", []string{"x", "three"}, "a", nil}, {"Clip", []string{"a", "zero", "six"}, "c", nil}, {"Mul", []string{"x", "c"}, "m", nil}, {"Div", []string{"m", "six"}, "y", nil}},
			inits: []tinit{{"three", []int64{}, []float32{3}}, {"zero", []int64{}, []float32{0}}, {"six", []int64{}, []float32{6}}}},
	}
	for _, c := range cases {
		c.out = "y"
		t.Run(c.name, func(t *testing.T) { gradCheck(t, c) })
	}
}

func TestGradLayout(t *testing.T) {
	cases := []gcase{
		{name: "gap", in: []int{3, 4, 5}, nodes: []tnode{{"GlobalAveragePool", []string{"x"}, "y", nil}}},
		{name: "flatten", in: []int{3, 2, 2}, nodes: []tnode{{"Flatten", []string{"x"}, "y", nil}}},
		{name: "reshape", in: []int{3, 4}, nodes: []tnode{{"Reshape", []string{"x", "s"}, "y", nil}}, inits: []tinit{{name: "s", shape: []int64{0, 2, -1}}}},
		{name: "reshape-shape-subgraph", in: []int{2, 3, 2}, nodes: []tnode{{"Shape", []string{"x"}, "s", nil},
			{"Slice", []string{"s", "st", "en"}, "b", nil}, {"Concat", []string{"b", "m1"}, "t", []*onnxpb.AttributeProto{aInt("axis", 0)}},
			{"Reshape", []string{"x", "t"}, "y", nil}},
			inits: []tinit{{name: "st", shape: []int64{0}}, {name: "en", shape: []int64{1}}, {name: "m1", shape: []int64{-1}}}},
		{name: "unsqueeze-squeeze", in: []int{3, 4}, nodes: []tnode{{"Unsqueeze", []string{"x", "ax"}, "u", nil}, {"Squeeze", []string{"u", "ax"}, "y", nil}},
			inits: []tinit{{name: "ax", shape: []int64{2}}}},
		{name: "maxpool", in: []int{2, 5, 6}, h: 1e-3, nodes: []tnode{{"MaxPool", []string{"x"}, "y", []*onnxpb.AttributeProto{aInts("kernel_shape", 3, 3), aInts("strides", 2, 2), aInts("pads", 1, 1, 1, 1)}}}},
		{name: "maxpool-ceil", in: []int{2, 6, 6}, h: 1e-3, nodes: []tnode{{"MaxPool", []string{"x"}, "y", []*onnxpb.AttributeProto{aInts("kernel_shape", 2, 2), aInts("strides", 2, 2), aInt("ceil_mode", 1), aInts("pads", 0, 0, 1, 1)}}}},
		{name: "avgpool", in: []int{2, 5, 5}, nodes: []tnode{{"AveragePool", []string{"x"}, "y", []*onnxpb.AttributeProto{aInts("kernel_shape", 3, 3), aInts("strides", 2, 2), aInts("pads", 1, 1, 1, 1)}}}},
		{name: "avgpool-include-pad", in: []int{1, 4, 5}, nodes: []tnode{{"AveragePool", []string{"x"}, "y", []*onnxpb.AttributeProto{aInts("kernel_shape", 3, 2), aInts("pads", 1, 0, 1, 1), aInt("count_include_pad", 1)}}}},
	}
	for _, c := range cases {
		c.out = "y"
		t.Run(c.name, func(t *testing.T) { gradCheck(t, c) })
	}
}

// TestGradNetwork checks a whole depthwise-separable network (stem,
// blocks with residuals, pooling, classifier) with batch statistics.
func TestGradNetwork(t *testing.T) {
	cfg := SeparableNetConfig{Input: [3]int{2, 6, 6}, Stem: 4, StemStride: 1, Classes: 3, Seed: 3,
		Blocks: []SepBlock{{Out: 6, Stride: 2}, {Out: 6, Stride: 1, Residual: true}}}
	mp, err := SeparableNet(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Random statistics keep whole channels off the ReLU6 kinks (with
	// the initial ones, a channel that is all zero sits exactly on one).
	randomizeBN(t, mp, 4)
	// Compare against the composition of the checked ops through the
	// generic checker (float, frozen statistics avoid batch coupling).
	c := gcase{name: "separable", in: []int{2, 6, 6}, out: "logits", batch: 4, h: 1e-3}
	for _, n := range mp.Graph.Node {
		c.nodes = append(c.nodes, tnode{n.GetOpType(), n.Input, n.Output[0], n.Attribute})
	}
	for _, tp := range mp.Graph.Initializer {
		tt, _ := tensor.FromProto(tp)
		c.inits = append(c.inits, tinit{tp.GetName(), tt.Shape, tt.Data.([]float32)})
	}
	c.nodes[0].in[0] = "x"
	c.kinks = nil
	gradCheckNoKinks(t, c)
}

// gradCheckNoKinks runs gradCheck on a network whose ReLU6 kinks are not
// controlled: a step may straddle one, and the float32 forward pass limits
// the precision of small gradients. Of the about 1,000 coordinates
// checked, at most 12 may be off (in practice 4).
func gradCheckNoKinks(t *testing.T, c gcase) {
	t.Helper()
	ft := &countingT{T: t}
	gradCheckT(ft, c)
	if ft.errors > 12 {
		t.Fatalf("%d gradient mismatches: %v", ft.errors, ft.first)
	}
}

type countingT struct {
	*testing.T
	errors int
	first  string
}

func (c *countingT) Errorf(format string, args ...any) {
	c.errors++
	if c.first == "" {
		c.first = fmt.Sprintf(format, args...)
	}
}
