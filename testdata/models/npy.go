package models

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
)

// WriteNPY writes data as a little-endian float32 C-order array of the given
// shape in NumPy's .npy format version 1.0: the magic "\x93NUMPY", version
// 1.0, a uint16 little-endian header length, and a header dict
// "{'descr': '<f4', 'fortran_order': False, 'shape': (...), }" padded with
// spaces and ended by '\n' so that the data starts at a multiple of 64 bytes.
func WriteNPY(w io.Writer, shape []int, data []float32) error {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return fmt.Errorf("models: negative dimension in shape %v", shape)
		}
		n *= d
	}
	if n != len(data) {
		return fmt.Errorf("models: shape %v needs %d values, have %d", shape, n, len(data))
	}
	dims := make([]string, len(shape))
	for i, d := range shape {
		dims[i] = fmt.Sprint(d)
	}
	tuple := "(" + strings.Join(dims, ", ") + ")"
	if len(shape) == 1 {
		tuple = "(" + dims[0] + ",)"
	}
	header := "{'descr': '<f4', 'fortran_order': False, 'shape': " + tuple + ", }"
	const prefix = 10 // magic (6) + version (2) + header length (2)
	total := (prefix + len(header) + 1 + 63) / 64 * 64
	header += strings.Repeat(" ", total-prefix-len(header)-1) + "\n"
	if len(header) > math.MaxUint16 {
		return errors.New("models: npy header too long")
	}

	buf := make([]byte, 0, total+4*len(data))
	buf = append(buf, "\x93NUMPY\x01\x00"...)
	buf = binary.LittleEndian.AppendUint16(buf, uint16(len(header)))
	buf = append(buf, header...)
	for _, v := range data {
		buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
	}
	_, err := w.Write(buf)
	return err
}
