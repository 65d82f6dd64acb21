package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"text/tabwriter"

	"github.com/onnx-prom/onnx-prom/onnx"
	"github.com/onnx-prom/onnx-prom/onnx/onnxpb"
	"github.com/onnx-prom/onnx-prom/verify/accuracy"
	"github.com/onnx-prom/onnx-prom/verify/data"
	"github.com/onnx-prom/onnx-prom/verify/htmlreport"
)

func init() {
	register(&command{
		name: "verify",
		usage: "REF.onnx CAND.onnx --data DATA [--labels L] [--json] [--max-top1-drop PP] [--min-agreement PCT] " +
			"[--per-layer] [--limit N] [--html FILE] [--format F] [--size N] [--mean M] [--std S]",
		doc: "compare a converted model with its float reference on data: agreement, accuracy, output error, per-layer SQNR",
		run: runVerify,
	})
}

type verifyFlags struct {
	data, labels, format, html string
	mean, std                  string
	size, resize, limit, batch int
	maxDrop, minAgree          float64
	perLayer, asJSON, gray     bool
}

func runVerify(args []string, stdout, stderr io.Writer) error {
	c := commands["verify"]
	fs := newFlags(c, stderr)
	var f verifyFlags
	fs.StringVar(&f.data, "data", "", "input data: a .npy batch, a folder of .npy files or images (class folders give labels), or MNIST's digits folder")
	fs.StringVar(&f.labels, "labels", "", "label file (\"name,label\" lines or one label per line)")
	fs.BoolVar(&f.asJSON, "json", false, "write the report as JSON")
	fs.Float64Var(&f.maxDrop, "max-top1-drop", 1.0, "fail when labelled top-1 accuracy drops by more than this many percentage points")
	fs.Float64Var(&f.minAgree, "min-agreement", 0, "fail when the top-1 agreement is below this percentage (0: no check)")
	fs.BoolVar(&f.perLayer, "per-layer", false, "pair every quantized tensor with its float counterpart and list SQNR per layer, worst first")
	fs.IntVar(&f.limit, "limit", 0, "use at most this many samples (0: all)")
	fs.IntVar(&f.batch, "batch", 0, "samples per run (0: 8, or 1 with --per-layer)")
	fs.StringVar(&f.html, "html", "", "also write a self-contained HTML report to `FILE`")
	fs.StringVar(&f.format, "format", "", "data format: npy, npy-batch, images or mnist (default: from the path)")
	fs.IntVar(&f.size, "size", 224, "image side (center crop) for image data")
	fs.IntVar(&f.resize, "resize", 0, "shorter image side before the crop (0: --size)")
	fs.StringVar(&f.mean, "mean", "", "per-channel mean for image data on the 0..1 scale (default: ImageNet's for RGB images, none for MNIST)")
	fs.StringVar(&f.std, "std", "", "per-channel std for image data (default: ImageNet's for RGB images)")
	fs.BoolVar(&f.gray, "grayscale", false, "convert images to one channel")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usagef("want REF.onnx and CAND.onnx, got %d arguments (usage: onnx-prom verify %s)", len(pos), c.usage)
	}
	if f.data == "" {
		return usagef("--data is required")
	}
	if f.limit < 0 || f.batch < 0 || f.maxDrop < 0 || f.minAgree < 0 || f.minAgree > 100 {
		return usagef("--limit, --batch and --max-top1-drop must not be negative; --min-agreement must be in [0, 100]")
	}
	mean, err := parseFloats(f.mean, "--mean")
	if err != nil {
		return usageError{err}
	}
	std, err := parseFloats(f.std, "--std")
	if err != nil {
		return usageError{err}
	}
	refPath, candPath := pos[0], pos[1]
	ref, err := loadModel(refPath)
	if err != nil {
		return inputError(err)
	}
	cand, err := loadModel(candPath)
	if err != nil {
		return inputError(err)
	}
	src, err := data.Open(f.data, data.Options{Format: f.format, Labels: f.labels, Size: f.size, Resize: f.resize,
		Mean: mean, Std: std, Grayscale: f.gray})
	if err != nil {
		return inputError(fmt.Errorf("--data: %w", err))
	}
	o := accuracy.Options{Limit: f.limit, PerLayer: f.perLayer, Batch: f.batch}
	bar := newProgressBar(stderr)
	if bar != nil {
		o.Progress = bar.update
	}
	r, err := accuracy.Compare(ref, cand, src, o)
	bar.finish()
	if err != nil {
		// Name the files: Compare says "reference" or "candidate".
		return inputError(fmt.Errorf("%s vs %s: %w", refPath, candPath, err))
	}
	gate := checkGate(r, f)
	var buf bytes.Buffer
	if f.asJSON {
		out := struct {
			*accuracy.Report
			Passed bool     `json:"passed"`
			Checks []string `json:"checks"`
		}{r, gate.Passed, gate.Checks}
		b, err := json.MarshalIndent(out, "", "  ")
		if err != nil {
			return failure{err}
		}
		buf.Write(append(b, '\n'))
	} else {
		writeVerifyText(&buf, r, gate)
	}
	if _, err := stdout.Write(buf.Bytes()); err != nil {
		return failure{err}
	}
	if f.html != "" {
		if err := onnx.WriteFileAtomic(f.html, func(w io.Writer) error {
			return htmlreport.Verify(w, r, refPath, candPath, gate)
		}); err != nil {
			return failure{err}
		}
	}
	if !gate.Passed {
		var broken []string
		for _, c := range gate.Checks {
			if strings.HasSuffix(c, "FAILED") {
				broken = append(broken, strings.TrimSuffix(c, ": FAILED"))
			}
		}
		msg := strings.Join(broken, "; ")
		if len(r.Layers) > 0 && r.Layers[0].Isolated {
			msg += fmt.Sprintf(" (worst layer %s, SQNR %.2f dB)", r.Layers[0].Name, r.Layers[0].SQNR)
		}
		return failure{fmt.Errorf("%s", msg)}
	}
	return nil
}

func loadModel(path string) (*onnxpb.ModelProto, error) {
	mp, err := onnx.Load(path)
	if err != nil && !strings.Contains(err.Error(), path) {
		err = fmt.Errorf("%s: %w", path, err)
	}
	return mp, err
}

// checkGate applies the thresholds.
func checkGate(r *accuracy.Report, f verifyFlags) htmlreport.Gate {
	g := htmlreport.Gate{Passed: true}
	check := func(ok bool, format string, args ...any) {
		s := fmt.Sprintf(format, args...)
		if ok {
			s += ": ok"
		} else {
			s += ": FAILED"
			g.Passed = false
		}
		g.Checks = append(g.Checks, s)
	}
	if r.Labelled > 0 {
		check(r.Top1Drop <= f.maxDrop, "top-1 drop %.2f pp <= %g pp", r.Top1Drop, f.maxDrop)
	}
	if f.minAgree > 0 {
		check(100*r.Agreement >= f.minAgree, "top-1 agreement %.2f%% >= %g%%", 100*r.Agreement, f.minAgree)
	}
	return g
}

func writeVerifyText(w io.Writer, r *accuracy.Report, g htmlreport.Gate) {
	fmt.Fprintf(w, "samples: %d (%d labelled); output %q, %d values per sample\n", r.Samples, r.Labelled, r.Output, r.Classes)
	fmt.Fprintf(w, "top-1 agreement: %.2f%%\n", 100*r.Agreement)
	if r.Ref != nil && r.Cand != nil {
		fmt.Fprintf(w, "top-1 accuracy: reference %.2f%%, candidate %.2f%% (drop %.2f pp)\n", 100*r.Ref.Top1, 100*r.Cand.Top1, r.Top1Drop)
		fmt.Fprintf(w, "top-5 accuracy: reference %.2f%%, candidate %.2f%%\n", 100*r.Ref.Top5, 100*r.Cand.Top5)
	} else {
		fmt.Fprintln(w, "top-1 accuracy: no labels")
	}
	fmt.Fprintf(w, "output error: max abs %.4g, mean abs %.4g, SQNR %.2f dB, cosine %.5f\n", r.MaxAbsError, r.MeanAbsError, r.SQNR, r.Cosine)
	if len(r.Layers) > 0 {
		fmt.Fprintln(w, "\nper layer, worst layer SQNR first (layer: alone on the reference's inputs; cumulative: in the candidate's run):")
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "layer\top\tvalue\treference\tlayer SQNR dB\tcumulative dB\tmax abs err\tcosine")
		for _, l := range r.Layers {
			iso := "n/a"
			if l.Isolated {
				iso = fmt.Sprintf("%.2f", l.SQNR)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%.2f\t%.4g\t%.5f\n", l.Name, l.OpType, l.Value, l.Ref, iso, l.CumulativeSQNR, l.MaxAbsError, l.Cosine)
		}
		tw.Flush()
	}
	for _, wm := range r.Warnings {
		fmt.Fprintf(w, "warning: %s\n", wm)
	}
	for _, c := range g.Checks {
		fmt.Fprintf(w, "check: %s\n", c)
	}
	if g.Passed {
		fmt.Fprintln(w, "result: passed")
	} else {
		fmt.Fprintln(w, "result: FAILED")
	}
}

// progressBar draws progress on a terminal.
type progressBar struct {
	mu sync.Mutex
	w  io.Writer
	on bool
}

// newProgressBar returns a bar when w is a terminal, else nil.
func newProgressBar(w io.Writer) *progressBar {
	f, ok := w.(*os.File)
	if !ok {
		return nil
	}
	st, err := f.Stat()
	if err != nil || st.Mode()&os.ModeCharDevice == 0 {
		return nil
	}
	return &progressBar{w: w}
}

func (b *progressBar) update(done, total int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	const width = 30
	n := width
	if total > 0 {
		n = width * done / total
	}
	fmt.Fprintf(b.w, "\rverify [%s%s] %d/%d", strings.Repeat("#", n), strings.Repeat(" ", width-n), done, total)
	b.on = true
}

func (b *progressBar) finish() {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.on {
		fmt.Fprint(b.w, "\r\033[K")
	}
}
