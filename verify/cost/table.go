package cost

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
)

// Table holds the energy of one operation of each kind, in picojoules.
type Table struct {
	Int8Add   float64 `json:"int8_add"`
	Int8Mult  float64 `json:"int8_mult"`
	Int32Add  float64 `json:"int32_add"`
	Int32Mult float64 `json:"int32_mult"`
	FP16Add   float64 `json:"fp16_add"`
	FP16Mult  float64 `json:"fp16_mult"`
	FP32Add   float64 `json:"fp32_add"`
	FP32Mult  float64 `json:"fp32_mult"`
	// SRAMRead64 is one 64-bit read from an 8 KB SRAM; it prices weight
	// reads when Options.Memory is set.
	SRAMRead64 float64 `json:"sram_read_64bit"`
}

// Horowitz45nm is the 45 nm table of Horowitz ("Computing's energy
// problem", ISSCC 2014), the usual basis of per-operation energy estimates.
func Horowitz45nm() Table {
	return Table{
		Int8Add:    0.03,
		Int8Mult:   0.2,
		Int32Add:   0.1,
		Int32Mult:  3.1,
		FP16Add:    0.4,
		FP16Mult:   1.1,
		FP32Add:    0.9,
		FP32Mult:   3.7,
		SRAMRead64: 10,
	}
}

// ReadTable reads a JSON object of per-operation energies in picojoules,
// e.g. {"int8_add": 0.03, "fp16_mult": 1.1}, over base: keys left out keep
// base's value. Unknown keys and negative or non-finite values are errors.
func ReadTable(r io.Reader, base Table) (Table, error) {
	t := base
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil {
		return Table{}, fmt.Errorf("energy table: %w", err)
	}
	if dec.More() {
		return Table{}, fmt.Errorf("energy table: trailing data after the JSON object")
	}
	if err := t.Validate(); err != nil {
		return Table{}, err
	}
	return t, nil
}

// Validate checks that every energy is finite and not negative.
func (t Table) Validate() error {
	for _, e := range t.entries() {
		if math.IsNaN(e.pj) || math.IsInf(e.pj, 0) || e.pj < 0 {
			return fmt.Errorf("energy table: %s = %g pJ: want a finite value >= 0", e.key, e.pj)
		}
	}
	return nil
}

type tableEntry struct {
	key string
	pj  float64
}

func (t Table) entries() []tableEntry {
	return []tableEntry{
		{"int8_add", t.Int8Add}, {"int8_mult", t.Int8Mult}, {"int32_add", t.Int32Add}, {"int32_mult", t.Int32Mult},
		{"fp16_add", t.FP16Add}, {"fp16_mult", t.FP16Mult}, {"fp32_add", t.FP32Add}, {"fp32_mult", t.FP32Mult},
		{"sram_read_64bit", t.SRAMRead64},
	}
}

// Ops counts arithmetic operations by kind.
type Ops struct {
	Int8Add   int64 `json:"int8_add,omitempty"`
	Int8Mult  int64 `json:"int8_mult,omitempty"`
	Int32Add  int64 `json:"int32_add,omitempty"`
	Int32Mult int64 `json:"int32_mult,omitempty"`
	FP16Add   int64 `json:"fp16_add,omitempty"`
	FP16Mult  int64 `json:"fp16_mult,omitempty"`
	FP32Add   int64 `json:"fp32_add,omitempty"`
	FP32Mult  int64 `json:"fp32_mult,omitempty"`
}

// OpKinds lists the kinds in the order reports print them.
var OpKinds = []string{"fp32_mult", "fp32_add", "fp16_mult", "fp16_add", "int32_mult", "int32_add", "int8_mult", "int8_add"}

// Get returns the count of one kind by its key ("int8_add", ...).
func (o Ops) Get(kind string) int64 {
	switch kind {
	case "int8_add":
		return o.Int8Add
	case "int8_mult":
		return o.Int8Mult
	case "int32_add":
		return o.Int32Add
	case "int32_mult":
		return o.Int32Mult
	case "fp16_add":
		return o.FP16Add
	case "fp16_mult":
		return o.FP16Mult
	case "fp32_add":
		return o.FP32Add
	case "fp32_mult":
		return o.FP32Mult
	}
	return 0
}

// Plus returns o + p.
func (o Ops) Plus(p Ops) Ops {
	return Ops{
		Int8Add: o.Int8Add + p.Int8Add, Int8Mult: o.Int8Mult + p.Int8Mult,
		Int32Add: o.Int32Add + p.Int32Add, Int32Mult: o.Int32Mult + p.Int32Mult,
		FP16Add: o.FP16Add + p.FP16Add, FP16Mult: o.FP16Mult + p.FP16Mult,
		FP32Add: o.FP32Add + p.FP32Add, FP32Mult: o.FP32Mult + p.FP32Mult,
	}
}

// Total is the number of operations of all kinds.
func (o Ops) Total() int64 {
	return o.Int8Add + o.Int8Mult + o.Int32Add + o.Int32Mult + o.FP16Add + o.FP16Mult + o.FP32Add + o.FP32Mult
}

// Energy prices the operations with t, in picojoules.
func (o Ops) Energy(t Table) float64 {
	return float64(o.Int8Add)*t.Int8Add + float64(o.Int8Mult)*t.Int8Mult +
		float64(o.Int32Add)*t.Int32Add + float64(o.Int32Mult)*t.Int32Mult +
		float64(o.FP16Add)*t.FP16Add + float64(o.FP16Mult)*t.FP16Mult +
		float64(o.FP32Add)*t.FP32Add + float64(o.FP32Mult)*t.FP32Mult
}

// arith is the number format an operation works in.
type arith int

const (
	arNone arith = iota
	arInt8
	arInt32
	arFP16
	arFP32
)

// add returns n additions in format a.
func (a arith) add(n int64) Ops {
	switch a {
	case arInt8:
		return Ops{Int8Add: n}
	case arInt32:
		return Ops{Int32Add: n}
	case arFP16:
		return Ops{FP16Add: n}
	case arFP32:
		return Ops{FP32Add: n}
	}
	return Ops{}
}

// mult returns n multiplications in format a.
func (a arith) mult(n int64) Ops {
	switch a {
	case arInt8:
		return Ops{Int8Mult: n}
	case arInt32:
		return Ops{Int32Mult: n}
	case arFP16:
		return Ops{FP16Mult: n}
	case arFP32:
		return Ops{FP32Mult: n}
	}
	return Ops{}
}
