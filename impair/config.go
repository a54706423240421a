package impair

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
)

// MaxDelay is the largest Delay, Jitter, CoDel time or Outage time a Config
// may hold. Larger values are clamped to it.
const MaxDelay = time.Hour

// DefaultLimit is netem's default queue limit in frames: Parse gives it to
// a block that sets neither limit nor limit-bytes.
const DefaultLimit = 1000

// MaxHeld is the most frames one Direction holds at once (queue, delay line
// and frames about to be handed to out together). A frame that would exceed
// it is tail-dropped and counted as a queue drop. It bounds memory when a
// long delay meets a high packet rate, since the delay line itself has no
// Limit (see the package doc).
const MaxHeld = 1 << 18

// Default CoDel parameters (RFC 8289 §4.2 and §4.3).
const (
	// DefaultCoDelTarget is CoDel's TARGET, the acceptable standing queue
	// delay.
	DefaultCoDelTarget = 5 * time.Millisecond
	// DefaultCoDelInterval is CoDel's INTERVAL, about a worst-case RTT.
	DefaultCoDelInterval = 100 * time.Millisecond
)

// Order says whether jitter may make frames leave in another order than they
// were sent.
type Order int

const (
	// ReorderLikeNetem releases frames in the order of their departure
	// times, as netem's tfifo does: when the jitter is larger than the gap
	// between two frames, the later one can overtake the earlier one.
	ReorderLikeNetem Order = iota
	// KeepOrder never lets a frame leave before a frame sent before it: a
	// frame whose drawn delay would make it overtake waits for its
	// predecessor, so its delay grows by the difference. Frames chosen by
	// Config.Reorder are the exception: they are sent ahead on purpose.
	KeepOrder
)

// String returns "netem" or "keep".
func (o Order) String() string {
	switch o {
	case ReorderLikeNetem:
		return "netem"
	case KeepOrder:
		return "keep"
	}
	return fmt.Sprintf("Order(%d)", int(o))
}

// LossModel names a loss model.
type LossModel int

const (
	// NoLoss loses nothing.
	NoLoss LossModel = iota
	// LossRandom drops each frame with probability P, correlated with the
	// previous draw by Correlation as netem's `loss random P C` does.
	LossRandom
	// LossState is netem's 4-state Markov model `loss state p13 p31 p32 p23
	// p14` (Salsano et al., NetemCLG). States: 1 transmitting in a gap, 2
	// transmitting within a burst, 3 lost within a burst, 4 isolated loss.
	LossState
	// LossGE is netem's Gilbert-Elliott model `loss gemodel p r 1-h 1-k`:
	// a good and a bad state, with a loss probability in each.
	LossGE
)

// String returns "none", "random", "state" or "gemodel" (netem's keywords).
func (m LossModel) String() string {
	switch m {
	case NoLoss:
		return "none"
	case LossRandom:
		return "random"
	case LossState:
		return "state"
	case LossGE:
		return "gemodel"
	}
	return fmt.Sprintf("LossModel(%d)", int(m))
}

// Loss is a loss model and its parameters, all probabilities in [0, 1]. Only
// the fields of Model are used. RandomLoss, StateLoss and GELoss build one
// with iproute2's defaults for the parameters left out, as `tc` does.
type Loss struct {
	// Model is the loss model; NoLoss (the zero value) loses nothing.
	Model LossModel `json:"model,omitzero"`
	// P is the drop probability (LossRandom) or the good-to-bad transition
	// probability p (LossGE).
	P float64 `json:"p,omitempty"`
	// Correlation is netem's correlation of successive LossRandom draws (see
	// the package doc: it also lowers the effective rate). The netem man
	// page deprecates it; LossGE and LossState make bursts properly.
	Correlation float64 `json:"correlation,omitempty"`
	// R is the Gilbert-Elliott bad-to-good transition probability.
	R float64 `json:"r,omitempty"`
	// OneMinusH is the loss probability in the Gilbert-Elliott bad state.
	OneMinusH float64 `json:"1-h,omitempty"`
	// OneMinusK is the loss probability in the Gilbert-Elliott good state.
	OneMinusK float64 `json:"1-k,omitempty"`
	// P13 is the 4-state probability of going from state 1 (gap) to 3
	// (burst loss).
	P13 float64 `json:"p13,omitempty"`
	// P31 is the 4-state probability of going from state 3 back to 1.
	P31 float64 `json:"p31,omitempty"`
	// P32 is the 4-state probability of going from state 3 to 2 (a
	// received frame within a burst).
	P32 float64 `json:"p32,omitempty"`
	// P23 is the 4-state probability of going from state 2 to 3.
	P23 float64 `json:"p23,omitempty"`
	// P14 is the 4-state probability of going from state 1 to 4 (an
	// isolated loss, always followed by state 1).
	P14 float64 `json:"p14,omitempty"`
}

// RandomLoss returns netem's `loss random p [correlation]`.
func RandomLoss(p, correlation float64) Loss {
	return Loss{Model: LossRandom, P: p, Correlation: correlation}
}

// StateLoss returns netem's `loss state p13 [p31 [p32 [p23 [p14]]]]` with
// iproute2's defaults for the parameters not given: p31 = 1-p13, p32 = 0,
// p23 = 1, p14 = 0. With p13 alone this is Bernoulli loss with probability
// p13. Values after the fourth optional one are ignored.
func StateLoss(p13 float64, more ...float64) Loss {
	l := Loss{Model: LossState, P13: p13, P31: 1 - p13, P32: 0, P23: 1, P14: 0}
	for i, v := range more {
		switch i {
		case 0:
			l.P31 = v
		case 1:
			l.P32 = v
		case 2:
			l.P23 = v
		case 3:
			l.P14 = v
		}
	}
	return l
}

// GELoss returns netem's `loss gemodel p [r [1-h [1-k]]]` with iproute2's
// defaults for the parameters not given: r = 1-p, 1-h = 1, 1-k = 0. With p
// alone this is Bernoulli loss with probability p; with p and r it is the
// Simple Gilbert model, with 1-h the Gilbert model. Values after the third
// optional one are ignored.
func GELoss(p float64, more ...float64) Loss {
	l := Loss{Model: LossGE, P: p, R: 1 - p, OneMinusH: 1, OneMinusK: 0}
	for i, v := range more {
		switch i {
		case 0:
			l.R = v
		case 1:
			l.OneMinusH = v
		case 2:
			l.OneMinusK = v
		}
	}
	return l
}

// Outage takes the direction down for For every Every: frames offered while
// it is down are dropped (DropOutage). The first outage starts Offset after
// the Outage was set (by New, or by a SetConfig that changed it); with Every
// zero there is only that one. The zero value (For zero) means no outage.
type Outage struct {
	// Every is the period of the outages; zero means a single outage.
	Every time.Duration `json:"every"`
	// For is how long each outage lasts.
	For time.Duration `json:"for"`
	// Offset is when the first outage starts, counted from when the Outage
	// was set.
	Offset time.Duration `json:"offset,omitempty"`
}

// Config is what a Direction does to the frames of one link direction.
// Probabilities are fractions in [0, 1] (netem's 2% is 0.02). The zero
// Config passes every frame through unchanged and at once.
//
// Validate reports values out of range; New and SetConfig do not fail but
// clamp such values into range as the field docs say.
type Config struct {
	// Delay is the base one-way delay added to every frame.
	Delay time.Duration `json:"delay,omitempty"`
	// Jitter spreads the delay: uniformly over [Delay-Jitter, Delay+Jitter)
	// without a Distribution (netem's real default), or Delay + Jitter*T/8192
	// for a value T drawn from Distribution. A negative result is zero.
	Jitter time.Duration `json:"jitter,omitempty"`
	// DelayCorrelation is netem's correlation of successive delay draws.
	DelayCorrelation float64 `json:"correlation,omitempty"`
	// Distribution is the jitter distribution table; nil means uniform. Use
	// NormalTable, ParetoTable, ParetoNormalTable, NamedTable or
	// ParseDistTable. The Direction keeps its own copy.
	Distribution DistTable `json:"distribution-table,omitempty"`
	// DistributionName says which table Distribution is, for String and
	// JSON: "uniform", "normal", "pareto", "paretonormal", an iproute2
	// table name or the path of a .dist file; "" when not said. The engine
	// uses only Distribution. JSON leaves out the table of a built-in name
	// and fills it in again when it reads one back.
	DistributionName string `json:"distribution,omitempty"`
	// Order says whether jitter may reorder frames.
	Order Order `json:"order,omitzero"`

	// Loss is the loss model.
	Loss Loss `json:"loss,omitzero"`
	// Duplicate is the probability that a frame is sent twice. The copy
	// goes through loss, corruption, reordering, queueing and delay on its
	// own, but is never duplicated again.
	Duplicate float64 `json:"duplicate,omitempty"`
	// DuplicateCorrelation is netem's correlation of the duplicate draws.
	DuplicateCorrelation float64 `json:"duplicate-correlation,omitempty"`
	// Corrupt is the probability that one random bit of a frame is flipped.
	// The bit is chosen past the Ethernet header, within the IP datagram
	// (for IPv4 and IPv6 frames), so the receiver's IP, TCP, UDP or ICMP
	// checksum check catches it (a UDP datagram sent without a checksum
	// excepted).
	Corrupt float64 `json:"corrupt,omitempty"`
	// CorruptCorrelation is netem's correlation of the corrupt draws.
	CorruptCorrelation float64 `json:"corrupt-correlation,omitempty"`
	// Reorder is netem's reorder probability: once Gap-1 frames have been
	// delayed, each next frame is sent at once, ahead of those waiting, with
	// this probability (then the count restarts). It bypasses the delay and
	// the rate queue. With Gap set and Reorder zero it is 1, as in tc.
	Reorder float64 `json:"reorder,omitempty"`
	// ReorderCorrelation is netem's correlation of the reorder draws.
	ReorderCorrelation float64 `json:"reorder-correlation,omitempty"`
	// Gap is netem's reorder gap; zero with Reorder set means 1 (every frame
	// has the Reorder chance).
	Gap int `json:"gap,omitempty"`

	// Rate is the link rate in bits per second; zero means unlimited. Each
	// frame occupies the link for (len+Overhead, in cells if CellSize is set)
	// bytes at Rate, and frames wait in a FIFO queue for it.
	Rate uint64 `json:"rate,omitempty"`
	// Overhead is added to each frame's length for the rate, in bytes; it may
	// be negative. 24 accounts for Ethernet's preamble, FCS and gap.
	Overhead int `json:"rate-overhead,omitempty"`
	// CellSize, when positive, rounds each frame up to whole cells of this
	// many bytes (after Overhead), each then counting CellSize+CellOverhead
	// bytes (ATM: 48 and 5).
	CellSize int `json:"cell-size,omitempty"`
	// CellOverhead is the per-cell overhead in bytes.
	CellOverhead int `json:"cell-overhead,omitempty"`
	// Limit is the most frames the rate queue holds; an arriving frame
	// that finds it full is dropped (DropQueue). Zero means no limit.
	// Only frames waiting for the link count (see the package doc).
	Limit int `json:"limit,omitempty"`
	// LimitBytes is the most bytes the rate queue holds; a frame that would
	// take it past this is dropped (DropQueue). Zero means no limit.
	LimitBytes int `json:"limit-bytes,omitempty"`
	// CoDel runs the CoDel AQM (RFC 8289) on the rate queue: frames that
	// waited too long are dropped (DropCoDel) when they reach the head.
	// Limit and LimitBytes still apply. It needs Rate.
	CoDel bool `json:"codel,omitempty"`
	// CoDelTarget is CoDel's target sojourn time; zero means 5 ms.
	CoDelTarget time.Duration `json:"codel-target,omitempty"`
	// CoDelInterval is CoDel's interval; zero means 100 ms.
	CoDelInterval time.Duration `json:"codel-interval,omitempty"`
	// ECN marks ECT(0) and ECT(1) frames Congestion Experienced (RFC 3168
	// §5) instead of dropping them, for loss-model and CoDel drops; the IPv4
	// header checksum is updated. Frames that are not ECN-capable are still
	// dropped, and so are queue-overflow drops.
	ECN bool `json:"ecn,omitempty"`

	// DropEveryNth drops frames N, 2N, 3N... of those offered since the
	// schedule was set; zero means none.
	DropEveryNth uint64 `json:"drop-every,omitempty"`
	// DropPackets drops the frames with these numbers (1 is the first frame
	// offered since the schedule was set).
	DropPackets []uint64 `json:"drop-packets,omitempty"`
	// DropMatch drops the frames these matches select (the first SYN, a
	// FIN, the segment carrying a sequence number, pure ACKs...).
	DropMatch []Match `json:"drop-match,omitempty"`
	// Outage takes the direction down periodically.
	Outage Outage `json:"outage,omitzero"`
	// Down drops every frame offered (DropOutage): the link is down.
	Down bool `json:"down,omitempty"`

	// Seed seeds the direction's random source. Every random decision comes
	// from it, so the same Seed and the same frames offered at the same
	// times give the same decisions.
	Seed uint64 `json:"seed"`

	// Trace, if set, is called for every decision: each frame dropped,
	// queued or sent. It is called with the Direction's lock held, in
	// decision order: it must not call the Direction's methods nor keep
	// frame after it returns.
	Trace func(frame []byte, v Verdict) `json:"-"`
}

// IsZero reports whether c does nothing at all to frames: no delay, loss,
// change, copy, reordering, rate or drop. Seed, Order, ECN, Limit,
// LimitBytes and CoDel do nothing without the rest; Trace is ignored. A
// caller may pass a nil Config to Wrap for such a direction.
func (c *Config) IsZero() bool {
	return c.Delay == 0 && c.Jitter == 0 && c.Loss.Model == NoLoss && c.Duplicate == 0 &&
		c.Corrupt == 0 && c.Reorder == 0 && c.Gap == 0 && c.Rate == 0 &&
		c.DropEveryNth == 0 && len(c.DropPackets) == 0 && len(c.DropMatch) == 0 &&
		c.Outage.For == 0 && !c.Down
}

// probSlack is how far a sum of probabilities may exceed 1 by rounding
// (p31 defaults to 1-p13).
const probSlack = 1e-9

// Validate reports every value of c that is out of range, joined into one
// error, or nil.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("impair: "+format, args...)) }
	prob := func(name string, p float64) {
		if !(p >= 0 && p <= 1) {
			bad("%s %v not in [0, 1]", name, p)
		}
	}
	dur := func(name string, d time.Duration) {
		if d < 0 || d > MaxDelay {
			bad("%s %v not in [0, %v]", name, d, MaxDelay)
		}
	}
	dur("delay", c.Delay)
	dur("jitter", c.Jitter)
	prob("delay correlation", c.DelayCorrelation)
	if c.Distribution != nil {
		if err := c.Distribution.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if c.Order != ReorderLikeNetem && c.Order != KeepOrder {
		bad("unknown order %d", int(c.Order))
	}
	switch l := c.Loss; l.Model {
	case NoLoss:
	case LossRandom:
		prob("loss", l.P)
		prob("loss correlation", l.Correlation)
	case LossState:
		prob("loss p13", l.P13)
		prob("loss p31", l.P31)
		prob("loss p32", l.P32)
		prob("loss p23", l.P23)
		prob("loss p14", l.P14)
		if l.P13+l.P14 > 1+probSlack {
			bad("loss p13 + p14 = %v exceeds 1", l.P13+l.P14)
		}
		if l.P31+l.P32 > 1+probSlack {
			bad("loss p31 + p32 = %v exceeds 1", l.P31+l.P32)
		}
	case LossGE:
		prob("loss p", l.P)
		prob("loss r", l.R)
		prob("loss 1-h", l.OneMinusH)
		prob("loss 1-k", l.OneMinusK)
	default:
		bad("unknown loss model %d", int(l.Model))
	}
	prob("duplicate", c.Duplicate)
	prob("duplicate correlation", c.DuplicateCorrelation)
	prob("corrupt", c.Corrupt)
	prob("corrupt correlation", c.CorruptCorrelation)
	prob("reorder", c.Reorder)
	prob("reorder correlation", c.ReorderCorrelation)
	if c.Gap < 0 {
		bad("reorder gap %d is negative", c.Gap)
	}
	if (c.Reorder > 0 || c.Gap > 0) && c.Delay == 0 && c.Jitter == 0 && c.Rate == 0 {
		bad("reorder needs a delay (or a rate): nothing is waiting to be overtaken")
	}
	if c.CellSize < 0 {
		bad("cell size %d is negative", c.CellSize)
	}
	if c.Limit < 0 {
		bad("limit %d is negative", c.Limit)
	}
	if c.LimitBytes < 0 {
		bad("limit bytes %d is negative", c.LimitBytes)
	}
	if c.CoDel && c.Rate == 0 {
		bad("codel needs a rate: without one nothing ever queues")
	}
	dur("codel target", c.CoDelTarget)
	dur("codel interval", c.CoDelInterval)
	dur("outage every", c.Outage.Every)
	dur("outage for", c.Outage.For)
	dur("outage offset", c.Outage.Offset)
	for i, m := range c.DropMatch {
		if err := m.validate(); err != nil {
			bad("drop match %d: %v", i+1, err)
		}
	}
	if slices.Contains(c.DropPackets, 0) {
		bad("drop packets: frame numbers start at 1")
	}
	return errors.Join(errs...)
}

// settings is a sanitized Config in the units the engine uses: times in
// nanoseconds, probabilities as thresholds against a uniform uint32 (a
// threshold of 1<<32 is certainty), correlations in netem's 32-bit scale.
type settings struct {
	delay, jitter int64
	delayRho      uint64
	table         DistTable
	order         Order

	loss    Loss
	lossThr [5]uint64 // random: [0]=P; state: p13 p31 p32 p23 p14; GE: p r 1-h 1-k
	lossRho uint64

	dupThr, dupRho         uint64
	corruptThr, corruptRho uint64
	reorderThr, reorderRho uint64
	gap                    int

	rate                             uint64
	overhead, cellSize, cellOverhead int64
	limit, limitBytes                int
	codel                            bool
	codelTarget, codelInterval       int64
	ecn                              bool

	everyNth    uint64
	dropPackets []uint64 // sorted, unique, nonzero
	matches     []Match
	outage      Outage
	down        bool

	seed  uint64
	trace func([]byte, Verdict)

	// needNow says whether decisions depend on the time at all.
	needNow bool
	// trivial says no frame is ever dropped, changed, copied or held.
	trivial bool
}

// threshold maps a probability to a threshold against a uniform uint32:
// an event happens when the draw is below it. NaN and negative values give
// 0, values above 1 give certainty.
func threshold(p float64) uint64 {
	if !(p > 0) {
		return 0
	}
	if p >= 1 {
		return 1 << 32
	}
	return uint64(math.Round(p * (1 << 32)))
}

func clampDur(d time.Duration) int64 {
	if d < 0 {
		return 0
	}
	if d > MaxDelay {
		return int64(MaxDelay)
	}
	return int64(d)
}

func nonNeg(n int) int {
	return max(n, 0)
}

// sanitize turns c into settings, clamping what Validate would reject.
func sanitize(c *Config) settings {
	s := settings{
		delay:        clampDur(c.Delay),
		jitter:       clampDur(c.Jitter),
		delayRho:     threshold(c.DelayCorrelation),
		order:        c.Order,
		loss:         c.Loss,
		dupThr:       threshold(c.Duplicate),
		dupRho:       threshold(c.DuplicateCorrelation),
		corruptThr:   threshold(c.Corrupt),
		corruptRho:   threshold(c.CorruptCorrelation),
		reorderThr:   threshold(c.Reorder),
		reorderRho:   threshold(c.ReorderCorrelation),
		gap:          nonNeg(c.Gap),
		rate:         c.Rate,
		overhead:     int64(c.Overhead),
		cellSize:     int64(nonNeg(c.CellSize)),
		cellOverhead: int64(c.CellOverhead),
		limit:        nonNeg(c.Limit),
		limitBytes:   nonNeg(c.LimitBytes),
		codel:        c.CoDel && c.Rate > 0,
		ecn:          c.ECN,
		everyNth:     c.DropEveryNth,
		outage: Outage{
			Every:  time.Duration(clampDur(c.Outage.Every)),
			For:    time.Duration(clampDur(c.Outage.For)),
			Offset: time.Duration(clampDur(c.Outage.Offset)),
		},
		down:  c.Down,
		seed:  c.Seed,
		trace: c.Trace,
	}
	if c.Distribution != nil {
		s.table = c.Distribution.sanitized()
	}
	if s.order != KeepOrder {
		s.order = ReorderLikeNetem
	}
	switch l := c.Loss; l.Model {
	case LossRandom:
		s.lossThr[0] = threshold(l.P)
		s.lossRho = threshold(l.Correlation)
		if s.lossThr[0] == 0 {
			s.loss.Model = NoLoss
		}
	case LossState:
		s.lossThr = [5]uint64{threshold(l.P13), threshold(l.P31), threshold(l.P32), threshold(l.P23), threshold(l.P14)}
	case LossGE:
		s.lossThr = [5]uint64{threshold(l.P), threshold(l.R), threshold(l.OneMinusH), threshold(l.OneMinusK)}
	default:
		s.loss.Model = NoLoss
	}
	// tc: `gap` alone means reorder 100%; `reorder` alone means gap 1.
	switch {
	case s.gap > 0 && s.reorderThr == 0:
		s.reorderThr = 1 << 32
	case s.gap == 0 && s.reorderThr > 0:
		s.gap = 1
	}
	s.codelTarget, s.codelInterval = int64(DefaultCoDelTarget), int64(DefaultCoDelInterval)
	if c.CoDelTarget > 0 {
		s.codelTarget = clampDur(c.CoDelTarget)
	}
	if c.CoDelInterval > 0 {
		s.codelInterval = clampDur(c.CoDelInterval)
	}
	for _, k := range c.DropPackets {
		if k > 0 {
			s.dropPackets = append(s.dropPackets, k)
		}
	}
	slices.Sort(s.dropPackets)
	s.dropPackets = slices.Compact(s.dropPackets)
	s.matches = slices.Clone(c.DropMatch)
	s.needNow = s.delay > 0 || s.jitter > 0 || s.rate > 0 || s.outage.For > 0
	s.trivial = !s.needNow && s.loss.Model == NoLoss && s.dupThr == 0 && s.corruptThr == 0 && s.gap == 0 &&
		s.everyNth == 0 && len(s.dropPackets) == 0 && len(s.matches) == 0 && !s.down && s.trace == nil
	return s
}

// sameSchedule reports whether a and b drop the same frames by number and
// match, so that a SetConfig keeps the schedule's counters.
func sameSchedule(a, b *settings) bool {
	return a.everyNth == b.everyNth && slices.Equal(a.dropPackets, b.dropPackets) &&
		slices.EqualFunc(a.matches, b.matches, func(x, y Match) bool { return x.equal(&y) })
}

// Clone returns a copy of c that shares no memory with it; nil gives nil.
func (c *Config) Clone() *Config {
	if c == nil {
		return nil
	}
	cc := cloneConfig(c)
	return &cc
}

// MarshalJSON writes c with the names of the netem grammar (durations in
// nanoseconds, probabilities as fractions, matches in ParseMatch's
// syntax), leaving out Trace, and the table of a built-in distribution,
// which its name stands for.
func (c Config) MarshalJSON() ([]byte, error) {
	type plain Config
	p := plain(c)
	if builtinTable(c.DistributionName) {
		p.Distribution = nil
	}
	return json.Marshal(p)
}

// UnmarshalJSON reads what MarshalJSON writes: the table of a built-in
// distribution is made again from its name; any other named distribution
// must come with its table.
func (c *Config) UnmarshalJSON(b []byte) error {
	type plain Config
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	if p.Distribution == nil && p.DistributionName != "" {
		if !builtinTable(p.DistributionName) {
			return fmt.Errorf("impair: distribution %q comes without its table", p.DistributionName)
		}
		p.Distribution, _ = NamedTable(p.DistributionName)
	}
	*c = Config(p)
	return nil
}

// builtinTable reports whether NamedTable knows name.
func builtinTable(name string) bool {
	_, err := NamedTable(name)
	return err == nil
}

// MarshalText implements encoding.TextMarshaler: String.
func (m LossModel) MarshalText() ([]byte, error) {
	if m < NoLoss || m > LossGE {
		return nil, fmt.Errorf("impair: unknown loss model %d", int(m))
	}
	return []byte(m.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler: "none", "random",
// "state" or "gemodel".
func (m *LossModel) UnmarshalText(b []byte) error {
	for _, k := range []LossModel{NoLoss, LossRandom, LossState, LossGE} {
		if string(b) == k.String() {
			*m = k
			return nil
		}
	}
	return fmt.Errorf("impair: unknown loss model %q", b)
}

// MarshalText implements encoding.TextMarshaler: String.
func (o Order) MarshalText() ([]byte, error) {
	if o != ReorderLikeNetem && o != KeepOrder {
		return nil, fmt.Errorf("impair: unknown order %d", int(o))
	}
	return []byte(o.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler: "netem" or "keep".
func (o *Order) UnmarshalText(b []byte) error {
	switch string(b) {
	case "netem":
		*o = ReorderLikeNetem
	case "keep":
		*o = KeepOrder
	default:
		return fmt.Errorf("impair: unknown order %q", b)
	}
	return nil
}
