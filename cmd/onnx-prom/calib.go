package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/onnx-prom/onnx-prom/onnx/ir"
	"github.com/onnx-prom/onnx-prom/onnx/onnxpb"
	"github.com/onnx-prom/onnx-prom/passes"
	"github.com/onnx-prom/onnx-prom/verify/accuracy"
	"github.com/onnx-prom/onnx-prom/verify/data"
)

// openCalib opens calibration data (npy folder, npy batch or image folder)
// for the model's first non-initializer input, one sample a batch.
func openCalib(path string, mp *onnxpb.ModelProto, f convertFlags) (passes.CalibData, data.Source, error) {
	m, err := ir.FromProto(mp)
	if err != nil {
		return nil, nil, err
	}
	var in *ir.Value
	for _, v := range m.Graph.Inputs {
		if v.Const == nil {
			in = v
			break
		}
	}
	if in == nil {
		return nil, nil, fmt.Errorf("the model has no input to calibrate")
	}
	mean, err := parseFloats(f.mean, "--mean")
	if err != nil {
		return nil, nil, err
	}
	std, err := parseFloats(f.std, "--std")
	if err != nil {
		return nil, nil, err
	}
	src, err := data.Open(path, data.Options{Size: f.size, Mean: mean, Std: std})
	if err != nil {
		return nil, nil, err
	}
	if src.Len() == 0 {
		return nil, nil, fmt.Errorf("%s: no calibration samples", path)
	}
	if f.limit > 0 && f.limit < src.Len() {
		src = limited{src, f.limit}
	}
	return data.Feeds{Source: src, Inputs: []data.Input{data.InputOf(in.Name, in.Type, in.Shape)}}, src, nil
}

// limited is the first n samples of a Source.
type limited struct {
	data.Source
	n int
}

func (l limited) Len() int { return l.n }

// parseFloats reads a comma-separated list; "" means nil (the default).
func parseFloats(s, flagName string) ([]float32, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
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

// errorSamples is how many calibration samples measure the per-layer error
// of a conversion for its report.
const errorSamples = 16

// measureError compares the converted model with the input model on
// calibration samples and records the output and per-layer errors in the
// report.
func measureError(rep *passes.Report, ref, cand *onnxpb.ModelProto, src data.Source) error {
	r, err := accuracy.Compare(ref, cand, src, accuracy.Options{PerLayer: true, Limit: min(errorSamples, src.Len())})
	if err != nil {
		return err
	}
	rep.Totals.ErrorSamples = r.Samples
	rep.Totals.OutputSQNR = r.SQNR
	rep.Totals.Agreement = r.Agreement
	sqnr := map[string]float64{}
	for _, l := range r.Layers {
		if l.Isolated {
			if old, ok := sqnr[l.Name]; !ok || l.SQNR < old {
				sqnr[l.Name] = l.SQNR
			}
		}
	}
	for i := range rep.Layers {
		if v, ok := sqnr[rep.Layers[i].Name]; ok {
			rep.Layers[i].SQNR = &v
		}
	}
	return nil
}
