package train

import "math"

// bnOp is BatchNormalization over channel axis 1 of x [C, S...] per
// sample. With batch statistics (training a float model) the mean and
// variance come from the batch and the running statistics are updated;
// otherwise the running statistics normalize, frozen. Work items are
// channels.
type bnOp struct {
	opBase
	scale, bias, mean, vr *Param
	eps, momentum         float32
	C, S                  int
	batchStats            bool
	bmean, binv           []float32 // per channel, of the last forward
	usedBatch             bool      // the last forward used batch statistics
}

func (b *bnOp) items() int { return b.C }

func (b *bnOp) forward(w, lo, hi int) {
	x, y := b.in[0], b.out
	n := b.st.n
	useBatch := b.batchStats && b.st.training
	if lo == 0 {
		b.usedBatch = useBatch
	}
	for c := lo; c < hi; c++ {
		var mean, inv float64
		if useBatch {
			var s, ss float64
			for i := 0; i < n; i++ {
				s += float64(sum32(x.at(i)[c*b.S : (c+1)*b.S]))
			}
			cnt := float64(n * b.S)
			mean = s / cnt
			for i := 0; i < n; i++ {
				ss += float64(sumSqDev(x.at(i)[c*b.S:(c+1)*b.S], float32(mean)))
			}
			vr := ss / cnt
			inv = 1 / math.Sqrt(vr+float64(b.eps))
			m := float64(b.momentum)
			b.mean.Data[c] = float32(m*float64(b.mean.Data[c]) + (1-m)*mean)
			unbiased := vr
			if cnt > 1 {
				unbiased = ss / (cnt - 1)
			}
			b.vr.Data[c] = float32(m*float64(b.vr.Data[c]) + (1-m)*unbiased)
		} else {
			mean = float64(b.mean.Data[c])
			inv = 1 / math.Sqrt(float64(b.vr.Data[c])+float64(b.eps))
		}
		b.bmean[c], b.binv[c] = float32(mean), float32(inv)
		k := float32(inv) * b.scale.eff[c]
		off := b.bias.eff[c] - float32(mean)*k
		for i := 0; i < n; i++ {
			xs := x.at(i)[c*b.S : (c+1)*b.S]
			ys := y.at(i)[c*b.S : (c+1)*b.S]
			for j, v := range xs {
				ys[j] = v*k + off
			}
		}
	}
}

func (b *bnOp) backward(w, lo, hi int) {
	x, y := b.in[0], b.out
	n := b.st.n
	cnt := float64(n * b.S)
	for c := lo; c < hi; c++ {
		mean, inv := b.bmean[c], b.binv[c]
		var sdy, sdyx float64
		for i := 0; i < n; i++ {
			xs := x.at(i)[c*b.S : (c+1)*b.S]
			dys := y.gradAt(i)[c*b.S : (c+1)*b.S]
			sdy += float64(sum32(dys))
			sdyx += float64(dotDev(dys, xs, mean))
		}
		sdyx *= float64(inv)
		if b.scale.Trainable {
			b.scale.Grad[c] += float32(sdyx)
		}
		if b.bias.Trainable {
			b.bias.Grad[c] += float32(sdy)
		}
		if x.grad == nil {
			continue
		}
		gamma := b.scale.eff[c]
		k := gamma * inv
		var a, d float32
		if b.usedBatch {
			// dx = γ·inv·(dy − mean(dy) − x̂·mean(dy·x̂))
			a = float32(sdy / cnt)
			d = float32(sdyx / cnt)
		}
		// dx = k·(dy − a − (x − mean)·inv·d) = k·dy + e·x + f
		e := -k * inv * d
		f := -k*a + k*mean*inv*d
		for i := 0; i < n; i++ {
			xs := x.at(i)[c*b.S : (c+1)*b.S]
			dys := y.gradAt(i)[c*b.S : (c+1)*b.S][:len(xs)]
			dxs := x.gradAt(i)[c*b.S : (c+1)*b.S][:len(xs)]
			if b.acc[0] {
				for j, g := range dys {
					dxs[j] += k*g + e*xs[j] + f
				}
			} else {
				for j, g := range dys {
					dxs[j] = k*g + e*xs[j] + f
				}
			}
		}
	}
}

// sum32 sums v in float32 with four partial sums.
func sum32(v []float32) float32 {
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(v); i += 4 {
		s0 += v[i]
		s1 += v[i+1]
		s2 += v[i+2]
		s3 += v[i+3]
	}
	for ; i < len(v); i++ {
		s0 += v[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// sumSqDev is Σ (v − m)².
func sumSqDev(v []float32, m float32) float32 {
	var s0, s1 float32
	i := 0
	for ; i+2 <= len(v); i += 2 {
		d0, d1 := v[i]-m, v[i+1]-m
		s0 += d0 * d0
		s1 += d1 * d1
	}
	for ; i < len(v); i++ {
		d := v[i] - m
		s0 += d * d
	}
	return s0 + s1
}

// dotDev is Σ g·(x − m).
func dotDev(g, x []float32, m float32) float32 {
	x = x[:len(g)]
	var s0, s1 float32
	i := 0
	for ; i+2 <= len(g); i += 2 {
		s0 += g[i] * (x[i] - m)
		s1 += g[i+1] * (x[i+1] - m)
	}
	for ; i < len(g); i++ {
		s0 += g[i] * (x[i] - m)
	}
	return s0 + s1
}

// dot is Σ a·b.
func dot(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}
