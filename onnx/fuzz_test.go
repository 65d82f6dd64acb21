package onnx

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onnx-prom/onnx-prom/internal/testenv"
	"github.com/onnx-prom/onnx-prom/onnx/onnxpb"
	"google.golang.org/protobuf/proto"
)

// fuzzSecret fills a file outside the fuzzed model's folder; no loaded
// tensor may ever contain it.
var fuzzSecret = bytes.Repeat([]byte("SECRET!!"), 8)

// addModelSeeds adds the committed tiny model and the ONNX backend node
// test models to the corpus, plus models with external data that point
// inside and outside the folder.
func addModelSeeds(f *testing.F) {
	for _, p := range testenv.SeedModels() {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte{})
	f.Add([]byte("not a model"))
	for _, loc := range []string{"w.bin", "../secret.bin", "link.bin", "sub/w.bin", `sub\w.bin`, "linkdir/secret.bin", "/etc/passwd", "C:\\w.bin", "."} {
		m := &onnxpb.ModelProto{
			IrVersion:   proto.Int64(8),
			OpsetImport: []*onnxpb.OperatorSetIdProto{{Version: proto.Int64(13)}},
			Graph: &onnxpb.GraphProto{Initializer: []*onnxpb.TensorProto{{
				Name: proto.String("w"), DataType: proto.Int32(1), Dims: []int64{4},
				DataLocation: onnxpb.TensorProto_EXTERNAL.Enum(),
				ExternalData: []*onnxpb.StringStringEntryProto{
					{Key: proto.String("location"), Value: proto.String(loc)},
					{Key: proto.String("offset"), Value: proto.String("16")},
					{Key: proto.String("length"), Value: proto.String("16")},
				},
			}}},
		}
		if b, err := Marshal(m); err == nil {
			f.Add(b)
		}
	}
}

// FuzzDecode decodes arbitrary bytes as a model, with external data looked
// up in a folder that holds a data file, a sub-folder, and symbolic links
// leading out of it. Decoding must not panic or exceed its limits; a model
// it accepts holds no external reference, no tensor read from outside the
// folder, no subgraph deeper than MaxDepth, and re-encodes to bytes that
// decode to the same model.
func FuzzDecode(f *testing.F) {
	addModelSeeds(f)
	root := f.TempDir()
	dir := filepath.Join(root, "model")
	must := func(err error) {
		if err != nil {
			f.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, "sub"), 0o755))
	must(os.MkdirAll(filepath.Join(root, "outside"), 0o755))
	must(os.WriteFile(filepath.Join(root, "secret.bin"), fuzzSecret, 0o644))
	must(os.WriteFile(filepath.Join(root, "outside", "secret.bin"), fuzzSecret, 0o644))
	data := make([]byte, 64)
	for i := range data {
		data[i] = byte(i)
	}
	must(os.WriteFile(filepath.Join(dir, "w.bin"), data, 0o644))
	must(os.WriteFile(filepath.Join(dir, "sub", "w.bin"), data, 0o644))
	must(os.Symlink(filepath.Join(root, "secret.bin"), filepath.Join(dir, "link.bin")))
	must(os.Symlink(filepath.Join(root, "outside"), filepath.Join(dir, "linkdir")))

	opts := LoadOptions{Limits: Limits{MaxTensorBytes: 1 << 16, MaxFileBytes: 1 << 22, MaxDepth: 6}}
	f.Fuzz(func(t *testing.T, b []byte) {
		kept, err := LoadOptions{Limits: opts.Limits, KeepExternal: true}.Decode(b, "")
		m, err2 := opts.Decode(b, dir)
		if err != nil {
			if err2 == nil {
				t.Fatalf("loading external data accepted a model that fails without: %v", err)
			}
			return
		}
		if err2 != nil {
			if strings.Contains(err2.Error(), "\n") {
				t.Errorf("error has a newline: %q", err2)
			}
			return
		}
		// Tensors that were external must not hold the secret.
		var external []bool
		WalkTensors(kept, func(tp *onnxpb.TensorProto, _ string) error {
			external = append(external, tp.GetDataLocation() == onnxpb.TensorProto_EXTERNAL)
			return nil
		})
		i := 0
		WalkTensors(m, func(tp *onnxpb.TensorProto, where string) error {
			if tp.GetDataLocation() == onnxpb.TensorProto_EXTERNAL {
				t.Errorf("%s: still external after loading", where)
			}
			if i < len(external) && external[i] && bytes.Contains(tp.RawData, fuzzSecret[:8]) {
				t.Errorf("%s: read data from outside the model's folder", where)
			}
			if int64(len(tp.RawData)) > opts.MaxTensorBytes {
				t.Errorf("%s: %d bytes, over the limit", where, len(tp.RawData))
			}
			i++
			return nil
		})
		if d := graphDepth(m.GetGraph()); d > opts.MaxDepth {
			t.Errorf("subgraphs nest %d levels, limit %d", d, opts.MaxDepth)
		}
		out, err := Marshal(m)
		if err != nil {
			t.Fatalf("accepted model does not encode: %v", err)
		}
		back, err := opts.Decode(out, "")
		if err != nil {
			t.Fatalf("re-encoded model does not decode: %v", err)
		}
		again, err := Marshal(back)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("decode(encode(m)) differs from m (err %v)", err)
		}
	})
}

// graphDepth is how deeply subgraphs nest below g (0: none).
func graphDepth(g *onnxpb.GraphProto) int {
	d := 0
	for _, n := range g.GetNode() {
		for _, a := range n.GetAttribute() {
			subs := a.GetGraphs()
			if a.G != nil {
				subs = append(subs, a.G)
			}
			for _, sg := range subs {
				d = max(d, 1+graphDepth(sg))
			}
		}
	}
	return d
}
