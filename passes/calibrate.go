package passes

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/onnx-prom/onnx-prom/onnx/ir"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
	"github.com/onnx-prom/onnx-prom/verify/interp"
)

// CalibMethod chooses how an activation's range is derived from the values
// observed on calibration data.
type CalibMethod string

const (
	// CalibMinMax takes the observed minimum and maximum.
	CalibMinMax CalibMethod = "minmax"
	// CalibPercentile clips both tails at Config.Percentile.
	CalibPercentile CalibMethod = "percentile"
	// CalibEntropy chooses the clipping range that minimises the KL
	// divergence between the observed and the quantized distribution.
	CalibEntropy CalibMethod = "entropy"
	// CalibMSE chooses the clipping range that minimises the expected
	// squared quantization error.
	CalibMSE CalibMethod = "mse"
)

// CalibData is a stream of model inputs for calibration. Sample i maps graph
// input names to tensors; implementations read samples lazily so that
// memory does not grow with their number.
type CalibData interface {
	Len() int
	Sample(i int) (map[string]*tensor.Tensor, error)
}

// Range is a real interval of activation values.
type Range struct {
	Min float32 `json:"min"`
	Max float32 `json:"max"`
}

// Ranges maps value names to ranges.
type Ranges map[string]Range

// factRanges is the State fact holding the activation Ranges.
const factRanges = "ranges"

// SetRanges gives the calibration pass known ranges (from a JSON file or
// from Q/DQ nodes); values with a known range are not calibrated.
func (s *State) SetRanges(r Ranges) {
	old, _ := Fact[Ranges](s, factRanges)
	merged := Ranges{}
	for k, v := range old {
		merged[k] = v
	}
	for k, v := range r {
		merged[k] = v
	}
	s.SetFact(factRanges, merged)
}

// ReadRanges parses a JSON ranges file: {"value name": {"min": a, "max": b}, ...}.
func ReadRanges(r io.Reader) (Ranges, error) {
	var out Ranges
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil {
		return nil, fmt.Errorf("ranges file: %w", err)
	}
	for k, v := range out {
		if v.Min > v.Max || math.IsNaN(float64(v.Min)) || math.IsNaN(float64(v.Max)) {
			return nil, fmt.Errorf("ranges file: value %q has min %g > max %g", k, v.Min, v.Max)
		}
	}
	return out, nil
}

// WriteRanges writes ranges as JSON with sorted keys.
func WriteRanges(w io.Writer, r Ranges) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// syntheticSamples is how many random inputs calibrate a model when no
// data is given.
const syntheticSamples = 4

// Calibrate runs the float model on calibration data (State.Calib, or
// synthetic N(0,1) inputs when none is given) and records the range of
// every float activation.
var Calibrate = &Pass{
	Name:     "calibrate",
	Doc:      "observe float activations on calibration data and choose their ranges",
	Requires: []string{"shapes"},
	Run:      runCalibrate,
}

func runCalibrate(s *State) (Result, error) {
	known, _ := Fact[Ranges](s, factRanges)
	want := map[string]bool{}
	g := s.Model.Graph
	for _, n := range g.Nodes() {
		for _, v := range append(append([]*ir.Value{}, n.Inputs...), n.Outputs...) {
			if v != nil && !v.IsConst() && v.Type == tensor.Float {
				if _, ok := known[v.Name]; !ok {
					want[v.Name] = true
				}
			}
		}
	}
	if len(want) == 0 {
		return Result{}, nil
	}
	data := s.Calib
	if data == nil && len(known) > 0 && !needsRange(g, want) {
		// Ranges came from a file or from the input's Q/DQ pairs and cover
		// every conv and matmul: no synthetic calibration for the rest.
		return Result{Stats: map[string]int{"values without range": len(want)}}, nil
	}
	if data == nil {
		var err error
		if data, err = newSyntheticData(g, syntheticSamples, 1, s.Limits.maxTensor()); err != nil {
			return Result{}, invalid(err)
		}
		s.Warnf("no calibration data: calibrated on %d synthetic N(0,1) inputs; give --calib samples for usable accuracy", syntheticSamples)
	}
	if data.Len() == 0 {
		return Result{}, fmt.Errorf("calibration data holds no samples")
	}
	// The first sample's shapes let Compile refuse a model whose work
	// is over the budget before any run.
	first, err := data.Sample(0)
	if err != nil {
		return Result{}, invalid(fmt.Errorf("calibration sample 0: %w", err))
	}
	opts := s.Limits.interpOptions()
	opts.InputShapes = map[string][]int64{}
	for name, t := range first {
		opts.InputShapes[name] = t.Shape
	}
	prog, err := interp.Compile(s.Model, opts)
	if err != nil {
		if errors.Is(err, interp.ErrWorkBudget) {
			return Result{}, invalid(err)
		}
		return Result{}, err
	}
	stats := map[string]*valueStats{}
	observe := func(name string, t *tensor.Tensor) {
		if !want[name] {
			return
		}
		d, ok := t.Data.([]float32)
		if !ok {
			return
		}
		st := stats[name]
		if st == nil {
			st = &valueStats{min: math.Inf(1), max: math.Inf(-1)}
			stats[name] = st
		}
		st.observe(d)
	}
	run := func() error {
		for i := 0; i < data.Len(); i++ {
			in, err := data.Sample(i)
			if err != nil {
				return fmt.Errorf("calibration sample %d: %w", i, err)
			}
			for name, t := range in {
				if want[name] {
					observe(name, t)
				}
			}
			if _, err := prog.RunWith(in, interp.RunOptions{Observe: observe}); err != nil {
				return fmt.Errorf("calibration sample %d: %w", i, err)
			}
		}
		return nil
	}
	// The float model passed Validate: a run that fails does so because
	// of the model (a shape only known at run time) or the calibration
	// data, both input errors.
	if err := run(); err != nil {
		return Result{}, invalid(err)
	}
	if s.Config.Calibration != CalibMinMax {
		for _, st := range stats {
			st.startHistogram()
		}
		if err := run(); err != nil {
			return Result{}, invalid(err)
		}
	}
	ranges := Ranges{}
	names := make([]string, 0, len(stats))
	for name := range stats {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		ranges[name] = stats[name].choose(s.Config)
	}
	s.SetRanges(ranges)
	return Result{Changed: len(ranges), Stats: map[string]int{"values": len(ranges), "samples": data.Len()}}, nil
}

// needsRange reports whether a value in missing is one a Conv, Gemm or
// MatMul cannot be quantized without: its input, and a conv's output.
func needsRange(g *ir.Graph, missing map[string]bool) bool {
	for _, n := range g.Nodes() {
		switch n.OpType {
		case "Conv", "Gemm", "MatMul":
			if x := n.Input(0); x != nil && missing[x.Name] {
				return true
			}
			if y := n.Output(0); n.OpType == "Conv" && y != nil && missing[y.Name] {
				return true
			}
		}
	}
	return false
}

const histBins = 2048

// valueStats streams one value's minimum, maximum and, on a second pass,
// its histogram over [min, max].
type valueStats struct {
	min, max float64
	hist     []float64
}

func (st *valueStats) observe(d []float32) {
	if st.hist == nil {
		for _, v := range d {
			f := float64(v)
			if f < st.min {
				st.min = f
			}
			if f > st.max {
				st.max = f
			}
		}
		return
	}
	width := (st.max - st.min) / histBins
	if width <= 0 {
		st.hist[0] += float64(len(d))
		return
	}
	for _, v := range d {
		b := int((float64(v) - st.min) / width)
		b = max(0, min(histBins-1, b))
		st.hist[b]++
	}
}

func (st *valueStats) startHistogram() { st.hist = make([]float64, histBins) }

// choose applies the calibration method to the statistics.
func (st *valueStats) choose(c Config) Range {
	full := Range{Min: float32(st.min), Max: float32(st.max)}
	if st.hist == nil || st.max <= st.min {
		return full
	}
	width := (st.max - st.min) / histBins
	edge := func(b int) float32 { return float32(st.min + float64(b)*width) }
	switch c.Calibration {
	case CalibPercentile:
		var total float64
		for _, h := range st.hist {
			total += h
		}
		tail := total * (100 - c.Percentile) / 100
		lo, hi := 0, histBins
		for acc := 0.0; lo < histBins && acc+st.hist[lo] <= tail; lo++ {
			acc += st.hist[lo]
		}
		for acc := 0.0; hi > lo+1 && acc+st.hist[hi-1] <= tail; hi-- {
			acc += st.hist[hi-1]
		}
		return Range{Min: edge(lo), Max: edge(hi)}
	case CalibEntropy, CalibMSE:
		best, bestCost := full, math.Inf(1)
		// Candidates shrink the range toward zero by a common factor, keeping
		// the sign structure (a ReLU output stays non-negative).
		for k := 0; k < 128; k++ {
			f := 1 - float64(k)/160
			cand := Range{Min: float32(st.min * f), Max: float32(st.max * f)}
			var cost float64
			if c.Calibration == CalibMSE {
				cost = st.mseCost(cand, c.Activations)
			} else {
				cost = st.klCost(cand)
			}
			if cost < bestCost {
				best, bestCost = cand, cost
			}
		}
		return best
	}
	return full
}

func (st *valueStats) center(b int) float64 {
	return st.min + (float64(b)+0.5)*(st.max-st.min)/histBins
}

// mseCost estimates the squared error of quantizing the histogram with the
// range r: clipping error outside it, uniform rounding error inside.
func (st *valueStats) mseCost(r Range, dt tensor.DataType) float64 {
	p := ActivationParams(r.Min, r.Max, dt)
	lo, hi := p.Range()
	step := float64(p.Scale)
	var cost float64
	for b, h := range st.hist {
		if h == 0 {
			continue
		}
		x := st.center(b)
		switch {
		case x < float64(lo):
			cost += h * (x - float64(lo)) * (x - float64(lo))
		case x > float64(hi):
			cost += h * (x - float64(hi)) * (x - float64(hi))
		default:
			cost += h * step * step / 12
		}
	}
	return cost
}

// klCost is the KL divergence between the observed distribution P (with
// the mass outside r folded into r's edge bins) and its 256-level
// quantization Q (each level's mass spread evenly over its nonzero bins).
func (st *valueStats) klCost(r Range) float64 {
	width := (st.max - st.min) / histBins
	first := int(math.Floor((float64(r.Min) - st.min) / width))
	last := int(math.Ceil((float64(r.Max)-st.min)/width)) - 1
	first, last = max(first, 0), min(last, histBins-1)
	n := last - first + 1
	if n < 256 {
		return math.Inf(1)
	}
	p := make([]float64, n)
	copy(p, st.hist[first:last+1])
	for b := 0; b < first; b++ {
		p[0] += st.hist[b]
	}
	for b := last + 1; b < histBins; b++ {
		p[n-1] += st.hist[b]
	}
	q := make([]float64, n)
	for level := 0; level < 256; level++ {
		a, z := level*n/256, (level+1)*n/256
		var mass float64
		nonzero := 0
		for i := a; i < z; i++ {
			mass += st.hist[first+i]
			if st.hist[first+i] > 0 {
				nonzero++
			}
		}
		for i := a; i < z; i++ {
			if st.hist[first+i] > 0 {
				q[i] = mass / float64(nonzero)
			}
		}
	}
	var sp, sq float64
	for i := range p {
		sp += p[i]
		sq += q[i]
	}
	var kl float64
	for i := range p {
		if p[i] == 0 {
			continue
		}
		pi := p[i] / sp
		qi := q[i] / sq
		if qi == 0 {
			qi = 1e-12
		}
		kl += pi * math.Log(pi/qi)
	}
	return kl
}

// syntheticData draws N(0,1) float inputs (zeros for integer inputs) with
// symbolic dimensions set to batch.
type syntheticData struct {
	inputs []*ir.Value
	n      int
	batch  int64
	seed   uint64
	// maxBytes caps one input (Limits.MaxTensorBytes).
	maxBytes int64
}

func newSyntheticData(g *ir.Graph, n int, batch, maxBytes int64) (*syntheticData, error) {
	d := &syntheticData{n: n, batch: batch, seed: 1, maxBytes: maxBytes}
	for _, v := range g.Inputs {
		if v.Const != nil {
			continue
		}
		if v.Shape == nil {
			return nil, fmt.Errorf("input %q has no declared shape: synthetic calibration needs one; give --calib data", v.Name)
		}
		d.inputs = append(d.inputs, v)
	}
	return d, nil
}

func (d *syntheticData) Len() int { return d.n }

func (d *syntheticData) Sample(i int) (map[string]*tensor.Tensor, error) {
	r := rand.New(rand.NewPCG(d.seed, uint64(i)))
	out := map[string]*tensor.Tensor{}
	for _, v := range d.inputs {
		shape := make([]int64, len(v.Shape))
		for j, dim := range v.Shape {
			shape[j] = dim.Value
			if !dim.Known() {
				shape[j] = d.batch
			}
		}
		if err := checkInputSize(v, shape, d.maxBytes); err != nil {
			return nil, err
		}
		t, err := tensor.New(v.Type, shape...)
		if err != nil {
			return nil, fmt.Errorf("input %q: %w", v.Name, err)
		}
		if f, ok := t.Data.([]float32); ok {
			for k := range f {
				f[k] = float32(r.NormFloat64())
			}
		}
		out[v.Name] = t
	}
	return out, nil
}

// checkInputSize refuses a synthetic input over maxBytes before it is
// allocated.
func checkInputSize(v *ir.Value, shape []int64, maxBytes int64) error {
	n, err := tensor.NumElements(shape)
	if err != nil {
		return fmt.Errorf("input %q: %w", v.Name, err)
	}
	size := int64(tensor.Bits(v.Type)+7) / 8
	if size == 0 {
		size = 8
	}
	if maxBytes > 0 && n > maxBytes/size {
		return fmt.Errorf("input %q: shape %v of %s is over the %d-byte limit: %w", v.Name, shape, tensor.Name(v.Type), maxBytes, tensor.ErrTooLarge)
	}
	return nil
}
