package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/onnx-prom/onnx-prom/onnx"
	"github.com/onnx-prom/onnx-prom/onnx/ir"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
	"github.com/onnx-prom/onnx-prom/passes"
	"github.com/onnx-prom/onnx-prom/train"
	"github.com/onnx-prom/onnx-prom/verify/data"
)

func init() {
	register(&command{
		name:  "convert",
		usage: "IN.onnx OUT.onnx [--calib DATA] [--format qoperator|qdq] [--report out.json] [flags]",
		doc:   "convert a model: ternary pointwise convs (TernaryConv), int8 for the rest",
		run:   runConvert,
	})
}

// listFlag collects repeated or comma-separated values.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error {
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			*l = append(*l, v)
		}
	}
	return nil
}

type convertFlags struct {
	cfg                      passes.Config
	format, sel, rule, calib string
	acts, method             string
	include, exclude, keep   listFlag
	calibDir, ranges, report string
	passList                 string
	printAfter, dumpAfter    string
	size                     int
	mean, std                string
	limit                    int
	verbose, force, listPass bool
	recover                  bool
}

func runConvert(args []string, stdout, stderr io.Writer) error {
	c := commands["convert"]
	fs := newFlags(c, stderr)
	f := convertFlags{cfg: passes.DefaultConfig()}
	fs.StringVar(&f.format, "format", "qoperator", "int8 form: qoperator (QLinearConv, ...) or qdq (QuantizeLinear/DequantizeLinear pairs)")
	fs.BoolVar(&f.cfg.MicrosoftOps, "ms-ops", false, "allow ONNX Runtime's com.microsoft ops (QLinearAdd, QLinearGlobalAveragePool) in qoperator form")
	fs.StringVar(&f.sel, "select", "all", "pointwise convs to ternarize: all (spatial pointwise), adjacent (next to a depthwise conv), none")
	fs.Var(&f.include, "include", "also ternarize these conv nodes (names, comma-separated or repeated)")
	fs.Var(&f.exclude, "exclude", "never ternarize these conv nodes")
	fs.BoolVar(&f.cfg.TernarizeSE, "se", false, "also ternarize squeeze-excite 1x1 convs")
	fs.StringVar(&f.rule, "rule", "twn", "post-training ternarization rule for weights not already ternary: twn or absmean")
	fs.Var(&f.keep, "keep-float", "leave these nodes (names or op types) in float")
	fs.StringVar(&f.acts, "activations", "int8", "activation type: int8 or uint8")
	fs.StringVar(&f.calibDir, "calib", "", "calibration data: a folder of .npy files, one .npy batch, or a folder of images")
	fs.IntVar(&f.size, "size", 224, "image side for image calibration data")
	fs.StringVar(&f.mean, "mean", "", "per-channel mean for image data on the 0..1 scale (default: ImageNet's for RGB images, none for MNIST)")
	fs.StringVar(&f.std, "std", "", "per-channel std for image data (default: ImageNet's for RGB images)")
	fs.IntVar(&f.limit, "calib-limit", 0, "use at most this many calibration samples (0: all)")
	fs.StringVar(&f.method, "calib-method", "minmax", "range rule: minmax, percentile, entropy or mse")
	fs.Float64Var(&f.cfg.Percentile, "percentile", 99.99, "percentile kept by --calib-method percentile")
	fs.StringVar(&f.ranges, "ranges", "", "JSON file of activation ranges {\"value\": {\"min\": a, \"max\": b}} (skips calibration of those values)")
	fs.Int64Var(&f.cfg.OutputOpset, "opset", 25, "default-domain opset of the output (25 or 26)")
	fs.Int64Var(&f.cfg.IRVersion, "ir", 13, "IR version of the output (11 to 13)")
	fs.StringVar(&f.report, "report", "", "write the conversion report as JSON to this file")
	fs.StringVar(&f.passList, "passes", "", "run these passes instead of the default pipeline (comma-separated; see --list-passes)")
	fs.BoolVar(&f.listPass, "list-passes", false, "list the passes and exit")
	fs.StringVar(&f.printAfter, "print-after", "", "print the graph after this pass (or 'all') to stderr")
	fs.StringVar(&f.dumpAfter, "dump-after", "", "write the model after this pass (or 'all') as OUT.<pass>.onnx")
	fs.BoolVar(&f.verbose, "v", false, "print per-pass statistics to stderr")
	fs.BoolVar(&f.force, "force", false, "allow OUT to be the same file as IN")
	fs.BoolVar(&f.recover, "recover", false, "cheap recovery before ternarization: least-squares ternary scales and bias correction on --calib data")
	maxMACs := fs.Int64("max-macs", defaultMaxMACs, "refuse a model whose calibration run would take more than this many multiply-accumulates (0: no limit)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if f.listPass {
		for _, p := range passes.All {
			fmt.Fprintf(stdout, "%-14s %s\n", p.Name, p.Doc)
		}
		return nil
	}
	if len(pos) != 2 {
		return usagef("want IN.onnx and OUT.onnx, got %d arguments", len(pos))
	}
	in, out := pos[0], pos[1]
	if err := f.apply(); err != nil {
		return usageError{err}
	}
	if *maxMACs < 0 {
		return usagef("--max-macs %d: want 0 or more", *maxMACs)
	}
	mp, inFiles, err := loadInput(in)
	if err != nil {
		return inputError(err)
	}
	if err := checkOutputs(inFiles, out, f.report, f.force); err != nil {
		return err
	}
	// The report and the --dump-after models are staged and put in place
	// only once the output is written: a failure leaves no file behind.
	var staged stagedFiles
	defer staged.abort()
	opts := passes.Options{Config: f.cfg, Limits: passes.Limits{MaxWork: *maxMACs}, Warn: func(msg string) { fmt.Fprintln(stderr, "warning:", msg) }}
	if f.recover {
		if f.calibDir == "" {
			return usagef("--recover needs --calib data")
		}
		p := passes.Default()
		if f.passList != "" {
			if p, err = passes.Select(passes.All, f.passList); err != nil {
				return usageError{err}
			}
		}
		opts.Pipeline = withRecover(p, train.NewRecoverPass(train.RecoverOptions{Config: f.cfg}))
	} else if f.passList != "" {
		if opts.Pipeline, err = passes.Select(passes.All, f.passList); err != nil {
			return usageError{err}
		}
	}
	if f.ranges != "" {
		rf, err := os.Open(f.ranges)
		if err != nil {
			return inputError(err)
		}
		opts.Ranges, err = passes.ReadRanges(rf)
		rf.Close()
		if err != nil {
			return inputError(fmt.Errorf("%s: %w", f.ranges, err))
		}
	}
	var calibSrc data.Source
	if f.calibDir != "" {
		if opts.Calib, calibSrc, err = openCalib(f.calibDir, mp, f); err != nil {
			return inputError(err)
		}
	}
	opts.After = func(p *passes.Pass, s *passes.State) error {
		if f.printAfter == p.Name || f.printAfter == "all" {
			fmt.Fprintf(stderr, "# after %s\n", p.Name)
			passes.WriteGraph(stderr, s.Model.Graph)
		}
		if f.dumpAfter == p.Name || f.dumpAfter == "all" {
			dm, err := s.Model.ToProtoWith(ir.ToProtoOptions{ValueInfo: true})
			if err != nil {
				return err
			}
			path := strings.TrimSuffix(out, ".onnx") + "." + p.Name + ".onnx"
			if victim, err := inFiles.clobbers(path); err != nil {
				return err
			} else if victim != "" {
				return fmt.Errorf("--dump-after: %s would overwrite the input file %s", path, victim)
			}
			if err := staged.write(path, func(w io.Writer) error { return onnx.Write(w, dm) }); err != nil {
				return err
			}
		}
		return nil
	}
	res, rep, err := passes.Convert(mp, opts)
	if f.verbose && rep != nil {
		writePassStats(stderr, rep.Passes)
	}
	if err != nil {
		var invalid *passes.InvalidModelError
		if errors.As(err, &invalid) || errors.Is(err, ir.ErrInvalidGraph) {
			return inputError(fmt.Errorf("%s: %w", in, err))
		}
		return failure{fmt.Errorf("%s: %w", in, err)}
	}
	if calibSrc != nil {
		if err := measureError(rep, mp, res, calibSrc); err != nil {
			return failure{fmt.Errorf("measuring the error on calibration data: %w", err)}
		}
	}
	if f.report != "" {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return failure{err}
		}
		if err := staged.write(f.report, func(w io.Writer) error { _, err := w.Write(append(b, '\n')); return err }); err != nil {
			return failure{err}
		}
	}
	if err := onnx.Save(out, res); err != nil {
		return failure{err}
	}
	if err := staged.commit(); err != nil {
		os.Remove(out)
		return failure{err}
	}
	for _, p := range staged.dst {
		if p != f.report {
			fmt.Fprintf(stderr, "wrote %s\n", p)
		}
	}
	writeReport(stdout, rep)
	return nil
}

func (f *convertFlags) apply() error {
	f.cfg.Format = passes.Format(f.format)
	f.cfg.Select = passes.Selection(f.sel)
	f.cfg.Rule = passes.TernaryRule(f.rule)
	f.cfg.Calibration = passes.CalibMethod(f.method)
	f.cfg.Include, f.cfg.Exclude, f.cfg.KeepFloat = f.include, f.exclude, f.keep
	switch f.acts {
	case "int8":
		f.cfg.Activations = tensor.Int8
	case "uint8":
		f.cfg.Activations = tensor.Uint8
	default:
		return fmt.Errorf("--activations %q: want int8 or uint8", f.acts)
	}
	return f.cfg.Validate()
}

func writePassStats(w io.Writer, stats []passes.PassStat) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "pass\tchanged\tnodes\ttime\tstats")
	for _, s := range stats {
		var kv []string
		for k, v := range s.Stats {
			kv = append(kv, fmt.Sprintf("%s=%d", k, v))
		}
		sort.Strings(kv)
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\n", s.Name, s.Changed, s.Nodes, s.Duration.Round(1e5), strings.Join(kv, " "))
	}
	tw.Flush()
}

func writeReport(w io.Writer, r *passes.Report) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "layer\top\tkind\tbits\tparams\tMACs\tweight err\tSQNR dB\t")
	for _, l := range r.Layers {
		sqnr := "-"
		if l.SQNR != nil {
			sqnr = fmt.Sprintf("%.1f", *l.SQNR)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%.4f\t%s\t\n", l.Name, l.OpType, l.Kind, l.Bits, l.Params, l.MACs, l.WeightError, sqnr)
	}
	tw.Flush()
	t := r.Totals
	if t.ErrorSamples > 0 {
		fmt.Fprintf(w, "\non %d calibration samples: output SQNR %.1f dB, top-1 agreement with the input model %.1f%%\n",
			t.ErrorSamples, t.OutputSQNR, 100*t.Agreement)
	}
	fmt.Fprintf(w, "\nternarized %d of %d pointwise convs (%.1f%% of MACs); ternary zero share %.1f%%\n",
		t.Ternarized, t.PointwiseConvs, 100*t.TernaryMACShare, 100*t.TernaryZeroShare)
	fmt.Fprintf(w, "weights: %d bytes vs %d float32 (%.2fx) and %d float16 (%.2fx)\n",
		t.OutputWeightBytes, t.Float32Bytes, t.RatioVsFloat32, t.Float16Bytes, t.RatioVsFloat16)
	fmt.Fprintf(w, "file: %d bytes vs %d as float16 (%.2fx); %d params, %d MACs\n",
		t.OutputFileBytes, t.Float16FileBytes, t.FileRatioVsFloat16, t.Params, t.MACs)
}

// withRecover inserts the recovery pass right after "select".
func withRecover(p passes.Pipeline, rec *passes.Pass) passes.Pipeline {
	var out passes.Pipeline
	for _, ps := range p {
		out = append(out, ps)
		if ps.Name == "select" {
			out = append(out, rec)
		}
	}
	return out
}
