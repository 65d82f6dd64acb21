package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onnx-prom/onnx-prom/onnx"
	"github.com/onnx-prom/onnx-prom/passes"
)

const (
	smallModel = "../../testdata/models/small.onnx"
	smallCalib = "../../testdata/models/calib/small"
)

func runArgs(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

func TestConvertMainCommand(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "small-prom.onnx")
	report := filepath.Join(dir, "report.json")
	// The README's main command, plus a report.
	code, stdout, stderr := runArgs(smallModel, out, "--calib", smallCalib, "--report", report, "-v")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "ternarized 14 of 14 pointwise convs") {
		t.Errorf("stdout lacks the summary:\n%s", stdout)
	}
	if !strings.Contains(stderr, "quantize") || !strings.Contains(stderr, "TernaryConv=14") {
		t.Errorf("-v statistics missing:\n%s", stderr)
	}
	mp, err := onnx.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	ternary := 0
	for _, n := range mp.GetGraph().GetNode() {
		if n.GetOpType() == "TernaryConv" {
			ternary++
		}
	}
	if ternary != 14 {
		t.Errorf("%d TernaryConv nodes in the output, want 14", ternary)
	}
	b, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	var rep passes.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Totals.Ternarized != 14 || len(rep.Layers) != 23 || rep.Totals.OutputFileBytes <= 0 {
		t.Errorf("report: %d ternarized, %d layers, %d bytes", rep.Totals.Ternarized, len(rep.Layers), rep.Totals.OutputFileBytes)
	}
	// Deterministic: the same command again writes the same bytes.
	out2 := filepath.Join(dir, "again.onnx")
	if code, _, stderr := runArgs("convert", smallModel, out2, "--calib", smallCalib); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	a, _ := os.ReadFile(out)
	c, _ := os.ReadFile(out2)
	if !bytes.Equal(a, c) {
		t.Error("two runs wrote different files")
	}
}

func TestConvertFlags(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "o.onnx")
	code, stdout, _ := runArgs("convert", "--list-passes")
	if code != 0 || !strings.Contains(stdout, "ternarize") || !strings.Contains(stdout, "absorb-qdq") {
		t.Errorf("--list-passes: exit %d\n%s", code, stdout)
	}
	code, _, stderr := runArgs(smallModel, out, "--calib", smallCalib, "--print-after", "ternarize", "--dump-after", "fold-bn", "--format", "qdq", "--select", "adjacent")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "# after ternarize") || !strings.Contains(stderr, "= Conv(") {
		t.Errorf("--print-after output missing:\n%.400s", stderr)
	}
	if _, err := onnx.Load(filepath.Join(dir, "o.fold-bn.onnx")); err != nil {
		t.Errorf("--dump-after: %v", err)
	}
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{smallModel}, 2, "want IN.onnx and OUT.onnx"},
		{[]string{smallModel, out, "--format", "xyz"}, 2, "unknown format"},
		{[]string{smallModel, out, "--passes", "cleanup,nope"}, 2, `unknown pass "nope"`},
		{[]string{smallModel, out, "--passes", "ternarize"}, 1, `requires "select"`},
		{[]string{smallModel, smallModel}, 2, "is the input file"},
		{[]string{"missing.onnx", out}, 2, "missing.onnx"},
		{[]string{smallModel, out, "--include", "no-such-node"}, 1, "no-such-node"},
		{[]string{smallModel, out, "--ranges", filepath.Join(dir, "none.json")}, 2, "none.json"},
	} {
		code, _, stderr := runArgs(c.args...)
		if code != c.code || !strings.Contains(stderr, c.want) || strings.Count(strings.TrimSpace(stderr), "\n") > 0 && c.code == 2 && !strings.Contains(stderr, "usage") {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", c.args, code, stderr, c.code, c.want)
		}
	}
}

func TestConvertRangesFile(t *testing.T) {
	dir := t.TempDir()
	ranges := filepath.Join(dir, "ranges.json")
	// A ranges file that covers only the input: the convs' values are
	// missing, so the converter calibrates them (synthetically) and says so.
	s := `{"input": {"min": -3, "max": 3}}`
	if err := os.WriteFile(ranges, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "o.onnx")
	code, stdout, stderr := runArgs(smallModel, out, "--ranges", ranges)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "synthetic") || !strings.Contains(stdout, "ternarized 14 of 14") {
		t.Errorf("a partial ranges file should lead to synthetic calibration of the rest:\n%s\n%s", stdout, stderr)
	}
}

func TestConvertRecover(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "r.onnx")
	if code, _, stderr := runArgs(smallModel, out, "--recover"); code != 2 || !strings.Contains(stderr, "--recover needs --calib") {
		t.Errorf("--recover without data: exit %d, %q", code, stderr)
	}
	code, stdout, stderr := runArgs(smallModel, out, "--recover", "--calib", smallCalib, "-v")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "recover") || !strings.Contains(stdout, "ternarized 14 of 14") {
		t.Errorf("recover pass missing from the run:\n%s\n%s", stdout, stderr)
	}
}
