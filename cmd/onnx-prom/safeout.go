package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/onnx-prom/onnx-prom/onnx"
	"github.com/onnx-prom/onnx-prom/onnx/onnxpb"
)

// Defaults of the resource limits the commands apply to a model.
const (
	// defaultMaxMACs is the default work budget of one run: 100 G
	// multiply-accumulates, 20 times a 960x960 PP-OCRv4 detection pass.
	defaultMaxMACs = 100_000_000_000
)

// inputFiles is a model file and the external data files it reads.
type inputFiles struct {
	model    string
	external []string
}

// loadInput loads the model at path and notes the files it was read from,
// so that outputs can be checked against them.
func loadInput(path string) (*onnxpb.ModelProto, inputFiles, error) {
	files := inputFiles{model: path}
	opts := onnx.LoadOptions{KeepExternal: true}
	mp, err := opts.Load(path)
	if err != nil {
		if !strings.Contains(err.Error(), path) {
			err = fmt.Errorf("%s: %w", path, err)
		}
		return nil, files, err
	}
	seen := map[string]bool{}
	onnx.WalkTensors(mp, func(tp *onnxpb.TensorProto, _ string) error {
		if tp.GetDataLocation() != onnxpb.TensorProto_EXTERNAL {
			return nil
		}
		for _, kv := range tp.GetExternalData() {
			if kv.GetKey() == "location" && !seen[kv.GetValue()] {
				seen[kv.GetValue()] = true
				files.external = append(files.external, filepath.Join(filepath.Dir(path), filepath.FromSlash(kv.GetValue())))
			}
		}
		return nil
	})
	if err := opts.LoadExternalData(mp, filepath.Dir(path)); err != nil {
		return nil, files, fmt.Errorf("%s: %w", path, err)
	}
	return mp, files, nil
}

// clobbers reports which input file writing path would replace: the model
// itself or one of its external data files (through any spelling of the
// path, a symbolic link or a hard link), or "" for none.
func (in inputFiles) clobbers(path string) (string, error) {
	for _, f := range append([]string{in.model}, in.external...) {
		same, err := sameFile(f, path)
		if err != nil {
			return "", err
		}
		if same {
			return f, nil
		}
	}
	return "", nil
}

// checkOutputs refuses output paths that would overwrite an input file:
// the model (allowed for out with force) or its external data files, and a
// report path equal to out.
func checkOutputs(in inputFiles, out, report string, force bool) error {
	victim, err := in.clobbers(out)
	if err != nil {
		return inputError(err)
	}
	switch {
	case victim == in.model && !force:
		return usagef("output %s is the input file; pass --force to overwrite it", out)
	case victim != "" && victim != in.model:
		return usagef("output %s is the input's external data file %s", out, victim)
	}
	if report == "" {
		return nil
	}
	if victim, err = in.clobbers(report); err != nil {
		return inputError(err)
	}
	if victim != "" {
		return usagef("--report %s would overwrite the input file %s", report, victim)
	}
	a, errA := filepath.Abs(report)
	b, errB := filepath.Abs(out)
	same, err := sameFile(out, report)
	if err != nil {
		return inputError(err)
	}
	if same || (errA == nil && errB == nil && a == b) {
		return usagef("--report %s is the output file", report)
	}
	return nil
}

// sameFile reports whether out names the existing file in.
func sameFile(in, out string) (bool, error) {
	a, err := os.Stat(in)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return false, nil
		}
		return false, err
	}
	b, err := os.Stat(out)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return false, nil
		}
		return false, err
	}
	return os.SameFile(a, b), nil
}

// stagedFiles are output files written under temporary names next to
// their destinations and renamed into place only once the whole command
// has succeeded (commit); abort removes them. A failed command thus leaves
// no output behind.
type stagedFiles struct {
	tmp, dst []string
}

// write stages path with the bytes write produces.
func (s *stagedFiles) write(path string, write func(io.Writer) error) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return err
	}
	s.tmp = append(s.tmp, f.Name())
	s.dst = append(s.dst, path)
	werr := write(f)
	if werr == nil {
		werr = f.Chmod(0o644)
	}
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return fmt.Errorf("%s: %w", path, werr)
	}
	return nil
}

// commit renames every staged file into place.
func (s *stagedFiles) commit() error {
	for i := range s.tmp {
		if err := os.Rename(s.tmp[i], s.dst[i]); err != nil {
			return err
		}
		s.tmp[i] = ""
	}
	return nil
}

// abort removes the staged files not yet committed.
func (s *stagedFiles) abort() {
	for _, t := range s.tmp {
		if t != "" {
			os.Remove(t)
		}
	}
	s.tmp, s.dst = nil, nil
}
