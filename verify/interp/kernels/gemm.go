package kernels

import (
	"sync/atomic"
)

// Tile sizes of the blocked matrix product. A is packed in panels of MR rows
// and B in panels of NR columns; the micro-kernel computes one MR×NR tile of
// C. KC is the depth of one packed block of B, MC×NC the size of the C tile
// one task computes (MC is a multiple of MR, NC of NR).
const (
	MR = 6
	NR = 16
	KC = 256
	MC = 96
	NC = 192
)

// ParallelFunc runs f over [0, n) split into contiguous chunks of at least
// grain items, possibly concurrently, and returns when all are done (the
// signature of the interpreter's Ctx.Parallel).
type ParallelFunc func(n, grain int, f func(lo, hi int))

// PackedASize is the length of the buffer PackA fills for an m×k matrix.
func PackedASize(m, k int) int { return (m + MR - 1) / MR * MR * k }

// PackA packs alpha·op(A), an m×k matrix, into dst (length at least
// PackedASize(m, k)). A is row-major with rows lda apart; with trans, A is
// stored k×m and op(A) is its transpose. Panel p holds rows p·MR… as k
// groups of MR values (rows past m are zero).
func PackA(dst, a []float32, lda int, trans bool, m, k int, alpha float32) {
	panels := (m + MR - 1) / MR
	for p := 0; p < panels; p++ {
		d := dst[p*MR*k : (p+1)*MR*k]
		r0 := p * MR
		rows := min(MR, m-r0)
		if rows < MR {
			clear(d)
		}
		for i := 0; i < rows; i++ {
			if trans {
				for kk := 0; kk < k; kk++ {
					d[kk*MR+i] = alpha * a[kk*lda+r0+i]
				}
			} else {
				row := a[(r0+i)*lda : (r0+i)*lda+k]
				for kk, v := range row {
					d[kk*MR+i] = alpha * v
				}
			}
		}
	}
}

// BSource supplies the k×n right-hand operand of product p by packing a
// block of it.
type BSource interface {
	// PackB writes rows [k0, k1) and columns [j0, j1) of B_p to dst as
	// panels of NR columns: panel q holds columns j0+q·NR… as k1-k0 groups
	// of NR values, zero past column j1.
	PackB(dst []float32, p, k0, k1, j0, j1 int)
}

// Gemm describes Count independent products C_p = A_p·B_p (+ C_p), each
// M×N with inner dimension K.
type Gemm struct {
	M, N, K, Count int
	// A returns product p's left operand packed by PackA.
	A func(p int) []float32
	// B supplies the right operands.
	B BSource
	// C holds the results; product p's M×N block starts at COffset(p)
	// (p·M·N when COffset is nil) with rows N apart, or, with TransC, is
	// stored transposed (element (i, j) at j·M + i).
	C       []float32
	COffset func(p int) int
	TransC  bool
	// Accumulate adds the products to C instead of overwriting it.
	Accumulate bool
	// Bias, when set, returns the M values added to the rows of product
	// p (once, whatever Accumulate).
	Bias func(p int) []float32
	// Clamp, when set, clamps every element of C to [Clamp[0], Clamp[1]]
	// once its sum is complete (a fused activation: Relu, Clip).
	Clamp *[2]float32
}

// workerScratch is what one worker of Gemm.Run needs: a packed block of B
// and a tile for partial results.
const workerScratch = KC*NC + MR*NR

// ScratchSize is the length of the scratch buffer Run needs with the given
// number of workers.
func (g *Gemm) ScratchSize(workers int) int { return max(1, workers) * workerScratch }

// Workers is how many workers are worth starting for g with at most
// threads: small products run on one.
func (g *Gemm) Workers(threads int) int {
	tiles := g.tiling(threads).tiles(g)
	flops := int64(g.M) * int64(g.N) * int64(g.K) * int64(g.Count)
	w := min(threads, tiles)
	if lim := int(flops / (1 << 16)); w > lim {
		w = lim
	}
	return max(1, w)
}

// tiling is the size of the C tiles of one run: mc×nc, mt×nt per product.
type tiling struct{ mc, nc, mt, nt int }

func (t tiling) tiles(g *Gemm) int { return g.Count * t.mt * t.nt }

// tiling picks the tile size: MC×NC, halved (rows first) while there are
// fewer than four tiles per worker.
func (g *Gemm) tiling(workers int) tiling {
	t := tiling{mc: MC, nc: NC}
	for {
		t.mt, t.nt = (g.M+t.mc-1)/t.mc, (g.N+t.nc-1)/t.nc
		if workers <= 1 || t.tiles(g) >= 4*workers {
			return t
		}
		switch {
		case t.mc > 4*MR && g.M > t.mc/2:
			t.mc = (t.mc/2 + MR - 1) / MR * MR
		case t.nc > 4*NR && g.N > t.nc/2:
			t.nc = (t.nc/2 + NR - 1) / NR * NR
		default:
			return t
		}
	}
}

// Run computes the products with the given number of workers (see
// Workers), run through par; scratch must hold ScratchSize(workers)
// elements.
func (g *Gemm) Run(par ParallelFunc, workers int, scratch []float32) {
	if g.M <= 0 || g.N <= 0 || g.Count <= 0 {
		return
	}
	if g.K <= 0 {
		g.runEmpty()
		return
	}
	workers = max(1, workers)
	tl := g.tiling(workers)
	tiles := tl.tiles(g)
	if workers == 1 || tiles == 1 {
		packed := -1
		for t := 0; t < tiles; t++ {
			g.tile(tl, t, scratch[:workerScratch], &packed)
		}
		return
	}
	// Workers take tiles in turn; when there are column blocks enough to
	// go round, a worker takes all the row tiles of a column block at
	// once, so that it packs that block of B once rather than each worker
	// packing it again.
	unit := 1
	if tiles/tl.mt >= 2*workers {
		unit = tl.mt
	}
	var next atomic.Int64
	par(workers, 1, func(lo, hi int) {
		for w := lo; w < hi; w++ {
			buf := scratch[w*workerScratch : (w+1)*workerScratch]
			packed := -1
			for {
				t0 := int(next.Add(1)-1) * unit
				if t0 >= tiles {
					break
				}
				for t := t0; t < min(t0+unit, tiles); t++ {
					g.tile(tl, t, buf, &packed)
				}
			}
		}
	})
}

// runEmpty is Run for K = 0: C gets (or keeps, with Accumulate) zero plus
// the bias.
func (g *Gemm) runEmpty() {
	for p := 0; p < g.Count; p++ {
		off := g.cOffset(p)
		c := g.C[off : off+g.M*g.N]
		if !g.Accumulate {
			clear(c)
		}
		if g.Clamp != nil {
			defer Clamp(c, c, g.Clamp[0], g.Clamp[1])
		}
		if g.Bias == nil {
			continue
		}
		bias := g.Bias(p)[:g.M]
		for i, b := range bias {
			for j := 0; j < g.N; j++ {
				if g.TransC {
					c[j*g.M+i] += b
				} else {
					c[i*g.N+j] += b
				}
			}
		}
	}
}

func (g *Gemm) cOffset(p int) int {
	if g.COffset != nil {
		return g.COffset(p)
	}
	return p * g.M * g.N
}

// tile computes task t: product p, rows [i0, i1), columns [j0, j1).
// *packed identifies the column block whose B is in buf (-1: none), so
// that consecutive row tiles of one column block pack B once when K fits
// one block.
func (g *Gemm) tile(tl tiling, t int, buf []float32, packed *int) {
	mt, nt := tl.mt, tl.nt
	p := t / (mt * nt)
	r := t % (mt * nt)
	jt, it := r/mt, r%mt
	block := p*nt + jt
	i0, i1 := it*tl.mc, min(g.M, it*tl.mc+tl.mc)
	j0, j1 := jt*tl.nc, min(g.N, jt*tl.nc+tl.nc)
	a := g.A(p)
	c := g.C[g.cOffset(p):]
	var bias []float32
	if g.Bias != nil {
		bias = g.Bias(p)[:g.M]
	}
	var bpanel [MR]float32
	bbuf := buf[:KC*NC]
	tmp := buf[KC*NC : KC*NC+MR*NR]
	K := g.K
	for k0 := 0; k0 < K; k0 += KC {
		k1 := min(K, k0+KC)
		kc := k1 - k0
		if k0 > 0 || K > KC || *packed != block {
			g.B.PackB(bbuf, p, k0, k1, j0, j1)
			*packed = -1
			if K <= KC {
				*packed = block
			}
		}
		acc := g.Accumulate || k0 > 0
		for jp := j0; jp < j1; jp += NR {
			bp := bbuf[(jp-j0)/NR*kc*NR:][:kc*NR]
			cols := min(NR, j1-jp)
			for ip := i0; ip < i1; ip += MR {
				ap := a[ip*K+k0*MR:][:kc*MR]
				rows := min(MR, i1-ip)
				var bp6 *[MR]float32
				if bias != nil && k0 == 0 {
					bpanel = [MR]float32{}
					copy(bpanel[:rows], bias[ip:])
					bp6 = &bpanel
				}
				if rows == MR && cols == NR && !g.TransC {
					microKernel(kc, ap, bp, c[ip*g.N+jp:], g.N, bp6, acc)
					continue
				}
				microKernel(kc, ap, bp, tmp, NR, bp6, false)
				if g.TransC {
					storeTransposed(c, g.M, ip, jp, rows, cols, tmp, acc)
				} else {
					storeTile(c[ip*g.N+jp:], g.N, rows, cols, tmp, acc)
				}
			}
		}
	}
	if g.Clamp != nil {
		lo, hi := g.Clamp[0], g.Clamp[1]
		if g.TransC {
			for j := j0; j < j1; j++ {
				col := c[j*g.M+i0 : j*g.M+i1]
				Clamp(col, col, lo, hi)
			}
		} else {
			for i := i0; i < i1; i++ {
				row := c[i*g.N+j0 : i*g.N+j1]
				Clamp(row, row, lo, hi)
			}
		}
	}
}

// storeTile writes the top-left rows×cols of the MR×NR tile tmp to c.
func storeTile(c []float32, ldc, rows, cols int, tmp []float32, acc bool) {
	for i := 0; i < rows; i++ {
		dst := c[i*ldc : i*ldc+cols]
		src := tmp[i*NR : i*NR+cols]
		if acc {
			for j, v := range src {
				dst[j] += v
			}
		} else {
			copy(dst, src)
		}
	}
}

// storeTransposed writes the tile at (i0, j0) to the transposed matrix c
// (element (i, j) at j·m + i).
func storeTransposed(c []float32, m, i0, j0, rows, cols int, tmp []float32, acc bool) {
	for j := 0; j < cols; j++ {
		dst := c[(j0+j)*m+i0 : (j0+j)*m+i0+rows]
		for i := range dst {
			if acc {
				dst[i] += tmp[i*NR+j]
			} else {
				dst[i] = tmp[i*NR+j]
			}
		}
	}
}

// microKernelGeneric is the portable micro-kernel: the MR×NR tile of c
// (rows ldc apart) gets, or with acc gains, the product of the packed A
// panel a (kc×MR) and the packed B panel b (kc×NR), plus bias[i] on row i
// when bias is not nil.
func microKernelGeneric(kc int, a, b, c []float32, ldc int, bias *[MR]float32, acc bool) {
	a = a[:kc*MR]
	b = b[:kc*NR]
	for i := 0; i < MR; i += 2 {
		for j := 0; j < NR; j += 8 {
			var c00, c01, c02, c03, c04, c05, c06, c07 float32
			var c10, c11, c12, c13, c14, c15, c16, c17 float32
			if bias != nil {
				b0, b1 := bias[i], bias[i+1]
				c00, c01, c02, c03, c04, c05, c06, c07 = b0, b0, b0, b0, b0, b0, b0, b0
				c10, c11, c12, c13, c14, c15, c16, c17 = b1, b1, b1, b1, b1, b1, b1, b1
			}
			for k := 0; k < kc; k++ {
				ak := (*[2]float32)(a[k*MR+i:])
				bk := (*[8]float32)(b[k*NR+j:])
				a0, a1 := ak[0], ak[1]
				c00 += a0 * bk[0]
				c01 += a0 * bk[1]
				c02 += a0 * bk[2]
				c03 += a0 * bk[3]
				c04 += a0 * bk[4]
				c05 += a0 * bk[5]
				c06 += a0 * bk[6]
				c07 += a0 * bk[7]
				c10 += a1 * bk[0]
				c11 += a1 * bk[1]
				c12 += a1 * bk[2]
				c13 += a1 * bk[3]
				c14 += a1 * bk[4]
				c15 += a1 * bk[5]
				c16 += a1 * bk[6]
				c17 += a1 * bk[7]
			}
			r0 := (*[8]float32)(c[i*ldc+j:])
			r1 := (*[8]float32)(c[(i+1)*ldc+j:])
			if acc {
				r0[0] += c00
				r0[1] += c01
				r0[2] += c02
				r0[3] += c03
				r0[4] += c04
				r0[5] += c05
				r0[6] += c06
				r0[7] += c07
				r1[0] += c10
				r1[1] += c11
				r1[2] += c12
				r1[3] += c13
				r1[4] += c14
				r1[5] += c15
				r1[6] += c16
				r1[7] += c17
			} else {
				*r0 = [8]float32{c00, c01, c02, c03, c04, c05, c06, c07}
				*r1 = [8]float32{c10, c11, c12, c13, c14, c15, c16, c17}
			}
		}
	}
}
