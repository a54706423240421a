package topology

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"net/netip"
	"slices"
	"sort"
	"strconv"
)

// unit is one subnet to plan: a point-to-point link or a LAN segment.
type unit struct {
	pos     Pos
	name    string // "link h1:eth1--r1:eth1", "LAN lan1", "bridge sw1"
	members []*Interface
	link    *Link
	seg     *Segment
	lan     bool
	subnet  netip.Prefix
	subPos  Pos // the first address written in the file, if any
}

func u32(a netip.Addr) uint32 { b := a.As4(); return binary.BigEndian.Uint32(b[:]) }

func addr(v uint32) netip.Addr {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], v)
	return netip.AddrFrom4(b)
}

// span returns the first and last address of p.
func span(p netip.Prefix) (lo, hi uint32) {
	lo = u32(p.Masked().Addr())
	return lo, lo + uint32(uint64(1)<<(32-p.Bits())-1)
}

// hostsIn is the number of usable addresses in a /bits subnet (RFC 3021:
// both addresses of a /31).
func hostsIn(bits int) int {
	if bits >= 31 {
		return 2
	}
	return 1<<(32-bits) - 2
}

// planAddresses checks the addresses written in the file and gives every
// other interface one. Subnets are planned in file order (links, and bridge
// nodes where they are declared): a unit with an address in the file uses
// that address's subnet; the others take the lowest free aligned subnet of
// the pool, skipping every subnet written in the file.
func (r *resolver) planAddresses() {
	f := r.spec
	pool := netip.MustParsePrefix(defaultPool)
	if f.pool.ok {
		pool = f.pool.v
	}
	r.lab.Pool = pool
	p2pBits := 31
	if f.p2pPrefix.ok {
		p2pBits = f.p2pPrefix.v
	}
	lanBits := max(24, pool.Bits())
	if f.lanPrefix.ok {
		lanBits = f.lanPrefix.v
		if lanBits < pool.Bits() {
			r.errorf(f.lanPrefix.pos, "lan-prefix /%d is larger than ipv4-pool %s", lanBits, pool)
			lanBits = pool.Bits()
		}
	}
	for _, s := range r.lab.Segments {
		if s.Bridge && len(s.Members) > 0 {
			r.units = append(r.units, &unit{pos: s.Pos, name: "bridge " + s.Name, members: s.Members, seg: s, lan: true})
		}
	}
	slices.SortStableFunc(r.units, func(a, b *unit) int {
		return cmp.Or(cmp.Compare(a.pos.Line, b.pos.Line), cmp.Compare(a.pos.Col, b.pos.Col))
	})

	owner := r.checkUserAddrs()
	r.checkOverlaps()

	al := newAllocator(pool)
	for _, u := range r.units {
		if u.subnet.IsValid() {
			al.reserve(u.subnet)
		}
	}
	for _, u := range r.units {
		if u.subnet.IsValid() {
			continue
		}
		bits := p2pBits
		if u.lan {
			bits = lanBits
			for bits > pool.Bits() && hostsIn(bits) < len(u.members) {
				bits--
			}
			if hostsIn(bits) < len(u.members) {
				r.errorf(u.pos, "%s has %d members, more than ipv4-pool %s holds", u.name, len(u.members), pool)
				continue
			}
		}
		p, ok := al.alloc(bits)
		if !ok {
			r.errorf(u.pos, "ipv4-pool %s has no free /%d left for %s (make it larger, e.g. ipv4-pool: 10.0.0.0/8)", pool, bits, u.name)
			continue
		}
		u.subnet = p
	}
	for _, u := range r.units {
		if !u.subnet.IsValid() {
			continue
		}
		lo, hi := span(u.subnet)
		if u.subnet.Bits() <= 30 {
			lo, hi = lo+1, hi-1
		}
		next := lo
		for _, m := range u.members {
			if ua := r.userAddr[m]; ua.ok {
				m.Addr = ua.v
				continue
			}
			for ; next <= hi; next++ {
				if _, used := owner[addr(next)]; !used {
					break
				}
			}
			if next > hi {
				break // reported by checkUserAddrs
			}
			m.Addr = netip.PrefixFrom(addr(next), u.subnet.Bits())
			m.AutoAddr = true
			next++
		}
		if u.link != nil {
			u.link.Prefix = u.subnet
		} else {
			u.seg.Prefix = u.subnet
		}
	}
}

// checkUserAddrs checks the addresses written in the file: no duplicates,
// no network or broadcast address, one subnet per unit with room for all
// members. It sets each unit's subnet and returns who holds each address.
func (r *resolver) checkUserAddrs() map[netip.Addr]*Interface {
	owner := map[netip.Addr]*Interface{}
	for _, u := range r.units {
		var first *Interface
		for _, m := range u.members {
			ua := r.userAddr[m]
			if !ua.ok {
				continue
			}
			a := ua.v.Addr()
			if other, dup := owner[a]; dup {
				r.errorf(ua.pos, "address %s is already used by %s (at %s)", a, other, r.userAddr[other].pos)
				continue
			}
			owner[a] = m
			if ua.v.Bits() <= 30 {
				lo, hi := span(ua.v)
				switch u32(a) {
				case lo:
					r.errorf(ua.pos, "%s is the network address of subnet %s (allowed: %s to %s)", a, ua.v.Masked(), addr(lo+1), addr(hi-1))
				case hi:
					r.errorf(ua.pos, "%s is the broadcast address of subnet %s (allowed: %s to %s)", a, ua.v.Masked(), addr(lo+1), addr(hi-1))
				}
			}
			if first == nil {
				first, u.subnet, u.subPos = m, ua.v.Masked(), ua.pos
				continue
			}
			if ua.v.Masked() != u.subnet {
				r.errorf(ua.pos, "%s is not in subnet %s of %s (at %s): the members of %s share one subnet",
					ua.v, u.subnet, first, u.subPos, u.name)
			}
		}
		if u.subnet.IsValid() && hostsIn(u.subnet.Bits()) < len(u.members) {
			r.errorf(u.subPos, "subnet %s holds %d addresses, %s has %d members", u.subnet, hostsIn(u.subnet.Bits()), u.name, len(u.members))
		}
	}
	return owner
}

// checkOverlaps reports subnets written in the file that overlap, each at
// the later of the two.
func (r *resolver) checkOverlaps() {
	var us []*unit
	for _, u := range r.units {
		if u.subnet.IsValid() {
			us = append(us, u)
		}
	}
	slices.SortStableFunc(us, func(a, b *unit) int {
		la, _ := span(a.subnet)
		lb, _ := span(b.subnet)
		return cmp.Or(cmp.Compare(la, lb), cmp.Compare(a.subnet.Bits(), b.subnet.Bits()))
	})
	var cur *unit
	for _, u := range us {
		lo, hi := span(u.subnet)
		if cur != nil {
			_, chi := span(cur.subnet)
			if lo <= chi {
				a, b := cur, u
				if b.subPos.before(a.subPos) {
					a, b = b, a
				}
				r.errorf(b.subPos, "subnet %s of %s overlaps subnet %s of %s (at %s)", b.subnet, b.name, a.subnet, a.name, a.subPos)
			}
			if hi <= chi {
				continue
			}
		}
		cur = u
	}
}

// interval is a range of IPv4 addresses, both ends included.
type interval struct{ lo, hi uint32 }

// allocator hands out aligned subnets of a pool. Each prefix length has a
// cursor that only moves up, and the subnets of each length are kept sorted,
// so an allocation costs a few binary searches.
type allocator struct {
	lo, hi   uint64
	reserved []interval // merged, sorted
	taken    map[int][]interval
	cursor   map[int]uint64
}

func newAllocator(pool netip.Prefix) *allocator {
	lo, hi := span(pool)
	return &allocator{lo: uint64(lo), hi: uint64(hi), taken: map[int][]interval{}, cursor: map[int]uint64{}}
}

// reserve marks p as used.
func (a *allocator) reserve(p netip.Prefix) {
	lo, hi := span(p)
	i := sort.Search(len(a.reserved), func(i int) bool { return a.reserved[i].lo > lo })
	a.reserved = slices.Insert(a.reserved, i, interval{lo, hi})
	// Merge with overlapping neighbors to keep the list disjoint.
	merged := a.reserved[:0]
	for _, iv := range a.reserved {
		if n := len(merged); n > 0 && iv.lo <= merged[n-1].hi {
			merged[n-1].hi = max(merged[n-1].hi, iv.hi)
			continue
		}
		merged = append(merged, iv)
	}
	a.reserved = merged
}

// conflict returns an interval of a disjoint sorted list that meets
// [lo, hi].
func conflict(list []interval, lo, hi uint32) (interval, bool) {
	i := sort.Search(len(list), func(i int) bool { return list[i].hi >= lo })
	if i < len(list) && list[i].lo <= hi {
		return list[i], true
	}
	return interval{}, false
}

// alloc returns the lowest free aligned /bits subnet at or above the
// cursor of bits.
func (a *allocator) alloc(bits int) (netip.Prefix, bool) {
	size := uint64(1) << (32 - bits)
	c, ok := a.cursor[bits]
	if !ok {
		c = a.lo
	}
	lengths := make([]int, 0, len(a.taken))
	for b := range a.taken {
		lengths = append(lengths, b)
	}
	for {
		c = (c + size - 1) &^ (size - 1)
		if c+size-1 > a.hi {
			a.cursor[bits] = c
			return netip.Prefix{}, false
		}
		lo, hi := uint32(c), uint32(c+size-1)
		if iv, bad := conflict(a.reserved, lo, hi); bad {
			c = uint64(iv.hi) + 1
			continue
		}
		moved := false
		for _, b := range lengths {
			if iv, bad := conflict(a.taken[b], lo, hi); bad {
				c, moved = uint64(iv.hi)+1, true
				break
			}
		}
		if moved {
			continue
		}
		a.taken[bits] = append(a.taken[bits], interval{lo, hi})
		a.cursor[bits] = c + size
		return netip.PrefixFrom(addr(lo), bits), true
	}
}

// planMACs checks the MACs written in the file (no duplicates) and derives
// the others: 02 (locally administered, unicast) then the first five bytes
// of SHA-256(lab, node, interface), rehashed with a counter on a clash.
func (r *resolver) planMACs() {
	owner := map[MAC]*Interface{}
	for _, u := range r.units {
		for _, m := range u.members {
			um := r.userMAC[m]
			if !um.ok {
				continue
			}
			if other, dup := owner[um.v]; dup {
				r.errorf(um.pos, "MAC %s is already used by %s (at %s)", um.v, other, r.userMAC[other].pos)
				continue
			}
			owner[um.v] = m
			m.MAC = um.v
		}
	}
	for _, n := range r.lab.Nodes {
		for _, ifc := range n.Interfaces {
			if r.userMAC[ifc].ok {
				continue
			}
			for try := 0; ; try++ {
				m := autoMAC(r.lab.Name, n.Name, ifc.Name, try)
				if _, dup := owner[m]; !dup {
					owner[m] = ifc
					ifc.MAC = m
					break
				}
			}
		}
	}
}

func autoMAC(lab, node, iface string, try int) MAC {
	key := lab + "\x00" + node + "\x00" + iface
	if try > 0 {
		key += "\x00" + strconv.Itoa(try)
	}
	h := sha256.Sum256([]byte(key))
	var m MAC
	m[0] = 0x02
	copy(m[1:], h[:5])
	return m
}
