package ipv4frag

import "fmt"

// Check verifies the Reassembler's invariants, for tests: the age list and
// the map hold the same datagrams, every datagram's
// fragments are sorted, disjoint and within its known end, and the memory
// charged adds up and stays within the bound.
func (r *Reassembler) Check() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	n, total := 0, 0
	var prev *datagram
	for d := r.oldest; d != nil; d = d.next {
		n++
		if d.prev != prev {
			return fmt.Errorf("datagram %v: prev link broken", d.key)
		}
		if r.datagrams[d.key] != d {
			return fmt.Errorf("datagram %v: not in the map", d.key)
		}
		have, cost, last := 0, 0, 0
		for i, f := range d.frags {
			if f.off < last {
				return fmt.Errorf("datagram %v: fragment %d at %d overlaps the previous, ending at %d", d.key, i, f.off, last)
			}
			last = f.end()
			have += len(f.data)
			cost += len(f.data) + FragmentOverhead
		}
		if d.end >= 0 && last > d.end {
			return fmt.Errorf("datagram %v: data up to %d beyond the end %d", d.key, last, d.end)
		}
		if have != d.have || cost != d.cost {
			return fmt.Errorf("datagram %v: have %d cost %d, want %d %d", d.key, d.have, d.cost, have, cost)
		}
		if d.end >= 0 && have == d.end {
			return fmt.Errorf("datagram %v: complete but still pending", d.key)
		}
		total += cost
		prev = d
	}
	if prev != r.newest {
		return fmt.Errorf("newest link broken")
	}
	if n != len(r.datagrams) {
		return fmt.Errorf("%d datagrams in the list, %d in the map", n, len(r.datagrams))
	}
	if total != r.bytes {
		return fmt.Errorf("bytes %d, want %d", r.bytes, total)
	}
	if r.bytes > r.maxBytes {
		return fmt.Errorf("bytes %d over the bound %d", r.bytes, r.maxBytes)
	}
	return nil
}
