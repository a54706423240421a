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

// traceCacheNodes is how many nodes' recorded traces the server keeps in
// memory at once (the least recently asked for goes first).
const traceCacheNodes = 8

// traces reads the nodes' recorded traces for the page, following each
// file as the agent appends to it: a request reads only what was written
// since the last one (all of it again when the file was rotated).
type traces struct {
	path func(node string) string
	mu   sync.Mutex
	byNd map[string]*nodeTrace
	tick int64 // for least-recently-used eviction
}

// nodeTrace is one node's recorded trace as read so far.
type nodeTrace struct {
	mu     sync.Mutex
	path   string
	fi     os.FileInfo // the file read, to notice a rotation
	offset int64       // bytes of it read, up to the last complete line
	events []trace.Event
	used   int64
}

func newTraces(path func(node string) string) *traces {
	return &traces{path: path, byNd: map[string]*nodeTrace{}}
}

// events returns node's recorded events up to now. The slice is shared:
// callers must not change it.
func (t *traces) events(node string) ([]trace.Event, error) {
	t.mu.Lock()
	nt := t.byNd[node]
	if nt == nil {
		if len(t.byNd) >= traceCacheNodes {
			var oldest string
			for name, x := range t.byNd {
				if oldest == "" || x.used < t.byNd[oldest].used {
					oldest = name
				}
			}
			delete(t.byNd, oldest)
		}
		nt = &nodeTrace{path: t.path(node)}
		t.byNd[node] = nt
	}
	t.tick++
	nt.used = t.tick
	t.mu.Unlock()
	return nt.update()
}

// update reads what was appended to the file since the last call.
func (nt *nodeTrace) update() ([]trace.Event, error) {
	nt.mu.Lock()
	defer nt.mu.Unlock()
	fi, err := os.Stat(nt.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil // nothing recorded yet
	}
	if err != nil {
		return nil, err
	}
	if nt.fi == nil || !os.SameFile(nt.fi, fi) || fi.Size() < nt.offset {
		// First read, or the recorder rotated the file: the rotated part
		// (complete), then the file from its start.
		nt.events, nt.offset = nil, 0
		if f, err := os.Open(trace.RotatedPath(nt.path)); err == nil {
			evs, err := trace.Read(f)
			f.Close()
			if err != nil {
				return nil, fmt.Errorf("%s: %w", trace.RotatedPath(nt.path), err)
			}
			nt.events = evs
		}
	}
	nt.fi = fi
	if fi.Size() == nt.offset {
		return nt.events, nil
	}
	f, err := os.Open(nt.path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, err := f.Seek(nt.offset, io.SeekStart); err != nil {
		return nil, err
	}
	br := bufio.NewReader(io.LimitReader(f, fi.Size()-nt.offset))
	for {
		line, err := br.ReadBytes('\n')
		if err != nil {
			break // a line not yet complete is read next time
		}
		nt.offset += int64(len(line))
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var e trace.Event
		if err := json.Unmarshal(line, &e); err != nil {
			return nil, fmt.Errorf("%s at byte %d: %w", nt.path, nt.offset-int64(len(line)), err)
		}
		nt.events = append(nt.events, e)
	}
	return nt.events, nil
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
		evs, err := s.traces.events(n)
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
	evs, err := s.traces.events(node)
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
// were left out between the first ones and the latest.
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
// line.
func (s *server) series(w http.ResponseWriter, r *http.Request) {
	evs, c, ok := s.connOf(w, r)
	if !ok {
		return
	}
	seq := plot.TimeSequence(evs, c, plot.DirAuto)
	out := Series{Conn: c.String(), T0: seq.T0.Microseconds(), Seq: seq, Cwn: plot.Congestion(evs, c), RTT: plot.RTT(evs, c)}
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
		&s.Cwn.SndWnd, &s.RTT.SRTT, &s.RTT.RTO, &s.RTT.Samples} {
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
