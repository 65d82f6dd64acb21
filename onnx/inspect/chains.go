package inspect

import (
	"github.com/onnx-prom/onnx-prom/onnx/ir"
)

// Chain is two convolutions connected only through per-element or
// per-channel nodes: BatchNormalization, activations (Relu, Clip/ReLU6,
// LeakyRelu, HardSigmoid, HardSwish, SiLU as x*Sigmoid(x), HardSwish spelled
// out as x*Clip(x+3, 0, 6)/6), Mul/Add/Sub/Div/Max/Min by a scalar or
// per-channel constant, and QuantizeLinear/DequantizeLinear with constant
// parameters (so that chains are found in QDQ models too).
type Chain struct {
	// From is the first convolution, To the one its output reaches.
	From, To *ir.Node
	// Between lists the nodes in between, main path and gate branches, in
	// the order they are met.
	Between []*ir.Node
}

// FindChains returns the depthwise -> pointwise chains of g, in node order:
// each depthwise conv (see Classify) whose output reaches a spatial
// pointwise conv through allowed nodes only, every intermediate value read
// once (the gate pattern of SiLU and HardSwish reads it twice).
func FindChains(g *ir.Graph) []Chain { return findChains(g, Depthwise, Pointwise) }

// FindExpansions returns the pointwise -> depthwise chains of g: expansion
// convs of inverted residual blocks, with the same rules as FindChains.
func FindExpansions(g *ir.Graph) []Chain { return findChains(g, Pointwise, Depthwise) }

func findChains(g *ir.Graph, from, to ConvKind) []Chain {
	var out []Chain
	for _, n := range g.Nodes() {
		c, ok := Classify(n)
		if !ok || c.Kind != from {
			continue
		}
		next, between, ok := Follow(n.Output(0))
		if !ok {
			continue
		}
		if d, ok := Classify(next); ok && d.Kind == to {
			out = append(out, Chain{From: n, To: next, Between: between})
		}
	}
	return out
}

// maxBetween bounds how many nodes Follow walks through.
const maxBetween = 64

// Follow walks forward from v through allowed per-element nodes (see Chain)
// and returns the convolution that reads the result as its data input,
// with the nodes passed. ok is false when the path branches, ends, becomes
// a graph output or meets any other node.
func Follow(v *ir.Value) (conv *ir.Node, between []*ir.Node, ok bool) {
	for steps := 0; v != nil && steps < maxBetween; steps++ {
		if v.IsGraphOutput() {
			return nil, nil, false
		}
		uses := v.Uses()
		switch len(uses) {
		case 1:
			u := uses[0]
			if IsConv(u.Node) && u.Index == 0 {
				return u.Node, between, true
			}
			if !passThrough(u.Node, u.Index) {
				return nil, nil, false
			}
			between = append(between, u.Node)
			v = u.Node.Output(0)
		case 2:
			gate, mul, ok := gated(v, uses)
			if !ok {
				return nil, nil, false
			}
			between = append(append(between, gate...), mul)
			v = mul.Output(0)
		default:
			return nil, nil, false
		}
	}
	return nil, nil, false
}

func isDefault(n *ir.Node) bool { return n.Domain == "" || n.Domain == "ai.onnx" }

// passThrough reports whether n, reading the main path at input idx, is an
// allowed per-element or per-channel node.
func passThrough(n *ir.Node, idx int) bool {
	if !isDefault(n) || n.Output(0) == nil || idx < 0 {
		return false
	}
	x := n.Input(idx)
	switch n.OpType {
	case "Relu", "LeakyRelu", "HardSwish", "HardSigmoid", "Sigmoid", "Identity":
		return idx == 0
	case "Clip":
		return idx == 0 && optConst(n.Input(1)) && optConst(n.Input(2))
	case "BatchNormalization":
		if idx != 0 {
			return false
		}
		for i := 1; i <= 4; i++ {
			if !isConstValue(n.Input(i)) {
				return false
			}
		}
		return true
	case "Mul", "Add", "Max", "Min":
		if idx > 1 || len(n.Inputs) != 2 {
			return false
		}
		return channelwise(n.Input(1-idx), x)
	case "Sub", "Div":
		return idx == 0 && channelwise(n.Input(1), x)
	case "QuantizeLinear", "DequantizeLinear":
		return idx == 0 && isConstValue(n.Input(1)) && optConst(n.Input(2))
	}
	return false
}

func optConst(v *ir.Value) bool { return v == nil || isConstValue(v) }

// channelwise reports whether c is a constant that broadcasts against x
// along the channel axis only (a scalar, or shaped [C,1,1] / [1,C,1,1]).
func channelwise(c, x *ir.Value) bool {
	if !isConstValue(c) || c.Shape == nil {
		return false
	}
	rank := 4
	if x != nil && x.Shape != nil {
		rank = len(x.Shape)
	}
	if len(c.Shape) > rank {
		return false
	}
	off := rank - len(c.Shape)
	for i, d := range c.Shape {
		if off+i != 1 && !(d.Known() && d.Value == 1) {
			return false
		}
	}
	return true
}

// scalarConst reports whether v is a constant with one element.
func scalarConst(v *ir.Value) bool {
	if !isConstValue(v) || v.Shape == nil {
		return false
	}
	for _, d := range v.Shape {
		if !d.Known() || d.Value != 1 {
			return false
		}
	}
	return true
}

// gateOp reports whether n may sit on the gate branch of x * gate(x).
func gateOp(n *ir.Node, idx int) bool {
	if !isDefault(n) || n.Output(0) == nil || idx < 0 {
		return false
	}
	switch n.OpType {
	case "Relu", "HardSigmoid", "Sigmoid", "Identity":
		return idx == 0
	case "Clip":
		return idx == 0 && optConst(n.Input(1)) && optConst(n.Input(2))
	case "Add", "Mul":
		return idx <= 1 && scalarConst(n.Input(1-idx))
	case "Sub", "Div":
		return idx == 0 && scalarConst(n.Input(1))
	}
	return false
}

// gated matches v feeding both a gate branch and a Mul that multiplies v by
// the gate's result: SiLU (x*Sigmoid(x)), HardSwish as x*HardSigmoid(x) or
// x*Clip(x+3, 0, 6)/6.
func gated(v *ir.Value, uses []ir.Use) (gate []*ir.Node, mul *ir.Node, ok bool) {
	for _, order := range [][2]int{{0, 1}, {1, 0}} {
		m, g := uses[order[0]], uses[order[1]]
		if m.Node == g.Node || m.Node.OpType != "Mul" || !isDefault(m.Node) || m.Index > 1 || m.Node.Output(0) == nil {
			continue
		}
		other := m.Node.Input(1 - m.Index)
		if gate, ok := walkGate(v, g, m.Node, other); ok {
			return gate, m.Node, true
		}
	}
	return nil, nil, false
}

// walkGate follows a single-use chain of gate ops from use u of v until it
// produces want, the other operand of mul.
func walkGate(v *ir.Value, u ir.Use, mul *ir.Node, want *ir.Value) ([]*ir.Node, bool) {
	var gate []*ir.Node
	for steps := 0; steps < 8; steps++ {
		n := u.Node
		if n == mul || !gateOp(n, u.Index) {
			return nil, false
		}
		gate = append(gate, n)
		out := n.Output(0)
		if out == want {
			return gate, true
		}
		uses := out.Uses()
		if len(uses) != 1 || out.IsGraphOutput() {
			return nil, false
		}
		u = uses[0]
	}
	return nil, false
}
