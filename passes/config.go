package passes

import (
	"fmt"
	"strings"

	"github.com/onnx-prom/onnx-prom/onnx/ir"
	"github.com/onnx-prom/onnx-prom/onnx/tensor"
)

// Format is the output form of the int8 layers.
type Format string

const (
	// QOperator writes quantized operators (QLinearConv, QLinearMatMul, ...).
	QOperator Format = "qoperator"
	// QDQ writes float operators between QuantizeLinear/DequantizeLinear pairs.
	QDQ Format = "qdq"
)

// Selection says which pointwise convolutions become ternary.
type Selection string

const (
	// SelectSpatial ternarizes every pointwise conv on a spatial tensor
	// (squeeze-excite convs on pooled tensors stay 8-bit).
	SelectSpatial Selection = "all"
	// SelectAdjacent ternarizes only pointwise convs next to a depthwise
	// conv (its input comes from one, or its output feeds one).
	SelectAdjacent Selection = "adjacent"
	// SelectNone ternarizes nothing: plain int8 quantization.
	SelectNone Selection = "none"
)

// TernaryRule is the post-training ternarization rule for weights that are
// not already ternary.
type TernaryRule string

const (
	// RuleTWN: per channel, threshold 0.7·mean|W|, scale = mean of |W| over
	// the weights above it (Li & Liu 2016, the L2-optimal scale for the mask).
	RuleTWN TernaryRule = "twn"
	// RuleAbsMean: per channel, g = mean|W|, codes clip(round(W/g), -1, 1),
	// scale g (BitNet b1.58).
	RuleAbsMean TernaryRule = "absmean"
)

// Config holds the conversion options. The zero value is not valid; start
// from DefaultConfig.
type Config struct {
	Format Format
	// MicrosoftOps allows ONNX Runtime's com.microsoft quantized ops
	// (QLinearAdd, QLinearGlobalAveragePool, QGemm, ...) in QOperator form.
	MicrosoftOps bool
	Select       Selection
	// Include and Exclude refine the ternary selection by node name.
	Include, Exclude []string
	// TernarizeSE also ternarizes squeeze-excite 1x1 convs.
	TernarizeSE bool
	Rule        TernaryRule
	// KeepFloat lists node names or op types left in float.
	KeepFloat []string
	// Activations is INT8 (signed) or UINT8.
	Activations tensor.DataType
	// Calibration chooses how ranges are computed from observed values.
	Calibration CalibMethod
	// Percentile is the percentile of |x| kept by CalibPercentile (e.g. 99.99).
	Percentile float64
	// OutputOpset is the default-domain opset of the output (25 or 26).
	OutputOpset int64
	// IRVersion is the IR version of the output (at most 13).
	IRVersion int64
}

// DefaultConfig is the configuration the command uses without flags.
func DefaultConfig() Config {
	return Config{
		Format:      QOperator,
		Select:      SelectSpatial,
		Rule:        RuleTWN,
		Activations: tensor.Int8,
		Calibration: CalibMinMax,
		Percentile:  99.99,
		OutputOpset: 25,
		IRVersion:   11,
	}
}

// Validate checks the option values.
func (c Config) Validate() error {
	switch c.Format {
	case QOperator, QDQ:
	default:
		return fmt.Errorf("unknown format %q (qoperator or qdq)", c.Format)
	}
	switch c.Select {
	case SelectSpatial, SelectAdjacent, SelectNone:
	default:
		return fmt.Errorf("unknown selection %q (all, adjacent or none)", c.Select)
	}
	switch c.Rule {
	case RuleTWN, RuleAbsMean:
	default:
		return fmt.Errorf("unknown ternary rule %q (twn or absmean)", c.Rule)
	}
	if c.Activations != tensor.Int8 && c.Activations != tensor.Uint8 {
		return fmt.Errorf("activations must be int8 or uint8")
	}
	switch c.Calibration {
	case CalibMinMax, CalibPercentile, CalibEntropy, CalibMSE:
	default:
		return fmt.Errorf("unknown calibration method %q (minmax, percentile, entropy or mse)", c.Calibration)
	}
	if c.Calibration == CalibPercentile && (c.Percentile <= 50 || c.Percentile > 100) {
		return fmt.Errorf("percentile %g must be in (50, 100]", c.Percentile)
	}
	if c.OutputOpset < 25 || c.OutputOpset > 26 {
		return fmt.Errorf("output opset %d: TernaryConv's reference body needs opset 25 or 26", c.OutputOpset)
	}
	if c.IRVersion < 11 || c.IRVersion > 13 {
		return fmt.Errorf("IR version %d: must be 11 to 13", c.IRVersion)
	}
	return nil
}

// KeepsFloat reports whether the user asked to leave n in float
// (Config.KeepFloat names it or its op type).
func (c Config) KeepsFloat(n *ir.Node) bool {
	for _, k := range c.KeepFloat {
		if k == n.Name || strings.EqualFold(k, n.OpType) {
			return true
		}
	}
	return false
}

func typeName(v *ir.Value) string {
	t := "?"
	if v.Type != tensor.Undefined {
		t = strings.ToLower(tensor.Name(v.Type))
	}
	if v.Shape != nil {
		t += v.Shape.String()
	}
	return t
}
