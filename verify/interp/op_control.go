package interp

import (
	"fmt"
	"slices"

	"github.com/onnx-prom/onnx-prom/onnx/ir"
	"github.com/onnx-prom/onnx-prom/onnx/onnxpb"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
	"google.golang.org/protobuf/proto"
)

// Control flow: If, Loop and Scan run subgraphs, their graph attributes.
//
// A subgraph is compiled once, when its node is, into a Program of its own
// (prepareGraph and compileGraph, as for the main graph). The outer values
// it reads (the names it uses at any depth without defining them, which
// the node lists in ir.Node.Implicit) become extra inputs of that program,
// after the subgraph's own inputs; a name the subgraph defines itself
// shadows the outer one. Compile passes a control-flow kernel the node's
// outer values after its inputs, and the kernel binds them with its own
// arguments to the subgraph program's inputs, by position. The subgraph's
// steps take their buffers from the run's pool and count against the
// run's work budget; the outputs a subgraph run hands back belong to the
// kernel. RunOptions.Observe does not see the values inside subgraphs.
//
// Only tensors are supported: a control-flow node or subgraph with an
// input or output declared as a sequence, an optional or a map fails to
// compile.
//
// A hostile model must not make a run hang or take all memory. Every
// subgraph run (a loop iteration, an If branch) counts subgraphRunWork
// multiply-accumulates against Options.MaxWork when it is set, and else
// counts against a limit of maxSubgraphRuns per run, nested loops
// included. A loop whose number of iterations is known before it starts (a
// Scan, a Loop without a condition) fails at once when they do not fit.
// The scan outputs a Loop accumulates are held to the tensor size limit as
// they grow.

func init() {
	Register("", "If", buildIf)
	Register("", "Loop", buildLoop)
	Register("", "Scan", buildScan)
}

const (
	// maxSubgraphRuns caps the subgraph runs of one run when
	// Options.MaxWork is not set.
	maxSubgraphRuns = 1 << 20
	// subgraphRunWork is what a subgraph run counts for in Options.MaxWork
	// besides the work of its nodes: about the cost of running a small
	// body, in multiply-accumulates.
	subgraphRunWork = 1 << 10
	// maxSubgraphDepth bounds the nesting of subgraphs (as the loader does;
	// Compile also takes models built in memory).
	maxSubgraphDepth = 32
)

// runsSubgraphs reports whether n's kernel runs its subgraphs; Compile
// refuses subgraphs anywhere else.
func runsSubgraphs(n *ir.Node) bool {
	if n.Domain != "" && n.Domain != "ai.onnx" {
		return false
	}
	return n.OpType == "If" || n.OpType == "Loop" || n.OpType == "Scan"
}

// subgraphScope is what compiling a node's subgraphs needs: the model
// around the node's graph (opsets, functions), the options and the depth
// of that graph (0: the main graph).
type subgraphScope struct {
	model *ir.Model
	opts  Options
	depth int
}

// subgraph is a compiled graph attribute.
type subgraph struct {
	attr string
	prog *Program
	// formal is the number of the subgraph's own inputs; the program's
	// inputs after them are outer values: outer[j] is the index in the
	// node's Implicit list of the value bound to input formal+j.
	formal int
	outer  []int
	// outTypes and outShapes are the declared outputs, for the scan
	// outputs of loops that run no iteration.
	outTypes  []tensor.DataType
	outShapes []ir.Shape
}

// subgraph compiles graph attribute attr of n.
func (n *Node) subgraph(attr string) (*subgraph, error) {
	a := n.Attr(attr)
	if a == nil || a.G == nil {
		return nil, n.Errorf("attribute %s (a graph) is required", attr)
	}
	if n.scope.depth+1 > maxSubgraphDepth {
		return nil, n.Errorf("%s: subgraphs nest deeper than %d levels", attr, maxSubgraphDepth)
	}
	gp := proto.Clone(a.G).(*onnxpb.GraphProto)
	for _, vi := range gp.GetInput() {
		if kind := nonTensor(vi); kind != "" {
			return nil, n.Errorf("%s: input %q is %s; only tensors are supported", attr, vi.GetName(), kind)
		}
	}
	for _, vi := range gp.GetOutput() {
		if kind := nonTensor(vi); kind != "" {
			return nil, n.Errorf("%s: output %q is %s; only tensors are supported", attr, vi.GetName(), kind)
		}
	}
	// The outer values: those of the node's that this subgraph does not
	// define (the ones only its other subgraphs read come along unused).
	defined := definedNames(gp)
	sg := &subgraph{attr: attr, formal: len(gp.GetInput())}
	for k, v := range n.Implicit {
		if !defined[v.Name] {
			gp.Input = append(gp.Input, &onnxpb.ValueInfoProto{Name: proto.String(v.Name)})
			sg.outer = append(sg.outer, k)
		}
	}
	mp := proto.Clone(n.scope.model.Proto()).(*onnxpb.ModelProto)
	mp.Graph = gp
	m, err := ir.FromProto(mp)
	if err == nil {
		err = prepareGraph(m, n.scope.opts)
	}
	if err == nil {
		sg.prog, err = compileGraph(m, n.scope.opts, n.scope.depth+1)
	}
	if err != nil {
		return nil, n.Errorf("%s: %w", attr, err)
	}
	for _, v := range m.Graph.Outputs {
		sg.outTypes = append(sg.outTypes, v.Type)
		sg.outShapes = append(sg.outShapes, v.Shape)
	}
	return sg, nil
}

// typesFrom fills in the element types sg's outputs do not declare from
// those of the node's outputs: body output k is node output k-shift.
func (sg *subgraph) typesFrom(n *Node, shift int) {
	for k, dt := range sg.outTypes {
		if o := n.Output(k - shift); dt == tensor.Undefined && o != nil {
			sg.outTypes[k] = o.Type
		}
	}
}

// definedNames lists the names g defines itself (not those of its own
// subgraphs).
func definedNames(g *onnxpb.GraphProto) map[string]bool {
	def := map[string]bool{}
	for _, vi := range g.GetInput() {
		def[vi.GetName()] = true
	}
	for _, t := range g.GetInitializer() {
		def[t.GetName()] = true
	}
	for _, s := range g.GetSparseInitializer() {
		def[s.GetValues().GetName()] = true
	}
	for _, nd := range g.GetNode() {
		for _, o := range nd.GetOutput() {
			def[o] = true
		}
	}
	return def
}

// nonTensor says what vi declares when it is not a tensor ("a sequence",
// ...; "" for tensors and undeclared types).
func nonTensor(vi *onnxpb.ValueInfoProto) string {
	tp := vi.GetType()
	switch {
	case tp.GetValue() == nil, tp.GetTensorType() != nil:
		return ""
	case tp.GetSequenceType() != nil:
		return "a sequence"
	case tp.GetOptionalType() != nil:
		return "an optional"
	case tp.GetMapType() != nil:
		return "a map"
	case tp.GetSparseTensorType() != nil:
		return "a sparse tensor"
	}
	return "not a tensor"
}

// checkTensorValues refuses a control-flow node whose inputs or outputs are
// declared as something else than tensors.
func checkTensorValues(n *Node) error {
	for _, vs := range [][]*ir.Value{n.Inputs, n.Outputs} {
		for _, v := range vs {
			if v == nil || v.Info == nil {
				continue
			}
			if kind := nonTensor(v.Info); kind != "" {
				return n.Errorf("value %q is %s; only tensors are supported", v.Name, kind)
			}
		}
	}
	return nil
}

// session is one kernel call running a subgraph, once or many times.
type session struct {
	sg    *subgraph
	c     *Ctx // the kernel's
	sub   *Ctx // the subgraph's steps': same pool, limits and budget
	st    *runState
	outer []*tensor.Tensor // the node's outer values
}

func (sg *subgraph) begin(c *Ctx, outer []*tensor.Tensor) *session {
	st := sg.prog.takeState()
	st.pool = c.pool
	c.pool.unrecorded++
	sub := &Ctx{threads: c.threads, pool: c.pool, maxBytes: c.maxBytes, budget: c.budget}
	return &session{sg: sg, c: c, sub: sub, st: st, outer: outer}
}

func (s *session) end() {
	s.c.pool.unrecorded--
	s.st.pool = nil
	s.sg.prog.giveState(s.st)
}

// run runs the subgraph on args, its own inputs; res (one per output)
// gets its outputs, which the caller owns.
func (s *session) run(args, res []*tensor.Tensor) error {
	b := s.c.budget
	if err := b.fits(1); err != nil {
		return err
	}
	b.subRuns++
	b.work = satAdd(b.work, subgraphRunWork)
	p, st := s.sg.prog, s.st
	var err error
	for i, a := range args {
		if a == nil {
			err = fmt.Errorf("input %q is missing", p.inputs[i].name)
		} else {
			err = checkInput(p.inputs[i], a)
		}
		if err != nil {
			break
		}
		st.slots[p.inputs[i].slot] = a
	}
	for j, k := range s.sg.outer {
		st.slots[p.inputs[s.sg.formal+j].slot] = s.outer[k]
	}
	if err == nil {
		err = p.exec(st, s.sub, nil)
	}
	for i, o := range p.outputs {
		if err != nil {
			break
		}
		t := st.slots[o.slot]
		switch {
		case t == nil:
			err = fmt.Errorf("output %q was not computed", o.name)
		case st.owned[o.slot]:
			st.slots[o.slot], st.owned[o.slot] = nil, false
			res[i] = t
		default: // an input or a constant passed through: the caller gets a copy
			res[i], err = s.c.CopyOf(t)
			b.work = satAdd(b.work, int64(t.Len()))
		}
	}
	st.clear()
	if err != nil {
		release(s.c, res...)
		return fmt.Errorf("%s: %w", s.sg.attr, err)
	}
	return nil
}

// fits returns an error when n more subgraph runs do not fit in the run's
// budget: Options.MaxWork when it is set, else maxSubgraphRuns.
func (b *runBudget) fits(n int64) error {
	if b.limit > 0 {
		if w := satAdd(b.work, satMul(n, subgraphRunWork)); w > b.limit {
			return fmt.Errorf("%w: %d more subgraph runs (loop iterations, If branches) at %d multiply-accumulates each would take the run over the budget of %d", ErrWorkBudget, n, subgraphRunWork, b.limit)
		}
		return nil
	}
	if satAdd(b.subRuns, n) > maxSubgraphRuns {
		return fmt.Errorf("%d more subgraph runs (loop iterations, If branches) would take the run over the limit of %d (Options.MaxWork replaces it)", n, maxSubgraphRuns)
	}
	return nil
}

// release gives the kernel's tensors ts back to the pool and clears them.
func release(c *Ctx, ts ...*tensor.Tensor) {
	for i, t := range ts {
		if t != nil {
			c.pool.put(t)
			ts[i] = nil
		}
	}
}

// deliver hands res, the kernel's results, to its outputs; those the node
// omits go back to the pool.
func deliver(c *Ctx, out, res []*tensor.Tensor) {
	for j, t := range res {
		if t != nil && j < len(out) && c.Node().Output(j) != nil {
			out[j] = t
			res[j] = nil
		}
	}
	release(c, res...)
}

// scalarOf reads a one-element tensor of type dt (a scalar, or of shape
// [1], which runtimes accept too).
func scalarOf[T any](t *tensor.Tensor, dt tensor.DataType, what string) (T, error) {
	var zero T
	if t == nil {
		return zero, fmt.Errorf("%s is missing", what)
	}
	d, ok := t.Data.([]T)
	if t.Type != dt || !ok {
		return zero, fmt.Errorf("%s must be a %s scalar, not %s", what, tensor.Name(dt), tensor.Name(t.Type))
	}
	if len(d) != 1 {
		return zero, fmt.Errorf("%s must be a %s scalar, not of shape %v", what, tensor.Name(dt), t.Shape)
	}
	return d[0], nil
}

// buildIf: one input, cond; the outputs of the branch it selects.
func buildIf(n *Node) (Kernel, error) {
	if err := checkTensorValues(n); err != nil {
		return nil, err
	}
	if len(n.Inputs) != 1 {
		return nil, n.Errorf("takes 1 input (cond), not %d", len(n.Inputs))
	}
	var branches [2]*subgraph // else, then
	for i, attr := range []string{"else_branch", "then_branch"} {
		sg, err := n.subgraph(attr)
		if err != nil {
			return nil, err
		}
		if sg.formal != 0 {
			return nil, n.Errorf("%s declares %d inputs; a branch takes none", attr, sg.formal)
		}
		if len(sg.prog.outputs) != len(n.Outputs) {
			return nil, n.Errorf("%s has %d outputs, the node %d", attr, len(sg.prog.outputs), len(n.Outputs))
		}
		branches[i] = sg
	}
	return KernelFunc(func(c *Ctx, in, out []*tensor.Tensor) error {
		cond, err := scalarOf[bool](in[0], tensor.Bool, "cond")
		if err != nil {
			return c.Node().Errorf("%v", err)
		}
		sg := branches[0]
		if cond {
			sg = branches[1]
		}
		s := sg.begin(c, in[1:])
		defer s.end()
		res := make([]*tensor.Tensor, len(out))
		if err := s.run(nil, res); err != nil {
			return c.Node().Errorf("%w", err)
		}
		deliver(c, out, res)
		return nil
	}), nil
}

// loopKernel runs Loop: inputs M (trip count), cond and nc loop-carried
// values; the body maps (iteration number, cond, carried...) to (cond,
// carried..., scan elements...); the outputs are the final carried values
// and the nScan scan outputs, the elements stacked along a new axis 0.
type loopKernel struct {
	body      *subgraph
	nc, nScan int
}

func buildLoop(n *Node) (Kernel, error) {
	if err := checkTensorValues(n); err != nil {
		return nil, err
	}
	if len(n.Inputs) < 2 {
		return nil, n.Errorf("takes inputs M, cond and the loop-carried values (empty names for omitted ones), not %d inputs", len(n.Inputs))
	}
	nc := len(n.Inputs) - 2
	body, err := n.subgraph("body")
	if err != nil {
		return nil, err
	}
	if body.formal != 2+nc {
		return nil, n.Errorf("body takes %d inputs; the loop passes %d (iteration number, condition, %d loop-carried values)", body.formal, 2+nc, nc)
	}
	nOut := len(body.prog.outputs)
	if nOut < 1+nc {
		return nil, n.Errorf("body has %d outputs; it must give the condition and %d loop-carried values", nOut, nc)
	}
	body.typesFrom(n, 1)
	k := &loopKernel{body: body, nc: nc, nScan: nOut - 1 - nc}
	if len(n.Outputs) > nc+k.nScan {
		return nil, n.Errorf("has %d outputs; the body gives %d loop-carried values and %d scan outputs", len(n.Outputs), nc, k.nScan)
	}
	return k, nil
}

func (k *loopKernel) Run(c *Ctx, in, out []*tensor.Tensor) (err error) {
	nIn := 2 + k.nc
	trip := int64(-1) // no trip count
	if in[0] != nil {
		if trip, err = scalarOf[int64](in[0], tensor.Int64, "trip count M"); err != nil {
			return c.Node().Errorf("%v", err)
		}
		if trip < 0 {
			return c.Node().Errorf("trip count M is negative (%d)", trip)
		}
	}
	cond := true
	if in[1] != nil {
		if cond, err = scalarOf[bool](in[1], tensor.Bool, "cond"); err != nil {
			return c.Node().Errorf("%v", err)
		}
	} else if trip >= 0 {
		// A for loop: its number of iterations is known.
		if err := c.budget.fits(trip); err != nil {
			return c.Node().Errorf("trip count M: %w", err)
		}
	}
	s := k.body.begin(c, in[nIn:])
	defer s.end()
	// The kernel owns everything below; what is still held when it returns
	// goes back to the pool.
	carried := make([]*tensor.Tensor, k.nc)
	scans := make([][]*tensor.Tensor, k.nScan)
	res := make([]*tensor.Tensor, 1+k.nc+k.nScan)
	var iter, condIn *tensor.Tensor
	defer func() {
		release(c, iter, condIn)
		release(c, carried...)
		release(c, res...)
		for _, list := range scans {
			release(c, list...)
		}
	}()
	for j := range carried {
		if in[2+j] == nil {
			return c.Node().Errorf("loop-carried value %d is missing", j)
		}
		if carried[j], err = c.CopyOf(in[2+j]); err != nil {
			return err
		}
	}
	if iter, err = c.Alloc(tensor.Int64); err != nil {
		return err
	}
	if condIn, err = c.Alloc(tensor.Bool); err != nil {
		return err
	}
	args := make([]*tensor.Tensor, 2+k.nc)
	for i := int64(0); (trip < 0 || i < trip) && cond; i++ {
		iter.Data.([]int64)[0] = i
		condIn.Data.([]bool)[0] = true
		args[0], args[1] = iter, condIn
		copy(args[2:], carried)
		if err := s.run(args, res); err != nil {
			return c.Node().Errorf("iteration %d: %w", i, err)
		}
		if in[1] != nil { // without a cond input, the body's is ignored
			if cond, err = scalarOf[bool](res[0], tensor.Bool, "the body's condition"); err != nil {
				return c.Node().Errorf("iteration %d: %v", i, err)
			}
		}
		release(c, res[0])
		release(c, carried...)
		copy(carried, res[1:1+k.nc])
		for j := range scans {
			scans[j] = append(scans[j], res[1+k.nc+j])
		}
		clear(res)
		for j, list := range scans {
			if err := checkScanElem(c, list); err != nil {
				return c.Node().Errorf("iteration %d: scan output %d: %w", i, j, err)
			}
		}
	}
	final := make([]*tensor.Tensor, k.nc+k.nScan)
	copy(final, carried)
	clear(carried)
	for j, list := range scans {
		scans[j] = nil
		if o := k.nc + j; o < len(out) && c.Node().Output(o) != nil {
			final[o], err = stackScan(c, k.body, 1+k.nc+j, list, 0, false, int64(len(list)))
		} else {
			release(c, list...)
		}
		if err != nil {
			release(c, final...)
			return err
		}
	}
	deliver(c, out, final)
	return nil
}

// checkScanElem checks the last element of a scan output against the
// first, and that their stack stays within the size limits as it grows.
func checkScanElem(c *Ctx, list []*tensor.Tensor) error {
	e, f := list[len(list)-1], list[0]
	if e.Type != f.Type || !slices.Equal(e.Shape, f.Shape) {
		return fmt.Errorf("%s %v, where the first iteration gave %s %v", tensor.Name(e.Type), e.Shape, tensor.Name(f.Type), f.Shape)
	}
	limit := c.maxBytes
	if limit <= 0 {
		limit = tensor.DefaultMaxBytes
	}
	if n := satMul(int64(len(list)), int64(e.Len())); n > maxElements || n > limit/elemBytes(e.Type) {
		return fmt.Errorf("%d elements of %s %v are over the size limit: %w", len(list), tensor.Name(e.Type), e.Shape, tensor.ErrTooLarge)
	}
	return nil
}

// stackScan stacks the elements of a scan output (those of iterations 0,
// 1, ... in list, owned by the kernel and given back to the pool) along
// axis (of the result; negative counts from the end) into a tensor of
// length positions on that axis: reverse puts iteration 0 last, positions
// past len(list) are zero. Output k of sg declares the element when there
// is none.
func stackScan(c *Ctx, sg *subgraph, k int, list []*tensor.Tensor, axis int64, reverse bool, length int64) (*tensor.Tensor, error) {
	defer release(c, list...)
	var dt tensor.DataType
	var elem []int64
	if len(list) > 0 {
		dt, elem = list[0].Type, list[0].Shape
	} else if dt, elem = declaredOutput(sg, k); dt == tensor.Undefined {
		return nil, c.Node().Errorf("%s output %d: no iteration ran, and the model does not declare its element type", sg.attr, k)
	}
	a, err := normAxis(axis, len(elem)+1)
	if err != nil {
		return nil, c.Node().Errorf("scan output axis: %v", err)
	}
	shape := slices.Insert(slices.Clone(elem), a, length)
	y, err := c.Alloc(dt, shape...)
	if err != nil {
		return nil, err
	}
	if int64(len(list)) < length {
		clearData(y.Data)
	}
	for i, e := range list {
		pos := int64(i)
		if reverse {
			pos = length - 1 - pos
		}
		if err := stackAt(c, y, e, a, pos, length); err != nil {
			release(c, y)
			return nil, err
		}
	}
	return y, nil
}

// declaredOutput is the element type and shape output k of sg declares
// (unknown sizes as 0).
func declaredOutput(sg *subgraph, k int) (tensor.DataType, []int64) {
	shape := make([]int64, len(sg.outShapes[k]))
	for i, d := range sg.outShapes[k] {
		shape[i] = max(d.Value, 0)
	}
	return sg.outTypes[k], shape
}

// stackAt copies e into y at position pos of axis a (y's shape is e's with
// length inserted at a).
func stackAt(c *Ctx, y, e *tensor.Tensor, a int, pos, length int64) error {
	if e.Len() == 0 {
		return nil
	}
	m := moveFor(e.Data)
	if m == nil {
		return typeErr(c, "scan output", e.Type)
	}
	outer, inner := int(prod(e.Shape[:a])), int(prod(e.Shape[a:]))
	m.copyBlocks(y.Data, int(pos)*inner, int(length)*inner, e.Data, 0, inner, inner, 0, outer)
	return nil
}

// sliceAt copies position pos of axis a of x into y (x's shape without a).
func sliceAt(c *Ctx, y, x *tensor.Tensor, a int, pos int64) error {
	if y.Len() == 0 {
		return nil
	}
	m := moveFor(x.Data)
	if m == nil {
		return typeErr(c, "scan input", x.Type)
	}
	outer, inner := int(prod(x.Shape[:a])), int(prod(x.Shape[a+1:]))
	m.copyBlocks(y.Data, 0, inner, x.Data, int(pos)*inner, int(x.Shape[a])*inner, inner, 0, outer)
	return nil
}

// scanKernel runs Scan: N state variables and M scan inputs, sliced along
// their axes; the body maps (states..., slices...) to (states..., scan
// elements...); the outputs are the final states and the K scan outputs.
// Scan 8 has a batch axis 0 on every input and output and a first input,
// sequence_lens; each batch element is scanned on its own.
type scanKernel struct {
	body                *subgraph
	v8                  bool
	nState, nIn, nOut   int
	inAxes, outAxes     []int64
	inRev, outRev       []bool
	scanInputs, scanOut int
}

func buildScan(n *Node) (Kernel, error) {
	if err := checkTensorValues(n); err != nil {
		return nil, err
	}
	m, err := n.AttrInt("num_scan_inputs", 0)
	if err != nil || !n.HasAttr("num_scan_inputs") || m < 1 {
		return nil, n.Errorf("attribute num_scan_inputs (at least 1) is required")
	}
	k := &scanKernel{v8: n.Opset < 9, nIn: len(n.Inputs)}
	first := 0
	if k.v8 {
		first = 1 // sequence_lens
	}
	if int64(len(n.Inputs)-first) < m {
		return nil, n.Errorf("has %d inputs, fewer than num_scan_inputs (%d)", len(n.Inputs), m)
	}
	k.scanInputs = int(m)
	k.nState = len(n.Inputs) - first - k.scanInputs
	if k.body, err = n.subgraph("body"); err != nil {
		return nil, err
	}
	if k.body.formal != k.nState+k.scanInputs {
		return nil, n.Errorf("body takes %d inputs; the scan passes %d (%d states, %d scan inputs)", k.body.formal, k.nState+k.scanInputs, k.nState, k.scanInputs)
	}
	k.body.typesFrom(n, 0)
	k.nOut = len(k.body.prog.outputs)
	k.scanOut = k.nOut - k.nState
	if k.scanOut < 0 {
		return nil, n.Errorf("body has %d outputs, fewer than the %d states", k.nOut, k.nState)
	}
	if len(n.Outputs) > k.nOut {
		return nil, n.Errorf("has %d outputs; the body gives %d states and %d scan outputs", len(n.Outputs), k.nState, k.scanOut)
	}
	flags := func(name string, count int) ([]int64, error) {
		v, err := n.AttrInts(name, make([]int64, count))
		if err == nil && len(v) != count {
			err = fmt.Errorf("has %d values, not %d", len(v), count)
		}
		if err != nil {
			return nil, n.Errorf("attribute %s: %v", name, err)
		}
		return v, nil
	}
	directions := func(name string, count int) ([]bool, error) {
		v, err := flags(name, count)
		if err != nil {
			return nil, err
		}
		rev := make([]bool, count)
		for i, d := range v {
			if d != 0 && d != 1 {
				return nil, n.Errorf("attribute %s: direction %d is neither 0 (forward) nor 1 (reverse)", name, d)
			}
			rev[i] = d == 1
		}
		return rev, nil
	}
	if k.v8 {
		// The scan axis is 1, axis 0 of each batch element.
		k.inAxes, k.outAxes = make([]int64, k.scanInputs), make([]int64, k.scanOut)
		k.outRev = make([]bool, k.scanOut)
		k.inRev, err = directions("directions", k.scanInputs)
		return k, err
	}
	if k.inAxes, err = flags("scan_input_axes", k.scanInputs); err != nil {
		return nil, err
	}
	if k.outAxes, err = flags("scan_output_axes", k.scanOut); err != nil {
		return nil, err
	}
	if k.inRev, err = directions("scan_input_directions", k.scanInputs); err != nil {
		return nil, err
	}
	k.outRev, err = directions("scan_output_directions", k.scanOut)
	return k, err
}

func (k *scanKernel) Run(c *Ctx, in, out []*tensor.Tensor) error {
	s := k.body.begin(c, in[k.nIn:])
	defer s.end()
	res := make([]*tensor.Tensor, k.nOut)
	defer release(c, res...)
	if k.v8 {
		if err := k.runBatches(c, s, in[0], in[1:k.nIn], res); err != nil {
			return err
		}
	} else {
		xs := in[k.nState:k.nIn]
		axes := make([]int, len(xs))
		length := int64(-1)
		for j, x := range xs {
			if x == nil {
				return c.Node().Errorf("scan input %d is missing", j)
			}
			a, err := normAxis(k.inAxes[j], len(x.Shape))
			if err != nil {
				return c.Node().Errorf("scan input %d: %v", j, err)
			}
			if length >= 0 && x.Shape[a] != length {
				return c.Node().Errorf("scan input %d has %d elements along its axis, scan input 0 has %d", j, x.Shape[a], length)
			}
			axes[j], length = a, x.Shape[a]
		}
		if err := k.scan(c, s, in[:k.nState], xs, axes, length, length, res); err != nil {
			return err
		}
	}
	deliver(c, out, res)
	return nil
}

// scan runs the body over positions 0 to n-1 of the scan inputs xs (along
// axes), from the initial states. res gets the final states, then the scan
// outputs, of length positions along their axes (length >= n; positions
// past n are zero).
func (k *scanKernel) scan(c *Ctx, s *session, states, xs []*tensor.Tensor, axes []int, n, length int64, res []*tensor.Tensor) (err error) {
	if err := c.budget.fits(n); err != nil {
		return c.Node().Errorf("scan length: %w", err)
	}
	ns := k.nState
	cur := make([]*tensor.Tensor, ns)
	slice := make([]*tensor.Tensor, len(xs))
	elems := make([][]*tensor.Tensor, k.scanOut)
	iterRes := make([]*tensor.Tensor, k.nOut)
	defer func() {
		release(c, cur...)
		release(c, slice...)
		for _, list := range elems {
			release(c, list...)
		}
	}()
	for j, st := range states {
		if st == nil {
			return c.Node().Errorf("state %d is missing", j)
		}
		if cur[j], err = c.CopyOf(st); err != nil {
			return err
		}
	}
	for j, x := range xs {
		shape := slices.Delete(slices.Clone(x.Shape), axes[j], axes[j]+1)
		if slice[j], err = c.Alloc(x.Type, shape...); err != nil {
			return err
		}
	}
	args := make([]*tensor.Tensor, ns+len(xs))
	for t := int64(0); t < n; t++ {
		for j, x := range xs {
			pos := t
			if k.inRev[j] {
				pos = n - 1 - t
			}
			if err := sliceAt(c, slice[j], x, axes[j], pos); err != nil {
				return err
			}
		}
		copy(args, cur)
		copy(args[ns:], slice)
		if err := s.run(args, iterRes); err != nil {
			return c.Node().Errorf("iteration %d: %w", t, err)
		}
		release(c, cur...)
		copy(cur, iterRes[:ns])
		for j := range elems {
			elems[j] = append(elems[j], iterRes[ns+j])
		}
		clear(iterRes)
		for j, list := range elems {
			if err := checkScanElem(c, list); err != nil {
				return c.Node().Errorf("iteration %d: scan output %d: %w", t, j, err)
			}
		}
	}
	for j, list := range elems {
		elems[j] = nil
		if res[ns+j], err = stackScan(c, k.body, ns+j, list, k.outAxes[j], k.outRev[j], length); err != nil {
			return err
		}
	}
	copy(res, cur)
	clear(cur)
	return nil
}

// runBatches runs Scan 8: each batch element b (axis 0 of the states and
// scan inputs in ins) is scanned on its own, over its first lens[b]
// positions (all when lens is nil) of the scan axis 1; the results are
// stacked again along axis 0 into res.
func (k *scanKernel) runBatches(c *Ctx, s *session, lens *tensor.Tensor, ins []*tensor.Tensor, res []*tensor.Tensor) error {
	batch, length := int64(-1), int64(-1)
	for j, x := range ins {
		if x == nil {
			return c.Node().Errorf("input %d is missing", j+1)
		}
		isScan := j >= k.nState
		if len(x.Shape) < 1 || (isScan && len(x.Shape) < 2) {
			return c.Node().Errorf("input %d of shape %v has no batch axis 0 (or sequence axis 1)", j+1, x.Shape)
		}
		if batch >= 0 && x.Shape[0] != batch {
			return c.Node().Errorf("input %d has batch size %d, not %d", j+1, x.Shape[0], batch)
		}
		batch = x.Shape[0]
		if isScan {
			if length >= 0 && x.Shape[1] != length {
				return c.Node().Errorf("scan input %d has sequence length %d, not %d", j-k.nState, x.Shape[1], length)
			}
			length = x.Shape[1]
		}
	}
	var seqLens []int64
	if lens != nil {
		d, ok := lens.Data.([]int64)
		if lens.Type != tensor.Int64 || !ok || len(lens.Shape) != 1 || lens.Shape[0] != batch {
			return c.Node().Errorf("sequence_lens must be an INT64 tensor of shape [%d]; it is %s %v", batch, tensor.Name(lens.Type), lens.Shape)
		}
		for b, v := range d {
			if v < 0 || v > length {
				return c.Node().Errorf("sequence_lens[%d] = %d is outside [0, %d]", b, v, length)
			}
		}
		seqLens = d
	}
	// Per batch element: its slices of the inputs, its results.
	one := make([]*tensor.Tensor, len(ins))
	got := make([]*tensor.Tensor, k.nOut)
	defer func() {
		release(c, one...)
		release(c, got...)
	}()
	for j, x := range ins {
		var err error
		if one[j], err = c.Alloc(x.Type, x.Shape[1:]...); err != nil {
			return err
		}
	}
	axes := make([]int, k.scanInputs)
	for b := int64(0); b < batch; b++ {
		for j, x := range ins {
			if err := sliceAt(c, one[j], x, 0, b); err != nil {
				return err
			}
		}
		n := length
		if seqLens != nil {
			n = seqLens[b]
		}
		if err := k.scan(c, s, one[:k.nState], one[k.nState:], axes, n, length, got); err != nil {
			return c.Node().Errorf("batch %d: %w", b, err)
		}
		for j, e := range got {
			if res[j] == nil {
				var err error
				if res[j], err = c.Alloc(e.Type, slices.Insert(slices.Clone(e.Shape), 0, batch)...); err != nil {
					return err
				}
			} else if e.Type != res[j].Type || !slices.Equal(e.Shape, res[j].Shape[1:]) {
				return c.Node().Errorf("output %d: batch %d gives %s %v, batch 0 gave %s %v", j, b, tensor.Name(e.Type), e.Shape, tensor.Name(res[j].Type), res[j].Shape[1:])
			}
			if err := stackAt(c, res[j], e, 0, b, batch); err != nil {
				return err
			}
		}
		release(c, got...)
	}
	if batch > 0 {
		return nil
	}
	// No batch element: the states keep their shape; the scan outputs
	// take the declared element shape.
	for j := range res {
		dt, shape := tensor.Undefined, []int64(nil)
		if j < k.nState {
			dt, shape = ins[j].Type, ins[j].Shape
		} else if dt, shape = declaredOutput(k.body, j); dt != tensor.Undefined {
			shape = append([]int64{0, length}, shape...)
		} else {
			return c.Node().Errorf("body output %d: the batch is empty, and the model does not declare its element type", j)
		}
		var err error
		if res[j], err = c.Alloc(dt, shape...); err != nil {
			return err
		}
	}
	return nil
}
