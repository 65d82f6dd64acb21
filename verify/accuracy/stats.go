package accuracy

import (
	"math"
)

// MaxSQNR is the SQNR reported for identical tensors (no error at all).
const MaxSQNR = 300.0

// errStats accumulates the error of a candidate tensor against a reference,
// over any number of tensors, in constant memory.
type errStats struct {
	n       int64
	sumRef2 float64 // Σ ref²
	sumC2   float64 // Σ cand²
	dot     float64 // Σ ref·cand
	sumErr2 float64 // Σ (cand - ref)²
	sumAbs  float64 // Σ |cand - ref|
	maxAbs  float64
	bad     int64 // NaN or infinite candidate elements
}

func (s *errStats) add(ref, cand float64) {
	if math.IsNaN(cand) || math.IsInf(cand, 0) {
		s.bad++
		return
	}
	d := cand - ref
	s.n++
	s.sumRef2 += ref * ref
	s.sumC2 += cand * cand
	s.dot += ref * cand
	s.sumErr2 += d * d
	a := math.Abs(d)
	s.sumAbs += a
	if a > s.maxAbs {
		s.maxAbs = a
	}
}

func (s *errStats) merge(o *errStats) {
	s.n += o.n
	s.sumRef2 += o.sumRef2
	s.sumC2 += o.sumC2
	s.dot += o.dot
	s.sumErr2 += o.sumErr2
	s.sumAbs += o.sumAbs
	s.maxAbs = max(s.maxAbs, o.maxAbs)
	s.bad += o.bad
}

// sqnr is 10·log10(Σref² / Σerr²) in dB, capped at MaxSQNR.
func (s *errStats) sqnr() float64 {
	if s.bad > 0 {
		return math.Inf(-1)
	}
	if s.sumErr2 == 0 {
		return MaxSQNR
	}
	if s.sumRef2 == 0 {
		return -MaxSQNR
	}
	return math.Min(MaxSQNR, 10*math.Log10(s.sumRef2/s.sumErr2))
}

// cosine is the cosine similarity of the concatenated tensors.
func (s *errStats) cosine() float64 {
	if s.sumRef2 == 0 || s.sumC2 == 0 {
		if s.sumRef2 == s.sumC2 {
			return 1
		}
		return 0
	}
	return s.dot / math.Sqrt(s.sumRef2*s.sumC2)
}

func (s *errStats) meanAbs() float64 {
	if s.n == 0 {
		return 0
	}
	return s.sumAbs / float64(s.n)
}

// finite clamps an SQNR to [-MaxSQNR, MaxSQNR], mapping infinities and
// NaN (which JSON cannot hold) to the bounds.
func finite(v float64) float64 {
	switch {
	case math.IsInf(v, 1) || v > MaxSQNR:
		return MaxSQNR
	case math.IsInf(v, -1) || v < -MaxSQNR:
		return -MaxSQNR
	case math.IsNaN(v):
		return -MaxSQNR
	}
	return v
}
