package cost

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
)

// Assumptions lists, in words, every rule the estimate rests on under o.
func Assumptions(o Options) []string {
	o, _ = o.withDefaults()
	t := o.Table
	var s []string
	s = append(s, fmt.Sprintf("energy per operation (pJ): int8 add %g, int8 mult %g, int32 add %g, int32 mult %g, fp16 add %g, fp16 mult %g, fp32 add %g, fp32 mult %g (Horowitz, ISSCC 2014, 45 nm, unless overridden)",
		t.Int8Add, t.Int8Mult, t.Int32Add, t.Int32Mult, t.FP16Add, t.FP16Mult, t.FP32Add, t.FP32Mult))
	s = append(s, "MACs come from inferred shapes with batch 1: output elements x (input channels per group x kernel size) for convolutions, output elements x K for matrix products")
	if o.Accumulator == AccInt32 {
		s = append(s, fmt.Sprintf("accumulator charged at 32 bits: ternary MAC = one int32 add (%.4g pJ); 8-bit MAC = int8 mult + int32 add (%.4g pJ)",
			t.Int32Add, t.Int8Mult+t.Int32Add))
	} else {
		s = append(s, fmt.Sprintf("accumulator width not charged (priced at the operand width, the PROM paper's convention): ternary MAC = one int8 add (%.4g pJ); 8-bit MAC = int8 mult + int8 add (%.4g pJ)",
			t.Int8Add, t.Int8Mult+t.Int8Add))
	}
	if o.SkipZeroWeights {
		s = append(s, "ternary MACs with a zero weight code are skipped (only nonzero codes charged)")
	} else {
		s = append(s, "ternary MACs with a zero weight code are charged like the others (dense execution)")
	}
	s = append(s, fmt.Sprintf("float baselines: the same layers, every MAC one mult + one add in float16 (%.4g pJ) or float32 (%.4g pJ); weights and one bias per output channel at 16 or 32 bits",
		t.FP16Mult+t.FP16Add, t.FP32Mult+t.FP32Add))
	if o.Scope == ScopeFull {
		s = append(s, "scope full: totals include per-output work; baselines include their float counterparts (bias add, residual add, pooling, normalization)")
	} else {
		s = append(s, "scope macs (default): totals count the MACs of weighted layers only, on both sides; per-output work is listed as overhead but not in the totals")
	}
	s = append(s, "overhead per output of a quantized layer: bias = one int32 add, requantization = one int32 mult (fixed-point multiplier); rounding, shift, zero-point add and clamp not priced")
	s = append(s, "zero points of activations fold into the bias at conversion time (no cost); per-channel weight scales fold into the requantization multiplier")
	s = append(s, "QLinearAdd = 2 int32 mult + 1 int32 add per element; average pools = 1 add per input element + 1 mult per output; quantize/dequantize of activations = 1 fp32 mult + 1 int32 add per element; Q/DQ pairs around an integer kernel (QDQ form) and Q/DQ of constants are free")
	s = append(s, "comparisons (ReLU, Clip, MaxPool), layout ops and casts are not priced")
	if o.Memory {
		s = append(s, fmt.Sprintf("memory: every weight byte read once from an 8 KB SRAM at %g pJ per 64-bit read (%g pJ/byte), model and baselines; activations and DRAM not counted",
			t.SRAMRead64, t.SRAMRead64/8))
	} else {
		s = append(s, "memory access energy not counted (weights, activations, SRAM or DRAM)")
	}
	s = append(s, "storage: every constant of the model at its element width (INT2 packed 4 per byte), scales, zero points and biases included")
	return s
}

// uJ converts picojoules to microjoules.
func uJ(pj float64) float64 { return pj / 1e6 }

// WriteText writes the report as tables for a terminal.
func (r *Report) WriteText(w io.Writer) error {
	ew := &errWriter{w: w}
	tw := tabwriter.NewWriter(ew, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "layer\tclass\tarith\tMACs\tenergy pJ\tfp16 pJ\tbytes\tfp16 bytes\t")
	for _, l := range r.Layers {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%.0f\t%.0f\t%d\t%d\t\n", l.Name, l.Class, l.Arith, l.MACs, l.EnergyPJ, l.Float16PJ, l.WeightBytes, 2*l.BaselineParams)
	}
	tw.Flush()

	fmt.Fprintf(ew, "\nMACs: %d (ternary %d, int8 %d, float %d); charged %d\n", r.MACs, r.TernaryMACs, r.Int8MACs, r.FloatMACs, r.ChargedMACs)
	fmt.Fprintln(ew, "\noperations:")
	tw = tabwriter.NewWriter(ew, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "kind\tMAC ops\toverhead ops\tpJ each\t")
	for _, k := range OpKinds {
		m, o := r.MACOps.Get(k), r.OverheadOps.Get(k)
		if m == 0 && o == 0 {
			continue
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%g\t\n", k, m, o, r.Table.PJ(k))
	}
	tw.Flush()

	fmt.Fprintf(ew, "\nenergy (scope %s): %.3f uJ (MACs %.3f uJ, overhead %.3f uJ", r.Scope, uJ(r.EnergyPJ), uJ(r.MACPJ), uJ(r.OverheadPJ))
	if r.Scope != ScopeFull {
		fmt.Fprint(ew, ", not in the total")
	}
	if r.Memory {
		fmt.Fprintf(ew, ", weight reads %.3f uJ", uJ(r.MemoryPJ))
	}
	fmt.Fprintln(ew, ")")
	for _, b := range []struct {
		name string
		b    Baseline
	}{{"float16", r.Float16}, {"float32", r.Float32}} {
		fmt.Fprintf(ew, "%s baseline: %.3f uJ = %.2fx the model's energy (MACs only %.2fx, with overhead %.2fx); weights %d bytes = %.2fx the model's\n",
			b.name, uJ(b.b.EnergyPJ), b.b.EnergyRatio, b.b.MACRatio, b.b.FullRatio, b.b.Bytes, b.b.StorageRatio)
	}
	fmt.Fprintf(ew, "\nstorage: %d bytes\n", r.StorageBytes)
	tw = tabwriter.NewWriter(ew, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "type\tbits\telements\tbytes\t")
	for _, s := range r.Storage {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t\n", s.Type, s.Bits, s.Elements, s.Bytes)
	}
	tw.Flush()
	if len(r.Unpriced) > 0 {
		fmt.Fprintf(ew, "\nnot priced (arithmetic outside the table): %s\n", countList(r.Unpriced))
	}
	if len(r.Free) > 0 {
		fmt.Fprintf(ew, "no priced arithmetic: %s\n", countList(r.Free))
	}
	fmt.Fprintln(ew, "\nassumptions:")
	for _, a := range r.Assumptions {
		fmt.Fprintf(ew, "  - %s\n", a)
	}
	for _, wmsg := range r.Warnings {
		fmt.Fprintf(ew, "warning: %s\n", wmsg)
	}
	return ew.err
}

// PJ returns the energy of one operation of a kind ("int8_add", ...; see
// OpKinds), 0 for an unknown kind.
func (t Table) PJ(kind string) float64 {
	for _, e := range t.entries() {
		if e.key == kind {
			return e.pj
		}
	}
	return 0
}

func countList(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s x%d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

// errWriter remembers the first write error.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return len(p), nil
	}
	_, e.err = e.w.Write(p)
	return len(p), nil
}
