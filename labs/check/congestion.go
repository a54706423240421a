package check

import (
	"errors"
	"fmt"
	"math"
	"strconv"

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

// goodputMeasure: the payload bytes acknowledged over the time from the
// first data segment sent to the ACK that acknowledged the last of them.
func goodputMeasure(Args) (func(*view) (string, error), error) {
	return func(v *view) (string, error) {
		org := originOf(v.events)
		first := org.iss + 1 // the first data byte
		rel := func(x uint32) (uint32, bool) { r := x - first; return r, r < 1<<31 }
		var (
			t0       int64
			sent     bool
			end      uint32 // bytes sent: the end of the data, relative to first
			acked    uint32 // bytes acknowledged, at most end
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
			return "", errors.New("the node sent no data")
		}
		if !ackedAny {
			return "", fmt.Errorf("none of the %d bytes the node sent was acknowledged", end)
		}
		d := ackedAt - t0
		if d <= 0 {
			return "", fmt.Errorf("%d bytes acknowledged in no time", acked)
		}
		return mbps(float64(acked) * 8 / (float64(d) / 1e6)), nil
	}, nil
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
