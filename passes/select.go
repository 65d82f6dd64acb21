package passes

import (
	"fmt"
	"sort"

	"github.com/onnx-prom/onnx-prom/onnx/inspect"
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

// Selected returns the convs the select pass chose for ternarization.
func Selected(s *State) ([]*ir.Node, bool) { return Fact[[]*ir.Node](s, factSelected) }

// SelectPointwise chooses the pointwise convolutions to ternarize
// (Config.Select, Include, Exclude, TernarizeSE).
var SelectPointwise = &Pass{
	Name:     "select",
	Doc:      "match the depthwise-separable structure and choose the pointwise convs to ternarize",
	Requires: []string{"shapes"},
	Run:      runSelect,
}

// adjacentToDepthwise reports whether conv reads from, or feeds, a
// depthwise conv in a depthwise-separable chain (onnx/inspect's matcher:
// normalization, activations and scalar ops may sit in between).
func adjacentToDepthwise(conv *ir.Node, chains, expansions []inspect.Chain) bool {
	for _, c := range chains {
		if c.To == conv {
			return true
		}
	}
	for _, c := range expansions {
		if c.From == conv {
			return true
		}
	}
	return false
}

func runSelect(s *State) (Result, error) {
	c := s.Config
	include, exclude := nameSet(c.Include), nameSet(c.Exclude)
	var chosen []*ir.Node
	st := map[string]int{}
	g := s.Model.Graph
	chains, expansions := inspect.FindChains(g), inspect.FindExpansions(g)
	for _, n := range g.Nodes() {
		if n.Domain != "" || n.OpType != "Conv" {
			continue
		}
		info, _ := inspect.Classify(n)
		switch info.Kind {
		case inspect.Pointwise:
			st["pointwise"]++
		case inspect.SqueezeExcite:
			st["squeeze-excite"]++
		case inspect.Depthwise:
			st["depthwise"]++
		}
		w := n.Input(1)
		eligible := (info.Kind == inspect.Pointwise || info.Kind == inspect.SqueezeExcite && c.TernarizeSE) && w != nil && w.IsConst()
		pick := false
		switch c.Select {
		case SelectSpatial:
			pick = eligible
		case SelectAdjacent:
			pick = eligible && adjacentToDepthwise(n, chains, expansions)
		}
		if include[n.Name] {
			if n.OpType != "Conv" || w == nil || !w.IsConst() {
				return Result{}, fmt.Errorf("--include %q: not a Conv with constant weights", n.Name)
			}
			pick = true
			delete(include, n.Name)
		}
		if exclude[n.Name] || c.KeepsFloat(n) {
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
