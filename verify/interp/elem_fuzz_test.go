package interp

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/onnx-prom/onnx-prom/onnx/tensor"
	"github.com/x448/float16"
)

// elemRandTensor makes a small tensor of a random type and shape whose
// values are small integers, with an occasional extreme one.
func elemRandTensor(r *rand.Rand) *tensor.Tensor {
	types := []tensor.DataType{tensor.Float, tensor.Float, tensor.Int64, tensor.Int64, tensor.Int32, tensor.Bool, tensor.Uint8, tensor.Float16, tensor.Double, tensor.String}
	dt := types[r.IntN(len(types))]
	shape := make([]int64, r.IntN(4))
	for i := range shape {
		shape[i] = int64(r.IntN(4))
	}
	n := int(prod(shape))
	vals := make([]int64, n)
	for i := range vals {
		vals[i] = int64(r.IntN(9) - 4)
		if r.IntN(20) == 0 {
			vals[i] = []int64{math.MaxInt64, math.MinInt64, 1 << 40, -(1 << 40)}[r.IntN(4)]
		}
	}
	t, _ := tensor.New(dt, shape...)
	for i, v := range vals {
		switch d := t.Data.(type) {
		case []float32:
			d[i] = float32(v)
		case []float64:
			d[i] = float64(v)
		case []float16.Float16:
			d[i] = float16.Fromfloat32(float32(v))
		case []int64:
			d[i] = v
		case []int32:
			d[i] = int32(v)
		case []uint8:
			d[i] = uint8(v)
		case []bool:
			d[i] = v > 0
		case [][]byte:
			d[i] = []byte("3")
		}
	}
	return t
}

// TestElemNoPanics feeds random inputs and attributes to every op of the
// elementwise, shape and reduction families: each run must succeed or fail
// with an error, never panic.
func TestElemNoPanics(t *testing.T) {
	ops := map[string]int{ // op -> max inputs
		"Abs": 1, "Neg": 1, "Relu": 1, "Sigmoid": 1, "Exp": 1, "Round": 1, "Sign": 1, "Not": 1, "IsNaN": 1, "IsInf": 1,
		"BitwiseNot": 1, "Clip": 3, "LeakyRelu": 1, "Shrink": 1, "HardSwish": 1, "Gelu": 1, "Identity": 1, "Dropout": 3,
		"Add": 2, "Sub": 2, "Mul": 2, "Div": 2, "Pow": 2, "Mod": 2, "PRelu": 2, "Max": 3, "Min": 3, "Sum": 3, "Mean": 3,
		"Equal": 2, "Less": 2, "GreaterOrEqual": 2, "And": 2, "Xor": 2, "BitShift": 2, "BitwiseAnd": 2, "Where": 3,
		"Cast": 1, "CastLike": 2, "Reshape": 2, "Flatten": 1, "Transpose": 1, "Squeeze": 2, "Unsqueeze": 2, "Concat": 3,
		"Split": 2, "Slice": 5, "Gather": 2, "GatherElements": 2, "GatherND": 2, "ScatterElements": 3, "ScatterND": 3,
		"Expand": 2, "Tile": 2, "Pad": 4, "Shape": 1, "Size": 1, "ConstantOfShape": 1, "Range": 3, "EyeLike": 1,
		"OneHot": 3, "Trilu": 2, "CumSum": 2, "DepthToSpace": 1, "SpaceToDepth": 1, "NonZero": 1, "TopK": 2,
		"ArgMax": 1, "ArgMin": 1, "ReduceMean": 2, "ReduceSum": 2, "ReduceProd": 2, "ReduceLogSumExp": 2,
		"ReduceL2": 2, "Softmax": 1, "LogSoftmax": 1, "Hardmax": 1, "Einsum": 2,
	}
	r := rand.New(rand.NewPCG(11, 12))
	for op, maxIn := range ops {
		for range 40 {
			nd := elemNode{op: op, opset: []int64{9, 11, 13, 18, 21}[r.IntN(5)], outputs: 1}
			for range 1 + r.IntN(maxIn) {
				nd.inputs = append(nd.inputs, elemRandTensor(r))
			}
			if op == "Split" || op == "TopK" || op == "Dropout" {
				nd.outputs = 1 + r.IntN(2)
			}
			ax := int64(r.IntN(9) - 4)
			nd.attrs = []*elemAttr{elemInt("axis", ax), elemInts("axes", ax), elemInts("perm", 1, 0), elemInt("to", int64(tensor.Int64)),
				elemInt("blocksize", int64(1+r.IntN(3))), elemInts("starts", ax), elemInts("ends", 3), elemStr("direction", "LEFT"),
				elemStr("equation", []string{"ij->ji", "i,i", "...ii->...i"}[r.IntN(3)]), elemInt("batch_dims", int64(r.IntN(2)))}
			if op == "Pad" && nd.opset < 11 {
				nd.attrs = append(nd.attrs, elemInts("pads", ax, 1))
			}
			if op == "Squeeze" || op == "Unsqueeze" || op == "Split" || op == "Slice" || op == "Einsum" || op == "Transpose" {
				if r.IntN(2) == 0 {
					nd.attrs = nd.attrs[:1]
				}
			}
			_, err := elemRun(t, nd)
			if err != nil && strings.Contains(err.Error(), "kernel failed") {
				t.Errorf("%s (opset %d) panicked: %v", op, nd.opset, err)
			}
		}
	}
}
