package plot

import (
	"bytes"
	"encoding/xml"
	"errors"
	"flag"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netlab/netlab/trace"
)

var plotDir = flag.String("plotdir", "", "also write a PNG of each kind from the synthetic trace into this directory, to look at")

func TestRenderSVG(t *testing.T) {
	evA, _ := storyTrace()
	c := trace.Conns(evA)[0]
	for _, k := range Kinds() {
		t.Run(string(k), func(t *testing.T) {
			var buf bytes.Buffer
			opts := Options{Format: FormatSVG, Subtitle: "delay 50 ms each way, 1 Mbit/s bottleneck"}
			if err := Render(&buf, k, evA, c, opts); err != nil {
				t.Fatalf("Render(%s) = %v", k, err)
			}
			if buf.Len() == 0 {
				t.Fatalf("Render(%s) wrote nothing", k)
			}
			checkXML(t, buf.Bytes())
			for _, want := range []string{"<svg", "10.0.0.1:40000", "time (s)"} {
				if !bytes.Contains(buf.Bytes(), []byte(want)) {
					t.Errorf("SVG of %s lacks %q", k, want)
				}
			}
		})
	}
}

// checkXML parses b to the end as XML.
func checkXML(t *testing.T, b []byte) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(b))
	n := 0
	for {
		_, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("SVG does not parse as XML after %d tokens: %v", n, err)
		}
		n++
	}
	if n < 10 {
		t.Fatalf("SVG has only %d XML tokens", n)
	}
}

func TestRenderPNG(t *testing.T) {
	evA, evB := storyTrace()
	dir := t.TempDir()
	if *plotDir != "" {
		dir = *plotDir
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name string
		evs  []trace.Event
		kind Kind
		opts Options
	}{
		{"sender-seq", evA, KindSeq, Options{}},
		{"sender-cwnd", evA, KindCwnd, Options{}},
		{"sender-rtt", evA, KindRTT, Options{}},
		{"sender-tput", evA, KindTput, Options{}},
		{"receiver-seq", evB, KindSeq, Options{}},
		{"receiver-tput", evB, KindTput, Options{Width: 800, Height: 500}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := trace.Conns(tc.evs)[0]
			tc.opts.Subtitle = "delay 50 ms each way, 1 Mbit/s bottleneck, 1 loss, receiver paused 0.4 s, outage 0.8 s"
			path := filepath.Join(dir, tc.name+".png")
			if err := RenderFile(path, tc.kind, tc.evs, c, tc.opts); err != nil {
				t.Fatalf("RenderFile(%s) = %v", path, err)
			}
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			img, err := png.Decode(f)
			if err != nil {
				t.Fatalf("%s does not decode as PNG: %v", path, err)
			}
			w, h := tc.opts.Width, tc.opts.Height
			if w == 0 {
				w, h = DefaultWidth, DefaultHeight
			}
			if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
				t.Errorf("%s is %dx%d, want %dx%d", path, b.Dx(), b.Dy(), w, h)
			}
		})
	}
}

func TestRenderErrors(t *testing.T) {
	evA, _ := storyTrace()
	c := trace.Conns(evA)[0]
	other := trace.Conn{Local: simB, Remote: simA}
	var buf bytes.Buffer
	if err := Render(&buf, KindSeq, evA, other, Options{Format: FormatPNG}); !errors.Is(err, trace.ErrNoEvents) {
		t.Errorf("Render(unknown connection) = %v, want trace.ErrNoEvents", err)
	}
	if err := Render(&buf, KindSeq, evA, c, Options{Format: "gif"}); err == nil {
		t.Error("Render(format gif) = nil, want an error")
	}
	if err := Render(&buf, "pie", evA, c, Options{Format: FormatSVG}); err == nil {
		t.Error("Render(kind pie) = nil, want an error")
	}
	if err := Render(&buf, KindSeq, evA, c, Options{Format: FormatPNG, Width: 100_000}); err == nil {
		t.Error("Render(width 100000) = nil, want an error")
	}
	jpg := filepath.Join(t.TempDir(), "x.jpg")
	err := RenderFile(jpg, KindSeq, evA, c, Options{})
	if err == nil || !strings.Contains(err.Error(), "jpg") {
		t.Errorf("RenderFile(x.jpg) = %v, want a format error", err)
	}
	if _, err := os.Stat(jpg); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("failed RenderFile left %s behind (stat: %v)", jpg, err)
	}
	// An explicit format wins over the extension.
	p := filepath.Join(t.TempDir(), "plot.out")
	if err := RenderFile(p, KindRTT, evA, c, Options{Format: FormatSVG}); err != nil {
		t.Fatalf("RenderFile(plot.out, svg) = %v", err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	checkXML(t, b)
	if buf.Len() != 0 {
		t.Errorf("failed renders wrote %d bytes", buf.Len())
	}
}

func TestParseKind(t *testing.T) {
	for _, k := range Kinds() {
		if got, err := ParseKind(string(k)); err != nil || got != k {
			t.Errorf("ParseKind(%q) = %q, %v", k, got, err)
		}
	}
	if _, err := ParseKind("sequence"); err == nil {
		t.Error(`ParseKind("sequence") = nil error`)
	}
}

// TestRenderSparse draws every kind from traces with next to nothing in
// them: a connection attempt that never got an answer, and one event.
func TestRenderSparse(t *testing.T) {
	syn := seg(0, trace.KindOut, "S", 1000, 0, 0, 65535)
	syn.State = "SYN-SENT"
	for name, evs := range map[string][]trace.Event{
		"one state event": {{TimeUS: 5, Kind: trace.KindState, Local: h1, Remote: h2, State: "SYN-SENT", OldState: "CLOSED"}},
		"unanswered SYN":  {syn, {TimeUS: 1_000_000, Kind: trace.KindTimer, Timer: "rto", Local: h1, Remote: h2, State: "SYN-SENT", RTOMS: 1000}},
	} {
		for _, k := range Kinds() {
			for _, format := range []string{FormatSVG, FormatPNG} {
				var buf bytes.Buffer
				if err := Render(&buf, k, evs, c12, Options{Format: format}); err != nil {
					t.Errorf("%s: Render(%s, %s) = %v", name, k, format, err)
				}
				if buf.Len() == 0 {
					t.Errorf("%s: Render(%s, %s) wrote nothing", name, k, format)
				}
			}
		}
	}
}

// TestHighlight: the event a check points at is drawn where the series
// put it — a retransmission at its segment, an ACK on the ACK line — and
// named in the legend.
func TestHighlight(t *testing.T) {
	evA, _ := storyTrace()
	c := trace.Conns(evA)[0]
	s := TimeSequence(evA, c, DirSent)
	var re, ack *trace.Event
	for i := range evA {
		e := &evA[i]
		if re == nil && e.Kind == trace.KindOut && e.Retrans && e.Len > 0 {
			re = e
		}
		if ack == nil && e.Kind == trace.KindIn && e.HasFlag('.') && e.Len == 0 && e.Ack != 0 {
			ack = e
		}
	}
	if re == nil || ack == nil {
		t.Fatal("the story trace has no retransmission or no ACK")
	}
	cn := newConn(evA, c)
	found := func(e *trace.Event, want func(v int64, tm float64) bool) {
		t.Helper()
		v, ok := seqOf(s, *e)
		if !ok || !want(v, cn.sec(e.TimeUS)) {
			t.Errorf("%s event at %d placed at %d (ok %v), not on the series", e.Kind, e.TimeUS, v, ok)
		}
	}
	found(re, func(v int64, tm float64) bool {
		for _, sg := range s.Segments {
			if sg.T == tm && sg.Retrans && sg.Start == v {
				return true
			}
		}
		return false
	})
	found(ack, func(v int64, tm float64) bool {
		for _, p := range s.ACKs {
			if p.T == tm && int64(p.V) == v {
				return true
			}
		}
		return false
	})
	var buf bytes.Buffer
	if err := Render(&buf, KindSeq, evA, c, Options{Format: FormatSVG, Highlight: re, HighlightLabel: "check 3: the retransmission"}); err != nil {
		t.Fatal(err)
	}
	checkXML(t, buf.Bytes())
	if !bytes.Contains(buf.Bytes(), []byte("check 3: the retransmission")) {
		t.Error("the SVG does not name the highlighted event")
	}
}

// TestCwndScaleIgnoresAHugePeerWindow: a sawtooth of a few dozen KiB under
// a 1 MiB receive window is scaled to the sawtooth, the window clipped at
// the top and its height in the legend; a window close to the cwnd is
// drawn as it is.
func TestCwndScaleIgnoresAHugePeerWindow(t *testing.T) {
	saw := []Point{{0, 14480}, {1, 40000}, {1.1, 20000}, {2, 40000}}
	for _, tc := range []struct {
		name       string
		wnd        float64
		maxY       float64 // in the figure's unit (KiB)
		wantLegend string
	}{
		{"huge window", 1 << 20, 60, "up to 1024 KiB: clipped"},
		{"window near the cwnd", 64 << 10, 70, "peer receive window (snd_wnd)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := CwndSeries{End: 2, Cwnd: saw, SndWnd: []Point{{0, tc.wnd}, {2, tc.wnd}}}
			f := cwndFigure(s, newTheme())
			if f.p.Y.Max > tc.maxY {
				t.Errorf("y axis up to %.1f KiB, want at most %.1f", f.p.Y.Max, tc.maxY)
			}
			if f.p.Y.Max < 40 {
				t.Errorf("y axis up to %.1f KiB: the cwnd (39 KiB) is cut off", f.p.Y.Max)
			}
			found := false
			for _, e := range f.entries {
				found = found || strings.Contains(e.name, tc.wantLegend)
			}
			if !found {
				t.Errorf("no legend entry with %q: %+v", tc.wantLegend, f.entries)
			}
		})
	}
}
