package passes

import (
	"fmt"

	"github.com/onnx-prom/onnx-prom/onnx/ir"
	"github.com/onnx-prom/onnx-prom/onnx/onnxpb"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
	"github.com/onnx-prom/onnx-prom/verify/interp"
)

// Quantize rewrites the float graph into 8-bit form: selected pointwise
// convs become TernaryConv, other convs QLinearConv (QOperator) or
// Q/DQ-wrapped Conv (QDQ), Gemm and MatMul integer matrix products, and the
// layout ops in between run on int8 directly.
var Quantize = &Pass{
	Name:     "quantize",
	Doc:      "rewrite to int8 (QOperator or QDQ) with TernaryConv for the ternarized pointwise convs",
	Requires: []string{"calibrate"},
	Run:      runQuantize,
}

// quantizer holds the state of one rewrite.
type quantizer struct {
	s       *State
	g       *ir.Graph
	dt      tensor.DataType
	ranges  Ranges
	ternary map[*ir.Node]*TernaryWeights
	// weightScales are int8 weight grids read from the input (absorb-qdq).
	weightScales map[string][]float32
	plan         *QuantPlan              // what is rewritten, see PlanQuantization
	qp           map[*ir.Value]QParams   // parameters of float activations
	qv           map[*ir.Value]*ir.Value // float value -> its quantized twin
	consts       map[string]*ir.Value    // cache of scale / zero point initializers
	dq           map[*ir.Value]*ir.Value // 8-bit value -> its DequantizeLinear (QDQ)
	names        map[*ir.Node]string     // original names of rewritten nodes
	st           map[string]int
}

func runQuantize(s *State) (Result, error) {
	ranges, _ := Fact[Ranges](s, factRanges)
	ternary, _ := Fact[map[*ir.Node]*TernaryWeights](s, factTernary)
	weightScales, _ := Fact[map[string][]float32](s, factWeightScales)
	q := &quantizer{
		s: s, g: s.Model.Graph, dt: s.Config.Activations, ranges: ranges, ternary: ternary, weightScales: weightScales,
		plan: PlanQuantization(s.Model.Graph, s.Config, ranges), qp: map[*ir.Value]QParams{}, qv: map[*ir.Value]*ir.Value{},
		consts: map[string]*ir.Value{}, dq: map[*ir.Value]*ir.Value{}, names: map[*ir.Node]string{}, st: map[string]int{},
	}
	// A folded activation's output is quantized to its range narrowed to
	// the activation's bounds.
	for v, p := range q.plan.FoldedParams {
		q.qp[v] = p
	}
	if err := q.rewrite(); err != nil {
		return Result{}, err
	}
	q.st["dead nodes"] = q.g.RemoveDeadNodes()
	q.st["unused initializers"] = q.g.RemoveUnusedInitializers()
	changed := 0
	for k, v := range q.st {
		if k != "dead nodes" && k != "unused initializers" {
			changed += v
		}
	}
	return Result{Changed: changed, Stats: q.st}, nil
}

// params returns the quantization parameters of a float activation.
func (q *quantizer) params(v *ir.Value) (QParams, bool) {
	if p, ok := q.qp[v]; ok {
		return p, true
	}
	r, ok := q.ranges[v.Name]
	if !ok {
		return QParams{}, false
	}
	p := ActivationParams(r.Min, r.Max, q.dt)
	q.qp[v] = p
	return p, true
}

// scalarConst returns a cached scalar initializer.
func (q *quantizer) scalarConst(hint string, t *tensor.Tensor) *ir.Value {
	key := fmt.Sprintf("%s/%v/%v", tensor.Name(t.Type), t.Shape, t.Data)
	if v := q.consts[key]; v != nil {
		return v
	}
	v, err := q.g.AddConst(hint, t)
	if err != nil {
		panic(err) // scalars of supported types always encode
	}
	q.consts[key] = v
	return v
}

func (q *quantizer) scaleOf(hint string, p QParams) *ir.Value {
	return q.scalarConst(hint+"_scale", tensor.FromFloat32([]float32{p.Scale}))
}

func (q *quantizer) zeroOf(hint string, p QParams) *ir.Value {
	t := &tensor.Tensor{Type: p.Type, Shape: []int64{}}
	if p.Type == tensor.Uint8 {
		t.Data = []uint8{uint8(p.ZeroPoint)}
	} else {
		t.Data = []int8{int8(p.ZeroPoint)}
	}
	return q.scalarConst(hint+"_zero_point", t)
}

// quantized returns the 8-bit twin of float activation v, adding a
// QuantizeLinear before node at when none exists yet.
func (q *quantizer) quantized(v *ir.Value, at *ir.Node) (*ir.Value, QParams, error) {
	p, ok := q.params(v)
	if !ok {
		return nil, p, fmt.Errorf("value %q has no calibrated range", v.Name)
	}
	if qv := q.qv[v]; qv != nil {
		return qv, p, nil
	}
	n := q.g.NewNode("QuantizeLinear", "", v.Name+"_quantize", []*ir.Value{v, q.scaleOf(v.Name, p), q.zeroOf(v.Name, p)}, 1, at)
	out := n.Outputs[0]
	out.Type, out.Shape = p.Type, v.Shape
	q.qv[v] = out
	q.st["QuantizeLinear"]++
	return out, p, nil
}

// publish records qOut as the 8-bit twin of the float value out, whose
// producer is being replaced, and recomputes out with a DequantizeLinear
// when something still reads it in float.
func (q *quantizer) publish(out, qOut *ir.Value, p QParams, at *ir.Node) error {
	q.qv[out] = qOut
	q.qp[out] = p
	needFloat := out.IsGraphOutput()
	for _, u := range out.Uses() {
		if !q.readsQuantized(u) {
			needFloat = true
		}
	}
	if !needFloat {
		return nil
	}
	if p := out.Producer; p != nil { // the node being replaced gives it up
		for i, o := range p.Outputs {
			if o == out {
				p.Outputs[i] = nil
			}
		}
		out.Producer = nil
	}
	_, err := q.g.AddNode("DequantizeLinear", "", out.Name+"_dequantize",
		[]*ir.Value{qOut, q.scaleOf(out.Name, p), q.zeroOf(out.Name, p)}, []*ir.Value{out}, at)
	q.st["DequantizeLinear"]++
	return err
}

// readsQuantized reports whether the use will read the 8-bit twin of the
// value rather than the float value: in QOperator form every integer
// kernel does; in QDQ form only TernaryConv (the others read a
// DequantizeLinear).
func (q *quantizer) readsQuantized(u ir.Use) bool {
	if !q.plan.Rewritten[u.Node] || u.Index != 0 && !(u.Node.OpType == "Add" || u.Node.OpType == "Mul") {
		return false
	}
	return q.s.Config.Format == QOperator || q.ternary[u.Node] != nil
}

// detach takes the outputs away from n so that new nodes can produce them.
func detach(g *ir.Graph, n *ir.Node) {
	for _, v := range n.Outputs {
		if v != nil && v.Producer == n {
			v.Producer = nil
		}
	}
	for i := range n.Outputs {
		n.Outputs[i] = nil
	}
	g.RemoveNode(n)
}

func (q *quantizer) rewrite() error {
	for _, n := range q.g.Nodes() {
		if !q.plan.Rewritten[n] {
			continue
		}
		// The integer node takes the float node's name (tools pair layers
		// by name), so the float node gives it up first.
		q.names[n] = n.Name
		if n.Name != "" {
			n.Name += "#float"
		}
		var err error
		switch {
		case n.OpType == "Conv":
			err = q.rewriteConv(n)
		case n.OpType == "Gemm" || n.OpType == "MatMul":
			err = q.rewriteMatMul(n)
		case transparentOps[n.OpType]:
			err = q.rewriteTransparent(n)
		case n.OpType == "Add" || n.OpType == "Mul":
			err = q.rewriteBinary(n)
		case n.OpType == "GlobalAveragePool":
			err = q.rewritePool(n)
		}
		if err != nil {
			n.Name = q.names[n]
			return fmt.Errorf("node %s: %w", n.Label(), err)
		}
	}
	return nil
}

// nameOf is a node's name before the rewrite renamed it.
func (q *quantizer) nameOf(n *ir.Node) string {
	if name, ok := q.names[n]; ok {
		return name
	}
	return n.Name
}

func (q *quantizer) rewriteConv(n *ir.Node) error {
	x, wv, out := n.Input(0), n.Input(1), n.Output(0)
	if act := q.plan.Folded[n]; act != nil {
		out = act.Output(0)
	}
	xq, xp, err := q.quantized(x, n)
	if err != nil {
		return err
	}
	yp := q.qp[out]
	if _, ok := q.qp[out]; !ok {
		if yp, ok = q.params(out); !ok {
			return fmt.Errorf("output %q has no calibrated range", out.Name)
		}
	}
	w, wshape, err := floatConst(wv)
	if err != nil {
		return err
	}
	m := int(wshape[0])
	var bias []float32
	if bv := n.Input(2); bv != nil {
		if bias, _, err = floatConst(bv); err != nil {
			return err
		}
		if len(bias) != m {
			return fmt.Errorf("bias has %d values for %d output channels", len(bias), m)
		}
	}
	pads, err := explicitPads(n, x.Shape, wshape)
	if err != nil {
		return err
	}
	var attrs []*onnxpb.AttributeProto
	for _, name := range []string{"group", "strides", "dilations"} {
		if a := n.Attr(name); a != nil {
			attrs = append(attrs, a)
		}
	}
	attrs = append(attrs, ir.IntsAttr("pads", pads...))
	var qn *ir.Node
	if tw := q.ternary[n]; tw != nil {
		codes := &tensor.Tensor{Type: tensor.Int2, Shape: wshape, Data: tw.Codes}
		wq, err := q.g.AddConst(wv.Name+"_ternary", codes)
		if err != nil {
			return err
		}
		ws, _ := q.g.AddConst(wv.Name+"_ternary_scale", tensor.FromFloat32(tw.Scale, int64(m)))
		b := quantizeBias(bias, xp.Scale, tw.Scale)
		bq, _ := q.g.AddConst(q.nameOf(n)+"_bias_int32", &tensor.Tensor{Type: tensor.Int32, Shape: []int64{int64(m)}, Data: b})
		qn = q.g.NewNode("TernaryConv", interp.TernaryDomain, q.nameOf(n),
			[]*ir.Value{xq, q.scaleOf(x.Name, xp), q.zeroOf(x.Name, xp), wq, ws, q.scaleOf(out.Name, yp), q.zeroOf(out.Name, yp), bq}, 1, n)
		q.st["TernaryConv"]++
	} else {
		codes, scales := symmetricWeights(w, m, q.s.Config.weightQMax())
		if grid := q.weightScales[wv.Name]; len(grid) == m {
			// The input said which grid the weights are on (a QAT export):
			// keep its scales when the weights sit on it exactly.
			if c, ok := gridCodes(w, grid, q.s.Config.weightQMax()); ok {
				codes, scales = c, grid
				q.st["weight grids kept"]++
			}
		}
		wq, err := q.g.AddConst(wv.Name+"_quantized", &tensor.Tensor{Type: tensor.Int8, Shape: wshape, Data: codes})
		if err != nil {
			return err
		}
		ws, _ := q.g.AddConst(wv.Name+"_scale", tensor.FromFloat32(scales, int64(m)))
		wz, _ := q.g.AddConst(wv.Name+"_zero_point", &tensor.Tensor{Type: tensor.Int8, Shape: []int64{int64(m)}, Data: make([]int8, m)})
		b := quantizeBias(bias, xp.Scale, scales)
		bq, _ := q.g.AddConst(q.nameOf(n)+"_bias_int32", &tensor.Tensor{Type: tensor.Int32, Shape: []int64{int64(m)}, Data: b})
		if q.s.Config.Format == QDQ {
			qn, err = q.qdqConv(n, x, xq, xp, wq, ws, wz, bq, out, yp)
			if err != nil {
				return err
			}
		} else {
			qn = q.g.NewNode("QLinearConv", "", q.nameOf(n),
				[]*ir.Value{xq, q.scaleOf(x.Name, xp), q.zeroOf(x.Name, xp), wq, ws, wz, q.scaleOf(out.Name, yp), q.zeroOf(out.Name, yp), bq}, 1, n)
			q.st["QLinearConv"]++
		}
	}
	if qn.OpType == "QuantizeLinear" { // QDQ: the attributes go on the Conv
		qn.Input(0).Producer.Attrs = attrs
	} else {
		qn.Attrs = attrs
	}
	qn.Outputs[0].Type, qn.Outputs[0].Shape = yp.Type, out.Shape
	last := n
	if act := q.plan.Folded[n]; act != nil {
		detach(q.g, n)
		last = act
		q.st["activations folded"]++
	}
	if err := q.publish(out, qn.Outputs[0], yp, last); err != nil {
		return err
	}
	detach(q.g, last)
	return nil
}

// explicitPads returns a conv's pads with auto_pad resolved against the
// input's spatial size.
func explicitPads(n *ir.Node, x ir.Shape, w []int64) ([]int64, error) {
	sp := len(w) - 2
	autoPad, err := n.AttrString("auto_pad", "NOTSET")
	if err != nil {
		return nil, err
	}
	pads, err := n.AttrInts("pads", make([]int64, 2*sp))
	if err != nil {
		return nil, err
	}
	if len(pads) != 2*sp {
		return nil, fmt.Errorf("pads has %d values, want %d", len(pads), 2*sp)
	}
	switch autoPad {
	case "NOTSET", "":
		return pads, nil
	case "VALID":
		return make([]int64, 2*sp), nil
	case "SAME_UPPER", "SAME_LOWER":
	default:
		return nil, fmt.Errorf("unknown auto_pad %q", autoPad)
	}
	strides, err := n.AttrInts("strides", nil)
	if err != nil {
		return nil, err
	}
	dil, err := n.AttrInts("dilations", nil)
	if err != nil {
		return nil, err
	}
	out := make([]int64, 2*sp)
	for i := 0; i < sp; i++ {
		if len(x) != sp+2 || !x[2+i].Known() {
			return nil, fmt.Errorf("auto_pad %s needs the input's spatial size, which is unknown", autoPad)
		}
		in, s, d := x[2+i].Value, int64(1), int64(1)
		if strides != nil {
			s = strides[i]
		}
		if dil != nil {
			d = dil[i]
		}
		total := max(0, ((in+s-1)/s-1)*s+(w[2+i]-1)*d+1-in)
		if autoPad == "SAME_UPPER" {
			out[i], out[sp+i] = total/2, total-total/2
		} else {
			out[i], out[sp+i] = total-total/2, total/2
		}
	}
	return out, nil
}

// rewriteMatMul computes Gemm or MatMul with a constant right operand as
// MatMulInteger on int8 operands, adds the int32 bias and scales back to
// float: y = float(A_q·B_q + bias_q) · (a_scale · b_scale[column]).
func (q *quantizer) rewriteMatMul(n *ir.Node) error {
	a, bv, out := n.Input(0), n.Input(1), n.Output(0)
	aq, ap, err := q.quantized(a, n)
	if err != nil {
		return err
	}
	b, bshape, err := floatConst(bv)
	if err != nil {
		return err
	}
	k, cols := int(bshape[0]), int(bshape[1])
	transB := int64(0)
	if n.OpType == "Gemm" {
		if transB, err = n.AttrInt("transB", 0); err != nil {
			return err
		}
	}
	// Arrange B as [cols, K] rows to quantize per output column.
	rows := make([]float32, len(b))
	if transB == 1 {
		k, cols = cols, k
		copy(rows, b)
	} else {
		for i := 0; i < k; i++ {
			for j := 0; j < cols; j++ {
				rows[j*k+i] = b[i*cols+j]
			}
		}
	}
	codes, scales := symmetricWeights(rows, cols, q.s.Config.weightQMax())
	if q.s.Config.Format == QDQ {
		return q.qdqMatMul(n, a, aq, ap, codes, scales, k, cols, transB == 1)
	}
	kc := make([]int8, len(codes)) // [K, cols] for MatMulInteger
	for j := 0; j < cols; j++ {
		for i := 0; i < k; i++ {
			kc[i*cols+j] = codes[j*k+i]
		}
	}
	bq, err := q.g.AddConst(bv.Name+"_quantized", &tensor.Tensor{Type: tensor.Int8, Shape: []int64{int64(k), int64(cols)}, Data: kc})
	if err != nil {
		return err
	}
	mm := q.g.NewNode("MatMulInteger", "", q.nameOf(n), []*ir.Value{aq, bq, q.zeroOf(a.Name, ap)}, 1, n)
	acc := mm.Outputs[0]
	acc.Type = tensor.Int32
	if n.OpType == "Gemm" && n.Input(2) != nil {
		bias, bs, err := floatConst(n.Input(2))
		if err != nil {
			return err
		}
		full := make([]float32, cols)
		switch {
		case len(bias) == cols:
			copy(full, bias)
		case len(bias) == 1:
			for i := range full {
				full[i] = bias[0]
			}
		default:
			return fmt.Errorf("bias of shape %v does not broadcast to %d columns", bs, cols)
		}
		bi, _ := q.g.AddConst(q.nameOf(n)+"_bias_int32", &tensor.Tensor{Type: tensor.Int32, Shape: []int64{int64(cols)},
			Data: quantizeBias(full, ap.Scale, scales)})
		add := q.g.NewNode("Add", "", q.nameOf(n)+"_bias", []*ir.Value{acc, bi}, 1, n)
		acc = add.Outputs[0]
		acc.Type = tensor.Int32
	}
	cast := q.g.NewNode("Cast", "", q.nameOf(n)+"_to_float", []*ir.Value{acc}, 1, n)
	cast.Attrs = append(cast.Attrs, ir.IntAttr("to", int64(tensor.Float)))
	cast.Outputs[0].Type = tensor.Float
	deq := make([]float32, cols)
	for j := range deq {
		deq[j] = float32(float64(ap.Scale) * float64(scales[j]))
	}
	dv, _ := q.g.AddConst(q.nameOf(n)+"_output_scale", tensor.FromFloat32(deq, int64(cols)))
	detach(q.g, n)
	_, err = q.g.AddNode("Mul", "", q.nameOf(n)+"_rescale", []*ir.Value{cast.Outputs[0], dv}, []*ir.Value{out}, nil)
	q.st["MatMulInteger"]++
	return err
}

// rewriteTransparent runs a layout op (Reshape, MaxPool, ...) on the
// 8-bit twin of its input.
func (q *quantizer) rewriteTransparent(n *ir.Node) error {
	x, out := n.Input(0), n.Output(0)
	xq, xp, err := q.quantized(x, n)
	if err != nil {
		return err
	}
	ins := append([]*ir.Value{xq}, n.Inputs[1:]...)
	nn := q.g.NewNode(n.OpType, "", q.nameOf(n), ins, 1, n)
	nn.Attrs = n.Attrs
	nn.Outputs[0].Type, nn.Outputs[0].Shape = xp.Type, out.Shape
	if len(n.Outputs) > 1 && anyUsed(n.Outputs[1:]) {
		return fmt.Errorf("second output is read; cannot run on int8")
	}
	if err := q.publish(out, nn.Outputs[0], xp, n); err != nil {
		return err
	}
	detach(q.g, n)
	q.st[n.OpType+" on int8"]++
	return nil
}

// rewriteBinary uses com.microsoft QLinearAdd / QLinearMul.
func (q *quantizer) rewriteBinary(n *ir.Node) error {
	a, b, out := n.Input(0), n.Input(1), n.Output(0)
	aq, ap, err := q.quantized(a, n)
	if err != nil {
		return err
	}
	bq, bp, err := q.quantized(b, n)
	if err != nil {
		return err
	}
	yp, _ := q.params(out)
	nn := q.g.NewNode("QLinear"+n.OpType, "com.microsoft", q.nameOf(n), []*ir.Value{aq, q.scaleOf(a.Name, ap), q.zeroOf(a.Name, ap),
		bq, q.scaleOf(b.Name, bp), q.zeroOf(b.Name, bp), q.scaleOf(out.Name, yp), q.zeroOf(out.Name, yp)}, 1, n)
	nn.Outputs[0].Type, nn.Outputs[0].Shape = yp.Type, out.Shape
	if err := q.publish(out, nn.Outputs[0], yp, n); err != nil {
		return err
	}
	detach(q.g, n)
	q.st["QLinear"+n.OpType]++
	return nil
}

// rewritePool uses com.microsoft QLinearGlobalAveragePool.
func (q *quantizer) rewritePool(n *ir.Node) error {
	x, out := n.Input(0), n.Output(0)
	xq, xp, err := q.quantized(x, n)
	if err != nil {
		return err
	}
	yp, _ := q.params(out)
	nn := q.g.NewNode("QLinearGlobalAveragePool", "com.microsoft", q.nameOf(n), []*ir.Value{xq, q.scaleOf(x.Name, xp), q.zeroOf(x.Name, xp),
		q.scaleOf(out.Name, yp), q.zeroOf(out.Name, yp)}, 1, n)
	nn.Attrs = append(nn.Attrs, ir.IntAttr("channels_last", 0))
	nn.Outputs[0].Type, nn.Outputs[0].Shape = yp.Type, out.Shape
	if err := q.publish(out, nn.Outputs[0], yp, n); err != nil {
		return err
	}
	detach(q.g, n)
	q.st["QLinearGlobalAveragePool"]++
	return nil
}

// dequantized returns a float value computed by DequantizeLinear from the
// 8-bit twin xq of x: x itself when a DequantizeLinear of xq already
// produces it.
func (q *quantizer) dequantized(x, xq *ir.Value, p QParams, at *ir.Node) *ir.Value {
	if d := x.Producer; d != nil && d.OpType == "DequantizeLinear" && d.Input(0) == xq {
		return x
	}
	if v := q.dq[xq]; v != nil {
		return v
	}
	n := q.g.NewNode("DequantizeLinear", "", x.Name+"_dequantize", []*ir.Value{xq, q.scaleOf(x.Name, p), q.zeroOf(x.Name, p)}, 1, at)
	n.Outputs[0].Type, n.Outputs[0].Shape = tensor.Float, x.Shape
	q.dq[xq] = n.Outputs[0]
	q.st["DequantizeLinear"]++
	return n.Outputs[0]
}

// dequantizeConst adds DequantizeLinear(c, scale[, zero point]) along axis
// for a quantized constant.
func (q *quantizer) dequantizeConst(c, scale, zero *ir.Value, axis int64, at *ir.Node) *ir.Value {
	n := q.g.NewNode("DequantizeLinear", "", c.Name+"_dequantize", []*ir.Value{c, scale, zero}, 1, at)
	n.Attrs = append(n.Attrs, ir.IntAttr("axis", axis))
	n.Outputs[0].Type, n.Outputs[0].Shape = tensor.Float, c.Shape
	return n.Outputs[0]
}

// qdqConv writes a conv in QDQ form: DequantizeLinear of the 8-bit input,
// weights and bias, the float Conv, and QuantizeLinear of its output. It
// returns the QuantizeLinear node.
func (q *quantizer) qdqConv(n *ir.Node, x, xq *ir.Value, xp QParams, wq, ws, wz, bq, out *ir.Value, yp QParams) (*ir.Node, error) {
	xf := q.dequantized(x, xq, xp, n)
	wf := q.dequantizeConst(wq, ws, wz, 0, n)
	bs := make([]float32, ws.Shape[0].Value)
	wsv, _, err := floatConst(ws)
	if err != nil {
		return nil, err
	}
	for i := range bs {
		bs[i] = float32(float64(xp.Scale) * float64(wsv[i]))
	}
	bsv, err := q.g.AddConst(q.nameOf(n)+"_bias_scale", tensor.FromFloat32(bs, int64(len(bs))))
	if err != nil {
		return nil, err
	}
	bf := q.dequantizeConst(bq, bsv, nil, 0, n)
	conv := q.g.NewNode("Conv", "", q.nameOf(n), []*ir.Value{xf, wf, bf}, 1, n)
	conv.Outputs[0].Type, conv.Outputs[0].Shape = tensor.Float, out.Shape
	qn := q.g.NewNode("QuantizeLinear", "", out.Name+"_quantize", []*ir.Value{conv.Outputs[0], q.scaleOf(out.Name, yp), q.zeroOf(out.Name, yp)}, 1, n)
	q.st["Conv in QDQ"]++
	return qn, nil
}

// qdqMatMul writes Gemm or MatMul in QDQ form: DequantizeLinear of the
// 8-bit input, of the int8 weights (per output column) and of the int32
// bias, then the float op. codes are laid out [cols, K].
func (q *quantizer) qdqMatMul(n *ir.Node, a, aq *ir.Value, ap QParams, codes []int8, scales []float32, k, cols int, transB bool) error {
	out := n.Output(0)
	af := q.dequantized(a, aq, ap, n)
	shape := []int64{int64(k), int64(cols)}
	axis := int64(1)
	w := make([]int8, len(codes))
	if transB {
		shape, axis = []int64{int64(cols), int64(k)}, 0
		copy(w, codes)
	} else {
		for j := 0; j < cols; j++ {
			for i := 0; i < k; i++ {
				w[i*cols+j] = codes[j*k+i]
			}
		}
	}
	bv := n.Input(1)
	wq, err := q.g.AddConst(bv.Name+"_quantized", &tensor.Tensor{Type: tensor.Int8, Shape: shape, Data: w})
	if err != nil {
		return err
	}
	ws, _ := q.g.AddConst(bv.Name+"_scale", tensor.FromFloat32(scales, int64(cols)))
	wz, _ := q.g.AddConst(bv.Name+"_zero_point", &tensor.Tensor{Type: tensor.Int8, Shape: []int64{int64(cols)}, Data: make([]int8, cols)})
	ins := []*ir.Value{af, q.dequantizeConst(wq, ws, wz, axis, n)}
	if n.OpType == "Gemm" && n.Input(2) != nil {
		bias, _, err := floatConst(n.Input(2))
		if err != nil {
			return err
		}
		full := make([]float32, cols)
		for i := range full {
			full[i] = bias[i%len(bias)]
		}
		bs := make([]float32, cols)
		for i := range bs {
			bs[i] = float32(float64(ap.Scale) * float64(scales[i]))
		}
		bi, _ := q.g.AddConst(q.nameOf(n)+"_bias_int32", &tensor.Tensor{Type: tensor.Int32, Shape: []int64{int64(cols)}, Data: quantizeBias(full, ap.Scale, scales)})
		bsv, _ := q.g.AddConst(q.nameOf(n)+"_bias_scale", tensor.FromFloat32(bs, int64(cols)))
		ins = append(ins, q.dequantizeConst(bi, bsv, nil, 0, n))
	}
	attrs := n.Attrs
	detach(q.g, n)
	nn, err := q.g.AddNode(n.OpType, "", q.nameOf(n), ins, []*ir.Value{out}, nil)
	if err != nil {
		return err
	}
	nn.Attrs = attrs
	q.st[n.OpType+" in QDQ"]++
	return nil
}
