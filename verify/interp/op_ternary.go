package interp

import (
	"fmt"
	"math"

	"github.com/onnx-prom/onnx-prom/onnx/tensor"
)

// TernaryDomain is the operator domain of onnx-prom's own ops.
const TernaryDomain = "dev.onnxprom"

// The native, multiplication-free kernel of TernaryConv (docs/ternaryconv.md).
func init() { Register(TernaryDomain, "TernaryConv", buildTernaryConv) }

// ternaryWeights is the decoded weight of a TernaryConv: for each output
// channel, the flattened (channel, kernel position) offsets whose code is +1
// and those whose code is -1.
type ternaryWeights struct {
	m, cg  int
	kernel []int64 // K1..Kk
	plus   [][]int32
	minus  [][]int32
	sum    []int32 // Σ codes per output channel
}

func decodeTernary(w *tensor.Tensor) (*ternaryWeights, error) {
	if w.Type != tensor.Int2 {
		return nil, fmt.Errorf("weight w is %s, want INT2", tensor.Name(w.Type))
	}
	if len(w.Shape) < 3 {
		return nil, fmt.Errorf("weight w has shape %v, want [M, C/group, K1, ...]", w.Shape)
	}
	codes := w.Data.([]int8)
	tw := &ternaryWeights{m: int(w.Shape[0]), cg: int(w.Shape[1]), kernel: w.Shape[2:]}
	per := len(codes) / max(tw.m, 1)
	if per > 8388607 {
		return nil, fmt.Errorf("weight w has %d taps per output channel, over the 8,388,607 that keep the int32 accumulator exact", per)
	}
	tw.plus = make([][]int32, tw.m)
	tw.minus = make([][]int32, tw.m)
	tw.sum = make([]int32, tw.m)
	for m := 0; m < tw.m; m++ {
		for j, c := range codes[m*per : (m+1)*per] {
			switch c {
			case 1:
				tw.plus[m] = append(tw.plus[m], int32(j))
				tw.sum[m]++
			case -1:
				tw.minus[m] = append(tw.minus[m], int32(j))
				tw.sum[m]--
			case 0:
			default:
				return nil, fmt.Errorf("weight w holds code %d at output channel %d; only -1, 0 and +1 are valid", c, m)
			}
		}
	}
	return tw, nil
}

type ternaryConv struct {
	group                  int
	strides, pads, dilates []int64 // nil: defaults for the input's rank
	w                      *ternaryWeights
}

func buildTernaryConv(n *Node) (Kernel, error) {
	if len(n.Inputs) != 8 {
		return nil, n.Errorf("TernaryConv takes 8 inputs, got %d", len(n.Inputs))
	}
	for i, v := range n.Inputs {
		if v == nil {
			return nil, n.Errorf("input %d is required", i)
		}
	}
	k := &ternaryConv{}
	g, err := n.AttrInt("group", 1)
	if err != nil {
		return nil, err
	}
	if g < 1 {
		return nil, n.Errorf("group %d must be at least 1", g)
	}
	k.group = int(g)
	if k.strides, err = n.AttrInts("strides", nil); err != nil {
		return nil, err
	}
	if k.pads, err = n.AttrInts("pads", nil); err != nil {
		return nil, err
	}
	if k.dilates, err = n.AttrInts("dilations", nil); err != nil {
		return nil, err
	}
	if n.HasAttr("auto_pad") {
		return nil, n.Errorf("TernaryConv has no auto_pad attribute; pads are explicit")
	}
	if w := n.Const(3); w != nil {
		if k.w, err = decodeTernary(w); err != nil {
			return nil, n.Errorf("%v", err)
		}
	}
	return k, nil
}

func (k *ternaryConv) Run(c *Ctx, in, out []*tensor.Tensor) error {
	x := in[0]
	tw := k.w
	if tw == nil {
		var err error
		if tw, err = decodeTernary(in[3]); err != nil {
			return err
		}
	}
	if x.Type != tensor.Int8 && x.Type != tensor.Uint8 {
		return fmt.Errorf("input x is %s, want INT8 or UINT8", tensor.Name(x.Type))
	}
	rank := len(x.Shape)
	sp := rank - 2
	if sp < 1 || len(tw.kernel) != sp {
		return fmt.Errorf("input x has shape %v, weight kernel %v", x.Shape, tw.kernel)
	}
	N, C := int(x.Shape[0]), int(x.Shape[1])
	if C != tw.cg*k.group || tw.m%k.group != 0 {
		return fmt.Errorf("input has %d channels, weight expects %d×group %d; %d output channels", C, tw.cg, k.group, tw.m)
	}
	strides, pads, dil, err := convGeometry(sp, k.strides, k.pads, k.dilates)
	if err != nil {
		return err
	}
	outShape := []int64{int64(N), int64(tw.m)}
	for i := 0; i < sp; i++ {
		o := (x.Shape[2+i]+pads[i]+pads[sp+i]-dil[i]*(tw.kernel[i]-1)-1)/strides[i] + 1
		if o < 1 {
			return fmt.Errorf("output spatial size %d < 1 on axis %d", o, i)
		}
		outShape = append(outShape, o)
	}
	xs, err := scalarF32(in[1], "x_scale")
	if err != nil {
		return err
	}
	xzp, err := scalarInt(in[2], x.Type, "x_zero_point")
	if err != nil {
		return err
	}
	ws, err := in[4].Float32s()
	if err != nil || len(ws) != tw.m {
		return fmt.Errorf("w_scale must hold %d float values, has shape %v", tw.m, in[4].Shape)
	}
	ys, err := scalarF32(in[5], "y_scale")
	if err != nil {
		return err
	}
	yType := in[6].Type
	if yType != tensor.Int8 && yType != tensor.Uint8 {
		return fmt.Errorf("y_zero_point is %s, want INT8 or UINT8", tensor.Name(yType))
	}
	yzp, err := scalarInt(in[6], yType, "y_zero_point")
	if err != nil {
		return err
	}
	bias, ok := in[7].Data.([]int32)
	if !ok || len(bias) != tw.m {
		return fmt.Errorf("B must be INT32 of shape [%d], is %s %v", tw.m, tensor.Name(in[7].Type), in[7].Shape)
	}
	if xs <= 0 || ys <= 0 {
		return fmt.Errorf("scales must be positive: x_scale %g, y_scale %g", xs, ys)
	}
	mult := make([]float64, tw.m)
	for m := range mult {
		mult[m] = float64(xs) * float64(ws[m]) / float64(ys)
	}
	y, err := c.Alloc(yType, outShape...)
	if err != nil {
		return err
	}
	out[0] = y
	xi := widenInt32(c, x)
	inSpatial, outSpatial := 1, 1
	for i := 0; i < sp; i++ {
		inSpatial *= int(x.Shape[2+i])
		outSpatial *= int(outShape[2+i])
	}
	qmin, qmax := int64(-128), int64(127)
	if yType == tensor.Uint8 {
		qmin, qmax = 0, 255
	}
	mPerGroup := tw.m / k.group
	pointwise := isPointwise(tw.kernel, strides, pads, dil)
	accs := c.ScratchOf(tensor.Int32, c.Threads()*outSpatial).([]int32)
	c.ParallelWorkers(N*tw.m, 1, func(worker, lo, hi int) {
		acc := accs[worker*outSpatial : (worker+1)*outSpatial]
		for job := lo; job < hi; job++ {
			nIdx, m := job/tw.m, job%tw.m
			g := m / mPerGroup
			base := xi[(nIdx*C+g*tw.cg)*inSpatial : (nIdx*C+(g+1)*tw.cg)*inSpatial]
			if pointwise {
				// acc = B - zp·Σt + Σ_{t=+1} x - Σ_{t=-1} x, vectors over positions.
				init := bias[m] - int32(xzp)*tw.sum[m]
				for p := range acc {
					acc[p] = init
				}
				for _, j := range tw.plus[m] {
					row := base[int(j)*inSpatial : int(j+1)*inSpatial]
					for p, v := range row {
						acc[p] += v
					}
				}
				for _, j := range tw.minus[m] {
					row := base[int(j)*inSpatial : int(j+1)*inSpatial]
					for p, v := range row {
						acc[p] -= v
					}
				}
			} else {
				ternaryGeneral(acc, base, bias[m], int32(xzp), tw.plus[m], tw.minus[m], x.Shape[2:], outShape[2:], tw.kernel, strides, pads, dil)
			}
			dst := (nIdx*tw.m + m) * outSpatial
			for p, a := range acc {
				q := int64(math.RoundToEven(float64(a)*mult[m])) + yzp
				q = min(max(q, qmin), qmax)
				switch yd := y.Data.(type) {
				case []int8:
					yd[dst+p] = int8(q)
				case []uint8:
					yd[dst+p] = uint8(q)
				}
			}
		}
	})
	return nil
}

// ternaryGeneral accumulates one output channel of a strided, padded or
// dilated ternary convolution. Taps are flattened (channel, kernel position)
// offsets; padded positions contribute nothing.
func ternaryGeneral(acc, x []int32, bias, zp int32, plus, minus []int32, inDims, outDims, kernel, strides, pads, dil []int64) {
	sp := len(inDims)
	taps := 1
	for _, kk := range kernel {
		taps *= int(kk)
	}
	inSpatial := 1
	for _, d := range inDims {
		inSpatial *= int(d)
	}
	opos := make([]int64, sp)
	kpos := make([]int64, sp)
	for p := range acc {
		// Output coordinates of position p.
		r := p
		for i := sp - 1; i >= 0; i-- {
			opos[i] = int64(r) % outDims[i]
			r /= int(outDims[i])
		}
		sum := bias
		for sign, list := range [2][]int32{plus, minus} {
			for _, j := range list {
				ch, kidx := int(j)/taps, int(j)%taps
				for i := sp - 1; i >= 0; i-- {
					kpos[i] = int64(kidx) % kernel[i]
					kidx /= int(kernel[i])
				}
				off, inside := 0, true
				for i := 0; i < sp; i++ {
					coord := opos[i]*strides[i] + kpos[i]*dil[i] - pads[i]
					if coord < 0 || coord >= inDims[i] {
						inside = false
						break
					}
					off = off*int(inDims[i]) + int(coord)
				}
				if !inside {
					continue
				}
				v := x[ch*inSpatial+off] - zp
				if sign == 0 {
					sum += v
				} else {
					sum -= v
				}
			}
		}
		acc[p] = sum
	}
}

func isPointwise(kernel, strides, pads, dil []int64) bool {
	for i := range kernel {
		if kernel[i] != 1 || strides[i] != 1 || pads[i] != 0 || pads[len(kernel)+i] != 0 {
			return false
		}
	}
	return true
}

// convGeometry fills in default strides, pads and dilations for sp spatial
// axes and checks them.
func convGeometry(sp int, strides, pads, dil []int64) ([]int64, []int64, []int64, error) {
	fill := func(v []int64, n int, def int64, name string) ([]int64, error) {
		if v == nil {
			v = make([]int64, n)
			for i := range v {
				v[i] = def
			}
			return v, nil
		}
		if len(v) != n {
			return nil, fmt.Errorf("%s has %d values, want %d", name, len(v), n)
		}
		return v, nil
	}
	var err error
	if strides, err = fill(strides, sp, 1, "strides"); err != nil {
		return nil, nil, nil, err
	}
	if pads, err = fill(pads, 2*sp, 0, "pads"); err != nil {
		return nil, nil, nil, err
	}
	if dil, err = fill(dil, sp, 1, "dilations"); err != nil {
		return nil, nil, nil, err
	}
	for i := 0; i < sp; i++ {
		if strides[i] < 1 || dil[i] < 1 || pads[i] < 0 || pads[sp+i] < 0 {
			return nil, nil, nil, fmt.Errorf("invalid strides %v, pads %v or dilations %v", strides, pads, dil)
		}
	}
	return strides, pads, dil, nil
}

// widenInt32 converts an int8 or uint8 tensor to int32 in a buffer that
// lives until the kernel returns.
func widenInt32(c *Ctx, x *tensor.Tensor) []int32 {
	out := c.ScratchOf(tensor.Int32, x.Len()).([]int32)
	switch d := x.Data.(type) {
	case []int8:
		for i, v := range d {
			out[i] = int32(v)
		}
	case []uint8:
		for i, v := range d {
			out[i] = int32(v)
		}
	}
	return out
}

func scalarF32(t *tensor.Tensor, name string) (float32, error) {
	if t.Len() != 1 {
		return 0, fmt.Errorf("%s must be a scalar, has shape %v", name, t.Shape)
	}
	f, err := t.Float32s()
	if err != nil {
		return 0, fmt.Errorf("%s: %w", name, err)
	}
	return f[0], nil
}

func scalarInt(t *tensor.Tensor, want tensor.DataType, name string) (int64, error) {
	if t.Len() != 1 {
		return 0, fmt.Errorf("%s must be a scalar, has shape %v", name, t.Shape)
	}
	if t.Type != want {
		return 0, fmt.Errorf("%s is %s, want %s", name, tensor.Name(t.Type), tensor.Name(want))
	}
	v, err := t.Int64s()
	if err != nil {
		return 0, fmt.Errorf("%s: %w", name, err)
	}
	return v[0], nil
}
