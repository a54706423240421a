package experiment

import (
	"bufio"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/netlab/netlab/internal/units"
)

// Size distributions of a poisson workload's flows.
const (
	DistFixed       = "fixed"
	DistExponential = "exponential"
	DistPareto      = "pareto"
	DistCDF         = "cdf"
)

// SizeDist draws flow sizes.
type SizeDist struct {
	Dist string
	// Mean is the mean size (fixed: the size).
	Mean float64
	// Shape is a Pareto distribution's α (> 1, so that it has a mean).
	Shape float64
	// File is an empirical CDF's file; Points its (size, cumulative
	// probability) points, increasing, the last probability 1.
	File   string
	Points []CDFPoint
}

// CDFPoint is one point of an empirical CDF.
type CDFPoint struct {
	Size float64
	P    float64
}

// Sample draws one size (at least 1 byte) with r.
func (d SizeDist) Sample(r *rand.Rand) int64 {
	var v float64
	switch d.Dist {
	case DistFixed:
		v = d.Mean
	case DistExponential:
		v = r.ExpFloat64() * d.Mean
	case DistPareto:
		xm := d.Mean * (d.Shape - 1) / d.Shape
		v = xm / math.Pow(1-r.Float64(), 1/d.Shape)
	case DistCDF:
		u := r.Float64()
		i, _ := slices.BinarySearchFunc(d.Points, u, func(p CDFPoint, u float64) int {
			switch {
			case p.P < u:
				return -1
			case p.P > u:
				return 1
			}
			return 0
		})
		switch {
		case i == 0:
			v = d.Points[0].Size
		case i >= len(d.Points):
			v = d.Points[len(d.Points)-1].Size
		default:
			a, b := d.Points[i-1], d.Points[i]
			v = a.Size + (b.Size-a.Size)*(u-a.P)/(b.P-a.P)
		}
	}
	return max(1, int64(math.Round(min(v, 1<<40))))
}

// sizeDist reads size: 100KB (fixed), or {dist: exponential, mean: 100KB},
// {dist: pareto, mean: 100KB, shape: 1.2}, {dist: cdf, file: web.cdf}.
func (ld *loader) sizeDist(n *yaml.Node, dir string) SizeDist {
	if n.Kind == yaml.ScalarNode {
		return SizeDist{Dist: DistFixed, Mean: float64(ld.size(n))}
	}
	if n.Kind != yaml.MappingNode {
		ld.errf(n, "size: a size (100KB) or {dist: exponential|pareto|cdf, mean: SIZE, shape: α, file: CDF}")
		return SizeDist{}
	}
	d := SizeDist{}
	var file *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch k.Value {
		case "dist":
			d.Dist = ld.oneOf(v, DistFixed, DistExponential, DistPareto, DistCDF)
		case "mean":
			d.Mean = float64(ld.size(v))
		case "shape":
			f, err := strconv.ParseFloat(v.Value, 64)
			if err != nil || f <= 1 || f > 100 {
				ld.errf(v, "bad shape %q: a Pareto α above 1 (so the mean exists), e.g. 1.2", v.Value)
			}
			d.Shape = f
		case "file":
			file = v
			d.File = ld.str(v)
		default:
			ld.errf(k, "size has no key %q (allowed: dist, mean, shape, file)", k.Value)
		}
	}
	switch d.Dist {
	case "":
		ld.errf(n, "size: say which distribution (dist: fixed, exponential, pareto or cdf)")
	case DistFixed, DistExponential, DistPareto:
		if d.Mean <= 0 {
			ld.errf(n, "a %s size needs mean: (e.g. 100KB)", d.Dist)
		}
		if d.Dist == DistPareto && d.Shape == 0 {
			ld.errf(n, "a pareto size needs shape: (α above 1, e.g. 1.2)")
		}
	case DistCDF:
		if file == nil {
			ld.errf(n, "a cdf size needs file: (lines of SIZE PROBABILITY, increasing, the last 1)")
			break
		}
		path := d.File
		if !filepath.IsAbs(path) {
			path = filepath.Join(dir, path)
		}
		pts, err := ReadCDF(path)
		if err != nil {
			ld.errf(file, "%v", err)
		}
		d.Points = pts
	}
	return d
}

// ReadCDF reads an empirical CDF of flow sizes: one point a line, the
// size in bytes (a plain number, or with a unit) and its cumulative
// probability (0 to 1, or a percentage up to 100), increasing; # starts a
// comment. The format of the published web-search and data-mining
// workloads' files.
func ReadCDF(path string) ([]CDFPoint, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var pts []CDFPoint
	sc := bufio.NewScanner(f)
	line := 0
	pct := false
	for sc.Scan() {
		line++
		s, _, _ := strings.Cut(sc.Text(), "#")
		fs := strings.Fields(s)
		if len(fs) == 0 {
			continue
		}
		if len(fs) != 2 {
			return nil, fmt.Errorf("%s:%d: want SIZE PROBABILITY, got %q", path, line, strings.TrimSpace(s))
		}
		size, err := strconv.ParseFloat(fs[0], 64)
		if err != nil {
			n, serr := units.ParseSize(fs[0])
			if serr != nil {
				return nil, fmt.Errorf("%s:%d: %v", path, line, serr)
			}
			size = float64(n)
		}
		p, err := strconv.ParseFloat(strings.TrimSuffix(fs[1], "%"), 64)
		if err != nil || p < 0 || p > 100 {
			return nil, fmt.Errorf("%s:%d: bad probability %q: 0 to 1 (or a percentage)", path, line, fs[1])
		}
		if strings.HasSuffix(fs[1], "%") || p > 1 {
			pct = true
		}
		if n := len(pts); n > 0 && (size < pts[n-1].Size || p < pts[n-1].P) {
			return nil, fmt.Errorf("%s:%d: the points must not decrease", path, line)
		}
		pts = append(pts, CDFPoint{Size: size, P: p})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(pts) < 2 {
		return nil, fmt.Errorf("%s: want at least two points", path)
	}
	if pct {
		for i := range pts {
			pts[i].P /= 100
		}
	}
	if last := pts[len(pts)-1].P; math.Abs(last-1) > 1e-9 {
		return nil, fmt.Errorf("%s: the last probability is %v, not 1", path, last)
	}
	return pts, nil
}
