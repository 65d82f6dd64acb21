package ir

import (
	"fmt"

	"github.com/onnx-prom/onnx-prom/onnx/onnxpb"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
	"google.golang.org/protobuf/proto"
)

// Attr returns the attribute called name, or nil.
func (n *Node) Attr(name string) *onnxpb.AttributeProto {
	for _, a := range n.Attrs {
		if a.GetName() == name {
			return a
		}
	}
	return nil
}

// HasAttr reports whether the node sets the attribute.
func (n *Node) HasAttr(name string) bool { return n.Attr(name) != nil }

// AttrInt returns an INT attribute, or def when it is absent.
func (n *Node) AttrInt(name string, def int64) (int64, error) {
	a := n.Attr(name)
	if a == nil {
		return def, nil
	}
	if a.GetType() != onnxpb.AttributeProto_INT && !(a.GetType() == onnxpb.AttributeProto_UNDEFINED && a.I != nil) {
		return 0, fmt.Errorf("%v: attribute %q is %v, want INT", n, name, a.GetType())
	}
	return a.GetI(), nil
}

// AttrFloat returns a FLOAT attribute, or def when it is absent.
func (n *Node) AttrFloat(name string, def float32) (float32, error) {
	a := n.Attr(name)
	if a == nil {
		return def, nil
	}
	if a.GetType() != onnxpb.AttributeProto_FLOAT && !(a.GetType() == onnxpb.AttributeProto_UNDEFINED && a.F != nil) {
		return 0, fmt.Errorf("%v: attribute %q is %v, want FLOAT", n, name, a.GetType())
	}
	return a.GetF(), nil
}

// AttrString returns a STRING attribute, or def when it is absent.
func (n *Node) AttrString(name, def string) (string, error) {
	a := n.Attr(name)
	if a == nil {
		return def, nil
	}
	if a.GetType() != onnxpb.AttributeProto_STRING && !(a.GetType() == onnxpb.AttributeProto_UNDEFINED && a.S != nil) {
		return "", fmt.Errorf("%v: attribute %q is %v, want STRING", n, name, a.GetType())
	}
	return string(a.GetS()), nil
}

// AttrInts returns an INTS attribute (a copy), or def when it is absent.
func (n *Node) AttrInts(name string, def []int64) ([]int64, error) {
	a := n.Attr(name)
	if a == nil {
		return def, nil
	}
	if a.GetType() != onnxpb.AttributeProto_INTS && a.GetType() != onnxpb.AttributeProto_UNDEFINED {
		return nil, fmt.Errorf("%v: attribute %q is %v, want INTS", n, name, a.GetType())
	}
	return append([]int64{}, a.GetInts()...), nil
}

// AttrFloats returns a FLOATS attribute (a copy), or def when it is absent.
func (n *Node) AttrFloats(name string, def []float32) ([]float32, error) {
	a := n.Attr(name)
	if a == nil {
		return def, nil
	}
	if a.GetType() != onnxpb.AttributeProto_FLOATS && a.GetType() != onnxpb.AttributeProto_UNDEFINED {
		return nil, fmt.Errorf("%v: attribute %q is %v, want FLOATS", n, name, a.GetType())
	}
	return append([]float32{}, a.GetFloats()...), nil
}

// AttrTensor decodes a TENSOR attribute; nil, nil when it is absent.
func (n *Node) AttrTensor(name string) (*tensor.Tensor, error) {
	a := n.Attr(name)
	if a == nil {
		return nil, nil
	}
	if a.GetType() != onnxpb.AttributeProto_TENSOR || a.T == nil {
		return nil, fmt.Errorf("%v: attribute %q is %v, want TENSOR", n, name, a.GetType())
	}
	t, err := tensor.FromProto(a.T)
	if err != nil {
		return nil, fmt.Errorf("%v: attribute %q: %w", n, name, err)
	}
	return t, nil
}

// SetAttr adds or replaces an attribute.
func (n *Node) SetAttr(a *onnxpb.AttributeProto) {
	for i, x := range n.Attrs {
		if x.GetName() == a.GetName() {
			n.Attrs[i] = a
			return
		}
	}
	n.Attrs = append(n.Attrs, a)
}

// RemoveAttr deletes an attribute if present.
func (n *Node) RemoveAttr(name string) {
	for i, x := range n.Attrs {
		if x.GetName() == name {
			n.Attrs = append(n.Attrs[:i], n.Attrs[i+1:]...)
			return
		}
	}
}

// IntAttr builds an INT attribute.
func IntAttr(name string, v int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(v)}
}

// IntsAttr builds an INTS attribute.
func IntsAttr(name string, v ...int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INTS.Enum(), Ints: append([]int64{}, v...)}
}

// FloatAttr builds a FLOAT attribute.
func FloatAttr(name string, v float32) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_FLOAT.Enum(), F: proto.Float32(v)}
}

// StringAttr builds a STRING attribute.
func StringAttr(name, v string) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_STRING.Enum(), S: []byte(v)}
}

// TensorAttr builds a TENSOR attribute.
func TensorAttr(name string, t *onnxpb.TensorProto) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_TENSOR.Enum(), T: t}
}

// ConstantValue returns the tensor a Constant node produces, from
// whichever of its value attributes is set.
func ConstantValue(n *Node) (*onnxpb.TensorProto, error) {
	if len(n.Attrs) != 1 {
		return nil, fmt.Errorf("Constant needs exactly one value attribute, has %d", len(n.Attrs))
	}
	a := n.Attrs[0]
	switch a.GetName() {
	case "value":
		if a.T == nil {
			return nil, fmt.Errorf("Constant value attribute holds no tensor")
		}
		return proto.Clone(a.T).(*onnxpb.TensorProto), nil
	case "value_float":
		return tensor.ToProto(tensor.FromFloat32([]float32{a.GetF()}), "")
	case "value_floats":
		return tensor.ToProto(tensor.FromFloat32(append([]float32{}, a.GetFloats()...), int64(len(a.GetFloats()))), "")
	case "value_int":
		return tensor.ToProto(&tensor.Tensor{Type: tensor.Int64, Shape: []int64{}, Data: []int64{a.GetI()}}, "")
	case "value_ints":
		return tensor.ToProto(&tensor.Tensor{Type: tensor.Int64, Shape: []int64{int64(len(a.GetInts()))}, Data: append([]int64{}, a.GetInts()...)}, "")
	case "value_string":
		return tensor.ToProto(&tensor.Tensor{Type: tensor.String, Shape: []int64{}, Data: [][]byte{a.GetS()}}, "")
	case "value_strings":
		return tensor.ToProto(&tensor.Tensor{Type: tensor.String, Shape: []int64{int64(len(a.GetStrings()))}, Data: a.GetStrings()}, "")
	}
	return nil, fmt.Errorf("Constant attribute %q is not supported", a.GetName())
}
