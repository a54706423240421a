package nodeagent

import (
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/netlab/netlab/stack"
	"github.com/netlab/netlab/stack/link"
	"github.com/netlab/netlab/stack/link/pipe"
	"github.com/netlab/netlab/topology"
)

// TestReadAll: read with all waits for the whole size (MSG_WAITALL) where
// a plain read returns what is there; at the end of the stream it returns
// what came.
func TestReadAll(t *testing.T) {
	la, lb := pipe.Pair(pipe.Async, 1500, net.HardwareAddr{2, 0, 0, 0, 0, 1}, net.HardwareAddr{2, 0, 0, 0, 0, 2})
	var nodes [2]*node
	for i, l := range []link.Endpoint{la, lb} {
		s := stack.New(stack.Options{})
		t.Cleanup(s.Destroy)
		nic, err := s.AddInterface("eth1", l)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.AddAddress(nic, netip.MustParsePrefix([]string{"10.0.0.1/24", "10.0.0.2/24"}[i])); err != nil {
			t.Fatal(err)
		}
		nodes[i] = &node{plan: &topology.Node{Name: []string{"a", "b"}[i]}, stack: s}
	}
	a, b := nodes[0], nodes[1]
	call := func(n *node, c SockCall) SockResult {
		t.Helper()
		if c.Timeout == 0 {
			c.Timeout = 5 * time.Second
		}
		r := n.sockCall(c)
		if r.Errno != "" || r.Error != "" {
			t.Fatalf("%s %+v: %s %s", n.plan.Name, c, r.Errno, r.Error)
		}
		return r
	}
	ls := call(b, SockCall{Call: "socket"}).FD
	call(b, SockCall{Call: "bind", FD: ls, Addr: ":80"})
	call(b, SockCall{Call: "listen", FD: ls, Backlog: 1})
	c := call(a, SockCall{Call: "socket"}).FD
	call(a, SockCall{Call: "connect", FD: c, Addr: "10.0.0.2:80"})
	s := call(b, SockCall{Call: "accept", FD: ls}).FD

	call(a, SockCall{Call: "write", FD: c, Size: 40000})
	// Wait until the first write is all there, so that a plain read
	// would return it at once.
	deadline := time.Now().Add(5 * time.Second)
	for {
		info := call(b, SockCall{Call: "info", FD: s}).Info
		if info != nil && info.RecvQ >= 40000 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the first 40000 bytes never arrived")
		}
		time.Sleep(5 * time.Millisecond)
	}
	got := make(chan SockResult, 1)
	go func() {
		got <- b.sockCall(SockCall{Call: "read", FD: s, Size: 100000, All: true, Timeout: 5 * time.Second})
	}()
	call(a, SockCall{Call: "write", FD: c, Size: 60000})
	if r := <-got; r.N != 100000 || r.Errno != "" {
		t.Fatalf("read 100000 all = %d bytes (%s), want all 100000", r.N, r.Errno)
	}
	// At the end of the stream, what came.
	call(a, SockCall{Call: "write", FD: c, Data: strings.Repeat("x", 10)})
	call(a, SockCall{Call: "shutdown", FD: c, How: "wr"})
	if r := call(b, SockCall{Call: "read", FD: s, Size: 100, All: true}); r.N != 10 {
		t.Fatalf("read 100 all before the end of the stream = %d bytes, want 10", r.N)
	}
	if r := call(b, SockCall{Call: "read", FD: s, Size: 100, All: true}); !r.EOF {
		t.Fatalf("read after the end = %+v, want EOF", r)
	}
}
