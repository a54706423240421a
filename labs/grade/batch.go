package grade

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

// The summaries of many reports (grade-all), for the teacher. A batch is
// normally one lab's reports; checks are matched by number, named as the
// first report that has them names them, and ordered as first seen.

// batchCheck is one check across a batch: how often each status came.
type batchCheck struct {
	Number  string `json:"number"`
	Name    string `json:"name"`
	Passed  int    `json:"passed"`
	Failed  int    `json:"failed"`
	Skipped int    `json:"skipped"`
	Errors  int    `json:"errors"`
}

// batchRow is one report in a batch summary.
type batchRow struct {
	Student    string          `json:"student"`
	Lab        string          `json:"lab"`
	Version    string          `json:"version"`
	Seed       uint64          `json:"seed,string"`
	Graded     bool            `json:"graded"`
	Score      *float64        `json:"score"` // null when not graded
	MaxScore   float64         `json:"max_score"`
	Passed     int             `json:"passed"`
	Failed     int             `json:"failed"`
	Skipped    int             `json:"skipped"`
	Errors     int             `json:"errors"`
	Problem    string          `json:"problem,omitempty"`
	Submission string          `json:"submission,omitempty"`
	RunDigest  string          `json:"run_digest,omitempty"`
	Checks     []batchRowCheck `json:"checks"`
}

// batchRowCheck is one check of one report in a batch summary.
type batchRowCheck struct {
	Number string  `json:"number"`
	Status Status  `json:"status"`
	Points float64 `json:"points"`
}

// summarise makes the rows and the per-check tallies of reports; a nil
// report is skipped.
func summarise(reports []*Report) ([]batchRow, []*batchCheck) {
	var rows []batchRow
	var checks []*batchCheck
	byNumber := map[string]*batchCheck{}
	for _, r := range reports {
		if r == nil {
			continue
		}
		earned, total := r.Score()
		row := batchRow{
			Student: r.Student, Lab: r.Lab, Version: r.Version, Seed: r.Seed,
			MaxScore: total, Problem: r.Problem(), Submission: r.Submission, RunDigest: r.RunDigest,
			Checks: make([]batchRowCheck, 0, len(r.Results)),
		}
		if row.Problem == "" {
			row.Graded, row.Score = true, &earned
		}
		for _, res := range r.Results {
			st, _ := res.status()
			c := byNumber[res.Number]
			if c == nil {
				c = &batchCheck{Number: res.Number, Name: res.Name}
				byNumber[res.Number] = c
				checks = append(checks, c)
			}
			switch st {
			case StatusPassed:
				row.Passed++
				c.Passed++
			case StatusFailed:
				row.Failed++
				c.Failed++
			case StatusSkipped:
				row.Skipped++
				c.Skipped++
			default:
				row.Errors++
				c.Errors++
			}
			row.Checks = append(row.Checks, batchRowCheck{Number: res.Number, Status: st, Points: res.earned()})
		}
		rows = append(rows, row)
	}
	return rows, checks
}

// WriteBatchText writes a table of reports for the terminal: student, score,
// checks passed, failed, skipped and errored, and why a grade does not
// stand; then how many were graded, their mean and median, and how each
// check fared.
func WriteBatchText(w io.Writer, reports []*Report) error {
	rows, checks := summarise(reports)
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STUDENT\tSCORE\t✓\t✗\t–\t!\tPROBLEM")
	var scores []float64
	var total float64
	for _, row := range rows {
		student := oneLine(row.Student)
		if student == "" {
			student = "(none)"
		}
		score := "-/" + fmtPoints(row.MaxScore)
		if row.Graded {
			score = fmtPoints(*row.Score) + "/" + fmtPoints(row.MaxScore)
			scores = append(scores, *row.Score)
			total = max(total, row.MaxScore)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%s\n", tabless(student), score,
			row.Passed, row.Failed, row.Skipped, row.Errors, tabless(oneLine(row.Problem)))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write batch summary: %w", err)
	}
	fmt.Fprintf(&b, "\n%d submissions: %d graded, %d not graded", len(rows), len(scores), len(rows)-len(scores))
	if len(scores) > 0 {
		var sum float64
		for _, s := range scores {
			sum += s
		}
		slices.Sort(scores)
		median := scores[len(scores)/2]
		if len(scores)%2 == 0 {
			median = (scores[len(scores)/2-1] + scores[len(scores)/2]) / 2
		}
		fmt.Fprintf(&b, "; mean %s, median %s of %s",
			strconv.FormatFloat(sum/float64(len(scores)), 'f', 2, 64), fmtPoints(median), fmtPoints(total))
	}
	b.WriteString("\n")
	if len(checks) > 0 {
		b.WriteString("\n")
		tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "CHECK\tNAME\t✓\t✗\t–\t!")
		for _, c := range checks {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\n", tabless(oneLine(c.Number)), tabless(cut(oneLine(c.Name), 60)),
				c.Passed, c.Failed, c.Skipped, c.Errors)
		}
		if err := tw.Flush(); err != nil {
			return fmt.Errorf("write batch summary: %w", err)
		}
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write batch summary: %w", err)
	}
	return nil
}

// tabless replaces tabs, which would split a tabwriter cell.
func tabless(s string) string {
	return strings.ReplaceAll(s, "\t", " ")
}

// WriteBatchCSV writes one row per report for a spreadsheet: student, lab,
// version, seed, score (empty when the grade does not stand), max_score,
// graded, passed, failed, skipped, errors, problem, submission,
// run_digest, then one column per check ("check 1", ...) with the points
// earned, empty when the check could not be run or is absent. Cells that
// a spreadsheet would take for a formula (=, +, -, @) are prefixed with '.
func WriteBatchCSV(w io.Writer, reports []*Report) error {
	rows, checks := summarise(reports)
	cw := csv.NewWriter(w)
	header := []string{"student", "lab", "version", "seed", "score", "max_score", "graded",
		"passed", "failed", "skipped", "errors", "problem", "submission", "run_digest"}
	for _, c := range checks {
		header = append(header, "check "+c.Number)
	}
	if err := cw.Write(safeCells(header)); err != nil {
		return fmt.Errorf("write batch CSV: %w", err)
	}
	for _, row := range rows {
		score := ""
		if row.Graded {
			score = fmtPoints(*row.Score)
		}
		rec := safeCells([]string{row.Student, row.Lab, row.Version, strconv.FormatUint(row.Seed, 10)})
		rec = append(rec, score, fmtPoints(row.MaxScore), strconv.FormatBool(row.Graded),
			strconv.Itoa(row.Passed), strconv.Itoa(row.Failed), strconv.Itoa(row.Skipped), strconv.Itoa(row.Errors))
		rec = append(rec, safeCells([]string{row.Problem, row.Submission, row.RunDigest})...)
		points := map[string]string{}
		for _, c := range row.Checks {
			if c.Status != StatusError {
				points[c.Number] = fmtPoints(c.Points)
			}
		}
		for _, c := range checks {
			rec = append(rec, points[c.Number])
		}
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("write batch CSV: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write batch CSV: %w", err)
	}
	return nil
}

// safeCells keeps text cells from being read as formulas by a
// spreadsheet (OWASP's CSV injection advice): a leading =, +, -, @, tab or
// CR gets a ' before it. The cells are cleaned of control characters too.
func safeCells(cells []string) []string {
	out := make([]string, len(cells))
	for i, c := range cells {
		c = clean(c)
		if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
			c = "'" + c
		}
		out[i] = c
	}
	return out
}

// WriteBatchJSON writes the batch as one JSON object: "reports", one
// summary per report (score null when the grade does not stand, each
// check's status and points), and "checks", how each check fared.
func WriteBatchJSON(w io.Writer, reports []*Report) error {
	rows, checks := summarise(reports)
	if rows == nil {
		rows = []batchRow{}
	}
	if checks == nil {
		checks = []*batchCheck{}
	}
	for i := range rows {
		if rows[i].Score != nil {
			s := finite(*rows[i].Score)
			rows[i].Score = &s
		}
		rows[i].MaxScore = finite(rows[i].MaxScore)
		for j := range rows[i].Checks {
			rows[i].Checks[j].Points = finite(rows[i].Checks[j].Points)
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(struct {
		Reports []batchRow    `json:"reports"`
		Checks  []*batchCheck `json:"checks"`
	}{rows, checks}); err != nil {
		return fmt.Errorf("write batch JSON: %w", err)
	}
	return nil
}
