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

// Clamp sets dst[i] = min(max(src[i], lo), hi) for every i of src (dst at
// least as long), with Go's min and max semantics for NaN: a NaN element
// stays NaN. Only the sign of a zero result may differ from Go's min and
// max (a -0 element clamped at 0 may stay -0). It is the float32 loop of
// ONNX Clip (and of ReLU6).
func Clamp(dst, src []float32, lo, hi float32) {
	dst = dst[:len(src)]
	if len(src) == 0 {
		return
	}
	clamp(dst, src, lo, hi)
}

func clampGeneric(dst, src []float32, lo, hi float32) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] = min(max(v, lo), hi)
	}
}
