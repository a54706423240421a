package check

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/netlab/netlab/trace"
)

func TestLines(t *testing.T) {
	evs := evidence(t)
	a := evs["loss"].Traces["a"]
	got := Lines(a)
	want := []string{
		"0.000 state CLOSED -> SYN-SENT",
		"0.000 > S 0:0(0) win 65535 <mss 1460,sackOK,TS val 2008874150 ecr 0,wscale 7>",
		"0.015 < S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,TS val 2359701535 ecr 2008874150,wscale 7>",
		"0.015 state SYN-SENT -> ESTABLISHED",
		"0.015 > . 1:1(0) ack 1 win 1048576",
		"0.015 > . 1:1449(1448) ack 1 win 1048576",
	}
	if d := cmp.Diff(want, got[:len(want)]); d != "" {
		t.Errorf("Lines mismatch (-want +got):\n%s", d)
	}
	for _, l := range []string{
		"0.025 < . 1:1(0) ack 7241 win 1041408 <sack 8689:10137>",
		"0.025 > . 7241:8689(1448) ack 1 win 1048576 (retrans)",
		"1.035 timer timewait (rto 200ms, cwnd 11380, ssthresh 11380, inflight 0, snd_wnd 1048576)",
	} {
		if !contains(got, l) {
			t.Errorf("Lines lacks %q", l)
		}
	}
	// Part of a connection, numbered as in the whole one.
	part := a[len(a)-4:]
	if d := cmp.Diff(got[len(got)-4:], LinesFrom(a, part)); d != "" {
		t.Errorf("LinesFrom mismatch (-want +got):\n%s", d)
	}
	// The receiver's side: its SACK blocks and acks relative to the
	// sender's ISN.
	if b := Lines(evs["loss"].Traces["b"]); !contains(b, "0.010 > . 1:1(0) ack 7241 win 1041408 <sack 8689:10137>") {
		t.Errorf("Lines(b) lacks the first SACK:\n%s", strings.Join(b, "\n"))
	}
	if l := Lines([]trace.Event{{Kind: trace.KindLost, Len: 3}}); len(l) != 1 || l[0] != "lost 3 events" {
		t.Errorf("Lines(lost) = %q", l)
	}
}

func contains(lines []string, l string) bool {
	for _, x := range lines {
		if x == l {
			return true
		}
	}
	return false
}
