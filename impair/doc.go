// Package impair is netlab's impairment engine: it does to the Ethernet
// frames of one link direction what Linux netem does to packets (delay,
// jitter, loss, duplication, corruption, reordering, rate limits and
// queues), plus CoDel, ECN marking, deterministic drop schedules and
// outages, exactly and reproducibly. It is pure: time comes from a
// clock.Clock, randomness from a seed, and nothing else is read.
//
// A Direction impairs one direction: Send takes frames in, and they come out
// through a function at the clock time the Config says. An Endpoint wraps a
// link.Endpoint and impairs both of its directions, egress on WritePacket
// and ingress before the Dispatcher, so a node's agent impairs what it sends
// and, where needed, what it receives, with no kernel netem. Batches
// survive it: frames written together (WritePackets, SendBatch) or released
// together by one timer event leave in one WritePackets of the wrapped
// endpoint (sendmmsg), and inbound batches reach the stack between
// BeginBatch and EndBatch, so that its replies leave together too.
//
// # The netem grammar
//
// The `netem:` block of a topology file and the flags of `netlab impair`
// say what a direction does in netem's words (delay: 50ms, jitter: 5ms,
// loss: 2%, loss-model: {model: gemodel, p: 1%}, rate: 10mbit, limit: 100,
// drop-match: ["syn first"]...). Parse owns that grammar: its keys (Keys),
// the values' units, netem's and iproute2's defaults (DefaultLimit,
// StateLoss, GELoss), and the checks, with messages that say what is
// allowed. It reads a Value tree, which a reader of some text format builds
// with positions (topology reads YAML, the CLI its flags), so that this
// package reads no text format itself; its errors carry the path and
// position of the value at fault. Config.String writes a Config back in
// netem's words, and a Config's JSON (what the agents' API carries) uses the
// grammar's names.
//
// # What happens to a frame
//
// In this order:
//
//  1. Schedules. DropEveryNth, DropPackets and DropMatch drop frames by their
//     number (counted from when the schedule was set) and content: the first
//     SYN, every FIN, the segment carrying sequence number X, pure ACKs...
//     A frame they drop costs no random draw.
//  2. Random draws, all from the Direction's source, in netem's order:
//     duplicate (does the frame get a copy?), then for the frame and then
//     for its copy: loss, corruption (and which bit), reorder, delay. A lost
//     frame that will not be ECN-marked draws nothing more. The draws depend
//     on the frames offered only, never on the time they are offered.
//  3. Outage. A frame offered while the link is down (Outage, Down) is
//     dropped.
//  4. Loss: dropped, or marked CE if Config.ECN is set and the frame is ECT
//     (ECT(0), ECT(1), or already CE).
//  5. Queue limit: with a Rate, a frame that finds the rate queue at Limit
//     frames or LimitBytes bytes is tail-dropped.
//  6. Corruption flips the chosen bit of a private copy (Send never changes
//     the caller's frame).
//  7. A frame Reorder chose leaves at once, ahead of every frame waiting.
//     The others enter the rate queue, if there is a Rate: a FIFO served at
//     Rate bits/s, each frame occupying the link for (len + Overhead,
//     rounded up to cells) bytes, CoDel (RFC 8289) dropping or marking at
//     the head. Leaving the link (or at once, without a Rate) a frame enters
//     the delay line for its drawn delay, and leaves when that is over.
//
// # Parity with netem
//
// The formulas are netem's (net/sched/sch_netem.c, iproute2 tc/q_netem.c):
//
//   - Delay: Delay + uniform [-Jitter, Jitter) without a distribution (netem's
//     real default, not normal as old man pages say), Delay + Jitter·T/8192
//     with a table (tabledist, rounding half away from zero); a negative
//     result is zero. The built-in normal, pareto and paretonormal tables are
//     iproute2's value for value: pareto is computed as pareto.c does,
//     normal is normal.c's output generated once (TestDistTables reruns
//     normal.c's grid search and compares with the installed /usr/lib/tc
//     files when there are any). ParseDistTable reads iproute2's .dist
//     files.
//   - Correlation (delay, loss, duplicate, corrupt, reorder): netem's
//     get_crandom, next = (1-ρ)·U + ρ·last. This is not a true correlation:
//     it narrows the spread of the values (the delay's standard deviation
//     shrinks by √((1-ρ)/(1+ρ))) and so changes the rate of correlated loss;
//     the netem man page deprecates loss correlation for this reason. The
//     Gilbert-Elliott and 4-state models make loss bursts properly.
//   - Loss: random (Bernoulli), the 4-state Markov model (loss state p13 p31
//     p32 p23 p14) and Gilbert-Elliott (loss gemodel p r 1-h 1-k), with
//     iproute2's defaults for the parameters left out (StateLoss, GELoss).
//   - Duplicate, corrupt (one random bit), reorder with probability and gap
//     (after Gap-1 delayed frames the next goes at once with probability
//     Reorder; Gap alone means 100%, Reorder alone gap 1), rate with
//     per-packet overhead (which may be negative) and cells (packet_time_ns),
//     ECN marking of ECT frames instead of loss drops.
//   - Order: Order ReorderLikeNetem releases frames by release time as
//     netem's tfifo does, so jitter larger than the gap between frames
//     reorders them.
//
// # Where it differs, and why
//
//   - Determinism. Every random decision comes from one PCG source per
//     direction seeded with Config.Seed, including what netem leaves to the
//     unseeded kernel RNG (the corrupted bit's position, the initial
//     correlation states). The same seed and the same frames at the same
//     times give the same decisions; the random ones (which frames are
//     lost, corrupted, copied, reordered, and their delays) do not even
//     depend on the times. SetConfig keeps the stream unless Seed changes.
//   - Per direction, ingress included (netem is egress only and needs an
//     IFB for ingress).
//   - Order KeepOrder: jitter never reorders; a frame that would overtake
//     waits for the one before it.
//   - Correlated draws pick the delay (or the table entry) by scaling the
//     32-bit value, not by netem's modulo: rnd % (2·Jitter) and
//     table[rnd % size] wrap the value around hundreds of times, which (from
//     reading the code) leaves netem's delay correlation with little effect.
//     Here correlated draws give correlated delays (lag-1 autocorrelation
//     ρ).
//   - Rate and queue. The rate queue comes before the delay line, as on a
//     real path (a bottleneck queue, then propagation), and only frames
//     waiting for the link count against Limit and LimitBytes. netem puts
//     the delay first and serializes in arrival order, and its limit counts
//     every frame in its tfifo, so in netem a long delay at a high packet
//     rate tail-drops even without a rate. For a constant delay the
//     departure times are the same as netem's; with jitter and a rate,
//     netem's departures stay in order while here the jitter comes after the
//     queue and may reorder (KeepOrder keeps the order). The delay line itself is
//     bounded only by MaxHeld, to protect memory. Without a Rate nothing
//     queues and Limit has no effect.
//   - CoDel is built in (netem needs a child qdisc), and ECN marking applies
//     to CoDel as to the loss models, for IPv4 (the header checksum is
//     updated, RFC 1624) and IPv6. Queue-overflow drops are never marked.
//   - Corruption flips a bit inside the IP datagram only (not the Ethernet
//     header nor link padding, which no checksum covers), so the receiver's
//     checksum check always catches it, except in a UDP datagram sent
//     without a checksum. netem may flip any byte from the L2 header on.
//   - A frame's copy is decided on its own, loss included; in netem a loss
//     on a frame chosen for duplication cancels the copy instead.
//   - Gilbert-Elliott: the chain moves, then the loss is drawn in the new
//     state (as netem's documentation reads); the kernel code draws it with
//     the old state, the same chain seen one frame earlier. The 4-state
//     model follows the model's definition (tc-netem(8), the NetemCLG
//     report), where kernel versions have differed.
//   - The reorder gap counts frames that passed the loss decision, before
//     the queue limit (netem counts after it), so that the draws never
//     depend on time.
//   - Beyond netem: DropEveryNth, DropPackets, DropMatch, Outage, Down, the
//     Late counter (RFC 4737 reordering from any cause), the Trace hook
//     and the drop hook (SetDropHook).
//   - Not done: netem's slot (bursty MAC aggregation) and GSO segmentation
//     (a frame is a frame).
//
// # Time and concurrency
//
// Time is an input: a Direction reads its clock.Clock and arms one timer on
// it, for the next event (the delay line's head or the link freeing up), not
// one per frame. On clock.Manual the engine is exact and deterministic; on
// the real clock a late timer delays frames but not the schedule they were
// computed on (the link's departure times are exact whenever they are
// processed, so rates stay exact).
//
// A Direction is safe for concurrent use. Its function out is called by one
// goroutine at a time, in departure order, without any lock held, so it may
// call back into the Direction or into the stack. A frame that leaves at
// once leaves before Send returns unless another goroutine is handing frames
// out at that moment, in which case that goroutine sends it. The drop hook
// (Direction.SetDropHook, Endpoint.SetDropHooks), which tells an observer
// of every frame dropped and why, is called the same way, by the same
// goroutine. Steady-state operation allocates nothing: buffers come from a
// per-Direction pool.
//
// # Runtime changes
//
// SetConfig applies a new Config at once and keeps what is held: frames in
// the delay line keep their release times, frames waiting for the link
// leave at the new Rate, counters go on. See Direction.SetConfig.
package impair
