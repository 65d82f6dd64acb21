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

// confine resolves location inside baseDir, refusing absolute paths (also
// Windows drive and UNC forms), ".." components, NUL bytes and symbolic
// links (the last component or any folder on the way) whose target lies
// outside baseDir. Backslashes count as separators, as in files written on
// Windows.
func confine(baseDir, location string) (string, error) {
	if strings.ContainsRune(location, 0) {
		return "", fmt.Errorf("%w: %q contains a NUL byte", ErrUnsafePath, location)
	}
	slashed := strings.ReplaceAll(location, `\`, "/")
	if filepath.IsAbs(location) || strings.HasPrefix(slashed, "/") || filepath.VolumeName(location) != "" || hasDrive(slashed) {
		return "", fmt.Errorf("%w: %q is absolute", ErrUnsafePath, location)
	}
	for _, part := range strings.Split(slashed, "/") {
		if part == ".." {
			return "", fmt.Errorf("%w: %q contains ..", ErrUnsafePath, location)
		}
	}
	base, err := filepath.EvalSymlinks(baseDir)
	if err != nil {
		return "", err
	}
	base, err = filepath.Abs(base)
	if err != nil {
		return "", err
	}
	full, err := filepath.EvalSymlinks(filepath.Join(base, filepath.FromSlash(slashed)))
	if err != nil {
		return "", fmt.Errorf("external data %q: %w", location, unwrapPath(err))
	}
	full, err = filepath.Abs(full)
	if err != nil {
		return "", err
	}
	rel, err := filepath.Rel(base, full)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
		return "", fmt.Errorf("%w: %q resolves to %s", ErrUnsafePath, location, full)
	}
	return full, nil
}

// hasDrive reports a Windows drive prefix ("C:"), which is absolute (or
// drive-relative) on Windows and never a plain relative path.
func hasDrive(p string) bool {
	return len(p) >= 2 && p[1] == ':' && (p[0]|0x20 >= 'a' && p[0]|0x20 <= 'z')
}

// unwrapPath drops the path from an *os.PathError, whose text would
// otherwise repeat a resolved absolute path.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// externalFiles keeps the external data files a load has opened, and how
// much has been read from them.
type externalFiles struct {
	open map[string]*os.File
	// size is the total size of the files opened, read the bytes read: a
	// model may not read more than its files hold (overlapping regions
	// would let a tiny model claim any amount of memory).
	size, read int64
}

func (e *externalFiles) close() {
	for _, f := range e.open {
		f.Close()
	}
}

// loadExternalData replaces every external tensor reference in m by its data.
func loadExternalData(m *onnxpb.ModelProto, baseDir string, maxBytes int64) error {
	files := &externalFiles{open: map[string]*os.File{}}
	defer files.close()
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

func readExternal(tp *onnxpb.TensorProto, baseDir string, maxBytes int64, files *externalFiles) error {
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
	f, ok := files.open[path]
	if !ok {
		// Stat before opening: opening a FIFO would block.
		st, err := os.Stat(path)
		if err != nil {
			return fmt.Errorf("external data %q: %w", ref.location, unwrapPath(err))
		}
		if !st.Mode().IsRegular() {
			return fmt.Errorf("external data %q is not a regular file", ref.location)
		}
		if f, err = os.Open(path); err != nil {
			return fmt.Errorf("external data %q: %w", ref.location, unwrapPath(err))
		}
		files.open[path] = f
		st, err = f.Stat()
		if err != nil {
			return err
		}
		if !st.Mode().IsRegular() {
			return fmt.Errorf("external data %q is not a regular file", ref.location)
		}
		files.size += st.Size()
	}
	st, err := f.Stat()
	if err != nil {
		return err
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
	if want > maxBytes {
		return fmt.Errorf("external data %q: shape %v of %s needs %d bytes, over the %d-byte limit: %w", ref.location, tp.GetDims(), tensor.Name(dt), want, maxBytes, tensor.ErrTooLarge)
	}
	if ref.offset > st.Size() {
		return fmt.Errorf("external data %q: offset %d is past the end of the file (%d bytes)", ref.location, ref.offset, st.Size())
	}
	length := ref.length
	if length < 0 {
		length = st.Size() - ref.offset
	}
	if length != want {
		return fmt.Errorf("external data %q: length %d, but shape %v of %s needs %d bytes", ref.location, length, tp.GetDims(), tensor.Name(dt), want)
	}
	if length > st.Size()-ref.offset {
		return fmt.Errorf("external data %q: offset %d + length %d run past the file's %d bytes", ref.location, ref.offset, length, st.Size())
	}
	if files.read+length > files.size {
		return fmt.Errorf("external data %q: the model's tensors read more bytes than its external files hold (%d): regions overlap", ref.location, files.size)
	}
	files.read += length
	buf := make([]byte, length)
	if _, err := f.ReadAt(buf, ref.offset); err != nil && !(errors.Is(err, io.EOF) && length == 0) {
		return fmt.Errorf("external data %q: %w", ref.location, unwrapPath(err))
	}
	tp.RawData = buf
	tp.ExternalData = nil
	tp.DataLocation = nil
	return nil
}
