package plot

import (
	"bytes"
	"testing"

	"github.com/netlab/netlab/trace"
)

// TestDropEventsChangeNoPlot: drop events (the impairment layer's) in a
// trace, even one earlier than the connection's first event, leave every
// plot as it was.
func TestDropEventsChangeNoPlot(t *testing.T) {
	evA, _ := storyTrace()
	c := trace.Conns(evA)[0]
	with := []trace.Event{{TimeUS: evA[0].TimeUS - 1000, Kind: trace.KindDrop, Local: c.Local, Remote: c.Remote,
		Flags: "S.", Seq: 1, Reason: "loss", Ifname: "eth1", Dir: trace.DirIngress}}
	n := 0
	for _, e := range evA {
		with = append(with, e)
		if e.Kind == trace.KindOut && e.Len > 0 {
			if n++; n%5 == 0 {
				d := e
				d.Kind, d.Reason, d.Ifname, d.Dir = trace.KindDrop, "queue", "eth1", trace.DirEgress
				d.State, d.Cwnd, d.SndUna, d.Retrans = "", 0, 0, false
				with = append(with, d)
			}
		}
	}
	cw := trace.Conns(with)[0]
	if cw.Drops != n/5+1 || cw.Drops < 2 {
		t.Fatalf("%d drops in the connection, want %d", cw.Drops, n/5+1)
	}
	for _, k := range Kinds() {
		var a, b bytes.Buffer
		if err := Render(&a, k, evA, c, Options{Format: FormatSVG}); err != nil {
			t.Fatal(err)
		}
		if err := Render(&b, k, with, cw, Options{Format: FormatSVG}); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a.Bytes(), b.Bytes()) {
			t.Errorf("%s: the plot changed with drop events in the trace", k)
		}
	}
}
