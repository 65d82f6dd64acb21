package interp

import (
	"fmt"
	"math"
	"slices"

	"github.com/onnx-prom/onnx-prom/onnx/tensor"
	"github.com/x448/float16"
)

// moveOf implements the data-movement kernels for any element type.
type moveOf[T any] struct{}

type moveKernels interface {
	strided(pl *bcastPlan, dst, src any, lo, hi int)
	where(pl *bcastPlan, dst any, cond []bool, x, y any, lo, hi int)
	copyBlocks(dst any, dOff, dStride int, src any, sOff, sStride, blk, lo, hi int)
	gatherRuns(dst, src any, offs []int, blk, lo, hi int)
	scatterRuns(dst, upd any, offs []int, blk int)
	pad(dst, src any, maps [][]int, inStr []int, cval any, lo, hi int)
	fill(dst, v any)
	triangle(dst, src any, rows, cols, k int64, upper bool)
	oneHot(dst, values any, idx []int64, depth, outer, inner int64)
}

// moveFor picks the kernels by the Go type of a tensor's data.
func moveFor(data any) moveKernels {
	switch data.(type) {
	case []float32:
		return moveOf[float32]{}
	case []float64:
		return moveOf[float64]{}
	case []float16.Float16:
		return moveOf[float16.Float16]{}
	case []tensor.BFloat16:
		return moveOf[tensor.BFloat16]{}
	case []int8:
		return moveOf[int8]{}
	case []int16:
		return moveOf[int16]{}
	case []int32:
		return moveOf[int32]{}
	case []int64:
		return moveOf[int64]{}
	case []uint8:
		return moveOf[uint8]{}
	case []uint16:
		return moveOf[uint16]{}
	case []uint32:
		return moveOf[uint32]{}
	case []uint64:
		return moveOf[uint64]{}
	case []bool:
		return moveOf[bool]{}
	case [][]byte:
		return moveOf[[]byte]{}
	}
	return nil
}

// copyBlocks copies, for o in [lo, hi), blk elements from src at
// sOff+o*sStride to dst at dOff+o*dStride.
func (moveOf[T]) copyBlocks(dst any, dOff, dStride int, src any, sOff, sStride, blk, lo, hi int) {
	d, s := dst.([]T), src.([]T)
	for o := lo; o < hi; o++ {
		copy(d[dOff+o*dStride:dOff+o*dStride+blk], s[sOff+o*sStride:sOff+o*sStride+blk])
	}
}

// gatherRuns copies the blocks of blk elements starting at offs[lo:hi] in
// src to consecutive blocks of dst.
func (moveOf[T]) gatherRuns(dst, src any, offs []int, blk, lo, hi int) {
	d, s := dst.([]T), src.([]T)
	if blk == 1 {
		for i := lo; i < hi; i++ {
			d[i] = s[offs[i]]
		}
		return
	}
	for i := lo; i < hi; i++ {
		copy(d[i*blk:(i+1)*blk], s[offs[i]:offs[i]+blk])
	}
}

// scatterRuns writes consecutive blocks of upd to dst at offs, in order
// (later writes win).
func (moveOf[T]) scatterRuns(dst, upd any, offs []int, blk int) {
	d, u := dst.([]T), upd.([]T)
	for i, o := range offs {
		copy(d[o:o+blk], u[i*blk:(i+1)*blk])
	}
}

func (moveOf[T]) fill(dst, v any) {
	d, x := dst.([]T), v.(T)
	for i := range d {
		d[i] = x
	}
}

// pad fills dst (rank r) row by row: maps[j][i] is the input coordinate of
// output coordinate i along axis j, or -1 for the constant cval.
func (moveOf[T]) pad(dst, src any, maps [][]int, inStr []int, cval any, lo, hi int) {
	d, s, cv := dst.([]T), src.([]T), cval.(T)
	r := len(maps)
	inner := len(maps[r-1])
	if inner == 0 {
		return
	}
	idx := make([]int, r)
	for row := lo; row < hi; row++ {
		rem := row
		off, ok := 0, true
		for j := r - 2; j >= 0; j-- {
			idx[j] = rem % len(maps[j])
			rem /= len(maps[j])
			m := maps[j][idx[j]]
			if m < 0 {
				ok = false
			}
			off += m * inStr[j]
		}
		out := d[row*inner : (row+1)*inner]
		if !ok {
			for i := range out {
				out[i] = cv
			}
			continue
		}
		for i, m := range maps[r-1] {
			if m < 0 {
				out[i] = cv
			} else {
				out[i] = s[off+m]
			}
		}
	}
}

// triangle copies the upper (or lower) triangle of each rows x cols
// matrix of src, relative to diagonal k, zeroing the rest.
func (moveOf[T]) triangle(dst, src any, rows, cols, k int64, upper bool) {
	d, s := dst.([]T), src.([]T)
	var zero T
	for i := range int64(len(s)) {
		j := i % cols
		r := (i / cols) % rows
		keep := j-r >= k
		if !upper {
			keep = j-r <= k
		}
		if keep {
			d[i] = s[i]
		} else {
			d[i] = zero
		}
	}
}

// normAxis maps a possibly negative axis into [0, rank).
func normAxis(axis int64, rank int) (int, error) {
	a := axis
	if a < 0 {
		a += int64(rank)
	}
	if a < 0 || a >= int64(rank) {
		return 0, fmt.Errorf("axis %d is out of range for rank %d", axis, rank)
	}
	return int(a), nil
}

// normAxes normalizes a list of axes, refusing duplicates.
func normAxes(axes []int64, rank int) ([]int, error) {
	out := make([]int, len(axes))
	seen := make([]bool, rank)
	for i, a := range axes {
		x, err := normAxis(a, rank)
		if err != nil {
			return nil, err
		}
		if seen[x] {
			return nil, fmt.Errorf("axis %d is repeated in %v", a, axes)
		}
		seen[x] = true
		out[i] = x
	}
	return out, nil
}

// intsOf reads an INT32 or INT64 tensor (shape, axes, indices ...).
func intsOf(t *tensor.Tensor) ([]int64, error) {
	switch d := t.Data.(type) {
	case []int64:
		return d, nil
	case []int32:
		out := make([]int64, len(d))
		for i, v := range d {
			out[i] = int64(v)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%s tensor where INT32 or INT64 is required", tensor.Name(t.Type))
}

// rowMajor returns the element strides of shape.
func rowMajor(shape []int64) []int {
	st := make([]int, len(shape))
	acc := 1
	for j := len(shape) - 1; j >= 0; j-- {
		st[j] = acc
		acc *= int(shape[j])
	}
	return st
}

// prod multiplies dimensions, saturating at MaxInt64 (an empty tensor may
// have enormous other dimensions).
func prod(dims []int64) int64 {
	p := int64(1)
	for _, d := range dims {
		if d == 0 {
			return 0
		}
		if p > math.MaxInt64/max(d, 1) {
			p = math.MaxInt64
			continue
		}
		p *= d
	}
	return p
}

// axesSource reads axes from an attribute (before opset `since`) or from
// input i (from then on): the attribute's axes, or whether the node has
// the axes input.
func axesSource(n *Node, since int64, attr string, i int) (attrAxes []int64, fromInput bool, err error) {
	if n.Opset < since {
		v, err := n.AttrInts(attr, nil)
		if err != nil {
			return nil, false, n.Errorf("%v", err)
		}
		return v, false, nil
	}
	return nil, n.Input(i) != nil, nil
}

// runAxes returns the axes of a node that takes them as attribute or input.
func runAxes(c *Ctx, attrAxes []int64, fromInput bool, in []*tensor.Tensor, i int) ([]int64, error) {
	if !fromInput || i >= len(in) || in[i] == nil {
		return attrAxes, nil
	}
	v, err := intsOf(in[i])
	if err != nil {
		return nil, c.Node().Errorf("axes: %v", err)
	}
	return v, nil
}

// stridedCopy allocates an output of plan pl's shape reshaped to shape
// (nil: pl.out) and fills it from src through pl.
func stridedCopy(c *Ctx, pl *bcastPlan, src *tensor.Tensor, shape []int64) (*tensor.Tensor, error) {
	if shape == nil {
		shape = pl.out
	}
	m := moveFor(src.Data)
	if m == nil {
		return nil, typeErr(c, "input", src.Type)
	}
	y, err := c.Alloc(src.Type, shape...)
	if err != nil {
		return nil, err
	}
	pl.run(c, func(lo, hi int) { m.strided(pl, y.Data, src.Data, lo, hi) })
	return y, nil
}

// permutePlan plans reading a tensor of the given shape with its axes
// permuted (output axis j is input axis perm[j]).
func permutePlan(shape []int64, perm []int) (*bcastPlan, error) {
	st := rowMajor(shape)
	out := make([]int64, len(perm))
	ps := make([]int, len(perm))
	for j, p := range perm {
		out[j] = shape[p]
		ps[j] = st[p]
	}
	return stridedPlan(out, ps)
}

func init() {
	registerElem("Reshape", 2, 2, buildReshape)
	registerElem("Flatten", 1, 1, buildFlatten)
	registerElem("Squeeze", 1, 2, buildSqueeze)
	registerElem("Unsqueeze", 1, 2, buildUnsqueeze)
	registerElem("Transpose", 1, 1, buildTranspose)
	registerElem("Concat", 1, -1, buildConcat)
	registerElem("Split", 1, 2, buildSplit)
	registerElem("Slice", 1, 5, buildSlice)
	registerElem("Gather", 2, 2, buildGather)
	registerElem("GatherElements", 2, 2, buildGatherElements)
	registerElem("GatherND", 2, 2, buildGatherND)
	registerElem("ScatterElements", 3, 3, buildScatterElements)
	registerElem("Scatter", 3, 3, buildScatterElements)
	registerElem("ScatterND", 3, 3, buildScatterND)
	registerElem("Expand", 2, 2, buildExpand)
	registerElem("Tile", 2, 2, buildTile)
	registerElem("Pad", 1, 4, buildPad)
	registerElem("DepthToSpace", 1, 1, buildDepthToSpace)
	registerElem("SpaceToDepth", 1, 1, buildSpaceToDepth)
}

// reshapeTo applies Reshape's rules (0 copies the input dimension unless
// allowzero, -1 is inferred) to spec for an input of shape in.
func reshapeTo(in, spec []int64, allowZero bool) ([]int64, error) {
	total, err := tensor.NumElements(in)
	if err != nil {
		return nil, err
	}
	out := make([]int64, len(spec))
	infer := -1
	known := int64(1)
	for i, d := range spec {
		switch {
		case d == -1:
			if infer >= 0 {
				return nil, fmt.Errorf("shape %v has more than one -1", spec)
			}
			infer = i
			continue
		case d == 0 && !allowZero:
			if i >= len(in) {
				return nil, fmt.Errorf("shape %v copies dimension %d of a rank-%d input", spec, i, len(in))
			}
			d = in[i]
		case d < 0:
			return nil, fmt.Errorf("shape %v has a negative dimension", spec)
		}
		out[i] = d
		if d != 0 && known > math.MaxInt64/d {
			return nil, fmt.Errorf("shape %v overflows", spec)
		}
		known *= d
	}
	if infer >= 0 {
		if known == 0 || total%known != 0 {
			return nil, fmt.Errorf("cannot reshape %v (%d elements) to %v", in, total, spec)
		}
		out[infer] = total / known
		known = total
	}
	if known != total {
		return nil, fmt.Errorf("cannot reshape %v (%d elements) to %v", in, total, spec)
	}
	return out, nil
}

func buildReshape(n *Node) (Kernel, error) {
	az, err := n.AttrInt("allowzero", 0)
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	return KernelFunc(func(c *Ctx, in, out []*tensor.Tensor) error {
		if len(in) < 2 || in[1] == nil {
			return c.Node().Errorf("shape input is missing")
		}
		spec, err := intsOf(in[1])
		if err != nil {
			return c.Node().Errorf("shape: %v", err)
		}
		shape, err := reshapeTo(in[0].Shape, spec, az != 0)
		if err != nil {
			return c.Node().Errorf("%v", err)
		}
		out[0], err = c.CopyOf(in[0], shape...)
		return err
	}), nil
}

func buildFlatten(n *Node) (Kernel, error) {
	axis, err := n.AttrInt("axis", 1)
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	return KernelFunc(func(c *Ctx, in, out []*tensor.Tensor) error {
		x := in[0]
		r := int64(len(x.Shape))
		a := axis
		if a < 0 {
			a += r
		}
		if a < 0 || a > r {
			return c.Node().Errorf("axis %d is out of range for rank %d", axis, r)
		}
		var err error
		out[0], err = c.CopyOf(x, prod(x.Shape[:a]), prod(x.Shape[a:]))
		return err
	}), nil
}

func buildSqueeze(n *Node) (Kernel, error) {
	attrAxes, fromInput, err := axesSource(n, 13, "axes", 1)
	if err != nil {
		return nil, err
	}
	return KernelFunc(func(c *Ctx, in, out []*tensor.Tensor) error {
		x := in[0]
		axes, err := runAxes(c, attrAxes, fromInput, in, 1)
		if err != nil {
			return err
		}
		drop := make([]bool, len(x.Shape))
		if axes == nil {
			for i, d := range x.Shape {
				drop[i] = d == 1
			}
		} else {
			ax, err := normAxes(axes, len(x.Shape))
			if err != nil {
				return c.Node().Errorf("%v", err)
			}
			for _, a := range ax {
				if x.Shape[a] != 1 {
					return c.Node().Errorf("cannot squeeze axis %d of shape %v", a, x.Shape)
				}
				drop[a] = true
			}
		}
		shape := []int64{}
		for i, d := range x.Shape {
			if !drop[i] {
				shape = append(shape, d)
			}
		}
		out[0], err = c.CopyOf(x, shape...)
		return err
	}), nil
}

func buildUnsqueeze(n *Node) (Kernel, error) {
	attrAxes, fromInput, err := axesSource(n, 13, "axes", 1)
	if err != nil {
		return nil, err
	}
	if n.Opset < 13 && attrAxes == nil {
		return nil, n.Errorf("attribute axes is required")
	}
	return KernelFunc(func(c *Ctx, in, out []*tensor.Tensor) error {
		x := in[0]
		axes, err := runAxes(c, attrAxes, fromInput, in, 1)
		if err != nil {
			return err
		}
		if axes == nil {
			return c.Node().Errorf("axes are required")
		}
		r := len(x.Shape) + len(axes)
		ax, err := normAxes(axes, r)
		if err != nil {
			return c.Node().Errorf("%v", err)
		}
		shape := make([]int64, r)
		for _, a := range ax {
			shape[a] = -1
		}
		j := 0
		for i := range shape {
			if shape[i] == -1 {
				shape[i] = 1
			} else {
				shape[i] = x.Shape[j]
				j++
			}
		}
		out[0], err = c.CopyOf(x, shape...)
		return err
	}), nil
}

func buildTranspose(n *Node) (Kernel, error) {
	perm, err := n.AttrInts("perm", nil)
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	return KernelFunc(func(c *Ctx, in, out []*tensor.Tensor) error {
		x := in[0]
		r := len(x.Shape)
		p := make([]int, r)
		if perm == nil {
			for i := range p {
				p[i] = r - 1 - i
			}
		} else {
			if len(perm) != r {
				return c.Node().Errorf("perm %v for a rank-%d input", perm, r)
			}
			ax, err := normAxes(perm, r)
			if err != nil {
				return c.Node().Errorf("perm: %v", err)
			}
			p = ax
		}
		pl, err := permutePlan(x.Shape, p)
		if err != nil {
			return c.Node().Errorf("%v", err)
		}
		out[0], err = stridedCopy(c, pl, x, nil)
		return err
	}), nil
}

func buildConcat(n *Node) (Kernel, error) {
	if !n.HasAttr("axis") {
		return nil, n.Errorf("attribute axis is required")
	}
	axis, err := n.AttrInt("axis", 0)
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	return KernelFunc(func(c *Ctx, in, out []*tensor.Tensor) error {
		if len(in) == 0 || in[0] == nil {
			return c.Node().Errorf("needs at least one input")
		}
		x0 := in[0]
		r := len(x0.Shape)
		a, err := normAxis(axis, r)
		if err != nil {
			return c.Node().Errorf("%v", err)
		}
		shape := slices.Clone(x0.Shape)
		shape[a] = 0
		for i, t := range in {
			if t == nil || t.Type != x0.Type || len(t.Shape) != r {
				return c.Node().Errorf("input %d does not match input 0 in type or rank", i)
			}
			for j, d := range t.Shape {
				if j != a && d != x0.Shape[j] {
					return c.Node().Errorf("input %d has shape %v, input 0 %v", i, t.Shape, x0.Shape)
				}
			}
			shape[a] += t.Shape[a]
		}
		y, err := c.Alloc(x0.Type, shape...)
		if err != nil {
			return err
		}
		m := moveFor(x0.Data)
		if m == nil {
			return typeErr(c, "input", x0.Type)
		}
		outer := int(prod(shape[:a]))
		inner := int(prod(shape[a+1:]))
		dStride := int(shape[a]) * inner
		off := 0
		for _, t := range in {
			blk := int(t.Shape[a]) * inner
			if blk > 0 {
				c.Parallel(outer, max(1, elemGrain/blk), func(lo, hi int) {
					m.copyBlocks(y.Data, off, dStride, t.Data, 0, blk, blk, lo, hi)
				})
			}
			off += blk
		}
		out[0] = y
		return nil
	}), nil
}

func buildSplit(n *Node) (Kernel, error) {
	axis, err := n.AttrInt("axis", 0)
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	var attrSplit []int64
	if n.Opset < 13 {
		if attrSplit, err = n.AttrInts("split", nil); err != nil {
			return nil, n.Errorf("%v", err)
		}
	}
	numOut, err := n.AttrInt("num_outputs", 0)
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	if numOut != 0 && numOut != int64(len(n.Outputs)) {
		return nil, n.Errorf("num_outputs is %d but the node has %d outputs", numOut, len(n.Outputs))
	}
	nOut := len(n.Outputs)
	return KernelFunc(func(c *Ctx, in, out []*tensor.Tensor) error {
		x := in[0]
		a, err := normAxis(axis, len(x.Shape))
		if err != nil {
			return c.Node().Errorf("%v", err)
		}
		dim := x.Shape[a]
		split := attrSplit
		if len(in) > 1 && in[1] != nil {
			if split, err = intsOf(in[1]); err != nil {
				return c.Node().Errorf("split: %v", err)
			}
		}
		if split == nil {
			split = make([]int64, nOut)
			if numOut != 0 {
				chunk := (dim + int64(nOut) - 1) / int64(nOut)
				rest := dim
				for i := range split {
					split[i] = min(chunk, rest)
					rest -= split[i]
				}
			} else {
				if dim%int64(nOut) != 0 {
					return c.Node().Errorf("dimension %d of axis %d does not split evenly into %d outputs", dim, a, nOut)
				}
				for i := range split {
					split[i] = dim / int64(nOut)
				}
			}
		}
		if len(split) != nOut {
			return c.Node().Errorf("split %v has %d parts for %d outputs", split, len(split), nOut)
		}
		sum := int64(0)
		for _, s := range split {
			if s < 0 {
				return c.Node().Errorf("split %v has a negative part", split)
			}
			sum += s
		}
		if sum != dim {
			return c.Node().Errorf("split %v does not add up to dimension %d", split, dim)
		}
		m := moveFor(x.Data)
		if m == nil {
			return typeErr(c, "input", x.Type)
		}
		outer := int(prod(x.Shape[:a]))
		inner := int(prod(x.Shape[a+1:]))
		sStride := int(dim) * inner
		start := 0
		for i, s := range split {
			blk := int(s) * inner
			if i < len(out) && c.Node().Output(i) != nil {
				shape := slices.Clone(x.Shape)
				shape[a] = s
				y, err := c.Alloc(x.Type, shape...)
				if err != nil {
					return err
				}
				if blk > 0 {
					m.copyBlocks(y.Data, 0, blk, x.Data, start, sStride, blk, 0, outer)
				}
				out[i] = y
			}
			start += blk
		}
		return nil
	}), nil
}

// sliceParams clamps one axis's start, end, step (ONNX Slice rules) and
// returns the first index and the count.
func sliceParams(start, end, step, dim int64) (first, count int64) {
	if start < 0 {
		start += dim
	}
	if end < 0 {
		end += dim
	}
	if step > 0 {
		start = min(max(start, 0), dim)
		end = min(max(end, 0), dim)
		if end > start {
			count = (end-start-1)/step + 1 // no overflow for huge steps
		}
	} else {
		start = min(max(start, 0), dim-1)
		end = min(max(end, -1), dim-1)
		if start > end {
			count = (start-end-1)/-step + 1 // -MinInt64 wraps, giving 1: right
		}
	}
	return start, count
}

func buildSlice(n *Node) (Kernel, error) {
	var aStarts, aEnds, aAxes []int64
	if n.Opset < 10 {
		var err error
		if aStarts, err = n.AttrInts("starts", nil); err != nil {
			return nil, n.Errorf("%v", err)
		}
		if aEnds, err = n.AttrInts("ends", nil); err != nil {
			return nil, n.Errorf("%v", err)
		}
		if aAxes, err = n.AttrInts("axes", nil); err != nil {
			return nil, n.Errorf("%v", err)
		}
		if aStarts == nil || aEnds == nil {
			return nil, n.Errorf("attributes starts and ends are required")
		}
	} else if n.Input(1) == nil || n.Input(2) == nil {
		return nil, n.Errorf("inputs starts and ends are required")
	}
	return KernelFunc(func(c *Ctx, in, out []*tensor.Tensor) error {
		x := in[0]
		starts, ends, axes := aStarts, aEnds, aAxes
		var steps []int64
		if n.Opset >= 10 {
			vals := make([][]int64, 4)
			for i := 1; i <= 4; i++ {
				if i < len(in) && in[i] != nil {
					v, err := intsOf(in[i])
					if err != nil {
						return c.Node().Errorf("input %d: %v", i, err)
					}
					vals[i-1] = v
				}
			}
			starts, ends, axes, steps = vals[0], vals[1], vals[2], vals[3]
		}
		if len(starts) != len(ends) {
			return c.Node().Errorf("starts %v and ends %v differ in length", starts, ends)
		}
		r := len(x.Shape)
		if axes == nil {
			if len(starts) > r {
				return c.Node().Errorf("%d starts for a rank-%d input", len(starts), r)
			}
			axes = make([]int64, len(starts))
			for i := range axes {
				axes[i] = int64(i)
			}
		}
		if len(axes) != len(starts) || (steps != nil && len(steps) != len(starts)) {
			return c.Node().Errorf("starts, ends, axes and steps differ in length")
		}
		ax, err := normAxes(axes, r)
		if err != nil {
			return c.Node().Errorf("%v", err)
		}
		shape := slices.Clone(x.Shape)
		st := rowMajor(x.Shape)
		strides := slices.Clone(st)
		base := 0
		for i, a := range ax {
			step := int64(1)
			if steps != nil {
				step = steps[i]
			}
			if step == 0 {
				return c.Node().Errorf("step 0 on axis %d", a)
			}
			first, count := sliceParams(starts[i], ends[i], step, x.Shape[a])
			shape[a] = count
			strides[a] = 0
			if count > 1 {
				strides[a] = st[a] * int(step)
			}
			if count > 0 {
				base += int(first) * st[a]
			}
		}
		pl, err := stridedPlan(shape, strides)
		if err != nil {
			return c.Node().Errorf("%v", err)
		}
		pl.base[0] = base
		out[0], err = stridedCopy(c, pl, x, shape)
		return err
	}), nil
}

// checkIndex normalizes a possibly negative index into [0, dim).
func checkIndex(c *Ctx, v, dim int64) (int, error) {
	if v < 0 {
		v += dim
	}
	if v < 0 || v >= dim {
		return 0, c.Node().Errorf("index %d is out of range for a dimension of %d", v, dim)
	}
	return int(v), nil
}

func buildGather(n *Node) (Kernel, error) {
	axis, err := n.AttrInt("axis", 0)
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	return KernelFunc(func(c *Ctx, in, out []*tensor.Tensor) error {
		x, it := in[0], in[1]
		a, err := normAxis(axis, len(x.Shape))
		if err != nil {
			return c.Node().Errorf("%v", err)
		}
		idx, err := intsOf(it)
		if err != nil {
			return c.Node().Errorf("indices: %v", err)
		}
		shape := slices.Concat(x.Shape[:a], it.Shape, x.Shape[a+1:])
		outer := int(prod(x.Shape[:a]))
		inner := int(prod(x.Shape[a+1:]))
		dim := x.Shape[a]
		y, err := c.Alloc(x.Type, shape...)
		if err != nil {
			return err
		}
		out[0] = y
		if y.Len() == 0 {
			return nil
		}
		offs := make([]int, outer*len(idx))
		for j, v := range idx {
			k, err := checkIndex(c, v, dim)
			if err != nil {
				return err
			}
			for o := range outer {
				offs[o*len(idx)+j] = (o*int(dim) + k) * inner
			}
		}
		m := moveFor(x.Data)
		if m == nil {
			return typeErr(c, "input", x.Type)
		}
		c.Parallel(len(offs), max(1, elemGrain/inner), func(lo, hi int) { m.gatherRuns(y.Data, x.Data, offs, inner, lo, hi) })
		return nil
	}), nil
}

// elementOffsets maps each position of an indices tensor (shape ishape)
// to the flat offset in data (shape dshape) with the coordinate along
// axis replaced by the index value.
func elementOffsets(c *Ctx, dshape, ishape []int64, idx []int64, axis int) ([]int, error) {
	if len(ishape) != len(dshape) {
		return nil, c.Node().Errorf("indices have rank %d, data %d", len(ishape), len(dshape))
	}
	for j := range ishape {
		if j != axis && ishape[j] > dshape[j] {
			return nil, c.Node().Errorf("indices shape %v exceeds data shape %v", ishape, dshape)
		}
	}
	dst := rowMajor(dshape)
	offs := make([]int, len(idx))
	coord := make([]int64, len(ishape))
	for i, v := range idx {
		k, err := checkIndex(c, v, dshape[axis])
		if err != nil {
			return nil, err
		}
		o := 0
		for j, x := range coord {
			if j == axis {
				x = int64(k)
			}
			o += int(x) * dst[j]
		}
		offs[i] = o
		for j := len(coord) - 1; j >= 0; j-- {
			coord[j]++
			if coord[j] < ishape[j] {
				break
			}
			coord[j] = 0
		}
	}
	return offs, nil
}

func buildGatherElements(n *Node) (Kernel, error) {
	axis, err := n.AttrInt("axis", 0)
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	return KernelFunc(func(c *Ctx, in, out []*tensor.Tensor) error {
		x, it := in[0], in[1]
		a, err := normAxis(axis, len(x.Shape))
		if err != nil {
			return c.Node().Errorf("%v", err)
		}
		idx, err := intsOf(it)
		if err != nil {
			return c.Node().Errorf("indices: %v", err)
		}
		offs, err := elementOffsets(c, x.Shape, it.Shape, idx, a)
		if err != nil {
			return err
		}
		m := moveFor(x.Data)
		if m == nil {
			return typeErr(c, "input", x.Type)
		}
		y, err := c.Alloc(x.Type, it.Shape...)
		if err != nil {
			return err
		}
		m.gatherRuns(y.Data, x.Data, offs, 1, 0, len(offs))
		out[0] = y
		return nil
	}), nil
}

// ndOffsets resolves GatherND/ScatterND index tuples: it returns the flat
// data offset of each tuple, the block size each addresses and the shape
// of the tuple grid (indices shape without its last dimension).
func ndOffsets(c *Ctx, dshape, ishape []int64, idx []int64, batch int) (offs []int, blk int, err error) {
	q, r := len(ishape), len(dshape)
	if q < 1 {
		return nil, 0, c.Node().Errorf("indices must have rank 1 or more")
	}
	k := int(ishape[q-1])
	if batch < 0 || batch >= q || batch >= r || k < 1 || batch+k > r {
		return nil, 0, c.Node().Errorf("indices shape %v does not fit data shape %v with batch_dims %d", ishape, dshape, batch)
	}
	for j := range batch {
		if ishape[j] != dshape[j] {
			return nil, 0, c.Node().Errorf("batch dimensions of indices %v and data %v differ", ishape, dshape)
		}
	}
	st := rowMajor(dshape)
	blk = int(prod(dshape[batch+k:]))
	tuples := int(prod(ishape[:q-1]))
	perBatch := int(prod(ishape[batch : q-1]))
	batchStride := int(prod(dshape[batch:]))
	offs = make([]int, tuples)
	for t := range tuples {
		o := (t / max(perBatch, 1)) * batchStride
		for j := range k {
			v, err := checkIndex(c, idx[t*k+j], dshape[batch+j])
			if err != nil {
				return nil, 0, err
			}
			o += v * st[batch+j]
		}
		offs[t] = o
	}
	return offs, blk, nil
}

func buildGatherND(n *Node) (Kernel, error) {
	bd, err := n.AttrInt("batch_dims", 0)
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	return KernelFunc(func(c *Ctx, in, out []*tensor.Tensor) error {
		x, it := in[0], in[1]
		idx, err := intsOf(it)
		if err != nil {
			return c.Node().Errorf("indices: %v", err)
		}
		offs, blk, err := ndOffsets(c, x.Shape, it.Shape, idx, int(bd))
		if err != nil {
			return err
		}
		q := len(it.Shape)
		shape := slices.Concat(it.Shape[:q-1], x.Shape[int(bd)+int(it.Shape[q-1]):])
		m := moveFor(x.Data)
		if m == nil {
			return typeErr(c, "input", x.Type)
		}
		y, err := c.Alloc(x.Type, shape...)
		if err != nil {
			return err
		}
		m.gatherRuns(y.Data, x.Data, offs, blk, 0, len(offs))
		out[0] = y
		return nil
	}), nil
}

// scatterReduction parses the reduction attribute of ScatterElements and
// ScatterND.
func scatterReduction(n *Node) (reduceOp, bool, error) {
	s, err := n.AttrString("reduction", "none")
	if err != nil {
		return 0, false, n.Errorf("%v", err)
	}
	switch s {
	case "none":
		return 0, false, nil
	case "add":
		return rSum, true, nil
	case "mul":
		return rProd, true, nil
	case "max":
		return rMax, true, nil
	case "min":
		return rMin, true, nil
	}
	return 0, false, n.Errorf("reduction %q is not supported", s)
}

// applyScatter copies data to a new output and writes updates at offs.
func applyScatter(c *Ctx, data, upd *tensor.Tensor, offs []int, blk int, op reduceOp, reduce bool) (*tensor.Tensor, error) {
	if upd.Type != data.Type {
		return nil, c.Node().Errorf("updates have type %s, data %s", tensor.Name(upd.Type), tensor.Name(data.Type))
	}
	if upd.Len() != len(offs)*blk {
		return nil, c.Node().Errorf("updates have %d elements, want %d", upd.Len(), len(offs)*blk)
	}
	y, err := c.CopyOf(data)
	if err != nil {
		return nil, err
	}
	if reduce {
		k := numFor(data.Type)
		if k == nil {
			return nil, typeErr(c, "data", data.Type)
		}
		k.scatterReduce(op, y.Data, upd.Data, offs, blk)
		return y, nil
	}
	m := moveFor(data.Data)
	if m == nil {
		return nil, typeErr(c, "data", data.Type)
	}
	m.scatterRuns(y.Data, upd.Data, offs, blk)
	return y, nil
}

func buildScatterElements(n *Node) (Kernel, error) {
	axis, err := n.AttrInt("axis", 0)
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	op, reduce, err := scatterReduction(n)
	if err != nil {
		return nil, err
	}
	return viaF32(0, func(c *Ctx, in, out []*tensor.Tensor) error {
		x, it, u := in[0], in[1], in[2]
		a, err := normAxis(axis, len(x.Shape))
		if err != nil {
			return c.Node().Errorf("%v", err)
		}
		if !slices.Equal(it.Shape, u.Shape) {
			return c.Node().Errorf("indices shape %v differs from updates shape %v", it.Shape, u.Shape)
		}
		idx, err := intsOf(it)
		if err != nil {
			return c.Node().Errorf("indices: %v", err)
		}
		offs, err := elementOffsets(c, x.Shape, it.Shape, idx, a)
		if err != nil {
			return err
		}
		out[0], err = applyScatter(c, x, u, offs, 1, op, reduce)
		return err
	}), nil
}

func buildScatterND(n *Node) (Kernel, error) {
	op, reduce, err := scatterReduction(n)
	if err != nil {
		return nil, err
	}
	return viaF32(0, func(c *Ctx, in, out []*tensor.Tensor) error {
		x, it, u := in[0], in[1], in[2]
		idx, err := intsOf(it)
		if err != nil {
			return c.Node().Errorf("indices: %v", err)
		}
		offs, blk, err := ndOffsets(c, x.Shape, it.Shape, idx, 0)
		if err != nil {
			return err
		}
		q := len(it.Shape)
		want := slices.Concat(it.Shape[:q-1], x.Shape[it.Shape[q-1]:])
		if !slices.Equal(u.Shape, want) {
			return c.Node().Errorf("updates have shape %v, want %v", u.Shape, want)
		}
		out[0], err = applyScatter(c, x, u, offs, blk, op, reduce)
		return err
	}), nil
}

func buildExpand(n *Node) (Kernel, error) {
	return KernelFunc(func(c *Ctx, in, out []*tensor.Tensor) error {
		x := in[0]
		spec, err := intsOf(in[1])
		if err != nil {
			return c.Node().Errorf("shape: %v", err)
		}
		shape, err := bcastShape(x.Shape, spec)
		if err != nil {
			return c.Node().Errorf("%v", err)
		}
		pl, err := planFor(shape, x.Shape)
		if err != nil {
			return c.Node().Errorf("%v", err)
		}
		out[0], err = stridedCopy(c, pl, x, shape)
		return err
	}), nil
}

func buildTile(n *Node) (Kernel, error) {
	return KernelFunc(func(c *Ctx, in, out []*tensor.Tensor) error {
		x := in[0]
		reps, err := intsOf(in[1])
		if err != nil {
			return c.Node().Errorf("repeats: %v", err)
		}
		r := len(x.Shape)
		if len(reps) != r {
			return c.Node().Errorf("%d repeats for a rank-%d input", len(reps), r)
		}
		st := rowMajor(x.Shape)
		shape := make([]int64, r)
		view := make([]int64, 0, 2*r)
		vst := make([]int, 0, 2*r)
		for j, d := range x.Shape {
			if reps[j] < 0 {
				return c.Node().Errorf("negative repeat %d", reps[j])
			}
			if d != 0 && reps[j] > math.MaxInt64/d {
				return c.Node().Errorf("repeats %v overflow", reps)
			}
			shape[j] = d * reps[j]
			view = append(view, reps[j], d)
			vst = append(vst, 0, st[j])
		}
		if _, err := tensor.NumElements(shape); err != nil {
			return c.Node().Errorf("%v", err)
		}
		pl, err := stridedPlan(view, vst)
		if err != nil {
			return c.Node().Errorf("%v", err)
		}
		out[0], err = stridedCopy(c, pl, x, shape)
		return err
	}), nil
}

// padIndex maps coordinate i (may be outside [0, d)) to the input for the
// given mode, or -1 for the constant.
func padIndex(i, d int64, mode string) int64 {
	if i >= 0 && i < d {
		return i
	}
	if d == 0 {
		return -1
	}
	switch mode {
	case "edge":
		return min(max(i, 0), d-1)
	case "wrap":
		return ((i % d) + d) % d
	case "reflect":
		if d == 1 {
			return 0
		}
		p := 2 * (d - 1)
		i = ((i % p) + p) % p
		if i >= d {
			i = p - i
		}
		return i
	}
	return -1
}

func buildPad(n *Node) (Kernel, error) {
	mode, err := n.AttrString("mode", "constant")
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	switch mode {
	case "constant", "reflect", "edge":
	case "wrap":
		if n.Opset < 19 {
			return nil, n.Errorf("mode wrap needs opset 19")
		}
	default:
		return nil, n.Errorf("mode %q is not supported", mode)
	}
	var aPads []int64
	var aValue float32
	if n.Opset < 11 {
		if aPads, err = n.AttrInts("pads", nil); err != nil {
			return nil, n.Errorf("%v", err)
		}
		if aPads == nil {
			return nil, n.Errorf("attribute pads is required")
		}
		if aValue, err = n.AttrFloat("value", 0); err != nil {
			return nil, n.Errorf("%v", err)
		}
	}
	return KernelFunc(func(c *Ctx, in, out []*tensor.Tensor) error {
		x := in[0]
		r := len(x.Shape)
		pads := aPads
		m := moveFor(x.Data)
		if m == nil {
			return typeErr(c, "input", x.Type)
		}
		cval, err := makeData(x.Type, 1)
		if err != nil {
			return c.Node().Errorf("%v", err)
		}
		if n.Opset < 11 {
			k := numFor(x.Type)
			if k == nil {
				w := widenHalf(c, &tensor.Tensor{Type: x.Type, Data: cval})
				w.Data.([]float32)[0] = aValue
				narrowHalf(cval, w.Data.([]float32))
			} else {
				k.fromFloat64(cval, float64(aValue), 1)
			}
		} else {
			if len(in) < 2 || in[1] == nil {
				return c.Node().Errorf("pads input is missing")
			}
			if pads, err = intsOf(in[1]); err != nil {
				return c.Node().Errorf("pads: %v", err)
			}
			if len(in) > 2 && in[2] != nil && in[2].Len() > 0 {
				if in[2].Type != x.Type {
					return c.Node().Errorf("constant_value has type %s, data %s", tensor.Name(in[2].Type), tensor.Name(x.Type))
				}
				copyData(cval, in[2].Data)
			}
			if len(in) > 3 && in[3] != nil {
				axes, err := intsOf(in[3])
				if err != nil {
					return c.Node().Errorf("axes: %v", err)
				}
				ax, err := normAxes(axes, r)
				if err != nil {
					return c.Node().Errorf("axes: %v", err)
				}
				if len(pads) != 2*len(ax) {
					return c.Node().Errorf("%d pads for %d axes", len(pads), len(ax))
				}
				full := make([]int64, 2*r)
				for i, a := range ax {
					full[a], full[r+a] = pads[i], pads[len(ax)+i]
				}
				pads = full
			}
		}
		if len(pads) != 2*r {
			return c.Node().Errorf("%d pads for a rank-%d input", len(pads), r)
		}
		if r == 0 {
			out[0], err = c.CopyOf(x)
			return err
		}
		shape := make([]int64, r)
		maps := make([][]int, r)
		for j, d := range x.Shape {
			if max(pads[j], -pads[j], pads[r+j], -pads[r+j]) > maxElements {
				return c.Node().Errorf("pads %v are over the limit of %d elements", pads, int64(maxElements))
			}
			shape[j] = d + pads[j] + pads[r+j]
			if shape[j] < 0 {
				return c.Node().Errorf("pads %v shrink axis %d below zero", pads, j)
			}
			if mode != "constant" && d == 0 && shape[j] > 0 {
				return c.Node().Errorf("cannot pad an empty axis in mode %s", mode)
			}
		}
		if _, err := tensor.NumElements(shape); err != nil {
			return c.Node().Errorf("%v", err)
		}
		y, err := c.Alloc(x.Type, shape...)
		if err != nil {
			return err
		}
		out[0] = y
		if y.Len() == 0 {
			return nil
		}
		for j, d := range x.Shape {
			maps[j] = make([]int, shape[j])
			for i := range maps[j] {
				maps[j][i] = int(padIndex(int64(i)-pads[j], d, mode))
			}
		}
		rows := int(prod(shape[:r-1]))
		inner := int(shape[r-1])
		c.Parallel(rows, max(1, elemGrain/max(inner, 1)), func(lo, hi int) {
			m.pad(y.Data, x.Data, maps, rowMajor(x.Shape), cvalOf(cval), lo, hi)
		})
		return nil
	}), nil
}

// cvalOf returns element 0 of a one-element typed slice as an any holding
// the element type.
func cvalOf(data any) any {
	switch d := data.(type) {
	case []float32:
		return d[0]
	case []float64:
		return d[0]
	case []float16.Float16:
		return d[0]
	case []tensor.BFloat16:
		return d[0]
	case []int8:
		return d[0]
	case []int16:
		return d[0]
	case []int32:
		return d[0]
	case []int64:
		return d[0]
	case []uint8:
		return d[0]
	case []uint16:
		return d[0]
	case []uint32:
		return d[0]
	case []uint64:
		return d[0]
	case []bool:
		return d[0]
	case [][]byte:
		return d[0]
	}
	return nil
}

// blockSize parses DepthToSpace/SpaceToDepth's blocksize.
func blockSize(n *Node) (int64, error) {
	b, err := n.AttrInt("blocksize", 0)
	if err != nil {
		return 0, n.Errorf("%v", err)
	}
	if b < 1 {
		return 0, n.Errorf("blocksize %d: must be positive", b)
	}
	return b, nil
}

func buildDepthToSpace(n *Node) (Kernel, error) {
	b, err := blockSize(n)
	if err != nil {
		return nil, err
	}
	mode, err := n.AttrString("mode", "DCR")
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	if mode != "DCR" && mode != "CRD" {
		return nil, n.Errorf("mode %q: want DCR or CRD", mode)
	}
	return KernelFunc(func(c *Ctx, in, out []*tensor.Tensor) error {
		x := in[0]
		if len(x.Shape) != 4 || b > x.Shape[1]/b || x.Shape[1]%(b*b) != 0 {
			return c.Node().Errorf("input shape %v: want rank 4 with channels divisible by blocksize %d squared", x.Shape, b)
		}
		N, C, H, W := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
		view, perm := []int64{N, b, b, C / (b * b), H, W}, []int{0, 3, 4, 1, 5, 2}
		if mode == "CRD" {
			view, perm = []int64{N, C / (b * b), b, b, H, W}, []int{0, 1, 4, 2, 5, 3}
		}
		pl, err := permutePlan(view, perm)
		if err != nil {
			return c.Node().Errorf("%v", err)
		}
		out[0], err = stridedCopy(c, pl, x, []int64{N, C / (b * b), H * b, W * b})
		return err
	}), nil
}

func buildSpaceToDepth(n *Node) (Kernel, error) {
	b, err := blockSize(n)
	if err != nil {
		return nil, err
	}
	return KernelFunc(func(c *Ctx, in, out []*tensor.Tensor) error {
		x := in[0]
		if len(x.Shape) != 4 || x.Shape[2]%b != 0 || x.Shape[3]%b != 0 || b > math.MaxInt32 {
			return c.Node().Errorf("input shape %v: want rank 4 with height and width divisible by blocksize %d", x.Shape, b)
		}
		N, C, H, W := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
		pl, err := permutePlan([]int64{N, C, H / b, b, W / b, b}, []int{0, 3, 5, 1, 2, 4})
		if err != nil {
			return c.Node().Errorf("%v", err)
		}
		out[0], err = stridedCopy(c, pl, x, []int64{N, C * b * b, H / b, W / b})
		return err
	}), nil
}
