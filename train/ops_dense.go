package train

// gemmOp is Gemm (transA = 0) or MatMul with a constant right operand:
// y[N,M] = alpha·x[N,K]·op(W) + beta·bias, op(W) = Wᵀ for W [M,K]
// (transB = 1) or W for W [K,M].
type gemmOp struct {
	opBase
	w, bias     *Param
	K, M        int
	transB      bool
	alpha, beta float32
	biasKind    int // 0 none, 1 per column [M], 2 scalar
	inQ         *actQuant
	gm          []*gemm
}

func (g *gemmOp) weightParam() *Param   { return g.w }
func (g *gemmOp) biasParam() *Param     { return g.bias }
func (g *gemmOp) inputQuant() *actQuant { return g.inQ }

func (g *gemmOp) init(workers int) {
	for w := 0; w < workers; w++ {
		g.gm = append(g.gm, newGemm())
	}
}

// wld is the row length of W as stored.
func (g *gemmOp) wld() int {
	if g.transB {
		return g.K
	}
	return g.M
}

func (g *gemmOp) forward(w, lo, hi int) {
	x, y := g.in[0], g.out
	rows := hi - lo
	q := g.gm[w]
	q.pack(x.data[lo*g.K:], g.K, false, rows, g.K, g.alpha)
	q.run(rows, g.M, g.K, g.w.eff, g.wld(), g.transB, 0, y.data[lo*g.M:], 0, 1, false)
	switch g.biasKind {
	case 1:
		b := g.bias.eff
		for n := lo; n < hi; n++ {
			row := y.at(n)
			for j := range row {
				row[j] += g.beta * b[j]
			}
		}
	case 2:
		b := g.beta * g.bias.eff[0]
		for i := range y.data[lo*g.M : hi*g.M] {
			y.data[lo*g.M+i] += b
		}
	}
}

func (g *gemmOp) backward(w, lo, hi int) {
	x, y := g.in[0], g.out
	rows := hi - lo
	q := g.gm[w]
	dy := y.grad[lo*g.M : hi*g.M]
	if x.grad != nil {
		// dX = alpha·dY·op(W)ᵀ: op(W)ᵀ is [M,K]: W itself when transB,
		// else Wᵀ of the stored [K,M].
		q.pack(dy, g.M, false, rows, g.M, g.alpha)
		q.run(rows, g.K, g.M, g.w.eff, g.wld(), !g.transB, 0, x.grad[lo*g.K:], 0, 1, g.acc[0])
	}
	if g.w.Trainable {
		dw := g.w.wgrad[w]
		if g.transB {
			// dW[M,K] += alpha·dYᵀ·X
			q.pack(dy, g.M, true, g.M, rows, g.alpha)
			q.run(g.M, g.K, rows, x.data[lo*g.K:], g.K, false, 0, dw, 0, 1, true)
		} else {
			// dW[K,M] += alpha·Xᵀ·dY
			q.pack(x.data[lo*g.K:], g.K, true, g.K, rows, g.alpha)
			q.run(g.K, g.M, rows, dy, g.M, false, 0, dw, 0, 1, true)
		}
	}
	if g.bias != nil && g.bias.Trainable {
		db := g.bias.wgrad[w]
		for n := 0; n < rows; n++ {
			row := dy[n*g.M : (n+1)*g.M]
			if g.biasKind == 1 {
				for j, v := range row {
					db[j] += g.beta * v
				}
			} else {
				var s float32
				for _, v := range row {
					s += v
				}
				db[0] += g.beta * s
			}
		}
	}
}
