package wire_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/netlab/netlab/stack/wire"
)

func TestParseICMPv4(t *testing.T) {
	m := icmpFrame()[l4Off:]
	got, body, err := wire.ParseICMPv4(m)
	if err != nil {
		t.Fatalf("ParseICMPv4(%x) = %v, want nil error", m, err)
	}
	want := wire.ICMPv4Fields{Type: wire.ICMPEchoRequest, Code: 0, Checksum: 0x3f29, Rest: 0x0001_0001}
	if got != want {
		t.Errorf("ParseICMPv4(%x) = %+v, want %+v", m, got, want)
	}
	if got.ID() != 1 || got.Seq() != 1 {
		t.Errorf("ParseICMPv4(%x) ID, Seq = %d, %d, want 1, 1", m, got.ID(), got.Seq())
	}
	if !bytes.Equal(body, m[8:]) || len(body) != 56 {
		t.Errorf("ParseICMPv4(%x) body = %x, want 56 bytes %x", m, body, m[8:])
	}
}

func TestICMPv4Accessors(t *testing.T) {
	f := wire.ICMPv4Fields{Rest: 0xabcd_1234}
	if f.ID() != 0xabcd || f.Seq() != 0x1234 || f.NextHopMTU() != 0x1234 {
		t.Errorf("ICMPv4Fields{Rest: %#x} ID, Seq, NextHopMTU = %#x, %#x, %#x, want 0xabcd, 0x1234, 0x1234", f.Rest, f.ID(), f.Seq(), f.NextHopMTU())
	}
}

func TestParseICMPv4Errors(t *testing.T) {
	m := icmpFrame()[l4Off:]
	for n := range len(m) {
		if _, _, err := wire.ParseICMPv4(m[:n]); err == nil {
			t.Errorf("ParseICMPv4(%d of %d bytes) = nil error, want an error", n, len(m))
		} else if n < 8 && !errors.Is(err, wire.ErrTruncated) {
			t.Errorf("ParseICMPv4(%d bytes) = %v, want %v", n, err, wire.ErrTruncated)
		}
	}
	m[20] ^= 0x40 // corrupt the body
	if _, _, err := wire.ParseICMPv4(m); !errors.Is(err, wire.ErrBadChecksum) {
		t.Errorf("ParseICMPv4(corrupt body) = %v, want %v", err, wire.ErrBadChecksum)
	}
}

func TestEncodeICMPv4(t *testing.T) {
	want := icmpFrame()[l4Off:]
	b := filled(len(want))
	copy(b[8:], want[8:]) // the body is in place; the header is 0xa5
	f := wire.ICMPv4Fields{Type: wire.ICMPEchoRequest, Rest: 1<<16 | 1}
	if n := wire.EncodeICMPv4(b, &f); n != wire.ICMPHeaderLen {
		t.Errorf("EncodeICMPv4() = %d, want %d", n, wire.ICMPHeaderLen)
	}
	if !bytes.Equal(b, want) {
		t.Errorf("EncodeICMPv4() wrote\n%x, want\n%x", b, want)
	}
	if f.Checksum != 0x3f29 {
		t.Errorf("EncodeICMPv4() set Checksum %#04x, want 0x3f29", f.Checksum)
	}

	// A port unreachable quoting the SYN's IP header and 8 bytes; and a
	// fragmentation needed with an MTU: each parses back to itself.
	quote := synFrame()[ipOff : l4Off+8]
	for _, f := range []wire.ICMPv4Fields{
		{Type: wire.ICMPDestUnreachable, Code: wire.ICMPPortUnreachable},
		{Type: wire.ICMPDestUnreachable, Code: wire.ICMPFragNeeded, Rest: 1400},
		{Type: wire.ICMPTimeExceeded, Code: wire.ICMPFragReassemblyExceeded},
		{Type: wire.ICMPEchoReply, Rest: 0xffff_ffff},
	} {
		b := append(filled(8), quote...)
		wire.EncodeICMPv4(b, &f)
		got, body, err := wire.ParseICMPv4(b)
		if err != nil || got != f || !bytes.Equal(body, quote) {
			t.Errorf("ParseICMPv4(EncodeICMPv4(%+v)) = %+v, %x, %v, want the same, %x, nil", f, got, body, err, quote)
		}
	}
}
