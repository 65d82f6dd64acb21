package train

import (
	"math"

	"github.com/onnx-prom/onnx-prom/onnx/tensor"
	"github.com/onnx-prom/onnx-prom/passes"
)

// actQuant fake-quantizes an activation the way the converted model will
// quantize it: per tensor, asymmetric 8-bit with 0 exactly representable
// (passes.ActivationParams), rounding half to even and saturating. The
// range is an exponential moving average of the batch minimum and
// maximum, updated on every training step (after the step that used the
// previous range). The backward pass is the straight-through estimator,
// zero outside the representable range.
type actQuant struct {
	opBase
	key      string // the value's name: the key of its range
	lo, hi   float32
	seen     bool // lo and hi hold a range
	momentum float32
	cfg      *passes.Config

	enabled    bool // quantize (else pass through and only observe)
	observe    bool // record the batch minimum and maximum
	p          passes.QParams
	scale, zp  float32
	qlo, qhi   float32 // integer range minus the zero point
	rlo, rhi   float32 // representable real range
	wmin, wmax []float32
	wseen      []bool
}

func newActQuant(key string, workers int, momentum float32, cfg *passes.Config) *actQuant {
	return &actQuant{key: key, momentum: momentum, cfg: cfg, enabled: true, observe: true,
		wmin: make([]float32, workers), wmax: make([]float32, workers), wseen: make([]bool, workers)}
}

// prepare derives the quantization parameters from the current range.
func (q *actQuant) prepare() {
	for w := range q.wseen {
		q.wseen[w] = false
	}
	lo, hi := q.lo, q.hi
	if !q.seen {
		lo, hi = 0, 0
	}
	q.p = passes.ActivationParams(lo, hi, q.cfg.Activations)
	q.scale = q.p.Scale
	q.zp = float32(q.p.ZeroPoint)
	qmin, qmax := float32(-128), float32(127)
	if q.p.Type == tensor.Uint8 {
		qmin, qmax = 0, 255
	}
	q.qlo, q.qhi = qmin-q.zp, qmax-q.zp
	q.rlo, q.rhi = q.p.Range()
}

func (q *actQuant) forward(w, lo, hi int) {
	x := q.in[0].data[lo*q.in[0].size : hi*q.in[0].size]
	y := q.out.data[lo*q.out.size : hi*q.out.size]
	if len(x) == 0 {
		return
	}
	mn, mx := x[0], x[0]
	y = y[:len(x)]
	if !q.enabled {
		for i, v := range x {
			if v < mn {
				mn = v
			}
			if v > mx {
				mx = v
			}
			y[i] = v
		}
	} else {
		s, lo32, hi32 := q.scale, q.qlo, q.qhi
		for i, v := range x {
			if v < mn {
				mn = v
			}
			if v > mx {
				mx = v
			}
			t := v / s
			if t < lo32 {
				t = lo32
			}
			if t > hi32 {
				t = hi32
			}
			// |t| <= 256: adding and subtracting 1.5·2²³ rounds to the
			// nearest integer, ties to even (the FPU's rounding mode).
			r := float32(t + roundMagic)
			y[i] = float32(r-roundMagic) * s
		}
	}
	if q.observe {
		if q.wseen[w] {
			mn, mx = min(mn, q.wmin[w]), max(mx, q.wmax[w])
		}
		q.wmin[w], q.wmax[w], q.wseen[w] = mn, mx, true
	}
}

// roundMagic is 1.5·2²³: for |t| < 2²², (t + roundMagic) - roundMagic is t
// rounded half to even in float32 arithmetic.
const roundMagic float32 = 12582912

func (q *actQuant) backward(w, lo, hi int) {
	in := q.in[0]
	if in.grad == nil {
		return
	}
	x := in.data[lo*in.size : hi*in.size]
	dy := q.out.grad[lo*q.out.size : hi*q.out.size]
	dx := in.grad[lo*in.size : hi*in.size]
	dy = dy[:len(x)]
	dx = dx[:len(x)]
	rlo, rhi := q.rlo, q.rhi
	if !q.enabled {
		rlo, rhi = -math.MaxFloat32, math.MaxFloat32
	}
	if q.acc[0] {
		for i, v := range x {
			dx[i] += maskf(dy[i], closedMask(v, rlo, rhi))
		}
		return
	}
	for i, v := range x {
		dx[i] = maskf(dy[i], closedMask(v, rlo, rhi))
	}
}

// batchRange combines the workers' observations of the last forward pass.
func (q *actQuant) batchRange() (float32, float32, bool) {
	var mn, mx float32
	ok := false
	for w, s := range q.wseen {
		if !s {
			continue
		}
		if !ok {
			mn, mx, ok = q.wmin[w], q.wmax[w], true
			continue
		}
		mn, mx = min(mn, q.wmin[w]), max(mx, q.wmax[w])
	}
	return mn, mx, ok
}

// update moves the range toward the last batch's minimum and maximum.
func (q *actQuant) update() {
	mn, mx, ok := q.batchRange()
	if !ok {
		return
	}
	if !q.seen {
		q.lo, q.hi, q.seen = mn, mx, true
		return
	}
	m := q.momentum
	q.lo = m*q.lo + (1-m)*mn
	q.hi = m*q.hi + (1-m)*mx
}

// widen extends the range to the last batch's minimum and maximum (range
// initialization by min/max calibration).
func (q *actQuant) widen() {
	mn, mx, ok := q.batchRange()
	if !ok {
		return
	}
	if !q.seen {
		q.lo, q.hi, q.seen = mn, mx, true
		return
	}
	q.lo, q.hi = min(q.lo, mn), max(q.hi, mx)
}

// Weight quantizer kinds.
const (
	quantTernary = iota + 1
	quantInt8
)

// weightQuant quantizes a weight tensor per output channel before each
// forward pass. Ternary: the TWN rule on the latent weights, recomputed
// every step (threshold 0.7·mean|w|, scale the mean |w| above it); int8:
// symmetric, scale max|w|/127, codes in [-127, 127]. Gradients reach the
// latent weights unchanged (straight-through estimator).
type weightQuant struct {
	kind   int
	axis   int // output-channel axis: 0 for [M, ...], 1 for [K, M]
	rows   int // output channels
	scales []float32
	codes  []int8
}

func newWeightQuant(kind int, p *Param, axis int) *weightQuant {
	rows := p.Shape[axis]
	return &weightQuant{kind: kind, axis: axis, rows: rows, scales: make([]float32, rows), codes: make([]int8, len(p.Data))}
}

// apply writes the quantized weights of p.Data into p.eff.
func (q *weightQuant) apply(p *Param) {
	if q.axis == 0 {
		per := len(p.Data) / q.rows
		for m := 0; m < q.rows; m++ {
			q.scales[m] = q.channel(p.Data[m*per:(m+1)*per], p.eff[m*per:(m+1)*per], q.codes[m*per:(m+1)*per], 1)
		}
		return
	}
	// [K, M]: channel m is column m, stride M.
	cols := q.rows
	k := len(p.Data) / cols
	for m := 0; m < cols; m++ {
		q.scales[m] = q.channel(p.Data[m:m+(k-1)*cols+1], p.eff[m:m+(k-1)*cols+1], q.codes[m:m+(k-1)*cols+1], cols)
	}
}

// channel quantizes one output channel (elements stride apart) and
// returns its scale.
func (q *weightQuant) channel(w, out []float32, codes []int8, stride int) float32 {
	n := (len(w) + stride - 1) / stride
	if q.kind == quantTernary {
		var sum float64
		for i := 0; i < len(w); i += stride {
			sum += math.Abs(float64(w[i]))
		}
		mean := sum / float64(n)
		delta := 0.7 * mean
		var s float64
		cnt := 0
		for i := 0; i < len(w); i += stride {
			if a := math.Abs(float64(w[i])); a > delta && mean > 0 {
				s += a
				cnt++
			}
		}
		scale := float32(1)
		if cnt > 0 {
			scale = float32(s / float64(cnt))
		}
		for i := 0; i < len(w); i += stride {
			var c int8
			if a := math.Abs(float64(w[i])); a > delta && mean > 0 {
				c = 1
				if w[i] < 0 {
					c = -1
				}
			}
			codes[i] = c
			out[i] = float32(c) * scale
		}
		return scale
	}
	var amax float64
	for i := 0; i < len(w); i += stride {
		amax = max(amax, math.Abs(float64(w[i])))
	}
	s := amax / 127
	if s == 0 {
		s = 1
	}
	scale := shortScale(float32(s))
	for i := 0; i < len(w); i += stride {
		x := math.RoundToEven(float64(w[i]) / float64(scale))
		c := int8(max(-127, min(127, x)))
		codes[i] = c
		out[i] = float32(c) * scale
	}
	return scale
}

// quantizeBias puts a bias on the int32 grid of x_scale·w_scale[m], as
// the converter stores it.
func quantizeBias(dst, b []float32, xScale float32, wScale []float32, perChannel bool) {
	for m := range dst {
		ws := wScale[0]
		if perChannel {
			ws = wScale[m]
		}
		s := float64(xScale) * float64(ws)
		q := math.RoundToEven(float64(b[m]) / s)
		q = max(math.MinInt32, min(math.MaxInt32, q))
		dst[m] = float32(q * s)
	}
}

// shortScale rounds an int8 weight scale to 17 significant bits. Then
// every code·scale (codes need 7 bits) is exact in float32, so the
// exported weights lie on the grid exactly, and the converter's rule
// (scale = max|w|/127 = 127·scale/127) gives back the same scale, bit for
// bit. The change is at most 2⁻¹⁷ of the scale.
func shortScale(s float32) float32 {
	b := math.Float32bits(s)
	if b&0x7f800000 == 0x7f800000 {
		return s // infinity or NaN: left to fail elsewhere
	}
	return math.Float32frombits((b + 0x40) &^ 0x7f)
}
