// Package check is the vocabulary of graded checks: what a lab file may
// ask of a run (a handshake, a fast retransmission, a zero window, data
// delivered intact, a student's answer...), each kind with its parameters
// and its evaluation over the run's Evidence. It is pure: the grader
// gathers the evidence (probe traces of the Go-stack nodes, the results of
// the scenario's steps, the student's answers, the values Measures
// computed) and this package only reads it.
//
// A lab file names a kind and gives its arguments (Args); Kind.New
// validates them, with an *ArgError naming the key at fault, and returns a
// Check; Check.Eval returns an Outcome: pass or fail, what was expected
// and what was found (in words for people), and for the TCP kinds the
// connection looked at, the events that show it (Context, formatted as
// Lines) and the offending event (Mark). Eval never panics on odd
// evidence: a node with no trace, a missing step, a field of the wrong type
// are failures whose Actual says so.
//
// # Choosing the connection
//
// The TCP kinds and measures read one connection of one node's trace:
// node names the Go-stack node, conn picks one of its connections as
// trace.Select does ("#N", any part of "local->remote" such as ":5001",
// with "@latest" for the latest instance of a 4-tuple used twice). Without
// conn, a node with one connection uses it, and a node with several uses
// the one that carried the most payload (sent and received), the latest
// of those that tie. A node with no trace, no connection, or no connection
// matching is a failure that says so.
//
// The checks read the traces as the stack records them: an "in" event's
// state variables are those before the segment is processed, an "out"
// event's are those as the segment leaves (snd_nxt and inflight before it
// is counted), a timer event's are those as the timer fires (an rto
// event's rto_ms is the RTO that expired). A listener's trace starts at
// its SYN-ACK: the SYN it answered is not in it, so the peer's SYN options
// and MSS are unknown there (handshake infers the options from the
// SYN-ACK; max-segment then needs mss). Lines numbers sequence numbers
// relative to the ISNs, and the sequence patterns use the same numbers.
//
// # Sequence patterns
//
// The sequence kind's expect lines follow this grammar:
//
//	line    = "..." | dir " " flags { " " item } [ " " repeat ]
//	dir     = ">" (the node sent it) | "<" (it received it) | "*" (either)
//	flags   = "*" (any) | tcpdump's letters in any order: S F R P . U E W
//	          ("." is ACK; the segment's flags must be exactly these)
//	item    = field "=" value | "retrans" | "!retrans"
//	field   = "seq" | "ack" | "len" | "win" | "end" | "mss"
//	value   = "*" | N | N ".." [M] | ".." M | "+" N
//	repeat  = "{" N "}" | "{" N "," [M] "}"
//
// seq, ack and end (seq+len) are relative to the ISNs, as Lines prints
// them (the SYN is 0, the first data byte 1); win is the window in bytes
// (scaled); mss is a SYN's MSS option. N..M is a range, both ends
// included, either end open. +N is a step from the same field of the
// previous segment in the same direction, matched or not ("seq=+1448": the
// segment right after a full one; with no such segment, from 0). retrans
// and !retrans ask for a retransmission or a first transmission. A repeat
// matches the line that many times in a row. "..." matches any number of
// segments, none included.
//
// The lines are matched in order against the connection's segments (not
// its state and timer events), the first line against the first segment;
// segments after the last line do not matter (start with "..." to match
// from anywhere). On a failure, Expected names the first line that could
// not be matched and Actual the segment it met, and why it differs:
//
//	expect: ["> S", "< S.", "> .", "> . len=1448 {10}", "< . ack=1449"]
//	expect: ["...", "< . ack=7241 {3}", "> . seq=7241 retrans"]
//	expect: ["> S. ack=1", "< .", "...", "> F.", "< . ack=2"]
//
// # Kinds
//
// answer: the student's answer equals the value measured from the run:
// numbers within tolerance, other answers exactly (surrounding spaces aside).
//   - name (required): the answer's name in the answers file
//   - tolerance: for numbers: an absolute difference (0.5) or a percentage of
//     the truth (5%); default 0
//   - truth: the measured value's name (default: the answer's name)
//
// counter: a counter (an nstat name such as TcpRetransSegs, or any numeric
// field) in a step's result is between min and max; with since, its increase
// from that step's result.
//   - name (required): the counter: a key of the result's counters map, or a
//     dotted path into the result
//   - step (required): the step whose result holds the counter
//   - max: the greatest value
//   - min: the least value
//   - since: a step read before: the counter's increase since then is bounded
//
// delivered: the data arrived intact: the sha256 of what the received step
// got equals the sent step's, and/or exactly bytes arrived (by the received
// step's count, or in order on the node's connection).
//   - bytes: the bytes that must arrive (a size: 1000000, 1MB): the received
//     step's bytes, or without it the bytes the node's connection received in
//     order
//   - conn: which of its connections: "#N", part of "local->remote"
//     (":5001"), "@latest" suffix; default: the only one, else the one that
//     carried the most data
//   - node: with bytes and no received step: the receiving node whose trace
//     counts the bytes
//   - received: the step (a sink's report) whose result's sha256 (or
//     last_sha256) is the data received
//   - sent: the step that sent the data; its result's sha256 is the data's
//
// fast-retransmit: the node made a fast retransmission (the first of a fast
// recovery) after at least dupacks duplicate ACKs of the retransmitted
// sequence number; SACK-carrying ACKs count, window changes do not matter.
//   - node (required): the Go-stack node whose trace is read
//   - conn: which of its connections: "#N", part of "local->remote"
//     (":5001"), "@latest" suffix; default: the only one, else the one that
//     carried the most data
//   - dupacks: the duplicate ACKs that must come first (default 3, RFC 5681)
//
// goodput: the node's goodput on the connection (payload acknowledged over
// the time from its first data segment to the ACK of its last byte) is at
// least min and at most max: whether windows and buffers let a transfer fill
// the path.
//   - node (required): the Go-stack node whose trace is read
//   - conn: which of its connections: "#N", part of "local->remote"
//     (":5001"), "@latest" suffix; default: the only one, else the one that
//     carried the most data
//   - max: the most, a rate
//   - min: the least goodput, a rate (16mbit, 2.5mbit)
//
// handshake: the node's three-way handshake completed: SYN, SYN-ACK and ACK
// in order (sent or received as its role says) and ESTABLISHED reached;
// optionally with these SYN options on both SYNs and these MSS values.
//   - node (required): the Go-stack node whose trace is read
//   - conn: which of its connections: "#N", part of "local->remote"
//     (":5001"), "@latest" suffix; default: the only one, else the one that
//     carried the most data
//   - mss: the MSS the node announced in its SYN (or SYN-ACK)
//   - options: SYN options both SYNs must carry: a list of mss, sackOK,
//     wscale, TS
//   - peer-mss: the MSS the peer announced in its SYN (or SYN-ACK)
//
// inflight-bounded: at every data segment the node sent in the open or
// disorder state, the data in flight with it (snd_nxt − snd_una after it)
// was at most min(cwnd, the peer's window) (+ 2 MSS of limited transmit in
// disorder, RFC 3042) + tolerance; recovery and loss are skipped, where the
// trace lacks the pipe (SACKed and lost bytes).
//   - node (required): the Go-stack node whose trace is read
//   - conn: which of its connections: "#N", part of "local->remote"
//     (":5001"), "@latest" suffix; default: the only one, else the one that
//     carried the most data
//   - tolerance: allowed excess: bytes or MSS (default 0)
//
// max-segment: no data segment the node sent carries more than mss bytes
// (default: the MSS the peer announced, 536 if it announced none); a
// connection that sent no data fails.
//   - node (required): the Go-stack node whose trace is read
//   - conn: which of its connections: "#N", part of "local->remote"
//     (":5001"), "@latest" suffix; default: the only one, else the one that
//     carried the most data
//   - mss: the largest payload allowed, in bytes (default: the MSS the peer
//     announced)
//
// retransmits: the node retransmitted between min and max segments (of the
// kind asked: any, fast — in fast recovery — or rto — after a
// retransmission timeout).
//   - node (required): the Go-stack node whose trace is read
//   - conn: which of its connections: "#N", part of "local->remote"
//     (":5001"), "@latest" suffix; default: the only one, else the one that
//     carried the most data
//   - kind: which retransmissions count: any (default), fast or rto
//   - max: the most retransmitted segments
//   - min: the fewest retransmitted segments
//
// rto-backoff: successive retransmission timeouts of the same unacknowledged
// segment double the RTO (up to max-rto), and each timeout came that RTO
// after the previous one, within tolerance; at least min backoffs happened.
//   - node (required): the Go-stack node whose trace is read
//   - conn: which of its connections: "#N", part of "local->remote"
//     (":5001"), "@latest" suffix; default: the only one, else the one that
//     carried the most data
//   - max-rto: the RTO's ceiling, where doubling stops (default 120s, as
//     Linux)
//   - min: the fewest backoffs (doublings) in one run of timeouts (default 1)
//   - tolerance: how far each RTO and each wait may be from the expected: a
//     duration (20ms) or a percentage (default 10%)
//
// sequence: the connection's segments match the expected lines, in order,
// from its first segment: packetdrill-like patterns such as "> S", "< S.
// ack=1", "> P. len=1448", "..." (the grammar is under Sequence patterns).
//   - expect (required): the pattern lines, in order (grammar in the package
//     doc)
//   - node (required): the Go-stack node whose trace is read
//   - conn: which of its connections: "#N", part of "local->remote"
//     (":5001"), "@latest" suffix; default: the only one, else the one that
//     carried the most data
//
// ssthresh-halved: at every loss (entry into fast recovery, or an RTO not
// already in loss) ssthresh became factor × the flight size before it (RFC
// 5681 eq. 4) or factor × cwnd (as Linux), at least 2 MSS, within tolerance;
// at least one loss must happen.
//   - node (required): the Go-stack node whose trace is read
//   - conn: which of its connections: "#N", part of "local->remote"
//     (":5001"), "@latest" suffix; default: the only one, else the one that
//     carried the most data
//   - factor: the reduction factor (default 0.5; CUBIC's is 0.7)
//   - tolerance: how far ssthresh may be from the expected value: bytes or
//     MSS (default 1mss)
//
// step: a field of a step's result (e.g. a command's stdout or exit status)
// equals a value, matches a regular expression, and/or the step's exit status
// is exit.
//   - step (required): the step
//   - equals: the field's value, as text (spaces around it aside)
//   - exit: the step's exit status: its result's exit, exit_status or
//     exit_code field
//   - field: a dotted path into the step's result (default: the whole result;
//     stdout, results.0.error...)
//   - regex: a regular expression (RE2) the field's text must match
//
// time-wait: the connection entered TIME-WAIT on the node (it closed first);
// with held, it stayed there at least that long before the timewait timer
// freed it, when the trace shows that end.
//   - node (required): the Go-stack node whose trace is read
//   - conn: which of its connections: "#N", part of "local->remote"
//     (":5001"), "@latest" suffix; default: the only one, else the one that
//     carried the most data
//   - held: the least time in TIME-WAIT (e.g. 60s); not checked if the trace
//     ends first
//
// window: the largest window the peer advertised to the node (scaled to
// bytes, SYNs aside) is at least min and at most max: whether the receiver's
// buffer and window scale let a window cover the bandwidth-delay product.
//   - node (required): the Go-stack node whose trace is read
//   - conn: which of its connections: "#N", part of "local->remote"
//     (":5001"), "@latest" suffix; default: the only one, else the one that
//     carried the most data
//   - max: the most it may be (a size)
//   - min: the least the largest advertised window may be (a size: 65535,
//     256KB)
//
// zero-window: the peer advertised a zero window, the node sent at least
// probes persist (zero-window) probes while it stayed closed, and new data
// went out after it reopened.
//   - node (required): the Go-stack node whose trace is read
//   - conn: which of its connections: "#N", part of "local->remote"
//     (":5001"), "@latest" suffix; default: the only one, else the one that
//     carried the most data
//   - probes: the fewest persist probes (persist timer events) while the
//     window was zero (default 1)
//
// # Measures
//
// Measures compute the truth an answer is graded against (the answer kind).
//
// bytes: the payload bytes the node received in order on the connection.
//   - node (required): the Go-stack node whose trace is read
//   - conn: which of its connections: "#N", part of "local->remote"
//     (":5001"), "@latest" suffix; default: the only one, else the one that
//     carried the most data
//
// goodput: the node's goodput, in Mbit/s (decimal, to the kbit/s): the
// payload bytes the peer acknowledged, over the time from the node's first
// data segment to the ACK that acknowledged the last of them (the whole data,
// or as much as was ever acknowledged).
//   - node (required): the Go-stack node whose trace is read
//   - conn: which of its connections: "#N", part of "local->remote"
//     (":5001"), "@latest" suffix; default: the only one, else the one that
//     carried the most data
//
// isn: the initial sequence number (absolute, decimal) of the side's SYN.
//   - node (required): the Go-stack node whose trace is read
//   - conn: which of its connections: "#N", part of "local->remote"
//     (":5001"), "@latest" suffix; default: the only one, else the one that
//     carried the most data
//   - side: whose SYN: local (the node's, default) or remote (its peer's; not
//     in a listener's trace)
//
// loss-events: the number of congestion events: entries into fast recovery,
// and retransmission timeouts not already in loss (the losses ssthresh-halved
// checks).
//   - node (required): the Go-stack node whose trace is read
//   - conn: which of its connections: "#N", part of "local->remote"
//     (":5001"), "@latest" suffix; default: the only one, else the one that
//     carried the most data
//
// mathis: Mathis et al.'s throughput prediction, in Mbit/s (decimal, to the
// kbit/s): MSS/RTT × sqrt(3/2) / sqrt(p), with MSS the largest data segment
// the node sent, RTT the smoothed RTT at the connection's last event (srtt's
// at: last) and p its loss events (loss-events) over the data segments it
// sent (segments: retransmissions not counted).
//   - node (required): the Go-stack node whose trace is read
//   - conn: which of its connections: "#N", part of "local->remote"
//     (":5001"), "@latest" suffix; default: the only one, else the one that
//     carried the most data
//
// mss: the MSS the side announced in its SYN, in bytes.
//   - node (required): the Go-stack node whose trace is read
//   - conn: which of its connections: "#N", part of "local->remote"
//     (":5001"), "@latest" suffix; default: the only one, else the one that
//     carried the most data
//   - side: whose SYN: local (the node's, default) or remote (its peer's; not
//     in a listener's trace)
//
// reduction: the multiplicative decrease at a loss (entry into fast recovery,
// or an RTO not already in loss; the first, or the at-th): the ssthresh set
// at it over the cwnd (or the flight size) just before it, to 2 decimals.
//   - node (required): the Go-stack node whose trace is read
//   - at: which loss: 1 (default, the first), 2...
//   - conn: which of its connections: "#N", part of "local->remote"
//     (":5001"), "@latest" suffix; default: the only one, else the one that
//     carried the most data
//   - of: what ssthresh is divided by: cwnd (default; what Linux multiplies,
//     for Reno and CUBIC) or flight, the bytes in flight, the trace's
//     inflight (RFC 5681 eq. 4's FlightSize)
//
// retransmits: the number of segments the node retransmitted (of the kind
// asked).
//   - node (required): the Go-stack node whose trace is read
//   - conn: which of its connections: "#N", part of "local->remote"
//     (":5001"), "@latest" suffix; default: the only one, else the one that
//     carried the most data
//   - kind: which count: any (default), fast or rto
//
// rto: the RTO, in ms, of a timeout: the first retransmission timeout of a
// segment, or the one after backoffs doublings.
//   - node (required): the Go-stack node whose trace is read
//   - backoffs: how many backoffs before the timeout measured (default 0: the
//     first timeout)
//   - conn: which of its connections: "#N", part of "local->remote"
//     (":5001"), "@latest" suffix; default: the only one, else the one that
//     carried the most data
//
// segments: the number of segments the node sent that carried data,
// retransmissions not counted.
//   - node (required): the Go-stack node whose trace is read
//   - conn: which of its connections: "#N", part of "local->remote"
//     (":5001"), "@latest" suffix; default: the only one, else the one that
//     carried the most data
//
// srtt: the smoothed RTT, in ms (to the microsecond), at the connection's
// last event (at: last), or its least or greatest value (at: min, max).
//   - node (required): the Go-stack node whose trace is read
//   - at: last (default), min or max
//   - conn: which of its connections: "#N", part of "local->remote"
//     (":5001"), "@latest" suffix; default: the only one, else the one that
//     carried the most data
//
// syn-options: the options of the side's SYN, by name, in tcpdump's order:
// "mss,sackOK,TS,wscale".
//   - node (required): the Go-stack node whose trace is read
//   - conn: which of its connections: "#N", part of "local->remote"
//     (":5001"), "@latest" suffix; default: the only one, else the one that
//     carried the most data
//   - side: whose SYN: local (the node's, default) or remote (its peer's; not
//     in a listener's trace)
//
// wscale: the window scale shift the side announced in its SYN.
//   - node (required): the Go-stack node whose trace is read
//   - conn: which of its connections: "#N", part of "local->remote"
//     (":5001"), "@latest" suffix; default: the only one, else the one that
//     carried the most data
//   - side: whose SYN: local (the node's, default) or remote (its peer's; not
//     in a listener's trace)
package check
