package main

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/netlab/netlab/topogen"
)

const genLong = `gen writes a topology file of a usual shape for load experiments: an
ordinary file to read, edit, validate and deploy by hand.

  netlab gen dumbbell --pairs 4 --rate 20mbit --delay 25ms -o db.yml
  netlab deploy -t db.yml

Every node has the labels role (sender, receiver, host, router, leaf,
spine, core, agg, edge, switch) and group (left, right, main, hop-N,
leaf-N, pod-N, branch-N...), and names follow the groups (snd1, rcv1,
leaf2, h2-1...). Routers and switches are kind router and the file asks
for auto-routes. --rate, --delay and --queue impair the links between
routers (the bottleneck of a dumbbell, the hops of a parking lot, the
fabric of a leaf-spine or fat tree; a star's host links, having no
others); --access-rate, --access-delay and
--access-queue the links of the hosts. 0 or empty means none. --queue is
frames (100) or bytes with a unit (64KB). The file's header says the
command that made it; the same command always writes the same bytes.

The file goes to -o FILE (stdout without it); with -o, gen says what it
wrote (--format text or json).`

// genFlags are the flags every shape takes.
type genFlags struct {
	common topogen.Common
	core   topogen.LinkSpec
	access topogen.LinkSpec
	out    string
	format string
}

func newGenCmd(o *options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "gen SHAPE [flags]",
		Short: "Write a topology file: dumbbell, parking-lot, leaf-spine, fat-tree, star, line, tree",
		Long:  genLong,
	}
	type shape struct {
		use, short string
		access     bool
		defaults   topogen.LinkSpec // of --rate --delay --queue
		flags      func(f *pflag.FlagSet)
		gen        func(g *genFlags) (*topogen.Topology, error)
	}
	bottleneck := topogen.LinkSpec{Rate: "10mbit", Delay: "10ms", Queue: "100"}
	var (
		db topogen.Dumbbell
		pl topogen.ParkingLot
		ls topogen.LeafSpine
		ft topogen.FatTree
		st topogen.Star
		ln topogen.Line
		tr topogen.Tree
	)
	for _, s := range []shape{
		{
			use: "dumbbell", short: "senders behind r1, receivers behind r2, one bottleneck link r1-r2",
			access: true, defaults: bottleneck,
			flags: func(f *pflag.FlagSet) { f.IntVar(&db.Pairs, "pairs", 2, "sender-receiver pairs") },
			gen: func(g *genFlags) (*topogen.Topology, error) {
				db.Common, db.Bottleneck, db.Access = g.common, g.core, g.access
				return db.Generate()
			},
		},
		{
			use: "parking-lot", short: "routers in a line; main flows cross every hop, cross traffic one hop each",
			access: true, defaults: bottleneck,
			flags: func(f *pflag.FlagSet) {
				f.IntVar(&pl.Hops, "hops", 3, "bottleneck hops (routers: hops+1)")
				f.IntVar(&pl.Cross, "cross", 1, "cross-traffic pairs per hop (0 for none)")
				f.IntVar(&pl.Pairs, "pairs", 1, "main sender-receiver pairs, across every hop")
			},
			gen: func(g *genFlags) (*topogen.Topology, error) {
				pl.Common, pl.Hop, pl.Access = g.common, g.core, g.access
				return pl.Generate()
			},
		},
		{
			use: "leaf-spine", short: "every leaf linked to every spine, hosts on the leaves",
			access: true,
			flags: func(f *pflag.FlagSet) {
				f.IntVar(&ls.Leaves, "leaves", 4, "leaf switches")
				f.IntVar(&ls.Spines, "spines", 2, "spine switches")
				f.IntVar(&ls.HostsPerLeaf, "hosts-per-leaf", 2, "hosts on each leaf")
			},
			gen: func(g *genFlags) (*topogen.Topology, error) {
				ls.Common, ls.Fabric, ls.Access = g.common, g.core, g.access
				return ls.Generate()
			},
		},
		{
			use: "fat-tree", short: "k-ary fat tree: k pods, (k/2)² core switches, k³/4 hosts",
			access: true,
			flags: func(f *pflag.FlagSet) {
				f.IntVar(&ft.K, "k", 4, "switch ports: even, 2 or more (k=4: 20 switches, 16 hosts)")
			},
			gen: func(g *genFlags) (*topogen.Topology, error) {
				ft.Common, ft.Fabric, ft.Access = g.common, g.core, g.access
				return ft.Generate()
			},
		},
		{
			use: "star", short: "hosts around one bridge (a LAN) or one router",
			flags: func(f *pflag.FlagSet) {
				f.IntVar(&st.Hosts, "hosts", 4, "hosts, 2 or more")
				f.StringVar(&st.Center, "center", "bridge", "bridge (one LAN segment) or router (a routed link per host)")
			},
			gen: func(g *genFlags) (*topogen.Topology, error) {
				st.Common, st.Link = g.common, g.core
				return st.Generate()
			},
		},
		{
			use: "line", short: "routers in a line, senders on the first, receivers on the last",
			access: true,
			flags: func(f *pflag.FlagSet) {
				f.IntVar(&ln.Routers, "routers", 3, "routers, 1 or more")
				f.IntVar(&ln.Hosts, "hosts", 1, "hosts at each end")
			},
			gen: func(g *genFlags) (*topogen.Topology, error) {
				ln.Common, ln.Hop, ln.Access = g.common, g.core, g.access
				return ln.Generate()
			},
		},
		{
			use: "tree", short: "a tree of routers, hosts at the bottom (fanout^depth of them)",
			access: true,
			flags: func(f *pflag.FlagSet) {
				f.IntVar(&tr.Depth, "depth", 2, "levels of routers, 1 or more")
				f.IntVar(&tr.Fanout, "fanout", 2, "children of each router")
			},
			gen: func(g *genFlags) (*topogen.Topology, error) {
				tr.Common, tr.Fabric, tr.Access = g.common, g.core, g.access
				return tr.Generate()
			},
		},
	} {
		g := &genFlags{}
		sub := &cobra.Command{
			Use:   s.use + " [flags]",
			Short: s.short,
			Long:  s.short + ".\n\n" + genLong,
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				if g.format == "json" && (g.out == "" || g.out == "-") {
					return fmt.Errorf("--format json describes the file -o writes: give -o FILE (without -o the file itself is the output)")
				}
				g.common.Command = genCommand(cmd)
				t, err := s.gen(g)
				if err != nil {
					return err
				}
				return writeGen(o, g, t)
			},
		}
		f := sub.Flags()
		s.flags(f)
		linkWhat := "the links between routers"
		if !s.access {
			linkWhat = "every host's link"
		}
		f.StringVar(&g.core.Rate, "rate", s.defaults.Rate, "rate of "+linkWhat+", e.g. 10mbit (netem rate)")
		f.StringVar(&g.core.Delay, "delay", s.defaults.Delay, "one-way delay of "+linkWhat+", e.g. 10ms (netem delay)")
		f.StringVar(&g.core.Queue, "queue", s.defaults.Queue, "queue limit of "+linkWhat+": frames (100) or bytes (64KB) (netem limit, limit-bytes)")
		if s.access {
			f.StringVar(&g.access.Rate, "access-rate", "", "rate of the hosts' links, e.g. 100mbit")
			f.StringVar(&g.access.Delay, "access-delay", "", "one-way delay of the hosts' links, e.g. 1ms")
			f.StringVar(&g.access.Queue, "access-queue", "", "queue limit of the hosts' links: frames or bytes")
		}
		f.StringVar(&g.common.Name, "name", "", "the lab's name (default: the shape and its sizes, e.g. dumbbell-2)")
		f.StringVar(&g.common.Stack, "stack", "go", "go (netlab's stack) or linux (the kernel's) on every node")
		f.StringVarP(&g.out, "output", "o", "", "write the topology to FILE (default: stdout)")
		f.StringVar(&g.format, "format", "text", "what gen says it wrote with -o: text, or json")
		sub.MarkFlagFilename("output", "yml", "yaml")
		cmd.AddCommand(sub)
	}
	return cmd
}

// genCommand is the command line that makes the same file: the verb and
// the flags given, in name order, without -o and --format (which change
// where it goes, not what it says).
func genCommand(cmd *cobra.Command) string {
	parts := []string{cmd.CommandPath()}
	cmd.Flags().Visit(func(f *pflag.Flag) {
		if f.Name == "output" || f.Name == "format" {
			return
		}
		parts = append(parts, "--"+f.Name, shellQuote(f.Value.String()))
	})
	return strings.Join(parts, " ")
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.,:/%+=", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// genSummary is what gen says it wrote.
type genSummary struct {
	File  string         `json:"file"`
	Name  string         `json:"name"`
	Shape string         `json:"shape"`
	Nodes int            `json:"nodes"`
	Links int            `json:"links"`
	Roles map[string]int `json:"roles"`
}

func writeGen(o *options, g *genFlags, t *topogen.Topology) error {
	data := t.YAML()
	if g.out == "" || g.out == "-" {
		_, err := o.stdout.Write(data)
		return err
	}
	if err := os.WriteFile(g.out, data, 0o644); err != nil {
		return err
	}
	sum := genSummary{File: g.out, Name: t.Name, Shape: t.Shape, Nodes: len(t.Nodes), Links: len(t.Links), Roles: map[string]int{}}
	for _, n := range t.Nodes {
		sum.Roles[n.Label("role")]++
	}
	return printOut(o, g.format, sum, func() {
		var roles []string
		for _, r := range slices.Sorted(maps.Keys(sum.Roles)) {
			roles = append(roles, fmt.Sprintf("%d %s", sum.Roles[r], r))
		}
		fmt.Fprintf(o.stdout, "%s: lab %q, %s: %d nodes (%s), %d links\n", g.out, t.Name, t.Shape, sum.Nodes, strings.Join(roles, ", "), sum.Links)
	})
}
