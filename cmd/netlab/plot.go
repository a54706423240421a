package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/netlab/netlab/plot"
)

type plotOptions struct {
	topoOptions
	trace, conn, kind, out, subtitle string
	pcapIf                           string
}

func newPlotCmd(o *options) *cobra.Command {
	p := &plotOptions{}
	cmd := &cobra.Command{
		Use:   "plot [-t FILE] NODE --kind seq|cwnd|rtt|tput [-o out.svg] | plot --trace FILE.jsonl ...",
		Short: "Plot a connection: time-sequence, cwnd/ssthresh, RTT/RTO or goodput (SVG or PNG)",
		Long: `plot draws one TCP connection of a node's recorded trace (the lab directory's
traces/NODE.jsonl, or any file saved with ` + "`netlab trace NODE --format json`" + `).
--conn picks the connection: #N from the list printed when several match, or
part of "local->remote". The format follows the output file's extension.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := p.trace
			if path == "" {
				if len(args) != 1 {
					return errors.New("plot needs a NODE of a running lab, or --trace FILE")
				}
				r, err := openRun(&p.topoOptions, "")
				if err != nil {
					return err
				}
				if path, err = r.traceFile(args[0]); err != nil {
					return err
				}
				if p.subtitle == "" {
					p.subtitle = "lab " + r.lab.Name + ", node " + args[0]
				}
			}
			kind, err := plot.ParseKind(p.kind)
			if err != nil {
				return err
			}
			var events []plot.Event
			if isPcap(path) {
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
			} else if events, err = readTraces(path); err != nil {
				return err
			}
			conns := plot.Connections(events)
			c, err := plot.SelectConn(conns, p.conn)
			if err != nil {
				for i, cc := range conns {
					fmt.Fprintf(o.stderr, "  #%d %s  %d bytes sent, %d received, %d retransmits\n", i, cc, cc.BytesSent, cc.BytesReceived, cc.Retransmits)
				}
				return fmt.Errorf("%w: choose with --conn", err)
			}
			out := p.out
			if out == "" {
				out = fmt.Sprintf("%s-%s.svg", strings.NewReplacer(":", "_", ">", "", "-", "_").Replace(c.String()), kind)
			}
			if err := plot.RenderFile(out, kind, events, c, plot.Options{Subtitle: p.subtitle}); err != nil {
				return err
			}
			fmt.Fprintf(o.stdout, "%s: %s of %s\n", out, kind, c.Title())
			return nil
		},
	}
	addTopoFlag(cmd, &p.topoOptions)
	f := cmd.Flags()
	f.StringVar(&p.trace, "trace", "", "plot this saved trace (JSON lines) or capture (.pcapng: seq, rtt, tput) instead of a running lab's")
	f.StringVar(&p.pcapIf, "pcap-if", "", "with a capture of several interfaces: read this one (default: the first)")
	f.StringVar(&p.conn, "conn", "", "which connection: #N or part of local->remote")
	f.StringVar(&p.kind, "kind", "seq", "seq, cwnd, rtt or tput")
	f.StringVarP(&p.out, "output", "o", "", "output file, .svg or .png (default: named after the connection)")
	f.StringVar(&p.subtitle, "subtitle", "", "a line under the title (e.g. the link's impairment)")
	return cmd
}

// readTraces reads a recorded trace, the rotated part first.
func readTraces(path string) ([]plot.Event, error) {
	var all []plot.Event
	for _, p := range []string{path + ".1", path} {
		f, err := os.Open(p)
		if errors.Is(err, os.ErrNotExist) && p != path {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("trace: %w", err)
		}
		ev, err := plot.ReadTrace(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		all = append(all, ev...)
	}
	return all, nil
}

func isPcap(path string) bool {
	return strings.HasSuffix(path, ".pcapng") || strings.HasSuffix(path, ".pcap")
}
