package data

import (
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg" // register the JPEG decoder
	_ "image/png"  // register the PNG decoder
	"io"
	"math"
	"os"
	"path/filepath"

	"github.com/onnx-prom/onnx-prom/onnx/tensor"
)

// DefaultImageSize is the crop size when Options.Size is 0.
const DefaultImageSize = 224

// defaultMaxPixels bounds the size of an image when Options.MaxPixels is 0.
const defaultMaxPixels = 1 << 26

// ImagePrep is the preprocessing of an image: shorter side resized to
// Resize, center crop Size x Size, [0,1] scale, per-channel normalization,
// CHW (or HWC) layout.
type ImagePrep struct {
	Size, Resize int
	Mean, Std    []float32 // one value per channel
	Grayscale    bool
	NHWC         bool
	MaxPixels    int64
}

// NewImagePrep resolves the image options of o, filling in defaults.
func NewImagePrep(o Options) (*ImagePrep, error) {
	p := &ImagePrep{Size: o.Size, Resize: o.Resize, Grayscale: o.Grayscale, NHWC: o.NHWC, MaxPixels: o.MaxPixels}
	if p.Size == 0 {
		p.Size = DefaultImageSize
	}
	if p.Resize == 0 {
		p.Resize = p.Size
	}
	if p.Size < 0 || p.Size > 1<<14 || p.Resize < 0 || p.Resize > 1<<14 {
		return nil, fmt.Errorf("image size %d, resize %d: want 1 to %d", p.Size, p.Resize, 1<<14)
	}
	if p.Resize < p.Size {
		return nil, fmt.Errorf("image resize %d is smaller than the crop size %d", p.Resize, p.Size)
	}
	if p.MaxPixels <= 0 {
		p.MaxPixels = defaultMaxPixels
	}
	channels := 3
	mean, std := ImageNetMean, ImageNetStd
	if p.Grayscale {
		channels = 1
		mean, std = []float32{0}, []float32{1}
	}
	if o.Mean != nil {
		mean = o.Mean
	}
	if o.Std != nil {
		std = o.Std
	}
	var err error
	if p.Mean, err = perChannel("mean", mean, channels); err != nil {
		return nil, err
	}
	if p.Std, err = perChannel("std", std, channels); err != nil {
		return nil, err
	}
	for _, s := range p.Std {
		if s == 0 || math.IsNaN(float64(s)) || math.IsInf(float64(s), 0) {
			return nil, fmt.Errorf("std %v: every value must be finite and non-zero", std)
		}
	}
	return p, nil
}

// perChannel expands one value to every channel, or checks there is one
// per channel.
func perChannel(what string, v []float32, channels int) ([]float32, error) {
	switch len(v) {
	case channels:
		return append([]float32{}, v...), nil
	case 1:
		out := make([]float32, channels)
		for i := range out {
			out[i] = v[0]
		}
		return out, nil
	}
	return nil, fmt.Errorf("%s has %d values for %d channels", what, len(v), channels)
}

// Channels is the number of channels of a prepared image.
func (p *ImagePrep) Channels() int {
	if p.Grayscale {
		return 1
	}
	return 3
}

// openImages opens an image file, a folder of images or a folder of class
// folders of images.
func openImages(path string, st os.FileInfo, o Options) (*listSource, error) {
	prep, err := NewImagePrep(o)
	if err != nil {
		return nil, err
	}
	load := func(rel string) (Sample, error) {
		t, err := prep.LoadFile(filepath.Join(path, filepath.FromSlash(rel)))
		if err != nil {
			return Sample{}, err
		}
		return Sample{Input: t}, nil
	}
	if !st.IsDir() {
		dir, base := filepath.Split(path)
		return &listSource{names: []string{base}, load: func(int) (Sample, error) {
			t, err := prep.LoadFile(filepath.Join(dir, base))
			return Sample{Input: t}, err
		}}, nil
	}
	files, err := listFiles(path, isImage)
	if err != nil {
		return nil, err
	}
	if len(files) > 0 {
		return &listSource{names: files, load: func(i int) (Sample, error) { return load(files[i]) }}, nil
	}
	// Class folders: sorted folder names give the labels, as torchvision's
	// ImageFolder does.
	classes, err := listDirs(path)
	if err != nil {
		return nil, err
	}
	src := &listSource{labels: []int{}}
	for c, class := range classes {
		files, err := listFiles(filepath.Join(path, class), isImage)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			src.names = append(src.names, class+"/"+f)
			src.labels = append(src.labels, c)
		}
	}
	if len(src.names) == 0 {
		return nil, fmt.Errorf("%s: %w: no images", path, errEmpty)
	}
	src.load = func(i int) (Sample, error) { return load(src.names[i]) }
	return src, nil
}

// LoadFile decodes and preprocesses the JPEG or PNG image at path.
func (p *ImagePrep) LoadFile(path string) (*tensor.Tensor, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	t, err := p.Load(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// Load decodes and preprocesses a JPEG or PNG image.
func (p *ImagePrep) Load(r io.ReadSeeker) (*tensor.Tensor, error) {
	cfg, _, err := image.DecodeConfig(r)
	if err != nil {
		return nil, err
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > p.MaxPixels {
		return nil, fmt.Errorf("image of %dx%d pixels: want 1 to %d pixels", cfg.Width, cfg.Height, p.MaxPixels)
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	img, _, err := image.Decode(r)
	if err != nil {
		return nil, err
	}
	return p.Prepare(img)
}

// Prepare preprocesses a decoded image.
func (p *ImagePrep) Prepare(img image.Image) (*tensor.Tensor, error) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= 0 || h <= 0 || int64(w)*int64(h) > p.MaxPixels {
		return nil, fmt.Errorf("image of %dx%d pixels: want 1 to %d pixels", w, h, p.MaxPixels)
	}
	planes := toPlanes(img, p.Grayscale)
	// Shorter side to Resize, as torchvision's Resize(int) computes it.
	nw, nh := p.Resize, p.Resize
	if w <= h {
		nh = int(float64(p.Resize) * float64(h) / float64(w))
	} else {
		nw = int(float64(p.Resize) * float64(w) / float64(h))
	}
	// Center crop, as torchvision's CenterCrop rounds it.
	top := int(math.RoundToEven(float64(nh-p.Size) / 2))
	left := int(math.RoundToEven(float64(nw-p.Size) / 2))
	xs := resampleCoeffs(w, nw, left, p.Size)
	ys := resampleCoeffs(h, nh, top, p.Size)
	c := len(planes)
	s := p.Size
	out := make([]float32, c*s*s)
	tmp := make([]float32, h*s)
	for ch, plane := range planes {
		// Horizontal pass over the rows the vertical pass reads.
		rlo, rhi := ys[0].start, ys[s-1].start+len(ys[s-1].w)
		for y := rlo; y < rhi; y++ {
			row := plane[y*w : (y+1)*w]
			for x, k := range xs {
				var acc float64
				for j, wt := range k.w {
					acc += wt * float64(row[k.start+j])
				}
				tmp[y*s+x] = float32(acc)
			}
		}
		mean, std := p.Mean[ch], p.Std[ch]
		for y, k := range ys {
			for x := 0; x < s; x++ {
				var acc float64
				for i, wt := range k.w {
					acc += wt * float64(tmp[(k.start+i)*s+x])
				}
				v := (float32(acc) - mean) / std
				if p.NHWC {
					out[(y*s+x)*c+ch] = v
				} else {
					out[(ch*s+y)*s+x] = v
				}
			}
		}
	}
	shape := []int64{int64(c), int64(s), int64(s)}
	if p.NHWC {
		shape = []int64{int64(s), int64(s), int64(c)}
	}
	return tensor.FromFloat32(out, shape...), nil
}

// coeffs are the filter weights of one output pixel over input pixels
// start, start+1, ...
type coeffs struct {
	start int
	w     []float64
}

// resampleCoeffs returns the weights of output pixels off .. off+n-1 of a
// resize from in to out pixels with PIL's antialiased bilinear filter: a
// triangle filter of support max(in/out, 1), centred on each output
// pixel's center mapped to the input, weights normalized to sum 1.
func resampleCoeffs(in, out, off, n int) []coeffs {
	scale := float64(in) / float64(out)
	filterScale := max(scale, 1)
	support := filterScale // the triangle's support is 1
	res := make([]coeffs, n)
	for i := range res {
		center := (float64(off+i) + 0.5) * scale
		lo := max(int(center-support+0.5), 0)
		hi := min(int(center+support+0.5), in)
		w := make([]float64, 0, hi-lo)
		var sum float64
		for j := lo; j < hi; j++ {
			t := math.Abs((float64(j) - center + 0.5) / filterScale)
			v := max(1-t, 0)
			w = append(w, v)
			sum += v
		}
		if sum > 0 {
			for j := range w {
				w[j] /= sum
			}
		}
		res[i] = coeffs{start: lo, w: w}
	}
	return res
}

// toPlanes converts img to one float plane per channel (R, G, B, or luma)
// on the [0,1] scale, dropping alpha as PIL's convert("RGB") does.
func toPlanes(img image.Image, gray bool) [][]float32 {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	r := make([]float32, w*h)
	var g, bl []float32
	if !gray {
		g, bl = make([]float32, w*h), make([]float32, w*h)
	}
	set := func(i int, rv, gv, bv float32) {
		if gray {
			r[i] = 0.299*rv + 0.587*gv + 0.114*bv
			return
		}
		r[i], g[i], bl[i] = rv, gv, bv
	}
	const u8 = 1.0 / 255
	switch m := img.(type) {
	case *image.Gray:
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				v := float32(m.Pix[m.PixOffset(b.Min.X+x, b.Min.Y+y)]) * u8
				if gray {
					r[y*w+x] = v
				} else {
					set(y*w+x, v, v, v)
				}
			}
		}
	case *image.YCbCr:
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				yi := m.YOffset(b.Min.X+x, b.Min.Y+y)
				ci := m.COffset(b.Min.X+x, b.Min.Y+y)
				rr, gg, bb := color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
				set(y*w+x, float32(rr)*u8, float32(gg)*u8, float32(bb)*u8)
			}
		}
	case *image.NRGBA:
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				p := m.Pix[m.PixOffset(b.Min.X+x, b.Min.Y+y):]
				set(y*w+x, float32(p[0])*u8, float32(p[1])*u8, float32(p[2])*u8)
			}
		}
	default:
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				c := color.NRGBA64Model.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA64)
				const u16 = 1.0 / 65535
				set(y*w+x, float32(c.R)*u16, float32(c.G)*u16, float32(c.B)*u16)
			}
		}
	}
	if gray {
		return [][]float32{r}
	}
	return [][]float32{r, g, bl}
}
