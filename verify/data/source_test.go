package data

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/onnx-prom/onnx-prom/internal/testenv"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
)

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeNPY(t *testing.T, path string, x *tensor.Tensor) {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteNPY(&buf, x); err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, buf.Bytes())
}

func writePNG(t *testing.T, path string, img image.Image) {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, buf.Bytes())
}

// all reads every sample of src.
func all(t *testing.T, src Source) []Sample {
	t.Helper()
	out := make([]Sample, src.Len())
	for i := range out {
		s, err := src.Sample(i)
		if err != nil {
			t.Fatalf("sample %d: %v", i, err)
		}
		out[i] = s
	}
	return out
}

func TestOpenNPYFolder(t *testing.T) {
	dir := t.TempDir()
	// Written out of order: samples come in name order.
	writeNPY(t, filepath.Join(dir, "c.npy"), tensor.FromFloat32([]float32{3, 3}, 1, 2))
	writeNPY(t, filepath.Join(dir, "a.npy"), tensor.FromFloat32([]float32{1, 1}, 1, 2))
	writeNPY(t, filepath.Join(dir, "b.npy"), tensor.FromFloat32([]float32{2, 2}, 1, 2))
	writeFile(t, filepath.Join(dir, ".hidden.npy"), []byte("junk"))
	writeFile(t, filepath.Join(dir, "README"), []byte("ignored"))

	src, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := all(t, src)
	want := []Sample{
		{Name: "a.npy", Input: tensor.FromFloat32([]float32{1, 1}, 1, 2), Label: -1},
		{Name: "b.npy", Input: tensor.FromFloat32([]float32{2, 2}, 1, 2), Label: -1},
		{Name: "c.npy", Input: tensor.FromFloat32([]float32{3, 3}, 1, 2), Label: -1},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
	if _, err := src.Sample(3); err == nil {
		t.Error("sample 3 of 3: no error")
	}

	labels := map[string]struct {
		text string
		want []int
		err  string
	}{
		"csv with header": {"file,label\na,2\nb.npy,0\n\n# comment\nc , 1\n", []int{2, 0, 1}, ""},
		"whitespace":      {"a.npy 5\nb\t6\nc 7\nd 8\n", []int{5, 6, 7}, ""},
		"positional":      {"3\n4\n5\n", []int{3, 4, 5}, ""},
		"too few":         {"3\n4\n", nil, "2 labels for 3 samples"},
		"missing name":    {"a,1\nb,1\n", nil, `no label for sample "c.npy"`},
		"mixed":           {"a,1\n2\n", nil, "bare label"},
		"mixed 2":         {"1\na,2\n", nil, "name,label line"},
		"negative":        {"a,1\nb,-1\n", nil, "not a non-negative integer"},
		"not a number":    {"1\nx\n", nil, "not a non-negative integer"},
		"duplicate":       {"a,1\na,2\n", nil, "has a label already"},
		"empty":           {"# nothing\n", nil, "no labels"},
	}
	for name, c := range labels {
		path := filepath.Join(t.TempDir(), "labels.txt")
		writeFile(t, path, []byte(c.text))
		src, err := Open(dir, Options{Labels: path})
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: got %v, want an error with %q", name, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		var got []int
		for _, s := range all(t, src) {
			got = append(got, s.Label)
		}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("%s: (-want +got)\n%s", name, diff)
		}
	}
}

func TestOpenNPYSampleFolders(t *testing.T) {
	dir := t.TempDir()
	for i, s := range []string{"s0", "s1"} {
		writeNPY(t, filepath.Join(dir, s, "ids.npy"), &tensor.Tensor{Type: tensor.Int64, Shape: []int64{2}, Data: []int64{int64(i), 7}})
		writeNPY(t, filepath.Join(dir, s, "mask.npy"), &tensor.Tensor{Type: tensor.Bool, Shape: []int64{2}, Data: []bool{true, i == 1}})
	}
	src, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := all(t, src)
	want := []Sample{
		{Name: "s0", Label: -1, Inputs: map[string]*tensor.Tensor{
			"ids":  {Type: tensor.Int64, Shape: []int64{2}, Data: []int64{0, 7}},
			"mask": {Type: tensor.Bool, Shape: []int64{2}, Data: []bool{true, false}}}},
		{Name: "s1", Label: -1, Inputs: map[string]*tensor.Tensor{
			"ids":  {Type: tensor.Int64, Shape: []int64{2}, Data: []int64{1, 7}},
			"mask": {Type: tensor.Bool, Shape: []int64{2}, Data: []bool{true, true}}}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
	it, err := NewIterator(src, IterOptions{BatchSize: 2, Inputs: []Input{
		{Name: "ids", Type: tensor.Int64, Shape: []int64{-1, 2}},
		{Name: "mask", Type: tensor.Bool, Shape: []int64{-1, 2}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := it.Next()
	if err != nil {
		t.Fatal(err)
	}
	wantIDs := &tensor.Tensor{Type: tensor.Int64, Shape: []int64{2, 2}, Data: []int64{0, 7, 1, 7}}
	if diff := cmp.Diff(wantIDs, b.Inputs["ids"]); diff != "" {
		t.Errorf("ids: (-want +got)\n%s", diff)
	}
	// Sample folders must agree on their inputs.
	writeNPY(t, filepath.Join(dir, "s2", "ids.npy"), tensor.FromFloat32([]float32{1}, 1))
	if _, err := Open(dir, Options{}); err == nil || !strings.Contains(err.Error(), "holds inputs") {
		t.Errorf("uneven sample folders: got %v", err)
	}
}

func TestOpenNPYBatch(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "batch.npy")
	data := make([]float32, 4*2*3)
	for i := range data {
		data[i] = float32(i)
	}
	writeNPY(t, path, tensor.FromFloat32(data, 4, 2, 3))
	src, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if src.Len() != 4 {
		t.Fatalf("%d samples, want 4", src.Len())
	}
	s, err := src.Sample(2)
	if err != nil {
		t.Fatal(err)
	}
	want := Sample{Name: "batch.npy[2]", Label: -1, Input: tensor.FromFloat32([]float32{12, 13, 14, 15, 16, 17}, 2, 3)}
	if diff := cmp.Diff(want, s); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}

	// Fortran order: [[1, 2, 3], [4, 5, 6]] stored column by column.
	fpath := filepath.Join(dir, "f.npy")
	writeFile(t, fpath, []byte("\x93NUMPY\x01\x00\x3b\x00"+
		"{'descr': '<i4', 'fortran_order': True, 'shape': (2, 3), }\n"+
		"\x01\x00\x00\x00\x04\x00\x00\x00\x02\x00\x00\x00\x05\x00\x00\x00\x03\x00\x00\x00\x06\x00\x00\x00"))
	src, err = Open(fpath, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s, err = src.Sample(1)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&tensor.Tensor{Type: tensor.Int32, Shape: []int64{3}, Data: []int32{4, 5, 6}}, s.Input); diff != "" {
		t.Errorf("fortran: (-want +got)\n%s", diff)
	}

	// Bad batch files.
	scalar := filepath.Join(dir, "scalar.npy")
	writeNPY(t, scalar, &tensor.Tensor{Type: tensor.Float, Shape: []int64{}, Data: []float32{1}})
	if _, err := Open(scalar, Options{}); err == nil || !strings.Contains(err.Error(), "scalar") {
		t.Errorf("scalar batch: got %v", err)
	}
	short := filepath.Join(dir, "short.npy")
	raw, _ := os.ReadFile(path)
	writeFile(t, short, raw[:len(raw)-4])
	if _, err := Open(short, Options{}); err == nil || !strings.Contains(err.Error(), "announces") {
		t.Errorf("short batch: got %v", err)
	}
	if _, err := Open(path, Options{MaxBytes: 8}); err == nil || !strings.Contains(err.Error(), "one sample") {
		t.Errorf("capped batch: got %v", err)
	}
}

func TestOpenDetect(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open(dir, Options{}); err == nil {
		t.Error("empty folder: no error")
	}
	if _, err := Open(filepath.Join(dir, "nope"), Options{}); !os.IsNotExist(err) {
		t.Errorf("missing path: got %v", err)
	}
	writeNPY(t, filepath.Join(dir, "a.npy"), tensor.FromFloat32([]float32{1}, 1))
	writePNG(t, filepath.Join(dir, "b.png"), image.NewGray(image.Rect(0, 0, 1, 1)))
	if _, err := Open(dir, Options{}); err == nil || !strings.Contains(err.Error(), "both") {
		t.Errorf("mixed folder: got %v", err)
	}
	if _, err := Open(dir, Options{Format: "tiff"}); err == nil {
		t.Error("unknown format: no error")
	}
	src, err := Open(dir, Options{Format: FormatImages, Size: 1})
	if err != nil || src.Len() != 1 {
		t.Errorf("forced format: %v", err)
	}
	txt := filepath.Join(dir, "x.txt")
	writeFile(t, txt, []byte("x"))
	if _, err := Open(txt, Options{}); err == nil {
		t.Error("text file: no error")
	}
}

// TestImageDownscale checks the antialiased bilinear resize and the crop on
// a 4x2 image resized to 2x1 and cropped to 1x1: the triangle filter has
// support 2 in both directions, so output (0,0), centred at input (1,1),
// weighs columns 0, 1, 2 by 3/7, 3/7, 1/7 and rows 0, 1 by 1/2, 1/2.
func TestImageDownscale(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 4, 2))
	red := [2][4]uint8{{0, 60, 120, 180}, {30, 90, 150, 210}}
	for y := 0; y < 2; y++ {
		for x := 0; x < 4; x++ {
			img.SetNRGBA(x, y, color.NRGBA{red[y][x], 255 - red[y][x], 51, 255})
		}
	}
	path := filepath.Join(t.TempDir(), "x.png")
	writePNG(t, path, img)
	src, err := Open(path, Options{Size: 1, Mean: []float32{0}, Std: []float32{1}})
	if err != nil {
		t.Fatal(err)
	}
	s, err := src.Sample(0)
	if err != nil {
		t.Fatal(err)
	}
	r := (float32(0*3+60*3+120)/7 + float32(30*3+90*3+150)/7) / 2 / 255
	want := tensor.FromFloat32([]float32{r, 1 - r, 0.2}, 3, 1, 1)
	if diff := cmp.Diff(want, s.Input, cmpopts.EquateApprox(0, 1e-6)); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
}

// TestImageUpscale checks bilinear upscaling with half-pixel centers: a
// 2x1 gray image [a, b] resized to 8x4 and center-cropped to 4x4 keeps
// columns 2..5, whose centers map to input x = 0.625, 0.875, 1.125, 1.375.
func TestImageUpscale(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 2, 1))
	img.Pix[0], img.Pix[1] = 0, 255
	path := filepath.Join(t.TempDir(), "x.png")
	writePNG(t, path, img)
	src, err := Open(path, Options{Size: 4, Grayscale: true})
	if err != nil {
		t.Fatal(err)
	}
	s, err := src.Sample(0)
	if err != nil {
		t.Fatal(err)
	}
	row := []float32{0.125, 0.375, 0.625, 0.875}
	var want []float32
	for range 4 {
		want = append(want, row...)
	}
	if diff := cmp.Diff(tensor.FromFloat32(want, 1, 4, 4), s.Input, cmpopts.EquateApprox(0, 1e-6)); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
}

func TestImageNormalizeAndLayout(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 7, 5))
	for i := 0; i < len(img.Pix); i += 4 {
		copy(img.Pix[i:], []uint8{10, 200, 255, 255})
	}
	dir := t.TempDir()
	writePNG(t, filepath.Join(dir, "u.png"), img)
	check := func(o Options, shape []int64, want func(i int) float32) {
		t.Helper()
		src, err := Open(dir, o)
		if err != nil {
			t.Fatal(err)
		}
		s, err := src.Sample(0)
		if err != nil {
			t.Fatal(err)
		}
		if !cmp.Equal(s.Input.Shape, shape) {
			t.Fatalf("shape %v, want %v", s.Input.Shape, shape)
		}
		for i, v := range s.Input.Data.([]float32) {
			if w := want(i); math.Abs(float64(v-w)) > 1e-5 {
				t.Fatalf("%+v: element %d is %v, want %v", o, i, v, w)
			}
		}
	}
	rgb := []float32{10.0 / 255, 200.0 / 255, 1}
	imagenet := func(c int) float32 {
		return (rgb[c] - []float32{0.485, 0.456, 0.406}[c]) / []float32{0.229, 0.224, 0.225}[c]
	}
	// CHW: channel c fills elements 9c .. 9c+8.
	check(Options{Size: 3, Resize: 4}, []int64{3, 3, 3}, func(i int) float32 { return imagenet(i / 9) })
	// HWC: channels alternate.
	check(Options{Size: 3, NHWC: true}, []int64{3, 3, 3}, func(i int) float32 { return imagenet(i % 3) })
	gray := 0.299*rgb[0] + 0.587*rgb[1] + 0.114*rgb[2]
	check(Options{Size: 2, Grayscale: true, Mean: []float32{0.5}, Std: []float32{0.25}}, []int64{1, 2, 2},
		func(int) float32 { return (gray - 0.5) / 0.25 })

	for _, o := range []Options{
		{Mean: []float32{1, 2}},
		{Std: []float32{0}},
		{Size: 10, Resize: 5},
		{Size: -1},
	} {
		if _, err := Open(dir, o); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
	src, err := Open(dir, Options{MaxPixels: 34, Size: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.Sample(0); err == nil || !strings.Contains(err.Error(), "7x5") {
		t.Errorf("oversized image: got %v", err)
	}
}

func TestImageJPEGAndClassFolders(t *testing.T) {
	dir := t.TempDir()
	img := image.NewRGBA(image.Rect(0, 0, 16, 16))
	for i := 0; i < len(img.Pix); i += 4 {
		copy(img.Pix[i:], []uint8{200, 100, 50, 255})
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 100}); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "cat", "a.jpg"), buf.Bytes())
	writeFile(t, filepath.Join(dir, "dog", "c.JPEG"), buf.Bytes())
	writeFile(t, filepath.Join(dir, "dog", "b.jpeg"), buf.Bytes())
	writeFile(t, filepath.Join(dir, "eel", "notes.txt"), []byte("no images"))
	src, err := Open(dir, Options{Size: 8, Mean: []float32{0}, Std: []float32{1}})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	var labels []int
	for _, s := range all(t, src) {
		names = append(names, s.Name)
		labels = append(labels, s.Label)
		for i, v := range s.Input.Data.([]float32) {
			want := []float32{200, 100, 50}[i/64] / 255
			if math.Abs(float64(v-want)) > 3.0/255 {
				t.Fatalf("%s: element %d is %v, want about %v", s.Name, i, v, want)
			}
		}
	}
	if diff := cmp.Diff([]string{"cat/a.jpg", "dog/b.jpeg", "dog/c.JPEG"}, names); diff != "" {
		t.Errorf("names (-want +got)\n%s", diff)
	}
	if diff := cmp.Diff([]int{0, 1, 1}, labels); diff != "" {
		t.Errorf("labels (-want +got)\n%s", diff)
	}
	// A corrupt image fails when read, naming the file.
	writeFile(t, filepath.Join(dir, "dog", "d.png"), []byte("\x89PNG\r\n\x1a\nbroken"))
	src, err = Open(dir, Options{Size: 8})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.Sample(3); err == nil || !strings.Contains(err.Error(), "d.png") {
		t.Errorf("corrupt image: got %v", err)
	}
}

// TestMNIST checks the split sizes, the interleaved order and pixel values
// against values read from the JSON files with Python's json module.
func TestMNIST(t *testing.T) {
	dir := testenv.MNIST(t)
	test, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	train, err := Open(dir, Options{Split: MNISTTrain})
	if err != nil {
		t.Fatal(err)
	}
	if test.Len() != 2004 || train.Len() != 7996 {
		t.Fatalf("%d test and %d train samples, want 2004 and 7996", test.Len(), train.Len())
	}
	type ref struct {
		src      Source
		i        int
		name     string
		sum      float64
		first    int // first non-zero pixel
		firstVal float32
		argmax   int
	}
	for _, r := range []ref{
		{test, 0, "0/0800", 82.574, 150, 0.255, 631},
		{test, 1, "1/0901", 109.972, 156, 0.412, 157},
		{test, 5, "5/0690", 88.339, 148, 0.114, 435},
		{train, 3, "3/0000", 140.635, 151, 0.149, 154},
	} {
		s, err := r.src.Sample(r.i)
		if err != nil {
			t.Fatal(err)
		}
		if s.Name != r.name || s.Label != int(r.name[0]-'0') || !cmp.Equal(s.Input.Shape, []int64{1, 28, 28}) {
			t.Errorf("sample %d: %q label %d shape %v, want %q", r.i, s.Name, s.Label, s.Input.Shape, r.name)
		}
		px := s.Input.Data.([]float32)
		sum, first, best := 0.0, -1, 0
		for k, v := range px {
			sum += float64(v)
			if v > 0 && first < 0 {
				first = k
			}
			if v > px[best] {
				best = k
			}
		}
		if math.Abs(sum-r.sum) > 1e-3 || first != r.first || px[first] != r.firstVal || best != r.argmax {
			t.Errorf("%s: sum %.4f first %d (%v) argmax %d, want %.4f %d (%v) %d", s.Name, sum, first, px[first], best, r.sum, r.first, r.firstVal, r.argmax)
		}
	}
	// The last test image of digit 9 is 9/0977; labels follow names.
	found := false
	for i := 0; i < test.Len(); i++ {
		s, err := test.Sample(i)
		if err != nil {
			t.Fatal(err)
		}
		found = found || s.Name == "9/0977"
		if s.Label != int(s.Name[0]-'0') {
			t.Errorf("%s has label %d", s.Name, s.Label)
		}
	}
	if !found {
		t.Error("9/0977 is not among the test samples")
	}
	// Normalization.
	norm, err := Open(dir, Options{Mean: []float32{0.1307}, Std: []float32{0.3081}})
	if err != nil {
		t.Fatal(err)
	}
	s, _ := norm.Sample(0)
	if v := s.Input.Data.([]float32)[150]; math.Abs(float64(v)-(0.255-0.1307)/0.3081) > 1e-6 {
		t.Errorf("normalized pixel %v", v)
	}
	if _, err := Open(dir, Options{Split: "val"}); err == nil {
		t.Error("unknown split: no error")
	}
}

// TestParseDecimal checks the fast path against strconv.ParseFloat.
func TestParseDecimal(t *testing.T) {
	var cases []string
	for k := 0; k <= 1000; k++ {
		cases = append(cases, strconv.Itoa(k/1000)+"."+fmt.Sprintf("%03d", k%1000))
	}
	cases = append(cases, "0", "1", "0.5", "0.1", "0.123456", "0.999999", "9999999", "0.3333333", "1e-3", ".5", "5.", "", "0.1.2")
	for _, s := range cases {
		got, ok := parseDecimal([]byte(s))
		want, err := strconv.ParseFloat(s, 32)
		if ok && (err != nil || got != float32(want)) {
			t.Errorf("%q: got %v, strconv says %v (%v)", s, got, float32(want), err)
		}
	}
	for _, s := range []string{"0", "0.624", "1", "0.5"} {
		if _, ok := parseDecimal([]byte(s)); !ok {
			t.Errorf("%q: no fast path", s)
		}
	}
}

func TestParseMNISTJSON(t *testing.T) {
	got, err := parseMNISTJSON([]byte(" { \"data\" : [0, 0.5,1e-1 ,1]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]float32{0, 0.5, 0.1, 1}, got); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
	for _, bad := range []string{"", "{}", `{"data": [1,]}`, `{"data": [2]}`, `{"data": [-0.5]}`, `{"data": [1]} x`, `{"data": [1}`, `{"data": [nan]}`} {
		if _, err := parseMNISTJSON([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// TestImagePIL compares the preprocessing with torchvision's Resize +
// CenterCrop + ToTensor + Normalize computed by PIL (testdata/gen.py, in
// float mode so that PIL does not round between its two passes).
func TestImagePIL(t *testing.T) {
	for _, c := range []struct {
		name         string
		resize, size int
	}{{"down", 16, 12}, {"up", 12, 10}} {
		src, err := Open(filepath.Join("testdata", "img_"+c.name+".png"), Options{Resize: c.resize, Size: c.size})
		if err != nil {
			t.Fatal(err)
		}
		got, err := src.Sample(0)
		if err != nil {
			t.Fatal(err)
		}
		want, err := ReadNPYFile(filepath.Join("testdata", "img_"+c.name+"_ref.npy"))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got.Input, cmpopts.EquateApprox(0, 1e-5)); diff != "" {
			t.Errorf("%s: (-PIL +got)\n%s", c.name, diff)
		}
	}
}
