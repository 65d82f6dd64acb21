package passes

import (
	"math"

	"github.com/onnx-prom/onnx-prom/onnx"
	"github.com/onnx-prom/onnx-prom/onnx/inspect"
	"github.com/onnx-prom/onnx-prom/onnx/ir"
	"github.com/onnx-prom/onnx-prom/onnx/onnxpb"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
	"github.com/onnx-prom/onnx-prom/verify/interp"
	"github.com/x448/float16"
	"google.golang.org/protobuf/proto"
)

// All lists every pass onnx-prom has, in pipeline order.
var All = []*Pass{Cleanup, AbsorbQDQ, FoldBN, InferShapes, UpgradeOpset, SelectPointwise, Ternarize, Calibrate, Quantize, Finalize, Check}

// Default is the conversion pipeline.
func Default() Pipeline { return Pipeline(All) }

// Check validates the result: the graph converts to a ModelProto and back,
// and the interpreter accepts every node.
var Check = &Pass{
	Name: "check",
	Doc:  "check the output: valid graph, every op known to the interpreter",
	Run: func(s *State) (Result, error) {
		mp, err := s.Model.ToProto()
		if err != nil {
			return Result{}, err
		}
		m, err := ir.FromProto(mp)
		if err != nil {
			return Result{}, err
		}
		o := s.Limits.interpOptions()
		o.Threads, o.MaxWork = 1, 0
		if _, err := interp.Compile(m, o); err != nil {
			return Result{}, err
		}
		return Result{}, nil
	},
}

// Options configure Convert.
type Options struct {
	Config Config
	// Calib is the calibration data; nil calibrates on synthetic inputs
	// unless Ranges covers every activation.
	Calib CalibData
	// Ranges are known activation ranges (a ranges file); they take
	// precedence over calibration.
	Ranges Ranges
	// Pipeline replaces the default pipeline when set.
	Pipeline Pipeline
	// Warn receives warnings (one line each).
	Warn func(string)
	// After observes the model after each pass (see RunOptions).
	After func(p *Pass, s *State) error
	// Limits bound the memory and work the conversion may spend.
	Limits Limits
}

// Convert applies the PROM conversion to a model and returns the converted
// model and a report. mp is not modified. The model is checked first
// (Validate); errors caused by the input model are InvalidModelErrors, other
// errors are failures of the conversion.
func Convert(mp *onnxpb.ModelProto, o Options) (*onnxpb.ModelProto, *Report, error) {
	if err := o.Config.Validate(); err != nil {
		return nil, nil, err
	}
	if err := Validate(mp, o.Config, o.Limits); err != nil {
		return nil, nil, err
	}
	m, err := ir.FromProto(mp)
	if err != nil {
		return nil, nil, invalid(err)
	}
	rep := &Report{Config: o.Config}
	s := &State{Model: m, Config: o.Config, Calib: o.Calib, Limits: o.Limits, Warn: func(msg string) {
		rep.Warnings = append(rep.Warnings, msg)
		if o.Warn != nil {
			o.Warn(msg)
		}
	}}
	if o.Ranges != nil {
		s.SetRanges(o.Ranges)
	}
	p := o.Pipeline
	if p == nil {
		p = Default()
	}
	after := func(ps *Pass, s *State) error {
		if ps.Name == Calibrate.Name {
			// The float graph with its final weights, right before
			// quantization: record layers and float baselines.
			if err := rep.recordFloat(s); err != nil {
				return err
			}
		}
		if o.After != nil {
			return o.After(ps, s)
		}
		return nil
	}
	stats, err := p.Run(s, RunOptions{After: after})
	rep.Passes = stats
	if err != nil {
		return nil, rep, err
	}
	out, err := m.ToProto()
	if err != nil {
		return nil, rep, err
	}
	if err := rep.recordOutput(out); err != nil {
		return nil, rep, err
	}
	return out, rep, nil
}

// Report describes a conversion.
type Report struct {
	Config   Config        `json:"config"`
	Passes   []PassStat    `json:"passes"`
	Layers   []LayerReport `json:"layers"`
	Totals   Totals        `json:"totals"`
	Warnings []string      `json:"warnings,omitempty"`
}

// LayerReport is one weighted layer (Conv, Gemm, MatMul).
type LayerReport struct {
	Name   string `json:"name"`
	OpType string `json:"op_type"` // op in the output
	Kind   string `json:"kind"`    // pointwise, depthwise, squeeze-excite, conv, matmul
	Bits   int    `json:"weight_bits"`
	Params int64  `json:"params"`
	MACs   int64  `json:"macs"`
	// WeightError is ‖W − Ŵ‖ / ‖W‖ for the quantized weights.
	WeightError float64 `json:"weight_rel_error"`
	// ExactChannels counts ternary channels recovered without error.
	ExactChannels int     `json:"exact_channels,omitempty"`
	Channels      int     `json:"channels,omitempty"`
	ZeroShare     float64 `json:"zero_share,omitempty"`
	// SQNR is the layer's own output error on calibration data, in dB,
	// when the caller measured it (the command does with --calib).
	SQNR *float64 `json:"sqnr_db,omitempty"`
}

// Totals sum up a conversion.
type Totals struct {
	Params             int64   `json:"params"`
	MACs               int64   `json:"macs"`
	Float32Bytes       int64   `json:"float32_weight_bytes"`
	Float16Bytes       int64   `json:"float16_weight_bytes"`
	OutputWeightBytes  int64   `json:"output_weight_bytes"`
	Float16FileBytes   int64   `json:"float16_file_bytes"`
	OutputFileBytes    int64   `json:"output_file_bytes"`
	RatioVsFloat32     float64 `json:"weight_ratio_vs_float32"`
	RatioVsFloat16     float64 `json:"weight_ratio_vs_float16"`
	FileRatioVsFloat16 float64 `json:"file_ratio_vs_float16"`
	PointwiseConvs     int     `json:"pointwise_convs"`
	Ternarized         int     `json:"ternarized_convs"`
	TernaryZeroShare   float64 `json:"ternary_zero_share"`
	TernaryMACShare    float64 `json:"ternary_mac_share"`
	// ErrorSamples calibration samples measured the output SQNR (dB) and
	// the top-1 agreement with the input model, when given.
	ErrorSamples int     `json:"error_samples,omitempty"`
	OutputSQNR   float64 `json:"output_sqnr_db,omitempty"`
	Agreement    float64 `json:"top1_agreement,omitempty"`
}

// recordFloat notes the weighted layers and the float baselines from the
// float graph after ternarization.
func (r *Report) recordFloat(s *State) error {
	g := s.Model.Graph
	ternary, _ := Fact[map[*ir.Node]*TernaryWeights](s, factTernary)
	r.Layers = nil
	var ternaryMACs int64
	var zeros, codes int
	for _, n := range g.Nodes() {
		if n.Domain != "" || (n.OpType != "Conv" && n.OpType != "Gemm" && n.OpType != "MatMul") {
			continue
		}
		w := n.Input(1)
		if w == nil || !w.IsConst() {
			continue
		}
		dims, _ := w.Shape.Ints()
		params, _ := tensor.NumElements(dims)
		l := LayerReport{Name: n.Name, OpType: n.OpType, Bits: 32, Params: params, MACs: layerMACs(n)}
		l.Kind = "matmul"
		if info, ok := inspect.Classify(n); ok {
			l.Kind = info.Kind.String()
			if info.Kind == inspect.Pointwise {
				r.Totals.PointwiseConvs++
			}
		}
		if tw := ternary[n]; tw != nil {
			l.OpType, l.Bits = "TernaryConv", 2
			l.WeightError = relErr(tw.SqErr, tw.SqNorm)
			l.ExactChannels, l.Channels = tw.Exact, tw.Channels()
			l.ZeroShare = float64(tw.Zeros) / float64(len(tw.Codes))
			ternaryMACs += l.MACs
			zeros += tw.Zeros
			codes += len(tw.Codes)
			r.Totals.Ternarized++
		} else if !s.Config.KeepsFloat(n) {
			l.Bits = 8
			l.WeightError = int8Error(w, s.Config.weightQMax())
			l.OpType = map[string]string{"Conv": "QLinearConv", "Gemm": "MatMulInteger", "MatMul": "MatMulInteger"}[n.OpType]
		}
		r.Totals.Params += params
		r.Totals.MACs += l.MACs
		r.Layers = append(r.Layers, l)
	}
	if codes > 0 {
		r.Totals.TernaryZeroShare = float64(zeros) / float64(codes)
	}
	if r.Totals.MACs > 0 {
		r.Totals.TernaryMACShare = float64(ternaryMACs) / float64(r.Totals.MACs)
	}
	// Baselines: every float initializer of the float graph.
	var floats int64
	for _, v := range g.Initializers {
		if v.Type == tensor.Float || v.Type == tensor.Float16 || v.Type == tensor.Double {
			n, _ := tensor.NumElements(v.Const.GetDims())
			floats += n
		}
	}
	r.Totals.Float32Bytes = 4 * floats
	r.Totals.Float16Bytes = 2 * floats
	mp, err := s.Model.ToProto() // a copy: float16File may rewrite it
	if err != nil {
		return err
	}
	half, err := float16File(mp)
	if err != nil {
		return err
	}
	r.Totals.Float16FileBytes = half
	return nil
}

func relErr(sqErr, sqNorm float64) float64 {
	if sqNorm == 0 {
		return 0
	}
	return math.Sqrt(sqErr / sqNorm)
}

// int8Error is the relative L2 error of per-channel symmetric int8 weights.
func int8Error(w *ir.Value, qmax float64) float64 {
	f, shape, err := floatConst(w)
	if err != nil || len(shape) == 0 {
		return 0
	}
	m := int(shape[0])
	codes, scales := symmetricWeights(f, m, qmax)
	per := len(f) / m
	var e, n float64
	for i, v := range f {
		d := float64(v) - float64(codes[i])*float64(scales[i/per])
		e += d * d
		n += float64(v) * float64(v)
	}
	return relErr(e, n)
}

// layerMACs counts multiply-accumulates of a Conv, Gemm or MatMul from
// inferred shapes (symbolic dimensions count as 1).
func layerMACs(n *ir.Node) int64 {
	out, w := n.Output(0), n.Input(1)
	if out == nil || out.Shape == nil || w == nil {
		return 0
	}
	var outElems int64 = 1
	for _, d := range out.Shape {
		if d.Known() {
			outElems *= d.Value
		}
	}
	dims, ok := w.Shape.Ints()
	if !ok || len(dims) < 2 {
		return 0
	}
	switch n.OpType {
	case "Conv":
		per := dims[1]
		for _, k := range dims[2:] {
			per *= k
		}
		return outElems * per
	case "Gemm":
		if tb, _ := n.AttrInt("transB", 0); tb == 1 {
			return outElems * dims[1]
		}
		return outElems * dims[0]
	default:
		return outElems * dims[0]
	}
}

// float16File is the size of mp with every float32 initializer stored as
// float16: the baseline the PROM file is compared with. It rewrites mp's
// initializers in place (callers pass a throwaway copy).
func float16File(mp *onnxpb.ModelProto) (int64, error) {
	c := mp
	for i, tp := range c.Graph.Initializer {
		if tp.GetDataType() != int32(tensor.Float) {
			continue
		}
		t, err := tensor.FromProto(tp)
		if err != nil {
			return 0, err
		}
		f := t.Data.([]float32)
		h := make([]float16.Float16, len(f))
		for j, v := range f {
			h[j] = float16.Fromfloat32(v)
		}
		np, err := tensor.ToProto(&tensor.Tensor{Type: tensor.Float16, Shape: t.Shape, Data: h}, tp.GetName())
		if err != nil {
			return 0, err
		}
		c.Graph.Initializer[i] = np
	}
	return int64(proto.Size(c)), nil
}

// recordOutput measures the converted model and corrects the layer list
// to the ops the output holds (a layer without activation ranges stays
// float).
func (r *Report) recordOutput(mp *onnxpb.ModelProto) error {
	opOf := map[string]string{}
	for _, n := range mp.GetGraph().GetNode() {
		opOf[n.GetName()] = n.GetOpType()
	}
	r.Totals.Ternarized = 0
	for i := range r.Layers {
		l := &r.Layers[i]
		switch op := opOf[l.Name]; op {
		case "TernaryConv":
			r.Totals.Ternarized++
		case "Conv", "Gemm", "MatMul":
			if l.Bits != 32 {
				l.OpType, l.Bits, l.WeightError = op, 32, 0
				l.ExactChannels, l.Channels, l.ZeroShare = 0, 0, 0
			}
		}
	}
	var bytes int64
	for _, tp := range mp.GetGraph().GetInitializer() {
		n, err := tensor.NumElements(tp.GetDims())
		if err != nil {
			return err
		}
		if sb := tensor.StorageBytes(tensor.DataType(tp.GetDataType()), n); sb > 0 {
			bytes += sb
		}
	}
	r.Totals.OutputWeightBytes = bytes
	b, err := onnx.Marshal(mp)
	if err != nil {
		return err
	}
	r.Totals.OutputFileBytes = int64(len(b))
	if bytes > 0 {
		r.Totals.RatioVsFloat32 = float64(r.Totals.Float32Bytes) / float64(bytes)
		r.Totals.RatioVsFloat16 = float64(r.Totals.Float16Bytes) / float64(bytes)
	}
	if r.Totals.OutputFileBytes > 0 {
		r.Totals.FileRatioVsFloat16 = float64(r.Totals.Float16FileBytes) / float64(r.Totals.OutputFileBytes)
	}
	return nil
}
