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
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return checkFormat(cmd)
		},
	}
	root.SetOut(o.stdout)
	root.SetErr(o.stderr)
	root.AddCommand(newVersionCmd(o), newAgentCmd(o), newPauseCmd(o), newValidateCmd(o), newGraphCmd(o), newTCPCmd(o), newPingCmd(o), newSocketsCmd(o), newTraceCmd(o), newDeployCmd(o), newDestroyCmd(o), newInspectCmd(o), newExecCmd(o), newPlotCmd(o), newCaptureCmd(o), newImpairCmd(o), newLinkCmd(o), newSockCmd(o), newReportCmd(o), newRunsCmd(o), newLabCmd(o), newDoctorCmd(o), newGenCmd(o), newExperimentCmd(o), newImageCmd(o), newWebCmd(o), newK8sCmd(o), newWorkerCmd(o), newControllerCmd(o))
	return root
}

func newVersionCmd(o *options) *cobra.Command {
	t := &topoOptions{}
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := version()
			return printOut(o, t.format, map[string]string{"version": v}, func() { fmt.Fprintf(o.stdout, "netlab %s\n", v) })
		},
	}
	addFormatFlag(cmd, t)
	return cmd
}

// version is netlab's version: the module's, or devel.
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}
