package train

import "math"

// lossSpec says what the loss is: cross-entropy with labels (weight ce)
// plus T²·KL(teacher ‖ student) on logits softened by temperature T
// (weight kl).
type lossSpec struct {
	ce, kl float64
	temp   float64
}

// lossGrad computes the loss of the batch in nt.logits, writes its
// gradient (of the batch mean) into nt.logits.grad and returns the summed
// loss and the number of correct top-1 predictions (among labeled
// samples). labels holds -1 for unlabeled samples; teacher holds the
// teacher's logits (n·K) or is nil.
func lossGrad(lb *buf, n int, labels []int, teacher []float32, ls lossSpec, probs []float32) (float64, int) {
	K := lb.size
	var total float64
	correct := 0
	inv := 1 / float64(n)
	for i := 0; i < n; i++ {
		z := lb.at(i)
		g := lb.gradAt(i)
		clear(g)
		if arg := argmax(z); i < len(labels) && labels[i] >= 0 && arg == labels[i] {
			correct++
		}
		if ls.ce > 0 && i < len(labels) && labels[i] >= 0 && labels[i] < K {
			lse := softmax(probs[:K], z, 1)
			total += ls.ce * (lse - float64(z[labels[i]]))
			for k := range g {
				p := float64(probs[k])
				if k == labels[i] {
					p--
				}
				g[k] += float32(ls.ce * p * inv)
			}
		}
		if ls.kl > 0 && teacher != nil {
			T := ls.temp
			t := teacher[i*K : (i+1)*K]
			pt := probs[K : 2*K]
			ps := probs[:K]
			lseT := softmax(pt, t, T)
			lseS := softmax(ps, z, T)
			var kl float64
			for k := range t {
				p := float64(pt[k])
				if p > 0 {
					logPt := float64(t[k])/T - lseT
					logPs := float64(z[k])/T - lseS
					kl += p * (logPt - logPs)
				}
			}
			total += ls.kl * T * T * kl
			for k := range g {
				g[k] += float32(ls.kl * T * (float64(ps[k]) - float64(pt[k])) * inv)
			}
		}
	}
	return total, correct
}

// softmax writes softmax(z/T) into p and returns log Σ exp(z/T).
func softmax(p, z []float32, T float64) float64 {
	mx := math.Inf(-1)
	for _, v := range z {
		mx = max(mx, float64(v)/T)
	}
	var s float64
	for k, v := range z {
		e := math.Exp(float64(v)/T - mx)
		p[k] = float32(e)
		s += e
	}
	for k := range p[:len(z)] {
		p[k] = float32(float64(p[k]) / s)
	}
	return mx + math.Log(s)
}

func argmax(z []float32) int {
	best := 0
	for k, v := range z {
		if v > z[best] {
			best = k
		}
	}
	return best
}
