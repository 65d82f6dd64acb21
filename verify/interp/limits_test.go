package interp

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/onnx-prom/onnx-prom/onnx/ir"
	"github.com/onnx-prom/onnx-prom/onnx/onnxpb"
	"github.com/onnx-prom/onnx-prom/onnx/shapes"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
)

// limitRun compiles and runs a one-node model under opts.
func limitRun(t *testing.T, nd elemNode, opts Options) error {
	t.Helper()
	mp, feeds := elemModel(nd)
	m, err := ir.FromProto(mp)
	if err != nil {
		t.Fatal(err)
	}
	prog, err := Compile(m, opts)
	if err != nil {
		return err
	}
	_, err = prog.Run(feeds)
	return err
}

func TestAllocLimit(t *testing.T) {
	// 1<<18 floats are 1 MiB: allowed at 1 MiB, refused at 1 MiB - 1.
	nd := elemNode{op: "ConstantOfShape", inputs: []*tensor.Tensor{elemI64(elemShape(2), 1<<9, 1<<9)}}
	if err := limitRun(t, nd, Options{MaxTensorBytes: 1 << 20}); err != nil {
		t.Fatalf("1 MiB output under a 1 MiB limit: %v", err)
	}
	err := limitRun(t, nd, Options{MaxTensorBytes: 1<<20 - 1})
	if !errors.Is(err, tensor.ErrTooLarge) || !strings.Contains(err.Error(), "n0") {
		t.Fatalf("over the limit: %v, want ErrTooLarge naming the node", err)
	}
}

// TestScratchLimit is the regression test for scratch buffers sized by a
// dimension of a tensor without elements: refused with an error, not a
// panic.
func TestScratchLimit(t *testing.T) {
	x := &tensor.Tensor{Type: tensor.Float, Shape: []int64{0, 1 << 62}, Data: []float32{}}
	err := limitRun(t, elemNode{op: "LayerNormalization", opset: 17, inputs: []*tensor.Tensor{x, x}}, Options{MaxTensorBytes: 1 << 20})
	if err == nil || strings.Contains(err.Error(), "kernel failed") {
		t.Fatalf("got %v, want an ordinary error", err)
	}
}

func TestInitializerLimit(t *testing.T) {
	mp, feeds := elemModel(elemNode{op: "Add", inputs: []*tensor.Tensor{elemF32(elemShape(4), 1, 2, 3, 4)}})
	w, _ := tensor.ToProto(tensor.FromFloat32(make([]float32, 1024), 1024), "w")
	mp.Graph.Initializer = []*onnxpb.TensorProto{w}
	mp.Graph.Node[0].Input = append(mp.Graph.Node[0].Input, "w")
	m, err := ir.FromProto(mp)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Compile(m, Options{MaxTensorBytes: 4096}); err != nil {
		t.Fatalf("4 kB initializer under a 4 kB limit: %v", err)
	}
	_, err = Compile(m, Options{MaxTensorBytes: 4095})
	if !errors.Is(err, tensor.ErrTooLarge) || !strings.Contains(err.Error(), `"w"`) {
		t.Fatalf("got %v, want ErrTooLarge naming initializer w", err)
	}
	_ = feeds
}

// TestNodeWork checks the estimate against multiply-accumulate counts
// worked out by hand; the estimate adds one per input element.
func TestNodeWork(t *testing.T) {
	node := func(op, domain string, attrs ...*onnxpb.AttributeProto) *ir.Node {
		return &ir.Node{OpType: op, Domain: domain, Attrs: attrs}
	}
	cases := []struct {
		name string
		n    *ir.Node
		in   [][]int64
		want int64
	}{
		// 4 output channels x 8x8 positions x 3 channels x 3x3 taps.
		{"conv 3x3 pad 1", node("Conv", "", elemInts("pads", 1, 1, 1, 1)), [][]int64{{1, 3, 8, 8}, {4, 3, 3, 3}}, 4*64*27 + 192 + 108},
		// stride 2 without pads: (8-3)/2+1 = 3 positions a side.
		{"conv stride 2", node("Conv", "", elemInts("strides", 2, 2)), [][]int64{{2, 3, 8, 8}, {4, 3, 3, 3}}, 2*4*9*27 + 384 + 108},
		{"conv dilation 2", node("Conv", "", elemInts("dilations", 2, 2)), [][]int64{{1, 1, 8, 8}, {1, 1, 3, 3}}, 16*9 + 64 + 9},
		{"conv same", node("Conv", "", elemStr("auto_pad", "SAME_UPPER"), elemInts("strides", 2, 2)), [][]int64{{1, 1, 7, 7}, {1, 1, 3, 3}}, 16*9 + 49 + 9},
		{"depthwise", node("Conv", "", elemInt("group", 8)), [][]int64{{1, 8, 5, 5}, {8, 1, 3, 3}}, 8*9*9 + 200 + 72},
		{"ternary conv", node("TernaryConv", TernaryDomain), [][]int64{{1, 4, 2, 2}, {}, {}, {6, 4, 1, 1}}, 6*4*4 + 16 + 1 + 1 + 24},
		{"conv transpose", node("ConvTranspose", ""), [][]int64{{1, 2, 3, 3}, {2, 4, 2, 2}}, 18*16 + 18 + 32},
		{"matmul batched", node("MatMul", ""), [][]int64{{2, 3, 4}, {4, 5}}, 2*3*4*5 + 24 + 20},
		{"matmul broadcast", node("MatMul", ""), [][]int64{{3, 1, 2, 4}, {5, 4, 6}}, 3*5*2*4*6 + 24 + 120},
		{"matmul vector", node("MatMul", ""), [][]int64{{4}, {4, 5}}, 20 + 4 + 20},
		{"gemm transB", node("Gemm", "", elemInt("transB", 1)), [][]int64{{3, 4}, {5, 4}, {5}}, 60 + 12 + 20 + 5},
		{"maxpool", node("MaxPool", "", elemInts("kernel_shape", 2, 2), elemInts("strides", 2, 2)), [][]int64{{1, 1, 4, 4}}, 4*4 + 16},
		{"einsum", node("Einsum", "", elemStr("equation", "ij,jk->ik")), [][]int64{{2, 3}, {3, 4}}, 24 + 6 + 12},
		{"einsum ellipsis", node("Einsum", "", elemStr("equation", "...ij,...jk")), [][]int64{{5, 2, 3}, {5, 3, 4}}, 5*24 + 30 + 60},
		{"relu", node("Relu", ""), [][]int64{{2, 3}}, 6},
		{"saturates", node("MatMul", ""), [][]int64{{1 << 40, 1 << 40}, {1 << 40, 1 << 40}}, math.MaxInt64},
		{"pads saturate", node("Conv", "", elemInts("pads", math.MaxInt64, 0, math.MaxInt64, 0)), [][]int64{{1, 1, 4, 4}, {1, 1, 3, 3}}, math.MaxInt64},
	}
	for _, c := range cases {
		got, ok := NodeWork(c.n, c.in)
		if !ok || got != c.want {
			t.Errorf("%s: NodeWork = %d, %v; want %d", c.name, got, ok, c.want)
		}
	}
}

// cnnForWork is x[N,3,H,W] -> Conv 3x3 (16 channels, pads 1) -> y.
func cnnForWork(t *testing.T) *ir.Model {
	t.Helper()
	mp, _ := elemModel(elemNode{op: "Conv", attrs: []*onnxpb.AttributeProto{elemInts("pads", 1, 1, 1, 1)},
		inputs: []*tensor.Tensor{elemF32(elemShape(1, 3, 1, 1), 0, 0, 0)}})
	dim := func(v any) *onnxpb.TensorShapeProto_Dimension {
		if s, ok := v.(string); ok {
			return &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: s}}
		}
		return &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: int64(v.(int))}}
	}
	mp.Graph.Input[0].Type.GetTensorType().Shape = &onnxpb.TensorShapeProto{Dim: []*onnxpb.TensorShapeProto_Dimension{dim("N"), dim(3), dim("H"), dim("W")}}
	w, _ := tensor.ToProto(tensor.FromFloat32(make([]float32, 16*27), 16, 3, 3, 3), "w")
	mp.Graph.Initializer = []*onnxpb.TensorProto{w}
	mp.Graph.Node[0].Input = append(mp.Graph.Node[0].Input, "w")
	m, err := ir.FromProto(mp)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestWorkBudget(t *testing.T) {
	m := cnnForWork(t)
	// At 32x32: 16 x 1024 x 27 MACs + 3072 input + 432 weight elements.
	const at32 = 16*1024*27 + 3072 + 432
	total, top, err := EstimateWork(m, map[string][]int64{"in0": {1, 3, 32, 32}})
	if err != nil || total != at32 || top == nil || top.OpType != "Conv" {
		t.Fatalf("EstimateWork = %d, %v, %v; want %d at Conv", total, top, err, at32)
	}
	if _, err := Compile(m, Options{MaxWork: at32, InputShapes: map[string][]int64{"in0": {1, 3, 32, 32}}}); err != nil {
		t.Fatalf("estimate equal to the budget: %v", err)
	}
	_, err = Compile(m, Options{MaxWork: at32 - 1, InputShapes: map[string][]int64{"in0": {1, 3, 32, 32}}})
	if !errors.Is(err, ErrWorkBudget) || !strings.Contains(err.Error(), `"n0"`) {
		t.Fatalf("over the budget: %v, want ErrWorkBudget naming the node", err)
	}
	// Symbolic sizes count as 1 at compile time; the run checks the real
	// shapes before the node runs.
	prog, err := Compile(m, Options{MaxWork: at32})
	if err != nil {
		t.Fatal(err)
	}
	small, _ := tensor.New(tensor.Float, 1, 3, 32, 32)
	if _, err := prog.Run(map[string]*tensor.Tensor{"in0": small}); err != nil {
		t.Fatalf("run within budget: %v", err)
	}
	big, _ := tensor.New(tensor.Float, 1, 3, 33, 32)
	_, err = prog.Run(map[string]*tensor.Tensor{"in0": big})
	if !errors.Is(err, ErrWorkBudget) || !strings.Contains(err.Error(), `"n0"`) {
		t.Fatalf("run over budget: %v, want ErrWorkBudget naming the node", err)
	}
}

// TestShapeOverflow gives shape-computing ops huge dimensions, attributes
// and shape inputs: inference and the interpreter must refuse them with
// errors (no panic, no "kernel failed", no attempt to allocate).
func TestShapeOverflow(t *testing.T) {
	const big = math.MaxInt64
	f := func(shape ...int64) *tensor.Tensor {
		n, _ := tensor.NumElements(shape)
		return &tensor.Tensor{Type: tensor.Float, Shape: shape, Data: make([]float32, n)}
	}
	i64 := func(v ...int64) *tensor.Tensor { return elemI64(elemShape(int64(len(v))), v...) }
	x := f(1, 1, 4, 4)
	empty := f(0, 1<<62) // no elements, huge dimension
	// valid cases have legitimate shapes (a tensor without elements):
	// success is fine, only a panic would be wrong.
	valid := map[string]bool{"expand empty": true, "slice steps": true}
	cases := []struct {
		name string
		nd   elemNode
	}{
		{"conv pads", elemNode{op: "Conv", attrs: []*onnxpb.AttributeProto{elemInts("pads", big, 0, big, 0)}, inputs: []*tensor.Tensor{x, f(1, 1, 3, 3)}}},
		{"conv strides", elemNode{op: "Conv", attrs: []*onnxpb.AttributeProto{elemInts("strides", big, big)}, inputs: []*tensor.Tensor{x, f(1, 1, 3, 3)}}},
		{"conv dilations", elemNode{op: "Conv", attrs: []*onnxpb.AttributeProto{elemInts("dilations", big, 1)}, inputs: []*tensor.Tensor{x, f(1, 1, 3, 3)}}},
		{"maxpool kernel", elemNode{op: "MaxPool", attrs: []*onnxpb.AttributeProto{elemInts("kernel_shape", big, 1)}, inputs: []*tensor.Tensor{x}}},
		{"averagepool pads", elemNode{op: "AveragePool", attrs: []*onnxpb.AttributeProto{elemInts("kernel_shape", 2, 2), elemInts("pads", big, big, 0, 0)}, inputs: []*tensor.Tensor{x}}},
		{"convtranspose output_padding", elemNode{op: "ConvTranspose", attrs: []*onnxpb.AttributeProto{elemInts("strides", big, big), elemInts("output_padding", 1, 1)}, inputs: []*tensor.Tensor{x, f(1, 1, 3, 3)}}},
		{"reshape", elemNode{op: "Reshape", inputs: []*tensor.Tensor{x, i64(1<<62, 4)}}},
		{"reshape infer", elemNode{op: "Reshape", inputs: []*tensor.Tensor{empty, i64(-1, 1<<62, 4)}}},
		{"expand", elemNode{op: "Expand", inputs: []*tensor.Tensor{f(1), i64(1<<40, 1<<40)}}},
		{"expand empty", elemNode{op: "Expand", inputs: []*tensor.Tensor{empty, i64(4, 1, 1<<62)}}},
		{"tile", elemNode{op: "Tile", inputs: []*tensor.Tensor{f(2, 2), i64(1<<62, 1<<62)}}},
		{"tile empty", elemNode{op: "Tile", inputs: []*tensor.Tensor{empty, i64(1, 4)}}},
		{"constantofshape", elemNode{op: "ConstantOfShape", inputs: []*tensor.Tensor{i64(1<<31, 1<<31, 1<<31)}}},
		{"constantofshape negative", elemNode{op: "ConstantOfShape", inputs: []*tensor.Tensor{i64(-1, 4)}}},
		{"range", elemNode{op: "Range", inputs: []*tensor.Tensor{elemI64(nil, math.MinInt64), elemI64(nil, big), elemI64(nil, 1)}}},
		{"range float inf", elemNode{op: "Range", inputs: []*tensor.Tensor{elemF32(nil, 0), elemF32(nil, float32(math.Inf(1))), elemF32(nil, 1)}}},
		{"resize scales", elemNode{op: "Resize", opset: 13, inputs: []*tensor.Tensor{x, nil, elemF32(elemShape(4), 1, 1, 1e18, 1e18)}}},
		{"resize sizes", elemNode{op: "Resize", opset: 13, inputs: []*tensor.Tensor{x, nil, nil, i64(1, 1, 1<<40, 1<<40)}}},
		{"pad", elemNode{op: "Pad", inputs: []*tensor.Tensor{x, i64(0, 0, big, big, 0, 0, big, big)}}},
		{"pad negative", elemNode{op: "Pad", inputs: []*tensor.Tensor{x, i64(0, 0, -big, 0, 0, 0, 0, 0)}}},
		{"concat", elemNode{op: "Concat", attrs: []*onnxpb.AttributeProto{elemInt("axis", 1)}, inputs: []*tensor.Tensor{empty, empty, empty}}},
		{"slice steps", elemNode{op: "Slice", inputs: []*tensor.Tensor{x, i64(math.MinInt64), i64(big), i64(3), i64(math.MinInt64)}}},
		{"onehot depth", elemNode{op: "OneHot", inputs: []*tensor.Tensor{i64(1, 2), elemI64(nil, 1<<62), elemF32(elemShape(2), 0, 1)}}},
		{"depthtospace", elemNode{op: "DepthToSpace", attrs: []*onnxpb.AttributeProto{elemInt("blocksize", 1<<32)}, inputs: []*tensor.Tensor{x}}},
		{"split", elemNode{op: "Split", outputs: 2, inputs: []*tensor.Tensor{f(4), i64(big, 5)}}},
		{"topk", elemNode{op: "TopK", outputs: 2, inputs: []*tensor.Tensor{f(4), i64(big)}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mp, _ := elemModel(c.nd)
			m, err := ir.FromProto(mp)
			if err != nil {
				t.Fatal(err)
			}
			// Inference sees the same shapes and constant inputs.
			k := 0
			for _, in := range c.nd.inputs {
				if in == nil {
					continue
				}
				m.Graph.Inputs[k].Shape = ir.ShapeOf(in.Shape...)
				k++
			}
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Errorf("shape inference panics: %v", r)
					}
				}()
				shapes.InferGraph(m.Graph)
			}()
			err = limitRun(t, c.nd, Options{MaxTensorBytes: 1 << 24, MaxWork: 1 << 30})
			if err == nil && !valid[c.name] {
				t.Fatal("no error")
			}
			if err != nil && strings.Contains(err.Error(), "kernel failed") {
				t.Fatalf("kernel panic: %v", err)
			}
		})
	}
}
