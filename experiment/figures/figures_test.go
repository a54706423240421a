package figures

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
)

var nan = math.NaN()

func cell(cc, queue string, m map[string]Stat) Cell {
	return Cell{Key: "cc=" + cc + ",queue=" + queue, Values: map[string]string{"cc": cc, "queue": queue}, Metrics: m}
}

// sample is the input of most tests: cc × queue, 4 cells with some
// unknown metrics, 30 flows, one trial of 3 flows with a queue and 2
// events.
func sample() Input {
	in := Input{
		Params: []string{"cc", "queue"},
		Cells: []Cell{
			cell("reno", "50", map[string]Stat{
				"goodput": {8e6, 0.5e6, 5}, "rtt_p50": {0.025, 0.002, 5}, "queue_delay_mean": {0.005, 0.001, 5}, "jain": {0.95, 0.03, 5}}),
			// no RTT: the mean queue delay stands in; no CIs.
			cell("reno", "200", map[string]Stat{
				"goodput": {9.5e6, nan, 1}, "rtt_p50": {nan, nan, 0}, "queue_delay_mean": {0.040, nan, 1}, "jain": {0.9, nan, 1}}),
			// no delay at all: not on the goodput-vs-delay figure; no jain.
			cell("cubic", "50", map[string]Stat{
				"goodput": {9e6, 0.2e6, 5}, "rtt_p50": {nan, nan, 0}, "jain": {nan, nan, 0}}),
			cell("cubic", "200", map[string]Stat{
				"goodput": {9.8e6, 0.1e6, 5}, "rtt_p50": {0.060, 0.010, 5}, "jain": {0.99, 0.05, 5}}),
		},
	}
	for i := range 30 {
		c := in.Cells[i%4]
		in.Flows = append(in.Flows, Flow{Cell: c.Key, Size: 100_000, FCT: 0.01 * float64(1+i%7) * float64(1+i%4)})
	}
	tr := Trial{N: 3, Cell: in.Cells[0].Key, Rep: 1, Warmup: 1,
		Events: []Event{{T: 6, Label: "bottleneck up"}, {T: 4, Label: "bottleneck down"}}}
	for k := 1; k <= 100; k++ {
		t := float64(k) / 10
		for j, f := range []string{"flow1", "flow2", "flow10"} {
			v := 3e6 + 1e6*math.Sin(t+float64(j))
			if t > 4 && t < 6 {
				v = 0
			}
			tr.Points = append(tr.Points,
				Point{T: t, Series: f, Metric: "goodput_bps", Value: v},
				Point{T: t, Series: f, Metric: "cwnd", Value: 10 + float64(k%7)})
		}
		tr.Points = append(tr.Points,
			Point{T: t, Series: "r1:eth1>egress", Metric: "queue_len", Value: float64(k % 23)},
			Point{T: t, Series: "r1:eth1>egress", Metric: "passed_bytes", Value: float64(k * 12500)})
	}
	in.Trials = []Trial{tr}
	return in
}

// svgText parses an SVG as XML and returns its text, each piece on a line.
func svgText(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	d := xml.NewDecoder(bytes.NewReader(b))
	var text strings.Builder
	root := ""
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s is not XML: %v", path, err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if root == "" {
				root = tok.Name.Local
			}
		case xml.CharData:
			if s := strings.TrimSpace(string(tok)); s != "" {
				text.WriteString(s + "\n")
			}
		}
	}
	if root != "svg" {
		t.Fatalf("%s: root element %q, want svg", path, root)
	}
	return text.String()
}

// checkPNG decodes a PNG and checks its size.
func checkPNG(t *testing.T, path string, w, h int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
		t.Errorf("%s is %dx%d, want %dx%d", path, b.Dx(), b.Dy(), w, h)
	}
}

func files(figs []Figure) []string {
	out := make([]string, len(figs))
	for i, f := range figs {
		out[i] = f.File
	}
	return out
}

func TestRenderAll(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	in := sample()
	for i := range in.Flows {
		in.Flows[i].Slowdown = in.Flows[i].FCT / 0.008 // an ideal FCT of 8 ms
	}
	figs, err := Render(dir, in)
	if err != nil {
		t.Fatal(err)
	}
	want := []Figure{
		{"figures/tput-delay.svg", "Goodput vs delay"},
		{"figures/jain.svg", "Jain's fairness index vs queue"},
		{"figures/fct-cdf.svg", "Flow completion time CDF"},
		{"figures/slowdown-cdf.svg", "Flow slowdown CDF"},
		{"figures/goodput-trial-3.svg", "Goodput over time, trial 3 (cc=reno,queue=50, repetition 1)"},
	}
	if !slices.Equal(figs, want) {
		t.Fatalf("Render returned\n%q\nwant\n%q", figs, want)
	}
	texts := map[string][]string{
		"figures/tput-delay.svg": {"Goodput vs delay", "cc=reno", "cc=cubic", "queue=50", "queue=200 *",
			"better →", "goodput (Mbit/s)"},
		"figures/jain.svg":         {"Jain's fairness index vs queue", "cc=reno", "cc=cubic", "Jain's fairness index"},
		"figures/fct-cdf.svg":      {"Flow completion time CDF", "cc=reno,queue=50 (8)", "cc=cubic,queue=200 (7)", "log scale", "fraction of flows"},
		"figures/slowdown-cdf.svg": {"Flow slowdown CDF", "cc=reno,queue=50 (8)", "slowdown", "log scale"},
		"figures/goodput-trial-3.svg": {"Goodput over time · trial 3", "bottleneck down", "bottleneck up", "flow1", "flow10",
			"sum of 3 flows", "warm-up (1 s)", "scheduled event", "r1:eth1>egress", "queue (frames)"},
	}
	for _, f := range figs {
		text := svgText(t, filepath.Join(dir, f.File))
		for _, s := range texts[f.File] {
			if !strings.Contains(text, s) {
				t.Errorf("%s has no text %q; it has:\n%s", f.File, s, text)
			}
		}
		h := height
		if f.File == "figures/goodput-trial-3.svg" {
			h = trialHeight
		}
		pngFile := filepath.Join(dir, strings.TrimSuffix(f.File, ".svg")+".png")
		checkPNG(t, pngFile, width, h)
		for _, p := range []string{filepath.Join(dir, f.File), pngFile} {
			if st, err := os.Stat(p); err != nil || st.Size() >= 1<<20 || st.Size() < 1000 {
				t.Errorf("%s: %v, %d bytes", p, err, st.Size())
			}
		}
	}
	// The cell without a delay is left out; the jain figure has none of a cell without jain.
	if text := svgText(t, filepath.Join(dir, "figures/tput-delay.svg")); strings.Count(text, "queue=50\n") != 1 {
		t.Errorf("tput-delay: want one point labelled queue=50 (cubic's has no delay):\n%s", text)
	}
	entries, err := os.ReadDir(filepath.Join(dir, "figures"))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2*len(want) {
		t.Errorf("figures/ holds %d files, want %d", len(entries), 2*len(want))
	}
}

func TestRenderSkips(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		edit func(*Input)
		want []string
		text map[string][]string // texts a figure must have
	}{
		{"sample", func(*Input) {}, []string{"tput-delay", "jain", "fct-cdf", "goodput-trial-3"}, nil},
		{"no params", func(in *Input) {
			in.Params = nil
			for i := range in.Cells {
				in.Cells[i].Values = nil
			}
		}, []string{"tput-delay", "fct-cdf", "goodput-trial-3"},
			map[string][]string{"tput-delay": {"all cells", "cc=reno,queue=50", "cc=cubic,queue=200"}}},
		{"flows of a cell not listed", func(in *Input) {
			in.Flows = append(in.Flows, Flow{Cell: "cc=bbr,queue=50", Size: 10, FCT: 0.5}, Flow{Cell: "cc=bbr,queue=10", Size: 10, FCT: 0.7})
		}, []string{"tput-delay", "jain", "fct-cdf", "goodput-trial-3"},
			map[string][]string{"fct-cdf": {"cc=cubic,queue=200 (7)\ncc=bbr,queue=10 (1)\ncc=bbr,queue=50 (1)"}}},
		{"no flows", func(in *Input) { in.Flows = nil }, []string{"tput-delay", "jain", "goodput-trial-3"}, nil},
		{"flows without size or completion", func(in *Input) {
			for i := range in.Flows {
				if i%2 == 0 {
					in.Flows[i].Size = 0
				} else {
					in.Flows[i].FCT = nan
				}
			}
		}, []string{"tput-delay", "jain", "goodput-trial-3"}, nil},
		{"jain unknown everywhere", func(in *Input) {
			for _, c := range in.Cells {
				c.Metrics["jain"] = Stat{nan, nan, 0}
			}
		}, []string{"tput-delay", "fct-cdf", "goodput-trial-3"}, nil},
		{"no numeric parameter", func(in *Input) {
			for _, c := range in.Cells {
				c.Values["queue"] += "p"
			}
		}, []string{"tput-delay", "fct-cdf", "goodput-trial-3"}, nil},
		{"first numeric parameter", func(in *Input) {
			in.Params = []string{"cc", "delay", "queue", "loss"}
			for i, c := range in.Cells {
				c.Values["delay"] = fmt.Sprint(10 * (i + 1))
				c.Values["loss"] = "0.01"
			}
		}, []string{"tput-delay", "jain", "fct-cdf", "goodput-trial-3"},
			map[string][]string{"jain": {"Jain's fairness index vs delay", "cc=reno,queue=50,loss=0.01"}}},
		{"no delay anywhere", func(in *Input) {
			for _, c := range in.Cells {
				delete(c.Metrics, "rtt_p50")
				delete(c.Metrics, "queue_delay_mean")
			}
		}, []string{"jain", "fct-cdf", "goodput-trial-3"}, nil},
		{"queue delay only", func(in *Input) {
			for _, c := range in.Cells {
				delete(c.Metrics, "rtt_p50")
			}
		}, []string{"tput-delay", "jain", "fct-cdf", "goodput-trial-3"},
			map[string][]string{"tput-delay": {"mean queue delay (ms"}}},
		{"trial without goodput or queue", func(in *Input) {
			var pts []Point
			for _, p := range in.Trials[0].Points {
				if p.Metric != "goodput_bps" && p.Metric != "queue_len" {
					pts = append(pts, p)
				}
			}
			in.Trials[0].Points = pts
		}, []string{"tput-delay", "jain", "fct-cdf"}, nil},
		{"trial with a queue only", func(in *Input) {
			in.Trials[0].Points = slices.DeleteFunc(in.Trials[0].Points, func(p Point) bool { return p.Metric == "goodput_bps" })
		}, []string{"tput-delay", "jain", "fct-cdf", "goodput-trial-3"},
			map[string][]string{"goodput-trial-3": {"Bottleneck queue over time · trial 3", "bottleneck down", "r1:eth1>egress"}}},
		{"trials in the given order", func(in *Input) {
			t2 := in.Trials[0]
			t2.N = 1
			in.Trials = append(in.Trials, t2)
		}, []string{"tput-delay", "jain", "fct-cdf", "goodput-trial-3", "goodput-trial-1"}, nil},
		{"nothing", func(in *Input) { *in = Input{} }, []string{}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := sample()
			tc.edit(&in)
			dir := t.TempDir()
			figs, err := Render(dir, in)
			if err != nil {
				t.Fatal(err)
			}
			want := make([]string, len(tc.want))
			for i, w := range tc.want {
				want[i] = "figures/" + w + ".svg"
			}
			if got := files(figs); !slices.Equal(got, want) {
				t.Fatalf("figures %q, want %q", got, want)
			}
			for name, texts := range tc.text {
				text := svgText(t, filepath.Join(dir, "figures", name+".svg"))
				for _, s := range texts {
					if !strings.Contains(text, s) {
						t.Errorf("%s has no text %q; it has:\n%s", name, s, text)
					}
				}
			}
		})
	}
}

func TestRenderDeterministic(t *testing.T) {
	t.Parallel()
	d1, d2 := t.TempDir(), t.TempDir()
	if _, err := Render(d1, sample()); err != nil {
		t.Fatal(err)
	}
	// The same data with the timeseries given in another order.
	in := sample()
	slices.Reverse(in.Trials[0].Points)
	slices.Reverse(in.Flows)
	figs, err := Render(d2, in)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range figs {
		for _, name := range []string{f.File, strings.TrimSuffix(f.File, ".svg") + ".png"} {
			a, err1 := os.ReadFile(filepath.Join(d1, name))
			b, err2 := os.ReadFile(filepath.Join(d2, name))
			if err1 != nil || err2 != nil {
				t.Fatal(err1, err2)
			}
			if !bytes.Equal(a, b) {
				t.Errorf("%s differs between two renderings of the same input", name)
			}
		}
	}
}

func TestRenderErrors(t *testing.T) {
	in := sample()
	in.Trials = append(in.Trials, in.Trials[0])
	if _, err := Render(t.TempDir(), in); err == nil || !strings.Contains(err.Error(), "trial 3 given twice") {
		t.Errorf("duplicate trial: %v", err)
	}
	file := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Render(file, sample()); err == nil {
		t.Error("Render into a file: no error")
	}
}

// A trial of many flows draws 50 of them and stays small.
func TestManyFlows(t *testing.T) {
	t.Parallel()
	tr := Trial{N: 9, Cell: "c", Warmup: 2, Events: []Event{{T: 30, Label: "bottleneck down"}}}
	for k := 1; k <= 600; k++ {
		ts := float64(k) / 10
		for j := range 200 {
			tr.Points = append(tr.Points, Point{T: ts, Series: fmt.Sprintf("flow%d", j+1), Metric: "goodput_bps", Value: float64(1e5 * (1 + (j+k)%10))})
		}
		for q := range 30 {
			tr.Points = append(tr.Points, Point{T: ts, Series: fmt.Sprintf("s%d:eth1>egress", q), Metric: "queue_len", Value: float64((k + q) % 40)})
		}
	}
	dir := t.TempDir()
	figs, err := Render(dir, Input{Trials: []Trial{tr}})
	if err != nil {
		t.Fatal(err)
	}
	if got := files(figs); !slices.Equal(got, []string{"figures/goodput-trial-9.svg"}) {
		t.Fatalf("figures %q", got)
	}
	text := svgText(t, filepath.Join(dir, figs[0].File))
	for _, s := range []string{"each flow (first 50 of 200 drawn)", "sum of 200 flows", "… 20 more queues not drawn", "bottleneck down"} {
		if !strings.Contains(text, s) {
			t.Errorf("no text %q; it has:\n%s", s, text)
		}
	}
	for _, name := range []string{"goodput-trial-9.svg", "goodput-trial-9.png"} {
		st, err := os.Stat(filepath.Join(dir, "figures", name))
		if err != nil {
			t.Fatal(err)
		}
		if st.Size() >= 1<<20 {
			t.Errorf("%s: %d bytes, want < 1 MB", name, st.Size())
		}
	}
}

func TestTputDelayData(t *testing.T) {
	g, nRTT, nQueue := tputDelayData(sample())
	if !slices.Equal(g.names, []string{"cc=reno", "cc=cubic"}) || nRTT != 2 || nQueue != 1 {
		t.Fatalf("groups %q, %d with RTT, %d with queue delay", g.names, nRTT, nQueue)
	}
	reno, cubic := g.items["cc=reno"], g.items["cc=cubic"]
	if len(reno) != 2 || len(cubic) != 1 {
		t.Fatalf("reno %v, cubic %v", reno, cubic)
	}
	want := errPoint{x: 25, y: 8, xlo: 2, xhi: 2, ylo: 0.5, yhi: 0.5, label: "queue=50", xbars: true, ybars: true}
	if p := reno[0]; !near(p, want) {
		t.Errorf("reno,50: %+v, want %+v", p, want)
	}
	if p := reno[1]; p.x != 40 || !p.fallback || p.xbars || p.ybars || p.label != "queue=200" {
		t.Errorf("reno,200 (queue delay, no CI): %+v", p)
	}
	if p := cubic[0]; p.x != 60 || p.label != "queue=200" {
		t.Errorf("cubic,200: %+v", p)
	}
}

func near(a, b errPoint) bool {
	eq := func(x, y float64) bool { return math.Abs(x-y) < 1e-9 }
	return eq(a.x, b.x) && eq(a.y, b.y) && eq(a.xlo, b.xlo) && eq(a.xhi, b.xhi) && eq(a.ylo, b.ylo) && eq(a.yhi, b.yhi) &&
		a.label == b.label && a.xbars == b.xbars && a.ybars == b.ybars && a.fallback == b.fallback
}

// Delay grows to the left: the smaller delay is drawn further right.
func TestTputDelayInverted(t *testing.T) {
	f := tputDelayFigure(sample(), newTheme())
	if f == nil {
		t.Fatal("no figure")
	}
	x := &f.panels[0].p.X
	if _, ok := x.Scale.(gplot.InvertedScale); !ok {
		t.Fatalf("x scale %T, want inverted", x.Scale)
	}
	if lo, hi := x.Norm(25), x.Norm(60); !(lo > hi) {
		t.Errorf("25 ms at %v, 60 ms at %v of the width: want the smaller delay on the right", lo, hi)
	}
	if !strings.Contains(x.Label.Text, "better →") {
		t.Errorf("x label %q does not say which way is better", x.Label.Text)
	}
}

func TestNumericParam(t *testing.T) {
	mk := func(params []string, values ...map[string]string) Input {
		in := Input{Params: params}
		for _, v := range values {
			in.Cells = append(in.Cells, Cell{Values: v})
		}
		return in
	}
	for _, tc := range []struct {
		in   Input
		want string
	}{
		{mk([]string{"cc", "queue"}, map[string]string{"cc": "reno", "queue": "50"}, map[string]string{"cc": "cubic", "queue": "1e3"}), "queue"},
		{mk([]string{"delay", "queue"}, map[string]string{"delay": "5ms", "queue": "50"}), "queue"},
		{mk([]string{"a", "b"}, map[string]string{"a": "1", "b": "2"}, map[string]string{"a": "x", "b": "-2.5"}), "b"},
		{mk([]string{"a"}, map[string]string{"a": "1"}, map[string]string{}), ""}, // missing in a cell
		{mk([]string{"a"}, map[string]string{"a": "NaN"}), ""},                    // not a finite number
		{mk([]string{"a"}, map[string]string{"a": " 1"}), ""},                     // ParseFloat refuses
		{mk(nil, map[string]string{"a": "1"}), ""},                                // no params
		{mk([]string{"a"}), ""}, // no cells
		{mk([]string{"x", "y"}, map[string]string{"x": "0", "y": "1"}), "x"},          // the first
		{mk([]string{"x", "y"}, map[string]string{"x": "inf", "y": "+1e-3"}), "y"},    // exponents parse
		{mk([]string{"x"}, map[string]string{"x": "1_000"}, map[string]string{}), ""}, // underscores do not
	} {
		got, ok := numericParam(tc.in)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("%v: %q, %v; want %q", tc.in, got, ok, tc.want)
		}
	}
}

func TestJainClamp(t *testing.T) {
	in := sample()
	f := jainFigure(in, newTheme())
	if f == nil {
		t.Fatal("no figure")
	}
	if y := f.panels[0].p.Y; y.Min != 0 || y.Max != 1 {
		t.Errorf("y from %v to %v, want 0 to 1", y.Min, y.Max)
	}
	// Values spanning decades get a log axis.
	for i, q := range []string{"10", "100", "1000", "10000"} {
		in.Cells[i].Values["queue"] = q
	}
	if f := jainFigure(in, newTheme()); !f.panels[0].xlog {
		t.Error("queue from 10 to 10000: linear axis")
	}
}

func TestNatCompare(t *testing.T) {
	names := []string{"flow10", "r1:eth1>egress", "flow2", "flow1", "flow", "flow02", "a10", "a9b", "s10:eth1", "s2:eth1", "s2:eth0"}
	slices.SortFunc(names, natCompare)
	want := []string{"a9b", "a10", "flow", "flow1", "flow02", "flow2", "flow10", "r1:eth1>egress", "s2:eth0", "s2:eth1", "s10:eth1"}
	if !slices.Equal(names, want) {
		t.Errorf("sorted %q, want %q", names, want)
	}
}

func TestSumSeries(t *testing.T) {
	ss := []series{
		{"a", []Point{{T: 1, Value: 1}, {T: 2, Value: 2}, {T: 3, Value: 3}}},
		{"b", []Point{{T: 1.5, Value: 10}, {T: 2, Value: 20}}}, // holds 10 at 1.5..2, ends after 2
	}
	got := sumSeries(ss, 1)
	want := plotter.XYs{{X: 1, Y: 1}, {X: 1.5, Y: 11}, {X: 2, Y: 22}, {X: 3, Y: 3}}
	if !slices.Equal(got, want) {
		t.Errorf("sum %v, want %v", got, want)
	}
	if got := thin(plotter.XYs{{X: 0, Y: 0}, {X: 1, Y: 2}, {X: 2, Y: 4}, {X: 3, Y: 6}, {X: 4, Y: 8}}, 2); !slices.Equal(got, plotter.XYs{{X: 1, Y: 2}, {X: 3.5, Y: 7}}) {
		t.Errorf("thin: %v", got)
	}
}

func TestLogAxis(t *testing.T) {
	for _, tc := range []struct{ lo, hi, wlo, whi float64 }{
		{12, 40, 10, 50},
		{2, 2, 2, 5},
		{0.3, 7000, 0.2, 10000},
		{1, 10, 1, 10},
	} {
		if lo, hi := logRange(tc.lo, tc.hi); math.Abs(lo-tc.wlo) > 1e-12 || math.Abs(hi-tc.whi) > 1e-9 {
			t.Errorf("logRange(%v, %v) = %v, %v; want %v, %v", tc.lo, tc.hi, lo, hi, tc.wlo, tc.whi)
		}
	}
	labels := func(lo, hi float64) []string {
		var out []string
		for _, tk := range (logTicks{}).Ticks(lo, hi) {
			if tk.Label != "" {
				out = append(out, tk.Label)
			}
		}
		return out
	}
	if got := labels(10, 50); !slices.Equal(got, []string{"10", "20", "50"}) {
		t.Errorf("ticks 10..50: %q", got)
	}
	if got := labels(0.02, 5000); !slices.Equal(got, []string{"0.1", "1", "10", "100", "1000"}) {
		t.Errorf("ticks 0.02..5000: %q", got)
	}
	if got := labels(0.05, 0.5); !slices.Equal(got, []string{"0.05", "0.1", "0.2", "0.5"}) {
		t.Errorf("ticks 0.05..0.5: %q", got)
	}
}
