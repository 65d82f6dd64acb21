package interp

import (
	"fmt"
	"math"
	"strings"

	"github.com/onnx-prom/onnx-prom/onnx/onnxpb"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
	"github.com/x448/float16"
)

// RNN, GRU and LSTM: one-layer recurrent networks, forward, reverse or
// bidirectional, in either layout (opset 14). FLOAT, FLOAT16 and BFLOAT16
// compute in float32, DOUBLE in float64; activations are evaluated in
// float64. Every (direction, batch entry) pair is an independent
// recurrence, and the pairs run in parallel.
//
// Semantics the spec leaves open follow ONNX Runtime: activation_alpha and
// activation_beta are consumed in order by the activations that take them
// (others use their defaults); for bidirectional nodes, activations may
// list one direction's functions, which the reverse direction reuses; clip
// bounds the gate pre-activations (the inputs of f and g), not the LSTM
// cell state given to h; an entry of sequence_lens of 0 gives zero final
// states; steps past an entry's length are zero in Y.

func init() {
	Register("", "RNN", buildRecurrent(rnnSimple))
	Register("", "GRU", buildRecurrent(rnnGRU))
	Register("", "LSTM", buildRecurrent(rnnLSTM))
}

type rnnKind int

const (
	rnnSimple rnnKind = iota
	rnnGRU
	rnnLSTM
)

// gates is the number of weight blocks of W and R (zrh for GRU, iofc for
// LSTM).
func (k rnnKind) gates() int { return [...]int{1, 3, 4}[k] }

// funcs is the number of activation functions per direction.
func (k rnnKind) funcs() int { return [...]int{1, 2, 3}[k] }

// maxInputs and maxOutputs are the node's input and output counts.
func (k rnnKind) maxInputs() int  { return [...]int{6, 6, 8}[k] }
func (k rnnKind) maxOutputs() int { return [...]int{2, 2, 3}[k] }

func (k rnnKind) defaultActs() []string {
	return [...][]string{{"Tanh"}, {"Sigmoid", "Tanh"}, {"Sigmoid", "Tanh", "Tanh"}}[k]
}

// Input and output positions.
const (
	rnnX = iota
	rnnW
	rnnR
	rnnB
	rnnSeqLens
	rnnInitH
	rnnInitC // LSTM
	rnnP     // LSTM
)

type rnnActKind int

const (
	actRelu rnnActKind = iota
	actTanh
	actSigmoid
	actAffine
	actLeakyRelu
	actThresholdedRelu
	actScaledTanh
	actHardSigmoid
	actElu
	actSoftsign
	actSoftplus
)

// rnnActInfo describes an activation: whether it takes alpha and beta
// and their defaults.
var rnnActInfo = map[string]struct {
	kind              rnnActKind
	useAlpha, useBeta bool
	defAlpha, defBeta float64
}{
	"relu":            {kind: actRelu},
	"tanh":            {kind: actTanh},
	"sigmoid":         {kind: actSigmoid},
	"affine":          {actAffine, true, true, 1, 0},
	"leakyrelu":       {actLeakyRelu, true, false, 0.01, 0},
	"thresholdedrelu": {actThresholdedRelu, true, false, 1, 0},
	"scaledtanh":      {actScaledTanh, true, true, 1, 1},
	"hardsigmoid":     {actHardSigmoid, true, true, 0.2, 0.5},
	"elu":             {actElu, true, false, 1, 0},
	"softsign":        {kind: actSoftsign},
	"softplus":        {kind: actSoftplus},
}

// rnnAct is one activation function with its parameters.
type rnnAct struct {
	kind        rnnActKind
	alpha, beta float64
	// clip > 0 bounds the input to [-clip, clip] (applyClip).
	clip float64
}

// applyClip applies the activation to x clipped to [-clip, clip].
func (a *rnnAct) applyClip(x float64) float64 {
	if a.clip > 0 {
		x = min(max(x, -a.clip), a.clip)
	}
	return a.apply(x)
}

func (a *rnnAct) apply(x float64) float64 {
	switch a.kind {
	case actRelu:
		return max(x, 0)
	case actTanh:
		return math.Tanh(x)
	case actSigmoid:
		if x >= 0 {
			return 1 / (1 + math.Exp(-x))
		}
		e := math.Exp(x)
		return e / (1 + e)
	case actAffine:
		return a.alpha*x + a.beta
	case actLeakyRelu:
		if x >= 0 {
			return x
		}
		return a.alpha * x
	case actThresholdedRelu:
		if x >= a.alpha {
			return x
		}
		return 0
	case actScaledTanh:
		return a.alpha * math.Tanh(a.beta*x)
	case actHardSigmoid:
		return min(max(a.alpha*x+a.beta, 0), 1)
	case actElu:
		if x >= 0 {
			return x
		}
		return a.alpha * math.Expm1(x)
	case actSoftsign:
		return x / (1 + math.Abs(x))
	case actSoftplus:
		if x > 0 {
			return x + math.Log1p(math.Exp(-x))
		}
		return math.Log1p(math.Exp(x))
	}
	return x
}

type rnnKernel struct {
	kind   rnnKind
	hidden int  // hidden_size attribute, 0 when absent
	fwd    bool // the first (or only) direction runs forward
	numDir int
	// acts holds kind.funcs() activations per direction.
	acts              []rnnAct
	batchFirst        bool // layout = 1
	linearBeforeReset bool // GRU
	inputForget       bool // LSTM
}

func buildRecurrent(kind rnnKind) Builder {
	return func(n *Node) (Kernel, error) { return buildRNN(n, kind) }
}

func buildRNN(n *Node, kind rnnKind) (Kernel, error) {
	op := n.OpType
	if len(n.Inputs) < 3 || len(n.Inputs) > kind.maxInputs() {
		return nil, n.Errorf("%s takes 3 to %d inputs, got %d", op, kind.maxInputs(), len(n.Inputs))
	}
	if len(n.Outputs) > kind.maxOutputs() {
		return nil, n.Errorf("%s has at most %d outputs, got %d", op, kind.maxOutputs(), len(n.Outputs))
	}
	names := []string{"X", "W", "R", "B", "sequence_lens", "initial_h", "initial_c", "P"}
	for i := rnnX; i <= rnnR; i++ {
		if n.Input(i) == nil {
			return nil, n.Errorf("input %s is required", names[i])
		}
	}
	xt := n.InputType(rnnX)
	for i := range n.Inputs {
		if i == rnnSeqLens {
			if dt := n.InputType(i); dt != tensor.Undefined && dt != tensor.Int32 && dt != tensor.Int64 {
				return nil, n.Errorf("sequence_lens has type %s, want INT32", tensor.Name(dt))
			}
			continue
		}
		if err := cnnCheckFloatInput(n, i, names[i]); err != nil {
			return nil, err
		}
		if dt := n.InputType(i); dt != tensor.Undefined && xt != tensor.Undefined && dt != xt {
			return nil, n.Errorf("%s has type %s but X has type %s", names[i], tensor.Name(dt), tensor.Name(xt))
		}
	}
	k := &rnnKernel{kind: kind, fwd: true, numDir: 1}
	hs, err := n.AttrInt("hidden_size", 0)
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	if n.HasAttr("hidden_size") && (hs < 1 || hs > math.MaxInt32) {
		return nil, n.Errorf("hidden_size %d must be positive", hs)
	}
	k.hidden = int(hs)
	dir, err := n.AttrString("direction", "forward")
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	switch dir {
	case "forward":
	case "reverse":
		k.fwd = false
	case "bidirectional":
		k.numDir = 2
	default:
		return nil, n.Errorf("direction %q is not forward, reverse or bidirectional", dir)
	}
	layout, err := n.AttrInt("layout", 0)
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	if layout != 0 && n.Opset < 14 {
		return nil, n.Errorf("attribute layout needs opset 14 (the model imports %d)", n.Opset)
	}
	if layout != 0 && layout != 1 {
		return nil, n.Errorf("layout %d is not 0 or 1", layout)
	}
	k.batchFirst = layout == 1
	if n.Opset < 7 {
		// output_sequence (opset 1) only says whether Y is wanted, which
		// the node's outputs already tell.
		if _, err := n.AttrInt("output_sequence", 0); err != nil {
			return nil, n.Errorf("%v", err)
		}
	}
	var clip float64
	if n.HasAttr("clip") {
		cf, err := n.AttrFloat("clip", 0)
		if err != nil {
			return nil, n.Errorf("%v", err)
		}
		if !(cf > 0) {
			return nil, n.Errorf("clip %v must be positive", cf)
		}
		clip = float64(cf)
	}
	switch kind {
	case rnnGRU:
		lbr, err := n.AttrInt("linear_before_reset", 0)
		if err != nil {
			return nil, n.Errorf("%v", err)
		}
		k.linearBeforeReset = lbr != 0
	case rnnLSTM:
		inf, err := n.AttrInt("input_forget", 0)
		if err != nil {
			return nil, n.Errorf("%v", err)
		}
		k.inputForget = inf != 0
	}
	if k.acts, err = rnnParseActs(n, kind, k.numDir, clip); err != nil {
		return nil, err
	}
	if err := k.checkShapes(n); err != nil {
		return nil, err
	}
	return k, nil
}

// rnnParseActs reads activations, activation_alpha and activation_beta.
func rnnParseActs(n *Node, kind rnnKind, numDir int, clip float64) ([]rnnAct, error) {
	nf := kind.funcs()
	var names []string
	if a := n.Attr("activations"); a != nil {
		if a.GetType() != onnxpb.AttributeProto_STRINGS && a.GetType() != onnxpb.AttributeProto_UNDEFINED {
			return nil, n.Errorf("attribute activations is %v, want STRINGS", a.GetType())
		}
		for _, s := range a.GetStrings() {
			names = append(names, string(s))
		}
		if len(names) != nf*numDir && !(numDir == 2 && len(names) == nf) {
			return nil, n.Errorf("activations lists %d functions, want %d", len(names), nf*numDir)
		}
	} else {
		names = kind.defaultActs()
	}
	alphas, err := n.AttrFloats("activation_alpha", nil)
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	betas, err := n.AttrFloats("activation_beta", nil)
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	acts := make([]rnnAct, 0, nf*numDir)
	for _, name := range names {
		info, ok := rnnActInfo[strings.ToLower(name)]
		if !ok {
			return nil, n.Errorf("activation %q is not one of Relu, Tanh, Sigmoid, Affine, LeakyRelu, ThresholdedRelu, ScaledTanh, HardSigmoid, Elu, Softsign, Softplus", name)
		}
		a := rnnAct{kind: info.kind, alpha: info.defAlpha, beta: info.defBeta, clip: clip}
		if info.useAlpha && len(alphas) > 0 {
			a.alpha, alphas = float64(alphas[0]), alphas[1:]
		}
		if info.useBeta && len(betas) > 0 {
			a.beta, betas = float64(betas[0]), betas[1:]
		}
		acts = append(acts, a)
	}
	for len(acts) < nf*numDir {
		acts = append(acts, acts[:nf]...)
	}
	return acts, nil
}

// checkShapes checks what is known at compile time of the input shapes.
func (k *rnnKernel) checkShapes(n *Node) error {
	g := k.kind.gates()
	known := func(i, d int) (int64, bool) {
		v := n.Input(i)
		if v == nil || v.Shape == nil || d >= len(v.Shape) || !v.Shape[d].Known() {
			return 0, false
		}
		return v.Shape[d].Value, true
	}
	// In input order, so that the error is always the same one.
	type namedInput struct {
		i    int
		name string
	}
	for _, in := range []namedInput{{rnnX, "X"}, {rnnW, "W"}, {rnnR, "R"}} {
		i, name := in.i, in.name
		if v := n.Input(i); v.Shape != nil && len(v.Shape) != 3 {
			return n.Errorf("%s has rank %d, want 3", name, len(v.Shape))
		}
	}
	for _, in := range []namedInput{{rnnW, "W"}, {rnnR, "R"}} {
		i, name := in.i, in.name
		if d, ok := known(i, 0); ok && d != int64(k.numDir) {
			return n.Errorf("%s has %d directions, want %d", name, d, k.numDir)
		}
		if d, ok := known(i, 1); ok && k.hidden > 0 && d != int64(g*k.hidden) {
			return n.Errorf("%s has %d rows, want %d·hidden_size = %d", name, d, g, g*k.hidden)
		}
	}
	if d, ok := known(rnnR, 2); ok && k.hidden > 0 && d != int64(k.hidden) {
		return n.Errorf("R has %d columns, want hidden_size %d", d, k.hidden)
	}
	return nil
}

// rnnDims are the sizes of one run.
type rnnDims struct {
	seq, batch, input, hidden, numDir, gates int
	batchFirst                               bool
}

// xOff is the offset of X[t, b, :].
func (d *rnnDims) xOff(t, b int) int {
	if d.batchFirst {
		return (b*d.seq + t) * d.input
	}
	return (t*d.batch + b) * d.input
}

// yOff is the offset of Y[t, dir, b, :].
func (d *rnnDims) yOff(t, dir, b int) int {
	if d.batchFirst {
		return ((b*d.seq+t)*d.numDir + dir) * d.hidden
	}
	return ((t*d.numDir+dir)*d.batch + b) * d.hidden
}

// hOff is the offset of Y_h[dir, b, :] (and of initial_h, initial_c,
// Y_c).
func (d *rnnDims) hOff(dir, b int) int {
	if d.batchFirst {
		return (b*d.numDir + dir) * d.hidden
	}
	return (dir*d.batch + b) * d.hidden
}

func (d *rnnDims) stateShape() []int64 {
	if d.batchFirst {
		return []int64{int64(d.batch), int64(d.numDir), int64(d.hidden)}
	}
	return []int64{int64(d.numDir), int64(d.batch), int64(d.hidden)}
}

func (d *rnnDims) yShape() []int64 {
	if d.batchFirst {
		return []int64{int64(d.batch), int64(d.seq), int64(d.numDir), int64(d.hidden)}
	}
	return []int64{int64(d.seq), int64(d.numDir), int64(d.batch), int64(d.hidden)}
}

func rnnShapeIs(s []int64, want ...int64) bool {
	if len(s) != len(want) {
		return false
	}
	for i := range s {
		if s[i] != want[i] {
			return false
		}
	}
	return true
}

// dims checks the run's input shapes and types.
func (k *rnnKernel) dims(in *[8]*tensor.Tensor) (rnnDims, error) {
	d := rnnDims{numDir: k.numDir, gates: k.kind.gates(), batchFirst: k.batchFirst}
	x, w, r := in[rnnX], in[rnnW], in[rnnR]
	for i, t := range in {
		if t == nil || i == rnnSeqLens {
			continue
		}
		if t.Type != x.Type {
			return d, fmt.Errorf("input %d has type %s but X has type %s", i, tensor.Name(t.Type), tensor.Name(x.Type))
		}
	}
	if !cnnIsFloat(x.Type) {
		return d, fmt.Errorf("X has type %s, want a float type", tensor.Name(x.Type))
	}
	if len(x.Shape) != 3 {
		return d, fmt.Errorf("X has shape %v, want rank 3", x.Shape)
	}
	d.seq, d.batch, d.input = int(x.Shape[0]), int(x.Shape[1]), int(x.Shape[2])
	if k.batchFirst {
		d.seq, d.batch = d.batch, d.seq
	}
	if len(w.Shape) != 3 || w.Shape[0] != int64(k.numDir) || w.Shape[1]%int64(d.gates) != 0 || w.Shape[2] != int64(d.input) {
		return d, fmt.Errorf("W has shape %v, want [%d, %d·hidden_size, %d]", w.Shape, k.numDir, d.gates, d.input)
	}
	d.hidden = int(w.Shape[1]) / d.gates
	if k.hidden > 0 && d.hidden != k.hidden {
		return d, fmt.Errorf("W has shape %v, want [%d, %d, %d] for hidden_size %d", w.Shape, k.numDir, d.gates*k.hidden, d.input, k.hidden)
	}
	nd, gh, h := int64(k.numDir), int64(d.gates*d.hidden), int64(d.hidden)
	if !rnnShapeIs(r.Shape, nd, gh, h) {
		return d, fmt.Errorf("R has shape %v, want [%d, %d, %d]", r.Shape, nd, gh, h)
	}
	if b := in[rnnB]; b != nil && !rnnShapeIs(b.Shape, nd, 2*gh) {
		return d, fmt.Errorf("B has shape %v, want [%d, %d]", b.Shape, nd, 2*gh)
	}
	if s := in[rnnSeqLens]; s != nil {
		if s.Type != tensor.Int32 && s.Type != tensor.Int64 {
			return d, fmt.Errorf("sequence_lens has type %s, want INT32", tensor.Name(s.Type))
		}
		if !rnnShapeIs(s.Shape, int64(d.batch)) {
			return d, fmt.Errorf("sequence_lens has shape %v, want [%d]", s.Shape, d.batch)
		}
	}
	ss := d.stateShape()
	for _, i := range []int{rnnInitH, rnnInitC} {
		if in[i] != nil && !rnnShapeIs(in[i].Shape, ss...) {
			return d, fmt.Errorf("input %d has shape %v, want %v", i, in[i].Shape, ss)
		}
	}
	if k.kind == rnnLSTM && in[rnnP] != nil && !rnnShapeIs(in[rnnP].Shape, nd, 3*h) {
		return d, fmt.Errorf("P has shape %v, want [%d, %d]", in[rnnP].Shape, nd, 3*h)
	}
	return d, nil
}

func (k *rnnKernel) Run(c *Ctx, in, out []*tensor.Tensor) error {
	// Omitted trailing inputs are nil entries of ins.
	var ins [8]*tensor.Tensor
	copy(ins[:], in)
	if in[rnnX].Type == tensor.Double {
		return rnnRun[float64](k, c, &ins, out)
	}
	return rnnRun[float32](k, c, &ins, out)
}

// rnnFloat are the element types the recurrences compute in.
type rnnFloat interface{ float32 | float64 }

// rnnFloats returns the elements of a float tensor as T: its own slice
// when it holds T, a converted copy in scratch memory otherwise.
func rnnFloats[T rnnFloat](c *Ctx, t *tensor.Tensor) ([]T, error) {
	if d, ok := t.Data.([]T); ok {
		return d, nil
	}
	var z T
	if _, ok := any(z).(float32); ok {
		s, err := cnnF32(c, t)
		return any(s).([]T), err
	}
	if !cnnIsFloat(t.Type) {
		return nil, fmt.Errorf("type %s is not a float type", tensor.Name(t.Type))
	}
	s, err := f64In(c, t)
	if err != nil {
		return nil, err
	}
	return any(s).([]T), nil
}

// rnnOut allocates an output of type dt and returns the buffer of T the
// kernel writes: the output's own slice when it holds T, scratch memory
// that rnnFinish converts otherwise.
func rnnOut[T rnnFloat](c *Ctx, dt tensor.DataType, shape ...int64) (*tensor.Tensor, []T, error) {
	if !cnnIsFloat(dt) {
		return nil, nil, fmt.Errorf("type %s is not a float type", tensor.Name(dt))
	}
	t, err := c.Alloc(dt, shape...)
	if err != nil {
		return nil, nil, err
	}
	if d, ok := t.Data.([]T); ok {
		return t, d, nil
	}
	var z T
	st := tensor.Float
	if _, ok := any(z).(float64); ok {
		st = tensor.Double
	}
	return t, c.ScratchOf(st, t.Len()).([]T), nil
}

// rnnFinish converts buf into t when t does not hold T.
func rnnFinish[T rnnFloat](t *tensor.Tensor, buf []T) {
	switch d := t.Data.(type) {
	case []T:
		return
	case []float32:
		for i := range d {
			d[i] = float32(buf[i])
		}
	case []float64:
		for i := range d {
			d[i] = float64(buf[i])
		}
	case []float16.Float16:
		for i := range d {
			d[i] = float16.Fromfloat32(float32(buf[i]))
		}
	case []tensor.BFloat16:
		for i := range d {
			d[i] = tensor.BFloat16FromFloat32(float32(buf[i]))
		}
	}
}

// rnnState is what one recurrence reads: the weights of its direction.
type rnnState[T rnnFloat] struct {
	w, r   []T // [gates·hidden, input], [gates·hidden, hidden]
	wb, rb []T // [gates·hidden] each, nil without B
	p      []T // [3·hidden] (LSTM), nil without P
	acts   []rnnAct
}

func rnnRun[T rnnFloat](k *rnnKernel, c *Ctx, in *[8]*tensor.Tensor, out []*tensor.Tensor) error {
	d, err := k.dims(in)
	if err != nil {
		return err
	}
	lens := make([]int, d.batch)
	if s := in[rnnSeqLens]; s != nil {
		v, err := indexValues(s)
		if err != nil {
			return fmt.Errorf("sequence_lens: %w", err)
		}
		for i, l := range v {
			if l < 0 || l > int64(d.seq) {
				return fmt.Errorf("sequence_lens[%d] = %d is outside [0, %d]", i, l, d.seq)
			}
			lens[i] = int(l)
		}
	} else {
		for i := range lens {
			lens[i] = d.seq
		}
	}
	var vals [8][]T
	for i := range vals {
		if t := in[i]; t != nil && i != rnnSeqLens {
			if vals[i], err = rnnFloats[T](c, t); err != nil {
				return err
			}
		}
	}
	dt := in[rnnX].Type
	want := func(i int) bool { return i < len(out) && c.Node().Output(i) != nil }
	var outs [3]*tensor.Tensor
	var bufs [3][]T
	for i := 0; i < k.kind.maxOutputs(); i++ {
		if !want(i) {
			continue
		}
		shape := d.stateShape()
		if i == 0 {
			shape = d.yShape()
		}
		if outs[i], bufs[i], err = rnnOut[T](c, dt, shape...); err != nil {
			return err
		}
		out[i] = outs[i]
	}
	gh := d.gates * d.hidden
	nf := k.kind.funcs()
	states := make([]rnnState[T], d.numDir)
	for dir := range states {
		s := &states[dir]
		s.w = vals[rnnW][dir*gh*d.input : (dir+1)*gh*d.input]
		s.r = vals[rnnR][dir*gh*d.hidden : (dir+1)*gh*d.hidden]
		if b := vals[rnnB]; b != nil {
			s.wb, s.rb = b[2*dir*gh:(2*dir+1)*gh], b[(2*dir+1)*gh:(2*dir+2)*gh]
		}
		if p := vals[rnnP]; p != nil {
			s.p = p[dir*3*d.hidden : (dir+1)*3*d.hidden]
		}
		s.acts = k.acts[dir*nf : (dir+1)*nf]
	}
	// Per worker: h, c, the gates and one more vector of hidden.
	per := 3*d.hidden + gh
	threads := max(1, c.Threads())
	st := tensor.Float
	if _, ok := any(T(0)).(float64); ok {
		st = tensor.Double
	}
	scratch := c.ScratchOf(st, threads*per).([]T)
	pairs := d.numDir * d.batch
	stepWork := max(1, d.seq*gh*(d.input+d.hidden))
	c.ParallelWorkers(pairs, max(1, (1<<16)/stepWork), func(worker, lo, hi int) {
		ws := scratch[worker*per : (worker+1)*per]
		for q := lo; q < hi; q++ {
			dir, b := q/d.batch, q%d.batch
			fwd := k.fwd
			if dir == 1 {
				fwd = false
			}
			rnnRecur(k, &d, &states[dir], &vals, &bufs, ws, dir, b, lens[b], fwd)
		}
	})
	for i, t := range outs {
		if t != nil {
			rnnFinish(t, bufs[i])
		}
	}
	return nil
}

// rnnDot is the dot product of two vectors of the same length.
func rnnDot[T rnnFloat](a, b []T) T {
	b = b[:len(a)]
	var s0, s1, s2, s3 T
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// rnnWork is the multiply-accumulate count of an RNN, GRU or LSTM node on
// X, W and R of the given shapes beyond reading its inputs, for NodeWork
// (which does not call it yet): every step of every batch entry multiplies
// its input and hidden state by all of W and R.
func rnnWork(x, w, r []int64) (int64, bool) {
	if x == nil || w == nil || r == nil {
		return 0, false
	}
	if len(x) != 3 {
		return 0, true // the kernel refuses it
	}
	return satMul(satMul(clampPos(x[0]), clampPos(x[1])), satAdd(numel(w), numel(r))), true
}

// rnnRecur runs the recurrence of batch entry b in direction dir over its
// first n steps, writing Y, Y_h and Y_c (bufs, nil when not wanted). ws is
// the worker's scratch: 3·hidden + gates·hidden values.
func rnnRecur[T rnnFloat](k *rnnKernel, d *rnnDims, s *rnnState[T], vals *[8][]T, bufs *[3][]T, ws []T, dir, b, n int, fwd bool) {
	H, I, gh := d.hidden, d.input, d.gates*d.hidden
	h, cs, tmp, g := ws[:H], ws[H:2*H], ws[2*H:3*H], ws[3*H:3*H+gh]
	off := d.hOff(dir, b)
	if ih := vals[rnnInitH]; ih != nil {
		copy(h, ih[off:off+H])
	} else {
		clear(h)
	}
	if ic := vals[rnnInitC]; ic != nil && k.kind == rnnLSTM {
		copy(cs, ic[off:off+H])
	} else {
		clear(cs)
	}
	y := bufs[0]
	for step := 0; step < n; step++ {
		t := step
		if !fwd {
			t = n - 1 - step
		}
		x := vals[rnnX][d.xOff(t, b):][:I]
		for j := range g {
			v := rnnDot(s.w[j*I:(j+1)*I], x)
			if s.wb != nil {
				v += s.wb[j]
			}
			g[j] = v
		}
		// recurrent adds R_j·h + Rb_j to the pre-activations of rows
		// [lo, hi).
		recurrent := func(lo, hi int) {
			for j := lo; j < hi; j++ {
				v := rnnDot(s.r[j*H:(j+1)*H], h)
				if s.rb != nil {
					v += s.rb[j]
				}
				g[j] += v
			}
		}
		switch k.kind {
		case rnnSimple:
			recurrent(0, H)
			f := &s.acts[0]
			for j := range h {
				h[j] = T(f.applyClip(float64(g[j])))
			}
		case rnnGRU:
			f, ga := &s.acts[0], &s.acts[1]
			recurrent(0, 2*H)
			for j := 0; j < 2*H; j++ {
				g[j] = T(f.applyClip(float64(g[j])))
			}
			z, r, hh := g[:H], g[H:2*H], g[2*H:3*H]
			rh := s.r[2*H*H:]
			if k.linearBeforeReset {
				for j := range hh {
					v := rnnDot(rh[j*H:(j+1)*H], h)
					if s.rb != nil {
						v += s.rb[2*H+j]
					}
					hh[j] = T(ga.applyClip(float64(hh[j]) + float64(r[j])*float64(v)))
				}
			} else {
				for j := range tmp {
					tmp[j] = r[j] * h[j]
				}
				for j := range hh {
					v := hh[j] + rnnDot(rh[j*H:(j+1)*H], tmp)
					if s.rb != nil {
						v += s.rb[2*H+j]
					}
					hh[j] = T(ga.applyClip(float64(v)))
				}
			}
			for j := range h {
				zj := float64(z[j])
				h[j] = T((1-zj)*float64(hh[j]) + zj*float64(h[j]))
			}
		case rnnLSTM:
			f, ga, ha := &s.acts[0], &s.acts[1], &s.acts[2]
			recurrent(0, 4*H)
			for j := range h {
				cp := float64(cs[j])
				iv, ov, fv, cv := float64(g[j]), float64(g[H+j]), float64(g[2*H+j]), float64(g[3*H+j])
				if s.p != nil {
					iv += float64(s.p[j]) * cp
					fv += float64(s.p[2*H+j]) * cp
				}
				it := f.applyClip(iv)
				var ft float64
				if k.inputForget {
					ft = 1 - it
				} else {
					ft = f.applyClip(fv)
				}
				cn := ft*cp + it*ga.applyClip(cv)
				cs[j] = T(cn)
				cn = float64(cs[j])
				if s.p != nil {
					ov += float64(s.p[H+j]) * cn
				}
				h[j] = T(f.applyClip(ov) * ha.apply(cn))
			}
		}
		if y != nil {
			copy(y[d.yOff(t, dir, b):][:H], h)
		}
	}
	if y != nil {
		for t := n; t < d.seq; t++ {
			clear(y[d.yOff(t, dir, b):][:H])
		}
	}
	if n == 0 {
		clear(h)
		clear(cs)
	}
	if yh := bufs[1]; yh != nil {
		copy(yh[off:off+H], h)
	}
	if yc := bufs[2]; yc != nil {
		copy(yc[off:off+H], cs)
	}
}
