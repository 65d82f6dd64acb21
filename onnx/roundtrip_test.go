package onnx

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/onnx-prom/onnx-prom/internal/testenv"
	"google.golang.org/protobuf/proto"
)

// roundTrip loads path, writes it back and reloads it, requiring the two
// messages to be equal (unknown fields included) and the bytes stable.
// It reports whether the round trip was lossless and whether our bytes equal
// the original file's.
func roundTrip(t *testing.T, path string) (lossless, sameBytes bool) {
	t.Helper()
	m, err := Load(path)
	if err != nil {
		t.Errorf("load: %v", err)
		return
	}
	out := filepath.Join(t.TempDir(), "rt.onnx")
	if err := Save(out, m); err != nil {
		t.Errorf("%s: save: %v", path, err)
		return
	}
	back, err := Load(out)
	if err != nil {
		t.Errorf("%s: reload: %v", path, err)
		return
	}
	if !proto.Equal(m, back) {
		t.Errorf("%s: round trip changed the model", path)
		return
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var b1, b2 bytes.Buffer
	if err := Write(&b1, m); err != nil {
		t.Fatal(err)
	}
	if err := Write(&b2, back); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b1.Bytes(), b2.Bytes()) {
		t.Errorf("%s: serialization not deterministic", path)
		return
	}
	return true, bytes.Equal(raw, b1.Bytes())
}

func TestRoundTripBackendSuite(t *testing.T) {
	root := testenv.ONNXTestData(t)
	paths, err := filepath.Glob(filepath.Join(root, "*", "*", "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(paths)
	if len(paths) < 1000 {
		t.Fatalf("found %d backend test models under %s, want about 1,000", len(paths), root)
	}
	lossless, same := 0, 0
	for _, p := range paths {
		ok, sameBytes := roundTrip(t, p)
		if ok {
			lossless++
		}
		if sameBytes {
			same++
		}
	}
	t.Logf("round trip: %d models, %d lossless (proto.Equal), %d byte-identical to the original file", len(paths), lossless, same)
}

func TestRoundTripOCRModels(t *testing.T) {
	dir := testenv.OCRModels(t)
	paths, _ := filepath.Glob(filepath.Join(dir, "*.onnx"))
	if len(paths) != 3 {
		t.Fatalf("found %d OCR models in %s, want 3", len(paths), dir)
	}
	for _, p := range paths {
		if ok, _ := roundTrip(t, p); ok {
			t.Logf("%s: lossless", filepath.Base(p))
		}
	}
}
