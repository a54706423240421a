package udpwire

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netlab/netlab/internal/vethlab"
	"github.com/netlab/netlab/stack"
	"github.com/netlab/netlab/stack/link"
)

// sink keeps copies of the frames an endpoint delivers.
type sink struct {
	mu     sync.Mutex
	frames [][]byte
}

func (s *sink) DeliverFrame(f []byte) {
	s.mu.Lock()
	s.frames = append(s.frames, bytes.Clone(f))
	s.mu.Unlock()
}

func (s *sink) got() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.frames...)
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10 s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func frame(n int, tag byte) []byte {
	f := make([]byte, n)
	for i := range f {
		f[i] = tag + byte(i*7)
	}
	return f
}

func mac(b byte) net.HardwareAddr { return net.HardwareAddr{2, 0, 0, 0, 0, b} }

// TestMux: two Muxes carry two links between them; each frame reaches
// its own link's far end whole and in order; what no link carries, or
// what does not fit the link, is counted or refused; closed endpoints
// refuse writes and a closed Mux ends its goroutine.
func TestMux(t *testing.T) {
	a, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	a1, _ := a.Link(1, b.Addr(), 1500, mac(1))
	a2, _ := a.Link(2, b.Addr(), 1500, mac(2))
	b1, _ := b.Link(1, a.Addr(), 1500, mac(3))
	b2, _ := b.Link(2, a.Addr(), 1500, mac(4))
	if _, err := a.Link(1, b.Addr(), 1500, mac(9)); err == nil {
		t.Error("a second link 1 was accepted")
	}
	var s1, s2, r1 sink
	b1.Attach(&s1)
	b2.Attach(&s2)
	a1.Attach(&r1)

	want1 := [][]byte{frame(60, 1), frame(1514, 2), frame(14, 3)}
	for _, f := range want1 {
		if err := a1.WritePacket(f); err != nil {
			t.Fatal(err)
		}
	}
	want2 := [][]byte{frame(100, 4), frame(1514, 5), frame(700, 6)}
	if n, err := a2.WritePackets(want2); err != nil || n != 3 {
		t.Fatalf("WritePackets: %d, %v", n, err)
	}
	b1.WritePacket(frame(42, 7))
	waitFor(t, "every frame", func() bool { return len(s1.got()) == 3 && len(s2.got()) == 3 && len(r1.got()) == 1 })
	for i, f := range s1.got() {
		if !bytes.Equal(f, want1[i]) {
			t.Errorf("link 1 frame %d: %d bytes, not the %d sent", i, len(f), len(want1[i]))
		}
	}
	for i, f := range s2.got() {
		if !bytes.Equal(f, want2[i]) {
			t.Errorf("link 2 frame %d: %d bytes, not the %d sent", i, len(f), len(want2[i]))
		}
	}
	if err := a1.WritePacket(frame(1515, 8)); err == nil {
		t.Error("a 1515-byte frame went on a 1500-MTU link")
	}

	// A link the far end does not carry (yet): counted, not delivered.
	a3, _ := a.Link(3, b.Addr(), 1500, mac(5))
	a3.WritePacket(frame(60, 9))
	waitFor(t, "the unknown link counted", func() bool { return b.Stats().Unknown == 1 })
	// Not our format: counted as malformed.
	c, _ := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(b.Addr()))
	c.Write([]byte("hello, this is not a frame of ours"))
	c.Close()
	waitFor(t, "the stranger counted", func() bool { return b.Stats().Malformed == 1 })
	// Our format for link 1, from another address than a's: not
	// delivered (a pod's address is reused; any pod can send here).
	c, _ = net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(b.Addr()))
	c.Write(append([]byte{'N', 'L', 1, 0, 0, 0, 0, 1}, frame(60, 11)...))
	c.Close()
	waitFor(t, "the impostor counted", func() bool { return b.Stats().Unknown == 2 })
	if len(s1.got()) != 3 {
		t.Errorf("link 1 delivered a frame from another address than its far end")
	}
	if st := a.Stats(); st.Sent != 7 || st.SendErrors != 1 {
		t.Errorf("a's stats %+v; want 7 sent, 1 refused", st)
	}

	b2.Close()
	if err := b2.WritePacket(frame(60, 1)); !errors.Is(err, ErrClosed) {
		t.Errorf("write on a closed endpoint: %v", err)
	}
	a2.WritePacket(frame(60, 10))
	waitFor(t, "the closed link's frame counted unknown", func() bool { return b.Stats().Unknown == 3 })
	if len(s2.got()) != 3 {
		t.Error("a closed endpoint delivered")
	}
	if err := a.Close(); err != nil {
		t.Error(err)
	}
	if err := a1.WritePacket(frame(60, 1)); !errors.Is(err, ErrClosed) {
		t.Errorf("write after the Mux closed: %v", err)
	}
	if _, err := a.Link(4, b.Addr(), 1500, mac(6)); !errors.Is(err, ErrClosed) {
		t.Errorf("Link after Close: %v", err)
	}
}

// TestTCPAcrossSmallMTU (root): the network under the wire is a veth of
// MTU 1500 between two namespaces, like two pods; the lab link over it
// keeps its MTU of 1500, so full-sized frames (1550-byte datagrams) are
// fragmented and reassembled by the kernels; two Go stacks move 8 MB
// across it with TCP, intact.
func TestTCPAcrossSmallMTU(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to make namespaces (run as root: sudo go test)")
	}
	ctx := context.Background()
	under, err := vethlab.New(ctx, vethlab.Options{Prefix: "nluw", MTU: 1500})
	if err != nil {
		t.Fatal(err)
	}
	defer under.Close()
	var mux [2]*Mux
	for side := range 2 {
		if err := under.Kernel(vethlab.Side(side)); err != nil {
			t.Fatal(err)
		}
		err := under.InNamespace(vethlab.Side(side), func() error {
			var err error
			mux[side], err = Listen(netip.AddrPortFrom(under.Addr[side].Addr(), 4790).String())
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		defer mux[side].Close()
	}
	var stacks [2]*stack.Stack
	addrs := [2]netip.Prefix{netip.MustParsePrefix("10.0.0.0/31"), netip.MustParsePrefix("10.0.0.1/31")}
	for side := range 2 {
		ep, err := mux[side].Link(7, mux[1-side].Addr(), 1500, mac(byte(side+1)))
		if err != nil {
			t.Fatal(err)
		}
		s := stack.New(stack.Options{})
		defer s.Destroy()
		nic, err := s.AddInterface("eth1", link.Endpoint(ep))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.AddAddress(nic, addrs[side]); err != nil {
			t.Fatal(err)
		}
		stacks[side] = s
	}
	const size = 8 << 20
	data := frame(size, 3)
	srv := stacks[1]
	lfd, _ := srv.Socket(stack.SockStream)
	if err := srv.Bind(lfd, netip.AddrPortFrom(addrs[1].Addr(), 5001)); err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(lfd, 4); err != nil {
		t.Fatal(err)
	}
	got := make(chan []byte, 1)
	go func() {
		fd, _, err := srv.Accept(lfd)
		if err != nil {
			got <- nil
			return
		}
		var buf bytes.Buffer
		p := make([]byte, 64<<10)
		for {
			n, err := srv.Read(fd, p)
			buf.Write(p[:n])
			if err != nil || n == 0 {
				break
			}
		}
		srv.Close(fd)
		got <- buf.Bytes()
	}()
	cli := stacks[0]
	fd, _ := cli.Socket(stack.SockStream)
	if err := cli.Connect(fd, addrs[1].Addr(), 5001); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for off := 0; off < size; {
		n, err := cli.Write(fd, data[off:min(off+64<<10, size)])
		if err != nil {
			t.Fatal(err)
		}
		off += n
	}
	cli.Close(fd)
	var recv []byte
	select {
	case recv = <-got:
	case <-time.After(60 * time.Second):
		t.Fatal("the transfer did not end within 60 s")
	}
	if !bytes.Equal(recv, data) {
		t.Fatalf("received %d bytes, not the %d sent", len(recv), size)
	}
	t.Logf("8 MB in %v; wire A %+v, B %+v", time.Since(start), mux[0].Stats(), mux[1].Stats())
	// The datagrams of full-sized frames were fragmented on the way.
	var frags string
	under.InNamespace(vethlab.B, func() error {
		b, _ := os.ReadFile("/proc/thread-self/net/snmp") // this thread's namespace: /proc/net is the process's
		frags = string(b)
		return nil
	})
	if reasmOKs(frags) == 0 {
		t.Errorf("no datagram was reassembled in B's namespace: the frames did not cross fragmented\n%s", frags)
	}
}

// reasmOKs reads Ip ReasmOKs from /proc/net/snmp's text.
func reasmOKs(snmp string) int {
	var names, values []string
	for _, line := range strings.Split(snmp, "\n") {
		if !strings.HasPrefix(line, "Ip: ") {
			continue
		}
		if names == nil {
			names = strings.Fields(line)
		} else {
			values = strings.Fields(line)
		}
	}
	for i, n := range names {
		if n == "ReasmOKs" && i < len(values) {
			v, _ := strconv.Atoi(values[i])
			return v
		}
	}
	return 0
}
