// Package topology reads a netlab topology file and resolves it into a
// validated plan (Lab) that the runtime deploys: nodes with their
// interfaces, addresses, MACs, routes and impairments, point-to-point links
// and LAN segments. It is pure: no I/O but reading the file in Load, no
// network, no Docker, and the same file always gives the same plan.
//
// # The file
//
// The shape is containerlab's:
//
//	name: lab1
//	prefix: netlab            # optional
//	topology:
//	  auto-routes: true       # optional, default false
//	  ipv4-pool: 10.0.0.0/16  # optional, the default
//	  p2p-prefix: 31          # optional, 31 (default) or 30
//	  lan-prefix: 24          # optional, the default
//	  defaults: {...node fields...}
//	  kinds: {name: {...node fields...}}
//	  nodes: {name: {...node fields...}}
//	  links:
//	    - endpoints: ["h1:eth1", "r1:eth1"]
//	    - endpoints: [{node: h2, interface: eth1, ipv4: 10.1.0.2/24, mac: 02:00:00:00:00:02}, "r1:eth2"]
//	      mtu: 9000
//	      netem: {delay: 20ms, jitter: 5ms, loss: 2%, rate: 10mbit}
//
// The JSON Schema in schema/netlab.schema.json describes every key; a test
// keeps it and the parser in step. `mgmt:` asks for a management network
// (docker): every node's eth0 on an internal bridge, apart from the lab's
// addresses; with its ipv4-subnet, netlab picks the addresses mgmt-ipv4
// does not fix, at plan time. `network-mode: none` keeps a node off it.
//
// # Inheritance
//
// Every node field is looked up on the node, then on its kind's `kinds:`
// entry, then in `defaults:`. Scalars and lists (exec, routes) take the
// first value found; maps (env, labels, sysctls) merge key by key, the node
// winning; each `tcp:` option inherits on its own; `capture:` inherits as a
// whole (the node's, else its kind's, else the defaults'). A `kinds:` entry is based
// on a builtin kind named by its own `kind:` (host when absent); an entry
// named host, router or bridge customizes that builtin. Builtin kinds: host;
// router (forwarding on); bridge (a LAN segment made as a Linux bridge,
// which takes only kind and labels and becomes a Segment, not a Node).
//
// # Links and segments
//
// A link with two endpoints on nodes is a Link (one veth pair). A link with
// more than two endpoints is a Segment named by its `name:` or lanN. A link
// between a node and a bridge node makes the node's interface a member of
// the bridge's Segment; the bridge-side interface name becomes
// Interface.Port. Interfaces are used once each; names are Linux names (at
// most 15 letters, digits, '_', '.', '-').
//
// # Values
//
//   - Durations are Go durations with a unit ("50ms", "1.5s"); only 0 may be
//     written without one.
//   - Percentages are written "2%" or as a plain number meaning percent, as in
//     netem ("2" is 2%, "0.5" is 0.5%); the plan holds fractions (0.02).
//   - Rates take tc's units: bit, kbit, mbit, gbit, tbit, kibit..., and bps,
//     kbps, mbps... which are bytes per second as in tc; a unit is required
//     (except for 0). The plan holds bits per second.
//   - Sizes are integers (bytes) or take a unit: B, KB, MB, GB (powers of
//     1000), KiB, MiB, GiB (powers of 1024).
//
// # netem
//
// A link's `netem:` block holds the impairment of both directions, or
// `a-to-b` and/or `b-to-a` (A is the first endpoint). What a block for one
// direction says is impair's grammar (impair.Parse: its keys, defaults and
// checks; the plan holds the impair.Config it gives), read here from the
// YAML with positions. Fields: delay, jitter (each at most an hour),
// correlation (of delays), distribution (uniform by default, normal,
// pareto, paretonormal, an iproute2 table name, read from
// /usr/lib/tc/NAME.dist, or a .dist path relative to the file; a table is
// read when the file is loaded), loss (random) or loss-model ({model:
// state, p13...} or {model: gemodel, p, r, 1-h, 1-k}, with iproute2's
// defaults), duplicate, corrupt, reorder and gap, rate and rate-overhead,
// limit (frames; 1000 by default) and limit-bytes, ecn, codel, seed.
// Combinations netem refuses are refused too (jitter without delay,
// reorder without delay, gap without reorder, ecn without loss,
// distribution without jitter, 4-state transitions out of one state that
// add up to more than 100%).
//
// Beyond netem, in the same blocks: order (netem, the default, lets jitter
// reorder frames as netem's tfifo does; keep never does), and deterministic
// schedules for exercises, counted from when the impairment is applied:
// drop-every N (frames N, 2N, 3N...), drop-packets [k1, k2...] (1 is the
// first frame), drop-match ["syn first", "fin", "seq=1101 data",
// "pure-ack"...] (impair.ParseMatch's syntax) and outage {every: 10s, for:
// 2s, offset: 0s} (down for `for` out of every `every`; for < every, each at
// most an hour). On a LAN link the fields
// apply to what each member sends. Each impairment lands on exactly one
// interface (Interface.Egress, or Interface.Ingress for the bridge-to-member
// direction of a bridge link), so every agent knows what to apply. A Go
// stack applies the impairments of its interfaces and, towards a `stack:
// linux` peer, the peer's egress too. Where no Go stack is on the frame path
// (both ends of a link on the Linux stack, a Linux LAN or bridge member), a
// `netem:` block, even an empty one, marks the interface Relay: its frames
// pass a relay that the agent runs (Lab.Relays).
//
// Seeds: a seed written in a per-direction block is used as is; one written
// for both directions seeds a-to-b (or the first member) as is and b-to-a
// (or the k-th member) plus 1 (plus k). Without one, the seed is derived
// (FNV-1a) from the sending node's seed, the link's name and the direction;
// a node's seed is its `seed:` or derived from the lab and node names. The
// same file therefore always impairs the same way; change a seed to vary.
//
// # Capture
//
// A node's `capture:` records its interfaces continuously into a ring of
// files in the lab directory: `true` (every interface, files of 16MiB, 4 of
// them), `false` (off) or {interfaces: [eth1, eth2], file-size: 10MiB,
// files: 4}, each field optional (interfaces must end links of the node;
// file-size is a size of at least 64KiB; files is 1 to 100). A link's
// `capture:` (true, false or {file-size, files}) adds the link's interfaces
// on its nodes, every member's on a LAN, even on a node whose own capture
// is false. A node keeps its own file-size and files when its capture is
// on; otherwise it takes those of the first of its links that capture (a
// later link asking for others gets a warning). The plan holds the result
// as Node.Capture, nil for none.
//
// # Addresses and MACs
//
// Subnets are planned in file order: links and bridge nodes where they are
// declared. A link or segment with an address written on any endpoint uses
// that address's subnet (all written addresses on it must agree), and its
// other members get the lowest free host addresses of it. The others take
// the lowest free aligned subnet of ipv4-pool: a /31 (or /30) per
// point-to-point link, a /24 (or lan-prefix, made shorter when the members
// do not fit) per segment, skipping every subnet written in the file. /31
// subnets use both addresses (RFC 3021); longer ones skip the network and
// broadcast addresses. Planning is stable across redeploys of the same
// file; adding a link at the end of the file moves no other address.
// Written addresses must not repeat, overlap another link's subnet, or be a
// network or broadcast address. MACs not written are 02 followed by five
// bytes of SHA-256(lab, node, interface).
//
// # Routes
//
// `routes:` entries are {dst: CIDR|default, via: IP, dev: iface}: via must
// lie on one of the node's subnets (dev's when both are given), dev alone
// makes an on-link route. With `auto-routes: true` every node also reaches
// each subnet it can reach through forwarding nodes: shortest by hop count,
// ties broken by the next hop's node name, then the outgoing interface. A
// node that does not forward and has a single forwarding neighbor gets one
// default route to it instead. A destination written in the file wins over
// a computed one.
//
// Computed routes are aggregated: subnets next to each other in address
// order that have the same next hop share the fewest prefixes that cover
// them (a router in a line of 3000 needs about 20 routes, not 3000). The
// rule aggregation keeps: every node forwards every IPv4 address exactly as
// a route per reachable subnet would, to the same next hop, and has no
// route where that would have none. So routers get no default route, and
// an address on no subnet of the lab or on a subnet the node cannot reach
// stays unreachable (it fails at once, it does not loop). An aggregate may
// spread over the node's own subnets (their connected routes are more
// specific) and over subnets the file routes itself, but never over address
// space on no subnet, an unreachable subnet, or a route written in the file
// that is not inside one subnet (that route would take addresses from the
// aggregate); it never has the prefix of a connected subnet or of a route
// in the file. How much it saves depends on the addresses: subnets
// numbered along the paths (a line, a tree, links in the pool's file
// order) aggregate well; next hops that alternate in address order do not
// (a leaf-spine fabric whose links are listed leaf by leaf gives every
// leaf a route per link of the other leaves; listed spine by spine, a few
// routes per spine). Planning is a breadth-first search from every node,
// O(N·(N+E)) time, with memory O(N+E) besides the routes.
//
// # The plan as JSON
//
// json.Marshal of a Lab is the resolved plan as deploy writes it once per
// deploy (links, peers and segment members by name); DecodePlan reads it
// back with every reference restored. Agents and the CLI serve and read
// that, never the YAML again: paths in the file were made absolute, and
// defaults applied, when it was resolved.
//
// # Errors
//
// Load and Parse report every problem they find, not just the first, as an
// ErrorList sorted by position; each Error reads "file:line:col: message"
// and says what is allowed ("did you mean" for near-miss keys, kinds and
// node names). Problems that do not stop a deploy are Lab.Warnings.
package topology
