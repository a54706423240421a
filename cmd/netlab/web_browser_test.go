package main

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
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

// TestWebInBrowser opens `netlab web` of a deployed two-host lab in
// headless chromium: the topology shows both nodes and the link; a
// transfer's ladder shows SYN, SYN+ACK, ACK in order; an impairment set in
// the page's form is what the agent's `impair show` says. With
// NETLAB_SCREENSHOTS=DIR it leaves PNG screenshots there (the README's).
func TestWebInBrowser(t *testing.T) {
	needRoot(t)
	chrome := needChromium(t)
	topo, _ := deployLab(t, "two-hosts.yml")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	web := exec.CommandContext(ctx, netlabBin, "web", "-t", topo, "--format", "json")
	out, err := web.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := web.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { web.Process.Kill(); web.Wait() }()
	var started struct{ URL, Token string }
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || json.Unmarshal([]byte(line), &started) != nil {
		t.Fatalf("netlab web said %q: %v", line, err)
	}
	if resp, err := http.Get(strings.Split(started.URL, "?")[0]); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the page without its token: %v %v; want 401", resp, err)
	}

	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chrome), chromedp.NoSandbox, chromedp.Headless, chromedp.DisableGPU,
		chromedp.WindowSize(1400, 1000), chromedp.UserDataDir(t.TempDir()))...)
	defer cancelAlloc()
	bctx, cancelB := chromedp.NewContext(alloc)
	defer cancelB()

	if err := chromedp.Do(bctx,
		chromedp.Navigate(started.URL),
		chromedp.WaitVisible(chromedp.CSS(`g.node[data-node="h2"]`)),
	); err != nil {
		t.Fatalf("open the page: %v", err)
	}
	nodes, err1 := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll("g.node").length`))
	links, err2 := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll("line.link").length`))
	if err1 != nil || err2 != nil || nodes != 2 || links != 1 {
		t.Errorf("the topology shows %d nodes and %d links (%v %v); want 2 and 1", nodes, links, err1, err2)
	}

	netlab(t, "tcp", "serve", "h2", "--port", "5001", "-t", topo)
	netlab(t, "tcp", "send", "h1", "--to", "10.0.0.1:5001", "--bytes", "50KB", "-t", topo)
	var flags []string
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		flags, err = chromedp.Run(bctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#ladder line.arrow")].slice(0, 3).map(a => a.dataset.flags)`))
		if err != nil {
			t.Fatal(err)
		}
		if len(flags) == 3 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if strings.Join(flags, " ") != "S S. ." {
		t.Errorf("the ladder's first arrows are %q; want S, S., . (SYN, SYN+ACK, ACK)", flags)
	}

	shot(t, bctx, "web-lab.png")
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
