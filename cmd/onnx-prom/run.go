package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/onnx-prom/onnx-prom/onnx"
	"github.com/onnx-prom/onnx-prom/onnx/ir"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
	"github.com/onnx-prom/onnx-prom/verify/data"
	"github.com/onnx-prom/onnx-prom/verify/interp"
	"github.com/x448/float16"
)

func init() {
	c := &command{
		name:  "run",
		usage: "MODEL [--input NAME=FILE.npy]... [--shape NAME=D1,D2,...]... [--output DIR] [--seed N] [--batch N] [--threads N] [--fuse=false] [--repeat N]",
		doc:   "run a model in the Go interpreter on .npy or seeded random inputs; print or save its outputs",
	}
	c.run = func(args []string, stdout, stderr io.Writer) error { return runRun(c, args, stdout, stderr) }
	register(c)
}

// Run output limits.
const (
	runShowValues = 8  // first values printed per output
	runShowRows   = 16 // argmax rows printed per 2-D output
)

// inputFlags collects repeated --input NAME=FILE flags, in order.
type inputFlags []string

func (f *inputFlags) String() string { return strings.Join(*f, " ") }

func (f *inputFlags) Set(v string) error {
	if v == "" {
		return errors.New("empty --input")
	}
	*f = append(*f, v)
	return nil
}

// runShapeFlags collects repeated --shape NAME=D1,D2,... flags.
type runShapeFlags map[string][]int64

func (s runShapeFlags) String() string { return "" }

func (s runShapeFlags) Set(v string) error {
	name, dims, ok := strings.Cut(v, "=")
	if !ok || name == "" || dims == "" {
		return fmt.Errorf("want NAME=D1,D2,..., got %q", v)
	}
	if _, dup := s[name]; dup {
		return fmt.Errorf("input %q is given twice", name)
	}
	var out []int64
	for _, d := range strings.Split(dims, ",") {
		n, err := strconv.ParseInt(strings.TrimSpace(d), 10, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("bad dimension %q in %q", d, v)
		}
		out = append(out, n)
	}
	s[name] = out
	return nil
}

func runRun(c *command, args []string, stdout, stderr io.Writer) error {
	fs := newFlags(c, stderr)
	var inputs inputFlags
	fs.Var(&inputs, "input", "feed input `NAME=FILE.npy` (repeatable; FILE.npy alone for a model with one input)")
	shapes := runShapeFlags{}
	fs.Var(shapes, "shape", "shape of the random input `NAME=D1,D2,...` (repeatable)")
	outDir := fs.String("output", "", "write each output to `DIR`/NAME.npy")
	seed := fs.Uint64("seed", 0, "seed of the random inputs")
	batch := fs.Int("batch", 1, "batch size of random inputs: the value of a symbolic first dimension")
	threads := fs.Int("threads", 0, "goroutines per kernel (0: all cores)")
	fuse := fs.Bool("fuse", true, "fold BatchNormalization into Conv and fuse Relu/Clip into it, as ONNX Runtime does (--fuse=false runs every node as written)")
	repeat := fs.Int("repeat", 0, "time `N` more runs after the first and print the time per run and the memory the runs held")
	maxMACs := fs.Int64("max-macs", defaultMaxMACs, "refuse to run when the estimated work is over this many multiply-accumulates (0: no limit)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want one MODEL argument, got %d (usage: onnx-prom run %s)", len(pos), c.usage)
	}
	if *batch < 1 {
		return usagef("--batch %d: want at least 1", *batch)
	}
	if *repeat < 0 {
		return usagef("--repeat %d: want 0 or more", *repeat)
	}
	if *threads < 0 {
		return usagef("--threads %d: want 0 or more", *threads)
	}
	if *maxMACs < 0 {
		return usagef("--max-macs %d: want 0 or more", *maxMACs)
	}
	path := pos[0]

	mp, err := onnx.Load(path)
	if err != nil {
		if !strings.Contains(err.Error(), path) {
			err = fmt.Errorf("%s: %w", path, err)
		}
		return inputError(err)
	}
	m, err := ir.FromProto(mp)
	if err != nil {
		return inputError(fmt.Errorf("%s: %w", path, err))
	}
	prog, err := interp.Compile(m, interp.Options{Threads: *threads, MaxWork: *maxMACs, Fuse: *fuse})
	if err != nil {
		return inputError(fmt.Errorf("%s: %w", path, err))
	}

	feeds, how, err := buildFeeds(prog.Inputs(), inputs, shapes, *seed, int64(*batch))
	if err != nil {
		return inputError(fmt.Errorf("%s: %w", path, err))
	}
	for _, in := range prog.Inputs() {
		if t := feeds[in.Name]; t != nil {
			fmt.Fprintf(stdout, "input %s: %s %v %s\n", in.Name, tensor.Name(t.Type), t.Shape, how[in.Name])
		}
	}
	if *maxMACs > 0 {
		// Refuse before running what would take too long for these
		// shapes (the run itself stops at the first node over budget,
		// for what shape inference cannot foresee).
		shapes := map[string][]int64{}
		for name, t := range feeds {
			shapes[name] = t.Shape
		}
		total, top, err := interp.EstimateWork(m, shapes)
		if err != nil {
			return inputError(fmt.Errorf("%s: %w", path, err))
		}
		if total > *maxMACs {
			return inputError(fmt.Errorf("%s: %w: the estimated work for these inputs, %d multiply-accumulates (most in node %s), is over --max-macs %d", path, interp.ErrWorkBudget, total, top.Label(), *maxMACs))
		}
	}
	outs, err := prog.Run(feeds)
	if err != nil {
		return inputError(fmt.Errorf("%s: %w", path, err))
	}
	names := prog.Outputs()
	for _, name := range names {
		printSummary(stdout, name, outs[name])
	}
	if *repeat > 0 {
		var stats interp.RunStats
		start := time.Now()
		for range *repeat {
			if _, err := prog.RunWith(feeds, interp.RunOptions{Stats: &stats}); err != nil {
				return inputError(fmt.Errorf("%s: %w", path, err))
			}
		}
		per := time.Since(start) / time.Duration(*repeat)
		fmt.Fprintf(stdout, "time: %.3f ms per run (%d runs after the first)\n", float64(per.Microseconds())/1e3, *repeat)
		fmt.Fprintf(stdout, "memory: %.1f MiB of constants, %.1f MiB of buffers at the peak of a run (%.1f MiB in use)\n",
			float64(prog.ConstantBytes())/(1<<20), float64(stats.PeakPoolBytes)/(1<<20), float64(stats.PeakLiveBytes)/(1<<20))
	}
	if *outDir == "" {
		return nil
	}
	written, err := writeOutputs(*outDir, names, outs)
	if err != nil {
		return failure{err}
	}
	for _, p := range written {
		fmt.Fprintf(stdout, "wrote %s\n", p)
	}
	return nil
}

// buildFeeds reads the --input files and makes random tensors for the
// other required inputs. how describes where each input came from.
func buildFeeds(ins []interp.InputInfo, files []string, shapes runShapeFlags, seed uint64, batch int64) (map[string]*tensor.Tensor, map[string]string, error) {
	byName := map[string]interp.InputInfo{}
	var required []string
	var names []string
	for _, in := range ins {
		byName[in.Name] = in
		names = append(names, fmt.Sprintf("%q", in.Name))
		if !in.Optional {
			required = append(required, in.Name)
		}
	}
	list := strings.Join(names, ", ")
	if list == "" {
		list = "none"
	}
	feeds := map[string]*tensor.Tensor{}
	how := map[string]string{}
	for _, f := range files {
		name, file, ok := strings.Cut(f, "=")
		if !ok {
			// A bare file feeds the only required input.
			if len(required) != 1 {
				return nil, nil, fmt.Errorf("--input %s: name the input (NAME=FILE.npy); the model's inputs are %s", f, list)
			}
			name, file = required[0], f
		}
		in, known := byName[name]
		if !known {
			return nil, nil, fmt.Errorf("--input %s: the model has no input %q; its inputs are %s", f, name, list)
		}
		if _, dup := feeds[name]; dup {
			return nil, nil, fmt.Errorf("--input %s: input %q is given twice", f, name)
		}
		if _, both := shapes[name]; both {
			return nil, nil, fmt.Errorf("input %q: both --input and --shape given", name)
		}
		t, err := data.ReadNPYFile(file)
		if err != nil {
			return nil, nil, fmt.Errorf("input %q: %w", name, err)
		}
		if err := checkFeed(in, t); err != nil {
			return nil, nil, fmt.Errorf("input %q from %s: %w", name, file, err)
		}
		feeds[name] = t
		how[name] = "from " + file
	}
	for name := range shapes {
		if _, known := byName[name]; !known {
			return nil, nil, fmt.Errorf("--shape %s: the model has no input %q; its inputs are %s", name, name, list)
		}
	}
	for i, in := range ins {
		if feeds[in.Name] != nil || (in.Optional && shapes[in.Name] == nil) {
			continue
		}
		shape, err := randomShape(in, shapes[in.Name], batch)
		if err != nil {
			return nil, nil, err
		}
		r := rand.New(rand.NewPCG(seed, uint64(i)))
		t, dist, err := randomTensor(r, in.Type, shape)
		if err != nil {
			return nil, nil, fmt.Errorf("input %q: %w", in.Name, err)
		}
		feeds[in.Name] = t
		how[in.Name] = fmt.Sprintf("random %s, seed %d", dist, seed)
	}
	return feeds, how, nil
}

// checkFeed checks a tensor read from a file against the model's input.
func checkFeed(in interp.InputInfo, t *tensor.Tensor) error {
	if in.Type != tensor.Undefined && t.Type != in.Type {
		hint := ""
		if in.Type == tensor.Float && t.Type == tensor.Double {
			hint = " (NumPy's default; save x.astype(numpy.float32))"
		}
		return fmt.Errorf("the file holds %s%s, the model wants %s", tensor.Name(t.Type), hint, tensor.Name(in.Type))
	}
	if in.Shape == nil {
		return nil
	}
	ok := len(t.Shape) == len(in.Shape)
	for i := 0; ok && i < len(in.Shape); i++ {
		ok = !in.Shape[i].Known() || in.Shape[i].Value == t.Shape[i]
	}
	if !ok {
		return fmt.Errorf("the file holds shape %v, the model wants %v", t.Shape, in.Shape)
	}
	return nil
}

// randomShape is the shape of a random input: --shape if given, else the
// model's, with an unknown first dimension set to the batch size and other
// unknown dimensions to 1.
func randomShape(in interp.InputInfo, given []int64, batch int64) ([]int64, error) {
	if given != nil {
		if in.Shape != nil {
			ok := len(given) == len(in.Shape)
			for i := 0; ok && i < len(given); i++ {
				ok = !in.Shape[i].Known() || in.Shape[i].Value == given[i]
			}
			if !ok {
				return nil, fmt.Errorf("--shape %s=%v: the model wants %v", in.Name, joinDims(given), in.Shape)
			}
		}
		return given, nil
	}
	if in.Shape == nil {
		return nil, fmt.Errorf("input %q has an unknown rank: give --shape %s=D1,D2,... or --input %s=FILE.npy", in.Name, in.Name, in.Name)
	}
	shape := make([]int64, len(in.Shape))
	for i, d := range in.Shape {
		switch {
		case d.Known():
			shape[i] = d.Value
		case i == 0:
			shape[i] = batch
		default:
			shape[i] = 1
		}
	}
	return shape, nil
}

func joinDims(d []int64) string {
	s := make([]string, len(d))
	for i, v := range d {
		s[i] = fmt.Sprint(v)
	}
	return strings.Join(s, ",")
}

// randomTensor draws a tensor: floats from N(0,1), integers uniform in
// [0,10), booleans fair coins.
func randomTensor(r *rand.Rand, dt tensor.DataType, shape []int64) (*tensor.Tensor, string, error) {
	t, err := tensor.New(dt, shape...)
	if err != nil {
		return nil, "", err
	}
	switch d := t.Data.(type) {
	case []float32:
		for i := range d {
			d[i] = float32(r.NormFloat64())
		}
	case []float64:
		for i := range d {
			d[i] = r.NormFloat64()
		}
	case []float16.Float16:
		for i := range d {
			d[i] = float16.Fromfloat32(float32(r.NormFloat64()))
		}
	case []tensor.BFloat16:
		for i := range d {
			d[i] = tensor.BFloat16FromFloat32(float32(r.NormFloat64()))
		}
	case []bool:
		for i := range d {
			d[i] = r.IntN(2) == 1
		}
		return t, "booleans", nil
	case []int8:
		fillInts(r, d)
	case []int16:
		fillInts(r, d)
	case []int32:
		fillInts(r, d)
	case []int64:
		fillInts(r, d)
	case []uint8:
		fillInts(r, d)
	case []uint16:
		fillInts(r, d)
	case []uint32:
		fillInts(r, d)
	case []uint64:
		fillInts(r, d)
	default:
		return nil, "", fmt.Errorf("cannot make random %s values: give --input NAME=FILE.npy", tensor.Name(dt))
	}
	if isFloatType(dt) {
		return t, "N(0,1)", nil
	}
	return t, "integers in [0,10)", nil
}

func fillInts[T int8 | int16 | int32 | int64 | uint8 | uint16 | uint32 | uint64](r *rand.Rand, d []T) {
	for i := range d {
		d[i] = T(r.IntN(10))
	}
}

func isFloatType(dt tensor.DataType) bool {
	return dt == tensor.Float || dt == tensor.Double || dt == tensor.Float16 || dt == tensor.BFloat16T
}

// printSummary prints an output's type, shape, range, mean, first values
// and, for a 2-D output, the argmax of each row.
func printSummary(w io.Writer, name string, t *tensor.Tensor) {
	if t == nil {
		fmt.Fprintf(w, "output %s: missing\n", name)
		return
	}
	fmt.Fprintf(w, "output %s: %s %v", name, tensor.Name(t.Type), t.Shape)
	vals, err := t.Float64s()
	if err != nil {
		fmt.Fprintln(w)
		return
	}
	if len(vals) == 0 {
		fmt.Fprintln(w, " empty")
		return
	}
	lo, hi, sum, finite, nans, infs := math.Inf(1), math.Inf(-1), 0.0, 0, 0, 0
	for _, v := range vals {
		switch {
		case math.IsNaN(v):
			nans++
		case math.IsInf(v, 0):
			infs++
		default:
			lo, hi = min(lo, v), max(hi, v)
			sum += v
			finite++
		}
	}
	if finite > 0 {
		fmt.Fprintf(w, " min %s max %s mean %s", num(lo), num(hi), num(sum/float64(finite)))
	}
	if nans > 0 {
		fmt.Fprintf(w, " NaN %d", nans)
	}
	if infs > 0 {
		fmt.Fprintf(w, " Inf %d", infs)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  values:")
	for _, v := range vals[:min(len(vals), runShowValues)] {
		fmt.Fprintf(w, " %s", num(v))
	}
	if len(vals) > runShowValues {
		fmt.Fprintf(w, " ...")
	}
	fmt.Fprintln(w)
	if len(t.Shape) == 2 && t.Shape[0] > 0 && t.Shape[1] > 0 {
		rows, cols := int(t.Shape[0]), int(t.Shape[1])
		fmt.Fprintf(w, "  argmax per row:")
		for r := 0; r < min(rows, runShowRows); r++ {
			best := -1
			for c := 0; c < cols; c++ {
				v := vals[r*cols+c]
				if !math.IsNaN(v) && (best < 0 || v > vals[r*cols+best]) {
					best = c
				}
			}
			fmt.Fprintf(w, " %d", best)
		}
		if rows > runShowRows {
			fmt.Fprintf(w, " ...")
		}
		fmt.Fprintln(w)
	}
}

// num formats a value briefly: integers as they are, others with 6
// significant digits.
func num(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.6g", v)
}

// writeOutputs writes each output to dir/<safe name>.npy: all to temporary
// files first, then renamed into place, so that a failure leaves no
// partial results.
func writeOutputs(dir string, names []string, outs map[string]*tensor.Tensor) (written []string, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	files := outputFileNames(names)
	var temps []string
	defer func() {
		for _, t := range temps {
			if t != "" {
				os.Remove(t)
			}
		}
	}()
	for i, name := range names {
		f, err := os.CreateTemp(dir, "."+files[i]+".tmp-*")
		if err != nil {
			return nil, err
		}
		temps = append(temps, f.Name())
		werr := data.WriteNPY(f, outs[name])
		if werr == nil {
			werr = f.Chmod(0o644)
		}
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return nil, fmt.Errorf("output %q: %s: %w", name, filepath.Join(dir, files[i]), werr)
		}
	}
	for i := range names {
		dst := filepath.Join(dir, files[i])
		if err := os.Rename(temps[i], dst); err != nil {
			return written, err
		}
		temps[i] = ""
		written = append(written, dst)
	}
	return written, nil
}

// outputFileNames maps output names to distinct safe file names: letters,
// digits, '.', '-' and '_' are kept, anything else becomes '_'; a leading
// '.' becomes '_'; names are cut to 100 bytes; names equal regardless of
// case get a _2, _3, ... suffix.
func outputFileNames(names []string) []string {
	used := map[string]bool{}
	out := make([]string, len(names))
	for i, name := range names {
		var b strings.Builder
		for _, r := range name {
			switch {
			case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
				b.WriteRune(r)
			case r == '.' && b.Len() > 0:
				b.WriteRune(r)
			default:
				b.WriteByte('_')
			}
			if b.Len() >= 100 {
				break
			}
		}
		base := b.String()
		if base == "" {
			base = "output"
		}
		file := base + ".npy"
		for k := 2; used[strings.ToLower(file)]; k++ {
			file = fmt.Sprintf("%s_%d.npy", base, k)
		}
		used[strings.ToLower(file)] = true
		out[i] = file
	}
	return out
}
