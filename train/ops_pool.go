package train

import (
	"fmt"
	"math"

	"github.com/onnx-prom/onnx-prom/onnx/ir"
)

// poolOp is a 2-D MaxPool or AveragePool: x [C,H,W] -> y [C,OH,OW].
type poolOp struct {
	opBase
	isMax                   bool
	includePad              bool
	C, H, W, OH, OW, KH, KW int
	win                     window
	arg                     []int32 // MaxPool: input offset of each output's maximum
}

func buildPool(isMax bool) builder {
	return func(c *compiler, n *ir.Node) error {
		x, _, err := c.read(n, 0)
		if err != nil {
			return err
		}
		if len(x.shape) != 3 {
			return fmt.Errorf("input %q has per-sample shape %v; only 2-D pooling is supported", x.name, x.shape)
		}
		ks, err := n.AttrInts("kernel_shape", nil)
		if err != nil {
			return err
		}
		if len(ks) != 2 || ks[0] < 1 || ks[1] < 1 || ks[0] > 1<<16 || ks[1] > 1<<16 {
			return fmt.Errorf("kernel_shape %v: want two positive sizes", ks)
		}
		ceil, err := n.AttrInt("ceil_mode", 0)
		if err != nil {
			return err
		}
		if so, _ := n.AttrInt("storage_order", 0); so != 0 {
			return fmt.Errorf("storage_order 1 is not supported")
		}
		win, err := resolveWindow(n, x.shape[1], x.shape[2], int(ks[0]), int(ks[1]), ceil != 0)
		if err != nil {
			return err
		}
		op := &poolOp{isMax: isMax, C: x.shape[0], H: x.shape[1], W: x.shape[2], OH: win.oh, OW: win.ow,
			KH: int(ks[0]), KW: int(ks[1]), win: win}
		if !isMax {
			cip, err := n.AttrInt("count_include_pad", 0)
			if err != nil {
				return err
			}
			op.includePad = cip != 0
		}
		out, err := c.output(n, []int{op.C, win.oh, win.ow}, x.grad != nil)
		if err != nil {
			return err
		}
		if isMax {
			op.arg = make([]int32, len(out.data))
		}
		op.opBase = c.base(n, out, x)
		c.add(op)
		return nil
	}
}

func (p *poolOp) forward(w, lo, hi int) {
	x, y := p.in[0], p.out
	wn := p.win
	for n := lo; n < hi; n++ {
		xs, ys := x.at(n), y.at(n)
		for c := 0; c < p.C; c++ {
			plane := xs[c*p.H*p.W : (c+1)*p.H*p.W]
			for oh := 0; oh < p.OH; oh++ {
				for ow := 0; ow < p.OW; ow++ {
					best, arg := float32(math.Inf(-1)), -1
					var sum float32
					cnt := 0
					for kh := 0; kh < p.KH; kh++ {
						ih := oh*wn.sh - wn.pt + kh*wn.dh
						for kw := 0; kw < p.KW; kw++ {
							iw := ow*wn.sw - wn.pl + kw*wn.dw
							if ih < 0 || ih >= p.H || iw < 0 || iw >= p.W {
								if p.includePad && ih >= -wn.pt && ih < p.H+wn.pb && iw >= -wn.pl && iw < p.W+wn.pr {
									cnt++
								}
								continue
							}
							v := plane[ih*p.W+iw]
							if p.isMax {
								if v > best || arg < 0 {
									best, arg = v, ih*p.W+iw
								}
							} else {
								sum += v
								cnt++
							}
						}
					}
					o := (c*p.OH+oh)*p.OW + ow
					if p.isMax {
						ys[o] = best
						p.arg[n*y.size+o] = int32(c*p.H*p.W + arg)
					} else {
						ys[o] = sum / float32(max(cnt, 1))
					}
				}
			}
		}
	}
}

func (p *poolOp) backward(w, lo, hi int) {
	x, y := p.in[0], p.out
	if x.grad == nil {
		return
	}
	wn := p.win
	for n := lo; n < hi; n++ {
		dxs, dys := x.gradAt(n), y.gradAt(n)
		if !p.acc[0] {
			clear(dxs)
		}
		if p.isMax {
			for o, g := range dys {
				dxs[p.arg[n*y.size+o]] += g
			}
			continue
		}
		for c := 0; c < p.C; c++ {
			plane := dxs[c*p.H*p.W : (c+1)*p.H*p.W]
			for oh := 0; oh < p.OH; oh++ {
				for ow := 0; ow < p.OW; ow++ {
					cnt := 0
					for kh := 0; kh < p.KH; kh++ {
						ih := oh*wn.sh - wn.pt + kh*wn.dh
						for kw := 0; kw < p.KW; kw++ {
							iw := ow*wn.sw - wn.pl + kw*wn.dw
							inside := ih >= 0 && ih < p.H && iw >= 0 && iw < p.W
							if inside || p.includePad && ih >= -wn.pt && ih < p.H+wn.pb && iw >= -wn.pl && iw < p.W+wn.pr {
								cnt++
							}
						}
					}
					g := dys[(c*p.OH+oh)*p.OW+ow] / float32(max(cnt, 1))
					for kh := 0; kh < p.KH; kh++ {
						ih := oh*wn.sh - wn.pt + kh*wn.dh
						for kw := 0; kw < p.KW; kw++ {
							iw := ow*wn.sw - wn.pl + kw*wn.dw
							if ih >= 0 && ih < p.H && iw >= 0 && iw < p.W {
								plane[ih*p.W+iw] += g
							}
						}
					}
				}
			}
		}
	}
}
