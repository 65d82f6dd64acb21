package interp

// QLinearConv and QLinearMatMul: exact int32 accumulation of the
// zero-point-corrected operands, then requantization in float32 with the
// multiplier (x_scale * w_scale) / y_scale, as ONNX Runtime computes it
// (see op_quant.go for the rounding rules).

import (
	"fmt"

	"github.com/onnx-prom/onnx-prom/onnx/tensor"
)

func init() {
	Register("", "QLinearConv", buildQLinearConv)
	Register("", "QLinearMatMul", buildQLinearMatMul)
}

type qlinearConv struct{ attrs *qConvAttrs }

func buildQLinearConv(n *Node) (Kernel, error) {
	if len(n.Inputs) < 8 {
		return nil, n.Errorf("QLinearConv takes 8 or 9 inputs, got %d", len(n.Inputs))
	}
	for _, i := range []int{0, 1, 3, 4, 6} {
		if n.Input(i) == nil {
			return nil, n.Errorf("input %d is required", i)
		}
	}
	a, err := qParseConvAttrs(n)
	if err != nil {
		return nil, err
	}
	if err := qCheckTypes(n, map[int]string{0: "input x", 3: "weight w", 7: "y_zero_point"}); err != nil {
		return nil, err
	}
	if t := n.InputType(8); t != tensor.Undefined && t != tensor.Int32 {
		return nil, n.Errorf("bias B is %s, want INT32", tensor.Name(t))
	}
	return &qlinearConv{a}, nil
}

// qCheckTypes checks the inputs that are known at compile time to be INT8
// or UINT8, and that zero points have the type of their data.
func qCheckTypes(n *Node, eight map[int]string) error {
	for i, name := range eight {
		if t := n.InputType(i); t != tensor.Undefined {
			if err := qCheck8(t, name); err != nil {
				return n.Errorf("%v", err)
			}
		}
	}
	for _, p := range [][2]int{{0, 2}, {3, 5}} {
		d, z := n.InputType(p[0]), n.InputType(p[1])
		if d != tensor.Undefined && z != tensor.Undefined && d != z {
			return n.Errorf("input %d (zero point) is %s but input %d is %s", p[1], tensor.Name(z), p[0], tensor.Name(d))
		}
	}
	return nil
}

// qOutType is the type of a quantized output: that of its zero point, else
// def.
func qOutType(zp *tensor.Tensor, def tensor.DataType) (tensor.DataType, error) {
	t := def
	if zp != nil {
		t = zp.Type
	}
	if err := qCheck8(t, "output zero point"); err != nil {
		return 0, err
	}
	return t, nil
}

func (k *qlinearConv) Run(c *Ctx, in, out []*tensor.Tensor) error {
	x, w := in[0], in[3]
	if err := qCheck8(x.Type, "input x"); err != nil {
		return err
	}
	if err := qCheck8(w.Type, "weight w"); err != nil {
		return err
	}
	g, err := k.attrs.geometry(x.Shape, w.Shape)
	if err != nil {
		return err
	}
	xScale, err := qScalarF32(in[1], "x_scale")
	if err != nil {
		return err
	}
	xzp, err := qScalarZP(c, in[2], x.Type, "x_zero_point")
	if err != nil {
		return err
	}
	wScale, err := qScales(in[4], g.m, "w_scale")
	if err != nil {
		return err
	}
	wzp, err := qZeroPoints(c, in[5], w.Type, g.m, "w_zero_point")
	if err != nil {
		return err
	}
	yScale, err := qScalarF32(in[6], "y_scale")
	if err != nil {
		return err
	}
	yt, err := qOutType(in[7], x.Type)
	if err != nil {
		return err
	}
	yzp, err := qScalarZP(c, in[7], yt, "y_zero_point")
	if err != nil {
		return err
	}
	var bias []int32
	if len(in) > 8 && in[8] != nil {
		b := in[8]
		if b.Type != tensor.Int32 || len(b.Shape) != 1 || b.Len() != g.m {
			return fmt.Errorf("bias B is %s %v, want INT32 [%d]", tensor.Name(b.Type), b.Shape, g.m)
		}
		bias = b.Data.([]int32)
	}
	xs, ws, err := qConvInputs(c, g, x, w, xzp, wzp)
	if err != nil {
		return err
	}
	y, err := c.Alloc(yt, g.outShape()...)
	if err != nil {
		return err
	}
	P := g.outSize
	acc := c.ScratchOf(tensor.Int32, g.n*g.m*P).([]int32)
	qConvAcc(c, g, xs, ws, bias, acc)
	// ONNX Runtime: output_scale[m] = x_scale * w_scale[m] / y_scale.
	mult := make([]float32, g.m)
	for m := range mult {
		mult[m] = xScale * wScale[min(m, len(wScale)-1)] / yScale
	}
	lo, hi, _ := qRange(yt)
	c.Parallel(g.n*g.m, max(1, 16384/max(P, 1)), func(r0, r1 int) {
		for r := r0; r < r1; r++ {
			mu := mult[r%g.m]
			a := acc[r*P : (r+1)*P]
			for i, v := range a {
				a[i] = qRequant(v, mu, yzp, lo, hi)
			}
		}
	})
	qStore(y, acc)
	out[0] = y
	return nil
}

func buildQLinearMatMul(n *Node) (Kernel, error) {
	if len(n.Inputs) != 8 {
		return nil, n.Errorf("QLinearMatMul takes 8 inputs, got %d", len(n.Inputs))
	}
	for _, i := range []int{0, 1, 3, 4, 6} {
		if n.Input(i) == nil {
			return nil, n.Errorf("input %d is required", i)
		}
	}
	if err := qCheckTypes(n, map[int]string{0: "input a", 3: "input b", 7: "y_zero_point"}); err != nil {
		return nil, err
	}
	return KernelFunc(runQLinearMatMul), nil
}

// qColumnParams checks a per-tensor or per-column parameter of B (shape
// [], [1], [N], or B's shape with a unit row dimension) and returns how to
// index it: stride per B matrix (0 when shared by all) and per column.
func qColumnParams(p *tensor.Tensor, bShape []int64, n int, name string) (matStride, colStride int, err error) {
	switch {
	case p.Len() == 1:
		return 0, 0, nil
	case len(p.Shape) == 1 && int(p.Shape[0]) == n:
		return 0, 1, nil
	case len(bShape) >= 2 && len(p.Shape) == len(bShape):
		want := append([]int64{}, bShape...)
		want[len(want)-2] = 1
		if fmt.Sprint(want) == fmt.Sprint(p.Shape) {
			return n, 1, nil
		}
	}
	return 0, 0, fmt.Errorf("%s has shape %v, want one element or [%d] (per column of b)", name, p.Shape, n)
}

func runQLinearMatMul(c *Ctx, in, out []*tensor.Tensor) error {
	a, b := in[0], in[3]
	if err := qCheck8(a.Type, "input a"); err != nil {
		return err
	}
	if err := qCheck8(b.Type, "input b"); err != nil {
		return err
	}
	g, err := qMatMulGeometry(a.Shape, b.Shape)
	if err != nil {
		return err
	}
	aScale, err := qScalarF32(in[1], "a_scale")
	if err != nil {
		return err
	}
	if in[2] != nil && in[2].Len() != 1 {
		return fmt.Errorf("a_zero_point has shape %v, want one element", in[2].Shape)
	}
	if in[2] != nil && in[2].Type != a.Type {
		return fmt.Errorf("a_zero_point is %s, want %s (the type of a)", tensor.Name(in[2].Type), tensor.Name(a.Type))
	}
	bScaleT := in[4]
	sMat, sCol, err := qColumnParams(bScaleT, b.Shape, g.n, "b_scale")
	if err != nil {
		return err
	}
	bScale, err := qFloats(bScaleT, "b_scale")
	if err != nil {
		return err
	}
	if z := in[5]; z != nil {
		if _, _, err := qColumnParams(z, b.Shape, g.n, "b_zero_point"); err != nil {
			return err
		}
	}
	yScale, err := qScalarF32(in[6], "y_scale")
	if err != nil {
		return err
	}
	yt, err := qOutType(in[7], a.Type)
	if err != nil {
		return err
	}
	yzp, err := qScalarZP(c, in[7], yt, "y_zero_point")
	if err != nil {
		return err
	}
	as, bs, err := qMatMulOperands(c, a, b, in, 2, 5)
	if err != nil {
		return err
	}
	M, N := g.m, g.n
	acc := c.ScratchOf(tensor.Int32, g.batch*M*N).([]int32)
	qMatMulAcc(c, g, as, bs, acc)
	// ONNX Runtime: output_scale[j] = a_scale * b_scale[j] / y_scale.
	mult := make([]float32, len(bScale))
	for i, s := range bScale {
		mult[i] = aScale * s / yScale
	}
	lo, hi, _ := qRange(yt)
	for bi := 0; bi < g.batch; bi++ {
		base := g.bIdx[bi] * sMat
		for i := 0; i < M; i++ {
			row := acc[(bi*M+i)*N : (bi*M+i+1)*N]
			for j, v := range row {
				row[j] = qRequant(v, mult[base+j*sCol], yzp, lo, hi)
			}
		}
	}
	y, err := c.Alloc(yt, g.out...)
	if err != nil {
		return err
	}
	qStore(y, acc)
	out[0] = y
	return nil
}
