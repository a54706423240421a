package grade

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
)

// gsResults is Gradescope's results.json (gradescope/autograder_samples
// docs/specs.md).
type gsResults struct {
	Score            float64    `json:"score"`
	ExecutionTime    float64    `json:"execution_time"`
	Output           string     `json:"output,omitempty"`
	OutputFormat     string     `json:"output_format"`
	TestOutputFormat string     `json:"test_output_format"`
	StdoutVisibility Visibility `json:"stdout_visibility"`
	ExtraData        gsExtra    `json:"extra_data"`
	Tests            []gsTest   `json:"tests"`
}

// gsExtra is what the teacher keeps with a grade: enough to draw the
// variant again and to re-grade the run's evidence.
type gsExtra struct {
	Lab       string            `json:"lab"`
	Version   string            `json:"version"`
	Student   string            `json:"student"`
	Seed      string            `json:"seed"`
	Variant   map[string]string `json:"variant"`
	RunDigest string            `json:"run_digest"`
}

// gsTest is one test of results.json.
type gsTest struct {
	Score        float64    `json:"score"`
	MaxScore     float64    `json:"max_score"`
	Status       Status     `json:"status"`
	Name         string     `json:"name"`
	NameFormat   string     `json:"name_format"`
	Number       string     `json:"number,omitempty"`
	Output       string     `json:"output"`
	OutputFormat string     `json:"output_format"`
	Tags         []string   `json:"tags,omitempty"`
	Visibility   Visibility `json:"visibility"`
}

// WriteGradescope writes r as Gradescope's results.json. Gradescope knows
// only passed and failed: a skipped check is failed with score 0 and an
// output naming the checks it required, an errored one likewise with an
// output saying it could not be run. When the grade does not stand
// (Problem), the score is 0 and the top-level output, always visible, says
// why; the file is written all the same, since a grader that writes no
// results.json leaves the student with nothing.
func WriteGradescope(w io.Writer, r *Report) error {
	earned, _ := r.Score()
	g := gsResults{
		Score:            earned,
		ExecutionTime:    seconds(r.Duration),
		OutputFormat:     "md",
		TestOutputFormat: "md",
		StdoutVisibility: VisibilityHidden,
		ExtraData: gsExtra{
			Lab: r.Lab, Version: r.Version, Student: r.Student, Seed: strconv.FormatUint(r.Seed, 10),
			Variant: r.Variant, RunDigest: r.RunDigest,
		},
		Tests: make([]gsTest, 0, len(r.Results)),
	}
	if r.StdoutVisibility != "" {
		g.StdoutVisibility = r.StdoutVisibility.norm()
	}
	if g.ExtraData.Variant == nil {
		g.ExtraData.Variant = map[string]string{}
	}
	g.Output = r.studentProblem()
	for _, res := range r.Results {
		st, _ := res.status()
		t := gsTest{
			Score:        res.earned(),
			MaxScore:     finite(res.MaxPoints),
			Status:       StatusFailed,
			Name:         res.Name,
			NameFormat:   "text",
			Number:       res.Number,
			Output:       r.checkMarkdown(res, false),
			OutputFormat: "md",
			Tags:         res.Tags,
			Visibility:   res.Visibility.norm(),
		}
		if st == StatusPassed {
			t.Status = StatusPassed
		}
		g.Tests = append(g.Tests, t)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(g); err != nil {
		return fmt.Errorf("write results.json for %s: %w", r.Lab, err)
	}
	return nil
}
