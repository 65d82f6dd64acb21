package tensor

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/onnx-prom/onnx-prom/onnx/onnxpb"
	"github.com/x448/float16"
	"google.golang.org/protobuf/proto"
)

// DecodeOptions bound what FromProto may allocate.
type DecodeOptions struct {
	// MaxBytes caps the decoded size of the tensor; 0 means DefaultMaxBytes.
	MaxBytes int64
}

// FromProto decodes tp with the default limits. See DecodeOptions.FromProto.
func FromProto(tp *onnxpb.TensorProto) (*Tensor, error) {
	return DecodeOptions{}.FromProto(tp)
}

// FromProto decodes tp into a Tensor. Elements come from raw_data when it is
// set, else from the typed field the ONNX schema assigns to the element type
// (float_data, int32_data, int64_data, uint64_data, double_data,
// string_data). Tensors whose data lives in an external file must have been
// loaded first (onnx.Load does it). The declared shape must match the amount
// of data exactly; the check (Check) happens before any allocation.
func (o DecodeOptions) FromProto(tp *onnxpb.TensorProto) (*Tensor, error) {
	dt := DataType(tp.GetDataType())
	if !Supported(dt) {
		return nil, fmt.Errorf("element type %s is not supported", Name(dt))
	}
	if tp.GetDataLocation() == onnxpb.TensorProto_EXTERNAL {
		return nil, fmt.Errorf("data is in an external file that was not loaded")
	}
	if err := o.Check(tp); err != nil {
		return nil, err
	}
	shape := append([]int64{}, tp.GetDims()...)
	n, _ := NumElements(shape)
	t := &Tensor{Type: dt, Shape: shape}
	var err error
	if tp.RawData != nil {
		t.Data, err = decodeRaw(dt, tp.RawData, int(n))
		return t, err
	}
	t.Data, err = decodeTyped(dt, tp, int(n))
	return t, err
}

// Check validates tp without decoding it or allocating anything: a defined
// element type, non-negative dimensions whose product fits int64, a decoded
// size within the limit, and exactly the amount of data the shape needs in
// the field that holds it. Tensors with external data are checked for type
// and size only (their data is checked when it is loaded). Element types
// defined by ONNX that FromProto cannot decode (FLOAT8, COMPLEX, ...) pass
// when their raw_data has the right length.
func (o DecodeOptions) Check(tp *onnxpb.TensorProto) error {
	dt := DataType(tp.GetDataType())
	if _, defined := onnxpb.TensorProto_DataType_name[int32(dt)]; !defined || dt == Undefined {
		return fmt.Errorf("unknown element type %s", Name(dt))
	}
	if tp.Segment != nil {
		return fmt.Errorf("segmented tensors are not supported")
	}
	n, err := NumElements(tp.GetDims())
	if err != nil {
		return err
	}
	if err := checkSize(dt, n, o.MaxBytes); err != nil {
		return err
	}
	if tp.GetDataLocation() == onnxpb.TensorProto_EXTERNAL {
		if tp.RawData != nil || typedCount(dt, tp) > 0 {
			return fmt.Errorf("tensor has both external and inline data")
		}
		return nil
	}
	if tp.RawData != nil {
		if dt == String {
			return fmt.Errorf("STRING tensor with raw_data")
		}
		want := StorageBytes(dt, n)
		if want < 0 {
			return fmt.Errorf("element type %s cannot be stored in raw_data", Name(dt))
		}
		if int64(len(tp.RawData)) != want {
			return fmt.Errorf("shape %v of %s needs %d bytes of raw_data, found %d", tp.GetDims(), Name(dt), want, len(tp.RawData))
		}
		return nil
	}
	if !Supported(dt) {
		if n == 0 {
			return nil
		}
		return fmt.Errorf("%s tensor without raw_data is not supported", Name(dt))
	}
	field, want := typedField(dt, n)
	if have := typedCount(dt, tp); int64(have) != want {
		return fmt.Errorf("shape %v of %s needs %d values in %s, found %d", tp.GetDims(), Name(dt), want, field, have)
	}
	return nil
}

// typedField names the typed field that holds elements of dt when raw_data
// is not used, and how many entries n elements take there.
func typedField(dt DataType, n int64) (string, int64) {
	switch dt {
	case Float:
		return "float_data", n
	case Double:
		return "double_data", n
	case Int64:
		return "int64_data", n
	case Uint32, Uint64:
		return "uint64_data", n
	case String:
		return "string_data", n
	case Int4, Uint4, Int2, Uint2:
		return "int32_data", StorageBytes(dt, n) // one packed byte per entry
	}
	return "int32_data", n
}

// typedCount is the number of entries in the field typedField names.
func typedCount(dt DataType, tp *onnxpb.TensorProto) int {
	switch f, _ := typedField(dt, 0); f {
	case "float_data":
		return len(tp.FloatData)
	case "double_data":
		return len(tp.DoubleData)
	case "int64_data":
		return len(tp.Int64Data)
	case "uint64_data":
		return len(tp.Uint64Data)
	case "string_data":
		return len(tp.StringData)
	}
	return len(tp.Int32Data)
}

func decodeRaw(dt DataType, raw []byte, n int) (any, error) {
	le := binary.LittleEndian
	switch dt {
	case Float:
		out := make([]float32, n)
		for i := range out {
			out[i] = math.Float32frombits(le.Uint32(raw[4*i:]))
		}
		return out, nil
	case Double:
		out := make([]float64, n)
		for i := range out {
			out[i] = math.Float64frombits(le.Uint64(raw[8*i:]))
		}
		return out, nil
	case Float16:
		out := make([]float16.Float16, n)
		for i := range out {
			out[i] = float16.Frombits(le.Uint16(raw[2*i:]))
		}
		return out, nil
	case BFloat16T:
		out := make([]BFloat16, n)
		for i := range out {
			out[i] = BFloat16(le.Uint16(raw[2*i:]))
		}
		return out, nil
	case Int8:
		out := make([]int8, n)
		for i := range out {
			out[i] = int8(raw[i])
		}
		return out, nil
	case Uint8:
		return append([]uint8{}, raw[:n]...), nil
	case Int16:
		out := make([]int16, n)
		for i := range out {
			out[i] = int16(le.Uint16(raw[2*i:]))
		}
		return out, nil
	case Uint16:
		out := make([]uint16, n)
		for i := range out {
			out[i] = le.Uint16(raw[2*i:])
		}
		return out, nil
	case Int32:
		out := make([]int32, n)
		for i := range out {
			out[i] = int32(le.Uint32(raw[4*i:]))
		}
		return out, nil
	case Uint32:
		out := make([]uint32, n)
		for i := range out {
			out[i] = le.Uint32(raw[4*i:])
		}
		return out, nil
	case Int64:
		out := make([]int64, n)
		for i := range out {
			out[i] = int64(le.Uint64(raw[8*i:]))
		}
		return out, nil
	case Uint64:
		out := make([]uint64, n)
		for i := range out {
			out[i] = le.Uint64(raw[8*i:])
		}
		return out, nil
	case Bool:
		out := make([]bool, n)
		for i := range out {
			out[i] = raw[i] != 0
		}
		return out, nil
	case Int4, Int2:
		return UnpackSigned(raw, Bits(dt), n), nil
	case Uint4, Uint2:
		return UnpackUnsigned(raw, Bits(dt), n), nil
	}
	return nil, fmt.Errorf("element type %s is not supported", Name(dt))
}

func decodeTyped(dt DataType, tp *onnxpb.TensorProto, n int) (any, error) {
	count := func(field string, have int, want int) error {
		if have != want {
			return fmt.Errorf("shape %v of %s needs %d values in %s, found %d", tp.GetDims(), Name(dt), want, field, have)
		}
		return nil
	}
	switch dt {
	case Float:
		if err := count("float_data", len(tp.FloatData), n); err != nil {
			return nil, err
		}
		return append([]float32{}, tp.FloatData...), nil
	case Double:
		if err := count("double_data", len(tp.DoubleData), n); err != nil {
			return nil, err
		}
		return append([]float64{}, tp.DoubleData...), nil
	case Int64:
		if err := count("int64_data", len(tp.Int64Data), n); err != nil {
			return nil, err
		}
		return append([]int64{}, tp.Int64Data...), nil
	case Uint32, Uint64:
		if err := count("uint64_data", len(tp.Uint64Data), n); err != nil {
			return nil, err
		}
		if dt == Uint64 {
			return append([]uint64{}, tp.Uint64Data...), nil
		}
		out := make([]uint32, n)
		for i, v := range tp.Uint64Data {
			out[i] = uint32(v)
		}
		return out, nil
	case String:
		if err := count("string_data", len(tp.StringData), n); err != nil {
			return nil, err
		}
		out := make([][]byte, n)
		for i, s := range tp.StringData {
			out[i] = append([]byte{}, s...)
		}
		return out, nil
	case Int4, Uint4, Int2, Uint2:
		// int32_data holds one packed byte per entry.
		nb := int(StorageBytes(dt, int64(n)))
		if err := count("int32_data", len(tp.Int32Data), nb); err != nil {
			return nil, err
		}
		raw := make([]byte, nb)
		for i, v := range tp.Int32Data {
			raw[i] = byte(v)
		}
		return decodeRaw(dt, raw, n)
	}
	// The remaining types keep one element per int32_data entry.
	if err := count("int32_data", len(tp.Int32Data), n); err != nil {
		return nil, err
	}
	src := tp.Int32Data
	switch dt {
	case Int32:
		return append([]int32{}, src...), nil
	case Int8:
		out := make([]int8, n)
		for i, v := range src {
			out[i] = int8(v)
		}
		return out, nil
	case Uint8:
		out := make([]uint8, n)
		for i, v := range src {
			out[i] = uint8(v)
		}
		return out, nil
	case Int16:
		out := make([]int16, n)
		for i, v := range src {
			out[i] = int16(v)
		}
		return out, nil
	case Uint16:
		out := make([]uint16, n)
		for i, v := range src {
			out[i] = uint16(v)
		}
		return out, nil
	case Bool:
		out := make([]bool, n)
		for i, v := range src {
			out[i] = v != 0
		}
		return out, nil
	case Float16:
		out := make([]float16.Float16, n)
		for i, v := range src {
			out[i] = float16.Frombits(uint16(v))
		}
		return out, nil
	case BFloat16T:
		out := make([]BFloat16, n)
		for i, v := range src {
			out[i] = BFloat16(uint16(v))
		}
		return out, nil
	}
	return nil, fmt.Errorf("element type %s is not supported", Name(dt))
}

// ToProto encodes t as a TensorProto called name. Elements go to raw_data in
// little-endian order (sub-byte types packed), strings to string_data.
func ToProto(t *Tensor, name string) (*onnxpb.TensorProto, error) {
	n, err := NumElements(t.Shape)
	if err != nil {
		return nil, fmt.Errorf("tensor %q: %w", name, err)
	}
	if int64(t.Len()) != n {
		return nil, fmt.Errorf("tensor %q: %d elements for shape %v", name, t.Len(), t.Shape)
	}
	tp := &onnxpb.TensorProto{
		Name:     proto.String(name),
		DataType: proto.Int32(int32(t.Type)),
		Dims:     append([]int64{}, t.Shape...),
	}
	if t.Type == String {
		d, ok := t.Data.([][]byte)
		if !ok {
			return nil, fmt.Errorf("tensor %q: STRING tensor holds %T", name, t.Data)
		}
		for _, s := range d {
			tp.StringData = append(tp.StringData, append([]byte{}, s...))
		}
		return tp, nil
	}
	raw, err := encodeRaw(t)
	if err != nil {
		return nil, fmt.Errorf("tensor %q: %w", name, err)
	}
	tp.RawData = raw
	return tp, nil
}

func encodeRaw(t *Tensor) ([]byte, error) {
	le := binary.LittleEndian
	bad := func() ([]byte, error) {
		return nil, fmt.Errorf("%s tensor holds %T", Name(t.Type), t.Data)
	}
	switch t.Type {
	case Float:
		d, ok := t.Data.([]float32)
		if !ok {
			return bad()
		}
		out := make([]byte, 4*len(d))
		for i, v := range d {
			le.PutUint32(out[4*i:], math.Float32bits(v))
		}
		return out, nil
	case Double:
		d, ok := t.Data.([]float64)
		if !ok {
			return bad()
		}
		out := make([]byte, 8*len(d))
		for i, v := range d {
			le.PutUint64(out[8*i:], math.Float64bits(v))
		}
		return out, nil
	case Float16:
		d, ok := t.Data.([]float16.Float16)
		if !ok {
			return bad()
		}
		out := make([]byte, 2*len(d))
		for i, v := range d {
			le.PutUint16(out[2*i:], v.Bits())
		}
		return out, nil
	case BFloat16T:
		d, ok := t.Data.([]BFloat16)
		if !ok {
			return bad()
		}
		out := make([]byte, 2*len(d))
		for i, v := range d {
			le.PutUint16(out[2*i:], uint16(v))
		}
		return out, nil
	case Int8:
		d, ok := t.Data.([]int8)
		if !ok {
			return bad()
		}
		out := make([]byte, len(d))
		for i, v := range d {
			out[i] = byte(v)
		}
		return out, nil
	case Uint8:
		d, ok := t.Data.([]uint8)
		if !ok {
			return bad()
		}
		return append([]byte{}, d...), nil
	case Int16:
		d, ok := t.Data.([]int16)
		if !ok {
			return bad()
		}
		out := make([]byte, 2*len(d))
		for i, v := range d {
			le.PutUint16(out[2*i:], uint16(v))
		}
		return out, nil
	case Uint16:
		d, ok := t.Data.([]uint16)
		if !ok {
			return bad()
		}
		out := make([]byte, 2*len(d))
		for i, v := range d {
			le.PutUint16(out[2*i:], v)
		}
		return out, nil
	case Int32:
		d, ok := t.Data.([]int32)
		if !ok {
			return bad()
		}
		out := make([]byte, 4*len(d))
		for i, v := range d {
			le.PutUint32(out[4*i:], uint32(v))
		}
		return out, nil
	case Uint32:
		d, ok := t.Data.([]uint32)
		if !ok {
			return bad()
		}
		out := make([]byte, 4*len(d))
		for i, v := range d {
			le.PutUint32(out[4*i:], v)
		}
		return out, nil
	case Int64:
		d, ok := t.Data.([]int64)
		if !ok {
			return bad()
		}
		out := make([]byte, 8*len(d))
		for i, v := range d {
			le.PutUint64(out[8*i:], uint64(v))
		}
		return out, nil
	case Uint64:
		d, ok := t.Data.([]uint64)
		if !ok {
			return bad()
		}
		out := make([]byte, 8*len(d))
		for i, v := range d {
			le.PutUint64(out[8*i:], v)
		}
		return out, nil
	case Bool:
		d, ok := t.Data.([]bool)
		if !ok {
			return bad()
		}
		out := make([]byte, len(d))
		for i, v := range d {
			if v {
				out[i] = 1
			}
		}
		return out, nil
	case Int4, Int2:
		d, ok := t.Data.([]int8)
		if !ok {
			return bad()
		}
		return PackSigned(d, Bits(t.Type))
	case Uint4, Uint2:
		d, ok := t.Data.([]uint8)
		if !ok {
			return bad()
		}
		return PackUnsigned(d, Bits(t.Type))
	}
	return nil, fmt.Errorf("element type %s is not supported", Name(t.Type))
}
