//go:build cgo

package ort

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"sync"

	ortgo "github.com/yalue/onnxruntime_go"
)

var (
	initOnce sync.Once
	initErr  error
	initPath string
)

// initialize loads the shared library and creates ONNX Runtime's process-wide
// environment, once per process. The environment is never destroyed.
func initialize() error {
	initOnce.Do(func() {
		initPath = LibraryPath()
		if initPath == "" {
			initErr = errors.New("ONNX Runtime not found: " + installHint)
			return
		}
		ortgo.SetSharedLibraryPath(initPath)
		if err := ortgo.InitializeEnvironment(ortgo.WithLogLevelError()); err != nil {
			initErr = fmt.Errorf("ONNX Runtime at %s failed to initialise: %v; %s", initPath, err, installHint)
		}
	})
	return initErr
}

// Available reports whether ONNX Runtime can be used: nil when the shared
// library was found (see [LibraryPath]) and its environment initialised,
// otherwise a one-line error that says how to install it. The first call
// loads the library; later calls return the same result.
func Available() error {
	return initialize()
}

// Version returns the version of the loaded ONNX Runtime library, such as
// "1.30.0", or "" when it is not available.
func Version() string {
	if initialize() != nil {
		return ""
	}
	return ortgo.GetVersion()
}

// Session is a loaded model, ready to be run many times. Its inputs and
// outputs are discovered from the model. A Session serialises concurrent
// calls to Run; Close it when done.
type Session struct {
	mu      sync.Mutex
	sess    *ortgo.DynamicAdvancedSession
	inputs  []ortgo.InputOutputInfo
	outputs []ortgo.InputOutputInfo
	// notScalar[i] is set once output i, which ONNX Runtime reports with
	// rank 0 (a scalar, or a tensor of unknown rank), turned out not to be a
	// scalar.
	notScalar []bool
}

// Open loads a model, given either as the bytes of an .onnx file or as its
// path (a path lets ONNX Runtime find external data next to the model).
func Open[M []byte | string](model M, opts Options) (*Session, error) {
	if err := initialize(); err != nil {
		return nil, err
	}
	so, err := sessionOptions(opts)
	if err != nil {
		return nil, err
	}
	defer so.Destroy()

	var ins, outs []ortgo.InputOutputInfo
	var sess *ortgo.DynamicAdvancedSession
	switch m := any(model).(type) {
	case []byte:
		ins, outs, err = ortgo.GetInputOutputInfoWithONNXData(m)
		if err != nil {
			return nil, fmt.Errorf("ort: loading model: %w", err)
		}
		sess, err = ortgo.NewDynamicAdvancedSessionWithONNXData(m, infoNames(ins), infoNames(outs), so)
	case string:
		ins, outs, err = ortgo.GetInputOutputInfoWithOptions(m, so)
		if err != nil {
			return nil, fmt.Errorf("ort: loading model %s: %w", m, err)
		}
		sess, err = ortgo.NewDynamicAdvancedSession(m, infoNames(ins), infoNames(outs), so)
	}
	if err != nil {
		return nil, fmt.Errorf("ort: creating session: %w", err)
	}
	for _, io := range [][]ortgo.InputOutputInfo{ins, outs} {
		for _, info := range io {
			if info.OrtValueType != ortgo.ONNXTypeTensor {
				sess.Destroy()
				return nil, fmt.Errorf("ort: %q is a %s; only tensors are supported", info.Name, info.OrtValueType)
			}
		}
	}
	return &Session{sess: sess, inputs: ins, outputs: outs, notScalar: make([]bool, len(outs))}, nil
}

func sessionOptions(opts Options) (*ortgo.SessionOptions, error) {
	so, err := ortgo.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("ort: session options: %w", err)
	}
	// Errors come back from each call; ORT need not also print them.
	err = so.SetLogSeverityLevel(ortgo.LoggingLevelFatal)
	if err == nil && opts.IntraOpThreads > 0 {
		err = so.SetIntraOpNumThreads(opts.IntraOpThreads)
	}
	if err == nil && opts.NoSpinning {
		err = so.AddSessionConfigEntry("session.intra_op.allow_spinning", "0")
	}
	if err == nil && opts.ProfilePrefix != "" {
		err = so.EnableProfiling(opts.ProfilePrefix)
	}
	if err == nil && opts.InterOpThreads > 0 {
		err = so.SetInterOpNumThreads(opts.InterOpThreads)
	}
	if err == nil && opts.GraphOptimization != OptimizeDefault {
		var level ortgo.GraphOptimizationLevel
		switch opts.GraphOptimization {
		case OptimizeDisable:
			level = ortgo.GraphOptimizationLevelDisableAll
		case OptimizeBasic:
			level = ortgo.GraphOptimizationLevelEnableBasic
		case OptimizeExtended:
			level = ortgo.GraphOptimizationLevelEnableExtended
		case OptimizeAll:
			level = ortgo.GraphOptimizationLevelEnableAll
		default:
			err = fmt.Errorf("unknown graph optimization level %d", opts.GraphOptimization)
		}
		if err == nil {
			err = so.SetGraphOptimizationLevel(level)
		}
	}
	if err != nil {
		so.Destroy()
		return nil, fmt.Errorf("ort: session options: %w", err)
	}
	return so, nil
}

func infoNames(infos []ortgo.InputOutputInfo) []string {
	names := make([]string, len(infos))
	for i, info := range infos {
		names[i] = info.Name
	}
	return names
}

// InputNames returns the names of the model's inputs, in the model's order.
func (s *Session) InputNames() []string { return infoNames(s.inputs) }

// OutputNames returns the names of the model's outputs, in the model's order;
// [Session.Run] returns the outputs in this order.
func (s *Session) OutputNames() []string { return infoNames(s.outputs) }

// Run runs the model once and returns all its outputs, in the model's order
// (see [Session.OutputNames]), each with its name, shape and a fresh Data
// slice.
//
// Inputs are matched to the model's inputs by Name; if every Name is empty
// and there are as many inputs as the model has, they are taken in the
// model's order instead. Every model input must be given, with the element
// type that the model declares.
func (s *Session) Run(inputs []Tensor) ([]Tensor, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sess == nil {
		return nil, errors.New("ort: Run on a closed Session")
	}
	if len(s.inputs) == 0 {
		return nil, errors.New("ort: the model has no inputs, which onnxruntime_go cannot run")
	}
	ordered, err := s.orderInputs(inputs)
	if err != nil {
		return nil, err
	}
	ins := make([]ortgo.Value, len(ordered))
	defer destroyAll(ins)
	for i, t := range ordered {
		if ins[i], err = newValue(t, s.inputs[i].DataType); err != nil {
			return nil, fmt.Errorf("ort: input %q: %w", s.inputs[i].Name, err)
		}
	}

	// onnxruntime_go cannot turn a rank-0 output that it allocated itself
	// into a Go value, so outputs reported with rank 0 get a preallocated
	// scalar. ONNX Runtime also reports rank 0 for an output of unknown
	// rank: if that output is not a scalar, ONNX Runtime names it in its
	// error, and the run is repeated with the binding allocating it.
	var outs []ortgo.Value
	for {
		outs = make([]ortgo.Value, len(s.outputs))
		for i, info := range s.outputs {
			if len(info.Dimensions) == 0 && !s.notScalar[i] {
				outs[i] = newScalar(info.DataType)
			}
		}
		err = s.sess.Run(ins, outs)
		if err == nil {
			break
		}
		destroyAll(outs)
		i := s.notScalarOutput(err)
		if i < 0 {
			return nil, fmt.Errorf("ort: run: %w", err)
		}
		s.notScalar[i] = true
	}
	defer destroyAll(outs)

	result := make([]Tensor, len(outs))
	for i, v := range outs {
		t, err := fromValue(v)
		if err != nil {
			return nil, fmt.Errorf("ort: output %q: %w", s.outputs[i].Name, err)
		}
		t.Name = s.outputs[i].Name
		result[i] = t
	}
	return result, nil
}

var preallocMismatch = regexp.MustCompile(`output OrtValue provided for output '(.*?)' of node .* has shape \{\} but the computed output shape`)

// notScalarOutput returns the index of the output that err says was
// preallocated as a scalar but is not one, or -1.
func (s *Session) notScalarOutput(err error) int {
	m := preallocMismatch.FindStringSubmatch(err.Error())
	if m == nil {
		return -1
	}
	for i, info := range s.outputs {
		if info.Name == m[1] && len(info.Dimensions) == 0 && !s.notScalar[i] {
			return i
		}
	}
	return -1
}

// orderInputs returns the inputs in the model's order.
func (s *Session) orderInputs(inputs []Tensor) ([]Tensor, error) {
	unnamed := true
	for _, t := range inputs {
		if t.Name != "" {
			unnamed = false
		}
	}
	if unnamed && len(inputs) == len(s.inputs) {
		return inputs, nil
	}
	byName := make(map[string]Tensor, len(inputs))
	for _, t := range inputs {
		if _, dup := byName[t.Name]; dup {
			return nil, fmt.Errorf("ort: input %q given twice", t.Name)
		}
		byName[t.Name] = t
	}
	ordered := make([]Tensor, len(s.inputs))
	for i, info := range s.inputs {
		t, ok := byName[info.Name]
		if !ok {
			return nil, fmt.Errorf("ort: missing input %q (the model's inputs are %q)", info.Name, s.InputNames())
		}
		delete(byName, info.Name)
		ordered[i] = t
	}
	for name := range byName {
		return nil, fmt.Errorf("ort: the model has no input %q (its inputs are %q)", name, s.InputNames())
	}
	return ordered, nil
}

// Close releases the session. It is safe to call more than once.
func (s *Session) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sess == nil {
		return nil
	}
	err := s.sess.Destroy()
	s.sess = nil
	return err
}

// destroyAll destroys the values in vs. A failed run can leave typed nil
// pointers in its outputs; they are skipped.
func destroyAll(vs []ortgo.Value) {
	for i, v := range vs {
		if v != nil && !reflect.ValueOf(v).IsNil() {
			v.Destroy()
		}
		vs[i] = nil
	}
}

// newValue wraps t's data (without copying it) in an ONNX Runtime tensor,
// checking it against the element type that the model wants.
func newValue(t Tensor, want ortgo.TensorElementDataType) (ortgo.Value, error) {
	switch d := t.Data.(type) {
	case []float32:
		return makeValue(t.Shape, d, want)
	case []float64:
		return makeValue(t.Shape, d, want)
	case []int8:
		return makeValue(t.Shape, d, want)
	case []uint8:
		return makeValue(t.Shape, d, want)
	case []int16:
		return makeValue(t.Shape, d, want)
	case []uint16:
		return makeValue(t.Shape, d, want)
	case []int32:
		return makeValue(t.Shape, d, want)
	case []uint32:
		return makeValue(t.Shape, d, want)
	case []int64:
		return makeValue(t.Shape, d, want)
	case []uint64:
		return makeValue(t.Shape, d, want)
	case []bool:
		return makeValue(t.Shape, d, want)
	}
	return nil, fmt.Errorf("unsupported Data type %T", t.Data)
}

func makeValue[T ortgo.TensorData](shape []int64, data []T, want ortgo.TensorElementDataType) (ortgo.Value, error) {
	if got := elementType[T](); got != want {
		return nil, fmt.Errorf("the model wants %s elements, got %T", want, data)
	}
	n := int64(1)
	for _, d := range shape {
		if d < 0 {
			return nil, fmt.Errorf("negative dimension in shape %v", shape)
		}
		n *= d
	}
	if n != int64(len(data)) {
		return nil, fmt.Errorf("shape %v needs %d elements, got %d", shape, n, len(data))
	}
	if len(shape) == 0 {
		return ortgo.NewScalar(data[0])
	}
	return ortgo.NewTensor(ortgo.Shape(slices.Clone(shape)), data)
}

// elementType returns the ONNX element type of Go type T.
func elementType[T ortgo.TensorData]() ortgo.TensorElementDataType {
	var zero T
	switch any(zero).(type) {
	case float32:
		return ortgo.TensorElementDataTypeFloat
	case float64:
		return ortgo.TensorElementDataTypeDouble
	case int8:
		return ortgo.TensorElementDataTypeInt8
	case uint8:
		return ortgo.TensorElementDataTypeUint8
	case int16:
		return ortgo.TensorElementDataTypeInt16
	case uint16:
		return ortgo.TensorElementDataTypeUint16
	case int32:
		return ortgo.TensorElementDataTypeInt32
	case uint32:
		return ortgo.TensorElementDataTypeUint32
	case int64:
		return ortgo.TensorElementDataTypeInt64
	case uint64:
		return ortgo.TensorElementDataTypeUint64
	case bool:
		return ortgo.TensorElementDataTypeBool
	}
	return ortgo.TensorElementDataTypeUndefined
}

// newScalar returns an empty scalar of element type dt, or nil if dt has no
// Go counterpart here.
func newScalar(dt ortgo.TensorElementDataType) ortgo.Value {
	var v ortgo.Value
	var err error
	switch dt {
	case ortgo.TensorElementDataTypeFloat:
		v, err = ortgo.NewEmptyScalar[float32]()
	case ortgo.TensorElementDataTypeDouble:
		v, err = ortgo.NewEmptyScalar[float64]()
	case ortgo.TensorElementDataTypeInt8:
		v, err = ortgo.NewEmptyScalar[int8]()
	case ortgo.TensorElementDataTypeUint8:
		v, err = ortgo.NewEmptyScalar[uint8]()
	case ortgo.TensorElementDataTypeInt16:
		v, err = ortgo.NewEmptyScalar[int16]()
	case ortgo.TensorElementDataTypeUint16:
		v, err = ortgo.NewEmptyScalar[uint16]()
	case ortgo.TensorElementDataTypeInt32:
		v, err = ortgo.NewEmptyScalar[int32]()
	case ortgo.TensorElementDataTypeUint32:
		v, err = ortgo.NewEmptyScalar[uint32]()
	case ortgo.TensorElementDataTypeInt64:
		v, err = ortgo.NewEmptyScalar[int64]()
	case ortgo.TensorElementDataTypeUint64:
		v, err = ortgo.NewEmptyScalar[uint64]()
	case ortgo.TensorElementDataTypeBool:
		v, err = ortgo.NewEmptyScalar[bool]()
	}
	if err != nil {
		return nil
	}
	return v
}

// fromValue copies an output value into a Tensor (without its name).
func fromValue(v ortgo.Value) (Tensor, error) {
	for _, conv := range converters {
		if t, ok := conv(v); ok {
			return t, nil
		}
	}
	if v == nil {
		return Tensor{}, errors.New("no value")
	}
	return Tensor{}, fmt.Errorf("element type %s is not supported", ortgo.TensorElementDataType(v.DataType()))
}

var converters = []func(ortgo.Value) (Tensor, bool){
	convert[float32], convert[float64],
	convert[int8], convert[uint8], convert[int16], convert[uint16],
	convert[int32], convert[uint32], convert[int64], convert[uint64],
	convert[bool],
}

func convert[T ortgo.TensorData](v ortgo.Value) (Tensor, bool) {
	switch x := v.(type) {
	case *ortgo.Tensor[T]:
		// The binding copied the data into a fresh Go slice of its own,
		// which stays valid after the value is destroyed.
		return Tensor{Shape: slices.Clone([]int64(x.GetShape())), Data: x.GetData()}, true
	case *ortgo.Scalar[T]:
		return Tensor{Shape: []int64{}, Data: []T{x.GetData()}}, true
	}
	return Tensor{}, false
}
