package train

import (
	"fmt"
	"math"

	"github.com/onnx-prom/onnx-prom/onnx/ir"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
)

// buf is an activation: one value of the graph for a whole batch, laid out
// [batch][per-sample shape], with its gradient.
type buf struct {
	name  string
	value *ir.Value
	shape []int // per sample
	size  int   // elements per sample
	data  []float32
	grad  []float32 // nil when no gradient flows into this value
}

func (b *buf) at(n int) []float32 { return b.data[n*b.size : (n+1)*b.size] }

func (b *buf) gradAt(n int) []float32 { return b.grad[n*b.size : (n+1)*b.size] }

// Param is a tensor of the model that training updates (a weight or bias)
// or keeps as state (BatchNormalization's running statistics).
type Param struct {
	// Name is the initializer's name.
	Name  string
	Shape []int
	// Data holds the trained ("latent") values.
	Data []float32
	// Grad is the gradient of the last step's loss with respect to Data.
	Grad []float32
	// Trainable parameters get optimizer updates; the others are state.
	Trainable bool
	// Decay says whether weight decay applies (weights of Conv, Gemm and
	// MatMul; not biases or normalization parameters).
	Decay bool

	value *ir.Value
	eff   []float32   // what the forward pass uses: Data or its quantized form
	wgrad [][]float32 // per-worker gradient; wgrad[0] is Grad
	split bool        // workers add into wgrad[w]: sum after backward
	wq    *weightQuant
	bq    bool      // a bias put on the int32 grid of its layer
	m1    []float32 // optimizer state
	m2    []float32
	lrMul []float32 // per-element learning-rate factor (relative steps)
}

// state is what all ops of a net share.
type state struct {
	n        int  // current batch size
	training bool // batch statistics and range updates
}

// op is one differentiable operation of a net. forward and backward
// process work items [lo, hi) (samples, or channels for
// BatchNormalization) on worker w.
type op interface {
	b() *opBase
	items() int
	forward(w, lo, hi int)
	backward(w, lo, hi int)
}

// preparer is an op with per-step work before the forward pass
// (quantized biases, range parameters).
type preparer interface{ prepare() }

// opBase holds what every op has.
type opBase struct {
	name string
	in   []*buf
	out  *buf
	// acc[i] says whether backward adds into in[i].grad (another reader
	// has already written it) or overwrites it.
	acc []bool
	st  *state
}

func (o *opBase) b() *opBase { return o }

// items is the batch size: most ops work sample by sample.
func (o *opBase) items() int { return o.st.n }

// net is a compiled, differentiable form of an ONNX graph.
type net struct {
	st       state
	pool     *pool
	workers  int
	maxBatch int
	model    *ir.Model

	input      *buf
	inputValue *ir.Value
	logits     *buf
	bufs       []*buf
	params     []*Param
	paramOf    map[*ir.Value]*Param
	ops        []op
	fwd, bwd   []func(w, lo, hi int)
	quants     []*actQuant
	weighted   []weighted
	valueBufs  map[*ir.Value]*buf // raw (unquantized) buffer of each value
	quantPlan  *plan
	outputName string
}

// weighted is an op whose weights and bias are quantized in QAT.
type weighted interface {
	weightParam() *Param
	biasParam() *Param
	inputQuant() *actQuant
}

func (nt *net) close() {
	if nt.pool != nil {
		nt.pool.close()
	}
}

// setBatch sets the batch size of the next pass.
func (nt *net) setBatch(n int) error {
	if n < 1 || n > nt.maxBatch {
		return fmt.Errorf("batch of %d samples: must be 1 to %d", n, nt.maxBatch)
	}
	nt.st.n = n
	return nil
}

// prepare computes the quantized weights, activation parameters and
// quantized biases for the next pass.
func (nt *net) prepare() {
	for _, p := range nt.params {
		if p.wq != nil {
			p.wq.apply(p)
		}
	}
	for _, q := range nt.quants {
		q.prepare()
	}
	for _, o := range nt.weighted {
		b, q, w := o.biasParam(), o.inputQuant(), o.weightParam()
		if b == nil || !b.bq {
			continue
		}
		if q == nil || !q.enabled || w.wq == nil {
			copy(b.eff, b.Data)
			continue
		}
		quantizeBias(b.eff, b.Data, q.scale, w.wq.scales, true)
	}
	for _, o := range nt.ops {
		if p, ok := o.(preparer); ok {
			p.prepare()
		}
	}
}

// forward runs the forward pass on the batch in the input buffer.
func (nt *net) forward() {
	for i, o := range nt.ops {
		nt.pool.run(o.items(), nt.fwd[i])
	}
	if nt.st.training {
		for _, q := range nt.quants {
			q.update()
		}
	}
}

// backward runs the backward pass from the gradient in logits.grad and
// leaves the parameter gradients in Param.Grad.
func (nt *net) backward() {
	for _, p := range nt.params {
		if p.Trainable {
			for _, g := range p.wgrad {
				clear(g)
			}
		}
	}
	for i := len(nt.ops) - 1; i >= 0; i-- {
		o := nt.ops[i]
		if o.b().out.grad == nil {
			continue
		}
		nt.pool.run(o.items(), nt.bwd[i])
	}
	for _, p := range nt.params {
		if !p.Trainable || !p.split {
			continue
		}
		for _, g := range p.wgrad[1:] {
			for j, v := range g {
				p.Grad[j] += v
			}
		}
	}
}

// finish completes compilation: gradient flags, accumulation flags and
// the per-op functions.
func (nt *net) finish() {
	written := map[*buf]bool{}
	for i := len(nt.ops) - 1; i >= 0; i-- {
		ob := nt.ops[i].b()
		ob.acc = make([]bool, len(ob.in))
		if ob.out.grad == nil {
			continue
		}
		for j, in := range ob.in {
			if in != nil && in.grad != nil {
				ob.acc[j] = written[in]
				written[in] = true
			}
		}
	}
	nt.fwd = make([]func(w, lo, hi int), len(nt.ops))
	nt.bwd = make([]func(w, lo, hi int), len(nt.ops))
	for i, o := range nt.ops {
		nt.fwd[i] = o.forward
		nt.bwd[i] = o.backward
	}
	for _, p := range nt.params {
		p.eff = p.Data
		if p.Trainable {
			p.Grad = make([]float32, len(p.Data))
			p.wgrad = [][]float32{p.Grad}
			if p.split {
				for w := 1; w < nt.workers; w++ {
					p.wgrad = append(p.wgrad, make([]float32, len(p.Data)))
				}
			}
		}
		if p.wq != nil || p.bq {
			p.eff = make([]float32, len(p.Data))
			copy(p.eff, p.Data)
		}
	}
}

// newBuf allocates an activation for value v with the given per-sample
// shape; grad says whether a gradient is kept.
func (nt *net) newBuf(name string, v *ir.Value, shape []int, grad bool) (*buf, error) {
	size := 1
	for _, d := range shape {
		if d <= 0 {
			return nil, fmt.Errorf("value %q: per-sample shape %v has a non-positive dimension", name, shape)
		}
		if size > math.MaxInt32/d {
			return nil, fmt.Errorf("value %q: per-sample shape %v is too large", name, shape)
		}
		size *= d
	}
	if int64(size)*int64(nt.maxBatch) > 1<<31 {
		return nil, fmt.Errorf("value %q: %d elements per sample times batch %d is too large", name, size, nt.maxBatch)
	}
	b := &buf{name: name, value: v, shape: append([]int{}, shape...), size: size, data: make([]float32, size*nt.maxBatch)}
	if grad {
		b.grad = make([]float32, size*nt.maxBatch)
	}
	nt.bufs = append(nt.bufs, b)
	return b, nil
}

// floatData decodes an initializer as float32.
func floatData(v *ir.Value) ([]float32, []int, error) {
	t, err := v.Tensor()
	if err != nil {
		return nil, nil, err
	}
	switch t.Type {
	case tensor.Float, tensor.Double, tensor.Float16, tensor.BFloat16T:
	default:
		return nil, nil, fmt.Errorf("initializer %q is %s, want a float type", v.Name, tensor.Name(t.Type))
	}
	f, err := t.Float32s()
	if err != nil {
		return nil, nil, fmt.Errorf("initializer %q: %w", v.Name, err)
	}
	shape := make([]int, len(t.Shape))
	for i, d := range t.Shape {
		shape[i] = int(d)
	}
	return append([]float32{}, f...), shape, nil
}

func numel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}
