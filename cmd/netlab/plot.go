package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/netlab/netlab/plot"
	"github.com/netlab/netlab/trace"
)

type plotOptions struct {
	topoOptions
	trace, conn, kind, out, subtitle string
	run                              string
	pcapIf                           string
}

func newPlotCmd(o *options) *cobra.Command {
	p := &plotOptions{}
	cmd := &cobra.Command{
		Use:   "plot [-t FILE] NODE --kind seq|cwnd|rtt|tput [-o out.svg] | plot --trace FILE.jsonl ...",
		Short: "Plot a connection: time-sequence, cwnd/ssthresh, RTT/RTO or goodput (SVG or PNG)",
		Long: `plot draws one TCP connection of a node's recorded trace (the current run's
traces/NODE.jsonl in the lab directory, another run's with --run, or any file
saved with ` + "`netlab trace NODE --format json`" + `).
--conn picks the connection: #N from the list printed when several match, or
part of "local->remote". A connection is one use of a 4-tuple: when a 4-tuple
was used more than once (a lab deployed again, a port reused after TIME-WAIT),
--conn lists its connections to choose from, or takes the latest with
"@latest" (":5001@latest"). The format follows the output file's extension.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			kind, err := plot.ParseKind(p.kind)
			if err != nil {
				return err
			}
			path := p.trace
			var events []trace.Event
			if path == "" {
				if len(args) != 1 {
					return errors.New("plot needs a NODE of a lab, or --trace FILE")
				}
				runs, err := openRuns(&p.topoOptions, p.run)
				if err != nil {
					return err
				}
				if events, err = readNodeTrace(runs, args[0]); err != nil {
					return err
				}
				if p.subtitle == "" {
					p.subtitle = "lab " + runs[0].lab.Name + ", " + runLabel(runs) + ", node " + args[0]
				}
			} else if isPcap(path) {
				if kind == plot.KindCwnd {
					return errors.New("a capture has no congestion window (it is the stack's state): plot cwnd from a trace")
				}
				f, err := os.Open(path)
				if err != nil {
					return err
				}
				events, err = plot.FromPcap(f, p.pcapIf)
				f.Close()
				if err != nil {
					return fmt.Errorf("%s: %w", path, err)
				}
			} else if events, err = trace.ReadFile(path); err != nil {
				return err
			}
			conns := trace.Conns(events)
			i, err := trace.Select(conns, p.conn)
			if err != nil {
				for i, cc := range conns {
					fmt.Fprintf(o.stderr, "  #%d %s  %d bytes sent, %d received, %d retransmits\n", i, cc.Label(), cc.BytesSent, cc.BytesReceived, cc.Retransmits)
				}
				return fmt.Errorf("%w: choose with --conn", err)
			}
			c := conns[i]
			opts := plot.Options{Subtitle: p.subtitle}
			name := strings.NewReplacer(":", "_", ">", "", "-", "_").Replace(c.String())
			if n := trace.Instances(conns, c); n > 1 {
				// Say which of the 4-tuple's connections this is, on the plot and here.
				which := fmt.Sprintf("connection %d of %d on this 4-tuple, from %.3fs", c.Instance+1, n, c.First.Seconds())
				opts.Subtitle = strings.TrimPrefix(opts.Subtitle+" · "+which, " · ")
				name += fmt.Sprintf("_%d", c.Instance)
				if strings.HasSuffix(p.conn, trace.Latest) {
					fmt.Fprintf(o.stderr, "note: %s occurred %d times in the trace; plotting the latest, #%d (%s). Others: %s\n",
						c, n, i, c.Label(), trace.List(conns, others(conns, i)))
				}
			}
			out := p.out
			if out == "" {
				out = fmt.Sprintf("%s-%s.svg", name, kind)
			}
			if err := plot.RenderFile(out, kind, events, c, opts); err != nil {
				return err
			}
			res := map[string]any{"file": out, "kind": kind, "conn": c.String(), "index": i, "instance": c.Instance, "isn": c.ISN, "start_us": c.First.Microseconds()}
			return printOut(o, p.format, res, func() {
				fmt.Fprintf(o.stdout, "%s: %s of %s (#%d, %s)\n", out, kind, c.Title(), i, c.Label())
			})
		},
	}
	addTopoFlag(cmd, &p.topoOptions)
	addFormatFlag(cmd, &p.topoOptions)
	f := cmd.Flags()
	f.StringVar(&p.trace, "trace", "", "plot this saved trace (JSON lines) or capture (.pcapng: seq, rtt, tput) instead of a running lab's")
	f.StringVar(&p.pcapIf, "pcap-if", "", "with a capture of several interfaces: read this one (default: the first)")
	f.StringVar(&p.conn, "conn", "", "which connection: #N, or part of local->remote (a 4-tuple used more than once: add @latest for its latest connection)")
	f.StringVar(&p.kind, "kind", "seq", "seq, cwnd, rtt or tput")
	f.StringVarP(&p.out, "output", "o", "", "output file, .svg or .png (default: named after the connection)")
	f.StringVar(&p.subtitle, "subtitle", "", "a line under the title (e.g. the link's impairment)")
	addRunFlag(cmd, &p.run)
	return cmd
}

// others returns the indexes of the connections of conns on the 4-tuple of
// conns[i], but i.
func others(conns []trace.Conn, i int) []int {
	var idx []int
	for j, c := range conns {
		if j != i && c.Local == conns[i].Local && c.Remote == conns[i].Remote {
			idx = append(idx, j)
		}
	}
	return idx
}

func isPcap(path string) bool {
	return strings.HasSuffix(path, ".pcapng") || strings.HasSuffix(path, ".pcap")
}
