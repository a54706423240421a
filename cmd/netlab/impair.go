package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/netlab/netlab/impair"
	"github.com/netlab/netlab/nodeagent"
	"github.com/netlab/netlab/topology"
)

// side is one interface and direction an impairment change applies to.
type side struct {
	node, iface, dir string // dir: egress or ingress
	relay            bool   // applied by the lab's relay agent
}

// resolveTarget turns LINK or NODE:IFACE plus a direction into the
// interfaces and directions to change. A link direction is applied as the
// sender's egress where the sender runs the Go stack, else as the
// receiver's ingress where that one does, else by the link's relay.
//
// file is the topology file to name in advice (the user's, not the lab
// directory's copy that lab was loaded from).
func resolveTarget(lab *topology.Lab, file, target, dir string) ([]side, error) {
	if node, ifc, ok := strings.Cut(target, ":"); ok && lab.Link(target) == nil {
		n := lab.Node(node)
		if n == nil || n.Interface(ifc) == nil {
			return nil, fmt.Errorf("lab %s has no interface %s", lab.Name, target)
		}
		var dirs []string
		switch dir {
		case "egress", "ingress":
			dirs = []string{dir}
		case "", "both":
			dirs = []string{"egress", "ingress"}
		default:
			return nil, fmt.Errorf("--dir %q: for NODE:IFACE want egress, ingress or both", dir)
		}
		var out []side
		for _, d := range dirs {
			s, err := sideOf(file, n.Interface(ifc), d)
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		return out, nil
	}
	l := lab.Link(target)
	if l == nil {
		var names []string
		for _, k := range lab.Links {
			names = append(names, k.Name)
		}
		return nil, fmt.Errorf("lab %s has no link or interface %q (links: %s)", lab.Name, target, strings.Join(names, ", "))
	}
	var out []side
	for _, d := range []struct {
		name string
		from *topology.Interface
	}{{"a-to-b", l.A}, {"b-to-a", l.B}} {
		if dir != "" && dir != "both" && dir != d.name {
			continue
		}
		s, err := sideOf(file, d.from, "egress")
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--dir %q: for a link want a-to-b, b-to-a or both", dir)
	}
	return out, nil
}

// sideOf finds who applies direction dir (egress or ingress) of ifc: its
// own Go stack, or for a `stack: linux` interface, see linuxSide.
func sideOf(file string, ifc *topology.Interface, dir string) (side, error) {
	if ifc.Node.Stack != topology.StackLinux {
		return side{node: ifc.Node.Name, iface: ifc.Name, dir: dir}, nil
	}
	return linuxSide(file, ifc, dir)
}

// linuxSide finds who applies direction dir (egress or ingress) of ifc, an
// interface of a `stack: linux` node, which has no agent on its frame path:
// its own relay, the relay at the other end of its link, or its Go peer.
func linuxSide(file string, ifc *topology.Interface, dir string) (side, error) {
	flip := map[string]string{"egress": "ingress", "ingress": "egress"}
	p := ifc.Peer
	switch {
	case ifc.Relay:
		return side{node: ifc.Node.Name, iface: ifc.Name, dir: dir, relay: true}, nil
	case p != nil && p.Relay:
		return side{node: p.Node.Name, iface: p.Name, dir: flip[dir], relay: true}, nil
	case p != nil && p.Node.Stack != topology.StackLinux:
		return side{node: p.Node.Name, iface: p.Name, dir: flip[dir]}, nil
	}
	return side{}, fmt.Errorf("%s runs the Linux stack and its link has no netem: block, so no agent is on its frame path: "+
		"add `netem: {}` to that link in %s and redeploy, and it can be impaired at runtime", ifc, file)
}

// sideClient returns the client of the agent that applies s.
func (r *labRef) sideClient(s side) (*nodeagent.Client, error) {
	if s.relay {
		return r.relayClient(s.node), nil
	}
	return r.client(s.node)
}

// relayClient returns a client, for node, of the agent that runs the lab's
// relays: the relays' own on docker, the shared agent on netns.
func (r *labRef) relayClient(node string) *nodeagent.Client {
	sock := filepath.Join(r.labDir, nodeagent.RelaySocket)
	if _, err := os.Stat(sock); err != nil {
		sock = filepath.Join(r.labDir, nodeagent.AgentSocket)
	}
	return nodeagent.NewClient(sock, node)
}

// impairClient returns the client of the agent that applies the
// impairments of node's interfaces: its own for a Go-stack node, the relay
// agent for a Linux-stack node with relayed interfaces; ok is false for a
// Linux-stack node without.
func (r *labRef) impairClient(node string) (c *nodeagent.Client, ok bool, err error) {
	n := r.lab.Node(node)
	if n == nil {
		return nil, false, fmt.Errorf("lab %s has no node %q", r.lab.Name, node)
	}
	if n.Stack != topology.StackLinux {
		c, err := r.client(node)
		return c, err == nil, err
	}
	for _, ifc := range n.Interfaces {
		if ifc.Relay {
			return r.relayClient(node), true, nil
		}
	}
	return nil, false, nil
}

type impairOptions struct {
	topoOptions
	dir   string
	clear bool
	vals  map[string]*string
}

var impairKeys = []struct{ name, help string }{
	{"delay", "one-way delay, e.g. 50ms"}, {"jitter", "delay spread, e.g. 5ms"},
	{"correlation", "correlation of successive delays, e.g. 25%"},
	{"distribution", "jitter distribution: uniform, normal, pareto, paretonormal or a .dist file"},
	{"loss", "random loss, e.g. 2%"}, {"duplicate", "duplication, e.g. 1%"}, {"corrupt", "corruption, e.g. 0.1%"},
	{"reorder", "reorder probability, e.g. 25% (needs delay)"}, {"gap", "reorder gap"},
	{"rate", "link rate, e.g. 10mbit"}, {"rate-overhead", "bytes added per frame for the rate"},
	{"limit", "queue limit in frames"}, {"limit-bytes", "queue limit in bytes, e.g. 64KiB"},
	{"ecn", "mark CE instead of dropping ECN-capable frames (true/false)"}, {"seed", "random seed of the direction"},
	{"codel", "CoDel AQM on the rate queue instead of tail drop (true/false; needs rate)"},
	{"order", "netem (jitter may reorder) or keep"},
	{"drop-every", "drop frames N, 2N, 3N..."}, {"drop-packets", "drop these frames, e.g. [3, 7]"},
	{"drop-match", `drop matching segments, e.g. '["syn first"]' or '[fin, "seq=1101 data"]'`},
	{"outage", "down periodically, e.g. '{every: 10s, for: 2s}'"},
}

func newImpairCmd(o *options) *cobra.Command {
	io := &impairOptions{vals: map[string]*string{}}
	cmd := &cobra.Command{
		Use:   "impair [-t FILE] LINK|NODE:IFACE [--dir D] --delay 50ms --loss 2% --rate 10mbit ...",
		Short: "Change a link's impairment at runtime (netem's words), or show/reset it",
		Long: `impair sets the impairment of a link direction without redeploying. A LINK
(its name in the topology) takes --dir a-to-b, b-to-a or both; NODE:IFACE
takes egress, ingress or both. The new values replace the old ones in that
direction; --clear removes the impairment. "netlab impair show" lists what
is in force with the counters; "netlab impair reset" goes back to the file.

A Go-stack node applies its own interfaces' impairments, and those of a
stack: linux peer. Between two stack: linux nodes (or for a stack: linux
LAN member) a relay applies them; such a link has one only when the file
gives it a netem: block (netem: {} is enough), else it is a plain veth.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := findLab(&io.topoOptions)
			if err != nil {
				return err
			}
			sides, err := resolveTarget(r.lab, r.topoFile, args[0], io.dir)
			if err != nil {
				return err
			}
			fields := map[string]string{}
			for k, v := range io.vals {
				if cmd.Flags().Changed(k) {
					fields[k] = *v
				}
			}
			var im *impair.Config
			switch {
			case io.clear:
			case len(fields) == 0:
				return errors.New("say what to change (--delay, --loss, --rate, ...), or --clear")
			default:
				if im, err = topology.ParseImpairment(fields); err != nil {
					return err
				}
			}
			for _, s := range sides {
				c, err := r.sideClient(s)
				if err != nil {
					return err
				}
				_, err = c.ChangeImpairment(cmd.Context(), nodeagent.ImpairChange{Interface: s.iface, Dir: s.dir, Impairment: im})
				if err != nil {
					return fmt.Errorf("%s:%s %s: %w", s.node, s.iface, s.dir, err)
				}
				desc := "none"
				if im != nil {
					desc = im.String()
				}
				fmt.Fprintf(o.stdout, "%s:%s %s: %s\n", s.node, s.iface, s.dir, desc)
			}
			return nil
		},
	}
	addTopoFlag(cmd, &io.topoOptions)
	f := cmd.Flags()
	f.StringVar(&io.dir, "dir", "both", "a-to-b, b-to-a or both for a LINK; egress, ingress or both for NODE:IFACE")
	f.BoolVar(&io.clear, "clear", false, "remove the impairment of that direction")
	for _, k := range impairKeys {
		io.vals[k.name] = f.String(k.name, "", k.help)
	}
	cmd.AddCommand(newImpairShowCmd(o), newImpairResetCmd(o))
	return cmd
}

func newImpairShowCmd(o *options) *cobra.Command {
	t := &topoOptions{}
	cmd := &cobra.Command{
		Use:   "show [-t FILE] [NODE...]",
		Short: "Show the impairments in force and their counters",
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := findLab(t)
			if err != nil {
				return err
			}
			nodes := args
			if len(nodes) == 0 {
				for _, n := range r.lab.Nodes {
					if _, ok, _ := r.impairClient(n.Name); ok {
						nodes = append(nodes, n.Name)
					}
				}
			}
			all := map[string][]nodeagent.ImpairState{}
			for _, n := range nodes {
				c, ok, err := r.impairClient(n)
				if err != nil {
					return err
				}
				if !ok {
					var at []string
					for _, ifc := range r.lab.Node(n).Interfaces {
						if ifc.Peer != nil && ifc.Peer.Relay {
							at = append(at, ifc.Peer.String())
						}
					}
					if len(at) > 0 {
						return fmt.Errorf("%s runs the Linux stack; its links' impairments are applied by the relays of %s, listed under those nodes (egress there is %s's ingress)",
							n, strings.Join(at, ", "), n)
					}
					return fmt.Errorf("%s runs the Linux stack and none of its links has a netem: block: no agent impairs its frames", n)
				}
				st, err := c.Impairments(cmd.Context())
				if err != nil {
					return fmt.Errorf("%s: %w", n, err)
				}
				all[n] = st
			}
			return printOut(o, t.format, all, func() {
				w := tabwriter.NewWriter(o.stdout, 2, 4, 2, ' ', 0)
				fmt.Fprintln(w, "INTERFACE\tEGRESS\tINGRESS\tSTATE\tCOUNTERS (out / in)")
				for _, n := range nodes {
					for _, s := range all[n] {
						state := "up"
						if s.Down {
							state = "DOWN"
						}
						fmt.Fprintf(w, "%s:%s\t%s\t%s\t%s\t%s\n", n, s.Interface, impStr(s.Egress), impStr(s.Ingress), state, statsStr(s.Stats))
					}
				}
				w.Flush()
			})
		},
	}
	addTopoFlag(cmd, t)
	addFormatFlag(cmd, t)
	return cmd
}

func newImpairResetCmd(o *options) *cobra.Command {
	t := &topoOptions{}
	cmd := &cobra.Command{
		Use:   "reset [-t FILE] [LINK|NODE:IFACE]",
		Short: "Go back to the topology file's impairments (every impaired interface without a target)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := findLab(t)
			if err != nil {
				return err
			}
			var sides []side
			if len(args) == 1 {
				if sides, err = resolveTarget(r.lab, r.topoFile, args[0], "both"); err != nil {
					return err
				}
			} else {
				for _, n := range r.lab.Nodes {
					for _, i := range n.Interfaces {
						if n.Stack != topology.StackLinux || i.Relay {
							sides = append(sides, side{node: n.Name, iface: i.Name, dir: "both", relay: i.Relay})
						}
					}
				}
			}
			done := map[string]bool{}
			for _, s := range sides {
				if done[s.node+":"+s.iface] {
					continue
				}
				done[s.node+":"+s.iface] = true
				c, err := r.sideClient(s)
				if err != nil {
					return err
				}
				if _, err := c.ChangeImpairment(cmd.Context(), nodeagent.ImpairChange{Interface: s.iface, Reset: true}); err != nil {
					return fmt.Errorf("%s:%s: %w", s.node, s.iface, err)
				}
			}
			fmt.Fprintf(o.stdout, "%d interfaces back to the topology file's impairments\n", len(done))
			return nil
		},
	}
	addTopoFlag(cmd, t)
	return cmd
}

func newLinkCmd(o *options) *cobra.Command {
	cmd := &cobra.Command{Use: "link", Short: "Fault injection: take a link down, up, or make it flap"}
	upDown := func(name string, down bool) *cobra.Command {
		t := &topoOptions{}
		c := &cobra.Command{
			Use:   name + " [-t FILE] LINK|NODE:IFACE",
			Short: "Take a link " + name + " (both directions)",
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				r, err := findLab(t)
				if err != nil {
					return err
				}
				if err := setDown(cmd.Context(), r, args[0], down); err != nil {
					return err
				}
				fmt.Fprintf(o.stdout, "%s %s\n", args[0], name)
				return nil
			},
		}
		addTopoFlag(c, t)
		return c
	}
	t := &topoOptions{}
	var downFor, upFor time.Duration
	var count int
	flap := &cobra.Command{
		Use:   "flap [-t FILE] LINK|NODE:IFACE [--down 2s] [--up 3s] [--count 3]",
		Short: "Take a link down and up again, count times",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := findLab(t)
			if err != nil {
				return err
			}
			defer setDown(context.WithoutCancel(cmd.Context()), r, args[0], false)
			for i := 1; i <= count; i++ {
				if err := setDown(cmd.Context(), r, args[0], true); err != nil {
					return err
				}
				fmt.Fprintf(o.stdout, "%s down (%d/%d)\n", args[0], i, count)
				select {
				case <-time.After(downFor):
				case <-cmd.Context().Done():
					return cmd.Context().Err()
				}
				if err := setDown(cmd.Context(), r, args[0], false); err != nil {
					return err
				}
				fmt.Fprintf(o.stdout, "%s up\n", args[0])
				if i < count {
					select {
					case <-time.After(upFor):
					case <-cmd.Context().Done():
						return cmd.Context().Err()
					}
				}
			}
			return nil
		},
	}
	addTopoFlag(flap, t)
	flap.Flags().DurationVar(&downFor, "down", 2*time.Second, "how long each outage lasts")
	flap.Flags().DurationVar(&upFor, "up", 3*time.Second, "how long the link stays up between outages")
	flap.Flags().IntVar(&count, "count", 3, "how many outages")
	cmd.AddCommand(upDown("down", true), upDown("up", false), flap)
	return cmd
}

// setDown takes the target down or up, at every agent on its frame path.
func setDown(ctx context.Context, r *labRef, target string, down bool) error {
	sides, err := resolveTarget(r.lab, r.topoFile, target, "both")
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, s := range sides {
		if seen[s.node+":"+s.iface] {
			continue
		}
		seen[s.node+":"+s.iface] = true
		c, err := r.sideClient(s)
		if err != nil {
			return err
		}
		d := down
		if _, err := c.ChangeImpairment(ctx, nodeagent.ImpairChange{Interface: s.iface, Down: &d}); err != nil {
			return fmt.Errorf("%s:%s: %w", s.node, s.iface, err)
		}
	}
	return nil
}

func impStr(im *impair.Config) string {
	if im == nil {
		return "-"
	}
	return im.String()
}

func statsStr(s impair.EndpointStats) string {
	one := func(x impair.Stats) string {
		drops := x.DroppedLoss + x.DroppedQueue + x.DroppedCoDel + x.DroppedSchedule + x.DroppedOutage
		return fmt.Sprintf("%d passed, %d dropped", x.Passed, drops)
	}
	return one(s.Egress) + " / " + one(s.Ingress)
}
