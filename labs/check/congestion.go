package check

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/netlab/netlab/internal/units"
	"github.com/netlab/netlab/trace"
)

// The congestion-control measures: goodput, the multiplicative decrease at
// a loss, the loss events, and Mathis's prediction from the same trace.

// mbps writes a rate in bits per second as Mbit/s (decimal), to the kbit/s.
func mbps(bps float64) string { return strconv.FormatFloat(bps/1e6, 'f', 3, 64) }

// dataSegments counts the data segments the node sent, retransmissions
// not counted, and returns the largest payload it sent (retransmissions
// included).
func (v *view) dataSegments() (n, largest int) {
	for i := range v.events {
		if e := &v.events[i]; e.Kind == trace.KindOut && e.Len > 0 {
			largest = max(largest, e.Len)
			if !e.Retrans {
				n++
			}
		}
	}
	return n, largest
}

// lastSRTT is the smoothed RTT, in µs, at the connection's last event that
// has one; 0 if none has.
func (v *view) lastSRTT() int64 {
	for i := len(v.events) - 1; i >= 0; i-- {
		if e := &v.events[i]; e.Kind != trace.KindLost && e.SRTTUS > 0 {
			return e.SRTTUS
		}
	}
	return 0
}

// goodput returns the payload bytes acknowledged over the time from the
// first data segment sent to the ACK that acknowledged the last of them,
// in bits per second, with the bytes and the time.
func (v *view) goodput() (bps float64, acked uint32, d time.Duration, err error) {
	org := originOf(v.events)
	first := org.iss + 1 // the first data byte
	rel := func(x uint32) (uint32, bool) { r := x - first; return r, r < 1<<31 }
	var (
		t0       int64
		sent     bool
		end      uint32 // bytes sent: the end of the data, relative to first
		ackedAt  int64
		ackedAny bool
	)
	for i := range v.events {
		e := &v.events[i]
		switch {
		case e.Kind == trace.KindOut && e.Len > 0:
			if !sent {
				t0, sent = e.TimeUS, true
			}
			if r, ok := rel(e.Seq + uint32(e.Len)); ok && r > end {
				end = r
			}
		case e.Kind == trace.KindIn && sent && e.HasFlag('.') && !e.HasFlag('R'):
			r, ok := rel(e.Ack)
			if !ok {
				continue
			}
			r = min(r, end) // a FIN's sequence number is no payload
			if r > acked {
				acked, ackedAt, ackedAny = r, e.TimeUS, true
			}
		}
	}
	if !sent {
		return 0, 0, 0, errors.New("the node sent no data")
	}
	if !ackedAny {
		return 0, 0, 0, fmt.Errorf("none of the %d bytes the node sent was acknowledged", end)
	}
	us := ackedAt - t0
	if us <= 0 {
		return 0, 0, 0, fmt.Errorf("%d bytes acknowledged in no time", acked)
	}
	return float64(acked) * 8 / (float64(us) / 1e6), acked, time.Duration(us) * time.Microsecond, nil
}

// goodputMeasure: the connection's goodput in Mbit/s.
func goodputMeasure(Args) (func(*view) (string, error), error) {
	return func(v *view) (string, error) {
		bps, _, _, err := v.goodput()
		if err != nil {
			return "", err
		}
		return mbps(bps), nil
	}, nil
}

// goodputCheck: the connection's goodput is within bounds.
type goodputCheck struct {
	sel    connSel
	lo, hi float64 // bits per second; hi < 0: no upper bound
}

func goodputKind() Kind {
	return kind("goodput",
		"the node's goodput on the connection (payload acknowledged over the time from its first data segment to the ACK of its last byte) is at least min and at most max: whether windows and buffers let a transfer fill the path",
		connKeys(map[string]string{
			"min": "the least goodput, a rate (16mbit, 2.5mbit)",
			"max": "the most, a rate",
		}), []string{"node"},
		func(a Args) (*goodputCheck, error) {
			sel, err := readConnSel(a)
			if err != nil {
				return nil, err
			}
			c := &goodputCheck{sel: sel, hi: -1}
			var okLo, okHi bool
			if c.lo, okLo, err = rateArg(a, "min"); err != nil {
				return nil, err
			}
			hi, okHi, err := rateArg(a, "max")
			if err != nil {
				return nil, err
			}
			switch {
			case !okLo && !okHi:
				return nil, &ArgError{Key: "min", Msg: "give min, max or both"}
			case okHi && hi < c.lo:
				return nil, &ArgError{Key: "max", Msg: fmt.Sprintf("max %s is below min %s", mbit(hi), mbit(c.lo))}
			case okHi:
				c.hi = hi
			}
			return c, nil
		})
}

// rateArg reads a rate argument (units.ParseRate: 16mbit) in bits per second.
func rateArg(a Args, key string) (float64, bool, error) {
	s, ok, err := scalar(a, key)
	if err != nil || !ok {
		return 0, ok, err
	}
	n, err := units.ParseRate(s)
	if err != nil {
		return 0, true, &ArgError{Key: key, Msg: err.Error()}
	}
	return float64(n), true, nil
}

func mbit(bps float64) string { return mbps(bps) + " Mbit/s" }

func (c *goodputCheck) Eval(ev *Evidence) Outcome {
	var o Outcome
	switch {
	case c.hi < 0:
		o.Expected = "a goodput of at least " + mbit(c.lo)
	case c.lo == 0:
		o.Expected = "a goodput of at most " + mbit(c.hi)
	default:
		o.Expected = "a goodput between " + mbit(c.lo) + " and " + mbit(c.hi)
	}
	v := c.sel.pick(ev, &o)
	if v == nil {
		return o
	}
	bps, acked, d, err := v.goodput()
	if err != nil {
		o.Actual = v.name() + ": " + err.Error()
		return o
	}
	o.Pass = bps >= c.lo && (c.hi < 0 || bps <= c.hi)
	o.Actual = fmt.Sprintf("%s: %d bytes acknowledged in %s", mbit(bps), acked, d.Round(time.Millisecond))
	return o
}

// reductionMeasure: ssthresh at a loss over the cwnd or flight before it.
func reductionMeasure(a Args) (func(*view) (string, error), error) {
	at, err := countDefault(a, "at", 1)
	if err != nil {
		return nil, err
	}
	if at < 1 {
		return nil, &ArgError{Key: "at", Msg: "want 1 (the first loss) or more"}
	}
	of, err := choice(a, "of", "cwnd", "cwnd", "flight")
	if err != nil {
		return nil, err
	}
	return func(v *view) (string, error) {
		ls := v.losses()
		if len(ls) < at {
			if len(ls) == 0 {
				return "", errors.New("no loss: the connection never entered fast recovery nor had an RTO")
			}
			return "", fmt.Errorf("no loss %d: only %s", at, plural(len(ls), "loss", "losses"))
		}
		l := ls[at-1]
		b, e := &v.events[l.before], &v.events[l.i]
		base := b.Cwnd
		if of == "flight" {
			base = b.InFlight
		}
		if base == 0 {
			return "", fmt.Errorf("the %s before the loss at %s was 0", of, v.at(e))
		}
		if e.Ssthresh >= infinite {
			return "", fmt.Errorf("ssthresh was not set at the loss at %s", v.at(e))
		}
		return strconv.FormatFloat(float64(e.Ssthresh)/float64(base), 'f', 2, 64), nil
	}, nil
}

// lossEventsMeasure: the number of congestion events, as losses counts.
func lossEventsMeasure(Args) (func(*view) (string, error), error) {
	return func(v *view) (string, error) { return strconv.Itoa(len(v.losses())), nil }, nil
}

// mathisMeasure: MSS/RTT × sqrt(3/2) / sqrt(p) (Mathis, Semke, Mahdavi and
// Ott, 1997), from the connection's own MSS, final SRTT and loss rate.
func mathisMeasure(Args) (func(*view) (string, error), error) {
	return func(v *view) (string, error) {
		segs, mss := v.dataSegments()
		if segs == 0 {
			return "", errors.New("the node sent no data")
		}
		losses := len(v.losses())
		if losses == 0 {
			return "", fmt.Errorf("no loss event in %s: the formula needs a loss rate above 0", plural(segs, "data segment", "data segments"))
		}
		srtt := v.lastSRTT()
		if srtt <= 0 {
			return "", errors.New("no RTT sample: srtt is never set")
		}
		p := float64(losses) / float64(segs)
		rtt := float64(srtt) / 1e6
		return mbps(float64(mss) * 8 / rtt * math.Sqrt(1.5/p)), nil
	}, nil
}
