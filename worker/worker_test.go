package worker

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/netlab/netlab/internal/vethlab"
	"github.com/netlab/netlab/labdir"
	"github.com/netlab/netlab/linuxnet"
	"github.com/netlab/netlab/nodeagent"
	"github.com/netlab/netlab/placement"
	"github.com/netlab/netlab/stack/link/udpwire"
	"github.com/netlab/netlab/topology"
)

// TestTwoWorkers (root): a lab h1 — r1 ==wan== r2 — h2 spread over two
// workers, each in a namespace of its own standing for its pod, joined
// by a veth of MTU 1500 standing for the pod network; the wan link is a
// tunnel, lossy (2 %, declared in the file). A transfer from h1 to h2
// crosses it whole, with retransmissions; the agents say the tunnel's
// impairment as for any link; nothing of the workers is left after Close.
func TestTwoWorkers(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to make namespaces (run as root: sudo go test)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	b := make([]byte, 3)
	rand.Read(b)
	name := "wk" + hex.EncodeToString(b)
	lab, err := topology.Parse("two.yml", []byte(fmt.Sprintf(`name: %s
topology:
  auto-routes: true
  nodes:
    h1: {kind: host}
    r1: {kind: router}
    r2: {kind: router}
    h2: {kind: host}
  links:
    - endpoints: [h1:eth1, r1:eth1]
    - name: wan
      endpoints: [r1:eth2, r2:eth1]
      netem: {loss: 2%%}
    - endpoints: [r2:eth2, h2:eth1]
`, name)))
	if err != nil {
		t.Fatal(err)
	}
	p, err := placement.Place(lab, placement.Options{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Cut) != 1 || lab.Links[p.Cut[0]].Name != "wan" {
		t.Fatalf("placement %s cuts %v; want the wan link", p.Summary(len(lab.Links)), p.Cut)
	}

	muxes, peers := twoPods(t, ctx, "nlwk")
	dir := t.TempDir()
	socks := map[string]string{}
	var workers []*Worker
	for i := range 2 {
		w, err := Start(ctx, Config{Lab: lab, Placement: p, Index: i, Mux: muxes[i], Peers: peers})
		if err != nil {
			t.Fatal(err)
		}
		workers = append(workers, w)
		sock := filepath.Join(dir, fmt.Sprintf("w%d.sock", i))
		ln, err := net.Listen("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		sctx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); w.Agent.Serve(sctx, ln) }()
		defer func() { stop(); <-done }()
		for _, n := range lab.Nodes {
			if p.Worker[n.Index] == i {
				socks[n.Name] = sock
			}
		}
	}
	defer func() {
		for _, w := range workers {
			if err := w.Close(); err != nil {
				t.Error(err)
			}
		}
	}()

	h2 := nodeagent.NewClient(socks["h2"], "h2")
	if _, err := h2.StartApp(ctx, nodeagent.AppSpec{Mode: "sink", Port: 5001}); err != nil {
		t.Fatal(err)
	}
	to := lab.Node("h2").Interfaces[0].Addr.Addr()
	rep, err := nodeagent.NewClient(socks["h1"], "h1").Send(ctx, nodeagent.SendSpec{To: netip.AddrPortFrom(to, 5001).String(), Bytes: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("h1 → h2 across the tunnel: %d bytes, %.1f Mbit/s, %d retransmits, srtt %v; wires %+v %+v",
		rep.Bytes, rep.GoodputMbps, rep.Retransmits, rep.SRTT, muxes[0].Stats(), muxes[1].Stats())
	if rep.Bytes != 4<<20 {
		t.Errorf("sent %d bytes; want %d", rep.Bytes, 4<<20)
	}
	if rep.Retransmits == 0 {
		t.Errorf("no retransmission across a link losing 2 %%")
	}
	if rep.MSS != 1460 && rep.MSS != 1448 {
		t.Errorf("MSS %d: the tunnel did not keep the link's MTU of 1500", rep.MSS)
	}
	if s0, s1 := muxes[0].Stats(), muxes[1].Stats(); s0.Received == 0 || s1.Received == 0 {
		t.Errorf("the wires carried nothing: %+v %+v", s0, s1)
	}
	// The tunnel's end is an interface like another: its impairment as
	// the plan set it, its counters.
	r1 := nodeagent.NewClient(socks["r1"], "r1")
	states, err := r1.Impairments(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, s := range states {
		if s.Interface == "eth2" {
			found = true
			if s.Egress == nil || !strings.Contains(s.Egress.String(), "loss 2%") || s.Stats.Egress.DroppedLoss == 0 {
				t.Errorf("r1:eth2 (the tunnel) says %v, %+v; want its 2 %% loss, and drops", s.Egress, s.Stats.Egress)
			}
		}
	}
	if !found {
		t.Errorf("r1 has no eth2 (the tunnel): %+v", states)
	}

	// Close removes the workers' namespaces.
	var names []string
	for _, w := range workers {
		names = append(names, w.nsNames...)
		w.Close()
	}
	workers = nil
	for _, n := range names {
		if _, err := os.Stat(filepath.Join(linuxnet.NetnsRunDir, n)); err == nil {
			t.Errorf("namespace %s left after Close", n)
		}
	}
}

// TestServers (root): the same lab, each worker told its share through
// its API as the controller does (PUT /v1/worker, then GET until ready);
// the agents' API answers on the same port once it runs; the same spec
// again is a no-op; a newer generation (a node more, placed on worker 1)
// replaces the share in place and empties the run's folder, an older one
// is then refused; a spec that does not fit the lab is an error the state
// says.
func TestServers(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to make namespaces (run as root: sudo go test)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	b := make([]byte, 3)
	rand.Read(b)
	lab, err := topology.Parse("two.yml", []byte(fmt.Sprintf(`name: ws%s
topology:
  auto-routes: true
  nodes:
    h1: {kind: host}
    h2: {kind: host}
  links:
    - endpoints: [h1:eth1, h2:eth1]
`, hex.EncodeToString(b))))
	if err != nil {
		t.Fatal(err)
	}
	plan, _ := json.Marshal(lab)
	pods, err := vethlab.New(ctx, vethlab.Options{Prefix: "nlws", MTU: 1500})
	if err != nil {
		t.Fatal(err)
	}
	defer pods.Close()
	var urls, peers []string
	var servers []*Server
	for side := range 2 {
		if err := pods.Kernel(vethlab.Side(side)); err != nil {
			t.Fatal(err)
		}
		var mux *udpwire.Mux
		err := pods.InNamespace(vethlab.Side(side), func() error {
			var err error
			mux, err = udpwire.Listen(netip.AddrPortFrom(pods.Addr[side].Addr(), 4790).String())
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		defer mux.Close()
		s := NewServer(mux, labdir.Run{Dir: t.TempDir()}, nil)
		servers = append(servers, s)
		defer s.Close()
		hs := httptest.NewServer(s.Handler())
		defer hs.Close()
		urls = append(urls, hs.URL)
		peers = append(peers, mux.Addr().String())
	}
	put := func(url string, spec Spec) (int, State) {
		body, _ := json.Marshal(spec)
		req, _ := http.NewRequestWithContext(ctx, http.MethodPut, url+"/v1/worker", bytes.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var st State
		json.NewDecoder(resp.Body).Decode(&st)
		return resp.StatusCode, st
	}
	get := func(url string) State {
		resp, err := http.Get(url + "/v1/worker")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var st State
		json.NewDecoder(resp.Body).Decode(&st)
		return st
	}
	// Before a spec, the agent's API says there is nothing to serve.
	if resp, err := http.Get(urls[0] + "/v1/nodes/h1/status"); err != nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("the agent's API before a spec: %v %v; want 503", resp, err)
	}
	for i := range 2 {
		if code, _ := put(urls[i], Spec{Generation: 1, Plan: plan, Placement: []int{0, 1}, Index: i, Peers: peers}); code != http.StatusAccepted {
			t.Fatalf("worker %d: PUT answered %d", i, code)
		}
	}
	// waitFor polls url's state until done says so (or it has an error
	// done does not expect), for 30 s at most.
	waitFor := func(url, what string, done func(State) bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for st := get(url); !done(st); st = get(url) {
			if st.Error != "" || time.Now().After(deadline) {
				t.Fatalf("%s: %+v", what, st)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	ready := func(st State) bool { return st.Ready }
	for i := range 2 {
		waitFor(urls[i], fmt.Sprintf("worker %d", i), ready)
	}
	if st := get(urls[1]); st.Generation != 1 || len(st.Nodes) != 1 || st.Nodes[0] != "h2" || !strings.HasPrefix(st.Namespaces["h2"], linuxnet.NetnsRunDir+"/") {
		t.Errorf("worker 1's state %+v; want generation 1 running h2, and its namespace", st)
	}
	if code, _ := put(urls[0], Spec{Generation: 1, Plan: plan, Placement: []int{0, 1}, Index: 0, Peers: peers}); code != http.StatusOK {
		t.Errorf("the same spec again: %d; want 200", code)
	}
	if code, _ := put(urls[0], Spec{Generation: 1, Plan: plan, Placement: []int{1, 0}, Index: 0, Peers: peers}); code != http.StatusConflict {
		t.Errorf("the same generation with another placement: %d; want 409", code)
	}
	client := func(i int, node string) *nodeagent.Client {
		addr := strings.TrimPrefix(urls[i], "http://")
		return nodeagent.NewClientDial(func(ctx context.Context) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "tcp", addr)
		}, urls[i], node)
	}
	if _, err := client(1, "h2").StartApp(ctx, nodeagent.AppSpec{Mode: "sink", Port: 5001}); err != nil {
		t.Fatal(err)
	}
	to := lab.Node("h2").Interfaces[0].Addr.Addr()
	rep, err := client(0, "h1").Send(ctx, nodeagent.SendSpec{To: netip.AddrPortFrom(to, 5001).String(), Bytes: 1 << 20})
	if err != nil || rep.Bytes != 1<<20 {
		t.Fatalf("h1 → h2 through the workers' APIs: %+v, %v", rep, err)
	}

	// Generation 2: h3 behind h2, on worker 1; both told, in place.
	lab2, err := topology.Parse("two.yml", []byte(fmt.Sprintf(`name: %s
topology:
  auto-routes: true
  nodes:
    h1: {kind: host}
    h2: {kind: router}
    h3: {kind: host}
  links:
    - endpoints: [h1:eth1, h2:eth1]
    - endpoints: [h2:eth2, h3:eth1]
`, lab.Name)))
	if err != nil {
		t.Fatal(err)
	}
	plan2, _ := json.Marshal(lab2)
	marker := filepath.Join(servers[1].run.Dir, "captures", "generation-1.pcapng")
	os.MkdirAll(filepath.Dir(marker), 0o755)
	if err := os.WriteFile(marker, []byte("{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if code, st := put(urls[i], Spec{Generation: 2, Plan: plan2, Placement: []int{0, 1, 1}, Index: i, Peers: peers, Run: "run-2"}); code != http.StatusAccepted || st.Generation != 2 || st.Ready {
			t.Fatalf("worker %d: generation 2: %d %+v; want 202, generation 2 starting", i, code, st)
		}
	}
	for i := range 2 {
		waitFor(urls[i], fmt.Sprintf("worker %d, generation 2", i), ready)
	}
	if st := get(urls[1]); st.Generation != 2 || !slices.Equal(st.Nodes, []string{"h2", "h3"}) {
		t.Errorf("worker 1's state %+v; want generation 2 running h2 and h3", st)
	}
	if resp, err := http.Get(urls[1] + "/v1/worker/files"); err != nil {
		t.Error(err)
	} else {
		resp.Body.Close()
		if r := resp.Header.Get(RunHeader); r != "run-2" {
			t.Errorf("generation 2's files listed as run %q; want run-2", r)
		}
	}
	if _, err := os.Stat(marker); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("generation 1's capture in worker 1's run after generation 2 started: %v", err)
	}
	if _, err := client(1, "h3").StartApp(ctx, nodeagent.AppSpec{Mode: "sink", Port: 5001}); err != nil {
		t.Fatal(err)
	}
	to = lab2.Node("h3").Interfaces[0].Addr.Addr()
	rep, err = client(0, "h1").Send(ctx, nodeagent.SendSpec{To: netip.AddrPortFrom(to, 5001).String(), Bytes: 1 << 20})
	if err != nil || rep.Bytes != 1<<20 {
		t.Fatalf("generation 2: h1 → h3 across the tunnel and through h2: %+v, %v", rep, err)
	}
	if code, _ := put(urls[0], Spec{Generation: 1, Plan: plan, Placement: []int{0, 1}, Index: 0, Peers: peers}); code != http.StatusConflict {
		t.Errorf("an older generation: %d; want 409", code)
	}

	// A spec that does not fit: the state says why.
	mux, err := udpwire.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer mux.Close()
	bs := httptest.NewServer(NewServer(mux, labdir.Run{}, nil).Handler())
	defer bs.Close()
	put(bs.URL, Spec{Generation: 1, Plan: plan, Placement: []int{0}, Index: 0, Peers: peers})
	waitFor(bs.URL, "a bad spec's state", func(st State) bool { return st.Error != "" })
	if st := get(bs.URL); !strings.Contains(st.Error, "places 1 nodes") {
		t.Errorf("a bad spec's error %q", st.Error)
	}
}

func TestShorten(t *testing.T) {
	a := strings.Repeat("n", 70) + "-a"
	b := strings.Repeat("n", 70) + "-b"
	sa, sb := shorten(a, "-x1"), shorten(b, "-x1")
	if len(sa) > 60 || len(sb) > 60 || sa == sb || !strings.HasSuffix(sa, "-x1") {
		t.Errorf("shorten: %q, %q", sa, sb)
	}
	if got := shorten("netlab-lab-h1", "-x1"); got != "netlab-lab-h1-x1" {
		t.Errorf("a short name: %q", got)
	}
}

// TestFiles: a worker lists the regular files of its run and serves them;
// a path that leaves the run is not served.
func TestFiles(t *testing.T) {
	dir := t.TempDir()
	run := labdir.Run{Dir: filepath.Join(dir, "run")}
	os.MkdirAll(filepath.Join(run.Dir, labdir.TracesDir), 0o755)
	os.WriteFile(run.Trace("h1"), []byte("{\"t\":1}\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "secret"), []byte("SECRET"), 0o644)
	mux, err := udpwire.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer mux.Close()
	hs := httptest.NewServer(NewServer(mux, run, nil).Handler())
	defer hs.Close()

	resp, err := http.Get(hs.URL + "/v1/worker/files")
	if err != nil {
		t.Fatal(err)
	}
	var files []File
	json.NewDecoder(resp.Body).Decode(&files)
	resp.Body.Close()
	if len(files) != 1 || files[0] != (File{Path: "traces/h1.jsonl", Size: 8}) {
		t.Errorf("files %+v; want traces/h1.jsonl of 8 bytes", files)
	}
	for _, c := range []struct {
		path string
		ok   bool
		body string
	}{
		{"traces/h1.jsonl", true, "{\"t\":1}\n"},
		{"traces/h2.jsonl", false, ""},
		{"../secret", false, ""},
		{"%2e%2e/secret", false, ""},
		{"traces/..%2f..%2fsecret", false, ""},
	} {
		resp, err := http.Get(hs.URL + "/v1/worker/files/" + c.path)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		resp.Body.Close()
		if (resp.StatusCode == http.StatusOK) != c.ok || c.ok && b.String() != c.body || strings.Contains(b.String(), "SECRET") {
			t.Errorf("GET %s: %d %q; want served %v", c.path, resp.StatusCode, b.String(), c.ok)
		}
	}
	// A worker given no run has no files.
	es := httptest.NewServer(NewServer(mux, labdir.Run{}, nil).Handler())
	defer es.Close()
	resp, err = http.Get(es.URL + "/v1/worker/files")
	if err != nil {
		t.Fatal(err)
	}
	files = nil
	json.NewDecoder(resp.Body).Decode(&files)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || len(files) != 0 {
		t.Errorf("no run: %d %+v", resp.StatusCode, files)
	}
}

// TestLinuxTunnelEnd (root): a tunnel ends at a `stack: linux` node. h1
// runs the kernel's stack on one worker, h2 a Go stack on the other; the
// link between them, delayed 5 ms, leaves h1's worker. The kernel's eth1
// is there with its address, its frames relayed from the switch namespace
// to the wire: the kernel answers h2's pings across it, and pings h2 with
// its own ping, both at the link's delay.
func TestLinuxTunnelEnd(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to make namespaces (run as root: sudo go test)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	b := make([]byte, 3)
	rand.Read(b)
	lab, err := topology.Parse("lt.yml", []byte(fmt.Sprintf(`name: lt%s
topology:
  nodes:
    h1: {kind: host, stack: linux}
    h2: {kind: host}
  links:
    - endpoints: [h1:eth1, h2:eth1]
      netem: {delay: 5ms}
`, hex.EncodeToString(b))))
	if err != nil {
		t.Fatal(err)
	}
	p := &placement.Placement{Workers: 2, Worker: []int{0, 1}, Cut: []int{0}}
	muxes, peers := twoPods(t, ctx, "nllt")
	var workers [2]*Worker
	for i := range 2 {
		if workers[i], err = Start(ctx, Config{Lab: lab, Placement: p, Index: i, Mux: muxes[i], Peers: peers}); err != nil {
			t.Fatal(err)
		}
		defer workers[i].Close()
	}
	sock := filepath.Join(t.TempDir(), "w1.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	sctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); workers[1].Agent.Serve(sctx, ln) }()
	defer func() { stop(); <-done }()

	h1 := lab.Node("h1").Interfaces[0].Addr.Addr()
	var replies []nodeagent.PingReply
	err = nodeagent.NewClient(sock, "h2").Ping(ctx, nodeagent.PingSpec{To: h1.String(), Count: 3, Interval: 50 * time.Millisecond},
		func(r nodeagent.PingReply) { replies = append(replies, r) })
	if err != nil {
		t.Fatal(err)
	}
	answered := 0
	for _, r := range replies {
		if !r.Lost && r.Err == "" {
			answered++
			if r.RTT < 5*time.Millisecond {
				t.Errorf("h2 → h1 (kernel) RTT %v; want the link's 5 ms at least", r.RTT)
			}
		}
	}
	if answered == 0 {
		t.Fatalf("the kernel of h1 answered none of h2's pings across the tunnel: %+v", replies)
	}
	h1ns := ""
	for i, n := range workers[0].nodes {
		if n == "h1" {
			h1ns = workers[0].nsPaths[i]
		}
	}
	var out []byte
	err = linuxnet.InNamespace(h1ns, func() error {
		var err error
		out, err = exec.CommandContext(ctx, "ping", "-c", "2", "-i", "0.2", "-W", "2", lab.Node("h2").Interfaces[0].Addr.Addr().String()).CombinedOutput()
		return err
	})
	if err != nil || !strings.Contains(string(out), " 0% packet loss") {
		t.Errorf("h1's kernel ping of h2 across the tunnel: %v\n%s", err, out)
	}
}

// twoPods stands for two worker pods on a pod network of MTU 1500: two
// namespaces joined by a veth, each with the wire of its worker listening
// on its address; everything goes when the test ends.
func twoPods(t *testing.T, ctx context.Context, prefix string) ([2]*udpwire.Mux, []netip.AddrPort) {
	t.Helper()
	pods, err := vethlab.New(ctx, vethlab.Options{Prefix: prefix, MTU: 1500})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pods.Close() })
	var muxes [2]*udpwire.Mux
	var peers []netip.AddrPort
	for side := range 2 {
		if err := pods.Kernel(vethlab.Side(side)); err != nil {
			t.Fatal(err)
		}
		err := pods.InNamespace(vethlab.Side(side), func() error {
			var err error
			muxes[side], err = udpwire.Listen(netip.AddrPortFrom(pods.Addr[side].Addr(), 4790).String())
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		m := muxes[side]
		t.Cleanup(func() { m.Close() })
		peers = append(peers, m.Addr())
	}
	return muxes, peers
}

// TestAdoptedNamespace (root): a node runs in a namespace that exists
// already, as a container node in its own pod does. The pod's interface
// moves to a namespace of its own, where its worker's wire listens
// (linuxnet.MoveUplink); the node, the kernel's stack, pings h2 on the
// other worker across the tunnel, and cannot reach the pod network. Closed,
// the worker leaves the namespace, without the interfaces it made there.
func TestAdoptedNamespace(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to make namespaces (run as root: sudo go test)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	b := make([]byte, 3)
	rand.Read(b)
	lab, err := topology.Parse("ad.yml", []byte(fmt.Sprintf(`name: ad%s
topology:
  nodes:
    h1: {kind: host, stack: linux}
    h2: {kind: host}
  links:
    - endpoints: [h1:eth1, h2:eth1]
`, hex.EncodeToString(b))))
	if err != nil {
		t.Fatal(err)
	}
	pods, err := vethlab.New(ctx, vethlab.Options{Prefix: "nlad", MTU: 1500})
	if err != nil {
		t.Fatal(err)
	}
	defer pods.Close()
	for side := range 2 {
		if err := pods.Kernel(vethlab.Side(side)); err != nil {
			t.Fatal(err)
		}
	}
	wireNS := linuxnet.OwnedNSName("nlad", hex.EncodeToString(b)+"w")
	if _, err := linuxnet.NewNamedNS(wireNS); err != nil {
		t.Fatal(err)
	}
	defer linuxnet.DeleteNamedNS(wireNS)
	if err := linuxnet.MoveUplink(pods.If[0], pods.NS[0], wireNS); err != nil {
		t.Fatal(err)
	}
	var muxes [2]*udpwire.Mux
	for side, ns := range []string{wireNS, pods.NS[1]} {
		err := linuxnet.InNamespace(ns, func() error {
			var err error
			muxes[side], err = udpwire.Listen(netip.AddrPortFrom(pods.Addr[side].Addr(), 4790).String())
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		defer muxes[side].Close()
	}
	peers := []netip.AddrPort{muxes[0].Addr(), muxes[1].Addr()}
	p := &placement.Placement{Workers: 2, Worker: []int{0, 1}, Cut: []int{0}}
	pod := filepath.Join(linuxnet.NetnsRunDir, pods.NS[0])
	w0, err := Start(ctx, Config{Lab: lab, Placement: p, Index: 0, Mux: muxes[0], Peers: peers, Adopt: map[string]string{"h1": pod}})
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	defer func() {
		if !closed {
			w0.Close()
		}
	}()
	w1, err := Start(ctx, Config{Lab: lab, Placement: p, Index: 1, Mux: muxes[1], Peers: peers})
	if err != nil {
		t.Fatal(err)
	}
	defer w1.Close()
	if w0.nsPaths[0] != pod {
		t.Errorf("h1 runs in %s; want the pod's namespace %s", w0.nsPaths[0], pod)
	}
	var out []byte
	err = linuxnet.InNamespace(pod, func() error {
		var err error
		out, err = exec.CommandContext(ctx, "ping", "-c", "2", "-i", "0.2", "-W", "2", lab.Node("h2").Interfaces[0].Addr.Addr().String()).CombinedOutput()
		if err != nil {
			return fmt.Errorf("%w\n%s", err, out)
		}
		// The pod network is not reachable from the node.
		c, err := net.DialTimeout("udp", netip.AddrPortFrom(pods.Addr[1].Addr(), 4790).String(), time.Second)
		if err == nil {
			c.Close()
			return fmt.Errorf("the node reaches the other pod's address %s", pods.Addr[1].Addr())
		}
		return nil
	})
	if err != nil {
		t.Fatalf("in the pod's namespace: %v", err)
	}
	closed = true
	if err := w0.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(pod); err != nil {
		t.Fatalf("the adopted namespace is gone: %v", err)
	}
	linuxnet.InNamespace(pod, func() error {
		if _, err := net.InterfaceByName("eth1"); err == nil {
			t.Errorf("h1's eth1 left in the pod's namespace after Close")
		}
		return nil
	})
}
