package interp

import (
	"fmt"

	"github.com/onnx-prom/onnx-prom/onnx/tensor"
	"github.com/x448/float16"
)

// The float64 path: kernels that compute in float64 whatever their
// element type (the vision, signal and misc ops) read their inputs with
// f64In, write into the buffer f64Out gives them, and convert it with
// f64Finish.

// f64In returns the elements of a numeric tensor as float64: the tensor's
// own slice for DOUBLE, a converted copy in scratch memory otherwise.
func f64In(c *Ctx, t *tensor.Tensor) ([]float64, error) {
	if d, ok := t.Data.([]float64); ok {
		return d, nil
	}
	n := t.Len()
	s := c.ScratchOf(tensor.Double, n).([]float64)[:n]
	switch d := t.Data.(type) {
	case []float32:
		for i, v := range d {
			s[i] = float64(v)
		}
	case []float16.Float16:
		for i, v := range d {
			s[i] = float64(v.Float32())
		}
	case []tensor.BFloat16:
		for i, v := range d {
			s[i] = float64(v.Float32())
		}
	default:
		k := numFor(t.Type)
		if k == nil || !k.castTo(&tensor.Tensor{Type: tensor.Double, Shape: []int64{int64(n)}, Data: s}, t.Data) {
			return nil, fmt.Errorf("element type %s is not numeric", tensor.Name(t.Type))
		}
	}
	return s, nil
}

// f64Out allocates an output of type dt and returns the float64 buffer the
// kernel writes: the output's own slice for DOUBLE, scratch memory that
// f64Finish converts otherwise.
func f64Out(c *Ctx, dt tensor.DataType, shape ...int64) (*tensor.Tensor, []float64, error) {
	t, err := c.Alloc(dt, shape...)
	if err != nil {
		return nil, nil, err
	}
	if d, ok := t.Data.([]float64); ok {
		return t, d, nil
	}
	if numFor(dt) == nil && !isHalf(dt) {
		c.pool.put(t)
		return nil, nil, fmt.Errorf("output type %s is not numeric", tensor.Name(dt))
	}
	n := t.Len()
	return t, c.ScratchOf(tensor.Double, n).([]float64)[:n], nil
}

// f64Finish converts buf into t when t is not DOUBLE (integers truncate).
func f64Finish(t *tensor.Tensor, buf []float64) {
	if t.Type != tensor.Double {
		numOf[float64]{}.castTo(t, buf)
	}
}

// f64Numeric reports the element types the float64 path reads and writes.
func f64Numeric(dt tensor.DataType) bool { return numFor(dt) != nil || isHalf(dt) }
