package passes

import (
	"fmt"

	"github.com/onnx-prom/onnx-prom/onnx/ir"
	"github.com/onnx-prom/onnx-prom/onnx/onnxpb"
	"github.com/onnx-prom/onnx-prom/verify/interp"
	"google.golang.org/protobuf/proto"
)

// Finalize sets the output's IR version and opset imports, and adds the
// TernaryConv reference body (a model-local function of standard ops) so
// that any ONNX runtime with opset 25 runs the model.
var Finalize = &Pass{
	Name:     "finalize",
	Doc:      "set IR version and opsets, add the TernaryConv function body, name the producer",
	Requires: []string{"upgrade-opset"},
	Run:      runFinalize,
}

// ProducerName is written into converted models.
const ProducerName = "onnx-prom"

// ProducerVersion is the converter's version, written into converted models.
const ProducerVersion = "0.1.0"

func runFinalize(s *State) (Result, error) {
	m := s.Model
	mp := m.Proto()
	domains := map[string]bool{}
	for _, n := range m.Graph.Nodes() {
		domains[normDomain(n.Domain)] = true
	}
	changed := 0
	if domains[interp.TernaryDomain] {
		m.SetOpset(interp.TernaryDomain, 1)
		if !hasFunction(mp, interp.TernaryDomain, "TernaryConv") {
			mp.Functions = append(mp.Functions, TernaryConvFunction(s.Config.OutputOpset))
			changed++
		}
	}
	if domains["com.microsoft"] && m.Opset("com.microsoft") == 0 {
		m.SetOpset("com.microsoft", 1)
	}
	if mp.GetIrVersion() != s.Config.IRVersion {
		mp.IrVersion = proto.Int64(s.Config.IRVersion)
		changed++
	}
	mp.ProducerName = proto.String(ProducerName)
	mp.ProducerVersion = proto.String(ProducerVersion)
	return Result{Changed: changed}, nil
}

func normDomain(d string) string {
	if d == "ai.onnx" {
		return ""
	}
	return d
}

func hasFunction(mp *onnxpb.ModelProto, domain, name string) bool {
	for _, f := range mp.GetFunctions() {
		if f.GetDomain() == domain && f.GetName() == name {
			return true
		}
	}
	return false
}

// TernaryConvFunction returns the reference body of TernaryConv v1 in
// standard ops (docs/ternaryconv.md): DequantizeLinear of the input, of the
// INT2 weights per output channel and of the int32 bias, a float Conv, and
// QuantizeLinear of the result.
func TernaryConvFunction(opset int64) *onnxpb.FunctionProto {
	node := func(op string, in []string, out string, attrs ...*onnxpb.AttributeProto) *onnxpb.NodeProto {
		return &onnxpb.NodeProto{OpType: proto.String(op), Input: in, Output: []string{out}, Attribute: attrs}
	}
	ref := func(name string, typ onnxpb.AttributeProto_AttributeType) *onnxpb.AttributeProto {
		return &onnxpb.AttributeProto{Name: proto.String(name), RefAttrName: proto.String(name), Type: typ.Enum()}
	}
	return &onnxpb.FunctionProto{
		Name:      proto.String("TernaryConv"),
		Domain:    proto.String(interp.TernaryDomain),
		Input:     []string{"x", "x_scale", "x_zero_point", "w", "w_scale", "y_scale", "y_zero_point", "B"},
		Output:    []string{"y"},
		Attribute: []string{"group", "strides", "pads", "dilations"},
		DocString: proto.String("TernaryConv v1 reference body; the specification is docs/ternaryconv.md of onnx-prom."),
		OpsetImport: []*onnxpb.OperatorSetIdProto{
			{Domain: proto.String(""), Version: proto.Int64(opset)},
		},
		Node: []*onnxpb.NodeProto{
			// x is dequantized with Cast, Sub and Mul, not DequantizeLinear:
			// ONNX Runtime 1.30 fuses DequantizeLinear -> Conv ->
			// QuantizeLinear with uint8 activations into a QLinearConv whatever
			// the weight type, and then rejects the INT2 weight.
			node("Cast", []string{"x"}, "xi", ir.IntAttr("to", int64(onnxpb.TensorProto_FLOAT))),
			node("Cast", []string{"x_zero_point"}, "zi", ir.IntAttr("to", int64(onnxpb.TensorProto_FLOAT))),
			node("Sub", []string{"xi", "zi"}, "xd"),
			node("Mul", []string{"xd", "x_scale"}, "xf"),
			node("DequantizeLinear", []string{"w", "w_scale"}, "wf", ir.IntAttr("axis", 0)),
			node("Mul", []string{"x_scale", "w_scale"}, "bs"),
			node("DequantizeLinear", []string{"B", "bs"}, "bf", ir.IntAttr("axis", 0)),
			node("Conv", []string{"xf", "wf", "bf"}, "yf",
				ref("group", onnxpb.AttributeProto_INT), ref("strides", onnxpb.AttributeProto_INTS),
				ref("pads", onnxpb.AttributeProto_INTS), ref("dilations", onnxpb.AttributeProto_INTS)),
			node("QuantizeLinear", []string{"yf", "y_scale", "y_zero_point"}, "y"),
		},
	}
}

// UpgradeOpset moves the default-domain opset to Config.OutputOpset,
// rewriting the ops whose form changed on the way (Clip and Pad bounds to
// inputs, Squeeze/Unsqueeze/Reduce* axes to inputs, Split sizes to an
// input). Ops whose meaning changed in a way that cannot be rewritten stop
// the conversion with an error naming the node.
var UpgradeOpset = &Pass{
	Name:     "upgrade-opset",
	Doc:      "upgrade the default-domain opset to the output opset (25 by default), rewriting changed ops",
	Requires: []string{"cleanup"},
	Run:      runUpgrade,
}

func runUpgrade(s *State) (Result, error) {
	m := s.Model
	from, to := m.Opset(""), s.Config.OutputOpset
	if from > to {
		return Result{}, fmt.Errorf("model imports opset %d, newer than the output opset %d", from, to)
	}
	if from == to {
		return Result{}, nil
	}
	if from < 7 {
		return Result{}, fmt.Errorf("model imports opset %d; onnx-prom reads opset 7 and newer", from)
	}
	changed := 0
	g := m.Graph
	for _, n := range g.Nodes() {
		if normDomain(n.Domain) != "" {
			continue
		}
		did, err := upgradeNode(g, n, from)
		if err != nil {
			return Result{}, fmt.Errorf("node %s: upgrading from opset %d to %d: %w", n.Label(), from, to, err)
		}
		if did {
			changed++
		}
	}
	m.SetOpset("", to)
	return Result{Changed: changed, Stats: map[string]int{"from": int(from), "to": int(to)}}, nil
}

// axesToInput moves an "axes" attribute into a new int64 input at index i.
func axesToInput(g *ir.Graph, n *ir.Node, i int) (bool, error) {
	axes, err := n.AttrInts("axes", nil)
	if err != nil || axes == nil {
		return false, err
	}
	v, err := g.AddConst(n.Name+"_axes", int64Tensor(axes))
	if err != nil {
		return false, err
	}
	n.RemoveAttr("axes")
	n.SetInput(i, v)
	return true, nil
}

func upgradeNode(g *ir.Graph, n *ir.Node, from int64) (bool, error) {
	switch n.OpType {
	case "Clip":
		if from < 11 && (n.HasAttr("min") || n.HasAttr("max")) {
			lo, hi, _ := ClipBounds(n)
			for i, b := range []float64{lo, hi} {
				v, err := g.AddConst(fmt.Sprintf("%s_%s", n.Name, [2]string{"min", "max"}[i]), floatScalar(float32(b)))
				if err != nil {
					return false, err
				}
				n.SetInput(i+1, v)
			}
			n.RemoveAttr("min")
			n.RemoveAttr("max")
			return true, nil
		}
	case "Pad":
		if from < 11 {
			pads, err := n.AttrInts("pads", nil)
			if err != nil {
				return false, err
			}
			value, err := n.AttrFloat("value", 0)
			if err != nil {
				return false, err
			}
			pv, err := g.AddConst(n.Name+"_pads", int64Tensor(pads))
			if err != nil {
				return false, err
			}
			cv, err := g.AddConst(n.Name+"_value", floatScalar(value))
			if err != nil {
				return false, err
			}
			n.SetInput(1, pv)
			n.SetInput(2, cv)
			n.RemoveAttr("pads")
			n.RemoveAttr("value")
			return true, nil
		}
	case "Squeeze", "Unsqueeze", "ReduceSum":
		if from < 13 {
			return axesToInput(g, n, 1)
		}
	case "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare":
		if from < 18 {
			return axesToInput(g, n, 1)
		}
	case "Split":
		if from < 13 && n.HasAttr("split") {
			sizes, err := n.AttrInts("split", nil)
			if err != nil {
				return false, err
			}
			v, err := g.AddConst(n.Name+"_split", int64Tensor(sizes))
			if err != nil {
				return false, err
			}
			n.RemoveAttr("split")
			n.SetInput(1, v)
			return true, nil
		}
	case "Softmax", "LogSoftmax", "Hardmax":
		if from < 13 {
			axis, err := n.AttrInt("axis", 1)
			if err != nil {
				return false, err
			}
			x := n.Input(0)
			if x.Shape == nil {
				return false, fmt.Errorf("its input rank is unknown, and the axis semantics changed in opset 13")
			}
			rank := int64(len(x.Shape))
			if axis < 0 {
				axis += rank
			}
			if axis != rank-1 {
				return false, fmt.Errorf("axis %d of a rank-%d input coerces to 2-D before opset 13; not rewritten", axis, rank)
			}
			return false, nil
		}
	case "BatchNormalization":
		if from < 9 {
			if sp, _ := n.AttrInt("spatial", 1); sp != 1 {
				return false, fmt.Errorf("spatial=0 has no equivalent after opset 9")
			}
			n.RemoveAttr("spatial")
			n.RemoveAttr("is_test")
			return true, nil
		}
	case "Dropout":
		if from < 12 {
			n.RemoveAttr("ratio")
			n.RemoveAttr("is_test")
			return true, nil
		}
	case "Upsample", "Resize", "Scatter", "MaxUnpool", "TopK", "Slice", "Gather", "Loop", "If", "Scan":
		if from < 11 {
			return false, fmt.Errorf("%s changed before opset 11 and is not upgraded by onnx-prom", n.OpType)
		}
	}
	return false, nil
}
