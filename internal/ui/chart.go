package ui

import (
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/lookout/lookout/internal/uptime"
)

// level is the colour class of a stretch of uptime, given its
// availability (a Tally's or a Brief's): l0 no data, l1 all up, l2 at
// least 99.9 %, l3 at least 99 %, l4 at least 95 %, l5 below.
func level(a float64, ok bool) string {
	switch {
	case !ok:
		return "l0"
	case a >= 1:
		return "l1"
	case a >= 0.999:
		return "l2"
	case a >= 0.99:
		return "l3"
	case a >= 0.95:
		return "l4"
	}
	return "l5"
}

// levelWords says what a level means, for text alternatives.
var levelWords = map[string]string{"l0": "no data", "l1": "100%", "l2": "99.9% or more",
	"l3": "99% or more", "l4": "95% or more", "l5": "under 95%"}

// stripCell is one day of a strip, or a run of days of one level.
type stripCell struct {
	X, W  int
	Class string
	Title string
}

// strip is a row of days coloured by uptime, as inline SVG.
type strip struct {
	Cells []stripCell
	Width int
	// Label is the strip's text alternative.
	Label string
}

// stripCellWidth is one day's width in the SVG's units, gap included.
const stripCellWidth = 4

// dayStrip lays days (one Brief per day, missing days left out), and
// more, over the n days (at most stripDays) starting at first. With runs
// set, neighbouring days of the same level share one cell whose tooltip
// adds them up, so that a strip of healthy days is a few elements, not n.
func dayStrip(days []uptime.Brief, first time.Time, n int, runs bool, more ...uptime.Brief) strip {
	n = min(n, stripDays)
	var all [stripDays]uptime.Brief
	byDay := all[:n]
	for _, ds := range [][]uptime.Brief{days, more} {
		for i := range ds {
			k := int(ds[i].Start.Sub(first) / (24 * time.Hour))
			if k >= 0 && k < n {
				byDay[k] = ds[i]
			}
		}
	}
	s := strip{Width: n * stripCellWidth}
	var counts [6]int // by level
	for i := 0; i < n; {
		lv := level(byDay[i].Availability())
		j := i + 1
		sum := byDay[i]
		for runs && j < n && level(byDay[j].Availability()) == lv {
			sum.Merge(&byDay[j])
			j++
		}
		counts[lv[1]-'0'] += j - i
		from := first.Add(time.Duration(i) * 24 * time.Hour)
		s.Cells = append(s.Cells, stripCell{X: i * stripCellWidth, W: (j-i)*stripCellWidth - 1, Class: lv,
			Title: stripTitle(&sum, from, j-i)})
		i = j
	}
	var parts []string
	for _, lv := range []string{"l1", "l2", "l3", "l4", "l5", "l0"} {
		if c := counts[lv[1]-'0']; c > 0 {
			parts = append(parts, fmt.Sprintf("%d at %s", c, levelWords[lv]))
		}
	}
	s.Label = fmt.Sprintf("Uptime of the last %d days: %s", n, strings.Join(parts, ", "))
	return s
}

// briefs are the Briefs of rollups, for a strip.
func briefs(rs []uptime.Rollup) []uptime.Brief {
	out := make([]uptime.Brief, len(rs))
	for i := range rs {
		out[i] = rs[i].Brief()
		out[i].Start = rs[i].Start
	}
	return out
}

// stripTitle says what a cell of a strip adds up to: its uptime, checks
// and downtime (latencies are the chart's).
func stripTitle(b *uptime.Brief, from time.Time, days int) string {
	when := from.Format("2 Jan 2006")
	if days > 1 {
		when = fmt.Sprintf("%s – %s (%d days)", from.Format("2 Jan"), from.Add(time.Duration(days-1)*24*time.Hour).Format("2 Jan 2006"), days)
	}
	if _, ok := b.Availability(); !ok {
		return when + ": no data"
	}
	out := fmt.Sprintf("%s: %s up, %s checks", when, pctOfBrief(b), thousands(b.Checks))
	if b.Down > 0 {
		out += ", down " + human(b.Down)
	}
	return out
}

// chartPoint is one bucket of a latency chart.
type chartPoint struct {
	Start    time.Time
	P50, P95 time.Duration
	Checks   int
	Failures int
	Uptime   string
	Level    string
}

// latencyChart is a line chart of p50 and p95 over a window, with a row
// of uptime cells under it, as inline SVG.
type latencyChart struct {
	Width, Height int
	P50, P95      template.HTML // polyline point lists, one per line run
	Grid          []gridLine
	XLabels       []axisLabel
	Bars          []stripCell
	BarY          int
	Points        []chartPoint
	Label         string
	Empty         bool
}

type gridLine struct {
	Y     int
	Label string
}

type axisLabel struct {
	X      int
	Label  string
	Anchor string
}

// Chart geometry, in SVG units.
const (
	chartW, chartH            = 720, 220
	chartLeft, chartRight     = 56, 8
	chartTop, chartPlotBottom = 10, 170
)

// newLatencyChart draws buckets of step over [from, to).
func newLatencyChart(rs []uptime.Rollup, from, to time.Time, step time.Duration) latencyChart {
	c := latencyChart{Width: chartW, Height: chartH, BarY: chartPlotBottom + 8}
	var top time.Duration
	for i := range rs {
		t := &rs[i].Tally
		p := chartPoint{Start: rs[i].Start, Checks: t.Checks(), Failures: t.Failures(), Uptime: pctOf(*t), Level: level(t.Availability())}
		if t.Latency.Count() > 0 {
			p.P50, p.P95 = t.LatencyQuantile(0.5), t.LatencyQuantile(0.95)
			top = max(top, p.P95)
		}
		c.Points = append(c.Points, p)
	}
	span := to.Sub(from)
	plotW := float64(chartW - chartLeft - chartRight)
	x := func(t time.Time) float64 { return chartLeft + plotW*float64(t.Sub(from))/float64(span) }
	bw := max(1, plotW*float64(step)/float64(span))
	if top == 0 {
		c.Empty = true
		c.Label = "No latency measured in this window."
		return c
	}
	yMax, lines := niceCeil(top)
	plotH := float64(chartPlotBottom - chartTop)
	y := func(d time.Duration) float64 { return chartPlotBottom - plotH*float64(d)/float64(yMax) }
	for i := 0; i <= lines; i++ {
		v := yMax * time.Duration(i) / time.Duration(lines)
		c.Grid = append(c.Grid, gridLine{Y: int(math.Round(y(v))), Label: axisLatency(v)})
	}
	// A line is broken where a bucket has no latency.
	var p50, p95 []string
	var run50, run95 strings.Builder
	flush := func() {
		if run50.Len() > 0 {
			p50, p95 = append(p50, run50.String()), append(p95, run95.String())
			run50.Reset()
			run95.Reset()
		}
	}
	var prev time.Time
	for _, p := range c.Points {
		if p.P95 == 0 || (!prev.IsZero() && p.Start.Sub(prev) > step) {
			flush()
		}
		if p.P95 == 0 {
			continue
		}
		cx := x(p.Start) + bw/2
		fmt.Fprintf(&run50, "%.1f,%.1f ", cx, y(p.P50))
		fmt.Fprintf(&run95, "%.1f,%.1f ", cx, y(p.P95))
		prev = p.Start
	}
	flush()
	c.P50, c.P95 = polylines(p50, "p50"), polylines(p95, "p95")
	for _, p := range c.Points {
		c.Bars = append(c.Bars, stripCell{X: int(x(p.Start)), W: max(1, int(bw)-1), Class: p.Level,
			Title: fmt.Sprintf("%s: %s up, %d checks, p50 %s, p95 %s", p.Start.UTC().Format("2 Jan 15:04"), p.Uptime, p.Checks, latency(p.P50), latency(p.P95))})
	}
	layout := "15:04"
	if span > 48*time.Hour {
		layout = "2 Jan"
	}
	for i, f := range []float64{0, 0.5, 1} {
		t := from.Add(time.Duration(f * float64(span)))
		c.XLabels = append(c.XLabels, axisLabel{X: int(x(t)), Label: t.UTC().Format(layout), Anchor: []string{"start", "middle", "end"}[i]})
	}
	var lo, hi time.Duration
	var p50s []time.Duration
	for _, p := range c.Points {
		if p.P95 > 0 {
			if lo == 0 || p.P95 < lo {
				lo = p.P95
			}
			hi = max(hi, p.P95)
			p50s = append(p50s, p.P50)
		}
	}
	c.Label = fmt.Sprintf("Latency from %s to %s: p95 between %s and %s, p50 around %s.",
		from.UTC().Format("2 Jan 15:04"), to.UTC().Format("2 Jan 15:04 UTC"), latency(lo), latency(hi), latency(median(p50s)))
	return c
}

func polylines(runs []string, class string) template.HTML {
	var b strings.Builder
	for _, r := range runs {
		r = strings.TrimSpace(r)
		if x, y, ok := strings.Cut(r, ","); ok && !strings.Contains(r, " ") {
			// A lone bucket between gaps is a dot, not an invisible line.
			fmt.Fprintf(&b, `<circle class="%s" cx="%s" cy="%s" r="2.5"/>`, class, x, y)
			continue
		}
		fmt.Fprintf(&b, `<polyline class="%s" points="%s"/>`, class, r)
	}
	return template.HTML(b.String()) // numbers and a fixed class only
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s[len(s)/2]
}

// niceCeil rounds d up to 1, 2, 5 or 10 times a power of ten
// microseconds, for the chart's top line, and gives the number of grid
// steps that divide it into round figures.
func niceCeil(d time.Duration) (time.Duration, int) {
	v := float64(d) / float64(time.Microsecond)
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			lines := 4
			if m == 5 {
				lines = 5
			}
			return time.Duration(m * p * float64(time.Microsecond)), lines
		}
	}
	return time.Duration(10 * p * float64(time.Microsecond)), 4
}

// axisLatency labels a grid line: milliseconds with the decimals needed.
func axisLatency(d time.Duration) string {
	if d == 0 {
		return "0"
	}
	if d >= 10*time.Second {
		return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + " s"
	}
	return strconv.FormatFloat(float64(d)/1e6, 'f', -1, 64) + " ms"
}

// badge is a shields-style SVG: a grey label and a coloured value.
func badge(label, value, colour string) []byte {
	lw, vw := textWidth(label)+10, textWidth(value)+10
	w := lw + vw
	return []byte(fmt.Sprintf(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="20" role="img" aria-label="%s: %s"><title>%s: %s</title>`+
		`<rect width="%d" height="20" rx="3" fill="#555"/><rect x="%d" width="%d" height="20" rx="3" fill="%s"/><rect x="%d" width="4" height="20" fill="%s"/>`+
		`<g fill="#fff" text-anchor="middle" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11">`+
		`<text x="%d" y="14">%s</text><text x="%d" y="14">%s</text></g></svg>`,
		w, esc(label), esc(value), esc(label), esc(value), w, lw, vw, colour, lw, colour, lw/2, esc(label), lw+vw/2, esc(value)))
}

// textWidth estimates the width of s in 11px Verdana.
func textWidth(s string) int {
	w := 0.0
	for _, r := range s {
		switch {
		case strings.ContainsRune("il.:|!'", r):
			w += 3.5
		case r == ' ' || strings.ContainsRune("ftjr()-", r):
			w += 4.5
		case r == '%' || r == 'm' || r == 'w' || r == 'M' || r == 'W':
			w += 10
		case r >= 'A' && r <= 'Z':
			w += 7.5
		default:
			w += 7
		}
	}
	return int(math.Ceil(w))
}

func esc(s string) string { return template.HTMLEscapeString(s) }
