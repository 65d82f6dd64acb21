package train

import "math"

// Elementwise activations.
const (
	actRelu = iota
	actClip
	actHardSigmoid
	actHardSwish
	actSigmoid
	actLeakyRelu
	actTanh
)

// unaryOp is an elementwise activation. Clip uses p1, p2 as its bounds,
// HardSigmoid as alpha, beta, LeakyRelu p1 as alpha.
type unaryOp struct {
	opBase
	kind   int
	p1, p2 float32
}

func (u *unaryOp) forward(w, lo, hi int) {
	x := u.in[0].data[lo*u.in[0].size : hi*u.in[0].size]
	y := u.out.data[lo*u.out.size : hi*u.out.size]
	switch u.kind {
	case actRelu:
		for i, v := range x {
			y[i] = max(v, 0)
		}
	case actClip:
		for i, v := range x {
			y[i] = min(max(v, u.p1), u.p2)
		}
	case actHardSigmoid:
		for i, v := range x {
			y[i] = min(max(u.p1*v+u.p2, 0), 1)
		}
	case actHardSwish:
		for i, v := range x {
			y[i] = v * min(max(v/6+0.5, 0), 1)
		}
	case actSigmoid:
		for i, v := range x {
			y[i] = float32(1 / (1 + math.Exp(-float64(v))))
		}
	case actLeakyRelu:
		for i, v := range x {
			if v < 0 {
				v *= u.p1
			}
			y[i] = v
		}
	case actTanh:
		for i, v := range x {
			y[i] = float32(math.Tanh(float64(v)))
		}
	}
}

func (u *unaryOp) backward(w, lo, hi int) {
	in := u.in[0]
	if in.grad == nil {
		return
	}
	x := in.data[lo*in.size : hi*in.size]
	y := u.out.data[lo*u.out.size : hi*u.out.size][:len(x)]
	dy := u.out.grad[lo*u.out.size : hi*u.out.size][:len(x)]
	dx := in.grad[lo*in.size : hi*in.size][:len(x)]
	if !u.acc[0] {
		clear(dx)
	}
	switch u.kind {
	case actRelu:
		for i, v := range x {
			dx[i] += maskf(dy[i], openMask(v, 0, math.MaxFloat32))
		}
	case actClip:
		a, b := u.p1, u.p2
		for i, v := range x {
			dx[i] += maskf(dy[i], openMask(v, a, b))
		}
	case actHardSigmoid:
		for i, v := range x {
			if t := u.p1*v + u.p2; t > 0 && t < 1 {
				dx[i] += dy[i] * u.p1
			}
		}
	case actHardSwish:
		for i, v := range x {
			switch {
			case v >= 3:
				dx[i] += dy[i]
			case v > -3:
				dx[i] += dy[i] * (v/3 + 0.5)
			}
		}
	case actSigmoid:
		for i := range x {
			dx[i] += dy[i] * y[i] * (1 - y[i])
		}
	case actLeakyRelu:
		for i, v := range x {
			g := dy[i]
			if v < 0 {
				g *= u.p1
			}
			dx[i] += g
		}
	case actTanh:
		for i := range x {
			dx[i] += dy[i] * (1 - y[i]*y[i])
		}
	}
}

// copyOp copies its input (Reshape, Flatten, Squeeze, Unsqueeze,
// Identity, Dropout at inference): same data, another shape.
type copyOp struct{ opBase }

func (c *copyOp) forward(w, lo, hi int) {
	n := c.in[0].size
	copy(c.out.data[lo*n:hi*n], c.in[0].data[lo*n:hi*n])
}

func (c *copyOp) backward(w, lo, hi int) {
	in := c.in[0]
	if in.grad == nil {
		return
	}
	n := in.size
	dy := c.out.grad[lo*n : hi*n]
	dx := in.grad[lo*n : hi*n]
	if c.acc[0] {
		for i, v := range dy {
			dx[i] += v
		}
	} else {
		copy(dx, dy)
	}
}

// gapOp is GlobalAveragePool: x [C, S...] -> y [C, 1, ...].
type gapOp struct {
	opBase
	C, S int
}

func (g *gapOp) forward(w, lo, hi int) {
	inv := 1 / float32(g.S)
	for n := lo; n < hi; n++ {
		xs, ys := g.in[0].at(n), g.out.at(n)
		for c := 0; c < g.C; c++ {
			var s float32
			for _, v := range xs[c*g.S : (c+1)*g.S] {
				s += v
			}
			ys[c] = s * inv
		}
	}
}

func (g *gapOp) backward(w, lo, hi int) {
	in := g.in[0]
	if in.grad == nil {
		return
	}
	inv := 1 / float32(g.S)
	for n := lo; n < hi; n++ {
		dxs, dys := in.gradAt(n), g.out.gradAt(n)
		for c := 0; c < g.C; c++ {
			v := dys[c] * inv
			row := dxs[c*g.S : (c+1)*g.S]
			if g.acc[0] {
				for i := range row {
					row[i] += v
				}
			} else {
				for i := range row {
					row[i] = v
				}
			}
		}
	}
}

// openMask is all ones when a < v < b, else zero, without a branch (the
// masks of ReLU-like gradients are unpredictable).
func openMask(v, a, b float32) uint32 {
	return uint32(int32(math.Float32bits(a-v))>>31) & uint32(int32(math.Float32bits(v-b))>>31)
}

// closedMask is all ones when a <= v <= b, else zero.
func closedMask(v, a, b float32) uint32 {
	return ^uint32((int32(math.Float32bits(v-a)) | int32(math.Float32bits(b-v))) >> 31)
}

// maskf is g where the mask is set, else 0.
func maskf(g float32, m uint32) float32 { return math.Float32frombits(math.Float32bits(g) & m) }
