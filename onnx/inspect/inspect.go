// Package inspect analyzes an ONNX model for onnx-prom: its interface,
// operators, parameters, multiply-accumulate counts, and the structure that
// the PROM conversion cares about — depthwise, pointwise and
// squeeze-excite convolutions, and the depthwise -> pointwise chains of
// depthwise-separable blocks.
//
// Analyze builds a Report; the matchers it uses (Classify, FindChains,
// FindExpansions, Follow) work on any IR graph and are what the converter
// uses to select convolutions.
package inspect

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/onnx-prom/onnx-prom/onnx/ir"
	"github.com/onnx-prom/onnx-prom/onnx/shapes"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
)

// Report describes a model. Its JSON form is stable: fields in a fixed
// order, lists sorted.
type Report struct {
	// File is the model's path; Analyze leaves it empty for the caller.
	File      string   `json:"file,omitempty"`
	IRVersion int64    `json:"ir_version"`
	Producer  string   `json:"producer"`
	Graph     string   `json:"graph"`
	Opsets    []Opset  `json:"opsets"`
	Inputs    []Tensor `json:"inputs"`
	Outputs   []Tensor `json:"outputs"`
	Nodes     int      `json:"nodes"`
	// Ops counts nodes per operator, most frequent first.
	Ops []OpCount `json:"ops"`
	// Values counts node outputs. Of them, Shapes have a known rank and
	// every dim a number or a symbol (a batch "N"); NumericShapes have every
	// dim a number.
	Values        int    `json:"values"`
	Shapes        int    `json:"shapes"`
	NumericShapes int    `json:"numeric_shapes"`
	Params        Params `json:"parameters"`
	MACs          MACs   `json:"macs"`
	Convs         Convs  `json:"convs"`
	// Chains are the depthwise -> pointwise chains; Expansions the
	// pointwise -> depthwise ones (see FindChains, FindExpansions).
	Chains     []ChainEntry `json:"chains"`
	Expansions []ChainEntry `json:"expansions"`
}

// Opset is one imported operator set.
type Opset struct {
	Domain  string `json:"domain"`
	Version int64  `json:"version"`
}

// Tensor is a graph input or output.
type Tensor struct {
	Name string `json:"name"`
	Type string `json:"type"`
	// Shape is the dims joined by commas ("N,3,224,224"), "?" for an
	// unknown dim, "" for a scalar, "unknown" for an unknown rank.
	Shape string `json:"shape"`
}

// OpCount is the number of nodes of one operator ("Conv", or
// "domain.Op" outside the default domain).
type OpCount struct {
	Op    string `json:"op"`
	Count int    `json:"count"`
}

// Params counts the stored tensors: initializers and Constant nodes'
// values.
type Params struct {
	// Count is the number of elements, BatchNormalization running
	// statistics (mean and variance inputs) excluded, as deep-learning
	// frameworks count parameters.
	Count int64 `json:"count"`
	// BNStatistics is the number of running-statistics elements.
	BNStatistics int64 `json:"bn_statistics"`
	// Tensors is the number of stored tensors, Bytes their storage size.
	Tensors int   `json:"tensors"`
	Bytes   int64 `json:"bytes"`
	// ByType splits all elements (statistics included) by element type.
	ByType []TypeCount `json:"by_type"`
}

// TypeCount is the number of elements and bytes of one element type.
type TypeCount struct {
	Type  string `json:"type"`
	Count int64  `json:"count"`
	Bytes int64  `json:"bytes"`
}

// MACs counts multiply-accumulates of Conv, ConvTranspose, ConvInteger,
// QLinearConv, Gemm, MatMul, MatMulInteger and QLinearMatMul.
type MACs struct {
	Total int64 `json:"total"`
	// Note says how symbolic dimensions were counted, e.g. "batch N
	// counted as 1".
	Note string `json:"note,omitempty"`
	// ByOp and ByConvKind split the total.
	ByOp       []OpMACs `json:"by_op"`
	ByConvKind []OpMACs `json:"by_conv_kind"`
	// Unknown lists the nodes whose count needs a shape inference could
	// not find; they are not in the total.
	Unknown []string `json:"unknown"`
}

// OpMACs is the MAC count of one operator or convolution kind.
type OpMACs struct {
	Op    string `json:"op"`
	Nodes int    `json:"nodes"`
	MACs  int64  `json:"macs"`
}

// Convs summarizes the convolutions (Conv, ConvInteger, QLinearConv).
type Convs struct {
	Total         int         `json:"total"`
	Depthwise     int         `json:"depthwise"`
	Pointwise     int         `json:"pointwise"`
	SqueezeExcite int         `json:"squeeze_excite"`
	Regular       int         `json:"regular"`
	Grouped       int         `json:"grouped"`
	Unknown       int         `json:"unknown"`
	Transposed    int         `json:"transposed"`
	List          []ConvEntry `json:"list"`
}

// ConvEntry describes one convolution.
type ConvEntry struct {
	Name   string `json:"name"`
	Op     string `json:"op"`
	Kind   string `json:"kind"`
	In     int64  `json:"in"`
	Out    int64  `json:"out"`
	Group  int64  `json:"group"`
	Kernel string `json:"kernel"`
	Stride string `json:"stride"`
	Output string `json:"output_shape"`
	// MACs is -1 when unknown.
	MACs int64 `json:"macs"`
}

// ChainEntry is a Chain by node names.
type ChainEntry struct {
	From    string   `json:"from"`
	To      string   `json:"to"`
	Between []string `json:"between"` // operator types
}

// Options adjust Analyze.
type Options struct {
	// InputShapes replaces the declared shapes of graph inputs before
	// shape inference (to count MACs of a model with symbolic spatial
	// sizes at a given resolution). The rank must match a declared shape.
	InputShapes map[string][]int64
}

// Analyze describes m. It runs shape inference on a copy; m is not
// modified.
func Analyze(m *ir.Model) (*Report, error) { return AnalyzeWith(m, Options{}) }

// AnalyzeWith describes m with options.
func AnalyzeWith(m *ir.Model, o Options) (*Report, error) {
	mp, err := m.ToProto()
	if err != nil {
		return nil, err
	}
	c, err := ir.FromProto(mp)
	if err != nil {
		return nil, err
	}
	g := c.Graph
	for name, dims := range o.InputShapes {
		v := g.Value(name)
		if v == nil || !v.IsGraphInput() {
			return nil, fmt.Errorf("input shape for %q: the graph has no such input", name)
		}
		if v.Shape != nil && len(v.Shape) != len(dims) {
			return nil, fmt.Errorf("input shape for %q: rank %d, declared %v", name, len(dims), v.Shape)
		}
		for _, d := range dims {
			if d < 0 {
				return nil, fmt.Errorf("input shape for %q: negative dimension %d", name, d)
			}
		}
		v.Shape = ir.ShapeOf(dims...)
	}
	if _, err := shapes.InferGraph(g); err != nil {
		return nil, err
	}
	r := &Report{
		IRVersion: c.Proto().GetIrVersion(),
		Producer:  strings.TrimSpace(c.Proto().GetProducerName() + " " + c.Proto().GetProducerVersion()),
		Graph:     g.Name,
		Nodes:     g.NumNodes(),
		Opsets:    []Opset{},
		Inputs:    []Tensor{},
		Outputs:   []Tensor{},
	}
	for _, op := range c.Proto().GetOpsetImport() {
		d := op.GetDomain()
		if d == "" {
			d = "ai.onnx"
		}
		r.Opsets = append(r.Opsets, Opset{d, op.GetVersion()})
	}
	sort.Slice(r.Opsets, func(i, j int) bool { return r.Opsets[i].Domain < r.Opsets[j].Domain })
	for _, v := range g.Inputs {
		if v.Const == nil {
			r.Inputs = append(r.Inputs, tensorOf(v))
		}
	}
	for _, v := range g.Outputs {
		r.Outputs = append(r.Outputs, tensorOf(v))
	}
	r.Ops = histogram(g)
	for _, n := range g.Nodes() {
		for _, v := range n.Outputs {
			if v != nil {
				r.Values++
				if complete(v.Shape) {
					r.Shapes++
				}
				if v.Shape.Known() {
					r.NumericShapes++
				}
			}
		}
	}
	if r.Params, err = countParams(g); err != nil {
		return nil, err
	}
	r.MACs, r.Convs = countMACs(g)
	r.Chains = chainEntries(FindChains(g))
	r.Expansions = chainEntries(FindExpansions(g))
	return r, nil
}

// complete reports whether every dim of s is a number or a symbol.
func complete(s ir.Shape) bool {
	if s == nil {
		return false
	}
	for _, d := range s {
		if !d.Known() && d.Param == "" {
			return false
		}
	}
	return true
}

// ShapeString renders a shape as "N,3,224,224".
func ShapeString(s ir.Shape) string {
	if s == nil {
		return "unknown"
	}
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = d.String()
	}
	return strings.Join(parts, ",")
}

func tensorOf(v *ir.Value) Tensor {
	t := "unknown"
	if v.Type != tensor.Undefined {
		t = tensor.Name(v.Type)
	}
	return Tensor{Name: v.Name, Type: t, Shape: ShapeString(v.Shape)}
}

func opName(n *ir.Node) string {
	if isDefault(n) {
		return n.OpType
	}
	return n.Domain + "." + n.OpType
}

// NodeName is how reports name a node: its name, or its position and
// operator when it has none.
func NodeName(n *ir.Node) string {
	if n.Name != "" {
		return n.Name
	}
	return n.Label()
}

func histogram(g *ir.Graph) []OpCount {
	counts := map[string]int{}
	for _, n := range g.Nodes() {
		counts[opName(n)]++
	}
	out := make([]OpCount, 0, len(counts))
	for op, c := range counts {
		out = append(out, OpCount{op, c})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Op < out[j].Op
	})
	return out
}

func countParams(g *ir.Graph) (Params, error) {
	p := Params{ByType: []TypeCount{}}
	byType := map[tensor.DataType]*TypeCount{}
	add := func(name string, dt tensor.DataType, dims []int64, stats bool) error {
		n, err := tensor.NumElements(dims)
		if err != nil {
			return fmt.Errorf("tensor %q: %w", name, err)
		}
		b := tensor.StorageBytes(dt, n)
		if b < 0 {
			b = 0
		}
		p.Tensors++
		p.Bytes += b
		if stats {
			p.BNStatistics += n
		} else {
			p.Count += n
		}
		tc := byType[dt]
		if tc == nil {
			tc = &TypeCount{Type: tensor.Name(dt)}
			byType[dt] = tc
		}
		tc.Count += n
		tc.Bytes += b
		return nil
	}
	for _, v := range g.Initializers {
		if err := add(v.Name, tensor.DataType(v.Const.GetDataType()), v.Const.GetDims(), isBNStatistic(v)); err != nil {
			return p, err
		}
	}
	for _, n := range g.Nodes() {
		if n.OpType != "Constant" || !isDefault(n) {
			continue
		}
		for _, a := range n.Attrs {
			var err error
			name := NodeName(n)
			switch a.GetName() {
			case "value":
				if a.T != nil {
					err = add(name, tensor.DataType(a.T.GetDataType()), a.T.GetDims(), false)
				}
			case "sparse_value":
				if sp := a.GetSparseTensor(); sp != nil {
					err = add(name, tensor.DataType(sp.GetValues().GetDataType()), sp.GetValues().GetDims(), false)
				}
			case "value_float", "value_int":
				dt := tensor.Float
				if a.GetName() == "value_int" {
					dt = tensor.Int64
				}
				err = add(name, dt, nil, false)
			case "value_floats":
				err = add(name, tensor.Float, []int64{int64(len(a.GetFloats()))}, false)
			case "value_ints":
				err = add(name, tensor.Int64, []int64{int64(len(a.GetInts()))}, false)
			}
			if err != nil {
				return p, err
			}
		}
	}
	for _, tc := range byType {
		p.ByType = append(p.ByType, *tc)
	}
	sort.Slice(p.ByType, func(i, j int) bool { return p.ByType[i].Type < p.ByType[j].Type })
	return p, nil
}

// isBNStatistic reports whether v is only read as the running mean or
// variance of BatchNormalization nodes.
func isBNStatistic(v *ir.Value) bool {
	uses := v.Uses()
	if len(uses) == 0 {
		return false
	}
	for _, u := range uses {
		if u.Node.OpType != "BatchNormalization" || !isDefault(u.Node) || (u.Index != 3 && u.Index != 4) {
			return false
		}
	}
	return true
}

// macCounter evaluates sizes with batch symbols counted as 1.
type macCounter struct {
	batch map[string]bool
	used  map[string]bool
}

// size multiplies the dims of s; symbols that are batch dims count as 1.
func (mc *macCounter) size(s ir.Shape) (int64, bool) {
	if s == nil {
		return 0, false
	}
	n := int64(1)
	for _, d := range s {
		v := d.Value
		switch {
		case d.Known():
		case d.Param != "" && mc.batch[d.Param]:
			mc.used[d.Param] = true
			v = 1
		default:
			return 0, false
		}
		if v != 0 && n > math.MaxInt64/v {
			return 0, false
		}
		n *= v
	}
	return n, true
}

func mulOK(a, b int64) (int64, bool) {
	if a < 0 || b < 0 || (a != 0 && b > math.MaxInt64/a) {
		return 0, false
	}
	return a * b, true
}

// nodeMACs returns the MACs of n, known false when a shape is missing, and
// counted false when n is not an op that MACs are counted for.
func (mc *macCounter) nodeMACs(n *ir.Node) (macs int64, known, counted bool) {
	if !isDefault(n) {
		return 0, false, false
	}
	switch n.OpType {
	case "Conv", "ConvInteger", "QLinearConv":
		w := n.Input(weightIndex(n))
		out, ok1 := mc.size(outShape(n))
		if w == nil || len(w.Shape) < 3 || !ok1 {
			return 0, false, true
		}
		per, ok := w.Shape[1:].Ints()
		if !ok {
			return 0, false, true
		}
		k, err := tensor.NumElements(per)
		if err != nil {
			return 0, false, true
		}
		m, ok := mulOK(out, k)
		return m, ok, true
	case "ConvTranspose":
		w := n.Input(1)
		in, ok1 := mc.size(inShape(n, 0))
		if w == nil || len(w.Shape) < 3 || !ok1 {
			return 0, false, true
		}
		per, ok := w.Shape[1:].Ints()
		if !ok {
			return 0, false, true
		}
		k, err := tensor.NumElements(per)
		if err != nil {
			return 0, false, true
		}
		m, ok := mulOK(in, k)
		return m, ok, true
	case "Gemm":
		a := inShape(n, 0)
		out, ok := mc.size(outShape(n))
		if len(a) != 2 || !ok {
			return 0, false, true
		}
		ta, _ := n.AttrInt("transA", 0)
		k := a[1]
		if ta != 0 {
			k = a[0]
		}
		if !k.Known() {
			return 0, false, true
		}
		m, ok := mulOK(out, k.Value)
		return m, ok, true
	case "MatMul", "MatMulInteger", "QLinearMatMul":
		a := inShape(n, 0)
		out, ok := mc.size(outShape(n))
		if len(a) == 0 || !ok || !a[len(a)-1].Known() {
			return 0, false, true
		}
		m, ok := mulOK(out, a[len(a)-1].Value)
		return m, ok, true
	}
	return 0, false, false
}

func outShape(n *ir.Node) ir.Shape {
	if v := n.Output(0); v != nil {
		return v.Shape
	}
	return nil
}

func inShape(n *ir.Node, i int) ir.Shape {
	if v := n.Input(i); v != nil {
		return v.Shape
	}
	return nil
}

func countMACs(g *ir.Graph) (MACs, Convs) {
	mc := &macCounter{batch: map[string]bool{}, used: map[string]bool{}}
	for _, v := range g.Inputs {
		if v.Const == nil && len(v.Shape) > 0 && v.Shape[0].Param != "" {
			mc.batch[v.Shape[0].Param] = true
		}
	}
	res := MACs{ByOp: []OpMACs{}, ByConvKind: []OpMACs{}, Unknown: []string{}}
	convs := Convs{List: []ConvEntry{}}
	byOp := map[string]*OpMACs{}
	byKind := map[string]*OpMACs{}
	bump := func(m map[string]*OpMACs, key string, macs int64) {
		e := m[key]
		if e == nil {
			e = &OpMACs{Op: key}
			m[key] = e
		}
		e.Nodes++
		e.MACs += macs
	}
	for _, n := range g.Nodes() {
		macs, known, counted := mc.nodeMACs(n)
		if counted {
			if known {
				res.Total += macs
				bump(byOp, n.OpType, macs)
			} else {
				res.Unknown = append(res.Unknown, NodeName(n))
			}
		}
		if n.OpType == "ConvTranspose" && isDefault(n) {
			convs.Transposed++
		}
		c, ok := Classify(n)
		if !ok {
			continue
		}
		convs.Total++
		switch c.Kind {
		case Depthwise:
			convs.Depthwise++
		case Pointwise:
			convs.Pointwise++
		case SqueezeExcite:
			convs.SqueezeExcite++
		case Grouped:
			convs.Grouped++
		case Regular:
			convs.Regular++
		default:
			convs.Unknown++
		}
		if !known {
			macs = -1
		} else {
			bump(byKind, c.Kind.String(), macs)
		}
		convs.List = append(convs.List, ConvEntry{
			Name: NodeName(n), Op: n.OpType, Kind: c.Kind.String(),
			In: inChannels(c), Out: c.Out, Group: c.Group,
			Kernel: joinInts(c.Kernel, "x"), Stride: joinInts(c.Strides, "x"),
			Output: ShapeString(outShape(n)), MACs: macs,
		})
	}
	for _, e := range byOp {
		res.ByOp = append(res.ByOp, *e)
	}
	for _, e := range byKind {
		res.ByConvKind = append(res.ByConvKind, *e)
	}
	for _, l := range [][]OpMACs{res.ByOp, res.ByConvKind} {
		sort.Slice(l, func(i, j int) bool {
			if l[i].MACs != l[j].MACs {
				return l[i].MACs > l[j].MACs
			}
			return l[i].Op < l[j].Op
		})
	}
	if len(mc.used) > 0 {
		var syms []string
		for s := range mc.used {
			syms = append(syms, s)
		}
		sort.Strings(syms)
		res.Note = fmt.Sprintf("batch %s counted as 1", strings.Join(syms, ", "))
	}
	return res, convs
}

func inChannels(c ConvInfo) int64 {
	if c.InPerGroup < 0 {
		return -1
	}
	return c.In()
}

func joinInts(v []int64, sep string) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = fmt.Sprint(x)
	}
	return strings.Join(parts, sep)
}

func chainEntries(cs []Chain) []ChainEntry {
	out := make([]ChainEntry, 0, len(cs))
	for _, c := range cs {
		e := ChainEntry{From: NodeName(c.From), To: NodeName(c.To), Between: []string{}}
		for _, n := range c.Between {
			e.Between = append(e.Between, opName(n))
		}
		out = append(out, e)
	}
	return out
}
