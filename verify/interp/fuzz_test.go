package interp

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/onnx-prom/onnx-prom/internal/testenv"
	"github.com/onnx-prom/onnx-prom/onnx"
	"github.com/onnx-prom/onnx-prom/onnx/ir"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
	"github.com/x448/float16"
)

// Limits of one fuzzed execution: small tensors and little work, so that
// one execution takes milliseconds.
const (
	fuzzMaxInput = 1 << 12 // elements of one random input
	fuzzMaxBytes = 1 << 20 // one tensor
	fuzzMaxWork  = 1 << 22 // multiply-accumulates of one run
)

var fuzzLoad = onnx.LoadOptions{Limits: onnx.Limits{MaxTensorBytes: 1 << 16, MaxFileBytes: 1 << 22, MaxDepth: 4}}

// FuzzRun decodes a model, optionally sets one integer of it (an input
// dimension, an attribute, an INT64 initializer element) to an extreme
// value, compiles it with small limits and runs it on small random inputs.
// Compile and Run may fail but not panic (a kernel panic is recovered into
// a "kernel failed" error, which counts as a failure here), hang, or return
// outputs whose data does not match their shape.
func FuzzRun(f *testing.F) {
	for _, p := range testenv.SeedModels() {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b, uint16(0), int64(0), uint64(1))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte, slot uint16, val int64, seed uint64) {
		mp, err := fuzzLoad.Decode(b, "")
		if err != nil {
			return
		}
		if slot != 0 {
			testenv.SetIntSlot(mp, slot, val)
		}
		m, err := ir.FromProto(mp)
		if err != nil {
			return
		}
		// A hang is a failure: crash with every goroutine's stack.
		watchdog := time.AfterFunc(20*time.Second, func() { panic("FuzzRun: one execution took over 20s") })
		defer watchdog.Stop()
		// Odd seeds compile with fusion, so that the graph rewrite sees
		// hostile models too.
		prog, err := Compile(m, Options{Threads: 1, MaxTensorBytes: fuzzMaxBytes, MaxWork: fuzzMaxWork, Fuse: seed&1 == 1})
		if err != nil {
			return
		}
		r := rand.New(rand.NewPCG(seed, seed>>32))
		feeds := map[string]*tensor.Tensor{}
		for _, in := range prog.Inputs() {
			if in.Optional {
				continue
			}
			x, ok := fuzzInput(r, in)
			if !ok {
				return
			}
			feeds[in.Name] = x
		}
		outs, err := prog.Run(feeds)
		if err != nil {
			if strings.Contains(err.Error(), "kernel failed") {
				t.Fatalf("kernel panic: %v", err)
			}
			return
		}
		for name, o := range outs {
			n, err := tensor.NumElements(o.Shape)
			if err != nil || int64(o.Len()) != n {
				t.Fatalf("output %q: shape %v but %d elements", name, o.Shape, o.Len())
			}
		}
	})
}

// fuzzInput makes a random input of the declared type and shape (unknown
// dimensions 1 to 3, unknown rank 1-D), with values from a palette of
// edge cases; ok is false when it would be over fuzzMaxInput elements.
func fuzzInput(r *rand.Rand, in InputInfo) (*tensor.Tensor, bool) {
	shape := []int64{int64(1 + r.IntN(3))}
	if in.Shape != nil {
		shape = make([]int64, len(in.Shape))
		for i, d := range in.Shape {
			shape[i] = d.Value
			if !d.Known() {
				shape[i] = int64(1 + r.IntN(3))
			}
		}
	}
	n, err := tensor.NumElements(shape)
	if err != nil || n > fuzzMaxInput {
		return nil, false
	}
	dt := in.Type
	if dt == tensor.Undefined {
		dt = tensor.Float
	}
	x, err := tensor.New(dt, shape...)
	if err != nil {
		return nil, false
	}
	floats := []float64{0, 1, -1, 0.5, -2.5, 3, 1e-30, 1e30, math.Inf(1), math.Inf(-1), math.NaN(), math.Copysign(0, -1)}
	ints := []int64{0, 1, -1, 2, 3, -7, 127, -128, 255, math.MaxInt32, math.MinInt32, math.MaxInt64, math.MinInt64}
	fl := func() float64 {
		if r.IntN(4) == 0 {
			return floats[r.IntN(len(floats))]
		}
		return r.NormFloat64()
	}
	in64 := func() int64 {
		if r.IntN(3) == 0 {
			return ints[r.IntN(len(ints))]
		}
		return int64(r.IntN(5))
	}
	switch d := x.Data.(type) {
	case []float32:
		for i := range d {
			d[i] = float32(fl())
		}
	case []float64:
		for i := range d {
			d[i] = fl()
		}
	case []float16.Float16:
		for i := range d {
			d[i] = float16.Fromfloat32(float32(fl()))
		}
	case []tensor.BFloat16:
		for i := range d {
			d[i] = tensor.BFloat16FromFloat32(float32(fl()))
		}
	case []int8:
		fillFuzzInts(d, in64)
	case []int16:
		fillFuzzInts(d, in64)
	case []int32:
		fillFuzzInts(d, in64)
	case []int64:
		fillFuzzInts(d, in64)
	case []uint8:
		fillFuzzInts(d, in64)
	case []uint16:
		fillFuzzInts(d, in64)
	case []uint32:
		fillFuzzInts(d, in64)
	case []uint64:
		fillFuzzInts(d, in64)
	case []bool:
		for i := range d {
			d[i] = r.IntN(2) == 1
		}
	case [][]byte:
		for i := range d {
			d[i] = []byte(fmt.Sprint(in64()))
		}
	}
	if dt == tensor.Int4 || dt == tensor.Int2 {
		lo, hi := int8(-8), int8(7)
		if dt == tensor.Int2 {
			lo, hi = -2, 1
		}
		for i, v := range x.Data.([]int8) {
			x.Data.([]int8)[i] = min(max(v, lo), hi)
		}
	}
	if dt == tensor.Uint4 || dt == tensor.Uint2 {
		hi := uint8(15)
		if dt == tensor.Uint2 {
			hi = 3
		}
		for i, v := range x.Data.([]uint8) {
			x.Data.([]uint8)[i] = min(v, hi)
		}
	}
	return x, true
}

func fillFuzzInts[T int8 | int16 | int32 | int64 | uint8 | uint16 | uint32 | uint64](d []T, next func() int64) {
	for i := range d {
		d[i] = T(next())
	}
}

// hostileSweep runs the backend test models of ops (test_OP* folders; the
// _expanded ones left out) with each of the first slots integer slots
// (input dimension, attribute, INT64 initializer element) set in turn to
// extreme values, on seeds random inputs each, under FuzzRun's limits:
// compile and run may fail but not panic or return outputs that disagree
// with their shapes. It returns how many runs it made and how many failed
// cleanly.
func hostileSweep(t *testing.T, ops []string, slots, seeds int) (runs, refused int) {
	t.Helper()
	root := filepath.Join(testenv.ONNXTestData(t), "node")
	var dirs []string
	for _, op := range ops {
		d, _ := filepath.Glob(filepath.Join(root, "test_"+op+"*"))
		for _, dir := range d {
			if !strings.HasSuffix(dir, "_expanded") {
				dirs = append(dirs, dir)
			}
		}
	}
	if len(dirs) == 0 {
		t.Skip("no backend test models of these ops")
	}
	vals := []int64{0, -1, 3, 1 << 20, 1 << 40, math.MaxInt64, math.MinInt64}
	for _, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, "model.onnx"))
		if err != nil {
			t.Fatal(err)
		}
		for slot := range slots {
			for vi, v := range vals {
				if slot == 0 && vi > 0 {
					break
				}
				mp, err := fuzzLoad.Decode(b, "")
				if err != nil {
					t.Fatal(err)
				}
				if slot > 0 {
					testenv.SetIntSlot(mp, uint16(slot), v)
				}
				m, err := ir.FromProto(mp)
				if err != nil {
					continue
				}
				prog, err := Compile(m, Options{Threads: 2, MaxTensorBytes: fuzzMaxBytes, MaxWork: fuzzMaxWork})
				if err != nil {
					continue
				}
				for seed := range uint64(seeds) {
					r := rand.New(rand.NewPCG(seed, uint64(slot)))
					feeds := map[string]*tensor.Tensor{}
					ok := true
					for _, in := range prog.Inputs() {
						if !in.Optional {
							feeds[in.Name], ok = fuzzInput(r, in)
						}
						if !ok {
							break
						}
					}
					if !ok {
						continue
					}
					runs++
					outs, err := prog.Run(feeds)
					if err != nil {
						if strings.Contains(err.Error(), "kernel failed") {
							t.Fatalf("%s slot %d = %d: %v", filepath.Base(dir), slot, v, err)
						}
						refused++
						continue
					}
					for name, o := range outs {
						if n, err := tensor.NumElements(o.Shape); err != nil || int64(o.Len()) != n {
							t.Fatalf("%s slot %d = %d: output %q has shape %v but %d elements", filepath.Base(dir), slot, v, name, o.Shape, o.Len())
						}
					}
				}
			}
		}
	}
	return runs, refused
}
