package shapes

import (
	"fmt"
	"math"

	"github.com/onnx-prom/onnx-prom/onnx/ir"
	"github.com/onnx-prom/onnx-prom/onnx/onnxpb"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
)

// Constant propagation works on small integer tensors of rank 0 or 1 (shape
// vectors and indices). Their elements may be known numbers, symbols (a
// dimension copied by Shape) or unknown.

// maxInts bounds the length of propagated integer vectors.
const maxInts = 4096

// maxConstElems bounds the constants inference decodes to read a parameter
// (a shape, scales, pads); larger ones are treated as unknown.
const maxConstElems = 1 << 16

// elem is one element of a partially known integer tensor.
type elem struct {
	v   int64
	sym string // set for a symbolic element
	ok  bool   // v is known
}

func known(v int64) elem { return elem{v: v, ok: true} }

// elemOf turns a dimension into an element.
func elemOf(d ir.Dim) elem {
	switch {
	case d.Known():
		return known(d.Value)
	case d.Param != "":
		return elem{sym: d.Param}
	}
	return elem{}
}

// dim turns an element into a dimension; negative numbers become unknown.
func (e elem) dim() ir.Dim {
	switch {
	case e.ok && e.v >= 0:
		return ir.D(e.v)
	case !e.ok && e.sym != "":
		return ir.Sym(e.sym)
	}
	return ir.UnknownDim
}

// sval is a partially known integer tensor of rank 0 or 1.
type sval struct {
	scalar bool
	e      []elem
}

// known returns the elements when all are known.
func (sv *sval) known() ([]int64, bool) {
	out := make([]int64, len(sv.e))
	for i, e := range sv.e {
		if !e.ok {
			return nil, false
		}
		out[i] = e.v
	}
	return out, true
}

func (sv *sval) shape() ir.Shape {
	if sv.scalar {
		return ir.Shape{}
	}
	return ir.ShapeOf(int64(len(sv.e)))
}

func isIntType(t tensor.DataType) bool {
	switch t {
	case tensor.Int8, tensor.Int16, tensor.Int32, tensor.Int64,
		tensor.Uint8, tensor.Uint16, tensor.Uint32, tensor.Uint64:
		return true
	}
	return false
}

func isFloatType(t tensor.DataType) bool {
	switch t {
	case tensor.Float, tensor.Double, tensor.Float16, tensor.BFloat16T:
		return true
	}
	return false
}

// setInts records the partially known value of v.
func (s *state) setInts(v *ir.Value, sv *sval) {
	if v == nil || sv == nil || len(sv.e) > maxInts {
		return
	}
	if sv.scalar && len(sv.e) != 1 {
		return
	}
	s.svals[v] = sv
}

// ints returns what is known of the elements of v, when v is a small
// integer (or integral floating-point) tensor of rank 0 or 1; nil otherwise.
func (s *state) ints(v *ir.Value) *sval {
	if v == nil {
		return nil
	}
	if sv := s.svals[v]; sv != nil {
		return sv
	}
	if !s.isConst(v) {
		return nil
	}
	t, err := s.constTensor(v)
	if err != nil || t == nil || len(t.Shape) > 1 || t.Len() > maxInts {
		return nil
	}
	var vals []int64
	if isIntType(t.Type) || t.Type == tensor.Bool {
		if vals, err = t.Int64s(); err != nil {
			return nil
		}
	} else if isFloatType(t.Type) {
		f, err := t.Float64s()
		if err != nil {
			return nil
		}
		for _, x := range f {
			if x != math.Trunc(x) || math.Abs(x) > 1<<53 {
				return nil
			}
			vals = append(vals, int64(x))
		}
	} else {
		return nil
	}
	sv := &sval{scalar: len(t.Shape) == 0, e: make([]elem, len(vals))}
	for i, x := range vals {
		sv.e[i] = known(x)
	}
	s.svals[v] = sv
	return sv
}

// knownInts returns the elements of v when all are known.
func (s *state) knownInts(v *ir.Value) ([]int64, bool) {
	sv := s.ints(v)
	if sv == nil {
		return nil, false
	}
	return sv.known()
}

// isConst reports whether v's value is fixed by the model: an initializer
// that is not a graph input, or the output of a Constant node.
func (s *state) isConst(v *ir.Value) bool {
	if v.IsConst() {
		return true
	}
	p := v.Producer
	return p != nil && p.OpType == "Constant" && (p.Domain == "" || p.Domain == "ai.onnx")
}

// constTensor decodes the value of a constant, or of a fully known
// propagated integer tensor. It returns nil, nil when v is not constant or
// too large to decode for a parameter.
func (s *state) constTensor(v *ir.Value) (*tensor.Tensor, error) {
	if t := s.consts[v]; t != nil {
		return t, nil
	}
	if s.failed[v] {
		return nil, nil
	}
	var t *tensor.Tensor
	var err error
	switch {
	case v.IsConst():
		if n, e := tensor.NumElements(v.Const.GetDims()); e != nil || n > maxConstElems {
			return nil, nil
		}
		t, err = v.Tensor()
	case v.Producer != nil && v.Producer.OpType == "Constant" && (v.Producer.Domain == "" || v.Producer.Domain == "ai.onnx"):
		t, err = constantNodeValue(v.Producer)
		if err != nil {
			err = fmt.Errorf("constant %q: %w", v.Name, err)
		}
	default:
		sv := s.svals[v]
		if sv == nil {
			return nil, nil
		}
		vals, ok := sv.known()
		if !ok {
			return nil, nil
		}
		t = intsTensor(v.Type, sv.scalar, vals)
	}
	if err != nil {
		s.failed[v] = true
		return nil, err
	}
	if t == nil {
		s.failed[v] = true
		return nil, nil
	}
	s.consts[v] = t
	return t, nil
}

// intsTensor builds an INT64 (or, for other numeric types, float64-coded)
// tensor from known elements.
func intsTensor(dt tensor.DataType, scalar bool, vals []int64) *tensor.Tensor {
	shape := []int64{int64(len(vals))}
	if scalar {
		shape = []int64{}
	}
	switch dt {
	case tensor.Int32:
		d := make([]int32, len(vals))
		for i, x := range vals {
			d[i] = int32(x)
		}
		return &tensor.Tensor{Type: dt, Shape: shape, Data: d}
	case tensor.Float:
		d := make([]float32, len(vals))
		for i, x := range vals {
			d[i] = float32(x)
		}
		return &tensor.Tensor{Type: dt, Shape: shape, Data: d}
	case tensor.Double:
		d := make([]float64, len(vals))
		for i, x := range vals {
			d[i] = float64(x)
		}
		return &tensor.Tensor{Type: dt, Shape: shape, Data: d}
	}
	return &tensor.Tensor{Type: tensor.Int64, Shape: shape, Data: append([]int64{}, vals...)}
}

// constantNodeValue decodes the value a Constant node produces, or returns
// nil when it is too large or sparse.
func constantNodeValue(n *ir.Node) (*tensor.Tensor, error) {
	for _, a := range n.Attrs {
		switch a.GetName() {
		case "value":
			if a.T == nil {
				return nil, fmt.Errorf("attribute value holds no tensor")
			}
			if c, err := tensor.NumElements(a.T.GetDims()); err != nil || c > maxConstElems {
				return nil, err
			}
			return tensor.FromProto(a.T)
		case "value_float":
			return &tensor.Tensor{Type: tensor.Float, Shape: []int64{}, Data: []float32{a.GetF()}}, nil
		case "value_floats":
			f := append([]float32{}, a.GetFloats()...)
			return &tensor.Tensor{Type: tensor.Float, Shape: []int64{int64(len(f))}, Data: f}, nil
		case "value_int":
			return &tensor.Tensor{Type: tensor.Int64, Shape: []int64{}, Data: []int64{a.GetI()}}, nil
		case "value_ints":
			v := append([]int64{}, a.GetInts()...)
			return &tensor.Tensor{Type: tensor.Int64, Shape: []int64{int64(len(v))}, Data: v}, nil
		}
	}
	return nil, nil
}

// constantNodeType returns the type and shape a Constant node produces
// without decoding its data.
func constantNodeType(n *ir.Node) (tensor.DataType, ir.Shape, error) {
	var found []string
	var dt tensor.DataType
	var shape ir.Shape
	for _, a := range n.Attrs {
		switch a.GetName() {
		case "value":
			if a.T == nil {
				return 0, nil, fmt.Errorf("attribute value holds no tensor")
			}
			dt, shape = tensor.DataType(a.T.GetDataType()), ir.ShapeOf(a.T.GetDims()...)
		case "sparse_value":
			sp := a.GetSparseTensor()
			if sp == nil {
				return 0, nil, fmt.Errorf("attribute sparse_value holds no tensor")
			}
			dt, shape = tensor.DataType(sp.GetValues().GetDataType()), ir.ShapeOf(sp.GetDims()...)
		case "value_float":
			dt, shape = tensor.Float, ir.Shape{}
		case "value_floats":
			dt, shape = tensor.Float, ir.ShapeOf(int64(len(a.GetFloats())))
		case "value_int":
			dt, shape = tensor.Int64, ir.Shape{}
		case "value_ints":
			dt, shape = tensor.Int64, ir.ShapeOf(int64(len(a.GetInts())))
		case "value_string":
			dt, shape = tensor.String, ir.Shape{}
		case "value_strings":
			dt, shape = tensor.String, ir.ShapeOf(int64(len(a.GetStrings())))
		default:
			continue
		}
		found = append(found, a.GetName())
	}
	if len(found) != 1 {
		return 0, nil, fmt.Errorf("Constant needs exactly one value attribute, has %v", found)
	}
	for _, d := range shape {
		if err := checkDim(d.Value, "dimension"); err != nil {
			return 0, nil, err
		}
	}
	return dt, shape, nil
}

// floats returns the elements of a constant as float64, or nil when v is
// not a known constant.
func (s *state) floats(v *ir.Value) ([]float64, error) {
	if v == nil {
		return nil, nil
	}
	t, err := s.constTensor(v)
	if err != nil || t == nil {
		return nil, err
	}
	f, err := t.Float64s()
	if err != nil {
		return nil, nil
	}
	return f, nil
}

// attrTensorType returns the element type of a TENSOR attribute, or def.
func attrTensorType(n *ir.Node, name string, def tensor.DataType) tensor.DataType {
	if a := n.Attr(name); a != nil && a.GetType() == onnxpb.AttributeProto_TENSOR && a.T != nil {
		return tensor.DataType(a.T.GetDataType())
	}
	return def
}

// Arithmetic on elements, for shape computations (x*2, n-1, h/2, ...).

func binElem(op string, isFloat bool, a, b elem) elem {
	if a.ok && b.ok {
		x, y := a.v, b.v
		switch op {
		case "Add":
			if r := x + y; (r > x) == (y > 0) || y == 0 {
				return known(r)
			}
		case "Sub":
			if r := x - y; (r < x) == (y > 0) || y == 0 {
				return known(r)
			}
		case "Mul":
			if x == 0 || y == 0 {
				return known(0)
			}
			if r := x * y; r/y == x && !(x == -1 && y == math.MinInt64) && !(y == -1 && x == math.MinInt64) {
				return known(r)
			}
		case "Div":
			if y == 0 {
				return elem{}
			}
			if x%y == 0 || (!isFloat && x >= 0 && y > 0) {
				return known(x / y)
			}
		case "Max":
			return known(max(x, y))
		case "Min":
			return known(min(x, y))
		}
		return elem{}
	}
	// x+0, x-0, x*1, x/1 keep a symbol.
	switch {
	case a.sym != "" && b.ok && ((op == "Add" || op == "Sub") && b.v == 0 || (op == "Mul" || op == "Div") && b.v == 1):
		return a
	case b.sym != "" && a.ok && (op == "Add" && a.v == 0 || op == "Mul" && a.v == 1):
		return b
	case a.sym != "" && a.sym == b.sym && (op == "Max" || op == "Min"):
		return a
	}
	return elem{}
}

// binInts applies op elementwise to two propagated tensors, broadcasting a
// one-element operand.
func binInts(op string, isFloat bool, a, b *sval) *sval {
	if a == nil || b == nil {
		return nil
	}
	n := max(len(a.e), len(b.e))
	if (len(a.e) != n && len(a.e) != 1) || (len(b.e) != n && len(b.e) != 1) {
		return nil
	}
	out := &sval{scalar: a.scalar && b.scalar, e: make([]elem, n)}
	for i := range out.e {
		x, y := a.e[0], b.e[0]
		if len(a.e) == n {
			x = a.e[i]
		}
		if len(b.e) == n {
			y = b.e[i]
		}
		out.e[i] = binElem(op, isFloat, x, y)
	}
	return out
}
