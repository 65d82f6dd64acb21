package shapes_test

import (
	"os"
	"testing"

	"github.com/onnx-prom/onnx-prom/internal/testenv"
	"github.com/onnx-prom/onnx-prom/onnx"
	"github.com/onnx-prom/onnx-prom/onnx/ir"
	"github.com/onnx-prom/onnx-prom/onnx/shapes"
)

// fuzzLoad is how fuzz targets load models: small limits.
var fuzzLoad = onnx.LoadOptions{Limits: onnx.Limits{MaxTensorBytes: 1 << 16, MaxFileBytes: 1 << 22, MaxDepth: 4}}

// FuzzInfer decodes a model, optionally sets one integer of it to an
// extreme value, builds the IR and infers shapes. Nothing may panic;
// inferred dimensions are never negative; a graph inference accepts
// converts back to a ModelProto whose IR accepts inference again.
func FuzzInfer(f *testing.F) {
	for _, p := range testenv.SeedModels() {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b, uint16(0), int64(0))
			f.Add(b, uint16(len(b)), int64(-1)<<62)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte, slot uint16, val int64) {
		mp, err := fuzzLoad.Decode(b, "")
		if err != nil {
			return
		}
		if slot != 0 {
			testenv.SetIntSlot(mp, slot, val)
		}
		m, err := ir.FromProto(mp)
		if err != nil {
			return
		}
		if err := shapes.Infer(m); err != nil {
			return
		}
		for _, n := range m.Graph.Nodes() {
			for _, v := range n.Outputs {
				if v == nil {
					continue
				}
				for _, d := range v.Shape {
					if d.Value < -1 {
						t.Fatalf("node %s: output %q has dimension %d", n.Label(), v.Name, d.Value)
					}
				}
			}
		}
		out, err := m.ToProtoWith(ir.ToProtoOptions{ValueInfo: true})
		if err != nil {
			t.Fatalf("ToProto after inference: %v", err)
		}
		m2, err := ir.FromProto(out)
		if err != nil {
			t.Fatalf("IR of the inferred model: %v", err)
		}
		if err := shapes.Infer(m2); err != nil {
			t.Fatalf("inference of the inferred model: %v", err)
		}
	})
}
