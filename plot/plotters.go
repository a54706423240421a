package plot

import (
	"image/color"
	"math"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// The gonum plotters the package needs and gonum does not have. Each one
// draws in data coordinates through the plot's transforms and has a
// Thumbnail for the legend.

var (
	_ gplot.Plotter     = (*ibeams)(nil)
	_ gplot.DataRanger  = (*ibeams)(nil)
	_ gplot.Thumbnailer = (*ibeams)(nil)
	_ gplot.Plotter     = (*shades)(nil)
	_ gplot.Thumbnailer = (*shades)(nil)
	_ gplot.Plotter     = (*vlines)(nil)
	_ gplot.DataRanger  = (*vlines)(nil)
	_ gplot.Thumbnailer = (*vlines)(nil)
	_ gplot.Ticker      = ticks{}
)

// bar is one vertical bar from y0 to y1 at x.
type bar struct{ x, y0, y1 float64 }

// ibeams draws tcptrace's segment bars: a vertical line with a short
// horizontal tick at each end.
type ibeams struct {
	bars  []bar
	line  draw.LineStyle
	tick  vg.Length // half the width of the end ticks
	glyph *draw.GlyphStyle
}

// Plot implements gplot.Plotter.
func (b *ibeams) Plot(c draw.Canvas, p *gplot.Plot) {
	trX, trY := p.Transforms(&c)
	c.SetLineStyle(b.line)
	for _, s := range b.bars {
		x, y0, y1 := trX(s.x), trY(s.y0), trY(s.y1)
		if !c.ContainsX(x) {
			continue
		}
		var pa vg.Path
		pa.Move(vg.Point{X: x, Y: y0})
		pa.Line(vg.Point{X: x, Y: y1})
		pa.Move(vg.Point{X: x - b.tick, Y: y0})
		pa.Line(vg.Point{X: x + b.tick, Y: y0})
		pa.Move(vg.Point{X: x - b.tick, Y: y1})
		pa.Line(vg.Point{X: x + b.tick, Y: y1})
		c.Stroke(pa)
		if b.glyph != nil {
			c.DrawGlyph(*b.glyph, vg.Point{X: x, Y: (y0 + y1) / 2})
		}
	}
}

// DataRange implements gplot.DataRanger.
func (b *ibeams) DataRange() (xmin, xmax, ymin, ymax float64) {
	xmin, ymin = math.Inf(1), math.Inf(1)
	xmax, ymax = math.Inf(-1), math.Inf(-1)
	for _, s := range b.bars {
		xmin, xmax = math.Min(xmin, s.x), math.Max(xmax, s.x)
		ymin, ymax = math.Min(ymin, s.y0), math.Max(ymax, s.y1)
	}
	return xmin, xmax, ymin, ymax
}

// Thumbnail implements gplot.Thumbnailer.
func (b *ibeams) Thumbnail(c *draw.Canvas) {
	x := (c.Min.X + c.Max.X) / 2
	h := c.Max.Y - c.Min.Y
	y0, y1 := c.Min.Y+h/6, c.Max.Y-h/6
	c.StrokeLines(b.line, []vg.Point{{X: x, Y: y0}, {X: x, Y: y1}})
	c.StrokeLines(b.line, []vg.Point{{X: x - b.tick, Y: y0}, {X: x + b.tick, Y: y0}})
	c.StrokeLines(b.line, []vg.Point{{X: x - b.tick, Y: y1}, {X: x + b.tick, Y: y1}})
	if b.glyph != nil {
		c.DrawGlyph(*b.glyph, vg.Point{X: x, Y: (y0 + y1) / 2})
	}
}

// shades fills time intervals over the whole height of the data area.
type shades struct {
	ivs  []Interval
	fill color.Color
}

// Plot implements gplot.Plotter.
func (s *shades) Plot(c draw.Canvas, p *gplot.Plot) {
	trX, _ := p.Transforms(&c)
	for _, iv := range s.ivs {
		x0, x1 := max(trX(iv.Start), c.Min.X), min(trX(iv.End), c.Max.X)
		if x1 <= x0 {
			continue
		}
		c.FillPolygon(s.fill, []vg.Point{{X: x0, Y: c.Min.Y}, {X: x1, Y: c.Min.Y}, {X: x1, Y: c.Max.Y}, {X: x0, Y: c.Max.Y}})
	}
}

// Thumbnail implements gplot.Thumbnailer.
func (s *shades) Thumbnail(c *draw.Canvas) {
	c.FillPolygon(s.fill, []vg.Point{c.Min, {X: c.Max.X, Y: c.Min.Y}, c.Max, {X: c.Min.X, Y: c.Max.Y}})
}

// vlines draws a vertical line over the data area at each x, a glyph at
// (x, y) and a label written upwards along the line near the top.
type vlines struct {
	marks  []Mark
	line   draw.LineStyle
	glyph  draw.GlyphStyle
	label  func(Mark) string
	lstyle text.Style
}

// Plot implements gplot.Plotter.
func (v *vlines) Plot(c draw.Canvas, p *gplot.Plot) {
	trX, trY := p.Transforms(&c)
	for _, m := range v.marks {
		x := trX(m.T)
		if !c.ContainsX(x) {
			continue
		}
		c.StrokeLine2(v.line, x, c.Min.Y, x, c.Max.Y)
		c.DrawGlyph(v.glyph, vg.Point{X: x, Y: trY(m.V)})
		if v.label != nil {
			c.FillText(v.lstyle, vg.Point{X: x - 2, Y: c.Max.Y - 4}, v.label(m))
		}
	}
}

// DataRange implements gplot.DataRanger.
func (v *vlines) DataRange() (xmin, xmax, ymin, ymax float64) {
	xmin, ymin = math.Inf(1), math.Inf(1)
	xmax, ymax = math.Inf(-1), math.Inf(-1)
	for _, m := range v.marks {
		xmin, xmax = math.Min(xmin, m.T), math.Max(xmax, m.T)
		ymin, ymax = math.Min(ymin, m.V), math.Max(ymax, m.V)
	}
	return xmin, xmax, ymin, ymax
}

// Thumbnail implements gplot.Thumbnailer.
func (v *vlines) Thumbnail(c *draw.Canvas) {
	x := (c.Min.X + c.Max.X) / 2
	c.StrokeLine2(v.line, x, c.Min.Y, x, c.Max.Y)
	c.DrawGlyph(v.glyph, vg.Point{X: x, Y: (c.Min.Y + c.Max.Y) / 2})
}
