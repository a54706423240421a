package sim

// pattern is the node agent's deterministic byte stream (nodeagent's
// pattern, which PatternDigest digests): the same bytes for the same
// length, so a digest taken at both ends can be compared.
type pattern struct{ x uint64 }

func newPattern() pattern { return pattern{x: 0x9e3779b97f4a7c15} }

// Read fills b with the next bytes of the stream.
func (p *pattern) Read(b []byte) {
	x := p.x
	for i := range b {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		b[i] = byte(x)
	}
	p.x = x
}
