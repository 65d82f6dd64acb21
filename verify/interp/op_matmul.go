package interp

import (
	"fmt"

	"github.com/onnx-prom/onnx-prom/onnx/tensor"
	"github.com/onnx-prom/onnx-prom/verify/interp/kernels"
)

// MatMul and Gemm. FLOAT (and FLOAT16/BFLOAT16 through float32) run on the
// packed GEMM of package kernels; a constant right operand is packed once
// at compile time and the product computed transposed (C^T = B^T·A^T), so
// that the per-run packing only touches the activations. DOUBLE and the
// integer types run on plain loops (integers wrap around on overflow).

func init() {
	Register("", "MatMul", buildMatMul)
	Register("", "Gemm", buildGemm)
}

// mmElem are the element types of the plain-loop path.
type mmElem interface {
	float64 | int32 | int64 | uint32 | uint64
}

func mmTypeOK(dt tensor.DataType) bool {
	switch dt {
	case tensor.Float, tensor.Double, tensor.Float16, tensor.BFloat16T,
		tensor.Int32, tensor.Int64, tensor.Uint32, tensor.Uint64:
		return true
	}
	return false
}

// mmUseF32 reports whether dt runs on the float32 GEMM.
func mmUseF32(dt tensor.DataType) bool {
	return dt == tensor.Float || dt == tensor.Float16 || dt == tensor.BFloat16T
}

// ---- MatMul ----

type matMulKernel struct {
	// swapped: B is a constant 2-D float matrix packed as A' = B^T.
	swapped []float32
	bShape  []int64
}

func buildMatMul(n *Node) (Kernel, error) {
	if len(n.Inputs) != 2 || n.Input(0) == nil || n.Input(1) == nil || len(n.Outputs) != 1 {
		return nil, n.Errorf("MatMul takes inputs A and B and has one output")
	}
	ta, tb := n.InputType(0), n.InputType(1)
	for _, dt := range []tensor.DataType{ta, tb} {
		if dt != tensor.Undefined && !mmTypeOK(dt) {
			return nil, n.Errorf("type %s is not supported by MatMul", tensor.Name(dt))
		}
	}
	if ta != tensor.Undefined && tb != tensor.Undefined && ta != tb {
		return nil, n.Errorf("A has type %s but B has type %s", tensor.Name(ta), tensor.Name(tb))
	}
	for i, v := range n.Inputs {
		if v.Shape != nil && len(v.Shape) == 0 {
			return nil, n.Errorf("input %d is a scalar; MatMul needs at least 1-D operands", i)
		}
	}
	k := &matMulKernel{}
	if b := n.Const(1); b != nil && n.Const(0) == nil && len(b.Shape) == 2 && mmUseF32(b.Type) {
		if a := n.Input(0).Shape; a != nil && a[len(a)-1].Known() && a[len(a)-1].Value != b.Shape[0] {
			return nil, n.Errorf("A has shape %v but B has shape %v: inner dimensions differ", a, b.Shape)
		}
		bf, err := cnnConstF32(b)
		if err != nil {
			return nil, n.Errorf("B: %v", err)
		}
		kk, nn := int(b.Shape[0]), int(b.Shape[1])
		k.swapped = make([]float32, kernels.PackedASize(nn, kk))
		kernels.PackA(k.swapped, bf, nn, true, nn, kk, 1)
		k.bShape = b.Shape
		n.Capture(1)
	}
	return k, nil
}

// HeldBytes counts the packed constant B.
func (k *matMulKernel) HeldBytes() int64 { return 4 * int64(len(k.swapped)) }

// mmGeom is the shape of a (batched, broadcast) matrix product.
type mmGeom struct {
	m, k, n    int
	count      int // number of products
	nb         int // rank of the batch shape
	batch      [cnnMaxDims]int64
	aBatch     [cnnMaxDims]int64 // A's batch dims aligned right with batch (1 where absent)
	bBatch     [cnnMaxDims]int64
	aCount     int // number of A matrices
	outShape   [cnnMaxDims + 2]int64
	outRank    int
	aVec, bVec bool
}

func matMulGeometry(as, bs []int64) (mmGeom, error) {
	var g mmGeom
	if len(as) == 0 || len(bs) == 0 {
		return g, fmt.Errorf("MatMul needs at least 1-D operands, got shapes %v and %v", as, bs)
	}
	g.aVec, g.bVec = len(as) == 1, len(bs) == 1
	var ab, bb []int64
	if g.aVec {
		g.m, g.k = 1, int(as[0])
	} else {
		g.m, g.k = int(as[len(as)-2]), int(as[len(as)-1])
		ab = as[:len(as)-2]
	}
	kb := 0
	if g.bVec {
		kb, g.n = int(bs[0]), 1
	} else {
		kb, g.n = int(bs[len(bs)-2]), int(bs[len(bs)-1])
		bb = bs[:len(bs)-2]
	}
	if kb != g.k {
		return g, fmt.Errorf("A has shape %v but B has shape %v: inner dimensions %d and %d differ", as, bs, g.k, kb)
	}
	g.nb = max(len(ab), len(bb))
	if g.nb > cnnMaxDims {
		return g, fmt.Errorf("%d batch dimensions, at most %d are supported", g.nb, cnnMaxDims)
	}
	g.count, g.aCount = 1, 1
	for i := 0; i < g.nb; i++ {
		da, db := int64(1), int64(1)
		if j := i - (g.nb - len(ab)); j >= 0 {
			da = ab[j]
		}
		if j := i - (g.nb - len(bb)); j >= 0 {
			db = bb[j]
		}
		g.aBatch[i], g.bBatch[i] = da, db
		switch {
		case da == db || db == 1:
			g.batch[i] = da
		case da == 1:
			g.batch[i] = db
		default:
			return g, fmt.Errorf("A has shape %v but B has shape %v: batch dimensions do not broadcast", as, bs)
		}
		g.count *= int(g.batch[i])
		g.aCount *= int(da)
	}
	copy(g.outShape[:], g.batch[:g.nb])
	g.outRank = g.nb
	if !g.aVec {
		g.outShape[g.outRank] = int64(g.m)
		g.outRank++
	}
	if !g.bVec {
		g.outShape[g.outRank] = int64(g.n)
		g.outRank++
	}
	return g, nil
}

// batchIndex maps product p (an index into the broadcast batch shape) to
// the index of the operand whose batch dims are dims.
func (g *mmGeom) batchIndex(p int, dims *[cnnMaxDims]int64) int {
	idx, mul := 0, 1
	for i := g.nb - 1; i >= 0; i-- {
		b := int(g.batch[i])
		x := p % b
		p /= b
		if dims[i] != 1 {
			idx += x * mul
		}
		mul *= int(dims[i])
	}
	return idx
}

func (k *matMulKernel) Run(c *Ctx, in, out []*tensor.Tensor) error {
	a, b := in[0], in[1]
	if a.Type != b.Type || !mmTypeOK(a.Type) {
		return fmt.Errorf("A (%s) and B (%s) must have the same supported type", tensor.Name(a.Type), tensor.Name(b.Type))
	}
	g, err := matMulGeometry(a.Shape, b.Shape)
	if err != nil {
		return err
	}
	if !mmUseF32(a.Type) {
		y, err := c.Alloc(a.Type, g.outShape[:g.outRank]...)
		if err != nil {
			return err
		}
		out[0] = y
		switch a.Type {
		case tensor.Double:
			mmLoops(&g, a.Data.([]float64), b.Data.([]float64), y.Data.([]float64))
		case tensor.Int32:
			mmLoops(&g, a.Data.([]int32), b.Data.([]int32), y.Data.([]int32))
		case tensor.Int64:
			mmLoops(&g, a.Data.([]int64), b.Data.([]int64), y.Data.([]int64))
		case tensor.Uint32:
			mmLoops(&g, a.Data.([]uint32), b.Data.([]uint32), y.Data.([]uint32))
		case tensor.Uint64:
			mmLoops(&g, a.Data.([]uint64), b.Data.([]uint64), y.Data.([]uint64))
		}
		return nil
	}
	y, yf, err := cnnOut(c, a.Type, g.outShape[:g.outRank]...)
	if err != nil {
		return err
	}
	out[0] = y
	if y.Len() == 0 {
		return nil
	}
	af, err := cnnF32(c, a)
	if err != nil {
		return err
	}
	M, K, N := g.m, g.k, g.n
	var gm *kernels.Gemm
	if k.swapped != nil && len(b.Shape) == 2 && b.Shape[0] == k.bShape[0] && b.Shape[1] == k.bShape[1] {
		// Y^T [N × rows] = B^T · A^T with all of A's rows at once.
		rows := g.count * M
		gm = &kernels.Gemm{M: N, N: rows, K: K, Count: 1,
			A:      func(int) []float32 { return k.swapped },
			B:      &kernels.Dense{Data: af, Ld: K, Trans: true},
			C:      yf,
			TransC: true}
	} else {
		bf, err := cnnF32(c, b)
		if err != nil {
			return err
		}
		sz := kernels.PackedASize(M, K)
		pa := c.Scratch(g.aCount * sz)
		for i := 0; i < g.aCount; i++ {
			kernels.PackA(pa[i*sz:(i+1)*sz], af[i*M*K:], K, false, M, K, 1)
		}
		gp := &g
		gm = &kernels.Gemm{M: M, N: N, K: K, Count: g.count,
			A: func(p int) []float32 {
				i := gp.batchIndex(p, &gp.aBatch)
				return pa[i*sz : (i+1)*sz]
			},
			B: &kernels.Dense{Data: bf, Ld: N, Offset: func(p int) int { return gp.batchIndex(p, &gp.bBatch) * K * N }},
			C: yf}
	}
	workers := gm.Workers(c.Threads())
	gm.Run(cnnParallel(c), workers, c.Scratch(gm.ScratchSize(workers)))
	cnnFinish(y, yf)
	return nil
}

// mmLoops is the plain-loop batched product.
func mmLoops[T mmElem](g *mmGeom, a, b, y []T) {
	M, K, N := g.m, g.k, g.n
	for p := 0; p < g.count; p++ {
		ao := g.batchIndex(p, &g.aBatch) * M * K
		bo := g.batchIndex(p, &g.bBatch) * K * N
		yo := p * M * N
		for i := 0; i < M; i++ {
			row := y[yo+i*N : yo+(i+1)*N]
			clear(row)
			for kk := 0; kk < K; kk++ {
				av := a[ao+i*K+kk]
				brow := b[bo+kk*N : bo+(kk+1)*N]
				for j, bv := range brow {
					row[j] += av * bv
				}
			}
		}
	}
}

// ---- Gemm ----

type gemmKernel struct {
	alpha, beta    float32
	transA, transB bool
	// swapped: constant float B packed as A' = alpha·op(B)^T.
	swapped []float32
	// packedA: constant float A packed as alpha·op(A) (when B is not const).
	packedA []float32
	aShape  []int64
	bShape  []int64
}

func buildGemm(n *Node) (Kernel, error) {
	if len(n.Inputs) < 2 || len(n.Inputs) > 3 || n.Input(0) == nil || n.Input(1) == nil || len(n.Outputs) != 1 {
		return nil, n.Errorf("Gemm takes inputs A, B and an optional C and has one output")
	}
	if n.Opset < 11 && n.Input(2) == nil {
		return nil, n.Errorf("input C is required before opset 11")
	}
	if n.HasAttr("broadcast") {
		return nil, n.Errorf("attribute broadcast (Gemm before opset 7) is not supported")
	}
	var dt tensor.DataType
	for i := range n.Inputs {
		t := n.InputType(i)
		if t == tensor.Undefined {
			continue
		}
		if !mmTypeOK(t) {
			return nil, n.Errorf("type %s is not supported by Gemm", tensor.Name(t))
		}
		if dt != tensor.Undefined && t != dt {
			return nil, n.Errorf("inputs have different types %s and %s", tensor.Name(dt), tensor.Name(t))
		}
		dt = t
	}
	k := &gemmKernel{}
	var err error
	if k.alpha, err = n.AttrFloat("alpha", 1); err != nil {
		return nil, n.Errorf("%v", err)
	}
	if k.beta, err = n.AttrFloat("beta", 1); err != nil {
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
	for i, name := range []string{"A", "B"} {
		if s := n.Input(i).Shape; s != nil && len(s) != 2 {
			return nil, n.Errorf("%s has shape %v, want a matrix", name, s)
		}
		if t := n.Const(i); t != nil && len(t.Shape) != 2 {
			return nil, n.Errorf("%s has shape %v, want a matrix", name, t.Shape)
		}
	}
	ac, bc := n.Const(0), n.Const(1)
	if ac != nil && bc != nil {
		ka, kb := ac.Shape[1], bc.Shape[0]
		if k.transA {
			ka = ac.Shape[0]
		}
		if k.transB {
			kb = bc.Shape[1]
		}
		if ka != kb {
			return nil, n.Errorf("A has shape %v and B has shape %v: inner dimensions differ", ac.Shape, bc.Shape)
		}
	}
	switch {
	case bc != nil && ac == nil && mmUseF32(bc.Type):
		bf, err := cnnConstF32(bc)
		if err != nil {
			return nil, n.Errorf("B: %v", err)
		}
		kk, nn := int(bc.Shape[0]), int(bc.Shape[1])
		if k.transB {
			kk, nn = nn, kk
		}
		k.swapped = make([]float32, kernels.PackedASize(nn, kk))
		if k.transB {
			kernels.PackA(k.swapped, bf, kk, false, nn, kk, k.alpha)
		} else {
			kernels.PackA(k.swapped, bf, nn, true, nn, kk, k.alpha)
		}
		k.bShape = bc.Shape
		n.Capture(1)
	case ac != nil && mmUseF32(ac.Type):
		af, err := cnnConstF32(ac)
		if err != nil {
			return nil, n.Errorf("A: %v", err)
		}
		mm, kk := int(ac.Shape[0]), int(ac.Shape[1])
		lda := kk
		if k.transA {
			mm, kk = kk, mm
		}
		k.packedA = make([]float32, kernels.PackedASize(mm, kk))
		kernels.PackA(k.packedA, af, lda, k.transA, mm, kk, k.alpha)
		k.aShape = ac.Shape
	}
	return k, nil
}

// HeldBytes counts the packed constant operand.
func (k *gemmKernel) HeldBytes() int64 { return 4 * int64(len(k.swapped)+len(k.packedA)) }

func (k *gemmKernel) Run(c *Ctx, in, out []*tensor.Tensor) error {
	a, b := in[0], in[1]
	var cin *tensor.Tensor
	if len(in) > 2 {
		cin = in[2]
	}
	if a.Type != b.Type || (cin != nil && cin.Type != a.Type) || !mmTypeOK(a.Type) {
		return fmt.Errorf("A, B and C must have the same supported type")
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
		return fmt.Errorf("op(A) is %d×%d but op(B) is %d×%d", M, K, K2, N)
	}
	var cm, cn int // C's broadcast shape, 0 when absent
	if cin != nil {
		var err error
		if cm, cn, err = gemmBiasShape(cin.Shape, M, N); err != nil {
			return err
		}
	}
	if !mmUseF32(a.Type) {
		y, err := c.Alloc(a.Type, int64(M), int64(N))
		if err != nil {
			return err
		}
		out[0] = y
		var cd any
		if cin != nil {
			cd = cin.Data
		}
		switch a.Type {
		case tensor.Double:
			gemmLoops(k, M, N, K, a.Data.([]float64), b.Data.([]float64), cd, cm, cn, y.Data.([]float64))
		case tensor.Int32:
			gemmLoops(k, M, N, K, a.Data.([]int32), b.Data.([]int32), cd, cm, cn, y.Data.([]int32))
		case tensor.Int64:
			gemmLoops(k, M, N, K, a.Data.([]int64), b.Data.([]int64), cd, cm, cn, y.Data.([]int64))
		case tensor.Uint32:
			gemmLoops(k, M, N, K, a.Data.([]uint32), b.Data.([]uint32), cd, cm, cn, y.Data.([]uint32))
		case tensor.Uint64:
			gemmLoops(k, M, N, K, a.Data.([]uint64), b.Data.([]uint64), cd, cm, cn, y.Data.([]uint64))
		}
		return nil
	}
	y, yf, err := cnnOut(c, a.Type, int64(M), int64(N))
	if err != nil {
		return err
	}
	out[0] = y
	if M == 0 || N == 0 {
		return nil
	}
	acc := false
	swapped := k.swapped != nil && shapeEq(b.Shape, k.bShape)
	var rowBias []float32 // beta·C when it is one value per output column
	if cin != nil && k.beta != 0 && swapped && cm == 1 {
		cf, err := cnnF32(c, cin)
		if err != nil {
			return err
		}
		rowBias = c.Scratch(N)
		for j := range rowBias {
			if cn == 1 {
				rowBias[j] = k.beta * cf[0]
			} else {
				rowBias[j] = k.beta * cf[j]
			}
		}
	} else if cin != nil && k.beta != 0 {
		cf, err := cnnF32(c, cin)
		if err != nil {
			return err
		}
		for i := 0; i < M; i++ {
			row := yf[i*N : (i+1)*N]
			for j := range row {
				ci, cj := i, j
				if cm == 1 {
					ci = 0
				}
				if cn == 1 {
					cj = 0
				}
				row[j] = k.beta * cf[ci*cn+cj]
			}
		}
		acc = true
	}
	af, err := cnnF32(c, a)
	if err != nil {
		return err
	}
	var gm *kernels.Gemm
	if swapped {
		// Y^T [N × M] = (alpha·op(B))^T · op(A)^T.
		ldA := K
		if k.transA {
			ldA = M
		}
		gm = &kernels.Gemm{M: N, N: M, K: K, Count: 1,
			A:          func(int) []float32 { return k.swapped },
			B:          &kernels.Dense{Data: af, Ld: ldA, Trans: !k.transA},
			C:          yf,
			TransC:     true,
			Accumulate: acc}
		if rowBias != nil {
			gm.Bias = func(int) []float32 { return rowBias }
		}
	} else {
		bf, err := cnnF32(c, b)
		if err != nil {
			return err
		}
		pa := k.packedA
		if pa == nil || !shapeEq(a.Shape, k.aShape) {
			pa = c.Scratch(kernels.PackedASize(M, K))
			lda := K
			if k.transA {
				lda = M
			}
			kernels.PackA(pa, af, lda, k.transA, M, K, k.alpha)
		}
		ldb := N
		if k.transB {
			ldb = K
		}
		gm = &kernels.Gemm{M: M, N: N, K: K, Count: 1,
			A:          func(int) []float32 { return pa },
			B:          &kernels.Dense{Data: bf, Ld: ldb, Trans: k.transB},
			C:          yf,
			Accumulate: acc}
	}
	workers := gm.Workers(c.Threads())
	gm.Run(cnnParallel(c), workers, c.Scratch(gm.ScratchSize(workers)))
	cnnFinish(y, yf)
	return nil
}

func shapeEq(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// gemmBiasShape checks that C broadcasts to M×N and returns its shape as
// a matrix (rows, cols), each 1 or the full size.
func gemmBiasShape(s []int64, M, N int) (int, int, error) {
	rows, cols := int64(1), int64(1)
	switch len(s) {
	case 0:
	case 1:
		cols = s[0]
	case 2:
		rows, cols = s[0], s[1]
	default:
		return 0, 0, fmt.Errorf("C has shape %v, which does not broadcast to [%d, %d]", s, M, N)
	}
	if (rows != 1 && rows != int64(M)) || (cols != 1 && cols != int64(N)) {
		return 0, 0, fmt.Errorf("C has shape %v, which does not broadcast to [%d, %d]", s, M, N)
	}
	return int(rows), int(cols), nil
}

// gemmLoops is Gemm with plain loops for DOUBLE and the integer types;
// alpha and beta scale in float64 unless they are 1.
func gemmLoops[T mmElem](k *gemmKernel, M, N, K int, a, b []T, cd any, cm, cn int, y []T) {
	var cs []T
	if cd != nil {
		cs = cd.([]T)
	}
	ldA, ldB := K, N
	if k.transA {
		ldA = M
	}
	if k.transB {
		ldB = K
	}
	for i := 0; i < M; i++ {
		for j := 0; j < N; j++ {
			var s T
			for kk := 0; kk < K; kk++ {
				var av, bv T
				if k.transA {
					av = a[kk*ldA+i]
				} else {
					av = a[i*ldA+kk]
				}
				if k.transB {
					bv = b[j*ldB+kk]
				} else {
					bv = b[kk*ldB+j]
				}
				s += av * bv
			}
			if k.alpha != 1 {
				s = T(float64(k.alpha) * float64(s))
			}
			if cs != nil && k.beta != 0 {
				ci, cj := i, j
				if cm == 1 {
					ci = 0
				}
				if cn == 1 {
					cj = 0
				}
				cv := cs[ci*cn+cj]
				if k.beta != 1 {
					cv = T(float64(k.beta) * float64(cv))
				}
				s += cv
			}
			y[i*N+j] = s
		}
	}
}
