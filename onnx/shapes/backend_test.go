package shapes_test

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/onnx-prom/onnx-prom/internal/testenv"
	"github.com/onnx-prom/onnx-prom/onnx"
	"github.com/onnx-prom/onnx-prom/onnx/ir"
	"github.com/onnx-prom/onnx-prom/onnx/onnxpb"
	"github.com/onnx-prom/onnx-prom/onnx/shapes"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
	"google.golang.org/protobuf/proto"
)

// TestBackendNodeShapes runs inference on every ONNX backend node test case
// whose operators are all supported, after removing the declared type and
// shape of the graph outputs, and compares the result with the declared
// output types and with the shapes of the expected outputs (output_*.pb).
// A second pass turns the inputs into initializers holding the test data, so
// that shape parameters given as inputs (Reshape's shape, Slice's starts,
// Resize's scales, ...) are constants too: then every output must be known
// exactly, except where it depends on data (NonZero).
func TestBackendNodeShapes(t *testing.T) {
	root := filepath.Join(testenv.ONNXTestData(t), "node")
	dirs, err := filepath.Glob(filepath.Join(root, "test_*"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no backend test cases under %s", root)
	}
	sort.Strings(dirs)
	for _, constInputs := range []bool{false, true} {
		var st backendStats
		for _, dir := range dirs {
			backendCase(t, dir, constInputs, &st)
		}
		mode := "inputs as given"
		if constInputs {
			mode = "inputs as constants"
			for _, p := range st.partial {
				if !strings.HasPrefix(p, "test_nonzero") {
					t.Errorf("%s: output not fully inferred with constant inputs", p)
				}
			}
		}
		t.Logf("%s: %d backend node cases with supported ops (%d skipped); outputs: %d matched exactly, %d partly known, %d mismatched; %d inference errors",
			mode, st.cases, st.skipped, st.matched, len(st.partial), st.mismatched, st.errs)
		if len(st.partial) > 0 {
			t.Logf("%s: partly known: %s", mode, strings.Join(st.partial, " "))
		}
	}
}

type backendStats struct {
	cases, skipped, matched, mismatched, errs int
	partial                                   []string
}

func backendCase(t *testing.T, dir string, constInputs bool, st *backendStats) {
	name := filepath.Base(dir)
	mp, err := onnx.Load(filepath.Join(dir, "model.onnx"))
	if err != nil {
		t.Errorf("%s: %v", name, err)
		return
	}
	if !allSupported(mp) {
		st.skipped++
		return
	}
	st.cases++
	sets, _ := filepath.Glob(filepath.Join(dir, "test_data_set_*"))
	sort.Strings(sets)
	declared := map[string]*onnxpb.ValueInfoProto{}
	for _, o := range mp.GetGraph().GetOutput() {
		declared[o.GetName()] = proto.Clone(o).(*onnxpb.ValueInfoProto)
	}
	if constInputs && len(sets) > 0 {
		inputsAsInitializers(mp, sets[0])
	}
	m, err := ir.FromProto(mp)
	if err != nil {
		t.Errorf("%s: %v", name, err)
		return
	}
	for _, o := range m.Graph.Outputs {
		if o.Producer != nil {
			o.Type, o.Shape = 0, nil
		}
	}
	if err := shapes.Infer(m); err != nil {
		st.errs++
		t.Errorf("%s: %v", name, err)
		return
	}
	for i, o := range m.Graph.Outputs {
		vi := declared[o.Name]
		tt := vi.GetType().GetTensorType()
		if tt == nil {
			continue // sequences, optionals
		}
		want := tensor.DataType(tt.GetElemType())
		var wantShape []int64
		if len(sets) > 0 {
			tp, err := readTensor(filepath.Join(sets[0], fmt.Sprintf("output_%d.pb", i)))
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			wantShape = tp.GetDims()
		}
		ok, full := compare(o, want, tt.GetShape(), wantShape)
		switch {
		case !ok:
			st.mismatched++
			t.Errorf("%s: output %q: inferred %s %v, declared %s %v, data %v", name, o.Name,
				tensor.Name(o.Type), o.Shape, tensor.Name(want), tt.GetShape(), wantShape)
		case !full:
			st.partial = append(st.partial, name+"/"+o.Name)
		default:
			st.matched++
		}
	}
}

func allSupported(mp *onnxpb.ModelProto) bool {
	if len(mp.GetGraph().GetNode()) == 0 {
		return false
	}
	for _, n := range mp.GetGraph().GetNode() {
		if !shapes.Supported(n.GetDomain(), n.GetOpType()) {
			return false
		}
	}
	return true
}

// compare checks the inferred type and shape of v against the declared type
// and shape and the expected data's dims. ok is false on any contradiction;
// full reports whether everything is known and equal.
func compare(v *ir.Value, want tensor.DataType, declared *onnxpb.TensorShapeProto, data []int64) (ok, full bool) {
	if v.Type != want {
		return v.Type == tensor.Undefined, false
	}
	if v.Shape == nil {
		return true, false
	}
	full = true
	if declared != nil {
		if len(declared.GetDim()) != len(v.Shape) {
			return false, false
		}
		for i, d := range declared.GetDim() {
			if _, isVal := d.Value.(*onnxpb.TensorShapeProto_Dimension_DimValue); isVal {
				if v.Shape[i].Known() && v.Shape[i].Value != d.GetDimValue() {
					return false, false
				}
			}
		}
	}
	if data != nil {
		if len(data) != len(v.Shape) {
			return false, false
		}
		for i, d := range data {
			switch {
			case !v.Shape[i].Known():
				full = false
			case v.Shape[i].Value != d:
				return false, false
			}
		}
	} else if !v.Shape.Known() {
		full = false
	}
	return true, full
}

func readTensor(path string) (*onnxpb.TensorProto, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	tp := new(onnxpb.TensorProto)
	if err := proto.Unmarshal(b, tp); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return tp, nil
}

// inputsAsInitializers turns the graph inputs that have data in the test
// data set folder into initializers holding that data.
func inputsAsInitializers(mp *onnxpb.ModelProto, set string) {
	g := mp.GetGraph()
	var keep []*onnxpb.ValueInfoProto
	for i, in := range g.GetInput() {
		tp, err := readTensor(filepath.Join(set, fmt.Sprintf("input_%d.pb", i)))
		if err != nil {
			keep = append(keep, in) // optional input without data
			continue
		}
		tp.Name = proto.String(in.GetName())
		// Old test data stores BFLOAT16 inputs as UINT16.
		if dt := in.GetType().GetTensorType().GetElemType(); dt != 0 && tensor.Bits(tensor.DataType(dt)) == tensor.Bits(tensor.DataType(tp.GetDataType())) {
			tp.DataType = proto.Int32(dt)
		}
		g.Initializer = append(g.Initializer, tp)
	}
	g.Input = keep
}
