package passes

import (
	"errors"
	"fmt"

	"github.com/onnx-prom/onnx-prom/onnx"
	"github.com/onnx-prom/onnx-prom/onnx/ir"
	"github.com/onnx-prom/onnx-prom/onnx/onnxpb"
	"github.com/onnx-prom/onnx-prom/onnx/shapes"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
	"github.com/onnx-prom/onnx-prom/verify/interp"
)

// InvalidModelError is an error caused by the input model itself: a
// malformed graph or tensor, shapes that contradict each other, an op or
// attribute the converter cannot read, a model over the limits, or a model
// that fails when run on the calibration data. Other errors from Convert
// are failures of the conversion. Test for it with errors.As.
type InvalidModelError struct{ Err error }

func (e *InvalidModelError) Error() string { return e.Err.Error() }

// Unwrap returns the cause.
func (e *InvalidModelError) Unwrap() error { return e.Err }

// invalid wraps err (if not nil) as an InvalidModelError.
func invalid(err error) error {
	if err == nil {
		return nil
	}
	var ie *InvalidModelError
	if errors.As(err, &ie) {
		return err
	}
	return &InvalidModelError{err}
}

// Limits bound what a conversion may spend on one model; the zero value
// means the defaults.
type Limits struct {
	// MaxTensorBytes caps any one tensor the conversion decodes or the
	// interpreter allocates, synthetic calibration inputs included
	// (default tensor.DefaultMaxBytes, 4 GiB).
	MaxTensorBytes int64
	// MaxWork caps the estimated work of one calibration run, in
	// multiply-accumulates (interp.Options.MaxWork); 0 means no limit.
	MaxWork int64
}

func (l Limits) maxTensor() int64 {
	if l.MaxTensorBytes > 0 {
		return l.MaxTensorBytes
	}
	return tensor.DefaultMaxBytes
}

// interpOptions are the interpreter options under these limits.
func (l Limits) interpOptions() interp.Options {
	return interp.Options{MaxTensorBytes: l.MaxTensorBytes, MaxWork: l.MaxWork}
}

// Validate checks that mp is a model the conversion can read, before any
// pass runs: a valid graph (no cycles, every input defined, names defined
// once), well-formed tensors within the size limit, an opset the
// conversion reads (7 to the output opset), shapes that inference finds
// consistent, and live nodes that the interpreter accepts (supported ops,
// valid attributes). Errors are InvalidModelErrors naming the node or
// tensor. mp is not modified.
func Validate(mp *onnxpb.ModelProto, c Config, l Limits) error {
	return invalid(validate(mp, c, l))
}

func validate(mp *onnxpb.ModelProto, c Config, l Limits) error {
	dec := tensor.DecodeOptions{MaxBytes: l.maxTensor()}
	if err := onnx.WalkTensors(mp, func(tp *onnxpb.TensorProto, where string) error {
		if err := dec.Check(tp); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		return nil
	}); err != nil {
		return err
	}
	m, err := ir.FromProto(mp)
	if err != nil {
		return err
	}
	from := m.Opset("")
	if from > c.OutputOpset && c.OutputOpset > 0 {
		return fmt.Errorf("the model imports opset %d, newer than the output opset %d", from, c.OutputOpset)
	}
	if from < 7 {
		return fmt.Errorf("the model imports opset %d of the default domain; onnx-prom reads opset 7 and newer", from)
	}
	if err := shapes.Infer(m); err != nil {
		return err
	}
	m.Graph.RemoveDeadNodes()
	o := l.interpOptions()
	o.MaxWork = 0 // no inputs yet: calibration checks the work
	o.Threads = 1
	if _, err := interp.Compile(m, o); err != nil {
		return err
	}
	return nil
}
