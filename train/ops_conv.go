package train

import (
	"github.com/onnx-prom/onnx-prom/verify/interp/kernels"
)

// Convolution kinds with their own code paths.
const (
	convGeneral   = iota // im2col + matrix product, any group count
	convPointwise        // 1x1, stride 1, no padding, one group: a plain matrix product
	convDepthwise        // one input and one output channel per group
)

// convOp is a 2-D Conv: x [C,H,W] -> y [M,OH,OW] per sample, weights
// [M, C/G, KH, KW], optional bias [M].
type convOp struct {
	opBase
	w, bias                *Param
	C, H, W, M, OH, OW, G  int
	KH, KW, SH, SW, DH, DW int
	PT, PL                 int
	kind                   int
	inQ                    *actQuant // QAT: the quantization of x (bias grid)

	gm      []*gemm
	scratch [][]float32
	src     []convSrc
}

func (c *convOp) weightParam() *Param   { return c.w }
func (c *convOp) biasParam() *Param     { return c.bias }
func (c *convOp) inputQuant() *actQuant { return c.inQ }

// convSrc maps product p of a per-group loop to image lo+p of group g for
// kernels.Conv2D (which numbers products n·Groups + g).
type convSrc struct {
	conv   kernels.Conv2D
	lo, g  int
	groups int
}

func (s *convSrc) PackB(dst []float32, p, k0, k1, j0, j1 int) {
	s.conv.PackB(dst, (s.lo+p)*s.groups+s.g, k0, k1, j0, j1)
}

func (c *convOp) init(workers int) {
	c.kind = convGeneral
	switch {
	case c.KH == 1 && c.KW == 1 && c.SH == 1 && c.SW == 1 && c.PT == 0 && c.PL == 0 && c.G == 1 && c.OH == c.H && c.OW == c.W:
		c.kind = convPointwise
	case c.G == c.C && c.G == c.M:
		c.kind = convDepthwise
	}
	for w := 0; w < workers; w++ {
		c.gm = append(c.gm, newGemm())
		var sz int
		if c.kind == convGeneral {
			sz = 2 * (c.C / c.G) * c.KH * c.KW * c.OH * c.OW
		}
		c.scratch = append(c.scratch, make([]float32, sz))
		c.src = append(c.src, convSrc{conv: kernels.Conv2D{C: c.C, H: c.H, W: c.W, Groups: c.G, KH: c.KH, KW: c.KW,
			SH: c.SH, SW: c.SW, DH: c.DH, DW: c.DW, PadT: c.PT, PadL: c.PL, OH: c.OH, OW: c.OW}, groups: c.G})
	}
}

func (c *convOp) forward(w, lo, hi int) {
	x, y := c.in[0], c.out
	wt := c.w.eff
	P := c.OH * c.OW
	switch c.kind {
	case convPointwise:
		g := c.gm[w]
		g.pack(wt, c.C, false, c.M, c.C, 1)
		g.run(c.M, P, c.C, x.data[lo*x.size:], P, false, x.size, y.data[lo*y.size:], y.size, hi-lo, false)
	case convDepthwise:
		kk := c.KH * c.KW
		for n := lo; n < hi; n++ {
			xs, ys := x.at(n), y.at(n)
			clear(ys)
			for ch := 0; ch < c.C; ch++ {
				c.gatherPlane(ys[ch*P:(ch+1)*P], xs[ch*c.H*c.W:(ch+1)*c.H*c.W], wt[ch*kk:(ch+1)*kk])
			}
		}
	default:
		g := c.gm[w]
		mg, k := c.M/c.G, (c.C/c.G)*c.KH*c.KW
		src := &c.src[w]
		src.conv.X = x.data
		src.lo = lo
		for gi := 0; gi < c.G; gi++ {
			src.g = gi
			g.pack(wt[gi*mg*k:], k, false, mg, k, 1)
			g.runSrc(mg, P, k, src, y.data[(lo*c.M+gi*mg)*P:], y.size, hi-lo, false)
		}
		src.conv.X = nil
	}
	if c.bias != nil {
		b := c.bias.eff
		for n := lo; n < hi; n++ {
			ys := y.at(n)
			for m := 0; m < c.M; m++ {
				bv := b[m]
				if bv == 0 {
					continue
				}
				row := ys[m*P : (m+1)*P]
				for i := range row {
					row[i] += bv
				}
			}
		}
	}
}

func (c *convOp) backward(w, lo, hi int) {
	y := c.out
	P := c.OH * c.OW
	if c.bias != nil && c.bias.Trainable {
		db := c.bias.wgrad[w]
		for n := lo; n < hi; n++ {
			dy := y.gradAt(n)
			for m := 0; m < c.M; m++ {
				var s float32
				for _, v := range dy[m*P : (m+1)*P] {
					s += v
				}
				db[m] += s
			}
		}
	}
	switch c.kind {
	case convPointwise:
		c.backwardPointwise(w, lo, hi)
	case convDepthwise:
		c.backwardDepthwise(w, lo, hi)
	default:
		c.backwardGeneral(w, lo, hi)
	}
}

func (c *convOp) backwardPointwise(w, lo, hi int) {
	x, y := c.in[0], c.out
	P := c.OH * c.OW
	g := c.gm[w]
	if x.grad != nil {
		// dX_n = Wᵀ · dY_n
		g.pack(c.w.eff, c.C, true, c.C, c.M, 1)
		g.run(c.C, P, c.M, y.grad[lo*y.size:], P, false, y.size, x.grad[lo*x.size:], x.size, hi-lo, c.acc[0])
	}
	if c.w.Trainable {
		// dW += dY_n · X_nᵀ
		dw := c.w.wgrad[w]
		for n := lo; n < hi; n++ {
			g.pack(y.gradAt(n), P, false, c.M, P, 1)
			g.run(c.M, c.C, P, x.at(n), P, true, 0, dw, 0, 1, true)
		}
	}
}

func (c *convOp) backwardDepthwise(w, lo, hi int) {
	x, y := c.in[0], c.out
	P := c.OH * c.OW
	HW := c.H * c.W
	kk := c.KH * c.KW
	wt := c.w.eff
	for n := lo; n < hi; n++ {
		xs, dys := x.at(n), y.gradAt(n)
		if x.grad != nil {
			dxs := x.gradAt(n)
			for ch := 0; ch < c.C; ch++ {
				dx := dxs[ch*HW : (ch+1)*HW]
				dy := dys[ch*P : (ch+1)*P]
				wc := wt[ch*kk : (ch+1)*kk]
				if !c.acc[0] {
					clear(dx)
				}
				c.scatterPlane(dx, dy, wc)
			}
		}
		if c.w.Trainable {
			dw := c.w.wgrad[w]
			for ch := 0; ch < c.C; ch++ {
				c.filterGrad(dw[ch*kk:(ch+1)*kk], dys[ch*P:(ch+1)*P], xs[ch*HW:(ch+1)*HW])
			}
		}
	}
}

// validOut returns the output columns [lo, hi) whose input column
// o·S - pad + k·D lies in [0, in).
func validOut(out, in, s, pad, kd int) (int, int) {
	// o·s >= pad - kd  and  o·s <= in - 1 + pad - kd
	lo := 0
	if a := pad - kd; a > 0 {
		lo = (a + s - 1) / s
	}
	b := in - 1 + pad - kd
	if b < 0 {
		return 0, 0
	}
	hi := min(out, b/s+1)
	return lo, max(lo, hi)
}

// gatherPlane adds one depthwise plane: y[oh,ow] += Σ w[kh,kw]·x[ih,iw].
func (c *convOp) gatherPlane(y, xs, wc []float32) {
	if c.row3() {
		for kh := 0; kh < c.KH; kh++ {
			ohLo, ohHi := validOut(c.OH, c.H, c.SH, c.PT, kh*c.DH)
			w0, w1, w2 := wc[kh*3], wc[kh*3+1], wc[kh*3+2]
			for oh := ohLo; oh < ohHi; oh++ {
				ih := oh*c.SH - c.PT + kh*c.DH
				row3(y[oh*c.OW:(oh+1)*c.OW], xs[ih*c.W:(ih+1)*c.W], w0, w1, w2)
			}
		}
		return
	}
	for kh := 0; kh < c.KH; kh++ {
		ohLo, ohHi := validOut(c.OH, c.H, c.SH, c.PT, kh*c.DH)
		for kw := 0; kw < c.KW; kw++ {
			wv := wc[kh*c.KW+kw]
			owLo, owHi := validOut(c.OW, c.W, c.SW, c.PL, kw*c.DW)
			if owLo >= owHi {
				continue
			}
			for oh := ohLo; oh < ohHi; oh++ {
				ih := oh*c.SH - c.PT + kh*c.DH
				row := xs[ih*c.W:]
				dst := y[oh*c.OW+owLo : oh*c.OW+owHi]
				iw := owLo*c.SW - c.PL + kw*c.DW
				if c.SW == 1 {
					axpy(dst, row[iw:iw+len(dst)], wv)
					continue
				}
				for i := range dst {
					dst[i] += wv * row[iw]
					iw += c.SW
				}
			}
		}
	}
}

// row3 reports whether rows are 3-tap "same" convolutions (KW 3, stride
// and dilation 1 along rows, one column of padding each side), which
// the row3 kernels compute in one pass.
func (c *convOp) row3() bool {
	return c.KW == 3 && c.SW == 1 && c.DW == 1 && c.PL == 1 && c.OW == c.W && c.W >= 2
}

// row3 adds w0·x[i-1] + w1·x[i] + w2·x[i+1] to y[i] (zero outside x).
func row3(y, x []float32, w0, w1, w2 float32) {
	n := len(y)
	x = x[:n]
	y[0] += w1*x[0] + w2*x[1]
	for i := 1; i < n-1; i++ {
		y[i] += w0*x[i-1] + w1*x[i] + w2*x[i+1]
	}
	y[n-1] += w0*x[n-2] + w1*x[n-1]
}

// row3Grad returns Σ g[i]·x[i-1], Σ g[i]·x[i], Σ g[i]·x[i+1].
func row3Grad(g, x []float32) (float32, float32, float32) {
	n := len(g)
	x = x[:n]
	s1 := g[0] * x[0]
	s2 := g[0] * x[1]
	var s0 float32
	for i := 1; i < n-1; i++ {
		gi := g[i]
		s0 += gi * x[i-1]
		s1 += gi * x[i]
		s2 += gi * x[i+1]
	}
	s0 += g[n-1] * x[n-2]
	s1 += g[n-1] * x[n-1]
	return s0, s1, s2
}

// axpy adds a·x to y.
func axpy(y, x []float32, a float32) {
	x = x[:len(y)]
	i := 0
	for ; i+4 <= len(y); i += 4 {
		y[i] += a * x[i]
		y[i+1] += a * x[i+1]
		y[i+2] += a * x[i+2]
		y[i+3] += a * x[i+3]
	}
	for ; i < len(y); i++ {
		y[i] += a * x[i]
	}
}

// scatterPlane adds the gradient of one depthwise plane: dx[ih,iw] +=
// w[kh,kw]·dy[oh,ow].
func (c *convOp) scatterPlane(dx, dy, wc []float32) {
	if c.row3() {
		for kh := 0; kh < c.KH; kh++ {
			ohLo, ohHi := validOut(c.OH, c.H, c.SH, c.PT, kh*c.DH)
			// dx[iw] gets w0·dy[iw+1] + w1·dy[iw] + w2·dy[iw-1].
			w0, w1, w2 := wc[kh*3], wc[kh*3+1], wc[kh*3+2]
			for oh := ohLo; oh < ohHi; oh++ {
				ih := oh*c.SH - c.PT + kh*c.DH
				row3(dx[ih*c.W:(ih+1)*c.W], dy[oh*c.OW:(oh+1)*c.OW], w2, w1, w0)
			}
		}
		return
	}
	for kh := 0; kh < c.KH; kh++ {
		ohLo, ohHi := validOut(c.OH, c.H, c.SH, c.PT, kh*c.DH)
		for kw := 0; kw < c.KW; kw++ {
			wv := wc[kh*c.KW+kw]
			owLo, owHi := validOut(c.OW, c.W, c.SW, c.PL, kw*c.DW)
			if owLo >= owHi {
				continue
			}
			for oh := ohLo; oh < ohHi; oh++ {
				ih := oh*c.SH - c.PT + kh*c.DH
				row := dx[ih*c.W:]
				g := dy[oh*c.OW:]
				iw := owLo*c.SW - c.PL + kw*c.DW
				if c.SW == 1 {
					axpy(row[iw:iw+owHi-owLo], g[owLo:owHi], wv)
					continue
				}
				for ow := owLo; ow < owHi; ow++ {
					row[iw] += wv * g[ow]
					iw += c.SW
				}
			}
		}
	}
}

// filterGrad adds Σ dy[oh,ow]·x[ih,iw] to each tap of one plane's filter.
func (c *convOp) filterGrad(dw, dy, xs []float32) {
	if c.row3() {
		for kh := 0; kh < c.KH; kh++ {
			ohLo, ohHi := validOut(c.OH, c.H, c.SH, c.PT, kh*c.DH)
			var s0, s1, s2 float32
			for oh := ohLo; oh < ohHi; oh++ {
				ih := oh*c.SH - c.PT + kh*c.DH
				a, b, d := row3Grad(dy[oh*c.OW:(oh+1)*c.OW], xs[ih*c.W:(ih+1)*c.W])
				s0 += a
				s1 += b
				s2 += d
			}
			dw[kh*3] += s0
			dw[kh*3+1] += s1
			dw[kh*3+2] += s2
		}
		return
	}
	for kh := 0; kh < c.KH; kh++ {
		ohLo, ohHi := validOut(c.OH, c.H, c.SH, c.PT, kh*c.DH)
		for kw := 0; kw < c.KW; kw++ {
			owLo, owHi := validOut(c.OW, c.W, c.SW, c.PL, kw*c.DW)
			var s float32
			for oh := ohLo; oh < ohHi; oh++ {
				ih := oh*c.SH - c.PT + kh*c.DH
				row := xs[ih*c.W:]
				g := dy[oh*c.OW:]
				iw := owLo*c.SW - c.PL + kw*c.DW
				if c.SW == 1 {
					s += dot(g[owLo:owHi], row[iw:iw+owHi-owLo])
					continue
				}
				for ow := owLo; ow < owHi; ow++ {
					s += g[ow] * row[iw]
					iw += c.SW
				}
			}
			dw[kh*c.KW+kw] += s
		}
	}
}

// im2col writes the columns of group g of one image: cols[k][p] with k =
// (c·KH + kh)·KW + kw over the group's channels and p = oh·OW + ow.
func (c *convOp) im2col(cols, xs []float32, g int) {
	cg := c.C / c.G
	P := c.OH * c.OW
	HW := c.H * c.W
	for ci := 0; ci < cg; ci++ {
		plane := xs[(g*cg+ci)*HW : (g*cg+ci+1)*HW]
		for kh := 0; kh < c.KH; kh++ {
			ohLo, ohHi := validOut(c.OH, c.H, c.SH, c.PT, kh*c.DH)
			for kw := 0; kw < c.KW; kw++ {
				row := cols[((ci*c.KH+kh)*c.KW+kw)*P:][:P]
				owLo, owHi := validOut(c.OW, c.W, c.SW, c.PL, kw*c.DW)
				if ohLo > 0 || ohHi < c.OH || owLo > 0 || owHi < c.OW {
					clear(row)
				}
				for oh := ohLo; oh < ohHi; oh++ {
					ih := oh*c.SH - c.PT + kh*c.DH
					src := plane[ih*c.W:]
					dst := row[oh*c.OW:]
					iw := owLo*c.SW - c.PL + kw*c.DW
					for ow := owLo; ow < owHi; ow++ {
						dst[ow] = src[iw]
						iw += c.SW
					}
				}
			}
		}
	}
}

// col2im adds column gradients back to group g of one image's input
// gradient.
func (c *convOp) col2im(dxs, cols []float32, g int) {
	cg := c.C / c.G
	P := c.OH * c.OW
	HW := c.H * c.W
	for ci := 0; ci < cg; ci++ {
		plane := dxs[(g*cg+ci)*HW : (g*cg+ci+1)*HW]
		for kh := 0; kh < c.KH; kh++ {
			ohLo, ohHi := validOut(c.OH, c.H, c.SH, c.PT, kh*c.DH)
			for kw := 0; kw < c.KW; kw++ {
				row := cols[((ci*c.KH+kh)*c.KW+kw)*P:][:P]
				owLo, owHi := validOut(c.OW, c.W, c.SW, c.PL, kw*c.DW)
				for oh := ohLo; oh < ohHi; oh++ {
					ih := oh*c.SH - c.PT + kh*c.DH
					dst := plane[ih*c.W:]
					src := row[oh*c.OW:]
					iw := owLo*c.SW - c.PL + kw*c.DW
					for ow := owLo; ow < owHi; ow++ {
						dst[iw] += src[ow]
						iw += c.SW
					}
				}
			}
		}
	}
}

func (c *convOp) backwardGeneral(w, lo, hi int) {
	x, y := c.in[0], c.out
	P := c.OH * c.OW
	g := c.gm[w]
	mg, k := c.M/c.G, (c.C/c.G)*c.KH*c.KW
	cols := c.scratch[w][:k*P]
	dcols := c.scratch[w][k*P : 2*k*P]
	for n := lo; n < hi; n++ {
		xs, dys := x.at(n), y.gradAt(n)
		if x.grad != nil && !c.acc[0] {
			clear(x.gradAt(n))
		}
		for gi := 0; gi < c.G; gi++ {
			dyg := dys[gi*mg*P : (gi+1)*mg*P]
			if c.w.Trainable {
				c.im2col(cols, xs, gi)
				g.pack(dyg, P, false, mg, P, 1)
				g.run(mg, k, P, cols, P, true, 0, c.w.wgrad[w][gi*mg*k:], 0, 1, true)
			}
			if x.grad != nil {
				g.pack(c.w.eff[gi*mg*k:], k, true, k, mg, 1)
				g.run(k, P, mg, dyg, P, false, 0, dcols, 0, 1, false)
				c.col2im(x.gradAt(n), dcols, gi)
			}
		}
	}
}
