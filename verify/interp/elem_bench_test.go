package interp

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/onnx-prom/onnx-prom/onnx/ir"
	"github.com/onnx-prom/onnx-prom/onnx/onnxpb"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
	"google.golang.org/protobuf/proto"
)

// BenchmarkElem times the float32 kernels CNNs hit most, on a
// MobileNetV2-sized activation (1x96x112x112, 1.2 M elements).
func BenchmarkElem(b *testing.B) {
	x := elemF32(elemShape(1, 96, 112, 112), make([]float32, 96*112*112)...)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range x.Data.([]float32) {
		x.Data.([]float32)[i] = float32(r.NormFloat64() * 4) // unpredictable signs, as in a CNN
	}
	ch := elemF32(elemShape(96, 1, 1), elemIota(96)...)
	cases := []struct {
		name string
		nd   elemNode
	}{
		{"Add/same", elemNode{op: "Add", inputs: []*tensor.Tensor{x, x}}},
		{"Add/channel", elemNode{op: "Add", inputs: []*tensor.Tensor{x, ch}}},
		{"Mul/scalar", elemNode{op: "Mul", inputs: []*tensor.Tensor{x, elemF32(elemShape(), 0.5)}}},
		{"Relu", elemNode{op: "Relu", inputs: []*tensor.Tensor{x}}},
		{"Clip", elemNode{op: "Clip", inputs: []*tensor.Tensor{x, elemF32(elemShape(), 0), elemF32(elemShape(), 6)}}},
		{"HardSwish", elemNode{op: "HardSwish", inputs: []*tensor.Tensor{x}}},
		{"HardSigmoid", elemNode{op: "HardSigmoid", inputs: []*tensor.Tensor{x}}},
		{"Sigmoid", elemNode{op: "Sigmoid", inputs: []*tensor.Tensor{x}}},
		{"Concat", elemNode{op: "Concat", attrs: []*elemAttr{elemInt("axis", 1)}, inputs: []*tensor.Tensor{x, x}}},
		{"Reshape", elemNode{op: "Reshape", inputs: []*tensor.Tensor{x, elemI64(elemShape(2), 1, -1)}}},
		{"Transpose/NHWC", elemNode{op: "Transpose", attrs: []*elemAttr{elemInts("perm", 0, 2, 3, 1)}, inputs: []*tensor.Tensor{x}}},
		{"Softmax/last", elemNode{op: "Softmax", opset: 13, inputs: []*tensor.Tensor{x}}},
		{"ReduceMean/HW", elemNode{op: "ReduceMean", opset: 13, attrs: []*elemAttr{elemInts("axes", 2, 3)}, inputs: []*tensor.Tensor{x}}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			prog, feeds := elemCompile(b, c.nd)
			b.SetBytes(int64(4 * x.Len()))
			b.ResetTimer()
			for range b.N {
				res, err := prog.Run(feeds)
				if err != nil {
					b.Fatal(err)
				}
				_ = res
			}
		})
	}
}

// elemCompile is elemRun's model building for benchmarks.
func elemCompile(b *testing.B, nd elemNode) (*Program, map[string]*tensor.Tensor) {
	b.Helper()
	if nd.opset == 0 {
		nd.opset = 21
	}
	// The op's output feeds a Size node, so it is an intermediate whose
	// buffer the pool recycles, as inside a real model.
	node := &onnxpb.NodeProto{Name: proto.String("n0"), OpType: proto.String(nd.op), Attribute: nd.attrs, Output: []string{"mid"}}
	size := &onnxpb.NodeProto{Name: proto.String("n1"), OpType: proto.String("Size"), Input: []string{"mid"}, Output: []string{"out0"}}
	g := &onnxpb.GraphProto{Name: proto.String("g"), Output: []*onnxpb.ValueInfoProto{{Name: proto.String("out0")}}}
	feeds := map[string]*tensor.Tensor{}
	for i, in := range nd.inputs {
		name := fmt.Sprintf("in%d", i)
		node.Input = append(node.Input, name)
		g.Input = append(g.Input, &onnxpb.ValueInfoProto{Name: proto.String(name), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{
			TensorType: &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(in.Type))}}}})
		feeds[name] = in
	}
	g.Node = []*onnxpb.NodeProto{node, size}
	m, err := ir.FromProto(&onnxpb.ModelProto{IrVersion: proto.Int64(10),
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(nd.opset)}}, Graph: g})
	if err != nil {
		b.Fatal(err)
	}
	prog, err := Compile(m, Options{})
	if err != nil {
		b.Fatal(err)
	}
	return prog, feeds
}
