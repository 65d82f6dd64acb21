package train

import (
	"fmt"
	"math"
	"runtime"

	"github.com/onnx-prom/onnx-prom/onnx/ir"
	"github.com/onnx-prom/onnx-prom/onnx/onnxpb"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
	"github.com/onnx-prom/onnx-prom/passes"
	"github.com/onnx-prom/onnx-prom/verify/interp"
	"google.golang.org/protobuf/proto"
)

// RecoverOptions configure Recover.
type RecoverOptions struct {
	// Config selects the convs to ternarize and the ternarization rule
	// that gives their codes; the zero value means passes.DefaultConfig().
	Config passes.Config
	// Samples is the number of calibration samples used (default 256; at
	// most calib.Len()).
	Samples int
	// Batch stacks this many samples per interpreter run when they are
	// batches of one of equal shape (default 16).
	Batch int
	// Threads for the interpreter (default GOMAXPROCS).
	Threads int
}

// RecoverLayer reports one recovered conv.
type RecoverLayer struct {
	Name     string
	Channels int
	// Fitted counts channels whose scale came from the least-squares fit
	// (the others kept the rule's scale: no variance, or a fit outside
	// [1/4, 4] times it).
	Fitted int
	// ScaleRatio is the mean over channels of fitted / rule scale.
	ScaleRatio float64
	// ErrBefore and ErrAfter are the relative L2 errors
	// ‖ŷ − y‖/‖y‖ of the layer's output on the calibration inputs, with
	// the rule's scales and zero bias change, and after recovery (y is
	// the float layer on the same inputs).
	ErrBefore, ErrAfter float64
}

// Recover is "cheap recovery" after post-training ternarization. For each
// pointwise conv the converter will ternarize (per Config), in graph order,
// it keeps the codes of the ternarization rule and, on calibration data
// run through the model as recovered so far:
//
//   - fits each output channel's scale by least squares, so that
//     scale·(codes·x) best matches the float layer's w·x on the layer's
//     actual (already partly ternarized) inputs x;
//   - corrects each output channel's bias so that its mean over the
//     calibration data equals the float model's (bias correction).
//
// It returns the model with BatchNormalization folded (as the converter
// does) and the recovered convs' weights exactly scale·{-1, 0, +1} per
// output channel, so that the converter takes them over unchanged. Cost:
// one float run plus one run per recovered conv over Samples samples.
func Recover(mp *onnxpb.ModelProto, calib passes.CalibData, o RecoverOptions) (*onnxpb.ModelProto, []RecoverLayer, error) {
	if o.Config.Format == "" {
		o.Config = passes.DefaultConfig()
	}
	m, err := ir.FromProto(proto.Clone(mp).(*onnxpb.ModelProto))
	if err != nil {
		return nil, nil, err
	}
	s := &passes.State{Model: m, Config: o.Config}
	if _, err := (passes.Pipeline{passes.Cleanup, passes.FoldBN}).Run(s, passes.RunOptions{}); err != nil {
		return nil, nil, err
	}
	sel, err := selectTernary(m, o.Config)
	if err != nil {
		return nil, nil, err
	}
	var convs []*ir.Node
	for _, n := range m.Graph.Nodes() {
		if sel[n] {
			convs = append(convs, n)
		}
	}
	rep, err := RecoverGraph(m, convs, calib, o)
	if err != nil {
		return nil, nil, err
	}
	out, err := m.ToProto()
	return out, rep, err
}

// RecoverGraph runs the recovery of Recover on m in place, for the given
// convs (in graph order; each a Conv with constant float weights), whose
// weights and biases it replaces. m should have BatchNormalization folded
// into the convs (passes.FoldBN), else the corrected bias of a conv is
// scaled by the normalization after it.
func RecoverGraph(m *ir.Model, convs []*ir.Node, calib passes.CalibData, o RecoverOptions) ([]RecoverLayer, error) {
	if o.Config.Format == "" {
		o.Config = passes.DefaultConfig()
	}
	if o.Samples <= 0 {
		o.Samples = 256
	}
	if o.Batch <= 0 {
		o.Batch = 16
	}
	if o.Threads <= 0 {
		o.Threads = runtime.GOMAXPROCS(0)
	}
	if calib == nil || calib.Len() == 0 {
		return nil, fmt.Errorf("recovery needs calibration data")
	}
	if len(convs) == 0 {
		return nil, nil
	}
	feeds, err := stackFeeds(calib, min(o.Samples, calib.Len()), o.Batch)
	if err != nil {
		return nil, err
	}
	g := m.Graph
	// The float model's per-channel output means, one run for all convs.
	means := map[string][]float64{}
	counts := map[string]float64{}
	for _, n := range convs {
		if n.OpType != "Conv" || n.Domain != "" || n.Output(0) == nil {
			return nil, fmt.Errorf("node %s: recovery needs a Conv", n.Label())
		}
		means[n.Output(0).Name] = nil
	}
	prog, err := interp.Compile(m, interp.Options{Threads: o.Threads})
	if err != nil {
		return nil, err
	}
	for _, in := range feeds {
		if _, err := prog.RunWith(in, interp.RunOptions{Observe: func(name string, t *tensor.Tensor) {
			if _, ok := means[name]; !ok {
				return
			}
			sums, cnt, err := channelSums(t)
			if err != nil {
				return
			}
			if means[name] == nil {
				means[name] = make([]float64, len(sums))
			}
			for c, v := range sums {
				means[name][c] += v
			}
			counts[name] += cnt
		}}); err != nil {
			return nil, fmt.Errorf("recovery, float run: %w", err)
		}
	}
	var rep []RecoverLayer
	for _, n := range convs {
		l, err := recoverConv(m, n, feeds, means[n.Output(0).Name], counts[n.Output(0).Name], o)
		if err != nil {
			return rep, fmt.Errorf("node %s: %w", n.Label(), err)
		}
		rep = append(rep, l)
	}
	g.RemoveUnusedInitializers()
	return rep, nil
}

// channelSums sums a float tensor [N, C, ...] per channel and returns the
// number of values per channel.
func channelSums(t *tensor.Tensor) ([]float64, float64, error) {
	f, ok := t.Data.([]float32)
	if !ok || len(t.Shape) < 2 {
		return nil, 0, fmt.Errorf("not a float [N, C, ...] tensor")
	}
	n, c := int(t.Shape[0]), int(t.Shape[1])
	if n*c == 0 {
		return nil, 0, fmt.Errorf("empty tensor")
	}
	per := len(f) / (n * c)
	sums := make([]float64, c)
	for i := 0; i < n; i++ {
		for ch := 0; ch < c; ch++ {
			sums[ch] += float64(sum32(f[(i*c+ch)*per : (i*c+ch+1)*per]))
		}
	}
	return sums, float64(n * per), nil
}

// recoverConv fits conv n's scales and biases.
func recoverConv(m *ir.Model, n *ir.Node, feeds []map[string]*tensor.Tensor, fmean []float64, fcount float64, o RecoverOptions) (RecoverLayer, error) {
	g := m.Graph
	wv := n.Input(1)
	if wv == nil || !wv.IsConst() {
		return RecoverLayer{}, fmt.Errorf("weights are not constant")
	}
	w, wshape, err := floatData(wv)
	if err != nil {
		return RecoverLayer{}, err
	}
	shape := make([]int64, len(wshape))
	for i, d := range wshape {
		shape[i] = int64(d)
	}
	M := wshape[0]
	if fmean == nil || len(fmean) != M || fcount == 0 {
		return RecoverLayer{}, fmt.Errorf("no float statistics for the output")
	}
	bias := make([]float32, M)
	if bv := n.Input(2); bv != nil {
		b, _, err := floatData(bv)
		if err != nil {
			return RecoverLayer{}, err
		}
		if len(b) != M {
			return RecoverLayer{}, fmt.Errorf("bias has %d values for %d channels", len(b), M)
		}
		copy(bias, b)
	}
	tw := passes.TernarizeWeights(w, shape, o.Config.Rule)
	codes := make([]float32, len(tw.Codes))
	for i, c := range tw.Codes {
		codes[i] = float32(c)
	}
	// A twin conv with the bare codes reads the same input.
	cv, err := g.AddConst(wv.Name+"_recover_codes", tensor.FromFloat32(codes, shape...))
	if err != nil {
		return RecoverLayer{}, err
	}
	twin := g.NewNode("Conv", "", n.Name+"_recover", []*ir.Value{n.Input(0), cv}, 1, nil)
	twin.Attrs = n.Attrs
	z := twin.Outputs[0]
	g.Outputs = append(g.Outputs, z)
	defer func() {
		g.Outputs = g.Outputs[:len(g.Outputs)-1]
		g.RemoveNode(twin)
	}()
	prog, err := interp.Compile(m, interp.Options{Threads: o.Threads})
	if err != nil {
		return RecoverLayer{}, err
	}
	// Per channel: Σz, Σz², Σt, Σt², Σzt over the layer's outputs, with
	// t = w·x + b the float layer on the same input.
	st := make([][5]float64, M)
	yName := n.Output(0).Name
	var zt, yt *tensor.Tensor
	for _, in := range feeds {
		zt, yt = nil, nil
		if _, err := prog.RunWith(in, interp.RunOptions{Observe: func(name string, t *tensor.Tensor) {
			// The tensors are only valid during the call.
			switch name {
			case z.Name:
				zt = t.Clone()
			case yName:
				yt = t.Clone()
			}
		}}); err != nil {
			return RecoverLayer{}, err
		}
		if zt == nil || yt == nil {
			return RecoverLayer{}, fmt.Errorf("the interpreter did not report the layer's outputs")
		}
		zf, ok1 := zt.Data.([]float32)
		yf, ok2 := yt.Data.([]float32)
		if !ok1 || !ok2 || len(zf) != len(yf) || len(zt.Shape) < 2 || int(zt.Shape[1]) != M {
			return RecoverLayer{}, fmt.Errorf("outputs of shapes %v and %v", zt.Shape, yt.Shape)
		}
		batch := int(zt.Shape[0])
		per := len(zf) / (batch * M)
		for i := 0; i < batch; i++ {
			for c := 0; c < M; c++ {
				off := (i*M + c) * per
				zs, ys := zf[off:off+per], yf[off:off+per]
				var a [5]float64
				for j, zv := range zs {
					zz, yy := float64(zv), float64(ys[j]-bias[c])
					a[0] += zz
					a[1] += zz * zz
					a[2] += yy
					a[3] += yy * yy
					a[4] += zz * yy
				}
				for k := range a {
					st[c][k] += a[k]
				}
			}
		}
	}
	var cnt float64
	{
		total := 0
		for _, in := range feeds {
			for _, t := range in {
				total += int(t.Shape[0])
				break
			}
		}
		per := 1
		if len(zt.Shape) > 2 {
			for _, d := range zt.Shape[2:] {
				per *= int(d)
			}
		}
		cnt = float64(total * per)
	}
	l := RecoverLayer{Name: n.Name, Channels: M}
	per := len(w) / M
	nw := make([]float32, len(w))
	nb := make([]float32, M)
	var eb, ea, norm float64
	for c := 0; c < M; c++ {
		s := st[c]
		mz, my := s[0]/cnt, s[2]/cnt
		vz := s[1]/cnt - mz*mz
		cov := s[4]/cnt - mz*my
		rule := float64(tw.Scale[c])
		a := rule
		if vz > 1e-12*max(1, s[1]/cnt) {
			if fit := cov / vz; fit >= rule/4 && fit <= rule*4 {
				a = fit
				l.Fitted++
			}
		}
		l.ScaleRatio += a / rule
		a32 := float32(a)
		// Mean matching: E[a·z + b] equals the float model's mean.
		b := fmean[c]/fcount - float64(a32)*mz
		nb[c] = float32(b)
		for i := c * per; i < (c+1)*per; i++ {
			nw[i] = float32(tw.Codes[i]) * a32
		}
		// Errors against the float layer w·x (+ its bias) on these inputs.
		err := func(a, off float64) float64 {
			// Σ (a·z + off − y)² with y = t (bias removed) and off the bias change.
			return a*a*s[1] + s[3] + off*off*cnt - 2*a*s[4] + 2*a*off*s[0] - 2*off*s[2]
		}
		eb += max(0, err(rule, 0))
		ea += max(0, err(float64(a32), b-float64(bias[c])))
		norm += s[3]
	}
	if M > 0 {
		l.ScaleRatio /= float64(M)
	}
	if norm > 0 {
		l.ErrBefore, l.ErrAfter = math.Sqrt(eb/norm), math.Sqrt(ea/norm)
	}
	nwv, err := g.AddConst(wv.Name+"_recovered", tensor.FromFloat32(nw, shape...))
	if err != nil {
		return l, err
	}
	nbv, err := g.AddConst(n.Name+".bias_recovered", tensor.FromFloat32(nb, int64(M)))
	if err != nil {
		return l, err
	}
	n.SetInput(1, nwv)
	if len(n.Inputs) < 3 {
		n.SetInputs(n.Inputs[0], nwv, nbv)
	} else {
		n.SetInput(2, nbv)
	}
	return l, nil
}

// stackFeeds reads count samples of calib and stacks runs of up to batch
// of them along axis 0 when every input is a batch of one of the same
// shape as the run's first sample.
func stackFeeds(calib passes.CalibData, count, batch int) ([]map[string]*tensor.Tensor, error) {
	var out []map[string]*tensor.Tensor
	var run []map[string]*tensor.Tensor
	flush := func() {
		if len(run) == 0 {
			return
		}
		if len(run) == 1 {
			out = append(out, run[0])
			run = run[:0]
			return
		}
		st := map[string]*tensor.Tensor{}
		for name, t0 := range run[0] {
			shape := append([]int64{int64(len(run))}, t0.Shape[1:]...)
			var d []float32
			for _, s := range run {
				d = append(d, s[name].Data.([]float32)...)
			}
			st[name] = &tensor.Tensor{Type: tensor.Float, Shape: shape, Data: d}
		}
		out = append(out, st)
		run = run[:0]
	}
	// single reports whether s is a float batch of one; fits whether it
	// also matches the run's shapes.
	single := func(s map[string]*tensor.Tensor) bool {
		for _, t := range s {
			if _, ok := t.Data.([]float32); !ok || len(t.Shape) < 1 || t.Shape[0] != 1 {
				return false
			}
		}
		return len(s) > 0
	}
	fits := func(s map[string]*tensor.Tensor) bool {
		if len(run) == 0 {
			return true
		}
		if len(s) != len(run[0]) {
			return false
		}
		for name, t := range s {
			t0, ok := run[0][name]
			if !ok || !equalShape(t0.Shape, t.Shape) {
				return false
			}
		}
		return true
	}
	for i := 0; i < count; i++ {
		s, err := calib.Sample(i)
		if err != nil {
			return nil, fmt.Errorf("calibration sample %d: %w", i, err)
		}
		if !single(s) {
			flush()
			out = append(out, s)
			continue
		}
		if !fits(s) {
			flush()
		}
		run = append(run, s)
		if len(run) == batch {
			flush()
		}
	}
	flush()
	return out, nil
}

func equalShape(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// NewRecoverPass returns cheap recovery as a converter pass, to run after
// passes.SelectPointwise and before passes.Ternarize (which then takes the
// recovered weights over exactly). It recovers the convs the select pass
// chose, on the State's calibration data (required); o.Config is ignored
// in favour of the State's.
func NewRecoverPass(o RecoverOptions) *passes.Pass {
	return &passes.Pass{
		Name:     "recover",
		Doc:      "fit ternary scales by least squares and correct biases on calibration data (cheap recovery)",
		Requires: []string{"fold-bn", "select"},
		Run: func(s *passes.State) (passes.Result, error) {
			sel, ok := passes.Selected(s)
			if !ok {
				return passes.Result{}, fmt.Errorf("the select pass recorded no selection")
			}
			if s.Calib == nil {
				return passes.Result{}, fmt.Errorf("recovery needs calibration data")
			}
			ro := o
			ro.Config = s.Config
			layers, err := RecoverGraph(s.Model, sel, s.Calib, ro)
			if err != nil {
				return passes.Result{}, err
			}
			st := map[string]int{"convs": len(layers)}
			for _, l := range layers {
				st["channels"] += l.Channels
				st["fitted channels"] += l.Fitted
			}
			return passes.Result{Changed: len(layers), Stats: st}, nil
		},
	}
}
