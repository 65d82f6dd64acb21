package interp

// QuantizeLinear, DequantizeLinear and DynamicQuantizeLinear, and the
// integer helpers that the other quantized kernels share (op_qlinear.go,
// op_integer.go, op_msquant.go).
//
// Rounding. Every float -> integer step rounds half to even and saturates to
// the target type, computed in float32 in the order ONNX Runtime's MLAS
// kernels use on x86-64, so that integer outputs match ONNX Runtime bit for
// bit:
//
//   - QuantizeLinear: q = x / scale (a true float32 division, not a
//     multiplication by 1/scale), clamped to [qmin-zp, qmax-zp] (NaN becomes
//     qmin-zp, as MAXPS does), rounded half to even, plus zp.
//   - Requantization of an int32 accumulator (QLinearConv, QLinearMatMul,
//     QGemm, QLinearGlobalAveragePool): v = float32(acc) * m with the float32
//     multiplier m = (x_scale * w_scale) / y_scale computed left to right,
//     then the same clamp, round and zero-point add.
//   - DequantizeLinear: y = float32(x - zp) * scale, the subtraction exact in
//     integers, one float32 rounding for the conversion and one for the
//     product (then one more to float16/bfloat16 outputs).
//
// Integer accumulation (convolutions and matrix products) is exact int32
// arithmetic with two's-complement wrap-around on overflow, as in ONNX
// Runtime and the ONNX reference.

import (
	"fmt"
	"math"

	"github.com/onnx-prom/onnx-prom/onnx/onnxpb"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
	"github.com/x448/float16"
)

func init() {
	Register("", "QuantizeLinear", buildQuantizeLinear)
	Register("", "DequantizeLinear", buildDequantizeLinear)
	Register("", "DynamicQuantizeLinear", buildDynamicQuantizeLinear)
}

// qRange is the value range of an integer (de)quantization type.
func qRange(dt tensor.DataType) (lo, hi int32, ok bool) {
	switch dt {
	case tensor.Int8:
		return math.MinInt8, math.MaxInt8, true
	case tensor.Uint8:
		return 0, math.MaxUint8, true
	case tensor.Int16:
		return math.MinInt16, math.MaxInt16, true
	case tensor.Uint16:
		return 0, math.MaxUint16, true
	case tensor.Int32:
		return math.MinInt32, math.MaxInt32, true
	case tensor.Int4:
		return -8, 7, true
	case tensor.Uint4:
		return 0, 15, true
	case tensor.Int2:
		return -2, 1, true
	case tensor.Uint2:
		return 0, 3, true
	}
	return 0, 0, false
}

// qTypeOpset is the first default-domain opset in which QuantizeLinear and
// DequantizeLinear accept elements of type dt.
func qTypeOpset(dt tensor.DataType) int64 {
	switch dt {
	case tensor.Int16, tensor.Uint16, tensor.Int4, tensor.Uint4:
		return 21
	case tensor.Int2, tensor.Uint2:
		return 25
	}
	return 10
}

// qIsFloat8 reports the 8- and 4-bit float types, which the interpreter
// does not (de)quantize.
func qIsFloat8(dt tensor.DataType) bool {
	switch dt {
	case onnxpb.TensorProto_FLOAT8E4M3FN, onnxpb.TensorProto_FLOAT8E4M3FNUZ, onnxpb.TensorProto_FLOAT8E5M2,
		onnxpb.TensorProto_FLOAT8E5M2FNUZ, onnxpb.TensorProto_FLOAT8E8M0, onnxpb.TensorProto_FLOAT4E2M1:
		return true
	}
	return false
}

// qCheckIntType checks that dt is an integer type op accepts at opset; name
// says which tensor it is, for the error.
func qCheckIntType(dt tensor.DataType, opset int64, allowInt32 bool, name string) error {
	if qIsFloat8(dt) {
		return fmt.Errorf("%s is %s: float 8/4-bit quantization is not supported by the interpreter", name, tensor.Name(dt))
	}
	if _, _, ok := qRange(dt); !ok || (dt == tensor.Int32 && !allowInt32) {
		return fmt.Errorf("%s is %s, not a supported quantized integer type", name, tensor.Name(dt))
	}
	if need := qTypeOpset(dt); opset < need {
		return fmt.Errorf("%s is %s, which needs opset %d (the model imports %d)", name, tensor.Name(dt), need, opset)
	}
	return nil
}

// qInts returns the elements of an integer tensor as int32 in a scratch
// buffer. Elements of the 2- and 4-bit types are checked against their
// range (a tensor built in memory can hold anything in its int8 slice).
func qInts(c *Ctx, t *tensor.Tensor, name string) ([]int32, error) {
	lo, hi, ok := qRange(t.Type)
	if !ok {
		return nil, fmt.Errorf("%s is %s, not a quantized integer tensor", name, tensor.Name(t.Type))
	}
	out := c.ScratchOf(tensor.Int32, t.Len()).([]int32)
	switch d := t.Data.(type) {
	case []int8:
		for i, v := range d {
			out[i] = int32(v)
		}
	case []uint8:
		for i, v := range d {
			out[i] = int32(v)
		}
	case []int16:
		for i, v := range d {
			out[i] = int32(v)
		}
	case []uint16:
		for i, v := range d {
			out[i] = int32(v)
		}
	case []int32:
		copy(out, d)
	default:
		return nil, fmt.Errorf("%s: %s tensor holds %T", name, tensor.Name(t.Type), t.Data)
	}
	if tensor.Bits(t.Type) < 8 {
		for i, v := range out {
			if v < lo || v > hi {
				return nil, fmt.Errorf("%s: element %d is %d, outside the %s range [%d, %d]", name, i, v, tensor.Name(t.Type), lo, hi)
			}
		}
	}
	return out, nil
}

// qStore writes vals (already inside the tensor type's range) to t.
func qStore(t *tensor.Tensor, vals []int32) {
	switch d := t.Data.(type) {
	case []int8:
		for i, v := range vals {
			d[i] = int8(v)
		}
	case []uint8:
		for i, v := range vals {
			d[i] = uint8(v)
		}
	case []int16:
		for i, v := range vals {
			d[i] = int16(v)
		}
	case []uint16:
		for i, v := range vals {
			d[i] = uint16(v)
		}
	case []int32:
		copy(d, vals)
	}
}

// qFloats returns the elements of a FLOAT, FLOAT16 or BFLOAT16 tensor as
// float32 (exactly: both half types widen without rounding).
func qFloats(t *tensor.Tensor, name string) ([]float32, error) {
	switch t.Type {
	case tensor.Float, tensor.Float16, tensor.BFloat16T:
		return t.Float32s()
	}
	return nil, fmt.Errorf("%s is %s, want FLOAT, FLOAT16 or BFLOAT16", name, tensor.Name(t.Type))
}

// qScalarF32 reads a one-element float scale.
func qScalarF32(t *tensor.Tensor, name string) (float32, error) {
	if t == nil {
		return 0, fmt.Errorf("%s is missing", name)
	}
	if t.Len() != 1 {
		return 0, fmt.Errorf("%s must have one element, has shape %v", name, t.Shape)
	}
	f, err := qFloats(t, name)
	if err != nil {
		return 0, err
	}
	return f[0], nil
}

// qScalarZP reads a one-element zero point of type want; a missing zero
// point is 0.
func qScalarZP(c *Ctx, t *tensor.Tensor, want tensor.DataType, name string) (int32, error) {
	if t == nil {
		return 0, nil
	}
	if t.Type != want {
		return 0, fmt.Errorf("%s is %s, want %s (the type of its data)", name, tensor.Name(t.Type), tensor.Name(want))
	}
	if t.Len() != 1 {
		return 0, fmt.Errorf("%s must have one element, has shape %v", name, t.Shape)
	}
	v, err := qInts(c, t, name)
	if err != nil {
		return 0, err
	}
	return v[0], nil
}

// qRoundClamp clamps v to [lo, hi] (whole numbers; NaN goes to lo) and
// rounds it half to even: MAXPS, MINPS, CVTPS2DQ, as in MLAS.
func qRoundClamp(v, lo, hi float32) int32 {
	if !(v > lo) {
		v = lo
	}
	if !(v < hi) {
		v = hi
	}
	return int32(math.RoundToEven(float64(v)))
}

// qRequant turns an int32 accumulator into a quantized value:
// clamp(round(float32(acc) * m) + zp, lo, hi), in MLAS's order (see the top
// of this file).
func qRequant(acc int32, m float32, zp, lo, hi int32) int32 {
	return qRoundClamp(float32(acc)*m, float32(lo-zp), float32(hi-zp)) + zp
}

// qQuantize1 quantizes one float32 like MLAS's QuantizeLinear kernel:
// clamp(round(x / scale) + zp, lo, hi).
func qQuantize1(x, scale float32, zp, lo, hi int32) int32 {
	return qRoundClamp(x/scale, float32(lo-zp), float32(hi-zp)) + zp
}

// fma32 returns a*b+c rounded once to float32, like the FMA3 instruction
// VFMADD...PS that ONNX Runtime's AVX2 kernels use. a*b is exact in
// float64; the float64 sum is exact up to e, and a second rounding to
// float32 can only go wrong when the float64 sum sits exactly halfway
// between two float32 values, which is fixed by nudging it towards e.
func fma32(a, b, c float32) float32 {
	p := float64(a) * float64(b)
	s := p + float64(c)
	bv := s - p
	e := (p - (s - bv)) + (float64(c) - bv)
	if e != 0 && math.Float64bits(s)&(1<<29-1) == 1<<28 {
		s = math.Nextafter(s, math.Copysign(math.Inf(1), e))
	}
	return float32(s)
}

// qAxisView describes how scale and zero point map onto x: x is viewed as
// [outer, dim, inner] around the quantization axis.
type qAxisView struct {
	outer, dim, inner int
	// mode: per tensor (one parameter), per axis (dim parameters), or
	// blocked (outer × nb × inner parameters, block elements per block).
	mode  int
	block int
	nb    int
}

const (
	qPerTensor = iota
	qPerAxis
	qBlocked
)

// param returns the index of the parameter of element (o, a, i) of the
// view.
func (v *qAxisView) param(o, a, i int) int {
	switch v.mode {
	case qPerAxis:
		return a
	case qBlocked:
		return (o*v.nb+a/v.block)*v.inner + i
	}
	return 0
}

// qResolveAxis works out the quantization granularity of a Q/DQ node from
// the shapes of x and scale, the axis and block_size attributes.
func qResolveAxis(xShape, sShape []int64, axis, block int64) (*qAxisView, error) {
	n := 1
	for _, d := range xShape {
		n *= int(d)
	}
	if len(sShape) == 0 || (block == 0 && len(sShape) == 1 && sShape[0] == 1) {
		return &qAxisView{outer: 1, dim: 1, inner: n, mode: qPerTensor}, nil
	}
	r := int64(len(xShape))
	if axis < -r || axis >= r {
		return nil, fmt.Errorf("axis %d is out of range for input of rank %d", axis, r)
	}
	if axis < 0 {
		axis += r
	}
	v := &qAxisView{outer: 1, inner: 1, dim: int(xShape[axis])}
	for _, d := range xShape[:axis] {
		v.outer *= int(d)
	}
	for _, d := range xShape[axis+1:] {
		v.inner *= int(d)
	}
	if block == 0 {
		if len(sShape) != 1 {
			return nil, fmt.Errorf("scale has shape %v: per-axis scales must be 1-D (or set block_size for blocked quantization)", sShape)
		}
		if sShape[0] != xShape[axis] {
			return nil, fmt.Errorf("scale has %d elements, but axis %d of the input (shape %v) has %d", sShape[0], axis, xShape, xShape[axis])
		}
		v.mode = qPerAxis
		return v, nil
	}
	if len(sShape) != len(xShape) {
		return nil, fmt.Errorf("blocked quantization needs a scale of rank %d like the input, got shape %v", len(xShape), sShape)
	}
	for i := range xShape {
		if int64(i) == axis {
			continue
		}
		if sShape[i] != xShape[i] {
			return nil, fmt.Errorf("blocked scale shape %v must match the input shape %v except on axis %d", sShape, xShape, axis)
		}
	}
	nb := (xShape[axis] + block - 1) / block
	if sShape[axis] != nb {
		return nil, fmt.Errorf("blocked scale has %d blocks on axis %d, but %d elements in blocks of %d need %d", sShape[axis], axis, xShape[axis], block, nb)
	}
	v.mode, v.block, v.nb = qBlocked, int(block), int(nb)
	return v, nil
}

// qCheckZPShape checks that a zero point has the shape of its scale (a
// one-element zero point goes with a one-element scale of any rank).
func qCheckZPShape(zp, s *tensor.Tensor) error {
	if zp.Len() == 1 && s.Len() == 1 {
		return nil
	}
	if fmt.Sprint(zp.Shape) != fmt.Sprint(s.Shape) {
		return fmt.Errorf("zero point shape %v differs from scale shape %v", zp.Shape, s.Shape)
	}
	return nil
}

// qAttrType reads an element-type attribute (0 when absent).
func qAttrType(n *Node, name string) (tensor.DataType, error) {
	v, err := n.AttrInt(name, 0)
	if err != nil {
		return 0, n.Errorf("%v", err)
	}
	if _, ok := onnxpb.TensorProto_DataType_name[int32(v)]; !ok || v < 0 {
		return 0, n.Errorf("attribute %s = %d is not an element type", name, v)
	}
	return tensor.DataType(v), nil
}

type quantizeLinear struct {
	opset     int64
	axis      int64
	block     int64
	outType   tensor.DataType // from output_dtype; 0 when absent
	precision tensor.DataType // from precision; 0 when absent
}

func buildQuantizeLinear(n *Node) (Kernel, error) {
	k := &quantizeLinear{opset: n.Opset, axis: 1}
	if len(n.Inputs) < 2 || n.Input(0) == nil || n.Input(1) == nil {
		return nil, n.Errorf("QuantizeLinear needs inputs x and y_scale")
	}
	var err error
	if n.Opset >= 13 {
		if k.axis, err = n.AttrInt("axis", 1); err != nil {
			return nil, n.Errorf("%v", err)
		}
	}
	if n.Opset >= 21 {
		if k.block, err = n.AttrInt("block_size", 0); err != nil {
			return nil, n.Errorf("%v", err)
		}
		if k.block < 0 {
			return nil, n.Errorf("block_size %d must not be negative", k.block)
		}
		if k.outType, err = qAttrType(n, "output_dtype"); err != nil {
			return nil, err
		}
	}
	if n.Opset >= 23 {
		if k.precision, err = qAttrType(n, "precision"); err != nil {
			return nil, err
		}
		switch k.precision {
		case 0, tensor.Float, tensor.Float16, tensor.BFloat16T:
		default:
			return nil, n.Errorf("precision %s is not supported (FLOAT, FLOAT16, BFLOAT16)", tensor.Name(k.precision))
		}
	}
	// saturate only matters for float 8 outputs, which are refused below.
	zpType := n.InputType(2)
	if zpType != tensor.Undefined && k.outType != 0 && zpType != k.outType {
		return nil, n.Errorf("output_dtype %s does not match y_zero_point type %s", tensor.Name(k.outType), tensor.Name(zpType))
	}
	if t := k.outType; t != 0 {
		if err := qCheckIntType(t, n.Opset, false, "output_dtype"); err != nil {
			return nil, n.Errorf("%v", err)
		}
	}
	if zpType != tensor.Undefined {
		if err := qCheckIntType(zpType, n.Opset, false, "y_zero_point"); err != nil {
			return nil, n.Errorf("%v", err)
		}
	}
	if s := n.Const(1); s != nil && n.Opset < 13 && s.Len() != 1 {
		return nil, n.Errorf("y_scale has shape %v; opset %d only has per-tensor quantization", s.Shape, n.Opset)
	}
	return k, nil
}

func (k *quantizeLinear) Run(c *Ctx, in, out []*tensor.Tensor) error {
	x, s := in[0], in[1]
	var zpT *tensor.Tensor
	if len(in) > 2 {
		zpT = in[2]
	}
	ot := tensor.Uint8
	switch {
	case zpT != nil:
		ot = zpT.Type
		if k.outType != 0 && k.outType != ot {
			return fmt.Errorf("output_dtype %s does not match y_zero_point type %s", tensor.Name(k.outType), tensor.Name(ot))
		}
	case k.outType != 0:
		ot = k.outType
	}
	if err := qCheckIntType(ot, k.opset, false, "output type"); err != nil {
		return err
	}
	lo, hi, _ := qRange(ot)
	if x.Type == tensor.Int32 {
		return fmt.Errorf("input x is INT32; only FLOAT, FLOAT16 and BFLOAT16 inputs are supported")
	}
	xs, err := qFloats(x, "input x")
	if err != nil {
		return err
	}
	scales, err := qFloats(s, "y_scale")
	if err != nil {
		return err
	}
	if k.opset < 13 && s.Len() != 1 {
		return fmt.Errorf("y_scale has shape %v; opset %d only has per-tensor quantization", s.Shape, k.opset)
	}
	view, err := qResolveAxis(x.Shape, s.Shape, k.axis, k.block)
	if err != nil {
		return err
	}
	zps := []int32{0}
	if zpT != nil {
		if err := qCheckZPShape(zpT, s); err != nil {
			return err
		}
		if zps, err = qInts(c, zpT, "y_zero_point"); err != nil {
			return err
		}
	} else if view.mode != qPerTensor {
		zps = make([]int32, len(scales))
	}
	// The division runs in float32 (FLOAT16 and BFLOAT16 x and scale are
	// widened exactly), as ONNX Runtime 1.30 does for every input type and
	// opset. An explicit precision attribute of FLOAT16 or BFLOAT16 (opset
	// 23+) rounds the quotient to that type before it is rounded to an
	// integer, as the ONNX specification says; ONNX Runtime 1.30 ignores
	// the attribute. (The specification also lets a FLOAT16 scale imply
	// FLOAT16 precision; the interpreter follows ONNX Runtime there.)
	prec := k.precision
	y, err := c.Alloc(ot, x.Shape...)
	if err != nil {
		return err
	}
	vals := c.ScratchOf(tensor.Int32, len(xs)).([]int32)
	rows := view.outer * view.dim
	c.Parallel(rows, max(1, 16384/max(view.inner, 1)), func(r0, r1 int) {
		for r := r0; r < r1; r++ {
			o, a := r/view.dim, r%view.dim
			base := r * view.inner
			for i := 0; i < view.inner; i++ {
				p := view.param(o, a, i)
				q := xs[base+i] / scales[p]
				switch prec {
				case tensor.Float16:
					q = float16.Fromfloat32(q).Float32()
				case tensor.BFloat16T:
					q = tensor.BFloat16FromFloat32(q).Float32()
				}
				zp := zps[p]
				vals[base+i] = qRoundClamp(q, float32(lo-zp), float32(hi-zp)) + zp
			}
		}
	})
	qStore(y, vals)
	out[0] = y
	return nil
}

type dequantizeLinear struct {
	opset   int64
	axis    int64
	block   int64
	outType tensor.DataType
}

func buildDequantizeLinear(n *Node) (Kernel, error) {
	k := &dequantizeLinear{opset: n.Opset, axis: 1}
	if len(n.Inputs) < 2 || n.Input(0) == nil || n.Input(1) == nil {
		return nil, n.Errorf("DequantizeLinear needs inputs x and x_scale")
	}
	var err error
	if n.Opset >= 13 {
		if k.axis, err = n.AttrInt("axis", 1); err != nil {
			return nil, n.Errorf("%v", err)
		}
	}
	if n.Opset >= 21 {
		if k.block, err = n.AttrInt("block_size", 0); err != nil {
			return nil, n.Errorf("%v", err)
		}
		if k.block < 0 {
			return nil, n.Errorf("block_size %d must not be negative", k.block)
		}
	}
	if n.Opset >= 23 {
		if k.outType, err = qAttrType(n, "output_dtype"); err != nil {
			return nil, err
		}
		switch k.outType {
		case 0, tensor.Float, tensor.Float16, tensor.BFloat16T:
		default:
			return nil, n.Errorf("output_dtype %s must be FLOAT, FLOAT16 or BFLOAT16", tensor.Name(k.outType))
		}
	}
	xt, zt := n.InputType(0), n.InputType(2)
	if xt != tensor.Undefined {
		if err := qCheckIntType(xt, n.Opset, true, "input x"); err != nil {
			return nil, n.Errorf("%v", err)
		}
	}
	if xt != tensor.Undefined && zt != tensor.Undefined && xt != zt {
		return nil, n.Errorf("x_zero_point is %s but x is %s: they must have the same type", tensor.Name(zt), tensor.Name(xt))
	}
	if s := n.Const(1); s != nil && n.Opset < 13 && s.Len() != 1 {
		return nil, n.Errorf("x_scale has shape %v; opset %d only has per-tensor dequantization", s.Shape, n.Opset)
	}
	return k, nil
}

func (k *dequantizeLinear) Run(c *Ctx, in, out []*tensor.Tensor) error {
	x, s := in[0], in[1]
	var zpT *tensor.Tensor
	if len(in) > 2 {
		zpT = in[2]
	}
	if err := qCheckIntType(x.Type, k.opset, true, "input x"); err != nil {
		return err
	}
	scales, err := qFloats(s, "x_scale")
	if err != nil {
		return err
	}
	if k.opset < 13 && s.Len() != 1 {
		return fmt.Errorf("x_scale has shape %v; opset %d only has per-tensor dequantization", s.Shape, k.opset)
	}
	ot := s.Type
	if k.outType != 0 {
		ot = k.outType
	}
	view, err := qResolveAxis(x.Shape, s.Shape, k.axis, k.block)
	if err != nil {
		return err
	}
	xv, err := qInts(c, x, "input x")
	if err != nil {
		return err
	}
	zps := []int32{0}
	if zpT != nil {
		if zpT.Type != x.Type {
			return fmt.Errorf("x_zero_point is %s but x is %s: they must have the same type", tensor.Name(zpT.Type), tensor.Name(x.Type))
		}
		if err := qCheckZPShape(zpT, s); err != nil {
			return err
		}
		if zps, err = qInts(c, zpT, "x_zero_point"); err != nil {
			return err
		}
	} else if view.mode != qPerTensor {
		zps = make([]int32, len(scales))
	}
	y, err := c.Alloc(ot, x.Shape...)
	if err != nil {
		return err
	}
	f := c.Scratch(len(xv))
	rows := view.outer * view.dim
	c.Parallel(rows, max(1, 16384/max(view.inner, 1)), func(r0, r1 int) {
		for r := r0; r < r1; r++ {
			o, a := r/view.dim, r%view.dim
			base := r * view.inner
			for i := 0; i < view.inner; i++ {
				p := view.param(o, a, i)
				f[base+i] = float32(int64(xv[base+i])-int64(zps[p])) * scales[p]
			}
		}
	})
	switch d := y.Data.(type) {
	case []float32:
		copy(d, f)
	case []float16.Float16:
		for i, v := range f {
			d[i] = float16.Fromfloat32(v)
		}
	case []tensor.BFloat16:
		for i, v := range f {
			d[i] = tensor.BFloat16FromFloat32(v)
		}
	default:
		return fmt.Errorf("output type %s is not FLOAT, FLOAT16 or BFLOAT16", tensor.Name(ot))
	}
	out[0] = y
	return nil
}

// DynamicQuantizeLinear follows ONNX Runtime: the range [min(x, 0),
// max(x, 0)] gives scale = (max - min) / 255 in float32 (1 when the range
// is empty, where the ONNX formula would divide by zero), zero point =
// round(clamp(0 - min / scale, 0, 255)) and y = QuantizeLinear(x, scale, zp).
func buildDynamicQuantizeLinear(n *Node) (Kernel, error) {
	if len(n.Inputs) < 1 || n.Input(0) == nil {
		return nil, n.Errorf("DynamicQuantizeLinear needs input x")
	}
	if t := n.InputType(0); t != tensor.Undefined && t != tensor.Float {
		return nil, n.Errorf("input x is %s, want FLOAT", tensor.Name(t))
	}
	return KernelFunc(runDynamicQuantizeLinear), nil
}

func runDynamicQuantizeLinear(c *Ctx, in, out []*tensor.Tensor) error {
	x := in[0]
	xs, ok := x.Data.([]float32)
	if !ok || x.Type != tensor.Float {
		return fmt.Errorf("input x is %s, want FLOAT", tensor.Name(x.Type))
	}
	lo, hi := float32(0), float32(0)
	for _, v := range xs {
		if v < lo {
			lo = v
		}
		if v > hi {
			hi = v
		}
	}
	scale := float32(1)
	if hi != lo {
		scale = (hi - lo) / 255
	}
	zpf := 0 - lo/scale
	if !(zpf > 0) {
		zpf = 0
	}
	if !(zpf < 255) {
		zpf = 255
	}
	zp := int32(math.RoundToEven(float64(zpf)))
	y, err := c.Alloc(tensor.Uint8, x.Shape...)
	if err != nil {
		return err
	}
	yd := y.Data.([]uint8)
	c.Parallel(len(xs), 16384, func(i0, i1 int) {
		for i := i0; i < i1; i++ {
			yd[i] = uint8(qQuantize1(xs[i], scale, zp, 0, 255))
		}
	})
	ys, err := c.Alloc(tensor.Float)
	if err != nil {
		return err
	}
	ys.Data.([]float32)[0] = scale
	yz, err := c.Alloc(tensor.Uint8)
	if err != nil {
		return err
	}
	yz.Data.([]uint8)[0] = uint8(zp)
	out[0] = y
	if len(out) > 1 {
		out[1] = ys
	}
	if len(out) > 2 {
		out[2] = yz
	}
	return nil
}
