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
