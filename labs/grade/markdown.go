package grade

import (
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"strings"
)

// WriteMarkdown writes the feedback for the student: the score, a table of
// the checks, then each check that did not pass with its text, the last
// events before the failure in a code block and its plot, linked by base
// name so that the feedback folder (this file and the plots beside it) can
// be moved.
//
// Only visible checks are shown. The others are counted ("2 more checks,
// worth 3 points, are shown later"), and when one of them is worth points
// the total is withheld too, as Gradescope does. The variant is never
// shown: it may hold what the student is asked to find.
func WriteMarkdown(w io.Writer, r *Report) error {
	var b strings.Builder
	title := r.Title
	if title == "" {
		title = r.Lab
	}
	fmt.Fprintf(&b, "# %s\n\n", mdText(title))

	var shown []Result
	var later int
	var laterPoints float64
	for _, res := range r.Results {
		if res.Visibility.norm() == VisibilityVisible {
			shown = append(shown, res)
			continue
		}
		later++
		laterPoints += finite(res.MaxPoints)
	}

	var facts []string
	if r.Lab != "" {
		facts = append(facts, "lab "+mdCode(r.Lab))
	}
	if r.Version != "" {
		facts = append(facts, "version "+mdCode(r.Version))
	}
	if r.Student != "" {
		facts = append(facts, "student "+mdCode(r.Student))
	}
	if r.RunDigest != "" {
		facts = append(facts, "run "+mdCode(short(r.RunDigest)))
	}
	if len(facts) > 0 {
		b.WriteString(strings.Join(facts, " · ") + "\n\n")
	}

	earned, total := r.Score()
	switch p := r.studentProblem(); {
	case p != "":
		b.WriteString("> " + strings.ReplaceAll(strings.ReplaceAll(p, "\n", "\n> "), "> \n", ">\n") + "\n\n")
	case laterPoints > 0:
		var se, sm float64
		for _, res := range shown {
			se += res.earned()
			sm += finite(res.MaxPoints)
		}
		fmt.Fprintf(&b, "**Checks shown: %s / %s points.** The total is shown later.\n\n", fmtPoints(se), fmtPoints(sm))
	default:
		fmt.Fprintf(&b, "**Score: %s / %s**\n\n", fmtPoints(earned), fmtPoints(total))
	}

	if len(shown) > 0 {
		b.WriteString("| # | Check | Result | Points |\n|---|---|---|---|\n")
		for _, res := range shown {
			st, _ := res.status()
			fmt.Fprintf(&b, "| %s | %s | %s %s | %s / %s |\n", mdText(res.Number), mdText(res.Name),
				symbol(st), st, fmtPoints(res.earned()), fmtPoints(res.MaxPoints))
		}
		b.WriteString("\n")
	}
	if later > 0 {
		fmt.Fprintf(&b, "%s shown later", plural(later, "more check is", "more checks are"))
		if laterPoints > 0 {
			fmt.Fprintf(&b, " (%s)", plural(laterPoints, "point", "points"))
		}
		b.WriteString(".\n\n")
	}

	for _, res := range shown {
		st, _ := res.status()
		if st == StatusPassed {
			continue
		}
		head := mdText(res.Name)
		if res.Number != "" {
			head = mdText(res.Number) + ". " + head
		}
		fmt.Fprintf(&b, "## %s: %s\n\n", head, st)
		b.WriteString(r.checkMarkdown(res, true))
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, strings.TrimRight(b.String(), "\n")+"\n")
	if err != nil {
		return fmt.Errorf("write feedback for %s: %w", r.Lab, err)
	}
	return nil
}

// studentProblem is the paragraph (Markdown) that tells the student why no
// score was given, "" when the grade stands.
func (r *Report) studentProblem() string {
	p := r.problems(true)
	if len(p) == 0 {
		return ""
	}
	return "**No score was given.** The grading run failed: " + mdText(strings.Join(p, "; ")) +
		".\n\nThis is a fault of the grading run, not a judgement of your submission: submit again, or tell your teacher."
}

// checkMarkdown is the body of one check for the student: why it was not
// run, its output, the last events, and the plot if withPlot (Gradescope
// has no file to link to).
func (r *Report) checkMarkdown(res Result, withPlot bool) string {
	var parts []string
	if why := r.why(res, true); why != "" {
		parts = append(parts, why)
	}
	if out := strings.TrimSpace(clean(res.Output)); out != "" {
		parts = append(parts, out)
	}
	if len(res.Context) > 0 {
		parts = append(parts, "The last events before the failure:\n\n"+mdBlock(clean(strings.Join(res.Context, "\n"))))
	}
	if withPlot && res.Plot != "" {
		base := filepath.Base(res.Plot)
		parts = append(parts, fmt.Sprintf("![plot of %s](%s)", mdText(res.Name), url.PathEscape(base)))
	}
	if len(parts) == 0 {
		return ""
	}
	return strings.Join(parts, "\n\n") + "\n"
}

// mdText escapes s for Markdown inline text on one line (a heading, a table
// cell): the characters that start emphasis, code, links, HTML, entities
// or table cells are backslash-escaped.
func mdText(s string) string {
	var b strings.Builder
	for _, r := range oneLine(s) {
		if strings.ContainsRune("\\`*_[]<>|#~&!", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// mdCode writes s as an inline code span, with a backtick run longer than
// any in s.
func mdCode(s string) string {
	s = oneLine(s)
	fence := strings.Repeat("`", longestRun(s, '`')+1)
	pad := ""
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		pad = " "
	}
	return fence + pad + s + pad + fence
}

// mdBlock writes s as a fenced code block whose fence is longer than any
// backtick run in s, so s cannot close it.
func mdBlock(s string) string {
	fence := strings.Repeat("`", max(3, longestRun(s, '`')+1))
	return fence + "\n" + s + "\n" + fence
}

// longestRun returns the length of the longest run of c in s.
func longestRun(s string, c rune) int {
	best, n := 0, 0
	for _, r := range s {
		if r == c {
			n++
			best = max(best, n)
		} else {
			n = 0
		}
	}
	return best
}

// plural writes n and the word that agrees with it: "1 point", "2.5 points".
func plural[N int | float64](n N, one, many string) string {
	if n == 1 {
		return fmtPoints(float64(n)) + " " + one
	}
	return fmtPoints(float64(n)) + " " + many
}

// short shortens a digest for reading: "sha256:0123456789ab".
func short(digest string) string {
	const keep = 12
	algo, hex, ok := strings.Cut(digest, ":")
	if !ok {
		algo, hex = "", digest
	}
	if len(hex) > keep {
		hex = hex[:keep]
	}
	if algo == "" {
		return hex
	}
	return algo + ":" + hex
}

// symbol is a status's mark: ✓ ✗ – !.
func symbol(s Status) string {
	switch s {
	case StatusPassed:
		return "✓"
	case StatusFailed:
		return "✗"
	case StatusSkipped:
		return "–"
	}
	return "!"
}
