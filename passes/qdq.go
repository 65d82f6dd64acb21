package passes

import (
	"fmt"
	"math"

	"github.com/onnx-prom/onnx-prom/onnx/ir"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
)

// AbsorbQDQ reads what a quantization-aware-training export says in
// QuantizeLinear/DequantizeLinear pairs and folds the pairs away: an
// activation pair gives the activation's range (used instead of
// calibration), a dequantized constant weight becomes a float weight on its
// grid, and the int8 grid's per-channel scales are kept so that the
// quantize pass reproduces the same codes.
var AbsorbQDQ = &Pass{
	Name:     "absorb-qdq",
	Doc:      "take activation ranges and weight grids from Q/DQ pairs of a QAT export, and fold the pairs away",
	Requires: []string{"cleanup"},
	Run:      runAbsorbQDQ,
}

// factWeightScales maps weight initializer names to per-output-channel
// int8 scales read from the input's DequantizeLinear nodes.
const factWeightScales = "weight scales"

func runAbsorbQDQ(s *State) (Result, error) {
	g := s.Model.Graph
	ranges := Ranges{}
	scales, _ := Fact[map[string][]float32](s, factWeightScales)
	if scales == nil {
		scales = map[string][]float32{}
	}
	st := map[string]int{}
	for _, n := range g.Nodes() {
		if n.Domain != "" || n.Output(0) == nil {
			continue
		}
		switch n.OpType {
		case "DequantizeLinear":
			if x := n.Input(0); x != nil && x.IsConst() && allConst(n.Inputs[1:]) {
				if err := foldConstDQ(g, n, scales); err != nil {
					return Result{}, fmt.Errorf("node %s: %w", n.Label(), err)
				}
				st["weights"]++
			}
		case "QuantizeLinear":
			ok, err := absorbActivationPair(g, n, ranges)
			if err != nil {
				return Result{}, fmt.Errorf("node %s: %w", n.Label(), err)
			}
			if ok {
				st["activation pairs"]++
			}
		}
	}
	if len(ranges) > 0 {
		s.SetRanges(ranges)
	}
	s.SetFact(factWeightScales, scales)
	st["unused initializers"] = g.RemoveUnusedInitializers()
	return Result{Changed: st["weights"] + st["activation pairs"], Stats: st}, nil
}

func allConst(vs []*ir.Value) bool {
	for _, v := range vs {
		if v != nil && !v.IsConst() {
			return false
		}
	}
	return true
}

// qdqParams decodes a Q or DQ node's scale, zero point and axis.
type qdqParams struct {
	scale []float64
	zero  []int64
	axis  int64
	dt    tensor.DataType
}

func readQDQParams(n *ir.Node, zeroType tensor.DataType) (*qdqParams, error) {
	sc, err := n.Input(1).Tensor()
	if err != nil {
		return nil, err
	}
	p := &qdqParams{dt: zeroType}
	if p.scale, err = sc.Float64s(); err != nil {
		return nil, err
	}
	if zv := n.Input(2); zv != nil {
		zt, err := zv.Tensor()
		if err != nil {
			return nil, err
		}
		if p.zero, err = zt.Int64s(); err != nil {
			return nil, err
		}
		p.dt = zt.Type
		if len(p.zero) != len(p.scale) {
			return nil, fmt.Errorf("zero point has %d values, scale %d", len(p.zero), len(p.scale))
		}
	} else {
		p.zero = make([]int64, len(p.scale))
	}
	if p.axis, err = n.AttrInt("axis", 1); err != nil {
		return nil, err
	}
	if bs, _ := n.AttrInt("block_size", 0); bs != 0 {
		return nil, fmt.Errorf("blocked quantization is not absorbed")
	}
	return p, nil
}

// foldConstDQ replaces DequantizeLinear(constant) by its float result.
func foldConstDQ(g *ir.Graph, n *ir.Node, scales map[string][]float32) error {
	x, err := n.Input(0).Tensor()
	if err != nil {
		return err
	}
	p, err := readQDQParams(n, x.Type)
	if err != nil {
		return err
	}
	q, err := x.Int64s()
	if err != nil {
		return err
	}
	axis := p.axis
	if axis < 0 {
		axis += int64(len(x.Shape))
	}
	inner, channels := 1, 1
	if len(p.scale) > 1 {
		if axis < 0 || axis >= int64(len(x.Shape)) || x.Shape[axis] != int64(len(p.scale)) {
			return fmt.Errorf("%d scales for axis %d of shape %v", len(p.scale), p.axis, x.Shape)
		}
		channels = int(x.Shape[axis])
		for _, d := range x.Shape[axis+1:] {
			inner *= int(d)
		}
	}
	f := make([]float32, len(q))
	for i, v := range q {
		c := (i / inner) % channels
		f[i] = float32(float64(v-p.zero[c]) * p.scale[c])
	}
	out := n.Output(0)
	v, err := g.AddConst(out.Name, tensor.FromFloat32(f, x.Shape...))
	if err != nil {
		return err
	}
	symmetric := true
	for _, z := range p.zero {
		symmetric = symmetric && z == 0
	}
	if symmetric && (axis == 0 || len(p.scale) == 1) && len(x.Shape) > 0 && (x.Type == tensor.Int8 || x.Type == tensor.Int4 || x.Type == tensor.Int2) {
		per := make([]float32, x.Shape[0])
		for i := range per {
			per[i] = float32(p.scale[i%len(p.scale)])
		}
		scales[v.Name] = per
	}
	g.ReplaceAllUses(out, v)
	g.RemoveNode(n)
	return nil
}

// absorbActivationPair removes x -> QuantizeLinear -> DequantizeLinear
// (same per-tensor parameters) and records the range the pair represents.
func absorbActivationPair(g *ir.Graph, qn *ir.Node, ranges Ranges) (bool, error) {
	x, qo := qn.Input(0), qn.Output(0)
	if x == nil || x.IsConst() || !allConst(qn.Inputs[1:]) || qo.IsGraphOutput() || qo.NumUses() == 0 {
		return false, nil
	}
	qp, err := readQDQParams(qn, tensor.Uint8)
	if err != nil || len(qp.scale) != 1 {
		return false, err
	}
	uses := qo.Uses()
	for _, u := range uses {
		d := u.Node
		if d.OpType != "DequantizeLinear" || d.Domain != "" || u.Index != 0 || !allConst(d.Inputs[1:]) {
			return false, nil
		}
		if d.Output(0).IsGraphOutput() && (x.IsGraphInput() || x.IsGraphOutput()) {
			return false, nil // removing the pair would rename a graph output
		}
		dp, err := readQDQParams(d, qp.dt)
		if err != nil || len(dp.scale) != 1 || float32(dp.scale[0]) != float32(qp.scale[0]) || dp.zero[0] != qp.zero[0] {
			return false, err
		}
	}
	lo, hi := qrange(qp.dt)
	if qp.dt != tensor.Int8 && qp.dt != tensor.Uint8 {
		return false, nil
	}
	s := qp.scale[0]
	if !(s > 0) || math.IsInf(s, 0) {
		return false, fmt.Errorf("scale %g", s)
	}
	r := Range{Min: float32(float64(lo-qp.zero[0]) * s), Max: float32(float64(hi-qp.zero[0]) * s)}
	ranges[x.Name] = r
	for _, u := range uses {
		d := u.Node
		g.ReplaceAllUses(d.Output(0), x)
		g.RemoveNode(d)
	}
	g.RemoveNode(qn)
	return true, nil
}

// gridCodes returns the int8 codes of w on the per-channel grid scales when
// every weight is exactly code·scale with |code| <= qmax.
func gridCodes(w []float32, scales []float32, qmax float64) ([]int8, bool) {
	per := len(w) / len(scales)
	codes := make([]int8, len(w))
	for i, v := range w {
		s := scales[i/per]
		c := math.RoundToEven(float64(v) / float64(s))
		if math.Abs(c) > qmax || float32(c*float64(s)) != v {
			return nil, false
		}
		codes[i] = int8(c)
	}
	return codes, true
}
