package web

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/netlab/netlab/plot"
	"github.com/netlab/netlab/topology"
	"github.com/netlab/netlab/trace"
)

// traceCacheConns is how many connections' recorded events the server
// keeps in memory at once (the least recently asked for goes first).
const traceCacheConns = 8

// traces reads the nodes' recorded traces for the page. What it keeps is
// the events of the connections the page shows (a 4-tuple of a node, all
// its instances), following each file as the agent appends to it: a
// request reads only what was written since the last one (all of it
// again when the file was rotated). The list of a node's connections is
// read from its whole trace each time it is asked for, and not kept: a
// node's trace holds every connection of a long lab.
type traces struct {
	path  func(node string) string
	mu    sync.Mutex
	conns map[string]*connTrace // by node and 4-tuple
	tick  int64                 // for least-recently-used eviction
}

// connTrace is one 4-tuple's events of a node's recorded trace (and the
// trace's "lost" events), as read so far.
type connTrace struct {
	mu     sync.Mutex
	path   string
	sel    trace.Selector
	fi     os.FileInfo // the file read, to notice a rotation
	offset int64       // bytes of it read, up to the last complete line
	events []trace.Event
	used   int64
}

func newTraces(path func(node string) string) *traces {
	return &traces{path: path, conns: map[string]*connTrace{}}
}

// conn returns node's recorded events of the 4-tuple sel names (and the
// trace's "lost" events) up to now. The slice is shared: callers must not
// change it.
func (t *traces) conn(node string, sel trace.Selector) ([]trace.Event, error) {
	key := node + "|" + sel.Conn()
	t.mu.Lock()
	ct := t.conns[key]
	if ct == nil {
		if len(t.conns) >= traceCacheConns {
			var oldest string
			for k, x := range t.conns {
				if oldest == "" || x.used < t.conns[oldest].used {
					oldest = k
				}
			}
			delete(t.conns, oldest)
		}
		ct = &connTrace{path: t.path(node), sel: trace.Selector{Local: sel.Local, Remote: sel.Remote}}
		t.conns[key] = ct
	}
	t.tick++
	ct.used = t.tick
	t.mu.Unlock()
	return ct.update()
}

// all reads node's whole recorded trace (what is complete of it), keeping
// nothing.
func (t *traces) all(node string) ([]trace.Event, error) {
	path := t.path(node)
	var evs []trace.Event
	if f, err := os.Open(trace.RotatedPath(path)); err == nil {
		evs, err = trace.Read(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", trace.RotatedPath(path), err)
		}
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return evs, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	_, err = readLines(f, path, 0, fi.Size(), trace.Selector{}, &evs)
	return evs, err
}

// update reads what was appended to the file since the last call.
func (ct *connTrace) update() ([]trace.Event, error) {
	ct.mu.Lock()
	defer ct.mu.Unlock()
	fi, err := os.Stat(ct.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil // nothing recorded yet
	}
	if err != nil {
		return nil, err
	}
	if ct.fi == nil || !os.SameFile(ct.fi, fi) || fi.Size() < ct.offset {
		// First read, or the recorder rotated the file: the rotated part
		// (complete), then the file from its start.
		// It is read a line at a time: the rotated part of a busy node's
		// trace holds hundreds of thousands of events, few of them ct's.
		ct.events, ct.offset = nil, 0
		rotated := trace.RotatedPath(ct.path)
		if f, err := os.Open(rotated); err == nil {
			fi, err := f.Stat()
			if err == nil {
				_, err = readLines(f, rotated, 0, fi.Size(), ct.sel, &ct.events)
			}
			f.Close()
			if err != nil {
				return nil, fmt.Errorf("%s: %w", rotated, err)
			}
		}
	}
	ct.fi = fi
	if fi.Size() == ct.offset {
		return ct.events, nil
	}
	f, err := os.Open(ct.path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ct.offset, err = readLines(f, ct.path, ct.offset, fi.Size(), ct.sel, &ct.events)
	return ct.events, err
}

// readLines appends to evs the events sel selects of f's complete lines
// from offset to size, and returns the offset after the last complete
// line (a line not yet complete is read next time).
func readLines(f *os.File, path string, offset, size int64, sel trace.Selector, evs *[]trace.Event) (int64, error) {
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return offset, err
	}
	br := bufio.NewReader(io.LimitReader(f, size-offset))
	for {
		line, err := br.ReadBytes('\n')
		if err != nil {
			return offset, nil
		}
		offset += int64(len(line))
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var e trace.Event
		if err := json.Unmarshal(line, &e); err != nil {
			return offset, fmt.Errorf("%s at byte %d: %w", path, offset-int64(len(line)), err)
		}
		if sel.Selects(&e) {
			*evs = append(*evs, e)
		}
	}
}

// ConnInfo is a connection of a node's recorded trace, as the page lists
// it.
type ConnInfo struct {
	Node string `json:"node"`
	// Conn is "local->remote"; with Instance it names the connection.
	Conn     string `json:"conn"`
	Instance int    `json:"instance"`
	// Label tells it from others on the same 4-tuple.
	Label string `json:"label"`
	// First and Last are its first and last event, in seconds on the
	// node's stack clock.
	First         float64 `json:"first"`
	Last          float64 `json:"last"`
	SYN           bool    `json:"syn"`
	BytesSent     int64   `json:"bytes_sent"`
	BytesReceived int64   `json:"bytes_received"`
	Retransmits   int     `json:"retransmits"`
	Events        int     `json:"events"`
}

// goNodes returns the lab's Go-stack nodes, the ones with a trace.
func goNodes(plan *topology.Lab) []string {
	var out []string
	for _, n := range plan.Nodes {
		if n.Stack == topology.StackGo {
			out = append(out, n.Name)
		}
	}
	return out
}

// conns lists the connections of the recorded traces of the nodes asked
// (?node=, repeated; every Go-stack node without one).
func (s *server) conns(w http.ResponseWriter, r *http.Request) {
	nodes := r.URL.Query()["node"]
	if len(nodes) == 0 {
		nodes = goNodes(s.o.Plan)
	}
	out := []ConnInfo{}
	for _, n := range nodes {
		if s.o.Plan.Node(n) == nil {
			httpError(w, http.StatusNotFound, "no node "+n)
			return
		}
		evs, err := s.traces.all(n)
		if err != nil {
			httpError(w, http.StatusInternalServerError, err.Error())
			return
		}
		for _, c := range trace.Conns(evs) {
			out = append(out, ConnInfo{Node: n, Conn: c.String(), Instance: c.Instance, Label: c.Label(),
				First: c.First.Seconds(), Last: c.Last.Seconds(), SYN: c.SYN,
				BytesSent: c.BytesSent, BytesReceived: c.BytesReceived, Retransmits: c.Retransmits, Events: c.Events})
		}
	}
	writeJSON(w, out)
}

// connOf finds the connection a request names (?node=&conn=local->remote
// &instance=N, the latest instance without one) in the node's recorded
// trace, and returns the trace with it.
func (s *server) connOf(w http.ResponseWriter, r *http.Request) ([]trace.Event, trace.Conn, bool) {
	q := r.URL.Query()
	node, key := q.Get("node"), q.Get("conn")
	if s.o.Plan.Node(node) == nil {
		httpError(w, http.StatusNotFound, "no node "+node)
		return nil, trace.Conn{}, false
	}
	inst := -1
	if v := q.Get("instance"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			httpError(w, http.StatusBadRequest, "instance: want 0, 1, 2...")
			return nil, trace.Conn{}, false
		}
		inst = n
	}
	sel, err := trace.ParseSelector(key, "")
	if err != nil || !sel.Local.IsValid() {
		httpError(w, http.StatusBadRequest, fmt.Sprintf("conn %q: want local->remote, e.g. 10.0.0.0:40000->10.0.0.1:5001", key))
		return nil, trace.Conn{}, false
	}
	evs, err := s.traces.conn(node, sel)
	if err != nil {
		httpError(w, http.StatusInternalServerError, err.Error())
		return nil, trace.Conn{}, false
	}
	var found *trace.Conn
	for _, c := range trace.Conns(evs) {
		if c.String() == key && (inst < 0 || c.Instance == inst) {
			found = &c
		}
	}
	if found == nil {
		httpError(w, http.StatusNotFound, fmt.Sprintf("node %s's trace has no connection %s (instance %s)", node, key, q.Get("instance")))
		return nil, trace.Conn{}, false
	}
	return evs, *found, true
}

// MaxConnEvents is how many of a connection's recorded events the page
// is sent at most: its first ConnEventsHead (the handshake) and its
// latest. A ladder shows a few hundred; a fast transfer records hundreds
// of thousands.
const (
	MaxConnEvents  = 20000
	ConnEventsHead = 500
)

// connEvents answers a connection's recorded events (for its ladder), at
// most MaxConnEvents of them; the header X-Netlab-Omitted says how many
// were left out between the first X-Netlab-Head ones and the latest.
func (s *server) connEvents(w http.ResponseWriter, r *http.Request) {
	evs, c, ok := s.connOf(w, r)
	if !ok {
		return
	}
	out := trace.Filter(evs, c)
	if out == nil {
		out = []trace.Event{}
	}
	if n := len(out); n > MaxConnEvents {
		cut := n - MaxConnEvents
		out = append(out[:ConnEventsHead:ConnEventsHead], out[ConnEventsHead+cut:]...)
		w.Header().Set("X-Netlab-Omitted", strconv.Itoa(cut))
		w.Header().Set("X-Netlab-Head", strconv.Itoa(ConnEventsHead))
	}
	writeJSON(w, out)
}

// Series is what the page plots of a connection: the same data as `netlab
// plot --kind seq|cwnd|rtt`, times in seconds since its first event.
type Series struct {
	Conn string `json:"conn"`
	// T0 is the connection's first event on the node's clock, in µs (a
	// trace event's t_us).
	T0  int64           `json:"t0_us"`
	Seq plot.SeqSeries  `json:"seq"`
	Cwn plot.CwndSeries `json:"cwnd"`
	RTT plot.RTTSeries  `json:"rtt"`
	// Thinned says some lines hold fewer items than the trace: see
	// MaxPlotted.
	Thinned bool `json:"thinned,omitempty"`
}

// series answers a connection's plot data, thinned to MaxPlotted items a
// line, without the lines the page does not draw (SACK marks and blocks,
// the send window).
func (s *server) series(w http.ResponseWriter, r *http.Request) {
	evs, c, ok := s.connOf(w, r)
	if !ok {
		return
	}
	seq := plot.TimeSequence(evs, c, plot.DirAuto)
	out := Series{Conn: c.String(), T0: seq.T0.Microseconds(), Seq: seq, Cwn: plot.Congestion(evs, c), RTT: plot.RTT(evs, c)}
	// What the page does not draw is not sent (`netlab plot` draws it).
	out.Seq.SACKs, out.Seq.SACKBlocks, out.Cwn.SndWnd = nil, nil, nil
	out.thin(MaxPlotted)
	writeJSON(w, out)
}

// MaxPlotted is how many items a line of the page's plots holds at most
// (a plot is a few hundred pixels wide: more would only weigh on the page
// and the lab). `netlab plot` draws every one.
const MaxPlotted = 1000

// thin cuts every line of s to at most max items: segments keep every
// retransmission, SYN and FIN and one in k of the others; step lines keep
// the lowest and highest point of each run of k, in time order.
func (s *Series) thin(limit int) {
	before := len(s.Seq.Segments) + len(s.Seq.ACKs) + len(s.Cwn.Cwnd) + len(s.RTT.Samples)
	s.Seq.Segments = thinSegments(s.Seq.Segments, limit)
	for _, p := range []*[]plot.Point{&s.Seq.ACKs, &s.Seq.Window, &s.Cwn.Cwnd, &s.Cwn.Ssthresh, &s.Cwn.InFlight,
		&s.Cwn.SndWnd, &s.RTT.SRTT, &s.RTT.RTO, &s.RTT.Samples} { // SndWnd: for other callers
		*p = thinPoints(*p, limit)
	}
	if len(s.Seq.SACKBlocks) > limit {
		s.Seq.SACKBlocks = s.Seq.SACKBlocks[:0]
	}
	s.Thinned = len(s.Seq.Segments)+len(s.Seq.ACKs)+len(s.Cwn.Cwnd)+len(s.RTT.Samples) < before
}

func thinSegments(segs []plot.Segment, limit int) []plot.Segment {
	if len(segs) <= limit {
		return segs
	}
	k := (len(segs) + limit - 1) / limit
	out := make([]plot.Segment, 0, limit*2)
	for i, sg := range segs {
		if i%k == 0 || sg.Retrans || strings.ContainsAny(sg.Flags, "SF") || i == len(segs)-1 {
			out = append(out, sg)
		}
	}
	return out
}

func thinPoints(pts []plot.Point, limit int) []plot.Point {
	if len(pts) <= limit {
		return pts
	}
	k := (len(pts) + limit/2 - 1) / (limit / 2)
	out := make([]plot.Point, 0, limit+1)
	for i := 0; i < len(pts); i += k {
		run := pts[i:min(i+k, len(pts))]
		lo, hi := 0, 0
		for j, p := range run {
			if p.V < run[lo].V {
				lo = j
			}
			if p.V > run[hi].V {
				hi = j
			}
		}
		out = append(out, run[min(lo, hi)])
		if lo != hi {
			out = append(out, run[max(lo, hi)])
		}
	}
	if last := pts[len(pts)-1]; out[len(out)-1] != last {
		out = append(out, last)
	}
	return out
}
