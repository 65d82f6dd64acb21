package train

import "fmt"

// Elementwise binary operators.
const (
	binAdd = iota
	binSub
	binMul
	binDiv
)

// operand is one input of a binaryOp: a batched activation or a constant
// broadcast over the batch.
type operand struct {
	b     *buf      // activation, or nil
	c     []float32 // constant data when b is nil
	full  bool      // same per-sample shape as the output: no broadcasting
	rows  []int32   // offset of each output row (all but the last axis)
	inner int       // stride along the last axis: 0 (broadcast) or 1
}

func (o *operand) sample(n int) []float32 {
	if o.b != nil {
		return o.b.at(n)
	}
	return o.c
}

// binaryOp is Add, Sub, Mul or Div with multidirectional broadcasting
// between per-sample shapes (constants may also carry a leading 1 for
// the batch axis).
type binaryOp struct {
	opBase
	kind   int
	x, y   operand
	shape  []int // output per-sample shape
	rowLen int   // last axis of the output
}

// broadcastOperands sets up x and y for an output per-sample shape; xs and
// ys are the operands' per-sample shapes (constants: their shapes with a
// leading batch axis of 1 removed).
func (o *binaryOp) setup(xs, ys []int) error {
	r := max(len(xs), len(ys))
	pad := func(s []int) []int {
		out := make([]int, r)
		for i := range out {
			out[i] = 1
		}
		copy(out[r-len(s):], s)
		return out
	}
	px, py := pad(xs), pad(ys)
	shape := make([]int, r)
	for i := range shape {
		switch {
		case px[i] == py[i]:
			shape[i] = px[i]
		case px[i] == 1:
			shape[i] = py[i]
		case py[i] == 1:
			shape[i] = px[i]
		default:
			return fmt.Errorf("shapes %v and %v do not broadcast", xs, ys)
		}
	}
	if r == 0 {
		shape, px, py = []int{1}, []int{1}, []int{1}
		r = 1
	}
	o.shape = shape
	o.rowLen = shape[r-1]
	rows := numel(shape) / max(1, o.rowLen)
	for _, p := range []struct {
		op *operand
		s  []int
	}{{&o.x, px}, {&o.y, py}} {
		p.op.full = equalInts(p.s, shape)
		strides := make([]int, r)
		st := 1
		for i := r - 1; i >= 0; i-- {
			if p.s[i] != 1 {
				strides[i] = st
			}
			st *= p.s[i]
		}
		p.op.inner = strides[r-1]
		if p.op.full {
			continue
		}
		p.op.rows = make([]int32, rows)
		idx := make([]int, r)
		for row := 0; row < rows; row++ {
			off := 0
			for i := 0; i < r-1; i++ {
				off += idx[i] * strides[i]
			}
			p.op.rows[row] = int32(off)
			for i := r - 2; i >= 0; i-- {
				if idx[i]++; idx[i] < shape[i] {
					break
				}
				idx[i] = 0
			}
		}
	}
	return nil
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func (o *binaryOp) forward(w, lo, hi int) {
	L := o.rowLen
	for n := lo; n < hi; n++ {
		xs, ys, out := o.x.sample(n), o.y.sample(n), o.out.at(n)
		rows := len(out) / L
		for r := 0; r < rows; r++ {
			d := out[r*L : (r+1)*L]
			a := rowOf(&o.x, xs, r, L)
			b := rowOf(&o.y, ys, r, L)
			binRow(o.kind, d, a, o.x.inner, b, o.y.inner)
		}
	}
}

// rowOf returns row r of an operand's sample: L values, or one value to
// broadcast when the operand's last axis is 1.
func rowOf(p *operand, s []float32, r, L int) []float32 {
	if p.full {
		return s[r*L : (r+1)*L]
	}
	off := int(p.rows[r])
	if p.inner == 0 {
		return s[off : off+1]
	}
	return s[off : off+L]
}

func binRow(kind int, d, a []float32, ia int, b []float32, ib int) {
	switch {
	case ia == 1 && ib == 1:
		a, b = a[:len(d)], b[:len(d)]
		switch kind {
		case binAdd:
			for i := range d {
				d[i] = a[i] + b[i]
			}
		case binSub:
			for i := range d {
				d[i] = a[i] - b[i]
			}
		case binMul:
			for i := range d {
				d[i] = a[i] * b[i]
			}
		case binDiv:
			for i := range d {
				d[i] = a[i] / b[i]
			}
		}
	default:
		for i := range d {
			av, bv := a[i*ia], b[i*ib]
			switch kind {
			case binAdd:
				d[i] = av + bv
			case binSub:
				d[i] = av - bv
			case binMul:
				d[i] = av * bv
			case binDiv:
				d[i] = av / bv
			}
		}
	}
}

func (o *binaryOp) backward(w, lo, hi int) {
	for k, p := range []*operand{&o.x, &o.y} {
		if p.b == nil || p.b.grad == nil {
			continue
		}
		o.gradOperand(k, p, lo, hi)
	}
}

// gradOperand adds (or writes) the gradient of operand k (0: x, 1: y).
func (o *binaryOp) gradOperand(k int, p *operand, lo, hi int) {
	L := o.rowLen
	other := &o.y
	if k == 1 {
		other = &o.x
	}
	acc := o.acc[k]
	for n := lo; n < hi; n++ {
		dy, g := o.out.gradAt(n), p.b.gradAt(n)
		os := other.sample(n)
		ys := o.out.at(n)
		if !p.full && !acc {
			clear(g)
		}
		rows := len(dy) / L
		for r := 0; r < rows; r++ {
			dyr := dy[r*L : (r+1)*L]
			orow := rowOf(other, os, r, L)
			var off int
			if p.full {
				off = r * L
			} else {
				off = int(p.rows[r])
			}
			for i, gv := range dyr {
				var v float32
				switch o.kind {
				case binAdd:
					v = gv
				case binSub:
					v = gv
					if k == 1 {
						v = -gv
					}
				case binMul:
					v = gv * orow[i*other.inner]
				case binDiv:
					if k == 0 {
						v = gv / orow[i*other.inner]
					} else {
						// d(a/b)/db = -(a/b)/b
						v = -gv * ys[r*L+i] / p.b.at(n)[off+i*p.inner]
					}
				}
				j := off + i*p.inner
				if p.full && !acc {
					g[j] = v
				} else {
					g[j] += v
				}
			}
		}
	}
}
