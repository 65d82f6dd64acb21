//go:build amd64 && !purego

package kernels

// HasSIMD reports whether the assembly routines are in use: on amd64 CPUs
// with AVX2 and FMA (and an OS that saves the YMM registers).
var HasSIMD = detectAVX2FMA()

func detectAVX2FMA() bool {
	maxID, _, _, _ := cpuid(0, 0)
	if maxID < 7 {
		return false
	}
	_, _, ecx1, _ := cpuid(1, 0)
	const fma, osxsave, avx = 1 << 12, 1 << 27, 1 << 28
	if ecx1&fma == 0 || ecx1&osxsave == 0 || ecx1&avx == 0 {
		return false
	}
	if xcr0, _ := xgetbv(); xcr0&6 != 6 {
		return false
	}
	_, ebx7, _, _ := cpuid(7, 0)
	const avx2 = 1 << 5
	return ebx7&avx2 != 0
}

//go:noescape
func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)

//go:noescape
func xgetbv() (eax, edx uint32)

//go:noescape
func micro6x16AVX2(kc int, a, b, c *float32, ldc int, acc bool)

//go:noescape
func tapsAVX2(dst *float32, n int, base *float32, offs *int, w *float32, ntaps int, init float32)

func microKernel(kc int, a, b, c []float32, ldc int, acc bool) {
	if !HasSIMD || kc <= 0 {
		microKernelGeneric(kc, a, b, c, ldc, acc)
		return
	}
	_ = a[kc*MR-1]
	_ = b[kc*NR-1]
	_ = c[(MR-1)*ldc+NR-1]
	micro6x16AVX2(kc, &a[0], &b[0], &c[0], ldc, acc)
}

// taps relies on Taps having checked the bounds.
func taps(dst, base []float32, offs []int, w []float32, init float32) {
	if !HasSIMD || len(offs) == 0 {
		tapsGeneric(dst, base, offs, w, init)
		return
	}
	tapsAVX2(&dst[0], len(dst), &base[0], &offs[0], &w[0], len(offs), init)
}
