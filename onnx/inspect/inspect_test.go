package inspect_test

import (
	"bytes"
	"encoding/json"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onnx-prom/onnx-prom/internal/testenv"
	"github.com/onnx-prom/onnx-prom/onnx"
	"github.com/onnx-prom/onnx-prom/onnx/inspect"
	"github.com/onnx-prom/onnx-prom/onnx/ir"
	"github.com/onnx-prom/onnx-prom/onnx/onnxpb"
	"github.com/onnx-prom/onnx-prom/onnx/shapes"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
	"github.com/onnx-prom/onnx-prom/testdata/models"
	"google.golang.org/protobuf/proto"
)

// torchvision's mobilenet_v2: 3,504,872 parameters and 300.78 M MACs
// (convolutions and the linear layer) at 224x224.
const (
	torchParams = 3504872
	torchMACs   = 300.78e6
)

func within(got, want, rel float64) bool { return math.Abs(got-want) <= rel*want }

// TestMobileNetV2Full checks the full model with BatchNormalization kept
// (cmd/onnx-prom's tests cover the folded one too, through the command).
func TestMobileNetV2Full(t *testing.T) {
	for _, fold := range []bool{false} {
		cfg := models.Full()
		cfg.FoldBN = fold
		mp, err := models.MobileNetV2(cfg)
		if err != nil {
			t.Fatal(err)
		}
		m, err := ir.FromProto(mp)
		if err != nil {
			t.Fatal(err)
		}
		r, err := inspect.Analyze(m)
		if err != nil {
			t.Fatal(err)
		}
		c := r.Convs
		if c.Total != 52 || c.Depthwise != 17 || c.Pointwise != 34 || c.SqueezeExcite != 0 || c.Regular != 1 || c.Grouped != 0 {
			t.Errorf("fold=%v: convs %+v, want 52 = 17 depthwise + 34 pointwise + 1 regular", fold, c)
		}
		if len(r.Chains) != 17 || len(r.Expansions) != 16 {
			t.Errorf("fold=%v: %d chains and %d expansions, want 17 and 16", fold, len(r.Chains), len(r.Expansions))
		}
		if !within(float64(r.Params.Count), torchParams, 0.005) {
			t.Errorf("fold=%v: %d parameters, want %d within 0.5%%", fold, r.Params.Count, torchParams)
		}
		if !within(float64(r.MACs.Total), torchMACs, 0.005) {
			t.Errorf("fold=%v: %d MACs, want %.0f within 0.5%%", fold, r.MACs.Total, torchMACs)
		}
		if len(r.MACs.Unknown) != 0 || !strings.Contains(r.MACs.Note, "batch N counted as 1") {
			t.Errorf("fold=%v: unknown %v, note %q", fold, r.MACs.Unknown, r.MACs.Note)
		}
		if got := r.Inputs[0].Shape; got != "N,3,224,224" {
			t.Errorf("input shape %q", got)
		}
		if got := r.Outputs[0].Shape; got != "N,1000" {
			t.Errorf("output shape %q", got)
		}
		if r.Shapes != r.Values {
			t.Errorf("fold=%v: %d of %d shapes known", fold, r.Shapes, r.Values)
		}
		// The 1000x1280 classifier holds 1,281,000 parameters: 36.5% of the
		// total (reference: 36.9% of the weights).
		if !fold && r.Params.BNStatistics != 2*17056 {
			t.Errorf("BN statistics %d, want 2*17056 (running mean and variance of every BN)", r.Params.BNStatistics)
		}
		var pw, dw int64
		for _, k := range r.MACs.ByConvKind {
			switch k.Op {
			case "pointwise":
				pw = k.MACs
			case "depthwise":
				dw = k.MACs
			}
		}
		// Reference shares: pointwise 82.4% + final 1x1 conv 6.7%, depthwise 6.9%.
		if p := 100 * float64(pw) / float64(r.MACs.Total); math.Abs(p-89.1) > 0.2 {
			t.Errorf("pointwise share %.2f%%, want 89.1%%", p)
		}
		if p := 100 * float64(dw) / float64(r.MACs.Total); math.Abs(p-6.9) > 0.1 {
			t.Errorf("depthwise share %.2f%%, want 6.9%%", p)
		}
		t.Logf("fold=%v: %d parameters (+%d BN statistics), %d MACs (%s), convs %d dw / %d pw / %d regular, %d chains, %d expansions",
			fold, r.Params.Count, r.Params.BNStatistics, r.MACs.Total, r.MACs.Note, c.Depthwise, c.Pointwise, c.Regular, len(r.Chains), len(r.Expansions))
	}
}

// TestAnalyzeLeavesModel checks that Analyze infers shapes on a copy.
func TestAnalyzeLeavesModel(t *testing.T) {
	mp, err := onnx.Load("../../testdata/models/tiny.onnx")
	if err != nil {
		t.Fatal(err)
	}
	m, err := ir.FromProto(mp)
	if err != nil {
		t.Fatal(err)
	}
	var inner []*ir.Value
	for _, n := range m.Graph.Nodes() {
		if v := n.Output(0); !v.IsGraphOutput() {
			v.Type, v.Shape = tensor.Undefined, nil
			inner = append(inner, v)
		}
	}
	r1, err := inspect.Analyze(m)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range inner {
		if v.Shape != nil || v.Type != tensor.Undefined {
			t.Fatalf("Analyze set the shape of %q in the caller's model", v.Name)
		}
	}
	r2, err := inspect.Analyze(m)
	if err != nil {
		t.Fatal(err)
	}
	var b1, b2 bytes.Buffer
	if err := r1.WriteJSON(&b1); err != nil {
		t.Fatal(err)
	}
	if err := r2.WriteJSON(&b2); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b1.Bytes(), b2.Bytes()) {
		t.Error("two analyses give different JSON")
	}
	var decoded map[string]any
	if err := json.Unmarshal(b1.Bytes(), &decoded); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"ir_version", "producer", "opsets", "inputs", "outputs", "ops", "parameters", "macs", "convs", "chains", "expansions"} {
		if _, ok := decoded[k]; !ok {
			t.Errorf("JSON has no %q", k)
		}
	}
	var txt bytes.Buffer
	if err := r1.WriteText(&txt); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"depthwise", "features.1.conv.0.0", "-> features.1.conv.1", "BatchNormalization, Clip", "[N,3,32,32]"} {
		if !strings.Contains(txt.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, txt.String())
		}
	}
}

// TestOCRModels checks the PaddleOCR models: every conv fed (through
// Relu/HardSigmoid/1x1 convs) by a global pooling is a squeeze-excite conv,
// and no other 1x1 conv is.
func TestOCRModels(t *testing.T) {
	dir := testenv.OCRModels(t)
	for _, tc := range []struct {
		file  string
		shape []int64
	}{
		{"ch_PP-OCRv4_det_infer.onnx", []int64{1, 3, 640, 640}},
		{"ch_PP-OCRv4_rec_infer.onnx", []int64{1, 3, 48, 320}},
		{"ch_ppocr_mobile_v2.0_cls_infer.onnx", []int64{1, 3, 48, 192}},
	} {
		mp, err := onnx.Load(filepath.Join(dir, tc.file))
		if err != nil {
			t.Fatal(err)
		}
		m, err := ir.FromProto(mp)
		if err != nil {
			t.Fatal(err)
		}
		// Independent count: convs reached from a GlobalAveragePool through
		// Conv/Relu only (the squeeze and excite convs of SE blocks).
		se := map[string]bool{}
		for _, n := range m.Graph.Nodes() {
			if n.OpType != "GlobalAveragePool" {
				continue
			}
			for v := n.Output(0); v != nil && len(v.Uses()) == 1; {
				u := v.Uses()[0].Node
				if u.OpType == "Conv" {
					se[u.Name] = true
				} else if u.OpType != "Relu" {
					break
				}
				v = u.Output(0)
			}
		}
		for _, symbolic := range []bool{true, false} {
			o := inspect.Options{}
			if !symbolic {
				o.InputShapes = map[string][]int64{m.Graph.Inputs[0].Name: tc.shape}
			}
			r, err := inspect.AnalyzeWith(m, o)
			if err != nil {
				t.Fatalf("%s: %v", tc.file, err)
			}
			got := map[string]bool{}
			for _, c := range r.Convs.List {
				if c.Kind == "squeeze_excite" {
					got[c.Name] = true
				}
			}
			if len(got) != len(se) || len(se) == 0 {
				t.Errorf("%s (symbolic %v): %d squeeze-excite convs, structure says %d", tc.file, symbolic, len(got), len(se))
			}
			for name := range se {
				if !got[name] {
					t.Errorf("%s: conv %s after a global pool is not classified squeeze-excite", tc.file, name)
				}
			}
			if !symbolic && len(r.MACs.Unknown) > 0 {
				t.Errorf("%s: MACs unknown for %v", tc.file, r.MACs.Unknown)
			}
			c := r.Convs
			t.Logf("%s input %v: %d values, %d shapes known (%d numeric); %d params; %.2f M MACs; convs %d: %d dw, %d pw, %d SE, %d regular, %d transposed; %d dw->pw chains, %d expansions",
				tc.file, r.Inputs[0].Shape, r.Values, r.Shapes, r.NumericShapes, r.Params.Count, float64(r.MACs.Total)/1e6,
				c.Total, c.Depthwise, c.Pointwise, c.SqueezeExcite, c.Regular, c.Transposed, len(r.Chains), len(r.Expansions))
		}
	}
}

// Hand-built graphs for the matcher.

type gb struct{ g *onnxpb.GraphProto }

func newGB() *gb { return &gb{&onnxpb.GraphProto{Name: proto.String("t")}} }

func (b *gb) input(name string, dims ...any) *gb {
	sh := &onnxpb.TensorShapeProto{}
	for _, d := range dims {
		dim := &onnxpb.TensorShapeProto_Dimension{}
		switch d := d.(type) {
		case int:
			dim.Value = &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: int64(d)}
		case string:
			dim.Value = &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: d}
		}
		sh.Dim = append(sh.Dim, dim)
	}
	b.g.Input = append(b.g.Input, &onnxpb.ValueInfoProto{Name: proto.String(name), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{
		TensorType: &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(tensor.Float)), Shape: sh}}}})
	return b
}

func (b *gb) init(name string, dims []int64, val float32) *gb {
	n, _ := tensor.NumElements(dims)
	d := make([]float32, n)
	for i := range d {
		d[i] = val
	}
	tp, _ := tensor.ToProto(&tensor.Tensor{Type: tensor.Float, Shape: dims, Data: d}, name)
	b.g.Initializer = append(b.g.Initializer, tp)
	return b
}

func (b *gb) node(op, name string, in []string, out string, attrs ...*onnxpb.AttributeProto) *gb {
	b.g.Node = append(b.g.Node, &onnxpb.NodeProto{OpType: proto.String(op), Name: proto.String(name), Input: in, Output: []string{out}, Attribute: attrs})
	return b
}

// dw adds a 3x3 depthwise conv on c channels, pw a 1x1 conv c -> c.
func (b *gb) dw(name, in, out string, c int64) *gb {
	return b.init(name+".w", []int64{c, 1, 3, 3}, 0.1).
		node("Conv", name, []string{in, name + ".w"}, out, ir.IntAttr("group", c), ir.IntsAttr("pads", 1, 1, 1, 1))
}

func (b *gb) pw(name, in, out string, c int64) *gb {
	return b.init(name+".w", []int64{c, c, 1, 1}, 0.1).node("Conv", name, []string{in, name + ".w"}, out)
}

func (b *gb) model(t *testing.T, out string) *ir.Model {
	t.Helper()
	b.g.Output = append(b.g.Output, &onnxpb.ValueInfoProto{Name: proto.String(out)})
	m, err := ir.FromProto(&onnxpb.ModelProto{IrVersion: proto.Int64(8), Graph: b.g,
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(13)}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := shapes.Infer(m); err != nil {
		t.Fatal(err)
	}
	return m
}

func opsOf(ns []*ir.Node) string {
	var s []string
	for _, n := range ns {
		s = append(s, n.OpType)
	}
	return strings.Join(s, ",")
}

func TestChainPatterns(t *testing.T) {
	const c = 8
	scalar := []int64{}
	for _, tc := range []struct {
		name  string
		build func(b *gb) // from "d" (depthwise output) to "p" (pointwise input)
		want  string      // ops between, "" for no chain
	}{
		{"bn_relu6", func(b *gb) {
			for _, p := range []string{"g", "bb", "mu", "var"} {
				b.init(p, []int64{c}, 1)
			}
			b.init("lo", scalar, 0).init("hi", scalar, 6).
				node("BatchNormalization", "bn", []string{"d", "g", "bb", "mu", "var"}, "a").
				node("Clip", "clip", []string{"a", "lo", "hi"}, "p")
		}, "BatchNormalization,Clip"},
		{"direct", func(b *gb) { b.node("Identity", "id", []string{"d"}, "p") }, "Identity"},
		{"silu", func(b *gb) {
			b.node("Sigmoid", "s", []string{"d"}, "sg").node("Mul", "m", []string{"sg", "d"}, "p")
		}, "Sigmoid,Mul"},
		{"hardswish_hardsigmoid", func(b *gb) {
			b.node("HardSigmoid", "hs", []string{"d"}, "h").node("Mul", "m", []string{"d", "h"}, "p")
		}, "HardSigmoid,Mul"},
		{"hardswish_mul_then_div", func(b *gb) { // x * Clip(x+3, 0, 6) / 6
			b.init("three", scalar, 3).init("zero", scalar, 0).init("six", scalar, 6).
				node("Add", "a3", []string{"d", "three"}, "x3").
				node("Clip", "cl", []string{"x3", "zero", "six"}, "r6").
				node("Mul", "m", []string{"d", "r6"}, "xr").
				node("Div", "dv", []string{"xr", "six"}, "p")
		}, "Add,Clip,Mul,Div"},
		{"hardswish_div_in_gate", func(b *gb) { // x * (Clip(3+x, 0, 6) / 6)
			b.init("three", scalar, 3).init("zero", scalar, 0).init("six", scalar, 6).
				node("Add", "a3", []string{"three", "d"}, "x3").
				node("Clip", "cl", []string{"x3", "zero", "six"}, "r6").
				node("Div", "dv", []string{"r6", "six"}, "g").
				node("Mul", "m", []string{"g", "d"}, "p")
		}, "Add,Clip,Div,Mul"},
		{"hardswish_times_sixth", func(b *gb) {
			b.init("three", scalar, 3).init("sixth", []int64{1}, 1.0/6).
				node("Add", "a3", []string{"d", "three"}, "x3").
				node("Relu", "r", []string{"x3"}, "r6").
				node("Mul", "m", []string{"d", "r6"}, "xr").
				node("Mul", "ms", []string{"xr", "sixth"}, "p")
		}, "Add,Relu,Mul,Mul"},
		{"leaky_scale_shift", func(b *gb) {
			b.init("s", []int64{1}, 2).init("sh", []int64{c, 1, 1}, 1).
				node("LeakyRelu", "l", []string{"d"}, "a").
				node("Mul", "m", []string{"s", "a"}, "b").
				node("Add", "ad", []string{"b", "sh"}, "p")
		}, "LeakyRelu,Mul,Add"},
		{"relu6_as_max_min_qdq", func(b *gb) {
			b.init("zero", scalar, 0).init("six", scalar, 6).init("qs", scalar, 0.05).
				node("Max", "mx", []string{"d", "zero"}, "a").
				node("Min", "mn", []string{"six", "a"}, "b").
				node("QuantizeLinear", "q", []string{"b", "qs"}, "bq").
				node("DequantizeLinear", "dq", []string{"bq", "qs"}, "p")
		}, "Max,Min,QuantizeLinear,DequantizeLinear"},
		{"branch", func(b *gb) { // d is read by Relu and by the graph tail
			b.node("Relu", "r", []string{"d"}, "p").node("Relu", "r2", []string{"d"}, "extra")
		}, ""},
		{"mul_by_tensor", func(b *gb) {
			b.node("Mul", "m", []string{"d", "x"}, "p")
		}, ""},
		{"spatial_const", func(b *gb) { // not per-channel
			b.init("k", []int64{1, 1, 4, 4}, 2).node("Mul", "m", []string{"d", "k"}, "p")
		}, ""},
		{"squeeze_excite", func(b *gb) {
			b.node("GlobalAveragePool", "gap", []string{"d"}, "sq").
				pw("se1", "sq", "s1", c).node("Relu", "sr", []string{"s1"}, "s2").
				pw("se2", "s2", "s3", c).node("HardSigmoid", "hs", []string{"s3"}, "s4").
				node("Mul", "m", []string{"d", "s4"}, "p")
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newGB().input("x", "N", c, 4, 4).dw("dw", "x", "d", c)
			tc.build(b)
			b.pw("pw", "p", "y", c)
			outName := "y"
			if tc.name == "branch" {
				b.node("Add", "tail", []string{"y", "extra"}, "z")
				outName = "z"
			}
			m := b.model(t, outName)
			chains := inspect.FindChains(m.Graph)
			if tc.want == "" {
				if len(chains) != 0 {
					t.Fatalf("found chain via %s, want none", opsOf(chains[0].Between))
				}
				return
			}
			if len(chains) != 1 {
				t.Fatalf("found %d chains, want 1", len(chains))
			}
			ch := chains[0]
			if ch.From.Name != "dw" || ch.To.Name != "pw" || opsOf(ch.Between) != tc.want {
				t.Errorf("chain %s -> %s via %s, want dw -> pw via %s", ch.From.Name, ch.To.Name, opsOf(ch.Between), tc.want)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	b := newGB().input("x", "N", 8, "H", "W").
		init("w.exp", []int64{16, 8, 1, 1}, 1).node("Conv", "expand", []string{"x", "w.exp"}, "e").
		init("w.dw", []int64{16, 1, 3, 3}, 1).node("Conv", "dw", []string{"e", "w.dw"}, "d", ir.IntAttr("group", 16), ir.IntsAttr("pads", 1, 1, 1, 1)).
		init("w.mult", []int64{32, 1, 3, 3}, 1).node("Conv", "dw_mult", []string{"d", "w.mult"}, "dm", ir.IntAttr("group", 16)).
		init("w.grp", []int64{16, 4, 3, 3}, 1).node("Conv", "grouped", []string{"d", "w.grp"}, "g", ir.IntAttr("group", 4)).
		// A spatial mean (ReduceMean over H, W, keepdims) then two 1x1
		// convs: both squeeze-excite even with symbolic H and W.
		node("ReduceMean", "mean", []string{"d"}, "sq", ir.IntsAttr("axes", 2, 3)).
		init("w.se1", []int64{4, 16, 1, 1}, 1).node("Conv", "se1", []string{"sq", "w.se1"}, "s1").
		node("Relu", "sr", []string{"s1"}, "s2").
		init("w.se2", []int64{16, 4, 1, 1}, 1).node("Conv", "se2", []string{"s2", "w.se2"}, "s3").
		node("Mul", "scale", []string{"d", "s3"}, "ds").
		init("w.proj", []int64{8, 16, 1, 1}, 1).node("Conv", "project", []string{"ds", "w.proj"}, "y")
	m := b.model(t, "y")
	want := map[string]inspect.ConvKind{
		"expand": inspect.Pointwise, "dw": inspect.Depthwise, "dw_mult": inspect.Grouped, "grouped": inspect.Grouped,
		"se1": inspect.SqueezeExcite, "se2": inspect.SqueezeExcite, "project": inspect.Pointwise,
	}
	for _, n := range m.Graph.Nodes() {
		c, ok := inspect.Classify(n)
		if !ok {
			continue
		}
		if c.Kind != want[n.Name] {
			t.Errorf("%s: %v, want %v", n.Name, c.Kind, want[n.Name])
		}
	}
	if ex := inspect.FindExpansions(m.Graph); len(ex) != 1 || ex[0].From.Name != "expand" || ex[0].To.Name != "dw" {
		t.Errorf("expansions %v, want expand -> dw", ex)
	}
	// dw's output is read by four nodes: no dw -> pw chain.
	if ch := inspect.FindChains(m.Graph); len(ch) != 0 {
		t.Errorf("chains %v, want none", ch)
	}
}

func TestParamsAndMACs(t *testing.T) {
	b := newGB().input("x", "B", 8, 16, 16).
		init("w", []int64{16, 8, 3, 3}, 1).init("bias", []int64{16}, 0).
		node("Conv", "conv", []string{"x", "w", "bias"}, "c", ir.IntsAttr("pads", 1, 1, 1, 1)).
		node("GlobalAveragePool", "gap", []string{"c"}, "g").
		node("Flatten", "fl", []string{"g"}, "f").
		init("fc", []int64{10, 16}, 1).node("Gemm", "gemm", []string{"f", "fc"}, "y", ir.IntAttr("transB", 1))
	b.g.Node = append(b.g.Node, &onnxpb.NodeProto{OpType: proto.String("Constant"), Output: []string{"k"},
		Attribute: []*onnxpb.AttributeProto{{Name: proto.String("value_floats"), Type: onnxpb.AttributeProto_FLOATS.Enum(), Floats: []float32{1, 2, 3}}}})
	m := b.model(t, "y")
	r, err := inspect.Analyze(m)
	if err != nil {
		t.Fatal(err)
	}
	// 16*8*9 + 16 + 160 weights + 3 constant elements.
	if r.Params.Count != 1152+16+160+3 || r.Params.Bytes != 4*(1152+16+160+3) || r.Params.Tensors != 4 {
		t.Errorf("params %+v", r.Params)
	}
	// Conv: 16x16x16 outputs x 8*3*3 = 294,912; Gemm: 10 x 16 = 160.
	if r.MACs.Total != 294912+160 || r.MACs.Note != "batch B counted as 1" {
		t.Errorf("MACs %+v", r.MACs)
	}
	if r.Convs.Regular != 1 || r.Convs.List[0].MACs != 294912 || r.Convs.List[0].Output != "B,16,16,16" || r.Convs.List[0].Kernel != "3x3" {
		t.Errorf("convs %+v", r.Convs)
	}
	// With a fixed batch of 4 the counts scale and no note is given.
	r, err = inspect.AnalyzeWith(m, inspect.Options{InputShapes: map[string][]int64{"x": {4, 8, 16, 16}}})
	if err != nil {
		t.Fatal(err)
	}
	if r.MACs.Total != 4*(294912+160) || r.MACs.Note != "" {
		t.Errorf("batch 4: MACs %+v", r.MACs)
	}
	if _, err := inspect.AnalyzeWith(m, inspect.Options{InputShapes: map[string][]int64{"x": {4, 8}}}); err == nil {
		t.Error("wrong-rank input shape accepted")
	}
	if _, err := inspect.AnalyzeWith(m, inspect.Options{InputShapes: map[string][]int64{"nope": {1}}}); err == nil {
		t.Error("unknown input accepted")
	}
	// A channel mismatch is an error naming the node.
	_, err = inspect.AnalyzeWith(m, inspect.Options{InputShapes: map[string][]int64{"x": {1, 3, 16, 16}}})
	if err == nil || !strings.Contains(err.Error(), "conv") {
		t.Errorf("channel mismatch: %v", err)
	}
}
