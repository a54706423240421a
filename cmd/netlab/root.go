package main

import (
	"fmt"
	"io"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// options are the settings every verb shares; main makes one, no globals.
type options struct {
	stdout, stderr io.Writer
}

func newRootCmd(o *options) *cobra.Command {
	root := &cobra.Command{
		Use:           "netlab",
		Short:         "Network labs on a userspace TCP/IP stack you can watch",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(o.stdout)
	root.SetErr(o.stderr)
	root.AddCommand(newVersionCmd(o), newAgentCmd(o), newValidateCmd(o), newGraphCmd(o), newTCPCmd(o), newPingCmd(o), newSocketsCmd(o), newTraceCmd(o), newDeployCmd(o), newDestroyCmd(o), newInspectCmd(o), newExecCmd(o), newPlotCmd(o), newCaptureCmd(o), newImpairCmd(o), newLinkCmd(o), newSockCmd(o), newReportCmd(o), newRunsCmd(o))
	return root
}

func newVersionCmd(o *options) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := "devel"
			if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
				v = bi.Main.Version
			}
			fmt.Fprintf(o.stdout, "netlab %s\n", v)
			return nil
		},
	}
}
