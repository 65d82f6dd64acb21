// Package onnxpb holds the Go types of the ONNX protobuf schema (onnx.proto of
// ONNX 1.20: IR version 13, INT2/UINT2/INT4/UINT4, FLOAT8 and FLOAT4 types,
// model-local functions).
//
// The code is generated from schema/onnx.binpb, a FileDescriptorSet taken
// from the npm package onnx-buf@1.20.0-1 (see schema/README.md). Rebuilding
// needs protoc and protoc-gen-go on PATH:
//
//	go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
//	go generate ./onnx/onnxpb
package onnxpb

//go:generate protoc --descriptor_set_in=schema/onnx.binpb --go_out=. --go_opt=paths=source_relative --go_opt=Monnx.proto=github.com/onnx-prom/onnx-prom/onnx/onnxpb onnx.proto
