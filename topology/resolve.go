package topology

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/netlab/netlab/impair"
	"github.com/netlab/netlab/internal/suggest"
)

// Prefix values with a meaning of their own (see Node.LongName).
const (
	defaultPrefix = "netlab"
	labNamePrefix = "__lab-name"
)

// Load reads the topology file at path and resolves it. Lab.File is the
// file's absolute path. A file that is not valid yields an ErrorList whose
// errors name path as given.
func Load(path string) (*Lab, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load topology: %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("load topology %s: %w", path, err)
	}
	lab, err := parse(path, filepath.Dir(abs), data)
	if err != nil {
		return nil, err
	}
	lab.File = abs
	return lab, nil
}

// Parse resolves the topology in data. name is the file's name: errors carry
// it, Lab.File is set to it, and relative `.dist` paths are taken from its
// directory. A topology that is not valid yields an ErrorList holding every
// problem found, sorted by position; the Lab is then nil.
func Parse(name string, data []byte) (*Lab, error) {
	return parse(name, filepath.Dir(name), data)
}

func parse(name, dir string, data []byte) (*Lab, error) {
	return parseEnv(name, dir, data, os.LookupEnv)
}

// parseEnv is parse with the environment ${NAME} is looked up in.
func parseEnv(name, dir string, data []byte, lookupEnv func(string) (string, bool)) (*Lab, error) {
	return parseWith(name, dir, data, lookupEnv, nil)
}

// parseFrom is parseEnv that reads the files the topology names from fsys.
func parseFrom(name, dir string, data []byte, lookupEnv func(string) (string, bool), fsys files) (*Lab, error) {
	return parseAll(name, dir, data, lookupEnv, fsys, nil)
}

// parseWith is parseEnv that also notes, in compat when not nil, how each
// feature of the file was taken.
func parseWith(name, dir string, data []byte, lookupEnv func(string) (string, bool), compat *compatLog) (*Lab, error) {
	return parseAll(name, dir, data, lookupEnv, osFiles{}, compat)
}

func parseAll(name, dir string, data []byte, lookupEnv func(string) (string, bool), fsys files, compat *compatLog) (*Lab, error) {
	dg := &diag{file: name}
	dec := &decoder{diag: dg, dir: dir, lookupEnv: lookupEnv, compat: compat, files: fsys}
	doc := dec.parseYAML(data)
	if doc == nil {
		return nil, dg.err()
	}
	spec := dec.decodeFile(doc)
	r := &resolver{
		compat:   compat,
		diag:     dg,
		spec:     spec,
		lab:      &Lab{File: name, Nodes: []*Node{}, Links: []*Link{}, Segments: []*Segment{}, byName: map[string]*Node{}},
		kinds:    map[string]*nodeSpec{},
		bridges:  map[string]*Segment{},
		routes:   map[*Node]opt[[]routeSpec]{},
		userAddr: map[*Interface]opt[netip.Prefix]{},
		userMAC:  map[*Interface]opt[MAC]{},
		captures: map[*Node]opt[*captureSpec]{},
		mgmtPos:  map[*Node]Pos{},
	}
	r.resolve()
	if err := dg.err(); err != nil {
		return nil, err
	}
	r.lab.Warnings = sortErrors(dg.warns)
	return r.lab, nil
}

// resolver turns a fileSpec into a Lab.
type resolver struct {
	compat  *compatLog    // notes how features were taken; nil when not asked
	mgmtPos map[*Node]Pos // where each node's mgmt-ipv4 is written
	*diag
	spec     *fileSpec
	lab      *Lab
	kinds    map[string]*nodeSpec
	bridges  map[string]*Segment
	nodePos  map[string]Pos
	routes   map[*Node]opt[[]routeSpec]
	userAddr map[*Interface]opt[netip.Prefix]
	userMAC  map[*Interface]opt[MAC]
	units    []*unit
	captures map[*Node]opt[*captureSpec] // each node's own capture, inherited
	linkCaps []linkCapture               // interfaces captured by their link
}

// linkCapture is an interface on a link whose `capture:` is on.
type linkCapture struct {
	ifc  *Interface
	spec *captureSpec
}

func (r *resolver) resolve() {
	f := r.spec
	l := r.lab
	if f.name.ok {
		if err := checkName("lab name", f.name.v); err != nil {
			r.errorf(f.name.pos, "name: %v", err)
		}
		l.Name = f.name.v
	}
	l.Prefix = defaultPrefix
	if f.prefix.ok {
		l.Prefix = f.prefix.v
		if l.Prefix != "" && l.Prefix != labNamePrefix {
			if err := checkName("prefix", l.Prefix); err != nil {
				r.errorf(f.prefix.pos, "prefix: %v; or \"\" for no prefix, or %s", err, labNamePrefix)
			}
		}
	}
	l.AutoRoutes = f.autoRoutes.v
	r.resolveKinds()
	if f.mgmt != nil {
		l.Mgmt = &Mgmt{Network: r.longName("mgmt"), Pos: f.mgmt.pos}
		if l.Prefix == "" {
			// A network is the engine's, not the lab's: its name says
			// whose it is even without a prefix.
			l.Mgmt.Network = l.Name + "-mgmt"
		}
		if f.mgmt.network.ok {
			l.Mgmt.Network = f.mgmt.network.v
		}
		l.Mgmt.IPv4Subnet = f.mgmt.subnet.v
	}
	r.resolveNodes()
	if len(f.nodes) == 0 {
		r.warnf(f.root, "the topology has no nodes")
	}
	r.resolveLinks()
	r.checkMgmt()
	for _, n := range l.Nodes {
		slices.SortStableFunc(n.Interfaces, func(a, b *Interface) int { return natCompare(a.Name, b.Name) })
		for i, ifc := range n.Interfaces {
			ifc.Index = i
		}
		if len(n.Interfaces) == 0 {
			r.warnf(n.Pos, "node %q has no links", n.Name)
		}
	}
	for _, s := range r.bridges {
		if len(s.Members) == 0 {
			r.warnf(s.Pos, "bridge %q has no links", s.Name)
		}
	}
	slices.SortFunc(l.Segments, func(a, b *Segment) int {
		if a.Pos.before(b.Pos) {
			return -1
		}
		return 1
	})
	for i, s := range l.Segments {
		s.Index = i
	}
	r.planCaptures()
	r.planAddresses()
	r.planMACs()
	r.checkRoutes()
	if l.AutoRoutes && !r.failed() {
		autoRoutes(l)
	}
}

func isBuiltin(kind string) bool {
	switch Kind(kind) {
	case KindHost, KindRouter, KindLinux, KindBridge:
		return true
	}
	return false
}

func (r *resolver) resolveKinds() {
	for _, k := range r.spec.kinds {
		if err := checkName("kind name", k.name); err != nil {
			r.errorf(k.pos, "%v", err)
			continue
		}
		if msg, ok := refusedKinds(k.name); ok {
			r.errorf(k.pos, "kinds: %s", msg)
			continue
		}
		switch {
		case k.kind.ok && isBuiltin(k.name):
			r.errorf(k.kind.pos, "kind: the builtin kind %q keeps its base; leave kind out of it", k.name)
		case k.kind.ok && !isBuiltin(k.kind.v):
			if msg, ok := refusedKinds(k.kind.v); ok {
				r.errorf(k.kind.pos, "kind: %s", msg)
			} else {
				r.errorf(k.kind.pos, "kind: a kinds entry is based on a builtin kind (allowed: %s), got %q", builtinKinds, k.kind.v)
			}
		case !k.kind.ok && !isBuiltin(k.name):
			// containerlab's kinds: holds settings of kinds that exist;
			// a new name needs a base, or it would quietly be a host.
			r.errorf(k.pos, "kinds: %q is not a kind netlab knows (builtin: %s); to define a kind of your own, give it a base, e.g. kind: linux", k.name, builtinKinds)
		}
		r.kinds[k.name] = k
	}
}

// base returns the builtin kind a kinds entry or builtin name stands for.
func (r *resolver) base(kind string) (Kind, *nodeSpec, bool) {
	if ks, ok := r.kinds[kind]; ok {
		switch {
		case isBuiltin(kind):
			return Kind(kind), ks, true
		case ks.kind.ok && isBuiltin(ks.kind.v):
			return Kind(ks.kind.v), ks, true
		}
		return KindHost, ks, true
	}
	if isBuiltin(kind) {
		return Kind(kind), nil, true
	}
	return KindHost, nil, false
}

func (r *resolver) kindNames() []string {
	names := []string{string(KindHost), string(KindRouter), string(KindLinux), string(KindBridge)}
	for k := range r.kinds {
		if !isBuiltin(k) {
			names = append(names, k)
		}
	}
	slices.Sort(names[4:])
	return names
}

// chainPick returns the first value present along node → kind → defaults.
func chainPick[T any](chain []*nodeSpec, f func(*nodeSpec) opt[T]) opt[T] {
	for _, s := range chain {
		if o := f(s); o.ok {
			return o
		}
	}
	return opt[T]{}
}

// chainMap merges maps along the chain, the node's entries winning.
func chainMap(chain []*nodeSpec, f func(*nodeSpec) []kvSpec) map[string]string {
	var m map[string]string
	for i := len(chain) - 1; i >= 0; i-- {
		for _, kv := range f(chain[i]) {
			if m == nil {
				m = map[string]string{}
			}
			m[kv.key] = kv.value
		}
	}
	return m
}

func (r *resolver) longName(node string) string {
	switch r.lab.Prefix {
	case "":
		return node
	case labNamePrefix:
		return r.lab.Name + "-" + node
	}
	return r.lab.Prefix + "-" + r.lab.Name + "-" + node
}

// linuxIgnored lists the TCP options Linux has no per-namespace or per-route
// knob for.
type linuxIgnored struct {
	key   string
	nodes []string
}

func (r *resolver) resolveNodes() {
	f := r.spec
	def := f.defaults
	if def == nil {
		def = &nodeSpec{}
	}
	r.nodePos = map[string]Pos{}
	ignored := map[Pos]*linuxIgnored{}
	for _, ns := range f.nodes {
		if err := checkName("node name", ns.name); err != nil {
			r.errorf(ns.pos, "%v", err)
			continue
		}
		r.nodePos[ns.name] = ns.pos
		kind := pick(ns.kind, def.kind)
		if !kind.ok {
			kind.v = string(KindHost)
		}
		base, ks, ok := r.base(kind.v)
		if msg, refused := refusedKinds(kind.v); !ok && refused {
			r.errorf(kind.pos, "%s", msg)
		} else if !ok {
			names := r.kindNames()
			if sug := suggest.Closest(kind.v, names); sug != "" {
				r.errorf(kind.pos, "unknown kind %q; did you mean %q? (allowed: %s)", kind.v, sug, strings.Join(names, ", "))
			} else {
				r.errorf(kind.pos, "unknown kind %q (allowed: %s)", kind.v, strings.Join(names, ", "))
			}
		}
		if kind.ok && ok {
			switch {
			case kind.v == string(KindLinux):
				r.compat.add(CompatAsIs, "kind linux", kind.pos, "a Linux node on the kernel's stack; on docker, its image runs its own entrypoint")
			case kind.v == string(KindBridge):
				r.compat.add(CompatMapped, "kind bridge", kind.pos, "a LAN segment made as a Linux bridge inside the lab (containerlab's is one on the host)")
			case isBuiltin(kind.v):
				r.compat.add(CompatAsIs, "kind "+kind.v, kind.pos, "netlab's own kind")
			default:
				r.compat.add(CompatAsIs, "kind "+kind.v, kind.pos, "a kinds: entry based on "+string(base))
			}
		}
		chain := []*nodeSpec{ns}
		if ks != nil {
			chain = append(chain, ks)
		}
		chain = append(chain, def)
		if base == KindBridge {
			r.newBridge(ns, chain)
			continue
		}
		n := &Node{
			Name:       ns.name,
			LongName:   r.longName(ns.name),
			Kind:       kind.v,
			Base:       base,
			Stack:      StackGo,
			Image:      chainPick(chain, func(s *nodeSpec) opt[string] { return s.image }).v,
			Entrypoint: chainPick(chain, func(s *nodeSpec) opt[[]string] { return s.entrypoint }).v,
			Cmd:        chainPick(chain, func(s *nodeSpec) opt[[]string] { return s.cmd }).v,
			User:       chainPick(chain, func(s *nodeSpec) opt[string] { return s.user }).v,
			Binds:      chainPick(chain, func(s *nodeSpec) opt[[]string] { return s.binds }).v,
			Memory:     chainPick(chain, func(s *nodeSpec) opt[int64] { return s.memory }).v,
			CPUs:       chainPick(chain, func(s *nodeSpec) opt[float64] { return s.cpus }).v,
			CapAdd:     chainPick(chain, func(s *nodeSpec) opt[[]string] { return s.capAdd }).v,
			Exec:       chainPick(chain, func(s *nodeSpec) opt[[]string] { return s.exec }).v,
			Env:        chainMap(chain, func(s *nodeSpec) []kvSpec { return append(slices.Clip(s.envFiles), s.env...) }),
			Labels:     chainMap(chain, func(s *nodeSpec) []kvSpec { return s.labels }),
			Sysctls:    chainMap(chain, func(s *nodeSpec) []kvSpec { return s.sysctls }),
			Pos:        ns.pos,
		}
		if base == KindLinux {
			n.Stack = StackLinux // the programs of a Linux node use the kernel
		}
		if st := chainPick(chain, func(s *nodeSpec) opt[Stack] { return s.stack }); st.ok {
			n.Stack = st.v
		}
		n.Forwarding = base == KindRouter
		if fw := chainPick(chain, func(s *nodeSpec) opt[bool] { return s.forwarding }); fw.ok {
			n.Forwarding = fw.v
		}
		n.NetworkMode = chainPick(chain, func(s *nodeSpec) opt[string] { return s.netMode }).v
		if a := chainPick(chain, func(s *nodeSpec) opt[netip.Addr] { return s.mgmtIPv4 }); a.ok {
			n.MgmtIPv4 = a.v
			r.mgmtPos[n] = a.pos
		}
		n.Seed = deriveSeed(0, "node", r.lab.Name, n.Name)
		if sd := chainPick(chain, func(s *nodeSpec) opt[uint64] { return s.seed }); sd.ok {
			n.Seed = sd.v
		}
		n.TCP = r.tcpOptions(n, chain, ignored)
		r.routes[n] = chainPick(chain, func(s *nodeSpec) opt[[]routeSpec] { return s.routes })
		r.captures[n] = chainPick(chain, func(s *nodeSpec) opt[*captureSpec] { return s.capture })
		r.lab.Nodes = append(r.lab.Nodes, n)
		r.lab.byName[n.Name] = n
	}
	for p, ig := range ignored {
		r.warnf(p, "tcp %s has no Linux equivalent and is ignored on stack: linux nodes: %s", ig.key, strings.Join(ig.nodes, ", "))
	}
	slices.SortFunc(r.lab.Nodes, func(a, b *Node) int { return strings.Compare(a.Name, b.Name) })
	for i, n := range r.lab.Nodes {
		n.Index = i
	}
}

func (r *resolver) tcpOptions(n *Node, chain []*nodeSpec, ignored map[Pos]*linuxIgnored) TCPOptions {
	tcp := func(s *nodeSpec) *tcpSpec { return &s.tcp }
	var t TCPOptions
	t.MSS = chainPick(chain, func(s *nodeSpec) opt[int] { return tcp(s).mss }).v
	t.SndBuf = chainPick(chain, func(s *nodeSpec) opt[int] { return tcp(s).sndbuf }).v
	t.RcvBuf = chainPick(chain, func(s *nodeSpec) opt[int] { return tcp(s).rcvbuf }).v
	t.CC = chainPick(chain, func(s *nodeSpec) opt[string] { return tcp(s).cc }).v
	t.RTOMin = chainPick(chain, func(s *nodeSpec) opt[time.Duration] { return tcp(s).rtoMin }).v
	boolPtr := func(o opt[bool]) *bool {
		if !o.ok {
			return nil
		}
		v := o.v
		return &v
	}
	t.SACK = boolPtr(chainPick(chain, func(s *nodeSpec) opt[bool] { return tcp(s).sack }))
	t.Timestamps = boolPtr(chainPick(chain, func(s *nodeSpec) opt[bool] { return tcp(s).timestamps }))
	t.WindowScaling = boolPtr(chainPick(chain, func(s *nodeSpec) opt[bool] { return tcp(s).winScaling }))

	// The options below have no Linux knob.
	linuxOnly := func(key string, o opt[bool]) {
		if !o.ok || n.Stack != StackLinux {
			return
		}
		ig := ignored[o.pos]
		if ig == nil {
			ig = &linuxIgnored{key: key}
			ignored[o.pos] = ig
		}
		ig.nodes = append(ig.nodes, n.Name)
	}
	nagle := chainPick(chain, func(s *nodeSpec) opt[bool] { return tcp(s).nagle })
	t.Nagle = boolPtr(nagle)
	linuxOnly("nagle", nagle)
	dack := chainPick(chain, func(s *nodeSpec) opt[*time.Duration] { return tcp(s).delayedACK })
	if dack.ok && dack.v != nil {
		v := *dack.v
		t.DelayedACK = &v
	}
	linuxOnly("delayed-ack", opt[bool]{ok: dack.ok, pos: dack.pos})
	tw := chainPick(chain, func(s *nodeSpec) opt[time.Duration] { return tcp(s).timeWait })
	if tw.ok {
		v := tw.v
		t.TimeWait = &v
	}
	linuxOnly("time-wait", opt[bool]{ok: tw.ok, pos: tw.pos})
	ri := chainPick(chain, func(s *nodeSpec) opt[time.Duration] { return tcp(s).rtoInitial })
	t.RTOInitial = ri.v
	linuxOnly("rto-initial", opt[bool]{ok: ri.ok, pos: ri.pos})
	batch := chainPick(chain, func(s *nodeSpec) opt[bool] { return tcp(s).batchACKs })
	t.BatchACKs = boolPtr(batch)
	linuxOnly("batch-acks", batch)
	return t
}

func (r *resolver) newBridge(ns *nodeSpec, chain []*nodeSpec) {
	for _, e := range ns.set {
		if e.key != "kind" && e.key != "labels" {
			r.errorf(e.kpos(), "%s: a bridge node takes only kind and labels (a bridge is a LAN segment, not a host)", e.key)
		}
	}
	s := &Segment{
		Name:   ns.name,
		Bridge: true,
		Labels: chainMap(chain, func(s *nodeSpec) []kvSpec { return s.labels }),
		Pos:    ns.pos,
	}
	r.bridges[ns.name] = s
	r.lab.Segments = append(r.lab.Segments, s)
}

// deriveSeed hashes base and parts (FNV-1a, 64 bits) into a seed.
func deriveSeed(base uint64, parts ...string) uint64 {
	h := fnv.New64a()
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], base)
	h.Write(b[:])
	for _, p := range parts {
		h.Write([]byte{0})
		h.Write([]byte(p))
	}
	return h.Sum64()
}

// endpoint is a link endpoint resolved to a node or a bridge.
type endpoint struct {
	spec   *endpointSpec
	node   *Node
	bridge *Segment
}

func (r *resolver) names() []string {
	names := slices.Collect(maps.Keys(r.nodePos))
	slices.Sort(names)
	return names
}

func (r *resolver) resolveLinks() {
	type ifKey struct{ node, iface string }
	type use struct {
		pos     Pos
		written string
	}
	used := map[ifKey]use{}
	taken := map[string]string{} // name -> what has it, for messages
	for name, p := range r.nodePos {
		taken[name] = fmt.Sprintf("node %q (at %s)", name, p)
	}
	for _, ls := range r.spec.links {
		if !ls.name.ok {
			continue
		}
		if what, dup := taken[ls.name.v]; dup {
			r.errorf(ls.name.pos, "link name %q is already the name of %s", ls.name.v, what)
			ls.name = opt[string]{}
			continue
		}
		taken[ls.name.v] = fmt.Sprintf("the link at %s", ls.name.pos)
	}
	lanSeq := 0
	for _, ls := range r.spec.links {
		if ls.epsPos == (Pos{}) || ls.bad {
			continue // reported by the decoder
		}
		bad := false
		var eps []endpoint
		for _, es := range ls.eps {
			ep := endpoint{spec: es, node: r.lab.byName[es.node], bridge: r.bridges[es.node]}
			_, declared := r.nodePos[es.node]
			if es.clab != "" && !declared {
				bad = true
				r.errorf(es.pos, "endpoint %q: containerlab's %s links: %s", es.clab, es.node, refusedLinkTypes[es.node])
				continue
			}
			if es.ifaceErr != nil {
				bad = true
				r.errorf(es.pos, "%v", es.ifaceErr)
				continue
			}
			if es.clab != "" {
				(&decoder{compat: r.compat}).noteBriefEndpoint(es)
			}
			if ep.node == nil && ep.bridge == nil {
				bad = true
				if declared {
					continue // the node itself is in error
				}
				if sug := suggest.Closest(es.node, r.names()); sug != "" {
					r.errorf(es.nodePos, "endpoint on unknown node %q; did you mean %q?", es.node, sug)
				} else {
					r.errorf(es.nodePos, "endpoint on unknown node %q (the nodes are the keys under topology.nodes)", es.node)
				}
				continue
			}
			k := ifKey{es.node, es.iface}
			if u, dup := used[k]; dup {
				first := u.pos.String()
				if u.written != es.written {
					first += " as " + ifWritten(es.iface, u.written)
				}
				r.errorf(es.ifacePos, "interface %s:%s is used twice (first at %s); each interface ends one link", es.node, ifDisplay(es.iface, es.written), first)
				bad = true
				continue
			}
			used[k] = use{es.pos, es.written}
			eps = append(eps, ep)
		}
		if bad {
			continue
		}
		if len(ls.eps) < 2 {
			r.errorf(ls.epsPos, "a link needs at least two endpoints, got %d", len(ls.eps))
			continue
		}
		mtu := defaultMTU
		if ls.mtu.ok {
			mtu = ls.mtu.v
		}
		nBridges := 0
		for _, ep := range eps {
			if ep.bridge != nil {
				nBridges++
			}
		}
		switch {
		case nBridges > 0:
			r.bridgeLink(ls, eps, nBridges, mtu)
		case len(eps) > 2:
			name := ""
			if ls.name.ok {
				name = ls.name.v
			} else {
				for {
					lanSeq++
					name = fmt.Sprintf("lan%d", lanSeq)
					if _, dup := taken[name]; !dup {
						break
					}
				}
			}
			r.lanLink(ls, eps, name, mtu)
		default:
			r.p2pLink(ls, eps, mtu)
		}
	}
	for i, k := range r.lab.Links {
		k.Index = i
	}
}

func (r *resolver) newIface(n *Node, es *endpointSpec, mtu int) *Interface {
	ifc := &Interface{Node: n, Name: es.iface, Written: es.written, MTU: mtu, Pos: es.pos}
	n.Interfaces = append(n.Interfaces, ifc)
	r.userAddr[ifc] = es.ipv4
	r.userMAC[ifc] = es.mac
	return ifc
}

// impairFor returns a copy of the impairment of a direction with its seed
// set: a seed written in a per-direction block is used as is; one written in
// a both-directions block is used as is by the first direction (or member)
// and plus k by the k-th; without one, the seed derives from the sending
// node's seed, the link's name and the direction.
func impairFor(is *impSpec, k int, nodeSeed uint64, link, dir string) *impair.Config {
	if is == nil {
		return nil
	}
	// Each direction gets its own copy: no two plan values share memory.
	m := is.imp.Clone()
	if is.seedSet {
		m.Seed = is.imp.Seed + uint64(k)
	} else {
		m.Seed = deriveSeed(nodeSeed, "netem", link, dir)
	}
	return m
}

func (r *resolver) p2pLink(ls *linkSpec, eps []endpoint, mtu int) {
	a, b := eps[0], eps[1]
	name := a.spec.node + ":" + a.spec.iface + "--" + b.spec.node + ":" + b.spec.iface
	if ls.name.ok {
		name = ls.name.v
	}
	k := &Link{Name: name, MTU: mtu, Pos: ls.pos}
	k.A = r.newIface(a.node, a.spec, mtu)
	k.B = r.newIface(b.node, b.spec, mtu)
	k.A.Link, k.B.Link = k, k
	k.A.Peer, k.B.Peer = k.B, k.A
	if ne := ls.netem; ne != nil {
		if ne.both != nil {
			k.Netem.AtoB = impairFor(ne.both, 0, a.node.Seed, name, keyAtoB)
			k.Netem.BtoA = impairFor(ne.both, 1, b.node.Seed, name, keyBtoA)
		} else {
			k.Netem.AtoB = impairFor(ne.atob, 0, a.node.Seed, name, keyAtoB)
			k.Netem.BtoA = impairFor(ne.btoa, 0, b.node.Seed, name, keyBtoA)
		}
	}
	k.A.Egress, k.B.Egress = k.Netem.AtoB, k.Netem.BtoA
	// With a Go end, its agent applies both directions; between two
	// Linux stacks a relay in the switch namespace does.
	k.A.Relay = ls.netem != nil && a.node.Stack == StackLinux && b.node.Stack == StackLinux
	r.captureLink(ls, k.A, k.B)
	r.lab.Links = append(r.lab.Links, k)
	r.units = append(r.units, &unit{pos: ls.pos, name: "link " + name, members: []*Interface{k.A, k.B}, link: k})
}

func (r *resolver) lanLink(ls *linkSpec, eps []endpoint, name string, mtu int) {
	s := &Segment{Name: name, MTU: mtu, Pos: ls.pos}
	if ne := ls.netem; ne != nil && ne.both == nil {
		r.errorf(ne.dirPos, "netem: a-to-b and b-to-a need a link with two endpoints, this one has %d (give the fields for all members, applied to what each sends)", len(eps))
	}
	for i, ep := range eps {
		ifc := r.newIface(ep.node, ep.spec, mtu)
		ifc.Segment = s
		if ls.netem != nil {
			ifc.Egress = impairFor(ls.netem.both, i, ep.node.Seed, name, ifc.String())
			ifc.Relay = ep.node.Stack == StackLinux
		}
		s.Members = append(s.Members, ifc)
	}
	r.captureLink(ls, s.Members...)
	r.lab.Segments = append(r.lab.Segments, s)
	r.units = append(r.units, &unit{pos: ls.pos, name: "LAN " + name, members: s.Members, seg: s, lan: true})
}

func (r *resolver) bridgeLink(ls *linkSpec, eps []endpoint, nBridges, mtu int) {
	if len(eps) != 2 {
		r.errorf(ls.epsPos, "a link to a bridge must have exactly two endpoints, this one has %d (give each member its own link to the bridge)", len(eps))
		return
	}
	if nBridges == 2 {
		r.errorf(ls.epsPos, "a link cannot join two bridges (%s and %s)", eps[0].spec.node, eps[1].spec.node)
		return
	}
	memberFirst := eps[0].bridge == nil
	member, port := eps[0], eps[1]
	if !memberFirst {
		member, port = eps[1], eps[0]
	}
	bad := false
	if port.spec.ipv4.ok {
		r.errorf(port.spec.ipv4.pos, "ipv4: bridge %q is a LAN segment, its ports carry no address", port.spec.node)
		bad = true
	}
	if port.spec.mac.ok {
		r.errorf(port.spec.mac.pos, "mac: bridge %q is a LAN segment, its ports carry no MAC of their own", port.spec.node)
		bad = true
	}
	if ls.name.ok {
		r.errorf(ls.name.pos, "name: a link to a bridge joins the bridge's segment %q and has no name of its own", port.spec.node)
		bad = true
	}
	if bad {
		return
	}
	s := port.bridge
	ifc := r.newIface(member.node, member.spec, mtu)
	ifc.Segment = s
	ifc.Port = port.spec.iface
	if ne := ls.netem; ne != nil {
		out, in := ne.atob, ne.btoa
		if !memberFirst {
			out, in = ne.btoa, ne.atob
		}
		k := 0
		if ne.both != nil {
			out, in = ne.both, ne.both
			k = 1
		}
		ifc.Egress = impairFor(out, 0, member.node.Seed, s.Name, ifc.String()+">")
		ifc.Ingress = impairFor(in, k, member.node.Seed, s.Name, ifc.String()+"<")
		ifc.Relay = member.node.Stack == StackLinux
	}
	s.Members = append(s.Members, ifc)
	r.captureLink(ls, ifc)
	if s.MTU == 0 || mtu < s.MTU {
		s.MTU = mtu
	}
}

// checkMgmt checks the management network against the lab: its subnet
// apart from the lab's addresses (the ipv4-pool, every address and route
// the file writes), each mgmt-ipv4 a host address of it that no other node
// has, and no lab interface taking eth0, the management interface, on a
// node that is on it. Then, with the subnet known, it picks the address of
// every node on the network that has none (see Node.AutoMgmtIPv4): the
// runtime never picks one, so no picked address can take a fixed one while
// nodes are made in parallel.
func (r *resolver) checkMgmt() {
	m := r.lab.Mgmt
	if m != nil && m.IPv4Subnet.IsValid() && r.mgmtOverlaps(m.IPv4Subnet) {
		return
	}
	taken := map[netip.Addr]string{}
	bad := false
	for _, n := range r.lab.Nodes {
		on := r.lab.OnMgmt(n)
		if on {
			for _, ifc := range n.Interfaces {
				if ifc.Name == "eth0" {
					r.errorf(ifc.Pos, "interface eth0 of node %s: with mgmt:, eth0 is every node's management interface (lab links use eth1 and up; network-mode: none keeps a node off the management network)", n.Name)
				}
			}
		}
		if !n.MgmtIPv4.IsValid() {
			continue
		}
		p := r.mgmtPos[n]
		sub := m.subnetOrZero()
		bad = true
		switch {
		case m == nil:
			r.errorf(p, "mgmt-ipv4 of node %s: the file has no management network (add mgmt: {ipv4-subnet: ...})", n.Name)
		case !on:
			r.errorf(p, "mgmt-ipv4 of node %s: its network-mode: none keeps it off the management network (leave out one or the other)", n.Name)
		case !sub.IsValid():
			r.errorf(p, "mgmt-ipv4 of node %s: give mgmt: an ipv4-subnet to choose addresses in", n.Name)
		case !sub.Contains(n.MgmtIPv4) || n.MgmtIPv4 == sub.Addr() || n.MgmtIPv4 == sub.Addr().Next() || n.MgmtIPv4 == lastAddr(sub):
			r.errorf(p, "mgmt-ipv4 %s of node %s: not a host address of mgmt's ipv4-subnet %s (allowed: %s to %s; the first address is the network's, the second this machine's, the last the broadcast)",
				n.MgmtIPv4, n.Name, sub, sub.Addr().Next().Next(), lastAddr(sub).Prev())
		case taken[n.MgmtIPv4] != "" && taken[n.MgmtIPv4] != n.Name:
			r.errorf(p, "mgmt-ipv4 %s of node %s: node %s has it too", n.MgmtIPv4, n.Name, taken[n.MgmtIPv4])
		default:
			taken[n.MgmtIPv4] = n.Name
			bad = false
		}
	}
	if bad || m == nil || !m.IPv4Subnet.IsValid() {
		return
	}
	sub, last := m.IPv4Subnet, lastAddr(m.IPv4Subnet)
	next := sub.Addr().Next().Next()
	for _, n := range r.lab.Nodes {
		if !r.lab.OnMgmt(n) || n.MgmtIPv4.IsValid() {
			continue
		}
		for next != last && taken[next] != "" {
			next = next.Next()
		}
		if next == last {
			on := 0
			for _, n := range r.lab.Nodes {
				if r.lab.OnMgmt(n) {
					on++
				}
			}
			r.errorf(r.spec.mgmt.subnet.pos, "ipv4-subnet %s has room for %d nodes (its first two addresses are the network's and this machine's, its last the broadcast), the lab puts %d on the management network (allowed: a larger subnet)",
				sub, hostsIn(sub.Bits())-1, on)
			return
		}
		n.MgmtIPv4, n.AutoMgmtIPv4 = next, true
		taken[next] = n.Name
		next = next.Next()
	}
}

// subnetOrZero is m's subnet, the zero prefix for no m.
func (m *Mgmt) subnetOrZero() netip.Prefix {
	if m == nil {
		return netip.Prefix{}
	}
	return m.IPv4Subnet
}

// mgmtOverlaps reports, at mgmt's ipv4-subnet, whether sub overlaps the
// lab's addresses: the ipv4-pool, written or default, the addresses the
// file writes on interfaces and the destinations of its routes inside sub.
// The management network must be apart from them, or a node could not
// tell its management peers from its lab peers.
func (r *resolver) mgmtOverlaps(sub netip.Prefix) bool {
	at := r.spec.mgmt.subnet.pos
	pool, where := netip.MustParsePrefix(defaultPool), "netlab's default ipv4-pool"
	if r.spec.pool.ok {
		pool, where = r.spec.pool.v, "the ipv4-pool (at "+r.spec.pool.pos.String()+")"
	}
	allowed := "allowed: a subnet apart from the lab's addresses"
	if eg := netip.MustParsePrefix("172.20.20.0/24"); !eg.Overlaps(pool) {
		allowed += ", e.g. " + eg.String()
	}
	if sub.Overlaps(pool) {
		r.errorf(at, "ipv4-subnet %s overlaps %s %s, which lab addresses come from: the management network must be apart from the lab's (%s; or move topology.ipv4-pool)", sub, where, pool, allowed)
		return true
	}
	type clash struct {
		what string
		pos  Pos
	}
	var clashes []clash
	for _, n := range r.lab.Nodes {
		for _, ifc := range n.Interfaces {
			if a := r.userAddr[ifc]; a.ok && sub.Overlaps(a.v.Masked()) {
				clashes = append(clashes, clash{fmt.Sprintf("%s of %s:%s", a.v, n.Name, ifWritten(ifc.Name, ifc.Written)), a.pos})
			}
		}
		if rs := r.routes[n]; rs.ok {
			for _, rt := range rs.v {
				if rt.dst.Bits() >= sub.Bits() && sub.Contains(rt.dst.Addr()) {
					clashes = append(clashes, clash{fmt.Sprintf("the route to %s of node %s", rt.dst, n.Name), rt.dstPos})
				}
			}
		}
	}
	if len(clashes) == 0 {
		return false
	}
	slices.SortFunc(clashes, func(a, b clash) int {
		if a.pos.before(b.pos) {
			return -1
		}
		return 1
	})
	more := ""
	if len(clashes) > 1 {
		more = fmt.Sprintf(" and %d more", len(clashes)-1)
	}
	r.errorf(at, "ipv4-subnet %s overlaps %s (at %s)%s written in the file: the management network must be apart from the lab's addresses (%s)", sub, clashes[0].what, clashes[0].pos, more, allowed)
	return true
}

// lastAddr is the last address of p: its broadcast address.
func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr().As4()
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	v |= 1<<(32-p.Bits()) - 1
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}
