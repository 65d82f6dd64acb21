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

// layout describes the padded, polyphase copy of the input plane that
// Plane works on: the padded plane split into SH×SW phase blocks of
// phH×phW values, block (r, c) holding the padded rows r, r+SH, … and
// columns c, c+SW, …. Every tap then reads a contiguous run of a block.
func (d *Depthwise2D) layout() (phH, phW int) {
	hp := (d.OH-1)*d.SH + (d.KH-1)*d.DH + 1
	wp := (d.OW-1)*d.SW + (d.KW-1)*d.DW + 1
	return (hp + d.SH - 1) / d.SH, (wp + d.SW - 1) / d.SW
}

// flat reports whether Plane computes the whole plane in one pass at row
// stride phW (then compacted), rather than row by row: worth it for narrow
// planes.
func (d *Depthwise2D) flat(phW int) bool { return true }

// ScratchSize is the length of the scratch buffer Plane needs.
func (d *Depthwise2D) ScratchSize() int {
	phH, phW := d.layout()
	n := d.SH * d.SW * phH * phW
	if d.flat(phW) && phW != d.OW {
		n += (d.OH-1)*phW + d.OW
	}
	return n
}

// Taps is the number of filter taps, the length of the offs buffer Plane
// needs.
func (d *Depthwise2D) Taps() int { return d.KH * d.KW }

// Plane computes dst[oh·OW+ow] = bias + Σ w[kh·KW+kw]·src[ih·W+iw] with
// ih = oh·SH - PadT + kh·DH, iw = ow·SW - PadL + kw·DW (zero outside the
// plane). scratch must hold ScratchSize() values and offs Taps() ints.
func (d *Depthwise2D) Plane(dst, src, w []float32, bias float32, scratch []float32, offs []int) {
	phH, phW := d.layout()
	block := phH * phW
	buf := scratch[:d.SH*d.SW*block]
	d.fill(buf, src, phH, phW)
	offs = offs[:d.KH*d.KW]
	for kh := 0; kh < d.KH; kh++ {
		y := kh * d.DH
		for kw := 0; kw < d.KW; kw++ {
			x := kw * d.DW
			offs[kh*d.KW+kw] = (y%d.SH*d.SW+x%d.SW)*block + y/d.SH*phW + x/d.SW
		}
	}
	w = w[:len(offs)]
	switch {
	case phW == d.OW:
		Taps(dst[:d.OH*d.OW], buf, offs, w, bias)
	case d.flat(phW):
		tmp := scratch[len(buf) : len(buf)+(d.OH-1)*phW+d.OW]
		Taps(tmp, buf, offs, w, bias)
		for oh := 0; oh < d.OH; oh++ {
			copy(dst[oh*d.OW:(oh+1)*d.OW], tmp[oh*phW:])
		}
	default:
		for oh := 0; oh < d.OH; oh++ {
			Taps(dst[oh*d.OW:(oh+1)*d.OW], buf[oh*phW:], offs, w, bias)
		}
	}
}

// fill writes the polyphase padded copy of src into buf.
func (d *Depthwise2D) fill(buf, src []float32, phH, phW int) {
	block := phH * phW
	for r := 0; r < d.SH; r++ {
		for j := 0; j < phH; j++ {
			ih := j*d.SH + r - d.PadT
			if ih < 0 || ih >= d.H {
				for c := 0; c < d.SW; c++ {
					clear(buf[(r*d.SW+c)*block+j*phW:][:phW])
				}
				continue
			}
			in := src[ih*d.W : (ih+1)*d.W]
			if d.SW == 1 {
				line := buf[r*block+j*phW:][:phW]
				// Padded column x holds input column x - PadL.
				lo := min(d.PadL, phW)
				hi := min(d.PadL+d.W, phW)
				clear(line[:lo])
				if hi > lo {
					copy(line[lo:hi], in)
				}
				clear(line[max(hi, lo):])
				continue
			}
			if d.SW == 2 {
				d.fill2(buf[(r*2)*block+j*phW:][:phW], buf[(r*2+1)*block+j*phW:][:phW], in)
				continue
			}
			for c := 0; c < d.SW; c++ {
				line := buf[(r*d.SW+c)*block+j*phW:][:phW]
				// line[i] holds padded column i·SW + c, input column
				// i·SW + c - PadL.
				i0 := 0
				if c < d.PadL {
					i0 = (d.PadL - c + d.SW - 1) / d.SW
				}
				i0 = min(i0, phW)
				clear(line[:i0])
				i := i0
				for iw := i0*d.SW + c - d.PadL; i < phW && iw < len(in); iw += d.SW {
					line[i] = in[iw]
					i++
				}
				clear(line[i:])
			}
		}
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

// fill2 is one padded input row for column stride 2: line0 and line1 get
// the even and odd padded columns (padded column x is input column
// x - PadL).
func (d *Depthwise2D) fill2(line0, line1, in []float32) {
	lines := [2][]float32{line0, line1}
	// Phase c starts at line index j[c], reading input column
	// 2·j[c] + c - PadL, which is 0 for one phase and 1 for the other.
	var j [2]int
	for c := 0; c < 2; c++ {
		if c < d.PadL {
			j[c] = min((d.PadL-c+1)/2, len(lines[c]))
		}
		clear(lines[c][:j[c]])
	}
	cEven := (d.PadL) & 1 // the phase whose first input column is even
	cOdd := 1 - cEven
	ne := max(0, min((len(in)+1)/2, len(lines[cEven])-j[cEven]))
	no := max(0, min(len(in)/2, len(lines[cOdd])-j[cOdd]))
	pairs := min(ne, no)
	deinterleave2(lines[cEven][j[cEven]:], lines[cOdd][j[cOdd]:], in, pairs)
	for i := pairs; i < ne; i++ {
		lines[cEven][j[cEven]+i] = in[2*i]
	}
	for i := pairs; i < no; i++ {
		lines[cOdd][j[cOdd]+i] = in[2*i+1]
	}
	clear(lines[cEven][j[cEven]+ne:])
	clear(lines[cOdd][j[cOdd]+no:])
}
