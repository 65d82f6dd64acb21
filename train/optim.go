package train

import (
	"fmt"
	"math"
)

// Optimizers.
const (
	Adam = "adam"
	SGD  = "sgd"
)

// optimizer updates trainable parameters from their gradients. SGD uses
// momentum and adds weight decay to the gradient (L2); Adam decouples the
// decay (AdamW). Decay applies only to parameters marked Decay.
type optimizer struct {
	kind     string
	momentum float64
	beta1    float64
	beta2    float64
	eps      float64
	decay    float64
	relative bool // quantized weights: steps relative to each channel's magnitude
	t        int
}

func newOptimizer(kind string, momentum, decay float64) (*optimizer, error) {
	switch kind {
	case Adam, SGD:
	default:
		return nil, fmt.Errorf("optimizer %q: want %s or %s", kind, Adam, SGD)
	}
	return &optimizer{kind: kind, momentum: momentum, beta1: 0.9, beta2: 0.999, eps: 1e-8, decay: decay}, nil
}

func (o *optimizer) step(params []*Param, lr float64) {
	o.t++
	c1 := 1 - math.Pow(o.beta1, float64(o.t))
	c2 := 1 - math.Pow(o.beta2, float64(o.t))
	for _, p := range params {
		if !p.Trainable {
			continue
		}
		if p.m1 == nil {
			p.m1 = make([]float32, len(p.Data))
			if o.kind == Adam {
				p.m2 = make([]float32, len(p.Data))
			}
		}
		wd := 0.0
		if p.Decay {
			wd = o.decay
		}
		if o.relative && p.wq != nil && p.lrMul == nil {
			p.lrMul = channelMagnitudes(p)
		}
		switch o.kind {
		case SGD:
			mom, lr32, wd32 := float32(o.momentum), float32(lr), float32(wd)
			for i, g := range p.Grad {
				g += wd32 * p.Data[i]
				v := mom*p.m1[i] + g
				p.m1[i] = v
				if p.lrMul != nil {
					p.Data[i] -= lr32 * p.lrMul[i] * v
				} else {
					p.Data[i] -= lr32 * v
				}
			}
		case Adam:
			b1, b2 := float32(o.beta1), float32(o.beta2)
			a := float32(lr / c1)
			ic2 := float32(1 / c2)
			eps := float32(o.eps)
			shrink := float32(1 - lr*wd)
			for i, g := range p.Grad {
				m := b1*p.m1[i] + (1-b1)*g
				v := b2*p.m2[i] + (1-b2)*g*g
				p.m1[i], p.m2[i] = m, v
				step := a * m / (float32(math.Sqrt(float64(v*ic2))) + eps)
				if p.lrMul != nil {
					step *= p.lrMul[i]
				}
				p.Data[i] = p.Data[i]*shrink - step
			}
		}
	}
}

// schedule is the learning rate at step t of total: linear warm-up over
// warmup steps, then cosine decay to zero (or constant).
func schedule(base float64, t, total, warmup int, cosine bool) float64 {
	if t < warmup {
		return base * float64(t+1) / float64(warmup)
	}
	if !cosine || total <= warmup {
		return base
	}
	x := float64(t-warmup) / float64(total-warmup)
	return base * 0.5 * (1 + math.Cos(math.Pi*x))
}

// channelMagnitudes returns, for every element of a quantized weight
// tensor, the mean |w| of its output channel (at the first step), or the
// tensor's mean for an all-zero channel.
func channelMagnitudes(p *Param) []float32 {
	q := p.wq
	out := make([]float32, len(p.Data))
	chanOf := func(i int) int {
		if q.axis == 1 {
			return i % q.rows
		}
		return i / (len(p.Data) / q.rows)
	}
	sums := make([]float64, q.rows)
	var total float64
	for i, v := range p.Data {
		a := math.Abs(float64(v))
		sums[chanOf(i)] += a
		total += a
	}
	per := float64(len(p.Data) / q.rows)
	mean := total / float64(len(p.Data))
	if mean == 0 {
		mean = 1
	}
	for i := range out {
		m := sums[chanOf(i)] / per
		if m == 0 {
			m = mean
		}
		out[i] = float32(m)
	}
	return out
}
