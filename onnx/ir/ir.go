// Package ir is the graph form that onnx-prom's passes read and rewrite.
//
// A Graph holds Nodes and the named Values that flow between them. Every
// Value knows its producer (nil for graph inputs and initializers) and its
// uses, so passes can walk the graph both ways, replace all uses of a value,
// remove dead nodes and add new ones under fresh unique names. Conversion
// to and from onnxpb.ModelProto is lossless: everything the IR does not
// model (doc strings, metadata, unknown fields, subgraphs inside attributes,
// model-local functions, training info) is carried along unchanged, and an
// unmodified graph converts back to an equal message.
package ir

import (
	"fmt"

	"github.com/onnx-prom/onnx-prom/onnx/onnxpb"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
)

// Dim is one dimension of a shape: a known size (Value >= 0), a symbolic
// one (Param set, Value -1) or an unknown one (Value -1, no Param).
type Dim struct {
	Value int64
	Param string
}

// D returns a known dimension.
func D(v int64) Dim { return Dim{Value: v} }

// Sym returns a symbolic dimension.
func Sym(name string) Dim { return Dim{Value: -1, Param: name} }

// UnknownDim is a dimension nothing is known about.
var UnknownDim = Dim{Value: -1}

// Known reports whether d has a concrete size.
func (d Dim) Known() bool { return d.Value >= 0 }

func (d Dim) String() string {
	switch {
	case d.Known():
		return fmt.Sprint(d.Value)
	case d.Param != "":
		return d.Param
	}
	return "?"
}

// Shape is a tensor shape. A nil Shape means the rank is unknown; an empty
// non-nil Shape is a scalar.
type Shape []Dim

// ShapeOf returns the known shape with the given sizes.
func ShapeOf(dims ...int64) Shape {
	s := make(Shape, len(dims))
	for i, d := range dims {
		s[i] = D(d)
	}
	return s
}

// Known reports whether the rank and every dimension are known.
func (s Shape) Known() bool {
	if s == nil {
		return false
	}
	for _, d := range s {
		if !d.Known() {
			return false
		}
	}
	return true
}

// Ints returns the sizes of a fully known shape, ok false otherwise.
func (s Shape) Ints() ([]int64, bool) {
	if !s.Known() {
		return nil, false
	}
	out := make([]int64, len(s))
	for i, d := range s {
		out[i] = d.Value
	}
	return out, true
}

// Equal reports whether two shapes are the same, symbols compared by name.
func (s Shape) Equal(o Shape) bool {
	if (s == nil) != (o == nil) || len(s) != len(o) {
		return false
	}
	for i := range s {
		if s[i] != o[i] {
			return false
		}
	}
	return true
}

func (s Shape) String() string {
	if s == nil {
		return "[?...]"
	}
	out := "["
	for i, d := range s {
		if i > 0 {
			out += ","
		}
		out += d.String()
	}
	return out + "]"
}

// Use is one place where a value is read: input Index of Node, or, with
// Index -1, a reference from inside one of Node's subgraphs.
type Use struct {
	Node  *Node
	Index int
}

// Value is a named tensor of the graph.
type Value struct {
	Name string
	// Type and Shape are what is known of the tensor: from value_info, the
	// initializer, or shape inference. Type is Undefined when unknown.
	Type  tensor.DataType
	Shape Shape
	// Producer is the node that computes the value; nil for graph inputs
	// and initializers.
	Producer *Node
	// Const is the initializer that holds the value, if any.
	Const *onnxpb.TensorProto
	// Info is the value_info, input or output entry the value was read
	// from, kept so that unmodified values convert back unchanged.
	Info *onnxpb.ValueInfoProto

	uses  []Use
	graph *Graph
}

// Uses returns where the value is read (a copy; safe to modify the graph while
// iterating).
func (v *Value) Uses() []Use { return append([]Use(nil), v.uses...) }

// NumUses counts the places that read the value, graph outputs not included.
func (v *Value) NumUses() int { return len(v.uses) }

// IsGraphOutput reports whether v is an output of its graph.
func (v *Value) IsGraphOutput() bool {
	for _, o := range v.graph.Outputs {
		if o == v {
			return true
		}
	}
	return false
}

// IsGraphInput reports whether v is an input of its graph.
func (v *Value) IsGraphInput() bool {
	for _, o := range v.graph.Inputs {
		if o == v {
			return true
		}
	}
	return false
}

// IsConst reports whether v is an initializer that is not also a graph input
// (an input with a default can be overridden, so it is not constant).
func (v *Value) IsConst() bool { return v.Const != nil && !v.IsGraphInput() }

// Tensor decodes the value's initializer.
func (v *Value) Tensor() (*tensor.Tensor, error) {
	if v.Const == nil {
		return nil, fmt.Errorf("value %q is not an initializer", v.Name)
	}
	t, err := tensor.FromProto(v.Const)
	if err != nil {
		return nil, fmt.Errorf("initializer %q: %w", v.Name, err)
	}
	return t, nil
}

func (v *Value) addUse(u Use) { v.uses = append(v.uses, u) }

func (v *Value) removeUse(u Use) {
	for i, x := range v.uses {
		if x == u {
			v.uses = append(v.uses[:i], v.uses[i+1:]...)
			return
		}
	}
}

// Node is one operator application.
type Node struct {
	Name   string
	OpType string
	Domain string
	// Inputs and Outputs hold nil where an optional input or output is
	// omitted (written "" in ONNX). Change them with SetInput and friends,
	// never directly, so that use lists stay right.
	Inputs  []*Value
	Outputs []*Value
	// Attrs are the node's attributes, in their protobuf form.
	Attrs []*onnxpb.AttributeProto
	// Implicit lists outer values read by the node's subgraphs.
	Implicit []*Value

	extra *onnxpb.NodeProto // doc_string, overload, metadata, unknown fields
	graph *Graph
}

func (n *Node) String() string {
	if n.Name != "" {
		return fmt.Sprintf("%s %q", n.OpType, n.Name)
	}
	return n.OpType
}

// Input returns input i, or nil if it is omitted or out of range.
func (n *Node) Input(i int) *Value {
	if i < 0 || i >= len(n.Inputs) {
		return nil
	}
	return n.Inputs[i]
}

// Output returns output i, or nil if it is omitted or out of range.
func (n *Node) Output(i int) *Value {
	if i < 0 || i >= len(n.Outputs) {
		return nil
	}
	return n.Outputs[i]
}

// Graph is a computation graph.
type Graph struct {
	Name string
	// Inputs, Outputs and Initializers are in file order. Edit Inputs and
	// Initializers through the Graph's methods; Outputs may be edited freely.
	Inputs       []*Value
	Outputs      []*Value
	Initializers []*Value

	nodes     []*Node
	values    map[string]*Value
	valueInfo []valueInfoEntry // value_info entries, in order
	extra     *onnxpb.GraphProto
	opsets    map[string]int64
	fresh     int
}

// Nodes returns the nodes in their current order (a copy).
func (g *Graph) Nodes() []*Node { return append([]*Node(nil), g.nodes...) }

// NumNodes is the number of nodes.
func (g *Graph) NumNodes() int { return len(g.nodes) }

// Value returns the value called name, or nil.
func (g *Graph) Value(name string) *Value { return g.values[name] }

// Opset returns the operator set version imported for domain ("" and
// "ai.onnx" are the same), or 0 if it is not imported.
func (g *Graph) Opset(domain string) int64 {
	if domain == "ai.onnx" {
		domain = ""
	}
	return g.opsets[domain]
}
