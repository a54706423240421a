// Package experiment reads netlab's experiment files: a topology, a
// parameter matrix with repetitions, the links each cell sets, the
// workloads it runs, the events it schedules and the thresholds its
// results must meet. Load checks everything, in every cell, before
// anything runs; every problem is reported as file:line:col.
//
// A value anywhere under links:, workloads: and events: may name a matrix
// parameter as ${name}. A scalar that is only ${name} takes the value as
// the matrix wrote it; inside a longer string it is spliced in as text.
package experiment

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/netlab/netlab/internal/suggest"
	"github.com/netlab/netlab/internal/units"
)

// Defaults written once.
const (
	DefaultRepetitions = 1
	DefaultDuration    = 10 * time.Second
	DefaultSample      = 100 * time.Millisecond
	DefaultBottleneck  = "bottleneck"
	DefaultPort        = 5201
)

// Order of the cells.
const (
	OrderSequential = "sequential"
	OrderRandom     = "random"
)

// Experiment is a loaded, checked experiment file.
type Experiment struct {
	// File is the experiment file as given; Topology the absolute path of
	// the topology file it names.
	File     string
	Name     string
	Topology string
	// Params are the matrix's parameters, in the file's order.
	Params      []Param
	Repetitions int
	Order       string
	// Duration is how long a cell's traffic runs; Warmup its first part,
	// left out of the metrics.
	Duration, Warmup time.Duration
	// Sample is how often flows' state and the bottleneck are read.
	Sample time.Duration
	// Seed is where every cell's and repetition's seeds come from.
	Seed uint64
	// Bottleneck is the link whose rate, queue and loss are measured.
	Bottleneck string
	// Port is the first port of the sinks the cells start.
	Port    int
	Asserts []Assert
	// Cells are the matrix's cells less those excluded, in the file's
	// order (see RunOrder for the order they run in).
	Cells []*Cell
}

// Param is one matrix parameter and its values, as written.
type Param struct {
	Name   string   `json:"name"`
	Values []string `json:"values"`
}

// Cell is one combination of parameter values, with what it runs.
type Cell struct {
	// Index counts the cells of the matrix from 0 (excluded ones too, so
	// a cell's index does not move when an exclusion changes).
	Index int
	// Values are the cell's parameter values, by name.
	Values map[string]string
	// Links are the impairments the cell sets, in the file's order.
	Links     []LinkSetting
	Workloads []Workload
	Events    []Event
}

// Key is the cell's values as name=value pairs in matrix order, joined by
// commas: its name in results and on the terminal ("all" without a
// matrix).
func (c *Cell) Key(params []Param) string {
	if len(params) == 0 {
		return "all"
	}
	parts := make([]string, len(params))
	for i, p := range params {
		parts[i] = p.Name + "=" + c.Values[p.Name]
	}
	return strings.Join(parts, ",")
}

// LinkSetting is the impairment a cell gives a link (both directions).
type LinkSetting struct {
	// Link is a link's name or NODE:IFACE.
	Link string
	// Fields are netem keys and values, as topology.ParseImpairment reads
	// them.
	Fields map[string]string
	Pos    Pos
}

// Workload kinds.
const (
	KindBulk    = "bulk"
	KindProbe   = "probe"
	KindRR      = "rr"
	KindIncast  = "incast"
	KindPoisson = "poisson"
)

// workloadKinds are the kinds in the order messages list them.
var workloadKinds = []string{KindBulk, KindRR, KindIncast, KindPoisson, KindProbe}

// Workload is one workload of a cell.
type Workload struct {
	Kind string
	// From and To pick nodes: a name, a glob (snd*), a label (group=left),
	// or several of these joined by commas.
	From, To string
	// Flows is how many flows (bulk): flow j goes from the j-th sender to
	// the j-th receiver, both taken round-robin (the next receiver when
	// that is the sender itself).
	Flows int
	// CC is the flows' congestion control; empty keeps the nodes'.
	CC string
	// Bytes bounds each flow's size; 0 sends for the rest of the cell.
	Bytes int64
	// Start is when the first flow starts; Stagger the gap between
	// successive flows' starts.
	Start, Stagger time.Duration
	// Interval is a probe's gap between echo requests.
	Interval time.Duration
	// Requests is how many requests a connection of rr makes, or how
	// many queries incast makes; Response the size of each answer (rr)
	// or of each sender's block (incast); Every the gap between one's
	// requests (0: as soon as the previous is answered).
	Requests int
	Response int64
	Every    time.Duration
	// Senders, if not 0, takes an incast's first Senders nodes of From.
	Senders int
	// Rate is poisson's flow arrivals per second; Size their sizes.
	Rate float64
	Size SizeDist
	// SndBuf and RcvBuf are the socket buffers (SO_SNDBUF, SO_RCVBUF) of
	// the data's sender and receiver — for rr and incast the server and
	// the asking client — in bytes; 0 keeps the stacks' defaults.
	SndBuf, RcvBuf int
	Pos            Pos
}

// Event is a change at a time in a cell.
type Event struct {
	At time.Duration
	// Link is the link (name or NODE:IFACE) it changes; empty for a
	// node's event.
	Link string
	// Node is the node a "stop" or "start" changes.
	Node string
	// Action is "down", "up" or "set" (Fields then give the new netem
	// values, as LinkSetting's) for a link, "stop" or "start" for a node.
	Action string
	Fields map[string]string
	Pos    Pos
}

// Pos is a position in the experiment file.
type Pos struct{ Line, Col int }

// Error is one problem in an experiment file.
type Error struct {
	File      string
	Line, Col int
	Msg       string
}

func (e *Error) Error() string {
	if e.Line == 0 {
		return e.File + ": " + e.Msg
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
}

// ErrorList is every problem found, sorted by position.
type ErrorList []*Error

func (l ErrorList) Error() string {
	s := make([]string, len(l))
	for i, e := range l {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// Unwrap returns the errors, so errors.As finds an *Error.
func (l ErrorList) Unwrap() []error {
	out := make([]error, len(l))
	for i, e := range l {
		out[i] = e
	}
	return out
}

type loader struct {
	file string
	errs ErrorList
	seen map[string]bool // errors already reported (each cell re-reads the template)
}

func (ld *loader) errf(n *yaml.Node, format string, args ...any) {
	e := &Error{File: ld.file, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Col = n.Line, n.Column
	}
	if k := e.Error(); !ld.seen[k] {
		ld.seen[k] = true
		ld.errs = append(ld.errs, e)
	}
}

// topKeys are the keys of an experiment file.
var topKeys = []string{"name", "topology", "matrix", "exclude", "repetitions", "order", "duration", "warmup",
	"sample", "seed", "bottleneck", "port", "links", "workloads", "events", "assert"}

// Load reads and checks the experiment file at path.
func Load(path string) (*Experiment, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Parse reads and checks an experiment file's contents; name is the file's
// path (relative paths in it are taken from its directory).
func Parse(name string, data []byte) (*Experiment, error) {
	ld := &loader{file: name, seen: map[string]bool{}}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, ErrorList{{File: name, Msg: "not YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}}
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, ErrorList{{File: name, Msg: "an experiment file is a mapping (name:, topology:, matrix:, workloads:, ...)"}}
	}
	x := &Experiment{File: name, Repetitions: DefaultRepetitions, Order: OrderSequential, Duration: DefaultDuration,
		Sample: DefaultSample, Bottleneck: DefaultBottleneck, Port: DefaultPort}
	top := doc.Content[0]
	tmpl := map[string]*yaml.Node{}
	var matrix, exclude *yaml.Node
	for i := 0; i+1 < len(top.Content); i += 2 {
		k, v := top.Content[i], top.Content[i+1]
		switch k.Value {
		case "name":
			x.Name = ld.str(v)
		case "topology":
			if s := ld.str(v); s != "" {
				x.Topology = s
				if !filepath.IsAbs(s) {
					x.Topology = filepath.Join(filepath.Dir(name), s)
				}
				if abs, err := filepath.Abs(x.Topology); err == nil {
					x.Topology = abs
				}
				if _, err := os.Stat(x.Topology); err != nil {
					ld.errf(v, "topology %s: %v; give a topology file (netlab gen writes one)", s, errors.Unwrap(err))
				}
			}
		case "matrix":
			matrix = v
		case "exclude":
			exclude = v
		case "repetitions":
			x.Repetitions = ld.count(v, 1, 1000)
		case "order":
			x.Order = ld.oneOf(v, OrderSequential, OrderRandom)
		case "duration":
			x.Duration = ld.duration(v)
		case "warmup":
			x.Warmup = ld.duration(v)
		case "sample":
			x.Sample = ld.duration(v)
		case "seed":
			u, err := strconv.ParseUint(v.Value, 10, 64)
			if v.Kind != yaml.ScalarNode || err != nil {
				ld.errf(v, "bad seed %q: want a whole number ≥ 0", v.Value)
			}
			x.Seed = u
		case "bottleneck":
			x.Bottleneck = ld.str(v)
		case "port":
			x.Port = ld.count(v, 1, 65000)
		case "links", "workloads", "events":
			tmpl[k.Value] = v
		case "assert":
			x.Asserts = ld.asserts(v)
		default:
			if sug := suggest.Closest(k.Value, topKeys); sug != "" {
				ld.errf(k, "unknown key %q; did you mean %q? (allowed: %s)", k.Value, sug, strings.Join(topKeys, ", "))
			} else {
				ld.errf(k, "unknown key %q (allowed: %s)", k.Value, strings.Join(topKeys, ", "))
			}
		}
	}
	if x.Name == "" {
		x.Name = strings.TrimSuffix(filepath.Base(name), filepath.Ext(name))
	}
	if x.Topology == "" && !ld.has(top, "topology") {
		ld.errf(top, "no topology: name the topology file the experiment runs on (topology: FILE)")
	}
	if x.Sample <= 0 {
		ld.errf(ld.key(top, "sample"), "sample must be more than 0")
	}
	if x.Duration <= 0 {
		ld.errf(ld.key(top, "duration"), "duration must be more than 0")
	}
	if x.Warmup >= x.Duration && x.Duration > 0 {
		ld.errf(ld.key(top, "warmup"), "warmup %v must be shorter than duration %v: the metrics are taken after it", x.Warmup, x.Duration)
	}
	if tmpl["workloads"] == nil {
		ld.errf(top, "no workloads: say what traffic each cell runs (workloads: [{bulk: {from: ..., to: ...}}])")
	}
	x.Params = ld.matrix(matrix)
	excl := ld.exclusions(exclude, x.Params)
	x.Cells = ld.cells(x, tmpl, excl)
	if len(ld.errs) > 0 {
		slices.SortStableFunc(ld.errs, func(a, b *Error) int {
			return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
		})
		return nil, ld.errs
	}
	return x, nil
}

func (ld *loader) has(m *yaml.Node, key string) bool { return ld.key(m, key) != nil }

// key returns the key node of key in mapping m, or m itself when absent
// (a position to report at).
func (ld *loader) key(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i]
		}
	}
	return nil
}

func (ld *loader) str(v *yaml.Node) string {
	if v.Kind != yaml.ScalarNode {
		ld.errf(v, "want a single value here, not a list or mapping")
		return ""
	}
	return v.Value
}

func (ld *loader) count(v *yaml.Node, lo, hi int) int {
	n, err := strconv.Atoi(v.Value)
	if v.Kind != yaml.ScalarNode || err != nil || n < lo || n > hi {
		ld.errf(v, "bad number %q: want a whole number from %d to %d", v.Value, lo, hi)
		return lo
	}
	return n
}

func (ld *loader) oneOf(v *yaml.Node, allowed ...string) string {
	s := ld.str(v)
	if !slices.Contains(allowed, s) {
		ld.errf(v, "bad value %q (allowed: %s)", s, strings.Join(allowed, ", "))
		return allowed[0]
	}
	return s
}

func (ld *loader) duration(v *yaml.Node) time.Duration {
	d, err := units.ParseDuration(ld.str(v))
	if err != nil {
		ld.errf(v, "%v", err)
	}
	return d
}

func (ld *loader) size(v *yaml.Node) int64 {
	n, err := units.ParseSize(ld.str(v))
	if err != nil {
		ld.errf(v, "%v", err)
	}
	return n
}

var paramName = func(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if !(r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

func (ld *loader) matrix(m *yaml.Node) []Param {
	if m == nil {
		return nil
	}
	if m.Kind != yaml.MappingNode {
		ld.errf(m, "matrix: is a mapping of parameter names to lists of values (cc: [reno, cubic])")
		return nil
	}
	var out []Param
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if !paramName(k.Value) {
			ld.errf(k, "bad parameter name %q: letters, digits, _ and -, starting with a letter", k.Value)
			continue
		}
		p := Param{Name: k.Value}
		vals := []*yaml.Node{v}
		if v.Kind == yaml.SequenceNode {
			vals = v.Content
		}
		if len(vals) == 0 {
			ld.errf(v, "parameter %s has no values", k.Value)
		}
		for _, e := range vals {
			if e.Kind != yaml.ScalarNode {
				ld.errf(e, "parameter %s: a value is a single scalar, not a list or mapping", k.Value)
				continue
			}
			if slices.Contains(p.Values, e.Value) {
				ld.errf(e, "parameter %s: value %q twice", k.Value, e.Value)
				continue
			}
			p.Values = append(p.Values, e.Value)
		}
		out = append(out, p)
	}
	return out
}

// exclusions reads exclude: a list of mappings of parameter values; a
// cell matching all of one's pairs is left out.
func (ld *loader) exclusions(n *yaml.Node, params []Param) []map[string]string {
	if n == nil {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		ld.errf(n, "exclude: is a list of mappings of parameter values ({cc: reno, flows: 8})")
		return nil
	}
	var out []map[string]string
	for _, e := range n.Content {
		if e.Kind != yaml.MappingNode || len(e.Content) == 0 {
			ld.errf(e, "an exclusion is a mapping of parameter values ({cc: reno, flows: 8})")
			continue
		}
		m := map[string]string{}
		for i := 0; i+1 < len(e.Content); i += 2 {
			k, v := e.Content[i], e.Content[i+1]
			pi := slices.IndexFunc(params, func(p Param) bool { return p.Name == k.Value })
			if pi < 0 {
				ld.errf(k, "exclude names %q, not a matrix parameter (%s)", k.Value, paramNames(params))
				continue
			}
			if !slices.Contains(params[pi].Values, v.Value) {
				ld.errf(v, "exclude: %s has no value %q (its values: %s)", k.Value, v.Value, strings.Join(params[pi].Values, ", "))
				continue
			}
			m[k.Value] = v.Value
		}
		out = append(out, m)
	}
	return out
}

func paramNames(ps []Param) string {
	if len(ps) == 0 {
		return "the matrix has none"
	}
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = p.Name
	}
	return strings.Join(names, ", ")
}

// cells expands the matrix, leaves out the excluded cells and reads each
// one's links, workloads and events with its values substituted.
func (ld *loader) cells(x *Experiment, tmpl map[string]*yaml.Node, excl []map[string]string) []*Cell {
	total := 1
	for _, p := range x.Params {
		total *= max(1, len(p.Values))
	}
	if total > 100000 {
		ld.errf(nil, "the matrix has %d cells: at most 100000", total)
		return nil
	}
	var out []*Cell
	for idx := range total {
		vals := map[string]string{}
		rest := idx
		for i := len(x.Params) - 1; i >= 0; i-- {
			p := x.Params[i]
			if len(p.Values) == 0 {
				continue
			}
			vals[p.Name] = p.Values[rest%len(p.Values)]
			rest /= len(p.Values)
		}
		if excluded(vals, excl) {
			continue
		}
		c := &Cell{Index: idx, Values: vals}
		sub := func(n *yaml.Node) *yaml.Node { return ld.substitute(n, vals, x.Params) }
		if n := tmpl["links"]; n != nil {
			c.Links = ld.links(sub(n))
		}
		if n := tmpl["workloads"]; n != nil {
			c.Workloads = ld.workloads(sub(n), x)
		}
		if n := tmpl["events"]; n != nil {
			c.Events = ld.events(sub(n), x)
		}
		out = append(out, c)
	}
	if len(out) == 0 && total > 0 && len(ld.errs) == 0 {
		ld.errf(nil, "exclude: leaves no cell to run")
	}
	return out
}

func excluded(vals map[string]string, excl []map[string]string) bool {
	for _, m := range excl {
		all := true
		for k, v := range m {
			all = all && vals[k] == v
		}
		if all {
			return true
		}
	}
	return false
}

// substitute returns a copy of n with ${name} replaced by the cell's
// values.
func (ld *loader) substitute(n *yaml.Node, vals map[string]string, params []Param) *yaml.Node {
	c := *n
	if n.Kind == yaml.ScalarNode && strings.Contains(n.Value, "${") {
		var b strings.Builder
		s := n.Value
		for {
			i := strings.Index(s, "${")
			if i < 0 {
				b.WriteString(s)
				break
			}
			j := strings.Index(s[i:], "}")
			if j < 0 {
				ld.errf(n, "%q: ${ without its }", n.Value)
				b.WriteString(s)
				break
			}
			name := s[i+2 : i+j]
			v, ok := vals[name]
			if !ok {
				ld.errf(n, "${%s} is not a matrix parameter (%s)", name, paramNames(params))
				v = "${" + name + "}"
			}
			b.WriteString(s[:i] + v)
			s = s[i+j+1:]
		}
		c.Value = b.String()
		c.Tag, c.Style = "", 0 // as if the value were written here
		return &c
	}
	if len(n.Content) > 0 {
		c.Content = make([]*yaml.Node, len(n.Content))
		for i, e := range n.Content {
			c.Content[i] = ld.substitute(e, vals, params)
		}
	}
	return &c
}

// fields reads a mapping of netem keys as strings: scalars as they are,
// lists and mappings in YAML flow style on one line.
func (ld *loader) fields(n *yaml.Node) map[string]string {
	if n.Kind != yaml.MappingNode {
		ld.errf(n, "want a mapping of netem keys (delay: 10ms, rate: 20mbit, limit: 100, loss: 1%%, ...)")
		return nil
	}
	out := map[string]string{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if v.Kind == yaml.ScalarNode {
			out[k.Value] = v.Value
			continue
		}
		fv := *v
		fv.Style = yaml.FlowStyle
		b, err := yaml.Marshal(&fv)
		if err != nil {
			ld.errf(v, "%v", err)
			continue
		}
		out[k.Value] = strings.TrimSpace(string(b))
	}
	return out
}

func (ld *loader) links(n *yaml.Node) []LinkSetting {
	if n.Kind != yaml.MappingNode {
		ld.errf(n, "links: is a mapping of link names (or NODE:IFACE) to netem values (bottleneck: {rate: 20mbit})")
		return nil
	}
	var out []LinkSetting
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		out = append(out, LinkSetting{Link: k.Value, Fields: ld.fields(v), Pos: Pos{k.Line, k.Column}})
	}
	return out
}

var workloadKeys = map[string][]string{
	KindBulk:    {"from", "to", "flows", "cc", "bytes", "start", "stagger", "sndbuf", "rcvbuf"},
	KindRR:      {"from", "to", "flows", "cc", "requests", "response", "every", "start", "stagger", "sndbuf", "rcvbuf"},
	KindIncast:  {"from", "to", "senders", "block", "queries", "every", "cc", "start", "sndbuf", "rcvbuf"},
	KindPoisson: {"from", "to", "rate", "size", "cc", "start", "sndbuf", "rcvbuf"},
	KindProbe:   {"from", "to", "interval", "start"},
}

func (ld *loader) workloads(n *yaml.Node, x *Experiment) []Workload {
	if n.Kind != yaml.SequenceNode {
		ld.errf(n, "workloads: is a list, each item one workload ({bulk: {...}}, {rr: {...}}, {incast: {...}}, {poisson: {...}} or {probe: {...}})")
		return nil
	}
	var out []Workload
	for _, e := range n.Content {
		if e.Kind != yaml.MappingNode || len(e.Content) != 2 {
			ld.errf(e, "a workload is one of %s: {...}", strings.Join(workloadKinds, ", "))
			continue
		}
		k, v := e.Content[0], e.Content[1]
		keys, ok := workloadKeys[k.Value]
		if !ok {
			ld.errf(k, "unknown workload %q (allowed: %s)", k.Value, strings.Join(workloadKinds, ", "))
			continue
		}
		if v.Kind != yaml.MappingNode {
			ld.errf(v, "%s: want a mapping (%s)", k.Value, strings.Join(keys, ", "))
			continue
		}
		w := Workload{Kind: k.Value, Pos: Pos{k.Line, k.Column}, Flows: 1, Interval: 100 * time.Millisecond, Requests: 1}
		flowsGiven := false
		given := map[string]bool{}
		for i := 0; i+1 < len(v.Content); i += 2 {
			fk, fv := v.Content[i], v.Content[i+1]
			if !slices.Contains(keys, fk.Value) {
				ld.errf(fk, "%s has no key %q (allowed: %s)", k.Value, fk.Value, strings.Join(keys, ", "))
				continue
			}
			given[fk.Value] = true
			switch fk.Value {
			case "from":
				w.From = ld.str(fv)
			case "to":
				w.To = ld.str(fv)
			case "flows":
				w.Flows, flowsGiven = ld.count(fv, 1, 100000), true
			case "cc":
				w.CC = ld.oneOf(fv, "reno", "cubic")
			case "bytes":
				w.Bytes = ld.size(fv)
			case "start":
				w.Start = ld.duration(fv)
			case "stagger":
				w.Stagger = ld.duration(fv)
			case "interval":
				w.Interval = ld.duration(fv)
				if w.Interval < time.Millisecond {
					ld.errf(fv, "interval %v: at least 1ms", w.Interval)
				}
			case "requests", "queries":
				w.Requests = ld.count(fv, 1, 1000000)
			case "response", "block":
				w.Response = ld.size(fv)
				if w.Response <= 0 {
					ld.errf(fv, "%s: at least 1 byte", fk.Value)
				}
			case "every":
				w.Every = ld.duration(fv)
			case "senders":
				w.Senders = ld.count(fv, 1, 100000)
			case "rate":
				w.Rate = ld.perSecond(fv)
			case "size":
				w.Size = ld.sizeDist(fv, filepath.Dir(ld.file))
			case "sndbuf", "rcvbuf":
				b := ld.size(fv)
				if b < 1024 || b > 1<<30 {
					ld.errf(fv, "%s %d: a socket buffer of 1KiB to 1GiB", fk.Value, b)
				}
				if fk.Value == "sndbuf" {
					w.SndBuf = int(b)
				} else {
					w.RcvBuf = int(b)
				}
			}
		}
		for _, need := range map[string][]string{KindRR: {"response"}, KindIncast: {"block"}, KindPoisson: {"rate", "size"}}[w.Kind] {
			if !given[need] {
				ld.errf(k, "%s needs %s:", w.Kind, need)
			}
		}
		if w.From == "" || w.To == "" {
			ld.errf(k, "%s needs from: and to: (a node, a glob such as snd*, or a label such as group=left)", k.Value)
		}
		if (w.Kind == KindBulk || w.Kind == KindRR) && !flowsGiven {
			w.Flows = 0 // one per sender, once the senders are known
		}
		if w.Start >= x.Duration && x.Duration > 0 {
			ld.errf(k, "%s starts at %v, not before the cell ends (duration %v)", k.Value, w.Start, x.Duration)
		}
		out = append(out, w)
	}
	return out
}

// perSecond reads a rate of arrivals: 50/s, 50 (per second), 3000/min.
func (ld *loader) perSecond(v *yaml.Node) float64 {
	s := ld.str(v)
	num, unit, _ := strings.Cut(s, "/")
	f, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	mult := map[string]float64{"": 1, "s": 1, "min": 1.0 / 60, "ms": 1000}[strings.TrimSpace(unit)]
	if err != nil || mult == 0 || f <= 0 || f*mult > 100000 {
		ld.errf(v, "bad rate %q: arrivals per second, e.g. 50/s or 3000/min (at most 100000/s)", s)
		return 1
	}
	return f * mult
}

func (ld *loader) events(n *yaml.Node, x *Experiment) []Event {
	if n.Kind != yaml.SequenceNode {
		ld.errf(n, "events: is a list ({at: 5s, link: bottleneck, down: true}, {at: 8s, node: r1, stop: true})")
		return nil
	}
	var out []Event
	for _, e := range n.Content {
		if e.Kind != yaml.MappingNode {
			ld.errf(e, "an event is a mapping ({at: 5s, link: bottleneck, down: true} or {at: 5s, link: bottleneck, set: {rate: 5mbit}})")
			continue
		}
		ev := Event{Pos: Pos{e.Line, e.Column}}
		atGiven := false
		var fl flap
		for i := 0; i+1 < len(e.Content); i += 2 {
			k, v := e.Content[i], e.Content[i+1]
			switch k.Value {
			case "at":
				ev.At, atGiven = ld.duration(v), true
			case "link":
				ev.Link = ld.str(v)
			case "node":
				ev.Node = ld.str(v)
			case "down", "up", "stop", "start":
				if v.Value != "true" {
					ld.errf(v, "%s: true is the only value (write %s: true to undo it)", k.Value,
						map[string]string{"down": "up", "up": "down", "stop": "start", "start": "stop"}[k.Value])
				}
				ld.setAction(&ev, k, k.Value)
			case "set":
				ev.Fields = ld.fields(v)
				ld.setAction(&ev, k, "set")
			case "flap":
				fl = ld.flap(v)
				ld.setAction(&ev, k, "flap")
			default:
				ld.errf(k, "an event has no key %q (allowed: at, link, down, up, set, flap; node, stop, start)", k.Value)
			}
		}
		switch {
		case !atGiven:
			ld.errf(e, "the event needs at: (the time in the cell, e.g. 5s)")
		case ev.At >= x.Duration && x.Duration > 0:
			ld.errf(e, "the event at %v is not before the cell ends (duration %v)", ev.At, x.Duration)
		}
		nodeEvent := ev.Action == "stop" || ev.Action == "start"
		switch {
		case ev.Action == "":
			ld.errf(e, "the event needs what to do: down: true, up: true, set: {netem values} or flap: {down: 2s, up: 3s, count: 3} for a link:, stop: true or start: true for a node:")
		case nodeEvent && (ev.Node == "" || ev.Link != ""):
			ld.errf(e, "%s is a node's event: give node: (a node's name) and no link:", ev.Action)
		case !nodeEvent && (ev.Link == "" || ev.Node != ""):
			ld.errf(e, "%s is a link's event: give link: (a link's name or NODE:IFACE) and no node:", ev.Action)
		}
		if ev.Action != "flap" {
			out = append(out, ev)
			continue
		}
		// A flap is its outages: down, then up after fl.down, count
		// times, fl.up apart.
		for k := range fl.count {
			down := ev
			down.Action, down.At = "down", ev.At+time.Duration(k)*(fl.down+fl.up)
			up := down
			up.Action, up.At = "up", down.At+fl.down
			if up.At >= x.Duration && x.Duration > 0 {
				ld.errf(e, "the flap's outage %d ends at %v, not before the cell ends (duration %v)", k+1, up.At, x.Duration)
				break
			}
			out = append(out, down, up)
		}
	}
	slices.SortStableFunc(out, func(a, b Event) int { return cmp.Compare(a.At, b.At) })
	return out
}

// flap is an event's flap: count outages of down each, up apart.
type flap struct {
	down, up time.Duration
	count    int
}

// flap reads {down: 2s, up: 3s, count: 3}; every key is needed.
func (ld *loader) flap(n *yaml.Node) flap {
	var f flap
	if n.Kind != yaml.MappingNode {
		ld.errf(n, "flap: is a mapping, {down: 2s, up: 3s, count: 3}: each outage, the time up between them, how many")
		return f
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch k.Value {
		case "down":
			f.down = ld.duration(v)
		case "up":
			f.up = ld.duration(v)
		case "count":
			f.count = ld.count(v, 1, 1000)
		default:
			ld.errf(k, "flap has no key %q (allowed: down, up, count)", k.Value)
			continue
		}
		seen[k.Value] = true
	}
	for _, need := range []string{"down", "up", "count"} {
		if !seen[need] {
			ld.errf(n, "flap needs %s: ({down: 2s, up: 3s, count: 3})", need)
		}
	}
	if seen["down"] && f.down <= 0 {
		ld.errf(n, "flap: down: must be more than 0")
	}
	return f
}

func (ld *loader) setAction(ev *Event, k *yaml.Node, a string) {
	if ev.Action != "" {
		ld.errf(k, "one event does one thing: %s and %s both given (write two events at the same time)", ev.Action, a)
		return
	}
	ev.Action = a
}
