package interp

import (
	"math"
	"strconv"
	"strings"

	"github.com/onnx-prom/onnx-prom/onnx/tensor"
	"github.com/x448/float16"
)

func convertSlice[D, S elNum](d []D, s []S) {
	d = d[:len(s)]
	for i, v := range s {
		d[i] = D(v)
	}
}

// castTo converts src ([]T) into dst's element type; false when that type
// is not supported.
func (numOf[T]) castTo(dst *tensor.Tensor, src any) bool {
	s := src.([]T)
	switch d := dst.Data.(type) {
	case []float32:
		convertSlice(d, s)
	case []float64:
		convertSlice(d, s)
	case []int8:
		convertSlice(d, s)
	case []int16:
		convertSlice(d, s)
	case []int32:
		convertSlice(d, s)
	case []int64:
		convertSlice(d, s)
	case []uint8:
		convertSlice(d, s)
	case []uint16:
		convertSlice(d, s)
	case []uint32:
		convertSlice(d, s)
	case []uint64:
		convertSlice(d, s)
	case []float16.Float16:
		for i, v := range s {
			d[i] = float16.Fromfloat32(float32(v))
		}
	case []tensor.BFloat16:
		for i, v := range s {
			d[i] = tensor.BFloat16FromFloat32(float32(v))
		}
	case []bool:
		for i, v := range s {
			d[i] = v != 0
		}
	case [][]byte:
		isFloat := isFloatT[T]()
		var z T
		_, is32 := any(z).(float32)
		for i, v := range s {
			d[i] = []byte(formatElem(v, isFloat, is32))
		}
	default:
		return false
	}
	return true
}

// formatElem spells a number the way ONNX Cast does: shortest round-trip
// digits, NaN, INF, -INF.
func formatElem[T elNum](v T, isFloat, is32 bool) string {
	if !isFloat {
		if v < 0 {
			return strconv.FormatInt(int64(v), 10)
		}
		return strconv.FormatUint(uint64(v), 10)
	}
	f := float64(v)
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "INF"
	case math.IsInf(f, -1):
		return "-INF"
	}
	bits := 64
	if is32 {
		bits = 32
	}
	return strconv.FormatFloat(f, 'g', -1, bits)
}

func isIntType(dt tensor.DataType) bool { return intFor(dt) != nil }

// parseStrings reads a STRING tensor as numbers: int64 when to is an
// integer type (falling back to float parsing), float64 otherwise.
func parseStrings(s [][]byte, to tensor.DataType) (any, error) {
	if isIntType(to) {
		out := make([]int64, len(s))
		for i, b := range s {
			str := strings.TrimSpace(string(b))
			v, err := strconv.ParseInt(str, 10, 64)
			if err != nil {
				f, ferr := strconv.ParseFloat(str, 64)
				if ferr != nil {
					return nil, ferr
				}
				v = int64(f)
			}
			out[i] = v
		}
		return out, nil
	}
	out := make([]float64, len(s))
	for i, b := range s {
		str := strings.TrimSpace(string(b))
		v, err := strconv.ParseFloat(str, 64)
		if err != nil {
			switch strings.ToLower(str) {
			case "true":
				v = 1
			case "false":
				v = 0
			default:
				return nil, err
			}
		}
		out[i] = v
	}
	return out, nil
}

// castTensor returns x converted to element type to, in a buffer from c.
func castTensor(c *Ctx, x *tensor.Tensor, to tensor.DataType) (*tensor.Tensor, error) {
	if x.Type == to {
		return c.CopyOf(x)
	}
	y, err := c.Alloc(to, x.Shape...)
	if err != nil {
		return nil, err
	}
	srcType, src := x.Type, x.Data
	switch d := x.Data.(type) {
	case []float16.Float16, []tensor.BFloat16:
		srcType, src = tensor.Float, widenHalf(c, x).Data
	case []bool:
		u := make([]uint8, len(d))
		for i, v := range d {
			if v {
				u[i] = 1
			}
		}
		srcType, src = tensor.Uint8, u
	case [][]byte:
		v, err := parseStrings(d, to)
		if err != nil {
			c.pool.put(y)
			return nil, c.Node().Errorf("cannot parse string as %s: %v", tensor.Name(to), err)
		}
		srcType, src = tensor.Double, v
		if _, ok := v.([]int64); ok {
			srcType = tensor.Int64
		}
	}
	k := numFor(srcType)
	if k == nil || !k.castTo(y, src) {
		c.pool.put(y)
		return nil, c.Node().Errorf("cannot cast %s to %s", tensor.Name(x.Type), tensor.Name(to))
	}
	return y, nil
}

func castable(dt tensor.DataType) bool {
	return numFor(dt) != nil || isHalf(dt) || dt == tensor.Bool || dt == tensor.String
}

func init() {
	registerElem("Cast", 1, 1, func(n *Node) (Kernel, error) {
		to, err := n.AttrInt("to", 0)
		if err != nil {
			return nil, n.Errorf("%v", err)
		}
		dt := tensor.DataType(to)
		if !castable(dt) {
			return nil, n.Errorf("cast to %s is not supported", tensor.Name(dt))
		}
		return KernelFunc(func(c *Ctx, in, out []*tensor.Tensor) error {
			var err error
			out[0], err = castTensor(c, in[0], dt)
			return err
		}), nil
	})
	registerElem("CastLike", 2, 2, func(n *Node) (Kernel, error) {
		return KernelFunc(func(c *Ctx, in, out []*tensor.Tensor) error {
			if !castable(in[1].Type) {
				return c.Node().Errorf("cast to %s is not supported", tensor.Name(in[1].Type))
			}
			var err error
			out[0], err = castTensor(c, in[0], in[1].Type)
			return err
		}), nil
	})
}
