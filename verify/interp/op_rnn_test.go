package interp

// Cross-check of RNN, GRU and LSTM against ONNX Runtime for what the ONNX
// backend test data does not cover (it only has forward, default
// activations, no Y_c): directions, layout 1, sequence_lens, initial
// states, peepholes, clip, linear_before_reset, input_forget, activations
// with alpha and beta, DOUBLE, omitted outputs. Plus the interpreter's own
// errors on bad data.

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

// rnnCase is one recurrent node to run in both runtimes.
type rnnCase struct {
	name      string
	op        string
	opset     int64
	dir       string
	layout    int64
	double    bool
	bias      bool
	seqLens   []int32 // nil: omitted
	initH     bool
	initC     bool // LSTM
	peep      bool // LSTM
	outs      [3]bool
	attrs     []*onnxpb.AttributeProto
	seq, b    int
	in, hid   int
	noHidAttr bool
}

func rnnStringsAttr(name string, v ...string) *onnxpb.AttributeProto {
	a := &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_STRINGS.Enum()}
	for _, s := range v {
		a.Strings = append(a.Strings, []byte(s))
	}
	return a
}

func rnnFloatsAttr(name string, v ...float32) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_FLOATS.Enum(), Floats: v}
}

// rnnRand returns a random FLOAT (or DOUBLE) tensor, values of scale sd.
func rnnRand(r *rand.Rand, double bool, sd float64, shape ...int64) *tensor.Tensor {
	n := int(prod(shape))
	if double {
		v := make([]float64, n)
		for i := range v {
			v[i] = r.NormFloat64() * sd
		}
		return &tensor.Tensor{Type: tensor.Double, Shape: shape, Data: v}
	}
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64() * sd)
	}
	return &tensor.Tensor{Type: tensor.Float, Shape: shape, Data: v}
}

// rnnPermute returns t (FLOAT or DOUBLE) with its dimensions permuted:
// dimension i of the result is dimension perm[i] of t.
func rnnPermute(t *tensor.Tensor, perm ...int) *tensor.Tensor {
	shape := make([]int64, len(perm))
	for i, p := range perm {
		shape[i] = t.Shape[p]
	}
	strides := make([]int64, len(t.Shape))
	st := int64(1)
	for i := len(t.Shape) - 1; i >= 0; i-- {
		strides[i] = st
		st *= t.Shape[i]
	}
	n := int(prod(shape))
	src := make([]int, n) // source offset of each destination element
	idx := make([]int64, len(shape))
	for k := range src {
		off := int64(0)
		for i, p := range perm {
			off += idx[i] * strides[p]
		}
		src[k] = int(off)
		for i := len(idx) - 1; i >= 0; i-- {
			if idx[i]++; idx[i] < shape[i] {
				break
			}
			idx[i] = 0
		}
	}
	out := &tensor.Tensor{Type: t.Type, Shape: shape}
	switch d := t.Data.(type) {
	case []float32:
		v := make([]float32, n)
		for k, o := range src {
			v[k] = d[o]
		}
		out.Data = v
	case []float64:
		v := make([]float64, n)
		for k, o := range src {
			v[k] = d[o]
		}
		out.Data = v
	}
	return out
}

// rnnToFloat returns a DOUBLE tensor as FLOAT, others unchanged.
func rnnToFloat(t *tensor.Tensor) *tensor.Tensor {
	d, ok := t.Data.([]float64)
	if !ok {
		return t
	}
	v := make([]float32, len(d))
	for i, x := range d {
		v[i] = float32(x)
	}
	return &tensor.Tensor{Type: tensor.Float, Shape: t.Shape, Data: v}
}

// build makes the model from random data drawn with seed. W is an
// initializer when constW. The model for ONNX Runtime (forORT) is the
// same computation in what ONNX Runtime supports: layout 0, hidden_size
// set, FLOAT.
func (c *rnnCase) build(t *testing.T, seed uint64, constW, forORT bool) *qmBuilder {
	r := rand.New(rand.NewPCG(seed, seed+1))
	opset := c.opset
	if opset == 0 {
		opset = 14
	}
	b := newQM(t, opset)
	g := map[string]int64{"RNN": 1, "GRU": 3, "LSTM": 4}[c.op]
	nd := int64(1)
	if c.dir == "bidirectional" {
		nd = 2
	}
	double := c.double && !forORT
	layout := c.layout
	if forORT {
		layout = 0
	}
	conv := func(v *tensor.Tensor, perm ...int) *tensor.Tensor {
		if !double {
			v = rnnToFloat(v)
		}
		if layout == 1 && perm != nil {
			v = rnnPermute(v, perm...)
		}
		return v
	}
	S, B, I, H := int64(c.seq), int64(c.b), int64(c.in), int64(c.hid)
	ins := []string{b.in("X", conv(rnnRand(r, true, 1, S, B, I), 1, 0, 2))}
	w := conv(rnnRand(r, true, 0.6, nd, g*H, I))
	if constW {
		ins = append(ins, b.init("W", w))
	} else {
		ins = append(ins, b.in("W", w))
	}
	ins = append(ins, b.in("R", conv(rnnRand(r, true, 0.6, nd, g*H, H))))
	opt := func(on bool, name string, v func() *tensor.Tensor) {
		if on {
			ins = append(ins, b.in(name, v()))
		} else {
			ins = append(ins, "")
		}
	}
	opt(c.bias, "B", func() *tensor.Tensor { return conv(rnnRand(r, true, 0.5, nd, 2*g*H)) })
	opt(c.seqLens != nil, "sequence_lens", func() *tensor.Tensor {
		return &tensor.Tensor{Type: tensor.Int32, Shape: []int64{B}, Data: c.seqLens}
	})
	opt(c.initH, "initial_h", func() *tensor.Tensor { return conv(rnnRand(r, true, 0.8, nd, B, H), 1, 0, 2) })
	if c.op == "LSTM" {
		opt(c.initC, "initial_c", func() *tensor.Tensor { return conv(rnnRand(r, true, 0.8, nd, B, H), 1, 0, 2) })
		opt(c.peep, "P", func() *tensor.Tensor { return conv(rnnRand(r, true, 0.5, nd, 3*H)) })
	}
	for len(ins) > 0 && ins[len(ins)-1] == "" {
		ins = ins[:len(ins)-1]
	}
	attrs := append([]*onnxpb.AttributeProto{}, c.attrs...)
	if !c.noHidAttr || forORT {
		attrs = append(attrs, qIntAttr("hidden_size", H))
	}
	if c.dir != "" {
		attrs = append(attrs, qStringAttr("direction", c.dir))
	}
	if layout != 0 {
		attrs = append(attrs, qIntAttr("layout", layout))
	}
	var outs []string
	dt := tensor.Float
	if double {
		dt = tensor.Double
	}
	for i, name := range []string{"Y", "Y_h", "Y_c"} {
		if i == 2 && c.op != "LSTM" {
			break
		}
		if c.outs[i] {
			outs = append(outs, name)
			b.out(name, dt)
		} else {
			outs = append(outs, "")
		}
	}
	for len(outs) > 0 && outs[len(outs)-1] == "" {
		outs = outs[:len(outs)-1]
	}
	b.node(c.op, "", ins, outs, attrs...)
	return b
}

func rnnCases() []rnnCase {
	all := [3]bool{true, true, true}
	yOnly := [3]bool{true, false, false}
	hOnly := [3]bool{false, true, false}
	var cs []rnnCase
	for _, op := range []string{"RNN", "GRU", "LSTM"} {
		base := rnnCase{op: op, seq: 5, b: 3, in: 4, hid: 3, outs: all, bias: true}
		add := func(name string, f func(c *rnnCase)) {
			c := base
			c.name = op + "/" + name
			f(&c)
			cs = append(cs, c)
		}
		add("forward", func(c *rnnCase) {})
		add("reverse", func(c *rnnCase) { c.dir = "reverse" })
		add("bidirectional", func(c *rnnCase) { c.dir = "bidirectional"; c.initH, c.initC = true, true })
		add("no bias, Y only", func(c *rnnCase) { c.bias = false; c.outs = yOnly })
		add("Y_h only, opset 7", func(c *rnnCase) { c.outs = hOnly; c.opset = 7 })
		add("seq lens forward", func(c *rnnCase) { c.seqLens = []int32{5, 2, 3}; c.initH, c.initC = true, true })
		add("seq lens reverse", func(c *rnnCase) { c.dir = "reverse"; c.seqLens = []int32{1, 4, 5} })
		add("seq lens bidi layout 1", func(c *rnnCase) {
			c.dir = "bidirectional"
			c.layout = 1
			c.seqLens = []int32{3, 5, 1}
			c.initH, c.initC = true, true
		})
		add("seq lens with 0", func(c *rnnCase) {
			c.dir = "bidirectional"
			c.seqLens = []int32{0, 3, 5}
			c.initH, c.initC = true, true
		})
		add("layout 1", func(c *rnnCase) { c.layout = 1; c.initH, c.initC = true, true })
		add("clip", func(c *rnnCase) { c.attrs = append(c.attrs, qFloatAttr("clip", 0.7)); c.initH, c.initC = true, true })
		add("double", func(c *rnnCase) { c.double = true; c.dir = "bidirectional"; c.initH, c.initC = true, true })
		add("no hidden_size attr", func(c *rnnCase) { c.noHidAttr = true })
		add("batch 1 wide", func(c *rnnCase) { c.b, c.in, c.hid, c.seq = 1, 7, 9, 4 })
		switch op {
		case "RNN":
			add("relu", func(c *rnnCase) { c.attrs = append(c.attrs, rnnStringsAttr("activations", "Relu")) })
			add("leakyrelu bidi", func(c *rnnCase) {
				c.dir = "bidirectional"
				c.attrs = append(c.attrs, rnnStringsAttr("activations", "LeakyRelu", "Tanh"), rnnFloatsAttr("activation_alpha", 0.3))
			})
			add("hardsigmoid", func(c *rnnCase) {
				c.attrs = append(c.attrs, rnnStringsAttr("activations", "HardSigmoid"), rnnFloatsAttr("activation_alpha", 0.3), rnnFloatsAttr("activation_beta", 0.4))
			})
			add("softsign", func(c *rnnCase) { c.attrs = append(c.attrs, rnnStringsAttr("activations", "Softsign")) })
			add("softplus", func(c *rnnCase) { c.attrs = append(c.attrs, rnnStringsAttr("activations", "Softplus")) })
			add("elu", func(c *rnnCase) {
				c.attrs = append(c.attrs, rnnStringsAttr("activations", "Elu"), rnnFloatsAttr("activation_alpha", 0.5))
			})
			add("thresholdedrelu", func(c *rnnCase) {
				c.attrs = append(c.attrs, rnnStringsAttr("activations", "ThresholdedRelu"), rnnFloatsAttr("activation_alpha", 0.2))
			})
			add("scaledtanh", func(c *rnnCase) {
				c.attrs = append(c.attrs, rnnStringsAttr("activations", "ScaledTanh"), rnnFloatsAttr("activation_alpha", 0.8), rnnFloatsAttr("activation_beta", 1.5))
			})
			add("affine", func(c *rnnCase) {
				c.attrs = append(c.attrs, rnnStringsAttr("activations", "Affine"), rnnFloatsAttr("activation_alpha", 0.5), rnnFloatsAttr("activation_beta", 0.1))
			})
			add("sigmoid", func(c *rnnCase) { c.attrs = append(c.attrs, rnnStringsAttr("activations", "Sigmoid")) })
		case "GRU":
			add("linear_before_reset", func(c *rnnCase) {
				c.attrs = append(c.attrs, qIntAttr("linear_before_reset", 1))
				c.initH = true
			})
			add("linear_before_reset bidi seq lens", func(c *rnnCase) {
				c.attrs = append(c.attrs, qIntAttr("linear_before_reset", 1))
				c.dir = "bidirectional"
				c.seqLens = []int32{2, 5, 4}
			})
			add("activations", func(c *rnnCase) {
				c.attrs = append(c.attrs, rnnStringsAttr("activations", "HardSigmoid", "LeakyRelu"),
					rnnFloatsAttr("activation_alpha", 0.25, 0.05), rnnFloatsAttr("activation_beta", 0.45))
			})
			add("activations bidi", func(c *rnnCase) {
				c.dir = "bidirectional"
				c.attrs = append(c.attrs, rnnStringsAttr("activations", "Sigmoid", "Relu", "HardSigmoid", "Softsign"),
					rnnFloatsAttr("activation_alpha", 0.3), rnnFloatsAttr("activation_beta", 0.6))
			})
		case "LSTM":
			add("peepholes", func(c *rnnCase) { c.peep = true; c.initH, c.initC = true, true })
			add("peepholes bidi seq lens", func(c *rnnCase) {
				c.peep = true
				c.dir = "bidirectional"
				c.seqLens = []int32{4, 1, 5}
				c.initH, c.initC = true, true
			})
			add("input_forget", func(c *rnnCase) {
				c.attrs = append(c.attrs, qIntAttr("input_forget", 1))
				c.peep = true
				c.initC = true
			})
			add("clip peepholes", func(c *rnnCase) {
				c.attrs = append(c.attrs, qFloatAttr("clip", 0.5))
				c.peep, c.initH, c.initC = true, true, true
			})
			add("activations", func(c *rnnCase) {
				c.attrs = append(c.attrs, rnnStringsAttr("activations", "HardSigmoid", "Elu", "Softsign"),
					rnnFloatsAttr("activation_alpha", 0.25, 0.7), rnnFloatsAttr("activation_beta", 0.45))
				c.initC = true
			})
			add("Y_c only", func(c *rnnCase) { c.outs = [3]bool{false, false, true}; c.initC = true })
		}
	}
	return cs
}

func TestRNNAgainstORT(t *testing.T) {
	ort.RequireOrSkip(t)
	worst := 0.0
	for i, c := range rnnCases() {
		seed := uint64(100 + i)
		ours, err := c.build(t, seed, i%2 == 1, false).run()
		if err != nil {
			t.Errorf("%s: interpreter: %v", c.name, err)
			continue
		}
		if c.layout == 1 {
			// Back to layout 0 for the comparison.
			for name, v := range ours {
				if name == "Y" {
					ours[name] = rnnPermute(v, 1, 2, 0, 3)
				} else {
					ours[name] = rnnPermute(v, 1, 0, 2)
				}
			}
		}
		b := c.build(t, seed, false, true)
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
			t.Errorf("%s: ONNX Runtime: %v", c.name, err)
			continue
		}
		res, err := s.Run(feeds)
		s.Close()
		if err != nil {
			t.Errorf("%s: ONNX Runtime run: %v", c.name, err)
			continue
		}
		for _, want := range res {
			got := ours[want.Name]
			if got == nil {
				t.Errorf("%s: output %s missing", c.name, want.Name)
				continue
			}
			if fmt.Sprint(got.Shape) != fmt.Sprint(want.Shape) {
				t.Errorf("%s: output %s has shape %v, ONNX Runtime %v", c.name, want.Name, got.Shape, want.Shape)
				continue
			}
			gv, _ := got.Float64s()
			wt := &tensor.Tensor{Type: tensor.Float, Shape: want.Shape, Data: want.Data}
			if _, ok := want.Data.([]float64); ok {
				wt.Type = tensor.Double
			}
			wv, err := wt.Float64s()
			if err != nil {
				t.Errorf("%s: output %s: ONNX Runtime returned %T", c.name, want.Name, want.Data)
				continue
			}
			for j := range gv {
				diff := math.Abs(gv[j] - wv[j])
				worst = max(worst, diff)
				if diff > 2e-5+1e-4*math.Abs(wv[j]) {
					t.Errorf("%s: output %s element %d: %v, ONNX Runtime %v", c.name, want.Name, j, gv[j], wv[j])
					break
				}
			}
		}
	}
	t.Logf("%d cases against ONNX Runtime %s, worst absolute difference %.2g", len(rnnCases()), ort.Version(), worst)
}

// TestRNNHand checks a few values worked out by hand: a one-unit RNN with
// identity-like weights, sequence_lens 0 and the reverse direction.
func TestRNNHand(t *testing.T) {
	b := newQM(t, 14)
	// X: seq 3, batch 2, input 1; W = 1, R = 0.5, Affine activation (alpha
	// 1, beta 0: identity), so h_t = x_t + 0.5·h_{t-1}.
	b.in("X", &tensor.Tensor{Type: tensor.Float, Shape: []int64{3, 2, 1}, Data: []float32{1, 10, 2, 20, 4, 40}})
	b.init("W", &tensor.Tensor{Type: tensor.Float, Shape: []int64{2, 1, 1}, Data: []float32{1, 1}})
	b.init("R", &tensor.Tensor{Type: tensor.Float, Shape: []int64{2, 1, 1}, Data: []float32{0.5, 0.5}})
	b.in("L", &tensor.Tensor{Type: tensor.Int32, Shape: []int64{2}, Data: []int32{3, 0}})
	b.node("RNN", "", []string{"X", "W", "R", "", "L"}, []string{"Y", "Y_h"},
		qIntAttr("hidden_size", 1), qStringAttr("direction", "bidirectional"),
		rnnStringsAttr("activations", "Affine", "Affine"))
	b.out("Y", tensor.Float)
	b.out("Y_h", tensor.Float)
	got, err := b.run()
	if err != nil {
		t.Fatal(err)
	}
	// Forward, batch 0: 1, 2.5, 5.25. Reverse, batch 0: t=2: 4, t=1: 4,
	// t=0: 3. Batch 1 has length 0: all zero.
	wantY := []float32{1, 0, 3, 0, 2.5, 0, 4, 0, 5.25, 0, 4, 0}
	wantH := []float32{5.25, 0, 3, 0}
	if fmt.Sprint(got["Y"].Data) != fmt.Sprint(wantY) || fmt.Sprint(got["Y"].Shape) != "[3 2 2 1]" {
		t.Errorf("Y = %v %v, want %v", got["Y"].Shape, got["Y"].Data, wantY)
	}
	if fmt.Sprint(got["Y_h"].Data) != fmt.Sprint(wantH) {
		t.Errorf("Y_h = %v, want %v", got["Y_h"].Data, wantH)
	}
}

// TestRNNFloat16 runs an LSTM on FLOAT16 and compares with FLOAT.
func TestRNNFloat16(t *testing.T) {
	c := rnnCase{op: "LSTM", seq: 4, b: 2, in: 3, hid: 5, outs: [3]bool{true, true, true}, bias: true, initH: true, initC: true, peep: true, dir: "bidirectional"}
	b := c.build(t, 5, false, false)
	want, err := b.run()
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range b.feeds {
		if v.Type == tensor.Float {
			f, _ := v.Float32s()
			h := make([]float16.Float16, len(f))
			for i, x := range f {
				h[i] = float16.Fromfloat32(x)
			}
			b.feeds[name] = &tensor.Tensor{Type: tensor.Float16, Shape: v.Shape, Data: h}
		}
	}
	b.inputs = nil
	for _, name := range b.order {
		b.inputs = append(b.inputs, qValueInfo(name, b.feeds[name].Type, b.feeds[name].Shape))
	}
	for _, o := range b.outputs {
		o.Type.GetTensorType().ElemType = proto.Int32(int32(tensor.Float16))
	}
	got, err := b.run()
	if err != nil {
		t.Fatal(err)
	}
	for name, w := range want {
		g := got[name]
		if g.Type != tensor.Float16 {
			t.Fatalf("%s has type %s", name, tensor.Name(g.Type))
		}
		gv, _ := g.Float64s()
		wv, _ := w.Float64s()
		for i := range wv {
			if math.Abs(gv[i]-wv[i]) > 1e-2 {
				t.Errorf("%s element %d: %v, FLOAT gives %v", name, i, gv[i], wv[i])
				break
			}
		}
	}
}

func TestRNNErrors(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for i, tc := range []struct {
		name, want string
		c          rnnCase
	}{
		{"seq len too long", "sequence_lens", rnnCase{op: "GRU", seq: 3, b: 2, in: 2, hid: 2, outs: [3]bool{true}, seqLens: []int32{1, 4}}},
		{"seq len negative", "sequence_lens", rnnCase{op: "LSTM", seq: 3, b: 2, in: 2, hid: 2, outs: [3]bool{true}, seqLens: []int32{-1, 2}}},
		{"bad direction", "direction", rnnCase{op: "RNN", dir: "sideways", seq: 3, b: 2, in: 2, hid: 2, outs: [3]bool{true}}},
		{"bad activation", "activation", rnnCase{op: "RNN", seq: 3, b: 2, in: 2, hid: 2, outs: [3]bool{true}, attrs: []*onnxpb.AttributeProto{rnnStringsAttr("activations", "Gelu")}}},
		{"activation count", "activations", rnnCase{op: "GRU", seq: 3, b: 2, in: 2, hid: 2, outs: [3]bool{true}, attrs: []*onnxpb.AttributeProto{rnnStringsAttr("activations", "Tanh")}}},
		{"layout before 14", "layout", rnnCase{op: "LSTM", opset: 7, layout: 1, seq: 3, b: 2, in: 2, hid: 2, outs: [3]bool{true}}},
		{"negative clip", "clip", rnnCase{op: "LSTM", seq: 3, b: 2, in: 2, hid: 2, outs: [3]bool{true}, attrs: []*onnxpb.AttributeProto{qFloatAttr("clip", -1)}}},
	} {
		b := tc.c.build(t, uint64(i), false, false)
		_, err := b.run()
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "n0_") {
			t.Errorf("%s: error %v, want one naming the node and %q", tc.name, err, tc.want)
		}
	}
	// W with the wrong hidden size for the attribute.
	b := newQM(t, 14)
	b.in("X", rnnRand(r, false, 1, 2, 1, 3))
	b.in("W", rnnRand(r, false, 1, 1, 8, 3))
	b.in("R", rnnRand(r, false, 1, 1, 8, 2))
	b.node("LSTM", "", []string{"X", "W", "R"}, []string{"Y"}, qIntAttr("hidden_size", 3))
	b.out("Y", tensor.Float)
	if _, err := b.run(); err == nil || !strings.Contains(err.Error(), "W has 8 rows") {
		t.Errorf("wrong W: error %v", err)
	}
}

func TestRNNWork(t *testing.T) {
	// seq 5, batch 3: 15 steps, each through all of W (2·12·4) and R
	// (2·12·3).
	if got, ok := rnnWork([]int64{5, 3, 4}, []int64{2, 12, 4}, []int64{2, 12, 3}); !ok || got != 15*(96+72) {
		t.Errorf("rnnWork = %d, %v; want %d", got, ok, 15*(96+72))
	}
	if _, ok := rnnWork(nil, []int64{1, 1, 1}, []int64{1, 1, 1}); ok {
		t.Error("rnnWork with an unknown X shape is ok")
	}
}
