// Package plot turns a connection trace (the probe events `netlab trace`
// prints as JSON lines, see nodeagent.TraceEvent) into the plots people use
// to read TCP: the tcptrace-style time–sequence graph, cwnd/ssthresh/bytes in
// flight with the congestion phases shaded, SRTT and RTO with RTO firings, and
// goodput over time.
//
// The work is split in two: the Series functions (TimeSequence, Congestion,
// RTT, Goodput) compute the data of a plot from a trace and are pure; Render
// and RenderFile draw them with gonum.org/v1/plot as SVG or PNG. Times in a
// series are seconds since the connection's first event, sequence numbers
// are relative to the initial sequence number and unwrapped (they do not
// jump at 2^32), sizes are bytes and RTTs are milliseconds.
//
// The conventions follow Wireshark's TCP Stream Graphs and tcptrace (`-S`,
// `-R`, `-T`): a data segment is a vertical bar from its first to its last
// sequence number, the ACK line is the cumulative ACK, and the window line
// is ACK + advertised window.
//
// What the trace cannot give is left out rather than guessed: the events
// carry no RTTVAR (so the RTT plot has SRTT, RTO and RTT samples measured
// from the trace) and only the number of SACK blocks of an ACK (so ACKs
// with SACK blocks are marked, not the blocks). A 4-tuple reused by a later
// connection is one ConnID.
package plot
