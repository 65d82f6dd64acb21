// Package tensor decodes and encodes ONNX tensors (onnxpb.TensorProto) to and
// from typed Go slices.
//
// A Tensor holds its elements unpacked, one Go value per element, in a slice
// whose Go type follows the element type:
//
//	FLOAT []float32   DOUBLE []float64   FLOAT16 []float16.Float16   BFLOAT16 []BFloat16
//	INT8 []int8       INT16 []int16      INT32 []int32               INT64 []int64
//	UINT8 []uint8     UINT16 []uint16    UINT32 []uint32             UINT64 []uint64
//	BOOL []bool       STRING [][]byte
//	INT4, INT2 []int8 (one element per value)   UINT4, UINT2 []uint8 (likewise)
//
// Packed sub-byte types (INT4/UINT4/INT2/UINT2) are stored in ONNX's packing
// order: element i of the flattened tensor sits in byte i/k at bit offset
// (i%k)*b, where b is the bit width and k = 8/b; unused high bits of the last
// byte are zero.
package tensor

import (
	"fmt"
	"math"

	"github.com/onnx-prom/onnx-prom/onnx/onnxpb"
	"github.com/x448/float16"
)

// DataType is an ONNX element type (TensorProto.DataType).
type DataType = onnxpb.TensorProto_DataType

// Element types, re-exported for brevity.
const (
	Undefined = onnxpb.TensorProto_UNDEFINED
	Float     = onnxpb.TensorProto_FLOAT
	Uint8     = onnxpb.TensorProto_UINT8
	Int8      = onnxpb.TensorProto_INT8
	Uint16    = onnxpb.TensorProto_UINT16
	Int16     = onnxpb.TensorProto_INT16
	Int32     = onnxpb.TensorProto_INT32
	Int64     = onnxpb.TensorProto_INT64
	String    = onnxpb.TensorProto_STRING
	Bool      = onnxpb.TensorProto_BOOL
	Float16   = onnxpb.TensorProto_FLOAT16
	Double    = onnxpb.TensorProto_DOUBLE
	Uint32    = onnxpb.TensorProto_UINT32
	Uint64    = onnxpb.TensorProto_UINT64
	BFloat16T = onnxpb.TensorProto_BFLOAT16
	Uint4     = onnxpb.TensorProto_UINT4
	Int4      = onnxpb.TensorProto_INT4
	Uint2     = onnxpb.TensorProto_UINT2
	Int2      = onnxpb.TensorProto_INT2
)

// BFloat16 is a bfloat16 value: the high 16 bits of a float32.
type BFloat16 uint16

// BFloat16FromFloat32 rounds f to the nearest bfloat16, ties to even; NaN stays NaN.
func BFloat16FromFloat32(f float32) BFloat16 {
	b := float32bits(f)
	if b&0x7fffffff > 0x7f800000 { // NaN: keep it a quiet NaN
		return BFloat16(b>>16 | 0x0040)
	}
	round := uint32(0x7fff) + (b>>16)&1
	return BFloat16((b + round) >> 16)
}

// Float32 widens b to float32 exactly.
func (b BFloat16) Float32() float32 { return float32frombits(uint32(b) << 16) }

// Float16FromFloat32 rounds f to the nearest IEEE half, ties to even.
func Float16FromFloat32(f float32) float16.Float16 { return float16.Fromfloat32(f) }

// Bits returns the width of one element in bits, or 0 for STRING and unknown types.
func Bits(dt DataType) int {
	switch dt {
	case Int2, Uint2:
		return 2
	case Int4, Uint4, onnxpb.TensorProto_FLOAT4E2M1:
		return 4
	case Bool, Int8, Uint8, onnxpb.TensorProto_FLOAT8E4M3FN, onnxpb.TensorProto_FLOAT8E4M3FNUZ,
		onnxpb.TensorProto_FLOAT8E5M2, onnxpb.TensorProto_FLOAT8E5M2FNUZ, onnxpb.TensorProto_FLOAT8E8M0:
		return 8
	case Int16, Uint16, Float16, BFloat16T:
		return 16
	case Int32, Uint32, Float:
		return 32
	case Int64, Uint64, Double, onnxpb.TensorProto_COMPLEX64:
		return 64
	case onnxpb.TensorProto_COMPLEX128:
		return 128
	}
	return 0
}

// Supported reports whether this package can decode and encode elements of dt.
func Supported(dt DataType) bool {
	switch dt {
	case Float, Double, Float16, BFloat16T, Int8, Int16, Int32, Int64,
		Uint8, Uint16, Uint32, Uint64, Bool, String, Int4, Uint4, Int2, Uint2:
		return true
	}
	return false
}

// Name returns the ONNX spelling of dt ("FLOAT", "INT8", ...), or "DataType(n)"
// for a value the schema does not define.
func Name(dt DataType) string {
	if n, ok := onnxpb.TensorProto_DataType_name[int32(dt)]; ok {
		return n
	}
	return fmt.Sprintf("DataType(%d)", int32(dt))
}

// StorageBytes is the number of bytes n elements of dt occupy in raw_data,
// packed sub-byte types rounded up to whole bytes. It returns -1 for STRING
// and types of unknown width, and math.MaxInt64 when the size overflows
// int64 (so that comparisons with a limit or a data length fail safely).
func StorageBytes(dt DataType, n int64) int64 {
	b := int64(Bits(dt))
	if b == 0 {
		return -1
	}
	if n < 0 {
		return math.MaxInt64
	}
	// (n*b + 7) / 8 without overflow: whole bytes of n/8 elements, then
	// the rest.
	whole, rest := n/8, n%8
	if whole > math.MaxInt64/b {
		return math.MaxInt64
	}
	part := (rest*b + 7) / 8
	if whole*b > math.MaxInt64-part {
		return math.MaxInt64
	}
	return whole*b + part
}
