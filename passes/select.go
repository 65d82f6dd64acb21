package passes

import (
	"fmt"
	"sort"

	"github.com/onnx-prom/onnx-prom/onnx/ir"
	"github.com/onnx-prom/onnx-prom/onnx/shapes"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
)

// InferShapes runs shape and type inference (onnx/shapes).
var InferShapes = &Pass{
	Name: "shapes",
	Doc:  "infer element types and shapes of every value",
	Run: func(s *State) (Result, error) {
		if err := shapes.Infer(s.Model); err != nil {
			return Result{}, err
		}
		known := 0
		for _, n := range s.Model.Graph.Nodes() {
			for _, v := range n.Outputs {
				if v != nil && v.Shape != nil {
					known++
				}
			}
		}
		return Result{Stats: map[string]int{"values with shapes": known}}, nil
	},
}

// factSelected holds the convs chosen for ternarization ([]*ir.Node).
const factSelected = "selected"

// SelectPointwise chooses the pointwise convolutions to ternarize
// (Config.Select, Include, Exclude, TernarizeSE).
var SelectPointwise = &Pass{
	Name:     "select",
	Doc:      "match the depthwise-separable structure and choose the pointwise convs to ternarize",
	Requires: []string{"shapes"},
	Run:      runSelect,
}

// ConvKind classifies a Conv node.
type ConvKind int

const (
	OtherConv ConvKind = iota
	// Pointwise is a 1x1, group-1 conv on a spatial tensor.
	Pointwise
	// SqueezeExcite is a 1x1 conv on a pooled (1x1 spatial) tensor.
	SqueezeExcite
	// Depthwise is a conv with group == input channels == output channels > 1.
	Depthwise
)

// ClassifyConv tells depthwise, pointwise and squeeze-excite convs apart.
// It needs constant weights and, to tell squeeze-excite convs, the input's
// spatial shape (from shape inference) or a pooling producer.
func ClassifyConv(n *ir.Node) ConvKind {
	if n.Domain != "" || n.OpType != "Conv" {
		return OtherConv
	}
	w := n.Input(1)
	if w == nil || len(w.Shape) < 3 {
		return OtherConv
	}
	group, err := n.AttrInt("group", 1)
	if err != nil {
		return OtherConv
	}
	dims, ok := w.Shape.Ints()
	if !ok {
		return OtherConv
	}
	if group > 1 && dims[1] == 1 && dims[0] == group {
		return Depthwise
	}
	for _, k := range dims[2:] {
		if k != 1 {
			return OtherConv
		}
	}
	if group != 1 {
		return OtherConv
	}
	if pooled(n.Input(0)) {
		return SqueezeExcite
	}
	return Pointwise
}

// pooled reports whether x has spatial size 1 or comes from a global pool.
func pooled(x *ir.Value) bool {
	if x.Shape != nil && len(x.Shape) > 2 {
		all1 := true
		for _, d := range x.Shape[2:] {
			if !d.Known() || d.Value != 1 {
				all1 = false
			}
		}
		if all1 {
			return true
		}
	}
	for p := x.Producer; p != nil; {
		switch p.OpType {
		case "GlobalAveragePool", "GlobalMaxPool", "ReduceMean", "ReduceMax":
			return true
		}
		if !passThrough(p) {
			return false
		}
		p = p.Input(0).Producer
	}
	return false
}

// passThrough reports whether n may sit between a depthwise and a
// pointwise conv in a depthwise-separable block: normalization, an
// activation, or a scalar Mul/Add/Sub/Div (which also spells HardSwish as
// x * Clip(x + 3, 0, 6) / 6).
func passThrough(n *ir.Node) bool {
	if n.Domain != "" {
		return false
	}
	switch n.OpType {
	case "BatchNormalization", "Relu", "Clip", "HardSwish", "HardSigmoid", "Sigmoid", "LeakyRelu", "PRelu", "Identity":
		return true
	case "Mul", "Add", "Sub", "Div":
		for _, in := range n.Inputs[1:] {
			if in != nil && in.IsConst() && in.Shape != nil {
				if sz, ok := in.Shape.Ints(); ok {
					if cnt, _ := tensor.NumElements(sz); cnt == 1 {
						return true
					}
				}
			}
		}
		// x * f(x): HardSwish or SiLU spelled out; the other operand derives
		// from the same tensor.
		return len(n.Inputs) == 2 && n.Inputs[0] != nil && n.Inputs[1] != nil
	}
	return false
}

// adjacentToDepthwise reports whether conv reads from, or feeds, a
// depthwise conv through pass-through ops only.
func adjacentToDepthwise(conv *ir.Node) bool {
	for p := conv.Input(0).Producer; p != nil; p = p.Input(0).Producer {
		if ClassifyConv(p) == Depthwise {
			return true
		}
		if !passThrough(p) {
			break
		}
	}
	seen := map[*ir.Node]bool{}
	var forward func(v *ir.Value, depth int) bool
	forward = func(v *ir.Value, depth int) bool {
		if depth > 8 {
			return false
		}
		for _, u := range v.Uses() {
			n := u.Node
			if seen[n] {
				continue
			}
			seen[n] = true
			if ClassifyConv(n) == Depthwise {
				return true
			}
			if passThrough(n) && n.Output(0) != nil && forward(n.Output(0), depth+1) {
				return true
			}
		}
		return false
	}
	return forward(conv.Output(0), 0)
}

func runSelect(s *State) (Result, error) {
	c := s.Config
	include, exclude := nameSet(c.Include), nameSet(c.Exclude)
	var chosen []*ir.Node
	st := map[string]int{}
	for _, n := range s.Model.Graph.Nodes() {
		kind := ClassifyConv(n)
		switch kind {
		case Pointwise:
			st["pointwise"]++
		case SqueezeExcite:
			st["squeeze-excite"]++
		case Depthwise:
			st["depthwise"]++
		}
		w := n.Input(1)
		eligible := (kind == Pointwise || kind == SqueezeExcite && c.TernarizeSE) && w != nil && w.IsConst()
		pick := false
		switch c.Select {
		case SelectSpatial:
			pick = eligible
		case SelectAdjacent:
			pick = eligible && adjacentToDepthwise(n)
		}
		if include[n.Name] {
			if n.OpType != "Conv" || w == nil || !w.IsConst() {
				return Result{}, fmt.Errorf("--include %q: not a Conv with constant weights", n.Name)
			}
			pick = true
			delete(include, n.Name)
		}
		if exclude[n.Name] || c.keepsFloat(n) {
			pick = false
		}
		if pick {
			chosen = append(chosen, n)
		}
	}
	if len(include) > 0 {
		var missing []string
		for name := range include {
			missing = append(missing, name)
		}
		sort.Strings(missing)
		return Result{}, fmt.Errorf("--include names no node: %v", missing)
	}
	s.SetFact(factSelected, chosen)
	st["selected"] = len(chosen)
	return Result{Changed: len(chosen), Stats: st}, nil
}

func nameSet(names []string) map[string]bool {
	out := map[string]bool{}
	for _, n := range names {
		out[n] = true
	}
	return out
}

// factTernary holds the ternary weights per selected conv
// (map[*ir.Node]*TernaryWeights).
const factTernary = "ternary"

// Ternarize replaces each selected conv's weights by their ternary form
// (still float, so calibration sees the ternary network) and records codes
// and scales for the quantize pass.
var Ternarize = &Pass{
	Name:     "ternarize",
	Doc:      "ternarize the selected pointwise conv weights per output channel (exact for QAT exports, else TWN or absmean)",
	Requires: []string{"select"},
	Run:      runTernarize,
}

func runTernarize(s *State) (Result, error) {
	selected, _ := Fact[[]*ir.Node](s, factSelected)
	out := map[*ir.Node]*TernaryWeights{}
	st := map[string]int{}
	approx := 0
	for _, n := range selected {
		wv := n.Input(1)
		w, shape, err := floatConst(wv)
		if err != nil {
			return Result{}, fmt.Errorf("node %s: %w", n.Label(), err)
		}
		tw := TernarizeWeights(w, shape, s.Config.Rule)
		out[n] = tw
		st["channels"] += tw.Channels()
		st["exact channels"] += tw.Exact
		st["zero codes"] += tw.Zeros
		st["weights"] += len(tw.Codes)
		if tw.Exact < tw.Channels() {
			approx++
		}
		// Tied weights: a fresh initializer, so other readers keep theirs.
		nv, err := s.Model.Graph.AddConst(wv.Name+"_ternary_float", tensor.FromFloat32(tw.Dequantized(), shape...))
		if err != nil {
			return Result{}, err
		}
		n.SetInput(1, nv)
	}
	s.Model.Graph.RemoveUnusedInitializers()
	s.SetFact(factTernary, out)
	if approx > 0 {
		s.Warnf("%d of %d convs were ternarized after training (rule %s), which costs accuracy; onnx-prom finetune (QAT) recovers it", approx, len(selected), s.Config.Rule)
	}
	st["convs"] = len(selected)
	return Result{Changed: len(selected), Stats: st}, nil
}
