package onnx

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/onnx-prom/onnx-prom/onnx/onnxpb"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
)

// ErrUnsafePath reports an external data location that would lead outside
// the model's folder.
var ErrUnsafePath = errors.New("external data location leads outside the model's folder")

// externalRef is the parsed external_data of one tensor.
type externalRef struct {
	location string
	offset   int64
	length   int64 // -1: to the end of the file
}

func parseExternal(tp *onnxpb.TensorProto) (externalRef, error) {
	ref := externalRef{length: -1}
	for _, kv := range tp.GetExternalData() {
		switch kv.GetKey() {
		case "location":
			ref.location = kv.GetValue()
		case "offset", "length":
			v, err := strconv.ParseInt(kv.GetValue(), 10, 64)
			if err != nil || v < 0 {
				return ref, fmt.Errorf("external data %s %q is not a non-negative integer", kv.GetKey(), kv.GetValue())
			}
			if kv.GetKey() == "offset" {
				ref.offset = v
			} else {
				ref.length = v
			}
		}
	}
	if ref.location == "" {
		return ref, errors.New("external data has no location")
	}
	return ref, nil
}

// confine resolves location inside baseDir, refusing absolute paths, ".."
// components and symbolic links whose target lies outside baseDir.
func confine(baseDir, location string) (string, error) {
	if filepath.IsAbs(location) || strings.HasPrefix(location, "/") || strings.HasPrefix(location, `\`) || filepath.VolumeName(location) != "" {
		return "", fmt.Errorf("%w: %q is absolute", ErrUnsafePath, location)
	}
	for _, part := range strings.FieldsFunc(location, func(r rune) bool { return r == '/' || r == '\\' }) {
		if part == ".." {
			return "", fmt.Errorf("%w: %q contains ..", ErrUnsafePath, location)
		}
	}
	if strings.ContainsRune(location, 0) {
		return "", fmt.Errorf("%w: %q contains a NUL byte", ErrUnsafePath, location)
	}
	base, err := filepath.EvalSymlinks(baseDir)
	if err != nil {
		return "", err
	}
	base, err = filepath.Abs(base)
	if err != nil {
		return "", err
	}
	full, err := filepath.EvalSymlinks(filepath.Join(baseDir, filepath.FromSlash(location)))
	if err != nil {
		return "", err
	}
	full, err = filepath.Abs(full)
	if err != nil {
		return "", err
	}
	rel, err := filepath.Rel(base, full)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("%w: %q resolves to %s", ErrUnsafePath, location, full)
	}
	return full, nil
}

// loadExternalData replaces every external tensor reference in m by its data.
func loadExternalData(m *onnxpb.ModelProto, baseDir string, maxBytes int64) error {
	files := map[string]*os.File{}
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	return WalkTensors(m, func(tp *onnxpb.TensorProto, where string) error {
		if tp.GetDataLocation() != onnxpb.TensorProto_EXTERNAL {
			return nil
		}
		if err := readExternal(tp, baseDir, maxBytes, files); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		return nil
	})
}

func readExternal(tp *onnxpb.TensorProto, baseDir string, maxBytes int64, files map[string]*os.File) error {
	ref, err := parseExternal(tp)
	if err != nil {
		return err
	}
	if baseDir == "" {
		return fmt.Errorf("external data %q but the model was not read from a folder", ref.location)
	}
	path, err := confine(baseDir, ref.location)
	if err != nil {
		return err
	}
	f, ok := files[path]
	if !ok {
		if f, err = os.Open(path); err != nil {
			return err
		}
		files[path] = f
	}
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("external data %q is not a regular file", ref.location)
	}
	dt := tensor.DataType(tp.GetDataType())
	n, err := tensor.NumElements(tp.GetDims())
	if err != nil {
		return err
	}
	want := tensor.StorageBytes(dt, n)
	if want < 0 {
		return fmt.Errorf("external data of element type %s is not supported", tensor.Name(dt))
	}
	length := ref.length
	if length < 0 {
		length = st.Size() - ref.offset
	}
	if length != want {
		return fmt.Errorf("external data %q: length %d, but shape %v of %s needs %d bytes", ref.location, length, tp.GetDims(), tensor.Name(dt), want)
	}
	if length > maxBytes {
		return fmt.Errorf("external data %q: %d bytes exceed the %d-byte limit: %w", ref.location, length, maxBytes, tensor.ErrTooLarge)
	}
	if ref.offset > st.Size() || length > st.Size()-ref.offset {
		return fmt.Errorf("external data %q: offset %d + length %d run past the file's %d bytes", ref.location, ref.offset, length, st.Size())
	}
	buf := make([]byte, length)
	if _, err := f.ReadAt(buf, ref.offset); err != nil && !(errors.Is(err, io.EOF) && length == 0) {
		return fmt.Errorf("external data %q: %w", ref.location, err)
	}
	tp.RawData = buf
	tp.ExternalData = nil
	tp.DataLocation = nil
	return nil
}
