package interp

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/onnx-prom/onnx-prom/onnx"
	"github.com/onnx-prom/onnx-prom/onnx/ir"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
	"github.com/onnx-prom/onnx-prom/testdata/models"
)

// The memory bound: a run of a batch stays under the weights plus
// the two largest activations of the batch, times 2. These tests measure it
// on torchvision's MobileNetV2 two ways: by the interpreter's own accounting
// (ConstantBytes, RunStats), and by the resident set of a separate process
// that loads the model file, compiles it and runs it.

// memBound is what the bound allows for model m at the given batch: 2 ×
// (the bytes of its initializers + the two largest values a run computes,
// the graph input included). The sizes come from a run's Observe hook, not
// from the pool's accounting.
type memBound struct {
	weights, act1, act2 int64
}

func (b memBound) limit() int64 { return 2 * (b.weights + b.act1 + b.act2) }

func measureBound(t testing.TB, m *ir.Model, prog *Program, in map[string]*tensor.Tensor) memBound {
	t.Helper()
	var b memBound
	for _, v := range m.Graph.Initializers {
		if v.Const == nil {
			continue
		}
		n, err := tensor.NumElements(v.Const.GetDims())
		if err != nil {
			t.Fatal(err)
		}
		b.weights += n * elemBytes(tensor.DataType(v.Const.GetDataType()))
	}
	var sizes []int64
	for _, x := range in {
		sizes = append(sizes, int64(x.Len())*elemBytes(x.Type))
	}
	_, err := prog.RunWith(in, RunOptions{Observe: func(_ string, x *tensor.Tensor) {
		sizes = append(sizes, int64(x.Len())*elemBytes(x.Type))
	}})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(sizes)
	slices.Reverse(sizes)
	b.act1, b.act2 = sizes[0], sizes[1]
	return b
}

func mobileNetInput(batch int) map[string]*tensor.Tensor {
	x := benchInput(batch, 224)
	return map[string]*tensor.Tensor{models.InputName: tensor.FromFloat32(x, int64(batch), 3, 224, 224)}
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// TestMemoryAccounting checks the bound by the interpreter's accounting:
// the constants it holds (decoded initializers, packed weights) plus the
// most its buffer pool held during a run. It also checks that the program
// keeps one copy of the weights, not several, and that planned runs hold
// the same buffers run after run.
func TestMemoryAccounting(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the full MobileNetV2")
	}
	_, m := mobileNetV2(t)
	ref, err := Compile(m, Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	fused, err := Compile(m, Options{Threads: 2, Fuse: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		batch int
		fuse  bool
	}{{1, false}, {8, false}, {1, true}, {8, true}} {
		batch, prog := c.batch, ref
		if c.fuse {
			prog = fused
		}
		in := mobileNetInput(batch)
		// The bound is the model's: its values as written, not fused.
		b := measureBound(t, m, ref, in)
		// The first run of a shape lays buffers out by best fit; the pool
		// then plans from what it saw, and from the second run on holds
		// the same buffers run after run.
		if _, err := prog.Run(in); err != nil {
			t.Fatal(err)
		}
		var first, second RunStats
		if _, err := prog.RunWith(in, RunOptions{Stats: &first}); err != nil {
			t.Fatal(err)
		}
		if _, err := prog.RunWith(in, RunOptions{Stats: &second}); err != nil {
			t.Fatal(err)
		}
		used := prog.ConstantBytes() + second.PeakPoolBytes
		t.Logf("batch %d, fused %v: weights %s, two largest activations %s + %s: bound %s; program constants %s, pool peak %s (live peak %s): %s = %.2f of the bound",
			batch, c.fuse, mib(b.weights), mib(b.act1), mib(b.act2), mib(b.limit()), mib(prog.ConstantBytes()),
			mib(second.PeakPoolBytes), mib(second.PeakLiveBytes), mib(used), float64(used)/float64(b.limit()))
		if used > b.limit() {
			t.Errorf("batch %d: constants + pool = %s, over the bound %s", batch, mib(used), mib(b.limit()))
		}
		// Packed GEMM weights are padded to whole micro-kernel panels: a
		// few percent over the initializers' size, not a second copy.
		if c := prog.ConstantBytes(); float64(c) > 1.1*float64(b.weights) {
			t.Errorf("program holds %s of constants for %s of initializers: more than one copy", mib(c), mib(b.weights))
		}
		if second.PeakPoolBytes != first.PeakPoolBytes {
			t.Errorf("batch %d: the pool went from %s to %s between two planned runs of the same shape", batch, mib(first.PeakPoolBytes), mib(second.PeakPoolBytes))
		}
		// Fused, the largest activations are never formed.
		if second.PeakLiveBytes > second.PeakPoolBytes || (!c.fuse && second.PeakLiveBytes < b.act1+b.act2) {
			t.Errorf("batch %d: live peak %s is not between the two largest activations (%s) and the pool peak (%s)",
				batch, mib(second.PeakLiveBytes), mib(b.act1+b.act2), mib(second.PeakPoolBytes))
		}
	}
}

// rssChild is set in the environment of the process TestPeakRSS starts.
const rssChildEnv = "ONNXPROM_RSS_CHILD"

type rssReport struct {
	Baseline, Compiled, Peak int64 // VmRSS before loading, VmRSS after compiling, VmHWM of the runs
	Weights, Act1, Act2      int64
}

// TestPeakRSS checks the bound on the resident memory of a process: it
// runs this test binary again (TestPeakRSSChild) to load MobileNetV2 from a
// file, compile it and run a batch of 8 three times, and compares the
// growth of its peak resident set over the bare process with the bound.
func TestPeakRSS(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the full MobileNetV2")
	}
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc/self/status")
	}
	data, _ := mobileNetV2(t)
	path := filepath.Join(t.TempDir(), "mobilenetv2.onnx")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, batch := range []int{1, 8} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestPeakRSSChild$", "-test.v")
		cmd.Env = append(os.Environ(), rssChildEnv+"="+path+","+strconv.Itoa(batch))
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("child: %v\n%s", err, out)
		}
		var r rssReport
		i := bytes.Index(out, []byte("RSS "))
		if i < 0 {
			t.Fatalf("child printed no report:\n%s", out)
		}
		line, _, _ := bytes.Cut(out[i+4:], []byte("\n"))
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatalf("child report %q: %v", line, err)
		}
		b := memBound{weights: r.Weights, act1: r.Act1, act2: r.Act2}
		grew := r.Peak - r.Baseline
		t.Logf("batch %d: resident %s bare, %s compiled, %s at the peak of the runs: %s over the bare process; bound %s (%.2f of it)",
			batch, mib(r.Baseline), mib(r.Compiled), mib(r.Peak), mib(grew), mib(b.limit()), float64(grew)/float64(b.limit()))
		if grew > b.limit() {
			t.Errorf("batch %d: peak resident memory grew by %s, over the bound %s", batch, mib(grew), mib(b.limit()))
		}
	}
}

// TestPeakRSSChild is the process TestPeakRSS measures; it does nothing
// unless started by it.
func TestPeakRSSChild(t *testing.T) {
	spec := os.Getenv(rssChildEnv)
	if spec == "" {
		t.Skip("run by TestPeakRSS")
	}
	path, bs, _ := strings.Cut(spec, ",")
	batch, err := strconv.Atoi(bs)
	if err != nil {
		t.Fatal(err)
	}
	in := mobileNetInput(batch)
	settle := func() {
		runtime.GC()
		debug.FreeOSMemory()
	}
	settle()
	var r rssReport
	r.Baseline = procStatus(t, "VmRSS")
	mp, err := onnx.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	m, err := ir.FromProto(mp)
	if err != nil {
		t.Fatal(err)
	}
	mp = nil
	prog, err := Compile(m, Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	b := measureBound(t, m, prog, in)
	r.Weights, r.Act1, r.Act2 = b.weights, b.act1, b.act2
	prog.FreeMemory()
	m = nil
	settle()
	r.Compiled = procStatus(t, "VmRSS")
	// Start the peak over: what loading the file took is not the run's.
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		t.Logf("cannot reset the peak resident set (%v): it includes loading", err)
	}
	for range 3 {
		if _, err := prog.Run(in); err != nil {
			t.Fatal(err)
		}
	}
	r.Peak = procStatus(t, "VmHWM")
	runtime.KeepAlive(prog)
	line, _ := json.Marshal(r)
	fmt.Printf("RSS %s\n", line)
}

// procStatus reads a "kB" field of /proc/self/status, in bytes.
func procStatus(t testing.TB, field string) int64 {
	t.Helper()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		name, val, ok := strings.Cut(s.Text(), ":")
		if !ok || name != field {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(val), " kB"), 10, 64)
		if err != nil {
			t.Fatalf("/proc/self/status %s: %v", field, err)
		}
		return kb << 10
	}
	t.Fatalf("/proc/self/status has no %s", field)
	return 0
}
