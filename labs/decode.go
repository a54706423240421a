package labs

import (
	"fmt"
	"io/fs"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/netlab/netlab/internal/suggest"
	"github.com/netlab/netlab/internal/units"
	"github.com/netlab/netlab/topology"
)

// The keys of lab.yml, and of its parts (keys.go documents them).
var (
	topKeys     = keyNames(LabKeys())
	paramKeys   = keyNames(ParamKeys())
	stepKeys    = keyNames(StepKeys())
	checkKeys   = keyNames(CheckKeys())
	solKeys     = keyNames(SolutionKeys())
	submitKinds = SubmitKinds()
	visibles    = Visibilities()
)

// StepActions are the actions a step may name.
var StepActions = []string{"serve", "send", "script", "ping", "impair", "link", "wait-state", "exec", "program", "wait", "file"}

// BackgroundActions are the step actions that may run in the background
// (`background: true`): those that take a while. The others return at once.
var BackgroundActions = []string{"exec", "program", "send", "script", "ping"}

// Load reads the lab in fsys (its folder) called name; file is lab.yml's
// path as errors name it. Every problem is reported, as a
// topology.ErrorList of file:line:col errors. The kinds of checks and
// measures, and the steps' arguments, are checked when the lab runs (or by
// `netlab lab lint`), by the packages that know them.
func Load(fsys fs.FS, name, file string) (*Lab, error) {
	data, err := fs.ReadFile(fsys, "lab.yml")
	if err != nil {
		return nil, fmt.Errorf("lab %s: %w", name, err)
	}
	d := &decoder{file: file}
	l := &Lab{Name: name, File: file, Topology: "topology.yml", Page: "README.md", Submit: SubmitNone, Timeout: DefaultTimeout, fsys: fsys}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, topology.ErrorList{&topology.Error{File: file, Msg: "not YAML: " + err.Error()}}
	}
	if len(doc.Content) == 0 {
		return nil, topology.ErrorList{&topology.Error{File: file, Msg: "empty file: want a mapping with title, version, steps and checks"}}
	}
	d.lab(doc.Content[0], l)
	for _, f := range []string{l.Topology, l.Page} {
		if _, err := fs.Stat(fsys, f); err != nil {
			d.errorf(Pos{}, "%s: the lab's folder has no %s", file, f)
		}
	}
	for _, s := range l.Solutions {
		if _, err := fs.Stat(fsys, s.File); err != nil {
			d.errorf(s.Pos, "solution %s: no such file in the lab's folder", s.File)
		}
	}
	if len(d.errs) > 0 {
		slices.SortStableFunc(d.errs, func(a, b *topology.Error) int {
			if a.Line != b.Line {
				return a.Line - b.Line
			}
			return a.Col - b.Col
		})
		return nil, d.errs
	}
	return l, nil
}

type decoder struct {
	file string
	errs topology.ErrorList
}

func (d *decoder) errorf(p Pos, format string, args ...any) {
	d.errs = append(d.errs, &topology.Error{File: d.file, Line: p.Line, Col: p.Col, Msg: fmt.Sprintf(format, args...)})
}

func pos(n *yaml.Node) Pos { return Pos{Line: n.Line, Col: n.Column} }

// entry is one key of a mapping.
type entry struct {
	key  string
	k, v *yaml.Node
}

// mapping returns the entries of n, a mapping, reporting keys not in
// allowed (nil allows any) and keys given twice.
func (d *decoder) mapping(n *yaml.Node, what string, allowed []string) []entry {
	if n.Kind != yaml.MappingNode {
		d.errorf(pos(n), "%s: want a mapping, got %s", what, describe(n))
		return nil
	}
	seen := map[string]bool{}
	var out []entry
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if seen[k.Value] {
			d.errorf(pos(k), "%s: %s is given twice", what, k.Value)
			continue
		}
		seen[k.Value] = true
		if allowed != nil && !slices.Contains(allowed, k.Value) {
			if s := suggest.Closest(k.Value, allowed); s != "" {
				d.errorf(pos(k), "%s: unknown key %q; did you mean %q? (allowed: %s)", what, k.Value, s, strings.Join(allowed, ", "))
			} else {
				d.errorf(pos(k), "%s: unknown key %q (allowed: %s)", what, k.Value, strings.Join(allowed, ", "))
			}
			continue
		}
		out = append(out, entry{key: k.Value, k: k, v: v})
	}
	return out
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "an alias"
}

func (d *decoder) scalar(e entry, what string) (string, bool) {
	if e.v.Kind != yaml.ScalarNode || e.v.Tag == "!!null" {
		d.errorf(pos(e.v), "%s: %s: want a value, got %s", what, e.key, describe(e.v))
		return "", false
	}
	return e.v.Value, true
}

func (d *decoder) strings(e entry, what string) []string {
	if e.v.Kind == yaml.ScalarNode && e.v.Tag != "!!null" {
		return []string{e.v.Value} // one value for a list of one
	}
	if e.v.Kind != yaml.SequenceNode {
		d.errorf(pos(e.v), "%s: %s: want a list of values, got %s", what, e.key, describe(e.v))
		return nil
	}
	var out []string
	for _, it := range e.v.Content {
		if it.Kind != yaml.ScalarNode {
			d.errorf(pos(it), "%s: %s: want values, got %s", what, e.key, describe(it))
			continue
		}
		out = append(out, it.Value)
	}
	return out
}

func (d *decoder) duration(e entry, what string) time.Duration {
	s, ok := d.scalar(e, what)
	if !ok {
		return 0
	}
	v, err := units.ParseDuration(s)
	if err != nil {
		d.errorf(pos(e.v), "%s: %s: %v", what, e.key, err)
	}
	return v
}

func (d *decoder) lab(n *yaml.Node, l *Lab) {
	for _, e := range d.mapping(n, "lab", topKeys) {
		switch e.key {
		case "title", "summary", "version", "author", "topology", "page":
			v, _ := d.scalar(e, "lab")
			switch e.key {
			case "title":
				l.Title = v
			case "summary":
				l.Summary = v
			case "version":
				l.Version = v
			case "author":
				l.Author = v
			case "topology":
				l.Topology = v
			case "page":
				l.Page = v
			}
		case "submit":
			v, ok := d.scalar(e, "lab")
			if ok && !slices.Contains(submitKinds, v) {
				d.errorf(pos(e.v), "submit: %q is not a kind of submission (allowed: %s)", v, strings.Join(submitKinds, ", "))
			}
			l.Submit = v
		case "timeout":
			l.Timeout = d.duration(e, "lab")
		case "overlay":
			l.Overlay = d.strings(e, "lab")
			for i, k := range l.Overlay {
				if !slices.Contains(OverlayKeys, k) {
					at := pos(e.v)
					if e.v.Kind == yaml.SequenceNode {
						at = pos(e.v.Content[i])
					}
					d.errorf(at, "overlay: %q cannot be given to students to change (allowed: %s)", k, strings.Join(OverlayKeys, ", "))
				}
			}
		case "params":
			for _, pe := range d.mapping(e.v, "params", nil) {
				l.Params = append(l.Params, d.param(pe))
			}
		case "steps":
			for i, it := range d.list(e) {
				l.Steps = append(l.Steps, d.step(it, i))
			}
		case "measures":
			for _, me := range d.mapping(e.v, "measures", nil) {
				a := Action{Name: me.key, Pos: pos(me.k)}
				d.action(me.v, &a, "measure "+me.key, nil)
				l.Measures = append(l.Measures, a)
			}
		case "checks":
			for i, it := range d.list(e) {
				l.Checks = append(l.Checks, d.check(it, i))
			}
		case "solutions":
			for _, it := range d.list(e) {
				l.Solutions = append(l.Solutions, d.solution(it))
			}
		}
	}
	if l.Title == "" {
		d.errorf(pos(n), "lab: title is missing")
	}
	if l.Version == "" {
		d.errorf(pos(n), "lab: version is missing (graders tell variants of different versions apart)")
	}
	if len(l.Checks) == 0 {
		d.errorf(pos(n), "lab: no checks: a lab grades something")
	}
	names := map[string]bool{}
	for _, p := range l.Params {
		if slices.Contains([]string{"lab", "version", "student", "seed", "name", "submission"}, p.Name) {
			d.errorf(p.Pos, "params: %q is netlab's own (lab, version, student, seed, name, submission): choose another name", p.Name)
		}
	}
	background := map[string]bool{}
	for _, s := range l.Steps {
		if names[s.Name] {
			d.errorf(s.Pos, "steps: two steps are called %q", s.Name)
		}
		names[s.Name] = true
		if s.Kind == "wait" {
			if w, _ := s.Args["step"].(string); !background[w] {
				d.errorf(s.Pos, "step %q waits for %q, which is not a step before it with background: true", s.Name, w)
			}
		}
		background[s.Name] = s.Background
	}
	checks := map[string]bool{}
	for _, c := range l.Checks {
		if checks[c.Name] {
			d.errorf(c.Pos, "checks: two checks are called %q", c.Name)
		}
		for _, r := range c.Requires {
			if !checks[r] {
				d.errorf(c.Pos, "check %q requires %q, which is not a check before it", c.Name, r)
			}
		}
		checks[c.Name] = true
	}
	for _, s := range l.Solutions {
		for _, f := range s.Fails {
			if !checks[f] {
				d.errorf(s.Pos, "solution %s: fails %q, which is not a check", s.File, f)
			}
		}
	}
	if l.Submit == SubmitScript && !slices.ContainsFunc(l.Steps, func(s Step) bool { return s.Kind == "script" && s.Args["file"] == nil }) {
		d.errorf(pos(n), "submit: script, but no step runs the submission (a `script: {}` step without file)")
	}
	if l.Submit == SubmitOverlay && l.Overlay == nil {
		l.Overlay = DefaultOverlayKeys
	}
	if l.Submit == SubmitProgram && !slices.ContainsFunc(l.Steps, func(s Step) bool { return s.Kind == "program" }) {
		d.errorf(pos(n), "submit: program, but no step runs it (a `program: {node: ...}` step)")
	}
}

func (d *decoder) list(e entry) []*yaml.Node {
	if e.v.Kind != yaml.SequenceNode {
		d.errorf(pos(e.v), "%s: want a list, got %s", e.key, describe(e.v))
		return nil
	}
	return e.v.Content
}

func (d *decoder) param(e entry) Param {
	p := Param{Name: e.key, Pos: pos(e.k)}
	what := "param " + e.key
	for _, pe := range d.mapping(e.v, what, paramKeys) {
		switch pe.key {
		case "range":
			r := d.strings(pe, what)
			if len(r) != 2 {
				d.errorf(pos(pe.v), "%s: range: want [min, max], got %d values", what, len(r))
				continue
			}
			p.Min, p.Max = r[0], r[1]
		case "step":
			p.Step, _ = d.scalar(pe, what)
		case "choice":
			p.Choices = d.strings(pe, what)
			p.Kind = "choice"
		}
	}
	switch {
	case p.Kind == "choice" && (p.Min != "" || p.Step != ""):
		d.errorf(p.Pos, "%s: give a range or choices, not both", what)
	case p.Kind == "choice" && len(p.Choices) == 0:
		d.errorf(p.Pos, "%s: choice: no values to choose from", what)
	case p.Kind == "choice":
	case p.Min == "":
		d.errorf(p.Pos, "%s: want {range: [min, max]} (optional step) or {choice: [a, b, ...]}", what)
	default:
		kind, err := rangeKind(p.Min, p.Max, p.Step)
		if err != nil {
			d.errorf(p.Pos, "%s: %v", what, err)
		}
		p.Kind = kind
	}
	return p
}

// rangeKind says what a range's bounds are: "int", "duration" or "size".
func rangeKind(lo, hi, step string) (string, error) {
	all := []string{lo, hi}
	if step != "" {
		all = append(all, step)
	}
	ok := func(parse func(string) error) bool {
		for _, s := range all {
			if parse(s) != nil {
				return false
			}
		}
		return true
	}
	switch {
	case ok(func(s string) error { _, err := strconv.ParseInt(s, 10, 64); return err }):
		return "int", nil
	case ok(func(s string) error { _, err := units.ParseDuration(s); return err }):
		return "duration", nil
	case ok(func(s string) error { _, err := units.ParseSize(s); return err }):
		return "size", nil
	}
	return "", fmt.Errorf("range [%s, %s]: want integers, durations (5ms) or sizes (64KiB), all of one kind", lo, hi)
}

// action reads the one key of n not in common as the action's kind and its
// arguments; common keys are returned for the caller.
func (d *decoder) action(n *yaml.Node, a *Action, what string, common []string) []entry {
	var rest []entry
	for _, e := range d.mapping(n, what, nil) {
		if slices.Contains(common, e.key) {
			rest = append(rest, e)
			continue
		}
		if a.Kind != "" {
			d.errorf(pos(e.k), "%s: one kind only, but %s and %s are both given (the common keys are %s)", what, a.Kind, e.key, strings.Join(common, ", "))
			continue
		}
		a.Kind = e.key
		a.Args, a.ArgPos = d.args(e, what)
	}
	if a.Kind == "" && n.Kind == yaml.MappingNode {
		d.errorf(pos(n), "%s: it names no kind beside its common keys (%s): add one, e.g. handshake: {node: h1}", what, strings.Join(common, ", "))
	}
	return rest
}

// args reads an action's arguments: a mapping of scalars, lists of
// scalars and mappings of scalars.
func (d *decoder) args(e entry, what string) (map[string]any, map[string]Pos) {
	args, at := map[string]any{}, map[string]Pos{}
	if e.v.Kind == yaml.ScalarNode && e.v.Tag == "!!null" {
		return args, at
	}
	for _, ae := range d.mapping(e.v, what+": "+e.key, nil) {
		at[ae.key] = pos(ae.v)
		switch ae.v.Kind {
		case yaml.ScalarNode:
			args[ae.key] = ae.v.Value
		case yaml.SequenceNode:
			args[ae.key] = d.strings(ae, what+": "+e.key)
		case yaml.MappingNode:
			m := map[string]string{}
			for _, me := range d.mapping(ae.v, what+": "+e.key+": "+ae.key, nil) {
				if v, ok := d.scalar(me, what); ok {
					m[me.key] = v
				}
			}
			args[ae.key] = m
		default:
			d.errorf(pos(ae.v), "%s: %s: %s: want a value, a list or a mapping", what, e.key, ae.key)
		}
	}
	return args, at
}

func (d *decoder) step(n *yaml.Node, i int) Step {
	s := Step{Action: Action{Name: fmt.Sprintf("step %d", i+1), Pos: pos(n)}}
	what := fmt.Sprintf("step %d", i+1)
	for _, e := range d.action(n, &s.Action, what, stepKeys) {
		switch e.key {
		case "name":
			s.Name, _ = d.scalar(e, what)
		case "within":
			s.Within = d.duration(e, what)
		case "background":
			v, _ := d.scalar(e, what)
			s.Background = v == "true"
			if v != "true" && v != "false" {
				d.errorf(pos(e.v), "%s: background: want true or false, got %q", what, v)
			}
		}
	}
	if s.Background && !slices.Contains(BackgroundActions, s.Kind) {
		d.errorf(s.Pos, "%s: only %s steps run in the background (the others return at once)", what, strings.Join(BackgroundActions, ", "))
	}
	if s.Kind != "" && !slices.Contains(StepActions, s.Kind) {
		if sug := suggest.Closest(s.Kind, StepActions); sug != "" {
			d.errorf(s.Pos, "%s: unknown action %q; did you mean %q? (allowed: %s)", what, s.Kind, sug, strings.Join(StepActions, ", "))
		} else {
			d.errorf(s.Pos, "%s: unknown action %q (allowed: %s)", what, s.Kind, strings.Join(StepActions, ", "))
		}
	}
	if s.Name == fmt.Sprintf("step %d", i+1) && s.Kind != "" {
		s.Name = s.Kind
		if i > 0 {
			s.Name = fmt.Sprintf("%s-%d", s.Kind, i+1)
		}
	}
	return s
}

func (d *decoder) check(n *yaml.Node, i int) Check {
	c := Check{Action: Action{Pos: pos(n)}, Number: strconv.Itoa(i + 1), Visibility: VisibilityVisible}
	what := fmt.Sprintf("check %d", i+1)
	pointsSet := false
	for _, e := range d.action(n, &c.Action, what, checkKeys) {
		switch e.key {
		case "name":
			c.Name, _ = d.scalar(e, what)
		case "points":
			s, _ := d.scalar(e, what)
			v, err := strconv.ParseFloat(s, 64)
			if err != nil || v < 0 || v > 1e6 {
				d.errorf(pos(e.v), "%s: points: want a number of points from 0, got %q", what, s)
			}
			c.Points, pointsSet = v, true
		case "visibility":
			v, _ := d.scalar(e, what)
			if !slices.Contains(visibles, v) {
				d.errorf(pos(e.v), "%s: visibility %q (allowed: %s)", what, v, strings.Join(visibles, ", "))
			}
			c.Visibility = v
		case "requires":
			c.Requires = d.strings(e, what)
		case "within":
			c.Within = d.duration(e, what)
		case "pass":
			c.Pass, _ = d.scalar(e, what)
		case "fail":
			c.Fail, _ = d.scalar(e, what)
		}
	}
	if c.Name == "" {
		d.errorf(c.Pos, "%s: name is missing (students read it)", what)
	}
	if !pointsSet {
		d.errorf(c.Pos, "%s: points is missing (0 is allowed, for a check that only explains)", what)
	}
	return c
}

func (d *decoder) solution(n *yaml.Node) Solution {
	s := Solution{Pos: pos(n), Score: "full"}
	for _, e := range d.mapping(n, "solution", solKeys) {
		switch e.key {
		case "file":
			s.File, _ = d.scalar(e, "solution")
		case "score":
			s.Score, _ = d.scalar(e, "solution")
			if _, err := strconv.ParseFloat(s.Score, 64); err != nil && s.Score != "full" {
				d.errorf(pos(e.v), "solution: score: want full or a number of points, got %q", s.Score)
			}
		case "fails":
			s.Fails = d.strings(e, "solution")
			sort.Strings(s.Fails)
		}
	}
	if s.File == "" {
		d.errorf(s.Pos, "solution: file is missing")
	}
	if s.Score == "full" && len(s.Fails) > 0 {
		d.errorf(s.Pos, "solution %s: score full, but it fails checks: give the score it gets", s.File)
	}
	return s
}
