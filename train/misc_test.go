package train

import (
	"github.com/onnx-prom/onnx-prom/onnx/onnxpb"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/onnx-prom/onnx-prom/onnx/tensor"
	"github.com/onnx-prom/onnx-prom/passes"
)

// TestLossGradient checks the cross-entropy and distillation gradients
// against central differences of the mean loss.
func TestLossGradient(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	const n, K = 4, 5
	for _, c := range []struct {
		name    string
		spec    lossSpec
		labels  []int
		teacher bool
	}{
		{"ce", lossSpec{ce: 1, temp: 1}, []int{0, 3, 4, 1}, false},
		{"ce-unlabeled", lossSpec{ce: 1, temp: 1}, []int{2, -1, 4, -1}, false},
		{"kl-T3", lossSpec{kl: 1, temp: 3}, []int{-1, -1, -1, -1}, true},
		{"ce+kl", lossSpec{ce: 0.5, kl: 0.5, temp: 2}, []int{1, 2, 3, 0}, true},
	} {
		lb := &buf{size: K, data: rnd(r, n*K, 2), grad: make([]float32, n*K)}
		var teacher []float32
		if c.teacher {
			teacher = rnd(r, n*K, 2)
		}
		probs := make([]float32, 2*K)
		lossGrad(lb, n, c.labels, teacher, c.spec, probs)
		g := append([]float32{}, lb.grad...)
		const h = 1e-2
		for i := range lb.data {
			v := lb.data[i]
			lb.data[i] = v + h
			lp, _ := lossGrad(lb, n, c.labels, teacher, c.spec, probs)
			lb.data[i] = v - h
			lm, _ := lossGrad(lb, n, c.labels, teacher, c.spec, probs)
			lb.data[i] = v
			num := (lp - lm) / (2 * h) / n
			if math.Abs(num-float64(g[i])) > 1e-3*(1+math.Abs(num)) {
				t.Errorf("%s: dL/dz[%d] = %g, finite difference %g", c.name, i, g[i], num)
			}
		}
	}
	// Hand-computed: logits (0, ln 3) with label 1: p = (1/4, 3/4),
	// loss -ln(3/4), gradient (1/4, -1/4).
	lb := &buf{size: 2, data: []float32{0, float32(math.Log(3))}, grad: make([]float32, 2)}
	loss, correct := lossGrad(lb, 1, []int{1}, nil, lossSpec{ce: 1, temp: 1}, make([]float32, 4))
	if math.Abs(loss+math.Log(0.75)) > 1e-6 || correct != 1 || math.Abs(float64(lb.grad[0])-0.25) > 1e-6 || math.Abs(float64(lb.grad[1])+0.25) > 1e-6 {
		t.Errorf("hand case: loss %g correct %d grad %v", loss, correct, lb.grad)
	}
}

// TestFakeQuant checks activation fake-quantization against the
// converter's quantization parameters and rounding, and its
// straight-through gradient.
func TestFakeQuant(t *testing.T) {
	cfg := passes.DefaultConfig()
	for _, dt := range []tensor.DataType{tensor.Int8, tensor.Uint8} {
		cfg.Activations = dt
		q := newActQuant("v", 1, 0.9, &cfg)
		st := &state{n: 1}
		in := &buf{size: 7, data: []float32{-1.3, -0.2, 0, 0.37, 1.9, 2.6, 3.5}, grad: make([]float32, 7)}
		out := &buf{size: 7, data: make([]float32, 7), grad: []float32{1, 1, 1, 1, 1, 1, 1}}
		q.opBase = opBase{in: []*buf{in}, out: out, st: st, acc: []bool{false}}
		q.lo, q.hi, q.seen = -1, 2.5, true
		q.prepare()
		q.forward(0, 0, 1)
		p := passes.ActivationParams(-1, 2.5, dt)
		lo, hi := p.Range()
		for i, x := range in.data {
			want := float32(p.Quantize(x)-p.ZeroPoint) * p.Scale
			if out.data[i] != want {
				t.Errorf("%s: fq(%g) = %g, want %g", tensor.Name(dt), x, out.data[i], want)
			}
		}
		q.backward(0, 0, 1)
		for i, x := range in.data {
			want := float32(1)
			if x < lo || x > hi {
				want = 0
			}
			if in.grad[i] != want {
				t.Errorf("%s: gradient at %g = %g, want %g (range [%g, %g])", tensor.Name(dt), x, in.grad[i], want, lo, hi)
			}
		}
		// The observed batch range moves the EMA: 0.9·(-1) + 0.1·(-1.3).
		q.update()
		if math.Abs(float64(q.lo)+1.03) > 1e-6 || math.Abs(float64(q.hi)-(0.9*2.5+0.1*3.5)) > 1e-6 {
			t.Errorf("EMA range [%g, %g]", q.lo, q.hi)
		}
	}
}

// TestWeightQuant checks the ternary (TWN) and int8 weight quantizers on
// hand-computed channels.
func TestWeightQuant(t *testing.T) {
	p := &Param{Shape: []int{2, 4}, Data: []float32{0.1, -0.9, 1.1, 0.2, 0, 0, 0, 0}}
	p.eff = make([]float32, 8)
	q := newWeightQuant(quantTernary, p, 0)
	q.apply(p)
	// Channel 0: mean|w| = 0.575, threshold 0.4025: codes 0 -1 1 0, scale 1.0.
	want := []float32{0, -1, 1, 0, 0, 0, 0, 0}
	for i, v := range p.eff {
		if v != want[i] {
			t.Fatalf("ternary %v, want %v", p.eff, want)
		}
	}
	if q.scales[0] != 1 || q.scales[1] != 1 {
		t.Errorf("scales %v", q.scales)
	}
	// int8 over axis 1 ([K, M]): column 0 holds 0.1, 1.1; column 1 -0.9, 0.2 ...
	p2 := &Param{Shape: []int{2, 2}, Data: []float32{0.1, -0.9, 1.27, 0.2}}
	p2.eff = make([]float32, 4)
	q2 := newWeightQuant(quantInt8, p2, 1)
	q2.apply(p2)
	if q2.scales[0] != shortScale(0.01) || q2.codes[0] != 10 || q2.codes[2] != 127 || q2.codes[1] != -127 || q2.codes[3] != 28 {
		t.Errorf("int8 codes %v scales %v", q2.codes, q2.scales)
	}
	for i, c := range q2.codes {
		if p2.eff[i] != float32(c)*q2.scales[i%2] {
			t.Errorf("eff[%d] = %g, want code %d times scale", i, p2.eff[i], c)
		}
	}
}

func TestOptimizers(t *testing.T) {
	mk := func() *Param {
		return &Param{Data: []float32{1}, Grad: []float32{0.5}, Trainable: true, Decay: true}
	}
	o, _ := newOptimizer(Adam, 0.9, 0.01)
	p := mk()
	o.step([]*Param{p}, 0.1)
	// m̂ = 0.5, v̂ = 0.25: step 0.1; decay: 1·(1 − 0.1·0.01).
	if want := float32(0.999 - 0.1); math.Abs(float64(p.Data[0]-want)) > 1e-6 {
		t.Errorf("Adam: %g, want %g", p.Data[0], want)
	}
	o, _ = newOptimizer(SGD, 0.9, 0.01)
	p = mk()
	o.step([]*Param{p}, 0.1)
	o.step([]*Param{p}, 0.1)
	// v1 = 0.51, w1 = 0.949; v2 = 0.9·0.51 + 0.5 + 0.00949, w2 = w1 − 0.1·v2.
	v2 := 0.9*0.51 + 0.5 + 0.01*0.949
	if want := 0.949 - 0.1*v2; math.Abs(float64(p.Data[0])-want) > 1e-6 {
		t.Errorf("SGD: %g, want %g", p.Data[0], want)
	}
	if _, err := newOptimizer("lion", 0, 0); err == nil {
		t.Error("unknown optimizer accepted")
	}
	for _, c := range []struct {
		t, total, warm int
		want           float64
	}{{0, 100, 10, 0.1}, {9, 100, 10, 1}, {10, 100, 10, 1}, {55, 100, 10, 0.5}, {100, 100, 10, 0}} {
		if got := schedule(1, c.t, c.total, c.warm, true); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("schedule(%d of %d, warm-up %d) = %g, want %g", c.t, c.total, c.warm, got, c.want)
		}
	}
}

// TestShift checks the translation augmentation on a one-hot image.
func TestShift(t *testing.T) {
	mp := smallNet(t, 1)
	tr, err := NewTrainer(mp, Options{Mode: Float, Batch: 2, Threads: 1, Shift: 2, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	seen := map[[2]int]bool{}
	for k := 0; k < 200; k++ {
		x := make([]float32, 784)
		x[14*28+14] = 1
		tr.shift(x)
		var sum float32
		pos := -1
		for i, v := range x {
			sum += v
			if v == 1 {
				pos = i
			}
		}
		if sum != 1 || pos < 0 {
			t.Fatalf("shifted image sums to %g", sum)
		}
		dy, dx := pos/28-14, pos%28-14
		if dy < -2 || dy > 2 || dx < -2 || dx > 2 {
			t.Fatalf("shift (%d, %d) beyond 2", dy, dx)
		}
		seen[[2]int{dy, dx}] = true
	}
	if len(seen) != 25 {
		t.Errorf("%d distinct shifts, want 25", len(seen))
	}
}

// TestTrainLearns trains the small network on synthetic digits and
// checks the loss falls and accuracy rises (float and QAT), and that the
// same seed reproduces the same model.
func TestTrainLearns(t *testing.T) {
	ds := SyntheticDigits(640, 5)
	val := SyntheticDigits(100, 6)
	run := func() ([]EpochStats, []float32) {
		tr, err := NewTrainer(smallNet(t, 4), Options{Mode: Float, Epochs: 5, Batch: 16, LR: 5e-3, Threads: 2, Seed: 9, Val: val, Warmup: 10})
		if err != nil {
			t.Fatal(err)
		}
		defer tr.Close()
		h, err := tr.Fit(ds)
		if err != nil {
			t.Fatal(err)
		}
		return h, append([]float32{}, tr.Params()[0].Data...)
	}
	h, w1 := run()
	if h[4].Loss >= 0.7*h[0].Loss || h[4].Val.Acc < 0.5 {
		t.Errorf("float training: %+v then %+v (val %.3f)", h[0], h[4], h[4].Val.Acc)
	}
	_, w2 := run()
	for i := range w1 {
		if w1[i] != w2[i] {
			t.Fatal("two runs with the same seed differ")
		}
	}
}

func TestOptionsErrors(t *testing.T) {
	mp := smallNet(t, 1)
	for _, o := range []Options{{Batch: -1}, {LR: -1}, {Optimizer: "rmsprop"}, {Momentum: 1.5}, {Shift: -1},
		{RangeMomentum: 2}, {Temperature: -1}, {Mode: 7}} {
		if tr, err := NewTrainer(mp, o); err == nil {
			tr.Close()
			t.Errorf("options %+v accepted", o)
		}
	}
}

// TestHostileModels checks that malformed models give errors, not panics.
func TestHostileModels(t *testing.T) {
	w := func(shape ...int64) tinit {
		n := int64(1)
		for _, d := range shape {
			n *= d
		}
		return tinit{"w", shape, make([]float32, n)}
	}
	cases := map[string]*tmodelSpec{
		"conv-empty-kernel": {[]int{2, 4, 4}, []tnode{{"Conv", []string{"x", "w"}, "y", nil}}, []tinit{w(3, 2, 0, 0)}},
		"conv-group-0":      {[]int{2, 4, 4}, []tnode{{"Conv", []string{"x", "w"}, "y", []*onnxpb.AttributeProto{aInt("group", 0)}}}, []tinit{w(3, 2, 1, 1)}},
		"conv-group-big":    {[]int{2, 4, 4}, []tnode{{"Conv", []string{"x", "w"}, "y", []*onnxpb.AttributeProto{aInt("group", 1<<40)}}}, []tinit{w(3, 2, 1, 1)}},
		"conv-channels":     {[]int{2, 4, 4}, []tnode{{"Conv", []string{"x", "w"}, "y", nil}}, []tinit{w(3, 5, 1, 1)}},
		"conv-huge-stride":  {[]int{2, 4, 4}, []tnode{{"Conv", []string{"x", "w"}, "y", []*onnxpb.AttributeProto{aInts("strides", 1<<40, 1)}}}, []tinit{w(3, 2, 1, 1)}},
		"conv-kernel-big":   {[]int{2, 4, 4}, []tnode{{"Conv", []string{"x", "w"}, "y", nil}}, []tinit{w(3, 2, 9, 9)}},
		"conv-neg-pad":      {[]int{2, 4, 4}, []tnode{{"Conv", []string{"x", "w"}, "y", []*onnxpb.AttributeProto{aInts("pads", -3, 0, 0, 0)}}}, []tinit{w(3, 2, 1, 1)}},
		"conv-1d":           {[]int{2, 4}, []tnode{{"Conv", []string{"x", "w"}, "y", nil}}, []tinit{w(3, 2, 1)}},
		"gemm-mismatch":     {[]int{5}, []tnode{{"Gemm", []string{"x", "w"}, "y", nil}}, []tinit{w(4, 3)}},
		"matmul-activation": {[]int{5}, []tnode{{"MatMul", []string{"x", "x"}, "y", nil}}, nil},
		"reshape-bad":       {[]int{6}, []tnode{{"Reshape", []string{"x", "s"}, "y", nil}}, []tinit{{name: "s", shape: []int64{0, 4}}}},
		"reshape-batch":     {[]int{6}, []tnode{{"Reshape", []string{"x", "s"}, "y", nil}}, []tinit{{name: "s", shape: []int64{3, -1}}}},
		"unsqueeze-dup":     {[]int{3}, []tnode{{"Unsqueeze", []string{"x", "a"}, "y", nil}}, []tinit{{name: "a", shape: []int64{1, 1}}}},
		"squeeze-batch":     {[]int{3}, []tnode{{"Squeeze", []string{"x", "a"}, "y", nil}}, []tinit{{name: "a", shape: []int64{0}}}},
		"bn-negative-var":   {[]int{2}, []tnode{{"BatchNormalization", []string{"x", "g", "b", "m", "v"}, "y", nil}}, []tinit{{"g", []int64{2}, []float32{1, 1}}, {"b", []int64{2}, []float32{0, 0}}, {"m", []int64{2}, []float32{0, 0}}, {"v", []int64{2}, []float32{-1, 1}}}},
		"bn-short":          {[]int{2}, []tnode{{"BatchNormalization", []string{"x", "g", "b", "m", "v"}, "y", nil}}, []tinit{{"g", []int64{1}, []float32{1}}, {"b", []int64{2}, []float32{0, 0}}, {"m", []int64{2}, []float32{0, 0}}, {"v", []int64{2}, []float32{1, 1}}}},
		"add-broadcast":     {[]int{2, 3}, []tnode{{"Add", []string{"x", "k"}, "y", nil}}, []tinit{{"k", []int64{4}, make([]float32, 4)}}},
		"add-batch-const":   {[]int{3}, []tnode{{"Add", []string{"x", "k"}, "y", nil}}, []tinit{{"k", []int64{2, 3}, make([]float32, 6)}}},
		"clip-nan":          {[]int{3}, []tnode{{"Clip", []string{"x", "lo"}, "y", nil}}, []tinit{{"lo", []int64{}, []float32{float32(math.NaN())}}}},
		"pool-no-kernel":    {[]int{1, 4, 4}, []tnode{{"MaxPool", []string{"x"}, "y", nil}}, nil},
		"unknown-op":        {[]int{3}, []tnode{{"Einsum", []string{"x"}, "y", nil}}, nil},
		"nan-weight":        {[]int{2}, []tnode{{"MatMul", []string{"x", "w"}, "y", nil}}, []tinit{{"w", []int64{2, 1}, []float32{float32(math.Inf(1)), 0}}}},
		"flatten-axis-2":    {[]int{2, 3}, []tnode{{"Flatten", []string{"x"}, "y", []*onnxpb.AttributeProto{aInt("axis", 2)}}}, nil},
		"gather-activation": {[]int{3}, []tnode{{"Gather", []string{"x", "i"}, "y", nil}}, []tinit{{name: "i", shape: []int64{0}}}},
	}
	for name, c := range cases {
		mp := tmodel(c.in, c.nodes, c.inits, "y")
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("%s: panic %v", name, r)
				}
			}()
			tr, err := NewTrainer(mp, Options{Mode: Float, Batch: 2, Threads: 1})
			if err == nil {
				tr.Close()
				t.Errorf("%s: accepted", name)
			}
		}()
	}
}

type tmodelSpec struct {
	in    []int
	nodes []tnode
	inits []tinit
}
