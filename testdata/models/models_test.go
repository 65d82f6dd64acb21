package models_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/onnx-prom/onnx-prom/onnx/onnxpb"
	"github.com/onnx-prom/onnx-prom/testdata/models"
)

var (
	fullOnce               sync.Once
	fullModel, fullFolded  *onnxpb.ModelProto
	fullBytes, foldedBytes []byte
	fullErr                error
)

// full returns MobileNetV2(Full()) and its BN-folded twin, built once
// (building one takes about a second).
func full(t *testing.T) (*onnxpb.ModelProto, *onnxpb.ModelProto) {
	t.Helper()
	fullOnce.Do(func() {
		cfg := models.Full()
		if fullModel, fullErr = models.MobileNetV2(cfg); fullErr != nil {
			return
		}
		if fullBytes, fullErr = models.Marshal(fullModel); fullErr != nil {
			return
		}
		if fullFolded, fullErr = models.MobileNetV2(folded(cfg)); fullErr != nil {
			return
		}
		foldedBytes, fullErr = models.Marshal(fullFolded)
	})
	if fullErr != nil {
		t.Fatal(fullErr)
	}
	return fullModel, fullFolded
}

func generate(t *testing.T, cfg models.MobileNetV2Config) []byte {
	t.Helper()
	data, err := models.MobileNetV2Bytes(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func build(t *testing.T, cfg models.MobileNetV2Config) *onnxpb.ModelProto {
	t.Helper()
	m, err := models.MobileNetV2(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func folded(cfg models.MobileNetV2Config) models.MobileNetV2Config {
	cfg.FoldBN = true
	return cfg
}

func TestFullStructure(t *testing.T) {
	m, f := full(t)
	st := analyze(t, m)
	t.Logf("full: params %d, MACs %d, ops %v", st.params, st.macs, st.ops)
	if st.params != 3504872 {
		t.Errorf("params = %d, want 3504872 (torchvision mobilenet_v2)", st.params)
	}
	// torchvision's mobilenet_v2: 300.78 M multiply-adds (conv + linear).
	if d := math.Abs(float64(st.macs)-300.78e6) / 300.78e6; d > 0.005 {
		t.Errorf("MACs = %d, more than 0.5%% from 300.78M", st.macs)
	}
	if st.depthwise != 17 || st.pointwise != 34 {
		t.Errorf("depthwise convs = %d, pointwise = %d; want 17, 34", st.depthwise, st.pointwise)
	}
	want := map[string]int{"Conv": 52, "BatchNormalization": 52, "Clip": 35, "Add": 10,
		"GlobalAveragePool": 1, "Flatten": 1, "Gemm": 1}
	if fmt.Sprint(st.ops) != fmt.Sprint(want) {
		t.Errorf("ops = %v, want %v", st.ops, want)
	}
	if fmt.Sprint(st.outputSize) != "[1 1000]" {
		t.Errorf("output shape %v", st.outputSize)
	}

	// torchvision state_dict names and shapes.
	inits := initializers(t, m.GetGraph())
	for name, shape := range map[string]string{
		"features.0.0.weight":             "[32 3 3 3]",
		"features.0.1.running_var":        "[32]",
		"features.1.conv.0.0.weight":      "[32 1 3 3]",
		"features.1.conv.1.weight":        "[16 32 1 1]",
		"features.1.conv.2.bias":          "[16]",
		"features.2.conv.0.0.weight":      "[96 16 1 1]",
		"features.2.conv.1.0.weight":      "[96 1 3 3]",
		"features.2.conv.2.weight":        "[24 96 1 1]",
		"features.17.conv.2.weight":       "[320 960 1 1]",
		"features.17.conv.3.running_mean": "[320]",
		"features.18.0.weight":            "[1280 320 1 1]",
		"features.18.1.weight":            "[1280]",
		"classifier.1.weight":             "[1000 1280]",
		"classifier.1.bias":               "[1000]",
		models.ClipMinName:                "[]",
	} {
		if it, ok := inits[name]; !ok || fmt.Sprint(it.shape) != shape {
			t.Errorf("initializer %s: present %t, shape %v, want %s", name, ok, it.shape, shape)
		}
	}

	fs := analyze(t, f)
	t.Logf("full folded: params %d, MACs %d, ops %v", fs.params, fs.macs, fs.ops)
	if fs.ops["BatchNormalization"] != 0 || fs.ops["Conv"] != 52 || fs.macs != st.macs {
		t.Errorf("folded: ops %v, MACs %d", fs.ops, fs.macs)
	}
	for _, n := range f.GetGraph().GetNode() {
		if n.GetOpType() == "Conv" && len(n.GetInput()) != 3 {
			t.Errorf("folded conv %s has no bias", n.GetName())
		}
	}
}

func TestSmallVariants(t *testing.T) {
	for _, c := range []struct {
		name                    string
		cfg                     models.MobileNetV2Config
		blocks, residual, input int
		maxMACs                 int64
	}{
		{"tiny", models.Tiny(), 3, 1, 32, 500_000},
		{"small", models.Small(), 7, 3, 64, 20_000_000},
	} {
		st := analyze(t, build(t, c.cfg))
		t.Logf("%s: params %d, MACs %d, ops %v", c.name, st.params, st.macs, st.ops)
		if st.depthwise != c.blocks || st.ops["Add"] != c.residual || st.ops["Gemm"] != 1 ||
			st.ops["GlobalAveragePool"] != 1 || st.macs > c.maxMACs {
			t.Errorf("%s: %d depthwise convs, ops %v, MACs %d", c.name, st.depthwise, st.ops, st.macs)
		}
		if fmt.Sprint(st.outputSize) != "[1 10]" || fmt.Sprint(st.shapes[models.InputName]) != fmt.Sprintf("[1 3 %d %d]", c.input, c.input) {
			t.Errorf("%s: input %v output %v", c.name, st.shapes[models.InputName], st.outputSize)
		}
		fs := analyze(t, build(t, folded(c.cfg)))
		if fs.ops["BatchNormalization"] != 0 || fs.macs != st.macs {
			t.Errorf("%s folded: ops %v", c.name, fs.ops)
		}
	}
}

// TestGraphWellFormed checks names, graph input/output, value_info and model
// fields.
func TestGraphWellFormed(t *testing.T) {
	m, f := full(t)
	for _, m := range []*onnxpb.ModelProto{m, f, build(t, models.Tiny()), build(t, folded(models.Small()))} {
		if m.GetIrVersion() != 8 || len(m.GetOpsetImport()) != 1 || m.GetOpsetImport()[0].GetDomain() != "" ||
			m.GetOpsetImport()[0].GetVersion() != 13 || m.GetProducerName() != "onnx-prom testdata" {
			t.Errorf("model header: ir %d opset %v producer %q", m.GetIrVersion(), m.GetOpsetImport(), m.GetProducerName())
		}
		g := m.GetGraph()
		defined := map[string]bool{}
		for _, in := range g.GetInput() {
			defined[in.GetName()] = true
		}
		for _, it := range g.GetInitializer() {
			if defined[it.GetName()] {
				t.Errorf("duplicate value %s", it.GetName())
			}
			defined[it.GetName()] = true
		}
		nodeNames := map[string]bool{}
		for _, n := range g.GetNode() {
			if n.GetName() == "" || nodeNames[n.GetName()] {
				t.Errorf("node name %q empty or duplicate", n.GetName())
			}
			nodeNames[n.GetName()] = true
			for _, in := range n.GetInput() {
				if !defined[in] {
					t.Errorf("node %s reads %s before it is defined", n.GetName(), in)
				}
			}
			for _, out := range n.GetOutput() {
				if defined[out] {
					t.Errorf("value %s defined twice", out)
				}
				defined[out] = true
			}
		}
		typed := map[string]bool{}
		for _, vi := range g.GetValueInfo() {
			typed[vi.GetName()] = true
		}
		for _, n := range g.GetNode() {
			if out := n.GetOutput()[0]; out != models.OutputName && !typed[out] {
				t.Errorf("no value_info for %s", out)
			}
		}
		for _, vi := range slices.Concat(g.GetInput(), g.GetOutput()) {
			dims := vi.GetType().GetTensorType().GetShape().GetDim()
			if dims[0].GetDimParam() != "N" {
				t.Errorf("%s: batch dim %v", vi.GetName(), dims[0])
			}
		}
		if len(g.GetInput()) != 1 || g.GetInput()[0].GetName() != "input" ||
			len(g.GetOutput()) != 1 || g.GetOutput()[0].GetName() != "output" || !defined["output"] {
			t.Errorf("graph input/output: %v %v", g.GetInput(), g.GetOutput())
		}
	}

	cfg := models.Tiny()
	cfg.BatchSize = 4
	d := build(t, cfg).GetGraph().GetInput()[0].GetType().GetTensorType().GetShape().GetDim()[0]
	if d.GetDimValue() != 4 || d.GetDimParam() != "" {
		t.Errorf("fixed batch dim: %v", d)
	}
}

func TestDeterministic(t *testing.T) {
	full(t)
	if !bytes.Equal(generate(t, models.Full()), fullBytes) {
		t.Error("two generations of Full() differ")
	}
	if !bytes.Equal(generate(t, folded(models.Full())), foldedBytes) {
		t.Error("two generations of folded Full() differ")
	}
	small := models.Small()
	a := generate(t, small)
	if !bytes.Equal(a, generate(t, small)) {
		t.Error("two generations of Small() differ")
	}
	small.Seed++
	if bytes.Equal(a, generate(t, small)) {
		t.Error("the seed does not change the model")
	}
	// The zero config is torchvision's mobilenet_v2 at 224x224: equal to
	// Full() for the same seed.
	if !testing.Short() && !bytes.Equal(generate(t, models.MobileNetV2Config{Seed: models.Full().Seed}), fullBytes) {
		t.Error("zero config with Full's seed differs from Full()")
	}

	// The bytes decode back to the same model.
	m := build(t, models.Tiny())
	data, err := models.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var back onnxpb.ModelProto
	if err := proto.Unmarshal(data, &back); err != nil || !proto.Equal(m, &back) {
		t.Errorf("round trip: %v", err)
	}
}

// TestCommittedFiles catches stale generated files: run
// "go generate ./testdata/models" after changing the generator.
func TestCommittedFiles(t *testing.T) {
	files, err := models.Files()
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 4+16+8 {
		t.Errorf("%d files", len(files))
	}
	for _, f := range files {
		got, err := os.ReadFile(filepath.FromSlash(f.Path))
		if err != nil {
			t.Errorf("%v (run go generate ./testdata/models)", err)
			continue
		}
		if !bytes.Equal(got, f.Data) {
			t.Errorf("%s is stale (run go generate ./testdata/models)", f.Path)
		}
	}
}

func TestInvalidConfig(t *testing.T) {
	for _, cfg := range []models.MobileNetV2Config{
		{Width: -1},
		{Resolution: -3},
		{NumClasses: -1},
		{BatchSize: -1},
		{StemChannels: -8},
		{Blocks: []models.BlockSpec{}},
		{Blocks: []models.BlockSpec{{6, 16, 0, 1}}},
	} {
		if _, err := models.MobileNetV2(cfg); err == nil {
			t.Errorf("config %+v: no error", cfg)
		}
	}
}

// TestActivations runs the float reference on calibration-like inputs and
// checks that activations keep a sane scale through every layer, that the
// logits depend on the input, and that BN folding preserves the function.
func TestActivations(t *testing.T) {
	fullM, fullF := full(t)
	cases := []struct {
		name      string
		m, f      *onnxpb.ModelProto
		res       int
		batch     int
		skipShort bool
	}{
		{"tiny", build(t, models.Tiny()), build(t, folded(models.Tiny())), 32, 8, false},
		{"small", build(t, models.Small()), build(t, folded(models.Small())), 64, 4, false},
		{"full", fullM, fullF, 224, 2, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.skipShort && testing.Short() {
				t.Skip("full model forward pass in -short mode")
			}
			x := tensor{[]int{c.batch, 3, c.res, c.res}, nil}
			for _, s := range models.CalibrationSamples(7, c.batch, c.res) {
				x.data = append(x.data, s...)
			}
			var minStd, maxStd, minPos, maxPos, maxSat float64 = math.Inf(1), 0, 1, 0, 0
			check := func(n *onnxpb.NodeProto, out tensor) {
				mean, std := meanStd(out.data)
				if math.IsNaN(mean) || math.IsInf(std, 0) || math.IsNaN(std) {
					t.Fatalf("%s: non-finite output", n.GetName())
				}
				switch n.GetOpType() {
				case "BatchNormalization", "Add":
					minStd, maxStd = min(minStd, std), max(maxStd, std)
				case "Clip":
					var pos, sat int
					for _, v := range out.data {
						if v > 0 {
							pos++
						}
						if v >= 6 {
							sat++
						}
					}
					p, s := float64(pos)/float64(len(out.data)), float64(sat)/float64(len(out.data))
					minPos, maxPos, maxSat = min(minPos, p), max(maxPos, p), max(maxSat, s)
				}
			}
			y := run(t, c.m, x, check)
			t.Logf("BN/Add output std in [%.3f, %.3f]; Clip positive fraction in [%.3f, %.3f], saturated <= %.4f",
				minStd, maxStd, minPos, maxPos, maxSat)
			if minStd < 0.5 || maxStd > 3.5 || minPos < 0.2 || maxPos > 0.8 || maxSat > 0.01 {
				t.Errorf("activation scale drifts")
			}

			classes := y.shape[1]
			_, logitStd := meanStd(y.data)
			var spread float64 // mean over classes of the std across samples
			for j := range classes {
				col := make([]float32, c.batch)
				for i := range c.batch {
					col[i] = y.data[i*classes+j]
				}
				_, s := meanStd(col)
				spread += s / float64(classes)
			}
			t.Logf("logits std %.4f, std across samples %.4f, sample 0: %v", logitStd, spread, y.data[:min(classes, 10)])
			top := map[int]bool{}
			for i := range c.batch {
				row := y.data[i*classes : (i+1)*classes]
				top[slices.Index(row, slices.Max(row))] = true
			}
			t.Logf("%d distinct top-1 classes in %d samples", len(top), c.batch)
			if logitStd < 1e-2 || spread < 0.5*logitStd || len(top) < 2 {
				t.Errorf("logits barely depend on the input")
			}

			yf := run(t, c.f, x, nil)
			var maxDiff float64
			for i := range y.data {
				maxDiff = max(maxDiff, math.Abs(float64(y.data[i]-yf.data[i])))
			}
			t.Logf("folded vs unfolded: max abs diff %.2e", maxDiff)
			if maxDiff > 1e-3*max(logitStd, 1e-3) {
				t.Errorf("folded model differs: %g", maxDiff)
			}
		})
	}
}

func meanStd(v []float32) (float64, float64) {
	var s, s2 float64
	for _, x := range v {
		s += float64(x)
		s2 += float64(x) * float64(x)
	}
	n := float64(len(v))
	m := s / n
	return m, math.Sqrt(max(0, s2/n-m*m))
}

func TestWriteNPY(t *testing.T) {
	for _, shape := range [][]int{{1, 3, 32, 32}, {5}, {}, {2, 0}, {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 3}} {
		data := make([]float32, numel(shape))
		for i := range data {
			data[i] = float32(i) - 0.5
		}
		var buf bytes.Buffer
		if err := models.WriteNPY(&buf, shape, data); err != nil {
			t.Fatal(err)
		}
		b := buf.Bytes()
		if string(b[:8]) != "\x93NUMPY\x01\x00" {
			t.Fatalf("magic/version %q", b[:8])
		}
		hl := int(binary.LittleEndian.Uint16(b[8:]))
		header := string(b[10 : 10+hl])
		if (10+hl)%64 != 0 || !strings.HasSuffix(header, "\n") {
			t.Errorf("header length %d, header %q", hl, header)
		}
		dims := make([]string, len(shape))
		for i, d := range shape {
			dims[i] = fmt.Sprint(d)
		}
		tuple := "(" + strings.Join(dims, ", ") + ")"
		if len(shape) == 1 {
			tuple = "(" + dims[0] + ",)"
		}
		want := "{'descr': '<f4', 'fortran_order': False, 'shape': " + tuple + ", }"
		if strings.TrimRight(header, " \n") != want {
			t.Errorf("header %q, want %q", header, want)
		}
		body := b[10+hl:]
		if len(body) != 4*len(data) {
			t.Fatalf("body %d bytes", len(body))
		}
		for i, v := range data {
			if got := math.Float32frombits(binary.LittleEndian.Uint32(body[4*i:])); got != v {
				t.Fatalf("value %d: %v != %v", i, got, v)
			}
		}
	}
	if err := models.WriteNPY(&bytes.Buffer{}, []int{2, 2}, make([]float32, 3)); err == nil {
		t.Error("size mismatch accepted")
	}
}

func TestCalibrationSamples(t *testing.T) {
	a := models.CalibrationSamples(models.TinyCalibrationSeed, 16, 32)
	b := models.CalibrationSamples(models.TinyCalibrationSeed, 4, 32)
	if len(a) != 16 || len(a[0]) != 3*32*32 || !slices.Equal(a[3], b[3]) || slices.Equal(a[0], a[1]) {
		t.Fatal("samples not deterministic per index")
	}
	m, s := meanStd(slices.Concat(a...))
	if math.Abs(m) > 0.15 || math.Abs(s-1) > 0.15 {
		t.Errorf("samples mean %.3f std %.3f", m, s)
	}
}
