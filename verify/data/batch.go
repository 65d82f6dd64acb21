package data

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"

	"github.com/onnx-prom/onnx-prom/onnx/ir"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
	"github.com/x448/float16"
)

// Input describes a model input that batches are shaped for.
type Input struct {
	Name string
	// Type is the element type the model wants; Undefined keeps the
	// sample's type.
	Type tensor.DataType
	// Shape is the input's shape, batch dimension first, -1 for a dimension
	// that is not known; nil when even the rank is unknown.
	Shape []int64
}

// InputOf describes a model input from its IR type and shape (symbolic and
// unknown dimensions become -1).
func InputOf(name string, dt tensor.DataType, s ir.Shape) Input {
	in := Input{Name: name, Type: dt}
	if s != nil {
		in.Shape = make([]int64, len(s))
		for i, d := range s {
			in.Shape[i] = -1
			if d.Known() {
				in.Shape[i] = d.Value
			}
		}
	}
	return in
}

// Fit returns sample tensor t shaped and typed as one item of a batch for
// input in, that is with in's shape without its batch dimension:
//
//   - t is kept as it is if its shape fits in.Shape[1:] (unknown dimensions
//     fit anything);
//   - a t with in's full rank and a leading 1 (a batch of one) loses that
//     dimension;
//   - otherwise, if in.Shape[1:] is fully known and has as many elements as
//     t, t is reshaped to it (an MNIST [1,28,28] image for a [N,784] input).
//
// Floating-point samples are converted to the floating-point type in.Type
// names; other type mismatches are errors. With in.Shape nil, t is kept as
// it is. The result may share its data with t.
func Fit(t *tensor.Tensor, in Input) (*tensor.Tensor, error) {
	out := t
	if in.Shape != nil {
		if len(in.Shape) == 0 {
			return nil, fmt.Errorf("input %q is a scalar: it has no batch dimension", in.Name)
		}
		want := in.Shape[1:]
		switch {
		case fits(t.Shape, want):
		case len(t.Shape) == len(in.Shape) && t.Shape[0] == 1 && fits(t.Shape[1:], want):
			out = &tensor.Tensor{Type: t.Type, Shape: t.Shape[1:], Data: t.Data}
		case known(want) && sameCount(t.Shape, want):
			out = &tensor.Tensor{Type: t.Type, Shape: append([]int64{}, want...), Data: t.Data}
		default:
			return nil, fmt.Errorf("input %q: a sample of shape %v does not fit the model's shape %v", in.Name, t.Shape, in.Shape)
		}
	}
	if in.Type == tensor.Undefined || in.Type == out.Type {
		return out, nil
	}
	if !isFloat(in.Type) || !isFloat(out.Type) {
		return nil, fmt.Errorf("input %q: a %s sample for a %s input", in.Name, tensor.Name(out.Type), tensor.Name(in.Type))
	}
	f, err := out.Float64s()
	if err != nil {
		return nil, fmt.Errorf("input %q: %w", in.Name, err)
	}
	return floatTensor(in.Type, f, out.Shape), nil
}

func fits(have, want []int64) bool {
	if len(have) != len(want) {
		return false
	}
	for i, d := range want {
		if d >= 0 && d != have[i] {
			return false
		}
	}
	return true
}

func known(s []int64) bool {
	for _, d := range s {
		if d < 0 {
			return false
		}
	}
	return true
}

func sameCount(a, b []int64) bool {
	na, err1 := tensor.NumElements(a)
	nb, err2 := tensor.NumElements(b)
	return err1 == nil && err2 == nil && na == nb
}

func isFloat(dt tensor.DataType) bool {
	return dt == tensor.Float || dt == tensor.Double || dt == tensor.Float16 || dt == tensor.BFloat16T
}

// floatTensor builds a floating-point tensor of type dt from f.
func floatTensor(dt tensor.DataType, f []float64, shape []int64) *tensor.Tensor {
	t := &tensor.Tensor{Type: dt, Shape: append([]int64{}, shape...)}
	switch dt {
	case tensor.Float:
		d := make([]float32, len(f))
		for i, v := range f {
			d[i] = float32(v)
		}
		t.Data = d
	case tensor.Double:
		t.Data = f
	case tensor.Float16:
		d := make([]float16.Float16, len(f))
		for i, v := range f {
			d[i] = float16.Fromfloat32(float32(v))
		}
		t.Data = d
	case tensor.BFloat16T:
		d := make([]tensor.BFloat16, len(f))
		for i, v := range f {
			d[i] = tensor.BFloat16FromFloat32(float32(v))
		}
		t.Data = d
	}
	return t
}

// Stack stacks tensors of one type and shape into a batch of shape
// [len(ts), ...].
func Stack(ts []*tensor.Tensor) (*tensor.Tensor, error) {
	if len(ts) == 0 {
		return nil, errors.New("stack: no tensors")
	}
	first := ts[0]
	for i, t := range ts {
		if t.Type != first.Type || !slices.Equal(t.Shape, first.Shape) {
			return nil, fmt.Errorf("stack: tensor %d is %s %v, tensor 0 is %s %v", i,
				tensor.Name(t.Type), t.Shape, tensor.Name(first.Type), first.Shape)
		}
		n, err := tensor.NumElements(t.Shape)
		if err != nil {
			return nil, fmt.Errorf("stack: tensor %d: %w", i, err)
		}
		if int64(t.Len()) != n {
			return nil, fmt.Errorf("stack: tensor %d has %d elements for shape %v", i, t.Len(), t.Shape)
		}
	}
	out := &tensor.Tensor{Type: first.Type, Shape: append([]int64{int64(len(ts))}, first.Shape...)}
	var err error
	switch first.Data.(type) {
	case []float32:
		out.Data, err = stackData[float32](ts)
	case []float64:
		out.Data, err = stackData[float64](ts)
	case []float16.Float16:
		out.Data, err = stackData[float16.Float16](ts)
	case []tensor.BFloat16:
		out.Data, err = stackData[tensor.BFloat16](ts)
	case []int8:
		out.Data, err = stackData[int8](ts)
	case []int16:
		out.Data, err = stackData[int16](ts)
	case []int32:
		out.Data, err = stackData[int32](ts)
	case []int64:
		out.Data, err = stackData[int64](ts)
	case []uint8:
		out.Data, err = stackData[uint8](ts)
	case []uint16:
		out.Data, err = stackData[uint16](ts)
	case []uint32:
		out.Data, err = stackData[uint32](ts)
	case []uint64:
		out.Data, err = stackData[uint64](ts)
	case []bool:
		out.Data, err = stackData[bool](ts)
	default:
		return nil, fmt.Errorf("stack: %s tensors cannot be stacked", tensor.Name(first.Type))
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

func stackData[T any](ts []*tensor.Tensor) ([]T, error) {
	n := ts[0].Len()
	out := make([]T, 0, n*len(ts))
	for i, t := range ts {
		d, ok := t.Data.([]T)
		if !ok {
			return nil, fmt.Errorf("stack: tensor %d holds %T", i, t.Data)
		}
		out = append(out, d...)
	}
	return out, nil
}

// IterOptions control an Iterator.
type IterOptions struct {
	// BatchSize is the number of samples per batch; 0 means 1. The last
	// batch may be smaller.
	BatchSize int
	// Shuffle visits the samples in a random order drawn from Seed (the
	// same seed gives the same order); otherwise in the source's order.
	Shuffle bool
	Seed    uint64
	// Limit stops after this many samples (after shuffling); 0 means all.
	Limit int
	// Inputs are the model's inputs. A single-input sample feeds the first
	// one, a multi-input sample feeds them by name; every sample is fitted
	// to its input (see Fit). With no Inputs, samples are stacked as they
	// are, single-input ones under the name "".
	Inputs []Input
	// Workers is how many samples are read at once; 0 means
	// runtime.GOMAXPROCS(0).
	Workers int
}

// Batch is a group of samples stacked for a model.
type Batch struct {
	// Inputs maps model input names to batched tensors [B, ...].
	Inputs map[string]*tensor.Tensor
	// Labels, Names and Indices describe the samples: label (-1 when
	// unknown), name and index in the source.
	Labels  []int
	Names   []string
	Indices []int
}

// Iterator walks a Source in batches.
type Iterator struct {
	src   Source
	o     IterOptions
	order []int
	pos   int
}

// NewIterator returns an iterator over src.
func NewIterator(src Source, o IterOptions) (*Iterator, error) {
	if o.BatchSize < 0 || o.Limit < 0 || o.Workers < 0 {
		return nil, fmt.Errorf("iterator: negative batch size %d, limit %d or workers %d", o.BatchSize, o.Limit, o.Workers)
	}
	if o.BatchSize == 0 {
		o.BatchSize = 1
	}
	if o.Workers == 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	n := src.Len()
	var order []int
	if o.Shuffle {
		order = rand.New(rand.NewPCG(o.Seed, 0x6f6e6e782d70726f)).Perm(n)
	} else {
		order = make([]int, n)
		for i := range order {
			order[i] = i
		}
	}
	if o.Limit > 0 && o.Limit < n {
		order = order[:o.Limit]
	}
	return &Iterator{src: src, o: o, order: order}, nil
}

// Len is the number of samples the iterator yields in all.
func (it *Iterator) Len() int { return len(it.order) }

// Order returns the source indices in the order the iterator visits them.
func (it *Iterator) Order() []int { return slices.Clone(it.order) }

// Reset starts the iteration over, in the same order.
func (it *Iterator) Reset() { it.pos = 0 }

// Next returns the next batch, or io.EOF after the last one.
func (it *Iterator) Next() (*Batch, error) {
	if it.pos >= len(it.order) {
		return nil, io.EOF
	}
	idx := it.order[it.pos:min(it.pos+it.o.BatchSize, len(it.order))]
	it.pos += len(idx)
	samples, err := it.load(idx)
	if err != nil {
		return nil, err
	}
	return assemble(it.o.Inputs, idx, samples)
}

// load reads the samples idx, several at once.
func (it *Iterator) load(idx []int) ([]Sample, error) {
	samples := make([]Sample, len(idx))
	errs := make([]error, len(idx))
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < min(it.o.Workers, len(idx)); w++ {
		wg.Go(func() {
			for k := range next {
				samples[k], errs[k] = it.src.Sample(idx[k])
			}
		})
	}
	for k := range idx {
		next <- k
	}
	close(next)
	wg.Wait()
	for k, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("sample %d: %w", idx[k], err)
		}
	}
	return samples, nil
}

// assemble fits and stacks samples into a batch.
func assemble(inputs []Input, idx []int, samples []Sample) (*Batch, error) {
	b := &Batch{Inputs: map[string]*tensor.Tensor{}, Indices: slices.Clone(idx)}
	spec := map[string]Input{}
	for _, in := range inputs {
		spec[in.Name] = in
	}
	per := map[string][]*tensor.Tensor{}
	var names []string // input names of the first sample
	for k, s := range samples {
		b.Labels = append(b.Labels, s.Label)
		b.Names = append(b.Names, s.Name)
		feeds := s.Inputs
		if s.Input != nil {
			name := ""
			if len(inputs) > 0 {
				name = inputs[0].Name
			}
			feeds = map[string]*tensor.Tensor{name: s.Input}
		}
		if len(feeds) == 0 {
			return nil, fmt.Errorf("sample %q has no tensors", s.Name)
		}
		keys := sortedKeys(feeds)
		if k == 0 {
			names = keys
		} else if !slices.Equal(keys, names) {
			return nil, fmt.Errorf("sample %q has inputs %v, sample %q has %v", s.Name, keys, samples[0].Name, names)
		}
		for _, name := range keys {
			t := feeds[name]
			if len(inputs) > 0 {
				in, ok := spec[name]
				if !ok {
					return nil, fmt.Errorf("sample %q: the model has no input %q", s.Name, name)
				}
				var err error
				if t, err = Fit(t, in); err != nil {
					return nil, fmt.Errorf("sample %q: %w", s.Name, err)
				}
			}
			per[name] = append(per[name], t)
		}
	}
	for name, ts := range per {
		t, err := Stack(ts)
		if err != nil {
			return nil, fmt.Errorf("input %q of samples %v: %w", name, b.Names, err)
		}
		b.Inputs[name] = t
	}
	return b, nil
}

func sortedKeys(m map[string]*tensor.Tensor) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Feeds presents a Source as model inputs one sample at a time: Sample(i)
// returns sample i as a batch of one, fitted to Inputs (see Fit) and keyed
// by input name. It satisfies passes.CalibData.
type Feeds struct {
	Source Source
	Inputs []Input
}

// Len is the number of samples.
func (f Feeds) Len() int { return f.Source.Len() }

// Sample returns the model inputs of sample i.
func (f Feeds) Sample(i int) (map[string]*tensor.Tensor, error) {
	s, err := f.Source.Sample(i)
	if err != nil {
		return nil, fmt.Errorf("sample %d: %w", i, err)
	}
	b, err := assemble(f.Inputs, []int{i}, []Sample{s})
	if err != nil {
		return nil, err
	}
	return b.Inputs, nil
}
