package stack

import (
	"testing"
	"time"
)

// TestSendPing: an echo request sent without waiting is answered on the
// virtual clock, one round trip later; a cancelled one is not.
func TestSendPing(t *testing.T) {
	n := newTestNet(t, Options{})
	e, err := n.a.SendPing(addrB, 1, 56)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := e.Result(); ok {
		t.Fatal("a reply before any time passed")
	}
	if !n.runUntil(time.Second, time.Millisecond, func() bool { _, ok := e.Result(); return ok }) {
		t.Fatal("no reply in a second")
	}
	// The test net's wire takes 5 ms each way (the first request also
	// waits for ARP).
	if r, _ := e.Result(); r.RTT < 10*time.Millisecond || r.RTT > 25*time.Millisecond || r.TTL != 64 {
		t.Errorf("reply %+v, want an RTT of 10-25 ms and TTL 64", r)
	}
	c, err := n.a.SendPing(addrB, 2, 56)
	if err != nil {
		t.Fatal(err)
	}
	c.Cancel()
	n.run(100 * time.Millisecond)
	if _, ok := c.Result(); ok {
		t.Error("a cancelled request got its reply")
	}
	if st := n.a.Stats(); st.IcmpInEchoReps != 2 {
		t.Errorf("%d echo replies came, want 2 (the cancelled one's ignored)", st.IcmpInEchoReps)
	}
}
