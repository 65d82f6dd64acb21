package interp

import (
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/onnx-prom/onnx-prom/onnx/tensor"
)

func TestZZProf(t *testing.T) {
	_, m := mobileNetV2(t)
	res := map[int]map[string]time.Duration{}
	shapes := map[string]string{}
	for _, th := range []int{1, 2} {
		prog, _ := Compile(m, Options{Threads: th, Fuse: true})
		in := mobileNetInput(1)
		prog.Run(in)
		byNode := map[string]time.Duration{}
		for range 40 {
			last := time.Now()
			prog.RunWith(in, RunOptions{Observe: func(name string, x *tensor.Tensor) {
				now := time.Now()
				shapes[name] = fmt.Sprint(x.Shape)
				byNode[name] += now.Sub(last)
				last = now
			}})
		}
		res[th] = byNode
	}
	type kv struct {
		k    string
		a, b time.Duration
	}
	var l []kv
	var ta, tb time.Duration
	for k, v := range res[1] {
		l = append(l, kv{k, v / 40, res[2][k] / 40})
		ta += v / 40
		tb += res[2][k] / 40
	}
	sort.Slice(l, func(i, j int) bool { return l[i].b-l[i].a/2 > l[j].b-l[j].a/2 })
	fmt.Println("total", ta, tb)
	for _, e := range l[:30] {
		fmt.Printf("  %-40s %-18s %8v %8v %.2f\n", e.k, shapes[e.k], e.a, e.b, float64(e.a)/float64(e.b))
	}
}
