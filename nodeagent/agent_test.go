package nodeagent

import (
	"bytes"
	"context"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netlab/netlab/stack/link"
	"github.com/netlab/netlab/stack/link/pipe"
	"github.com/netlab/netlab/topology"
	"github.com/netlab/netlab/trace"
)

// pipeLinks gives every link of the plan an in-memory pipe.
func pipeLinks(t *testing.T, lab *topology.Lab) func(node, ns, ifname string) (link.Endpoint, error) {
	t.Helper()
	eps := map[string]link.Endpoint{}
	for _, l := range lab.Links {
		a, b := pipe.Pair(pipe.Async, l.MTU, net.HardwareAddr(l.A.MAC[:]), net.HardwareAddr(l.B.MAC[:]))
		eps[l.A.String()] = a
		eps[l.B.String()] = b
		t.Cleanup(func() { a.Close(); b.Close() })
	}
	var mu sync.Mutex
	return func(node, _, ifname string) (link.Endpoint, error) {
		mu.Lock()
		defer mu.Unlock()
		ep, ok := eps[node+":"+ifname]
		if !ok {
			return nil, errors.New("no pipe for " + node + ":" + ifname)
		}
		return ep, nil
	}
}

// startAgent serves the whole lab over a unix socket in a temp dir.
func startAgent(t *testing.T, file string) (*topology.Lab, string) {
	t.Helper()
	lab, err := topology.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	var refs []NodeRef
	for _, n := range lab.Nodes {
		refs = append(refs, NodeRef{Name: n.Name})
	}
	a, err := New(context.Background(), Config{Lab: lab, Nodes: refs, OpenLink: pipeLinks(t, lab)})
	if err != nil {
		t.Fatal(err)
	}
	return lab, serveAgent(t, a)
}

// serveAgent serves a's API on a unix socket in a temp dir until the test
// ends, then closes a, and returns the socket's path.
func serveAgent(t *testing.T, a *Agent) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "agent.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		a.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.Serve(ctx, ln); close(done) }()
	t.Cleanup(func() { cancel(); <-done; a.Close() })
	return sock
}

func TestAgentSinkSendPingTrace(t *testing.T) {
	lab, sock := startAgent(t, "../examples/two-hosts.yml")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	h1, h2 := NewClient(sock, "h1"), NewClient(sock, "h2")
	if _, err := h1.Health(ctx); err != nil {
		t.Fatal(err)
	}
	app, err := h2.StartApp(ctx, AppSpec{Mode: "sink", Port: 5001})
	if err != nil {
		t.Fatal(err)
	}
	dst := lab.Node("h2").Interfaces[0].Addr.Addr()

	var events []trace.Event
	var evMu sync.Mutex
	tctx, tcancel := context.WithCancel(ctx)
	traced := make(chan error, 1)
	go func() {
		traced <- h1.Trace(tctx, func(e trace.Event) { evMu.Lock(); events = append(events, e); evMu.Unlock() })
	}()
	time.Sleep(100 * time.Millisecond) // let the trace subscribe
	if _, err := h1.Send(ctx, SendSpec{To: dst.String() + ":5001", Bytes: 100 << 10}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	tcancel()
	<-traced

	rep, err := h1.Send(ctx, SendSpec{To: dst.String() + ":5001", Bytes: 10 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Bytes != 10<<20 || rep.GoodputMbps <= 0 || rep.MSS != 1448 {
		t.Fatalf("send report %+v: want 10 MiB, goodput > 0, mss 1448", rep)
	}
	deadline := time.Now().Add(5 * time.Second)
	var apps []AppInfo
	for time.Now().Before(deadline) {
		apps, _ = h2.Apps(ctx)
		if len(apps) == 1 && apps[0].LastSHA256 != "" {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(apps) != 1 || apps[0].ID != app.ID || apps[0].LastSHA256 != rep.SHA256 || apps[0].Bytes != rep.Bytes+100<<10 || apps[0].Accepted != 2 {
		t.Fatalf("sink saw %+v; sender sha256 %s bytes %d", apps, rep.SHA256, rep.Bytes)
	}

	var replies []PingReply
	if err := h1.Ping(ctx, PingSpec{To: dst.String(), Count: 3, Interval: 10 * time.Millisecond}, func(p PingReply) { replies = append(replies, p) }); err != nil {
		t.Fatal(err)
	}
	if len(replies) != 3 || replies[0].Lost || replies[2].TTL != 64 {
		t.Fatalf("ping replies %+v, want 3 answered with TTL 64", replies)
	}

	evMu.Lock()
	defer evMu.Unlock()
	var syn, fin, states bool
	for _, e := range events {
		syn = syn || (e.Kind == "out" && e.Flags == "S")
		fin = fin || (e.Kind == "out" && strings.Contains(e.Flags, "F"))
		states = states || (e.Kind == "state" && e.State == "ESTABLISHED")
	}
	if !syn || !fin || !states {
		t.Fatalf("trace of %d events: SYN %v FIN %v ESTABLISHED %v; want all", len(events), syn, fin, states)
	}

	socks, err := h1.Sockets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(socks) != 2 || socks[0].State != "TIME-WAIT" || socks[1].State != "TIME-WAIT" {
		t.Fatalf("h1 sockets after two sends: %+v, want two in TIME-WAIT", socks)
	}
	st, err := h1.Status(ctx)
	if err != nil || st.Counters["TcpActiveOpens"] != 2 || len(st.Interfaces) != 1 {
		t.Fatalf("status %+v, %v", st, err)
	}
}

func TestAgentHTTPGetAndErrors(t *testing.T) {
	lab, sock := startAgent(t, "../examples/two-hosts.yml")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	h1, h2 := NewClient(sock, "h1"), NewClient(sock, "h2")
	if _, err := h2.StartApp(ctx, AppSpec{Mode: "http", Port: 80}); err != nil {
		t.Fatal(err)
	}
	dst := lab.Node("h2").Interfaces[0].Addr.Addr()
	var body bytes.Buffer
	rep, err := h1.Get(ctx, "http://"+dst.String()+"/bytes/1000000", &body)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]byte, 1000000)
	newPattern().Read(want)
	if rep.Bytes != 1000000 || !bytes.Equal(body.Bytes(), want) || rep.Status != "200 OK" {
		t.Fatalf("GET: %+v, body %d bytes (equal %v)", rep, body.Len(), bytes.Equal(body.Bytes(), want))
	}
	if _, err := h1.Send(ctx, SendSpec{To: dst.String() + ":9", Bytes: 10}); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("send to a closed port: %v, want connection refused", err)
	}
	if _, err := NewClient(sock, "nope").Status(ctx); err == nil || !strings.Contains(err.Error(), `no node "nope"`) {
		t.Fatalf("unknown node: %v", err)
	}
	if _, err := h2.StartApp(ctx, AppSpec{Mode: "bogus", Port: 1}); err == nil || !strings.Contains(err.Error(), "unknown mode") {
		t.Fatalf("bad mode: %v", err)
	}
	if _, err := h2.StartApp(ctx, AppSpec{Mode: "sink", Port: 80}); err == nil {
		t.Fatal("a second listener on port 80 was allowed")
	}
}
