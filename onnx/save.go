package onnx

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/onnx-prom/onnx-prom/onnx/onnxpb"
	"google.golang.org/protobuf/proto"
)

// ExternalMode says when Save moves tensor data into a side file.
type ExternalMode int

const (
	// ExternalAuto writes external data only when the model would not fit
	// in one protobuf message (2 GiB).
	ExternalAuto ExternalMode = iota
	// ExternalAlways moves every tensor of at least ExternalMinBytes.
	ExternalAlways
	// ExternalNever fails on a model over 2 GiB.
	ExternalNever
)

// maxProtoBytes is the largest message protobuf serializes; a variable so
// tests can exercise the automatic switch to external data cheaply.
var maxProtoBytes = int64(2<<30 - 1)

// SaveOptions control Save.
type SaveOptions struct {
	External ExternalMode
	// ExternalFile is the side file's name in the model's folder; default:
	// the model's file name + ".data".
	ExternalFile string
	// ExternalMinBytes keeps smaller tensors inline (default 1024).
	ExternalMinBytes int64
}

// Marshal serializes m deterministically: the same model gives the same bytes.
func Marshal(m *onnxpb.ModelProto) ([]byte, error) {
	return proto.MarshalOptions{Deterministic: true}.Marshal(m)
}

// Write serializes m to w (no external data).
func Write(w io.Writer, m *onnxpb.ModelProto) error {
	b, err := Marshal(m)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// Save writes m to path with default options; see SaveOptions.Save.
func Save(path string, m *onnxpb.ModelProto) error { return SaveOptions{}.Save(path, m) }

// Save writes m to path atomically: into a temporary file in the same folder,
// renamed over path only when complete, so a failure leaves no partial file.
// m itself is not modified.
func (o SaveOptions) Save(path string, m *onnxpb.ModelProto) error {
	external := o.External == ExternalAlways
	if o.External == ExternalAuto && int64(proto.Size(m)) > maxProtoBytes {
		external = true
	}
	if !external {
		if int64(proto.Size(m)) > maxProtoBytes {
			return fmt.Errorf("%s: model is over 2 GiB; save it with external data", path)
		}
		b, err := Marshal(m)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		return writeAtomic(path, func(w io.Writer) error { _, err := w.Write(b); return err })
	}
	name := o.ExternalFile
	if name == "" {
		name = filepath.Base(path) + ".data"
	}
	if _, err := confineName(name); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	minBytes := o.ExternalMinBytes
	if minBytes <= 0 {
		minBytes = 1024
	}
	m = proto.Clone(m).(*onnxpb.ModelProto)
	var moved [][]byte
	var offset int64
	err := WalkTensors(m, func(tp *onnxpb.TensorProto, where string) error {
		if int64(len(tp.RawData)) < minBytes {
			return nil
		}
		moved = append(moved, tp.RawData)
		tp.DataLocation = onnxpb.TensorProto_EXTERNAL.Enum()
		tp.ExternalData = []*onnxpb.StringStringEntryProto{
			{Key: proto.String("location"), Value: proto.String(name)},
			{Key: proto.String("offset"), Value: proto.String(strconv.FormatInt(offset, 10))},
			{Key: proto.String("length"), Value: proto.String(strconv.Itoa(len(tp.RawData)))},
		}
		offset += int64(len(tp.RawData))
		tp.RawData = nil
		return nil
	})
	if err != nil {
		return err
	}
	if int64(proto.Size(m)) > maxProtoBytes {
		return fmt.Errorf("%s: model is over 2 GiB even with its large tensors in external data", path)
	}
	b, err := Marshal(m)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	dataPath := filepath.Join(filepath.Dir(path), name)
	if err := writeAtomic(dataPath, func(w io.Writer) error {
		for _, d := range moved {
			if _, err := w.Write(d); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return err
	}
	if err := writeAtomic(path, func(w io.Writer) error { _, err := w.Write(b); return err }); err != nil {
		os.Remove(dataPath)
		return err
	}
	return nil
}

// confineName checks that a side-file name stays in the model's folder.
func confineName(name string) (string, error) {
	if name != filepath.Base(name) || name == "." || name == ".." {
		return "", fmt.Errorf("%w: external data file %q must be a plain file name", ErrUnsafePath, name)
	}
	return name, nil
}

// WriteFileAtomic writes path through a temporary file in the same folder
// and a rename; on any error nothing is left behind.
func WriteFileAtomic(path string, write func(io.Writer) error) error {
	return writeAtomic(path, write)
}

func writeAtomic(path string, write func(io.Writer) error) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<20)
	if err = write(bw); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err = bw.Flush(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err = f.Chmod(0o644); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
