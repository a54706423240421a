package grade

import (
	"time"
)

// The reports every writer is tested on, by name (the golden files'
// prefix).

// base returns a report of the socket lab with no results yet.
func base() *Report {
	return &Report{
		Lab: "01-socket", Title: "The socket's life", Version: "1",
		Student: "alice", Seed: 6134470982261731419,
		Variant:    map[string]string{"port": "5313", "delay": "7ms"},
		Submission: "/autograder/submission/calls.sock",
		Started:    time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC),
		Duration:   4200 * time.Millisecond,
		RunDigest:  "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		Stdout:     "h1: connect 10.0.0.2:5313\nh2: accept\n",
	}
}

// handshake is the first check, passed.
func handshake() Result {
	return Result{
		Number: "1", Name: "The three-way handshake completes", Status: StatusPassed,
		Points: 3, MaxPoints: 3,
		Output:   "h1 sent SYN, h2 answered SYN+ACK, h1 acknowledged it, on port 5313.",
		Tags:     []string{"handshake"},
		Duration: 120 * time.Millisecond,
	}
}

func allPassed() *Report {
	r := base()
	r.Results = []Result{
		handshake(),
		{Number: "2", Name: "The handshake agrees on the options", Status: StatusPassed, Points: 1, MaxPoints: 1,
			Output: "MSS, SACK permitted and window scale were agreed.", Duration: 10 * time.Millisecond},
		{Number: "3", Name: "The message arrives", Status: StatusPassed, Points: 2, MaxPoints: 2,
			Output: "h2 read `hello from alice`.", Duration: 30 * time.Millisecond},
	}
	return r
}

func someFailed() *Report {
	r := base()
	r.Results = []Result{
		handshake(),
		{Number: "2", Name: "The handshake agrees on the options", Status: StatusFailed, Points: 0.5, MaxPoints: 1,
			Output:   "The SYN carried no window scale option.\n\n| | expected | actual |\n|---|---|---|\n| wscale | 7 | — |",
			Context:  []string{"0.000 h1 > h2: S 0:0(0) win 65535 <mss 1460,sackOK>", "0.007 h2 > h1: S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,wscale 7>"},
			Plot:     "/tmp/run-42/plots/check-2.svg",
			Tags:     []string{"options", "handshake"},
			Duration: 15 * time.Millisecond},
		{Number: "3", Name: "The message arrives", Status: StatusPassed, Points: 2, MaxPoints: 2,
			Output: "h2 read `hello from alice`.", Duration: 30 * time.Millisecond},
		{Number: "4", Name: "The client closes first and waits in TIME-WAIT", Status: StatusFailed, MaxPoints: 2,
			Output:   "The side that closes first (h1) keeps the connection in TIME-WAIT; close h1's socket before h2's.",
			Context:  []string{"1.204 h2 > h1: F. 101:101(0) ack 1 win 512", "1.211 h1 > h2: . 1:1(0) ack 102 win 512"},
			Plot:     "plots/check 4 (time-wait).svg",
			Duration: 2 * time.Second},
	}
	return r
}

func skipped() *Report {
	r := base()
	first := handshake()
	first.Status, first.Points = StatusFailed, 0
	first.Output = "No connection from h1 reached port 5313 of h2 (10.0.0.2). Does h2 bind and listen on 5313 before h1 connects?"
	r.Results = []Result{
		first,
		{Number: "2", Name: "The handshake agrees on the options", Status: StatusSkipped, MaxPoints: 1,
			BlockedBy: []string{first.Name}},
		{Number: "3", Name: "The message arrives", Status: StatusSkipped, MaxPoints: 2,
			BlockedBy: []string{first.Name, "The server listens"}},
	}
	return r
}

func hidden() *Report {
	r := base()
	r.Results = []Result{
		handshake(),
		{Number: "2", Name: "No segment is larger than the MSS", Status: StatusFailed, MaxPoints: 1,
			Visibility: VisibilityHidden, Output: "A 1500-byte segment went past an MSS of 1460."},
		{Number: "3", Name: "The receive window is respected", Status: StatusPassed, Points: 2, MaxPoints: 2,
			Visibility: VisibilityAfterDueDate, Output: "No segment went past the window."},
		{Number: "4", Name: "The sender slows down on loss", Status: StatusSkipped, MaxPoints: 2,
			BlockedBy: []string{"No segment is larger than the MSS"}},
		{Number: "5", Name: "Secret by mistake", Status: StatusPassed, MaxPoints: 0,
			Visibility: "later", Output: "an unknown visibility counts as hidden"},
	}
	return r
}

func infraError() *Report {
	r := base()
	r.Error = "deploy: node h2: create veth: file exists"
	r.Results = []Result{
		{Number: "1", Name: "The three-way handshake completes", Status: StatusError, MaxPoints: 3,
			Output: "the lab did not deploy"},
		{Number: "2", Name: "The handshake agrees on the options", Status: StatusError, MaxPoints: 1,
			Output: "the lab did not deploy"},
	}
	r.Stdout = ""
	return r
}

func checkError() *Report {
	r := base()
	r.Results = []Result{
		handshake(),
		{Number: "2", Name: "The message arrives", Status: StatusError, MaxPoints: 2,
			Output: "step send timed out after 5s\nthe agent of h2 did not answer", Duration: 5 * time.Second},
		{Number: "3", Name: "A check not shown yet", Status: StatusError, MaxPoints: 1,
			Visibility: VisibilityAfterPublished, Output: "step calls timed out"},
	}
	return r
}

func specialChars() *Report {
	r := base()
	r.Lab = "lab <&> ]]>"
	r.Title = "Tricky *names* & <tags> | pipes"
	r.Student = "=cmd|' /C calc'!A0"
	r.Variant = map[string]string{"key <&>": "value \"q\" ]]>"}
	r.Stdout = "printed ]]> and <b>bold</b> & \x1b[31mred\x1b[0m\x00"
	r.Results = []Result{
		{Number: "1", Name: "a < b && c > d ]]> \"quoted\" 'single'", Status: StatusPassed, Points: 1, MaxPoints: 1,
			Output: "<script>alert(1)</script> & ]]>"},
		{Number: "2", Name: "`code` | pipe # hash *star* _under_ [link](x)", Status: StatusFailed, MaxPoints: 1,
			Output:  "expected ```` four backticks ````\nactual: \x1b[2J cleared",
			Context: []string{"```", "line with ]]> and <tag> & \xff invalid utf-8"},
			Plot:    "dir/plot with spaces & (parens).svg"},
		{Number: "3", Name: "line\nbreak\ttab\x07bell", Status: StatusSkipped, MaxPoints: 1,
			BlockedBy: []string{"`code` | pipe # hash *star* _under_ [link](x)"}},
		{Number: "4", Name: "bad status", Status: "flaky", Points: 1, MaxPoints: 1, Output: "not one of the four"},
		{Number: "5", Name: "too many points", Status: StatusPassed, Points: 3, MaxPoints: 1},
	}
	return r
}

// goldenCase is a report with a name.
type goldenCase struct {
	name   string
	report func() *Report
}

// cases returns the golden cases, by name.
func cases() []goldenCase {
	return []goldenCase{
		{"all-passed", allPassed},
		{"some-failed", someFailed},
		{"skipped", skipped},
		{"hidden", hidden},
		{"infra-error", infraError},
		{"check-error", checkError},
		{"special-chars", specialChars},
		{"empty", func() *Report { r := base(); r.Stdout = ""; return r }},
	}
}
