package passes

import (
	"math"

	"github.com/onnx-prom/onnx-prom/onnx/tensor"
)

// QParams are the quantization parameters of one tensor: real = Scale ·
// (q − ZeroPoint), q of Type (INT8 or UINT8).
type QParams struct {
	Scale     float32
	ZeroPoint int64
	Type      tensor.DataType
}

// qrange is the integer range of an 8-bit type.
func qrange(dt tensor.DataType) (int64, int64) {
	if dt == tensor.Uint8 {
		return 0, 255
	}
	return -128, 127
}

// ActivationParams chooses asymmetric parameters covering [lo, hi] widened
// to contain 0, so that 0 is exactly representable (padding and ReLU
// depend on it).
func ActivationParams(lo, hi float32, dt tensor.DataType) QParams {
	lo = min(lo, 0)
	hi = max(hi, 0)
	qmin, qmax := qrange(dt)
	if hi-lo < 1e-12 || math.IsNaN(float64(hi-lo)) {
		return QParams{Scale: 1, ZeroPoint: qZero(dt), Type: dt}
	}
	scale := (float64(hi) - float64(lo)) / float64(qmax-qmin)
	zp := int64(math.RoundToEven(float64(qmin) - float64(lo)/scale))
	zp = min(max(zp, qmin), qmax)
	return QParams{Scale: float32(scale), ZeroPoint: zp, Type: dt}
}

// qZero is the zero point that puts 0 in the middle of an empty range.
func qZero(dt tensor.DataType) int64 {
	if dt == tensor.Uint8 {
		return 128
	}
	return 0
}

// Quantize maps x to the integer grid, rounding half to even and
// saturating, as ONNX QuantizeLinear does.
func (p QParams) Quantize(x float32) int64 {
	qmin, qmax := qrange(p.Type)
	q := int64(math.RoundToEven(float64(x)/float64(p.Scale))) + p.ZeroPoint
	return min(max(q, qmin), qmax)
}

// Range is the real interval the parameters represent.
func (p QParams) Range() (float32, float32) {
	qmin, qmax := qrange(p.Type)
	return float32(qmin-p.ZeroPoint) * p.Scale, float32(qmax-p.ZeroPoint) * p.Scale
}

// symmetricWeights quantizes weights [M, ...] per output channel to int8
// in [-qmax, qmax] with zero point 0; it returns the codes and scales.
func symmetricWeights(w []float32, m int, qmax float64) ([]int8, []float32) {
	per := len(w) / m
	q := make([]int8, len(w))
	scales := make([]float32, m)
	for o := 0; o < m; o++ {
		ch := w[o*per : (o+1)*per]
		var amax float64
		for _, v := range ch {
			amax = max(amax, math.Abs(float64(v)))
		}
		s := amax / qmax
		if s == 0 {
			s = 1
		}
		scales[o] = float32(s)
		for i, v := range ch {
			x := math.RoundToEven(float64(v) / float64(scales[o]))
			q[o*per+i] = int8(max(-qmax, min(qmax, x)))
		}
	}
	return q, scales
}

// quantizeBias maps a float bias to int32 in units of xScale·wScale[m].
func quantizeBias(b []float32, xScale float32, wScale []float32) []int32 {
	out := make([]int32, len(wScale))
	for m := range out {
		if b == nil {
			continue
		}
		s := float64(xScale) * float64(wScale[m])
		q := math.RoundToEven(float64(b[m]) / s)
		out[m] = int32(max(math.MinInt32, min(math.MaxInt32, q)))
	}
	return out
}

// weightQMax is the largest weight code: 127, or 63 with uint8 activations.
// ONNX Runtime's x86 kernels without VNNI sum pairs of uint8 × int8
// products in saturating 16-bit arithmetic, which overflows with full-range
// weights (255·127·2 > 32767); 7-bit weights keep every pair in range, as
// ONNX Runtime's own reduce_range option does.
func (c Config) weightQMax() float64 {
	if c.Activations == tensor.Uint8 {
		return 63
	}
	return 127
}
