package labs

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// course holds the course's labs, built into the binary.
//
//go:embed [0-9]*
var course embed.FS

// What a lab's student submits (Lab.Submit).
const (
	// SubmitNone: nothing; the lab is graded on its own (a demonstration).
	SubmitNone = "none"
	// SubmitScript: a socket script (`netlab sock --script`), run by the
	// lab's `script` step.
	SubmitScript = "script"
	// SubmitAnswers: a file of named values read off the student's own
	// run, compared with the lab's measures.
	SubmitAnswers = "answers"
	// SubmitProgram: a program (a .py file, or any file the node can
	// run), run in a `stack: linux` node by the lab's `program` step.
	SubmitProgram = "program"
	// SubmitOverlay: a file of the topology's shape whose node keys (the
	// ones Lab.Overlay allows) replace the lab's before it is deployed.
	SubmitOverlay = "overlay"
)

// The visibilities of a check, Gradescope's words.
const (
	VisibilityVisible        = "visible"
	VisibilityHidden         = "hidden"
	VisibilityAfterDueDate   = "after_due_date"
	VisibilityAfterPublished = "after_published"
)

// DefaultTimeout bounds a grading run when lab.yml gives no timeout.
const DefaultTimeout = 2 * time.Minute

// Pos is a position in lab.yml: 1-based line and column.
type Pos struct {
	Line int `json:"line"`
	Col  int `json:"col"`
}

// Lab is one graded exercise, as its lab.yml says.
type Lab struct {
	// Name is the lab's folder name ("01-socket").
	Name string `json:"name"`
	// File is lab.yml's path, as errors name it.
	File string `json:"file"`
	// Title, Summary, Version and Author are lab.yml's metadata.
	Title   string `json:"title"`
	Summary string `json:"summary"`
	Version string `json:"version"`
	Author  string `json:"author,omitempty"`
	// Topology and Page are file names in the lab's folder.
	Topology string `json:"topology"`
	Page     string `json:"page"`
	// Submit is what the student submits: SubmitScript, SubmitAnswers or
	// SubmitNone.
	Submit string `json:"submit"`
	// Timeout bounds a grading run.
	Timeout time.Duration `json:"timeout"`
	// Overlay are the node keys an overlay submission may set (see
	// ApplyOverlay).
	Overlay []string `json:"overlay,omitempty"`
	// Params are drawn for each student's variant, in this order.
	Params []Param `json:"params,omitempty"`
	// Steps are what the grader does once the lab is deployed, in order.
	Steps []Step `json:"steps"`
	// Measures compute, from the run, the truth that answers are
	// compared with.
	Measures []Action `json:"measures,omitempty"`
	// Checks are graded in order; Checks[i].Number is i+1.
	Checks []Check `json:"checks"`
	// Solutions are the lab's own submissions and what each must score.
	Solutions []Solution `json:"solutions,omitempty"`

	fsys fs.FS // the lab's folder
}

// Param is one parameter of the variants.
type Param struct {
	// Name is how ${...} names it.
	Name string `json:"name"`
	// Kind is "int", "duration", "size" or "choice".
	Kind string `json:"kind"`
	// Min, Max and Step bound a range (as written: "5ms", "5000"); Step
	// is "1" (or the unit's smallest) when not given.
	Min  string `json:"min,omitempty"`
	Max  string `json:"max,omitempty"`
	Step string `json:"step,omitempty"`
	// Choices are the values a choice param draws from.
	Choices []string `json:"choices,omitempty"`
	Pos     Pos      `json:"pos"`
}

// Action is one kind of thing with its arguments: a step's action, a
// check's kind, a measure's kind. Args hold strings, []string or
// map[string]string, as written, before ${...} is replaced.
type Action struct {
	// Name is the step's, check's or measure's name.
	Name string `json:"name"`
	// Kind is the action or kind ("serve", "handshake", "isn"...).
	Kind string `json:"kind"`
	// Args are its arguments.
	Args map[string]any `json:"args"`
	// Pos is where it is written; ArgPos where each argument's value is.
	Pos    Pos            `json:"pos"`
	ArgPos map[string]Pos `json:"-"`
}

// Step is one thing the grader does in the lab.
type Step struct {
	Action
	// Within bounds the step; 0 means the lab's timeout.
	Within time.Duration `json:"within,omitempty"`
	// Background starts a step (one of BackgroundActions) and goes on to the next
	// step at once; a `wait` step (or the end of the steps) waits for it.
	Background bool `json:"background,omitempty"`
}

// Check is one graded check.
type Check struct {
	Action
	// Number is the check's place, "1" for the first.
	Number string `json:"number"`
	// Points are what passing earns.
	Points float64 `json:"points"`
	// Visibility says when the student sees the check (Visibility*).
	Visibility string `json:"visibility"`
	// Requires are the names of checks that must pass first; if one does
	// not, this check is skipped, not failed again.
	Requires []string `json:"requires,omitempty"`
	// Within, if not 0, makes the check poll until it passes or this
	// passes.
	Within time.Duration `json:"within,omitempty"`
	// Pass and Fail are what the student reads (${...} replaced).
	Pass string `json:"pass,omitempty"`
	Fail string `json:"fail,omitempty"`
}

// Solution is a submission of the lab's own and the grade it must get.
type Solution struct {
	// File is its path in the lab's folder.
	File string `json:"file"`
	// Score is what it must score: "full", or a number of points.
	Score string `json:"score"`
	// Fails names the checks it must fail (the others must pass); empty
	// with Score "full".
	Fails []string `json:"fails,omitempty"`
	Pos   Pos      `json:"pos"`
}

// ReadFile reads a file of the lab's folder.
func (l *Lab) ReadFile(name string) ([]byte, error) {
	b, err := fs.ReadFile(l.fsys, name)
	if err != nil {
		return nil, fmt.Errorf("lab %s: %w", l.Name, err)
	}
	return b, nil
}

// MaxPoints adds up the checks' points.
func (l *Lab) MaxPoints() float64 {
	var n float64
	for _, c := range l.Checks {
		n += c.Points
	}
	return n
}

// Check returns the check called name, or nil.
func (l *Lab) Check(name string) *Check {
	for i := range l.Checks {
		if l.Checks[i].Name == name {
			return &l.Checks[i]
		}
	}
	return nil
}

// ErrNoLab is wrapped by Find's error when no lab has the name.
var ErrNoLab = errors.New("no such lab")

// Course returns the course's labs, built into the binary, by name.
func Course() ([]*Lab, error) {
	des, err := fs.ReadDir(course, ".")
	if err != nil {
		return nil, err
	}
	var out []*Lab
	var errs []error
	for _, de := range des {
		if !de.IsDir() {
			continue
		}
		sub, err := fs.Sub(course, de.Name())
		if err != nil {
			return nil, err
		}
		l, err := Load(sub, de.Name(), path.Join("labs", de.Name(), "lab.yml"))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, l)
	}
	slices.SortFunc(out, func(a, b *Lab) int { return strings.Compare(a.Name, b.Name) })
	return out, errors.Join(errs...)
}

// Find returns the lab spec names: a folder on disk holding a lab.yml
// (a path: it contains a slash or is "."), or a course lab by its name or
// by the part after its number ("socket" for "01-socket").
func Find(spec string) (*Lab, error) {
	if strings.ContainsRune(spec, '/') || spec == "." || strings.HasSuffix(spec, "lab.yml") {
		dir := strings.TrimSuffix(spec, "lab.yml")
		if dir == "" {
			dir = "."
		}
		abs, err := filepath.Abs(dir)
		if err != nil {
			return nil, err
		}
		return Load(os.DirFS(abs), filepath.Base(abs), filepath.Join(dir, "lab.yml"))
	}
	all, err := Course()
	if err != nil {
		return nil, err
	}
	var names []string
	for _, l := range all {
		_, short, _ := strings.Cut(l.Name, "-")
		if l.Name == spec || short == spec {
			return l, nil
		}
		names = append(names, l.Name)
	}
	return nil, fmt.Errorf("%w %q: the course has %s, or name a folder with a lab.yml (./mylab)", ErrNoLab, spec, strings.Join(names, ", "))
}
