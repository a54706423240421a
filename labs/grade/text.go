package grade

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"
)

// ANSI colours of the terminal summary.
const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiPurple = "\x1b[35m"
)

// WriteText writes the terminal summary, for whoever runs the grader (it
// names hidden checks and shows the variant): a header, one line per check
// (✓ passed, ✗ failed, – skipped, ! error) with its points, then the text of
// every check that did not pass, then the total. color adds ANSI colours.
// Text from the run is cleaned of control characters.
func WriteText(w io.Writer, r *Report, color bool) error {
	paint := func(code, s string) string {
		if !color {
			return s
		}
		return code + s + ansiReset
	}
	var b strings.Builder

	head := r.Lab
	if r.Version != "" {
		head += " version " + r.Version
	}
	if r.Title != "" {
		head = r.Title + " (" + head + ")"
	}
	b.WriteString(paint(ansiBold, oneLine(head)) + "\n")
	var facts []string
	if r.Student != "" {
		facts = append(facts, "student "+r.Student)
	}
	facts = append(facts, fmt.Sprintf("seed %d", r.Seed))
	if len(r.Variant) > 0 {
		var kv []string
		for _, k := range slices.Sorted(maps.Keys(r.Variant)) {
			kv = append(kv, k+"="+r.Variant[k])
		}
		facts = append(facts, "variant "+strings.Join(kv, " "))
	}
	if r.Submission != "" {
		facts = append(facts, "submission "+r.Submission)
	}
	if r.RunDigest != "" {
		facts = append(facts, "run "+short(r.RunDigest))
	}
	if r.Duration > 0 {
		facts = append(facts, fmt.Sprintf("%.1fs", r.Duration.Seconds()))
	}
	b.WriteString(oneLine(strings.Join(facts, " · ")) + "\n")
	if len(r.Results) > 0 {
		b.WriteString("\n")
	}

	numW, nameW := 0, 0
	for _, res := range r.Results {
		numW = max(numW, utf8.RuneCountInString(oneLine(res.Number)))
		nameW = max(nameW, utf8.RuneCountInString(oneLine(res.Name)))
	}
	nameW = min(nameW, 60)
	colour := map[Status]string{StatusPassed: ansiGreen, StatusFailed: ansiRed, StatusSkipped: ansiYellow, StatusError: ansiPurple}
	counts := map[Status]int{}
	for _, res := range r.Results {
		st, _ := res.status()
		counts[st]++
		line := fmt.Sprintf(" %s %s  %s  %s/%s", paint(colour[st], symbol(st)),
			pad(oneLine(res.Number), numW), pad(oneLine(res.Name), nameW),
			fmtPoints(res.earned()), fmtPoints(res.MaxPoints))
		if st == StatusSkipped || st == StatusError {
			line += "  " + string(st)
		}
		if v := res.Visibility.norm(); v != VisibilityVisible {
			line += "  [" + string(v) + "]"
		}
		b.WriteString(line + "\n")
	}

	for _, res := range r.Results {
		st, _ := res.status()
		if st == StatusPassed {
			continue
		}
		b.WriteString("\n" + paint(colour[st], symbol(st)+" "+oneLine(res.label())+": "+string(st)) + "\n")
		if why := r.why(res, false); why != "" {
			b.WriteString(indent(why, "  "))
		}
		if out := strings.TrimSpace(clean(res.Output)); out != "" {
			b.WriteString(indent(out, "  "))
		}
		if len(res.Context) > 0 {
			b.WriteString("  the last events:\n")
			b.WriteString(indent(clean(strings.Join(res.Context, "\n")), "    "))
		}
		if res.Plot != "" {
			b.WriteString("  plot: " + oneLine(res.Plot) + "\n")
		}
	}

	earned, total := r.Score()
	b.WriteString("\n")
	if p := r.Problem(); p != "" {
		b.WriteString(paint(ansiPurple+ansiBold, "NOT GRADED: "+oneLine(p)) + "\n")
		b.WriteString(fmt.Sprintf("score withheld (of %s)", fmtPoints(total)))
	} else {
		b.WriteString(paint(ansiBold, fmt.Sprintf("score %s/%s", fmtPoints(earned), fmtPoints(total))))
	}
	fmt.Fprintf(&b, ": %d passed, %d failed, %d skipped, %d errors\n",
		counts[StatusPassed], counts[StatusFailed], counts[StatusSkipped], counts[StatusError])
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write summary of %s: %w", r.Lab, err)
	}
	return nil
}

// pad pads s with spaces to width runes, cutting a longer s.
func pad(s string, width int) string {
	s = cut(s, width)
	return s + strings.Repeat(" ", width-utf8.RuneCountInString(s))
}

// cut cuts s to width runes, the last one "…" if anything was cut.
func cut(s string, width int) string {
	if utf8.RuneCountInString(s) <= width {
		return s
	}
	return string([]rune(s)[:max(width-1, 0)]) + "…"
}

// indent prefixes every line of s with prefix and ends it with a newline.
func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = prefix + l
		}
	}
	return strings.Join(lines, "\n") + "\n"
}
