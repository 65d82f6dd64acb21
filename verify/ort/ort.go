// Package ort runs ONNX models in ONNX Runtime, the peer runtime that the
// tests of onnx-prom use to cross-check the project's own Go interpreter.
//
// ONNX Runtime is not vendored: the package loads the shared library
// libonnxruntime.so.1 at run time (see [LibraryPath]). The one we test against
// is the Linux build shipped inside the npm package onnxruntime-node@1.30.0,
// which .ci/run downloads into $HOME/.cache/onnx-prom.
//
// The package needs cgo. The converter itself builds with CGO_ENABLED=0, so
// nothing but tests may import this package. Built without cgo, the package
// still compiles, but [Available] reports an error and [Open] fails.
//
// Typical use in a test:
//
//	ort.RequireOrSkip(t)
//	s, err := ort.Open(modelBytes, ort.Options{IntraOpThreads: 1})
//	if err != nil { ... }
//	defer s.Close()
//	outs, err := s.Run([]ort.Tensor{{Name: "X", Shape: []int64{1, 3}, Data: []float32{1, 2, 3}}})
package ort

import (
	"os"
	"path/filepath"
	"runtime"
)

// Environment variables read by this package.
const (
	// EnvLib names the ONNX Runtime shared library to load; it wins over
	// every well-known place.
	EnvLib = "ONNXPROM_ORT_LIB"
	// EnvRequire, when set to "1", makes [RequireOrSkip] fail the test
	// instead of skipping it. CI sets it so that it can never skip silently.
	EnvRequire = "ONNXPROM_REQUIRE_ORT"
)

// installHint is the one-line advice appended to every "not available" error.
const installHint = "set " + EnvLib + " to libonnxruntime.so.1 (from npm onnxruntime-node@1.30.0) or run .ci/run, which downloads it to ~/.cache/onnx-prom"

// Tensor is a dense tensor passed to or returned by [Session.Run].
//
// Data is a Go slice holding the elements in row-major order; its element type
// selects the ONNX element type:
//
//	[]float32 FLOAT    []float64 DOUBLE   []bool   BOOL
//	[]int8    INT8     []uint8   UINT8    []int16  INT16   []uint16 UINT16
//	[]int32   INT32    []uint32  UINT32   []int64  INT64   []uint64 UINT64
//
// A Shape of length 0 is a scalar and needs exactly one element. Run reads
// input Data in place, without copying it.
// Other element types (FLOAT16, BFLOAT16, STRING, the 2- and 4-bit and 8-bit
// float types) cannot be passed or returned.
type Tensor struct {
	Name  string
	Shape []int64
	Data  any
}

// GraphOptimization selects ONNX Runtime's graph optimization level.
type GraphOptimization int

// Graph optimization levels. The zero value keeps ONNX Runtime's default,
// which is [OptimizeAll].
const (
	OptimizeDefault  GraphOptimization = iota // ONNX Runtime's default (all)
	OptimizeDisable                           // ORT_DISABLE_ALL: run the graph as written
	OptimizeBasic                             // ORT_ENABLE_BASIC: constant folding, redundant node removal
	OptimizeExtended                          // ORT_ENABLE_EXTENDED: plus fusions
	OptimizeAll                               // ORT_ENABLE_ALL: plus layout optimizations
)

// Options configure a [Session].
type Options struct {
	// IntraOpThreads is the number of threads used inside one operator;
	// 0 keeps ONNX Runtime's default (one per physical core).
	IntraOpThreads int
	// InterOpThreads is the number of threads used to run independent
	// operators in parallel; 0 keeps ONNX Runtime's default.
	InterOpThreads int
	// GraphOptimization is the graph optimization level; the zero value
	// keeps ONNX Runtime's default.
	GraphOptimization GraphOptimization
	// NoSpinning stops ONNX Runtime's intra-op threads from spinning while
	// they wait for work (session.intra_op.allow_spinning=0). Spinning
	// threads keep cores busy after a run returns, which slows whatever
	// runs next on the same cores: set it when timing ONNX Runtime beside
	// other work.
	NoSpinning bool
	// ProfilePrefix, when set, makes ONNX Runtime write a JSON trace of
	// every node's run time to PREFIX_<date>.json when the session closes.
	ProfilePrefix string
}

// LibraryPath returns the path of the ONNX Runtime shared library that this
// package loads, or "" if none is found.
//
// The environment variable ONNXPROM_ORT_LIB wins when set (its value is
// returned even if the file does not exist, so that the error names it).
// Otherwise these places are tried in order, with ARCH being x64 or arm64:
//
//   - $XDG_CACHE_HOME/onnx-prom/onnxruntime-node/package/bin/napi-v6/linux/ARCH/libonnxruntime.so.1
//   - $HOME/.cache/onnx-prom/onnxruntime-node/package/bin/napi-v6/linux/ARCH/libonnxruntime.so.1
//   - node_modules/onnxruntime-node/bin/napi-v6/linux/ARCH/libonnxruntime.so.1
//     in the current directory or any of its parents
func LibraryPath() string {
	if p := os.Getenv(EnvLib); p != "" {
		return p
	}
	for _, p := range candidatePaths() {
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	return ""
}

// candidatePaths lists the well-known places of the library, best first.
func candidatePaths() []string {
	arch := runtime.GOARCH
	if arch == "amd64" {
		arch = "x64"
	}
	inPackage := filepath.Join("bin", "napi-v6", runtime.GOOS, arch, "libonnxruntime.so.1")

	var dirs []string
	if d, err := os.UserCacheDir(); err == nil {
		dirs = append(dirs, d)
	}
	if h, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(h, ".cache"))
	}
	var paths []string
	seen := map[string]bool{}
	for _, d := range dirs {
		p := filepath.Join(d, "onnx-prom", "onnxruntime-node", "package", inPackage)
		if !seen[p] {
			seen[p] = true
			paths = append(paths, p)
		}
	}
	if wd, err := os.Getwd(); err == nil {
		for d := wd; ; d = filepath.Dir(d) {
			paths = append(paths, filepath.Join(d, "node_modules", "onnxruntime-node", inPackage))
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	return paths
}

// TestingT is the part of [testing.TB] that [RequireOrSkip] uses.
type TestingT interface {
	Helper()
	Skipf(format string, args ...any)
	Fatalf(format string, args ...any)
}

// RequireOrSkip skips the test when ONNX Runtime is not available, with a
// message that says how to install it. When the environment variable
// ONNXPROM_REQUIRE_ORT is "1" (CI sets it) it fails the test instead, so that
// a missing runtime can never pass unnoticed.
func RequireOrSkip(t TestingT) {
	t.Helper()
	err := Available()
	if err == nil {
		return
	}
	if os.Getenv(EnvRequire) == "1" {
		t.Fatalf("%v (%s=1, so this is an error, not a skip)", err, EnvRequire)
		return
	}
	t.Skipf("%v", err)
}
