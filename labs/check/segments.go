package check

import (
	"fmt"
	"strings"
	"time"

	"github.com/netlab/netlab/trace"
)

// maxSegment: no data segment longer than the MSS.
type maxSegment struct {
	sel connSel
	mss int // 0: the MSS the peer announced
}

func maxSegmentKind() Kind {
	return kind("max-segment",
		"no data segment the node sent carries more than mss bytes (default: the MSS the peer announced, 536 if it announced none); a connection that sent no data fails",
		connKeys(map[string]string{
			"mss": "the largest payload allowed, in bytes (default: the MSS the peer announced)",
		}), []string{"node"},
		func(a Args) (*maxSegment, error) {
			sel, err := readConnSel(a)
			if err != nil {
				return nil, err
			}
			n, ok, err := count(a, "mss")
			if err == nil && ok && n == 0 {
				err = &ArgError{Key: "mss", Msg: "want a positive number of bytes"}
			}
			return &maxSegment{sel: sel, mss: n}, err
		})
}

func (c *maxSegment) Eval(ev *Evidence) Outcome {
	var o Outcome
	limit, why := c.mss, ""
	if limit == 0 {
		why = " (the MSS the peer announced)"
	}
	v := c.sel.pick(ev, &o)
	if v != nil && limit == 0 {
		m, ok, traced := v.peerMSS()
		switch {
		case ok:
			limit = m
		case traced:
			limit, why = defaultMSS, " (the peer announced no MSS: RFC 9293's default)"
		default:
			o.Expected = "no data segment longer than the MSS the peer announced"
			o.Actual = "the MSS the peer announced is not in the trace (a listener's trace lacks the SYN it answered): give mss"
			return o
		}
	}
	if limit > 0 {
		o.Expected = fmt.Sprintf("no data segment longer than %d bytes%s", limit, why)
	} else {
		o.Expected = "no data segment longer than the MSS the peer announced"
	}
	if v == nil {
		return o
	}
	n, longest, at := 0, 0, -1
	for i := range v.events {
		e := &v.events[i]
		if e.Kind != trace.KindOut || e.Len == 0 {
			continue
		}
		n++
		if e.Len > longest {
			longest = e.Len
		}
		if e.Len > limit {
			o.Actual = fmt.Sprintf("a segment of %d bytes at %s: %s", e.Len, v.at(e), v.line(e))
			v.around(&o, i)
			return o
		}
		if at < 0 || e.Len > v.events[at].Len {
			at = i
		}
	}
	if n == 0 {
		o.Actual = fmt.Sprintf("%s sent no data segment", v.name())
		return o
	}
	o.Pass = true
	o.Actual = fmt.Sprintf("%s, the longest %d bytes", plural(n, "data segment", "data segments"), longest)
	v.showOnly(&o, []int{at}, at)
	return o
}

// timeWait: the connection entered TIME-WAIT (and stayed long enough).
type timeWait struct {
	sel  connSel
	held time.Duration
}

func timeWaitKind() Kind {
	return kind("time-wait",
		"the connection entered TIME-WAIT on the node (it closed first); with held, it stayed there at least that long before the timewait timer freed it, when the trace shows that end",
		connKeys(map[string]string{
			"held": "the least time in TIME-WAIT (e.g. 60s); not checked if the trace ends first",
		}), []string{"node"},
		func(a Args) (*timeWait, error) {
			sel, err := readConnSel(a)
			if err != nil {
				return nil, err
			}
			d, _, err := duration(a, "held")
			return &timeWait{sel: sel, held: d}, err
		})
}

func (c *timeWait) Eval(ev *Evidence) Outcome {
	o := Outcome{Expected: "the connection enters TIME-WAIT on the node"}
	if c.held > 0 {
		o.Expected += fmt.Sprintf(" and stays there at least %s", c.held)
	}
	v := c.sel.pick(ev, &o)
	if v == nil {
		return o
	}
	entry := -1
	var path []string
	for i := range v.events {
		e := &v.events[i]
		if e.Kind == trace.KindState {
			if len(path) == 0 {
				path = append(path, e.OldState)
			}
			path = append(path, e.State)
		}
		if entry < 0 && e.State == "TIME-WAIT" && (e.Kind == trace.KindState || e.Kind == trace.KindTimer || e.Kind == trace.KindOut) {
			entry = i
		}
	}
	if entry < 0 {
		states := "no state changes traced"
		if len(path) > 0 {
			states = "its states: " + strings.Join(path, " -> ")
		}
		o.Actual = fmt.Sprintf("%s never entered TIME-WAIT (%s)", v.name(), states)
		v.show(&o, len(v.events)-MaxContext, len(v.events), -1)
		return o
	}
	end := -1
	for i := entry + 1; i < len(v.events); i++ {
		e := &v.events[i]
		if e.Kind == trace.KindTimer && e.Timer == "timewait" || e.Kind == trace.KindState && e.State != "TIME-WAIT" {
			end = i
			break
		}
	}
	in := &v.events[entry]
	if end < 0 {
		last := &v.events[len(v.events)-1]
		o.Pass = true
		o.Actual = fmt.Sprintf("entered TIME-WAIT at %s; the trace ends %s later, before it ended", v.at(in),
			time.Duration(last.TimeUS-in.TimeUS)*time.Microsecond)
		v.show(&o, entry-MaxContext/2, entry+1, entry)
		return o
	}
	held := time.Duration(v.events[end].TimeUS-in.TimeUS) * time.Microsecond
	how := "the timewait timer fired"
	if e := &v.events[end]; e.Kind == trace.KindState {
		how = "it went to " + e.State
	}
	o.Actual = fmt.Sprintf("entered TIME-WAIT at %s; %s %s later", v.at(in), how, held)
	o.Pass = held >= c.held
	v.showOnly(&o, []int{entry, end}, end)
	return o
}
