// Package testmodels builds the models and data sets that onnx-prom's
// verification tests use: a MobileNetV2 test model turned into a PROM
// QAT-style export (exactly ternary pointwise weights, other weights on the
// int8 grid) with a classifier fitted to a labelled synthetic data set.
//
// The generated MobileNetV2 test models have random weights, and random
// inputs give them near-tied logits, so that any perturbation flips their
// top-1 class: their top-1 agreement says more about the model than about
// a conversion. ClassImages and CentroidHead give a model and data with
// class structure (a trained model's property) and real labels, the
// sample's class, that do not come from any model.
package testmodels

import (
	"fmt"
	"math"

	"github.com/onnx-prom/onnx-prom/onnx/ir"
	"github.com/onnx-prom/onnx-prom/onnx/onnxpb"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
	"github.com/onnx-prom/onnx-prom/passes"
	"github.com/onnx-prom/onnx-prom/testdata/models"
	"github.com/onnx-prom/onnx-prom/verify/data"
	"github.com/onnx-prom/onnx-prom/verify/interp"
	"google.golang.org/protobuf/proto"
)

// Images is an in-memory labelled data set of [3, Res, Res] images; it
// implements data.Source.
type Images struct {
	X      [][]float32
	Res    int
	Labels []int // nil: unlabelled
}

// Len is the number of samples.
func (s *Images) Len() int { return len(s.X) }

// Sample returns sample i.
func (s *Images) Sample(i int) (data.Sample, error) {
	if i < 0 || i >= len(s.X) {
		return data.Sample{}, fmt.Errorf("sample %d out of range", i)
	}
	label := -1
	if s.Labels != nil {
		label = s.Labels[i]
	}
	return data.Sample{Name: fmt.Sprint(i), Input: tensor.FromFloat32(s.X[i], 3, int64(s.Res), int64(s.Res)), Label: label}, nil
}

// Calib adapts the images to passes.CalibData for the models' input.
func (s *Images) Calib() passes.CalibData { return calib{s} }

type calib struct{ s *Images }

func (c calib) Len() int { return c.s.Len() }

func (c calib) Sample(i int) (map[string]*tensor.Tensor, error) {
	x := tensor.FromFloat32(c.s.X[i], 1, 3, int64(c.s.Res), int64(c.s.Res))
	return map[string]*tensor.Tensor{models.InputName: x}, nil
}

// Batch returns the images as one [N, 3, Res, Res] tensor.
func (s *Images) Batch() *tensor.Tensor {
	per := 3 * s.Res * s.Res
	all := make([]float32, 0, len(s.X)*per)
	for _, x := range s.X {
		all = append(all, x...)
	}
	return tensor.FromFloat32(all, int64(len(s.X)), 3, int64(s.Res), int64(s.Res))
}

// ClassImages returns n labelled images with class structure: sample i has
// class i mod classes and is a·P[class] + b·N[i], where the class
// prototypes P and the per-sample fields N are image-like inputs
// (models.CalibrationSamples) drawn from protoSeed and noiseSeed.
func ClassImages(protoSeed, noiseSeed int64, n, classes, res int, a, b float32) *Images {
	protos := models.CalibrationSamples(protoSeed, classes, res)
	noise := models.CalibrationSamples(noiseSeed, n, res)
	s := &Images{Res: res, X: make([][]float32, n), Labels: make([]int, n)}
	for i := range n {
		c := i % classes
		x := make([]float32, len(noise[i]))
		for j := range x {
			x[j] = a*protos[c][j] + b*noise[i][j]
		}
		s.X[i], s.Labels[i] = x, c
	}
	return s
}

// QATStyle returns a copy of a float model (batch normalization folded)
// whose weights look like a PROM QAT export: every 1x1 group-1 Conv has
// exactly ternary weights per output channel (TWN: threshold 0.7·mean|w|,
// scale the mean |w| above it), every other Conv and every Gemm weights on
// a symmetric per-output-channel int8 grid whose largest code is 127.
func QATStyle(mp *onnxpb.ModelProto) (*onnxpb.ModelProto, error) {
	out := proto.Clone(mp).(*onnxpb.ModelProto)
	inits := map[string]int{}
	for i, tp := range out.Graph.Initializer {
		inits[tp.GetName()] = i
	}
	for _, n := range out.Graph.Node {
		if n.GetOpType() != "Conv" && n.GetOpType() != "Gemm" {
			continue
		}
		idx, ok := inits[n.Input[1]]
		if !ok {
			return nil, fmt.Errorf("%s: weight %s is not an initializer", n.GetName(), n.Input[1])
		}
		w, err := tensor.FromProto(out.Graph.Initializer[idx])
		if err != nil {
			return nil, err
		}
		f, ok := w.Data.([]float32)
		if !ok || len(w.Shape) < 2 {
			return nil, fmt.Errorf("%s: weight %s is not float32 of rank >= 2", n.GetName(), n.Input[1])
		}
		m := int(w.Shape[0])
		per := len(f) / m
		pointwise := n.GetOpType() == "Conv" && len(w.Shape) == 4 && w.Shape[2] == 1 && w.Shape[3] == 1 && group(n) == 1
		for o := range m {
			if pointwise {
				TWN(f[o*per : (o+1)*per])
			} else {
				Int8Grid(f[o*per : (o+1)*per])
			}
		}
		tp, err := tensor.ToProto(w, n.Input[1])
		if err != nil {
			return nil, err
		}
		out.Graph.Initializer[idx] = tp
	}
	return out, nil
}

func group(n *onnxpb.NodeProto) int64 {
	for _, a := range n.Attribute {
		if a.GetName() == "group" {
			return a.GetI()
		}
	}
	return 1
}

// TWN replaces one channel's weights by their TWN ternary form in place.
func TWN(ch []float32) {
	var mean float64
	for _, v := range ch {
		mean += math.Abs(float64(v))
	}
	mean /= float64(len(ch))
	thr := 0.7 * mean
	var sum float64
	var cnt int
	for _, v := range ch {
		if math.Abs(float64(v)) > thr {
			sum += math.Abs(float64(v))
			cnt++
		}
	}
	a := float32(1)
	if cnt > 0 {
		a = float32(sum / float64(cnt))
	}
	for i, v := range ch {
		switch {
		case math.Abs(float64(v)) <= thr:
			ch[i] = 0
		case v > 0:
			ch[i] = a
		default:
			ch[i] = -a
		}
	}
}

// Int8Grid rounds one channel's weights to the symmetric int8 grid with
// step max|w|/127, in place.
func Int8Grid(ch []float32) {
	var amax float64
	for _, v := range ch {
		amax = max(amax, math.Abs(float64(v)))
	}
	if amax == 0 {
		return
	}
	s := float32(amax / 127)
	for i, v := range ch {
		ch[i] = float32(math.RoundToEven(float64(v/s))) * s
	}
}

// Features runs mp on every sample and returns the value "flatten_output"
// (the pooled features of the MobileNetV2 test models).
func Features(mp *onnxpb.ModelProto, src *Images) ([][]float64, error) {
	m, err := ir.FromProto(mp)
	if err != nil {
		return nil, err
	}
	prog, err := interp.Compile(m, interp.Options{})
	if err != nil {
		return nil, err
	}
	var feats [][]float64
	for i := range src.Len() {
		x := tensor.FromFloat32(src.X[i], 1, 3, int64(src.Res), int64(src.Res))
		_, err := prog.RunWith(map[string]*tensor.Tensor{models.InputName: x}, interp.RunOptions{Observe: func(name string, v *tensor.Tensor) {
			if name == "flatten_output" {
				f, _ := v.Float64s()
				feats = append(feats, f)
			}
		}})
		if err != nil {
			return nil, err
		}
	}
	if len(feats) != src.Len() {
		return nil, fmt.Errorf("observed %d feature vectors for %d samples", len(feats), src.Len())
	}
	return feats, nil
}

// CentroidHead replaces the classifier of a MobileNetV2 test model (Gemm
// "classifier.1", weight [classes, D] with transB=1) by a nearest-centroid
// classifier fitted on the labelled samples of train: logit c is
// f·μc - |μc|²/2 with μc the mean feature of class c.
func CentroidHead(mp *onnxpb.ModelProto, train *Images) (*onnxpb.ModelProto, error) {
	if train.Labels == nil {
		return nil, fmt.Errorf("centroid head: the training images have no labels")
	}
	feats, err := Features(mp, train)
	if err != nil {
		return nil, err
	}
	out := proto.Clone(mp).(*onnxpb.ModelProto)
	var wp, bp *onnxpb.TensorProto
	for _, tp := range out.Graph.Initializer {
		switch tp.GetName() {
		case "classifier.1.weight":
			wp = tp
		case "classifier.1.bias":
			bp = tp
		}
	}
	d := len(feats[0])
	if wp == nil || bp == nil || len(wp.Dims) != 2 || int(wp.Dims[1]) != d {
		return nil, fmt.Errorf("centroid head: classifier weight %v, bias %v: want [classes, %d]", wp.GetDims(), bp.GetDims(), d)
	}
	k := int(wp.Dims[0])
	mu := make([][]float64, k)
	cnt := make([]int, k)
	for i := range mu {
		mu[i] = make([]float64, d)
	}
	for i, f := range feats {
		c := train.Labels[i]
		if c < 0 || c >= k {
			return nil, fmt.Errorf("centroid head: label %d out of range [0, %d)", c, k)
		}
		cnt[c]++
		for j, v := range f {
			mu[c][j] += v
		}
	}
	w := make([]float32, k*d)
	b := make([]float32, k)
	for c := range k {
		var sq float64
		for j := range d {
			mu[c][j] /= float64(max(cnt[c], 1))
			w[c*d+j] = float32(mu[c][j])
			sq += mu[c][j] * mu[c][j]
		}
		b[c] = float32(-sq / 2)
	}
	nw, err := tensor.ToProto(tensor.FromFloat32(w, int64(k), int64(d)), wp.GetName())
	if err != nil {
		return nil, err
	}
	nb, err := tensor.ToProto(tensor.FromFloat32(b, int64(k)), bp.GetName())
	if err != nil {
		return nil, err
	}
	proto.Reset(wp)
	proto.Merge(wp, nw)
	proto.Reset(bp)
	proto.Merge(bp, nb)
	return out, nil
}

// Noise is the per-sample field weight of the acceptance data sets: at
// a = 1, b = 0.3 the reference tiny model classifies about 99% of the
// samples right.
const Noise = 0.3

// Acceptance builds the acceptance setup on the folded tiny (or small)
// test model: the reference is the QAT-style export with a centroid head
// fitted on 200 labelled images; the candidate is its conversion with cfg
// (passes.DefaultConfig() for the acceptance tests), calibrated on 64 more
// images; eval holds n fresh labelled images of the same distribution.
func Acceptance(folded *onnxpb.ModelProto, res, n int, cfg passes.Config) (ref, cand *onnxpb.ModelProto, eval *Images, err error) {
	body, err := QATStyle(folded)
	if err != nil {
		return nil, nil, nil, err
	}
	headed, err := CentroidHead(body, ClassImages(11, 12, 200, 10, res, 1, Noise))
	if err != nil {
		return nil, nil, nil, err
	}
	if ref, err = QATStyle(headed); err != nil {
		return nil, nil, nil, err
	}
	cand, _, err = passes.Convert(ref, passes.Options{Config: cfg, Calib: ClassImages(11, 13, 64, 10, res, 1, Noise).Calib()})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("convert: %w", err)
	}
	return ref, cand, ClassImages(11, 14, n, 10, res, 1, Noise), nil
}

// Damage returns a copy of a converted model in which the node called
// name reads input idx (a scale) multiplied by factor, through a new
// initializer, so that no other node is affected.
func Damage(mp *onnxpb.ModelProto, name string, idx int, factor float32) (*onnxpb.ModelProto, error) {
	out := proto.Clone(mp).(*onnxpb.ModelProto)
	for _, n := range out.Graph.Node {
		if n.GetName() != name {
			continue
		}
		if idx >= len(n.Input) {
			return nil, fmt.Errorf("node %s has %d inputs", name, len(n.Input))
		}
		for _, tp := range out.Graph.Initializer {
			if tp.GetName() != n.Input[idx] {
				continue
			}
			t, err := tensor.FromProto(tp)
			if err != nil {
				return nil, err
			}
			f, ok := t.Data.([]float32)
			if !ok {
				return nil, fmt.Errorf("input %d of %s is not float32", idx, name)
			}
			g := make([]float32, len(f))
			for i, v := range f {
				g[i] = v * factor
			}
			newName := n.Input[idx] + "_damaged"
			np, err := tensor.ToProto(tensor.FromFloat32(g, t.Shape...), newName)
			if err != nil {
				return nil, err
			}
			out.Graph.Initializer = append(out.Graph.Initializer, np)
			n.Input[idx] = newName
			return out, nil
		}
		return nil, fmt.Errorf("input %d of %s is not an initializer", idx, name)
	}
	return nil, fmt.Errorf("no node %s", name)
}
