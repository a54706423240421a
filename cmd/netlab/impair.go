package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/netlab/netlab/impair"
	"github.com/netlab/netlab/internal/suggest"
	"github.com/netlab/netlab/nodeagent"
	"github.com/netlab/netlab/topology"
)

// targets resolves LINK or NODE:IFACE plus a direction into the
// interfaces and directions to change (see topology.Lab.ImpairTargets),
// naming the user's topology file in advice (the plan it was resolved
// into does not say how the user spells it).
func (r *labRef) targets(target, dir string) ([]topology.ImpairSide, error) {
	sides, err := r.lab.ImpairTargets(target, dir)
	var ne *topology.NotImpairableError
	if errors.As(err, &ne) {
		ne.File = r.topoFile
	}
	return sides, err
}

// sideClient returns the client of the agent that applies s.
func (r *labRef) sideClient(s topology.ImpairSide) (*nodeagent.Client, error) {
	if s.Relay {
		return r.relayClient(s.Node), nil
	}
	return r.client(s.Node)
}

// relayClient returns a client, for node, of the agent that runs the lab's
// relays: the relays' own on docker, the shared agent on netns.
// On a cluster the worker pod that runs node runs its relays.
func (r *labRef) relayClient(node string) *nodeagent.Client {
	if r.state.Cluster != nil {
		if c, err := r.client(node); err == nil {
			return c
		}
	}
	return nodeagent.NewClient(r.state.RelaySocket, node)
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

// impairKeys are the flags of `impair set`: the keys of impair's netem
// grammar, each with its help.
var impairKeys = []struct{ name, help string }{
	{"delay", "one-way delay, e.g. 50ms"}, {"jitter", "delay spread, e.g. 5ms"},
	{"correlation", "correlation of successive delays, e.g. 25%"},
	{"distribution", "jitter distribution: uniform, normal, pareto, paretonormal or a .dist file"},
	{"loss", "random loss, e.g. 2%"},
	{"loss-model", "a loss model, e.g. '{model: gemodel, p: 1%, r: 10%}' or '{model: state, p13: 1%}'"},
	{"duplicate", "duplication, e.g. 1%"}, {"corrupt", "corruption, e.g. 0.1%"},
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

// impairSubcommands are the words after `impair` that are not a target.
var impairSubcommands = []string{"set", "show", "reset"}

const impairLong = `impair sets the impairment of a link direction without redeploying:

  netlab impair set LINK|NODE:IFACE [--dir D] --delay 50ms --loss 2% ...
  netlab impair LINK|NODE:IFACE [--dir D] --delay 50ms ...   (short form)
  netlab impair show [NODE...]     what is in force, with the counters
  netlab impair reset [TARGET]     back to the topology file

A LINK (its name in the topology) takes --dir a-to-b, b-to-a or both;
NODE:IFACE takes egress, ingress or both. The new values replace the old
ones in that direction; --clear removes the impairment. The short form
works for any target but a link called set, show or reset: write
"netlab impair set show --delay 5ms" to impair a link called show.

A Go-stack node applies its own interfaces' impairments, and those of a
stack: linux peer. Between two stack: linux nodes (or for a stack: linux
LAN member) a relay applies them; such a link has one only when the file
gives it a netem: block (netem: {} is enough), else it is a plain veth.`

// newImpairCmd is `impair`: set, show and reset, and the short form of
// set (a target right after impair).
func newImpairCmd(o *options) *cobra.Command {
	cmd := newImpairSetCmd(o, "impair [-t FILE] LINK|NODE:IFACE [--direction D] --delay 50ms --loss 2% --rate 10mbit ...", true)
	cmd.Short = "Change a link's impairment at runtime (netem's words), or show/reset it"
	cmd.Long = impairLong
	set := newImpairSetCmd(o, "set [-t FILE] LINK|NODE:IFACE [--direction D] --delay 50ms --loss 2% --rate 10mbit ...", false)
	set.Short = "Change the impairment of a link direction (any target, set, show and reset included)"
	cmd.AddCommand(set, newImpairShowCmd(o), newImpairResetCmd(o))
	return cmd
}

// newImpairSetCmd is `impair set`, or with short the short form, which
// takes the same arguments after `impair`.
func newImpairSetCmd(o *options, use string, short bool) *cobra.Command {
	io := &impairOptions{vals: map[string]*string{}}
	cmd := &cobra.Command{
		Use:  use,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			fields := map[string]string{}
			for k, v := range io.vals {
				if cmd.Flags().Changed(k) {
					fields[k] = *v
				}
			}
			return runImpairSet(cmd.Context(), o, io, args[0], fields, short)
		},
	}
	addTopoFlag(cmd, &io.topoOptions)
	addFormatFlag(cmd, &io.topoOptions)
	f := cmd.Flags()
	f.StringVar(&io.dir, "direction", "both", "a-to-b, b-to-a or both for a LINK; egress, ingress or both for NODE:IFACE")
	aliasFlag(cmd, "dir", "direction")
	f.BoolVar(&io.clear, "clear", false, "remove the impairment of that direction")
	for _, k := range impairKeys {
		io.vals[k.name] = f.String(k.name, "", k.help)
	}
	return cmd
}

// impairChange is what `impair set` did to one direction, as --format
// json prints it.
type impairChange struct {
	Node       string         `json:"node"`
	Interface  string         `json:"interface"`
	Direction  string         `json:"direction"`
	Impairment *impair.Config `json:"impairment"`
}

// runImpairSet changes the impairment of target's directions to the
// netem fields given (or none, with --clear). short says the short form
// was used: a target that is not found may be a misspelt subcommand.
func runImpairSet(ctx context.Context, o *options, io *impairOptions, target string, fields map[string]string, short bool) error {
	r, err := findLab(&io.topoOptions)
	if err != nil {
		return err
	}
	sides, err := r.targets(target, io.dir)
	if err != nil {
		if sug := suggest.Closest(target, impairSubcommands); short && sug != "" && !strings.Contains(target, ":") && r.lab.Link(target) == nil {
			return fmt.Errorf("%w; did you mean `netlab impair %s`?", err, sug)
		}
		return err
	}
	var im *impair.Config
	switch {
	case io.clear && len(fields) > 0:
		return errors.New("--clear removes the impairment: give it alone, or the new values without it")
	case io.clear:
	case len(fields) == 0:
		return errors.New("say what to change (--delay, --loss, --rate, ...), or --clear")
	default:
		if im, err = topology.ParseImpairment(fields); err != nil {
			return err
		}
	}
	var done []impairChange
	for _, s := range sides {
		c, err := r.sideClient(s)
		if err != nil {
			return err
		}
		_, err = c.ChangeImpairment(ctx, nodeagent.ImpairChange{Interface: s.Interface, Dir: s.Dir, Impairment: im})
		if err != nil {
			return fmt.Errorf("%s:%s %s: %w", s.Node, s.Interface, s.Dir, err)
		}
		done = append(done, impairChange{Node: s.Node, Interface: s.Interface, Direction: s.Dir, Impairment: im})
	}
	return printOut(o, io.format, done, func() {
		for _, d := range done {
			desc := "none"
			if d.Impairment != nil {
				desc = d.Impairment.String()
			}
			fmt.Fprintf(o.stdout, "%s:%s %s: %s\n", d.Node, d.Interface, d.Direction, desc)
		}
	})
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
			sides := r.lab.ImpairedInterfaces()
			if len(args) == 1 {
				if sides, err = r.targets(args[0], topology.DirBoth); err != nil {
					return err
				}
			}
			done := map[string]bool{}
			for _, s := range sides {
				if done[s.Node+":"+s.Interface] {
					continue
				}
				done[s.Node+":"+s.Interface] = true
				c, err := r.sideClient(s)
				if err != nil {
					return err
				}
				if _, err := c.ChangeImpairment(cmd.Context(), nodeagent.ImpairChange{Interface: s.Interface, Reset: true}); err != nil {
					return fmt.Errorf("%s:%s: %w", s.Node, s.Interface, err)
				}
			}
			return printOut(o, t.format, map[string]int{"reset": len(done)}, func() {
				fmt.Fprintf(o.stdout, "%d interfaces back to the topology file's impairments\n", len(done))
			})
		},
	}
	addTopoFlag(cmd, t)
	addFormatFlag(cmd, t)
	return cmd
}

// linkEvent is what `netlab link` did, as --format json prints it (one
// JSON line an event for flap).
type linkEvent struct {
	Link  string `json:"link"`
	State string `json:"state"` // down or up
	Round int    `json:"round,omitempty"`
	Of    int    `json:"of,omitempty"`
}

// printLinkEvent prints e as a line of text, or of JSON.
func printLinkEvent(o *options, format string, e linkEvent) {
	if format == "json" {
		json.NewEncoder(o.stdout).Encode(e)
		return
	}
	if e.State == "down" && e.Of > 0 {
		fmt.Fprintf(o.stdout, "%s down (%d/%d)\n", e.Link, e.Round, e.Of)
		return
	}
	fmt.Fprintf(o.stdout, "%s %s\n", e.Link, e.State)
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
				printLinkEvent(o, t.format, linkEvent{Link: args[0], State: name})
				return nil
			},
		}
		addTopoFlag(c, t)
		addFormatFlag(c, t)
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
				printLinkEvent(o, t.format, linkEvent{Link: args[0], State: "down", Round: i, Of: count})
				select {
				case <-time.After(downFor):
				case <-cmd.Context().Done():
					return cmd.Context().Err()
				}
				if err := setDown(cmd.Context(), r, args[0], false); err != nil {
					return err
				}
				printLinkEvent(o, t.format, linkEvent{Link: args[0], State: "up", Round: i, Of: count})
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
	addFormatFlag(flap, t)
	flap.Flags().DurationVar(&downFor, "down", 2*time.Second, "how long each outage lasts")
	flap.Flags().DurationVar(&upFor, "up", 3*time.Second, "how long the link stays up between outages")
	flap.Flags().IntVarP(&count, "count", "c", 3, "how many outages")
	cmd.AddCommand(upDown("down", true), upDown("up", false), flap)
	return cmd
}

// setDown takes the target down or up, at every agent on its frame path.
func setDown(ctx context.Context, r *labRef, target string, down bool) error {
	sides, err := r.targets(target, topology.DirBoth)
	if err != nil {
		return err
	}
	return nodeagent.SetDown(ctx, sides, down, func(s topology.ImpairSide) (nodeagent.ImpairChanger, error) {
		c, err := r.sideClient(s)
		return c, err
	})
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
