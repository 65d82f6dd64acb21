package onnx

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/onnx-prom/onnx-prom/onnx/onnxpb"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
	"google.golang.org/protobuf/proto"
)

// Limits bound what loading may allocate or recurse into. The zero value
// means the defaults.
type Limits struct {
	// MaxTensorBytes caps one tensor's data (default tensor.DefaultMaxBytes, 4 GiB).
	MaxTensorBytes int64
	// MaxFileBytes caps the model file itself (default 2 GiB, protobuf's own limit).
	MaxFileBytes int64
	// MaxDepth caps message nesting, which bounds subgraph depth (default 64).
	MaxDepth int
}

func (l Limits) maxTensor() int64 {
	if l.MaxTensorBytes > 0 {
		return l.MaxTensorBytes
	}
	return tensor.DefaultMaxBytes
}

func (l Limits) maxFile() int64 {
	if l.MaxFileBytes > 0 {
		return l.MaxFileBytes
	}
	return 2 << 30
}

func (l Limits) maxDepth() int {
	if l.MaxDepth > 0 {
		return l.MaxDepth
	}
	return 64
}

// LoadOptions control Load and Read.
type LoadOptions struct {
	Limits
	// KeepExternal leaves tensors that live in external files as references
	// instead of reading their data into raw_data.
	KeepExternal bool
}

// ErrNotONNX reports input that does not decode as an ONNX model.
var ErrNotONNX = errors.New("not an ONNX model")

// Load reads the model file at path, resolving external data relative to the
// file's folder.
func Load(path string) (*onnxpb.ModelProto, error) { return LoadOptions{}.Load(path) }

// Load reads the model file at path. Errors name the file.
func (o LoadOptions) Load(path string) (*onnxpb.ModelProto, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m, err := o.read(f, filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// Read decodes a model from r. External data, if any, is looked up in
// baseDir; with baseDir "" a model that refers to external data is an error
// unless KeepExternal is set.
func (o LoadOptions) Read(r io.Reader, baseDir string) (*onnxpb.ModelProto, error) {
	return o.read(r, baseDir)
}

// Read decodes a model from r with default options and no external data.
func Read(r io.Reader) (*onnxpb.ModelProto, error) { return LoadOptions{}.read(r, "") }

func (o LoadOptions) read(r io.Reader, baseDir string) (*onnxpb.ModelProto, error) {
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(r, o.maxFile()+1))
	if err != nil {
		return nil, err
	}
	if n > o.maxFile() {
		return nil, fmt.Errorf("file is over the %d-byte limit", o.maxFile())
	}
	return o.Decode(buf.Bytes(), baseDir)
}

// Decode parses a serialized model held in memory; see Read.
func (o LoadOptions) Decode(b []byte, baseDir string) (*onnxpb.ModelProto, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: empty file", ErrNotONNX)
	}
	m := new(onnxpb.ModelProto)
	uo := proto.UnmarshalOptions{RecursionLimit: o.maxDepth()}
	if err := uo.Unmarshal(b, m); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotONNX, err)
	}
	if m.Graph == nil || m.GetIrVersion() <= 0 {
		return nil, fmt.Errorf("%w: no graph or no ir_version", ErrNotONNX)
	}
	if !o.KeepExternal {
		if err := loadExternalData(m, baseDir, o.maxTensor()); err != nil {
			return nil, err
		}
	}
	return m, nil
}
