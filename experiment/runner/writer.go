package runner

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/netlab/netlab/experiment"
	"github.com/netlab/netlab/experiment/metrics"
	"github.com/netlab/netlab/topology"
)

// The files of a results directory.
const (
	ResultsFile  = "results.csv"
	FlowsFile    = "flows.csv"
	MetadataFile = "metadata.json"
	ReportFile   = "report.md"
	SeriesDir    = "timeseries"
)

// Metadata is metadata.json: what ran, where, and with which seeds.
type Metadata struct {
	Netlab      string             `json:"netlab"`
	Experiment  string             `json:"experiment"`
	File        string             `json:"file"`
	FileSHA256  string             `json:"file_sha256"`
	Topology    string             `json:"topology"`
	TopoSHA256  string             `json:"topology_sha256"`
	Lab         string             `json:"lab"`
	Seed        uint64             `json:"seed"`
	Params      []experiment.Param `json:"params"`
	Repetitions int                `json:"repetitions"`
	Order       string             `json:"order"`
	Duration    string             `json:"duration"`
	Warmup      string             `json:"warmup"`
	Sample      string             `json:"sample"`
	Bottleneck  string             `json:"bottleneck"`
	// Clock is "real" (a deployed lab) or "virtual" (package sim).
	Clock       string         `json:"clock"`
	Asserts     []AssertMeta   `json:"asserts,omitempty"`
	Limits      Limits         `json:"limits"`
	Machine     map[string]any `json:"machine"`
	GoVersion   string         `json:"go"`
	Started     time.Time      `json:"started"`
	Ended       time.Time      `json:"ended,omitzero"`
	Interrupted bool           `json:"interrupted"`
	Trials      []TrialMeta    `json:"trials"`
}

// AssertMeta is a threshold in metadata.json, with where the file gave it.
type AssertMeta struct {
	Text string `json:"text"`
	Line int    `json:"line"`
	Col  int    `json:"col"`
}

// TrialMeta is one trial in metadata.json.
type TrialMeta struct {
	N       int               `json:"n"`
	Cell    int               `json:"cell"`
	Values  map[string]string `json:"values"`
	Rep     int               `json:"rep"`
	Seed    uint64            `json:"seed"`
	Start   time.Time         `json:"start"`
	Valid   bool              `json:"valid"`
	Invalid []string          `json:"invalid,omitempty"`
	Events  []EventMeta       `json:"events,omitempty"`
}

// EventMeta is a scheduled event as it happened: when, in seconds since
// the trial's time zero, on which link ("down", "up", "set") or node
// ("stop", "start"), and what.
type EventMeta struct {
	At     float64 `json:"at_s"`
	Link   string  `json:"link,omitempty"`
	Node   string  `json:"node,omitempty"`
	Action string  `json:"action"`
}

// Label is "LINK ACTION" or "NODE ACTION".
func (e EventMeta) Label() string { return strings.TrimSpace(e.Link+e.Node) + " " + e.Action }

type writer struct {
	x       *experiment.Experiment
	dir     string
	meta    Metadata
	results *csvFile
	flows   *csvFile
}

type csvFile struct {
	f *os.File
	w *csv.Writer
}

func newCSV(path string, header []string) (*csvFile, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	c := &csvFile{f: f, w: csv.NewWriter(f)}
	c.w.Write(header)
	return c, nil
}

func (c *csvFile) write(rows [][]string) error {
	c.w.WriteAll(rows) // flushes
	return c.w.Error()
}

func newWriter(x *experiment.Experiment, o Options, lab *topology.Lab) (*writer, error) {
	w := &writer{x: x, dir: o.Out}
	w.meta = Metadata{Netlab: o.Version, Experiment: x.Name, File: x.File, FileSHA256: fileHash(x.File),
		Topology: x.Topology, TopoSHA256: fileHash(x.Topology), Lab: lab.Name, Seed: x.Seed, Params: x.Params,
		Repetitions: x.Repetitions, Order: x.Order, Duration: x.Duration.String(), Warmup: x.Warmup.String(),
		Sample: x.Sample.String(), Bottleneck: x.Bottleneck, Clock: clockName(o.Virtual), Machine: machine(), GoVersion: goVersion(), Started: time.Now(),
		Limits: o.limits()}
	for _, a := range x.Asserts {
		w.meta.Asserts = append(w.meta.Asserts, AssertMeta{a.Text, a.Pos.Line, a.Pos.Col})
	}
	if err := os.MkdirAll(filepath.Join(o.Out, SeriesDir), 0o755); err != nil {
		return nil, err
	}
	params := paramNames(x)
	var err error
	if w.results, err = newCSV(filepath.Join(o.Out, ResultsFile),
		append(append([]string{"trial", "cell", "rep", "seed"}, params...), "metric", "value", "unit", "valid")); err != nil {
		return nil, err
	}
	if w.flows, err = newCSV(filepath.Join(o.Out, FlowsFile), append(append([]string{"trial", "cell", "rep"}, params...),
		"flow", "workload", "from", "to", "cc", "size", "bytes", "start_s", "skew_s", "fct_s", "slowdown", "goodput_bps",
		"retrans", "rtos", "fast_retrans", "spurious_retrans", "srtt_s", "min_rtt_s", "max_cwnd", "complete", "cut", "error")); err != nil {
		return nil, err
	}
	return w, w.writeMeta()
}

func clockName(virtual bool) string {
	if virtual {
		return "virtual"
	}
	return "real"
}

func paramNames(x *experiment.Experiment) []string {
	out := make([]string, len(x.Params))
	for i, p := range x.Params {
		out[i] = p.Name
	}
	return out
}

func goVersion() string {
	return strings.TrimPrefix(runtimeVersion(), "go")
}

func (w *writer) writeMeta() error {
	b, err := json.MarshalIndent(w.meta, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(w.dir, MetadataFile), append(b, '\n'), 0o644)
}

func num(v float64) string {
	if math.IsNaN(v) {
		return "NA"
	}
	return strconv.FormatFloat(v, 'g', 8, 64)
}

func secs(d time.Duration) string { return num(d.Seconds()) }

// add writes r's rows and its timeseries.
func (w *writer) add(r *trialResult) error {
	c := r.trial.Cell
	vals := make([]string, len(w.x.Params))
	for i, p := range w.x.Params {
		vals[i] = c.Values[p.Name]
	}
	valid := "1"
	if !r.valid() {
		valid = "0"
	}
	var rows [][]string
	for _, d := range experiment.Metrics {
		row := append(append([]string{strconv.Itoa(r.n), strconv.Itoa(c.Index), strconv.Itoa(r.trial.Rep), strconv.FormatUint(r.trial.Seed, 10)}, vals...),
			d.Name, num(r.m[d.Name]), string(d.Unit), valid)
		rows = append(rows, row)
	}
	if err := w.results.write(rows); err != nil {
		return err
	}
	rows = rows[:0]
	for _, f := range r.flows {
		size := ""
		if f.spec.Bytes > 0 {
			size = strconv.FormatInt(f.spec.Bytes, 10)
		}
		fct := "NA"
		if d := f.fct(); d > 0 {
			fct = secs(d)
		}
		slowdown := "NA"
		if f.slowdown > 0 {
			slowdown = num(f.slowdown)
		}
		start := "NA"
		if !f.rep.Start.IsZero() {
			start = secs(f.rep.Start.Sub(r.at))
		}
		row := append(append([]string{strconv.Itoa(r.n), strconv.Itoa(c.Index), strconv.Itoa(r.trial.Rep)}, vals...),
			strconv.Itoa(f.spec.ID), strconv.Itoa(f.workload+1), f.from, f.to, f.rep.CC, size, strconv.FormatInt(f.rep.Bytes, 10),
			start, secs(f.rep.Skew), fct, slowdown, num(r.goodput(w.x, f)),
			strconv.FormatUint(f.rep.Retrans, 10), strconv.FormatUint(f.rep.RTOs, 10), strconv.FormatUint(f.rep.FastRetrans, 10),
			strconv.FormatUint(f.rep.Spurious, 10),
			secs(f.rep.SRTT), secs(f.rep.MinRTT), strconv.FormatUint(uint64(f.rep.MaxCwndSegs), 10),
			strconv.FormatBool(f.complete()), strconv.FormatBool(f.rep.Cut), f.rep.Error)
		rows = append(rows, row)
	}
	if err := w.flows.write(rows); err != nil {
		return err
	}
	if err := w.writeSeries(r); err != nil {
		return err
	}
	w.meta.Trials = append(w.meta.Trials, TrialMeta{N: r.n, Cell: c.Index, Values: c.Values, Rep: r.trial.Rep, Seed: r.trial.Seed,
		Start: r.at, Valid: r.valid(), Invalid: r.why, Events: r.events})
	return w.writeMeta()
}

// writeSeries writes timeseries/trial-N.csv: per flow its goodput (at the
// receiver), cwnd and srtt (at the sender) every sample interval, and the
// bottleneck's queue.
func (w *writer) writeSeries(r *trialResult) error {
	f, err := os.Create(filepath.Join(w.dir, SeriesDir, fmt.Sprintf("trial-%d.csv", r.n)))
	if err != nil {
		return err
	}
	defer f.Close()
	cw := csv.NewWriter(f)
	cw.Write([]string{"t_s", "series", "metric", "value"})
	for _, fl := range r.flows {
		name := "flow" + strconv.Itoa(fl.spec.ID)
		if s := r.received(fl); len(s) > 0 {
			for k, v := range metrics.Rates(s, 0, w.x.Duration, w.x.Sample) {
				t := time.Duration(k+1) * w.x.Sample
				cw.Write([]string{secs(t), name, "goodput_bps", num(v)})
			}
		}
		for _, s := range fl.rep.Samples {
			cw.Write([]string{secs(s.At), name, "cwnd", strconv.FormatUint(uint64(s.CwndSegs), 10)})
			cw.Write([]string{secs(s.At), name, "srtt_s", secs(s.SRTT)})
		}
	}
	for _, s := range r.link {
		for _, l := range s.links {
			name := fmt.Sprintf("%s:%s>%s", l.side.Node, l.side.Interface, l.side.Dir)
			cw.Write([]string{secs(s.at), name, "queue_len", strconv.Itoa(l.stats.QueueLen)})
			cw.Write([]string{secs(s.at), name, "passed_bytes", strconv.FormatUint(l.stats.PassedBytes, 10)})
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return f.Close()
}

// close writes the final metadata, then renders the report from the
// directory, as `experiment report` does, and says which thresholds failed.
func (w *writer) close(out *Outcome) error {
	w.results.f.Close()
	w.flows.f.Close()
	w.meta.Ended, w.meta.Interrupted = time.Now(), out.Interrupted
	if err := w.writeMeta(); err != nil {
		return err
	}
	failed, err := Report(w.dir)
	out.Failed = failed
	return err
}

// format writes v in its metric's unit, for people.
func format(metric string, v float64) string {
	if math.IsNaN(v) {
		return "n/a"
	}
	d, _ := experiment.MetricByName(metric)
	switch d.Unit {
	case experiment.UnitRate:
		return fmt.Sprintf("%.2f Mbit/s", v/1e6)
	case experiment.UnitSeconds:
		return fmt.Sprintf("%.2f ms", v*1e3)
	case experiment.UnitFraction:
		return fmt.Sprintf("%.2f%%", v*100)
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

// line is the trial's one-line summary for the terminal.
func (r *trialResult) line() string {
	s := fmt.Sprintf("%d flows (%d failed), goodput %s, jain %s, rtt p99 %s, retrans %s",
		len(r.flows), int(r.m["flows_failed"]), format("goodput", r.m["goodput"]), format("jain", r.m["jain"]),
		format("rtt_p99", r.m["rtt_p99"]), format("retrans_rate", r.m["retrans_rate"]))
	if !r.valid() {
		s += "; INVALID: " + strings.Join(r.why, "; ")
	}
	return s
}
