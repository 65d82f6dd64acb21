package train

import "github.com/onnx-prom/onnx-prom/verify/interp/kernels"

// gemm computes float32 matrix products with the interpreter's packed,
// cache-blocked kernel (AVX2+FMA where available), single-threaded: the
// callers parallelize over the batch. One gemm belongs to one worker; its
// buffers grow to the largest product and are then reused.
type gemm struct {
	apack   []float32
	scratch []float32
	dense   kernels.Dense
	g       kernels.Gemm
	// Batched products: B_p and C_p start p·bStride and p·cStride into
	// their slices.
	bStride, cStride int
}

func newGemm() *gemm {
	q := &gemm{scratch: make([]float32, (&kernels.Gemm{}).ScratchSize(1))}
	q.g.A = func(int) []float32 { return q.apack }
	q.g.B = &q.dense
	q.dense.Offset = func(p int) int { return p * q.bStride }
	q.g.COffset = func(p int) int { return p * q.cStride }
	return q
}

// pack packs op(A), m×k, as the left operand of the next products; A is
// m×k row-major with rows lda apart or, with trans, k×m.
func (q *gemm) pack(a []float32, lda int, trans bool, m, k int, alpha float32) {
	sz := kernels.PackedASize(m, k)
	if cap(q.apack) < sz {
		q.apack = make([]float32, sz)
	}
	q.apack = q.apack[:sz]
	kernels.PackA(q.apack, a, lda, trans, m, k, alpha)
}

// run computes count products C_p (=, or += with acc) packedA · op(B_p),
// each m×n with inner size k. B_p is k×n with rows ldb apart or, with
// transB, n×k; it starts p·bStride into b. C_p is m×n with rows n apart,
// p·cStride into c.
func (q *gemm) run(m, n, k int, b []float32, ldb int, transB bool, bStride int, c []float32, cStride int, count int, acc bool) {
	q.dense.Data, q.dense.Ld, q.dense.Trans = b, ldb, transB
	q.bStride, q.cStride = bStride, cStride
	q.g.M, q.g.N, q.g.K, q.g.Count = m, n, k, count
	q.g.C, q.g.TransC, q.g.Accumulate = c, false, acc
	q.g.Run(nil, 1, q.scratch)
	q.g.C, q.dense.Data = nil, nil
}

// mul computes C (=, or += with acc) op(A)·op(B): one m×n product.
func (q *gemm) mul(m, n, k int, a []float32, lda int, transA bool, b []float32, ldb int, transB bool, c []float32, acc bool) {
	q.pack(a, lda, transA, m, k, 1)
	q.run(m, n, k, b, ldb, transB, 0, c, 0, 1, acc)
}

// runSrc is run with a right operand from src (an implicit im2col).
func (q *gemm) runSrc(m, n, k int, src kernels.BSource, c []float32, cStride int, count int, acc bool) {
	q.g.B = src
	q.cStride = cStride
	q.g.M, q.g.N, q.g.K, q.g.Count = m, n, k, count
	q.g.C, q.g.TransC, q.g.Accumulate = c, false, acc
	q.g.Run(nil, 1, q.scratch)
	q.g.C, q.g.B = nil, &q.dense
}
