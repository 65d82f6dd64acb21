package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
)

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64())
	}
	return s
}

// goParallel is a ParallelFunc with real goroutines, so that the race
// detector sees concurrent workers.
func goParallel(n, grain int, f func(lo, hi int)) {
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			f(i, i+1)
		}(i)
	}
	wg.Wait()
}

func closeTo(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range want {
		d := math.Abs(float64(got[i] - want[i]))
		if d > tol*(1+math.Abs(float64(want[i]))) || math.IsNaN(float64(got[i])) {
			t.Fatalf("%s: element %d = %v, want %v", what, i, got[i], want[i])
		}
	}
}

// naiveGemm is C = alpha·op(A)·op(B) (+ C) with plain loops in float64.
func naiveGemm(m, n, k int, a []float32, lda int, ta bool, b []float32, ldb int, tb bool, alpha float32, c []float32, acc bool) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for l := 0; l < k; l++ {
				var av, bv float32
				if ta {
					av = a[l*lda+i]
				} else {
					av = a[i*lda+l]
				}
				if tb {
					bv = b[j*ldb+l]
				} else {
					bv = b[l*ldb+j]
				}
				s += float64(av) * float64(bv)
			}
			v := float32(float64(alpha) * s)
			if acc {
				c[i*n+j] += v
			} else {
				c[i*n+j] = v
			}
		}
	}
}

func TestGemmAgainstNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	shapes := [][3]int{
		{3, 4, 0}, {1, 1, 1}, {6, 16, 1}, {5, 17, 3}, {7, 33, 300}, {13, 200, 9},
		{96, 192, 256}, {97, 193, 257}, {100, 49, 513}, {1, 1000, 37}, {200, 3, 40},
	}
	for _, sh := range shapes {
		m, n, k := sh[0], sh[1], sh[2]
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				for _, acc := range []bool{false, true} {
					a := randSlice(r, m*k)
					b := randSlice(r, k*n)
					lda, ldb := k, n
					if ta {
						lda = m
					}
					if tb {
						ldb = k
					}
					c0 := randSlice(r, m*n)
					want := append([]float32(nil), c0...)
					naiveGemm(m, n, k, a, lda, ta, b, ldb, tb, 0.5, want, acc)
					pa := make([]float32, PackedASize(m, k))
					PackA(pa, a, lda, ta, m, k, 0.5)
					for _, workers := range []int{1, 3} {
						got := append([]float32(nil), c0...)
						g := &Gemm{M: m, N: n, K: k, Count: 1,
							A: func(int) []float32 { return pa },
							B: &Dense{Data: b, Ld: ldb, Trans: tb},
							C: got, Accumulate: acc}
						g.Run(goParallel, workers, make([]float32, g.ScratchSize(workers)))
						closeTo(t, "gemm", got, want, 1e-4*math.Sqrt(float64(k)))
					}
					// With a bias per row.
					bias := randSlice(r, m)
					wantB := append([]float32(nil), want...)
					for i := 0; i < m; i++ {
						for j := 0; j < n; j++ {
							wantB[i*n+j] += bias[i]
						}
					}
					got := append([]float32(nil), c0...)
					g := &Gemm{M: m, N: n, K: k, Count: 1,
						A: func(int) []float32 { return pa },
						B: &Dense{Data: b, Ld: ldb, Trans: tb},
						C: got, Accumulate: acc, Bias: func(int) []float32 { return bias }}
					g.Run(goParallel, 2, make([]float32, g.ScratchSize(2)))
					closeTo(t, "gemm with bias", got, wantB, 1e-4*math.Sqrt(float64(k)))
				}
			}
		}
	}
}

func TestGemmTransCBatched(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	m, n, k, count := 23, 5, 70, 3
	a := randSlice(r, count*m*k)
	b := randSlice(r, count*k*n)
	pa := make([]float32, count*PackedASize(m, k))
	sz := PackedASize(m, k)
	for p := 0; p < count; p++ {
		PackA(pa[p*sz:], a[p*m*k:], k, false, m, k, 1)
	}
	got := make([]float32, count*m*n)
	g := &Gemm{M: m, N: n, K: k, Count: count,
		A:      func(p int) []float32 { return pa[p*sz : (p+1)*sz] },
		B:      &Dense{Data: b, Ld: n, Offset: func(p int) int { return p * k * n }},
		C:      got,
		TransC: true}
	g.Run(goParallel, 2, make([]float32, g.ScratchSize(2)))
	for p := 0; p < count; p++ {
		want := make([]float32, m*n)
		naiveGemm(m, n, k, a[p*m*k:], k, false, b[p*k*n:], n, false, 1, want, false)
		// got holds C^T (n×m) per product.
		tr := make([]float32, m*n)
		for i := 0; i < m; i++ {
			for j := 0; j < n; j++ {
				tr[i*n+j] = got[p*m*n+j*m+i]
			}
		}
		closeTo(t, "transC", tr, want, 1e-3)
	}
}

func TestMicroKernelMatchesGeneric(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, kc := range []int{1, 2, 3, 4, 5, 8, 255, 256} {
		a := randSlice(r, kc*MR)
		b := randSlice(r, kc*NR)
		ldc := NR + 3
		c0 := randSlice(r, MR*ldc)
		for _, tc := range []struct {
			acc  bool
			bias *[MR]float32
		}{{false, nil}, {true, nil}, {false, &[MR]float32{1, 2, 3, 4, 5, 6}}, {true, &[MR]float32{-1, 0, 1, 2, 3, 4}}} {
			acc := tc.acc
			want := append([]float32(nil), c0...)
			microKernelGeneric(kc, a, b, want, ldc, tc.bias, acc)
			got := append([]float32(nil), c0...)
			microKernel(kc, a, b, got, ldc, tc.bias, acc)
			closeTo(t, "micro", got, want, 1e-5*float64(kc))
			// The padding columns between rows must be untouched.
			for i := 0; i < MR; i++ {
				for j := NR; j < ldc; j++ {
					if got[i*ldc+j] != c0[i*ldc+j] {
						t.Fatalf("micro-kernel wrote outside its tile at (%d,%d)", i, j)
					}
				}
			}
		}
	}
}

// naiveConv2D is a direct grouped 2-D convolution of x [n][c][h][w] with
// w [m][c/groups][kh][kw], no bias.
func naiveConv2D(x []float32, n, c, h, wd int, wt []float32, m, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, groups int) []float32 {
	out := make([]float32, n*m*oh*ow)
	cg, mg := c/groups, m/groups
	for b := 0; b < n; b++ {
		for o := 0; o < m; o++ {
			g := o / mg
			for y := 0; y < oh; y++ {
				for xx := 0; xx < ow; xx++ {
					var s float64
					for ci := 0; ci < cg; ci++ {
						for i := 0; i < kh; i++ {
							for j := 0; j < kw; j++ {
								iy := y*sh - pt + i*dh
								ix := xx*sw - pl + j*dw
								if iy < 0 || iy >= h || ix < 0 || ix >= wd {
									continue
								}
								s += float64(x[((b*c+g*cg+ci)*h+iy)*wd+ix]) * float64(wt[((o*cg+ci)*kh+i)*kw+j])
							}
						}
					}
					out[((b*m+o)*oh+y)*ow+xx] = float32(s)
				}
			}
		}
	}
	return out
}

func TestConvSourcesAgainstNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	type cs struct{ n, c, h, w, m, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, groups int }
	cases := []cs{
		{1, 3, 9, 11, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
		{2, 4, 10, 7, 6, 3, 2, 2, 1, 1, 2, 0, 1, 2, 0, 2},
		{1, 6, 13, 13, 4, 5, 5, 3, 2, 2, 1, 2, 2, 2, 2, 1},
		{1, 8, 5, 6, 8, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 4},
		{3, 2, 1, 20, 3, 1, 4, 1, 3, 1, 2, 0, 3, 0, 1, 1},
		// Stem-like: stride 2 over rows long enough for the vector gather
		// (odd and even widths, and rows longer than one gather).
		{1, 3, 40, 67, 8, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1},
		{1, 3, 36, 600, 7, 3, 3, 2, 2, 1, 1, 0, 1, 1, 0, 1},
	}
	for ci, tc := range cases {
		oh := (tc.h+tc.pt+tc.pb-((tc.kh-1)*tc.dh+1))/tc.sh + 1
		ow := (tc.w+tc.pl+tc.pr-((tc.kw-1)*tc.dw+1))/tc.sw + 1
		x := randSlice(r, tc.n*tc.c*tc.h*tc.w)
		cg, mg := tc.c/tc.groups, tc.m/tc.groups
		k := cg * tc.kh * tc.kw
		wt := randSlice(r, tc.m*k)
		want := naiveConv2D(x, tc.n, tc.c, tc.h, tc.w, wt, tc.m, tc.kh, tc.kw, tc.sh, tc.sw, tc.dh, tc.dw, tc.pt, tc.pl, oh, ow, tc.groups)
		sz := PackedASize(mg, k)
		pa := make([]float32, tc.groups*sz)
		for g := 0; g < tc.groups; g++ {
			PackA(pa[g*sz:], wt[g*mg*k:], k, false, mg, k, 1)
		}
		sources := map[string]BSource{
			"2d": &Conv2D{X: x, C: tc.c, H: tc.h, W: tc.w, Groups: tc.groups, KH: tc.kh, KW: tc.kw,
				SH: tc.sh, SW: tc.sw, DH: tc.dh, DW: tc.dw, PadT: tc.pt, PadL: tc.pl, OH: oh, OW: ow},
			"nd": &ConvND{X: x, C: tc.c, Groups: tc.groups, In: []int{tc.h, tc.w}, K: []int{tc.kh, tc.kw},
				S: []int{tc.sh, tc.sw}, D: []int{tc.dh, tc.dw}, Pad: []int{tc.pt, tc.pl}, Out: []int{oh, ow}},
		}
		for name, src := range sources {
			got := make([]float32, len(want))
			g := &Gemm{M: mg, N: oh * ow, K: k, Count: tc.n * tc.groups,
				A:       func(p int) []float32 { return pa[p%tc.groups*sz:][:sz] },
				B:       src,
				C:       got,
				COffset: func(p int) int { return p * mg * oh * ow }}
			g.Run(goParallel, 2, make([]float32, g.ScratchSize(2)))
			closeTo(t, name, got, want, 1e-4)
		}
		_ = ci
	}
}

func TestDepthwiseAgainstNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	type cs struct{ h, w, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr int }
	cases := []cs{
		{112, 112, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},
		{112, 112, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1},
		{7, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},
		{14, 14, 3, 3, 2, 2, 1, 1, 0, 0, 1, 1},
		{9, 13, 5, 3, 3, 2, 2, 3, 2, 0, 1, 4},
		{1, 29, 1, 4, 1, 3, 1, 2, 0, 1, 0, 2},
		{5, 70, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0},
		{6, 6, 7, 7, 1, 1, 1, 1, 3, 3, 3, 3},
		{14, 14, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1},
		{15, 9, 3, 2, 2, 1, 2, 1, 1, 0, 0, 1},
		{8, 11, 2, 3, 1, 2, 1, 1, 0, 2, 0, 0},
		// The small-plane 3x3 kernel: rows of up to 16 outputs, pads 0 to 2.
		{16, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},
		{5, 9, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0},
		{3, 12, 3, 3, 1, 1, 1, 1, 2, 2, 2, 2},
		{1, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},
		{20, 16, 3, 3, 1, 1, 1, 1, 1, 0, 1, 2},
		{2, 15, 3, 3, 1, 1, 1, 1, 0, 2, 1, 0},
		{28, 28, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1},
		{28, 28, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},
		{9, 23, 3, 3, 1, 1, 1, 1, 1, 2, 0, 1},
		{4, 32, 3, 3, 1, 1, 1, 1, 0, 1, 2, 1},
		{30, 30, 3, 3, 2, 2, 1, 1, 0, 0, 1, 1},
		// The wide-row kernel: rows of more than 32 outputs.
		{56, 56, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},
		{3, 33, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},
		{7, 41, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0},
		{5, 70, 3, 3, 1, 1, 1, 1, 2, 2, 2, 2},
		{4, 64, 3, 3, 1, 1, 1, 1, 1, 0, 0, 2},
		{9, 80, 3, 3, 1, 1, 1, 1, 1, 2, 1, 0},
		{3, 100, 3, 3, 1, 1, 1, 1, 0, 1, 0, 1},
	}
	for _, tc := range cases {
		oh := (tc.h+tc.pt+tc.pb-((tc.kh-1)*tc.dh+1))/tc.sh + 1
		ow := (tc.w+tc.pl+tc.pr-((tc.kw-1)*tc.dw+1))/tc.sw + 1
		x := randSlice(r, tc.h*tc.w)
		wt := randSlice(r, tc.kh*tc.kw)
		want := naiveConv2D(x, 1, 1, tc.h, tc.w, wt, 1, tc.kh, tc.kw, tc.sh, tc.sw, tc.dh, tc.dw, tc.pt, tc.pl, oh, ow, 1)
		for i := range want {
			want[i] += 0.25
		}
		d := &Depthwise2D{H: tc.h, W: tc.w, OH: oh, OW: ow, KH: tc.kh, KW: tc.kw, SH: tc.sh, SW: tc.sw,
			DH: tc.dh, DW: tc.dw, PadT: tc.pt, PadL: tc.pl}
		got := make([]float32, oh*ow)
		// Garbage in the scratch buffer must not matter after Prepare.
		scratch := randSlice(r, d.ScratchSize())
		offs := make([]int, d.Taps())
		d.Prepare(scratch, offs)
		for rep := 0; rep < 2; rep++ {
			d.Plane(got, x, wt, 0.25, scratch, offs)
			closeTo(t, "depthwise", got, want, 1e-5)
		}
	}
}

func TestTapsMatchesGeneric(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	base := randSlice(r, 400)
	for n := 1; n < 140; n++ {
		for _, nt := range []int{1, 2, 9} {
			offs := make([]int, nt)
			for i := range offs {
				offs[i] = r.IntN(400 - n)
			}
			w := randSlice(r, nt)
			want := make([]float32, n+1)
			got := make([]float32, n+1)
			want[n], got[n] = 42, 42
			tapsGeneric(want[:n], base, offs, w, 0.5)
			Taps(got[:n], base, offs, w, 0.5)
			closeTo(t, "taps", got, want, 1e-5)
		}
	}
}

func BenchmarkMicroKernel(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	a := randSlice(r, KC*MR)
	bb := randSlice(r, KC*NR)
	c := make([]float32, MR*NR)
	for b.Loop() {
		microKernel(KC, a, bb, c, NR, nil, true)
	}
	b.ReportMetric(float64(2*MR*NR*KC)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

func BenchmarkGemm1x1(b *testing.B) {
	// The largest pointwise conv of MobileNetV2: 96 -> 24 channels at 56x56.
	r := rand.New(rand.NewPCG(1, 1))
	m, n, k := 144, 56*56, 24
	a := randSlice(r, m*k)
	x := randSlice(r, k*n)
	pa := make([]float32, PackedASize(m, k))
	PackA(pa, a, k, false, m, k, 1)
	c := make([]float32, m*n)
	g := &Gemm{M: m, N: n, K: k, Count: 1, A: func(int) []float32 { return pa }, B: &Dense{Data: x, Ld: n}, C: c}
	s := make([]float32, g.ScratchSize(1))
	for b.Loop() {
		g.Run(goParallel, 1, s)
	}
	b.ReportMetric(float64(2*m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

func benchDepthwise(b *testing.B, c, h, stride int) {
	r := rand.New(rand.NewPCG(1, 1))
	oh := (h+2-3)/stride + 1
	d := &Depthwise2D{H: h, W: h, OH: oh, OW: oh, KH: 3, KW: 3, SH: stride, SW: stride, DH: 1, DW: 1, PadT: 1, PadL: 1}
	x := randSlice(r, c*h*h)
	w := randSlice(r, c*9)
	y := make([]float32, c*oh*oh)
	s := make([]float32, d.ScratchSize())
	offs := make([]int, 9)
	d.Prepare(s, offs)
	for b.Loop() {
		for q := 0; q < c; q++ {
			d.Plane(y[q*oh*oh:(q+1)*oh*oh], x[q*h*h:(q+1)*h*h], w[q*9:], 0, s, offs)
		}
	}
	b.ReportMetric(float64(9*c*oh*oh)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
}

func BenchmarkDepthwise112s1(b *testing.B) { benchDepthwise(b, 32, 112, 1) }
func BenchmarkDepthwise112s2(b *testing.B) { benchDepthwise(b, 96, 112, 2) }
func BenchmarkDepthwise56s1(b *testing.B)  { benchDepthwise(b, 144, 56, 1) }
func BenchmarkDepthwise56s2(b *testing.B)  { benchDepthwise(b, 144, 56, 2) }
func BenchmarkDepthwise28s1(b *testing.B)  { benchDepthwise(b, 192, 28, 1) }
func BenchmarkDepthwise28s2(b *testing.B)  { benchDepthwise(b, 192, 28, 2) }
func BenchmarkDepthwise14s1(b *testing.B)  { benchDepthwise(b, 384, 14, 1) }
func BenchmarkDepthwise7s1(b *testing.B)   { benchDepthwise(b, 960, 7, 1) }

func TestScaleShiftMatchesGeneric(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	for _, n := range []int{0, 1, 7, 31, 32, 33, 100, 1000} {
		src := randSlice(r, n)
		want := make([]float32, n+1)
		got := make([]float32, n+1)
		want[n], got[n] = 7, 7
		scaleShiftGeneric(want[:n], src, 1.5, -0.25)
		ScaleShift(got[:n], src, 1.5, -0.25)
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("n=%d: element %d = %v, want %v", n, i, got[i], want[i])
			}
		}
	}
}

// mobileNetPointwise lists the 1x1 convs of MobileNetV2 as (M=Cout, K=Cin,
// N=H·W).
var mobileNetPointwise = [][3]int{
	{16, 32, 112 * 112}, {96, 16, 112 * 112}, {24, 96, 56 * 56}, {144, 24, 56 * 56}, {24, 144, 56 * 56},
	{144, 24, 56 * 56}, {32, 144, 28 * 28}, {192, 32, 28 * 28}, {32, 192, 28 * 28}, {192, 32, 28 * 28}, {32, 192, 28 * 28},
	{192, 32, 28 * 28}, {64, 192, 14 * 14}, {384, 64, 14 * 14}, {64, 384, 14 * 14}, {384, 64, 14 * 14}, {64, 384, 14 * 14},
	{384, 64, 14 * 14}, {64, 384, 14 * 14}, {384, 64, 14 * 14}, {96, 384, 14 * 14}, {576, 96, 14 * 14}, {96, 576, 14 * 14},
	{576, 96, 14 * 14}, {96, 576, 14 * 14}, {576, 96, 14 * 14}, {160, 576, 7 * 7}, {960, 160, 7 * 7}, {160, 960, 7 * 7},
	{960, 160, 7 * 7}, {160, 960, 7 * 7}, {960, 160, 7 * 7}, {320, 960, 7 * 7}, {1280, 320, 7 * 7},
}

func BenchmarkMobileNetPointwise(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	type job struct {
		g  *Gemm
		fl float64
	}
	var jobs []job
	var flops float64
	for _, s := range mobileNetPointwise {
		m, k, n := s[0], s[1], s[2]
		pa := make([]float32, PackedASize(m, k))
		PackA(pa, randSlice(r, m*k), k, false, m, k, 1)
		g := &Gemm{M: m, N: n, K: k, Count: 1, A: func(int) []float32 { return pa },
			B: &Dense{Data: randSlice(r, k*n), Ld: n}, C: make([]float32, m*n)}
		jobs = append(jobs, job{g, float64(2 * m * n * k)})
		flops += float64(2 * m * n * k)
	}
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			s := make([]float32, jobs[0].g.ScratchSize(workers))
			for b.Loop() {
				for _, j := range jobs {
					j.g.Run(goParallel, min(workers, j.g.Workers(workers)), s)
				}
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

func TestClampMatchesGeneric(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	nan := float32(math.NaN())
	inf := float32(math.Inf(1))
	for _, n := range []int{0, 1, 31, 32, 33, 64, 100, 1000} {
		src := randSlice(r, n)
		for i := range src {
			switch r.IntN(10) {
			case 0:
				src[i] = nan
			case 1:
				src[i] = inf
			case 2:
				src[i] = -inf
			case 3:
				src[i] = float32(math.Copysign(0, -1))
			}
		}
		for _, b := range [][2]float32{{0, 6}, {-1, 1}, {-inf, 0.5}, {0.25, inf}, {nan, 1}, {2, 1}} {
			want := make([]float32, n+1)
			got := make([]float32, n+1)
			want[n], got[n] = 7, 7
			clampGeneric(want[:n], src, b[0], b[1])
			Clamp(got[:n], src, b[0], b[1])
			for i := range want {
				// Equal values (+0 and -0 alike) or both NaN.
				if got[i] != want[i] && !(got[i] != got[i] && want[i] != want[i]) {
					t.Fatalf("n=%d bounds %v: element %d = %v, want %v", n, b, i, got[i], want[i])
				}
			}
		}
	}
}

func TestGatherRowAgainstNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	for _, n := range []int{1, 7, 8, 9, 16, 63, 64, 65, 130} {
		for _, rowLen := range []int{1, 15, 16, 17, 2*n - 1, 2 * n, 2*n + 1, 3*n + 5} {
			for _, step := range []int{1, 2, 3} {
				for _, i0 := range []int{-5, -1, 0, 1, 2} {
					row := randSlice(r, max(rowLen, 1))
					got := randSlice(r, n)
					want := make([]float32, n)
					for t := range want {
						if i := i0 + t*step; i >= 0 && i < len(row) {
							want[t] = row[i]
						}
					}
					gatherRow(got, row, i0, step)
					for i := range want {
						if got[i] != want[i] {
							t.Fatalf("n=%d row=%d step=%d i0=%d: element %d = %v, want %v", n, len(row), step, i0, i, got[i], want[i])
						}
					}
				}
			}
		}
	}
}
