package interp

import (
	"testing"

	"github.com/onnx-prom/onnx-prom/onnx/tensor"
)

// TestPoolPlan runs a fixed request sequence through a buffer pool, as
// runs of one shape do: a float32 tensor X of 100 elements is made and
// freed, then Y of 40 is made and kept while Z of 100 is made and freed;
// an int64 tensor of 100 lives throughout. Best fit, in the first run,
// gives Y the free 100-element buffer of X, so Z needs a new one: 200
// float32 elements. The plan made from that run puts X and Z in one buffer
// and Y in its own: 140. From then on every run follows the plan, and the
// int64 buffer is never shared with a float32 request.
func TestPoolPlan(t *testing.T) {
	p := newBufferPool()
	run := func() (float32Held int64, x, y, z *tensor.Tensor) {
		p.startRun()
		get := func(dt tensor.DataType, n int) *tensor.Tensor {
			v, err := p.get(dt, n)
			if err != nil {
				t.Fatal(err)
			}
			if v.Len() != n || v.Type != dt {
				t.Fatalf("got %s[%d], asked for %s[%d]", tensor.Name(v.Type), v.Len(), tensor.Name(dt), n)
			}
			return v
		}
		i := get(tensor.Int64, 100)
		x = get(tensor.Float, 100)
		p.put(x)
		y = get(tensor.Float, 40)
		z = get(tensor.Float, 100)
		p.put(z)
		p.put(y)
		p.put(i)
		return p.peakHeld - 100*8, x, y, z
	}
	if held, _, _, _ := run(); held != 200*4 {
		t.Errorf("first run (best fit): %d float32 bytes held, want %d", held, 200*4)
	}
	for r := 2; r <= 4; r++ {
		held, x, y, z := run()
		if held != 140*4 {
			t.Errorf("run %d: %d float32 bytes held, want %d", r, held, 140*4)
		}
		if x != z || x == y {
			t.Errorf("run %d: X and Z should share a buffer, and Y have its own", r)
		}
		if r > 2 && p.misses != 0 {
			t.Errorf("run %d: %d requests off the plan", r, p.misses)
		}
	}
	if p.live != 0 {
		t.Errorf("%d bytes still counted live after the runs", p.live)
	}
}
