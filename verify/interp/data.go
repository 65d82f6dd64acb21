package interp

import (
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
	"github.com/x448/float16"
)

func clearData(d any) {
	switch s := d.(type) {
	case []float32:
		clear(s)
	case []float64:
		clear(s)
	case []float16.Float16:
		clear(s)
	case []tensor.BFloat16:
		clear(s)
	case []int8:
		clear(s)
	case []int16:
		clear(s)
	case []int32:
		clear(s)
	case []int64:
		clear(s)
	case []uint8:
		clear(s)
	case []uint16:
		clear(s)
	case []uint32:
		clear(s)
	case []uint64:
		clear(s)
	case []bool:
		clear(s)
	case [][]byte:
		clear(s)
	}
}

// copyData copies src into dst (same element type and length).
func copyData(dst, src any) {
	switch s := src.(type) {
	case []float32:
		copy(dst.([]float32), s)
	case []float64:
		copy(dst.([]float64), s)
	case []float16.Float16:
		copy(dst.([]float16.Float16), s)
	case []tensor.BFloat16:
		copy(dst.([]tensor.BFloat16), s)
	case []int8:
		copy(dst.([]int8), s)
	case []int16:
		copy(dst.([]int16), s)
	case []int32:
		copy(dst.([]int32), s)
	case []int64:
		copy(dst.([]int64), s)
	case []uint8:
		copy(dst.([]uint8), s)
	case []uint16:
		copy(dst.([]uint16), s)
	case []uint32:
		copy(dst.([]uint32), s)
	case []uint64:
		copy(dst.([]uint64), s)
	case []bool:
		copy(dst.([]bool), s)
	case [][]byte:
		copy(dst.([][]byte), s)
	}
}

// CopyTo returns a copy of t in a buffer from c (for kernels that pass an
// input through, such as Identity or Reshape).
func (c *Ctx) CopyOf(t *tensor.Tensor, shape ...int64) (*tensor.Tensor, error) {
	if shape == nil {
		shape = t.Shape
	}
	out, err := c.Alloc(t.Type, shape...)
	if err != nil {
		return nil, err
	}
	if out.Len() != t.Len() {
		return nil, c.node.Errorf("cannot view %d elements as shape %v", t.Len(), shape)
	}
	copyData(out.Data, t.Data)
	return out, nil
}
