package interp

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/onnx-prom/onnx-prom/onnx/ir"
	"github.com/onnx-prom/onnx-prom/onnx/onnxpb"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
	"google.golang.org/protobuf/proto"
)

// ternaryModel builds y = TernaryConv(x, ...) with the given constants; x
// is the only graph input.
func ternaryModel(t *testing.T, xType tensor.DataType, xShape []int64, codes []int8, wShape []int64,
	xScale float32, xZP int64, wScale []float32, yScale float32, yZP int64, yType tensor.DataType, bias []int32, attrs ...*onnxpb.AttributeProto) *ir.Model {
	t.Helper()
	init := func(name string, tt *tensor.Tensor) *onnxpb.TensorProto {
		tp, err := tensor.ToProto(tt, name)
		if err != nil {
			t.Fatal(err)
		}
		return tp
	}
	zp := func(dt tensor.DataType, v int64) *tensor.Tensor {
		if dt == tensor.Int8 {
			return &tensor.Tensor{Type: dt, Shape: []int64{}, Data: []int8{int8(v)}}
		}
		return &tensor.Tensor{Type: dt, Shape: []int64{}, Data: []uint8{uint8(v)}}
	}
	mp := &onnxpb.ModelProto{
		IrVersion: proto.Int64(11),
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(25)},
			{Domain: proto.String(TernaryDomain), Version: proto.Int64(1)}},
		Graph: &onnxpb.GraphProto{
			Name: proto.String("t"),
			Input: []*onnxpb.ValueInfoProto{{Name: proto.String("x"), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{
				TensorType: &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(xType))}}}}},
			Output: []*onnxpb.ValueInfoProto{{Name: proto.String("y")}},
			Initializer: []*onnxpb.TensorProto{
				init("x_scale", tensor.FromFloat32([]float32{xScale})),
				init("x_zp", zp(xType, xZP)),
				init("w", &tensor.Tensor{Type: tensor.Int2, Shape: wShape, Data: codes}),
				init("w_scale", tensor.FromFloat32(wScale, int64(len(wScale)))),
				init("y_scale", tensor.FromFloat32([]float32{yScale})),
				init("y_zp", zp(yType, yZP)),
				init("B", &tensor.Tensor{Type: tensor.Int32, Shape: []int64{int64(len(bias))}, Data: bias}),
			},
			Node: []*onnxpb.NodeProto{{
				Name: proto.String("tc"), OpType: proto.String("TernaryConv"), Domain: proto.String(TernaryDomain),
				Input:     []string{"x", "x_scale", "x_zp", "w", "w_scale", "y_scale", "y_zp", "B"},
				Output:    []string{"y"},
				Attribute: attrs,
			}},
		},
	}
	m, err := ir.FromProto(mp)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestTernaryConvHandComputed(t *testing.T) {
	// Channels of x: c0 = [2 5], c1 = [-1 0], c2 = [4 4]; zero point 1.
	// m0 = +c0 -c1: acc = 3 + (x0-1) - (x1-1) = [6 8], multiplier 0.5*0.25/0.125 = 1.
	// m1 = +c1 +c2: acc = -2 + (x1-1) + (x2-1) = [-1 0], multiplier 0.5*1/0.125 = 4.
	// y = round(acc*mult) + (-1).
	m := ternaryModel(t, tensor.Int8, []int64{1, 3, 1, 2}, []int8{1, -1, 0, 0, 1, 1}, []int64{2, 3, 1, 1},
		0.5, 1, []float32{0.25, 1}, 0.125, -1, tensor.Int8, []int32{3, -2})
	p, err := Compile(m, Options{})
	if err != nil {
		t.Fatal(err)
	}
	x := &tensor.Tensor{Type: tensor.Int8, Shape: []int64{1, 3, 1, 2}, Data: []int8{2, 5, -1, 0, 4, 4}}
	out, err := p.Run(map[string]*tensor.Tensor{"x": x})
	if err != nil {
		t.Fatal(err)
	}
	want := &tensor.Tensor{Type: tensor.Int8, Shape: []int64{1, 2, 1, 2}, Data: []int8{5, 7, -5, -1}}
	if diff := cmp.Diff(want, out["y"]); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
}

func TestTernaryConvRoundingAndSaturation(t *testing.T) {
	// One channel, code +1, multiplier 0.5: acc 3 -> 1.5 -> 2, acc 5 -> 2.5 -> 2
	// (ties to even), acc 255 -> 127.5 -> 128 -> saturates to 127 (int8) and
	// with uint8 output and zero point 200: 128+200 -> 255.
	x := &tensor.Tensor{Type: tensor.Uint8, Shape: []int64{1, 1, 1, 3}, Data: []uint8{3, 5, 255}}
	for _, c := range []struct {
		yType tensor.DataType
		yZP   int64
		want  any
	}{
		{tensor.Int8, 0, []int8{2, 2, 127}},
		{tensor.Uint8, 200, []uint8{202, 202, 255}},
	} {
		m := ternaryModel(t, tensor.Uint8, x.Shape, []int8{1}, []int64{1, 1, 1, 1}, 1, 0, []float32{0.5}, 1, c.yZP, c.yType, []int32{0})
		p, err := Compile(m, Options{})
		if err != nil {
			t.Fatal(err)
		}
		out, err := p.Run(map[string]*tensor.Tensor{"x": x})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(c.want, out["y"].Data); diff != "" {
			t.Errorf("%s output (-want +got):\n%s", tensor.Name(c.yType), diff)
		}
	}
}

func TestTernaryConvStridedPaddedGroup(t *testing.T) {
	// group 2, 2x2 kernel with stride 2, pad 1 on each side, on a 2-channel
	// 3x3 input (zero point 0, multipliers 1). Output 2x2 per channel.
	// Both channels hold 1..9. m0 reads c0 with kernel
	// [[+1,0],[0,-1]], m1 reads c1 with kernel [[0,+1],[+1,0]].
	x := &tensor.Tensor{Type: tensor.Int8, Shape: []int64{1, 2, 3, 3}, Data: []int8{1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9}}
	m := ternaryModel(t, tensor.Int8, x.Shape, []int8{1, 0, 0, -1, 0, 1, 1, 0}, []int64{2, 1, 2, 2},
		1, 0, []float32{1, 1}, 1, 0, tensor.Int8, []int32{0, 100},
		ir.IntAttr("group", 2), ir.IntsAttr("strides", 2, 2), ir.IntsAttr("pads", 1, 1, 1, 1))
	p, err := Compile(m, Options{})
	if err != nil {
		t.Fatal(err)
	}
	out, err := p.Run(map[string]*tensor.Tensor{"x": x})
	if err != nil {
		t.Fatal(err)
	}
	// Padded input rows (pad 1): output (i,j) covers padded rows 2i..2i+1,
	// cols 2j..2j+1, i.e. input rows 2i-1..2i, cols 2j-1..2j.
	// m0: +x[2i-1][2j-1] - x[2i][2j]; m1: 100 + x[2i-1][2j] + x[2i][2j-1].
	// (0,0): m0 = pad - x[0][0] = -1; m1 = 100 + pad + pad = 100.
	// (0,1): m0 = pad - x[0][2] = -3; m1 = 100 + pad + x[0][1] = 102.
	// (1,0): m0 = pad - x[2][0] = -7; m1 = 100 + x[1][0] + pad = 104.
	// (1,1): m0 = x[1][1] - x[2][2] = 5-9 = -4; m1 = 100 + x[1][2] + x[2][1] = 100+6+8 = 114.
	want := []int8{-1, -3, -7, -4, 100, 102, 104, 114}
	if diff := cmp.Diff(want, out["y"].Data); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
}

func TestTernaryConvRejectsBadWeights(t *testing.T) {
	m := ternaryModel(t, tensor.Int8, []int64{1, 1, 1, 1}, []int8{-2}, []int64{1, 1, 1, 1}, 1, 0, []float32{1}, 1, 0, tensor.Int8, []int32{0})
	_, err := Compile(m, Options{})
	if err == nil || !strings.Contains(err.Error(), `"tc"`) || !strings.Contains(err.Error(), "code -2") {
		t.Fatalf("compile error %v, want one naming node tc and code -2", err)
	}
}
