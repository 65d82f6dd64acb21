package train

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/onnx-prom/onnx-prom/onnx/ir"
	"github.com/onnx-prom/onnx-prom/onnx/onnxpb"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
	"github.com/onnx-prom/onnx-prom/verify/interp"
)

// randomizeBN gives every BatchNormalization of mp random statistics and
// affine parameters, so that inference-mode normalization is not the
// identity.
func randomizeBN(t *testing.T, mp *onnxpb.ModelProto, seed uint64) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 3))
	for i, tp := range mp.Graph.Initializer {
		name := tp.GetName()
		var f func() float32
		switch {
		case hasSuffix(name, ".running_var"):
			f = func() float32 { return float32(0.5 + r.Float64()) }
		case hasSuffix(name, ".running_mean"), hasSuffix(name, "_bn.bias"):
			f = func() float32 { return float32(0.2 * r.NormFloat64()) }
		case hasSuffix(name, "_bn.weight"):
			f = func() float32 { return float32(0.5 + r.Float64()) }
		default:
			continue
		}
		tt, err := tensor.FromProto(tp)
		if err != nil {
			t.Fatal(err)
		}
		d := tt.Data.([]float32)
		for j := range d {
			d[j] = f()
		}
		np, err := tensor.ToProto(tt, name)
		if err != nil {
			t.Fatal(err)
		}
		mp.Graph.Initializer[i] = np
	}
}

func hasSuffix(s, suf string) bool { return len(s) >= len(suf) && s[len(s)-len(suf):] == suf }

// interpRun runs mp in the interpreter on x [n, sample...].
func interpRun(t *testing.T, mp *onnxpb.ModelProto, x []float32, shape ...int64) []float32 {
	t.Helper()
	m, err := ir.FromProto(mp)
	if err != nil {
		t.Fatal(err)
	}
	prog, err := interp.Compile(m, interp.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	in := prog.Inputs()[0].Name
	out, err := prog.Run(map[string]*tensor.Tensor{in: tensor.FromFloat32(append([]float32{}, x...), shape...)})
	if err != nil {
		t.Fatal(err)
	}
	o := out[prog.Outputs()[0]]
	f, err := o.Float32s()
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func randInput(n, size int, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 1))
	x := make([]float32, n*size)
	for i := range x {
		x[i] = float32(r.Float64())
	}
	return x
}

// TestForwardMatchesInterpreter checks the training forward pass (float,
// inference-mode BatchNormalization) against the reference interpreter.
func TestForwardMatchesInterpreter(t *testing.T) {
	mp, err := MNISTNet(7)
	if err != nil {
		t.Fatal(err)
	}
	randomizeBN(t, mp, 1)
	const n = 5
	x := randInput(n, 784, 2)
	want := interpRun(t, mp, x, n, 1, 28, 28)
	tr, err := NewTrainer(mp, Options{Mode: Float, FrozenBN: true, Batch: 8, Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	got := tr.forwardRaw(x, n)
	checkClose(t, "logits", got, want, 1e-4)
}

// forwardRaw runs an inference forward pass on x (n samples) and returns the logits.
func (t *Trainer) forwardRaw(x []float32, n int) []float32 {
	nt := t.nt
	nt.setBatch(n)
	copy(nt.input.data, x)
	nt.st.training = false
	nt.prepare()
	nt.forward()
	return append([]float32{}, nt.logits.data[:n*nt.logits.size]...)
}

func checkClose(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	var scale float64
	for _, v := range want {
		scale = max(scale, math.Abs(float64(v)))
	}
	for i := range got {
		if d := math.Abs(float64(got[i] - want[i])); d > tol*max(scale, 1) {
			t.Fatalf("%s[%d] = %g, want %g (scale %g)", what, i, got[i], want[i], scale)
		}
	}
}

// TestShapeSubgraphForward checks a Reshape whose target is computed from
// Shape against the interpreter, at two batch sizes.
func TestShapeSubgraphForward(t *testing.T) {
	mp := tmodel([]int{2, 3, 2}, []tnode{{"Shape", []string{"x"}, "s", nil},
		{"Gather", []string{"s", "i0"}, "g", nil}, {"Unsqueeze", []string{"g", "ax"}, "u", nil},
		{"Concat", []string{"u", "m1"}, "t", []*onnxpb.AttributeProto{aInt("axis", 0)}},
		{"Reshape", []string{"x", "t"}, "r", nil}, {"MatMul", []string{"r", "w"}, "y", nil}},
		[]tinit{{name: "i0", shape: []int64{0}}, {name: "ax", shape: []int64{0}}, {name: "m1", shape: []int64{-1}},
			{"w", []int64{12, 3}, randInput(1, 36, 4)}}, "y")
	// Gather with a scalar index: make i0 a scalar.
	for _, tp := range mp.Graph.Initializer {
		if tp.GetName() == "i0" {
			tp.Dims = nil
		}
	}
	tr, err := NewTrainer(mp, Options{Mode: Float, Batch: 4, Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	for _, n := range []int{4, 3} {
		x := randInput(n, 12, uint64(n))
		want := interpRun(t, mp, x, int64(n), 2, 3, 2)
		checkClose(t, "y", tr.forwardRaw(x, n), want, 1e-5)
	}
}
