package check

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/netlab/netlab/trace"
)

// The kinds over the scenario's steps and the student's answers.

// stepResult returns the result of the named step, or says in o.Actual
// why there is none.
func stepResult(ev *Evidence, name string, o *Outcome) (any, bool) {
	v, ok := ev.Steps[name]
	if !ok {
		if len(ev.Steps) == 0 {
			o.Actual = fmt.Sprintf("no result of step %s: no step left a result", name)
		} else {
			o.Actual = fmt.Sprintf("no result of step %s (steps with results: %s)", name, strings.Join(sortedKeys(ev.Steps), ", "))
		}
		return nil, false
	}
	return v, true
}

// lookup follows a dotted path ("counters.TcpRetransSegs", "results.0.n")
// into a decoded JSON value: map keys, and list indexes from 0. An empty
// path is the value itself.
func lookup(v any, path string) (any, error) {
	if path == "" {
		return v, nil
	}
	at := ""
	for _, part := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			next, ok := x[part]
			if !ok {
				return nil, fmt.Errorf("no field %q%s (fields: %s)", part, where(at), strings.Join(sortedKeys(x), ", "))
			}
			v = next
		case map[string]string:
			next, ok := x[part]
			if !ok {
				return nil, fmt.Errorf("no field %q%s (fields: %s)", part, where(at), strings.Join(sortedKeys(x), ", "))
			}
			v = next
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(x) {
				return nil, fmt.Errorf("no item %q%s: a list of %d", part, where(at), len(x))
			}
			v = x[i]
		default:
			return nil, fmt.Errorf("no field %q%s: it is %s", part, where(at), jsonText(v))
		}
		if at == "" {
			at = part
		} else {
			at += "." + part
		}
	}
	return v, nil
}

func where(at string) string {
	if at == "" {
		return ""
	}
	return " in " + at
}

// jsonText formats a decoded JSON value for messages and comparisons:
// strings as they are, numbers without exponent where possible, the rest
// as JSON.
func jsonText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case nil:
		return "null"
	}
	if s, ok := scalarText(v); ok {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// number reads a decoded JSON value as a number (numbers, and strings
// that hold one).
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint64:
		return float64(x), true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		return f, err == nil && !math.IsNaN(f) && !math.IsInf(f, 0)
	}
	return 0, false
}

func numText(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// delivered: the bytes arrived intact.
type delivered struct {
	sent, received string // step names
	bytes          int64  // -1: not checked
	sel            *connSel
}

func deliveredKind() Kind {
	keys := connKeys(map[string]string{
		"sent":     "the step that sent the data; its result's sha256 is the data's",
		"received": "the step (a sink's report) whose result's sha256 (or last_sha256) is the data received",
		"bytes":    "the bytes that must arrive (a size: 1000000, 1MB): the received step's bytes, or without it the bytes the node's connection received in order",
	})
	keys["node"] = "with bytes and no received step: the receiving node whose trace counts the bytes"
	return kind("delivered",
		"the data arrived intact: the sha256 of what the received step got equals the sent step's, and/or exactly bytes arrived (by the received step's count, or in order on the node's connection)",
		keys, nil,
		func(a Args) (*delivered, error) {
			c := &delivered{bytes: -1}
			var err error
			if c.sent, err = text(a, "sent", ""); err != nil {
				return nil, err
			}
			if c.received, err = text(a, "received", ""); err != nil {
				return nil, err
			}
			if n, ok, err := sizeArg(a, "bytes"); err != nil {
				return nil, err
			} else if ok {
				c.bytes = n
			}
			_, hasNode := a["node"]
			switch {
			case c.sent != "" && c.received == "":
				return nil, &ArgError{Key: "received", Msg: "give the step that received the data sent"}
			case c.received != "" && c.sent == "" && c.bytes < 0:
				return nil, &ArgError{Key: "sent", Msg: "give the step that sent the data, or bytes"}
			case c.sent == "" && c.received == "" && c.bytes < 0:
				return nil, &ArgError{Key: "sent", Msg: "give sent and received (steps) to compare sha256, or bytes"}
			case c.received == "" && !hasNode:
				return nil, &ArgError{Key: "node", Msg: "give the node whose trace counts the bytes, or the received step"}
			}
			if hasNode && c.received != "" {
				return nil, &ArgError{Key: "node", Msg: "node counts the bytes from its trace, without a received step: give one or the other"}
			}
			if hasNode {
				sel, err := readConnSel(a)
				if err != nil {
					return nil, err
				}
				c.sel = &sel
			} else if _, ok := a["conn"]; ok {
				return nil, &ArgError{Key: "conn", Msg: "conn needs node"}
			}
			return c, nil
		})
}

func (c *delivered) Eval(ev *Evidence) Outcome {
	var want []string
	if c.sent != "" {
		want = append(want, fmt.Sprintf("the sha256 of the data step %s received equals that of the data step %s sent", c.received, c.sent))
	}
	if c.bytes >= 0 {
		want = append(want, fmt.Sprintf("%d bytes delivered", c.bytes))
	}
	o := Outcome{Expected: strings.Join(want, ", and ")}
	var facts []string
	if c.sent != "" {
		sv, ok := stepResult(ev, c.sent, &o)
		if !ok {
			return o
		}
		rv, ok := stepResult(ev, c.received, &o)
		if !ok {
			return o
		}
		sum := func(step string, v any, fields ...string) (string, bool) {
			for _, f := range fields {
				if x, err := lookup(v, f); err == nil {
					if s, ok := x.(string); ok && s != "" {
						return strings.ToLower(s), true
					}
				}
			}
			o.Actual = fmt.Sprintf("the result of step %s has no sha256", step)
			return "", false
		}
		a, ok := sum(c.sent, sv, "sha256")
		if !ok {
			return o
		}
		b, ok := sum(c.received, rv, "sha256", "last_sha256")
		if !ok {
			return o
		}
		if a != b {
			o.Actual = fmt.Sprintf("sha256 %s sent, %s received", short(a), short(b))
			if n, err := lookup(rv, "bytes"); err == nil {
				o.Actual += fmt.Sprintf(" (%s bytes)", jsonText(n))
			}
			return o
		}
		facts = append(facts, "sha256 "+short(a)+" on both sides")
	}
	if c.bytes >= 0 {
		var got int64
		switch {
		case c.received != "":
			rv, ok := stepResult(ev, c.received, &o)
			if !ok {
				return o
			}
			x, err := lookup(rv, "bytes")
			f, isNum := number(x)
			if err != nil || !isNum {
				o.Actual = fmt.Sprintf("the result of step %s has no byte count", c.received)
				return o
			}
			got = int64(f)
		default:
			v := c.sel.pick(ev, &o)
			if v == nil {
				return o
			}
			got = v.inOrderReceived()
		}
		if got != c.bytes {
			o.Actual = strings.Join(append(facts, fmt.Sprintf("%d bytes delivered", got)), ", ")
			return o
		}
		facts = append(facts, fmt.Sprintf("%d bytes delivered", got))
	}
	o.Pass = true
	o.Actual = strings.Join(facts, ", ")
	return o
}

func short(sum string) string {
	if len(sum) > 12 {
		return sum[:12] + "…"
	}
	return sum
}

// inOrderReceived counts the payload bytes the node received in order on
// the connection: how far it acknowledged past the peer's ISN (rcv_nxt, and
// the ACKs it sent), less the SYN and a FIN it acknowledged.
func (v *view) inOrderReceived() int64 {
	org := originOf(v.events)
	var far uint32
	seen := func(x uint32) {
		if r := x - org.irs; r > far && r < 1<<31 {
			far = r
		}
	}
	for i := range v.events {
		e := &v.events[i]
		switch {
		case e.Kind == trace.KindOut && e.HasFlag('.'):
			seen(e.Ack)
		case e.Kind != trace.KindLost && e.State != "SYN-SENT" && e.State != "LISTEN" && e.State != "CLOSED" && e.State != "":
			seen(e.RcvNxt)
		}
	}
	n := int64(far) - 1
	for i := range v.events {
		e := &v.events[i]
		if e.Kind == trace.KindIn && e.HasFlag('F') && e.Seq-org.irs+uint32(e.Len) < far {
			n-- // the FIN's sequence number is acknowledged too
			break
		}
	}
	return max(n, 0)
}

// counter: a bound on a counter in a step's result.
type counter struct {
	step, name, since string
	lo, hi            int
}

func counterKind() Kind {
	return kind("counter",
		"a counter (an nstat name such as TcpRetransSegs, or any numeric field) in a step's result is between min and max; with since, its increase from that step's result",
		map[string]string{
			"step":  "the step whose result holds the counter (required)",
			"name":  "the counter: a key of the result's counters map, or a dotted path into the result (required)",
			"min":   "the least value",
			"max":   "the greatest value",
			"since": "a step read before: the counter's increase since then is bounded",
		}, []string{"step", "name"},
		func(a Args) (*counter, error) {
			c := &counter{}
			var err error
			if c.step, err = text(a, "step", ""); err != nil {
				return nil, err
			}
			if c.name, err = text(a, "name", ""); err != nil {
				return nil, err
			}
			if c.name == "" {
				return nil, &ArgError{Key: "name", Msg: "name the counter, e.g. TcpRetransSegs"}
			}
			if c.since, err = text(a, "since", ""); err != nil {
				return nil, err
			}
			c.lo, c.hi, err = bounds(a)
			return c, err
		})
}

// counterValue reads a counter from a step's result: result.counters[name],
// else the path name.
func counterValue(v any, name string) (float64, error) {
	x, err := lookup(v, "counters")
	if err == nil {
		if m, ok := x.(map[string]any); ok {
			if y, ok := m[name]; ok {
				if f, ok := number(y); ok {
					return f, nil
				}
				return 0, fmt.Errorf("counter %s is %s, not a number", name, jsonText(y))
			}
		}
	}
	y, err := lookup(v, name)
	if err != nil {
		return 0, fmt.Errorf("counter %s: %v", name, err)
	}
	f, ok := number(y)
	if !ok {
		return 0, fmt.Errorf("counter %s is %s, not a number", name, jsonText(y))
	}
	return f, nil
}

func (c *counter) Eval(ev *Evidence) Outcome {
	o := Outcome{Expected: fmt.Sprintf("%s %s (step %s)", c.name, boundsText(c.lo, c.hi), c.step)}
	if c.since != "" {
		o.Expected = fmt.Sprintf("%s to grow by %s from step %s to step %s", c.name, boundsText(c.lo, c.hi), c.since, c.step)
	}
	v, ok := stepResult(ev, c.step, &o)
	if !ok {
		return o
	}
	n, err := counterValue(v, c.name)
	if err != nil {
		o.Actual = fmt.Sprintf("step %s: %v", c.step, err)
		return o
	}
	o.Actual = fmt.Sprintf("%s = %s", c.name, numText(n))
	if c.since != "" {
		b, ok := stepResult(ev, c.since, &o)
		if !ok {
			return o
		}
		m, err := counterValue(b, c.name)
		if err != nil {
			o.Actual = fmt.Sprintf("step %s: %v", c.since, err)
			return o
		}
		o.Actual = fmt.Sprintf("%s grew by %s (%s -> %s)", c.name, numText(n-m), numText(m), numText(n))
		n -= m
	}
	o.Pass = n >= float64(c.lo) && (c.hi < 0 || n <= float64(c.hi))
	return o
}

// answer: the student's answer equals the measured truth.
type answer struct {
	name, truth string
	tol         numTol
}

func answerKind() Kind {
	return kind("answer",
		"the student's answer equals the value measured from the run: numbers within tolerance, other answers exactly (surrounding spaces aside)",
		map[string]string{
			"name":      "the answer's name in the answers file (required)",
			"truth":     "the measured value's name (default: the answer's name)",
			"tolerance": "for numbers: an absolute difference (0.5) or a percentage of the truth (5%); default 0",
		}, []string{"name"},
		func(a Args) (*answer, error) {
			c := &answer{}
			var err error
			if c.name, err = text(a, "name", ""); err != nil {
				return nil, err
			}
			if c.name == "" {
				return nil, &ArgError{Key: "name", Msg: "name the answer"}
			}
			if c.truth, err = text(a, "truth", c.name); err != nil {
				return nil, err
			}
			c.tol, err = numTolerance(a, "tolerance", numTol{}, false)
			return c, err
		})
}

func (c *answer) Eval(ev *Evidence) Outcome {
	var o Outcome
	truth, ok := ev.Truth[c.truth]
	if !ok {
		o.Expected = fmt.Sprintf("the measured value %s", c.truth)
		o.Actual = fmt.Sprintf("no measured value %s: the run did not show it", c.truth)
		return o
	}
	truth = strings.TrimSpace(truth)
	tf, tNum := number(truth)
	o.Expected = truth
	if tNum && (c.tol.v > 0) {
		o.Expected = fmt.Sprintf("%s ± %s", truth, c.tol)
	}
	got, ok := ev.Answers[c.name]
	if !ok {
		o.Actual = fmt.Sprintf("no answer %s", c.name)
		return o
	}
	got = strings.TrimSpace(got)
	o.Actual = got
	if got == "" {
		o.Actual = fmt.Sprintf("answer %s is empty", c.name)
		return o
	}
	if gf, gNum := number(got); tNum && gNum {
		o.Pass = c.tol.ok(gf, tf)
		return o
	}
	o.Pass = got == truth
	return o
}

// step: a field of a step's result matches.
type stepCheck struct {
	step, field string
	equals      *string
	re          *regexp.Regexp
	exit        int // -1: not checked
}

func stepKind() Kind {
	return kind("step",
		"a field of a step's result (e.g. a command's stdout or exit status) equals a value, matches a regular expression, and/or the step's exit status is exit",
		map[string]string{
			"step":   "the step (required)",
			"field":  "a dotted path into the step's result (default: the whole result; stdout, results.0.error...)",
			"equals": "the field's value, as text (spaces around it aside)",
			"regex":  "a regular expression (RE2) the field's text must match",
			"exit":   "the step's exit status: its result's exit, exit_status or exit_code field",
		}, []string{"step"},
		func(a Args) (*stepCheck, error) {
			c := &stepCheck{exit: -1}
			var err error
			if c.step, err = text(a, "step", ""); err != nil {
				return nil, err
			}
			if c.field, err = text(a, "field", ""); err != nil {
				return nil, err
			}
			if s, ok, err := scalar(a, "equals"); err != nil {
				return nil, err
			} else if ok {
				c.equals = &s
			}
			if c.re, err = regex(a, "regex"); err != nil {
				return nil, err
			}
			if n, ok, err := count(a, "exit"); err != nil {
				return nil, err
			} else if ok {
				c.exit = n
			}
			if c.equals == nil && c.re == nil && c.exit < 0 {
				return nil, &ArgError{Key: "equals", Msg: "give equals, regex or exit"}
			}
			return c, nil
		})
}

func (c *stepCheck) Eval(ev *Evidence) Outcome {
	var want []string
	what := "step " + c.step
	if c.field != "" {
		what += "'s " + c.field
	}
	if c.exit >= 0 {
		want = append(want, fmt.Sprintf("step %s to exit with status %d", c.step, c.exit))
	}
	if c.equals != nil {
		want = append(want, fmt.Sprintf("%s = %q", what, strings.TrimSpace(*c.equals)))
	}
	if c.re != nil {
		want = append(want, fmt.Sprintf("%s to match /%s/", what, c.re))
	}
	o := Outcome{Expected: strings.Join(want, ", and ")}
	v, ok := stepResult(ev, c.step, &o)
	if !ok {
		return o
	}
	if c.exit >= 0 {
		var status any
		var err error
		for _, f := range []string{"exit", "exit_status", "exit_code"} {
			if status, err = lookup(v, f); err == nil {
				break
			}
		}
		n, isNum := number(status)
		switch {
		case err != nil:
			o.Actual = fmt.Sprintf("the result of step %s has no exit status", c.step)
			return o
		case !isNum:
			o.Actual = fmt.Sprintf("step %s's exit status is %s, not a number", c.step, jsonText(status))
			return o
		case n != float64(c.exit):
			o.Actual = fmt.Sprintf("step %s exited with status %s", c.step, numText(n))
			return o
		}
	}
	var got string
	if c.equals != nil || c.re != nil {
		x, err := lookup(v, c.field)
		if err != nil {
			o.Actual = fmt.Sprintf("step %s: %v", c.step, err)
			return o
		}
		got = jsonText(x)
		if c.equals != nil && strings.TrimSpace(got) != strings.TrimSpace(*c.equals) {
			o.Actual = fmt.Sprintf("%s = %q", what, clip(got))
			return o
		}
		if c.re != nil && !c.re.MatchString(got) {
			o.Actual = fmt.Sprintf("%s = %q, which does not match", what, clip(got))
			return o
		}
	}
	o.Pass = true
	switch {
	case c.equals != nil || c.re != nil:
		o.Actual = fmt.Sprintf("%s = %q", what, clip(got))
	default:
		o.Actual = fmt.Sprintf("step %s exited with status %d", c.step, c.exit)
	}
	return o
}

// clip shortens long text for a message.
func clip(s string) string {
	const n = 300
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
