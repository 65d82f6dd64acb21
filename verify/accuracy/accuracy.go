// Package accuracy compares a quantized model with its float reference on
// a data set: top-1 agreement, top-1 and top-5 accuracy when the data has
// labels, output error (max and mean absolute error, SQNR, cosine
// similarity), and optionally the error of every quantized tensor.
//
// # Per-layer pairing
//
// With Options.PerLayer, every 8-bit value of the candidate is paired with
// a float value of the reference:
//
//   - the output of a QuantizeLinear with the float value it quantizes;
//   - the output of another node with the output of the reference node of
//     the same name (a converted node keeps the name of the float node it
//     replaces; a "_<digits>" suffix added by renaming is ignored), followed
//     through the batch normalizations and activations that the reference
//     has and the candidate folded (their names are not candidate nodes);
//   - otherwise, with the reference value of the same name.
//
// Float candidate values pair with reference values of the same name. An
// 8-bit value is dequantized with the scale and zero point its readers
// apply to it when they agree (so a producer whose output scale disagrees
// with its readers shows up at the producer), else with its producer's.
//
// Each paired value gets two figures. The cumulative SQNR compares the
// candidate's value in the candidate's own run with the reference: it
// carries the error of every layer before. The layer SQNR runs only the
// candidate nodes between paired values (the segment: one QLinearConv, or
// MatMulInteger, Add, Cast and Mul) on the reference's inputs, quantized
// the way the candidate quantizes them: it isolates the error this layer
// adds. Layers are listed worst layer SQNR first, so the layer that breaks
// a model comes first even when everything after it is broken too.
//
// Statistics are accumulated as the samples stream; only the tensors of
// the batches in flight are held.
package accuracy

import (
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"sort"
	"sync"

	"github.com/onnx-prom/onnx-prom/onnx/ir"
	"github.com/onnx-prom/onnx-prom/onnx/onnxpb"
	"github.com/onnx-prom/onnx-prom/onnx/shapes"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
	"github.com/onnx-prom/onnx-prom/verify/data"
	"github.com/onnx-prom/onnx-prom/verify/interp"
)

// Options control Compare.
type Options struct {
	// Limit compares at most this many samples; 0 means all.
	Limit int
	// PerLayer also measures the error of every quantized tensor.
	PerLayer bool
	// Batch is the number of samples per run; 0 means 8 (1 with
	// PerLayer, or the model's fixed batch size).
	Batch int
	// Workers is the number of batches run at once; 0 means
	// runtime.GOMAXPROCS(0). Each run uses GOMAXPROCS/Workers threads.
	Workers int
	// Progress, when set, is called after each batch with the number of
	// samples done and the total (from one goroutine at a time).
	Progress func(done, total int)
}

// Accuracy is the classification accuracy of one model on the labelled
// samples, as fractions in [0, 1].
type Accuracy struct {
	Top1 float64 `json:"top1"`
	Top5 float64 `json:"top5"`
}

// Layer is the error of one paired value.
type Layer struct {
	// Name and OpType are the candidate node that names the layer (the
	// weighted node of its segment, else the value's producer).
	Name   string `json:"name"`
	OpType string `json:"op_type"`
	// Value is the candidate value, Ref the reference value.
	Value string `json:"value"`
	Ref   string `json:"ref"`
	// SQNR is the layer's own SQNR in dB: its segment run on the
	// reference's inputs (MaxSQNR when exact); 0 with Isolated false when
	// no segment could be built.
	SQNR     float64 `json:"sqnr_db"`
	Isolated bool    `json:"isolated"`
	// CumulativeSQNR compares the value in the candidate's own run.
	CumulativeSQNR float64 `json:"cumulative_sqnr_db"`
	MaxAbsError    float64 `json:"max_abs_error"`
	MeanAbsError   float64 `json:"mean_abs_error"`
	Cosine         float64 `json:"cosine"`
	// Nodes is the number of candidate nodes in the segment.
	Nodes int `json:"segment_nodes"`
	// Order is the value's position in the candidate graph.
	Order int `json:"order"`
}

// Report is the outcome of Compare.
type Report struct {
	Samples  int `json:"samples"`
	Labelled int `json:"labelled"`
	// Output is the compared output (reference name); Classes its size
	// per sample.
	Output  string `json:"output"`
	Classes int    `json:"classes"`
	// Agreement is the fraction of samples whose top-1 classes agree.
	Agreement float64 `json:"top1_agreement"`
	// Ref and Cand are the accuracies on the labelled samples; Top1Drop
	// is Ref.Top1 - Cand.Top1 in percentage points.
	Ref      *Accuracy `json:"ref_accuracy,omitempty"`
	Cand     *Accuracy `json:"cand_accuracy,omitempty"`
	Top1Drop float64   `json:"top1_drop_pp"`
	// Output error over all samples.
	MaxAbsError  float64 `json:"max_abs_error"`
	MeanAbsError float64 `json:"mean_abs_error"`
	SQNR         float64 `json:"sqnr_db"`
	// Cosine is the mean over samples of the cosine similarity of the
	// output vectors.
	Cosine float64 `json:"cosine"`
	// Layers lists the paired values, worst layer SQNR first (PerLayer).
	Layers   []Layer  `json:"layers,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
}

// Compare runs the reference and the candidate on the samples of src and
// measures how far the candidate's outputs are from the reference's.
func Compare(ref, cand *onnxpb.ModelProto, src data.Source, o Options) (*Report, error) {
	if o.Limit < 0 || o.Batch < 0 || o.Workers < 0 {
		return nil, errors.New("negative limit, batch or workers")
	}
	rm, err := ir.FromProto(ref)
	if err != nil {
		return nil, fmt.Errorf("reference: %w", err)
	}
	cm, err := ir.FromProto(cand)
	if err != nil {
		return nil, fmt.Errorf("candidate: %w", err)
	}
	workers := o.Workers
	if workers == 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	threads := max(1, runtime.GOMAXPROCS(0)/workers)
	// Without per-layer comparisons no intermediate value is observed, so
	// both models may run fused (Conv+BatchNormalization+activation), as
	// ONNX Runtime would run them.
	fuse := !o.PerLayer
	rp, err := interp.Compile(rm, interp.Options{Threads: threads, Fuse: fuse})
	if err != nil {
		return nil, fmt.Errorf("reference: %w", err)
	}
	cp, err := interp.Compile(cm, interp.Options{Threads: threads, Fuse: fuse})
	if err != nil {
		return nil, fmt.Errorf("candidate: %w", err)
	}
	c := &comparer{o: o, rp: rp, cp: cp, rep: &Report{}}
	if err := c.setupIO(); err != nil {
		return nil, err
	}
	batch := o.Batch
	if batch == 0 {
		batch = 8
		if o.PerLayer {
			batch = 1
		}
	}
	if c.fixedBatch > 0 {
		batch = c.fixedBatch
	}
	it, err := data.NewIterator(src, data.IterOptions{BatchSize: batch, Limit: o.Limit, Inputs: []data.Input{c.refInput}})
	if err != nil {
		return nil, err
	}
	total := it.Len()
	if total == 0 {
		return nil, errors.New("the data set has no samples")
	}
	first, err := it.Next()
	if err != nil {
		return nil, err
	}
	if o.PerLayer {
		if err := c.setupPairs(rm, cm, cand, first, threads); err != nil {
			return nil, err
		}
	}
	c.acc = newAccum(len(c.listed))

	// One goroutine reads batches, workers run them.
	batches := make(chan *data.Batch, workers)
	errc := make(chan error, workers+1)
	var mu sync.Mutex
	done := 0
	go func() {
		defer close(batches)
		batches <- first
		for {
			b, err := it.Next()
			if err == io.EOF {
				return
			}
			if err != nil {
				errc <- err
				return
			}
			batches <- b
		}
	}()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for b := range batches {
				a, err := c.run(b)
				if err != nil {
					errc <- err
					for range batches {
					}
					return
				}
				mu.Lock()
				c.acc.merge(a)
				done += len(b.Indices)
				if o.Progress != nil {
					o.Progress(done, total)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			return nil, err
		}
	}
	c.finish()
	return c.rep, nil
}

type comparer struct {
	o          Options
	rp, cp     *interp.Program
	rep        *Report
	refInput   data.Input
	candInput  string
	fixedBatch int
	refOut     string
	candOut    string
	listed     []*pair
	byCand     map[string]*pair
	refNeeded  map[string]bool
	acc        *accum
}

// setupIO maps the reference's input and output to the candidate's.
func (c *comparer) setupIO() error {
	required := func(p *interp.Program) []interp.InputInfo {
		var out []interp.InputInfo
		for _, in := range p.Inputs() {
			if !in.Optional {
				out = append(out, in)
			}
		}
		return out
	}
	ri, ci := required(c.rp), required(c.cp)
	if len(ri) != 1 || len(ci) != 1 {
		return fmt.Errorf("models with one input are supported; the reference has %d, the candidate %d", len(ri), len(ci))
	}
	c.refInput = data.InputOf(ri[0].Name, ri[0].Type, ri[0].Shape)
	c.candInput = ci[0].Name
	for _, s := range []ir.Shape{ri[0].Shape, ci[0].Shape} {
		if len(s) > 0 && s[0].Known() {
			if c.fixedBatch > 0 && int(s[0].Value) != c.fixedBatch {
				return fmt.Errorf("the reference takes batches of %d, the candidate of %d", c.fixedBatch, s[0].Value)
			}
			c.fixedBatch = int(s[0].Value)
		}
	}
	ro, co := c.rp.Outputs(), c.cp.Outputs()
	if len(ro) == 0 || len(co) == 0 {
		return errors.New("a model has no outputs")
	}
	c.refOut, c.candOut = ro[0], co[0]
	if slices.Contains(co, ro[0]) {
		c.candOut = ro[0]
	}
	c.rep.Output = c.refOut
	return nil
}

// setupPairs runs the first batch once to learn every value's type, pairs
// the values and compiles the segments.
func (c *comparer) setupPairs(rm, cm *ir.Model, cand *onnxpb.ModelProto, b *data.Batch, threads int) error {
	rtype := map[string]tensor.DataType{}
	ctype := map[string]tensor.DataType{}
	x := b.Inputs[c.refInput.Name]
	rtype[c.refInput.Name] = x.Type
	ctype[c.candInput] = x.Type
	if _, err := c.rp.RunWith(map[string]*tensor.Tensor{c.refInput.Name: x}, interp.RunOptions{
		Observe: func(name string, t *tensor.Tensor) { rtype[name] = t.Type }}); err != nil {
		return fmt.Errorf("reference: %w", err)
	}
	if _, err := c.cp.RunWith(map[string]*tensor.Tensor{c.candInput: x}, interp.RunOptions{
		Observe: func(name string, t *tensor.Tensor) { ctype[name] = t.Type }}); err != nil {
		return fmt.Errorf("candidate: %w", err)
	}
	// Shape inference fills in value types the runs did not see (none
	// usually); errors only mean less is known.
	_ = shapes.Infer(cm)
	m := &matcher{ref: rm.Graph, cand: cm.Graph, rtype: rtype, ctype: ctype, refNodes: map[string]*ir.Node{},
		candNames: map[string]bool{}, byCand: map[string]*pair{}, candInputs: map[string]bool{c.candInput: true},
		candProto: cand, threads: threads, maxSegmentNodes: 64}
	m.match()
	m.buildSegments()
	c.byCand = m.byCand
	c.refNeeded = map[string]bool{}
	for _, p := range m.pairs {
		if !p.list {
			continue
		}
		p.index = len(c.listed)
		c.listed = append(c.listed, p)
		c.refNeeded[p.ref] = true
		if p.seg != nil {
			for _, in := range p.seg.inputs {
				if in.p != nil {
					c.refNeeded[in.p.ref] = true
				}
			}
		}
	}
	for _, f := range m.segmentFailures {
		c.rep.Warnings = append(c.rep.Warnings, "no layer SQNR for "+f)
	}
	if n := len(m.skippedNoParams); n > 0 {
		c.rep.Warnings = append(c.rep.Warnings, fmt.Sprintf("%d 8-bit values without constant per-tensor scale not compared (first %q)", n, m.skippedNoParams[0]))
	}
	if len(c.listed) == 0 {
		c.rep.Warnings = append(c.rep.Warnings, "no quantized value of the candidate could be paired with the reference")
	}
	return nil
}

// accum holds the statistics of some batches.
type accum struct {
	n, labelled, agree int
	rTop1, rTop5       int
	cTop1, cTop5       int
	cosSum             float64
	out                errStats
	classes            int
	cum, iso           []errStats
	shapeMismatch      map[string]bool
	badLabels          int
	segErrors          map[string]string
}

func newAccum(layers int) *accum {
	return &accum{cum: make([]errStats, layers), iso: make([]errStats, layers), shapeMismatch: map[string]bool{}, segErrors: map[string]string{}}
}

func (a *accum) merge(b *accum) {
	a.n += b.n
	a.labelled += b.labelled
	a.agree += b.agree
	a.rTop1 += b.rTop1
	a.rTop5 += b.rTop5
	a.cTop1 += b.cTop1
	a.cTop5 += b.cTop5
	a.cosSum += b.cosSum
	a.out.merge(&b.out)
	if b.classes > 0 {
		a.classes = b.classes
	}
	for i := range a.cum {
		a.cum[i].merge(&b.cum[i])
		a.iso[i].merge(&b.iso[i])
	}
	for k := range b.shapeMismatch {
		a.shapeMismatch[k] = true
	}
	a.badLabels += b.badLabels
	for k, v := range b.segErrors {
		a.segErrors[k] = v
	}
}

// quantize rounds a float tensor the way QuantizeLinear does (half to
// even, saturating) into q's type.
func quantize(t *tensor.Tensor, q *qparams) (*tensor.Tensor, error) {
	f, err := t.Float32s()
	if err != nil {
		return nil, err
	}
	lo, hi := int64(-128), int64(127)
	if q.dt == tensor.Uint8 {
		lo, hi = 0, 255
	}
	scale := float32(q.scale)
	conv := func(x float32) int64 {
		v := int64(math.RoundToEven(float64(x/scale))) + q.zp
		return min(max(v, lo), hi)
	}
	shape := slices.Clone(t.Shape)
	if q.dt == tensor.Uint8 {
		out := make([]uint8, len(f))
		for i, x := range f {
			out[i] = uint8(conv(x))
		}
		return &tensor.Tensor{Type: tensor.Uint8, Shape: shape, Data: out}, nil
	}
	out := make([]int8, len(f))
	for i, x := range f {
		out[i] = int8(conv(x))
	}
	return &tensor.Tensor{Type: tensor.Int8, Shape: shape, Data: out}, nil
}

// run compares one batch.
func (c *comparer) run(b *data.Batch) (*accum, error) {
	a := newAccum(len(c.listed))
	x := b.Inputs[c.refInput.Name]
	var refStore map[string]*tensor.Tensor
	var ro interp.RunOptions
	if len(c.listed) > 0 {
		refStore = map[string]*tensor.Tensor{}
		refStore[c.refInput.Name] = x
		ro.Observe = func(name string, t *tensor.Tensor) {
			if c.refNeeded[name] {
				refStore[name] = t.Clone()
			}
		}
	}
	rres, err := c.rp.RunWith(map[string]*tensor.Tensor{c.refInput.Name: x}, ro)
	if err != nil {
		return nil, fmt.Errorf("reference, samples %v: %w", b.Names, err)
	}
	var co interp.RunOptions
	if len(c.listed) > 0 {
		co.Observe = func(name string, t *tensor.Tensor) {
			p := c.byCand[name]
			if p == nil || !p.list {
				return
			}
			r := refStore[p.ref]
			if r == nil {
				return
			}
			c.compareInto(&a.cum[p.index], a, p, r, t)
		}
	}
	cres, err := c.cp.RunWith(map[string]*tensor.Tensor{c.candInput: x}, co)
	if err != nil {
		return nil, fmt.Errorf("candidate, samples %v: %w", b.Names, err)
	}
	if err := c.outputs(a, b, rres[c.refOut], cres[c.candOut]); err != nil {
		return nil, err
	}
	for _, p := range c.listed {
		if p.seg == nil {
			continue
		}
		r := refStore[p.ref]
		if r == nil {
			continue
		}
		feeds := map[string]*tensor.Tensor{}
		ok := true
		for _, in := range p.seg.inputs {
			switch {
			case in.p == nil:
				feeds[in.name] = x
			case refStore[in.p.ref] == nil:
				ok = false
			case in.p.q != nil:
				qt, err := quantize(refStore[in.p.ref], in.p.q)
				if err != nil {
					ok = false
					break
				}
				feeds[in.name] = qt
			default:
				feeds[in.name] = refStore[in.p.ref]
			}
		}
		if !ok {
			continue
		}
		res, err := p.seg.prog.Run(feeds)
		if err != nil {
			a.segErrors[p.cand] = err.Error()
			continue
		}
		c.compareInto(&a.iso[p.index], a, p, r, res[p.cand])
	}
	return a, nil
}

// compareInto adds the error of candidate tensor t (of pair p) against the
// reference r.
func (c *comparer) compareInto(s *errStats, a *accum, p *pair, r, t *tensor.Tensor) {
	if t == nil || r.Len() != t.Len() || !addErrors(s, r, t, p.q) {
		a.shapeMismatch[p.cand] = true
	}
}

// addErrors adds the elementwise errors of t (dequantized with q when it is
// 8-bit) against r without copying the common float32 and 8-bit cases.
func addErrors(s *errStats, r, t *tensor.Tensor, q *qparams) bool {
	rf, ok := r.Data.([]float32)
	if !ok {
		f, err := r.Float32s()
		if err != nil {
			return false
		}
		rf = f
	}
	switch d := t.Data.(type) {
	case []float32:
		if q != nil {
			return false
		}
		for i, v := range d {
			s.add(float64(rf[i]), float64(v))
		}
	case []int8:
		if q == nil {
			return false
		}
		for i, v := range d {
			s.add(float64(rf[i]), float64(int64(v)-q.zp)*q.scale)
		}
	case []uint8:
		if q == nil {
			return false
		}
		for i, v := range d {
			s.add(float64(rf[i]), float64(int64(v)-q.zp)*q.scale)
		}
	default:
		if q != nil {
			return false
		}
		cf, err := t.Float64s()
		if err != nil {
			return false
		}
		for i, v := range cf {
			s.add(float64(rf[i]), v)
		}
	}
	return true
}

// outputs scores the outputs of one batch.
func (c *comparer) outputs(a *accum, b *data.Batch, r, t *tensor.Tensor) error {
	if r == nil || t == nil {
		return errors.New("an output was not computed")
	}
	rf, err := r.Float64s()
	if err != nil {
		return fmt.Errorf("reference output %q: %w", c.refOut, err)
	}
	cf, err := t.Float64s()
	if err != nil {
		return fmt.Errorf("candidate output %q: %w", c.candOut, err)
	}
	if len(rf) != len(cf) {
		return fmt.Errorf("output sizes differ: reference %q has %d elements, candidate %q %d", c.refOut, len(rf), c.candOut, len(cf))
	}
	n := len(b.Indices)
	if n == 0 || len(rf)%n != 0 {
		return fmt.Errorf("output %q has %d elements for %d samples", c.refOut, len(rf), n)
	}
	per := len(rf) / n
	a.classes = per
	for i := range rf {
		a.out.add(rf[i], cf[i])
	}
	for s := range n {
		rr, cr := rf[s*per:(s+1)*per], cf[s*per:(s+1)*per]
		var st errStats
		for i := range rr {
			st.add(rr[i], cr[i])
		}
		a.cosSum += st.cosine()
		a.n++
		rt, ct := argmax(rr), argmax(cr)
		if rt == ct {
			a.agree++
		}
		label := -1
		if s < len(b.Labels) {
			label = b.Labels[s]
		}
		if label < 0 {
			continue
		}
		if label >= per {
			a.badLabels++
			continue
		}
		a.labelled++
		if rt == label {
			a.rTop1++
		}
		if ct == label {
			a.cTop1++
		}
		if inTop(rr, label, 5) {
			a.rTop5++
		}
		if inTop(cr, label, 5) {
			a.cTop5++
		}
	}
	return nil
}

// argmax returns the index of the largest value (the first on ties).
func argmax(v []float64) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}

// inTop reports whether class k is among the k largest values: fewer than
// k values are strictly larger than v[class] (ties resolved in favour of
// lower indices, as argmax does).
func inTop(v []float64, class, k int) bool {
	larger := 0
	for i, x := range v {
		if x > v[class] || (x == v[class] && i < class) {
			larger++
		}
	}
	return larger < k
}

func (c *comparer) finish() {
	a, r := c.acc, c.rep
	r.Samples = a.n
	r.Labelled = a.labelled
	r.Classes = a.classes
	if a.n > 0 {
		r.Agreement = float64(a.agree) / float64(a.n)
		r.Cosine = a.cosSum / float64(a.n)
	}
	if a.labelled > 0 {
		l := float64(a.labelled)
		r.Ref = &Accuracy{Top1: float64(a.rTop1) / l, Top5: float64(a.rTop5) / l}
		r.Cand = &Accuracy{Top1: float64(a.cTop1) / l, Top5: float64(a.cTop5) / l}
		r.Top1Drop = 100 * (r.Ref.Top1 - r.Cand.Top1)
	}
	r.MaxAbsError = a.out.maxAbs
	r.MeanAbsError = a.out.meanAbs()
	r.SQNR = finite(a.out.sqnr())
	if a.out.bad > 0 {
		r.Warnings = append(r.Warnings, fmt.Sprintf("the candidate output has %d NaN or infinite values", a.out.bad))
	}
	if a.badLabels > 0 {
		r.Warnings = append(r.Warnings, fmt.Sprintf("%d labels out of the output's range of %d classes were ignored", a.badLabels, a.classes))
	}
	for _, p := range c.listed {
		cum, iso := &a.cum[p.index], &a.iso[p.index]
		l := Layer{Name: p.node.Name, OpType: p.node.OpType, Value: p.cand, Ref: p.ref,
			CumulativeSQNR: finite(cum.sqnr()), MaxAbsError: cum.maxAbs, MeanAbsError: cum.meanAbs(), Cosine: cum.cosine(),
			Order: p.index}
		if p.seg != nil {
			l.Name, l.OpType, l.Nodes = p.seg.main.Name, p.seg.main.OpType, p.seg.nodes
			if iso.n > 0 || iso.bad > 0 {
				l.SQNR, l.Isolated = finite(iso.sqnr()), true
			}
		}
		if cum.n == 0 && cum.bad == 0 {
			continue
		}
		r.Layers = append(r.Layers, l)
	}
	sort.SliceStable(r.Layers, func(i, j int) bool {
		li, lj := r.Layers[i], r.Layers[j]
		if li.Isolated != lj.Isolated {
			return li.Isolated
		}
		if li.Isolated && li.SQNR != lj.SQNR {
			return li.SQNR < lj.SQNR
		}
		return li.CumulativeSQNR < lj.CumulativeSQNR
	})
	var mism []string
	for k := range a.shapeMismatch {
		mism = append(mism, k)
	}
	sort.Strings(mism)
	for _, k := range mism {
		r.Warnings = append(r.Warnings, fmt.Sprintf("value %q: size or type differs from its reference; not compared", k))
	}
	var segs []string
	for k := range a.segErrors {
		segs = append(segs, k)
	}
	sort.Strings(segs)
	for _, k := range segs {
		r.Warnings = append(r.Warnings, fmt.Sprintf("layer SQNR of %q failed: %s", k, a.segErrors[k]))
	}
}
