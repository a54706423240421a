package figures

import (
	"image/color"
	"math"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

var (
	_ plotter.XYer      = errPoints(nil)
	_ plotter.XErrorer  = errPoints(nil)
	_ plotter.YErrorer  = errPoints(nil)
	_ gplot.Plotter     = (*vlines)(nil)
	_ gplot.Thumbnailer = (*vlines)(nil)
	_ gplot.Plotter     = (*shade)(nil)
	_ gplot.Thumbnailer = (*shade)(nil)
	_ gplot.Ticker      = ticks{}
	_ gplot.Ticker      = logTicks{}
)

// errPoint is a point with the extent of its error bars below and above
// (to the left and right) of it.
type errPoint struct {
	x, y         float64
	xlo, xhi     float64
	ylo, yhi     float64
	label        string
	xbars, ybars bool // which bars it has
	fallback     bool // x is the mean queue delay, the RTT being unknown
}

// errPoints feeds gonum's error bars.
type errPoints []errPoint

func (e errPoints) Len() int                        { return len(e) }
func (e errPoints) XY(i int) (float64, float64)     { return e[i].x, e[i].y }
func (e errPoints) XError(i int) (float64, float64) { return e[i].xlo, e[i].xhi }
func (e errPoints) YError(i int) (float64, float64) { return e[i].ylo, e[i].yhi }

func (e errPoints) xys() plotter.XYs {
	out := make(plotter.XYs, len(e))
	for i, p := range e {
		out[i].X, out[i].Y = p.x, p.y
	}
	return out
}

// with is the points that have x bars (x) or y bars (!x).
func (e errPoints) with(x bool) errPoints {
	var out errPoints
	for _, p := range e {
		if (x && p.xbars) || (!x && p.ybars) {
			out = append(out, p)
		}
	}
	return out
}

// mark is a vertical line at x, with an optional label.
type mark struct {
	x     float64
	label string
}

// vlines draws a vertical line over the whole data area at each mark, its
// label written upwards along it from the top when labels is set.
type vlines struct {
	marks  []mark
	line   draw.LineStyle
	labels bool
	lstyle text.Style
}

// Plot implements gplot.Plotter.
func (v *vlines) Plot(c draw.Canvas, p *gplot.Plot) {
	trX, _ := p.Transforms(&c)
	for _, m := range v.marks {
		x := trX(m.x)
		if !c.ContainsX(x) {
			continue
		}
		c.StrokeLine2(v.line, x, c.Min.Y, x, c.Max.Y)
		if v.labels && m.label != "" {
			c.FillText(v.lstyle, vg.Point{X: x - 2, Y: c.Max.Y - 4}, m.label)
		}
	}
}

// Thumbnail implements gplot.Thumbnailer.
func (v *vlines) Thumbnail(c *draw.Canvas) {
	x := (c.Min.X + c.Max.X) / 2
	c.StrokeLine2(v.line, x, c.Min.Y, x, c.Max.Y)
}

// shade fills the x interval [from, to] over the whole height of the data
// area.
type shade struct {
	from, to float64
	fill     color.Color
}

// Plot implements gplot.Plotter.
func (s *shade) Plot(c draw.Canvas, p *gplot.Plot) {
	trX, _ := p.Transforms(&c)
	x0, x1 := max(trX(s.from), c.Min.X), min(trX(s.to), c.Max.X)
	if !(x1 > x0) || math.IsNaN(float64(x0)) {
		return
	}
	c.FillPolygon(s.fill, []vg.Point{{X: x0, Y: c.Min.Y}, {X: x1, Y: c.Min.Y}, {X: x1, Y: c.Max.Y}, {X: x0, Y: c.Max.Y}})
}

// Thumbnail implements gplot.Thumbnailer.
func (s *shade) Thumbnail(c *draw.Canvas) {
	c.FillPolygon(s.fill, []vg.Point{c.Min, {X: c.Max.X, Y: c.Min.Y}, c.Max, {X: c.Min.X, Y: c.Max.Y}})
}

// labelled is a point, the reach of its error bars and its label.
type labelled struct {
	x, y               float64
	xlo, xhi, ylo, yhi float64 // 0 without bars
	text               string
}

// placedLabels writes a small label by each point, at the first of a few
// places around it that overlaps neither another label nor a point, or
// else at the place that overlaps least (labels are placed in order).
type placedLabels struct {
	pts   []labelled
	style text.Style
}

var _ gplot.Plotter = (*placedLabels)(nil)

// Plot implements gplot.Plotter.
func (l *placedLabels) Plot(c draw.Canvas, p *gplot.Plot) {
	trX, trY := p.Transforms(&c)
	const gap, dot, capw = vg.Length(4), vg.Length(4), vg.Length(labelCap)
	var taken []vg.Rectangle
	for _, pt := range l.pts {
		x, y := trX(pt.x), trY(pt.y)
		taken = append(taken, vg.Rectangle{Min: vg.Point{X: x - dot, Y: y - dot}, Max: vg.Point{X: x + dot, Y: y + dot}})
		// The bars, as wide as their caps; an inverted axis swaps the ends.
		if pt.xlo > 0 || pt.xhi > 0 {
			x0, x1 := trX(pt.x-pt.xlo), trX(pt.x+pt.xhi)
			taken = append(taken, vg.Rectangle{Min: vg.Point{X: min(x0, x1), Y: y - capw}, Max: vg.Point{X: max(x0, x1), Y: y + capw}})
		}
		if pt.ylo > 0 || pt.yhi > 0 {
			y0, y1 := trY(pt.y-pt.ylo), trY(pt.y+pt.yhi)
			taken = append(taken, vg.Rectangle{Min: vg.Point{X: x - capw, Y: min(y0, y1)}, Max: vg.Point{X: x + capw, Y: max(y0, y1)}})
		}
	}
	sty := l.style
	sty.XAlign, sty.YAlign, sty.Rotation = draw.XLeft, draw.YBottom, 0
	for _, pt := range l.pts {
		if pt.text == "" {
			continue
		}
		x, y := trX(pt.x), trY(pt.y)
		r := sty.Rectangle(pt.text)
		w, h := r.Size().X, r.Size().Y
		// Lower-left corners: right above, right below, left above, left
		// below, centred above, centred below.
		cands := []vg.Point{
			{X: x + gap, Y: y + gap}, {X: x + gap, Y: y - gap - h},
			{X: x - gap - w, Y: y + gap}, {X: x - gap - w, Y: y - gap - h},
			{X: x - w/2, Y: y + dot + 1}, {X: x - w/2, Y: y - dot - 1 - h},
		}
		best, bestCost := cands[0], vg.Length(math.Inf(1))
		for _, ll := range cands {
			box := vg.Rectangle{Min: ll, Max: vg.Point{X: ll.X + w, Y: ll.Y + h}}
			cost := 2 * (area(box) - area(intersect(box, c.Rectangle))) // outside the data area
			for _, t := range taken {
				cost += area(intersect(box, t))
			}
			if cost < bestCost {
				best, bestCost = ll, cost
			}
			if cost == 0 {
				break
			}
		}
		taken = append(taken, vg.Rectangle{Min: best, Max: vg.Point{X: best.X + w, Y: best.Y + h}})
		c.FillText(sty, vg.Point{X: best.X - r.Min.X, Y: best.Y - r.Min.Y}, pt.text)
	}
}

func intersect(a, b vg.Rectangle) vg.Rectangle {
	r := vg.Rectangle{
		Min: vg.Point{X: max(a.Min.X, b.Min.X), Y: max(a.Min.Y, b.Min.Y)},
		Max: vg.Point{X: min(a.Max.X, b.Max.X), Y: min(a.Max.Y, b.Max.Y)},
	}
	if r.Max.X < r.Min.X || r.Max.Y < r.Min.Y {
		return vg.Rectangle{}
	}
	return r
}

func area(r vg.Rectangle) vg.Length { return (r.Max.X - r.Min.X) * (r.Max.Y - r.Min.Y) }
