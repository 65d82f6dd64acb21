package interp

import (
	"math"
	"slices"

	"github.com/onnx-prom/onnx-prom/onnx/tensor"
)

// bufferPool recycles the tensors and scratch buffers of a run (each
// concurrent run has its own). It works in two modes:
//
//   - Best fit, for a run with input shapes it has not seen: a request takes
//     the free buffer of the same element type with the smallest capacity
//     that fits (resliced to the length asked for), else a new one.
//   - Plan, for later runs: the pool recorded when each request of the run
//     before was made and given back, and laid the requests out in as few
//     bytes as it could (greedy by size: the largest request first, each
//     into the first buffer whose other requests never overlap it in time).
//     Request i gets buffer plan[i]; buffers no request needs are dropped.
//
// A run whose requests all follow the plan leaves it as it is, so with a
// fixed input shape the pool settles after two runs, allocates nothing
// more, and holds about the most memory the run needs alive at once.
type bufferPool struct {
	free map[tensor.DataType][]*poolBuf // by capacity, ascending
	// side holds the free buffers of requests made inside control-flow
	// kernels (unrecorded), apart from the planned ones, so that loops
	// neither take buffers the plan counts on nor get planned.
	side map[tensor.DataType][]*poolBuf
	bufs map[*tensor.Tensor]*poolBuf // every buffer the pool owns
	// plan holds the buffer request i of a run is to get (nil: a new
	// buffer, for a tensor the run hands to its caller), planReqs the
	// requests it was made for.
	plan     []*poolBuf
	planReqs []poolReq
	// reqs records this run's requests; misses counts those not served by
	// the plan; tick orders gets and puts.
	reqs   []poolReq
	misses int
	tick   int
	// held is the bytes of all buffers the pool made and still owns (live
	// or free); live the bytes of the buffers handed out and not yet put
	// back, counted by length. peakHeld and peakLive are their maxima.
	held, live, peakHeld, peakLive int64
	// unrecorded is set while a control-flow kernel runs (op_control.go):
	// its requests, as many as its loops iterate, are served best fit from
	// side and neither planned nor recorded.
	unrecorded int
}

// poolReq is one request of a run: its element type and length, and the
// ticks when it was handed out and given back (math.MaxInt: handed over
// to the caller with the run's outputs).
type poolReq struct {
	dt       tensor.DataType
	n        int
	from, to int
}

// poolBuf is one buffer of the pool. A tensor's Data is an interface
// value: each reslice to a new length boxes a new slice header, so the
// buffer keeps the slice at full capacity and the last few views it
// handed out, and a run that asks for the same lengths as the run before
// allocates nothing.
type poolBuf struct {
	t     *tensor.Tensor
	cap   int
	free  bool // in the free list
	side  bool // made for an unrecorded request: lives in side
	req   int  // the request holding it, -1 when free
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
	b.views[0] = poolView{n, tensor.Reslice(b.full, n)}
	return b.views[0].v
}

func newBufferPool() *bufferPool {
	return &bufferPool{free: map[tensor.DataType][]*poolBuf{}, side: map[tensor.DataType][]*poolBuf{},
		bufs: map[*tensor.Tensor]*poolBuf{}}
}

// startRun begins a run. If the run before made requests its plan did not
// foresee, the plan is made anew from that run's requests.
func (p *bufferPool) startRun() {
	if p.misses > 0 && len(p.reqs) > 0 {
		p.replan()
	}
	p.reqs, p.misses, p.tick = p.reqs[:0], 0, 0
	p.peakHeld, p.peakLive = p.held, p.live
}

func (p *bufferPool) get(dt tensor.DataType, n int) (*tensor.Tensor, error) {
	var b *poolBuf
	i := len(p.reqs)
	record := p.unrecorded == 0
	fresh := false // planned to get a new buffer: it goes to the caller
	switch c := p.planned(i); {
	case !record:
		list := p.side[dt]
		if j := firstFit(list, n); j < len(list) {
			b = list[j]
			p.take(b)
		}
	case c == nil && i < len(p.plan):
		fresh = true
	case c != nil && c.free && !c.side && c.t.Type == dt && c.cap >= n && p.bufs[c.t] == c:
		b = c
		p.take(c)
	default:
		p.misses++
		list := p.free[dt]
		if j := firstFit(list, n); j < len(list) {
			b = list[j]
			p.take(b)
		}
	}
	if fresh && !p.fits(i, dt, n) {
		p.misses++
	}
	if b != nil {
		b.t.Data = b.view(n)
	} else {
		data, err := makeData(dt, n)
		if err != nil {
			return nil, err
		}
		b = p.adopt(&tensor.Tensor{Type: dt, Data: data})
		b.side = !record
	}
	b.req = -1
	if record {
		b.req = i
		p.reqs = append(p.reqs, poolReq{dt: dt, n: n, from: p.tick, to: -1})
		p.tick++
	}
	p.live += int64(n) * elemBytes(dt)
	p.peakLive = max(p.peakLive, p.live)
	return b.t, nil
}

// planned is the buffer the plan gives request i (nil: a new one, or no
// plan for it).
func (p *bufferPool) planned(i int) *poolBuf {
	if i < len(p.plan) {
		return p.plan[i]
	}
	return nil
}

// fits reports whether request i of this run is the request the plan was
// made for (same type and length), for requests planned without a buffer.
func (p *bufferPool) fits(i int, dt tensor.DataType, n int) bool {
	return i < len(p.planReqs) && p.planReqs[i].dt == dt && p.planReqs[i].n == n
}

// lists is the free lists b belongs in.
func (p *bufferPool) lists(b *poolBuf) map[tensor.DataType][]*poolBuf {
	if b.side {
		return p.side
	}
	return p.free
}

// take removes free buffer b from its free list.
func (p *bufferPool) take(b *poolBuf) {
	lists := p.lists(b)
	list := lists[b.t.Type]
	for i := firstFit(list, b.cap); i < len(list); i++ {
		if list[i] == b {
			lists[b.t.Type] = append(list[:i], list[i+1:]...)
			b.free = false
			return
		}
	}
	panic("interp: buffer pool: a free buffer is not in its free list")
}

// adopt makes t a buffer of the pool (in use).
func (p *bufferPool) adopt(t *tensor.Tensor) *poolBuf {
	c := t.Cap()
	b := &poolBuf{t: t, cap: c, full: tensor.Reslice(t.Data, c), req: -1}
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
	if b.req >= 0 && b.req < len(p.reqs) {
		p.reqs[b.req].to = p.tick
	}
	b.req = -1
	p.tick++
	p.live -= int64(t.Len()) * elemBytes(t.Type)
	if d, ok := b.full.([][]byte); ok {
		clear(d) // a free buffer does not keep old strings alive
	}
	p.addFree(b)
}

// addFree puts b in its free list.
func (p *bufferPool) addFree(b *poolBuf) {
	lists := p.lists(b)
	list := lists[b.t.Type]
	i := firstFit(list, b.cap)
	list = append(list, nil)
	copy(list[i+1:], list[i:])
	list[i] = b
	lists[b.t.Type] = list
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
	if b.req >= 0 && b.req < len(p.reqs) {
		p.reqs[b.req].to = math.MaxInt
	}
	delete(p.bufs, t)
	p.live -= int64(n) * elemBytes(t.Type)
	p.held -= int64(b.cap) * elemBytes(t.Type)
	return t
}

// replan lays out the requests of the last run (all given back or
// detached: the pool is idle) and makes the plan: greedy by size, each
// request into the first slot of its element type that is large enough
// and free for the request's whole lifetime, else a new slot; then each
// slot, largest first, gets a free buffer of about its size, or a new one,
// and the buffers no slot takes are dropped.
func (p *bufferPool) replan() {
	type slot struct {
		dt    tensor.DataType
		size  int
		spans [][2]int
		buf   *poolBuf
	}
	order := make([]int, len(p.reqs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return p.reqs[b].n - p.reqs[a].n })
	var slots []*slot
	slotOf := make([]int, len(p.reqs))
	for _, i := range order {
		r := p.reqs[i]
		slotOf[i] = -1
		if r.to == math.MaxInt || r.to < 0 {
			continue // handed to the caller (or never given back): a new buffer
		}
		chosen := -1
		for si, s := range slots {
			if s.dt != r.dt || s.size < r.n {
				continue
			}
			overlap := false
			for _, sp := range s.spans {
				if r.from < sp[1] && sp[0] < r.to {
					overlap = true
					break
				}
			}
			if !overlap {
				chosen = si
				break
			}
		}
		if chosen < 0 {
			chosen = len(slots)
			slots = append(slots, &slot{dt: r.dt, size: r.n})
		}
		slots[chosen].spans = append(slots[chosen].spans, [2]int{r.from, r.to})
		slotOf[i] = chosen
	}
	// Slots were made largest first: each takes the best-fitting free
	// buffer if that is at most an eighth larger, else a new one (and the
	// larger buffer is dropped below unless another slot takes it).
	for _, s := range slots {
		list := p.free[s.dt]
		if j := firstFit(list, s.size); j < len(list) && list[j].cap <= s.size+s.size/8 {
			s.buf = list[j]
			p.take(s.buf)
			continue
		}
		data, err := makeData(s.dt, s.size)
		if err != nil {
			continue // the request will be served by best fit
		}
		s.buf = p.adopt(&tensor.Tensor{Type: s.dt, Data: data})
	}
	// What no slot took is dropped; the slots' buffers become the free list.
	for dt, list := range p.free {
		for _, b := range list {
			delete(p.bufs, b.t)
			p.held -= int64(b.cap) * elemBytes(dt)
		}
		delete(p.free, dt)
	}
	for _, s := range slots {
		if s.buf != nil {
			p.addFree(s.buf)
		}
	}
	p.planReqs = append(p.planReqs[:0], p.reqs...)
	p.plan = p.plan[:0]
	for i := range p.reqs {
		var b *poolBuf
		if si := slotOf[i]; si >= 0 {
			b = slots[si].buf
		}
		p.plan = append(p.plan, b)
	}
}
