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
	"github.com/onnx-prom/onnx-prom/testdata/models"
	"github.com/onnx-prom/onnx-prom/verify/cost"
)

func execCmd(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

// convertedTiny writes the tiny test model converted with the default
// configuration and returns its path.
func convertedTiny(t *testing.T, dir string) string {
	t.Helper()
	mp, err := onnx.Load("../../testdata/models/tiny.onnx")
	if err != nil {
		t.Fatal(err)
	}
	out, _, err := passes.Convert(mp, passes.Options{Config: passes.DefaultConfig()})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "tiny_prom.onnx")
	if err := onnx.Save(path, out); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCostFloatModel(t *testing.T) {
	code, out, errs := execCmd("cost", "../../testdata/models/tiny.onnx")
	if code != exitOK || errs != "" {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	// 373,632 float32 MACs (models.Tiny), 4.6 pJ each: 1.719 uJ.
	for _, s := range []string{"MACs: 373632 (ternary 0, int8 0, float 373632)", "energy (scope macs): 1.719 uJ", "float16 baseline: 0.560 uJ", "assumptions:"} {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %q:\n%s", s, out)
		}
	}
}

func TestCostJSONAndHTML(t *testing.T) {
	dir := t.TempDir()
	model := convertedTiny(t, dir)
	html := filepath.Join(dir, "cost.html")
	table := filepath.Join(dir, "table.json")
	if err := os.WriteFile(table, []byte(`{"int8_add": 0.06}`), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := execCmd("cost", model, "--json", "--html", html, "--energy-table", table)
	if code != exitOK || errs != "" {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	var r cost.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("JSON: %v\n%s", err, out)
	}
	if r.Table.Int8Add != 0.06 || r.Table.Int8Mult != 0.2 || r.MACs != 373632 || r.TernaryMACs == 0 || r.Int8MACs == 0 {
		t.Errorf("table %+v, MACs %d (ternary %d, int8 %d)", r.Table, r.MACs, r.TernaryMACs, r.Int8MACs)
	}
	want := float64(r.TernaryMACs)*0.06 + float64(r.Int8MACs)*0.26
	if d := r.EnergyPJ - want; d > 1e-6*want || d < -1e-6*want {
		t.Errorf("energy %v pJ, want %v", r.EnergyPJ, want)
	}
	b, err := os.ReadFile(html)
	if err != nil {
		t.Fatal(err)
	}
	h := string(b)
	for _, s := range []string{"<!DOCTYPE html>", "<svg", "features.0.0", "float16", "</html>"} {
		if !strings.Contains(h, s) {
			t.Errorf("HTML lacks %q", s)
		}
	}
	for _, s := range []string{"<script", "src=", "href=", "https://"} {
		if strings.Contains(h, s) {
			t.Errorf("HTML contains %q: not self-contained", s)
		}
	}
}

func TestCostErrors(t *testing.T) {
	dir := t.TempDir()
	badTable := filepath.Join(dir, "bad.json")
	os.WriteFile(badTable, []byte(`{"int8_sub": 1}`), 0o644)
	notModel := filepath.Join(dir, "x.onnx")
	os.WriteFile(notModel, []byte("not a model"), 0o644)
	tiny := "../../testdata/models/tiny.onnx"
	for _, args := range [][]string{
		{"cost"},
		{"cost", tiny, tiny},
		{"cost", filepath.Join(dir, "missing.onnx")},
		{"cost", notModel},
		{"cost", tiny, "--scope", "everything"},
		{"cost", tiny, "--accumulator", "int16"},
		{"cost", tiny, "--energy-table", badTable},
		{"cost", tiny, "--energy-table", filepath.Join(dir, "missing.json")},
	} {
		code, out, errs := execCmd(args...)
		if code != exitUsage || out != "" || errs == "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and a message", args[1:], code, out, errs)
		}
	}
}

// TestCostMobileNetV2 is acceptance test (c): cost on the converted full
// MobileNetV2 prints the energy and storage ratios.
func TestCostMobileNetV2(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and converts the full MobileNetV2")
	}
	mp, err := models.MobileNetV2(models.Full())
	if err != nil {
		t.Fatal(err)
	}
	out, _, err := passes.Convert(mp, passes.Options{Config: passes.DefaultConfig()})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "mobilenet_v2_prom.onnx")
	if err := onnx.Save(path, out); err != nil {
		t.Fatal(err)
	}
	code, text, errs := execCmd("cost", path)
	if code != exitOK || errs != "" {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	i := strings.Index(text, "energy (scope")
	if i < 0 {
		t.Fatalf("no energy summary:\n%s", text)
	}
	t.Logf("\n%s", text[i:strings.Index(text, "assumptions:")])
	for _, s := range []string{"float16 baseline: 451.161 uJ", "MACs: 300774272"} {
		if !strings.Contains(text, s) {
			t.Errorf("output lacks %q", s)
		}
	}
	code, js, _ := execCmd("cost", path, "--json")
	var r cost.Report
	if err := json.Unmarshal([]byte(js), &r); code != exitOK || err != nil {
		t.Fatalf("exit %d, %v", code, err)
	}
	if r.Float16.EnergyRatio < 23.9 || r.Float16.StorageRatio < 3 {
		t.Errorf("energy ratio %.2fx (want >= 23.9x), storage ratio %.2fx (want >= 3x)", r.Float16.EnergyRatio, r.Float16.StorageRatio)
	}
}
