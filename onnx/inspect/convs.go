package inspect

import (
	"github.com/onnx-prom/onnx-prom/onnx/ir"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
)

// ConvKind classifies a convolution by its weight shape and group.
type ConvKind int

// Convolution kinds.
const (
	// Regular is a dense convolution with a kernel larger than 1x1 (a stem
	// conv, for instance).
	Regular ConvKind = iota
	// Depthwise has group == input channels == output channels > 1.
	Depthwise
	// Pointwise is a 1x1 convolution with group 1 on a spatial input.
	Pointwise
	// SqueezeExcite is a 1x1 convolution with group 1 whose input is
	// spatially 1x1: the reduce or expand conv of a squeeze-and-excitation
	// block, fed by a global pooling.
	SqueezeExcite
	// Grouped is any other convolution with group > 1 (including depthwise
	// convs with a channel multiplier).
	Grouped
	// UnknownKind is a convolution whose weight shape is unknown.
	UnknownKind
)

var kindNames = [...]string{"regular", "depthwise", "pointwise", "squeeze_excite", "grouped", "unknown"}

func (k ConvKind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// ConvInfo describes a convolution node.
type ConvInfo struct {
	Node *ir.Node
	Kind ConvKind
	// Group is the group attribute; InPerGroup, Out and Kernel come from
	// the weight shape [Out, InPerGroup, k...].
	Group      int64
	InPerGroup int64
	Out        int64
	Kernel     []int64
	Strides    []int64
}

// In is the number of input channels.
func (c ConvInfo) In() int64 { return c.InPerGroup * c.Group }

// weightIndex is the input index of the weight of a convolution op, or -1.
func weightIndex(n *ir.Node) int {
	if n.Domain != "" && n.Domain != "ai.onnx" {
		return -1
	}
	switch n.OpType {
	case "Conv", "ConvInteger":
		return 1
	case "QLinearConv":
		return 3
	}
	return -1
}

// IsConv reports whether n is a (possibly quantized) convolution that
// Classify understands: Conv, ConvInteger or QLinearConv. ConvTranspose is
// not included.
func IsConv(n *ir.Node) bool { return weightIndex(n) >= 0 }

// Classify describes the convolution n. ok is false when n is not a
// convolution (see IsConv). Weight shapes come from Value.Shape, which
// initializers always have; run shapes.Infer first for weights computed by
// nodes (DequantizeLinear, Constant). Telling pointwise from
// squeeze-excite convs uses the input's shape when its spatial sizes are
// known, and otherwise the graph structure (a global pooling or spatial
// mean, possibly through activations and 1x1 convs).
func Classify(n *ir.Node) (c ConvInfo, ok bool) {
	wi := weightIndex(n)
	if wi < 0 {
		return ConvInfo{}, false
	}
	c = ConvInfo{Node: n, Kind: UnknownKind, Group: 1, InPerGroup: -1, Out: -1}
	if g, err := n.AttrInt("group", 1); err == nil {
		c.Group = g
	}
	c.Strides, _ = n.AttrInts("strides", nil)
	w := n.Input(wi)
	if w == nil || len(w.Shape) < 3 {
		return c, true
	}
	dims, known := w.Shape.Ints()
	if !known {
		return c, true
	}
	c.Out, c.InPerGroup, c.Kernel = dims[0], dims[1], dims[2:]
	if c.Strides == nil {
		c.Strides = make([]int64, len(c.Kernel))
		for i := range c.Strides {
			c.Strides[i] = 1
		}
	}
	ones := true
	for _, k := range c.Kernel {
		ones = ones && k == 1
	}
	switch {
	case c.Group > 1 && c.InPerGroup == 1 && c.Out == c.Group:
		c.Kind = Depthwise
	case c.Group > 1:
		c.Kind = Grouped
	case ones && SpatiallyOne(n.Input(0)):
		c.Kind = SqueezeExcite
	case ones:
		c.Kind = Pointwise
	default:
		c.Kind = Regular
	}
	return c, true
}

// SpatiallyOne reports whether v, an NCHW-style tensor, is known to have
// spatial size 1 in every spatial dimension: from its shape, or from its
// producer (GlobalAveragePool, GlobalMaxPool, a keepdims ReduceMean/Max
// over the spatial axes, or an elementwise op or 1x1 conv applied to such a
// tensor).
func SpatiallyOne(v *ir.Value) bool { return spatiallyOne(v, 0) }

func spatiallyOne(v *ir.Value, depth int) bool {
	if v == nil || depth > 64 {
		return false
	}
	if len(v.Shape) >= 3 {
		all, known := true, true
		for _, d := range v.Shape[2:] {
			if !d.Known() {
				known = false
				break
			}
			all = all && d.Value == 1
		}
		if known {
			return all
		}
	}
	p := v.Producer
	if p == nil || (p.Domain != "" && p.Domain != "ai.onnx") {
		return false
	}
	switch p.OpType {
	case "GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool":
		return true
	case "ReduceMean", "ReduceMax", "ReduceSum", "ReduceL2":
		return reducesSpatial(p)
	case "Relu", "Clip", "HardSigmoid", "HardSwish", "Sigmoid", "Tanh", "LeakyRelu", "Identity", "QuantizeLinear", "DequantizeLinear",
		"BatchNormalization", "Add", "Sub", "Mul", "Div":
		x := p.Input(0)
		if p.OpType == "Add" || p.OpType == "Mul" {
			// Either operand may be the tensor; the other must be constant.
			if isConstValue(x) {
				x = p.Input(1)
			} else if !isConstValue(p.Input(1)) {
				return false
			}
		} else if (p.OpType == "Sub" || p.OpType == "Div") && !isConstValue(p.Input(1)) {
			return false
		}
		return spatiallyOne(x, depth+1)
	case "Conv", "QLinearConv", "ConvInteger":
		c, ok := weightInfo(p)
		return ok && c.onesKernel() && spatiallyOne(p.Input(0), depth+1)
	}
	return false
}

// weightInfo reads a conv's weight shape without the spatial test (which
// would recurse).
func weightInfo(n *ir.Node) (ConvInfo, bool) {
	wi := weightIndex(n)
	if wi < 0 {
		return ConvInfo{}, false
	}
	c := ConvInfo{Node: n, Kind: UnknownKind, Group: 1, InPerGroup: -1, Out: -1}
	if w := n.Input(wi); w != nil && len(w.Shape) >= 3 {
		if dims, ok := w.Shape.Ints(); ok {
			c.Out, c.InPerGroup, c.Kernel = dims[0], dims[1], dims[2:]
		}
	}
	return c, c.Kernel != nil
}

func (c ConvInfo) onesKernel() bool {
	for _, k := range c.Kernel {
		if k != 1 {
			return false
		}
	}
	return c.Kernel != nil
}

// reducesSpatial reports whether a Reduce node keeps dims and reduces every
// axis from 2 on.
func reducesSpatial(n *ir.Node) bool {
	keep, err := n.AttrInt("keepdims", 1)
	if err != nil || keep == 0 {
		return false
	}
	axes, err := n.AttrInts("axes", nil)
	if err != nil {
		return false
	}
	if axes == nil && n.Input(1) != nil {
		vals, ok := constInts(n.Input(1))
		if !ok {
			return false
		}
		axes = vals
	}
	x := n.Input(0)
	rank := -1
	if x != nil && x.Shape != nil {
		rank = len(x.Shape)
	}
	if len(axes) == 0 {
		return false
	}
	if rank < 0 {
		// Without a rank, accept the NCHW spelling of spatial axes.
		return len(axes) == 2 && ((axes[0] == 2 && axes[1] == 3) || (axes[0] == 3 && axes[1] == 2) ||
			(axes[0] == -2 && axes[1] == -1) || (axes[0] == -1 && axes[1] == -2))
	}
	if rank < 3 {
		return false
	}
	red := make([]bool, rank)
	for _, a := range axes {
		if a < 0 {
			a += int64(rank)
		}
		if a < 0 || a >= int64(rank) {
			return false
		}
		red[a] = true
	}
	for i := range red {
		if red[i] != (i >= 2) {
			return false
		}
	}
	return true
}

// constTensor decodes a small constant: an initializer that is not a graph
// input, or a Constant node's output.
func constTensor(v *ir.Value) *tensor.Tensor {
	if v == nil {
		return nil
	}
	if v.IsConst() {
		if n, err := tensor.NumElements(v.Const.GetDims()); err != nil || n > 1<<16 {
			return nil
		}
		t, err := v.Tensor()
		if err != nil {
			return nil
		}
		return t
	}
	p := v.Producer
	if p == nil || p.OpType != "Constant" || (p.Domain != "" && p.Domain != "ai.onnx") {
		return nil
	}
	for _, a := range p.Attrs {
		switch a.GetName() {
		case "value":
			if a.T == nil {
				return nil
			}
			if n, err := tensor.NumElements(a.T.GetDims()); err != nil || n > 1<<16 {
				return nil
			}
			t, err := tensor.FromProto(a.T)
			if err != nil {
				return nil
			}
			return t
		case "value_float":
			return &tensor.Tensor{Type: tensor.Float, Shape: []int64{}, Data: []float32{a.GetF()}}
		case "value_floats":
			return &tensor.Tensor{Type: tensor.Float, Shape: []int64{int64(len(a.GetFloats()))}, Data: append([]float32{}, a.GetFloats()...)}
		case "value_int":
			return &tensor.Tensor{Type: tensor.Int64, Shape: []int64{}, Data: []int64{a.GetI()}}
		case "value_ints":
			return &tensor.Tensor{Type: tensor.Int64, Shape: []int64{int64(len(a.GetInts()))}, Data: append([]int64{}, a.GetInts()...)}
		}
	}
	return nil
}

func isConstValue(v *ir.Value) bool {
	if v == nil {
		return false
	}
	if v.IsConst() {
		return true
	}
	p := v.Producer
	return p != nil && p.OpType == "Constant" && (p.Domain == "" || p.Domain == "ai.onnx")
}

func constInts(v *ir.Value) ([]int64, bool) {
	t := constTensor(v)
	if t == nil {
		return nil, false
	}
	vals, err := t.Int64s()
	return vals, err == nil
}

func constFloats(v *ir.Value) ([]float64, bool) {
	t := constTensor(v)
	if t == nil {
		return nil, false
	}
	vals, err := t.Float64s()
	return vals, err == nil
}
