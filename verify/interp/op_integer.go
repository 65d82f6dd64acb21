package interp

// ConvInteger and MatMulInteger, and the exact int32 convolution and matrix
// product engines that QLinearConv, QLinearMatMul and com.microsoft.QGemm
// share. Accumulation is int32 with two's-complement wrap-around.

import (
	"fmt"
	"math"

	"github.com/onnx-prom/onnx-prom/onnx/tensor"
)

func init() {
	Register("", "ConvInteger", buildConvInteger)
	Register("", "MatMulInteger", buildMatMulInteger)
}

// qCheck8 checks that dt is INT8 or UINT8.
func qCheck8(dt tensor.DataType, name string) error {
	if dt != tensor.Int8 && dt != tensor.Uint8 {
		return fmt.Errorf("%s is %s, want INT8 or UINT8", name, tensor.Name(dt))
	}
	return nil
}

// qZeroPoints reads a zero point that is either one value or n values (one
// per output channel or column); t nil means 0. The type must be want.
func qZeroPoints(c *Ctx, t *tensor.Tensor, want tensor.DataType, n int, name string) ([]int32, error) {
	if t == nil {
		return []int32{0}, nil
	}
	if t.Type != want {
		return nil, fmt.Errorf("%s is %s, want %s (the type of its data)", name, tensor.Name(t.Type), tensor.Name(want))
	}
	if t.Len() != 1 && (len(t.Shape) != 1 || t.Len() != n) {
		return nil, fmt.Errorf("%s has shape %v, want one element or [%d]", name, t.Shape, n)
	}
	return qInts(c, t, name)
}

// qScales reads a float scale that is either one value or n values.
func qScales(t *tensor.Tensor, n int, name string) ([]float32, error) {
	if t == nil {
		return nil, fmt.Errorf("%s is missing", name)
	}
	if t.Len() != 1 && (len(t.Shape) != 1 || t.Len() != n) {
		return nil, fmt.Errorf("%s has shape %v, want one element or [%d]", name, t.Shape, n)
	}
	return qFloats(t, name)
}

// qConvAttrs are the attributes of a convolution.
type qConvAttrs struct {
	autoPad                               string
	group                                 int64
	kernelShape, strides, pads, dilations []int64
}

func qParseConvAttrs(n *Node) (*qConvAttrs, error) {
	a := &qConvAttrs{}
	var err error
	if a.autoPad, err = n.AttrString("auto_pad", "NOTSET"); err != nil {
		return nil, n.Errorf("%v", err)
	}
	switch a.autoPad {
	case "NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID":
	default:
		return nil, n.Errorf("auto_pad %q is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID", a.autoPad)
	}
	if a.group, err = n.AttrInt("group", 1); err != nil {
		return nil, n.Errorf("%v", err)
	}
	if a.group < 1 || a.group > math.MaxInt32 {
		return nil, n.Errorf("group %d must be at least 1", a.group)
	}
	for _, p := range []struct {
		name string
		dst  *[]int64
	}{{"kernel_shape", &a.kernelShape}, {"strides", &a.strides}, {"pads", &a.pads}, {"dilations", &a.dilations}} {
		if *p.dst, err = n.AttrInts(p.name, nil); err != nil {
			return nil, n.Errorf("%v", err)
		}
	}
	if a.autoPad != "NOTSET" {
		a.pads = nil // auto_pad decides the padding, as in ONNX Runtime
	}
	return a, nil
}

// qConvGeom is the resolved geometry of one convolution.
type qConvGeom struct {
	n, c, m, group, cg, mg       int
	in, k, out, stride, dil, pad []int // spatial; pad holds the leading pads
	inSize, kSize, outSize       int
}

// geometry checks x and w shapes against the attributes and computes the
// output shape, following the Conv operator (auto_pad included).
func (a *qConvAttrs) geometry(x, w []int64) (*qConvGeom, error) {
	if len(x) < 3 {
		return nil, fmt.Errorf("input x has shape %v, want [N, C, D1, ...]", x)
	}
	if len(w) != len(x) {
		return nil, fmt.Errorf("weight w has shape %v, want rank %d like x %v", w, len(x), x)
	}
	sp := len(x) - 2
	g := &qConvGeom{n: int(x[0]), c: int(x[1]), m: int(w[0]), group: int(a.group), cg: int(w[1])}
	if int64(g.cg)*a.group != x[1] {
		return nil, fmt.Errorf("input has %d channels, weight %v expects %d per group × group %d", x[1], w, w[1], a.group)
	}
	if g.m%g.group != 0 {
		return nil, fmt.Errorf("%d output channels are not a multiple of group %d", g.m, g.group)
	}
	g.mg = g.m / g.group
	if a.kernelShape != nil {
		if len(a.kernelShape) != sp {
			return nil, fmt.Errorf("kernel_shape %v has %d values, want %d", a.kernelShape, len(a.kernelShape), sp)
		}
		for i, k := range a.kernelShape {
			if k != w[2+i] {
				return nil, fmt.Errorf("kernel_shape %v does not match weight shape %v", a.kernelShape, w)
			}
		}
	}
	vec := func(v []int64, n int, def int64, name string) ([]int64, error) {
		if v == nil {
			v = make([]int64, n)
			for i := range v {
				v[i] = def
			}
		}
		if len(v) != n {
			return nil, fmt.Errorf("%s %v has %d values, want %d", name, v, len(v), n)
		}
		return v, nil
	}
	strides, err := vec(a.strides, sp, 1, "strides")
	if err != nil {
		return nil, err
	}
	dils, err := vec(a.dilations, sp, 1, "dilations")
	if err != nil {
		return nil, err
	}
	pads, err := vec(a.pads, 2*sp, 0, "pads")
	if err != nil {
		return nil, err
	}
	g.inSize, g.kSize, g.outSize = 1, 1, 1
	for i := 0; i < sp; i++ {
		in, k, s, d := x[2+i], w[2+i], strides[i], dils[i]
		if s < 1 || d < 1 || k < 1 || pads[i] < 0 || pads[sp+i] < 0 {
			return nil, fmt.Errorf("invalid kernel %v, strides %v, pads %v or dilations %v", w[2:], strides, pads, dils)
		}
		if s > math.MaxInt32 || d > math.MaxInt32 || k > math.MaxInt32 || pads[i] > math.MaxInt32 || pads[sp+i] > math.MaxInt32 {
			return nil, fmt.Errorf("kernel, strides, pads or dilations too large")
		}
		ext := d*(k-1) + 1
		if in > math.MaxInt32 {
			return nil, fmt.Errorf("input dimension %d is too large", in)
		}
		var out, pb int64
		switch a.autoPad {
		case "NOTSET":
			pb = pads[i]
			out = (in+pads[i]+pads[sp+i]-ext)/s + 1
			if in+pads[i]+pads[sp+i] < ext {
				out = 0
			}
		case "VALID":
			out = 0
			if in >= ext {
				out = (in-ext)/s + 1
			}
		default: // SAME_UPPER, SAME_LOWER
			out = (in + s - 1) / s
			total := max(0, (out-1)*s+ext-in)
			pb = total / 2
			if a.autoPad == "SAME_LOWER" {
				pb = total - total/2
			}
		}
		if out < 1 {
			return nil, fmt.Errorf("output would be empty on spatial axis %d (input %d, kernel %d, dilation %d, stride %d)", i, in, k, d, s)
		}
		g.in = append(g.in, int(in))
		g.k = append(g.k, int(k))
		g.out = append(g.out, int(out))
		g.stride = append(g.stride, int(s))
		g.dil = append(g.dil, int(d))
		g.pad = append(g.pad, int(pb))
		g.inSize *= int(in)
		g.kSize *= int(k)
		g.outSize *= int(out)
	}
	// Guard the buffers a hostile shape would blow up: the output and the
	// im2col matrix of one group.
	if n, err := tensor.NumElements(g.outShape()); err != nil || n > maxElements {
		return nil, fmt.Errorf("output shape %v is too large", g.outShape())
	}
	if n, err := tensor.NumElements([]int64{int64(g.cg), int64(g.kSize), int64(g.outSize)}); err != nil || n > maxElements {
		return nil, fmt.Errorf("convolution of %d channels × %d taps × %d outputs is too large", g.cg, g.kSize, g.outSize)
	}
	return g, nil
}

// outShape is [N, M, out...].
func (g *qConvGeom) outShape() []int64 {
	s := []int64{int64(g.n), int64(g.m)}
	for _, o := range g.out {
		s = append(s, int64(o))
	}
	return s
}

// pointwise reports a 1×1 convolution with unit strides and no padding.
func (g *qConvGeom) pointwise() bool {
	if g.kSize != 1 {
		return false
	}
	for i := range g.stride {
		if g.stride[i] != 1 || g.pad[i] != 0 || g.out[i] != g.in[i] {
			return false
		}
	}
	return true
}

// qConvAcc computes acc[n, m, p] = bias[m] + Σ xs[n, c, p·stride+k·dil-pad]
// · ws[m, c', k] over the channels c of m's group and the kernel taps k,
// where xs is x minus its zero point (so padding contributes 0) and ws is w
// minus its zero point. bias may be nil. All arithmetic is wrapping int32.
func qConvAcc(c *Ctx, g *qConvGeom, xs, ws, bias, acc []int32) {
	P, K := g.outSize, g.cg*g.kSize
	if g.cg == 1 && g.mg == 1 && len(g.in) <= 2 {
		qDepthwise2D(c, g, xs, ws, bias, acc)
		return
	}
	var col []int32
	if !g.pointwise() {
		col = c.ScratchOf(tensor.Int32, K*P).([]int32)
	}
	for n := 0; n < g.n; n++ {
		for gr := 0; gr < g.group; gr++ {
			src := xs[(n*g.c+gr*g.cg)*g.inSize : (n*g.c+(gr+1)*g.cg)*g.inSize]
			cols := src
			if col != nil {
				qIm2col(c, g, src, col)
				cols = col
			}
			w := ws[gr*g.mg*K : (gr+1)*g.mg*K]
			dst := acc[(n*g.m+gr*g.mg)*P : (n*g.m+(gr+1)*g.mg)*P]
			var b []int32
			if bias != nil {
				b = bias[gr*g.mg : (gr+1)*g.mg]
			}
			qGemmRows(c, w, cols, b, dst, g.mg, K, P)
		}
	}
}

// qGemmRows computes dst[m, p] = b[m] + Σ_k w[m, k]·col[k, p] for m < M,
// in parallel over m. b may be nil.
func qGemmRows(c *Ctx, w, col, b, dst []int32, M, K, P int) {
	c.Parallel(M, max(1, 4096/max(1, K*P/64)), func(m0, m1 int) {
		for m := m0; m < m1; m++ {
			row := dst[m*P : (m+1)*P]
			var bv int32
			if b != nil {
				bv = b[m]
			}
			for p := range row {
				row[p] = bv
			}
			qAxpyRows(row, w[m*K:(m+1)*K], col, P)
		}
	})
}

// qAxpyRows adds Σ_k w[k]·col[k*P : (k+1)*P] to row, four rows of col at
// a time.
func qAxpyRows(row, w, col []int32, P int) {
	k := 0
	for ; k+4 <= len(w); k += 4 {
		w0, w1, w2, w3 := w[k], w[k+1], w[k+2], w[k+3]
		if w0|w1|w2|w3 == 0 {
			continue
		}
		c0 := col[k*P : k*P+P]
		c1 := col[(k+1)*P : (k+1)*P+P]
		c2 := col[(k+2)*P : (k+2)*P+P]
		c3 := col[(k+3)*P : (k+3)*P+P]
		c0, c1, c2, c3 = c0[:len(row)], c1[:len(row)], c2[:len(row)], c3[:len(row)]
		for p := range row {
			row[p] += w0*c0[p] + w1*c1[p] + w2*c2[p] + w3*c3[p]
		}
	}
	for ; k < len(w); k++ {
		wv := w[k]
		if wv == 0 {
			continue
		}
		cr := col[k*P : k*P+P]
		cr = cr[:len(row)]
		for p := range row {
			row[p] += wv * cr[p]
		}
	}
}

// qIm2col lays out the taps of one group's input channels src ([cg, in...])
// as col[(ci, k...), p] with zeros where a tap falls in the padding.
func qIm2col(c *Ctx, g *qConvGeom, src, col []int32) {
	P := g.outSize
	if len(g.in) <= 2 {
		H, W, KH, KW, OH, OW := 1, g.in[0], 1, g.k[0], 1, g.out[0]
		SH, SW, DH, DW, PH, PW := 1, g.stride[0], 1, g.dil[0], 0, g.pad[0]
		if len(g.in) == 2 {
			H, W, KH, KW, OH, OW = g.in[0], g.in[1], g.k[0], g.k[1], g.out[0], g.out[1]
			SH, SW, DH, DW, PH, PW = g.stride[0], g.stride[1], g.dil[0], g.dil[1], g.pad[0], g.pad[1]
		}
		rows := g.cg * KH * KW
		c.Parallel(rows, max(1, 8192/max(P, 1)), func(r0, r1 int) {
			for r := r0; r < r1; r++ {
				ci, kh, kw := r/(KH*KW), r/KW%KH, r%KW
				in := src[ci*H*W : (ci+1)*H*W]
				dst := col[r*P : (r+1)*P]
				for oh := 0; oh < OH; oh++ {
					ih := oh*SH - PH + kh*DH
					d := dst[oh*OW : (oh+1)*OW]
					if ih < 0 || ih >= H {
						clear(d)
						continue
					}
					line := in[ih*W : (ih+1)*W]
					for ow := range d {
						iw := ow*SW - PW + kw*DW
						if iw >= 0 && iw < W {
							d[ow] = line[iw]
						} else {
							d[ow] = 0
						}
					}
				}
			}
		})
		return
	}
	// Any number of spatial axes.
	sp := len(g.in)
	rows := g.cg * g.kSize
	c.Parallel(rows, max(1, 8192/max(P, 1)), func(r0, r1 int) {
		kpos := make([]int, sp)
		opos := make([]int, sp)
		for r := r0; r < r1; r++ {
			ci, kf := r/g.kSize, r%g.kSize
			for d := sp - 1; d >= 0; d-- {
				kpos[d] = kf % g.k[d]
				kf /= g.k[d]
			}
			in := src[ci*g.inSize : (ci+1)*g.inSize]
			dst := col[r*P : (r+1)*P]
			for p := range dst {
				pf := p
				for d := sp - 1; d >= 0; d-- {
					opos[d] = pf % g.out[d]
					pf /= g.out[d]
				}
				idx, ok := 0, true
				for d := 0; d < sp; d++ {
					i := opos[d]*g.stride[d] - g.pad[d] + kpos[d]*g.dil[d]
					if i < 0 || i >= g.in[d] {
						ok = false
						break
					}
					idx = idx*g.in[d] + i
				}
				if ok {
					dst[p] = in[idx]
				} else {
					dst[p] = 0
				}
			}
		}
	})
}

// qDepthwise2D is qConvAcc for one input and one output channel per group
// with at most two spatial axes. For every tap it adds w·x over the range
// of output columns whose input column is inside the image, so the inner
// loop has no branches.
func qDepthwise2D(c *Ctx, g *qConvGeom, xs, ws, bias, acc []int32) {
	H, W, KH, KW, OH, OW := 1, g.in[0], 1, g.k[0], 1, g.out[0]
	SH, SW, DH, DW, PH, PW := 1, g.stride[0], 1, g.dil[0], 0, g.pad[0]
	if len(g.in) == 2 {
		H, W, KH, KW, OH, OW = g.in[0], g.in[1], g.k[0], g.k[1], g.out[0], g.out[1]
		SH, SW, DH, DW, PH, PW = g.stride[0], g.stride[1], g.dil[0], g.dil[1], g.pad[0], g.pad[1]
	}
	// Output columns [lo[kw], hi[kw]) read inside the image for tap kw:
	// 0 <= ow*SW - PW + kw*DW < W.
	lo, hi := make([]int, KW), make([]int, KW)
	for kw := 0; kw < KW; kw++ {
		off := kw*DW - PW
		l := 0
		if off < 0 {
			l = (-off + SW - 1) / SW
		}
		h := 0
		if W-off > 0 {
			h = (W - off + SW - 1) / SW
		}
		lo[kw], hi[kw] = min(l, OW), min(max(h, l), OW)
	}
	c.Parallel(g.n*g.m, 1, func(i0, i1 int) {
		for i := i0; i < i1; i++ {
			ch := i % g.m
			in := xs[i*H*W : (i+1)*H*W]
			w := ws[ch*KH*KW : (ch+1)*KH*KW]
			dst := acc[i*OH*OW : (i+1)*OH*OW]
			var b int32
			if bias != nil {
				b = bias[ch]
			}
			for j := range dst {
				dst[j] = b
			}
			for oh := 0; oh < OH; oh++ {
				drow := dst[oh*OW : (oh+1)*OW]
				for kh := 0; kh < KH; kh++ {
					ih := oh*SH - PH + kh*DH
					if ih < 0 || ih >= H {
						continue
					}
					line := in[ih*W : (ih+1)*W]
					for kw := 0; kw < KW; kw++ {
						wv := w[kh*KW+kw]
						if wv == 0 || lo[kw] >= hi[kw] {
							continue
						}
						off := kw*DW - PW
						d := drow[lo[kw]:hi[kw]]
						if SW == 1 {
							src := line[lo[kw]+off : hi[kw]+off]
							src = src[:len(d)]
							for j := range d {
								d[j] += wv * src[j]
							}
							continue
						}
						base := lo[kw]*SW + off
						for j := range d {
							d[j] += wv * line[base+j*SW]
						}
					}
				}
			}
		}
	})
}

// qConvInputs widens x and w to int32 and subtracts their zero points
// (xzp one value, wzp one value or one per output channel).
func qConvInputs(c *Ctx, g *qConvGeom, x, w *tensor.Tensor, xzp int32, wzp []int32) ([]int32, []int32, error) {
	xs, err := qInts(c, x, "input x")
	if err != nil {
		return nil, nil, err
	}
	ws, err := qInts(c, w, "weight w")
	if err != nil {
		return nil, nil, err
	}
	if xzp != 0 {
		for i := range xs {
			xs[i] -= xzp
		}
	}
	per := len(ws) / max(g.m, 1)
	for m := 0; m < g.m; m++ {
		z := wzp[0]
		if len(wzp) > 1 {
			z = wzp[m]
		}
		if z == 0 {
			continue
		}
		row := ws[m*per : (m+1)*per]
		for i := range row {
			row[i] -= z
		}
	}
	return xs, ws, nil
}

type convInteger struct{ attrs *qConvAttrs }

func buildConvInteger(n *Node) (Kernel, error) {
	if len(n.Inputs) < 2 || n.Input(0) == nil || n.Input(1) == nil {
		return nil, n.Errorf("ConvInteger needs inputs x and w")
	}
	a, err := qParseConvAttrs(n)
	if err != nil {
		return nil, err
	}
	for i, name := range []string{"input x", "weight w", "x_zero_point", "w_zero_point"} {
		if t := n.InputType(i); t != tensor.Undefined {
			if err := qCheck8(t, name); err != nil {
				return nil, n.Errorf("%v", err)
			}
		}
	}
	return &convInteger{a}, nil
}

func (k *convInteger) Run(c *Ctx, in, out []*tensor.Tensor) error {
	x, w := in[0], in[1]
	if err := qCheck8(x.Type, "input x"); err != nil {
		return err
	}
	if err := qCheck8(w.Type, "weight w"); err != nil {
		return err
	}
	g, err := k.attrs.geometry(x.Shape, w.Shape)
	if err != nil {
		return err
	}
	var xzpT, wzpT *tensor.Tensor
	if len(in) > 2 {
		xzpT = in[2]
	}
	if len(in) > 3 {
		wzpT = in[3]
	}
	xzp, err := qScalarZP(c, xzpT, x.Type, "x_zero_point")
	if err != nil {
		return err
	}
	wzp, err := qZeroPoints(c, wzpT, w.Type, g.m, "w_zero_point")
	if err != nil {
		return err
	}
	xs, ws, err := qConvInputs(c, g, x, w, xzp, wzp)
	if err != nil {
		return err
	}
	y, err := c.Alloc(tensor.Int32, g.outShape()...)
	if err != nil {
		return err
	}
	qConvAcc(c, g, xs, ws, nil, y.Data.([]int32))
	out[0] = y
	return nil
}

// qMatMulGeom is the resolved shape of a numpy-style matrix product.
type qMatMulGeom struct {
	m, k, n        int
	out            []int64
	batch          int   // number of output matrices
	aIdx, bIdx     []int // per output matrix, the matrix of a and of b
	aBatch, bBatch []int64
}

// qMatMulGeometry follows numpy.matmul: 1-D operands get a unit dimension
// that is dropped from the result; batch dimensions broadcast.
func qMatMulGeometry(a, b []int64) (*qMatMulGeom, error) {
	if len(a) == 0 || len(b) == 0 {
		return nil, fmt.Errorf("matrix product of a scalar (shapes %v and %v)", a, b)
	}
	as, bs := a, b
	if len(as) == 1 {
		as = []int64{1, a[0]}
	}
	if len(bs) == 1 {
		bs = []int64{b[0], 1}
	}
	g := &qMatMulGeom{m: int(as[len(as)-2]), k: int(as[len(as)-1]), n: int(bs[len(bs)-1])}
	if bs[len(bs)-2] != int64(g.k) {
		return nil, fmt.Errorf("shapes %v and %v do not multiply: inner dimensions %d and %d", a, b, g.k, bs[len(bs)-2])
	}
	g.aBatch, g.bBatch = as[:len(as)-2], bs[:len(bs)-2]
	batch, err := qBroadcastShape(g.aBatch, g.bBatch)
	if err != nil {
		return nil, fmt.Errorf("batch dimensions of %v and %v: %w", a, b, err)
	}
	nb, err := tensor.NumElements(batch)
	if err != nil || nb > maxElements {
		return nil, fmt.Errorf("batch dimensions %v are too large", batch)
	}
	if n, err := tensor.NumElements(append(append([]int64{}, batch...), int64(g.m), int64(g.n))); err != nil || n > maxElements {
		return nil, fmt.Errorf("product of %v and %v is too large", a, b)
	}
	g.batch = int(nb)
	g.aIdx = qBroadcastIndex(batch, g.aBatch)
	g.bIdx = qBroadcastIndex(batch, g.bBatch)
	g.out = append([]int64{}, batch...)
	if len(a) > 1 {
		g.out = append(g.out, int64(g.m))
	}
	if len(b) > 1 {
		g.out = append(g.out, int64(g.n))
	}
	return g, nil
}

// qBroadcastShape is the numpy broadcast of two shapes.
func qBroadcastShape(a, b []int64) ([]int64, error) {
	r := max(len(a), len(b))
	out := make([]int64, r)
	for i := 0; i < r; i++ {
		da, db := int64(1), int64(1)
		if j := len(a) - r + i; j >= 0 {
			da = a[j]
		}
		if j := len(b) - r + i; j >= 0 {
			db = b[j]
		}
		switch {
		case da == db, db == 1:
			out[i] = da
		case da == 1:
			out[i] = db
		default:
			return nil, fmt.Errorf("shapes %v and %v do not broadcast", a, b)
		}
	}
	return out, nil
}

// qBroadcastIndex maps every flat index of shape out to the flat index of
// the element of shape in (right-aligned, size-1 dimensions repeated) that
// broadcasts to it.
func qBroadcastIndex(out, in []int64) []int {
	n := 1
	for _, d := range out {
		n *= int(d)
	}
	idx := make([]int, n)
	r := len(out)
	strides := make([]int, r)
	s := 1
	for i := len(in) - 1; i >= 0; i-- {
		j := r - len(in) + i
		if in[i] != 1 {
			strides[j] = s
		}
		s *= int(in[i])
	}
	pos := make([]int, r)
	cur := 0
	for f := 0; f < n; f++ {
		idx[f] = cur
		for d := r - 1; d >= 0; d-- {
			pos[d]++
			cur += strides[d]
			if pos[d] < int(out[d]) {
				break
			}
			cur -= strides[d] * pos[d]
			pos[d] = 0
		}
	}
	return idx
}

// qMatMulAcc computes acc[b] = A'[aIdx[b]] · B'[bIdx[b]] for every output
// matrix, where A' and B' are the int32 operands with zero points already
// subtracted.
func qMatMulAcc(c *Ctx, g *qMatMulGeom, as, bs, acc []int32) {
	M, K, N := g.m, g.k, g.n
	c.Parallel(g.batch*M, max(1, 4096/max(1, K*N/64)), func(r0, r1 int) {
		for r := r0; r < r1; r++ {
			bi, i := r/M, r%M
			a := as[(g.aIdx[bi]*M+i)*K : (g.aIdx[bi]*M+i+1)*K]
			b := bs[g.bIdx[bi]*K*N : (g.bIdx[bi]+1)*K*N]
			row := acc[r*N : (r+1)*N]
			clear(row)
			for k, av := range a {
				if av == 0 {
					continue
				}
				br := b[k*N : (k+1)*N]
				for j, bv := range br {
					row[j] += av * bv
				}
			}
		}
	})
}

// qMatMulZP subtracts zero points from a matrix operand of shape shape
// (rows × cols innermost): zp may be one value, a vector along the rows
// (perRow) or the columns, or a tensor shaped like the operand with a unit
// dimension in place of the columns (perRow) or rows.
func qMatMulZP(vals []int32, shape []int64, zp *tensor.Tensor, zv []int32, perRow bool, name string) error {
	if zp == nil || zp.Len() == 1 {
		z := int32(0)
		if zp != nil {
			z = zv[0]
		}
		if z != 0 {
			for i := range vals {
				vals[i] -= z
			}
		}
		return nil
	}
	r := len(shape)
	rows, cols := 1, int(shape[r-1])
	if r >= 2 {
		rows = int(shape[r-2])
	}
	mats := len(vals) / max(1, rows*cols)
	along := cols
	if perRow {
		along = rows
	}
	full := false
	switch {
	case len(zp.Shape) == 1 && int(zp.Shape[0]) == along:
	case len(zp.Shape) == r && r >= 2:
		want := append([]int64{}, shape...)
		if perRow {
			want[r-1] = 1
		} else {
			want[r-2] = 1
		}
		if fmt.Sprint(want) != fmt.Sprint(zp.Shape) {
			return fmt.Errorf("%s has shape %v, want one element, [%d] or %v", name, zp.Shape, along, want)
		}
		full = true
	default:
		return fmt.Errorf("%s has shape %v, want one element or [%d]", name, zp.Shape, along)
	}
	for mi := 0; mi < mats; mi++ {
		for i := 0; i < rows; i++ {
			for j := 0; j < cols; j++ {
				p := j
				if perRow {
					p = i
				}
				if full {
					p += mi * along
				}
				vals[(mi*rows+i)*cols+j] -= zv[p]
			}
		}
	}
	return nil
}

func buildMatMulInteger(n *Node) (Kernel, error) {
	if len(n.Inputs) < 2 || n.Input(0) == nil || n.Input(1) == nil {
		return nil, n.Errorf("MatMulInteger needs inputs A and B")
	}
	for i, name := range []string{"input A", "input B", "a_zero_point", "b_zero_point"} {
		if t := n.InputType(i); t != tensor.Undefined {
			if err := qCheck8(t, name); err != nil {
				return nil, n.Errorf("%v", err)
			}
		}
	}
	return KernelFunc(runMatMulInteger), nil
}

func runMatMulInteger(c *Ctx, in, out []*tensor.Tensor) error {
	a, b := in[0], in[1]
	if err := qCheck8(a.Type, "input A"); err != nil {
		return err
	}
	if err := qCheck8(b.Type, "input B"); err != nil {
		return err
	}
	g, err := qMatMulGeometry(a.Shape, b.Shape)
	if err != nil {
		return err
	}
	as, bs, err := qMatMulOperands(c, a, b, in, 2, 3)
	if err != nil {
		return err
	}
	y, err := c.Alloc(tensor.Int32, g.out...)
	if err != nil {
		return err
	}
	qMatMulAcc(c, g, as, bs, y.Data.([]int32))
	out[0] = y
	return nil
}

// qMatMulOperands widens A and B to int32 and subtracts the zero points
// found at inputs za and zb (per tensor, per row of A, per column of B).
func qMatMulOperands(c *Ctx, a, b *tensor.Tensor, in []*tensor.Tensor, za, zb int) ([]int32, []int32, error) {
	as, err := qInts(c, a, "input A")
	if err != nil {
		return nil, nil, err
	}
	bs, err := qInts(c, b, "input B")
	if err != nil {
		return nil, nil, err
	}
	for _, z := range []struct {
		i      int
		vals   []int32
		of     *tensor.Tensor
		perRow bool
		name   string
	}{{za, as, a, true, "a_zero_point"}, {zb, bs, b, false, "b_zero_point"}} {
		if z.i >= len(in) || in[z.i] == nil {
			continue
		}
		zt := in[z.i]
		if zt.Type != z.of.Type {
			return nil, nil, fmt.Errorf("%s is %s, want %s (the type of its data)", z.name, tensor.Name(zt.Type), tensor.Name(z.of.Type))
		}
		zv, err := qInts(c, zt, z.name)
		if err != nil {
			return nil, nil, err
		}
		shape := z.of.Shape
		if len(shape) == 1 && z.perRow {
			shape = []int64{1, shape[0]}
		} else if len(shape) == 1 {
			shape = []int64{shape[0], 1}
		}
		if err := qMatMulZP(z.vals, shape, zt, zv, z.perRow, z.name); err != nil {
			return nil, nil, err
		}
	}
	return as, bs, nil
}
