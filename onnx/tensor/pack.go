package tensor

import "fmt"

// PackSigned packs two's-complement values of the given bit width (2 or 4)
// in ONNX order: element i goes to byte i/(8/bits), bits (i%(8/bits))*bits
// upwards. Values outside the width's range are an error.
func PackSigned(vals []int8, bits int) ([]byte, error) {
	lo, hi := -(1 << (bits - 1)), (1<<(bits-1))-1
	per := 8 / bits
	mask := byte(1<<bits - 1)
	out := make([]byte, (len(vals)+per-1)/per)
	for i, v := range vals {
		if int(v) < lo || int(v) > hi {
			return nil, fmt.Errorf("value %d at %d does not fit %d signed bits", v, i, bits)
		}
		out[i/per] |= (byte(v) & mask) << (uint(i%per) * uint(bits))
	}
	return out, nil
}

// PackUnsigned is PackSigned for unsigned values.
func PackUnsigned(vals []uint8, bits int) ([]byte, error) {
	per := 8 / bits
	out := make([]byte, (len(vals)+per-1)/per)
	for i, v := range vals {
		if int(v) >= 1<<bits {
			return nil, fmt.Errorf("value %d at %d does not fit %d unsigned bits", v, i, bits)
		}
		out[i/per] |= v << (uint(i%per) * uint(bits))
	}
	return out, nil
}

// UnpackSigned reads n two's-complement values of the given bit width from
// packed bytes (the inverse of PackSigned). packed must hold at least
// ceil(n*bits/8) bytes.
func UnpackSigned(packed []byte, bits, n int) []int8 {
	per := 8 / bits
	shift := uint(8 - bits)
	out := make([]int8, n)
	for i := range out {
		v := packed[i/per] >> (uint(i%per) * uint(bits))
		out[i] = int8(v<<shift) >> shift // sign-extend
	}
	return out
}

// UnpackUnsigned reads n unsigned values of the given bit width.
func UnpackUnsigned(packed []byte, bits, n int) []uint8 {
	per := 8 / bits
	mask := byte(1<<bits - 1)
	out := make([]uint8, n)
	for i := range out {
		out[i] = packed[i/per] >> (uint(i%per) * uint(bits)) & mask
	}
	return out
}
