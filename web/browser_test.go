package web

import (
	"context"
	"errors"
	"math"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/netlab/netlab/topogen"
	"github.com/netlab/netlab/topology"
	"github.com/netlab/netlab/trace"
)

// chromium returns Debian's chromium, skipping the test where it is not
// installed (failing in CI, whose .ci/run installs it).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed; .ci/run installs it")
	}
	t.Skip("chromium not installed (apt-get install chromium)")
	return ""
}

// browser opens url in a headless chromium and returns its context.
func browser(t *testing.T, url string) context.Context {
	t.Helper()
	chrome := chromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chrome), chromedp.NoSandbox, chromedp.Headless, chromedp.DisableGPU,
		chromedp.WindowSize(1400, 1200), chromedp.UserDataDir(t.TempDir()))...)
	t.Cleanup(cancelAlloc)
	bctx, cancelB := chromedp.NewContext(alloc)
	t.Cleanup(cancelB)
	// The page's uncaught errors are told with any failure that follows.
	chromedp.Listen(bctx, func(ev any) {
		if ex, ok := ev.(*cdpruntime.EventExceptionThrown); ok {
			msg := ex.ExceptionDetails.Text
			if ex.ExceptionDetails.Exception != nil {
				msg += " " + ex.ExceptionDetails.Exception.Description
			}
			t.Logf("the page threw at %d:%d: %s", ex.ExceptionDetails.LineNumber+1, ex.ExceptionDetails.ColumnNumber+1, msg)
		}
	})
	if err := chromedp.Do(bctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	return bctx
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return v
}

// waitJS polls a JavaScript condition until it holds or the deadline.
func waitJS(t *testing.T, ctx context.Context, what, js string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js)); err == nil && ok {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	v, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify({arrows: document.querySelectorAll("#ladder line.arrow").length, rows: document.querySelectorAll("#links tbody tr").length, info: document.getElementById("links-info").textContent, conns: [...conns.values()].map(c => [c.conn, c.events.length, c.loaded]), box: ladderBoxHeight, status: document.getElementById("status").textContent})`))
	t.Fatalf("waited 20 s for %s (%s); the page: %s", what, js, v)
}

// screenshot saves the page when NETLAB_SCREENSHOTS names a folder.
func screenshot(t *testing.T, ctx context.Context, name string) {
	dir := os.Getenv("NETLAB_SCREENSHOTS")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Errorf("screenshot: %v", err)
		return
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Error(err)
	}
}

// TestPageAt200Nodes: a 196-node leaf-spine fabric is readable: spines
// above leaves above hosts, each leaf's hosts under it, no two nodes on top
// of each other; names appear when zoomed in; search finds a node, goes to
// it and shows its interfaces; a node whose agent does not answer is drawn
// dead.
func TestPageAt200Nodes(t *testing.T) {
	gen, err := topogen.LeafSpine{Leaves: 8, Spines: 4, HostsPerLeaf: 23}.Generate()
	if err != nil {
		t.Fatal(err)
	}
	plan, err := topology.Parse("ls.yml", gen.YAML())
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := NewToken()
	fa := &fakeAgent{dead: map[string]bool{"h3-07": true}}
	h, err := Handler(Options{Plan: plan, Token: tok, Run: "r1",
		TraceFile: func(node string) string { return filepath.Join(t.TempDir(), node+".jsonl") },
		Agent: func(node string) (Agent, error) {
			if plan.Node(node) == nil {
				return nil, errors.New("no node " + node)
			}
			return nodeAgent{fa, node}, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close) // after the browser's cleanup, which ends its stream
	ctx := browser(t, ts.URL+"/?token="+tok)
	waitJS(t, ctx, "every node drawn", `document.querySelectorAll("g.node").length === 196`)
	type node struct {
		Name string
		X, Y float64
	}
	nodes := eval[[]node](t, ctx, `[...document.querySelectorAll("g.node")].map(g => {
		const m = g.transform.baseVal[0].matrix; return {Name: g.dataset.node, X: m.e, Y: m.f}; })`)
	at := map[string]node{}
	for _, n := range nodes {
		at[n.Name] = n
	}
	for _, a := range nodes {
		for _, b := range nodes {
			if a.Name < b.Name && math.Hypot(a.X-b.X, a.Y-b.Y) < 22 {
				t.Errorf("%s and %s overlap: (%.0f,%.0f) and (%.0f,%.0f)", a.Name, b.Name, a.X, a.Y, b.X, b.Y)
			}
		}
	}
	role := func(name string) string {
		switch {
		case strings.HasPrefix(name, "spine"):
			return "spine"
		case strings.HasPrefix(name, "leaf"):
			return "leaf"
		}
		return "host"
	}
	var maxY = map[string]float64{}
	var minY = map[string]float64{"spine": math.Inf(1), "leaf": math.Inf(1), "host": math.Inf(1)}
	for _, n := range nodes {
		r := role(n.Name)
		maxY[r], minY[r] = math.Max(maxY[r], n.Y), math.Min(minY[r], n.Y)
	}
	if !(maxY["spine"] < minY["leaf"] && maxY["leaf"] < minY["host"]) {
		t.Errorf("rows: spines y %v–%v, leaves %v–%v, hosts %v–%v; want spines above leaves above hosts",
			minY["spine"], maxY["spine"], minY["leaf"], maxY["leaf"], minY["host"], maxY["host"])
	}
	// Each leaf's hosts sit under it: nearer their own leaf than any other.
	for l := 1; l <= 8; l++ {
		leaf := at["leaf"+string(rune('0'+l))]
		var sum float64
		for j := 1; j <= 23; j++ {
			sum += at[hostName(l, j)].X
		}
		mean := sum / 23
		for k := 1; k <= 8; k++ {
			if other := at["leaf"+string(rune('0'+k))]; k != l && math.Abs(other.X-mean) < math.Abs(leaf.X-mean) {
				t.Errorf("leaf%d's hosts (mean x %.0f) sit nearer leaf%d (x %.0f) than their own (x %.0f)", l, mean, k, other.X, leaf.X)
			}
		}
	}
	if !eval[bool](t, ctx, `document.getElementById("topo").classList.contains("small")`) {
		t.Error("196 nodes fitted in the view: their names should be hidden until zoomed in")
	}
	waitJS(t, ctx, "the dead node marked", `document.querySelector('g.node[data-node="h3-07"]').classList.contains("dead") && !document.querySelector('g.node[data-node="h3-06"]').classList.contains("dead")`)
	screenshot(t, ctx, "web-200-nodes.png")

	// Search: Enter goes to the first match and shows it.
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS("#search"), "h5-12\n"),
	); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the node found and selected", `document.querySelector('g.node[data-node="h5-12"]').classList.contains("selected")`)
	if w := eval[float64](t, ctx, `document.getElementById("topo").viewBox.baseVal.width`); w > 400 {
		t.Errorf("after the search the view is %v wide; want zoomed in on the node (≤ 400)", w)
	}
	if eval[bool](t, ctx, `document.getElementById("topo").classList.contains("small")`) {
		t.Error("zoomed in on a node, names are still hidden")
	}
	cells := eval[[]string](t, ctx, `[...document.querySelectorAll("#ifaces tbody td")].map(td => td.textContent)`)
	if len(cells) != 4 || cells[0] != "eth1" || !strings.Contains(cells[1], "/") || !strings.HasPrefix(cells[3], "leaf5:") {
		t.Errorf("h5-12's interfaces %q; want eth1, its address, its link, leaf5 as peer", cells)
	}
	if got := eval[string](t, ctx, `document.getElementById("node-state").textContent`); !strings.HasPrefix(got, "alive") {
		t.Errorf("node state %q; want alive", got)
	}
	// The links table of a big lab: a bounded number of rows, the
	// selected node's among them; a filter names others.
	waitJS(t, ctx, "the links table bounded", `document.querySelectorAll("#links tbody tr").length === 40 && /^40 of 392/.test(document.getElementById("links-info").textContent)`)
	waitJS(t, ctx, "the selected node's interface listed", `[...document.querySelectorAll("#links tbody tr")].filter(r => r.dataset.iface === "h5-12:eth1").length === 2`)
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#links-filter"), "h3-01:")); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the filter", `[...document.querySelectorAll("#links tbody tr")].map(r => r.dataset.iface + " " + r.dataset.dir).join(",") === "h3-01:eth1 egress,h3-01:eth1 ingress"`)
	// The wheel zooms out around the pointer.
	before := eval[float64](t, ctx, `document.getElementById("topo").viewBox.baseVal.width`)
	eval[bool](t, ctx, `(() => { const s = document.getElementById("topo"), r = s.getBoundingClientRect();
		for (let i = 0; i < 3; i++) s.dispatchEvent(new WheelEvent("wheel", {deltaY: 100, clientX: r.left + r.width / 2, clientY: r.top + r.height / 2, bubbles: true, cancelable: true}));
		return true; })()`)
	if after := eval[float64](t, ctx, `document.getElementById("topo").viewBox.baseVal.width`); math.Abs(after/before-1.2*1.2*1.2) > 0.01 {
		t.Errorf("three wheel steps out took the view from %v to %v wide; want ×1.728", before, after)
	}
}

func hostName(l, j int) string {
	return "h" + string(rune('0'+l)) + "-" + string(rune('0'+j/10)) + string(rune('0'+j%10))
}

// TestPageConnection: the page shows a connection of the trace as a
// ladder and as the plots `netlab plot` draws; paused and scrubbed back it
// shows the connection as it was then, and replay plays it again.
func TestPageConnection(t *testing.T) {
	ts, fa, tok, dir := testServerIn(t, 0, 3, true)
	// The connection opens (a state event the stream sends, maybe after
	// the page read the recorded trace, which has it too).
	evs := transfer()
	open := trace.Event{TimeUS: evs[0].TimeUS, Kind: trace.KindState, Local: evs[0].Local, Remote: evs[0].Remote, State: "SYN-SENT", OldState: "CLOSED"}
	fa.mu.Lock()
	fa.stream = []trace.Event{open}
	fa.mu.Unlock()
	writeTrace(t, filepath.Join(dir, "h1.jsonl"), append([]trace.Event{open}, evs...), "")
	ctx := browser(t, ts.URL+"/?token="+tok)
	// The stream's SYN picks the connection; its recorded events replace
	// the stream's.
	waitJS(t, ctx, "the recorded connection in the ladder", `document.querySelectorAll("#ladder line.arrow").length === 9`)
	flags := eval[[]string](t, ctx, `[...document.querySelectorAll("#ladder line.arrow")].map(a => a.dataset.flags + (a.dataset.reason ? "/" + a.dataset.reason : ""))`)
	if strings.Join(flags, " ") != "S S. . P. P. P./loss . P. ." {
		t.Errorf("ladder %q; want the drop (by loss) of the second data segment after it", flags)
	}
	if label := eval[string](t, ctx, `document.querySelector("#ladder text.drop").textContent`); !strings.Contains(label, "dropped (loss) on eth1 egress") || !strings.Contains(label, "seq 1001") {
		t.Errorf("the drop's label %q", label)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll("#ladder line.arrow.retrans").length`); n != 1 {
		t.Errorf("%d retransmissions in red; want 1", n)
	}
	if tm := eval[[]string](t, ctx, `[...document.querySelectorAll("#ladder .timer-label")].map(e => e.dataset.timer)`); len(tm) != 1 || tm[0] != "rto" {
		t.Errorf("timer marks %q; want the RTO", tm)
	}
	waitJS(t, ctx, "the plots", `[...document.querySelectorAll("#plot-seq path.bars")].reduce((a, p) => a + +p.dataset.count, 0) === 4`)
	if n := eval[int](t, ctx, `+document.querySelector('#plot-seq path.bars[data-series="segments retransmitted"]').dataset.count`); n != 1 {
		t.Errorf("%d retransmissions in the time-sequence plot; want 1", n)
	}
	for _, sel := range []string{`#plot-cwnd path[data-series="cwnd"]`, `#plot-rtt path[data-series="srtt"]`, `#plot-rtt path[data-series="rto"]`, `#plot-seq path[data-series="ACK"]`} {
		if n := eval[int](t, ctx, `document.querySelectorAll('`+sel+`').length`); n != 1 {
			t.Errorf("%s: %d; want the line", sel, n)
		}
	}
	if n := eval[int](t, ctx, `+document.querySelector('#plot-rtt path.dots[data-series="rto fired"]').dataset.count`); n != 1 {
		t.Errorf("%d RTO firings on the RTT plot; want 1", n)
	}
	screenshot(t, ctx, "web-connection.png")

	// Scrub back to 5 ms: the SYN alone; the plots stop there too.
	eval[bool](t, ctx, `(() => { const s = document.getElementById("scrub"); s.value = "0.005"; s.dispatchEvent(new Event("input")); return true; })()`)
	waitJS(t, ctx, "the ladder at 5 ms", `document.querySelectorAll("#ladder line.arrow").length === 1`)
	if st := eval[string](t, ctx, `document.getElementById("status").textContent`); !strings.HasPrefix(st, "paused at 0.005") {
		t.Errorf("status %q; want paused at 0.005 s", st)
	}
	if n := eval[int](t, ctx, `[...document.querySelectorAll("#plot-seq path.bars")].reduce((a, p) => a + +p.dataset.count, 0)`); n != 1 {
		t.Errorf("%d segments plotted at 5 ms; want the SYN alone", n)
	}
	// Replay at 10×: from the start to the end.
	if err := chromedp.Do(ctx, chromedp.SetValue(chromedp.CSS("#speed"), "10"), chromedp.Click(chromedp.CSS("#replay"))); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the replay under way", `document.getElementById("status").textContent === "replaying"`)
	waitJS(t, ctx, "the replay at its end", `document.getElementById("status").textContent.startsWith("paused") && document.querySelectorAll("#ladder line.arrow").length === 9`)
	// Live again.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#pause"))); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "live again", `document.getElementById("status").textContent === "live"`)
}

// TestPageReplaysRun: without agents the page replays a run: the first
// connection with data is shown, and nothing live is offered.
func TestPageReplaysRun(t *testing.T) {
	ts, _, tok, dir := testServerIn(t, 0, 0, false)
	writeTrace(t, filepath.Join(dir, "h1.jsonl"), transfer(), "")
	ctx := browser(t, ts.URL+"/?token="+tok)
	waitJS(t, ctx, "the run's connection", `document.querySelectorAll("#ladder line.arrow").length === 9 && [...document.querySelectorAll("#plot-seq path.bars")].reduce((a, p) => a + +p.dataset.count, 0) === 4`)
	if st := eval[string](t, ctx, `document.getElementById("status").textContent`); !strings.HasPrefix(st, "replay of run r1") {
		t.Errorf("status %q", st)
	}
	if vis := eval[bool](t, ctx, `getComputedStyle(document.querySelector(".live-only")).display !== "none"`); vis {
		t.Error("the link controls are shown in the replay of a run that is over")
	}
}
