package tensor

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/onnx-prom/onnx-prom/onnx/onnxpb"
	"google.golang.org/protobuf/proto"
)

func TestStorageBytesSaturates(t *testing.T) {
	cases := []struct {
		dt   DataType
		n    int64
		want int64
	}{
		{Float, 3, 12},
		{Int4, 3, 2},
		{Int2, 5, 2},
		{Double, math.MaxInt64 / 8, math.MaxInt64 / 8 * 8},
		{Double, math.MaxInt64/8 + 1, math.MaxInt64},
		{Double, 1<<61 + 1, math.MaxInt64}, // wraps to 8 bytes without the check
		{Float, math.MaxInt64, math.MaxInt64},
		{Int4, math.MaxInt64, math.MaxInt64/2 + 1},
		{String, 3, -1},
	}
	for _, c := range cases {
		if got := StorageBytes(c.dt, c.n); got != c.want {
			t.Errorf("StorageBytes(%s, %d) = %d, want %d", Name(c.dt), c.n, got, c.want)
		}
	}
}

func TestCheck(t *testing.T) {
	tp := func(dt DataType, dims ...int64) *onnxpb.TensorProto {
		return &onnxpb.TensorProto{Name: proto.String("t"), DataType: proto.Int32(int32(dt)), Dims: dims}
	}
	withRaw := func(p *onnxpb.TensorProto, n int) *onnxpb.TensorProto { p.RawData = make([]byte, n); return p }
	cases := []struct {
		name string
		tp   *onnxpb.TensorProto
		max  int64
		want string // "" = valid
	}{
		{"raw ok", withRaw(tp(Float, 2, 3), 24), 0, ""},
		{"raw short", withRaw(tp(Float, 2, 3), 23), 0, "needs 24 bytes of raw_data, found 23"},
		{"raw long", withRaw(tp(Float, 2, 3), 25), 0, "found 25"},
		{"int4 packed", withRaw(tp(Int4, 3), 2), 0, ""},
		{"float8 raw", withRaw(tp(onnxpb.TensorProto_FLOAT8E4M3FN, 4), 4), 0, ""},
		{"float8 typed", &onnxpb.TensorProto{DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT8E4M3FN)), Dims: []int64{2}, Int32Data: []int32{1, 2}}, 0, "without raw_data is not supported"},
		{"typed ok", &onnxpb.TensorProto{DataType: proto.Int32(int32(Int64)), Dims: []int64{2}, Int64Data: []int64{1, 2}}, 0, ""},
		{"typed wrong field", &onnxpb.TensorProto{DataType: proto.Int32(int32(Int64)), Dims: []int64{2}, FloatData: []float32{1, 2}}, 0, "needs 2 values in int64_data, found 0"},
		{"uint32 in uint64_data", &onnxpb.TensorProto{DataType: proto.Int32(int32(Uint32)), Dims: []int64{1}, Uint64Data: []uint64{7}}, 0, ""},
		{"string", &onnxpb.TensorProto{DataType: proto.Int32(int32(String)), Dims: []int64{2}, StringData: [][]byte{{'a'}, {}}}, 0, ""},
		{"string raw", withRaw(tp(String, 1), 8), 0, "STRING tensor with raw_data"},
		{"undefined", withRaw(tp(Undefined, 1), 4), 0, "unknown element type UNDEFINED"},
		{"unknown", withRaw(tp(DataType(99), 1), 4), 0, "unknown element type DataType(99)"},
		{"negative", withRaw(tp(Float, -1), 0), 0, "negative dimension"},
		{"overflow", withRaw(tp(Float, 1<<40, 1<<40), 0), 0, "overflows int64"},
		{"over cap", withRaw(tp(Float, 1000), 4000), 3999, "exceed the 3999-byte limit"},
		{"at cap", withRaw(tp(Float, 1000), 4000), 4000, ""},
		{"empty", tp(Float, 0, 5), 0, ""},
		{"scalar without data", tp(Float), 0, "needs 1 values in float_data, found 0"},
	}
	for _, c := range cases {
		err := DecodeOptions{MaxBytes: c.max}.Check(c.tp)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
		// FromProto agrees with Check for the types it decodes.
		if Supported(DataType(c.tp.GetDataType())) {
			_, ferr := DecodeOptions{MaxBytes: c.max}.FromProto(c.tp)
			if (ferr == nil) != (err == nil) {
				t.Errorf("%s: Check says %v, FromProto %v", c.name, err, ferr)
			}
		}
	}
	if err := (DecodeOptions{MaxBytes: 10}).Check(withRaw(tp(Float, 4), 16)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("over the cap: %v, want ErrTooLarge", err)
	}
}
