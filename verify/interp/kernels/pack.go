package kernels

// Dense is a BSource over matrices stored in one slice: B_p is k×n,
// row-major with rows Ld apart, starting at Offset(p) (0 when Offset is
// nil); with Trans, B_p is stored n×k (element (k, j) at j·Ld + k).
type Dense struct {
	Data   []float32
	Ld     int
	Trans  bool
	Offset func(p int) int
}

// PackB implements BSource.
func (d *Dense) PackB(dst []float32, p, k0, k1, j0, j1 int) {
	off := 0
	if d.Offset != nil {
		off = d.Offset(p)
	}
	kc := k1 - k0
	for jp := j0; jp < j1; jp += NR {
		panel := dst[(jp-j0)/NR*kc*NR:][:kc*NR]
		cols := min(NR, j1-jp)
		if d.Trans {
			if cols < NR {
				clear(panel)
			}
			for j := 0; j < cols; j++ {
				src := d.Data[off+(jp+j)*d.Ld+k0:][:kc]
				for kk, v := range src {
					panel[kk*NR+j] = v
				}
			}
			continue
		}
		if cols == NR {
			for k := k0; k < k1; k++ {
				*(*[NR]float32)(panel[(k-k0)*NR:]) = *(*[NR]float32)(d.Data[off+k*d.Ld+jp:])
			}
			continue
		}
		for k := k0; k < k1; k++ {
			dp := panel[(k-k0)*NR : (k-k0+1)*NR]
			copy(dp, d.Data[off+k*d.Ld+jp:][:cols])
			clear(dp[cols:])
		}
	}
}

// Conv2D is a BSource reading the im2col matrix of a 2-D convolution
// without forming it. X is [batch][C][H][W]; product p = n·Groups + g has
// B[k][j] = X[n][g·C/Groups + c][oh·SH - PadT + kh·DH][ow·SW - PadL + kw·DW]
// (zero outside the image) for k = (c·KH + kh)·KW + kw and j = oh·OW + ow.
type Conv2D struct {
	X               []float32
	C, H, W, Groups int
	KH, KW, SH, SW  int
	DH, DW          int
	PadT, PadL      int
	OH, OW          int
}

// PackB implements BSource.
func (s *Conv2D) PackB(dst []float32, p, k0, k1, j0, j1 int) {
	n, g := p/s.Groups, p%s.Groups
	cg := s.C / s.Groups
	plane := s.H * s.W
	base := (n*s.C + g*cg) * plane
	kc := k1 - k0
	ksz := s.KH * s.KW
	for k := k0; k < k1; k++ {
		c, r := k/ksz, k%ksz
		kh, kw := r/s.KW, r%s.KW
		src := s.X[base+c*plane : base+(c+1)*plane]
		row0 := (k - k0) * NR
		q, col := 0, 0
		oh, ow := j0/s.OW, j0%s.OW
		for j := j0; j < j1; {
			run := min(s.OW-ow, j1-j)
			ih := oh*s.SH - s.PadT + kh*s.DH
			if ih < 0 || ih >= s.H {
				for t := 0; t < run; t++ {
					dst[q*kc*NR+row0+col] = 0
					if col++; col == NR {
						col, q = 0, q+1
					}
				}
			} else {
				row := src[ih*s.W : (ih+1)*s.W]
				iw := ow*s.SW - s.PadL + kw*s.DW
				for t := 0; t < run; t++ {
					var v float32
					if uint(iw) < uint(len(row)) {
						v = row[iw]
					}
					dst[q*kc*NR+row0+col] = v
					if col++; col == NR {
						col, q = 0, q+1
					}
					iw += s.SW
				}
			}
			j += run
			ow = 0
			oh++
		}
		if col > 0 {
			clear(dst[q*kc*NR+row0+col : q*kc*NR+row0+NR])
		}
	}
}

// ConvND is Conv2D for any number of spatial dimensions: X is
// [batch][C][In...], the kernel has size K, strides S, dilations D and
// leading pads Pad per dimension, the output has size Out.
type ConvND struct {
	X         []float32
	C, Groups int
	In, K     []int
	S, D, Pad []int
	Out       []int
}

// PackB implements BSource.
func (s *ConvND) PackB(dst []float32, p, k0, k1, j0, j1 int) {
	n, g := p/s.Groups, p%s.Groups
	cg := s.C / s.Groups
	nd := len(s.In)
	plane, ksz := 1, 1
	for i := 0; i < nd; i++ {
		plane *= s.In[i]
		ksz *= s.K[i]
	}
	base := (n*s.C + g*cg) * plane
	kc := k1 - k0
	var kbuf, obuf [8]int
	kidx, oidx := kbuf[:0], obuf[:0]
	if nd > len(kbuf) {
		kidx, oidx = make([]int, 0, nd), make([]int, 0, nd)
	}
	kidx, oidx = kidx[:nd], oidx[:nd]
	for k := k0; k < k1; k++ {
		c, r := k/ksz, k%ksz
		for i := nd - 1; i >= 0; i-- {
			kidx[i] = r % s.K[i]
			r /= s.K[i]
		}
		src := s.X[base+c*plane : base+(c+1)*plane]
		r = j0
		for i := nd - 1; i >= 0; i-- {
			oidx[i] = r % s.Out[i]
			r /= s.Out[i]
		}
		row0 := (k - k0) * NR
		for j := j0; j < j1; j++ {
			off, ok := 0, true
			for i := 0; i < nd; i++ {
				x := oidx[i]*s.S[i] - s.Pad[i] + kidx[i]*s.D[i]
				if x < 0 || x >= s.In[i] {
					ok = false
					break
				}
				off = off*s.In[i] + x
			}
			var v float32
			if ok {
				v = src[off]
			}
			jj := j - j0
			dst[jj/NR*kc*NR+row0+jj%NR] = v
			for i := nd - 1; i >= 0; i-- {
				if oidx[i]++; oidx[i] < s.Out[i] {
					break
				}
				oidx[i] = 0
			}
		}
		if jj := j1 - j0; jj%NR != 0 {
			q := jj / NR
			clear(dst[q*kc*NR+row0+jj%NR : q*kc*NR+row0+NR])
		}
	}
}
