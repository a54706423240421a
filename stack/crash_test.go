package stack

import (
	"errors"
	"testing"
	"time"
)

// TestCrash: a stack that crashes loses its connections without a word
// (its own callers get ECONNABORTED); the peer, sending on, is reset by
// the crashed stack, which knows the connection no more.
func TestCrash(t *testing.T) {
	n := newTestNet(t, Options{})
	cfd, _, afd := n.connectPair(80)
	n.clearEvents()
	if lost := n.b.Crash(); lost != 1 {
		t.Fatalf("Crash lost %d connections, want 1", lost)
	}
	n.run(10 * time.Millisecond)
	if out := n.segsOut(addrB); len(out) != 0 {
		t.Fatalf("the crashed stack sent %d segments, want none", len(out))
	}
	if _, err := n.b.Write(afd, []byte("x")); !errors.Is(err, ECONNABORTED) {
		t.Fatalf("Write on the crashed stack = %v, want ECONNABORTED", err)
	}
	if n.state(n.a, cfd) != StateEstablished {
		t.Fatalf("the peer is %v before sending, want established", n.state(n.a, cfd))
	}
	n.a.Write(cfd, []byte("hello"))
	if !n.runUntil(5*time.Second, time.Millisecond, func() bool { return n.state(n.a, cfd) == StateClosed }) {
		t.Fatalf("the peer is %v after sending to the crashed stack, want reset", n.state(n.a, cfd))
	}
	if _, err := n.a.Write(cfd, []byte("again")); !errors.Is(err, ECONNRESET) {
		t.Errorf("the peer's Write = %v, want ECONNRESET", err)
	}
}
