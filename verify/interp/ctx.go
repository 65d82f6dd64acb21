package interp

import (
	"fmt"
	"sync"

	"github.com/onnx-prom/onnx-prom/onnx/tensor"
	"github.com/x448/float16"
)

// Ctx is the per-run context a kernel receives: buffers and threads.
type Ctx struct {
	threads int
	pool    *bufferPool
	node    *Node
	scratch []*tensor.Tensor // released when the step ends
	// maxBytes caps one allocation (Options.MaxTensorBytes; 0: default).
	maxBytes int64
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

// bufferPool recycles the tensors and scratch buffers of a run. A request
// takes the free buffer of the same element type with the smallest capacity
// that fits (resliced to the length asked for), so a buffer freed by one
// layer serves any smaller one after it: what the pool holds stays close to
// the most memory the run needs alive at once, rather than growing with the
// number of distinct tensor sizes. With a fixed input shape every run makes
// the same requests, so after the first run no run allocates.
//
// A run replays the choices of the run before it: request i gets the buffer
// request i got last time when that buffer is free and fits (with the same
// input shapes it always is), and only otherwise the best fit. So the
// pool's layout is settled by the first run of a shape, and later runs
// neither search nor grow.
type bufferPool struct {
	free map[tensor.DataType][]*poolBuf // by capacity, ascending
	bufs map[*tensor.Tensor]*poolBuf    // every buffer the pool owns
	// plan holds the buffer each request of the last run got, in order;
	// trace collects this run's.
	plan, trace []*poolBuf
	// held is the bytes of all buffers the pool made and still owns (live
	// or free); live the bytes of the buffers handed out and not yet put
	// back, counted by length. peakHeld and peakLive are their maxima.
	held, live, peakHeld, peakLive int64
}

// poolBuf is one buffer of the pool. A tensor's Data is an interface
// value: each reslice to a new length boxes a new slice header, so the
// buffer keeps the slice at full capacity and the last view it handed out,
// and a run that asks for the same lengths as the run before allocates
// nothing.
type poolBuf struct {
	t     *tensor.Tensor
	cap   int
	free  bool // in the free list
	full  any  // the data at full capacity
	views [4]poolView
}

// poolView is a view of a buffer's data at length n (nil v: unused).
type poolView struct {
	n int
	v any
}

// view returns the buffer's data at length n, boxed once per length (a
// buffer serves a few lengths in a run; the oldest view makes room).
func (b *poolBuf) view(n int) any {
	for i, w := range b.views {
		if w.v != nil && w.n == n {
			if i > 0 {
				copy(b.views[1:i+1], b.views[:i])
				b.views[0] = w
			}
			return w.v
		}
	}
	copy(b.views[1:], b.views[:len(b.views)-1])
	b.views[0] = poolView{n, reslice(b.full, n)}
	return b.views[0].v
}

func newBufferPool() *bufferPool {
	return &bufferPool{free: map[tensor.DataType][]*poolBuf{}, bufs: map[*tensor.Tensor]*poolBuf{}}
}

// startRun begins a run: requests are matched against the last run's.
func (p *bufferPool) startRun() {
	p.plan, p.trace = p.trace, p.plan[:0]
	p.peakHeld, p.peakLive = p.held, p.live
}

func (p *bufferPool) get(dt tensor.DataType, n int) (*tensor.Tensor, error) {
	var b *poolBuf
	if i := len(p.trace); i < len(p.plan) {
		if c := p.plan[i]; c.free && c.t.Type == dt && c.cap >= n && p.bufs[c.t] == c {
			b = c
			p.take(c)
		}
	}
	list := p.free[dt]
	if i := firstFit(list, n); b == nil && i < len(list) {
		b = list[i]
		p.take(b)
	}
	if b != nil {
		b.t.Data = b.view(n)
	} else {
		data, err := makeData(dt, n)
		if err != nil {
			return nil, err
		}
		b = p.adopt(&tensor.Tensor{Type: dt, Data: data})
	}
	p.trace = append(p.trace, b)
	p.live += int64(n) * elemBytes(dt)
	p.peakLive = max(p.peakLive, p.live)
	return b.t, nil
}

// take removes free buffer b from its free list.
func (p *bufferPool) take(b *poolBuf) {
	list := p.free[b.t.Type]
	for i := firstFit(list, b.cap); i < len(list); i++ {
		if list[i] == b {
			p.free[b.t.Type] = append(list[:i], list[i+1:]...)
			b.free = false
			return
		}
	}
	panic("interp: buffer pool: a free buffer is not in its free list")
}

// adopt makes t a buffer of the pool.
func (p *bufferPool) adopt(t *tensor.Tensor) *poolBuf {
	c := dataCap(t.Data)
	b := &poolBuf{t: t, cap: c, full: reslice(t.Data, c)}
	b.views[0] = poolView{t.Len(), t.Data}
	p.bufs[t] = b
	p.held += int64(c) * elemBytes(t.Type)
	p.peakHeld = max(p.peakHeld, p.held)
	return b
}

// put gives t back for reuse. t normally came from get; a tensor from
// elsewhere joins the pool.
func (p *bufferPool) put(t *tensor.Tensor) {
	b := p.bufs[t]
	if b == nil {
		b = p.adopt(t)
		p.live += int64(t.Len()) * elemBytes(t.Type)
	}
	p.live -= int64(t.Len()) * elemBytes(t.Type)
	list := p.free[t.Type]
	i := firstFit(list, b.cap)
	list = append(list, nil)
	copy(list[i+1:], list[i:])
	list[i] = b
	p.free[t.Type] = list
	b.free = true
}

// firstFit is the index of the first buffer of list (sorted by capacity)
// whose capacity is at least n, len(list) when there is none.
func firstFit(list []*poolBuf, n int) int {
	lo, hi := 0, len(list)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if list[mid].cap < n {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// detach hands t, which came from get, over to the caller of the run: the
// pool forgets it. A tensor that sits in a much larger buffer is copied out
// (and the buffer kept), so the caller does not hold on to the slack.
func (p *bufferPool) detach(t *tensor.Tensor) *tensor.Tensor {
	b := p.bufs[t]
	if b == nil {
		return t
	}
	n := t.Len()
	if b.cap > 2*n+64 {
		out := t.Clone()
		p.put(t)
		return out
	}
	delete(p.bufs, t)
	p.live -= int64(n) * elemBytes(t.Type)
	p.held -= int64(b.cap) * elemBytes(t.Type)
	return t
}

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

// dataCap is the capacity of a tensor's data slice.
func dataCap(d any) int {
	switch d := d.(type) {
	case []float32:
		return cap(d)
	case []float64:
		return cap(d)
	case []float16.Float16:
		return cap(d)
	case []tensor.BFloat16:
		return cap(d)
	case []int8:
		return cap(d)
	case []int16:
		return cap(d)
	case []int32:
		return cap(d)
	case []int64:
		return cap(d)
	case []uint8:
		return cap(d)
	case []uint16:
		return cap(d)
	case []uint32:
		return cap(d)
	case []uint64:
		return cap(d)
	case []bool:
		return cap(d)
	case [][]byte:
		return cap(d)
	}
	panic(fmt.Sprintf("interp: tensor data of type %T", d))
}

// reslice returns d[:n] (n <= cap(d)); string tensors get their elements
// cleared, so a reused buffer does not keep old strings alive.
func reslice(d any, n int) any {
	switch d := d.(type) {
	case []float32:
		return d[:n]
	case []float64:
		return d[:n]
	case []float16.Float16:
		return d[:n]
	case []tensor.BFloat16:
		return d[:n]
	case []int8:
		return d[:n]
	case []int16:
		return d[:n]
	case []int32:
		return d[:n]
	case []int64:
		return d[:n]
	case []uint8:
		return d[:n]
	case []uint16:
		return d[:n]
	case []uint32:
		return d[:n]
	case []uint64:
		return d[:n]
	case []bool:
		return d[:n]
	case [][]byte:
		clear(d[:cap(d)])
		return d[:n]
	}
	panic(fmt.Sprintf("interp: tensor data of type %T", d))
}
