package web

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netlab/netlab/nodeagent"
	"github.com/netlab/netlab/stack"
	"github.com/netlab/netlab/topology"
	"github.com/netlab/netlab/trace"
)

// fakeAgent records the changes it is asked for and streams a handshake.
type fakeAgent struct {
	mu      sync.Mutex
	changes []nodeagent.ImpairChange
	events  int // how many trace events Trace sends
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

func (f *fakeAgent) Trace(ctx context.Context, each func(trace.Event)) error {
	l, r := netip.MustParseAddrPort("10.0.0.0:40000"), netip.MustParseAddrPort("10.0.0.1:5001")
	for i := 0; i < f.events; i++ {
		fl, kind := ".", trace.KindOut
		switch i {
		case 0:
			fl = "S"
		case 1:
			fl, kind = "S.", trace.KindIn
		}
		each(trace.Event{TimeUS: int64(i), Kind: kind, Local: l, Remote: r, Flags: fl})
	}
	<-ctx.Done()
	return nil
}

func testServer(t *testing.T, buffer, events int) (*httptest.Server, *fakeAgent, string) {
	t.Helper()
	plan, err := topology.Parse("x.yml", []byte("name: web\ntopology:\n  nodes:\n    h1: {}\n    h2: {}\n  links:\n    - name: wan\n      endpoints: [\"h1:eth1\", \"h2:eth1\"]\n      netem: {delay: 5ms}\n"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := NewToken()
	if err != nil {
		t.Fatal(err)
	}
	fa := &fakeAgent{events: events}
	h, err := Handler(Options{Plan: plan, Token: tok, StreamBuffer: buffer, Agent: func(node string) (Agent, error) {
		if plan.Node(node) == nil {
			return nil, errors.New("no node " + node)
		}
		return fa, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts, fa, tok
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
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", ts.URL+"/api/events?node=h1&token="+tok, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	sc := bufio.NewScanner(resp.Body)
	var flags []string
	dropped := false
	for sc.Scan() && !dropped {
		line := sc.Text()
		if d, ok := strings.CutPrefix(line, "data: "); ok && strings.HasPrefix(d, "{") {
			var e struct {
				Node  string      `json:"node"`
				Event trace.Event `json:"event"`
			}
			json.Unmarshal([]byte(d), &e)
			flags = append(flags, e.Event.Flags)
		}
		dropped = line == "event: dropped"
	}
	// A buffer of one event and 5000 sent at once: the first arrives, most
	// of the others are dropped, and the page is told.
	if len(flags) == 0 || flags[0] != "S" || !dropped {
		t.Errorf("events %q, dropped said %v; want the SYN first and the drops reported", flags, dropped)
	}
}
