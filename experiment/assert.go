package experiment

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/netlab/netlab/internal/suggest"
	"github.com/netlab/netlab/internal/units"
)

// Unit is how a metric is measured, and so how a threshold on it is
// written.
type Unit string

// Units.
const (
	UnitRate     Unit = "bit/s"    // thresholds as 15mbit or bits per second
	UnitSeconds  Unit = "s"        // thresholds as 200ms or seconds
	UnitFraction Unit = "fraction" // thresholds as 1% or 0.01
	UnitNumber   Unit = "number"
)

// Metric is a result every trial reports.
type Metric struct {
	Name string
	Unit Unit
	// Doc defines it (the README's table is made from these).
	Doc string
}

// Metrics are the results a trial reports, by name, in results.csv's
// order. The definitions are the README's.
var Metrics = []Metric{
	{"goodput", UnitRate, "in-order application bytes read by the receivers during [warmup, duration], ×8 ÷ (duration − warmup), all flows (an rr or incast response counts when read whole)"},
	{"throughput", UnitRate, "data bytes the senders put on the wire (tcp_info bytes_sent: retransmissions included) ×8 ÷ each flow's lifetime, summed over flows"},
	{"utilisation", UnitFraction, "bytes the bottleneck's busier direction passed after warmup (frames whole, retransmissions included) ×8 ÷ its configured rate × the time"},
	{"jain", UnitNumber, "Jain's fairness index (Σx)² ÷ (n·Σx²) over the goodputs (over [warmup, duration]) of the flows that send for the whole cell, or without such flows over every flow's (size×8 ÷ FCT, or bytes×8 ÷ lifetime for requests); 1 is equal shares, 1/n one flow takes all"},
	{"jain_1s", UnitNumber, "Jain's index of each second after warmup over the flows that delivered bytes in it (at the receiver), averaged"},
	{"flow_goodput_min", UnitRate, "the smallest of the goodputs Jain's index is taken over"},
	{"rtt_p50", UnitSeconds, "median of the senders' smoothed RTT, sampled every `sample` after warmup"},
	{"rtt_p95", UnitSeconds, "95th percentile of the same"},
	{"rtt_p99", UnitSeconds, "99th percentile of the same"},
	{"rtt_base", UnitSeconds, "the smallest RTT any flow measured (tcp_info min_rtt)"},
	{"rtt_inflation", UnitNumber, "rtt_p50 ÷ rtt_base: how much the queues add"},
	{"probe_rtt_p50", UnitSeconds, "median RTT of the probe workload's echo requests after warmup (lost ones left out)"},
	{"probe_rtt_p99", UnitSeconds, "99th percentile of the same"},
	{"queue_delay_mean", UnitSeconds, "mean time frames waited in the bottleneck's rate queue after warmup (the impairment engine's own count)"},
	{"queue_delay_p99", UnitSeconds, "99th percentile of the same (within 10 %)"},
	{"queue_len_mean", UnitNumber, "time-weighted mean number of frames in the bottleneck's rate queue after warmup"},
	{"queue_len_max", UnitNumber, "the most frames in it at any sample after warmup"},
	{"loss", UnitFraction, "frames the bottleneck dropped ÷ frames offered to it, after warmup"},
	{"retrans_rate", UnitFraction, "segments retransmitted ÷ data segments sent, all flows, both ends"},
	{"rtos", UnitNumber, "retransmission timeouts, all flows, both ends (an incast's are its senders'); counted at Go-stack ends only, the kernel keeps no per-socket count (n/a when every end is `stack: linux`)"},
	{"fast_retrans", UnitNumber, "fast retransmissions, all flows, both ends; Go-stack ends only, as `rtos`"},
	{"spurious_retrans", UnitNumber, "retransmitted segments found unnecessary, all flows, both ends: on the Go stack by Eifel detection (RFC 3522: the ACK for an episode's first retransmission echoes an older timestamp; every segment of that episode counts), on `stack: linux` the duplicates the receiver reported with D-SACK (`tcpi_dsack_dups`)"},
	{"fct_p50", UnitSeconds, "median flow completion time of the flows with bytes: from connect to their last byte read by the receiver"},
	{"fct_p99", UnitSeconds, "99th percentile of the same"},
	{"slowdown_p50", UnitNumber, "median of FCT ÷ (base RTT + size·8 ÷ bottleneck rate), at least 1"},
	{"slowdown_p99", UnitNumber, "99th percentile of the same"},
	{"rct_p50", UnitSeconds, "median response time of rr requests: from the request sent to the whole response read"},
	{"rct_p99", UnitSeconds, "99th percentile of the same"},
	{"qct_p50", UnitSeconds, "median incast query completion time: from the query going out to all its senders to the last block read"},
	{"qct_p99", UnitSeconds, "99th percentile of the same"},
	{"incast_goodput", UnitRate, "mean over incast queries of senders × block × 8 ÷ the query's completion time"},
	{"flows", UnitNumber, "flows started"},
	{"flows_failed", UnitNumber, "flows that did not deliver everything they sent, in time"},
	{"start_skew_max", UnitSeconds, "the latest a flow connected after its scheduled time"},
	{"agent_cpu", UnitNumber, "the agents' processor time ÷ the trial's time, in cores (1 = one core busy all along)"},
	{"agent_mem", UnitNumber, "the agents' peak resident memory so far, summed, in bytes"},
	{"rate_achieved", UnitFraction, "bytes the bottleneck passed ÷ what its rate allows, over the sample intervals its queue was never empty (measured when that is a quarter of the window or more)"},
	{"timer_late_mean", UnitSeconds, "how late, on average, the bottleneck handed a frame on after the time it was due, after warmup: the machine's timer and scheduler lateness (zero on a virtual clock)"},
	{"timer_late_p99", UnitSeconds, "99th percentile of the same (within 12.5 %)"},
	{"ring_drops", UnitNumber, "frames the kernel dropped because an AF_PACKET receive ring was full"},
	{"valid", UnitNumber, "1 when the network, not the machine, was the limit (see the health checks); 0 marks the trial invalid"},
}

// MetricByName returns the metric called name.
func MetricByName(name string) (Metric, bool) {
	i := slices.IndexFunc(Metrics, func(m Metric) bool { return m.Name == name })
	if i < 0 {
		return Metric{}, false
	}
	return Metrics[i], true
}

// Assert is a threshold on a metric's mean over a cell's valid trials:
// `jain >= 0.9`, `rtt_p99 < 200ms`, `goodput > 15mbit`.
type Assert struct {
	Text   string
	Metric string
	Op     string
	Value  float64
	Pos    Pos
}

// Holds reports whether v meets the threshold.
func (a Assert) Holds(v float64) bool {
	if math.IsNaN(v) {
		return false
	}
	switch a.Op {
	case "<":
		return v < a.Value
	case "<=":
		return v <= a.Value
	case ">":
		return v > a.Value
	case ">=":
		return v >= a.Value
	case "==":
		return v == a.Value
	}
	return v != a.Value
}

var assertOps = []string{"<=", ">=", "==", "!=", "<", ">"}

func (ld *loader) asserts(n *yaml.Node) []Assert {
	if n.Kind != yaml.SequenceNode {
		ld.errf(n, "assert: is a list of thresholds (- jain >= 0.9)")
		return nil
	}
	var out []Assert
	for _, e := range n.Content {
		a, err := ParseAssert(e.Value)
		if e.Kind != yaml.ScalarNode {
			err = fmt.Errorf("a threshold is one line: METRIC OP VALUE, e.g. jain >= 0.9")
		}
		if err != nil {
			ld.errf(e, "%v", err)
			continue
		}
		a.Pos = Pos{e.Line, e.Column}
		out = append(out, a)
	}
	return out
}

// ParseAssert reads METRIC OP VALUE, the value in the metric's unit.
func ParseAssert(s string) (Assert, error) {
	for _, op := range assertOps {
		name, val, ok := strings.Cut(s, op)
		if !ok {
			continue
		}
		name, val = strings.TrimSpace(name), strings.TrimSpace(val)
		m, ok := MetricByName(name)
		if !ok {
			names := make([]string, len(Metrics))
			for i, m := range Metrics {
				names[i] = m.Name
			}
			if sug := suggest.Closest(name, names); sug != "" {
				return Assert{}, fmt.Errorf("%q: no metric %q; did you mean %q?", s, name, sug)
			}
			return Assert{}, fmt.Errorf("%q: no metric %q (allowed: %s)", s, name, strings.Join(names, ", "))
		}
		v, err := parseValue(m.Unit, val)
		if err != nil {
			return Assert{}, fmt.Errorf("%q: %v", s, err)
		}
		return Assert{Text: s, Metric: name, Op: op, Value: v}, nil
	}
	return Assert{}, fmt.Errorf("%q: want METRIC OP VALUE with OP one of %s, e.g. jain >= 0.9", s, strings.Join(assertOps, " "))
}

func parseValue(u Unit, s string) (float64, error) {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return f, nil
	}
	switch u {
	case UnitRate:
		r, err := units.ParseRate(s)
		return float64(r), err
	case UnitSeconds:
		d, err := units.ParseDuration(s)
		return d.Seconds(), err
	case UnitFraction:
		return units.ParsePercent(s)
	}
	return 0, fmt.Errorf("bad number %q", s)
}
