package interp

import (
	"fmt"
	"sync"

	"github.com/onnx-prom/onnx-prom/onnx/tensor"
)

// Ctx is the per-run context a kernel receives: buffers and threads.
type Ctx struct {
	threads int
	pool    *bufferPool
	node    *Node
	scratch []*tensor.Tensor // released when the step ends
}

// Threads is the number of goroutines a kernel may use.
func (c *Ctx) Threads() int { return c.threads }

// Node returns the node being run.
func (c *Ctx) Node() *Node { return c.node }

// Alloc returns a tensor of the given type and shape from the run's pool.
// Its contents are undefined: the kernel must write every element.
func (c *Ctx) Alloc(dt tensor.DataType, shape ...int64) (*tensor.Tensor, error) {
	n, err := tensor.NumElements(shape)
	if err != nil {
		return nil, c.node.Errorf("output: %v", err)
	}
	if n > maxElements {
		return nil, c.node.Errorf("output shape %v has %d elements, over the limit of %d", shape, n, int64(maxElements))
	}
	t, err := c.pool.get(dt, int(n))
	if err != nil {
		return nil, c.node.Errorf("%v", err)
	}
	t.Shape = append(t.Shape[:0], shape...)
	return t, nil
}

// Zeros is Alloc with every element set to zero.
func (c *Ctx) Zeros(dt tensor.DataType, shape ...int64) (*tensor.Tensor, error) {
	t, err := c.Alloc(dt, shape...)
	if err != nil {
		return nil, err
	}
	clearData(t.Data)
	return t, nil
}

// Scratch returns a float32 buffer of n elements (contents undefined) that
// lives until the current kernel returns.
func (c *Ctx) Scratch(n int) []float32 {
	t, err := c.pool.get(tensor.Float, n)
	if err != nil {
		panic(err) // float32 is always supported
	}
	c.scratch = append(c.scratch, t)
	return t.Data.([]float32)
}

// Parallel runs f over [0, n) split into at most Threads chunks of at least
// grain items, and waits for all of them.
func (c *Ctx) Parallel(n, grain int, f func(lo, hi int)) {
	Parallel(c.threads, n, grain, f)
}

// Parallel runs f over [0, n) in at most threads goroutines, each taking a
// contiguous chunk of at least grain items.
func Parallel(threads, n, grain int, f func(lo, hi int)) {
	if grain < 1 {
		grain = 1
	}
	chunks := n / grain
	if chunks > threads {
		chunks = threads
	}
	if chunks <= 1 {
		if n > 0 {
			f(0, n)
		}
		return
	}
	var wg sync.WaitGroup
	step := (n + chunks - 1) / chunks
	for lo := 0; lo < n; lo += step {
		hi := min(lo+step, n)
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			f(lo, hi)
		}(lo, hi)
	}
	wg.Wait()
}

// maxElements caps any single tensor the interpreter creates (1<<31
// elements, 8 GiB of float32): a guard against hostile shapes.
const maxElements = 1 << 31

type poolKey struct {
	dt tensor.DataType
	n  int
}

// bufferPool recycles tensors of a run by exact type and length: with a
// fixed batch, each run needs the same set of sizes as the one before.
type bufferPool struct {
	free map[poolKey][]*tensor.Tensor
}

func newBufferPool() *bufferPool { return &bufferPool{free: map[poolKey][]*tensor.Tensor{}} }

func (p *bufferPool) get(dt tensor.DataType, n int) (*tensor.Tensor, error) {
	k := poolKey{dt, n}
	if list := p.free[k]; len(list) > 0 {
		t := list[len(list)-1]
		p.free[k] = list[:len(list)-1]
		return t, nil
	}
	data, err := makeData(dt, n)
	if err != nil {
		return nil, err
	}
	return &tensor.Tensor{Type: dt, Data: data}, nil
}

func (p *bufferPool) put(t *tensor.Tensor) {
	k := poolKey{t.Type, t.Len()}
	p.free[k] = append(p.free[k], t)
}

func makeData(dt tensor.DataType, n int) (any, error) {
	t, err := tensor.New(dt, int64(n))
	if err != nil {
		return nil, fmt.Errorf("allocating %d elements of %s: %w", n, tensor.Name(dt), err)
	}
	return t.Data, nil
}
