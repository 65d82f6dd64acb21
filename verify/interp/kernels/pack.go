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
	if d.Trans {
		for jp := j0; jp < j1; jp += NR {
			panel := dst[(jp-j0)/NR*kc*NR:][:kc*NR]
			cols := min(NR, j1-jp)
			if cols < NR {
				clear(panel)
			}
			for j := 0; j < cols; j++ {
				src := d.Data[off+(jp+j)*d.Ld+k0:][:kc]
				for kk, v := range src {
					panel[kk*NR+j] = v
				}
			}
		}
		return
	}
	// Row by row, so that B is read sequentially.
	full := (j1 - j0) / NR
	cols := (j1 - j0) % NR
	for k := k0; k < k1; k++ {
		src := d.Data[off+k*d.Ld+j0 : off+k*d.Ld+j1]
		row := dst[(k-k0)*NR:]
		copyPanels(row, src, full, kc*NR)
		if cols > 0 {
			dp := row[full*kc*NR:][:NR]
			copy(dp, src[full*NR:])
			clear(dp[cols:])
		}
	}
}

// copyPanelsGeneric copies n runs of NR values from src (contiguous) to
// dst, run q at q·stride.
func copyPanelsGeneric(dst, src []float32, n, stride int) {
	for q := 0; q < n; q++ {
		copy(dst[q*stride:q*stride+NR], src[q*NR:q*NR+NR])
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
	var line [256]float32
	for k := k0; k < k1; k++ {
		c, r := k/ksz, k%ksz
		kh, kw := r/s.KW, r%s.KW
		src := s.X[base+c*plane : base+(c+1)*plane]
		row0 := (k - k0) * NR
		q, col := 0, 0
		oh, ow := j0/s.OW, j0%s.OW
		for j := j0; j < j1; {
			ih := oh*s.SH - s.PadT + kh*s.DH
			var row []float32
			if ih >= 0 && ih < s.H {
				row = src[ih*s.W : (ih+1)*s.W]
			}
			// A strided row is gathered in one go (up to 256 values) and
			// then copied panel by panel.
			gathered := 0
			if row != nil && s.SW > 1 {
				gathered = min(s.OW-ow, j1-j, len(line))
				gatherRow(line[:gathered], row, ow*s.SW-s.PadL+kw*s.DW, s.SW)
			}
			ow0 := ow
			// The rest of output row oh, in pieces that end at panel ends.
			for run := min(s.OW-ow, j1-j); run > 0; {
				seg := min(run, NR-col)
				d := dst[q*kc*NR+row0+col:][:seg]
				switch {
				case row == nil:
					clear(d)
				case ow+seg <= ow0+gathered:
					copy(d, line[ow-ow0:])
				default:
					gatherRow(d, row, ow*s.SW-s.PadL+kw*s.DW, s.SW)
				}
				if col += seg; col == NR {
					col, q = 0, q+1
				}
				ow += seg
				j += seg
				run -= seg
			}
			ow = 0
			oh++
		}
		if col > 0 {
			clear(dst[q*kc*NR+row0+col : q*kc*NR+row0+NR])
		}
	}
}

// gatherRow sets d[t] = row[i0 + t·step], zero where that index is
// outside row.
func gatherRow(d, row []float32, i0, step int) {
	// The t with 0 <= i0 + t·step < len(row) form [lo, hi).
	lo := 0
	if i0 < 0 {
		lo = min((-i0+step-1)/step, len(d))
	}
	hi := len(d)
	if last := i0 + (hi-1)*step; last >= len(row) {
		hi = max(lo, (len(row)-i0+step-1)/step)
	}
	if lo > 0 {
		clear(d[:lo])
	}
	if hi < len(d) {
		clear(d[hi:])
	}
	if hi <= lo {
		return
	}
	if step == 1 {
		copy(d[lo:hi], row[i0+lo:])
		return
	}
	if step == 2 && HasSIMD {
		// The even elements through the vector deinterleave, which reads
		// pairs: the odd ones land in a throwaway buffer, and the last
		// pair may stick out of row, so it is left to the scalar loop.
		src := row[i0+lo*2:]
		var odd [64]float32
		t := lo
		for hi-t >= 8 {
			n := min(64, (hi-t)&^7)
			i := 2 * (t - lo)
			if i+2*n > len(src) {
				if n -= 8; n == 0 {
					break
				}
			}
			deinterleave2(d[t:t+n], odd[:n], src[i:i+2*n], n)
			t += n
		}
		for i := 2 * (t - lo); t < hi; t, i = t+1, i+2 {
			d[t] = src[i]
		}
		return
	}
	src := row[i0+lo*step : i0+(hi-1)*step+1]
	for t, i := lo, 0; t < hi; t, i = t+1, i+step {
		d[t] = src[i]
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
