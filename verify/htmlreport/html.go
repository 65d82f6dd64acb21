// Package htmlreport writes onnx-prom's cost and verification reports as
// single self-contained HTML files: inline CSS and SVG charts, no scripts,
// no external resources.
package htmlreport

import (
	"fmt"
	"html"
	"io"
	"math"
	"strings"
)

// page accumulates an HTML document.
type page struct {
	b strings.Builder
}

func esc(s string) string { return html.EscapeString(s) }

func (p *page) printf(format string, args ...any) { fmt.Fprintf(&p.b, format, args...) }

func (p *page) start(title string) {
	p.printf(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>%s</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:24px auto;max-width:1100px;color:#1d2330;padding:0 16px}
h1{font-size:22px;margin-bottom:4px} h2{font-size:17px;margin-top:28px;border-bottom:1px solid #d6dae3;padding-bottom:4px}
.sub{color:#5a6372;margin-top:0}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}
.card{border:1px solid #d6dae3;border-radius:6px;padding:10px 14px;min-width:170px}
.card .v{font-size:22px;font-weight:600} .card .k{color:#5a6372;font-size:12px}
.bad{color:#b3261e} .good{color:#1b6e3a}
table{border-collapse:collapse;font-size:12.5px;margin:8px 0}
th,td{border-bottom:1px solid #e6e9ef;padding:3px 8px;text-align:right;white-space:nowrap}
th{background:#f3f5f9;position:sticky;top:0} td.l,th.l{text-align:left}
ul{font-size:13.5px;line-height:1.45}
svg text{font-family:system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif}
.legend span{display:inline-block;width:11px;height:11px;margin:0 4px 0 12px;vertical-align:middle}
</style></head><body>
`, esc(title))
}

func (p *page) end() { p.printf("</body></html>\n") }

func (p *page) card(key, value, class string) {
	p.printf(`<div class="card"><div class="k">%s</div><div class="v %s">%s</div></div>`+"\n", esc(key), class, esc(value))
}

// series is one set of bars of a chart.
type series struct {
	name   string
	color  string
	values []float64
}

// barChart draws a horizontal grouped bar chart: one group of bars per
// label, one bar per series. With logScale the axis is logarithmic
// (values <= 0 draw no bar).
func (p *page) barChart(title, unit string, labels []string, ss []series, logScale bool) {
	const (
		labelW = 250
		plotW  = 640
		valueW = 90
		barH   = 7
		gap    = 5
		top    = 34
	)
	groupH := len(ss)*barH + gap
	height := top + len(labels)*groupH + 24
	width := labelW + plotW + valueW
	maxV, minPos := 0.0, math.Inf(1)
	for _, s := range ss {
		for _, v := range s.values {
			if v > maxV {
				maxV = v
			}
			if v > 0 && v < minPos {
				minPos = v
			}
		}
	}
	if maxV <= 0 {
		maxV = 1
	}
	lo := 0.0
	if logScale {
		if math.IsInf(minPos, 1) {
			minPos = 1
		}
		lo = math.Floor(math.Log10(minPos))
	}
	hi := math.Log10(maxV)
	if logScale && hi <= lo {
		hi = lo + 1
	}
	scale := func(v float64) float64 {
		if logScale {
			if v <= 0 {
				return 0
			}
			return plotW * (math.Log10(v) - lo) / (hi - lo)
		}
		return plotW * v / maxV
	}
	p.printf(`<figure style="margin:8px 0"><svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="%s">`+"\n",
		width, height, width, height, esc(title))
	p.printf(`<text x="0" y="14" font-size="13" font-weight="600">%s</text>`+"\n", esc(title))
	lx := labelW
	for _, s := range ss {
		p.printf(`<rect x="%d" y="20" width="10" height="10" fill="%s"/><text x="%d" y="29" font-size="11">%s</text>`+"\n", lx, s.color, lx+14, esc(s.name))
		lx += 20 + 7*len(s.name)
	}
	// Grid lines.
	if logScale {
		for e := lo; e <= math.Ceil(hi); e++ {
			x := float64(labelW) + scale(math.Pow(10, e))
			if x > float64(labelW+plotW)+0.5 {
				break
			}
			p.printf(`<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#e1e4ea"/><text x="%.1f" y="%d" font-size="9.5" fill="#5a6372" text-anchor="middle">%s</text>`+"\n",
				x, top-2, x, height-18, x, height-6, esc(siValue(math.Pow(10, e), unit)))
		}
	} else {
		for i := 0; i <= 4; i++ {
			v := maxV * float64(i) / 4
			x := float64(labelW) + scale(v)
			p.printf(`<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#e1e4ea"/><text x="%.1f" y="%d" font-size="9.5" fill="#5a6372" text-anchor="middle">%s</text>`+"\n",
				x, top-2, x, height-18, x, height-6, esc(siValue(v, unit)))
		}
	}
	for i, l := range labels {
		y := top + i*groupH
		name := l
		if len(name) > 40 {
			name = "…" + name[len(name)-39:]
		}
		p.printf(`<text x="%d" y="%d" font-size="10" text-anchor="end">%s<title>%s</title></text>`+"\n",
			labelW-6, y+len(ss)*barH/2+4, esc(name), esc(l))
		for j, s := range ss {
			v := 0.0
			if i < len(s.values) {
				v = s.values[i]
			}
			w := scale(v)
			if w < 0 {
				w = 0
			}
			by := y + j*barH
			p.printf(`<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"><title>%s %s: %s</title></rect>`+"\n",
				labelW, by, w, barH-1, s.color, esc(l), esc(s.name), esc(siValue(v, unit)))
			if j == len(ss)-1 || len(ss) == 1 {
				p.printf(`<text x="%.1f" y="%d" font-size="9" fill="#5a6372">%s</text>`+"\n", float64(labelW)+w+3, by+barH-1, esc(siValue(v, unit)))
			}
		}
	}
	p.printf("</svg></figure>\n")
}

// siValue formats v with an SI prefix and unit ("12.3 kB", "4.5 uJ").
func siValue(v float64, unit string) string {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Sprintf("%g %s", v, unit)
	}
	prefixes := []struct {
		f float64
		p string
	}{{1e12, "T"}, {1e9, "G"}, {1e6, "M"}, {1e3, "k"}, {1, ""}, {1e-3, "m"}, {1e-6, "µ"}, {1e-9, "n"}, {1e-12, "p"}}
	a := math.Abs(v)
	for _, pr := range prefixes {
		if a >= pr.f {
			return fmt.Sprintf("%.3g %s%s", v/pr.f, pr.p, unit)
		}
	}
	return fmt.Sprintf("%.3g %s", v, unit)
}

func (p *page) writeTo(w io.Writer) error {
	_, err := io.WriteString(w, p.b.String())
	return err
}
