package cost

import (
	"errors"
	"fmt"
	"slices"
	"sort"

	"github.com/onnx-prom/onnx-prom/onnx/ir"
	"github.com/onnx-prom/onnx-prom/onnx/onnxpb"
	"github.com/onnx-prom/onnx-prom/onnx/shapes"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
)

// Domains of the non-standard operators the model prices.
const (
	ternaryDomain = "dev.onnxprom"
	msDomain      = "com.microsoft"
)

// Scope selects which operations the energy totals include.
type Scope string

const (
	// ScopeMACs prices the multiply-accumulates of the weighted layers
	// only, on both sides of every ratio: the convention of per-operation
	// energy estimates such as the PROM paper's.
	ScopeMACs Scope = "macs"
	// ScopeFull adds the per-output work: bias additions,
	// requantization, residual additions, pooling, normalization and
	// quantize/dequantize conversions (and, for the float baselines, their
	// float counterparts).
	ScopeFull Scope = "full"
)

// Accumulator says how the additions that accumulate products are priced.
type Accumulator string

const (
	// AccOperand prices an accumulation at the operands' width: a ternary
	// MAC is one int8 addition, an 8-bit MAC an int8 multiplication plus an
	// int8 addition (the convention behind the PROM paper's 23.9x).
	AccOperand Accumulator = "operand"
	// AccInt32 prices every accumulation as an int32 addition, the width
	// the accumulator register really has.
	AccInt32 Accumulator = "int32"
)

// Options control Analyze. The zero value is the default: the 45 nm table,
// MAC scope, operand-width accumulation, zero ternary weights charged, no
// memory energy.
type Options struct {
	// Table prices the operations; the zero Table means Horowitz45nm().
	Table Table
	// Scope selects the operations in the energy totals; "" means ScopeMACs.
	Scope Scope
	// Accumulator prices accumulations; "" means AccOperand.
	Accumulator Accumulator
	// SkipZeroWeights charges a ternary MAC only where the weight code is
	// not 0 (hardware that skips zero weights); by default every MAC of a
	// ternary layer is charged, as a dense array would execute it.
	SkipZeroWeights bool
	// Memory adds the energy of reading every weight byte once from SRAM
	// (Table.SRAMRead64 per 8 bytes), for the model and the baselines.
	Memory bool
}

func (o Options) withDefaults() (Options, error) {
	if o.Table == (Table{}) {
		o.Table = Horowitz45nm()
	}
	if err := o.Table.Validate(); err != nil {
		return o, err
	}
	switch o.Scope {
	case "":
		o.Scope = ScopeMACs
	case ScopeMACs, ScopeFull:
	default:
		return o, fmt.Errorf("unknown scope %q (macs or full)", o.Scope)
	}
	switch o.Accumulator {
	case "":
		o.Accumulator = AccOperand
	case AccOperand, AccInt32:
	default:
		return o, fmt.Errorf("unknown accumulator %q (operand or int32)", o.Accumulator)
	}
	return o, nil
}

// Layer is the cost of one node.
type Layer struct {
	Name   string `json:"name"`
	OpType string `json:"op_type"`
	Domain string `json:"domain,omitempty"`
	// Class is pointwise, depthwise, conv or fc for weighted layers, else
	// elementwise, normalization, pool or convert.
	Class string `json:"class"`
	// Arith is the number format of the MACs: ternary, int8, fp16 or fp32.
	Arith string `json:"arith,omitempty"`
	// MACs are the multiply-accumulates from the shapes (dense);
	// ChargedMACs those priced (the nonzero ones with SkipZeroWeights).
	MACs        int64 `json:"macs"`
	ChargedMACs int64 `json:"charged_macs"`
	// Outputs is the number of output elements.
	Outputs int64 `json:"outputs"`
	// MACOps are the operations of the MACs; OverheadOps the per-output
	// work (bias, requantization, elementwise arithmetic, conversions).
	MACOps      Ops `json:"mac_ops"`
	OverheadOps Ops `json:"overhead_ops"`
	// WeightType is the element type of the layer's weights.
	WeightType string `json:"weight_type,omitempty"`
	// WeightBytes is the storage of the constants the layer reads first
	// (weights, bias, scales, zero points).
	WeightBytes int64 `json:"weight_bytes"`
	// BaselineParams is weights plus one bias per output channel: the
	// parameters of the float layer with batch normalization folded.
	BaselineParams int64 `json:"baseline_params"`

	// Energies in picojoules: the MACs, the overhead, weight reads (with
	// Options.Memory), and the total in the report's scope.
	MACPJ      float64 `json:"mac_pj"`
	OverheadPJ float64 `json:"overhead_pj"`
	MemoryPJ   float64 `json:"memory_pj,omitempty"`
	EnergyPJ   float64 `json:"energy_pj"`
	// Float16PJ and Float32PJ are the same layer in float16 and float32,
	// in the report's scope (with memory when asked).
	Float16PJ float64 `json:"float16_pj"`
	Float32PJ float64 `json:"float32_pj"`

	baseMACs, baseAdds, baseMults int64
}

// Baseline is a float baseline of the whole model.
type Baseline struct {
	MACPJ      float64 `json:"mac_pj"`
	OverheadPJ float64 `json:"overhead_pj"`
	MemoryPJ   float64 `json:"memory_pj,omitempty"`
	EnergyPJ   float64 `json:"energy_pj"`
	Bytes      int64   `json:"weight_bytes"`
	// EnergyRatio is the baseline's energy over the model's, in the
	// report's scope; MACRatio and FullRatio the same in each scope (with
	// memory when asked); StorageRatio the baseline's weight bytes over
	// the model's.
	EnergyRatio  float64 `json:"energy_ratio"`
	MACRatio     float64 `json:"mac_ratio"`
	FullRatio    float64 `json:"full_ratio"`
	StorageRatio float64 `json:"storage_ratio"`
}

// StorageEntry is the constant storage of one element type.
type StorageEntry struct {
	Type     string `json:"type"`
	Bits     int    `json:"bits"`
	Elements int64  `json:"elements"`
	Bytes    int64  `json:"bytes"`
}

// Report is the cost of a model.
type Report struct {
	Table           Table       `json:"table_pj"`
	Scope           Scope       `json:"scope"`
	Accumulator     Accumulator `json:"accumulator"`
	SkipZeroWeights bool        `json:"skip_zero_weights"`
	Memory          bool        `json:"memory"`
	Assumptions     []string    `json:"assumptions"`

	Layers []Layer `json:"layers"`

	MACs        int64 `json:"macs"`
	ChargedMACs int64 `json:"charged_macs"`
	// TernaryMACs and Int8MACs split MACs by arithmetic.
	TernaryMACs int64   `json:"ternary_macs"`
	Int8MACs    int64   `json:"int8_macs"`
	FloatMACs   int64   `json:"float_macs"`
	MACOps      Ops     `json:"mac_ops"`
	OverheadOps Ops     `json:"overhead_ops"`
	MACPJ       float64 `json:"mac_pj"`
	OverheadPJ  float64 `json:"overhead_pj"`
	MemoryPJ    float64 `json:"memory_pj,omitempty"`
	EnergyPJ    float64 `json:"energy_pj"`

	// Storage lists the model's constants by element type; StorageBytes
	// is their sum.
	Storage      []StorageEntry `json:"storage"`
	StorageBytes int64          `json:"storage_bytes"`
	// BaselineParams is the parameter count of the float baselines.
	BaselineParams int64 `json:"baseline_params"`

	Float16 Baseline `json:"float16"`
	Float32 Baseline `json:"float32"`

	// Unpriced counts nodes by op type whose arithmetic the model does not
	// price (transcendental functions, ...); Free counts nodes that do no
	// arithmetic the table covers (comparisons, layout, casts, folded
	// conversions).
	Unpriced map[string]int `json:"unpriced,omitempty"`
	Free     map[string]int `json:"free,omitempty"`
	Warnings []string       `json:"warnings,omitempty"`
}

// Analyze counts the operations and weights of a model and prices them.
// Shapes come from shape inference with the batch dimension of every graph
// input set to 1. mp is not modified.
func Analyze(mp *onnxpb.ModelProto, o Options) (*Report, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	m, err := ir.FromProto(mp)
	if err != nil {
		return nil, err
	}
	g := m.Graph
	for _, in := range g.Inputs {
		if in.IsConst() || in.Const != nil || len(in.Shape) == 0 || in.Shape[0].Known() {
			continue
		}
		in.Shape = slices.Clone(in.Shape)
		in.Shape[0] = ir.D(1)
	}
	if err := inferShapes(g); err != nil {
		return nil, fmt.Errorf("shape inference: %w", err)
	}
	a := &analyzer{o: o, g: g, seen: map[*ir.Value]bool{}, fused: map[*ir.Node]bool{}, freeQ: map[*ir.Node]bool{},
		rep: &Report{Table: o.Table, Scope: o.Scope, Accumulator: o.Accumulator, SkipZeroWeights: o.SkipZeroWeights,
			Memory: o.Memory, Unpriced: map[string]int{}, Free: map[string]int{}}}
	a.markQDQ()
	for _, n := range g.Nodes() {
		if err := a.node(n); err != nil {
			return nil, fmt.Errorf("node %s: %w", n.Label(), err)
		}
	}
	if err := a.storage(); err != nil {
		return nil, err
	}
	a.totals()
	a.rep.Assumptions = Assumptions(o)
	if len(a.rep.Unpriced) == 0 {
		a.rep.Unpriced = nil
	}
	if len(a.rep.Free) == 0 {
		a.rep.Free = nil
	}
	return a.rep, nil
}

// inferShapes runs shape inference, computing the output shapes of
// TernaryConv nodes (which the inference does not know) in between, until
// nothing changes.
func inferShapes(g *ir.Graph) error {
	for range g.NumNodes() + 1 {
		if _, err := shapes.InferGraph(g); err != nil {
			return err
		}
		progress := false
		for _, n := range g.Nodes() {
			if n.Domain != ternaryDomain || n.OpType != "TernaryConv" {
				continue
			}
			y := n.Output(0)
			if y == nil || y.Shape.Known() {
				continue
			}
			x, w := n.Input(0), n.Input(3)
			if x == nil || w == nil {
				continue
			}
			s, err := convOutShape(n, x.Shape, w.Shape)
			if err != nil {
				return fmt.Errorf("node %s: %w", n.Label(), err)
			}
			if s == nil {
				continue
			}
			y.Shape = s
			if zp := n.Input(6); zp != nil && zp.Type != tensor.Undefined {
				y.Type = zp.Type
			}
			progress = true
		}
		if !progress {
			return nil
		}
	}
	return nil
}

// convOutShape computes a TernaryConv's output shape from explicit pads,
// strides and dilations; nil when the input or weight shape is unknown.
func convOutShape(n *ir.Node, x, w ir.Shape) (ir.Shape, error) {
	if x == nil || w == nil || len(x) < 3 || len(w) != len(x) || !w[0].Known() {
		return nil, nil
	}
	sp := len(x) - 2
	strides, err := n.AttrInts("strides", nil)
	if err != nil {
		return nil, err
	}
	pads, err := n.AttrInts("pads", nil)
	if err != nil {
		return nil, err
	}
	dil, err := n.AttrInts("dilations", nil)
	if err != nil {
		return nil, err
	}
	if (strides != nil && len(strides) != sp) || (pads != nil && len(pads) != 2*sp) || (dil != nil && len(dil) != sp) {
		return nil, errors.New("strides, pads or dilations do not match the spatial rank")
	}
	out := ir.Shape{x[0], w[0]}
	for i := range sp {
		d, k := x[2+i], w[2+i]
		if !d.Known() || !k.Known() {
			return nil, nil
		}
		s, dl, pb, pe := int64(1), int64(1), int64(0), int64(0)
		if strides != nil {
			s = strides[i]
		}
		if dil != nil {
			dl = dil[i]
		}
		if pads != nil {
			pb, pe = pads[i], pads[sp+i]
		}
		if s < 1 || dl < 1 || pb < 0 || pe < 0 {
			return nil, fmt.Errorf("invalid strides %v, dilations %v or pads %v", strides, dil, pads)
		}
		o := (d.Value+pb+pe-dl*(k.Value-1)-1)/s + 1
		if o < 1 {
			return nil, fmt.Errorf("kernel %v larger than the padded input %v", w, x)
		}
		out = append(out, ir.D(o))
	}
	return out, nil
}

type analyzer struct {
	o    Options
	g    *ir.Graph
	rep  *Report
	seen map[*ir.Value]bool // constants already attributed to a layer
	// fused marks float nodes between DequantizeLinear and
	// QuantizeLinear that an integer kernel executes (QDQ form); freeQ
	// marks the Q/DQ nodes that belong to such a kernel.
	fused map[*ir.Node]bool
	freeQ map[*ir.Node]bool
}

func (a *analyzer) warnf(format string, args ...any) {
	a.rep.Warnings = append(a.rep.Warnings, fmt.Sprintf(format, args...))
}

func isOp(n *ir.Node, domain, op string) bool {
	if n == nil || n.OpType != op {
		return false
	}
	if domain == "" {
		return n.Domain == "" || n.Domain == "ai.onnx"
	}
	return n.Domain == domain
}

// isConst reports whether v is a constant: an initializer or a Constant
// node's output.
func isConst(v *ir.Value) bool {
	return v != nil && (v.IsConst() || (v.Producer != nil && isOp(v.Producer, "", "Constant")))
}

// constTensor decodes a constant (nil, nil when v is not one).
func constTensor(v *ir.Value) (*tensor.Tensor, error) {
	switch {
	case v == nil:
		return nil, nil
	case v.IsConst():
		return v.Tensor()
	case v.Producer != nil && isOp(v.Producer, "", "Constant"):
		t, err := v.Producer.AttrTensor("value")
		if err != nil {
			return nil, err
		}
		return t, nil
	}
	return nil, nil
}

// activationDQ reports whether v is a DequantizeLinear of a non-constant
// 8-bit value: an activation in QDQ form.
func activationDQ(v *ir.Value) bool {
	if v == nil || !isOp(v.Producer, "", "DequantizeLinear") {
		return false
	}
	x := v.Producer.Input(0)
	return x != nil && !isConst(x)
}

// weightDQ returns the constant a DequantizeLinear producing v reads, or
// nil.
func weightDQ(v *ir.Value) *ir.Value {
	if v == nil || !isOp(v.Producer, "", "DequantizeLinear") {
		return nil
	}
	if x := v.Producer.Input(0); isConst(x) {
		return x
	}
	return nil
}

// markQDQ finds the float nodes of a QDQ graph that integer kernels run:
// every non-constant operand comes from a DequantizeLinear of an 8-bit
// activation. Their DequantizeLinear inputs and QuantizeLinear outputs
// are part of the kernel and cost nothing on their own.
func (a *analyzer) markQDQ() {
	dataInputs := func(n *ir.Node) []int {
		if n.Domain != "" && n.Domain != "ai.onnx" {
			return nil
		}
		switch n.OpType {
		case "Conv", "Gemm", "MatMul":
			return []int{0}
		case "Add", "Sub", "Mul":
			return []int{0, 1}
		case "GlobalAveragePool", "AveragePool", "MaxPool", "Reshape", "Flatten", "Relu", "Clip", "Transpose", "Squeeze", "Unsqueeze":
			return []int{0}
		}
		return nil
	}
	for _, n := range a.g.Nodes() {
		idx := dataInputs(n)
		if idx == nil {
			continue
		}
		ok := true
		for _, i := range idx {
			v := n.Input(i)
			if v == nil || (!activationDQ(v) && !(i > 0 && isConst(v))) {
				ok = false
			}
		}
		if (n.OpType == "Conv" || n.OpType == "Gemm" || n.OpType == "MatMul") && !isConst(n.Input(1)) && weightDQ(n.Input(1)) == nil {
			ok = false
		}
		if ok {
			a.fused[n] = true
		}
	}
	for _, n := range a.g.Nodes() {
		switch {
		case isOp(n, "", "DequantizeLinear") && !isConst(n.Input(0)):
			out := n.Output(0)
			if out == nil || out.IsGraphOutput() || out.NumUses() == 0 {
				continue
			}
			all := true
			for _, u := range out.Uses() {
				if !a.fused[u.Node] {
					all = false
				}
			}
			a.freeQ[n] = all
		case isOp(n, "", "QuantizeLinear"):
			if p := n.Input(0).Producer; p != nil && a.fused[p] {
				a.freeQ[n] = true
			}
		}
	}
}

// numel counts a shape's elements, unknown dimensions as 1.
func numel(s ir.Shape) int64 {
	n := int64(1)
	for _, d := range s {
		if d.Known() {
			n *= d.Value
		}
	}
	return n
}

// outputs returns the element count of n's first output, or false with a
// warning when its shape is unknown.
func (a *analyzer) outputs(n *ir.Node) (int64, bool) {
	y := n.Output(0)
	if y == nil || y.Shape == nil {
		a.warnf("%s: output shape unknown; not priced", n.Label())
		return 0, false
	}
	if !y.Shape.Known() {
		a.warnf("%s: output shape %v has unknown dimensions, counted as 1", n.Label(), y.Shape)
	}
	return numel(y.Shape), true
}

func arithOf(dt tensor.DataType) arith {
	switch dt {
	case tensor.Float, tensor.Double:
		return arFP32
	case tensor.Float16, tensor.BFloat16T:
		return arFP16
	case tensor.Int32, tensor.Uint32:
		return arInt32
	case tensor.Int8, tensor.Uint8, tensor.Int16, tensor.Uint16:
		return arInt8
	}
	return arNone
}

// freeOps do no arithmetic the table prices: comparisons, layout, copies,
// type conversions, shape computations.
var freeOps = map[string]bool{
	"Relu": true, "Clip": true, "MaxPool": true, "GlobalMaxPool": true, "Reshape": true, "Flatten": true,
	"Transpose": true, "Squeeze": true, "Unsqueeze": true, "Identity": true, "Dropout": true, "Cast": true,
	"CastLike": true, "Concat": true, "Split": true, "Slice": true, "Gather": true, "Shape": true, "Size": true,
	"Constant": true, "ConstantOfShape": true, "Pad": true, "Expand": true, "Tile": true, "ArgMax": true,
	"ArgMin": true, "Max": true, "Min": true, "Greater": true, "Less": true, "Equal": true, "Where": true,
	"Not": true, "And": true, "Or": true, "Range": true, "DepthToSpace": true, "SpaceToDepth": true,
	"Resize": true, "Upsample": true, "TopK": true, "Abs": true, "Neg": true, "Sign": true,
}

// weighted describes a weighted layer's operands.
type weighted struct {
	x, w, bias *ir.Value
	wConst     *ir.Value // the constant holding the weights (w, or a DequantizeLinear's input)
	arith      string    // ternary, int8, fp16, fp32
	requant    bool      // the output is requantized to 8 bits
	intOut     bool      // the output is the int32 accumulator
	wZeroPoint *ir.Value // weight zero point (8-bit forms)
	fc         bool
}

func (a *analyzer) node(n *ir.Node) error {
	var w *weighted
	switch {
	case isOp(n, ternaryDomain, "TernaryConv"):
		w = &weighted{x: n.Input(0), w: n.Input(3), bias: n.Input(7), arith: "ternary", requant: true}
	case isOp(n, "", "QLinearConv"):
		w = &weighted{x: n.Input(0), w: n.Input(3), bias: n.Input(8), arith: "int8", requant: true, wZeroPoint: n.Input(5)}
	case isOp(n, "", "ConvInteger"):
		w = &weighted{x: n.Input(0), w: n.Input(1), arith: "int8", intOut: true, wZeroPoint: n.Input(3)}
	case isOp(n, "", "Conv"):
		w = &weighted{x: n.Input(0), w: n.Input(1), bias: n.Input(2)}
	case isOp(n, "", "MatMulInteger"):
		w = &weighted{x: n.Input(0), w: n.Input(1), arith: "int8", intOut: true, wZeroPoint: n.Input(3), fc: true}
	case isOp(n, "", "QLinearMatMul"):
		w = &weighted{x: n.Input(0), w: n.Input(3), arith: "int8", requant: true, wZeroPoint: n.Input(5), fc: true}
	case isOp(n, msDomain, "QGemm"):
		w = &weighted{x: n.Input(0), w: n.Input(3), bias: n.Input(6), arith: "int8", requant: n.Input(7) != nil,
			wZeroPoint: n.Input(5), fc: true}
	case isOp(n, "", "Gemm"), isOp(n, "", "MatMul"):
		w = &weighted{x: n.Input(0), w: n.Input(1), bias: n.Input(2), fc: true}
	}
	if w != nil {
		return a.weightedLayer(n, w)
	}
	return a.otherNode(n)
}

// macsOf counts a weighted layer's dense MACs and returns the weight's
// dimensions.
func (a *analyzer) macsOf(n *ir.Node, w *weighted, outs int64) (int64, []int64, error) {
	var dims []int64
	if t := w.wConst; t != nil && isConst(t) {
		if t.Const != nil {
			dims = t.Const.GetDims()
		} else if ct, err := constTensor(t); err == nil && ct != nil {
			dims = ct.Shape
		}
	}
	if dims == nil {
		var ok bool
		if dims, ok = w.w.Shape.Ints(); !ok {
			return 0, nil, fmt.Errorf("weight %q has unknown shape", w.w.Name)
		}
	}
	if !w.fc {
		if len(dims) < 3 {
			return 0, nil, fmt.Errorf("weight %q has shape %v: want [M, C/group, k...]", w.w.Name, dims)
		}
		per := int64(1)
		for _, d := range dims[1:] {
			per *= d
		}
		return outs * per, dims, nil
	}
	// Matrix products: K is the reduced dimension of the left operand.
	xs := w.x.Shape
	if xs == nil || len(xs) == 0 || !xs[len(xs)-1].Known() {
		// Fall back on the weight: [K, N] (or [N, K] with transB).
		if len(dims) != 2 {
			return 0, nil, fmt.Errorf("left operand %q has unknown shape", w.x.Name)
		}
		k := dims[0]
		if tb, _ := n.AttrInt("transB", 0); tb == 1 {
			k = dims[1]
		}
		return outs * k, dims, nil
	}
	k := xs[len(xs)-1].Value
	if ta, _ := n.AttrInt("transA", 0); ta == 1 && len(xs) == 2 && xs[0].Known() {
		k = xs[0].Value
	}
	return outs * k, dims, nil
}

// outChannels is the number of output channels (columns) of a weight.
func outChannels(n *ir.Node, w *weighted, dims []int64) int64 {
	if !w.fc {
		return dims[0]
	}
	if len(dims) == 0 {
		return 0
	}
	if tb, _ := n.AttrInt("transB", 0); tb == 1 && len(dims) == 2 {
		return dims[0]
	}
	return dims[len(dims)-1]
}

func (a *analyzer) weightedLayer(n *ir.Node, w *weighted) error {
	if w.x == nil || w.w == nil {
		return errors.New("missing input or weight")
	}
	w.wConst = w.w
	if w.arith == "" {
		// A float operator: in a QDQ graph its operands may be
		// dequantized 8-bit (or 2-bit) values.
		if c := weightDQ(w.w); c != nil && a.fused[n] {
			w.wConst = c
			switch c.Type {
			case tensor.Int2, tensor.Uint2:
				w.arith = "ternary"
			default:
				w.arith = "int8"
			}
			w.wZeroPoint = w.w.Producer.Input(2)
			y := n.Output(0)
			w.requant = y != nil && y.NumUses() > 0 && !y.IsGraphOutput()
			if y != nil {
				for _, u := range y.Uses() {
					if !isOp(u.Node, "", "QuantizeLinear") {
						w.requant = false
					}
				}
			}
			w.intOut = !w.requant
		} else {
			switch arithOf(w.w.Type) {
			case arFP16:
				w.arith = "fp16"
			default:
				w.arith = "fp32"
			}
			if c := weightDQ(w.w); c != nil {
				w.wConst = c
			}
		}
	}
	outs, ok := a.outputs(n)
	if !ok {
		return nil
	}
	macs, dims, err := a.macsOf(n, w, outs)
	if err != nil {
		return err
	}
	l := Layer{Name: n.Name, OpType: n.OpType, Domain: n.Domain, Arith: w.arith, MACs: macs, ChargedMACs: macs, Outputs: outs}
	if w.wConst.Type != tensor.Undefined {
		l.WeightType = tensor.Name(w.wConst.Type)
	}
	l.Class = "fc"
	if !w.fc {
		l.Class = convClass(n, dims)
	}
	m := outChannels(n, w, dims)
	wn := int64(1)
	for _, d := range dims {
		wn *= d
	}
	l.BaselineParams = wn + m
	l.baseMACs = macs
	acc := arInt8
	if a.o.Accumulator == AccInt32 {
		acc = arInt32
	}
	hasBias := w.bias != nil
	switch w.arith {
	case "ternary":
		if a.o.SkipZeroWeights {
			nz, err := a.nonzero(w.wConst)
			if err != nil {
				return err
			}
			if wn > 0 {
				l.ChargedMACs = macs / wn * nz
			}
		}
		l.MACOps = acc.add(l.ChargedMACs)
	case "int8":
		l.MACOps = arInt8.mult(macs).Plus(acc.add(macs))
		if nonzeroZeroPoint(w.wZeroPoint) {
			// x·(w - zw) needs the window sum of x: one more addition
			// per MAC.
			l.MACOps = l.MACOps.Plus(acc.add(macs))
			a.warnf("%s: nonzero weight zero point: one extra addition per MAC charged", n.Label())
		}
	case "fp16":
		l.MACOps = arFP16.mult(macs).Plus(arFP16.add(macs))
	default:
		l.MACOps = arFP32.mult(macs).Plus(arFP32.add(macs))
	}
	switch {
	case w.arith == "fp16" || w.arith == "fp32":
		if hasBias {
			l.OverheadOps = arithOf(n.Output(0).Type).add(outs)
		}
	case w.requant:
		// Bias: one int32 addition per output; requantization: one
		// fixed-point int32 multiplication per output (rounding, shift,
		// zero point and clamp not priced).
		if hasBias {
			l.OverheadOps = arInt32.add(outs)
		}
		l.OverheadOps = l.OverheadOps.Plus(arInt32.mult(outs))
	case w.intOut:
		if hasBias {
			l.OverheadOps = arInt32.add(outs)
		}
		if a.fused[n] {
			// int32 accumulator to float: one fp32 multiplication.
			l.OverheadOps = l.OverheadOps.Plus(arFP32.mult(outs))
		}
	}
	if hasBias {
		l.baseAdds = outs
	}
	l.WeightBytes = a.attribute(n)
	a.rep.Layers = append(a.rep.Layers, l)
	return nil
}

// convClass names a convolution by its weight shape [M, C/group, k...].
func convClass(n *ir.Node, dims []int64) string {
	group, _ := n.AttrInt("group", 1)
	if group > 1 && dims[1] == 1 && dims[0]%group == 0 {
		return "depthwise"
	}
	for _, k := range dims[2:] {
		if k != 1 {
			return "conv"
		}
	}
	if group == 1 {
		return "pointwise"
	}
	return "conv"
}

func nonzeroZeroPoint(v *ir.Value) bool {
	t, err := constTensor(v)
	if err != nil || t == nil {
		return false
	}
	f, err := t.Float64s()
	if err != nil {
		return false
	}
	for _, x := range f {
		if x != 0 {
			return true
		}
	}
	return false
}

// nonzero counts the nonzero elements of a constant.
func (a *analyzer) nonzero(v *ir.Value) (int64, error) {
	t, err := constTensor(v)
	if err != nil {
		return 0, err
	}
	if t == nil {
		return 0, fmt.Errorf("weight %q is not a constant: cannot skip zero weights", v.Name)
	}
	f, err := t.Float64s()
	if err != nil {
		return 0, fmt.Errorf("weight %q: %w", v.Name, err)
	}
	var nz int64
	for _, x := range f {
		if x != 0 {
			nz++
		}
	}
	return nz, nil
}

// attribute returns the storage of the constants n reads (directly or
// through a DequantizeLinear of a constant) that no earlier node claimed.
func (a *analyzer) attribute(n *ir.Node) int64 {
	var bytes int64
	var claim func(v *ir.Value, depth int)
	claim = func(v *ir.Value, depth int) {
		if v == nil {
			return
		}
		if isConst(v) {
			if !a.seen[v] {
				a.seen[v] = true
				bytes += constBytes(v)
			}
			return
		}
		if depth == 0 && isOp(v.Producer, "", "DequantizeLinear") && isConst(v.Producer.Input(0)) {
			for _, in := range v.Producer.Inputs {
				claim(in, 1)
			}
		}
	}
	for _, in := range n.Inputs {
		claim(in, 0)
	}
	return bytes
}

// constBytes is the storage of a constant.
func constBytes(v *ir.Value) int64 {
	var dt tensor.DataType
	var dims []int64
	if v.Const != nil {
		dt, dims = tensor.DataType(v.Const.GetDataType()), v.Const.GetDims()
	} else if t, err := constTensor(v); err == nil && t != nil {
		dt, dims = t.Type, t.Shape
	}
	n, err := tensor.NumElements(dims)
	if err != nil {
		return 0
	}
	if b := tensor.StorageBytes(dt, n); b > 0 {
		return b
	}
	return 0
}

func (a *analyzer) otherNode(n *ir.Node) error {
	std := n.Domain == "" || n.Domain == "ai.onnx"
	l := Layer{Name: n.Name, OpType: n.OpType, Domain: n.Domain}
	elems := func() (int64, bool) { return a.outputs(n) }
	inElems := func() (int64, bool) {
		x := n.Input(0)
		if x == nil || x.Shape == nil {
			a.warnf("%s: input shape unknown; not priced", n.Label())
			return 0, false
		}
		return numel(x.Shape), true
	}
	switch {
	case std && (n.OpType == "QuantizeLinear" || n.OpType == "DequantizeLinear" || n.OpType == "DynamicQuantizeLinear"):
		if isConst(n.Input(0)) || a.freeQ[n] {
			a.rep.Free[n.OpType+" (folded)"]++
			return nil
		}
		e, ok := elems()
		if !ok {
			return nil
		}
		// Scale (a multiplication by the reciprocal) and zero point.
		l.Class = "convert"
		l.OverheadOps = arFP32.mult(e).Plus(arInt32.add(e))
		l.Outputs = e
	case std && (n.OpType == "Add" || n.OpType == "Sub" || n.OpType == "Mul" || n.OpType == "Div"):
		e, ok := elems()
		if !ok {
			return nil
		}
		l.Class, l.Outputs = "elementwise", e
		add := n.OpType == "Add" || n.OpType == "Sub"
		switch {
		case a.fused[n] && add:
			// As QLinearAdd: both operands rescaled to the output scale.
			l.OverheadOps = arInt32.mult(2 * e).Plus(arInt32.add(e))
			l.baseAdds = e
		case a.fused[n]:
			l.OverheadOps = arInt8.mult(e).Plus(arInt32.mult(e))
			l.baseMults = e
		default:
			ar := arithOf(n.Output(0).Type)
			if ar == arNone {
				a.rep.Free[n.OpType+" ("+tensor.Name(n.Output(0).Type)+")"]++
				return nil
			}
			if add {
				l.OverheadOps = ar.add(e)
				l.baseAdds = e
			} else {
				l.OverheadOps = ar.mult(e)
				if !dequantScale(n) {
					l.baseMults = e
				}
			}
		}
	case !std && n.Domain == msDomain && (n.OpType == "QLinearAdd" || n.OpType == "QLinearMul"):
		e, ok := elems()
		if !ok {
			return nil
		}
		l.Class, l.Outputs = "elementwise", e
		if n.OpType == "QLinearAdd" {
			l.OverheadOps = arInt32.mult(2 * e).Plus(arInt32.add(e))
			l.baseAdds = e
		} else {
			l.OverheadOps = arInt8.mult(e).Plus(arInt32.mult(e))
			l.baseMults = e
		}
	case std && n.OpType == "BatchNormalization":
		e, ok := elems()
		if !ok {
			return nil
		}
		ar := arithOf(n.Output(0).Type)
		l.Class, l.Outputs = "normalization", e
		l.OverheadOps = ar.mult(e).Plus(ar.add(e))
		l.baseMults, l.baseAdds = e, e
	case std && (n.OpType == "GlobalAveragePool" || n.OpType == "ReduceMean"),
		n.Domain == msDomain && n.OpType == "QLinearGlobalAveragePool":
		e, ok := elems()
		if !ok {
			return nil
		}
		in, ok := inElems()
		if !ok {
			return nil
		}
		l.Class, l.Outputs = "pool", e
		if n.OpType == "QLinearGlobalAveragePool" || a.fused[n] {
			l.OverheadOps = arInt32.add(in).Plus(arInt32.mult(e))
		} else {
			ar := arithOf(n.Output(0).Type)
			l.OverheadOps = ar.add(in).Plus(ar.mult(e))
		}
		l.baseAdds, l.baseMults = in, e
	case std && n.OpType == "AveragePool", n.Domain == msDomain && n.OpType == "QLinearAveragePool":
		e, ok := elems()
		if !ok {
			return nil
		}
		ks, err := n.AttrInts("kernel_shape", nil)
		if err != nil {
			return err
		}
		k := int64(1)
		for _, d := range ks {
			k *= d
		}
		l.Class, l.Outputs = "pool", e
		if n.OpType == "QLinearAveragePool" || a.fused[n] {
			l.OverheadOps = arInt32.add(e * k).Plus(arInt32.mult(e))
		} else {
			ar := arithOf(n.Output(0).Type)
			l.OverheadOps = ar.add(e * k).Plus(ar.mult(e))
		}
		l.baseAdds, l.baseMults = e*k, e
	case std && freeOps[n.OpType]:
		a.rep.Free[n.OpType]++
		if b := a.attribute(n); b > 0 {
			l.Class, l.WeightBytes = "other", b
			a.rep.Layers = append(a.rep.Layers, l)
		}
		return nil
	default:
		a.rep.Unpriced[opLabel(n)]++
		if b := a.attribute(n); b > 0 {
			l.Class, l.WeightBytes = "other", b
			a.rep.Layers = append(a.rep.Layers, l)
		}
		return nil
	}
	l.WeightBytes = a.attribute(n)
	a.rep.Layers = append(a.rep.Layers, l)
	return nil
}

func opLabel(n *ir.Node) string {
	if n.Domain == "" || n.Domain == "ai.onnx" {
		return n.OpType
	}
	return n.Domain + "." + n.OpType
}

// dequantScale reports whether a Mul scales an integer result back to
// float (an operand cast from an integer type): quantization overhead with
// no float counterpart.
func dequantScale(n *ir.Node) bool {
	for _, in := range n.Inputs {
		if in == nil || in.Producer == nil || !isOp(in.Producer, "", "Cast") {
			continue
		}
		if src := in.Producer.Input(0); src != nil {
			switch src.Type {
			case tensor.Int32, tensor.Int8, tensor.Uint8, tensor.Int16, tensor.Int64:
				return true
			}
		}
	}
	return false
}

// storage sums the model's constants by element type.
func (a *analyzer) storage() error {
	by := map[tensor.DataType]*StorageEntry{}
	addConst := func(dt tensor.DataType, dims []int64) error {
		n, err := tensor.NumElements(dims)
		if err != nil {
			return err
		}
		e := by[dt]
		if e == nil {
			e = &StorageEntry{Type: tensor.Name(dt), Bits: tensor.Bits(dt)}
			by[dt] = e
		}
		e.Elements += n
		if b := tensor.StorageBytes(dt, n); b > 0 {
			e.Bytes += b
		}
		return nil
	}
	for _, v := range a.g.Initializers {
		if err := addConst(tensor.DataType(v.Const.GetDataType()), v.Const.GetDims()); err != nil {
			return fmt.Errorf("initializer %q: %w", v.Name, err)
		}
	}
	for _, n := range a.g.Nodes() {
		if !isOp(n, "", "Constant") {
			continue
		}
		if at := n.Attr("value"); at != nil && at.GetT() != nil {
			if err := addConst(tensor.DataType(at.GetT().GetDataType()), at.GetT().GetDims()); err != nil {
				return fmt.Errorf("node %s: %w", n.Label(), err)
			}
		}
	}
	for _, e := range by {
		a.rep.Storage = append(a.rep.Storage, *e)
		a.rep.StorageBytes += e.Bytes
	}
	sort.Slice(a.rep.Storage, func(i, j int) bool {
		si, sj := a.rep.Storage[i], a.rep.Storage[j]
		if si.Bytes != sj.Bytes {
			return si.Bytes > sj.Bytes
		}
		return si.Type < sj.Type
	})
	return nil
}

// baselineOps are a layer's operations in float format ar.
func (l *Layer) baselineOps(ar arith) (mac, over Ops) {
	return ar.mult(l.baseMACs).Plus(ar.add(l.baseMACs)), ar.add(l.baseAdds).Plus(ar.mult(l.baseMults))
}

func (a *analyzer) totals() {
	r, t, full := a.rep, a.o.Table, a.o.Scope == ScopeFull
	perByte := t.SRAMRead64 / 8
	var b16, b32 *Baseline = &r.Float16, &r.Float32
	for i := range r.Layers {
		l := &r.Layers[i]
		l.MACPJ = l.MACOps.Energy(t)
		l.OverheadPJ = l.OverheadOps.Energy(t)
		m16, o16 := l.baselineOps(arFP16)
		m32, o32 := l.baselineOps(arFP32)
		var mem16, mem32 float64
		if a.o.Memory {
			l.MemoryPJ = float64(l.WeightBytes) * perByte
			mem16 = float64(2*l.BaselineParams) * perByte
			mem32 = float64(4*l.BaselineParams) * perByte
		}
		l.EnergyPJ = l.MACPJ + l.MemoryPJ
		l.Float16PJ = m16.Energy(t) + mem16
		l.Float32PJ = m32.Energy(t) + mem32
		if full {
			l.EnergyPJ += l.OverheadPJ
			l.Float16PJ += o16.Energy(t)
			l.Float32PJ += o32.Energy(t)
		}
		r.MACs += l.MACs
		r.ChargedMACs += l.ChargedMACs
		switch l.Arith {
		case "ternary":
			r.TernaryMACs += l.MACs
		case "int8":
			r.Int8MACs += l.MACs
		case "fp16", "fp32":
			r.FloatMACs += l.MACs
		}
		r.MACOps = r.MACOps.Plus(l.MACOps)
		r.OverheadOps = r.OverheadOps.Plus(l.OverheadOps)
		r.MACPJ += l.MACPJ
		r.OverheadPJ += l.OverheadPJ
		r.MemoryPJ += l.MemoryPJ
		r.BaselineParams += l.BaselineParams
		b16.MACPJ += m16.Energy(t)
		b16.OverheadPJ += o16.Energy(t)
		b16.MemoryPJ += mem16
		b32.MACPJ += m32.Energy(t)
		b32.OverheadPJ += o32.Energy(t)
		b32.MemoryPJ += mem32
	}
	r.EnergyPJ = r.MACPJ + r.MemoryPJ
	if full {
		r.EnergyPJ += r.OverheadPJ
	}
	for _, b := range []struct {
		b     *Baseline
		bytes int64
	}{{b16, 2}, {b32, 4}} {
		bl := b.b
		bl.Bytes = b.bytes * r.BaselineParams
		bl.EnergyPJ = bl.MACPJ + bl.MemoryPJ
		if full {
			bl.EnergyPJ += bl.OverheadPJ
		}
		bl.EnergyRatio = ratio(bl.EnergyPJ, r.EnergyPJ)
		bl.MACRatio = ratio(bl.MACPJ+bl.MemoryPJ, r.MACPJ+r.MemoryPJ)
		bl.FullRatio = ratio(bl.MACPJ+bl.OverheadPJ+bl.MemoryPJ, r.MACPJ+r.OverheadPJ+r.MemoryPJ)
		bl.StorageRatio = ratio(float64(bl.Bytes), float64(r.StorageBytes))
	}
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}
