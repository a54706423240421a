package impair

import (
	"math"
	"math/bits"
	"slices"
	"sync"
	"time"

	"github.com/netlab/netlab/clock"
)

// maxPool is the most spare frame buffers a Direction keeps.
const maxPool = 4096

// minBuf is the capacity of a new frame buffer, enough for an Ethernet frame
// of MTU 1500 and some encapsulation.
const minBuf = 2048

// Direction impairs the frames of one link direction. Send and SendBatch
// take frames in; they come out, at the clock time the Config says, through
// the function given to New (one frame a call) or NewBatch (the frames that
// leave together). It is safe for concurrent use: Send may be called from
// any goroutine while the clock's timer fires.
//
// out is called by one goroutine at a time, in the order frames leave. It
// must not keep the frames after it returns. It may be called from Send or
// SendBatch (for frames that leave at once, possibly some queued by another
// goroutine), from the clock's timer, or from SetConfig.
//
// SetDropHook adds a function called for every frame the Direction drops,
// handed out as out's frames are (see SetDropHook).
type Direction struct {
	clk     clock.Clock
	out     func([]byte)
	outMany func([][]byte) // set instead of out by NewBatch
	epoch   time.Time
	fire    func()

	mu     sync.Mutex
	cfg    Config
	s      settings
	closed bool

	// Random decisions.
	src                                               source
	delayCor, lossCor, dupCor, corruptCor, reorderCor correlated
	lossState                                         uint8
	reorderCount                                      int

	// Deterministic schedules.
	schedN      uint64
	dropIdx     int
	matchSeen   []uint64
	outageStart int64

	seq     uint64 // last Seq given
	maxSent uint64 // highest Seq sent, for Late
	lastNow int64

	// The rate queue and the link.
	q        fifo
	qBytes   int
	qChanged int64  // when the queue's length last changed (its integrals are up to then)
	qBusyNs  int64  // how long the queue held a frame, up to qChanged: Stats.BackloggedTime
	qFrameNs acc128 // Σ queue length × dt, frame·ns: Stats.QueueFrameNanos
	qByteNs  acc128 // Σ queue bytes × dt, byte·ns: Stats.QueueByteNanos
	linkFree int64  // when the link finishes the frame it is sending
	txRem    uint64 // remainder of the last transmission time, in 1/rate ns
	codel    codelState

	// The delay line.
	dl          line
	lastRelease int64

	// Frames leaving: outbox is filled under mu, and the goroutine that set
	// emitting hands them to out without mu.
	outbox, spare []packet
	emitting      bool
	pool          [][]byte
	// bufs and one hold the frames handed to outMany; only the emitting
	// goroutine uses them.
	bufs [][]byte
	one  [1][]byte

	// The drop hook and the drops waiting for it: filled under mu only
	// while the hook is set, handed to it by the emitting goroutine.
	dropHook         func(frame []byte, r DropReason)
	drops, dropSpare []dropNote

	timer   clock.Timer
	armed   bool
	armedAt int64

	stats Stats
}

// dropNote is a dropped frame waiting for the drop hook; buf is pooled.
type dropNote struct {
	buf    []byte
	reason DropReason
}

// decision is what the random draws decided for one frame.
type decision struct {
	lost       bool
	corrupt    bool
	corruptPos uint32
	corruptBit uint8
	ahead      bool
	delay      int64
}

// New returns a Direction that impairs frames as cfg says and hands them to
// out, timing them with clk. cfg is not validated (see Config.Validate):
// out-of-range values are clamped.
func New(cfg Config, clk clock.Clock, out func(frame []byte)) *Direction {
	return newDirection(cfg, clk, out, nil)
}

// NewBatch is New for an out that takes several frames at once, as a link
// endpoint's sendmmsg does: the frames of a SendBatch that leave at once,
// and those a timer event releases together, come out in one call. out must
// not keep the frames (nor the slice) after it returns.
func NewBatch(cfg Config, clk clock.Clock, out func(frames [][]byte)) *Direction {
	return newDirection(cfg, clk, nil, out)
}

func newDirection(cfg Config, clk clock.Clock, out func([]byte), outMany func([][]byte)) *Direction {
	d := &Direction{clk: clk, out: out, outMany: outMany, epoch: clk.Now()}
	d.fire = d.onTimer
	d.cfg = cloneConfig(&cfg)
	d.s = sanitize(&cfg)
	d.reseed()
	d.setCorrelations()
	d.matchSeen = make([]uint64, len(d.s.matches))
	return d
}

func cloneConfig(c *Config) Config {
	cc := *c
	cc.Distribution = slices.Clone(c.Distribution)
	cc.DropPackets = slices.Clone(c.DropPackets)
	cc.DropMatch = slices.Clone(c.DropMatch)
	return cc
}

// reseed restarts the random source from the Seed and draws the initial
// correlation states from it (netem draws them from the unseeded kernel
// RNG).
func (d *Direction) reseed() {
	d.src.seed(d.s.seed)
	for _, c := range []*correlated{&d.delayCor, &d.lossCor, &d.dupCor, &d.corruptCor, &d.reorderCor} {
		c.last = d.src.u32()
	}
	d.lossState = 0
}

func (d *Direction) setCorrelations() {
	d.delayCor.rho = d.s.delayRho
	d.lossCor.rho = d.s.lossRho
	d.dupCor.rho = d.s.dupRho
	d.corruptCor.rho = d.s.corruptRho
	d.reorderCor.rho = d.s.reorderRho
}

// Config returns the Config in force.
func (d *Direction) Config() Config {
	d.mu.Lock()
	defer d.mu.Unlock()
	return cloneConfig(&d.cfg)
}

// SetConfig changes the Config at once, keeping what is held:
//
//   - Frames in the delay line keep the release time they were given, and
//     the frame on the link its departure time; frames waiting in the rate
//     queue leave at the new Rate. A lower Limit drops no frame already
//     queued.
//   - The random source goes on where it was unless Seed changed, which
//     restarts it as New does. Correlation states, the reorder gap count
//     and the loss model's state are kept (the latter restarts in its good
//     state if the model changed).
//   - The frame numbers and match counts of the schedules restart from zero
//     if DropEveryNth, DropPackets or DropMatch changed; the Outage phase
//     restarts now if Outage changed.
//   - Counters are kept. Trace is replaced by the new Config's.
func (d *Direction) SetConfig(cfg Config) {
	ns := sanitize(&cfg)
	cc := cloneConfig(&cfg)
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return
	}
	now := d.now()
	d.advance(now)
	old := d.s
	d.s, d.cfg = ns, cc
	if ns.seed != old.seed {
		d.reseed()
	}
	d.setCorrelations()
	if ns.loss.Model != old.loss.Model {
		d.lossState = 0
	}
	if !sameSchedule(&old, &ns) {
		d.schedN, d.dropIdx = 0, 0
		d.matchSeen = make([]uint64, len(ns.matches))
	}
	if ns.outage != old.outage {
		d.outageStart = now
	}
	d.advance(now)
	d.arm(now)
	d.emitAndUnlock()
}

// Stats returns the counters as of now on the direction's clock
// (Stats.Elapsed), or as of Close. Frames whose turn on the link came by
// now leave the rate queue first, at the times they would have had the
// timer not been late, as the next Send would make them (this may call
// Config.Trace and the drop hook for CoDel's drops, never out): the queue's length, its
// integrals and the queueing delays are exact as of now.
func (d *Direction) Stats() Stats {
	d.mu.Lock()
	defer d.emitAndUnlock() // CoDel's drops to the drop hook, if any
	if !d.closed {
		now := d.now()
		d.service(now)
		d.arm(now)
	}
	frames, bytes, busy := d.qFrameNs, d.qByteNs, d.qBusyNs
	if !d.closed && d.q.n > 0 {
		// The integrals up to now, not to the queue's last change.
		if dt := d.lastNow - d.qChanged; dt > 0 {
			frames.add(uint64(d.q.n), uint64(dt))
			bytes.add(uint64(d.qBytes), uint64(dt))
			busy += dt
		}
	}
	s := d.stats
	s.QueueLen, s.QueueBytes, s.InFlight = d.q.n, d.qBytes, d.dl.len()
	s.QueueFrameNanos, s.QueueByteNanos = frames.float(), bytes.float()
	s.BackloggedTime = time.Duration(busy)
	s.Elapsed = time.Duration(d.lastNow)
	return s
}

// queueChange brings the queue's integrals up to t, just before its
// length changes at t (t never goes back: frames leave the queue at the
// times the link frees, in order, before one arrives at a later time).
func (d *Direction) queueChange(t int64) {
	if dt := t - d.qChanged; dt > 0 {
		if d.q.n > 0 {
			d.qFrameNs.add(uint64(d.q.n), uint64(dt))
			d.qByteNs.add(uint64(d.qBytes), uint64(dt))
			d.qBusyNs += dt
		}
		d.qChanged = t
	}
}

// acc128 is an unsigned 128-bit sum: the queue's integrals, exact however
// long the direction runs (a 64-bit one would wrap after 18 s of a 1 GB
// queue in byte·ns).
type acc128 struct{ hi, lo uint64 }

// add adds x×y.
func (a *acc128) add(x, y uint64) {
	hi, lo := bits.Mul64(x, y)
	var c uint64
	a.lo, c = bits.Add64(a.lo, lo, 0)
	a.hi += hi + c
}

// float returns a rounded to float64.
func (a acc128) float() float64 {
	return float64(a.hi)*0x1p64 + float64(a.lo)
}

// Close stops the timer and discards the frames held; they are not counted
// as drops. Later Sends do nothing. A frame being handed to out when Close
// is called still is, and so are drops being handed to the drop hook; those
// still waiting for it are not.
func (d *Direction) Close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return
	}
	d.closed = true
	if d.timer != nil {
		d.timer.Stop()
	}
	now := d.now()
	d.service(now) // what left the queue by now is counted as such
	d.queueChange(now)
	for d.q.n > 0 {
		d.putBuf(d.q.pop())
	}
	d.qBytes = 0
	d.dl.drain(d.putBuf)
	for _, p := range d.outbox {
		d.putBuf(p)
	}
	d.outbox = d.outbox[:0]
	d.clearDrops(d.drops)
	d.drops = d.drops[:0]
}

// Send offers one frame to the direction. The frame is copied if it is held
// or changed; Send never keeps it after returning.
func (d *Direction) Send(frame []byte) {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return
	}
	if d.passThrough() {
		// Nothing to decide, nothing held: hand the frame straight on.
		d.count(1)
		d.stats.OfferedBytes += uint64(len(frame))
		d.stats.PassedBytes += uint64(len(frame))
		d.emitting = true
		d.mu.Unlock()
		if d.outMany != nil {
			d.one[0] = frame
			d.outMany(d.one[:])
			d.one[0] = nil
		} else {
			d.out(frame)
		}
		d.mu.Lock()
		d.emitting = false
		d.emitAndUnlock() // what other goroutines queued meanwhile
		return
	}
	now := d.offer(frame)
	d.arm(now)
	d.emitAndUnlock()
}

// SendBatch offers frames to the direction, in order, as Send would one by
// one; those that leave at once leave together, in one call of NewBatch's
// out. It never keeps the frames after returning.
func (d *Direction) SendBatch(frames [][]byte) {
	if len(frames) == 0 {
		return
	}
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return
	}
	if d.passThrough() {
		d.count(uint64(len(frames)))
		for _, f := range frames {
			d.stats.OfferedBytes += uint64(len(f))
			d.stats.PassedBytes += uint64(len(f))
		}
		d.emitting = true
		d.mu.Unlock()
		if d.outMany != nil {
			d.outMany(frames)
		} else {
			for _, f := range frames {
				d.out(f)
			}
		}
		d.mu.Lock()
		d.emitting = false
		d.emitAndUnlock()
		return
	}
	var now int64
	for _, f := range frames {
		now = d.offer(f)
	}
	d.arm(now)
	d.emitAndUnlock()
}

// passThrough reports whether an offered frame can be handed straight on:
// the Config does nothing and nothing is held or being handed out.
func (d *Direction) passThrough() bool {
	return d.s.trivial && d.q.n == 0 && d.dl.len() == 0 && len(d.outbox) == 0 && len(d.drops) == 0 && !d.emitting
}

// count counts n frames offered and passed straight through.
func (d *Direction) count(n uint64) {
	d.stats.Offered += n
	d.stats.Passed += n
	d.seq += n
	d.maxSent = d.seq
}

// offer takes one frame through the schedules, the random draws and the
// outage into the queue, the delay line or the outbox, and returns the
// time it used. The caller holds mu, then arms the timer and emits.
func (d *Direction) offer(frame []byte) int64 {
	d.stats.Offered++
	d.stats.OfferedBytes += uint64(len(frame))
	now := d.lastNow
	if d.s.needNow || d.s.trace != nil || d.q.n > 0 || d.dl.len() > 0 {
		now = d.now()
		d.advance(now)
	}
	d.seq++
	seq := d.seq
	if d.scheduled(frame) {
		d.dropNew(frame, seq, 0, DropSchedule, now)
		return now
	}
	dup := d.s.dupThr > 0 && uint64(d.dupCor.next(&d.src)) < d.s.dupThr
	orig := d.decide(frame)
	var cp decision
	if dup {
		d.seq++
		d.stats.Duplicated++
		cp = d.decide(frame)
	}
	if d.isDown(now) {
		d.dropNew(frame, seq, 0, DropOutage, now)
		if dup {
			d.dropNew(frame, seq+1, flagCopy, DropOutage, now)
		}
		return now
	}
	d.admit(frame, seq, 0, &orig, now)
	if dup {
		d.admit(frame, seq+1, flagCopy, &cp, now)
	}
	return now
}

// now reads the clock, in nanoseconds since the epoch, never going back.
func (d *Direction) now() int64 {
	t := max(int64(d.clk.Now().Sub(d.epoch)), d.lastNow)
	d.lastNow = t
	return t
}

func (d *Direction) at(now int64) time.Time { return d.epoch.Add(time.Duration(now)) }

// scheduled advances the schedules by one frame and reports whether they
// drop it.
func (d *Direction) scheduled(frame []byte) bool {
	s := &d.s
	if s.everyNth == 0 && len(s.dropPackets) == 0 && len(s.matches) == 0 {
		return false
	}
	d.schedN++
	n := d.schedN
	drop := s.everyNth > 0 && n%s.everyNth == 0
	for d.dropIdx < len(s.dropPackets) && s.dropPackets[d.dropIdx] < n {
		d.dropIdx++
	}
	if d.dropIdx < len(s.dropPackets) && s.dropPackets[d.dropIdx] == n {
		drop = true
	}
	if len(s.matches) > 0 {
		seg := parseSegment(frame)
		for i := range s.matches {
			m := &s.matches[i]
			if !m.selects(&seg) {
				continue
			}
			d.matchSeen[i]++
			k := d.matchSeen[i]
			if k > m.Skip && (m.Count == 0 || k-m.Skip <= m.Count) {
				drop = true
			}
		}
	}
	return drop
}

// isDown reports whether the link is down at now.
func (d *Direction) isDown(now int64) bool {
	if d.s.down {
		return true
	}
	o := d.s.outage
	if o.For <= 0 {
		return false
	}
	t := now - d.outageStart - int64(o.Offset)
	if t < 0 {
		return false
	}
	if o.Every > 0 {
		t %= int64(o.Every)
	}
	return t < int64(o.For)
}

// decide makes the random draws for one frame, in netem's order: loss (a
// lost frame that will not be marked draws nothing more), corruption,
// reordering, delay. The draws depend only on the frames offered, never on
// the time, so the random decisions are reproducible even on a real clock.
func (d *Direction) decide(frame []byte) decision {
	var dc decision
	dc.lost = d.lossEvent()
	if dc.lost && !(d.s.ecn && ecnCapable(frame)) {
		return dc
	}
	if d.s.corruptThr > 0 && uint64(d.corruptCor.next(&d.src)) < d.s.corruptThr {
		r := d.src.pcg.Uint64()
		dc.corrupt, dc.corruptPos, dc.corruptBit = true, uint32(r>>32), uint8(r&7)
	}
	if d.s.gap > 0 && d.reorderCount >= d.s.gap-1 && uint64(d.reorderCor.next(&d.src)) < d.s.reorderThr {
		dc.ahead = true
		d.reorderCount = 0
		return dc
	}
	d.reorderCount++
	dc.delay = d.drawDelay()
	return dc
}

func (d *Direction) lossEvent() bool {
	switch d.s.loss.Model {
	case LossRandom:
		return uint64(d.lossCor.next(&d.src)) < d.s.lossThr[0]
	case LossState:
		return lossState4(&d.lossState, &d.s.lossThr, d.src.u32())
	case LossGE:
		return lossGE(&d.lossState, &d.s.lossThr, &d.src)
	}
	return false
}

// drawDelay is netem's tabledist: Delay plus a uniform offset in [-Jitter,
// Jitter), or plus Jitter·T/DistScale rounded half away from zero for a table
// value T; negative results are zero. The draw picks the offset (or the
// table index) by scaling, not by netem's modulo, so that correlated draws
// give correlated delays (see the package doc).
func (d *Direction) drawDelay() int64 {
	mu, sigma := d.s.delay, d.s.jitter
	if sigma == 0 {
		return mu
	}
	rnd := uint64(d.delayCor.next(&d.src))
	var v int64
	if t := d.s.table; t == nil {
		hi, lo := bits.Mul64(rnd, uint64(2*sigma))
		v = mu - sigma + int64(hi<<32|lo>>32)
	} else {
		x := sigma * int64(t[rnd*uint64(len(t))>>32])
		if x >= 0 {
			x += DistScale / 2
		} else {
			x -= DistScale / 2
		}
		v = mu + x/DistScale
	}
	return max(v, 0)
}

// admit takes a frame that survived the schedules and the outage through
// the rest: loss (or CE mark), queue limit, then out at once, into the rate
// queue, or into the delay line.
func (d *Direction) admit(frame []byte, seq uint64, flags uint8, dc *decision, now int64) {
	mark := false
	if dc.lost {
		if !d.s.ecn || !ecnCapable(frame) {
			d.dropNew(frame, seq, flags, DropLoss, now)
			return
		}
		mark = true
	}
	useQueue := !dc.ahead && (d.s.rate > 0 || d.q.n > 0)
	if d.q.n+d.dl.len()+len(d.outbox) >= MaxHeld || (useQueue && d.queueFull(len(frame))) {
		d.dropNew(frame, seq, flags, DropQueue, now)
		return
	}
	p := packet{seq: seq, flags: flags, delay: dc.delay}
	immediate := dc.ahead
	if !dc.ahead && !useQueue {
		p.at = now + dc.delay
		if d.s.order == KeepOrder {
			p.at = max(p.at, d.lastRelease)
		}
		immediate = p.at <= now
	}
	if immediate && !mark && !dc.corrupt && flags&flagCopy == 0 && !d.emitting {
		// The frame leaves unchanged before Send returns: no copy.
		p.buf = frame
	} else {
		p.buf = d.getBuf(frame)
		p.flags |= flagPooled
	}
	if mark {
		markCE(p.buf)
		p.flags |= flagMarked
		d.stats.ECNMarked++
	}
	if dc.corrupt {
		if lo, hi := corruptSpan(p.buf); hi > lo {
			i := lo + int(uint64(dc.corruptPos)*uint64(hi-lo)>>32)
			p.buf[i] ^= 1 << dc.corruptBit
			p.flags |= flagCorrupted
			d.stats.Corrupted++
		}
	}
	switch {
	case dc.ahead:
		p.at = now
		p.flags |= flagAhead
		d.stats.Reordered++
		d.send(p, now)
	case immediate:
		d.send(p, now)
	case useQueue:
		d.trace(p, EventQueue, DropNone, now)
		p.enq = now
		d.queueChange(now)
		d.q.push(p)
		d.qBytes += len(p.buf)
		d.stats.MaxQueueLen = max(d.stats.MaxQueueLen, d.q.n)
		d.stats.MaxQueueBytes = max(d.stats.MaxQueueBytes, d.qBytes)
		d.service(now)
	default:
		d.trace(p, EventQueue, DropNone, now)
		d.lastRelease = max(d.lastRelease, p.at)
		d.dl.push(p)
	}
}

func (d *Direction) queueFull(n int) bool {
	return (d.s.limit > 0 && d.q.n >= d.s.limit) || (d.s.limitBytes > 0 && d.qBytes+n > d.s.limitBytes)
}

// advance brings the queue and the delay line up to now: frames start on
// the link as it frees up, and those whose release time has come go to the
// outbox.
func (d *Direction) advance(now int64) {
	d.service(now)
	for d.dl.len() > 0 && d.dl.head().at <= now {
		d.send(d.dl.pop(), now)
	}
}

// service puts on the link every queued frame whose turn has come by now,
// each at the exact time the link frees up (or it arrived), whenever this
// runs; CoDel decides at that time too.
func (d *Direction) service(now int64) {
	for d.q.n > 0 && d.linkFree <= now {
		if head := d.q.front(); head.enq > d.linkFree {
			// The link went idle with the queue empty.
			d.codel.idle()
			d.linkFree = head.enq
		}
		start := d.linkFree
		d.queueChange(start)
		var p packet
		if d.s.codel {
			var ok bool
			if p, ok = d.codelDequeue(start); !ok {
				return
			}
		} else {
			p = d.q.pop()
			d.qBytes -= len(p.buf)
		}
		d.stats.countSojourn(start - p.enq)
		d.linkFree = start + d.txTime(len(p.buf))
		p.at = d.linkFree + p.delay
		if d.s.order == KeepOrder {
			p.at = max(p.at, d.lastRelease)
		}
		d.lastRelease = max(d.lastRelease, p.at)
		d.dl.push(p)
	}
}

// txTime returns how long a frame of n bytes occupies the link, netem's
// packet_time_ns, in exact rational arithmetic: the fraction of a
// nanosecond left over carries to the next frame, so the long-run rate is
// exact.
func (d *Direction) txTime(n int) int64 {
	s := &d.s
	if s.rate == 0 {
		return 0
	}
	l := max(int64(n)+s.overhead, 0)
	if s.cellSize > 0 {
		cells := (l + s.cellSize - 1) / s.cellSize
		l = max(cells*(s.cellSize+s.cellOverhead), 0)
	}
	hi, lo := bits.Mul64(uint64(l)*8, uint64(time.Second))
	lo, carry := bits.Add64(lo, d.txRem, 0)
	hi += carry
	if hi >= s.rate {
		// Slower than a frame per 584 years: never finishes.
		d.txRem = 0
		return math.MaxInt64 / 4
	}
	q, r := bits.Div64(hi, lo, s.rate)
	d.txRem = r
	return int64(min(q, math.MaxInt64/4))
}

// send moves p to the outbox, to be handed to out by the emitting
// goroutine.
func (d *Direction) send(p packet, now int64) {
	d.stats.Passed++
	d.stats.PassedBytes += uint64(len(p.buf))
	d.stats.countRelease(now - p.at)
	if p.seq < d.maxSent {
		d.stats.Late++
	} else {
		d.maxSent = p.seq
	}
	d.trace(p, EventSend, DropNone, now)
	d.outbox = append(d.outbox, p)
}

// dropNew drops a frame being offered.
func (d *Direction) dropNew(frame []byte, seq uint64, flags uint8, r DropReason, now int64) {
	d.stats.countDrop(r)
	d.trace(packet{buf: frame, seq: seq, flags: flags}, EventDrop, r, now)
	if d.dropHook != nil && len(d.drops) < MaxHeld {
		// The caller's frame is gone by the time the hook may run.
		d.drops = append(d.drops, dropNote{buf: d.getBuf(frame), reason: r})
	}
}

// dropHeld drops a frame the Direction holds.
func (d *Direction) dropHeld(p packet, r DropReason, now int64) {
	d.stats.countDrop(r)
	d.trace(p, EventDrop, r, now)
	if d.dropHook != nil && len(d.drops) < MaxHeld {
		if p.flags&flagPooled == 0 {
			p.buf = d.getBuf(p.buf)
		}
		d.drops = append(d.drops, dropNote{buf: p.buf, reason: r})
		return
	}
	d.putBuf(p)
}

// SetDropHook sets (or, with nil, removes) a function called for every
// frame the Direction drops from then on, whatever the reason: DropSchedule,
// DropLoss, DropOutage, DropQueue or DropCoDel (not frames discarded by
// Close, which are not drops). Each copy Duplicate made is a frame of its
// own. Unlike Config.Trace, the hook stays through SetConfig.
//
// The hook is called as out is: by one goroutine at a time (the one that
// hands frames to out, which may be another Send's or the clock's timer's),
// in the order the frames were dropped, never with the Direction's lock
// held; a drop decided in Send is normally reported before Send returns.
// It may call the Direction's methods (Stats, Config, SetConfig; a Send
// from the hook is handed out after the hook returns). It should return
// quickly, as frames wait for it to leave, and must not keep frame, a copy
// of the dropped frame that is reused once it returns. Stats may call it,
// for CoDel's drops up to now.
//
// With no hook set, drops cost nothing more; with one, each dropped frame
// is copied into a pooled buffer (steady state allocates nothing). At most
// MaxHeld drops wait for the hook; more are not reported to it.
func (d *Direction) SetDropHook(hook func(frame []byte, r DropReason)) {
	d.mu.Lock()
	d.dropHook = hook
	if hook == nil {
		d.clearDrops(d.drops)
		d.drops = d.drops[:0]
	}
	d.mu.Unlock()
}

// clearDrops returns the buffers of drops to the pool and clears them.
func (d *Direction) clearDrops(drops []dropNote) {
	for i := range drops {
		d.putBuf(packet{buf: drops[i].buf, flags: flagPooled})
		drops[i] = dropNote{}
	}
}

func (d *Direction) trace(p packet, e Event, r DropReason, now int64) {
	if d.s.trace == nil {
		return
	}
	v := Verdict{
		Seq:       p.seq,
		Event:     e,
		Reason:    r,
		At:        d.at(now),
		Copy:      p.flags&flagCopy != 0,
		Corrupted: p.flags&flagCorrupted != 0,
		Marked:    p.flags&flagMarked != 0,
		Ahead:     p.flags&flagAhead != 0,
	}
	if e == EventQueue {
		v.Delay = time.Duration(p.delay)
	}
	d.s.trace(p.buf, v)
}

// arm makes sure the timer fires by the next event: the delay line's head
// release or the next start of transmission. One timer serves the whole
// direction; it is reset only when the next event comes sooner than it is
// armed for.
func (d *Direction) arm(now int64) {
	next, has := int64(math.MaxInt64), false
	if d.dl.len() > 0 {
		next, has = d.dl.head().at, true
	}
	if d.q.n > 0 {
		next, has = min(next, max(d.linkFree, d.q.front().enq)), true
	}
	if !has || (d.armed && d.armedAt <= next) {
		return
	}
	d.armed, d.armedAt = true, next
	wait := time.Duration(max(next-now, 0))
	if d.timer == nil {
		d.timer = d.clk.AfterFunc(wait, d.fire)
	} else {
		d.timer.Reset(wait)
	}
}

func (d *Direction) onTimer() {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return
	}
	d.armed = false
	now := d.now()
	d.advance(now)
	d.arm(now)
	d.emitAndUnlock()
}

// emitAndUnlock hands the outbox to out and the drops to the drop hook
// unless another goroutine already does, and unlocks d.mu. The emitting
// goroutine drains both until they stay empty, so frames leave in outbox
// order, out and the hook are never called by two goroutines at once, and
// mu is not held while they run.
func (d *Direction) emitAndUnlock() {
	if d.emitting || len(d.outbox) == 0 && len(d.drops) == 0 {
		d.mu.Unlock()
		return
	}
	d.emitting = true
	for len(d.outbox) > 0 || len(d.drops) > 0 {
		batch := d.outbox
		d.outbox, d.spare = d.spare[:0], nil
		drops, hook := d.drops, d.dropHook
		d.drops, d.dropSpare = d.dropSpare[:0], nil
		d.mu.Unlock()
		if hook != nil {
			for i := range drops {
				hook(drops[i].buf, drops[i].reason)
			}
		}
		if len(batch) > 0 {
			d.emit(batch)
		}
		d.mu.Lock()
		for i := range batch {
			d.putBuf(batch[i])
			batch[i] = packet{}
		}
		d.spare = batch[:0]
		d.clearDrops(drops)
		d.dropSpare = drops[:0]
	}
	d.emitting = false
	d.mu.Unlock()
}

// emit hands the frames of batch to out, or all at once to outMany. Only
// the emitting goroutine calls it.
func (d *Direction) emit(batch []packet) {
	if d.outMany == nil {
		for i := range batch {
			d.out(batch[i].buf)
		}
		return
	}
	bufs := d.bufs[:0]
	for i := range batch {
		bufs = append(bufs, batch[i].buf)
	}
	d.outMany(bufs)
	clear(bufs)
	d.bufs = bufs[:0]
}

// getBuf returns a pooled copy of frame.
func (d *Direction) getBuf(frame []byte) []byte {
	var b []byte
	if k := len(d.pool); k > 0 && cap(d.pool[k-1]) >= len(frame) {
		b = d.pool[k-1][:len(frame)]
		d.pool[k-1] = nil
		d.pool = d.pool[:k-1]
	} else {
		b = make([]byte, len(frame), max(len(frame), minBuf))
	}
	copy(b, frame)
	return b
}

// putBuf returns p's buffer to the pool if it came from there.
func (d *Direction) putBuf(p packet) {
	if p.flags&flagPooled != 0 && len(d.pool) < maxPool {
		d.pool = append(d.pool, p.buf[:0])
	}
}
