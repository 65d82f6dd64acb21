package train

import (
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/onnx-prom/onnx-prom/internal/testenv"
	"github.com/onnx-prom/onnx-prom/onnx"
	"github.com/onnx-prom/onnx-prom/onnx/onnxpb"
	"github.com/onnx-prom/onnx-prom/passes"
)

func randomSet(n, size int, seed uint64) *Slice {
	r := rand.New(rand.NewPCG(seed, 2))
	x := make([]float32, n*size)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	return &Slice{X: x, Size: size}
}

// TestQATMobileNetV2 runs QAT (distillation: random inputs have no labels)
// on the committed MobileNetV2 test models and checks that the converter
// takes the export over exactly.
func TestQATMobileNetV2(t *testing.T) {
	for _, name := range []string{"tiny.onnx", "small.onnx"} {
		mp, err := onnx.Load(filepath.Join("..", "testdata", "models", name))
		if err != nil {
			t.Fatal(err)
		}
		tr, err := NewTrainer(mp, Options{Mode: QAT, Batch: 4, Threads: 2, CalibBatches: 2})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := tr.Fit(randomSet(8, tr.nt.input.size, 1)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		qm, ranges, err := tr.Export()
		tr.Close()
		if err != nil {
			t.Fatal(err)
		}
		checkExactConversion(t, name, qm, ranges)
	}
}

func checkExactConversion(t *testing.T, name string, qm *onnxpb.ModelProto, ranges passes.Ranges) {
	t.Helper()
	var warns []string
	_, rep, err := passes.Convert(qm, passes.Options{Config: passes.DefaultConfig(), Ranges: ranges, Warn: func(s string) { warns = append(warns, s) }})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if len(warns) > 0 {
		t.Errorf("%s: conversion warnings %v", name, warns)
	}
	tern := 0
	for _, l := range rep.Layers {
		if l.Bits == 2 {
			tern++
		}
		if l.WeightError != 0 || l.ExactChannels != l.Channels {
			t.Errorf("%s: layer %s: weight error %g, %d of %d channels exact", name, l.Name, l.WeightError, l.ExactChannels, l.Channels)
		}
	}
	if tern == 0 {
		t.Errorf("%s: no ternary layer", name)
	}
}

// TestTrainOCRClassifier trains the PaddleOCR direction classifier (a
// MobileNetV3 with squeeze-excite blocks, HardSigmoid and a Reshape fed by
// Shape/Slice/Concat) for a step in QAT.
func TestTrainOCRClassifier(t *testing.T) {
	dir := testenv.OCRModels(t)
	mp, err := onnx.Load(filepath.Join(dir, "ch_ppocr_mobile_v2.0_cls_infer.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	tr, err := NewTrainer(mp, Options{Mode: QAT, Batch: 2, Threads: 2, CalibBatches: 1, InputShape: []int{3, 48, 192}})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if _, err := tr.Fit(randomSet(4, tr.nt.input.size, 2)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := tr.Export(); err != nil {
		t.Fatal(err)
	}
}
