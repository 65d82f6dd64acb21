package accuracy

import (
	"fmt"
	"regexp"
	"slices"

	"github.com/onnx-prom/onnx-prom/onnx/ir"
	"github.com/onnx-prom/onnx-prom/onnx/onnxpb"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
	"github.com/onnx-prom/onnx-prom/verify/interp"
	"google.golang.org/protobuf/proto"
)

const (
	ternaryDomain = "dev.onnxprom"
	msDomain      = "com.microsoft"
)

// qparams dequantize an 8-bit tensor: real = (q - zp) · scale.
type qparams struct {
	scale float64
	zp    int64
	dt    tensor.DataType
}

// pair links a candidate value with its reference counterpart.
type pair struct {
	cand  string   // candidate value
	ref   string   // reference value
	node  *ir.Node // candidate producer
	q     *qparams // nil for a float candidate value
	list  bool     // reported in the per-layer table
	dup   bool     // a DequantizeLinear of another pair's value
	seg   *segment
	index int // position among listed pairs
}

// segment is the part of the candidate graph that computes a paired value
// from other paired values, graph inputs and constants, compiled as its
// own program so that it can run on the reference's inputs.
type segment struct {
	prog   *interp.Program
	inputs []segInput
	nodes  int
	main   *ir.Node // the node that names the layer
}

// segInput feeds a segment: from a pair's reference tensor (quantized with
// the pair's parameters when the candidate value is 8-bit), or from the
// candidate's graph input.
type segInput struct {
	name  string
	p     *pair
	input string // candidate graph input name when p is nil
}

var suffix = regexp.MustCompile(`(#[A-Za-z0-9]*)?(_[0-9]+)?$`)

// stripSuffix removes what renaming may have added to a node name: a
// "_<digits>" suffix and a "#tag" before it.
func stripSuffix(s string) string { return suffix.ReplaceAllString(s, "") }

func isStd(n *ir.Node) bool { return n.Domain == "" || n.Domain == "ai.onnx" }

func is8bit(dt tensor.DataType) bool { return dt == tensor.Int8 || dt == tensor.Uint8 }

func isFloat(dt tensor.DataType) bool {
	return dt == tensor.Float || dt == tensor.Double || dt == tensor.Float16 || dt == tensor.BFloat16T
}

// operandParams returns the inputs holding the scale and zero point of
// operand idx of a quantized op.
func operandParams(n *ir.Node, idx int) (int, int, bool) {
	switch {
	case isStd(n) && (n.OpType == "QLinearConv" || n.OpType == "DequantizeLinear"),
		n.Domain == ternaryDomain && n.OpType == "TernaryConv",
		n.Domain == msDomain && (n.OpType == "QLinearGlobalAveragePool" || n.OpType == "QLinearAveragePool" ||
			n.OpType == "QGemm" || n.OpType == "QLinearSigmoid" || n.OpType == "QLinearLeakyRelu"):
		if idx == 0 {
			return 1, 2, true
		}
	case isStd(n) && n.OpType == "QLinearMatMul", n.Domain == msDomain && (n.OpType == "QLinearAdd" || n.OpType == "QLinearMul"):
		switch idx {
		case 0:
			return 1, 2, true
		case 3:
			return 4, 5, true
		}
	case n.Domain == msDomain && n.OpType == "QLinearConcat":
		if idx >= 2 && (idx-2)%3 == 0 {
			return idx + 1, idx + 2, true
		}
	}
	return 0, 0, false
}

// producerParams returns the inputs holding the output scale and zero
// point of a quantized op.
func producerParams(n *ir.Node) (int, int, bool) {
	switch {
	case isStd(n) && n.OpType == "QuantizeLinear":
		return 1, 2, true
	case isStd(n) && (n.OpType == "QLinearConv" || n.OpType == "QLinearMatMul"),
		n.Domain == msDomain && (n.OpType == "QLinearAdd" || n.OpType == "QLinearMul"):
		return 6, 7, true
	case n.Domain == ternaryDomain && n.OpType == "TernaryConv":
		return 5, 6, true
	case n.Domain == msDomain && (n.OpType == "QLinearGlobalAveragePool" || n.OpType == "QLinearAveragePool" ||
		n.OpType == "QLinearSigmoid" || n.OpType == "QLinearLeakyRelu"):
		return 3, 4, true
	case n.Domain == msDomain && n.OpType == "QGemm":
		return 7, 8, true
	case n.Domain == msDomain && n.OpType == "QLinearConcat":
		return 0, 1, true
	}
	return 0, 0, false
}

// transparent ops pass 8-bit values through with their parameters.
var transparent = map[string]bool{
	"MaxPool": true, "Flatten": true, "Reshape": true, "Squeeze": true, "Unsqueeze": true, "Transpose": true,
	"Identity": true, "Relu": true, "Clip": true, "Slice": true, "GlobalMaxPool": true,
}

// readParams reads a constant per-tensor scale and zero point.
func readParams(n *ir.Node, si, zi int, dt tensor.DataType) (*qparams, bool) {
	sv := n.Input(si)
	if sv == nil || !sv.IsConst() {
		return nil, false
	}
	st, err := sv.Tensor()
	if err != nil || st.Len() != 1 {
		return nil, false
	}
	sf, err := st.Float64s()
	if err != nil || !(sf[0] > 0) {
		return nil, false
	}
	q := &qparams{scale: sf[0], dt: dt}
	if zv := n.Input(zi); zv != nil {
		if !zv.IsConst() {
			return nil, false
		}
		zt, err := zv.Tensor()
		if err != nil || zt.Len() != 1 {
			return nil, false
		}
		z, err := zt.Int64s()
		if err != nil {
			return nil, false
		}
		q.zp = z[0]
	}
	return q, true
}

// consumerParams returns the parameters every reader of v applies to it,
// looking through transparent ops; false when there are none or readers
// disagree.
func consumerParams(v *ir.Value, dt tensor.DataType, depth int) (*qparams, bool) {
	if depth > 16 {
		return nil, false
	}
	var found *qparams
	for _, u := range v.Uses() {
		var q *qparams
		if si, zi, ok := operandParams(u.Node, u.Index); ok {
			if q, ok = readParams(u.Node, si, zi, dt); !ok {
				return nil, false
			}
		} else if isStd(u.Node) && transparent[u.Node.OpType] && u.Index == 0 && u.Node.Output(0) != nil {
			var ok bool
			if q, ok = consumerParams(u.Node.Output(0), dt, depth+1); !ok {
				continue
			}
		} else {
			continue
		}
		if found != nil && *found != *q {
			return nil, false
		}
		found = q
	}
	return found, found != nil
}

// producerQParams returns the parameters the producer of v quantized it
// with, looking through transparent ops.
func producerQParams(v *ir.Value, dt tensor.DataType) (*qparams, bool) {
	for range 64 {
		p := v.Producer
		if p == nil {
			return nil, false
		}
		if si, zi, ok := producerParams(p); ok {
			return readParams(p, si, zi, dt)
		}
		if !isStd(p) || !transparent[p.OpType] || p.Input(0) == nil {
			return nil, false
		}
		v = p.Input(0)
	}
	return nil, false
}

// valueParams decides how to read an 8-bit value: as its readers read it
// when they agree (so that a producer whose output scale disagrees with its
// readers shows up as that producer's error), else as its producer wrote it.
func valueParams(v *ir.Value, dt tensor.DataType) (*qparams, bool) {
	if q, ok := consumerParams(v, dt, 0); ok {
		return q, true
	}
	return producerQParams(v, dt)
}

// foldable ops of the reference may have been folded into the op before
// them by the converter (batch normalization into weights, activations
// into the output range).
var foldable = map[string]bool{"BatchNormalization": true, "Relu": true, "Clip": true, "Identity": true}

// matcher pairs candidate values with reference values.
type matcher struct {
	ref, cand        *ir.Graph
	rtype, ctype     map[string]tensor.DataType
	refNodes         map[string]*ir.Node
	candNames        map[string]bool
	pairs            []*pair
	byCand           map[string]*pair
	candInputs       map[string]bool
	candProto        *onnxpb.ModelProto
	threads          int
	maxSegmentNodes  int
	segmentFailures  []string
	skippedNoParams  []string
	duplicatePairs   int
	unpairedQuantize int
}

// refNodeFor returns the reference node a candidate node replaces: the
// one with its name, else, for a quantized op or an op of the same type,
// the one with its name less a renaming suffix.
func (m *matcher) refNodeFor(n *ir.Node) *ir.Node {
	if r := m.refNodes[n.Name]; r != nil {
		return r
	}
	if s := stripSuffix(n.Name); s != n.Name {
		if r := m.refNodes[s]; r != nil && (r.OpType == n.OpType || quantizedOps[n.OpType]) {
			return r
		}
	}
	return nil
}

// refTarget follows the reference output through ops that the candidate
// folded away: batch normalizations (folded into weights) and, for 8-bit
// candidate values (whose saturation implements them), activations.
func (m *matcher) refTarget(v *ir.Value, activations bool) *ir.Value {
	for range 8 {
		if v.IsGraphOutput() || v.NumUses() != 1 {
			return v
		}
		u := v.Uses()[0].Node
		if !isStd(u) || !foldable[u.OpType] || m.candNames[u.Name] || u.Output(0) == nil {
			return v
		}
		if !activations && u.OpType != "BatchNormalization" {
			return v
		}
		v = u.Output(0)
	}
	return v
}

// internal reports whether a float value only feeds QuantizeLinear nodes:
// in QDQ form, the float result of an op that an integer kernel computes
// together with the quantization after it.
func internal(v *ir.Value) bool {
	if v.IsGraphOutput() || v.NumUses() == 0 {
		return false
	}
	for _, u := range v.Uses() {
		if !isStd(u.Node) || u.Node.OpType != "QuantizeLinear" || u.Index != 0 {
			return false
		}
	}
	return true
}

// nodeTarget returns the reference value that output i of candidate node
// n stands for, or "".
func (m *matcher) nodeTarget(n *ir.Node, i int, activations bool) string {
	r := m.refNodeFor(n)
	if r == nil || i >= len(r.Outputs) || r.Outputs[i] == nil {
		return ""
	}
	if t := m.refTarget(r.Outputs[i], activations); isFloat(m.rtype[t.Name]) {
		return t.Name
	}
	return ""
}

func (m *matcher) match() {
	for _, n := range m.cand.Nodes() {
		m.candNames[n.Name] = true
		m.candNames[stripSuffix(n.Name)] = true
	}
	for _, n := range m.ref.Nodes() {
		if n.Name != "" {
			m.refNodes[n.Name] = n
		}
	}
	for _, n := range m.cand.Nodes() {
		for i, v := range n.Outputs {
			if v == nil {
				continue
			}
			ct := m.ctype[v.Name]
			if !isFloat(ct) && !is8bit(ct) {
				continue
			}
			if isFloat(ct) && internal(v) {
				continue
			}
			p := &pair{cand: v.Name, node: n, list: is8bit(ct)}
			var in *pair
			if x := n.Input(0); x != nil {
				in = m.byCand[x.Name]
			}
			switch {
			case isStd(n) && n.OpType == "DequantizeLinear" && in != nil:
				// The float twin of a paired 8-bit value.
				p.ref, p.dup = in.ref, true
			case isStd(n) && n.OpType == "QuantizeLinear":
				x := n.Input(0)
				if x == nil {
					continue
				}
				if x.Producer != nil {
					p.ref = m.nodeTarget(x.Producer, slices.Index(x.Producer.Outputs, x), true)
				}
				if p.ref == "" && in != nil {
					p.ref = in.ref
				}
				if p.ref == "" && isFloat(m.rtype[x.Name]) {
					p.ref = x.Name
				}
			default:
				p.ref = m.nodeTarget(n, i, is8bit(ct))
				if p.ref == "" && isFloat(m.rtype[v.Name]) {
					p.ref = v.Name
				}
			}
			if p.ref == "" {
				continue
			}
			if is8bit(ct) {
				q, ok := valueParams(v, ct)
				if !ok {
					m.skippedNoParams = append(m.skippedNoParams, v.Name)
					continue
				}
				p.q = q
			}
			if p.dup {
				m.duplicatePairs++
			}
			m.add(p)
		}
	}
}

func (m *matcher) add(p *pair) {
	m.pairs = append(m.pairs, p)
	m.byCand[p.cand] = p
}

// quantizedOps mark a segment as part of the quantized computation.
var quantizedOps = map[string]bool{
	"QuantizeLinear": true, "DequantizeLinear": true, "DynamicQuantizeLinear": true, "MatMulInteger": true,
	"ConvInteger": true, "QLinearConv": true, "QLinearMatMul": true, "TernaryConv": true, "QLinearAdd": true,
	"QLinearMul": true, "QLinearGlobalAveragePool": true, "QLinearAveragePool": true, "QGemm": true, "QLinearConcat": true,
	"QLinearSigmoid": true, "QLinearLeakyRelu": true,
}

// buildSegments compiles, for every pair, the candidate nodes that compute
// it from other pairs; pairs whose segment is pure float arithmetic on
// paired inputs are not listed.
func (m *matcher) buildSegments() {
	for _, p := range m.pairs {
		if p.node == nil || p.dup {
			continue
		}
		v := m.cand.Value(p.cand)
		nodes, inputs, ok := m.collect(v)
		if !ok {
			continue
		}
		quantized := p.q != nil
		main := p.node
		if isStd(main) && main.OpType == "QuantizeLinear" {
			// Name a fused Q(op(DQ(x))) after its op.
			if x := main.Input(0).Producer; x != nil && slices.Contains(nodes, x) {
				main = x
			}
		}
		for _, n := range nodes {
			if quantizedOps[n.OpType] {
				quantized = true
			}
			if weightedOp(n) && !weightedOp(main) {
				main = n
			}
		}
		p.list = quantized
		if !p.list {
			continue
		}
		seg, err := m.compile(p, nodes, inputs)
		if err != nil {
			m.segmentFailures = append(m.segmentFailures, fmt.Sprintf("%s: %v", p.cand, err))
			continue
		}
		seg.main = main
		p.seg = seg
	}
}

func weightedOp(n *ir.Node) bool {
	switch n.OpType {
	case "Conv", "QLinearConv", "TernaryConv", "ConvInteger", "Gemm", "MatMul", "MatMulInteger", "QLinearMatMul", "QGemm":
		return true
	}
	return false
}

// collect walks back from v to paired values, graph inputs and constants,
// and returns the nodes in between in topological order and the inputs.
func (m *matcher) collect(v *ir.Value) ([]*ir.Node, []segInput, bool) {
	var nodes []*ir.Node
	var inputs []segInput
	seenNode := map[*ir.Node]bool{}
	seenIn := map[string]bool{}
	ok := true
	var walk func(x *ir.Value, root bool)
	walk = func(x *ir.Value, root bool) {
		if x == nil || !ok {
			return
		}
		if x.IsConst() {
			return
		}
		if !root {
			if p := m.byCand[x.Name]; p != nil && !p.dup {
				if !seenIn[x.Name] {
					seenIn[x.Name] = true
					inputs = append(inputs, segInput{name: x.Name, p: p})
				}
				return
			}
		}
		if m.candInputs[x.Name] {
			if !seenIn[x.Name] {
				seenIn[x.Name] = true
				inputs = append(inputs, segInput{name: x.Name, input: x.Name})
			}
			return
		}
		pn := x.Producer
		if pn == nil {
			ok = false
			return
		}
		if seenNode[pn] {
			return
		}
		seenNode[pn] = true
		if len(seenNode) > m.maxSegmentNodes || len(pn.Implicit) > 0 {
			ok = false
			return
		}
		for _, in := range pn.Inputs {
			walk(in, false)
		}
		nodes = append(nodes, pn)
	}
	walk(v, true)
	return nodes, inputs, ok
}

// compile builds a model of the segment's nodes and compiles it.
func (m *matcher) compile(p *pair, nodes []*ir.Node, inputs []segInput) (*segment, error) {
	g := &onnxpb.GraphProto{Name: proto.String("segment")}
	consts := map[string]bool{}
	for _, in := range inputs {
		g.Input = append(g.Input, &onnxpb.ValueInfoProto{Name: proto.String(in.name), Type: &onnxpb.TypeProto{
			Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(m.ctype[in.name]))}}}})
	}
	for _, n := range nodes {
		np := &onnxpb.NodeProto{Name: proto.String(n.Name), OpType: proto.String(n.OpType), Attribute: n.Attrs}
		if n.Domain != "" {
			np.Domain = proto.String(n.Domain)
		}
		for _, in := range n.Inputs {
			if in == nil {
				np.Input = append(np.Input, "")
				continue
			}
			np.Input = append(np.Input, in.Name)
			if in.IsConst() && !consts[in.Name] {
				consts[in.Name] = true
				g.Initializer = append(g.Initializer, in.Const)
			}
		}
		for _, out := range n.Outputs {
			if out == nil {
				np.Output = append(np.Output, "")
			} else {
				np.Output = append(np.Output, out.Name)
			}
		}
		g.Node = append(g.Node, np)
	}
	g.Output = []*onnxpb.ValueInfoProto{{Name: proto.String(p.cand)}}
	mp := &onnxpb.ModelProto{
		IrVersion:   m.candProto.IrVersion,
		OpsetImport: m.candProto.OpsetImport,
		Functions:   m.candProto.Functions,
		Graph:       g,
	}
	im, err := ir.FromProto(mp)
	if err != nil {
		return nil, err
	}
	prog, err := interp.Compile(im, interp.Options{Threads: m.threads})
	if err != nil {
		return nil, err
	}
	return &segment{prog: prog, inputs: inputs, nodes: len(nodes)}, nil
}
