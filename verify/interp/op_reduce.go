package interp

import (
	"cmp"
	"math"
	"slices"

	"github.com/onnx-prom/onnx-prom/onnx/tensor"
)

type reduceOp int

const (
	rSum reduceOp = iota
	rMean
	rMax
	rMin
	rProd
	rL1
	rL2
	rLogSum
	rLogSumExp
	rSumSquare
)

func isFloatT[T elNum]() bool {
	var z T
	switch any(z).(type) {
	case float32, float64:
		return true
	}
	return false
}

// extremes returns the smallest and largest values of T (-Inf and +Inf
// for floats).
func extremes[T elNum]() (lo, hi T) {
	var z T
	var l, h any
	switch any(z).(type) {
	case float32:
		l, h = float32(math.Inf(-1)), float32(math.Inf(1))
	case float64:
		l, h = math.Inf(-1), math.Inf(1)
	case int8:
		l, h = int8(math.MinInt8), int8(math.MaxInt8)
	case int16:
		l, h = int16(math.MinInt16), int16(math.MaxInt16)
	case int32:
		l, h = int32(math.MinInt32), int32(math.MaxInt32)
	case int64:
		l, h = int64(math.MinInt64), int64(math.MaxInt64)
	case uint8:
		l, h = uint8(0), uint8(math.MaxUint8)
	case uint16:
		l, h = uint16(0), uint16(math.MaxUint16)
	case uint32:
		l, h = uint32(0), uint32(math.MaxUint32)
	case uint64:
		l, h = uint64(0), uint64(math.MaxUint64)
	}
	return l.(T), h.(T)
}

// reduceBlock reduces one contiguous block. Floats accumulate in float64;
// integer sums and products wrap in T.
func reduceBlock[T elNum](op reduceOp, s []T, isFloat bool) T {
	switch op {
	case rMax:
		lo, _ := extremes[T]()
		m := lo
		for _, x := range s {
			m = max(m, x)
		}
		return m
	case rMin:
		_, hi := extremes[T]()
		m := hi
		for _, x := range s {
			m = min(m, x)
		}
		return m
	}
	if !isFloat {
		switch op {
		case rSum:
			var a T
			for _, x := range s {
				a += x
			}
			return a
		case rProd:
			var a T = 1
			for _, x := range s {
				a *= x
			}
			return a
		case rL1:
			var a T
			for _, x := range s {
				if x < 0 {
					x = -x
				}
				a += x
			}
			return a
		case rSumSquare:
			var a T
			for _, x := range s {
				a += x * x
			}
			return a
		}
	}
	var a float64
	switch op {
	case rSum, rMean, rLogSum:
		for _, x := range s {
			a += float64(x)
		}
		switch op {
		case rMean:
			a /= float64(len(s))
		case rLogSum:
			a = math.Log(a)
		}
	case rProd:
		a = 1
		for _, x := range s {
			a *= float64(x)
		}
	case rL1:
		for _, x := range s {
			a += math.Abs(float64(x))
		}
	case rL2, rSumSquare:
		for _, x := range s {
			a += float64(x) * float64(x)
		}
		if op == rL2 {
			a = math.Sqrt(a)
		}
	case rLogSumExp:
		m := math.Inf(-1)
		for _, x := range s {
			m = max(m, float64(x))
		}
		if math.IsInf(m, 0) || math.IsNaN(m) {
			for _, x := range s {
				a += math.Exp(float64(x))
			}
			return T(math.Log(a))
		}
		for _, x := range s {
			a += math.Exp(float64(x) - m)
		}
		a = math.Log(a) + m
	}
	return T(a)
}

// reduce reduces contiguous blocks of r elements: dst[o] for o in [lo, hi).
func (numOf[T]) reduce(op reduceOp, dst, src any, r, lo, hi int) {
	d, s := dst.([]T), src.([]T)
	f := isFloatT[T]()
	for o := lo; o < hi; o++ {
		d[o] = reduceBlock(op, s[o*r:(o+1)*r], f)
	}
}

// scatterReduce combines blocks of upd into dst at offs.
func (numOf[T]) scatterReduce(op reduceOp, dst, upd any, offs []int, blk int) {
	d, u := dst.([]T), upd.([]T)
	for i, o := range offs {
		dd, uu := d[o:o+blk], u[i*blk:(i+1)*blk]
		for j, v := range uu {
			switch op {
			case rSum:
				dd[j] += v
			case rProd:
				dd[j] *= v
			case rMax:
				dd[j] = max(dd[j], v)
			case rMin:
				dd[j] = min(dd[j], v)
			}
		}
	}
}

func init() {
	for name, op := range map[string]reduceOp{
		"ReduceSum": rSum, "ReduceMean": rMean, "ReduceMax": rMax, "ReduceMin": rMin,
		"ReduceProd": rProd, "ReduceL1": rL1, "ReduceL2": rL2, "ReduceLogSum": rLogSum,
		"ReduceLogSumExp": rLogSumExp, "ReduceSumSquare": rSumSquare,
	} {
		registerElem(name, 1, 2, buildReduce(op))
	}
	registerElem("Softmax", 1, 1, buildSoftmax(smSoftmax))
	registerElem("LogSoftmax", 1, 1, buildSoftmax(smLog))
	registerElem("Hardmax", 1, 1, buildSoftmax(smHard))
	registerElem("ArgMax", 1, 1, buildArg(true))
	registerElem("ArgMin", 1, 1, buildArg(false))
	registerElem("TopK", 1, 2, buildTopK)
	registerElem("CumSum", 2, 2, buildCumSum)
}

func buildReduce(op reduceOp) Builder {
	return func(n *Node) (Kernel, error) {
		since := int64(18)
		if op == rSum {
			since = 13
		}
		attrAxes, fromInput, err := axesSource(n, since, "axes", 1)
		if err != nil {
			return nil, err
		}
		keep, err := n.AttrInt("keepdims", 1)
		if err != nil {
			return nil, n.Errorf("%v", err)
		}
		noop, err := n.AttrInt("noop_with_empty_axes", 0)
		if err != nil {
			return nil, n.Errorf("%v", err)
		}
		return viaF32(0, func(c *Ctx, in, out []*tensor.Tensor) error {
			x := in[0]
			axes, err := runAxes(c, attrAxes, fromInput, in, 1)
			if err != nil {
				return err
			}
			if len(axes) == 0 && noop != 0 {
				out[0], err = c.CopyOf(x)
				return err
			}
			k := numFor(x.Type)
			if k == nil {
				return typeErr(c, "input", x.Type)
			}
			r := len(x.Shape)
			red := make([]bool, r)
			if len(axes) == 0 {
				for i := range red {
					red[i] = true
				}
			} else {
				ax, err := normAxes(axes, r)
				if err != nil {
					return c.Node().Errorf("%v", err)
				}
				for _, a := range ax {
					red[a] = true
				}
			}
			shape := []int64{}
			var perm []int
			var kept, reduced []int
			for i, d := range x.Shape {
				switch {
				case !red[i]:
					shape = append(shape, d)
					kept = append(kept, i)
				case keep != 0:
					shape = append(shape, 1)
				}
				if red[i] {
					reduced = append(reduced, i)
				}
			}
			perm = append(kept, reduced...)
			y, err := c.Alloc(x.Type, shape...)
			if err != nil {
				return err
			}
			src := x
			// Move the reduced axes last unless they already are (ignoring
			// axes of size 1).
			moved := false
			last := -1
			for _, p := range perm {
				if x.Shape[p] == 1 {
					continue
				}
				if p < last {
					moved = true
					break
				}
				last = p
			}
			if moved {
				pl, err := permutePlan(x.Shape, perm)
				if err != nil {
					return c.Node().Errorf("%v", err)
				}
				if src, err = stridedCopy(c, pl, x, nil); err != nil {
					return err
				}
				defer c.pool.put(src)
			}
			outer := y.Len()
			rlen := 1
			for _, a := range reduced {
				rlen *= int(x.Shape[a])
			}
			if outer > 0 {
				c.Parallel(outer, max(1, elemGrain/max(rlen, 1)), func(lo, hi int) { k.reduce(op, y.Data, src.Data, rlen, lo, hi) })
			}
			out[0] = y
			return nil
		}), nil
	}
}

type softmaxKind int

const (
	smSoftmax softmaxKind = iota
	smLog
	smHard
)

// softmaxLines computes lines [lo, hi) of an (outer, r, inner) layout.
func softmaxLines[T elFloat](kind softmaxKind, d, s []T, r, inner, lo, hi int) {
	for line := lo; line < hi; line++ {
		o, i := line/inner, line%inner
		base := o*r*inner + i
		if inner == 1 {
			softmaxRow(kind, d[base:base+r], s[base:base+r])
			continue
		}
		m := math.Inf(-1)
		arg := 0
		for a := range r {
			if v := float64(s[base+a*inner]); v > m {
				m, arg = v, a
			}
		}
		if kind == smHard {
			for a := range r {
				d[base+a*inner] = 0
			}
			if r > 0 {
				d[base+arg*inner] = 1
			}
			continue
		}
		sum := 0.0
		for a := range r {
			sum += math.Exp(float64(s[base+a*inner]) - m)
		}
		if kind == smLog {
			ls := math.Log(sum)
			for a := range r {
				d[base+a*inner] = T(float64(s[base+a*inner]) - m - ls)
			}
			continue
		}
		for a := range r {
			d[base+a*inner] = T(math.Exp(float64(s[base+a*inner])-m) / sum)
		}
	}
}

func softmaxRow[T elFloat](kind softmaxKind, d, s []T) {
	if len(s) == 0 {
		return
	}
	d = d[:len(s)]
	m, arg := s[0], 0
	for a, v := range s {
		if v > m {
			m, arg = v, a
		}
	}
	exp := math.Exp
	switch kind {
	case smHard:
		clear(d)
		d[arg] = 1
	case smLog:
		sum := 0.0
		for _, v := range s {
			sum += exp(float64(v - m))
		}
		ls := T(math.Log(sum))
		for a, v := range s {
			d[a] = v - m - ls
		}
	default:
		sum := 0.0
		for a, v := range s {
			e := T(exp(float64(v - m)))
			d[a] = e
			sum += float64(e)
		}
		inv := T(1 / sum)
		for a := range d {
			d[a] *= inv
		}
	}
}

func buildSoftmax(kind softmaxKind) Builder {
	return func(n *Node) (Kernel, error) {
		def := int64(-1)
		if n.Opset < 13 {
			def = 1
		}
		axis, err := n.AttrInt("axis", def)
		if err != nil {
			return nil, n.Errorf("%v", err)
		}
		return viaF32(0, func(c *Ctx, in, out []*tensor.Tensor) error {
			x := in[0]
			rank := len(x.Shape)
			if rank == 0 {
				return c.Node().Errorf("input must have rank 1 or more")
			}
			a, err := normAxis(axis, rank)
			if err != nil {
				return c.Node().Errorf("%v", err)
			}
			outer, r, inner := int(prod(x.Shape[:a])), int(x.Shape[a]), int(prod(x.Shape[a+1:]))
			if n.Opset < 13 {
				r, inner = int(prod(x.Shape[a:])), 1
			}
			y, err := c.Alloc(x.Type, x.Shape...)
			if err != nil {
				return err
			}
			out[0] = y
			if y.Len() == 0 {
				return nil
			}
			lines := outer * inner
			grain := max(1, elemGrain/max(r, 1))
			switch s := x.Data.(type) {
			case []float32:
				d := y.Data.([]float32)
				c.Parallel(lines, grain, func(lo, hi int) { softmaxLines(kind, d, s, r, inner, lo, hi) })
			case []float64:
				d := y.Data.([]float64)
				c.Parallel(lines, grain, func(lo, hi int) { softmaxLines(kind, d, s, r, inner, lo, hi) })
			default:
				return typeErr(c, "input", x.Type)
			}
			return nil
		}), nil
	}
}

// argExt writes the index of the max (or min) along the middle axis of an
// (outer, r, inner) layout; last picks the last index among ties.
func (numOf[T]) argExt(dst []int64, src any, outer, r, inner int, isMax, last bool) {
	s := src.([]T)
	for o := range outer {
		for i := range inner {
			base := o*r*inner + i
			best, arg := s[base], 0
			for a := 1; a < r; a++ {
				v := s[base+a*inner]
				if (isMax && (v > best || (last && v == best))) || (!isMax && (v < best || (last && v == best))) {
					best, arg = v, a
				}
			}
			dst[o*inner+i] = int64(arg)
		}
	}
}

func buildArg(isMax bool) Builder {
	return func(n *Node) (Kernel, error) {
		axis, err := n.AttrInt("axis", 0)
		if err != nil {
			return nil, n.Errorf("%v", err)
		}
		keep, err := n.AttrInt("keepdims", 1)
		if err != nil {
			return nil, n.Errorf("%v", err)
		}
		last, err := n.AttrInt("select_last_index", 0)
		if err != nil {
			return nil, n.Errorf("%v", err)
		}
		return viaF32(0, func(c *Ctx, in, out []*tensor.Tensor) error {
			x := in[0]
			k := numFor(x.Type)
			if k == nil {
				return typeErr(c, "input", x.Type)
			}
			a, err := normAxis(axis, len(x.Shape))
			if err != nil {
				return c.Node().Errorf("%v", err)
			}
			if x.Shape[a] == 0 {
				return c.Node().Errorf("cannot take the arg-extreme of an empty axis")
			}
			shape := slices.Clone(x.Shape)
			if keep != 0 {
				shape[a] = 1
			} else {
				shape = slices.Delete(shape, a, a+1)
			}
			y, err := c.Alloc(tensor.Int64, shape...)
			if err != nil {
				return err
			}
			if y.Len() == 0 {
				out[0] = y
				return nil
			}
			k.argExt(y.Data.([]int64), x.Data, int(prod(x.Shape[:a])), int(x.Shape[a]), int(prod(x.Shape[a+1:])), isMax, last != 0)
			out[0] = y
			return nil
		}), nil
	}
}

// topK writes the k largest (or smallest) elements along the middle axis
// of an (outer, r, inner) layout, and their indices; ties go to the lower
// index.
func (numOf[T]) topK(vals any, idx []int64, src any, outer, r, inner, k int, largest, sorted bool) {
	s, v := src.([]T), vals.([]T)
	order := make([]int, r)
	for o := range outer {
		for i := range inner {
			base := o*r*inner + i
			for a := range order {
				order[a] = a
			}
			slices.SortStableFunc(order, func(p, q int) int {
				x, y := s[base+p*inner], s[base+q*inner]
				if largest {
					return cmp.Compare(y, x)
				}
				return cmp.Compare(x, y)
			})
			ob := o*k*inner + i
			for j := range k {
				v[ob+j*inner] = s[base+order[j]*inner]
				idx[ob+j*inner] = int64(order[j])
			}
		}
	}
}

func buildTopK(n *Node) (Kernel, error) {
	axis, err := n.AttrInt("axis", -1)
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	largest, err := n.AttrInt("largest", 1)
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	sorted, err := n.AttrInt("sorted", 1)
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	attrK := int64(-1)
	if n.Opset < 10 {
		if attrK, err = n.AttrInt("k", -1); err != nil {
			return nil, n.Errorf("%v", err)
		}
		if attrK < 0 {
			return nil, n.Errorf("attribute k is required")
		}
	}
	return viaF32(0, func(c *Ctx, in, out []*tensor.Tensor) error {
		x := in[0]
		nk := numFor(x.Type)
		if nk == nil {
			return typeErr(c, "input", x.Type)
		}
		kk := attrK
		if n.Opset >= 10 {
			if len(in) < 2 || in[1] == nil {
				return c.Node().Errorf("input K is missing")
			}
			v, err := intsOf(in[1])
			if err != nil || len(v) != 1 {
				return c.Node().Errorf("K must be a one-element integer tensor")
			}
			kk = v[0]
		}
		a, err := normAxis(axis, len(x.Shape))
		if err != nil {
			return c.Node().Errorf("%v", err)
		}
		if kk < 0 || kk > x.Shape[a] {
			return c.Node().Errorf("K=%d is out of range for axis %d of shape %v", kk, a, x.Shape)
		}
		shape := slices.Clone(x.Shape)
		shape[a] = kk
		vals, err := c.Alloc(x.Type, shape...)
		if err != nil {
			return err
		}
		idx, err := c.Alloc(tensor.Int64, shape...)
		if err != nil {
			return err
		}
		if vals.Len() > 0 {
			nk.topK(vals.Data, idx.Data.([]int64), x.Data, int(prod(x.Shape[:a])), int(x.Shape[a]), int(prod(x.Shape[a+1:])), int(kk), largest != 0, sorted != 0)
		}
		out[0] = vals
		if len(out) > 1 {
			out[1] = idx
		}
		return nil
	}), nil
}

func (numOf[T]) cumSum(dst, src any, outer, r, inner int, exclusive, reverse bool) {
	d, s := dst.([]T), src.([]T)
	for o := range outer {
		for i := range inner {
			base := o*r*inner + i
			var acc T
			for j := range r {
				a := j
				if reverse {
					a = r - 1 - j
				}
				p := base + a*inner
				if exclusive {
					d[p] = acc
					acc += s[p]
				} else {
					acc += s[p]
					d[p] = acc
				}
			}
		}
	}
}

func buildCumSum(n *Node) (Kernel, error) {
	excl, err := n.AttrInt("exclusive", 0)
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	rev, err := n.AttrInt("reverse", 0)
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	return viaF32(0, func(c *Ctx, in, out []*tensor.Tensor) error {
		x := in[0]
		k := numFor(x.Type)
		if k == nil {
			return typeErr(c, "input", x.Type)
		}
		av, err := intsOf(in[1])
		if err != nil || len(av) != 1 {
			return c.Node().Errorf("axis must be a one-element integer tensor")
		}
		a, err := normAxis(av[0], len(x.Shape))
		if err != nil {
			return c.Node().Errorf("%v", err)
		}
		y, err := c.Alloc(x.Type, x.Shape...)
		if err != nil {
			return err
		}
		if y.Len() > 0 {
			k.cumSum(y.Data, x.Data, int(prod(x.Shape[:a])), int(x.Shape[a]), int(prod(x.Shape[a+1:])), excl != 0, rev != 0)
		}
		out[0] = y
		return nil
	}), nil
}
