package nodeagent

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/netlab/netlab/internal/vethlab"
	"github.com/netlab/netlab/topology"
)

// TestAgentOnRealVeth serves the two-hosts example with the Go stack on
// AF_PACKET endpoints inside two fresh namespaces joined by a veth.
func TestAgentOnRealVeth(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to make network namespaces (CI runs as root)")
	}
	lab, err := topology.Load("../examples/two-hosts.yml")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	vl, err := vethlab.New(ctx, vethlab.Options{Prefix: "nlagt"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { vl.Close() })
	a, err := New(ctx, Config{Lab: lab, Nodes: []NodeRef{
		{Name: "h1", NSPath: "/run/netns/" + vl.NS[0]},
		{Name: "h2", NSPath: "/run/netns/" + vl.NS[1]},
	}})
	if err != nil {
		t.Fatal(err)
	}
	sock := serveAgent(t, a)

	h1, h2 := NewClient(sock, "h1"), NewClient(sock, "h2")
	if _, err := h2.StartApp(ctx, AppSpec{Mode: "sink", Port: 5001}); err != nil {
		t.Fatal(err)
	}
	dst := lab.Node("h2").Interfaces[0].Addr.Addr().String()
	rep, err := h1.Send(ctx, SendSpec{To: dst + ":5001", Bytes: 20 << 20})
	if err != nil {
		t.Fatal(err)
	}
	var apps []AppInfo
	for i := 0; i < 100; i++ {
		if apps, _ = h2.Apps(ctx); len(apps) == 1 && apps[0].LastSHA256 != "" {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(apps) != 1 || apps[0].LastSHA256 != rep.SHA256 {
		t.Fatalf("sink %+v, sender sha256 %s", apps, rep.SHA256)
	}
	t.Logf("20 MiB over a real veth: %.0f Mbit/s, %d retransmits", rep.GoodputMbps, rep.Retransmits)
	var replies int
	if err := h1.Ping(ctx, PingSpec{To: dst, Count: 2, Interval: 10 * time.Millisecond}, func(p PingReply) {
		if !p.Lost {
			replies++
		}
	}); err != nil || replies != 2 {
		t.Fatalf("ping: %d replies, %v", replies, err)
	}
}
