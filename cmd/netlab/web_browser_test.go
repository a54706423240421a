package main

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// needChromium returns Debian's chromium, skipping the test where it is
// not installed (failing in CI, whose .ci/run installs it).
func needChromium(t *testing.T) string {
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

// serveWeb starts `netlab web` with args until ctx ends and returns the
// address it prints.
func serveWeb(t *testing.T, ctx context.Context, args ...string) string {
	t.Helper()
	web := exec.CommandContext(ctx, netlabBin, append([]string{"web", "--format", "json"}, args...)...)
	out, err := web.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := web.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { web.Process.Kill(); web.Wait() })
	var started struct{ URL, Token string }
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || json.Unmarshal([]byte(line), &started) != nil {
		t.Fatalf("netlab web %q said %q: %v", args, line, err)
	}
	return started.URL
}

// openPage opens url in a headless chromium.
func openPage(t *testing.T, ctx context.Context, chrome, url string) context.Context {
	t.Helper()
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chrome), chromedp.NoSandbox, chromedp.Headless, chromedp.DisableGPU,
		chromedp.WindowSize(1400, 1000), chromedp.UserDataDir(t.TempDir()))...)
	t.Cleanup(cancelAlloc)
	bctx, cancelB := chromedp.NewContext(alloc)
	t.Cleanup(cancelB)
	if err := chromedp.Do(bctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("open the page: %v", err)
	}
	return bctx
}

// pageWait polls a JavaScript condition in the page until it holds.
func pageWait(t *testing.T, ctx context.Context, what, js string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js)); err == nil && ok {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	state, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify({status: $("status").textContent, conn: $("conn").value,
		arrows: document.querySelectorAll("#ladder line.arrow").length, bars: [...document.querySelectorAll("#plot-seq path.bars")].reduce((a, p) => a + +p.dataset.count, 0),
		lines: [...document.querySelectorAll(".plot path")].map(p => p.dataset.series + ":" + p.dataset.points),
		events: current() ? current().events.length : -1, series: !!(current() && current().series),
		srtt: current() && current().series ? (current().series.rtt.SRTT || []).slice(-5) : null,
		rttEnd: current() && current().series ? current().series.rtt.End : null, end: current() ? endOf(current()) : null,
		lastSrttUs: current() ? current().events[current().events.length - 1].srtt_us : null})`))
	t.Fatalf("waited 30 s for %s (%s); the page: %s", what, js, state)
}

// TestWebInBrowser opens `netlab web` of a deployed two-host lab in
// headless chromium: the topology shows both nodes and the link; a
// transfer's ladder shows SYN, SYN+ACK, ACK in order and its plots every
// segment; a node shows its interfaces and is alive; an impairment set in
// the page's form is what the agent's `impair show` says. Once the lab is
// destroyed, `netlab web --run` replays the run. With
// NETLAB_SCREENSHOTS=DIR it leaves PNG screenshots there (the README's).
func TestWebInBrowser(t *testing.T) {
	needRoot(t)
	chrome := needChromium(t)
	topo, _ := deployLab(t, "two-hosts.yml")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	url := serveWeb(t, ctx, "-t", topo)
	if resp, err := http.Get(strings.Split(url, "?")[0]); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the page without its token: %v %v; want 401", resp, err)
	}
	bctx := openPage(t, ctx, chrome, url)
	if err := chromedp.Do(bctx,
		chromedp.WaitVisible(chromedp.CSS(`g.node[data-node="h2"]`)),
		// The stream is subscribed: what happens from now on is in it.
		chromedp.WaitReady(chromedp.CSS(`body[data-stream="ready"]`)),
	); err != nil {
		t.Fatalf("open the page: %v", err)
	}
	nodes, err1 := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll("g.node").length`))
	links, err2 := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll("line.link").length`))
	if err1 != nil || err2 != nil || nodes != 2 || links != 1 {
		t.Errorf("the topology shows %d nodes and %d links (%v %v); want 2 and 1", nodes, links, err1, err2)
	}

	netlab(t, "tcp", "serve", "h2", "--port", "5001", "-t", topo)
	// The impairment drops h1's first SYN: the ladder shows it stopped,
	// then the SYN again after the RTO, and the handshake.
	netlab(t, "impair", "set", "h1:eth1", "--direction", "egress", "--drop-match", `["syn first"]`, "-t", topo)
	netlab(t, "tcp", "send", "h1", "--to", "10.0.0.1:5001", "--bytes", "50KB", "-t", topo)
	netlab(t, "impair", "set", "h1:eth1", "--direction", "egress", "--clear", "-t", topo)
	pageWait(t, bctx, "the handshake in the ladder", `document.querySelectorAll("#ladder line.arrow").length >= 5`)
	flags, err := chromedp.Run(bctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#ladder line.arrow")].slice(0, 5).map(a => a.dataset.flags + (a.dataset.reason ? "/" + a.dataset.reason : "") + (a.classList.contains("retrans") ? "/retrans" : ""))`))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(flags, " ") != "S S/schedule S/retrans S. ." {
		state, _ := chromedp.Run(bctx, chromedp.Evaluate[string](`$("conn").value + ": " + JSON.stringify(current() && current().events.slice(0, 8).map(e => [e.t_us, e.kind, e.flags]))`))
		t.Errorf("the ladder's first arrows are %q; want S, its drop by the schedule, S again (retransmitted), S., . ; the page holds %s", flags, state)
	}
	if n, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll('#ladder .timer-label[data-timer="rto"]').length`)); err != nil || n < 1 {
		t.Errorf("%d RTO marks on the ladder (%v); want the SYN's", n, err)
	}
	// 50 KB (50 000 bytes) in 1448-byte segments: 35 of data and the SYN,
	// each a bar of the time-sequence plot; the cwnd and RTT lines drawn.
	pageWait(t, bctx, "every segment in the time-sequence plot", `[...document.querySelectorAll("#plot-seq path.bars")].reduce((a, p) => a + +p.dataset.count, 0) >= 36 && document.querySelectorAll('#plot-cwnd path[data-series="cwnd"]').length === 1 && document.querySelectorAll('#plot-rtt path[data-series="srtt"]').length === 1`)
	if err := chromedp.Do(bctx, chromedp.Click(chromedp.CSS(`g.node[data-node="h1"]`))); err != nil {
		t.Fatal(err)
	}
	pageWait(t, bctx, "h1's interfaces, and h1 alive", `document.querySelector("#ifaces tbody td:nth-child(2)")?.textContent === "10.0.0.0/31" && document.getElementById("node-state").textContent.startsWith("alive")`)

	// For the README: the ladder from its first event (the dropped SYN).
	chromedp.Run(bctx, chromedp.Evaluate[bool](`(() => { setPaused(true); $("ladder-box").scrollTop = 0; return true; })()`))
	shot(t, bctx, "web-lab.png")
	chromedp.Run(bctx, chromedp.Evaluate[bool](`(() => { setPaused(false); return true; })()`))

	// A longer transfer, picked in the page; a delay set in the page's form
	// is in the agent's `impair show`, in the links table, and in the
	// connection's RTT plot seconds later.
	// (At 20 Mbit/s with a short queue: the page follows it, it lasts, and
	// its RTT stays low until the delay.)
	netlab(t, "impair", "h1:eth1", "--rate", "20mbit", "--limit", "10", "-t", topo)
	long := exec.CommandContext(ctx, netlabBin, "tcp", "send", "h1", "--to", "10.0.0.1:5001", "--duration", "60s", "-t", topo)
	if err := long.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { long.Process.Kill(); long.Wait() }()
	h1conns := `[...$("conn").options].filter(o => o.value.startsWith("h1|"))`
	pageWait(t, bctx, "h1's second connection listed", h1conns+`.length >= 2`)
	if _, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`(() => { const s = $("conn"), o = `+h1conns+`; s.value = o[o.length - 1].value; s.dispatchEvent(new Event("change")); return true; })()`)); err != nil {
		t.Fatal(err)
	}
	srtt := `(current() && current().series && current().series.rtt.SRTT && current().series.rtt.SRTT.length ? current().series.rtt.SRTT[current().series.rtt.SRTT.length - 1].V : -1)`
	pageWait(t, bctx, "the second connection's RTT plotted, below 10 ms", srtt+` >= 0 && `+srtt+` < 10`)
	if err := chromedp.Do(bctx,
		chromedp.SetValue(chromedp.CSS(`#delay`), "40ms"),
		chromedp.Click(chromedp.CSS(`#set`)),
	); err != nil {
		t.Fatal(err)
	}
	waitForSaying(t, 20*time.Second, "the page's impairment in impair show", func() (bool, string) {
		show := netlab(t, "impair", "show", "-t", topo)
		return strings.Contains(show, "delay 40ms"), show
	})
	pageWait(t, bctx, "the delay in the RTT plot", srtt+` >= 40`)
	pageWait(t, bctx, "the delay in the links table", `[...document.querySelectorAll("#links tbody tr")].some(r => r.cells[2].textContent.includes("delay 40ms") && +r.cells[3].textContent > 0)`)
	// The ladder still numbers from the ISNs: the recorded history and the
	// stream that overlapped it are one.
	if label, err := chromedp.Run(bctx, chromedp.Evaluate[string](`[...document.querySelectorAll("#ladder text.ladder-label")].slice(-1)[0].textContent`)); err != nil || !regexp.MustCompile(`seq 1 ack|ack 1 len`).MatchString(label) {
		t.Errorf("the ladder's last label %q (%v); want its sequence numbers relative (h2 sends nothing: seq 1 or ack 1)", label, err)
	}
	shot(t, bctx, "web-delay.png")

	// The lab is gone; its run is still there to replay.
	netlab(t, "destroy", "-t", topo)
	rctx := openPage(t, ctx, chrome, serveWeb(t, ctx, "-t", topo, "--run", "latest"))
	pageWait(t, rctx, "the run's transfer replayed", `document.getElementById("status").textContent.startsWith("replay of run") && [...document.querySelectorAll("#plot-seq path.bars")].reduce((a, p) => a + +p.dataset.count, 0) >= 36`)
	flags, err = chromedp.Run(rctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#ladder line.arrow")].slice(0, 5).map(a => a.dataset.flags)`))
	if err != nil || strings.Join(flags, " ") != "S S S S. ." {
		t.Errorf("the replay's ladder starts %q (%v); want S, its drop, S, S., .", flags, err)
	}
}

// shot saves a screenshot of the page when NETLAB_SCREENSHOTS names a
// folder.
func shot(t *testing.T, ctx context.Context, name string) {
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
