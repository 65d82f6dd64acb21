package ir

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onnx-prom/onnx-prom/internal/testenv"
	"github.com/onnx-prom/onnx-prom/onnx"
	"github.com/onnx-prom/onnx-prom/onnx/onnxpb"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
	"google.golang.org/protobuf/proto"
)

func TestIRRoundTripBackendSuite(t *testing.T) {
	root := testenv.ONNXTestData(t)
	paths, _ := filepath.Glob(filepath.Join(root, "*", "*", "model.onnx"))
	ocr, _ := filepath.Glob(filepath.Join(testenv.OCRModels(t), "*.onnx"))
	paths = append(paths, ocr...)
	if len(paths) < 1000 {
		t.Fatalf("found %d models, want over 1,000", len(paths))
	}
	ok := 0
	for _, p := range paths {
		mp, err := onnx.Load(p)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		m, err := FromProto(mp)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		back, err := m.ToProto()
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		if !proto.Equal(mp, back) {
			t.Errorf("%s: IR round trip changed the model", p)
			continue
		}
		ok++
	}
	t.Logf("IR round trip: %d of %d models lossless", ok, len(paths))
}

// chain builds x -> Relu -> a -> Neg -> b -> Abs -> y (graph output y).
func chain(t *testing.T) *Model {
	t.Helper()
	vi := func(name string) *onnxpb.ValueInfoProto {
		return &onnxpb.ValueInfoProto{Name: proto.String(name), Type: typeToProto(tensor.Float, Shape{Sym("N"), D(4)})}
	}
	node := func(op, in, out string) *onnxpb.NodeProto {
		return &onnxpb.NodeProto{Name: proto.String(op), OpType: proto.String(op), Input: []string{in}, Output: []string{out}}
	}
	mp := &onnxpb.ModelProto{
		IrVersion:   proto.Int64(8),
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Version: proto.Int64(13)}},
		Graph: &onnxpb.GraphProto{
			Name:   proto.String("g"),
			Input:  []*onnxpb.ValueInfoProto{vi("x")},
			Output: []*onnxpb.ValueInfoProto{vi("y")},
			Node:   []*onnxpb.NodeProto{node("Relu", "x", "a"), node("Neg", "a", "b"), node("Abs", "b", "y")},
		},
	}
	m, err := FromProto(mp)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func ops(g *Graph) string {
	var s []string
	for _, n := range g.Nodes() {
		s = append(s, n.OpType)
	}
	return strings.Join(s, ",")
}

func TestUsesAndReplace(t *testing.T) {
	m := chain(t)
	g := m.Graph
	a, b := g.Value("a"), g.Value("b")
	if a.Producer.OpType != "Relu" || a.NumUses() != 1 || a.Uses()[0].Node.OpType != "Neg" {
		t.Fatalf("a: producer %v uses %v", a.Producer, a.Uses())
	}
	if g.Value("x").Shape.String() != "[N,4]" {
		t.Fatalf("x shape %v", g.Value("x").Shape)
	}
	// Bypass Neg: Abs reads a directly; Neg becomes dead.
	g.ReplaceAllUses(b, a)
	if a.NumUses() != 2 || b.NumUses() != 0 {
		t.Fatalf("after replace: a has %d uses, b %d", a.NumUses(), b.NumUses())
	}
	if n := g.RemoveDeadNodes(); n != 1 {
		t.Fatalf("removed %d dead nodes, want 1", n)
	}
	if got := ops(g); got != "Relu,Abs" {
		t.Fatalf("nodes %s", got)
	}
	// Replacing the graph output keeps the output's name.
	y := g.Value("y")
	g.ReplaceAllUses(y, a)
	g.RemoveDeadNodes()
	mp, err := m.ToProto()
	if err != nil {
		t.Fatal(err)
	}
	if got := mp.Graph.Output[0].GetName(); got != "y" {
		t.Fatalf("output renamed to %q", got)
	}
	if got := mp.Graph.Node[0].GetOutput()[0]; got != "y" || len(mp.Graph.Node) != 1 {
		t.Fatalf("nodes %v", mp.Graph.Node)
	}
}

func TestNewNodeFreshNamesAndOrder(t *testing.T) {
	m := chain(t)
	g := m.Graph
	a := g.Value("a")
	// Append a node at the end that the Neg node will read: TopoSort must
	// move it before Neg.
	sq := g.NewNode("Relu", "", "Relu", []*Value{a}, 1, nil)
	if sq.Name == "Relu" || g.Value(sq.Outputs[0].Name) != sq.Outputs[0] {
		t.Fatalf("fresh name %q clashes", sq.Name)
	}
	neg := g.Value("b").Producer
	neg.SetInput(0, sq.Outputs[0])
	if err := g.TopoSort(); err != nil {
		t.Fatal(err)
	}
	if got := ops(g); got != "Relu,Relu,Neg,Abs" {
		t.Fatalf("order %s", got)
	}
	if _, err := m.ToProto(); err != nil {
		t.Fatal(err)
	}
}

func TestCycleAndDangling(t *testing.T) {
	base := func() *onnxpb.ModelProto {
		return &onnxpb.ModelProto{IrVersion: proto.Int64(8), Graph: &onnxpb.GraphProto{
			Input:  []*onnxpb.ValueInfoProto{{Name: proto.String("x")}},
			Output: []*onnxpb.ValueInfoProto{{Name: proto.String("y")}},
		}}
	}
	cyc := base()
	cyc.Graph.Node = []*onnxpb.NodeProto{
		{Name: proto.String("A"), OpType: proto.String("Add"), Input: []string{"x", "c"}, Output: []string{"b"}},
		{Name: proto.String("B"), OpType: proto.String("Relu"), Input: []string{"b"}, Output: []string{"c"}},
		{Name: proto.String("C"), OpType: proto.String("Relu"), Input: []string{"c"}, Output: []string{"y"}},
	}
	_, err := FromProto(cyc)
	if !errors.Is(err, ErrInvalidGraph) || !strings.Contains(err.Error(), "cycle") {
		t.Fatalf("cycle: %v", err)
	}
	dang := base()
	dang.Graph.Node = []*onnxpb.NodeProto{{Name: proto.String("R"), OpType: proto.String("Relu"), Input: []string{"ghost"}, Output: []string{"y"}}}
	_, err = FromProto(dang)
	if !errors.Is(err, ErrInvalidGraph) || !strings.Contains(err.Error(), `"ghost"`) || !strings.Contains(err.Error(), `"R"`) {
		t.Fatalf("dangling: %v", err)
	}
	dup := base()
	dup.Graph.Node = []*onnxpb.NodeProto{
		{Name: proto.String("R1"), OpType: proto.String("Relu"), Input: []string{"x"}, Output: []string{"y"}},
		{Name: proto.String("R2"), OpType: proto.String("Relu"), Input: []string{"x"}, Output: []string{"y"}},
	}
	if _, err = FromProto(dup); !errors.Is(err, ErrInvalidGraph) || !strings.Contains(err.Error(), "twice") {
		t.Fatalf("duplicate: %v", err)
	}
	noOut := base()
	if _, err = FromProto(noOut); !errors.Is(err, ErrInvalidGraph) || !strings.Contains(err.Error(), `"y"`) {
		t.Fatalf("missing output: %v", err)
	}
}

func TestSubgraphReferencesKeepProducersAlive(t *testing.T) {
	then := &onnxpb.GraphProto{
		Output: []*onnxpb.ValueInfoProto{{Name: proto.String("t")}},
		Node:   []*onnxpb.NodeProto{{OpType: proto.String("Identity"), Input: []string{"outer"}, Output: []string{"t"}}},
	}
	mp := &onnxpb.ModelProto{IrVersion: proto.Int64(8), Graph: &onnxpb.GraphProto{
		Input:  []*onnxpb.ValueInfoProto{{Name: proto.String("x")}, {Name: proto.String("cond")}},
		Output: []*onnxpb.ValueInfoProto{{Name: proto.String("y")}},
		Node: []*onnxpb.NodeProto{
			{Name: proto.String("If"), OpType: proto.String("If"), Input: []string{"cond"}, Output: []string{"y"},
				Attribute: []*onnxpb.AttributeProto{
					{Name: proto.String("then_branch"), Type: onnxpb.AttributeProto_GRAPH.Enum(), G: then},
					{Name: proto.String("else_branch"), Type: onnxpb.AttributeProto_GRAPH.Enum(), G: then},
				}},
			{Name: proto.String("P"), OpType: proto.String("Relu"), Input: []string{"x"}, Output: []string{"outer"}},
		},
	}}
	m, err := FromProto(mp)
	if err != nil {
		t.Fatal(err)
	}
	if got := ops(m.Graph); got != "Relu,If" {
		t.Fatalf("order %s: the producer of an outer reference must come first", got)
	}
	if n := m.Graph.RemoveDeadNodes(); n != 0 {
		t.Fatalf("removed %d nodes; the subgraph reads outer", n)
	}
}
