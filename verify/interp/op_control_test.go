package interp

import (
	"errors"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onnx-prom/onnx-prom/onnx/ir"
	"github.com/onnx-prom/onnx-prom/onnx/onnxpb"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
	"google.golang.org/protobuf/proto"
)

// Builders of small models with subgraphs.

func cfNode(op string, ins, outs []string, attrs ...*onnxpb.AttributeProto) *onnxpb.NodeProto {
	return &onnxpb.NodeProto{OpType: proto.String(op), Input: ins, Output: outs, Attribute: attrs}
}

// cfVI declares a tensor value; a nil shape leaves the shape unknown.
func cfVI(name string, dt tensor.DataType, shape []int64) *onnxpb.ValueInfoProto {
	tt := &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(dt))}
	if shape != nil {
		tt.Shape = &onnxpb.TensorShapeProto{}
		for _, d := range shape {
			tt.Shape.Dim = append(tt.Shape.Dim, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d}})
		}
	}
	return &onnxpb.ValueInfoProto{Name: proto.String(name), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: tt}}}
}

// cfName declares a value without a type.
func cfName(name string) *onnxpb.ValueInfoProto {
	return &onnxpb.ValueInfoProto{Name: proto.String(name)}
}

func cfGraph(nodes []*onnxpb.NodeProto, ins, outs []*onnxpb.ValueInfoProto) *onnxpb.GraphProto {
	return &onnxpb.GraphProto{Name: proto.String("g"), Node: nodes, Input: ins, Output: outs}
}

func cfGraphAttr(name string, g *onnxpb.GraphProto) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_GRAPH.Enum(), G: g}
}

// cfConst is a Constant node writing t to name.
func cfConst(t *testing.T, name string, v *tensor.Tensor) *onnxpb.NodeProto {
	t.Helper()
	tp, err := tensor.ToProto(v, name)
	if err != nil {
		t.Fatal(err)
	}
	return cfNode("Constant", nil, []string{name}, ir.TensorAttr("value", tp))
}

func cfModel(opset int64, g *onnxpb.GraphProto) *onnxpb.ModelProto {
	return &onnxpb.ModelProto{IrVersion: proto.Int64(8), Graph: g,
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(opset)}}}
}

func cfCompile(t *testing.T, mp *onnxpb.ModelProto, opts Options) (*Program, error) {
	t.Helper()
	m, err := ir.FromProto(mp)
	if err != nil {
		t.Fatal(err)
	}
	return Compile(m, opts)
}

func cfRun(t *testing.T, mp *onnxpb.ModelProto, opts Options, in map[string]*tensor.Tensor) (map[string]*tensor.Tensor, error) {
	t.Helper()
	p, err := cfCompile(t, mp, opts)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	return p.Run(in)
}

func cfI64(v int64) *tensor.Tensor {
	return &tensor.Tensor{Type: tensor.Int64, Shape: []int64{}, Data: []int64{v}}
}

func cfBool(v bool) *tensor.Tensor {
	return &tensor.Tensor{Type: tensor.Bool, Shape: []int64{}, Data: []bool{v}}
}

// nestedLoopModel: an outer Loop of N iterations carries acc; its body runs
// an inner Loop of 3 iterations that adds w, a main-graph input read two
// levels down, and stacks acc as a scan output. The outer body passes its
// condition input straight through.
func nestedLoopModel(t *testing.T) *onnxpb.ModelProto {
	inner := cfGraph([]*onnxpb.NodeProto{
		cfNode("Identity", []string{"c2"}, []string{"c2_out"}),
		cfNode("Add", []string{"a", "w"}, []string{"a_out"}),
	}, []*onnxpb.ValueInfoProto{cfVI("i2", tensor.Int64, []int64{}), cfVI("c2", tensor.Bool, []int64{}), cfVI("a", tensor.Float, []int64{2})},
		[]*onnxpb.ValueInfoProto{cfName("c2_out"), cfName("a_out")})
	outer := cfGraph([]*onnxpb.NodeProto{
		cfConst(t, "three", cfI64(3)),
		cfNode("Loop", []string{"three", "", "acc_in"}, []string{"acc_out"}, cfGraphAttr("body", inner)),
		cfNode("Identity", []string{"acc_out"}, []string{"acc_scan"}),
	}, []*onnxpb.ValueInfoProto{cfVI("i1", tensor.Int64, []int64{}), cfVI("c1", tensor.Bool, []int64{}), cfName("acc_in")},
		[]*onnxpb.ValueInfoProto{cfName("c1"), cfName("acc_out"), cfVI("acc_scan", tensor.Float, []int64{2})})
	g := cfGraph([]*onnxpb.NodeProto{
		cfConst(t, "zeros", tensor.FromFloat32([]float32{0, 0}, 2)),
		cfNode("Loop", []string{"N", "", "zeros"}, []string{"acc", "history"}, cfGraphAttr("body", outer)),
	}, []*onnxpb.ValueInfoProto{cfVI("N", tensor.Int64, []int64{}), cfVI("w", tensor.Float, []int64{2})},
		[]*onnxpb.ValueInfoProto{cfVI("acc", tensor.Float, []int64{2}), cfVI("history", tensor.Float, nil)})
	return cfModel(13, g)
}

func TestLoopNested(t *testing.T) {
	mp := nestedLoopModel(t)
	w := tensor.FromFloat32([]float32{1, 2}, 2)
	for _, fuse := range []bool{false, true} {
		p, err := cfCompile(t, mp, Options{Fuse: fuse})
		if err != nil {
			t.Fatal(err)
		}
		var observed []string
		out, err := p.RunWith(map[string]*tensor.Tensor{"N": cfI64(2), "w": w}, RunOptions{Observe: func(name string, _ *tensor.Tensor) {
			observed = append(observed, name)
		}})
		if err != nil {
			t.Fatal(err)
		}
		elemExpect(t, out["acc"], tensor.Float, []int64{2}, []float32{6, 12})
		elemExpect(t, out["history"], tensor.Float, []int64{2, 2}, []float32{3, 6, 6, 12})
		// Observe sees the control-flow node's outputs, not the bodies'.
		if strings.Join(observed, ",") != "acc,history" {
			t.Errorf("observed %v, want acc and history only", observed)
		}
		// No iteration: the initial value, and an empty scan output of
		// the declared element shape.
		out, err = p.Run(map[string]*tensor.Tensor{"N": cfI64(0), "w": w})
		if err != nil {
			t.Fatal(err)
		}
		elemExpect(t, out["acc"], tensor.Float, []int64{2}, []float32{0, 0})
		elemExpect(t, out["history"], tensor.Float, []int64{0, 2}, []float32{})
	}
	// Concurrent runs share the compiled bodies.
	p, err := cfCompile(t, mp, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(n int64) {
			defer wg.Done()
			for r := 0; r < 20; r++ {
				out, err := p.Run(map[string]*tensor.Tensor{"N": cfI64(n), "w": w})
				if err != nil {
					t.Error(err)
					return
				}
				if got := out["acc"].Data.([]float32); got[0] != float32(3*n) || got[1] != float32(6*n) {
					t.Errorf("N=%d: acc %v", n, got)
					return
				}
			}
		}(int64(g + 1))
	}
	wg.Wait()
}

// TestIfInLoop: a Loop whose body adds x (a main-graph input) on even
// iterations and subtracts 100 on odd ones; the else branch defines its own
// x, which shadows the outer one.
func TestIfInLoop(t *testing.T) {
	then := cfGraph([]*onnxpb.NodeProto{cfNode("Add", []string{"s", "x"}, []string{"t_out"})}, nil,
		[]*onnxpb.ValueInfoProto{cfName("t_out")})
	els := cfGraph([]*onnxpb.NodeProto{
		cfConst(t, "x", tensor.FromFloat32([]float32{100})),
		cfNode("Sub", []string{"s", "x"}, []string{"e_out"}),
	}, nil, []*onnxpb.ValueInfoProto{cfName("e_out")})
	body := cfGraph([]*onnxpb.NodeProto{
		cfConst(t, "two", cfI64(2)),
		cfConst(t, "zero", cfI64(0)),
		cfNode("Mod", []string{"i", "two"}, []string{"r"}),
		cfNode("Equal", []string{"r", "zero"}, []string{"even"}),
		cfNode("If", []string{"even"}, []string{"s_out"}, cfGraphAttr("then_branch", then), cfGraphAttr("else_branch", els)),
		cfNode("Identity", []string{"s_out"}, []string{"trace"}),
	}, []*onnxpb.ValueInfoProto{cfName("i"), cfName("c"), cfName("s")},
		[]*onnxpb.ValueInfoProto{cfName("c"), cfName("s_out"), cfVI("trace", tensor.Float, []int64{})})
	g := cfGraph([]*onnxpb.NodeProto{
		cfConst(t, "M", cfI64(4)),
		cfConst(t, "s0", tensor.FromFloat32([]float32{0})),
		cfNode("Loop", []string{"M", "go", "s0"}, []string{"s", "trace"}, cfGraphAttr("body", body)),
	}, []*onnxpb.ValueInfoProto{cfVI("x", tensor.Float, []int64{}), cfVI("go", tensor.Bool, nil)},
		[]*onnxpb.ValueInfoProto{cfName("s"), cfName("trace")})
	mp := cfModel(16, g)
	out, err := cfRun(t, mp, Options{}, map[string]*tensor.Tensor{"x": tensor.FromFloat32([]float32{5}), "go": cfBool(true)})
	if err != nil {
		t.Fatal(err)
	}
	elemExpect(t, out["s"], tensor.Float, []int64{}, []float32{-190})
	elemExpect(t, out["trace"], tensor.Float, []int64{4}, []float32{5, -95, -90, -190})
	// cond false: no iteration.
	out, err = cfRun(t, mp, Options{}, map[string]*tensor.Tensor{"x": tensor.FromFloat32([]float32{5}), "go": cfBool(false)})
	if err != nil {
		t.Fatal(err)
	}
	elemExpect(t, out["s"], tensor.Float, []int64{}, []float32{0})
	elemExpect(t, out["trace"], tensor.Float, []int64{0}, []float32{})
	// cond must be a bool scalar.
	_, err = cfRun(t, mp, Options{}, map[string]*tensor.Tensor{"x": tensor.FromFloat32([]float32{5}),
		"go": {Type: tensor.Bool, Shape: []int64{2}, Data: []bool{true, true}}})
	if err == nil || !strings.Contains(err.Error(), "Loop") || !strings.Contains(err.Error(), "cond") {
		t.Errorf("two-element cond: %v", err)
	}
}

// TestScanAxes: Scan 11 over X along axis 1 in reverse and Y along axis 0,
// stacking its scan output along the last axis in reverse.
func TestScanAxes(t *testing.T) {
	body := cfGraph([]*onnxpb.NodeProto{
		cfNode("Add", []string{"sum_in", "x_t"}, []string{"sum_out"}),
		cfNode("Add", []string{"sum_out", "y_t"}, []string{"e"}),
	}, []*onnxpb.ValueInfoProto{cfVI("sum_in", tensor.Float, []int64{2}), cfVI("x_t", tensor.Float, []int64{2}), cfVI("y_t", tensor.Float, []int64{})},
		[]*onnxpb.ValueInfoProto{cfName("sum_out"), cfVI("e", tensor.Float, []int64{2})})
	g := cfGraph([]*onnxpb.NodeProto{
		cfNode("Scan", []string{"init", "X", "Y"}, []string{"sum", "E"}, cfGraphAttr("body", body),
			ir.IntAttr("num_scan_inputs", 2), ir.IntsAttr("scan_input_axes", 1, 0), ir.IntsAttr("scan_input_directions", 1, 0),
			ir.IntsAttr("scan_output_axes", -1), ir.IntsAttr("scan_output_directions", 1)),
	}, []*onnxpb.ValueInfoProto{cfVI("init", tensor.Float, []int64{2}), cfVI("X", tensor.Float, nil), cfVI("Y", tensor.Float, nil)},
		[]*onnxpb.ValueInfoProto{cfName("sum"), cfName("E")})
	mp := cfModel(11, g)
	in := map[string]*tensor.Tensor{
		"init": tensor.FromFloat32([]float32{0, 0}, 2),
		"X":    tensor.FromFloat32([]float32{1, 2, 3, 4, 5, 6}, 2, 3),
		"Y":    tensor.FromFloat32([]float32{10, 20, 30}, 3),
	}
	out, err := cfRun(t, mp, Options{}, in)
	if err != nil {
		t.Fatal(err)
	}
	elemExpect(t, out["sum"], tensor.Float, []int64{2}, []float32{6, 15})
	elemExpect(t, out["E"], tensor.Float, []int64{2, 3}, []float32{36, 25, 13, 45, 31, 16})
	// Zero-length scan: the initial state, an empty output.
	in["X"], in["Y"] = tensor.FromFloat32(nil, 2, 0), tensor.FromFloat32(nil, 0)
	out, err = cfRun(t, mp, Options{}, in)
	if err != nil {
		t.Fatal(err)
	}
	elemExpect(t, out["sum"], tensor.Float, []int64{2}, []float32{0, 0})
	elemExpect(t, out["E"], tensor.Float, []int64{2, 0}, []float32{})
	// The scan inputs' lengths must agree.
	in["X"], in["Y"] = tensor.FromFloat32([]float32{1, 2, 3, 4, 5, 6}, 2, 3), tensor.FromFloat32([]float32{1, 2}, 2)
	if _, err := cfRun(t, mp, Options{}, in); err == nil || !strings.Contains(err.Error(), "Scan") {
		t.Errorf("mismatched lengths: %v", err)
	}
}

// TestScan8: batches, sequence_lens and a reverse direction.
func TestScan8(t *testing.T) {
	body := cfGraph([]*onnxpb.NodeProto{
		cfNode("Add", []string{"s_in", "x"}, []string{"s_out"}),
		cfNode("Identity", []string{"s_out"}, []string{"y"}),
	}, []*onnxpb.ValueInfoProto{cfVI("s_in", tensor.Float, []int64{1}), cfVI("x", tensor.Float, []int64{1})},
		[]*onnxpb.ValueInfoProto{cfName("s_out"), cfVI("y", tensor.Float, []int64{1})})
	g := cfGraph([]*onnxpb.NodeProto{
		cfNode("Scan", []string{"lens", "s0", "X"}, []string{"s", "Y"}, cfGraphAttr("body", body),
			ir.IntAttr("num_scan_inputs", 1), ir.IntsAttr("directions", 1)),
	}, []*onnxpb.ValueInfoProto{cfVI("lens", tensor.Int64, []int64{2}), cfVI("s0", tensor.Float, []int64{2, 1}), cfVI("X", tensor.Float, []int64{2, 3, 1})},
		[]*onnxpb.ValueInfoProto{cfName("s"), cfName("Y")})
	mp := cfModel(8, g)
	in := map[string]*tensor.Tensor{
		"lens": {Type: tensor.Int64, Shape: []int64{2}, Data: []int64{3, 2}},
		"s0":   tensor.FromFloat32([]float32{0, 0}, 2, 1),
		"X":    tensor.FromFloat32([]float32{1, 2, 3, 4, 5, 6}, 2, 3, 1),
	}
	out, err := cfRun(t, mp, Options{}, in)
	if err != nil {
		t.Fatal(err)
	}
	elemExpect(t, out["s"], tensor.Float, []int64{2, 1}, []float32{6, 9})
	elemExpect(t, out["Y"], tensor.Float, []int64{2, 3, 1}, []float32{3, 5, 6, 5, 9, 0})
	in["lens"] = &tensor.Tensor{Type: tensor.Int64, Shape: []int64{2}, Data: []int64{3, 4}}
	if _, err := cfRun(t, mp, Options{}, in); err == nil || !strings.Contains(err.Error(), "sequence_lens") {
		t.Errorf("sequence length past the end: %v", err)
	}
}

// loopModel is a Loop carrying v (float [1]) whose body adds 1 and passes
// its condition through; cond decides whether the model has a cond input.
func loopModel(t *testing.T, cond bool) *onnxpb.ModelProto {
	body := cfGraph([]*onnxpb.NodeProto{
		cfConst(t, "one", tensor.FromFloat32([]float32{1}, 1)),
		cfNode("Add", []string{"v", "one"}, []string{"v_out"}),
	}, []*onnxpb.ValueInfoProto{cfName("i"), cfName("c"), cfName("v")},
		[]*onnxpb.ValueInfoProto{cfName("c"), cfName("v_out")})
	ins := []*onnxpb.ValueInfoProto{cfVI("M", tensor.Int64, []int64{}), cfVI("v0", tensor.Float, []int64{1})}
	condName := ""
	if cond {
		ins = append(ins, cfVI("cond", tensor.Bool, []int64{}))
		condName = "cond"
	}
	g := cfGraph([]*onnxpb.NodeProto{cfNode("Loop", []string{"M", condName, "v0"}, []string{"v"}, cfGraphAttr("body", body))},
		ins, []*onnxpb.ValueInfoProto{cfName("v")})
	g.Node[0].Name = proto.String("loop")
	return cfModel(16, g)
}

// TestLoopHostile: huge and negative trip counts, loops that never end,
// and huge scans fail quickly with errors naming the node.
func TestLoopHostile(t *testing.T) {
	v0 := tensor.FromFloat32([]float32{0}, 1)
	run := func(mp *onnxpb.ModelProto, opts Options, in map[string]*tensor.Tensor) (map[string]*tensor.Tensor, error, time.Duration) {
		start := time.Now()
		out, err := cfRun(t, mp, opts, in)
		return out, err, time.Since(start)
	}
	// A sane loop runs.
	out, err, _ := run(loopModel(t, false), Options{}, map[string]*tensor.Tensor{"M": cfI64(5), "v0": v0})
	if err != nil {
		t.Fatal(err)
	}
	elemExpect(t, out["v"], tensor.Float, []int64{1}, []float32{5})
	cases := []struct {
		name string
		cond bool
		m    int64
		opts Options
		want string
		fast time.Duration
	}{
		{"for 1e18, no budget", false, 1e18, Options{}, "limit", time.Second},
		{"for 1e18, budget", false, 1e18, Options{MaxWork: 1 << 20}, "budget", time.Second},
		{"for MaxInt64, budget", false, math.MaxInt64, Options{MaxWork: 1 << 40}, "budget", time.Second},
		{"while 1e18, budget", true, 1e18, Options{MaxWork: 1 << 20}, "budget", time.Second},
		{"while 1e18, no budget", true, 1e18, Options{}, "limit", 20 * time.Second},
		{"negative", false, -1, Options{}, "negative", time.Second},
	}
	for _, c := range cases {
		in := map[string]*tensor.Tensor{"M": cfI64(c.m), "v0": v0}
		if c.cond {
			in["cond"] = cfBool(true)
		}
		_, err, took := run(loopModel(t, c.cond), c.opts, in)
		switch {
		case err == nil:
			t.Errorf("%s: no error", c.name)
		case !strings.Contains(err.Error(), `"loop" (Loop)`) || !strings.Contains(err.Error(), c.want):
			t.Errorf("%s: error %q should name the node and say %q", c.name, err, c.want)
		case c.opts.MaxWork > 0 && !errors.Is(err, ErrWorkBudget):
			t.Errorf("%s: error %q does not wrap ErrWorkBudget", c.name, err)
		case took > c.fast:
			t.Errorf("%s: took %v", c.name, took)
		}
		t.Logf("%s: %v (%v)", c.name, err, took.Round(time.Millisecond))
	}
	// A Scan over 2^40 empty slices fails before its first iteration.
	body := cfGraph([]*onnxpb.NodeProto{cfNode("Identity", []string{"x"}, []string{"y"})},
		[]*onnxpb.ValueInfoProto{cfName("x")}, []*onnxpb.ValueInfoProto{cfName("y")})
	g := cfGraph([]*onnxpb.NodeProto{cfNode("Scan", []string{"X"}, []string{"Y"}, cfGraphAttr("body", body), ir.IntAttr("num_scan_inputs", 1))},
		[]*onnxpb.ValueInfoProto{cfVI("X", tensor.Float, nil)}, []*onnxpb.ValueInfoProto{cfName("Y")})
	_, err, took := run(cfModel(16, g), Options{}, map[string]*tensor.Tensor{"X": tensor.FromFloat32(nil, 1<<40, 0)})
	if err == nil || !strings.Contains(err.Error(), "Scan") || took > time.Second {
		t.Errorf("huge empty scan: %v after %v", err, took)
	}
}

// TestControlFlowCompileErrors: malformed control flow fails at compile
// time, naming the node.
func TestControlFlowCompileErrors(t *testing.T) {
	branch := func(outs ...string) *onnxpb.GraphProto {
		var vis []*onnxpb.ValueInfoProto
		for _, o := range outs {
			vis = append(vis, cfName(o))
		}
		return cfGraph([]*onnxpb.NodeProto{cfNode("Identity", []string{"x"}, []string{"y"})}, nil, vis)
	}
	ifModel := func(attrs ...*onnxpb.AttributeProto) *onnxpb.ModelProto {
		n := cfNode("If", []string{"c"}, []string{"out"}, attrs...)
		n.Name = proto.String("branchy")
		return cfModel(13, cfGraph([]*onnxpb.NodeProto{n},
			[]*onnxpb.ValueInfoProto{cfVI("c", tensor.Bool, []int64{}), cfVI("x", tensor.Float, nil)},
			[]*onnxpb.ValueInfoProto{cfName("out")}))
	}
	seqOut := branch("y")
	seqOut.Output[0].Type = &onnxpb.TypeProto{Value: &onnxpb.TypeProto_SequenceType{SequenceType: &onnxpb.TypeProto_Sequence{}}}
	for _, c := range []struct {
		name string
		mp   *onnxpb.ModelProto
		want string
	}{
		{"missing branch", ifModel(cfGraphAttr("then_branch", branch("y"))), "else_branch"},
		{"output count", ifModel(cfGraphAttr("then_branch", branch("y", "x")), cfGraphAttr("else_branch", branch("y"))), "2 outputs"},
		{"sequence output", ifModel(cfGraphAttr("then_branch", seqOut), cfGraphAttr("else_branch", branch("y"))), "sequence"},
		{"loop body inputs", func() *onnxpb.ModelProto {
			mp := loopModel(t, false)
			mp.Graph.Node[0].Attribute[0].G.Input = mp.Graph.Node[0].Attribute[0].G.Input[1:]
			return mp
		}(), "body takes 2 inputs"},
	} {
		_, err := cfCompile(t, c.mp, Options{})
		if err == nil || !strings.Contains(err.Error(), "(If)") && !strings.Contains(err.Error(), "(Loop)") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v should name the node and say %q", c.name, err, c.want)
		}
	}
	// A subgraph two levels down reads a name defined nowhere: the model
	// does not load, and an IR edited to read it does not compile.
	mp := nestedLoopModel(t)
	innerAdd := func(mp *onnxpb.ModelProto) *onnxpb.NodeProto {
		return mp.Graph.Node[1].Attribute[0].G.Node[1].Attribute[0].G.Node[1]
	}
	bad := proto.Clone(mp).(*onnxpb.ModelProto)
	innerAdd(bad).Input[1] = "nowhere"
	if _, err := ir.FromProto(bad); err == nil || !strings.Contains(err.Error(), "nowhere") || !strings.Contains(err.Error(), "Loop") {
		t.Errorf("loading a model reading an undefined name: %v", err)
	}
	m, err := ir.FromProto(mp)
	if err != nil {
		t.Fatal(err)
	}
	loop := m.Graph.Nodes()[len(m.Graph.Nodes())-1]
	inner := loop.Attr("body").G.Node[1].Attribute[0].G.Node[1]
	inner.Input[1] = "nowhere"
	if _, err := Compile(m, Options{}); err == nil || !strings.Contains(err.Error(), "nowhere") || !strings.Contains(err.Error(), "Loop") {
		t.Errorf("compiling a model reading an undefined name: %v", err)
	}
}

// TestLoopKeepsPlan runs a model with nested loops several times: the
// requests the loops make come from the pool's side buffers, so after the
// first run the plan holds (no request off it, no new buffer), and the
// results stay right.
func TestLoopKeepsPlan(t *testing.T) {
	// Values made before the loop and read after it, and one that dies
	// before it (its buffer is free while the loop runs, and planned for a
	// request after it): y = (acc + (w·w + w)).
	mp := nestedLoopModel(t)
	g := mp.Graph
	g.Node = append([]*onnxpb.NodeProto{
		cfNode("Mul", []string{"w", "w"}, []string{"sq"}),
		cfNode("Add", []string{"sq", "w"}, []string{"s2"}),
	}, g.Node...)
	g.Node = append(g.Node, cfNode("Add", []string{"acc", "s2"}, []string{"y"}))
	g.Output = append(g.Output, cfVI("y", tensor.Float, []int64{2}))
	p, err := cfCompile(t, mp, Options{})
	if err != nil {
		t.Fatal(err)
	}
	in := map[string]*tensor.Tensor{"N": cfI64(4), "w": tensor.FromFloat32([]float32{1, 2}, 2)}
	var held []int64
	for r := 0; r < 4; r++ {
		var st RunStats
		out, err := p.RunWith(in, RunOptions{Stats: &st})
		if err != nil {
			t.Fatal(err)
		}
		elemExpect(t, out["acc"], tensor.Float, []int64{2}, []float32{12, 24})
		elemExpect(t, out["y"], tensor.Float, []int64{2}, []float32{14, 30})
		held = append(held, st.PeakPoolBytes)
		if r >= 2 {
			if misses := p.idle[0].pool.misses; misses != 0 {
				t.Errorf("run %d: %d requests off the plan", r, misses)
			}
		}
	}
	if held[2] != held[1] || held[3] != held[1] {
		t.Errorf("pool held %v bytes over the runs; want it settled from the second run", held)
	}
}

// TestRecurrentAndControlHostileSweep is hostileSweep over the recurrent,
// loss and control-flow ops.
func TestRecurrentAndControlHostileSweep(t *testing.T) {
	runs, refused := hostileSweep(t, []string{"rnn", "simple_rnn", "gru", "lstm", "nllloss", "sce", "if", "loop", "scan"}, 16, 2)
	t.Logf("%d hostile runs, %d refused", runs, refused)
}
