package plot

import (
	"bytes"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	xfont "golang.org/x/image/font"
	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/netlab/netlab/trace"
)

// Kind names one of the plots Render draws.
type Kind string

// Plot kinds, as `netlab plot --kind` spells them.
const (
	KindSeq  Kind = "seq"  // time–sequence graph (TimeSequence)
	KindCwnd Kind = "cwnd" // cwnd, ssthresh, bytes in flight, peer window (Congestion)
	KindRTT  Kind = "rtt"  // SRTT, RTO, RTT samples, RTO expiries (RTT)
	KindTput Kind = "tput" // goodput over time (Goodput)
)

// Kinds lists the plot kinds.
func Kinds() []Kind { return []Kind{KindSeq, KindCwnd, KindRTT, KindTput} }

// ParseKind checks a plot kind given by name.
func ParseKind(s string) (Kind, error) {
	for _, k := range Kinds() {
		if string(k) == s {
			return k, nil
		}
	}
	return "", fmt.Errorf("plot kind %q: want seq, cwnd, rtt or tput", s)
}

// Output formats.
const (
	FormatSVG = "svg"
	FormatPNG = "png"
)

// Default image size, in pixels (at 96 dpi for SVG's points).
const (
	DefaultWidth  = 1024
	DefaultHeight = 640
)

// maxPixels bounds a side of the image, so that a typo does not allocate
// gigabytes for a PNG.
const maxPixels = 8192

// Options tunes Render.
type Options struct {
	// Format is FormatSVG or FormatPNG. Render needs it; RenderFile takes
	// it from the file's extension when it is empty.
	Format string
	// Subtitle is printed under the title, e.g. the link's impairment
	// ("delay 50ms, loss 1%").
	Subtitle string
	// Dir is the direction of a seq or tput plot (DirAuto: the one that
	// carried more data).
	Dir Direction
	// Interval is the bin length of a tput plot (0: about 50 bins).
	Interval time.Duration
	// Width and Height are the image size in pixels (0: DefaultWidth,
	// DefaultHeight).
	Width, Height int
	// Highlight is an event of the connection to point at (a graded
	// check's offending segment): a line at its time, and on a seq plot a
	// ring at its sequence number (its ACK number if it flows the other
	// way), named HighlightLabel in the legend.
	Highlight      *trace.Event
	HighlightLabel string
}

// RenderFile renders the plot to the file at path, in opts.Format or else
// the format the extension names (.svg or .png). The file is written only
// once the plot is drawn.
func RenderFile(path string, kind Kind, events []trace.Event, c trace.Conn, opts Options) error {
	if opts.Format == "" {
		opts.Format = strings.TrimPrefix(strings.ToLower(filepath.Ext(path)), ".")
	}
	var buf bytes.Buffer
	if err := Render(&buf, kind, events, c, opts); err != nil {
		return fmt.Errorf("plot %s: %w", path, err)
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

func checkFormat(f string) error {
	if f != FormatSVG && f != FormatPNG {
		return fmt.Errorf("format %q: want svg or png", f)
	}
	return nil
}

// Render draws the plot of the given kind for connection c of a trace and
// writes it to w as SVG or PNG (opts.Format). It returns trace.ErrNoEvents when
// the trace has no event of c.
func Render(w io.Writer, kind Kind, events []trace.Event, c trace.Conn, opts Options) error {
	if err := checkFormat(opts.Format); err != nil {
		return err
	}
	if _, err := ParseKind(string(kind)); err != nil {
		return err
	}
	cn := newConn(events, c)
	if len(cn.evs) == 0 {
		return fmt.Errorf("%s: %w", c, trace.ErrNoEvents)
	}
	st := newTheme()
	var f *figure
	var seq SeqSeries
	switch kind {
	case KindSeq:
		seq = TimeSequence(events, c, opts.Dir)
		f = seqFigure(seq, st)
	case KindCwnd:
		f = cwndFigure(Congestion(events, c), st)
	case KindRTT:
		f = rttFigure(RTT(events, c), st)
	case KindTput:
		f = tputFigure(Goodput(events, c, opts.Dir, opts.Interval), st)
	}
	// The arrow runs the way the data plotted flows.
	if f.received {
		f.title += " · " + trace.Conn{Local: c.Remote, Remote: c.Local}.Title() + " (traced at the receiver)"
	} else {
		f.title += " · " + c.Title()
	}
	f.subtitle = opts.Subtitle
	if e := opts.Highlight; e != nil {
		m := Mark{T: cn.sec(e.TimeUS), V: f.p.Y.Min}
		if kind == KindSeq {
			if v, ok := seqOf(seq, *e); ok {
				m.V = float64(v) / f.ydiv
			}
		}
		label := opts.HighlightLabel
		if label == "" {
			label = "this event"
		}
		f.add(label, 0, &vlines{marks: []Mark{m},
			line:  draw.LineStyle{Color: st.highlight, Width: 1.2, Dashes: []vg.Length{4, 3}},
			glyph: draw.GlyphStyle{Color: st.highlight, Radius: 6, Shape: draw.RingGlyph{}}})
	}
	lost := c.Lost
	if c.Events == 0 { // a bare 4-tuple: what the whole trace lost
		lost = trace.LostEvents(events)
	}
	if lost > 0 {
		f.note = fmt.Sprintf("The trace lost %d events while the connection was open (a reader fell behind, or the agent's recording budget was spent): segments may be missing.", lost)
	}
	wpx, hpx := opts.Width, opts.Height
	if wpx <= 0 {
		wpx = DefaultWidth
	}
	if hpx <= 0 {
		hpx = DefaultHeight
	}
	if wpx > maxPixels || hpx > maxPixels {
		return fmt.Errorf("image size %dx%d: at most %d pixels a side", wpx, hpx, maxPixels)
	}
	wl, hl := vg.Length(wpx)*vg.Inch/96, vg.Length(hpx)*vg.Inch/96
	var cv vg.CanvasWriterTo
	switch opts.Format {
	case FormatPNG:
		cv = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(wl, hl), vgimg.UseDPI(96))}
	default:
		cv = vgsvg.New(wl, hl)
	}
	f.draw(draw.New(cv), st)
	if opts.Format == FormatPNG {
		_, err := cv.WriteTo(w)
		return err
	}
	// The SVG names the font the layout was measured with; let viewers
	// without it fall back to the metric-compatible Arial or Helvetica.
	var buf bytes.Buffer
	if _, err := cv.WriteTo(&buf); err != nil {
		return err
	}
	out := bytes.ReplaceAll(buf.Bytes(), []byte("font-family:Liberation Sans;"),
		[]byte("font-family:'Liberation Sans',Arial,Helvetica,sans-serif;"))
	_, err := w.Write(out)
	return err
}

// theme holds the fonts and colours of every plot (a value, built per
// render: the package keeps no mutable state).
type theme struct {
	title, subtitle, note, legend, small, axis, tick text.Style

	data, retrans, ack, window, sack, zeroWin  color.Color
	cwnd, ssthresh, inflight, sndwnd           color.Color
	slowStart, congAvoid, recovery, loss       color.Color
	srtt, rto, sample, firing, goodput, gpFill color.Color
	highlight                                  color.Color
}

func newTheme() theme {
	hdlr := text.Plain{Fonts: font.DefaultCache}
	sty := func(size vg.Length, c color.Color, variant font.Variant, bold bool) text.Style {
		w := xfont.WeightNormal
		if bold {
			w = xfont.WeightBold
		}
		fnt := font.From(font.Font{Typeface: "Liberation", Variant: variant, Weight: w}, size)
		return text.Style{Color: c, Font: fnt, Handler: hdlr}
	}
	gray := color.Gray{Y: 90}
	return theme{
		title:    sty(13, color.Black, "Sans", true),
		subtitle: sty(10.5, gray, "Sans", false),
		note:     sty(9.5, color.RGBA{R: 170, A: 255}, "Sans", false),
		legend:   sty(9.5, color.Black, "Sans", false),
		axis:     sty(11, color.Black, "Sans", false),
		tick:     sty(9, color.Black, "Sans", false),
		small:    sty(8, color.RGBA{R: 170, A: 255}, "Sans", false),

		data:    color.RGBA{R: 20, G: 50, B: 150, A: 255},
		retrans: color.RGBA{R: 215, G: 25, B: 28, A: 255},
		ack:     color.RGBA{R: 0, G: 140, B: 60, A: 255},
		window:  color.RGBA{R: 200, G: 140, B: 0, A: 255},
		sack:    color.RGBA{R: 140, G: 50, B: 170, A: 255},
		zeroWin: color.RGBA{R: 250, G: 210, B: 210, A: 255},

		cwnd:     color.RGBA{R: 20, G: 60, B: 190, A: 255},
		ssthresh: color.RGBA{R: 230, G: 110, B: 0, A: 255},
		inflight: color.RGBA{R: 0, G: 140, B: 60, A: 255},
		sndwnd:   color.RGBA{R: 110, G: 110, B: 110, A: 255},

		slowStart: color.RGBA{R: 214, G: 240, B: 214, A: 255},
		congAvoid: color.RGBA{R: 222, G: 232, B: 248, A: 255},
		recovery:  color.RGBA{R: 255, G: 226, B: 180, A: 255},
		loss:      color.RGBA{R: 250, G: 200, B: 200, A: 255},

		srtt:    color.RGBA{R: 20, G: 60, B: 190, A: 255},
		rto:     color.RGBA{R: 215, G: 25, B: 28, A: 255},
		sample:  color.RGBA{R: 120, G: 120, B: 120, A: 255},
		firing:  color.RGBA{R: 215, G: 25, B: 28, A: 255},
		goodput: color.RGBA{R: 20, G: 60, B: 190, A: 255},
		gpFill:  color.RGBA{R: 200, G: 215, B: 245, A: 255},

		highlight: color.RGBA{R: 230, G: 0, B: 120, A: 255},
	}
}

// figure is a gonum plot with the title block and the legend drawn beside
// it, outside the data area, so that neither hides data.
type figure struct {
	p                     *gplot.Plot
	entries               []legendEntry
	title, subtitle, note string
	received              bool    // the data plotted flows from the remote end to the traced one
	ydiv                  float64 // what y values were divided by (a seq plot's byte unit)
}

func newFigure(st theme, title, xlabel, ylabel string) *figure {
	p := gplot.New()
	p.X.Label.Text, p.Y.Label.Text = xlabel, ylabel
	for _, a := range []*gplot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font = st.axis.Font
		a.Tick.Label.Font = st.tick.Font
		a.Padding = 0
	}
	p.Add(plotter.NewGrid())
	return &figure{p: p, title: title}
}

// add adds plotters to the plot, drawn in the order added, and, when name
// is not empty, a legend entry showing them; legend entries are listed by
// rank, then in the order added.
func (f *figure) add(name string, rank int, ps ...gplot.Plotter) {
	f.p.Add(ps...)
	if name == "" {
		return
	}
	e := legendEntry{name: name, rank: rank}
	for _, p := range ps {
		if t, ok := p.(gplot.Thumbnailer); ok {
			e.thumbs = append(e.thumbs, t)
		}
	}
	f.entries = append(f.entries, e)
}

type legendEntry struct {
	name   string
	rank   int
	thumbs []gplot.Thumbnailer
}

// ranges sets the axes: time from 0 to end, y from ymin to the data's
// maximum with some headroom, at least minSpan.
func (f *figure) ranges(end, ymin, minSpan float64) {
	f.p.X.Min = 0
	f.p.X.Max = end * 1.02
	if !(f.p.X.Max > 0) {
		f.p.X.Max = 1
	}
	ymax := f.p.Y.Max
	if math.IsInf(ymax, 0) || ymax <= ymin {
		ymax = ymin + 1
	}
	f.p.Y.Min = ymin
	f.p.Y.Max = max(ymax+(ymax-ymin)*0.04, ymin+minSpan)
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
	}{{f.title, st.title}, {f.subtitle, st.subtitle}, {f.note, st.note}} {
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
	body.Max.Y = y - 4

	// The legend goes beside the plot, its top level with the data area's,
	// when it takes at most a third of the width; else under the plot, in
	// as many columns as fit.
	slices.SortStableFunc(f.entries, func(a, b legendEntry) int { return a.rank - b.rank })
	all := newLegend(st, f.entries)
	lw := all.Rectangle(body).Size().X
	if width := body.Max.X - body.Min.X; lw > width/3 && len(f.entries) > 1 {
		cols := max(1, min(len(f.entries), int((width+2*pad)/(lw+2*pad))))
		rows := (len(f.entries) + cols - 1) / cols
		first := newLegend(st, f.entries[:rows])
		lh := first.Rectangle(body).Size().Y
		for i := range cols {
			lc := body
			lc.Min.X = body.Min.X + vg.Length(i)*(lw+2*pad)
			lc.Max.Y = body.Min.Y + lh
			l := newLegend(st, f.entries[i*rows:min((i+1)*rows, len(f.entries))])
			l.Draw(lc)
		}
		body.Min.Y += lh + pad
		f.drawPlot(body)
		return
	}
	lc := body
	lc.Min.X = body.Max.X - lw
	body.Max.X = lc.Min.X - 2*pad
	f.drawPlot(body)
	lc.Max.Y = body.Max.Y - 2
	all.Draw(lc)
}

// drawPlot draws the plot in c with tick marks spaced for its size.
func (f *figure) drawPlot(c draw.Canvas) {
	f.p.X.Tick.Marker = ticks{n: max(3, int((c.Max.X-c.Min.X)/55))}
	f.p.Y.Tick.Marker = ticks{n: max(3, int((c.Max.Y-c.Min.Y)/55))}
	f.p.Draw(c)
}

func newLegend(st theme, entries []legendEntry) gplot.Legend {
	l := gplot.NewLegend()
	l.TextStyle = st.legend
	l.Top, l.Left = true, true
	l.ThumbnailWidth = 0.35 * vg.Inch
	l.Padding = 3
	for _, e := range entries {
		l.Add(e.name, e.thumbs...)
	}
	return l
}

// ticks is a gonum Ticker with about n labelled ticks, a step of 1, 2 or 5
// times a power of ten, and unlabelled ones between them.
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

// byteUnit picks bytes, KiB or MiB for values up to v.
func byteUnit(v float64) (div float64, name string) {
	switch {
	case v >= 10<<20:
		return 1 << 20, "MiB"
	case v >= 10<<10:
		return 1 << 10, "KiB"
	}
	return 1, "bytes"
}

// rateUnit picks bit/s, kbit/s, Mbit/s or Gbit/s for rates up to v.
func rateUnit(v float64) (div float64, name string) {
	switch {
	case v >= 1e9:
		return 1e9, "Gbit/s"
	case v >= 1e6:
		return 1e6, "Mbit/s"
	case v >= 1e3:
		return 1e3, "kbit/s"
	}
	return 1, "bit/s"
}

func xys(pts []Point, div float64) plotter.XYs {
	out := make(plotter.XYs, len(pts))
	for i, p := range pts {
		out[i].X, out[i].Y = p.T, p.V/div
	}
	return out
}

func stepLine(pts []Point, div float64, c color.Color, width vg.Length, dashes ...vg.Length) *plotter.Line {
	l := &plotter.Line{XYs: xys(pts, div), StepStyle: plotter.PostStep}
	l.LineStyle = draw.LineStyle{Color: c, Width: width, Dashes: dashes}
	return l
}

func scatter(pts []Point, div float64, g draw.GlyphStyle) *plotter.Scatter {
	s := &plotter.Scatter{XYs: xys(pts, div), GlyphStyle: g}
	return s
}

func seqFigure(s SeqSeries, st theme) *figure {
	what := "data sent"
	if s.Dir == DirReceived {
		what = "data received"
	}
	maxSeq := 0.0
	for _, sg := range s.Segments {
		maxSeq = max(maxSeq, float64(sg.End))
	}
	for _, p := range s.Window {
		maxSeq = max(maxSeq, p.V)
	}
	div, unit := byteUnit(maxSeq)
	f := newFigure(st, "Time–sequence ("+what+")", "time (s)", "relative sequence number ("+unit+")")
	f.received, f.ydiv = s.Dir == DirReceived, div
	if len(s.ZeroWindows) > 0 {
		f.add("zero window", 6, &shades{ivs: s.ZeroWindows, fill: st.zeroWin})
	}
	if len(s.Window) > 0 {
		f.add("receive window (ACK + wnd)", 4, stepLine(s.Window, div, st.window, 1.2))
	}
	if len(s.ACKs) > 0 {
		f.add("ACK", 3, stepLine(s.ACKs, div, st.ack, 1.2))
	}
	var data, re []bar
	for _, sg := range s.Segments {
		b := bar{x: sg.T, y0: float64(sg.Start) / div, y1: float64(sg.End) / div}
		if sg.Retrans {
			re = append(re, b)
		} else {
			data = append(data, b)
		}
	}
	f.add("data segment", 1, &ibeams{bars: data, tick: 2, line: draw.LineStyle{Color: st.data, Width: 1}})
	if len(re) > 0 {
		g := draw.GlyphStyle{Color: st.retrans, Radius: 3.5, Shape: draw.RingGlyph{}}
		f.add("retransmission", 2, &ibeams{bars: re, tick: 2.5, line: draw.LineStyle{Color: st.retrans, Width: 1.6}, glyph: &g})
	}
	if len(s.SACKBlocks) > 0 {
		bars := make([]bar, len(s.SACKBlocks))
		for i, b := range s.SACKBlocks {
			bars[i] = bar{x: b.T, y0: float64(b.Start) / div, y1: float64(b.End) / div}
		}
		f.add("SACK block", 5, &ibeams{bars: bars, tick: 1.5, line: draw.LineStyle{Color: st.sack, Width: 1.4}})
	} else if len(s.SACKs) > 0 {
		pts := make([]Point, len(s.SACKs))
		for i, m := range s.SACKs {
			pts[i] = Point{T: m.T, V: m.V}
		}
		f.add("ACK with SACK blocks", 5, scatter(pts, div, draw.GlyphStyle{Color: st.sack, Radius: 2.5, Shape: draw.TriangleGlyph{}}))
	}
	f.ranges(s.End, 0, 10/div) // whole bytes
	return f
}

// windowClip is how far the peer's window may rise above the congestion
// quantities before the plot stops scaling to it: a 1 MiB receive window
// over a sawtooth of a few dozen KiB would flatten the sawtooth.
const windowClip = 3

func cwndFigure(s CwndSeries, st theme) *figure {
	m, w := 0.0, 0.0
	for _, l := range [][]Point{s.Cwnd, s.Ssthresh, s.InFlight} {
		for _, p := range l {
			m = max(m, p.V)
		}
	}
	for _, p := range s.SndWnd {
		w = max(w, p.V)
	}
	sndWnd, wndLegend := s.SndWnd, "peer receive window (snd_wnd)"
	if m > 0 && w > windowClip*m {
		// Scale to the congestion window; the peer's window runs along
		// the top, and the legend says how high it went.
		top := m * 1.25
		sndWnd = make([]Point, len(s.SndWnd))
		for i, p := range s.SndWnd {
			sndWnd[i] = Point{T: p.T, V: min(p.V, top)}
		}
		wd, wu := byteUnit(w)
		wndLegend = fmt.Sprintf("peer receive window (snd_wnd), up to %.4g %s: clipped", w/wd, wu)
	} else {
		m = max(m, w)
	}
	div, unit := byteUnit(m)
	f := newFigure(st, "Congestion window", "time (s)", "window ("+unit+")")
	phase := map[string]*shades{}
	for _, ph := range []struct {
		name, legend string
		c            color.Color
	}{
		{PhaseSlowStart, "slow start", st.slowStart},
		{PhaseCongAvoid, "congestion avoidance", st.congAvoid},
		{PhaseRecovery, "fast recovery", st.recovery},
		{PhaseLoss, "loss recovery (RTO)", st.loss},
	} {
		sh := &shades{fill: ph.c}
		phase[ph.name] = sh
		for _, iv := range s.Phases {
			if iv.Label == ph.name {
				sh.ivs = append(sh.ivs, iv)
			}
		}
		if len(sh.ivs) > 0 {
			f.add(ph.legend, 10, sh)
		}
	}
	if len(sndWnd) > 0 {
		f.add(wndLegend, 4, stepLine(sndWnd, div, st.sndwnd, 1.2, 2, 2))
	}
	if len(s.InFlight) > 0 {
		f.add("bytes in flight", 3, stepLine(s.InFlight, div, st.inflight, 0.8))
	}
	if len(s.Ssthresh) > 0 {
		f.add("ssthresh", 2, stepLine(s.Ssthresh, div, st.ssthresh, 1.6, 6, 3))
	}
	if len(s.Cwnd) > 0 {
		f.add("cwnd", 1, stepLine(s.Cwnd, div, st.cwnd, 1.8))
	}
	f.ranges(s.End, 0, 10/div)
	return f
}

func rttFigure(s RTTSeries, st theme) *figure {
	f := newFigure(st, "RTT and RTO", "time (s)", "RTT, RTO (ms)")
	if len(s.Samples) > 0 {
		f.add("RTT sample (from the trace)", 3, scatter(s.Samples, 1, draw.GlyphStyle{Color: st.sample, Radius: 1.8, Shape: draw.CircleGlyph{}}))
	}
	if len(s.SRTT) > 0 {
		f.add("SRTT", 1, stepLine(s.SRTT, 1, st.srtt, 1.8))
	}
	if len(s.RTO) > 0 {
		f.add("RTO", 2, stepLine(s.RTO, 1, st.rto, 1.4))
	}
	if len(s.Firings) > 0 {
		ls := st.small
		ls.Rotation = math.Pi / 2
		ls.XAlign, ls.YAlign = draw.XRight, draw.YBottom
		f.add("RTO expired (backoff n)", 4, &vlines{
			marks: s.Firings,
			line:  draw.LineStyle{Color: st.firing, Width: 0.8, Dashes: []vg.Length{3, 2}},
			glyph: draw.GlyphStyle{Color: st.firing, Radius: 3.5, Shape: draw.PyramidGlyph{}},
			label: func(m Mark) string { return fmt.Sprintf("RTO, backoff %d", m.N) }, lstyle: ls,
		})
	}
	f.ranges(s.End, 0, 1)
	return f
}

func tputFigure(s GoodputSeries, st theme) *figure {
	m := s.Mean
	for _, b := range s.Bins {
		m = max(m, b.BitsPerSecond)
	}
	div, unit := rateUnit(m)
	what := "acknowledged"
	if s.Dir == DirReceived {
		what = "received in order"
	}
	f := newFigure(st, "Goodput (bytes "+what+")", "time (s)", "goodput ("+unit+")")
	f.received = s.Dir == DirReceived
	pts := make([]Point, 0, len(s.Bins)+1)
	for _, b := range s.Bins {
		pts = append(pts, Point{T: b.Start, V: b.BitsPerSecond})
	}
	if n := len(s.Bins); n > 0 {
		pts = append(pts, Point{T: s.Bins[n-1].End, V: s.Bins[n-1].BitsPerSecond})
	}
	l := stepLine(pts, div, st.goodput, 1.6)
	l.FillColor = st.gpFill
	f.add("goodput per "+durationString(s.Interval), 1, l)
	if s.Mean > 0 {
		mean := stepLine([]Point{{T: s.First, V: s.Mean}, {T: s.Last, V: s.Mean}}, div, st.rto, 1.4, 6, 3)
		f.add(fmt.Sprintf("mean %.3g %s", s.Mean/div, unit), 2, mean)
	}
	end := 0.0
	if n := len(s.Bins); n > 0 {
		end = s.Bins[n-1].End / 1.02
	}
	f.ranges(end, 0, 1/div)
	return f
}

// durationString formats a bin length: "50 ms", "2 s".
func durationString(d time.Duration) string {
	if d < time.Second {
		return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', -1, 64) + " ms"
	}
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + " s"
}

// seqOf places event e on the time–sequence graph s: the relative
// sequence number of a segment of the direction shown, or the relative ACK
// number of one flowing the other way.
func seqOf(s SeqSeries, e trace.Event) (int64, bool) {
	u := unwrapper{ref: s.ISN}
	switch e.Kind {
	case dataKind(s.Dir):
		return u.peek(e.Seq), true
	case ackKind(s.Dir):
		return u.peek(e.Ack), true
	}
	return 0, false
}
