package models

import (
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/onnx-prom/onnx-prom/onnx/onnxpb"
)

// Fixed properties of every generated model.
const (
	// IRVersion is the ONNX IR version written to ModelProto.ir_version.
	IRVersion = 8
	// Opset is the version of the default ("ai.onnx") operator set imported.
	Opset = 13
	// ProducerName is written to ModelProto.producer_name.
	ProducerName = "onnx-prom testdata"
	// InputName is the graph input, float32 [batch, 3, Resolution, Resolution].
	InputName = "input"
	// OutputName is the graph output, float32 logits [batch, NumClasses].
	OutputName = "output"
	// BatchDim is the dim_param of the batch dimension when BatchSize is 0.
	BatchDim = "N"
	// BNEpsilon is the BatchNormalization epsilon (torch's default).
	BNEpsilon = 1e-5
	// BNMomentum is the BatchNormalization momentum attribute as torch
	// exports it (1 - 0.1).
	BNMomentum = 0.9
	// ClipMinName and ClipMaxName are the scalar float initializers (0 and 6)
	// shared by every Clip node that implements ReLU6.
	ClipMinName = "relu6_min"
	ClipMaxName = "relu6_max"
)

// BlockSpec is one row (t, c, n, s) of torchvision's inverted_residual_setting:
// Repeats inverted residual blocks with expansion ratio Expand and Channels
// output channels; the first block has stride Stride, the others stride 1.
type BlockSpec struct {
	Expand   int // expansion ratio t; 1 means no expansion conv
	Channels int // output channels c, before the width multiplier
	Repeats  int // number of blocks n
	Stride   int // stride s of the first block (1 or 2)
}

// TorchvisionBlocks returns torchvision's mobilenet_v2 inverted residual
// settings, (t, c, n, s) = (1,16,1,1) (6,24,2,2) (6,32,3,2) (6,64,4,2)
// (6,96,3,1) (6,160,3,2) (6,320,1,1): 17 blocks.
func TorchvisionBlocks() []BlockSpec {
	return []BlockSpec{
		{1, 16, 1, 1},
		{6, 24, 2, 2},
		{6, 32, 3, 2},
		{6, 64, 4, 2},
		{6, 96, 3, 1},
		{6, 160, 3, 2},
		{6, 320, 1, 1},
	}
}

// MobileNetV2Config describes a MobileNetV2-style model. Zero fields take
// torchvision's defaults, so the zero value is torchvision's mobilenet_v2
// with seed 0.
type MobileNetV2Config struct {
	// Width is the width multiplier; 0 means 1.0. Channel counts are
	// rounded with torchvision's _make_divisible(c*Width, 8).
	Width float64
	// Resolution is the input height and width; 0 means 224.
	Resolution int
	// NumClasses is the number of output logits; 0 means 1000.
	NumClasses int
	// Blocks is the inverted residual setting; nil means TorchvisionBlocks().
	Blocks []BlockSpec
	// StemChannels overrides the output channels of the stem conv; 0 means
	// torchvision's _make_divisible(32*Width, 8).
	StemChannels int
	// LastChannels overrides the output channels of the final 1x1 conv; 0
	// means torchvision's _make_divisible(1280*max(1, Width), 8).
	LastChannels int
	// FoldBN folds every BatchNormalization into the preceding Conv's
	// weights and a Conv bias, so the graph has no BatchNormalization node.
	FoldBN bool
	// Seed selects the random weights. The random draws of a tensor depend
	// only on Seed and the tensor's name; the BN running statistics (and so
	// the folded weights) and the classifier bias are measured on a
	// calibration batch and so also depend on the layers before them.
	Seed int64
	// BatchSize fixes the batch dimension; 0 leaves it symbolic (BatchDim).
	BatchSize int
}

// Full returns torchvision's mobilenet_v2 at 224x224 with 1000 classes:
// 17 inverted residual blocks (17 depthwise and 34 pointwise convs, 10
// residual Adds), 3,504,872 parameters, 300,774,272 MACs. Its serialized
// size is about 14 MB and building it takes about a second.
func Full() MobileNetV2Config {
	return MobileNetV2Config{
		Width:      1.0,
		Resolution: 224,
		NumClasses: 1000,
		Blocks:     TorchvisionBlocks(),
		Seed:       1,
	}
}

// Tiny returns a 32x32, 10-class model with 3 inverted residual blocks
// (8->16 t=1 stride 2, 16->24 t=6 stride 2, 24->24 t=6 residual), an
// 8-channel stem and a 64-channel final conv: 16,762 parameters, 373,632
// MACs.
func Tiny() MobileNetV2Config {
	return MobileNetV2Config{
		Width:        1.0,
		Resolution:   32,
		NumClasses:   10,
		Blocks:       []BlockSpec{{1, 16, 1, 2}, {6, 24, 2, 2}},
		StemChannels: 8,
		LastChannels: 64,
		Seed:         1,
	}
}

// Small returns a 64x64, 10-class model at width 0.5 with 7 inverted residual
// blocks following the start of torchvision's setting (a t=1 block, then three
// t=6 stages of stride 2 with one residual block each; channels
// 16 -> 8 -> 16, 16 -> 16, 16 -> 32, 32) and a 256-channel final conv:
// 47,690 parameters, 3,746,816 MACs.
func Small() MobileNetV2Config {
	return MobileNetV2Config{
		Width:        0.5,
		Resolution:   64,
		NumClasses:   10,
		Blocks:       []BlockSpec{{1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 2, 2}, {6, 64, 2, 2}},
		LastChannels: 256,
		Seed:         1,
	}
}

// makeDivisible is torchvision's _make_divisible(v, divisor) with
// min_value = divisor: round v to the nearest multiple of divisor, not below
// divisor and not more than 10% below v.
func makeDivisible(v float64, divisor int) int {
	n := max(divisor, int(v+float64(divisor)/2)/divisor*divisor)
	if float64(n) < 0.9*v {
		n += divisor
	}
	return n
}

// withDefaults returns cfg with zero fields replaced by their defaults.
func (cfg MobileNetV2Config) withDefaults() MobileNetV2Config {
	if cfg.Width == 0 {
		cfg.Width = 1.0
	}
	if cfg.Resolution == 0 {
		cfg.Resolution = 224
	}
	if cfg.NumClasses == 0 {
		cfg.NumClasses = 1000
	}
	if cfg.Blocks == nil {
		cfg.Blocks = TorchvisionBlocks()
	}
	if cfg.StemChannels == 0 {
		cfg.StemChannels = makeDivisible(32*cfg.Width, 8)
	}
	if cfg.LastChannels == 0 {
		cfg.LastChannels = makeDivisible(1280*max(1.0, cfg.Width), 8)
	}
	return cfg
}

func (cfg MobileNetV2Config) validate() error {
	switch {
	case !(cfg.Width > 0) || math.IsInf(cfg.Width, 0):
		return fmt.Errorf("models: invalid width %v", cfg.Width)
	case cfg.Resolution < 1:
		return fmt.Errorf("models: invalid resolution %d", cfg.Resolution)
	case cfg.NumClasses < 1:
		return fmt.Errorf("models: invalid number of classes %d", cfg.NumClasses)
	case cfg.StemChannels < 1 || cfg.LastChannels < 1:
		return fmt.Errorf("models: invalid stem/last channels %d/%d", cfg.StemChannels, cfg.LastChannels)
	case cfg.BatchSize < 0:
		return fmt.Errorf("models: invalid batch size %d", cfg.BatchSize)
	case len(cfg.Blocks) == 0:
		return errors.New("models: no inverted residual blocks")
	}
	for i, b := range cfg.Blocks {
		if b.Expand < 1 || b.Channels < 1 || b.Repeats < 1 || b.Stride < 1 {
			return fmt.Errorf("models: invalid block spec %d: %+v", i, b)
		}
	}
	return nil
}

// MobileNetV2 builds the model described by cfg.
//
// The graph follows torchvision's module layout and names: node
// "features.0.0" (stem Conv) writes value "features.0.0_output" and reads
// initializer "features.0.0.weight"; BatchNormalization "features.0.1" reads
// "features.0.1.weight", ".bias", ".running_mean", ".running_var"; Clip
// "features.0.2" is ReLU6. Block i (1-based) has nodes "features.<i>.conv.*"
// exactly as torchvision's InvertedResidual, plus Add "features.<i>.add" when
// it has a residual connection. Then come the final conv "features.<n+1>.*",
// GlobalAveragePool "avgpool", Flatten "flatten" and Gemm "classifier.1"
// (transB=1) writing OutputName.
//
// Weights are seeded normal draws: conv weights with torchvision's
// kaiming_normal_(mode="fan_out") scale, BN gamma in [0.7, 1.3], beta with
// std 0.1, Gemm weight with std 0.01 and a Gemm bias that centers the logits
// over the calibration batch (plus noise with std 0.002). The BN running
// statistics are
// measured, the way training sets them: the generator runs the network on a
// seeded batch of inputs drawn like CalibrationSamples, layer by layer, and stores each conv
// output's per-channel mean and variance (perturbed by a little noise, so
// that folding stays non-trivial). Activations therefore stay near unit scale
// through any depth, and BN outputs are close to N(beta, gamma^2).
func MobileNetV2(cfg MobileNetV2Config) (*onnxpb.ModelProto, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	b := &builder{
		cfg:    cfg,
		graph:  &onnxpb.GraphProto{Name: proto.String("mobilenet_v2")},
		nodes:  map[string]bool{},
		values: map[string]bool{},
	}
	b.build()
	if b.err != nil {
		return nil, b.err
	}
	return &onnxpb.ModelProto{
		IrVersion:    proto.Int64(IRVersion),
		OpsetImport:  []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(Opset)}},
		ProducerName: proto.String(ProducerName),
		DocString:    proto.String(cfg.describe()),
		Graph:        b.graph,
	}, nil
}

// MobileNetV2Bytes builds the model described by cfg and serializes it with
// Marshal.
func MobileNetV2Bytes(cfg MobileNetV2Config) ([]byte, error) {
	m, err := MobileNetV2(cfg)
	if err != nil {
		return nil, err
	}
	return Marshal(m)
}

// Marshal serializes m deterministically: equal models give equal bytes.
func Marshal(m *onnxpb.ModelProto) ([]byte, error) {
	return proto.MarshalOptions{Deterministic: true}.Marshal(m)
}

func (cfg MobileNetV2Config) describe() string {
	var blocks []string
	for _, b := range cfg.Blocks {
		blocks = append(blocks, fmt.Sprintf("(%d,%d,%d,%d)", b.Expand, b.Channels, b.Repeats, b.Stride))
	}
	return fmt.Sprintf("MobileNetV2 test model: width %g, resolution %d, %d classes, stem %d, last %d, blocks (t,c,n,s) %s, fold_bn %t, seed %d. Random weights, not trained.",
		cfg.Width, cfg.Resolution, cfg.NumClasses, cfg.StemChannels, cfg.LastChannels,
		strings.Join(blocks, " "), cfg.FoldBN, cfg.Seed)
}

// value is an NCHW activation in the graph being built, with its data for
// the calibration batch: [calBatch, c, h, w].
type value struct {
	name    string
	c, h, w int
	data    []float32
}

type builder struct {
	cfg      MobileNetV2Config
	graph    *onnxpb.GraphProto
	nodes    map[string]bool // node names
	values   map[string]bool // value and initializer names
	calBatch int             // images in the batch that sets the BN statistics
	err      error
}

// calibrationPixels is the least number of input pixels per channel in the
// batch that sets the BN statistics (four images at 224x224).
const calibrationPixels = 200000

func (b *builder) fail(format string, args ...any) {
	if b.err == nil {
		b.err = fmt.Errorf("models: "+format, args...)
	}
}

func (b *builder) build() {
	cfg := b.cfg
	r := cfg.Resolution
	b.calBatch = (calibrationPixels + r*r - 1) / (r * r)
	in := value{name: InputName, c: 3, h: r, w: r}
	cal := b.rng("bn_calibration_input")
	for range b.calBatch {
		in.data = append(in.data, imageLike(cal, 3, r)...)
	}
	b.values[InputName] = true
	b.graph.Input = []*onnxpb.ValueInfoProto{b.valueInfo(InputName, 3, r, r)}
	b.initializer(ClipMinName, nil, []float32{0})
	b.initializer(ClipMaxName, nil, []float32{6})

	x := b.convBN(in, "features.0.0", "features.0.1", cfg.StemChannels, 3, 2, 1)
	x = b.relu6(x, "features.0.2")
	idx := 1
	for _, bs := range cfg.Blocks {
		out := makeDivisible(float64(bs.Channels)*cfg.Width, 8)
		for i := range bs.Repeats {
			stride := 1
			if i == 0 {
				stride = bs.Stride
			}
			x = b.invertedResidual(x, idx, out, stride, bs.Expand)
			idx++
		}
	}
	p := fmt.Sprintf("features.%d", idx)
	x = b.convBN(x, p+".0", p+".1", cfg.LastChannels, 1, 1, 1)
	x = b.relu6(x, p+".2")
	if b.err != nil {
		return
	}

	pooled := b.node("GlobalAveragePool", "avgpool", []string{x.name}, nil)
	b.addValueInfo(pooled, x.c, 1, 1)
	flat := b.node("Flatten", "flatten", []string{pooled}, []*onnxpb.AttributeProto{attrInt("axis", 1)})
	b.addValueInfo(flat, x.c)

	k := cfg.NumClasses
	wName, bName := "classifier.1.weight", "classifier.1.bias"
	weight := b.normal(wName, k*x.c, 0, 0.01)
	// Like a classifier trained on balanced classes, the bias centers each
	// logit over the calibration batch, so that the logits (and their argmax)
	// depend on the input rather than on a constant offset.
	mean, _ := channelStats(x, b.calBatch)
	bias := b.normal(bName, k, 0, 0.002)
	for j := range k {
		var dot float64
		for i, m := range mean {
			dot += float64(float64(weight[j*x.c+i]) * m)
		}
		bias[j] = float32(float64(bias[j]) - dot)
	}
	b.initializer(wName, []int64{int64(k), int64(x.c)}, weight)
	b.initializer(bName, []int64{int64(k)}, bias)
	b.nodeOut("Gemm", "classifier.1", []string{flat, wName, bName}, OutputName, []*onnxpb.AttributeProto{
		attrFloat("alpha", 1), attrFloat("beta", 1), attrInt("transB", 1),
	})
	b.graph.Output = []*onnxpb.ValueInfoProto{b.valueInfo(OutputName, k)}
}

// invertedResidual appends features.<idx>, torchvision's InvertedResidual.
func (b *builder) invertedResidual(x value, idx, out, stride, expand int) value {
	p := fmt.Sprintf("features.%d.conv", idx)
	hidden := x.c * expand
	h := x
	layer := 0
	if expand != 1 {
		h = b.convBN(h, p+".0.0", p+".0.1", hidden, 1, 1, 1)
		h = b.relu6(h, p+".0.2")
		layer = 1
	}
	dw := fmt.Sprintf("%s.%d", p, layer)
	h = b.convBN(h, dw+".0", dw+".1", hidden, 3, stride, hidden)
	h = b.relu6(h, dw+".2")
	h = b.convBN(h, fmt.Sprintf("%s.%d", p, layer+1), fmt.Sprintf("%s.%d", p, layer+2), out, 1, 1, 1)
	if stride == 1 && x.c == out {
		h = b.add(x, h, fmt.Sprintf("features.%d.add", idx))
	}
	return h
}

// convBN appends a bias-free Conv (kernel k, padding (k-1)/2) and its
// BatchNormalization, or with FoldBN a single Conv with the BN folded in.
func (b *builder) convBN(x value, convName, bnName string, cout, k, stride, groups int) value {
	if b.err != nil {
		return x
	}
	pad := (k - 1) / 2
	if x.c%groups != 0 || cout%groups != 0 {
		b.fail("%s: %d->%d channels with %d groups", convName, x.c, cout, groups)
		return x
	}
	cinG := x.c / groups
	ho := (x.h+2*pad-k)/stride + 1
	wo := (x.w+2*pad-k)/stride + 1
	if ho < 1 || wo < 1 {
		b.fail("%s: input %dx%d too small", convName, x.h, x.w)
		return x
	}

	// torchvision: nn.init.kaiming_normal_(w, mode="fan_out"), where torch's
	// fan_out is out_channels * kh * kw (groups are not divided out).
	wName := convName + ".weight"
	weight := b.normal(wName, cout*cinG*k*k, 0, math.Sqrt(2/float64(cout*k*k)))
	out := value{c: cout, h: ho, w: wo, data: convForward(x, b.calBatch, weight, cout, k, stride, pad, ho, wo)}
	mean, vari := channelStats(out, b.calBatch)

	gamma := b.uniform(bnName+".weight", cout, 0.7, 1.3)
	beta := b.normal(bnName+".bias", cout, 0, 0.1)
	runMean := b.normal(bnName+".running_mean", cout, 0, 0.1)
	runVar := b.uniform(bnName+".running_var", cout, 0.8, 1.25)
	scale := make([]float64, cout)
	for c := range cout {
		sd := math.Sqrt(vari[c])
		runMean[c] = float32(mean[c] + float64(float64(runMean[c])*sd))
		runVar[c] = float32(max(vari[c], 1e-6) * float64(runVar[c]))
		scale[c] = float64(gamma[c]) / math.Sqrt(float64(runVar[c])+BNEpsilon)
	}
	plane := ho * wo
	for i := range out.data {
		c := i / plane % cout
		out.data[i] = float32(float64(float64(out.data[i]-runMean[c])*scale[c]) + float64(beta[c]))
	}

	wDims := []int64{int64(cout), int64(cinG), int64(k), int64(k)}
	attrs := []*onnxpb.AttributeProto{
		attrInts("dilations", 1, 1),
		attrInt("group", int64(groups)),
		attrInts("kernel_shape", int64(k), int64(k)),
		attrInts("pads", int64(pad), int64(pad), int64(pad), int64(pad)),
		attrInts("strides", int64(stride), int64(stride)),
	}
	if b.cfg.FoldBN {
		per := cinG * k * k
		for c := range cout {
			for i := c * per; i < (c+1)*per; i++ {
				weight[i] = float32(float64(weight[i]) * scale[c])
			}
		}
		bias := make([]float32, cout)
		for c := range cout {
			bias[c] = float32(float64(beta[c]) - float64(float64(runMean[c])*scale[c]))
		}
		bName := convName + ".bias"
		b.initializer(wName, wDims, weight)
		b.initializer(bName, []int64{int64(cout)}, bias)
		out.name = b.node("Conv", convName, []string{x.name, wName, bName}, attrs)
		b.addValueInfo(out.name, cout, ho, wo)
		return out
	}

	b.initializer(wName, wDims, weight)
	y := b.node("Conv", convName, []string{x.name, wName}, attrs)
	b.addValueInfo(y, cout, ho, wo)
	names := []string{".weight", ".bias", ".running_mean", ".running_var"}
	for i, t := range [][]float32{gamma, beta, runMean, runVar} {
		b.initializer(bnName+names[i], []int64{int64(cout)}, t)
	}
	out.name = b.node("BatchNormalization", bnName,
		[]string{y, bnName + ".weight", bnName + ".bias", bnName + ".running_mean", bnName + ".running_var"},
		[]*onnxpb.AttributeProto{attrFloat("epsilon", BNEpsilon), attrFloat("momentum", BNMomentum)})
	b.addValueInfo(out.name, cout, ho, wo)
	return out
}

// relu6 appends Clip(x, 0, 6).
func (b *builder) relu6(x value, name string) value {
	if b.err != nil {
		return x
	}
	out := value{c: x.c, h: x.h, w: x.w, data: make([]float32, len(x.data))}
	for i, v := range x.data {
		out.data[i] = min(max(v, 0), 6)
	}
	out.name = b.node("Clip", name, []string{x.name, ClipMinName, ClipMaxName}, nil)
	b.addValueInfo(out.name, x.c, x.h, x.w)
	return out
}

// add appends the residual Add(x, y).
func (b *builder) add(x, y value, name string) value {
	if b.err != nil {
		return x
	}
	out := value{c: x.c, h: x.h, w: x.w, data: make([]float32, len(x.data))}
	for i := range x.data {
		out.data[i] = x.data[i] + y.data[i]
	}
	out.name = b.node("Add", name, []string{x.name, y.name}, nil)
	b.addValueInfo(out.name, x.c, x.h, x.w)
	return out
}

// node appends a node with one output named "<name>_output" and returns
// that output's name.
func (b *builder) node(op, name string, inputs []string, attrs []*onnxpb.AttributeProto) string {
	out := name + "_output"
	b.nodeOut(op, name, inputs, out, attrs)
	return out
}

func (b *builder) nodeOut(op, name string, inputs []string, output string, attrs []*onnxpb.AttributeProto) {
	if b.nodes[name] {
		b.fail("duplicate node name %q", name)
	}
	b.nodes[name] = true
	for _, in := range inputs {
		if !b.values[in] {
			b.fail("node %q reads undefined value %q", name, in)
		}
	}
	b.defineValue(output)
	b.graph.Node = append(b.graph.Node, &onnxpb.NodeProto{
		Name:      proto.String(name),
		OpType:    proto.String(op),
		Input:     inputs,
		Output:    []string{output},
		Attribute: attrs,
	})
}

func (b *builder) defineValue(name string) {
	if b.values[name] {
		b.fail("duplicate value name %q", name)
	}
	b.values[name] = true
}

// initializer appends a float32 initializer stored as little-endian raw_data.
func (b *builder) initializer(name string, dims []int64, data []float32) {
	b.defineValue(name)
	raw := make([]byte, 4*len(data))
	for i, v := range data {
		u := math.Float32bits(v)
		raw[4*i], raw[4*i+1], raw[4*i+2], raw[4*i+3] = byte(u), byte(u>>8), byte(u>>16), byte(u>>24)
	}
	b.graph.Initializer = append(b.graph.Initializer, &onnxpb.TensorProto{
		Name:     proto.String(name),
		Dims:     dims,
		DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)),
		RawData:  raw,
	})
}

// valueInfo describes a float32 tensor of shape [batch, dims...].
func (b *builder) valueInfo(name string, dims ...int) *onnxpb.ValueInfoProto {
	batch := &onnxpb.TensorShapeProto_Dimension{}
	if b.cfg.BatchSize > 0 {
		batch.Value = &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: int64(b.cfg.BatchSize)}
	} else {
		batch.Value = &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: BatchDim}
	}
	shape := &onnxpb.TensorShapeProto{Dim: []*onnxpb.TensorShapeProto_Dimension{batch}}
	for _, d := range dims {
		shape.Dim = append(shape.Dim, &onnxpb.TensorShapeProto_Dimension{
			Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: int64(d)},
		})
	}
	return &onnxpb.ValueInfoProto{
		Name: proto.String(name),
		Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{
			ElemType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)),
			Shape:    shape,
		}}},
	}
}

func (b *builder) addValueInfo(name string, dims ...int) {
	b.graph.ValueInfo = append(b.graph.ValueInfo, b.valueInfo(name, dims...))
}

// rng returns the random stream of the tensor called name: it depends only
// on the seed and the name.
func (b *builder) rng(name string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(name))
	return rand.New(rand.NewPCG(uint64(b.cfg.Seed), h.Sum64()))
}

func (b *builder) normal(name string, n int, mean, std float64) []float32 {
	r := b.rng(name)
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(mean + std*r.NormFloat64())
	}
	return out
}

func (b *builder) uniform(name string, n int, lo, hi float64) []float32 {
	r := b.rng(name)
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(lo + (hi-lo)*r.Float64())
	}
	return out
}

func attrInt(name string, v int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(v)}
}

func attrInts(name string, v ...int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INTS.Enum(), Ints: v}
}

func attrFloat(name string, v float32) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_FLOAT.Enum(), F: proto.Float32(v)}
}
