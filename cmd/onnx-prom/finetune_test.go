package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onnx-prom/onnx-prom/onnx"
	"github.com/onnx-prom/onnx-prom/onnx/ir"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
	"github.com/onnx-prom/onnx-prom/passes"
	"github.com/onnx-prom/onnx-prom/train"
	"github.com/onnx-prom/onnx-prom/verify/data"
)

func ftRun(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

// ftFixture writes a small depthwise-separable model, a .npy batch of
// synthetic digits and its label file into a temporary folder.
func ftFixture(t *testing.T, n int) (dir, model, batch, labels string) {
	t.Helper()
	dir = t.TempDir()
	cfg := train.SeparableNetConfig{Input: [3]int{1, 28, 28}, Stem: 8, StemStride: 2, Classes: 10, Seed: 1,
		Blocks: []train.SepBlock{{Out: 16, Stride: 2}, {Out: 16, Stride: 1, Residual: true}}}
	mp, err := train.SeparableNet(cfg)
	if err != nil {
		t.Fatal(err)
	}
	model = filepath.Join(dir, "net.onnx")
	if err := onnx.Save(model, mp); err != nil {
		t.Fatal(err)
	}
	ds := train.SyntheticDigits(n, 3)
	batch = filepath.Join(dir, "digits.npy")
	if err := data.WriteNPYFile(batch, tensor.FromFloat32(ds.X, int64(n), 1, 28, 28)); err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	for _, l := range ds.Labels {
		fmt.Fprintln(&sb, l)
	}
	labels = filepath.Join(dir, "labels.txt")
	if err := os.WriteFile(labels, []byte(sb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, model, batch, labels
}

// TestFinetuneThenConvert runs float training, QAT and the conversion
// with the learned ranges, and checks that the converter recovers every
// quantized weight exactly and needs no calibration.
func TestFinetuneThenConvert(t *testing.T) {
	dir, model, batch, labels := ftFixture(t, 320)
	floatPath := filepath.Join(dir, "float.onnx")
	code, out, errs := ftRun("finetune", model, floatPath, "--float", "--data", batch, "--labels", labels, "--epochs", "2", "--batch", "32", "--threads", "2")
	if code != exitOK {
		t.Fatalf("float training: exit %d\n%s\n%s", code, out, errs)
	}
	if !strings.Contains(errs, "epoch 2/2") || !strings.Contains(out, "trained 2 epochs (float mode)") {
		t.Errorf("float training output:\n%s\n%s", out, errs)
	}
	if _, err := os.Stat(filepath.Join(dir, "float.ranges.json")); err == nil {
		t.Error("float training wrote a ranges file")
	}
	qatPath := filepath.Join(dir, "qat.onnx")
	code, out, errs = ftRun("finetune", floatPath, qatPath, "--data", batch, "--labels", labels, "--val", batch, "--val-labels", labels,
		"--epochs", "1", "--batch", "32", "--threads", "2", "--distill", "--distill-weight", "0.5", "--shift", "1")
	if code != exitOK {
		t.Fatalf("QAT: exit %d\n%s\n%s", code, out, errs)
	}
	rangesPath := filepath.Join(dir, "qat.ranges.json")
	for _, want := range []string{"wrote " + qatPath, "wrote " + rangesPath, "validation accuracy"} {
		if !strings.Contains(out, want) {
			t.Errorf("QAT output lacks %q:\n%s", want, out)
		}
	}
	promPath := filepath.Join(dir, "prom.onnx")
	code, out, errs = ftRun(qatPath, promPath, "--ranges", rangesPath, "--report", filepath.Join(dir, "report.json"))
	if code != exitOK {
		t.Fatalf("convert: exit %d\n%s\n%s", code, out, errs)
	}
	if strings.Contains(errs, "warning") {
		t.Errorf("conversion warned:\n%s", errs)
	}
	// Every ternary and int8 layer reports zero weight error.
	mp, err := onnx.Load(qatPath)
	if err != nil {
		t.Fatal(err)
	}
	rf, err := os.Open(rangesPath)
	if err != nil {
		t.Fatal(err)
	}
	ranges, err := passes.ReadRanges(rf)
	rf.Close()
	if err != nil {
		t.Fatal(err)
	}
	_, rep, err := passes.Convert(mp, passes.Options{Config: passes.DefaultConfig(), Ranges: ranges})
	if err != nil {
		t.Fatal(err)
	}
	tern := 0
	for _, l := range rep.Layers {
		if l.Bits == 2 {
			tern++
			if l.ExactChannels != l.Channels {
				t.Errorf("%s: %d of %d channels exact", l.Name, l.ExactChannels, l.Channels)
			}
		}
		if l.WeightError != 0 {
			t.Errorf("%s: weight error %g", l.Name, l.WeightError)
		}
	}
	if tern != 2 {
		t.Errorf("%d ternary layers, want 2", tern)
	}
}

// TestFinetuneRecoverOnly checks --recover-only: exactly ternary pointwise
// weights, BatchNormalization folded, no ranges file.
func TestFinetuneRecoverOnly(t *testing.T) {
	dir, model, batch, _ := ftFixture(t, 48)
	out := filepath.Join(dir, "rec.onnx")
	code, stdout, errs := ftRun("finetune", model, out, "--recover-only", "--data", batch, "--recover-samples", "32")
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, errs)
	}
	if !strings.Contains(errs, "recover block1_pw") {
		t.Errorf("no recovery lines:\n%s", errs)
	}
	if _, err := os.Stat(filepath.Join(dir, "rec.ranges.json")); err == nil {
		t.Error("--recover-only wrote a ranges file")
	}
	mp, err := onnx.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	m, err := ir.FromProto(mp)
	if err != nil {
		t.Fatal(err)
	}
	pw := 0
	for _, n := range m.Graph.Nodes() {
		if n.OpType == "BatchNormalization" {
			t.Errorf("BatchNormalization %s left in", n.Name)
		}
		if n.OpType != "Conv" {
			continue
		}
		wt, err := n.Input(1).Tensor()
		if err != nil {
			t.Fatal(err)
		}
		if wt.Shape[2] != 1 || wt.Shape[3] != 1 {
			continue
		}
		pw++
		tw := passes.TernarizeWeights(wt.Data.([]float32), wt.Shape, passes.RuleTWN)
		if tw.Exact != tw.Channels() {
			t.Errorf("%s: %d of %d channels exactly ternary", n.Name, tw.Exact, tw.Channels())
		}
	}
	if pw != 2 {
		t.Errorf("%d pointwise convs, want 2", pw)
	}
}

// TestFinetuneDistillWithoutLabels trains on unlabeled data: distillation
// from the input model is switched on.
func TestFinetuneDistillWithoutLabels(t *testing.T) {
	dir, model, batch, _ := ftFixture(t, 64)
	out := filepath.Join(dir, "d.onnx")
	code, stdout, errs := ftRun("finetune", model, out, "--data", batch, "--epochs", "1", "--batch", "16", "--threads", "2")
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, errs)
	}
	if !strings.Contains(stdout, "trained 1 epochs (qat mode)") || strings.Contains(errs, " acc ") {
		t.Errorf("output:\n%s\n%s", stdout, errs)
	}
}

func TestFinetuneUsageErrors(t *testing.T) {
	dir, model, batch, _ := ftFixture(t, 8)
	out := filepath.Join(dir, "o.onnx")
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"finetune", model, out}, exitUsage, "--data is required"},
		{[]string{"finetune", model}, exitUsage, "want IN.onnx and OUT.onnx"},
		{[]string{"finetune", model, out, "--data", batch, "--float", "--recover-only"}, exitUsage, "exclude each other"},
		{[]string{"finetune", model, out, "--data", batch, "--shift", "-1"}, exitUsage, "--shift"},
		{[]string{"finetune", model, out, "--data", batch, "--input-shape", "1,28"}, exitUsage, "does not fit"},
		{[]string{"finetune", model, out, "--data", batch, "--input-shape", "1,x,28"}, exitUsage, "--input-shape"},
		{[]string{"finetune", model, out, "--data", batch, "--optimizer", "lion"}, exitUsage, "optimizer"},
		{[]string{"finetune", model, out, "--data", filepath.Join(dir, "missing")}, exitUsage, "--data"},
		{[]string{"finetune", filepath.Join(dir, "nope.onnx"), out, "--data", batch}, exitUsage, "nope.onnx"},
		{[]string{"finetune", model, model, "--data", batch}, exitUsage, "--force"},
		{[]string{"finetune", "builtin:resnet", out, "--data", batch}, exitUsage, "unknown builtin"},
		{[]string{"finetune", model, out, "--data", batch, "--select", "some"}, exitUsage, "selection"},
	} {
		code, _, errs := ftRun(c.args...)
		if code != c.code || !strings.Contains(errs, c.msg) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d mentioning %q", c.args[1:], code, errs, c.code, c.msg)
		}
	}
}
