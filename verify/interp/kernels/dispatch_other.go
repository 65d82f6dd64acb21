//go:build !amd64 || purego

package kernels

// HasSIMD reports whether the assembly routines are in use.
const HasSIMD = false

func microKernel(kc int, a, b, c []float32, ldc int, acc bool) {
	microKernelGeneric(kc, a, b, c, ldc, acc)
}

func taps(dst, base []float32, offs []int, w []float32, init float32) {
	tapsGeneric(dst, base, offs, w, init)
}
