package interp

import (
	"math"

	"github.com/onnx-prom/onnx-prom/onnx/tensor"
	"github.com/onnx-prom/onnx-prom/verify/interp/kernels"
	"github.com/x448/float16"
)

// This file holds the element-type machinery shared by the elementwise,
// shape and reduction kernels (op_*.go), and the unary elementwise ops.
//
// Kernels are written once, generically over the Go element type, and
// reached through a per-type table (numFor, intFor, moveFor): one
// interface call per chunk of work, never per element. FLOAT16 and
// BFLOAT16 are computed in float32 (viaF32) and rounded back.

// elSigned, elUnsigned, elInt, elFloat and elNum are the Go element types
// of the numeric ONNX tensor types (FLOAT16 and BFLOAT16 excluded: they are
// widened to float32).
type (
	elSigned   interface{ int8 | int16 | int32 | int64 }
	elUnsigned interface {
		uint8 | uint16 | uint32 | uint64
	}
	elInt   interface{ elSigned | elUnsigned }
	elFloat interface{ float32 | float64 }
	elNum   interface{ elInt | elFloat }
)

// elemGrain is the smallest chunk of elements worth a goroutine.
const elemGrain = 1 << 15

// numOf implements the generic kernels of one numeric element type.
type numOf[T elNum] struct{}

// numKernels is what numOf[T] offers, for any T.
type numKernels interface {
	unary(op unaryOp, p *unaryParams, dst, src any, lo, hi int)
	clip(dst, src, lo, hi any, from, to int)
	arith(op arithOp, pl *bcastPlan, dst, a, b any, lo, hi int)
	compare(op cmpOp, pl *bcastPlan, dst []bool, a, b any, lo, hi int)
	hasZero(x any) bool
	pow(pl *bcastPlan, dst, base any, exp []float64, iexp []int64, lo, hi int)
	reduce(op reduceOp, dst, src any, r, lo, hi int)
	argExt(dst []int64, src any, outer, r, inner int, isMax, last bool)
	topK(vals any, idx []int64, src any, outer, r, inner, k int, largest, sorted bool)
	cumSum(dst, src any, outer, r, inner int, exclusive, reverse bool)
	castTo(dst *tensor.Tensor, src any) bool
	fromFloat64(dst any, v float64, n int)
	rangeFill(dst any, start, delta any)
	scatterReduce(op reduceOp, dst, upd any, offs []int, blk int)
}

// intOf implements the kernels that only make sense for integers.
type intOf[T elInt] struct{}

// intKernels is what an integer type offers: numOf's kernels and intOf's.
type intKernels interface {
	numKernels
	bitwise(op bitOp, pl *bcastPlan, dst, a, b any, lo, hi int)
	bitNot(dst, src any, lo, hi int)
	divMod(op arithOp, fmod bool, pl *bcastPlan, dst, a, b any, lo, hi int)
}

// numFor returns the kernels of a numeric element type (FLOAT, DOUBLE and
// the integers), or nil.
func numFor(dt tensor.DataType) numKernels {
	switch dt {
	case tensor.Float:
		return numOf[float32]{}
	case tensor.Double:
		return numOf[float64]{}
	}
	if k := intFor(dt); k != nil {
		return k
	}
	return nil
}

// intKind bundles numOf and intOf for an integer type.
type intKind[T elInt] struct {
	numOf[T]
	intOf[T]
}

// intFor returns the kernels of an integer element type, or nil.
func intFor(dt tensor.DataType) intKernels {
	switch dt {
	case tensor.Int8:
		return intKind[int8]{}
	case tensor.Int16:
		return intKind[int16]{}
	case tensor.Int32:
		return intKind[int32]{}
	case tensor.Int64:
		return intKind[int64]{}
	case tensor.Uint8:
		return intKind[uint8]{}
	case tensor.Uint16:
		return intKind[uint16]{}
	case tensor.Uint32:
		return intKind[uint32]{}
	case tensor.Uint64:
		return intKind[uint64]{}
	}
	return nil
}

// isHalf reports FLOAT16 and BFLOAT16, which kernels compute in float32.
func isHalf(dt tensor.DataType) bool { return dt == tensor.Float16 || dt == tensor.BFloat16T }

func isFloatType(dt tensor.DataType) bool {
	return dt == tensor.Float || dt == tensor.Double || isHalf(dt)
}

// widenHalf returns a float32 copy of a FLOAT16/BFLOAT16 tensor in scratch
// memory that lives until the kernel returns.
func widenHalf(c *Ctx, t *tensor.Tensor) *tensor.Tensor {
	n := t.Len()
	f := c.Scratch(n)[:n]
	switch d := t.Data.(type) {
	case []float16.Float16:
		for i, v := range d {
			f[i] = v.Float32()
		}
	case []tensor.BFloat16:
		for i, v := range d {
			f[i] = v.Float32()
		}
	}
	return &tensor.Tensor{Type: tensor.Float, Shape: t.Shape, Data: f}
}

// narrowHalf rounds src into dst, a FLOAT16 or BFLOAT16 slice.
func narrowHalf(dst any, src []float32) {
	switch d := dst.(type) {
	case []float16.Float16:
		for i, v := range src {
			d[i] = float16.Fromfloat32(v)
		}
	case []tensor.BFloat16:
		for i, v := range src {
			d[i] = tensor.BFloat16FromFloat32(v)
		}
	}
}

// viaF32 runs k with FLOAT16/BFLOAT16 inputs widened to float32. When input
// ti is of a half type, the FLOAT outputs of k are rounded back to it.
func viaF32(ti int, k KernelFunc) KernelFunc {
	return func(c *Ctx, in, out []*tensor.Tensor) error {
		anyHalf := false
		for _, t := range in {
			if t != nil && isHalf(t.Type) {
				anyHalf = true
			}
		}
		if !anyHalf {
			return k(c, in, out)
		}
		half := tensor.Undefined
		if ti < len(in) && in[ti] != nil && isHalf(in[ti].Type) {
			half = in[ti].Type
		}
		wide := make([]*tensor.Tensor, len(in))
		for i, t := range in {
			wide[i] = t
			if t != nil && isHalf(t.Type) {
				wide[i] = widenHalf(c, t)
			}
		}
		if err := k(c, wide, out); err != nil {
			return err
		}
		if half == tensor.Undefined {
			return nil
		}
		for i, t := range out {
			if t == nil || t.Type != tensor.Float {
				continue
			}
			h, err := c.Alloc(half, t.Shape...)
			if err != nil {
				return err
			}
			narrowHalf(h.Data, t.Data.([]float32))
			c.pool.put(t)
			out[i] = h
		}
		return nil
	}
}

// registerElem registers b for op in the default domain after an arity
// check at compile time: inputs [0, minIn) must be present and at most
// maxIn given (maxIn < 0: any number, none omitted).
func registerElem(op string, minIn, maxIn int, b Builder) {
	Register("", op, func(n *Node) (Kernel, error) {
		if maxIn >= 0 && len(n.Inputs) > maxIn {
			return nil, n.Errorf("%d inputs, at most %d allowed", len(n.Inputs), maxIn)
		}
		for i := range max(minIn, len(n.Inputs)) {
			if n.Input(i) == nil && (i < minIn || maxIn < 0) {
				return nil, n.Errorf("input %d is required", i)
			}
		}
		if len(n.Outputs) == 0 {
			return nil, n.Errorf("has no outputs")
		}
		return b(n)
	})
}

// typeErr reports an element type a kernel does not handle.
func typeErr(c *Ctx, what string, dt tensor.DataType) error {
	return c.Node().Errorf("%s: element type %s is not supported", what, tensor.Name(dt))
}

type unaryOp int

const (
	uAbs unaryOp = iota
	uNeg
	uSign
	uRelu
	uShrink
	// float only from here on
	uLeakyRelu
	uElu
	uSelu
	uCelu
	uSigmoid
	uHardSigmoid
	uHardSwish
	uTanh
	uSoftplus
	uSoftsign
	uExp
	uLog
	uSqrt
	uReciprocal
	uFloor
	uCeil
	uRound
	uErf
	uSin
	uCos
	uTan
	uAsin
	uAcos
	uAtan
	uSinh
	uCosh
	uAsinh
	uAcosh
	uAtanh
	uThresholdedRelu
	uMish
	uGelu
	uGeluTanh
)

// unaryParams holds the attributes of a unary op.
type unaryParams struct {
	alpha, beta, gamma float64
	bias, lambd        float64
}

func (numOf[T]) unary(op unaryOp, p *unaryParams, dst, src any, lo, hi int) {
	d, s := dst.([]T)[lo:hi], src.([]T)[lo:hi]
	d = d[:len(s)]
	var zero, one T
	one = 1
	switch op {
	case uAbs:
		for i, x := range s {
			if x < 0 {
				x = -x
			}
			d[i] = x
		}
	case uNeg:
		for i, x := range s {
			d[i] = -x
		}
	case uSign:
		for i, x := range s {
			switch {
			case x > 0:
				d[i] = one
			case x < 0:
				d[i] = zero - one
			default:
				d[i] = x // 0, or NaN
			}
		}
	case uRelu:
		// The builtin max is branch-free (and keeps NaN): on real
		// activations, whose signs are unpredictable, it is several times
		// faster than a branch. Likewise below.
		for i, x := range s {
			d[i] = max(x, zero)
		}
	case uShrink:
		for i, x := range s {
			f := float64(x)
			switch {
			case f < -p.lambd:
				d[i] = T(f + p.bias)
			case f > p.lambd:
				d[i] = T(f - p.bias)
			default:
				d[i] = zero
			}
		}
	default:
		floatUnary(op, p, d, s)
	}
}

// floatUnary computes the float-only ops; integer T never gets here (the
// builders refuse it).
func floatUnary[T elNum](op unaryOp, p *unaryParams, d, s []T) {
	f := func(g func(float64) float64) {
		for i, x := range s {
			d[i] = T(g(float64(x)))
		}
	}
	alpha, beta := T(p.alpha), T(p.beta)
	switch op {
	case uLeakyRelu:
		for i, x := range s {
			d[i] = max(x, 0) + alpha*min(x, 0)
		}
	case uThresholdedRelu:
		for i, x := range s {
			if !(x > alpha) {
				x = 0
			}
			d[i] = x
		}
	case uHardSigmoid:
		for i, x := range s {
			d[i] = unitClamp(alpha*x + beta)
		}
	case uHardSwish:
		for i, x := range s {
			d[i] = x * unitClamp(alpha*x+beta)
		}
	case uSigmoid:
		// Accurate in float64 for every x: e^-x overflows to +Inf, giving 0.
		for i, x := range s {
			d[i] = T(1 / (1 + math.Exp(-float64(x))))
		}
	case uTanh:
		f(math.Tanh)
	case uElu:
		for i, x := range s {
			if x < 0 {
				x = T(p.alpha * math.Expm1(float64(x)))
			}
			d[i] = x
		}
	case uSelu:
		for i, x := range s {
			v := float64(x)
			if v > 0 {
				d[i] = T(p.gamma * v)
			} else {
				d[i] = T(p.gamma * p.alpha * math.Expm1(v))
			}
		}
	case uCelu:
		for i, x := range s {
			v := float64(x)
			d[i] = T(max(0, v) + min(0, p.alpha*math.Expm1(v/p.alpha)))
		}
	case uSoftplus:
		f(softplus64)
	case uSoftsign:
		for i, x := range s {
			v := float64(x)
			d[i] = T(v / (1 + math.Abs(v)))
		}
	case uMish:
		f(func(v float64) float64 { return v * math.Tanh(softplus64(v)) })
	case uGelu:
		// 0.5·v·(1 + erf(v/√2)), written with erfc so that it does not
		// cancel for negative v.
		f(func(v float64) float64 { return 0.5 * v * math.Erfc(-v/math.Sqrt2) })
	case uGeluTanh:
		// 0.5·v·(1 + tanh(z)) = v·sigmoid(2z), which does not cancel.
		f(func(v float64) float64 {
			z := math.Sqrt(2/math.Pi) * (v + 0.044715*v*v*v)
			return v / (1 + math.Exp(-2*z))
		})
	case uExp:
		f(math.Exp)
	case uLog:
		f(math.Log)
	case uSqrt:
		f(math.Sqrt)
	case uReciprocal:
		for i, x := range s {
			d[i] = T(1 / float64(x))
		}
	case uFloor:
		f(math.Floor)
	case uCeil:
		f(math.Ceil)
	case uRound:
		f(math.RoundToEven)
	case uErf:
		f(math.Erf)
	case uSin:
		f(math.Sin)
	case uCos:
		f(math.Cos)
	case uTan:
		f(math.Tan)
	case uAsin:
		f(math.Asin)
	case uAcos:
		f(math.Acos)
	case uAtan:
		f(math.Atan)
	case uSinh:
		f(math.Sinh)
	case uCosh:
		f(math.Cosh)
	case uAsinh:
		f(math.Asinh)
	case uAcosh:
		f(math.Acosh)
	case uAtanh:
		f(math.Atanh)
	}
}

// unitClamp clamps v to [0, 1], leaving NaN alone.
func unitClamp[T elNum](v T) T { return min(max(v, 0), 1) }

func softplus64(v float64) float64 {
	if v > 0 {
		return v + math.Log1p(math.Exp(-v))
	}
	return math.Log1p(math.Exp(v))
}

// unaryDef describes a unary op: which element types it takes and how its
// attributes map to unaryParams.
type unaryDef struct {
	op     unaryOp
	ints   bool // integer types allowed
	params func(n *Node) (unaryParams, error)
}

func attrFloats(n *Node, names []string, defs []float64) ([]float64, error) {
	out := make([]float64, len(names))
	for i, name := range names {
		v, err := n.AttrFloat(name, float32(defs[i]))
		if err != nil {
			return nil, n.Errorf("%v", err)
		}
		out[i] = float64(v)
	}
	return out, nil
}

func withAlpha(def float64) func(n *Node) (unaryParams, error) {
	return func(n *Node) (unaryParams, error) {
		v, err := attrFloats(n, []string{"alpha"}, []float64{def})
		if err != nil {
			return unaryParams{}, err
		}
		return unaryParams{alpha: v[0]}, nil
	}
}

func withAlphaBeta(a, b float64) func(n *Node) (unaryParams, error) {
	return func(n *Node) (unaryParams, error) {
		v, err := attrFloats(n, []string{"alpha", "beta"}, []float64{a, b})
		if err != nil {
			return unaryParams{}, err
		}
		return unaryParams{alpha: v[0], beta: v[1]}, nil
	}
}

func init() {
	defs := map[string]unaryDef{
		"Abs":             {op: uAbs, ints: true},
		"Neg":             {op: uNeg, ints: true},
		"Sign":            {op: uSign, ints: true},
		"Relu":            {op: uRelu, ints: true},
		"LeakyRelu":       {op: uLeakyRelu, params: withAlpha(0.01)},
		"ThresholdedRelu": {op: uThresholdedRelu, params: withAlpha(1)},
		"Elu":             {op: uElu, params: withAlpha(1)},
		"Celu":            {op: uCelu, params: withAlpha(1)},
		"HardSigmoid":     {op: uHardSigmoid, params: withAlphaBeta(0.2, 0.5)},
		"HardSwish":       {op: uHardSwish, params: func(*Node) (unaryParams, error) { return unaryParams{alpha: 1.0 / 6, beta: 0.5}, nil }},
		"Selu": {op: uSelu, params: func(n *Node) (unaryParams, error) {
			v, err := attrFloats(n, []string{"alpha", "gamma"}, []float64{1.67326319217681884765625, 1.05070102214813232421875})
			if err != nil {
				return unaryParams{}, err
			}
			return unaryParams{alpha: v[0], gamma: v[1]}, nil
		}},
		"Shrink": {op: uShrink, ints: true, params: func(n *Node) (unaryParams, error) {
			v, err := attrFloats(n, []string{"bias", "lambd"}, []float64{0, 0.5})
			if err != nil {
				return unaryParams{}, err
			}
			return unaryParams{bias: v[0], lambd: v[1]}, nil
		}},
		"Sigmoid":    {op: uSigmoid},
		"Tanh":       {op: uTanh},
		"Softplus":   {op: uSoftplus},
		"Softsign":   {op: uSoftsign},
		"Exp":        {op: uExp},
		"Log":        {op: uLog},
		"Sqrt":       {op: uSqrt},
		"Reciprocal": {op: uReciprocal},
		"Floor":      {op: uFloor},
		"Ceil":       {op: uCeil},
		"Round":      {op: uRound},
		"Erf":        {op: uErf},
		"Sin":        {op: uSin},
		"Cos":        {op: uCos},
		"Tan":        {op: uTan},
		"Asin":       {op: uAsin},
		"Acos":       {op: uAcos},
		"Atan":       {op: uAtan},
		"Sinh":       {op: uSinh},
		"Cosh":       {op: uCosh},
		"Asinh":      {op: uAsinh},
		"Acosh":      {op: uAcosh},
		"Atanh":      {op: uAtanh},
		"Mish":       {op: uMish},
	}
	for name, d := range defs {
		registerElem(name, 1, 1, buildUnary(d))
	}
	registerElem("Gelu", 1, 1, func(n *Node) (Kernel, error) {
		approx, err := n.AttrString("approximate", "none")
		if err != nil {
			return nil, n.Errorf("%v", err)
		}
		switch approx {
		case "none":
			return buildUnary(unaryDef{op: uGelu})(n)
		case "tanh":
			return buildUnary(unaryDef{op: uGeluTanh})(n)
		}
		return nil, n.Errorf("approximate %q: want none or tanh", approx)
	})
	registerElem("Clip", 1, 3, buildClip)
	registerElem("Not", 1, 1, buildNot)
	registerElem("BitwiseNot", 1, 1, buildBitwiseNot)
	registerElem("IsNaN", 1, 1, buildIsNaN)
	registerElem("IsInf", 1, 1, buildIsInf)
}

func buildUnary(def unaryDef) Builder {
	return func(n *Node) (Kernel, error) {
		var p unaryParams
		if def.params != nil {
			var err error
			if p, err = def.params(n); err != nil {
				return nil, err
			}
		}
		if dt := n.InputType(0); dt != tensor.Undefined && !def.ints && !isFloatType(dt) {
			return nil, n.Errorf("element type %s is not supported (floating-point only)", tensor.Name(dt))
		}
		return viaF32(0, func(c *Ctx, in, out []*tensor.Tensor) error {
			x := in[0]
			k := numFor(x.Type)
			if k == nil || (!def.ints && !isFloatType(x.Type)) {
				return typeErr(c, "input", x.Type)
			}
			y, err := c.Alloc(x.Type, x.Shape...)
			if err != nil {
				return err
			}
			c.Parallel(x.Len(), elemGrain, func(lo, hi int) { k.unary(def.op, &p, y.Data, x.Data, lo, hi) })
			out[0] = y
			return nil
		}), nil
	}
}

func (numOf[T]) clip(dst, src, lo, hi any, from, to int) {
	d, s := dst.([]T)[from:to], src.([]T)[from:to]
	d = d[:len(s)]
	var l, h T
	hasL, hasH := false, false
	if v, ok := lo.([]T); ok && len(v) > 0 {
		l, hasL = v[0], true
	}
	if v, ok := hi.([]T); ok && len(v) > 0 {
		h, hasH = v[0], true
	}
	switch {
	case hasL && hasH:
		for i, x := range s {
			d[i] = min(max(x, l), h)
		}
	case hasL:
		for i, x := range s {
			d[i] = max(x, l)
		}
	case hasH:
		for i, x := range s {
			d[i] = min(x, h)
		}
	default:
		copy(d, s)
	}
}

// buildClip handles Clip: min/max attributes up to opset 10, optional
// scalar inputs from opset 11.
func buildClip(n *Node) (Kernel, error) {
	var attrLo, attrHi any
	if n.Opset < 11 {
		lo, err := n.AttrFloat("min", float32(math.Inf(-1)))
		if err != nil {
			return nil, n.Errorf("%v", err)
		}
		hi, err := n.AttrFloat("max", float32(math.Inf(1)))
		if err != nil {
			return nil, n.Errorf("%v", err)
		}
		attrLo, attrHi = []float32{lo}, []float32{hi}
	}
	return viaF32(0, func(c *Ctx, in, out []*tensor.Tensor) error {
		x := in[0]
		k := numFor(x.Type)
		if k == nil {
			return typeErr(c, "input", x.Type)
		}
		lo, hi := attrLo, attrHi
		if n.Opset < 11 {
			if x.Type == tensor.Double {
				lo, hi = []float64{float64(attrLo.([]float32)[0])}, []float64{float64(attrHi.([]float32)[0])}
			} else if x.Type != tensor.Float {
				return typeErr(c, "input", x.Type)
			}
		}
		for i := 1; i <= 2 && i < len(in); i++ {
			t := in[i]
			if t == nil {
				continue
			}
			if t.Type != x.Type {
				return c.Node().Errorf("bound %d has type %s, input %s", i, tensor.Name(t.Type), tensor.Name(x.Type))
			}
			if t.Len() != 1 {
				return c.Node().Errorf("bound %d has %d elements, want a scalar", i, t.Len())
			}
			if i == 1 {
				lo = t.Data
			} else {
				hi = t.Data
			}
		}
		y, err := c.Alloc(x.Type, x.Shape...)
		if err != nil {
			return err
		}
		if xs, ok := x.Data.([]float32); ok {
			// float32, the CNN case: the SIMD clamp (NaN stays NaN, as min/max do).
			l, h := float32(math.Inf(-1)), float32(math.Inf(1))
			if lo != nil {
				l = lo.([]float32)[0]
			}
			if hi != nil {
				h = hi.([]float32)[0]
			}
			ys := y.Data.([]float32)
			c.Parallel(len(xs), elemGrain, func(a, b int) { kernels.Clamp(ys[a:b], xs[a:b], l, h) })
			out[0] = y
			return nil
		}
		c.Parallel(x.Len(), elemGrain, func(a, b int) { k.clip(y.Data, x.Data, lo, hi, a, b) })
		out[0] = y
		return nil
	}), nil
}

func buildNot(n *Node) (Kernel, error) {
	return KernelFunc(func(c *Ctx, in, out []*tensor.Tensor) error {
		x, ok := in[0].Data.([]bool)
		if !ok {
			return typeErr(c, "input", in[0].Type)
		}
		y, err := c.Alloc(tensor.Bool, in[0].Shape...)
		if err != nil {
			return err
		}
		d := y.Data.([]bool)
		for i, v := range x {
			d[i] = !v
		}
		out[0] = y
		return nil
	}), nil
}

func (intOf[T]) bitNot(dst, src any, lo, hi int) {
	d, s := dst.([]T)[lo:hi], src.([]T)[lo:hi]
	for i, v := range s {
		d[i] = ^v
	}
}

func buildBitwiseNot(n *Node) (Kernel, error) {
	return KernelFunc(func(c *Ctx, in, out []*tensor.Tensor) error {
		x := in[0]
		k := intFor(x.Type)
		if k == nil {
			return typeErr(c, "input", x.Type)
		}
		y, err := c.Alloc(x.Type, x.Shape...)
		if err != nil {
			return err
		}
		c.Parallel(x.Len(), elemGrain, func(lo, hi int) { k.bitNot(y.Data, x.Data, lo, hi) })
		out[0] = y
		return nil
	}), nil
}

// floatPredicate evaluates f on every element of a float tensor into a
// BOOL tensor.
func floatPredicate(c *Ctx, x *tensor.Tensor, f func(float64) bool) (*tensor.Tensor, error) {
	y, err := c.Alloc(tensor.Bool, x.Shape...)
	if err != nil {
		return nil, err
	}
	d := y.Data.([]bool)
	switch s := x.Data.(type) {
	case []float32:
		for i, v := range s {
			d[i] = f(float64(v))
		}
	case []float64:
		for i, v := range s {
			d[i] = f(v)
		}
	case []float16.Float16:
		for i, v := range s {
			d[i] = f(float64(v.Float32()))
		}
	case []tensor.BFloat16:
		for i, v := range s {
			d[i] = f(float64(v.Float32()))
		}
	default:
		c.pool.put(y)
		return nil, typeErr(c, "input", x.Type)
	}
	return y, nil
}

func buildIsNaN(n *Node) (Kernel, error) {
	return KernelFunc(func(c *Ctx, in, out []*tensor.Tensor) error {
		y, err := floatPredicate(c, in[0], math.IsNaN)
		out[0] = y
		return err
	}), nil
}

func buildIsInf(n *Node) (Kernel, error) {
	neg, err := n.AttrInt("detect_negative", 1)
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	pos, err := n.AttrInt("detect_positive", 1)
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	return KernelFunc(func(c *Ctx, in, out []*tensor.Tensor) error {
		y, err := floatPredicate(c, in[0], func(v float64) bool {
			return (neg != 0 && math.IsInf(v, -1)) || (pos != 0 && math.IsInf(v, 1))
		})
		out[0] = y
		return err
	}), nil
}
