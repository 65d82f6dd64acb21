package train

import (
	"math"
	"strings"
	"testing"

	"github.com/onnx-prom/onnx-prom/onnx/ir"
	"github.com/onnx-prom/onnx-prom/onnx/onnxpb"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
	"github.com/onnx-prom/onnx-prom/passes"
	"github.com/onnx-prom/onnx-prom/verify/interp"
)

// smallNet is a reduced MNIST network for fast tests.
func smallNet(t testing.TB, seed uint64) *onnxpb.ModelProto {
	t.Helper()
	cfg := SeparableNetConfig{Input: [3]int{1, 28, 28}, Stem: 8, StemStride: 2, Classes: 10, Seed: seed,
		Blocks: []SepBlock{{Out: 16, Stride: 2}, {Out: 16, Stride: 1, Residual: true}, {Out: 24, Stride: 1}}}
	mp, err := SeparableNet(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return mp
}

// runConverted runs a converted model in the interpreter on the samples
// of ds and returns logits [n, K].
func runConverted(t testing.TB, mp *onnxpb.ModelProto, ds Dataset, n, size int) []float32 {
	t.Helper()
	m, err := ir.FromProto(mp)
	if err != nil {
		t.Fatal(err)
	}
	prog, err := interp.Compile(m, interp.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float32, n*size)
	for i := 0; i < n; i++ {
		if _, err := ds.Load(i, x[i*size:(i+1)*size]); err != nil {
			t.Fatal(err)
		}
	}
	out, err := prog.Run(map[string]*tensor.Tensor{prog.Inputs()[0].Name: tensor.FromFloat32(x, int64(n), 1, 28, 28)})
	if err != nil {
		t.Fatal(err)
	}
	f, err := out[prog.Outputs()[0]].Float32s()
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestQATExportConvertsExactly trains a small network briefly with QAT,
// converts the export with its ranges and checks that the converter
// recovers every ternary and int8 weight exactly and that the PROM model
// computes what training simulated.
func TestQATExportConvertsExactly(t *testing.T) {
	ds := SyntheticDigits(256, 1)
	mp := smallNet(t, 2)
	ft, err := NewTrainer(mp, Options{Mode: Float, Epochs: 2, Batch: 32, LR: 3e-3, Threads: 2, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ft.Fit(ds); err != nil {
		t.Fatal(err)
	}
	fm, _, err := ft.Export()
	ft.Close()
	if err != nil {
		t.Fatal(err)
	}
	qt, err := NewTrainer(fm, Options{Mode: QAT, Epochs: 1, Batch: 32, LR: 1e-3, Threads: 2, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer qt.Close()
	if _, err := qt.Fit(ds); err != nil {
		t.Fatal(err)
	}
	qm, ranges, err := qt.Export()
	if err != nil {
		t.Fatal(err)
	}
	if w := qt.Warnings(); len(w) > 0 {
		t.Errorf("export warnings: %v", w)
	}
	var warns []string
	out, rep, err := passes.Convert(qm, passes.Options{Config: passes.DefaultConfig(), Ranges: ranges,
		Warn: func(s string) { warns = append(warns, s) }})
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) > 0 {
		t.Errorf("conversion warnings: %v", warns)
	}
	ternary := 0
	for _, l := range rep.Layers {
		if l.OpType == "TernaryConv" {
			ternary++
			if l.ExactChannels != l.Channels {
				t.Errorf("layer %s: %d of %d channels recovered exactly", l.Name, l.ExactChannels, l.Channels)
			}
		}
		if l.WeightError != 0 {
			t.Errorf("layer %s (%s, %d bits): weight error %g, want 0", l.Name, l.OpType, l.Bits, l.WeightError)
		}
	}
	if ternary != 3 {
		t.Errorf("%d ternary layers, want 3", ternary)
	}
	// The converted model computes the simulated quantized network.
	const n = 32
	got := runConverted(t, out, ds, n, 784)
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	if err := qt.load(ds, idx); err != nil {
		t.Fatal(err)
	}
	qt.nt.st.training = false
	qt.nt.prepare()
	qt.nt.forward()
	want := qt.nt.logits.data[:n*10]
	agree := 0
	var maxDiff, scale float64
	for i := 0; i < n; i++ {
		if argmax(got[i*10:(i+1)*10]) == argmax(want[i*10:(i+1)*10]) {
			agree++
		}
	}
	for i := range want {
		maxDiff = max(maxDiff, math.Abs(float64(got[i]-want[i])))
		scale = max(scale, math.Abs(float64(want[i])))
	}
	t.Logf("top-1 agreement %d/%d, max logit difference %.3g (logit scale %.3g)", agree, n, maxDiff, scale)
	if agree < n-1 || maxDiff > 0.05*scale {
		t.Errorf("converted model differs from the simulation: agreement %d/%d, max difference %g of %g", agree, n, maxDiff, scale)
	}
	qir, err := ir.FromProto(qm)
	if err != nil {
		t.Fatal(err)
	}
	for name, r := range ranges {
		if qir.Graph.Value(name) == nil || strings.Contains(name, "/") {
			t.Errorf("range key %q is not a value of the exported model", name)
		}
		if !(r.Min <= r.Max) {
			t.Errorf("range %q = %+v", name, r)
		}
	}
	// Every float activation has a range, so the converter needs no
	// calibration (checked above: no warning).
	for _, n := range qir.Graph.Nodes() {
		for _, v := range n.Outputs {
			if _, ok := ranges[v.Name]; !ok {
				t.Errorf("value %q has no range", v.Name)
			}
		}
	}
}
