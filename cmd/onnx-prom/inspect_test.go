package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onnx-prom/onnx-prom/onnx"
	"github.com/onnx-prom/onnx-prom/onnx/inspect"
	"github.com/onnx-prom/onnx-prom/onnx/onnxpb"
	"github.com/onnx-prom/onnx-prom/testdata/models"
	"google.golang.org/protobuf/proto"
)

func inspectRun(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestInspectTiny(t *testing.T) {
	path := "../../testdata/models/tiny.onnx"
	code, out, errs := inspectRun("inspect", path)
	if code != exitOK || errs != "" {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	for _, want := range []string{"model       " + path, "[N,3,32,32]", "3 depthwise, 6 pointwise", "3 depthwise -> pointwise, 2 pointwise -> depthwise",
		"features.1.conv.0.0  -> features.1.conv.1", "batch N counted as 1"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	code, out, errs = inspectRun("inspect", "--json", path)
	if code != exitOK || errs != "" {
		t.Fatalf("--json: exit %d, stderr %q", code, errs)
	}
	var r inspect.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("--json output does not parse: %v", err)
	}
	if r.File != path || r.Convs.Depthwise != 3 || len(r.Chains) != 3 || r.Inputs[0].Shape != "N,3,32,32" {
		t.Errorf("JSON report %+v", r)
	}
	// Deterministic, and flags may follow the model.
	_, out2, _ := inspectRun("inspect", path, "--json")
	if out2 != out {
		t.Error("two --json runs differ")
	}
	// A fixed input shape removes the note and scales the MACs.
	code, out3, errs := inspectRun("inspect", path, "--json", "--shape", "input=2,3,32,32")
	var r2 inspect.Report
	if code != exitOK || json.Unmarshal([]byte(out3), &r2) != nil {
		t.Fatalf("--shape: exit %d, %s", code, errs)
	}
	if r2.MACs.Total != 2*r.MACs.Total || r2.MACs.Note != "" {
		t.Errorf("--shape batch 2: MACs %d (%q), batch 1 gave %d", r2.MACs.Total, r2.MACs.Note, r.MACs.Total)
	}
}

func TestInspectBadInput(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.onnx")
	if err := os.WriteFile(garbage, []byte("this is not a model"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A model whose conv weight expects 3 input channels where the input
	// has 8.
	mp := &onnxpb.ModelProto{IrVersion: proto.Int64(8),
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(13)}},
		Graph: &onnxpb.GraphProto{Name: proto.String("g"),
			Input: []*onnxpb.ValueInfoProto{{Name: proto.String("x"), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{
				ElemType: proto.Int32(1), Shape: &onnxpb.TensorShapeProto{Dim: []*onnxpb.TensorShapeProto_Dimension{
					{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: 1}}, {Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: 8}},
					{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: 4}}, {Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: 4}}}}}}}}},
			Initializer: []*onnxpb.TensorProto{{Name: proto.String("w"), DataType: proto.Int32(1), Dims: []int64{4, 3, 1, 1}, FloatData: make([]float32, 12)}},
			Node:        []*onnxpb.NodeProto{{Name: proto.String("conv7"), OpType: proto.String("Conv"), Input: []string{"x", "w"}, Output: []string{"y"}}},
			Output:      []*onnxpb.ValueInfoProto{{Name: proto.String("y")}},
		}}
	badConv := filepath.Join(dir, "bad_conv.onnx")
	if err := onnx.Save(badConv, mp); err != nil {
		t.Fatal(err)
	}
	// An initializer with an overflowing shape.
	mp2 := proto.Clone(mp).(*onnxpb.ModelProto)
	mp2.Graph.Initializer = append(mp2.Graph.Initializer, &onnxpb.TensorProto{Name: proto.String("huge"), DataType: proto.Int32(1), Dims: []int64{1 << 40, 1 << 40}})
	mp2.Graph.Initializer[0].Dims = []int64{4, 8, 1, 1}
	mp2.Graph.Initializer[0].FloatData = make([]float32, 32)
	huge := filepath.Join(dir, "huge.onnx")
	if err := onnx.Save(huge, mp2); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"inspect", filepath.Join(dir, "missing.onnx")}, []string{"missing.onnx"}},
		{[]string{"inspect", garbage}, []string{"garbage.onnx", "not an ONNX model"}},
		{[]string{"inspect", badConv}, []string{"bad_conv.onnx", "conv7", "channels"}},
		{[]string{"inspect", huge}, []string{"huge.onnx", `"huge"`}},
		{[]string{"inspect"}, []string{"one MODEL"}},
		{[]string{"inspect", "a.onnx", "b.onnx"}, []string{"one MODEL"}},
		{[]string{"inspect", "--bogus", garbage}, []string{"bogus"}},
		{[]string{"inspect", "--shape", "x", garbage}, []string{"NAME="}},
		{[]string{"inspect", "--shape", "nope=1,8,4,4", badConv}, []string{"nope"}},
	} {
		code, out, errs := inspectRun(tc.args...)
		if code != exitUsage {
			t.Errorf("%v: exit %d, want %d", tc.args, code, exitUsage)
		}
		if out != "" {
			t.Errorf("%v: wrote to stdout: %q", tc.args, out)
		}
		first := strings.SplitN(errs, "\n", 2)[0]
		for _, w := range tc.want {
			if !strings.Contains(first, w) && !(strings.Contains(tc.args[1], "--") && strings.Contains(errs, w)) {
				t.Errorf("%v: stderr %q lacks %q", tc.args, errs, w)
			}
		}
	}
}

// TestInspectMobileNetV2 runs the command on torchvision's MobileNetV2,
// with BatchNormalization kept and folded.
func TestInspectMobileNetV2(t *testing.T) {
	dir := t.TempDir()
	for _, fold := range []bool{false, true} {
		cfg := models.Full()
		cfg.FoldBN = fold
		data, err := models.MobileNetV2Bytes(cfg)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "mobilenet_v2.onnx")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		code, out, errs := inspectRun("inspect", "--json", path)
		if code != exitOK {
			t.Fatalf("fold=%v: exit %d: %s", fold, code, errs)
		}
		var r inspect.Report
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatal(err)
		}
		// torchvision: 3,504,872 parameters, 300.78 M MACs (conv + linear).
		if r.Convs.Depthwise != 17 || r.Convs.Pointwise != 34 || r.Convs.SqueezeExcite != 0 || len(r.Chains) != 17 {
			t.Errorf("fold=%v: %d depthwise, %d pointwise, %d SE, %d chains; want 17, 34, 0, 17",
				fold, r.Convs.Depthwise, r.Convs.Pointwise, r.Convs.SqueezeExcite, len(r.Chains))
		}
		if math.Abs(float64(r.Params.Count)-3504872) > 0.005*3504872 {
			t.Errorf("fold=%v: %d parameters, want 3,504,872 within 0.5%%", fold, r.Params.Count)
		}
		if math.Abs(float64(r.MACs.Total)-300.78e6) > 0.005*300.78e6 {
			t.Errorf("fold=%v: %d MACs, want 300.78 M within 0.5%%", fold, r.MACs.Total)
		}
		t.Logf("fold=%v: %d depthwise, %d pointwise, %d chains, %d parameters, %.2f M MACs (%s)",
			fold, r.Convs.Depthwise, r.Convs.Pointwise, len(r.Chains), r.Params.Count, float64(r.MACs.Total)/1e6, r.MACs.Note)
	}
}
