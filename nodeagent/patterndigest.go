package nodeagent

import (
	"bytes"
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"hash"
	"sync"
)

// digestMark is how far apart patternDigests keeps the pattern's SHA-256
// state: a flow's digest hashes at most this much past the last mark (100
// flows ending together, 400 MiB at most), and a 1 TB transfer keeps
// 250,000 marks of about 110 bytes.
const digestMark = 4 << 20

// patternDigests digests prefixes of the pattern for one agent. It keeps
// the SHA-256 state after every digestMark bytes, so that each stretch of
// the pattern is hashed once however many flows, at either end, need a
// digest of a prefix reaching over it: a 1 GB transfer between two nodes
// of one agent costs one pass of SHA-256 over 1 GB and two over at most
// digestMark, not two over 1 GB. A nil *patternDigests hashes every time.
type patternDigests struct {
	mu    sync.Mutex
	marks [][]byte // marks[i]: the marshalled state after i*digestMark bytes
}

// state returns a SHA-256 state that has consumed the pattern's first n
// bytes.
func (d *patternDigests) state(n int64) hash.Hash {
	if d == nil {
		h := sha256.New()
		hashPattern(h, 0, n)
		return h
	}
	i := int(n / digestMark)
	d.mu.Lock()
	if len(d.marks) == 0 {
		d.marks = append(d.marks, marshal(sha256.New()))
	}
	last := min(len(d.marks)-1, i)
	h := unmarshal(d.marks[last])
	d.mu.Unlock()
	// Hashed without the lock (a digest of gigabytes must not hold up a
	// sink leaving its marks); each mark passed is offered on the way.
	for m := last + 1; m <= i; m++ {
		hashPattern(h, int64(m-1)*digestMark, digestMark)
		d.offer(m, h)
	}
	hashPattern(h, int64(i)*digestMark, n-int64(i)*digestMark)
	return h
}

// sum is the hex SHA-256 of the pattern's first n bytes.
func (d *patternDigests) sum(n int64) string {
	return hex.EncodeToString(d.state(n).Sum(nil))
}

func marshal(h hash.Hash) []byte {
	b, err := h.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		panic(err) // sha256 states always marshal
	}
	return b
}

func unmarshal(b []byte) hash.Hash {
	h := sha256.New()
	if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(b); err != nil {
		panic(err) // made by marshal
	}
	return h
}

// hashPattern writes n bytes of the pattern, from offset off, to h.
func hashPattern(h hash.Hash, off, n int64) {
	t := patternTable()
	pos := int(off % PatternPeriod)
	for n > 0 {
		c := int(min(n, int64(PatternPeriod-pos)))
		h.Write(t[pos : pos+c])
		n -= int64(c)
		pos = 0
	}
}

// offer gives d the state h after the pattern's first i*digestMark bytes,
// which a reader of the pattern reached: kept when it is the next mark d
// lacks.
func (d *patternDigests) offer(i int, h hash.Hash) {
	if d == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.marks) == 0 {
		d.marks = append(d.marks, marshal(sha256.New()))
	}
	if len(d.marks) == i {
		d.marks = append(d.marks, marshal(h))
	}
}

// receivedDigest is the SHA-256 of the bytes written to it (a sink's
// digest of what it read). While those are the pattern's first bytes
// (what every netlab sender sends: a comparison costs a fraction of
// hashing) it hands its state at every digestMark to the agent's
// patternDigests, so the sender's digest of the same bytes, taken after
// the flow, costs next to nothing: one pass of SHA-256 per byte moved, not
// one at each end.
type receivedDigest struct {
	d        *patternDigests
	h        hash.Hash
	n        int64 // bytes written
	matching bool  // every byte so far was the pattern's
}

func newReceivedDigest(d *patternDigests) *receivedDigest {
	return &receivedDigest{d: d, h: sha256.New(), matching: d != nil}
}

// Write implements io.Writer; it never fails.
func (r *receivedDigest) Write(p []byte) (int, error) {
	var good []byte // the pattern's bytes at r.n
	if r.matching {
		good = p
		if i := patternMismatch(r.n, p); i >= 0 {
			good, r.matching = p[:i], false
		}
	}
	for q := good; len(q) > 0; {
		c := min(int64(len(q)), digestMark-r.n%digestMark)
		r.h.Write(q[:c])
		r.n += c
		q = q[c:]
		if r.n%digestMark == 0 {
			r.d.offer(int(r.n/digestMark), r.h)
		}
	}
	if rest := p[len(good):]; len(rest) > 0 {
		r.h.Write(rest)
		r.n += int64(len(rest))
	}
	return len(p), nil
}

// Sum returns the hex SHA-256 of everything written.
func (r *receivedDigest) Sum() string { return hex.EncodeToString(r.h.Sum(nil)) }

// patternMismatch returns the index of the first byte of p that differs
// from the pattern at offset off, or -1 when p is the pattern there.
func patternMismatch(off int64, p []byte) int {
	t := patternTable()
	pos := int(off % PatternPeriod)
	for k := 0; k < len(p); {
		c := min(len(p)-k, PatternPeriod-pos)
		if !bytes.Equal(p[k:k+c], t[pos:pos+c]) {
			for j := range c {
				if p[k+j] != t[pos+j] {
					return k + j
				}
			}
		}
		k += c
		pos = 0
	}
	return -1
}
