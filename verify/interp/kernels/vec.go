package kernels

// ScaleShift sets dst[i] = src[i]·a + b for every i of src (dst at least
// as long).
func ScaleShift(dst, src []float32, a, b float32) {
	dst = dst[:len(src)]
	if len(src) == 0 {
		return
	}
	scaleShift(dst, src, a, b)
}

func scaleShiftGeneric(dst, src []float32, a, b float32) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] = v*a + b
	}
}
