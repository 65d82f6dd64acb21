package htmlreport

import (
	"fmt"
	"io"
	"sort"

	"github.com/onnx-prom/onnx-prom/verify/accuracy"
)

// Gate is the outcome of the thresholds a verification was checked
// against, for the report.
type Gate struct {
	Passed bool
	// Checks describe each threshold and its outcome ("top-1 drop 0.1 pp
	// <= 1 pp: ok").
	Checks []string
}

// Verify writes a verification report: summary, per-layer SQNR chart (in
// graph order, layer and cumulative SQNR), the per-layer table worst
// first, and warnings.
func Verify(w io.Writer, r *accuracy.Report, ref, cand string, gate Gate) error {
	var p page
	p.start("onnx-prom verify: " + cand)
	p.printf("<h1>Verification</h1>\n<p class=\"sub\">reference %s &middot; candidate %s &middot; %d samples (%d labelled) &middot; output %s (%d values per sample)</p>\n",
		esc(ref), esc(cand), r.Samples, r.Labelled, esc(r.Output), r.Classes)
	p.printf(`<div class="cards">` + "\n")
	if gate.Passed {
		p.card("gate", "passed", "good")
	} else {
		p.card("gate", "FAILED", "bad")
	}
	p.card("top-1 agreement", fmt.Sprintf("%.2f%%", 100*r.Agreement), "")
	if r.Ref != nil && r.Cand != nil {
		p.card("top-1 reference / candidate", fmt.Sprintf("%.2f%% / %.2f%%", 100*r.Ref.Top1, 100*r.Cand.Top1), "")
		p.card("top-1 drop", fmt.Sprintf("%.2f pp", r.Top1Drop), "")
		p.card("top-5 reference / candidate", fmt.Sprintf("%.2f%% / %.2f%%", 100*r.Ref.Top5, 100*r.Cand.Top5), "")
	}
	p.card("output SQNR", fmt.Sprintf("%.2f dB", r.SQNR), "")
	p.card("cosine similarity", fmt.Sprintf("%.5f", r.Cosine), "")
	p.card("max / mean abs error", fmt.Sprintf("%.4g / %.4g", r.MaxAbsError, r.MeanAbsError), "")
	p.printf("</div>\n")
	if len(gate.Checks) > 0 {
		p.printf("<ul>\n")
		for _, c := range gate.Checks {
			p.printf("<li>%s</li>\n", esc(c))
		}
		p.printf("</ul>\n")
	}
	if len(r.Layers) > 0 {
		ordered := append([]accuracy.Layer(nil), r.Layers...)
		sort.SliceStable(ordered, func(i, j int) bool { return ordered[i].Order < ordered[j].Order })
		var labels []string
		var iso, cum []float64
		for _, l := range ordered {
			labels = append(labels, l.Name)
			iso = append(iso, max(0, l.SQNR))
			cum = append(cum, max(0, l.CumulativeSQNR))
		}
		p.printf("<h2>SQNR per layer (graph order)</h2>\n<p>Layer SQNR: the layer alone on the reference's inputs (quantized as the candidate quantizes them). Cumulative SQNR: the candidate's own run, with the error of every layer before. Higher is better; bars stop at 0 dB.</p>\n")
		p.barChart("SQNR per layer", "dB", labels, []series{{"layer SQNR", colorModel, iso}, {"cumulative SQNR", colorCum, cum}}, false)
		p.printf("<h2>Layers, worst layer SQNR first</h2>\n<table><tr><th class=\"l\">layer</th><th class=\"l\">op</th><th class=\"l\">value</th><th class=\"l\">reference value</th><th>layer SQNR dB</th><th>cumulative SQNR dB</th><th>max abs err</th><th>mean abs err</th><th>cosine</th></tr>\n")
		for _, l := range r.Layers {
			iso := "n/a"
			if l.Isolated {
				iso = fmt.Sprintf("%.2f", l.SQNR)
			}
			p.printf("<tr><td class=\"l\">%s</td><td class=\"l\">%s</td><td class=\"l\">%s</td><td class=\"l\">%s</td><td>%s</td><td>%.2f</td><td>%.4g</td><td>%.4g</td><td>%.5f</td></tr>\n",
				esc(l.Name), esc(l.OpType), esc(l.Value), esc(l.Ref), iso, l.CumulativeSQNR, l.MaxAbsError, l.MeanAbsError, l.Cosine)
		}
		p.printf("</table>\n")
	}
	if len(r.Warnings) > 0 {
		p.printf("<h2>Warnings</h2>\n<ul>\n")
		for _, wm := range r.Warnings {
			p.printf("<li>%s</li>\n", esc(wm))
		}
		p.printf("</ul>\n")
	}
	p.end()
	return p.writeTo(w)
}
