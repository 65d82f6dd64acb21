package interp

import (
	"fmt"
	"math"
	"slices"

	"github.com/onnx-prom/onnx-prom/onnx/tensor"
)

// Resize (opsets 10..19+) and Upsample (7, 9). The interpolation is
// separable: each resized axis is one pass in which every output position
// is a weighted sum of a few input positions along that axis (1 for
// nearest, 2 for linear, 4 for cubic, more with antialias). Coordinates and
// weights follow the ONNX reference implementation: x_original from
// coordinate_transformation_mode (align_corners uses scale·in as the output
// length, as the reference and the backend tests do; ONNX Runtime uses the
// integer output size, which differs only when scales give a fractional
// scale·in), neighbours clamped to the edge,
// exclude_outside renormalizing, tf_crop_and_resize extrapolating.
// Resize-10 and Upsample use asymmetric coordinates and, for nearest, the
// rounding of ONNX Runtime ("simple": ceil when downsampling, floor
// otherwise). FLOAT, FLOAT16 and BFLOAT16 compute in float32, other
// numeric types in float64 (integers rounded and saturated back).

func init() {
	Register("", "Resize", buildResize)
	Register("", "Upsample", buildUpsample)
}

type resizeKernel struct {
	mode           string // nearest, linear, cubic
	coord          string
	nearest        string // round_prefer_floor, round_prefer_ceil, floor, ceil, simple
	cubicA         float64
	excludeOutside bool
	extrapolation  float64
	antialias      bool
	axes           []int64
	keepAspect     string
	// Input positions (-1 when the op version has none).
	roiIn, scalesIn, sizesIn int
	// scalesAttr holds Upsample-7's scales attribute.
	scalesAttr []float32
}

func buildUpsample(n *Node) (Kernel, error) {
	if len(n.Outputs) != 1 {
		return nil, n.Errorf("Upsample has one output")
	}
	k := &resizeKernel{coord: "asymmetric", nearest: "simple", roiIn: -1, scalesIn: 1, sizesIn: -1, cubicA: -0.75}
	mode, err := n.AttrString("mode", "nearest")
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	switch mode {
	case "nearest", "linear":
		k.mode = mode
	case "bilinear":
		k.mode = "linear"
	default:
		return nil, n.Errorf("mode %q is not nearest or linear", mode)
	}
	if n.Opset < 9 {
		if len(n.Inputs) != 1 || n.Input(0) == nil {
			return nil, n.Errorf("Upsample-7 takes one input")
		}
		if k.scalesAttr, err = n.AttrFloats("scales", nil); err != nil || k.scalesAttr == nil {
			return nil, n.Errorf("attribute scales is required")
		}
		k.scalesIn = -1
	} else if len(n.Inputs) != 2 || n.Input(0) == nil || n.Input(1) == nil {
		return nil, n.Errorf("Upsample takes inputs X and scales")
	}
	return k, nil
}

func buildResize(n *Node) (Kernel, error) {
	if len(n.Outputs) != 1 || len(n.Inputs) < 1 || n.Input(0) == nil {
		return nil, n.Errorf("Resize takes X and has one output")
	}
	k := &resizeKernel{roiIn: 1, scalesIn: 2, sizesIn: 3}
	var err error
	str := func(name, def string, allowed ...string) (string, error) {
		v, err := n.AttrString(name, def)
		if err != nil {
			return "", n.Errorf("%v", err)
		}
		if !slices.Contains(allowed, v) {
			return "", n.Errorf("%s %q is not one of %v", name, v, allowed)
		}
		return v, nil
	}
	if k.mode, err = str("mode", "nearest", "nearest", "linear", "cubic"); err != nil {
		return nil, err
	}
	if n.Opset < 11 {
		if len(n.Inputs) != 2 || n.Input(1) == nil {
			return nil, n.Errorf("Resize-10 takes inputs X and scales")
		}
		if k.mode == "cubic" {
			return nil, n.Errorf("mode cubic needs opset 11")
		}
		k.coord, k.nearest, k.roiIn, k.scalesIn, k.sizesIn, k.cubicA = "asymmetric", "simple", -1, 1, -1, -0.75
		return k, nil
	}
	if len(n.Inputs) > 4 {
		return nil, n.Errorf("Resize takes at most 4 inputs, got %d", len(n.Inputs))
	}
	if k.coord, err = str("coordinate_transformation_mode", "half_pixel", "half_pixel", "half_pixel_symmetric",
		"pytorch_half_pixel", "align_corners", "asymmetric", "tf_half_pixel_for_nn", "tf_crop_and_resize"); err != nil {
		return nil, err
	}
	if k.nearest, err = str("nearest_mode", "round_prefer_floor", "round_prefer_floor", "round_prefer_ceil", "floor", "ceil"); err != nil {
		return nil, err
	}
	a, err := n.AttrFloat("cubic_coeff_a", -0.75)
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	k.cubicA = float64(a)
	ex, err := n.AttrInt("exclude_outside", 0)
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	k.excludeOutside = ex != 0
	ev, err := n.AttrFloat("extrapolation_value", 0)
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	k.extrapolation = float64(ev)
	if n.Opset >= 18 {
		aa, err := n.AttrInt("antialias", 0)
		if err != nil {
			return nil, n.Errorf("%v", err)
		}
		k.antialias = aa != 0 && k.mode != "nearest"
		if k.axes, err = n.AttrInts("axes", nil); err != nil {
			return nil, n.Errorf("%v", err)
		}
		if k.keepAspect, err = str("keep_aspect_ratio_policy", "stretch", "stretch", "not_larger", "not_smaller"); err != nil {
			return nil, err
		}
	}
	if n.Opset < 13 && (len(n.Inputs) < 3 || n.Input(2) == nil) {
		return nil, n.Errorf("input scales is required before opset 13")
	}
	if xs := n.Input(0).Shape; xs != nil && k.axes != nil {
		if _, err := resizeAxes(k.axes, len(xs)); err != nil {
			return nil, n.Errorf("%v", err)
		}
	}
	return k, nil
}

// resizeAxes normalizes the axes attribute for rank r.
func resizeAxes(axes []int64, r int) ([]int, error) {
	if axes == nil {
		out := make([]int, r)
		for i := range out {
			out[i] = i
		}
		return out, nil
	}
	out := make([]int, len(axes))
	for i, a := range axes {
		if a < -int64(r) || a >= int64(r) {
			return nil, fmt.Errorf("axis %d is out of range for rank %d", a, r)
		}
		if a < 0 {
			a += int64(r)
		}
		if slices.Contains(out[:i], int(a)) {
			return nil, fmt.Errorf("axes %v repeat an axis", axes)
		}
		out[i] = int(a)
	}
	return out, nil
}

func (k *resizeKernel) input(in []*tensor.Tensor, i int) *tensor.Tensor {
	if i < 0 || i >= len(in) || in[i] == nil || in[i].Len() == 0 {
		return nil
	}
	return in[i]
}

func (k *resizeKernel) Run(c *Ctx, in, out []*tensor.Tensor) error {
	x := in[0]
	xs := x.Shape
	r := len(xs)
	if r == 0 {
		return fmt.Errorf("X is a scalar")
	}
	axes, err := resizeAxes(k.axes, r)
	if err != nil {
		return err
	}
	na := len(axes)
	scale := make([]float64, r)
	outDims := make([]int64, r)
	for i := range scale {
		scale[i], outDims[i] = 1, xs[i]
	}
	roiStart, roiEnd := make([]float64, r), make([]float64, r)
	for i := range roiEnd {
		roiEnd[i] = 1
	}
	if roi := k.input(in, k.roiIn); roi != nil && k.coord == "tf_crop_and_resize" {
		v, err := roi.Float64s()
		if err != nil {
			return fmt.Errorf("roi: %w", err)
		}
		if len(v) != 2*na {
			return fmt.Errorf("roi has %d values, want %d", len(v), 2*na)
		}
		for j, a := range axes {
			roiStart[a], roiEnd[a] = v[j], v[na+j]
		}
	}
	scalesT, sizesT := k.input(in, k.scalesIn), k.input(in, k.sizesIn)
	switch {
	case k.scalesAttr != nil || (scalesT != nil && sizesT == nil):
		var sv []float64
		if k.scalesAttr != nil {
			for _, v := range k.scalesAttr {
				sv = append(sv, float64(v))
			}
		} else {
			if scalesT.Type != tensor.Float {
				return fmt.Errorf("scales has type %s, want FLOAT", tensor.Name(scalesT.Type))
			}
			for _, v := range scalesT.Data.([]float32) {
				sv = append(sv, float64(v))
			}
		}
		if len(sv) != na {
			return fmt.Errorf("scales has %d values for %d axes", len(sv), na)
		}
		for j, a := range axes {
			s := sv[j]
			if !(s > 0) || math.IsInf(s, 0) {
				return fmt.Errorf("scale %v must be positive", s)
			}
			scale[a] = s
			o := float64(xs[a]) * s
			if k.coord == "tf_crop_and_resize" {
				o *= roiEnd[a] - roiStart[a]
			}
			if !(o >= 0) || o > 1<<31 {
				return fmt.Errorf("scale %v gives an invalid output size for dimension %d", s, xs[a])
			}
			outDims[a] = int64(math.Floor(o))
		}
	case sizesT != nil && scalesT == nil:
		if sizesT.Type != tensor.Int64 {
			return fmt.Errorf("sizes has type %s, want INT64", tensor.Name(sizesT.Type))
		}
		sz := sizesT.Data.([]int64)
		if len(sz) != na {
			return fmt.Errorf("sizes has %d values for %d axes", len(sz), na)
		}
		for j, a := range axes {
			if sz[j] < 0 || sz[j] > 1<<31 {
				return fmt.Errorf("sizes %v has an invalid value", sz)
			}
			if xs[a] == 0 && sz[j] != 0 {
				return fmt.Errorf("cannot resize an empty dimension to %d", sz[j])
			}
			outDims[a] = sz[j]
			if xs[a] > 0 {
				scale[a] = float64(sz[j]) / float64(xs[a])
			}
		}
		if k.keepAspect == "not_larger" || k.keepAspect == "not_smaller" {
			s := scale[axes[0]]
			for _, a := range axes[1:] {
				if k.keepAspect == "not_larger" {
					s = min(s, scale[a])
				} else {
					s = max(s, scale[a])
				}
			}
			for _, a := range axes {
				scale[a] = s
				outDims[a] = int64(s*float64(xs[a]) + 0.5)
			}
		}
	default:
		return fmt.Errorf("exactly one of scales and sizes must be given")
	}
	// The passes, smallest ratio first.
	var plan []*resizeAxis
	for a := 0; a < r; a++ {
		if outDims[a] == xs[a] && scale[a] == 1 && k.coord != "tf_crop_and_resize" && k.coord != "tf_half_pixel_for_nn" {
			continue
		}
		if xs[a] == 0 || outDims[a] == 0 {
			continue
		}
		ax, err := k.axisTable(c, a, int(xs[a]), int(outDims[a]), scale[a], roiStart[a], roiEnd[a])
		if err != nil {
			return err
		}
		plan = append(plan, ax)
	}
	slices.SortStableFunc(plan, func(p, q *resizeAxis) int {
		rp, rq := float64(p.out)/float64(p.in), float64(q.out)/float64(q.in)
		switch {
		case rp < rq:
			return -1
		case rp > rq:
			return 1
		}
		return 0
	})
	if cnnIsFloat(x.Type) {
		y, yf, err := cnnOut(c, x.Type, outDims...)
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
		resizeRun(c, plan, xs, xf, yf, float32(k.extrapolation), func(n int) []float32 { return c.Scratch(n) })
		cnnFinish(y, yf)
		return nil
	}
	xd, err := x.Float64s()
	if err != nil {
		return fmt.Errorf("type %s is not supported by Resize", tensor.Name(x.Type))
	}
	y, err := c.Alloc(x.Type, outDims...)
	if err != nil {
		return err
	}
	out[0] = y
	yd := c.ScratchOf(tensor.Double, y.Len()).([]float64)
	resizeRun(c, plan, xs, xd, yd, k.extrapolation, func(n int) []float64 { return c.ScratchOf(tensor.Double, n).([]float64) })
	return resizeStoreInts(y, yd)
}

// resizeAxis is the interpolation table of one axis: output position x is
// Σ_t w[x·taps+t]·input[idx[x·taps+t]], or the extrapolation value where
// extrap[x] is set.
type resizeAxis struct {
	axis, in, out, taps int
	idx                 []int32
	w                   []float64
	extrap              []bool
}

func (k *resizeKernel) axisTable(c *Ctx, axis, in, out int, scale, roiStart, roiEnd float64) (*resizeAxis, error) {
	ax := &resizeAxis{axis: axis, in: in, out: out}
	outF := scale * float64(in)
	var ns int // taps of the neighbourhood
	var start int
	switch k.mode {
	case "nearest":
		ns = 1
	case "linear":
		ns, start = 2, 0
		if k.antialias && scale < 1 {
			start = int(math.Floor(-1/scale)) + 1
			ns = 2 - 2*start
		}
	case "cubic":
		ns, start = 4, -1
		if k.antialias && scale < 1 {
			start = int(math.Floor(-2/scale)) + 1
			ns = 2 - 2*start
		}
	}
	if ns > 1<<12 || out*ns > 1<<26 {
		return nil, fmt.Errorf("resizing dimension %d from %d to %d needs too large a filter", axis, in, out)
	}
	ax.taps = ns
	ax.idx = c.ScratchOf(tensor.Int32, out*ns).([]int32)
	ax.w = c.ScratchOf(tensor.Double, out*ns).([]float64)
	coeff := make([]float64, ns)
	for x := 0; x < out; x++ {
		xf := float64(x)
		var xo float64
		switch k.coord {
		case "half_pixel":
			xo = (xf+0.5)/scale - 0.5
		case "half_pixel_symmetric":
			adj := float64(out) / outF
			center := float64(in) / 2
			xo = center*(1-adj) + (xf+0.5)/scale - 0.5
		case "pytorch_half_pixel":
			if out > 1 {
				xo = (xf+0.5)/scale - 0.5
			}
		case "align_corners":
			if outF != 1 {
				xo = xf * float64(in-1) / (outF - 1)
			}
			if out == 1 {
				xo = 0
			}
		case "asymmetric":
			xo = xf / scale
		case "tf_half_pixel_for_nn":
			xo = (xf + 0.5) / scale
		case "tf_crop_and_resize":
			if out > 1 {
				xo = roiStart*float64(in-1) + xf*(roiEnd-roiStart)*float64(in-1)/float64(out-1)
			} else {
				xo = 0.5 * (roiStart + roiEnd) * float64(in-1)
			}
			if xo < 0 || xo > float64(in-1) {
				if ax.extrap == nil {
					ax.extrap = make([]bool, out)
				}
				ax.extrap[x] = true
				continue
			}
		}
		taps := ax.idx[x*ns : (x+1)*ns]
		ws := ax.w[x*ns : (x+1)*ns]
		if k.mode == "nearest" {
			var i float64
			fl := math.Floor(xo)
			frac := xo - fl
			switch k.nearest {
			case "round_prefer_floor":
				i = fl
				if frac > 0.5 {
					i++
				}
			case "round_prefer_ceil":
				i = fl
				if frac >= 0.5 {
					i++
				}
			case "floor":
				i = fl
			case "ceil":
				i = math.Ceil(xo)
			case "simple":
				if scale < 1 {
					i = math.Ceil(xo)
				} else {
					i = math.Trunc(xo)
				}
			}
			taps[0] = int32(min(max(i, 0), float64(in-1)))
			ws[0] = 1
			continue
		}
		// x0 is the neighbour left of xo (xo itself counts as right), so
		// the ratio is in (0, 1].
		x0 := math.Ceil(xo) - 1
		ratio := xo - x0
		switch {
		case k.mode == "linear" && !(k.antialias && scale < 1):
			coeff[0], coeff[1] = 1-ratio, ratio
		case k.mode == "linear":
			for t := range coeff {
				v := 1 - math.Abs((float64(start+t)-ratio)*scale)
				coeff[t] = min(max(v, 0), 1)
			}
		case k.mode == "cubic" && !(k.antialias && scale < 1):
			A := k.cubicA
			r1, r2 := ratio+1, 1-ratio
			r3 := r2 + 1
			coeff[0] = ((A*r1-5*A)*r1+8*A)*r1 - 4*A
			coeff[1] = ((A+2)*ratio-(A+3))*ratio*ratio + 1
			coeff[2] = ((A+2)*r2-(A+3))*r2*r2 + 1
			coeff[3] = ((A*r3-5*A)*r3+8*A)*r3 - 4*A
		default:
			A := k.cubicA
			for t := range coeff {
				v := math.Abs(scale * (float64(start+t) - ratio))
				switch {
				case v <= 1:
					coeff[t] = (A+2)*v*v*v - (A+3)*v*v + 1
				case v < 2:
					coeff[t] = A*v*v*v - 5*A*v*v + 8*A*v - 4*A
				default:
					coeff[t] = 0
				}
			}
		}
		if k.antialias && scale < 1 {
			normalize(coeff)
		}
		for t := range coeff {
			pos := int(x0) + start + t
			if k.excludeOutside && (pos < 0 || pos >= in) {
				coeff[t] = 0
			}
			taps[t] = int32(min(max(pos, 0), in-1))
		}
		if k.excludeOutside {
			normalize(coeff)
		}
		copy(ws, coeff)
	}
	return ax, nil
}

func normalize(c []float64) {
	var s float64
	for _, v := range c {
		s += v
	}
	if s != 0 {
		for i := range c {
			c[i] /= s
		}
	}
}

// resizeRun applies the passes of plan to x (shape xs) and writes the
// result to y; scratch gives intermediate buffers.
func resizeRun[T float32 | float64](c *Ctx, plan []*resizeAxis, xs []int64, x, y []T, extrap T, scratch func(int) []T) {
	if len(plan) == 0 {
		copy(y, x)
		return
	}
	dims := make([]int, len(xs))
	for i, d := range xs {
		dims[i] = int(d)
	}
	src := x
	for pi, ax := range plan {
		outer, inner := 1, 1
		for _, d := range dims[:ax.axis] {
			outer *= d
		}
		for _, d := range dims[ax.axis+1:] {
			inner *= d
		}
		dims[ax.axis] = ax.out
		var dst []T
		if pi == len(plan)-1 {
			dst = y
		} else {
			dst = scratch(outer * ax.out * inner)
		}
		rows := outer * ax.out
		cnnFor(c, rows, max(1, (1<<14)/max(1, inner*ax.taps)), func(lo, hi int) {
			for row := lo; row < hi; row++ {
				o, xo := row/ax.out, row%ax.out
				d := dst[row*inner : (row+1)*inner]
				if ax.extrap != nil && ax.extrap[xo] {
					for i := range d {
						d[i] = extrap
					}
					continue
				}
				for t := 0; t < ax.taps; t++ {
					s := src[(o*ax.in+int(ax.idx[xo*ax.taps+t]))*inner:][:inner]
					w := T(ax.w[xo*ax.taps+t])
					switch {
					case t == 0 && w == 1:
						copy(d, s)
					case t == 0:
						for i, v := range s {
							d[i] = w * v
						}
					case w != 0:
						for i, v := range s {
							d[i] += w * v
						}
					}
				}
			}
		})
		src = dst
	}
}

// resizeStoreInts rounds float64 results into an integer (or bool)
// output, saturating.
func resizeStoreInts(y *tensor.Tensor, v []float64) error {
	sat := func(x, lo, hi float64) float64 {
		x = math.RoundToEven(x)
		return min(max(x, lo), hi)
	}
	switch d := y.Data.(type) {
	case []int8:
		for i := range d {
			d[i] = int8(sat(v[i], math.MinInt8, math.MaxInt8))
		}
	case []uint8:
		for i := range d {
			d[i] = uint8(sat(v[i], 0, math.MaxUint8))
		}
	case []int16:
		for i := range d {
			d[i] = int16(sat(v[i], math.MinInt16, math.MaxInt16))
		}
	case []uint16:
		for i := range d {
			d[i] = uint16(sat(v[i], 0, math.MaxUint16))
		}
	case []int32:
		for i := range d {
			d[i] = int32(sat(v[i], math.MinInt32, math.MaxInt32))
		}
	case []uint32:
		for i := range d {
			d[i] = uint32(sat(v[i], 0, math.MaxUint32))
		}
	case []int64:
		for i := range d {
			d[i] = int64(sat(v[i], math.MinInt64, math.MaxInt64))
		}
	case []uint64:
		for i := range d {
			d[i] = uint64(sat(v[i], 0, math.MaxUint64))
		}
	default:
		return fmt.Errorf("type %s is not supported by Resize", tensor.Name(y.Type))
	}
	return nil
}
