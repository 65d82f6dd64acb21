package interp

import (
	"fmt"
	"slices"
	"sync/atomic"

	"github.com/onnx-prom/onnx-prom/onnx/tensor"
	"github.com/onnx-prom/onnx-prom/verify/interp/kernels"
	"github.com/x448/float16"
)

// This file holds Conv and the helpers the convolution, pooling,
// normalization and resize kernels share (names prefixed with cnn): window
// attributes and geometry, float32 views of float tensors, dynamic
// parallel loops. FLOAT16, BFLOAT16 and DOUBLE inputs of these ops are
// computed in float32.
//
// Conv takes one of three paths: depthwise convs (one input channel per
// group, 1-D or 2-D) run the direct multi-tap kernel plane by plane; all
// others run as a packed GEMM per image and group, Y_g = W_g · im2col(X_g),
// where the im2col matrix is never formed (the GEMM packs its blocks
// straight from X) and is X itself for pointwise (1×1, stride 1, no pad)
// convs. Constant weights are converted and packed when the node is
// compiled; the bias is added by the GEMM micro-kernel.

func init() {
	Register("", "Conv", buildConv)
}

// cnnMaxDims bounds the number of spatial dimensions of a window op.
const cnnMaxDims = 8

// cnnMaxAttr bounds kernel sizes, strides, dilations and pads, so that the
// geometry arithmetic cannot overflow.
const cnnMaxAttr = 1 << 24

// cnnWindow holds the window attributes of Conv, ConvTranspose and the
// pools, checked against each other at compile time; nil slices take their
// defaults.
type cnnWindow struct {
	autoPad   string
	kernel    []int64
	strides   []int64
	dilations []int64
	pads      []int64
}

// cnnParseWindow reads auto_pad, kernel_shape, strides, dilations (when
// withDilations) and pads.
func cnnParseWindow(n *Node, withDilations bool) (*cnnWindow, error) {
	w := &cnnWindow{}
	var err error
	if w.autoPad, err = n.AttrString("auto_pad", "NOTSET"); err != nil {
		return nil, n.Errorf("%v", err)
	}
	switch w.autoPad {
	case "NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID":
	default:
		return nil, n.Errorf("auto_pad %q is not NOTSET, SAME_UPPER, SAME_LOWER or VALID", w.autoPad)
	}
	read := func(name string, lo int64) ([]int64, error) {
		v, err := n.AttrInts(name, nil)
		if err != nil {
			return nil, n.Errorf("%v", err)
		}
		for _, x := range v {
			if x < lo || x > cnnMaxAttr {
				return nil, n.Errorf("%s %v: values must be in [%d, %d]", name, v, lo, int64(cnnMaxAttr))
			}
		}
		return v, nil
	}
	if w.kernel, err = read("kernel_shape", 1); err != nil {
		return nil, err
	}
	if w.strides, err = read("strides", 1); err != nil {
		return nil, err
	}
	if withDilations {
		if w.dilations, err = read("dilations", 1); err != nil {
			return nil, err
		}
	} else if n.HasAttr("dilations") {
		return nil, n.Errorf("attribute dilations is not defined for %s opset %d", n.OpType, n.Opset)
	}
	if w.pads, err = read("pads", 0); err != nil {
		return nil, err
	}
	nd := -1
	for _, a := range []struct {
		name string
		v    []int64
		mul  int
	}{{"kernel_shape", w.kernel, 1}, {"strides", w.strides, 1}, {"dilations", w.dilations, 1}, {"pads", w.pads, 2}} {
		if a.v == nil {
			continue
		}
		if len(a.v)%a.mul != 0 {
			return nil, n.Errorf("%s %v has an odd length", a.name, a.v)
		}
		d := len(a.v) / a.mul
		if nd >= 0 && d != nd {
			return nil, n.Errorf("%s %v does not match the number of spatial dimensions (%d) of the other attributes", a.name, a.v, nd)
		}
		nd = d
	}
	if nd > cnnMaxDims {
		return nil, n.Errorf("%d spatial dimensions, at most %d are supported", nd, cnnMaxDims)
	}
	return w, nil
}

// cnnGeom is the resolved geometry of a window op over one input shape.
type cnnGeom struct {
	nd                       int
	in, k, s, d, pb, pe, out [cnnMaxDims]int
	inSize, kSize, outSize   int // products over the spatial dimensions
}

// resolve computes the geometry for spatial input dims in and kernel dims
// k. ceil selects ceil_mode output sizes (pools).
func (w *cnnWindow) resolve(in, k []int64, ceil bool) (cnnGeom, error) {
	var g cnnGeom
	nd := len(in)
	if nd == 0 {
		return g, fmt.Errorf("the input has no spatial dimensions")
	}
	if nd > cnnMaxDims {
		return g, fmt.Errorf("%d spatial dimensions, at most %d are supported", nd, cnnMaxDims)
	}
	if len(k) != nd {
		return g, fmt.Errorf("kernel has %d dimensions, the input %d spatial ones", len(k), nd)
	}
	check := func(name string, v []int64, mul int) error {
		if v != nil && len(v) != mul*nd {
			return fmt.Errorf("%s %v does not fit %d spatial dimensions", name, v, nd)
		}
		return nil
	}
	for _, e := range []error{check("kernel_shape", w.kernel, 1), check("strides", w.strides, 1),
		check("dilations", w.dilations, 1), check("pads", w.pads, 2)} {
		if e != nil {
			return g, e
		}
	}
	g.nd = nd
	g.inSize, g.kSize, g.outSize = 1, 1, 1
	for i := 0; i < nd; i++ {
		if in[i] < 0 || k[i] < 1 || k[i] > cnnMaxAttr {
			return g, fmt.Errorf("invalid input %v or kernel %v dimensions", in, k)
		}
		if w.kernel != nil && w.kernel[i] != k[i] {
			return g, fmt.Errorf("kernel_shape %v does not match the weights' spatial shape %v", w.kernel, k)
		}
		g.in[i], g.k[i], g.s[i], g.d[i] = int(in[i]), int(k[i]), 1, 1
		if w.strides != nil {
			g.s[i] = int(w.strides[i])
		}
		if w.dilations != nil {
			g.d[i] = int(w.dilations[i])
		}
		dk := (g.k[i]-1)*g.d[i] + 1
		switch w.autoPad {
		case "SAME_UPPER", "SAME_LOWER":
			out := (g.in[i] + g.s[i] - 1) / g.s[i]
			total := max(0, (out-1)*g.s[i]+dk-g.in[i])
			if w.autoPad == "SAME_UPPER" {
				g.pb[i] = total / 2
			} else {
				g.pb[i] = total - total/2
			}
			g.pe[i] = total - g.pb[i]
			g.out[i] = out
		default:
			if w.pads != nil && w.autoPad == "NOTSET" {
				g.pb[i], g.pe[i] = int(w.pads[i]), int(w.pads[i+nd])
			}
			span := g.in[i] + g.pb[i] + g.pe[i] - dk
			if span < 0 {
				return g, fmt.Errorf("spatial dimension %d: input size %d (padded %d) is smaller than the kernel's extent %d", i, g.in[i], g.in[i]+g.pb[i]+g.pe[i], dk)
			}
			out := span/g.s[i] + 1
			if ceil && span%g.s[i] != 0 {
				out++
				// A window must start inside the input or its leading pad.
				if (out-1)*g.s[i] >= g.in[i]+g.pb[i] {
					out--
				}
			}
			g.out[i] = out
		}
		if g.out[i] <= 0 {
			return g, fmt.Errorf("spatial dimension %d: empty output for input size %d", i, g.in[i])
		}
		g.inSize *= g.in[i]
		g.kSize *= g.k[i]
		g.outSize *= g.out[i]
	}
	return g, nil
}

// cnnIsFloat reports whether dt is one of the float types these ops take.
func cnnIsFloat(dt tensor.DataType) bool {
	switch dt {
	case tensor.Float, tensor.Double, tensor.Float16, tensor.BFloat16T:
		return true
	}
	return false
}

// cnnCheckFloatInput is the compile-time type check of a float input.
func cnnCheckFloatInput(n *Node, i int, what string) error {
	if dt := n.InputType(i); dt != tensor.Undefined && !cnnIsFloat(dt) {
		return n.Errorf("%s has type %s, want a float type", what, tensor.Name(dt))
	}
	return nil
}

// cnnF32 returns the elements of a float tensor as float32: its own slice
// for FLOAT, a converted copy in scratch memory otherwise.
func cnnF32(c *Ctx, t *tensor.Tensor) ([]float32, error) {
	switch d := t.Data.(type) {
	case []float32:
		return d, nil
	case []float64:
		s := c.Scratch(len(d))
		for i, v := range d {
			s[i] = float32(v)
		}
		return s, nil
	case []float16.Float16:
		s := c.Scratch(len(d))
		for i, v := range d {
			s[i] = v.Float32()
		}
		return s, nil
	case []tensor.BFloat16:
		s := c.Scratch(len(d))
		for i, v := range d {
			s[i] = v.Float32()
		}
		return s, nil
	}
	return nil, fmt.Errorf("type %s is not a float type", tensor.Name(t.Type))
}

// cnnConstF32 converts a constant float tensor at compile time.
func cnnConstF32(t *tensor.Tensor) ([]float32, error) {
	if !cnnIsFloat(t.Type) {
		return nil, fmt.Errorf("type %s is not a float type", tensor.Name(t.Type))
	}
	if d, ok := t.Data.([]float32); ok {
		return d, nil
	}
	return t.Float32s()
}

// cnnOut allocates an output of type dt and returns the float32 buffer the
// kernel writes: the output's own slice for FLOAT, scratch memory that
// cnnFinish converts otherwise.
func cnnOut(c *Ctx, dt tensor.DataType, shape ...int64) (*tensor.Tensor, []float32, error) {
	t, err := c.Alloc(dt, shape...)
	if err != nil {
		return nil, nil, err
	}
	if d, ok := t.Data.([]float32); ok {
		return t, d, nil
	}
	if !cnnIsFloat(dt) {
		return nil, nil, fmt.Errorf("type %s is not a float type", tensor.Name(dt))
	}
	return t, c.Scratch(t.Len()), nil
}

// cnnFinish converts buf into t when t is not FLOAT.
func cnnFinish(t *tensor.Tensor, buf []float32) {
	switch d := t.Data.(type) {
	case []float64:
		for i := range d {
			d[i] = float64(buf[i])
		}
	case []float16.Float16:
		for i := range d {
			d[i] = float16.Fromfloat32(buf[i])
		}
	case []tensor.BFloat16:
		for i := range d {
			d[i] = tensor.BFloat16FromFloat32(buf[i])
		}
	}
}

// cnnFor runs f over [0, n) like c.Parallel, but hands out chunks of at
// least grain items (about eight per worker) dynamically, so that a worker
// slowed down (by a busy machine, or uneven chunks) delays nobody.
func cnnFor(c *Ctx, n, grain int, f func(lo, hi int)) {
	cnnForWorkers(c, n, grain, func(_, lo, hi int) { f(lo, hi) })
}

// cnnForWorkers is cnnFor that also passes the index of the worker
// (0 <= worker < c.Threads()) running the chunk, for per-worker scratch.
func cnnForWorkers(c *Ctx, n, grain int, f func(worker, lo, hi int)) {
	grain = max(1, grain)
	workers := min(c.Threads(), n/grain)
	if workers <= 1 {
		if n > 0 {
			f(0, 0, n)
		}
		return
	}
	chunk := max(grain, n/(8*workers))
	var next atomic.Int64
	c.Parallel(workers, 1, func(lo, hi int) {
		for w := lo; w < hi; w++ {
			for {
				i := int(next.Add(1)-1) * chunk
				if i >= n {
					break
				}
				f(w, i, min(n, i+chunk))
			}
		}
	})
}

// cnnParallel adapts c.Parallel to the kernels package.
func cnnParallel(c *Ctx) kernels.ParallelFunc { return c.Parallel }

// convKernel is Conv for float tensors. Constant weights are converted and
// packed at compile time.
type convKernel struct {
	win    *cnnWindow
	group  int
	wShape []int64     // shape of constant weights, nil otherwise
	wConst []float32   // constant depthwise-shaped weights as float32 (others are only packed)
	packed []float32   // constant weights packed per group for the GEMM path
	bConst []float32   // constant bias as float32
	clamp  *[2]float32 // ConvAct: the output is clamped to [lo, hi]
}

func buildConv(n *Node) (Kernel, error) {
	if len(n.Inputs) < 2 || len(n.Inputs) > 3 || n.Input(0) == nil || n.Input(1) == nil {
		return nil, n.Errorf("Conv takes inputs X, W and an optional B, got %d inputs", len(n.Inputs))
	}
	if len(n.Outputs) != 1 {
		return nil, n.Errorf("Conv has one output, got %d", len(n.Outputs))
	}
	for i, name := range []string{"X", "W", "B"} {
		if err := cnnCheckFloatInput(n, i, name); err != nil {
			return nil, err
		}
	}
	win, err := cnnParseWindow(n, true)
	if err != nil {
		return nil, err
	}
	group, err := n.AttrInt("group", 1)
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	if group < 1 || group > 1<<30 {
		return nil, n.Errorf("group %d must be positive", group)
	}
	k := &convKernel{win: win, group: int(group)}
	xShape := n.Input(0).Shape
	if w := n.Const(1); w != nil {
		if len(w.Shape) < 3 {
			return nil, n.Errorf("W has shape %v, want [M, C/group, k1, ...]", w.Shape)
		}
		if xShape != nil && len(xShape) != len(w.Shape) {
			return nil, n.Errorf("X has rank %d but W has rank %d", len(xShape), len(w.Shape))
		}
		m, cg := w.Shape[0], w.Shape[1]
		if m%group != 0 {
			return nil, n.Errorf("W has %d output channels, not a multiple of group %d", m, group)
		}
		if cg < 1 {
			return nil, n.Errorf("W has shape %v with no input channels", w.Shape)
		}
		if xShape != nil && xShape[1].Known() && xShape[1].Value != cg*group {
			return nil, n.Errorf("X has %d channels but W wants %d (W's %d channels × group %d)", xShape[1].Value, cg*group, cg, group)
		}
		if win.kernel != nil && !slices.Equal(win.kernel, w.Shape[2:]) {
			return nil, n.Errorf("kernel_shape %v does not match W's spatial shape %v", win.kernel, w.Shape[2:])
		}
		if len(w.Shape)-2 > cnnMaxDims {
			return nil, n.Errorf("%d spatial dimensions, at most %d are supported", len(w.Shape)-2, cnnMaxDims)
		}
		if k.wConst, err = cnnConstF32(w); err != nil {
			return nil, n.Errorf("W: %v", err)
		}
		k.wShape = w.Shape
		if !k.depthwise(int(cg*group), w.Shape) {
			k.packed = packConvWeights(k.wConst, w.Shape, k.group)
			k.wConst = nil
		}
		n.Capture(1)
	}
	if b := n.Const(2); b != nil {
		if len(b.Shape) != 1 || (k.wShape != nil && b.Shape[0] != k.wShape[0]) {
			return nil, n.Errorf("B has shape %v, want [M] with M the output channels", b.Shape)
		}
		if k.bConst, err = cnnConstF32(b); err != nil {
			return nil, n.Errorf("B: %v", err)
		}
		n.Capture(2)
	}
	return k, nil
}

// HeldBytes counts the weights the kernel keeps.
func (k *convKernel) HeldBytes() int64 {
	return 4 * int64(len(k.wConst)+len(k.packed)+len(k.bConst))
}

// depthwise reports whether the conv of c input channels with weights of
// shape ws runs on the direct depthwise kernel: one input channel per
// group, at most 2 spatial dimensions.
func (k *convKernel) depthwise(c int, ws []int64) bool {
	return ws[1] == 1 && k.group == c && len(ws) <= 4 && (k.group > 1 || ws[0] == 1)
}

// packConvWeights packs W [M][C/group][k...] per group for the GEMM path.
func packConvWeights(w []float32, ws []int64, group int) []float32 {
	m := int(ws[0])
	kk := 1
	for _, d := range ws[1:] {
		kk *= int(d)
	}
	mg := m / group
	sz := kernels.PackedASize(mg, kk)
	out := make([]float32, group*sz)
	for g := 0; g < group; g++ {
		kernels.PackA(out[g*sz:(g+1)*sz], w[g*mg*kk:], kk, false, mg, kk, 1)
	}
	return out
}

func (k *convKernel) Run(c *Ctx, in, out []*tensor.Tensor) error {
	x, w := in[0], in[1]
	var b *tensor.Tensor
	if len(in) > 2 {
		b = in[2]
	}
	if !cnnIsFloat(x.Type) || w.Type != x.Type || (b != nil && b.Type != x.Type) {
		return fmt.Errorf("X, W and B must have the same float type")
	}
	xs, ws := x.Shape, w.Shape
	if len(xs) < 3 {
		return fmt.Errorf("X has shape %v, want [N, C, d1, ...]", xs)
	}
	if len(ws) != len(xs) {
		return fmt.Errorf("X has shape %v but W has shape %v: ranks differ", xs, ws)
	}
	nb, ch, m := int(xs[0]), int(xs[1]), int(ws[0])
	group := k.group
	if ws[1]*int64(group) != xs[1] {
		return fmt.Errorf("X has %d channels but W (shape %v) with group %d wants %d", xs[1], ws, group, ws[1]*int64(group))
	}
	if m%group != 0 {
		return fmt.Errorf("W has %d output channels, not a multiple of group %d", m, group)
	}
	if b != nil && (len(b.Shape) != 1 || int(b.Shape[0]) != m) {
		return fmt.Errorf("B has shape %v, want [%d]", b.Shape, m)
	}
	geo, err := k.win.resolve(xs[2:], ws[2:], false)
	if err != nil {
		return err
	}
	var shape [cnnMaxDims + 2]int64
	shape[0], shape[1] = int64(nb), int64(m)
	for i := 0; i < geo.nd; i++ {
		shape[2+i] = int64(geo.out[i])
	}
	y, yf, err := cnnOut(c, x.Type, shape[:2+geo.nd]...)
	if err != nil {
		return err
	}
	out[0] = y
	if y.Len() == 0 {
		return nil
	}
	xf, err := cnnF32(c, x)
	if err != nil {
		return err
	}
	// The weights prepared at compile time serve when W is that constant
	// (its data is then not read: Node.Capture).
	prepared := k.wShape != nil && slices.Equal(ws, k.wShape)
	wf := k.wConst
	if !prepared || (wf == nil && k.packed == nil) {
		if wf, err = cnnF32(c, w); err != nil {
			return err
		}
	}
	bf := k.bConst
	if b != nil && bf == nil {
		if bf, err = cnnF32(c, b); err != nil {
			return err
		}
	}
	if b == nil {
		bf = nil
	}
	if k.depthwise(ch, ws) && convDepthwiseOK(&geo) {
		convDepthwise(c, &geo, xf, wf, bf, yf, nb, ch, m, k.clamp)
	} else {
		packed := k.packed
		if packed == nil || !prepared {
			packed = packConvWeightsInto(c, wf, ws, group)
		}
		convGemm(c, &geo, xf, packed, bf, yf, nb, ch, m, group, k.clamp)
	}
	cnnFinish(y, yf)
	return nil
}

// packConvWeightsInto is packConvWeights into scratch memory.
func packConvWeightsInto(c *Ctx, w []float32, ws []int64, group int) []float32 {
	m := int(ws[0])
	kk := 1
	for _, d := range ws[1:] {
		kk *= int(d)
	}
	mg := m / group
	sz := kernels.PackedASize(mg, kk)
	out := c.Scratch(group * sz)
	for g := 0; g < group; g++ {
		kernels.PackA(out[g*sz:(g+1)*sz], w[g*mg*kk:], kk, false, mg, kk, 1)
	}
	return out
}

// convDepthwiseGeom is the per-plane geometry of a depthwise conv.
func convDepthwiseGeom(geo *cnnGeom) kernels.Depthwise2D {
	if geo.nd == 1 {
		return kernels.Depthwise2D{H: 1, W: geo.in[0], OH: 1, OW: geo.out[0], KH: 1, KW: geo.k[0], SH: 1, SW: geo.s[0],
			DH: 1, DW: geo.d[0], PadL: geo.pb[0]}
	}
	return kernels.Depthwise2D{H: geo.in[0], W: geo.in[1], OH: geo.out[0], OW: geo.out[1], KH: geo.k[0], KW: geo.k[1],
		SH: geo.s[0], SW: geo.s[1], DH: geo.d[0], DW: geo.d[1], PadT: geo.pb[0], PadL: geo.pb[1]}
}

// convDepthwiseOK reports whether the direct depthwise kernel suits geo:
// its padded copy of a plane must stay small (huge pads or strides go to
// the GEMM path, which needs no such copy).
func convDepthwiseOK(geo *cnnGeom) bool {
	if geo.nd > 2 {
		return false
	}
	d := convDepthwiseGeom(geo)
	// Compute the padded size in float64 to stay clear of overflow.
	hp := float64(d.OH-1)*float64(d.SH) + float64(d.KH-1)*float64(d.DH) + float64(d.SH)
	wp := float64(d.OW-1)*float64(d.SW) + float64(d.KW-1)*float64(d.DW) + float64(d.SW)
	return hp*wp <= 4*float64(geo.inSize+geo.outSize)+1<<16
}

// convDepthwise runs a depthwise conv (one input channel per group, m/ch
// output channels per input channel) plane by plane.
// With clamp, each output plane is clamped to [clamp[0], clamp[1]].
func convDepthwise(c *Ctx, geo *cnnGeom, x, w, bias, y []float32, nb, ch, m int, clamp *[2]float32) {
	d := convDepthwiseGeom(geo)
	planes := nb * m
	mult := m / ch
	inSize, outSize, ksz := geo.inSize, geo.outSize, geo.kSize
	workers := min(c.Threads(), planes, max(1, planes*outSize*ksz/(1<<15)))
	per := d.ScratchSize()
	scratch := c.Scratch(workers * per)
	taps := d.Taps()
	offsets := make([]int, workers*taps)
	for wk := 0; wk < workers; wk++ {
		d.Prepare(scratch[wk*per:(wk+1)*per], offsets[wk*taps:(wk+1)*taps])
	}
	grain := max(1, planes/workers)
	if workers > 1 {
		grain = max(1, (1<<14)/max(1, outSize*ksz))
	}
	cnnForWorkers(c, planes, grain, func(wk, lo, hi int) {
		buf := scratch[wk*per : (wk+1)*per]
		offs := offsets[wk*taps : (wk+1)*taps]
		for q := lo; q < hi; q++ {
			n, o := q/m, q%m
			ci := o / mult
			var bv float32
			if bias != nil {
				bv = bias[o]
			}
			yq := y[q*outSize : (q+1)*outSize]
			d.Plane(yq, x[(n*ch+ci)*inSize:(n*ch+ci+1)*inSize], w[o*ksz:(o+1)*ksz], bv, buf, offs)
			if clamp != nil {
				kernels.Clamp(yq, yq, clamp[0], clamp[1])
			}
		}
	})
}

// convGemm runs a grouped conv as one matrix product per image and group:
// Y_g[Mg × out] = W_g[Mg × K] · im2col(X_g)[K × out].
// With clamp, the output is clamped to [clamp[0], clamp[1]].
func convGemm(c *Ctx, geo *cnnGeom, x, packed, bias, y []float32, nb, ch, m, group int, clamp *[2]float32) {
	cg, mg := ch/group, m/group
	kk := cg * geo.kSize
	outSize := geo.outSize
	pointwise := true
	for i := 0; i < geo.nd; i++ {
		if geo.k[i] != 1 || geo.s[i] != 1 || geo.pb[i] != 0 || geo.pe[i] != 0 {
			pointwise = false
		}
	}
	var src kernels.BSource
	switch {
	case pointwise:
		plane := cg * geo.inSize
		src = &kernels.Dense{Data: x, Ld: geo.inSize, Offset: func(p int) int { return p * plane }}
	case geo.nd <= 2:
		s := &kernels.Conv2D{X: x, C: ch, H: 1, W: geo.in[0], Groups: group, KH: 1, KW: geo.k[0], SH: 1, SW: geo.s[0],
			DH: 1, DW: geo.d[0], PadL: geo.pb[0], OH: 1, OW: geo.out[0]}
		if geo.nd == 2 {
			s = &kernels.Conv2D{X: x, C: ch, H: geo.in[0], W: geo.in[1], Groups: group, KH: geo.k[0], KW: geo.k[1],
				SH: geo.s[0], SW: geo.s[1], DH: geo.d[0], DW: geo.d[1], PadT: geo.pb[0], PadL: geo.pb[1],
				OH: geo.out[0], OW: geo.out[1]}
		}
		src = s
	default:
		nd := geo.nd
		s := &kernels.ConvND{X: x, C: ch, Groups: group,
			In: make([]int, nd), K: make([]int, nd), S: make([]int, nd), D: make([]int, nd), Pad: make([]int, nd), Out: make([]int, nd)}
		copy(s.In, geo.in[:nd])
		copy(s.K, geo.k[:nd])
		copy(s.S, geo.s[:nd])
		copy(s.D, geo.d[:nd])
		copy(s.Pad, geo.pb[:nd])
		copy(s.Out, geo.out[:nd])
		src = s
	}
	sz := kernels.PackedASize(mg, kk)
	g := &kernels.Gemm{M: mg, N: outSize, K: kk, Count: nb * group,
		A:     func(p int) []float32 { return packed[p%group*sz : (p%group+1)*sz] },
		B:     src,
		C:     y,
		Clamp: clamp,
	}
	if bias != nil {
		g.Bias = func(p int) []float32 { return bias[p%group*mg : (p%group+1)*mg] }
	}
	workers := g.Workers(c.Threads())
	g.Run(cnnParallel(c), workers, c.Scratch(g.ScratchSize(workers)))
}
