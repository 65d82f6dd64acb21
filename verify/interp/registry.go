package interp

import (
	"fmt"
	"sort"
	"sync"

	"github.com/onnx-prom/onnx-prom/onnx/ir"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
)

// Kernel computes one node. Run reads in (nil entries for omitted optional
// inputs) and must set out[i] for every output the node has, normally to a
// tensor from c.Alloc. Kernels are shared by concurrent runs: keep per-run
// state in c, not in the kernel.
type Kernel interface {
	Run(c *Ctx, in, out []*tensor.Tensor) error
}

// KernelFunc adapts a function to Kernel.
type KernelFunc func(c *Ctx, in, out []*tensor.Tensor) error

// Run calls f.
func (f KernelFunc) Run(c *Ctx, in, out []*tensor.Tensor) error { return f(c, in, out) }

// Node is what a Builder sees of the node it builds a kernel for.
type Node struct {
	*ir.Node
	// Opset is the version of the node's domain imported by the model.
	Opset int64
	// consts holds the decoded constant inputs (initializers), nil elsewhere.
	consts []*tensor.Tensor
	// captured marks the constant inputs the kernel keeps itself (Capture).
	captured []bool
	// scope lets control-flow builders compile the node's subgraphs.
	scope *subgraphScope
}

// Capture tells the program that the kernel keeps what it needs of
// constant input i (a packed or converted copy, or the decoded tensor
// itself) and that its Run reads only that input's Type and Shape. When
// every node reading a constant captures it, the program drops its own copy
// and passes a tensor with the right Type and Shape but no elements.
func (n *Node) Capture(i int) {
	if i < 0 || i >= len(n.consts) || n.consts[i] == nil {
		return
	}
	if n.captured == nil {
		n.captured = make([]bool, len(n.consts))
	}
	n.captured[i] = true
}

// Captured reports whether Capture(i) was called.
func (n *Node) Captured(i int) bool { return i >= 0 && i < len(n.captured) && n.captured[i] }

// HeldBytes is implemented by kernels that keep memory of their own (packed
// weights): the bytes they hold, for Program.ConstantBytes.
type HeldBytes interface {
	HeldBytes() int64
}

// Const returns input i decoded when it is a constant (an initializer that
// is not a graph input), else nil.
func (n *Node) Const(i int) *tensor.Tensor {
	if i < 0 || i >= len(n.consts) {
		return nil
	}
	return n.consts[i]
}

// InputType is the element type of input i as far as it is known
// (Undefined when unknown or omitted).
func (n *Node) InputType(i int) tensor.DataType {
	if v := n.Input(i); v != nil {
		return v.Type
	}
	return tensor.Undefined
}

// Errorf returns an error that names the node.
func (n *Node) Errorf(format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	return &nodeError{msg: fmt.Sprintf("node %s: %s", n.Label(), err), err: err}
}

// Builder checks a node's attributes and inputs and returns its kernel.
type Builder func(n *Node) (Kernel, error)

type opKey struct{ domain, op string }

var (
	registryMu sync.RWMutex
	registry   = map[opKey]Builder{}
)

// Register makes b the builder for (domain, opType). Domain "" is the
// default ONNX domain ("ai.onnx" is accepted as a synonym). Registering the
// same op twice panics: it is a programming error.
func Register(domain, opType string, b Builder) {
	if domain == "ai.onnx" {
		domain = ""
	}
	registryMu.Lock()
	defer registryMu.Unlock()
	k := opKey{domain, opType}
	if _, dup := registry[k]; dup {
		panic(fmt.Sprintf("interp: %s/%s registered twice", domain, opType))
	}
	registry[k] = b
}

func lookup(domain, opType string) Builder {
	if domain == "ai.onnx" {
		domain = ""
	}
	registryMu.RLock()
	defer registryMu.RUnlock()
	return registry[opKey{domain, opType}]
}

// Supported reports whether the interpreter has a kernel for the op.
func Supported(domain, opType string) bool { return lookup(domain, opType) != nil }

// Ops lists the registered ops as "domain/op" ("op" for the default
// domain), sorted.
func Ops() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	var out []string
	for k := range registry {
		if k.domain == "" {
			out = append(out, k.op)
		} else {
			out = append(out, k.domain+"/"+k.op)
		}
	}
	sort.Strings(out)
	return out
}
