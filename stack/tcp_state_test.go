package stack

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/netlab/netlab/stack/wire"
)

// State × event tests on the raw peer, named Test<State><Event>, after RFC
// 9293 §3.10.7 and the behaviours gVisor's packetimpact checks (see
// ../shared/reference/tcp.md §7). Each test sends the exact segment that
// provokes the behaviour and checks the exact answer, or its absence.

const (
	flagA  = wire.TCPFlagACK
	flagS  = wire.TCPFlagSYN
	flagF  = wire.TCPFlagFIN
	flagR  = wire.TCPFlagRST
	flagP  = wire.TCPFlagPSH
	flagSA = wire.TCPFlagSYN | wire.TCPFlagACK
	flagRA = wire.TCPFlagRST | wire.TCPFlagACK
	flagFA = wire.TCPFlagFIN | wire.TCPFlagACK
	flagPA = wire.TCPFlagPSH | wire.TCPFlagACK
)

// ---- SYN-SENT (RFC 9293 §3.10.7.3) ----

func TestSynSentRSTACKRefuses(t *testing.T) {
	p := newRawPeer(t, Options{})
	fd := p.connectSYN(t)
	syn := p.expectSYN(t)
	p.sendTCP(flagRA, 0, syn.Seq+1, nil, nil)
	p.expectNone(t)
	if err := p.s.Connect(fd, p.ip, p.port); !errors.Is(err, ECONNREFUSED) {
		t.Fatalf("Connect after RST+ACK = %v, want ECONNREFUSED", err)
	}
	if st := p.s.Stats(); st.TcpAttemptFails != 1 || st.TcpOutRsts != 0 {
		t.Fatalf("attempt fails %d, RSTs sent %d; want 1, 0", st.TcpAttemptFails, st.TcpOutRsts)
	}
	if n := p.connCount(); n != 0 {
		t.Fatalf("%d connections left after the refusal, want 0", n)
	}
}

func TestSynSentRSTWithoutACKIgnored(t *testing.T) {
	p := newRawPeer(t, Options{})
	fd := p.connectSYN(t)
	syn := p.expectSYN(t)
	// RFC 9293 §3.10.7.3: in SYN-SENT an RST is acceptable only with an ACK
	// of our SYN; without one it is dropped.
	p.sendTCP(flagR, 0, 0, nil, nil)
	p.expectNone(t)
	if st := p.state(fd); st != StateSynSent {
		t.Fatalf("after a bare RST: %v, want SYN-SENT", st)
	}
	p.sendTCP(flagSA, p.peerISS, syn.Seq+1, nil, noOpts())
	p.expectFlags(t, flagA, syn.Seq+1, p.peerISS+1)
	if err := p.s.Connect(fd, p.ip, p.port); !errors.Is(err, EISCONN) {
		t.Fatalf("Connect after the SYN-ACK = %v, want EISCONN (established)", err)
	}
}

func TestSynSentBadACKDrawsRST(t *testing.T) {
	for _, tc := range []struct {
		name  string
		flags wire.TCPFlags
		ack   func(iss uint32) uint32
	}{
		{"SYN-ACK acking the ISS", flagSA, func(iss uint32) uint32 { return iss }},
		{"SYN-ACK acking past the SYN", flagSA, func(iss uint32) uint32 { return iss + 2 }},
		{"bare ACK from the future", flagA, func(iss uint32) uint32 { return iss + 100000 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newRawPeer(t, Options{})
			fd := p.connectSYN(t)
			syn := p.expectSYN(t)
			ack := tc.ack(syn.Seq)
			p.sendTCP(tc.flags, p.peerISS, ack, nil, noOpts())
			// RFC 9293 §3.10.7.3: <SEQ=SEG.ACK><CTL=RST>.
			rst := p.expectFlags(t, flagR, ack, 0)
			if rst.Ack != 0 || len(rst.Payload) != 0 {
				t.Fatalf("RST %v carries ack %d, want none", rst, rst.Ack)
			}
			p.expectNone(t)
			if st := p.state(fd); st != StateSynSent {
				t.Fatalf("after an unacceptable ACK: %v, want still SYN-SENT", st)
			}
			// An RST with an unacceptable ACK is dropped, and never answered.
			p.sendTCP(flagRA, 0, ack, nil, nil)
			p.expectNone(t)
			if st := p.state(fd); st != StateSynSent {
				t.Fatalf("after RST with a bad ACK: %v, want still SYN-SENT", st)
			}
		})
	}
}

func TestSynSentWriteQueuedUntilEstablished(t *testing.T) {
	p := newRawPeer(t, Options{})
	fd := p.connectSYN(t)
	syn := p.expectSYN(t)
	if n, err := p.s.Write(fd, []byte("hello")); n != 5 || err != nil {
		t.Fatalf("Write in SYN-SENT = %d, %v; want 5, nil (queued)", n, err)
	}
	if _, err := p.s.Read(fd, make([]byte, 10)); !errors.Is(err, EAGAIN) {
		t.Fatalf("Read in SYN-SENT = %v, want EAGAIN", err)
	}
	p.expectNone(t) // nothing may go before the handshake completes
	p.sendTCP(flagSA, p.peerISS, syn.Seq+1, nil, noOpts())
	p.expectFlags(t, flagA, syn.Seq+1, p.peerISS+1)
	d := p.expectFlags(t, flagPA, syn.Seq+1, p.peerISS+1)
	if string(d.Payload) != "hello" {
		t.Fatalf("data after ESTABLISHED = %q, want %q", d.Payload, "hello")
	}
}

func TestSynSentRSTFailsQueuedWrite(t *testing.T) {
	p := newRawPeer(t, Options{})
	fd := p.connectSYN(t)
	syn := p.expectSYN(t)
	p.s.Write(fd, []byte("queued"))
	p.sendTCP(flagRA, 0, syn.Seq+1, nil, nil)
	if _, err := p.s.Write(fd, []byte("more")); !errors.Is(err, ECONNREFUSED) {
		t.Fatalf("Write after the RST = %v, want ECONNREFUSED", err)
	}
	if _, err := p.s.Write(fd, []byte("more")); !errors.Is(err, EPIPE) {
		t.Fatalf("second Write = %v, want EPIPE (the error is reported once)", err)
	}
	p.expectNone(t)
}

// TestSynSentSimultaneousOpenThenRST is RFC 793 p70 (packetimpact
// tcp_synsent_reset): SYN-SENT → SYN-RECEIVED on a bare SYN, then CLOSED on
// an RST.
func TestSynSentSimultaneousOpenThenRST(t *testing.T) {
	p := newRawPeer(t, Options{})
	fd := p.connectSYN(t)
	syn := p.expectSYN(t)
	p.sendTCP(flagS, p.peerISS, 0, nil, noOpts())
	sa := p.expectFlags(t, flagSA, syn.Seq, p.peerISS+1)
	if !sa.Options.HasMSS {
		t.Fatalf("simultaneous-open SYN-ACK %v lacks the MSS option", sa)
	}
	if st := p.state(fd); st != StateSynRcvd {
		t.Fatalf("after a SYN in SYN-SENT: %v, want SYN-RECEIVED", st)
	}
	p.sendTCP(flagR, p.peerISS+1, 0, nil, nil)
	p.expectNone(t)
	if err := p.s.Connect(fd, p.ip, p.port); !errors.Is(err, ECONNREFUSED) {
		t.Fatalf("Connect after RST in SYN-RECEIVED (active open) = %v, want ECONNREFUSED", err)
	}
}

func TestSynSentSimultaneousOpenCompletes(t *testing.T) {
	p := newRawPeer(t, Options{})
	fd := p.connectSYN(t)
	syn := p.expectSYN(t)
	p.sendTCP(flagS, p.peerISS, 0, nil, noOpts())
	p.expectFlags(t, flagSA, syn.Seq, p.peerISS+1)
	// The peer's SYN-ACK (its answer to our SYN) completes the open.
	p.sendTCP(flagSA, p.peerISS, syn.Seq+1, nil, noOpts())
	p.expectFlags(t, flagA, syn.Seq+1, p.peerISS+1)
	if st := p.state(fd); st != StateEstablished {
		t.Fatalf("after the crossing SYN-ACKs: %v, want ESTABLISHED", st)
	}
}

// TestSynSentICMPUnreachableRefuses is packetimpact tcp_connect_icmp_error:
// an ICMP port unreachable quoting our SYN fails the connect; one quoting a
// sequence number we never sent is ignored (RFC 5927 §4.1).
func TestSynSentICMPUnreachableRefuses(t *testing.T) {
	p := newRawPeer(t, Options{})
	fd := p.connectSYN(t)
	syn := p.expectSYN(t)
	bogus := append([]byte(nil), syn.Packet...)
	bogus[ipHdr+4] ^= 0x80 // the quoted sequence number, far out of window
	p.sendICMPError(wire.ICMPDestUnreachable, wire.ICMPPortUnreachable, bogus)
	if st := p.state(fd); st != StateSynSent {
		t.Fatalf("after an ICMP error quoting a foreign sequence: %v, want SYN-SENT", st)
	}
	if n := p.s.Stats().TcpExtOutOfWindowIcmps; n != 1 {
		t.Fatalf("OutOfWindowIcmps = %d, want 1", n)
	}
	p.sendICMPError(wire.ICMPDestUnreachable, wire.ICMPPortUnreachable, syn.Packet)
	if err := p.s.Connect(fd, p.ip, p.port); !errors.Is(err, ECONNREFUSED) {
		t.Fatalf("Connect after ICMP port unreachable = %v, want ECONNREFUSED", err)
	}
	if st := p.s.Stats(); st.IcmpInDestUnreachs != 2 || st.TcpAttemptFails != 1 {
		t.Fatalf("IcmpInDestUnreachs %d, TcpAttemptFails %d; want 2, 1", st.IcmpInDestUnreachs, st.TcpAttemptFails)
	}
	p.expectNone(t)
}

func TestSynSentSYNRetransmittedThenTimesOut(t *testing.T) {
	p := newRawPeer(t, Options{TCP: TCPOptions{SynRetries: 2}})
	fd := p.connectSYN(t)
	syn := p.expectSYN(t)
	// RFC 6298 §2.1 and §5.5: initial RTO 1 s, doubled per retransmission.
	elapsed := time.Duration(0)
	for i, wait := range []time.Duration{time.Second, 2 * time.Second} {
		p.advance(wait - time.Millisecond)
		p.expectNone(t)
		p.advance(time.Millisecond)
		elapsed += wait
		r := p.expectFlags(t, flagS, syn.Seq, 0)
		o, want := r.Options, syn.Options
		want.TSVal += uint32(elapsed / time.Millisecond) // the timestamp clock ticks in ms
		if o != want {
			t.Fatalf("retransmission %d options %+v, want the SYN's %+v with TSval %d", i+1, o, syn.Options, want.TSVal)
		}
	}
	p.advance(4 * time.Second)
	p.expectNone(t)
	if err := p.s.Connect(fd, p.ip, p.port); !errors.Is(err, ETIMEDOUT) {
		t.Fatalf("Connect after SynRetries = %v, want ETIMEDOUT", err)
	}
	if st := p.s.Stats(); st.TcpRetransSegs != 2 || st.TcpExtTCPAbortOnTimeout != 1 {
		t.Fatalf("retransmitted %d, aborts on timeout %d; want 2, 1", st.TcpRetransSegs, st.TcpExtTCPAbortOnTimeout)
	}
}

func TestSynSentShutdownAbandonsConnect(t *testing.T) {
	p := newRawPeer(t, Options{})
	fd := p.connectSYN(t)
	syn := p.expectSYN(t)
	if err := p.s.Shutdown(fd, ShutWR); err != nil {
		t.Fatal(err)
	}
	if n := p.connCount(); n != 0 {
		t.Fatalf("%d connections after shutdown in SYN-SENT, want 0", n)
	}
	// The late SYN-ACK finds nothing: it is answered with an RST.
	p.sendTCP(flagSA, p.peerISS, syn.Seq+1, nil, noOpts())
	p.expectFlags(t, flagR, syn.Seq+1, 0)
}

// ---- SYN-RECEIVED (RFC 9293 §3.10.7.4) ----

// TestSynRcvdAcceptableACK is packetimpact tcp_acceptable_ack_syn_rcvd:
// only ACK = ISS+1 completes the handshake; any other ACK draws
// <SEQ=SEG.ACK><CTL=RST> and leaves the connection half-open.
func TestSynRcvdAcceptableACK(t *testing.T) {
	p := newRawPeer(t, Options{})
	lfd := p.listen(t, 80, 8)
	sa := p.synRcvd(t, nil)
	for _, bad := range []uint32{sa.Seq, sa.Seq + 2, sa.Seq + 1000, sa.Seq - 1000} {
		p.sendTCP(flagA, p.seq, bad, nil, nil)
		p.expectFlags(t, flagR, bad, 0)
		if _, _, err := p.s.Accept(lfd); !errors.Is(err, EAGAIN) {
			t.Fatalf("Accept after ACK %d (ISS %d) = %v, want EAGAIN", bad, sa.Seq, err)
		}
	}
	p.sendTCP(flagA, p.seq, sa.Seq+1, nil, nil)
	p.expectNone(t)
	afd, remote, err := p.s.Accept(lfd)
	if err != nil || remote.Addr() != p.ip || remote.Port() != p.port {
		t.Fatalf("Accept after ACK = ISS+1: %d %v %v, want the peer %v:%d", afd, remote, err, p.ip, p.port)
	}
	if st := p.state(afd); st != StateEstablished {
		t.Fatalf("accepted connection %v, want ESTABLISHED", st)
	}
}

// TestSynRcvdRSTRemovesChild is packetimpact tcp_synrcvd_reset: an RST in
// SYN-RECEIVED of a passive open returns to LISTEN (the child is dropped).
func TestSynRcvdRSTRemovesChild(t *testing.T) {
	p := newRawPeer(t, Options{})
	lfd := p.listen(t, 80, 1)
	sa := p.synRcvd(t, nil)
	// An in-window RST not at RCV.NXT draws a challenge ACK (RFC 5961 §3.2).
	p.sendTCP(flagR, p.seq+5, 0, nil, nil)
	p.expectFlags(t, flagA, sa.Seq+1, p.seq)
	p.sendTCP(flagR, p.seq, 0, nil, nil)
	p.expectNone(t)
	if n := p.connCount(); n != 0 {
		t.Fatalf("%d connections after RST in SYN-RECEIVED, want 0", n)
	}
	// The late ACK finds only the listener: no cookie, so an RST.
	p.sendTCP(flagA, p.seq, sa.Seq+1, nil, nil)
	p.expectFlags(t, flagR, sa.Seq+1, 0)
	if _, _, err := p.s.Accept(lfd); !errors.Is(err, EAGAIN) {
		t.Fatalf("Accept = %v, want EAGAIN", err)
	}
	// The half-open slot was given back: with backlog 1 a new SYN gets a
	// real SYN-ACK, not a cookie.
	p.port++
	p.synRcvd(t, nil)
	if n := p.s.Stats().TcpExtSyncookiesSent; n != 0 {
		t.Fatalf("cookies sent %d, want 0 (the reset child freed its slot)", n)
	}
}

func TestSynRcvdRetransmittedSYNGetsSYNACK(t *testing.T) {
	p := newRawPeer(t, Options{})
	p.listen(t, 80, 8)
	sa := p.synRcvd(t, nil)
	p.sendTCP(flagS, p.peerISS, 0, nil, noOpts())
	again := p.expectFlags(t, flagSA, sa.Seq, p.peerISS+1)
	if again.Options.MSS != sa.Options.MSS {
		t.Fatalf("retransmitted SYN-ACK MSS %d, want %d", again.Options.MSS, sa.Options.MSS)
	}
	if n := p.s.Stats().TcpRetransSegs; n != 1 {
		t.Fatalf("TcpRetransSegs = %d, want 1", n)
	}
}

func TestSynRcvdSYNACKRetransmittedOnRTO(t *testing.T) {
	p := newRawPeer(t, Options{TCP: TCPOptions{SynRetries: 2}})
	p.listen(t, 80, 8)
	sa := p.synRcvd(t, nil)
	for _, wait := range []time.Duration{time.Second, 2 * time.Second} {
		p.advance(wait - time.Millisecond)
		p.expectNone(t)
		p.advance(time.Millisecond)
		p.expectFlags(t, flagSA, sa.Seq, p.peerISS+1)
	}
	p.advance(4 * time.Second)
	p.expectNone(t)
	if n := p.connCount(); n != 0 {
		t.Fatalf("%d connections after SynRetries expired, want 0", n)
	}
}

// TestListenBacklogFullIgnoresCompletingACK is packetimpact
// tcp_listen_backlog: while the accept queue is full, a completing ACK is
// ignored (the child stays in SYN-RECEIVED and its SYN-ACK retransmission
// retries) and new SYNs are dropped.
func TestListenBacklogFullIgnoresCompletingACK(t *testing.T) {
	p := newRawPeer(t, Options{})
	lfd := p.listen(t, 80, 2)
	type half struct {
		port     uint16
		seq, ack uint32
	}
	open := func(port uint16) half {
		p.port = port
		sa := p.synRcvd(t, nil)
		return half{port, p.seq, sa.Seq + 1}
	}
	complete := func(h half) {
		p.port = h.port
		p.sendTCP(flagA, h.seq, h.ack, nil, nil)
	}
	h1, h2 := open(1001), open(1002)
	complete(h1)
	h3 := open(1003)
	complete(h2)
	p.expectNone(t)
	complete(h3) // the accept queue holds two: ignored
	p.expectNone(t)
	if st := p.s.Stats(); st.TcpExtListenOverflows != 1 || st.TcpExtListenDrops != 1 {
		t.Fatalf("ListenOverflows %d ListenDrops %d, want 1 1", st.TcpExtListenOverflows, st.TcpExtListenDrops)
	}
	p.port = 1004
	p.sendTCP(flagS, p.peerISS, 0, nil, noOpts())
	p.expectNone(t) // a new SYN is dropped too
	if n := p.s.Stats().TcpExtListenOverflows; n != 2 {
		t.Fatalf("ListenOverflows after a SYN = %d, want 2", n)
	}
	if _, _, err := p.s.Accept(lfd); err != nil {
		t.Fatal(err)
	}
	// The third child's SYN-ACK is retransmitted on its RTO; its ACK now fits.
	p.advance(time.Second)
	r := p.expectFlags(t, flagSA, h3.ack-1, p.peerISS+1)
	if r.DstPort != 1003 {
		t.Fatalf("retransmitted SYN-ACK to port %d, want 1003", r.DstPort)
	}
	complete(h3)
	p.expectNone(t)
	for i := 0; i < 2; i++ {
		if _, remote, err := p.s.Accept(lfd); err != nil {
			t.Fatalf("Accept %d: %v", i+2, err)
		} else if i == 1 && remote.Port() != 1003 {
			t.Fatalf("last accepted from port %d, want 1003", remote.Port())
		}
	}
}

// TestListenerCloseResetsUnacceptedChildren is packetimpact
// tcp_noaccept_close_rst and packetdrill
// listen_close_before_handshake_complete.
func TestListenerCloseResetsUnacceptedChildren(t *testing.T) {
	p := newRawPeer(t, Options{})
	lfd := p.listen(t, 80, 8)
	p.port = 1001
	sa1 := p.synRcvd(t, nil)
	p.sendTCP(flagA, p.seq, sa1.Seq+1, nil, nil) // established, not accepted
	p.port = 1002
	sa2 := p.synRcvd(t, nil) // half-open
	p.expectNone(t)
	if err := p.s.Close(lfd); err != nil {
		t.Fatal(err)
	}
	for _, want := range []struct {
		port uint16
		seq  uint32
	}{{1001, sa1.Seq + 1}, {1002, sa2.Seq + 1}} {
		r := p.expectFlags(t, flagRA, want.seq, p.peerISS+1)
		if r.DstPort != want.port {
			t.Fatalf("RST to port %d, want %d", r.DstPort, want.port)
		}
	}
	p.expectNone(t)
	if n := p.connCount(); n != 0 {
		t.Fatalf("%d connections after the listener closed, want 0", n)
	}
	p.port = 1003
	p.sendTCP(flagS, 5000, 0, nil, noOpts())
	p.expectFlags(t, flagRA, 0, 5001)
}

// TestListenSYNCookieAcceptsAndRejects covers the cookie path: a valid
// cookie ACK makes an established connection (and its data is delivered);
// a bad one draws an RST and counts as SyncookiesFailed.
func TestListenSYNCookieAcceptsAndRejects(t *testing.T) {
	p := newRawPeer(t, Options{})
	lfd := p.listen(t, 80, 1)
	p.port = 1001
	p.synRcvd(t, nil) // fills the one half-open slot
	p.port = 1002
	cookie := p.synRcvd(t, noOpts())
	if cookie.Options.HasTimestamps || cookie.Options.SACKPermitted || cookie.Options.HasWindowScale || cookie.Window != 65535 {
		t.Fatalf("cookie SYN-ACK %v options %+v, want MSS only and window 65535", cookie, cookie.Options)
	}
	if st := p.s.Stats(); st.TcpExtSyncookiesSent != 1 {
		t.Fatalf("cookies sent %d, want 1", st.TcpExtSyncookiesSent)
	}
	p.port = 1003
	p.sendTCP(flagA, 7000, 12345, nil, nil)
	p.expectFlags(t, flagR, 12345, 0)
	if n := p.s.Stats().TcpExtSyncookiesFailed; n != 1 {
		t.Fatalf("SyncookiesFailed = %d, want 1", n)
	}
	p.port = 1002
	p.sendTCP(flagPA, p.peerISS+1, cookie.Seq+1, []byte("via cookie"), nil)
	ack := p.expectTCP(t)
	if ack.Flags != flagA || ack.Ack != p.peerISS+1+10 {
		t.Fatalf("answer to the cookie ACK with data: %v, want an ACK of the 10 bytes", ack)
	}
	afd, remote, err := p.s.Accept(lfd)
	if err != nil || remote.Port() != 1002 {
		t.Fatalf("Accept = %v from %v, want the cookie connection from port 1002", err, remote)
	}
	p.s.SetNonblock(afd, true)
	got, _ := readAll(t, p.s, afd)
	if string(got) != "via cookie" {
		t.Fatalf("Read = %q, want %q", got, "via cookie")
	}
	info, _ := p.s.Info(afd)
	if info.MSS != 1460 || info.SACK || info.Timestamps {
		t.Fatalf("cookie connection mss %d sack %v ts %v, want 1460 false false", info.MSS, info.SACK, info.Timestamps)
	}
	// A SYN-ACK or an RST to a listener: RST for the first, silence for
	// the second.
	p.port = 1004
	p.sendTCP(flagSA, 1, 4242, nil, noOpts())
	p.expectFlags(t, flagR, 4242, 0)
	p.sendTCP(flagR, 1, 0, nil, nil)
	p.expectNone(t)
}

// ---- ESTABLISHED ----

func TestEstablishedRSTInWindowGetsChallengeACK(t *testing.T) {
	p := newRawPeer(t, Options{})
	fd, _ := p.connect(t, nil)
	// RFC 5961 §3.2: an RST in the window but not at RCV.NXT.
	p.sendTCP(flagR, p.seq+100, 0, nil, nil)
	p.expectFlags(t, flagA, p.ack, p.seq)
	if st := p.state(fd); st != StateEstablished {
		t.Fatalf("after an inexact RST: %v, want ESTABLISHED", st)
	}
	if n := p.s.Stats().TcpExtTCPChallengeACK; n != 1 {
		t.Fatalf("TcpExtTCPChallengeACK = %d, want 1", n)
	}
	// Challenge ACKs are limited to 1000 a second (Linux
	// tcp_challenge_ack_limit).
	for i := 1; i < 1000; i++ {
		p.sendTCP(flagR, p.seq+100, 0, nil, nil)
	}
	p.drain()
	p.sendTCP(flagR, p.seq+100, 0, nil, nil)
	p.expectNone(t)
	p.advance(time.Second)
	p.sendTCP(flagR, p.seq+100, 0, nil, nil)
	p.expectFlags(t, flagA, p.ack, p.seq)
}

func TestEstablishedExactRSTResets(t *testing.T) {
	p := newRawPeer(t, Options{})
	fd, _ := p.connect(t, nil)
	p.sendTCP(flagR, p.seq, 0, nil, nil)
	p.expectNone(t) // no RST in answer to an RST
	if _, err := p.s.Read(fd, make([]byte, 10)); !errors.Is(err, ECONNRESET) {
		t.Fatalf("Read after RST = %v, want ECONNRESET", err)
	}
	if n, err := p.s.Read(fd, make([]byte, 10)); n != 0 || err != nil {
		t.Fatalf("second Read = %d, %v; want 0, nil (reported once)", n, err)
	}
	if _, err := p.s.Write(fd, []byte("x")); !errors.Is(err, EPIPE) {
		t.Fatalf("Write after RST = %v, want EPIPE", err)
	}
	if st := p.s.Stats(); st.TcpEstabResets != 1 || st.TcpCurrEstab != 0 {
		t.Fatalf("EstabResets %d CurrEstab %d, want 1 0", st.TcpEstabResets, st.TcpCurrEstab)
	}
}

func TestEstablishedOutOfWindowRSTIgnored(t *testing.T) {
	p := newRawPeer(t, Options{})
	fd, _ := p.connect(t, nil)
	for _, seq := range []uint32{p.seq - 1, p.seq + 1<<30} {
		p.sendTCP(flagR, seq, 0, nil, nil)
		p.expectNone(t)
	}
	if st := p.state(fd); st != StateEstablished {
		t.Fatalf("after out-of-window RSTs: %v, want ESTABLISHED", st)
	}
}

func TestEstablishedSYNGetsChallengeACK(t *testing.T) {
	p := newRawPeer(t, Options{})
	fd, _ := p.connect(t, nil)
	// RFC 5961 §4.2: a SYN in a synchronized state, whatever its sequence
	// number, is answered with an ACK and does not reset.
	p.sendTCP(flagS, p.seq, 0, nil, noOpts())
	p.expectFlags(t, flagA, p.ack, p.seq)
	if n := p.s.Stats().TcpExtTCPChallengeACK; n != 1 {
		t.Fatalf("TcpExtTCPChallengeACK = %d, want 1", n)
	}
	p.sendTCP(flagS, p.peerISS, 0, nil, noOpts()) // a retransmitted SYN: old
	p.expectFlags(t, flagA, p.ack, p.seq)
	if st := p.state(fd); st != StateEstablished {
		t.Fatalf("after SYNs: %v, want ESTABLISHED", st)
	}
}

// TestEstablishedOutOfWindowSegmentACKedRateLimited is packetimpact
// tcp_outside_the_window: RFC 9293 p69 asks for an ACK, and Linux sends at
// most one per 500 ms (tcp_invalid_ratelimit).
func TestEstablishedOutOfWindowSegmentACKedRateLimited(t *testing.T) {
	p := newRawPeer(t, Options{})
	fd, _ := p.connect(t, nil)
	far := p.seq + 1<<30
	p.sendTCP(flagPA, far, p.ack, []byte("far"), nil)
	p.expectFlags(t, flagA, p.ack, p.seq)
	p.sendTCP(flagPA, far, p.ack, []byte("far"), nil)
	p.expectNone(t)
	p.advance(499 * time.Millisecond)
	p.sendTCP(flagPA, p.seq-10, p.ack, []byte("old"), nil) // wholly old: also outside
	p.expectNone(t)
	p.advance(time.Millisecond)
	p.sendTCP(flagPA, far, p.ack, []byte("far"), nil)
	p.expectFlags(t, flagA, p.ack, p.seq)
	if got, _ := readAll(t, p.s, fd); len(got) != 0 {
		t.Fatalf("out-of-window data was delivered: %q", got)
	}
}

func TestEstablishedACKForUnsentDataGetsACK(t *testing.T) {
	p := newRawPeer(t, Options{})
	fd, _ := p.connect(t, nil)
	before, _ := p.s.Info(fd)
	p.sendTCP(flagA, p.seq, p.ack+1000, nil, nil)
	p.expectFlags(t, flagA, p.ack, p.seq)
	after, _ := p.s.Info(fd)
	if after.SndUna != before.SndUna || p.s.Stats().TcpExtTCPACKSkippedSeq != 1 {
		t.Fatalf("snd_una %d -> %d, ACKSkippedSeq %d; want unchanged and 1", before.SndUna, after.SndUna, p.s.Stats().TcpExtTCPACKSkippedSeq)
	}
}

// TestEstablishedPAWSDropsOldTimestamp is packetimpact tcp_paws_mechanism
// (RFC 7323 §5.3): a segment whose TSval is older than TS.Recent is dropped
// and ACKed, and the ACK does not advance.
func TestEstablishedPAWSDropsOldTimestamp(t *testing.T) {
	p := newRawPeer(t, Options{})
	fd, _ := p.connect(t, fullOpts(1000))
	ts := func(v uint32) *wire.TCPOptions { return &wire.TCPOptions{HasTimestamps: true, TSVal: v} }
	p.sendTCP(flagPA, p.seq, p.ack, []byte("aaaa"), ts(2000))
	a := p.expectFlags(t, flagA, p.ack, p.seq+4)
	if !a.Options.HasTimestamps || a.Options.TSEcr != 2000 {
		t.Fatalf("ACK timestamps %+v, want TSecr 2000", a.Options)
	}
	p.sendTCP(flagPA, p.seq+4, p.ack, []byte("bbbb"), ts(1999))
	a = p.expectFlags(t, flagA, p.ack, p.seq+4)
	if a.Options.TSEcr != 2000 {
		t.Fatalf("PAWS ACK echoes %d, want TS.Recent 2000", a.Options.TSEcr)
	}
	if n := p.s.Stats().TcpExtPAWSEstab; n != 1 {
		t.Fatalf("PAWSEstab = %d, want 1", n)
	}
	if got, _ := readAll(t, p.s, fd); string(got) != "aaaa" {
		t.Fatalf("Read = %q, want only %q", got, "aaaa")
	}
}

func TestEstablishedOutOfOrderDataAndFINReassembled(t *testing.T) {
	p := newRawPeer(t, Options{})
	fd, _ := p.connect(t, &wire.TCPOptions{HasMSS: true, MSS: 1460, SACKPermitted: true})
	p.sendTCP(flagFA, p.seq+5, p.ack, []byte("world"), nil)
	a := p.expectFlags(t, flagA, p.ack, p.seq)
	o := a.Options
	if o.NumSACKBlocks != 1 || o.SACKBlocks[0] != (wire.SACKBlock{Start: p.seq + 5, End: p.seq + 10}) {
		t.Fatalf("ACK for out-of-order data SACKs %+v, want one block [%d,%d)", o.SACKBlocks[:o.NumSACKBlocks], p.seq+5, p.seq+10)
	}
	p.sendTCP(flagPA, p.seq, p.ack, []byte("hello"), nil)
	p.expectFlags(t, flagA, p.ack, p.seq+11) // 10 bytes and the FIN
	if st := p.state(fd); st != StateCloseWait {
		t.Fatalf("after the hole filled: %v, want CLOSE-WAIT", st)
	}
	got, err := readAll(t, p.s, fd)
	if string(got) != "helloworld" || err != nil {
		t.Fatalf("Read = %q, %v; want %q then end of stream", got, err, "helloworld")
	}
	if n := p.s.Stats().TcpExtTCPOFOQueue; n != 1 {
		t.Fatalf("OFOQueue = %d, want 1", n)
	}
}

func TestEstablishedOverlappingSegmentTrimmed(t *testing.T) {
	p := newRawPeer(t, Options{})
	fd, _ := p.connect(t, nil)
	p.sendTCP(flagPA, p.seq, p.ack, []byte("abc"), nil)
	p.expectFlags(t, flagA, p.ack, p.seq+3)
	p.sendTCP(flagPA, p.seq+1, p.ack, []byte("bcde"), nil)
	p.expectFlags(t, flagA, p.ack, p.seq+5)
	if got, _ := readAll(t, p.s, fd); string(got) != "abcde" {
		t.Fatalf("Read = %q, want %q", got, "abcde")
	}
}

// TestEstablishedSegmentLargerThanBufferTrimmed is packetimpact
// tcp_rcv_buf_space: what does not fit in the receive buffer is dropped,
// and the ACK says how much was taken.
func TestEstablishedSegmentLargerThanBufferTrimmed(t *testing.T) {
	p := newRawPeer(t, Options{TCP: TCPOptions{ReceiveBuffer: 4096}})
	fd, _ := p.connect(t, nil)
	data := bytes.Repeat([]byte("0123456789"), 600)
	p.sendTCP(flagPA, p.seq, p.ack, data, nil)
	a := p.expectTCP(t)
	took := int(a.Ack - p.seq)
	if a.Flags != flagA || took < 4096 || took >= len(data) {
		t.Fatalf("ACK %v after %d bytes into a 4096-byte buffer: took %d", a, len(data), took)
	}
	if n := p.s.Stats().TcpExtTCPRcvQDrop; n != 1 {
		t.Fatalf("RcvQDrop = %d, want 1", n)
	}
	got, _ := readAll(t, p.s, fd)
	if !bytes.Equal(got, data[:took]) {
		t.Fatalf("Read %d bytes, want the first %d sent", len(got), took)
	}
}

// TestEstablishedReadWindowUpdate checks receiver-side window updates (RFC
// 9293 §3.8.6.2.2, packetimpact tcp_zero_receive_window): reading a full
// buffer announces the reopened window, and a read that cannot change the
// advertised window (here capped at 65535 without window scaling) sends
// nothing, since a useless update is a duplicate ACK to the peer.
func TestEstablishedReadWindowUpdate(t *testing.T) {
	p := newRawPeer(t, Options{TCP: TCPOptions{ReceiveBuffer: 8192}})
	fd, _ := p.connect(t, nil) // no window scaling
	data := make([]byte, 8192)
	for off := 0; off < len(data); off += 1460 {
		end := min(off+1460, len(data))
		p.sendTCP(flagPA, p.seq+uint32(off), p.ack, data[off:end], nil)
	}
	var last tcpSeg
	for f := p.next(); f != nil; f = p.next() {
		_, h, _, _ := tcpFrame(f)
		last = tcpSeg{TCPFields: h}
	}
	if last.Ack != p.seq+8192 || last.Window > 128 {
		t.Fatalf("last ACK %v window %d, want ack of all 8192 bytes and a closed window", last, last.Window)
	}
	p.seq += 8192
	buf := make([]byte, 4096)
	if n, _ := p.s.Read(fd, buf); n != 4096 {
		t.Fatalf("Read = %d, want 4096", n)
	}
	upd := p.expectFlags(t, flagA, p.ack, p.seq)
	if upd.Window < 4096 {
		t.Fatalf("window update after reading 4096 bytes announces %d", upd.Window)
	}
	p.expectNone(t)

	// With the default 1 MiB buffer and no window scaling, the window is
	// 65535 whatever is read.
	p2 := newRawPeer(t, Options{})
	fd2, _ := p2.connect(t, nil)
	p2.sendTCP(flagPA, p2.seq, p2.ack, make([]byte, 100), nil)
	p2.expectFlags(t, flagA, p2.ack, p2.seq+100)
	for i := 0; i < 3; i++ {
		p2.s.Read(fd2, make([]byte, 10))
		p2.expectNone(t)
	}
}

// TestEstablishedICMPErrorIsSoft checks RFC 1122 §4.2.3.9: host unreachable
// for an established connection does not abort it.
func TestEstablishedICMPErrorIsSoft(t *testing.T) {
	p := newRawPeer(t, Options{})
	fd, _ := p.connect(t, nil)
	p.s.Write(fd, []byte("ping"))
	d := p.expectFlags(t, flagPA, p.ack, p.seq)
	p.sendICMPError(wire.ICMPDestUnreachable, wire.ICMPHostUnreachable, d.Packet)
	p.expectNone(t)
	if st := p.state(fd); st != StateEstablished {
		t.Fatalf("after ICMP host unreachable: %v, want ESTABLISHED", st)
	}
	p.sendTCP(flagA, p.seq, p.ack+4, nil, nil)
	if info, _ := p.s.Info(fd); info.Unacked != 0 {
		t.Fatalf("unacked %d after the ACK, want 0", info.Unacked)
	}
}

// ---- closed ports: RFC 9293 §3.10.7.1 ----

func TestClosedPortRST(t *testing.T) {
	for _, tc := range []struct {
		name     string
		flags    wire.TCPFlags
		seq, ack uint32
		payload  string
		want     wire.TCPFlags
		wantSeq  uint32
		wantAck  uint32
	}{
		{"SYN", flagS, 5000, 0, "", flagRA, 0, 5001},
		{"ACK", flagA, 5000, 7777, "", flagR, 7777, 0},
		{"data with ACK", flagPA, 5000, 8888, "xyz", flagR, 8888, 0},
		{"FIN and data without ACK", flagF, 100, 0, "hello", flagRA, 0, 106},
		{"bare data", 0, 100, 0, "abc", flagRA, 0, 103},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newRawPeer(t, Options{})
			p.sport = 9
			p.sendTCP(tc.flags, tc.seq, tc.ack, []byte(tc.payload), nil)
			p.expectFlags(t, tc.want, tc.wantSeq, tc.wantAck)
			if n := p.s.Stats().TcpOutRsts; n != 1 {
				t.Fatalf("TcpOutRsts = %d, want 1", n)
			}
		})
	}
}

// TestNoRSTInAnswerToRST is packetdrill no_rst_to_rst: whatever the state,
// an RST is never answered with an RST.
func TestNoRSTInAnswerToRST(t *testing.T) {
	p := newRawPeer(t, Options{})
	p.sport = 9 // closed
	p.sendTCP(flagR, 1, 0, nil, nil)
	p.sendTCP(flagRA, 1, 2, nil, nil)
	p.expectNone(t)
	p.listen(t, 80, 4)
	p.sendTCP(flagRA, 1, 2, nil, nil)
	p.expectNone(t)
	p.port = 1001
	p.connect(t, nil)
	p.sendTCP(flagRA, p.seq+1<<30, p.ack+1<<30, nil, nil)
	p.expectNone(t)
	if n := p.s.Stats().TcpOutRsts; n != 0 {
		t.Fatalf("TcpOutRsts = %d, want 0", n)
	}
}

// ---- FIN-WAIT-1, CLOSING, FIN-WAIT-2, TIME-WAIT, CLOSE-WAIT, LAST-ACK ----

// TestFinWait1FINRetransmittedOnRTO is packetimpact tcp_fin_retransmission.
func TestFinWait1FINRetransmittedOnRTO(t *testing.T) {
	p := newRawPeer(t, Options{})
	fd, _ := p.connect(t, nil)
	p.s.Shutdown(fd, ShutWR)
	p.expectFlags(t, flagFA, p.ack, p.seq)
	for _, rto := range []time.Duration{200 * time.Millisecond, 400 * time.Millisecond} {
		p.advance(rto - time.Millisecond)
		p.expectNone(t)
		p.advance(time.Millisecond)
		p.expectFlags(t, flagFA, p.ack, p.seq)
	}
	if st := p.state(fd); st != StateFinWait1 {
		t.Fatalf("with the FIN unacknowledged: %v, want FIN-WAIT-1", st)
	}
	p.sendTCP(flagA, p.seq, p.ack+1, nil, nil)
	p.expectNone(t)
	if st := p.state(fd); st != StateFinWait2 {
		t.Fatalf("after the ACK of the FIN: %v, want FIN-WAIT-2", st)
	}
}

func TestClosingFINRetransmittedAndOutOfWindowACKed(t *testing.T) {
	p := newRawPeer(t, Options{})
	fd, _ := p.connect(t, nil)
	p.s.Shutdown(fd, ShutWR)
	p.expectFlags(t, flagFA, p.ack, p.seq)
	// The peer's FIN crosses ours: it does not acknowledge our FIN.
	p.sendTCP(flagFA, p.seq, p.ack, nil, nil)
	p.expectFlags(t, flagA, p.ack+1, p.seq+1)
	if st := p.state(fd); st != StateClosing {
		t.Fatalf("after a crossing FIN: %v, want CLOSING", st)
	}
	p.advance(200 * time.Millisecond)
	p.expectFlags(t, flagFA, p.ack, p.seq+1)
	// An out-of-window segment in CLOSING gets an ACK too.
	p.sendTCP(flagPA, p.seq+1+1<<30, p.ack, []byte("x"), nil)
	p.expectFlags(t, flagA, p.ack+1, p.seq+1)
	p.sendTCP(flagA, p.seq+1, p.ack+1, nil, nil)
	p.expectNone(t)
	if st := p.state(fd); st != StateTimeWait {
		t.Fatalf("after the ACK of our FIN: %v, want TIME-WAIT", st)
	}
}

// timeWait brings the stack's connection to TIME-WAIT by an active close.
func (p *rawPeer) timeWait(t *testing.T, opts *wire.TCPOptions) int {
	t.Helper()
	fd, _ := p.connect(t, opts)
	p.s.Shutdown(fd, ShutWR)
	p.expectFlags(t, flagFA, p.ack, p.seq)
	p.sendTCP(flagA, p.seq, p.ack+1, nil, nil)
	p.expectNone(t)
	p.sendTCP(flagFA, p.seq, p.ack+1, nil, nil)
	p.expectFlags(t, flagA, p.ack+1, p.seq+1)
	if st := p.state(fd); st != StateTimeWait {
		t.Fatalf("after FIN, ACK, FIN: %v, want TIME-WAIT", st)
	}
	return fd
}

func TestTimeWaitRetransmittedFINReACKedAndTimerRestarted(t *testing.T) {
	p := newRawPeer(t, Options{TCP: TCPOptions{TimeWait: 10 * time.Second}})
	p.timeWait(t, nil)
	p.advance(5 * time.Second)
	p.sendTCP(flagFA, p.seq, p.ack+1, nil, nil) // our ACK was lost
	p.expectFlags(t, flagA, p.ack+1, p.seq+1)
	conns := p.s.Connections()
	if len(conns) != 1 || conns[0].Timer != "timewait,10000ms,0" {
		t.Fatalf("after the re-ACK: %+v, want TIME-WAIT with its 10 s timer restarted", conns)
	}
	p.sendTCP(flagPA, p.seq+1, p.ack+1, []byte("late"), nil) // data: ACK again
	p.expectFlags(t, flagA, p.ack+1, p.seq+1)
	p.advance(9 * time.Second) // 14 s after entering: would have ended at 10 s
	if n := p.connCount(); n != 1 {
		t.Fatalf("TIME-WAIT ended %v after the restart, want 10 s", 9*time.Second)
	}
	p.advance(time.Second + time.Millisecond)
	if n := p.connCount(); n != 0 {
		t.Fatal("TIME-WAIT still held 10 s after the restart")
	}
	var expired bool
	for _, e := range p.events {
		expired = expired || (e.Kind == ProbeTimer && e.Timer == TimerTimeWait)
	}
	if !expired {
		t.Fatal("no TIME-WAIT expiry probe event")
	}
}

// TestTimeWaitRSTCloses is packetimpact tcp_timewait_reset (Linux
// tcp_rfc1337=0).
func TestTimeWaitRSTCloses(t *testing.T) {
	p := newRawPeer(t, Options{})
	p.timeWait(t, nil)
	p.sendTCP(flagR, p.seq+1, 0, nil, nil)
	p.expectNone(t)
	if n := p.connCount(); n != 0 {
		t.Fatalf("%d connections after RST in TIME-WAIT, want 0", n)
	}
}

func TestLastAckClosesOnACKOfFIN(t *testing.T) {
	p := newRawPeer(t, Options{})
	fd, _ := p.connect(t, nil)
	p.sendTCP(flagFA, p.seq, p.ack, nil, nil)
	p.expectFlags(t, flagA, p.ack, p.seq+1)
	if st := p.state(fd); st != StateCloseWait {
		t.Fatalf("after the peer's FIN: %v, want CLOSE-WAIT", st)
	}
	if n, err := p.s.Read(fd, make([]byte, 4)); n != 0 || err != nil {
		t.Fatalf("Read in CLOSE-WAIT = %d, %v; want 0, nil", n, err)
	}
	// Data after the FIN is not taken, only ACKed.
	p.sendTCP(flagPA, p.seq+1, p.ack, []byte("zzz"), nil)
	p.expectFlags(t, flagA, p.ack, p.seq+1)
	p.s.Close(fd)
	p.expectFlags(t, flagFA, p.ack, p.seq+1)
	if c := p.s.Connections(); len(c) != 1 || c[0].State != "LAST-ACK" {
		t.Fatalf("after close in CLOSE-WAIT: %+v, want LAST-ACK", c)
	}
	p.sendTCP(flagA, p.seq+1, p.ack, nil, nil) // does not cover the FIN
	p.expectNone(t)
	if n := p.connCount(); n != 1 {
		t.Fatal("LAST-ACK ended on an ACK that does not cover the FIN")
	}
	p.sendTCP(flagA, p.seq+1, p.ack+1, nil, nil)
	p.expectNone(t)
	if n := p.connCount(); n != 0 {
		t.Fatal("LAST-ACK held after the ACK of the FIN")
	}
}

// TestFinWait2OrphanTimesOutThenRST is packetimpact fin_wait2_timeout.
func TestFinWait2OrphanTimesOutThenRST(t *testing.T) {
	p := newRawPeer(t, Options{TCP: TCPOptions{FinWait2: 5 * time.Second}})
	fd, _ := p.connect(t, nil)
	p.s.Close(fd)
	p.expectFlags(t, flagFA, p.ack, p.seq)
	p.sendTCP(flagA, p.seq, p.ack+1, nil, nil)
	if c := p.s.Connections(); len(c) != 1 || c[0].State != "FIN-WAIT-2" {
		t.Fatalf("after the ACK of our FIN: %+v, want an orphan in FIN-WAIT-2", c)
	}
	p.advance(5*time.Second - time.Millisecond)
	if n := p.connCount(); n != 1 {
		t.Fatal("FIN-WAIT-2 ended early")
	}
	p.advance(time.Millisecond)
	if n := p.connCount(); n != 0 {
		t.Fatal("orphaned FIN-WAIT-2 held past its timeout")
	}
	p.expectNone(t)
	p.sendTCP(flagPA, p.seq, p.ack+1, []byte("late"), nil)
	p.expectFlags(t, flagR, p.ack+1, 0)
	var fw2 bool
	for _, e := range p.events {
		fw2 = fw2 || (e.Kind == ProbeTimer && e.Timer == TimerFinWait2)
	}
	if !fw2 {
		t.Fatal("no FIN-WAIT-2 timer probe event")
	}
}

// TestDataAfterCloseIsReset: data that reaches a connection the
// application closed (FIN-WAIT-1 or -2) has no reader: the stack answers it
// with RST and drops the connection (RFC 1122 §4.2.2.13, Linux's
// TCPAbortOnData); after shutdown(wr) the same data is received.
func TestDataAfterCloseIsReset(t *testing.T) {
	for _, tc := range []struct {
		name    string
		closeFn func(s *Stack, fd int)
		reset   bool
	}{
		{"close", func(s *Stack, fd int) { s.Close(fd) }, true},
		{"shutdown wr", func(s *Stack, fd int) { s.Shutdown(fd, ShutWR) }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newRawPeer(t, Options{})
			fd, _ := p.connect(t, nil)
			tc.closeFn(p.s, fd)
			p.expectFlags(t, flagFA, p.ack, p.seq)
			p.sendTCP(flagA, p.seq, p.ack+1, nil, nil) // FIN-WAIT-2
			before := p.s.Stats().TcpExtTCPAbortOnData
			p.sendTCP(flagPA, p.seq, p.ack+1, []byte("late"), nil)
			if tc.reset {
				p.expectFlags(t, flagRA, p.ack+1, p.seq)
				if n := p.connCount(); n != 0 {
					t.Fatal("the connection outlived its reset")
				}
				if got := p.s.Stats().TcpExtTCPAbortOnData; got != before+1 {
					t.Fatalf("TcpExtTCPAbortOnData = %d, want %d", got, before+1)
				}
				return
			}
			p.expectFlags(t, flagA, p.ack+1, p.seq+4)
			buf := make([]byte, 8)
			if n, err := p.s.Read(fd, buf); n != 4 || err != nil || string(buf[:n]) != "late" {
				t.Fatalf("Read after shutdown(wr) = %d %q, %v; want the 4 bytes", n, buf[:n], err)
			}
		})
	}
}

// ---- window control ----

// TestZeroWindowProbes is packetimpact tcp_zero_window_probe and
// tcp_zero_window_probe_retransmit: no probe while there is nothing to
// send; then probes with SEG.SEQ = SND.UNA-1 and no data, backing off
// exponentially, the connection staying up while probes are answered.
func TestZeroWindowProbes(t *testing.T) {
	p := newRawPeer(t, Options{})
	fd, _ := p.connect(t, nil)
	p.window = 0
	p.sendTCP(flagA, p.seq, p.ack, nil, nil)
	p.advance(5 * time.Second)
	p.expectNone(t) // nothing to send: no probes
	p.s.Write(fd, []byte("blocked by the window"))
	p.expectNone(t)
	var at []time.Duration
	start := p.clk.Now()
	for i := 0; i < 4; i++ {
		for {
			if f := p.next(); f != nil {
				_, h, payload, _ := tcpFrame(f)
				if h.Seq != p.ack-1 || len(payload) != 0 || h.Flags != flagA {
					t.Fatalf("probe %d: seq %d [%v] len %d, want seq %d [.] len 0", i+1, h.Seq, h.Flags, len(payload), p.ack-1)
				}
				at = append(at, p.clk.Now().Sub(start))
				break
			}
			p.advance(time.Millisecond)
		}
		p.sendTCP(flagA, p.seq, p.ack, nil, nil) // still zero
	}
	want := []time.Duration{200 * time.Millisecond, 600 * time.Millisecond, 1400 * time.Millisecond, 3000 * time.Millisecond}
	for i := range want {
		if at[i] != want[i] {
			t.Fatalf("probes at %v, want %v (RTO 200 ms, doubling)", at, want)
		}
	}
	if st := p.state(fd); st != StateEstablished {
		t.Fatalf("after answered probes: %v, want ESTABLISHED", st)
	}
	if n := p.s.Stats().TcpExtTCPZeroWindowProbes; n != 4 {
		t.Fatalf("ZeroWindowProbes = %d, want 4", n)
	}
	p.window = 65535
	p.sendTCP(flagA, p.seq, p.ack, nil, nil)
	d := p.expectFlags(t, flagPA, p.ack, p.seq)
	if string(d.Payload) != "blocked by the window" {
		t.Fatalf("after the window opened: %q", d.Payload)
	}
}

// TestWindowShrinkSendsOnlyProbe is packetimpact tcp_window_shrink.
func TestWindowShrinkSendsOnlyProbe(t *testing.T) {
	p := newRawPeer(t, Options{})
	fd, _ := p.connect(t, nil)
	p.s.SetOption(fd, OptNoDelay, true)
	p.s.Write(fd, make([]byte, 1000))
	p.expectFlags(t, flagPA, p.ack, p.seq)
	p.window = 0
	p.sendTCP(flagA, p.seq, p.ack+1000, nil, nil)
	p.ack += 1000
	p.s.Write(fd, make([]byte, 1000))
	p.expectNone(t)
	p.advance(200 * time.Millisecond)
	probe := p.expectFlags(t, flagA, p.ack-1, p.seq)
	if len(probe.Payload) != 0 {
		t.Fatalf("zero-window probe carries %d bytes, want none", len(probe.Payload))
	}
	p.expectNone(t)
}

// TestHandshakeUnscaledWindowInSYNHonoured is packetimpact
// tcp_handshake_window_size: the window of a SYN-ACK is never scaled (RFC
// 7323 §2.2), the windows after it are.
func TestHandshakeUnscaledWindowInSYNHonoured(t *testing.T) {
	p := newRawPeer(t, Options{})
	fd := p.connectSYN(t)
	syn := p.expectSYN(t)
	data := make([]byte, 5000)
	p.s.SetOption(fd, OptNoDelay, true)
	p.s.Write(fd, data)
	p.window = 1000
	p.sendTCP(flagSA, p.peerISS, syn.Seq+1, nil, &wire.TCPOptions{HasMSS: true, MSS: 1460, HasWindowScale: true, WindowScale: 7})
	p.seq, p.ack = p.peerISS+1, syn.Seq+1
	p.expectFlags(t, flagA, p.ack, p.seq)
	d := p.expectTCP(t)
	if len(d.Payload) != 1000 {
		t.Fatalf("first data segment %d bytes, want 1000: the SYN-ACK's window, unscaled", len(d.Payload))
	}
	p.expectNone(t)
	p.window = 100 // scaled by 7: 12800 bytes
	p.sendTCP(flagA, p.seq, p.ack+1000, nil, nil)
	sent := 0
	for f := p.next(); f != nil; f = p.next() {
		_, _, payload, _ := tcpFrame(f)
		sent += len(payload)
	}
	if sent != 4000 {
		t.Fatalf("after a scaled window of 12800: %d bytes sent, want the remaining 4000", sent)
	}
}

// ---- close variants ----

// TestLingerZeroSendsRSTACK is packetimpact tcp_linger: SO_LINGER 0 aborts
// with RST|ACK; without linger close sends FIN.
func TestLingerZeroSendsRSTACK(t *testing.T) {
	p := newRawPeer(t, Options{})
	fd, _ := p.connect(t, nil)
	if err := p.s.SetOption(fd, OptLinger, 0); err != nil {
		t.Fatal(err)
	}
	p.s.Close(fd)
	p.expectFlags(t, flagRA, p.ack, p.seq)
	p.expectNone(t)
	if n := p.connCount(); n != 0 {
		t.Fatalf("%d connections after an abortive close, want 0", n)
	}
	p.port++
	fd, _ = p.connect(t, nil)
	p.s.Close(fd)
	p.expectFlags(t, flagFA, p.ack, p.seq)
}

func TestLingerPositiveBlocksCloseUntilFINACKed(t *testing.T) {
	p := newRawPeer(t, Options{})
	fd, _ := p.connect(t, nil)
	p.s.SetNonblock(fd, false)
	p.s.SetOption(fd, OptLinger, 5)
	done := make(chan error, 1)
	go func() { done <- p.s.Close(fd) }()
	for p.ep.Queued() == 0 {
		yield()
	}
	p.s.mu.Lock() // the closer holds the lock until it waits for the ACK
	p.s.mu.Unlock()
	p.expectFlags(t, flagFA, p.ack, p.seq)
	select {
	case err := <-done:
		t.Fatalf("Close returned %v before the FIN was acknowledged", err)
	default:
	}
	p.sendTCP(flagA, p.seq, p.ack+1, nil, nil)
	if err := waitErr(t, done); err != nil {
		t.Fatalf("Close = %v", err)
	}
	// Without an ACK, Close gives up after the linger time.
	p.port++
	fd, _ = p.connect(t, nil)
	p.s.SetNonblock(fd, false)
	p.s.SetOption(fd, OptLinger, 1)
	go func() { done <- p.s.Close(fd) }()
	for p.ep.Queued() == 0 {
		yield()
	}
	p.s.mu.Lock()
	p.s.mu.Unlock()
	p.advance(time.Second)
	if err := waitErr(t, done); err != nil {
		t.Fatalf("Close after the linger time = %v, want nil", err)
	}
}

// ---- timeouts ----

func TestUserTimeoutAbortsWithETIMEDOUT(t *testing.T) {
	p := newRawPeer(t, Options{})
	fd, _ := p.connect(t, nil)
	p.s.SetOption(fd, OptUserTimeout, time.Second)
	p.s.Write(fd, []byte("x"))
	p.expectFlags(t, flagPA, p.ack, p.seq)
	p.advance(200 * time.Millisecond)
	p.expectFlags(t, flagPA, p.ack, p.seq)
	p.advance(400 * time.Millisecond)
	p.expectFlags(t, flagPA, p.ack, p.seq)
	p.advance(800 * time.Millisecond) // 1.4 s unacknowledged: past the user timeout
	p.expectNone(t)
	if _, err := p.s.Read(fd, make([]byte, 1)); !errors.Is(err, ETIMEDOUT) {
		t.Fatalf("Read after the user timeout = %v, want ETIMEDOUT", err)
	}
	// packetimpact tcp_user_timeout: the next peer segment draws an RST.
	p.sendTCP(flagA, p.seq, p.ack, nil, nil)
	p.expectFlags(t, flagR, p.ack, 0)
}

// TestUserTimeoutWhileProbing is packetimpact
// tcp_zero_window_probe_usertimeout.
func TestUserTimeoutWhileProbing(t *testing.T) {
	p := newRawPeer(t, Options{})
	fd, _ := p.connect(t, nil)
	p.s.SetOption(fd, OptUserTimeout, time.Second)
	p.window = 0
	p.sendTCP(flagA, p.seq, p.ack, nil, nil)
	p.s.Write(fd, []byte("x"))
	p.advance(200 * time.Millisecond)
	p.expectFlags(t, flagA, p.ack-1, p.seq)
	p.advance(400 * time.Millisecond)
	p.expectFlags(t, flagA, p.ack-1, p.seq)
	p.advance(800 * time.Millisecond)
	p.expectFlags(t, flagRA, p.ack, p.seq)
	if _, err := p.s.Read(fd, make([]byte, 1)); !errors.Is(err, ETIMEDOUT) {
		t.Fatalf("Read = %v, want ETIMEDOUT", err)
	}
}

func TestKeepaliveProbeFormat(t *testing.T) {
	p := newRawPeer(t, Options{})
	fd, _ := p.connect(t, nil)
	p.s.SetOption(fd, OptKeepIdle, 10*time.Second)
	p.s.SetOption(fd, OptKeepInterval, 2*time.Second)
	p.s.SetOption(fd, OptKeepCount, 2)
	p.s.SetOption(fd, OptKeepalive, true)
	p.advance(10*time.Second - time.Millisecond)
	p.expectNone(t)
	p.advance(time.Millisecond)
	p.expectFlags(t, flagA, p.ack-1, p.seq) // RFC 1122 §4.2.3.6: SEG.SEQ = SND.NXT-1
	p.sendTCP(flagA, p.seq, p.ack, nil, nil)
	info, _ := p.s.Info(fd)
	if !strings.HasPrefix(info.Timer, "keepalive,") {
		t.Fatalf("timer %q, want keepalive", info.Timer)
	}
	p.advance(10 * time.Second) // answered: the idle period starts again
	p.expectFlags(t, flagA, p.ack-1, p.seq)
	p.advance(2 * time.Second)
	p.expectFlags(t, flagA, p.ack-1, p.seq)
	p.advance(2 * time.Second) // KeepCount probes unanswered: reset
	p.expectFlags(t, flagRA, p.ack, p.seq)
	if _, err := p.s.Read(fd, make([]byte, 1)); !errors.Is(err, ETIMEDOUT) {
		t.Fatalf("Read = %v, want ETIMEDOUT", err)
	}
}

// yield lets other goroutines run while the test waits for one of them.
func yield() { time.Sleep(50 * time.Microsecond) }

// waitErr waits (in real time, bounded) for a goroutine's result.
func waitErr(t testing.TB, ch <-chan error) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("a blocking call did not return")
		return nil
	}
}

// TestEstablishedBatchAnsweredByOneACK: with BatchACKs, in-order data
// delivered between a NIC's BeginBatch and EndBatch (a burst the link
// endpoint read at once) is acknowledged once, at EndBatch, as Linux's GRO
// makes one ACK of a burst;
// outside a batch every second full segment is ACKed at once; out-of-order
// data inside a batch still gets an ACK of its own (the duplicate ACKs and
// SACK blocks loss recovery needs).
func TestEstablishedBatchAnsweredByOneACK(t *testing.T) {
	const mss, n = 1460, 8
	seg := make([]byte, mss)
	p := newRawPeer(t, Options{TCP: TCPOptions{BatchACKs: true}})
	p.connect(t, nil)
	nic := p.s.nics[0]

	// Past the quick ACKs of the connection's start (16), then one ACK
	// every second segment.
	p.sendSegments(16+n, mss)
	for range 16 {
		p.expectTCP(t)
	}
	for i := 1; i <= n/2; i++ {
		p.expectFlags(t, flagA, p.ack, p.seq-uint32((n-2*i)*mss))
	}
	p.expectNone(t)

	p.sendBatch(n, mss)
	p.expectFlags(t, flagA, p.ack, p.seq)
	p.expectNone(t)

	// One ACK answers at most 64 KiB, as GRO merges at most that much.
	p.sendBatch(50, mss)
	p.expectFlags(t, flagA, p.ack, p.seq-5*mss) // 45 segments: 65700 bytes
	p.expectFlags(t, flagA, p.ack, p.seq)
	p.expectNone(t)

	// What a batch makes leaves at its end (the NIC's batching: the test's
	// link holds it till then), but out-of-order data still gets an ACK of
	// its own.
	nic.BeginBatch()
	p.sendTCP(flagA, p.seq+mss, p.ack, seg, nil) // a hole before it
	p.sendTCP(flagA, p.seq, p.ack, seg, nil)     // fills the hole
	nic.EndBatch()
	p.expectFlags(t, flagA, p.ack, p.seq)
	p.expectFlags(t, flagA, p.ack, p.seq+2*mss)
	p.expectNone(t)
}

// TestEstablishedBatchACKsOffByDefault: without BatchACKs, or with them
// on a path whose RTT is a millisecond or more (a link that delays: what a
// lab there shows is RFC 5681's ACK every second segment), a batch of
// in-order data is ACKed every second segment, as outside a batch.
func TestEstablishedBatchACKsOffByDefault(t *testing.T) {
	const mss = 1460
	for _, tc := range []struct {
		name string
		opts TCPOptions
		rtt  time.Duration
	}{
		{"default", TCPOptions{}, 0},
		{"a delaying path", TCPOptions{BatchACKs: true}, batchACKMaxRTT},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newRawPeer(t, Options{TCP: tc.opts})
			p.connectAfter(t, nil, tc.rtt)
			p.pastQuickACKs(16, mss)
			p.sendBatch(8, mss)
			for i := 1; i <= 4; i++ {
				p.expectFlags(t, flagA, p.ack, p.seq-uint32((8-2*i)*mss))
			}
			p.expectNone(t)
		})
	}
}

// TestEstablishedBatchACKsAnyRTTWhenLinksUnimpaired: told that no link
// is impaired, the stack answers a batch with one ACK whatever RTT the
// handshake measured (a busy machine can make it a millisecond or more).
func TestEstablishedBatchACKsAnyRTTWhenLinksUnimpaired(t *testing.T) {
	const mss = 1460
	p := newRawPeer(t, Options{TCP: TCPOptions{BatchACKs: true}})
	p.s.SetLinksUnimpaired(true)
	p.connectAfter(t, nil, 5*batchACKMaxRTT)
	p.pastQuickACKs(16, mss)
	p.sendBatch(8, mss)
	p.expectFlags(t, flagA, p.ack, p.seq)
	p.expectNone(t)
}

// TestEstablishedReadWindowUpdateOnlyWhenDoubled: a read sends a window
// update of its own only when the window at least doubles (Linux's
// tcp_cleanup_rbuf): while the peer may still send half of what it could,
// the next ACK of data carries the larger window.
func TestEstablishedReadWindowUpdateOnlyWhenDoubled(t *testing.T) {
	p := newRawPeer(t, Options{TCP: TCPOptions{ReceiveBuffer: 32768}})
	fd, _ := p.connect(t, nil) // no window scaling: the window is the free space
	send := func(n int) {
		for off := 0; off < n; off += 1024 {
			p.sendTCP(flagPA, p.seq, p.ack, make([]byte, 1024), nil)
			p.seq += 1024
		}
		var last tcpSeg
		for f := p.next(); f != nil; f = p.next() {
			_, h, _, _ := tcpFrame(f)
			last = tcpSeg{TCPFields: h}
		}
		if last.Ack != p.seq {
			t.Fatalf("last ACK %v, want ack %d", last, p.seq)
		}
	}
	send(8192) // window 24576 left
	if n, _ := p.s.Read(fd, make([]byte, 4096)); n != 4096 {
		t.Fatalf("Read = %d, want 4096", n)
	}
	p.expectNone(t) // 28672 free: more by 4096, not twice 24576

	send(20480) // 24576 held, window 8192
	if n, _ := p.s.Read(fd, make([]byte, 24576)); n != 24576 {
		t.Fatalf("Read = %d, want 24576", n)
	}
	upd := p.expectFlags(t, flagA, p.ack, p.seq)
	if upd.Window != 32768 {
		t.Fatalf("window update announces %d, want 32768", upd.Window)
	}
	p.expectNone(t)
}

// TestEstablishedBatchACKNotSentAfterReset: an ACK waiting for its batch's
// end is not sent when a reset in the same batch closed the connection.
func TestEstablishedBatchACKNotSentAfterReset(t *testing.T) {
	const mss = 1460
	p := newRawPeer(t, Options{TCP: TCPOptions{BatchACKs: true}})
	fd, _ := p.connect(t, nil)
	p.pastQuickACKs(20, mss)
	nic := p.s.nics[0]
	nic.BeginBatch()
	p.sendSegments(4, mss)
	p.sendTCP(wire.TCPFlagRST, p.seq, 0, nil, nil)
	nic.EndBatch()
	p.expectNone(t)
	if st := p.state(fd); st != StateClosed {
		t.Fatalf("after the reset: %v, want CLOSED", st)
	}
}

// sendSegments sends n in-order segments of size bytes from the peer.
func (p *rawPeer) sendSegments(n, size int) {
	for range n {
		p.sendTCP(flagA, p.seq, p.ack, make([]byte, size), nil)
		p.seq += uint32(size)
	}
}

// sendBatch sends n in-order segments of size bytes as one batch of the
// stack's first NIC (between its BeginBatch and EndBatch), as a link
// endpoint that read them at once delivers them.
func (p *rawPeer) sendBatch(n, size int) {
	nic := p.s.nics[0]
	nic.BeginBatch()
	p.sendSegments(n, size)
	nic.EndBatch()
}

// pastQuickACKs sends n segments of size bytes, enough to end the quick
// ACKs of a connection's start, and drops what the stack answered.
func (p *rawPeer) pastQuickACKs(n, size int) {
	p.sendSegments(n, size)
	for p.next() != nil {
	}
}

// TestSlowStartCountsStretchACK: in slow start an ACK of ten segments at
// once (a receiver's batch ACK, Linux's GRO) grows cwnd by ten segments,
// as ten ACKs of one would, not by two (RFC 3465's L): slow start still
// doubles cwnd every round trip when the receiver answers bursts.
func TestSlowStartCountsStretchACK(t *testing.T) {
	for _, cc := range []string{"reno", "cubic"} {
		t.Run(cc, func(t *testing.T) {
			p := newRawPeer(t, Options{TCP: TCPOptions{Congestion: cc}})
			fd, _ := p.connect(t, nil)
			if _, err := p.s.Write(fd, make([]byte, 100*1460)); err != nil {
				t.Fatal(err)
			}
			sent := 0
			for f := p.next(); f != nil; f = p.next() {
				sent++
			}
			before, err := p.s.Info(fd)
			if err != nil {
				t.Fatal(err)
			}
			if sent != int(before.CwndSegs) {
				t.Fatalf("%d segments sent, want the initial window of %d", sent, before.CwndSegs)
			}
			p.sendTCP(flagA, p.seq, p.ack+uint32(sent*1460), nil, nil)
			after, _ := p.s.Info(fd)
			if after.CwndSegs != 2*before.CwndSegs {
				t.Fatalf("cwnd %d segments after an ACK of all %d, want %d", after.CwndSegs, sent, 2*before.CwndSegs)
			}
		})
	}
}

// TestSlowStartCountsDeliveredNotReSACKed: a cumulative ACK over bytes
// the peer SACKed before grows cwnd only by the bytes newly delivered
// (Linux's tp->delivered), not by all it covers: the ACK that a filled
// hole unblocks must not open cwnd to every SACKed byte above it at once.
func TestSlowStartCountsDeliveredNotReSACKed(t *testing.T) {
	for _, cc := range []string{"reno", "cubic"} {
		t.Run(cc, func(t *testing.T) {
			p := newRawPeer(t, Options{TCP: TCPOptions{Congestion: cc}})
			fd, _ := p.connect(t, &wire.TCPOptions{HasMSS: true, MSS: 1460, SACKPermitted: true})
			if _, err := p.s.Write(fd, make([]byte, 100*1460)); err != nil {
				t.Fatal(err)
			}
			p.drain()
			seg := func(i int) uint32 { return p.ack + uint32(i*1460) }
			p.sendTCP(flagA, p.seq, seg(10), nil, nil) // the initial window, whole: cwnd 20
			p.drain()
			// Segment 10 is late; 11 and 12 arrive: one duplicate ACK SACKing them.
			p.sendTCP(flagA, p.seq, seg(10), nil, &wire.TCPOptions{NumSACKBlocks: 1,
				SACKBlocks: [4]wire.SACKBlock{{Start: seg(11), End: seg(13)}}})
			p.drain()
			before, err := p.s.Info(fd)
			if err != nil {
				t.Fatal(err)
			}
			if before.CwndSegs != 20 {
				t.Fatalf("cwnd %d segments after the initial window was acked and a duplicate ACK, want 20", before.CwndSegs)
			}
			// Segment 10 arrives: the ACK covers 10, 11 and 12; only 10 is news.
			p.sendTCP(flagA, p.seq, seg(13), nil, nil)
			after, _ := p.s.Info(fd)
			if after.CwndSegs != before.CwndSegs+1 {
				t.Fatalf("cwnd %d segments after the ACK that segment 10 unblocked, want %d (one newly delivered)", after.CwndSegs, before.CwndSegs+1)
			}
		})
	}
}
