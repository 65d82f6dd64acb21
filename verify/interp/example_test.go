package interp_test

import (
	"fmt"
	"log"

	"github.com/onnx-prom/onnx-prom/onnx/ir"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
	"github.com/onnx-prom/onnx-prom/testdata/models"
	"github.com/onnx-prom/onnx-prom/verify/interp"
)

// Compile a model once, then run it: here the tiny MobileNetV2 of the test
// models, fused (BatchNormalization folded into the convs), on a batch of
// two images, keeping one intermediate value and the run's memory figures.
func Example() {
	mp, err := models.MobileNetV2(models.Tiny())
	if err != nil {
		log.Fatal(err)
	}
	m, err := ir.FromProto(mp)
	if err != nil {
		log.Fatal(err)
	}
	prog, err := interp.Compile(m, interp.Options{Threads: 1, Fuse: true})
	if err != nil {
		log.Fatal(err)
	}
	x := make([]float32, 2*3*32*32)
	for i := range x {
		x[i] = float32(i%7) / 7
	}
	var stats interp.RunStats
	var pooled []int64
	out, err := prog.RunWith(map[string]*tensor.Tensor{models.InputName: tensor.FromFloat32(x, 2, 3, 32, 32)},
		interp.RunOptions{
			Stats: &stats,
			Observe: func(name string, t *tensor.Tensor) {
				if name == "flatten_output" {
					pooled = append([]int64(nil), t.Shape...) // t is only valid during the call
				}
			},
		})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("inputs:", prog.Inputs()[0].Name, prog.Inputs()[0].Shape)
	fmt.Println("logits:", out[models.OutputName].Shape)
	fmt.Println("features:", pooled)
	fmt.Println("memory reported:", prog.ConstantBytes() > 0 && stats.PeakLiveBytes > 0 && stats.PeakPoolBytes >= stats.PeakLiveBytes)
	// Output:
	// inputs: input [N,3,32,32]
	// logits: [2 10]
	// features: [2 64]
	// memory reported: true
}
