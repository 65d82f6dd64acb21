package interp

// NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss against ONNX
// Runtime for what the backend test data leaves out (INT32 targets, DOUBLE,
// 2-D inputs, every reduction with weights and ignore_index), and the
// kernel's errors on bad labels.

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/onnx-prom/onnx-prom/onnx/onnxpb"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
	"github.com/onnx-prom/onnx-prom/verify/ort"
	"github.com/x448/float16"
	"google.golang.org/protobuf/proto"
)

type lossCase struct {
	name    string
	op      string
	shape   []int64 // of the input
	double  bool
	int32   bool
	weight  bool
	ignore  *int64
	red     string
	logProb bool
}

func (c *lossCase) build(t *testing.T, seed uint64) *qmBuilder {
	r := rand.New(rand.NewPCG(seed, 3))
	b := newQM(t, 13)
	x := rnnRand(r, c.double, 1.5, c.shape...)
	ch := c.shape[1]
	ts := append([]int64{c.shape[0]}, c.shape[2:]...)
	n := int(prod(ts))
	var tt *tensor.Tensor
	pick := func(i int) int64 {
		if c.ignore != nil && i%4 == 1 {
			return *c.ignore
		}
		return int64(r.IntN(int(ch)))
	}
	if c.int32 {
		v := make([]int32, n)
		for i := range v {
			v[i] = int32(pick(i))
		}
		tt = &tensor.Tensor{Type: tensor.Int32, Shape: ts, Data: v}
	} else {
		v := make([]int64, n)
		for i := range v {
			v[i] = pick(i)
		}
		tt = &tensor.Tensor{Type: tensor.Int64, Shape: ts, Data: v}
	}
	ins := []string{b.in("x", x), b.in("target", tt)}
	if c.weight {
		ins = append(ins, b.in("w", rnnRand(r, c.double, 1, ch)))
	}
	var attrs []*onnxpb.AttributeProto
	if c.red != "" {
		attrs = append(attrs, qStringAttr("reduction", c.red))
	}
	if c.ignore != nil {
		attrs = append(attrs, qIntAttr("ignore_index", *c.ignore))
	}
	outs := []string{"loss"}
	b.out("loss", x.Type)
	if c.logProb {
		outs = append(outs, "log_prob")
		b.out("log_prob", x.Type)
	}
	b.node(c.op, "", ins, outs, attrs...)
	return b
}

func TestLossAgainstORT(t *testing.T) {
	ort.RequireOrSkip(t)
	neg, big, mid := int64(-3), int64(99), int64(2)
	var cases []lossCase
	for _, op := range []string{"NegativeLogLikelihoodLoss", "SoftmaxCrossEntropyLoss"} {
		for _, red := range []string{"", "none", "sum", "mean"} {
			cases = append(cases,
				lossCase{name: "2d int32", op: op, shape: []int64{6, 5}, int32: true, red: red, logProb: op[0] == 'S'},
				lossCase{name: "3d double weight", op: op, shape: []int64{3, 4, 5}, double: true, weight: true, red: red},
				lossCase{name: "4d weight ignore", op: op, shape: []int64{2, 3, 4, 2}, weight: true, ignore: &neg, red: red, logProb: op[0] == 'S'},
				lossCase{name: "2d ignore in range", op: op, shape: []int64{8, 4}, ignore: &mid, red: red},
				lossCase{name: "5d int32 weight ignore high", op: op, shape: []int64{2, 3, 2, 2, 3}, int32: true, weight: true, ignore: &big, red: red},
			)
		}
	}
	for i, c := range cases {
		name := fmt.Sprintf("%s %s reduction %q", c.op, c.name, c.red)
		b := c.build(t, uint64(i))
		ours, err := b.run()
		if err != nil {
			t.Errorf("%s: interpreter: %v", name, err)
			continue
		}
		data, err := proto.Marshal(b.proto())
		if err != nil {
			t.Fatal(err)
		}
		var feeds []ort.Tensor
		for _, n := range b.order {
			feeds = append(feeds, qToORT(n, b.feeds[n]))
		}
		s, err := ort.Open(data, ort.Options{IntraOpThreads: 1})
		if err != nil {
			t.Errorf("%s: ONNX Runtime: %v", name, err)
			continue
		}
		res, err := s.Run(feeds)
		s.Close()
		if err != nil {
			t.Errorf("%s: ONNX Runtime run: %v", name, err)
			continue
		}
		for _, want := range res {
			got := ours[want.Name]
			if fmt.Sprint(got.Shape) != fmt.Sprint(want.Shape) {
				t.Errorf("%s: output %s has shape %v, ONNX Runtime %v", name, want.Name, got.Shape, want.Shape)
				continue
			}
			gv, _ := got.Float64s()
			wv, err := (&tensor.Tensor{Type: got.Type, Shape: want.Shape, Data: want.Data}).Float64s()
			if err != nil {
				t.Errorf("%s: output %s: ONNX Runtime returned %T", name, want.Name, want.Data)
				continue
			}
			for j := range gv {
				if math.Abs(gv[j]-wv[j]) > 1e-6+1e-5*math.Abs(wv[j]) {
					t.Errorf("%s: output %s element %d: %v, ONNX Runtime %v", name, want.Name, j, gv[j], wv[j])
					break
				}
			}
		}
	}
	t.Logf("%d cases against ONNX Runtime %s", len(cases), ort.Version())
}

func TestLossHand(t *testing.T) {
	// log-probabilities of 2 samples over 3 classes; weights 1, 2, 3.
	b := newQM(t, 13)
	b.in("x", &tensor.Tensor{Type: tensor.Float16, Shape: []int64{2, 3}, Data: []float16.Float16{
		float16.Fromfloat32(-1), float16.Fromfloat32(-2), float16.Fromfloat32(-3),
		float16.Fromfloat32(-0.5), float16.Fromfloat32(-0.25), float16.Fromfloat32(-4)}})
	b.in("t", &tensor.Tensor{Type: tensor.Int64, Shape: []int64{2}, Data: []int64{2, 1}})
	b.in("w", &tensor.Tensor{Type: tensor.Float16, Shape: []int64{3}, Data: []float16.Float16{
		float16.Fromfloat32(1), float16.Fromfloat32(2), float16.Fromfloat32(3)}})
	b.node("NegativeLogLikelihoodLoss", "", []string{"x", "t", "w"}, []string{"loss"})
	b.out("loss", tensor.Float16)
	got, err := b.run()
	if err != nil {
		t.Fatal(err)
	}
	// (3·3 + 2·0.25) / (3 + 2) = 1.9
	if v, _ := got["loss"].Float64s(); len(got["loss"].Shape) != 0 || math.Abs(v[0]-1.9) > 1e-3 {
		t.Errorf("loss = %v %v, want scalar 1.9", got["loss"].Shape, v)
	}

	// Every target ignored: the mean is 0/0.
	b = newQM(t, 13)
	b.in("x", rnnRand(rand.New(rand.NewPCG(1, 2)), false, 1, 2, 3))
	b.in("t", &tensor.Tensor{Type: tensor.Int64, Shape: []int64{2}, Data: []int64{-1, -1}})
	b.node("SoftmaxCrossEntropyLoss", "", []string{"x", "t"}, []string{"loss"}, qIntAttr("ignore_index", -1))
	b.out("loss", tensor.Float)
	if got, err = b.run(); err != nil || !math.IsNaN(float64(got["loss"].Data.([]float32)[0])) {
		t.Errorf("all ignored: %v, %v; want NaN", got, err)
	}
}

func TestLossErrors(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	ii := int64(-1)
	for _, tc := range []struct {
		name, op, want string
		target         []int64
		tshape         []int64
		ignore         *int64
		red            string
	}{
		{"label too big", "NegativeLogLikelihoodLoss", "outside [0, 3)", []int64{0, 3}, []int64{2}, nil, ""},
		{"negative label", "SoftmaxCrossEntropyLoss", "outside [0, 3)", []int64{-1, 1}, []int64{2}, nil, ""},
		{"negative label, other ignore_index", "SoftmaxCrossEntropyLoss", "outside [0, 3)", []int64{-2, 1}, []int64{2}, &ii, ""},
		{"target shape", "NegativeLogLikelihoodLoss", "target has shape", []int64{0, 1, 2}, []int64{3}, nil, ""},
		{"reduction", "NegativeLogLikelihoodLoss", "reduction", []int64{0, 1}, []int64{2}, nil, "max"},
	} {
		b := newQM(t, 13)
		b.in("x", rnnRand(r, false, 1, 2, 3))
		b.in("t", &tensor.Tensor{Type: tensor.Int64, Shape: tc.tshape, Data: tc.target})
		var attrs []*onnxpb.AttributeProto
		if tc.ignore != nil {
			attrs = append(attrs, qIntAttr("ignore_index", *tc.ignore))
		}
		if tc.red != "" {
			attrs = append(attrs, qStringAttr("reduction", tc.red))
		}
		b.node(tc.op, "", []string{"x", "t"}, []string{"loss"}, attrs...)
		b.out("loss", tensor.Float)
		_, err := b.run()
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "n0_") {
			t.Errorf("%s: error %v, want one naming the node and %q", tc.name, err, tc.want)
		}
	}
}
