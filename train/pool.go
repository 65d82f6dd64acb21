package train

import "sync"

// pool runs work split over a fixed set of goroutines. It allocates
// nothing per call: the work function is stored in the pool and each
// worker reads its share of the index range.
type pool struct {
	workers int
	start   []chan struct{}
	wg      sync.WaitGroup
	fn      func(w, lo, hi int)
	n       int
	closed  bool
}

func newPool(workers int) *pool {
	p := &pool{workers: max(1, workers)}
	for w := 1; w < p.workers; w++ {
		ch := make(chan struct{})
		p.start = append(p.start, ch)
		go p.loop(w, ch)
	}
	return p
}

func (p *pool) loop(w int, ch chan struct{}) {
	for range ch {
		lo, hi := p.chunk(w)
		if lo < hi {
			p.fn(w, lo, hi)
		}
		p.wg.Done()
	}
}

// chunk is worker w's share of [0, n).
func (p *pool) chunk(w int) (int, int) {
	return w * p.n / p.workers, (w + 1) * p.n / p.workers
}

// run calls fn(w, lo, hi) for contiguous chunks of [0, n), one per worker,
// and returns when all are done. Worker 0 runs on the calling goroutine.
func (p *pool) run(n int, fn func(w, lo, hi int)) {
	if n <= 0 {
		return
	}
	if p.workers == 1 || n == 1 {
		fn(0, 0, n)
		return
	}
	p.fn, p.n = fn, n
	p.wg.Add(p.workers - 1)
	for _, ch := range p.start {
		ch <- struct{}{}
	}
	lo, hi := p.chunk(0)
	if lo < hi {
		fn(0, lo, hi)
	}
	p.wg.Wait()
	p.fn = nil
}

// close stops the workers.
func (p *pool) close() {
	if p.closed {
		return
	}
	p.closed = true
	for _, ch := range p.start {
		close(ch)
	}
}
