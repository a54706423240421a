package runner

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math"
	"os"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/netlab/netlab/experiment"
	"github.com/netlab/netlab/experiment/figures"
	"github.com/netlab/netlab/experiment/metrics"
)

func runtimeVersion() string { return goruntime.Version() }

// reportMetrics are the report's per-cell columns.
var reportMetrics = []string{"goodput", "utilisation", "jain", "rtt_p50", "rtt_p99", "queue_delay_mean", "loss", "retrans_rate", "rtos", "fct_p99"}

// healthMetrics are the health table's columns.
var healthMetrics = []string{"agent_cpu", "rate_achieved", "start_skew_max", "timer_late_p99", "ring_drops", "flows_failed"}

// Results is a results directory read back.
type Results struct {
	Dir    string
	Meta   Metadata
	Params []string
	// Trials are results.csv's trials, in the order they ran.
	Trials []TrialResults
}

// TrialResults is one trial's metrics.
type TrialResults struct {
	N, Cell, Rep int
	Values       map[string]string
	Metrics      map[string]float64
	Valid        bool
	// Invalid says why the trial is not valid.
	Invalid []string
}

// CellResults is a cell's metrics over its valid trials.
type CellResults struct {
	Cell    int
	Key     string
	Values  map[string]string
	Trials  int
	Invalid int
	Metrics map[string]metrics.Summary
}

// Load reads a results directory: metadata.json and results.csv.
func Load(dir string) (*Results, error) {
	data, err := os.ReadFile(filepath.Join(dir, MetadataFile))
	if err != nil {
		return nil, fmt.Errorf("%s: not a results directory of netlab experiment run: %w", dir, err)
	}
	r := &Results{Dir: dir}
	if err := json.Unmarshal(data, &r.Meta); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, MetadataFile), err)
	}
	for _, p := range r.Meta.Params {
		r.Params = append(r.Params, p.Name)
	}
	path := filepath.Join(dir, ResultsFile)
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%s: empty", path)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	for _, need := range append([]string{"trial", "cell", "rep", "metric", "value", "valid"}, r.Params...) {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("%s: no column %q", path, need)
		}
	}
	why := map[int][]string{}
	for _, t := range r.Meta.Trials {
		why[t.N] = t.Invalid
	}
	byN := map[int]*TrialResults{}
	for i, row := range rows[1:] {
		n, err1 := strconv.Atoi(row[col["trial"]])
		cell, err2 := strconv.Atoi(row[col["cell"]])
		rep, err3 := strconv.Atoi(row[col["rep"]])
		v := math.NaN()
		var err4 error
		if s := row[col["value"]]; s != "NA" {
			v, err4 = strconv.ParseFloat(s, 64)
		}
		if err1 != nil || err2 != nil || err3 != nil || err4 != nil {
			return nil, fmt.Errorf("%s:%d: not a row netlab wrote", path, i+2)
		}
		t := byN[n]
		if t == nil {
			t = &TrialResults{N: n, Cell: cell, Rep: rep, Values: map[string]string{}, Metrics: map[string]float64{},
				Valid: row[col["valid"]] == "1", Invalid: why[n]}
			for _, p := range r.Params {
				t.Values[p] = row[col[p]]
			}
			byN[n] = t
			r.Trials = append(r.Trials, TrialResults{})
		}
		t.Metrics[row[col["metric"]]] = v
	}
	r.Trials = r.Trials[:0]
	for _, t := range byN {
		r.Trials = append(r.Trials, *t)
	}
	slices.SortFunc(r.Trials, func(a, b TrialResults) int { return a.N - b.N })
	return r, nil
}

// key names a cell by its values, in matrix order ("all" without one).
func (r *Results) key(values map[string]string) string {
	if len(r.Params) == 0 {
		return "all"
	}
	parts := make([]string, len(r.Params))
	for i, p := range r.Params {
		parts[i] = p + "=" + values[p]
	}
	return strings.Join(parts, ",")
}

// Cells summarizes each cell's valid trials, in the matrix's order.
func (r *Results) Cells() []CellResults {
	by := map[int]*CellResults{}
	vals := map[int]map[string][]float64{}
	for _, t := range r.Trials {
		c := by[t.Cell]
		if c == nil {
			c = &CellResults{Cell: t.Cell, Key: r.key(t.Values), Values: t.Values, Metrics: map[string]metrics.Summary{}}
			by[t.Cell] = c
			vals[t.Cell] = map[string][]float64{}
		}
		c.Trials++
		if !t.Valid {
			c.Invalid++
			continue
		}
		for k, v := range t.Metrics {
			vals[t.Cell][k] = append(vals[t.Cell][k], v)
		}
	}
	var out []CellResults
	for idx, c := range by {
		for _, d := range experiment.Metrics {
			c.Metrics[d.Name] = metrics.Summarize(vals[idx][d.Name])
		}
		out = append(out, *c)
	}
	slices.SortFunc(out, func(a, b CellResults) int { return a.Cell - b.Cell })
	return out
}

// Failed returns a line for every cell × threshold not met; a cell
// without a valid trial fails every threshold.
func (r *Results) Failed() ([]string, error) {
	var failed []string
	cells := r.Cells()
	for _, am := range r.Meta.Asserts {
		a, err := experiment.ParseAssert(am.Text)
		if err != nil {
			return nil, fmt.Errorf("%s:%d:%d: %w", r.Meta.File, am.Line, am.Col, err)
		}
		for _, c := range cells {
			s := c.Metrics[a.Metric]
			if !a.Holds(s.Mean) {
				failed = append(failed, fmt.Sprintf("%s:%d:%d: %s: %s not met: %s is %s (mean of %d valid trials)",
					r.Meta.File, am.Line, am.Col, c.Key, a.Text, a.Metric, format(a.Metric, s.Mean), s.N))
			}
		}
	}
	return failed, nil
}

// Report renders dir's report.md from its results and returns the
// thresholds not met.
func Report(dir string) ([]string, error) {
	r, err := Load(dir)
	if err != nil {
		return nil, err
	}
	failed, err := r.Failed()
	if err != nil {
		return nil, err
	}
	in, err := r.FigureInput()
	if err != nil {
		return nil, err
	}
	figs, err := figures.Render(dir, in)
	if err != nil {
		return nil, err
	}
	return failed, os.WriteFile(filepath.Join(dir, ReportFile), []byte(r.Markdown(failed, figs)), 0o644)
}

// FigureInput is what the report's figures are drawn from: every cell's
// summaries, the completed sized flows of valid trials, and the
// timeseries and events of each cell's first valid trial (its first trial
// when none is valid).
func (r *Results) FigureInput() (figures.Input, error) {
	in := figures.Input{Params: r.Params}
	for _, c := range r.Cells() {
		fc := figures.Cell{Key: c.Key, Values: c.Values, Metrics: map[string]figures.Stat{}}
		for name, s := range c.Metrics {
			fc.Metrics[name] = figures.Stat{Mean: s.Mean, CI95: s.CI95, N: s.N}
		}
		in.Cells = append(in.Cells, fc)
	}
	valid := map[int]bool{}
	chosen := map[int]TrialResults{}
	for _, t := range r.Trials {
		valid[t.N] = t.Valid
		if c, ok := chosen[t.Cell]; !ok || (!c.Valid && t.Valid) {
			chosen[t.Cell] = t
		}
	}
	flows, err := r.Flows()
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return in, err
	}
	for _, f := range flows {
		n, _ := strconv.Atoi(f["trial"])
		size, err1 := strconv.ParseInt(f["size"], 10, 64)
		fct, err2 := strconv.ParseFloat(f["fct_s"], 64)
		if !valid[n] || f["complete"] != "true" || err1 != nil || err2 != nil || size <= 0 {
			continue
		}
		slow, err := strconv.ParseFloat(f["slowdown"], 64)
		if err != nil {
			slow = math.NaN()
		}
		in.Flows = append(in.Flows, figures.Flow{Cell: r.key(f), Size: size, FCT: fct, Slowdown: slow})
	}
	events := map[int][]EventMeta{}
	for _, t := range r.Meta.Trials {
		events[t.N] = t.Events
	}
	warmup, _ := time.ParseDuration(r.Meta.Warmup)
	cells := slices.Sorted(maps.Keys(chosen))
	for _, c := range cells {
		t := chosen[c]
		pts, err := r.Series(t.N)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return in, err
		}
		ft := figures.Trial{N: t.N, Cell: r.key(t.Values), Rep: t.Rep, Warmup: warmup.Seconds()}
		for _, p := range pts {
			ft.Points = append(ft.Points, figures.Point{T: p.T, Series: p.Series, Metric: p.Metric, Value: p.Value})
		}
		for _, e := range events[t.N] {
			ft.Events = append(ft.Events, figures.Event{T: e.At, Label: e.Label()})
		}
		in.Trials = append(in.Trials, ft)
	}
	return in, nil
}

// sizeRow is one cell's completed flows of one size bucket.
type sizeRow struct {
	cell, bucket string
	fcts, slows  []float64 // seconds; slowdowns (those known)
}

// bySize pools each cell's completed sized flows of valid trials by size
// bucket, cells in matrix order and buckets from small to large.
func (r *Results) bySize() []sizeRow {
	flows, err := r.Flows()
	if err != nil {
		return nil
	}
	valid := map[string]bool{}
	for _, t := range r.Trials {
		valid[strconv.Itoa(t.N)] = t.Valid
	}
	rows := map[[2]string]*sizeRow{}
	for _, f := range flows {
		size, err1 := strconv.ParseInt(f["size"], 10, 64)
		fct, err2 := strconv.ParseFloat(f["fct_s"], 64)
		if !valid[f["trial"]] || f["complete"] != "true" || err1 != nil || err2 != nil || size <= 0 {
			continue
		}
		k := [2]string{r.key(f), metrics.SizeBucket(size)}
		row := rows[k]
		if row == nil {
			row = &sizeRow{cell: k[0], bucket: k[1]}
			rows[k] = row
		}
		row.fcts = append(row.fcts, fct)
		if s, err := strconv.ParseFloat(f["slowdown"], 64); err == nil {
			row.slows = append(row.slows, s)
		}
	}
	var out []sizeRow
	for _, c := range r.Cells() {
		for _, bucket := range metrics.SizeBuckets() {
			if row := rows[[2]string{c.Key, bucket}]; row != nil {
				out = append(out, *row)
			}
		}
	}
	return out
}

// Markdown is the report, with figs (as Render returned them) linked.
func (r *Results) Markdown(failed []string, figs []figures.Figure) string {
	m := r.Meta
	var b strings.Builder
	fmt.Fprintf(&b, "# Experiment %s\n\n", m.Experiment)
	cells := r.Cells()
	fmt.Fprintf(&b, "%s on %s (lab %s), %d cells × %d repetitions, order %s, seed %d; %s per trial, the first %s left out of the metrics.\n",
		m.File, m.Topology, m.Lab, len(cells), m.Repetitions, m.Order, m.Seed, m.Duration, m.Warmup)
	fmt.Fprintf(&b, "netlab %s, Go %s, kernel %v, %v; started %s.\n\n", m.Netlab, m.GoVersion, m.Machine["kernel"], m.Machine["cpu"], m.Started.Format("2006-01-02 15:04:05"))
	if m.Interrupted {
		fmt.Fprintf(&b, "**Interrupted** after %d trials: the tables hold the trials that finished.\n\n", len(r.Trials))
	}
	fmt.Fprintf(&b, "## Results\n\nMean ± 95 %% confidence half-width over each cell's valid trials (Student t); n is the number of valid trials. Definitions: the README's metrics table; every trial's value is in %s, every flow in %s.\n\n", ResultsFile, FlowsFile)
	b.WriteString("| cell | n |")
	for _, name := range reportMetrics {
		b.WriteString(" " + name + " |")
	}
	b.WriteString("\n|---|---|" + strings.Repeat("---|", len(reportMetrics)) + "\n")
	for _, c := range cells {
		fmt.Fprintf(&b, "| %s | %d |", c.Key, c.Trials-c.Invalid)
		for _, name := range reportMetrics {
			b.WriteString(" " + formatSummary(name, c.Metrics[name]) + " |")
		}
		b.WriteString("\n")
	}
	if rows := r.bySize(); len(rows) > 0 {
		b.WriteString("\n## Flow completion by size\n\nThe completed flows with a size of each cell's valid trials, pooled, by size (PIAS buckets: KB and MB decimal); slowdown = FCT ÷ (base RTT + size·8 ÷ bottleneck rate).\n\n")
		b.WriteString("| cell | size | flows | FCT p50 | FCT p99 | FCT p99.9 | slowdown p50 | slowdown p99 | slowdown p99.9 |\n|---|---|---:|---:|---:|---:|---:|---:|---:|\n")
		for _, row := range rows {
			fmt.Fprintf(&b, "| %s | %s | %d | %s | %s | %s | %s | %s | %s |\n", row.cell, row.bucket, len(row.fcts),
				format("fct_p50", metrics.Percentile(row.fcts, 50)), format("fct_p50", metrics.Percentile(row.fcts, 99)),
				format("fct_p50", metrics.Percentile(row.fcts, 99.9)), format("slowdown_p50", metrics.Percentile(row.slows, 50)),
				format("slowdown_p50", metrics.Percentile(row.slows, 99)), format("slowdown_p50", metrics.Percentile(row.slows, 99.9)))
		}
	}
	if len(figs) > 0 {
		b.WriteString("\n## Figures\n\nEach figure is also a PNG beside its SVG.\n\n")
		for _, f := range figs {
			fmt.Fprintf(&b, "![%s](%s)\n\n*%s*\n\n", f.Title, f.File, f.Title)
		}
	}
	lim := m.Limits
	b.WriteString("\n## Emulation health\n\nA trial is **invalid** — left out of the results above — when the machine, not the network, was the limit: ")
	fmt.Fprintf(&b, "the agents used more than %.0f%% of the cores, the bottleneck passed less than %.0f%% of its configured rate while backlogged, a flow started more than %v late, ",
		lim.MaxCPU*100, lim.MinRate*100, lim.MaxStartSkew)
	if lim.MaxTimerLate > 0 {
		fmt.Fprintf(&b, "the bottleneck handed 1 %% of its frames on %v or more after they were due, ", lim.MaxTimerLate)
	}
	b.WriteString("or the kernel dropped frames from a full AF_PACKET ring.\n\n")
	b.WriteString("| trial | cell | rep |")
	for _, name := range healthMetrics {
		b.WriteString(" " + name + " |")
	}
	b.WriteString(" valid |\n|---|---|---|" + strings.Repeat("---|", len(healthMetrics)) + "---|\n")
	for _, t := range r.Trials {
		fmt.Fprintf(&b, "| %d | %s | %d |", t.N, r.key(t.Values), t.Rep)
		for _, name := range healthMetrics {
			v, ok := t.Metrics[name]
			if !ok {
				v = math.NaN()
			}
			b.WriteString(" " + format(name, v) + " |")
		}
		if t.Valid {
			b.WriteString(" yes |\n")
		} else {
			b.WriteString(" **no**: " + strings.Join(t.Invalid, "; ") + " |\n")
		}
	}
	if len(m.Asserts) > 0 {
		b.WriteString("\n## Thresholds\n\n")
		if len(failed) == 0 {
			for _, a := range m.Asserts {
				fmt.Fprintf(&b, "- `%s`: met in every cell\n", a.Text)
			}
		}
		for _, f := range failed {
			fmt.Fprintf(&b, "- **not met**: %s\n", f)
		}
	}
	return b.String()
}

// formatSummary writes a mean and, with two trials or more, its 95 %
// confidence half-width.
func formatSummary(metric string, s metrics.Summary) string {
	out := format(metric, s.Mean)
	if s.N > 1 && !math.IsNaN(s.CI95) {
		ci := format(metric, s.CI95)
		for _, unit := range []string{" Mbit/s", " ms"} {
			ci = strings.TrimSuffix(ci, unit)
		}
		out += " ± " + ci
	}
	return out
}

// Compare is two runs side by side: each cell both have, every metric's
// means, their difference, and whether the 95 % intervals overlap.
func Compare(a, b *Results, metricNames []string) string {
	var s strings.Builder
	fmt.Fprintf(&s, "# %s vs %s\n\nA: %s (%s, %d trials)\nB: %s (%s, %d trials)\n\n", a.Meta.Experiment, b.Meta.Experiment,
		a.Dir, a.Meta.Started.Format("2006-01-02 15:04"), len(a.Trials), b.Dir, b.Meta.Started.Format("2006-01-02 15:04"), len(b.Trials))
	s.WriteString("A difference is **marked** when the two 95 % confidence intervals do not overlap.\n\n")
	s.WriteString("| cell | metric | A | B | B − A | change |\n|---|---|---|---|---|---|\n")
	bc := map[string]CellResults{}
	for _, c := range b.Cells() {
		bc[c.Key] = c
	}
	matched := 0
	for _, ca := range a.Cells() {
		cb, ok := bc[ca.Key]
		if !ok {
			continue
		}
		matched++
		for _, name := range metricNames {
			sa, sb := ca.Metrics[name], cb.Metrics[name]
			if math.IsNaN(sa.Mean) && math.IsNaN(sb.Mean) {
				continue
			}
			d := metrics.Diff(sa, sb)
			change := "n/a"
			if !math.IsNaN(d.Relative) {
				change = fmt.Sprintf("%+.1f%%", d.Relative*100)
			}
			if !d.Overlap {
				change = "**" + change + "**"
			}
			fmt.Fprintf(&s, "| %s | %s | %s | %s | %s | %s |\n", ca.Key, name, formatSummary(name, sa), formatSummary(name, sb), format(name, d.Delta), change)
		}
	}
	if matched == 0 {
		s.WriteString("\nNo cell is in both runs (cells are matched by their parameter values).\n")
	}
	return s.String()
}

// MarshalJSON writes a cell's summaries with null for what is not a
// number (JSON has no NaN).
func (c CellResults) MarshalJSON() ([]byte, error) {
	num := func(v float64) any {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil
		}
		return v
	}
	ms := map[string]any{}
	for k, s := range c.Metrics {
		ms[k] = map[string]any{"n": s.N, "mean": num(s.Mean), "ci95": num(s.CI95), "stddev": num(s.StdDev), "min": num(s.Min), "max": num(s.Max)}
	}
	return json.Marshal(map[string]any{"cell": c.Cell, "key": c.Key, "values": c.Values, "trials": c.Trials, "invalid": c.Invalid, "metrics": ms})
}

// readRows reads a CSV file of dir as maps from its header's names.
func readRows(path string) ([]map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%s: empty", path)
	}
	out := make([]map[string]string, 0, len(rows)-1)
	for _, r := range rows[1:] {
		m := make(map[string]string, len(r))
		for i, h := range rows[0] {
			m[h] = r[i]
		}
		out = append(out, m)
	}
	return out, nil
}

// Flows reads flows.csv: one map per flow, by column name (see the
// README's results table; NA where a value does not apply).
func (r *Results) Flows() ([]map[string]string, error) {
	return readRows(filepath.Join(r.Dir, FlowsFile))
}

// SeriesPoint is one row of a trial's timeseries.
type SeriesPoint struct {
	T      float64 // seconds since the trial's time zero
	Series string  // flowN, or the bottleneck's NODE:IFACE>DIR
	Metric string  // goodput_bps, cwnd, srtt_s, queue_len, passed_bytes
	Value  float64
}

// Series reads timeseries/trial-N.csv.
func (r *Results) Series(trial int) ([]SeriesPoint, error) {
	path := filepath.Join(r.Dir, SeriesDir, fmt.Sprintf("trial-%d.csv", trial))
	rows, err := readRows(path)
	if err != nil {
		return nil, err
	}
	out := make([]SeriesPoint, 0, len(rows))
	for i, row := range rows {
		t, err1 := strconv.ParseFloat(row["t_s"], 64)
		v := math.NaN()
		var err2 error
		if row["value"] != "NA" {
			v, err2 = strconv.ParseFloat(row["value"], 64)
		}
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("%s:%d: not a row netlab wrote", path, i+2)
		}
		out = append(out, SeriesPoint{T: t, Series: row["series"], Metric: row["metric"], Value: v})
	}
	return out, nil
}
