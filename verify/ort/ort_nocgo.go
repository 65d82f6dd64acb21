//go:build !cgo

package ort

import "errors"

var errNoCgo = errors.New("ONNX Runtime not available: package verify/ort was built without cgo (CGO_ENABLED=0)")

// Available reports whether ONNX Runtime can be used. Built without cgo, it
// never can.
func Available() error { return errNoCgo }

// Version returns "" when built without cgo.
func Version() string { return "" }

// Session is a loaded model; built without cgo, none can be opened.
type Session struct{}

// Open fails when built without cgo.
func Open[M []byte | string](model M, opts Options) (*Session, error) { return nil, errNoCgo }

// InputNames returns nil when built without cgo.
func (s *Session) InputNames() []string { return nil }

// OutputNames returns nil when built without cgo.
func (s *Session) OutputNames() []string { return nil }

// Run fails when built without cgo.
func (s *Session) Run(inputs []Tensor) ([]Tensor, error) { return nil, errNoCgo }

// Close does nothing when built without cgo.
func (s *Session) Close() error { return nil }
