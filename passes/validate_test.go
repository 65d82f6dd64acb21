package passes

import (
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/onnx-prom/onnx-prom/onnx/ir"
	"github.com/onnx-prom/onnx-prom/onnx/onnxpb"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
	"google.golang.org/protobuf/proto"
)

// validCNN is x [1,3,8,8] -> conv1 (3x3) -> relu -> conv2 (1x1) -> y.
func validCNN(xDims ...int64) *onnxpb.ModelProto {
	if xDims == nil {
		xDims = []int64{1, 3, 8, 8}
	}
	w := func(name string, dims ...int64) *onnxpb.TensorProto {
		n, _ := tensor.NumElements(dims)
		f := make([]float32, n)
		for i := range f {
			f[i] = float32(i%5)*0.1 - 0.2
		}
		tp, _ := tensor.ToProto(tensor.FromFloat32(f, dims...), name)
		return tp
	}
	vi := func(name string, dims ...int64) *onnxpb.ValueInfoProto {
		sh := &onnxpb.TensorShapeProto{}
		for _, d := range dims {
			sh.Dim = append(sh.Dim, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d}})
		}
		if len(dims) == 0 {
			sh = nil // unknown shape
		}
		return &onnxpb.ValueInfoProto{Name: proto.String(name), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{
			TensorType: &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(tensor.Float)), Shape: sh}}}}
	}
	node := func(name, op string, in []string, out string, attrs ...*onnxpb.AttributeProto) *onnxpb.NodeProto {
		return &onnxpb.NodeProto{Name: proto.String(name), OpType: proto.String(op), Input: in, Output: []string{out}, Attribute: attrs}
	}
	return &onnxpb.ModelProto{
		IrVersion:   proto.Int64(8),
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(13)}},
		Graph: &onnxpb.GraphProto{
			Name:        proto.String("g"),
			Input:       []*onnxpb.ValueInfoProto{vi("x", xDims...)},
			Output:      []*onnxpb.ValueInfoProto{vi("y")},
			Initializer: []*onnxpb.TensorProto{w("w1", 4, 3, 3, 3), w("w2", 4, 4, 1, 1)},
			Node: []*onnxpb.NodeProto{
				node("conv1", "Conv", []string{"x", "w1"}, "h1", ir.IntsAttr("pads", 1, 1, 1, 1)),
				node("relu", "Relu", []string{"h1"}, "h2"),
				node("conv2", "Conv", []string{"h2", "w2"}, "y"),
			},
		},
	}
}

func TestInvalidModelErrors(t *testing.T) {
	if _, _, err := Convert(validCNN(), Options{Config: DefaultConfig()}); err != nil {
		t.Fatalf("the valid model: %v", err)
	}
	cases := []struct {
		name   string
		edit   func(m *onnxpb.ModelProto)
		limits Limits
		want   string
	}{
		{"dangling input", func(m *onnxpb.ModelProto) { m.Graph.Node[1].Input[0] = "nowhere" }, Limits{}, `"nowhere"`},
		{"raw_data too short", func(m *onnxpb.ModelProto) { m.Graph.Initializer[0].RawData = m.Graph.Initializer[0].RawData[:8] }, Limits{}, `"w1"`},
		{"channels", func(m *onnxpb.ModelProto) {
			w, _ := tensor.ToProto(tensor.FromFloat32(make([]float32, 20), 4, 5, 1, 1), "w2")
			m.Graph.Initializer[1] = w
		}, Limits{}, `"conv2"`},
		{"unsupported op", func(m *onnxpb.ModelProto) { m.Graph.Node[1].OpType = proto.String("Mystery") }, Limits{}, "not supported"},
		{"old opset", func(m *onnxpb.ModelProto) { m.OpsetImport[0].Version = proto.Int64(5) }, Limits{}, "opset 5"},
		{"tensor limit", func(*onnxpb.ModelProto) {}, Limits{MaxTensorBytes: 400}, `"w1"`},
		{"work budget", func(*onnxpb.ModelProto) {}, Limits{MaxWork: 1000}, "budget"},
	}
	for _, c := range cases {
		m := validCNN()
		c.edit(m)
		_, _, err := Convert(m, Options{Config: DefaultConfig(), Limits: c.limits})
		var invalid *InvalidModelError
		if !errors.As(err, &invalid) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want an InvalidModelError saying %q", c.name, err, c.want)
		}
	}
	// A failing pass on a valid model is a conversion failure.
	broken := &Pass{Name: "broken", Run: func(*State) (Result, error) { return Result{}, errors.New("broken pass") }}
	_, _, err := Convert(validCNN(), Options{Config: DefaultConfig(), Pipeline: Pipeline{broken}})
	var invalid *InvalidModelError
	if err == nil || errors.As(err, &invalid) {
		t.Errorf("failing pass: error %v, want a plain error", err)
	}
}

// TestSyntheticCalibrationLimit gives a model a declared input of 12 GiB:
// synthetic calibration refuses it before allocating anything.
func TestSyntheticCalibrationLimit(t *testing.T) {
	m := validCNN(3<<10, 3, 1024, 1024)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, _, err := Convert(m, Options{Config: DefaultConfig()})
	runtime.ReadMemStats(&after)
	var invalid *InvalidModelError
	if !errors.As(err, &invalid) || !errors.Is(err, tensor.ErrTooLarge) || !strings.Contains(err.Error(), `"x"`) {
		t.Fatalf("error %v, want an InvalidModelError wrapping ErrTooLarge naming x", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<20 {
		t.Fatalf("the conversion allocated %d bytes", grew)
	}
}
