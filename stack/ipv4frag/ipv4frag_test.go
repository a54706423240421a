package ipv4frag_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/netlab/netlab/stack/ipv4frag"
	"github.com/netlab/netlab/stack/wire"
)

var (
	t0   = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	srcA = netip.MustParseAddr("10.0.0.1")
	dstB = netip.MustParseAddr("10.0.0.2")
)

// payload returns n bytes that differ from datagram to datagram (by id) and
// from position to position, so a misplaced byte shows.
func payload(id uint16, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(int(id)*131 + i*7 + i>>8)
	}
	return b
}

// piece is one fragment of a datagram: its payload bytes [off, end) of
// payload(id, total), MF set unless end is the total.
type piece struct{ off, end int }

// header returns the IPv4 fields of fragment p of datagram id.
func header(id uint16, p piece, last bool) *wire.IPv4Fields {
	h := &wire.IPv4Fields{
		HeaderLen: 20, TotalLength: uint16(20 + p.end - p.off), ID: id, TTL: 64,
		Protocol: wire.ProtoUDP, FragmentOffset: uint16(p.off), Src: srcA, Dst: dstB,
	}
	if !last {
		h.Flags = wire.IPv4FlagMF
	}
	return h
}

// feed gives fragment p of datagram id (total bytes long) to r.
func feed(r *ipv4frag.Reassembler, now time.Time, id uint16, total int, p piece) ([]byte, bool, error) {
	data := payload(id, total)[p.off:p.end]
	return r.Process(now, header(id, p, p.end == total), data)
}

// check fails the test if r's invariants are broken.
func check(t *testing.T, r *ipv4frag.Reassembler) {
	t.Helper()
	if err := r.Check(); err != nil {
		t.Fatalf("Reassembler invariant: %v", err)
	}
}

func TestProcessOrders(t *testing.T) {
	const total = 3000
	a, b, c := piece{0, 1480}, piece{1480, 2960}, piece{2960, 3000}
	tests := []struct {
		name   string
		pieces []piece
	}{
		{"in order", []piece{a, b, c}},
		{"reverse", []piece{c, b, a}},
		{"shuffled", []piece{b, c, a}},
		{"last first", []piece{c, a, b}},
		{"duplicates", []piece{b, b, c, a}},
		{"duplicate of the last", []piece{c, c, b, a}},
		{"duplicate spanning two pieces", []piece{a, b, {1472, 1488}, {0, 2960}, c}},
		{"small pieces", []piece{{8, 16}, {0, 8}, {2992, 3000}, {16, 2992}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := ipv4frag.New(0, 0)
			for i, p := range tc.pieces {
				got, done, err := feed(r, t0, 1, total, p)
				check(t, r)
				if err != nil {
					t.Fatalf("Process(piece %d %v) = %v, want nil error", i, p, err)
				}
				last := i == len(tc.pieces)-1
				if done != last {
					t.Fatalf("Process(piece %d %v) done = %v, want %v", i, p, done, last)
				}
				if last && !bytes.Equal(got, payload(1, total)) {
					t.Fatalf("Process(piece %d %v) = %d bytes, not the datagram's %d", i, p, len(got), total)
				}
			}
			if r.Bytes() != 0 || r.Pending() != 0 {
				t.Errorf("after reassembly Bytes() = %d, Pending() = %d, want 0, 0", r.Bytes(), r.Pending())
			}
			want := ipv4frag.Stats{ReasmReqds: uint64(len(tc.pieces)), ReasmOKs: 1}
			if diff := cmp.Diff(want, r.Stats()); diff != "" {
				t.Errorf("Stats() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestProcessDuplicateMarksEnd sends a copy of a held fragment with More
// Fragments clear: it adds no bytes but tells where the datagram ends, which
// completes it.
func TestProcessDuplicateMarksEnd(t *testing.T) {
	r := ipv4frag.New(0, 0)
	data := payload(1, 16)
	// Both pieces with MF set, as if the datagram were longer...
	for _, p := range []piece{{8, 16}, {0, 8}} {
		if _, done, err := feed(r, t0, 1, 24, p); done || err != nil {
			t.Fatalf("Process(%v with MF) = %v, %v, want false, nil", p, done, err)
		}
	}
	check(t, r)
	// ...then the second again with MF clear.
	got, done, err := feed(r, t0, 1, 16, piece{8, 16})
	if err != nil || !done || !bytes.Equal(got, data) {
		t.Errorf("Process(duplicate with MF clear) = %x, %v, %v, want %x, true, nil", got, done, err, data)
	}
	check(t, r)
}

func TestProcessCopiesPayload(t *testing.T) {
	r := ipv4frag.New(0, 0)
	data := payload(1, 16)
	if _, _, err := r.Process(t0, header(1, piece{0, 8}, false), data[:8]); err != nil {
		t.Fatal(err)
	}
	orig := bytes.Clone(data)
	for i := range 8 {
		data[i] = 0 // the caller reuses its buffer
	}
	got, done, err := r.Process(t0, header(1, piece{8, 16}, true), data[8:])
	if err != nil || !done || !bytes.Equal(got, orig) {
		t.Errorf("Process = %x, %v, %v, want %x, true, nil", got, done, err, orig)
	}
}

func TestProcessNotFragment(t *testing.T) {
	r := ipv4frag.New(0, 0)
	data := []byte("whole")
	h := &wire.IPv4Fields{HeaderLen: 20, TotalLength: 25, Flags: wire.IPv4FlagDF, Src: srcA, Dst: dstB}
	got, done, err := r.Process(t0, h, data)
	if err != nil || !done || string(got) != "whole" {
		t.Fatalf("Process(not a fragment) = %q, %v, %v, want \"whole\", true, nil", got, done, err)
	}
	got[0] = 'W'
	if string(data) != "whole" {
		t.Errorf("Process(not a fragment) returned the caller's slice, want a copy")
	}
	if s := r.Stats(); s != (ipv4frag.Stats{}) {
		t.Errorf("Stats() = %+v, want zero", s)
	}
}

// TestProcessErrors runs sequences of fragments of one 3000-byte datagram
// whose last step fails.
func TestProcessErrors(t *testing.T) {
	type step struct {
		p    piece
		last bool   // MF clear
		data []byte // nil: the datagram's own bytes
	}
	corrupt := payload(1, 3000)[0:1480]
	corrupt = bytes.Clone(corrupt)
	corrupt[100]++
	tests := []struct {
		name      string
		steps     []step
		want      error
		dropped   bool // the datagram is gone
		overlap   bool
		wantFails uint64
	}{
		{"partial overlap", []step{{p: piece{0, 1480}}, {p: piece{1472, 2960}}}, ipv4frag.ErrOverlap, true, true, 1},
		{"overlap from below", []step{{p: piece{1480, 2960}}, {p: piece{8, 1488}}}, ipv4frag.ErrOverlap, true, true, 1},
		{"covering two with a hole", []step{{p: piece{0, 8}}, {p: piece{16, 24}}, {p: piece{0, 24}}}, ipv4frag.ErrOverlap, true, true, 1},
		{"same range other bytes", []step{{p: piece{0, 1480}}, {p: piece{0, 1480}, data: corrupt}}, ipv4frag.ErrOverlap, true, true, 1},
		{"contained other bytes", []step{{p: piece{0, 1480}}, {p: piece{96, 104}, data: corrupt[96:104]}}, ipv4frag.ErrOverlap, true, true, 1},
		{"two ends", []step{{p: piece{2960, 3000}, last: true}, {p: piece{2960, 3008}, last: true}}, ipv4frag.ErrInconsistent, true, false, 1},
		{"data beyond the end", []step{{p: piece{2960, 3000}, last: true}, {p: piece{3000, 3008}}}, ipv4frag.ErrInconsistent, true, false, 1},
		{"end before the data", []step{{p: piece{1480, 2960}}, {p: piece{1000, 1200}, last: true}}, ipv4frag.ErrInconsistent, true, false, 1},
		{"odd middle fragment", []step{{p: piece{0, 1480}}, {p: piece{1480, 1487}}}, ipv4frag.ErrBadFragment, false, false, 1},
		{"empty middle fragment", []step{{p: piece{0, 1480}}, {p: piece{1480, 1480}}}, ipv4frag.ErrBadFragment, false, false, 1},
		{"beyond 65535", []step{{p: piece{0, 1480}}, {p: piece{65512, 65520}, last: true}}, ipv4frag.ErrTooBig, true, false, 1},
		{"beyond 65535 alone", []step{{p: piece{65512, 65520}, last: true}}, ipv4frag.ErrTooBig, true, false, 1},
	}
	big := payload(1, 65536)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := ipv4frag.New(0, 0)
			var err error
			for i, s := range tc.steps {
				data := s.data
				if data == nil {
					data = big[s.p.off:s.p.end]
				}
				_, _, err = r.Process(t0, header(1, s.p, s.last), data)
				check(t, r)
				if i < len(tc.steps)-1 && err != nil {
					t.Fatalf("Process(step %d %v) = %v, want nil error", i, s.p, err)
				}
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("Process(last step) = %v, want %v", err, tc.want)
			}
			if dropped := r.Pending() == 0; dropped != tc.dropped {
				t.Errorf("after %v Pending() = %d, want dropped %v", tc.want, r.Pending(), tc.dropped)
			}
			if tc.dropped && r.Bytes() != 0 {
				t.Errorf("after %v Bytes() = %d, want 0", tc.want, r.Bytes())
			}
			s := r.Stats()
			if s.ReasmFails != tc.wantFails || (s.ReasmOverlaps == 1) != tc.overlap || s.ReasmReqds != uint64(len(tc.steps)) {
				t.Errorf("Stats() = %+v, want %d fails, overlap %v, %d reqds", s, tc.wantFails, tc.overlap, len(tc.steps))
			}
		})
	}
}

// TestProcessAfterOverlap checks that a dropped datagram's later fragments
// start a new one, which never completes with the dropped data.
func TestProcessAfterOverlap(t *testing.T) {
	r := ipv4frag.New(0, 0)
	feed(r, t0, 1, 3000, piece{0, 1480})
	if _, _, err := feed(r, t0, 1, 3000, piece{8, 16}); err != nil {
		t.Fatalf("exact duplicate inside a fragment: %v, want nil", err)
	}
	if _, _, err := r.Process(t0, header(1, piece{8, 16}, false), make([]byte, 8)); !errors.Is(err, ipv4frag.ErrOverlap) {
		t.Fatalf("Process(changed bytes) = %v, want %v", err, ipv4frag.ErrOverlap)
	}
	_, done, err := feed(r, t0, 1, 3000, piece{1480, 3000})
	if done || err != nil || r.Pending() != 1 {
		t.Errorf("Process(rest after drop) = %v, %v, pending %d, want false, nil, 1", done, err, r.Pending())
	}
}

func TestProcessKeys(t *testing.T) {
	r := ipv4frag.New(0, 0)
	base := header(1, piece{0, 8}, false)
	variants := []func(h *wire.IPv4Fields){
		func(h *wire.IPv4Fields) {},
		func(h *wire.IPv4Fields) { h.ID = 2 },
		func(h *wire.IPv4Fields) { h.Protocol = wire.ProtoTCP },
		func(h *wire.IPv4Fields) { h.Src = netip.MustParseAddr("10.0.0.3") },
		func(h *wire.IPv4Fields) { h.Dst = netip.MustParseAddr("10.0.0.3") },
	}
	for i, v := range variants {
		h := *base
		v(&h)
		// Different data per key: were two keys mixed up, the second would
		// be an overlap.
		if _, _, err := r.Process(t0, &h, bytes.Repeat([]byte{byte(i)}, 8)); err != nil {
			t.Fatalf("Process(variant %d) = %v, want nil", i, err)
		}
	}
	if r.Pending() != len(variants) {
		t.Errorf("Pending() = %d, want %d", r.Pending(), len(variants))
	}
	check(t, r)
}

func TestExpire(t *testing.T) {
	r := ipv4frag.New(0, 10*time.Second)
	feed(r, t0, 1, 3000, piece{0, 1480})                       // with the first fragment
	feed(r, t0.Add(2*time.Second), 2, 3000, piece{1480, 2960}) // without
	feed(r, t0.Add(5*time.Second), 1, 3000, piece{2960, 3000}) // no refresh
	if next, ok := r.NextExpiry(); !ok || !next.Equal(t0.Add(10*time.Second)) {
		t.Errorf("NextExpiry() = %v, %v, want %v, true", next, ok, t0.Add(10*time.Second))
	}
	if got := r.Expire(t0.Add(10*time.Second - 1)); got != nil {
		t.Errorf("Expire(before the timeout) = %+v, want nil", got)
	}
	got := r.Expire(t0.Add(10 * time.Second))
	if len(got) != 1 {
		t.Fatalf("Expire(at the timeout) = %+v, want one datagram", got)
	}
	e := got[0]
	if e.Src != srcA || e.Dst != dstB || e.Protocol != wire.ProtoUDP || e.ID != 1 {
		t.Errorf("Expire() = %+v, want 10.0.0.1 > 10.0.0.2 UDP id 1", e)
	}
	// FirstFragment is the first fragment's header and 8 bytes of data,
	// ready to quote in ICMP Time Exceeded.
	h, quoted, err := wire.ParseIPv4(e.FirstFragment)
	if err != nil {
		t.Fatalf("ParseIPv4(FirstFragment %x) = %v, want a valid packet", e.FirstFragment, err)
	}
	want := wire.IPv4Fields{HeaderLen: 20, TotalLength: 28, ID: 1, Flags: wire.IPv4FlagMF, TTL: 64, Protocol: wire.ProtoUDP,
		Checksum: h.Checksum, Src: srcA, Dst: dstB}
	if diff := cmp.Diff(want, h, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("ParseIPv4(FirstFragment) mismatch (-want +got):\n%s", diff)
	}
	if !bytes.Equal(quoted, payload(1, 8)) {
		t.Errorf("FirstFragment payload = %x, want the fragment's first 8 bytes %x", quoted, payload(1, 8))
	}

	got = r.Expire(t0.Add(time.Hour))
	if len(got) != 1 || got[0].ID != 2 || got[0].FirstFragment != nil {
		t.Errorf("Expire(later) = %+v, want datagram 2 without FirstFragment", got)
	}
	if _, ok := r.NextExpiry(); ok || r.Bytes() != 0 || r.Pending() != 0 {
		t.Errorf("after Expire: NextExpiry ok %v, Bytes %d, Pending %d, want false, 0, 0", ok, r.Bytes(), r.Pending())
	}
	wantStats := ipv4frag.Stats{ReasmReqds: 3, ReasmFails: 2, ReasmTimeout: 2}
	if diff := cmp.Diff(wantStats, r.Stats()); diff != "" {
		t.Errorf("Stats() mismatch (-want +got):\n%s", diff)
	}
	check(t, r)
}

func TestMemoryBound(t *testing.T) {
	cost := func(n int) int { return n + ipv4frag.FragmentOverhead }
	t.Run("evicts the oldest", func(t *testing.T) {
		r := ipv4frag.New(3*cost(1480), 0)
		feed(r, t0, 1, 3000, piece{0, 1480})
		feed(r, t0.Add(time.Second), 2, 3000, piece{0, 1480})
		feed(r, t0.Add(time.Second), 1, 3000, piece{1480, 2960})
		check(t, r)
		if r.Bytes() != 3*cost(1480) {
			t.Fatalf("Bytes() = %d, want %d", r.Bytes(), 3*cost(1480))
		}
		// A third datagram: 1 is the oldest and goes, 2 stays.
		if _, _, err := feed(r, t0.Add(2*time.Second), 3, 3000, piece{0, 1480}); err != nil {
			t.Fatalf("Process(datagram 3) = %v, want nil", err)
		}
		check(t, r)
		if r.Pending() != 2 || r.Bytes() != 2*cost(1480) || r.Stats().ReasmFails != 1 {
			t.Errorf("after eviction Pending %d, Bytes %d, Stats %+v, want 2, %d, 1 fail", r.Pending(), r.Bytes(), r.Stats(), 2*cost(1480))
		}
		if _, done, _ := feed(r, t0, 2, 3000, piece{1480, 3000}); !done {
			t.Errorf("datagram 2 did not complete after datagram 1 was evicted")
		}
	})
	t.Run("grows past the others", func(t *testing.T) {
		r := ipv4frag.New(3*cost(1480), 0)
		feed(r, t0, 1, 6000, piece{0, 1480})
		feed(r, t0, 2, 6000, piece{0, 1480})
		feed(r, t0, 2, 6000, piece{1480, 2960})
		// Datagram 2 is newer but needs room: datagram 1 goes, not 2.
		feed(r, t0, 2, 6000, piece{2960, 4440})
		check(t, r)
		if r.Pending() != 1 || r.Bytes() != 3*cost(1480) {
			t.Errorf("Pending %d, Bytes %d, want 1, %d", r.Pending(), r.Bytes(), 3*cost(1480))
		}
		// It cannot grow further: dropped.
		if _, _, err := feed(r, t0, 2, 6000, piece{4440, 5920}); !errors.Is(err, ipv4frag.ErrMemory) {
			t.Fatalf("Process(over the bound) = %v, want %v", err, ipv4frag.ErrMemory)
		}
		check(t, r)
		if r.Pending() != 0 || r.Bytes() != 0 {
			t.Errorf("after ErrMemory Pending %d, Bytes %d, want 0, 0", r.Pending(), r.Bytes())
		}
	})
	t.Run("one fragment too big", func(t *testing.T) {
		r := ipv4frag.New(1000, 0)
		if _, _, err := feed(r, t0, 1, 3000, piece{0, 1480}); !errors.Is(err, ipv4frag.ErrMemory) {
			t.Fatalf("Process(1480 bytes into 1000) = %v, want %v", err, ipv4frag.ErrMemory)
		}
		if r.Pending() != 0 || r.Bytes() != 0 || r.Stats().ReasmFails != 1 {
			t.Errorf("Pending %d, Bytes %d, Stats %+v, want 0, 0, 1 fail", r.Pending(), r.Bytes(), r.Stats())
		}
	})
}

// TestRandomOrder is a property test: several datagrams of random sizes, cut
// into random fragments, with random exact duplicates, all shuffled
// together. Each datagram completes exactly once, with its own bytes, when
// its last missing byte arrives, and nothing is left behind.
func TestRandomOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(42, 1))
	for round := range 200 {
		type frag struct {
			id uint16
			p  piece
		}
		totals := map[uint16]int{}
		var frags []frag
		for id := range uint16(1 + r.IntN(5)) {
			total := 1 + r.IntN(65515)
			if r.IntN(3) == 0 {
				total = 1 + r.IntN(3000)
			}
			totals[id] = total
			for off := 0; off < total; {
				n := 8 * (1 + r.IntN(200))
				end := min(off+n, total)
				frags = append(frags, frag{id, piece{off, end}})
				off = end
			}
		}
		for range r.IntN(len(frags) + 1) {
			frags = append(frags, frags[r.IntN(len(frags))])
		}
		r.Shuffle(len(frags), func(i, j int) { frags[i], frags[j] = frags[j], frags[i] })

		// The model: the distinct pieces held for each datagram since it
		// last completed. Duplicates arriving after a completion start the
		// datagram again, and complete it again if all its pieces come back,
		// as a duplicated datagram would.
		datagrams := map[uint16][]byte{}
		for id, total := range totals {
			datagrams[id] = payload(id, total)
		}
		re := ipv4frag.New(0, 0)
		held := map[uint16]map[piece]bool{}
		heldBytes := map[uint16]int{}
		oks := 0
		for _, f := range frags {
			whole := datagrams[f.id]
			got, ok, err := re.Process(t0, header(f.id, f.p, f.p.end == len(whole)), whole[f.p.off:f.p.end])
			if err != nil {
				t.Fatalf("round %d: Process(%d %v) = %v", round, f.id, f.p, err)
			}
			complete := true // a whole datagram is not a fragment at all
			if f.p != (piece{0, totals[f.id]}) {
				if held[f.id] == nil {
					held[f.id] = map[piece]bool{}
				}
				if !held[f.id][f.p] {
					held[f.id][f.p] = true
					heldBytes[f.id] += f.p.end - f.p.off
				}
				complete = heldBytes[f.id] == totals[f.id]
				if complete {
					held[f.id], heldBytes[f.id] = nil, 0
					oks++
				}
			}
			if ok != complete {
				t.Fatalf("round %d: Process(%d %v) done = %v, want %v", round, f.id, f.p, ok, complete)
			}
			if ok && !bytes.Equal(got, whole) {
				t.Fatalf("round %d: datagram %d reassembled wrong", round, f.id)
			}
		}
		check(t, re)
		pending := 0
		for _, h := range held {
			if len(h) > 0 {
				pending++
			}
		}
		if re.Pending() != pending || re.Stats().ReasmOKs != uint64(oks) {
			t.Fatalf("round %d: Pending %d, Stats %+v, want %d pending and %d OKs", round, re.Pending(), re.Stats(), pending, oks)
		}
		re.Expire(t0.Add(time.Hour))
		if re.Bytes() != 0 || re.Pending() != 0 {
			t.Fatalf("round %d: after Expire Bytes %d, Pending %d, want 0, 0", round, re.Bytes(), re.Pending())
		}
	}
}

// TestConcurrent is for the race detector.
func TestConcurrent(t *testing.T) {
	r := ipv4frag.New(64<<10, time.Second)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 200 {
				id := uint16(g*1000 + i)
				now := t0.Add(time.Duration(i) * 10 * time.Millisecond)
				feed(r, now, id, 100, piece{0, 64})
				if i%3 != 0 {
					if _, done, err := feed(r, now, id, 100, piece{64, 100}); err != nil || (!done && r.Pending() == 0) {
						panic(fmt.Sprint(done, err))
					}
				}
				r.Expire(now)
				_, _ = r.NextExpiry()
				_ = r.Stats()
			}
		})
	}
	wg.Wait()
	check(t, r)
}

func TestNewDefaults(t *testing.T) {
	r := ipv4frag.New(-1, -1)
	feed(r, t0, 1, 100, piece{0, 8})
	if next, ok := r.NextExpiry(); !ok || next.Sub(t0) != ipv4frag.DefaultTimeout {
		t.Errorf("NextExpiry() = %v, want %v after the start", next.Sub(t0), ipv4frag.DefaultTimeout)
	}
	// The default bound holds 4 MiB.
	n := 0
	for id := uint16(2); r.Stats().ReasmFails == 0; id++ {
		feed(r, t0, id, 65000, piece{0, 64000})
		n++
	}
	if limit := ipv4frag.DefaultMaxBytes / (64000 + ipv4frag.FragmentOverhead); n != limit+1 {
		t.Errorf("first eviction at datagram %d, want %d", n, limit+1)
	}
}
