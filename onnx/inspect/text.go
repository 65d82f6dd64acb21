package inspect

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteJSON writes the report as indented JSON. The output is
// deterministic: fields in declaration order, lists sorted.
func (r *Report) WriteJSON(w io.Writer) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// WriteText writes the report for people, in aligned columns.
func (r *Report) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	p := func(format string, args ...any) { fmt.Fprintf(tw, format+"\n", args...) }
	if r.File != "" {
		p("model\t%s", r.File)
	}
	p("ir_version\t%d", r.IRVersion)
	if r.Producer != "" {
		p("producer\t%s", r.Producer)
	}
	if r.Graph != "" {
		p("graph\t%s", r.Graph)
	}
	var ops []string
	for _, o := range r.Opsets {
		ops = append(ops, fmt.Sprintf("%s %d", o.Domain, o.Version))
	}
	p("opsets\t%s", strings.Join(ops, ", "))
	for i, t := range r.Inputs {
		label := ""
		if i == 0 {
			label = "inputs"
		}
		p("%s\t%s\t%s\t[%s]", label, t.Name, t.Type, t.Shape)
	}
	for i, t := range r.Outputs {
		label := ""
		if i == 0 {
			label = "outputs"
		}
		p("%s\t%s\t%s\t[%s]", label, t.Name, t.Type, t.Shape)
	}
	p("nodes\t%d", r.Nodes)
	p("shapes\t%d of %d values known (%d without symbols)", r.Shapes, r.Values, r.NumericShapes)
	stats := ""
	if r.Params.BNStatistics > 0 {
		stats = fmt.Sprintf(" (+ %s BatchNormalization running statistics)", group(r.Params.BNStatistics))
	}
	p("parameters\t%s%s", group(r.Params.Count), stats)
	p("storage\t%s bytes in %d tensors", group(r.Params.Bytes), r.Params.Tensors)
	for _, t := range r.Params.ByType {
		p("\t%s\t%s\t%s bytes", t.Type, group(t.Count), group(t.Bytes))
	}
	note := ""
	if r.MACs.Note != "" {
		note = " (" + r.MACs.Note + ")"
	}
	p("MACs\t%s = %s%s", group(r.MACs.Total), mega(r.MACs.Total), note)
	for _, o := range r.MACs.ByOp {
		p("\t%s\t%d nodes\t%s\t%s", o.Op, o.Nodes, mega(o.MACs), percent(o.MACs, r.MACs.Total))
	}
	if len(r.MACs.Unknown) > 0 {
		p("\tunknown\t%d nodes\t(shapes not known; give input sizes with --shape)", len(r.MACs.Unknown))
	}
	c := r.Convs
	p("convs\t%d: %d depthwise, %d pointwise, %d squeeze-excite, %d regular, %d grouped, %d unknown; %d transposed",
		c.Total, c.Depthwise, c.Pointwise, c.SqueezeExcite, c.Regular, c.Grouped, c.Unknown, c.Transposed)
	for _, o := range r.MACs.ByConvKind {
		p("\t%s\t%d nodes\t%s\t%s", o.Op, o.Nodes, mega(o.MACs), percent(o.MACs, r.MACs.Total))
	}
	p("chains\t%d depthwise -> pointwise, %d pointwise -> depthwise (expansion)", len(r.Chains), len(r.Expansions))
	if err := tw.Flush(); err != nil {
		return err
	}
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if len(r.Ops) > 0 {
		fmt.Fprintln(tw, "\noperators")
		for _, o := range r.Ops {
			fmt.Fprintf(tw, "  %s\t%d\n", o.Op, o.Count)
		}
	}
	for _, sec := range []struct {
		title string
		list  []ChainEntry
	}{{"depthwise -> pointwise chains", r.Chains}, {"pointwise -> depthwise (expansion) chains", r.Expansions}} {
		if len(sec.list) == 0 {
			continue
		}
		fmt.Fprintf(tw, "\n%s\n", sec.title)
		for _, ch := range sec.list {
			via := strings.Join(ch.Between, ", ")
			if via == "" {
				via = "-"
			}
			fmt.Fprintf(tw, "  %s\t-> %s\tvia %s\n", ch.From, ch.To, via)
		}
	}
	return tw.Flush()
}

// group writes n with thousands separators.
func group(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func mega(n int64) string { return fmt.Sprintf("%.2f M", float64(n)/1e6) }

func percent(part, total int64) string {
	if total <= 0 {
		return ""
	}
	return fmt.Sprintf("%.1f%%", 100*float64(part)/float64(total))
}
