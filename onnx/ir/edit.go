package ir

import (
	"fmt"
	"strconv"

	"github.com/onnx-prom/onnx-prom/onnx/onnxpb"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
)

// FreshName returns a name no value or node of the graph uses, built from hint.
func (g *Graph) FreshName(hint string) string {
	if hint == "" {
		hint = "v"
	}
	if g.values[hint] == nil && !g.nodeNameTaken(hint) {
		return hint
	}
	for {
		g.fresh++
		name := hint + "_" + strconv.Itoa(g.fresh)
		if g.values[name] == nil && !g.nodeNameTaken(name) {
			return name
		}
	}
}

// FreshNodeName returns a node name no node of the graph uses, built from
// hint (node and value names are separate namespaces in ONNX).
func (g *Graph) FreshNodeName(hint string) string {
	if !g.nodeNameTaken(hint) {
		return hint
	}
	for {
		g.fresh++
		name := hint + "_" + strconv.Itoa(g.fresh)
		if !g.nodeNameTaken(name) {
			return name
		}
	}
}

func (g *Graph) nodeNameTaken(name string) bool {
	for _, n := range g.nodes {
		if n.Name == name {
			return true
		}
	}
	return false
}

// NewValue adds a value with a fresh name derived from hint. It has no
// producer until a node outputs it.
func (g *Graph) NewValue(hint string, dt tensor.DataType, shape Shape) *Value {
	v := &Value{Name: g.FreshName(hint), Type: dt, Shape: shape, graph: g}
	g.values[v.Name] = v
	return v
}

// AddInitializer adds an initializer; its name comes from hint, made unique.
// tp is renamed to match and owned by the graph from now on.
func (g *Graph) AddInitializer(hint string, tp *onnxpb.TensorProto) *Value {
	v := g.NewValue(hint, tensor.DataType(tp.GetDataType()), nil)
	name := v.Name
	tp.Name = &name
	v.Const = tp
	v.Shape = ShapeOf(tp.GetDims()...)
	g.Initializers = append(g.Initializers, v)
	return v
}

// AddConst encodes t and adds it as an initializer.
func (g *Graph) AddConst(hint string, t *tensor.Tensor) (*Value, error) {
	tp, err := tensor.ToProto(t, hint)
	if err != nil {
		return nil, err
	}
	return g.AddInitializer(hint, tp), nil
}

// SetConst replaces the data of initializer v (its name stays).
func (v *Value) SetConst(tp *onnxpb.TensorProto) {
	name := v.Name
	tp.Name = &name
	v.Const = tp
	v.Type = tensor.DataType(tp.GetDataType())
	v.Shape = ShapeOf(tp.GetDims()...)
}

// NewNode creates a node that reads inputs (nil entries allowed) and writes
// numOutputs fresh values named after the node, and inserts it before the
// node "before" (at the end if before is nil). The node name is made unique.
func (g *Graph) NewNode(opType, domain, name string, inputs []*Value, numOutputs int, before *Node) *Node {
	if name == "" {
		name = opType
	}
	n := &Node{Name: g.FreshNodeName(name), OpType: opType, Domain: domain, graph: g}
	for i, in := range inputs {
		n.Inputs = append(n.Inputs, in)
		if in != nil {
			in.addUse(Use{n, i})
		}
	}
	for i := 0; i < numOutputs; i++ {
		hint := n.Name
		if numOutputs > 1 {
			hint = fmt.Sprintf("%s_out%d", n.Name, i)
		}
		v := g.NewValue(hint, tensor.Undefined, nil)
		v.Producer = n
		n.Outputs = append(n.Outputs, v)
	}
	g.insert(n, before)
	return n
}

func (g *Graph) insert(n *Node, before *Node) {
	if before != nil {
		for i, x := range g.nodes {
			if x == before {
				g.nodes = append(g.nodes[:i], append([]*Node{n}, g.nodes[i:]...)...)
				return
			}
		}
	}
	g.nodes = append(g.nodes, n)
}

// SetInput points input i of n at v (nil omits it), growing the input list if
// needed.
func (n *Node) SetInput(i int, v *Value) {
	for len(n.Inputs) <= i {
		n.Inputs = append(n.Inputs, nil)
	}
	if old := n.Inputs[i]; old != nil {
		old.removeUse(Use{n, i})
	}
	n.Inputs[i] = v
	if v != nil {
		v.addUse(Use{n, i})
	}
}

// SetInputs replaces all inputs of n.
func (n *Node) SetInputs(vs ...*Value) {
	for i, old := range n.Inputs {
		if old != nil {
			old.removeUse(Use{n, i})
		}
	}
	n.Inputs = nil
	for i, v := range vs {
		n.SetInput(i, v)
	}
}

// ReplaceAllUses makes every reader of old read repl instead, graph outputs
// included. When old is a graph output, repl takes over old's name (and old
// gets a fresh one), so the graph's interface does not change.
func (g *Graph) ReplaceAllUses(old, repl *Value) {
	if old == repl {
		return
	}
	for _, u := range old.Uses() {
		if u.Index < 0 {
			for i, x := range u.Node.Implicit {
				if x == old {
					u.Node.Implicit[i] = repl
				}
			}
			old.removeUse(u)
			repl.addUse(u)
			continue
		}
		u.Node.SetInput(u.Index, repl)
	}
	isOut := false
	for i, o := range g.Outputs {
		if o == old {
			g.Outputs[i] = repl
			isOut = true
		}
	}
	if isOut && !repl.IsGraphInput() && repl.Const == nil {
		g.swapNames(old, repl)
	}
}

func (g *Graph) swapNames(a, b *Value) {
	delete(g.values, a.Name)
	delete(g.values, b.Name)
	a.Name, b.Name = b.Name, a.Name
	g.values[a.Name] = a
	g.values[b.Name] = b
	a.Info, b.Info = b.Info, a.Info
}

// RemoveNode deletes n; its outputs lose their producer and its inputs lose
// these uses. Values that are still read elsewhere become dangling: callers
// remove a node only once its outputs are unused or replaced.
func (g *Graph) RemoveNode(n *Node) {
	for i, in := range n.Inputs {
		if in != nil {
			in.removeUse(Use{n, i})
		}
	}
	for _, in := range n.Implicit {
		in.removeUse(Use{n, -1})
	}
	for _, out := range n.Outputs {
		if out != nil && out.Producer == n {
			out.Producer = nil
			if out.NumUses() == 0 && !out.IsGraphOutput() {
				delete(g.values, out.Name)
			}
		}
	}
	for i, x := range g.nodes {
		if x == n {
			g.nodes = append(g.nodes[:i], g.nodes[i+1:]...)
			break
		}
	}
}

// RemoveDeadNodes deletes nodes none of whose outputs is read or is a graph
// output, repeating until none is left; it returns how many it removed.
func (g *Graph) RemoveDeadNodes() int {
	removed := 0
	for {
		changed := false
		for i := len(g.nodes) - 1; i >= 0; i-- {
			n := g.nodes[i]
			live := false
			for _, out := range n.Outputs {
				if out != nil && (out.NumUses() > 0 || out.IsGraphOutput()) {
					live = true
					break
				}
			}
			if !live {
				g.RemoveNode(n)
				removed++
				changed = true
			}
		}
		if !changed {
			return removed
		}
	}
}

// RemoveUnusedInitializers drops initializers that nothing reads and that are
// neither graph inputs nor outputs; it returns how many it removed.
func (g *Graph) RemoveUnusedInitializers() int {
	kept := g.Initializers[:0]
	removed := 0
	for _, v := range g.Initializers {
		if v.NumUses() == 0 && !v.IsGraphInput() && !v.IsGraphOutput() {
			delete(g.values, v.Name)
			removed++
			continue
		}
		kept = append(kept, v)
	}
	g.Initializers = kept
	return removed
}

// AddNode inserts a node that reads inputs and writes the given existing
// values, which must have no producer yet (values from NewValue, or outputs
// of a removed node). It is inserted before "before", or at the end.
func (g *Graph) AddNode(opType, domain, name string, inputs, outputs []*Value, before *Node) (*Node, error) {
	n := &Node{Name: name, OpType: opType, Domain: domain, graph: g}
	if name != "" {
		n.Name = g.FreshNodeName(name)
	}
	for _, v := range outputs {
		if v != nil && v.Producer != nil {
			return nil, fmt.Errorf("value %q already has producer %s", v.Name, v.Producer.label())
		}
	}
	for i, in := range inputs {
		n.Inputs = append(n.Inputs, in)
		if in != nil {
			in.addUse(Use{n, i})
		}
	}
	for _, v := range outputs {
		if v != nil {
			v.Producer = n
			if g.values[v.Name] == nil {
				g.values[v.Name] = v
			}
		}
		n.Outputs = append(n.Outputs, v)
	}
	g.insert(n, before)
	return n, nil
}

// MakeInitializer turns v, which must have no producer, into an
// initializer holding tp (renamed to v's name).
func (g *Graph) MakeInitializer(v *Value, tp *onnxpb.TensorProto) error {
	if v.Producer != nil {
		return fmt.Errorf("value %q is computed by %s", v.Name, v.Producer.label())
	}
	if v.Const == nil {
		g.Initializers = append(g.Initializers, v)
	}
	v.SetConst(tp)
	return nil
}
