package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/onnx-prom/onnx-prom/onnx"
	"github.com/onnx-prom/onnx-prom/verify/cost"
	"github.com/onnx-prom/onnx-prom/verify/htmlreport"
)

func init() {
	register(&command{
		name:  "cost",
		usage: "MODEL [--json] [--energy-table FILE] [--scope macs|full] [--accumulator operand|int32] [--skip-zeros] [--memory] [--html FILE]",
		doc:   "estimate energy (45 nm per-operation table) and weight storage against float16/float32",
		run:   runCost,
	})
}

func runCost(args []string, stdout, stderr io.Writer) error {
	c := commands["cost"]
	fs := newFlags(c, stderr)
	asJSON := fs.Bool("json", false, "write the report as JSON")
	tablePath := fs.String("energy-table", "", "JSON `FILE` of per-operation energies in pJ overriding the 45 nm table (keys int8_add, int8_mult, int32_add, int32_mult, fp16_add, fp16_mult, fp32_add, fp32_mult, sram_read_64bit)")
	scope := fs.String("scope", "macs", "operations in the energy totals: macs (weighted-layer MACs, the paper's convention) or full (plus bias, requantization, elementwise, conversions)")
	acc := fs.String("accumulator", "operand", "price accumulations at the operand width (operand: ternary MAC = int8 add) or as int32 additions (int32)")
	skip := fs.Bool("skip-zeros", false, "charge ternary MACs only for nonzero weight codes")
	memory := fs.Bool("memory", false, "add SRAM read energy for every weight byte (read once per inference)")
	htmlPath := fs.String("html", "", "also write a self-contained HTML report to `FILE`")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want one MODEL argument, got %d (usage: onnx-prom cost %s)", len(pos), c.usage)
	}
	if *scope != string(cost.ScopeMACs) && *scope != string(cost.ScopeFull) {
		return usagef("--scope %q: want macs or full", *scope)
	}
	if *acc != string(cost.AccOperand) && *acc != string(cost.AccInt32) {
		return usagef("--accumulator %q: want operand or int32", *acc)
	}
	o := cost.Options{Scope: cost.Scope(*scope), Accumulator: cost.Accumulator(*acc), SkipZeroWeights: *skip, Memory: *memory}
	if *tablePath != "" {
		f, err := os.Open(*tablePath)
		if err != nil {
			return inputError(err)
		}
		o.Table, err = cost.ReadTable(f, cost.Horowitz45nm())
		f.Close()
		if err != nil {
			return inputError(fmt.Errorf("%s: %w", *tablePath, err))
		}
	}
	path := pos[0]
	mp, err := onnx.Load(path)
	if err != nil {
		if !strings.Contains(err.Error(), path) {
			err = fmt.Errorf("%s: %w", path, err)
		}
		return inputError(err)
	}
	r, err := cost.Analyze(mp, o)
	if err != nil {
		return inputError(fmt.Errorf("%s: %w", path, err))
	}
	var buf bytes.Buffer
	if *asJSON {
		b, err := json.MarshalIndent(r, "", "  ")
		if err != nil {
			return failure{err}
		}
		buf.Write(append(b, '\n'))
	} else if err := r.WriteText(&buf); err != nil {
		return failure{err}
	}
	if _, err := stdout.Write(buf.Bytes()); err != nil {
		return failure{err}
	}
	if *htmlPath != "" {
		if err := onnx.WriteFileAtomic(*htmlPath, func(w io.Writer) error { return htmlreport.Cost(w, r, path) }); err != nil {
			return failure{err}
		}
	}
	return nil
}
