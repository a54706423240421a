package main

import (
	"fmt"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/netlab/netlab/labdir"
	"github.com/netlab/netlab/trace"
)

func newRunsCmd(o *options) *cobra.Command {
	t := &topoOptions{}
	cmd := &cobra.Command{
		Use:   "runs [-t FILE] [--format text|json]",
		Short: "List a lab's runs (one per deploy): when, how big, which is current",
		Long: `Every deploy starts a run: its traces, captures, logs and reports are kept
apart in the lab directory's runs/<id>/ (current/ links to the newest), so
that two deploys of a seeded lab never mix. plot, report, trace --replay
and sockets read the current run; --run ID (or latest, or all) reads
others. deploy --keep-runs caps what earlier runs keep, oldest gone first.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dirs, err := labDirs(t)
			if err != nil {
				return err
			}
			runs, err := dirs.Runs()
			if err != nil {
				return err
			}
			return printOut(o, t.format, runs, func() {
				if len(runs) == 0 {
					fmt.Fprintf(o.stdout, "lab %s has no runs (%s)\n", dirs.Name, dirs.Dir)
					return
				}
				w := tabwriter.NewWriter(o.stdout, 2, 4, 2, ' ', 0)
				fmt.Fprintln(w, "RUN\tSTARTED\tENDED\tSIZE\t")
				var total int64
				for _, r := range runs {
					ended := "-"
					if !r.Ended.IsZero() {
						ended = r.Ended.Local().Format(time.DateTime)
					}
					cur := ""
					if r.Current {
						cur = "current"
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", r.ID, r.Started.Local().Format(time.DateTime), ended, labdir.FormatBytes(r.Bytes), cur)
					total += r.Bytes
				}
				w.Flush()
				fmt.Fprintf(o.stdout, "%d runs, %s in %s\n", len(runs), labdir.FormatBytes(total), dirs.Dir)
			})
		},
	}
	addTopoFlag(cmd, t)
	addFormatFlag(cmd, t)
	return cmd
}

// recordedSocket is what a run's trace says of one connection at its last
// event: `netlab sockets --run`.
type recordedSocket struct {
	Conn     string        `json:"conn"`
	Instance int           `json:"instance"`
	Start    time.Duration `json:"start"`
	State    string        `json:"state"`
	Cwnd     uint32        `json:"snd_cwnd"`
	Ssthresh uint32        `json:"ssthresh"`
	SRTTUS   int64         `json:"srtt_us"`
	RTOMS    int64         `json:"rto_ms"`
	Sent     int64         `json:"bytes_sent"`
	Received int64         `json:"bytes_received"`
	Retrans  int           `json:"retrans"`
	CAState  string        `json:"ca_state"`
}

// recordedSockets returns the last recorded state of every connection of
// events, in the order they started.
func recordedSockets(events []trace.Event) []recordedSocket {
	conns := trace.Conns(events)
	out := make([]recordedSocket, 0, len(conns))
	for _, c := range conns {
		// The last event of the stack's: a drop event (the impairment
		// layer's) has no state.
		ev := slices.DeleteFunc(trace.Filter(events, c), func(e trace.Event) bool { return e.Kind == trace.KindDrop })
		if len(ev) == 0 {
			continue
		}
		e := ev[len(ev)-1]
		out = append(out, recordedSocket{Conn: c.String(), Instance: c.Instance, Start: c.First, State: e.State,
			Cwnd: e.Cwnd, Ssthresh: e.Ssthresh, SRTTUS: e.SRTTUS, RTOMS: e.RTOMS, Sent: c.BytesSent,
			Received: c.BytesReceived, Retrans: c.Retransmits, CAState: e.CAState})
	}
	return out
}

// printRecordedSockets prints recordedSockets as a table.
func printRecordedSockets(o *options, socks []recordedSocket) {
	w := tabwriter.NewWriter(o.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(w, "CONNECTION\tFROM\tSTATE\tCWND\tSSTHRESH\tSRTT\tRTO\tSENT\tRECEIVED\tRETRANS\tCA")
	for _, s := range socks {
		fmt.Fprintf(w, "%s\t%.3fs\t%s\t%d\t%d\t%.3fms\t%dms\t%d\t%d\t%d\t%s\n", s.Conn, s.Start.Seconds(), s.State, s.Cwnd, s.Ssthresh,
			float64(s.SRTTUS)/1000, s.RTOMS, s.Sent, s.Received, s.Retrans, s.CAState)
	}
	w.Flush()
}
