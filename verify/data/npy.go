package data

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"reflect"
	"strconv"
	"strings"

	"github.com/onnx-prom/onnx-prom/onnx"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
	"github.com/x448/float16"
)

// npyMagic starts every .npy file.
const npyMagic = "\x93NUMPY"

// MaxNPYHeader is the largest .npy header ReadNPY accepts, in bytes. NumPy
// itself refuses headers over 10,000 bytes by default.
const MaxNPYHeader = 1 << 16

// maxNPYDims bounds the rank of an array (NumPy 2 allows 64 dimensions).
const maxNPYDims = 64

// ErrNotNPY reports input that does not start with the .npy magic string.
var ErrNotNPY = errors.New("not a .npy file")

// NPYHeader is the decoded header of a .npy file.
type NPYHeader struct {
	Major, Minor int             // format version
	Descr        string          // NumPy's dtype string, e.g. "<f4"
	Type         tensor.DataType // element type
	BigEndian    bool            // multi-byte elements are stored big-endian
	FortranOrder bool            // elements are stored in Fortran (column-major) order
	Shape        []int64
	DataOffset   int64 // bytes from the start of the file to the array data
}

// ItemSize is the size of one stored element in bytes.
func (h *NPYHeader) ItemSize() int { return tensor.Bits(h.Type) / 8 }

// DataBytes is the size of the array data in bytes.
func (h *NPYHeader) DataBytes() (int64, error) {
	n, err := tensor.NumElements(h.Shape)
	if err != nil {
		return 0, err
	}
	size := int64(h.ItemSize())
	if n > math.MaxInt64/size {
		return 0, fmt.Errorf("shape %v: %w", h.Shape, tensor.ErrTooLarge)
	}
	return n * size, nil
}

// NPYOptions control reading .npy files.
type NPYOptions struct {
	// MaxBytes caps the size of the array data; 0 means
	// tensor.DefaultMaxBytes.
	MaxBytes int64
}

func (o NPYOptions) maxBytes() int64 {
	if o.MaxBytes <= 0 {
		return tensor.DefaultMaxBytes
	}
	return o.MaxBytes
}

// ReadNPY reads one array in .npy format from r, with default options.
func ReadNPY(r io.Reader) (*tensor.Tensor, error) { return NPYOptions{}.Read(r) }

// ReadNPYFile reads the .npy file at path, with default options.
func ReadNPYFile(path string) (*tensor.Tensor, error) { return NPYOptions{}.ReadFile(path) }

// Read reads one array in .npy format from r. It reads exactly the header
// and the array data, nothing after them.
func (o NPYOptions) Read(r io.Reader) (*tensor.Tensor, error) {
	h, err := ReadNPYHeader(r)
	if err != nil {
		return nil, err
	}
	size, err := o.checkSize(h)
	if err != nil {
		return nil, err
	}
	// Grow the buffer with the data actually read, so that a header
	// announcing more than the input holds cannot make us allocate it.
	var buf bytes.Buffer
	buf.Grow(int(min(size, 1<<20)))
	got, err := io.Copy(&buf, io.LimitReader(r, size))
	if err != nil {
		return nil, fmt.Errorf("npy data: %w", err)
	}
	if got < size {
		return nil, fmt.Errorf("npy data truncated: the header announces %d bytes, the input holds %d", size, got)
	}
	return h.decode(buf.Bytes())
}

// ReadFile reads the .npy file at path. The file must hold exactly one
// array: its size must match the header.
func (o NPYOptions) ReadFile(path string) (*tensor.Tensor, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h, err := ReadNPYHeader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	size, err := o.checkSize(h)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if have := st.Size() - h.DataOffset; have != size {
		return nil, fmt.Errorf("%s: the header announces %d data bytes, the file holds %d", path, size, have)
	}
	raw := make([]byte, size)
	if _, err := io.ReadFull(f, raw); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	t, err := h.decode(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// checkSize returns the data size of h after checking it against the cap.
func (o NPYOptions) checkSize(h *NPYHeader) (int64, error) {
	size, err := h.DataBytes()
	if err != nil {
		return 0, err
	}
	if size > o.maxBytes() {
		return 0, fmt.Errorf("npy array %s %v has %d bytes, over the %d-byte limit: %w",
			h.Descr, h.Shape, size, o.maxBytes(), tensor.ErrTooLarge)
	}
	if size > math.MaxInt {
		return 0, fmt.Errorf("npy array of %d bytes: %w", size, tensor.ErrTooLarge)
	}
	return size, nil
}

// ReadNPYHeader reads the magic string, version and header of a .npy file
// from r, leaving r at the start of the array data.
func ReadNPYHeader(r io.Reader) (*NPYHeader, error) {
	var pre [8]byte
	if _, err := io.ReadFull(r, pre[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%w: too short", ErrNotNPY)
		}
		return nil, err
	}
	if string(pre[:6]) != npyMagic {
		return nil, fmt.Errorf("%w: bad magic string %q", ErrNotNPY, pre[:6])
	}
	h := &NPYHeader{Major: int(pre[6]), Minor: int(pre[7])}
	var hlen int64
	switch h.Major {
	case 1:
		var b [2]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, fmt.Errorf("npy header length: %w", noEOF(err))
		}
		hlen = int64(binary.LittleEndian.Uint16(b[:]))
		h.DataOffset = 10 + hlen
	case 2, 3:
		var b [4]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, fmt.Errorf("npy header length: %w", noEOF(err))
		}
		hlen = int64(binary.LittleEndian.Uint32(b[:]))
		h.DataOffset = 12 + hlen
	default:
		return nil, fmt.Errorf("npy format version %d.%d is not supported (1.0, 2.0 and 3.0 are)", h.Major, h.Minor)
	}
	if h.Minor != 0 {
		return nil, fmt.Errorf("npy format version %d.%d is not supported (1.0, 2.0 and 3.0 are)", h.Major, h.Minor)
	}
	if hlen > MaxNPYHeader {
		return nil, fmt.Errorf("npy header of %d bytes is over the %d-byte limit", hlen, MaxNPYHeader)
	}
	buf := make([]byte, hlen)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, fmt.Errorf("npy header: %w", noEOF(err))
	}
	if err := h.parse(buf); err != nil {
		return nil, fmt.Errorf("npy header: %w", err)
	}
	return h, nil
}

func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// parse decodes the header dict, a Python literal such as
// {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }.
func (h *NPYHeader) parse(b []byte) error {
	for _, c := range b {
		// Versions 1 and 2 are latin-1, 3 is UTF-8; a valid header is ASCII.
		if c >= 0x80 || (c < 0x20 && c != '\n' && c != '\r' && c != '\t') {
			return fmt.Errorf("byte 0x%02x is not allowed in a header", c)
		}
	}
	p := &dictParser{s: string(b)}
	seen := map[string]bool{}
	p.space()
	if err := p.expect('{'); err != nil {
		return err
	}
	for {
		p.space()
		if p.peek() == '}' {
			p.i++
			break
		}
		key, err := p.str()
		if err != nil {
			return fmt.Errorf("key: %w", err)
		}
		if seen[key] {
			return fmt.Errorf("key %q appears twice", key)
		}
		seen[key] = true
		p.space()
		if err := p.expect(':'); err != nil {
			return err
		}
		p.space()
		switch key {
		case "descr":
			if p.peek() == '[' {
				return errors.New("structured dtypes are not supported")
			}
			d, err := p.str()
			if err != nil {
				return fmt.Errorf("descr: %w", err)
			}
			if err := h.setDescr(d); err != nil {
				return err
			}
		case "fortran_order":
			v, err := p.boolean()
			if err != nil {
				return fmt.Errorf("fortran_order: %w", err)
			}
			h.FortranOrder = v
		case "shape":
			s, err := p.tuple()
			if err != nil {
				return fmt.Errorf("shape: %w", err)
			}
			h.Shape = s
		default:
			return fmt.Errorf("unexpected key %q", key)
		}
		p.space()
		if p.peek() == ',' {
			p.i++
			continue
		}
		p.space()
		if err := p.expect('}'); err != nil {
			return err
		}
		break
	}
	p.space()
	if p.i != len(p.s) {
		return fmt.Errorf("unexpected %q after the dict", clip(p.s[p.i:]))
	}
	for _, k := range []string{"descr", "fortran_order", "shape"} {
		if !seen[k] {
			return fmt.Errorf("key %q is missing", k)
		}
	}
	return nil
}

// npyTypes maps dtype kind and size to element types.
var npyTypes = map[string]tensor.DataType{
	"f2": tensor.Float16, "f4": tensor.Float, "f8": tensor.Double,
	"i1": tensor.Int8, "i2": tensor.Int16, "i4": tensor.Int32, "i8": tensor.Int64,
	"u1": tensor.Uint8, "u2": tensor.Uint16, "u4": tensor.Uint32, "u8": tensor.Uint64,
	"b1": tensor.Bool,
}

func (h *NPYHeader) setDescr(d string) error {
	h.Descr = d
	if len(d) < 2 {
		return fmt.Errorf("dtype %q is not supported", d)
	}
	order, code := d[0], d[1:]
	dt, ok := npyTypes[code]
	if !ok {
		return fmt.Errorf("dtype %q is not supported (want one of <f2 <f4 <f8 |i1 |u1 <i2 <u2 <i4 <u4 <i8 <u8 |b1)", d)
	}
	h.Type = dt
	single := tensor.Bits(dt) == 8
	switch {
	case order == '<':
	case order == '>':
		h.BigEndian = !single
	case order == '|' && single:
	default:
		return fmt.Errorf("dtype %q: byte order %q is not supported", d, order)
	}
	return nil
}

// decode turns the raw array data into a tensor in C order.
func (h *NPYHeader) decode(raw []byte) (*tensor.Tensor, error) {
	shape := append([]int64{}, h.Shape...)
	if h.FortranOrder && len(shape) > 1 {
		raw = fortranToC(raw, shape, h.ItemSize())
	}
	n := len(raw) / h.ItemSize()
	var bo binary.ByteOrder = binary.LittleEndian
	if h.BigEndian {
		bo = binary.BigEndian
	}
	t := &tensor.Tensor{Type: h.Type, Shape: shape}
	switch h.Type {
	case tensor.Float:
		d := make([]float32, n)
		for i := range d {
			d[i] = math.Float32frombits(bo.Uint32(raw[4*i:]))
		}
		t.Data = d
	case tensor.Double:
		d := make([]float64, n)
		for i := range d {
			d[i] = math.Float64frombits(bo.Uint64(raw[8*i:]))
		}
		t.Data = d
	case tensor.Float16:
		d := make([]float16.Float16, n)
		for i := range d {
			d[i] = float16.Frombits(bo.Uint16(raw[2*i:]))
		}
		t.Data = d
	case tensor.Int8:
		d := make([]int8, n)
		for i := range d {
			d[i] = int8(raw[i])
		}
		t.Data = d
	case tensor.Uint8:
		t.Data = append([]uint8{}, raw...)
	case tensor.Bool:
		d := make([]bool, n)
		for i := range d {
			d[i] = raw[i] != 0
		}
		t.Data = d
	case tensor.Int16:
		d := make([]int16, n)
		for i := range d {
			d[i] = int16(bo.Uint16(raw[2*i:]))
		}
		t.Data = d
	case tensor.Uint16:
		d := make([]uint16, n)
		for i := range d {
			d[i] = bo.Uint16(raw[2*i:])
		}
		t.Data = d
	case tensor.Int32:
		d := make([]int32, n)
		for i := range d {
			d[i] = int32(bo.Uint32(raw[4*i:]))
		}
		t.Data = d
	case tensor.Uint32:
		d := make([]uint32, n)
		for i := range d {
			d[i] = bo.Uint32(raw[4*i:])
		}
		t.Data = d
	case tensor.Int64:
		d := make([]int64, n)
		for i := range d {
			d[i] = int64(bo.Uint64(raw[8*i:]))
		}
		t.Data = d
	case tensor.Uint64:
		d := make([]uint64, n)
		for i := range d {
			d[i] = bo.Uint64(raw[8*i:])
		}
		t.Data = d
	default:
		return nil, fmt.Errorf("element type %s is not supported", tensor.Name(h.Type))
	}
	return t, nil
}

// fortranToC reorders the elements of an array of the given shape from
// column-major to row-major order.
func fortranToC(raw []byte, shape []int64, size int) []byte {
	out := make([]byte, len(raw))
	k := len(shape)
	// Column-major strides, in elements.
	stride := make([]int64, k)
	s := int64(1)
	for i := 0; i < k; i++ {
		stride[i] = s
		s *= shape[i]
	}
	idx := make([]int64, k)
	src := int64(0)
	for dst := 0; dst < len(out); dst += size {
		copy(out[dst:dst+size], raw[src*int64(size):])
		// Advance the row-major index, last axis fastest.
		for a := k - 1; a >= 0; a-- {
			idx[a]++
			src += stride[a]
			if idx[a] < shape[a] {
				break
			}
			src -= idx[a] * stride[a]
			idx[a] = 0
		}
	}
	return out
}

// dictParser reads the Python literals of a .npy header.
type dictParser struct {
	s string
	i int
}

func (p *dictParser) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

func (p *dictParser) space() {
	for p.i < len(p.s) && strings.IndexByte(" \t\r\n", p.s[p.i]) >= 0 {
		p.i++
	}
}

func (p *dictParser) expect(c byte) error {
	if p.peek() != c {
		return p.unexpected(fmt.Sprintf("%q", c))
	}
	p.i++
	return nil
}

func (p *dictParser) unexpected(want string) error {
	if p.i >= len(p.s) {
		return fmt.Errorf("want %s, found the end of the header", want)
	}
	return fmt.Errorf("want %s at offset %d, found %q", want, p.i, clip(p.s[p.i:]))
}

// str reads a quoted string without escapes.
func (p *dictParser) str() (string, error) {
	q := p.peek()
	if q != '\'' && q != '"' {
		return "", p.unexpected("a quoted string")
	}
	end := strings.IndexByte(p.s[p.i+1:], q)
	if end < 0 {
		return "", errors.New("unterminated string")
	}
	s := p.s[p.i+1 : p.i+1+end]
	if strings.ContainsAny(s, "\\\n") {
		return "", fmt.Errorf("string %q: escapes are not supported", clip(s))
	}
	p.i += end + 2
	return s, nil
}

func (p *dictParser) boolean() (bool, error) {
	switch {
	case strings.HasPrefix(p.s[p.i:], "True"):
		p.i += 4
		return true, nil
	case strings.HasPrefix(p.s[p.i:], "False"):
		p.i += 5
		return false, nil
	}
	return false, p.unexpected("True or False")
}

// tuple reads a tuple of non-negative integers: (), (3,), (2, 3) or (2, 3,).
// Python 2's long suffix (3L) is accepted.
func (p *dictParser) tuple() ([]int64, error) {
	if err := p.expect('('); err != nil {
		return nil, err
	}
	dims := []int64{}
	for {
		p.space()
		if p.peek() == ')' { // (), or after a comma
			p.i++
			return dims, nil
		}
		start := p.i
		for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
			p.i++
		}
		if p.i == start {
			return nil, p.unexpected("a non-negative integer")
		}
		d, err := strconv.ParseInt(p.s[start:p.i], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("dimension %s is too large", clip(p.s[start:p.i]))
		}
		if c := p.peek(); c == 'L' || c == 'l' {
			p.i++
		}
		if len(dims) == maxNPYDims {
			return nil, fmt.Errorf("more than %d dimensions", maxNPYDims)
		}
		dims = append(dims, d)
		p.space()
		switch p.peek() {
		case ',':
			p.i++
		case ')':
			if len(dims) == 1 {
				return nil, errors.New("(n) is a number, not a tuple: write (n,)")
			}
		default:
			return nil, p.unexpected("',' or ')'")
		}
	}
}

func clip(s string) string {
	if len(s) > 20 {
		return s[:20] + "..."
	}
	return s
}

// WriteNPY writes t to w in .npy format: version 1.0 (2.0 if the header
// needs it), little-endian, C order, the data starting at a multiple of 64
// bytes. Element types NumPy lacks are widened losslessly: BFLOAT16 to <f4,
// INT4 and INT2 to |i1, UINT4 and UINT2 to |u1. STRING tensors are refused.
func WriteNPY(w io.Writer, t *tensor.Tensor) error {
	if t == nil {
		return errors.New("npy: nil tensor")
	}
	n, err := tensor.NumElements(t.Shape)
	if err != nil {
		return fmt.Errorf("npy: %w", err)
	}
	if int64(t.Len()) != n {
		return fmt.Errorf("npy: %s tensor has %d elements for shape %v", tensor.Name(t.Type), t.Len(), t.Shape)
	}
	descr, err := npyDescr(t)
	if err != nil {
		return err
	}
	if z, err := tensor.New(t.Type, 0); err != nil || reflect.TypeOf(z.Data) != reflect.TypeOf(t.Data) {
		return fmt.Errorf("npy: %s tensor holds %T", tensor.Name(t.Type), t.Data)
	}
	dims := make([]string, len(t.Shape))
	for i, d := range t.Shape {
		dims[i] = strconv.FormatInt(d, 10)
	}
	shape := "(" + strings.Join(dims, ", ") + ")"
	if len(dims) == 1 {
		shape = "(" + dims[0] + ",)"
	}
	dict := "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }"
	prefix := 10
	total := (prefix + len(dict) + 1 + 63) / 64 * 64
	if total-prefix > math.MaxUint16 {
		prefix = 12 // version 2.0: 4-byte header length
		total = (prefix + len(dict) + 1 + 63) / 64 * 64
	}
	hlen := total - prefix
	head := make([]byte, 0, total)
	head = append(head, npyMagic...)
	if prefix == 10 {
		head = append(head, 1, 0)
		head = binary.LittleEndian.AppendUint16(head, uint16(hlen))
	} else {
		head = append(head, 2, 0)
		head = binary.LittleEndian.AppendUint32(head, uint32(hlen))
	}
	head = append(head, dict...)
	for len(head) < total-1 {
		head = append(head, ' ')
	}
	head = append(head, '\n')
	if _, err := w.Write(head); err != nil {
		return err
	}
	return writeNPYData(w, t)
}

// WriteNPYFile writes t to path in .npy format, atomically: through a
// temporary file and a rename, leaving nothing behind on error.
func WriteNPYFile(path string, t *tensor.Tensor) error {
	return onnx.WriteFileAtomic(path, func(w io.Writer) error { return WriteNPY(w, t) })
}

func npyDescr(t *tensor.Tensor) (string, error) {
	switch t.Type {
	case tensor.Float, tensor.BFloat16T:
		return "<f4", nil
	case tensor.Double:
		return "<f8", nil
	case tensor.Float16:
		return "<f2", nil
	case tensor.Int8, tensor.Int4, tensor.Int2:
		return "|i1", nil
	case tensor.Uint8, tensor.Uint4, tensor.Uint2:
		return "|u1", nil
	case tensor.Bool:
		return "|b1", nil
	case tensor.Int16:
		return "<i2", nil
	case tensor.Uint16:
		return "<u2", nil
	case tensor.Int32:
		return "<i4", nil
	case tensor.Uint32:
		return "<u4", nil
	case tensor.Int64:
		return "<i8", nil
	case tensor.Uint64:
		return "<u8", nil
	}
	return "", fmt.Errorf("npy: element type %s has no .npy equivalent", tensor.Name(t.Type))
}

// writeNPYData writes the elements of t little-endian, in chunks.
func writeNPYData(w io.Writer, t *tensor.Tensor) error {
	le := binary.LittleEndian
	switch d := t.Data.(type) {
	case []float32:
		return writeChunks(w, d, 4, func(b []byte, v float32) []byte { return le.AppendUint32(b, math.Float32bits(v)) })
	case []tensor.BFloat16:
		return writeChunks(w, d, 4, func(b []byte, v tensor.BFloat16) []byte {
			return le.AppendUint32(b, math.Float32bits(v.Float32()))
		})
	case []float64:
		return writeChunks(w, d, 8, func(b []byte, v float64) []byte { return le.AppendUint64(b, math.Float64bits(v)) })
	case []float16.Float16:
		return writeChunks(w, d, 2, func(b []byte, v float16.Float16) []byte { return le.AppendUint16(b, v.Bits()) })
	case []int8:
		return writeChunks(w, d, 1, func(b []byte, v int8) []byte { return append(b, byte(v)) })
	case []uint8:
		return writeChunks(w, d, 1, func(b []byte, v uint8) []byte { return append(b, v) })
	case []bool:
		return writeChunks(w, d, 1, func(b []byte, v bool) []byte {
			if v {
				return append(b, 1)
			}
			return append(b, 0)
		})
	case []int16:
		return writeChunks(w, d, 2, func(b []byte, v int16) []byte { return le.AppendUint16(b, uint16(v)) })
	case []uint16:
		return writeChunks(w, d, 2, func(b []byte, v uint16) []byte { return le.AppendUint16(b, v) })
	case []int32:
		return writeChunks(w, d, 4, func(b []byte, v int32) []byte { return le.AppendUint32(b, uint32(v)) })
	case []uint32:
		return writeChunks(w, d, 4, func(b []byte, v uint32) []byte { return le.AppendUint32(b, v) })
	case []int64:
		return writeChunks(w, d, 8, func(b []byte, v int64) []byte { return le.AppendUint64(b, uint64(v)) })
	case []uint64:
		return writeChunks(w, d, 8, func(b []byte, v uint64) []byte { return le.AppendUint64(b, v) })
	}
	return fmt.Errorf("npy: %s tensor holds %T", tensor.Name(t.Type), t.Data)
}

// writeChunks encodes d with enc, size bytes per element, writing every
// 64K elements.
func writeChunks[T any](w io.Writer, d []T, size int, enc func([]byte, T) []byte) error {
	const chunk = 1 << 16
	buf := make([]byte, 0, size*min(len(d), chunk))
	for i := 0; i < len(d); i += chunk {
		buf = buf[:0]
		for _, v := range d[i:min(i+chunk, len(d))] {
			buf = enc(buf, v)
		}
		if _, err := w.Write(buf); err != nil {
			return err
		}
	}
	return nil
}
