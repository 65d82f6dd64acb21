package onnx

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/onnx-prom/onnx-prom/onnx/onnxpb"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
	"google.golang.org/protobuf/proto"
)

// Limits bound what loading may allocate or recurse into. The zero value
// means the defaults.
type Limits struct {
	// MaxTensorBytes caps one tensor's data (default tensor.DefaultMaxBytes, 4 GiB).
	MaxTensorBytes int64
	// MaxFileBytes caps the model file itself (default 2 GiB, protobuf's own limit).
	MaxFileBytes int64
	// MaxDepth caps how deeply subgraphs nest: a graph attribute of a node
	// (If, Loop, Scan) inside another such graph, and so on (default 32).
	// It also bounds protobuf message nesting, to 3*MaxDepth+32 levels.
	MaxDepth int
}

func (l Limits) maxTensor() int64 {
	if l.MaxTensorBytes > 0 {
		return l.MaxTensorBytes
	}
	return tensor.DefaultMaxBytes
}

func (l Limits) maxFile() int64 {
	if l.MaxFileBytes > 0 {
		return l.MaxFileBytes
	}
	return 2 << 30
}

func (l Limits) maxDepth() int {
	if l.MaxDepth > 0 {
		return l.MaxDepth
	}
	return 32
}

// recursionLimit is the protobuf message nesting that MaxDepth allows: three
// messages a subgraph level (graph, node, attribute) and room for nested
// types inside the deepest graph.
func (l Limits) recursionLimit() int { return 3*l.maxDepth() + 32 }

// LoadOptions control Load and Read.
type LoadOptions struct {
	Limits
	// KeepExternal leaves tensors that live in external files as references
	// instead of reading their data into raw_data.
	KeepExternal bool
}

// ErrNotONNX reports input that does not decode as an ONNX model.
var ErrNotONNX = errors.New("not an ONNX model")

// Load reads the model file at path, resolving external data relative to the
// file's folder.
func Load(path string) (*onnxpb.ModelProto, error) { return LoadOptions{}.Load(path) }

// Load reads the model file at path. Errors name the file.
func (o LoadOptions) Load(path string) (*onnxpb.ModelProto, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m, err := o.read(f, filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// Read decodes a model from r. External data, if any, is looked up in
// baseDir; with baseDir "" a model that refers to external data is an error
// unless KeepExternal is set.
func (o LoadOptions) Read(r io.Reader, baseDir string) (*onnxpb.ModelProto, error) {
	return o.read(r, baseDir)
}

// Read decodes a model from r with default options and no external data.
func Read(r io.Reader) (*onnxpb.ModelProto, error) { return LoadOptions{}.read(r, "") }

func (o LoadOptions) read(r io.Reader, baseDir string) (*onnxpb.ModelProto, error) {
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(r, o.maxFile()+1))
	if err != nil {
		return nil, err
	}
	if n > o.maxFile() {
		return nil, fmt.Errorf("file is over the %d-byte limit", o.maxFile())
	}
	return o.Decode(buf.Bytes(), baseDir)
}

// Decode parses a serialized model held in memory; see Read. Besides
// decoding, it checks what a model file must satisfy before anything else
// reads it: a graph and an IR version, imported operator sets that every
// node's domain is among, subgraphs no deeper than MaxDepth, and tensors
// with a known element type, a valid shape within MaxTensorBytes and exactly
// the data their shape needs. Errors name the tensor or node.
func (o LoadOptions) Decode(b []byte, baseDir string) (*onnxpb.ModelProto, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: empty file", ErrNotONNX)
	}
	m := new(onnxpb.ModelProto)
	uo := proto.UnmarshalOptions{RecursionLimit: o.recursionLimit()}
	if err := uo.Unmarshal(b, m); err != nil {
		if strings.Contains(err.Error(), "exceeded maximum recursion depth") {
			return nil, fmt.Errorf("%w: messages nest more than %d levels deep (subgraphs are limited to %d levels)", ErrTooDeep, o.recursionLimit(), o.maxDepth())
		}
		return nil, fmt.Errorf("%w: %v", ErrNotONNX, err)
	}
	if m.Graph == nil {
		return nil, fmt.Errorf("%w: the model has no graph", ErrNotONNX)
	}
	if m.GetIrVersion() <= 0 {
		return nil, fmt.Errorf("%w: ir_version %d (want 1 or more)", ErrNotONNX, m.GetIrVersion())
	}
	if err := checkStructure(m, o.maxDepth()); err != nil {
		return nil, err
	}
	dec := tensor.DecodeOptions{MaxBytes: o.maxTensor()}
	if err := WalkTensors(m, func(tp *onnxpb.TensorProto, where string) error {
		if err := dec.Check(tp); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if !o.KeepExternal {
		if err := loadExternalData(m, baseDir, o.maxTensor()); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// LoadExternalData reads the data of the external tensors of m (a model
// decoded with KeepExternal) from files in baseDir, confined to it and
// within the limits, and stores it inline.
func (o LoadOptions) LoadExternalData(m *onnxpb.ModelProto, baseDir string) error {
	return loadExternalData(m, baseDir, o.maxTensor())
}

// ErrTooDeep reports subgraphs (or other messages) nested deeper than
// LoadOptions.MaxDepth allows.
var ErrTooDeep = errors.New("model nests too deeply")

// checkStructure checks the operator set imports and the subgraph depth.
func checkStructure(m *onnxpb.ModelProto, maxDepth int) error {
	imported := map[string]bool{}
	for _, op := range m.GetOpsetImport() {
		d := op.GetDomain()
		if d == "ai.onnx" {
			d = ""
		}
		if imported[d] {
			return fmt.Errorf("opset_import lists domain %q twice", op.GetDomain())
		}
		if op.GetVersion() <= 0 {
			return fmt.Errorf("opset_import: domain %q has version %d", op.GetDomain(), op.GetVersion())
		}
		imported[d] = true
	}
	// IR version 3 introduced opset_import; older files imply opset 1.
	if len(imported) == 0 && m.GetIrVersion() >= 3 {
		return fmt.Errorf("the model imports no operator set (opset_import is empty)")
	}
	local := map[string]bool{}
	for _, f := range m.GetFunctions() {
		local[normDomain(f.GetDomain())+"/"+f.GetName()] = true
	}
	// where names the graph: "graph", or the top-level node whose
	// subgraph it is (naming every level would make deep nesting give
	// an error message as deep).
	var walk func(g *onnxpb.GraphProto, where string, depth int, domains map[string]bool) error
	walk = func(g *onnxpb.GraphProto, where string, depth int, domains map[string]bool) error {
		for i, n := range g.GetNode() {
			label := fmt.Sprintf("%s node %q (%s)", where, n.GetName(), n.GetOpType())
			if n.GetName() == "" {
				label = fmt.Sprintf("%s node #%d (%s)", where, i, n.GetOpType())
			}
			if n.GetOpType() == "" {
				return fmt.Errorf("%s has no op_type", label)
			}
			d := normDomain(n.GetDomain())
			if len(imported) > 0 && !domains[d] && !local[d+"/"+n.GetOpType()] {
				return fmt.Errorf("%s: domain %q is not in the model's opset_import", label, n.GetDomain())
			}
			for _, a := range n.GetAttribute() {
				subs := a.GetGraphs()
				if a.G != nil {
					subs = append([]*onnxpb.GraphProto{a.G}, subs...)
				}
				if len(subs) > 0 && depth+1 > maxDepth {
					return fmt.Errorf("%s attribute %q: %w: subgraphs nest more than %d levels deep", label, a.GetName(), ErrTooDeep, maxDepth)
				}
				inner := where
				if depth == 0 {
					inner = fmt.Sprintf("%s attribute %q: subgraph", label, a.GetName())
				}
				for _, sg := range subs {
					if err := walk(sg, inner, depth+1, domains); err != nil {
						return err
					}
				}
			}
		}
		return nil
	}
	all := imported
	if len(imported) == 0 {
		all = nil // a pre-IR-3 model: nothing to check against
	}
	if err := walk(m.Graph, "graph", 0, all); err != nil {
		return err
	}
	for _, f := range m.GetFunctions() {
		fd := map[string]bool{}
		for _, op := range f.GetOpsetImport() {
			fd[normDomain(op.GetDomain())] = true
		}
		for d := range imported {
			fd[d] = true
		}
		if err := walk(&onnxpb.GraphProto{Node: f.GetNode()}, fmt.Sprintf("function %q", f.GetName()), 0, fd); err != nil {
			return err
		}
	}
	return nil
}

func normDomain(d string) string {
	if d == "ai.onnx" {
		return ""
	}
	return d
}
