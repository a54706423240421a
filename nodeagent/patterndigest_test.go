package nodeagent

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"testing"
)

// patternPrefix returns the pattern's first n bytes.
func patternPrefix(n int64) []byte {
	b := make([]byte, n)
	newPattern().Read(b)
	return b
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestPatternDigestsKeepMarks(t *testing.T) {
	data := patternPrefix(2*digestMark + 12345)
	var d patternDigests
	for _, n := range []int64{0, 1, PatternPeriod + 3, digestMark - 1, digestMark, digestMark + 1, 2*digestMark + 12345, 5} {
		if got, want := d.sum(n), sha(data[:n]); got != want {
			t.Errorf("sum(%d) = %s, want %s", n, got, want)
		}
	}
	if len(d.marks) != 3 {
		t.Errorf("%d marks kept for 2 marks' worth of pattern, want 3 (the start and two)", len(d.marks))
	}
	var none *patternDigests // hashes every time
	if got, want := none.sum(digestMark+7), sha(data[:digestMark+7]); got != want {
		t.Errorf("nil sum = %s, want %s", got, want)
	}
}

func TestReceivedDigest(t *testing.T) {
	data := patternPrefix(2*digestMark + 999)
	write := func(r *receivedDigest, b []byte) {
		// uneven reads, as a socket gives them
		for len(b) > 0 {
			c := min(len(b), 65536-17)
			r.Write(b[:c])
			b = b[c:]
		}
	}

	t.Run("the pattern", func(t *testing.T) {
		var d patternDigests
		r := newReceivedDigest(&d)
		write(r, data)
		if got, want := r.Sum(), sha(data); got != want {
			t.Fatalf("Sum = %s, want %s", got, want)
		}
		if len(d.marks) != 3 {
			t.Fatalf("the reader left %d marks, want 3", len(d.marks))
		}
		// The sender's digest now hashes only past the last mark: the marks
		// the reader left must be right.
		if got, want := d.sum(int64(len(data))), sha(data); got != want {
			t.Fatalf("sum from the reader's marks = %s, want %s", got, want)
		}
	})

	t.Run("other bytes", func(t *testing.T) {
		var d patternDigests
		r := newReceivedDigest(&d)
		bad := append([]byte(nil), data...)
		bad[digestMark+100] ^= 1
		write(r, bad)
		if got, want := r.Sum(), sha(bad); got != want {
			t.Fatalf("Sum = %s, want %s", got, want)
		}
		if len(d.marks) != 2 {
			t.Fatalf("%d marks kept, want 2: none past the byte that differs", len(d.marks))
		}
		if got, want := d.sum(int64(len(data))), sha(data); got != want {
			t.Fatalf("sum after another stream = %s, want %s", got, want)
		}
	})

	t.Run("no cache", func(t *testing.T) {
		r := newReceivedDigest(nil)
		io.Copy(r, io.LimitReader(newPattern(), 3<<20))
		if got, want := r.Sum(), PatternDigest(3<<20); got != want {
			t.Fatalf("Sum = %s, want %s", got, want)
		}
	})
}

func TestPatternMismatch(t *testing.T) {
	for _, tc := range []struct {
		off  int64
		flip int // index to change, or -1
	}{{0, -1}, {0, 0}, {0, PatternPeriod + 3}, {PatternPeriod - 10, -1}, {7, 20}} {
		b := append([]byte(nil), newPatternAt(tc.off, 40+PatternPeriod-int(tc.off%PatternPeriod))...)
		want := -1
		if tc.flip >= 0 && tc.flip < len(b) {
			b[tc.flip] ^= 0x80
			want = tc.flip
		}
		if got := patternMismatch(tc.off, b); got != want {
			t.Errorf("patternMismatch(%d, %d bytes, byte %d changed) = %d, want %d", tc.off, len(b), tc.flip, got, want)
		}
	}
}

// newPatternAt returns n bytes of the pattern from offset off.
func newPatternAt(off int64, n int) []byte {
	b := make([]byte, n)
	(&Pattern{off: int(off % PatternPeriod)}).Read(b)
	return b
}
