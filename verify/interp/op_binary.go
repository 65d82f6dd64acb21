package interp

import (
	"bytes"
	"fmt"
	"math"
	"slices"

	"github.com/onnx-prom/onnx-prom/onnx/tensor"
)

// bcastShape returns the numpy-style (multidirectional) broadcast of shapes.
func bcastShape(shapes ...[]int64) ([]int64, error) {
	r := 0
	for _, s := range shapes {
		r = max(r, len(s))
	}
	out := make([]int64, r)
	for i := range out {
		out[i] = 1
	}
	for _, s := range shapes {
		for j, d := range s {
			o := &out[r-len(s)+j]
			switch {
			case d == *o || d == 1:
			case *o == 1:
				*o = d
			default:
				return nil, fmt.Errorf("shapes %v are not broadcastable", shapes)
			}
		}
	}
	return out, nil
}

// bcastPlan maps the elements of a broadcast output to up to three
// operands. Output dimensions are coalesced where every operand is either
// contiguous or constant across them, so that the innermost dimension is
// as long as possible; along it every operand has stride 0 or 1.
type bcastPlan struct {
	out  []int64 // output shape
	n    int     // output elements
	k    int     // operands
	dims []int   // coalesced output dimensions, innermost last (at least one)
	str  [3][]int
	base [3]int // operand offset of the first output element
}

func newBcastPlan(shapes ...[]int64) (*bcastPlan, error) {
	out, err := bcastShape(shapes...)
	if err != nil {
		return nil, err
	}
	return planFor(out, shapes...)
}

// planFor plans reading operands of the given shapes, each broadcastable
// to out, in the order of out's elements.
func planFor(out []int64, shapes ...[]int64) (*bcastPlan, error) {
	if len(shapes) > 3 {
		return nil, fmt.Errorf("too many operands")
	}
	r := len(out)
	// Row-major strides of each operand, aligned right, 0 where broadcast.
	full := make([][]int, len(shapes))
	for k, s := range shapes {
		if len(s) > r {
			return nil, fmt.Errorf("shape %v does not broadcast to %v", s, out)
		}
		st := make([]int, r)
		acc := 1
		for j := len(s) - 1; j >= 0; j-- {
			o := r - len(s) + j
			switch {
			case s[j] == out[o]:
				if s[j] != 1 {
					st[o] = acc
				}
			case s[j] == 1:
			default:
				return nil, fmt.Errorf("shape %v does not broadcast to %v", s, out)
			}
			acc *= int(s[j])
		}
		full[k] = st
	}
	return stridedPlan(out, full...)
}

// stridedPlan plans reading operands with the given element strides (one
// per output dimension, any sign; 0 repeats) in the order of out's
// elements. Set base for operands that do not start at element 0.
func stridedPlan(out []int64, strides ...[]int) (*bcastPlan, error) {
	n, err := tensor.NumElements(out)
	if err != nil {
		return nil, err
	}
	if n > maxElements {
		return nil, fmt.Errorf("output shape %v has %d elements, over the limit of %d", out, n, int64(maxElements))
	}
	p := &bcastPlan{out: out, n: int(n), k: len(strides)}
	for j, d64 := range out {
		if d64 == 1 {
			continue
		}
		d := int(d64)
		last := len(p.dims) - 1
		if last >= 0 {
			merge := true
			for k := range strides {
				if p.str[k][last] != strides[k][j]*d {
					merge = false
					break
				}
			}
			if merge {
				p.dims[last] *= d
				for k := range strides {
					p.str[k][last] = strides[k][j]
				}
				continue
			}
		}
		p.dims = append(p.dims, d)
		for k := range strides {
			p.str[k] = append(p.str[k], strides[k][j])
		}
	}
	if len(p.dims) == 0 {
		p.dims = []int{1}
		for k := range strides {
			p.str[k] = []int{0}
		}
	}
	return p, nil
}

// inner is operand k's stride along the innermost dimension (0 or 1 for
// plans from planFor).
func (p *bcastPlan) inner(k int) int { return p.str[k][len(p.dims)-1] }

// walk calls fn for each run of output elements in [lo, hi) that is
// contiguous in the innermost dimension: output offset d, run length n,
// and the operands' offsets.
func (p *bcastPlan) walk(lo, hi int, fn func(d, n int, off [3]int)) {
	if lo >= hi {
		return
	}
	r := len(p.dims)
	inner := p.dims[r-1]
	var idxBuf [8]int
	idx := idxBuf[:0]
	if r-1 > len(idxBuf) {
		idx = make([]int, r-1)
	} else {
		idx = idxBuf[:r-1]
	}
	o, i0 := lo/inner, lo%inner
	for j := r - 2; j >= 0; j-- {
		idx[j] = o % p.dims[j]
		o /= p.dims[j]
	}
	for pos := lo; pos < hi; {
		var off [3]int
		for k := 0; k < p.k; k++ {
			st := p.str[k]
			s := p.base[k] + i0*st[r-1]
			for j, x := range idx {
				s += x * st[j]
			}
			off[k] = s
		}
		n := min(inner-i0, hi-pos)
		fn(pos, n, off)
		pos += n
		i0 = 0
		for j := r - 2; j >= 0; j-- {
			idx[j]++
			if idx[j] < p.dims[j] {
				break
			}
			idx[j] = 0
		}
	}
}

// run splits the plan's output over the context's threads.
func (p *bcastPlan) run(c *Ctx, f func(lo, hi int)) {
	if p.n > 0 {
		c.Parallel(p.n, elemGrain, f)
	}
}

type arithOp int

const (
	aAdd arithOp = iota
	aSub
	aMul
	aDiv
	aMax
	aMin
	aPRelu
	aMod  // sign of the divisor (Python %)
	aFmod // sign of the dividend (C fmod)
)

func arith1[T elNum](op arithOp, x, y T) T {
	switch op {
	case aAdd:
		return x + y
	case aSub:
		return x - y
	case aMul:
		return x * y
	case aDiv:
		return x / y
	case aMax:
		return max(x, y)
	case aMin:
		return min(x, y)
	case aPRelu:
		if x < 0 {
			return x * y
		}
		return x
	case aMod, aFmod:
		r := T(math.Mod(float64(x), float64(y)))
		if op == aMod && r != 0 && (r < 0) != (y < 0) {
			r += y
		}
		return r
	}
	return 0
}

// arithRun computes one run: a and b have stride sa, sb (0 or 1).
func arithRun[T elNum](op arithOp, d, a, b []T, sa, sb int) {
	n := len(d)
	switch {
	case sa == 1 && sb == 1:
		a, b = a[:n], b[:n]
		switch op {
		case aAdd:
			for i := range d {
				d[i] = a[i] + b[i]
			}
		case aSub:
			for i := range d {
				d[i] = a[i] - b[i]
			}
		case aMul:
			for i := range d {
				d[i] = a[i] * b[i]
			}
		case aDiv:
			for i := range d {
				d[i] = a[i] / b[i]
			}
		default:
			for i := range d {
				d[i] = arith1(op, a[i], b[i])
			}
		}
	case sa == 1:
		a = a[:n]
		y := b[0]
		switch op {
		case aAdd:
			for i := range d {
				d[i] = a[i] + y
			}
		case aSub:
			for i := range d {
				d[i] = a[i] - y
			}
		case aMul:
			for i := range d {
				d[i] = a[i] * y
			}
		case aDiv:
			for i := range d {
				d[i] = a[i] / y
			}
		case aPRelu:
			for i, x := range a {
				d[i] = max(x, 0) + y*min(x, 0)
			}
		default:
			for i := range d {
				d[i] = arith1(op, a[i], y)
			}
		}
	case sb == 1:
		b = b[:n]
		x := a[0]
		switch op {
		case aAdd:
			for i := range d {
				d[i] = x + b[i]
			}
		case aSub:
			for i := range d {
				d[i] = x - b[i]
			}
		case aMul:
			for i := range d {
				d[i] = x * b[i]
			}
		default:
			for i := range d {
				d[i] = arith1(op, x, b[i])
			}
		}
	default:
		v := arith1(op, a[0], b[0])
		for i := range d {
			d[i] = v
		}
	}
}

func (numOf[T]) arith(op arithOp, pl *bcastPlan, dst, a, b any, lo, hi int) {
	d, x, y := dst.([]T), a.([]T), b.([]T)
	sa, sb := pl.inner(0), pl.inner(1)
	pl.walk(lo, hi, func(o, n int, off [3]int) {
		arithRun(op, d[o:o+n], x[off[0]:], y[off[1]:], sa, sb)
	})
}

func (numOf[T]) hasZero(x any) bool {
	for _, v := range x.([]T) {
		if v == 0 {
			return true
		}
	}
	return false
}

type cmpOp int

const (
	cEq cmpOp = iota
	cLt
	cGt
	cLe
	cGe
)

func (numOf[T]) compare(op cmpOp, pl *bcastPlan, dst []bool, a, b any, lo, hi int) {
	x, y := a.([]T), b.([]T)
	sa, sb := pl.inner(0), pl.inner(1)
	pl.walk(lo, hi, func(o, n int, off [3]int) {
		d := dst[o : o+n]
		i, j := off[0], off[1]
		switch op {
		case cEq:
			for k := range d {
				d[k] = x[i+k*sa] == y[j+k*sb]
			}
		case cLt:
			for k := range d {
				d[k] = x[i+k*sa] < y[j+k*sb]
			}
		case cGt:
			for k := range d {
				d[k] = x[i+k*sa] > y[j+k*sb]
			}
		case cLe:
			for k := range d {
				d[k] = x[i+k*sa] <= y[j+k*sb]
			}
		case cGe:
			for k := range d {
				d[k] = x[i+k*sa] >= y[j+k*sb]
			}
		}
	})
}

// pow raises base to exp (float exponents) or iexp (integer exponents,
// used when base is an integer type too).
func (numOf[T]) pow(pl *bcastPlan, dst, base any, exp []float64, iexp []int64, lo, hi int) {
	d, x := dst.([]T), base.([]T)
	sa, sb := pl.inner(0), pl.inner(1)
	pl.walk(lo, hi, func(o, n int, off [3]int) {
		d := d[o : o+n]
		i, j := off[0], off[1]
		if iexp != nil {
			for k := range d {
				d[k] = ipow(x[i+k*sa], iexp[j+k*sb])
			}
			return
		}
		if sb == 0 && exp[j] == 2 {
			for k := range d {
				v := x[i+k*sa]
				d[k] = v * v
			}
			return
		}
		for k := range d {
			d[k] = T(math.Pow(float64(x[i+k*sa]), exp[j+k*sb]))
		}
	})
}

// ipow is x**e in x's integer type (wrapping like C); negative exponents
// truncate toward zero.
func ipow[T elNum](x T, e int64) T {
	var one T = 1
	if e < 0 {
		switch {
		case x == one:
			return one
		case x == 0-one:
			if e%2 == 0 {
				return one
			}
			return x
		}
		return 0
	}
	r := one
	for e > 0 {
		if e&1 == 1 {
			r *= x
		}
		x *= x
		e >>= 1
	}
	return r
}

type bitOp int

const (
	bAnd bitOp = iota
	bOr
	bXor
	bShl
	bShr
)

func (intOf[T]) bitwise(op bitOp, pl *bcastPlan, dst, a, b any, lo, hi int) {
	dd, x, y := dst.([]T), a.([]T), b.([]T)
	sa, sb := pl.inner(0), pl.inner(1)
	pl.walk(lo, hi, func(o, n int, off [3]int) {
		d := dd[o : o+n]
		i, j := off[0], off[1]
		switch op {
		case bAnd:
			for k := range d {
				d[k] = x[i+k*sa] & y[j+k*sb]
			}
		case bOr:
			for k := range d {
				d[k] = x[i+k*sa] | y[j+k*sb]
			}
		case bXor:
			for k := range d {
				d[k] = x[i+k*sa] ^ y[j+k*sb]
			}
		case bShl:
			for k := range d {
				d[k] = x[i+k*sa] << uint64(y[j+k*sb])
			}
		case bShr:
			for k := range d {
				d[k] = x[i+k*sa] >> uint64(y[j+k*sb])
			}
		}
	})
}

// divMod computes integer Div (truncating) and Mod; the caller has ruled
// out zero divisors.
func (intOf[T]) divMod(op arithOp, fmod bool, pl *bcastPlan, dst, a, b any, lo, hi int) {
	dd, x, y := dst.([]T), a.([]T), b.([]T)
	sa, sb := pl.inner(0), pl.inner(1)
	pl.walk(lo, hi, func(o, n int, off [3]int) {
		d := dd[o : o+n]
		i, j := off[0], off[1]
		if op == aDiv {
			for k := range d {
				d[k] = x[i+k*sa] / y[j+k*sb]
			}
			return
		}
		for k := range d {
			u, v := x[i+k*sa], y[j+k*sb]
			r := u % v
			if !fmod && r != 0 && (r < 0) != (v < 0) {
				r += v
			}
			d[k] = r
		}
	})
}

func init() {
	for name, op := range map[string]arithOp{"Add": aAdd, "Sub": aSub, "Mul": aMul, "Div": aDiv} {
		registerElem(name, 2, 2, buildArith(op))
	}
	registerElem("PRelu", 2, 2, buildArith(aPRelu))
	registerElem("Mod", 2, 2, func(n *Node) (Kernel, error) {
		f, err := n.AttrInt("fmod", 0)
		if err != nil {
			return nil, n.Errorf("%v", err)
		}
		if f != 0 {
			return buildArith(aFmod)(n)
		}
		return buildArith(aMod)(n)
	})
	for name, op := range map[string]cmpOp{"Equal": cEq, "Less": cLt, "Greater": cGt, "LessOrEqual": cLe, "GreaterOrEqual": cGe} {
		registerElem(name, 2, 2, buildCompare(op))
	}
	for name, op := range map[string]bitOp{"BitwiseAnd": bAnd, "BitwiseOr": bOr, "BitwiseXor": bXor} {
		registerElem(name, 2, 2, buildBitwise(op))
	}
	registerElem("BitShift", 2, 2, func(n *Node) (Kernel, error) {
		dir, err := n.AttrString("direction", "")
		if err != nil {
			return nil, n.Errorf("%v", err)
		}
		switch dir {
		case "LEFT":
			return buildBitwise(bShl)(n)
		case "RIGHT":
			return buildBitwise(bShr)(n)
		}
		return nil, n.Errorf("direction %q: want LEFT or RIGHT", dir)
	})
	for name, op := range map[string]bitOp{"And": bAnd, "Or": bOr, "Xor": bXor} {
		registerElem(name, 2, 2, buildLogical(op))
	}
	registerElem("Pow", 2, 2, buildPow)
	registerElem("Where", 3, 3, buildWhere)
	for name, op := range map[string]arithOp{"Max": aMax, "Min": aMin, "Sum": aAdd, "Mean": aDiv} {
		registerElem(name, 1, -1, buildVariadic(op))
	}
}

// binaryInputs checks that a and b have the same element type and returns
// the broadcast plan.
func binaryInputs(c *Ctx, a, b *tensor.Tensor) (*bcastPlan, error) {
	if a.Type != b.Type {
		return nil, c.Node().Errorf("inputs have types %s and %s", tensor.Name(a.Type), tensor.Name(b.Type))
	}
	pl, err := newBcastPlan(a.Shape, b.Shape)
	if err != nil {
		return nil, c.Node().Errorf("%v", err)
	}
	return pl, nil
}

func buildArith(op arithOp) Builder {
	return func(n *Node) (Kernel, error) {
		return viaF32(0, func(c *Ctx, in, out []*tensor.Tensor) error {
			a, b := in[0], in[1]
			pl, err := binaryInputs(c, a, b)
			if err != nil {
				return err
			}
			k := numFor(a.Type)
			if k == nil {
				return typeErr(c, "input", a.Type)
			}
			ik := intFor(a.Type)
			if ik != nil && (op == aDiv || op == aMod || op == aFmod) && k.hasZero(b.Data) {
				return c.Node().Errorf("integer division by zero")
			}
			y, err := c.Alloc(a.Type, pl.out...)
			if err != nil {
				return err
			}
			if ik != nil && (op == aDiv || op == aMod || op == aFmod) {
				pl.run(c, func(lo, hi int) { ik.divMod(op, op == aFmod, pl, y.Data, a.Data, b.Data, lo, hi) })
			} else {
				pl.run(c, func(lo, hi int) { k.arith(op, pl, y.Data, a.Data, b.Data, lo, hi) })
			}
			out[0] = y
			return nil
		}), nil
	}
}

func buildCompare(op cmpOp) Builder {
	return func(n *Node) (Kernel, error) {
		return viaF32(0, func(c *Ctx, in, out []*tensor.Tensor) error {
			a, b := in[0], in[1]
			pl, err := binaryInputs(c, a, b)
			if err != nil {
				return err
			}
			y, err := c.Alloc(tensor.Bool, pl.out...)
			if err != nil {
				return err
			}
			d := y.Data.([]bool)
			out[0] = y
			if k := numFor(a.Type); k != nil {
				pl.run(c, func(lo, hi int) { k.compare(op, pl, d, a.Data, b.Data, lo, hi) })
				return nil
			}
			if op != cEq {
				return typeErr(c, "input", a.Type)
			}
			switch x := a.Data.(type) {
			case []bool:
				y := b.Data.([]bool)
				sa, sb := pl.inner(0), pl.inner(1)
				pl.walk(0, pl.n, func(o, n int, off [3]int) {
					for k := range n {
						d[o+k] = x[off[0]+k*sa] == y[off[1]+k*sb]
					}
				})
			case [][]byte:
				y := b.Data.([][]byte)
				sa, sb := pl.inner(0), pl.inner(1)
				pl.walk(0, pl.n, func(o, n int, off [3]int) {
					for k := range n {
						d[o+k] = bytes.Equal(x[off[0]+k*sa], y[off[1]+k*sb])
					}
				})
			default:
				return typeErr(c, "input", a.Type)
			}
			return nil
		}), nil
	}
}

func buildBitwise(op bitOp) Builder {
	return func(n *Node) (Kernel, error) {
		return KernelFunc(func(c *Ctx, in, out []*tensor.Tensor) error {
			a, b := in[0], in[1]
			pl, err := binaryInputs(c, a, b)
			if err != nil {
				return err
			}
			k := intFor(a.Type)
			if k == nil {
				return typeErr(c, "input", a.Type)
			}
			y, err := c.Alloc(a.Type, pl.out...)
			if err != nil {
				return err
			}
			pl.run(c, func(lo, hi int) { k.bitwise(op, pl, y.Data, a.Data, b.Data, lo, hi) })
			out[0] = y
			return nil
		}), nil
	}
}

func buildLogical(op bitOp) Builder {
	return func(n *Node) (Kernel, error) {
		return KernelFunc(func(c *Ctx, in, out []*tensor.Tensor) error {
			a, b := in[0], in[1]
			pl, err := binaryInputs(c, a, b)
			if err != nil {
				return err
			}
			x, ok1 := a.Data.([]bool)
			z, ok2 := b.Data.([]bool)
			if !ok1 || !ok2 {
				return typeErr(c, "input", a.Type)
			}
			y, err := c.Alloc(tensor.Bool, pl.out...)
			if err != nil {
				return err
			}
			d := y.Data.([]bool)
			sa, sb := pl.inner(0), pl.inner(1)
			pl.walk(0, pl.n, func(o, n int, off [3]int) {
				for k := range n {
					u, v := x[off[0]+k*sa], z[off[1]+k*sb]
					switch op {
					case bAnd:
						d[o+k] = u && v
					case bOr:
						d[o+k] = u || v
					default:
						d[o+k] = u != v
					}
				}
			})
			out[0] = y
			return nil
		}), nil
	}
}

func buildPow(n *Node) (Kernel, error) {
	return viaF32(0, func(c *Ctx, in, out []*tensor.Tensor) error {
		a, b := in[0], in[1]
		pl, err := newBcastPlan(a.Shape, b.Shape)
		if err != nil {
			return c.Node().Errorf("%v", err)
		}
		k := numFor(a.Type)
		if k == nil || numFor(b.Type) == nil {
			return c.Node().Errorf("types %s and %s are not supported", tensor.Name(a.Type), tensor.Name(b.Type))
		}
		var exp []float64
		var iexp []int64
		if intFor(a.Type) != nil && intFor(b.Type) != nil {
			if b.Type == tensor.Uint64 {
				for _, v := range b.Data.([]uint64) {
					iexp = append(iexp, int64(min(v, math.MaxInt64)))
				}
			} else if iexp, err = b.Int64s(); err != nil {
				return c.Node().Errorf("%v", err)
			}
		} else if exp, err = b.Float64s(); err != nil {
			return c.Node().Errorf("%v", err)
		}
		y, err := c.Alloc(a.Type, pl.out...)
		if err != nil {
			return err
		}
		pl.run(c, func(lo, hi int) { k.pow(pl, y.Data, a.Data, exp, iexp, lo, hi) })
		out[0] = y
		return nil
	}), nil
}

// buildVariadic handles Max, Min, Sum and Mean (op aDiv stands for Mean:
// sum, then divide by the input count).
func buildVariadic(op arithOp) Builder {
	return func(n *Node) (Kernel, error) {
		if len(n.Inputs) == 0 {
			return nil, n.Errorf("needs at least one input")
		}
		return viaF32(0, func(c *Ctx, in, out []*tensor.Tensor) error {
			shapes := make([][]int64, len(in))
			for i, t := range in {
				if t == nil {
					return c.Node().Errorf("input %d is missing", i)
				}
				if t.Type != in[0].Type {
					return c.Node().Errorf("inputs have types %s and %s", tensor.Name(in[0].Type), tensor.Name(t.Type))
				}
				shapes[i] = t.Shape
			}
			full, err := bcastShape(shapes...)
			if err != nil {
				return c.Node().Errorf("%v", err)
			}
			dt := in[0].Type
			k := numFor(dt)
			if k == nil {
				return typeErr(c, "input", dt)
			}
			step := op
			if op == aDiv {
				step = aAdd
			}
			y, err := c.Alloc(dt, full...)
			if err != nil {
				return err
			}
			out[0] = y
			next := 1
			if len(in) >= 2 && slices.Equal(mustShape(bcastShape(in[0].Shape, in[1].Shape)), full) {
				pl, err := planFor(full, in[0].Shape, in[1].Shape)
				if err != nil {
					return c.Node().Errorf("%v", err)
				}
				pl.run(c, func(lo, hi int) { k.arith(step, pl, y.Data, in[0].Data, in[1].Data, lo, hi) })
				next = 2
			} else if err := expandInto(c, y, in[0]); err != nil {
				return err
			}
			for _, t := range in[next:] {
				pl, err := planFor(full, full, t.Shape)
				if err != nil {
					return c.Node().Errorf("%v", err)
				}
				pl.run(c, func(lo, hi int) { k.arith(step, pl, y.Data, y.Data, t.Data, lo, hi) })
			}
			if op == aDiv && len(in) > 1 {
				count, err := makeData(dt, 1)
				if err != nil {
					return c.Node().Errorf("%v", err)
				}
				k.fromFloat64(count, float64(len(in)), 1)
				pl, err := planFor(full, full, nil)
				if err != nil {
					return c.Node().Errorf("%v", err)
				}
				pl.run(c, func(lo, hi int) { k.arith(aDiv, pl, y.Data, y.Data, count, lo, hi) })
			}
			return nil
		}), nil
	}
}

// mustShape drops bcastShape's error: nil matches no shape.
func mustShape(s []int64, err error) []int64 {
	if err != nil {
		return nil
	}
	return s
}

func (numOf[T]) fromFloat64(dst any, v float64, n int) {
	d := dst.([]T)[:n]
	for i := range d {
		d[i] = T(v)
	}
}

func buildWhere(n *Node) (Kernel, error) {
	return viaF32(1, func(c *Ctx, in, out []*tensor.Tensor) error {
		cond, x, y := in[0], in[1], in[2]
		cd, ok := cond.Data.([]bool)
		if !ok {
			return c.Node().Errorf("condition has type %s, want BOOL", tensor.Name(cond.Type))
		}
		if x.Type != y.Type {
			return c.Node().Errorf("X and Y have types %s and %s", tensor.Name(x.Type), tensor.Name(y.Type))
		}
		pl, err := newBcastPlan(cond.Shape, x.Shape, y.Shape)
		if err != nil {
			return c.Node().Errorf("%v", err)
		}
		m := moveFor(x.Data)
		if m == nil {
			return typeErr(c, "input", x.Type)
		}
		z, err := c.Alloc(x.Type, pl.out...)
		if err != nil {
			return err
		}
		pl.run(c, func(lo, hi int) { m.where(pl, z.Data, cd, x.Data, y.Data, lo, hi) })
		out[0] = z
		return nil
	}), nil
}

func (moveOf[T]) where(pl *bcastPlan, dst any, cond []bool, a, b any, lo, hi int) {
	d, x, y := dst.([]T), a.([]T), b.([]T)
	sc, sa, sb := pl.inner(0), pl.inner(1), pl.inner(2)
	pl.walk(lo, hi, func(o, n int, off [3]int) {
		for k := range n {
			if cond[off[0]+k*sc] {
				d[o+k] = x[off[1]+k*sa]
			} else {
				d[o+k] = y[off[2]+k*sb]
			}
		}
	})
}

// expandInto broadcasts src into dst (whose shape src broadcasts to).
func expandInto(c *Ctx, dst, src *tensor.Tensor) error {
	pl, err := planFor(dst.Shape, src.Shape)
	if err != nil {
		return c.Node().Errorf("%v", err)
	}
	m := moveFor(src.Data)
	if m == nil {
		return typeErr(c, "input", src.Type)
	}
	pl.run(c, func(lo, hi int) { m.strided(pl, dst.Data, src.Data, lo, hi) })
	return nil
}

func (moveOf[T]) strided(pl *bcastPlan, dst, src any, lo, hi int) {
	d, s := dst.([]T), src.([]T)
	st := pl.inner(0)
	pl.walk(lo, hi, func(o, n int, off [3]int) {
		dd := d[o : o+n]
		switch st {
		case 1:
			copy(dd, s[off[0]:off[0]+n])
		case 0:
			v := s[off[0]]
			for i := range dd {
				dd[i] = v
			}
		default:
			j := off[0]
			for i := range dd {
				dd[i] = s[j]
				j += st
			}
		}
	})
}
