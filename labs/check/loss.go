package check

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/netlab/netlab/trace"
)

// Retransmission kinds, as the retransmits kind and measure name them.
const (
	retxAny  = "any"
	retxFast = "fast"
	retxRTO  = "rto"
)

// retx is one retransmission the node sent.
type retx struct {
	i    int    // index in the connection's events
	kind string // retxFast, retxRTO, or "other"
}

// retransmissions lists the retransmitted segments the node sent, each
// classified: rto when the connection was in the loss state (after a
// retransmission timeout) or an rto timer event came just before it (a
// SYN's retransmission); fast when it was in fast recovery (entered on
// duplicate ACKs or SACKs); other otherwise.
func (v *view) retransmissions() []retx {
	var out []retx
	lastRTO := false // the last event other than a segment sent was an rto timer
	for i := range v.events {
		e := &v.events[i]
		if e.Kind != trace.KindOut {
			lastRTO = e.Kind == trace.KindTimer && e.Timer == "rto"
			continue
		}
		if !e.Retrans {
			continue
		}
		k := "other"
		switch {
		case e.CAState == "loss" || lastRTO:
			k = retxRTO
		case e.CAState == "recovery":
			k = retxFast
		}
		out = append(out, retx{i, k})
	}
	return out
}

func countRetx(rs []retx, kind string) int {
	n := 0
	for _, r := range rs {
		if kind == retxAny || r.kind == kind {
			n++
		}
	}
	return n
}

// retxSummary says how many retransmissions of each kind: "5 retransmissions
// (3 fast, 2 after RTO)".
func retxSummary(rs []retx) string {
	fast, rto := countRetx(rs, retxFast), countRetx(rs, retxRTO)
	var parts []string
	if fast > 0 {
		parts = append(parts, fmt.Sprintf("%d fast", fast))
	}
	if rto > 0 {
		parts = append(parts, fmt.Sprintf("%d after RTO", rto))
	}
	if other := len(rs) - fast - rto; other > 0 {
		parts = append(parts, fmt.Sprintf("%d other", other))
	}
	s := retxCount(len(rs), retxAny)
	if len(parts) > 0 {
		s += " (" + strings.Join(parts, ", ") + ")"
	}
	return s
}

// retxCount writes n retransmissions of the kind: "1 fast retransmission".
func retxCount(n int, kind string) string {
	switch kind {
	case retxFast:
		return plural(n, "fast retransmission", "fast retransmissions")
	case retxRTO:
		return plural(n, "retransmission after RTO", "retransmissions after RTO")
	}
	return plural(n, "retransmission", "retransmissions")
}

// boundsCount writes bounds on a count: "at least 1 retransmission".
func boundsCount(lo, hi int, kind string) string {
	b := boundsText(lo, hi)
	if hi == 0 {
		b = "no"
	}
	k := hi // "at most 1 retransmission", "between 1 and 3 retransmissions"
	switch {
	case hi == 0:
		k = 2 // "no retransmissions"
	case hi < 0:
		k = lo // "at least 1 retransmission"
	}
	n := retxCount(k, kind)
	return b + n[strings.IndexByte(n, ' '):]
}

// retransmits: the count of retransmitted segments is within bounds.
type retransmits struct {
	sel    connSel
	lo, hi int
	kind   string
}

func retransmitsKind() Kind {
	return kind("retransmits",
		"the node retransmitted between min and max segments (of the kind asked: any, fast — in fast recovery — or rto — after a retransmission timeout)",
		connKeys(map[string]string{
			"min":  "the fewest retransmitted segments",
			"max":  "the most retransmitted segments",
			"kind": "which retransmissions count: any (default), fast or rto",
		}), []string{"node"},
		func(a Args) (*retransmits, error) {
			sel, err := readConnSel(a)
			if err != nil {
				return nil, err
			}
			c := &retransmits{sel: sel}
			if c.lo, c.hi, err = bounds(a); err != nil {
				return nil, err
			}
			c.kind, err = choice(a, "kind", retxAny, retxAny, retxFast, retxRTO)
			return c, err
		})
}

func (c *retransmits) Eval(ev *Evidence) Outcome {
	o := Outcome{Expected: boundsCount(c.lo, c.hi, c.kind)}
	v := c.sel.pick(ev, &o)
	if v == nil {
		return o
	}
	rs := v.retransmissions()
	n := countRetx(rs, c.kind)
	o.Pass = inBounds(n, c.lo, c.hi)
	o.Actual = retxSummary(rs)
	if c.kind != retxAny {
		o.Actual = retxCount(n, c.kind) + "; in all " + o.Actual
	}
	var idx []int
	mark := -1
	for _, r := range rs {
		if c.kind == retxAny || r.kind == c.kind {
			idx = append(idx, r.i)
			if c.hi >= 0 && len(idx) == c.hi+1 {
				mark = r.i
			}
		}
	}
	v.showOnly(&o, idx, mark)
	return o
}

// fastRetransmit: a fast retransmission after enough duplicate ACKs.
type fastRetransmit struct {
	sel     connSel
	dupacks int
}

func fastRetransmitKind() Kind {
	return kind("fast-retransmit",
		"the node made a fast retransmission (the first of a fast recovery) after at least dupacks duplicate ACKs of the retransmitted sequence number; SACK-carrying ACKs count, window changes do not matter",
		connKeys(map[string]string{
			"dupacks": "the duplicate ACKs that must come first (default 3, RFC 5681)",
		}), []string{"node"},
		func(a Args) (*fastRetransmit, error) {
			sel, err := readConnSel(a)
			if err != nil {
				return nil, err
			}
			n, err := countDefault(a, "dupacks", 3)
			return &fastRetransmit{sel: sel, dupacks: n}, err
		})
}

// dupAcksBefore counts the duplicate ACKs of seq received before event i,
// back to the ACK that first acknowledged up to seq, and returns the index
// of that first ACK (or of the earliest duplicate).
func (v *view) dupAcksBefore(i int, seq uint32) (n, from int) {
	from = i
	for j := i - 1; j >= 0; j-- {
		e := &v.events[j]
		if e.Kind != trace.KindIn {
			continue
		}
		if e.Ack != seq || !e.HasFlag('.') {
			break
		}
		from = j
		if e.SndUna != seq {
			break // this ACK moved snd_una up to seq: the original, not a duplicate
		}
		if e.Len == 0 && !e.HasFlag('S') && !e.HasFlag('F') && !e.HasFlag('R') {
			n++
		}
	}
	return n, from
}

func (c *fastRetransmit) Eval(ev *Evidence) Outcome {
	o := Outcome{Expected: "a fast retransmission after at least " + plural(c.dupacks, "duplicate ACK", "duplicate ACKs")}
	v := c.sel.pick(ev, &o)
	if v == nil {
		return o
	}
	rs := v.retransmissions()
	firstShort, shortN, shortFrom := -1, 0, 0
	prevCA := ""
	for i := range v.events {
		e := &v.events[i]
		if e.Kind == trace.KindOut && e.Retrans && e.CAState == "recovery" && prevCA != "recovery" {
			n, from := v.dupAcksBefore(i, e.Seq)
			if n >= c.dupacks {
				o.Pass = true
				o.Actual = fmt.Sprintf("fast retransmission of %s at %s after %s", v.segRange(e), v.at(e), plural(n, "duplicate ACK", "duplicate ACKs"))
				v.show(&o, from, i+1, i)
				return o
			}
			if firstShort < 0 {
				firstShort, shortN, shortFrom = i, n, from
			}
		}
		if e.CAState != "" {
			prevCA = e.CAState
		}
	}
	if firstShort >= 0 {
		e := &v.events[firstShort]
		o.Actual = fmt.Sprintf("fast retransmission of %s at %s after only %s", v.segRange(e), v.at(e), plural(shortN, "duplicate ACK", "duplicate ACKs"))
		v.show(&o, shortFrom, firstShort+1, firstShort)
		return o
	}
	if len(rs) == 0 {
		o.Actual = fmt.Sprintf("no retransmission on %s", v.name())
		return o
	}
	o.Actual = "no fast retransmission; " + retxSummary(rs)
	v.around(&o, rs[0].i)
	return o
}

// segRange prints a segment's relative sequence range as Lines does: "1449:2897".
func (v *view) segRange(e *trace.Event) string {
	org := originOf(v.events)
	base := org.iss
	if e.Kind == trace.KindIn {
		base = org.irs
	}
	s := e.Seq - base
	return fmt.Sprintf("%d:%d", s, s+uint32(e.Len))
}

// ssthreshHalved: at each loss, ssthresh became about half the flight.
type ssthreshHalved struct {
	sel    connSel
	tol    bytesTol
	factor float64
}

func ssthreshKind() Kind {
	return kind("ssthresh-halved",
		"at every loss (entry into fast recovery, or an RTO not already in loss) ssthresh became factor × the flight size before it (RFC 5681 eq. 4) or factor × cwnd (as Linux), at least 2 MSS, within tolerance; at least one loss must happen",
		connKeys(map[string]string{
			"tolerance": "how far ssthresh may be from the expected value: bytes or MSS (default 1mss)",
			"factor":    "the reduction factor (default 0.5; CUBIC's is 0.7)",
		}), []string{"node"},
		func(a Args) (*ssthreshHalved, error) {
			sel, err := readConnSel(a)
			if err != nil {
				return nil, err
			}
			c := &ssthreshHalved{sel: sel, factor: 0.5}
			if c.tol, err = byteTolerance(a, "tolerance", bytesTol{n: 1, mss: true}); err != nil {
				return nil, err
			}
			f, err := text(a, "factor", "0.5")
			if err != nil {
				return nil, err
			}
			if _, err := fmt.Sscanf(f, "%g", &c.factor); err != nil || c.factor <= 0 || c.factor >= 1 || math.IsNaN(c.factor) {
				return nil, &ArgError{Key: "factor", Msg: fmt.Sprintf("want a number between 0 and 1 (0.5), not %q", f)}
			}
			return c, nil
		})
}

// loss is a loss the sender reacted to: at event i the connection is first
// seen in recovery or loss; before is the event just before it, which
// holds the flight and cwnd the reaction started from.
type loss struct {
	i, before int
	rto       bool
}

// losses finds the connection's losses: the events where ca_state first
// shows recovery (from open or disorder) or loss (from any other state).
func (v *view) losses() []loss {
	var out []loss
	prev, prevCA := -1, "open"
	for i := range v.events {
		e := &v.events[i]
		if e.Kind == trace.KindLost || e.CAState == "" {
			continue
		}
		switch {
		case e.CAState == "recovery" && prevCA != "recovery" && prevCA != "loss",
			e.CAState == "loss" && prevCA != "loss":
			if prev >= 0 {
				out = append(out, loss{i: i, before: prev, rto: e.CAState == "loss"})
			}
		}
		prev, prevCA = i, e.CAState
	}
	return out
}

func (c *ssthreshHalved) Eval(ev *Evidence) Outcome {
	o := Outcome{Expected: fmt.Sprintf("at each loss, ssthresh about %g × the flight (or cwnd) before it, at least 2 MSS, ± %s", c.factor, c.tol)}
	v := c.sel.pick(ev, &o)
	if v == nil {
		return o
	}
	ls := v.losses()
	if len(ls) == 0 {
		o.Actual = fmt.Sprintf("no loss on %s: it never entered fast recovery nor had an RTO", v.name())
		return o
	}
	mss := v.mss()
	tol := c.tol.bytes(mss)
	var seen []string
	for _, l := range ls {
		b, e := &v.events[l.before], &v.events[l.i]
		floor := 2 * float64(mss)
		fromFlight := math.Max(c.factor*float64(b.InFlight), floor)
		fromCwnd := math.Max(c.factor*float64(b.Cwnd), floor)
		got := float64(e.Ssthresh)
		what := "fast recovery"
		if l.rto {
			what = "RTO"
		}
		if math.Abs(got-fromFlight) > float64(tol) && math.Abs(got-fromCwnd) > float64(tol) {
			o.Expected = fmt.Sprintf("at each loss, ssthresh about %g × the flight (or cwnd) before it, at least 2 MSS (%d), ± %s", c.factor, 2*mss, c.tol)
			o.Actual = fmt.Sprintf("%s at %s: flight %d, cwnd %d before it, so ssthresh about %.0f (or %.0f from cwnd); it became %s",
				what, v.at(e), b.InFlight, b.Cwnd, fromFlight, fromCwnd, ssthreshText(e.Ssthresh))
			v.show(&o, l.before-MaxContext+3, l.i+2, l.i)
			return o
		}
		seen = append(seen, fmt.Sprintf("%s at %s: flight %d -> ssthresh %d", what, v.at(e), b.InFlight, e.Ssthresh))
	}
	o.Pass = true
	if len(seen) > 4 {
		seen = append(seen[:3], fmt.Sprintf("%d more", len(seen)-3))
	}
	o.Actual = fmt.Sprintf("%s: %s", plural(len(ls), "loss", "losses"), strings.Join(seen, "; "))
	l := ls[0]
	v.showOnly(&o, []int{l.before, l.i}, l.i)
	return o
}

// rtoBackoff: successive RTOs of one segment double the RTO.
type rtoBackoff struct {
	sel    connSel
	min    int
	tol    numTol
	maxRTO time.Duration
}

func rtoBackoffKind() Kind {
	return kind("rto-backoff",
		"successive retransmission timeouts of the same unacknowledged segment double the RTO (up to max-rto), and each timeout came that RTO after the previous one, within tolerance; at least min backoffs happened",
		connKeys(map[string]string{
			"min":       "the fewest backoffs (doublings) in one run of timeouts (default 1)",
			"tolerance": "how far each RTO and each wait may be from the expected: a duration (20ms) or a percentage (default 10%)",
			"max-rto":   "the RTO's ceiling, where doubling stops (default 120s, as Linux)",
		}), []string{"node"},
		func(a Args) (*rtoBackoff, error) {
			sel, err := readConnSel(a)
			if err != nil {
				return nil, err
			}
			c := &rtoBackoff{sel: sel, maxRTO: 120 * time.Second}
			if c.min, err = countDefault(a, "min", 1); err != nil {
				return nil, err
			}
			if c.tol, err = numTolerance(a, "tolerance", numTol{v: 0.1, rel: true}, true); err != nil {
				return nil, err
			}
			if d, ok, err := duration(a, "max-rto"); err != nil {
				return nil, err
			} else if ok {
				if d <= 0 {
					return nil, &ArgError{Key: "max-rto", Msg: "want a positive duration"}
				}
				c.maxRTO = d
			}
			return c, nil
		})
}

// rtoRuns groups the connection's rto timer events into runs: timeouts of
// the same unacknowledged segment (the same snd_una), one after another.
func (v *view) rtoRuns() [][]int {
	var runs [][]int
	for i := range v.events {
		e := &v.events[i]
		if e.Kind != trace.KindTimer || e.Timer != "rto" {
			continue
		}
		if n := len(runs); n > 0 && v.events[runs[n-1][len(runs[n-1])-1]].SndUna == e.SndUna {
			runs[n-1] = append(runs[n-1], i)
			continue
		}
		runs = append(runs, []int{i})
	}
	return runs
}

func (c *rtoBackoff) Eval(ev *Evidence) Outcome {
	o := Outcome{Expected: fmt.Sprintf("at least %s, each timeout of the same segment doubling the RTO (± %s)", plural(c.min, "RTO backoff", "RTO backoffs"), c.tol)}
	v := c.sel.pick(ev, &o)
	if v == nil {
		return o
	}
	runs := v.rtoRuns()
	if len(runs) == 0 {
		o.Actual = fmt.Sprintf("no retransmission timeout on %s", v.name())
		return o
	}
	best := runs[0]
	maxMS := float64(c.maxRTO / time.Millisecond)
	for _, run := range runs {
		for k := 1; k < len(run); k++ {
			p, e := &v.events[run[k-1]], &v.events[run[k]]
			want := math.Min(2*float64(p.RTOMS), maxMS)
			wait := float64(e.TimeUS-p.TimeUS) / 1e3
			switch {
			case !c.tol.ok(float64(e.RTOMS), want):
				o.Actual = fmt.Sprintf("timeout at %s had RTO %dms after %dms at %s: not doubled (want %.0fms)",
					v.at(e), e.RTOMS, p.RTOMS, v.at(p), want)
			case !c.tol.ok(wait, float64(e.RTOMS)):
				o.Actual = fmt.Sprintf("timeout at %s came %.0fms after the one at %s, but its RTO was %dms",
					v.at(e), wait, v.at(p), e.RTOMS)
			default:
				continue
			}
			v.showOnly(&o, run[:k+1], run[k])
			return o
		}
		if len(run) > len(best) {
			best = run
		}
	}
	rtos := make([]string, len(best))
	for k, i := range best {
		rtos[k] = fmt.Sprintf("%dms", v.events[i].RTOMS)
	}
	o.Pass = len(best)-1 >= c.min
	o.Actual = fmt.Sprintf("%s: %s of the segment at %s, RTO %s", plural(len(best)-1, "backoff", "backoffs"), plural(len(best), "timeout", "timeouts"),
		v.segRangeAt(v.events[best[0]].SndUna), strings.Join(rtos, ", "))
	v.showOnly(&o, best, -1)
	return o
}

// segRangeAt prints a sequence number the node sent as Lines does.
func (v *view) segRangeAt(seq uint32) string {
	return fmt.Sprint(seq - originOf(v.events).iss)
}

// inflightBounded: the sender never had more in flight than the windows
// allow.
type inflightBounded struct {
	sel connSel
	tol bytesTol
}

func inflightKind() Kind {
	return kind("inflight-bounded",
		"at every data segment the node sent in the open or disorder state, the data in flight with it (snd_nxt − snd_una after it) was at most min(cwnd, the peer's window) (+ 2 MSS of limited transmit in disorder, RFC 3042) + tolerance; recovery and loss are skipped, where the trace lacks the pipe (SACKed and lost bytes)",
		connKeys(map[string]string{
			"tolerance": "allowed excess: bytes or MSS (default 0)",
		}), []string{"node"},
		func(a Args) (*inflightBounded, error) {
			sel, err := readConnSel(a)
			if err != nil {
				return nil, err
			}
			t, err := byteTolerance(a, "tolerance", bytesTol{})
			return &inflightBounded{sel: sel, tol: t}, err
		})
}

func (c *inflightBounded) Eval(ev *Evidence) Outcome {
	o := Outcome{Expected: "at every data segment sent, the flight at most min(cwnd, the peer's window)"}
	if c.tol.n > 0 {
		o.Expected += " + " + c.tol.String()
	}
	v := c.sel.pick(ev, &o)
	if v == nil {
		return o
	}
	mss := v.mss()
	tol := uint32(c.tol.bytes(mss))
	n, closest, closestI := 0, int64(math.MinInt64), -1
	for i := range v.events {
		e := &v.events[i]
		if e.Kind != trace.KindOut || e.Len == 0 || e.HasFlag('S') {
			continue
		}
		if e.CAState != "" && e.CAState != "open" && e.CAState != "disorder" {
			continue
		}
		n++
		flight := max(e.InFlight, e.Seq+uint32(e.Len)-e.SndUna)
		cwnd, limit := e.Cwnd, "cwnd"
		if e.CAState == "disorder" {
			cwnd += 2 * uint32(mss)
			limit = "cwnd + 2 MSS of limited transmit"
		}
		bound := min(cwnd, e.SndWnd)
		if e.SndWnd < cwnd {
			limit = "the peer's window"
		}
		if d := int64(flight) - int64(bound); d > closest {
			closest, closestI = d, i
		}
		if flight > bound+tol {
			o.Actual = fmt.Sprintf("at %s the flight reached %d bytes with %s, over %s (%d; cwnd %d, peer's window %d)",
				v.at(e), flight, v.line(e), limit, bound, e.Cwnd, e.SndWnd)
			v.around(&o, i)
			return o
		}
	}
	if n == 0 {
		o.Actual = fmt.Sprintf("%s sent no data segment in the open or disorder state", v.name())
		return o
	}
	o.Pass = true
	o.Actual = fmt.Sprintf("%s checked; the closest came %d bytes under the bound", plural(n, "data segment", "data segments"), -closest)
	if closest > 0 {
		o.Actual = fmt.Sprintf("%s checked; the furthest went %d bytes over the bound (within tolerance)", plural(n, "data segment", "data segments"), closest)
	}
	v.showOnly(&o, []int{closestI}, closestI)
	return o
}

// zeroWindow: the peer closed its window, the node probed, data resumed.
type zeroWindow struct {
	sel    connSel
	probes int
}

func zeroWindowKind() Kind {
	return kind("zero-window",
		"the peer advertised a zero window, the node sent at least probes persist (zero-window) probes while it stayed closed, and new data went out after it reopened",
		connKeys(map[string]string{
			"probes": "the fewest persist probes (persist timer events) while the window was zero (default 1)",
		}), []string{"node"},
		func(a Args) (*zeroWindow, error) {
			sel, err := readConnSel(a)
			if err != nil {
				return nil, err
			}
			n, err := countDefault(a, "probes", 1)
			return &zeroWindow{sel: sel, probes: n}, err
		})
}

func (c *zeroWindow) Eval(ev *Evidence) Outcome {
	o := Outcome{Expected: fmt.Sprintf("a zero window from the peer, at least %s, then new data", plural(c.probes, "persist probe", "persist probes"))}
	v := c.sel.pick(ev, &o)
	if v == nil {
		return o
	}
	smallest, smallestI := uint32(math.MaxUint32), -1
	var sentEnd uint32 // the end of the data sent so far
	sentAny := false
	type episode struct{ zero, probes, resume int }
	var eps []episode
	cur := -1 // index in eps of the episode under way
	for i := range v.events {
		e := &v.events[i]
		switch {
		case e.Kind == trace.KindIn && !e.HasFlag('S') && !e.HasFlag('R'):
			if e.Window < smallest {
				smallest, smallestI = e.Window, i
			}
			if e.Window == 0 && cur < 0 {
				eps = append(eps, episode{zero: i, resume: -1})
				cur = len(eps) - 1
			}
		case e.Kind == trace.KindTimer && e.Timer == "persist" && cur >= 0:
			eps[cur].probes++
		case e.Kind == trace.KindOut && e.Len > 0:
			end := e.Seq + uint32(e.Len)
			if cur >= 0 && sentAny && seqLess(sentEnd, end) {
				eps[cur].resume = i
				cur = -1
			}
			if !sentAny || seqLess(sentEnd, end) {
				sentEnd, sentAny = end, true
			}
		}
	}
	if len(eps) == 0 {
		if smallestI < 0 {
			o.Actual = fmt.Sprintf("the peer never advertised a zero window: %s received no segment", v.name())
			return o
		}
		o.Actual = fmt.Sprintf("the peer never advertised a zero window (its smallest: %d bytes at %s)", smallest, v.at(&v.events[smallestI]))
		v.around(&o, smallestI)
		return o
	}
	for _, ep := range eps {
		if ep.probes >= c.probes && ep.resume >= 0 {
			z, r := &v.events[ep.zero], &v.events[ep.resume]
			o.Pass = true
			o.Actual = fmt.Sprintf("zero window at %s, %s, new data at %s", v.at(z), plural(ep.probes, "persist probe", "persist probes"), v.at(r))
			// The zero window, the probes and answers, the new data.
			idx := []int{ep.zero}
			for i := ep.zero + 1; i < ep.resume && len(idx) < MaxContext-1; i++ {
				if e := &v.events[i]; e.Kind == trace.KindTimer || isSeg(e) {
					idx = append(idx, i)
				}
			}
			v.showOnly(&o, append(idx, ep.resume), ep.zero)
			return o
		}
	}
	ep := eps[0]
	z := &v.events[ep.zero]
	switch {
	case ep.probes < c.probes && ep.resume >= 0:
		o.Actual = fmt.Sprintf("zero window at %s, but %s before new data at %s", v.at(z), plural(ep.probes, "persist probe", "persist probes"), v.at(&v.events[ep.resume]))
	case ep.probes < c.probes:
		o.Actual = fmt.Sprintf("zero window at %s, but only %s, and no new data after it", v.at(z), plural(ep.probes, "persist probe", "persist probes"))
	default:
		last := &v.events[len(v.events)-1]
		o.Actual = fmt.Sprintf("zero window at %s and %s, but no new data after it (the trace ends at %s)", v.at(z), plural(ep.probes, "persist probe", "persist probes"), v.at(last))
	}
	v.show(&o, ep.zero, len(v.events), ep.zero)
	return o
}
