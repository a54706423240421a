package nodeagent

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/netlab/netlab/stack"
	"github.com/netlab/netlab/stack/wire"
	"github.com/netlab/netlab/trace"
)

// TestRecorderStaysWithinItsCap writes far more events than the cap holds
// through the recorder, in bursts that keep its queue full (its buffer then
// flushes on its own, in the middle of an event) and in trickles that let
// it flush after each event: at every moment the current and the rotated
// file together hold at most the cap, and both hold only whole events.
func TestRecorderStaysWithinItsCap(t *testing.T) {
	for _, tc := range []struct {
		name  string
		limit int64
		bytes int64 // about this much JSON is published
		pause int   // sleep a little every pause events (0: never)
	}{
		{"64KiB, bursts", 64 << 10, 2 << 20, 0},
		{"64KiB, trickle", 64 << 10, 2 << 20, 20},
		{"1MiB, bursts", 1 << 20, 6 << 20, 0},
		{"1MiB, trickle", 1 << 20, 6 << 20, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTracer()
			path := filepath.Join(t.TempDir(), "h1.jsonl")
			rec, err := startRecorder(tr, path, tc.limit, nil)
			if err != nil {
				t.Fatal(err)
			}
			size := func(p string) int64 {
				fi, err := os.Stat(p)
				if err != nil {
					return 0
				}
				return fi.Size()
			}
			check := func(when string) {
				t.Helper()
				if cur, old := size(path), size(path+".1"); cur+old > tc.limit {
					t.Fatalf("%s: trace files hold %d + %d = %d bytes, cap %d", when, cur, old, cur+old, tc.limit)
				}
			}
			ev := stack.ProbeEvent{Kind: stack.ProbeSegmentOut, Local: netip.MustParseAddrPort("10.0.0.1:40000"),
				Remote: netip.MustParseAddrPort("10.0.0.2:80"), DataLen: 1448, State: stack.StateEstablished,
				Flags: wire.TCPFlagACK | wire.TCPFlagPSH}
			var published int64
			for i := 0; published < tc.bytes; i++ {
				ev.Time = time.Duration(i) * time.Microsecond
				ev.Seq = uint32(i * 1448)
				// Events of varied sizes: some carry SYN options and SACK blocks.
				ev.Options, ev.SACKBlocks = nil, i%7%5
				if i%11 == 0 {
					ev.Options = &wire.TCPOptions{HasMSS: true, MSS: 1460, SACKPermitted: true, HasTimestamps: true, TSVal: uint32(i)}
				}
				tr.publish(ev)
				published += 300 + int64(ev.SACKBlocks)*24
				if tc.pause > 0 && i%tc.pause == 0 {
					time.Sleep(50 * time.Microsecond)
				}
				if i%1000 == 0 {
					check("while recording")
				}
			}
			// Once the recorder has caught up, a last event is surely queued.
			for deadline := time.Now().Add(10 * time.Second); len(rec.sub.ch) > 0 && time.Now().Before(deadline); {
				time.Sleep(time.Millisecond)
			}
			ev.Time += time.Microsecond
			tr.publish(ev)
			rec.stop()
			check("after stop")
			if size(path+".1") == 0 {
				t.Fatal("the trace never rotated")
			}
			// Whole events only: both parts read back, and the last event
			// published is the last line.
			var all []trace.Event
			for _, p := range []string{path + ".1", path} {
				b, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				if len(b) > 0 && b[len(b)-1] != '\n' {
					t.Errorf("%s ends in a torn line", p)
				}
				evs, err := trace.Read(bytes.NewReader(b))
				if err != nil {
					t.Fatalf("%s: %v", p, err)
				}
				all = append(all, evs...)
			}
			if len(all) == 0 || all[len(all)-1].TimeUS != ev.Time.Microseconds() {
				t.Errorf("the last event recorded is %+v, want the last published (t %d µs)", all[len(all)-1], ev.Time.Microseconds())
			}
		})
	}
}

// TestRecorderStartsWithinItsCap: files left by an agent with a larger cap
// are brought within this one's before anything is written.
func TestRecorderStartsWithinItsCap(t *testing.T) {
	const limit = 16 << 10
	line := `{"t_us":1,"kind":"timer","local":"10.0.0.1:1","remote":"10.0.0.2:2","timer":"rto","state":"ESTABLISHED"}` + "\n"
	big := bytes.Repeat([]byte(line), 2*limit/len(line))
	for _, tc := range []struct {
		name     string
		cur, old []byte
	}{
		{"current too big", big, nil},
		{"rotated part too big", []byte(line), big},
		{"both too big", big, big},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "h1.jsonl")
			os.WriteFile(path, tc.cur, 0o644)
			if tc.old != nil {
				os.WriteFile(trace.RotatedPath(path), tc.old, 0o644)
			}
			tr := newTracer()
			rec, err := startRecorder(tr, path, limit, nil)
			if err != nil {
				t.Fatal(err)
			}
			tr.publish(stack.ProbeEvent{Kind: stack.ProbeTimer, Timer: stack.TimerRTO})
			rec.stop()
			var total int64
			for _, p := range []string{path, trace.RotatedPath(path)} {
				if fi, err := os.Stat(p); err == nil {
					total += fi.Size()
				}
			}
			if total > limit {
				t.Errorf("trace files hold %d bytes, cap %d", total, limit)
			}
			evs, err := trace.ReadFile(path)
			if err != nil || len(evs) == 0 || evs[len(evs)-1].Timer != "rto" || evs[len(evs)-1].TimeUS != 0 {
				t.Errorf("ReadFile = %d events, %v; want the new event last", len(evs), err)
			}
		})
	}
}

// TestRecorderDropsAnEventLargerThanHalfTheCap: such an event cannot be
// kept whole; it is counted as lost.
func TestRecorderDropsAnEventLargerThanHalfTheCap(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h1.jsonl")
	tr := newTracer()
	const limit = 560
	rec, err := startRecorder(tr, path, limit, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := stack.ProbeEvent{Kind: stack.ProbeSegmentIn, SACKBlocks: 4, Options: &wire.TCPOptions{HasMSS: true, HasTimestamps: true, SACKPermitted: true, HasWindowScale: true}}
	small := stack.ProbeEvent{Kind: stack.ProbeTimer, Timer: stack.TimerRTO}
	if big, n := len(mustJSON(t, trace.FromProbe(e))), len(mustJSON(t, trace.FromProbe(small))); big <= limit/2 || n > limit/2 {
		t.Fatalf("the events are %d and %d bytes, want the first over half the cap, the second within", big, n)
	}
	tr.publish(e)
	tr.publish(small)
	rec.stop()
	evs, err := trace.ReadFile(path)
	if err != nil || len(evs) != 2 || evs[0].Kind != trace.KindLost || evs[0].Len != 1 || evs[1].Timer != "rto" {
		t.Fatalf("ReadFile = %+v, %v; want a lost marker for 1 event, then the timer", evs, err)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := json.NewEncoder(&b).Encode(v); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestTracerCountsLossPerSubscriber: a subscriber that falls behind loses
// events; the others do not hear of it.
func TestTracerCountsLossPerSubscriber(t *testing.T) {
	tr := newTracer()
	fast, slow := tr.subscribe(trace.Selector{}), tr.subscribe(trace.Selector{})
	n := cap(slow.ch) + 10
	for i := range n {
		tr.publish(stack.ProbeEvent{Kind: stack.ProbeTimer, Time: time.Duration(i) * time.Microsecond})
		<-fast.ch
	}
	var seenFast, seenSlow uint64
	if m, ok := fast.lostSince(&seenFast, 0); ok {
		t.Errorf("the subscriber that kept up lost %d events", m.Len)
	}
	if m, ok := slow.lostSince(&seenSlow, 7); !ok || m.Len != 10 || m.Kind != trace.KindLost || m.TimeUS != 7 {
		t.Errorf("the slow subscriber's marker = %+v, %v; want 10 lost", m, ok)
	}
	if _, ok := slow.lostSince(&seenSlow, 8); ok {
		t.Error("a loss was reported twice")
	}
	tr.unsubscribe(fast)
	tr.unsubscribe(slow)
}

// TestRecorderBudget: past its budget the recorder leaves ordinary segment
// events out and says how many (lost markers with Reason trace.LostBudget);
// retransmissions, handshakes, SACKs, recovery and state changes are
// always recorded.
func TestRecorderBudget(t *testing.T) {
	const per, routineN = 100, 1000
	b := &recordBudget{per: per}
	b.left.Store(per)
	tr := newTracer()
	path := filepath.Join(t.TempDir(), "h1.jsonl")
	rec, err := startRecorder(tr, path, 64<<20, b)
	if err != nil {
		t.Fatal(err)
	}
	ev := stack.ProbeEvent{Kind: stack.ProbeSegmentOut, Local: netip.MustParseAddrPort("10.0.0.1:40000"),
		Remote: netip.MustParseAddrPort("10.0.0.2:80"), DataLen: 1448, State: stack.StateEstablished,
		Flags: wire.TCPFlagACK | wire.TCPFlagPSH, Window: 65535}
	special := 0
	for i := range routineN {
		e := ev
		e.Time = time.Duration(i) * time.Microsecond
		tr.publish(e)
		if i%100 == 50 {
			for _, x := range []stack.ProbeEvent{
				{Kind: stack.ProbeSegmentOut, Retrans: true, Flags: wire.TCPFlagACK},
				{Kind: stack.ProbeSegmentIn, Flags: wire.TCPFlagSYN | wire.TCPFlagACK},
				{Kind: stack.ProbeSegmentIn, Flags: wire.TCPFlagACK, SACKBlocks: 1},
				{Kind: stack.ProbeSegmentIn, Flags: wire.TCPFlagACK, CAState: stack.CARecovery},
				{Kind: stack.ProbeState, OldState: stack.StateSynSent},
			} {
				x.Time, x.Local, x.Remote = e.Time, ev.Local, ev.Remote
				if x.State == 0 {
					x.State = stack.StateEstablished
				}
				tr.publish(x)
				special++
			}
		}
	}
	rec.stop()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	evs, err := trace.Read(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var routineKept, others, budgetLost, lost int
	for i := range evs {
		e := &evs[i]
		switch {
		case e.Kind == trace.KindLost && e.Reason == trace.LostBudget:
			budgetLost += e.Len
		case e.Kind == trace.KindLost:
			lost += e.Len
		case routine(e):
			routineKept++
		default:
			others++
		}
	}
	if routineKept != per || budgetLost != routineN-per || others != special || lost != 0 {
		t.Errorf("recorded %d ordinary events and %d others, %d left out by the budget, %d lost; want %d, %d, %d, 0",
			routineKept, others, budgetLost, lost, per, special, routineN-per)
	}
}

// TestRoutineProbe: the budget's check on the stack's event agrees with
// its check on the converted one, for every kind, flag, state and mark
// that decides it.
func TestRoutineProbe(t *testing.T) {
	n := 0
	for _, kind := range []stack.ProbeKind{stack.ProbeSegmentOut, stack.ProbeSegmentIn, stack.ProbeState, stack.ProbeTimer} {
		for _, flags := range []wire.TCPFlags{0, wire.TCPFlagACK, wire.TCPFlagACK | wire.TCPFlagPSH, wire.TCPFlagPSH,
			wire.TCPFlagSYN, wire.TCPFlagSYN | wire.TCPFlagACK, wire.TCPFlagFIN | wire.TCPFlagACK, wire.TCPFlagRST,
			wire.TCPFlagACK | wire.TCPFlagECE, wire.TCPFlagACK | wire.TCPFlagCWR | wire.TCPFlagPSH} {
			for _, st := range []stack.State{stack.StateEstablished, stack.StateCloseWait, stack.StateSynSent} {
				for _, ca := range []stack.CAState{stack.CAOpen, stack.CARecovery} {
					for _, retrans := range []bool{false, true} {
						for _, sacks := range []int{0, 2} {
							for _, wnd := range []uint32{0, 1000} {
								for _, dataLen := range []int{0, 100} {
									for _, outstanding := range []uint32{0, 1448} {
										e := stack.ProbeEvent{Kind: kind, Flags: flags, State: st, CAState: ca, Retrans: retrans,
											SACKBlocks: sacks, Window: wnd, DataLen: dataLen, SndUna: 5000, SndNxt: 5000 + outstanding}
										te := trace.FromProbe(e)
										if got, want := routineProbe(&e), routine(&te); got != want {
											t.Errorf("%+v: routineProbe %v, routine of the converted event %v", te, got, want)
										}
										if routineProbe(&e) {
											n++
										}
									}
								}
							}
						}
					}
				}
			}
		}
	}
	// ACK and ACK|PSH with an open window: out with or without data and
	// outstanding data (4), in but for a pure ACK while data is
	// outstanding (3).
	if n != 14 {
		t.Errorf("%d routine events, want 14", n)
	}
}

func TestNewRecordBudget(t *testing.T) {
	if b := newRecordBudget(-1); b != nil {
		t.Errorf("newRecordBudget(-1) = %+v, want none (every event recorded)", b)
	}
	for _, tc := range []struct {
		perSecond int
		want      int64
	}{{0, DefaultTraceEventsPerSecond / 10}, {1000, 100}, {3, 1}} {
		b := newRecordBudget(tc.perSecond)
		if b.per != tc.want || b.left.Load() != tc.want {
			t.Errorf("newRecordBudget(%d): %d a window, %d left, want %d", tc.perSecond, b.per, b.left.Load(), tc.want)
		}
		b.close()
		b.close() // an agent closed twice
	}
	var none *recordBudget
	if e := (trace.Event{Kind: trace.KindOut, State: "ESTABLISHED", Flags: ".", Window: 1}); !none.allows(&e) || none.spent() {
		t.Error("no budget must allow everything")
	}
}
