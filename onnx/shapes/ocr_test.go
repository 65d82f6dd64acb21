package shapes_test

import (
	"path/filepath"
	"testing"

	"github.com/onnx-prom/onnx-prom/onnx/tensor"
	"github.com/onnx-prom/onnx-prom/verify/interp"

	"github.com/onnx-prom/onnx-prom/internal/testenv"
	"github.com/onnx-prom/onnx-prom/onnx"
	"github.com/onnx-prom/onnx-prom/onnx/ir"
	"github.com/onnx-prom/onnx-prom/onnx/shapes"
)

// ocrInputs are typical input sizes of the PaddleOCR models: detection at
// 640x640, recognition of a 48x320 text line, direction classification at
// 48x192.
var ocrInputs = map[string][]int64{
	"ch_PP-OCRv4_det_infer.onnx":          {1, 3, 640, 640},
	"ch_PP-OCRv4_rec_infer.onnx":          {1, 3, 48, 320},
	"ch_ppocr_mobile_v2.0_cls_infer.onnx": {1, 3, 48, 192},
}

// TestOCRModels infers the PaddleOCR models as they are (symbolic batch and
// spatial sizes) and with fixed input sizes, and counts the values whose
// shape is fully known.
func TestOCRModels(t *testing.T) {
	dir := testenv.OCRModels(t)
	for file, fixed := range ocrInputs {
		mp, err := onnx.Load(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		for _, fix := range []bool{false, true} {
			m, err := ir.FromProto(mp)
			if err != nil {
				t.Fatal(err)
			}
			if fix {
				m.Graph.Inputs[0].Shape = ir.ShapeOf(fixed...)
			}
			if err := shapes.Infer(m); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			total, full, typed, ranked := 0, 0, 0, 0
			for _, n := range m.Graph.Nodes() {
				for _, v := range n.Outputs {
					if v == nil {
						continue
					}
					total++
					if v.Type != 0 {
						typed++
					}
					if v.Shape != nil {
						ranked++
					}
					if v.Shape.Known() {
						full++
					}
				}
			}
			t.Logf("%s (input %v): %d node outputs, %d typed, %d with rank, %d with full shapes; output %v",
				file, m.Graph.Inputs[0].Shape, total, typed, ranked, full, m.Graph.Outputs[0].Shape)
			if fix && full != total {
				for _, n := range m.Graph.Nodes() {
					for _, v := range n.Outputs {
						if v != nil && !v.Shape.Known() {
							t.Errorf("%s at %v: %s output %s has shape %v", file, fixed, n.Label(), v.Name, v.Shape)
						}
					}
				}
			}
		}
	}
}

// TestOCRShapesAtRunTime runs the PaddleOCR models in the interpreter at
// small fixed input sizes and checks every inferred shape and type against
// the tensor the node actually computes.
func TestOCRShapesAtRunTime(t *testing.T) {
	dir := testenv.OCRModels(t)
	sizes := map[string][]int64{
		"ch_PP-OCRv4_det_infer.onnx":          {1, 3, 96, 128},
		"ch_PP-OCRv4_rec_infer.onnx":          {2, 3, 48, 96},
		"ch_ppocr_mobile_v2.0_cls_infer.onnx": {1, 3, 48, 96},
	}
	for file, dims := range sizes {
		mp, err := onnx.Load(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		m, err := ir.FromProto(mp)
		if err != nil {
			t.Fatal(err)
		}
		prog, err := interp.Compile(m, interp.Options{})
		if err != nil {
			t.Logf("%s: interpreter cannot run it (%v); skipped", file, err)
			continue
		}
		in := m.Graph.Inputs[0]
		in.Shape = ir.ShapeOf(dims...)
		if err := shapes.Infer(m); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		x, err := tensor.New(tensor.Float, dims...)
		if err != nil {
			t.Fatal(err)
		}
		f := x.Data.([]float32)
		for i := range f {
			f[i] = float32(i%17) / 17
		}
		checked := 0
		_, err = prog.RunWith(map[string]*tensor.Tensor{in.Name: x}, interp.RunOptions{Observe: func(name string, got *tensor.Tensor) {
			v := m.Graph.Value(name)
			if v == nil {
				return
			}
			checked++
			if v.Type != got.Type || !v.Shape.Equal(ir.ShapeOf(got.Shape...)) {
				t.Errorf("%s: value %q: inferred %s %v, computed %s %v", file, name, tensor.Name(v.Type), v.Shape, tensor.Name(got.Type), got.Shape)
			}
		}})
		if err != nil {
			t.Fatalf("%s: run: %v", file, err)
		}
		t.Logf("%s at %v: %d computed values checked", file, dims, checked)
	}
}
