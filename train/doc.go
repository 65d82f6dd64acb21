// Package train trains ONNX CNNs in Go, on the ONNX graph itself, for the
// PROM conversion: quantization-aware training (QAT) that simulates exactly
// what passes.Convert will do (ternary pointwise convolutions, 8-bit
// weights and activations everywhere else), float training (for example
// from scratch), and "cheap recovery" of post-training ternarization.
//
// A Trainer compiles a model (an onnxpb.ModelProto) into a differentiable
// program: every graph value becomes a batch buffer kept for the backward
// pass, every supported operator a forward and a backward kernel (Conv with
// groups, strides, pads and dilations; Gemm and MatMul; BatchNormalization;
// Relu, Clip, HardSigmoid, HardSwish, Sigmoid, LeakyRelu, Tanh; Add, Sub,
// Mul, Div with broadcasting; GlobalAveragePool, MaxPool, AveragePool;
// Flatten, Reshape, Squeeze, Unsqueeze, Identity, Dropout). The loss is
// softmax cross-entropy on the logits (the input of a final Softmax), or
// distillation from a float teacher. Optimizers are Adam (decoupled weight
// decay) and SGD with momentum, with warm-up and a cosine schedule.
//
// In QAT, BatchNormalization is folded first (as the converter folds it),
// the converter's own selection pass picks the ternary convs, and:
//
//   - ternary weights are TWN per output channel, recomputed from the latent
//     float weights every step (straight-through estimator);
//   - other quantized weights are symmetric int8 per output channel;
//   - biases of quantized layers sit on their int32 grid;
//   - activations are fake-quantized where the converter quantizes them,
//     with ranges tracked by exponential moving averages.
//
// Trainer.Export writes a float model whose weights lie exactly on those
// grids and the learned ranges (passes.Ranges), so that passes.Convert with
// the ranges reproduces the trained quantized model. Recover and
// NewRecoverPass fit ternary scales by least squares and correct biases on
// calibration data, without training.
//
// MNISTNet and SeparableNet build small depthwise-separable networks;
// SyntheticDigits is a hermetic data set for tests. See docs/finetune.md.
package train
