package main

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/netlab/netlab/topology"
)

func newValidateCmd(o *options) *cobra.Command {
	t := &topoOptions{}
	var clab bool
	cmd := &cobra.Command{
		Use:   "validate -t FILE [--clab]",
		Short: "Check a topology file and say what is wrong, at which line and column",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if clab {
				return compatReport(o, t)
			}
			lab, err := topology.Load(t.file)
			if err != nil {
				var el topology.ErrorList
				if errors.As(err, &el) {
					for _, e := range el.Errors() {
						fmt.Fprintln(o.stderr, e)
					}
					return fmt.Errorf("%s: %d problem(s)", t.file, len(el.Errors()))
				}
				return err
			}
			for _, w := range lab.Warnings {
				fmt.Fprintln(o.stderr, "warning:", w)
			}
			if t.format == "json" {
				enc := json.NewEncoder(o.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(lab)
			}
			routes := 0
			for _, n := range lab.Nodes {
				routes += len(n.Routes)
			}
			fmt.Fprintf(o.stdout, "%s: lab %q is valid: %d nodes, %d links, %d LAN segments, %d routes\n",
				t.file, lab.Name, len(lab.Nodes), len(lab.Links), len(lab.Segments), routes)
			return nil
		},
	}
	addTopoFileFlag(cmd, t)
	cmd.Flags().StringVar(&t.format, "format", "text", "text, or json for the resolved plan")
	cmd.Flags().BoolVar(&clab, "clab", false, "report how each containerlab feature of the file was taken: as-is, mapped, or refused (exit 1 when one is refused)")
	return cmd
}

// compatReport prints how netlab took each containerlab feature of the
// file (topology.Compat), failing when one is refused.
func compatReport(o *options, t *topoOptions) error {
	notes, err := topology.Compat(t.file)
	if notes == nil && err != nil {
		return err
	}
	refused := 0
	for _, n := range notes {
		if n.How == topology.CompatRefused {
			refused++
		}
	}
	perr := printOut(o, t.format, notes, func() {
		for _, n := range notes {
			line := fmt.Sprintf("%-8s %s:%s", n.How, t.file, n.Pos)
			if n.Feature != "" {
				line += " " + n.Feature
			}
			if n.Count > 1 {
				line += fmt.Sprintf(" (%d times)", n.Count)
			}
			switch {
			case n.Detail != "" && n.Feature != "":
				line += ": " + n.Detail
			case n.Detail != "":
				line += " " + n.Detail
			}
			fmt.Fprintln(o.stdout, line)
		}
	})
	if perr != nil {
		return perr
	}
	if refused > 0 {
		return fmt.Errorf("%s: %d feature(s) refused", t.file, refused)
	}
	return nil
}

func newGraphCmd(o *options) *cobra.Command {
	t := &topoOptions{}
	var syntax string
	cmd := &cobra.Command{
		Use:   "graph -t FILE [--syntax dot|mermaid]",
		Short: "Print the topology as a Graphviz dot or Mermaid graph",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			lab, err := topology.Load(t.file)
			if err != nil {
				return err
			}
			out, err := lab.Graph(syntax)
			if err != nil {
				return err
			}
			fmt.Fprint(o.stdout, out)
			return nil
		},
	}
	addTopoFileFlag(cmd, t)
	cmd.Flags().StringVar(&syntax, "syntax", "dot", "dot (Graphviz) or mermaid")
	aliasFlag(cmd, "format", "syntax")
	cmd.Annotations = map[string]string{annotationOwnFormat: "syntax"}
	return cmd
}
