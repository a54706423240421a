package stack

import (
	"testing"
	"time"

	"github.com/netlab/netlab/stack/wire"
)

// TestEifelDetection: a segment retransmitted on RTO, then acknowledged by
// an ACK echoing the original's timestamp (the original arrived: the
// retransmission was spurious) or the retransmission's (it was needed);
// without timestamps nothing is judged (RFC 3522).
func TestEifelDetection(t *testing.T) {
	for _, tc := range []struct {
		name      string
		ts        bool
		echoFirst bool
		want      uint64
	}{
		{"ACK echoes the original: spurious", true, true, 1},
		{"ACK echoes the retransmission: needed", true, false, 0},
		{"no timestamps: not judged", false, true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newRawPeer(t, Options{})
			opts := noOpts()
			if tc.ts {
				opts = fullOpts(1000)
			}
			fd, _ := p.connect(t, opts)
			if n, err := p.s.Write(fd, []byte("hello")); n != 5 || err != nil {
				t.Fatalf("Write = %d, %v", n, err)
			}
			orig := p.expectFlags(t, flagPA, p.ack, p.seq)
			for range 300 { // up to 3 s, until the first RTO fires
				if p.pump(); len(p.out) > 0 {
					break
				}
				p.advance(10 * time.Millisecond)
			}
			re := p.expectFlags(t, flagPA, p.ack, p.seq)
			p.drain()
			if tc.ts && re.Options.TSVal == orig.Options.TSVal {
				t.Fatalf("the retransmission's timestamp %d is the original's", re.Options.TSVal)
			}
			var ackOpts *wire.TCPOptions
			if tc.ts {
				echo := re.Options.TSVal
				if tc.echoFirst {
					echo = orig.Options.TSVal
				}
				ackOpts = &wire.TCPOptions{HasTimestamps: true, TSVal: 1001, TSEcr: echo}
			}
			p.sendTCP(flagA, p.seq, p.ack+5, nil, ackOpts)
			info, err := p.s.Info(fd)
			if err != nil {
				t.Fatal(err)
			}
			if info.Retrans != 1 || info.Timeouts != 1 {
				t.Fatalf("retrans %d, timeouts %d: want one RTO", info.Retrans, info.Timeouts)
			}
			if info.SpuriousRetrans != tc.want || info.Unacked != 0 {
				t.Errorf("spurious %d, unacked %d; want %d, 0", info.SpuriousRetrans, info.Unacked, tc.want)
			}
		})
	}
}
