package tensor

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/onnx-prom/onnx-prom/internal/testenv"
	"github.com/onnx-prom/onnx-prom/onnx/onnxpb"
	"github.com/x448/float16"
	"google.golang.org/protobuf/proto"
)

// fuzzMaxBytes keeps fuzzed tensors small.
const fuzzMaxBytes = 1 << 16

// FuzzFromProto decodes arbitrary bytes as a TensorProto. FromProto must
// not panic nor allocate past its limit; a tensor it accepts has as many
// elements as its shape says, in the slice type of its element type, and
// survives ToProto and FromProto unchanged.
func FuzzFromProto(f *testing.F) {
	// Seeds: the tensors of the backend tests' input/output files and the
	// initializers of the tiny model, plus one tensor of every type in
	// both raw and typed form.
	for _, model := range testenv.SeedModels() {
		if filepath.Base(model) != "model.onnx" {
			addInitializerSeeds(f, model)
			continue
		}
		pbs, _ := filepath.Glob(filepath.Join(filepath.Dir(model), "test_data_set_0", "*.pb"))
		for _, p := range pbs {
			if b, err := os.ReadFile(p); err == nil && len(b) <= 1<<16 {
				f.Add(b)
			}
		}
	}
	for dt := range onnxpb.TensorProto_DataType_name {
		for _, raw := range []bool{true, false} {
			tp := &onnxpb.TensorProto{DataType: proto.Int32(dt), Dims: []int64{2, 3}}
			if raw {
				tp.RawData = make([]byte, 48)
			} else {
				tp.Int32Data = make([]int32, 6)
				tp.FloatData = make([]float32, 6)
				tp.Int64Data = make([]int64, 6)
				tp.DoubleData = make([]float64, 6)
				tp.Uint64Data = make([]uint64, 6)
			}
			if b, err := proto.Marshal(tp); err == nil {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		tp := new(onnxpb.TensorProto)
		if err := proto.Unmarshal(b, tp); err != nil {
			return
		}
		opts := DecodeOptions{MaxBytes: fuzzMaxBytes}
		checkErr := opts.Check(tp)
		x, err := opts.FromProto(tp)
		if err != nil {
			return
		}
		if checkErr != nil {
			t.Fatalf("Check refused what FromProto decodes: %v", checkErr)
		}
		n, err := NumElements(x.Shape)
		if err != nil || int64(x.Len()) != n {
			t.Fatalf("shape %v (%v) but %d elements", x.Shape, err, x.Len())
		}
		if want, got := sliceType(x.Type), typeOf(x.Data); want != got {
			t.Fatalf("%s tensor holds %s, want %s", Name(x.Type), got, want)
		}
		back, err := ToProto(x, tp.GetName())
		if err != nil {
			t.Fatalf("ToProto: %v", err)
		}
		y, err := opts.FromProto(back)
		if err != nil {
			t.Fatalf("FromProto(ToProto(x)): %v", err)
		}
		again, err := ToProto(y, tp.GetName())
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(back.RawData, again.RawData) || len(back.StringData) != len(again.StringData) {
			t.Fatal("round trip changed the data")
		}
		for i := range back.StringData {
			if !bytes.Equal(back.StringData[i], again.StringData[i]) {
				t.Fatal("round trip changed a string")
			}
		}
	})
}

func addInitializerSeeds(f *testing.F, path string) {
	b, err := os.ReadFile(path)
	if err != nil {
		return
	}
	m := new(onnxpb.ModelProto)
	if proto.Unmarshal(b, m) != nil {
		return
	}
	for i, tp := range m.GetGraph().GetInitializer() {
		if i%4 != 0 || len(tp.RawData) > 4096 {
			continue
		}
		if b, err := proto.Marshal(tp); err == nil {
			f.Add(b)
		}
	}
}

func sliceType(dt DataType) string {
	d, err := makeSlice(dt, 0)
	if err != nil {
		return "none"
	}
	return typeOf(d)
}

func typeOf(d any) string {
	switch d.(type) {
	case []float32:
		return "[]float32"
	case []float64:
		return "[]float64"
	case []int8:
		return "[]int8"
	case []int16:
		return "[]int16"
	case []int32:
		return "[]int32"
	case []int64:
		return "[]int64"
	case []uint8:
		return "[]uint8"
	case []uint16:
		return "[]uint16"
	case []uint32:
		return "[]uint32"
	case []uint64:
		return "[]uint64"
	case []bool:
		return "[]bool"
	case [][]byte:
		return "[][]byte"
	case []BFloat16:
		return "[]BFloat16"
	case []float16.Float16:
		return "[]float16.Float16"
	}
	if d == nil {
		return "nil"
	}
	return "other"
}
