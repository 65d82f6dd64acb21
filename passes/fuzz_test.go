package passes

import (
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/onnx-prom/onnx-prom/internal/testenv"
	"github.com/onnx-prom/onnx-prom/onnx"
	"github.com/onnx-prom/onnx-prom/onnx/ir"
	"github.com/onnx-prom/onnx-prom/onnx/onnxpb"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
)

// fuzzCalib is one small random calibration sample for the model's
// inputs.
type fuzzCalib map[string]*tensor.Tensor

func (c fuzzCalib) Len() int { return 1 }

func (c fuzzCalib) Sample(int) (map[string]*tensor.Tensor, error) { return c, nil }

// newFuzzCalib draws one sample: declared shapes with unknown dimensions
// set to 1, at most 1<<14 elements an input; ok is false for inputs it
// cannot make.
func newFuzzCalib(mp *onnxpb.ModelProto, seed uint64) (fuzzCalib, bool) {
	m, err := ir.FromProto(mp)
	if err != nil {
		return nil, false
	}
	r := rand.New(rand.NewPCG(seed, 7))
	c := fuzzCalib{}
	for _, v := range m.Graph.Inputs {
		if v.Const != nil {
			continue
		}
		if v.Shape == nil || v.Type != tensor.Float {
			return nil, false
		}
		shape := make([]int64, len(v.Shape))
		for i, d := range v.Shape {
			shape[i] = max(d.Value, 1)
		}
		n, err := tensor.NumElements(shape)
		if err != nil || n > 1<<14 {
			return nil, false
		}
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(r.NormFloat64())
		}
		c[v.Name] = tensor.FromFloat32(x, shape...)
	}
	return c, true
}

// FuzzConvert runs the whole conversion on fuzzed models (optionally with
// one integer set to an extreme value), calibrated on one small random
// sample, under small limits. It must not panic or hang; what it accepts
// must be a model that serializes, loads and compiles again.
func FuzzConvert(f *testing.F) {
	for _, p := range testenv.SeedModels() {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b, uint16(0), int64(0), uint64(1))
		}
	}
	limits := Limits{MaxTensorBytes: 1 << 20, MaxWork: 1 << 25}
	load := onnx.LoadOptions{Limits: onnx.Limits{MaxTensorBytes: 1 << 16, MaxFileBytes: 1 << 22, MaxDepth: 4}}
	f.Fuzz(func(t *testing.T, b []byte, slot uint16, val int64, seed uint64) {
		mp, err := load.Decode(b, "")
		if err != nil {
			return
		}
		if slot != 0 {
			testenv.SetIntSlot(mp, slot, val)
		}
		calib, ok := newFuzzCalib(mp, seed)
		if !ok {
			return
		}
		watchdog := time.AfterFunc(30*time.Second, func() { panic("FuzzConvert: one execution took over 30s") })
		defer watchdog.Stop()
		out, _, err := Convert(mp, Options{Config: DefaultConfig(), Calib: calib, Limits: limits})
		if err != nil {
			return
		}
		ob, err := onnx.Marshal(out)
		if err != nil {
			t.Fatalf("converted model does not serialize: %v", err)
		}
		back, err := onnx.LoadOptions{}.Decode(ob, "")
		if err != nil {
			t.Fatalf("converted model does not load: %v", err)
		}
		if err := Validate(back, DefaultConfig(), Limits{}); err != nil {
			t.Fatalf("converted model is not valid input: %v", err)
		}
	})
}
