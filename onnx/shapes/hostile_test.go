package shapes_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"sort"
	"testing"

	"github.com/onnx-prom/onnx-prom/internal/testenv"
	"github.com/onnx-prom/onnx-prom/onnx"
	"github.com/onnx-prom/onnx-prom/onnx/ir"
	"github.com/onnx-prom/onnx-prom/onnx/onnxpb"
	"github.com/onnx-prom/onnx-prom/onnx/shapes"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
	"google.golang.org/protobuf/proto"
)

// TestHostileMutations mutates the backend test models (input dims,
// integer attributes, small integer initializers) with extreme values and
// checks that inference returns, with or without an error, and never
// panics.
func TestHostileMutations(t *testing.T) {
	root := filepath.Join(testenv.ONNXTestData(t), "node")
	dirs, _ := filepath.Glob(filepath.Join(root, "test_*"))
	sort.Strings(dirs)
	extremes := []int64{0, 1, -1, 2, -7, 1 << 40, math.MaxInt64, math.MinInt64, math.MaxInt32}
	r := rand.New(rand.NewPCG(1, 2))
	pick := func() int64 { return extremes[r.IntN(len(extremes))] }
	runs, errs := 0, 0
	for _, dir := range dirs {
		base, err := onnx.Load(filepath.Join(dir, "model.onnx"))
		if err != nil || !allSupported(base) {
			continue
		}
		for variant := 0; variant < 4; variant++ {
			mp := proto.Clone(base).(*onnxpb.ModelProto)
			if variant%2 == 1 {
				inputsAsInitializers(mp, filepath.Join(dir, "test_data_set_0"))
			}
			g := mp.GetGraph()
			for _, in := range g.GetInput() {
				for _, d := range in.GetType().GetTensorType().GetShape().GetDim() {
					if r.IntN(3) == 0 {
						d.Value = &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: pick()}
					}
				}
			}
			for _, n := range g.GetNode() {
				for _, a := range n.GetAttribute() {
					if a.I != nil && r.IntN(2) == 0 {
						a.I = proto.Int64(pick())
					}
					for i := range a.Ints {
						if r.IntN(2) == 0 {
							a.Ints[i] = pick()
						}
					}
				}
			}
			for i, init := range g.GetInitializer() {
				tt, err := tensor.FromProto(init)
				if err != nil || tt.Type != tensor.Int64 {
					continue
				}
				vals := tt.Data.([]int64)
				for j := range vals {
					if r.IntN(2) == 0 {
						vals[j] = pick()
					}
				}
				if tp, err := tensor.ToProto(tt, init.GetName()); err == nil {
					g.Initializer[i] = tp
				}
			}
			m, err := ir.FromProto(mp)
			if err != nil {
				continue
			}
			runs++
			func() {
				defer func() {
					if p := recover(); p != nil {
						t.Errorf("%s variant %d: panic: %v", filepath.Base(dir), variant, p)
					}
				}()
				if err := shapes.Infer(m); err != nil {
					errs++
				}
			}()
		}
	}
	t.Log(fmt.Sprintf("%d mutated models, %d rejected with an error", runs, errs))
}
