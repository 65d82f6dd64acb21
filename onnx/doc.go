// Package onnx reads and writes ONNX model files.
//
// Load and Read decode a ModelProto (unknown fields, metadata, functions and
// subgraphs included) and bring tensors kept in external data files into
// memory; Save and Write encode one deterministically, writing files
// atomically and moving tensors into an external data file when the model
// would exceed protobuf's 2 GiB limit or when asked to. External data must
// stay inside the model's folder: absolute locations, ".." and symbolic
// links that lead out are refused, as are offsets and lengths that do not
// fit the file or the tensor.
//
// The sub-packages hold the rest of the ONNX layer: onnxpb the generated
// protobuf types, tensor the element codecs, ir the graph IR that passes
// rewrite, and shapes the shape and type inference.
package onnx
