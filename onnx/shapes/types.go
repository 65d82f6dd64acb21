package shapes

import (
	"fmt"

	"github.com/onnx-prom/onnx-prom/onnx/ir"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
)

// typeRule is the type constraint of an op: the inputs that share the
// type T, and whether T must be a floating-point type (else any numeric
// type).
type typeRule struct {
	same  []int
	float bool
}

// typeRules holds the constraints of the default-domain ops whose type
// constraint is the same in every opset: floating-point only, or one
// numeric type shared by several inputs. Ops not listed are not checked.
var typeRules = map[string]typeRule{
	"Conv":                  {[]int{0, 1, 2}, true},
	"ConvTranspose":         {[]int{0, 1, 2}, true},
	"AveragePool":           {[]int{0}, true},
	"LpPool":                {[]int{0}, true},
	"GlobalAveragePool":     {[]int{0}, true},
	"GlobalLpPool":          {[]int{0}, true},
	"BatchNormalization":    {[]int{0}, true},
	"InstanceNormalization": {[]int{0, 1, 2}, true},
	"LRN":                   {[]int{0}, true},
	"Softmax":               {[]int{0}, true},
	"LogSoftmax":            {[]int{0}, true},
	"Sigmoid":               {[]int{0}, true},
	"HardSigmoid":           {[]int{0}, true},
	"HardSwish":             {[]int{0}, true},
	"Tanh":                  {[]int{0}, true},
	"Exp":                   {[]int{0}, true},
	"Log":                   {[]int{0}, true},
	"Sqrt":                  {[]int{0}, true},
	"Erf":                   {[]int{0}, false},
	"Elu":                   {[]int{0}, true},
	"Selu":                  {[]int{0}, true},
	"Softplus":              {[]int{0}, true},
	"Softsign":              {[]int{0}, true},
	"Gemm":                  {[]int{0, 1, 2}, false},
	"MatMul":                {[]int{0, 1}, false},
	"Add":                   {[]int{0, 1}, false},
	"Sub":                   {[]int{0, 1}, false},
	"Mul":                   {[]int{0, 1}, false},
	"Div":                   {[]int{0, 1}, false},
}

func isFloat(dt tensor.DataType) bool {
	return dt == tensor.Float || dt == tensor.Double || dt == tensor.Float16 || dt == tensor.BFloat16T
}

func isNumeric(dt tensor.DataType) bool {
	return dt != tensor.String && dt != tensor.Bool && tensor.Bits(dt) > 0
}

// checkTypes applies n's type rule to the input types known so far.
func checkTypes(n *ir.Node) error {
	if n.Domain != "" && n.Domain != "ai.onnx" {
		return nil
	}
	r, ok := typeRules[n.OpType]
	if !ok {
		return nil
	}
	var first *ir.Value
	for _, i := range r.same {
		v := n.Input(i)
		if v == nil || v.Type == tensor.Undefined {
			continue
		}
		switch {
		case r.float && !isFloat(v.Type):
			return fmt.Errorf("input %d (%q) is %s; %s takes floating-point tensors", i, v.Name, tensor.Name(v.Type), n.OpType)
		case !isNumeric(v.Type):
			return fmt.Errorf("input %d (%q) is %s; %s takes numeric tensors", i, v.Name, tensor.Name(v.Type), n.OpType)
		}
		if first == nil {
			first = v
		} else if v.Type != first.Type {
			return fmt.Errorf("input %d (%q) is %s but %q is %s; %s takes one element type", i, v.Name, tensor.Name(v.Type), first.Name, tensor.Name(first.Type), n.OpType)
		}
	}
	return nil
}
