package train

import "math/rand/v2"

// syntheticShapes are the strokes of each class of SyntheticDigits, as
// segments (x0, y0, x1, y1) on a 28x28 canvas.
var syntheticShapes = [10][][4]int{
	{{6, 14, 21, 14}},                  // 0: horizontal bar
	{{14, 6, 14, 21}},                  // 1: vertical bar
	{{6, 6, 21, 21}},                   // 2: diagonal
	{{21, 6, 6, 21}},                   // 3: anti-diagonal
	{{6, 14, 21, 14}, {14, 6, 14, 21}}, // 4: plus
	{{6, 6, 21, 21}, {21, 6, 6, 21}},   // 5: cross
	{{7, 7, 20, 7}, {7, 20, 20, 20}, {7, 7, 7, 20}, {20, 7, 20, 20}}, // 6: square
	{{8, 6, 8, 21}, {8, 21, 20, 21}},                                 // 7: L
	{{6, 7, 21, 7}, {14, 7, 14, 21}},                                 // 8: T
	{{6, 10, 21, 10}, {6, 18, 21, 18}},                               // 9: two bars
}

// SyntheticDigits is a hermetic 10-class data set of n 1x28x28 images in
// [0, 1], for tests and demonstrations without MNIST: class c is one of
// ten stroke shapes (bars, diagonals, plus, cross, square, L, T, double
// bar), 2 pixels wide, shifted by up to 3 pixels, plus Gaussian noise
// (σ 0.15). Classes cycle 0..9.
func SyntheticDigits(n int, seed uint64) *Slice {
	r := rand.New(rand.NewPCG(seed, 99))
	s := &Slice{Size: 784, X: make([]float32, n*784), Labels: make([]int, n)}
	for i := 0; i < n; i++ {
		c := i % 10
		s.Labels[i] = c
		img := s.X[i*784 : (i+1)*784]
		ox, oy := r.IntN(7)-3, r.IntN(7)-3
		for _, seg := range syntheticShapes[c] {
			steps := max(abs(seg[2]-seg[0]), abs(seg[3]-seg[1]))
			for k := 0; k <= steps; k++ {
				x := seg[0] + (seg[2]-seg[0])*k/steps + ox
				y := seg[1] + (seg[3]-seg[1])*k/steps + oy
				for dy := 0; dy < 2; dy++ {
					for dx := 0; dx < 2; dx++ {
						if xx, yy := x+dx, y+dy; xx >= 0 && xx < 28 && yy >= 0 && yy < 28 {
							img[yy*28+xx] = 1
						}
					}
				}
			}
		}
		for j := range img {
			img[j] = min(1, max(0, img[j]+float32(0.15*r.NormFloat64())))
		}
	}
	return s
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
