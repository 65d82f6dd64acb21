package ir

import (
	"container/heap"
	"fmt"
)

// TopoSort orders the nodes so that every node comes after the producers of
// its inputs (subgraph references included). The sort is stable: a graph
// already in order keeps its order, and otherwise nodes move as little as
// the dependencies require. It fails with ErrInvalidGraph, naming a node on
// the cycle, when the graph has one.
func (g *Graph) TopoSort() error {
	pos := make(map[*Node]int, len(g.nodes))
	for i, n := range g.nodes {
		pos[n] = i
	}
	indeg := make(map[*Node]int, len(g.nodes))
	deps := func(n *Node, f func(*Node)) {
		for _, in := range n.Inputs {
			if in != nil && in.Producer != nil {
				f(in.Producer)
			}
		}
		for _, in := range n.Implicit {
			if in.Producer != nil {
				f(in.Producer)
			}
		}
	}
	for _, n := range g.nodes {
		deps(n, func(p *Node) {
			if _, ok := pos[p]; ok {
				indeg[n]++
			}
		})
	}
	ready := &nodeHeap{pos: pos}
	for _, n := range g.nodes {
		if indeg[n] == 0 {
			heap.Push(ready, n)
		}
	}
	order := make([]*Node, 0, len(g.nodes))
	for ready.Len() > 0 {
		n := heap.Pop(ready).(*Node)
		order = append(order, n)
		for _, out := range n.Outputs {
			if out == nil {
				continue
			}
			for _, u := range out.uses {
				if _, ok := pos[u.Node]; !ok {
					continue
				}
				indeg[u.Node]--
				if indeg[u.Node] == 0 {
					heap.Push(ready, u.Node)
				}
			}
		}
	}
	if len(order) != len(g.nodes) {
		for _, n := range g.nodes {
			if indeg[n] > 0 {
				return fmt.Errorf("%w: node %s is on a cycle", ErrInvalidGraph, n.label())
			}
		}
	}
	g.nodes = order
	return nil
}

type nodeHeap struct {
	nodes []*Node
	pos   map[*Node]int
}

func (h *nodeHeap) Len() int           { return len(h.nodes) }
func (h *nodeHeap) Less(i, j int) bool { return h.pos[h.nodes[i]] < h.pos[h.nodes[j]] }
func (h *nodeHeap) Swap(i, j int)      { h.nodes[i], h.nodes[j] = h.nodes[j], h.nodes[i] }
func (h *nodeHeap) Push(x any)         { h.nodes = append(h.nodes, x.(*Node)) }
func (h *nodeHeap) Pop() any {
	n := h.nodes[len(h.nodes)-1]
	h.nodes = h.nodes[:len(h.nodes)-1]
	return n
}
