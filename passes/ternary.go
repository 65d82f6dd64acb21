package passes

import (
	"math"
)

// TernaryWeights are a convolution's weights in PROM form: per output
// channel m, W[m,...] = Scale[m] * Codes[m,...] with codes in {-1, 0, +1}.
type TernaryWeights struct {
	Codes []int8
	Scale []float32
	Shape []int64
	// Exact counts the channels whose float weights already took at most
	// the three values {-a, 0, +a} and were recovered without error.
	Exact int
	// Zeros counts the zero codes.
	Zeros int
	// SqErr is Σ (W - Scale·Codes)², SqNorm is Σ W², over all weights.
	SqErr, SqNorm float64
}

// Channels is the number of output channels.
func (t *TernaryWeights) Channels() int { return len(t.Scale) }

// Dequantized returns Scale[m]*Codes as float32, in the weights' layout.
func (t *TernaryWeights) Dequantized() []float32 {
	out := make([]float32, len(t.Codes))
	per := len(t.Codes) / len(t.Scale)
	for i, c := range t.Codes {
		out[i] = float32(c) * t.Scale[i/per]
	}
	return out
}

// TernarizeWeights converts float weights of shape [M, ...] to ternary form, one
// scale per output channel. A channel whose weights take at most the values
// {-a, 0, +a} (as exported after ternary QAT) is recovered exactly: codes
// are the signs and the scale is a, with no thresholding. Other channels
// use rule: TWN (threshold 0.7·mean|W|, scale the mean of |W| above it) or
// absmean (g = mean|W|, codes clip(round(W/g), -1, 1), scale g). An
// all-zero channel gets scale 1 and zero codes.
func TernarizeWeights(w []float32, shape []int64, rule TernaryRule) *TernaryWeights {
	m := int(shape[0])
	per := len(w) / m
	t := &TernaryWeights{Codes: make([]int8, len(w)), Scale: make([]float32, m), Shape: append([]int64{}, shape...)}
	for o := 0; o < m; o++ {
		ch := w[o*per : (o+1)*per]
		codes := t.Codes[o*per : (o+1)*per]
		if a, ok := exactTernary(ch); ok {
			for i, v := range ch {
				codes[i] = sign(v)
			}
			t.Scale[o] = a
			t.Exact++
		} else {
			t.Scale[o] = ternarizeChannel(ch, codes, rule)
		}
		for i, v := range ch {
			d := float64(v) - float64(t.Scale[o])*float64(codes[i])
			t.SqErr += d * d
			t.SqNorm += float64(v) * float64(v)
			if codes[i] == 0 {
				t.Zeros++
			}
		}
	}
	return t
}

// exactTernary reports whether every weight is 0, +a or -a for one a > 0
// (bit-exact), and returns a (1 for an all-zero channel).
func exactTernary(ch []float32) (float32, bool) {
	var a float32
	for _, v := range ch {
		if v == 0 {
			continue
		}
		av := float32(math.Abs(float64(v)))
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return 0, false
		}
		if a == 0 {
			a = av
		} else if av != a {
			return 0, false
		}
	}
	if a == 0 {
		return 1, true
	}
	return a, true
}

func sign(v float32) int8 {
	switch {
	case v > 0:
		return 1
	case v < 0:
		return -1
	}
	return 0
}

func ternarizeChannel(ch []float32, codes []int8, rule TernaryRule) float32 {
	var sumAbs float64
	for _, v := range ch {
		sumAbs += math.Abs(float64(v))
	}
	meanAbs := sumAbs / float64(len(ch))
	if meanAbs == 0 {
		return 1
	}
	switch rule {
	case RuleAbsMean:
		for i, v := range ch {
			q := math.RoundToEven(float64(v) / meanAbs)
			codes[i] = int8(max(-1, min(1, q)))
		}
		return float32(meanAbs)
	default: // TWN
		delta := 0.7 * meanAbs
		var sum float64
		n := 0
		for i, v := range ch {
			if math.Abs(float64(v)) > delta {
				codes[i] = sign(v)
				sum += math.Abs(float64(v))
				n++
			} else {
				codes[i] = 0
			}
		}
		if n == 0 {
			return 1
		}
		return float32(sum / float64(n))
	}
}
