package shapes_test

import (
	"path/filepath"
	"testing"

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
							t.Logf("  not full: %s %s -> %v", n.Label(), v.Name, v.Shape)
						}
					}
				}
			}
		}
	}
}
