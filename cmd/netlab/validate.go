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
	cmd := &cobra.Command{
		Use:   "validate -t FILE",
		Short: "Check a topology file and say what is wrong, at which line and column",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
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
	return cmd
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
