package grade

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// fuzzReport builds a report from the fuzzer's values: n%6 results whose
// fields mix the strings and numbers given.
func fuzzReport(lab, name, output, extra, status, vis string, points, maxPoints float64, seed uint64, n uint8) *Report {
	statuses := []Status{StatusPassed, StatusFailed, StatusSkipped, StatusError, Status(status)}
	visibilities := []Visibility{"", VisibilityVisible, VisibilityHidden, VisibilityAfterDueDate, VisibilityAfterPublished, Visibility(vis)}
	r := &Report{
		Lab: lab, Title: name, Version: extra, Student: output, Seed: seed,
		Variant:    map[string]string{name: extra, "port": "5313"},
		Submission: extra, Started: time.Unix(int64(seed%(1<<33)), 0).UTC(), Duration: time.Duration(seed % (1 << 40)),
		RunDigest: "sha256:" + extra, Stdout: output, StdoutVisibility: Visibility(vis),
	}
	if n%7 == 3 {
		r.Error = extra
	}
	for i := range int(n % 6) {
		res := Result{
			Number:     strings.Repeat(lab, i%2) + string(rune('1'+i)),
			Name:       name + strings.Repeat("x", i),
			Status:     statuses[(int(n)+i)%len(statuses)],
			Points:     points,
			MaxPoints:  maxPoints,
			Visibility: visibilities[(int(n)/2+i)%len(visibilities)],
			Output:     output,
			Tags:       []string{extra},
			Duration:   time.Duration(i) * time.Millisecond,
		}
		if i%2 == 1 {
			res.Points, res.MaxPoints = float64(i), float64(i+1)
			res.Context = []string{extra, output}
			res.Plot = extra + "/" + name + ".svg"
			res.BlockedBy = []string{name, lab}
		}
		r.Results = append(r.Results, res)
	}
	return r
}

func FuzzWriters(f *testing.F) {
	f.Add("01-socket", "The three-way handshake completes", "h1 sent SYN", "1", "passed", "visible", 3.0, 3.0, uint64(42), uint8(4))
	f.Add("lab <&> ]]>", "a < b && c > d ]]>", "```\n\x1b[2J\x00", "\xff\xfe", "flaky", "later", math.NaN(), math.Inf(1), uint64(math.MaxUint64), uint8(5))
	f.Add("", "", "", "", "", "", -1.0, 1e308, uint64(0), uint8(3))
	f.Add("=x", "|#*_[]`", "line\r\nline\u2028", "-1+1", "error", "hidden", 0.5, 1.0, uint64(7), uint8(17))
	f.Fuzz(func(t *testing.T, lab, name, output, extra, status, vis string, points, maxPoints float64, seed uint64, n uint8) {
		r := fuzzReport(lab, name, output, extra, status, vis, points, maxPoints, seed, n)
		earned, max := r.Score()
		if math.IsNaN(earned) || math.IsInf(earned, 0) || math.IsNaN(max) || math.IsInf(max, 0) || earned < 0 {
			t.Fatalf("Score() = %v, %v", earned, max)
		}
		if r.Problem() != "" && (earned != 0 || r.ExitCode() != 2) {
			t.Fatalf("a grade that does not stand earns %v, exits %d", earned, r.ExitCode())
		}

		g := gradescope(t, r)
		if g.Score != earned || len(g.Tests) != len(r.Results) {
			t.Fatalf("results.json: score %v for %v, %d tests for %d results", g.Score, earned, len(g.Tests), len(r.Results))
		}
		for _, test := range g.Tests {
			if test.Status != StatusPassed && test.Status != StatusFailed {
				t.Fatalf("results.json: status %q", test.Status)
			}
			if v := test.Visibility; v != VisibilityVisible && v != VisibilityHidden && v != VisibilityAfterDueDate && v != VisibilityAfterPublished {
				t.Fatalf("results.json: visibility %q", v)
			}
		}

		parseJUnit(t, r)

		var j1 bytes.Buffer
		if err := WriteJSON(&j1, r); err != nil {
			t.Fatal(err)
		}
		back, err := ReadJSON(bytes.NewReader(j1.Bytes()))
		if err != nil {
			t.Fatalf("ReadJSON: %v", err)
		}
		var j2 bytes.Buffer
		if err := WriteJSON(&j2, back); err != nil {
			t.Fatal(err)
		}
		back2, err := ReadJSON(&j2)
		if err != nil {
			t.Fatalf("ReadJSON: %v", err)
		}
		// The first write turns invalid UTF-8 into U+FFFD; after that,
		// nothing changes, NaN points included.
		if d := cmp.Diff(back, back2, cmpopts.EquateNaNs()); d != "" {
			t.Fatalf("JSON does not survive a round trip (-first +second):\n%s", d)
		}
		if (back.Problem() == "") != (r.Problem() == "") || back.ExitCode() != r.ExitCode() {
			t.Fatalf("read back, the problem is %q (exit %d), was %q (exit %d)", back.Problem(), back.ExitCode(), r.Problem(), r.ExitCode())
		}

		for _, w := range []func(*bytes.Buffer) error{
			func(b *bytes.Buffer) error { return WriteMarkdown(b, r) },
			func(b *bytes.Buffer) error { return WriteText(b, r, false) },
		} {
			var b bytes.Buffer
			if err := w(&b); err != nil {
				t.Fatal(err)
			}
			if !utf8.Valid(b.Bytes()) || bytes.ContainsAny(b.Bytes(), "\x00\x1b\r\a") {
				t.Fatalf("text for people holds control characters or invalid UTF-8: %q", b.String())
			}
		}
		if err := WriteText(&bytes.Buffer{}, r, true); err != nil {
			t.Fatal(err)
		}

		reports := []*Report{r, allPassed(), nil}
		var b bytes.Buffer
		if err := WriteBatchText(&b, reports); err != nil {
			t.Fatal(err)
		}
		b.Reset()
		if err := WriteBatchCSV(&b, reports); err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(&b).ReadAll()
		if err != nil || len(recs) != 3 {
			t.Fatalf("batch CSV: %d records, %v", len(recs), err)
		}
		b.Reset()
		if err := WriteBatchJSON(&b, reports); err != nil {
			t.Fatal(err)
		}
		if !json.Valid(b.Bytes()) {
			t.Fatalf("batch JSON is not valid: %s", b.String())
		}
	})
}
