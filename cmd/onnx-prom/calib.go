package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/onnx-prom/onnx-prom/onnx/ir"
	"github.com/onnx-prom/onnx-prom/onnx/onnxpb"
	"github.com/onnx-prom/onnx-prom/passes"
	"github.com/onnx-prom/onnx-prom/verify/data"
)

// openCalib opens calibration data (npy folder, npy batch or image folder)
// for the model's first non-initializer input, one sample a batch.
func openCalib(path string, mp *onnxpb.ModelProto, f convertFlags) (passes.CalibData, error) {
	m, err := ir.FromProto(mp)
	if err != nil {
		return nil, err
	}
	var in *ir.Value
	for _, v := range m.Graph.Inputs {
		if v.Const == nil {
			in = v
			break
		}
	}
	if in == nil {
		return nil, fmt.Errorf("the model has no input to calibrate")
	}
	mean, err := parseFloats(f.mean, "--mean")
	if err != nil {
		return nil, err
	}
	std, err := parseFloats(f.std, "--std")
	if err != nil {
		return nil, err
	}
	src, err := data.Open(path, data.Options{Size: f.size, Mean: mean, Std: std})
	if err != nil {
		return nil, err
	}
	if src.Len() == 0 {
		return nil, fmt.Errorf("%s: no calibration samples", path)
	}
	if f.limit > 0 && f.limit < src.Len() {
		src = limited{src, f.limit}
	}
	return data.Feeds{Source: src, Inputs: []data.Input{data.InputOf(in.Name, in.Type, in.Shape)}}, nil
}

// limited is the first n samples of a Source.
type limited struct {
	data.Source
	n int
}

func (l limited) Len() int { return l.n }

func parseFloats(s, flagName string) ([]float32, error) {
	var out []float32
	for _, p := range strings.Split(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(p), 32)
		if err != nil {
			return nil, fmt.Errorf("%s %q: %w", flagName, s, err)
		}
		out = append(out, float32(v))
	}
	return out, nil
}
