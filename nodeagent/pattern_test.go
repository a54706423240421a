package nodeagent

import (
	"bytes"
	"testing"
)

// TestPatternReads: the stream is the same however it is read (in chunks
// of any size, across the table's end), a copy goes on from where it was
// copied, and it repeats after PatternPeriod bytes, not before.
func TestPatternReads(t *testing.T) {
	n := 2*PatternPeriod + 12345
	whole := make([]byte, n)
	newPattern().Read(whole)
	var chunked []byte
	p := newPattern()
	for size := 1; len(chunked) < n; size = (size*3 + 1) % 70001 {
		b := make([]byte, min(size+1, n-len(chunked)))
		p.Read(b)
		chunked = append(chunked, b...)
	}
	if !bytes.Equal(whole, chunked) {
		t.Fatal("read in chunks, the stream differs from one read")
	}
	var next []byte
	p = newPattern()
	for size := 1; len(next) < n; size = (size*3 + 1) % 70001 {
		b := p.Next(min(size+1, n-len(next)))
		if len(b) == 0 || len(b) > size+1 {
			t.Fatalf("Next(%d) gave %d bytes", min(size+1, n-len(next)), len(b))
		}
		next = append(next, b...)
	}
	if !bytes.Equal(whole, next) {
		t.Fatal("taken with Next, the stream differs from one read")
	}
	if !bytes.Equal(whole[:PatternPeriod], whole[PatternPeriod:2*PatternPeriod]) {
		t.Error("the stream does not repeat after PatternPeriod bytes")
	}
	for _, shift := range []int{1460, 1448, 65536, 1 << 20} {
		if bytes.Equal(whole[:4096], whole[shift:shift+4096]) {
			t.Errorf("the stream repeats after %d bytes", shift)
		}
	}
	a := Pattern{}
	a.Read(make([]byte, 100))
	b := a // a copy goes on from byte 100
	x, y := make([]byte, 50), make([]byte, 50)
	a.Read(x)
	b.Read(y)
	if !bytes.Equal(x, y) || !bytes.Equal(x, whole[100:150]) {
		t.Error("a copy of the pattern does not go on from where it was")
	}
}

func BenchmarkPattern(b *testing.B) {
	buf := make([]byte, 256<<10)
	p := newPattern()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		p.Read(buf)
	}
}
