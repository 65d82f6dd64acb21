package passes

import "github.com/onnx-prom/onnx-prom/onnx/tensor"

func int64Tensor(v []int64) *tensor.Tensor {
	return &tensor.Tensor{Type: tensor.Int64, Shape: []int64{int64(len(v))}, Data: append([]int64{}, v...)}
}

func floatScalar(f float32) *tensor.Tensor {
	return &tensor.Tensor{Type: tensor.Float, Shape: []int64{}, Data: []float32{f}}
}
