package stack

import (
	"fmt"
	"net/netip"
	"sort"
)

// Route sends packets for Dst out of interface NIC, to Gateway if it is set
// (else straight to the destination, which is on the link).
type Route struct {
	Dst     netip.Prefix
	Gateway netip.Addr
	NIC     int
	// Src is the preferred source address; zero picks the interface's first.
	Src netip.Addr
}

func (r Route) String() string {
	s := r.Dst.String()
	if r.Gateway.IsValid() {
		s += " via " + r.Gateway.String()
	}
	return s + " dev " + itoa(r.NIC)
}

// AddRoute adds a route. A default route has Dst 0.0.0.0/0.
func (s *Stack) AddRoute(r Route) error {
	s.mu.Lock()
	defer s.unlock()
	if _, err := s.nicLocked(r.NIC); err != nil {
		return fmt.Errorf("add route %v: %w", r, err)
	}
	if !r.Dst.IsValid() || !r.Dst.Addr().Is4() {
		return fmt.Errorf("add route %v: destination must be an IPv4 prefix", r)
	}
	r.Dst = r.Dst.Masked()
	s.insertRouteLocked(r)
	return nil
}

// insertRouteLocked keeps the table ordered longest prefix first (routes of
// equal length in the order added) without re-sorting it: nodes of big labs
// add thousands of routes.
func (s *Stack) insertRouteLocked(r Route) {
	i := sort.Search(len(s.routes), func(i int) bool { return s.routes[i].Dst.Bits() < r.Dst.Bits() })
	s.routes = append(s.routes, Route{})
	copy(s.routes[i+1:], s.routes[i:])
	s.routes[i] = r
}

// Routes returns the routing table, longest prefix first.
func (s *Stack) Routes() []Route {
	s.mu.Lock()
	defer s.unlock()
	return append([]Route(nil), s.routes...)
}

// routeLocked finds the route for dst by longest-prefix match and returns the
// interface, the next hop and the source address to use.
func (s *Stack) routeLocked(dst netip.Addr) (n *NIC, nextHop, src netip.Addr, err error) {
	for _, r := range s.routes {
		if !r.Dst.Contains(dst) {
			continue
		}
		n = s.nics[r.NIC]
		nextHop = dst
		if r.Gateway.IsValid() {
			nextHop = r.Gateway
		}
		src = r.Src
		if !src.IsValid() {
			if len(n.addrs) == 0 {
				continue
			}
			src = n.addrs[0].Addr()
		}
		return n, nextHop, src, nil
	}
	return nil, netip.Addr{}, netip.Addr{}, ENETUNREACH
}
