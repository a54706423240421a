// Package plot turns one connection of a trace (the probe events of package
// trace, as the agent records them and `netlab trace` prints them) into the
// plots people use to read TCP: the tcptrace-style time–sequence graph,
// cwnd/ssthresh/bytes in flight with the congestion phases shaded, SRTT and
// RTO with RTO firings, and goodput over time. FromPcap turns a pcapng
// capture into such events, for the plots a capture can give.
//
// The work is split in two: the Series functions (TimeSequence, Congestion,
// RTT, Goodput) compute the data of a plot from a trace and are pure; Render
// and RenderFile draw them with gonum.org/v1/plot as SVG or PNG. Times in a
// series are seconds since the connection's first event, sequence numbers
// are relative to the initial sequence number and unwrapped (they do not
// jump at 2^32), sizes are bytes and RTTs are milliseconds.
//
// A connection is a trace.Conn: one instance of a 4-tuple, as trace.Conns
// finds them. A 4-tuple used twice (reused after TIME-WAIT, or a seeded
// lab run twice into one trace) is two connections, plotted apart.
//
// The conventions follow Wireshark's TCP Stream Graphs and tcptrace (`-S`,
// `-R`, `-T`): a data segment is a vertical bar from its first to its last
// sequence number, the ACK line is the cumulative ACK, and the window line
// is ACK + advertised window.
//
// What the trace cannot give is left out rather than guessed: the events
// carry no RTTVAR (so the RTT plot has SRTT, RTO and RTT samples measured
// from the trace) and only the number of SACK blocks of an ACK (so ACKs
// with SACK blocks are marked, not the blocks).
package plot
