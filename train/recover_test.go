package train

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/onnx-prom/onnx-prom/onnx/ir"
	"github.com/onnx-prom/onnx-prom/onnx/onnxpb"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
	"github.com/onnx-prom/onnx-prom/passes"
	"github.com/onnx-prom/onnx-prom/verify/interp"
)

// sliceCalib presents n samples of a Dataset as passes.CalibData.
type sliceCalib struct {
	ds    Dataset
	name  string
	shape []int64
	n     int
}

func (c *sliceCalib) Len() int { return c.n }

func (c *sliceCalib) Sample(i int) (map[string]*tensor.Tensor, error) {
	size := 1
	for _, d := range c.shape {
		size *= int(d)
	}
	x := make([]float32, size)
	if _, err := c.ds.Load(i, x); err != nil {
		return nil, err
	}
	return map[string]*tensor.Tensor{c.name: tensor.FromFloat32(x, append([]int64{1}, c.shape...)...)}, nil
}

// TestRecoverSingleLayer checks scale fitting and bias correction on one
// pointwise conv against a direct least-squares fit: per channel, a and b
// minimizing Σ (a·(codes·x) + b − y)² over the calibration outputs y of
// the float layer.
func TestRecoverSingleLayer(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const C, M, H, W = 6, 4, 3, 3
	w := rnd(r, M*C, 1)
	b := rnd(r, M, 1)
	mp := tmodel([]int{C, H, W}, []tnode{{"Conv", []string{"x", "w", "b"}, "y", nil}},
		[]tinit{{"w", []int64{M, C, 1, 1}, w}, {"b", []int64{M}, b}}, "y")
	const n = 40
	xs := &Slice{Size: C * H * W, X: make([]float32, n*C*H*W)}
	for i := range xs.X {
		xs.X[i] = float32(r.NormFloat64()) + 0.5
	}
	calib := &sliceCalib{ds: xs, name: "x", shape: []int64{C, H, W}, n: n}
	out, rep, err := Recover(mp, calib, RecoverOptions{Batch: 7})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep) != 1 || rep[0].Channels != M {
		t.Fatalf("report %+v", rep)
	}
	m, err := ir.FromProto(out)
	if err != nil {
		t.Fatal(err)
	}
	conv := m.Graph.Nodes()[0]
	gw, _, _ := floatData(conv.Input(1))
	gb, _, _ := floatData(conv.Input(2))
	tw := passes.TernarizeWeights(gw, []int64{M, C, 1, 1}, passes.RuleTWN)
	if tw.Exact != M {
		t.Fatalf("%d of %d channels exactly ternary", tw.Exact, M)
	}
	ref := passes.TernarizeWeights(w, []int64{M, C, 1, 1}, passes.RuleTWN)
	for m := 0; m < M; m++ {
		// Reference fit in float64.
		var sz, szz, sy, szy, cnt float64
		for i := 0; i < n; i++ {
			for p := 0; p < H*W; p++ {
				var z, y float64
				for c := 0; c < C; c++ {
					x := float64(xs.X[(i*C+c)*H*W+p])
					z += float64(ref.Codes[m*C+c]) * x
					y += float64(w[m*C+c]) * x
				}
				y += float64(b[m])
				sz += z
				szz += z * z
				sy += y
				szy += z * y
				cnt++
			}
		}
		a := (szy/cnt - sz/cnt*sy/cnt) / (szz/cnt - sz/cnt*sz/cnt)
		bb := sy/cnt - a*sz/cnt
		for c := 0; c < C; c++ {
			if tw.Codes[m*C+c] != ref.Codes[m*C+c] {
				t.Fatalf("channel %d: codes changed", m)
			}
		}
		if math.Abs(float64(tw.Scale[m])-a) > 1e-4*math.Abs(a) || math.Abs(float64(gb[m])-bb) > 1e-4*(1+math.Abs(bb)) {
			t.Errorf("channel %d: scale %g bias %g, least squares gives %g, %g", m, tw.Scale[m], gb[m], a, bb)
		}
	}
	if rep[0].ErrAfter >= rep[0].ErrBefore {
		t.Errorf("error %g after recovery, %g before", rep[0].ErrAfter, rep[0].ErrBefore)
	}
}

// TestRecoverMatchesChannelMeans checks bias correction through a deeper
// network: after recovery, each recovered conv's output has the float
// model's per-channel mean on the calibration data.
func TestRecoverMatchesChannelMeans(t *testing.T) {
	mp := smallNet(t, 3)
	randomizeBN(t, mp, 5)
	ds := SyntheticDigits(48, 4)
	calib := &sliceCalib{ds: ds, name: "input", shape: []int64{1, 28, 28}, n: 48}
	out, rep, err := Recover(mp, calib, RecoverOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep) != 3 {
		t.Fatalf("%d layers recovered, want 3", len(rep))
	}
	floatMeans := convMeans(t, mp, calib)
	recMeans := convMeans(t, out, calib)
	m, _ := ir.FromProto(out)
	for _, l := range rep {
		var node *ir.Node
		for _, n := range m.Graph.Nodes() {
			if n.Name == l.Name {
				node = n
			}
		}
		name := node.Output(0).Name
		fm, rm := floatMeans[name], recMeans[name]
		if fm == nil || rm == nil {
			t.Fatalf("no means for %s", name)
		}
		for c := range fm {
			if math.Abs(fm[c]-rm[c]) > 1e-3*(1+math.Abs(fm[c])) {
				t.Errorf("%s channel %d: mean %g after recovery, float %g", l.Name, c, rm[c], fm[c])
			}
		}
		w, shape, _ := floatData(node.Input(1))
		s64 := []int64{int64(shape[0]), int64(shape[1]), int64(shape[2]), int64(shape[3])}
		if tw := passes.TernarizeWeights(w, s64, passes.RuleTWN); tw.Exact != tw.Channels() {
			t.Errorf("%s: %d of %d channels exactly ternary", l.Name, tw.Exact, tw.Channels())
		}
		t.Logf("%s: %d/%d fitted, scale ratio %.3f, error %.3f -> %.3f", l.Name, l.Fitted, l.Channels, l.ScaleRatio, l.ErrBefore, l.ErrAfter)
	}
}

// convMeans runs mp (after folding BatchNormalization, as the converter
// does) and returns the per-channel means of every float value.
func convMeans(t *testing.T, mp *onnxpb.ModelProto, calib passes.CalibData) map[string][]float64 {
	t.Helper()
	m, _, err := prepare(mp, QAT, passes.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	prog, err := interp.Compile(m, interp.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	sums := map[string][]float64{}
	cnt := map[string]float64{}
	for i := 0; i < calib.Len(); i++ {
		in, _ := calib.Sample(i)
		if _, err := prog.RunWith(in, interp.RunOptions{Observe: func(name string, tt *tensor.Tensor) {
			s, c, err := channelSums(tt)
			if err != nil {
				return
			}
			if sums[name] == nil {
				sums[name] = make([]float64, len(s))
			}
			for k, v := range s {
				sums[name][k] += v
			}
			cnt[name] += c
		}}); err != nil {
			t.Fatal(err)
		}
	}
	for name, s := range sums {
		for k := range s {
			s[k] /= cnt[name]
		}
	}
	return sums
}

// TestRecoverPass runs recovery inside the converter's pipeline: the
// ternarize pass then finds every recovered channel exactly ternary.
func TestRecoverPass(t *testing.T) {
	mp := smallNet(t, 3)
	randomizeBN(t, mp, 5)
	ds := SyntheticDigits(32, 4)
	calib := &sliceCalib{ds: ds, name: "input", shape: []int64{1, 28, 28}, n: 32}
	var p passes.Pipeline
	for _, ps := range passes.Default() {
		p = append(p, ps)
		if ps.Name == "select" {
			p = append(p, NewRecoverPass(RecoverOptions{}))
		}
	}
	_, rep, err := passes.Convert(mp, passes.Options{Config: passes.DefaultConfig(), Calib: calib, Pipeline: p})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, l := range rep.Layers {
		if l.Bits == 2 {
			n++
			if l.ExactChannels != l.Channels {
				t.Errorf("%s: %d of %d channels exact", l.Name, l.ExactChannels, l.Channels)
			}
		}
	}
	if n != 3 {
		t.Errorf("%d ternary layers, want 3", n)
	}
	// Without calibration data the pass fails.
	if _, _, err := passes.Convert(mp, passes.Options{Config: passes.DefaultConfig(), Pipeline: p}); err == nil {
		t.Error("recovery without calibration data succeeded")
	}
}
