package figures

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"strconv"
	"strings"

	xfont "golang.org/x/image/font"
	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// The drawing conventions follow the project's plot package (plot/render.go):
// Liberation Sans from gonum's embedded font cache, the title block centred
// over the image, legends beside the data area so they hide no data, and
// SVG text falling back to Arial or Helvetica.

const (
	formatSVG = "svg"
	formatPNG = "png"
)

// Image sizes in pixels (at 96 dpi, SVG's points scaled alike).
const (
	width       = 1024
	height      = 640
	trialHeight = 860 // a trial's figure with its queue panel
)

// theme holds the fonts and colours of every figure (built per Render:
// the package keeps no mutable state).
type theme struct {
	title, subtitle, legend, axis, tick, label, evlabel text.Style

	palette []color.Color
	glyphs  []draw.GlyphDrawer
	dashes  [][]vg.Length
	sum     color.Color
	warmup  color.Color
	event   color.Color
	grid    color.Color
}

func newTheme() theme {
	hdlr := text.Plain{Fonts: font.DefaultCache}
	sty := func(size vg.Length, c color.Color, bold bool) text.Style {
		w := xfont.WeightNormal
		if bold {
			w = xfont.WeightBold
		}
		fnt := font.From(font.Font{Typeface: "Liberation", Variant: "Sans", Weight: w}, size)
		return text.Style{Color: c, Font: fnt, Handler: hdlr}
	}
	gray := color.Gray{Y: 90}
	eventC := color.RGBA{R: 200, G: 0, B: 110, A: 255}
	return theme{
		title:    sty(13, color.Black, true),
		subtitle: sty(10.5, gray, false),
		legend:   sty(9.5, color.Black, false),
		axis:     sty(11, color.Black, false),
		tick:     sty(9, color.Black, false),
		label:    sty(7.5, color.Gray{Y: 60}, false),
		evlabel:  sty(8.5, eventC, false),
		// matplotlib's tab10: distinct, and readable on white.
		palette: []color.Color{
			color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 255},
			color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 255},
			color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 255},
			color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 255},
			color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 255},
			color.RGBA{R: 0x8c, G: 0x56, B: 0x4b, A: 255},
			color.RGBA{R: 0xe3, G: 0x77, B: 0xc2, A: 255},
			color.RGBA{R: 0x7f, G: 0x7f, B: 0x7f, A: 255},
			color.RGBA{R: 0xbc, G: 0xbd, B: 0x22, A: 255},
			color.RGBA{R: 0x17, G: 0xbe, B: 0xcf, A: 255},
		},
		glyphs: []draw.GlyphDrawer{draw.CircleGlyph{}, draw.SquareGlyph{}, draw.TriangleGlyph{},
			draw.PyramidGlyph{}, draw.RingGlyph{}, draw.BoxGlyph{}, draw.CrossGlyph{}, draw.PlusGlyph{}},
		dashes: [][]vg.Length{nil, {6, 3}, {2, 2}, {8, 3, 2, 3}},
		sum:    color.Black,
		warmup: color.RGBA{R: 232, G: 232, B: 232, A: 255},
		event:  eventC,
		grid:   color.Gray{Y: 220},
	}
}

// colour, glyph and dashes of the i-th series: the palette cycles, and
// each time round the glyph or the dash pattern changes.
func (st theme) colour(i int) color.Color { return st.palette[i%len(st.palette)] }

func (st theme) glyph(i int) draw.GlyphDrawer {
	return st.glyphs[(i/len(st.palette))%len(st.glyphs)]
}

func (st theme) dash(i int) []vg.Length { return st.dashes[(i/len(st.palette))%len(st.dashes)] }

// figure is a title block over one or more panels stacked vertically,
// their data areas aligned, each with its legend beside it.
type figure struct {
	caption         string // Figure.Title
	title, subtitle string
	panels          []*panel
	height          int // pixels
}

// panel is one gonum plot and its legend.
type panel struct {
	p       *gplot.Plot
	entries []legendEntry
	weight  float64 // share of the figure's height
	xlog    bool    // log ticks on x
	events  *vlines // a trial's events, if any
}

type legendEntry struct {
	name   string
	thumbs []gplot.Thumbnailer
}

func newPanel(st theme, xlabel, ylabel string) *panel {
	p := gplot.New()
	p.X.Label.Text, p.Y.Label.Text = xlabel, ylabel
	for _, a := range []*gplot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font = st.axis.Font
		a.Tick.Label.Font = st.tick.Font
		a.Padding = 0
	}
	g := plotter.NewGrid()
	g.Vertical.Color, g.Horizontal.Color = st.grid, st.grid
	p.Add(g)
	return &panel{p: p, weight: 1}
}

// add adds plotters, drawn in the order added, and, when name is not
// empty, a legend entry showing them.
func (pn *panel) add(name string, ps ...gplot.Plotter) {
	pn.p.Add(ps...)
	if name == "" {
		return
	}
	e := legendEntry{name: name}
	for _, p := range ps {
		if t, ok := p.(gplot.Thumbnailer); ok {
			e.thumbs = append(e.thumbs, t)
		}
	}
	pn.entries = append(pn.entries, e)
}

// note adds a legend line without a symbol.
func (pn *panel) note(s string) { pn.entries = append(pn.entries, legendEntry{name: s}) }

// encode draws the figure as SVG or PNG.
func (f *figure) encode(st theme, format string) (out []byte, err error) {
	defer func() {
		if r := recover(); r != nil { // gonum panics on some degenerate data
			out, err = nil, fmt.Errorf("drawing: %v", r)
		}
	}()
	h := f.height
	if h == 0 {
		h = height
	}
	wl, hl := vg.Length(width)*vg.Inch/96, vg.Length(h)*vg.Inch/96
	var cv vg.CanvasWriterTo
	if format == formatPNG {
		cv = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(wl, hl), vgimg.UseDPI(96))}
	} else {
		cv = vgsvg.New(wl, hl)
	}
	f.draw(draw.New(cv), st)
	var buf bytes.Buffer
	if _, err := cv.WriteTo(&buf); err != nil {
		return nil, err
	}
	if format == formatPNG {
		return buf.Bytes(), nil
	}
	// The SVG names the font the layout was measured with; let viewers
	// without it fall back to the metric-compatible Arial or Helvetica.
	return bytes.ReplaceAll(buf.Bytes(), []byte("font-family:Liberation Sans;"),
		[]byte("font-family:'Liberation Sans',Arial,Helvetica,sans-serif;")), nil
}

func (f *figure) draw(c draw.Canvas, st theme) {
	c.FillPolygon(color.White, []vg.Point{c.Min, {X: c.Max.X, Y: c.Min.Y}, c.Max, {X: c.Min.X, Y: c.Max.Y}})
	const pad = vg.Length(10)
	c = draw.Crop(c, pad, -pad, pad/2, -pad)

	// Title block, centred over the whole image.
	y := c.Max.Y
	for _, l := range []struct {
		s   string
		sty text.Style
	}{{f.title, st.title}, {f.subtitle, st.subtitle}} {
		if l.s == "" {
			continue
		}
		l.sty.XAlign, l.sty.YAlign = draw.XCenter, draw.YTop
		if w, avail := l.sty.Width(l.s), c.Max.X-c.Min.X; w > avail {
			l.sty.Font.Size = max(l.sty.Font.Size*avail/w, 6)
		}
		c.FillText(l.sty, vg.Point{X: (c.Min.X + c.Max.X) / 2, Y: y}, l.s)
		y -= l.sty.Height(l.s) + 3
	}
	body := c
	body.Max.Y = y - 6

	// One legend column on the right, as wide as the widest legend, at
	// most 35 % of the width (smaller type when it would be wider).
	lsty := st.legend
	lw := vg.Length(0)
	for _, pn := range f.panels {
		if len(pn.entries) > 0 {
			l := newLegend(lsty, pn.entries)
			lw = max(lw, l.Rectangle(body).Size().X)
		}
	}
	if limit := (body.Max.X - body.Min.X) * 0.35; lw > limit {
		lsty.Font.Size = max(lsty.Font.Size*limit/lw, 6)
		lw = 0
		for _, pn := range f.panels {
			if len(pn.entries) > 0 {
				l := newLegend(lsty, pn.entries)
				lw = max(lw, l.Rectangle(body).Size().X)
			}
		}
		lw = min(lw, limit)
	}
	plots := body
	if lw > 0 {
		plots.Max.X -= lw + 2*pad
	}

	// Stack the panels, the first on top.
	total := 0.0
	for _, pn := range f.panels {
		total += pn.weight
	}
	free := plots.Max.Y - plots.Min.Y - pad*vg.Length(len(f.panels)-1)
	cs := make([]draw.Canvas, len(f.panels))
	top := plots.Max.Y
	for i, pn := range f.panels {
		ci := plots
		ci.Max.Y = top
		ci.Min.Y = top - free*vg.Length(pn.weight/total)
		top = ci.Min.Y - pad
		cs[i] = ci
		hsz, vsz := ci.Max.X-ci.Min.X, ci.Max.Y-ci.Min.Y
		if pn.xlog {
			pn.p.X.Tick.Marker = logTicks{}
		} else {
			pn.p.X.Tick.Marker = ticks{n: max(3, int(hsz/55))}
		}
		pn.p.Y.Tick.Marker = ticks{n: max(3, int(vsz/45))}
	}
	// Line the data areas up: the widest y axis sets the left margin of all.
	var left, right vg.Length
	for i, pn := range f.panels {
		d := pn.p.DataCanvas(cs[i])
		left = max(left, d.Min.X-cs[i].Min.X)
		right = max(right, cs[i].Max.X-d.Max.X)
	}
	for i, pn := range f.panels {
		d := pn.p.DataCanvas(cs[i])
		cs[i].Min.X += left - (d.Min.X - cs[i].Min.X)
		cs[i].Max.X -= right - (cs[i].Max.X - d.Max.X)
		pn.p.Draw(cs[i])
		if len(pn.entries) == 0 {
			continue
		}
		d = pn.p.DataCanvas(cs[i])
		lc := cs[i]
		lc.Min.X, lc.Max.X = body.Max.X-lw, body.Max.X
		lc.Min.Y, lc.Max.Y = cs[i].Min.Y, d.Max.Y
		l := fitLegend(lsty, pn.entries, lc)
		l.Draw(lc)
	}
}

func newLegend(sty text.Style, entries []legendEntry) gplot.Legend {
	l := gplot.NewLegend()
	l.TextStyle = sty
	l.Top, l.Left = true, true
	l.ThumbnailWidth = 0.35 * vg.Inch
	l.Padding = 3
	for _, e := range entries {
		l.Add(e.name, e.thumbs...)
	}
	return l
}

// fitLegend is the legend of the entries, the last ones replaced by a
// line saying how many when they would not fit in c's height.
func fitLegend(sty text.Style, entries []legendEntry, c draw.Canvas) gplot.Legend {
	l := newLegend(sty, entries)
	h := l.Rectangle(c).Size().Y
	avail := c.Max.Y - c.Min.Y
	if h <= avail || len(entries) < 2 {
		return l
	}
	per := h / vg.Length(len(entries))
	k := max(1, int(avail/per)-1)
	if k >= len(entries) {
		return l
	}
	kept := append(entries[:k:k], legendEntry{name: fmt.Sprintf("… %d more not listed", len(entries)-k)})
	return newLegend(sty, kept)
}

// ticks is a gonum Ticker with about n labelled ticks, a step of 1, 2 or 5
// times a power of ten, and unlabelled ones between them (as the plot
// package's).
type ticks struct{ n int }

// Ticks implements gplot.Ticker.
func (tk ticks) Ticks(lo, hi float64) []gplot.Tick {
	if !(hi > lo) || math.IsInf(hi-lo, 0) {
		return nil
	}
	raw := (hi - lo) / float64(max(tk.n, 2))
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, k := range []float64{2, 5, 10} {
		if math.Abs(math.Log(k*mag/raw)) < math.Abs(math.Log(step/raw)) {
			step = k * mag
		}
	}
	minor := step / 5
	if step/mag == 2 {
		minor = step / 4
	}
	prec := max(0, int(-math.Floor(math.Log10(step)+1e-9)))
	var out []gplot.Tick
	for i := math.Ceil(lo / minor); ; i++ {
		v := i * minor
		if v > hi+minor*1e-6 {
			break
		}
		t := gplot.Tick{Value: v}
		if k := v / step; math.Abs(k-math.Round(k)) < 1e-6 {
			t.Label = strconv.FormatFloat(math.Round(k)*step, 'f', prec, 64)
		}
		out = append(out, t)
	}
	return out
}

// logTicks is a Ticker for a log axis: a tick at every m×10^k, labelled at
// 1, 2 and 5 ×10^k when the axis spans at most two decades, else at the
// powers of ten only.
type logTicks struct{}

// Ticks implements gplot.Ticker.
func (logTicks) Ticks(lo, hi float64) []gplot.Tick {
	if !(lo > 0) || !(hi > lo) || math.IsInf(hi, 0) {
		return nil
	}
	k0 := int(math.Floor(math.Log10(lo)))
	k1 := int(math.Ceil(math.Log10(hi)))
	labelled := map[int]bool{1: true}
	if k1-k0 <= 2 {
		labelled[2], labelled[5] = true, true
	}
	var out []gplot.Tick
	for k := k0; k <= k1; k++ {
		for m := 1; m <= 9; m++ {
			v := float64(m) * math.Pow10(k)
			if v < lo*(1-1e-9) || v > hi*(1+1e-9) {
				continue
			}
			t := gplot.Tick{Value: v}
			if labelled[m] {
				t.Label = logLabel(m, k)
			}
			out = append(out, t)
		}
	}
	return out
}

// logLabel writes m×10^k without rounding noise: "200", "0.05".
func logLabel(m, k int) string {
	switch {
	case k > 9 || k < -9:
		return fmt.Sprintf("%de%d", m, k)
	case k >= 0:
		return strconv.Itoa(m) + strings.Repeat("0", k)
	}
	return strconv.FormatFloat(float64(m)*math.Pow10(k), 'f', -k, 64)
}

// logRange widens [lo, hi] (lo > 0) to the nearest 1, 2 or 5 ×10^k
// around it, so that a log axis has labelled ends.
func logRange(lo, hi float64) (float64, float64) {
	down := func(v float64) float64 {
		p := math.Pow10(int(math.Floor(math.Log10(v))))
		for _, m := range []float64{5, 2, 1} {
			if m*p <= v*(1+1e-9) {
				return m * p
			}
		}
		return p
	}
	up := func(v float64) float64 {
		p := math.Pow10(int(math.Floor(math.Log10(v))))
		for _, m := range []float64{1, 2, 5, 10} {
			if m*p >= v*(1-1e-9) {
				return m * p
			}
		}
		return 10 * p
	}
	a, b := down(lo), up(hi)
	if b <= a {
		b = up(a * 1.5)
	}
	return a, b
}

// pad widens a linear axis by frac of its span on each side, never below
// zero when it started at or above zero.
func pad(a *gplot.Axis, frac float64) {
	lo, hi := a.Min, a.Max
	span := hi - lo
	if !(span > 0) {
		span = math.Max(math.Abs(hi)*0.2, 1)
	}
	a.Min, a.Max = lo-span*frac, hi+span*frac
	if lo >= 0 && a.Min < 0 {
		a.Min = 0
	}
}
