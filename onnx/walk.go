package onnx

import (
	"fmt"

	"github.com/onnx-prom/onnx-prom/onnx/onnxpb"
)

// TensorVisitor is called for each tensor of a model; where names it
// ("graph initializer w", "node conv1 attribute value", ...).
type TensorVisitor func(tp *onnxpb.TensorProto, where string) error

// WalkTensors calls visit for every TensorProto the model holds: graph
// initializers, sparse initializers, tensors in node attributes (Constant
// values and others), in subgraphs at any depth, in model-local functions
// and in training info. It stops at the first error.
func WalkTensors(m *onnxpb.ModelProto, visit TensorVisitor) error {
	if err := walkGraph(m.GetGraph(), "graph", visit); err != nil {
		return err
	}
	for _, f := range m.GetFunctions() {
		for _, n := range f.GetNode() {
			if err := walkNode(n, "function "+f.GetName(), visit); err != nil {
				return err
			}
		}
	}
	for i, ti := range m.GetTrainingInfo() {
		for _, g := range []*onnxpb.GraphProto{ti.GetInitialization(), ti.GetAlgorithm()} {
			if err := walkGraph(g, fmt.Sprintf("training_info[%d]", i), visit); err != nil {
				return err
			}
		}
	}
	return nil
}

func walkGraph(g *onnxpb.GraphProto, where string, visit TensorVisitor) error {
	if g == nil {
		return nil
	}
	for _, t := range g.GetInitializer() {
		if err := visit(t, fmt.Sprintf("%s initializer %q", where, t.GetName())); err != nil {
			return err
		}
	}
	for _, s := range g.GetSparseInitializer() {
		for _, t := range []*onnxpb.TensorProto{s.GetValues(), s.GetIndices()} {
			if t == nil {
				continue
			}
			if err := visit(t, fmt.Sprintf("%s sparse initializer %q", where, t.GetName())); err != nil {
				return err
			}
		}
	}
	for _, n := range g.GetNode() {
		if err := walkNode(n, where, visit); err != nil {
			return err
		}
	}
	return nil
}

func walkNode(n *onnxpb.NodeProto, where string, visit TensorVisitor) error {
	nw := fmt.Sprintf("%s node %q (%s)", where, n.GetName(), n.GetOpType())
	for _, a := range n.GetAttribute() {
		aw := fmt.Sprintf("%s attribute %q", nw, a.GetName())
		if a.T != nil {
			if err := visit(a.T, aw); err != nil {
				return err
			}
		}
		for _, t := range a.GetTensors() {
			if err := visit(t, aw); err != nil {
				return err
			}
		}
		for _, s := range append([]*onnxpb.SparseTensorProto{a.GetSparseTensor()}, a.GetSparseTensors()...) {
			if s == nil {
				continue
			}
			for _, t := range []*onnxpb.TensorProto{s.GetValues(), s.GetIndices()} {
				if t != nil {
					if err := visit(t, aw); err != nil {
						return err
					}
				}
			}
		}
		if err := walkGraph(a.GetG(), aw, visit); err != nil {
			return err
		}
		for _, g := range a.GetGraphs() {
			if err := walkGraph(g, aw, visit); err != nil {
				return err
			}
		}
	}
	return nil
}
