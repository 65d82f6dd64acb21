package interp

import (
	"bytes"
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/onnx-prom/onnx-prom/onnx/tensor"
	"github.com/x448/float16"
)

// Compress, Unique, ReverseSequence (any element type), and
// MeanVarianceNormalization, Det and the window generators (HannWindow,
// HammingWindow, BlackmanWindow), computed in float64.

func init() {
	Register("", "Compress", buildCompress)
	Register("", "Unique", buildUnique)
	Register("", "ReverseSequence", buildReverseSequence)
	Register("", "MeanVarianceNormalization", buildMVN)
	Register("", "Det", buildDet)
	Register("", "HannWindow", buildWindow(winHann))
	Register("", "HammingWindow", buildWindow(winHamming))
	Register("", "BlackmanWindow", buildWindow(winBlackman))
}

// m2Arity checks that inputs [0, need) are present, at most maxIn are
// given, and that output 0 exists among at most maxOut outputs.
func m2Arity(n *Node, need, maxIn, maxOut int) error {
	if len(n.Inputs) < need || len(n.Inputs) > maxIn {
		return n.Errorf("%s takes %d to %d inputs, got %d", n.OpType, need, maxIn, len(n.Inputs))
	}
	for i := range need {
		if n.Input(i) == nil {
			return n.Errorf("input %d is required", i)
		}
	}
	if len(n.Outputs) < 1 || len(n.Outputs) > maxOut || n.Output(0) == nil {
		return n.Errorf("%s has 1 to %d outputs, got %d", n.OpType, maxOut, len(n.Outputs))
	}
	return nil
}

// m2Axis reads an optional axis attribute.
func m2Axis(n *Node) (axis int64, has bool, err error) {
	if !n.HasAttr("axis") {
		return 0, false, nil
	}
	axis, err = n.AttrInt("axis", 0)
	if err != nil {
		return 0, false, n.Errorf("%v", err)
	}
	return axis, true, nil
}

// m2Split views shape around axis as [outer, dim, inner]; without an axis
// the tensor is taken flat: [1, elements, 1].
func m2Split(shape []int64, axis int64, has bool) (outer, dim, inner, a int, err error) {
	if !has {
		return 1, int(prod(shape)), 1, -1, nil
	}
	if a, err = normAxis(axis, len(shape)); err != nil {
		return 0, 0, 0, 0, err
	}
	return int(prod(shape[:a])), int(shape[a]), int(prod(shape[a+1:])), a, nil
}

// ---- Compress ----

func buildCompress(n *Node) (Kernel, error) {
	if err := m2Arity(n, 2, 2, 1); err != nil {
		return nil, err
	}
	if dt := n.InputType(1); dt != tensor.Undefined && dt != tensor.Bool {
		return nil, n.Errorf("condition has type %s, want BOOL", tensor.Name(dt))
	}
	axis, hasAxis, err := m2Axis(n)
	if err != nil {
		return nil, err
	}
	return KernelFunc(func(c *Ctx, in, out []*tensor.Tensor) error {
		x, ct := in[0], in[1]
		cond, ok := ct.Data.([]bool)
		if !ok || len(ct.Shape) != 1 {
			return fmt.Errorf("condition must be a 1-D BOOL tensor, is %s %v", tensor.Name(ct.Type), ct.Shape)
		}
		m := moveFor(x.Data)
		if m == nil {
			return fmt.Errorf("input type %s is not supported", tensor.Name(x.Type))
		}
		outer, dim, inner, a, err := m2Split(x.Shape, axis, hasAxis)
		if err != nil {
			return err
		}
		var sel []int
		for i, v := range cond {
			if !v {
				continue
			}
			if i >= dim {
				return fmt.Errorf("condition selects index %d, past the %d slices along the axis", i, dim)
			}
			sel = append(sel, i)
		}
		shape := []int64{int64(len(sel))}
		if hasAxis {
			shape = slices.Clone(x.Shape)
			shape[a] = int64(len(sel))
		}
		y, err := c.Alloc(x.Type, shape...)
		if err != nil {
			return err
		}
		if y.Len() > 0 {
			offs := make([]int, 0, outer*len(sel))
			for o := range outer {
				for _, s := range sel {
					offs = append(offs, (o*dim+s)*inner)
				}
			}
			m.gatherRuns(y.Data, x.Data, offs, inner, 0, len(offs))
		}
		out[0] = y
		return nil
	}), nil
}

// ---- Unique ----

// m2FloatCmp orders floats with NaN after everything (NaNs equal), -0 = +0.
func m2FloatCmp[T float32 | float64](a, b T) int {
	an, bn := a != a, b != b
	switch {
	case an && bn:
		return 0
	case an:
		return 1
	case bn:
		return -1
	}
	return cmp.Compare(a, b)
}

func m2OrdCmp[T cmp.Ordered](d []T) func(i, j int) int {
	return func(i, j int) int { return cmp.Compare(d[i], d[j]) }
}

// m2Comparer returns a comparison of elements i and j of a tensor's data.
func m2Comparer(data any) func(i, j int) int {
	switch d := data.(type) {
	case []float32:
		return func(i, j int) int { return m2FloatCmp(d[i], d[j]) }
	case []float64:
		return func(i, j int) int { return m2FloatCmp(d[i], d[j]) }
	case []float16.Float16:
		return func(i, j int) int { return m2FloatCmp(d[i].Float32(), d[j].Float32()) }
	case []tensor.BFloat16:
		return func(i, j int) int { return m2FloatCmp(d[i].Float32(), d[j].Float32()) }
	case []int8:
		return m2OrdCmp(d)
	case []int16:
		return m2OrdCmp(d)
	case []int32:
		return m2OrdCmp(d)
	case []int64:
		return m2OrdCmp(d)
	case []uint8:
		return m2OrdCmp(d)
	case []uint16:
		return m2OrdCmp(d)
	case []uint32:
		return m2OrdCmp(d)
	case []uint64:
		return m2OrdCmp(d)
	case []bool:
		return func(i, j int) int {
			switch {
			case d[i] == d[j]:
				return 0
			case d[j]:
				return -1
			}
			return 1
		}
	case [][]byte:
		return func(i, j int) int { return bytes.Compare(d[i], d[j]) }
	}
	return nil
}

func buildUnique(n *Node) (Kernel, error) {
	if err := m2Arity(n, 1, 1, 4); err != nil {
		return nil, err
	}
	axis, hasAxis, err := m2Axis(n)
	if err != nil {
		return nil, err
	}
	sorted, err := n.AttrInt("sorted", 1)
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	if sorted != 0 && sorted != 1 {
		return nil, n.Errorf("sorted %d is not 0 or 1", sorted)
	}
	want := func(i int) bool { return n.Output(i) != nil }
	return KernelFunc(func(c *Ctx, in, out []*tensor.Tensor) error {
		x := in[0]
		m, elemCmp := moveFor(x.Data), m2Comparer(x.Data)
		if m == nil || elemCmp == nil {
			return fmt.Errorf("input type %s is not supported", tensor.Name(x.Type))
		}
		outer, dim, inner, a, err := m2Split(x.Shape, axis, hasAxis)
		if err != nil {
			return err
		}
		// Slices along the axis compare element by element in row-major
		// order of the other axes.
		sliceCmp := func(p, q int) int {
			for o := range outer {
				base := o * dim * inner
				for k := range inner {
					if r := elemCmp(base+p*inner+k, base+q*inner+k); r != 0 {
						return r
					}
				}
			}
			return 0
		}
		order := make([]int, dim)
		for i := range order {
			order[i] = i
		}
		slices.SortStableFunc(order, sliceCmp)
		// Groups of equal slices in sorted order; the stable sort puts each
		// group's first occurrence first.
		group := make([]int, dim)
		var firsts []int
		var counts []int64
		for i, s := range order {
			if i == 0 || sliceCmp(order[i-1], s) != 0 {
				firsts = append(firsts, s)
				counts = append(counts, 0)
			}
			group[s] = len(firsts) - 1
			counts[len(counts)-1]++
		}
		nu := len(firsts)
		pos := make([]int, nu) // output position of each group
		if sorted == 1 {
			for g := range pos {
				pos[g] = g
			}
		} else {
			byFirst := make([]int, nu)
			for g := range byFirst {
				byFirst[g] = g
			}
			slices.SortFunc(byFirst, func(p, q int) int { return firsts[p] - firsts[q] })
			for i, g := range byFirst {
				pos[g] = i
			}
		}
		src, cnt := make([]int, nu), make([]int64, nu)
		for g, f := range firsts {
			src[pos[g]], cnt[pos[g]] = f, counts[g]
		}
		shape := []int64{int64(nu)}
		if hasAxis {
			shape = slices.Clone(x.Shape)
			shape[a] = int64(nu)
		}
		y, err := c.Alloc(x.Type, shape...)
		if err != nil {
			return err
		}
		if inner > 0 {
			for u, s := range src {
				m.copyBlocks(y.Data, u*inner, nu*inner, x.Data, s*inner, dim*inner, inner, 0, outer)
			}
		}
		out[0] = y
		ints := func(i, n int, f func(j int) int64) error {
			if i >= len(out) || !want(i) {
				return nil
			}
			t, err := c.Alloc(tensor.Int64, int64(n))
			if err != nil {
				return err
			}
			d := t.Data.([]int64)
			for j := range d {
				d[j] = f(j)
			}
			out[i] = t
			return nil
		}
		if err := ints(1, nu, func(j int) int64 { return int64(src[j]) }); err != nil {
			return err
		}
		if err := ints(2, dim, func(j int) int64 { return int64(pos[group[j]]) }); err != nil {
			return err
		}
		return ints(3, nu, func(j int) int64 { return cnt[j] })
	}), nil
}

// ---- ReverseSequence ----

func buildReverseSequence(n *Node) (Kernel, error) {
	if err := m2Arity(n, 2, 2, 1); err != nil {
		return nil, err
	}
	if dt := n.InputType(1); dt != tensor.Undefined && dt != tensor.Int64 {
		return nil, n.Errorf("sequence_lens has type %s, want INT64", tensor.Name(dt))
	}
	ta, err := n.AttrInt("time_axis", 0)
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	ba, err := n.AttrInt("batch_axis", 1)
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	if ta < 0 || ta > 1 || ba < 0 || ba > 1 || ta == ba {
		return nil, n.Errorf("time_axis %d and batch_axis %d must be 0 and 1 in some order", ta, ba)
	}
	return KernelFunc(func(c *Ctx, in, out []*tensor.Tensor) error {
		x, st := in[0], in[1]
		xs := x.Shape
		if len(xs) < 2 {
			return fmt.Errorf("input has shape %v, want rank 2 or more", xs)
		}
		m := moveFor(x.Data)
		if m == nil {
			return fmt.Errorf("input type %s is not supported", tensor.Name(x.Type))
		}
		nb, nt := int(xs[ba]), int(xs[ta])
		lens, err := intsOf(st)
		if err != nil || len(st.Shape) != 1 || len(lens) != nb {
			return fmt.Errorf("sequence_lens must be a 1-D INT64 tensor of %d elements, is %s %v", nb, tensor.Name(st.Type), st.Shape)
		}
		for b, l := range lens {
			if l < 0 || l > int64(nt) {
				return fmt.Errorf("sequence_lens[%d] = %d is out of range [0, %d]", b, l, nt)
			}
		}
		y, err := c.Alloc(x.Type, xs...)
		if err != nil {
			return err
		}
		inner := int(prod(xs[2:]))
		if inner > 0 {
			d1 := int(xs[1])
			offs := make([]int, nb*nt)
			for i := range offs {
				t, b := i/d1, i%d1
				if ta == 1 {
					t, b = b, t
				}
				if l := int(lens[b]); t < l {
					t = l - 1 - t
				}
				if ta == 0 {
					offs[i] = (t*nb + b) * inner
				} else {
					offs[i] = (b*nt + t) * inner
				}
			}
			m.gatherRuns(y.Data, x.Data, offs, inner, 0, len(offs))
		}
		out[0] = y
		return nil
	}), nil
}

// ---- MeanVarianceNormalization ----

// m2Epsilon is what the ONNX function adds to the standard deviation.
const m2Epsilon = 1e-9

func buildMVN(n *Node) (Kernel, error) {
	if err := m2Arity(n, 1, 1, 1); err != nil {
		return nil, err
	}
	if err := cnnCheckFloatInput(n, 0, "X"); err != nil {
		return nil, err
	}
	axes, err := n.AttrInts("axes", []int64{0, 2, 3})
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	return KernelFunc(func(c *Ctx, in, out []*tensor.Tensor) error {
		x := in[0]
		if !cnnIsFloat(x.Type) {
			return fmt.Errorf("X has type %s, want a float type", tensor.Name(x.Type))
		}
		xs := x.Shape
		ax, err := normAxes(axes, len(xs))
		if err != nil {
			return fmt.Errorf("axes %v: %v", axes, err)
		}
		r := len(xs)
		// gstr[d] is the stride of axis d in the table of groups (0 for a
		// reduced axis).
		gstr := make([]int, r)
		groups := 1
		for d := r - 1; d >= 0; d-- {
			if !slices.Contains(ax, d) {
				gstr[d] = groups
				groups *= int(xs[d])
			}
		}
		y, yd, err := f64Out(c, x.Type, xs...)
		if err != nil {
			return err
		}
		if len(yd) == 0 {
			out[0] = y
			return nil
		}
		xd, err := f64In(c, x)
		if err != nil {
			return err
		}
		per := float64(len(xd) / groups)
		walk := func(f func(i, g int)) {
			idx := make([]int, r)
			g := 0
			for i := range xd {
				f(i, g)
				for d := r - 1; d >= 0; d-- {
					idx[d]++
					g += gstr[d]
					if idx[d] < int(xs[d]) {
						break
					}
					g -= gstr[d] * int(xs[d])
					idx[d] = 0
				}
			}
		}
		mean := make([]float64, groups)
		dev := make([]float64, groups)
		walk(func(i, g int) { mean[g] += xd[i] })
		for g := range mean {
			mean[g] /= per
		}
		walk(func(i, g int) {
			v := xd[i] - mean[g]
			dev[g] += v * v
		})
		for g := range dev {
			dev[g] = math.Sqrt(dev[g]/per) + m2Epsilon
		}
		walk(func(i, g int) { yd[i] = (xd[i] - mean[g]) / dev[g] })
		f64Finish(y, yd)
		out[0] = y
		return nil
	}), nil
}

// ---- Det ----

func buildDet(n *Node) (Kernel, error) {
	if err := m2Arity(n, 1, 1, 1); err != nil {
		return nil, err
	}
	if err := cnnCheckFloatInput(n, 0, "X"); err != nil {
		return nil, err
	}
	return KernelFunc(func(c *Ctx, in, out []*tensor.Tensor) error {
		x := in[0]
		xs := x.Shape
		if !cnnIsFloat(x.Type) {
			return fmt.Errorf("X has type %s, want a float type", tensor.Name(x.Type))
		}
		if len(xs) < 2 || xs[len(xs)-1] != xs[len(xs)-2] {
			return fmt.Errorf("X has shape %v, want [..., M, M]", xs)
		}
		y, yd, err := f64Out(c, x.Type, xs[:len(xs)-2]...)
		if err != nil {
			return err
		}
		xd, err := f64In(c, x)
		if err != nil {
			return err
		}
		m := int(xs[len(xs)-1])
		a := make([]float64, m*m)
		for b := range yd {
			copy(a, xd[b*m*m:(b+1)*m*m])
			yd[b] = m2Det(a, m)
		}
		f64Finish(y, yd)
		out[0] = y
		return nil
	}), nil
}

// m2Det is the determinant of the m×m row-major matrix a (destroyed), by
// LU decomposition with partial pivoting.
func m2Det(a []float64, m int) float64 {
	det := 1.0
	for k := range m {
		p := k
		for i := k + 1; i < m; i++ {
			if math.Abs(a[i*m+k]) > math.Abs(a[p*m+k]) {
				p = i
			}
		}
		if p != k {
			for j := k; j < m; j++ {
				a[k*m+j], a[p*m+j] = a[p*m+j], a[k*m+j]
			}
			det = -det
		}
		piv := a[k*m+k]
		det *= piv
		if piv == 0 {
			return det
		}
		for i := k + 1; i < m; i++ {
			f := a[i*m+k] / piv
			if f == 0 {
				continue
			}
			for j := k + 1; j < m; j++ {
				a[i*m+j] -= f * a[k*m+j]
			}
		}
	}
	return det
}

// ---- HannWindow, HammingWindow, BlackmanWindow ----

const (
	winHann = iota
	winHamming
	winBlackman
)

func buildWindow(kind int) Builder {
	return func(n *Node) (Kernel, error) {
		if err := m2Arity(n, 1, 1, 1); err != nil {
			return nil, err
		}
		if dt := n.InputType(0); dt != tensor.Undefined && dt != tensor.Int32 && dt != tensor.Int64 {
			return nil, n.Errorf("size has type %s, want INT32 or INT64", tensor.Name(dt))
		}
		odt, err := n.AttrInt("output_datatype", int64(tensor.Float))
		if err != nil {
			return nil, n.Errorf("%v", err)
		}
		dt := tensor.DataType(odt)
		if !f64Numeric(dt) {
			return nil, n.Errorf("output_datatype %d is not a numeric type", odt)
		}
		periodic, err := n.AttrInt("periodic", 1)
		if err != nil {
			return nil, n.Errorf("%v", err)
		}
		if periodic != 0 && periodic != 1 {
			return nil, n.Errorf("periodic %d is not 0 or 1", periodic)
		}
		return KernelFunc(func(c *Ctx, in, out []*tensor.Tensor) error {
			st := in[0]
			sv, err := intsOf(st)
			if err != nil || len(sv) != 1 {
				return fmt.Errorf("size must be an INT32 or INT64 scalar, is %s %v", tensor.Name(st.Type), st.Shape)
			}
			size := sv[0]
			if size < 0 {
				return fmt.Errorf("size %d is negative", size)
			}
			y, yd, err := f64Out(c, dt, size)
			if err != nil {
				return err
			}
			den := size
			if periodic == 0 {
				den--
			}
			for i := range yd {
				if den == 0 {
					yd[i] = 1 // a one-point symmetric window
					continue
				}
				t := 2 * math.Pi * float64(i) / float64(den)
				switch kind {
				case winHann:
					yd[i] = 0.5 - 0.5*math.Cos(t)
				case winHamming:
					yd[i] = 25.0/46 - 21.0/46*math.Cos(t)
				case winBlackman:
					yd[i] = 0.42 - 0.5*math.Cos(t) + 0.08*math.Cos(2*t)
				}
			}
			f64Finish(y, yd)
			out[0] = y
			return nil
		}), nil
	}
}
