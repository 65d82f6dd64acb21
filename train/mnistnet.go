package train

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/onnx-prom/onnx-prom/onnx/onnxpb"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
	"google.golang.org/protobuf/proto"
)

// SepBlock is one depthwise-separable block of a SeparableNet: a 3x3
// depthwise conv (with Stride) + BatchNormalization + ReLU6, then a 1x1
// pointwise conv to Out channels + BatchNormalization, followed by ReLU6,
// or, with Residual (stride 1, same width), added to the block's input
// (MobileNetV2's linear bottleneck).
type SepBlock struct {
	Out      int
	Stride   int
	Residual bool
}

// SeparableNetConfig describes a small depthwise-separable classifier.
type SeparableNetConfig struct {
	// Input is the per-sample input shape [C, H, W].
	Input [3]int
	// Stem is the width of the first (3x3, stride StemStride, int8) conv.
	Stem       int
	StemStride int
	Blocks     []SepBlock
	Classes    int
	Seed       uint64
}

// MNISTNetConfig is the acceptance network for MNIST digits: a 3x3 stem
// conv to 16 channels at 28x28, five depthwise-separable blocks (16->32
// at 14x14, 32->32 residual, 32->64 at 7x7, 64->64 residual, 64->128),
// global average pooling and a Gemm to 10 classes: 1.27 M
// multiply-accumulates, 19.2 k conv and Gemm weights, 79% of the MACs in the five
// pointwise convs.
func MNISTNetConfig(seed uint64) SeparableNetConfig {
	return SeparableNetConfig{
		Input: [3]int{1, 28, 28}, Stem: 16, StemStride: 1, Classes: 10, Seed: seed,
		Blocks: []SepBlock{
			{Out: 32, Stride: 2},
			{Out: 32, Stride: 1, Residual: true},
			{Out: 64, Stride: 2},
			{Out: 64, Stride: 1, Residual: true},
			{Out: 128, Stride: 1},
		},
	}
}

// MNISTNet builds MNISTNetConfig(seed) (see SeparableNet).
func MNISTNet(seed uint64) (*onnxpb.ModelProto, error) { return SeparableNet(MNISTNetConfig(seed)) }

// SeparableNet builds the network as an ONNX model (opset 13, IR 8) with
// seeded random weights: convs He-initialized (normal, std sqrt(2/fan_out)),
// the classifier N(0, 0.01), BatchNormalization with gamma 1, beta 0,
// mean 0, variance 1. The input is "input" [N, C, H, W] with a symbolic
// batch N; the output "logits" [N, Classes].
func SeparableNet(cfg SeparableNetConfig) (*onnxpb.ModelProto, error) {
	c, h, w := cfg.Input[0], cfg.Input[1], cfg.Input[2]
	if c < 1 || h < 3 || w < 3 || cfg.Stem < 1 || cfg.Classes < 2 || cfg.StemStride < 1 {
		return nil, fmt.Errorf("separable net: invalid input %v, stem %d/%d or classes %d", cfg.Input, cfg.Stem, cfg.StemStride, cfg.Classes)
	}
	b := &netBuilder{rng: rand.New(rand.NewPCG(cfg.Seed, 0x6d6e697374)), g: &onnxpb.GraphProto{Name: proto.String("separable_net")}}
	b.g.Input = []*onnxpb.ValueInfoProto{floatInfo("input", c, h, w)}
	clipLo, _ := tensor.ToProto(tensor.FromFloat32([]float32{0}), "relu6_min")
	clipHi, _ := tensor.ToProto(tensor.FromFloat32([]float32{6}), "relu6_max")
	b.g.Initializer = append(b.g.Initializer, clipLo, clipHi)

	x := b.conv("input", "stem", c, cfg.Stem, 3, cfg.StemStride, 1)
	x = b.bn(x, "stem_bn", cfg.Stem)
	x = b.relu6(x, "stem_relu")
	ch := cfg.Stem
	for i, blk := range cfg.Blocks {
		if blk.Out < 1 || blk.Stride < 1 || blk.Residual && (blk.Stride != 1 || blk.Out != ch) {
			return nil, fmt.Errorf("separable net: block %d (%+v) is invalid for %d input channels", i, blk, ch)
		}
		name := fmt.Sprintf("block%d", i+1)
		y := b.conv(x, name+"_dw", ch, ch, 3, blk.Stride, ch)
		y = b.bn(y, name+"_dw_bn", ch)
		y = b.relu6(y, name+"_dw_relu")
		y = b.conv(y, name+"_pw", ch, blk.Out, 1, 1, 1)
		y = b.bn(y, name+"_pw_bn", blk.Out)
		if blk.Residual {
			y = b.node("Add", name+"_add", x, y)
		} else {
			y = b.relu6(y, name+"_pw_relu")
		}
		x, ch = y, blk.Out
	}
	x = b.node("GlobalAveragePool", "pool", x)
	x = b.node("Flatten", "flatten", x)
	wt := b.normal(cfg.Classes*ch, 0.01)
	b.init("fc.weight", wt, cfg.Classes, ch)
	b.init("fc.bias", make([]float32, cfg.Classes), cfg.Classes)
	gemm := &onnxpb.NodeProto{Name: proto.String("fc"), OpType: proto.String("Gemm"), Input: []string{x, "fc.weight", "fc.bias"},
		Output: []string{"logits"}, Attribute: []*onnxpb.AttributeProto{{Name: proto.String("transB"), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(1)}}}
	b.g.Node = append(b.g.Node, gemm)
	b.g.Output = []*onnxpb.ValueInfoProto{floatInfo("logits", cfg.Classes)}
	return &onnxpb.ModelProto{
		IrVersion:    proto.Int64(8),
		ProducerName: proto.String("onnx-prom train.SeparableNet"),
		OpsetImport:  []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(13)}},
		Graph:        b.g,
	}, nil
}

type netBuilder struct {
	rng *rand.Rand
	g   *onnxpb.GraphProto
}

func floatInfo(name string, dims ...int) *onnxpb.ValueInfoProto {
	shape := &onnxpb.TensorShapeProto{Dim: []*onnxpb.TensorShapeProto_Dimension{{Value: &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: "N"}}}}
	for _, d := range dims {
		shape.Dim = append(shape.Dim, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: int64(d)}})
	}
	return &onnxpb.ValueInfoProto{Name: proto.String(name), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{
		ElemType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), Shape: shape}}}}
}

func (b *netBuilder) normal(n int, std float64) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(b.rng.NormFloat64() * std)
	}
	return out
}

func (b *netBuilder) init(name string, data []float32, dims ...int) {
	d := make([]int64, len(dims))
	for i, v := range dims {
		d[i] = int64(v)
	}
	tp, err := tensor.ToProto(tensor.FromFloat32(data, d...), name)
	if err != nil {
		panic(err) // float32 tensors always encode
	}
	b.g.Initializer = append(b.g.Initializer, tp)
}

func (b *netBuilder) node(op, name string, inputs ...string) string {
	out := name + "_out"
	b.g.Node = append(b.g.Node, &onnxpb.NodeProto{Name: proto.String(name), OpType: proto.String(op), Input: inputs, Output: []string{out}})
	return out
}

func ints(name string, v ...int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INTS.Enum(), Ints: v}
}

func (b *netBuilder) conv(x, name string, cin, cout, k, stride, group int) string {
	fanOut := cout * k * k
	b.init(name+".weight", b.normal(cout*cin/group*k*k, math.Sqrt(2/float64(fanOut))), cout, cin/group, k, k)
	out := b.node("Conv", name, x, name+".weight")
	n := b.g.Node[len(b.g.Node)-1]
	p := int64((k - 1) / 2)
	n.Attribute = []*onnxpb.AttributeProto{
		ints("kernel_shape", int64(k), int64(k)), ints("strides", int64(stride), int64(stride)),
		ints("pads", p, p, p, p), {Name: proto.String("group"), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(int64(group))},
	}
	return out
}

func (b *netBuilder) bn(x, name string, c int) string {
	ones := make([]float32, c)
	for i := range ones {
		ones[i] = 1
	}
	b.init(name+".weight", ones, c)
	b.init(name+".bias", make([]float32, c), c)
	b.init(name+".running_mean", make([]float32, c), c)
	b.init(name+".running_var", append([]float32{}, ones...), c)
	out := b.node("BatchNormalization", name, x, name+".weight", name+".bias", name+".running_mean", name+".running_var")
	n := b.g.Node[len(b.g.Node)-1]
	n.Attribute = []*onnxpb.AttributeProto{
		{Name: proto.String("epsilon"), Type: onnxpb.AttributeProto_FLOAT.Enum(), F: proto.Float32(1e-5)},
		{Name: proto.String("momentum"), Type: onnxpb.AttributeProto_FLOAT.Enum(), F: proto.Float32(0.9)},
	}
	return out
}

func (b *netBuilder) relu6(x, name string) string {
	return b.node("Clip", name, x, "relu6_min", "relu6_max")
}
