package topology

import (
	"slices"

	"github.com/netlab/netlab/impair"
)

// shape is the set of keys the parser accepts in one mapping of the file.
// The decoder checks every mapping against its shape (unknown keys, "did you
// mean"), and a test walks fileShape and the JSON Schema side by side so the
// two cannot drift.
type shape struct {
	fields   []field
	rejected []rejectedKey
}

// field is one accepted key. obj is the shape of its value when the value is
// a mapping with fixed keys; each is the shape of every entry when the value
// is a map with free keys (nodes) or a list (links). Neither means a scalar,
// a list of scalars or a free-form map of scalars.
type field struct {
	key  string
	obj  *shape
	each *shape
}

// rejectedKey is a key netlab knows and refuses, with the reason.
type rejectedKey struct {
	key string
	msg string
}

func (s *shape) field(key string) *field {
	for i := range s.fields {
		if s.fields[i].key == key {
			return &s.fields[i]
		}
	}
	return nil
}

func (s *shape) rejection(key string) (string, bool) {
	for _, r := range s.rejected {
		if r.key == key {
			return r.msg, true
		}
	}
	return "", false
}

// keys returns the accepted keys, sorted.
func (s *shape) keys() []string {
	ks := make([]string, len(s.fields))
	for i, f := range s.fields {
		ks[i] = f.key
	}
	slices.Sort(ks)
	return ks
}

func fields(keys ...string) []field {
	fs := make([]field, len(keys))
	for i, k := range keys {
		fs[i] = field{key: k}
	}
	return fs
}

// Key names shared by the decoder and the shapes.
const (
	keyMgmt = "mgmt"
	keyIPv6 = "ipv6"
	keyAtoB = "a-to-b"
	keyBtoA = "b-to-a"
	// keyCapture is a node's or link's capture: true, false or a mapping.
	keyCapture = "capture"
)

// fileShape is the whole file.
func fileShape() *shape {
	node := nodeShape()
	topo := &shape{fields: append([]field{
		{key: "defaults", obj: node},
		{key: "kinds", each: node},
		{key: "nodes", each: node},
		{key: "links", each: linkShape()},
	}, fields("auto-routes", "ipv4-pool", "p2p-prefix", "lan-prefix")...)}
	mgmt := &shape{fields: fields("network", "ipv4-subnet"), rejected: []rejectedKey{
		{"ipv6-subnet", "not supported: netlab's labs are IPv4-only for now"},
		{"ipv4-gw", "the management network has no gateway: it leads nowhere but to this machine"},
		{"ipv6-gw", "the management network has no gateway: it leads nowhere but to this machine"},
		{"bridge", "netlab names the management network's bridge (Docker does, from network:)"},
		{"external-access", "never: the management network is internal, with no route or NAT to the host's interfaces"},
		{"mtu", "not supported on the management network"},
	}}
	return &shape{
		fields: append(fields("name", "prefix"), field{key: "topology", obj: topo}, field{key: keyMgmt, obj: mgmt}),
	}
}

// nodeShape is a node, a kind or the defaults.
func nodeShape() *shape {
	tcp := &shape{fields: fields("mss", "sndbuf", "rcvbuf", "cc", "nagle", "delayed-ack",
		"time-wait", "rto-initial", "rto-min", "sack", "timestamps", "window-scaling", "batch-acks")}
	route := &shape{fields: fields("dst", "via", "dev")}
	return &shape{fields: append(fields("kind", "stack", "image", "entrypoint", "cmd", "user", "binds", "mgmt-ipv4",
		"env-files", "memory", "cpu", "cap-add", "network-mode", "exec", "env", "labels",
		"sysctls", "forwarding", "seed"),
		field{key: "routes", each: route},
		field{key: "tcp", obj: tcp},
		field{key: keyCapture, obj: &shape{fields: fields("interfaces", "file-size", "files")}},
	), rejected: nodeRejected()}
}

// nodeRejected are containerlab's node keys that netlab does not take, each
// with the reason and what to do instead.
func nodeRejected() []rejectedKey {
	noMgmt := "netlab does not do it: its management network (mgmt:) is internal, and a lab never touches the host's network; reach a node with `netlab exec`"
	vendor := "configures a vendor network operating system, which netlab does not run; on a Linux node, put the file in place with binds:"
	return []rejectedKey{
		{"ports", "no port of this machine leads into a lab: the management network (mgmt:) is internal; reach a node at its management address, or with `netlab exec`"},
		{"mgmt-ipv6", "not supported: netlab's labs are IPv4-only for now"},
		{"publish", noMgmt},
		{"startup-config", vendor},
		{"startup-delay", "netlab starts the nodes together; order work after deploy with exec:"},
		{"enforce-startup-config", vendor},
		{"suppress-startup-config", vendor},
		{"license", vendor},
		{"type", "selects a vendor platform's model, which netlab does not run"},
		{"runtime", "a lab runs on one runtime, chosen with `netlab deploy --runtime`"},
		{"cpu-set", "not supported: limit a node with cpu: (a number of CPUs)"},
		{"wait-for", "netlab starts the nodes together; order work after deploy with exec:"},
		{"stages", "netlab starts the nodes together; order work after deploy with exec:"},
		{"network-aliases", noMgmt},
		{"dns", noMgmt},
		{"extras", "containerlab's per-kind extras are for vendor platforms, which netlab does not run"},
	}
}

func linkShape() *shape {
	endpoint := &shape{
		fields:   fields("node", "interface", "ipv4", "mac"),
		rejected: []rejectedKey{{keyIPv6, "not supported: netlab's stack is IPv4-only for now"}},
	}
	return &shape{fields: append(fields("name", "type", "mtu"),
		field{key: "endpoints", each: endpoint},
		field{key: "netem", obj: netemShape()},
		field{key: keyCapture, obj: &shape{fields: fields("file-size", "files")}},
	)}
}

// impairShape is the impairment of one direction: the keys of impair's
// netem grammar.
func impairShape() *shape {
	s := &shape{}
	for _, k := range impair.Keys() {
		f := field{key: k.Name}
		if k.Keys != nil {
			f.obj = &shape{fields: fields(k.Keys...)}
		}
		s.fields = append(s.fields, f)
	}
	return s
}

// netemShape is a link's netem block: one impairment for both directions, or
// a-to-b and b-to-a.
func netemShape() *shape {
	s := impairShape()
	s.fields = append(s.fields, field{key: keyAtoB, obj: impairShape()}, field{key: keyBtoA, obj: impairShape()})
	return s
}
