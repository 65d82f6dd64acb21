package train

import (
	"fmt"

	"github.com/onnx-prom/onnx-prom/onnx/ir"
	"github.com/onnx-prom/onnx-prom/passes"
)

// plan says where the converter (passes.Convert with the same Config)
// will quantize: which nodes become integer kernels, which activations
// they read and write in 8 bits, which weights are ternary and which int8.
// Training simulates exactly these quantizations. The decisions are the
// converter's own (passes.PlanQuantizationUncalibrated); plan adds the
// ternary selection.
type plan struct {
	*passes.QuantPlan
	ternary map[*ir.Node]bool // selected pointwise convs
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

// makePlan plans the quantization of g as the converter's quantize pass
// will, before the ranges are learned, with the given ternary convs.
func makePlan(g *ir.Graph, cfg passes.Config, ternary map[*ir.Node]bool) *plan {
	return &plan{QuantPlan: passes.PlanQuantizationUncalibrated(g, cfg), ternary: ternary}
}

// quantReads lists the inputs a planned node reads in 8 bits.
func (p *plan) quantReads(n *ir.Node) []int {
	if !p.Rewritten[n] {
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
