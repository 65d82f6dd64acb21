package interp

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/onnx-prom/onnx-prom/onnx/ir"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
	"github.com/onnx-prom/onnx-prom/testdata/models"
	"github.com/onnx-prom/onnx-prom/verify/ort"
)

// The MobileNetV2 benchmarks run torchvision's mobilenet_v2 (random
// weights, BatchNormalization not folded) in the interpreter (op by op:
// "interp"; with Options.Fuse: "fused") and in ONNX Runtime on the same
// input with the same number of threads, and report images per second and
// milliseconds per image for each; the "both" sub-benchmarks alternate the
// fused interpreter and ONNX Runtime (which fuses too) within each
// iteration and report the ratio of their times:
//
//	go test -bench MobileNet -run '^$' ./verify/interp

var mobileNet struct {
	once  sync.Once
	bytes []byte
	model *ir.Model
	err   error
}

func mobileNetV2(b testing.TB) ([]byte, *ir.Model) {
	b.Helper()
	mobileNet.once.Do(func() {
		mp, err := models.MobileNetV2(models.Full())
		if err != nil {
			mobileNet.err = err
			return
		}
		if mobileNet.bytes, err = models.Marshal(mp); err != nil {
			mobileNet.err = err
			return
		}
		mobileNet.model, mobileNet.err = ir.FromProto(mp)
	})
	if mobileNet.err != nil {
		b.Fatalf("building MobileNetV2: %v", mobileNet.err)
	}
	return mobileNet.bytes, mobileNet.model
}

func benchInput(batch, res int) []float32 {
	r := rand.New(rand.NewPCG(42, uint64(batch)))
	x := make([]float32, batch*3*res*res)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	return x
}

func reportImages(b *testing.B, batch int) {
	sec := b.Elapsed().Seconds()
	if sec <= 0 || b.N == 0 {
		return
	}
	imgs := float64(batch * b.N)
	b.ReportMetric(imgs/sec, "img/s")
	b.ReportMetric(sec*1e3/imgs, "ms/img")
	b.ReportMetric(0, "ns/op")
}

func BenchmarkMobileNetV2(b *testing.B) {
	data, m := mobileNetV2(b)
	const res = 224
	threadCounts := []int{1}
	if n := runtime.GOMAXPROCS(0); n > 1 {
		threadCounts = append(threadCounts, n)
	}
	for _, batch := range []int{1, 8} {
		x := benchInput(batch, res)
		shape := []int64{int64(batch), 3, res, res}
		for _, threads := range threadCounts {
			name := fmt.Sprintf("batch=%d/threads=%d", batch, threads)
			for _, mode := range []struct {
				name string
				fuse bool
			}{{"interp", false}, {"fused", true}} {
				b.Run(name+"/"+mode.name, func(b *testing.B) {
					prog, err := Compile(m, Options{Threads: threads, Fuse: mode.fuse})
					if err != nil {
						b.Fatal(err)
					}
					in := map[string]*tensor.Tensor{models.InputName: tensor.FromFloat32(x, shape...)}
					// Two runs settle the buffer pool: the first lays buffers
					// out by best fit, the second by the plan made from it.
					for range 2 {
						if _, err := prog.Run(in); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportAllocs()
					b.ResetTimer()
					for b.Loop() {
						if _, err := prog.Run(in); err != nil {
							b.Fatal(err)
						}
					}
					reportImages(b, batch)
				})
			}
			// Both runtimes in turn within each iteration, so that a
			// machine whose load varies slows both alike: the fairest
			// ratio.
			b.Run(name+"/both", func(b *testing.B) {
				if err := ort.Available(); err != nil {
					b.Skip(err)
				}
				prog, err := Compile(m, Options{Threads: threads, Fuse: true})
				if err != nil {
					b.Fatal(err)
				}
				// Without spinning, ORT's idle threads do not take the
				// cores from the interpreter's turn.
				s, err := ort.Open(data, ort.Options{IntraOpThreads: threads, InterOpThreads: 1, NoSpinning: true})
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				in := map[string]*tensor.Tensor{models.InputName: tensor.FromFloat32(x, shape...)}
				oin := []ort.Tensor{{Name: models.InputName, Shape: shape, Data: x}}
				for range 2 {
					if _, err := prog.Run(in); err != nil {
						b.Fatal(err)
					}
				}
				if _, err := s.Run(oin); err != nil {
					b.Fatal(err)
				}
				var ours, theirs time.Duration
				b.ResetTimer()
				for b.Loop() {
					t0 := time.Now()
					if _, err := prog.Run(in); err != nil {
						b.Fatal(err)
					}
					t1 := time.Now()
					if _, err := s.Run(oin); err != nil {
						b.Fatal(err)
					}
					ours += t1.Sub(t0)
					theirs += time.Since(t1)
				}
				imgs := float64(batch * b.N)
				b.ReportMetric(ours.Seconds()*1e3/imgs, "interp-ms/img")
				b.ReportMetric(theirs.Seconds()*1e3/imgs, "ort-ms/img")
				b.ReportMetric(ours.Seconds()/theirs.Seconds(), "ratio")
				b.ReportMetric(0, "ns/op")
			})
			for _, spin := range []bool{true, false} {
				sub := "/ort"
				if !spin {
					sub = "/ort-nospin"
				}
				b.Run(name+sub, func(b *testing.B) {
					if err := ort.Available(); err != nil {
						b.Skip(err)
					}
					s, err := ort.Open(data, ort.Options{IntraOpThreads: threads, InterOpThreads: 1, NoSpinning: !spin})
					if err != nil {
						b.Fatal(err)
					}
					defer s.Close()
					in := []ort.Tensor{{Name: models.InputName, Shape: shape, Data: x}}
					if _, err := s.Run(in); err != nil {
						b.Fatal(err)
					}
					b.ResetTimer()
					for b.Loop() {
						if _, err := s.Run(in); err != nil {
							b.Fatal(err)
						}
					}
					reportImages(b, batch)
				})
			}
		}
	}
}
