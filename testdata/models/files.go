package models

import (
	"bytes"
	"fmt"
	"math/rand/v2"
)

// Seeds of the committed calibration inputs.
const (
	TinyCalibrationSeed  = 101
	SmallCalibrationSeed = 102
)

// File is one generated file, at Path relative to testdata/models
// (slash-separated).
type File struct {
	Path string
	Data []byte
}

// Files returns every file committed in testdata/models by "go generate", in
// a fixed order:
//
//	tiny.onnx, tiny_folded.onnx     MobileNetV2(Tiny()), with FoldBN false/true
//	small.onnx, small_folded.onnx   MobileNetV2(Small()), likewise
//	calib/tiny/000.npy ... 015.npy  CalibrationSamples(TinyCalibrationSeed, 16, 32)
//	calib/small/000.npy ... 007.npy CalibrationSamples(SmallCalibrationSeed, 8, 64)
func Files() ([]File, error) {
	var files []File
	for _, m := range []struct {
		name string
		cfg  MobileNetV2Config
	}{{"tiny", Tiny()}, {"small", Small()}} {
		for _, fold := range []bool{false, true} {
			cfg := m.cfg
			cfg.FoldBN = fold
			data, err := MobileNetV2Bytes(cfg)
			if err != nil {
				return nil, err
			}
			path := m.name + ".onnx"
			if fold {
				path = m.name + "_folded.onnx"
			}
			files = append(files, File{path, data})
		}
	}
	for _, c := range []struct {
		name       string
		seed       int64
		count, res int
	}{{"tiny", TinyCalibrationSeed, 16, 32}, {"small", SmallCalibrationSeed, 8, 64}} {
		for i, s := range CalibrationSamples(c.seed, c.count, c.res) {
			var buf bytes.Buffer
			if err := WriteNPY(&buf, []int{1, 3, c.res, c.res}, s); err != nil {
				return nil, err
			}
			files = append(files, File{fmt.Sprintf("calib/%s/%03d.npy", c.name, i), buf.Bytes()})
		}
	}
	return files, nil
}

// CalibrationSamples returns count deterministic inputs of shape
// [1, 3, resolution, resolution] (NCHW, flattened) that look roughly like
// normalized images: each channel is a per-image offset plus a smooth random
// field plus white noise, with mean 0 and a standard deviation near 1. The
// image-wide components make the models' outputs depend on the input much
// more than white noise alone would. Sample i depends only on seed, i and
// resolution.
func CalibrationSamples(seed int64, count, resolution int) [][]float32 {
	out := make([][]float32, count)
	for i := range out {
		r := rand.New(rand.NewPCG(uint64(seed), uint64(i)))
		out[i] = imageLike(r, 3, resolution)
	}
	return out
}

// imageLike returns one [c, res, res] image drawn as CalibrationSamples
// describes: 0.5*offset + field + 0.6*noise, where the offset is N(0, 1)
// per channel, the field bilinearly interpolates a 5x5 grid of N(0, 1)
// values, and the noise is N(0, 1) per pixel.
func imageLike(r *rand.Rand, c, res int) []float32 {
	const grid = 5
	out := make([]float32, c*res*res)
	// coord maps pixel p to its grid cell and the weight of the next node.
	coord := func(p int) (int, float64) {
		if res == 1 {
			return 0, 0
		}
		u := float64(p*(grid-1)) / float64(res-1)
		j := min(int(u), grid-2)
		return j, u - float64(j)
	}
	lerp := func(a, b, t float64) float64 { return float64(a*(1-t)) + float64(b*t) }
	for ch := range c {
		offset := r.NormFloat64()
		var g [grid][grid]float64
		for y := range grid {
			for x := range grid {
				g[y][x] = r.NormFloat64()
			}
		}
		plane := out[ch*res*res : (ch+1)*res*res]
		for y := range res {
			gy, ty := coord(y)
			for x := range res {
				gx, tx := coord(x)
				field := lerp(lerp(g[gy][gx], g[gy][gx+1], tx), lerp(g[gy+1][gx], g[gy+1][gx+1], tx), ty)
				plane[y*res+x] = float32(float64(0.5*offset) + field + float64(0.6*r.NormFloat64()))
			}
		}
	}
	return out
}
