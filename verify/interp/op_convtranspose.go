package interp

import (
	"fmt"
	"slices"

	"github.com/onnx-prom/onnx-prom/onnx/tensor"
	"github.com/onnx-prom/onnx-prom/verify/interp/kernels"
)

// ConvTranspose runs as a matrix product per image and group,
// col[(Mg·k) × in] = W_g^T · X_g, followed by a col2im scatter-add into the
// output. When output_shape is given (or auto_pad is SAME_*), the pads are
// derived from it as the operator's specification says, with floor
// division: total = stride·(in-1) + output_padding + (k-1)·dilation + 1 -
// out; SAME_UPPER puts total/2 at the start, every other mode total -
// total/2.

func init() {
	Register("", "ConvTranspose", buildConvTranspose)
}

type convTransposeKernel struct {
	win         *cnnWindow
	group       int
	outPadding  []int64
	outputShape []int64
	wShape      []int64
	packed      []float32 // constant W packed per group as W_g^T
	bConst      []float32
}

func buildConvTranspose(n *Node) (Kernel, error) {
	if len(n.Inputs) < 2 || len(n.Inputs) > 3 || n.Input(0) == nil || n.Input(1) == nil || len(n.Outputs) != 1 {
		return nil, n.Errorf("ConvTranspose takes inputs X, W and an optional B and has one output")
	}
	for i, name := range []string{"X", "W", "B"} {
		if err := cnnCheckFloatInput(n, i, name); err != nil {
			return nil, err
		}
	}
	win, err := cnnParseWindow(n, true)
	if err != nil {
		return nil, err
	}
	group, err := n.AttrInt("group", 1)
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	if group < 1 || group > 1<<30 {
		return nil, n.Errorf("group %d must be positive", group)
	}
	k := &convTransposeKernel{win: win, group: int(group)}
	if k.outPadding, err = n.AttrInts("output_padding", nil); err != nil {
		return nil, n.Errorf("%v", err)
	}
	for _, v := range k.outPadding {
		if v < 0 || v > cnnMaxAttr {
			return nil, n.Errorf("output_padding %v must be non-negative", k.outPadding)
		}
	}
	if k.outputShape, err = n.AttrInts("output_shape", nil); err != nil {
		return nil, n.Errorf("%v", err)
	}
	for _, v := range k.outputShape {
		if v < 1 || v > 1<<31 {
			return nil, n.Errorf("output_shape %v must be positive", k.outputShape)
		}
	}
	if w := n.Const(1); w != nil {
		if len(w.Shape) < 3 || len(w.Shape)-2 > cnnMaxDims {
			return nil, n.Errorf("W has shape %v, want [C, M/group, k1, ...]", w.Shape)
		}
		if xs := n.Input(0).Shape; xs != nil {
			if len(xs) != len(w.Shape) {
				return nil, n.Errorf("X has rank %d but W has rank %d", len(xs), len(w.Shape))
			}
			if xs[1].Known() && xs[1].Value != w.Shape[0] {
				return nil, n.Errorf("X has %d channels but W has %d", xs[1].Value, w.Shape[0])
			}
		}
		if w.Shape[0]%group != 0 || w.Shape[1] < 1 {
			return nil, n.Errorf("W has shape %v: its %d input channels are not a multiple of group %d", w.Shape, w.Shape[0], group)
		}
		if win.kernel != nil && !slices.Equal(win.kernel, w.Shape[2:]) {
			return nil, n.Errorf("kernel_shape %v does not match W's spatial shape %v", win.kernel, w.Shape[2:])
		}
		wf, err := cnnConstF32(w)
		if err != nil {
			return nil, n.Errorf("W: %v", err)
		}
		k.wShape = w.Shape
		k.packed = make([]float32, convTPackedSize(w.Shape, k.group))
		convTPack(k.packed, wf, w.Shape, k.group)
	}
	if b := n.Const(2); b != nil {
		if len(b.Shape) != 1 || (k.wShape != nil && b.Shape[0] != k.wShape[1]*group) {
			return nil, n.Errorf("B has shape %v, want [M] with M the output channels", b.Shape)
		}
		if k.bConst, err = cnnConstF32(b); err != nil {
			return nil, n.Errorf("B: %v", err)
		}
	}
	return k, nil
}

func convTDims(ws []int64, group int) (cg, rows int) {
	ksz := 1
	for _, d := range ws[2:] {
		ksz *= int(d)
	}
	return int(ws[0]) / group, int(ws[1]) * ksz
}

func convTPackedSize(ws []int64, group int) int {
	cg, rows := convTDims(ws, group)
	return group * kernels.PackedASize(rows, cg)
}

// convTPack packs W [C][Mg][k...] per group as A_g = W_g^T (rows Mg·k,
// depth C/group).
func convTPack(dst, w []float32, ws []int64, group int) {
	cg, rows := convTDims(ws, group)
	sz := kernels.PackedASize(rows, cg)
	for g := 0; g < group; g++ {
		kernels.PackA(dst[g*sz:(g+1)*sz], w[g*cg*rows:], rows, true, rows, cg, 1)
	}
}

// resolve computes the output geometry of the transposed conv.
func (k *convTransposeKernel) resolve(in, kern []int64) (cnnGeom, error) {
	var g cnnGeom
	nd := len(in)
	w := k.win
	if nd == 0 || nd > cnnMaxDims {
		return g, fmt.Errorf("%d spatial dimensions, want 1..%d", nd, cnnMaxDims)
	}
	for _, a := range []struct {
		name string
		v    []int64
		n    int
	}{{"kernel_shape", w.kernel, nd}, {"strides", w.strides, nd}, {"dilations", w.dilations, nd}, {"pads", w.pads, 2 * nd}, {"output_padding", k.outPadding, nd}} {
		if a.v != nil && len(a.v) != a.n {
			return g, fmt.Errorf("%s %v does not fit %d spatial dimensions", a.name, a.v, nd)
		}
	}
	outShape := k.outputShape
	if outShape != nil {
		switch len(outShape) {
		case nd:
		case nd + 2:
			outShape = outShape[2:]
		default:
			return g, fmt.Errorf("output_shape %v does not fit %d spatial dimensions", k.outputShape, nd)
		}
	}
	g.nd = nd
	g.inSize, g.kSize, g.outSize = 1, 1, 1
	for i := 0; i < nd; i++ {
		if w.kernel != nil && w.kernel[i] != kern[i] {
			return g, fmt.Errorf("kernel_shape %v does not match W's spatial shape %v", w.kernel, kern)
		}
		if kern[i] < 1 || kern[i] > cnnMaxAttr {
			return g, fmt.Errorf("invalid kernel shape %v", kern)
		}
		g.in[i], g.k[i], g.s[i], g.d[i] = int(in[i]), int(kern[i]), 1, 1
		if w.strides != nil {
			g.s[i] = int(w.strides[i])
		}
		if w.dilations != nil {
			g.d[i] = int(w.dilations[i])
		}
		op := 0
		if k.outPadding != nil {
			op = int(k.outPadding[i])
		}
		full := g.s[i]*(g.in[i]-1) + op + (g.k[i]-1)*g.d[i] + 1
		same := w.autoPad == "SAME_UPPER" || w.autoPad == "SAME_LOWER"
		switch {
		case outShape != nil || same:
			out := g.in[i] * g.s[i]
			if outShape != nil {
				out = int(outShape[i])
			}
			total := full - out
			half := floorDiv(total, 2)
			if w.autoPad == "SAME_UPPER" {
				g.pb[i], g.pe[i] = half, total-half
			} else {
				g.pb[i], g.pe[i] = total-half, half
			}
			g.out[i] = out
		default:
			if w.pads != nil && w.autoPad == "NOTSET" {
				g.pb[i], g.pe[i] = int(w.pads[i]), int(w.pads[i+nd])
			}
			g.out[i] = full - g.pb[i] - g.pe[i]
		}
		if g.out[i] <= 0 {
			return g, fmt.Errorf("spatial dimension %d: the output size %d is not positive", i, g.out[i])
		}
		g.inSize *= g.in[i]
		g.kSize *= g.k[i]
		g.outSize *= g.out[i]
	}
	return g, nil
}

func floorDiv(a, b int) int {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func (k *convTransposeKernel) Run(c *Ctx, in, out []*tensor.Tensor) error {
	x, w := in[0], in[1]
	var b *tensor.Tensor
	if len(in) > 2 {
		b = in[2]
	}
	if !cnnIsFloat(x.Type) || w.Type != x.Type || (b != nil && b.Type != x.Type) {
		return fmt.Errorf("X, W and B must have the same float type")
	}
	xs, ws := x.Shape, w.Shape
	if len(xs) < 3 || len(ws) != len(xs) {
		return fmt.Errorf("X has shape %v and W has shape %v, want [N, C, d...] and [C, M/group, k...]", xs, ws)
	}
	group := k.group
	if ws[0] != xs[1] {
		return fmt.Errorf("X has %d channels but W (shape %v) has %d", xs[1], ws, ws[0])
	}
	if ws[0]%int64(group) != 0 || ws[1] < 1 {
		return fmt.Errorf("W has shape %v: %d input channels are not a multiple of group %d", ws, ws[0], group)
	}
	nb, ch := int(xs[0]), int(xs[1])
	mg := int(ws[1])
	m := mg * group
	if b != nil && (len(b.Shape) != 1 || int(b.Shape[0]) != m) {
		return fmt.Errorf("B has shape %v, want [%d]", b.Shape, m)
	}
	geo, err := k.resolve(xs[2:], ws[2:])
	if err != nil {
		return err
	}
	var shape [cnnMaxDims + 2]int64
	shape[0], shape[1] = int64(nb), int64(m)
	for i := 0; i < geo.nd; i++ {
		shape[2+i] = int64(geo.out[i])
	}
	y, yf, err := cnnOut(c, x.Type, shape[:2+geo.nd]...)
	if err != nil {
		return err
	}
	out[0] = y
	if y.Len() == 0 {
		return nil
	}
	xf, err := cnnF32(c, x)
	if err != nil {
		return err
	}
	packed := k.packed
	if packed == nil || !slices.Equal(ws, k.wShape) {
		wf, err := cnnF32(c, w)
		if err != nil {
			return err
		}
		packed = c.Scratch(convTPackedSize(ws, group))
		convTPack(packed, wf, ws, group)
	}
	var bf []float32
	if b != nil {
		if bf = k.bConst; bf == nil {
			if bf, err = cnnF32(c, b); err != nil {
				return err
			}
		}
	}
	cg, rows := convTDims(ws, group)
	sz := kernels.PackedASize(rows, cg)
	inSize, outSize := geo.inSize, geo.outSize
	if float64(group)*float64(rows)*float64(inSize) > maxElements {
		return fmt.Errorf("the column buffer of %d×%d×%d elements is over the limit", group, rows, inSize)
	}
	col := c.Scratch(group * rows * inSize)
	for n := 0; n < nb; n++ {
		n := n
		gm := &kernels.Gemm{M: rows, N: inSize, K: cg, Count: group,
			A: func(p int) []float32 { return packed[p*sz : (p+1)*sz] },
			B: &kernels.Dense{Data: xf, Ld: inSize, Offset: func(p int) int { return (n*ch + p*cg) * inSize }},
			C: col}
		workers := gm.Workers(c.Threads())
		gm.Run(cnnParallel(c), workers, c.Scratch(gm.ScratchSize(workers)))
		cnnFor(c, m, max(1, (1<<15)/max(1, inSize*geo.kSize)), func(lo, hi int) {
			for o := lo; o < hi; o++ {
				dst := yf[(n*m+o)*outSize : (n*m+o+1)*outSize]
				var bv float32
				if bf != nil {
					bv = bf[o]
				}
				for i := range dst {
					dst[i] = bv
				}
				col2im(&geo, col[o*geo.kSize*inSize:(o+1)*geo.kSize*inSize], dst)
			}
		})
	}
	cnnFinish(y, yf)
	return nil
}

// col2im adds col [k][in] into the output plane dst: input position i and
// kernel position kk land on output i·s - pb + kk·d when inside.
func col2im(geo *cnnGeom, col, dst []float32) {
	nd := geo.nd
	if nd <= 2 {
		h, w, oh, ow, kh, kw := 1, geo.in[0], 1, geo.out[0], 1, geo.k[0]
		sh, sw, dh, dw, pt, pl := 1, geo.s[0], 1, geo.d[0], 0, geo.pb[0]
		if nd == 2 {
			h, w, oh, ow, kh, kw = geo.in[0], geo.in[1], geo.out[0], geo.out[1], geo.k[0], geo.k[1]
			sh, sw, dh, dw, pt, pl = geo.s[0], geo.s[1], geo.d[0], geo.d[1], geo.pb[0], geo.pb[1]
		}
		for a := 0; a < kh; a++ {
			for bb := 0; bb < kw; bb++ {
				row := col[(a*kw+bb)*h*w : (a*kw+bb+1)*h*w]
				// Valid iw: 0 <= iw·sw - pl + bb·dw < ow.
				off := bb*dw - pl
				lo := 0
				if off < 0 {
					lo = (-off + sw - 1) / sw
				}
				hi := w
				if lim := ow - off; lim <= 0 {
					hi = 0
				} else {
					hi = min(w, (lim+sw-1)/sw)
				}
				for ih := 0; ih < h; ih++ {
					oy := ih*sh - pt + a*dh
					if oy < 0 || oy >= oh {
						continue
					}
					src := row[ih*w : (ih+1)*w]
					line := dst[oy*ow : (oy+1)*ow]
					for iw := lo; iw < hi; iw++ {
						line[iw*sw+off] += src[iw]
					}
				}
			}
		}
		return
	}
	var kidx, iidx [cnnMaxDims]int
	inSize := geo.inSize
	for kk := 0; kk < geo.kSize; kk++ {
		row := col[kk*inSize : (kk+1)*inSize]
		iidx = [cnnMaxDims]int{}
		for i := 0; i < inSize; i++ {
			off, ok := 0, true
			for j := 0; j < nd; j++ {
				o := iidx[j]*geo.s[j] - geo.pb[j] + kidx[j]*geo.d[j]
				if o < 0 || o >= geo.out[j] {
					ok = false
					break
				}
				off = off*geo.out[j] + o
			}
			if ok {
				dst[off] += row[i]
			}
			for j := nd - 1; j >= 0; j-- {
				if iidx[j]++; iidx[j] < geo.in[j] {
					break
				}
				iidx[j] = 0
			}
		}
		for j := nd - 1; j >= 0; j-- {
			if kidx[j]++; kidx[j] < geo.k[j] {
				break
			}
			kidx[j] = 0
		}
	}
}
