package check

import (
	"fmt"
	"sort"
	"strings"

	"github.com/netlab/netlab/trace"
)

// Evidence is what happened in one graded run.
type Evidence struct {
	// Traces are the probe events of each Go-stack node, by node name, in
	// trace order.
	Traces map[string][]trace.Event
	// Steps are the outputs of the scenario's steps, by step name (a step's
	// JSON result: a send report, a socket script's results, a command's
	// stdout/exit status); values are decoded JSON (map[string]any,
	// []any, string, float64 or json.Number, bool, nil).
	Steps map[string]any
	// Answers are the student's answers (answers-file submissions), by
	// name, as written.
	Answers map[string]string
	// Truth are values measured from the run (see Measures), by name.
	Truth map[string]string
}

// Args are a check's parameters as the lab file gives them: scalars as
// strings (ints, floats and bools are taken too), lists as []string (or
// []any of scalars), maps as map[string]string. The lab loader maps an
// *ArgError naming a key back to its file:line:col.
type Args map[string]any

// ArgError is an error in one parameter of a check or a measure.
type ArgError struct {
	// Key is the parameter at fault, as the lab file spells it.
	Key string
	// Index, for a list parameter, is the item at fault, counted from 1;
	// 0 means the parameter as a whole.
	Index int
	// Msg says what is wrong, and what is allowed.
	Msg string
}

func (e *ArgError) Error() string {
	if e.Index > 0 {
		return fmt.Sprintf("%s item %d: %s", e.Key, e.Index, e.Msg)
	}
	return e.Key + ": " + e.Msg
}

// Kind is one kind of check: its name in lab files, what it checks, its
// parameters and its constructor.
type Kind struct {
	// Name is the kind's name in lab files ("handshake").
	Name string
	// Doc says in one sentence what the check passes on.
	Doc string
	// Keys are the kind's parameters: name → one-line doc.
	Keys map[string]string
	// Required are the keys that must be given.
	Required []string
	// New validates the arguments and returns the check. Its errors are
	// *ArgError: an unknown key, a missing required key, a bad value.
	New func(Args) (Check, error)
}

// Check is one check, ready to evaluate.
type Check interface {
	// Eval evaluates the check on ev. It never panics on odd evidence: a
	// node with no trace, a missing step, a field of the wrong type are
	// failures whose Actual says so.
	Eval(ev *Evidence) Outcome
}

// Outcome is what a check found.
type Outcome struct {
	Pass bool
	// Expected and Actual say, for people, what should have been and what
	// was.
	Expected, Actual string
	// Node and Conn name the connection the check looked at, if one.
	Node string
	Conn *trace.Conn
	// Context are the events that show the failure (or, on a pass, what
	// the check relied on), at most MaxContext, in trace order.
	Context []trace.Event
	// Lines are Context formatted as LinesFrom does, relative to the
	// whole connection (its first event and ISNs), one line per event.
	Lines []string
	// Mark is the event the outcome is about, if one, for a plot to mark:
	// on a failure the offending event, on a pass the one that shows it
	// (the fast retransmission, the zero window...). It points into
	// Context.
	Mark *trace.Event
}

// MaxContext is the most events an Outcome's Context holds.
const MaxContext = 12

// kind builds a Kind whose New first refuses unknown keys and missing
// required ones, then calls build.
func kind[C Check](name, doc string, keys map[string]string, required []string, build func(a Args) (C, error)) Kind {
	return Kind{Name: name, Doc: doc, Keys: keys, Required: required, New: func(a Args) (Check, error) {
		if err := checkKeys(a, keys, required); err != nil {
			return nil, err
		}
		c, err := build(a)
		if err != nil {
			return nil, err
		}
		return c, nil
	}}
}

// checkKeys refuses keys not among known and required keys not given.
func checkKeys(a Args, known map[string]string, required []string) error {
	var unknown []string
	for k := range a {
		if _, ok := known[k]; !ok {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return &ArgError{Key: unknown[0], Msg: "unknown key; this kind takes " + keyList(known)}
	}
	for _, k := range required {
		if _, ok := a[k]; !ok {
			return &ArgError{Key: k, Msg: "required"}
		}
	}
	return nil
}

func keyList(keys map[string]string) string {
	names := make([]string, 0, len(keys))
	for k := range keys {
		names = append(names, k)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}
