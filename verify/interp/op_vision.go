package interp

import (
	"fmt"
	"math"
	"slices"

	"github.com/onnx-prom/onnx-prom/onnx/tensor"
)

// GridSample, RoiAlign, NonMaxSuppression and MaxUnpool. The sampling ops
// compute in float64 (inputs of any float type, integer X for GridSample)
// and round to the output's element type at the end; MaxUnpool moves
// elements of any type.

func init() {
	Register("", "GridSample", buildGridSample)
	Register("", "RoiAlign", buildRoiAlign)
	Register("", "NonMaxSuppression", buildNonMaxSuppression)
	Register("", "MaxUnpool", buildMaxUnpool)
}

// visIndex converts a float coordinate (already floored or rounded) to an
// int without overflow; NaN gives an index far out of range.
func visIndex(x float64) int {
	if x != x {
		return -1 << 30
	}
	return int(max(min(x, 1<<40), -(1 << 40)))
}

// visReflect folds x into [lo, hi] by reflecting at the borders, as many
// times as needed.
func visReflect(x, lo, hi float64) float64 {
	rng := hi - lo
	if !(rng > 0) {
		return lo
	}
	var dx float64
	switch {
	case x < lo:
		dx = lo - x
	case x > hi:
		dx = x - hi
	default:
		return x
	}
	k := math.Floor(dx / rng)
	r := dx - k*rng
	odd := math.Mod(k, 2) != 0
	if x < lo != odd {
		return lo + r
	}
	return hi - r
}

// ---- GridSample ----

const (
	gsLinear = iota
	gsNearest
	gsCubic
)

const (
	gsZeros = iota
	gsBorder
	gsReflection
)

// gsMaxDims bounds the spatial rank of GridSample (cubic reads 4^r taps).
const gsMaxDims = 6

type gridSample struct {
	mode, padding int
	align         bool
	opset         int64
}

func buildGridSample(n *Node) (Kernel, error) {
	if len(n.Inputs) != 2 || n.Input(0) == nil || n.Input(1) == nil {
		return nil, n.Errorf("GridSample takes inputs X and grid, got %d inputs", len(n.Inputs))
	}
	if len(n.Outputs) != 1 || n.Output(0) == nil {
		return nil, n.Errorf("GridSample has one output, got %d", len(n.Outputs))
	}
	if dt := n.InputType(0); dt != tensor.Undefined && !f64Numeric(dt) {
		return nil, n.Errorf("X has type %s, want a numeric type", tensor.Name(dt))
	}
	if err := cnnCheckFloatInput(n, 1, "grid"); err != nil {
		return nil, err
	}
	k := &gridSample{opset: n.Opset}
	ac, err := n.AttrInt("align_corners", 0)
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	if ac != 0 && ac != 1 {
		return nil, n.Errorf("align_corners %d is not 0 or 1", ac)
	}
	k.align = ac == 1
	names := [3]string{"bilinear", "nearest", "bicubic"}
	if n.Opset >= 20 {
		names = [3]string{"linear", "nearest", "cubic"}
	}
	mode, err := n.AttrString("mode", names[0])
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	switch mode {
	case names[0]:
		k.mode = gsLinear
	case names[1]:
		k.mode = gsNearest
	case names[2]:
		k.mode = gsCubic
	default:
		return nil, n.Errorf("mode %q is not %q, %q or %q (opset %d)", mode, names[0], names[1], names[2], n.Opset)
	}
	pm, err := n.AttrString("padding_mode", "zeros")
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	switch pm {
	case "zeros":
		k.padding = gsZeros
	case "border":
		k.padding = gsBorder
	case "reflection":
		k.padding = gsReflection
	default:
		return nil, n.Errorf("padding_mode %q is not zeros, border or reflection", pm)
	}
	if s := n.Input(0).Shape; s != nil && n.Opset < 20 && len(s) != 4 {
		return nil, n.Errorf("X has rank %d, GridSample before opset 20 takes 4-D X", len(s))
	}
	return k, nil
}

// gsAxis is the sampling geometry of one spatial axis.
type gsAxis struct {
	size   int
	stride int     // of the axis in an X plane
	lo, hi float64 // the reflection borders
}

func (k *gridSample) Run(c *Ctx, in, out []*tensor.Tensor) error {
	x, g := in[0], in[1]
	if !f64Numeric(x.Type) {
		return fmt.Errorf("X has type %s, want a numeric type", tensor.Name(x.Type))
	}
	if !cnnIsFloat(g.Type) {
		return fmt.Errorf("grid has type %s, want a float type", tensor.Name(g.Type))
	}
	xs, gs := x.Shape, g.Shape
	r := len(xs) - 2
	if r < 1 {
		return fmt.Errorf("X has shape %v, want [N, C, D1, ...]", xs)
	}
	if k.opset < 20 && r != 2 {
		return fmt.Errorf("X has shape %v, GridSample before opset 20 takes 4-D X", xs)
	}
	if r > gsMaxDims {
		return fmt.Errorf("X has %d spatial dimensions, at most %d are supported", r, gsMaxDims)
	}
	if len(gs) != r+2 || gs[0] != xs[0] || gs[r+1] != int64(r) {
		return fmt.Errorf("grid has shape %v, want [%d, ..., %d] of rank %d for X of shape %v", gs, xs[0], r, r+2, xs)
	}
	shape := append([]int64{xs[0], xs[1]}, gs[1:r+1]...)
	y, yd, err := f64Out(c, x.Type, shape...)
	if err != nil {
		return err
	}
	if len(yd) == 0 {
		out[0] = y
		return nil
	}
	axes := make([]gsAxis, r)
	inSp := 1
	for i := r - 1; i >= 0; i-- {
		d := int(xs[2+i])
		if d == 0 {
			c.pool.put(y)
			return fmt.Errorf("X has shape %v: an empty spatial dimension cannot be sampled", xs)
		}
		axes[i] = gsAxis{size: d, stride: inSp, lo: -0.5, hi: float64(d) - 0.5}
		if k.align {
			axes[i].lo, axes[i].hi = 0, float64(d-1)
		}
		inSp *= d
	}
	xd, err := f64In(c, x)
	if err != nil {
		return err
	}
	gd, err := f64In(c, g)
	if err != nil {
		return err
	}
	nb, ch := int(xs[0]), int(xs[1])
	outSp := len(yd) / (nb * ch)
	per := [...]int{gsLinear: 2, gsNearest: 1, gsCubic: 4}[k.mode]
	taps := 1
	for range r {
		taps *= per
	}
	type work struct {
		idx  [][4]int
		wt   [][4]float64
		offs []int
		ws   []float64
	}
	ws := make([]*work, c.Threads())
	grain := max(1, 4096/max(1, ch*taps))
	c.ParallelWorkers(nb*outSp, grain, func(w, lo, hi int) {
		b := ws[w]
		if b == nil {
			b = &work{idx: make([][4]int, r), wt: make([][4]float64, r), offs: make([]int, taps), ws: make([]float64, taps)}
			ws[w] = b
		}
		for l := lo; l < hi; l++ {
			nt := k.taps(gd[l*r:l*r+r], axes, per, b.idx, b.wt, b.offs, b.ws)
			bi, p := l/outSp, l%outSp
			for cc := range ch {
				xp := xd[(bi*ch+cc)*inSp : (bi*ch+cc+1)*inSp]
				var s float64
				for t := range nt {
					s += b.ws[t] * xp[b.offs[t]]
				}
				yd[(bi*ch+cc)*outSp+p] = s
			}
		}
	})
	f64Finish(y, yd)
	out[0] = y
	return nil
}

// pixel maps a tap index along an axis to an index in [0, size), or -1 when
// the tap reads the zero padding.
func (k *gridSample) pixel(i int, a *gsAxis) int {
	if i >= 0 && i < a.size {
		return i
	}
	switch k.padding {
	case gsBorder:
		return min(max(i, 0), a.size-1)
	case gsReflection:
		j := visIndex(visReflect(float64(i), a.lo, a.hi))
		return min(max(j, 0), a.size-1)
	}
	return -1
}

// gsCubicCoeffs are Keys' cubic convolution weights (A = -0.75) of the
// four taps around a point at fraction t in [0, 1) past the second tap.
func gsCubicCoeffs(t float64) [4]float64 {
	const a = -0.75
	near := func(d float64) float64 { return ((a+2)*d-(a+3))*d*d + 1 }
	far := func(d float64) float64 { return ((a*d-5*a)*d+8*a)*d - 4*a }
	return [4]float64{far(t + 1), near(t), near(1 - t), far(2 - t)}
}

// taps works out the X offsets (within a plane) and weights that one grid
// point reads; gc holds its normalized coordinates, innermost axis first.
// It returns how many of offs and ws it filled.
func (k *gridSample) taps(gc []float64, axes []gsAxis, per int, idx [][4]int, wt [][4]float64, offs []int, ws []float64) int {
	r := len(axes)
	for i := range axes {
		a := &axes[i]
		v := gc[r-1-i]
		var x float64
		if k.align {
			x = (v + 1) / 2 * float64(a.size-1)
		} else {
			x = ((v+1)*float64(a.size) - 1) / 2
		}
		if k.mode == gsNearest {
			if r == 3 {
				x = math.Round(x)
			} else {
				x = math.RoundToEven(x)
			}
		}
		if x < a.lo || x > a.hi {
			switch k.padding {
			case gsBorder:
				x = min(max(x, 0), float64(a.size-1))
			case gsReflection:
				x = visReflect(x, a.lo, a.hi)
			}
		}
		switch k.mode {
		case gsNearest:
			idx[i][0], wt[i][0] = k.pixel(visIndex(math.Trunc(x)), a), 1
		case gsLinear:
			f := math.Floor(x)
			x0, t := visIndex(f), x-f
			idx[i][0], idx[i][1] = k.pixel(x0, a), k.pixel(x0+1, a)
			wt[i][0], wt[i][1] = 1-t, t
		case gsCubic:
			f := math.Floor(x)
			x0 := visIndex(f)
			wt[i] = gsCubicCoeffs(x - f)
			for j := range 4 {
				idx[i][j] = k.pixel(x0-1+j, a)
			}
		}
	}
	total := len(offs)
	n := 0
	for t := range total {
		rem, off, w := t, 0, 1.0
		ok := true
		for i := r - 1; i >= 0; i-- {
			j := rem % per
			rem /= per
			ix := idx[i][j]
			if ix < 0 {
				ok = false
				break
			}
			off += ix * axes[i].stride
			w *= wt[i][j]
		}
		if ok {
			offs[n], ws[n] = off, w
			n++
		}
	}
	return n
}

// ---- RoiAlign ----

type roiAlign struct {
	avg       bool
	halfPixel bool
	oh, ow    int
	ratio     int
	scale     float64
}

// roiMaxGrid bounds the output size and the sampling points of a bin along
// one axis, roiMaxRatio the sampling_ratio attribute and roiMaxSamples the
// sampling points of a bin (each is read for every channel).
const (
	roiMaxGrid    = 1 << 16
	roiMaxRatio   = 1 << 10
	roiMaxSamples = 1 << 20
)

func buildRoiAlign(n *Node) (Kernel, error) {
	if len(n.Inputs) != 3 || n.Input(0) == nil || n.Input(1) == nil || n.Input(2) == nil {
		return nil, n.Errorf("RoiAlign takes inputs X, rois and batch_indices, got %d inputs", len(n.Inputs))
	}
	if len(n.Outputs) != 1 || n.Output(0) == nil {
		return nil, n.Errorf("RoiAlign has one output, got %d", len(n.Outputs))
	}
	for i, name := range []string{"X", "rois"} {
		if err := cnnCheckFloatInput(n, i, name); err != nil {
			return nil, err
		}
	}
	if dt := n.InputType(2); dt != tensor.Undefined && intFor(dt) == nil {
		return nil, n.Errorf("batch_indices has type %s, want INT64", tensor.Name(dt))
	}
	k := &roiAlign{}
	mode, err := n.AttrString("mode", "avg")
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	switch mode {
	case "avg", "max":
		k.avg = mode == "avg"
	default:
		return nil, n.Errorf("mode %q is not avg or max", mode)
	}
	if n.Opset >= 16 {
		ctm, err := n.AttrString("coordinate_transformation_mode", "half_pixel")
		if err != nil {
			return nil, n.Errorf("%v", err)
		}
		switch ctm {
		case "half_pixel", "output_half_pixel":
			k.halfPixel = ctm == "half_pixel"
		default:
			return nil, n.Errorf("coordinate_transformation_mode %q is not half_pixel or output_half_pixel", ctm)
		}
	} else if n.HasAttr("coordinate_transformation_mode") {
		return nil, n.Errorf("attribute coordinate_transformation_mode is not defined for RoiAlign opset %d", n.Opset)
	}
	for _, a := range []struct {
		name string
		dst  *int
		lo   int64
		def  int64
		hi   int64
	}{{"output_height", &k.oh, 1, 1, roiMaxGrid}, {"output_width", &k.ow, 1, 1, roiMaxGrid}, {"sampling_ratio", &k.ratio, 0, 0, roiMaxRatio}} {
		v, err := n.AttrInt(a.name, a.def)
		if err != nil {
			return nil, n.Errorf("%v", err)
		}
		if v < a.lo || v > a.hi {
			return nil, n.Errorf("%s %d is not in [%d, %d]", a.name, v, a.lo, a.hi)
		}
		*a.dst = int(v)
	}
	sc, err := n.AttrFloat("spatial_scale", 1)
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	if math.IsNaN(float64(sc)) || math.IsInf(float64(sc), 0) {
		return nil, n.Errorf("spatial_scale %v is not finite", sc)
	}
	k.scale = float64(sc)
	return k, nil
}

// roiBin is the sampling of one ROI: start, bin size and sampling points
// per bin along each axis.
type roiBin struct {
	batch          int
	startH, startW float64
	binH, binW     float64
	gh, gw         int
}

// roiTap is the bilinear interpolation of one sampling coordinate along an
// axis: the low and high indices and their weights; ok is false for a
// point outside the feature map (it reads zero).
type roiTap struct {
	lo, hi int
	wl, wh float64
	ok     bool
}

func roiTapAt(v float64, size int) roiTap {
	if !(v >= -1 && v <= float64(size)) || size == 0 {
		return roiTap{}
	}
	v = max(v, 0)
	lo := int(v)
	hi := lo + 1
	if lo >= size-1 {
		lo, hi = size-1, size-1
		v = float64(lo)
	}
	l := v - float64(lo)
	return roiTap{lo: lo, hi: hi, wl: 1 - l, wh: l, ok: true}
}

func (k *roiAlign) Run(c *Ctx, in, out []*tensor.Tensor) error {
	x, rois, bi := in[0], in[1], in[2]
	if !cnnIsFloat(x.Type) || !cnnIsFloat(rois.Type) {
		return fmt.Errorf("X and rois must be float tensors, are %s and %s", tensor.Name(x.Type), tensor.Name(rois.Type))
	}
	if intFor(bi.Type) == nil {
		return fmt.Errorf("batch_indices has type %s, want INT64", tensor.Name(bi.Type))
	}
	xs := x.Shape
	if len(xs) != 4 {
		return fmt.Errorf("X has shape %v, want [N, C, H, W]", xs)
	}
	if len(rois.Shape) != 2 || rois.Shape[1] != 4 {
		return fmt.Errorf("rois has shape %v, want [num_rois, 4]", rois.Shape)
	}
	nr := int(rois.Shape[0])
	if len(bi.Shape) != 1 || bi.Shape[0] != rois.Shape[0] {
		return fmt.Errorf("batch_indices has shape %v, want [%d]", bi.Shape, nr)
	}
	bidx, err := bi.Int64s()
	if err != nil {
		return fmt.Errorf("batch_indices: %v", err)
	}
	rd, err := f64In(c, rois)
	if err != nil {
		return err
	}
	nb, ch, h, w := int(xs[0]), int(xs[1]), int(xs[2]), int(xs[3])
	bins := make([]roiBin, nr)
	offset := 0.0
	if k.halfPixel {
		offset = 0.5
	}
	for i := range bins {
		if bidx[i] < 0 || bidx[i] >= int64(nb) {
			return fmt.Errorf("batch_indices[%d] = %d is out of range [0, %d)", i, bidx[i], nb)
		}
		r := rd[4*i : 4*i+4]
		sw, sh := r[0]*k.scale-offset, r[1]*k.scale-offset
		ew, eh := r[2]*k.scale-offset, r[3]*k.scale-offset
		rw, rh := ew-sw, eh-sh
		if !k.halfPixel {
			rw, rh = max(rw, 1), max(rh, 1)
		}
		b := roiBin{batch: int(bidx[i]), startH: sh, startW: sw, binH: rh / float64(k.oh), binW: rw / float64(k.ow), gh: k.ratio, gw: k.ratio}
		if k.ratio == 0 {
			gh, gw := math.Ceil(rh/float64(k.oh)), math.Ceil(rw/float64(k.ow))
			if !(gh <= roiMaxGrid && gw <= roiMaxGrid) {
				return fmt.Errorf("roi %d %v needs %v x %v sampling points per bin, over the limit of %d a side", i, r, gh, gw, roiMaxGrid)
			}
			b.gh, b.gw = max(int(gh), 0), max(int(gw), 0)
			if b.gh*b.gw > roiMaxSamples {
				return fmt.Errorf("roi %d %v needs %d x %d sampling points per bin, over the limit of %d", i, r, b.gh, b.gw, roiMaxSamples)
			}
		}
		bins[i] = b
	}
	y, yd, err := f64Out(c, x.Type, int64(nr), int64(ch), int64(k.oh), int64(k.ow))
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
	type work struct{ ty, tx []roiTap }
	ws := make([]*work, c.Threads())
	plane := k.oh * k.ow
	c.ParallelWorkers(nr*plane, 1, func(wk, lo, hi int) {
		b := ws[wk]
		if b == nil {
			b = &work{}
			ws[wk] = b
		}
		for l := lo; l < hi; l++ {
			ri, p := l/plane, l%plane
			ph, pw := p/k.ow, p%k.ow
			rb := &bins[ri]
			b.ty, b.tx = b.ty[:0], b.tx[:0]
			for iy := range rb.gh {
				v := rb.startH + float64(ph)*rb.binH + (float64(iy)+0.5)*rb.binH/float64(rb.gh)
				b.ty = append(b.ty, roiTapAt(v, h))
			}
			for ix := range rb.gw {
				v := rb.startW + float64(pw)*rb.binW + (float64(ix)+0.5)*rb.binW/float64(rb.gw)
				b.tx = append(b.tx, roiTapAt(v, w))
			}
			count := float64(max(rb.gh*rb.gw, 1))
			for cc := range ch {
				xp := xd[(rb.batch*ch+cc)*h*w : (rb.batch*ch+cc+1)*h*w]
				var acc float64
				first := true
				for _, ty := range b.ty {
					for _, tx := range b.tx {
						var v float64
						if ty.ok && tx.ok {
							v1 := ty.wl * tx.wl * xp[ty.lo*w+tx.lo]
							v2 := ty.wl * tx.wh * xp[ty.lo*w+tx.hi]
							v3 := ty.wh * tx.wl * xp[ty.hi*w+tx.lo]
							v4 := ty.wh * tx.wh * xp[ty.hi*w+tx.hi]
							if k.avg {
								v = v1 + v2 + v3 + v4
							} else {
								v = max(v1, v2, v3, v4)
							}
						}
						switch {
						case k.avg:
							acc += v
						case first:
							acc = v
						default:
							acc = max(acc, v)
						}
						first = false
					}
				}
				if k.avg {
					acc /= count
				}
				yd[(ri*ch+cc)*plane+p] = acc
			}
		}
	})
	f64Finish(y, yd)
	out[0] = y
	return nil
}

// ---- NonMaxSuppression ----

type nmsKernel struct{ center bool }

func buildNonMaxSuppression(n *Node) (Kernel, error) {
	if len(n.Inputs) < 2 || len(n.Inputs) > 5 || n.Input(0) == nil || n.Input(1) == nil {
		return nil, n.Errorf("NonMaxSuppression takes inputs boxes, scores and up to 3 optional ones, got %d inputs", len(n.Inputs))
	}
	if len(n.Outputs) != 1 || n.Output(0) == nil {
		return nil, n.Errorf("NonMaxSuppression has one output, got %d", len(n.Outputs))
	}
	for i, name := range []string{"boxes", "scores", "", "iou_threshold", "score_threshold"} {
		if name == "" {
			continue
		}
		if err := cnnCheckFloatInput(n, i, name); err != nil {
			return nil, err
		}
	}
	if dt := n.InputType(2); dt != tensor.Undefined && intFor(dt) == nil {
		return nil, n.Errorf("max_output_boxes_per_class has type %s, want INT64", tensor.Name(dt))
	}
	cpb, err := n.AttrInt("center_point_box", 0)
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	if cpb != 0 && cpb != 1 {
		return nil, n.Errorf("center_point_box %d is not 0 or 1", cpb)
	}
	return &nmsKernel{center: cpb == 1}, nil
}

// nmsCorners returns a box as x0 <= x1, y0 <= y1.
func (k *nmsKernel) corners(b []float64) (x0, y0, x1, y1 float64) {
	if k.center {
		return b[0] - b[2]/2, b[1] - b[3]/2, b[0] + b[2]/2, b[1] + b[3]/2
	}
	return min(b[1], b[3]), min(b[0], b[2]), max(b[1], b[3]), max(b[0], b[2])
}

// suppress reports whether boxes a and b overlap by more than th
// (intersection over union); boxes without area never do.
func (k *nmsKernel) suppress(a, b []float64, th float64) bool {
	ax0, ay0, ax1, ay1 := k.corners(a)
	bx0, by0, bx1, by1 := k.corners(b)
	iw := min(ax1, bx1) - max(ax0, bx0)
	ih := min(ay1, by1) - max(ay0, by0)
	if iw <= 0 || ih <= 0 {
		return false
	}
	inter := iw * ih
	areaA, areaB := (ax1-ax0)*(ay1-ay0), (bx1-bx0)*(by1-by0)
	union := areaA + areaB - inter
	if inter <= 0 || areaA <= 0 || areaB <= 0 || union <= 0 {
		return false
	}
	return inter/union > th
}

// nmsScalar reads the first element of an optional scalar input; ok is
// false when it is omitted or empty.
func nmsScalar(t *tensor.Tensor, name string) (v float64, ok bool, err error) {
	if t == nil || t.Len() == 0 {
		return 0, false, nil
	}
	if t.Len() != 1 {
		return 0, false, fmt.Errorf("%s has shape %v, want a scalar", name, t.Shape)
	}
	f, err := t.Float64s()
	if err != nil {
		return 0, false, fmt.Errorf("%s: %v", name, err)
	}
	return f[0], true, nil
}

func (k *nmsKernel) Run(c *Ctx, in, out []*tensor.Tensor) error {
	opt := func(i int) *tensor.Tensor {
		if i < len(in) {
			return in[i]
		}
		return nil
	}
	boxes, scores := in[0], in[1]
	if !cnnIsFloat(boxes.Type) || !cnnIsFloat(scores.Type) {
		return fmt.Errorf("boxes and scores must be float tensors, are %s and %s", tensor.Name(boxes.Type), tensor.Name(scores.Type))
	}
	bs, ss := boxes.Shape, scores.Shape
	if len(bs) != 3 || bs[2] != 4 {
		return fmt.Errorf("boxes has shape %v, want [num_batches, spatial_dimension, 4]", bs)
	}
	if len(ss) != 3 || ss[0] != bs[0] || ss[2] != bs[1] {
		return fmt.Errorf("scores has shape %v, want [%d, num_classes, %d]", ss, bs[0], bs[1])
	}
	var limit int64
	if t := opt(2); t != nil && t.Len() > 0 {
		if intFor(t.Type) == nil || t.Len() != 1 {
			return fmt.Errorf("max_output_boxes_per_class must be an INT64 scalar, is %s %v", tensor.Name(t.Type), t.Shape)
		}
		v, err := t.Int64s()
		if err != nil {
			return fmt.Errorf("max_output_boxes_per_class: %v", err)
		}
		limit = max(v[0], 0)
	}
	iou, _, err := nmsScalar(opt(3), "iou_threshold")
	if err != nil {
		return err
	}
	scoreTh, hasScoreTh, err := nmsScalar(opt(4), "score_threshold")
	if err != nil {
		return err
	}
	nb, ncl, nbox := int(ss[0]), int(ss[1]), int(ss[2])
	limit = min(limit, int64(nbox))
	var sel []int64
	if limit > 0 {
		bd, err := f64In(c, boxes)
		if err != nil {
			return err
		}
		sd, err := f64In(c, scores)
		if err != nil {
			return err
		}
		cand := make([]int, 0, nbox)
		var kept []int
		for b := range nb {
			bb := bd[b*nbox*4 : (b+1)*nbox*4]
			for cl := range ncl {
				sc := sd[(b*ncl+cl)*nbox : (b*ncl+cl+1)*nbox]
				cand = cand[:0]
				for i, s := range sc {
					if !math.IsNaN(s) && (!hasScoreTh || s > scoreTh) {
						cand = append(cand, i)
					}
				}
				slices.SortFunc(cand, func(a, b int) int {
					switch {
					case sc[a] > sc[b]:
						return -1
					case sc[a] < sc[b]:
						return 1
					}
					return a - b
				})
				kept = kept[:0]
				for _, i := range cand {
					if int64(len(kept)) >= limit {
						break
					}
					ok := true
					for _, j := range kept {
						if k.suppress(bb[4*i:4*i+4], bb[4*j:4*j+4], iou) {
							ok = false
							break
						}
					}
					if ok {
						kept = append(kept, i)
						sel = append(sel, int64(b), int64(cl), int64(i))
					}
				}
			}
		}
	}
	y, err := c.Alloc(tensor.Int64, int64(len(sel)/3), 3)
	if err != nil {
		return err
	}
	copy(y.Data.([]int64), sel)
	out[0] = y
	return nil
}

// ---- MaxUnpool ----

type maxUnpool struct {
	kernel, strides, pads []int64
}

func buildMaxUnpool(n *Node) (Kernel, error) {
	if len(n.Inputs) < 2 || len(n.Inputs) > 3 || n.Input(0) == nil || n.Input(1) == nil {
		return nil, n.Errorf("MaxUnpool takes inputs X, I and an optional output_shape, got %d inputs", len(n.Inputs))
	}
	if len(n.Outputs) != 1 || n.Output(0) == nil {
		return nil, n.Errorf("MaxUnpool has one output, got %d", len(n.Outputs))
	}
	for _, i := range []int{1, 2} {
		if dt := n.InputType(i); dt != tensor.Undefined && intFor(dt) == nil {
			return nil, n.Errorf("input %d has type %s, want INT64", i, tensor.Name(dt))
		}
	}
	k := &maxUnpool{}
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
	var err error
	if k.kernel, err = read("kernel_shape", 1); err != nil {
		return nil, err
	}
	nd := len(k.kernel)
	if nd == 0 || nd > cnnMaxDims {
		return nil, n.Errorf("kernel_shape %v must have 1 to %d dimensions", k.kernel, cnnMaxDims)
	}
	if k.strides, err = read("strides", 1); err != nil {
		return nil, err
	}
	if k.strides == nil {
		k.strides = slices.Repeat([]int64{1}, nd)
	}
	if k.pads, err = read("pads", 0); err != nil {
		return nil, err
	}
	if k.pads == nil {
		k.pads = make([]int64, 2*nd)
	}
	if len(k.strides) != nd || len(k.pads) != 2*nd {
		return nil, n.Errorf("kernel_shape %v, strides %v and pads %v do not agree in dimensions", k.kernel, k.strides, k.pads)
	}
	if s := n.Input(0).Shape; s != nil && len(s) != nd+2 {
		return nil, n.Errorf("X has rank %d but kernel_shape %v has %d dimensions", len(s), k.kernel, nd)
	}
	return k, nil
}

func (k *maxUnpool) Run(c *Ctx, in, out []*tensor.Tensor) error {
	x, it := in[0], in[1]
	nd := len(k.kernel)
	xs := x.Shape
	if len(xs) != nd+2 {
		return fmt.Errorf("X has shape %v but kernel_shape %v has %d dimensions", xs, k.kernel, nd)
	}
	if moveFor(x.Data) == nil {
		return fmt.Errorf("X has unsupported type %s", tensor.Name(x.Type))
	}
	if intFor(it.Type) == nil || !slices.Equal(it.Shape, xs) {
		return fmt.Errorf("I has type %s and shape %v, want INT64 of X's shape %v", tensor.Name(it.Type), it.Shape, xs)
	}
	// The indices address the unpooled tensor of the inferred shape; an
	// output_shape at least as large holds it at its origin.
	inferred := make([]int64, nd+2)
	inferred[0], inferred[1] = xs[0], xs[1]
	for i := range nd {
		v := (xs[2+i]-1)*k.strides[i] + k.kernel[i] - k.pads[i] - k.pads[nd+i]
		if v < 0 {
			return fmt.Errorf("X of shape %v with kernel_shape %v, strides %v and pads %v gives a negative output size", xs, k.kernel, k.strides, k.pads)
		}
		inferred[2+i] = v
	}
	shape := inferred
	if len(in) > 2 && in[2] != nil {
		want, err := intsOf(in[2])
		if err != nil {
			return fmt.Errorf("output_shape: %v", err)
		}
		if len(in[2].Shape) != 1 || len(want) != nd+2 {
			return fmt.Errorf("output_shape %v must list the %d dimensions of the output", want, nd+2)
		}
		for i := range want {
			if want[i] < inferred[i] {
				return fmt.Errorf("output_shape %v is smaller than the unpooled shape %v", want, inferred)
			}
		}
		shape = want
	}
	total, err := tensor.NumElements(inferred)
	if err != nil {
		return err
	}
	idx, err := it.Int64s()
	if err != nil {
		return fmt.Errorf("I: %v", err)
	}
	y, err := c.Zeros(x.Type, shape...)
	if err != nil {
		return err
	}
	same := slices.Equal(shape, inferred)
	ostr := rowMajor(shape)
	offs := make([]int, len(idx))
	for i, v := range idx {
		if v < 0 || v >= total {
			c.pool.put(y)
			return fmt.Errorf("I[%d] = %d is out of range [0, %d)", i, v, total)
		}
		if same {
			offs[i] = int(v)
			continue
		}
		off := 0
		for d := nd + 1; d >= 0; d-- {
			off += int(v%inferred[d]) * ostr[d]
			v /= inferred[d]
		}
		offs[i] = off
	}
	moveFor(x.Data).scatterRuns(y.Data, x.Data, offs, 1)
	out[0] = y
	return nil
}
