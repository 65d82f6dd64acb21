package train

import (
	"fmt"
	"math"

	"github.com/onnx-prom/onnx-prom/onnx/ir"
	"github.com/onnx-prom/onnx-prom/passes"
)

type builder func(c *compiler, n *ir.Node) error

var builders map[string]builder

func init() {
	builders = map[string]builder{
		"Conv":               buildConv,
		"Gemm":               buildGemm,
		"MatMul":             buildGemm,
		"BatchNormalization": buildBN,
		"Relu":               buildUnary(actRelu),
		"Clip":               buildUnary(actClip),
		"HardSigmoid":        buildUnary(actHardSigmoid),
		"HardSwish":          buildUnary(actHardSwish),
		"Sigmoid":            buildUnary(actSigmoid),
		"LeakyRelu":          buildUnary(actLeakyRelu),
		"Tanh":               buildUnary(actTanh),
		"Add":                buildBinary(binAdd),
		"Sub":                buildBinary(binSub),
		"Mul":                buildBinary(binMul),
		"Div":                buildBinary(binDiv),
		"GlobalAveragePool":  buildGAP,
		"Flatten":            buildFlatten,
		"Reshape":            buildReshape,
		"Squeeze":            buildSqueeze(false),
		"Unsqueeze":          buildSqueeze(true),
		"Identity":           buildIdentity,
		"Dropout":            buildIdentity,
		"MaxPool":            buildPool(true),
		"AveragePool":        buildPool(false),
	}
}

// Supported reports whether training supports op type op of the default
// domain.
func Supported(op string) bool { return builders[op] != nil }

func attrInts2(n *ir.Node, name string, def int) ([]int, error) {
	v, err := n.AttrInts(name, nil)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return []int{def, def}, nil
	}
	if len(v) != 2 {
		return nil, fmt.Errorf("%s has %d values; only 2-D operations are supported", name, len(v))
	}
	out := []int{int(v[0]), int(v[1])}
	for _, x := range out {
		if x < 1 || x > 1<<16 {
			return nil, fmt.Errorf("%s %v: values must be in [1, 65536]", name, v)
		}
	}
	return out, nil
}

// window resolves strides, dilations and leading pads of a 2-D window op
// and its output size.
type window struct {
	sh, sw, dh, dw, pt, pl, pb, pr, oh, ow int
}

func resolveWindow(n *ir.Node, h, w, kh, kw int, ceil bool) (window, error) {
	var r window
	s, err := attrInts2(n, "strides", 1)
	if err != nil {
		return r, err
	}
	d := []int{1, 1}
	if n.OpType != "AveragePool" || n.HasAttr("dilations") {
		if d, err = attrInts2(n, "dilations", 1); err != nil {
			return r, err
		}
	}
	pads, err := n.AttrInts("pads", []int64{0, 0, 0, 0})
	if err != nil {
		return r, err
	}
	if len(pads) != 4 {
		return r, fmt.Errorf("pads has %d values, want 4", len(pads))
	}
	for _, p := range pads {
		if p < 0 || p > 1<<16 {
			return r, fmt.Errorf("pads %v: values must be in [0, 65536]", pads)
		}
	}
	pt, pl, pb, pr := int(pads[0]), int(pads[1]), int(pads[2]), int(pads[3])
	auto, err := n.AttrString("auto_pad", "NOTSET")
	if err != nil {
		return r, err
	}
	ekh, ekw := (kh-1)*d[0]+1, (kw-1)*d[1]+1
	switch auto {
	case "NOTSET", "":
	case "VALID":
		pt, pl, pb, pr = 0, 0, 0, 0
	case "SAME_UPPER", "SAME_LOWER":
		th := max(0, ((h+s[0]-1)/s[0]-1)*s[0]+ekh-h)
		tw := max(0, ((w+s[1]-1)/s[1]-1)*s[1]+ekw-w)
		if auto == "SAME_UPPER" {
			pt, pb, pl, pr = th/2, th-th/2, tw/2, tw-tw/2
		} else {
			pt, pb, pl, pr = th-th/2, th/2, tw-tw/2, tw/2
		}
	default:
		return r, fmt.Errorf("unknown auto_pad %q", auto)
	}
	num := func(in, p0, p1, ek, st int) int {
		x := in + p0 + p1 - ek
		if x < 0 {
			return 0
		}
		if ceil {
			o := (x+st-1)/st + 1
			// The last window must start inside the input or left padding.
			if (o-1)*st >= in+p0 {
				o--
			}
			return o
		}
		return x/st + 1
	}
	r = window{sh: s[0], sw: s[1], dh: d[0], dw: d[1], pt: pt, pl: pl, pb: pb, pr: pr,
		oh: num(h, pt, pb, ekh, s[0]), ow: num(w, pl, pr, ekw, s[1])}
	if r.oh < 1 || r.ow < 1 {
		return r, fmt.Errorf("kernel %dx%d is larger than the padded input %dx%d", kh, kw, h+pt+pb, w+pl+pr)
	}
	return r, nil
}

func buildConv(c *compiler, n *ir.Node) error {
	x, xq, err := c.read(n, 0)
	if err != nil {
		return err
	}
	if len(x.shape) != 3 {
		return fmt.Errorf("input %q has per-sample shape %v; only 2-D convolutions ([N,C,H,W]) are supported", x.name, x.shape)
	}
	w, err := c.param(n.Input(1), true, true, true)
	if err != nil {
		return err
	}
	if len(w.Shape) != 4 {
		return fmt.Errorf("weights %q have shape %v, want [M, C/group, KH, KW]", w.Name, w.Shape)
	}
	group, err := n.AttrInt("group", 1)
	if err != nil {
		return err
	}
	C, H, W := x.shape[0], x.shape[1], x.shape[2]
	M, cg, kh, kw := w.Shape[0], w.Shape[1], w.Shape[2], w.Shape[3]
	if M < 1 || cg < 1 || kh < 1 || kw < 1 {
		return fmt.Errorf("weights %q have an empty shape %v", w.Name, w.Shape)
	}
	if group < 1 || group > int64(C) {
		return fmt.Errorf("group %d for %d input channels", group, C)
	}
	G := int(group)
	if G < 1 || C%G != 0 || M%G != 0 || cg != C/G {
		return fmt.Errorf("weights %v do not match %d input channels in %d groups", w.Shape, C, group)
	}
	if ks, err := n.AttrInts("kernel_shape", nil); err != nil {
		return err
	} else if ks != nil && (len(ks) != 2 || int(ks[0]) != kh || int(ks[1]) != kw) {
		return fmt.Errorf("kernel_shape %v does not match weights %v", ks, w.Shape)
	}
	win, err := resolveWindow(n, H, W, kh, kw, false)
	if err != nil {
		return err
	}
	if int64(cg)*int64(kh)*int64(kw)*int64(win.oh)*int64(win.ow) > 1<<26 {
		return fmt.Errorf("a %dx%d kernel over %d channels and %dx%d outputs is too large for training", kh, kw, cg, win.oh, win.ow)
	}
	op := &convOp{w: w, C: C, H: H, W: W, M: M, OH: win.oh, OW: win.ow, G: G, KH: kh, KW: kw,
		SH: win.sh, SW: win.sw, DH: win.dh, DW: win.dw, PT: win.pt, PL: win.pl, inQ: xq}
	if bv := n.Input(2); bv != nil {
		if op.bias, err = c.param(bv, true, false, true); err != nil {
			return err
		}
		if len(op.bias.Data) != M {
			return fmt.Errorf("bias %q has %d values for %d output channels", bv.Name, len(op.bias.Data), M)
		}
	}
	if err := c.setWeightQuant(n, w, 0); err != nil {
		return err
	}
	if op.bias != nil && w.wq != nil && xq != nil {
		op.bias.bq = true
	}
	out, err := c.output(n, []int{M, win.oh, win.ow}, true)
	if err != nil {
		return err
	}
	op.opBase = c.base(n, out, x)
	op.init(c.nt.workers)
	c.add(op)
	c.nt.weighted = append(c.nt.weighted, op)
	return nil
}

func buildGemm(c *compiler, n *ir.Node) error {
	x, xq, err := c.read(n, 0)
	if err != nil {
		return err
	}
	if len(x.shape) != 1 {
		return fmt.Errorf("input %q has per-sample shape %v; %s needs a 2-D input [N, K]", x.name, x.shape, n.OpType)
	}
	w, err := c.param(n.Input(1), true, true, true)
	if err != nil {
		return err
	}
	if len(w.Shape) != 2 {
		return fmt.Errorf("weights %q have shape %v, want 2-D", w.Name, w.Shape)
	}
	op := &gemmOp{w: w, alpha: 1, beta: 1, K: x.shape[0], inQ: xq}
	if n.OpType == "Gemm" {
		ta, err := n.AttrInt("transA", 0)
		if err != nil {
			return err
		}
		if ta != 0 {
			return fmt.Errorf("transA = 1 is not supported for training")
		}
		tb, err := n.AttrInt("transB", 0)
		if err != nil {
			return err
		}
		op.transB = tb != 0
		if op.alpha, err = n.AttrFloat("alpha", 1); err != nil {
			return err
		}
		if op.beta, err = n.AttrFloat("beta", 1); err != nil {
			return err
		}
	}
	k, m := w.Shape[0], w.Shape[1]
	if op.transB {
		k, m = m, k
	}
	if k != op.K {
		return fmt.Errorf("weights %v do not match %d input features", w.Shape, op.K)
	}
	op.M = m
	if bv := n.Input(2); bv != nil && n.OpType == "Gemm" {
		if op.bias, err = c.param(bv, true, false, true); err != nil {
			return err
		}
		switch {
		case len(op.bias.Data) == m && (len(op.bias.Shape) == 1 || len(op.bias.Shape) == 2 && op.bias.Shape[0] == 1):
			op.biasKind = 1
		case len(op.bias.Data) == 1 && len(op.bias.Shape) <= 2:
			op.biasKind = 2
		default:
			return fmt.Errorf("bias %q of shape %v: training supports a bias of shape [M], [1, M] or a scalar", bv.Name, op.bias.Shape)
		}
	}
	axis := 1
	if op.transB {
		axis = 0
	}
	if err := c.setWeightQuant(n, w, axis); err != nil {
		return err
	}
	if op.bias != nil && op.biasKind == 1 && w.wq != nil && xq != nil {
		op.bias.bq = true
	}
	out, err := c.output(n, []int{m}, true)
	if err != nil {
		return err
	}
	op.opBase = c.base(n, out, x)
	op.init(c.nt.workers)
	c.add(op)
	c.nt.weighted = append(c.nt.weighted, op)
	return nil
}

func buildBN(c *compiler, n *ir.Node) error {
	x, _, err := c.read(n, 0)
	if err != nil {
		return err
	}
	if len(x.shape) < 1 {
		return fmt.Errorf("input %q has no channel axis", x.name)
	}
	op := &bnOp{C: x.shape[0], S: x.size / x.shape[0]}
	if op.eps, err = n.AttrFloat("epsilon", 1e-5); err != nil {
		return err
	}
	if op.momentum, err = n.AttrFloat("momentum", 0.9); err != nil {
		return err
	}
	if !(op.eps >= 0) || !(op.momentum >= 0 && op.momentum <= 1) {
		return fmt.Errorf("epsilon %g or momentum %g out of range", op.eps, op.momentum)
	}
	ps := []**Param{&op.scale, &op.bias, &op.mean, &op.vr}
	for i, dst := range ps {
		if *dst, err = c.param(n.Input(i+1), i < 2, false, false); err != nil {
			return err
		}
		if len((*dst).Data) != op.C {
			return fmt.Errorf("parameter %q has %d values for %d channels", (*dst).Name, len((*dst).Data), op.C)
		}
	}
	for i, v := range op.vr.Data {
		if v+op.eps <= 0 {
			return fmt.Errorf("channel %d has variance %g + epsilon %g <= 0", i, v, op.eps)
		}
	}
	op.batchStats = c.o.mode == Float && !c.o.frozenBN
	op.bmean, op.binv = make([]float32, op.C), make([]float32, op.C)
	out, err := c.output(n, x.shape, true)
	if err != nil {
		return err
	}
	op.opBase = c.base(n, out, x)
	c.add(op)
	return nil
}

func buildUnary(kind int) builder {
	return func(c *compiler, n *ir.Node) error {
		x, _, err := c.read(n, 0)
		if err != nil {
			return err
		}
		op := &unaryOp{kind: kind}
		switch kind {
		case actClip:
			lo, hi, ok := passes.ClipBounds(n)
			if !ok {
				return fmt.Errorf("Clip bounds must be constant scalars")
			}
			op.p1, op.p2 = float32(max(lo, -math.MaxFloat32)), float32(min(hi, math.MaxFloat32))
			if math.IsNaN(lo) || math.IsNaN(hi) || lo > hi {
				return fmt.Errorf("Clip bounds [%g, %g] are invalid", lo, hi)
			}
		case actHardSigmoid:
			if op.p1, err = n.AttrFloat("alpha", 0.2); err != nil {
				return err
			}
			if op.p2, err = n.AttrFloat("beta", 0.5); err != nil {
				return err
			}
		case actLeakyRelu:
			if op.p1, err = n.AttrFloat("alpha", 0.01); err != nil {
				return err
			}
		}
		out, err := c.output(n, x.shape, x.grad != nil)
		if err != nil {
			return err
		}
		op.opBase = c.base(n, out, x)
		c.add(op)
		return nil
	}
}

func buildBinary(kind int) builder {
	return func(c *compiler, n *ir.Node) error {
		if len(n.Inputs) != 2 {
			return fmt.Errorf("want 2 inputs, have %d", len(n.Inputs))
		}
		op := &binaryOp{kind: kind}
		var ins []*buf
		var shapes [2][]int
		rank := -1
		for i, p := range []*operand{&op.x, &op.y} {
			v := n.Input(i)
			if v == nil {
				return fmt.Errorf("input %d is missing", i)
			}
			if v.IsConst() {
				continue
			}
			b, _, err := c.read(n, i)
			if err != nil {
				return err
			}
			if rank >= 0 && rank != len(b.shape) {
				return fmt.Errorf("inputs of per-sample ranks %d and %d: broadcasting across the batch axis is not supported", rank, len(b.shape))
			}
			rank = len(b.shape)
			p.b = b
			shapes[i] = b.shape
			ins = append(ins, b)
		}
		if rank < 0 {
			return fmt.Errorf("both inputs are constants")
		}
		for i, p := range []*operand{&op.x, &op.y} {
			v := n.Input(i)
			if !v.IsConst() {
				continue
			}
			d, shape, err := floatData(v)
			if err != nil {
				return err
			}
			if len(shape) > rank {
				for _, s := range shape[:len(shape)-rank] {
					if s != 1 {
						return fmt.Errorf("constant %q of shape %v would broadcast over the batch axis", v.Name, shape)
					}
				}
				shape = shape[len(shape)-rank:]
			}
			p.c = d
			shapes[i] = shape
		}
		if err := op.setup(shapes[0], shapes[1]); err != nil {
			return err
		}
		grad := false
		for _, b := range ins {
			grad = grad || b.grad != nil
		}
		out, err := c.output(n, op.shape, grad)
		if err != nil {
			return err
		}
		// opBase.in lists the operands in input order (x, then y) so that
		// acc[k] matches operand k; a constant operand gets a nil entry.
		op.opBase = c.base(n, out, op.x.b, op.y.b)
		c.add(op)
		return nil
	}
}

func buildGAP(c *compiler, n *ir.Node) error {
	x, _, err := c.read(n, 0)
	if err != nil {
		return err
	}
	if len(x.shape) < 2 {
		return fmt.Errorf("input %q has per-sample shape %v; GlobalAveragePool needs spatial axes", x.name, x.shape)
	}
	shape := []int{x.shape[0]}
	for range x.shape[1:] {
		shape = append(shape, 1)
	}
	out, err := c.output(n, shape, x.grad != nil)
	if err != nil {
		return err
	}
	op := &gapOp{C: x.shape[0], S: x.size / x.shape[0]}
	op.opBase = c.base(n, out, x)
	c.add(op)
	return nil
}

func (c *compiler) addCopy(n *ir.Node, x *buf, shape []int) error {
	if numel(shape) != x.size {
		return fmt.Errorf("per-sample shape %v has %d elements, the input %v has %d", shape, numel(shape), x.shape, x.size)
	}
	out, err := c.output(n, shape, x.grad != nil)
	if err != nil {
		return err
	}
	op := &copyOp{}
	op.opBase = c.base(n, out, x)
	c.add(op)
	return nil
}

func buildIdentity(c *compiler, n *ir.Node) error {
	x, _, err := c.read(n, 0)
	if err != nil {
		return err
	}
	return c.addCopy(n, x, x.shape)
}

func buildFlatten(c *compiler, n *ir.Node) error {
	x, _, err := c.read(n, 0)
	if err != nil {
		return err
	}
	axis, err := n.AttrInt("axis", 1)
	if err != nil {
		return err
	}
	if axis < 0 {
		axis += int64(len(x.shape) + 1)
	}
	if axis != 1 {
		return fmt.Errorf("Flatten axis %d: only axis 1 keeps the batch axis", axis)
	}
	return c.addCopy(n, x, []int{x.size})
}

func buildReshape(c *compiler, n *ir.Node) error {
	x, _, err := c.read(n, 0)
	if err != nil {
		return err
	}
	target, ok := c.intsOf(n.Input(1))
	if !ok {
		return fmt.Errorf("the shape input must be a constant (or computed from shapes)")
	}
	target = append([]int64{}, target...)
	if len(target) > 0 && target[0] == batchDim {
		target[0] = 0
	}
	for _, d := range target[min(1, len(target)):] {
		if d == batchDim {
			return fmt.Errorf("target shape moves the batch axis")
		}
	}
	allowZero, err := n.AttrInt("allowzero", 0)
	if err != nil {
		return err
	}
	if len(target) < 1 {
		return fmt.Errorf("target shape %v has no batch axis", target)
	}
	switch {
	case target[0] == 0, target[0] == -1, c.batch >= 1 && target[0] == c.batch:
	default:
		return fmt.Errorf("target shape %v: its first axis must keep the batch (0, -1 or %d)", target, c.batch)
	}
	shape := make([]int, len(target)-1)
	infer := -1
	if target[0] == -1 {
		// -1 takes the batch: the other axes must be given.
		for _, d := range target[1:] {
			if d == -1 {
				return fmt.Errorf("target shape %v has two -1 axes", target)
			}
		}
	}
	known := 1
	for i, d := range target[1:] {
		switch {
		case d == 0 && allowZero == 0:
			if i >= len(x.shape) {
				return fmt.Errorf("target shape %v copies axis %d the input %v lacks", target, i+1, x.shape)
			}
			shape[i] = x.shape[i]
		case d == -1:
			if infer >= 0 {
				return fmt.Errorf("target shape %v has two -1 axes", target)
			}
			infer = i
			continue
		case d < 1 || d > math.MaxInt32:
			return fmt.Errorf("target shape %v has an invalid axis %d", target, d)
		default:
			shape[i] = int(d)
		}
		known *= shape[i]
	}
	if infer >= 0 {
		if known == 0 || x.size%known != 0 {
			return fmt.Errorf("target shape %v does not fit %d elements per sample", target, x.size)
		}
		shape[infer] = x.size / known
	}
	return c.addCopy(n, x, shape)
}

func buildSqueeze(unsqueeze bool) builder {
	return func(c *compiler, n *ir.Node) error {
		x, _, err := c.read(n, 0)
		if err != nil {
			return err
		}
		var axes []int64
		if v := n.Input(1); v != nil {
			if !v.IsConst() {
				return fmt.Errorf("axes must be a constant")
			}
			t, err := v.Tensor()
			if err != nil {
				return err
			}
			if axes, err = t.Int64s(); err != nil {
				return err
			}
		} else if axes, err = n.AttrInts("axes", nil); err != nil {
			return err
		}
		full := len(x.shape) + 1
		if unsqueeze {
			full += len(axes)
		}
		drop := map[int]bool{}
		for _, a := range axes {
			if a < 0 {
				a += int64(full)
			}
			if a <= 0 || a >= int64(full) {
				return fmt.Errorf("axis %d: the batch axis 0 cannot be (un)squeezed", a)
			}
			if drop[int(a)-1] {
				return fmt.Errorf("axes %v repeat axis %d", axes, a)
			}
			drop[int(a)-1] = true
		}
		var shape []int
		if unsqueeze {
			j := 0
			for i := 0; i < full-1; i++ {
				if drop[i] {
					shape = append(shape, 1)
				} else {
					shape = append(shape, x.shape[j])
					j++
				}
			}
		} else {
			for i, d := range x.shape {
				if len(axes) == 0 && d == 1 || drop[i] {
					if d != 1 {
						return fmt.Errorf("axis %d has size %d, not 1", i+1, d)
					}
					continue
				}
				shape = append(shape, d)
			}
		}
		return c.addCopy(n, x, shape)
	}
}
