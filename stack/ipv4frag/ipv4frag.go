// Package ipv4frag reassembles fragmented IPv4 datagrams (RFC 791 §3.2,
// "Fragmentation and Reassembly"; RFC 1122 §3.3.2).
//
// A Reassembler keeps the fragments of each datagram, keyed by source,
// destination, protocol and Identification, in a sorted list of
// non-overlapping intervals (RFC 815's holes are the gaps between them),
// and returns the datagram's payload once every byte from 0 to the end
// announced by the last fragment (More Fragments clear) is present.
//
// Time is an input: Process and Expire take now, and nothing here reads the
// clock. Memory is bounded: at most maxBytes are held, charged as each
// fragment's payload plus FragmentOverhead; when a fragment would not fit,
// the oldest other datagrams are evicted first.
//
// Overlaps are not resolved, they are refused. A fragment that overlaps
// data already held for its datagram drops the whole datagram and counts in
// ReasmOverlaps, as RFC 5722 requires for IPv6 and Linux does for IPv4
// (overlapping fragments are how "teardrop" attacks and IDS evasion work).
// The one exception is a fragment whose bytes are all held already with
// the same values, such as a duplicated packet: it is ignored.
package ipv4frag

import (
	"bytes"
	"errors"
	"net/netip"
	"sort"
	"sync"
	"time"

	"github.com/netlab/netlab/stack/wire"
)

// Defaults used by New for limits that are zero or negative.
const (
	// DefaultMaxBytes is the default memory bound, 4 MiB (Linux's
	// ipfrag_high_thresh).
	DefaultMaxBytes = 4 << 20
	// DefaultTimeout is the default reassembly timeout, 30 s (Linux's
	// ipfrag_time; RFC 1122 §3.3.2 suggests 60 s to 120 s).
	DefaultTimeout = 30 * time.Second
	// FragmentOverhead is what each held fragment costs on top of its
	// payload, for the bookkeeping that goes with it, so that a flood of tiny
	// fragments is bounded too.
	FragmentOverhead = 64
	// maxDatagramLen is the largest Total Length of an IPv4 datagram.
	maxDatagramLen = 0xffff
	// firstFragmentData is how much payload Expired.FirstFragment keeps:
	// the 64 bits an ICMP error quotes (RFC 792).
	firstFragmentData = 8
)

// Errors returned by Process. Each is counted in Stats.ReasmFails.
var (
	// ErrOverlap means the fragment overlapped data held for its datagram
	// with different bytes or different boundaries; the datagram was dropped
	// (RFC 5722 §4).
	ErrOverlap = errors.New("ipv4frag: overlapping fragment, datagram dropped")
	// ErrTooBig means the fragment reached beyond the 65535 bytes an IPv4
	// datagram can hold (RFC 791 §3.1, Total Length); the datagram was
	// dropped.
	ErrTooBig = errors.New("ipv4frag: datagram longer than 65535 bytes, dropped")
	// ErrMemory means the datagram could not fit in the memory bound even
	// alone; it was dropped.
	ErrMemory = errors.New("ipv4frag: datagram exceeds the memory bound, dropped")
	// ErrInconsistent means the fragment contradicted the datagram's end: a
	// second last fragment with another end, or data beyond the end; the
	// datagram was dropped.
	ErrInconsistent = errors.New("ipv4frag: fragment contradicts the datagram's length, dropped")
	// ErrBadFragment means the fragment itself was invalid: with More
	// Fragments set, its payload was empty or not a multiple of 8 bytes
	// (RFC 791 §3.2). Only the fragment was dropped.
	ErrBadFragment = errors.New("ipv4frag: invalid fragment, dropped")
)

// Stats counts reassembly events with the names of Linux's nstat (and of
// the IP-MIB, RFC 4293).
type Stats struct {
	// ReasmReqds counts fragments received for reassembly.
	ReasmReqds uint64
	// ReasmOKs counts datagrams reassembled.
	ReasmOKs uint64
	// ReasmFails counts failures of any kind: datagrams dropped (timeout,
	// overlap, too big, inconsistent, evicted or over the memory bound) and
	// invalid fragments.
	ReasmFails uint64
	// ReasmTimeout counts datagrams dropped by Expire.
	ReasmTimeout uint64
	// ReasmOverlaps counts datagrams dropped for overlapping fragments.
	ReasmOverlaps uint64
}

// Expired describes a datagram that Expire dropped, so the stack can send
// ICMP Time Exceeded, code 1 (fragment reassembly time exceeded, RFC 792)
// back to Src.
type Expired struct {
	// Src is the datagram's source.
	Src netip.Addr
	// Dst is the datagram's destination.
	Dst netip.Addr
	// Protocol is the datagram's protocol.
	Protocol uint8
	// ID is the datagram's Identification.
	ID uint16
	// FirstFragment is nil unless the fragment at offset 0 arrived (RFC 1122
	// §3.3.2: no Time Exceeded is sent without it). Then it holds what the
	// ICMP message quotes (RFC 792, "Internet Header + 64 bits of Original
	// Data Datagram"): that fragment's IPv4 header followed by up to 8 bytes
	// of its payload. The header is re-encoded by wire.EncodeIPv4 from the
	// fragment's fields, so it is 20 bytes (options are not kept) and its
	// Total Length is that of FirstFragment itself: it is a valid packet
	// that wire.ParseIPv4 accepts, MF set and offset 0. It is the caller's.
	FirstFragment []byte
}

// key identifies the fragments of one datagram (RFC 791 §3.2: source,
// destination, protocol and identification).
type key struct {
	src, dst netip.Addr
	proto    uint8
	id       uint16
}

// fragment is one held piece of a datagram's payload, [off, off+len(data)).
type fragment struct {
	off  int
	data []byte
}

func (f *fragment) end() int { return f.off + len(f.data) }

// datagram is one datagram being reassembled.
type datagram struct {
	key     key
	created time.Time
	// frags are sorted by offset and do not overlap.
	frags []fragment
	// have is the sum of the fragments' lengths.
	have int
	// end is the payload length once the last fragment arrived, else -1.
	end int
	// cost is what the datagram is charged against the memory bound.
	cost int
	// first is the quote kept for Expired.FirstFragment.
	first []byte
	// prev and next link the datagrams from oldest to newest.
	prev, next *datagram
}

// Reassembler reassembles IPv4 datagrams. It is safe for concurrent use.
type Reassembler struct {
	mu        sync.Mutex
	maxBytes  int
	timeout   time.Duration
	bytes     int
	datagrams map[key]*datagram
	// oldest and newest are the ends of the list of datagrams in the order
	// they were created.
	oldest, newest *datagram
	stats          Stats
}

// New returns a Reassembler that holds at most maxBytes (DefaultMaxBytes if
// maxBytes <= 0) and drops a datagram timeout after its first fragment
// arrived (DefaultTimeout if timeout <= 0).
func New(maxBytes int, timeout time.Duration) *Reassembler {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return &Reassembler{maxBytes: maxBytes, timeout: timeout, datagrams: make(map[key]*datagram)}
}

// Process takes one received IPv4 packet, its header fields h (as returned
// by wire.ParseIPv4) and its payload, at time now. The payload is copied:
// the caller may reuse it when Process returns.
//
// For a fragment (h.IsFragment()), Process returns (nil, false, nil) while
// the datagram is incomplete (an exact duplicate adds nothing), and the
// whole reassembled payload with true when this fragment completed it;
// the datagram's header is the caller's to take from the fragment at offset
// 0. The slice is new and the caller's. A packet that is not a fragment is
// returned at once as a copy, with true, and is not counted. A fragment
// arriving after its datagram completed (a late duplicate) starts the
// datagram again; unless all of it comes again, Expire drops it.
//
// A non-nil error means the fragment was dropped, and, except for
// ErrBadFragment, the whole datagram with it (see the package doc on
// overlaps). Adding a fragment that would take the memory held past the
// bound first evicts the oldest other datagrams; if the datagram still does
// not fit, it is dropped with ErrMemory.
func (r *Reassembler) Process(now time.Time, h *wire.IPv4Fields, payload []byte) ([]byte, bool, error) {
	if !h.IsFragment() {
		return append([]byte{}, payload...), true, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stats.ReasmReqds++

	off := int(h.FragmentOffset)
	end := off + len(payload)
	more := h.Flags&wire.IPv4FlagMF != 0
	// RFC 791 §3.2: every fragment but the last carries a multiple of 8
	// bytes (its successor's offset is in 8-byte units).
	if more && (len(payload) == 0 || len(payload)%8 != 0) {
		r.stats.ReasmFails++
		return nil, false, ErrBadFragment
	}
	k := key{src: h.Src, dst: h.Dst, proto: h.Protocol, id: h.ID}
	d := r.datagrams[k]
	if max(h.HeaderLen, wire.IPv4MinHeaderLen)+end > maxDatagramLen {
		return r.fail(d, ErrTooBig)
	}

	dup := false
	if d != nil {
		// The end of the datagram is known once the last fragment arrived;
		// nothing may contradict it.
		held := 0
		if n := len(d.frags); n > 0 {
			held = d.frags[n-1].end()
		}
		switch {
		case !more && d.end >= 0 && end != d.end,
			!more && held > end,
			more && d.end >= 0 && end > d.end:
			return r.fail(d, ErrInconsistent)
		}
		var overlap bool
		if dup, overlap = d.classify(off, payload); overlap {
			r.stats.ReasmOverlaps++
			return r.fail(d, ErrOverlap)
		}
	}

	if !dup {
		cost := len(payload) + FragmentOverhead
		for r.bytes+cost > r.maxBytes {
			victim := r.oldest
			if victim != nil && victim == d {
				victim = d.next // never evict the datagram being added to
			}
			if victim == nil {
				return r.fail(d, ErrMemory)
			}
			r.remove(victim)
			r.stats.ReasmFails++
		}
		if d == nil {
			d = &datagram{key: k, created: now, end: -1}
			r.datagrams[k] = d
			r.pushNewest(d)
		}
		d.insert(off, payload)
		d.cost += cost
		r.bytes += cost
		if off == 0 {
			n := min(len(payload), firstFragmentData)
			d.first = make([]byte, wire.IPv4MinHeaderLen+n)
			hdr := *h
			hdr.TotalLength = uint16(len(d.first))
			wire.EncodeIPv4(d.first, &hdr)
			copy(d.first[wire.IPv4MinHeaderLen:], payload[:n])
		}
	}
	// A duplicate adds no data, but with More Fragments clear it may be the
	// first to tell where the datagram ends.
	if !more {
		d.end = end
	}
	if d.end < 0 || d.have != d.end {
		return nil, false, nil
	}
	// Complete: the fragments do not overlap and all lie in [0, end), so
	// holding end bytes means holding every byte.
	out := make([]byte, d.end)
	for _, f := range d.frags {
		copy(out[f.off:], f.data)
	}
	r.remove(d)
	r.stats.ReasmOKs++
	return out, true, nil
}

// fail drops d (if any), counts a failure and returns err.
func (r *Reassembler) fail(d *datagram, err error) ([]byte, bool, error) {
	if d != nil {
		r.remove(d)
	}
	r.stats.ReasmFails++
	return nil, false, err
}

// classify tells how payload at off meets the data d holds: dup if every
// byte is held already with the same value, overlap if it meets held data
// any other way, neither if it meets none.
func (d *datagram) classify(off int, payload []byte) (dup, overlap bool) {
	end := off + len(payload)
	fs := d.frags
	// fs[i:j] are the fragments that meet [off, end).
	i := sort.Search(len(fs), func(i int) bool { return fs[i].end() > off })
	j := i
	for j < len(fs) && fs[j].off < end {
		j++
	}
	if i == j {
		// A zero-length last fragment is a duplicate if it only repeats the
		// known end.
		return len(payload) == 0 && d.end == off, false
	}
	if fs[i].off > off || fs[j-1].end() < end {
		return false, true
	}
	for k := i; k < j; k++ {
		f := &fs[k]
		if k > i && fs[k-1].end() != f.off {
			return false, true // a hole inside the range
		}
		lo, hi := max(f.off, off), min(f.end(), end)
		if !bytes.Equal(f.data[lo-f.off:hi-f.off], payload[lo-off:hi-off]) {
			return false, true
		}
	}
	return true, false
}

// insert adds a copy of payload at off; classify has found no overlap.
func (d *datagram) insert(off int, payload []byte) {
	i := sort.Search(len(d.frags), func(i int) bool { return d.frags[i].off >= off })
	d.frags = append(d.frags, fragment{})
	copy(d.frags[i+1:], d.frags[i:])
	d.frags[i] = fragment{off: off, data: append([]byte{}, payload...)}
	d.have += len(payload)
}

// pushNewest appends d to the age list.
func (r *Reassembler) pushNewest(d *datagram) {
	d.prev = r.newest
	if r.newest != nil {
		r.newest.next = d
	} else {
		r.oldest = d
	}
	r.newest = d
}

// remove forgets d and releases its memory.
func (r *Reassembler) remove(d *datagram) {
	if d.prev != nil {
		d.prev.next = d.next
	} else {
		r.oldest = d.next
	}
	if d.next != nil {
		d.next.prev = d.prev
	} else {
		r.newest = d.prev
	}
	d.prev, d.next = nil, nil
	delete(r.datagrams, d.key)
	r.bytes -= d.cost
}

// Expire drops every datagram whose first fragment arrived timeout or more
// before now (RFC 791 §3.2, the reassembly timer; RFC 1122 §3.3.2) and
// returns what the stack needs to report them, oldest first, or nil. Call it
// periodically, with a now that does not go backwards: datagrams are kept
// in the order they started.
func (r *Reassembler) Expire(now time.Time) []Expired {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Expired
	for d := r.oldest; d != nil && now.Sub(d.created) >= r.timeout; d = r.oldest {
		out = append(out, Expired{Src: d.key.src, Dst: d.key.dst, Protocol: d.key.proto, ID: d.key.id, FirstFragment: d.first})
		r.remove(d)
		r.stats.ReasmTimeout++
		r.stats.ReasmFails++
	}
	return out
}

// NextExpiry returns when Expire will next have something to drop: the
// oldest datagram's start plus the timeout. It returns false if no datagram
// is pending.
func (r *Reassembler) NextExpiry() (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.oldest == nil {
		return time.Time{}, false
	}
	return r.oldest.created.Add(r.timeout), true
}

// Pending returns how many datagrams are being reassembled.
func (r *Reassembler) Pending() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.datagrams)
}

// Stats returns the counters.
func (r *Reassembler) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stats
}

// Bytes returns the memory held: the payload of every held fragment plus
// FragmentOverhead for each. It never exceeds the bound given to New.
func (r *Reassembler) Bytes() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.bytes
}
