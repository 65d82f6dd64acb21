package interp

import (
	"math"
	"testing"

	"github.com/onnx-prom/onnx-prom/onnx/tensor"
)

func TestUniqueCases(t *testing.T) {
	// Rows of a matrix, in order of first occurrence.
	x := elemI64([]int64{4, 2}, 3, 1, 0, 2, 3, 1, 0, 1)
	outs, err := elemRun(t, elemNode{op: "Unique", opset: 11, outputs: 4, attrs: []*elemAttr{elemInt("axis", -2), elemInt("sorted", 0)}, inputs: []*tensor.Tensor{x}})
	if err != nil {
		t.Fatal(err)
	}
	elemExpect(t, outs[0], tensor.Int64, []int64{3, 2}, []int64{3, 1, 0, 2, 0, 1})
	elemExpect(t, outs[1], tensor.Int64, []int64{3}, []int64{0, 1, 3})
	elemExpect(t, outs[2], tensor.Int64, []int64{4}, []int64{0, 1, 0, 2})
	elemExpect(t, outs[3], tensor.Int64, []int64{3}, []int64{2, 1, 1})
	// Sorted rows.
	outs, err = elemRun(t, elemNode{op: "Unique", opset: 11, outputs: 4, attrs: []*elemAttr{elemInt("axis", 0)}, inputs: []*tensor.Tensor{x}})
	if err != nil {
		t.Fatal(err)
	}
	elemExpect(t, outs[0], tensor.Int64, []int64{3, 2}, []int64{0, 1, 0, 2, 3, 1})
	elemExpect(t, outs[1], tensor.Int64, []int64{3}, []int64{3, 1, 0})
	elemExpect(t, outs[2], tensor.Int64, []int64{4}, []int64{2, 1, 2, 0})
	elemExpect(t, outs[3], tensor.Int64, []int64{3}, []int64{1, 1, 2})
	// Strings, flattened, only Y asked for.
	s := &tensor.Tensor{Type: tensor.String, Shape: []int64{2, 2}, Data: [][]byte{[]byte("b"), []byte("a"), []byte("b"), []byte("c")}}
	y := elemOne(t, elemNode{op: "Unique", opset: 11, inputs: []*tensor.Tensor{s}})
	elemExpect(t, y, tensor.String, []int64{3}, [][]byte{[]byte("a"), []byte("b"), []byte("c")})
	// NaNs sort last and count as one value.
	nan := float32(math.NaN())
	y = elemOne(t, elemNode{op: "Unique", opset: 11, inputs: []*tensor.Tensor{elemF32([]int64{5}, nan, 2, nan, -1, 2)}})
	elemExpect(t, y, tensor.Float, []int64{3}, []float32{-1, 2, nan})
	// Empty input.
	outs, err = elemRun(t, elemNode{op: "Unique", opset: 11, outputs: 4, inputs: []*tensor.Tensor{elemF32([]int64{0, 3})}})
	if err != nil {
		t.Fatal(err)
	}
	elemExpect(t, outs[0], tensor.Float, []int64{0}, []float32{})
	elemExpect(t, outs[2], tensor.Int64, []int64{0}, []int64{})
	elemFails(t, elemNode{op: "Unique", opset: 11, attrs: []*elemAttr{elemInt("axis", 2)}, inputs: []*tensor.Tensor{x}}, "out of range")
	elemFails(t, elemNode{op: "Unique", opset: 11, attrs: []*elemAttr{elemInt("axis", 0)}, inputs: []*tensor.Tensor{elemF32(elemShape(), 1)}}, "out of range")
	elemFails(t, elemNode{op: "Unique", opset: 11, attrs: []*elemAttr{elemInt("sorted", 2)}, inputs: []*tensor.Tensor{x}}, "sorted")
}

func TestCompressCases(t *testing.T) {
	x := elemF32([]int64{2, 3}, 1, 2, 3, 4, 5, 6)
	cond := func(v ...bool) *tensor.Tensor {
		return &tensor.Tensor{Type: tensor.Bool, Shape: []int64{int64(len(v))}, Data: v}
	}
	y := elemOne(t, elemNode{op: "Compress", opset: 11, inputs: []*tensor.Tensor{x, cond(false, true, false, true, true)}})
	elemExpect(t, y, tensor.Float, []int64{3}, []float32{2, 4, 5})
	y = elemOne(t, elemNode{op: "Compress", opset: 11, attrs: []*elemAttr{elemInt("axis", -1)}, inputs: []*tensor.Tensor{x, cond(true, false)}})
	elemExpect(t, y, tensor.Float, []int64{2, 1}, []float32{1, 4})
	y = elemOne(t, elemNode{op: "Compress", opset: 11, attrs: []*elemAttr{elemInt("axis", 0)}, inputs: []*tensor.Tensor{x, cond(false, false, false)}})
	elemExpect(t, y, tensor.Float, []int64{0, 3}, []float32{})
	elemFails(t, elemNode{op: "Compress", opset: 11, attrs: []*elemAttr{elemInt("axis", 0)}, inputs: []*tensor.Tensor{x, cond(false, false, true)}}, "past")
	elemFails(t, elemNode{op: "Compress", opset: 11, attrs: []*elemAttr{elemInt("axis", 2)}, inputs: []*tensor.Tensor{x, cond(true)}}, "out of range")
	elemFails(t, elemNode{op: "Compress", opset: 11, inputs: []*tensor.Tensor{x, elemI64([]int64{1}, 1)}}, "BOOL")
}

func TestReverseSequenceCases(t *testing.T) {
	// time_axis 0: x[t, b, 2].
	x := elemF32([]int64{3, 2, 2}, elemIota(12)...)
	y := elemOne(t, elemNode{op: "ReverseSequence", opset: 10, attrs: []*elemAttr{elemInt("time_axis", 0), elemInt("batch_axis", 1)},
		inputs: []*tensor.Tensor{x, elemI64([]int64{2}, 3, 0)}})
	elemExpect(t, y, tensor.Float, []int64{3, 2, 2}, []float32{8, 9, 2, 3, 4, 5, 6, 7, 0, 1, 10, 11})
	elemFails(t, elemNode{op: "ReverseSequence", opset: 10, inputs: []*tensor.Tensor{x, elemI64([]int64{2}, 4, 1)}}, "out of range")
	elemFails(t, elemNode{op: "ReverseSequence", opset: 10, inputs: []*tensor.Tensor{x, elemI64([]int64{2}, -1, 1)}}, "out of range")
	elemFails(t, elemNode{op: "ReverseSequence", opset: 10, inputs: []*tensor.Tensor{x, elemI64([]int64{3}, 1, 1, 1)}}, "sequence_lens")
	elemFails(t, elemNode{op: "ReverseSequence", opset: 10, attrs: []*elemAttr{elemInt("time_axis", 1)}, inputs: []*tensor.Tensor{x, elemI64([]int64{2}, 1, 1)}}, "time_axis")
}

func TestMVNAxes(t *testing.T) {
	x := visF64T([]int64{2, 2}, 1, 3, 10, 30)
	y := elemOne(t, elemNode{op: "MeanVarianceNormalization", opset: 13, attrs: []*elemAttr{elemInts("axes", -1)}, inputs: []*tensor.Tensor{x}})
	a, b := 1/(1+1e-9), 1/(1+1e-10)
	elemExpect(t, y, tensor.Double, []int64{2, 2}, []float64{-a, a, -b, b})
	elemFails(t, elemNode{op: "MeanVarianceNormalization", opset: 13, inputs: []*tensor.Tensor{x}}, "axes")
	elemFails(t, elemNode{op: "MeanVarianceNormalization", opset: 13, attrs: []*elemAttr{elemInts("axes", 0, -2)}, inputs: []*tensor.Tensor{x}}, "axes")
}

func TestDetCases(t *testing.T) {
	x := visF64T([]int64{2, 3, 3}, 2, -1, 0, -1, 2, -1, 0, -1, 2, 1, 2, 3, 4, 5, 6, 7, 8, 9)
	y := elemOne(t, elemNode{op: "Det", opset: 11, inputs: []*tensor.Tensor{x}})
	elemExpect(t, y, tensor.Double, []int64{2}, []float64{4, 0})
	y = elemOne(t, elemNode{op: "Det", opset: 11, inputs: []*tensor.Tensor{elemF32([]int64{2, 2}, 0, 1, 1, 0)}})
	elemExpect(t, y, tensor.Float, []int64{}, []float32{-1})
	y = elemOne(t, elemNode{op: "Det", opset: 11, inputs: []*tensor.Tensor{elemF32([]int64{2, 0, 0})}})
	elemExpect(t, y, tensor.Float, []int64{2}, []float32{1, 1})
	elemFails(t, elemNode{op: "Det", opset: 11, inputs: []*tensor.Tensor{elemF32([]int64{2, 3}, 1, 2, 3, 4, 5, 6)}}, "M, M")
	elemFails(t, elemNode{op: "Det", opset: 11, inputs: []*tensor.Tensor{elemI64([]int64{1, 1}, 1)}}, "float")
}

func TestWindows(t *testing.T) {
	size := func(v int64) *tensor.Tensor { return elemI64(elemShape(), v) }
	y := elemOne(t, elemNode{op: "HannWindow", opset: 17, attrs: []*elemAttr{elemInt("output_datatype", int64(tensor.Double))}, inputs: []*tensor.Tensor{size(4)}})
	elemExpect(t, y, tensor.Double, []int64{4}, []float64{0, 0.5, 1, 0.5})
	y = elemOne(t, elemNode{op: "HannWindow", opset: 17, attrs: []*elemAttr{elemInt("periodic", 0)}, inputs: []*tensor.Tensor{size(3)}})
	elemExpect(t, y, tensor.Float, []int64{3}, []float32{0, 1, 0})
	y = elemOne(t, elemNode{op: "HammingWindow", opset: 17, attrs: []*elemAttr{elemInt("periodic", 0)}, inputs: []*tensor.Tensor{size(1)}})
	elemExpect(t, y, tensor.Float, []int64{1}, []float32{1})
	y = elemOne(t, elemNode{op: "BlackmanWindow", opset: 17, attrs: []*elemAttr{elemInt("output_datatype", int64(tensor.Int32))}, inputs: []*tensor.Tensor{size(3)}})
	elemExpect(t, y, tensor.Int32, []int64{3}, []int32{0, 0, 0})
	y = elemOne(t, elemNode{op: "BlackmanWindow", opset: 17, inputs: []*tensor.Tensor{size(0)}})
	elemExpect(t, y, tensor.Float, []int64{0}, []float32{})
	elemFails(t, elemNode{op: "HannWindow", opset: 17, inputs: []*tensor.Tensor{size(-1)}}, "negative")
	elemFails(t, elemNode{op: "HannWindow", opset: 17, inputs: []*tensor.Tensor{size(1 << 40)}}, "limit")
	elemFails(t, elemNode{op: "HannWindow", opset: 17, attrs: []*elemAttr{elemInt("output_datatype", int64(tensor.String))}, inputs: []*tensor.Tensor{size(2)}}, "output_datatype")
	elemFails(t, elemNode{op: "HannWindow", opset: 17, inputs: []*tensor.Tensor{elemF32(elemShape(), 2)}}, "size")
}
