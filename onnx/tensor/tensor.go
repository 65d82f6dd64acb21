package tensor

import (
	"errors"
	"fmt"
	"math"

	"github.com/x448/float16"
)

// Tensor is a decoded ONNX tensor: element type, shape and elements in a typed
// slice (see the package documentation for which slice type goes with which
// element type). A scalar has an empty Shape and one element.
type Tensor struct {
	Type  DataType
	Shape []int64
	Data  any
}

// ErrTooLarge reports a tensor over the size limit or whose element count
// overflows int64.
var ErrTooLarge = errors.New("tensor too large")

// DefaultMaxBytes caps the decoded size of one tensor (4 GiB). Decoding a
// larger tensor fails before anything is allocated.
const DefaultMaxBytes int64 = 4 << 30

// NumElements multiplies the dimensions of shape, refusing negative
// dimensions and products that overflow int64.
func NumElements(shape []int64) (int64, error) {
	n := int64(1)
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("negative dimension %d in shape %v", d, shape)
		}
		if d != 0 && n > math.MaxInt64/d {
			return 0, fmt.Errorf("shape %v: element count overflows int64: %w", shape, ErrTooLarge)
		}
		n *= d
	}
	return n, nil
}

// Len is the number of elements of t.
func (t *Tensor) Len() int { return sliceLen(t.Data) }

// New returns a zero tensor of the given type and shape.
func New(dt DataType, shape ...int64) (*Tensor, error) {
	n, err := NumElements(shape)
	if err != nil {
		return nil, err
	}
	if err := checkSize(dt, n, DefaultMaxBytes); err != nil {
		return nil, err
	}
	data, err := makeSlice(dt, int(n))
	if err != nil {
		return nil, err
	}
	return &Tensor{Type: dt, Shape: append([]int64{}, shape...), Data: data}, nil
}

// FromFloat32 wraps data (not copied) as a FLOAT tensor of the given shape.
// It panics if len(data) does not match the shape: the caller controls both.
func FromFloat32(data []float32, shape ...int64) *Tensor {
	n, err := NumElements(shape)
	if err != nil || n != int64(len(data)) {
		panic(fmt.Sprintf("tensor.FromFloat32: %d elements for shape %v", len(data), shape))
	}
	return &Tensor{Type: Float, Shape: append([]int64{}, shape...), Data: data}
}

// Clone returns a deep copy of t.
func (t *Tensor) Clone() *Tensor {
	c := &Tensor{Type: t.Type, Shape: append([]int64{}, t.Shape...)}
	switch d := t.Data.(type) {
	case []float32:
		c.Data = append([]float32{}, d...)
	case []float64:
		c.Data = append([]float64{}, d...)
	case []float16.Float16:
		c.Data = append([]float16.Float16{}, d...)
	case []BFloat16:
		c.Data = append([]BFloat16{}, d...)
	case []int8:
		c.Data = append([]int8{}, d...)
	case []int16:
		c.Data = append([]int16{}, d...)
	case []int32:
		c.Data = append([]int32{}, d...)
	case []int64:
		c.Data = append([]int64{}, d...)
	case []uint8:
		c.Data = append([]uint8{}, d...)
	case []uint16:
		c.Data = append([]uint16{}, d...)
	case []uint32:
		c.Data = append([]uint32{}, d...)
	case []uint64:
		c.Data = append([]uint64{}, d...)
	case []bool:
		c.Data = append([]bool{}, d...)
	case [][]byte:
		s := make([][]byte, len(d))
		for i, b := range d {
			s[i] = append([]byte{}, b...)
		}
		c.Data = s
	}
	return c
}

func checkSize(dt DataType, n, maxBytes int64) error {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	b := Bits(dt)
	if b == 0 {
		b = 64 // strings: count headers at least
	}
	// Decoded slices of sub-byte types take a byte per element.
	if b < 8 {
		b = 8
	}
	if n > maxBytes/int64(b/8) {
		return fmt.Errorf("%d elements of %s exceed the %d-byte limit: %w", n, Name(dt), maxBytes, ErrTooLarge)
	}
	return nil
}

func makeSlice(dt DataType, n int) (any, error) {
	switch dt {
	case Float:
		return make([]float32, n), nil
	case Double:
		return make([]float64, n), nil
	case Float16:
		return make([]float16.Float16, n), nil
	case BFloat16T:
		return make([]BFloat16, n), nil
	case Int8, Int4, Int2:
		return make([]int8, n), nil
	case Int16:
		return make([]int16, n), nil
	case Int32:
		return make([]int32, n), nil
	case Int64:
		return make([]int64, n), nil
	case Uint8, Uint4, Uint2:
		return make([]uint8, n), nil
	case Uint16:
		return make([]uint16, n), nil
	case Uint32:
		return make([]uint32, n), nil
	case Uint64:
		return make([]uint64, n), nil
	case Bool:
		return make([]bool, n), nil
	case String:
		return make([][]byte, n), nil
	}
	return nil, fmt.Errorf("element type %s is not supported", Name(dt))
}

func sliceLen(data any) int {
	switch d := data.(type) {
	case []float32:
		return len(d)
	case []float64:
		return len(d)
	case []float16.Float16:
		return len(d)
	case []BFloat16:
		return len(d)
	case []int8:
		return len(d)
	case []int16:
		return len(d)
	case []int32:
		return len(d)
	case []int64:
		return len(d)
	case []uint8:
		return len(d)
	case []uint16:
		return len(d)
	case []uint32:
		return len(d)
	case []uint64:
		return len(d)
	case []bool:
		return len(d)
	case [][]byte:
		return len(d)
	}
	return 0
}

// Float64s returns the elements of a numeric or bool tensor converted to
// float64 (a new slice).
func (t *Tensor) Float64s() ([]float64, error) {
	n := t.Len()
	out := make([]float64, n)
	switch d := t.Data.(type) {
	case []float32:
		for i, v := range d {
			out[i] = float64(v)
		}
	case []float64:
		copy(out, d)
	case []float16.Float16:
		for i, v := range d {
			out[i] = float64(v.Float32())
		}
	case []BFloat16:
		for i, v := range d {
			out[i] = float64(v.Float32())
		}
	case []int8:
		for i, v := range d {
			out[i] = float64(v)
		}
	case []int16:
		for i, v := range d {
			out[i] = float64(v)
		}
	case []int32:
		for i, v := range d {
			out[i] = float64(v)
		}
	case []int64:
		for i, v := range d {
			out[i] = float64(v)
		}
	case []uint8:
		for i, v := range d {
			out[i] = float64(v)
		}
	case []uint16:
		for i, v := range d {
			out[i] = float64(v)
		}
	case []uint32:
		for i, v := range d {
			out[i] = float64(v)
		}
	case []uint64:
		for i, v := range d {
			out[i] = float64(v)
		}
	case []bool:
		for i, v := range d {
			if v {
				out[i] = 1
			}
		}
	default:
		return nil, fmt.Errorf("%s tensor has no numeric value", Name(t.Type))
	}
	return out, nil
}

// Float32s returns the elements converted to float32 (a new slice, or the
// tensor's own slice when it is already FLOAT; do not modify it then).
func (t *Tensor) Float32s() ([]float32, error) {
	if d, ok := t.Data.([]float32); ok {
		return d, nil
	}
	f, err := t.Float64s()
	if err != nil {
		return nil, err
	}
	out := make([]float32, len(f))
	for i, v := range f {
		out[i] = float32(v)
	}
	return out, nil
}

// Int64s returns the elements of an integer or bool tensor as int64 (a new
// slice). Floating-point tensors are refused: use Float64s.
func (t *Tensor) Int64s() ([]int64, error) {
	out := make([]int64, t.Len())
	switch d := t.Data.(type) {
	case []int8:
		for i, v := range d {
			out[i] = int64(v)
		}
	case []int16:
		for i, v := range d {
			out[i] = int64(v)
		}
	case []int32:
		for i, v := range d {
			out[i] = int64(v)
		}
	case []int64:
		copy(out, d)
	case []uint8:
		for i, v := range d {
			out[i] = int64(v)
		}
	case []uint16:
		for i, v := range d {
			out[i] = int64(v)
		}
	case []uint32:
		for i, v := range d {
			out[i] = int64(v)
		}
	case []uint64:
		for i, v := range d {
			if v > math.MaxInt64 {
				return nil, fmt.Errorf("uint64 element %d does not fit int64", v)
			}
			out[i] = int64(v)
		}
	case []bool:
		for i, v := range d {
			if v {
				out[i] = 1
			}
		}
	default:
		return nil, fmt.Errorf("%s tensor is not an integer tensor", Name(t.Type))
	}
	return out, nil
}

// Cap is the capacity of the tensor's data slice (its Len when it was made
// to measure). Buffer pools use it with Reslice to reuse a larger buffer.
func (t *Tensor) Cap() int {
	switch d := t.Data.(type) {
	case []float32:
		return cap(d)
	case []float64:
		return cap(d)
	case []float16.Float16:
		return cap(d)
	case []BFloat16:
		return cap(d)
	case []int8:
		return cap(d)
	case []int16:
		return cap(d)
	case []int32:
		return cap(d)
	case []int64:
		return cap(d)
	case []uint8:
		return cap(d)
	case []uint16:
		return cap(d)
	case []uint32:
		return cap(d)
	case []uint64:
		return cap(d)
	case []bool:
		return cap(d)
	case [][]byte:
		return cap(d)
	}
	return 0
}

// Reslice returns data, a tensor data slice, as d[:n] (n at most its
// capacity): the same elements, a new slice header.
func Reslice(data any, n int) any {
	switch d := data.(type) {
	case []float32:
		return d[:n]
	case []float64:
		return d[:n]
	case []float16.Float16:
		return d[:n]
	case []BFloat16:
		return d[:n]
	case []int8:
		return d[:n]
	case []int16:
		return d[:n]
	case []int32:
		return d[:n]
	case []int64:
		return d[:n]
	case []uint8:
		return d[:n]
	case []uint16:
		return d[:n]
	case []uint32:
		return d[:n]
	case []uint64:
		return d[:n]
	case []bool:
		return d[:n]
	case [][]byte:
		return d[:n]
	}
	panic(fmt.Sprintf("tensor.Reslice: data of type %T", data))
}
