package models_test

import (
	"encoding/binary"
	"fmt"
	"math"
	"testing"

	"github.com/onnx-prom/onnx-prom/onnx/onnxpb"
)

// This file holds a minimal float32 reference interpreter for the operators
// the generator emits, plus a parameter and MAC counter. It exists only to
// check the generated models.

type tensor struct {
	shape []int
	data  []float32
}

func numel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

func initializers(t *testing.T, g *onnxpb.GraphProto) map[string]tensor {
	t.Helper()
	out := map[string]tensor{}
	for _, init := range g.GetInitializer() {
		if init.GetDataType() != int32(onnxpb.TensorProto_FLOAT) {
			t.Fatalf("initializer %s: data type %d", init.GetName(), init.GetDataType())
		}
		shape := make([]int, len(init.GetDims()))
		for i, d := range init.GetDims() {
			shape[i] = int(d)
		}
		raw := init.GetRawData()
		if len(raw) != 4*numel(shape) {
			t.Fatalf("initializer %s: %d raw bytes for shape %v", init.GetName(), len(raw), shape)
		}
		data := make([]float32, numel(shape))
		for i := range data {
			data[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
		out[init.GetName()] = tensor{shape, data}
	}
	return out
}

func attrMap(n *onnxpb.NodeProto) map[string]*onnxpb.AttributeProto {
	m := map[string]*onnxpb.AttributeProto{}
	for _, a := range n.GetAttribute() {
		m[a.GetName()] = a
	}
	return m
}

func attrInts(n *onnxpb.NodeProto, name string, def ...int64) []int64 {
	if a, ok := attrMap(n)[name]; ok {
		return a.GetInts()
	}
	return def
}

func attrInt(n *onnxpb.NodeProto, name string, def int64) int64 {
	if a, ok := attrMap(n)[name]; ok {
		return a.GetI()
	}
	return def
}

// modelStats are counts taken from a model by shape propagation at batch 1.
type modelStats struct {
	params     int64 // initializer elements except BN running stats and Clip bounds
	macs       int64 // conv: out elements * cin/group * kh * kw; Gemm: in * out
	ops        map[string]int
	depthwise  int // 3x3 convs with group == cin == cout
	pointwise  int // 1x1 convs with group 1
	shapes     map[string][]int
	outputSize []int
}

func analyze(t *testing.T, m *onnxpb.ModelProto) modelStats {
	t.Helper()
	g := m.GetGraph()
	inits := initializers(t, g)
	st := modelStats{ops: map[string]int{}, shapes: map[string][]int{}}
	in := g.GetInput()[0].GetType().GetTensorType().GetShape().GetDim()
	st.shapes[g.GetInput()[0].GetName()] = []int{1, int(in[1].GetDimValue()), int(in[2].GetDimValue()), int(in[3].GetDimValue())}
	notParams := map[string]bool{}
	for _, n := range g.GetNode() {
		st.ops[n.GetOpType()]++
		ins := n.GetInput()
		shapeOf := func(name string) []int {
			if s, ok := st.shapes[name]; ok {
				return s
			}
			if it, ok := inits[name]; ok {
				return it.shape
			}
			t.Fatalf("node %s: unknown input %s", n.GetName(), name)
			return nil
		}
		x := shapeOf(ins[0])
		var out []int
		switch n.GetOpType() {
		case "Conv":
			w := shapeOf(ins[1])
			k := attrInts(n, "kernel_shape")
			s := attrInts(n, "strides")
			p := attrInts(n, "pads")
			group := int(attrInt(n, "group", 1))
			if int(k[0]) != w[2] || int(k[1]) != w[3] || x[1]/group != w[1] {
				t.Fatalf("conv %s: input %v weight %v group %d kernel %v", n.GetName(), x, w, group, k)
			}
			ho := (x[2]+int(p[0]+p[2])-w[2])/int(s[0]) + 1
			wo := (x[3]+int(p[1]+p[3])-w[3])/int(s[1]) + 1
			out = []int{x[0], w[0], ho, wo}
			st.macs += int64(numel(out) * w[1] * w[2] * w[3])
			if w[2] == 3 && w[3] == 3 && group == x[1] && group == w[0] {
				st.depthwise++
			}
			if w[2] == 1 && w[3] == 1 && group == 1 {
				st.pointwise++
			}
		case "BatchNormalization":
			notParams[ins[3]], notParams[ins[4]] = true, true
			out = x
		case "Clip":
			notParams[ins[1]], notParams[ins[2]] = true, true
			out = x
		case "Add":
			if y := shapeOf(ins[1]); fmt.Sprint(x) != fmt.Sprint(y) {
				t.Fatalf("add %s: shapes %v %v", n.GetName(), x, y)
			}
			out = x
		case "GlobalAveragePool":
			out = []int{x[0], x[1], 1, 1}
		case "Flatten":
			out = []int{x[0], numel(x[1:])}
		case "Gemm":
			w := shapeOf(ins[1])
			if attrInt(n, "transB", 0) != 1 || w[1] != x[1] {
				t.Fatalf("gemm %s: input %v weight %v", n.GetName(), x, w)
			}
			out = []int{x[0], w[0]}
			st.macs += int64(x[0] * w[0] * w[1])
		default:
			t.Fatalf("unexpected op %s", n.GetOpType())
		}
		st.shapes[n.GetOutput()[0]] = out
	}
	for name, it := range inits {
		if !notParams[name] {
			st.params += int64(numel(it.shape))
		}
	}
	st.outputSize = st.shapes[g.GetOutput()[0].GetName()]
	return st
}

// run evaluates the model on input x ([batch, 3, H, W]) and calls visit with
// every node's output.
func run(t *testing.T, m *onnxpb.ModelProto, x tensor, visit func(n *onnxpb.NodeProto, out tensor)) tensor {
	t.Helper()
	g := m.GetGraph()
	vals := initializers(t, g)
	vals[g.GetInput()[0].GetName()] = x
	for _, n := range g.GetNode() {
		ins := make([]tensor, len(n.GetInput()))
		for i, name := range n.GetInput() {
			v, ok := vals[name]
			if !ok {
				t.Fatalf("node %s: undefined input %s", n.GetName(), name)
			}
			ins[i] = v
		}
		var out tensor
		switch n.GetOpType() {
		case "Conv":
			var bias []float32
			if len(ins) > 2 {
				bias = ins[2].data
			}
			p := attrInts(n, "pads")
			out = conv(ins[0], ins[1], bias, int(attrInt(n, "group", 1)), int(attrInts(n, "strides")[0]), int(p[0]))
		case "BatchNormalization":
			eps := float64(attrMap(n)["epsilon"].GetF())
			out = perChannel(ins[0], func(c int, v float32) float32 {
				s := float64(ins[1].data[c]) / math.Sqrt(float64(ins[4].data[c])+eps)
				return float32(float64(v-ins[3].data[c])*s + float64(ins[2].data[c]))
			})
		case "Clip":
			lo, hi := ins[1].data[0], ins[2].data[0]
			out = perChannel(ins[0], func(_ int, v float32) float32 { return min(max(v, lo), hi) })
		case "Add":
			out = tensor{ins[0].shape, make([]float32, len(ins[0].data))}
			for i := range out.data {
				out.data[i] = ins[0].data[i] + ins[1].data[i]
			}
		case "GlobalAveragePool":
			s := ins[0].shape
			plane := s[2] * s[3]
			out = tensor{[]int{s[0], s[1], 1, 1}, make([]float32, s[0]*s[1])}
			for i := range out.data {
				var sum float64
				for _, v := range ins[0].data[i*plane : (i+1)*plane] {
					sum += float64(v)
				}
				out.data[i] = float32(sum / float64(plane))
			}
		case "Flatten":
			out = tensor{[]int{ins[0].shape[0], numel(ins[0].shape[1:])}, ins[0].data}
		case "Gemm":
			a, w, b := ins[0], ins[1], ins[2]
			batch, k, classes := a.shape[0], a.shape[1], w.shape[0]
			out = tensor{[]int{batch, classes}, make([]float32, batch*classes)}
			for i := range batch {
				for j := range classes {
					sum := float64(b.data[j])
					for l := range k {
						sum += float64(a.data[i*k+l]) * float64(w.data[j*k+l])
					}
					out.data[i*classes+j] = float32(sum)
				}
			}
		default:
			t.Fatalf("unexpected op %s", n.GetOpType())
		}
		vals[n.GetOutput()[0]] = out
		if visit != nil {
			visit(n, out)
		}
	}
	return vals[g.GetOutput()[0].GetName()]
}

func perChannel(x tensor, f func(c int, v float32) float32) tensor {
	out := tensor{x.shape, make([]float32, len(x.data))}
	c, plane := x.shape[1], numel(x.shape[2:])
	for i, v := range x.data {
		out.data[i] = f(i/plane%c, v)
	}
	return out
}

// conv is a direct NCHW convolution with square kernel, stride and padding.
func conv(x, w tensor, bias []float32, group, stride, pad int) tensor {
	n, cin, h, wd := x.shape[0], x.shape[1], x.shape[2], x.shape[3]
	cout, cinG, k := w.shape[0], w.shape[1], w.shape[2]
	ho := (h+2*pad-k)/stride + 1
	wo := (wd+2*pad-k)/stride + 1
	out := tensor{[]int{n, cout, ho, wo}, make([]float32, n*cout*ho*wo)}
	perGroup := cout / group
	for b := range n {
		for co := range cout {
			o := out.data[(b*cout+co)*ho*wo : (b*cout+co+1)*ho*wo]
			if bias != nil {
				for i := range o {
					o[i] = bias[co]
				}
			}
			g := co / perGroup
			for ci := range cinG {
				src := x.data[(b*cin+g*cinG+ci)*h*wd : (b*cin+g*cinG+ci+1)*h*wd]
				for kh := range k {
					for kw := range k {
						wv := w.data[((co*cinG+ci)*k+kh)*k+kw]
						// ow range with 0 <= ow*stride-pad+kw < wd
						lo := 0
						for lo < wo && lo*stride-pad+kw < 0 {
							lo++
						}
						hi := wo
						for hi > lo && (hi-1)*stride-pad+kw >= wd {
							hi--
						}
						for oh := range ho {
							ih := oh*stride - pad + kh
							if ih < 0 || ih >= h {
								continue
							}
							row := src[ih*wd:]
							dst := o[oh*wo:]
							for ow := lo; ow < hi; ow++ {
								dst[ow] += wv * row[ow*stride-pad+kw]
							}
						}
					}
				}
			}
		}
	}
	return out
}
