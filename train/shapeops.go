package train

import (
	"fmt"

	"github.com/onnx-prom/onnx-prom/onnx/ir"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
)

// batchDim stands for the batch size in shape tensors computed at compile
// time (Shape of an activation): the batch varies between steps.
const batchDim int64 = -1 << 40

// shapeOps compute small integer tensors (shapes) that training folds at
// compile time, such as Reshape(x, Concat(Slice(Shape(x), 0, 1), [-1])).
var shapeOps = map[string]bool{"Shape": true, "Gather": true, "Slice": true, "Concat": true,
	"Cast": true, "Unsqueeze": true, "Squeeze": true, "Identity": true}

// intsOf returns the value of v as compile-time integers: a folded shape
// tensor or an integer initializer; ok is false otherwise.
func (c *compiler) intsOf(v *ir.Value) ([]int64, bool) {
	if v == nil {
		return nil, false
	}
	if s, ok := c.ints[v]; ok {
		return s, true
	}
	if !v.IsConst() {
		return nil, false
	}
	t, err := v.Tensor()
	if err != nil {
		return nil, false
	}
	switch t.Type {
	case tensor.Int64, tensor.Int32, tensor.Int16, tensor.Int8, tensor.Uint8, tensor.Uint16, tensor.Uint32:
	default:
		return nil, false
	}
	d, err := t.Int64s()
	if err != nil || len(t.Shape) > 1 {
		return nil, false
	}
	return d, true
}

// foldShape evaluates n at compile time when it is a shape op on
// compile-time integers (or Shape of an activation) and reports whether
// it did.
func (c *compiler) foldShape(n *ir.Node) (bool, error) {
	if !shapeOps[n.OpType] || n.Domain != "" || len(n.Outputs) != 1 || n.Output(0) == nil {
		return false, nil
	}
	var out []int64
	switch n.OpType {
	case "Shape":
		b := c.cur[n.Input(0)]
		if b == nil {
			return false, nil
		}
		full := append([]int64{batchDim}, toInt64(b.shape)...)
		start, err := n.AttrInt("start", 0)
		if err != nil {
			return true, err
		}
		end, err := n.AttrInt("end", int64(len(full)))
		if err != nil {
			return true, err
		}
		lo, hi := clampAxis(start, len(full)), clampAxis(end, len(full))
		out = append([]int64{}, full[lo:max(lo, hi)]...)
	default:
		var ins [][]int64
		for i, v := range n.Inputs {
			if v == nil {
				ins = append(ins, nil)
				continue
			}
			d, ok := c.intsOf(v)
			if !ok {
				if i == 0 || n.OpType == "Concat" {
					return false, nil // a float op: the regular builders
				}
				return true, fmt.Errorf("input %d of a shape computation is not constant", i)
			}
			ins = append(ins, d)
		}
		var err error
		if out, err = evalShapeOp(n, ins); err != nil {
			return true, err
		}
	}
	c.ints[n.Output(0)] = out
	return true, nil
}

func toInt64(s []int) []int64 {
	out := make([]int64, len(s))
	for i, d := range s {
		out[i] = int64(d)
	}
	return out
}

func clampAxis(a int64, n int) int {
	if a < 0 {
		a += int64(n)
	}
	return int(max(0, min(a, int64(n))))
}

// evalShapeOp evaluates Gather, Slice, Concat, Cast, Unsqueeze, Squeeze and
// Identity on 1-D (or scalar) integer tensors.
func evalShapeOp(n *ir.Node, ins [][]int64) ([]int64, error) {
	x := ins[0]
	switch n.OpType {
	case "Identity", "Cast", "Unsqueeze", "Squeeze":
		if n.OpType == "Cast" {
			to, err := n.AttrInt("to", 0)
			if err != nil {
				return nil, err
			}
			if dt := tensor.DataType(to); dt != tensor.Int64 && dt != tensor.Int32 {
				return nil, fmt.Errorf("Cast of a shape to %s is not supported", tensor.Name(dt))
			}
		}
		return append([]int64{}, x...), nil
	case "Concat":
		var out []int64
		for _, in := range ins {
			out = append(out, in...)
		}
		return out, nil
	case "Gather":
		if len(ins) < 2 {
			return nil, fmt.Errorf("Gather needs indices")
		}
		if axis, err := n.AttrInt("axis", 0); err != nil || axis != 0 {
			return nil, fmt.Errorf("Gather on a shape: axis must be 0")
		}
		var out []int64
		for _, i := range ins[1] {
			if i < 0 {
				i += int64(len(x))
			}
			if i < 0 || i >= int64(len(x)) {
				return nil, fmt.Errorf("Gather index %d out of range for %d values", i, len(x))
			}
			out = append(out, x[i])
		}
		return out, nil
	case "Slice":
		var starts, ends, axes, steps []int64
		if len(ins) >= 3 {
			starts, ends = ins[1], ins[2]
			if len(ins) > 3 {
				axes = ins[3]
			}
			if len(ins) > 4 {
				steps = ins[4]
			}
		} else {
			var err error
			if starts, err = n.AttrInts("starts", nil); err != nil {
				return nil, err
			}
			if ends, err = n.AttrInts("ends", nil); err != nil {
				return nil, err
			}
			if axes, err = n.AttrInts("axes", nil); err != nil {
				return nil, err
			}
		}
		if len(starts) != 1 || len(ends) != 1 || len(axes) > 1 || len(axes) == 1 && axes[0] != 0 && axes[0] != -1 || len(steps) > 1 {
			return nil, fmt.Errorf("Slice of a shape: one axis, 0, supported")
		}
		step := int64(1)
		if len(steps) == 1 {
			step = steps[0]
		}
		if step != 1 {
			return nil, fmt.Errorf("Slice of a shape with step %d is not supported", step)
		}
		lo, hi := clampAxis(starts[0], len(x)), clampAxis(min(ends[0], int64(len(x))), len(x))
		return append([]int64{}, x[lo:max(lo, hi)]...), nil
	}
	return nil, fmt.Errorf("%s on a shape is not supported", n.OpType)
}
