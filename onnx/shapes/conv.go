package shapes

import (
	"fmt"

	"github.com/onnx-prom/onnx-prom/onnx/ir"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
)

// window holds the sliding-window attributes of a convolution or pooling
// node, validated for nsp spatial axes. A nil kernel means unknown.
type window struct {
	kernel, strides, dilations, pads []int64
	autoPad                          string
	ceil                             bool
}

func spatialAttr(n *ir.Node, name string, nsp int, def int64, min int64) ([]int64, error) {
	v, err := n.AttrInts(name, nil)
	if err != nil {
		return nil, err
	}
	if v == nil {
		v = make([]int64, nsp)
		for i := range v {
			v[i] = def
		}
		return v, nil
	}
	if len(v) != nsp {
		return nil, fmt.Errorf("attribute %s %v has %d values for %d spatial axes", name, v, len(v), nsp)
	}
	for _, x := range v {
		if x < min || x > maxDim {
			return nil, fmt.Errorf("attribute %s %v: value %d is out of range", name, v, x)
		}
	}
	return v, nil
}

// readWindow reads kernel_shape (or kernel, the weight's spatial dims),
// strides, dilations, pads and auto_pad.
func readWindow(n *ir.Node, nsp int, kernel []int64, dilations bool) (*window, error) {
	w := &window{kernel: kernel}
	if n.HasAttr("kernel_shape") {
		ks, err := spatialAttr(n, "kernel_shape", nsp, 1, 1)
		if err != nil {
			return nil, err
		}
		if kernel != nil {
			for i := range ks {
				if ks[i] != kernel[i] {
					return nil, fmt.Errorf("kernel_shape %v does not match the weight's spatial dims %v", ks, kernel)
				}
			}
		}
		w.kernel = ks
	}
	var err error
	if w.strides, err = spatialAttr(n, "strides", nsp, 1, 1); err != nil {
		return nil, err
	}
	if dilations {
		if w.dilations, err = spatialAttr(n, "dilations", nsp, 1, 1); err != nil {
			return nil, err
		}
	} else {
		w.dilations = spatialAttr1(nsp)
	}
	if w.pads, err = spatialAttr(n, "pads", 2*nsp, 0, 0); err != nil {
		return nil, err
	}
	if w.autoPad, err = n.AttrString("auto_pad", "NOTSET"); err != nil {
		return nil, err
	}
	switch w.autoPad {
	case "NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER":
	case "":
		w.autoPad = "NOTSET"
	default:
		return nil, fmt.Errorf("unknown auto_pad %q", w.autoPad)
	}
	return w, nil
}

func spatialAttr1(nsp int) []int64 {
	v := make([]int64, nsp)
	for i := range v {
		v[i] = 1
	}
	return v
}

// outDim computes the output size of spatial axis i for input size in.
func (w *window) outDim(i int, in ir.Dim) (ir.Dim, error) {
	if w.kernel == nil {
		return ir.UnknownDim, nil
	}
	nsp := len(w.strides)
	k, s, d := w.kernel[i], w.strides[i], w.dilations[i]
	pb, pe := w.pads[i], w.pads[i+nsp]
	if w.autoPad != "NOTSET" {
		pb, pe = 0, 0
	}
	ek := d*(k-1) + 1 // effective kernel size
	if d > 1 && (k-1) > maxDim/d {
		return ir.UnknownDim, fmt.Errorf("dilated kernel size overflows")
	}
	if !in.Known() {
		// A stride-1 window that pads exactly what it takes keeps the size.
		same := s == 1 && (w.autoPad == "SAME_UPPER" || w.autoPad == "SAME_LOWER" ||
			w.autoPad == "NOTSET" && pb+pe == ek-1 || w.autoPad == "VALID" && ek == 1)
		if same && in.Param != "" {
			return in, nil
		}
		return ir.UnknownDim, nil
	}
	x := in.Value
	switch w.autoPad {
	case "SAME_UPPER", "SAME_LOWER":
		return ir.D((x + s - 1) / s), nil
	}
	total := x + pb + pe
	if total < ek {
		return ir.UnknownDim, fmt.Errorf("kernel %d (dilated %d) is larger than the padded input %d on spatial axis %d", k, ek, total, i)
	}
	if !w.ceil || w.autoPad == "VALID" {
		return ir.D((total-ek)/s + 1), nil
	}
	out := (total-ek+s-1)/s + 1
	// The last window must start inside the input or the left padding.
	if (out-1)*s >= x+pb {
		out--
	}
	return ir.D(out), nil
}

// convShape infers a convolution's output shape from input xi, weight wi and
// optional bias bi (-1 for none).
func convShape(s *state, n *ir.Node, xi, wi, bi int) (ir.Shape, error) {
	x, w := s.inShape(n, xi), s.inShape(n, wi)
	group, err := n.AttrInt("group", 1)
	if err != nil {
		return nil, err
	}
	if group < 1 || group > maxDim {
		return nil, fmt.Errorf("group %d is out of range", group)
	}
	rank := -1
	switch {
	case x != nil && w != nil:
		if len(x) != len(w) {
			return nil, fmt.Errorf("input %v has rank %d but weight %v has rank %d", x, len(x), w, len(w))
		}
		rank = len(x)
	case x != nil:
		rank = len(x)
	case w != nil:
		rank = len(w)
	default:
		return nil, nil
	}
	if rank < 3 {
		return nil, fmt.Errorf("convolution needs rank >= 3 tensors, got %d", rank)
	}
	nsp := rank - 2
	var kernel []int64
	if w != nil {
		if ks, ok := w[2:].Ints(); ok {
			kernel = ks
		}
	}
	win, err := readWindow(n, nsp, kernel, true)
	if err != nil {
		return nil, err
	}
	out := unknownShape(rank)
	if x != nil {
		out[0] = x[0]
	}
	if w != nil {
		out[1] = w[0]
		if w[0].Known() && w[0].Value%group != 0 {
			return nil, fmt.Errorf("weight has %d output channels, not a multiple of group %d", w[0].Value, group)
		}
		if x != nil && x[1].Known() && w[1].Known() && x[1].Value != w[1].Value*group {
			return nil, fmt.Errorf("input has %d channels but weight %v with group %d expects %d", x[1].Value, w, group, w[1].Value*group)
		}
	} else if x != nil && x[1].Known() && x[1].Value%group != 0 {
		return nil, fmt.Errorf("input has %d channels, not a multiple of group %d", x[1].Value, group)
	}
	if bi >= 0 {
		if b := s.inShape(n, bi); b != nil {
			if len(b) != 1 {
				return nil, fmt.Errorf("bias %v is not 1-D", b)
			}
			if b[0].Known() && out[1].Known() && b[0].Value != out[1].Value {
				return nil, fmt.Errorf("bias has %d elements for %d output channels", b[0].Value, out[1].Value)
			}
			if !out[1].Known() {
				out[1] = b[0]
			}
		}
	}
	if x != nil {
		for i := 0; i < nsp; i++ {
			if out[2+i], err = win.outDim(i, x[2+i]); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

func opConv(s *state, n *ir.Node) ([]result, error) {
	shape, err := convShape(s, n, 0, 1, 2)
	if err != nil {
		return nil, err
	}
	return one(firstType(s.inType(n, 0), s.inType(n, 1)), shape), nil
}

func opConvInteger(s *state, n *ir.Node) ([]result, error) {
	shape, err := convShape(s, n, 0, 1, -1)
	if err != nil {
		return nil, err
	}
	return one(tensor.Int32, shape), nil
}

func opQLinearConv(s *state, n *ir.Node) ([]result, error) {
	shape, err := convShape(s, n, 0, 3, 8)
	if err != nil {
		return nil, err
	}
	return one(firstType(s.inType(n, 7), s.inType(n, 0)), shape), nil
}

// ternaryDomain is the domain of onnx-prom's TernaryConv (docs/ternaryconv.md).
const ternaryDomain = "dev.onnxprom"

// opTernaryConv: inputs x, x_scale, x_zero_point, w (INT2), w_scale,
// y_scale, y_zero_point, B; the output has y_zero_point's type.
func opTernaryConv(s *state, n *ir.Node) ([]result, error) {
	shape, err := convShape(s, n, 0, 3, 7)
	if err != nil {
		return nil, err
	}
	return one(s.inType(n, 6), shape), nil
}

func opConvTranspose(s *state, n *ir.Node) ([]result, error) {
	x, w := s.inShape(n, 0), s.inShape(n, 1)
	dt := firstType(s.inType(n, 0), s.inType(n, 1))
	group, err := n.AttrInt("group", 1)
	if err != nil {
		return nil, err
	}
	if group < 1 || group > maxDim {
		return nil, fmt.Errorf("group %d is out of range", group)
	}
	if x == nil || w == nil {
		return one(dt, nil), nil
	}
	if len(x) != len(w) {
		return nil, fmt.Errorf("input %v has rank %d but weight %v has rank %d", x, len(x), w, len(w))
	}
	rank := len(x)
	if rank < 3 {
		return nil, fmt.Errorf("convolution needs rank >= 3 tensors, got %d", rank)
	}
	nsp := rank - 2
	kernel, _ := w[2:].Ints()
	win, err := readWindow(n, nsp, kernel, true)
	if err != nil {
		return nil, err
	}
	outPad, err := spatialAttr(n, "output_padding", nsp, 0, 0)
	if err != nil {
		return nil, err
	}
	out := unknownShape(rank)
	out[0] = x[0]
	if x[1].Known() && w[0].Known() && x[1].Value != w[0].Value {
		return nil, fmt.Errorf("input has %d channels but weight %v expects %d", x[1].Value, w, w[0].Value)
	}
	if w[1].Known() {
		m, err := mulChecked(w[1].Value, group)
		if err != nil {
			return nil, err
		}
		out[1] = ir.D(m)
	}
	if b := s.inShape(n, 2); b != nil && (len(b) != 1 || b[0].Known() && out[1].Known() && b[0].Value != out[1].Value) {
		return nil, fmt.Errorf("bias %v does not match %v output channels", b, out[1])
	}
	if os, err := n.AttrInts("output_shape", nil); err != nil {
		return nil, err
	} else if os != nil {
		if len(os) == rank {
			os = os[2:]
		}
		if len(os) != nsp {
			return nil, fmt.Errorf("output_shape %v does not fit %d spatial axes", os, nsp)
		}
		for i, d := range os {
			if err := checkDim(d, "output_shape value"); err != nil {
				return nil, err
			}
			out[2+i] = ir.D(d)
		}
		return one(dt, out), nil
	}
	if win.kernel == nil {
		return one(dt, out), nil
	}
	for i := 0; i < nsp; i++ {
		in := x[2+i]
		k, st, d := win.kernel[i], win.strides[i], win.dilations[i]
		pb, pe := win.pads[i], win.pads[i+nsp]
		ek := d*(k-1) + 1
		if !in.Known() {
			if in.Param != "" && st == 1 && outPad[i] == 0 &&
				(win.autoPad == "SAME_UPPER" || win.autoPad == "SAME_LOWER" || win.autoPad == "NOTSET" && pb+pe == ek-1) {
				out[2+i] = in
			}
			continue
		}
		var o int64
		switch win.autoPad {
		case "SAME_UPPER", "SAME_LOWER":
			o = in.Value * st
		case "VALID":
			o = st*(in.Value-1) + outPad[i] + ek
		default:
			o = st*(in.Value-1) + outPad[i] + ek - pb - pe
		}
		if o < 0 || in.Value > maxDim/st {
			return nil, fmt.Errorf("output size %d on spatial axis %d is out of range", o, i)
		}
		out[2+i] = ir.D(o)
	}
	return one(dt, out), nil
}

// poolShape infers the output of AveragePool, MaxPool and LpPool.
func poolShape(s *state, n *ir.Node, dilations bool) (ir.Shape, error) {
	x := s.inShape(n, 0)
	ks, err := n.AttrInts("kernel_shape", nil)
	if err != nil {
		return nil, err
	}
	if ks == nil {
		return nil, fmt.Errorf("attribute kernel_shape is missing")
	}
	if x == nil {
		return nil, nil
	}
	if len(x) < 3 || len(ks) != len(x)-2 {
		return nil, fmt.Errorf("kernel_shape %v does not fit input %v", ks, x)
	}
	win, err := readWindow(n, len(ks), nil, dilations)
	if err != nil {
		return nil, err
	}
	c, err := n.AttrInt("ceil_mode", 0)
	if err != nil {
		return nil, err
	}
	win.ceil = c != 0
	out := cloneShape(x)
	for i := range ks {
		if out[2+i], err = win.outDim(i, x[2+i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func opMaxPool(s *state, n *ir.Node) ([]result, error) {
	shape, err := poolShape(s, n, s.opset >= 10)
	if err != nil {
		return nil, err
	}
	return []result{{s.inType(n, 0), shape}, {tensor.Int64, shape}}, nil
}

func opAveragePool(s *state, n *ir.Node) ([]result, error) {
	shape, err := poolShape(s, n, s.opset >= 19)
	if err != nil {
		return nil, err
	}
	return one(s.inType(n, 0), shape), nil
}

func opLpPool(s *state, n *ir.Node) ([]result, error) {
	shape, err := poolShape(s, n, s.opset >= 18)
	if err != nil {
		return nil, err
	}
	return one(s.inType(n, 0), shape), nil
}

func opGlobalPool(s *state, n *ir.Node) ([]result, error) {
	x := s.inShape(n, 0)
	if x == nil {
		return one(s.inType(n, 0), nil), nil
	}
	if len(x) < 2 {
		return nil, fmt.Errorf("input %v has rank < 2", x)
	}
	out := cloneShape(x)
	for i := 2; i < len(out); i++ {
		out[i] = ir.D(1)
	}
	return one(s.inType(n, 0), out), nil
}

// firstType returns the first defined type.
func firstType(ts ...tensor.DataType) tensor.DataType {
	for _, t := range ts {
		if t != tensor.Undefined {
			return t
		}
	}
	return tensor.Undefined
}
