package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/onnx-prom/onnx-prom/onnx"
	"github.com/onnx-prom/onnx-prom/onnx/ir"
	"github.com/onnx-prom/onnx-prom/onnx/onnxpb"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
	"github.com/onnx-prom/onnx-prom/passes"
	"github.com/onnx-prom/onnx-prom/train"
	"github.com/onnx-prom/onnx-prom/verify/data"
)

func init() {
	register(&command{
		name:  "finetune",
		usage: "IN.onnx OUT.onnx --data DATA [--val DATA] [--epochs N] [--lr X] [--batch N] [--seed N] [--optimizer adam|sgd] [--distill] [--recover-only | --float] [flags]",
		doc:   "quantization-aware training (QAT) for the PROM conversion; writes OUT.onnx and OUT.ranges.json",
		run:   runFinetune,
	})
}

type finetuneFlags struct {
	data, val, labels, valLabels string
	format, split                string
	size, resize                 int
	mean, std                    string
	gray                         bool
	limit, valLimit              int
	inputShape                   string

	epochs, batch, warmup, threads int
	lr, momentum, wd, temp, alpha  float64
	seed                           uint64
	optimizer                      string
	constant, distill, relative    bool
	float, frozenBN                bool
	recoverOnly                    bool
	recoverSamples, shift          int
	ranges                         string
	force                          bool

	sel, rule, acts  string
	include, exclude ftList
	keep             ftList
	msOps, se        bool
}

// ftList collects repeated or comma-separated values.
type ftList []string

func (l *ftList) String() string { return strings.Join(*l, ",") }
func (l *ftList) Set(s string) error {
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			*l = append(*l, v)
		}
	}
	return nil
}

func runFinetune(args []string, stdout, stderr io.Writer) error {
	c := commands["finetune"]
	fs := newFlags(c, stderr)
	var f finetuneFlags
	fs.StringVar(&f.data, "data", "", "training data: a .npy batch, a folder of .npy files or images (class folders give labels), or MNIST's digits folder")
	fs.StringVar(&f.val, "val", "", "validation data, evaluated after every epoch (MNIST: its test split)")
	fs.StringVar(&f.labels, "labels", "", "label file for --data (\"name,label\" lines or one label per line)")
	fs.StringVar(&f.valLabels, "val-labels", "", "label file for --val")
	fs.StringVar(&f.format, "format", "", "data format: npy, npy-batch, images or mnist (default: from the path)")
	fs.StringVar(&f.split, "split", "train", "MNIST split of --data: train, test or all")
	fs.IntVar(&f.size, "size", 224, "image side (center crop) for image data")
	fs.IntVar(&f.resize, "resize", 0, "shorter image side before the crop (0: --size)")
	fs.StringVar(&f.mean, "mean", "", "per-channel mean on the 0..1 scale (default: ImageNet's for images, none for MNIST and .npy)")
	fs.StringVar(&f.std, "std", "", "per-channel std (default: ImageNet's for images, none for MNIST and .npy)")
	fs.BoolVar(&f.gray, "grayscale", false, "convert images to one channel")
	fs.IntVar(&f.limit, "limit", 0, "train on at most this many samples (0: all)")
	fs.IntVar(&f.valLimit, "val-limit", 0, "validate on at most this many samples (0: all)")
	fs.StringVar(&f.inputShape, "input-shape", "", "per-sample input shape, e.g. 3,48,192, for a model whose input leaves dimensions unknown")

	fs.IntVar(&f.epochs, "epochs", 3, "epochs over the training data")
	fs.Float64Var(&f.lr, "lr", 0, "peak learning rate (0: QAT 1e-2 relative (see --relative-lr); float 3e-3 with Adam, 0.01 with SGD)")
	fs.IntVar(&f.batch, "batch", 64, "samples per step")
	fs.Uint64Var(&f.seed, "seed", 1, "seed of the shuffling")
	fs.StringVar(&f.optimizer, "optimizer", "adam", "adam (decoupled weight decay) or sgd (momentum, L2)")
	fs.Float64Var(&f.momentum, "momentum", 0.9, "SGD momentum")
	fs.Float64Var(&f.wd, "wd", 0, "weight decay of Conv, Gemm and MatMul weights")
	fs.IntVar(&f.warmup, "warmup", 0, "steps of linear learning-rate warm-up")
	fs.BoolVar(&f.constant, "constant-lr", false, "keep the learning rate constant instead of the cosine decay")
	fs.BoolVar(&f.distill, "distill", false, "train on the KL divergence to the input model's softened logits instead of labels (automatic without labels)")
	fs.Float64Var(&f.temp, "temperature", 2, "softening temperature of --distill")
	fs.Float64Var(&f.alpha, "distill-weight", 1, "with labels and --distill: weight of the KL term; 1 - it weighs cross-entropy")
	fs.BoolVar(&f.relative, "relative-lr", true, "QAT: scale the steps of quantized weights by each output channel's mean |w| (--lr is then a relative step)")
	fs.IntVar(&f.shift, "shift", 0, "augment image inputs by random translations of up to this many pixels")
	fs.IntVar(&f.threads, "threads", 0, "goroutines (0: all CPUs)")

	fs.BoolVar(&f.float, "float", false, "train the float model (no quantization; BatchNormalization with batch statistics); IN may be builtin:mnistnet[:SEED]")
	fs.BoolVar(&f.frozenBN, "frozen-bn", false, "with --float: keep BatchNormalization statistics fixed")
	fs.BoolVar(&f.recoverOnly, "recover-only", false, "only run cheap recovery (scale fitting, bias correction) on samples of --data; no training, no ranges file")
	fs.IntVar(&f.recoverSamples, "recover-samples", 256, "calibration samples for recovery")
	fs.StringVar(&f.ranges, "ranges", "", "where to write the learned activation ranges (default OUT without .onnx + .ranges.json)")
	fs.BoolVar(&f.force, "force", false, "allow OUT to be the same file as IN")

	fs.StringVar(&f.sel, "select", "all", "as convert: pointwise convs to ternarize (all, adjacent, none)")
	fs.Var(&f.include, "include", "as convert: also ternarize these conv nodes")
	fs.Var(&f.exclude, "exclude", "as convert: never ternarize these conv nodes")
	fs.BoolVar(&f.se, "se", false, "as convert: also ternarize squeeze-excite 1x1 convs")
	fs.StringVar(&f.rule, "rule", "twn", "as convert: ternarization rule of the initial codes (twn or absmean)")
	fs.Var(&f.keep, "keep-float", "as convert: leave these nodes (names or op types) in float")
	fs.StringVar(&f.acts, "activations", "int8", "as convert: activation type, int8 or uint8")
	fs.BoolVar(&f.msOps, "ms-ops", false, "as convert: com.microsoft quantized Add, Mul and GlobalAveragePool")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usagef("want IN.onnx and OUT.onnx, got %d arguments", len(pos))
	}
	in, out := pos[0], pos[1]
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	if f.data == "" {
		return usagef("--data is required")
	}
	if f.float && f.recoverOnly {
		return usagef("--float and --recover-only exclude each other")
	}
	if f.optimizer != train.Adam && f.optimizer != train.SGD {
		return usagef("--optimizer %q: want adam or sgd", f.optimizer)
	}
	if f.epochs < 0 || f.batch < 1 || f.limit < 0 || f.valLimit < 0 || f.recoverSamples < 1 || f.shift < 0 {
		return usagef("--epochs, --limit, --val-limit and --shift must be >= 0, --batch and --recover-samples >= 1")
	}
	cfg := passes.DefaultConfig()
	cfg.Select, cfg.Rule = passes.Selection(f.sel), passes.TernaryRule(f.rule)
	cfg.Include, cfg.Exclude, cfg.KeepFloat = f.include, f.exclude, f.keep
	cfg.TernarizeSE, cfg.MicrosoftOps = f.se, f.msOps
	switch f.acts {
	case "int8":
		cfg.Activations = tensor.Int8
	case "uint8":
		cfg.Activations = tensor.Uint8
	default:
		return usagef("--activations %q: want int8 or uint8", f.acts)
	}
	if err := cfg.Validate(); err != nil {
		return usageError{err}
	}
	rangesPath := f.ranges
	if rangesPath == "" {
		rangesPath = strings.TrimSuffix(out, ".onnx") + ".ranges.json"
	}
	mp, err := loadFinetuneModel(in, out, f.force)
	if err != nil {
		return err
	}
	var fixed []int
	if f.inputShape != "" {
		for _, p := range strings.Split(f.inputShape, ",") {
			d, err := strconv.Atoi(strings.TrimSpace(p))
			if err != nil || d < 1 {
				return usagef("--input-shape %q: want positive sizes like 3,224,224", f.inputShape)
			}
			fixed = append(fixed, d)
		}
	}
	inName, shape, err := dataInput(mp, fixed)
	if err != nil {
		return inputError(fmt.Errorf("%s: %w", in, err))
	}
	trainSet, err := openFinetuneData(f.data, f.labels, f.split, f.limit, shape, f, set)
	if err != nil {
		return inputError(fmt.Errorf("--data: %w", err))
	}
	var valSet train.Dataset
	if f.val != "" {
		if valSet, err = openFinetuneData(f.val, f.valLabels, data.MNISTTest, f.valLimit, shape, f, set); err != nil {
			return inputError(fmt.Errorf("--val: %w", err))
		}
	}
	calib := train.CalibFeed(trainSet, inName, shape)

	if f.recoverOnly {
		start := time.Now()
		rec, layers, err := train.Recover(mp, calib, train.RecoverOptions{Config: cfg, Samples: f.recoverSamples, Threads: f.threads})
		if err != nil {
			return failure{fmt.Errorf("recovery: %w", err)}
		}
		for _, l := range layers {
			fmt.Fprintf(stderr, "recover %-24s %4d/%-4d channels fitted  scale x%.3f  layer error %.3f -> %.3f\n",
				l.Name, l.Fitted, l.Channels, l.ScaleRatio, l.ErrBefore, l.ErrAfter)
		}
		fmt.Fprintf(stderr, "recovered %d convs on %d samples in %s\n", len(layers), min(f.recoverSamples, calib.Len()), time.Since(start).Round(time.Millisecond))
		if err := onnx.Save(out, rec); err != nil {
			return failure{err}
		}
		fmt.Fprintf(stdout, "wrote %s\nconvert with: onnx-prom %s PROM.onnx --calib DATA\n", out, out)
		return nil
	}
	return finetune(mp, trainSet, valSet, shape, out, rangesPath, cfg, f, stdout, stderr)
}

// loadFinetuneModel reads IN, or builds builtin:mnistnet[:SEED].
func loadFinetuneModel(in, out string, force bool) (*onnxpb.ModelProto, error) {
	if rest, ok := strings.CutPrefix(in, "builtin:"); ok {
		name, seedStr, _ := strings.Cut(rest, ":")
		if name != "mnistnet" {
			return nil, usagef("unknown builtin model %q (known: mnistnet)", name)
		}
		seed := uint64(1)
		if seedStr != "" {
			s, err := strconv.ParseUint(seedStr, 10, 64)
			if err != nil {
				return nil, usagef("builtin:mnistnet seed %q: %v", seedStr, err)
			}
			seed = s
		}
		mp, err := train.MNISTNet(seed)
		if err != nil {
			return nil, failure{err}
		}
		return mp, nil
	}
	if same, err := sameFile(in, out); err != nil {
		return nil, inputError(err)
	} else if same && !force {
		return nil, usagef("output %s is the input file; pass --force to overwrite it", out)
	}
	mp, err := onnx.Load(in)
	if err != nil {
		return nil, inputError(err)
	}
	return mp, nil
}

// dataInput returns the model's data input and its per-sample shape
// (fixed when given, checked against the known dimensions).
func dataInput(mp *onnxpb.ModelProto, fixed []int) (string, []int, error) {
	m, err := ir.FromProto(mp)
	if err != nil {
		return "", nil, err
	}
	for _, v := range m.Graph.Inputs {
		if v.Const != nil {
			continue
		}
		if fixed != nil {
			if v.Shape != nil && len(v.Shape) != len(fixed)+1 {
				return "", nil, fmt.Errorf("--input-shape %v does not fit input %q of shape %v", fixed, v.Name, v.Shape)
			}
			for i, d := range v.Shape[min(1, len(v.Shape)):] {
				if d.Known() && d.Value != int64(fixed[i]) {
					return "", nil, fmt.Errorf("--input-shape %v does not fit input %q of shape %v", fixed, v.Name, v.Shape)
				}
			}
			return v.Name, fixed, nil
		}
		if v.Shape == nil || len(v.Shape) < 2 {
			return "", nil, fmt.Errorf("input %q has shape %v: training needs [N, ...] with known sample dimensions (or --input-shape)", v.Name, v.Shape)
		}
		var shape []int
		for _, d := range v.Shape[1:] {
			if !d.Known() {
				return "", nil, fmt.Errorf("input %q has shape %v: every dimension but the batch must be known (or give --input-shape)", v.Name, v.Shape)
			}
			shape = append(shape, int(d.Value))
		}
		return v.Name, shape, nil
	}
	return "", nil, errors.New("the model has no data input")
}

func openFinetuneData(path, labels, split string, limit int, shape []int, f finetuneFlags, set map[string]bool) (train.Dataset, error) {
	o := data.Options{Format: f.format, Labels: labels, Size: f.size, Resize: f.resize, Grayscale: f.gray, Split: split}
	if set["mean"] {
		v, err := ftFloats(f.mean, "--mean")
		if err != nil {
			return nil, err
		}
		o.Mean = v
	}
	if set["std"] {
		v, err := ftFloats(f.std, "--std")
		if err != nil {
			return nil, err
		}
		o.Std = v
	}
	src, err := data.Open(path, o)
	if err != nil {
		return nil, err
	}
	if src.Len() == 0 {
		return nil, fmt.Errorf("%s holds no samples", path)
	}
	ds, err := train.NewDataset(src, shape, 0)
	if err != nil {
		return nil, err
	}
	if limit > 0 && limit < ds.Len() {
		idx := make([]int, limit)
		for i := range idx {
			idx[i] = i
		}
		ds = &train.Subset{Base: ds, Index: idx}
	}
	return ds, nil
}

func ftFloats(s, name string) ([]float32, error) {
	var out []float32
	for _, p := range strings.Split(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(p), 32)
		if err != nil {
			return nil, fmt.Errorf("%s %q: %w", name, s, err)
		}
		out = append(out, float32(v))
	}
	return out, nil
}

// finetune trains and writes OUT (every epoch) and, in QAT, the ranges.
func finetune(mp *onnxpb.ModelProto, trainSet, valSet train.Dataset, inputShape []int, out, rangesPath string, cfg passes.Config,
	f finetuneFlags, stdout, stderr io.Writer) error {
	mode := train.QAT
	if f.float {
		mode = train.Float
	}
	relative := f.relative && mode == train.QAT
	lr := f.lr
	if lr == 0 {
		switch {
		case relative:
			lr = 1e-2
		case f.optimizer == train.SGD:
			lr = 0.01
		case mode == train.Float:
			lr = 3e-3
		default:
			lr = 5e-4
		}
	}
	tty := isTerminal(stderr)
	o := train.Options{
		Mode: mode, Config: cfg, Epochs: f.epochs, Batch: f.batch, LR: lr, Optimizer: f.optimizer, Momentum: f.momentum,
		WeightDecay: f.wd, Warmup: f.warmup, Constant: f.constant, Seed: f.seed, Threads: f.threads,
		Distill: f.distill, DistillWeight: f.alpha, Temperature: f.temp, RelativeLR: relative, Shift: f.shift,
		FrozenBN: f.frozenBN, Val: valSet, InputShape: inputShape,
		Progress: func(p train.Progress) { printProgress(stderr, p, tty) },
		Checkpoint: func(epoch int, m *onnxpb.ModelProto, r passes.Ranges) error {
			if err := onnx.Save(out, m); err != nil {
				return err
			}
			if r != nil {
				return onnx.WriteFileAtomic(rangesPath, func(w io.Writer) error { return passes.WriteRanges(w, r) })
			}
			return nil
		},
	}
	t, err := train.NewTrainer(mp, o)
	if err != nil {
		if errors.Is(err, ir.ErrInvalidGraph) {
			return inputError(err)
		}
		return failure{err}
	}
	defer t.Close()
	if valSet != nil {
		m, err := t.Evaluate(valSet)
		if err != nil {
			return failure{fmt.Errorf("validation: %w", err)}
		}
		fmt.Fprintf(stderr, "before training: %s\n", metricsLine(m))
	}
	hist, err := t.Fit(trainSet)
	if err != nil {
		return failure{err}
	}
	if f.epochs == 0 {
		m, r, err := t.Export()
		if err != nil {
			return failure{err}
		}
		if err := o.Checkpoint(0, m, r); err != nil {
			return failure{err}
		}
	}
	for _, w := range t.Warnings() {
		fmt.Fprintln(stderr, "warning:", w)
	}
	var total time.Duration
	for _, h := range hist {
		total += h.Duration
	}
	fmt.Fprintf(stdout, "trained %d epochs (%s mode) in %s", len(hist), mode, total.Round(time.Millisecond))
	if len(hist) > 0 {
		last := hist[len(hist)-1]
		fmt.Fprintf(stdout, "; last epoch: loss %.4f", last.Loss)
		if last.Acc >= 0 {
			fmt.Fprintf(stdout, ", train accuracy %.2f%%", 100*last.Acc)
		}
		if last.Val != nil {
			fmt.Fprintf(stdout, ", %s", metricsLine(*last.Val))
		}
	}
	fmt.Fprintln(stdout)
	fmt.Fprintf(stdout, "wrote %s\n", out)
	if mode == train.QAT {
		fmt.Fprintf(stdout, "wrote %s\nconvert with: onnx-prom %s PROM.onnx --ranges %s\n", rangesPath, out, rangesPath)
	}
	return nil
}

func metricsLine(m train.Metrics) string {
	if m.Acc < 0 {
		return fmt.Sprintf("validation: %d samples, no labels", m.Samples)
	}
	return fmt.Sprintf("validation accuracy %.2f%% (%d samples), loss %.4f", 100*m.Acc, m.Labeled, m.Loss)
}

// printProgress updates one status line on a terminal; elsewhere it
// prints a line per epoch.
func printProgress(w io.Writer, p train.Progress, tty bool) {
	acc := ""
	if p.Acc >= 0 {
		acc = fmt.Sprintf(" acc %.2f%%", 100*p.Acc)
	}
	if !p.Done {
		if tty {
			fmt.Fprintf(w, "\repoch %d/%d  step %d/%d  loss %.4f%s  lr %.2g  %s   ", p.Epoch, p.Epochs, p.Step, p.Steps, p.Loss, acc, p.LR,
				p.Elapsed.Round(time.Second))
		}
		return
	}
	if tty {
		fmt.Fprint(w, "\r\033[K")
	}
	val := ""
	if p.Val != nil {
		val = "  " + metricsLine(*p.Val)
	}
	fmt.Fprintf(w, "epoch %d/%d  loss %.4f%s  %s%s\n", p.Epoch, p.Epochs, p.Loss, acc, p.Elapsed.Round(time.Millisecond), val)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
