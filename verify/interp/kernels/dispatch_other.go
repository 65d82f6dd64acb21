//go:build !amd64 || purego

package kernels

// HasSIMD reports whether the assembly routines are in use.
const HasSIMD = false

func microKernel(kc int, a, b, c []float32, ldc int, bias *[MR]float32, acc bool) {
	microKernelGeneric(kc, a, b, c, ldc, bias, acc)
}

func taps(dst, base []float32, offs []int, w []float32, init float32) {
	tapsGeneric(dst, base, offs, w, init)
}

// deinterleave2 sets even[i] = src[2i] and odd[i] = src[2i+1] for i < n.
func deinterleave2(even, odd, src []float32, n int) {
	even, odd, src = even[:n], odd[:n], src[:2*n]
	for i := range even {
		even[i], odd[i] = src[2*i], src[2*i+1]
	}
}

func scaleShift(dst, src []float32, a, b float32) { scaleShiftGeneric(dst, src, a, b) }

func copyPanels(dst, src []float32, n, stride int) { copyPanelsGeneric(dst, src, n, stride) }

func clamp(dst, src []float32, lo, hi float32) { clampGeneric(dst, src, lo, hi) }

func dw3x3(dst, src, w []float32, masks *[128]int32, d *Depthwise2D, bias float32) {
	panic("kernels: dw3x3 without SIMD")
}
