package tensor

import (
	"errors"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/onnx-prom/onnx-prom/onnx/onnxpb"
	"github.com/x448/float16"
	"google.golang.org/protobuf/proto"
)

func TestPackInt2HandComputed(t *testing.T) {
	// -2 -> 0b10, -1 -> 0b11, 0 -> 0b00, 1 -> 0b01; first element in bits 0-1.
	got, err := PackSigned([]int8{-2, -1, 0, 1, 1}, 2)
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{0b01_00_11_10, 0b01}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("INT2 packing (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int8{-2, -1, 0, 1, 1}, UnpackSigned(got, 2, 5)); diff != "" {
		t.Fatalf("INT2 unpacking (-want +got):\n%s", diff)
	}
	if _, err := PackSigned([]int8{2}, 2); err == nil {
		t.Fatal("2 fits no INT2, want error")
	}
}

func TestPackInt4HandComputed(t *testing.T) {
	got, err := PackSigned([]int8{7, -8, -1}, 4)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]byte{0x87, 0x0f}, got); diff != "" {
		t.Fatalf("INT4 packing (-want +got):\n%s", diff)
	}
	u, err := PackUnsigned([]uint8{3, 0, 2, 1, 3}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]byte{3 | 0<<2 | 2<<4 | 1<<6, 3}, u); diff != "" {
		t.Fatalf("UINT2 packing (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]uint8{15, 0, 9}, UnpackUnsigned([]byte{0x0f, 0x09}, 4, 3)); diff != "" {
		t.Fatal(diff)
	}
}

func TestRoundTripEveryType(t *testing.T) {
	cases := []*Tensor{
		{Float, []int64{2, 2}, []float32{1, -2.5, float32(math.Inf(1)), 0}},
		{Double, []int64{3}, []float64{1e300, -1, 0.5}},
		{Float16, []int64{2}, []float16.Float16{float16.Fromfloat32(1.5), float16.Fromfloat32(-65504)}},
		{BFloat16T, []int64{2}, []BFloat16{BFloat16FromFloat32(3), BFloat16FromFloat32(-0.125)}},
		{Int8, []int64{3}, []int8{-128, 0, 127}},
		{Int16, []int64{2}, []int16{-32768, 32767}},
		{Int32, []int64{2}, []int32{math.MinInt32, 7}},
		{Int64, []int64{2}, []int64{math.MinInt64, math.MaxInt64}},
		{Uint8, []int64{2}, []uint8{0, 255}},
		{Uint16, []int64{1}, []uint16{65535}},
		{Uint32, []int64{1}, []uint32{4000000000}},
		{Uint64, []int64{1}, []uint64{math.MaxUint64}},
		{Bool, []int64{3}, []bool{true, false, true}},
		{Int4, []int64{3}, []int8{-8, 7, 0}},
		{Uint4, []int64{3}, []uint8{15, 1, 0}},
		{Int2, []int64{5}, []int8{-2, -1, 0, 1, 1}},
		{Uint2, []int64{1, 5}, []uint8{3, 2, 1, 0, 3}},
		{String, []int64{2}, [][]byte{[]byte("a"), []byte("")}},
		{Float, []int64{}, []float32{42}},
		{Float, []int64{0, 3}, []float32{}},
	}
	for _, c := range cases {
		t.Run(Name(c.Type), func(t *testing.T) {
			tp, err := ToProto(c, "x")
			if err != nil {
				t.Fatal(err)
			}
			back, err := FromProto(tp)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c, back, cmp.Comparer(func(a, b float32) bool {
				return a == b || (a != a && b != b)
			})); diff != "" {
				t.Fatalf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTypedFields(t *testing.T) {
	h := float16.Fromfloat32(0.5)
	cases := []struct {
		tp   *onnxpb.TensorProto
		want *Tensor
	}{
		{&onnxpb.TensorProto{DataType: proto.Int32(int32(Float)), Dims: []int64{2}, FloatData: []float32{1, 2}},
			&Tensor{Float, []int64{2}, []float32{1, 2}}},
		{&onnxpb.TensorProto{DataType: proto.Int32(int32(Int8)), Dims: []int64{2}, Int32Data: []int32{-5, 100}},
			&Tensor{Int8, []int64{2}, []int8{-5, 100}}},
		{&onnxpb.TensorProto{DataType: proto.Int32(int32(Float16)), Dims: []int64{1}, Int32Data: []int32{int32(h.Bits())}},
			&Tensor{Float16, []int64{1}, []float16.Float16{h}}},
		{&onnxpb.TensorProto{DataType: proto.Int32(int32(Uint32)), Dims: []int64{1}, Uint64Data: []uint64{9}},
			&Tensor{Uint32, []int64{1}, []uint32{9}}},
		// INT4 in int32_data: one packed byte per entry (onnx.helper.make_tensor).
		{&onnxpb.TensorProto{DataType: proto.Int32(int32(Int4)), Dims: []int64{3}, Int32Data: []int32{0x87, 0x0f}},
			&Tensor{Int4, []int64{3}, []int8{7, -8, -1}}},
	}
	for _, c := range cases {
		got, err := FromProto(c.tp)
		if err != nil {
			t.Fatalf("%v: %v", c.tp, err)
		}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	}
}

func TestBadTensors(t *testing.T) {
	cases := map[string]*onnxpb.TensorProto{
		"short raw":    {DataType: proto.Int32(int32(Float)), Dims: []int64{4}, RawData: make([]byte, 12)},
		"long raw":     {DataType: proto.Int32(int32(Float)), Dims: []int64{2}, RawData: make([]byte, 12)},
		"missing data": {DataType: proto.Int32(int32(Float)), Dims: []int64{2}},
		"negative dim": {DataType: proto.Int32(int32(Float)), Dims: []int64{-1}, RawData: []byte{}},
		"overflow":     {DataType: proto.Int32(int32(Float)), Dims: []int64{1 << 40, 1 << 40}, RawData: []byte{}},
		"huge":         {DataType: proto.Int32(int32(Float)), Dims: []int64{1 << 31, 4}, RawData: []byte{}},
		"unknown type": {DataType: proto.Int32(99), Dims: []int64{1}, RawData: []byte{1}},
		"external":     {DataType: proto.Int32(int32(Float)), Dims: []int64{1}, DataLocation: onnxpb.TensorProto_EXTERNAL.Enum()},
	}
	for name, tp := range cases {
		if _, err := FromProto(tp); err == nil {
			t.Errorf("%s: decoded, want error", name)
		}
	}
	_, err := FromProto(cases["huge"])
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("huge: %v, want ErrTooLarge", err)
	}
}

func TestBFloat16Rounding(t *testing.T) {
	// 1 + 2^-8 lies halfway between bfloat16 1 and 1+2^-7: ties to even gives 1.
	if got := BFloat16FromFloat32(1 + 1.0/256).Float32(); got != 1 {
		t.Errorf("bf16(1+2^-8) = %v, want 1", got)
	}
	if got := BFloat16FromFloat32(1 + 3.0/256).Float32(); got != 1+4.0/256 {
		t.Errorf("bf16(1+3*2^-8) = %v, want 1+2^-6", got)
	}
}

func TestCapAndReslice(t *testing.T) {
	for _, dt := range []DataType{Float, Double, Float16, BFloat16T, Int8, Int16, Int32, Int64, Uint8, Uint16, Uint32, Uint64, Bool, String, Int4, Uint2} {
		x, err := New(dt, 2, 3)
		if err != nil {
			t.Fatal(err)
		}
		if x.Cap() != 6 {
			t.Errorf("%s: Cap %d, want 6", Name(dt), x.Cap())
		}
		y := &Tensor{Type: dt, Shape: []int64{4}, Data: Reslice(x.Data, 4)}
		if y.Len() != 4 || y.Cap() != 6 {
			t.Errorf("%s: resliced to 4: Len %d, Cap %d", Name(dt), y.Len(), y.Cap())
		}
		z := Reslice(y.Data, 6)
		if (&Tensor{Type: dt, Data: z}).Len() != 6 {
			t.Errorf("%s: resliced back to 6: Len %d", Name(dt), (&Tensor{Data: z}).Len())
		}
	}
}
