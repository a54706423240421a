package web

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/netlab/netlab/nodeagent"
	"github.com/netlab/netlab/plot"
	"github.com/netlab/netlab/stack"
	"github.com/netlab/netlab/topology"
	"github.com/netlab/netlab/trace"
)

// fakeAgent records the changes it is asked for and streams a handshake.
type fakeAgent struct {
	mu      sync.Mutex
	changes []nodeagent.ImpairChange
	events  int             // how many trace events Trace sends
	dead    map[string]bool // nodes whose Status fails
	stream  []trace.Event   // when set, what Trace sends instead
}

func (f *fakeAgent) Sockets(context.Context) ([]stack.TCPInfo, error) {
	return []stack.TCPInfo{{State: "ESTABLISHED", Cwnd: 10}}, nil
}

func (f *fakeAgent) Impairments(context.Context) ([]nodeagent.ImpairState, error) {
	return []nodeagent.ImpairState{{Interface: "eth1"}}, nil
}

func (f *fakeAgent) ChangeImpairment(_ context.Context, ch nodeagent.ImpairChange) (nodeagent.ImpairState, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.changes = append(f.changes, ch)
	return nodeagent.ImpairState{Interface: ch.Interface, Egress: ch.Impairment}, nil
}

func (f *fakeAgent) TraceFrom(ctx context.Context, sel trace.Selector, subscribed func(), each func(trace.Event)) error {
	subscribed()
	f.mu.Lock()
	stream := f.stream
	f.mu.Unlock()
	if stream != nil {
		for _, e := range stream {
			if sel.Selects(&e) {
				each(e)
			}
		}
		<-ctx.Done()
		return nil
	}
	l, r := netip.MustParseAddrPort("10.0.0.0:40000"), netip.MustParseAddrPort("10.0.0.1:5001")
	if st := (trace.Event{Kind: trace.KindState, Local: l, Remote: r, State: "SYN-SENT", OldState: "CLOSED"}); f.events > 0 && sel.Selects(&st) {
		each(st)
	}
	for i := 0; i < f.events; i++ {
		fl, kind := ".", trace.KindOut
		switch i {
		case 0:
			fl = "S"
		case 1:
			fl, kind = "S.", trace.KindIn
		}
		if e := (trace.Event{TimeUS: int64(i), Kind: kind, Local: l, Remote: r, Flags: fl}); sel.Selects(&e) {
			each(e)
		}
	}
	<-ctx.Done()
	return nil
}

// nodeAgent is the fake agent as one node's: dead when the fake says so.
type nodeAgent struct {
	*fakeAgent
	node string
}

// TraceFrom streams the fake's events as node h1's; the other nodes'
// streams stay quiet.
func (n nodeAgent) TraceFrom(ctx context.Context, sel trace.Selector, subscribed func(), each func(trace.Event)) error {
	if n.node != "h1" {
		subscribed()
		<-ctx.Done()
		return nil
	}
	return n.fakeAgent.TraceFrom(ctx, sel, subscribed, each)
}

func (n nodeAgent) Status(context.Context) (nodeagent.NodeStatus, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.dead[n.node] {
		return nodeagent.NodeStatus{}, errors.New("the agent of node " + n.node + " does not answer")
	}
	return nodeagent.NodeStatus{Name: n.node, Stack: "go", Routes: []string{"default via 10.0.0.1"}}, nil
}

func testServer(t *testing.T, buffer, events int) (*httptest.Server, *fakeAgent, string) {
	t.Helper()
	ts, fa, tok, _ := testServerIn(t, buffer, events, true)
	return ts, fa, tok
}

// testServerIn serves the two-node lab, live or as the replay of a run,
// with the nodes' traces in the directory it returns (NODE.jsonl).
func testServerIn(t *testing.T, buffer, events int, live bool) (*httptest.Server, *fakeAgent, string, string) {
	t.Helper()
	plan, err := topology.Parse("x.yml", []byte("name: web\ntopology:\n  nodes:\n    h1: {}\n    h2: {}\n  links:\n    - name: wan\n      endpoints: [\"h1:eth1\", \"h2:eth1\"]\n      netem: {delay: 5ms}\n"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := NewToken()
	if err != nil {
		t.Fatal(err)
	}
	fa := &fakeAgent{events: events, dead: map[string]bool{}}
	dir := t.TempDir()
	o := Options{Plan: plan, Token: tok, StreamBuffer: buffer, Run: "r1",
		TraceFile: func(node string) string { return filepath.Join(dir, node+".jsonl") }}
	if live {
		o.Agent = func(node string) (Agent, error) {
			if plan.Node(node) == nil {
				return nil, errors.New("no node " + node)
			}
			return nodeAgent{fa, node}, nil
		}
	}
	h, err := Handler(o)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts, fa, tok, dir
}

// TestToken: every request without the token is refused with 401: the
// page, the API, the stream and the controls.
func TestToken(t *testing.T) {
	ts, fa, tok := testServer(t, 0, 3)
	wrong := tok[:len(tok)-1] + "0" // the token with its last digit changed
	if wrong == tok {
		wrong = tok[:len(tok)-1] + "1"
	}
	for _, tc := range []struct{ method, path, auth string }{
		{"GET", "/", ""}, {"GET", "/app.js", ""}, {"GET", "/api/lab", ""}, {"GET", "/api/events", ""},
		{"POST", "/api/impair", ""}, {"GET", "/api/lab?token=" + wrong, ""}, {"GET", "/api/lab", "Bearer nope"},
	} {
		req, _ := http.NewRequest(tc.method, ts.URL+tc.path, strings.NewReader(`{"target":"wan","down":true}`))
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("%s %s: %d, CORS %q; want 401 and no CORS", tc.method, tc.path, resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
		}
	}
	if len(fa.changes) != 0 {
		t.Errorf("a change went through without the token: %+v", fa.changes)
	}
	for _, p := range []string{"/?token=" + tok, "/app.js?token=" + tok} {
		resp, err := http.Get(ts.URL + p)
		if err != nil || resp.StatusCode != 200 {
			t.Errorf("GET %s with the token: %v %v", p, resp.Status, err)
		}
		resp.Body.Close()
	}
}

// TestAPI: the topology, a node's sockets, and the controls reaching the
// agents of the link's two ends; a control from another origin is refused.
func TestAPI(t *testing.T) {
	ts, fa, tok := testServer(t, 0, 3)
	get := func(path string, v any) int {
		req, _ := http.NewRequest("GET", ts.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		json.NewDecoder(resp.Body).Decode(v)
		return resp.StatusCode
	}
	var lab Lab
	if get("/api/lab", &lab); len(lab.Nodes) != 2 || len(lab.Links) != 1 || lab.Links[0].A != "h1:eth1" || lab.Links[0].Name != "wan" {
		t.Errorf("lab %+v", lab)
	}
	var socks []stack.TCPInfo
	if code := get("/api/nodes/h1/sockets", &socks); code != 200 || len(socks) != 1 {
		t.Errorf("sockets: %d %+v", code, socks)
	}
	if code := get("/api/nodes/nope/sockets", &socks); code != 404 {
		t.Errorf("sockets of no node: %d", code)
	}
	post := func(body, origin string) int {
		req, _ := http.NewRequest("POST", ts.URL+"/api/impair?token="+tok, strings.NewReader(body))
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(`{"target":"wan","set":{"delay":"20ms","loss":"1%"}}`, ts.URL); code != 200 {
		t.Fatalf("set: %d", code)
	}
	if len(fa.changes) != 2 || fa.changes[0].Impairment == nil || fa.changes[0].Impairment.Delay != 20*time.Millisecond {
		t.Errorf("changes %+v; want the delay at both ends", fa.changes)
	}
	for _, tc := range []struct {
		body, origin string
		want         int
	}{
		{`{"target":"wan","set":{"delay":"fast"}}`, "", 400},
		{`{"target":"nowhere","clear":true}`, "", 400},
		{`{"target":"wan"}`, "", 400},
		{`{"target":"wan","colour":"red"}`, "", 400},
		{`{"target":"wan","clear":true}`, "http://evil.example", 403},
		{`{"target":"wan","down":true}`, "", 200},
	} {
		if code := post(tc.body, tc.origin); code != tc.want {
			t.Errorf("POST %s (origin %q): %d; want %d", tc.body, tc.origin, code, tc.want)
		}
	}
}

// TestEvents: the stream carries the agents' events in order, and a page
// that cannot keep up is told how many it missed instead of slowing the lab.
func TestEvents(t *testing.T) {
	ts, _, tok := testServer(t, 1, 5000)
	sc := openStream(t, ts, "/api/events?node=h1&kind=in,out&token="+tok)
	var flags []string
	dropped := false
	for sc.Scan() && !dropped {
		line := sc.Text()
		if d, ok := strings.CutPrefix(line, "data: "); ok && strings.HasPrefix(d, "[") {
			for _, e := range decodeBatch(t, d) {
				flags = append(flags, e.Event.Flags)
			}
		}
		dropped = line == "event: dropped"
	}
	// A buffer of one event and 5000 sent at once: the first arrives, most
	// of the others are dropped, and the page is told.
	if err := sc.Err(); err != nil {
		t.Fatalf("reading the stream: %v", err)
	}
	if len(flags) == 0 || flags[0] != "S" || !dropped {
		t.Errorf("events %q, dropped said %v; want the SYN first and the drops reported", flags, dropped)
	}
}

// openStream opens the event stream at path (with its query and token),
// checks it is one, and returns a scanner of its lines; it is closed when
// the test ends.
func openStream(t *testing.T, ts *httptest.Server, path string) *bufio.Scanner {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", ts.URL+path, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	sc := bufio.NewScanner(resp.Body)
	// A message holds up to maxBatch events on one line: more than the
	// scanner's default 64 KiB.
	sc.Buffer(nil, 4<<20)
	return sc
}

// streamed is an event of the stream's "trace" messages.
type streamed struct {
	Node  string      `json:"node"`
	Event trace.Event `json:"event"`
}

func decodeBatch(t *testing.T, data string) []streamed {
	t.Helper()
	var b []streamed
	if err := json.Unmarshal([]byte(data), &b); err != nil {
		t.Fatalf("a trace message: %v: %.200s", err, data)
	}
	return b
}

// TestEventsBatched: events go to the page in batches, a message per
// StreamEvery (at most maxBatch events each), all of them and in order.
func TestEventsBatched(t *testing.T) {
	const n = 5000
	ts, _, tok := testServer(t, 2*n, n)
	sc := openStream(t, ts, "/api/events?node=h1&kind=in,out&token="+tok)
	var got []int64
	messages := 0
	for len(got) < n && sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok && strings.HasPrefix(d, "[") {
			messages++
			b := decodeBatch(t, d)
			if len(b) > maxBatch {
				t.Errorf("a message of %d events; want at most %d", len(b), maxBatch)
			}
			for _, e := range b {
				got = append(got, e.Event.TimeUS)
			}
		}
	}
	if len(got) != n || !slices.IsSorted(got) || got[0] != 0 {
		t.Fatalf("%d events (sorted %v); want all %d in order", len(got), slices.IsSorted(got), n)
	}
	// The fake sends all at once: the stream holds them in a few
	// messages (maxBatch each), never one per event.
	if messages > 2*(n/maxBatch+1) {
		t.Errorf("%d messages for %d events sent at once; want a few", messages, n)
	}
}

// getJSON asks the server for path with the token and decodes the answer
// into v; it returns the status code.
func getJSON(t *testing.T, ts *httptest.Server, tok, path string, v any) int {
	t.Helper()
	req, _ := http.NewRequest("GET", ts.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if v != nil {
		json.NewDecoder(resp.Body).Decode(v)
	}
	return resp.StatusCode
}

// transfer returns the client's events of a small transfer: handshake,
// three segments of 1000 bytes, the second dropped by the impairment and
// retransmitted after an RTO.
func transfer() []trace.Event {
	l, r := netip.MustParseAddrPort("10.0.0.0:40000"), netip.MustParseAddrPort("10.0.0.1:5001")
	ev := func(us int64, kind, flags string, seq, ack uint32, n int) trace.Event {
		return trace.Event{TimeUS: us, Kind: kind, Local: l, Remote: r, Flags: flags, Seq: seq, Ack: ack, Len: n,
			State: "ESTABLISHED", Cwnd: 10 * 1460, Ssthresh: 1 << 31, SRTTUS: 10000, RTOMS: 200, CAState: "open"}
	}
	syn := ev(1000, trace.KindOut, "S", 100, 0, 0)
	syn.State, syn.OldState = "SYN-SENT", "CLOSED"
	synack := ev(11000, trace.KindIn, "S.", 900, 101, 0)
	return []trace.Event{
		syn, synack,
		ev(11010, trace.KindOut, ".", 101, 901, 0),
		ev(11020, trace.KindOut, "P.", 101, 901, 1000),
		ev(11030, trace.KindOut, "P.", 1101, 901, 1000),
		{TimeUS: 11031, Kind: trace.KindDrop, Local: l, Remote: r, Flags: "P.", Seq: 1101, Ack: 901, Len: 1000, Reason: "loss", Ifname: "eth1", Dir: trace.DirEgress},
		ev(21000, trace.KindIn, ".", 901, 1101, 0),
		{TimeUS: 221000, Kind: trace.KindTimer, Local: l, Remote: r, Timer: "rto", State: "ESTABLISHED"},
		func() trace.Event { e := ev(221010, trace.KindOut, "P.", 1101, 901, 1000); e.Retrans = true; return e }(),
		ev(231000, trace.KindIn, ".", 901, 2101, 0),
	}
}

func writeTrace(t *testing.T, path string, evs []trace.Event, tail string) {
	t.Helper()
	var b strings.Builder
	for _, e := range evs {
		j, _ := json.Marshal(e)
		b.Write(j)
		b.WriteByte('\n')
	}
	b.WriteString(tail)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(b.String()); err != nil {
		t.Fatal(err)
	}
}

// TestRecordedConnection: the page's connections, a connection's events
// and its plots come from the node's recorded trace, read as it grows (a
// line the recorder has not finished is read once it is), and again whole
// when the recorder rotates the file.
func TestRecordedConnection(t *testing.T) {
	ts, _, tok, dir := testServerIn(t, 0, 0, true)
	path := filepath.Join(dir, "h1.jsonl")
	var conns []ConnInfo
	if code := getJSON(t, ts, tok, "/api/conns", &conns); code != 200 || len(conns) != 0 {
		t.Fatalf("before anything was recorded: %d %+v", code, conns)
	}
	evs := transfer()
	j, _ := json.Marshal(evs[4])
	cut := len(j) / 2
	writeTrace(t, path, evs[:4], string(j[:cut]))
	if getJSON(t, ts, tok, "/api/conns", &conns); len(conns) != 1 || conns[0].Conn != "10.0.0.0:40000->10.0.0.1:5001" || !conns[0].SYN || conns[0].Node != "h1" {
		t.Fatalf("conns %+v; want h1's one connection, with its SYN", conns)
	}
	q := "?node=h1&conn=" + url.QueryEscape(conns[0].Conn)
	var got []trace.Event
	if getJSON(t, ts, tok, "/api/conn/events"+q, &got); len(got) != 4 || got[0].Flags != "S" {
		t.Fatalf("%d events %+v; want the 4 complete lines, the SYN first", len(got), got)
	}
	// The recorder finishes its line and goes on.
	writeTrace(t, path, nil, string(j[cut:])+"\n")
	writeTrace(t, path, evs[5:], "")
	if getJSON(t, ts, tok, "/api/conn/events"+q, &got); len(got) != len(evs) {
		t.Fatalf("%d events after the recorder went on; want %d", len(got), len(evs))
	}
	var s Series
	if code := getJSON(t, ts, tok, "/api/conn/series"+q, &s); code != 200 {
		t.Fatalf("series: %d", code)
	}
	retrans := 0
	for _, seg := range s.Seq.Segments {
		if seg.Retrans {
			retrans++
		}
	}
	if len(s.Seq.Segments) < 3 || retrans != 1 || len(s.Cwn.Cwnd) == 0 || len(s.RTT.Firings) != 1 || s.T0 != 1000 {
		t.Errorf("series: %d segments (%d retransmitted), %d cwnd points, %d RTO firings, t0 %d µs; want ≥ 3 (1), some, 1, 1000",
			len(s.Seq.Segments), retrans, len(s.Cwn.Cwnd), len(s.RTT.Firings), s.T0)
	}
	// Rotation: the file becomes the rotated part, a new one starts.
	if err := os.Rename(path, trace.RotatedPath(path)); err != nil {
		t.Fatal(err)
	}
	more := transfer()
	for i := range more {
		more[i].TimeUS += 1e6
		more[i].Local = netip.MustParseAddrPort("10.0.0.0:40001")
	}
	writeTrace(t, path, more, "")
	if getJSON(t, ts, tok, "/api/conns", &conns); len(conns) != 2 {
		t.Errorf("after a rotation: %+v; want both connections", conns)
	}
	// The first connection's events are now in the rotated part.
	if getJSON(t, ts, tok, "/api/conn/events"+q, &got); len(got) != len(evs) || got[0].Flags != "S" {
		t.Errorf("after a rotation: %d events of the first connection; want its %d", len(got), len(evs))
	}
	q2 := "?node=h1&conn=" + url.QueryEscape("10.0.0.0:40001->10.0.0.1:5001")
	if getJSON(t, ts, tok, "/api/conn/events"+q2, &got); len(got) != len(more) {
		t.Errorf("after a rotation: %d events of the second connection; want %d", len(got), len(more))
	}
	for _, bad := range []string{"?node=h1&conn=1.2.3.4:1->5.6.7.8:2", "?node=nope&conn=x", q + "&instance=x"} {
		if code := getJSON(t, ts, tok, "/api/conn/events"+bad, nil); code == 200 {
			t.Errorf("events%s: 200; want an error", bad)
		}
	}
}

// TestReady: the stream says "ready" once the agents have subscribed it,
// before their first event.
func TestReady(t *testing.T) {
	ts, _, tok := testServer(t, 0, 3)
	sc := openStream(t, ts, "/api/events?node=h1&token="+tok)
	var kinds []string
	for !slices.Contains(kinds, "trace") && sc.Scan() { // batched: one "trace" message holds them all
		if k, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
			kinds = append(kinds, k)
		}
	}
	if len(kinds) < 2 || kinds[0] != "ready" || !slices.Contains(kinds, "trace") {
		t.Errorf("first events %q; want ready before any trace event", kinds)
	}
}

// TestNodesAlive: a node whose agent answers is alive, one whose agent
// does not is not, with why.
func TestNodesAlive(t *testing.T) {
	ts, fa, tok := testServer(t, 0, 0)
	fa.mu.Lock()
	fa.dead["h2"] = true
	fa.mu.Unlock()
	var states []NodeState
	if code := getJSON(t, ts, tok, "/api/nodes", &states); code != 200 || len(states) != 2 {
		t.Fatalf("%d %+v", code, states)
	}
	for _, s := range states {
		want := s.Name == "h1"
		if s.Alive != want || (s.Error == "") != want || want && (s.Status == nil || s.Status.Routes[0] != "default via 10.0.0.1") {
			t.Errorf("node %s: %+v; want alive %v", s.Name, s, want)
		}
	}
}

// TestReplay: without agents the page replays a run: the lab and what the
// traces recorded are there; nothing live is, and no control goes through.
func TestReplay(t *testing.T) {
	ts, _, tok, dir := testServerIn(t, 0, 0, false)
	writeTrace(t, filepath.Join(dir, "h1.jsonl"), transfer(), "")
	var lab Lab
	if getJSON(t, ts, tok, "/api/lab", &lab); lab.Live || lab.Run != "r1" || len(lab.Nodes) != 2 {
		t.Errorf("lab %+v; want the replay of run r1", lab)
	}
	var conns []ConnInfo
	if getJSON(t, ts, tok, "/api/conns", &conns); len(conns) != 1 {
		t.Errorf("conns %+v", conns)
	}
	for _, p := range []string{"/api/events", "/api/nodes", "/api/impairments", "/api/nodes/h1/sockets"} {
		if code := getJSON(t, ts, tok, p, nil); code != http.StatusConflict {
			t.Errorf("GET %s: %d; want 409 (nothing is live)", p, code)
		}
	}
	req, _ := http.NewRequest("POST", ts.URL+"/api/impair?token="+tok, strings.NewReader(`{"target":"wan","down":true}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusConflict {
		t.Errorf("a control in a replay: %d; want 409", resp.StatusCode)
	}
}

// TestThin: a long connection's lines are cut to the limit, keeping every
// retransmission, the first and last items, and each run's extremes.
func TestThin(t *testing.T) {
	var s Series
	for i := range 10000 {
		s.Seq.Segments = append(s.Seq.Segments, plot.Segment{T: float64(i), Start: int64(i), End: int64(i + 1), Retrans: i == 4321, Flags: "."})
		v := float64(i % 7)
		if i == 5555 {
			v = 1e6 // a spike
		}
		s.Cwn.Cwnd = append(s.Cwn.Cwnd, plot.Point{T: float64(i), V: v})
	}
	s.Seq.Segments[0].Flags = "S"
	s.thin(MaxPlotted)
	if !s.Thinned || len(s.Seq.Segments) > MaxPlotted+2 || len(s.Cwn.Cwnd) > MaxPlotted+1 {
		t.Fatalf("%d segments, %d cwnd points (thinned %v); want at most about %d", len(s.Seq.Segments), len(s.Cwn.Cwnd), s.Thinned, MaxPlotted)
	}
	retrans, spike := false, false
	for _, sg := range s.Seq.Segments {
		retrans = retrans || sg.Retrans
	}
	for i, p := range s.Cwn.Cwnd {
		spike = spike || p.V == 1e6
		if i > 0 && p.T <= s.Cwn.Cwnd[i-1].T {
			t.Fatalf("cwnd points out of order at %d", i)
		}
	}
	if !retrans || !spike || s.Seq.Segments[0].Flags != "S" || s.Cwn.Cwnd[len(s.Cwn.Cwnd)-1].T != 9999 {
		t.Errorf("retransmission kept %v, spike kept %v, SYN first %v, last point %v", retrans, spike, s.Seq.Segments[0].Flags, s.Cwn.Cwnd[len(s.Cwn.Cwnd)-1])
	}
	var short Series
	short.Cwn.Cwnd = []plot.Point{{T: 0, V: 1}, {T: 1, V: 2}}
	if short.thin(MaxPlotted); short.Thinned || len(short.Cwn.Cwnd) != 2 {
		t.Errorf("a short line was thinned: %+v", short.Cwn.Cwnd)
	}
}

// TestConnEventsCapped: a connection of more events than the page is sent
// comes as its first events and its latest, with how many were left out.
func TestConnEventsCapped(t *testing.T) {
	ts, _, tok, dir := testServerIn(t, 0, 0, true)
	evs := transfer()[:3] // the handshake
	last := evs[2]
	for i := range MaxConnEvents + 5000 {
		e := last
		e.TimeUS += int64(i + 1)
		e.Kind, e.Flags, e.Len = trace.KindOut, ".", 1000
		evs = append(evs, e)
	}
	writeTrace(t, filepath.Join(dir, "h1.jsonl"), evs, "")
	req, _ := http.NewRequest("GET", ts.URL+"/api/conn/events?node=h1&conn="+url.QueryEscape("10.0.0.0:40000->10.0.0.1:5001"), nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got []trace.Event
	json.NewDecoder(resp.Body).Decode(&got)
	omitted, _ := strconv.Atoi(resp.Header.Get("X-Netlab-Omitted"))
	if head := resp.Header.Get("X-Netlab-Head"); head != strconv.Itoa(ConnEventsHead) {
		t.Errorf("X-Netlab-Head %q; want %d", head, ConnEventsHead)
	}
	if len(got) != MaxConnEvents || omitted != len(evs)-MaxConnEvents || got[0].Flags != "S" || got[len(got)-1].TimeUS != evs[len(evs)-1].TimeUS {
		t.Errorf("%d events (omitted %d), first %q, last at %d; want %d, %d omitted, the SYN first, the latest last",
			len(got), omitted, got[0].Flags, got[len(got)-1].TimeUS, MaxConnEvents, len(evs)-MaxConnEvents)
	}
}

// wholeAgent is the fake as an agent that answers for all its nodes at
// once; asking it node by node is an error of the server.
type wholeAgent struct {
	nodeAgent
	t     *testing.T
	calls *atomic.Int32
	old   bool // an agent of an older netlab: no whole-agent requests
}

func (w wholeAgent) AgentKey() string { return "the one agent" }
func (w wholeAgent) AllImpairments(context.Context) (map[string][]nodeagent.ImpairState, error) {
	w.calls.Add(1)
	if w.old {
		return nil, fmt.Errorf("agent: /v1/impair: %w", nodeagent.ErrUnsupported)
	}
	return map[string][]nodeagent.ImpairState{"h1": {{Interface: "eth1"}}, "h2": {{Interface: "eth1", Down: true}}}, nil
}
func (w wholeAgent) AllStatus(context.Context) (map[string]nodeagent.NodeStatus, error) {
	w.calls.Add(1)
	if w.old {
		return nil, fmt.Errorf("agent: /v1/status: %w", nodeagent.ErrUnsupported)
	}
	return map[string]nodeagent.NodeStatus{"h1": {Name: "h1", Routes: []string{"default via 10.0.0.1"}}}, nil // h2 not served
}
func (w wholeAgent) Impairments(ctx context.Context) ([]nodeagent.ImpairState, error) {
	if w.old {
		return w.nodeAgent.Impairments(ctx)
	}
	w.t.Error("a node's impairments asked alone of an agent that answers for all")
	return nil, errors.New("no")
}
func (w wholeAgent) Status(ctx context.Context) (nodeagent.NodeStatus, error) {
	if w.old {
		return w.nodeAgent.Status(ctx)
	}
	w.t.Error("a node's status asked alone of an agent that answers for all")
	return nodeagent.NodeStatus{}, errors.New("no")
}

// wholeServer serves the two-node lab with both nodes on one wholeAgent
// (old: of an older netlab); it returns the agent's whole-request count.
func wholeServer(t *testing.T, old bool) (*httptest.Server, string, *atomic.Int32) {
	t.Helper()
	tok, _ := NewToken()
	fa := &fakeAgent{dead: map[string]bool{}}
	plan, err := topology.Parse("x.yml", []byte("name: web\ntopology:\n  nodes:\n    h1: {}\n    h2: {}\n  links:\n    - name: wan\n      endpoints: [\"h1:eth1\", \"h2:eth1\"]\n      netem: {delay: 5ms}\n"))
	if err != nil {
		t.Fatal(err)
	}
	calls := new(atomic.Int32)
	h, err := Handler(Options{Plan: plan, Token: tok, Run: "r1", TraceFile: func(string) string { return filepath.Join(t.TempDir(), "x") },
		Agent: func(node string) (Agent, error) { return wholeAgent{nodeAgent{fa, node}, t, calls, old}, nil }})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts, tok, calls
}

// TestWholeAgent: the links' counters and the nodes' states of nodes one
// agent serves come from one request to it each, not one per node.
func TestWholeAgent(t *testing.T) {
	ts, tok, calls := wholeServer(t, false)
	var links map[string]LinkState
	if code := getJSON(t, ts, tok, "/api/impairments", &links); code != 200 || len(links) != 2 || !links["h2:eth1"].Down || links["h1:eth1"].Down {
		t.Errorf("impairments: %d %+v; want h1:eth1 up, h2:eth1 down", code, links)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("%d requests to the agent for two nodes' impairments; want 1", n)
	}
	var states []NodeState
	if code := getJSON(t, ts, tok, "/api/nodes", &states); code != 200 || len(states) != 2 {
		t.Fatalf("nodes: %d %+v", code, states)
	}
	if !states[0].Alive || states[0].Status.Routes[0] != "default via 10.0.0.1" || states[1].Alive || !strings.Contains(states[1].Error, "does not serve") {
		t.Errorf("nodes %+v; want h1 alive with its route, h2 not served", states)
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("%d requests to the agent in all; want 2", n)
	}
}

// TestWholeAgentOlder: an agent started by an older netlab, which does not
// know the whole-agent requests, is asked node by node.
func TestWholeAgentOlder(t *testing.T) {
	ts, tok, _ := wholeServer(t, true)
	var links map[string]LinkState
	if code := getJSON(t, ts, tok, "/api/impairments", &links); code != 200 || len(links) != 2 {
		t.Errorf("impairments from an older agent: %d %+v; want both nodes' eth1", code, links)
	}
	var states []NodeState
	if code := getJSON(t, ts, tok, "/api/nodes", &states); code != 200 || len(states) != 2 || !states[0].Alive || !states[1].Alive {
		t.Errorf("nodes from an older agent: %d %+v; want both alive", code, states)
	}
}
