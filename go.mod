module github.com/onnx-prom/onnx-prom

go 1.26.8

require (
	github.com/google/go-cmp v0.7.0
	github.com/x448/float16 v0.8.4
	github.com/yalue/onnxruntime_go v1.27.0
	google.golang.org/protobuf v1.36.12
)
