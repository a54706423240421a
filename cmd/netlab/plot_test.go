package main

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netlab/netlab/trace"
)

// twoRuns writes a trace in which a seeded lab ran twice: the same 4-tuple
// and ISN, the second run's clock started again.
func twoRuns(t *testing.T) string {
	t.Helper()
	l, r := netip.MustParseAddrPort("10.0.0.0:40000"), netip.MustParseAddrPort("10.0.0.1:5001")
	const isn, peer = 1000, 9000
	ev := func(us int64, kind, flags string, seq, ack uint32, n int, state string) trace.Event {
		return trace.Event{TimeUS: us, Kind: kind, Local: l, Remote: r, Flags: flags, Seq: seq, Ack: ack, Len: n,
			Window: 65535, State: state, SndUna: isn + 1, Cwnd: 14480, Ssthresh: 1<<31 - 1, SRTTUS: 200, RTOMS: 200, CAState: "open"}
	}
	st := func(us int64, from, to string) trace.Event {
		return trace.Event{TimeUS: us, Kind: trace.KindState, Local: l, Remote: r, OldState: from, State: to}
	}
	run := []trace.Event{
		st(100, "CLOSED", "SYN-SENT"),
		ev(100, trace.KindOut, "S", isn, 0, 0, "SYN-SENT"),
		ev(300, trace.KindIn, "S.", peer, isn+1, 0, "ESTABLISHED"),
		st(300, "SYN-SENT", "ESTABLISHED"),
		ev(300, trace.KindOut, "P.", isn+1, peer+1, 1448, "ESTABLISHED"),
		ev(500, trace.KindIn, ".", peer+1, isn+1449, 0, "ESTABLISHED"),
		ev(600, trace.KindOut, "F.", isn+1449, peer+1, 0, "FIN-WAIT-1"),
		st(600, "ESTABLISHED", "FIN-WAIT-1"),
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	for _, e := range append(run, run...) {
		enc.Encode(e)
	}
	path := filepath.Join(t.TempDir(), "h1.jsonl")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func runCLI(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var o, e bytes.Buffer
	root := newRootCmd(&options{stdout: &o, stderr: &e})
	root.SetArgs(args)
	err = root.Execute()
	return o.String(), e.String(), err
}

// TestPlotAsksWhichConnection: a 4-tuple used twice is two connections;
// plot asks which, or takes the latest when told to, and says so.
func TestPlotAsksWhichConnection(t *testing.T) {
	path := twoRuns(t)
	dir := t.TempDir()
	_, stderr, err := runCLI(t, "plot", "--trace", path, "-o", filepath.Join(dir, "a.svg"))
	if err == nil || !strings.Contains(err.Error(), "occurred 2 times") || !strings.Contains(stderr, "#1 10.0.0.0:40000->10.0.0.1:5001 from 0.000s, isn 1000") {
		t.Fatalf("plot of a 4-tuple used twice = %v\n%s; want an error listing both connections", err, stderr)
	}
	for _, tc := range []struct {
		conn, stdout, stderr string
	}{
		{"@latest", "(#1, ", "plotting the latest, #1"},
		{":5001@latest", "(#1, ", "Others: #0 "},
		{"#0", "(#0, ", ""},
	} {
		out := filepath.Join(dir, "x.svg")
		os.Remove(out)
		stdout, stderr, err := runCLI(t, "plot", "--trace", path, "--conn", tc.conn, "-o", out)
		if err != nil || !strings.Contains(stdout, tc.stdout) || tc.stderr != "" && !strings.Contains(stderr, tc.stderr) || tc.stderr == "" && stderr != "" {
			t.Errorf("plot --conn %s = %v\nstdout %s\nstderr %s\nwant %q in stdout and %q in stderr", tc.conn, err, stdout, stderr, tc.stdout, tc.stderr)
		}
		if b, err := os.ReadFile(out); err != nil || !bytes.Contains(b, []byte("connection ")) || !bytes.Contains(b, []byte(" of 2 on this 4-tuple")) {
			t.Errorf("plot --conn %s: %v; want an SVG whose subtitle says which connection it is", tc.conn, err)
		}
	}
}

// TestReportPerConnection: the report has a section per connection, two
// for a 4-tuple used twice.
func TestReportPerConnection(t *testing.T) {
	path := twoRuns(t)
	dir := t.TempDir()
	stdout, _, err := runCLI(t, "report", "--trace", path, "-o", dir, "--no-plots")
	if err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(dir, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"2 connections", "## 10.0.0.0:40000 → 10.0.0.1:5001 on h1.jsonl (connection 1 of 2 on this 4-tuple, from 0.000s)",
		"(connection 2 of 2 on this 4-tuple", "1448 / 0 bytes"} {
		if !bytes.Contains(md, []byte(want)) {
			t.Errorf("report.md lacks %q:\n%s", want, md)
		}
	}
	if n := strings.Count(string(md), "1448 / 0 bytes"); n != 2 {
		t.Errorf("report.md has %d sections of 1448 bytes sent, want 2 (one per run):\n%s", n, md)
	}
	if n := strings.Count(stdout, "1448 bytes sent"); n != 2 {
		t.Errorf("report printed %d connections of 1448 bytes, want 2:\n%s", n, stdout)
	}
}
