package main

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/onnx-prom/onnx-prom/onnx"
	"github.com/onnx-prom/onnx-prom/onnx/onnxpb"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
	"google.golang.org/protobuf/proto"
)

// goodCNN is a small valid CNN: conv1 (3x3, 3->4 channels) -> relu1 ->
// conv2 (1x1, 4->4) on x [1,3,8,8]. Every malformed case below breaks one
// thing in it.
func goodCNN() *onnxpb.ModelProto {
	floats := func(name string, dims ...int64) *onnxpb.TensorProto {
		n, _ := tensor.NumElements(dims)
		raw := make([]byte, 4*n)
		for i := range n {
			binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(float32(i%7)*0.1-0.3))
		}
		return &onnxpb.TensorProto{Name: proto.String(name), DataType: proto.Int32(int32(tensor.Float)), Dims: dims, RawData: raw}
	}
	conv1 := runNode("conv1", "Conv", []string{"x", "w1", "b1"}, "h1")
	conv1.Attribute = []*onnxpb.AttributeProto{{Name: proto.String("pads"), Type: onnxpb.AttributeProto_INTS.Enum(), Ints: []int64{1, 1, 1, 1}}}
	return &onnxpb.ModelProto{
		IrVersion:   proto.Int64(8),
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(13)}},
		Graph: &onnxpb.GraphProto{
			Name:        proto.String("g"),
			Input:       []*onnxpb.ValueInfoProto{runVI("x", tensor.Float, 1, 3, 8, 8)},
			Output:      []*onnxpb.ValueInfoProto{runVI("y", tensor.Float, 1, 4, 8, 8)},
			Initializer: []*onnxpb.TensorProto{floats("w1", 4, 3, 3, 3), floats("b1", 4), floats("w2", 4, 4, 1, 1)},
			Node: []*onnxpb.NodeProto{
				conv1,
				runNode("relu1", "Relu", []string{"h1"}, "h2"),
				runNode("conv2", "Conv", []string{"h2", "w2"}, "y"),
			},
		},
	}
}

func initializer(m *onnxpb.ModelProto, name string) *onnxpb.TensorProto {
	for _, tp := range m.Graph.Initializer {
		if tp.GetName() == name {
			return tp
		}
	}
	panic("no initializer " + name)
}

func node(m *onnxpb.ModelProto, name string) *onnxpb.NodeProto {
	for _, n := range m.Graph.Node {
		if n.GetName() == name {
			return n
		}
	}
	panic("no node " + name)
}

// toExternal moves w1's data to the external location loc (offset, length
// as given; "" leaves them out).
func toExternal(m *onnxpb.ModelProto, loc, offset, length string) {
	tp := initializer(m, "w1")
	tp.RawData = nil
	tp.DataLocation = onnxpb.TensorProto_EXTERNAL.Enum()
	tp.ExternalData = []*onnxpb.StringStringEntryProto{{Key: proto.String("location"), Value: proto.String(loc)}}
	if offset != "" {
		tp.ExternalData = append(tp.ExternalData, &onnxpb.StringStringEntryProto{Key: proto.String("offset"), Value: proto.String(offset)})
	}
	if length != "" {
		tp.ExternalData = append(tp.ExternalData, &onnxpb.StringStringEntryProto{Key: proto.String("length"), Value: proto.String(length)})
	}
}

// nestedIf puts a Relu depth If nodes deep: each If's then-branch holds
// the next If, its else-branch a Relu.
func nestedIf(depth int) *onnxpb.ModelProto {
	m := goodCNN()
	leaf := func() *onnxpb.GraphProto {
		return &onnxpb.GraphProto{Name: proto.String("leaf"), Node: []*onnxpb.NodeProto{runNode("leaf_relu", "Relu", []string{"h2"}, "if_out")},
			Output: []*onnxpb.ValueInfoProto{runVI("if_out", tensor.Float, 1, 4, 8, 8)}}
	}
	inner := leaf()
	for i := range depth {
		n := runNode("if"+string(rune('a'+i%26))+strings.Repeat("x", i/26), "If", []string{"cond"}, "if_out")
		n.Attribute = []*onnxpb.AttributeProto{
			{Name: proto.String("then_branch"), Type: onnxpb.AttributeProto_GRAPH.Enum(), G: inner},
			{Name: proto.String("else_branch"), Type: onnxpb.AttributeProto_GRAPH.Enum(), G: leaf()},
		}
		inner = &onnxpb.GraphProto{Name: proto.String("level"), Node: []*onnxpb.NodeProto{n},
			Output: []*onnxpb.ValueInfoProto{runVI("if_out", tensor.Float, 1, 4, 8, 8)}}
	}
	top := inner.Node[0]
	top.Name = proto.String("outer_if")
	top.Output = []string{"h3"}
	m.Graph.Initializer = append(m.Graph.Initializer, &onnxpb.TensorProto{Name: proto.String("cond"), DataType: proto.Int32(int32(tensor.Bool)), RawData: []byte{1}})
	m.Graph.Node = append(m.Graph.Node[:2], top, runNode("conv2", "Conv", []string{"h3", "w2"}, "y"))
	return m
}

// malformedCase writes one broken model into dir and returns its path.
type malformedCase struct {
	name string
	// want is text the error must contain besides the file name: the
	// tensor or node at fault, or what is wrong when the file has neither.
	want  string
	build func(t *testing.T, dir string) string
}

// describable lists the cases that are valid ONNX models which the
// interpreter and the converter cannot handle: inspect describes them
// (the op histogram names the op) instead of failing.
var describable = map[string]bool{
	"unsupported op in the region to quantize": true,
	"tensor over the size limit at run time":   true,
}

func saveProto(t *testing.T, dir string, m *onnxpb.ModelProto) string {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return saveBytes(t, dir, b)
}

func saveBytes(t *testing.T, dir string, b []byte) string {
	t.Helper()
	path := filepath.Join(dir, "bad.onnx")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// edit returns a builder that applies f to a fresh good model.
func edit(f func(m *onnxpb.ModelProto)) func(*testing.T, string) string {
	return func(t *testing.T, dir string) string {
		m := goodCNN()
		f(m)
		return saveProto(t, dir, m)
	}
}

var malformedCases = []malformedCase{
	{"empty file", "empty file", func(t *testing.T, dir string) string { return saveBytes(t, dir, nil) }},
	{"not protobuf", "not an ONNX model", func(t *testing.T, dir string) string {
		return saveBytes(t, dir, []byte("#!/bin/sh\necho this is not a model\n"))
	}},
	{"truncated", "not an ONNX model", func(t *testing.T, dir string) string {
		b, _ := proto.Marshal(goodCNN())
		return saveBytes(t, dir, b[:len(b)*2/3])
	}},
	{"IR version 0", "ir_version 0", edit(func(m *onnxpb.ModelProto) { m.IrVersion = proto.Int64(0) })},
	{"no graph", "no graph", edit(func(m *onnxpb.ModelProto) { m.Graph = nil })},
	{"missing opset import", "opset_import", edit(func(m *onnxpb.ModelProto) { m.OpsetImport = nil })},
	{"node domain not imported", `"conv2"`, edit(func(m *onnxpb.ModelProto) { node(m, "conv2").Domain = proto.String("com.example") })},
	{"unknown element type", `"w2"`, edit(func(m *onnxpb.ModelProto) { initializer(m, "w2").DataType = proto.Int32(999) })},
	{"undefined element type", `"b1"`, edit(func(m *onnxpb.ModelProto) { initializer(m, "b1").DataType = proto.Int32(0) })},
	{"wrong input element type", `"conv1"`, edit(func(m *onnxpb.ModelProto) {
		m.Graph.Input[0] = runVI("x", tensor.Int32, 1, 3, 8, 8)
	})},
	{"string tensor where float expected", `"conv2"`, edit(func(m *onnxpb.ModelProto) {
		w := initializer(m, "w2")
		w.DataType, w.RawData, w.StringData = proto.Int32(int32(tensor.String)), nil, make([][]byte, 16)
	})},
	{"cycle", "cycle", edit(func(m *onnxpb.ModelProto) { node(m, "conv1").Input[0] = "h2" })},
	{"dangling input", `"nowhere"`, edit(func(m *onnxpb.ModelProto) { node(m, "relu1").Input[0] = "nowhere" })},
	{"duplicate graph output", `"y"`, edit(func(m *onnxpb.ModelProto) { m.Graph.Output = append(m.Graph.Output, m.Graph.Output[0]) })},
	{"duplicate node output", `"h2"`, edit(func(m *onnxpb.ModelProto) { node(m, "conv2").Output[0] = "h2" })},
	{"output nothing produces", `"ghost"`, edit(func(m *onnxpb.ModelProto) {
		m.Graph.Output = append(m.Graph.Output, runVI("ghost", tensor.Float, 1))
	})},
	{"negative dims", `"w2"`, edit(func(m *onnxpb.ModelProto) { initializer(m, "w2").Dims[0] = -4 })},
	{"huge dims", `"w1"`, edit(func(m *onnxpb.ModelProto) { initializer(m, "w1").Dims[0] = 1 << 40 })},
	{"element count overflow", `"w1"`, edit(func(m *onnxpb.ModelProto) { initializer(m, "w1").Dims = []int64{1 << 32, 1 << 32, 1 << 32} })},
	{"raw_data too short", `"w1"`, edit(func(m *onnxpb.ModelProto) { w := initializer(m, "w1"); w.RawData = w.RawData[:100] })},
	{"raw_data too long", `"b1"`, edit(func(m *onnxpb.ModelProto) { w := initializer(m, "b1"); w.RawData = append(w.RawData, 0, 0, 0, 0) })},
	{"float_data count wrong", `"b1"`, edit(func(m *onnxpb.ModelProto) {
		w := initializer(m, "b1")
		w.RawData, w.FloatData = nil, []float32{1, 2, 3}
	})},
	{"external data ..", `"w1"`, func(t *testing.T, dir string) string {
		os.WriteFile(filepath.Join(filepath.Dir(dir), "outside.bin"), make([]byte, 432), 0o644)
		m := goodCNN()
		toExternal(m, "../outside.bin", "", "")
		return saveProto(t, dir, m)
	}},
	{"external data absolute", `"w1"`, func(t *testing.T, dir string) string {
		abs := filepath.Join(filepath.Dir(dir), "abs.bin")
		os.WriteFile(abs, make([]byte, 432), 0o644)
		m := goodCNN()
		toExternal(m, abs, "", "")
		return saveProto(t, dir, m)
	}},
	{"external data symlink out", `"w1"`, func(t *testing.T, dir string) string {
		target := filepath.Join(filepath.Dir(dir), "target.bin")
		os.WriteFile(target, make([]byte, 432), 0o644)
		if err := os.Symlink(target, filepath.Join(dir, "link.bin")); err != nil {
			t.Fatal(err)
		}
		m := goodCNN()
		toExternal(m, "link.bin", "", "")
		return saveProto(t, dir, m)
	}},
	{"external data beyond file", `"w1"`, func(t *testing.T, dir string) string {
		os.WriteFile(filepath.Join(dir, "w.bin"), make([]byte, 500), 0o644)
		m := goodCNN()
		toExternal(m, "w.bin", "400", "432")
		return saveProto(t, dir, m)
	}},
	{"external data huge offset", `"w1"`, func(t *testing.T, dir string) string {
		os.WriteFile(filepath.Join(dir, "w.bin"), make([]byte, 500), 0o644)
		m := goodCNN()
		toExternal(m, "w.bin", "9223372036854775807", "432")
		return saveProto(t, dir, m)
	}},
	{"external data is a folder", `"w1"`, func(t *testing.T, dir string) string {
		os.Mkdir(filepath.Join(dir, "weights"), 0o755)
		m := goodCNN()
		toExternal(m, "weights", "", "")
		return saveProto(t, dir, m)
	}},
	{"external data NUL in location", `"w1"`, func(t *testing.T, dir string) string {
		m := goodCNN()
		toExternal(m, "w.bin\x00../../etc/passwd", "", "")
		return saveProto(t, dir, m)
	}},
	{"unsupported op in the region to quantize", `"mystery"`, edit(func(m *onnxpb.ModelProto) {
		node(m, "relu1").OpType = proto.String("Mystery")
		node(m, "relu1").Name = proto.String("mystery")
	})},
	{"conv with mismatched channels", `"conv2"`, edit(func(m *onnxpb.ModelProto) {
		w := initializer(m, "w2")
		w.Dims = []int64{4, 5, 1, 1}
		w.RawData = make([]byte, 4*20)
	})},
	{"conv with rank-2 input", `"conv1"`, edit(func(m *onnxpb.ModelProto) {
		m.Graph.Input[0] = runVI("x", tensor.Float, 3, 64)
	})},
	{"conv pads overflow", `"conv1"`, edit(func(m *onnxpb.ModelProto) {
		node(m, "conv1").Attribute[0].Ints = []int64{math.MaxInt64, 0, math.MaxInt64, 0}
	})},
	{"If nested too deeply", `"outer_if"`, func(t *testing.T, dir string) string {
		return saveProto(t, dir, nestedIf(40))
	}},
	{"If nested beyond protobuf's limit", "nest", func(t *testing.T, dir string) string {
		return saveProto(t, dir, nestedIf(100))
	}},
	{"tensor over the size limit at run time", `"big"`, edit(func(m *onnxpb.ModelProto) {
		shape := &onnxpb.TensorProto{Name: proto.String("bigshape"), DataType: proto.Int32(int32(tensor.Int64)), Dims: []int64{3}, Int64Data: []int64{1 << 16, 1 << 16, 1 << 4}}
		m.Graph.Initializer = append(m.Graph.Initializer, shape)
		node(m, "conv2").Output[0] = "y0"
		m.Graph.Node = append(m.Graph.Node,
			runNode("big", "ConstantOfShape", []string{"bigshape"}, "bigv"),
			runNode("mean", "ReduceMean", []string{"bigv"}, "bigmean"),
			runNode("add", "Add", []string{"y0", "bigmean"}, "y"))
		node(m, "mean").Attribute = []*onnxpb.AttributeProto{{Name: proto.String("keepdims"), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(0)}}
	})},
	{"Constant with no value", `"c"`, edit(func(m *onnxpb.ModelProto) {
		m.Graph.Node = append([]*onnxpb.NodeProto{runNode("c", "Constant", nil, "cval")}, m.Graph.Node...)
		node(m, "relu1").Input = []string{"h1"}
		m.Graph.Node = append(m.Graph.Node, runNode("add", "Add", []string{"y0", "cval"}, "y"))
		node(m, "conv2").Output[0] = "y0"
	})},
	{"node with no op_type", `#1`, edit(func(m *onnxpb.ModelProto) {
		node(m, "relu1").OpType = proto.String("")
		node(m, "relu1").Name = nil
	})},
}

// TestMalformedModels runs inspect, run, convert (and verify, where it
// exists) on each malformed model: every one must fail with exit code 2
// and a one-line message naming the file and what is at fault, with no
// panic, and leave no file behind.
func TestMalformedModels(t *testing.T) {
	if len(malformedCases) < 25 {
		t.Fatalf("only %d cases", len(malformedCases))
	}
	root := t.TempDir()
	good := filepath.Join(root, "good.onnx")
	if err := onnx.Save(good, goodCNN()); err != nil {
		t.Fatal(err)
	}
	x, _ := tensor.New(tensor.Float, 1, 3, 8, 8)
	npy := saveNPY(t, filepath.Join(root, "x.npy"), x)
	type invocation struct {
		cmd  string
		args func(model, dir string) []string
	}
	invocations := []invocation{
		{"inspect", func(m, _ string) []string { return []string{"inspect", m} }},
		{"run", func(m, dir string) []string { return []string{"run", m, "--output", filepath.Join(dir, "outs")} }},
		{"convert", func(m, dir string) []string {
			return []string{"convert", m, filepath.Join(dir, "out.onnx"), "--report", filepath.Join(dir, "report.json"), "--dump-after", "all"}
		}},
	}
	if commands["verify"] != nil {
		invocations = append(invocations, invocation{"verify", func(m, dir string) []string {
			return []string{"verify", m, good, "--data", npy, "--html", filepath.Join(dir, "report.html")}
		}})
	}
	// The good model passes every command: the cases fail for what they
	// break, not for something else.
	for _, inv := range invocations {
		dir := t.TempDir()
		var out, errb bytes.Buffer
		if code := run(inv.args(good, dir), &out, &errb); code != 0 {
			t.Fatalf("%s of the good model: exit %d: %s", inv.cmd, code, errb.String())
		}
	}
	var table []string
	for i, c := range malformedCases {
		t.Run(c.name, func(t *testing.T) {
			base := filepath.Join(root, "case"+string(rune('a'+i/26))+string(rune('a'+i%26)))
			dir := filepath.Join(base, "model")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			model := c.build(t, dir)
			before := listDir(t, dir)
			for _, inv := range invocations {
				var out, errb bytes.Buffer
				code := run(inv.args(model, dir), &out, &errb)
				msg := errb.String()
				if inv.cmd == "convert" {
					table = append(table, c.name+" -> "+strings.TrimSpace(msg[max(0, strings.LastIndex(msg, "onnx-prom convert:")):]))
				}
				if inv.cmd == "inspect" && describable[c.name] {
					if code != 0 {
						t.Errorf("inspect: exit %d: %s", code, msg)
					}
					continue
				}
				if code != exitUsage {
					t.Errorf("%s: exit %d, want %d; stderr %q", inv.cmd, code, exitUsage, msg)
				}
				// Warnings may come first; the error is one line, the last.
				var errLines []string
				for _, l := range strings.Split(strings.TrimSuffix(msg, "\n"), "\n") {
					if !strings.HasPrefix(l, "warning: ") {
						errLines = append(errLines, l)
					}
				}
				if len(errLines) != 1 || !strings.HasPrefix(errLines[0], "onnx-prom "+inv.cmd+": ") || !strings.HasSuffix(msg, "\n") {
					t.Errorf("%s: want one error line on stderr, got %q", inv.cmd, msg)
				}
				msg = strings.Join(errLines, "\n")
				if strings.Contains(msg, "goroutine") || strings.Contains(msg, "panic") || strings.Contains(msg, "kernel failed") {
					t.Errorf("%s: crash text in %q", inv.cmd, msg)
				}
				if !strings.Contains(msg, model) {
					t.Errorf("%s: %q does not name the file %s", inv.cmd, msg, model)
				}
				if !strings.Contains(msg, c.want) {
					t.Errorf("%s: %q does not say %s", inv.cmd, msg, c.want)
				}
				if after := listDir(t, dir); !equalStrings(before, after) {
					t.Errorf("%s left files: before %v, after %v", inv.cmd, before, after)
				}
			}
		})
	}
	if testing.Verbose() {
		for _, l := range table {
			t.Log(l)
		}
	}
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err == nil {
			out = append(out, p)
		}
		return nil
	})
	sort.Strings(out)
	return out
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
