package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/netlab/netlab/plot"
	"github.com/netlab/netlab/topology"
	"github.com/netlab/netlab/trace"
)

// connReport is what the report says of one connection (one instance of a
// 4-tuple: a 4-tuple used twice is two reports): the figures the classic
// Wireshark TCP lab asks students to find, computed.
type connReport struct {
	Node, Conn, Role string
	// Index is the connection's #N in its node's trace (plot --conn #N);
	// Instance and Instances say which use of its 4-tuple it is, of how
	// many in the trace; Start is when its first event was traced.
	Index, Instance, Instances int
	Start                      time.Duration
	LocalISN, RemoteISN        uint32
	LocalOpts, RemoteOpts      string
	MSS                        int
	BytesSent, BytesReceived   int64
	Duration                   time.Duration
	GoodputMbps                float64
	Retransmits, RTOs, FastRtx int
	MaxCwndSegs                uint32
	MinRTT, AvgRTT             float64 // ms, from RTT samples in the trace
	Plots                      []string
}

func summarize(node string, events []trace.Event, conns []trace.Conn, i int) connReport {
	c := conns[i]
	ev := trace.Filter(events, c)
	r := connReport{Node: node, Conn: c.Title(), Index: i, Instance: c.Instance, Instances: trace.Instances(conns, c), Start: c.First,
		BytesSent: c.BytesSent, BytesReceived: c.BytesReceived, Duration: c.Last - c.First, Retransmits: c.Retransmits}
	for _, e := range ev {
		switch {
		case e.Kind == trace.KindOut && strings.Contains(e.Flags, "S"):
			if r.LocalOpts == "" {
				r.LocalISN, r.LocalOpts = e.Seq, e.Options
				if e.Flags == "S" {
					r.Role = "client (active open)"
				}
			}
		case e.Kind == trace.KindIn && strings.Contains(e.Flags, "S"):
			if r.RemoteOpts == "" {
				r.RemoteISN, r.RemoteOpts = e.Seq, e.Options
				if e.Flags == "S" {
					r.Role = "server (passive open)"
				}
			}
		case e.Kind == trace.KindTimer && e.Timer == "rto":
			r.RTOs++
		}
		if e.Kind == trace.KindOut && e.Len > r.MSS {
			r.MSS = e.Len
		}
		if e.Kind == trace.KindOut && e.Retrans && e.CAState == "recovery" {
			r.FastRtx++
		}
		if e.Cwnd > 0 && r.MSS > 0 && e.Cwnd/uint32(r.MSS) > r.MaxCwndSegs {
			r.MaxCwndSegs = e.Cwnd / uint32(r.MSS)
		}
	}
	g := plot.Goodput(events, c, plot.DirAuto, 0)
	if g.Last > g.First {
		r.GoodputMbps = float64(g.Bytes) * 8 / (g.Last - g.First) / 1e6
	}
	rtt := plot.RTT(events, c)
	for i, s := range rtt.Samples {
		if i == 0 || s.V < r.MinRTT {
			r.MinRTT = s.V
		}
		r.AvgRTT += s.V
	}
	if n := len(rtt.Samples); n > 0 {
		r.AvgRTT /= float64(n)
	}
	return r
}

func (r connReport) markdown(w io.Writer) {
	fmt.Fprintf(w, "## %s on %s%s\n\n", r.Conn, r.Node, r.which())
	fmt.Fprintf(w, "| | |\n|---|---|\n")
	row := func(k, v string) { fmt.Fprintf(w, "| %s | %s |\n", k, v) }
	if r.Role != "" {
		row("role", r.Role)
	}
	row("initial sequence numbers (this end / peer)", fmt.Sprintf("%d / %d", r.LocalISN, r.RemoteISN))
	row("options this end sent in its SYN", orDash(r.LocalOpts))
	row("options the peer sent in its SYN", orDash(r.RemoteOpts))
	row("largest segment sent (MSS in use)", fmt.Sprintf("%d bytes", r.MSS))
	row("payload sent / received", fmt.Sprintf("%d / %d bytes", r.BytesSent, r.BytesReceived))
	row("duration (first to last event)", r.Duration.Round(time.Millisecond).String())
	row("goodput", fmt.Sprintf("%.2f Mbit/s", r.GoodputMbps))
	row("segments retransmitted", fmt.Sprintf("%d (%d during fast recovery; %d retransmission timeouts fired)", r.Retransmits, r.FastRtx, r.RTOs))
	row("largest congestion window", fmt.Sprintf("%d segments", r.MaxCwndSegs))
	if r.AvgRTT > 0 {
		row("RTT from the trace (min / average)", fmt.Sprintf("%.3f / %.3f ms", r.MinRTT, r.AvgRTT))
	}
	fmt.Fprintln(w)
	for _, p := range r.Plots {
		fmt.Fprintf(w, "![%s](%s)\n", strings.TrimSuffix(filepath.Base(p), filepath.Ext(p)), filepath.Base(p))
	}
	fmt.Fprintln(w)
}

// which tells a connection apart from the others on its 4-tuple, if any:
// " (connection 2 of 2 on this 4-tuple, from 11.000s)".
func (r connReport) which() string {
	if r.Instances < 2 {
		return ""
	}
	return fmt.Sprintf(" (connection %d of %d on this 4-tuple, from %.3fs)", r.Instance+1, r.Instances, r.Start.Seconds())
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func newReportCmd(o *options) *cobra.Command {
	t := &topoOptions{}
	var outDir, traceFile, run string
	var noPlots bool
	cmd := &cobra.Command{
		Use:   "report [-t FILE] [NODE...] [-o DIR] | report --trace FILE",
		Short: "A readable summary of every TCP connection: handshake, MSS, bytes, goodput, retransmissions, cwnd, RTT, with plots",
		RunE: func(cmd *cobra.Command, args []string) error {
			type source struct {
				node   string
				events []trace.Event
			}
			var sources []source
			title := "netlab report"
			if traceFile != "" {
				events, err := trace.ReadFile(traceFile)
				if err != nil {
					return err
				}
				sources = []source{{filepath.Base(traceFile), events}}
				if outDir == "" {
					outDir = "."
				}
			} else {
				runs, err := openRuns(t, run)
				if err != nil {
					return err
				}
				last := runs[len(runs)-1]
				title += " — lab " + last.lab.Name + ", " + runLabel(runs)
				nodes := args
				if len(nodes) == 0 {
					seen := map[string]bool{}
					for _, r := range runs {
						for _, n := range r.lab.Nodes {
							if n.Stack != topology.StackLinux && !seen[n.Name] {
								seen[n.Name] = true
								nodes = append(nodes, n.Name)
							}
						}
					}
				}
				for _, n := range nodes {
					events, err := readNodeTrace(runs, n)
					if err != nil {
						return err
					}
					sources = append(sources, source{n, events})
				}
				if outDir == "" {
					outDir = last.run.Path("report")
				}
			}
			if err := os.MkdirAll(outDir, 0o755); err != nil {
				return err
			}
			var reps []connReport
			for _, s := range sources {
				events := s.events
				conns := trace.Conns(events)
				for i, c := range conns {
					rep := summarize(s.node, events, conns, i)
					if !noPlots {
						for _, k := range []plot.Kind{plot.KindSeq, plot.KindCwnd, plot.KindRTT} {
							f := filepath.Join(outDir, fmt.Sprintf("%s-conn%d-%s.svg", s.node, i, k))
							if err := plot.RenderFile(f, k, events, c, plot.Options{Subtitle: "node " + s.node}); err == nil {
								rep.Plots = append(rep.Plots, f)
							}
						}
					}
					reps = append(reps, rep)
				}
			}
			md := filepath.Join(outDir, "report.md")
			f, err := os.Create(md)
			if err != nil {
				return err
			}
			fmt.Fprintf(f, "# %s\n\n%d connections, generated %s\n\n", title, len(reps), time.Now().Format(time.RFC3339))
			for _, r := range reps {
				r.markdown(f)
			}
			if err := f.Close(); err != nil {
				return err
			}
			if t.format == "json" {
				return printOut(o, "json", reps, nil)
			}
			for _, r := range reps {
				fmt.Fprintf(o.stdout, "%s %s%s: %d bytes sent, %.2f Mbit/s, %d retransmitted (%d RTOs), mss %d, max cwnd %d, rtt %.3f ms\n",
					r.Node, r.Conn, r.which(), r.BytesSent, r.GoodputMbps, r.Retransmits, r.RTOs, r.MSS, r.MaxCwndSegs, r.AvgRTT)
			}
			fmt.Fprintf(o.stdout, "report: %s\n", md)
			return nil
		},
	}
	addTopoFlag(cmd, t)
	addFormatFlag(cmd, t)
	cmd.Flags().StringVarP(&outDir, "output", "o", "", "directory for report.md and the plots (default: the run's report/ in the lab directory)")
	cmd.Flags().StringVar(&traceFile, "trace", "", "report on this saved trace instead of a lab's run")
	addRunFlag(cmd, &run)
	cmd.Flags().BoolVar(&noPlots, "no-plots", false, "figures only, no SVG plots")
	return cmd
}
