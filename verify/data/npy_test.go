package data

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
	"github.com/x448/float16"
)

// fixtureF4 is what numpy.save writes for
// numpy.array([[1, 2, 3], [4, 5, 6]], dtype='<f4') (without the spare
// growth spaces NumPy >= 1.23 inserts before the padding): magic, version
// 1.0, header length 118, the dict padded to 128 bytes, then the data.
var fixtureF4 = []byte("\x93NUMPY\x01\x00\x76\x00" +
	"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }" +
	strings.Repeat(" ", 58) + "\n" +
	"\x00\x00\x80\x3f" + "\x00\x00\x00\x40" + "\x00\x00\x40\x40" +
	"\x00\x00\x80\x40" + "\x00\x00\xa0\x40" + "\x00\x00\xc0\x40")

func TestReadNPYFixtures(t *testing.T) {
	cases := []struct {
		name string
		file string
		want *tensor.Tensor
	}{
		{"f4 v1", string(fixtureF4), tensor.FromFloat32([]float32{1, 2, 3, 4, 5, 6}, 2, 3)},
		{"f4 numpy growth spaces", "\x93NUMPY\x01\x00\x76\x00" +
			"{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }" + strings.Repeat(" ", 60) + "\n" +
			"\x00\x00\x80\xbf",
			tensor.FromFloat32([]float32{-1}, 1)},
		{">i2 v2", "\x93NUMPY\x02\x00\x3a\x00\x00\x00" +
			"{'descr': '>i2', 'fortran_order': False, 'shape': (3,), }\n" +
			"\x00\x01\xff\xfe\x01\x2c",
			&tensor.Tensor{Type: tensor.Int16, Shape: []int64{3}, Data: []int16{1, -2, 300}}},
		{"<u2 scalar v3", "\x93NUMPY\x03\x00\x38\x00\x00\x00" +
			"{'descr': '<u2', 'fortran_order': False, 'shape': (), }\n" +
			"\x01\x02",
			&tensor.Tensor{Type: tensor.Uint16, Shape: []int64{}, Data: []uint16{513}}},
		{"|b1", "\x93NUMPY\x01\x00\x3a\x00" +
			"{'descr': '|b1', 'fortran_order': False, 'shape': (4,), }\n" +
			"\x01\x00\x02\x00",
			&tensor.Tensor{Type: tensor.Bool, Shape: []int64{4}, Data: []bool{true, false, true, false}}},
		{"|i1 python2 longs, no trailing comma", "\x93NUMPY\x01\x00\x3c\x00" +
			"{'descr': '|i1', 'fortran_order': False, 'shape': (2L, 1L)}\n" +
			"\xff\x7f",
			&tensor.Tensor{Type: tensor.Int8, Shape: []int64{2, 1}, Data: []int8{-1, 127}}},
		{"|u1 double quotes", "\x93NUMPY\x01\x00\x38\x00" +
			"{\"descr\": \"|u1\", \"shape\": (2,), \"fortran_order\": False}\n" +
			"\xff\x07",
			&tensor.Tensor{Type: tensor.Uint8, Shape: []int64{2}, Data: []uint8{255, 7}}},
		{"<f2", "\x93NUMPY\x01\x00\x3a\x00" +
			"{'descr': '<f2', 'fortran_order': False, 'shape': (2,), }\n" +
			"\x00\x3c\x00\xc0",
			&tensor.Tensor{Type: tensor.Float16, Shape: []int64{2}, Data: []float16.Float16{float16.Fromfloat32(1), float16.Fromfloat32(-2)}}},
		{"<f8", "\x93NUMPY\x01\x00\x3a\x00" +
			"{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }\n" +
			"\x00\x00\x00\x00\x00\x00\xf8\x3f",
			&tensor.Tensor{Type: tensor.Double, Shape: []int64{1}, Data: []float64{1.5}}},
		{">f4", "\x93NUMPY\x01\x00\x3a\x00" +
			"{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }\n" +
			"\x3f\x80\x00\x00",
			tensor.FromFloat32([]float32{1}, 1)},
		{"<i8 <u8 <u4 <i4", "\x93NUMPY\x01\x00\x3a\x00" +
			"{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }\n" +
			"\xfe\xff\xff\xff\xff\xff\xff\xff",
			&tensor.Tensor{Type: tensor.Int64, Shape: []int64{1}, Data: []int64{-2}}},
		{"<u8", "\x93NUMPY\x01\x00\x3a\x00" +
			"{'descr': '<u8', 'fortran_order': False, 'shape': (1,), }\n" +
			"\xfe\xff\xff\xff\xff\xff\xff\xff",
			&tensor.Tensor{Type: tensor.Uint64, Shape: []int64{1}, Data: []uint64{1<<64 - 2}}},
		{">u4", "\x93NUMPY\x01\x00\x3a\x00" +
			"{'descr': '>u4', 'fortran_order': False, 'shape': (1,), }\n" +
			"\x01\x02\x03\x04",
			&tensor.Tensor{Type: tensor.Uint32, Shape: []int64{1}, Data: []uint32{0x01020304}}},
		{"fortran <i4 2x3", "\x93NUMPY\x01\x00\x3b\x00" +
			"{'descr': '<i4', 'fortran_order': True, 'shape': (2, 3), }\n" +
			// [[1, 2, 3], [4, 5, 6]] column by column: 1 4 2 5 3 6.
			"\x01\x00\x00\x00\x04\x00\x00\x00\x02\x00\x00\x00\x05\x00\x00\x00\x03\x00\x00\x00\x06\x00\x00\x00",
			&tensor.Tensor{Type: tensor.Int32, Shape: []int64{2, 3}, Data: []int32{1, 2, 3, 4, 5, 6}}},
		{"empty", "\x93NUMPY\x01\x00\x3c\x00" +
			"{'descr': '<f4', 'fortran_order': False, 'shape': (0, 3), }\n",
			tensor.FromFloat32([]float32{}, 0, 3)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ReadNPY(strings.NewReader(c.file))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
			// The same through a file.
			path := filepath.Join(t.TempDir(), "x.npy")
			if err := os.WriteFile(path, []byte(c.file), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err = ReadNPYFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("file: (-want +got)\n%s", diff)
			}
		})
	}
}

// TestReadNPYFortran3D checks the transposition against the definition of
// Fortran order: the first index varies fastest.
func TestReadNPYFortran3D(t *testing.T) {
	var data []byte
	for k := 0; k < 4; k++ {
		for j := 0; j < 3; j++ {
			for i := 0; i < 2; i++ {
				data = binary.LittleEndian.AppendUint16(data, uint16(100*i+10*j+k))
			}
		}
	}
	file := npyFile(1, "{'descr': '<u2', 'fortran_order': True, 'shape': (2, 3, 4), }", data)
	got, err := ReadNPY(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	var want []uint16
	for i := 0; i < 2; i++ {
		for j := 0; j < 3; j++ {
			for k := 0; k < 4; k++ {
				want = append(want, uint16(100*i+10*j+k))
			}
		}
	}
	if diff := cmp.Diff(want, got.Data); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
}

// npyFile assembles a .npy file around a header dict, computing the length
// (for malformed-header tests; the fixtures above spell every byte).
func npyFile(major byte, dict string, data []byte) []byte {
	b := []byte(npyMagic)
	b = append(b, major, 0)
	if major == 1 {
		b = binary.LittleEndian.AppendUint16(b, uint16(len(dict)))
	} else {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(dict)))
	}
	b = append(b, dict...)
	return append(b, data...)
}

func TestWriteNPYFixture(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteNPY(&buf, tensor.FromFloat32([]float32{1, 2, 3, 4, 5, 6}, 2, 3)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), fixtureF4) {
		t.Errorf("got\n%q\nwant\n%q", buf.Bytes(), fixtureF4)
	}
	// A 1-D and a scalar header.
	buf.Reset()
	if err := WriteNPY(&buf, &tensor.Tensor{Type: tensor.Int64, Shape: []int64{1}, Data: []int64{-2}}); err != nil {
		t.Fatal(err)
	}
	want := "\x93NUMPY\x01\x00\x76\x00{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }" +
		strings.Repeat(" ", 60) + "\n\xfe\xff\xff\xff\xff\xff\xff\xff"
	if buf.String() != want {
		t.Errorf("got %q, want %q", buf.String(), want)
	}
	buf.Reset()
	if err := WriteNPY(&buf, &tensor.Tensor{Type: tensor.Bool, Shape: []int64{}, Data: []bool{true}}); err != nil {
		t.Fatal(err)
	}
	want = "\x93NUMPY\x01\x00\x76\x00{'descr': '|b1', 'fortran_order': False, 'shape': (), }" +
		strings.Repeat(" ", 62) + "\n\x01"
	if buf.String() != want {
		t.Errorf("got %q, want %q", buf.String(), want)
	}
}

func TestNPYRoundTrip(t *testing.T) {
	big := make([]float32, 70000) // more than one write chunk
	for i := range big {
		big[i] = float32(i) * 0.5
	}
	cases := []*tensor.Tensor{
		tensor.FromFloat32(big, 7, 10000),
		tensor.FromFloat32([]float32{}, 3, 0, 2),
		{Type: tensor.Double, Shape: []int64{2}, Data: []float64{-1.25, 1e300}},
		{Type: tensor.Float16, Shape: []int64{1, 1}, Data: []float16.Float16{float16.Fromfloat32(0.5)}},
		{Type: tensor.Int8, Shape: []int64{3}, Data: []int8{-128, 0, 127}},
		{Type: tensor.Uint8, Shape: []int64{}, Data: []uint8{200}},
		{Type: tensor.Int16, Shape: []int64{2}, Data: []int16{-32768, 5}},
		{Type: tensor.Uint16, Shape: []int64{1}, Data: []uint16{65535}},
		{Type: tensor.Int32, Shape: []int64{2, 1}, Data: []int32{-7, 1 << 30}},
		{Type: tensor.Uint32, Shape: []int64{1}, Data: []uint32{1<<32 - 1}},
		{Type: tensor.Int64, Shape: []int64{1}, Data: []int64{-1 << 62}},
		{Type: tensor.Uint64, Shape: []int64{1}, Data: []uint64{1<<64 - 1}},
		{Type: tensor.Bool, Shape: []int64{2}, Data: []bool{false, true}},
	}
	dir := t.TempDir()
	for _, c := range cases {
		path := filepath.Join(dir, "x.npy")
		if err := WriteNPYFile(path, c); err != nil {
			t.Fatalf("%s %v: %v", tensor.Name(c.Type), c.Shape, err)
		}
		got, err := ReadNPYFile(path)
		if err != nil {
			t.Fatalf("%s %v: %v", tensor.Name(c.Type), c.Shape, err)
		}
		if diff := cmp.Diff(c, got); diff != "" {
			t.Errorf("%s %v: (-want +got)\n%s", tensor.Name(c.Type), c.Shape, diff)
		}
		raw, _ := os.ReadFile(path)
		h, err := ReadNPYHeader(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		if h.DataOffset%64 != 0 {
			t.Errorf("data at offset %d, not a multiple of 64", h.DataOffset)
		}
	}
	// Types NumPy lacks are widened.
	var buf bytes.Buffer
	bf := &tensor.Tensor{Type: tensor.BFloat16T, Shape: []int64{1}, Data: []tensor.BFloat16{tensor.BFloat16FromFloat32(-3)}}
	if err := WriteNPY(&buf, bf); err != nil {
		t.Fatal(err)
	}
	got, err := ReadNPY(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(tensor.FromFloat32([]float32{-3}, 1), got); diff != "" {
		t.Errorf("bfloat16: (-want +got)\n%s", diff)
	}
	buf.Reset()
	if err := WriteNPY(&buf, &tensor.Tensor{Type: tensor.Int4, Shape: []int64{2}, Data: []int8{-8, 7}}); err != nil {
		t.Fatal(err)
	}
	got, err = ReadNPY(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&tensor.Tensor{Type: tensor.Int8, Shape: []int64{2}, Data: []int8{-8, 7}}, got); diff != "" {
		t.Errorf("int4: (-want +got)\n%s", diff)
	}
}

func TestWriteNPYErrors(t *testing.T) {
	cases := map[string]*tensor.Tensor{
		"string":        {Type: tensor.String, Shape: []int64{1}, Data: [][]byte{[]byte("a")}},
		"short data":    {Type: tensor.Float, Shape: []int64{3}, Data: []float32{1}},
		"wrong slice":   {Type: tensor.Float, Shape: []int64{1}, Data: []int8{1}},
		"negative dims": {Type: tensor.Float, Shape: []int64{-1}, Data: []float32{}},
		"nil":           nil,
	}
	for name, c := range cases {
		if err := WriteNPY(&bytes.Buffer{}, c); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	// An atomic write leaves nothing behind on error.
	dir := t.TempDir()
	if err := WriteNPYFile(filepath.Join(dir, "x.npy"), cases["string"]); err == nil {
		t.Error("no error")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("left %d files behind", len(ents))
	}
}

func TestReadNPYMalformed(t *testing.T) {
	f4 := func(shape string) string {
		return "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }"
	}
	cases := []struct {
		name string
		file []byte
		want string // in the error
	}{
		{"empty", nil, "too short"},
		{"bad magic", []byte("\x93NUMPX\x01\x00\x00\x00"), "magic"},
		{"version 4", npyFile(4, f4("(1,)"), make([]byte, 4)), "version 4.0"},
		{"version 1.1", append([]byte("\x93NUMPY\x01\x01"), npyFile(1, f4("(1,)"), nil)[8:]...), "version 1.1"},
		{"header truncated", []byte("\x93NUMPY\x01\x00\x50\x00{'descr'"), "unexpected EOF"},
		{"header over limit", []byte("\x93NUMPY\x02\x00\xff\xff\xff\xff{"), "limit"},
		{"not a dict", npyFile(1, "['descr']", nil), "want '{'"},
		{"missing key", npyFile(1, "{'descr': '<f4', 'shape': (1,)}", nil), `"fortran_order" is missing`},
		{"duplicate key", npyFile(1, "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}", nil), "twice"},
		{"extra key", npyFile(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}", nil), `unexpected key "x"`},
		{"unquoted key", npyFile(1, "{descr: '<f4'}", nil), "quoted string"},
		{"structured", npyFile(1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,)}", nil), "structured"},
		{"complex", npyFile(1, "{'descr': '<c8', 'fortran_order': False, 'shape': (1,)}", nil), `dtype "<c8"`},
		{"object", npyFile(1, "{'descr': '|O', 'fortran_order': False, 'shape': (1,)}", nil), `dtype "|O"`},
		{"no byte order", npyFile(1, "{'descr': '|f4', 'fortran_order': False, 'shape': (1,)}", nil), "byte order"},
		{"bad fortran", npyFile(1, "{'descr': '<f4', 'fortran_order': 0, 'shape': (1,)}", nil), "True or False"},
		{"negative dim", npyFile(1, f4("(-1,)"), nil), "non-negative"},
		{"not a tuple", npyFile(1, f4("(3)"), nil), "not a tuple"},
		{"list shape", npyFile(1, f4("[3]"), nil), "want '('"},
		{"float dim", npyFile(1, f4("(3.0,)"), nil), "',' or ')'"},
		{"huge dim", npyFile(1, f4("(99999999999999999999,)"), nil), "too large"},
		{"overflow", npyFile(1, f4("(4294967296, 4294967296, 4294967296)"), nil), "overflows"},
		{"over cap", npyFile(1, f4("(2000000000,)"), nil), "limit"},
		{"too many dims", npyFile(1, f4("("+strings.Repeat("1, ", 65)+")"), nil), "more than 64"},
		{"unterminated", npyFile(1, "{'descr: '<f4'}", nil), "want ':'"},
		{"escape", npyFile(1, "{'de\\scr': '<f4'}", nil), "escapes"},
		{"garbage after", npyFile(1, f4("(1,)")+" x", nil), "after the dict"},
		{"non-ascii", npyFile(3, "{'descr': '<f4\u00e9', 'fortran_order': False, 'shape': (1,)}", nil), "not allowed"},
		{"nul", npyFile(1, "{'descr': '<f4'\x00}", nil), "not allowed"},
		{"data truncated", npyFile(1, f4("(3,)"), make([]byte, 11)), "truncated"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReadNPY(bytes.NewReader(c.file))
			if err == nil {
				t.Fatalf("no error")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not mention %q", err, c.want)
			}
		})
	}
}

func TestReadNPYFileSize(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.npy")
	extra := append(append([]byte{}, fixtureF4...), 0)
	if err := os.WriteFile(path, extra, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadNPYFile(path); err == nil || !strings.Contains(err.Error(), "holds 25") {
		t.Errorf("trailing byte: got %v", err)
	}
	if err := os.WriteFile(path, fixtureF4[:len(fixtureF4)-1], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadNPYFile(path); err == nil || !strings.Contains(err.Error(), "holds 23") {
		t.Errorf("short file: got %v", err)
	}
	// The size cap applies before anything is read.
	if _, err := (NPYOptions{MaxBytes: 16}).ReadFile(filepath.Join(dir, "missing.npy")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: got %v", err)
	}
	if err := os.WriteFile(path, fixtureF4, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := (NPYOptions{MaxBytes: 16}).ReadFile(path); !errors.Is(err, tensor.ErrTooLarge) {
		t.Errorf("cap: got %v", err)
	}
}

// TestReadNPYLyingHeader checks that a header announcing far more data than
// the input holds does not make the reader allocate it.
func TestReadNPYLyingHeader(t *testing.T) {
	file := npyFile(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (100000000,), }", make([]byte, 64))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := ReadNPY(bytes.NewReader(file))
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Fatalf("got %v, want a truncation error", err)
	}
	if d := after.TotalAlloc - before.TotalAlloc; d > 16<<20 {
		t.Errorf("allocated %d bytes for a 64-byte input", d)
	}
}

func FuzzReadNPY(f *testing.F) {
	f.Add(fixtureF4)
	f.Add(npyFile(1, "{'descr': '<u2', 'fortran_order': True, 'shape': (2, 3, 4), }", make([]byte, 48)))
	f.Add(npyFile(2, "{'descr': '|b1', 'fortran_order': False, 'shape': (), }", []byte{1}))
	f.Fuzz(func(t *testing.T, b []byte) {
		x, err := (NPYOptions{MaxBytes: 1 << 20}).Read(bytes.NewReader(b))
		if err != nil {
			return
		}
		n, err := tensor.NumElements(x.Shape)
		if err != nil || int64(x.Len()) != n {
			t.Fatalf("shape %v with %d elements", x.Shape, x.Len())
		}
	})
}

// TestReadNPYNumPy reads files NumPy 1.24 wrote (testdata/gen.py); the
// expected values follow from how gen.py built the arrays from
// a = numpy.arange(24).reshape(2, 3, 4).
func TestReadNPYNumPy(t *testing.T) {
	shape := []int64{2, 3, 4}
	seq := func(f func(i int) any) any { // a slice of 24 values f(0..23)
		var out any
		for i := 0; i < 24; i++ {
			switch v := f(i).(type) {
			case float32:
				s, _ := out.([]float32)
				out = append(s, v)
			case int32:
				s, _ := out.([]int32)
				out = append(s, v)
			case float64:
				s, _ := out.([]float64)
				out = append(s, v)
			case bool:
				s, _ := out.([]bool)
				out = append(s, v)
			case float16.Float16:
				s, _ := out.([]float16.Float16)
				out = append(s, v)
			case int16:
				s, _ := out.([]int16)
				out = append(s, v)
			}
		}
		return out
	}
	i2 := &tensor.Tensor{Type: tensor.Int16, Shape: []int64{6, 4}, Data: seq(func(i int) any { return int16(i - 12) })}
	cases := map[string]*tensor.Tensor{
		"np_f4.npy":         {Type: tensor.Float, Shape: shape, Data: seq(func(i int) any { return float32(i) / 4 })},
		"np_fortran_i4.npy": {Type: tensor.Int32, Shape: shape, Data: seq(func(i int) any { return int32(i) })},
		"np_be_f8.npy":      {Type: tensor.Double, Shape: shape, Data: seq(func(i int) any { return float64(i - 12) })},
		"np_b1.npy":         {Type: tensor.Bool, Shape: shape, Data: seq(func(i int) any { return i%3 == 0 })},
		"np_f2.npy":         {Type: tensor.Float16, Shape: shape, Data: seq(func(i int) any { return float16.Fromfloat32(float32(i) / 8) })},
		"np_u8_scalar.npy":  {Type: tensor.Uint64, Shape: []int64{}, Data: []uint64{1<<64 - 1}},
		"np_i1_empty.npy":   {Type: tensor.Int8, Shape: []int64{0, 5}, Data: []int8{}},
		"np_v2_i2.npy":      i2,
		"np_v3_i2.npy":      i2,
	}
	for file, want := range cases {
		got, err := ReadNPYFile(filepath.Join("testdata", file))
		if err != nil {
			t.Errorf("%s: %v", file, err)
			continue
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: (-want +got)\n%s", file, diff)
		}
	}
	// What WriteNPY writes for np_f4's array reads back the same, and has
	// NumPy's header length.
	raw, err := os.ReadFile(filepath.Join("testdata", "np_f4.npy"))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteNPY(&buf, cases["np_f4.npy"]); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes()[:10], raw[:10]) || !bytes.Equal(buf.Bytes()[128:], raw[128:]) {
		t.Errorf("WriteNPY differs from NumPy outside the header padding:\n%q\n%q", buf.Bytes(), raw)
	}
}
