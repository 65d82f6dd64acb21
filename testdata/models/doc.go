// Package models generates deterministic ONNX test models for onnx-prom.
//
// The main generator is [MobileNetV2], which builds torchvision's
// mobilenet_v2 architecture (stem conv, inverted residual blocks, final 1x1
// conv, global average pool, Gemm classifier) with seeded random weights, in
// an ONNX graph shaped like a torch.onnx export at opset 13: bias-free Conv,
// BatchNormalization, Clip(0, 6) for ReLU6, Add for residual connections.
// [Full] is torchvision's model exactly (3,504,872 parameters, 300.77 M MACs);
// [Tiny] and [Small] are reduced variants for fast tests.
//
// The small models and their calibration inputs are committed beside this
// file (see [Files]); regenerate them with
//
//	go generate ./testdata/models
//
// The full MobileNetV2 (about 14 MB) is not committed: tests build it with
// MobileNetV2(Full()) when they need it.
//
// This directory is named testdata, so "go test ./..." skips it; run its tests
// with "go test ./testdata/models/...". Importing it by its full path,
// github.com/onnx-prom/onnx-prom/testdata/models, works from any package.
package models

//go:generate go run ./gen -out .
