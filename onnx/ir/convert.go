package ir

import (
	"errors"
	"fmt"

	"github.com/onnx-prom/onnx-prom/onnx/onnxpb"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
	"google.golang.org/protobuf/proto"
)

// Model is a model whose main graph is in IR form; all other ModelProto
// fields are carried unchanged.
type Model struct {
	Graph *Graph
	extra *onnxpb.ModelProto
}

// Proto returns the model's fields other than the graph (IR version,
// opsets, metadata, functions, ...); changes to it are kept.
func (m *Model) Proto() *onnxpb.ModelProto { return m.extra }

// Opset returns the imported version of domain, 0 if not imported.
func (m *Model) Opset(domain string) int64 { return m.Graph.Opset(domain) }

// SetOpset sets (or adds) the imported version of domain.
func (m *Model) SetOpset(domain string, version int64) {
	if domain == "ai.onnx" {
		domain = ""
	}
	for _, o := range m.extra.OpsetImport {
		d := o.GetDomain()
		if d == "ai.onnx" {
			d = ""
		}
		if d == domain {
			o.Version = proto.Int64(version)
			m.Graph.opsets[domain] = version
			return
		}
	}
	m.extra.OpsetImport = append(m.extra.OpsetImport, &onnxpb.OperatorSetIdProto{Domain: proto.String(domain), Version: proto.Int64(version)})
	m.Graph.opsets[domain] = version
}

// ErrInvalidGraph is wrapped by errors about a graph's structure (cycles,
// undefined inputs, names defined twice).
var ErrInvalidGraph = errors.New("invalid graph")

// FromProto builds the IR of mp. mp is not modified and not retained.
func FromProto(mp *onnxpb.ModelProto) (*Model, error) {
	extra := proto.Clone(mp).(*onnxpb.ModelProto)
	gp := extra.Graph
	extra.Graph = nil
	if gp == nil {
		return nil, fmt.Errorf("%w: model has no graph", ErrInvalidGraph)
	}
	opsets := map[string]int64{}
	for _, o := range extra.GetOpsetImport() {
		d := o.GetDomain()
		if d == "ai.onnx" {
			d = ""
		}
		opsets[d] = o.GetVersion()
	}
	g, err := graphFromProto(gp, opsets)
	if err != nil {
		return nil, err
	}
	return &Model{Graph: g, extra: extra}, nil
}

func graphFromProto(gp *onnxpb.GraphProto, opsets map[string]int64) (*Graph, error) {
	g := &Graph{Name: gp.GetName(), values: map[string]*Value{}, opsets: opsets}
	define := func(name, what string) (*Value, error) {
		if name == "" {
			return nil, fmt.Errorf("%w: %s with an empty name", ErrInvalidGraph, what)
		}
		if v := g.values[name]; v != nil {
			return v, fmt.Errorf("%w: %s %q is defined twice", ErrInvalidGraph, what, name)
		}
		v := &Value{Name: name, graph: g}
		g.values[name] = v
		return v, nil
	}
	for _, vi := range gp.GetInput() {
		v, err := define(vi.GetName(), "graph input")
		if err != nil {
			return nil, err
		}
		v.Info = vi
		v.Type, v.Shape = typeFromProto(vi.GetType())
		g.Inputs = append(g.Inputs, v)
	}
	for _, tp := range gp.GetInitializer() {
		v := g.values[tp.GetName()]
		if v == nil || v.Const != nil {
			var err error
			if v, err = define(tp.GetName(), "initializer"); err != nil {
				return nil, err
			}
		}
		v.Const = tp
		if v.Type == tensor.Undefined {
			v.Type = tensor.DataType(tp.GetDataType())
		}
		if v.Shape == nil {
			v.Shape = ShapeOf(tp.GetDims()...)
		}
		g.Initializers = append(g.Initializers, v)
	}
	for i, np := range gp.GetNode() {
		n := &Node{Name: np.GetName(), OpType: np.GetOpType(), Domain: np.GetDomain(), Attrs: np.Attribute, graph: g}
		label := nodeLabel(np, i)
		for j, name := range np.GetInput() {
			n.Inputs = append(n.Inputs, nil)
			if name == "" {
				continue
			}
			v := g.values[name]
			if v == nil {
				v = &Value{Name: name, graph: g} // defined later: checked below
				g.values[name] = v
			}
			n.Inputs[j] = v
			v.addUse(Use{n, j})
		}
		for _, name := range np.GetOutput() {
			if name == "" {
				n.Outputs = append(n.Outputs, nil)
				continue
			}
			v := g.values[name]
			if v != nil && (v.Producer != nil || v.Const != nil || v.IsGraphInput()) {
				return nil, fmt.Errorf("%w: node %s: output %q is defined twice", ErrInvalidGraph, label, name)
			}
			if v == nil {
				v = &Value{Name: name, graph: g}
				g.values[name] = v
			}
			v.Producer = n
			n.Outputs = append(n.Outputs, v)
		}
		for _, name := range subgraphFreeNames(np) {
			v := g.values[name]
			if v == nil {
				v = &Value{Name: name, graph: g}
				g.values[name] = v
			}
			n.Implicit = append(n.Implicit, v)
			v.addUse(Use{n, -1})
		}
		n.extra = proto.Clone(np).(*onnxpb.NodeProto)
		// Name and Domain stay in extra only to remember whether they were
		// set; toProto overwrites them with the node's current values.
		n.extra.Input, n.extra.Output, n.extra.Attribute = nil, nil, nil
		g.nodes = append(g.nodes, n)
	}
	for name, v := range g.values {
		if v.Producer == nil && v.Const == nil && !v.IsGraphInput() {
			if u := v.uses; len(u) > 0 {
				return nil, fmt.Errorf("%w: node %s: input %q is not defined by any node, input or initializer", ErrInvalidGraph, u[0].Node.label(), name)
			}
		}
	}
	seenOut := map[string]bool{}
	for _, vi := range gp.GetOutput() {
		v := g.values[vi.GetName()]
		if v == nil {
			return nil, fmt.Errorf("%w: graph output %q is not defined by any node, input or initializer", ErrInvalidGraph, vi.GetName())
		}
		if seenOut[vi.GetName()] {
			return nil, fmt.Errorf("%w: graph output %q is listed twice", ErrInvalidGraph, vi.GetName())
		}
		seenOut[vi.GetName()] = true
		v.Info = vi
		if t, s := typeFromProto(vi.GetType()); t != tensor.Undefined || s != nil {
			v.Type, v.Shape = t, s
		}
		g.Outputs = append(g.Outputs, v)
	}
	for _, vi := range gp.GetValueInfo() {
		v := g.values[vi.GetName()]
		if v == nil || v.Info != nil {
			// value_info for a name the graph does not use, or a second
			// entry: keep it verbatim so nothing is lost.
			g.valueInfo = append(g.valueInfo, valueInfoEntry{orphan: vi})
			continue
		}
		v.Info = vi
		v.Type, v.Shape = typeFromProto(vi.GetType())
		g.valueInfo = append(g.valueInfo, valueInfoEntry{v: v})
	}
	g.extra = proto.Clone(gp).(*onnxpb.GraphProto)
	g.extra.Node, g.extra.Initializer = nil, nil
	g.extra.Input, g.extra.Output, g.extra.ValueInfo = nil, nil, nil
	if err := g.TopoSort(); err != nil {
		return nil, err
	}
	return g, nil
}

// valueInfoEntry is one value_info entry: a live value, or an entry kept
// verbatim because it names nothing in the graph.
type valueInfoEntry struct {
	v      *Value
	orphan *onnxpb.ValueInfoProto
}

func nodeLabel(np *onnxpb.NodeProto, i int) string {
	if np.GetName() != "" {
		return fmt.Sprintf("%q (%s)", np.GetName(), np.GetOpType())
	}
	return fmt.Sprintf("#%d (%s)", i, np.GetOpType())
}

func (n *Node) label() string {
	if n.Name != "" {
		return fmt.Sprintf("%q (%s)", n.Name, n.OpType)
	}
	for i, x := range n.graph.nodes {
		if x == n {
			return fmt.Sprintf("#%d (%s)", i, n.OpType)
		}
	}
	return fmt.Sprintf("(%s)", n.OpType)
}

// Label names the node for error messages: its name, or its position.
func (n *Node) Label() string { return n.label() }

// typeFromProto reads a tensor type; other types give Undefined and nil.
func typeFromProto(tp *onnxpb.TypeProto) (tensor.DataType, Shape) {
	tt := tp.GetTensorType()
	if tt == nil {
		return tensor.Undefined, nil
	}
	dt := tensor.DataType(tt.GetElemType())
	if tt.Shape == nil {
		return dt, nil
	}
	s := make(Shape, 0, len(tt.Shape.Dim))
	for _, d := range tt.Shape.Dim {
		switch d.Value.(type) {
		case *onnxpb.TensorShapeProto_Dimension_DimValue:
			if d.GetDimValue() < 0 {
				// Not a size: some exporters write -1 for "unknown".
				s = append(s, UnknownDim)
				continue
			}
			s = append(s, D(d.GetDimValue()))
		case *onnxpb.TensorShapeProto_Dimension_DimParam:
			s = append(s, Sym(d.GetDimParam()))
		default:
			s = append(s, UnknownDim)
		}
	}
	return dt, s
}

func typeToProto(dt tensor.DataType, s Shape) *onnxpb.TypeProto {
	tt := &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(dt))}
	if s != nil {
		tt.Shape = &onnxpb.TensorShapeProto{Dim: []*onnxpb.TensorShapeProto_Dimension{}}
		for _, d := range s {
			dim := &onnxpb.TensorShapeProto_Dimension{}
			switch {
			case d.Known():
				dim.Value = &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d.Value}
			case d.Param != "":
				dim.Value = &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: d.Param}
			}
			tt.Shape.Dim = append(tt.Shape.Dim, dim)
		}
	}
	return &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: tt}}
}

// valueInfo returns the ValueInfoProto for v: the original entry when the
// IR's type and shape still match it, else a new one.
func (v *Value) valueInfo() *onnxpb.ValueInfoProto {
	if v.Info != nil {
		dt, s := typeFromProto(v.Info.GetType())
		if v.Info.GetName() == v.Name && dt == v.Type && s.Equal(v.Shape) {
			return v.Info
		}
		vi := proto.Clone(v.Info).(*onnxpb.ValueInfoProto)
		vi.Name = proto.String(v.Name)
		if v.Type != tensor.Undefined || v.Shape != nil {
			vi.Type = typeToProto(v.Type, v.Shape)
		}
		return vi
	}
	vi := &onnxpb.ValueInfoProto{Name: proto.String(v.Name)}
	if v.Type != tensor.Undefined || v.Shape != nil {
		vi.Type = typeToProto(v.Type, v.Shape)
	}
	return vi
}

// ToProtoOptions control Model.ToProto.
type ToProtoOptions struct {
	// ValueInfo adds a value_info entry for every intermediate value whose
	// type is known (e.g. after shape inference).
	ValueInfo bool
}

// ToProto builds the ModelProto; the IR stays usable.
func (m *Model) ToProto() (*onnxpb.ModelProto, error) { return m.ToProtoWith(ToProtoOptions{}) }

// ToProtoWith builds the ModelProto with options.
func (m *Model) ToProtoWith(o ToProtoOptions) (*onnxpb.ModelProto, error) {
	gp, err := m.Graph.toProto(o)
	if err != nil {
		return nil, err
	}
	mp := proto.Clone(m.extra).(*onnxpb.ModelProto)
	mp.Graph = gp
	return mp, nil
}

func (g *Graph) toProto(o ToProtoOptions) (*onnxpb.GraphProto, error) {
	if err := g.TopoSort(); err != nil {
		return nil, err
	}
	gp := proto.Clone(g.extra).(*onnxpb.GraphProto)
	if g.Name != "" || gp.Name != nil {
		gp.Name = proto.String(g.Name)
	}
	for _, v := range g.Inputs {
		gp.Input = append(gp.Input, v.valueInfo())
	}
	for _, v := range g.Initializers {
		if v.Const.GetName() != v.Name {
			v.Const.Name = proto.String(v.Name)
		}
		gp.Initializer = append(gp.Initializer, v.Const)
	}
	for _, n := range g.nodes {
		np := &onnxpb.NodeProto{}
		if n.extra != nil {
			np = proto.Clone(n.extra).(*onnxpb.NodeProto)
		}
		if n.Name != "" || np.Name != nil {
			np.Name = proto.String(n.Name)
		}
		np.OpType = proto.String(n.OpType)
		if n.Domain != "" || np.Domain != nil {
			np.Domain = proto.String(n.Domain)
		}
		for _, in := range n.Inputs {
			if in == nil {
				np.Input = append(np.Input, "")
			} else {
				np.Input = append(np.Input, in.Name)
			}
		}
		for _, out := range n.Outputs {
			if out == nil {
				np.Output = append(np.Output, "")
			} else {
				np.Output = append(np.Output, out.Name)
			}
		}
		np.Attribute = n.Attrs
		gp.Node = append(gp.Node, np)
	}
	for _, v := range g.Outputs {
		gp.Output = append(gp.Output, v.valueInfo())
	}
	listed := map[*Value]bool{}
	for _, e := range g.valueInfo {
		switch {
		case e.orphan != nil:
			gp.ValueInfo = append(gp.ValueInfo, e.orphan)
		case g.values[e.v.Name] == e.v && !listed[e.v]:
			gp.ValueInfo = append(gp.ValueInfo, e.v.valueInfo())
			listed[e.v] = true
		}
	}
	if o.ValueInfo {
		for _, n := range g.nodes {
			for _, v := range n.Outputs {
				if v != nil && !listed[v] && v.Type != tensor.Undefined && !v.IsGraphOutput() {
					gp.ValueInfo = append(gp.ValueInfo, v.valueInfo())
				}
			}
		}
	}
	return gp, nil
}
