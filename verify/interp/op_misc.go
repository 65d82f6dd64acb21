package interp

import (
	"fmt"
	"math"
	"strings"

	"github.com/onnx-prom/onnx-prom/onnx/tensor"
)

func init() {
	registerElem("Identity", 1, 1, buildIdentity)
	registerElem("Dropout", 1, 3, buildDropout)
	registerElem("Constant", 0, 0, buildConstant)
	registerElem("ConstantOfShape", 1, 1, buildConstantOfShape)
	registerElem("Shape", 1, 1, buildShape)
	registerElem("Size", 1, 1, buildSize)
	registerElem("Range", 3, 3, buildRange)
	registerElem("EyeLike", 1, 1, buildEyeLike)
	registerElem("OneHot", 3, 3, buildOneHot)
	registerElem("Trilu", 1, 2, buildTrilu)
	registerElem("NonZero", 1, 1, buildNonZero)
	registerElem("Einsum", 1, -1, buildEinsum)
}

func buildIdentity(n *Node) (Kernel, error) {
	return KernelFunc(func(c *Ctx, in, out []*tensor.Tensor) error {
		var err error
		out[0], err = c.CopyOf(in[0])
		return err
	}), nil
}

// buildDropout runs Dropout in inference mode: Y = X, and the mask (when
// asked for) all true (all ones of X's type before opset 10). Training mode
// with a non-zero ratio is random and refused.
func buildDropout(n *Node) (Kernel, error) {
	wantMask := n.Output(1) != nil
	return KernelFunc(func(c *Ctx, in, out []*tensor.Tensor) error {
		x := in[0]
		if n.Opset >= 12 && len(in) > 2 && in[2] != nil {
			tm, ok := in[2].Data.([]bool)
			if !ok || len(tm) != 1 {
				return c.Node().Errorf("training_mode must be a BOOL scalar")
			}
			if tm[0] {
				ratio := 0.5
				if in[1] != nil {
					r, err := in[1].Float64s()
					if err != nil || len(r) != 1 {
						return c.Node().Errorf("ratio must be a float scalar")
					}
					ratio = r[0]
				}
				if ratio != 0 {
					return c.Node().Errorf("training-mode Dropout (ratio %g) is random and not supported", ratio)
				}
			}
		}
		y, err := c.CopyOf(x)
		if err != nil {
			return err
		}
		out[0] = y
		if wantMask && len(out) > 1 {
			if n.Opset < 10 {
				m, err := c.Alloc(x.Type, x.Shape...)
				if err != nil {
					return err
				}
				if err := fillOnes(c, m); err != nil {
					return err
				}
				out[1] = m
				return nil
			}
			m, err := c.Alloc(tensor.Bool, x.Shape...)
			if err != nil {
				return err
			}
			moveOf[bool]{}.fill(m.Data, true)
			out[1] = m
		}
		return nil
	}), nil
}

// fillOnes sets every element of t to one.
func fillOnes(c *Ctx, t *tensor.Tensor) error {
	one, err := makeData(t.Type, 1)
	if err != nil {
		return c.Node().Errorf("%v", err)
	}
	switch d := one.(type) {
	case []bool:
		d[0] = true
	default:
		if k := numFor(t.Type); k != nil {
			k.fromFloat64(one, 1, 1)
		} else if isHalf(t.Type) {
			narrowHalf(one, []float32{1})
		} else {
			return typeErr(c, "output", t.Type)
		}
	}
	moveFor(t.Data).fill(t.Data, cvalOf(one))
	return nil
}

// constantValue decodes the value of a Constant node.
func constantValue(n *Node) (*tensor.Tensor, error) {
	var found []string
	for _, a := range n.Attrs {
		switch a.GetName() {
		case "value", "value_float", "value_floats", "value_int", "value_ints", "value_string", "value_strings", "sparse_value":
			found = append(found, a.GetName())
		}
	}
	if len(found) != 1 {
		return nil, n.Errorf("needs exactly one value attribute, has %v", found)
	}
	a := n.Attr(found[0])
	switch found[0] {
	case "value":
		t, err := n.AttrTensor("value")
		if err != nil {
			return nil, n.Errorf("%v", err)
		}
		return t, nil
	case "value_float":
		return &tensor.Tensor{Type: tensor.Float, Shape: []int64{}, Data: []float32{a.GetF()}}, nil
	case "value_floats":
		v := append([]float32{}, a.GetFloats()...)
		return &tensor.Tensor{Type: tensor.Float, Shape: []int64{int64(len(v))}, Data: v}, nil
	case "value_int":
		return &tensor.Tensor{Type: tensor.Int64, Shape: []int64{}, Data: []int64{a.GetI()}}, nil
	case "value_ints":
		v := append([]int64{}, a.GetInts()...)
		return &tensor.Tensor{Type: tensor.Int64, Shape: []int64{int64(len(v))}, Data: v}, nil
	case "value_string":
		return &tensor.Tensor{Type: tensor.String, Shape: []int64{}, Data: [][]byte{append([]byte{}, a.GetS()...)}}, nil
	case "value_strings":
		var v [][]byte
		for _, s := range a.GetStrings() {
			v = append(v, append([]byte{}, s...))
		}
		return &tensor.Tensor{Type: tensor.String, Shape: []int64{int64(len(v))}, Data: v}, nil
	}
	return nil, n.Errorf("sparse_value is not supported")
}

func buildConstant(n *Node) (Kernel, error) {
	t, err := constantValue(n)
	if err != nil {
		return nil, err
	}
	return KernelFunc(func(c *Ctx, in, out []*tensor.Tensor) error {
		var err error
		out[0], err = c.CopyOf(t, t.Shape...)
		return err
	}), nil
}

func buildConstantOfShape(n *Node) (Kernel, error) {
	val := &tensor.Tensor{Type: tensor.Float, Shape: []int64{1}, Data: []float32{0}}
	if n.HasAttr("value") {
		t, err := n.AttrTensor("value")
		if err != nil {
			return nil, n.Errorf("%v", err)
		}
		if t.Len() != 1 {
			return nil, n.Errorf("value has %d elements, want 1", t.Len())
		}
		val = t
	}
	m := moveFor(val.Data)
	if m == nil {
		return nil, n.Errorf("value type %s is not supported", tensor.Name(val.Type))
	}
	v := cvalOf(val.Data)
	return KernelFunc(func(c *Ctx, in, out []*tensor.Tensor) error {
		shape, err := intsOf(in[0])
		if err != nil {
			return c.Node().Errorf("shape: %v", err)
		}
		if len(in[0].Shape) > 1 {
			return c.Node().Errorf("shape input must be 1-D, is %v", in[0].Shape)
		}
		y, err := c.Alloc(val.Type, append([]int64{}, shape...)...)
		if err != nil {
			return err
		}
		m.fill(y.Data, v)
		out[0] = y
		return nil
	}), nil
}

func buildShape(n *Node) (Kernel, error) {
	start, err := n.AttrInt("start", 0)
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	end := int64(math.MaxInt64)
	if n.HasAttr("end") {
		if end, err = n.AttrInt("end", 0); err != nil {
			return nil, n.Errorf("%v", err)
		}
	}
	return KernelFunc(func(c *Ctx, in, out []*tensor.Tensor) error {
		r := int64(len(in[0].Shape))
		s, e := start, end
		if s < 0 {
			s += r
		}
		if e < 0 {
			e += r
		}
		s, e = min(max(s, 0), r), min(max(e, 0), r)
		e = max(e, s)
		y, err := c.Alloc(tensor.Int64, e-s)
		if err != nil {
			return err
		}
		copy(y.Data.([]int64), in[0].Shape[s:e])
		out[0] = y
		return nil
	}), nil
}

func buildSize(n *Node) (Kernel, error) {
	return KernelFunc(func(c *Ctx, in, out []*tensor.Tensor) error {
		y, err := c.Alloc(tensor.Int64)
		if err != nil {
			return err
		}
		y.Data.([]int64)[0] = int64(in[0].Len())
		out[0] = y
		return nil
	}), nil
}

func (numOf[T]) rangeFill(dst any, start, delta any) {
	d, s, dl := dst.([]T), start.([]T)[0], delta.([]T)[0]
	for i := range d {
		d[i] = s + T(i)*dl
	}
}

func buildRange(n *Node) (Kernel, error) {
	return KernelFunc(func(c *Ctx, in, out []*tensor.Tensor) error {
		st, li, de := in[0], in[1], in[2]
		if st.Type != li.Type || st.Type != de.Type {
			return c.Node().Errorf("start, limit and delta differ in type")
		}
		if st.Len() != 1 || li.Len() != 1 || de.Len() != 1 {
			return c.Node().Errorf("start, limit and delta must be scalars")
		}
		k := numFor(st.Type)
		if k == nil {
			return typeErr(c, "input", st.Type)
		}
		var count int64
		if isIntType(st.Type) {
			v := make([]int64, 3)
			for i, t := range []*tensor.Tensor{st, li, de} {
				x, err := t.Int64s()
				if err != nil {
					return c.Node().Errorf("%v", err)
				}
				v[i] = x[0]
			}
			if v[2] == 0 {
				return c.Node().Errorf("delta is zero")
			}
			// Work in float64 first to refuse absurd sizes without overflow.
			if f := math.Ceil((float64(v[1]) - float64(v[0])) / float64(v[2])); f > maxElements {
				return c.Node().Errorf("range of %g elements is over the limit", f)
			}
			span, step := v[1]-v[0], v[2]
			if (span > 0) == (step > 0) && span != 0 {
				if step < 0 {
					span, step = -span, -step
				}
				count = (span + step - 1) / step
			}
		} else {
			v := make([]float64, 3)
			for i, t := range []*tensor.Tensor{st, li, de} {
				x, err := t.Float64s()
				if err != nil {
					return c.Node().Errorf("%v", err)
				}
				v[i] = x[0]
			}
			if v[2] == 0 || math.IsNaN(v[0]+v[1]+v[2]) {
				return c.Node().Errorf("delta is zero or an input is NaN")
			}
			f := math.Ceil((v[1] - v[0]) / v[2])
			if f > maxElements {
				return c.Node().Errorf("range of %g elements is over the limit", f)
			}
			count = int64(max(f, 0))
		}
		y, err := c.Alloc(st.Type, count)
		if err != nil {
			return err
		}
		k.rangeFill(y.Data, st.Data, de.Data)
		out[0] = y
		return nil
	}), nil
}

func buildEyeLike(n *Node) (Kernel, error) {
	dtype, err := n.AttrInt("dtype", 0)
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	k, err := n.AttrInt("k", 0)
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	return KernelFunc(func(c *Ctx, in, out []*tensor.Tensor) error {
		x := in[0]
		if len(x.Shape) != 2 {
			return c.Node().Errorf("input must be 2-D, is %v", x.Shape)
		}
		dt := x.Type
		if dtype != 0 {
			dt = tensor.DataType(dtype)
		}
		if !castable(dt) || dt == tensor.String {
			return typeErr(c, "output", dt)
		}
		rows, cols := x.Shape[0], x.Shape[1]
		eye, err := c.Zeros(tensor.Float, rows, cols)
		if err != nil {
			return err
		}
		defer c.pool.put(eye)
		e := eye.Data.([]float32)
		for i := range min(rows, int64(len(e))) {
			if j := i + k; j >= 0 && j < cols {
				e[i*cols+j] = 1
			}
		}
		out[0], err = castTensor(c, eye, dt)
		return err
	}), nil
}

func (moveOf[T]) oneHot(dst, values any, idx []int64, depth, outer, inner int64) {
	d, v := dst.([]T), values.([]T)
	off, on := v[0], v[1]
	for i := range d {
		d[i] = off
	}
	for o := range outer {
		for i := range inner {
			x := idx[o*inner+i]
			if x < 0 {
				x += depth
			}
			if x >= 0 && x < depth {
				d[(o*depth+x)*inner+i] = on
			}
		}
	}
}

// indexValues reads a numeric tensor as int64 (floats truncated).
func indexValues(t *tensor.Tensor) ([]int64, error) {
	if isIntType(t.Type) || t.Type == tensor.Bool {
		return t.Int64s()
	}
	f, err := t.Float64s()
	if err != nil {
		return nil, err
	}
	out := make([]int64, len(f))
	for i, v := range f {
		out[i] = int64(v)
	}
	return out, nil
}

func buildOneHot(n *Node) (Kernel, error) {
	axis, err := n.AttrInt("axis", -1)
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	return KernelFunc(func(c *Ctx, in, out []*tensor.Tensor) error {
		it, dt, vt := in[0], in[1], in[2]
		idx, err := indexValues(it)
		if err != nil {
			return c.Node().Errorf("indices: %v", err)
		}
		dv, err := indexValues(dt)
		if err != nil || len(dv) != 1 {
			return c.Node().Errorf("depth must be a one-element numeric tensor")
		}
		depth := dv[0]
		if depth < 1 {
			return c.Node().Errorf("depth %d must be positive", depth)
		}
		if vt.Len() != 2 {
			return c.Node().Errorf("values must have 2 elements, has %d", vt.Len())
		}
		r := len(it.Shape)
		a := axis
		if a < 0 {
			a += int64(r) + 1
		}
		if a < 0 || a > int64(r) {
			return c.Node().Errorf("axis %d is out of range for rank %d", axis, r+1)
		}
		shape := append(append(append([]int64{}, it.Shape[:a]...), depth), it.Shape[a:]...)
		y, err := c.Alloc(vt.Type, shape...)
		if err != nil {
			return err
		}
		m := moveFor(vt.Data)
		if m == nil {
			return typeErr(c, "values", vt.Type)
		}
		m.oneHot(y.Data, vt.Data, idx, depth, prod(it.Shape[:a]), prod(it.Shape[a:]))
		out[0] = y
		return nil
	}), nil
}

func buildTrilu(n *Node) (Kernel, error) {
	upper, err := n.AttrInt("upper", 1)
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	return KernelFunc(func(c *Ctx, in, out []*tensor.Tensor) error {
		x := in[0]
		r := len(x.Shape)
		if r < 2 {
			return c.Node().Errorf("input must have rank 2 or more, is %v", x.Shape)
		}
		var k int64
		if len(in) > 1 && in[1] != nil {
			v, err := intsOf(in[1])
			if err != nil || len(v) != 1 {
				return c.Node().Errorf("k must be a one-element integer tensor")
			}
			k = v[0]
		}
		m := moveFor(x.Data)
		if m == nil {
			return typeErr(c, "input", x.Type)
		}
		y, err := c.Alloc(x.Type, x.Shape...)
		if err != nil {
			return err
		}
		if x.Len() > 0 {
			m.triangle(y.Data, x.Data, x.Shape[r-2], x.Shape[r-1], k, upper != 0)
		}
		out[0] = y
		return nil
	}), nil
}

func buildNonZero(n *Node) (Kernel, error) {
	return KernelFunc(func(c *Ctx, in, out []*tensor.Tensor) error {
		x := in[0]
		vals, err := x.Float64s()
		if err != nil {
			return c.Node().Errorf("%v", err)
		}
		shape := x.Shape
		if len(shape) == 0 {
			shape = []int64{1}
		}
		var pos []int
		for i, v := range vals {
			if v != 0 {
				pos = append(pos, i)
			}
		}
		r := len(shape)
		y, err := c.Alloc(tensor.Int64, int64(r), int64(len(pos)))
		if err != nil {
			return err
		}
		d := y.Data.([]int64)
		st := rowMajor(shape)
		for j, p := range pos {
			for a := range r {
				d[a*len(pos)+j] = int64(p / st[a])
				p %= st[a]
			}
		}
		out[0] = y
		return nil
	}), nil
}

// einsumTerm is one side of an Einsum equation: letters, and where the
// ellipsis sits (-1 when there is none).
type einsumTerm struct {
	labels   []int // letter labels 0..51
	ellipsis int   // position of "..." among the labels
}

func parseEinsumTerm(s string) (einsumTerm, error) {
	t := einsumTerm{ellipsis: -1}
	for i := 0; i < len(s); i++ {
		switch ch := s[i]; {
		case ch >= 'a' && ch <= 'z':
			t.labels = append(t.labels, int(ch-'a')+26)
		case ch >= 'A' && ch <= 'Z':
			t.labels = append(t.labels, int(ch-'A'))
		case ch == '.' && i+2 < len(s) && s[i+1] == '.' && s[i+2] == '.' && t.ellipsis < 0:
			t.ellipsis = len(t.labels)
			i += 2
		default:
			return t, fmt.Errorf("term %q: unexpected %q", s, ch)
		}
	}
	return t, nil
}

// expand lists the term's labels for an operand of the given rank,
// ellipsis dimensions labelled 52+j of the e broadcast dimensions.
func (t einsumTerm) expand(rank, e int) ([]int, error) {
	if t.ellipsis < 0 {
		if rank != len(t.labels) {
			return nil, fmt.Errorf("%d labels for a rank-%d operand", len(t.labels), rank)
		}
		return t.labels, nil
	}
	k := rank - len(t.labels)
	if k < 0 || k > e {
		return nil, fmt.Errorf("%d labels do not fit a rank-%d operand", len(t.labels), rank)
	}
	out := append([]int{}, t.labels[:t.ellipsis]...)
	for j := e - k; j < e; j++ {
		out = append(out, 52+j)
	}
	return append(out, t.labels[t.ellipsis:]...), nil
}

func buildEinsum(n *Node) (Kernel, error) {
	eq, err := n.AttrString("equation", "")
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	eq = strings.ReplaceAll(eq, " ", "")
	lhs, rhs, explicit := strings.Cut(eq, "->")
	var terms []einsumTerm
	for _, s := range strings.Split(lhs, ",") {
		t, err := parseEinsumTerm(s)
		if err != nil {
			return nil, n.Errorf("equation %q: %v", eq, err)
		}
		terms = append(terms, t)
	}
	if len(terms) != len(n.Inputs) {
		return nil, n.Errorf("equation %q has %d operands, the node %d inputs", eq, len(terms), len(n.Inputs))
	}
	var outTerm einsumTerm
	if explicit {
		if outTerm, err = parseEinsumTerm(rhs); err != nil {
			return nil, n.Errorf("equation %q: %v", eq, err)
		}
	} else {
		// Implicit output: the ellipsis, then labels used once, sorted.
		count := map[int]int{}
		outTerm.ellipsis = -1
		for _, t := range terms {
			for _, l := range t.labels {
				count[l]++
			}
			if t.ellipsis >= 0 {
				outTerm.ellipsis = 0
			}
		}
		for l := range 52 {
			if count[l] == 1 {
				outTerm.labels = append(outTerm.labels, l)
			}
		}
	}
	return KernelFunc(func(c *Ctx, in, out []*tensor.Tensor) error {
		e := 0
		for i, t := range terms {
			if t.ellipsis >= 0 {
				e = max(e, len(in[i].Shape)-len(t.labels))
			}
		}
		dims := map[int]int64{}
		labels := make([][]int, len(in))
		for i, t := range terms {
			x := in[i]
			if x.Type != in[0].Type {
				return c.Node().Errorf("operands have types %s and %s", tensor.Name(in[0].Type), tensor.Name(x.Type))
			}
			ls, err := t.expand(len(x.Shape), e)
			if err != nil {
				return c.Node().Errorf("operand %d: %v", i, err)
			}
			labels[i] = ls
			for j, l := range ls {
				d := x.Shape[j]
				old, seen := dims[l]
				switch {
				case !seen || old == 1 && l >= 52:
					dims[l] = d
				case d == old || d == 1 && l >= 52:
				default:
					return c.Node().Errorf("label %d has sizes %d and %d", l, old, d)
				}
			}
		}
		outRank := len(outTerm.labels)
		if outTerm.ellipsis >= 0 {
			outRank += e
		}
		outLabels, err := outTerm.expand(outRank, e)
		if err != nil {
			return c.Node().Errorf("output: %v", err)
		}
		all := append([]int{}, outLabels...)
		inOut := map[int]bool{}
		for _, l := range outLabels {
			if _, ok := dims[l]; !ok {
				return c.Node().Errorf("output label %d appears in no operand", l)
			}
			if inOut[l] {
				return c.Node().Errorf("output label %d is repeated", l)
			}
			inOut[l] = true
		}
		for l := range 52 + e {
			if _, ok := dims[l]; ok && !inOut[l] {
				all = append(all, l)
			}
		}
		shape := make([]int64, len(outLabels))
		for j, l := range outLabels {
			shape[j] = dims[l]
		}
		sizes := make([]int64, len(all))
		for j, l := range all {
			sizes[j] = dims[l]
		}
		iters, err := tensor.NumElements(sizes)
		if err != nil || iters > maxElements {
			return c.Node().Errorf("contraction over %v is too large", sizes)
		}
		// Strides of every label in every operand (summed for repeated
		// labels: a diagonal) and in the output.
		pos := map[int]int{}
		for j, l := range all {
			pos[l] = j
		}
		strides := make([][]int, len(in))
		vals := make([][]float64, len(in))
		for i, x := range in {
			strides[i] = make([]int, len(all))
			st := rowMajor(x.Shape)
			for j, l := range labels[i] {
				if x.Shape[j] != 1 || dims[l] == 1 {
					strides[i][pos[l]] += st[j]
				}
			}
			if vals[i], err = x.Float64s(); err != nil {
				return c.Node().Errorf("%v", err)
			}
		}
		ost := rowMajor(shape)
		outStr := make([]int, len(all))
		for j := range outLabels {
			outStr[j] = ost[j]
		}
		accT, err := c.Zeros(tensor.Double, shape...)
		if err != nil {
			return err
		}
		acc := accT.Data.([]float64)
		idx := make([]int64, len(all))
		offs := make([]int, len(in))
		o := 0
		for it := int64(0); it < iters; it++ {
			p := 1.0
			for i, v := range vals {
				p *= v[offs[i]]
			}
			acc[o] += p
			for j := len(all) - 1; j >= 0; j-- {
				idx[j]++
				o += outStr[j]
				for i := range offs {
					offs[i] += strides[i][j]
				}
				if idx[j] < sizes[j] {
					break
				}
				o -= outStr[j] * int(sizes[j])
				for i := range offs {
					offs[i] -= strides[i][j] * int(sizes[j])
				}
				idx[j] = 0
			}
		}
		if in[0].Type == tensor.Double {
			out[0] = accT
			return nil
		}
		out[0], err = castTensor(c, accT, in[0].Type)
		c.pool.put(accT)
		return err
	}), nil
}
