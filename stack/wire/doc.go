// Package wire parses and encodes the formats netlab's stack puts on the
// wire: Ethernet II, ARP for IPv4 over Ethernet, IPv4, ICMPv4, UDP and TCP,
// and the Internet checksum that protects them. It does nothing else: no
// state, no I/O, no allocation on the Parse and Encode paths.
//
// There are two levels, as in gVisor's header package and smoltcp's wire
// module:
//
//   - Fields structs (EthernetFields, IPv4Fields, TCPFields...) are the
//     parsed form. ParseX checks a buffer and returns its fields and payload;
//     EncodeX writes fields into a buffer. One struct serves both directions,
//     and an option that is absent is never confused with one that is zero.
//   - Views (Ethernet, IPv4, TCP) are []byte with accessors over the
//     RFC-named offset constants, for fast paths that read or patch one field
//     in place (the router's TTL decrement, tracing).
//
// # Panic contract
//
// This follows smoltcp's wire module:
//
//   - ParseX never panics, whatever its input. Short, inconsistent or corrupt
//     input gives one of the sentinel errors ErrTruncated, ErrMalformed,
//     ErrBadChecksum or ErrUnsupported; compare with errors.Is.
//   - Once ParseX has accepted a buffer, nothing panics on it: every accessor
//     of the matching view, Summary, and EncodeX of the returned fields into a
//     buffer of the documented length.
//   - View accessors do no checks of their own. Use them only on bytes that
//     ParseX accepted or that EncodeX wrote.
//   - EncodeX panics only when its buffer is shorter than what it must write,
//     which is a programming error; each EncodeX says how long the buffer
//     must be.
//
// Payloads returned by ParseX alias the input buffer: nothing is copied.
//
// # Checksums
//
// Checksums are RFC 1071 one's-complement sums. Sum accumulates,
// PseudoHeaderSum covers the RFC 9293 §3.1 / RFC 768 pseudo-header, Fold and
// Checksum finish. A received packet is valid when Fold(Sum(packet, pseudo))
// is 0xffff, which is how every ParseX checks it.
package wire

import "errors"

// ErrTruncated is returned when a buffer is shorter than its headers, or than
// the length its own length fields announce.
var ErrTruncated = errors.New("wire: truncated")

// ErrBadChecksum is returned when a header or packet checksum does not verify.
var ErrBadChecksum = errors.New("wire: bad checksum")

// ErrMalformed is returned when a version, header length, data offset or
// length field holds a value the protocol does not allow.
var ErrMalformed = errors.New("wire: invalid header field")

// ErrUnsupported is returned for well-formed input this package does not
// handle, such as ARP for anything but IPv4 over Ethernet.
var ErrUnsupported = errors.New("wire: unsupported")
