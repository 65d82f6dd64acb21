package passes

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTernarizeRecoversExactChannels(t *testing.T) {
	a, b := float32(0.0371), float32(1.5)
	w := []float32{a, 0, -a, a /* channel 1 */, -b, -b, 0, 0 /* channel 2: all zero */, 0, 0, 0, 0}
	got := TernarizeWeights(w, []int64{3, 4, 1, 1}, RuleTWN)
	if diff := cmp.Diff([]int8{1, 0, -1, 1, -1, -1, 0, 0, 0, 0, 0, 0}, got.Codes); diff != "" {
		t.Fatalf("codes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]float32{a, b, 1}, got.Scale); diff != "" {
		t.Fatalf("scales (-want +got):\n%s", diff)
	}
	if got.Exact != 3 || got.SqErr != 0 || got.Zeros != 7 {
		t.Fatalf("exact %d sqerr %g zeros %d, want 3, 0, 7", got.Exact, got.SqErr, got.Zeros)
	}
	for i, v := range got.Dequantized() {
		if v != w[i] {
			t.Fatalf("dequantized[%d] = %v, want %v", i, v, w[i])
		}
	}
}

func TestTernarizeTWNHandComputed(t *testing.T) {
	// mean|W| = (0.1+0.5+0.9+0.3)/4 = 0.45; threshold 0.315: keep 0.5, -0.9.
	// scale = (0.5+0.9)/2 = 0.7.
	w := []float32{0.1, 0.5, -0.9, 0.3}
	got := TernarizeWeights(w, []int64{1, 4}, RuleTWN)
	if diff := cmp.Diff([]int8{0, 1, -1, 0}, got.Codes); diff != "" {
		t.Fatal(diff)
	}
	if math.Abs(float64(got.Scale[0])-0.7) > 1e-6 || got.Exact != 0 {
		t.Fatalf("scale %v exact %d", got.Scale, got.Exact)
	}
	// TWN's scale is L2-optimal for its mask: error = 0.1² + 0.2² + 0.2² + 0.3².
	if want := 0.01 + 0.04 + 0.04 + 0.09; math.Abs(got.SqErr-want) > 1e-6 {
		t.Fatalf("sq err %v, want %v", got.SqErr, want)
	}
}

func TestTernarizeAbsMeanHandComputed(t *testing.T) {
	// g = 0.45: 0.1/g = 0.22 -> 0; 0.5/g = 1.11 -> 1; -0.9/g = -2 -> -1; 0.3/g = 0.67 -> 1.
	got := TernarizeWeights([]float32{0.1, 0.5, -0.9, 0.3}, []int64{1, 4}, RuleAbsMean)
	if diff := cmp.Diff([]int8{0, 1, -1, 1}, got.Codes); diff != "" {
		t.Fatal(diff)
	}
	if math.Abs(float64(got.Scale[0])-0.45) > 1e-6 {
		t.Fatalf("scale %v", got.Scale)
	}
}
