// Package shapes infers element types and shapes of the values of an IR
// graph, the way ONNX shape inference does, for the operators that
// depthwise-separable CNNs and their quantized forms use.
//
// Inference walks the nodes in topological order and fills Value.Type and
// Value.Shape wherever it can. Symbolic dimensions (a batch "N") are kept
// through operators that carry them unchanged: broadcasting N with 1 or with
// N gives N, a stride-1 "same" convolution keeps N and symbolic spatial sizes,
// Reshape keeps N where its shape input copies it (0) or infers it (-1).
// Small integer tensors that describe shapes are propagated as constants,
// symbol-aware, so that patterns such as
// Reshape(x, Concat(Gather(Shape(x), 0), [-1])) resolve.
//
// Operators it does not know leave their outputs unknown; that is not an
// error. Inconsistencies that make a model invalid (rank or channel mismatch
// in a convolution, shapes that do not broadcast, a kernel larger than its
// padded input, negative or overflowing dimensions, an inferred shape that
// contradicts a declared one) are errors naming the node.
package shapes

import (
	"fmt"

	"github.com/onnx-prom/onnx-prom/onnx/ir"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
)

// Info holds what inference learned besides types and shapes: the values of
// small constant tensors, given or computed.
type Info struct {
	s *state
}

// Ints returns the elements of v when v is an integer (or integral) tensor
// of rank 0 or 1 whose every element inference knows: an initializer, a
// Constant, or a value computed from them and from known dimensions (Shape,
// Gather, Concat, Slice, ...).
func (in *Info) Ints(v *ir.Value) ([]int64, bool) {
	if in == nil || v == nil {
		return nil, false
	}
	sv := in.s.ints(v)
	if sv == nil {
		return nil, false
	}
	return sv.known()
}

// Tensor returns the value of v when it is a constant inference knows (an
// initializer that is not a graph input, a Constant node's output, or a small
// integer tensor computed by constant propagation), else nil.
func (in *Info) Tensor(v *ir.Value) *tensor.Tensor {
	if in == nil || v == nil {
		return nil
	}
	t, _ := in.s.constTensor(v)
	return t
}

// Infer infers the types and shapes of the values of m's main graph.
func Infer(m *ir.Model) error {
	_, err := InferGraph(m.Graph)
	return err
}

// InferGraph infers the types and shapes of g's values, using the operator
// set versions g imports, and returns the constants it learned.
func InferGraph(g *ir.Graph) (*Info, error) {
	s := newState(g)
	for _, n := range g.Nodes() {
		if err := s.node(n); err != nil {
			return &Info{s}, fmt.Errorf("node %s: %w", n.Label(), err)
		}
	}
	return &Info{s}, nil
}

// Supported reports whether inference knows the operator (domain "" and
// "ai.onnx" are the same).
func Supported(domain, opType string) bool {
	return handlerFor(domain, opType) != nil
}

// result is an inferred output type and shape. A nil shape means unknown.
type result struct {
	t     tensor.DataType
	shape ir.Shape
}

type handler func(s *state, n *ir.Node) ([]result, error)

func handlerFor(domain, op string) handler {
	switch domain {
	case "", "ai.onnx":
		return onnxOps[op]
	case "com.microsoft":
		return msOps[op]
	case ternaryDomain:
		if op == "TernaryConv" {
			return opTernaryConv
		}
	}
	return nil
}

type state struct {
	g      *ir.Graph
	opsets map[string]int64
	svals  map[*ir.Value]*sval
	consts map[*ir.Value]*tensor.Tensor
	failed map[*ir.Value]bool // constants that did not decode
	// opset is the version of the domain of the node being inferred.
	opset int64
}

func newState(g *ir.Graph) *state {
	return &state{
		g:      g,
		svals:  map[*ir.Value]*sval{},
		consts: map[*ir.Value]*tensor.Tensor{},
		failed: map[*ir.Value]bool{},
	}
}

// latestOpset stands in for a domain the model does not import.
const latestOpset = 25

func (s *state) node(n *ir.Node) error {
	if err := checkTypes(n); err != nil {
		return err
	}
	h := handlerFor(n.Domain, n.OpType)
	if h == nil {
		return nil
	}
	s.opset = s.g.Opset(n.Domain)
	if s.opset <= 0 {
		s.opset = latestOpset
	}
	res, err := h(s, n)
	if err != nil {
		return err
	}
	for i, r := range res {
		v := n.Output(i)
		if v == nil {
			continue
		}
		if err := merge(v, r); err != nil {
			return err
		}
	}
	return nil
}

// merge records an inferred type and shape on v, combining them with what v
// already declares. Known sizes win over symbols and unknowns; two
// different known sizes, ranks or types are an error.
func merge(v *ir.Value, r result) error {
	for _, d := range r.shape {
		if d.Known() {
			if err := checkDim(d.Value, "dimension"); err != nil {
				return fmt.Errorf("output %q: shape %v: %w", v.Name, r.shape, err)
			}
		}
	}
	if r.t != tensor.Undefined {
		if v.Type != tensor.Undefined && v.Type != r.t {
			return fmt.Errorf("output %q: inferred type %s, declared %s", v.Name, tensor.Name(r.t), tensor.Name(v.Type))
		}
		v.Type = r.t
	}
	if r.shape == nil {
		return nil
	}
	if v.Shape == nil {
		v.Shape = cloneShape(r.shape)
		return nil
	}
	if len(v.Shape) != len(r.shape) {
		return fmt.Errorf("output %q: inferred shape %v, declared %v", v.Name, r.shape, v.Shape)
	}
	out := make(ir.Shape, len(r.shape))
	for i, d := range r.shape {
		old := v.Shape[i]
		switch {
		case d.Known() && old.Known() && d.Value != old.Value:
			return fmt.Errorf("output %q: inferred shape %v, declared %v", v.Name, r.shape, v.Shape)
		case d.Known():
			out[i] = d
		case old.Known():
			out[i] = old
		case d.Param != "":
			out[i] = d
		default:
			out[i] = old
		}
	}
	v.Shape = out
	return nil
}

// Helpers for handlers.

func (s *state) inShape(n *ir.Node, i int) ir.Shape {
	if v := n.Input(i); v != nil {
		return v.Shape
	}
	return nil
}

func (s *state) inType(n *ir.Node, i int) tensor.DataType {
	if v := n.Input(i); v != nil {
		return v.Type
	}
	return tensor.Undefined
}

func one(t tensor.DataType, shape ir.Shape) []result { return []result{{t, shape}} }
