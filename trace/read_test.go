package trace

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/netlab/netlab/stack"
	"github.com/netlab/netlab/stack/wire"
)

// oldLine is a line of a trace written before this package existed (by
// nodeagent.TraceEvent): the field names must keep reading.
const oldLine = `{"t_us":1500,"kind":"in","local":"10.0.0.1:40000","remote":"10.0.0.2:80","flags":"S.","seq":7000,"ack":112,"wnd":65535,"sack_blocks":1,"sack":[[1,2]],"state":"ESTABLISHED","snd_una":112,"snd_nxt":112,"rcv_nxt":7001,"snd_wnd":65535,"rcv_wnd":65535,"snd_cwnd":14600,"ssthresh":2147483647,"inflight":0,"srtt_us":100,"rttvar_us":50,"opts":"mss 1460,sackOK","rto_ms":1000,"ca_state":"open"}`

func TestReadOldFormat(t *testing.T) {
	evs, err := Read(strings.NewReader(oldLine))
	if err != nil {
		t.Fatal(err)
	}
	want := []Event{{
		TimeUS: 1500, Kind: KindIn, Local: cli, Remote: srv, Flags: "S.", Seq: 7000, Ack: 112, Window: 65535,
		SACK: 1, SACKRanges: [][2]uint32{{1, 2}}, State: "ESTABLISHED", SndUna: 112, SndNxt: 112, RcvNxt: 7001,
		SndWnd: 65535, RcvWnd: 65535, Cwnd: 14600, Ssthresh: 1<<31 - 1, SRTTUS: 100, RTTVarUS: 50,
		Options: "mss 1460,sackOK", RTOMS: 1000, CAState: "open",
	}}
	if d := cmp.Diff(want, evs, cmpAddr); d != "" {
		t.Fatalf("Read(old line) mismatch (-want +got):\n%s", d)
	}
	b, err := json.Marshal(evs[0])
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != oldLine {
		t.Errorf("the event encodes as\n%s\nwant the old line\n%s", b, oldLine)
	}
}

func TestReadRoundTrip(t *testing.T) {
	want := append(activeOpen(0, 1<<32-5), lost(7))
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for i, e := range want {
		if err := enc.Encode(e); err != nil {
			t.Fatal(err)
		}
		if i == 3 {
			buf.WriteString("\n  \n") // blank lines are skipped
		}
	}
	got, err := Read(&buf)
	if err != nil {
		t.Fatalf("Read = %v", err)
	}
	if d := cmp.Diff(want, got, cmpAddr); d != "" {
		t.Errorf("Read mismatch (-want +got):\n%s", d)
	}
	if n := LostEvents(got); n != 7 {
		t.Errorf("LostEvents = %d, want 7", n)
	}
}

func TestReadErrors(t *testing.T) {
	in := `{"t_us":1,"kind":"in","local":"10.0.0.1:1","remote":"10.0.0.2:2","state":"ESTABLISHED"}
{"t_us":2,"kind":"out","local":"10.0.0.1:1","remote":"10.0.0.2:2","state":"ESTABLISHED"}
{"t_us":3,"kind":
`
	evs, err := Read(strings.NewReader(in))
	if err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Errorf("Read(bad line 3) = %v, want an error naming line 3", err)
	}
	if len(evs) != 2 {
		t.Errorf("Read(bad line 3) kept %d events, want the 2 before it", len(evs))
	}
	// No trailing newline is fine.
	evs, err = Read(strings.NewReader(`{"t_us":5,"kind":"timer","timer":"rto","state":"ESTABLISHED"}`))
	if err != nil || len(evs) != 1 || evs[0].Timer != "rto" || evs[0].TimeUS != 5 {
		t.Errorf("Read(one line, no newline) = %+v, %v", evs, err)
	}
}

// TestReadFileRotatedFirst: a recorded trace is its rotated part, then the
// current file; without a rotated part, the file alone.
func TestReadFileRotatedFirst(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "h1.jsonl")
	write := func(p string, evs ...Event) {
		t.Helper()
		var b bytes.Buffer
		for _, e := range evs {
			json.NewEncoder(&b).Encode(e)
		}
		if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ReadFile(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("ReadFile(missing) = %v, want os.ErrNotExist", err)
	}
	open := activeOpen(100, 9)
	write(path, open[4:]...)
	evs, err := ReadFile(path)
	if err != nil || len(evs) != len(open)-4 {
		t.Fatalf("ReadFile(no rotated part) = %d events, %v; want %d", len(evs), err, len(open)-4)
	}
	write(RotatedPath(path), open[:4]...)
	evs, err = ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(open, evs, cmpAddr); d != "" {
		t.Fatalf("ReadFile mismatch (-want +got):\n%s", d)
	}
	if c := Conns(evs); len(c) != 1 || !c[0].SYN || c[0].ISN != 9 {
		t.Errorf("Conns(both parts) = %+v, want one connection with its SYN", c)
	}
	os.WriteFile(RotatedPath(path), []byte("{\n"), 0o644)
	if _, err := ReadFile(path); err == nil || !strings.Contains(err.Error(), RotatedPath(path)) {
		t.Errorf("ReadFile(bad rotated part) = %v, want an error naming it", err)
	}
}

func TestFromProbe(t *testing.T) {
	p := stack.ProbeEvent{
		Time: 1500 * time.Microsecond, Kind: stack.ProbeSegmentIn, Local: cli, Remote: srv,
		Flags: wire.TCPFlagSYN | wire.TCPFlagACK, Seq: 7000, Ack: 112, Window: 65535, SACKBlocks: 1,
		SACK:    [4]wire.SACKBlock{{Start: 1, End: 2}},
		Options: &wire.TCPOptions{HasMSS: true, MSS: 1460, SACKPermitted: true},
		State:   stack.StateEstablished, SndUna: 112, SndNxt: 112, RcvNxt: 7001, SndWnd: 65535, RcvWnd: 65535,
		Cwnd: 14600, Ssthresh: 1<<31 - 1, SRTT: 100 * time.Microsecond, RTTVar: 50 * time.Microsecond, RTO: time.Second,
	}
	b, err := json.Marshal(FromProbe(p))
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != oldLine {
		t.Errorf("FromProbe encodes as\n%s\nwant\n%s", b, oldLine)
	}
	st := FromProbe(stack.ProbeEvent{Kind: stack.ProbeState, State: stack.StateEstablished, OldState: stack.StateSynSent})
	tm := FromProbe(stack.ProbeEvent{Kind: stack.ProbeTimer, Timer: stack.TimerRTO, State: stack.StateEstablished})
	if st.Kind != KindState || st.OldState != "SYN-SENT" || st.State != "ESTABLISHED" || st.Flags != "" || tm.Kind != KindTimer || tm.Timer != "rto" {
		t.Errorf("FromProbe(state) = %+v, FromProbe(timer) = %+v", st, tm)
	}
	o := wire.TCPOptions{HasMSS: true, MSS: 1460, SACKPermitted: true, HasTimestamps: true, TSVal: 1, HasWindowScale: true, WindowScale: 7}
	if s := FormatOptions(&o); s != "mss 1460,sackOK,TS val 1 ecr 0,wscale 7" {
		t.Errorf("FormatOptions = %q", s)
	}
}

// FuzzReadTrace: no input makes Read panic; what it reads encodes and reads
// back the same, and splitting it into connections keeps every event of a
// 4-tuple in exactly one instance.
func FuzzReadTrace(f *testing.F) {
	var b bytes.Buffer
	for _, e := range append(activeOpen(0, 7), activeOpen(0, 7)...) {
		json.NewEncoder(&b).Encode(e)
	}
	f.Add(b.Bytes())
	f.Add([]byte(oldLine))
	f.Add([]byte(`{"kind":"lost","len":3}` + "\n\n" + `{"t_us":-1,"kind":"state","local":"[::1]:1","remote":"1.2.3.4:5","old_state":"CLOSED","state":"SYN-SENT"}`))
	f.Add([]byte("{\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		evs, err := Read(bytes.NewReader(in))
		if err != nil {
			return
		}
		var out bytes.Buffer
		enc := json.NewEncoder(&out)
		for _, e := range evs {
			if err := enc.Encode(e); err != nil {
				t.Fatalf("encode %+v: %v", e, err)
			}
		}
		again, err := Read(&out)
		if err != nil {
			t.Fatalf("Read(re-encoded) = %v", err)
		}
		if opts := []cmp.Option{cmpAddr, cmpopts.EquateEmpty()}; !cmp.Equal(evs, again, opts...) {
			t.Fatalf("re-encoded trace reads differently (-first +again):\n%s", cmp.Diff(evs, again, opts...))
		}
		conns, of := split(evs, nil)
		n := make([]int, len(conns))
		for i, e := range evs {
			switch {
			case of[i] >= 0:
				n[of[i]]++
			case e.Kind != KindLost && e.Local.IsValid() && e.Remote.IsValid():
				t.Fatalf("event %d (%+v) is in no connection", i, e)
			}
		}
		for j, c := range conns {
			if n[j] != c.Events {
				t.Fatalf("%s holds %d events, counted %d", c.Label(), n[j], c.Events)
			}
			if j < 16 { // Filter is linear: all of them would be quadratic
				if got := len(Filter(evs, c)); got != c.Events {
					t.Fatalf("Filter(%s) = %d events, Conns counted %d", c.Label(), got, c.Events)
				}
			}
		}
	})
}
