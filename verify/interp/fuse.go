package interp

import (
	"fmt"
	"math"

	"github.com/onnx-prom/onnx-prom/onnx/ir"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
)

// Fusion (Options.Fuse) rewrites the compiled copy of the graph the way
// inference runtimes do, so that a CNN makes fewer passes over memory:
//
//   - Conv → BatchNormalization (inference, constant parameters) becomes
//     one Conv whose constant weights and bias have the normalization
//     folded in: W'[m] = W[m]·s[m], B'[m] = (B[m] − mean[m])·s[m] + β[m]
//     with s = γ/√(var + ε), computed in float64 and rounded to float32.
//   - Conv → Relu or Clip (constant bounds) becomes one ConvAct node of the
//     internal domain InternalDomain, a Conv that clamps each tile of its
//     output while it is still in cache.
//
// A chain is fused only where the intermediate value has no other reader
// and is not a graph output; the fused node writes the last value of the
// chain under its name, so graph outputs and later nodes are unchanged.
// Folding rounds differently from running the two ops (results differ in
// the last bits, like ONNX Runtime's own fusion), and the intermediate
// values are no longer computed, so RunOptions.Observe does not see them:
// the interpreter fuses only when asked.

// InternalDomain is the domain of the ops the interpreter itself introduces
// when it fuses nodes (Options.Fuse); models must not use it.
const InternalDomain = "dev.onnxprom.interp"

func init() {
	Register(InternalDomain, "ConvAct", buildConvAct)
}

// fuseGraph applies the fusions to g, in node order.
func fuseGraph(g *ir.Graph) error {
	for _, n := range g.Nodes() {
		if n.Domain != "" || n.OpType != "BatchNormalization" {
			continue
		}
		conv := fusibleProducer(g, n, "Conv")
		if conv == nil {
			continue
		}
		if err := foldBatchNorm(g, conv, n); err != nil {
			return fmt.Errorf("fusing node %s into node %s: %w", n.Label(), conv.Label(), err)
		}
	}
	for _, n := range g.Nodes() {
		if n.Domain != "" || (n.OpType != "Relu" && n.OpType != "Clip") {
			continue
		}
		conv := fusibleProducer(g, n, "Conv")
		if conv == nil || !isConstFloat(conv.Input(1)) {
			continue
		}
		lo, hi, ok := constBounds(g, n)
		if !ok {
			continue
		}
		conv.OpType, conv.Domain = "ConvAct", InternalDomain
		conv.SetAttr(ir.FloatAttr("activation_min", lo))
		conv.SetAttr(ir.FloatAttr("activation_max", hi))
		absorb(g, conv, n)
	}
	g.RemoveUnusedInitializers()
	return nil
}

// fusibleProducer returns the node of type op that computes n's first input
// when n is its only reader and the value is not a graph output. (Callers
// also require the producer's weights to be a float32 constant, which makes
// the value float32.)
func fusibleProducer(g *ir.Graph, n *ir.Node, op string) *ir.Node {
	x := n.Input(0)
	if x == nil || x.Producer == nil || x.NumUses() != 1 || x.IsGraphOutput() {
		return nil
	}
	p := x.Producer
	if p.Domain != "" || p.OpType != op || len(p.Outputs) != 1 {
		return nil
	}
	for _, o := range n.Outputs[1:] {
		if o != nil {
			return nil
		}
	}
	if n.Output(0) == nil || g.Opset("") < 7 {
		return nil
	}
	return p
}

// absorb makes producer p write n's output in n's place and removes n.
func absorb(g *ir.Graph, p, n *ir.Node) {
	y := n.Outputs[0]
	mid := p.Outputs[0]
	n.Outputs[0] = nil
	g.RemoveNode(n)
	p.Outputs[0] = y
	y.Producer = p
	mid.Producer = nil
}

// foldBatchNorm folds inference BatchNormalization bn into conv's constant
// weights and bias, and removes bn.
func foldBatchNorm(g *ir.Graph, conv, bn *ir.Node) error {
	if g.Opset("") >= 14 {
		if tm, err := bn.AttrInt("training_mode", 0); err != nil || tm != 0 {
			return nil
		}
	}
	if g.Opset("") < 9 {
		if sp, err := bn.AttrInt("spatial", 1); err != nil || sp != 1 {
			return nil
		}
	}
	eps, err := bn.AttrFloat("epsilon", 1e-5)
	if err != nil {
		return nil
	}
	w := constFloats(conv.Input(1))
	if w == nil || len(conv.Inputs) > 3 {
		return nil
	}
	ws := conv.Input(1).Shape
	if len(ws) < 3 || ws[0].Value <= 0 {
		return nil // not a conv weight: the Conv kernel will say why
	}
	m := int(ws[0].Value)
	var b []float32
	if len(conv.Inputs) == 3 && conv.Input(2) != nil {
		if b = constFloats(conv.Input(2)); len(b) != m {
			return nil
		}
	}
	var p [4][]float32
	for i := range p {
		if p[i] = constFloats(bn.Input(i + 1)); len(p[i]) != m {
			return nil
		}
	}
	if m == 0 || len(w)%m != 0 {
		return nil
	}
	per := len(w) / m
	nw := make([]float32, len(w))
	nb := make([]float32, m)
	for o := 0; o < m; o++ {
		s := float64(p[0][o]) / math.Sqrt(float64(p[3][o])+float64(eps))
		for i := o * per; i < (o+1)*per; i++ {
			nw[i] = float32(float64(w[i]) * s)
		}
		var bias float64
		if b != nil {
			bias = float64(b[o])
		}
		nb[o] = float32((bias-float64(p[2][o]))*s + float64(p[1][o]))
	}
	shape, _ := ws.Ints()
	wv, err := g.AddConst(conv.Input(1).Name+"_bn", tensor.FromFloat32(nw, shape...))
	if err != nil {
		return err
	}
	bv, err := g.AddConst(conv.Output(0).Name+"_bias", tensor.FromFloat32(nb, int64(m)))
	if err != nil {
		return err
	}
	conv.SetInputs(conv.Input(0), wv, bv)
	absorb(g, conv, bn)
	return nil
}

// isConstFloat reports whether v is a constant float32 value with a known
// shape (without decoding it).
func isConstFloat(v *ir.Value) bool {
	if v == nil || !v.IsConst() || v.Type != tensor.Float {
		return false
	}
	_, ok := v.Shape.Ints()
	return ok
}

// constFloats decodes a constant float32 value with a known shape; nil
// when v is not one.
func constFloats(v *ir.Value) []float32 {
	if !isConstFloat(v) {
		return nil
	}
	t, err := v.Tensor()
	if err != nil {
		return nil
	}
	f, ok := t.Data.([]float32)
	if !ok {
		return nil
	}
	return f
}

// constBounds returns the clamp of a Relu, or of a Clip whose bounds are
// constant scalars (attributes before opset 11, inputs since).
func constBounds(g *ir.Graph, n *ir.Node) (lo, hi float32, ok bool) {
	lo, hi = float32(math.Inf(-1)), float32(math.Inf(1))
	if n.OpType == "Relu" {
		return 0, hi, true
	}
	if g.Opset("") < 11 {
		var err1, err2 error
		lo, err1 = n.AttrFloat("min", lo)
		hi, err2 = n.AttrFloat("max", hi)
		return lo, hi, err1 == nil && err2 == nil
	}
	for i, dst := range []*float32{&lo, &hi} {
		v := n.Input(i + 1)
		if v == nil {
			continue
		}
		f := constFloats(v)
		if len(f) != 1 {
			return 0, 0, false
		}
		*dst = f[0]
	}
	return lo, hi, true
}

// buildConvAct builds the Conv+activation node fuseGraph makes: a Conv
// with attributes activation_min and activation_max.
func buildConvAct(n *Node) (Kernel, error) {
	k, err := buildConv(n)
	if err != nil {
		return nil, err
	}
	lo, err := n.AttrFloat("activation_min", float32(math.Inf(-1)))
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	hi, err := n.AttrFloat("activation_max", float32(math.Inf(1)))
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	ck := k.(*convKernel)
	ck.clamp = &[2]float32{lo, hi}
	return ck, nil
}
