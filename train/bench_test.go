package train

import (
	"os"
	"strconv"
	"testing"
)

// benchThreads is 2, or $TRAIN_BENCH_THREADS.
var benchThreads = func() int {
	if n, err := strconv.Atoi(os.Getenv("TRAIN_BENCH_THREADS")); err == nil && n > 0 {
		return n
	}
	return 2
}()

// BenchmarkStep measures one training step of the MNIST network (batch
// 64, 2 threads) in float and in QAT mode, on synthetic digits.
func BenchmarkStep(b *testing.B) {
	for _, mode := range []Mode{Float, QAT} {
		b.Run(mode.String(), func(b *testing.B) {
			mp, err := MNISTNet(1)
			if err != nil {
				b.Fatal(err)
			}
			const batch = 64
			ds := SyntheticDigits(batch*4, 1)
			tr, err := NewTrainer(mp, Options{Mode: mode, Batch: batch, Threads: benchThreads, CalibBatches: 1})
			if err != nil {
				b.Fatal(err)
			}
			defer tr.Close()
			idx := make([]int, batch)
			for i := range idx {
				idx[i] = i
			}
			if _, _, _, err := tr.Step(ds, idx); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, _, _, err := tr.Step(ds, idx); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "samples/s")
		})
	}
}
