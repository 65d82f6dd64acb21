package ort_test

import (
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	pb "github.com/onnx-prom/onnx-prom/onnx/onnxpb"
	"github.com/onnx-prom/onnx-prom/verify/ort"
)

// These tests pin down ONNX Runtime 1.30 behaviour that onnx-prom relies on.

// TestIROpsetAcceptance: ORT checks the IR version (<= 13) and the opset of
// the default domain (<= 26, the last released one) separately; it does not
// check that they belong together, so IR 3 with opset 26 loads.
func TestIROpsetAcceptance(t *testing.T) {
	ort.RequireOrSkip(t)
	for _, c := range []struct {
		ir, opset int64
		reject    string // "" when ORT loads the model, else part of its error
	}{
		{ir: 3, opset: 7},
		{ir: 3, opset: 26},
		{ir: 7, opset: 13},
		{ir: 10, opset: 21},
		{ir: 11, opset: 25},
		{ir: 13, opset: 7},
		{ir: 13, opset: 26},
		{ir: 14, opset: 21, reject: "Unsupported model IR version: 14, max supported IR version: 13"},
		{ir: 13, opset: 27, reject: "Opset 27 is under development"},
		// The CPU provider has no Add kernel before opset 7.
		{ir: 10, opset: 6, reject: "Could not find an implementation for Add(6)"},
	} {
		s, err := ort.Open(mlpModel(t, c.ir, c.opset), ort.Options{})
		switch {
		case c.reject == "" && err != nil:
			t.Errorf("IR %d opset %d: %v", c.ir, c.opset, err)
		case c.reject != "" && err == nil:
			t.Errorf("IR %d opset %d: loaded, want an error containing %q", c.ir, c.opset, c.reject)
		case c.reject != "" && !strings.Contains(err.Error(), c.reject):
			t.Errorf("IR %d opset %d: error %q, want one containing %q", c.ir, c.opset, err, c.reject)
		}
		if err == nil {
			out, err := s.Run([]ort.Tensor{{Name: "X", Shape: []int64{1, 3}, Data: []float32{0, 0, -1}}})
			if err != nil {
				t.Errorf("IR %d opset %d: %v", c.ir, c.opset, err)
			} else {
				checkFloats(t, "run", out[0], []int64{1, 2}, []float32{5, 0})
			}
			s.Close()
		}
	}
}

func TestPack2(t *testing.T) {
	// 1,-2,0,-1 -> 01,10,00,11 from bit 0 up -> 0b11001001.
	got := pack2([]int8{1, -2, 0, -1, -1, 1, 1, 0, -2, -2, 1, 1, 1, 0, -1})
	want := []byte{0xC9, 0x17, 0x5A, 0x31}
	if !slices.Equal(got, want) {
		t.Errorf("pack2 = % x, want % x", got, want)
	}
}

// int2ConvModel is Y = Conv(X, DequantizeLinear(Wq, scale[, zp], axis=0))
// with a 1x1 kernel: X float[1,4,1,2], Wq INT2 [3,4,1,1], scale float[3],
// zp INT2 [3] when withZP.
func int2ConvModel(t testing.TB, ir, opsetVersion int64, withZP bool) []byte {
	dqIn := []string{"Wq", "scale"}
	inits := []*pb.TensorProto{
		int2Tensor("Wq", []int64{3, 4, 1, 1}, []int8{
			1, -2, 0, -1,
			-1, 1, 1, 0,
			-2, -2, 1, 1,
		}),
		floatTensor("scale", []int64{3}, []float32{0.5, 2, 0.25}),
	}
	if withZP {
		dqIn = append(dqIn, "zp")
		inits = append(inits, int2Tensor("zp", []int64{3}, []int8{1, 0, -1}))
	}
	g := &pb.GraphProto{
		Name: proto.String("int2conv"),
		Node: []*pb.NodeProto{
			node("DequantizeLinear", dqIn, []string{"W"}, intAttr("axis", 0)),
			node("Conv", []string{"X", "W"}, []string{"Y"}),
		},
		Initializer: inits,
		Input:       []*pb.ValueInfoProto{valueInfo("X", pb.TensorProto_FLOAT, 1, 4, 1, 2)},
		Output:      []*pb.ValueInfoProto{valueInfo("Y", pb.TensorProto_FLOAT, 1, 3, 1, 2)},
	}
	return marshalModel(t, ir, []*pb.OperatorSetIdProto{opset("", opsetVersion)}, g)
}

// TestInt2DequantizeConv: ORT 1.30 runs DequantizeLinear on an INT2
// initializer (per-channel scale, with and without an INT2 zero point).
func TestInt2DequantizeConv(t *testing.T) {
	ort.RequireOrSkip(t)
	// Channels of X (positions p0, p1): [1 2] [3 -1] [0.5 4] [-2 1].
	x := ort.Tensor{Name: "X", Shape: []int64{1, 4, 1, 2}, Data: []float32{1, 2, 3, -1, 0.5, 4, -2, 1}}
	// Without zero point, W = q*scale:
	//   o0: [0.5 -1 0 -0.5]  o1: [-2 2 2 0]  o2: [-0.5 -0.5 0.25 0.25]
	// Y[o,p] = sum_c W[o,c]*X[c,p]:
	//   o0: 0.5-3+0+1 = -1.5,  1+1+0-0.5 = 1.5
	//   o1: -2+6+1+0 = 5,      -4-2+8+0 = 2
	//   o2: -0.5-1.5+0.125-0.5 = -2.375,  -1+0.5+1+0.25 = 0.75
	noZP := []float32{-1.5, 1.5, 5, 2, -2.375, 0.75}
	// With zp = [1 0 -1], W = (q-zp)*scale:
	//   o0: [0 -1.5 -0.5 -1]  o1: [-2 2 2 0]  o2: [-0.25 -0.25 0.5 0.5]
	//   o0: 0-4.5-0.25+2 = -2.75,  0+1.5-2-1 = -1.5
	//   o2: -0.25-0.75+0.25-1 = -1.75,  -0.5+0.25+2+0.5 = 2.25
	withZP := []float32{-2.75, -1.5, 5, 2, -1.75, 2.25}
	for _, c := range []struct {
		name      string
		ir, opset int64
		zp        bool
		want      []float32
	}{
		// INT2 came with IR 13 (ONNX 1.20), yet ORT takes it at IR 11 too.
		{"ir11_opset25", 11, 25, false, noZP},
		{"ir11_opset25_zp", 11, 25, true, withZP},
		{"ir13_opset25", 13, 25, false, noZP},
		{"ir13_opset26_zp", 13, 26, true, withZP},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, opt := range []ort.GraphOptimization{ort.OptimizeDisable, ort.OptimizeAll} {
				s, err := ort.Open(int2ConvModel(t, c.ir, c.opset, c.zp), ort.Options{IntraOpThreads: 1, GraphOptimization: opt})
				if err != nil {
					t.Fatal(err)
				}
				out, err := s.Run([]ort.Tensor{x})
				s.Close()
				if err != nil {
					t.Fatal(err)
				}
				checkFloats(t, "Y", out[0], []int64{1, 3, 1, 2}, c.want)
			}
		})
	}
}

// TestInt2NeedsOpset25: before opset 25 DequantizeLinear has no INT2.
func TestInt2NeedsOpset25(t *testing.T) {
	ort.RequireOrSkip(t)
	s, err := ort.Open(int2ConvModel(t, 13, 24, false), ort.Options{})
	if err == nil {
		s.Close()
		t.Fatal("INT2 DequantizeLinear loaded at opset 24")
	}
	t.Logf("opset 24: %v", err)
}

// fooFunction is the model-local function ai.onnxprom.Foo(x, a, b) = x*a + b.
func fooFunction() *pb.FunctionProto {
	return &pb.FunctionProto{
		Name:   proto.String("Foo"),
		Domain: proto.String("ai.onnxprom"),
		Input:  []string{"x", "a", "b"},
		Output: []string{"y"},
		Node: []*pb.NodeProto{
			node("Mul", []string{"x", "a"}, []string{"t"}),
			node("Add", []string{"t", "b"}, []string{"y"}),
		},
		OpsetImport: []*pb.OperatorSetIdProto{opset("", 21), opset("ai.onnxprom", 1)},
	}
}

// scaleFunction is ai.onnxprom.Scale(x) = x*alpha, with alpha an attribute
// (default 2) reached through a Constant node's ref_attr_name.
func scaleFunction() *pb.FunctionProto {
	return &pb.FunctionProto{
		Name:   proto.String("Scale"),
		Domain: proto.String("ai.onnxprom"),
		Input:  []string{"x"},
		Output: []string{"y"},
		AttributeProto: []*pb.AttributeProto{{
			Name: proto.String("alpha"), Type: pb.AttributeProto_FLOAT.Enum(), F: proto.Float32(2),
		}},
		Node: []*pb.NodeProto{
			node("Constant", nil, []string{"c"}, &pb.AttributeProto{
				Name: proto.String("value_float"), Type: pb.AttributeProto_FLOAT.Enum(), RefAttrName: proto.String("alpha"),
			}),
			node("Mul", []string{"x", "c"}, []string{"y"}),
		},
		OpsetImport: []*pb.OperatorSetIdProto{opset("", 21), opset("ai.onnxprom", 1)},
	}
}

// TestLocalFunction: ORT inlines model-local functions (ModelProto.functions)
// of a custom domain, with attribute references and defaults.
func TestLocalFunction(t *testing.T) {
	ort.RequireOrSkip(t)
	foo := node("Foo", []string{"X", "A", "B"}, []string{"F"})
	foo.Domain = proto.String("ai.onnxprom")
	scale3 := node("Scale", []string{"F"}, []string{"Y"}, &pb.AttributeProto{
		Name: proto.String("alpha"), Type: pb.AttributeProto_FLOAT.Enum(), F: proto.Float32(3),
	})
	scale3.Domain = proto.String("ai.onnxprom")
	scaleDefault := node("Scale", []string{"X"}, []string{"Z"})
	scaleDefault.Domain = proto.String("ai.onnxprom")
	g := &pb.GraphProto{
		Name: proto.String("localfn"),
		Node: []*pb.NodeProto{foo, scale3, scaleDefault},
		Initializer: []*pb.TensorProto{
			floatTensor("A", []int64{3}, []float32{2, -1, 0.5}),
			floatTensor("B", []int64{3}, []float32{0.5, 0.5, -1}),
		},
		Input: []*pb.ValueInfoProto{valueInfo("X", pb.TensorProto_FLOAT, 3)},
		Output: []*pb.ValueInfoProto{
			valueInfo("Y", pb.TensorProto_FLOAT, 3),
			valueInfo("Z", pb.TensorProto_FLOAT, 3),
		},
	}
	for _, ir := range []int64{10, 13} {
		model := marshalModel(t, ir, []*pb.OperatorSetIdProto{opset("", 21), opset("ai.onnxprom", 1)}, g,
			fooFunction(), scaleFunction())
		for _, opt := range []ort.GraphOptimization{ort.OptimizeDisable, ort.OptimizeAll} {
			s, err := ort.Open(model, ort.Options{IntraOpThreads: 1, GraphOptimization: opt})
			if err != nil {
				t.Fatalf("IR %d: %v", ir, err)
			}
			out, err := s.Run([]ort.Tensor{{Name: "X", Shape: []int64{3}, Data: []float32{1, 2, 3}}})
			s.Close()
			if err != nil {
				t.Fatalf("IR %d: %v", ir, err)
			}
			// F = X*A + B = [2.5 -1.5 0.5]; Y = 3F; Z = 2X.
			checkFloats(t, "Y", out[0], []int64{3}, []float32{7.5, -4.5, 1.5})
			checkFloats(t, "Z", out[1], []int64{3}, []float32{2, 4, 6})
		}
	}
}

// TestScalarIO: rank-0 inputs and outputs round-trip (onnxruntime_go cannot
// allocate rank-0 outputs itself; Session.Run preallocates them).
func TestScalarIO(t *testing.T) {
	ort.RequireOrSkip(t)
	g := &pb.GraphProto{
		Name: proto.String("scalar"),
		Node: []*pb.NodeProto{
			node("Mul", []string{"S", "V"}, []string{"P"}),
			node("ReduceSum", []string{"P"}, []string{"T"}, intAttr("keepdims", 0)),
			node("Cast", []string{"T"}, []string{"I"}, intAttr("to", int64(pb.TensorProto_INT64))),
			node("Reshape", []string{"P", "Shp"}, []string{"U"}),
		},
		Input: []*pb.ValueInfoProto{
			valueInfo("S", pb.TensorProto_FLOAT),
			valueInfo("V", pb.TensorProto_FLOAT, 2),
			valueInfo("Shp", pb.TensorProto_INT64, "K"),
		},
		Output: []*pb.ValueInfoProto{
			valueInfo("T", pb.TensorProto_FLOAT),
			valueInfo("I", pb.TensorProto_INT64),
			// Of unknown rank: ORT reports rank 0, but it is [2 1].
			{Name: proto.String("U"), Type: &pb.TypeProto{Value: &pb.TypeProto_TensorType{
				TensorType: &pb.TypeProto_Tensor{ElemType: proto.Int32(int32(pb.TensorProto_FLOAT))}}}},
		},
	}
	s, err := ort.Open(marshalModel(t, 10, []*pb.OperatorSetIdProto{opset("", 21)}, g), ort.Options{GraphOptimization: ort.OptimizeDisable})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := 0; i < 2; i++ {
		out, err := s.Run([]ort.Tensor{
			{Name: "S", Shape: []int64{}, Data: []float32{3}},
			{Name: "V", Shape: []int64{2}, Data: []float32{1.5, 2}},
			{Name: "Shp", Shape: []int64{2}, Data: []int64{2, 1}},
		})
		if err != nil {
			t.Fatal(err)
		}
		checkFloats(t, "T", out[0], []int64{}, []float32{10.5})
		if d, ok := out[1].Data.([]int64); !ok || !slices.Equal(d, []int64{10}) || len(out[1].Shape) != 0 {
			t.Errorf("I = %+v, want int64 scalar 10", out[1])
		}
		checkFloats(t, "U", out[2], []int64{2, 1}, []float32{4.5, 6})
	}
}
