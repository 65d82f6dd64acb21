package interp

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/onnx-prom/onnx-prom/onnx/ir"
	"github.com/onnx-prom/onnx-prom/onnx/onnxpb"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
	"google.golang.org/protobuf/proto"
)

// elemNode describes a one-node model for the elementwise/shape tests.
type elemNode struct {
	op      string
	opset   int64
	attrs   []*onnxpb.AttributeProto
	inputs  []*tensor.Tensor // nil entries are omitted optional inputs
	outputs int              // default 1
}

// elemModel builds the one-node model: every present input is a graph
// input, so kernels see run-time tensors. It returns the feeds too.
func elemModel(nd elemNode) (*onnxpb.ModelProto, map[string]*tensor.Tensor) {
	if nd.outputs == 0 {
		nd.outputs = 1
	}
	if nd.opset == 0 {
		nd.opset = 21
	}
	node := &onnxpb.NodeProto{Name: proto.String("n0"), OpType: proto.String(nd.op), Attribute: nd.attrs}
	g := &onnxpb.GraphProto{Name: proto.String("g")}
	feeds := map[string]*tensor.Tensor{}
	for i, in := range nd.inputs {
		if in == nil {
			node.Input = append(node.Input, "")
			continue
		}
		name := fmt.Sprintf("in%d", i)
		node.Input = append(node.Input, name)
		g.Input = append(g.Input, &onnxpb.ValueInfoProto{Name: proto.String(name), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{
			TensorType: &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(in.Type))}}}})
		feeds[name] = in
	}
	for i := range nd.outputs {
		name := fmt.Sprintf("out%d", i)
		node.Output = append(node.Output, name)
		g.Output = append(g.Output, &onnxpb.ValueInfoProto{Name: proto.String(name)})
	}
	g.Node = []*onnxpb.NodeProto{node}
	return &onnxpb.ModelProto{
		IrVersion:   proto.Int64(10),
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(nd.opset)}},
		Graph:       g,
	}, feeds
}

// elemRun compiles the node's model and runs it once.
func elemRun(t *testing.T, nd elemNode) ([]*tensor.Tensor, error) {
	t.Helper()
	mp, feeds := elemModel(nd)
	m, err := ir.FromProto(mp)
	if err != nil {
		t.Fatal(err)
	}
	prog, err := Compile(m, Options{Threads: 2})
	if err != nil {
		return nil, err
	}
	res, err := prog.Run(feeds)
	if err != nil {
		return nil, err
	}
	outs := make([]*tensor.Tensor, len(mp.GetGraph().GetOutput()))
	for i := range outs {
		outs[i] = res[fmt.Sprintf("out%d", i)]
	}
	return outs, nil
}

// elemOne runs a one-output node and fails the test on error.
func elemOne(t *testing.T, nd elemNode) *tensor.Tensor {
	t.Helper()
	out, err := elemRun(t, nd)
	if err != nil {
		t.Fatalf("%s: %v", nd.op, err)
	}
	return out[0]
}

// elemFails checks that the node fails with an error naming it and
// containing want.
func elemFails(t *testing.T, nd elemNode, want string) {
	t.Helper()
	_, err := elemRun(t, nd)
	if err == nil {
		t.Fatalf("%s: no error, want one containing %q", nd.op, want)
	}
	if !strings.Contains(err.Error(), "n0") || !strings.Contains(err.Error(), want) {
		t.Fatalf("%s: error %q does not name the node or lacks %q", nd.op, err, want)
	}
}

func elemF32(shape []int64, v ...float32) *tensor.Tensor {
	return &tensor.Tensor{Type: tensor.Float, Shape: shape, Data: v}
}

func elemI64(shape []int64, v ...int64) *tensor.Tensor {
	return &tensor.Tensor{Type: tensor.Int64, Shape: shape, Data: v}
}

func elemShape(d ...int64) []int64 {
	if d == nil {
		return []int64{}
	}
	return d
}

func elemIota(n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(i)
	}
	return v
}

func elemInts(name string, v ...int64) *onnxpb.AttributeProto { return ir.IntsAttr(name, v...) }
func elemInt(name string, v int64) *onnxpb.AttributeProto     { return ir.IntAttr(name, v) }
func elemFloat(name string, v float32) *onnxpb.AttributeProto { return ir.FloatAttr(name, v) }
func elemStr(name, v string) *onnxpb.AttributeProto           { return ir.StringAttr(name, v) }

// elemExpect compares got with the expected type, shape and values (floats
// within 1e-5 relative + 1e-6 absolute; NaN matches NaN).
func elemExpect(t *testing.T, got *tensor.Tensor, dt tensor.DataType, shape []int64, want any) {
	t.Helper()
	if got == nil {
		t.Fatalf("no output")
	}
	if got.Type != dt {
		t.Fatalf("type %s, want %s", tensor.Name(got.Type), tensor.Name(dt))
	}
	if fmt.Sprint(got.Shape) != fmt.Sprint(shape) {
		t.Fatalf("shape %v, want %v", got.Shape, shape)
	}
	w := &tensor.Tensor{Type: dt, Shape: shape, Data: want}
	if w.Len() != got.Len() {
		t.Fatalf("%d elements, want %d", got.Len(), w.Len())
	}
	switch dt {
	case tensor.Float, tensor.Double, tensor.Float16, tensor.BFloat16T:
		gv, _ := got.Float64s()
		wv, _ := w.Float64s()
		for i := range wv {
			if math.IsNaN(wv[i]) && math.IsNaN(gv[i]) || wv[i] == gv[i] {
				continue
			}
			if math.Abs(gv[i]-wv[i]) > 1e-6+1e-5*math.Abs(wv[i]) {
				t.Fatalf("element %d: %v, want %v\n got  %v\n want %v", i, gv[i], wv[i], gv, wv)
			}
		}
	case tensor.String:
		gs, ws := got.Data.([][]byte), want.([][]byte)
		for i := range ws {
			if string(gs[i]) != string(ws[i]) {
				t.Fatalf("element %d: %q, want %q", i, gs[i], ws[i])
			}
		}
	default:
		if fmt.Sprint(got.Data) != fmt.Sprint(want) {
			t.Fatalf("got %v, want %v", got.Data, want)
		}
	}
}

type elemAttr = onnxpb.AttributeProto

func elemTensorAttr(t *testing.T, name string, v *tensor.Tensor) *onnxpb.AttributeProto {
	t.Helper()
	tp, err := tensor.ToProto(v, "")
	if err != nil {
		t.Fatal(err)
	}
	return ir.TensorAttr(name, tp)
}
