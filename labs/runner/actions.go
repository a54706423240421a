package runner

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/netlab/netlab/impair"
	"github.com/netlab/netlab/internal/suggest"
	"github.com/netlab/netlab/labs"
	"github.com/netlab/netlab/labs/check"
)

// StepAction describes one action a step may take: what it does and its
// arguments.
type StepAction struct {
	// Name is the action as lab.yml names it ("exec").
	Name string
	// Doc says in one sentence what it does and what its result holds.
	Doc string
	// Keys are its arguments: name → one-line doc.
	Keys map[string]string
	// Required are the arguments that must be given.
	Required []string
	// Open: keys beside Keys are the netem grammar's (impair).
	Open bool
}

// StepActions returns every action a step may take, by name.
func StepActions() []StepAction {
	return []StepAction{
		{Name: "serve", Doc: "starts a server app on a node (sink, echo...); its result says what it listens on",
			Keys: map[string]string{"node": "the node (required)", "port": "the port to listen on", "mode": "sink (default), echo, http..."}, Required: []string{"node"}},
		{Name: "send", Doc: "a bulk transfer from a node; its result is the sender's report (bytes, sha256, duration)",
			Keys: map[string]string{"node": "the sending node (required)", "to": "an address or NODE:IFACE (required)", "port": "the port", "bytes": "how much (a size: 100KB)", "duration": "or for how long"}, Required: []string{"node", "to"}},
		{Name: "script", Doc: "runs a socket script (netlab sock --script): the submission, or the lab's own file; its result holds the calls and what they returned",
			Keys: map[string]string{"file": "the lab's own script (default: the submission)", "timeout": "a call's bound (default 5s)"}},
		{Name: "ping", Doc: "echo requests from a node; its result counts what came back (sent, received, rtt) and records network errors",
			Keys: map[string]string{"node": "the node that pings (required)", "to": "an address or NODE:IFACE (required)", "count": "how many (default 3)", "interval": "between them (default 200ms)"}, Required: []string{"node", "to"}},
		{Name: "wait-state", Doc: "waits until a node's connection is in a TCP state",
			Keys: map[string]string{"node": "the node (required)", "state": "the TCP state, e.g. TIME-WAIT (required)", "conn": "which connection (:PORT, ADDR:PORT)", "within": "how long to wait (default 10s)"}, Required: []string{"node", "state"}},
		{Name: "impair", Doc: "changes a link's impairment at runtime, as netlab impair set: netem's keys beside these",
			Keys: map[string]string{"target": "a link's name or NODE:IFACE (required)", "direction": "both (default), a-to-b, b-to-a; egress, ingress for NODE:IFACE", "clear": "true removes the impairment"}, Required: []string{"target"}, Open: true},
		{Name: "link", Doc: "takes a link down or up, as netlab link",
			Keys: map[string]string{"target": "a link's name or NODE:IFACE (required)", "state": "down or up (required)"}, Required: []string{"target", "state"}},
		{Name: "exec", Doc: "runs a command (sh -c) in a node, in the work directory (as nobody on netns); its result: output, exit, duration_ms, and json when the output is JSON",
			Keys: map[string]string{"node": "the node (required)", "command": "the command line, run by sh -c (required)"}, Required: []string{"node", "command"}},
		{Name: "program", Doc: "runs the submitted program in a stack: linux node, in the work directory; its result: output, exit, duration_ms, json",
			Keys: map[string]string{"node": "the node (required)", "args": "the program's arguments, a list"}, Required: []string{"node"}},
		{Name: "wait", Doc: "waits for a step started with background: true and records its result",
			Keys: map[string]string{"step": "the background step's name (required)"}, Required: []string{"step"}},
		{Name: "file", Doc: "reports a file in the work directory: exists, bytes, sha256 (what a delivered check compares); links are not followed",
			Keys: map[string]string{"path": "the file, relative to the work directory (required)"}, Required: []string{"path"}},
	}
}

// stepAction returns the action called name.
func stepAction(name string) (StepAction, bool) {
	for _, a := range StepActions() {
		if a.Name == name {
			return a, true
		}
	}
	return StepAction{}, false
}

// Lint checks what lab.yml's decoder leaves to the packages that know
// them, for the lab's own variant: each step's, check's and measure's
// arguments (at their line and column), and that the topology is seeded.
func Lint(lab *labs.Lab) error {
	v, err := lab.Variant("")
	if err != nil {
		return err
	}
	var errs []error
	at := func(a labs.Action, key, format string, args ...any) {
		p := a.Pos
		if ap, ok := a.ArgPos[key]; ok {
			p = ap
		}
		errs = append(errs, fmt.Errorf("%s:%d:%d: %s", lab.File, p.Line, p.Col, fmt.Sprintf(format, args...)))
	}
	for _, s := range lab.Steps {
		act, ok := stepAction(s.Kind)
		if !ok {
			at(s.Action, "", "step %q: unknown action %q", s.Name, s.Kind)
			continue
		}
		allowed := sortedKeys(act.Keys)
		if act.Open {
			for _, k := range impair.Keys() {
				allowed = append(allowed, k.Name)
			}
		}
		for _, k := range sortedKeys(s.Args) {
			if slices.Contains(allowed, k) {
				continue
			}
			hint := ""
			if sug := suggest.Closest(k, allowed); sug != "" {
				hint = fmt.Sprintf("; did you mean %q?", sug)
			}
			at(s.Action, k, "step %q: %s takes no %q%s (allowed: %s)", s.Name, s.Kind, k, hint, strings.Join(allowed, ", "))
		}
		for _, k := range act.Required {
			if _, ok := s.Args[k]; !ok {
				at(s.Action, "", "step %q: %s needs %s", s.Name, s.Kind, k)
			}
		}
	}
	kinds := map[string]check.Kind{}
	for _, k := range check.Kinds() {
		kinds[k.Name] = k
	}
	for _, c := range lab.Checks {
		k, ok := kinds[c.Kind]
		if !ok {
			at(c.Action, "", "check %q: unknown kind %q", c.Name, c.Kind)
			continue
		}
		a, err := v.ExpandArgs(c.Args)
		if err == nil {
			_, err = k.New(check.Args(a))
		}
		if err != nil {
			at(c.Action, argKey(err), "check %q: %v", c.Name, err)
		}
	}
	measures := map[string]check.Measure{}
	for _, m := range check.Measures() {
		measures[m.Name] = m
	}
	for _, m := range lab.Measures {
		k, ok := measures[m.Kind]
		if !ok {
			at(m, "", "measure %q: unknown kind %q", m.Name, m.Kind)
			continue
		}
		a, err := v.ExpandArgs(m.Args)
		if err == nil {
			_, err = k.New(check.Args(a))
		}
		if err != nil {
			at(m, argKey(err), "measure %q: %v", m.Name, err)
		}
	}
	data, err := lab.TopologyFor(v, "lint")
	if err == nil && !strings.Contains(string(data), "seed:") {
		err = fmt.Errorf("%s: give the nodes `seed: ${seed}` (in defaults), so that a variant impairs the same way on every run", lab.Topology)
	}
	if err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// argKey is the argument an error of a check's or measure's constructor
// names, or "".
func argKey(err error) string {
	var ae *check.ArgError
	if errors.As(err, &ae) {
		return ae.Key
	}
	return ""
}
