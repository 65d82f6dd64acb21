package interp

import (
	"errors"
	"math"
	"strings"

	"github.com/onnx-prom/onnx-prom/onnx/ir"
	"github.com/onnx-prom/onnx-prom/onnx/shapes"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
)

// ErrWorkBudget is wrapped by errors about a run whose estimated work
// exceeds Options.MaxWork.
var ErrWorkBudget = errors.New("work budget exceeded")

// NodeWork estimates the work of running n on inputs of the given shapes
// (nil for an omitted input), in multiply-accumulates: one per element of
// every input, plus, for the ops whose cost grows faster than their inputs
// and output (convolutions, matrix products, pooling windows, LRN, Einsum),
// the multiply-accumulates of their inner loops. Output sizes, which a
// kernel's allocation limit bounds, are not counted. Sizes saturate at
// math.MaxInt64. ok is false when a shape the estimate needs is missing.
func NodeWork(n *ir.Node, in [][]int64) (work int64, ok bool) {
	shape := func(i int) []int64 {
		if i < len(in) {
			return in[i]
		}
		return nil
	}
	for i, s := range in {
		if s == nil && n.Input(i) != nil {
			return 0, false
		}
		work = satAdd(work, numel(s))
	}
	var heavy int64
	ok = true
	switch opName(n.Domain, n.OpType) {
	case "Conv", "ConvInteger", InternalDomain + "/ConvAct":
		heavy, ok = convWork(n, shape(0), shape(1))
	case "QLinearConv", TernaryDomain + "/TernaryConv":
		heavy, ok = convWork(n, shape(0), shape(3))
	case "ConvTranspose":
		x, w := shape(0), shape(1)
		if ok = x != nil && len(w) >= 2; ok {
			heavy = satMul(numel(x), numel(w[1:]))
		}
	case "RNN", "GRU", "LSTM":
		heavy, ok = rnnWork(shape(0), shape(1), shape(2))
	case "MatMul", "MatMulInteger":
		heavy, ok = matMulWork(shape(0), shape(1))
	case "QLinearMatMul":
		heavy, ok = matMulWork(shape(0), shape(3))
	case "Gemm":
		heavy, ok = gemmWork(n, shape(0), shape(1))
	case MSDomain + "/QGemm":
		heavy, ok = gemmWork(n, shape(0), shape(3))
	case "MaxPool", "AveragePool", "LpPool":
		heavy, ok = poolWork(n, shape(0))
	case "LRN":
		size, _ := n.AttrInt("size", 1)
		heavy = satMul(numel(shape(0)), clampPos(size))
	case "Einsum":
		heavy = einsumWork(n, in)
	}
	return satAdd(work, heavy), ok
}

// convWork bounds the multiply-accumulates of a convolution of x by a weight
// of shape w ([M, C/group, K1, ...]): every output position of every output
// channel takes C/group·K1·... of them, and each spatial output size is at
// most (in + pads - 1)/stride + 1.
func convWork(n *ir.Node, x, w []int64) (int64, bool) {
	if x == nil || w == nil {
		return 0, false
	}
	if len(x) < 3 || len(w) < 2 {
		return 0, true // the kernel refuses it
	}
	sp := len(x) - 2
	out := satMul(x[0], w[0])
	out = satMul(out, spatialOut(n, x[2:], w[2:], sp))
	return satMul(out, numel(w[1:])), true
}

// spatialOut is the number of output positions of a windowed op with the
// given kernel over the spatial sizes in (pads, strides, dilations and
// auto_pad from n's attributes), as ONNX defines them.
func spatialOut(n *ir.Node, in, kernel []int64, sp int) int64 {
	strides, _ := n.AttrInts("strides", nil)
	pads, _ := n.AttrInts("pads", nil)
	dil, _ := n.AttrInts("dilations", nil)
	autoPad, _ := n.AttrString("auto_pad", "NOTSET")
	total := int64(1)
	for i := 0; i < sp && i < len(in); i++ {
		size := clampPos(in[i])
		s := int64(1)
		if len(strides) == sp && strides[i] > 1 {
			s = strides[i]
		}
		if autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER" {
			total = satMul(total, (size+s-1)/s)
			continue
		}
		if (autoPad == "NOTSET" || autoPad == "") && len(pads) == 2*sp {
			size = satAdd(size, satAdd(clampPos(pads[i]), clampPos(pads[sp+i])))
		}
		ext := int64(1) // the kernel's extent
		if i < len(kernel) {
			d := int64(1)
			if len(dil) == sp && dil[i] > 1 {
				d = dil[i]
			}
			ext = satAdd(satMul(d, clampPos(kernel[i])-1), 1)
		}
		o := int64(0)
		if size >= ext {
			o = (size-ext)/s + 1
		}
		total = satMul(total, o)
	}
	return total
}

func poolWork(n *ir.Node, x []int64) (int64, bool) {
	if x == nil {
		return 0, false
	}
	if len(x) < 3 {
		return 0, true
	}
	k, _ := n.AttrInts("kernel_shape", nil)
	sp := len(x) - 2
	out := satMul(satMul(x[0], x[1]), spatialOut(n, x[2:], k, sp))
	return satMul(out, numel(k)), true
}

// matMulWork is batch·M·K·N for numpy-style matrix products.
func matMulWork(a, b []int64) (int64, bool) {
	if a == nil || b == nil {
		return 0, false
	}
	if len(a) == 0 || len(b) == 0 {
		return 0, true
	}
	if len(a) == 1 {
		a = []int64{1, a[0]}
	}
	if len(b) == 1 {
		b = []int64{b[0], 1}
	}
	m, k, nn := a[len(a)-2], a[len(a)-1], b[len(b)-1]
	ba, bb := a[:len(a)-2], b[:len(b)-2]
	batch := int64(1)
	for i := 0; i < max(len(ba), len(bb)); i++ {
		d := int64(1)
		if j := len(ba) - 1 - i; j >= 0 {
			d = max(d, ba[j])
		}
		if j := len(bb) - 1 - i; j >= 0 {
			d = max(d, bb[j])
		}
		batch = satMul(batch, d)
	}
	return satMul(satMul(batch, m), satMul(k, nn)), true
}

func gemmWork(n *ir.Node, a, b []int64) (int64, bool) {
	if a == nil || b == nil {
		return 0, false
	}
	if len(a) != 2 || len(b) != 2 {
		return 0, true
	}
	ta, _ := n.AttrInt("transA", 0)
	tb, _ := n.AttrInt("transB", 0)
	m, k := a[0], a[1]
	if ta != 0 {
		m, k = k, m
	}
	nn := b[1]
	if tb != 0 {
		nn = b[0]
	}
	return satMul(satMul(m, k), nn), true
}

// einsumWork is the product of the sizes of the equation's distinct
// letters (and of the largest broadcast "..." part): the number of terms
// an einsum sums.
func einsumWork(n *ir.Node, in [][]int64) int64 {
	eq, _ := n.AttrString("equation", "")
	lhs, _, _ := strings.Cut(strings.ReplaceAll(eq, " ", ""), "->")
	terms := strings.Split(lhs, ",")
	size := map[rune]int64{}
	ellipsis := int64(1)
	for i, term := range terms {
		if i >= len(in) || in[i] == nil {
			break
		}
		s := in[i]
		letters := len(strings.ReplaceAll(term, "...", ""))
		pos := 0
		for j := 0; j < len(term); j++ {
			if strings.HasPrefix(term[j:], "...") {
				extra := len(s) - letters
				e := int64(1)
				for k := 0; k < extra && pos < len(s); k++ {
					e = satMul(e, clampPos(s[pos]))
					pos++
				}
				ellipsis = max(ellipsis, e)
				j += 2
				continue
			}
			if pos < len(s) {
				r := rune(term[j])
				size[r] = max(size[r], clampPos(s[pos]))
				pos++
			}
		}
	}
	w := ellipsis
	for _, d := range size {
		w = satMul(w, d)
	}
	return w
}

// EstimateWork estimates the work of one run of g's main graph for the
// given input shapes (inputs left out keep their declared shape, symbolic
// dimensions counted as 1), summing NodeWork over the nodes whose input
// shapes shape inference determines. It also returns the node that
// contributes most. g is not modified.
func EstimateWork(m *ir.Model, inputShapes map[string][]int64) (total int64, top *ir.Node, err error) {
	mp, err := m.ToProto()
	if err != nil {
		return 0, nil, err
	}
	c, err := ir.FromProto(mp)
	if err != nil {
		return 0, nil, err
	}
	g := c.Graph
	for _, v := range g.Inputs {
		if dims, ok := inputShapes[v.Name]; ok {
			v.Shape = ir.ShapeOf(dims...)
			continue
		}
		if v.Shape == nil {
			continue
		}
		s := make(ir.Shape, len(v.Shape))
		for i, d := range v.Shape {
			s[i] = d
			if !d.Known() {
				s[i] = ir.D(1)
			}
		}
		v.Shape = s
	}
	// An error leaves the shapes inferred before it: the estimate then
	// covers fewer nodes, and the run-time check covers the rest.
	shapes.InferGraph(g)
	var most int64
	var mostNode *ir.Node
	for _, n := range g.Nodes() {
		in := make([][]int64, len(n.Inputs))
		for i, v := range n.Inputs {
			if v != nil {
				in[i], _ = v.Shape.Ints()
			}
		}
		w, ok := NodeWork(n, in)
		if !ok {
			continue
		}
		total = satAdd(total, w)
		if w > most {
			most, mostNode = w, n
		}
	}
	return total, mostNode, nil
}

func numel(s []int64) int64 {
	n := int64(1)
	for _, d := range s {
		n = satMul(n, clampPos(d))
	}
	return n
}

func clampPos(v int64) int64 { return max(v, 0) }

// satAdd adds non-negative numbers, saturating at math.MaxInt64.
func satAdd(a, b int64) int64 {
	a, b = clampPos(a), clampPos(b)
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// satMul multiplies non-negative numbers, saturating at math.MaxInt64.
func satMul(a, b int64) int64 {
	a, b = clampPos(a), clampPos(b)
	if a != 0 && b > math.MaxInt64/a {
		return math.MaxInt64
	}
	return a * b
}

// elemBytes is the memory one decoded element of dt takes (sub-byte types
// take a byte, strings at least a slice header).
func elemBytes(dt tensor.DataType) int64 {
	b := int64(tensor.Bits(dt))
	if b == 0 {
		return 24
	}
	return max(b/8, 1)
}
