package main

import (
	"errors"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/netlab/netlab/doctor"
)

func newDoctorCmd(o *options) *cobra.Command {
	t := &topoOptions{}
	var docker bool
	cmd := &cobra.Command{
		Use:   "doctor [--docker]",
		Short: "Check that this machine can run labs (root, namespaces, veths, AF_PACKET; Docker if asked)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			findings, ok := doctor.Check(cmd.Context(), doctor.Options{Docker: docker, RunDir: runDir()})
			err := printOut(o, t.format, findings, func() {
				w := tabwriter.NewWriter(o.stdout, 2, 4, 2, ' ', 0)
				for _, f := range findings {
					mark := "ok"
					switch {
					case !f.OK && f.Needed:
						mark = "FAIL"
					case !f.OK:
						mark = "missing"
					}
					fmt.Fprintf(w, "%s\t%s\t%s\n", mark, f.Check, f.Detail)
				}
				w.Flush()
			})
			if err != nil {
				return err
			}
			if !ok {
				return &exitError{2, errors.New("this machine cannot run labs: see above")}
			}
			return nil
		},
	}
	addFormatFlag(cmd, t)
	cmd.Flags().BoolVar(&docker, "docker", false, "check the Docker engine too")
	return cmd
}
