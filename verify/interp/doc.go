// Package interp is onnx-prom's reference interpreter: it runs float, int8
// and ternary ONNX graphs on the CPU, in pure Go.
//
// Compile turns an ir.Model into a Program once: it checks that every node
// has a kernel and valid attributes (so errors come before any compute),
// inlines model-local functions that have no native kernel, decodes the
// initializers, lets kernels pack constant weights (a kernel that keeps its
// own packed copy captures the constant, and the program drops the decoded
// one: weights are held once), orders the steps and works out when each
// tensor is last used. A Program runs many times, concurrently if wanted.
//
// Memory. Each concurrent run has a buffer pool. Every intermediate tensor
// and kernel scratch buffer comes from it and goes back to it after its
// last use. The first run of an input shape takes the smallest free buffer
// that fits each request; the pool records when each request was made and
// given back, and before the next run lays the requests out in as few bytes
// as it can (largest first, each into a buffer whose other requests never
// overlap it in time). From then on runs follow that plan and allocate
// nothing for tensors. ConstantBytes and RunOptions.Stats report what the
// program and a run hold, FreeMemory drops the pools. For torchvision's
// MobileNetV2 the constants plus the pool's peak stay within the weights
// plus the two largest activations of the batch (the tests measure it, and
// the resident memory of a process that loads, compiles and runs the
// model, against twice that).
//
// By default every node runs as written, and RunOptions.Observe sees every
// value a node computes. Options.Fuse folds BatchNormalization into the
// Conv before it and clamps a following Relu or Clip in the conv's output
// tiles, as inference runtimes do; the fused program's results differ from
// the op-by-op ones in the last bits, and the fused-away values are not
// observable. The batch dimension (any symbolic dimension) may change from
// run to run.
//
// Control flow (If, Loop, Scan) runs subgraphs compiled once with their
// node into programs of their own; the outer values a subgraph reads are
// passed to it as extra inputs. Observe does not see the values inside
// subgraphs, and every subgraph run counts against Options.MaxWork (or,
// without it, a fixed limit per run), so a loop cannot run forever.
//
// Kernels are registered per (domain, op type) with Register; adding an op
// is one file with one Register call in its init function. Convolutions and
// matrix products run on the blocked GEMM and direct depthwise kernels of
// package kernels (AVX2/FMA assembly with a portable fallback).
package interp
