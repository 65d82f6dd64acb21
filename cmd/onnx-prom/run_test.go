package main

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/onnx-prom/onnx-prom/onnx"
	"github.com/onnx-prom/onnx-prom/onnx/onnxpb"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
	"github.com/onnx-prom/onnx-prom/verify/data"
	"google.golang.org/protobuf/proto"
)

// execRun runs "onnx-prom run ARGS..." and returns the exit code and output.
func execRun(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(append([]string{"run"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

// runVI describes a tensor graph input or output; dims are int or string
// (symbolic).
func runVI(name string, dt tensor.DataType, dims ...any) *onnxpb.ValueInfoProto {
	sh := &onnxpb.TensorShapeProto{}
	for _, d := range dims {
		switch d := d.(type) {
		case int:
			sh.Dim = append(sh.Dim, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: int64(d)}})
		case string:
			sh.Dim = append(sh.Dim, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: d}})
		}
	}
	return &onnxpb.ValueInfoProto{Name: proto.String(name), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{
		TensorType: &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(dt)), Shape: sh}}}}
}

func runNode(name, op string, in []string, out ...string) *onnxpb.NodeProto {
	return &onnxpb.NodeProto{Name: proto.String(name), OpType: proto.String(op), Input: in, Output: out}
}

// saveRunModel writes a model with the given graph to dir/name.
func saveRunModel(t *testing.T, dir, name string, g *onnxpb.GraphProto) string {
	t.Helper()
	g.Name = proto.String("g")
	mp := &onnxpb.ModelProto{
		IrVersion:   proto.Int64(8),
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(17)}},
		Graph:       g,
	}
	path := filepath.Join(dir, name)
	if err := onnx.Save(path, mp); err != nil {
		t.Fatal(err)
	}
	return path
}

// addReluModel computes sum = x + y (x [N,3], y [1,3]) and relu/out =
// Relu(sum), outputs in that order: relu/out, sum.
func addReluModel(t *testing.T, dir string) string {
	return saveRunModel(t, dir, "addrelu.onnx", &onnxpb.GraphProto{
		Input:  []*onnxpb.ValueInfoProto{runVI("x", tensor.Float, "N", 3), runVI("y", tensor.Float, 1, 3)},
		Output: []*onnxpb.ValueInfoProto{runVI("relu/out", tensor.Float, "N", 3), runVI("sum", tensor.Float, "N", 3)},
		Node: []*onnxpb.NodeProto{
			runNode("add", "Add", []string{"x", "y"}, "sum"),
			runNode("relu", "Relu", []string{"sum"}, "relu/out"),
		},
	})
}

func saveNPY(t *testing.T, path string, x *tensor.Tensor) string {
	t.Helper()
	if err := data.WriteNPYFile(path, x); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRunHandComputed(t *testing.T) {
	dir := t.TempDir()
	model := addReluModel(t, dir)
	x := saveNPY(t, filepath.Join(dir, "x.npy"), tensor.FromFloat32([]float32{1, -2, 3, -4, 5, -6}, 2, 3))
	y := saveNPY(t, filepath.Join(dir, "y.npy"), tensor.FromFloat32([]float32{0.5, 0.5, -10}, 1, 3))
	out := filepath.Join(dir, "out", "deeper")
	code, stdout, stderr := execRun(model, "--input", "x="+x, "--input", "y="+y, "--output", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	// sum = [[1.5, -1.5, -7], [-3.5, 5.5, -16]]: mean -21/6; relu keeps
	// 1.5 and 5.5: mean 7/6.
	want := "input x: FLOAT [2 3] from " + x + "\n" +
		"input y: FLOAT [1 3] from " + y + "\n" +
		"output relu/out: FLOAT [2 3] min 0 max 5.5 mean 1.16667\n" +
		"  values: 1.5 0 0 0 5.5 0\n" +
		"  argmax per row: 0 1\n" +
		"output sum: FLOAT [2 3] min -16 max 5.5 mean -3.5\n" +
		"  values: 1.5 -1.5 -7 -3.5 5.5 -16\n" +
		"  argmax per row: 0 1\n" +
		"wrote " + filepath.Join(out, "relu_out.npy") + "\n" +
		"wrote " + filepath.Join(out, "sum.npy") + "\n"
	if diff := cmp.Diff(want, stdout); diff != "" {
		t.Errorf("stdout (-want +got)\n%s", diff)
	}
	for file, vals := range map[string][]float32{
		"relu_out.npy": {1.5, 0, 0, 0, 5.5, 0},
		"sum.npy":      {1.5, -1.5, -7, -3.5, 5.5, -16},
	} {
		got, err := data.ReadNPYFile(filepath.Join(out, file))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tensor.FromFloat32(vals, 2, 3), got); diff != "" {
			t.Errorf("%s (-want +got)\n%s", file, diff)
		}
	}
	if ents, _ := os.ReadDir(out); len(ents) != 2 {
		t.Errorf("%d files in the output folder, want 2", len(ents))
	}
}

func TestRunRandomInputs(t *testing.T) {
	dir := t.TempDir()
	model := addReluModel(t, dir)
	runTo := func(out string, args ...string) string {
		t.Helper()
		code, stdout, stderr := execRun(append([]string{model, "--output", out}, args...)...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		return stdout
	}
	a := runTo(filepath.Join(dir, "a"), "--seed", "3", "--batch", "4", "--threads", "1")
	b := runTo(filepath.Join(dir, "b"), "--seed", "3", "--batch", "4")
	c := runTo(filepath.Join(dir, "c"), "--seed", "4", "--batch", "4")
	if !strings.Contains(a, "input x: FLOAT [4 3] random N(0,1), seed 3\n") ||
		!strings.Contains(a, "input y: FLOAT [1 3] random N(0,1), seed 3\n") {
		t.Errorf("inputs not described:\n%s", a)
	}
	strip := func(s string) string { // drop the "wrote" lines, which name the folder
		return s[:strings.Index(s, "wrote")]
	}
	if strip(a) != strip(b) {
		t.Errorf("same seed, different results:\n%s\n%s", a, b)
	}
	if strip(a) == strip(c) {
		t.Errorf("different seeds, same results")
	}
	// The outputs agree with each other: relu/out = max(sum, 0), and the
	// random inputs are not degenerate.
	sum, err := data.ReadNPYFile(filepath.Join(dir, "a", "sum.npy"))
	if err != nil {
		t.Fatal(err)
	}
	relu, err := data.ReadNPYFile(filepath.Join(dir, "a", "relu_out.npy"))
	if err != nil {
		t.Fatal(err)
	}
	if !cmp.Equal(sum.Shape, []int64{4, 3}) {
		t.Fatalf("sum shape %v", sum.Shape)
	}
	neg := 0
	for i, s := range sum.Data.([]float32) {
		if r := relu.Data.([]float32)[i]; r != max(s, 0) {
			t.Errorf("element %d: relu %v of %v", i, r, s)
		}
		if s < 0 {
			neg++
		}
	}
	if neg == 0 || neg == 12 {
		t.Errorf("%d of 12 sums are negative", neg)
	}

	// Integer inputs are small non-negative integers; --shape sets a
	// random input's shape; a bare file feeds a one-input model.
	ids := saveRunModel(t, dir, "ids.onnx", &onnxpb.GraphProto{
		Input:  []*onnxpb.ValueInfoProto{runVI("ids", tensor.Int64, "N", "L")},
		Output: []*onnxpb.ValueInfoProto{runVI("out", tensor.Int64, "N", "L")},
		Node:   []*onnxpb.NodeProto{runNode("id", "Identity", []string{"ids"}, "out")},
	})
	code, stdout, stderr := execRun(ids, "--shape", "ids=5,40", "--output", filepath.Join(dir, "ids"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "input ids: INT64 [5 40] random integers in [0,10), seed 0") {
		t.Errorf("stdout:\n%s", stdout)
	}
	got, err := data.ReadNPYFile(filepath.Join(dir, "ids", "out.npy"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int64]bool{}
	for _, v := range got.Data.([]int64) {
		if v < 0 || v >= 10 {
			t.Fatalf("random id %d outside [0,10)", v)
		}
		seen[v] = true
	}
	if len(seen) < 5 {
		t.Errorf("only %d distinct ids in 200", len(seen))
	}
	// Unknown dimensions other than the first default to 1.
	code, stdout, _ = execRun(ids, "--batch", "2")
	if code != 0 || !strings.Contains(stdout, "input ids: INT64 [2 1] random") {
		t.Errorf("exit %d:\n%s", code, stdout)
	}
	f := saveNPY(t, filepath.Join(dir, "ids.npy"), &tensor.Tensor{Type: tensor.Int64, Shape: []int64{1, 2}, Data: []int64{7, -3}})
	code, stdout, _ = execRun(ids, "--input", f)
	if code != 0 || !strings.Contains(stdout, "output out: INT64 [1 2] min -3 max 7 mean 2\n  values: 7 -3\n  argmax per row: 0\n") {
		t.Errorf("exit %d:\n%s", code, stdout)
	}
}

func TestRunErrors(t *testing.T) {
	dir := t.TempDir()
	model := addReluModel(t, dir)
	x := saveNPY(t, filepath.Join(dir, "x.npy"), tensor.FromFloat32([]float32{1, 2, 3}, 1, 3))
	x64 := saveNPY(t, filepath.Join(dir, "x64.npy"), &tensor.Tensor{Type: tensor.Double, Shape: []int64{1, 3}, Data: []float64{1, 2, 3}})
	x24 := saveNPY(t, filepath.Join(dir, "x24.npy"), tensor.FromFloat32(make([]float32, 8), 2, 4))
	bad := filepath.Join(dir, "bad.npy")
	if err := os.WriteFile(bad, []byte("\x93NUMPY\x01\x00\x10\x00{'descr': '<f4'}"), 0o644); err != nil {
		t.Fatal(err)
	}
	unsupported := saveRunModel(t, dir, "unsupported.onnx", &onnxpb.GraphProto{
		Input:  []*onnxpb.ValueInfoProto{runVI("x", tensor.Float, 1)},
		Output: []*onnxpb.ValueInfoProto{runVI("y", tensor.Float, 1)},
		Node:   []*onnxpb.NodeProto{runNode("frob1", "Frobnicate", []string{"x"}, "y")},
	})
	// Both dimensions symbolic: a [2,4] x passes the input checks and fails
	// in the Add node.
	dynamic := saveRunModel(t, dir, "dynamic.onnx", &onnxpb.GraphProto{
		Input:  []*onnxpb.ValueInfoProto{runVI("x", tensor.Float, "N", "M"), runVI("y", tensor.Float, 1, 3)},
		Output: []*onnxpb.ValueInfoProto{runVI("sum", tensor.Float, "N", 3)},
		Node:   []*onnxpb.NodeProto{runNode("add_node", "Add", []string{"x", "y"}, "sum")},
	})
	notModel := filepath.Join(dir, "junk.onnx")
	if err := os.WriteFile(notModel, []byte("not a model"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		want []string // in stderr
	}{
		{"no model", nil, []string{"want one MODEL"}},
		{"two models", []string{model, model}, []string{"want one MODEL"}},
		{"missing model", []string{filepath.Join(dir, "nope.onnx")}, []string{"nope.onnx"}},
		{"not a model", []string{notModel}, []string{"junk.onnx"}},
		{"bad flag", []string{model, "--frob"}, []string{"frob"}},
		{"bad batch", []string{model, "--batch", "0"}, []string{"--batch 0"}},
		{"unknown input", []string{model, "--input", "z=" + x}, []string{"addrelu.onnx", `no input "z"`, `"x", "y"`}},
		{"bare file, two inputs", []string{model, "--input", x}, []string{"name the input"}},
		{"input twice", []string{model, "--input", "x=" + x, "--input", "x=" + x}, []string{"given twice"}},
		{"missing file", []string{model, "--input", "x=" + filepath.Join(dir, "gone.npy")}, []string{"gone.npy"}},
		{"malformed file", []string{model, "--input", "x=" + bad}, []string{"bad.npy", "fortran_order"}},
		{"wrong type", []string{model, "--input", "x=" + x64}, []string{"x64.npy", "DOUBLE", "FLOAT"}},
		{"wrong shape", []string{model, "--input", "x=" + x24}, []string{"x24.npy", "[2 4]", "[N,3]"}},
		{"shape and input", []string{model, "--input", "x=" + x, "--shape", "x=1,3"}, []string{"both"}},
		{"shape unknown input", []string{model, "--shape", "q=1"}, []string{`no input "q"`}},
		{"shape mismatch", []string{model, "--shape", "x=2,4"}, []string{"--shape x=2,4"}},
		{"unsupported op", []string{unsupported}, []string{"unsupported.onnx", "frob1", "Frobnicate"}},
		{"run-time error", []string{dynamic, "--input", "x=" + x24}, []string{"dynamic.onnx", "add_node"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			code, stdout, stderr := execRun(append(c.args, "--output", out)...)
			if code != exitUsage {
				t.Errorf("exit %d, want %d; stdout:\n%s", code, exitUsage, stdout)
			}
			if strings.Count(stderr, "\n") < 1 {
				t.Errorf("no error message")
			}
			msg := stderr[strings.LastIndex(strings.TrimSuffix(stderr, "\n"), "\n")+1:]
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not mention %q", msg, w)
				}
			}
			if ents, err := os.ReadDir(out); err == nil && len(ents) > 0 {
				t.Errorf("%d files written", len(ents))
			}
		})
	}
}

func TestOutputFileNames(t *testing.T) {
	got := outputFileNames([]string{"a/b", "A_b", "..", "", "x.y", "ü", "out", "OUT", strings.Repeat("z", 300)})
	want := []string{"a_b.npy", "A_b_2.npy", "_..npy", "output.npy", "x.y.npy", "_.npy", "out.npy", "OUT_2.npy", strings.Repeat("z", 100) + ".npy"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
}

// TestRunTiny runs the committed MobileNetV2-style test model on its first
// calibration sample.
func TestRunTiny(t *testing.T) {
	model := filepath.Join("..", "..", "testdata", "models", "tiny.onnx")
	sample := filepath.Join("..", "..", "testdata", "models", "calib", "tiny", "000.npy")
	if _, err := os.Stat(model); err != nil {
		t.Skip("testdata/models/tiny.onnx is absent")
	}
	out := t.TempDir()
	code, stdout, stderr := execRun(model, "--input", sample, "--output", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "output output: FLOAT [1 10] ") {
		t.Errorf("stdout:\n%s", stdout)
	}
	got, err := data.ReadNPYFile(filepath.Join(out, "output.npy"))
	if err != nil {
		t.Fatal(err)
	}
	if !cmp.Equal(got.Shape, []int64{1, 10}) {
		t.Errorf("shape %v", got.Shape)
	}
}

// TestRunFuseAndRepeat runs the tiny model fused and op by op: the same
// argmax and values within float rounding, and --repeat reports time and
// memory.
func TestRunFuseAndRepeat(t *testing.T) {
	model := filepath.Join("..", "..", "testdata", "models", "tiny.onnx")
	sample := filepath.Join("..", "..", "testdata", "models", "calib", "tiny", "000.npy")
	if _, err := os.Stat(model); err != nil {
		t.Skip("testdata/models/tiny.onnx is absent")
	}
	var vals [2][]float32
	for i, fuse := range []string{"--fuse=true", "--fuse=false"} {
		out := t.TempDir()
		code, stdout, stderr := execRun(model, "--input", sample, "--output", out, fuse, "--repeat", "3")
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", fuse, code, stderr)
		}
		for _, want := range []string{"time: ", " ms per run (3 runs after the first)", "memory: ", "MiB of constants"} {
			if !strings.Contains(stdout, want) {
				t.Errorf("%s: stdout lacks %q:\n%s", fuse, want, stdout)
			}
		}
		got, err := data.ReadNPYFile(filepath.Join(out, "output.npy"))
		if err != nil {
			t.Fatal(err)
		}
		vals[i] = got.Data.([]float32)
	}
	for i := range vals[0] {
		if d := math.Abs(float64(vals[0][i] - vals[1][i])); d > 1e-5 {
			t.Errorf("logit %d: fused %v, op by op %v", i, vals[0][i], vals[1][i])
		}
	}
}

// TestRunWriteFailure checks that outputs are written all or nothing: a
// STRING output, which .npy cannot hold, fails after the FLOAT one was
// written to a temporary file, and no file is left.
func TestRunWriteFailure(t *testing.T) {
	dir := t.TempDir()
	str, err := tensor.ToProto(&tensor.Tensor{Type: tensor.String, Shape: []int64{1}, Data: [][]byte{[]byte("hi")}}, "s")
	if err != nil {
		t.Fatal(err)
	}
	model := saveRunModel(t, dir, "str.onnx", &onnxpb.GraphProto{
		Input:       []*onnxpb.ValueInfoProto{runVI("x", tensor.Float, 2)},
		Output:      []*onnxpb.ValueInfoProto{runVI("y", tensor.Float, 2), runVI("s", tensor.String, 1)},
		Initializer: []*onnxpb.TensorProto{str},
		Node:        []*onnxpb.NodeProto{runNode("relu", "Relu", []string{"x"}, "y")},
	})
	out := filepath.Join(dir, "out")
	code, stdout, stderr := execRun(model, "--output", out)
	if code != exitFailure {
		t.Errorf("exit %d, want %d; stderr: %s", code, exitFailure, stderr)
	}
	if !strings.Contains(stdout, "output s: STRING [1]\n") || !strings.Contains(stderr, `output "s"`) {
		t.Errorf("stdout:\n%s\nstderr:\n%s", stdout, stderr)
	}
	if ents, _ := os.ReadDir(out); len(ents) != 0 {
		t.Errorf("%d files left in the output folder", len(ents))
	}
	// An output folder that is a file.
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := execRun(addReluModel(t, dir), "--output", file); code != exitFailure {
		t.Errorf("output folder is a file: exit %d, want %d", code, exitFailure)
	}
}
