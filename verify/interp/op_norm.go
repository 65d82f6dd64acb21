package interp

import (
	"fmt"
	"math"

	"github.com/onnx-prom/onnx-prom/onnx/tensor"
	"github.com/onnx-prom/onnx-prom/verify/interp/kernels"
)

// BatchNormalization, InstanceNormalization, LayerNormalization and LRN,
// computed in float32 with float64 statistics.

func init() {
	Register("", "BatchNormalization", buildBatchNorm)
	Register("", "InstanceNormalization", buildInstanceNorm)
	Register("", "LayerNormalization", buildLayerNorm)
	Register("", "LRN", buildLRN)
}

// ---- BatchNormalization ----

type batchNormKernel struct {
	eps, momentum float64
	training      bool
	spatial       bool
	// a and b fold constant parameters (inference): y = x·a + b.
	a, b []float32
}

func buildBatchNorm(n *Node) (Kernel, error) {
	if len(n.Inputs) != 5 {
		return nil, n.Errorf("BatchNormalization takes 5 inputs (X, scale, B, mean, var), got %d", len(n.Inputs))
	}
	for i, name := range []string{"X", "scale", "B", "input_mean", "input_var"} {
		if n.Input(i) == nil {
			return nil, n.Errorf("input %s is required", name)
		}
		if err := cnnCheckFloatInput(n, i, name); err != nil {
			return nil, err
		}
	}
	if n.Opset < 7 {
		return nil, n.Errorf("BatchNormalization opset %d (before 7) is not supported", n.Opset)
	}
	eps, err := n.AttrFloat("epsilon", 1e-5)
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	mom, err := n.AttrFloat("momentum", 0.9)
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	k := &batchNormKernel{eps: float64(eps), momentum: float64(mom), spatial: true}
	if n.Opset < 9 {
		sp, err := n.AttrInt("spatial", 1)
		if err != nil {
			return nil, n.Errorf("%v", err)
		}
		k.spatial = sp != 0
	}
	outs := 0
	for i, o := range n.Outputs {
		if o != nil && i > 0 {
			outs = i
		}
	}
	if n.Opset >= 14 {
		tm, err := n.AttrInt("training_mode", 0)
		if err != nil {
			return nil, n.Errorf("%v", err)
		}
		k.training = tm != 0
		if len(n.Outputs) > 3 {
			return nil, n.Errorf("BatchNormalization has at most 3 outputs, got %d", len(n.Outputs))
		}
		if outs > 0 && !k.training {
			return nil, n.Errorf("outputs running_mean and running_var need training_mode=1")
		}
	} else if outs > 0 {
		return nil, n.Errorf("the training outputs of BatchNormalization before opset 14 are not supported")
	}
	if !k.training && k.spatial {
		var ps [4][]float32
		all := true
		for i := range ps {
			t := n.Const(i + 1)
			if t == nil || len(t.Shape) != 1 {
				all = false
				break
			}
			if ps[i], err = cnnConstF32(t); err != nil {
				return nil, n.Errorf("%v", err)
			}
			if len(ps[i]) != len(ps[0]) {
				return nil, n.Errorf("scale, B, mean and var have different lengths")
			}
		}
		if all {
			k.a, k.b = make([]float32, len(ps[0])), make([]float32, len(ps[0]))
			bnFold(k.a, k.b, ps[0], ps[1], ps[2], ps[3], k.eps)
		}
	}
	return k, nil
}

// bnFold computes a = scale/sqrt(var+eps) and b = bias - mean·a.
func bnFold(a, b, scale, bias, mean, variance []float32, eps float64) {
	for i := range a {
		s := float64(scale[i]) / math.Sqrt(float64(variance[i])+eps)
		a[i] = float32(s)
		b[i] = float32(float64(bias[i]) - float64(mean[i])*s)
	}
}

func (k *batchNormKernel) Run(c *Ctx, in, out []*tensor.Tensor) error {
	x := in[0]
	xs := x.Shape
	if len(xs) < 2 {
		return fmt.Errorf("X has shape %v, want [N, C, ...]", xs)
	}
	for i := 1; i < 5; i++ {
		if !cnnIsFloat(in[i].Type) {
			return fmt.Errorf("input %d has type %s, want a float type", i, tensor.Name(in[i].Type))
		}
	}
	nb, ch := int(xs[0]), int(xs[1])
	inner := 1
	for _, d := range xs[2:] {
		inner *= int(d)
	}
	plen := ch
	if !k.spatial {
		plen = ch * inner
	}
	for i, name := range []string{"scale", "B", "input_mean", "input_var"} {
		if in[i+1].Len() != plen || (k.spatial && len(in[i+1].Shape) != 1) {
			return fmt.Errorf("%s has shape %v, want %d values for X of shape %v", name, in[i+1].Shape, plen, xs)
		}
	}
	y, yf, err := cnnOut(c, x.Type, xs...)
	if err != nil {
		return err
	}
	out[0] = y
	xf, err := cnnF32(c, x)
	if err != nil {
		return err
	}
	var ps [4][]float32
	for i := range ps {
		if ps[i], err = cnnF32(c, in[i+1]); err != nil {
			return err
		}
	}
	a, b := k.a, k.b
	if k.training {
		a, b = c.Scratch(ch), c.Scratch(ch)
		mean, variance := c.Scratch(ch), c.Scratch(ch)
		bnBatchStats(c, xf, mean, variance, nb, ch, inner)
		bnFold(a, b, ps[0], ps[1], mean, variance, k.eps)
		for j, src := range [][]float32{ps[2], ps[3]} {
			if j+1 >= len(out) || c.Node().Output(j+1) == nil {
				continue
			}
			t, tf, err := cnnOut(c, in[3+j].Type, in[3+j].Shape...)
			if err != nil {
				return err
			}
			cur := mean
			if j == 1 {
				cur = variance
			}
			for i := range tf {
				tf[i] = float32(float64(src[i])*k.momentum + float64(cur[i])*(1-k.momentum))
			}
			cnnFinish(t, tf)
			out[j+1] = t
		}
	} else if a == nil || len(a) != plen {
		a, b = c.Scratch(plen), c.Scratch(plen)
		bnFold(a, b, ps[0], ps[1], ps[2], ps[3], k.eps)
	}
	if k.spatial {
		planes := nb * ch
		cnnFor(c, planes, max(1, (1<<15)/max(1, inner)), func(lo, hi int) {
			for q := lo; q < hi; q++ {
				kernels.ScaleShift(yf[q*inner:(q+1)*inner], xf[q*inner:(q+1)*inner], a[q%ch], b[q%ch])
			}
		})
	} else {
		for s := 0; s < nb; s++ {
			src := xf[s*plen : (s+1)*plen]
			dst := yf[s*plen : (s+1)*plen]
			for i, v := range src {
				dst[i] = v*a[i] + b[i]
			}
		}
	}
	cnnFinish(y, yf)
	return nil
}

// bnBatchStats computes per-channel mean and (population) variance over
// the batch and spatial dimensions.
func bnBatchStats(c *Ctx, x, mean, variance []float32, nb, ch, inner int) {
	cnnFor(c, ch, 1, func(lo, hi int) {
		for ci := lo; ci < hi; ci++ {
			var s float64
			for n := 0; n < nb; n++ {
				for _, v := range x[(n*ch+ci)*inner : (n*ch+ci+1)*inner] {
					s += float64(v)
				}
			}
			cnt := float64(nb * inner)
			m := s / cnt
			var ss float64
			for n := 0; n < nb; n++ {
				for _, v := range x[(n*ch+ci)*inner : (n*ch+ci+1)*inner] {
					d := float64(v) - m
					ss += d * d
				}
			}
			mean[ci], variance[ci] = float32(m), float32(ss/cnt)
		}
	})
}

// ---- InstanceNormalization ----

type instanceNormKernel struct{ eps float64 }

func buildInstanceNorm(n *Node) (Kernel, error) {
	if len(n.Inputs) != 3 || n.Input(0) == nil || n.Input(1) == nil || n.Input(2) == nil || len(n.Outputs) != 1 {
		return nil, n.Errorf("InstanceNormalization takes inputs input, scale, B and has one output")
	}
	for i, name := range []string{"input", "scale", "B"} {
		if err := cnnCheckFloatInput(n, i, name); err != nil {
			return nil, err
		}
	}
	eps, err := n.AttrFloat("epsilon", 1e-5)
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	return &instanceNormKernel{eps: float64(eps)}, nil
}

func (k *instanceNormKernel) Run(c *Ctx, in, out []*tensor.Tensor) error {
	x := in[0]
	xs := x.Shape
	if len(xs) < 3 {
		return fmt.Errorf("input has shape %v, want [N, C, d1, ...]", xs)
	}
	nb, ch := int(xs[0]), int(xs[1])
	for i, name := range []string{"scale", "B"} {
		if t := in[i+1]; len(t.Shape) != 1 || int(t.Shape[0]) != ch || !cnnIsFloat(t.Type) {
			return fmt.Errorf("%s has shape %v, want [%d]", name, t.Shape, ch)
		}
	}
	inner := 1
	for _, d := range xs[2:] {
		inner *= int(d)
	}
	y, yf, err := cnnOut(c, x.Type, xs...)
	if err != nil {
		return err
	}
	out[0] = y
	xf, err := cnnF32(c, x)
	if err != nil {
		return err
	}
	scale, err := cnnF32(c, in[1])
	if err != nil {
		return err
	}
	bias, err := cnnF32(c, in[2])
	if err != nil {
		return err
	}
	cnnFor(c, nb*ch, max(1, (1<<15)/max(1, inner)), func(lo, hi int) {
		for q := lo; q < hi; q++ {
			src := xf[q*inner : (q+1)*inner]
			mean, inv := normStats(src, k.eps)
			s := inv * float64(scale[q%ch])
			bv := float64(bias[q%ch])
			dst := yf[q*inner : (q+1)*inner]
			for i, v := range src {
				dst[i] = float32((float64(v)-mean)*s + bv)
			}
		}
	})
	cnnFinish(y, yf)
	return nil
}

// normStats returns the mean of x and 1/sqrt(variance + eps).
func normStats(x []float32, eps float64) (mean, inv float64) {
	if len(x) == 0 {
		return 0, 1 / math.Sqrt(eps)
	}
	var s float64
	for _, v := range x {
		s += float64(v)
	}
	mean = s / float64(len(x))
	var ss float64
	for _, v := range x {
		d := float64(v) - mean
		ss += d * d
	}
	return mean, 1 / math.Sqrt(ss/float64(len(x))+eps)
}

// ---- LayerNormalization ----

type layerNormKernel struct {
	axis     int64
	eps      float64
	stashF32 bool
}

func buildLayerNorm(n *Node) (Kernel, error) {
	if len(n.Inputs) < 2 || len(n.Inputs) > 3 || n.Input(0) == nil || n.Input(1) == nil {
		return nil, n.Errorf("LayerNormalization takes inputs X, Scale and an optional B")
	}
	if len(n.Outputs) < 1 || len(n.Outputs) > 3 || n.Output(0) == nil {
		return nil, n.Errorf("LayerNormalization has outputs Y and optional Mean, InvStdDev")
	}
	for i, name := range []string{"X", "Scale", "B"} {
		if err := cnnCheckFloatInput(n, i, name); err != nil {
			return nil, err
		}
	}
	axis, err := n.AttrInt("axis", -1)
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	eps, err := n.AttrFloat("epsilon", 1e-5)
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	stash, err := n.AttrInt("stash_type", 1)
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	if s := n.Input(0).Shape; s != nil && (axis < -int64(len(s)) || axis >= int64(len(s))) {
		return nil, n.Errorf("axis %d is out of range for X of rank %d", axis, len(s))
	}
	return &layerNormKernel{axis: axis, eps: float64(eps), stashF32: stash == int64(tensor.Float)}, nil
}

// layerNormExpand broadcasts a Scale or B tensor of shape s to the
// normalized shape norm, into dst.
func layerNormExpand(dst, src []float32, s, norm []int64) error {
	if len(s) > len(norm) {
		// Leading dims of size 1 are harmless.
		for _, d := range s[:len(s)-len(norm)] {
			if d != 1 {
				return fmt.Errorf("shape %v does not broadcast to the normalized shape %v", s, norm)
			}
		}
		s = s[len(s)-len(norm):]
	}
	off := len(norm) - len(s)
	for i, d := range s {
		if d != 1 && d != norm[off+i] {
			return fmt.Errorf("shape %v does not broadcast to the normalized shape %v", s, norm)
		}
	}
	if len(src) == len(dst) {
		copy(dst, src)
		return nil
	}
	var idx [cnnMaxDims]int
	if len(norm) > cnnMaxDims {
		return fmt.Errorf("normalized shape %v has too many dimensions", norm)
	}
	for j := range dst {
		// Index into src by broadcasting.
		si, mul := 0, 1
		for i := len(s) - 1; i >= 0; i-- {
			if s[i] != 1 {
				si += idx[off+i] * mul
			}
			mul *= int(s[i])
		}
		dst[j] = src[si]
		for i := len(norm) - 1; i >= 0; i-- {
			if idx[i]++; idx[i] < int(norm[i]) {
				break
			}
			idx[i] = 0
		}
	}
	return nil
}

func (k *layerNormKernel) Run(c *Ctx, in, out []*tensor.Tensor) error {
	x := in[0]
	xs := x.Shape
	r := int64(len(xs))
	axis := k.axis
	if axis < 0 {
		axis += r
	}
	if axis < 0 || axis >= r {
		return fmt.Errorf("axis %d is out of range for X of shape %v", k.axis, xs)
	}
	outer, inner := 1, 1
	for _, d := range xs[:axis] {
		outer *= int(d)
	}
	for _, d := range xs[axis:] {
		inner *= int(d)
	}
	y, yf, err := cnnOut(c, x.Type, xs...)
	if err != nil {
		return err
	}
	out[0] = y
	xf, err := cnnF32(c, x)
	if err != nil {
		return err
	}
	scale := c.Scratch(inner)
	sf, err := cnnF32(c, in[1])
	if err != nil {
		return err
	}
	if err := layerNormExpand(scale, sf, in[1].Shape, xs[axis:]); err != nil {
		return fmt.Errorf("Scale: %w", err)
	}
	var bias []float32
	if len(in) > 2 && in[2] != nil {
		bf, err := cnnF32(c, in[2])
		if err != nil {
			return err
		}
		bias = c.Scratch(inner)
		if err := layerNormExpand(bias, bf, in[2].Shape, xs[axis:]); err != nil {
			return fmt.Errorf("B: %w", err)
		}
	}
	var statShape [cnnMaxDims + 8]int64
	ss := statShape[:0]
	if len(xs) > len(statShape) {
		ss = make([]int64, 0, len(xs))
	}
	ss = append(ss, xs...)
	for i := axis; i < r; i++ {
		ss[i] = 1
	}
	statType := x.Type
	if k.stashF32 {
		statType = tensor.Float
	}
	var stats [2]*tensor.Tensor
	var statF [2][]float32
	for j := 0; j < 2; j++ {
		if j+1 < len(out) && c.Node().Output(j+1) != nil {
			if stats[j], statF[j], err = cnnOut(c, statType, ss...); err != nil {
				return err
			}
			out[j+1] = stats[j]
		}
	}
	cnnFor(c, outer, max(1, (1<<15)/max(1, inner)), func(lo, hi int) {
		for q := lo; q < hi; q++ {
			src := xf[q*inner : (q+1)*inner]
			mean, inv := normStats(src, k.eps)
			dst := yf[q*inner : (q+1)*inner]
			for i, v := range src {
				t := (float64(v) - mean) * inv * float64(scale[i])
				if bias != nil {
					t += float64(bias[i])
				}
				dst[i] = float32(t)
			}
			if statF[0] != nil {
				statF[0][q] = float32(mean)
			}
			if statF[1] != nil {
				statF[1][q] = float32(inv)
			}
		}
	})
	cnnFinish(y, yf)
	for j := range stats {
		if stats[j] != nil {
			cnnFinish(stats[j], statF[j])
		}
	}
	return nil
}

// ---- LRN ----

type lrnKernel struct {
	alpha, beta, bias float64
	size              int
}

func buildLRN(n *Node) (Kernel, error) {
	if len(n.Inputs) != 1 || n.Input(0) == nil || len(n.Outputs) != 1 {
		return nil, n.Errorf("LRN takes one input and has one output")
	}
	if err := cnnCheckFloatInput(n, 0, "X"); err != nil {
		return nil, err
	}
	alpha, err := n.AttrFloat("alpha", 1e-4)
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	beta, err := n.AttrFloat("beta", 0.75)
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	bias, err := n.AttrFloat("bias", 1)
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	if !n.HasAttr("size") {
		return nil, n.Errorf("attribute size is required")
	}
	size, err := n.AttrInt("size", 0)
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	if size < 1 || size > 1<<20 {
		return nil, n.Errorf("size %d must be positive", size)
	}
	return &lrnKernel{alpha: float64(alpha), beta: float64(beta), bias: float64(bias), size: int(size)}, nil
}

func (k *lrnKernel) Run(c *Ctx, in, out []*tensor.Tensor) error {
	x := in[0]
	xs := x.Shape
	if len(xs) < 3 {
		return fmt.Errorf("X has shape %v, want [N, C, d1, ...]", xs)
	}
	nb, ch := int(xs[0]), int(xs[1])
	inner := 1
	for _, d := range xs[2:] {
		inner *= int(d)
	}
	y, yf, err := cnnOut(c, x.Type, xs...)
	if err != nil {
		return err
	}
	out[0] = y
	xf, err := cnnF32(c, x)
	if err != nil {
		return err
	}
	before := (k.size - 1) / 2
	after := k.size - 1 - before
	scale := k.alpha / float64(k.size)
	cnnFor(c, nb*ch, max(1, (1<<12)/max(1, inner*k.size)), func(lo, hi int) {
		for q := lo; q < hi; q++ {
			n, ci := q/ch, q%ch
			c0, c1 := max(0, ci-before), min(ch-1, ci+after)
			dst := yf[q*inner : (q+1)*inner]
			src := xf[q*inner : (q+1)*inner]
			for i := range dst {
				var s float64
				for cc := c0; cc <= c1; cc++ {
					v := float64(xf[(n*ch+cc)*inner+i])
					s += v * v
				}
				dst[i] = float32(float64(src[i]) / math.Pow(k.bias+scale*s, k.beta))
			}
		}
	})
	cnnFinish(y, yf)
	return nil
}
