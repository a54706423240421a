package afpacket_test

import (
	"encoding/binary"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/netlab/netlab/linuxnet"
	"github.com/netlab/netlab/linuxnet/linuxnettest"
	"github.com/netlab/netlab/stack/link/afpacket"
)

const (
	etherTypeIPv4 = 0x0800
	etherTypeARP  = 0x0806
	etherTypeIPv6 = 0x86dd
)

// recorder keeps a copy of every frame from one source MAC, between a start
// and an end marker of the test when markers is set.
type recorder struct {
	from    net.HardwareAddr
	markers bool

	mu      sync.Mutex
	started bool
	frames  [][]byte
	end     chan struct{}
}

func newRecorder(from net.HardwareAddr, markers bool) *recorder {
	return &recorder{from: from, markers: markers, started: !markers, end: make(chan struct{})}
}

func isMarker(f []byte, kind byte) bool {
	return len(f) >= testHdrLen && binary.BigEndian.Uint16(f[12:14]) == testEtherType && f[14] == kind
}

func (r *recorder) DeliverFrame(f []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(f) < 14 || string(f[6:12]) != string(r.from) {
		return
	}
	if r.markers && isMarker(f, 'S') {
		r.started = true
	}
	if !r.started {
		return
	}
	r.frames = append(r.frames, append([]byte(nil), f...))
	if r.markers && isMarker(f, 'E') {
		r.started = false
		close(r.end)
	}
}

// has reports whether a recorded frame satisfies match.
func (r *recorder) has(match func([]byte) bool) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, f := range r.frames {
		if match(f) {
			return true
		}
	}
	return false
}

func etherType(f []byte) uint16 { return binary.BigEndian.Uint16(f[12:14]) }

// arpRequest asks who has target, from src.
func arpRequest(srcMAC net.HardwareAddr, src, target net.IP) []byte {
	f := make([]byte, 60)
	copy(f[0:6], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	copy(f[6:12], srcMAC)
	binary.BigEndian.PutUint16(f[12:], etherTypeARP)
	a := f[14:]
	binary.BigEndian.PutUint16(a[0:], 1)             // Ethernet
	binary.BigEndian.PutUint16(a[2:], etherTypeIPv4) // IPv4
	a[4], a[5] = 6, 4
	binary.BigEndian.PutUint16(a[6:], 1) // request
	copy(a[8:14], srcMAC)
	copy(a[14:18], src.To4())
	copy(a[24:28], target.To4())
	return f
}

func checksum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return ^uint16(s)
}

// icmpEcho is an ICMP echo request from src to dst.
func icmpEcho(dstMAC, srcMAC net.HardwareAddr, src, dst net.IP, seq uint16) []byte {
	f := make([]byte, 14+20+8+32)
	copy(f[0:6], dstMAC)
	copy(f[6:12], srcMAC)
	binary.BigEndian.PutUint16(f[12:], etherTypeIPv4)
	ip := f[14:34]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(len(f)-14))
	ip[8], ip[9] = 64, 1 // TTL, ICMP
	copy(ip[12:16], src.To4())
	copy(ip[16:20], dst.To4())
	binary.BigEndian.PutUint16(ip[10:], checksum(ip))
	icmp := f[34:]
	icmp[0] = 8 // echo request
	binary.BigEndian.PutUint16(icmp[4:], 0x4e4c)
	binary.BigEndian.PutUint16(icmp[6:], seq)
	binary.BigEndian.PutUint16(icmp[2:], checksum(icmp))
	return f
}

// icmp6EchoAllNodes is an ICMPv6 echo request from link-local address src
// to all nodes (ff02::1), which a kernel with IPv6 on answers.
func icmp6EchoAllNodes(srcMAC net.HardwareAddr, src net.IP, seq uint16) []byte {
	const payload = 8 + 16
	f := make([]byte, 14+40+payload)
	copy(f[0:6], []byte{0x33, 0x33, 0, 0, 0, 1})
	copy(f[6:12], srcMAC)
	binary.BigEndian.PutUint16(f[12:], etherTypeIPv6)
	ip := f[14:54]
	ip[0] = 0x60
	binary.BigEndian.PutUint16(ip[4:], payload)
	ip[6], ip[7] = 58, 255 // ICMPv6, hop limit
	copy(ip[8:24], src.To16())
	copy(ip[24:40], net.ParseIP("ff02::1").To16())
	icmp := f[54:]
	icmp[0] = 128 // echo request
	binary.BigEndian.PutUint16(icmp[4:], 0x4e4c)
	binary.BigEndian.PutUint16(icmp[6:], seq)
	pseudo := make([]byte, 0, 40+payload)
	pseudo = append(pseudo, ip[8:40]...)
	pseudo = binary.BigEndian.AppendUint32(pseudo, payload)
	pseudo = append(pseudo, 0, 0, 0, 58)
	pseudo = append(pseudo, icmp...)
	binary.BigEndian.PutUint16(icmp[2:], checksum(pseudo))
	return f
}

func marker(dst, src net.HardwareAddr, kind byte, seq uint32) []byte {
	return makeFrame(make([]byte, 60), dst, src, kind, seq, 60)
}

// TestKernelSilent checks that after OpenInNamespace the kernel's side of
// the interface says nothing: no IPv6 (router solicitation, DAD, MLD), no
// ARP, no answer to an ARP request or a ping for the address it had, nor to
// an IPv6 ping to all nodes. A
// capture at the other end for about 1 s sees our frames only. A control
// first checks that the capture does see the kernel when it talks.
func TestKernelSilent(t *testing.T) {
	linuxnettest.RequireRoot(t)
	p := linuxnettest.NewVethPair(t, 1500)
	ipA, ipB := net.IPv4(10, 77, 0, 1), net.IPv4(10, 77, 0, 2)

	// A's kernel side, as chatty as a fresh interface: an IPv4 address,
	// ARP and IPv6 on, and just brought up.
	var macA net.HardwareAddr
	inNS(t, p.NSA, func() error {
		if err := linuxnet.EnableIPv6(p.IfA); err != nil {
			return err
		}
		l, err := netlink.LinkByName(p.IfA)
		if err != nil {
			return err
		}
		macA = l.Attrs().HardwareAddr
		if err := netlink.AddrAdd(l, &netlink.Addr{IPNet: &net.IPNet{IP: ipA, Mask: net.CIDRMask(24, 32)}}); err != nil {
			return err
		}
		if err := netlink.LinkSetDown(l); err != nil {
			return err
		}
		return netlink.LinkSetUp(l)
	})

	// B: a silent kernel and a capture.
	var b *afpacket.Endpoint
	inNS(t, p.NSB, func() error {
		if err := linuxnet.PrepareForUserspaceStack(p.IfB, linuxnet.PrepareOptions{}); err != nil {
			return err
		}
		var err error
		b, err = afpacket.New(p.IfB, afpacket.Options{})
		return err
	})
	t.Cleanup(func() { b.Close() })
	macB := b.LinkAddress()

	// Control: the capture sees A's kernel answer ARP and speak IPv6.
	ctl := newRecorder(macA, false)
	b.Attach(ctl)
	arpReply := func(f []byte) bool {
		return etherType(f) == etherTypeARP && binary.BigEndian.Uint16(f[20:22]) == 2
	}
	ipv6 := func(f []byte) bool { return etherType(f) == etherTypeIPv6 }
	ok := waitFor(5*time.Second, func() bool {
		if err := b.WritePacket(arpRequest(macB, ipB, ipA)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
		return ctl.has(arpReply) && ctl.has(ipv6)
	})
	if !ok {
		t.Fatalf("control: in 5 s the capture saw no ARP reply (%v) or no IPv6 (%v) from the unprepared kernel",
			ctl.has(arpReply), ctl.has(ipv6))
	}

	a := open(t, p.NSA, p.IfA, afpacket.Options{})

	// Capture between our start and end markers, while B pokes A's kernel.
	rec := newRecorder(macA, true)
	b.Attach(rec)
	if err := a.WritePacket(marker(macB, macA, 'S', 0)); err != nil {
		t.Fatal(err)
	}
	const rounds = 10
	for i := range rounds {
		for _, f := range [][]byte{
			arpRequest(macB, ipB, ipA),
			icmpEcho(macA, macB, ipB, ipA, uint16(i)),
			icmpEcho([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, macB, ipB, net.IPv4(10, 77, 0, 255), uint16(i)),
			icmp6EchoAllNodes(macB, net.ParseIP("fe80::2"), uint16(i)),
		} {
			if err := b.WritePacket(f); err != nil {
				t.Fatal(err)
			}
		}
		if err := a.WritePacket(marker(macB, macA, 'M', uint32(i))); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := a.WritePacket(marker(macB, macA, 'E', 0)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-rec.end:
	case <-time.After(5 * time.Second):
		t.Fatalf("end marker not received; stats %+v", b.Stats())
	}
	rec.mu.Lock()
	frames := rec.frames
	rec.mu.Unlock()
	want := 1 + rounds + 1
	for i, f := range frames {
		if !isMarker(f, 'S') && !isMarker(f, 'M') && !isMarker(f, 'E') {
			t.Errorf("frame %d from %s's side is not ours: ethertype %#04x, % x", i, p.IfA, etherType(f), f[:min(len(f), 48)])
		}
	}
	if len(frames) != want {
		t.Errorf("captured %d frames, want our %d", len(frames), want)
	}

	inNS(t, p.NSA, func() error {
		l, err := netlink.LinkByName(p.IfA)
		if err != nil {
			return err
		}
		addrs, err := netlink.AddrList(l, netlink.FAMILY_ALL)
		if err != nil {
			return err
		}
		if len(addrs) != 0 {
			t.Errorf("addresses on %s after OpenInNamespace: %v", p.IfA, addrs)
		}
		if dis, err := linuxnet.IPv6Disabled(p.IfA); err != nil || !dis {
			t.Errorf("IPv6Disabled(%s) = %v, %v; want true", p.IfA, dis, err)
		}
		return nil
	})
}

func inNS(t *testing.T, ns string, fn func() error) {
	t.Helper()
	if err := linuxnet.InNamespace(ns, fn); err != nil {
		t.Fatal(fmt.Errorf("in %s: %w", ns, err))
	}
}
