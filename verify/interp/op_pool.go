package interp

import (
	"fmt"
	"math"

	"github.com/onnx-prom/onnx-prom/onnx/tensor"
)

// MaxPool, AveragePool, LpPool and their global forms. Windows follow
// cnnWindow (auto_pad, pads, strides, dilations, ceil_mode: a last window
// that would start in the trailing pad is dropped, as in ONNX Runtime and
// PyTorch). MaxPool keeps the element type (FLOAT, DOUBLE, INT8, UINT8;
// FLOAT16 and BFLOAT16 through float32); the averaging pools compute in
// float32.

func init() {
	Register("", "MaxPool", buildPool(poolMax))
	Register("", "AveragePool", buildPool(poolAvg))
	Register("", "LpPool", buildPool(poolLp))
	Register("", "GlobalMaxPool", buildGlobalPool(poolMax))
	Register("", "GlobalAveragePool", buildGlobalPool(poolAvg))
	Register("", "GlobalLpPool", buildGlobalPool(poolLp))
}

type poolKind int

const (
	poolMax poolKind = iota
	poolAvg
	poolLp
)

type poolKernel struct {
	kind        poolKind
	win         *cnnWindow
	ceil        bool
	includePad  bool
	columnMajor bool // storage_order 1 for MaxPool's Indices
	p           float64
	withIndices bool
	global      bool
}

func poolTypeOK(kind poolKind, dt tensor.DataType) bool {
	if cnnIsFloat(dt) {
		return true
	}
	return kind == poolMax && (dt == tensor.Int8 || dt == tensor.Uint8)
}

func poolCommon(n *Node, kind poolKind) (*poolKernel, error) {
	if len(n.Inputs) != 1 || n.Input(0) == nil {
		return nil, n.Errorf("%s takes one input", n.OpType)
	}
	maxOut := 1
	if kind == poolMax && n.OpType == "MaxPool" {
		maxOut = 2
	}
	if len(n.Outputs) < 1 || len(n.Outputs) > maxOut || n.Output(0) == nil {
		return nil, n.Errorf("%s has %d outputs, want 1..%d", n.OpType, len(n.Outputs), maxOut)
	}
	if dt := n.InputType(0); dt != tensor.Undefined && !poolTypeOK(kind, dt) {
		return nil, n.Errorf("type %s is not supported by %s", tensor.Name(dt), n.OpType)
	}
	if s := n.Input(0).Shape; s != nil && len(s) < 2 {
		return nil, n.Errorf("X has shape %v, want [N, C, ...]", s)
	}
	k := &poolKernel{kind: kind, p: 2}
	if kind == poolLp {
		if a := n.Attr("p"); a != nil && n.Opset < 2 {
			f, err := n.AttrFloat("p", 2)
			if err != nil {
				return nil, n.Errorf("%v", err)
			}
			k.p = float64(f)
		} else {
			p, err := n.AttrInt("p", 2)
			if err != nil {
				return nil, n.Errorf("%v", err)
			}
			k.p = float64(p)
		}
		if !(k.p > 0) || math.IsInf(k.p, 0) {
			return nil, n.Errorf("p %v must be positive", k.p)
		}
	}
	return k, nil
}

func buildPool(kind poolKind) Builder {
	return func(n *Node) (Kernel, error) {
		k, err := poolCommon(n, kind)
		if err != nil {
			return nil, err
		}
		if k.win, err = cnnParseWindow(n, true); err != nil {
			return nil, err
		}
		if k.win.kernel == nil {
			return nil, n.Errorf("attribute kernel_shape is required")
		}
		if s := n.Input(0).Shape; s != nil && len(s)-2 != len(k.win.kernel) {
			return nil, n.Errorf("X has shape %v but kernel_shape %v has %d dimensions", s, k.win.kernel, len(k.win.kernel))
		}
		ceil, err := n.AttrInt("ceil_mode", 0)
		if err != nil {
			return nil, n.Errorf("%v", err)
		}
		k.ceil = ceil != 0
		if kind == poolAvg {
			cip, err := n.AttrInt("count_include_pad", 0)
			if err != nil {
				return nil, n.Errorf("%v", err)
			}
			k.includePad = cip != 0
		}
		if kind == poolMax {
			so, err := n.AttrInt("storage_order", 0)
			if err != nil {
				return nil, n.Errorf("%v", err)
			}
			if so != 0 && so != 1 {
				return nil, n.Errorf("storage_order %d is not 0 or 1", so)
			}
			k.columnMajor = so == 1
			k.withIndices = len(n.Outputs) > 1 && n.Output(1) != nil
		}
		return k, nil
	}
}

func buildGlobalPool(kind poolKind) Builder {
	return func(n *Node) (Kernel, error) {
		k, err := poolCommon(n, kind)
		if err != nil {
			return nil, err
		}
		k.global = true
		return k, nil
	}
}

func (k *poolKernel) Run(c *Ctx, in, out []*tensor.Tensor) error {
	x := in[0]
	if !poolTypeOK(k.kind, x.Type) {
		return fmt.Errorf("type %s is not supported", tensor.Name(x.Type))
	}
	xs := x.Shape
	if len(xs) < 2 || (!k.global && len(xs) < 3) {
		return fmt.Errorf("X has shape %v, want [N, C, d1, ...]", xs)
	}
	var geo cnnGeom
	var err error
	if k.global {
		if len(xs)-2 > cnnMaxDims {
			return fmt.Errorf("%d spatial dimensions, at most %d are supported", len(xs)-2, cnnMaxDims)
		}
		geo = cnnGeom{nd: len(xs) - 2, inSize: 1, kSize: 1, outSize: 1}
		for i := 0; i < geo.nd; i++ {
			geo.in[i], geo.k[i], geo.s[i], geo.d[i], geo.out[i] = int(xs[2+i]), int(xs[2+i]), 1, 1, 1
			geo.inSize *= geo.in[i]
			geo.kSize *= geo.k[i]
		}
	} else {
		if len(xs)-2 != len(k.win.kernel) {
			return fmt.Errorf("X has shape %v but kernel_shape %v has %d dimensions", xs, k.win.kernel, len(k.win.kernel))
		}
		if geo, err = k.win.resolve(xs[2:], k.win.kernel, k.ceil); err != nil {
			return err
		}
	}
	var shape [cnnMaxDims + 2]int64
	shape[0], shape[1] = xs[0], xs[1]
	for i := 0; i < geo.nd; i++ {
		shape[2+i] = int64(geo.out[i])
	}
	oshape := shape[:2+geo.nd]
	planes := int(xs[0] * xs[1])
	var idx []int64
	if k.withIndices {
		it, err := c.Alloc(tensor.Int64, oshape...)
		if err != nil {
			return err
		}
		out[1] = it
		idx = it.Data.([]int64)
	}
	if k.kind == poolMax {
		switch xd := x.Data.(type) {
		case []float64:
			y, err := c.Alloc(x.Type, oshape...)
			if err != nil {
				return err
			}
			out[0] = y
			maxPoolPlanes(c, k, &geo, xd, y.Data.([]float64), idx, planes, math.Inf(-1))
			return nil
		case []int8:
			y, err := c.Alloc(x.Type, oshape...)
			if err != nil {
				return err
			}
			out[0] = y
			maxPoolPlanes(c, k, &geo, xd, y.Data.([]int8), idx, planes, math.MinInt8)
			return nil
		case []uint8:
			y, err := c.Alloc(x.Type, oshape...)
			if err != nil {
				return err
			}
			out[0] = y
			maxPoolPlanes(c, k, &geo, xd, y.Data.([]uint8), idx, planes, 0)
			return nil
		}
	}
	y, yf, err := cnnOut(c, x.Type, oshape...)
	if err != nil {
		return err
	}
	out[0] = y
	xf, err := cnnF32(c, x)
	if err != nil {
		return err
	}
	switch {
	case k.kind == poolMax:
		maxPoolPlanes(c, k, &geo, xf, yf, idx, planes, float32(math.Inf(-1)))
	case k.global:
		globalPoolPlanes(c, k, &geo, xf, yf, planes)
	default:
		avgPoolPlanes(c, k, &geo, xf, yf, planes)
	}
	cnnFinish(y, yf)
	return nil
}

// poolWalker enumerates the windows of a pool over one plane.
type poolWalker struct {
	geo *cnnGeom
	o   [cnnMaxDims]int
}

// offsets fills offs with the plane offsets of the valid (inside the
// input) elements of the window at the walker's output position, in
// row-major window order, and returns them with the number of window
// positions inside the padded input.
func (w *poolWalker) offsets(offs []int) ([]int, int) {
	g := w.geo
	nd := g.nd
	var lo, hi, start [cnnMaxDims]int
	padCount := 1
	empty := false
	for i := 0; i < nd; i++ {
		start[i] = w.o[i]*g.s[i] - g.pb[i]
		l, h := 0, g.k[i]
		// Valid: 0 <= start + k·d < in.
		for l < h && start[i]+l*g.d[i] < 0 {
			l++
		}
		for h > l && start[i]+(h-1)*g.d[i] >= g.in[i] {
			h--
		}
		lo[i], hi[i] = l, h
		if l >= h {
			empty = true
		}
		// Inside the padded input: -pb <= start + k·d < in + pe.
		pc := 0
		for kk := 0; kk < g.k[i]; kk++ {
			if x := start[i] + kk*g.d[i]; x >= -g.pb[i] && x < g.in[i]+g.pe[i] {
				pc++
			}
		}
		padCount *= pc
	}
	offs = offs[:0]
	if empty {
		return offs, padCount
	}
	var kidx [cnnMaxDims]int
	copy(kidx[:nd], lo[:nd])
	last := nd - 1
	for {
		base := 0
		for i := 0; i < last; i++ {
			base = base*g.in[i] + start[i] + kidx[i]*g.d[i]
		}
		base = base*g.in[last] + start[last]
		for kk := lo[last]; kk < hi[last]; kk++ {
			offs = append(offs, base+kk*g.d[last])
		}
		i := last - 1
		for ; i >= 0; i-- {
			if kidx[i]++; kidx[i] < hi[i] {
				break
			}
			kidx[i] = lo[i]
		}
		if i < 0 {
			return offs, padCount
		}
	}
}

func (w *poolWalker) next() {
	for i := w.geo.nd - 1; i >= 0; i-- {
		if w.o[i]++; w.o[i] < w.geo.out[i] {
			return
		}
		w.o[i] = 0
	}
}

// poolPlanesParallel runs f over the planes in parallel chunks.
func poolPlanesParallel(c *Ctx, geo *cnnGeom, planes int, f func(lo, hi int, offs []int)) {
	work := max(1, geo.outSize*geo.kSize)
	cnnFor(c, planes, max(1, (1<<15)/work), func(lo, hi int) {
		var buf [64]int
		offs := buf[:]
		if geo.kSize > len(buf) {
			offs = make([]int, geo.kSize)
		}
		f(lo, hi, offs)
	})
}

type poolOrdered interface {
	float32 | float64 | int8 | uint8
}

func maxPoolPlanes[T poolOrdered](c *Ctx, k *poolKernel, geo *cnnGeom, x, y []T, idx []int64, planes int, lowest T) {
	poolPlanesParallel(c, geo, planes, func(lo, hi int, offs []int) {
		for q := lo; q < hi; q++ {
			src := x[q*geo.inSize : (q+1)*geo.inSize]
			dst := y[q*geo.outSize : (q+1)*geo.outSize]
			w := poolWalker{geo: geo}
			for j := range dst {
				var list []int
				if k.global {
					list = nil
				} else {
					list, _ = w.offsets(offs)
				}
				best, at := lowest, -1
				if k.global {
					for i, v := range src {
						if v > best || at < 0 && !(v != v) {
							best, at = v, i
						}
					}
				} else {
					for _, o := range list {
						if v := src[o]; v > best || at < 0 && !(v != v) {
							best, at = v, o
						}
					}
				}
				dst[j] = best
				if idx != nil {
					if at >= 0 {
						at = poolIndex(geo, at, k.columnMajor) + q*geo.inSize
					}
					idx[q*geo.outSize+j] = int64(at)
				}
				w.next()
			}
		}
	})
}

// poolIndex converts a row-major plane offset to the storage order of
// MaxPool's Indices.
func poolIndex(geo *cnnGeom, off int, columnMajor bool) int {
	if !columnMajor {
		return off
	}
	var coord [cnnMaxDims]int
	for i := geo.nd - 1; i >= 0; i-- {
		coord[i] = off % geo.in[i]
		off /= geo.in[i]
	}
	r, mul := 0, 1
	for i := 0; i < geo.nd; i++ {
		r += coord[i] * mul
		mul *= geo.in[i]
	}
	return r
}

func avgPoolPlanes(c *Ctx, k *poolKernel, geo *cnnGeom, x, y []float32, planes int) {
	poolPlanesParallel(c, geo, planes, func(lo, hi int, offs []int) {
		for q := lo; q < hi; q++ {
			src := x[q*geo.inSize : (q+1)*geo.inSize]
			dst := y[q*geo.outSize : (q+1)*geo.outSize]
			w := poolWalker{geo: geo}
			for j := range dst {
				list, padCount := w.offsets(offs)
				if k.kind == poolLp {
					var s float64
					for _, o := range list {
						s += math.Pow(math.Abs(float64(src[o])), k.p)
					}
					dst[j] = float32(math.Pow(s, 1/k.p))
				} else {
					var s float32
					for _, o := range list {
						s += src[o]
					}
					n := len(list)
					if k.includePad {
						n = padCount
					}
					if n > 0 {
						dst[j] = s / float32(n)
					} else {
						dst[j] = 0
					}
				}
				w.next()
			}
		}
	})
}

func globalPoolPlanes(c *Ctx, k *poolKernel, geo *cnnGeom, x, y []float32, planes int) {
	cnnFor(c, planes, max(1, (1<<15)/max(1, geo.inSize)), func(lo, hi int) {
		for q := lo; q < hi; q++ {
			src := x[q*geo.inSize : (q+1)*geo.inSize]
			switch k.kind {
			case poolLp:
				var s float64
				for _, v := range src {
					s += math.Pow(math.Abs(float64(v)), k.p)
				}
				y[q] = float32(math.Pow(s, 1/k.p))
			default:
				var s float64
				for _, v := range src {
					s += float64(v)
				}
				if len(src) > 0 {
					y[q] = float32(s / float64(len(src)))
				} else {
					y[q] = float32(math.NaN())
				}
			}
		}
	})
}
