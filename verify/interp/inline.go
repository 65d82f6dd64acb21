package interp

import (
	"fmt"

	"github.com/onnx-prom/onnx-prom/onnx/ir"
	"github.com/onnx-prom/onnx-prom/onnx/onnxpb"
	"google.golang.org/protobuf/proto"
)

// maxInlineDepth bounds nested function expansion (a function calling
// itself would otherwise never end).
const maxInlineDepth = 16

// maxInlinedNodes bounds the graph that inlining builds: a function whose
// body calls another several times grows exponentially with the depth.
const maxInlinedNodes = 1 << 20

// inlineFunctions replaces calls of model-local functions by their bodies,
// except where a native kernel exists and the function is not listed in
// force ("domain/op").
func inlineFunctions(m *ir.Model, force []string) error {
	funcs := map[[2]string]*onnxpb.FunctionProto{}
	for _, f := range m.Proto().GetFunctions() {
		funcs[[2]string{normDomain(f.GetDomain()), f.GetName()}] = f
	}
	if len(funcs) == 0 {
		return nil
	}
	forced := map[string]bool{}
	for _, f := range force {
		forced[f] = true
	}
	g := m.Graph
	for depth := 0; ; depth++ {
		expanded := false
		for _, n := range g.Nodes() {
			f := funcs[[2]string{normDomain(n.Domain), n.OpType}]
			if f == nil || (lookup(n.Domain, n.OpType) != nil && !forced[opName(n.Domain, n.OpType)]) {
				continue
			}
			if depth >= maxInlineDepth {
				return fmt.Errorf("node %s: model-local functions nest deeper than %d", n.Label(), maxInlineDepth)
			}
			if err := inlineCall(g, n, f); err != nil {
				return fmt.Errorf("node %s: inlining function %s: %w", n.Label(), opName(f.GetDomain(), f.GetName()), err)
			}
			if g.NumNodes() > maxInlinedNodes {
				return fmt.Errorf("node %s: inlining function %s: the graph grows past %d nodes", n.Label(), opName(f.GetDomain(), f.GetName()), maxInlinedNodes)
			}
			expanded = true
		}
		if !expanded {
			return nil
		}
	}
}

func normDomain(d string) string {
	if d == "ai.onnx" {
		return ""
	}
	return d
}

func inlineCall(g *ir.Graph, call *ir.Node, f *onnxpb.FunctionProto) error {
	if len(call.Inputs) > len(f.GetInput()) || len(call.Outputs) > len(f.GetOutput()) {
		return fmt.Errorf("call has %d inputs and %d outputs, the function %d and %d",
			len(call.Inputs), len(call.Outputs), len(f.GetInput()), len(f.GetOutput()))
	}
	env := map[string]*ir.Value{}
	for i, name := range f.GetInput() {
		if v := call.Input(i); v != nil {
			env[name] = v
		}
	}
	outputs := map[string]*ir.Value{}
	for i, name := range f.GetOutput() {
		if v := call.Output(i); v != nil {
			outputs[name] = v
		}
	}
	attrs := map[string]*onnxpb.AttributeProto{}
	for _, a := range f.GetAttributeProto() { // defaults
		attrs[a.GetName()] = a
	}
	for _, a := range call.Attrs {
		attrs[a.GetName()] = a
	}
	prefix := call.Name
	if prefix == "" {
		prefix = f.GetName()
	}
	next := call // body nodes go where the call was
	for _, bn := range f.GetNode() {
		var ins []*ir.Value
		for _, name := range bn.GetInput() {
			if name == "" {
				ins = append(ins, nil)
				continue
			}
			v := env[name]
			if v == nil {
				if _, isFormal := indexOf(f.GetInput(), name); isFormal {
					ins = append(ins, nil) // optional input the call omitted
					continue
				}
				return fmt.Errorf("body node %q reads %q, which is not defined before it", bn.GetName(), name)
			}
			ins = append(ins, v)
		}
		var outs []*ir.Value
		for _, name := range bn.GetOutput() {
			if name == "" {
				outs = append(outs, nil)
				continue
			}
			v := outputs[name]
			if v == nil {
				v = g.NewValue(prefix+"/"+name, 0, nil)
			}
			env[name] = v
			outs = append(outs, v)
		}
		n, err := g.AddNode(bn.GetOpType(), bn.GetDomain(), prefix+"/"+bn.GetName(), ins, nil, next)
		if err != nil {
			return err
		}
		// Detach the call's outputs only now, once, before the first body
		// node that writes one of them.
		for _, v := range outs {
			if v != nil && v.Producer == call {
				v.Producer = nil
			}
		}
		for _, v := range outs {
			if v != nil && v.Producer != nil {
				return fmt.Errorf("body node %q writes %q twice", bn.GetName(), v.Name)
			}
		}
		setOutputs(n, outs)
		for _, a := range bn.GetAttribute() {
			if ref := a.GetRefAttrName(); ref != "" {
				actual := attrs[ref]
				if actual == nil {
					continue // not given and no default: the attribute is absent
				}
				c := proto.Clone(actual).(*onnxpb.AttributeProto)
				c.Name = proto.String(a.GetName())
				n.Attrs = append(n.Attrs, c)
				continue
			}
			n.Attrs = append(n.Attrs, a)
		}
	}
	for i, name := range f.GetOutput() {
		v := call.Output(i)
		if v == nil {
			continue
		}
		if v.Producer == call {
			// The body passes an input straight through: add an Identity.
			src := env[name]
			if src == nil {
				return fmt.Errorf("function output %q is never computed", name)
			}
			v.Producer = nil
			id, err := g.AddNode("Identity", "", prefix+"/"+name, []*ir.Value{src}, nil, next)
			if err != nil {
				return err
			}
			setOutputs(id, []*ir.Value{v})
		}
	}
	for i := range call.Outputs {
		call.Outputs[i] = nil // the body owns them now
	}
	g.RemoveNode(call)
	return nil
}

func setOutputs(n *ir.Node, outs []*ir.Value) {
	for _, v := range outs {
		if v != nil {
			v.Producer = n
		}
	}
	n.Outputs = outs
}

func indexOf(list []string, s string) (int, bool) {
	for i, x := range list {
		if x == s {
			return i, true
		}
	}
	return -1, false
}
