package interp

import (
	"fmt"
	"math"

	"github.com/onnx-prom/onnx-prom/onnx/tensor"
)

// NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss over inputs of
// shape [N, C, d1, ..., dk] and targets of shape [N, d1, ..., dk], computed
// in float64 whatever the float type. A target equal to ignore_index
// contributes nothing (and has weight 0 in the mean); any other target
// outside [0, C) is an error.

func init() {
	Register("", "NegativeLogLikelihoodLoss", buildLoss(false))
	Register("", "SoftmaxCrossEntropyLoss", buildLoss(true))
}

type lossReduction int

const (
	lossNone lossReduction = iota
	lossSum
	lossMean
)

type lossKernel struct {
	softmax   bool // SoftmaxCrossEntropyLoss: log_softmax of the scores first
	reduction lossReduction
	ignore    int64
	hasIgnore bool
}

func buildLoss(softmax bool) Builder {
	return func(n *Node) (Kernel, error) {
		names := [3]string{"input", "target", "weight"}
		if softmax {
			names = [3]string{"scores", "labels", "weights"}
		}
		maxOut := 1
		if softmax {
			maxOut = 2
		}
		if len(n.Inputs) < 2 || len(n.Inputs) > 3 || n.Input(0) == nil || n.Input(1) == nil {
			return nil, n.Errorf("%s takes inputs %s, %s and an optional %s", n.OpType, names[0], names[1], names[2])
		}
		if len(n.Outputs) < 1 || len(n.Outputs) > maxOut || n.Output(0) == nil {
			return nil, n.Errorf("%s has %d output(s) at most, the first required", n.OpType, maxOut)
		}
		xt := n.InputType(0)
		for _, i := range []int{0, 2} {
			if err := cnnCheckFloatInput(n, i, names[i]); err != nil {
				return nil, err
			}
			if dt := n.InputType(i); dt != tensor.Undefined && xt != tensor.Undefined && dt != xt {
				return nil, n.Errorf("%s has type %s but %s has type %s", names[i], tensor.Name(dt), names[0], tensor.Name(xt))
			}
		}
		if dt := n.InputType(1); dt != tensor.Undefined && dt != tensor.Int32 && dt != tensor.Int64 {
			return nil, n.Errorf("%s has type %s, want INT32 or INT64", names[1], tensor.Name(dt))
		}
		if s := n.Input(0).Shape; s != nil && len(s) < 2 {
			return nil, n.Errorf("%s has rank %d, want [N, C, ...]", names[0], len(s))
		}
		k := &lossKernel{softmax: softmax}
		red, err := n.AttrString("reduction", "mean")
		if err != nil {
			return nil, n.Errorf("%v", err)
		}
		switch red {
		case "none":
			k.reduction = lossNone
		case "sum":
			k.reduction = lossSum
		case "mean":
			k.reduction = lossMean
		default:
			return nil, n.Errorf("reduction %q is not none, sum or mean", red)
		}
		if n.HasAttr("ignore_index") {
			if k.ignore, err = n.AttrInt("ignore_index", 0); err != nil {
				return nil, n.Errorf("%v", err)
			}
			k.hasIgnore = true
		}
		return k, nil
	}
}

func (k *lossKernel) Run(c *Ctx, in, out []*tensor.Tensor) error {
	x, target := in[0], in[1]
	var weight *tensor.Tensor
	if len(in) > 2 {
		weight = in[2]
	}
	if !cnnIsFloat(x.Type) {
		return fmt.Errorf("input has type %s, want a float type", tensor.Name(x.Type))
	}
	xs := x.Shape
	if len(xs) < 2 {
		return fmt.Errorf("input has shape %v, want [N, C, ...]", xs)
	}
	nb, ch := int(xs[0]), int(xs[1])
	inner := 1
	for _, d := range xs[2:] {
		inner *= int(d)
	}
	ts := target.Shape
	if len(ts) != len(xs)-1 || ts[0] != xs[0] || !rnnShapeIs(ts[1:], xs[2:]...) {
		return fmt.Errorf("target has shape %v, want %v for input of shape %v", ts, append([]int64{xs[0]}, xs[2:]...), xs)
	}
	var labels []int64
	switch d := target.Data.(type) {
	case []int64:
		labels = d
	case []int32:
		labels = c.ScratchOf(tensor.Int64, len(d)).([]int64)
		for i, v := range d {
			labels[i] = int64(v)
		}
	default:
		return fmt.Errorf("target has type %s, want INT32 or INT64", tensor.Name(target.Type))
	}
	var err error
	var w []float64
	if weight != nil {
		if weight.Type != x.Type {
			return fmt.Errorf("weight has type %s but input has type %s", tensor.Name(weight.Type), tensor.Name(x.Type))
		}
		if !rnnShapeIs(weight.Shape, int64(ch)) {
			return fmt.Errorf("weight has shape %v, want [%d]", weight.Shape, ch)
		}
		if w, err = rnnFloats[float64](c, weight); err != nil {
			return err
		}
	}
	xf, err := rnnFloats[float64](c, x)
	if err != nil {
		return err
	}
	// lp holds the log-probabilities: the input itself for NLL.
	lp := xf
	if k.softmax {
		var lpt *tensor.Tensor
		if len(out) > 1 && c.Node().Output(1) != nil {
			if lpt, lp, err = rnnOut[float64](c, x.Type, xs...); err != nil {
				return err
			}
			out[1] = lpt
		} else {
			lp = c.ScratchOf(tensor.Double, len(xf)).([]float64)
		}
		lossLogSoftmax(lp, xf, nb, ch, inner)
		if lpt != nil {
			rnnFinish(lpt, lp)
		}
	}
	// Check every label before any output is written.
	for i, t := range labels {
		if (t < 0 || t >= int64(ch)) && !(k.hasIgnore && t == k.ignore) {
			return fmt.Errorf("target[%d] = %d is outside [0, %d) and is not ignore_index", i, t, ch)
		}
	}
	var shape []int64
	if k.reduction == lossNone {
		shape = ts
	}
	y, yf, err := rnnOut[float64](c, x.Type, shape...)
	if err != nil {
		return err
	}
	out[0] = y
	var sum, wsum float64
	for n := 0; n < nb; n++ {
		for s := 0; s < inner; s++ {
			i := n*inner + s
			t := labels[i]
			var l, wt float64
			if !(k.hasIgnore && t == k.ignore) {
				wt = 1
				if w != nil {
					wt = w[t]
				}
				l = -lp[(n*ch+int(t))*inner+s] * wt
			}
			if k.reduction == lossNone {
				yf[i] = l
			}
			sum += l
			wsum += wt
		}
	}
	switch k.reduction {
	case lossSum:
		yf[0] = sum
	case lossMean:
		yf[0] = sum / wsum
	}
	rnnFinish(y, yf)
	return nil
}

// lossLogSoftmax writes the log-softmax of x ([nb, ch, inner]) over its
// second axis to dst.
func lossLogSoftmax(dst, x []float64, nb, ch, inner int) {
	for n := 0; n < nb; n++ {
		base := n * ch * inner
		for s := 0; s < inner; s++ {
			m := math.Inf(-1)
			for j := 0; j < ch; j++ {
				m = max(m, x[base+j*inner+s])
			}
			var e float64
			for j := 0; j < ch; j++ {
				e += math.Exp(x[base+j*inner+s] - m)
			}
			ls := m + math.Log(e)
			for j := 0; j < ch; j++ {
				dst[base+j*inner+s] = x[base+j*inner+s] - ls
			}
		}
	}
}
