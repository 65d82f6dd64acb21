package onnx

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/onnx-prom/onnx-prom/onnx/onnxpb"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
	"google.golang.org/protobuf/proto"
)

// loadBytes writes b as dir/m.onnx and loads it with o.
func loadBytes(t *testing.T, o LoadOptions, dir string, m *onnxpb.ModelProto) (*onnxpb.ModelProto, error) {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "m.onnx")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return o.Load(path)
}

// TestDeclaredSizeRefusedBeforeAllocation loads models whose tensors
// declare far more data than they hold, or more than the cap: loading
// fails naming the tensor, having allocated little.
func TestDeclaredSizeRefusedBeforeAllocation(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name string
		dims []int64
		raw  []byte
		want string
	}{
		{"3 GiB declared, 4 bytes held", []int64{3 << 28}, make([]byte, 4), "needs 3221225472 bytes of raw_data, found 4"},
		{"over 4 GiB", []int64{1 << 31}, make([]byte, 4), "exceed the 4294967296-byte limit"},
		{"overflow", []int64{1 << 62, 4}, make([]byte, 4), "overflows int64"},
		{"negative", []int64{-1}, make([]byte, 4), "negative dimension"},
	}
	for _, c := range cases {
		m := smallModel(t, 4)
		m.Graph.Initializer[0].Dims, m.Graph.Initializer[0].RawData = c.dims, c.raw
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := loadBytes(t, LoadOptions{}, dir, m)
		runtime.ReadMemStats(&after)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), `"w"`) {
			t.Errorf("%s: error %v, want one naming w and saying %q", c.name, err, c.want)
		}
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
			t.Errorf("%s: loading allocated %d bytes", c.name, grew)
		}
	}
	// A configurable cap.
	m := smallModel(t, 1000) // 4000 bytes
	if _, err := loadBytes(t, LoadOptions{Limits: Limits{MaxTensorBytes: 4000}}, dir, m); err != nil {
		t.Fatalf("at the cap: %v", err)
	}
	_, err := loadBytes(t, LoadOptions{Limits: Limits{MaxTensorBytes: 3999}}, dir, m)
	if !errors.Is(err, tensor.ErrTooLarge) {
		t.Fatalf("over the cap: %v, want ErrTooLarge", err)
	}
}

// nested returns a model whose graph holds depth levels of subgraphs: If
// nodes at even levels, Loop nodes at odd ones.
func nested(depth int) *onnxpb.ModelProto {
	body := &onnxpb.GraphProto{Name: proto.String("leaf")}
	for i := depth; i > 0; i-- {
		n := &onnxpb.NodeProto{Name: proto.String("level" + strings.Repeat("+", i)), Output: []string{"o"}}
		if i%2 == 0 {
			n.OpType = proto.String("If")
			n.Attribute = []*onnxpb.AttributeProto{
				{Name: proto.String("then_branch"), Type: onnxpb.AttributeProto_GRAPH.Enum(), G: body},
				{Name: proto.String("else_branch"), Type: onnxpb.AttributeProto_GRAPH.Enum(), G: &onnxpb.GraphProto{Name: proto.String("e")}},
			}
		} else {
			n.OpType = proto.String("Loop")
			n.Attribute = []*onnxpb.AttributeProto{{Name: proto.String("body"), Type: onnxpb.AttributeProto_GRAPH.Enum(), G: body}}
		}
		body = &onnxpb.GraphProto{Name: proto.String("g"), Node: []*onnxpb.NodeProto{n}}
	}
	return &onnxpb.ModelProto{
		IrVersion:   proto.Int64(8),
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Version: proto.Int64(13)}},
		Graph:       body,
	}
}

func TestSubgraphDepth(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		depth, max int
		ok         bool
		want       string
	}{
		{5, 5, true, ""},
		{6, 5, false, "subgraphs nest more than 5 levels deep"},
		{32, 0, true, ""},
		{33, 0, false, "subgraphs nest more than 32 levels deep"},
		{1000, 0, false, "messages nest more than"},
	} {
		_, err := loadBytes(t, LoadOptions{Limits: Limits{MaxDepth: c.max}}, dir, nested(c.depth))
		if c.ok != (err == nil) {
			t.Errorf("depth %d, limit %d: error %v", c.depth, c.max, err)
			continue
		}
		if err != nil && (!errors.Is(err, ErrTooDeep) || !strings.Contains(err.Error(), c.want) || strings.Count(err.Error(), "node") > 2) {
			t.Errorf("depth %d, limit %d: error %q, want ErrTooDeep saying %q naming at most two nodes", c.depth, c.max, err, c.want)
		}
	}
}

func TestStructureChecks(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name string
		edit func(m *onnxpb.ModelProto)
		want string
	}{
		{"no opset import", func(m *onnxpb.ModelProto) { m.OpsetImport = nil }, "imports no operator set"},
		{"duplicate opset", func(m *onnxpb.ModelProto) { m.OpsetImport = append(m.OpsetImport, m.OpsetImport[0]) }, "twice"},
		{"domain not imported", func(m *onnxpb.ModelProto) { m.Graph.Node[0].Domain = proto.String("x.y") }, `"x.y" is not in the model's opset_import`},
		{"no op_type", func(m *onnxpb.ModelProto) { m.Graph.Node[0].OpType = nil }, "has no op_type"},
		{"ir_version 0", func(m *onnxpb.ModelProto) { m.IrVersion = nil }, "ir_version 0"},
		{"unknown type", func(m *onnxpb.ModelProto) { m.Graph.Initializer[1].DataType = proto.Int32(77) }, `initializer "b": unknown element type`},
		{"external and inline", func(m *onnxpb.ModelProto) {
			tp := m.Graph.Initializer[0]
			tp.DataLocation = onnxpb.TensorProto_EXTERNAL.Enum()
			tp.ExternalData = []*onnxpb.StringStringEntryProto{{Key: proto.String("location"), Value: proto.String("x")}}
		}, "both external and inline"},
	} {
		m := smallModel(t, 4)
		c.edit(m)
		_, err := loadBytes(t, LoadOptions{}, dir, m)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
	}
	// A pre-IR-3 model needs no opset_import.
	m := smallModel(t, 4)
	m.IrVersion, m.OpsetImport = proto.Int64(2), nil
	if _, err := loadBytes(t, LoadOptions{}, dir, m); err != nil {
		t.Errorf("IR version 2 without opset_import: %v", err)
	}
}

// TestExternalDataHostile covers external data locations beyond those of
// TestExternalDataConfined: links on the way, Windows forms, NUL bytes,
// non-regular files, and regions that overlap to amplify memory.
func TestExternalDataHostile(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "model")
	outside := filepath.Join(root, "outside")
	for _, d := range []string{filepath.Join(dir, "sub"), outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	data := make([]byte, 64)
	os.WriteFile(filepath.Join(dir, "sub", "w.bin"), data, 0o644)
	os.WriteFile(filepath.Join(dir, "w.bin"), data, 0o644)
	os.WriteFile(filepath.Join(outside, "w.bin"), data, 0o644)
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Symlink(outside, filepath.Join(dir, "linkdir")))
	must(os.Symlink("sub", filepath.Join(dir, "insidelink")))
	must(os.Link(filepath.Join(outside, "w.bin"), filepath.Join(dir, "hard.bin")))
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, loc, off, length string
		want                   string // "" = loads
	}{
		{"sub folder", "sub/w.bin", "0", "16", ""},
		{"backslash separator", `sub\w.bin`, "0", "16", ""},
		{"symlink inside", "insidelink/w.bin", "0", "16", ""},
		{"hard link", "hard.bin", "0", "16", ""},
		{"symlinked folder out", "linkdir/w.bin", "0", "16", "resolves to"},
		{"dot dot after a folder", "sub/../../outside/w.bin", "", "", "contains .."},
		{"backslash dot dot", `sub\..\..\outside\w.bin`, "", "", "contains .."},
		{"drive letter", `C:\w.bin`, "", "", "is absolute"},
		{"drive relative", `c:w.bin`, "", "", "is absolute"},
		{"UNC path", `\\server\share\w.bin`, "", "", "is absolute"},
		{"NUL byte", "w.bin\x00.txt", "", "", "NUL"},
		{"folder", "sub", "", "", "not a regular file"},
		{"the model folder itself", ".", "", "", "not a regular file"},
		{"FIFO", "fifo", "", "", "not a regular file"},
		{"offset past the end", "w.bin", "65", "", "past the end"},
		{"huge offset", "w.bin", "9223372036854775807", "16", "past the end"},
		{"huge length", "w.bin", "0", "9223372036854775807", "needs 16 bytes"},
		{"length mismatch", "w.bin", "0", "20", "needs 16 bytes"},
		{"not a number", "w.bin", "0x10", "16", "not a non-negative integer"},
	}
	for _, c := range cases {
		done := make(chan error, 1)
		go func() {
			_, err := loadBytes(t, LoadOptions{}, dir, externalModel(t, c.loc, c.off, c.length))
			done <- err
		}()
		var err error
		select {
		case err = <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: loading hangs", c.name)
		}
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), `"w"`)):
			t.Errorf("%s: error %v, want one naming w and saying %q", c.name, err, c.want)
		}
	}

	// Many tensors reading the same region would let a small model claim
	// any amount of memory: reading more than the files hold is refused.
	m := smallModel(t, 4)
	for i := range 8 {
		tp := proto.Clone(externalModel(t, "w.bin", "0", "16").Graph.Initializer[0]).(*onnxpb.TensorProto)
		tp.Name = proto.String("w" + strings.Repeat("x", i))
		m.Graph.Initializer = append(m.Graph.Initializer, tp)
	}
	_, err := loadBytes(t, LoadOptions{}, dir, m)
	if err == nil || !strings.Contains(err.Error(), "regions overlap") {
		t.Errorf("overlapping regions: %v", err)
	}
}
