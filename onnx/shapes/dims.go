package shapes

import (
	"fmt"
	"math"

	"github.com/onnx-prom/onnx-prom/onnx/ir"
)

// maxDim bounds every inferred dimension. It leaves room to multiply a few
// dimensions together without overflowing int64 in later arithmetic.
const maxDim = math.MaxInt64 / 4

// checkDim refuses negative and absurdly large dimensions.
func checkDim(v int64, what string) error {
	if v < 0 {
		return fmt.Errorf("%s is negative (%d)", what, v)
	}
	if v > maxDim {
		return fmt.Errorf("%s overflows (%d)", what, v)
	}
	return nil
}

// mulChecked multiplies two non-negative sizes, refusing overflow.
func mulChecked(a, b int64) (int64, error) {
	if a < 0 || b < 0 {
		return 0, fmt.Errorf("negative size in product %d*%d", a, b)
	}
	if a != 0 && b > math.MaxInt64/a {
		return 0, fmt.Errorf("size %d*%d overflows int64", a, b)
	}
	return a * b, nil
}

// product multiplies dims. The result is known when every dim is known, the
// symbol when exactly one dim is symbolic and all others are 1, and unknown
// otherwise.
func product(ds []ir.Dim) (ir.Dim, error) {
	p := int64(1)
	var sym ir.Dim
	nsym, unknown := 0, false
	for _, d := range ds {
		switch {
		case d.Known():
			var err error
			if p, err = mulChecked(p, d.Value); err != nil {
				return ir.UnknownDim, err
			}
		case d.Param != "":
			nsym++
			sym = d
		default:
			unknown = true
		}
	}
	switch {
	case unknown:
		if p == 0 {
			return ir.D(0), nil
		}
		return ir.UnknownDim, nil
	case nsym == 0:
		if p > maxDim {
			return ir.UnknownDim, fmt.Errorf("size %d overflows", p)
		}
		return ir.D(p), nil
	case p == 0:
		return ir.D(0), nil
	case nsym == 1 && p == 1:
		return sym, nil
	}
	return ir.UnknownDim, nil
}

// broadcastDim combines two dims under numpy broadcasting.
func broadcastDim(a, b ir.Dim) (ir.Dim, error) {
	switch {
	case a.Known() && b.Known():
		switch {
		case a.Value == b.Value:
			return a, nil
		case a.Value == 1:
			return b, nil
		case b.Value == 1:
			return a, nil
		}
		return ir.UnknownDim, fmt.Errorf("dimensions %d and %d do not broadcast", a.Value, b.Value)
	case a.Known() && a.Value == 1:
		return b, nil
	case b.Known() && b.Value == 1:
		return a, nil
	case a.Known():
		// b is 1 or equal to a in any valid model.
		return a, nil
	case b.Known():
		return b, nil
	case a.Param != "" && a.Param == b.Param:
		return a, nil
	}
	return ir.UnknownDim, nil
}

// broadcast applies numpy (multidirectional) broadcasting to shapes. A nil
// shape (unknown rank) makes the result nil.
func broadcast(shapes ...ir.Shape) (ir.Shape, error) {
	if len(shapes) == 0 {
		return nil, nil
	}
	rank := 0
	for _, s := range shapes {
		if s == nil {
			return nil, nil
		}
		rank = max(rank, len(s))
	}
	out := make(ir.Shape, rank)
	for i := range out {
		out[i] = ir.D(1)
	}
	for _, s := range shapes {
		off := rank - len(s)
		for i, d := range s {
			r, err := broadcastDim(out[off+i], d)
			if err != nil {
				return nil, fmt.Errorf("shapes %v do not broadcast: %w", shapeList(shapes), err)
			}
			out[off+i] = r
		}
	}
	return out, nil
}

func shapeList(shapes []ir.Shape) string {
	s := ""
	for i, x := range shapes {
		if i > 0 {
			s += " and "
		}
		s += x.String()
	}
	return s
}

// sameDim merges two dims that must be equal (concat's other axes, matmul's
// inner dimension): a known size wins over a symbol; two different known
// sizes are an error.
func sameDim(a, b ir.Dim) (ir.Dim, error) {
	switch {
	case a.Known() && b.Known():
		if a.Value != b.Value {
			return ir.UnknownDim, fmt.Errorf("dimensions %d and %d differ", a.Value, b.Value)
		}
		return a, nil
	case a.Known():
		return a, nil
	case b.Known():
		return b, nil
	case a.Param != "":
		return a, nil
	}
	return b, nil
}

// addDims adds two dims; unknown unless both are known, or one is known 0.
func addDims(a, b ir.Dim) ir.Dim {
	switch {
	case a.Known() && b.Known():
		if a.Value > maxDim-b.Value {
			return ir.UnknownDim
		}
		return ir.D(a.Value + b.Value)
	case a.Known() && a.Value == 0:
		return b
	case b.Known() && b.Value == 0:
		return a
	}
	return ir.UnknownDim
}

// unknownShape is a shape of known rank with every dim unknown.
func unknownShape(rank int) ir.Shape {
	s := make(ir.Shape, rank)
	for i := range s {
		s[i] = ir.UnknownDim
	}
	return s
}

// normAxis turns a possibly negative axis into [0, rank).
func normAxis(axis int64, rank int) (int, error) {
	if axis < -int64(rank) || axis >= int64(rank) {
		return 0, fmt.Errorf("axis %d is out of range for rank %d", axis, rank)
	}
	if axis < 0 {
		axis += int64(rank)
	}
	return int(axis), nil
}

// normAxes normalizes a list of axes for rank, refusing duplicates.
func normAxes(axes []int64, rank int) ([]int, error) {
	out := make([]int, len(axes))
	seen := make(map[int]bool, len(axes))
	for i, a := range axes {
		n, err := normAxis(a, rank)
		if err != nil {
			return nil, err
		}
		if seen[n] {
			return nil, fmt.Errorf("axis %d appears twice in %v", a, axes)
		}
		seen[n] = true
		out[i] = n
	}
	return out, nil
}

func cloneShape(s ir.Shape) ir.Shape {
	if s == nil {
		return nil
	}
	return append(ir.Shape{}, s...)
}
