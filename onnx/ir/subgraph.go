package ir

import (
	"sort"

	"github.com/onnx-prom/onnx-prom/onnx/onnxpb"
)

// subgraphFreeNames lists, sorted, the names that the subgraphs in np's
// attributes read from enclosing scopes.
func subgraphFreeNames(np *onnxpb.NodeProto) []string {
	free := map[string]bool{}
	for _, a := range np.GetAttribute() {
		if a.G != nil {
			collectFree(a.G, free)
		}
		for _, sg := range a.GetGraphs() {
			collectFree(sg, free)
		}
	}
	if len(free) == 0 {
		return nil
	}
	out := make([]string, 0, len(free))
	for name := range free {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// collectFree adds to free the names read inside g (at any depth) that g
// does not define itself.
func collectFree(g *onnxpb.GraphProto, free map[string]bool) {
	defined := map[string]bool{}
	for _, vi := range g.GetInput() {
		defined[vi.GetName()] = true
	}
	for _, t := range g.GetInitializer() {
		defined[t.GetName()] = true
	}
	for _, s := range g.GetSparseInitializer() {
		defined[s.GetValues().GetName()] = true
	}
	for _, n := range g.GetNode() {
		for _, o := range n.GetOutput() {
			defined[o] = true
		}
	}
	need := func(name string) {
		if name != "" && !defined[name] {
			free[name] = true
		}
	}
	for _, n := range g.GetNode() {
		for _, in := range n.GetInput() {
			need(in)
		}
		inner := map[string]bool{}
		for _, a := range n.GetAttribute() {
			if a.G != nil {
				collectFree(a.G, inner)
			}
			for _, sg := range a.GetGraphs() {
				collectFree(sg, inner)
			}
		}
		for name := range inner {
			need(name)
		}
	}
	for _, o := range g.GetOutput() {
		need(o.GetName())
	}
}
