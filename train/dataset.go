package train

import (
	"fmt"

	"github.com/onnx-prom/onnx-prom/passes"

	"github.com/onnx-prom/onnx-prom/onnx/tensor"
	"github.com/onnx-prom/onnx-prom/verify/data"
)

// Dataset is a set of samples for training or evaluation.
type Dataset interface {
	// Len is the number of samples.
	Len() int
	// Load writes sample i, laid out as one item of the model's input
	// (the input shape without its batch axis), into dst and returns its
	// class label, or -1 when it has none.
	Load(i int, dst []float32) (int, error)
}

// DefaultCacheBytes is how large a data set NewDataset keeps in memory.
const DefaultCacheBytes = 1 << 30

// sourceSet adapts a data.Source.
type sourceSet struct {
	src    data.Source
	in     data.Input
	size   int
	cache  []float32
	labels []int
}

// NewDataset presents src as samples of per-sample shape shape (the model
// input's shape without the batch axis; see data.Fit for what fits).
// Samples are decoded once and kept in memory when they take at most
// cacheBytes (0 means DefaultCacheBytes, negative never caches).
func NewDataset(src data.Source, shape []int, cacheBytes int64) (Dataset, error) {
	in := data.Input{Name: "input", Type: tensor.Float, Shape: []int64{-1}}
	size := 1
	for _, d := range shape {
		if d < 1 {
			return nil, fmt.Errorf("sample shape %v has a non-positive axis", shape)
		}
		in.Shape = append(in.Shape, int64(d))
		size *= d
	}
	s := &sourceSet{src: src, in: in, size: size}
	if cacheBytes == 0 {
		cacheBytes = DefaultCacheBytes
	}
	if n := int64(src.Len()); cacheBytes > 0 && n*int64(size)*4 <= cacheBytes {
		s.cache = make([]float32, int(n)*size)
		s.labels = make([]int, n)
		for i := 0; i < int(n); i++ {
			l, err := s.load(i, s.cache[i*size:(i+1)*size])
			if err != nil {
				return nil, err
			}
			s.labels[i] = l
		}
	}
	return s, nil
}

func (s *sourceSet) Len() int { return s.src.Len() }

func (s *sourceSet) Load(i int, dst []float32) (int, error) {
	if i < 0 || i >= s.Len() {
		return 0, fmt.Errorf("sample %d of %d", i, s.Len())
	}
	if len(dst) != s.size {
		return 0, fmt.Errorf("sample %d: destination holds %d values, a sample %d", i, len(dst), s.size)
	}
	if s.cache != nil {
		copy(dst, s.cache[i*s.size:(i+1)*s.size])
		return s.labels[i], nil
	}
	return s.load(i, dst)
}

func (s *sourceSet) load(i int, dst []float32) (int, error) {
	smp, err := s.src.Sample(i)
	if err != nil {
		return 0, err
	}
	if smp.Input == nil {
		return 0, fmt.Errorf("sample %q has several inputs; training takes one", smp.Name)
	}
	t, err := data.Fit(smp.Input, s.in)
	if err != nil {
		return 0, fmt.Errorf("sample %q: %w", smp.Name, err)
	}
	f, err := t.Float32s()
	if err != nil {
		return 0, fmt.Errorf("sample %q: %w", smp.Name, err)
	}
	if len(f) != s.size {
		return 0, fmt.Errorf("sample %q has %d values, want %d", smp.Name, len(f), s.size)
	}
	copy(dst, f)
	return smp.Label, nil
}

// Slice is a data set in memory: sample i is X[i·size : (i+1)·size] with
// label Labels[i] (Labels may be nil: no labels).
type Slice struct {
	X      []float32
	Labels []int
	Size   int
}

// Len implements Dataset.
func (s *Slice) Len() int {
	if s.Size == 0 {
		return 0
	}
	return len(s.X) / s.Size
}

// Load implements Dataset.
func (s *Slice) Load(i int, dst []float32) (int, error) {
	if i < 0 || i >= s.Len() || len(dst) != s.Size {
		return 0, fmt.Errorf("sample %d of %d (size %d, destination %d)", i, s.Len(), s.Size, len(dst))
	}
	copy(dst, s.X[i*s.Size:(i+1)*s.Size])
	if s.Labels == nil {
		return -1, nil
	}
	return s.Labels[i], nil
}

// Subset is the samples Index of Base.
type Subset struct {
	Base  Dataset
	Index []int
}

// Len implements Dataset.
func (s *Subset) Len() int { return len(s.Index) }

// Load implements Dataset.
func (s *Subset) Load(i int, dst []float32) (int, error) {
	if i < 0 || i >= len(s.Index) {
		return 0, fmt.Errorf("sample %d of %d", i, len(s.Index))
	}
	return s.Base.Load(s.Index[i], dst)
}

// CalibFeed presents ds as calibration data (passes.CalibData) for a
// model whose input is called name with per-sample shape shape: sample i
// is a batch of one.
func CalibFeed(ds Dataset, name string, shape []int) passes.CalibData {
	full := []int64{1}
	for _, d := range shape {
		full = append(full, int64(d))
	}
	return &calibFeed{ds: ds, name: name, shape: full, size: numel(shape)}
}

type calibFeed struct {
	ds    Dataset
	name  string
	shape []int64
	size  int
}

func (c *calibFeed) Len() int { return c.ds.Len() }

func (c *calibFeed) Sample(i int) (map[string]*tensor.Tensor, error) {
	x := make([]float32, c.size)
	if _, err := c.ds.Load(i, x); err != nil {
		return nil, err
	}
	return map[string]*tensor.Tensor{c.name: tensor.FromFloat32(x, c.shape...)}, nil
}
