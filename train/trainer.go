package train

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"time"

	"github.com/onnx-prom/onnx-prom/onnx/ir"
	"github.com/onnx-prom/onnx-prom/onnx/onnxpb"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
	"github.com/onnx-prom/onnx-prom/passes"
	"google.golang.org/protobuf/proto"
)

// Options configure a Trainer. Zero values take the defaults noted.
type Options struct {
	// Mode is Float or QAT.
	Mode Mode
	// Config is the conversion that QAT prepares for (selection of the
	// ternary convs, activation type, ...); the zero value means
	// passes.DefaultConfig().
	Config passes.Config

	// Epochs over the training data (default 1).
	Epochs int
	// Batch is the number of samples per step (default 32).
	Batch int
	// LR is the peak learning rate (default 1e-3 for Adam, 0.01 for SGD).
	LR float64
	// Optimizer is Adam (default) or SGD.
	Optimizer string
	// Momentum of SGD (default 0.9).
	Momentum float64
	// WeightDecay applies to Conv, Gemm and MatMul weights: L2 for SGD,
	// decoupled for Adam (default 0).
	WeightDecay float64
	// Warmup is the number of steps of linear learning-rate warm-up.
	Warmup int
	// Constant keeps the learning rate constant after warm-up instead of
	// the cosine decay to zero over the run.
	Constant bool
	// Seed fixes the shuffling (default 0 is a valid seed).
	Seed uint64
	// Threads is the number of goroutines (default GOMAXPROCS).
	Threads int

	// Distill trains on the Kullback-Leibler divergence between the
	// softened logits of the input model (the teacher, in float) and the
	// trained model, instead of cross-entropy with labels. It is switched
	// on automatically for data without labels.
	Distill bool
	// Temperature softens the logits for distillation (default 2).
	Temperature float64
	// DistillWeight mixes the losses when distilling on labeled data:
	// DistillWeight·T²·KL + (1 − DistillWeight)·cross-entropy (default 1:
	// KL only).
	DistillWeight float64
	// Teacher is the model distilled from (default: the model trained,
	// as given to NewTrainer).
	Teacher *onnxpb.ModelProto

	// RelativeLR scales the steps of quantized weights (QAT) per output
	// channel by the channel's mean |w| at the start, so that LR is a
	// relative step: BatchNormalization folded into the weights leaves
	// channels of very different magnitudes, which one absolute step size
	// serves badly.
	RelativeLR bool
	// FrozenBN keeps BatchNormalization statistics fixed in Float mode
	// (they are always folded in QAT).
	FrozenBN bool
	// RangeMomentum is the decay of the moving averages of activation
	// ranges in QAT (default 0.99).
	RangeMomentum float64
	// CalibBatches is the number of training batches that initialize the
	// activation ranges before QAT and measure the ranges of the other
	// values on export (default 8).
	CalibBatches int
	// InputShape is the per-sample input shape when the graph does not
	// declare it.
	InputShape []int
	// Shift augments image inputs [C, H, W] during training by random
	// translations of up to Shift pixels in each direction (zero fill),
	// drawn from Seed.
	Shift int

	// Val is evaluated after every epoch when set.
	Val Dataset
	// Progress is called after every step and at the end of each epoch.
	Progress func(Progress)
	// Checkpoint is called at the end of each epoch with the model and
	// ranges as Export returns them.
	Checkpoint func(epoch int, m *onnxpb.ModelProto, r passes.Ranges) error
}

func (o *Options) defaults() {
	if o.Config.Format == "" {
		o.Config = passes.DefaultConfig()
	}
	if o.Epochs == 0 {
		o.Epochs = 1
	}
	if o.Batch == 0 {
		o.Batch = 32
	}
	if o.Optimizer == "" {
		o.Optimizer = Adam
	}
	if o.LR == 0 {
		o.LR = 1e-3
		if o.Optimizer == SGD {
			o.LR = 0.01
		}
	}
	if o.Momentum == 0 {
		o.Momentum = 0.9
	}
	if o.Threads <= 0 {
		o.Threads = runtime.GOMAXPROCS(0)
	}
	if o.Temperature == 0 {
		o.Temperature = 2
	}
	if o.DistillWeight == 0 {
		o.DistillWeight = 1
	}
	if o.RangeMomentum == 0 {
		o.RangeMomentum = 0.99
	}
	if o.CalibBatches == 0 {
		o.CalibBatches = 8
	}
}

func (o *Options) validate() error {
	switch {
	case o.Epochs < 0:
		return fmt.Errorf("epochs %d < 0", o.Epochs)
	case o.Batch < 1 || o.Batch > 1<<16:
		return fmt.Errorf("batch %d: must be 1 to 65536", o.Batch)
	case !(o.LR > 0) || math.IsInf(o.LR, 0):
		return fmt.Errorf("learning rate %g must be positive", o.LR)
	case o.Momentum < 0 || o.Momentum >= 1:
		return fmt.Errorf("momentum %g must be in [0, 1)", o.Momentum)
	case o.WeightDecay < 0 || math.IsNaN(o.WeightDecay):
		return fmt.Errorf("weight decay %g must be >= 0", o.WeightDecay)
	case !(o.DistillWeight > 0 && o.DistillWeight <= 1):
		return fmt.Errorf("distillation weight %g must be in (0, 1]", o.DistillWeight)
	case !(o.Temperature > 0):
		return fmt.Errorf("temperature %g must be positive", o.Temperature)
	case !(o.RangeMomentum > 0 && o.RangeMomentum < 1):
		return fmt.Errorf("range momentum %g must be in (0, 1)", o.RangeMomentum)
	case o.Shift < 0 || o.Shift > 64:
		return fmt.Errorf("shift %d must be in [0, 64]", o.Shift)
	case o.Warmup < 0 || o.CalibBatches < 0:
		return fmt.Errorf("warm-up %d and calibration batches %d must be >= 0", o.Warmup, o.CalibBatches)
	case o.Mode != Float && o.Mode != QAT:
		return fmt.Errorf("unknown mode %d", o.Mode)
	}
	return o.Config.Validate()
}

// Progress reports a training step or, with Done, the end of an epoch.
type Progress struct {
	Epoch, Epochs int // 1-based
	Step, Steps   int // steps done in this epoch, of
	// Loss and Acc are the running means over the epoch's steps so far
	// (Acc is -1 when the data has no labels).
	Loss, Acc float64
	LR        float64
	Elapsed   time.Duration // since the epoch started
	Done      bool
	// Val is the validation result at the end of an epoch (nil without
	// validation data).
	Val *Metrics
}

// Metrics are the result of an evaluation.
type Metrics struct {
	Samples int
	Labeled int
	// Acc is the top-1 accuracy over labeled samples (-1 with none).
	Acc float64
	// Loss is the mean cross-entropy over labeled samples.
	Loss float64
}

// EpochStats summarize one epoch.
type EpochStats struct {
	Epoch    int
	Loss     float64
	Acc      float64
	Val      *Metrics
	Duration time.Duration
}

// Trainer trains one model. It is not safe for concurrent use.
type Trainer struct {
	o        Options
	model    *ir.Model
	nt       *net
	teacher  *net
	opt      *optimizer
	steps    int // optimizer steps taken
	total    int // steps planned for the current Fit
	labels   []int
	tlogits  []float32
	probs    []float32
	calib    Dataset
	ranged   bool
	warn     []string
	rng      *rand.Rand
	shiftBuf []float32
}

// NewTrainer prepares mp for training: a copy is cleaned up (Identity and
// Dropout removed), in QAT BatchNormalization is folded and the convs the
// converter will ternarize are selected, and the graph is compiled into a
// differentiable program. mp is not modified.
func NewTrainer(mp *onnxpb.ModelProto, o Options) (*Trainer, error) {
	o.defaults()
	if err := o.validate(); err != nil {
		return nil, err
	}
	m, pl, err := prepare(mp, o.Mode, o.Config)
	if err != nil {
		return nil, err
	}
	nt, err := build(m, pl, buildOptions{mode: o.Mode, cfg: o.Config, batch: o.Batch, workers: o.Threads,
		frozenBN: o.FrozenBN, momentum: float32(o.RangeMomentum), inputShape: o.InputShape})
	if err != nil {
		return nil, err
	}
	opt, err := newOptimizer(o.Optimizer, o.Momentum, o.WeightDecay)
	if err != nil {
		nt.close()
		return nil, err
	}
	opt.relative = o.RelativeLR
	t := &Trainer{o: o, model: m, nt: nt, opt: opt, labels: make([]int, o.Batch),
		probs: make([]float32, 2*nt.logits.size), rng: rand.New(rand.NewPCG(o.Seed, 0x61756776))}
	if o.Shift > 0 {
		if len(nt.input.shape) != 3 {
			nt.close()
			return nil, fmt.Errorf("shift augmentation needs image inputs [C, H, W], the input is %v", nt.input.shape)
		}
		t.shiftBuf = make([]float32, nt.input.size)
	}
	if o.Teacher == nil {
		o.Teacher = mp
		t.o.Teacher = mp
	}
	if o.Distill {
		if err := t.makeTeacher(o.Teacher); err != nil {
			t.Close()
			return nil, err
		}
	}
	return t, nil
}

// prepare clones mp into IR, cleans it up and, for QAT, folds
// BatchNormalization and plans the quantization.
func prepare(mp *onnxpb.ModelProto, mode Mode, cfg passes.Config) (*ir.Model, *plan, error) {
	m, err := ir.FromProto(proto.Clone(mp).(*onnxpb.ModelProto))
	if err != nil {
		return nil, nil, err
	}
	p := passes.Pipeline{passes.Cleanup}
	if mode == QAT {
		p = append(p, passes.FoldBN)
	}
	s := &passes.State{Model: m, Config: cfg}
	if _, err := p.Run(s, passes.RunOptions{}); err != nil {
		return nil, nil, err
	}
	if err := m.Graph.TopoSort(); err != nil {
		return nil, nil, err
	}
	if mode != QAT {
		return m, nil, nil
	}
	ternary, err := selectTernary(m, cfg)
	if err != nil {
		return nil, nil, err
	}
	return m, makePlan(m.Graph, cfg, ternary), nil
}

func (t *Trainer) makeTeacher(mp *onnxpb.ModelProto) error {
	m, _, err := prepare(mp, Float, t.o.Config)
	if err != nil {
		return fmt.Errorf("teacher: %w", err)
	}
	tn, err := build(m, nil, buildOptions{mode: Float, cfg: t.o.Config, batch: t.o.Batch, workers: t.o.Threads,
		frozenBN: true, inference: true, inputShape: t.o.InputShape})
	if err != nil {
		return fmt.Errorf("teacher: %w", err)
	}
	if tn.input.size != t.nt.input.size || tn.logits.size != t.nt.logits.size {
		tn.close()
		return fmt.Errorf("teacher: input or output sizes differ from the trained model")
	}
	t.teacher = tn
	t.tlogits = make([]float32, t.o.Batch*tn.logits.size)
	return nil
}

// Close stops the trainer's goroutines.
func (t *Trainer) Close() {
	t.nt.close()
	if t.teacher != nil {
		t.teacher.close()
	}
}

// Params lists the model's parameters (weights, biases, normalization
// parameters and statistics), in graph order.
func (t *Trainer) Params() []*Param { return t.nt.params }

// Warnings returns the warnings of the last Export.
func (t *Trainer) Warnings() []string { return t.warn }

// load fills the input buffer with samples idx and t.labels.
func (t *Trainer) load(ds Dataset, idx []int) error {
	if err := t.nt.setBatch(len(idx)); err != nil {
		return err
	}
	for k, i := range idx {
		l, err := ds.Load(i, t.nt.input.at(k))
		if err != nil {
			return fmt.Errorf("sample %d: %w", i, err)
		}
		t.labels[k] = l
	}
	return nil
}

// Step runs one training step on samples idx of ds and returns the summed
// loss, the number of correct predictions and of labeled samples.
func (t *Trainer) Step(ds Dataset, idx []int) (loss float64, correct, labeled int, err error) {
	if err := t.load(ds, idx); err != nil {
		return 0, 0, 0, err
	}
	if t.o.Mode == QAT && !t.ranged {
		if err := t.initRanges(ds); err != nil {
			return 0, 0, 0, err
		}
		if err := t.load(ds, idx); err != nil {
			return 0, 0, 0, err
		}
	}
	n := len(idx)
	if t.o.Shift > 0 {
		for k := 0; k < n; k++ {
			t.shift(t.nt.input.at(k))
		}
	}
	spec := lossSpec{ce: 1, temp: t.o.Temperature}
	var teacher []float32
	if t.teacher != nil {
		tn := t.teacher
		tn.setBatch(n)
		copy(tn.input.data[:n*tn.input.size], t.nt.input.data[:n*tn.input.size])
		tn.st.training = false
		tn.prepare()
		tn.forward()
		teacher = t.tlogits[:n*tn.logits.size]
		copy(teacher, tn.logits.data[:n*tn.logits.size])
		spec = lossSpec{kl: t.o.DistillWeight, ce: 1 - t.o.DistillWeight, temp: t.o.Temperature}
	}
	for _, l := range t.labels[:n] {
		if l >= 0 {
			labeled++
		}
	}
	if teacher == nil && labeled == 0 {
		return 0, 0, 0, errors.New("the batch has no labels: train with distillation")
	}
	nt := t.nt
	nt.st.training = true
	nt.prepare()
	nt.forward()
	loss, correct = lossGrad(nt.logits, n, t.labels[:n], teacher, spec, t.probs)
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return loss, correct, labeled, fmt.Errorf("step %d: the loss is %g (learning rate %g too high?)", t.steps, loss, t.o.LR)
	}
	nt.backward()
	lr := schedule(t.o.LR, t.steps, max(t.total, t.steps+1), t.o.Warmup, !t.o.Constant)
	t.opt.step(nt.params, lr)
	t.steps++
	return loss, correct, labeled, nil
}

// shift translates one image [C, H, W] by a random offset.
func (t *Trainer) shift(x []float32) {
	s := t.o.Shift
	dy, dx := t.rng.IntN(2*s+1)-s, t.rng.IntN(2*s+1)-s
	if dx == 0 && dy == 0 {
		return
	}
	shape := t.nt.input.shape
	C, H, W := shape[0], shape[1], shape[2]
	buf := t.shiftBuf
	copy(buf, x)
	clear(x)
	for c := 0; c < C; c++ {
		for y := max(0, dy); y < min(H, H+dy); y++ {
			src := buf[(c*H+y-dy)*W:]
			dst := x[(c*H+y)*W:]
			for xx := max(0, dx); xx < min(W, W+dx); xx++ {
				dst[xx] = src[xx-dx]
			}
		}
	}
}

// initRanges sets the activation ranges from CalibBatches batches of ds
// run with quantized weights and float activations (min/max).
func (t *Trainer) initRanges(ds Dataset) error {
	nt := t.nt
	for _, q := range nt.quants {
		q.enabled = false
	}
	defer func() {
		for _, q := range nt.quants {
			q.enabled = true
		}
	}()
	order := rand.New(rand.NewPCG(t.o.Seed, 0x72616e676573)).Perm(ds.Len())
	for b := 0; b < max(1, t.o.CalibBatches) && b*t.o.Batch < len(order); b++ {
		idx := order[b*t.o.Batch : min(len(order), (b+1)*t.o.Batch)]
		if err := t.load(ds, idx); err != nil {
			return err
		}
		nt.st.training = false
		nt.prepare()
		nt.forward()
		for _, q := range nt.quants {
			q.widen()
		}
	}
	t.ranged = true
	return nil
}

// Fit trains for Options.Epochs epochs over ds, shuffled with the seed
// (epoch e uses the permutation drawn from (Seed, e)). Batches are full
// (the last partial batch of an epoch is dropped) unless ds holds fewer
// samples than one batch.
func (t *Trainer) Fit(ds Dataset) ([]EpochStats, error) {
	n := ds.Len()
	if n == 0 {
		return nil, errors.New("the training data holds no samples")
	}
	if !t.o.Distill {
		if l, err := ds.Load(0, t.nt.input.at(0)); err != nil {
			return nil, err
		} else if l < 0 {
			if err := t.makeTeacherFromModel(); err != nil {
				return nil, err
			}
		}
	}
	t.calib = ds
	if t.o.Mode == QAT && !t.ranged {
		if err := t.initRanges(ds); err != nil {
			return nil, err
		}
	}
	B := t.o.Batch
	steps := n / B
	if steps == 0 {
		steps, B = 1, n
	}
	t.total = t.steps + steps*t.o.Epochs
	var hist []EpochStats
	for e := 0; e < t.o.Epochs; e++ {
		start := time.Now()
		perm := rand.New(rand.NewPCG(t.o.Seed, uint64(e))).Perm(n)
		var sumLoss float64
		var correct, labeled, seen int
		for s := 0; s < steps; s++ {
			loss, c, l, err := t.Step(ds, perm[s*B:(s+1)*B])
			if err != nil {
				return hist, fmt.Errorf("epoch %d: %w", e+1, err)
			}
			sumLoss += loss
			correct += c
			labeled += l
			seen += B
			if t.o.Progress != nil {
				t.o.Progress(Progress{Epoch: e + 1, Epochs: t.o.Epochs, Step: s + 1, Steps: steps,
					Loss: sumLoss / float64(seen), Acc: ratio(correct, labeled),
					LR: schedule(t.o.LR, t.steps-1, t.total, t.o.Warmup, !t.o.Constant), Elapsed: time.Since(start)})
			}
		}
		st := EpochStats{Epoch: e + 1, Loss: sumLoss / float64(seen), Acc: ratio(correct, labeled), Duration: time.Since(start)}
		if t.o.Val != nil {
			m, err := t.Evaluate(t.o.Val)
			if err != nil {
				return hist, fmt.Errorf("validation: %w", err)
			}
			st.Val = &m
		}
		hist = append(hist, st)
		if t.o.Progress != nil {
			t.o.Progress(Progress{Epoch: e + 1, Epochs: t.o.Epochs, Step: steps, Steps: steps, Loss: st.Loss, Acc: st.Acc,
				Elapsed: st.Duration, Done: true, Val: st.Val})
		}
		if t.o.Checkpoint != nil {
			m, r, err := t.Export()
			if err != nil {
				return hist, err
			}
			if err := t.o.Checkpoint(e+1, m, r); err != nil {
				return hist, err
			}
		}
	}
	return hist, nil
}

// makeTeacherFromModel switches to distillation from Options.Teacher,
// for data without labels.
func (t *Trainer) makeTeacherFromModel() error {
	if t.teacher != nil {
		return nil
	}
	t.o.Distill = true
	return t.makeTeacher(t.o.Teacher)
}

func ratio(a, b int) float64 {
	if b == 0 {
		return -1
	}
	return float64(a) / float64(b)
}

// Evaluate runs the model (with its quantization in QAT) on ds in
// inference mode and returns top-1 accuracy and cross-entropy.
func (t *Trainer) Evaluate(ds Dataset) (Metrics, error) {
	nt := t.nt
	var m Metrics
	var loss float64
	correct := 0
	idx := make([]int, 0, t.o.Batch)
	K := nt.logits.size
	for lo := 0; lo < ds.Len(); lo += t.o.Batch {
		idx = idx[:0]
		for i := lo; i < min(ds.Len(), lo+t.o.Batch); i++ {
			idx = append(idx, i)
		}
		if err := t.load(ds, idx); err != nil {
			return m, err
		}
		nt.st.training = false
		nt.prepare()
		nt.forward()
		for k := range idx {
			m.Samples++
			l := t.labels[k]
			if l < 0 || l >= K {
				continue
			}
			m.Labeled++
			z := nt.logits.at(k)
			if argmax(z) == l {
				correct++
			}
			loss += softmax(t.probs[:K], z, 1) - float64(z[l])
		}
	}
	m.Acc = ratio(correct, m.Labeled)
	if m.Labeled > 0 {
		m.Loss = loss / float64(m.Labeled)
	}
	return m, nil
}

// Export writes the trained parameters into a copy of the prepared model
// and returns it with, in QAT, the activation ranges (passes.WriteRanges
// format) keyed by the value names of that model. In QAT the weights of
// the ternary convs hold exactly scale·{-1, 0, +1} per output channel, the
// other quantized weights lie exactly on their per-channel symmetric int8
// grid, and the biases on their int32 grid, so that passes.Convert with
// these ranges reproduces the trained quantized model.
func (t *Trainer) Export() (*onnxpb.ModelProto, passes.Ranges, error) {
	nt := t.nt
	t.warn = nil
	var ranges passes.Ranges
	if t.o.Mode == QAT {
		var err error
		if ranges, err = t.measureRanges(); err != nil {
			return nil, nil, err
		}
	}
	nt.prepare()
	for _, p := range nt.params {
		vals := p.Data
		if p.wq != nil || p.bq {
			vals = p.eff
		}
		vals = append([]float32(nil), vals...)
		if p.wq != nil && p.wq.kind == quantInt8 {
			exactInt8(vals, p.wq)
		}
		shape := make([]int64, len(p.Shape))
		for i, d := range p.Shape {
			shape[i] = int64(d)
		}
		tp, err := tensor.ToProto(tensor.FromFloat32(vals, shape...), p.Name)
		if err != nil {
			return nil, nil, fmt.Errorf("parameter %q: %w", p.Name, err)
		}
		p.value.SetConst(tp)
	}
	mp, err := t.model.ToProto()
	if err != nil {
		return nil, nil, err
	}
	if t.o.Mode == QAT {
		t.checkFusion(ranges)
	}
	return proto.Clone(mp).(*onnxpb.ModelProto), ranges, nil
}

// measureRanges returns the learned ranges of the quantized activations
// and, for every other float value, the min/max over CalibBatches batches
// of the calibration data (the training data of the last Fit).
func (t *Trainer) measureRanges() (passes.Ranges, error) {
	nt := t.nt
	r := passes.Ranges{}
	if t.calib != nil {
		order := rand.New(rand.NewPCG(t.o.Seed, 0x72616e676573)).Perm(t.calib.Len())
		for b := 0; b < max(1, t.o.CalibBatches) && b*t.o.Batch < len(order); b++ {
			idx := order[b*t.o.Batch : min(len(order), (b+1)*t.o.Batch)]
			if err := t.load(t.calib, idx); err != nil {
				return nil, err
			}
			nt.st.training = false
			nt.prepare()
			nt.forward()
			nt.observe(r)
		}
	}
	for _, q := range nt.quants {
		if q.seen {
			r[q.key] = passes.Range{Min: q.lo, Max: q.hi}
		}
	}
	return r, nil
}

// observe widens r by the values of every activation of the last
// forward pass.
func (nt *net) observe(r passes.Ranges) {
	n := nt.st.n
	for v, b := range nt.valueBufs {
		d := b.data[:n*b.size]
		if len(d) == 0 {
			continue
		}
		mn, mx := d[0], d[0]
		for _, x := range d {
			mn, mx = min(mn, x), max(mx, x)
		}
		if old, ok := r[v.Name]; ok {
			mn, mx = min(mn, old.Min), max(mx, old.Max)
		}
		r[v.Name] = passes.Range{Min: mn, Max: mx}
	}
	// A Softmax or LogSoftmax after the logits is not run in training.
	out := nt.model.Graph.Outputs[0]
	if p := out.Producer; p != nil && out.Name != nt.outputName && p.Domain == "" {
		lo, hi := float32(0), float32(1)
		if p.OpType == "LogSoftmax" {
			lo, hi = float32(math.Inf(1)), float32(math.Inf(-1))
			probs := make([]float32, nt.logits.size)
			for i := 0; i < n; i++ {
				z := nt.logits.at(i)
				lse := softmax(probs, z, 1)
				for _, v := range z {
					l := float32(float64(v) - lse)
					lo, hi = min(lo, l), max(hi, l)
				}
			}
		}
		if old, ok := r[out.Name]; ok {
			lo, hi = min(lo, old.Min), max(hi, old.Max)
		}
		r[out.Name] = passes.Range{Min: lo, Max: hi}
	}
}

// checkFusion warns where the converter would not fold an activation into
// its conv with the learned ranges (then it quantizes the conv's raw
// output and the conversion is no longer exact).
func (t *Trainer) checkFusion(r passes.Ranges) {
	pl := t.nt.quantPlan
	for conv, act := range pl.Folded {
		rg, ok := r[act.Output(0).Name]
		if !ok {
			continue
		}
		if _, exact := passes.FoldedActivationParams(act, rg, t.o.Config.Activations); !exact {
			t.warn = append(t.warn, fmt.Sprintf("conv %q: the converter will not fold %s %q into it with the learned range [%g, %g]",
				conv.Name, act.OpType, act.Name, rg.Min, rg.Max))
		}
	}
}

// exactInt8 adjusts the scale of each channel of vals (codes·scale) until
// the converter's own per-channel rule (scale = max|w|/127, codes =
// round(w/scale)) recovers the same codes and scale bit for bit.
func exactInt8(vals []float32, q *weightQuant) {
	stride, per := 1, len(vals)/q.rows
	if q.axis == 1 {
		stride, per = q.rows, len(vals)/q.rows
	}
	for m := 0; m < q.rows; m++ {
		at := func(i int) int {
			if q.axis == 1 {
				return i*stride + m
			}
			return m*per + i
		}
		s := q.scales[m]
		for iter := 0; iter < 8; iter++ {
			var amax float64
			for i := 0; i < per; i++ {
				v := float32(q.codes[at(i)]) * s
				vals[at(i)] = v
				amax = max(amax, math.Abs(float64(v)))
			}
			s2 := float32(amax / 127)
			if amax == 0 {
				break
			}
			same := s2 == s
			for i := 0; i < per && same; i++ {
				c := math.RoundToEven(float64(vals[at(i)]) / float64(s2))
				same = int8(max(-127, min(127, c))) == q.codes[at(i)]
			}
			if same {
				break
			}
			s = s2
		}
	}
}
