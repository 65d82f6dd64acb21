package data

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/onnx-prom/onnx-prom/onnx/ir"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
	"github.com/x448/float16"
)

func TestFit(t *testing.T) {
	x := tensor.FromFloat32([]float32{1, 2, 3, 4, 5, 6}, 1, 2, 3)
	cases := []struct {
		name  string
		in    Input
		shape []int64 // nil: error
	}{
		{"as is", Input{Shape: []int64{-1, 1, 2, 3}}, []int64{1, 2, 3}},
		{"batch of one", Input{Shape: []int64{-1, 2, 3}}, []int64{2, 3}},
		{"batch of one, unknown dims", Input{Shape: []int64{-1, -1, 3}}, []int64{2, 3}},
		{"reshape", Input{Shape: []int64{-1, 6}}, []int64{6}},
		{"reshape 2", Input{Shape: []int64{-1, 3, 2}}, []int64{3, 2}},
		{"unknown rank", Input{}, []int64{1, 2, 3}},
		{"wrong count", Input{Shape: []int64{-1, 5}}, nil},
		{"unknown dims, no fit", Input{Shape: []int64{-1, -1}}, nil},
		{"scalar input", Input{Shape: []int64{}}, nil},
	}
	for _, c := range cases {
		got, err := Fit(x, c.in)
		if c.shape == nil {
			if err == nil {
				t.Errorf("%s: got shape %v, want an error", c.name, got.Shape)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if !slices.Equal(got.Shape, c.shape) || !cmp.Equal(got.Data, x.Data) {
			t.Errorf("%s: got %v %v, want shape %v", c.name, got.Shape, got.Data, c.shape)
		}
	}
	// Float conversion; other mismatches fail.
	got, err := Fit(x, Input{Type: tensor.Float16, Shape: []int64{-1, 6}})
	if err != nil {
		t.Fatal(err)
	}
	want := make([]float16.Float16, 6)
	for i := range want {
		want[i] = float16.Fromfloat32(float32(i + 1))
	}
	if got.Type != tensor.Float16 || !cmp.Equal(got.Data, want) {
		t.Errorf("float16: got %s %v", tensor.Name(got.Type), got.Data)
	}
	if _, err := Fit(x, Input{Name: "ids", Type: tensor.Int64}); err == nil || !strings.Contains(err.Error(), `"ids"`) {
		t.Errorf("float to int64: got %v", err)
	}
}

func TestInputOf(t *testing.T) {
	got := InputOf("x", tensor.Float, ir.Shape{ir.Sym("N"), ir.D(3), ir.UnknownDim})
	want := Input{Name: "x", Type: tensor.Float, Shape: []int64{-1, 3, -1}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
	if InputOf("y", tensor.Float, nil).Shape != nil {
		t.Error("unknown rank became known")
	}
}

func TestStack(t *testing.T) {
	got, err := Stack([]*tensor.Tensor{
		{Type: tensor.Int8, Shape: []int64{2}, Data: []int8{1, 2}},
		{Type: tensor.Int8, Shape: []int64{2}, Data: []int8{3, 4}},
		{Type: tensor.Int8, Shape: []int64{2}, Data: []int8{5, 6}},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := &tensor.Tensor{Type: tensor.Int8, Shape: []int64{3, 2}, Data: []int8{1, 2, 3, 4, 5, 6}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
	for name, ts := range map[string][]*tensor.Tensor{
		"none":        nil,
		"shapes":      {tensor.FromFloat32([]float32{1}, 1), tensor.FromFloat32([]float32{1, 2}, 2)},
		"types":       {tensor.FromFloat32([]float32{1}, 1), {Type: tensor.Int8, Shape: []int64{1}, Data: []int8{1}}},
		"short":       {{Type: tensor.Float, Shape: []int64{2}, Data: []float32{1}}},
		"wrong slice": {{Type: tensor.Float, Shape: []int64{1}, Data: []float32{1}}, {Type: tensor.Float, Shape: []int64{1}, Data: []float64{1}}},
		"strings":     {{Type: tensor.String, Shape: []int64{1}, Data: [][]byte{nil}}},
	} {
		if _, err := Stack(ts); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// memSource is an in-memory Source counting its reads.
type memSource struct {
	n     int
	reads atomic.Int64
	fail  int // index whose read fails; -1 for none
}

func (m *memSource) Len() int { return m.n }

func (m *memSource) Sample(i int) (Sample, error) {
	m.reads.Add(1)
	if i == m.fail {
		return Sample{}, errors.New("disk on fire")
	}
	return Sample{Name: fmt.Sprint(i), Label: i % 3, Input: tensor.FromFloat32([]float32{float32(i), -float32(i)}, 1, 2)}, nil
}

func TestIterator(t *testing.T) {
	src := &memSource{n: 7, fail: -1}
	it, err := NewIterator(src, IterOptions{BatchSize: 3, Inputs: []Input{{Name: "x", Type: tensor.Float, Shape: []int64{-1, 2}}}})
	if err != nil {
		t.Fatal(err)
	}
	var sizes []int
	var seen []int
	for {
		b, err := it.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		x := b.Inputs["x"]
		sizes = append(sizes, int(x.Shape[0]))
		for k, i := range b.Indices {
			seen = append(seen, i)
			if b.Labels[k] != i%3 || b.Names[k] != fmt.Sprint(i) {
				t.Errorf("sample %d: label %d name %q", i, b.Labels[k], b.Names[k])
			}
			if d := x.Data.([]float32)[2*k:]; d[0] != float32(i) || d[1] != -float32(i) {
				t.Errorf("sample %d: data %v", i, d[:2])
			}
		}
		if len(x.Shape) != 2 || x.Shape[1] != 2 {
			t.Errorf("batch shape %v", x.Shape)
		}
	}
	if diff := cmp.Diff([]int{3, 3, 1}, sizes); diff != "" {
		t.Errorf("batch sizes (-want +got)\n%s", diff)
	}
	if diff := cmp.Diff([]int{0, 1, 2, 3, 4, 5, 6}, seen); diff != "" {
		t.Errorf("order (-want +got)\n%s", diff)
	}
	if _, err := it.Next(); err != io.EOF {
		t.Errorf("after the end: %v", err)
	}
	it.Reset()
	if b, err := it.Next(); err != nil || b.Indices[0] != 0 {
		t.Errorf("after Reset: %v", err)
	}

	// Shuffling: a permutation, the same for the same seed, another for
	// another seed; Limit takes a prefix of it.
	order := func(seed uint64, limit int) []int {
		it, err := NewIterator(&memSource{n: 50, fail: -1}, IterOptions{Shuffle: true, Seed: seed, Limit: limit, BatchSize: 4})
		if err != nil {
			t.Fatal(err)
		}
		var out []int
		for {
			b, err := it.Next()
			if err == io.EOF {
				return out
			}
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, b.Indices...)
			if got := b.Inputs[""].Shape; len(got) != 3 { // stacked as is: [B,1,2]
				t.Fatalf("shape %v", got)
			}
		}
	}
	a, b, c := order(1, 0), order(1, 0), order(2, 0)
	if !slices.Equal(a, b) {
		t.Error("same seed, different orders")
	}
	if slices.Equal(a, c) {
		t.Error("different seeds, same order")
	}
	sorted := slices.Sorted(slices.Values(a))
	for i, v := range sorted {
		if v != i {
			t.Fatalf("not a permutation: %v", a)
		}
	}
	if slices.Equal(a, sorted) {
		t.Error("shuffled order is sorted")
	}
	if l := order(1, 10); !slices.Equal(l, a[:10]) {
		t.Errorf("limit 10: %v, want %v", l, a[:10])
	}

	// A failing read names the sample; a sample that does not fit fails.
	it, _ = NewIterator(&memSource{n: 5, fail: 3}, IterOptions{BatchSize: 5})
	if _, err := it.Next(); err == nil || !strings.Contains(err.Error(), "sample 3: disk on fire") {
		t.Errorf("failing read: %v", err)
	}
	it, _ = NewIterator(&memSource{n: 2, fail: -1}, IterOptions{Inputs: []Input{{Name: "x", Shape: []int64{-1, 3}}}})
	if _, err := it.Next(); err == nil || !strings.Contains(err.Error(), `sample "0"`) {
		t.Errorf("misfit: %v", err)
	}
	if _, err := NewIterator(src, IterOptions{BatchSize: -1}); err == nil {
		t.Error("negative batch size: no error")
	}
}

func TestFeeds(t *testing.T) {
	f := Feeds{Source: &memSource{n: 3, fail: -1}, Inputs: []Input{{Name: "x", Type: tensor.Double, Shape: []int64{1, 2}}}}
	if f.Len() != 3 {
		t.Errorf("Len %d", f.Len())
	}
	got, err := f.Sample(2)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]*tensor.Tensor{"x": {Type: tensor.Double, Shape: []int64{1, 2}, Data: []float64{2, -2}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
}

// TestCalibrationFolder batches the committed calibration samples of the
// tiny test model ([1,3,32,32] per file) for its [N,3,32,32] input.
func TestCalibrationFolder(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "models", "calib", "tiny")
	if _, err := os.Stat(dir); err != nil {
		t.Skip("testdata/models/calib/tiny is absent")
	}
	src, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	it, err := NewIterator(src, IterOptions{BatchSize: 5, Inputs: []Input{{Name: "input", Type: tensor.Float, Shape: []int64{-1, 3, 32, 32}}}})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		b, err := it.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		x := b.Inputs["input"]
		if !slices.Equal(x.Shape, []int64{int64(len(b.Names)), 3, 32, 32}) {
			t.Fatalf("batch shape %v", x.Shape)
		}
		for k, name := range b.Names {
			one, err := ReadNPYFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(one.Data.([]float32), x.Data.([]float32)[k*3072:(k+1)*3072]) {
				t.Errorf("%s: batch row %d differs from the file", name, k)
			}
		}
		n += len(b.Names)
	}
	if n != src.Len() || n != 16 {
		t.Errorf("%d samples batched of %d, want 16", n, src.Len())
	}
}
