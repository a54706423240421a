package topology

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/netlab/netlab/impair"
	"github.com/netlab/netlab/internal/suggest"
	"github.com/netlab/netlab/internal/units"
)

// maxExpanded bounds the number of YAML values a file may expand to once
// aliases are followed, so that a "billion laughs" file fails fast.
const maxExpanded = 1 << 20

// opt is a value that may be absent from the file, with where it was written.
type opt[T any] struct {
	ok  bool
	v   T
	pos Pos
}

func some[T any](v T, p Pos) opt[T] { return opt[T]{ok: true, v: v, pos: p} }

// pick returns the first present value: the node's, then its kind's, then
// the defaults'.
func pick[T any](opts ...opt[T]) opt[T] {
	for _, o := range opts {
		if o.ok {
			return o
		}
	}
	return opt[T]{}
}

// fileSpec is the file as written, values parsed, nothing resolved.
type fileSpec struct {
	root       Pos
	mgmt       *mgmtSpec
	name       opt[string]
	prefix     opt[string]
	defaults   *nodeSpec
	kinds      []*nodeSpec
	nodes      []*nodeSpec
	links      []*linkSpec
	autoRoutes opt[bool]
	pool       opt[netip.Prefix]
	p2pPrefix  opt[int]
	lanPrefix  opt[int]
}

// nodeSpec is a node, a kinds entry or the defaults, as written.
type nodeSpec struct {
	name       string
	pos        Pos
	set        []entry // the keys written in this very mapping
	kind       opt[string]
	stack      opt[Stack]
	image      opt[string]
	mgmtIPv4   opt[netip.Addr]
	netMode    opt[string]
	entrypoint opt[[]string]
	cmd        opt[[]string]
	user       opt[string]
	binds      opt[[]string]
	memory     opt[int64]
	cpus       opt[float64]
	capAdd     opt[[]string]
	exec       opt[[]string]
	envFiles   []kvSpec // the variables of env-files, before env's
	env        []kvSpec
	labels     []kvSpec
	sysctls    []kvSpec
	forwarding opt[bool]
	seed       opt[uint64]
	routes     opt[[]routeSpec]
	tcp        tcpSpec
	capture    opt[*captureSpec]
}

// captureSpec is a node's or a link's capture as written: off (false), or
// on with the fields the mapping gives (none for true).
type captureSpec struct {
	pos      Pos        // the capture key
	on       bool       // false for capture: false
	bad      bool       // a field is in error (reported): the node has no capture
	ifaces   []ifaceRef // a node's interfaces: list; nil means all of them
	fileSize opt[int64]
	files    opt[int]
}

// ifaceRef is an interface name written in the file: name is its Linux
// name, written the name as written when it was mapped.
type ifaceRef struct {
	name    string
	written string
	pos     Pos
}

type kvSpec struct {
	key, value string
	pos        Pos
}

type routeSpec struct {
	pos    Pos
	dst    netip.Prefix
	dstPos Pos
	via    netip.Addr
	viaPos Pos
	dev    string
	devPos Pos
	// devWritten is dev as written when dev is its Linux mapping.
	devWritten string
}

type tcpSpec struct {
	mss, sndbuf, rcvbuf                 opt[int]
	cc                                  opt[string]
	nagle, sack, timestamps, winScaling opt[bool]
	batchACKs                           opt[bool]
	delayedACK                          opt[*time.Duration]
	timeWait, rtoInitial, rtoMin        opt[time.Duration]
}

type linkSpec struct {
	pos     Pos
	name    opt[string]
	mtu     opt[int]
	eps     []*endpointSpec
	epsPos  Pos
	bad     bool // an endpoint could not be read (already reported)
	netem   *netemSpec
	capture *captureSpec // nil when absent or false
}

type endpointSpec struct {
	pos      Pos
	node     string
	nodePos  Pos
	iface    string
	ifacePos Pos
	written  string // the interface's name as written, when iface is its mapping
	// clab is the endpoint as written when its node part is one of
	// containerlab's link types (host:eth1): refused unless a node has
	// that name. ifaceErr is what is wrong with its interface part then.
	clab     string
	ifaceErr error
	ipv4     opt[netip.Prefix]
	mac      opt[MAC]
}

// netemSpec is a link's netem block: both set, or atob and/or btoa.
type netemSpec struct {
	pos        Pos
	both       *impSpec
	atob, btoa *impSpec
	dirPos     Pos
}

// impSpec is one direction's impairment as the file gives it; seedSet
// reports whether the file gives its seed.
type impSpec struct {
	imp     impair.Config
	seedSet bool
}

// entry is one key/value pair of a mapping, aliases followed.
type entry struct {
	key  string
	k, v *yaml.Node
}

func (e entry) kpos() Pos { return posOf(e.k) }
func (e entry) vpos() Pos { return posOf(e.v) }

func posOf(n *yaml.Node) Pos { return Pos{Line: n.Line, Col: n.Column} }

// decoder turns the YAML node tree into a fileSpec, reporting every problem.
type decoder struct {
	*diag
	dir string // the topology file's directory, for relative paths
	// lookupEnv finds environment variables for ${NAME}; nil means the
	// process's environment.
	lookupEnv func(string) (string, bool)
	// compat, when not nil, notes how each feature was taken.
	compat *compatLog
	// files are where the files the topology names are read.
	files files
	// lines are the file's lines, to place variables in scalars.
	lines []string
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parseYAML parses data into a document node. Syntax errors become *Error
// values at the line yaml.v3 names.
func (d *decoder) parseYAML(data []byte) *yaml.Node {
	var doc yaml.Node
	d.lines = strings.Split(string(data), "\n")
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			d.errorf(Pos{Line: 1, Col: 1}, "the file is empty (want a mapping with name and topology)")
			return nil
		}
		p, msg := syntaxError(data, err)
		d.errorf(p, "YAML syntax: %s", msg)
		return nil
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		d.errorf(posOf(&extra), "a second YAML document: a topology file holds one")
	}
	if n := expandedSize(&doc, map[*yaml.Node]int{}); n > maxExpanded {
		d.errorf(Pos{Line: 1, Col: 1}, "the file expands to more than %d values once its aliases are followed", maxExpanded)
		return nil
	}
	if d.lookupEnv == nil {
		d.lookupEnv = os.LookupEnv
	}
	d.expandEnv(&doc, map[*yaml.Node]bool{})
	return &doc
}

// syntaxError places a yaml.v3 syntax error. yaml.v3 names the line where
// the enclosing block starts ("while parsing a block mapping"), not the line
// at fault; the line at fault is the first one whose inclusion makes the
// file fail the same way, found by bisecting on prefixes of the file.
func syntaxError(data []byte, err error) (Pos, string) {
	m := yamlLineRE.FindStringSubmatch(err.Error())
	if m == nil {
		return Pos{Line: 1, Col: 1}, strings.TrimPrefix(err.Error(), "yaml: ")
	}
	reported, _ := strconv.Atoi(m[1])
	msg := m[2]
	lines := bytes.SplitAfter(data, []byte("\n"))
	fails := func(k int) bool {
		var doc yaml.Node
		err := yaml.Unmarshal(bytes.Join(lines[:k], nil), &doc)
		if err == nil {
			return false
		}
		sm := yamlLineRE.FindStringSubmatch(err.Error())
		return sm != nil && sm[2] == msg
	}
	line := reported
	if k := sort.Search(len(lines), func(k int) bool { return fails(k + 1) }); k < len(lines) && k+1 >= reported {
		line = k + 1
	}
	col := 1
	if line <= len(lines) {
		col += len(lines[line-1]) - len(bytes.TrimLeft(lines[line-1], " \t"))
	}
	return Pos{Line: line, Col: col}, msg
}

// expandedSize counts the values n stands for with aliases followed,
// saturating past maxExpanded.
func expandedSize(n *yaml.Node, memo map[*yaml.Node]int) int {
	if n == nil {
		return 0
	}
	if s, ok := memo[n]; ok {
		return s
	}
	memo[n] = maxExpanded + 1 // a cycle counts as too large
	s := 1
	if n.Kind == yaml.AliasNode {
		s += expandedSize(n.Alias, memo)
	}
	for _, c := range n.Content {
		s += expandedSize(c, memo)
		if s > maxExpanded {
			break
		}
	}
	s = min(s, maxExpanded+1)
	memo[n] = s
	return s
}

func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func isMerge(k *yaml.Node) bool {
	return k.Kind == yaml.ScalarNode && k.Value == "<<" && (k.Tag == "" || k.Tag == "!" || k.ShortTag() == "!!merge")
}

// describe says what a node is, for "want X, got Y" messages.
func describe(n *yaml.Node) string {
	switch {
	case isNull(n):
		return "nothing"
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	}
	return strconv.Quote(n.Value)
}

// entries returns the pairs of mapping n with merge keys (<<) expanded:
// explicit keys win over merged ones, earlier merge sources over later ones.
// A key written twice is reported ("duplicate <what>") and its second
// occurrence dropped.
func (d *decoder) entries(n *yaml.Node, what string) []entry {
	var out, merged []entry
	first := map[string]Pos{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), deref(n.Content[i+1])
		if isMerge(k) {
			merged = append(merged, d.mergeSources(v)...)
			continue
		}
		if k.Kind != yaml.ScalarNode || isNull(k) {
			d.errorf(posOf(k), "a %s must be a string, got %s", what, describe(k))
			continue
		}
		if p, dup := first[k.Value]; dup {
			d.errorf(posOf(k), "duplicate %s %q (first at %s)", what, k.Value, p)
			continue
		}
		first[k.Value] = posOf(k)
		out = append(out, entry{key: k.Value, k: k, v: v})
	}
	for _, e := range merged {
		if _, dup := first[e.key]; !dup {
			first[e.key] = e.kpos()
			out = append(out, e)
		}
	}
	return out
}

func (d *decoder) mergeSources(v *yaml.Node) []entry {
	switch v.Kind {
	case yaml.MappingNode:
		return d.entries(v, "key")
	case yaml.SequenceNode:
		var out []entry
		for _, c := range v.Content {
			if c = deref(c); c.Kind != yaml.MappingNode {
				d.errorf(posOf(c), "<<: want a mapping to merge, got %s", describe(c))
				continue
			}
			out = append(out, d.entries(c, "key")...)
		}
		return out
	}
	d.errorf(posOf(v), "<<: want a mapping to merge, got %s", describe(v))
	return nil
}

// object returns the entries of mapping n whose keys s accepts, reporting the
// others. A null value is an empty mapping. ctx names the place ("link",
// `node "h1"`) in messages.
func (d *decoder) object(n *yaml.Node, s *shape, ctx string) []entry {
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(posOf(n), "%s: want a mapping, got %s", ctx, describe(n))
		return nil
	}
	all := d.entries(n, "key")
	known := all[:0:0]
	for _, e := range all {
		if s.field(e.key) != nil {
			known = append(known, e)
			continue
		}
		if msg, ok := s.rejection(e.key); ok {
			d.errorf(e.kpos(), "%s: %s", e.key, msg)
			continue
		}
		allowed := strings.Join(s.keys(), ", ")
		if sug := suggest.Closest(e.key, s.keys()); sug != "" {
			d.errorf(e.kpos(), "unknown key %q in %s; did you mean %q? (allowed: %s)", e.key, ctx, sug, allowed)
		} else {
			d.errorf(e.kpos(), "unknown key %q in %s (allowed: %s)", e.key, ctx, allowed)
		}
	}
	return known
}

// mapping returns the entries of a map with free keys (nodes, env).
func (d *decoder) mapping(n *yaml.Node, ctx, what string) []entry {
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(posOf(n), "%s: want a mapping, got %s", ctx, describe(n))
		return nil
	}
	return d.entries(n, what)
}

func (d *decoder) list(e entry) []*yaml.Node {
	if isNull(e.v) {
		return nil
	}
	if e.v.Kind != yaml.SequenceNode {
		d.errorf(e.vpos(), "%s: want a list, got %s", e.key, describe(e.v))
		return nil
	}
	out := make([]*yaml.Node, len(e.v.Content))
	for i, c := range e.v.Content {
		out[i] = deref(c)
	}
	return out
}

func (d *decoder) scalar(n *yaml.Node, key, want string) (string, bool) {
	if n.Kind != yaml.ScalarNode || isNull(n) {
		d.errorf(posOf(n), "%s: want %s, got %s", key, want, describe(n))
		return "", false
	}
	return n.Value, true
}

func (d *decoder) str(e entry) opt[string] {
	s, ok := d.scalar(e.v, e.key, "a string")
	if !ok {
		return opt[string]{}
	}
	return some(s, e.vpos())
}

func (d *decoder) boolean(e entry) opt[bool] {
	if e.v.Kind == yaml.ScalarNode && e.v.ShortTag() == "!!bool" {
		return some(strings.EqualFold(e.v.Value, "true"), e.vpos())
	}
	d.errorf(e.vpos(), "%s: want true or false, got %s", e.key, describe(e.v))
	return opt[bool]{}
}

// integer reads an integer in [lo, hi].
func (d *decoder) integer(e entry, lo, hi int64) opt[int64] {
	s, ok := d.scalar(e.v, e.key, "an integer")
	if !ok {
		return opt[int64]{}
	}
	v, err := strconv.ParseInt(strings.ReplaceAll(s, "_", ""), 0, 64)
	if err != nil || e.v.ShortTag() != "!!int" {
		d.errorf(e.vpos(), "%s: want an integer, got %s", e.key, describe(e.v))
		return opt[int64]{}
	}
	if v < lo || v > hi {
		d.errorf(e.vpos(), "%s %d is out of range (allowed: %d to %d)", e.key, v, lo, hi)
		return opt[int64]{}
	}
	return some(v, e.vpos())
}

func (d *decoder) intIn(e entry, lo, hi int) opt[int] {
	o := d.integer(e, int64(lo), int64(hi))
	return opt[int]{ok: o.ok, v: int(o.v), pos: o.pos}
}

func (d *decoder) seed(e entry) opt[uint64] {
	s, ok := d.scalar(e.v, e.key, "an integer")
	if !ok {
		return opt[uint64]{}
	}
	v, err := strconv.ParseUint(strings.ReplaceAll(s, "_", ""), 0, 64)
	if err != nil {
		d.errorf(e.vpos(), "%s: want an integer from 0 to %d, got %s", e.key, uint64(math.MaxUint64), describe(e.v))
		return opt[uint64]{}
	}
	return some(v, e.vpos())
}

// parsed reads a scalar through parse, reporting its error at the value.
func parsed[T any](d *decoder, e entry, want string, parse func(string) (T, error)) opt[T] {
	s, ok := d.scalar(e.v, e.key, want)
	if !ok {
		return opt[T]{}
	}
	v, err := parse(s)
	if err != nil {
		d.errorf(e.vpos(), "%s: %v", e.key, err)
		return opt[T]{}
	}
	return some(v, e.vpos())
}

// decodeFile reads the whole document.
func (d *decoder) decodeFile(doc *yaml.Node) *fileSpec {
	f := &fileSpec{root: Pos{Line: 1, Col: 1}}
	if len(doc.Content) == 0 {
		d.errorf(f.root, "the file is empty (want a mapping with name and topology)")
		return f
	}
	root := deref(doc.Content[0])
	f.root = posOf(root)
	if root.Kind != yaml.MappingNode {
		d.errorf(f.root, "the file: want a mapping with name and topology, got %s", describe(root))
		return f
	}
	s := fileShape()
	hasName, hasTopology := false, false
	for _, e := range d.object(root, s, "the file") {
		switch e.key {
		case "name":
			hasName = true
			f.name = d.str(e)
		case "prefix":
			if isNull(e.v) {
				f.prefix = some("", e.vpos())
			} else {
				f.prefix = d.str(e)
			}
		case "topology":
			hasTopology = true
			d.decodeTopology(e, s.field("topology").obj, f)
		case keyMgmt:
			f.mgmt = d.decodeMgmt(e, s.field(keyMgmt).obj)
		default:
			d.unhandled(e)
		}
	}
	if !hasName {
		d.errorf(f.root, "name: missing (every lab has a name, e.g. name: lab1)")
	}
	if !hasTopology {
		d.errorf(f.root, "topology: missing (want topology: {nodes: ..., links: ...})")
	}
	return f
}

// unhandled reports a key a shape accepts but the decoder forgot: a bug the
// all-keys test catches.
func (d *decoder) unhandled(e entry) {
	d.errorf(e.kpos(), "internal error: key %q is accepted but not handled", e.key)
}

func (d *decoder) decodeTopology(te entry, s *shape, f *fileSpec) {
	for _, e := range d.object(te.v, s, "topology") {
		switch e.key {
		case "defaults":
			f.defaults = d.decodeNode(e.v, "", e.kpos(), s.field("defaults").obj, "topology.defaults")
		case "kinds":
			for _, k := range d.mapping(e.v, "kinds", "kind") {
				f.kinds = append(f.kinds, d.decodeNode(k.v, k.key, k.kpos(), s.field("kinds").each, fmt.Sprintf("kind %q", k.key)))
			}
		case "nodes":
			for _, k := range d.mapping(e.v, "nodes", "node") {
				f.nodes = append(f.nodes, d.decodeNode(k.v, k.key, k.kpos(), s.field("nodes").each, fmt.Sprintf("node %q", k.key)))
			}
		case "links":
			for _, item := range d.list(e) {
				f.links = append(f.links, d.decodeLink(item, s.field("links").each))
			}
		case "auto-routes":
			f.autoRoutes = d.boolean(e)
		case "ipv4-pool":
			f.pool = parsed(d, e, "a subnet", parseSubnet)
			if f.pool.ok && f.pool.v.Bits() > 30 {
				d.errorf(e.vpos(), "ipv4-pool %s is too small (allowed: /30 or shorter, e.g. 10.0.0.0/16)", f.pool.v)
				f.pool = opt[netip.Prefix]{}
			}
		case "p2p-prefix":
			o := d.intIn(e, 30, 31)
			f.p2pPrefix = o
		case "lan-prefix":
			f.lanPrefix = d.intIn(e, 8, 30)
		default:
			d.unhandled(e)
		}
	}
}

func (d *decoder) decodeNode(n *yaml.Node, name string, p Pos, s *shape, ctx string) *nodeSpec {
	ns := &nodeSpec{name: name, pos: p}
	ns.set = d.object(n, s, ctx)
	for _, e := range ns.set {
		d.noteNodeKey(e)
		switch e.key {
		case "kind":
			ns.kind = d.str(e)
		case "stack":
			ns.stack = parsed(d, e, "go or linux", func(v string) (Stack, error) {
				switch st := Stack(v); st {
				case StackGo, StackLinux:
					return st, nil
				}
				if sug := suggest.Closest(v, []string{string(StackGo), string(StackLinux)}); sug != "" {
					return "", fmt.Errorf("unknown stack %q; did you mean %q? (allowed: go, linux)", v, sug)
				}
				return "", fmt.Errorf("unknown stack %q (allowed: go, linux)", v)
			})
		case "image":
			ns.image = d.str(e)
		case "exec":
			var cmds []string
			for _, c := range d.list(e) {
				if s, ok := d.scalar(c, "exec", "a command string"); ok {
					cmds = append(cmds, s)
				}
			}
			ns.exec = some(cmds, e.vpos())
		case "mgmt-ipv4":
			ns.mgmtIPv4 = parsed(d, e, "an IPv4 address", func(v string) (netip.Addr, error) {
				a, err := netip.ParseAddr(v)
				if err != nil || !a.Is4() {
					return netip.Addr{}, fmt.Errorf("bad address %q (allowed: an IPv4 address in mgmt's ipv4-subnet, e.g. 172.20.20.10)", v)
				}
				return a, nil
			})
		case "entrypoint":
			ns.entrypoint = d.words(e)
		case "cmd":
			ns.cmd = d.words(e)
		case "user":
			ns.user = d.str(e)
		case "binds":
			ns.binds = d.binds(e)
		case "env-files":
			ns.envFiles = d.envFiles(e)
		case "memory":
			ns.memory = parsed(d, e, "a size", parseMemory)
		case "cpu":
			ns.cpus = parsed(d, e, "a number of CPUs", parseCPUs)
		case "cap-add":
			var caps []string
			for _, c := range d.list(e) {
				if v, ok := d.scalar(c, "cap-add", "a capability name"); ok {
					if err := checkCapability(v); err != nil {
						d.errorf(posOf(c), "cap-add: %v", err)
						continue
					}
					caps = append(caps, v)
				}
			}
			ns.capAdd = some(caps, e.vpos())
		case "network-mode":
			if m := d.str(e); m.ok && m.v != NetworkModeNone {
				d.errorf(m.pos, "network-mode %q: netlab nodes have no network but the lab's links and its mgmt: network (allowed: none, which keeps the node off the management network); a node never shares the host's or another container's network", m.v)
			} else if m.ok {
				ns.netMode = m
			}
		case "env":
			ns.env = d.decodeKV(e, checkEnvKey)
		case "labels":
			ns.labels = d.decodeKV(e, checkLabelKey)
		case "sysctls":
			ns.sysctls = d.decodeKV(e, checkSysctlKey)
		case "forwarding":
			ns.forwarding = d.boolean(e)
		case "seed":
			ns.seed = d.seed(e)
		case "routes":
			var rs []routeSpec
			for _, item := range d.list(e) {
				if r, ok := d.decodeRoute(item, s.field("routes").each); ok {
					rs = append(rs, r)
				}
			}
			ns.routes = some(rs, e.vpos())
		case "tcp":
			d.decodeTCP(e, s.field("tcp").obj, &ns.tcp)
		case keyCapture:
			ns.capture = d.decodeCapture(e, s.field(keyCapture).obj)
		default:
			d.unhandled(e)
		}
	}
	return ns
}

// checkEnvKey checks an environment variable name as Docker takes it: any
// name without '=', blanks or NUL (dotted names such as Elasticsearch's
// node.name included).
func checkEnvKey(k string) error {
	if k == "" {
		return errors.New("empty environment variable name")
	}
	for _, r := range k {
		if r == '=' || r == 0 || r == ' ' || r == '\t' || r == '\n' {
			return fmt.Errorf("bad environment variable name %q (allowed: any name without '=' or blanks, e.g. PATH or node.name)", k)
		}
	}
	return nil
}

func checkLabelKey(k string) error {
	if k == "" {
		return errors.New("empty label name")
	}
	if k == "netlab" || strings.HasPrefix(k, "netlab-") {
		return fmt.Errorf("label %q is reserved: netlab stamps labels named netlab and netlab-*", k)
	}
	return nil
}

func checkSysctlKey(k string) error {
	for _, r := range k {
		if !(isAlnum(r) || r == '_' || r == '.' || r == '-' || r == '/') {
			return fmt.Errorf("bad sysctl name %q (allowed: e.g. net.ipv4.tcp_ecn)", k)
		}
	}
	if k == "" || strings.Contains(k, "..") {
		return fmt.Errorf("bad sysctl name %q (allowed: e.g. net.ipv4.tcp_ecn)", k)
	}
	if first, rest, _ := strings.Cut(strings.ReplaceAll(k, "/", "."), "."); first != "net" || rest == "" {
		return fmt.Errorf("sysctl %q is not the node's: only net.* sysctls belong to a node's network namespace, the others are the host's", k)
	}
	return nil
}

// decodeKV reads a map of scalars (env, labels, sysctls).
func (d *decoder) decodeKV(e entry, check func(string) error) []kvSpec {
	var out []kvSpec
	for _, kv := range d.mapping(e.v, e.key, "key") {
		if err := check(kv.key); err != nil {
			d.errorf(kv.kpos(), "%s: %v", e.key, err)
			continue
		}
		v := ""
		if !isNull(kv.v) {
			s, ok := d.scalar(kv.v, e.key+"."+kv.key, "a string or number")
			if !ok {
				continue
			}
			v = s
		}
		out = append(out, kvSpec{key: kv.key, value: v, pos: kv.kpos()})
	}
	return out
}

func (d *decoder) decodeRoute(n *yaml.Node, s *shape) (routeSpec, bool) {
	r := routeSpec{pos: posOf(n)}
	if n.Kind != yaml.MappingNode {
		d.errorf(posOf(n), "routes: want a mapping like {dst: 10.1.0.0/16, via: 10.0.0.1}, got %s", describe(n))
		return r, false
	}
	ok := true
	hasDst := false
	for _, e := range d.object(n, s, "a route") {
		switch e.key {
		case "dst":
			hasDst = true
			v, good := d.scalar(e.v, "dst", "a subnet or default")
			if !good {
				ok = false
				continue
			}
			r.dstPos = e.vpos()
			if v == "default" {
				r.dst = netip.PrefixFrom(netip.IPv4Unspecified(), 0)
				continue
			}
			p, err := parseSubnet(v)
			if err != nil {
				d.errorf(e.vpos(), "dst: %v (or default)", err)
				ok = false
				continue
			}
			r.dst = p
		case "via":
			v, good := d.scalar(e.v, "via", "an IPv4 address")
			if !good {
				ok = false
				continue
			}
			a, err := netip.ParseAddr(v)
			if err != nil || !a.Is4() {
				d.errorf(e.vpos(), "via: bad address %q (allowed: an IPv4 address, e.g. 10.0.0.1)", v)
				ok = false
				continue
			}
			r.via, r.viaPos = a, e.vpos()
		case "dev":
			o := d.str(e)
			if !o.ok {
				ok = false
				continue
			}
			name, err := linuxIfName(o.v)
			if err != nil {
				d.errorf(o.pos, "dev: %v", err)
				ok = false
				continue
			}
			r.dev, r.devPos = name, o.pos
			if name != o.v {
				r.devWritten = o.v
			}
		default:
			d.unhandled(e)
		}
	}
	if !hasDst {
		d.errorf(r.pos, "a route needs dst (a subnet or default)")
		return r, false
	}
	if ok && !r.via.IsValid() && r.dev == "" {
		d.errorf(r.pos, "a route needs via (a next hop) or dev (an interface), or both")
		return r, false
	}
	return r, ok
}

// decodeCapture reads a capture: true (on, every default), false (off) or a
// mapping of the fields s accepts (interfaces on nodes; file-size, files).
func (d *decoder) decodeCapture(ce entry, s *shape) opt[*captureSpec] {
	c := &captureSpec{pos: ce.kpos(), on: true}
	switch {
	case ce.v.Kind == yaml.ScalarNode && ce.v.ShortTag() == "!!bool":
		c.on = strings.EqualFold(ce.v.Value, "true")
		return some(c, ce.vpos())
	case ce.v.Kind != yaml.MappingNode:
		example := "{file-size: 16MiB, files: 4}"
		if s.field("interfaces") != nil {
			example = "{interfaces: [eth1], file-size: 16MiB, files: 4}"
		}
		d.errorf(ce.vpos(), "capture: want true, false or a mapping like %s, got %s", example, describe(ce.v))
		return some(&captureSpec{pos: ce.kpos(), bad: true}, ce.vpos())
	}
	ok := true
	for _, e := range d.object(ce.v, s, "capture") {
		switch e.key {
		case "interfaces":
			first := map[string]Pos{}
			items := d.list(e)
			if !isNull(e.v) && e.v.Kind != yaml.SequenceNode {
				ok = false // reported by list
			}
			if e.v.Kind == yaml.SequenceNode && len(items) == 0 {
				d.errorf(e.vpos(), "capture: interfaces is empty (leave it out to capture every interface of the node, or write capture: false)")
				ok = false
			}
			for _, item := range items {
				w, good := d.scalar(item, "capture.interfaces", "an interface name")
				if !good {
					ok = false
					continue
				}
				name, err := linuxIfName(w)
				if err != nil {
					d.errorf(posOf(item), "capture.interfaces: %v", err)
					ok = false
					continue
				}
				ref := ifaceRef{name: name, pos: posOf(item)}
				if w != name {
					ref.written = w
				}
				if p, dup := first[name]; dup {
					d.errorf(posOf(item), "capture.interfaces: %s is listed twice (first at %s)", ifQuote(name, ref.written), p)
					continue
				}
				first[name] = posOf(item)
				c.ifaces = append(c.ifaces, ref)
			}
		case "file-size":
			o := parsed(d, e, "a size", units.ParseSize)
			if o.ok && o.v < minCaptureFileSize {
				d.errorf(o.pos, "capture: file-size %d is too small (allowed: at least 64KiB, e.g. 16MiB)", o.v)
				o.ok = false
			}
			ok = ok && o.ok
			c.fileSize = o
		case "files":
			o := d.intIn(e, 1, maxCaptureFiles)
			ok = ok && o.ok
			c.files = o
		default:
			d.unhandled(e)
		}
	}
	// A capture in error still stops inheritance, so that the node's kind
	// or the defaults do not report problems of their own for it.
	c.bad = !ok
	return some(c, ce.vpos())
}

func (d *decoder) decodeTCP(te entry, s *shape, t *tcpSpec) {
	size := func(e entry, lo, hi int64) opt[int] {
		o := parsed(d, e, "a size", units.ParseSize)
		if o.ok && (o.v < lo || o.v > hi) {
			d.errorf(o.pos, "%s %d is out of range (allowed: %d to %d bytes)", e.key, o.v, lo, hi)
			return opt[int]{}
		}
		return opt[int]{ok: o.ok, v: int(o.v), pos: o.pos}
	}
	positive := func(e entry) opt[time.Duration] {
		o := parsed(d, e, "a duration", units.ParseDuration)
		if o.ok && o.v == 0 {
			d.errorf(o.pos, "%s: must be more than 0", e.key)
			return opt[time.Duration]{}
		}
		return o
	}
	for _, e := range d.object(te.v, s, "tcp") {
		switch e.key {
		case "mss":
			t.mss = size(e, minMSS, 65535-40)
		case "sndbuf":
			t.sndbuf = size(e, 1, maxBuf)
		case "rcvbuf":
			t.rcvbuf = size(e, 1, maxBuf)
		case "cc":
			t.cc = parsed(d, e, "reno or cubic", func(v string) (string, error) {
				if v == CCReno || v == CCCubic {
					return v, nil
				}
				if sug := suggest.Closest(v, []string{CCReno, CCCubic}); sug != "" {
					return "", fmt.Errorf("unknown congestion control %q; did you mean %q? (allowed: reno, cubic)", v, sug)
				}
				return "", fmt.Errorf("unknown congestion control %q (allowed: reno, cubic)", v)
			})
		case "nagle":
			t.nagle = d.boolean(e)
		case "sack":
			t.sack = d.boolean(e)
		case "timestamps":
			t.timestamps = d.boolean(e)
		case "window-scaling":
			t.winScaling = d.boolean(e)
		case "batch-acks":
			t.batchACKs = d.boolean(e)
		case "delayed-ack":
			if e.v.Kind == yaml.ScalarNode && e.v.ShortTag() == "!!bool" {
				var v *time.Duration
				if !strings.EqualFold(e.v.Value, "true") {
					v = new(time.Duration)
				}
				t.delayedACK = some(v, e.vpos())
				continue
			}
			o := parsed(d, e, "a duration or false", func(v string) (time.Duration, error) {
				dur, err := units.ParseDuration(v)
				if err != nil {
					return 0, fmt.Errorf("bad value %q (allowed: a duration like 40ms, false to ACK every segment at once, or true for the stack's default)", v)
				}
				return dur, nil
			})
			if o.ok {
				t.delayedACK = some(&o.v, o.pos)
			}
		case "time-wait":
			t.timeWait = parsed(d, e, "a duration", units.ParseDuration)
		case "rto-initial":
			t.rtoInitial = positive(e)
		case "rto-min":
			t.rtoMin = positive(e)
		default:
			d.unhandled(e)
		}
	}
}

func (d *decoder) decodeLink(n *yaml.Node, s *shape) *linkSpec {
	l := &linkSpec{pos: posOf(n)}
	if n.Kind != yaml.MappingNode {
		d.errorf(posOf(n), `links: want a mapping like {endpoints: ["h1:eth1", "h2:eth1"]}, got %s`, describe(n))
		return l
	}
	hasEndpoints := false
	before := len(d.errs)
	for i := 0; i+1 < len(n.Content); i += 2 {
		// containerlab's other link types carry other keys (endpoint,
		// host-interface, remote, vni): say why the type is refused,
		// not that those keys are unknown.
		k, v := n.Content[i], n.Content[i+1]
		if k.Value != "type" || v.Kind != yaml.ScalarNode {
			continue
		}
		if why, ok := refusedLinkTypes[v.Value]; ok {
			d.errorf(posOf(v), "type: %s links: %s", v.Value, why)
			l.bad = true
			return l
		}
	}
	for _, e := range d.object(n, s, "a link") {
		switch e.key {
		case "name":
			l.name = d.str(e)
			if l.name.ok {
				if err := checkName("link name", l.name.v); err != nil {
					d.errorf(l.name.pos, "%v", err)
					l.name = opt[string]{}
				}
			}
		case "type":
			if t := d.str(e); t.ok && t.v != "veth" {
				d.errorf(t.pos, "type %q: netlab links are veth pairs (allowed: veth); a LAN is a link with more than two endpoints, or links to a kind: bridge node", t.v)
			}
		case "mtu":
			l.mtu = d.intIn(e, minMTU, maxMTU)
		case "endpoints":
			hasEndpoints = true
			l.epsPos = e.vpos()
			before := len(d.errs)
			for _, item := range d.list(e) {
				if ep := d.decodeEndpoint(item, s.field("endpoints").each); ep != nil {
					l.eps = append(l.eps, ep)
				}
			}
			l.bad = len(d.errs) > before
		case "netem":
			l.netem = d.decodeNetem(e, s.field("netem").obj)
		case keyCapture:
			if c := d.decodeCapture(e, s.field(keyCapture).obj); c.v.on && !c.v.bad {
				l.capture = c.v
			}
		default:
			d.unhandled(e)
		}
	}
	if !hasEndpoints && len(d.errs) == before {
		d.errorf(l.pos, `a link needs endpoints, e.g. endpoints: ["h1:eth1", "h2:eth1"]`)
	}
	return l
}

func (d *decoder) decodeEndpoint(n *yaml.Node, s *shape) *endpointSpec {
	ep := &endpointSpec{pos: posOf(n)}
	switch n.Kind {
	case yaml.ScalarNode:
		if isNull(n) {
			break
		}
		node, iface, ok := strings.Cut(n.Value, ":")
		if !ok || node == "" || iface == "" || strings.Contains(iface, ":") {
			d.errorf(ep.pos, `malformed endpoint %q (allowed: "node:interface", e.g. "h1:eth1")`, n.Value)
			return nil
		}
		ep.node, ep.nodePos = node, ep.pos
		name, err := linuxIfName(iface)
		_, clab := refusedLinkTypes[node]
		switch {
		case clab && err != nil:
			ep.ifaceErr = fmt.Errorf("endpoint %q: %v", n.Value, err)
		case err != nil:
			d.errorf(ep.pos, "endpoint %q: %v", n.Value, err)
			return nil
		}
		ep.iface, ep.ifacePos = name, ep.pos
		if name != iface {
			ep.written = iface
		}
		if clab {
			// containerlab's host:, mgmt-net:, macvlan:... unless the
			// lab has a node of that name: the resolver knows, and notes
			// the endpoint.
			ep.clab = n.Value
			return ep
		}
		d.noteBriefEndpoint(ep)
		return ep
	case yaml.MappingNode:
		ok := true
		for _, e := range d.object(n, s, "an endpoint") {
			switch e.key {
			case "node":
				o := d.str(e)
				ok = ok && o.ok
				ep.node, ep.nodePos = o.v, o.pos
			case "interface":
				o := d.str(e)
				if o.ok {
					name, err := linuxIfName(o.v)
					if err != nil {
						d.errorf(o.pos, "interface: %v", err)
						o.ok = false
					} else if name != o.v {
						d.noteIfName(o.v, name, o.pos)
						ep.written, o.v = o.v, name
					}
				}
				ok = ok && o.ok
				ep.iface, ep.ifacePos = o.v, o.pos
			case "ipv4":
				ep.ipv4 = parsed(d, e, "an address", parseIfAddr)
			case "mac":
				ep.mac = parsed(d, e, "a MAC address", parseMAC)
			default:
				d.unhandled(e)
			}
		}
		if ep.node == "" && ok {
			d.errorf(ep.pos, "an endpoint needs node (and interface)")
			return nil
		}
		if ep.iface == "" && ok {
			d.errorf(ep.pos, "an endpoint needs interface (and node)")
			return nil
		}
		if !ok {
			return nil
		}
		d.compat.add(CompatAsIs, "link endpoints, extended ({node, interface})", ep.pos, "")
		return ep
	}
	d.errorf(ep.pos, `endpoints: want "node:interface" or {node: ..., interface: ...}, got %s`, describe(n))
	return nil
}

func (d *decoder) decodeNetem(ne entry, s *shape) *netemSpec {
	ns := &netemSpec{pos: ne.kpos()}
	all := d.object(ne.v, s, "netem")
	var dirs, plain []entry
	for _, e := range all {
		if e.key == keyAtoB || e.key == keyBtoA {
			dirs = append(dirs, e)
		} else {
			plain = append(plain, e)
		}
	}
	if len(dirs) == 0 {
		ns.both = d.impairment(plain, "netem")
		return ns
	}
	if len(plain) > 0 {
		d.errorf(plain[0].kpos(), "netem: %s: either give the fields for both directions, or a-to-b and b-to-a, not both", plain[0].key)
	}
	ns.dirPos = dirs[0].kpos()
	for _, e := range dirs {
		sub := d.object(e.v, s.field(e.key).obj, "netem."+e.key)
		imp := d.impairment(sub, "netem."+e.key)
		if e.key == keyAtoB {
			ns.atob = imp
		} else {
			ns.btoa = imp
		}
	}
	return ns
}

// impairment reads one direction's netem block, whose entries es have
// keys the block accepts, with impair's grammar; each problem is reported
// where it is. ctx names the block in messages ("netem", "netem.a-to-b").
func (d *decoder) impairment(es []entry, ctx string) *impSpec {
	is := &impSpec{}
	v := impair.Value{Kind: impair.KindMap}
	for _, e := range es {
		v.Fields = append(v.Fields, impair.Field{Key: e.key, KeyPos: impairPos(e.kpos()), Value: d.value(e.v)})
		is.seedSet = is.seedSet || e.key == "seed"
	}
	cfg, err := impair.Parse(v, impair.ParseOptions{Name: ctx, LoadTable: d.loadTable})
	is.imp = cfg
	var el impair.ErrorList
	if errors.As(err, &el) {
		for _, e := range el {
			d.errorf(Pos{Line: e.Pos.Line, Col: e.Pos.Col}, "%s", e.Msg)
		}
	}
	return is
}

func impairPos(p Pos) impair.Pos { return impair.Pos{Line: p.Line, Col: p.Col} }

// value turns a YAML node into impair's value tree, aliases followed and
// merge keys expanded; duplicate keys are reported here.
func (d *decoder) value(n *yaml.Node) impair.Value {
	n = deref(n)
	v := impair.Value{Pos: impairPos(posOf(n))}
	switch {
	case isNull(n):
		v.Kind = impair.KindNull
	case n.Kind == yaml.MappingNode:
		v.Kind = impair.KindMap
		for _, e := range d.entries(n, "key") {
			v.Fields = append(v.Fields, impair.Field{Key: e.key, KeyPos: impairPos(e.kpos()), Value: d.value(e.v)})
		}
	case n.Kind == yaml.SequenceNode:
		v.Kind = impair.KindList
		for _, c := range n.Content {
			v.Items = append(v.Items, d.value(c))
		}
	default:
		v.Kind, v.Text = impair.KindScalar, n.Value
		switch n.ShortTag() {
		case "!!int":
			v.Tag = impair.TagInt
		case "!!float":
			v.Tag = impair.TagFloat
		case "!!bool":
			v.Tag = impair.TagBool
		}
	}
	return v
}

// tcLibDir is where iproute2 keeps its distribution tables.
const tcLibDir = "/usr/lib/tc"

// maxTableBytes bounds the .dist file read for one table.
const maxTableBytes = 4 << 20

// loadTable reads a jitter distribution the file names: the path of a
// .dist file (relative to the file's directory, and kept absolute in the
// plan), or the name of an iproute2 table, read from tcLibDir.
func (d *decoder) loadTable(name string) (impair.DistTable, string, error) {
	path := filepath.Join(tcLibDir, name+".dist")
	if strings.HasSuffix(name, ".dist") {
		path = name
		if !filepath.IsAbs(path) && d.dir != "" {
			path = filepath.Join(d.dir, path)
		}
		name = path
	}
	b, err := d.files.readFile(path)
	if err != nil {
		return nil, "", err
	}
	t, err := impair.ParseDistTable(io.LimitReader(bytes.NewReader(b), maxTableBytes))
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", path, err)
	}
	return t, name, nil
}

// refusedLinkTypes are containerlab's link types netlab does not make,
// with the reason: each would connect the lab to the host or its network.
// In the brief form ("host:eth1") a name is one only when no node of the
// lab has it.
var refusedLinkTypes = map[string]string{
	"host":         "netlab does not do them: they put a lab interface in the host's namespace, and a lab never touches the host's network",
	"mgmt-net":     "netlab does not do them: they put a node's interface on a management bridge of the host; a lab's mgmt: network (docker) already gives every node eth0 on an internal bridge, and lab links join nodes to each other",
	"macvlan":      "netlab does not do them: they attach a node to a host interface, and a lab never touches the host's network",
	"vxlan":        "netlab does not do them: they tunnel to another machine over the host's network; labs larger than one machine run on Kubernetes",
	"vxlan-stitch": "netlab does not do them: they tunnel to another machine over the host's network; labs larger than one machine run on Kubernetes",
	"dummy":        "netlab does not do them: an interface with no peer; give the node a link, or add a dummy interface with exec: on a Linux node",
}

// words reads a command: a string split into words as a shell would
// (containerlab's form), or a list of words (Docker's).
func (d *decoder) words(e entry) opt[[]string] {
	if e.v.Kind == yaml.SequenceNode {
		var ws []string
		for _, c := range d.list(e) {
			if w, ok := d.scalar(c, e.key, "a word"); ok {
				ws = append(ws, w)
			}
		}
		return some(ws, e.vpos())
	}
	s, ok := d.scalar(e.v, e.key, "a command line or a list of words")
	if !ok {
		return opt[[]string]{}
	}
	ws, err := splitWords(s)
	if err != nil {
		d.errorf(e.vpos(), "%s: %v", e.key, err)
		return opt[[]string]{}
	}
	if len(ws) == 0 {
		d.errorf(e.vpos(), "%s: empty command (leave the key out to keep the image's)", e.key)
		return opt[[]string]{}
	}
	return some(ws, e.vpos())
}

// path makes a path of the file absolute: relative ones are relative to
// the topology file's directory.
func (d *decoder) path(p string) string {
	if !filepath.IsAbs(p) && d.dir != "" {
		p = filepath.Join(d.dir, p)
	}
	if abs, err := filepath.Abs(p); err == nil {
		p = abs
	}
	return p
}

// binds reads bind mounts "host-path:container-path[:ro|rw]", as
// containerlab writes them; relative host paths are relative to the
// topology file.
func (d *decoder) binds(e entry) opt[[]string] {
	var out []string
	for _, c := range d.list(e) {
		b, ok := d.scalar(c, "binds", `"host-path:container-path[:ro|rw]"`)
		if !ok {
			continue
		}
		parts := strings.Split(b, ":")
		if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || !strings.HasPrefix(parts[1], "/") ||
			len(parts) == 3 && parts[2] != "ro" && parts[2] != "rw" {
			d.errorf(posOf(c), `binds: %q: want "host-path:/container/path", optionally ":ro" or ":rw"`, b)
			continue
		}
		written := parts[0]
		parts[0] = d.path(parts[0])
		if _, err := d.files.stat(parts[0]); err != nil {
			d.errorf(posOf(c), "binds: %q: %s: %v (a relative host path is relative to the topology file's folder)", b, written, pathErr(err))
			continue
		}
		out = append(out, strings.Join(parts, ":"))
	}
	return some(out, e.vpos())
}

// envFiles reads the environment files a node names: KEY=VALUE lines,
// blank lines and # comments, as Docker's --env-file reads them.
func (d *decoder) envFiles(e entry) []kvSpec {
	var out []kvSpec
	for _, c := range d.list(e) {
		name, ok := d.scalar(c, "env-files", "a file name")
		if !ok {
			continue
		}
		path := d.path(name)
		b, err := d.files.readFile(path)
		if err != nil {
			d.errorf(posOf(c), "env-files: %s: %v (a relative path is relative to the topology file's folder)", name, pathErr(err))
			continue
		}
		for i, line := range strings.Split(string(b), "\n") {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				d.errorf(posOf(c), "env-files: %s:%d: want KEY=VALUE, got %q", name, i+1, line)
				continue
			}
			if err := checkEnvKey(k); err != nil {
				d.errorf(posOf(c), "env-files: %s:%d: %v", name, i+1, err)
				continue
			}
			out = append(out, kvSpec{key: k, value: v, pos: posOf(c)})
		}
	}
	return out
}

// pathErr is what went wrong with a path, without the path (the message
// names it as the user wrote it).
func pathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// noteNodeKey notes how a node key was taken (see Compat).
func (d *decoder) noteNodeKey(e entry) {
	if d.compat == nil {
		return
	}
	switch e.key {
	case "kind":
		return // noted with the node's kind
	case "exec":
		d.compat.add(CompatMapped, "node key exec", e.kpos(), "run with sh -c once the lab is up: inside the container on docker; on netns with this machine's programs, as user nobody, in the node's namespace")
	case "stack", "forwarding", "seed", "routes", "tcp", keyCapture:
		d.compat.add(CompatAsIs, "node key "+e.key, e.kpos(), "netlab's own key")
	default:
		d.compat.add(CompatAsIs, "node key "+e.key, e.kpos(), "")
	}
}

// noteBriefEndpoint notes how an endpoint of the brief form was taken.
func (d *decoder) noteBriefEndpoint(ep *endpointSpec) {
	if ep.written != "" {
		d.noteIfName(ep.written, ep.iface, ep.pos)
	}
	d.compat.add(CompatAsIs, "link endpoints, brief (\"node:interface\")", ep.pos, "")
}

// noteIfName notes an interface name netlab mapped to a Linux one.
func (d *decoder) noteIfName(written, name string, p Pos) {
	d.compat.add(CompatMapped, "interface "+written, p, "named "+name+" in Linux (ethernet- → e, / → -)")
}

// mgmtSpec is the file's mgmt: block.
type mgmtSpec struct {
	pos     Pos
	network opt[string]
	subnet  opt[netip.Prefix]
}

func (d *decoder) decodeMgmt(me entry, s *shape) *mgmtSpec {
	m := &mgmtSpec{pos: me.kpos()}
	if isNull(me.v) {
		return m
	}
	for _, e := range d.object(me.v, s, "mgmt") {
		switch e.key {
		case "network":
			m.network = d.str(e)
			if m.network.ok {
				if err := checkName("network name", m.network.v); err != nil {
					d.errorf(m.network.pos, "network: %v", err)
				}
			}
		case "ipv4-subnet":
			m.subnet = parsed(d, e, "an IPv4 prefix", func(v string) (netip.Prefix, error) {
				p, err := netip.ParsePrefix(v)
				if err != nil || !p.Addr().Is4() || p.Bits() > 29 || p.Masked() != p {
					return netip.Prefix{}, fmt.Errorf("bad subnet %q (allowed: an IPv4 prefix of /29 or shorter, e.g. 172.20.20.0/24)", v)
				}
				return p, nil
			})
		default:
			d.unhandled(e)
		}
	}
	return m
}
