// Package interp is onnx-prom's reference interpreter: it runs float, int8
// and ternary ONNX graphs on the CPU, in pure Go.
//
// Compile turns an ir.Model into a Program once: it checks that every node
// has a kernel and valid attributes (so errors come before any compute),
// inlines model-local functions that have no native kernel, orders the
// steps and works out when each tensor is last used. A Program runs many
// times, concurrently if wanted; each run draws its buffers from a pool
// and returns every intermediate tensor to it after its last use, so a run
// in steady state allocates almost nothing. The batch dimension (any
// symbolic dimension) may change from run to run.
//
// Kernels are registered per (domain, op type) with Register; adding an op
// is one file with one Register call in its init function.
package interp
