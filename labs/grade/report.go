// Package grade holds the grade of one submission to a lab (Report, one
// Result per check) and writes it out: a terminal summary (WriteText), the
// report as JSON (WriteJSON, read back by ReadJSON), Gradescope's
// results.json (WriteGradescope), JUnit XML (WriteJUnit), Markdown feedback
// for the student (WriteMarkdown), and summaries of many reports
// (WriteBatchText, WriteBatchCSV, WriteBatchJSON).
//
// # Rules every writer keeps
//
// A grade stands only when every check was run and the report carries no
// error (Problem returns ""). An infrastructure failure (the lab did not
// deploy, a step timed out) never gains or silently loses points: the
// report's score is withheld (Score gives 0 earned, Gradescope's score is
// 0) and every output says why, in words the student can read.
//
// A check is passed, failed, skipped (a check it requires did not pass; it
// is not failed twice) or error (it could not be run). A Result that is not
// well formed (an unknown status, points out of range or not finite) is
// counted as an error and named by Problem, never as points.
//
// Visibility follows Gradescope: visible (the default), hidden,
// after_due_date, after_published; an unknown visibility counts as hidden,
// so nothing is shown that was not meant to be. Outputs for the student
// (WriteMarkdown, Gradescope's top-level output) name no check the student
// may not see yet; outputs for the teacher (WriteText, WriteJSON,
// WriteJUnit, the batch summaries) show everything.
package grade

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Status is the outcome of one check.
type Status string

// The outcomes of a check.
const (
	// StatusPassed: the check ran and passed.
	StatusPassed Status = "passed"
	// StatusFailed: the check ran and failed: the submission's doing.
	StatusFailed Status = "failed"
	// StatusSkipped: the check was not run because a check it requires did
	// not pass (Result.BlockedBy names them).
	StatusSkipped Status = "skipped"
	// StatusError: the check could not be run (infrastructure: a step timed
	// out, the lab broke); Result.Output says why.
	StatusError Status = "error"
)

// valid reports whether s is one of the four statuses.
func (s Status) valid() bool {
	switch s {
	case StatusPassed, StatusFailed, StatusSkipped, StatusError:
		return true
	}
	return false
}

// Visibility says when a student sees a check, in Gradescope's words.
type Visibility string

// The visibilities of a check; "" means VisibilityVisible.
const (
	VisibilityVisible        Visibility = "visible"
	VisibilityHidden         Visibility = "hidden"
	VisibilityAfterDueDate   Visibility = "after_due_date"
	VisibilityAfterPublished Visibility = "after_published"
)

// norm returns v as written out: "" is visible, an unknown value hidden.
func (v Visibility) norm() Visibility {
	switch v {
	case "":
		return VisibilityVisible
	case VisibilityVisible, VisibilityHidden, VisibilityAfterDueDate, VisibilityAfterPublished:
		return v
	}
	return VisibilityHidden
}

// Result is one check's result.
type Result struct {
	// Number is the check's place in the lab: "1", "2.1".
	Number string
	// Name is the check's name, as the lab names it.
	Name string
	// Status is the check's outcome.
	Status Status
	// Points are the points earned; only a passed or failed check earns
	// any (partial credit is a failed check with points).
	Points float64
	// MaxPoints are the points the check is worth.
	MaxPoints float64
	// Visibility says when the student sees the check.
	Visibility Visibility
	// Output is what the student reads, in Markdown: the pass or fail
	// text, expected against actual; for an error, what could not be done.
	Output string
	// BlockedBy names, for a skipped check, the checks it requires that
	// did not pass.
	BlockedBy []string
	// Context holds the last events before a failure, one packetdrill-like
	// line each.
	Context []string
	// Plot is the path of a plot (SVG) marking the offending segment, ""
	// for none. Writers for the student link it by its base name.
	Plot string
	// Tags label the check (Gradescope's tags).
	Tags []string
	// Duration is how long the check took.
	Duration time.Duration
}

// Report is the grade of one submission.
type Report struct {
	// Lab is the lab's name ("01-socket"), Title its title, Version its
	// version.
	Lab, Title, Version string
	// Student is the id the variant was drawn for ("" for none).
	Student string
	// Seed is the variant's seed.
	Seed uint64
	// Variant holds the variant's parameters as drawn. It may hold what
	// the student is asked to find: writers for the student never show it.
	Variant map[string]string
	// Submission is what was graded (a path).
	Submission string
	// Started is when grading began; Duration how long it took.
	Started  time.Time
	Duration time.Duration
	// Results are the checks' results, in the lab's order.
	Results []Result
	// Error, if not empty, says why the grade could not be given
	// (infrastructure: the lab did not deploy, a step timed out): no score.
	Error string
	// RunDigest is the sha256 of the run's evidence, for re-grading checks.
	RunDigest string
	// Stdout is what the scenario printed. It goes to JUnit's system-out
	// and the JSON report; Gradescope records the grader's own standard
	// output instead, shown as StdoutVisibility says.
	Stdout string
	// StdoutVisibility is Gradescope's stdout_visibility; "" is hidden,
	// since the terminal summary printed there names hidden checks.
	StdoutVisibility Visibility
}

// Score returns the points earned and the points the lab is worth. When the
// grade does not stand (Problem is not empty) nothing is earned. A sum too
// large for a float64 is 0.
func (r *Report) Score() (earned, max float64) {
	for _, res := range r.Results {
		max += finite(res.MaxPoints)
		earned += res.earned()
	}
	if r.Problem() != "" {
		earned = 0
	}
	return finite(earned), finite(max)
}

// ExitCode is the grader's exit status: 0 when every check passed, 1 when
// some failed or were skipped, 2 when the grade does not stand (Problem is
// not empty: an infrastructure error, a check not run, no check at all).
func (r *Report) ExitCode() int {
	if r.Problem() != "" {
		return 2
	}
	for _, res := range r.Results {
		if st, _ := res.status(); st != StatusPassed {
			return 1
		}
	}
	return 0
}

// Problem says why the grade does not stand, "" when it does: the report's
// Error (which the checks it kept from running do not repeat), no check run
// at all, checks that could not be run, results that are not well formed. It names every check; see problems for the
// student's version.
func (r *Report) Problem() string {
	return strings.Join(r.problems(false), "; ")
}

// problems lists why the grade does not stand. For the student, checks
// the student may not see yet are not named.
func (r *Report) problems(forStudent bool) []string {
	var out []string
	if r.Error != "" {
		out = append(out, "the lab could not be graded: "+r.Error)
	}
	if len(r.Results) == 0 && r.Error == "" {
		out = append(out, "no check was run")
	}
	for _, res := range r.Results {
		st, bad := res.status()
		if st != StatusError || (r.Error != "" && bad == "") {
			continue // with r.Error, checks not run are its consequence
		}
		who := "check " + res.label()
		if forStudent && res.Visibility.norm() != VisibilityVisible {
			who = "a check not shown yet"
		}
		switch {
		case bad != "":
			out = append(out, who+": internal error: "+bad)
		case forStudent:
			out = append(out, who+" could not be run")
		case res.Output != "":
			out = append(out, who+" could not be run: "+firstLine(res.Output))
		default:
			out = append(out, who+" could not be run")
		}
	}
	return out
}

// status returns the status the writers use, and why the result is not
// well formed ("" when it is); a result that is not is an error.
func (res Result) status() (Status, string) {
	switch {
	case !res.Status.valid():
		return StatusError, fmt.Sprintf("unknown status %q", res.Status)
	case math.IsNaN(res.MaxPoints) || math.IsInf(res.MaxPoints, 0) || res.MaxPoints < 0:
		return StatusError, fmt.Sprintf("max points %v", res.MaxPoints)
	case math.IsNaN(res.Points) || math.IsInf(res.Points, 0) || res.Points < 0 || res.Points > res.MaxPoints:
		return StatusError, fmt.Sprintf("points %v out of %v", res.Points, res.MaxPoints)
	}
	return res.Status, ""
}

// earned returns the points res earns: a passed or failed check's points,
// nothing for the others.
func (res Result) earned() float64 {
	st, _ := res.status()
	if st == StatusPassed || st == StatusFailed {
		return res.Points
	}
	return 0
}

// label names a check for people: `2 "The handshake agrees"`.
func (res Result) label() string {
	switch {
	case res.Number == "":
		return strconv.Quote(res.Name)
	case res.Name == "":
		return res.Number
	}
	return res.Number + " " + strconv.Quote(res.Name)
}

// blockers returns the names of the checks that kept res from running, as
// the student may read them: a check the student may not see yet is "a
// check not shown yet".
func (r *Report) blockers(res Result, forStudent bool) []string {
	out := make([]string, 0, len(res.BlockedBy))
	for _, name := range res.BlockedBy {
		shown := strconv.Quote(name)
		if forStudent {
			shown = "a check not shown yet"
			for _, o := range r.Results {
				if o.Name == name && o.Visibility.norm() == VisibilityVisible {
					shown = strconv.Quote(name)
					break
				}
			}
		}
		out = append(out, shown)
	}
	return out
}

// why returns the sentence that explains a skipped or errored check; "" for
// the others.
func (r *Report) why(res Result, forStudent bool) string {
	st, bad := res.status()
	switch {
	case bad != "":
		return "Not graded: internal error of the grader (" + bad + ")."
	case st == StatusSkipped:
		b := r.blockers(res, forStudent)
		if len(b) == 0 {
			return "Not run: a check it requires did not pass."
		}
		return "Not run: it requires " + joinAnd(b) + ", which did not pass."
	case st == StatusError:
		return "Could not be run; this is a fault of the grading run, not a judgement of the submission."
	}
	return ""
}

// joinAnd joins words as English does: "a", "a and b", "a, b and c".
func joinAnd(words []string) string {
	if len(words) <= 1 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " and " + words[len(words)-1]
}

// finite returns x, or 0 when x is NaN or infinite (outputs cannot carry
// those; the result is already an error by then).
func finite(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0
	}
	return x
}

// fmtPoints writes points the short way: 3, 1.5.
func fmtPoints(x float64) string {
	return strconv.FormatFloat(finite(x), 'f', -1, 64)
}

// seconds returns d in seconds, rounded to the millisecond.
func seconds(d time.Duration) float64 {
	return math.Round(d.Seconds()*1000) / 1000
}

// firstLine returns s's first non-empty line, trimmed.
func firstLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			return l
		}
	}
	return ""
}

// clean makes s safe for a terminal or a Markdown file: invalid UTF-8
// becomes U+FFFD, CR LF becomes LF, and control characters other than tab
// and newline are written as escapes (\x1b), so text from a run cannot
// move the cursor or recolour a terminal.
func clean(s string) string {
	var b strings.Builder
	s = strings.ReplaceAll(s, "\r\n", "\n")
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			b.WriteRune(utf8.RuneError)
		case r == '\n' || r == '\t':
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r >= 0x80 && r < 0xa0, r == 0x2028, r == 0x2029:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
		i += n
	}
	return b.String()
}

// oneLine is clean(s) on one line: newlines and tabs become spaces.
func oneLine(s string) string {
	return strings.Join(strings.Fields(clean(s)), " ")
}
