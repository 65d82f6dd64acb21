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
func micro6x16AVX2(kc int, a, b, c *float32, ldc int, bias *[MR]float32, acc bool)

//go:noescape
func tapsAVX2(dst *float32, n int, base *float32, offs *int, w *float32, ntaps int, init float32)

//go:noescape
func deinterleave2AVX2(even, odd, src *float32, n int)

//go:noescape
func dw3x3x1AVX2(dst, src, w *float32, masks *int32, h, oh, iw, ow, padT, padL, plain int, bias float32)

//go:noescape
func dw3x3x2AVX2(dst, src, w *float32, masks *int32, h, oh, iw, ow, padT, padL, plain int, bias float32)

//go:noescape
func dw3x3x3AVX2(dst, src, w *float32, masks *int32, h, oh, iw, ow, padT, padL, plain int, bias float32)

//go:noescape
func dw3x3x4AVX2(dst, src, w *float32, masks *int32, h, oh, iw, ow, padT, padL, plain int, bias float32)

//go:noescape
func dw3x3WideAVX2(dst, src, w *float32, masks *int32, zero *float32, h, oh, iw, ow, padT, padL, mid, plain int, bias float32)

// zeroRow is what the wide kernel reads for input rows outside the plane.
var zeroRow [wideMaxW + 16]float32

// dw3x3 runs the direct 3x3 kernel for d (see Depthwise2D.direct3x3) with
// the masks of masks3x3: the kernel for 1 to 4 vectors a row up to 32
// outputs, the wide-row kernel above.
func dw3x3(dst, src, w []float32, masks *[128]int32, d *Depthwise2D, bias float32) {
	n := d.OH * d.OW
	_ = dst[n-1]
	_ = src[d.H*d.W-1]
	_ = w[8]
	// Rows stored whole (8 values a vector) must end inside the plane.
	vecs := (d.OW + 7) / 8
	width := 8 * vecs
	plain := 0
	if n >= width {
		plain = min(d.OH, (n-width)/d.OW+1)
	}
	// Direct calls (not through a func value), so that nothing escapes.
	switch vecs {
	case 1:
		dw3x3x1AVX2(&dst[0], &src[0], &w[0], &masks[0], d.H, d.OH, d.W, d.OW, d.PadT, d.PadL, plain, bias)
	case 2:
		dw3x3x2AVX2(&dst[0], &src[0], &w[0], &masks[0], d.H, d.OH, d.W, d.OW, d.PadT, d.PadL, plain, bias)
	case 3:
		dw3x3x3AVX2(&dst[0], &src[0], &w[0], &masks[0], d.H, d.OH, d.W, d.OW, d.PadT, d.PadL, plain, bias)
	case 4:
		dw3x3x4AVX2(&dst[0], &src[0], &w[0], &masks[0], d.H, d.OH, d.W, d.OW, d.PadT, d.PadL, plain, bias)
	default:
		dw3x3WideAVX2(&dst[0], &src[0], &w[0], &masks[0], &zeroRow[0], d.H, d.OH, d.W, d.OW, d.PadT, d.PadL, vecs-2, plain, bias)
	}
}

// deinterleave2 sets even[i] = src[2i] and odd[i] = src[2i+1] for i < n.
func deinterleave2(even, odd, src []float32, n int) {
	even, odd, src = even[:n], odd[:n], src[:2*n]
	i := 0
	if HasSIMD && n >= 8 {
		i = n &^ 7
		deinterleave2AVX2(&even[0], &odd[0], &src[0], i)
	}
	for ; i < n; i++ {
		even[i], odd[i] = src[2*i], src[2*i+1]
	}
}

func microKernel(kc int, a, b, c []float32, ldc int, bias *[MR]float32, acc bool) {
	if !HasSIMD || kc <= 0 {
		microKernelGeneric(kc, a, b, c, ldc, bias, acc)
		return
	}
	_ = a[kc*MR-1]
	_ = b[kc*NR-1]
	_ = c[(MR-1)*ldc+NR-1]
	micro6x16AVX2(kc, &a[0], &b[0], &c[0], ldc, bias, acc)
}

// taps relies on Taps having checked the bounds.
func taps(dst, base []float32, offs []int, w []float32, init float32) {
	if !HasSIMD || len(offs) == 0 {
		tapsGeneric(dst, base, offs, w, init)
		return
	}
	tapsAVX2(&dst[0], len(dst), &base[0], &offs[0], &w[0], len(offs), init)
}

//go:noescape
func scaleShiftAVX2(dst, src *float32, n int, a, b float32)

func scaleShift(dst, src []float32, a, b float32) {
	n := len(src)
	i := 0
	if HasSIMD && n >= 32 {
		i = n &^ 31
		scaleShiftAVX2(&dst[0], &src[0], i, a, b)
	}
	scaleShiftGeneric(dst[i:], src[i:], a, b)
}

//go:noescape
func copyPanelsAVX2(dst, src *float32, n, stride int)

// copyPanels copies n runs of NR values from src (contiguous) to dst, run
// q at q·stride.
func copyPanels(dst, src []float32, n, stride int) {
	if n <= 0 {
		return
	}
	if !HasSIMD {
		copyPanelsGeneric(dst, src, n, stride)
		return
	}
	_ = src[n*NR-1]
	_ = dst[(n-1)*stride+NR-1]
	copyPanelsAVX2(&dst[0], &src[0], n, stride)
}

//go:noescape
func clampAVX2(dst, src *float32, n int, lo, hi float32)

func clamp(dst, src []float32, lo, hi float32) {
	n := len(src)
	i := 0
	// NaN bounds follow Go's min and max only in the portable loop.
	if HasSIMD && n >= 32 && lo == lo && hi == hi {
		i = n &^ 31
		clampAVX2(&dst[0], &src[0], i, lo, hi)
	}
	clampGeneric(dst[i:], src[i:], lo, hi)
}
