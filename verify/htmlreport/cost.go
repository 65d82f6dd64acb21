package htmlreport

import (
	"fmt"
	"io"

	"github.com/onnx-prom/onnx-prom/verify/cost"
)

// Colors of the chart series.
const (
	colorFloat16 = "#9aa3b2"
	colorModel   = "#2f6fd6"
	colorCum     = "#e08a2c"
)

// Cost writes a cost report: summary, per-layer energy and weight charts
// (float16 beside the model), operation and storage tables, assumptions.
func Cost(w io.Writer, r *cost.Report, model string) error {
	var p page
	p.start("onnx-prom cost: " + model)
	p.printf("<h1>Energy and storage estimate</h1>\n<p class=\"sub\">%s &middot; scope <b>%s</b> &middot; accumulator <b>%s</b>%s</p>\n",
		esc(model), esc(string(r.Scope)), esc(string(r.Accumulator)), map[bool]string{true: " &middot; zero ternary weights skipped", false: ""}[r.SkipZeroWeights])
	p.printf(`<div class="cards">` + "\n")
	p.card("energy per inference", siValue(r.EnergyPJ*1e-12, "J"), "")
	p.card("float16 baseline", siValue(r.Float16.EnergyPJ*1e-12, "J"), "")
	p.card("energy vs float16", fmt.Sprintf("%.2f×", r.Float16.EnergyRatio), "good")
	p.card("energy vs float32", fmt.Sprintf("%.2f×", r.Float32.EnergyRatio), "")
	p.card("weights", siValue(float64(r.StorageBytes), "B"), "")
	p.card("storage vs float16", fmt.Sprintf("%.2f×", r.Float16.StorageRatio), "good")
	p.card("MACs (ternary / int8 / float)", fmt.Sprintf("%s / %s / %s", count(r.TernaryMACs), count(r.Int8MACs), count(r.FloatMACs)), "")
	p.printf("</div>\n")
	p.printf("<p>MAC energy %s; per-output overhead %s (%s); float16 %s with overhead. Energy ratio vs float16: MACs only %.2f×, with overhead %.2f×.</p>\n",
		esc(siValue(r.MACPJ*1e-12, "J")), esc(siValue(r.OverheadPJ*1e-12, "J")),
		map[bool]string{true: "in the total", false: "not in the total"}[r.Scope == cost.ScopeFull],
		esc(siValue((r.Float16.MACPJ+r.Float16.OverheadPJ)*1e-12, "J")), r.Float16.MACRatio, r.Float16.FullRatio)

	var labels []string
	var e16, em, b16, bm []float64
	for _, l := range r.Layers {
		if l.MACs == 0 && l.EnergyPJ == 0 && l.Float16PJ == 0 {
			continue
		}
		labels = append(labels, l.Name)
		e16 = append(e16, l.Float16PJ*1e-12)
		em = append(em, l.EnergyPJ*1e-12)
		b16 = append(b16, float64(2*l.BaselineParams))
		bm = append(bm, float64(l.WeightBytes))
	}
	p.printf("<h2>Energy per layer</h2>\n")
	p.barChart("energy per layer (log scale)", "J", labels, []series{{"float16", colorFloat16, e16}, {"this model", colorModel, em}}, true)
	p.printf("<h2>Weight storage per layer</h2>\n")
	p.barChart("weight bytes per layer (log scale)", "B", labels, []series{{"float16", colorFloat16, b16}, {"this model", colorModel, bm}}, true)

	p.printf("<h2>Operations</h2>\n<table><tr><th class=\"l\">kind</th><th>MAC ops</th><th>overhead ops</th><th>pJ each</th><th>MAC energy</th><th>overhead energy</th></tr>\n")
	for _, k := range cost.OpKinds {
		m, o := r.MACOps.Get(k), r.OverheadOps.Get(k)
		if m == 0 && o == 0 {
			continue
		}
		pj := r.Table.PJ(k)
		p.printf("<tr><td class=\"l\">%s</td><td>%d</td><td>%d</td><td>%g</td><td>%s</td><td>%s</td></tr>\n",
			esc(k), m, o, pj, esc(siValue(float64(m)*pj*1e-12, "J")), esc(siValue(float64(o)*pj*1e-12, "J")))
	}
	p.printf("</table>\n")

	p.printf("<h2>Storage by element type</h2>\n<table><tr><th class=\"l\">type</th><th>bits</th><th>elements</th><th>bytes</th></tr>\n")
	for _, s := range r.Storage {
		p.printf("<tr><td class=\"l\">%s</td><td>%d</td><td>%d</td><td>%d</td></tr>\n", esc(s.Type), s.Bits, s.Elements, s.Bytes)
	}
	p.printf("<tr><td class=\"l\"><b>total</b></td><td></td><td></td><td><b>%d</b></td></tr>\n", r.StorageBytes)
	p.printf("<tr><td class=\"l\">float16 baseline</td><td>16</td><td>%d</td><td>%d</td></tr>\n", r.BaselineParams, r.Float16.Bytes)
	p.printf("<tr><td class=\"l\">float32 baseline</td><td>32</td><td>%d</td><td>%d</td></tr>\n</table>\n", r.BaselineParams, r.Float32.Bytes)

	p.printf("<h2>Assumptions</h2>\n<ul>\n")
	for _, a := range r.Assumptions {
		p.printf("<li>%s</li>\n", esc(a))
	}
	p.printf("</ul>\n")
	if len(r.Warnings) > 0 {
		p.printf("<h2>Warnings</h2>\n<ul>\n")
		for _, wm := range r.Warnings {
			p.printf("<li>%s</li>\n", esc(wm))
		}
		p.printf("</ul>\n")
	}

	p.printf("<h2>Layers</h2>\n<table><tr><th class=\"l\">layer</th><th class=\"l\">op</th><th class=\"l\">class</th><th class=\"l\">arith</th><th>MACs</th><th>energy pJ</th><th>overhead pJ</th><th>float16 pJ</th><th>bytes</th><th>float16 bytes</th></tr>\n")
	for _, l := range r.Layers {
		p.printf("<tr><td class=\"l\">%s</td><td class=\"l\">%s</td><td class=\"l\">%s</td><td class=\"l\">%s</td><td>%d</td><td>%.0f</td><td>%.0f</td><td>%.0f</td><td>%d</td><td>%d</td></tr>\n",
			esc(l.Name), esc(l.OpType), esc(l.Class), esc(l.Arith), l.MACs, l.EnergyPJ, l.OverheadPJ, l.Float16PJ, l.WeightBytes, 2*l.BaselineParams)
	}
	p.printf("</table>\n")
	p.end()
	return p.writeTo(w)
}

// count formats a large count with an SI suffix.
func count(n int64) string {
	if n == 0 {
		return "0"
	}
	return siValue(float64(n), "")
}
