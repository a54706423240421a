// Package figures draws the figures of an experiment's report from plain
// data: goodput against delay per cell (Pantheon style), Jain's fairness
// index against a numeric parameter, the CDF of flow completion times, and
// each chosen trial's goodput (and bottleneck queue) over time.
//
// It knows nothing of how the data was measured or stored: the runner
// fills an Input and calls Render. The output depends on the input only
// (no clock, no map iterated unsorted), so the same results give the same
// files byte for byte.
package figures

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
)

// Stat is a metric's mean over a cell's valid trials with its 95 % CI
// half-width (NaN when unknown) and the count.
type Stat struct {
	Mean float64 // the mean over the valid trials; NaN when unknown
	CI95 float64 // half-width of the 95 % confidence interval; NaN when unknown
	N    int     // how many trials the mean is over
}

// Cell is one cell of the matrix: its name ("cc=reno,delay=5ms"), its
// parameter values, and its metrics by name (names as in results:
// "goodput" bit/s, "rtt_p50" s, "rtt_p99" s, "queue_delay_mean" s, "jain",
// "fct_p50" s ...).
type Cell struct {
	Key     string            // the cell's name, e.g. "cc=reno,delay=5ms"
	Values  map[string]string // the value of each parameter, by its name
	Metrics map[string]Stat   // the metrics, by name; a missing one is unknown
}

// Flow is one flow of flows.csv that has a size (Size > 0) and completed:
// its cell's key, size in bytes, FCT in seconds, and its slowdown.
type Flow struct {
	Cell string  // the key of the flow's cell
	Size int64   // bytes
	FCT  float64 // flow completion time, seconds
	// Slowdown is FCT ÷ the ideal FCT (base RTT + size·8 ÷ rate); NaN
	// or 0 when unknown (no slowdown figure then).
	Slowdown float64
}

// Point is one timeseries value of a trial: T seconds since the trial's
// start, Series ("flow12" or a bottleneck name like "r1:eth1>egress"),
// Metric ("goodput_bps", "cwnd", "srtt_s", "queue_len", "passed_bytes"),
// Value.
type Point struct {
	T      float64 // seconds since the trial's start
	Series string  // "flowN", or a bottleneck's "NODE:IFACE>DIR"
	Metric string  // "goodput_bps", "cwnd", "srtt_s", "queue_len", "passed_bytes"
	Value  float64 // the value; NaN when not available
}

// Trial is one trial's timeseries for the goodput-over-time figure, with
// its cell's key, its repetition and the scheduled events (T seconds,
// Label like "bottleneck down").
type Trial struct {
	N      int     // the trial's number; names the file (goodput-trial-N)
	Cell   string  // the key of the trial's cell
	Rep    int     // the repetition of the cell
	Points []Point // the timeseries, in any order
	Events []Event // the scheduled events
	// Warmup is how long, in seconds from the start, the trial warmed up
	// before measuring (0: none).
	Warmup float64
}

// Event is a scheduled event of a trial: T seconds since the trial's start
// and what happened ("bottleneck down").
type Event struct {
	T     float64 // seconds since the trial's start
	Label string  // what happened
}

// Input is everything the figures are drawn from.
type Input struct {
	Params []string // the matrix's parameter names, in order (may be empty)
	Cells  []Cell   // in matrix order
	Flows  []Flow
	Trials []Trial // typically the first repetition of each cell
}

// Figure is one file written.
type Figure struct {
	File  string // relative to the directory given to Render, e.g. "figures/tput-delay.svg"
	Title string // what the figure shows, for a caption
}

// subdir is the directory, under Render's, that the figures go to.
const subdir = "figures"

// Render draws every figure the input allows into dir/figures/ (created),
// each as SVG and PNG, and returns them (SVG names) in a fixed order. Figures
// without data are skipped (not an error).
//
// The order is: figures/tput-delay (goodput vs delay), figures/jain
// (fairness vs the first numeric parameter), figures/fct-cdf (flow
// completion times), figures/slowdown-cdf (their slowdowns), then figures/goodput-trial-N for each trial in the
// order of in.Trials; each is written as .svg and .png, and the list names
// the .svg. A trial's bottleneck queue, when it has one, is the lower panel
// of its goodput figure.
func Render(dir string, in Input) ([]Figure, error) {
	seen := map[int]bool{}
	for _, t := range in.Trials {
		if seen[t.N] {
			return nil, fmt.Errorf("figures: trial %d given twice", t.N)
		}
		seen[t.N] = true
	}
	st := newTheme()
	type job struct {
		name string
		f    *figure
	}
	var jobs []job
	if f := tputDelayFigure(in, st); f != nil {
		jobs = append(jobs, job{"tput-delay", f})
	}
	if f := jainFigure(in, st); f != nil {
		jobs = append(jobs, job{"jain", f})
	}
	if f := fctFigure(in, st); f != nil {
		jobs = append(jobs, job{"fct-cdf", f})
	}
	if f := slowdownFigure(in, st); f != nil {
		jobs = append(jobs, job{"slowdown-cdf", f})
	}
	for _, t := range in.Trials {
		if f := trialFigure(t, st); f != nil {
			jobs = append(jobs, job{fmt.Sprintf("goodput-trial-%d", t.N), f})
		}
	}
	out := filepath.Join(dir, subdir)
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, fmt.Errorf("figures: %w", err)
	}
	figs := make([]Figure, 0, len(jobs))
	for _, j := range jobs {
		for _, format := range []string{formatSVG, formatPNG} {
			b, err := j.f.encode(st, format)
			if err != nil {
				return figs, fmt.Errorf("figures: %s.%s: %w", j.name, format, err)
			}
			if err := os.WriteFile(filepath.Join(out, j.name+"."+format), b, 0o644); err != nil {
				return figs, fmt.Errorf("figures: %w", err)
			}
		}
		figs = append(figs, Figure{File: subdir + "/" + j.name + "." + formatSVG, Title: j.f.caption})
	}
	return figs, nil
}

// known tells whether v is a number to plot (not NaN nor infinite).
func known(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// metric is a cell's metric, unknown (NaN) when the cell lacks it.
func metric(c Cell, name string) Stat {
	if s, ok := c.Metrics[name]; ok {
		return s
	}
	return Stat{Mean: math.NaN(), CI95: math.NaN()}
}

// ci is a CI half-width to draw, 0 when unknown or meaningless.
func ci(s Stat) (float64, bool) {
	if known(s.CI95) && s.CI95 > 0 {
		return s.CI95, true
	}
	return 0, false
}
