package train

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/onnx-prom/onnx-prom/onnx"
	"github.com/onnx-prom/onnx-prom/passes"
	"github.com/onnx-prom/onnx-prom/verify/data"
)

func mnistSets(t *testing.T, dir string) (Dataset, Dataset) {
	tr, err := data.Open(dir, data.Options{Split: data.MNISTTrain})
	if err != nil {
		t.Fatal(err)
	}
	te, err := data.Open(dir, data.Options{Split: data.MNISTTest})
	if err != nil {
		t.Fatal(err)
	}
	a, err := NewDataset(tr, []int{1, 28, 28}, 0)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewDataset(te, []int{1, 28, 28}, 0)
	if err != nil {
		t.Fatal(err)
	}
	return a, b
}

func envInt(k string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(k)); err == nil {
		return v
	}
	return def
}

func envF(k string, def float64) float64 {
	if v, err := strconv.ParseFloat(os.Getenv(k), 64); err == nil {
		return v
	}
	return def
}

func TestExpFloat(t *testing.T) {
	if os.Getenv("EXP") == "" {
		t.Skip()
	}
	trn, tst := mnistSets(t, "/root/.cache/onnx-prom/mnist/package/src/digits")
	mp, _ := MNISTNet(1)
	start := time.Now()
	tr, err := NewTrainer(mp, Options{Mode: Float, Epochs: envInt("EPOCHS", 8), Batch: envInt("BATCH", 64), LR: envF("LR", 3e-3), Threads: 2, Val: tst,
		WeightDecay: envF("WD", 0), Warmup: envInt("WARMUP", 0), Shift: envInt("SHIFT", 0),
		Progress: func(p Progress) {
			if p.Done {
				fmt.Printf("epoch %d loss %.4f acc %.4f val %.4f %v\n", p.Epoch, p.Loss, p.Acc, p.Val.Acc, p.Elapsed)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if _, err := tr.Fit(trn); err != nil {
		t.Fatal(err)
	}
	m, _, err := tr.Export()
	if err != nil {
		t.Fatal(err)
	}
	onnx.Save(os.Getenv("OUT"), m)
	fmt.Println("total", time.Since(start))
}

func TestExpQuant(t *testing.T) {
	if os.Getenv("EXP") == "" {
		t.Skip()
	}
	mp, err := onnx.Load(os.Getenv("FLOAT"))
	if err != nil {
		t.Fatal(err)
	}
	logf := func(format string, args ...any) { fmt.Printf(format+"\n", args...) }
	runPipeline(t, "/root/.cache/onnx-prom/mnist/package/src/digits", pipelineConfig{floatModel: mp, qatEpochs: envInt("EPOCHS", 3),
		qatLR: envF("LR", 1e-2), calibSamples: envInt("CALIB", 512), log: logf, distill: os.Getenv("DISTILL") != "", noRecover: os.Getenv("NOREC") != ""})
}

func TestExpDiag(t *testing.T) {
	if os.Getenv("EXP") == "" {
		t.Skip()
	}
	mp, err := onnx.Load(os.Getenv("FLOAT"))
	if err != nil {
		t.Fatal(err)
	}
	trn, tst := mnistSets(t, "/root/.cache/onnx-prom/mnist/package/src/digits")
	sels := []string{"none", "all"}
	if os.Getenv("SEL") != "" {
		sels = []string{os.Getenv("SEL")}
	}
	for _, sel := range sels {
		cfg := passes.DefaultConfig()
		cfg.Select = passes.Selection(sel)
		if e := os.Getenv("EXCLUDE"); e != "" {
			cfg.Exclude = []string{e}
		}
		qt, err := NewTrainer(mp, Options{Mode: QAT, Config: cfg, Epochs: envInt("EPOCHS", 1), Batch: 64, LR: envF("LR", 5e-4), Shift: 2, Seed: 2, Threads: 2,
			Distill: os.Getenv("DISTILL") != "", RelativeLR: os.Getenv("REL") != "", Val: tst, Progress: func(p Progress) {
				if p.Done {
					fmt.Printf("  epoch %d loss %.4f acc %.4f val %.4f %v\n", p.Epoch, p.Loss, p.Acc, p.Val.Acc, p.Elapsed)
				}
			}})
		if err != nil {
			t.Fatal(err)
		}
		if err := qt.initRanges(trn); err != nil {
			t.Fatal(err)
		}
		for _, q := range qt.nt.quants {
			q.enabled = false
		}
		m0, _ := qt.Evaluate(tst)
		for _, q := range qt.nt.quants {
			q.enabled = os.Getenv("NOACT") == ""
		}
		m1, _ := qt.Evaluate(tst)
		fmt.Printf("select %s: weights quantized, float acts %.4f; all quantized %.4f\n", sel, m0.Acc, m1.Acc)
		if sel == "all" || len(sels) == 1 {
			qt.ranged = true
			if _, err := qt.Fit(trn); err != nil {
				t.Fatal(err)
			}
		}
		qt.Close()
	}
}

func TestExpLR(t *testing.T) {
	if os.Getenv("EXP") == "" {
		t.Skip()
	}
	trn, tst := mnistSets(t, "/root/.cache/onnx-prom/mnist/package/src/digits")
	sub := &Subset{Base: trn, Index: seq(2000)}
	for _, lr := range []float64{1e-3, 3e-3, 1e-2} {
		for _, bs := range []int{32, 64} {
			mp, _ := MNISTNet(1)
			tr, _ := NewTrainer(mp, Options{Mode: Float, Epochs: 4, Batch: bs, LR: lr, Threads: 2, Val: &Subset{Base: tst, Index: seq(500)}, Constant: true})
			h, err := tr.Fit(sub)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Printf("lr %g batch %d:", lr, bs)
			for _, e := range h {
				fmt.Printf(" %.3f/%.3f", e.Loss, e.Val.Acc)
			}
			fmt.Println()
			tr.Close()
		}
	}
}
