package ort_test

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	pb "github.com/onnx-prom/onnx-prom/onnx/onnxpb"
	"github.com/onnx-prom/onnx-prom/verify/ort"
)

func TestMain(m *testing.M) {
	if err := ort.Available(); err == nil {
		fmt.Fprintf(os.Stderr, "verify/ort: ONNX Runtime %s from %s\n", ort.Version(), ort.LibraryPath())
	}
	os.Exit(m.Run())
}

// mlpModel is Y = Relu(MatMul(X, W) + B) with X: float[N,3], W: [3,2], B: [2].
func mlpModel(t testing.TB, ir, opsetVersion int64) []byte {
	g := &pb.GraphProto{
		Name: proto.String("mlp"),
		Node: []*pb.NodeProto{
			node("MatMul", []string{"X", "W"}, []string{"XW"}),
			node("Add", []string{"XW", "B"}, []string{"Z"}),
			node("Relu", []string{"Z"}, []string{"Y"}),
		},
		Initializer: []*pb.TensorProto{
			floatTensor("W", []int64{3, 2}, []float32{
				1, -1,
				0.5, 2,
				-1, 0,
			}),
			floatTensor("B", []int64{2}, []float32{4, -2}),
		},
		Input:  []*pb.ValueInfoProto{valueInfo("X", pb.TensorProto_FLOAT, "N", 3)},
		Output: []*pb.ValueInfoProto{valueInfo("Y", pb.TensorProto_FLOAT, "N", 2)},
	}
	return marshalModel(t, ir, []*pb.OperatorSetIdProto{opset("", opsetVersion)}, g)
}

func checkFloats(t *testing.T, what string, got ort.Tensor, wantShape []int64, want []float32) {
	t.Helper()
	data, ok := got.Data.([]float32)
	if !ok {
		t.Fatalf("%s: Data is %T, want []float32", what, got.Data)
	}
	if !slices.Equal(got.Shape, wantShape) {
		t.Errorf("%s: shape %v, want %v", what, got.Shape, wantShape)
	}
	if len(data) != len(want) {
		t.Fatalf("%s: %d values %v, want %v", what, len(data), data, want)
	}
	for i := range want {
		if math.Abs(float64(data[i]-want[i])) > 1e-6 {
			t.Errorf("%s: got %v, want %v", what, data, want)
			return
		}
	}
}

func TestMatMulAddRelu(t *testing.T) {
	ort.RequireOrSkip(t)
	model := mlpModel(t, 10, 21)
	for _, opt := range []ort.GraphOptimization{ort.OptimizeDefault, ort.OptimizeDisable, ort.OptimizeBasic, ort.OptimizeAll} {
		t.Run(fmt.Sprint("opt", opt), func(t *testing.T) {
			s, err := ort.Open(model, ort.Options{IntraOpThreads: 1, InterOpThreads: 1, GraphOptimization: opt})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if got := s.InputNames(); !slices.Equal(got, []string{"X"}) {
				t.Errorf("InputNames = %q", got)
			}
			if got := s.OutputNames(); !slices.Equal(got, []string{"Y"}) {
				t.Errorf("OutputNames = %q", got)
			}
			// X·W = [[-1,3],[-3,1]]; + B = [[3,1],[1,-1]]; Relu clips the -1.
			x2 := ort.Tensor{Name: "X", Shape: []int64{2, 3}, Data: []float32{1, 2, 3, -1, 0, 2}}
			// Run repeatedly, with two batch sizes, as benchmarks will.
			for i := 0; i < 3; i++ {
				out, err := s.Run([]ort.Tensor{x2})
				if err != nil {
					t.Fatal(err)
				}
				if len(out) != 1 || out[0].Name != "Y" {
					t.Fatalf("outputs %+v", out)
				}
				checkFloats(t, "batch 2", out[0], []int64{2, 2}, []float32{3, 1, 1, 0})
				// Unnamed inputs are taken in the model's order.
				out, err = s.Run([]ort.Tensor{{Shape: []int64{1, 3}, Data: []float32{0, 0, -1}}})
				if err != nil {
					t.Fatal(err)
				}
				// X·W = [1, 0]; + B = [5, -2].
				checkFloats(t, "batch 1", out[0], []int64{1, 2}, []float32{5, 0})
			}
		})
	}
}

func TestOpenFromPath(t *testing.T) {
	ort.RequireOrSkip(t)
	path := filepath.Join(t.TempDir(), "mlp.onnx")
	if err := os.WriteFile(path, mlpModel(t, 10, 21), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := ort.Open(path, ort.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out, err := s.Run([]ort.Tensor{{Name: "X", Shape: []int64{1, 3}, Data: []float32{1, 1, 1}}})
	if err != nil {
		t.Fatal(err)
	}
	// X·W = [0.5, 1]; + B = [4.5, -1].
	checkFloats(t, "from path", out[0], []int64{1, 2}, []float32{4.5, 0})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Run(nil); err == nil {
		t.Error("Run after Close succeeded")
	}
}

func TestInputErrors(t *testing.T) {
	ort.RequireOrSkip(t)
	s, err := ort.Open(mlpModel(t, 10, 21), ort.Options{IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for name, in := range map[string][]ort.Tensor{
		"wrong type":    {{Name: "X", Shape: []int64{1, 3}, Data: []float64{1, 2, 3}}},
		"wrong count":   {{Name: "X", Shape: []int64{1, 3}, Data: []float32{1, 2}}},
		"wrong name":    {{Name: "x", Shape: []int64{1, 3}, Data: []float32{1, 2, 3}}},
		"missing":       {},
		"unknown Data":  {{Name: "X", Shape: []int64{1, 3}, Data: []string{"a", "b", "c"}}},
		"wrong rank":    {{Name: "X", Shape: []int64{3}, Data: []float32{1, 2, 3}}},
		"extra":         {{Name: "X", Shape: []int64{1, 3}, Data: []float32{1, 2, 3}}, {Name: "Q", Shape: []int64{1}, Data: []float32{1}}},
		"negative dims": {{Name: "X", Shape: []int64{-1, 3}, Data: []float32{1, 2, 3}}},
	} {
		if _, err := s.Run(in); err == nil {
			t.Errorf("%s: Run succeeded", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}

// TestProfileAndNoSpinning opens a session that profiles and does not spin:
// the run is right, and closing the session leaves a JSON trace naming the
// model's nodes.
func TestProfileAndNoSpinning(t *testing.T) {
	ort.RequireOrSkip(t)
	dir := t.TempDir()
	s, err := ort.Open(mlpModel(t, 10, 21), ort.Options{IntraOpThreads: 2, NoSpinning: true, ProfilePrefix: filepath.Join(dir, "trace")})
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.Run([]ort.Tensor{{Name: "X", Shape: []int64{2, 3}, Data: []float32{1, 2, 3, -1, 0, 2}}})
	if err != nil {
		t.Fatal(err)
	}
	checkFloats(t, "batch 2", out[0], []int64{2, 2}, []float32{3, 1, 1, 0})
	s.Close()
	files, _ := filepath.Glob(filepath.Join(dir, "trace*.json"))
	if len(files) != 1 {
		t.Fatalf("profile files %v, want one", files)
	}
	data, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	var events []struct {
		Cat, Name string
	}
	if err := json.Unmarshal(data, &events); err != nil {
		t.Fatalf("trace: %v", err)
	}
	nodes := 0
	for _, e := range events {
		if e.Cat == "Node" && strings.HasSuffix(e.Name, "_kernel_time") {
			nodes++
		}
	}
	if nodes == 0 {
		t.Errorf("trace has no node timings: %.200s", data)
	}
}
