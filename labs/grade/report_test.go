package grade

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestScoreExitProblem(t *testing.T) {
	tests := []struct {
		name        string
		report      *Report
		earned, max float64
		exit        int
		problem     string // a part of Problem, "" for none
	}{
		{"all passed", allPassed(), 6, 6, 0, ""},
		{"partial credit", someFailed(), 5.5, 8, 1, ""},
		{"skipped earns nothing", skipped(), 0, 6, 1, ""},
		{"hidden checks count", hidden(), 5, 8, 1, ""},
		{"infrastructure error withholds", infraError(), 0, 4, 2, "create veth"},
		{"a check not run withholds", checkError(), 0, 6, 2, `check 2 "The message arrives" could not be run: step send timed out`},
		{"malformed results are errors", specialChars(), 0, 5, 2, `unknown status "flaky"`},
		{"no check at all", base(), 0, 0, 2, "no check was run"},
		{"NaN points", &Report{Results: []Result{{Number: "1", Status: StatusPassed, Points: math.NaN(), MaxPoints: 1}}}, 0, 1, 2, "points NaN"},
		{"infinite max", &Report{Results: []Result{{Number: "1", Status: StatusPassed, Points: 1, MaxPoints: math.Inf(1)}}}, 0, 0, 2, "max points +Inf"},
		{"negative points", &Report{Results: []Result{{Number: "1", Status: StatusFailed, Points: -1, MaxPoints: 1}}}, 0, 1, 2, "points -1 out of 1"},
		{"points of a skipped check do not count", &Report{Results: []Result{{Number: "1", Status: StatusSkipped, Points: 1, MaxPoints: 1}}}, 0, 1, 1, ""},
		{"points of an errored check do not count", &Report{Results: []Result{
			{Number: "1", Status: StatusPassed, Points: 1, MaxPoints: 1},
			{Number: "2", Status: StatusError, Points: 1, MaxPoints: 1}}}, 0, 2, 2, "check 2 could not be run"},
		{"error text without checks", &Report{Error: "timeout"}, 0, 0, 2, "the lab could not be graded: timeout"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			earned, max := tc.report.Score()
			if earned != tc.earned || max != tc.max {
				t.Errorf("Score() = %v, %v, want %v, %v", earned, max, tc.earned, tc.max)
			}
			if got := tc.report.ExitCode(); got != tc.exit {
				t.Errorf("ExitCode() = %d, want %d", got, tc.exit)
			}
			p := tc.report.Problem()
			if (tc.problem == "") != (p == "") || !strings.Contains(p, tc.problem) {
				t.Errorf("Problem() = %q, want it to hold %q", p, tc.problem)
			}
		})
	}
}

// gradescope decodes WriteGradescope's output of r.
func gradescope(t *testing.T, r *Report) gsResults {
	t.Helper()
	var b bytes.Buffer
	if err := WriteGradescope(&b, r); err != nil {
		t.Fatal(err)
	}
	var g gsResults
	dec := json.NewDecoder(&b)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&g); err != nil {
		t.Fatalf("results.json does not decode: %v", err)
	}
	return g
}

func TestGradescopeFields(t *testing.T) {
	for _, tc := range cases() {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.report()
			g := gradescope(t, r)
			earned, _ := r.Score()
			if g.Score != earned {
				t.Errorf("score = %v, want %v", g.Score, earned)
			}
			if r.Problem() == "" {
				var sum float64
				for _, test := range g.Tests {
					sum += test.Score
				}
				if sum != g.Score {
					t.Errorf("tests add up to %v, score is %v", sum, g.Score)
				}
			} else if g.Score != 0 || !strings.Contains(g.Output, "No score was given") {
				t.Errorf("a grade that does not stand: score %v, output %q; want 0 and why", g.Score, g.Output)
			}
			if g.OutputFormat != "md" || g.StdoutVisibility != VisibilityHidden || g.ExecutionTime != 4.2 {
				t.Errorf("output_format %q, stdout_visibility %q, execution_time %v", g.OutputFormat, g.StdoutVisibility, g.ExecutionTime)
			}
			if g.ExtraData.Seed != "6134470982261731419" || g.ExtraData.Student != r.Student ||
				g.ExtraData.RunDigest != r.RunDigest || !cmp.Equal(g.ExtraData.Variant, r.Variant) {
				t.Errorf("extra_data = %+v", g.ExtraData)
			}
			if len(g.Tests) != len(r.Results) {
				t.Fatalf("%d tests, want %d", len(g.Tests), len(r.Results))
			}
			for i, test := range g.Tests {
				res := r.Results[i]
				st, _ := res.status()
				want := StatusFailed
				if st == StatusPassed {
					want = StatusPassed
				}
				if test.Status != want {
					t.Errorf("test %s: status %q, want %q", res.Number, test.Status, want)
				}
				if test.Number != res.Number || test.Name != res.Name || test.OutputFormat != "md" ||
					test.Visibility != res.Visibility.norm() || test.MaxScore != finite(res.MaxPoints) {
					t.Errorf("test %s = %+v", res.Number, test)
				}
				if (st == StatusSkipped || st == StatusError) && test.Score != 0 {
					t.Errorf("test %s (%s) scores %v, want 0", res.Number, st, test.Score)
				}
				if st == StatusSkipped && !strings.Contains(test.Output, "Not run: it requires") {
					t.Errorf("skipped test %s: output %q does not say what it required", res.Number, test.Output)
				}
				if st == StatusError && !strings.Contains(test.Output, "Not graded") && !strings.Contains(test.Output, "Could not be run") {
					t.Errorf("errored test %s: output %q does not say it could not be run", res.Number, test.Output)
				}
			}
		})
	}
}

func TestGradescopeStdoutVisibility(t *testing.T) {
	r := allPassed()
	r.StdoutVisibility = VisibilityAfterDueDate
	if g := gradescope(t, r); g.StdoutVisibility != VisibilityAfterDueDate {
		t.Errorf("stdout_visibility = %q, want after_due_date", g.StdoutVisibility)
	}
}

// junitParsed is JUnit XML as a reader sees it, parsed apart from the
// writer's types.
type junitParsed struct {
	Tests    int `xml:"tests,attr"`
	Failures int `xml:"failures,attr"`
	Errors   int `xml:"errors,attr"`
	Skipped  int `xml:"skipped,attr"`
	Suites   []struct {
		Name       string `xml:"name,attr"`
		Tests      int    `xml:"tests,attr"`
		Failures   int    `xml:"failures,attr"`
		Errors     int    `xml:"errors,attr"`
		Skipped    int    `xml:"skipped,attr"`
		Time       string `xml:"time,attr"`
		Properties []struct {
			Name  string `xml:"name,attr"`
			Value string `xml:"value,attr"`
		} `xml:"properties>property"`
		Cases []struct {
			Name       string `xml:"name,attr"`
			Classname  string `xml:"classname,attr"`
			Time       string `xml:"time,attr"`
			Properties []struct {
				Name  string `xml:"name,attr"`
				Value string `xml:"value,attr"`
			} `xml:"properties>property"`
			Failure []junitParsedProblem `xml:"failure"`
			Error   []junitParsedProblem `xml:"error"`
			Skipped []junitParsedProblem `xml:"skipped"`
			Out     []string             `xml:"system-out"`
		} `xml:"testcase"`
		Out string `xml:"system-out"`
	} `xml:"testsuite"`
}

type junitParsedProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// parseJUnit writes r as JUnit XML and parses it back, checking the
// counts against the testcases.
func parseJUnit(t *testing.T, r *Report) junitParsed {
	t.Helper()
	var b bytes.Buffer
	if err := WriteJUnit(&b, r); err != nil {
		t.Fatal(err)
	}
	var j junitParsed
	if err := xmlUnmarshalStrict(b.Bytes(), &j); err != nil {
		t.Fatalf("JUnit XML does not parse: %v\n%s", err, b.String())
	}
	if len(j.Suites) != 1 {
		t.Fatalf("%d testsuites, want 1", len(j.Suites))
	}
	s := j.Suites[0]
	var failures, errors, skipped int
	for _, c := range s.Cases {
		n := len(c.Failure) + len(c.Error) + len(c.Skipped)
		if n > 1 {
			t.Errorf("testcase %q has %d of failure, error, skipped; want at most 1", c.Name, n)
		}
		failures += len(c.Failure)
		errors += len(c.Error)
		skipped += len(c.Skipped)
		if c.Classname == "" || c.Time == "" {
			t.Errorf("testcase %q: classname %q, time %q", c.Name, c.Classname, c.Time)
		}
	}
	if s.Tests != len(s.Cases) || s.Failures != failures || s.Errors != errors || s.Skipped != skipped {
		t.Errorf("testsuite says tests=%d failures=%d errors=%d skipped=%d; its testcases: %d %d %d %d",
			s.Tests, s.Failures, s.Errors, s.Skipped, len(s.Cases), failures, errors, skipped)
	}
	if j.Tests != s.Tests || j.Failures != s.Failures || j.Errors != s.Errors || j.Skipped != s.Skipped {
		t.Errorf("testsuites and testsuite disagree: %+v", j)
	}
	return j
}

func TestJUnitParsesBack(t *testing.T) {
	for _, tc := range cases() {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.report()
			s := parseJUnit(t, r).Suites[0]
			props := map[string]string{}
			for _, p := range s.Properties {
				props[p.Name] = p.Value
			}
			earned, max := r.Score()
			for k, want := range map[string]string{
				"lab": r.Lab, "version": r.Version, "seed": "6134470982261731419", "student": r.Student,
				"score": fmtPoints(earned), "max_score": fmtPoints(max),
			} {
				if props[k] != want {
					t.Errorf("property %s = %q, want %q", k, props[k], want)
				}
			}
			cs := s.Cases
			if r.Error != "" || len(r.Results) == 0 {
				if len(cs) == 0 || cs[0].Name != "grading" || len(cs[0].Error) != 1 {
					t.Fatalf("an ungraded report's first testcase is not the grading error: %+v", cs)
				}
				cs = cs[1:]
			}
			if len(cs) != len(r.Results) {
				t.Fatalf("%d testcases, want %d", len(cs), len(r.Results))
			}
			for i, c := range cs {
				res := r.Results[i]
				if want := strings.ToValidUTF8(res.Name, "\uFFFD"); c.Name != want && !strings.ContainsAny(res.Name, "\a") {
					t.Errorf("testcase name %q, want %q", c.Name, want)
				}
				points := ""
				for _, p := range c.Properties {
					if p.Name == "points" {
						points = p.Value
					}
				}
				if points != fmtPoints(res.earned()) {
					t.Errorf("testcase %q: points %q, want %q", c.Name, points, fmtPoints(res.earned()))
				}
				st, _ := res.status()
				got := map[Status]int{StatusFailed: len(c.Failure), StatusError: len(c.Error), StatusSkipped: len(c.Skipped)}
				for _, s := range []Status{StatusFailed, StatusError, StatusSkipped} {
					if want := map[bool]int{true: 1}[st == s]; got[s] != want {
						t.Errorf("testcase %q (%s): %d %s elements, want %d", c.Name, st, got[s], s, want)
					}
				}
			}
		})
	}
}

func TestJUnitKeepsText(t *testing.T) {
	r := specialChars()
	s := parseJUnit(t, r).Suites[0]
	failed := s.Cases[1]
	if len(failed.Failure) != 1 {
		t.Fatalf("check 2 has no failure: %+v", failed)
	}
	// Newlines stay newlines; what XML cannot hold (ESC, NUL, invalid
	// UTF-8) becomes U+FFFD; <, & and ]]> come back as they were.
	for _, want := range []string{"actual: \uFFFD[2J cleared", "line with ]]> and <tag> & \uFFFD invalid utf-8\n", "plot: dir/plot with spaces & (parens).svg"} {
		if !strings.Contains(failed.Failure[0].Text, want) {
			t.Errorf("failure text %q lacks %q", failed.Failure[0].Text, want)
		}
	}
	if want := "printed ]]> and <b>bold</b> & \uFFFD[31mred\uFFFD[0m\uFFFD"; s.Out != want {
		t.Errorf("suite system-out = %q, want %q", s.Out, want)
	}
	if s.Name != r.Lab {
		t.Errorf("suite name = %q, want %q", s.Name, r.Lab)
	}
}

func TestJSONRoundTrip(t *testing.T) {
	for _, tc := range cases() {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.report()
			var b bytes.Buffer
			if err := WriteJSON(&b, r); err != nil {
				t.Fatal(err)
			}
			back, err := ReadJSON(&b)
			if err != nil {
				t.Fatal(err)
			}
			// Invalid UTF-8 comes back as U+FFFD, as JSON allows nothing else.
			want := tc.report()
			for i := range want.Results {
				for j, l := range want.Results[i].Context {
					want.Results[i].Context[j] = strings.ToValidUTF8(l, "\uFFFD")
				}
			}
			if d := cmp.Diff(want, back); d != "" {
				t.Errorf("ReadJSON(WriteJSON(r)) differs (-want +got):\n%s", d)
			}
		})
	}
}

func TestMarkdownForTheStudent(t *testing.T) {
	var b bytes.Buffer
	if err := WriteMarkdown(&b, hidden()); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, secret := range []string{"No segment is larger than the MSS", "The receive window is respected",
		"Secret by mistake", "1500-byte", "5313", "7ms", "Score:"} {
		if strings.Contains(md, secret) {
			t.Errorf("feedback shows %q:\n%s", secret, md)
		}
	}
	b.Reset()
	if err := WriteMarkdown(&b, someFailed()); err != nil {
		t.Fatal(err)
	}
	if md := b.String(); strings.Contains(md, "/tmp/") || strings.Contains(md, "plots/") {
		t.Errorf("feedback links a plot by more than its base name:\n%s", md)
	}
	b.Reset()
	if err := WriteMarkdown(&b, specialChars()); err != nil {
		t.Fatal(err)
	}
	// The context holds a ``` line: the block's fence must be longer.
	if !strings.Contains(b.String(), "````\n```\nline with") {
		t.Errorf("a code block can be closed by its content:\n%s", b.String())
	}
	if strings.ContainsAny(b.String(), "\x1b\x00\a") {
		t.Errorf("feedback holds control characters:\n%q", b.String())
	}
}

func TestTextHasNoControlCharacters(t *testing.T) {
	for _, color := range []bool{false, true} {
		var b bytes.Buffer
		if err := WriteText(&b, specialChars(), color); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		if color {
			out = strings.NewReplacer(ansiReset, "", ansiBold, "", ansiRed, "", ansiGreen, "", ansiYellow, "", ansiPurple, "").Replace(out)
		}
		if strings.ContainsAny(out, "\x1b\x00\a") {
			t.Errorf("color %v: summary holds control characters:\n%q", color, out)
		}
	}
}

func TestBatchCSV(t *testing.T) {
	var b bytes.Buffer
	reports := []*Report{allPassed(), specialChars(), infraError()}
	if err := WriteBatchCSV(&b, reports); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatalf("batch CSV does not parse: %v", err)
	}
	if len(recs) != 4 {
		t.Fatalf("%d records, want a header and 3", len(recs))
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	for i, want := range []struct{ student, score, check2 string }{
		{"alice", "6", "1"},
		{"'=cmd|' /C calc'!A0", "", "0"},
		{"alice", "", ""},
	} {
		rec := recs[i+1]
		if rec[col["student"]] != want.student || rec[col["score"]] != want.score || rec[col["check 2"]] != want.check2 {
			t.Errorf("row %d: student %q score %q check 2 %q, want %+v", i+1, rec[col["student"]], rec[col["score"]], rec[col["check 2"]], want)
		}
	}
}

// xmlUnmarshalStrict decodes one XML document into v and fails on anything
// but white space after its root; Go's decoder also refuses characters
// XML 1.0 cannot hold.
func xmlUnmarshalStrict(b []byte, v any) error {
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = true
	if err := d.Decode(v); err != nil {
		return err
	}
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if cd, ok := tok.(xml.CharData); ok && len(bytes.TrimSpace(cd)) == 0 {
			continue
		}
		return fmt.Errorf("after the root element: %T %v", tok, tok)
	}
}
