package plot

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/netlab/netlab/trace"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the computed series")

// golden compares got with testdata/name.golden, or rewrites the file with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if d := cmp.Diff(string(want), string(got)); d != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", path, d)
	}
}

func dumpPoints(w io.Writer, name string, pts []Point) {
	fmt.Fprintf(w, "%s %d\n", name, len(pts))
	for _, p := range pts {
		fmt.Fprintf(w, "  %.6f %.3f\n", p.T, p.V)
	}
}

func dumpIntervals(w io.Writer, name string, ivs []Interval) {
	fmt.Fprintf(w, "%s %d\n", name, len(ivs))
	for _, iv := range ivs {
		fmt.Fprintf(w, "  %.6f %.6f %s\n", iv.Start, iv.End, iv.Label)
	}
}

func dumpMarks(w io.Writer, name string, ms []Mark) {
	fmt.Fprintf(w, "%s %d\n", name, len(ms))
	for _, m := range ms {
		fmt.Fprintf(w, "  %.6f %.3f %d\n", m.T, m.V, m.N)
	}
}

func dumpSeq(s SeqSeries) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "dir %s t0 %v end %.6f isn %d\n", s.Dir, s.T0, s.End, s.ISN)
	fmt.Fprintf(&b, "segments %d\n", len(s.Segments))
	for _, sg := range s.Segments {
		rt := ""
		if sg.Retrans {
			rt = " retrans"
		}
		fmt.Fprintf(&b, "  %.6f %d %d %s%s\n", sg.T, sg.Start, sg.End, sg.Flags, rt)
	}
	dumpPoints(&b, "acks", s.ACKs)
	dumpPoints(&b, "window", s.Window)
	dumpMarks(&b, "sacks", s.SACKs)
	dumpIntervals(&b, "zero_windows", s.ZeroWindows)
	return b.Bytes()
}

func dumpCwnd(s CwndSeries) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "t0 %v end %.6f\n", s.T0, s.End)
	dumpIntervals(&b, "phases", s.Phases)
	dumpPoints(&b, "cwnd", s.Cwnd)
	dumpPoints(&b, "ssthresh", s.Ssthresh)
	dumpPoints(&b, "inflight", s.InFlight)
	dumpPoints(&b, "snd_wnd", s.SndWnd)
	return b.Bytes()
}

func dumpRTT(s RTTSeries) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "t0 %v end %.6f\n", s.T0, s.End)
	dumpMarks(&b, "rto_firings", s.Firings)
	dumpPoints(&b, "srtt_ms", s.SRTT)
	dumpPoints(&b, "rto_ms", s.RTO)
	dumpPoints(&b, "samples_ms", s.Samples)
	return b.Bytes()
}

func dumpGoodput(s GoodputSeries) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "dir %s t0 %v interval %v bytes %d first %.6f last %.6f mean %.1f\n",
		s.Dir, s.T0, s.Interval, s.Bytes, s.First, s.Last, s.Mean)
	fmt.Fprintf(&b, "bins %d\n", len(s.Bins))
	for _, bn := range s.Bins {
		fmt.Fprintf(&b, "  %.3f %.3f %d %.1f\n", bn.Start, bn.End, bn.Bytes, bn.BitsPerSecond)
	}
	return b.Bytes()
}

func dumpConns(cs []trace.Conn) []byte {
	var b bytes.Buffer
	for _, c := range cs {
		fmt.Fprintf(&b, "%s first %v last %v sent %d received %d retransmits %d events %d\n",
			c, c.First, c.Last, c.BytesSent, c.BytesReceived, c.Retransmits, c.Events)
	}
	return b.Bytes()
}

// TestSeriesGolden checks every series of the synthetic connection, seen
// from both ends, against testdata/*.golden.
func TestSeriesGolden(t *testing.T) {
	evA, evB := storyTrace()
	a, b := trace.Conns(evA)[0], trace.Conns(evB)[0]
	for _, tc := range []struct {
		name string
		got  []byte
	}{
		{"connections", dumpConns(trace.Conns(append(append([]trace.Event{}, evA...), evB...)))},
		{"sender_seq", dumpSeq(TimeSequence(evA, a, DirAuto))},
		{"sender_cwnd", dumpCwnd(Congestion(evA, a))},
		{"sender_rtt", dumpRTT(RTT(evA, a))},
		{"sender_tput", dumpGoodput(Goodput(evA, a, DirAuto, 0))},
		{"receiver_seq", dumpSeq(TimeSequence(evB, b, DirAuto))},
		{"receiver_cwnd", dumpCwnd(Congestion(evB, b))},
		{"receiver_tput", dumpGoodput(Goodput(evB, b, DirAuto, 250*time.Millisecond))},
	} {
		t.Run(tc.name, func(t *testing.T) { golden(t, tc.name, tc.got) })
	}
}

// seg builds a segment event of connection h1->h2 in ESTABLISHED.
func seg(tus int64, kind, flags string, seq, ack uint32, n int, wnd uint32) trace.Event {
	return trace.Event{TimeUS: tus, Kind: kind, Local: h1, Remote: h2, Flags: flags, Seq: seq, Ack: ack,
		Len: n, Window: wnd, State: "ESTABLISHED", CAState: "open"}
}

var c12 = trace.Conn{Local: h1, Remote: h2}

func TestUnwrapper(t *testing.T) {
	u := unwrapper{ref: 0xffffff00}
	for _, tc := range []struct {
		v    uint32
		want int64
	}{
		{0xffffff00, 0}, {0xfffffff0, 0xf0}, {0x10, 0x110}, {0xfffffff8, 0xf8}, {0x7000_0000, 0x7000_0100},
		{0xe000_0000, 0xe000_0100}, {0x10, 0x1_0000_0110},
	} {
		if got := u.at(tc.v); got != tc.want {
			t.Errorf("at(%#x) = %#x, want %#x", tc.v, got, tc.want)
		}
	}
}

// TestTimeSequenceWrap follows a connection whose ISN is 0x400 below 2^32:
// relative numbers go on past the wrap, ACKs and windows too.
func TestTimeSequenceWrap(t *testing.T) {
	isn := uint32(1<<32 - 0x400)
	evs := []trace.Event{
		{TimeUS: 1000, Kind: trace.KindState, Local: h1, Remote: h2, State: "SYN-SENT", OldState: "CLOSED"},
		seg(1000, trace.KindOut, "S", isn, 0, 0, 65535),
		seg(2000, trace.KindIn, "S.", 7000, isn+1, 0, 4000),
		seg(2000, trace.KindOut, ".", isn+1, 7001, 0, 65535),
		seg(2000, trace.KindOut, ".", isn+1, 7001, 1000, 65535),
		seg(2000, trace.KindOut, "P.", isn+1001, 7001, 1000, 65535), // crosses 2^32
		seg(3000, trace.KindIn, ".", 7001, isn+1001, 0, 2000),
		seg(3100, trace.KindIn, ".", 7001, isn+2001, 0, 0),
		seg(3500, trace.KindOut, ".", isn+2000, 7001, 0, 65535), // window probe: no bar
		seg(3600, trace.KindIn, ".", 7001, isn+2001, 0, 0),
		seg(3900, trace.KindIn, ".", 7001, isn+2001, 0, 3000),
		seg(4000, trace.KindOut, "P.", isn+2001, 7001, 500, 65535),
		seg(4000, trace.KindOut, "P.", isn+1001, 7001, 1000, 65535),
	}
	evs[len(evs)-1].Retrans = true
	s := TimeSequence(evs, c12, DirAuto)
	want := SeqSeries{
		Dir: DirSent, T0: 1000 * time.Microsecond, End: 0.003, ISN: isn,
		Segments: []Segment{
			{T: 0, Start: 0, End: 0, Flags: "S"},
			{T: 0.001, Start: 1, End: 1001, Flags: "."},
			{T: 0.001, Start: 1001, End: 2001, Flags: "P."},
			{T: 0.003, Start: 2001, End: 2501, Flags: "P."},
			{T: 0.003, Start: 1001, End: 2001, Flags: "P.", Retrans: true},
		},
		ACKs:        []Point{{0.001, 1}, {0.002, 1001}, {0.0021, 2001}, {0.0026, 2001}, {0.0029, 2001}},
		Window:      []Point{{0.001, 4001}, {0.002, 3001}, {0.0021, 2001}, {0.0026, 2001}, {0.0029, 5001}},
		ZeroWindows: []Interval{{Start: 0.0021, End: 0.0029, Label: LabelZeroWindow}},
	}
	if d := cmp.Diff(want, s, cmpFloats); d != "" {
		t.Errorf("TimeSequence mismatch (-want +got):\n%s", d)
	}

	// The same events seen as the received half: data is what came in (none
	// but the SYN), ACKs are ours. A window that stays 0 to the end closes
	// the interval at the last segment.
	evs = append(evs, seg(5000, trace.KindOut, ".", isn+2501, 7001, 0, 0))
	r := TimeSequence(evs, c12, DirReceived)
	if r.Dir != DirReceived || r.ISN != 7000 || len(r.Segments) != 1 || r.Segments[0].Flags != "S." {
		t.Errorf("TimeSequence(received) = dir %v isn %d segments %+v, want the peer's SYN at ISN 7000", r.Dir, r.ISN, r.Segments)
	}
	if zw := r.ZeroWindows; len(zw) != 1 || zw[0].Start != 0.004 || zw[0].End != 0.004 {
		t.Errorf("TimeSequence(received).ZeroWindows = %+v, want [0.004, 0.004]", zw)
	}
}

var cmpFloats = cmp.Comparer(func(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 })

func TestPhaseOf(t *testing.T) {
	for _, tc := range []struct {
		cwnd, ssthresh uint32
		ca, want       string
	}{
		{10000, 1<<31 - 1, "open", PhaseSlowStart},
		{10000, 20000, "disorder", PhaseSlowStart},
		{20000, 20000, "open", PhaseCongAvoid},
		{30000, 20000, "disorder", PhaseCongAvoid},
		{23000, 20000, "recovery", PhaseRecovery},
		{1000, 20000, "loss", PhaseLoss},
	} {
		e := trace.Event{Cwnd: tc.cwnd, Ssthresh: tc.ssthresh, CAState: tc.ca}
		if got := phaseOf(&e); got != tc.want {
			t.Errorf("phaseOf(cwnd %d, ssthresh %d, %s) = %q, want %q", tc.cwnd, tc.ssthresh, tc.ca, got, tc.want)
		}
	}
}

// TestCongestionAfter checks that the lines show the state after each
// event: an ACK's effect on bytes in flight and on the peer window, one
// value per instant, and no phase before ESTABLISHED or in TIME-WAIT.
func TestCongestionAfter(t *testing.T) {
	mk := func(tus int64, kind, flags string, seq, ack uint32, n int, wnd, una, infl, cwnd uint32) trace.Event {
		e := seg(tus, kind, flags, seq, ack, n, wnd)
		e.SndUna, e.InFlight, e.Cwnd, e.Ssthresh, e.SndWnd = una, infl, cwnd, 1<<31-1, 8000
		return e
	}
	evs := []trace.Event{
		{TimeUS: 0, Kind: trace.KindState, Local: h1, Remote: h2, State: "SYN-SENT", Cwnd: 99},
		mk(1000, trace.KindOut, ".", 101, 1, 1000, 65535, 101, 0, 2000),
		mk(1000, trace.KindOut, ".", 1101, 1, 1000, 65535, 101, 1000, 2000),
		mk(2000, trace.KindIn, ".", 1, 1101, 0, 6000, 101, 2000, 2000), // acks one: 1000 left, window 6000
		mk(2000, trace.KindOut, ".", 2101, 1, 1000, 65535, 1101, 1000, 3000),
		mk(2000, trace.KindOut, ".", 3101, 1, 1000, 65535, 1101, 2000, 3000),
		mk(3000, trace.KindIn, ".", 1, 4101, 0, 6000, 1101, 3000, 3000),
		{TimeUS: 9_000_000, Kind: trace.KindTimer, Local: h1, Remote: h2, Timer: "timewait", State: "TIME-WAIT", Cwnd: 5},
	}
	for i := 4; i <= 6; i++ {
		evs[i].SndWnd = 6000
	}
	s := Congestion(evs, c12)
	want := CwndSeries{
		End:      0.003,
		Cwnd:     []Point{{0.001, 2000}, {0.002, 3000}, {0.003, 3000}},
		InFlight: []Point{{0.001, 2000}, {0.002, 3000}, {0.003, 0}},
		SndWnd:   []Point{{0.001, 8000}, {0.002, 6000}, {0.003, 6000}},
		Phases:   []Interval{{Start: 0.001, End: 0.003, Label: PhaseSlowStart}},
	}
	if d := cmp.Diff(want, s, cmpFloats); d != "" {
		t.Errorf("Congestion mismatch (-want +got):\n%s", d)
	}
}

// TestRTTBackoff checks backoff counting: consecutive RTO expiries count
// up until snd_una advances, and Karn's rule for the samples.
func TestRTTBackoff(t *testing.T) {
	rto := func(tus int64, una uint32, rtoms int64) trace.Event {
		return trace.Event{TimeUS: tus, Kind: trace.KindTimer, Timer: "rto", Local: h1, Remote: h2, State: "ESTABLISHED",
			SndUna: una, RTOMS: rtoms, SRTTUS: 100_000}
	}
	withUna := func(e trace.Event, una uint32, rtoms int64) trace.Event {
		e.SndUna, e.RTOMS, e.SRTTUS = una, rtoms, 100_000
		return e
	}
	evs := []trace.Event{
		withUna(seg(0, trace.KindOut, ".", 1, 1, 100, 65535), 1, 200),
		withUna(seg(0, trace.KindOut, ".", 101, 1, 100, 65535), 1, 200),
		withUna(seg(100_000, trace.KindIn, ".", 1, 101, 0, 65535), 1, 200), // sample 100 ms
		rto(300_000, 101, 200),
		withUna(seg(300_000, trace.KindOut, ".", 101, 1, 100, 65535), 101, 400),
		rto(700_000, 101, 400),
		withUna(seg(700_000, trace.KindOut, ".", 101, 1, 100, 65535), 101, 800),
		withUna(seg(800_000, trace.KindIn, ".", 1, 201, 0, 65535), 101, 800), // ambiguous: no sample
		withUna(seg(800_000, trace.KindOut, ".", 201, 1, 100, 65535), 201, 200),
		rto(1_000_000, 201, 200),
	}
	evs[4].Retrans, evs[6].Retrans = true, true
	s := RTT(evs, c12)
	want := []Mark{{T: 0.3, V: 200, N: 1}, {T: 0.7, V: 400, N: 2}, {T: 1.0, V: 200, N: 1}}
	if d := cmp.Diff(want, s.Firings, cmpFloats); d != "" {
		t.Errorf("RTT firings mismatch (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]Point{{0.1, 100}}, s.Samples, cmpFloats); d != "" {
		t.Errorf("RTT samples mismatch (-want +got):\n%s", d)
	}
	wantRTO := []Point{{0, 200}, {0.3, 400}, {0.7, 800}, {0.8, 200}, {1.0, 200}}
	if d := cmp.Diff(wantRTO, s.RTO, cmpFloats); d != "" {
		t.Errorf("RTO line mismatch (-want +got):\n%s", d)
	}
}

// TestGoodputMidConnection reads a trace that starts after the handshake:
// sequence numbers count from the first snd_una, and a FIN is not a byte.
func TestGoodputMidConnection(t *testing.T) {
	una := uint32(0xfffffff0)
	ev := func(tus int64, kind, flags string, seq, ack uint32, n int, sndUna, infl uint32) trace.Event {
		e := seg(tus, kind, flags, seq, ack, n, 65535)
		e.SndUna, e.InFlight = sndUna, infl
		return e
	}
	evs := []trace.Event{
		ev(10_000, trace.KindOut, ".", una, 9, 1000, una, 0),
		ev(10_000, trace.KindOut, "F.", una+1000, 9, 500, una, 1000),
		ev(60_000, trace.KindIn, ".", 9, una+1000, 0, una, 1501),      // 1000 acked
		ev(120_000, trace.KindIn, ".", 9, una+1501, 0, una+1000, 501), // 500 and the FIN
		ev(130_000, trace.KindIn, ".", 9, una+1501, 0, una+1501, 0),
	}
	s := Goodput(evs, c12, DirAuto, 50*time.Millisecond)
	want := GoodputSeries{
		Dir: DirSent, T0: 10 * time.Millisecond, Interval: 50 * time.Millisecond,
		Bins: []Bin{
			{Start: 0, End: 0.05, Bytes: 0, BitsPerSecond: 0},
			{Start: 0.05, End: 0.1, Bytes: 1000, BitsPerSecond: 160000},
			{Start: 0.1, End: 0.15, Bytes: 500, BitsPerSecond: 80000},
		},
		Bytes: 1500, First: 0, Last: 0.11, Mean: 1500 * 8 / 0.11,
	}
	if d := cmp.Diff(want, s, cmpFloats); d != "" {
		t.Errorf("Goodput mismatch (-want +got):\n%s", d)
	}
}

func TestNiceInterval(t *testing.T) {
	for _, tc := range []struct {
		s    float64
		want time.Duration
	}{
		{0, time.Millisecond}, {0.0004, time.Millisecond}, {0.0011, 2 * time.Millisecond},
		{0.08, 100 * time.Millisecond}, {0.3, 500 * time.Millisecond}, {1.5, 2 * time.Second}, {7, 10 * time.Second},
	} {
		if got := niceInterval(tc.s); got != tc.want {
			t.Errorf("niceInterval(%v) = %v, want %v", tc.s, got, tc.want)
		}
	}
}

func TestTicks(t *testing.T) {
	var labels []string
	for _, tk := range (ticks{n: 10}).Ticks(0, 4.1) {
		if tk.Label != "" {
			labels = append(labels, tk.Label)
		}
	}
	want := []string{"0.0", "0.5", "1.0", "1.5", "2.0", "2.5", "3.0", "3.5", "4.0"}
	if d := cmp.Diff(want, labels); d != "" {
		t.Errorf("Ticks(0, 4.1) labels mismatch (-want +got):\n%s", d)
	}
	if got := (ticks{n: 8}).Ticks(0, 0); got != nil {
		t.Errorf("Ticks(0, 0) = %v, want none", got)
	}
}

// TestStory checks that the synthetic trace tells the story the goldens
// rely on, in terms a reader of the goldens can check.
func TestStory(t *testing.T) {
	cfg := storyConfig()
	evA, _ := storyTrace()
	a := trace.Conns(evA)[0]
	wrapped, persist := false, 0
	for _, e := range evA {
		wrapped = wrapped || e.Kind == trace.KindOut && e.Len > 0 && e.Seq < cfg.issA
		if e.Kind == trace.KindTimer && e.Timer == "persist" {
			persist++
		}
	}
	if !wrapped {
		t.Error("no data segment past the 2^32 wrap")
	}
	if persist == 0 {
		t.Error("no zero-window probe")
	}
	s := TimeSequence(evA, a, DirAuto)
	if n := len(s.ZeroWindows); n != 1 {
		t.Errorf("%d zero-window periods, want 1", n)
	}
	if len(s.SACKs) == 0 {
		t.Error("no ACK with SACK blocks")
	}
	if last := s.Segments[len(s.Segments)-1]; last.End != int64(cfg.total)+1 || last.Flags != "F." {
		t.Errorf("last segment %+v, want the FIN at %d", last, cfg.total+1)
	}
	r := RTT(evA, a)
	if n := len(r.Firings); n != 3 || r.Firings[2].N != 3 {
		t.Errorf("RTO firings %+v, want 3 with backoff 1, 2, 3", r.Firings)
	}
	var phases []string
	for _, p := range Congestion(evA, a).Phases {
		phases = append(phases, p.Label)
	}
	if d := cmp.Diff([]string{PhaseSlowStart, PhaseRecovery, PhaseCongAvoid, PhaseLoss}, phases); d != "" {
		t.Errorf("phases mismatch (-want +got):\n%s", d)
	}
	if g := Goodput(evA, a, DirAuto, 0); g.Bytes != int64(cfg.total) {
		t.Errorf("goodput counted %d bytes, want %d", g.Bytes, cfg.total)
	}
}
