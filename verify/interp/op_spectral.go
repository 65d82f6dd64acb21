package interp

import (
	"fmt"
	"math"
	"math/bits"
	"slices"

	"github.com/onnx-prom/onnx-prom/onnx/tensor"
)

// DFT (opset 17 with the axis attribute, opset 20 with the axis input),
// STFT and MelWeightMatrix, computed in float64 and rounded to the output's
// element type at the end. Transforms of power-of-two length run a radix-2
// FFT; short other lengths sum directly and longer ones use Bluestein's
// chirp-z algorithm (a power-of-two FFT of at least twice the length), so
// every length costs O(n log n).
//
// As in the ONNX reference implementation, a one-sided forward DFT or STFT
// of complex input keeps the first floor(n/2)+1 bins of the full
// transform, and an inverse one-sided DFT (IRFFT) reads the first
// floor(n/2)+1 bins of its input as half of a Hermitian spectrum and
// returns the real signal of length n (the imaginary parts of bin 0 and,
// for even n, bin n/2 do not contribute).

func init() {
	Register("", "DFT", buildDFT)
	Register("", "STFT", buildSTFT)
	Register("", "MelWeightMatrix", buildMelWeightMatrix)
}

// ---- helpers ----

// spFlag reads a 0/1 attribute.
func spFlag(n *Node, name string, def int64) (bool, error) {
	v, err := n.AttrInt(name, def)
	if err != nil {
		return false, n.Errorf("%v", err)
	}
	if v != 0 && v != 1 {
		return false, n.Errorf("%s %d is not 0 or 1", name, v)
	}
	return v == 1, nil
}

// spScalar reads a one-element INT32 or INT64 tensor.
func spScalar(t *tensor.Tensor, what string) (int64, error) {
	v, err := intsOf(t)
	if err != nil || len(v) != 1 || len(t.Shape) > 1 {
		return 0, fmt.Errorf("%s must be an INT32 or INT64 scalar, is %s %v", what, tensor.Name(t.Type), t.Shape)
	}
	return v[0], nil
}

// spFloatScalar reads a one-element float tensor.
func spFloatScalar(c *Ctx, t *tensor.Tensor, what string) (float64, error) {
	if !cnnIsFloat(t.Type) || t.Len() != 1 || len(t.Shape) > 1 {
		return 0, fmt.Errorf("%s must be a float scalar, is %s %v", what, tensor.Name(t.Type), t.Shape)
	}
	v, err := f64In(c, t)
	if err != nil {
		return 0, err
	}
	return v[0], nil
}

// spCheckInt is the compile-time check of an integer scalar input: its
// type when known, and its value against [lo, hi] when it is a constant.
func spCheckInt(n *Node, i int, what string, lo, hi int64) error {
	if n.Input(i) == nil {
		return nil
	}
	if dt := n.InputType(i); dt != tensor.Undefined && dt != tensor.Int32 && dt != tensor.Int64 {
		return n.Errorf("%s has type %s, want INT32 or INT64", what, tensor.Name(dt))
	}
	if t := n.Const(i); t != nil {
		v, err := spScalar(t, what)
		if err != nil {
			return n.Errorf("%v", err)
		}
		if v < lo || v > hi {
			return n.Errorf("%s %d is out of range [%d, %d]", what, v, lo, hi)
		}
	}
	return nil
}

// spMaxLen bounds a transform length (the output allocation bounds it
// further).
const spMaxLen = maxElements

// ---- FFT ----

const (
	spPow2 = iota
	spDirect
	spBluestein
)

// spDirectMax is the longest non-power-of-two length summed directly
// (O(n²) with an exact twiddle table); longer ones use Bluestein.
const spDirectMax = 48

// spPlan computes DFTs of one length n on split real and imaginary parts.
// Its tables are scratch memory of the run that made it; it is read-only
// once built, so the workers of a Parallel call share it.
type spPlan struct {
	n, kind int
	// wr, wi: the twiddles of the radix-2 stages (see spNewPlan), or
	// e^{-2πik/n} for k < n (direct).
	wr, wi []float64
	// Bluestein: the power-of-two plan of the convolution, the chirp
	// e^{-πik²/n} (k < n) and the spectrum of the conjugate chirp filter,
	// divided by the convolution length.
	sub    *spPlan
	cr, ci []float64
	fr, fi []float64
}

func spIsPow2(n int) bool { return n > 0 && n&(n-1) == 0 }

// spNewPlan builds the plan for length n (1 <= n <= spMaxLen). Its scratch
// allocations may panic with a limitError, which the run turns into an
// error.
func spNewPlan(c *Ctx, n int) *spPlan {
	p := &spPlan{n: n}
	switch {
	case spIsPow2(n):
		p.kind = spPow2
		// The twiddles of each stage in turn: e^{-πik/h} for k < h at
		// offset h-1, h = 1, 2, 4, ..., n/2.
		buf := c.ScratchOf(tensor.Double, 2*(n-1)).([]float64)
		p.wr, p.wi = buf[:n-1], buf[n-1:]
		for h := 1; h < n; h <<= 1 {
			for k := range h {
				s, co := math.Sincos(math.Pi * float64(k) / float64(h))
				p.wr[h-1+k], p.wi[h-1+k] = co, -s
			}
		}
	case n <= spDirectMax:
		p.kind = spDirect
		buf := c.ScratchOf(tensor.Double, 2*n).([]float64)
		p.wr, p.wi = buf[:n], buf[n:]
		for k := range n {
			s, co := math.Sincos(2 * math.Pi * float64(k) / float64(n))
			p.wr[k], p.wi[k] = co, -s
		}
	default:
		p.kind = spBluestein
		m := 1 << bits.Len(uint(2*n-2)) // >= 2n-1
		p.sub = spNewPlan(c, m)
		buf := c.ScratchOf(tensor.Double, 2*n+2*m).([]float64)
		p.cr, p.ci = buf[:n], buf[n:2*n]
		p.fr, p.fi = buf[2*n:2*n+m], buf[2*n+m:2*n+2*m]
		clear(p.fr)
		clear(p.fi)
		nn := uint64(2 * n)
		for k := range n {
			// k² mod 2n keeps the angle small and exact.
			q := uint64(k) * uint64(k) % nn
			s, co := math.Sincos(math.Pi * float64(q) / float64(n))
			p.cr[k], p.ci[k] = co, -s
			// The filter is the conjugate chirp at k and m-k.
			p.fr[k], p.fi[k] = co, s
			if k > 0 {
				p.fr[m-k], p.fi[m-k] = co, s
			}
		}
		p.sub.forward(p.fr, p.fi, nil)
		inv := 1 / float64(m)
		for k := range m {
			p.fr[k] *= inv
			p.fi[k] *= inv
		}
	}
	return p
}

// wsLen is the length of the workspace forward and inverse need.
func (p *spPlan) wsLen() int {
	switch p.kind {
	case spDirect:
		return 2 * p.n
	case spBluestein:
		return 2 * p.sub.n
	}
	return 0
}

// forward replaces (re, im) with its DFT: X[k] = Σ_j x[j] e^{-2πijk/n}.
func (p *spPlan) forward(re, im, ws []float64) {
	n := p.n
	re, im = re[:n], im[:n]
	switch p.kind {
	case spPow2:
		spRadix2(re, im, p.wr, p.wi)
	case spDirect:
		tr, ti := ws[:n], ws[n:2*n]
		for k := range n {
			var sr, si float64
			t := 0 // j·k mod n
			for j := range n {
				wr, wi := p.wr[t], p.wi[t]
				sr += re[j]*wr - im[j]*wi
				si += re[j]*wi + im[j]*wr
				if t += k; t >= n {
					t -= n
				}
			}
			tr[k], ti[k] = sr, si
		}
		copy(re, tr)
		copy(im, ti)
	case spBluestein:
		// X[k] = w[k] Σ_j (x[j] w[j]) conj(w[k-j]) with w[t] = e^{-πit²/n}:
		// a circular convolution of length m done by FFTs.
		m := p.sub.n
		ar, ai := ws[:m], ws[m:2*m]
		for j := range n {
			ar[j] = re[j]*p.cr[j] - im[j]*p.ci[j]
			ai[j] = re[j]*p.ci[j] + im[j]*p.cr[j]
		}
		clear(ar[n:])
		clear(ai[n:])
		p.sub.forward(ar, ai, nil)
		// Multiply by the filter's spectrum and conjugate, so that a
		// forward FFT computes the (conjugated) inverse.
		for k := range m {
			r := ar[k]*p.fr[k] - ai[k]*p.fi[k]
			i := ar[k]*p.fi[k] + ai[k]*p.fr[k]
			ar[k], ai[k] = r, -i
		}
		p.sub.forward(ar, ai, nil)
		for k := range n {
			r, i := ar[k], -ai[k]
			re[k] = r*p.cr[k] - i*p.ci[k]
			im[k] = r*p.ci[k] + i*p.cr[k]
		}
	}
}

// inverse replaces (re, im) with its unnormalized inverse DFT
// Σ_k X[k] e^{2πijk/n}: the conjugate of the forward DFT of the conjugate.
func (p *spPlan) inverse(re, im, ws []float64) {
	im = im[:p.n]
	for i := range im {
		im[i] = -im[i]
	}
	p.forward(re, im, ws)
	for i := range im {
		im[i] = -im[i]
	}
}

// spRadix2 is the in-place iterative radix-2 FFT of a power-of-two length
// n; wr, wi hold the twiddles of the stage of half-span h at offset h-1.
func spRadix2(re, im, wr, wi []float64) {
	n := len(re)
	if n <= 1 {
		return
	}
	for i, j := 1, 0; i < n; i++ {
		bit := n >> 1
		for ; j&bit != 0; bit >>= 1 {
			j ^= bit
		}
		j |= bit
		if i < j {
			re[i], re[j] = re[j], re[i]
			im[i], im[j] = im[j], im[i]
		}
	}
	// The stages up to spBlock points work within blocks that stay in
	// cache; the later ones sweep the whole array.
	lim := min(n, spBlock)
	for b0 := 0; b0 < n; b0 += lim {
		for h := 1; h < lim; h <<= 1 {
			spStage(re[b0:b0+lim], im[b0:b0+lim], wr[h-1:2*h-1], wi[h-1:2*h-1])
		}
	}
	for h := lim; h < n; h <<= 1 {
		spStage(re, im, wr[h-1:2*h-1], wi[h-1:2*h-1])
	}
}

// spBlock is the size of the blocks the early FFT stages work in (32 KiB
// of real and imaginary parts).
const spBlock = 1 << 11

// spStage does the butterflies of one radix-2 stage over re and im: spans
// of 2·len(wr) points, combined with the twiddles wr, wi.
func spStage(re, im, wr, wi []float64) {
	half := len(wr)
	for s := 0; s+2*half <= len(re); s += 2 * half {
		a, b := re[s:s+half], re[s+half:s+2*half]
		c, d := im[s:s+half], im[s+half:s+2*half]
		b, c, d = b[:len(a)], c[:len(a)], d[:len(a)]
		w1s, w2s := wr[:len(a)], wi[:len(a)]
		for k := range a {
			w1, w2 := w1s[k], w2s[k]
			xr := b[k]*w1 - d[k]*w2
			xi := b[k]*w2 + d[k]*w1
			b[k], d[k] = a[k]-xr, c[k]-xi
			a[k] += xr
			c[k] += xi
		}
	}
}

// spWork returns per-worker buffers of size each for the workers of a
// ParallelWorkers call over rows items with the given grain.
func spWork(c *Ctx, rows, grain, size int) []float64 {
	nw := max(1, min(c.Threads(), rows/max(grain, 1)))
	return c.ScratchOf(tensor.Double, nw*size).([]float64)
}

// spGrain is how many transforms of length n a worker takes at least.
func spGrain(n int) int { return max(1, 1<<14/max(n, 1)) }

// ---- DFT ----

type dftKernel struct {
	inverse, onesided bool
	axisInput         bool  // opset 20: the axis is input 2
	axis              int64 // opset 17: the axis attribute
}

func buildDFT(n *Node) (Kernel, error) {
	maxIn := 2
	if n.Opset >= 20 {
		maxIn = 3
	}
	if err := m2Arity(n, 1, maxIn, 1); err != nil {
		return nil, err
	}
	if err := cnnCheckFloatInput(n, 0, "input"); err != nil {
		return nil, err
	}
	k := &dftKernel{axisInput: n.Opset >= 20, axis: 1}
	var err error
	if k.inverse, err = spFlag(n, "inverse", 0); err != nil {
		return nil, err
	}
	if k.onesided, err = spFlag(n, "onesided", 0); err != nil {
		return nil, err
	}
	if k.axisInput {
		if n.HasAttr("axis") {
			return nil, n.Errorf("axis is an input from opset 20, not an attribute")
		}
		if dt := n.InputType(2); dt != tensor.Undefined && dt != tensor.Int64 && dt != tensor.Int32 {
			return nil, n.Errorf("axis has type %s, want INT64", tensor.Name(dt))
		}
	} else if k.axis, err = n.AttrInt("axis", 1); err != nil {
		return nil, n.Errorf("%v", err)
	}
	if err := spCheckInt(n, 1, "dft_length", 1, spMaxLen); err != nil {
		return nil, err
	}
	return k, nil
}

func (k *dftKernel) Run(c *Ctx, in, out []*tensor.Tensor) error {
	x := in[0]
	if !cnnIsFloat(x.Type) {
		return fmt.Errorf("input has type %s, want a float type", tensor.Name(x.Type))
	}
	xs := x.Shape
	r := len(xs)
	if r < 2 || (xs[r-1] != 1 && xs[r-1] != 2) {
		return fmt.Errorf("input has shape %v, want [..., 1] (real) or [..., 2] (complex) of rank 2 or more", xs)
	}
	axis := k.axis
	if k.axisInput {
		axis = -2
		if len(in) > 2 && in[2] != nil {
			v, err := spScalar(in[2], "axis")
			if err != nil {
				return err
			}
			axis = v
		}
	}
	a := axis
	if a < 0 {
		a += int64(r)
	}
	if a < 0 || a > int64(r-2) {
		return fmt.Errorf("axis %d is out of range for input rank %d (the last axis holds the real and imaginary parts)", axis, r)
	}
	dim := xs[a]
	irfft := k.inverse && k.onesided
	var n int64
	if len(in) > 1 && in[1] != nil {
		v, err := spScalar(in[1], "dft_length")
		if err != nil {
			return err
		}
		n = v
	} else if irfft {
		n = 2 * (dim - 1)
	} else {
		n = dim
	}
	if n < 1 || n > spMaxLen {
		return fmt.Errorf("dft_length %d is out of range [1, %d]", n, int64(spMaxLen))
	}
	nout, cout := n, int64(2)
	switch {
	case irfft:
		cout = 1
	case k.onesided:
		nout = n/2 + 1
	}
	oshape := slices.Clone(xs)
	oshape[a], oshape[r-1] = nout, cout
	y, yd, err := f64Out(c, x.Type, oshape...)
	if err != nil {
		return err
	}
	out[0] = y
	if len(yd) == 0 {
		return nil
	}
	xd, err := f64In(c, x)
	if err != nil {
		return err
	}
	N, D, No := int(n), int(dim), int(nout)
	cin := int(xs[r-1])
	inner := int(prod(xs[a+1 : r-1]))
	rows := int(prod(xs[:a])) * inner
	plan := spNewPlan(c, N)
	size := 2*N + plan.wsLen()
	grain := spGrain(N)
	ws := spWork(c, rows, grain, size)
	scale := 1 / float64(N)
	c.ParallelWorkers(rows, grain, func(w, lo, hi int) {
		buf := ws[w*size : (w+1)*size]
		re, im, pw := buf[:N], buf[N:2*N], buf[2*N:]
		for row := lo; row < hi; row++ {
			o, i := row/inner, row%inner
			ib, ob := o*D*inner+i, o*No*inner+i // element (o, 0, i)
			clear(re)
			clear(im)
			use := min(D, N)
			if irfft {
				use = min(D, N/2+1)
			}
			for j := range use {
				e := (ib + j*inner) * cin
				re[j] = xd[e]
				if cin == 2 {
					im[j] = xd[e+1]
				}
			}
			switch {
			case irfft:
				for j := N/2 + 1; j < N; j++ {
					re[j], im[j] = re[N-j], -im[N-j]
				}
				plan.inverse(re, im, pw)
				for j := range N {
					yd[ob+j*inner] = re[j] * scale
				}
				continue
			case k.inverse:
				plan.inverse(re, im, pw)
				for j := range N {
					re[j] *= scale
					im[j] *= scale
				}
			default:
				plan.forward(re, im, pw)
			}
			for j := range No {
				e := (ob + j*inner) * 2
				yd[e], yd[e+1] = re[j], im[j]
			}
		}
	})
	f64Finish(y, yd)
	return nil
}

// ---- STFT ----

func buildSTFT(n *Node) (Kernel, error) {
	if err := m2Arity(n, 2, 4, 1); err != nil {
		return nil, err
	}
	if err := cnnCheckFloatInput(n, 0, "signal"); err != nil {
		return nil, err
	}
	if err := cnnCheckFloatInput(n, 2, "window"); err != nil {
		return nil, err
	}
	onesided, err := spFlag(n, "onesided", 1)
	if err != nil {
		return nil, err
	}
	if err := spCheckInt(n, 1, "frame_step", 1, math.MaxInt64); err != nil {
		return nil, err
	}
	if err := spCheckInt(n, 3, "frame_length", 1, spMaxLen); err != nil {
		return nil, err
	}
	return KernelFunc(func(c *Ctx, in, out []*tensor.Tensor) error {
		x := in[0]
		if !cnnIsFloat(x.Type) {
			return fmt.Errorf("signal has type %s, want a float type", tensor.Name(x.Type))
		}
		xs := x.Shape
		if len(xs) != 3 || (xs[2] != 1 && xs[2] != 2) {
			return fmt.Errorf("signal has shape %v, want [batch, length, 1] (real) or [batch, length, 2] (complex)", xs)
		}
		batch, length, cin := xs[0], xs[1], int(xs[2])
		step, err := spScalar(in[1], "frame_step")
		if err != nil {
			return err
		}
		if step < 1 {
			return fmt.Errorf("frame_step %d is not positive", step)
		}
		var win *tensor.Tensor
		if len(in) > 2 && in[2] != nil {
			win = in[2]
			if !cnnIsFloat(win.Type) || len(win.Shape) != 1 {
				return fmt.Errorf("window must be a 1-D float tensor, is %s %v", tensor.Name(win.Type), win.Shape)
			}
		}
		fl := length
		switch {
		case len(in) > 3 && in[3] != nil:
			if fl, err = spScalar(in[3], "frame_length"); err != nil {
				return err
			}
			if win != nil && win.Shape[0] != fl {
				return fmt.Errorf("window has %d elements, frame_length is %d", win.Shape[0], fl)
			}
		case win != nil:
			fl = win.Shape[0]
		}
		if fl < 1 || fl > spMaxLen {
			return fmt.Errorf("frame_length %d is out of range [1, %d]", fl, int64(spMaxLen))
		}
		if fl > length {
			return fmt.Errorf("frame_length %d is longer than the signal (%d samples)", fl, length)
		}
		frames := 1 + (length-fl)/step
		bins := fl
		if onesided {
			bins = fl/2 + 1
		}
		y, yd, err := f64Out(c, x.Type, batch, frames, bins, 2)
		if err != nil {
			return err
		}
		out[0] = y
		if len(yd) == 0 {
			return nil
		}
		xd, err := f64In(c, x)
		if err != nil {
			return err
		}
		var wd []float64
		if win != nil {
			if wd, err = f64In(c, win); err != nil {
				return err
			}
		}
		N, F, B, L := int(fl), int(frames), int(bins), int(length)
		rows := int(batch) * F
		plan := spNewPlan(c, N)
		size := 2*N + plan.wsLen()
		grain := spGrain(N)
		ws := spWork(c, rows, grain, size)
		c.ParallelWorkers(rows, grain, func(w, lo, hi int) {
			buf := ws[w*size : (w+1)*size]
			re, im, pw := buf[:N], buf[N:2*N], buf[2*N:]
			for row := lo; row < hi; row++ {
				b, f := row/F, row%F
				start := b*L + int(int64(f)*step) // frames end within the signal
				for j := range N {
					e := (start + j) * cin
					v, vi := xd[e], 0.0
					if cin == 2 {
						vi = xd[e+1]
					}
					if wd != nil {
						v *= wd[j]
						vi *= wd[j]
					}
					re[j], im[j] = v, vi
				}
				plan.forward(re, im, pw)
				ob := row * B * 2
				for j := range B {
					yd[ob+2*j], yd[ob+2*j+1] = re[j], im[j]
				}
			}
		})
		f64Finish(y, yd)
		return nil
	}), nil
}

// ---- MelWeightMatrix ----

// melIntInputs names the integer inputs; num_mel_bins may be 0, the
// others must be positive.
var melIntInputs = [3]string{"num_mel_bins", "dft_length", "sample_rate"}

func buildMelWeightMatrix(n *Node) (Kernel, error) {
	if err := m2Arity(n, 5, 5, 1); err != nil {
		return nil, err
	}
	for i, what := range melIntInputs {
		if err := spCheckInt(n, i, what, min(int64(i), 1), math.MaxInt64); err != nil {
			return nil, err
		}
	}
	if err := cnnCheckFloatInput(n, 3, "lower_edge_hertz"); err != nil {
		return nil, err
	}
	if err := cnnCheckFloatInput(n, 4, "upper_edge_hertz"); err != nil {
		return nil, err
	}
	odt, err := n.AttrInt("output_datatype", int64(tensor.Float))
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	dt := tensor.DataType(odt)
	if !f64Numeric(dt) {
		return nil, n.Errorf("output_datatype %d is not a numeric type", odt)
	}
	return KernelFunc(func(c *Ctx, in, out []*tensor.Tensor) error {
		var iv [3]int64
		for i, what := range melIntInputs {
			v, err := spScalar(in[i], what)
			if err != nil {
				return err
			}
			iv[i] = v
		}
		nmel, dftLen, rate := iv[0], iv[1], iv[2]
		if nmel < 0 {
			return fmt.Errorf("num_mel_bins %d is negative", nmel)
		}
		if dftLen < 1 {
			return fmt.Errorf("dft_length %d is not positive", dftLen)
		}
		if rate < 1 {
			return fmt.Errorf("sample_rate %d is not positive", rate)
		}
		lo, err := spFloatScalar(c, in[3], "lower_edge_hertz")
		if err != nil {
			return err
		}
		hi, err := spFloatScalar(c, in[4], "upper_edge_hertz")
		if err != nil {
			return err
		}
		nbins := dftLen/2 + 1
		y, yd, err := f64Out(c, dt, nbins, nmel)
		if err != nil {
			return err
		}
		clear(yd)
		out[0] = y
		// Both edges must fall within the spectrogram (as ONNX Runtime
		// requires: the ONNX reference takes an upper edge past the
		// Nyquist frequency when the top band still fits).
		for _, e := range [2]struct {
			what string
			hz   float64
		}{{"lower_edge_hertz", lo}, {"upper_edge_hertz", hi}} {
			if b := math.Floor(float64(dftLen+1) * e.hz / float64(rate)); !(b >= 0 && b < float64(nbins)) {
				return fmt.Errorf("%s %g falls on spectrogram bin %g, outside [0, %d) for dft_length %d and sample_rate %d", e.what, e.hz, b, nbins, dftLen, rate)
			}
		}
		// num_mel_bins+2 points evenly spaced on the mel scale (the step
		// divides the range by num_mel_bins+2, as the ONNX reference and
		// ONNX Runtime do), each mapped to the spectrogram bin
		// floor((dft_length+1)·hz/sample_rate).
		mel := func(hz float64) float64 { return 2595 * math.Log10(1+hz/700) }
		lowMel, highMel := mel(lo), mel(hi)
		pts := int(nmel) + 2
		melStep := (highMel - lowMel) / float64(pts)
		fb := make([]int, pts)
		for i := range fb {
			hz := 700 * (math.Pow(10, (lowMel+melStep*float64(i))/2595) - 1)
			b := math.Floor(float64(dftLen+1) * hz / float64(rate))
			if !(b >= 0 && b < float64(nbins)) {
				return fmt.Errorf("lower_edge_hertz %g and upper_edge_hertz %g put mel band edge %d at spectrogram bin %g, outside [0, %d) for dft_length %d and sample_rate %d",
					lo, hi, i, b, nbins, dftLen, rate)
			}
			fb[i] = int(b)
		}
		m := int(nmel)
		for i := range m {
			l, ctr, h := fb[i], fb[i+1], fb[i+2]
			if lc := ctr - l; lc == 0 {
				yd[ctr*m+i] = 1
			} else {
				for j := l; j <= ctr; j++ {
					yd[j*m+i] = float64(j-l) / float64(lc)
				}
			}
			if ch := h - ctr; ch > 0 {
				for j := ctr; j < h; j++ {
					yd[j*m+i] = float64(h-j) / float64(ch)
				}
			}
		}
		f64Finish(y, yd)
		return nil
	}), nil
}
