package wire

import (
	"encoding/binary"
	"net/netip"
)

// TCP header (RFC 9293 §3.1):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|          Source Port          |       Destination Port        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                        Sequence Number                        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                    Acknowledgment Number                      |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  Data |       |C|E|U|A|P|R|S|F|                               |
//	| Offset| Rsrvd |W|C|R|C|S|S|Y|I|            Window             |
//	|       |       |R|E|G|K|H|T|N|N|                               |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|           Checksum            |         Urgent Pointer        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                           [Options]                           |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                                                               :
//	:                             Data                              :
//	:                                                               |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
const (
	// TCPSrcPortOffset is the offset of Source Port.
	TCPSrcPortOffset = 0
	// TCPDstPortOffset is the offset of Destination Port.
	TCPDstPortOffset = 2
	// TCPSeqOffset is the offset of Sequence Number.
	TCPSeqOffset = 4
	// TCPAckOffset is the offset of Acknowledgment Number.
	TCPAckOffset = 8
	// TCPDataOffsetOffset is the offset of the byte holding Data Offset, the
	// header length in 32-bit words, in its high nibble.
	TCPDataOffsetOffset = 12
	// TCPFlagsOffset is the offset of the control bits (CWR to FIN).
	TCPFlagsOffset = 13
	// TCPWindowOffset is the offset of Window.
	TCPWindowOffset = 14
	// TCPChecksumOffset is the offset of Checksum.
	TCPChecksumOffset = 16
	// TCPUrgentOffset is the offset of Urgent Pointer.
	TCPUrgentOffset = 18
	// TCPOptionsOffset is the offset of the first option byte.
	TCPOptionsOffset = 20
	// TCPMinHeaderLen is the length of a header without options (Data
	// Offset 5).
	TCPMinHeaderLen = 20
	// TCPMaxOptionsLen is the most option bytes a header holds (Data Offset
	// 15 gives 60 bytes).
	TCPMaxOptionsLen = 40
	// TCPMaxHeaderLen is the length of a header with the most options.
	TCPMaxHeaderLen = TCPMinHeaderLen + TCPMaxOptionsLen
)

// TCP option kinds (RFC 9293 §3.2, RFC 7323, RFC 2018; registry at IANA).
const (
	// TCPOptionEOL ends the option list (kind 0, one byte).
	TCPOptionEOL uint8 = 0
	// TCPOptionNOP is padding between options (kind 1, one byte).
	TCPOptionNOP uint8 = 1
	// TCPOptionMSS is Maximum Segment Size (kind 2, length 4; RFC 9293
	// §3.7.1).
	TCPOptionMSS uint8 = 2
	// TCPOptionWindowScale is Window Scale (kind 3, length 3; RFC 7323 §2).
	TCPOptionWindowScale uint8 = 3
	// TCPOptionSACKPermitted is SACK-Permitted (kind 4, length 2; RFC 2018
	// §2).
	TCPOptionSACKPermitted uint8 = 4
	// TCPOptionSACK is SACK (kind 5, length 2+8n; RFC 2018 §3).
	TCPOptionSACK uint8 = 5
	// TCPOptionTimestamps is Timestamps (kind 8, length 10; RFC 7323 §3).
	TCPOptionTimestamps uint8 = 8
)

// Option lengths and limits.
const (
	// TCPMaxWindowScale is the largest shift count allowed; larger received
	// values are used as 14 (RFC 7323 §2.3).
	TCPMaxWindowScale = 14
	// TCPMaxSACKBlocks is the most SACK blocks one option holds (RFC 2018 §3:
	// 40 option bytes give at most 4).
	TCPMaxSACKBlocks = 4
)

// TCPFlags is the set of TCP control bits, the byte at TCPFlagsOffset.
type TCPFlags uint8

// TCP control bits (RFC 9293 §3.1; ECE and CWR from RFC 3168 §6.1).
const (
	// TCPFlagFIN is FIN: no more data from sender.
	TCPFlagFIN TCPFlags = 1 << iota
	// TCPFlagSYN is SYN: synchronize sequence numbers.
	TCPFlagSYN
	// TCPFlagRST is RST: reset the connection.
	TCPFlagRST
	// TCPFlagPSH is PSH: push function.
	TCPFlagPSH
	// TCPFlagACK is ACK: the Acknowledgment field is significant.
	TCPFlagACK
	// TCPFlagURG is URG: the Urgent Pointer field is significant.
	TCPFlagURG
	// TCPFlagECE is ECE: ECN-Echo.
	TCPFlagECE
	// TCPFlagCWR is CWR: Congestion Window Reduced.
	TCPFlagCWR
)

// Has reports whether every flag in f is set in t.
func (t TCPFlags) Has(f TCPFlags) bool {
	return t&f == f
}

// String returns the flags as tcpdump prints them inside "Flags [...]": one
// letter per flag in the order F S R P . U E W (ACK is "."), so SYN|ACK is
// "S." and ACK alone is "."; no flags at all is "none".
func (t TCPFlags) String() string {
	if t == 0 {
		return "none"
	}
	const letters = "FSRP.UEW"
	var b [8]byte
	n := 0
	for i := range 8 {
		if t&(1<<i) != 0 {
			b[n] = letters[i]
			n++
		}
	}
	return string(b[:n])
}

// SACKBlock is one block of a SACK option: the receiver holds the sequence
// space [Start, End) (RFC 2018 §3, "Left Edge" and "Right Edge").
type SACKBlock struct {
	// Start is the left edge, the first sequence number of the block.
	Start uint32
	// End is the right edge, the sequence number just after the block.
	End uint32
}

// TCPOptions holds the TCP options the stack understands. Every option has
// a presence flag (HasMSS, HasWindowScale, SACKPermitted, HasTimestamps,
// NumSACKBlocks), so an absent option is never taken for a zero one.
type TCPOptions struct {
	// MSS is the Maximum Segment Size (RFC 9293 §3.7.1), valid if HasMSS.
	MSS uint16
	// HasMSS reports whether an MSS option is present.
	HasMSS bool
	// WindowScale is the Window Scale shift count (RFC 7323 §2), valid if
	// HasWindowScale. ParseTCP clamps it to 14.
	WindowScale uint8
	// HasWindowScale reports whether a Window Scale option is present.
	HasWindowScale bool
	// SACKPermitted reports whether a SACK-Permitted option is present (RFC
	// 2018 §2).
	SACKPermitted bool
	// HasTimestamps reports whether a Timestamps option is present.
	HasTimestamps bool
	// TSVal is the Timestamps option's TSval (RFC 7323 §3.2).
	TSVal uint32
	// TSEcr is the Timestamps option's TSecr.
	TSEcr uint32
	// SACKBlocks holds NumSACKBlocks SACK blocks (RFC 2018 §3); the rest
	// are zero after ParseTCP.
	SACKBlocks [TCPMaxSACKBlocks]SACKBlock
	// NumSACKBlocks is how many of SACKBlocks are in use, 0 to 4; 0 means
	// no SACK option.
	NumSACKBlocks int
}

// Encoded option sizes, in the layouts Linux uses (tcp_options_write).
const (
	tcpMSSLen       = 4  // MSS(2,4)
	tcpTSLen        = 12 // SACKOK(4,2) TS(8,10), or NOP NOP TS(8,10)
	tcpSACKOKLen    = 4  // NOP NOP SACKOK(4,2)
	tcpWSLen        = 4  // NOP WS(3,3)
	tcpSACKHdrLen   = 4  // NOP NOP SACK(5,2+8n)
	tcpSACKBlockLen = 8
)

// fixedLen is the length of every option but SACK blocks; at most 20.
func (o *TCPOptions) fixedLen() int {
	n := 0
	if o.HasMSS {
		n += tcpMSSLen
	}
	switch {
	case o.HasTimestamps:
		n += tcpTSLen
	case o.SACKPermitted:
		n += tcpSACKOKLen
	}
	if o.HasWindowScale {
		n += tcpWSLen
	}
	return n
}

// EncodedSACKBlocks returns how many SACK blocks Len and Encode include:
// NumSACKBlocks (clamped to 0..4), less blocks dropped from the end until
// all options fit in 40 bytes. With timestamps that is at most 3 blocks
// (RFC 2018 §3).
func (o *TCPOptions) EncodedSACKBlocks() int {
	n := min(max(o.NumSACKBlocks, 0), TCPMaxSACKBlocks)
	if n == 0 {
		return 0
	}
	room := (TCPMaxOptionsLen - o.fixedLen() - tcpSACKHdrLen) / tcpSACKBlockLen
	return max(min(n, room), 0)
}

// Len returns the length of the options as Encode writes them, a multiple
// of 4 and at most 40. The layout is Linux's:
//
//	MSS                 4   if HasMSS
//	SACKOK TS          12   if SACKPermitted and HasTimestamps
//	NOP NOP TS         12   if HasTimestamps only
//	NOP NOP SACKOK      4   if SACKPermitted only
//	NOP WS              4   if HasWindowScale
//	NOP NOP SACK     4+8n   if n = EncodedSACKBlocks() > 0
//
// A SYN usually carries the first four (20 bytes), a data segment
// timestamps and SACK blocks.
func (o *TCPOptions) Len() int {
	n := o.fixedLen()
	if k := o.EncodedSACKBlocks(); k > 0 {
		n += tcpSACKHdrLen + k*tcpSACKBlockLen
	}
	return n
}

// Encode writes the options into b[:o.Len()] in the layout Len describes
// and returns o.Len(). Option values are written as they are (a
// WindowScale above 14 is not clamped). It panics if len(b) < o.Len().
func (o *TCPOptions) Encode(b []byte) int {
	n := o.Len()
	if n == 0 {
		return 0
	}
	_ = b[n-1]
	i := 0
	if o.HasMSS {
		b[i], b[i+1] = TCPOptionMSS, 4
		binary.BigEndian.PutUint16(b[i+2:], o.MSS)
		i += tcpMSSLen
	}
	switch {
	case o.HasTimestamps:
		if o.SACKPermitted {
			b[i], b[i+1] = TCPOptionSACKPermitted, 2
		} else {
			b[i], b[i+1] = TCPOptionNOP, TCPOptionNOP
		}
		b[i+2], b[i+3] = TCPOptionTimestamps, 10
		binary.BigEndian.PutUint32(b[i+4:], o.TSVal)
		binary.BigEndian.PutUint32(b[i+8:], o.TSEcr)
		i += tcpTSLen
	case o.SACKPermitted:
		b[i], b[i+1], b[i+2], b[i+3] = TCPOptionNOP, TCPOptionNOP, TCPOptionSACKPermitted, 2
		i += tcpSACKOKLen
	}
	if o.HasWindowScale {
		b[i], b[i+1], b[i+2], b[i+3] = TCPOptionNOP, TCPOptionWindowScale, 3, o.WindowScale
		i += tcpWSLen
	}
	if k := o.EncodedSACKBlocks(); k > 0 {
		b[i], b[i+1], b[i+2], b[i+3] = TCPOptionNOP, TCPOptionNOP, TCPOptionSACK, byte(2+k*tcpSACKBlockLen)
		i += tcpSACKHdrLen
		for _, s := range o.SACKBlocks[:k] {
			binary.BigEndian.PutUint32(b[i:], s.Start)
			binary.BigEndian.PutUint32(b[i+4:], s.End)
			i += tcpSACKBlockLen
		}
	}
	return i
}

// ParseTCPOptions parses the option bytes of a TCP header (RFC 9293 §3.2).
// It never fails: EOL ends the list, NOP is skipped, MSS, Window Scale,
// SACK-Permitted, SACK and Timestamps are read, an option of a known kind
// with the wrong length is ignored (RFC 9293 §3.2, "implementations must be
// prepared to handle an illegal option length"), an unknown kind is skipped
// by its length, and a length below 2 or one that runs past b stops parsing,
// keeping what was read before. A later option of the same kind replaces an
// earlier one.
func ParseTCPOptions(b []byte) TCPOptions {
	var o TCPOptions
	for i := 0; i < len(b); {
		kind := b[i]
		switch kind {
		case TCPOptionEOL:
			return o
		case TCPOptionNOP:
			i++
			continue
		}
		if i+1 >= len(b) {
			return o
		}
		l := int(b[i+1])
		if l < 2 || i+l > len(b) {
			return o
		}
		data := b[i+2 : i+l]
		switch kind {
		case TCPOptionMSS:
			if l == 4 {
				o.MSS = binary.BigEndian.Uint16(data)
				o.HasMSS = true
			}
		case TCPOptionWindowScale:
			if l == 3 {
				// RFC 7323 §2.3: a shift above 14 is used as 14.
				o.WindowScale = min(data[0], TCPMaxWindowScale)
				o.HasWindowScale = true
			}
		case TCPOptionSACKPermitted:
			if l == 2 {
				o.SACKPermitted = true
			}
		case TCPOptionSACK:
			n := (l - 2) / tcpSACKBlockLen
			if (l-2)%tcpSACKBlockLen == 0 && n >= 1 && n <= TCPMaxSACKBlocks {
				o.SACKBlocks = [TCPMaxSACKBlocks]SACKBlock{}
				for j := range n {
					o.SACKBlocks[j] = SACKBlock{
						Start: binary.BigEndian.Uint32(data[j*8:]),
						End:   binary.BigEndian.Uint32(data[j*8+4:]),
					}
				}
				o.NumSACKBlocks = n
			}
		case TCPOptionTimestamps:
			if l == 10 {
				o.TSVal = binary.BigEndian.Uint32(data)
				o.TSEcr = binary.BigEndian.Uint32(data[4:])
				o.HasTimestamps = true
			}
		}
		i += l
	}
	return o
}

// TCPFields is the parsed form of a TCP header.
type TCPFields struct {
	// SrcPort is the source port.
	SrcPort uint16
	// DstPort is the destination port.
	DstPort uint16
	// Seq is the Sequence Number.
	Seq uint32
	// Ack is the Acknowledgment Number (significant if Flags has ACK).
	Ack uint32
	// DataOffset is the header length in bytes (Data Offset times 4), as
	// received or as EncodeTCP wrote it.
	DataOffset int
	// Flags are the control bits.
	Flags TCPFlags
	// Window is the Window field as sent, not scaled.
	Window uint16
	// Checksum is the checksum as received, or as EncodeTCP wrote it.
	Checksum uint16
	// Urgent is the Urgent Pointer (significant if Flags has URG).
	Urgent uint16
	// Options are the parsed options.
	Options TCPOptions
}

// HeaderLen returns the length of the header EncodeTCP writes for f:
// 20 + f.Options.Len().
func (f *TCPFields) HeaderLen() int {
	return TCPMinHeaderLen + f.Options.Len()
}

// ParseTCP parses the TCP segment b (the whole IP payload) sent from src to
// dst and returns its header fields and data, b[DataOffset:].
//
// It fails with ErrTruncated if b is shorter than 20 bytes or than the Data
// Offset; with ErrMalformed if Data Offset is below 5 words or b is longer
// than 65535 bytes; and with ErrBadChecksum if the checksum over the
// pseudo-header and b does not verify (RFC 9293 §3.1, "Checksum"). Options
// are parsed as ParseTCPOptions does; bad options never fail the segment.
func ParseTCP(b []byte, src, dst netip.Addr) (TCPFields, []byte, error) {
	if len(b) < TCPMinHeaderLen {
		return TCPFields{}, nil, ErrTruncated
	}
	t := TCP(b)
	off := t.DataOffset()
	if off < TCPMinHeaderLen || len(b) > 0xffff {
		return TCPFields{}, nil, ErrMalformed
	}
	if off > len(b) {
		return TCPFields{}, nil, ErrTruncated
	}
	if Fold(Sum(b, PseudoHeaderSum(src, dst, ProtoTCP, uint16(len(b))))) != 0xffff {
		return TCPFields{}, nil, ErrBadChecksum
	}
	return TCPFields{
		SrcPort:    t.SrcPort(),
		DstPort:    t.DstPort(),
		Seq:        t.Seq(),
		Ack:        t.Ack(),
		DataOffset: off,
		Flags:      t.Flags(),
		Window:     t.Window(),
		Checksum:   t.Checksum(),
		Urgent:     t.Urgent(),
		Options:    ParseTCPOptions(b[TCPOptionsOffset:off]),
	}, b[off:], nil
}

// EncodeTCP writes the TCP header for the segment b sent from src to dst: b
// is the whole segment, the header goes into b[:f.HeaderLen()] and the data
// must already be in b[f.HeaderLen():]. It sets f.DataOffset to
// f.HeaderLen(), writes the options as TCPOptions.Encode does (so SACK
// blocks that do not fit are left out, but f.Options is not changed), and
// computes the checksum over the pseudo-header and all of b, storing it in b
// and f.Checksum. The reserved bits are written as zero. It panics if
// len(b) < f.HeaderLen(); len(b) must not exceed 65535.
func EncodeTCP(b []byte, f *TCPFields, src, dst netip.Addr) {
	hl := f.HeaderLen()
	_ = b[hl-1]
	binary.BigEndian.PutUint16(b[TCPSrcPortOffset:], f.SrcPort)
	binary.BigEndian.PutUint16(b[TCPDstPortOffset:], f.DstPort)
	binary.BigEndian.PutUint32(b[TCPSeqOffset:], f.Seq)
	binary.BigEndian.PutUint32(b[TCPAckOffset:], f.Ack)
	b[TCPDataOffsetOffset] = uint8(hl/4) << 4
	b[TCPFlagsOffset] = uint8(f.Flags)
	binary.BigEndian.PutUint16(b[TCPWindowOffset:], f.Window)
	b[TCPChecksumOffset] = 0
	b[TCPChecksumOffset+1] = 0
	binary.BigEndian.PutUint16(b[TCPUrgentOffset:], f.Urgent)
	f.Options.Encode(b[TCPOptionsOffset:hl])
	f.DataOffset = hl
	f.Checksum = Checksum(b, PseudoHeaderSum(src, dst, ProtoTCP, uint16(len(b))))
	binary.BigEndian.PutUint16(b[TCPChecksumOffset:], f.Checksum)
}

// TCP is a view of a TCP segment. Its accessors do not check bounds: use it
// only on a segment ParseTCP accepted or EncodeTCP wrote.
type TCP []byte

// SrcPort returns Source Port.
func (t TCP) SrcPort() uint16 {
	return binary.BigEndian.Uint16(t[TCPSrcPortOffset:])
}

// DstPort returns Destination Port.
func (t TCP) DstPort() uint16 {
	return binary.BigEndian.Uint16(t[TCPDstPortOffset:])
}

// Seq returns Sequence Number.
func (t TCP) Seq() uint32 {
	return binary.BigEndian.Uint32(t[TCPSeqOffset:])
}

// Ack returns Acknowledgment Number.
func (t TCP) Ack() uint32 {
	return binary.BigEndian.Uint32(t[TCPAckOffset:])
}

// DataOffset returns the header length in bytes, Data Offset times 4.
func (t TCP) DataOffset() int {
	return int(t[TCPDataOffsetOffset]>>4) * 4
}

// Flags returns the control bits.
func (t TCP) Flags() TCPFlags {
	return TCPFlags(t[TCPFlagsOffset])
}

// Window returns Window, not scaled.
func (t TCP) Window() uint16 {
	return binary.BigEndian.Uint16(t[TCPWindowOffset:])
}

// Checksum returns Checksum.
func (t TCP) Checksum() uint16 {
	return binary.BigEndian.Uint16(t[TCPChecksumOffset:])
}

// Urgent returns Urgent Pointer.
func (t TCP) Urgent() uint16 {
	return binary.BigEndian.Uint16(t[TCPUrgentOffset:])
}

// Options returns the raw option bytes, t[20:DataOffset], aliasing t.
func (t TCP) Options() []byte {
	return t[TCPOptionsOffset:t.DataOffset()]
}

// Payload returns the data after the header, t[DataOffset:], aliasing t.
func (t TCP) Payload() []byte {
	return t[t.DataOffset():]
}
