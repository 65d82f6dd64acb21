package passes_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/onnx-prom/onnx-prom/onnx"
	"github.com/onnx-prom/onnx-prom/passes"
	"github.com/onnx-prom/onnx-prom/testdata/models"
)

// Convert a float model with the default configuration: every spatial
// pointwise conv becomes a TernaryConv and the rest int8. Without
// calibration data the converter calibrates on synthetic inputs and warns.
func ExampleConvert() {
	mp, err := onnx.Load("../testdata/models/tiny.onnx")
	if err != nil {
		log.Fatal(err)
	}
	out, report, err := passes.Convert(mp, passes.Options{Config: passes.DefaultConfig()})
	if err != nil {
		log.Fatal(err)
	}
	path := filepath.Join(os.TempDir(), "tiny-prom.onnx")
	if err := onnx.Save(path, out); err != nil {
		log.Fatal(err)
	}
	defer os.Remove(path)
	fmt.Printf("ternarized %d of %d pointwise convs\n", report.Totals.Ternarized, report.Totals.PointwiseConvs)
	fmt.Println("warnings:", len(report.Warnings))
	// Output:
	// ternarized 6 of 6 pointwise convs
	// warnings: 2
}

// A custom pipeline: the passes up to ternarization only, to inspect the
// float model with ternary weights. Passes are plain values; Select builds
// a pipeline from names.
func ExamplePipeline() {
	cfg := models.Tiny()
	mp, err := models.MobileNetV2(cfg)
	if err != nil {
		log.Fatal(err)
	}
	p, err := passes.Select(passes.All, "cleanup,fold-bn,shapes,select,ternarize")
	if err != nil {
		log.Fatal(err)
	}
	_, report, err := passes.Convert(mp, passes.Options{Config: passes.DefaultConfig(), Pipeline: p})
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range report.Passes {
		fmt.Printf("%s changed %d\n", s.Name, s.Changed)
	}
	// Output:
	// cleanup changed 0
	// fold-bn changed 10
	// shapes changed 0
	// select changed 6
	// ternarize changed 6
}
