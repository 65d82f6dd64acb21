package passes

import (
	"math"

	"github.com/onnx-prom/onnx-prom/onnx/ir"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
)

// QuantPlan says what the quantize pass does to a float graph: which nodes
// it rewrites to integer kernels, which activations it folds into the conv
// before them, and where 8-bit values appear. The quantize pass rewrites
// exactly by it, and quantization-aware training (package train) simulates
// exactly it, so the two cannot disagree.
type QuantPlan struct {
	// Rewritten holds the nodes rewritten to integer kernels: Conv
	// (TernaryConv when ternarized, else QLinearConv or a Q/DQ-wrapped
	// Conv), Gemm and MatMul, layout ops between integer kernels, and
	// com.microsoft Add, Mul and GlobalAveragePool.
	Rewritten map[*ir.Node]bool
	// Folded maps a rewritten Conv to the Relu or Clip that alone reads its
	// output: the conv writes the activation's output directly, and
	// saturating to that output's 8-bit range does the clipping.
	Folded map[*ir.Node]*ir.Node
	// FoldedParams holds the quantization of each folded activation's
	// output: its calibrated range narrowed to the activation's bounds (see
	// FoldedActivationParams). Empty in a plan made without ranges.
	FoldedParams map[*ir.Value]QParams
	// QuantizedAtProducer holds the values a rewritten node computes in 8
	// bits (a conv's output, or its folded activation's, and the outputs of
	// Add, Mul and GlobalAveragePool): every reader sees the quantized
	// value. Gemm and MatMul are absent: they rescale their result to float.
	QuantizedAtProducer map[*ir.Value]bool
	// CarriedFrom maps the output of a rewritten layout op to its input:
	// the op runs on the 8-bit input, so its output has the input's
	// quantization.
	CarriedFrom map[*ir.Value]*ir.Value
}

// PlanQuantization makes the plan of the quantize pass for g under cfg.
// ranges are the calibrated activation ranges: a node is rewritten only
// when the activations it reads and writes in 8 bits have one, and an
// activation is folded only when its quantized output range lies within
// its bounds.
func PlanQuantization(g *ir.Graph, cfg Config, ranges Ranges) *QuantPlan {
	return (&planner{cfg: cfg, ranges: ranges, calibrated: true}).plan(g)
}

// PlanQuantizationUncalibrated makes the plan of PlanQuantization before
// any range is known, as quantization-aware training does (it learns the
// ranges): it assumes every float activation will have a range and folds
// every activation the graph's structure allows. Whether a fold survives
// the learned ranges is FoldedActivationParams's call.
func PlanQuantizationUncalibrated(g *ir.Graph, cfg Config) *QuantPlan {
	return (&planner{cfg: cfg}).plan(g)
}

// FoldedActivationParams returns the quantization of the output of act (a
// Relu or Clip folded into the conv before it) with calibrated range r:
// the range narrowed to act's bounds. ok is false when the fold is not
// exact: act is no Relu or Clip with constant bounds and lower bound <= 0,
// or the quantized range reaches beyond the bounds, so that saturating to
// it would not do act's clipping.
func FoldedActivationParams(act *ir.Node, r Range, dt tensor.DataType) (p QParams, ok bool) {
	lo, hi, ok := activationBounds(act)
	if !ok || lo > 0 {
		return QParams{}, false
	}
	// The observed output lies within the bounds by construction; widening
	// it to contain 0 keeps it there because lo <= 0 <= hi.
	p = ActivationParams(max(r.Min, float32(lo)), min(r.Max, float32(hi)), dt)
	plo, phi := p.Range()
	if float64(plo) < lo-1e-6*math.Abs(lo) || float64(phi) > hi+1e-6*math.Abs(hi) {
		return QParams{}, false
	}
	return p, true
}

// ClipBounds reads a Clip's bounds from attributes (opset < 11) or constant
// inputs. ok is false when a bound is not a constant scalar.
func ClipBounds(n *ir.Node) (lo, hi float64, ok bool) {
	lo, hi = math.Inf(-1), math.Inf(1)
	if n.HasAttr("min") || n.HasAttr("max") {
		a, _ := n.AttrFloat("min", float32(math.Inf(-1)))
		b, _ := n.AttrFloat("max", float32(math.Inf(1)))
		return float64(a), float64(b), true
	}
	for i, dst := range []*float64{&lo, &hi} {
		v := n.Input(i + 1)
		if v == nil {
			continue
		}
		if !v.IsConst() {
			return 0, 0, false
		}
		f, _, err := floatConst(v)
		if err != nil || len(f) != 1 {
			return 0, 0, false
		}
		*dst = float64(f[0])
	}
	return lo, hi, true
}

// activationBounds returns the interval a Relu or Clip clips to; ok is
// false for other ops and for a Clip whose bounds are not constant.
func activationBounds(act *ir.Node) (lo, hi float64, ok bool) {
	switch act.OpType {
	case "Relu":
		return 0, math.Inf(1), true
	case "Clip":
		return ClipBounds(act)
	}
	return 0, 0, false
}

// transparentOps run on 8-bit tensors unchanged: their output has the
// input's quantization parameters.
var transparentOps = map[string]bool{
	"MaxPool": true, "Flatten": true, "Reshape": true, "Squeeze": true,
	"Unsqueeze": true, "Transpose": true, "Identity": true,
}

// isFloatAct reports whether v is a float activation (not a constant).
func isFloatAct(v *ir.Value) bool {
	return v != nil && !v.IsConst() && v.Type == tensor.Float
}

// planner makes one QuantPlan.
type planner struct {
	cfg    Config
	ranges Ranges
	// calibrated says the plan checks ranges; without, every float
	// activation is assumed to get one.
	calibrated bool
	p          *QuantPlan
}

// hasRange reports whether activation v can be quantized: it has a
// calibrated range, or the plan is made without ranges.
func (pl *planner) hasRange(v *ir.Value) bool {
	if !pl.calibrated {
		return true
	}
	_, ok := pl.ranges[v.Name]
	return ok
}

func (pl *planner) plan(g *ir.Graph) *QuantPlan {
	pl.p = &QuantPlan{
		Rewritten: map[*ir.Node]bool{}, Folded: map[*ir.Node]*ir.Node{}, FoldedParams: map[*ir.Value]QParams{},
		QuantizedAtProducer: map[*ir.Value]bool{}, CarriedFrom: map[*ir.Value]*ir.Value{},
	}
	pl.chooseNodes(g)
	pl.pruneTransparent(g)
	pl.markQuantizedValues(g)
	return pl.p
}

// chooseNodes picks the nodes the quantize pass can rewrite and the
// activations it folds.
func (pl *planner) chooseNodes(g *ir.Graph) {
	p, cfg := pl.p, pl.cfg
	msOps := cfg.MicrosoftOps && cfg.Format == QOperator
	for _, n := range g.Nodes() {
		if n.Domain != "" || cfg.KeepsFloat(n) {
			continue
		}
		if x := n.Input(0); !isFloatAct(x) || !pl.hasRange(x) {
			continue
		}
		switch {
		case n.OpType == "Conv" && convQuantizable(n):
			out := n.Output(0)
			act := pl.foldableActivation(out)
			if act != nil {
				out = act.Output(0)
			}
			if !pl.hasRange(out) {
				continue
			}
			if act != nil {
				p.Folded[n] = act
			}
			p.Rewritten[n] = true
		case (n.OpType == "Gemm" || n.OpType == "MatMul") && matmulQuantizable(n):
			p.Rewritten[n] = true
		case transparentOps[n.OpType]:
			p.Rewritten[n] = true
		case msOps && (n.OpType == "Add" || n.OpType == "Mul"):
			a, b := n.Input(0), n.Input(1)
			if isFloatAct(a) && isFloatAct(b) && sameShape(a, b) && pl.hasRange(b) && pl.hasRange(n.Output(0)) {
				p.Rewritten[n] = true
			}
		case msOps && n.OpType == "GlobalAveragePool":
			if pl.hasRange(n.Output(0)) {
				p.Rewritten[n] = true
			}
		}
	}
}

// pruneTransparent drops the layout ops not fed by an integer kernel:
// transparent ops are only worth it between integer kernels; a chain of
// them fed by a float op would just move the Q/DQ around. In QDQ form
// every integer kernel writes float, so none stays.
func (pl *planner) pruneTransparent(g *ir.Graph) {
	p := pl.p
	for changed := true; changed; {
		changed = false
		for _, n := range g.Nodes() {
			if p.Rewritten[n] && transparentOps[n.OpType] {
				pr := n.Input(0).Producer
				if pr == nil || !p.Rewritten[pr] || pl.cfg.Format == QDQ {
					delete(p.Rewritten, n)
					changed = true
				}
			}
		}
	}
}

// markQuantizedValues records the values rewritten nodes compute in 8
// bits and those layout ops carry.
func (pl *planner) markQuantizedValues(g *ir.Graph) {
	p := pl.p
	for _, n := range g.Nodes() {
		if !p.Rewritten[n] {
			continue
		}
		switch {
		case n.OpType == "Conv":
			out := n.Output(0)
			if act := p.Folded[n]; act != nil {
				out = act.Output(0)
			}
			p.QuantizedAtProducer[out] = true
		case transparentOps[n.OpType]:
			p.CarriedFrom[n.Output(0)] = n.Input(0)
		case n.OpType == "Add" || n.OpType == "Mul" || n.OpType == "GlobalAveragePool":
			p.QuantizedAtProducer[n.Output(0)] = true
		}
	}
}

// foldableActivation returns the Relu or Clip that alone reads v when
// folding it into v's producer is exact (see FoldedActivationParams), and
// records its output's quantization. Without ranges only the structure is
// checked.
func (pl *planner) foldableActivation(v *ir.Value) *ir.Node {
	if v == nil {
		return nil
	}
	uses := v.Uses()
	if len(uses) != 1 || v.IsGraphOutput() || uses[0].Index != 0 {
		return nil
	}
	act := uses[0].Node
	if act.Domain != "" || pl.cfg.KeepsFloat(act) {
		return nil
	}
	if lo, _, ok := activationBounds(act); !ok || lo > 0 {
		return nil
	}
	if !pl.calibrated {
		return act
	}
	out := act.Output(0)
	r, ok := pl.ranges[out.Name]
	if !ok {
		return nil
	}
	p, ok := FoldedActivationParams(act, r, pl.cfg.Activations)
	if !ok {
		return nil
	}
	pl.p.FoldedParams[out] = p
	return act
}

func sameShape(a, b *ir.Value) bool { return a.Shape != nil && a.Shape.Equal(b.Shape) }

// convQuantizable reports whether the quantize pass can rewrite conv n:
// constant float 4-D weights, a constant bias if any, and a 4-D input of
// known rank.
func convQuantizable(n *ir.Node) bool {
	w := n.Input(1)
	if w == nil || !w.IsConst() || w.Type != tensor.Float || len(w.Shape) != 4 {
		return false
	}
	if b := n.Input(2); b != nil && !b.IsConst() {
		return false
	}
	return n.Input(0).Shape != nil && len(n.Input(0).Shape) == 4
}

// matmulQuantizable reports whether the quantize pass can rewrite Gemm or
// MatMul n: a 2-D input times a constant float 2-D matrix, and for Gemm a
// constant float bias if any, no transposed input and alpha = beta = 1.
func matmulQuantizable(n *ir.Node) bool {
	a, b := n.Input(0), n.Input(1)
	if b == nil || !b.IsConst() || b.Type != tensor.Float || len(b.Shape) != 2 || a.Shape == nil || len(a.Shape) != 2 {
		return false
	}
	if n.OpType == "MatMul" {
		return true
	}
	if c := n.Input(2); c != nil && (!c.IsConst() || c.Type != tensor.Float) {
		return false
	}
	ta, _ := n.AttrInt("transA", 0)
	alpha, _ := n.AttrFloat("alpha", 1)
	beta, _ := n.AttrFloat("beta", 1)
	return ta == 0 && alpha == 1 && beta == 1
}
