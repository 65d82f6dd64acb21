package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/onnx-prom/onnx-prom/onnx"
	"github.com/onnx-prom/onnx-prom/onnx/onnxpb"
	"github.com/onnx-prom/onnx-prom/passes"
	"github.com/onnx-prom/onnx-prom/verify/accuracy/testmodels"
	"github.com/onnx-prom/onnx-prom/verify/data"
)

// acceptanceFiles writes the acceptance reference and candidate models,
// the evaluation images as one .npy batch and their labels, one a line.
func acceptanceFiles(t *testing.T, n int) (dir, ref, cand, npy, labels string, candModel *onnxpb.ModelProto) {
	t.Helper()
	folded, err := onnx.Load("../../testdata/models/tiny_folded.onnx")
	if err != nil {
		t.Fatal(err)
	}
	rm, cm, eval, err := testmodels.Acceptance(folded, 32, n, passes.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	dir = t.TempDir()
	ref, cand = filepath.Join(dir, "ref.onnx"), filepath.Join(dir, "cand.onnx")
	npy, labels = filepath.Join(dir, "eval.npy"), filepath.Join(dir, "labels.txt")
	if err := onnx.Save(ref, rm); err != nil {
		t.Fatal(err)
	}
	if err := onnx.Save(cand, cm); err != nil {
		t.Fatal(err)
	}
	if err := data.WriteNPYFile(npy, eval.Batch()); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, l := range eval.Labels {
		fmt.Fprintln(&b, l)
	}
	if err := os.WriteFile(labels, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, ref, cand, npy, labels, cm
}

// TestVerifyAcceptance is acceptance test (a) through the command: the
// QAT-style export and its conversion agree on >= 99.5% of 1,000 labelled
// inputs and the top-1 accuracy drops by at most 0.3 pp.
func TestVerifyAcceptance(t *testing.T) {
	_, ref, cand, npy, labels, _ := acceptanceFiles(t, 1000)
	code, out, errs := execCmd("verify", ref, cand, "--data", npy, "--labels", labels,
		"--max-top1-drop", "0.3", "--min-agreement", "99.5", "--json")
	if code != exitOK || errs != "" {
		t.Fatalf("exit %d, stderr %q\n%s", code, errs, out)
	}
	var r struct {
		Samples   int                    `json:"samples"`
		Labelled  int                    `json:"labelled"`
		Agreement float64                `json:"top1_agreement"`
		Drop      float64                `json:"top1_drop_pp"`
		Passed    bool                   `json:"passed"`
		Ref       struct{ Top1 float64 } `json:"ref_accuracy"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	t.Logf("agreement %.2f%%, drop %.2f pp, reference top-1 %.2f%%", 100*r.Agreement, r.Drop, 100*r.Ref.Top1)
	if r.Samples != 1000 || r.Labelled != 1000 || !r.Passed || r.Agreement < 0.995 || r.Drop > 0.3 {
		t.Errorf("%+v", r)
	}
}

// TestVerifyDamaged is acceptance test (b): one layer's output scale off
// by 10x fails the gate (exit 1), and --per-layer names that layer first.
func TestVerifyDamaged(t *testing.T) {
	dir, ref, _, npy, _, cm := acceptanceFiles(t, 100)
	var target string
	re := regexp.MustCompile(`^features\.2\.conv\.2(#[^#]*)?(_[0-9]+)?$`)
	for _, n := range cm.Graph.Node {
		if re.MatchString(n.GetName()) {
			target = n.GetName()
		}
	}
	if target == "" {
		t.Fatal("no node features.2.conv.2 in the candidate")
	}
	bad, err := testmodels.Damage(cm, target, 5, 10) // TernaryConv input 5: y_scale
	if err != nil {
		t.Fatal(err)
	}
	badPath := filepath.Join(dir, "damaged.onnx")
	if err := onnx.Save(badPath, bad); err != nil {
		t.Fatal(err)
	}
	html := filepath.Join(dir, "verify.html")
	code, out, errs := execCmd("verify", ref, badPath, "--data", npy, "--min-agreement", "99", "--per-layer", "--html", html)
	if code != exitFailure {
		t.Fatalf("exit %d, want 1; stderr %q\n%s", code, errs, out)
	}
	if !strings.Contains(errs, "worst layer "+target+",") {
		t.Errorf("stderr %q does not name %s", errs, target)
	}
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "layer ") && i+1 < len(lines) {
			if f := strings.Fields(lines[i+1]); len(f) == 0 || f[0] != target {
				t.Errorf("first per-layer row %q, want %s", lines[i+1], target)
			}
			break
		}
	}
	if !strings.Contains(out, "result: FAILED") {
		t.Errorf("no FAILED result:\n%s", out)
	}
	b, err := os.ReadFile(html)
	if err != nil {
		t.Fatal(err)
	}
	if h := string(b); !strings.Contains(h, "<svg") || !strings.Contains(h, target) || !strings.Contains(h, "FAILED") || strings.Contains(h, "<script") {
		t.Errorf("HTML report incomplete")
	}
	// The undamaged candidate passes the same gate.
	cand := filepath.Join(dir, "cand.onnx")
	if code, out, errs := execCmd("verify", ref, cand, "--data", npy, "--min-agreement", "99"); code != exitOK {
		t.Errorf("undamaged: exit %d, stderr %q\n%s", code, errs, out)
	}
}

func TestVerifyErrors(t *testing.T) {
	tiny := "../../testdata/models/tiny.onnx"
	calib := "../../testdata/models/calib/tiny"
	for _, args := range [][]string{
		{"verify", tiny, tiny},
		{"verify", tiny, "--data", calib},
		{"verify", tiny, tiny, "--data", filepath.Join(t.TempDir(), "missing")},
		{"verify", tiny, tiny, "--data", calib, "--min-agreement", "150"},
		{"verify", tiny, tiny, "--data", calib, "--limit", "-1"},
		{"verify", tiny, filepath.Join(t.TempDir(), "missing.onnx"), "--data", calib},
	} {
		code, out, errs := execCmd(args...)
		if code != exitUsage || out != "" || errs == "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and a message", args[1:], code, out, errs)
		}
	}
	// A model against itself: everything agrees, no labels, no gate.
	code, out, errs := execCmd("verify", tiny, tiny, "--data", calib, "--per-layer")
	if code != exitOK || errs != "" || !strings.Contains(out, "top-1 agreement: 100.00%") || !strings.Contains(out, "result: passed") {
		t.Errorf("self-comparison: exit %d, stderr %q\n%s", code, errs, out)
	}
}
