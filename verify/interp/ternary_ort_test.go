package interp_test

import (
	"math/rand/v2"
	"testing"

	"github.com/onnx-prom/onnx-prom/onnx"
	"github.com/onnx-prom/onnx-prom/onnx/ir"
	"github.com/onnx-prom/onnx-prom/onnx/onnxpb"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
	"github.com/onnx-prom/onnx-prom/passes"
	"github.com/onnx-prom/onnx-prom/verify/interp"
	"github.com/onnx-prom/onnx-prom/verify/ort"
	"google.golang.org/protobuf/proto"
)

type ternaryCase struct {
	name             string
	n, c, h, w, m    int64
	k, group, stride int64
	pad              int64
	xType, yType     tensor.DataType
}

// randomTernaryModel builds a one-node TernaryConv model with random
// codes, scales and bias, carrying the reference function body.
func randomTernaryModel(t *testing.T, tc ternaryCase, r *rand.Rand) *onnxpb.ModelProto {
	t.Helper()
	codes := make([]int8, tc.m*(tc.c/tc.group)*tc.k*tc.k)
	for i := range codes {
		codes[i] = int8(r.IntN(3) - 1)
	}
	ws := make([]float32, tc.m)
	bias := make([]int32, tc.m)
	for i := range ws {
		ws[i] = 0.02 + r.Float32()*0.1
		bias[i] = int32(r.IntN(2001) - 1000)
	}
	zp := func(dt tensor.DataType, v int64) *tensor.Tensor {
		if dt == tensor.Int8 {
			return &tensor.Tensor{Type: dt, Shape: []int64{}, Data: []int8{int8(v)}}
		}
		return &tensor.Tensor{Type: dt, Shape: []int64{}, Data: []uint8{uint8(v)}}
	}
	xzp, yzp := int64(3), int64(-5)
	if tc.xType == tensor.Uint8 {
		xzp = 128
	}
	if tc.yType == tensor.Uint8 {
		yzp = 120
	}
	inits := map[string]*tensor.Tensor{
		"x_scale": tensor.FromFloat32([]float32{0.05}), "x_zp": zp(tc.xType, xzp),
		"w":       {Type: tensor.Int2, Shape: []int64{tc.m, tc.c / tc.group, tc.k, tc.k}, Data: codes},
		"w_scale": tensor.FromFloat32(ws, tc.m), "y_scale": tensor.FromFloat32([]float32{0.09}),
		"y_zp": zp(tc.yType, yzp), "B": {Type: tensor.Int32, Shape: []int64{tc.m}, Data: bias},
	}
	var tps []*onnxpb.TensorProto
	for _, name := range []string{"x_scale", "x_zp", "w", "w_scale", "y_scale", "y_zp", "B"} {
		tp, err := tensor.ToProto(inits[name], name)
		if err != nil {
			t.Fatal(err)
		}
		tps = append(tps, tp)
	}
	tt := func(dt tensor.DataType) *onnxpb.TypeProto {
		return &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(dt))}}}
	}
	return &onnxpb.ModelProto{
		IrVersion: proto.Int64(13),
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(25)},
			{Domain: proto.String(interp.TernaryDomain), Version: proto.Int64(1)}},
		Functions: []*onnxpb.FunctionProto{passes.TernaryConvFunction(25)},
		Graph: &onnxpb.GraphProto{
			Name:        proto.String(tc.name),
			Input:       []*onnxpb.ValueInfoProto{{Name: proto.String("x"), Type: tt(tc.xType)}},
			Output:      []*onnxpb.ValueInfoProto{{Name: proto.String("y"), Type: tt(tc.yType)}},
			Initializer: tps,
			Node: []*onnxpb.NodeProto{{
				Name: proto.String("tc"), OpType: proto.String("TernaryConv"), Domain: proto.String(interp.TernaryDomain),
				Input:  []string{"x", "x_scale", "x_zp", "w", "w_scale", "y_scale", "y_zp", "B"},
				Output: []string{"y"},
				Attribute: []*onnxpb.AttributeProto{ir.IntAttr("group", tc.group), ir.IntsAttr("strides", tc.stride, tc.stride),
					ir.IntsAttr("pads", tc.pad, tc.pad, tc.pad, tc.pad)},
			}},
		},
	}
}

func randomInput(tc ternaryCase, r *rand.Rand) *tensor.Tensor {
	n := tc.n * tc.c * tc.h * tc.w
	x := &tensor.Tensor{Type: tc.xType, Shape: []int64{tc.n, tc.c, tc.h, tc.w}}
	if tc.xType == tensor.Int8 {
		d := make([]int8, n)
		for i := range d {
			d[i] = int8(r.IntN(256) - 128)
		}
		x.Data = d
	} else {
		d := make([]uint8, n)
		for i := range d {
			d[i] = uint8(r.IntN(256))
		}
		x.Data = d
	}
	return x
}

var ternaryCases = []ternaryCase{
	{"pointwise", 2, 32, 7, 9, 24, 1, 1, 1, 0, tensor.Int8, tensor.Int8},
	{"pointwise-uint8", 1, 48, 5, 5, 40, 1, 1, 1, 0, tensor.Uint8, tensor.Uint8},
	{"pointwise-strided", 1, 16, 8, 8, 16, 1, 1, 2, 0, tensor.Int8, tensor.Uint8},
	{"3x3-group-padded", 1, 8, 6, 6, 8, 3, 2, 2, 1, tensor.Int8, tensor.Int8},
}

// TestTernaryConvNativeMatchesFunctionBody runs each model with the native
// kernel and with the reference body inlined (DequantizeLinear, Conv,
// QuantizeLinear in float32): they must agree within one step, and exactly
// in the common case.
func TestTernaryConvNativeMatchesFunctionBody(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	for _, tc := range ternaryCases {
		t.Run(tc.name, func(t *testing.T) {
			mp := randomTernaryModel(t, tc, r)
			m, err := ir.FromProto(mp)
			if err != nil {
				t.Fatal(err)
			}
			native, err := interp.Compile(m, interp.Options{})
			if err != nil {
				t.Fatal(err)
			}
			body, err := interp.Compile(m, interp.Options{InlineFunctions: []string{interp.TernaryDomain + "/TernaryConv"}})
			if err != nil {
				t.Fatal(err)
			}
			x := randomInput(tc, r)
			a, err := native.Run(map[string]*tensor.Tensor{"x": x})
			if err != nil {
				t.Fatal(err)
			}
			b, err := body.Run(map[string]*tensor.Tensor{"x": x})
			if err != nil {
				t.Fatal(err)
			}
			exact, maxDiff := compareInts(t, a["y"], b["y"])
			t.Logf("%d of %d outputs identical, max difference %d", exact, a["y"].Len(), maxDiff)
			if maxDiff > 1 || float64(exact) < 0.99*float64(a["y"].Len()) {
				t.Fatalf("native vs function body: %d of %d identical, max difference %d", exact, a["y"].Len(), maxDiff)
			}
		})
	}
}

// TestTernaryConvMatchesORT runs the same models in ONNX Runtime 1.30, which
// has no native TernaryConv and so executes the model-local function.
func TestTernaryConvMatchesORT(t *testing.T) {
	ort.RequireOrSkip(t)
	r := rand.New(rand.NewPCG(7, 11))
	for _, tc := range ternaryCases {
		t.Run(tc.name, func(t *testing.T) {
			mp := randomTernaryModel(t, tc, r)
			b, err := onnx.Marshal(mp)
			if err != nil {
				t.Fatal(err)
			}
			s, err := ort.Open(b, ort.Options{IntraOpThreads: 1})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			m, _ := ir.FromProto(mp)
			native, err := interp.Compile(m, interp.Options{})
			if err != nil {
				t.Fatal(err)
			}
			x := randomInput(tc, r)
			got, err := native.Run(map[string]*tensor.Tensor{"x": x})
			if err != nil {
				t.Fatal(err)
			}
			outs, err := s.Run([]ort.Tensor{{Name: "x", Shape: x.Shape, Data: x.Data}})
			if err != nil {
				t.Fatal(err)
			}
			want := &tensor.Tensor{Type: tc.yType, Shape: outs[0].Shape, Data: outs[0].Data}
			exact, maxDiff := compareInts(t, got["y"], want)
			t.Logf("ORT vs native: %d of %d identical, max difference %d", exact, want.Len(), maxDiff)
			if maxDiff > 1 || float64(exact) < 0.99*float64(want.Len()) {
				t.Fatalf("ORT vs native: %d of %d identical, max difference %d", exact, want.Len(), maxDiff)
			}
		})
	}
}

func compareInts(t *testing.T, a, b *tensor.Tensor) (exact int, maxDiff int64) {
	t.Helper()
	if a.Type != b.Type || len(a.Shape) != len(b.Shape) {
		t.Fatalf("outputs differ: %s %v vs %s %v", tensor.Name(a.Type), a.Shape, tensor.Name(b.Type), b.Shape)
	}
	for i := range a.Shape {
		if a.Shape[i] != b.Shape[i] {
			t.Fatalf("shapes differ: %v vs %v", a.Shape, b.Shape)
		}
	}
	x, _ := a.Int64s()
	y, _ := b.Int64s()
	for i := range x {
		d := x[i] - y[i]
		if d < 0 {
			d = -d
		}
		if d == 0 {
			exact++
		}
		maxDiff = max(maxDiff, d)
	}
	return exact, maxDiff
}
