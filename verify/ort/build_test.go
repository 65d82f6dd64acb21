package ort_test

import (
	"encoding/binary"
	"math"
	"testing"

	"google.golang.org/protobuf/proto"

	pb "github.com/onnx-prom/onnx-prom/onnx/onnxpb"
)

// Small hand-written builders for ONNX protos, enough for the models below.

// valueInfo describes a tensor; each dim is an int (fixed) or a string
// (symbolic). No dims at all means a scalar.
func valueInfo(name string, elem pb.TensorProto_DataType, dims ...any) *pb.ValueInfoProto {
	shape := &pb.TensorShapeProto{Dim: []*pb.TensorShapeProto_Dimension{}}
	for _, d := range dims {
		switch d := d.(type) {
		case int:
			shape.Dim = append(shape.Dim, &pb.TensorShapeProto_Dimension{
				Value: &pb.TensorShapeProto_Dimension_DimValue{DimValue: int64(d)}})
		case string:
			shape.Dim = append(shape.Dim, &pb.TensorShapeProto_Dimension{
				Value: &pb.TensorShapeProto_Dimension_DimParam{DimParam: d}})
		default:
			panic("bad dim")
		}
	}
	return &pb.ValueInfoProto{
		Name: proto.String(name),
		Type: &pb.TypeProto{Value: &pb.TypeProto_TensorType{TensorType: &pb.TypeProto_Tensor{
			ElemType: proto.Int32(int32(elem)),
			Shape:    shape,
		}}},
	}
}

// floatTensor is an initializer holding float32 values in raw_data.
func floatTensor(name string, dims []int64, vals []float32) *pb.TensorProto {
	raw := make([]byte, 4*len(vals))
	for i, v := range vals {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	return &pb.TensorProto{
		Name:     proto.String(name),
		Dims:     dims,
		DataType: proto.Int32(int32(pb.TensorProto_FLOAT)),
		RawData:  raw,
	}
}

// pack2 packs 2-bit two's complement values (-2..1) four to a byte, the
// first element in bits 0-1, as ONNX stores INT2 in raw_data.
func pack2(vals []int8) []byte {
	out := make([]byte, (len(vals)+3)/4)
	for i, v := range vals {
		if v < -2 || v > 1 {
			panic("INT2 value out of range")
		}
		out[i/4] |= byte(v&3) << (2 * (i % 4))
	}
	return out
}

func int2Tensor(name string, dims []int64, vals []int8) *pb.TensorProto {
	return &pb.TensorProto{
		Name:     proto.String(name),
		Dims:     dims,
		DataType: proto.Int32(int32(pb.TensorProto_INT2)),
		RawData:  pack2(vals),
	}
}

func node(op string, in, out []string, attrs ...*pb.AttributeProto) *pb.NodeProto {
	return &pb.NodeProto{OpType: proto.String(op), Input: in, Output: out, Attribute: attrs}
}

func intAttr(name string, v int64) *pb.AttributeProto {
	return &pb.AttributeProto{Name: proto.String(name), Type: pb.AttributeProto_INT.Enum(), I: proto.Int64(v)}
}

func opset(domain string, version int64) *pb.OperatorSetIdProto {
	return &pb.OperatorSetIdProto{Domain: proto.String(domain), Version: proto.Int64(version)}
}

// marshalModel wraps graph into a model with the given IR version and
// opsets and serialises it.
func marshalModel(t testing.TB, ir int64, opsets []*pb.OperatorSetIdProto, graph *pb.GraphProto, funcs ...*pb.FunctionProto) []byte {
	t.Helper()
	m := &pb.ModelProto{
		IrVersion:    proto.Int64(ir),
		OpsetImport:  opsets,
		ProducerName: proto.String("onnx-prom verify/ort test"),
		Graph:        graph,
		Functions:    funcs,
	}
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatalf("marshal model: %v", err)
	}
	return b
}
