// Package passes is onnx-prom's compiler-style pass pipeline.
//
// A Pass is a value: a name, a one-line doc, the passes it requires to have
// run before it, and a Run function that rewrites the model in a State and
// reports what it changed. A Pipeline is an ordered list of passes; the
// conversion is the pipeline Default, and library users compose their own
// from the exported passes (or passes of their own) the same way.
//
// Passes talk to each other only through the State: the model, the options,
// and typed facts that one pass produces and a later one consumes (the
// activation ranges of calibration, the weights chosen by ternarization).
package passes

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/onnx-prom/onnx-prom/onnx/ir"
)

// Pass is one step of a pipeline.
type Pass struct {
	// Name is short, lower-case and unique ("fold-bn").
	Name string
	// Doc is one line: what the pass does.
	Doc string
	// Requires names passes that must run earlier in the same pipeline.
	Requires []string
	// Run rewrites s.Model and reports what it changed.
	Run func(s *State) (Result, error)
}

// Result is what a pass reports.
type Result struct {
	// Changed counts the nodes or tensors the pass rewrote, added or removed.
	Changed int
	// Stats holds named counters for -v output and the report.
	Stats map[string]int
}

// State is what passes share: the model, the options, and facts.
type State struct {
	Model  *ir.Model
	Config Config
	// Warn receives warnings meant for the user (one line each).
	Warn func(msg string)
	// Calib is the calibration data; nil means synthetic inputs.
	Calib CalibData
	// Limits bound memory and work (the zero value: defaults, no work
	// limit).
	Limits Limits

	facts map[string]any
}

// Warnf sends a formatted warning.
func (s *State) Warnf(format string, args ...any) {
	if s.Warn != nil {
		s.Warn(fmt.Sprintf(format, args...))
	}
}

// SetFact stores a fact under key for later passes.
func (s *State) SetFact(key string, v any) {
	if s.facts == nil {
		s.facts = map[string]any{}
	}
	s.facts[key] = v
}

// Fact returns the fact stored under key, typed; ok is false if absent.
func Fact[T any](s *State, key string) (T, bool) {
	v, ok := s.facts[key].(T)
	return v, ok
}

// Pipeline is an ordered list of passes.
type Pipeline []*Pass

// Check verifies that names are unique and every pass's requirements run
// before it.
func (p Pipeline) Check() error {
	seen := map[string]bool{}
	for _, ps := range p {
		if seen[ps.Name] {
			return fmt.Errorf("pass %q appears twice", ps.Name)
		}
		for _, r := range ps.Requires {
			if !seen[r] {
				return fmt.Errorf("pass %q requires %q to run before it", ps.Name, r)
			}
		}
		seen[ps.Name] = true
	}
	return nil
}

// Names lists the pass names in order.
func (p Pipeline) Names() []string {
	out := make([]string, len(p))
	for i, ps := range p {
		out[i] = ps.Name
	}
	return out
}

// PassStat is one pass's line in a run's statistics.
type PassStat struct {
	Name     string         `json:"name"`
	Changed  int            `json:"changed"`
	Stats    map[string]int `json:"stats,omitempty"`
	Nodes    int            `json:"nodes_after"`
	Duration time.Duration  `json:"duration_ns"`
}

// RunOptions observe a pipeline run.
type RunOptions struct {
	// After is called after each pass with the pass and the state (for
	// --print-after and --dump-after). An error stops the run.
	After func(p *Pass, s *State) error
}

// Run checks the pipeline and runs its passes in order on s.
func (p Pipeline) Run(s *State, o RunOptions) ([]PassStat, error) {
	if err := p.Check(); err != nil {
		return nil, err
	}
	var stats []PassStat
	for _, ps := range p {
		start := time.Now()
		res, err := ps.Run(s)
		if err != nil {
			return stats, fmt.Errorf("pass %s: %w", ps.Name, err)
		}
		stats = append(stats, PassStat{Name: ps.Name, Changed: res.Changed, Stats: res.Stats,
			Nodes: s.Model.Graph.NumNodes(), Duration: time.Since(start)})
		if o.After != nil {
			if err := o.After(ps, s); err != nil {
				return stats, err
			}
		}
	}
	return stats, nil
}

// Select returns the passes of all named in names (comma-separated or
// repeated), in the order given.
func Select(all []*Pass, names string) (Pipeline, error) {
	byName := map[string]*Pass{}
	for _, p := range all {
		byName[p.Name] = p
	}
	var out Pipeline
	for _, n := range strings.Split(names, ",") {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		p := byName[n]
		if p == nil {
			return nil, fmt.Errorf("unknown pass %q (known: %s)", n, strings.Join(Pipeline(all).Names(), ", "))
		}
		out = append(out, p)
	}
	return out, nil
}

// WriteGraph prints the graph in a compact text form, one node a line:
// outputs = op[domain](inputs) {attributes}.
func WriteGraph(w io.Writer, g *ir.Graph) {
	name := func(v *ir.Value) string {
		if v == nil {
			return "_"
		}
		s := v.Name
		if v.Type != 0 || v.Shape != nil {
			s += ":" + typeName(v)
		}
		return s
	}
	for _, v := range g.Inputs {
		fmt.Fprintf(w, "input  %s\n", name(v))
	}
	for _, n := range g.Nodes() {
		var outs, ins, attrs []string
		for _, v := range n.Outputs {
			outs = append(outs, name(v))
		}
		for _, v := range n.Inputs {
			if v != nil && v.IsConst() {
				ins = append(ins, "@"+v.Name)
			} else if v != nil {
				ins = append(ins, v.Name)
			} else {
				ins = append(ins, "_")
			}
		}
		for _, a := range n.Attrs {
			attrs = append(attrs, a.GetName())
		}
		op := n.OpType
		if n.Domain != "" {
			op = n.Domain + "." + op
		}
		fmt.Fprintf(w, "%s = %s(%s)", strings.Join(outs, ", "), op, strings.Join(ins, ", "))
		if len(attrs) > 0 {
			fmt.Fprintf(w, " {%s}", strings.Join(attrs, ","))
		}
		fmt.Fprintf(w, "  # %s\n", n.Name)
	}
	for _, v := range g.Outputs {
		fmt.Fprintf(w, "output %s\n", name(v))
	}
}
