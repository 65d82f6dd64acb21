package main

import (
	"fmt"

	"github.com/onnx-prom/onnx-prom/onnx/onnxpb"
	"github.com/onnx-prom/onnx-prom/passes"
)

// openCalib opens calibration data for the model's first input.
func openCalib(path string, mp *onnxpb.ModelProto, f convertFlags) (passes.CalibData, error) {
	return nil, fmt.Errorf("%s: calibration data loading is not wired yet", path)
}
