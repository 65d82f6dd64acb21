package passes

import (
	"fmt"
	"math"

	"github.com/onnx-prom/onnx-prom/onnx/ir"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
)

// FoldBN folds inference-mode BatchNormalization into the Conv before it;
// a BatchNormalization that cannot fold becomes a per-channel Mul and Add.
var FoldBN = &Pass{
	Name:     "fold-bn",
	Doc:      "fold BatchNormalization into the preceding Conv; other BatchNormalization to per-channel Mul+Add",
	Requires: []string{"cleanup"},
	Run:      runFoldBN,
}

// bnParams are a BatchNormalization's per-channel factor and offset:
// y = x*scale + shift.
type bnParams struct{ scale, shift []float32 }

func readBN(n *ir.Node) (*bnParams, error) {
	if len(n.Inputs) < 5 {
		return nil, fmt.Errorf("BatchNormalization needs 5 inputs")
	}
	var p [4][]float32
	for i := 1; i <= 4; i++ {
		v := n.Input(i)
		if v == nil || !v.IsConst() {
			return nil, nil // not constant: leave it alone
		}
		f, _, err := floatConst(v)
		if err != nil {
			return nil, err
		}
		p[i-1] = f
	}
	c := len(p[0])
	for i := 1; i < 4; i++ {
		if len(p[i]) != c {
			return nil, fmt.Errorf("BatchNormalization parameters have %d and %d channels", c, len(p[i]))
		}
	}
	eps, err := n.AttrFloat("epsilon", 1e-5)
	if err != nil {
		return nil, err
	}
	if tm, _ := n.AttrInt("training_mode", 0); tm != 0 {
		return nil, nil
	}
	out := &bnParams{scale: make([]float32, c), shift: make([]float32, c)}
	for i := 0; i < c; i++ {
		gamma, beta, mean, variance := float64(p[0][i]), float64(p[1][i]), float64(p[2][i]), float64(p[3][i])
		if variance+float64(eps) <= 0 {
			return nil, fmt.Errorf("channel %d has variance %g + epsilon %g <= 0", i, variance, eps)
		}
		s := gamma / math.Sqrt(variance+float64(eps))
		out.scale[i] = float32(s)
		out.shift[i] = float32(beta - mean*s)
	}
	return out, nil
}

func runFoldBN(s *State) (Result, error) {
	g := s.Model.Graph
	st := map[string]int{}
	for _, bn := range g.Nodes() {
		if bn.Domain != "" || bn.OpType != "BatchNormalization" || len(bn.Outputs) < 1 {
			continue
		}
		if len(bn.Outputs) > 1 && anyUsed(bn.Outputs[1:]) {
			continue // training outputs are read
		}
		p, err := readBN(bn)
		if err != nil {
			return Result{}, fmt.Errorf("node %s: %w", bn.Label(), err)
		}
		if p == nil {
			continue
		}
		x := bn.Input(0)
		if conv := x.Producer; conv != nil && conv.OpType == "Conv" && conv.Domain == "" && x.NumUses() == 1 && !x.IsGraphOutput() {
			ok, err := foldIntoConv(g, conv, p)
			if err != nil {
				return Result{}, fmt.Errorf("node %s: %w", conv.Label(), err)
			}
			if ok {
				g.ReplaceAllUses(bn.Output(0), x)
				g.RemoveNode(bn)
				st["folded"]++
				continue
			}
		}
		if err := bnToMulAdd(g, bn, p); err != nil {
			return Result{}, fmt.Errorf("node %s: %w", bn.Label(), err)
		}
		st["to mul+add"]++
	}
	st["unused initializers"] = g.RemoveUnusedInitializers()
	return Result{Changed: st["folded"] + st["to mul+add"], Stats: st}, nil
}

func anyUsed(vs []*ir.Value) bool {
	for _, v := range vs {
		if v != nil && (v.NumUses() > 0 || v.IsGraphOutput()) {
			return true
		}
	}
	return false
}

// foldIntoConv scales conv's weights and bias by p. It reports false when
// the weights are not constant.
func foldIntoConv(g *ir.Graph, conv *ir.Node, p *bnParams) (bool, error) {
	wv := conv.Input(1)
	if wv == nil || !wv.IsConst() {
		return false, nil
	}
	w, shape, err := floatConst(wv)
	if err != nil {
		return false, err
	}
	m := len(p.scale)
	if len(shape) < 1 || shape[0] != int64(m) {
		return false, fmt.Errorf("weight shape %v does not have %d output channels", shape, m)
	}
	bias := make([]float32, m)
	if bv := conv.Input(2); bv != nil {
		if !bv.IsConst() {
			return false, nil
		}
		b, _, err := floatConst(bv)
		if err != nil {
			return false, err
		}
		if len(b) != m {
			return false, fmt.Errorf("bias has %d values, want %d", len(b), m)
		}
		copy(bias, b)
	}
	per := len(w) / m
	nw := make([]float32, len(w))
	for o := 0; o < m; o++ {
		for j := 0; j < per; j++ {
			nw[o*per+j] = w[o*per+j] * p.scale[o]
		}
		bias[o] = bias[o]*p.scale[o] + p.shift[o]
	}
	newW, err := g.AddConst(wv.Name+"_bnfold", tensor.FromFloat32(nw, shape...))
	if err != nil {
		return false, err
	}
	newB, err := g.AddConst(conv.Name+".bias_bnfold", tensor.FromFloat32(bias, int64(m)))
	if err != nil {
		return false, err
	}
	conv.SetInput(1, newW)
	conv.SetInput(2, newB)
	return true, nil
}

// bnToMulAdd replaces bn by x*scale + shift with constants shaped [C,1,...,1].
func bnToMulAdd(g *ir.Graph, bn *ir.Node, p *bnParams) error {
	x := bn.Input(0)
	rank := len(x.Shape)
	if x.Shape == nil {
		rank = 4 // the common case; shape inference runs later and checks it
	}
	if rank < 2 {
		return fmt.Errorf("input rank %d, want at least 2", rank)
	}
	shape := make([]int64, rank-1)
	shape[0] = int64(len(p.scale))
	for i := 1; i < len(shape); i++ {
		shape[i] = 1
	}
	sc, err := g.AddConst(bn.Name+".scale", tensor.FromFloat32(p.scale, shape...))
	if err != nil {
		return err
	}
	sh, err := g.AddConst(bn.Name+".shift", tensor.FromFloat32(p.shift, shape...))
	if err != nil {
		return err
	}
	mul := g.NewNode("Mul", "", bn.Name+"/mul", []*ir.Value{x, sc}, 1, bn)
	add := g.NewNode("Add", "", bn.Name+"/add", []*ir.Value{mul.Outputs[0], sh}, 1, bn)
	mul.Outputs[0].Type, mul.Outputs[0].Shape = x.Type, x.Shape
	g.ReplaceAllUses(bn.Output(0), add.Outputs[0])
	g.RemoveNode(bn)
	return nil
}

// floatConst decodes a constant value as float32 with its shape.
func floatConst(v *ir.Value) ([]float32, []int64, error) {
	t, err := v.Tensor()
	if err != nil {
		return nil, nil, err
	}
	switch t.Type {
	case tensor.Float, tensor.Double, tensor.Float16, tensor.BFloat16T:
	default:
		return nil, nil, fmt.Errorf("initializer %q is %s, want a float type", v.Name, tensor.Name(t.Type))
	}
	f, err := t.Float32s()
	if err != nil {
		return nil, nil, fmt.Errorf("initializer %q: %w", v.Name, err)
	}
	return f, t.Shape, nil
}
