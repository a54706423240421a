package figures

import (
	"cmp"
	"fmt"
	"image/color"
	"math"
	"slices"
	"strconv"
	"strings"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Limits that keep a trial's SVG small (well under 1 MB) however many
// flows and samples it has.
const (
	maxFlowLines   = 50    // flows drawn one by one; the rest are in the sum only
	maxThinPoints  = 15000 // points of all the per-flow lines together
	maxSumPoints   = 4000  // points of the sum line
	maxQueueLines  = 10    // queue series drawn
	maxQueuePoints = 6000  // points of all the queue lines together
	flowColours    = 6     // colours the per-flow lines cycle through
)

// pairs writes the given parameters of a cell as "p=v,q=w".
func pairs(c Cell, params []string) string {
	s := make([]string, len(params))
	for i, p := range params {
		s[i] = p + "=" + c.Values[p]
	}
	return strings.Join(s, ",")
}

// groups collects items under names kept in the order first seen.
type groups[T any] struct {
	names []string
	items map[string][]T
}

func (g *groups[T]) add(name string, v T) {
	if g.items == nil {
		g.items = map[string][]T{}
	}
	if _, ok := g.items[name]; !ok {
		g.names = append(g.names, name)
	}
	g.items[name] = append(g.items[name], v)
}

// tputDelayData is the points of the goodput-vs-delay figure: one per
// cell with a goodput and a delay (RTT p50, else the mean queue delay), in
// ms and Mbit/s, grouped by the first parameter's value; and how many
// points have an RTT and how many a queue delay.
func tputDelayData(in Input) (g groups[errPoint], nRTT, nQueue int) {
	var rest []string
	if len(in.Params) > 1 {
		rest = in.Params[1:]
	}
	for _, c := range in.Cells {
		gp := metric(c, "goodput")
		if !known(gp.Mean) {
			continue
		}
		d, fallback := metric(c, "rtt_p50"), false
		if !known(d.Mean) {
			d, fallback = metric(c, "queue_delay_mean"), true
		}
		if !known(d.Mean) {
			continue
		}
		p := errPoint{x: d.Mean * 1e3, y: gp.Mean / 1e6, fallback: fallback}
		if h, ok := ci(d); ok {
			p.xlo, p.xhi, p.xbars = below(d.Mean, h)*1e3, h*1e3, true
		}
		if h, ok := ci(gp); ok {
			p.ylo, p.yhi, p.ybars = below(gp.Mean, h)/1e6, h/1e6, true
		}
		name := "all cells"
		if len(in.Params) == 0 {
			p.label = c.Key
		} else {
			name = in.Params[0] + "=" + c.Values[in.Params[0]]
			p.label = labelOf(c, rest)
		}
		if fallback {
			nQueue++
		} else {
			nRTT++
		}
		g.add(name, p)
	}
	return g, nRTT, nQueue
}

// tputDelayFigure is goodput against delay, one point per cell, coloured
// by the first parameter's value, the delay axis reversed as Pantheon
// draws it (better, that is lower, delay to the right).
func tputDelayFigure(in Input, st theme) *figure {
	g, nRTT, nQueue := tputDelayData(in)
	if len(g.names) == 0 {
		return nil
	}
	xlabel := "RTT p50 (ms; axis reversed, better →)"
	switch {
	case nRTT == 0:
		xlabel = "mean queue delay (ms; axis reversed, better →)"
	case nQueue > 0:
		xlabel = "RTT p50, or mean queue delay where marked * (ms; axis reversed, better →)"
	}
	pn := newPanel(st, xlabel, "goodput (Mbit/s)")
	pn.p.X.Scale = gplot.InvertedScale{Normalizer: gplot.LinearScale{}}
	// The labels go on last, placed around all the points.
	labels := &placedLabels{style: st.label}
	for i, name := range g.names {
		pts := errPoints(g.items[name])
		if nRTT > 0 && nQueue > 0 {
			for k := range pts {
				if pts[k].fallback {
					pts[k].label += " *"
				}
			}
		}
		col := st.colour(i)
		bars := draw.LineStyle{Color: col, Width: 0.9}
		if xs := pts.with(true); len(xs) > 0 {
			if b, err := plotter.NewXErrorBars(xs); err == nil {
				b.LineStyle, b.CapWidth = bars, 2*labelCap
				pn.add("", b)
			}
		}
		if ys := pts.with(false); len(ys) > 0 {
			if b, err := plotter.NewYErrorBars(ys); err == nil {
				b.LineStyle, b.CapWidth = bars, 2*labelCap
				pn.add("", b)
			}
		}
		sc, err := plotter.NewScatter(pts.xys())
		if err != nil {
			continue
		}
		sc.GlyphStyle = draw.GlyphStyle{Color: col, Radius: 3.5, Shape: st.glyph(i)}
		pn.add(name, sc)
		for _, p := range pts {
			labels.pts = append(labels.pts, labelled{x: p.x, y: p.y, xlo: p.xlo, xhi: p.xhi, ylo: p.ylo, yhi: p.yhi, text: p.label})
		}
	}
	pn.add("", labels)
	pad(&pn.p.X, 0.06)
	pn.p.Y.Min = 0
	pn.p.Y.Max = headroom(pn.p.Y.Max, 0.06)
	sub := "one point per cell: mean over its valid trials, bars a 95 % CI; delay grows to the left (Pantheon style)"
	if len(in.Params) > 2 {
		sub += "; points labelled " + strings.Join(in.Params[1:], ",")
	}
	return &figure{
		caption:  "Goodput vs delay",
		title:    "Goodput vs delay",
		subtitle: sub,
		panels:   []*panel{pn},
	}
}

// labelOf labels a cell's point with the given parameters: "queue=50" for
// one, their values only ("5ms,50") for more, the subtitle naming them.
func labelOf(c Cell, params []string) string {
	if len(params) == 1 {
		return pairs(c, params)
	}
	v := make([]string, len(params))
	for i, p := range params {
		v[i] = c.Values[p]
	}
	return strings.Join(v, ",")
}

// labelCap is half the width of an error bar's cap, the room labels leave it.
const labelCap = 2

// below is how far an error bar of half-width h may reach below a
// non-negative mean: not past zero.
func below(mean, h float64) float64 {
	if mean >= 0 {
		return min(h, mean)
	}
	return h
}

// headroom is an axis maximum a fraction above v (1 when v is not
// positive).
func headroom(v, frac float64) float64 {
	if !(v > 0) || math.IsInf(v, 0) {
		return 1
	}
	return v * (1 + frac)
}

// numericParam is the first parameter whose values, in every cell, parse
// as finite numbers.
func numericParam(in Input) (string, bool) {
	if len(in.Cells) == 0 {
		return "", false
	}
	for _, p := range in.Params {
		ok := true
		for _, c := range in.Cells {
			v, has := c.Values[p]
			f, err := strconv.ParseFloat(v, 64)
			if !has || err != nil || !known(f) {
				ok = false
				break
			}
		}
		if ok {
			return p, true
		}
	}
	return "", false
}

// jainFigure is Jain's fairness index against the first numeric
// parameter, a line per combination of the other parameters' values.
func jainFigure(in Input, st theme) *figure {
	param, ok := numericParam(in)
	if !ok {
		return nil
	}
	var others []string
	for _, p := range in.Params {
		if p != param {
			others = append(others, p)
		}
	}
	var g groups[errPoint]
	xmin, xmax := math.Inf(1), math.Inf(-1)
	for _, c := range in.Cells {
		j := metric(c, "jain")
		if !known(j.Mean) {
			continue
		}
		x, _ := strconv.ParseFloat(c.Values[param], 64)
		p := errPoint{x: x, y: j.Mean}
		if h, ok := ci(j); ok {
			p.ylo, p.yhi, p.ybars = below(j.Mean, h), max(0, min(h, 1-j.Mean)), true
		}
		xmin, xmax = min(xmin, x), max(xmax, x)
		name := "mean ± 95 % CI"
		if len(others) > 0 {
			name = pairs(c, others)
		}
		g.add(name, p)
	}
	if len(g.names) == 0 {
		return nil
	}
	logx := xmin > 0 && xmax/xmin >= 50
	xlabel := param
	if logx {
		xlabel += " (log scale)"
	}
	pn := newPanel(st, xlabel, "Jain's fairness index")
	for i, name := range g.names {
		pts := errPoints(g.items[name])
		slices.SortStableFunc(pts, func(a, b errPoint) int { return cmp.Compare(a.x, b.x) })
		col := st.colour(i)
		var shown []gplot.Plotter
		if len(pts) > 1 {
			if l, err := plotter.NewLine(pts.xys()); err == nil {
				l.LineStyle = draw.LineStyle{Color: col, Width: 1.4, Dashes: st.dash(i)}
				shown = append(shown, l)
			}
		}
		if ys := pts.with(false); len(ys) > 0 {
			if b, err := plotter.NewYErrorBars(ys); err == nil {
				b.LineStyle, b.CapWidth = draw.LineStyle{Color: col, Width: 0.9}, 4
				pn.add("", b)
			}
		}
		if sc, err := plotter.NewScatter(pts.xys()); err == nil {
			sc.GlyphStyle = draw.GlyphStyle{Color: col, Radius: 3, Shape: st.glyph(i)}
			shown = append(shown, sc)
		}
		pn.add(name, shown...)
	}
	if logx {
		pn.p.X.Scale = gplot.LogScale{}
		pn.p.X.Min, pn.p.X.Max = logRange(xmin, xmax)
		pn.xlog = true
	} else {
		pn.p.X.Min, pn.p.X.Max = xmin, xmax
		pad(&pn.p.X, 0.05)
	}
	pn.p.Y.Min, pn.p.Y.Max = 0, 1
	title := "Jain's fairness index vs " + param
	return &figure{
		caption:  title,
		title:    title,
		subtitle: "one point per cell: mean over its valid trials, bars a 95 % CI (1 = all flows got the same goodput)",
		panels:   []*panel{pn},
	}
}

// fctFigure is the CDF of the completed flows' completion times, a step
// line per cell, on a log time axis.
func fctFigure(in Input, st theme) *figure {
	return cdfFigure(in, st, func(f Flow) float64 { return f.FCT * 1e3 },
		"flow completion time (ms, log scale)", "Flow completion time CDF")
}

// slowdownFigure is the CDF of the completed flows' slowdowns (FCT ÷ the
// ideal FCT), a step line per cell, on a log axis.
func slowdownFigure(in Input, st theme) *figure {
	return cdfFigure(in, st, func(f Flow) float64 { return f.Slowdown },
		"slowdown (FCT ÷ (base RTT + size·8 ÷ rate), log scale)", "Flow slowdown CDF")
}

// cdfFigure is the CDF of value over the completed flows with a size, a
// step line per cell, on a log axis; nil when no flow has a positive
// value.
func cdfFigure(in Input, st theme, value func(Flow) float64, xlabel, title string) *figure {
	var g groups[float64]
	for _, c := range in.Cells { // cells in matrix order first
		if _, ok := g.items[c.Key]; !ok {
			g.names = append(g.names, c.Key)
			if g.items == nil {
				g.items = map[string][]float64{}
			}
			g.items[c.Key] = nil
		}
	}
	var unknown []string
	total := 0
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, f := range in.Flows {
		v := value(f)
		if f.Size <= 0 || !known(f.FCT) || f.FCT <= 0 || !known(v) || v <= 0 {
			continue
		}
		if _, ok := g.items[f.Cell]; !ok {
			unknown = append(unknown, f.Cell)
		}
		g.add(f.Cell, v)
		lo, hi = min(lo, v), max(hi, v)
		total++
	}
	if total == 0 {
		return nil
	}
	// Flows of cells the input does not list come after, sorted.
	slices.SortFunc(unknown, natCompare)
	names := slices.DeleteFunc(slices.Clone(g.names), func(n string) bool { return len(g.items[n]) == 0 || slices.Contains(unknown, n) })
	names = append(names, slices.Compact(unknown)...)

	pn := newPanel(st, xlabel, "fraction of flows")
	for i, name := range names {
		v := slices.Clone(g.items[name])
		slices.Sort(v)
		n := float64(len(v))
		xys := make(plotter.XYs, 0, len(v)+1)
		xys = append(xys, plotter.XY{X: v[0], Y: 0})
		for k, x := range v {
			xys = append(xys, plotter.XY{X: x, Y: float64(k+1) / n})
		}
		l := &plotter.Line{XYs: xys, StepStyle: plotter.PostStep}
		l.LineStyle = draw.LineStyle{Color: st.colour(i), Width: 1.5, Dashes: st.dash(i)}
		pn.add(fmt.Sprintf("%s (%d)", name, len(v)), l)
	}
	pn.p.X.Scale = gplot.LogScale{}
	pn.p.X.Min, pn.p.X.Max = logRange(lo, hi)
	pn.xlog = true
	pn.p.Y.Min, pn.p.Y.Max = 0, 1
	return &figure{
		caption:  title,
		title:    title,
		subtitle: fmt.Sprintf("%d completed flows with a size, by cell (flows in brackets)", total),
		panels:   []*panel{pn},
	}
}

// series is one named timeseries, sorted by time, without unknown values.
type series struct {
	name string
	pts  []Point
}

// collect gathers a trial's series of one metric, in natural name order
// (flow2 before flow10).
func collect(points []Point, metric string) []series {
	by := map[string][]Point{}
	for _, p := range points {
		if p.Metric == metric && known(p.T) && known(p.Value) {
			by[p.Series] = append(by[p.Series], p)
		}
	}
	names := make([]string, 0, len(by))
	for n := range by {
		names = append(names, n)
	}
	slices.SortFunc(names, natCompare)
	out := make([]series, len(names))
	for i, n := range names {
		pts := by[n]
		slices.SortStableFunc(pts, func(a, b Point) int { return cmp.Compare(a.T, b.T) })
		out[i] = series{name: n, pts: pts}
	}
	return out
}

// natCompare orders names naturally, runs of digits by their value:
// flow2 before flow10, s2:eth1 before s10:eth1.
func natCompare(a, b string) int {
	x, y := a, b
	for x != "" && y != "" {
		cx, cy := chunk(x), chunk(y)
		x, y = x[len(cx):], y[len(cy):]
		var c int
		if isDigit(cx[0]) && isDigit(cy[0]) {
			tx, ty := strings.TrimLeft(cx, "0"), strings.TrimLeft(cy, "0")
			c = cmp.Or(cmp.Compare(len(tx), len(ty)), strings.Compare(tx, ty))
		} else {
			c = strings.Compare(cx, cy)
		}
		if c != 0 {
			return c
		}
	}
	return cmp.Or(cmp.Compare(len(x), len(y)), strings.Compare(a, b))
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// chunk is the run of digits, or of other bytes, s starts with.
func chunk(s string) string {
	d := isDigit(s[0])
	i := 1
	for i < len(s) && isDigit(s[i]) == d {
		i++
	}
	return s[:i]
}

// xys is a series' points, values divided by div.
func xys(pts []Point, div float64) plotter.XYs {
	out := make(plotter.XYs, len(pts))
	for i, p := range pts {
		out[i].X, out[i].Y = p.T, p.Value/div
	}
	return out
}

// sumSeries adds the series up at every time any of them has a sample,
// each holding its last value from its first sample to its last (0
// outside), the values divided by div.
func sumSeries(ss []series, div float64) plotter.XYs {
	var ts []float64
	for _, s := range ss {
		for _, p := range s.pts {
			ts = append(ts, p.T)
		}
	}
	slices.Sort(ts)
	ts = slices.Compact(ts)
	idx := make([]int, len(ss))
	out := make(plotter.XYs, len(ts))
	for k, t := range ts {
		sum := 0.0
		for i, s := range ss {
			pts := s.pts
			if len(pts) == 0 || t < pts[0].T || t > pts[len(pts)-1].T {
				continue
			}
			for idx[i]+1 < len(pts) && pts[idx[i]+1].T <= t {
				idx[i]++
			}
			sum += pts[idx[i]].Value
		}
		out[k] = plotter.XY{X: t, Y: sum / div}
	}
	return out
}

// thin averages runs of consecutive points so that at most n remain.
func thin(in plotter.XYs, n int) plotter.XYs {
	n = max(n, 2)
	if len(in) <= n {
		return in
	}
	k := (len(in) + n - 1) / n
	out := make(plotter.XYs, 0, n)
	for i := 0; i < len(in); i += k {
		j := min(i+k, len(in))
		var x, y float64
		for _, p := range in[i:j] {
			x += p.X
			y += p.Y
		}
		out = append(out, plotter.XY{X: x / float64(j-i), Y: y / float64(j-i)})
	}
	return out
}

// trialFigure is a trial's goodput over time, per flow and summed, with
// its warm-up and events, and below it the bottleneck's queue when the
// trial has one.
func trialFigure(t Trial, st theme) *figure {
	flows := collect(t.Points, "goodput_bps")
	queues := collect(t.Points, "queue_len")
	if len(flows) == 0 && len(queues) == 0 {
		return nil
	}
	end := 0.0
	for _, s := range append(slices.Clone(flows), queues...) {
		end = max(end, s.pts[len(s.pts)-1].T)
	}
	var marks []mark
	evs := slices.Clone(t.Events)
	slices.SortStableFunc(evs, func(a, b Event) int { return cmp.Compare(a.T, b.T) })
	for _, e := range evs {
		if !known(e.T) {
			continue
		}
		end = max(end, e.T)
		if n := len(marks); n > 0 && marks[n-1].x == e.T {
			marks[n-1].label += "; " + e.Label
			continue
		}
		marks = append(marks, mark{x: e.T, label: e.Label})
	}
	warmup := 0.0
	if known(t.Warmup) && t.Warmup > 0 {
		warmup = t.Warmup
		end = max(end, warmup)
	}
	if !(end > 0) {
		end = 1
	}

	var panels []*panel
	if len(flows) > 0 {
		pn := newPanel(st, "time (s)", "goodput (Mbit/s)")
		pn.weight = 0.64
		drawn := flows[:min(len(flows), maxFlowLines)]
		per := maxThinPoints / len(drawn)
		var lines []gplot.Plotter
		for i, s := range drawn {
			l, err := plotter.NewLine(thin(xys(s.pts, 1e6), per))
			if err != nil {
				continue
			}
			l.LineStyle = draw.LineStyle{Color: st.colour(i % flowColours), Width: 0.7}
			lines = append(lines, l)
		}
		sum, err := plotter.NewLine(thin(sumSeries(flows, 1e6), maxSumPoints))
		if err == nil {
			sum.LineStyle = draw.LineStyle{Color: st.sum, Width: 2.2}
		}
		pn.background(st, warmup)
		switch {
		case len(flows) <= flowColours:
			for i, l := range lines {
				pn.add(drawn[i].name, l)
			}
		case len(flows) > len(drawn):
			pn.add(fmt.Sprintf("each flow (first %d of %d drawn)", len(drawn), len(flows)), lines...)
		default:
			pn.add(fmt.Sprintf("each flow (%d)", len(flows)), lines...)
		}
		if sum != nil {
			pn.add(fmt.Sprintf("sum of %d flows", len(flows)), sum)
		}
		pn.addEvents(st, marks)
		pn.p.Y.Min = 0
		pn.p.Y.Max = headroom(pn.p.Y.Max, 0.05)
		panels = append(panels, pn)
	}
	if len(queues) > 0 {
		pn := newPanel(st, "time (s)", "queue (frames)")
		pn.weight = 0.36
		pn.background(st, warmup)
		drawn := queues[:min(len(queues), maxQueueLines)]
		per := maxQueuePoints / len(drawn)
		for i, s := range drawn {
			l, err := plotter.NewLine(thin(xys(s.pts, 1), per))
			if err != nil {
				continue
			}
			l.LineStyle = draw.LineStyle{Color: st.colour(i), Width: 1.2, Dashes: st.dash(i)}
			pn.add(s.name, l)
		}
		if len(queues) > len(drawn) {
			pn.note(fmt.Sprintf("… %d more queues not drawn", len(queues)-len(drawn)))
		}
		pn.addEvents(st, marks)
		pn.p.Y.Min = 0
		pn.p.Y.Max = headroom(pn.p.Y.Max, 0.08)
		panels = append(panels, pn)
	}
	// The first panel names the warm-up and labels the events.
	first := panels[0]
	for _, pn := range panels {
		pn.p.X.Min, pn.p.X.Max = 0, end*1.01
	}
	if warmup > 0 {
		first.entries = append([]legendEntry{{name: fmt.Sprintf("warm-up (%s s)", strconv.FormatFloat(warmup, 'f', -1, 64)),
			thumbs: []gplot.Thumbnailer{&shade{fill: st.warmup}}}}, first.entries...)
	}
	if len(marks) > 0 {
		first.events.labels = true
		first.entries = append(first.entries, legendEntry{name: "scheduled event", thumbs: []gplot.Thumbnailer{first.events}})
	}
	what := "Goodput over time"
	if len(flows) == 0 {
		what = "Bottleneck queue over time"
	}
	f := &figure{
		caption:  fmt.Sprintf("%s, trial %d (%s, repetition %d)", what, t.N, t.Cell, t.Rep),
		title:    fmt.Sprintf("%s · trial %d", what, t.N),
		subtitle: fmt.Sprintf("cell %s, repetition %d", t.Cell, t.Rep),
		panels:   panels,
	}
	if len(panels) > 1 {
		f.height = trialHeight
		panels[0].p.X.Label.Text = "" // the lower panel's says it
	}
	return f
}

// background shades a trial panel's warm-up, up to a dashed line.
func (pn *panel) background(st theme, warmup float64) {
	if warmup <= 0 {
		return
	}
	pn.add("", &shade{from: 0, to: warmup, fill: st.warmup},
		&vlines{marks: []mark{{x: warmup}}, line: draw.LineStyle{Color: color.Gray{Y: 150}, Width: 0.8, Dashes: []vg.Length{4, 3}}})
}

// addEvents draws the events as vertical lines over the data, unlabelled
// until the figure labels those of its first panel.
func (pn *panel) addEvents(st theme, marks []mark) {
	if len(marks) == 0 {
		return
	}
	ls := st.evlabel
	ls.Rotation = math.Pi / 2
	ls.XAlign, ls.YAlign = draw.XRight, draw.YBottom
	pn.events = &vlines{marks: marks, line: draw.LineStyle{Color: st.event, Width: 1.1, Dashes: []vg.Length{5, 2}}, lstyle: ls}
	pn.add("", pn.events)
}
