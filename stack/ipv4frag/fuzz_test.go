package ipv4frag_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/netlab/netlab/stack/ipv4frag"
	"github.com/netlab/netlab/stack/wire"
)

var update = flag.Bool("update", false, "rewrite the seed corpus in testdata/fuzz from the seeds in fuzz_test.go")

// Each fuzz operation is 5 bytes: ctl, offset low, offset high, length, dt.
//
//	ctl&3   datagram ID (0-3)
//	ctl&4   More Fragments
//	ctl&8   corrupt the bytes (so overlaps can differ)
//	ctl&16  call Expire after the fragment
//	ctl&32  length in bytes rather than 8-byte units
//	offset  ((high&0x1f)<<8 | low) * 8 bytes
//	dt      time advance before the fragment, in 100 ms steps
//
// The first input byte, before the operations, sets the memory bound to
// (b+1)*128 bytes. The timeout is 5 s.
func fuzzOp(ctl, offLo, offHi, length, dt byte) []byte {
	return []byte{ctl, offLo, offHi, length, dt}
}

func fuzzSeeds() map[string][]byte {
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	return map[string][]byte{
		// 0..1480 MF, 1480..2960 MF, 2960..3000 last: in order.
		"in-order": cat([]byte{255}, fuzzOp(4, 0, 0, 185, 0), fuzzOp(4, 185, 0, 185, 1), fuzzOp(32, 114, 1, 40, 1)),
		// The same, reversed, with a duplicate.
		"reverse-dup": cat([]byte{255}, fuzzOp(32, 114, 1, 40, 0), fuzzOp(4, 185, 0, 185, 0), fuzzOp(4, 185, 0, 185, 0), fuzzOp(4, 0, 0, 185, 0)),
		// An overlap with different bytes.
		"overlap": cat([]byte{255}, fuzzOp(4, 0, 0, 10, 0), fuzzOp(4|8, 5, 0, 10, 0)),
		// Two datagrams under a small bound, then a timeout.
		"evict-expire": cat([]byte{20}, fuzzOp(4, 0, 0, 200, 0), fuzzOp(5, 0, 0, 200, 0), fuzzOp(6, 0, 0, 100, 0), fuzzOp(16, 0, 1, 1, 60)),
		// Past 65535 bytes.
		"too-big": cat([]byte{255}, fuzzOp(0, 255, 31, 10, 0)),
	}
}

// TestWriteFuzzSeeds rewrites testdata/fuzz from fuzzSeeds under -update,
// and otherwise checks that the files are there.
func TestWriteFuzzSeeds(t *testing.T) {
	for name, b := range fuzzSeeds() {
		path := filepath.Join("testdata", "fuzz", "FuzzReassembler", name)
		want := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
		if *update {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if got, err := os.ReadFile(path); err != nil || string(got) != want {
			t.Errorf("seed file %s is missing or stale (err %v): run go test -run TestWriteFuzzSeeds -update", path, err)
		}
	}
}

// FuzzReassembler feeds random fragment sequences. Nothing may panic, the
// invariants (including Bytes() <= the bound) hold after every step, and a
// reassembled datagram that received no corrupted fragment holds exactly
// the bytes its fragments carried.
func FuzzReassembler(f *testing.F) {
	for _, b := range fuzzSeeds() {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) == 0 {
			return
		}
		maxBytes := (int(in[0]) + 1) * 128
		r := ipv4frag.New(maxBytes, 5*time.Second)
		at := func(id uint16, pos int) byte { return byte(int(id)*31 + pos*7 + pos>>8) }
		now := t0
		var tainted [4]bool
		for ops := in[1:]; len(ops) >= 5; ops = ops[5:] {
			ctl, off := ops[0], (int(ops[2]&0x1f)<<8|int(ops[1]))*8
			id := uint16(ctl & 3)
			n := int(ops[3]) * 8
			if ctl&32 != 0 {
				n = int(ops[3])
			}
			now = now.Add(time.Duration(ops[4]) * 100 * time.Millisecond)
			data := make([]byte, n)
			for i := range data {
				data[i] = at(id, off+i)
				if ctl&8 != 0 {
					data[i] ^= 0xff
				}
			}
			if ctl&8 != 0 {
				tainted[id] = true
			}
			h := &wire.IPv4Fields{HeaderLen: 20, TotalLength: uint16(min(20+n, 0xffff)), ID: id, Protocol: wire.ProtoUDP,
				FragmentOffset: uint16(off), Src: srcA, Dst: dstB}
			if ctl&4 != 0 {
				h.Flags = wire.IPv4FlagMF
			}
			out, done, err := r.Process(now, h, data)
			if err != nil && (done || out != nil) {
				t.Fatalf("Process = %d bytes, %v, %v: an error with a result", len(out), done, err)
			}
			if done && !tainted[id] {
				for i, c := range out {
					if c != at(id, i) {
						t.Fatalf("datagram %d reassembled with byte %d = %#x, want %#x", id, i, c, at(id, i))
					}
				}
			}
			if done {
				tainted[id] = false
			}
			if ctl&16 != 0 {
				for _, e := range r.Expire(now) {
					if e.FirstFragment == nil {
						continue
					}
					if h, _, err := wire.ParseIPv4(e.FirstFragment); err != nil || h.ID != e.ID || h.FragmentOffset != 0 {
						t.Fatalf("ParseIPv4(Expired.FirstFragment %x) = %+v, %v, want fragment 0 of %d", e.FirstFragment, h, err, e.ID)
					}
				}
			}
			if err := r.Check(); err != nil {
				t.Fatalf("invariant: %v", err)
			}
			if b := r.Bytes(); b > maxBytes {
				t.Fatalf("Bytes() = %d, want at most %d", b, maxBytes)
			}
		}
	})
}
