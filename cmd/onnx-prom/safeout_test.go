package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onnx-prom/onnx-prom/onnx"
)

// execStderr runs onnx-prom ARGS... and returns the exit code and stderr.
func execStderr(args ...string) (int, string) {
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, errb.String()
}

// TestOutputMayNotClobberInput spells the input file in other ways (a
// relative path, a symbolic link, a hard link) and points the output, the
// report and the external data at it.
func TestOutputMayNotClobberInput(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "m.onnx")
	if err := (onnx.SaveOptions{External: onnx.ExternalAlways, ExternalMinBytes: 64}).Save(in, goodCNN()); err != nil {
		t.Fatal(err)
	}
	orig, _ := os.ReadFile(in)
	origData, _ := os.ReadFile(in + ".data")
	os.Symlink(in, filepath.Join(dir, "sym.onnx"))
	os.Link(in, filepath.Join(dir, "hard.onnx"))
	wd, _ := os.Getwd()
	rel, err := filepath.Rel(wd, in)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"same path", []string{in, in}, "is the input file; pass --force"},
		{"relative spelling", []string{in, rel}, "is the input file"},
		{"dot segments", []string{in, filepath.Join(dir, ".", "x", "..", "m.onnx")}, "is the input file"},
		{"symbolic link", []string{in, filepath.Join(dir, "sym.onnx")}, "is the input file"},
		{"hard link", []string{in, filepath.Join(dir, "hard.onnx")}, "is the input file"},
		{"external data file", []string{in, in + ".data", "--force"}, "external data file"},
		{"report on the input", []string{in, filepath.Join(dir, "out.onnx"), "--report", in}, "--report"},
		{"report on the data", []string{in, filepath.Join(dir, "out.onnx"), "--report", in + ".data"}, "--report"},
		{"report on the output", []string{in, filepath.Join(dir, "out.onnx"), "--report", filepath.Join(dir, "out.onnx")}, "is the output file"},
	} {
		code, msg := execStderr(append([]string{"convert"}, c.args...)...)
		if code != exitUsage || !strings.Contains(msg, c.want) {
			t.Errorf("%s: exit %d, %q; want exit 2 saying %q", c.name, code, msg, c.want)
		}
		now, _ := os.ReadFile(in)
		nowData, _ := os.ReadFile(in + ".data")
		if !bytes.Equal(now, orig) || !bytes.Equal(nowData, origData) {
			t.Fatalf("%s: the input changed", c.name)
		}
		if _, err := os.Stat(filepath.Join(dir, "out.onnx")); err == nil {
			t.Fatalf("%s: left out.onnx", c.name)
		}
	}
	// --force allows replacing the model file itself, through a link too.
	if code, msg := execStderr("convert", in, filepath.Join(dir, "sym.onnx"), "--force"); code != 0 {
		t.Fatalf("--force: exit %d: %s", code, msg)
	}
	if _, err := onnx.Load(in); err != nil {
		t.Fatal(err)
	}
}

// TestWorkBudgetFlag: --max-macs refuses models whose estimated work is
// over it, with exit code 2 and no output.
func TestWorkBudgetFlag(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "m.onnx")
	if err := onnx.Save(model, goodCNN()); err != nil {
		t.Fatal(err)
	}
	// conv1 takes 4 channels x 64 positions x 27 taps, conv2 4 x 64 x 4:
	// 7936 multiply-accumulates, under 100000 and over 1000.
	if code, msg := execStderr("run", model, "--max-macs", "100000"); code != 0 {
		t.Fatalf("run within budget: exit %d: %s", code, msg)
	}
	code, msg := execStderr("run", model, "--max-macs", "1000", "--output", filepath.Join(dir, "outs"))
	if code != exitUsage || !strings.Contains(msg, "budget") || strings.Count(msg, "\n") != 1 {
		t.Errorf("run over budget: exit %d, %q", code, msg)
	}
	if _, err := os.Stat(filepath.Join(dir, "outs")); err == nil {
		t.Error("run over budget left its output folder")
	}
	out := filepath.Join(dir, "out.onnx")
	code, msg = execStderr("convert", model, out, "--max-macs", "1000", "--report", filepath.Join(dir, "r.json"))
	if code != exitUsage || !strings.Contains(msg, "budget") {
		t.Errorf("convert over budget: exit %d, %q", code, msg)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("convert over budget left files: %v", entries)
	}
	if code, msg := execStderr("convert", model, out, "--max-macs", "100000"); code != 0 {
		t.Errorf("convert within budget: exit %d: %s", code, msg)
	}
}
