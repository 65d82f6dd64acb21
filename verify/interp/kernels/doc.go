// Package kernels holds the float32 compute routines behind the
// interpreter's convolution, matrix product and pooling kernels: a packed,
// cache-blocked matrix product (GEMM) with an im2col operand for general
// convolutions, and a multi-tap row routine for depthwise convolutions.
//
// Every routine is a plain function of its arguments: nothing here keeps
// mutable state, so one routine may run in many goroutines at once. The
// callers hand in the scratch memory the routines need and a function that
// runs work in parallel.
//
// The innermost loops (the 6×16 GEMM micro-kernel, the multi-tap row
// routine of the depthwise convolution, and the packing, deinterleaving
// and scale-shift loops) have a portable Go version and, on amd64 CPUs with
// AVX2 and FMA, an assembly version behind the same signature, chosen at
// run time (HasSIMD); the build tag purego selects the portable versions
// everywhere. The tests check each assembly routine against its portable
// version and the drivers against naive loops.
package kernels
