package train

import (
	"fmt"

	"github.com/onnx-prom/onnx-prom/onnx/ir"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
	"github.com/onnx-prom/onnx-prom/passes"
)

// plan says where the converter (passes.Convert with the same Config)
// will quantize: which nodes become integer kernels, which activations
// they read and write in 8 bits, which weights are ternary and which int8.
// Training simulates exactly these quantizations.
type plan struct {
	ternary map[*ir.Node]bool // selected pointwise convs
	planned map[*ir.Node]bool // nodes rewritten to integer kernels
	fused   map[*ir.Node]*ir.Node
	// produced values are quantized where they are computed: every reader
	// sees the 8-bit value.
	produced map[*ir.Value]bool
	// carried values are outputs of layout ops running on 8-bit data:
	// they carry their input's quantization.
	carried map[*ir.Value]*ir.Value
}

// transparentOps mirror the converter's: layout ops that run on int8.
var transparentOps = map[string]bool{
	"MaxPool": true, "Flatten": true, "Reshape": true, "Squeeze": true,
	"Unsqueeze": true, "Transpose": true, "Identity": true,
}

func isFloatAct(v *ir.Value) bool {
	return v != nil && !v.IsConst() && (v.Type == tensor.Float || v.Type == tensor.Undefined)
}

// selectTernary runs the converter's selection pass on m (which must have
// been through cleanup and fold-bn) and returns the chosen convs.
func selectTernary(m *ir.Model, cfg passes.Config) (map[*ir.Node]bool, error) {
	s := &passes.State{Model: m, Config: cfg}
	if _, err := (passes.Pipeline{passes.InferShapes, passes.SelectPointwise}).Run(s, passes.RunOptions{}); err != nil {
		return nil, err
	}
	sel, ok := passes.Selected(s)
	if !ok {
		return nil, fmt.Errorf("the select pass recorded no selection")
	}
	out := map[*ir.Node]bool{}
	for _, n := range sel {
		out[n] = true
	}
	return out, nil
}

// makePlan mirrors the planning of the converter's quantize pass.
func makePlan(g *ir.Graph, cfg passes.Config, ternary map[*ir.Node]bool) *plan {
	p := &plan{ternary: ternary, planned: map[*ir.Node]bool{}, fused: map[*ir.Node]*ir.Node{},
		produced: map[*ir.Value]bool{}, carried: map[*ir.Value]*ir.Value{}}
	qop := cfg.Format == passes.QOperator
	for _, n := range g.Nodes() {
		if n.Domain != "" || cfg.KeepsFloat(n) || !isFloatAct(n.Input(0)) {
			continue
		}
		switch {
		case n.OpType == "Conv" && convQuantizable(n):
			if act := foldableActivation(cfg, n.Output(0)); act != nil {
				p.fused[n] = act
			}
			p.planned[n] = true
		case (n.OpType == "Gemm" || n.OpType == "MatMul") && matmulQuantizable(n):
			p.planned[n] = true
		case transparentOps[n.OpType]:
			p.planned[n] = true
		case cfg.MicrosoftOps && qop && (n.OpType == "Add" || n.OpType == "Mul"):
			a, b := n.Input(0), n.Input(1)
			if isFloatAct(a) && isFloatAct(b) && a.Shape != nil && a.Shape.Equal(b.Shape) {
				p.planned[n] = true
			}
		case cfg.MicrosoftOps && qop && n.OpType == "GlobalAveragePool":
			p.planned[n] = true
		}
	}
	for changed := true; changed; {
		changed = false
		for _, n := range g.Nodes() {
			if p.planned[n] && transparentOps[n.OpType] {
				pr := n.Input(0).Producer
				if pr == nil || !p.planned[pr] || !qop {
					delete(p.planned, n)
					changed = true
				}
			}
		}
	}
	for _, n := range g.Nodes() {
		if !p.planned[n] {
			continue
		}
		switch {
		case n.OpType == "Conv":
			out := n.Output(0)
			if act := p.fused[n]; act != nil {
				out = act.Output(0)
			}
			p.produced[out] = true
		case transparentOps[n.OpType]:
			p.carried[n.Output(0)] = n.Input(0)
		case n.OpType == "Add" || n.OpType == "Mul" || n.OpType == "GlobalAveragePool":
			p.produced[n.Output(0)] = true
		}
	}
	return p
}

// quantReads lists the inputs a planned node reads in 8 bits.
func (p *plan) quantReads(n *ir.Node) []int {
	if !p.planned[n] {
		return nil
	}
	switch n.OpType {
	case "Conv", "Gemm", "MatMul", "GlobalAveragePool":
		return []int{0}
	case "Add", "Mul":
		return []int{0, 1}
	}
	return nil
}

func convQuantizable(n *ir.Node) bool {
	w := n.Input(1)
	if w == nil || !w.IsConst() || w.Type != tensor.Float || len(w.Shape) != 4 {
		return false
	}
	if b := n.Input(2); b != nil && !b.IsConst() {
		return false
	}
	return n.Input(0).Shape != nil && len(n.Input(0).Shape) == 4
}

func matmulQuantizable(n *ir.Node) bool {
	a, b := n.Input(0), n.Input(1)
	if b == nil || !b.IsConst() || b.Type != tensor.Float || len(b.Shape) != 2 || a.Shape == nil || len(a.Shape) != 2 {
		return false
	}
	if n.OpType == "MatMul" {
		return true
	}
	if c := n.Input(2); c != nil && (!c.IsConst() || c.Type != tensor.Float) {
		return false
	}
	ta, _ := n.AttrInt("transA", 0)
	alpha, _ := n.AttrFloat("alpha", 1)
	beta, _ := n.AttrFloat("beta", 1)
	return ta == 0 && alpha == 1 && beta == 1
}

// foldableActivation is the structural half of the converter's test: a
// Relu, or a Clip with constant bounds and lower bound <= 0, that alone
// reads v. The converter also checks that the quantized range lies within
// the bounds; Export verifies that on the learned ranges.
func foldableActivation(cfg passes.Config, v *ir.Value) *ir.Node {
	if v == nil {
		return nil
	}
	uses := v.Uses()
	if len(uses) != 1 || v.IsGraphOutput() || uses[0].Index != 0 {
		return nil
	}
	act := uses[0].Node
	if act.Domain != "" || cfg.KeepsFloat(act) {
		return nil
	}
	switch act.OpType {
	case "Relu":
		return act
	case "Clip":
		lo, _, ok := passes.ClipBounds(act)
		if ok && lo <= 0 {
			return act
		}
	}
	return nil
}
