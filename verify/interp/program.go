package interp

import (
	"errors"
	"fmt"
	"runtime"
	"sort"
	"sync"

	"github.com/onnx-prom/onnx-prom/onnx/ir"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
)

// Options control Compile.
type Options struct {
	// Threads is how many goroutines a run may use inside kernels; 0 means
	// runtime.GOMAXPROCS(0).
	Threads int
	// InlineFunctions lists "domain/op" names of model-local functions to
	// inline even when a native kernel exists (to run the function body,
	// e.g. to compare it with the native kernel).
	InlineFunctions []string
	// MaxTensorBytes caps every tensor the program decodes (initializers,
	// constants) or a kernel allocates; 0 means tensor.DefaultMaxBytes
	// (4 GiB).
	MaxTensorBytes int64
	// MaxWork caps the estimated work of one run, in multiply-accumulates
	// (see NodeWork); 0 means no limit. Compile refuses a model whose
	// estimate (EstimateWork with InputShapes) is over it, and a run stops
	// with an error before the node that would take it over the budget.
	MaxWork int64
	// Fuse lets Compile fuse Conv with a following BatchNormalization, Relu
	// or Clip (see InternalDomain), as inference runtimes do: fewer passes
	// over memory, results that differ in the last bits from running the
	// nodes one by one, and the fused intermediate values are not computed
	// (RunOptions.Observe does not see them). Off, every node runs as
	// written.
	Fuse bool
	// InputShapes are the input shapes Compile estimates the work for;
	// inputs left out count with their declared shape, symbolic
	// dimensions as 1.
	InputShapes map[string][]int64
}

// Program is a compiled model, safe for concurrent use by several goroutines.
type Program struct {
	steps   []step
	slots   int
	inputs  []inputSlot
	outputs []outputSlot
	consts  map[int]*tensor.Tensor
	names   []string // slot -> value name
	threads int
	// idle holds the run states (slots and buffer pool) of finished runs,
	// for the next runs to take: as many as the most runs at once.
	idleMu sync.Mutex
	idle   []*runState
	// maxBytes caps allocations (0: the default); maxWork caps a run's
	// estimated work (0: none).
	maxBytes, maxWork int64
	// constBytes is what ConstantBytes reports.
	constBytes int64
}

// ConstantBytes is the memory the program holds for the model's constants:
// decoded initializers and the packed copies kernels keep (weights packed
// for the GEMM), each counted once.
func (p *Program) ConstantBytes() int64 { return p.constBytes }

type step struct {
	node    *Node
	kernel  Kernel
	in      []int // slot per input, -1 when omitted
	out     []int // slot per output, -1 when omitted
	release []int // slots whose last reader is this step
}

type inputSlot struct {
	slot  int
	name  string
	dt    tensor.DataType
	shape ir.Shape
	def   *tensor.Tensor // initializer default; nil when required
}

type outputSlot struct {
	slot int
	name string
}

// InputInfo describes a graph input a run takes.
type InputInfo struct {
	Name     string
	Type     tensor.DataType
	Shape    ir.Shape
	Optional bool // has an initializer default
}

// Inputs lists the inputs a run takes, in graph order.
func (p *Program) Inputs() []InputInfo {
	out := make([]InputInfo, len(p.inputs))
	for i, in := range p.inputs {
		out[i] = InputInfo{Name: in.name, Type: in.dt, Shape: in.shape, Optional: in.def != nil}
	}
	return out
}

// Outputs lists the output names, in graph order.
func (p *Program) Outputs() []string {
	out := make([]string, len(p.outputs))
	for i, o := range p.outputs {
		out[i] = o.name
	}
	return out
}

// Compile prepares m for running. m is not modified.
func Compile(m *ir.Model, opts Options) (*Program, error) {
	mp, err := m.ToProto()
	if err != nil {
		return nil, err
	}
	work, err := ir.FromProto(mp)
	if err != nil {
		return nil, err
	}
	if err := prepareGraph(work, opts); err != nil {
		return nil, err
	}
	if opts.MaxWork > 0 {
		total, top, err := EstimateWork(work, opts.InputShapes)
		if err != nil {
			return nil, err
		}
		if total > opts.MaxWork {
			return nil, fmt.Errorf("%w: the estimated work of one run, %d multiply-accumulates (most in node %s), is over the budget of %d", ErrWorkBudget, total, top.Label(), opts.MaxWork)
		}
	}
	return compileGraph(work, opts, 0)
}

// prepareGraph rewrites the graph of work, a private copy of the model (or
// the model around a subgraph, see op_control.go), before compileGraph
// makes its steps: inlined functions, folded constants, node order, fusion.
func prepareGraph(work *ir.Model, opts Options) error {
	if err := inlineFunctions(work, opts.InlineFunctions); err != nil {
		return err
	}
	g := work.Graph
	if err := foldConstantNodes(g); err != nil {
		return err
	}
	if err := g.TopoSort(); err != nil {
		return err
	}
	if opts.Fuse {
		return fuseGraph(g)
	}
	return nil
}

// compileGraph makes the program of work's graph. Control-flow nodes
// compile their subgraphs with it too (through Node.scope), at depth+1:
// depth is 0 for the main graph.
func compileGraph(work *ir.Model, opts Options, depth int) (*Program, error) {
	g := work.Graph
	scope := &subgraphScope{model: work, opts: opts, depth: depth}
	p := &Program{consts: map[int]*tensor.Tensor{}, threads: opts.Threads, maxBytes: opts.MaxTensorBytes, maxWork: opts.MaxWork}
	dec := tensor.DecodeOptions{MaxBytes: opts.MaxTensorBytes}
	if p.threads <= 0 {
		p.threads = runtime.GOMAXPROCS(0)
	}
	slotOf := map[*ir.Value]int{}
	slot := func(v *ir.Value) int {
		if s, ok := slotOf[v]; ok {
			return s
		}
		s := len(p.names)
		slotOf[v] = s
		p.names = append(p.names, v.Name)
		return s
	}
	decoded := map[*ir.Value]*tensor.Tensor{}
	constOf := func(v *ir.Value) (*tensor.Tensor, error) {
		if t, ok := decoded[v]; ok {
			return t, nil
		}
		t, err := dec.FromProto(v.Const)
		if err != nil {
			return nil, fmt.Errorf("initializer %q: %w", v.Name, err)
		}
		decoded[v] = t
		return t, nil
	}
	for _, v := range g.Inputs {
		in := inputSlot{slot: slot(v), name: v.Name, dt: v.Type, shape: v.Shape}
		if v.Const != nil {
			t, err := constOf(v)
			if err != nil {
				return nil, err
			}
			in.def = t
		}
		p.inputs = append(p.inputs, in)
	}
	for _, v := range g.Initializers {
		if v.IsGraphInput() || (v.NumUses() == 0 && !v.IsGraphOutput()) {
			continue // nothing reads it
		}
		t, err := constOf(v)
		if err != nil {
			return nil, err
		}
		p.consts[slot(v)] = t
	}
	lastUse := map[int]int{}
	for i, n := range g.Nodes() {
		b := lookup(n.Domain, n.OpType)
		if b == nil {
			return nil, fmt.Errorf("node %s: op %s is not supported by the interpreter", n.Label(), opName(n.Domain, n.OpType))
		}
		if len(n.Implicit) > 0 && !runsSubgraphs(n) {
			return nil, fmt.Errorf("node %s: subgraphs are not supported by the interpreter", n.Label())
		}
		node := &Node{Node: n, Opset: g.Opset(n.Domain), consts: make([]*tensor.Tensor, len(n.Inputs)), scope: scope}
		st := step{node: node}
		for j, v := range n.Inputs {
			if v == nil {
				st.in = append(st.in, -1)
				continue
			}
			s := slot(v)
			st.in = append(st.in, s)
			lastUse[s] = i
			if v.IsConst() {
				t, err := constOf(v)
				if err != nil {
					return nil, fmt.Errorf("node %s: %w", n.Label(), err)
				}
				node.consts[j] = t
			}
		}
		// The outer values that the node's subgraphs read follow its
		// inputs: a control-flow kernel gets them after its own inputs.
		for _, v := range n.Implicit {
			s := slot(v)
			st.in = append(st.in, s)
			lastUse[s] = i
		}
		for _, v := range n.Outputs {
			if v == nil {
				st.out = append(st.out, -1)
				continue
			}
			st.out = append(st.out, slot(v))
		}
		k, err := b(node)
		if err != nil {
			var ne *nodeError
			if errors.As(err, &ne) {
				return nil, err
			}
			return nil, fmt.Errorf("node %s: %w", n.Label(), err)
		}
		st.kernel = k
		p.steps = append(p.steps, st)
	}
	keep := map[int]bool{}
	for _, v := range g.Outputs {
		s := slot(v)
		keep[s] = true
		p.outputs = append(p.outputs, outputSlot{slot: s, name: v.Name})
	}
	for _, in := range p.inputs {
		keep[in.slot] = true
	}
	for s := range p.consts {
		keep[s] = true
	}
	for s, i := range lastUse {
		if !keep[s] {
			p.steps[i].release = append(p.steps[i].release, s)
		}
	}
	for i := range p.steps {
		sort.Ints(p.steps[i].release)
	}
	p.slots = len(p.names)
	outs := map[int]bool{}
	for _, o := range p.outputs {
		outs[o.slot] = true
	}
	p.dropCaptured(outs)
	p.constBytes = 0
	for _, t := range p.consts {
		p.constBytes += int64(t.Len()) * elemBytes(t.Type)
	}
	for _, s := range p.steps {
		if h, ok := s.kernel.(HeldBytes); ok {
			p.constBytes += h.HeldBytes()
		}
	}
	// The program holds decoded constants and what kernels made of them;
	// the initializers' protobufs are not needed any more.
	for _, v := range g.Initializers {
		v.Const = nil
	}
	// Values produced but never read nor output are released at once.
	for i := range p.steps {
		for _, s := range p.steps[i].out {
			if _, read := lastUse[s]; s >= 0 && !read && !keep[s] {
				p.steps[i].release = append(p.steps[i].release, s)
			}
		}
	}
	return p, nil
}

// dropCaptured replaces every constant that all its readers captured
// (Node.Capture) by a tensor of the same type and shape without elements,
// so the program does not keep a second copy of packed weights. Constants
// that are graph outputs (in outs) stay.
func (p *Program) dropCaptured(outs map[int]bool) {
	all := map[int]bool{}
	for _, st := range p.steps {
		for j, s := range st.in {
			if _, isConst := p.consts[s]; !isConst {
				continue
			}
			c, seen := all[s]
			all[s] = (c || !seen) && st.node.Captured(j)
		}
	}
	for s, captured := range all {
		if !captured || outs[s] {
			continue
		}
		t := p.consts[s]
		empty, err := makeData(t.Type, 0)
		if err != nil {
			continue
		}
		p.consts[s] = &tensor.Tensor{Type: t.Type, Shape: t.Shape, Data: empty}
	}
	// The nodes let go of what their kernels captured too.
	for _, st := range p.steps {
		for j := range st.node.consts {
			if st.node.Captured(j) {
				st.node.consts[j] = nil
			}
		}
	}
}

func opName(domain, op string) string {
	if domain == "" || domain == "ai.onnx" {
		return op
	}
	return domain + "/" + op
}

// nodeError marks errors that already name their node.
type nodeError struct {
	msg string
	err error // the cause, for errors.Is (from a %w in Errorf)
}

func (e *nodeError) Error() string { return e.msg }

// Unwrap returns the cause.
func (e *nodeError) Unwrap() error { return e.err }

type runState struct {
	slots  []*tensor.Tensor
	owned  []bool
	pool   *bufferPool
	ins    []*tensor.Tensor
	outs   []*tensor.Tensor
	budget runBudget
}

// runBudget is what a run has spent so far, shared with the runs of its
// subgraphs: the estimated work (against limit, Options.MaxWork) and the
// number of subgraph runs (see op_control.go).
type runBudget struct {
	limit, work, subRuns int64
}

// clear gives the tensors st owns back to its pool and empties the slots.
func (st *runState) clear() {
	for i, t := range st.slots {
		if t != nil && st.owned[i] {
			st.pool.put(t)
		}
		st.slots[i] = nil
		st.owned[i] = false
	}
}

// RunOptions control one run.
type RunOptions struct {
	// Observe, when set, is called with every value a node computes, right
	// after the node ran. The tensor is only valid during the call: copy it
	// (Clone) to keep it. The values computed inside subgraphs (the
	// branches of If, the bodies of Loop and Scan) are not observed, only
	// the outputs of the control-flow node.
	Observe func(name string, t *tensor.Tensor)
	// Stats, when set, receives the memory figures of the run.
	Stats *RunStats
}

// RunStats are the memory figures of one run, beside the program's
// ConstantBytes. The graph inputs are the caller's and not counted.
type RunStats struct {
	// PeakLiveBytes is the most memory the run's tensors and kernel scratch
	// buffers took at once.
	PeakLiveBytes int64
	// PeakPoolBytes is the most memory the run's buffer pool held at once:
	// the buffers in use and the free ones it keeps for reuse (one pool per
	// concurrent run; it lasts from run to run).
	PeakPoolBytes int64
}

// FreeMemory drops the buffers the program keeps between runs (each
// concurrent run's pool); the next runs make them anew. Runs in progress
// keep theirs.
func (p *Program) FreeMemory() {
	p.idleMu.Lock()
	p.idle = nil
	p.idleMu.Unlock()
}

// Run executes the program. inputs maps graph input names to tensors;
// inputs with an initializer default may be left out. The returned tensors
// belong to the caller.
func (p *Program) Run(inputs map[string]*tensor.Tensor) (map[string]*tensor.Tensor, error) {
	return p.RunWith(inputs, RunOptions{})
}

// RunWith is Run with options.
func (p *Program) RunWith(inputs map[string]*tensor.Tensor, o RunOptions) (map[string]*tensor.Tensor, error) {
	st := p.takeState()
	if st.pool == nil {
		st.pool = newBufferPool()
	}
	st.pool.startRun()
	res, err := p.run(st, inputs, o)
	if o.Stats != nil {
		*o.Stats = RunStats{PeakLiveBytes: st.pool.peakLive, PeakPoolBytes: st.pool.peakHeld}
	}
	st.clear()
	p.giveState(st)
	return res, err
}

// takeState returns an idle run state, or a new one without a pool.
func (p *Program) takeState() *runState {
	p.idleMu.Lock()
	defer p.idleMu.Unlock()
	if n := len(p.idle); n > 0 {
		st := p.idle[n-1]
		p.idle = p.idle[:n-1]
		return st
	}
	return &runState{slots: make([]*tensor.Tensor, p.slots), owned: make([]bool, p.slots)}
}

// giveState makes st, cleared, idle for the next run.
func (p *Program) giveState(st *runState) {
	p.idleMu.Lock()
	p.idle = append(p.idle, st)
	p.idleMu.Unlock()
}

func (p *Program) run(st *runState, inputs map[string]*tensor.Tensor, o RunOptions) (res map[string]*tensor.Tensor, err error) {
	for name := range inputs {
		if !p.hasInput(name) {
			return nil, fmt.Errorf("input %q: the model has no such input", name)
		}
	}
	for _, in := range p.inputs {
		t := inputs[in.name]
		if t == nil {
			if in.def == nil {
				return nil, fmt.Errorf("input %q: missing", in.name)
			}
			t = in.def
		} else if err := checkInput(in, t); err != nil {
			return nil, err
		}
		st.slots[in.slot] = t
	}
	st.budget = runBudget{limit: p.maxWork}
	c := &Ctx{threads: p.threads, pool: st.pool, maxBytes: p.maxBytes, budget: &st.budget}
	if err := p.exec(st, c, o.Observe); err != nil {
		return nil, err
	}
	res = make(map[string]*tensor.Tensor, len(p.outputs))
	for _, out := range p.outputs {
		t := st.slots[out.slot]
		if t == nil {
			return nil, fmt.Errorf("output %q was not computed", out.name)
		}
		if st.owned[out.slot] {
			st.owned[out.slot] = false // detach: the caller owns it now
			st.slots[out.slot] = nil
			res[out.name] = st.pool.detach(t)
		} else {
			res[out.name] = t.Clone()
		}
	}
	return res, nil
}

// exec runs the steps on the inputs bound in st.slots (the main graph's, or
// a subgraph's, see op_control.go); observe, when not nil, sees every value
// a step computes.
func (p *Program) exec(st *runState, c *Ctx, observe func(string, *tensor.Tensor)) (err error) {
	for s, t := range p.consts {
		st.slots[s] = t
	}
	for i := range p.steps {
		s := &p.steps[i]
		st.ins = st.ins[:0]
		for _, k := range s.in {
			if k < 0 {
				st.ins = append(st.ins, nil)
			} else {
				st.ins = append(st.ins, st.slots[k])
			}
		}
		if p.maxWork > 0 {
			if c.budget.work, err = p.checkWork(s, st.ins, c.budget.work); err != nil {
				return err
			}
		}
		st.outs = st.outs[:0]
		for range s.out {
			st.outs = append(st.outs, nil)
		}
		c.node = s.node
		if err := runKernel(s, c, st.ins, st.outs); err != nil {
			return err
		}
		for _, t := range c.scratch {
			st.pool.put(t)
		}
		c.scratch = c.scratch[:0]
		for j, k := range s.out {
			if k < 0 {
				continue
			}
			t := st.outs[j]
			if t == nil {
				return fmt.Errorf("node %s: output %d was not computed", s.node.Label(), j)
			}
			for _, x := range st.ins {
				if x == t {
					return fmt.Errorf("node %s: kernel returned its input as output %d", s.node.Label(), j)
				}
			}
			st.slots[k] = t
			st.owned[k] = true
			if observe != nil {
				observe(p.names[k], t)
			}
		}
		for _, k := range s.release {
			if st.owned[k] && st.slots[k] != nil {
				st.pool.put(st.slots[k])
			}
			st.slots[k] = nil
			st.owned[k] = false
		}
	}
	return nil
}

func runKernel(s *step, c *Ctx, in, out []*tensor.Tensor) (err error) {
	defer func() {
		if r := recover(); r != nil {
			if le, ok := r.(*limitError); ok {
				err = fmt.Errorf("node %s: %w", s.node.Label(), le.err)
				return
			}
			err = fmt.Errorf("node %s: kernel failed: %v", s.node.Label(), r)
		}
	}()
	if err := s.kernel.Run(c, in, out); err != nil {
		var ne *nodeError
		if errors.As(err, &ne) {
			return err
		}
		return fmt.Errorf("node %s: %w", s.node.Label(), err)
	}
	return nil
}

func (p *Program) hasInput(name string) bool {
	for _, in := range p.inputs {
		if in.name == name {
			return true
		}
	}
	return false
}

func checkInput(in inputSlot, t *tensor.Tensor) error {
	if in.dt != tensor.Undefined && t.Type != in.dt {
		return fmt.Errorf("input %q: element type %s, the model wants %s", in.name, tensor.Name(t.Type), tensor.Name(in.dt))
	}
	n, err := tensor.NumElements(t.Shape)
	if err != nil {
		return fmt.Errorf("input %q: %w", in.name, err)
	}
	if int64(t.Len()) != n {
		return fmt.Errorf("input %q: %d elements for shape %v", in.name, t.Len(), t.Shape)
	}
	if in.shape == nil {
		return nil
	}
	if len(t.Shape) != len(in.shape) {
		return fmt.Errorf("input %q: shape %v, the model wants %v", in.name, t.Shape, in.shape)
	}
	for i, d := range in.shape {
		if d.Known() && d.Value != t.Shape[i] {
			return fmt.Errorf("input %q: shape %v, the model wants %v", in.name, t.Shape, in.shape)
		}
	}
	return nil
}

// checkWork adds the estimated work of step s on inputs in to done and
// fails if the total goes over the budget.
func (p *Program) checkWork(s *step, in []*tensor.Tensor, done int64) (int64, error) {
	shapes := make([][]int64, len(in))
	for i, t := range in {
		if t != nil {
			shapes[i] = t.Shape
		}
	}
	w, _ := NodeWork(s.node.Node, shapes)
	total := satAdd(done, w)
	if total > p.maxWork {
		return total, fmt.Errorf("node %s: %w: inputs of shapes %v take about %d multiply-accumulates, and the run would need %d, over the budget of %d", s.node.Label(), ErrWorkBudget, shapes, w, total, p.maxWork)
	}
	return total, nil
}

// foldConstantNodes turns Constant nodes into initializers, so their values
// are decoded once at compile time (not copied on every run) and kernels
// see them as constant inputs (Conv can pre-pack such weights).
func foldConstantNodes(g *ir.Graph) error {
	for _, n := range g.Nodes() {
		if n.Domain != "" || n.OpType != "Constant" || n.Output(0) == nil {
			continue
		}
		tp, err := ir.ConstantValue(n)
		if err != nil {
			return fmt.Errorf("node %s: %w", n.Label(), err)
		}
		out := n.Output(0)
		n.Outputs[0] = nil
		g.RemoveNode(n)
		out.Producer = nil
		if err := g.MakeInitializer(out, tp); err != nil {
			return err
		}
	}
	return nil
}
