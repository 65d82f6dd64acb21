package interp

// Quantized contrib ops of ONNX Runtime's com.microsoft domain (see
// onnxruntime docs/ContribOperators.md): QLinearAdd, QLinearMul,
// QLinearGlobalAveragePool, QLinearConcat, QGemm, QLinearSigmoid and
// QLinearLeakyRelu.
//
// These ops have no ONNX reference; ONNX Runtime's CPU kernels define them,
// and their requantization is float32 arithmetic whose exact sequence of
// roundings decides ties. The kernels below reproduce the sequence of the
// x86-64 AVX2 (FMA3) code paths of ONNX Runtime 1.30, so that integer
// outputs match it exactly (verified by ort_crosscheck_test.go):
//
//   - QLinearAdd: with ratios rA = sA/sC, rB = sB/sC and the constant
//     f = zC - fma(rA, zA, rB*zB) (the compiler contracts the C++
//     rA*zA + rB*zB), y = fma(a, rA, fma(b, rB, f)) on raw a and b values,
//     each fused multiply-add rounding once. When B is constant over the
//     innermost broadcast span, ONNX Runtime folds it into the constant
//     first, y = fma(a, rA, fma(b, rB, f)) all the same; when A is, it swaps
//     the operands: f = zC - fma(rB, zB, rA*zA), y = fma(b, rB, fma(a, rA, f)).
//   - QLinearMul: y = float32(float32((a-zA)*(b-zB)) * (sA*sB/sC)) + zC.
//   - QLinearGlobalAveragePool: requantization of the int32 sum minus
//     zX*size with the multiplier sX / (sY * float32(size)).
//   - QLinearConcat, QLinearSigmoid, QLinearLeakyRelu: a 256-entry table
//     built by dequantizing every input value (sX * float32(v - zX)),
//     applying the function in float32 and quantizing (v / sY, rounded half
//     to even). Sigmoid is MLAS's rational approximation as its FMA3 kernel
//     evaluates it, not the exact logistic function.
//
// Final conversions saturate like CVTPS2DQ followed by PACKSSDW and
// PACKSSWB/PACKUSWB.

import (
	"fmt"
	"math"

	"github.com/onnx-prom/onnx-prom/onnx/tensor"
)

// MSDomain is the domain of ONNX Runtime's contrib operators.
const MSDomain = "com.microsoft"

func init() {
	Register(MSDomain, "QLinearAdd", buildQLinearBinary(true))
	Register(MSDomain, "QLinearMul", buildQLinearBinary(false))
	Register(MSDomain, "QLinearGlobalAveragePool", buildQLinearGlobalAveragePool)
	Register(MSDomain, "QLinearConcat", buildQLinearConcat)
	Register(MSDomain, "QGemm", buildQGemm)
	Register(MSDomain, "QLinearSigmoid", buildQLinearLookup(false))
	Register(MSDomain, "QLinearLeakyRelu", buildQLinearLookup(true))
}

// qRoundSat converts v like CVTPS2DQ (round half to even; NaN and values
// outside int32 give math.MinInt32) and saturates the result to [lo, hi].
func qRoundSat(v float32, lo, hi int32) int32 {
	var i int32 = math.MinInt32
	if r := math.RoundToEven(float64(v)); r >= math.MinInt32 && r <= math.MaxInt32 {
		i = int32(r)
	}
	return min(max(i, lo), hi)
}

// qAddConst is QLinearAdd's constant part zC - (rA*zA + rB*zB); the
// compiler contracts rA*zA + rB*zB into fma(rA, zA, rB*zB).
func qAddConst(rA, zA, rB, zB, zC float32) float32 {
	return zC - fma32(rA, zA, float32(rB*zB))
}

func buildQLinearBinary(add bool) Builder {
	return func(n *Node) (Kernel, error) {
		if len(n.Inputs) < 7 || len(n.Inputs) > 8 {
			return nil, n.Errorf("takes 7 or 8 inputs, got %d", len(n.Inputs))
		}
		for _, i := range []int{0, 1, 3, 4, 6} {
			if n.Input(i) == nil {
				return nil, n.Errorf("input %d is required", i)
			}
		}
		for _, i := range []int{0, 2, 3, 5, 7} {
			if t := n.InputType(i); t != tensor.Undefined {
				if err := qCheck8(t, fmt.Sprintf("input %d", i)); err != nil {
					return nil, n.Errorf("%v", err)
				}
			}
		}
		return KernelFunc(func(c *Ctx, in, out []*tensor.Tensor) error {
			return runQLinearBinary(c, in, out, add)
		}), nil
	}
}

// qSpanMode tells which QLinearAdd/QLinearMul code path ONNX Runtime takes
// for these shapes: 1 when A is constant along the innermost broadcast
// span (or has one element), 2 when B is, 0 when both vary.
func qSpanMode(a, b, out []int64) int {
	if n, _ := tensor.NumElements(a); n == 1 {
		return 1
	}
	if n, _ := tensor.NumElements(b); n == 1 {
		return 2
	}
	r := len(out)
	for i := r - 1; i >= 0; i-- {
		if out[i] == 1 {
			continue
		}
		da, db := int64(1), int64(1)
		if j := len(a) - r + i; j >= 0 {
			da = a[j]
		}
		if j := len(b) - r + i; j >= 0 {
			db = b[j]
		}
		switch {
		case da == 1:
			return 1
		case db == 1:
			return 2
		}
		return 0
	}
	return 1
}

func runQLinearBinary(c *Ctx, in, out []*tensor.Tensor, add bool) error {
	a, b := in[0], in[3]
	if err := qCheck8(a.Type, "input A"); err != nil {
		return err
	}
	if b.Type != a.Type {
		return fmt.Errorf("input B is %s but A is %s", tensor.Name(b.Type), tensor.Name(a.Type))
	}
	sA, err := qScalarF32(in[1], "A_scale")
	if err != nil {
		return err
	}
	zA, err := qScalarZP(c, in[2], a.Type, "A_zero_point")
	if err != nil {
		return err
	}
	sB, err := qScalarF32(in[4], "B_scale")
	if err != nil {
		return err
	}
	zB, err := qScalarZP(c, in[5], a.Type, "B_zero_point")
	if err != nil {
		return err
	}
	sC, err := qScalarF32(in[6], "C_scale")
	if err != nil {
		return err
	}
	var zcT *tensor.Tensor
	if len(in) > 7 {
		zcT = in[7]
	}
	zC, err := qScalarZP(c, zcT, a.Type, "C_zero_point")
	if err != nil {
		return err
	}
	shape, err := qBroadcastShape(a.Shape, b.Shape)
	if err != nil {
		return err
	}
	y, err := c.Alloc(a.Type, shape...)
	if err != nil {
		return err
	}
	av, err := qInts(c, a, "input A")
	if err != nil {
		return err
	}
	bv, err := qInts(c, b, "input B")
	if err != nil {
		return err
	}
	ai, bi := qBroadcastIndex(shape, a.Shape), qBroadcastIndex(shape, b.Shape)
	lo, hi, _ := qRange(a.Type)
	res := c.ScratchOf(tensor.Int32, len(ai)).([]int32)
	mode := qSpanMode(a.Shape, b.Shape, shape)
	if add {
		// When A is constant along the span, ONNX Runtime swaps the
		// operands so that its kernel's first input is the span. The span
		// constant is folded into the fixed part with an FMA (the compiler
		// contracts Fixed + s*ratio), which gives the same value as the
		// general path's inner FMA.
		rA, rB := sA/sC, sB/sC
		fixed := qAddConst(rA, float32(zA), rB, float32(zB), float32(zC))
		if mode == 1 {
			fixed = qAddConst(rB, float32(zB), rA, float32(zA), float32(zC))
		}
		c.Parallel(len(res), 16384, func(i0, i1 int) {
			for i := i0; i < i1; i++ {
				x, z := float32(av[ai[i]]), float32(bv[bi[i]])
				var v float32
				if mode == 1 {
					v = fma32(z, rB, fma32(x, rA, fixed))
				} else {
					v = fma32(x, rA, fma32(z, rB, fixed))
				}
				res[i] = qRoundSat(v, lo, hi)
			}
		})
	} else {
		ratio := sA * sB / sC
		zc := float32(zC)
		c.Parallel(len(res), 16384, func(i0, i1 int) {
			for i := i0; i < i1; i++ {
				p := (av[ai[i]] - zA) * (bv[bi[i]] - zB)
				res[i] = qRoundSat(float32(float32(p)*ratio)+zc, lo, hi)
			}
		})
	}
	qStore(y, res)
	out[0] = y
	return nil
}

type qlinearGAP struct{ channelsLast bool }

func buildQLinearGlobalAveragePool(n *Node) (Kernel, error) {
	if len(n.Inputs) != 5 {
		return nil, n.Errorf("QLinearGlobalAveragePool takes 5 inputs, got %d", len(n.Inputs))
	}
	for _, i := range []int{0, 1, 3} {
		if n.Input(i) == nil {
			return nil, n.Errorf("input %d is required", i)
		}
	}
	cl, err := n.AttrInt("channels_last", 0)
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	return &qlinearGAP{channelsLast: cl != 0}, nil
}

func (k *qlinearGAP) Run(c *Ctx, in, out []*tensor.Tensor) error {
	x := in[0]
	if err := qCheck8(x.Type, "input X"); err != nil {
		return err
	}
	if len(x.Shape) < 3 {
		return fmt.Errorf("input X has shape %v, want rank 3 or more", x.Shape)
	}
	sX, err := qScalarF32(in[1], "x_scale")
	if err != nil {
		return err
	}
	zX, err := qScalarZP(c, in[2], x.Type, "x_zero_point")
	if err != nil {
		return err
	}
	sY, err := qScalarF32(in[3], "y_scale")
	if err != nil {
		return err
	}
	zY, err := qScalarZP(c, in[4], x.Type, "y_zero_point")
	if err != nil {
		return err
	}
	r := len(x.Shape)
	N := int(x.Shape[0])
	C := int(x.Shape[1])
	sp := x.Shape[2:]
	outShape := []int64{x.Shape[0], x.Shape[1]}
	if k.channelsLast {
		C = int(x.Shape[r-1])
		sp = x.Shape[1 : r-1]
		outShape = []int64{x.Shape[0]}
	}
	size := 1
	for _, d := range sp {
		size *= int(d)
		outShape = append(outShape, 1)
	}
	if k.channelsLast {
		outShape = append(outShape, int64(C))
	}
	if size >= 1<<24 {
		return fmt.Errorf("image size %d is too large (ONNX Runtime's limit is 2^24)", size)
	}
	scale := sX / (sY * float32(size))
	if !(scale >= 0x1p-32 && scale < 256) {
		return fmt.Errorf("x_scale / (y_scale * %d) = %g is outside [2^-32, 256), where ONNX Runtime refuses to compute", size, scale)
	}
	xv, err := qInts(c, x, "input X")
	if err != nil {
		return err
	}
	y, err := c.Alloc(x.Type, outShape...)
	if err != nil {
		return err
	}
	lo, hi, _ := qRange(x.Type)
	res := c.ScratchOf(tensor.Int32, N*C).([]int32)
	bias := -zX * int32(size)
	c.Parallel(N*C, 64, func(i0, i1 int) {
		for i := i0; i < i1; i++ {
			n, ch := i/C, i%C
			acc := bias
			if k.channelsLast {
				base := n * size * C
				for p := 0; p < size; p++ {
					acc += xv[base+p*C+ch]
				}
			} else {
				for _, v := range xv[i*size : (i+1)*size] {
					acc += v
				}
			}
			res[i] = qRequant(acc, scale, zY, lo, hi)
		}
	})
	qStore(y, res)
	out[0] = y
	return nil
}

type qlinearConcat struct{ axis int64 }

func buildQLinearConcat(n *Node) (Kernel, error) {
	if len(n.Inputs) < 5 || (len(n.Inputs)-2)%3 != 0 {
		return nil, n.Errorf("QLinearConcat takes Y_scale, Y_zero_point and (X, X_scale, X_zero_point) triples; got %d inputs", len(n.Inputs))
	}
	if !n.HasAttr("axis") {
		return nil, n.Errorf("attribute axis is required")
	}
	axis, err := n.AttrInt("axis", 0)
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	for i, v := range n.Inputs {
		if v == nil {
			return nil, n.Errorf("input %d is required", i)
		}
	}
	return &qlinearConcat{axis: axis}, nil
}

// qLookup builds the table of y = quantize(f(dequantize(x))) over every
// value of type dt, indexed by x - lo.
func qLookup(dt tensor.DataType, sX float32, zX int32, sY float32, zY int32, f func(float32) float32) []int32 {
	lo, hi, _ := qRange(dt)
	t := make([]int32, hi-lo+1)
	for v := lo; v <= hi; v++ {
		d := sX * float32(v-zX)
		t[v-lo] = qQuantize1(f(d), sY, zY, lo, hi)
	}
	return t
}

func (k *qlinearConcat) Run(c *Ctx, in, out []*tensor.Tensor) error {
	sY, err := qScalarF32(in[0], "Y_scale")
	if err != nil {
		return err
	}
	zt := in[1]
	if err := qCheck8(zt.Type, "Y_zero_point"); err != nil {
		return err
	}
	dt := zt.Type
	zY, err := qScalarZP(c, zt, dt, "Y_zero_point")
	if err != nil {
		return err
	}
	lo, _, _ := qRange(dt)
	nIn := (len(in) - 2) / 3
	first := in[2].Shape
	r := int64(len(first))
	axis := k.axis
	if axis < -r || axis >= r {
		return fmt.Errorf("axis %d is out of range for inputs of rank %d", k.axis, r)
	}
	if axis < 0 {
		axis += r
	}
	outShape := append([]int64{}, first...)
	outShape[axis] = 0
	for i := 0; i < nIn; i++ {
		x := in[2+3*i]
		if x.Type != dt {
			return fmt.Errorf("input %d is %s, want %s like Y_zero_point", 2+3*i, tensor.Name(x.Type), tensor.Name(dt))
		}
		if int64(len(x.Shape)) != r {
			return fmt.Errorf("input %d has shape %v, want rank %d", 2+3*i, x.Shape, r)
		}
		for d := range x.Shape {
			if int64(d) != axis && x.Shape[d] != first[d] {
				return fmt.Errorf("input %d has shape %v, incompatible with %v outside axis %d", 2+3*i, x.Shape, first, axis)
			}
		}
		outShape[axis] += x.Shape[axis]
	}
	y, err := c.Alloc(dt, outShape...)
	if err != nil {
		return err
	}
	outer := 1
	for _, d := range outShape[:axis] {
		outer *= int(d)
	}
	inner := 1
	for _, d := range outShape[axis+1:] {
		inner *= int(d)
	}
	res := c.ScratchOf(tensor.Int32, y.Len()).([]int32)
	rowOut := int(outShape[axis]) * inner
	off := 0
	for i := 0; i < nIn; i++ {
		x := in[2+3*i]
		sX, err := qScalarF32(in[3+3*i], fmt.Sprintf("input %d (scale)", 3+3*i))
		if err != nil {
			return err
		}
		zX, err := qScalarZP(c, in[4+3*i], dt, fmt.Sprintf("input %d (zero point)", 4+3*i))
		if err != nil {
			return err
		}
		xv, err := qInts(c, x, fmt.Sprintf("input %d", 2+3*i))
		if err != nil {
			return err
		}
		var table []int32
		if sX != sY || zX != zY {
			table = qLookup(dt, sX, zX, sY, zY, func(v float32) float32 { return v })
		}
		row := int(x.Shape[axis]) * inner
		for o := 0; o < outer; o++ {
			src := xv[o*row : (o+1)*row]
			dst := res[o*rowOut+off : o*rowOut+off+row]
			if table == nil {
				copy(dst, src)
				continue
			}
			for j, v := range src {
				dst[j] = table[v-lo]
			}
		}
		off += row
	}
	qStore(y, res)
	out[0] = y
	return nil
}

type qlinearLookup struct {
	leaky bool
	alpha float32
}

func buildQLinearLookup(leaky bool) Builder {
	return func(n *Node) (Kernel, error) {
		if len(n.Inputs) < 4 || len(n.Inputs) > 5 {
			return nil, n.Errorf("takes 4 or 5 inputs (X, X_scale, X_zero_point, Y_scale, Y_zero_point), got %d", len(n.Inputs))
		}
		for _, i := range []int{0, 1, 3} {
			if n.Input(i) == nil {
				return nil, n.Errorf("input %d is required", i)
			}
		}
		k := &qlinearLookup{leaky: leaky}
		if leaky {
			var err error
			if k.alpha, err = n.AttrFloat("alpha", 0.01); err != nil {
				return nil, n.Errorf("%v", err)
			}
		}
		return k, nil
	}
}

// MLAS's logistic constants (the rational approximation from Eigen).
const (
	logisticLower  = float32(-18.0)
	logisticUpper  = float32(18.0)
	logisticAlpha9 = float32(4.37031012579801e-11)
	logisticAlpha7 = float32(1.15627324459942e-07)
	logisticAlpha5 = float32(6.08574864600143e-05)
	logisticAlpha3 = float32(8.51377133304701e-03)
	logisticAlpha1 = float32(2.48287947061529e-01)
	logisticBeta10 = float32(6.10247389755681e-13)
	logisticBeta8  = float32(5.76102136993427e-09)
	logisticBeta6  = float32(6.29106785017040e-06)
	logisticBeta4  = float32(1.70198817374094e-03)
	logisticBeta2  = float32(1.16817656904453e-01)
	logisticBeta0  = float32(9.93151921023180e-01)
)

// mlasLogistic evaluates MLAS's logistic approximation in the order of its
// FMA3 kernel.
func mlasLogistic(x float32) float32 {
	if logisticLower > x {
		x = logisticLower
	}
	if logisticUpper < x {
		x = logisticUpper
	}
	x2 := x * x
	p := fma32(x2, logisticAlpha9, logisticAlpha7)
	p = fma32(x2, p, logisticAlpha5)
	p = fma32(x2, p, logisticAlpha3)
	p = fma32(x2, p, logisticAlpha1)
	q := fma32(x2, logisticBeta10, logisticBeta8)
	q = fma32(x2, q, logisticBeta6)
	q = fma32(x2, q, logisticBeta4)
	q = fma32(x2, q, logisticBeta2)
	q = fma32(x2, q, logisticBeta0)
	p = x * p
	r := p/q + 0.5
	if 0 > r {
		r = 0
	}
	return r
}

func (k *qlinearLookup) Run(c *Ctx, in, out []*tensor.Tensor) error {
	x := in[0]
	if err := qCheck8(x.Type, "input X"); err != nil {
		return err
	}
	sX, err := qScalarF32(in[1], "X_scale")
	if err != nil {
		return err
	}
	zX, err := qScalarZP(c, in[2], x.Type, "X_zero_point")
	if err != nil {
		return err
	}
	sY, err := qScalarF32(in[3], "Y_scale")
	if err != nil {
		return err
	}
	var zyT *tensor.Tensor
	if len(in) > 4 {
		zyT = in[4]
	}
	zY, err := qScalarZP(c, zyT, x.Type, "Y_zero_point")
	if err != nil {
		return err
	}
	f := mlasLogistic
	if k.leaky {
		alpha := k.alpha
		f = func(v float32) float32 {
			if v >= 0 {
				return v
			}
			return alpha * v
		}
	}
	table := qLookup(x.Type, sX, zX, sY, zY, f)
	xv, err := qInts(c, x, "input X")
	if err != nil {
		return err
	}
	lo, _, _ := qRange(x.Type)
	for i, v := range xv {
		xv[i] = table[v-lo]
	}
	y, err := c.Alloc(x.Type, x.Shape...)
	if err != nil {
		return err
	}
	qStore(y, xv)
	out[0] = y
	return nil
}

type qgemm struct {
	alpha          float32
	transA, transB bool
}

func buildQGemm(n *Node) (Kernel, error) {
	if len(n.Inputs) < 6 || len(n.Inputs) > 9 {
		return nil, n.Errorf("QGemm takes 6 to 9 inputs, got %d", len(n.Inputs))
	}
	for _, i := range []int{0, 1, 3, 4} {
		if n.Input(i) == nil {
			return nil, n.Errorf("input %d is required", i)
		}
	}
	k := &qgemm{}
	var err error
	if k.alpha, err = n.AttrFloat("alpha", 1); err != nil {
		return nil, n.Errorf("%v", err)
	}
	ta, err := n.AttrInt("transA", 0)
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	tb, err := n.AttrInt("transB", 0)
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	k.transA, k.transB = ta != 0, tb != 0
	if err := qCheckTypes(n, map[int]string{0: "input A", 3: "input B"}); err != nil {
		return nil, err
	}
	if len(n.Inputs) > 8 && n.Input(8) != nil && (len(n.Inputs) < 8 || n.Input(7) == nil) {
		return nil, n.Errorf("y_zero_point needs y_scale")
	}
	return k, nil
}

// qTranspose2 returns the transpose of the rows×cols matrix v.
func qTranspose2(c *Ctx, v []int32, rows, cols int) []int32 {
	t := c.ScratchOf(tensor.Int32, len(v)).([]int32)
	for i := 0; i < rows; i++ {
		for j := 0; j < cols; j++ {
			t[j*rows+i] = v[i*cols+j]
		}
	}
	return t
}

// Run computes Y = alpha · (A - a_zp)(B - b_zp) + C. With y_zero_point the
// output is quantized with the multiplier (alpha * a_scale * b_scale) /
// y_scale; without it (ONNX Runtime decides on the zero point) Y is FLOAT:
// float32(acc) * (alpha * a_scale * b_scale [/ y_scale]).
func (k *qgemm) Run(c *Ctx, in, out []*tensor.Tensor) error {
	a, b := in[0], in[3]
	if err := qCheck8(a.Type, "input A"); err != nil {
		return err
	}
	if err := qCheck8(b.Type, "input B"); err != nil {
		return err
	}
	if len(a.Shape) != 2 || len(b.Shape) != 2 {
		return fmt.Errorf("A %v and B %v must be matrices", a.Shape, b.Shape)
	}
	M, K := int(a.Shape[0]), int(a.Shape[1])
	if k.transA {
		M, K = K, M
	}
	K2, N := int(b.Shape[0]), int(b.Shape[1])
	if k.transB {
		K2, N = N, K2
	}
	if K != K2 {
		return fmt.Errorf("A %v and B %v do not multiply (transA %v, transB %v)", a.Shape, b.Shape, k.transA, k.transB)
	}
	get := func(i int) *tensor.Tensor {
		if i < len(in) {
			return in[i]
		}
		return nil
	}
	aScale, err := qScalarF32(in[1], "a_scale")
	if err != nil {
		return err
	}
	azp, err := qScalarZP(c, in[2], a.Type, "a_zero_point")
	if err != nil {
		return err
	}
	bScale, err := qScales(in[4], N, "b_scale")
	if err != nil {
		return err
	}
	bzp, err := qZeroPoints(c, in[5], b.Type, N, "b_zero_point")
	if err != nil {
		return err
	}
	av, err := qInts(c, a, "input A")
	if err != nil {
		return err
	}
	bv, err := qInts(c, b, "input B")
	if err != nil {
		return err
	}
	if k.transA {
		av = qTranspose2(c, av, K, M)
	}
	if k.transB {
		bv = qTranspose2(c, bv, N, K)
	}
	for i := range av {
		av[i] -= azp
	}
	for i := range bv {
		bv[i] -= bzp[min(i%N, len(bzp)-1)]
	}
	acc := c.ScratchOf(tensor.Int32, M*N).([]int32)
	g := &qMatMulGeom{m: M, k: K, n: N, batch: 1, aIdx: []int{0}, bIdx: []int{0}}
	qMatMulAcc(c, g, av, bv, acc)
	if ct := get(6); ct != nil {
		if ct.Type != tensor.Int32 {
			return fmt.Errorf("C is %s, want INT32", tensor.Name(ct.Type))
		}
		cv := ct.Data.([]int32)
		var at func(i, j int) int
		switch {
		case ct.Len() == 1:
			at = func(i, j int) int { return 0 }
		case (len(ct.Shape) == 1 && ct.Shape[0] == int64(N)) || (len(ct.Shape) == 2 && ct.Shape[0] == 1 && ct.Shape[1] == int64(N)):
			at = func(i, j int) int { return j }
		case len(ct.Shape) == 2 && ct.Shape[0] == int64(M) && ct.Shape[1] == 1:
			at = func(i, j int) int { return i }
		case len(ct.Shape) == 2 && ct.Shape[0] == int64(M) && ct.Shape[1] == int64(N):
			at = func(i, j int) int { return i*N + j }
		default:
			return fmt.Errorf("C has shape %v, which does not broadcast to [%d, %d]", ct.Shape, M, N)
		}
		for i := 0; i < M; i++ {
			for j := 0; j < N; j++ {
				acc[i*N+j] += cv[at(i, j)]
			}
		}
	}
	ys, yz := get(7), get(8)
	scales := make([]float32, len(bScale))
	for i, s := range bScale {
		scales[i] = k.alpha * aScale * s
	}
	if ys != nil {
		y, err := qScalarF32(ys, "y_scale")
		if err != nil {
			return err
		}
		for i := range scales {
			scales[i] /= y
		}
	}
	col := func(j int) float32 { return scales[min(j, len(scales)-1)] }
	if yz == nil {
		y, err := c.Alloc(tensor.Float, int64(M), int64(N))
		if err != nil {
			return err
		}
		yd := y.Data.([]float32)
		for i, v := range acc {
			yd[i] = float32(v) * col(i%N)
		}
		out[0] = y
		return nil
	}
	if ys == nil {
		return fmt.Errorf("y_zero_point is given without y_scale")
	}
	yt := yz.Type
	if err := qCheck8(yt, "y_zero_point"); err != nil {
		return err
	}
	zY, err := qScalarZP(c, yz, yt, "y_zero_point")
	if err != nil {
		return err
	}
	lo, hi, _ := qRange(yt)
	for i, v := range acc {
		acc[i] = qRequant(v, col(i%N), zY, lo, hi)
	}
	y, err := c.Alloc(yt, int64(M), int64(N))
	if err != nil {
		return err
	}
	qStore(y, acc)
	out[0] = y
	return nil
}
