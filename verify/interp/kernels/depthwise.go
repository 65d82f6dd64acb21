package kernels

// Depthwise2D is the geometry of a 2-D convolution of one input plane
// (H×W) with one KH×KW filter into one output plane (OH×OW): the inner loop
// of a depthwise convolution, where every channel has its own filter.
type Depthwise2D struct {
	H, W, OH, OW   int
	KH, KW, SH, SW int
	DH, DW         int
	PadT, PadL     int
}

// layout returns the padded, column-phase-split copy of the input plane
// that Plane works on: rows of rowLen values, each row holding SW phases
// of phaseLen values (phase r has the padded columns r, r+SW, r+2·SW, …).
func (d *Depthwise2D) layout() (rows, rowLen, phaseLen int) {
	rows = (d.OH-1)*d.SH + (d.KH-1)*d.DH + 1
	wp := (d.OW-1)*d.SW + (d.KW-1)*d.DW + 1
	phaseLen = (wp + d.SW - 1) / d.SW
	return rows, d.SW * phaseLen, phaseLen
}

// ScratchSize is the length of the scratch buffer Plane needs.
func (d *Depthwise2D) ScratchSize() int {
	rows, rowLen, _ := d.layout()
	return rows * rowLen
}

// Taps is the number of filter taps, the length of the offs buffer Plane
// needs.
func (d *Depthwise2D) Taps() int { return d.KH * d.KW }

// Plane computes dst[oh·OW+ow] = bias + Σ w[kh·KW+kw]·src[ih·W+iw] with
// ih = oh·SH - PadT + kh·DH, iw = ow·SW - PadL + kw·DW (zero outside the
// plane). scratch must hold ScratchSize() values and offs Taps() ints.
func (d *Depthwise2D) Plane(dst, src, w []float32, bias float32, scratch []float32, offs []int) {
	rows, rowLen, phaseLen := d.layout()
	buf := scratch[:rows*rowLen]
	// Fill the padded plane.
	for r := 0; r < rows; r++ {
		line := buf[r*rowLen : (r+1)*rowLen]
		ih := r - d.PadT
		if ih < 0 || ih >= d.H {
			clear(line)
			continue
		}
		in := src[ih*d.W : (ih+1)*d.W]
		if d.SW == 1 {
			// Padded column x holds input column x - PadL.
			lo := min(max(d.PadL, 0), len(line))
			hi := min(max(d.PadL+d.W, lo), len(line))
			clear(line[:lo])
			copy(line[lo:hi], in[lo-d.PadL:])
			clear(line[hi:])
			continue
		}
		for ph := 0; ph < d.SW; ph++ {
			seg := line[ph*phaseLen : (ph+1)*phaseLen]
			iw := ph - d.PadL
			for i := range seg {
				var v float32
				if uint(iw) < uint(len(in)) {
					v = in[iw]
				}
				seg[i] = v
				iw += d.SW
			}
		}
	}
	offs = offs[:d.KH*d.KW]
	for kh := 0; kh < d.KH; kh++ {
		for kw := 0; kw < d.KW; kw++ {
			x := kw * d.DW
			offs[kh*d.KW+kw] = kh*d.DH*rowLen + x%d.SW*phaseLen + x/d.SW
		}
	}
	w = w[:len(offs)]
	for oh := 0; oh < d.OH; oh++ {
		Taps(dst[oh*d.OW:(oh+1)*d.OW], buf[oh*d.SH*rowLen:], offs, w, bias)
	}
}

// Taps sets dst[i] = init + Σ_t w[t]·base[offs[t]+i] for every i of dst.
// Every base[offs[t]+i] must exist.
func Taps(dst, base []float32, offs []int, w []float32, init float32) {
	n := len(dst)
	if n == 0 {
		return
	}
	w = w[:len(offs)]
	for _, o := range offs {
		_ = base[o : o+n] // bounds, once for the fast path
	}
	taps(dst, base, offs, w, init)
}

func tapsGeneric(dst, base []float32, offs []int, w []float32, init float32) {
	n := len(dst)
	for i := range dst {
		dst[i] = init
	}
	for t, o := range offs {
		wt := w[t]
		src := base[o : o+n]
		for i, v := range src {
			dst[i] += wt * v
		}
	}
}
