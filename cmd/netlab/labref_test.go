package main

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/netlab/netlab/deploy"
	"github.com/netlab/netlab/nodeagent"
	"github.com/netlab/netlab/topology"
)

// TestCheckPeerWaitsForASlowAgent: an agent that answers its health
// check late (a busy lab) is waited for; one whose socket is gone fails
// at once.
func TestCheckPeerWaitsForASlowAgent(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "agent.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int32
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			select { // the first check finds the agent busy
			case <-time.After(nodeagent.HealthTimeout + 500*time.Millisecond):
			case <-r.Context().Done():
			}
			return
		}
		w.Write([]byte(`{"ok":true,"nodes":["h1"]}`))
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	r := &labRef{lab: &topology.Lab{Name: "x"}}
	ctx := context.Background()
	if err := r.checkPeer(ctx, nodeagent.NewClient(sock, "h1"), netip.MustParseAddr("10.0.0.1")); err != nil {
		t.Errorf("a slow agent: %v; want it waited for", err)
	}
	if n := calls.Load(); n < 2 {
		t.Errorf("%d health checks; want the late one tried again", n)
	}
	err = r.checkPeer(ctx, nodeagent.NewClient(filepath.Join(t.TempDir(), "gone.sock"), "h1"), netip.MustParseAddr("10.0.0.1"))
	if err == nil {
		t.Error("an agent whose socket is gone: no error")
	}
}

// TestAgentClientsMadeOnce: the page's server gets one client per node,
// the same each time it asks (a client per request left a connection to
// the agent open each time).
func TestAgentClientsMadeOnce(t *testing.T) {
	plan, err := topology.Parse("x.yml", []byte("name: x\ntopology:\n  nodes:\n    h1: {}\n    h2: {}\n"))
	if err != nil {
		t.Fatal(err)
	}
	r := &labRef{lab: plan, state: &deploy.State{Agent: true, Nodes: []deploy.NodeState{
		{Name: "h1", Socket: "/run/a.sock"}, {Name: "h2", Socket: "/run/a.sock"}}}}
	get := agentClients(r)
	a1, err1 := get("h1")
	a2, err2 := get("h1")
	b, err3 := get("h2")
	if err1 != nil || err2 != nil || err3 != nil || a1 != a2 || a1 == b {
		t.Errorf("h1 %p then %p, h2 %p (%v %v %v); want h1's client twice, h2's its own", a1, a2, b, err1, err2, err3)
	}
	if _, err := get("nope"); err == nil {
		t.Error("a node the lab does not have: no error")
	}
}
