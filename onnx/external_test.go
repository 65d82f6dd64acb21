package onnx

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onnx-prom/onnx-prom/onnx/onnxpb"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

func smallModel(t *testing.T, weights int) *onnxpb.ModelProto {
	t.Helper()
	w := make([]float32, weights)
	for i := range w {
		w[i] = float32(i) * 0.5
	}
	tp, err := tensor.ToProto(tensor.FromFloat32(w, int64(weights)), "w")
	if err != nil {
		t.Fatal(err)
	}
	small, _ := tensor.ToProto(tensor.FromFloat32([]float32{1, 2}, 2), "b")
	return &onnxpb.ModelProto{
		IrVersion:   proto.Int64(8),
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(13)}},
		Graph: &onnxpb.GraphProto{
			Name:        proto.String("g"),
			Initializer: []*onnxpb.TensorProto{tp, small},
			Node: []*onnxpb.NodeProto{{
				OpType: proto.String("Constant"), Output: []string{"c"},
				Attribute: []*onnxpb.AttributeProto{{
					Name: proto.String("value"), Type: onnxpb.AttributeProto_TENSOR.Enum(), T: proto.Clone(tp).(*onnxpb.TensorProto),
				}},
			}},
		},
	}
}

func TestExternalDataRoundTrip(t *testing.T) {
	dir := t.TempDir()
	m := smallModel(t, 1000)
	path := filepath.Join(dir, "m.onnx")
	if err := (SaveOptions{External: ExternalAlways}).Save(path, m); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "m.onnx.data"))
	if err != nil {
		t.Fatal(err)
	}
	if len(data) != 2*4000 { // initializer and Constant value; "b" stays inline
		t.Fatalf("external file has %d bytes, want 8000", len(data))
	}
	kept, err := LoadOptions{KeepExternal: true}.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if kept.Graph.Initializer[0].GetDataLocation() != onnxpb.TensorProto_EXTERNAL || kept.Graph.Initializer[1].RawData == nil {
		t.Fatal("want w external and b inline")
	}
	back, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(m, back) {
		t.Fatal("external data round trip changed the model")
	}
}

func TestAutoExternalOver2GiB(t *testing.T) {
	old := maxProtoBytes
	maxProtoBytes = 3000 // pretend 3 kB is protobuf's limit
	defer func() { maxProtoBytes = old }()
	dir := t.TempDir()
	path := filepath.Join(dir, "big.onnx")
	m := smallModel(t, 1000)
	if err := Save(path, m); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + ".data"); err != nil {
		t.Fatalf("model over the limit saved without external data: %v", err)
	}
	back, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(m, back) {
		t.Fatal("changed")
	}
	if err := (SaveOptions{External: ExternalNever}).Save(filepath.Join(dir, "never.onnx"), m); err == nil {
		t.Fatal("ExternalNever saved a model over the limit")
	}
	if _, err := os.Stat(filepath.Join(dir, "never.onnx")); !os.IsNotExist(err) {
		t.Fatal("failed save left a file")
	}
}

func externalModel(t *testing.T, location, offset, length string) *onnxpb.ModelProto {
	m := smallModel(t, 4)
	tp := m.Graph.Initializer[0]
	tp.RawData = nil
	tp.DataLocation = onnxpb.TensorProto_EXTERNAL.Enum()
	tp.ExternalData = []*onnxpb.StringStringEntryProto{{Key: proto.String("location"), Value: proto.String(location)}}
	if offset != "" {
		tp.ExternalData = append(tp.ExternalData, &onnxpb.StringStringEntryProto{Key: proto.String("offset"), Value: proto.String(offset)})
	}
	if length != "" {
		tp.ExternalData = append(tp.ExternalData, &onnxpb.StringStringEntryProto{Key: proto.String("length"), Value: proto.String(length)})
	}
	return m
}

func TestExternalDataConfined(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "model")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(root, "secret.bin")
	os.WriteFile(secret, make([]byte, 16), 0o644)
	os.WriteFile(filepath.Join(dir, "ok.bin"), make([]byte, 20), 0o644)
	if err := os.Symlink(secret, filepath.Join(dir, "link.bin")); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, loc, off, length string
		want                   error
		wantText               string
	}{
		{"dotdot", "../secret.bin", "", "", ErrUnsafePath, ".."},
		{"absolute", secret, "", "", ErrUnsafePath, "absolute"},
		{"symlink out", "link.bin", "", "", ErrUnsafePath, "resolves"},
		{"past end", "ok.bin", "8", "16", nil, "run past"},
		{"wrong length", "ok.bin", "0", "12", nil, "needs 16 bytes"},
		{"bad offset", "ok.bin", "-4", "16", nil, "non-negative"},
		{"missing file", "nope.bin", "", "", nil, "no such file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := Marshal(externalModel(t, c.loc, c.off, c.length))
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, c.name+".onnx")
			os.WriteFile(path, b, 0o644)
			_, err = Load(path)
			if err == nil {
				t.Fatal("loaded, want error")
			}
			if c.want != nil && !errors.Is(err, c.want) {
				t.Errorf("error %v, want %v", err, c.want)
			}
			if !strings.Contains(err.Error(), c.wantText) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), `"w"`) {
				t.Errorf("error %q should name the file, the tensor and say %q", err, c.wantText)
			}
		})
	}
	// The same model with a good location loads.
	b, _ := Marshal(externalModel(t, "ok.bin", "4", "16"))
	path := filepath.Join(dir, "good.onnx")
	os.WriteFile(path, b, 0o644)
	if _, err := Load(path); err != nil {
		t.Fatal(err)
	}
}

func TestUnknownFieldsSurvive(t *testing.T) {
	m := smallModel(t, 3)
	// A field number no ONNX version uses, on the model and on a node.
	unknown := protowire.AppendTag(nil, 900, protowire.BytesType)
	unknown = protowire.AppendString(unknown, "future")
	m.ProtoReflect().SetUnknown(unknown)
	m.Graph.Node[0].ProtoReflect().SetUnknown(unknown)
	path := filepath.Join(t.TempDir(), "u.onnx")
	if err := Save(path, m); err != nil {
		t.Fatal(err)
	}
	back, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(back.ProtoReflect().GetUnknown()) != string(unknown) || string(back.Graph.Node[0].ProtoReflect().GetUnknown()) != string(unknown) {
		t.Fatal("unknown fields lost")
	}
}

func TestBadFiles(t *testing.T) {
	dir := t.TempDir()
	good, _ := Marshal(smallModel(t, 8))
	cases := map[string][]byte{
		"empty":     {},
		"text":      []byte("this is not a model\n"),
		"truncated": good[:len(good)/2],
		"no graph":  mustMarshal(t, &onnxpb.ModelProto{IrVersion: proto.Int64(8)}),
	}
	for name, b := range cases {
		path := filepath.Join(dir, name+".onnx")
		os.WriteFile(path, b, 0o644)
		_, err := Load(path)
		if err == nil {
			t.Errorf("%s: loaded, want error", name)
			continue
		}
		if !strings.Contains(err.Error(), path) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %q should be one line naming the file", name, err)
		}
	}
}

func mustMarshal(t *testing.T, m proto.Message) []byte {
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
