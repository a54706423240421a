package nodeagent

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netlab/netlab/impair"
	"github.com/netlab/netlab/stack/link"
	"github.com/netlab/netlab/stack/link/pipe"
	"github.com/netlab/netlab/stack/wire"
	"github.com/netlab/netlab/topology"
	"github.com/netlab/netlab/trace"
)

// traceStream subscribes to node's trace and returns its events as they
// come; it returns once the agent has subscribed the stream.
func traceStream(t *testing.T, ctx context.Context, c *Client) <-chan trace.Event {
	t.Helper()
	ch := make(chan trace.Event, 4096)
	subscribed := make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		errc <- c.TraceFrom(ctx, trace.Selector{}, func() { close(subscribed) }, func(e trace.Event) {
			select {
			case ch <- e:
			default:
				t.Error("trace events not read")
			}
		})
	}()
	select {
	case <-subscribed:
	case err := <-errc:
		t.Fatalf("trace: %v", err)
	case <-ctx.Done():
		t.Fatal("trace never subscribed")
	}
	return ch
}

// expect reads events until one matches each of wants, in order (other
// events may come between), and returns those that matched.
func expect(t *testing.T, ctx context.Context, events <-chan trace.Event, what string, wants ...func(trace.Event) bool) []trace.Event {
	t.Helper()
	var got, seen []trace.Event
	for len(got) < len(wants) {
		select {
		case e := <-events:
			seen = append(seen, e)
			if wants[len(got)](e) {
				got = append(got, e)
			}
		case <-ctx.Done():
			var lines []string
			for _, e := range seen {
				lines = append(lines, e.Kind+" "+e.Flags+" "+e.Reason)
			}
			t.Fatalf("%s: %d of %d events found in %d read: %s", what, len(got), len(wants), len(seen), strings.Join(lines, "; "))
		}
	}
	return got
}

// TestTraceImpairmentDrops: a SYN the impairment of a Go-stack interface
// drops shows in the node's trace as a drop event (reason, interface,
// direction, the segment's fields), before the stack's retransmission;
// the same on the way in, on the receiving node's trace.
func TestTraceImpairmentDrops(t *testing.T) {
	lab, sock := startAgent(t, "../examples/two-hosts.yml")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h1, h2 := NewClient(sock, "h1"), NewClient(sock, "h2")
	if _, err := h2.StartApp(ctx, AppSpec{Mode: "sink", Port: 5001}); err != nil {
		t.Fatal(err)
	}
	ifname := lab.Node("h1").Interfaces[0].Name
	dst := netip.AddrPortFrom(lab.Node("h2").Interfaces[0].Addr.Addr(), 5001)
	firstSYN := func() *impair.Config {
		m, err := impair.ParseMatch("syn first")
		if err != nil {
			t.Fatal(err)
		}
		return &impair.Config{DropMatch: []impair.Match{m}}
	}
	ev1, ev2 := traceStream(t, ctx, h1), traceStream(t, ctx, h2)

	// h1's first SYN dropped on its way out.
	if _, err := h1.ChangeImpairment(ctx, ImpairChange{Interface: ifname, Dir: "egress", Impairment: firstSYN()}); err != nil {
		t.Fatal(err)
	}
	if _, err := h1.Send(ctx, SendSpec{To: dst.String(), Bytes: 1000}); err != nil {
		t.Fatal(err)
	}
	got := expect(t, ctx, ev1, "h1's trace",
		func(e trace.Event) bool { return e.Kind == trace.KindOut && e.Flags == "S" && !e.Retrans },
		func(e trace.Event) bool { return e.Kind == trace.KindDrop },
		func(e trace.Event) bool { return e.Kind == trace.KindOut && e.Flags == "S" })
	syn, drop, retx := got[0], got[1], got[2]
	if drop.Reason != "schedule" || drop.Flags != "S" || drop.Dir != trace.DirEgress || drop.Ifname != ifname ||
		drop.Local != syn.Local || drop.Remote != dst || drop.Seq != syn.Seq || drop.Len != 0 || drop.Options == "" {
		t.Errorf("drop event %+v, want the SYN %+v dropped on %s egress by the schedule", drop, syn, ifname)
	}
	if drop.TimeUS < syn.TimeUS {
		t.Errorf("drop at %d µs, before the SYN it dropped at %d µs", drop.TimeUS, syn.TimeUS)
	}
	if !retx.Retrans || retx.Seq != syn.Seq || retx.Local != syn.Local {
		t.Errorf("after the drop %+v, want the SYN retransmitted", retx)
	}

	// h2's first SYN dropped on its way in: h2's trace has it, before the
	// connection its retransmission opens (a listener traces no SYN in:
	// the connection begins at CLOSED -> SYN-RECEIVED), which takes it.
	if _, err := h1.ChangeImpairment(ctx, ImpairChange{Interface: ifname, Dir: "egress"}); err != nil {
		t.Fatal(err)
	}
	if _, err := h2.ChangeImpairment(ctx, ImpairChange{Interface: lab.Node("h2").Interfaces[0].Name, Dir: "ingress", Impairment: firstSYN()}); err != nil {
		t.Fatal(err)
	}
	if _, err := h1.Send(ctx, SendSpec{To: dst.String(), Bytes: 1000}); err != nil {
		t.Fatal(err)
	}
	var all []trace.Event
	keep := func(match func(trace.Event) bool) func(trace.Event) bool {
		return func(e trace.Event) bool { all = append(all, e); return match(e) }
	}
	got = expect(t, ctx, ev2, "h2's trace",
		keep(func(e trace.Event) bool { return e.Kind == trace.KindDrop }),
		keep(func(e trace.Event) bool { return e.Kind == trace.KindState && e.State == "SYN-RECEIVED" }),
		keep(func(e trace.Event) bool { return e.Kind == trace.KindState && e.State == "ESTABLISHED" }))
	drop, open := got[0], got[1]
	if drop.Reason != "schedule" || drop.Flags != "S" || drop.Dir != trace.DirIngress || drop.Local != dst ||
		drop.Local != open.Local || drop.Remote != open.Remote || drop.Seq+1 != open.RcvNxt {
		t.Errorf("drop event %+v, want the SYN of the connection %+v dropped on its way in to %s", drop, open, dst)
	}
	var mine *trace.Conn
	for _, c := range trace.Conns(all) {
		if c.Local == open.Local && c.Remote == open.Remote {
			mine = &c
		}
	}
	if mine == nil || mine.Drops != 1 || mine.First != time.Duration(drop.TimeUS)*time.Microsecond {
		t.Errorf("h2's connection %+v, want the drop as its first event", mine)
	}
}

// TestRelayTraceDrops: the drops of a relay, which impairs a `stack:
// linux` node's link, are the trace of that node on the agent that runs
// the relay, whether it serves the node or not.
func TestRelayTraceDrops(t *testing.T) {
	lab, err := topology.Parse("relay.yml", []byte(`name: relay
topology:
  nodes: {a: {stack: linux}, b: {stack: linux}}
  links:
    - endpoints: ["a:eth1", "b:eth1"]
      netem: {a-to-b: {drop-every: 2}}
`))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	nodeEnd := map[string]*pipe.Endpoint{}
	open := func(_, _, ifname string) (link.Endpoint, error) {
		mu.Lock()
		defer mu.Unlock()
		port, end := pipe.Pair(pipe.Async, 1500, net.HardwareAddr{2, 0, 0, 0, 0, 1}, net.HardwareAddr{2, 0, 0, 0, 0, 2})
		nodeEnd[ifname] = end
		t.Cleanup(func() { end.Close() })
		return port, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	a, err := New(ctx, Config{Lab: lab, OpenLink: open, SwitchNS: "/run/netns/sw"})
	if err != nil {
		t.Fatal(err)
	}
	sock := serveAgent(t, a)
	near, far := nodeEnd["rl0a"], nodeEnd["rl0b"]
	if near == nil || far == nil {
		t.Fatalf("relay ports opened: %v, want rl0a and rl0b", nodeEnd)
	}
	near.Attach(link.DispatcherFunc(func([]byte) {}))
	far.Attach(link.DispatcherFunc(func([]byte) {}))

	ca := NewClient(sock, "a")
	events := traceStream(t, ctx, ca)
	aEnd, bEnd := netip.MustParseAddrPort("10.0.0.0:40000"), netip.MustParseAddrPort("10.0.0.1:80")
	for seq := uint32(1); seq <= 4; seq++ {
		near.WritePacket(tcpSegment(aEnd, bEnd, wire.TCPFlagACK, seq*100, 100))
	}
	want := func(seq uint32, dir, reason string) func(trace.Event) bool {
		return func(e trace.Event) bool {
			if e.Kind != trace.KindDrop {
				t.Errorf("a relayed node's trace has a %s event", e.Kind)
				return false
			}
			if e.Seq != seq || e.Dir != dir || e.Reason != reason || e.Ifname != "eth1" || e.Local != aEnd || e.Remote != bEnd || e.Len != 100 || e.Flags != "." {
				t.Errorf("drop event %+v, want seq %d %s %s from %s to %s", e, seq, dir, reason, aEnd, bEnd)
			}
			return true
		}
	}
	expect(t, ctx, events, "a's egress drops", want(200, trace.DirEgress, "schedule"), want(400, trace.DirEgress, "schedule"))

	// On the way in: Local is the frame's destination, a's end.
	if _, err := ca.ChangeImpairment(ctx, ImpairChange{Interface: "eth1", Dir: "ingress", Impairment: &impair.Config{Loss: impair.RandomLoss(1, 0)}}); err != nil {
		t.Fatal(err)
	}
	far.WritePacket(tcpSegment(bEnd, aEnd, wire.TCPFlagACK, 500, 100))
	expect(t, ctx, events, "a's ingress drop", want(500, trace.DirIngress, "loss"))

	// b has neither a stack nor a relay here.
	err = NewClient(sock, "b").Trace(ctx, func(trace.Event) {})
	if err == nil || !strings.Contains(err.Error(), "no node") {
		t.Errorf("trace of b = %v, want not found", err)
	}
}

// tcpSegment returns an Ethernet frame of a TCP segment with n bytes of
// data.
func tcpSegment(src, dst netip.AddrPort, flags wire.TCPFlags, seq uint32, n int) []byte {
	f := wire.TCPFields{SrcPort: src.Port(), DstPort: dst.Port(), Seq: seq, Ack: 1, Flags: flags, Window: 1000}
	l4 := make([]byte, f.HeaderLen()+n)
	wire.EncodeTCP(l4, &f, src.Addr(), dst.Addr())
	b := make([]byte, wire.EthernetHeaderLen+wire.IPv4MinHeaderLen+len(l4))
	wire.EncodeEthernet(b, &wire.EthernetFields{Dst: wire.MAC{2, 0, 0, 0, 0, 2}, Src: wire.MAC{2, 0, 0, 0, 0, 1}, Type: wire.EtherTypeIPv4})
	wire.EncodeIPv4(b[wire.EthernetHeaderLen:], &wire.IPv4Fields{
		TotalLength: uint16(wire.IPv4MinHeaderLen + len(l4)), TTL: 64, Protocol: wire.ProtoTCP, Src: src.Addr(), Dst: dst.Addr(),
	})
	copy(b[wire.EthernetHeaderLen+wire.IPv4MinHeaderLen:], l4)
	return b
}

// TestTraceSelector: a reader that asks for state events only, or for
// one connection only, gets those and nothing else from the agent.
func TestTraceSelector(t *testing.T) {
	lab, sock := startAgent(t, "../examples/two-hosts.yml")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h1, h2 := NewClient(sock, "h1"), NewClient(sock, "h2")
	if _, err := h2.StartApp(ctx, AppSpec{Mode: "sink", Port: 5001}); err != nil {
		t.Fatal(err)
	}
	dst := netip.AddrPortFrom(lab.Node("h2").Interfaces[0].Addr.Addr(), 5001)
	stream := func(sel trace.Selector) <-chan trace.Event {
		ch := make(chan trace.Event, 4096)
		subscribed := make(chan struct{})
		go h1.TraceFrom(ctx, sel, func() { close(subscribed) }, func(e trace.Event) {
			select {
			case ch <- e:
			default:
			}
		})
		<-subscribed
		return ch
	}
	states := stream(trace.Selector{Kinds: []string{trace.KindState}})
	all := traceStream(t, ctx, h1)
	if _, err := h1.Send(ctx, SendSpec{To: dst.String(), Bytes: 20000}); err != nil {
		t.Fatal(err)
	}
	// The whole stream shows the connection's first segment and its
	// closing; by then the state stream has its state changes.
	first := expect(t, ctx, all, "h1's whole trace", func(e trace.Event) bool { return e.Kind == trace.KindOut })[0]
	one := stream(trace.Selector{Local: first.Local, Remote: first.Remote})
	expect(t, ctx, all, "h1's whole trace", func(e trace.Event) bool { return e.Kind == trace.KindState && e.State == "FIN-WAIT-1" })
	got := expect(t, ctx, states, "the state stream",
		func(e trace.Event) bool { return e.State == "SYN-SENT" },
		func(e trace.Event) bool { return e.State == "ESTABLISHED" },
		func(e trace.Event) bool { return e.State == "FIN-WAIT-1" })
	for len(states) > 0 {
		got = append(got, <-states)
	}
	for _, e := range got {
		if e.Kind != trace.KindState {
			t.Errorf("the state stream gave a %s event", e.Kind)
		}
	}
	// A second connection: the first one's stream stays silent about it.
	if _, err := h1.Send(ctx, SendSpec{To: dst.String(), Bytes: 1000}); err != nil {
		t.Fatal(err)
	}
	expect(t, ctx, states, "the state stream", func(e trace.Event) bool { return e.State == "SYN-SENT" && e.Local != first.Local })
	for len(one) > 0 {
		if e := <-one; e.Local != first.Local && e.Kind != trace.KindLost {
			t.Errorf("the stream of %s gave an event of %s", first.Local, e.Local)
		}
	}
	if _, err := trace.ParseSelector("", "bogus"); err == nil {
		t.Error("a bogus kind is accepted")
	}
	resp, err := h1.send(ctx, "GET", "trace?kind=bogus", nil)
	if err == nil {
		resp.Body.Close()
		t.Error("the agent streams a trace of kind bogus")
	} else if !strings.Contains(err.Error(), "bogus") {
		t.Errorf("the agent's answer to kind=bogus: %v; want it named", err)
	}
}
