package interp

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/onnx-prom/onnx-prom/onnx/tensor"
	"github.com/x448/float16"
)

// naiveBroadcastIndex maps output flat index i of shape out to the flat
// index of an operand of shape s under numpy broadcasting (the textbook
// definition, independent of bcastPlan).
func naiveBroadcastIndex(i int, out, s []int64) int {
	coord := make([]int64, len(out))
	for j := len(out) - 1; j >= 0; j-- {
		coord[j] = int64(i) % out[j]
		i /= int(out[j])
	}
	idx := 0
	for j := range s {
		c := coord[len(out)-len(s)+j]
		if s[j] == 1 {
			c = 0
		}
		idx = idx*int(s[j]) + int(c)
	}
	return idx
}

func randShape(r *rand.Rand, rank int) []int64 {
	s := make([]int64, rank)
	for i := range s {
		s[i] = int64(1 + r.IntN(4))
	}
	return s
}

// TestBroadcastRandom checks Add/Sub/Mul/Div/PRelu/Where over random
// broadcastable shapes against the textbook broadcasting rule.
func TestBroadcastRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for it := range 300 {
		out := randShape(r, r.IntN(5))
		mk := func() []int64 {
			s := slices.Clone(out[r.IntN(len(out)+1):])
			for i := range s {
				if r.IntN(3) == 0 {
					s[i] = 1
				}
			}
			return s
		}
		sa, sb := mk(), mk()
		if it%2 == 1 {
			out, _ = bcastShape(sa, sb) // both operands may be smaller than out
		} else if len(sa) < len(out) {
			sa = out
		}
		rnd := func(s []int64) *tensor.Tensor {
			n := int(prod(s))
			v := make([]float32, n)
			for i := range v {
				v[i] = float32(r.IntN(21)-10) + 0.5
			}
			return elemF32(elemShape(s...), v...)
		}
		a, b := rnd(sa), rnd(sb)
		want, _ := bcastShape(sa, sb)
		for _, op := range []string{"Add", "Sub", "Mul", "Div", "PRelu"} {
			got := elemOne(t, elemNode{op: op, inputs: []*tensor.Tensor{a, b}})
			if !slices.Equal(got.Shape, want) {
				t.Fatalf("%s %v %v: shape %v, want %v", op, sa, sb, got.Shape, want)
			}
			g := got.Data.([]float32)
			for i := range g {
				x := a.Data.([]float32)[naiveBroadcastIndex(i, want, sa)]
				y := b.Data.([]float32)[naiveBroadcastIndex(i, want, sb)]
				var w float32
				switch op {
				case "Add":
					w = x + y
				case "Sub":
					w = x - y
				case "Mul":
					w = x * y
				case "Div":
					w = x / y
				case "PRelu":
					w = x
					if x < 0 {
						w = x * y
					}
				}
				if g[i] != w {
					t.Fatalf("%s %v %v: element %d = %v, want %v", op, sa, sb, i, g[i], w)
				}
			}
		}
		cs := mk()
		cond := &tensor.Tensor{Type: tensor.Bool, Shape: elemShape(cs...), Data: make([]bool, prod(cs))}
		for i := range cond.Data.([]bool) {
			cond.Data.([]bool)[i] = r.IntN(2) == 0
		}
		got := elemOne(t, elemNode{op: "Where", inputs: []*tensor.Tensor{cond, a, b}})
		ws, _ := bcastShape(cs, sa, sb)
		if !slices.Equal(got.Shape, ws) {
			t.Fatalf("Where %v %v %v: shape %v, want %v", cs, sa, sb, got.Shape, ws)
		}
		for i, v := range got.Data.([]float32) {
			w := b.Data.([]float32)[naiveBroadcastIndex(i, ws, sb)]
			if cond.Data.([]bool)[naiveBroadcastIndex(i, ws, cs)] {
				w = a.Data.([]float32)[naiveBroadcastIndex(i, ws, sa)]
			}
			if v != w {
				t.Fatalf("Where: element %d = %v, want %v", i, v, w)
			}
		}
	}
}

func TestBroadcastHandComputed(t *testing.T) {
	// [2,1] + [3] -> [[1+10, 1+20, 1+30], [2+10, 2+20, 2+30]]
	got := elemOne(t, elemNode{op: "Add", inputs: []*tensor.Tensor{elemF32(elemShape(2, 1), 1, 2), elemF32(elemShape(3), 10, 20, 30)}})
	elemExpect(t, got, tensor.Float, elemShape(2, 3), []float32{11, 21, 31, 12, 22, 32})
	// scalar - tensor
	got = elemOne(t, elemNode{op: "Sub", inputs: []*tensor.Tensor{elemF32(elemShape(), 1), elemF32(elemShape(2), 3, 4)}})
	elemExpect(t, got, tensor.Float, elemShape(2), []float32{-2, -3})
	// per-channel: [1,2,1,2] * [2,1,1]
	got = elemOne(t, elemNode{op: "Mul", inputs: []*tensor.Tensor{elemF32(elemShape(1, 2, 1, 2), 1, 2, 3, 4), elemF32(elemShape(2, 1, 1), 10, 100)}})
	elemExpect(t, got, tensor.Float, elemShape(1, 2, 1, 2), []float32{10, 20, 300, 400})
	// zero-size dimension broadcasts against 1
	got = elemOne(t, elemNode{op: "Add", inputs: []*tensor.Tensor{elemF32(elemShape(0, 3)), elemF32(elemShape(1, 3), 1, 2, 3)}})
	elemExpect(t, got, tensor.Float, elemShape(0, 3), []float32{})
	elemFails(t, elemNode{op: "Add", inputs: []*tensor.Tensor{elemF32(elemShape(2, 3), make([]float32, 6)...), elemF32(elemShape(2), 1, 2)}}, "not broadcastable")
	elemFails(t, elemNode{op: "Add", inputs: []*tensor.Tensor{elemF32(elemShape(2), 1, 2), elemI64(elemShape(2), 1, 2)}}, "types")
	// Variadic with three shapes: Sum([3], [2,1], scalar), Mean, Max, Min.
	ins := []*tensor.Tensor{elemF32(elemShape(3), 1, 2, 3), elemF32(elemShape(2, 1), 10, 20), elemF32(elemShape(), 100)}
	elemExpect(t, elemOne(t, elemNode{op: "Sum", inputs: ins}), tensor.Float, elemShape(2, 3), []float32{111, 112, 113, 121, 122, 123})
	elemExpect(t, elemOne(t, elemNode{op: "Mean", inputs: ins}), tensor.Float, elemShape(2, 3), []float32{37, 112.0 / 3, 113.0 / 3, 121.0 / 3, 122.0 / 3, 41})
	elemExpect(t, elemOne(t, elemNode{op: "Max", inputs: ins[:2]}), tensor.Float, elemShape(2, 3), []float32{10, 10, 10, 20, 20, 20})
	elemExpect(t, elemOne(t, elemNode{op: "Min", inputs: []*tensor.Tensor{elemF32(elemShape(2), 1, float32(math.NaN())), elemF32(elemShape(), 0)}}),
		tensor.Float, elemShape(2), []float32{0, float32(math.NaN())})
}

func TestRoundHalfToEven(t *testing.T) {
	x := elemF32(elemShape(9), 0.5, 1.5, 2.5, -0.5, -1.5, 2.4, -2.6, 3.5, -2.5)
	elemExpect(t, elemOne(t, elemNode{op: "Round", inputs: []*tensor.Tensor{x}}), tensor.Float, elemShape(9),
		[]float32{0, 2, 2, 0, -2, 2, -3, 4, -2})
}

func TestIntegerDivModPow(t *testing.T) {
	a := &tensor.Tensor{Type: tensor.Int32, Shape: elemShape(4), Data: []int32{-7, 7, -7, 7}}
	b := &tensor.Tensor{Type: tensor.Int32, Shape: elemShape(4), Data: []int32{3, 3, -3, -3}}
	elemExpect(t, elemOne(t, elemNode{op: "Div", inputs: []*tensor.Tensor{a, b}}), tensor.Int32, elemShape(4), []int32{-2, 2, 2, -2})
	elemExpect(t, elemOne(t, elemNode{op: "Mod", inputs: []*tensor.Tensor{a, b}}), tensor.Int32, elemShape(4), []int32{2, 1, -1, -2})
	elemExpect(t, elemOne(t, elemNode{op: "Mod", attrs: []*elemAttr{elemInt("fmod", 1)}, inputs: []*tensor.Tensor{a, b}}), tensor.Int32, elemShape(4), []int32{-1, 1, -1, 1})
	zero := &tensor.Tensor{Type: tensor.Int32, Shape: elemShape(), Data: []int32{0}}
	elemFails(t, elemNode{op: "Div", inputs: []*tensor.Tensor{a, zero}}, "division by zero")
	elemFails(t, elemNode{op: "Mod", inputs: []*tensor.Tensor{a, zero}}, "division by zero")
	// Float Mod: fmod=0 follows the divisor's sign, fmod=1 the dividend's.
	fx, fy := elemF32(elemShape(2), -7.5, 7.5), elemF32(elemShape(), 2)
	elemExpect(t, elemOne(t, elemNode{op: "Mod", inputs: []*tensor.Tensor{fx, fy}}), tensor.Float, elemShape(2), []float32{0.5, 1.5})
	elemExpect(t, elemOne(t, elemNode{op: "Mod", attrs: []*elemAttr{elemInt("fmod", 1)}, inputs: []*tensor.Tensor{fx, fy}}), tensor.Float, elemShape(2), []float32{-1.5, 1.5})
	// Integer powers are exact beyond 2^53.
	base := elemI64(elemShape(3), 3, 2, -2)
	exp := elemI64(elemShape(3), 39, 10, 3)
	elemExpect(t, elemOne(t, elemNode{op: "Pow", inputs: []*tensor.Tensor{base, exp}}), tensor.Int64, elemShape(3), []int64{4052555153018976267, 1024, -8})
	// Float base, integer exponent.
	elemExpect(t, elemOne(t, elemNode{op: "Pow", inputs: []*tensor.Tensor{elemF32(elemShape(2), 1.5, -2), elemI64(elemShape(), 2)}}), tensor.Float, elemShape(2), []float32{2.25, 4})
}

func TestActivations(t *testing.T) {
	g := []float32{-3, -1, -0.5, 0, 0.5, 1, 3}
	x := elemF32(elemShape(7), g...)
	cases := []struct {
		nd   elemNode
		want []float32
	}{
		{elemNode{op: "Gelu", opset: 20}, []float32{-0.00404969409489031, -0.15865525393145707, -0.15426876936299344, 0, 0.34573123063700656, 0.8413447460685429, 2.99595030590511}},
		{elemNode{op: "Gelu", opset: 20, attrs: []*elemAttr{elemStr("approximate", "tanh")}}, []float32{-0.0036373920817729943, -0.1588080093917233, -0.15428599017485606, 0, 0.34571400982514394, 0.8411919906082768, 2.996362607918227}},
		{elemNode{op: "Mish"}, []float32{-0.1456474612756246, -0.30340146137410895, -0.22074377465173, 0, 0.3752452113048951, 0.8650983882673103, 2.986535004967957}},
		{elemNode{op: "Celu", attrs: []*elemAttr{elemFloat("alpha", 2)}}, []float32{-1.5537396797031404, -0.7869386805747332, -0.44239843385719024, 0, 0.5, 1, 3}},
		{elemNode{op: "Selu"}, []float32{-1.6705687287671118, -1.1113307378125625, -0.6917581878028713, 0, 0.5253504936777402, 1.0507009873554805, 3.1521029620664414}},
		{elemNode{op: "Softplus"}, []float32{0.04858735157374206, 0.31326168751822286, 0.4740769841801067, 0.6931471805599453, 0.9740769841801067, 1.3132616875182228, 3.048587351573742}},
		{elemNode{op: "HardSwish"}, []float32{0, -1.0 / 3, -0.5 * 2.5 / 6, 0, 0.5 * 3.5 / 6, 4.0 / 6, 3}},
		{elemNode{op: "HardSigmoid", attrs: []*elemAttr{elemFloat("alpha", 0.5), elemFloat("beta", 0.25)}}, []float32{0, 0, 0, 0.25, 0.5, 0.75, 1}},
		{elemNode{op: "LeakyRelu", attrs: []*elemAttr{elemFloat("alpha", 0.1)}}, []float32{-0.3, -0.1, -0.05, 0, 0.5, 1, 3}},
		{elemNode{op: "ThresholdedRelu", attrs: []*elemAttr{elemFloat("alpha", 0.5)}}, []float32{0, 0, 0, 0, 0, 1, 3}},
		{elemNode{op: "Shrink", attrs: []*elemAttr{elemFloat("lambd", 0.75), elemFloat("bias", 0.5)}}, []float32{-2.5, -0.5, 0, 0, 0, 0.5, 2.5}},
		{elemNode{op: "Relu"}, []float32{0, 0, 0, 0, 0.5, 1, 3}},
		{elemNode{op: "Sign"}, []float32{-1, -1, -1, 0, 1, 1, 1}},
		{elemNode{op: "Clip", opset: 6, attrs: []*elemAttr{elemFloat("min", -1), elemFloat("max", 0.5)}}, []float32{-1, -1, -0.5, 0, 0.5, 0.5, 0.5}},
		{elemNode{op: "Clip", opset: 13, inputs: []*tensor.Tensor{nil, nil, elemF32(elemShape(), 0.5)}}, []float32{-3, -1, -0.5, 0, 0.5, 0.5, 0.5}},
		{elemNode{op: "Clip", opset: 13, inputs: []*tensor.Tensor{nil, elemF32(elemShape(), -0.75)}}, []float32{-0.75, -0.75, -0.5, 0, 0.5, 1, 3}},
	}
	for _, c := range cases {
		c.nd.inputs = append([]*tensor.Tensor{x}, c.nd.inputs[min(1, len(c.nd.inputs)):]...)
		elemExpect(t, elemOne(t, c.nd), tensor.Float, elemShape(7), c.want)
	}
	// Integer Clip (opset 12+) and Relu (opset 14+).
	xi := &tensor.Tensor{Type: tensor.Int8, Shape: elemShape(4), Data: []int8{-128, -5, 5, 127}}
	lo := &tensor.Tensor{Type: tensor.Int8, Shape: elemShape(), Data: []int8{-10}}
	elemExpect(t, elemOne(t, elemNode{op: "Clip", inputs: []*tensor.Tensor{xi, lo}}), tensor.Int8, elemShape(4), []int8{-10, -5, 5, 127})
	elemExpect(t, elemOne(t, elemNode{op: "Relu", inputs: []*tensor.Tensor{xi}}), tensor.Int8, elemShape(4), []int8{0, 0, 5, 127})
	elemExpect(t, elemOne(t, elemNode{op: "Abs", inputs: []*tensor.Tensor{xi}}), tensor.Int8, elemShape(4), []int8{-128, 5, 5, 127})
	elemFails(t, elemNode{op: "Exp", inputs: []*tensor.Tensor{xi}}, "not supported")
	// IsInf with detect flags, IsNaN.
	inf := elemF32(elemShape(4), float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 1)
	elemExpect(t, elemOne(t, elemNode{op: "IsInf", attrs: []*elemAttr{elemInt("detect_positive", 0)}, inputs: []*tensor.Tensor{inf}}), tensor.Bool, elemShape(4), []bool{false, true, false, false})
	elemExpect(t, elemOne(t, elemNode{op: "IsNaN", inputs: []*tensor.Tensor{inf}}), tensor.Bool, elemShape(4), []bool{false, false, true, false})
	// float16 goes through float32 and back.
	h := &tensor.Tensor{Type: tensor.Float16, Shape: elemShape(2), Data: []float16.Float16{float16.Fromfloat32(1.5), float16.Fromfloat32(-2)}}
	elemExpect(t, elemOne(t, elemNode{op: "Add", inputs: []*tensor.Tensor{h, h}}), tensor.Float16, elemShape(2), []float16.Float16{float16.Fromfloat32(3), float16.Fromfloat32(-4)})
	elemExpect(t, elemOne(t, elemNode{op: "Relu", inputs: []*tensor.Tensor{h}}), tensor.Float16, elemShape(2), []float16.Float16{float16.Fromfloat32(1.5), 0})
}

func TestBitwise(t *testing.T) {
	a := &tensor.Tensor{Type: tensor.Uint8, Shape: elemShape(3), Data: []uint8{0b1100, 0b1010, 255}}
	b := &tensor.Tensor{Type: tensor.Uint8, Shape: elemShape(), Data: []uint8{0b0110}}
	elemExpect(t, elemOne(t, elemNode{op: "BitwiseAnd", opset: 18, inputs: []*tensor.Tensor{a, b}}), tensor.Uint8, elemShape(3), []uint8{0b0100, 0b0010, 0b0110})
	elemExpect(t, elemOne(t, elemNode{op: "BitwiseOr", opset: 18, inputs: []*tensor.Tensor{a, b}}), tensor.Uint8, elemShape(3), []uint8{0b1110, 0b1110, 255})
	elemExpect(t, elemOne(t, elemNode{op: "BitwiseXor", opset: 18, inputs: []*tensor.Tensor{a, b}}), tensor.Uint8, elemShape(3), []uint8{0b1010, 0b1100, 0b11111001})
	elemExpect(t, elemOne(t, elemNode{op: "BitwiseNot", opset: 18, inputs: []*tensor.Tensor{a}}), tensor.Uint8, elemShape(3), []uint8{0b11110011, 0b11110101, 0})
	s := &tensor.Tensor{Type: tensor.Int32, Shape: elemShape(2), Data: []int32{-8, 5}}
	elemExpect(t, elemOne(t, elemNode{op: "BitwiseNot", opset: 18, inputs: []*tensor.Tensor{s}}), tensor.Int32, elemShape(2), []int32{7, -6})
	elemExpect(t, elemOne(t, elemNode{op: "BitShift", attrs: []*elemAttr{elemStr("direction", "LEFT")}, inputs: []*tensor.Tensor{a, b}}), tensor.Uint8, elemShape(3), []uint8{0, 128, 192})
	elemFails(t, elemNode{op: "BitwiseAnd", opset: 18, inputs: []*tensor.Tensor{elemF32(elemShape(1), 1), elemF32(elemShape(1), 1)}}, "not supported")
}

// pySlice lists the indices Python's range(*slice(start, stop, step).indices(n))
// visits: the reference for ONNX Slice's clamping rules, with one
// difference the ONNX spec text (and ONNX Runtime) make: with a negative
// step, a start before the first element is clamped to 0 rather than
// selecting nothing.
func pySlice(start, stop, step, n int64) []int64 {
	if step < 0 && start < 0 && start+n < 0 {
		start = 0
	}
	lower, upper := int64(0), n
	if step < 0 {
		lower, upper = -1, n-1
	}
	clamp := func(v int64) int64 {
		if v < 0 {
			v += n
			if v < lower {
				v = lower
			}
		} else if v > upper {
			v = upper
		}
		return v
	}
	s, e := clamp(start), clamp(stop)
	var out []int64
	for i := s; (step > 0 && i < e) || (step < 0 && i > e); i += step {
		out = append(out, i)
		if (step > 0 && i > math.MaxInt64-step) || (step < 0 && i < math.MinInt64-step) {
			break // the next index would overflow: it is past the end anyway
		}
	}
	return out
}

func TestSliceAgainstPython(t *testing.T) {
	x := elemF32(elemShape(4, 5), elemIota(20)...)
	vals := []int64{-100, -6, -5, -2, -1, 0, 1, 2, 4, 5, 7, math.MaxInt64, math.MinInt64}
	steps := []int64{1, 2, 3, -1, -2, -4, math.MaxInt64, math.MinInt64}
	r := rand.New(rand.NewPCG(3, 4))
	for range 400 {
		s0, e0, st0 := vals[r.IntN(len(vals))], vals[r.IntN(len(vals))], steps[r.IntN(len(steps))]
		s1, e1, st1 := vals[r.IntN(len(vals))], vals[r.IntN(len(vals))], steps[r.IntN(len(steps))]
		// Axes given in reverse order, negative.
		got := elemOne(t, elemNode{op: "Slice", opset: 13, inputs: []*tensor.Tensor{x,
			elemI64(elemShape(2), s1, s0), elemI64(elemShape(2), e1, e0), elemI64(elemShape(2), -1, 0), elemI64(elemShape(2), st1, st0)}})
		rows, cols := pySlice(s0, e0, st0, 4), pySlice(s1, e1, st1, 5)
		want := []float32{}
		for _, i := range rows {
			for _, j := range cols {
				want = append(want, float32(i*5+j))
			}
		}
		if !slices.Equal(got.Shape, []int64{int64(len(rows)), int64(len(cols))}) || !slices.Equal(got.Data.([]float32), want) {
			t.Fatalf("slice [%d:%d:%d, %d:%d:%d]: got %v %v, want %v", s0, e0, st0, s1, e1, st1, got.Shape, got.Data, want)
		}
	}
	// Opset 1-9: attributes, no steps.
	got := elemOne(t, elemNode{op: "Slice", opset: 9, attrs: []*elemAttr{elemInts("starts", 1), elemInts("ends", -1), elemInts("axes", 1)}, inputs: []*tensor.Tensor{x}})
	elemExpect(t, got, tensor.Float, elemShape(4, 3), []float32{1, 2, 3, 6, 7, 8, 11, 12, 13, 16, 17, 18})
	elemFails(t, elemNode{op: "Slice", opset: 13, inputs: []*tensor.Tensor{x, elemI64(elemShape(1), 0), elemI64(elemShape(1), 2), elemI64(elemShape(1), 0), elemI64(elemShape(1), 0)}}, "step 0")
	elemFails(t, elemNode{op: "Slice", opset: 13, inputs: []*tensor.Tensor{x, elemI64(elemShape(1), 0), elemI64(elemShape(1), 2), elemI64(elemShape(1), 2)}}, "out of range")
}

func TestPadModes(t *testing.T) {
	x := elemF32(elemShape(4), 1, 2, 3, 4)
	pads := elemI64(elemShape(2), 3, 2)
	for mode, want := range map[string][]float32{
		"reflect":  {4, 3, 2, 1, 2, 3, 4, 3, 2},
		"edge":     {1, 1, 1, 1, 2, 3, 4, 4, 4},
		"wrap":     {2, 3, 4, 1, 2, 3, 4, 1, 2},
		"constant": {9, 9, 9, 1, 2, 3, 4, 9, 9},
	} {
		got := elemOne(t, elemNode{op: "Pad", opset: 19, attrs: []*elemAttr{elemStr("mode", mode)}, inputs: []*tensor.Tensor{x, pads, elemF32(elemShape(), 9)}})
		elemExpect(t, got, tensor.Float, elemShape(9), want)
	}
	// Reflection farther than the axis is long keeps bouncing (numpy).
	got := elemOne(t, elemNode{op: "Pad", attrs: []*elemAttr{elemStr("mode", "reflect")}, inputs: []*tensor.Tensor{elemF32(elemShape(3), 1, 2, 3), elemI64(elemShape(2), 5, 4)}})
	elemExpect(t, got, tensor.Float, elemShape(12), []float32{2, 1, 2, 3, 2, 1, 2, 3, 2, 1, 2, 3})
	// 2-D reflect: np.pad(arange(6).reshape(2,3), ((1,0),(2,1)), 'reflect').
	x2 := elemF32(elemShape(2, 3), elemIota(6)...)
	got = elemOne(t, elemNode{op: "Pad", attrs: []*elemAttr{elemStr("mode", "reflect")}, inputs: []*tensor.Tensor{x2, elemI64(elemShape(4), 1, 2, 0, 1)}})
	elemExpect(t, got, tensor.Float, elemShape(3, 6), []float32{5, 4, 3, 4, 5, 4, 2, 1, 0, 1, 2, 1, 5, 4, 3, 4, 5, 4})
	// Negative pads crop; opset 18 axes input pads only axis 1.
	got = elemOne(t, elemNode{op: "Pad", opset: 18, inputs: []*tensor.Tensor{x2, elemI64(elemShape(2), -1, 1), nil, elemI64(elemShape(1), -1)}})
	elemExpect(t, got, tensor.Float, elemShape(2, 3), []float32{1, 2, 0, 4, 5, 0})
	// Opset 2: pads and value as attributes.
	got = elemOne(t, elemNode{op: "Pad", opset: 2, attrs: []*elemAttr{elemInts("pads", 0, 1, 0, 0), elemFloat("value", -1)}, inputs: []*tensor.Tensor{x2}})
	elemExpect(t, got, tensor.Float, elemShape(2, 4), []float32{-1, 0, 1, 2, -1, 3, 4, 5})
	elemFails(t, elemNode{op: "Pad", inputs: []*tensor.Tensor{x2, elemI64(elemShape(2), 1, 1)}}, "pads")
	elemFails(t, elemNode{op: "Pad", inputs: []*tensor.Tensor{x2, elemI64(elemShape(4), 0, 1<<40, 0, 1<<40)}}, "over the limit")
}

func TestReshapeFamily(t *testing.T) {
	x := elemF32(elemShape(2, 3, 4), elemIota(24)...)
	shapeOf := func(nd elemNode) []int64 { return elemOne(t, nd).Shape }
	if s := shapeOf(elemNode{op: "Reshape", inputs: []*tensor.Tensor{x, elemI64(elemShape(3), 0, -1, 2)}}); !slices.Equal(s, []int64{2, 6, 2}) {
		t.Fatalf("Reshape 0,-1,2: %v", s)
	}
	// allowzero=1 keeps a literal 0: only valid for an empty input.
	empty := elemF32(elemShape(0, 3))
	if s := shapeOf(elemNode{op: "Reshape", opset: 14, attrs: []*elemAttr{elemInt("allowzero", 1)}, inputs: []*tensor.Tensor{empty, elemI64(elemShape(2), 3, 0)}}); !slices.Equal(s, []int64{3, 0}) {
		t.Fatalf("Reshape allowzero: %v", s)
	}
	elemFails(t, elemNode{op: "Reshape", inputs: []*tensor.Tensor{x, elemI64(elemShape(2), 5, -1)}}, "cannot reshape")
	elemFails(t, elemNode{op: "Reshape", inputs: []*tensor.Tensor{x, elemI64(elemShape(2), -1, -1)}}, "more than one -1")
	elemFails(t, elemNode{op: "Reshape", inputs: []*tensor.Tensor{x, elemI64(elemShape(2), 7, 7)}}, "cannot reshape")
	if s := shapeOf(elemNode{op: "Flatten", attrs: []*elemAttr{elemInt("axis", -1)}, inputs: []*tensor.Tensor{x}}); !slices.Equal(s, []int64{6, 4}) {
		t.Fatalf("Flatten: %v", s)
	}
	one := elemF32(elemShape(1, 3, 1), 1, 2, 3)
	if s := shapeOf(elemNode{op: "Squeeze", opset: 11, inputs: []*tensor.Tensor{one}}); !slices.Equal(s, []int64{3}) {
		t.Fatalf("Squeeze all: %v", s)
	}
	if s := shapeOf(elemNode{op: "Squeeze", opset: 11, attrs: []*elemAttr{elemInts("axes", -1)}, inputs: []*tensor.Tensor{one}}); !slices.Equal(s, []int64{1, 3}) {
		t.Fatalf("Squeeze attr: %v", s)
	}
	if s := shapeOf(elemNode{op: "Squeeze", opset: 13, inputs: []*tensor.Tensor{one, elemI64(elemShape(1), 0)}}); !slices.Equal(s, []int64{3, 1}) {
		t.Fatalf("Squeeze input: %v", s)
	}
	elemFails(t, elemNode{op: "Squeeze", opset: 13, inputs: []*tensor.Tensor{one, elemI64(elemShape(1), 1)}}, "cannot squeeze")
	if s := shapeOf(elemNode{op: "Unsqueeze", opset: 11, attrs: []*elemAttr{elemInts("axes", 0, -1)}, inputs: []*tensor.Tensor{one}}); !slices.Equal(s, []int64{1, 1, 3, 1, 1}) {
		t.Fatalf("Unsqueeze attr: %v", s)
	}
	if s := shapeOf(elemNode{op: "Unsqueeze", opset: 13, inputs: []*tensor.Tensor{elemF32(elemShape(), 1), elemI64(elemShape(1), 0)}}); !slices.Equal(s, []int64{1}) {
		t.Fatalf("Unsqueeze scalar: %v", s)
	}
	elemFails(t, elemNode{op: "Unsqueeze", opset: 13, inputs: []*tensor.Tensor{one, elemI64(elemShape(2), 1, 1)}}, "repeated")
}

// TestTransposeRandom compares Transpose with a textbook index mapping.
func TestTransposeRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for range 100 {
		rank := 1 + r.IntN(5)
		s := randShape(r, rank)
		perm := r.Perm(rank)
		p64 := make([]int64, rank)
		for i, p := range perm {
			p64[i] = int64(p)
		}
		x := elemF32(elemShape(s...), elemIota(int(prod(s)))...)
		got := elemOne(t, elemNode{op: "Transpose", attrs: []*elemAttr{elemInts("perm", p64...)}, inputs: []*tensor.Tensor{x}})
		out := make([]int64, rank)
		for i, p := range perm {
			out[i] = s[p]
		}
		if !slices.Equal(got.Shape, out) {
			t.Fatalf("perm %v of %v: shape %v", perm, s, got.Shape)
		}
		inStr := rowMajor(s)
		for i, v := range got.Data.([]float32) {
			rem, src := i, 0
			for j := rank - 1; j >= 0; j-- {
				src += (rem % int(out[j])) * inStr[perm[j]]
				rem /= int(out[j])
			}
			if int(v) != src {
				t.Fatalf("perm %v of %v: element %d = %v, want %d", perm, s, i, v, src)
			}
		}
	}
}

func TestSplitConcat(t *testing.T) {
	x := elemF32(elemShape(5, 2), elemIota(10)...)
	// Opset 18 num_outputs: ceil(5/3) = 2, so parts 2, 2, 1.
	outs, err := elemRun(t, elemNode{op: "Split", opset: 18, outputs: 3, attrs: []*elemAttr{elemInt("num_outputs", 3)}, inputs: []*tensor.Tensor{x}})
	if err != nil {
		t.Fatal(err)
	}
	elemExpect(t, outs[0], tensor.Float, elemShape(2, 2), []float32{0, 1, 2, 3})
	elemExpect(t, outs[2], tensor.Float, elemShape(1, 2), []float32{8, 9})
	// Opset 11 split attribute along axis 1.
	outs, err = elemRun(t, elemNode{op: "Split", opset: 11, outputs: 2, attrs: []*elemAttr{elemInt("axis", -1), elemInts("split", 1, 1)}, inputs: []*tensor.Tensor{x}})
	if err != nil {
		t.Fatal(err)
	}
	elemExpect(t, outs[1], tensor.Float, elemShape(5, 1), []float32{1, 3, 5, 7, 9})
	_, err = elemRun(t, elemNode{op: "Split", opset: 13, outputs: 2, inputs: []*tensor.Tensor{x}})
	if err == nil {
		t.Fatal("uneven split without sizes: no error")
	}
	elemFails(t, elemNode{op: "Split", opset: 13, outputs: 2, inputs: []*tensor.Tensor{x, elemI64(elemShape(2), 2, 2)}}, "does not add up")
	got := elemOne(t, elemNode{op: "Concat", attrs: []*elemAttr{elemInt("axis", -1)}, inputs: []*tensor.Tensor{
		elemF32(elemShape(2, 1), 1, 2), elemF32(elemShape(2, 0)), elemF32(elemShape(2, 2), 3, 4, 5, 6)}})
	elemExpect(t, got, tensor.Float, elemShape(2, 3), []float32{1, 3, 4, 2, 5, 6})
	elemFails(t, elemNode{op: "Concat", attrs: []*elemAttr{elemInt("axis", 0)}, inputs: []*tensor.Tensor{elemF32(elemShape(2, 1), 1, 2), elemF32(elemShape(2), 1, 2)}}, "rank")
	elemFails(t, elemNode{op: "Concat", attrs: []*elemAttr{elemInt("axis", 0)}, inputs: []*tensor.Tensor{elemF32(elemShape(2, 1), 1, 2), elemF32(elemShape(1, 2), 1, 2)}}, "shape")
}

func TestGatherScatter(t *testing.T) {
	x := elemF32(elemShape(3, 2), 1, 2, 3, 4, 5, 6)
	got := elemOne(t, elemNode{op: "Gather", attrs: []*elemAttr{elemInt("axis", 1)}, inputs: []*tensor.Tensor{x, elemI64(elemShape(2, 1), -1, 0)}})
	elemExpect(t, got, tensor.Float, elemShape(3, 2, 1), []float32{2, 1, 4, 3, 6, 5})
	elemFails(t, elemNode{op: "Gather", inputs: []*tensor.Tensor{x, elemI64(elemShape(1), 3)}}, "out of range")
	elemFails(t, elemNode{op: "Gather", inputs: []*tensor.Tensor{x, elemI64(elemShape(1), -4)}}, "out of range")
	elemFails(t, elemNode{op: "GatherElements", inputs: []*tensor.Tensor{x, elemI64(elemShape(1, 2), 0, 5)}}, "out of range")
	// GatherND with batch_dims=1: data [2,2,2], indices [2,1] -> rows.
	d := elemF32(elemShape(2, 2, 2), elemIota(8)...)
	got = elemOne(t, elemNode{op: "GatherND", attrs: []*elemAttr{elemInt("batch_dims", 1)}, inputs: []*tensor.Tensor{d, elemI64(elemShape(2, 1), 1, 0)}})
	elemExpect(t, got, tensor.Float, elemShape(2, 2), []float32{2, 3, 4, 5})
	elemFails(t, elemNode{op: "GatherND", inputs: []*tensor.Tensor{d, elemI64(elemShape(1, 4), 0, 0, 0, 0)}}, "does not fit")
	// ScatterElements with max reduction (opset 18), duplicate indices.
	got = elemOne(t, elemNode{op: "ScatterElements", opset: 18, attrs: []*elemAttr{elemStr("reduction", "max")},
		inputs: []*tensor.Tensor{elemF32(elemShape(4), 1, 5, 1, 1), elemI64(elemShape(3), 1, 1, 3), elemF32(elemShape(3), 7, 9, -1)}})
	elemExpect(t, got, tensor.Float, elemShape(4), []float32{1, 9, 1, 1})
	// ScatterND multiply with row updates.
	got = elemOne(t, elemNode{op: "ScatterND", opset: 16, attrs: []*elemAttr{elemStr("reduction", "mul")},
		inputs: []*tensor.Tensor{x, elemI64(elemShape(2, 1), 2, 2), elemF32(elemShape(2, 2), 2, 3, 10, 10)}})
	elemExpect(t, got, tensor.Float, elemShape(3, 2), []float32{1, 2, 3, 4, 100, 180})
	elemFails(t, elemNode{op: "ScatterND", inputs: []*tensor.Tensor{x, elemI64(elemShape(1, 1), 0), elemF32(elemShape(3), 1, 2, 3)}}, "updates")
}

func TestReductions(t *testing.T) {
	y := make([]float32, 24)
	for i := range y {
		y[i] = float32(i)*0.5 - 3
	}
	x := elemF32(elemShape(2, 3, 4), y...)
	// Non-adjacent axes (0, 2), both as attribute (opset 13) and input (18).
	got := elemOne(t, elemNode{op: "ReduceMean", opset: 13, attrs: []*elemAttr{elemInts("axes", 0, -1), elemInt("keepdims", 0)}, inputs: []*tensor.Tensor{x}})
	elemExpect(t, got, tensor.Float, elemShape(3), []float32{0.75, 2.75, 4.75})
	got = elemOne(t, elemNode{op: "ReduceL2", opset: 18, inputs: []*tensor.Tensor{x, elemI64(elemShape(2), 2, 0)}})
	elemExpect(t, got, tensor.Float, elemShape(1, 3, 1), []float32{8.88819408416748, 11.618949890136719, 15.968719482421875})
	got = elemOne(t, elemNode{op: "ReduceLogSumExp", opset: 18, attrs: []*elemAttr{elemInt("keepdims", 0)}, inputs: []*tensor.Tensor{x, elemI64(elemShape(1), 1)}})
	elemExpect(t, got, tensor.Float, elemShape(2, 4), []float32{1.1429316284998996, 1.6429316284998996, 2.1429316284998996, 2.6429316284998996, 7.142931628499899, 7.642931628499899, 8.1429316284999, 8.6429316284999})
	// Empty axes: all axes, or a copy with noop_with_empty_axes.
	got = elemOne(t, elemNode{op: "ReduceMax", opset: 18, inputs: []*tensor.Tensor{x, elemI64(elemShape(0))}})
	elemExpect(t, got, tensor.Float, elemShape(1, 1, 1), []float32{8.5})
	got = elemOne(t, elemNode{op: "ReduceSum", opset: 13, attrs: []*elemAttr{elemInt("noop_with_empty_axes", 1)}, inputs: []*tensor.Tensor{x, elemI64(elemShape(0))}})
	elemExpect(t, got, tensor.Float, elemShape(2, 3, 4), y)
	got = elemOne(t, elemNode{op: "ReduceMin", opset: 18, attrs: []*elemAttr{elemInt("noop_with_empty_axes", 1)}, inputs: []*tensor.Tensor{x}})
	elemExpect(t, got, tensor.Float, elemShape(2, 3, 4), y)
	// Integer ReduceSum and ReduceProd stay in the integer type.
	xi := &tensor.Tensor{Type: tensor.Int32, Shape: elemShape(2, 2), Data: []int32{3, -4, 5, 6}}
	got = elemOne(t, elemNode{op: "ReduceProd", opset: 11, attrs: []*elemAttr{elemInts("axes", 1)}, inputs: []*tensor.Tensor{xi}})
	elemExpect(t, got, tensor.Int32, elemShape(2, 1), []int32{-12, 30})
	elemFails(t, elemNode{op: "ReduceSum", opset: 13, inputs: []*tensor.Tensor{x, elemI64(elemShape(1), 3)}}, "out of range")
	// Softmax: opset 11 coerces to 2-D at axis 1, opset 13 works along the axis.
	s := elemF32(elemShape(2, 2, 2), 1, 2, 3, 5, 0.5, -1, 2, 2)
	got = elemOne(t, elemNode{op: "Softmax", opset: 11, inputs: []*tensor.Tensor{s}})
	elemExpect(t, got, tensor.Float, elemShape(2, 2, 2), []float32{0.015219428576529026, 0.0413706935942173, 0.11245720833539963, 0.8309526443481445, 0.09816905856132507, 0.0219044778496027, 0.4399632215499878, 0.4399632215499878})
	got = elemOne(t, elemNode{op: "Softmax", opset: 13, attrs: []*elemAttr{elemInt("axis", 1)}, inputs: []*tensor.Tensor{s}})
	elemExpect(t, got, tensor.Float, elemShape(2, 2, 2), []float32{0.11920291930437088, 0.04742587357759476, 0.8807970285415649, 0.9525741338729858, 0.18242552876472473, 0.04742587357759476, 0.8175745010375977, 0.9525741338729858})
	got = elemOne(t, elemNode{op: "LogSoftmax", opset: 13, attrs: []*elemAttr{elemInt("axis", 0)}, inputs: []*tensor.Tensor{s}})
	elemExpect(t, got, tensor.Float, elemShape(2, 2, 2), []float32{-0.47407698418010663, -0.04858735157374191, -0.3132616875182228, -0.04858735157374191, -0.9740769841801066, -3.048587351573742, -1.3132616875182228, -3.048587351573742})
	got = elemOne(t, elemNode{op: "Hardmax", opset: 13, attrs: []*elemAttr{elemInt("axis", 1)}, inputs: []*tensor.Tensor{s}})
	elemExpect(t, got, tensor.Float, elemShape(2, 2, 2), []float32{0, 0, 1, 1, 0, 0, 1, 1})
	// ArgMax ties: first or last index.
	a := elemF32(elemShape(2, 3), 1, 3, 3, 2, 2, 0)
	got = elemOne(t, elemNode{op: "ArgMax", attrs: []*elemAttr{elemInt("axis", 1), elemInt("keepdims", 0)}, inputs: []*tensor.Tensor{a}})
	elemExpect(t, got, tensor.Int64, elemShape(2), []int64{1, 0})
	got = elemOne(t, elemNode{op: "ArgMax", attrs: []*elemAttr{elemInt("axis", 1), elemInt("select_last_index", 1)}, inputs: []*tensor.Tensor{a}})
	elemExpect(t, got, tensor.Int64, elemShape(2, 1), []int64{2, 1})
	// TopK ties go to the lower index, smallest and largest.
	outs, err := elemRun(t, elemNode{op: "TopK", outputs: 2, inputs: []*tensor.Tensor{a, elemI64(elemShape(1), 2)}})
	if err != nil {
		t.Fatal(err)
	}
	elemExpect(t, outs[0], tensor.Float, elemShape(2, 2), []float32{3, 3, 2, 2})
	elemExpect(t, outs[1], tensor.Int64, elemShape(2, 2), []int64{1, 2, 0, 1})
	outs, err = elemRun(t, elemNode{op: "TopK", outputs: 2, attrs: []*elemAttr{elemInt("largest", 0), elemInt("axis", 0)}, inputs: []*tensor.Tensor{a, elemI64(elemShape(1), 1)}})
	if err != nil {
		t.Fatal(err)
	}
	elemExpect(t, outs[1], tensor.Int64, elemShape(1, 3), []int64{0, 1, 1})
	elemFails(t, elemNode{op: "TopK", outputs: 2, inputs: []*tensor.Tensor{a, elemI64(elemShape(1), 4)}}, "out of range")
	// CumSum reverse exclusive along axis 0.
	got = elemOne(t, elemNode{op: "CumSum", attrs: []*elemAttr{elemInt("exclusive", 1), elemInt("reverse", 1)}, inputs: []*tensor.Tensor{a, elemI64(elemShape(), 0)}})
	elemExpect(t, got, tensor.Float, elemShape(2, 3), []float32{2, 2, 0, 0, 0, 0})
}

func TestCast(t *testing.T) {
	x := elemF32(elemShape(6), -2.7, -0.5, 0, 0.5, 3.9, 1e10)
	got := elemOne(t, elemNode{op: "Cast", attrs: []*elemAttr{elemInt("to", int64(tensor.Int32))}, inputs: []*tensor.Tensor{x}})
	elemExpect(t, got.Clone(), tensor.Int32, elemShape(6), got.Data) // type and shape
	if v := got.Data.([]int32)[:5]; !slices.Equal(v, []int32{-2, 0, 0, 0, 3}) {
		t.Fatalf("float to int32 truncates toward zero: %v", v)
	}
	got = elemOne(t, elemNode{op: "Cast", attrs: []*elemAttr{elemInt("to", int64(tensor.Bool))}, inputs: []*tensor.Tensor{x}})
	elemExpect(t, got, tensor.Bool, elemShape(6), []bool{true, true, false, true, true, true})
	b := &tensor.Tensor{Type: tensor.Bool, Shape: elemShape(2), Data: []bool{true, false}}
	got = elemOne(t, elemNode{op: "Cast", attrs: []*elemAttr{elemInt("to", int64(tensor.Double))}, inputs: []*tensor.Tensor{b}})
	elemExpect(t, got, tensor.Double, elemShape(2), []float64{1, 0})
	// bfloat16 rounds to nearest even: 0x3F808000 is halfway between
	// 0x3F80 and 0x3F81 and goes to the even 0x3F80; 0x3F818000 to 0x3F82.
	h := elemF32(elemShape(3), math.Float32frombits(0x3F808000), math.Float32frombits(0x3F818000), math.Float32frombits(0x3F808001))
	got = elemOne(t, elemNode{op: "Cast", attrs: []*elemAttr{elemInt("to", int64(tensor.BFloat16T))}, inputs: []*tensor.Tensor{h}})
	elemExpect(t, got, tensor.BFloat16T, elemShape(3), []tensor.BFloat16{0x3F80, 0x3F82, 0x3F81})
	got = elemOne(t, elemNode{op: "Cast", attrs: []*elemAttr{elemInt("to", int64(tensor.Float))}, inputs: []*tensor.Tensor{got}})
	elemExpect(t, got, tensor.Float, elemShape(3), []float32{1, 1.015625, 1.0078125})
	// Strings both ways.
	s := &tensor.Tensor{Type: tensor.String, Shape: elemShape(4), Data: [][]byte{[]byte("1.5"), []byte("-INF"), []byte("NaN"), []byte("1e-3")}}
	got = elemOne(t, elemNode{op: "Cast", attrs: []*elemAttr{elemInt("to", int64(tensor.Float))}, inputs: []*tensor.Tensor{s}})
	elemExpect(t, got, tensor.Float, elemShape(4), []float32{1.5, float32(math.Inf(-1)), float32(math.NaN()), 0.001})
	got = elemOne(t, elemNode{op: "Cast", attrs: []*elemAttr{elemInt("to", int64(tensor.String))}, inputs: []*tensor.Tensor{got}})
	elemExpect(t, got, tensor.String, elemShape(4), [][]byte{[]byte("1.5"), []byte("-INF"), []byte("NaN"), []byte("0.001")})
	third := &tensor.Tensor{Type: tensor.Double, Shape: elemShape(2), Data: []float64{1.0 / 3, -2e-7}}
	got = elemOne(t, elemNode{op: "Cast", attrs: []*elemAttr{elemInt("to", int64(tensor.String))}, inputs: []*tensor.Tensor{third}})
	elemExpect(t, got, tensor.String, elemShape(2), [][]byte{[]byte("0.3333333333333333"), []byte("-2e-07")})
	got = elemOne(t, elemNode{op: "CastLike", inputs: []*tensor.Tensor{elemI64(elemShape(1), 9007199254740993), &tensor.Tensor{Type: tensor.String, Shape: elemShape(0), Data: [][]byte{}}}})
	elemExpect(t, got, tensor.String, elemShape(1), [][]byte{[]byte("9007199254740993")})
	elemFails(t, elemNode{op: "Cast", attrs: []*elemAttr{elemInt("to", int64(tensor.Float))}, inputs: []*tensor.Tensor{{Type: tensor.String, Shape: elemShape(1), Data: [][]byte{[]byte("abc")}}}}, "parse")
}

func TestMiscOps(t *testing.T) {
	x := elemF32(elemShape(2, 3, 4), elemIota(24)...)
	got := elemOne(t, elemNode{op: "Shape", opset: 15, attrs: []*elemAttr{elemInt("start", -2), elemInt("end", 10)}, inputs: []*tensor.Tensor{x}})
	elemExpect(t, got, tensor.Int64, elemShape(2), []int64{3, 4})
	got = elemOne(t, elemNode{op: "Size", inputs: []*tensor.Tensor{x}})
	elemExpect(t, got, tensor.Int64, elemShape(), []int64{24})
	got = elemOne(t, elemNode{op: "Range", inputs: []*tensor.Tensor{elemI64(elemShape(), 10), elemI64(elemShape(), 1), elemI64(elemShape(), -4)}})
	elemExpect(t, got, tensor.Int64, elemShape(3), []int64{10, 6, 2})
	got = elemOne(t, elemNode{op: "Range", inputs: []*tensor.Tensor{elemF32(elemShape(), 1), elemF32(elemShape(), 2), elemF32(elemShape(), 0.3)}})
	elemExpect(t, got, tensor.Float, elemShape(4), []float32{1, 1.3, 1.6, 1.9})
	got = elemOne(t, elemNode{op: "ConstantOfShape", attrs: []*elemAttr{elemTensorAttr(t, "value", elemI64(elemShape(1), 7))}, inputs: []*tensor.Tensor{elemI64(elemShape(2), 2, 1)}})
	elemExpect(t, got, tensor.Int64, elemShape(2, 1), []int64{7, 7})
	got = elemOne(t, elemNode{op: "ConstantOfShape", inputs: []*tensor.Tensor{elemI64(elemShape(0))}})
	elemExpect(t, got, tensor.Float, elemShape(), []float32{0})
	got = elemOne(t, elemNode{op: "EyeLike", attrs: []*elemAttr{elemInt("k", -1), elemInt("dtype", int64(tensor.Int32))}, inputs: []*tensor.Tensor{elemF32(elemShape(3, 2), make([]float32, 6)...)}})
	elemExpect(t, got, tensor.Int32, elemShape(3, 2), []int32{0, 0, 1, 0, 0, 1})
	got = elemOne(t, elemNode{op: "OneHot", attrs: []*elemAttr{elemInt("axis", 0)}, inputs: []*tensor.Tensor{elemF32(elemShape(2), 1.7, -1), elemI64(elemShape(), 3), elemF32(elemShape(2), -1, 5)}})
	elemExpect(t, got, tensor.Float, elemShape(3, 2), []float32{-1, -1, 5, -1, -1, 5})
	got = elemOne(t, elemNode{op: "Trilu", attrs: []*elemAttr{elemInt("upper", 0)}, inputs: []*tensor.Tensor{elemF32(elemShape(2, 3), 1, 2, 3, 4, 5, 6), elemI64(elemShape(), 1)}})
	elemExpect(t, got, tensor.Float, elemShape(2, 3), []float32{1, 2, 0, 4, 5, 6})
	got = elemOne(t, elemNode{op: "NonZero", inputs: []*tensor.Tensor{elemF32(elemShape(2, 2), 0, 3, float32(math.NaN()), 0)}})
	elemExpect(t, got, tensor.Int64, elemShape(2, 2), []int64{0, 1, 1, 0})
	got = elemOne(t, elemNode{op: "Tile", inputs: []*tensor.Tensor{elemF32(elemShape(2, 1), 1, 2), elemI64(elemShape(2), 2, 3)}})
	elemExpect(t, got, tensor.Float, elemShape(4, 3), []float32{1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2})
	got = elemOne(t, elemNode{op: "Expand", inputs: []*tensor.Tensor{elemF32(elemShape(2, 1), 1, 2), elemI64(elemShape(3), 2, 1, 3)}})
	elemExpect(t, got, tensor.Float, elemShape(2, 2, 3), []float32{1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2})
	// DepthToSpace and SpaceToDepth invert each other in CRD mode too.
	d := elemF32(elemShape(1, 8, 2, 3), elemIota(48)...)
	for _, mode := range []string{"DCR", "CRD"} {
		up := elemOne(t, elemNode{op: "DepthToSpace", attrs: []*elemAttr{elemInt("blocksize", 2), elemStr("mode", mode)}, inputs: []*tensor.Tensor{d}})
		if !slices.Equal(up.Shape, []int64{1, 2, 4, 6}) {
			t.Fatalf("DepthToSpace %s: shape %v", mode, up.Shape)
		}
		if mode == "DCR" {
			back := elemOne(t, elemNode{op: "SpaceToDepth", attrs: []*elemAttr{elemInt("blocksize", 2)}, inputs: []*tensor.Tensor{up}})
			elemExpect(t, back, tensor.Float, d.Shape, d.Data)
		}
	}
	// Dropout in inference mode with a mask.
	outs, err := elemRun(t, elemNode{op: "Dropout", opset: 13, outputs: 2, inputs: []*tensor.Tensor{elemF32(elemShape(2), 1, 2), elemF32(elemShape(), 0.3)}})
	if err != nil {
		t.Fatal(err)
	}
	elemExpect(t, outs[0], tensor.Float, elemShape(2), []float32{1, 2})
	elemExpect(t, outs[1], tensor.Bool, elemShape(2), []bool{true, true})
	// Constant flavours.
	got = elemOne(t, elemNode{op: "Constant", attrs: []*elemAttr{elemInts("value_ints", 4, 5)}})
	elemExpect(t, got, tensor.Int64, elemShape(2), []int64{4, 5})
	got = elemOne(t, elemNode{op: "Constant", attrs: []*elemAttr{elemFloat("value_float", 2.5)}})
	elemExpect(t, got, tensor.Float, elemShape(), []float32{2.5})
	got = elemOne(t, elemNode{op: "Equal", opset: 19, inputs: []*tensor.Tensor{
		{Type: tensor.String, Shape: elemShape(2), Data: [][]byte{[]byte("a"), []byte("b")}},
		{Type: tensor.String, Shape: elemShape(), Data: [][]byte{[]byte("b")}}}})
	elemExpect(t, got, tensor.Bool, elemShape(2), []bool{false, true})
}

// TestHostileSizes checks that absurd output sizes are refused with an
// error naming the node instead of allocating or panicking.
func TestHostileSizes(t *testing.T) {
	big := elemI64(elemShape(3), 1<<20, 1<<20, 1<<20)
	elemFails(t, elemNode{op: "ConstantOfShape", inputs: []*tensor.Tensor{big}}, "over the limit")
	elemFails(t, elemNode{op: "ConstantOfShape", inputs: []*tensor.Tensor{elemI64(elemShape(3), math.MaxInt64, math.MaxInt64, 2)}}, "overflows")
	elemFails(t, elemNode{op: "ConstantOfShape", inputs: []*tensor.Tensor{elemI64(elemShape(1), -1)}}, "negative")
	elemFails(t, elemNode{op: "Expand", inputs: []*tensor.Tensor{elemF32(elemShape(1), 1), big}}, "over the limit")
	elemFails(t, elemNode{op: "Tile", inputs: []*tensor.Tensor{elemF32(elemShape(2), 1, 2), elemI64(elemShape(1), math.MaxInt64)}}, "overflow")
	elemFails(t, elemNode{op: "Tile", inputs: []*tensor.Tensor{elemF32(elemShape(2), 1, 2), elemI64(elemShape(1), 1<<40)}}, "over the limit")
	elemFails(t, elemNode{op: "Range", inputs: []*tensor.Tensor{elemI64(elemShape(), math.MinInt64), elemI64(elemShape(), math.MaxInt64), elemI64(elemShape(), 1)}}, "over the limit")
	elemFails(t, elemNode{op: "Range", inputs: []*tensor.Tensor{elemF32(elemShape(), 0), elemF32(elemShape(), 1e30), elemF32(elemShape(), 1)}}, "over the limit")
	elemFails(t, elemNode{op: "Range", inputs: []*tensor.Tensor{elemF32(elemShape(), 0), elemF32(elemShape(), 1), elemF32(elemShape(), 0)}}, "zero")
	elemFails(t, elemNode{op: "OneHot", inputs: []*tensor.Tensor{elemI64(elemShape(2), 1, 2), elemI64(elemShape(), 1<<40), elemF32(elemShape(2), 0, 1)}}, "over the limit")
	elemFails(t, elemNode{op: "Reshape", inputs: []*tensor.Tensor{elemF32(elemShape(2), 1, 2), elemI64(elemShape(2), math.MaxInt64, 2)}}, "overflows")
	elemFails(t, elemNode{op: "Transpose", attrs: []*elemAttr{elemInts("perm", 0, 0)}, inputs: []*tensor.Tensor{elemF32(elemShape(1, 1), 1)}}, "repeated")
	elemFails(t, elemNode{op: "Transpose", attrs: []*elemAttr{elemInts("perm", 0)}, inputs: []*tensor.Tensor{elemF32(elemShape(1, 1), 1)}}, "perm")
	elemFails(t, elemNode{op: "Where", inputs: []*tensor.Tensor{elemF32(elemShape(1), 1), elemF32(elemShape(1), 1), elemF32(elemShape(1), 1)}}, "BOOL")
	elemFails(t, elemNode{op: "Pow", inputs: []*tensor.Tensor{elemF32(elemShape(2), 1, 2), elemF32(elemShape(3), 1, 2, 3)}}, "broadcastable")
	elemFails(t, elemNode{op: "DepthToSpace", attrs: []*elemAttr{elemInt("blocksize", 1<<32)}, inputs: []*tensor.Tensor{elemF32(elemShape(1, 4, 1, 1), 1, 2, 3, 4)}}, "blocksize")
	// Empty tensors may have enormous other dimensions: kernels must not
	// loop over or allocate for them.
	huge := elemF32(elemShape(1<<40, 1<<20, 0))
	for _, nd := range []elemNode{
		{op: "Softmax", inputs: []*tensor.Tensor{huge}},
		{op: "LogSoftmax", opset: 11, attrs: []*elemAttr{elemInt("axis", 2)}, inputs: []*tensor.Tensor{huge}},
		{op: "CumSum", inputs: []*tensor.Tensor{huge, elemI64(elemShape(), 2)}},
		{op: "TopK", inputs: []*tensor.Tensor{huge, elemI64(elemShape(1), 0)}},
		{op: "ArgMax", attrs: []*elemAttr{elemInt("axis", 1)}, inputs: []*tensor.Tensor{huge}},
		{op: "ReduceSum", opset: 13, inputs: []*tensor.Tensor{huge, elemI64(elemShape(1), 2)}},
		{op: "ReduceMax", opset: 13, attrs: []*elemAttr{elemInts("axes", 0)}, inputs: []*tensor.Tensor{huge}},
		{op: "Gather", inputs: []*tensor.Tensor{huge, elemI64(elemShape(2), 0, 1)}},
		{op: "Pad", inputs: []*tensor.Tensor{huge, elemI64(elemShape(6), 1, 1, 1, 1, 1, 1)}},
		{op: "Transpose", inputs: []*tensor.Tensor{huge}},
		{op: "Flatten", inputs: []*tensor.Tensor{huge}},
		{op: "Concat", attrs: []*elemAttr{elemInt("axis", 2)}, inputs: []*tensor.Tensor{huge, huge}},
		{op: "Tile", inputs: []*tensor.Tensor{huge, elemI64(elemShape(3), 1, 2, 3)}},
		{op: "EyeLike", inputs: []*tensor.Tensor{elemF32(elemShape(1<<40, 0))}},
	} {
		if _, err := elemRun(t, nd); err != nil && !strings.Contains(err.Error(), "limit") {
			t.Errorf("%s on an empty %v tensor: %v", nd.op, huge.Shape, err)
		}
	}
	elemFails(t, elemNode{op: "Gelu", opset: 20, attrs: []*elemAttr{elemStr("approximate", "fast")}, inputs: []*tensor.Tensor{elemF32(elemShape(1), 1)}}, "approximate")
}

func TestEinsum(t *testing.T) {
	a := &tensor.Tensor{Type: tensor.Double, Shape: elemShape(2, 2, 3), Data: []float64{-4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7}}
	b := &tensor.Tensor{Type: tensor.Double, Shape: elemShape(3, 2), Data: []float64{0, 0.5, 1, 1.5, 2, 2.5}}
	// Implicit output with an ellipsis (numpy: '...ij,jk' -> '...ik').
	got := elemOne(t, elemNode{op: "Einsum", attrs: []*elemAttr{elemStr("equation", "...ij,jk")}, inputs: []*tensor.Tensor{a, b}})
	elemExpect(t, got, tensor.Double, elemShape(2, 2, 2), []float64{-7, -11.5, 2, 2, 11, 15.5, 20, 29})
	m := &tensor.Tensor{Type: tensor.Int32, Shape: elemShape(3, 3), Data: []int32{0, 1, 2, 3, 4, 5, 6, 7, 8}}
	elemExpect(t, elemOne(t, elemNode{op: "Einsum", attrs: []*elemAttr{elemStr("equation", "ii")}, inputs: []*tensor.Tensor{m}}), tensor.Int32, elemShape(), []int32{12})
	elemExpect(t, elemOne(t, elemNode{op: "Einsum", attrs: []*elemAttr{elemStr("equation", "ij, ij -> i")}, inputs: []*tensor.Tensor{m, m}}), tensor.Int32, elemShape(3), []int32{5, 50, 149})
	elemExpect(t, elemOne(t, elemNode{op: "Einsum", attrs: []*elemAttr{elemStr("equation", "ba")}, inputs: []*tensor.Tensor{m}}), tensor.Int32, elemShape(3, 3), []int32{0, 3, 6, 1, 4, 7, 2, 5, 8})
	elemFails(t, elemNode{op: "Einsum", attrs: []*elemAttr{elemStr("equation", "ij,jk->ik")}, inputs: []*tensor.Tensor{m, b}}, "types")
	elemFails(t, elemNode{op: "Einsum", attrs: []*elemAttr{elemStr("equation", "ij,jk->ik")}, inputs: []*tensor.Tensor{b, b}}, "sizes")
	elemFails(t, elemNode{op: "Einsum", attrs: []*elemAttr{elemStr("equation", "ij->iz")}, inputs: []*tensor.Tensor{b}}, "no operand")
}
