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
	// maxBytes caps one allocation (Options.MaxTensorBytes; 0: default).
	maxBytes int64
	// budget is what the run has spent (shared with its subgraphs' runs).
	budget *runBudget
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
	if c.maxBytes > 0 && n > c.maxBytes/elemBytes(dt) {
		return nil, c.node.Errorf("output shape %v of %s takes more than the %d-byte limit: %w", shape, tensor.Name(dt), c.maxBytes, tensor.ErrTooLarge)
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
// lives until the current kernel returns. Like Alloc, call it from the
// kernel's goroutine, not from inside a Parallel function.
func (c *Ctx) Scratch(n int) []float32 { return c.ScratchOf(tensor.Float, n).([]float32) }

// ScratchOf is Scratch for any numeric element type; it returns the typed
// slice ([]int32 for INT32, ...).
func (c *Ctx) ScratchOf(dt tensor.DataType, n int) any {
	if n < 0 || (c.maxBytes > 0 && int64(n) > c.maxBytes/elemBytes(dt)) || int64(n) > maxElements {
		// The run recovers this into an ordinary error naming the node.
		panic(&limitError{fmt.Errorf("scratch buffer of %d elements of %s is over the limit of %d bytes: %w", n, tensor.Name(dt), c.maxBytes, tensor.ErrTooLarge)})
	}
	t, err := c.pool.get(dt, n)
	if err != nil {
		panic(err) // a programming error: dt is not a tensor type
	}
	c.scratch = append(c.scratch, t)
	return t.Data
}

// Parallel runs f over [0, n) split into at most Threads chunks of at least
// grain items, and waits for all of them.
func (c *Ctx) Parallel(n, grain int, f func(lo, hi int)) {
	ParallelWorkers(c.threads, n, grain, func(_, lo, hi int) { f(lo, hi) })
}

// ParallelWorkers is Parallel that also tells f which worker (0 <=
// worker < Threads, distinct for concurrent calls) runs the chunk, so f can
// use per-worker scratch space allocated beforehand.
func (c *Ctx) ParallelWorkers(n, grain int, f func(worker, lo, hi int)) {
	ParallelWorkers(c.threads, n, grain, f)
}

// ParallelWorkers runs f over [0, n) in at most threads goroutines, each
// taking one contiguous chunk of at least grain items; worker is the
// chunk's index.
func ParallelWorkers(threads, n, grain int, f func(worker, lo, hi int)) {
	if grain < 1 {
		grain = 1
	}
	chunks := n / grain
	if chunks > threads {
		chunks = threads
	}
	if chunks <= 1 {
		if n > 0 {
			f(0, 0, n)
		}
		return
	}
	var wg sync.WaitGroup
	step := (n + chunks - 1) / chunks
	for w, lo := 0, 0; lo < n; w, lo = w+1, lo+step {
		hi := min(lo+step, n)
		wg.Add(1)
		go func(w, lo, hi int) {
			defer wg.Done()
			f(w, lo, hi)
		}(w, lo, hi)
	}
	wg.Wait()
}

// maxElements caps any single tensor the interpreter creates (1<<31
// elements, 8 GiB of float32): a guard against hostile shapes.
const maxElements = 1 << 31

func makeData(dt tensor.DataType, n int) (any, error) {
	t, err := tensor.New(dt, int64(n))
	if err != nil {
		return nil, fmt.Errorf("allocating %d elements of %s: %w", n, tensor.Name(dt), err)
	}
	return t.Data, nil
}

// limitError is what ScratchOf panics with when a buffer would be over the
// size limit (it has no error result); runKernel turns it back into an
// error.
type limitError struct{ err error }
