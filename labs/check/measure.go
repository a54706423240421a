package check

import (
	"errors"
	"fmt"
	"sort"
	"strconv"

	"github.com/netlab/netlab/trace"
)

// Measure is one value the grader can measure from a run, to compare with
// a student's answer (the answer kind): its name in lab files, what it
// measures, its parameters and its constructor.
type Measure struct {
	// Name is the measure's name in lab files ("isn").
	Name string
	// Doc says in one sentence what it measures, and in what unit.
	Doc string
	// Keys are its parameters: name → one-line doc.
	Keys map[string]string
	// Required are the keys that must be given.
	Required []string
	// New validates the arguments (errors are *ArgError) and returns the
	// function that measures the value from a run's evidence, as the text
	// a student would write. It returns an error when the run does not
	// show the value (no such node, connection, SYN, timeout...).
	New func(Args) (func(*Evidence) (string, error), error)
}

// Measures returns every measure, sorted by name.
func Measures() []Measure {
	ms := []Measure{
		connMeasure("isn", "the initial sequence number (absolute, decimal) of the side's SYN",
			map[string]string{"side": sideDoc}, isnMeasure),
		connMeasure("mss", "the MSS the side announced in its SYN, in bytes",
			map[string]string{"side": sideDoc}, synIntMeasure("mss")),
		connMeasure("wscale", "the window scale shift the side announced in its SYN",
			map[string]string{"side": sideDoc}, synIntMeasure("wscale")),
		connMeasure("syn-options", "the options of the side's SYN, by name, in tcpdump's order: \"mss,sackOK,TS,wscale\"",
			map[string]string{"side": sideDoc}, synOptionsMeasure),
		connMeasure("retransmits", "the number of segments the node retransmitted (of the kind asked)",
			map[string]string{"kind": "which count: any (default), fast or rto"}, retransmitsMeasure),
		connMeasure("rto", "the RTO, in ms, of a timeout: the first retransmission timeout of a segment, or the one after backoffs doublings",
			map[string]string{"backoffs": "how many backoffs before the timeout measured (default 0: the first timeout)"}, rtoMeasure),
		connMeasure("srtt", "the smoothed RTT, in ms (to the microsecond), at the connection's last event (at: last), or its least or greatest value (at: min, max)",
			map[string]string{"at": "last (default), min or max"}, srttMeasure),
		connMeasure("segments", "the number of segments the node sent that carried data, retransmissions not counted",
			nil, func(Args) (func(*view) (string, error), error) {
				return func(v *view) (string, error) {
					n, _ := v.dataSegments()
					return strconv.Itoa(n), nil
				}, nil
			}),
		connMeasure("goodput", "the node's goodput, in Mbit/s (decimal, to the kbit/s): the payload bytes the peer acknowledged, over the time from the node's first data segment to the ACK that acknowledged the last of them (the whole data, or as much as was ever acknowledged)",
			nil, goodputMeasure),
		connMeasure("reduction", "the multiplicative decrease at a loss (entry into fast recovery, or an RTO not already in loss; the first, or the at-th): the ssthresh set at it over the cwnd (or the flight size) just before it, to 2 decimals",
			map[string]string{
				"at": "which loss: 1 (default, the first), 2...",
				"of": "what ssthresh is divided by: cwnd (default; what Linux multiplies, for Reno and CUBIC) or flight, the bytes in flight, the trace's inflight (RFC 5681 eq. 4's FlightSize)",
			}, reductionMeasure),
		connMeasure("loss-events", "the number of congestion events: entries into fast recovery, and retransmission timeouts not already in loss (the losses ssthresh-halved checks)",
			nil, lossEventsMeasure),
		connMeasure("mathis", "Mathis et al.'s throughput prediction, in Mbit/s (decimal, to the kbit/s): MSS/RTT × sqrt(3/2) / sqrt(p), with MSS the largest data segment the node sent, RTT the smoothed RTT at the connection's last event (srtt's at: last) and p its loss events (loss-events) over the data segments it sent (segments: retransmissions not counted)",
			nil, mathisMeasure),
		connMeasure("bytes", "the payload bytes the node received in order on the connection",
			nil, func(Args) (func(*view) (string, error), error) {
				return func(v *view) (string, error) { return strconv.FormatInt(v.inOrderReceived(), 10), nil }, nil
			}),
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Name < ms[j].Name })
	return ms
}

const sideDoc = "whose SYN: local (the node's, default) or remote (its peer's; not in a listener's trace)"

// connMeasure builds a Measure over one connection of a node's trace.
func connMeasure(name, doc string, more map[string]string, build func(Args) (func(*view) (string, error), error)) Measure {
	keys := connKeys(more)
	return Measure{Name: name, Doc: doc, Keys: keys, Required: []string{"node"},
		New: func(a Args) (func(*Evidence) (string, error), error) {
			if err := checkKeys(a, keys, []string{"node"}); err != nil {
				return nil, err
			}
			sel, err := readConnSel(a)
			if err != nil {
				return nil, err
			}
			f, err := build(a)
			if err != nil {
				return nil, err
			}
			return func(ev *Evidence) (string, error) {
				var o Outcome
				v := sel.pick(ev, &o)
				if v == nil {
					return "", errors.New(o.Actual)
				}
				s, err := f(v)
				if err != nil {
					return "", fmt.Errorf("%s: %w", v.name(), err)
				}
				return s, nil
			}, nil
		}}
}

// sideSYN returns the SYN of the side asked: local or remote.
func sideSYN(a Args) (func(*view) (*trace.Event, error), error) {
	side, err := choice(a, "side", "local", "local", "remote")
	if err != nil {
		return nil, err
	}
	return func(v *view) (*trace.Event, error) {
		out, in := v.syns()
		i, who := out, "the node"
		if side == "remote" {
			i, who = in, "the peer"
		}
		if i < 0 {
			return nil, fmt.Errorf("the trace holds no SYN from %s", who)
		}
		return &v.events[i], nil
	}, nil
}

// synMeasure builds a measure of the side's SYN (the side key): f reads
// the value off it.
func synMeasure(f func(v *view, e *trace.Event) (string, error)) func(Args) (func(*view) (string, error), error) {
	return func(a Args) (func(*view) (string, error), error) {
		syn, err := sideSYN(a)
		if err != nil {
			return nil, err
		}
		return func(v *view) (string, error) {
			e, err := syn(v)
			if err != nil {
				return "", err
			}
			return f(v, e)
		}, nil
	}
}

func isnMeasure(a Args) (func(*view) (string, error), error) {
	return synMeasure(func(_ *view, e *trace.Event) (string, error) {
		return strconv.FormatUint(uint64(e.Seq), 10), nil
	})(a)
}

func synIntMeasure(opt string) func(Args) (func(*view) (string, error), error) {
	return synMeasure(func(v *view, e *trace.Event) (string, error) {
		n, ok := optionInt(e.Options, opt)
		if !ok {
			return "", fmt.Errorf("the %s at %s carries no %s option (options: %s)", e.Flags, v.at(e), opt, orNone(e.Options))
		}
		return strconv.Itoa(n), nil
	})
}

func synOptionsMeasure(a Args) (func(*view) (string, error), error) {
	return synMeasure(func(_ *view, e *trace.Event) (string, error) {
		if l := optionList(e.Options); l != "" {
			return l, nil
		}
		return "none", nil // a SYN without options: an answer, not an empty one
	})(a)
}

func retransmitsMeasure(a Args) (func(*view) (string, error), error) {
	k, err := choice(a, "kind", retxAny, retxAny, retxFast, retxRTO)
	if err != nil {
		return nil, err
	}
	return func(v *view) (string, error) {
		return strconv.Itoa(countRetx(v.retransmissions(), k)), nil
	}, nil
}

func rtoMeasure(a Args) (func(*view) (string, error), error) {
	n, err := countDefault(a, "backoffs", 0)
	if err != nil {
		return nil, err
	}
	return func(v *view) (string, error) {
		runs := v.rtoRuns()
		longest := 0
		for _, run := range runs {
			if len(run) > n {
				return strconv.FormatInt(v.events[run[n]].RTOMS, 10), nil
			}
			longest = max(longest, len(run))
		}
		if len(runs) == 0 {
			return "", errors.New("no retransmission timeout")
		}
		return "", fmt.Errorf("no segment timed out %d times (at most %d)", n+1, longest)
	}, nil
}

func srttMeasure(a Args) (func(*view) (string, error), error) {
	at, err := choice(a, "at", "last", "last", "min", "max")
	if err != nil {
		return nil, err
	}
	return func(v *view) (string, error) {
		var got int64 = -1
		for i := range v.events {
			e := &v.events[i]
			if e.Kind == trace.KindLost || e.SRTTUS <= 0 {
				continue
			}
			switch {
			case got < 0, at == "last",
				at == "min" && e.SRTTUS < got,
				at == "max" && e.SRTTUS > got:
				got = e.SRTTUS
			}
		}
		if got < 0 {
			return "", errors.New("no RTT sample: srtt is never set")
		}
		return strconv.FormatFloat(float64(got)/1e3, 'f', -1, 64), nil
	}, nil
}
