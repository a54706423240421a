package deploy

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"

	"github.com/netlab/netlab/runtime"
	"github.com/netlab/netlab/topology"
)

// ErrExecNotAllowed is wrapped by Deploy's error for a lab with `exec:`
// commands when Options.AllowExec is false.
var ErrExecNotAllowed = errors.New("the lab's exec: commands are not allowed")

// NodeCommand is one `exec:` command of a node.
type NodeCommand struct {
	// Node is the node's name.
	Node string `json:"node"`
	// Command is the command line, run with `sh -c`.
	Command string `json:"command"`
}

// ExecCommands lists the `exec:` commands of lab in the order a deploy
// runs them: node by node, each node's in its order.
func ExecCommands(lab *topology.Lab) []NodeCommand {
	var out []NodeCommand
	for _, n := range lab.Nodes {
		for _, c := range n.Exec {
			out = append(out, NodeCommand{Node: n.Name, Command: c})
		}
	}
	return out
}

// HostBinds lists the host paths lab binds into its containers, as
// "bind HOST:CONTAINER[:MODE]" commands: like exec: commands, they give a
// node's programs what is on this machine, so they are allowed the same way.
func HostBinds(lab *topology.Lab) []NodeCommand {
	var out []NodeCommand
	for _, n := range lab.Nodes {
		for _, b := range n.Binds {
			out = append(out, NodeCommand{Node: n.Name, Command: "bind " + b})
		}
	}
	return out
}

// checkExec refuses a lab with exec: commands (or, on docker, binds of
// host paths) unless they are allowed, and one whose runtime cannot run
// them inside its nodes.
func checkExec(o Options, lab *topology.Lab) error {
	cmds := ExecCommands(lab)
	var binds []NodeCommand
	if o.Runtime.Name() == "docker" {
		binds = HostBinds(lab)
	}
	if len(cmds)+len(binds) == 0 {
		return nil
	}
	if !o.AllowExec {
		var lines []string
		for _, c := range append(cmds, binds...) {
			lines = append(lines, "  "+c.Node+": "+c.Command)
		}
		return fmt.Errorf("%w: the topology asks to run %d commands in its nodes and to bind %d host paths into them:\n%s",
			ErrExecNotAllowed, len(cmds), len(binds), strings.Join(lines, "\n"))
	}
	if len(cmds) == 0 {
		return nil
	}
	if _, ok := o.Runtime.(runtime.Execer); !ok {
		return fmt.Errorf("the %s runtime cannot run exec: commands inside its nodes", o.Runtime.Name())
	}
	return nil
}

// runExec runs each node's `exec:` commands, in order, with `sh -c`
// inside the node (runtime.Execer: inside the container on docker, as an
// unprivileged user in the node's namespace on netns), once the lab is
// up, as containerlab does. Output goes to the node's log in the run's
// folder; a failing command is a notice and does not undo the deploy.
func (d *deployer) runExec(ctx context.Context) {
	ex, ok := d.o.Runtime.(runtime.Execer)
	if !ok {
		return // checkExec refused the lab if it has commands
	}
	for _, pn := range d.lab.Nodes {
		if len(pn.Exec) == 0 {
			continue
		}
		logPath := d.lrun.Log(pn.Name)
		logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND|syscall.O_NOFOLLOW, 0o644)
		if err != nil {
			notice(d.o.Notice, "warning: node %s: exec: %v", pn.Name, err)
			continue
		}
		d.mu.Lock()
		n := d.nodes[pn.Name]
		d.mu.Unlock()
		for _, line := range pn.Exec {
			fmt.Fprintf(logf, "$ %s\n", line)
			if err := ex.Exec(ctx, n, []string{"sh", "-c", line}, pn.Env, logf); err != nil {
				fmt.Fprintf(logf, "# %v\n", err)
				notice(d.o.Notice, "warning: node %s: exec %q: %v (see %s)", pn.Name, line, err, logPath)
			}
		}
		logf.Close()
	}
}
