package train

import (
	"fmt"
	"math"

	"github.com/onnx-prom/onnx-prom/onnx/ir"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
	"github.com/onnx-prom/onnx-prom/passes"
)

// Mode is the kind of training.
type Mode int

const (
	// Float trains the float model; BatchNormalization uses batch
	// statistics (unless frozen) and stays in the graph.
	Float Mode = iota
	// QAT is quantization-aware training: BatchNormalization is folded
	// into the convolutions first, and weights and activations are
	// fake-quantized where and as the converter will quantize them.
	QAT
)

func (m Mode) String() string {
	if m == QAT {
		return "qat"
	}
	return "float"
}

type buildOptions struct {
	mode     Mode
	cfg      passes.Config
	batch    int
	workers  int
	frozenBN bool
	momentum float32 // range EMA
	// inference builds a net without gradients (a distillation teacher).
	inference bool
	// inputGrad keeps the gradient of the input (gradient checks).
	inputGrad bool
	// inputShape is the per-sample input shape when the graph leaves it
	// (partly) unknown.
	inputShape []int
}

type compiler struct {
	nt    *net
	o     buildOptions
	pl    *plan
	cur   map[*ir.Value]*buf // what readers see
	prodQ map[*ir.Value]*actQuant
	edgeQ map[*ir.Value]*actQuant
	edgeB map[*ir.Value]*buf
	batch int64 // the graph input's declared batch size, or -1
	skip  map[*ir.Node]bool
	ints  map[*ir.Value][]int64 // shape tensors folded at compile time
}

// build compiles a prepared model (see prepare) into a net.
func build(m *ir.Model, pl *plan, o buildOptions) (nt *net, err error) {
	g := m.Graph
	nt = &net{maxBatch: o.batch, workers: max(1, o.workers), model: m, paramOf: map[*ir.Value]*Param{}, valueBufs: map[*ir.Value]*buf{}, quantPlan: pl}
	nt.st.n = o.batch
	c := &compiler{nt: nt, o: o, pl: pl, cur: map[*ir.Value]*buf{}, prodQ: map[*ir.Value]*actQuant{},
		edgeQ: map[*ir.Value]*actQuant{}, edgeB: map[*ir.Value]*buf{}, batch: -1, skip: map[*ir.Node]bool{},
		ints: map[*ir.Value][]int64{}}
	if err := c.inputs(g); err != nil {
		return nil, err
	}
	if len(g.Outputs) == 0 {
		return nil, fmt.Errorf("the graph has no outputs")
	}
	logits := g.Outputs[0]
	if p := logits.Producer; p != nil && p.Domain == "" && (p.OpType == "Softmax" || p.OpType == "LogSoftmax") {
		c.skip[p] = true
		logits = p.Input(0)
	}
	nt.outputName = logits.Name
	for _, n := range g.Nodes() {
		if c.skip[n] {
			continue
		}
		if n.Domain != "" && n.Domain != "ai.onnx" {
			return nil, fmt.Errorf("node %s: domain %q is not supported for training", n.Label(), n.Domain)
		}
		if done, err := c.foldShape(n); err != nil {
			return nil, fmt.Errorf("node %s: %w", n.Label(), err)
		} else if done {
			continue
		}
		bf := builders[n.OpType]
		if bf == nil {
			return nil, fmt.Errorf("node %s: %s is not supported for training", n.Label(), n.OpType)
		}
		if err := bf(c, n); err != nil {
			return nil, fmt.Errorf("node %s: %w", n.Label(), err)
		}
		for _, v := range n.Outputs {
			if v == nil || c.cur[v] == nil {
				continue
			}
			if pl != nil && pl.QuantizedAtProducer[v] {
				c.quantizeProduced(v)
			}
			if pl != nil && pl.CarriedFrom[v] != nil {
				if q := c.prodQ[pl.CarriedFrom[v]]; q != nil {
					c.prodQ[v] = q
				}
			}
		}
	}
	lb := c.cur[logits]
	if lb == nil {
		return nil, fmt.Errorf("output %q is not computed by the graph", logits.Name)
	}
	if lb.grad == nil && !o.inference {
		return nil, fmt.Errorf("output %q does not depend on any trainable parameter", logits.Name)
	}
	nt.logits = lb
	nt.finish()
	nt.pool = newPool(nt.workers)
	return nt, nil
}

// inputs creates the buffer of the one data input.
func (c *compiler) inputs(g *ir.Graph) error {
	var in *ir.Value
	for _, v := range g.Inputs {
		if v.Const != nil {
			continue
		}
		if in != nil {
			return fmt.Errorf("the graph has several data inputs (%q, %q); training supports one", in.Name, v.Name)
		}
		in = v
	}
	if in == nil {
		return fmt.Errorf("the graph has no data input")
	}
	if in.Type != tensor.Float && in.Type != tensor.Undefined {
		return fmt.Errorf("input %q is %s; training needs a float input", in.Name, tensor.Name(in.Type))
	}
	shape := c.o.inputShape
	if in.Shape != nil && len(in.Shape) >= 1 {
		if in.Shape[0].Known() {
			c.batch = in.Shape[0].Value
		}
		if shape == nil {
			for _, d := range in.Shape[1:] {
				if !d.Known() {
					return fmt.Errorf("input %q has shape %v: every dimension but the batch must be known", in.Name, in.Shape)
				}
				shape = append(shape, int(d.Value))
			}
		}
	}
	if shape == nil {
		return fmt.Errorf("input %q has no known shape", in.Name)
	}
	b, err := c.nt.newBuf(in.Name, in, shape, c.o.inputGrad)
	if err != nil {
		return err
	}
	c.nt.input, c.nt.inputValue = b, in
	c.cur[in] = b
	c.nt.valueBufs[in] = b
	return nil
}

// quantizeProduced inserts the quantizer of a value quantized where it
// is computed: every reader gets the quantized buffer.
func (c *compiler) quantizeProduced(v *ir.Value) {
	raw := c.cur[v]
	q := c.newQuant(v.Name, raw)
	c.prodQ[v] = q
	c.cur[v] = q.out
}

func (c *compiler) newQuant(key string, raw *buf) *actQuant {
	q := newActQuant(key, c.nt.workers, c.o.momentum, &c.o.cfg)
	out := &buf{name: key + "/quantized", shape: raw.shape, size: raw.size, data: make([]float32, len(raw.data))}
	if raw.grad != nil {
		out.grad = make([]float32, len(raw.data))
	}
	c.nt.bufs = append(c.nt.bufs, out)
	q.opBase = opBase{name: key + "/quantize", in: []*buf{raw}, out: out, st: &c.nt.st}
	c.nt.ops = append(c.nt.ops, q)
	c.nt.quants = append(c.nt.quants, q)
	return q
}

// read returns the buffer node n reads as input i (an activation), the
// quantized one when the plan has n read it in 8 bits, and the quantizer
// that defines its grid (nil when it is float).
func (c *compiler) read(n *ir.Node, i int) (*buf, *actQuant, error) {
	v := n.Input(i)
	if v == nil {
		return nil, nil, fmt.Errorf("input %d is missing", i)
	}
	b := c.cur[v]
	if b == nil {
		if v.Const != nil {
			return nil, nil, fmt.Errorf("input %d (%q) is a constant; training needs an activation there", i, v.Name)
		}
		return nil, nil, fmt.Errorf("input %d (%q) is not computed before the node", i, v.Name)
	}
	if c.pl == nil {
		return b, nil, nil
	}
	quant := false
	for _, k := range c.pl.quantReads(n) {
		quant = quant || k == i
	}
	if !quant {
		return b, nil, nil
	}
	if q := c.prodQ[v]; q != nil {
		return b, q, nil
	}
	if q := c.edgeQ[v]; q != nil {
		return c.edgeB[v], q, nil
	}
	q := c.newQuant(v.Name, b)
	c.edgeQ[v], c.edgeB[v] = q, q.out
	return q.out, q, nil
}

// param returns the Param of initializer v.
func (c *compiler) param(v *ir.Value, trainable, decay, split bool) (*Param, error) {
	trainable = trainable && !c.o.inference
	if v == nil || !v.IsConst() {
		name := "<missing>"
		if v != nil {
			name = v.Name
		}
		return nil, fmt.Errorf("%q must be an initializer (a constant) for training", name)
	}
	if p := c.nt.paramOf[v]; p != nil {
		p.Trainable = p.Trainable || trainable
		p.Decay = p.Decay || decay
		p.split = p.split || split
		return p, nil
	}
	d, shape, err := floatData(v)
	if err != nil {
		return nil, err
	}
	for _, x := range d {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return nil, fmt.Errorf("initializer %q holds NaN or infinity", v.Name)
		}
	}
	p := &Param{Name: v.Name, Shape: shape, Data: d, Trainable: trainable, Decay: decay, value: v, split: split}
	c.nt.paramOf[v] = p
	c.nt.params = append(c.nt.params, p)
	return p, nil
}

// output creates the output buffer of node n.
func (c *compiler) output(n *ir.Node, shape []int, grad bool) (*buf, error) {
	v := n.Output(0)
	if v == nil {
		return nil, fmt.Errorf("output 0 is missing")
	}
	for _, extra := range n.Outputs[1:] {
		if extra != nil && (extra.NumUses() > 0 || extra.IsGraphOutput()) {
			return nil, fmt.Errorf("output %q is read; training supports only the first output", extra.Name)
		}
	}
	b, err := c.nt.newBuf(v.Name, v, shape, grad && !c.o.inference)
	if err != nil {
		return nil, err
	}
	c.cur[v] = b
	c.nt.valueBufs[v] = b
	return b, nil
}

func (c *compiler) add(o op) { c.nt.ops = append(c.nt.ops, o) }

func (c *compiler) base(n *ir.Node, out *buf, in ...*buf) opBase {
	return opBase{name: n.Name, in: in, out: out, st: &c.nt.st}
}

// setWeightQuant attaches the quantizer the plan gives n's weights.
func (c *compiler) setWeightQuant(n *ir.Node, p *Param, axis int) error {
	if c.pl == nil || c.o.mode != QAT {
		return nil
	}
	kind := 0
	switch {
	case c.pl.ternary[n]:
		kind = quantTernary
	case c.pl.Rewritten[n]:
		kind = quantInt8
	}
	if kind == 0 {
		if p.wq != nil {
			return fmt.Errorf("weights %q are shared with a quantized layer but stay float here", p.Name)
		}
		return nil
	}
	if p.wq != nil {
		if p.wq.kind != kind || p.wq.axis != axis {
			return fmt.Errorf("weights %q are shared by layers quantized differently", p.Name)
		}
		return nil
	}
	if len(p.Shape) <= axis {
		return fmt.Errorf("weights %q of shape %v have no axis %d", p.Name, p.Shape, axis)
	}
	p.wq = newWeightQuant(kind, p, axis)
	return nil
}
