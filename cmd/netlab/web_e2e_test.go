package main

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestWebServesLab: `netlab web` on a deployed lab answers only with its
// token; the page's API shows the lab, streams a transfer's handshake in
// order, and an impairment changed through it is what `impair show` says.
func TestWebServesLab(t *testing.T) {
	needRoot(t)
	topo, _ := deployLab(t, "two-hosts.yml")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, netlabBin, "web", "-t", topo, "--format", "json")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	var started struct{ URL, Token string }
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || json.Unmarshal([]byte(line), &started) != nil || started.Token == "" {
		t.Fatalf("netlab web said %q: %v", line, err)
	}
	base := strings.TrimSuffix(started.URL, "/?token="+started.Token)

	if resp, err := http.Get(base + "/api/lab"); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("without the token: %v %v; want 401", resp, err)
	}
	resp, err := http.Get(started.URL)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("the page: %v %v", resp, err)
	}
	resp.Body.Close()
	var lab struct {
		Nodes []struct{ Name string }
		Links []struct{ Name, A, B string }
	}
	resp, err = http.Get(base + "/api/lab?token=" + started.Token)
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&lab)
	resp.Body.Close()
	if len(lab.Nodes) != 2 || len(lab.Links) != 1 || lab.Links[0].A != "h1:eth1" {
		t.Fatalf("lab %+v", lab)
	}

	// The stream, then a transfer: its handshake arrives in order.
	sreq, _ := http.NewRequestWithContext(ctx, "GET", base+"/api/events?node=h1&token="+started.Token, nil)
	sresp, err := http.DefaultClient.Do(sreq)
	if err != nil {
		t.Fatal(err)
	}
	defer sresp.Body.Close()
	netlab(t, "tcp", "serve", "h2", "--port", "5001", "-t", topo)
	netlab(t, "tcp", "send", "h1", "--to", "10.0.0.1:5001", "--bytes", "100KB", "-t", topo)
	sc := bufio.NewScanner(sresp.Body)
	var seen []string
	for len(seen) < 3 && sc.Scan() {
		d, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok || !strings.HasPrefix(d, "[") {
			continue
		}
		var batch []struct { // a "trace" message: the events of 250 ms
			Event struct{ Kind, Flags string }
		}
		if err := json.Unmarshal([]byte(d), &batch); err != nil {
			t.Fatalf("a trace message: %v: %.200s", err, d)
		}
		for _, e := range batch {
			if (e.Event.Kind == "in" || e.Event.Kind == "out") && (len(seen) > 0 || e.Event.Flags == "S") && len(seen) < 3 {
				seen = append(seen, e.Event.Kind+" "+e.Event.Flags)
			}
		}
	}
	if strings.Join(seen, ", ") != "out S, in S., out ." {
		t.Errorf("the stream's handshake: %q; want out S, in S., out .", seen)
	}

	// A change made through the page is the agent's.
	body := `{"target":"` + lab.Links[0].A + `","set":{"delay":"30ms"}}`
	req, _ := http.NewRequest("POST", base+"/api/impair", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+started.Token)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("impair through the page: %v %v", resp, err)
	}
	if show := netlab(t, "impair", "show", "-t", topo); !strings.Contains(show, "delay 30ms") {
		t.Errorf("impair show after the page's change:\n%s", show)
	}
}
