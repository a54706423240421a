package grade

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"
)

// jsonReport is a Report as WriteJSON writes it: snake_case names that do
// not change, durations in seconds, the seed as a decimal string (64-bit
// seeds do not fit a JavaScript number), and the derived score, max_score,
// problem and exit_code for readers (ReadJSON ignores those).
type jsonReport struct {
	Lab              string            `json:"lab"`
	Title            string            `json:"title,omitempty"`
	Version          string            `json:"version"`
	Student          string            `json:"student"`
	Seed             uint64            `json:"seed,string"`
	Variant          map[string]string `json:"variant,omitempty"`
	Submission       string            `json:"submission,omitempty"`
	Started          *time.Time        `json:"started,omitempty"`
	Duration         float64           `json:"duration_seconds"`
	Score            float64           `json:"score"`
	MaxScore         float64           `json:"max_score"`
	Problem          string            `json:"problem,omitempty"`
	ExitCode         int               `json:"exit_code"`
	Error            string            `json:"error,omitempty"`
	RunDigest        string            `json:"run_digest,omitempty"`
	Stdout           string            `json:"stdout,omitempty"`
	StdoutVisibility Visibility        `json:"stdout_visibility,omitempty"`
	Results          []jsonResult      `json:"results"`
}

// jsonResult is a Result as WriteJSON writes it.
type jsonResult struct {
	Number     string     `json:"number"`
	Name       string     `json:"name"`
	Status     Status     `json:"status"`
	Points     jsonFloat  `json:"points"`
	MaxPoints  jsonFloat  `json:"max_points"`
	Visibility Visibility `json:"visibility,omitempty"`
	Output     string     `json:"output,omitempty"`
	BlockedBy  []string   `json:"blocked_by,omitempty"`
	Context    []string   `json:"context,omitempty"`
	Plot       string     `json:"plot,omitempty"`
	Tags       []string   `json:"tags,omitempty"`
	Duration   float64    `json:"duration_seconds"`
}

// WriteJSON writes r as JSON (indented, one object), with stable snake_case
// field names; ReadJSON reads it back. Points that are not finite (a
// result Problem names) are written as the strings "NaN", "+Inf", "-Inf",
// so that reading the report back keeps it an error.
func WriteJSON(w io.Writer, r *Report) error {
	earned, max := r.Score()
	j := jsonReport{
		Lab: r.Lab, Title: r.Title, Version: r.Version, Student: r.Student, Seed: r.Seed,
		Variant: r.Variant, Submission: r.Submission, Duration: r.Duration.Seconds(),
		Score: earned, MaxScore: max, Problem: r.Problem(), ExitCode: r.ExitCode(),
		Error: r.Error, RunDigest: r.RunDigest, Stdout: r.Stdout, StdoutVisibility: r.StdoutVisibility,
		Results: make([]jsonResult, 0, len(r.Results)),
	}
	if !r.Started.IsZero() {
		j.Started = &r.Started
	}
	for _, res := range r.Results {
		j.Results = append(j.Results, jsonResult{
			Number: res.Number, Name: res.Name, Status: res.Status,
			Points: jsonFloat(res.Points), MaxPoints: jsonFloat(res.MaxPoints), Visibility: res.Visibility,
			Output: res.Output, BlockedBy: res.BlockedBy, Context: res.Context, Plot: res.Plot,
			Tags: res.Tags, Duration: res.Duration.Seconds(),
		})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(j); err != nil {
		return fmt.Errorf("write report %s as JSON: %w", r.Lab, err)
	}
	return nil
}

// ReadJSON reads a report that WriteJSON wrote.
func ReadJSON(rd io.Reader) (*Report, error) {
	var j jsonReport
	dec := json.NewDecoder(rd)
	if err := dec.Decode(&j); err != nil {
		return nil, fmt.Errorf("read report: %w", err)
	}
	r := &Report{
		Lab: j.Lab, Title: j.Title, Version: j.Version, Student: j.Student, Seed: j.Seed,
		Variant: j.Variant, Submission: j.Submission, Duration: fromSeconds(j.Duration),
		Error: j.Error, RunDigest: j.RunDigest, Stdout: j.Stdout, StdoutVisibility: j.StdoutVisibility,
	}
	if j.Started != nil {
		r.Started = *j.Started
	}
	for _, res := range j.Results {
		r.Results = append(r.Results, Result{
			Number: res.Number, Name: res.Name, Status: res.Status,
			Points: float64(res.Points), MaxPoints: float64(res.MaxPoints), Visibility: res.Visibility,
			Output: res.Output, BlockedBy: res.BlockedBy, Context: res.Context, Plot: res.Plot,
			Tags: res.Tags, Duration: fromSeconds(res.Duration),
		})
	}
	return r, nil
}

// fromSeconds turns seconds back into a duration, to the nanosecond.
func fromSeconds(s float64) time.Duration {
	return time.Duration(math.Round(s * 1e9))
}

// jsonFloat is a float64 that JSON can always carry: a number when finite,
// else "NaN", "+Inf" or "-Inf".
type jsonFloat float64

// MarshalJSON writes x as a number, or as a string when it is not finite.
func (x jsonFloat) MarshalJSON() ([]byte, error) {
	f := float64(x)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return json.Marshal(strconv.FormatFloat(f, 'g', -1, 64))
	}
	return json.Marshal(f)
}

// UnmarshalJSON reads a number, or one of the strings MarshalJSON writes.
func (x *jsonFloat) UnmarshalJSON(b []byte) error {
	var f float64
	if err := json.Unmarshal(b, &f); err == nil {
		*x = jsonFloat(f)
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("points: want a number: %w", err)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || !(math.IsNaN(f) || math.IsInf(f, 0)) {
		return fmt.Errorf("points: want a number or NaN, +Inf, -Inf, not %q", s)
	}
	*x = jsonFloat(f)
	return nil
}
