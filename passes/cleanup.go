package passes

import (
	"fmt"

	"github.com/onnx-prom/onnx-prom/onnx/ir"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
)

// Cleanup removes Identity and inference-time Dropout, turns Constant
// nodes into initializers, and drops dead nodes and unused initializers.
var Cleanup = &Pass{
	Name: "cleanup",
	Doc:  "remove Identity and Dropout, Constant nodes to initializers, drop dead nodes and unused initializers",
	Run:  runCleanup,
}

func runCleanup(s *State) (Result, error) {
	g := s.Model.Graph
	st := map[string]int{}
	for _, n := range g.Nodes() {
		switch {
		case n.Domain == "" && n.OpType == "Constant":
			out := n.Output(0)
			if out == nil || out.IsGraphOutput() {
				continue
			}
			tp, err := ir.ConstantValue(n)
			if err != nil {
				return Result{}, fmt.Errorf("node %s: %w", n.Label(), err)
			}
			n.Outputs[0] = nil
			g.RemoveNode(n)
			out.Producer = nil
			if err := g.MakeInitializer(out, tp); err != nil {
				return Result{}, err
			}
			st["constants"]++
		case n.Domain == "" && (n.OpType == "Identity" || n.OpType == "Dropout"):
			in, out := n.Input(0), n.Output(0)
			if in == nil || out == nil || len(n.Outputs) > 1 && n.Outputs[1] != nil && n.Outputs[1].NumUses() > 0 {
				continue // Dropout whose mask is read
			}
			if n.OpType == "Dropout" && len(n.Inputs) > 2 && n.Inputs[2] != nil {
				// training_mode given: only a constant false keeps it an identity.
				t, err := n.Inputs[2].Tensor()
				if err != nil || !isFalse(t) {
					continue
				}
			}
			if out.IsGraphOutput() && (in.IsGraphInput() || in.IsGraphOutput() || in.Const != nil) {
				continue // removing it would rename a graph output
			}
			g.ReplaceAllUses(out, in)
			g.RemoveNode(n)
			st[lower(n.OpType)]++
		}
	}
	st["dead nodes"] = g.RemoveDeadNodes()
	st["unused initializers"] = g.RemoveUnusedInitializers()
	total := 0
	for _, v := range st {
		total += v
	}
	return Result{Changed: total, Stats: st}, nil
}

func isFalse(t *tensor.Tensor) bool {
	v, err := t.Int64s()
	return err == nil && len(v) == 1 && v[0] == 0
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
