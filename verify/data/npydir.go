package data

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/onnx-prom/onnx-prom/onnx/tensor"
)

// openNPYDir opens a folder of .npy files (one single-input sample per
// file) or, when it holds none, a folder of sample folders each holding the
// same <input>.npy files (one multi-input sample per folder).
func openNPYDir(dir string, o Options) (*listSource, error) {
	opts := NPYOptions{MaxBytes: o.MaxBytes}
	files, err := listFiles(dir, func(n string) bool { return hasExt(n, ".npy") })
	if err != nil {
		return nil, err
	}
	if len(files) > 0 {
		return &listSource{names: files, load: func(i int) (Sample, error) {
			t, err := opts.ReadFile(filepath.Join(dir, files[i]))
			if err != nil {
				return Sample{}, err
			}
			return Sample{Input: t}, nil
		}}, nil
	}
	samples, err := listDirs(dir)
	if err != nil {
		return nil, err
	}
	if len(samples) == 0 {
		return nil, fmt.Errorf("%s: %w: no .npy files or sample folders", dir, errEmpty)
	}
	var inputs []string
	for _, s := range samples {
		files, err := listFiles(filepath.Join(dir, s), func(n string) bool { return hasExt(n, ".npy") })
		if err != nil {
			return nil, err
		}
		names := make([]string, len(files))
		for i, f := range files {
			names[i] = strings.TrimSuffix(f, filepath.Ext(f))
		}
		if len(names) == 0 {
			return nil, fmt.Errorf("%s: sample folder %q holds no .npy files", dir, s)
		}
		if inputs == nil {
			inputs = names
		} else if !slices.Equal(inputs, names) {
			return nil, fmt.Errorf("%s: sample folder %q holds inputs %v, %q holds %v", dir, s, names, samples[0], inputs)
		}
	}
	return &listSource{names: samples, load: func(i int) (Sample, error) {
		m := make(map[string]*tensor.Tensor, len(inputs))
		for _, in := range inputs {
			t, err := opts.ReadFile(filepath.Join(dir, samples[i], in+".npy"))
			if err != nil {
				return Sample{}, err
			}
			m[in] = t
		}
		return Sample{Inputs: m}, nil
	}}, nil
}

// openNPYBatch opens one .npy file of shape [N, ...] as N samples, each
// read from the file when asked for. Options.MaxBytes caps one sample; a
// file in Fortran order is read whole, and the cap applies to all of it.
func openNPYBatch(path string, o Options) (*listSource, error) {
	opts := NPYOptions{MaxBytes: o.MaxBytes}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h, err := ReadNPYHeader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(h.Shape) == 0 {
		return nil, fmt.Errorf("%s: a batch file needs a first (batch) dimension; it holds a scalar", path)
	}
	total, err := h.DataBytes()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if have := st.Size() - h.DataOffset; have != total {
		return nil, fmt.Errorf("%s: the header announces %d data bytes, the file holds %d", path, total, have)
	}
	n := h.Shape[0]
	if n > 1<<31 {
		return nil, fmt.Errorf("%s: %d samples are too many", path, n)
	}
	row := &NPYHeader{Descr: h.Descr, Type: h.Type, BigEndian: h.BigEndian, Shape: h.Shape[1:]}
	rowBytes, err := opts.checkSize(row)
	if err != nil {
		return nil, fmt.Errorf("%s: one sample: %w", path, err)
	}
	base := filepath.Base(path)
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("%s[%d]", base, i)
	}
	var whole []byte // C-order data of a Fortran-order file
	if h.FortranOrder && len(h.Shape) > 1 {
		if _, err := opts.checkSize(h); err != nil {
			return nil, fmt.Errorf("%s: a Fortran-order batch is read whole: %w", path, err)
		}
		raw := make([]byte, total)
		if _, err := io.ReadFull(f, raw); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		whole = fortranToC(raw, h.Shape, h.ItemSize())
	}
	return &listSource{names: names, load: func(i int) (Sample, error) {
		raw := make([]byte, rowBytes)
		off := int64(i) * rowBytes
		if whole != nil {
			copy(raw, whole[off:])
		} else {
			f, err := os.Open(path)
			if err != nil {
				return Sample{}, err
			}
			defer f.Close()
			if _, err := f.ReadAt(raw, h.DataOffset+off); err != nil {
				return Sample{}, fmt.Errorf("%s: sample %d: %w", path, i, err)
			}
		}
		t, err := row.decode(raw)
		if err != nil {
			return Sample{}, fmt.Errorf("%s: %w", path, err)
		}
		return Sample{Input: t}, nil
	}}, nil
}
