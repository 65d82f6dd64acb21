package interp

import (
	"math"
	"strings"
	"testing"

	"github.com/onnx-prom/onnx-prom/onnx/tensor"
	"github.com/x448/float16"
)

func visF64T(shape []int64, v ...float64) *tensor.Tensor {
	return &tensor.Tensor{Type: tensor.Double, Shape: shape, Data: v}
}

// A trilinear sample of a linear function is the function itself.
func TestGridSampleLinear3D(t *testing.T) {
	const dz, dy, dx = 3, 4, 5
	f := func(z, y, x float64) float64 { return 1 + 2*z + 3*y + 0.5*x }
	xv := make([]float64, 0, dz*dy*dx)
	for z := range dz {
		for y := range dy {
			for x := range dx {
				xv = append(xv, f(float64(z), float64(y), float64(x)))
			}
		}
	}
	pts := [][3]float64{{-1, -1, -1}, {0.3, -0.2, 0.9}, {1, 1, 1}, {-0.7, 0.45, 0.1}}
	var gv, want []float64
	for _, p := range pts { // p is (x, y, z) normalized
		gv = append(gv, p[0], p[1], p[2])
		de := func(v float64, d int) float64 { return (v + 1) / 2 * float64(d-1) }
		want = append(want, f(de(p[2], dz), de(p[1], dy), de(p[0], dx)))
	}
	y := elemOne(t, elemNode{op: "GridSample", opset: 20, attrs: []*elemAttr{elemInt("align_corners", 1)},
		inputs: []*tensor.Tensor{visF64T([]int64{1, 1, dz, dy, dx}, xv...), visF64T([]int64{1, 1, 2, 2, 3}, gv...)}})
	elemExpect(t, y, tensor.Double, []int64{1, 1, 1, 2, 2}, want)
}

// Cubic sampling of X that is constant along z equals the 2-D sampling
// (the cubic weights sum to one); opset 16's bicubic is opset 20's cubic.
func TestGridSampleCubic3DMatches2D(t *testing.T) {
	const dz, dy, dx = 6, 3, 4
	x2 := make([]float32, dy*dx)
	for i := range x2 {
		x2[i] = float32(i*i%7) - 2.5
	}
	x3 := make([]float32, 0, dz*dy*dx)
	for range dz {
		x3 = append(x3, x2...)
	}
	g2 := []float32{-1, -1, -0.3, 0.6, 0.9, -0.95, 1.2, 0.1, 0.05, 0.5, -1.4, 0.2}
	var g3 []float32
	for i := 0; i < len(g2); i += 2 {
		g3 = append(g3, g2[i], g2[i+1], -0.1+float32(i)*0.01) // z stays well inside
	}
	for _, pad := range []string{"zeros", "border", "reflection"} {
		for _, ac := range []int64{0, 1} {
			attrs := func(mode string) []*elemAttr {
				return []*elemAttr{elemStr("mode", mode), elemStr("padding_mode", pad), elemInt("align_corners", ac)}
			}
			y16 := elemOne(t, elemNode{op: "GridSample", opset: 16, attrs: attrs("bicubic"),
				inputs: []*tensor.Tensor{elemF32([]int64{1, 1, dy, dx}, x2...), elemF32([]int64{1, 2, 3, 2}, g2...)}})
			y20 := elemOne(t, elemNode{op: "GridSample", opset: 20, attrs: attrs("cubic"),
				inputs: []*tensor.Tensor{elemF32([]int64{1, 1, dy, dx}, x2...), elemF32([]int64{1, 2, 3, 2}, g2...)}})
			elemExpect(t, y20, tensor.Float, []int64{1, 1, 2, 3}, y16.Data)
			y3 := elemOne(t, elemNode{op: "GridSample", opset: 22, attrs: attrs("cubic"),
				inputs: []*tensor.Tensor{elemF32([]int64{1, 1, dz, dy, dx}, x3...), elemF32([]int64{1, 1, 2, 3, 3}, g3...)}})
			elemExpect(t, y3, tensor.Float, []int64{1, 1, 1, 2, 3}, y16.Data)
		}
	}
}

func TestGridSample1D(t *testing.T) {
	x := elemF32([]int64{1, 1, 4}, 10, 20, 30, 40)
	g := elemF32([]int64{1, 4, 1}, -2, -0.6, 0.1, 3)
	y := elemOne(t, elemNode{op: "GridSample", opset: 20, attrs: []*elemAttr{elemStr("mode", "nearest"), elemStr("padding_mode", "border")},
		inputs: []*tensor.Tensor{x, g}})
	elemExpect(t, y, tensor.Float, []int64{1, 1, 4}, []float32{10, 10, 30, 40})
	// Reflection: -1.5 folds to 0.5 about -0.5; 5.5 folds to 1.5 about 3.5.
	g = elemF32([]int64{1, 3, 1}, -0.5, -1.5, 2)
	y = elemOne(t, elemNode{op: "GridSample", opset: 20, attrs: []*elemAttr{elemStr("padding_mode", "reflection")},
		inputs: []*tensor.Tensor{x, g}})
	elemExpect(t, y, tensor.Float, []int64{1, 1, 3}, []float32{15, 15, 25})
	// FLOAT16 X and grid, zeros padding: -0.5 reads half of x[0] and zero.
	h := func(v ...float32) []float16.Float16 {
		out := make([]float16.Float16, len(v))
		for i, f := range v {
			out[i] = float16.Fromfloat32(f)
		}
		return out
	}
	y = elemOne(t, elemNode{op: "GridSample", opset: 20, inputs: []*tensor.Tensor{
		{Type: tensor.Float16, Shape: []int64{1, 1, 4}, Data: h(10, 20, 30, 40)},
		{Type: tensor.Float16, Shape: []int64{1, 2, 1}, Data: h(-1, 0)}}})
	elemExpect(t, y, tensor.Float16, []int64{1, 1, 2}, h(5, 25))
}

func TestGridSampleRejects(t *testing.T) {
	x4 := elemF32([]int64{1, 1, 2, 2}, 1, 2, 3, 4)
	g4 := elemF32([]int64{1, 1, 1, 2}, 0, 0)
	elemFails(t, elemNode{op: "GridSample", opset: 16, attrs: []*elemAttr{elemStr("mode", "linear")}, inputs: []*tensor.Tensor{x4, g4}}, "mode")
	elemFails(t, elemNode{op: "GridSample", opset: 20, attrs: []*elemAttr{elemStr("mode", "bilinear")}, inputs: []*tensor.Tensor{x4, g4}}, "mode")
	elemFails(t, elemNode{op: "GridSample", opset: 20, attrs: []*elemAttr{elemStr("padding_mode", "wrap")}, inputs: []*tensor.Tensor{x4, g4}}, "padding_mode")
	elemFails(t, elemNode{op: "GridSample", opset: 16, inputs: []*tensor.Tensor{elemF32([]int64{1, 1, 2}, 1, 2), elemF32([]int64{1, 1, 1}, 0)}}, "4-D")
	elemFails(t, elemNode{op: "GridSample", opset: 20, inputs: []*tensor.Tensor{x4, elemF32([]int64{1, 1, 1, 3}, 0, 0, 0)}}, "grid has shape")
	elemFails(t, elemNode{op: "GridSample", opset: 20, inputs: []*tensor.Tensor{x4, elemF32([]int64{2, 1, 1, 2}, 0, 0, 0, 0)}}, "grid has shape")
	// NaN and huge coordinates read no memory out of range.
	nan := float32(math.NaN())
	for _, mode := range []string{"linear", "nearest", "cubic"} {
		for _, pad := range []string{"zeros", "border", "reflection"} {
			_, err := elemRun(t, elemNode{op: "GridSample", opset: 20, attrs: []*elemAttr{elemStr("mode", mode), elemStr("padding_mode", pad)},
				inputs: []*tensor.Tensor{x4, elemF32([]int64{1, 1, 3, 2}, nan, 0, 1e30, -1e30, float32(math.Inf(1)), nan)}})
			if err != nil {
				t.Fatalf("%s/%s: %v", mode, pad, err)
			}
		}
	}
}

func TestRoiAlignModes(t *testing.T) {
	x := elemF32([]int64{1, 1, 2, 2}, 1, 2, 3, 4)
	rois := elemF32([]int64{1, 4}, 0, 0, 1, 1)
	bi := elemI64([]int64{1}, 0)
	run := func(opset int64, attrs ...*elemAttr) *tensor.Tensor {
		attrs = append(attrs, elemInt("sampling_ratio", 1))
		return elemOne(t, elemNode{op: "RoiAlign", opset: opset, attrs: attrs, inputs: []*tensor.Tensor{x, rois, bi}})
	}
	// Opset 10 (and output_half_pixel): one sample at (0.5, 0.5).
	elemExpect(t, run(10), tensor.Float, []int64{1, 1, 1, 1}, []float32{2.5})
	elemExpect(t, run(10, elemStr("mode", "max")), tensor.Float, []int64{1, 1, 1, 1}, []float32{1})
	elemExpect(t, run(16, elemStr("coordinate_transformation_mode", "output_half_pixel")), tensor.Float, []int64{1, 1, 1, 1}, []float32{2.5})
	// half_pixel: the sample sits on pixel (0, 0).
	elemExpect(t, run(16), tensor.Float, []int64{1, 1, 1, 1}, []float32{1})
	elemExpect(t, run(16, elemStr("mode", "max")), tensor.Float, []int64{1, 1, 1, 1}, []float32{1})
	elemFails(t, elemNode{op: "RoiAlign", opset: 10, attrs: []*elemAttr{elemStr("coordinate_transformation_mode", "half_pixel")}, inputs: []*tensor.Tensor{x, rois, bi}}, "not defined")
	elemFails(t, elemNode{op: "RoiAlign", opset: 16, inputs: []*tensor.Tensor{x, rois, elemI64([]int64{1}, 1)}}, "out of range")
	elemFails(t, elemNode{op: "RoiAlign", opset: 16, inputs: []*tensor.Tensor{x, rois, elemI64([]int64{2}, 0, 0)}}, "batch_indices")
	elemFails(t, elemNode{op: "RoiAlign", opset: 16, inputs: []*tensor.Tensor{x, elemF32([]int64{1, 4}, 0, 0, 1e30, 1e30), bi}}, "limit")
	elemFails(t, elemNode{op: "RoiAlign", opset: 16, attrs: []*elemAttr{elemInt("sampling_ratio", 1<<40)}, inputs: []*tensor.Tensor{x, rois, bi}}, "sampling_ratio")
	nan := float32(math.NaN())
	y := elemOne(t, elemNode{op: "RoiAlign", opset: 16, attrs: []*elemAttr{elemInt("sampling_ratio", 2)},
		inputs: []*tensor.Tensor{x, elemF32([]int64{1, 4}, nan, -50, 1e20, nan), bi}})
	elemExpect(t, y, tensor.Float, []int64{1, 1, 1, 1}, []float32{0})
}

func TestNonMaxSuppressionEdges(t *testing.T) {
	boxes := elemF32([]int64{1, 3, 4}, 0, 0, 1, 1, 0, 0.1, 1, 1.1, 5, 5, 6, 6)
	scores := elemF32([]int64{1, 1, 3}, 0.9, float32(math.NaN()), 0.8)
	y := elemOne(t, elemNode{op: "NonMaxSuppression", opset: 11, inputs: []*tensor.Tensor{boxes, scores, elemI64([]int64{1}, 10)}})
	// iou_threshold 0: any overlap suppresses; the NaN score is skipped.
	elemExpect(t, y, tensor.Int64, []int64{2, 3}, []int64{0, 0, 0, 0, 0, 2})
	y = elemOne(t, elemNode{op: "NonMaxSuppression", opset: 11, inputs: []*tensor.Tensor{boxes, scores}})
	elemExpect(t, y, tensor.Int64, []int64{0, 3}, []int64{})
	elemFails(t, elemNode{op: "NonMaxSuppression", opset: 11, inputs: []*tensor.Tensor{boxes, elemF32([]int64{1, 1, 2}, 1, 2), elemI64([]int64{1}, 10)}}, "scores has shape")
	elemFails(t, elemNode{op: "NonMaxSuppression", opset: 11, inputs: []*tensor.Tensor{elemF32([]int64{1, 1, 3}, 1, 2, 3), scores}}, "boxes has shape")
	elemFails(t, elemNode{op: "NonMaxSuppression", opset: 11, attrs: []*elemAttr{elemInt("center_point_box", 2)}, inputs: []*tensor.Tensor{boxes, scores}}, "center_point_box")
}

func TestMaxUnpool(t *testing.T) {
	// 1-D, stride 2, pads 1 and 0: inferred length (3-1)*2+3-1 = 6.
	x := elemF32([]int64{1, 1, 3}, 7, 8, 9)
	i := elemI64([]int64{1, 1, 3}, 0, 3, 5)
	attrs := []*elemAttr{elemInts("kernel_shape", 3), elemInts("strides", 2), elemInts("pads", 1, 0)}
	y := elemOne(t, elemNode{op: "MaxUnpool", opset: 11, attrs: attrs, inputs: []*tensor.Tensor{x, i}})
	elemExpect(t, y, tensor.Float, []int64{1, 1, 6}, []float32{7, 0, 0, 8, 0, 9})
	// A larger output_shape holds the unpooled tensor at its origin.
	y = elemOne(t, elemNode{op: "MaxUnpool", opset: 11, attrs: attrs, inputs: []*tensor.Tensor{x, i, elemI64([]int64{3}, 1, 2, 7)}})
	elemExpect(t, y, tensor.Float, []int64{1, 2, 7}, []float32{7, 0, 0, 8, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0})
	elemFails(t, elemNode{op: "MaxUnpool", opset: 11, attrs: attrs, inputs: []*tensor.Tensor{x, elemI64([]int64{1, 1, 3}, 0, 6, 1)}}, "out of range")
	elemFails(t, elemNode{op: "MaxUnpool", opset: 11, attrs: attrs, inputs: []*tensor.Tensor{x, elemI64([]int64{1, 1, 3}, 0, -1, 1)}}, "out of range")
	elemFails(t, elemNode{op: "MaxUnpool", opset: 11, attrs: attrs, inputs: []*tensor.Tensor{x, i, elemI64([]int64{3}, 1, 1, 5)}}, "smaller")
	elemFails(t, elemNode{op: "MaxUnpool", opset: 11, attrs: attrs, inputs: []*tensor.Tensor{x, elemI64([]int64{3}, 0, 1, 2)}}, "shape")
	elemFails(t, elemNode{op: "MaxUnpool", opset: 11, attrs: attrs, inputs: []*tensor.Tensor{x, i, elemI64([]int64{3}, 1, 1, 1<<40)}}, "limit")
	elemFails(t, elemNode{op: "MaxUnpool", opset: 11, inputs: []*tensor.Tensor{x, i}}, "kernel_shape")
}

func TestVisionErrorsNameNode(t *testing.T) {
	_, err := elemRun(t, elemNode{op: "MaxUnpool", opset: 11, attrs: []*elemAttr{elemInts("kernel_shape", 2)},
		inputs: []*tensor.Tensor{elemF32([]int64{1, 1, 1}, 1), elemI64([]int64{1, 1, 1}, 99)}})
	if err == nil || !strings.Contains(err.Error(), "n0") {
		t.Fatalf("got %v, want an error naming the node", err)
	}
}

// TestVisionHostileSweep runs the backend test models of the ops of
// op_vision.go and op_misc2.go with each integer slot (input dimension,
// attribute, INT64 initializer element) set in turn to extreme values, on
// random inputs, under FuzzRun's limits: compile and run may fail but not
// panic or return outputs that disagree with their shapes.
func TestVisionHostileSweep(t *testing.T) {
	runs, refused := hostileSweep(t, []string{"gridsample", "roialign", "nonmaxsuppression", "maxunpool", "compress", "unique",
		"reversesequence", "mvn", "det", "hannwindow", "hammingwindow", "blackmanwindow"}, 24, 2)
	t.Logf("%d hostile runs, %d refused", runs, refused)
}
