package check

import (
	"fmt"
	"strings"
	"time"

	"github.com/netlab/netlab/trace"
)

// handshake: the three-way handshake completed, as the node saw it.
type handshake struct {
	sel          connSel
	options      []string // canonical names
	mss, peerMSS int      // 0: not checked
}

func handshakeKind() Kind {
	return kind("handshake",
		"the node's three-way handshake completed: SYN, SYN-ACK and ACK in order (sent or received as its role says) and ESTABLISHED reached; optionally with these SYN options on both SYNs and these MSS values",
		connKeys(map[string]string{
			"options":  "SYN options both SYNs must carry: a list of mss, sackOK, wscale, TS",
			"mss":      "the MSS the node announced in its SYN (or SYN-ACK)",
			"peer-mss": "the MSS the peer announced in its SYN (or SYN-ACK)",
		}), []string{"node"},
		func(a Args) (*handshake, error) {
			sel, err := readConnSel(a)
			if err != nil {
				return nil, err
			}
			c := &handshake{sel: sel}
			opts, err := list(a, "options")
			if err != nil {
				return nil, err
			}
			for i, o := range opts {
				n, ok := optionName(o)
				if !ok {
					return nil, &ArgError{Key: "options", Index: i + 1, Msg: badOption(o)}
				}
				c.options = append(c.options, n)
			}
			if c.mss, err = countDefault(a, "mss", 0); err != nil {
				return nil, err
			}
			if c.peerMSS, err = countDefault(a, "peer-mss", 0); err != nil {
				return nil, err
			}
			return c, nil
		})
}

func (c *handshake) Eval(ev *Evidence) Outcome {
	o := Outcome{Expected: "a completed three-way handshake (SYN, SYN-ACK, ACK; ESTABLISHED)"}
	if len(c.options) > 0 {
		o.Expected += " with " + strings.Join(c.options, ", ") + " on both SYNs"
	}
	if c.mss > 0 {
		o.Expected += fmt.Sprintf(", the node announcing MSS %d", c.mss)
	}
	if c.peerMSS > 0 {
		o.Expected += fmt.Sprintf(", the peer announcing MSS %d", c.peerMSS)
	}
	v := c.sel.pick(ev, &o)
	if v == nil {
		return o
	}
	// The opening: the first SYN without ACK, or (a listener's trace,
	// which lacks the SYN it answered) the first SYN-ACK it sent.
	syn, firstSynAck := -1, -1
	for i := range v.events {
		e := &v.events[i]
		if !isSeg(e) || !e.HasFlag('S') {
			continue
		}
		if !e.HasFlag('.') && syn < 0 {
			syn = i
		}
		if e.HasFlag('.') && firstSynAck < 0 {
			firstSynAck = i
		}
	}
	synTraced := true
	if syn < 0 || firstSynAck >= 0 && firstSynAck < syn {
		if firstSynAck < 0 || v.events[firstSynAck].Kind != trace.KindOut {
			o.Actual = fmt.Sprintf("no SYN on %s: the trace has no opening of this connection", v.name())
			v.show(&o, 0, MaxContext, -1)
			return o
		}
		syn, synTraced = firstSynAck, false
	}
	first := &v.events[syn]
	active := synTraced && first.Kind == trace.KindOut
	synDir, back := trace.KindOut, trace.KindIn
	if !active {
		synDir, back = trace.KindIn, trace.KindOut
	}
	// The segments that must follow, in order.
	synAck, ack, est := -1, -1, -1
	if !synTraced {
		synAck = syn
	}
	var peerISN uint32
	if synAck >= 0 {
		peerISN = v.events[synAck].Seq
	}
	for i := syn + 1; i < len(v.events); i++ {
		e := &v.events[i]
		if e.State == "ESTABLISHED" && est < 0 && (e.Kind == trace.KindState || synAck >= 0) {
			est = i
		}
		if !isSeg(e) {
			continue
		}
		switch {
		case synAck < 0 && e.Kind == back && e.HasFlag('R'):
			if active {
				o.Actual = fmt.Sprintf("SYN sent at %s, answered by a reset (%s) at %s: the connection was refused", v.at(first), e.Flags, v.at(e))
			} else {
				o.Actual = fmt.Sprintf("SYN received at %s, answered by a reset (%s) at %s", v.at(first), e.Flags, v.at(e))
			}
			v.show(&o, syn, i+1, i)
			return o
		case synAck < 0 && e.Kind == back && e.HasFlag('S') && e.HasFlag('.') && e.Ack == first.Seq+1:
			synAck, peerISN = i, e.Seq
		case synAck >= 0 && ack < 0 && e.Kind == synDir && e.HasFlag('.') && !e.HasFlag('S') && e.Ack == peerISN+1:
			ack = i
		}
	}
	switch {
	case synAck < 0:
		n := 0
		for i := syn; i < len(v.events); i++ {
			if e := &v.events[i]; e.Kind == synDir && e.HasFlag('S') && !e.HasFlag('.') {
				n++
			}
		}
		tries := ""
		if n > 1 {
			tries = fmt.Sprintf(" (%d times)", n)
		}
		if active {
			o.Actual = fmt.Sprintf("SYN sent at %s%s, but no SYN-ACK came back", v.at(first), tries)
		} else {
			o.Actual = fmt.Sprintf("SYN received at %s%s, but the node sent no SYN-ACK", v.at(first), tries)
		}
		v.show(&o, syn, len(v.events), -1)
		return o
	case ack < 0:
		what := "the node sent no ACK for it"
		if !active {
			what = "no ACK for it came back"
		}
		o.Actual = fmt.Sprintf("SYN-ACK at %s, but %s", v.at(&v.events[synAck]), what)
		v.show(&o, syn, len(v.events), synAck)
		return o
	case est < 0:
		o.Actual = fmt.Sprintf("SYN, SYN-ACK and ACK seen, but the node never reached ESTABLISHED (last state %s)", v.events[len(v.events)-1].State)
		v.show(&o, syn, len(v.events), ack)
		return o
	}
	v.show(&o, syn, max(ack, est)+1, -1)
	// The two SYNs: the node's and the peer's. A listener's trace lacks
	// the peer's SYN: the SYN-ACK stands for it, as it carries sackOK, TS
	// and wscale only when the SYN offered them (RFC 2018, RFC 7323).
	mine, theirs := first, &v.events[synAck]
	if !active {
		mine, theirs = &v.events[synAck], first
	}
	if !synTraced {
		theirs = nil
	}
	who := func(e *trace.Event) string {
		if e == mine {
			return "the node's " + e.Flags
		}
		return "the peer's " + e.Flags
	}
	for _, name := range c.options {
		for _, e := range []*trace.Event{mine, theirs} {
			if e == nil {
				continue
			}
			if _, ok := synOptions(e.Options)[name]; !ok {
				o.Actual = fmt.Sprintf("%s at %s lacks %s (its options: %s)", who(e), v.at(e), name, orNone(e.Options))
				o.Mark = markIn(&o, e)
				return o
			}
		}
	}
	for _, m := range []struct {
		want int
		e    *trace.Event
	}{{c.mss, mine}, {c.peerMSS, theirs}} {
		if m.want == 0 {
			continue
		}
		if m.e == nil {
			o.Actual = "the MSS the peer announced is not in the trace: a listener's trace lacks the SYN it answered"
			return o
		}
		got, ok := optionInt(m.e.Options, "mss")
		if !ok || got != m.want {
			o.Actual = fmt.Sprintf("%s at %s announced %s", who(m.e), v.at(m.e), mssText(got, ok))
			o.Mark = markIn(&o, m.e)
			return o
		}
	}
	o.Pass = true
	var peer string
	if theirs != nil {
		peer = "the peer's " + orNone(theirs.Options)
	} else {
		peer = "the peer's SYN is not in a listener's trace"
		if len(c.options) > 0 {
			peer += fmt.Sprintf(" (%s inferred from the SYN-ACK, which carries them only if the SYN did)", strings.Join(c.options, ", "))
		}
	}
	rtt := time.Duration(v.events[ack].TimeUS-v.events[syn].TimeUS) * time.Microsecond
	o.Actual = fmt.Sprintf("handshake completed in %s: ESTABLISHED at %s; the node's options %s; %s",
		rtt, v.at(&v.events[est]), orNone(mine.Options), peer)
	return o
}

func mssText(n int, ok bool) string {
	if !ok {
		return "no MSS"
	}
	return fmt.Sprintf("MSS %d", n)
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// markIn returns the copy of e in o.Context (matched by time, kind and
// sequence number), or nil.
func markIn(o *Outcome, e *trace.Event) *trace.Event {
	for i := range o.Context {
		c := &o.Context[i]
		if c.TimeUS == e.TimeUS && c.Kind == e.Kind && c.Seq == e.Seq && c.Flags == e.Flags {
			return c
		}
	}
	return nil
}
