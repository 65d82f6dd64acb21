package shapes

import (
	"fmt"
	"math"

	"github.com/onnx-prom/onnx-prom/onnx/ir"
	"github.com/onnx-prom/onnx-prom/onnx/onnxpb"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
)

var onnxOps, msOps map[string]handler

func init() {
	onnxOps = map[string]handler{
		"Conv": opConv, "ConvInteger": opConvInteger, "QLinearConv": opQLinearConv, "ConvTranspose": opConvTranspose,
		"MaxPool": opMaxPool, "AveragePool": opAveragePool, "LpPool": opLpPool,
		"GlobalAveragePool": opGlobalPool, "GlobalMaxPool": opGlobalPool, "GlobalLpPool": opGlobalPool,
		"BatchNormalization": opBatchNorm, "InstanceNormalization": opUnary, "LRN": opUnary,
		"MeanVarianceNormalization": opUnary, "LayerNormalization": opLayerNorm,
		"Clip": opUnary, "Dropout": opDropout, "PRelu": opPRelu,
		"Softmax": opSoftmax, "LogSoftmax": opSoftmax, "Hardmax": opSoftmax,
		"Add": opArith, "Sub": opArith, "Mul": opArith, "Div": opArith, "Max": opArith, "Min": opArith,
		"Pow": opArith, "Mod": opArith, "BitShift": opArith, "Sum": opArith, "Mean": opArith,
		"BitwiseAnd": opArith, "BitwiseOr": opArith, "BitwiseXor": opArith,
		"Equal": opCompare, "Less": opCompare, "Greater": opCompare, "LessOrEqual": opCompare,
		"GreaterOrEqual": opCompare, "And": opCompare, "Or": opCompare, "Xor": opCompare,
		"Not": opBoolUnary, "IsNaN": opBoolUnary, "IsInf": opBoolUnary,
		"Where":   opWhere,
		"Flatten": opFlatten, "Reshape": opReshape, "Transpose": opTranspose,
		"Squeeze": opSqueeze, "Unsqueeze": opUnsqueeze, "Concat": opConcat, "Split": opSplit,
		"Gather": opGather, "GatherElements": opGatherElements, "Slice": opSlice, "Pad": opPad,
		"Expand": opExpand, "Tile": opTile, "DepthToSpace": opDepthToSpace, "SpaceToDepth": opSpaceToDepth,
		"Gemm": opGemm, "MatMul": opMatMul, "MatMulInteger": opMatMulInteger, "QLinearMatMul": opQLinearMatMul,
		"Constant": opConstant, "ConstantOfShape": opConstantOfShape, "Shape": opShape, "Size": opSize,
		"Range": opRange, "Cast": opCast, "CastLike": opCastLike, "NonZero": opNonZero,
		"QuantizeLinear": opQuantize, "DequantizeLinear": opDequantize, "DynamicQuantizeLinear": opDynamicQuantize,
		"Resize": opResize, "Upsample": opResize,
		"ArgMax": opArgMax, "ArgMin": opArgMax, "TopK": opTopK,
		"CumSum": opUnary, "Trilu": opUnary,
	}
	for _, op := range []string{"Identity", "Relu", "LeakyRelu", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh",
		"Abs", "Neg", "Exp", "Log", "Sqrt", "Reciprocal", "Floor", "Ceil", "Round", "Sign", "Erf",
		"Elu", "Selu", "Celu", "Gelu", "Mish", "Softplus", "Softsign", "ThresholdedRelu", "Shrink",
		"Sin", "Cos", "Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Asinh", "Acosh", "Atanh", "BitwiseNot"} {
		onnxOps[op] = opUnary
	}
	for _, op := range []string{"ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1",
		"ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"} {
		onnxOps[op] = opReduce
	}
	msOps = map[string]handler{
		"QLinearAdd": opQLinearBinary, "QLinearMul": opQLinearBinary,
		"QLinearSigmoid": opQLinearUnary, "QLinearLeakyRelu": opQLinearUnary,
		"QLinearGlobalAveragePool": opQLinearGlobalAveragePool,
	}
}

// opUnary: the output has the input's type and shape.
func opUnary(s *state, n *ir.Node) ([]result, error) {
	x := n.Input(0)
	if x == nil {
		return nil, nil
	}
	switch n.OpType {
	case "Identity", "Floor", "Ceil", "Round":
		if sv := s.ints(x); sv != nil {
			s.setInts(n.Output(0), sv)
		}
	case "Neg", "Abs":
		if sv := s.ints(x); sv != nil {
			out := &sval{scalar: sv.scalar, e: make([]elem, len(sv.e))}
			for i, e := range sv.e {
				if e.ok && e.v != math.MinInt64 {
					if n.OpType == "Neg" || e.v < 0 {
						e.v = -e.v
					}
					out.e[i] = e
				}
			}
			s.setInts(n.Output(0), out)
		}
	}
	return one(x.Type, cloneShape(x.Shape)), nil
}

func opBoolUnary(s *state, n *ir.Node) ([]result, error) {
	return one(tensor.Bool, cloneShape(s.inShape(n, 0))), nil
}

func opDropout(s *state, n *ir.Node) ([]result, error) {
	mask := tensor.Bool
	if s.opset < 10 {
		mask = s.inType(n, 0)
	}
	x := s.inShape(n, 0)
	return []result{{s.inType(n, 0), cloneShape(x)}, {mask, cloneShape(x)}}, nil
}

func opPRelu(s *state, n *ir.Node) ([]result, error) {
	x, slope := s.inShape(n, 0), s.inShape(n, 1)
	b, err := broadcast(x, slope)
	if err != nil {
		return nil, err
	}
	if b != nil && len(b) == len(x) {
		x = b
	}
	return one(s.inType(n, 0), cloneShape(x)), nil
}

func opSoftmax(s *state, n *ir.Node) ([]result, error) {
	x := s.inShape(n, 0)
	def := int64(-1)
	if s.opset < 13 {
		def = 1
	}
	axis, err := n.AttrInt("axis", def)
	if err != nil {
		return nil, err
	}
	if x != nil {
		if _, err := normAxis(axis, len(x)); err != nil {
			return nil, err
		}
	}
	return one(s.inType(n, 0), cloneShape(x)), nil
}

func opBatchNorm(s *state, n *ir.Node) ([]result, error) {
	x := s.inShape(n, 0)
	c := ir.UnknownDim
	if x != nil {
		if len(x) < 2 && s.opset >= 9 {
			return nil, fmt.Errorf("input %v has rank < 2", x)
		}
		if len(x) >= 2 {
			c = x[1]
		}
	}
	if s.opset >= 9 {
		for i, name := range []string{"scale", "B", "mean", "var"} {
			p := s.inShape(n, i+1)
			if p == nil {
				continue
			}
			if len(p) != 1 {
				return nil, fmt.Errorf("%s %v is not 1-D", name, p)
			}
			d, err := sameDim(c, p[0])
			if err != nil {
				return nil, fmt.Errorf("%s has %v elements for %v channels", name, p[0], c)
			}
			c = d
		}
	}
	res := []result{{s.inType(n, 0), cloneShape(x)}}
	pt := firstType(s.inType(n, 3), s.inType(n, 1), s.inType(n, 0))
	for i := 1; i < len(n.Outputs); i++ {
		res = append(res, result{pt, ir.Shape{c}})
	}
	return res, nil
}

func opLayerNorm(s *state, n *ir.Node) ([]result, error) {
	x := s.inShape(n, 0)
	res := []result{{s.inType(n, 0), cloneShape(x)}}
	axis, err := n.AttrInt("axis", -1)
	if err != nil {
		return nil, err
	}
	stash, err := n.AttrInt("stash_type", 1)
	if err != nil {
		return nil, err
	}
	var stat ir.Shape
	if x != nil {
		a, err := normAxis(axis, len(x))
		if err != nil {
			return nil, err
		}
		stat = cloneShape(x)
		for i := a; i < len(stat); i++ {
			stat[i] = ir.D(1)
		}
	}
	st := tensor.DataType(stash)
	res = append(res, result{st, stat}, result{st, cloneShape(stat)})
	return res, nil
}

// opArith: broadcasting binary and variadic ops with the first input's type.
func opArith(s *state, n *ir.Node) ([]result, error) {
	var shapes []ir.Shape
	dt := tensor.Undefined
	for i, v := range n.Inputs {
		if v == nil {
			continue
		}
		shapes = append(shapes, v.Shape)
		if dt == tensor.Undefined && (i == 0 || n.OpType != "Pow") {
			dt = v.Type
		}
	}
	if len(shapes) == 0 {
		return nil, nil
	}
	out, err := broadcast(shapes...)
	if err != nil {
		return nil, err
	}
	switch n.OpType {
	case "Add", "Sub", "Mul", "Div", "Max", "Min":
		if len(n.Inputs) == 2 {
			a, b := s.ints(n.Input(0)), s.ints(n.Input(1))
			s.setInts(n.Output(0), binInts(n.OpType, isFloatType(dt), a, b))
		}
	}
	return one(dt, out), nil
}

func opCompare(s *state, n *ir.Node) ([]result, error) {
	out, err := broadcast(s.inShape(n, 0), s.inShape(n, 1))
	if err != nil {
		return nil, err
	}
	return one(tensor.Bool, out), nil
}

func opWhere(s *state, n *ir.Node) ([]result, error) {
	out, err := broadcast(s.inShape(n, 0), s.inShape(n, 1), s.inShape(n, 2))
	if err != nil {
		return nil, err
	}
	return one(firstType(s.inType(n, 1), s.inType(n, 2)), out), nil
}

func opFlatten(s *state, n *ir.Node) ([]result, error) {
	x := s.inShape(n, 0)
	axis, err := n.AttrInt("axis", 1)
	if err != nil {
		return nil, err
	}
	if x == nil {
		return one(s.inType(n, 0), unknownShape(2)), nil
	}
	r := int64(len(x))
	if axis < -r || axis > r {
		return nil, fmt.Errorf("axis %d is out of range for rank %d", axis, r)
	}
	if axis < 0 {
		axis += r
	}
	a, err := product(x[:axis])
	if err != nil {
		return nil, err
	}
	b, err := product(x[axis:])
	if err != nil {
		return nil, err
	}
	return one(s.inType(n, 0), ir.Shape{a, b}), nil
}

func opReshape(s *state, n *ir.Node) ([]result, error) {
	x := n.Input(0)
	if x == nil {
		return nil, nil
	}
	dt := x.Type
	data := x.Shape
	var target *sval
	if s.opset < 5 {
		sh, err := n.AttrInts("shape", nil)
		if err != nil {
			return nil, err
		}
		if sh != nil {
			target = &sval{e: make([]elem, len(sh))}
			for i, v := range sh {
				target.e[i] = known(v)
			}
		}
	} else {
		target = s.ints(n.Input(1))
		if target != nil && target.scalar {
			return nil, fmt.Errorf("shape input is a scalar, want a 1-D tensor")
		}
	}
	if target == nil {
		if sh := s.inShape(n, 1); len(sh) == 1 && sh[0].Known() && sh[0].Value <= maxInts {
			return one(dt, unknownShape(int(sh[0].Value))), nil
		}
		return one(dt, nil), nil
	}
	allowZero := int64(0)
	if s.opset >= 14 {
		var err error
		if allowZero, err = n.AttrInt("allowzero", 0); err != nil {
			return nil, err
		}
	}
	out := make(ir.Shape, len(target.e))
	neg := -1
	hasZero := false
	for i, e := range target.e {
		switch {
		case e.ok && e.v == -1:
			if neg >= 0 {
				return nil, fmt.Errorf("shape %v has more than one -1", target.e)
			}
			neg = i
			out[i] = ir.UnknownDim
		case e.ok && e.v == 0 && allowZero == 0:
			if data != nil {
				if i >= len(data) {
					return nil, fmt.Errorf("shape has 0 at index %d, beyond the input's rank %d", i, len(data))
				}
				out[i] = data[i]
			} else {
				out[i] = ir.UnknownDim
			}
		case e.ok && e.v < 0:
			return nil, fmt.Errorf("shape has invalid value %d", e.v)
		default:
			if e.ok && e.v == 0 {
				hasZero = true
			}
			out[i] = e.dim()
		}
	}
	if hasZero && neg >= 0 {
		return nil, fmt.Errorf("with allowzero=1 the shape may not have both 0 and -1")
	}
	if data != nil {
		if neg >= 0 {
			d, err := inferMinusOne(data, out, neg)
			if err != nil {
				return nil, err
			}
			out[neg] = d
		} else if in, ok := data.Ints(); ok {
			if o, ok := out.Ints(); ok {
				a, err1 := tensor.NumElements(in)
				b, err2 := tensor.NumElements(o)
				if err1 != nil || err2 != nil || a != b {
					return nil, fmt.Errorf("cannot reshape %v (%d elements) to %v", data, a, out)
				}
			}
		}
	}
	if sv := s.ints(x); sv != nil && len(out) <= 1 {
		s.setInts(n.Output(0), &sval{scalar: len(out) == 0, e: sv.e})
	}
	return one(dt, out), nil
}

// inferMinusOne computes the -1 entry of a Reshape target from the input
// dims, cancelling symbols that appear on both sides.
func inferMinusOne(in, out ir.Shape, neg int) (ir.Dim, error) {
	pin, pout := int64(1), int64(1)
	syms := map[string]int{}
	var err error
	for _, d := range in {
		switch {
		case d.Known():
			if pin, err = mulChecked(pin, d.Value); err != nil {
				return ir.UnknownDim, err
			}
		case d.Param != "":
			syms[d.Param]++
		default:
			return ir.UnknownDim, nil
		}
	}
	for i, d := range out {
		if i == neg {
			continue
		}
		switch {
		case d.Known():
			if pout, err = mulChecked(pout, d.Value); err != nil {
				return ir.UnknownDim, err
			}
		case d.Param != "" && syms[d.Param] > 0:
			syms[d.Param]--
		default:
			return ir.UnknownDim, nil
		}
	}
	var left []string
	for name, c := range syms {
		for ; c > 0; c-- {
			left = append(left, name)
		}
	}
	switch {
	case len(left) == 0:
		if pout == 0 {
			if pin == 0 {
				return ir.UnknownDim, nil
			}
			return ir.UnknownDim, fmt.Errorf("cannot reshape %v to %v: the -1 has no size", in, out)
		}
		if pin%pout != 0 {
			return ir.UnknownDim, fmt.Errorf("cannot reshape %v (%d elements) to %v", in, pin, out)
		}
		return ir.D(pin / pout), nil
	case len(left) == 1 && pin == pout:
		return ir.Sym(left[0]), nil
	}
	return ir.UnknownDim, nil
}

func opTranspose(s *state, n *ir.Node) ([]result, error) {
	x := s.inShape(n, 0)
	perm, err := n.AttrInts("perm", nil)
	if err != nil {
		return nil, err
	}
	if x == nil {
		if perm != nil {
			return one(s.inType(n, 0), unknownShape(len(perm))), nil
		}
		return one(s.inType(n, 0), nil), nil
	}
	if perm == nil {
		for i := len(x) - 1; i >= 0; i-- {
			perm = append(perm, int64(i))
		}
	}
	if len(perm) != len(x) {
		return nil, fmt.Errorf("perm %v does not fit rank %d", perm, len(x))
	}
	seen := make([]bool, len(x))
	out := make(ir.Shape, len(x))
	for i, p := range perm {
		a, err := normAxis(p, len(x))
		if err != nil || seen[a] {
			return nil, fmt.Errorf("perm %v is not a permutation of rank %d", perm, len(x))
		}
		seen[a] = true
		out[i] = x[a]
	}
	return one(s.inType(n, 0), out), nil
}

// axesParam reads the axes of Squeeze, Unsqueeze, Reduce*: an attribute up
// to opset attrUntil, an optional input from then on. present reports
// whether axes are given at all; ok whether their values are known.
func (s *state) axesParam(n *ir.Node, attrUntil int64, input int) (axes []int64, present, ok bool, err error) {
	if s.opset < attrUntil {
		axes, err = n.AttrInts("axes", nil)
		return axes, axes != nil, true, err
	}
	v := n.Input(input)
	if v == nil {
		return nil, false, true, nil
	}
	axes, ok = s.knownInts(v)
	return axes, true, ok, nil
}

func opSqueeze(s *state, n *ir.Node) ([]result, error) {
	x := n.Input(0)
	if x == nil {
		return nil, nil
	}
	axes, present, ok, err := s.axesParam(n, 13, 1)
	if err != nil {
		return nil, err
	}
	if x.Shape == nil || !ok {
		return one(x.Type, nil), nil
	}
	drop := make([]bool, len(x.Shape))
	if present && len(axes) > 0 {
		idx, err := normAxes(axes, len(x.Shape))
		if err != nil {
			return nil, err
		}
		for _, a := range idx {
			if d := x.Shape[a]; d.Known() && d.Value != 1 {
				return nil, fmt.Errorf("cannot squeeze axis %d of size %d", a, d.Value)
			}
			drop[a] = true
		}
	} else {
		for i, d := range x.Shape {
			if !d.Known() {
				return one(x.Type, nil), nil
			}
			drop[i] = d.Value == 1
		}
	}
	var out ir.Shape = ir.Shape{}
	for i, d := range x.Shape {
		if !drop[i] {
			out = append(out, d)
		}
	}
	if sv := s.ints(x); sv != nil && len(out) == 0 && len(sv.e) == 1 {
		s.setInts(n.Output(0), &sval{scalar: true, e: sv.e})
	}
	return one(x.Type, out), nil
}

func opUnsqueeze(s *state, n *ir.Node) ([]result, error) {
	x := n.Input(0)
	if x == nil {
		return nil, nil
	}
	axes, present, ok, err := s.axesParam(n, 13, 1)
	if err != nil {
		return nil, err
	}
	if !present {
		return nil, fmt.Errorf("axes are missing")
	}
	if x.Shape == nil || !ok {
		return one(x.Type, nil), nil
	}
	r := len(x.Shape) + len(axes)
	idx, err := normAxes(axes, r)
	if err != nil {
		return nil, err
	}
	ins := make([]bool, r)
	for _, a := range idx {
		ins[a] = true
	}
	out := make(ir.Shape, r)
	j := 0
	for i := range out {
		if ins[i] {
			out[i] = ir.D(1)
		} else {
			out[i] = x.Shape[j]
			j++
		}
	}
	if sv := s.ints(x); sv != nil && r == 1 {
		s.setInts(n.Output(0), &sval{e: sv.e})
	}
	return one(x.Type, out), nil
}

func opConcat(s *state, n *ir.Node) ([]result, error) {
	axis, err := n.AttrInt("axis", math.MinInt64)
	if err != nil {
		return nil, err
	}
	if axis == math.MinInt64 {
		if s.opset >= 4 {
			return nil, fmt.Errorf("attribute axis is missing")
		}
		axis = 1
	}
	dt := tensor.Undefined
	rank := -1
	for _, v := range n.Inputs {
		if v == nil {
			continue
		}
		dt = firstType(dt, v.Type)
		if v.Shape != nil {
			if rank >= 0 && len(v.Shape) != rank {
				return nil, fmt.Errorf("inputs have different ranks %d and %d", rank, len(v.Shape))
			}
			rank = len(v.Shape)
		}
	}
	if rank < 0 {
		return one(dt, nil), nil
	}
	if rank == 0 {
		return nil, fmt.Errorf("cannot concatenate scalars")
	}
	a, err := normAxis(axis, rank)
	if err != nil {
		return nil, err
	}
	out := unknownShape(rank)
	sum := ir.D(0)
	first := true
	for _, v := range n.Inputs {
		if v == nil {
			continue
		}
		if v.Shape == nil {
			sum = ir.UnknownDim
			continue
		}
		for i, d := range v.Shape {
			if i == a {
				continue
			}
			if first {
				out[i] = d
			} else if out[i], err = sameDim(out[i], d); err != nil {
				return nil, fmt.Errorf("inputs differ on axis %d: %w", i, err)
			}
		}
		first = false
		if d := v.Shape[a]; d.Known() && sum.Known() {
			sum = ir.D(sum.Value + d.Value)
		} else if !(d.Known() && d.Value == 0) {
			if sum.Known() && sum.Value == 0 {
				sum = d
			} else {
				sum = ir.UnknownDim
			}
		}
	}
	out[a] = sum
	if rank == 1 {
		cat := &sval{}
		for _, v := range n.Inputs {
			if v == nil {
				continue
			}
			sv := s.ints(v)
			if sv == nil || sv.scalar {
				cat = nil
				break
			}
			cat.e = append(cat.e, sv.e...)
		}
		if cat != nil {
			s.setInts(n.Output(0), cat)
		}
	}
	return one(dt, out), nil
}

func opSplit(s *state, n *ir.Node) ([]result, error) {
	x := s.inShape(n, 0)
	dt := s.inType(n, 0)
	k := len(n.Outputs)
	res := make([]result, k)
	for i := range res {
		res[i].t = dt
	}
	if x == nil || k == 0 {
		return res, nil
	}
	axis, err := n.AttrInt("axis", 0)
	if err != nil {
		return nil, err
	}
	a, err := normAxis(axis, len(x))
	if err != nil {
		return nil, err
	}
	var split []int64
	splitOK := true
	if s.opset < 13 {
		split, err = n.AttrInts("split", nil)
		if err != nil {
			return nil, err
		}
	} else if v := n.Input(1); v != nil {
		split, splitOK = s.knownInts(v)
	}
	d := x[a]
	sizes := make([]ir.Dim, k)
	switch {
	case !splitOK:
		for i := range sizes {
			sizes[i] = ir.UnknownDim
		}
	case split != nil:
		if len(split) != k {
			return nil, fmt.Errorf("split %v has %d entries for %d outputs", split, len(split), k)
		}
		total := int64(0)
		for i, v := range split {
			if err := checkDim(v, "split size"); err != nil {
				return nil, err
			}
			sizes[i] = ir.D(v)
			total += v
		}
		if d.Known() && total != d.Value {
			return nil, fmt.Errorf("split %v does not sum to the axis size %d", split, d.Value)
		}
	case d.Known():
		chunk := d.Value / int64(k)
		if s.opset >= 18 {
			chunk = (d.Value + int64(k) - 1) / int64(k)
		} else if d.Value%int64(k) != 0 {
			return nil, fmt.Errorf("axis size %d does not split evenly into %d outputs", d.Value, k)
		}
		left := d.Value
		for i := range sizes {
			c := min(chunk, left)
			sizes[i] = ir.D(c)
			left -= c
		}
	default:
		for i := range sizes {
			sizes[i] = ir.UnknownDim
		}
	}
	for i := range res {
		sh := cloneShape(x)
		sh[a] = sizes[i]
		res[i].shape = sh
	}
	return res, nil
}

func opGather(s *state, n *ir.Node) ([]result, error) {
	data, idx := s.inShape(n, 0), s.inShape(n, 1)
	dt := s.inType(n, 0)
	if data == nil || idx == nil {
		return one(dt, nil), nil
	}
	axis, err := n.AttrInt("axis", 0)
	if err != nil {
		return nil, err
	}
	a, err := normAxis(axis, len(data))
	if err != nil {
		return nil, err
	}
	out := append(append(append(ir.Shape{}, data[:a]...), idx...), data[a+1:]...)
	if sv := s.ints(n.Input(0)); sv != nil && !sv.scalar {
		if iv := s.ints(n.Input(1)); iv != nil && len(idx) <= 1 {
			g := &sval{scalar: iv.scalar, e: make([]elem, len(iv.e))}
			for i, e := range iv.e {
				if !e.ok {
					g = nil
					break
				}
				j := e.v
				if j < 0 {
					j += int64(len(sv.e))
				}
				if j < 0 || j >= int64(len(sv.e)) {
					return nil, fmt.Errorf("index %d is out of range for %d elements", e.v, len(sv.e))
				}
				g.e[i] = sv.e[j]
			}
			s.setInts(n.Output(0), g)
		}
	}
	return one(dt, out), nil
}

func opGatherElements(s *state, n *ir.Node) ([]result, error) {
	return one(s.inType(n, 0), cloneShape(s.inShape(n, 1))), nil
}

// sliceLen is the number of elements Slice selects along an axis of size d.
func sliceLen(d, start, end, step int64) int64 {
	if start < 0 {
		start += d
	}
	if end < 0 {
		end += d
	}
	if step > 0 {
		start = min(max(start, 0), d)
		end = min(max(end, 0), d)
		if end <= start {
			return 0
		}
		return (end-start-1)/step + 1
	}
	start = min(max(start, 0), d-1)
	end = min(max(end, -1), d-1)
	if start <= end {
		return 0
	}
	if step == math.MinInt64 {
		return 1
	}
	return (start-end-1)/(-step) + 1
}

// sliceFirst is the first index Slice selects (for constant propagation).
func sliceFirst(d, start, step int64) int64 {
	if start < 0 {
		start += d
	}
	if step > 0 {
		return min(max(start, 0), d)
	}
	return min(max(start, 0), d-1)
}

func opSlice(s *state, n *ir.Node) ([]result, error) {
	x := n.Input(0)
	if x == nil {
		return nil, nil
	}
	if x.Shape == nil {
		return one(x.Type, nil), nil
	}
	var starts, ends, axes, steps []int64
	ok := true
	if s.opset < 10 {
		var err error
		if starts, err = n.AttrInts("starts", nil); err != nil {
			return nil, err
		}
		if ends, err = n.AttrInts("ends", nil); err != nil {
			return nil, err
		}
		if axes, err = n.AttrInts("axes", nil); err != nil {
			return nil, err
		}
		if starts == nil || ends == nil {
			return nil, fmt.Errorf("attributes starts and ends are required")
		}
	} else {
		var ok1, ok2, ok3, ok4 bool = true, true, true, true
		starts, ok1 = s.knownInts(n.Input(1))
		ends, ok2 = s.knownInts(n.Input(2))
		if v := n.Input(3); v != nil {
			axes, ok3 = s.knownInts(v)
		}
		if v := n.Input(4); v != nil {
			steps, ok4 = s.knownInts(v)
		}
		ok = ok1 && ok2 && ok3 && ok4
	}
	r := len(x.Shape)
	if !ok {
		if axes != nil {
			if idx, err := normAxes(axes, r); err == nil {
				out := cloneShape(x.Shape)
				for _, a := range idx {
					out[a] = ir.UnknownDim
				}
				return one(x.Type, out), nil
			}
		}
		return one(x.Type, unknownShape(r)), nil
	}
	if axes == nil {
		for i := range starts {
			axes = append(axes, int64(i))
		}
	}
	if steps == nil {
		steps = make([]int64, len(starts))
		for i := range steps {
			steps[i] = 1
		}
	}
	if len(ends) != len(starts) || len(axes) != len(starts) || len(steps) != len(starts) {
		return nil, fmt.Errorf("starts %v, ends %v, axes %v and steps %v differ in length", starts, ends, axes, steps)
	}
	idx, err := normAxes(axes, r)
	if err != nil {
		return nil, err
	}
	out := cloneShape(x.Shape)
	for i, a := range idx {
		if steps[i] == 0 {
			return nil, fmt.Errorf("step 0 on axis %d", a)
		}
		d := x.Shape[a]
		switch {
		case d.Known():
			out[a] = ir.D(sliceLen(d.Value, starts[i], ends[i], steps[i]))
		case starts[i] == 0 && steps[i] == 1 && ends[i] >= math.MaxInt32:
			// The whole axis: keep the symbol.
		default:
			out[a] = ir.UnknownDim
		}
	}
	if sv := s.ints(x); sv != nil && !sv.scalar && len(idx) == 1 {
		d := int64(len(sv.e))
		l := sliceLen(d, starts[0], ends[0], steps[0])
		first := sliceFirst(d, starts[0], steps[0])
		cut := &sval{e: make([]elem, l)}
		for i := range cut.e {
			cut.e[i] = sv.e[first+int64(i)*steps[0]]
		}
		s.setInts(n.Output(0), cut)
	}
	return one(x.Type, out), nil
}

func opPad(s *state, n *ir.Node) ([]result, error) {
	x := n.Input(0)
	if x == nil {
		return nil, nil
	}
	if x.Shape == nil {
		return one(x.Type, nil), nil
	}
	r := len(x.Shape)
	var pads, axes []int64
	var err error
	switch {
	case s.opset < 2:
		pads, err = n.AttrInts("paddings", nil)
	case s.opset < 11:
		pads, err = n.AttrInts("pads", nil)
	default:
		var ok bool
		if pads, ok = s.knownInts(n.Input(1)); !ok {
			return one(x.Type, unknownShape(r)), nil
		}
		if v := n.Input(3); v != nil && s.opset >= 18 {
			if axes, ok = s.knownInts(v); !ok {
				return one(x.Type, unknownShape(r)), nil
			}
		}
	}
	if err != nil {
		return nil, err
	}
	if axes == nil {
		for i := 0; i < r; i++ {
			axes = append(axes, int64(i))
		}
	}
	idx, err := normAxes(axes, r)
	if err != nil {
		return nil, err
	}
	if len(pads) != 2*len(idx) {
		return nil, fmt.Errorf("pads %v do not fit %d axes", pads, len(idx))
	}
	out := cloneShape(x.Shape)
	for i, a := range idx {
		pb, pe := pads[i], pads[i+len(idx)]
		if pb < -maxDim || pb > maxDim || pe < -maxDim || pe > maxDim {
			return nil, fmt.Errorf("pads %v are out of range", pads)
		}
		d := x.Shape[a]
		switch {
		case d.Known():
			v := d.Value + pb + pe
			if v < 0 {
				return nil, fmt.Errorf("padding %v gives a negative size on axis %d", pads, a)
			}
			out[a] = ir.D(v)
		case pb == 0 && pe == 0:
		default:
			out[a] = ir.UnknownDim
		}
	}
	return one(x.Type, out), nil
}

// dimsOf turns a propagated shape vector into dims.
func dimsOf(sv *sval) (ir.Shape, error) {
	out := make(ir.Shape, len(sv.e))
	for i, e := range sv.e {
		if e.ok && e.v < 0 {
			return nil, fmt.Errorf("shape has negative value %d", e.v)
		}
		out[i] = e.dim()
	}
	return out, nil
}

func opExpand(s *state, n *ir.Node) ([]result, error) {
	x := s.inShape(n, 0)
	dt := s.inType(n, 0)
	sv := s.ints(n.Input(1))
	if sv == nil || sv.scalar {
		return one(dt, nil), nil
	}
	sh, err := dimsOf(sv)
	if err != nil {
		return nil, err
	}
	out, err := broadcast(x, sh)
	if err != nil {
		return nil, err
	}
	return one(dt, out), nil
}

func opTile(s *state, n *ir.Node) ([]result, error) {
	x := s.inShape(n, 0)
	dt := s.inType(n, 0)
	reps, ok := s.knownInts(n.Input(1))
	if x == nil || !ok {
		if x != nil {
			return one(dt, unknownShape(len(x))), nil
		}
		return one(dt, nil), nil
	}
	if len(reps) != len(x) {
		return nil, fmt.Errorf("repeats %v do not fit rank %d", reps, len(x))
	}
	out := make(ir.Shape, len(x))
	for i, d := range x {
		rp := reps[i]
		if rp < 0 {
			return nil, fmt.Errorf("negative repeat %d", rp)
		}
		switch {
		case d.Known():
			v, err := mulChecked(d.Value, rp)
			if err != nil {
				return nil, err
			}
			out[i] = ir.D(v)
		case rp == 1:
			out[i] = d
		case rp == 0:
			out[i] = ir.D(0)
		default:
			out[i] = ir.UnknownDim
		}
	}
	return one(dt, out), nil
}

func opDepthToSpace(s *state, n *ir.Node) ([]result, error) {
	return blockOp(s, n, true)
}

func opSpaceToDepth(s *state, n *ir.Node) ([]result, error) {
	return blockOp(s, n, false)
}

func blockOp(s *state, n *ir.Node, toSpace bool) ([]result, error) {
	x := s.inShape(n, 0)
	dt := s.inType(n, 0)
	b, err := n.AttrInt("blocksize", 0)
	if err != nil {
		return nil, err
	}
	if b < 1 || b > 1<<20 {
		return nil, fmt.Errorf("blocksize %d is out of range", b)
	}
	if x == nil {
		return one(dt, unknownShape(4)), nil
	}
	if len(x) != 4 {
		return nil, fmt.Errorf("input %v is not 4-D", x)
	}
	out := ir.Shape{x[0], ir.UnknownDim, ir.UnknownDim, ir.UnknownDim}
	if toSpace {
		if c := x[1]; c.Known() {
			if c.Value%(b*b) != 0 {
				return nil, fmt.Errorf("channels %d are not a multiple of blocksize^2 %d", c.Value, b*b)
			}
			out[1] = ir.D(c.Value / (b * b))
		}
		for i := 2; i < 4; i++ {
			if x[i].Known() {
				v, err := mulChecked(x[i].Value, b)
				if err != nil {
					return nil, err
				}
				out[i] = ir.D(v)
			}
		}
	} else {
		if c := x[1]; c.Known() {
			v, err := mulChecked(c.Value, b*b)
			if err != nil {
				return nil, err
			}
			out[1] = ir.D(v)
		}
		for i := 2; i < 4; i++ {
			if x[i].Known() {
				if x[i].Value%b != 0 {
					return nil, fmt.Errorf("size %d is not a multiple of blocksize %d", x[i].Value, b)
				}
				out[i] = ir.D(x[i].Value / b)
			}
		}
	}
	return one(dt, out), nil
}

func opGemm(s *state, n *ir.Node) ([]result, error) {
	a, b := s.inShape(n, 0), s.inShape(n, 1)
	dt := firstType(s.inType(n, 0), s.inType(n, 1))
	ta, err := n.AttrInt("transA", 0)
	if err != nil {
		return nil, err
	}
	tb, err := n.AttrInt("transB", 0)
	if err != nil {
		return nil, err
	}
	if a != nil && len(a) != 2 || b != nil && len(b) != 2 {
		return nil, fmt.Errorf("Gemm needs 2-D A and B, got %v and %v", a, b)
	}
	m, k1, k2, nn := ir.UnknownDim, ir.UnknownDim, ir.UnknownDim, ir.UnknownDim
	if a != nil {
		m, k1 = a[0], a[1]
		if ta != 0 {
			m, k1 = k1, m
		}
	}
	if b != nil {
		k2, nn = b[0], b[1]
		if tb != 0 {
			k2, nn = nn, k2
		}
	}
	if _, err := sameDim(k1, k2); err != nil {
		return nil, fmt.Errorf("inner dimensions of A %v and B %v differ", a, b)
	}
	out := ir.Shape{m, nn}
	if c := s.inShape(n, 2); c != nil {
		if len(c) > 2 {
			return nil, fmt.Errorf("C %v has rank > 2", c)
		}
		if _, err := broadcast(c, out); err != nil {
			return nil, fmt.Errorf("C %v does not broadcast to %v", c, out)
		}
	}
	return one(dt, out), nil
}

// matmulShape is numpy matmul's shape rule.
func matmulShape(a, b ir.Shape) (ir.Shape, error) {
	if a == nil || b == nil {
		return nil, nil
	}
	if len(a) == 0 || len(b) == 0 {
		return nil, fmt.Errorf("MatMul does not take scalars (%v, %v)", a, b)
	}
	aa, bb := a, b
	if len(aa) == 1 {
		aa = ir.Shape{ir.D(1), a[0]}
	}
	if len(bb) == 1 {
		bb = ir.Shape{b[0], ir.D(1)}
	}
	if _, err := sameDim(aa[len(aa)-1], bb[len(bb)-2]); err != nil {
		return nil, fmt.Errorf("inner dimensions of %v and %v differ", a, b)
	}
	batch, err := broadcast(aa[:len(aa)-2], bb[:len(bb)-2])
	if err != nil {
		return nil, err
	}
	out := batch
	if len(a) > 1 {
		out = append(out, aa[len(aa)-2])
	}
	if len(b) > 1 {
		out = append(out, bb[len(bb)-1])
	}
	return out, nil
}

func opMatMul(s *state, n *ir.Node) ([]result, error) {
	out, err := matmulShape(s.inShape(n, 0), s.inShape(n, 1))
	if err != nil {
		return nil, err
	}
	return one(firstType(s.inType(n, 0), s.inType(n, 1)), out), nil
}

func opMatMulInteger(s *state, n *ir.Node) ([]result, error) {
	out, err := matmulShape(s.inShape(n, 0), s.inShape(n, 1))
	if err != nil {
		return nil, err
	}
	return one(tensor.Int32, out), nil
}

func opQLinearMatMul(s *state, n *ir.Node) ([]result, error) {
	out, err := matmulShape(s.inShape(n, 0), s.inShape(n, 3))
	if err != nil {
		return nil, err
	}
	return one(firstType(s.inType(n, 7), s.inType(n, 0)), out), nil
}

func opConstant(s *state, n *ir.Node) ([]result, error) {
	dt, shape, err := constantNodeType(n)
	if err != nil {
		return nil, err
	}
	return one(dt, shape), nil
}

func opConstantOfShape(s *state, n *ir.Node) ([]result, error) {
	dt := attrTensorType(n, "value", tensor.Float)
	sv := s.ints(n.Input(0))
	if sv == nil {
		if sh := s.inShape(n, 0); len(sh) == 1 && sh[0].Known() && sh[0].Value <= maxInts {
			return one(dt, unknownShape(int(sh[0].Value))), nil
		}
		return one(dt, nil), nil
	}
	out, err := dimsOf(sv)
	if err != nil {
		return nil, err
	}
	if len(out) <= 1 && isIntType(dt) {
		if t, err := n.AttrTensor("value"); err == nil && t != nil && t.Len() == 1 {
			vals, err := t.Int64s()
			if sz, ok := out.Ints(); err == nil && ok && (len(sz) == 0 || sz[0] <= maxInts) {
				cnt := int64(1)
				if len(sz) == 1 {
					cnt = sz[0]
				}
				c := &sval{scalar: len(sz) == 0, e: make([]elem, cnt)}
				for i := range c.e {
					c.e[i] = known(vals[0])
				}
				s.setInts(n.Output(0), c)
			}
		}
	}
	return one(dt, out), nil
}

func opShape(s *state, n *ir.Node) ([]result, error) {
	x := s.inShape(n, 0)
	if x == nil {
		return one(tensor.Int64, unknownShape(1)), nil
	}
	r := int64(len(x))
	start, end := int64(0), r
	if s.opset >= 15 {
		var err error
		if start, err = n.AttrInt("start", 0); err != nil {
			return nil, err
		}
		if end, err = n.AttrInt("end", r); err != nil {
			return nil, err
		}
		if start < 0 {
			start += r
		}
		if end < 0 {
			end += r
		}
		start = min(max(start, 0), r)
		end = min(max(end, 0), r)
		if end < start {
			end = start
		}
	}
	sv := &sval{e: make([]elem, 0, end-start)}
	for _, d := range x[start:end] {
		sv.e = append(sv.e, elemOf(d))
	}
	s.setInts(n.Output(0), sv)
	return one(tensor.Int64, ir.ShapeOf(end-start)), nil
}

func opSize(s *state, n *ir.Node) ([]result, error) {
	if x := s.inShape(n, 0); x != nil {
		if p, err := product(x); err == nil {
			s.setInts(n.Output(0), &sval{scalar: true, e: []elem{elemOf(p)}})
		}
	}
	return one(tensor.Int64, ir.Shape{}), nil
}

func opRange(s *state, n *ir.Node) ([]result, error) {
	dt := s.inType(n, 0)
	st, err1 := s.floats(n.Input(0))
	li, err2 := s.floats(n.Input(1))
	de, err3 := s.floats(n.Input(2))
	if err := firstErr(err1, err2, err3); err != nil {
		return nil, err
	}
	if len(st) != 1 || len(li) != 1 || len(de) != 1 {
		return one(dt, unknownShape(1)), nil
	}
	if de[0] == 0 {
		return nil, fmt.Errorf("delta is zero")
	}
	cnt := math.Ceil((li[0] - st[0]) / de[0])
	if cnt < 0 {
		cnt = 0
	}
	if cnt > maxDim || math.IsNaN(cnt) {
		return nil, fmt.Errorf("range of %v elements is out of range", cnt)
	}
	c := int64(cnt)
	if isIntType(dt) && c <= maxInts {
		sv := &sval{e: make([]elem, c)}
		for i := range sv.e {
			sv.e[i] = known(int64(st[0]) + int64(i)*int64(de[0]))
		}
		s.setInts(n.Output(0), sv)
	}
	return one(dt, ir.ShapeOf(c)), nil
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

func opCast(s *state, n *ir.Node) ([]result, error) {
	to, err := n.AttrInt("to", 0)
	if err != nil {
		return nil, err
	}
	dt := tensor.DataType(to)
	if _, ok := onnxpb.TensorProto_DataType_name[int32(dt)]; !ok || dt == tensor.Undefined {
		return nil, fmt.Errorf("attribute to = %d is not a tensor type", to)
	}
	castInts(s, n, dt)
	return one(dt, cloneShape(s.inShape(n, 0))), nil
}

func castInts(s *state, n *ir.Node, dt tensor.DataType) {
	if !isIntType(dt) && !isFloatType(dt) {
		return
	}
	if sv := s.ints(n.Input(0)); sv != nil {
		s.setInts(n.Output(0), sv)
	}
}

func opCastLike(s *state, n *ir.Node) ([]result, error) {
	dt := s.inType(n, 1)
	castInts(s, n, dt)
	return one(dt, cloneShape(s.inShape(n, 0))), nil
}

func opNonZero(s *state, n *ir.Node) ([]result, error) {
	if x := s.inShape(n, 0); x != nil {
		return one(tensor.Int64, ir.Shape{ir.D(int64(len(x))), ir.UnknownDim}), nil
	}
	return one(tensor.Int64, unknownShape(2)), nil
}

func opQuantize(s *state, n *ir.Node) ([]result, error) {
	dt := s.inType(n, 2)
	if dt == tensor.Undefined && s.opset >= 21 {
		o, err := n.AttrInt("output_dtype", 0)
		if err != nil {
			return nil, err
		}
		dt = tensor.DataType(o)
	}
	if dt == tensor.Undefined && (n.Input(2) == nil || s.opset < 21) {
		dt = tensor.Uint8
	}
	return one(dt, cloneShape(s.inShape(n, 0))), nil
}

func opDequantize(s *state, n *ir.Node) ([]result, error) {
	dt := tensor.Float
	if s.opset >= 19 {
		dt = s.inType(n, 1)
	}
	if s.opset >= 23 {
		o, err := n.AttrInt("output_dtype", 0)
		if err != nil {
			return nil, err
		}
		if o != 0 {
			dt = tensor.DataType(o)
		}
	}
	return one(dt, cloneShape(s.inShape(n, 0))), nil
}

func opDynamicQuantize(s *state, n *ir.Node) ([]result, error) {
	return []result{{tensor.Uint8, cloneShape(s.inShape(n, 0))}, {tensor.Float, ir.Shape{}}, {tensor.Uint8, ir.Shape{}}}, nil
}

func opResize(s *state, n *ir.Node) ([]result, error) {
	x := s.inShape(n, 0)
	dt := s.inType(n, 0)
	if x == nil {
		return one(dt, nil), nil
	}
	r := len(x)
	var scales []float64
	var sizes []int64
	var sizesVal *sval
	var err error
	switch {
	case n.OpType == "Upsample" && s.opset < 9:
		var f []float32
		if f, err = n.AttrFloats("scales", nil); err != nil {
			return nil, err
		}
		for _, v := range f {
			scales = append(scales, float64(v))
		}
	case n.OpType == "Upsample" || s.opset < 11:
		if scales, err = s.floats(n.Input(1)); err != nil {
			return nil, err
		}
	default:
		if scales, err = s.floats(n.Input(2)); err != nil {
			return nil, err
		}
		if v := n.Input(3); v != nil {
			if sizesVal = s.ints(v); sizesVal == nil {
				return one(dt, unknownShape(r)), nil
			}
			sizes, _ = sizesVal.known()
		}
	}
	axes := make([]int, r)
	for i := range axes {
		axes[i] = i
	}
	if s.opset >= 18 && n.OpType == "Resize" {
		if a, err := n.AttrInts("axes", nil); err != nil {
			return nil, err
		} else if a != nil {
			if axes, err = normAxes(a, r); err != nil {
				return nil, err
			}
		}
	}
	out := cloneShape(x)
	switch {
	case sizesVal != nil && len(sizesVal.e) > 0 && sizes == nil:
		// Partly known sizes (computed from Shape): stretch only.
		if len(sizesVal.e) != len(axes) {
			return nil, fmt.Errorf("sizes have %d entries for %d axes", len(sizesVal.e), len(axes))
		}
		d, err := dimsOf(sizesVal)
		if err != nil {
			return nil, err
		}
		policy := "stretch"
		if s.opset >= 18 {
			if policy, err = n.AttrString("keep_aspect_ratio_policy", "stretch"); err != nil {
				return nil, err
			}
		}
		for i, a := range axes {
			out[a] = d[i]
			if policy != "stretch" {
				out[a] = ir.UnknownDim
			}
		}
	case len(sizes) > 0:
		if len(sizes) != len(axes) {
			return nil, fmt.Errorf("sizes %v do not fit %d axes", sizes, len(axes))
		}
		policy := "stretch"
		if s.opset >= 18 {
			if policy, err = n.AttrString("keep_aspect_ratio_policy", "stretch"); err != nil {
				return nil, err
			}
		}
		for i, a := range axes {
			if err := checkDim(sizes[i], "size"); err != nil {
				return nil, err
			}
			out[a] = ir.D(sizes[i])
		}
		if policy == "not_larger" || policy == "not_smaller" {
			scale := math.NaN()
			for i, a := range axes {
				if !x[a].Known() || x[a].Value == 0 {
					return one(dt, unknownShape(r)), nil
				}
				f := float64(sizes[i]) / float64(x[a].Value)
				if math.IsNaN(scale) || policy == "not_larger" && f < scale || policy == "not_smaller" && f > scale {
					scale = f
				}
			}
			for _, a := range axes {
				out[a] = ir.D(int64(math.RoundToEven(scale * float64(x[a].Value))))
			}
		} else if policy != "stretch" {
			return nil, fmt.Errorf("unknown keep_aspect_ratio_policy %q", policy)
		}
	case len(scales) > 0:
		if len(scales) != len(axes) {
			return nil, fmt.Errorf("scales %v do not fit %d axes", scales, len(axes))
		}
		crop := make([]float64, len(axes))
		for i := range crop {
			crop[i] = 1
		}
		if mode, _ := n.AttrString("coordinate_transformation_mode", ""); mode == "tf_crop_and_resize" {
			roi, err := s.floats(n.Input(1))
			if err != nil {
				return nil, err
			}
			if len(roi) != 2*len(axes) {
				return one(dt, unknownShape(r)), nil
			}
			for i := range crop {
				crop[i] = roi[i+len(axes)] - roi[i]
			}
		}
		for i, a := range axes {
			sc := scales[i]
			if !(sc > 0) || sc > maxDim {
				return nil, fmt.Errorf("scale %v is not positive", sc)
			}
			switch {
			case x[a].Known():
				v := math.Floor(float64(x[a].Value) * crop[i] * sc)
				if v < 0 || v > maxDim {
					return nil, fmt.Errorf("scaled size %v is out of range", v)
				}
				out[a] = ir.D(int64(v))
			case sc == 1 && crop[i] == 1:
			default:
				out[a] = ir.UnknownDim
			}
		}
	default:
		return one(dt, unknownShape(r)), nil
	}
	return one(dt, out), nil
}

func opReduce(s *state, n *ir.Node) ([]result, error) {
	x := n.Input(0)
	if x == nil {
		return nil, nil
	}
	until := int64(18)
	if n.OpType == "ReduceSum" {
		until = 13
	}
	axes, present, ok, err := s.axesParam(n, until, 1)
	if err != nil {
		return nil, err
	}
	keep, err := n.AttrInt("keepdims", 1)
	if err != nil {
		return nil, err
	}
	noop := int64(0)
	if s.opset >= until {
		if noop, err = n.AttrInt("noop_with_empty_axes", 0); err != nil {
			return nil, err
		}
	}
	if x.Shape == nil {
		return one(x.Type, nil), nil
	}
	r := len(x.Shape)
	if !ok {
		if keep != 0 {
			return one(x.Type, unknownShape(r)), nil
		}
		return one(x.Type, nil), nil
	}
	red := make([]bool, r)
	if !present || len(axes) == 0 {
		if noop != 0 {
			return one(x.Type, cloneShape(x.Shape)), nil
		}
		for i := range red {
			red[i] = true
		}
	} else {
		idx, err := normAxes(axes, r)
		if err != nil {
			return nil, err
		}
		for _, a := range idx {
			red[a] = true
		}
	}
	out := ir.Shape{}
	for i, d := range x.Shape {
		switch {
		case !red[i]:
			out = append(out, d)
		case keep != 0:
			out = append(out, ir.D(1))
		}
	}
	return one(x.Type, out), nil
}

func opArgMax(s *state, n *ir.Node) ([]result, error) {
	x := s.inShape(n, 0)
	if x == nil {
		return one(tensor.Int64, nil), nil
	}
	axis, err := n.AttrInt("axis", 0)
	if err != nil {
		return nil, err
	}
	keep, err := n.AttrInt("keepdims", 1)
	if err != nil {
		return nil, err
	}
	a, err := normAxis(axis, len(x))
	if err != nil {
		return nil, err
	}
	out := ir.Shape{}
	for i, d := range x {
		switch {
		case i != a:
			out = append(out, d)
		case keep != 0:
			out = append(out, ir.D(1))
		}
	}
	return one(tensor.Int64, out), nil
}

func opTopK(s *state, n *ir.Node) ([]result, error) {
	x := s.inShape(n, 0)
	dt := s.inType(n, 0)
	if x == nil {
		return []result{{dt, nil}, {tensor.Int64, nil}}, nil
	}
	axis, err := n.AttrInt("axis", -1)
	if err != nil {
		return nil, err
	}
	a, err := normAxis(axis, len(x))
	if err != nil {
		return nil, err
	}
	k := ir.UnknownDim
	if s.opset < 10 {
		v, err := n.AttrInt("k", -1)
		if err != nil {
			return nil, err
		}
		if v >= 0 {
			k = ir.D(v)
		}
	} else if kv, ok := s.knownInts(n.Input(1)); ok && len(kv) == 1 && kv[0] >= 0 {
		k = ir.D(kv[0])
	}
	if k.Known() && x[a].Known() && k.Value > x[a].Value {
		return nil, fmt.Errorf("k %d is larger than the axis size %d", k.Value, x[a].Value)
	}
	out := cloneShape(x)
	out[a] = k
	return []result{{dt, out}, {tensor.Int64, cloneShape(out)}}, nil
}

// ONNX Runtime's com.microsoft quantized operators.

func opQLinearBinary(s *state, n *ir.Node) ([]result, error) {
	out, err := broadcast(s.inShape(n, 0), s.inShape(n, 3))
	if err != nil {
		return nil, err
	}
	return one(firstType(s.inType(n, 7), s.inType(n, 0)), out), nil
}

func opQLinearUnary(s *state, n *ir.Node) ([]result, error) {
	return one(firstType(s.inType(n, 4), s.inType(n, 0)), cloneShape(s.inShape(n, 0))), nil
}

func opQLinearGlobalAveragePool(s *state, n *ir.Node) ([]result, error) {
	x := s.inShape(n, 0)
	dt := firstType(s.inType(n, 4), s.inType(n, 0))
	if x == nil {
		return one(dt, nil), nil
	}
	if len(x) < 3 {
		return nil, fmt.Errorf("input %v has rank < 3", x)
	}
	last, err := n.AttrInt("channels_last", 0)
	if err != nil {
		return nil, err
	}
	out := cloneShape(x)
	for i := 1; i < len(out); i++ {
		if last != 0 && i == len(out)-1 || last == 0 && i == 1 {
			continue
		}
		out[i] = ir.D(1)
	}
	return one(dt, out), nil
}
