package interp

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/onnx-prom/onnx-prom/onnx/ir"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
	"github.com/onnx-prom/onnx-prom/testdata/models"
)

// TestConcurrentRuns runs one program from several goroutines at once,
// with different batch sizes, and checks every result against the same
// input run alone: runs share nothing but the program.
func TestConcurrentRuns(t *testing.T) {
	mp, err := models.MobileNetV2(models.Tiny())
	if err != nil {
		t.Fatal(err)
	}
	m, err := ir.FromProto(mp)
	if err != nil {
		t.Fatal(err)
	}
	for _, fuse := range []bool{false, true} {
		prog, err := Compile(m, Options{Threads: 2, Fuse: fuse})
		if err != nil {
			t.Fatal(err)
		}
		batches := []int{1, 3, 2, 5}
		inputs := make([]map[string]*tensor.Tensor, len(batches))
		want := make([][]float32, len(batches))
		for i, b := range batches {
			inputs[i] = map[string]*tensor.Tensor{models.InputName: tensor.FromFloat32(benchInput(b, 32), int64(b), 3, 32, 32)}
			out, err := prog.Run(inputs[i])
			if err != nil {
				t.Fatal(err)
			}
			want[i] = out[models.OutputName].Data.([]float32)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 64)
		for g := 0; g < 6; g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				for r := 0; r < 8; r++ {
					i := (g + r) % len(batches)
					out, err := prog.Run(inputs[i])
					if err != nil {
						errs <- err
						return
					}
					if got := out[models.OutputName].Data.([]float32); !slices.Equal(got, want[i]) {
						errs <- fmt.Errorf("goroutine %d run %d (batch %d): result differs from the run alone", g, r, batches[i])
						return
					}
				}
			}(g)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("fused %v: %v", fuse, err)
		}
	}
}
