package kernels

// Depthwise2D is the geometry of a 2-D convolution of one input plane
// (H×W) with one KH×KW filter into one output plane (OH×OW): the inner loop
// of a depthwise convolution, where every channel has its own filter.
type Depthwise2D struct {
	H, W, OH, OW   int
	KH, KW, SH, SW int
	DH, DW         int
	PadT, PadL     int

	// m3 caches the lane masks of the small-plane kernel (direct3x3),
	// filled by Prepare.
	m3   [128]int32
	m3ok bool
}

// layout describes the padded, polyphase copy of the input plane that
// Plane works on: the padded plane split into SH×SW phase blocks of
// phH×phW values, block (r, c) holding the padded rows r, r+SH, … and
// columns c, c+SW, …. Every tap then reads a contiguous run of a block,
// and the whole plane is computed as one run at row stride phW (the
// phW-OW extra values per row are computed and dropped).
func (d *Depthwise2D) layout() (phH, phW int) {
	hp := (d.OH-1)*d.SH + (d.KH-1)*d.DH + 1
	wp := (d.OW-1)*d.SW + (d.KW-1)*d.DW + 1
	return (hp + d.SH - 1) / d.SH, (wp + d.SW - 1) / d.SW
}

// dense returns, for a strided conv of narrow planes, the stride-1
// geometry whose output Plane computes and then subsamples: on short rows
// the polyphase split costs more than the extra multiplications.
func (d *Depthwise2D) dense() (Depthwise2D, bool) {
	if (d.SH == 1 && d.SW == 1) || d.W > 32 || d.SH*d.SW > 4 {
		return Depthwise2D{}, false
	}
	e := *d
	e.OH, e.OW = (d.OH-1)*d.SH+1, (d.OW-1)*d.SW+1
	e.SH, e.SW = 1, 1
	return e, true
}

// wideMaxW bounds the input rows of the wide-row kernel (its row of zeros
// for the padding rows has this length).
const wideMaxW = 4096

// direct3x3 reports whether Plane computes the plane straight from src,
// without a padded copy: a 3x3 filter at stride 1 and dilation 1. Rows of
// up to 32 outputs (the 28x28, 14x14 and 7x7 planes of MobileNet-style
// networks, and, through dense, their stride-2 layers) take the kernel for
// 1 to 4 vectors a row; wider rows take the wide kernel, whose inner
// vectors read whole, which needs their input columns to exist.
func (d *Depthwise2D) direct3x3() bool {
	if !HasSIMD || d.KH != 3 || d.KW != 3 || d.SH != 1 || d.SW != 1 || d.DH != 1 || d.DW != 1 ||
		d.OW < 1 || d.OH < 1 || d.PadL < 0 || d.PadL > 2 || d.PadT < 0 || d.W < 1 || d.H < 1 {
		return false
	}
	if d.OW <= 32 {
		return true
	}
	vecs := (d.OW + 7) / 8
	// The last inner vector reads up to input column 8·vecs - 7 - PadL.
	return d.W <= wideMaxW && 8*vecs-7-d.PadL <= d.W-1
}

// masks3x3 fills the lane masks of the direct kernels. For rows of N =
// ceil(OW/8) <= 4 vectors: row kw·N + v selects the lanes of vector v
// whose input column 8v + lane + kw - PadL exists (and whose output column
// is below OW); rows 3N + v select the output lanes below OW. For wider
// rows: rows kw (0-2) for vector 0, rows 3 + kw for the last vector, row 6
// its output lanes.
func (d *Depthwise2D) masks3x3(m *[128]int32) {
	*m = [128]int32{}
	n := (d.OW + 7) / 8
	lane := func(row, v, j int) {
		if c := 8*v + j; c < d.OW {
			m[row*8+j] = -1
		}
	}
	load := func(row, v, j, kw int) {
		if c := 8*v + j + kw - d.PadL; c >= 0 && c < d.W && 8*v+j < d.OW {
			m[row*8+j] = -1
		}
	}
	if n <= 4 {
		for kw := 0; kw < 3; kw++ {
			for v := 0; v < n; v++ {
				for j := 0; j < 8; j++ {
					load(kw*n+v, v, j, kw)
				}
			}
		}
		for v := 0; v < n; v++ {
			for j := 0; j < 8; j++ {
				lane(3*n+v, v, j)
			}
		}
		return
	}
	for kw := 0; kw < 3; kw++ {
		for j := 0; j < 8; j++ {
			load(kw, 0, j, kw)
			load(3+kw, n-1, j, kw)
		}
	}
	for j := 0; j < 8; j++ {
		lane(6, n-1, j)
	}
}

// ScratchSize is the length of the scratch buffer Plane needs.
func (d *Depthwise2D) ScratchSize() int {
	if d.direct3x3() {
		return 0 // the direct kernels read the plane itself
	}
	if e, ok := d.dense(); ok {
		return e.ScratchSize() + e.OH*e.OW
	}
	phH, phW := d.layout()
	n := d.SH * d.SW * phH * phW
	if phW != d.OW {
		n += (d.OH-1)*phW + d.OW
	}
	return n
}

// Taps is the number of filter taps, the length of the offs buffer Plane
// needs.
func (d *Depthwise2D) Taps() int { return d.KH * d.KW }

// Prepare readies a scratch buffer (ScratchSize values) and offs (Taps
// ints) for Plane calls with this geometry: it zeroes the padding, which
// Plane never writes, and computes the tap offsets.
func (d *Depthwise2D) Prepare(scratch []float32, offs []int) {
	if e, ok := d.dense(); ok {
		e.Prepare(scratch, offs)
		d.m3, d.m3ok = e.m3, e.m3ok
		return
	}
	if d.direct3x3() {
		d.masks3x3(&d.m3)
		d.m3ok = true
		return
	}
	phH, phW := d.layout()
	block := phH * phW
	clear(scratch[:d.SH*d.SW*block])
	offs = offs[:d.KH*d.KW]
	for kh := 0; kh < d.KH; kh++ {
		y := kh * d.DH
		for kw := 0; kw < d.KW; kw++ {
			x := kw * d.DW
			offs[kh*d.KW+kw] = (y%d.SH*d.SW+x%d.SW)*block + y/d.SH*phW + x/d.SW
		}
	}
}

// Plane computes dst[oh·OW+ow] = bias + Σ w[kh·KW+kw]·src[ih·W+iw] with
// ih = oh·SH - PadT + kh·DH, iw = ow·SW - PadL + kw·DW (zero outside the
// plane). scratch and offs must have been readied by Prepare for the same
// geometry.
func (d *Depthwise2D) Plane(dst, src, w []float32, bias float32, scratch []float32, offs []int) {
	if d.direct3x3() {
		if !d.m3ok {
			d.masks3x3(&d.m3)
		}
		dw3x3(dst, src, w, &d.m3, d, bias)
		return
	}
	if e, ok := d.dense(); ok {
		e.m3, e.m3ok = d.m3, d.m3ok
		n := e.ScratchSize()
		full := scratch[n : n+e.OH*e.OW]
		e.Plane(full, src, w, bias, scratch[:n], offs)
		for oh := 0; oh < d.OH; oh++ {
			row := full[oh*d.SH*e.OW:][:e.OW]
			out := dst[oh*d.OW : (oh+1)*d.OW]
			for ow := range out {
				out[ow] = row[ow*d.SW]
			}
		}
		return
	}
	phH, phW := d.layout()
	buf := scratch[:d.SH*d.SW*phH*phW]
	d.fill(buf, src, phH, phW)
	offs = offs[:d.KH*d.KW]
	w = w[:len(offs)]
	if phW == d.OW {
		Taps(dst[:d.OH*d.OW], buf, offs, w, bias)
		return
	}
	tmp := scratch[len(buf) : len(buf)+(d.OH-1)*phW+d.OW]
	Taps(tmp, buf, offs, w, bias)
	for oh := 0; oh < d.OH; oh++ {
		copy(dst[oh*d.OW:(oh+1)*d.OW], tmp[oh*phW:])
	}
}

// fill writes the input values of the polyphase padded copy of src into
// buf (the padding is zero already).
func (d *Depthwise2D) fill(buf, src []float32, phH, phW int) {
	block := phH * phW
	var sp stride2Plan
	if d.SW == 2 {
		sp = d.planStride2(phW)
	}
	// Input rows in memory order: row ih is padded row y = ih + PadT, row
	// j = y/SH of block row r = y%SH (rows past the padded plane are not
	// read by any tap).
	for ih := 0; ih < d.H; ih++ {
		y := ih + d.PadT
		r, j := y%d.SH, y/d.SH
		if j >= phH {
			break
		}
		{
			in := src[ih*d.W : (ih+1)*d.W]
			switch d.SW {
			case 1:
				// Padded column x holds input column x - PadL.
				line := buf[r*block+j*phW:][:phW]
				if d.PadL < phW {
					copy(line[d.PadL:], in)
				}
			case 2:
				sp.fill(buf[(r*2)*block+j*phW:][:phW], buf[(r*2+1)*block+j*phW:][:phW], in)
			default:
				for c := 0; c < d.SW; c++ {
					line := buf[(r*d.SW+c)*block+j*phW:][:phW]
					// line[i] holds padded column i·SW + c, input column
					// i·SW + c - PadL.
					i := 0
					if c < d.PadL {
						i = (d.PadL - c + d.SW - 1) / d.SW
					}
					for iw := i*d.SW + c - d.PadL; i < phW && iw < len(in); iw += d.SW {
						line[i] = in[iw]
						i++
					}
				}
			}
		}
	}
}

// stride2Plan is how fill splits an input row for column stride 2 into
// the even and odd padded columns (padded column x is input column
// x - PadL), worked out once per plane: phase c of the padded columns
// starts at line index start[c] with input column first[c] (0 or 1), and
// takes count[c] values; pairs values of both phases go through the
// vector deinterleave.
type stride2Plan struct {
	short        bool // rows under 32 values: a plain scatter
	padL         int
	lo, hi       int // the phases whose first input column is even, odd
	start, count [2]int
	pairs        int
}

func (d *Depthwise2D) planStride2(phW int) stride2Plan {
	p := stride2Plan{short: d.W < 32, padL: d.PadL}
	for c := 0; c < 2; c++ {
		if c < d.PadL {
			p.start[c] = min((d.PadL-c+1)/2, phW)
		}
	}
	p.lo = d.PadL & 1
	p.hi = 1 - p.lo
	p.count[p.lo] = max(0, min((d.W+1)/2, phW-p.start[p.lo]))
	p.count[p.hi] = max(0, min(d.W/2, phW-p.start[p.hi]))
	p.pairs = min(p.count[0], p.count[1])
	return p
}

// fill writes one input row into the even and odd padded lines.
func (p *stride2Plan) fill(line0, line1, in []float32) {
	lines := [2][]float32{line0, line1}
	if p.short {
		// Short rows: a plain scatter beats the setup of the vector path.
		for iw, v := range in {
			x := iw + p.padL
			if l := lines[x&1]; x>>1 < len(l) {
				l[x>>1] = v
			}
		}
		return
	}
	ev := lines[p.lo][p.start[p.lo]:]
	od := lines[p.hi][p.start[p.hi]:]
	deinterleave2(ev, od, in, p.pairs)
	for i := p.pairs; i < p.count[p.lo]; i++ {
		ev[i] = in[2*i]
	}
	for i := p.pairs; i < p.count[p.hi]; i++ {
		od[i] = in[2*i+1]
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
