package interp

import (
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/onnx-prom/onnx-prom/internal/testenv"
	"github.com/onnx-prom/onnx-prom/onnx/ir"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
)

func TestExploreTmp(t *testing.T) {
	vals := []int64{0, -1, 2, -2, 7, 1 << 20, 1 << 31, 1 << 40, math.MaxInt64, math.MinInt64, math.MaxInt32, -(1 << 40)}
	fails := map[string]int{}
	for _, p := range testenv.SeedModels() {
		b, _ := os.ReadFile(p)
		if len(b) > 1<<16 {
			continue
		}
		for slot := 1; slot < 40; slot++ {
			for _, v := range vals {
				mp, err := fuzzLoad.Decode(b, "")
				if err != nil {
					continue
				}
				testenv.SetIntSlot(mp, uint16(slot), v)
				m, err := ir.FromProto(mp)
				if err != nil {
					continue
				}
				func() {
					defer func() {
						if r := recover(); r != nil {
							t.Errorf("%s slot %d val %d: compile panic %v", p, slot, v, r)
						}
					}()
					prog, err := Compile(m, Options{Threads: 1, MaxTensorBytes: fuzzMaxBytes, MaxWork: fuzzMaxWork})
					if err != nil {
						return
					}
					r := rand.New(rand.NewPCG(1, 2))
					feeds := map[string]*tensor.Tensor{}
					for _, in := range prog.Inputs() {
						if in.Optional {
							continue
						}
						x, ok := fuzzInput(r, in)
						if !ok {
							return
						}
						feeds[in.Name] = x
					}
					outs, err := prog.Run(feeds)
					if err != nil {
						if strings.Contains(err.Error(), "kernel failed") {
							key := strings.Split(p, "/")[6]
							if fails[key] < 1 {
								t.Errorf("%s slot %d val %d: %v", key, slot, v, err)
							}
							fails[key]++
						}
						return
					}
					for name, o := range outs {
						n, err := tensor.NumElements(o.Shape)
						if err != nil || int64(o.Len()) != n {
							t.Errorf("%s: output %q: shape %v but %d elements", p, name, o.Shape, o.Len())
						}
					}
				}()
			}
		}
	}
}
