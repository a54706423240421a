package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/netlab/netlab/deploy"
	"github.com/netlab/netlab/impair"
	"github.com/netlab/netlab/internal/units"
	"github.com/netlab/netlab/kube"
	"github.com/netlab/netlab/kubelab"
	"github.com/netlab/netlab/labdir"
	"github.com/netlab/netlab/linuxnet"
	"github.com/netlab/netlab/runtime"
	"github.com/netlab/netlab/topology"
)

type deployOptions struct {
	topoOptions
	runtime     string
	maxWorkers  int
	reconfigure bool
	noAgent     bool
	noWait      bool
	keepRuns    string
	allowExec   bool
	cluster     clusterOptions
}

// clusterOptions are deploy's flags for --runtime kubernetes.
type clusterOptions struct {
	kubeconfig, namespace, image string
	workers                      int
	timeout                      time.Duration
}

func newDeployCmd(o *options) *cobra.Command {
	d := &deployOptions{}
	cmd := &cobra.Command{
		Use:   "deploy -t FILE [--runtime netns|docker|kubernetes]",
		Short: "Deploy a lab: nodes, links, and a Go stack on every `stack: go` node",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return runDeploy(cmd.Context(), o, d) },
	}
	addTopoFileFlag(cmd, &d.topoOptions)
	addFormatFlag(cmd, &d.topoOptions)
	f := cmd.Flags()
	f.StringVar(&d.runtime, "runtime", "netns", "netns (network namespaces, no daemon), docker, or kubernetes (worker pods of a cluster netlab is installed on: netlab k8s manifests)")
	f.StringVar(&d.cluster.kubeconfig, "kubeconfig", "", "kubernetes: the kubeconfig file (default: $KUBECONFIG, else ~/.kube/config)")
	f.StringVarP(&d.cluster.namespace, "namespace", "n", "netlab", "kubernetes: the namespace netlab is installed in")
	f.IntVar(&d.cluster.workers, "workers", 0, "kubernetes: worker pods that share the nodes (0: one per ready cluster node, at most one per lab node)")
	f.StringVar(&d.cluster.image, "image", "", "kubernetes: the worker pods' image (default "+kube.ImageRepo+":<hash of this binary>, as netlab k8s image writes it)")
	f.DurationVar(&d.cluster.timeout, "timeout", kubelab.DefaultTimeout, "kubernetes: how long to wait for the lab to be Ready")
	f.IntVar(&d.maxWorkers, "max-workers", 0, "nodes and links worked on at once (0: one per CPU, 2 to 8)")
	f.BoolVar(&d.reconfigure, "reconfigure", false, "destroy the lab first if it is running")
	f.BoolVar(&d.noAgent, "no-agent", false, "make nodes and links only, start no node agent")
	addNoWaitFlag(cmd, &d.noWait)
	f.BoolVar(&d.allowExec, "allow-exec", false, "run the topology's exec: commands and, on docker, its binds of host paths although the file is not yours (deploy lists them first)")
	f.StringVar(&d.keepRuns, "keep-runs", "1GiB", "what the lab's earlier runs (traces, captures, logs) may keep in the lab directory; the oldest go first (0: keep none)")
	return cmd
}

// addNoWaitFlag adds --no-wait: fail rather than wait while another
// command deploys or destroys the same lab.
func addNoWaitFlag(cmd *cobra.Command, noWait *bool) {
	cmd.Flags().BoolVar(noWait, "no-wait", false, "fail at once, rather than wait, when another command is deploying or destroying the lab")
}

func runDeploy(ctx context.Context, o *options, d *deployOptions) error {
	lab, err := topology.Load(d.file)
	if err != nil {
		return err
	}
	for _, w := range lab.Warnings {
		fmt.Fprintln(o.stderr, "warning:", w)
	}
	if d.runtime == kubelab.Runtime {
		return runDeployCluster(ctx, o, d, lab)
	}
	if err := d.cluster.onlyOnCluster(d.runtime); err != nil {
		return err
	}
	rt, err := newRuntime(ctx, d.runtime)
	if err != nil {
		return err
	}
	if relays := lab.Relays(); d.noAgent && len(relays) > 0 {
		return fmt.Errorf("--no-agent: %s carries its netem: block through a relay that the agent runs (its peer or LAN has no Go stack to apply it), "+
			"so without the agent it would carry nothing: deploy with the agent, or remove the netem: block from that link", relays[0])
	}
	keep, err := d.maxRunBytes()
	if err != nil {
		return err
	}
	opts := deploy.Options{Lab: lab, Runtime: rt, MaxWorkers: d.maxWorkers, Reconfigure: d.reconfigure, RunDir: runDir(),
		NoWait: d.noWait, MaxRunBytes: keep, Notice: func(msg string) { fmt.Fprintln(o.stderr, msg) }}
	if opts.AllowExec, err = allowExec(o, lab, rt.Name(), d.allowExec); err != nil {
		return err
	}
	if !d.noAgent {
		opts.Agent = deploy.Agents{}
	}
	if d.format != "json" && interactive() {
		opts.Progress = deploy.ProgressLine(o.stderr, "deploy")
	}
	st, err := deploy.Deploy(ctx, opts)
	if err != nil {
		return err
	}
	return printDeployed(o, d, st)
}

// maxRunBytes is --keep-runs as deploy.Options.MaxRunBytes takes it.
func (d *deployOptions) maxRunBytes() (int64, error) {
	keep, err := units.ParseSize(d.keepRuns)
	if err != nil {
		return 0, fmt.Errorf("--keep-runs: %w", err)
	}
	if keep == 0 {
		keep = -1 // deploy.Options: less than 0 keeps none
	}
	return keep, nil
}

// printDeployed prints what deploy made.
func printDeployed(o *options, d *deployOptions, st *deploy.State) error {
	if d.format == "json" {
		return printOut(o, "json", st, nil)
	}
	on := st.Runtime
	if st.Cluster != nil {
		pods := "worker pods"
		if st.Cluster.Workers == 1 {
			pods = "worker pod"
		}
		on = fmt.Sprintf("%s (namespace %s, %d %s)", st.Runtime, st.Cluster.Namespace, st.Cluster.Workers, pods)
	}
	fmt.Fprintf(o.stdout, "lab %s deployed on %s: %d nodes, run %s (%s)\n", st.Lab, on, len(st.Nodes), st.Run,
		filepath.Join(st.LabDir, labdir.RunsDir, st.Run))
	printNodes(o, st, len(st.Nodes) <= 50)
	return nil
}

// allowExec lists the lab's exec: commands and says whether they may run:
// they may when the topology file is the caller's own, with --allow-exec,
// or when the caller says so at a terminal. Otherwise deploying someone
// else's file would run their commands on this machine unread.
func allowExec(o *options, lab *topology.Lab, rtName string, flag bool) (bool, error) {
	cmds := deploy.ExecCommands(lab)
	var binds []deploy.NodeCommand
	if rtName == "docker" {
		binds = deploy.HostBinds(lab)
	}
	if len(cmds)+len(binds) == 0 {
		return false, nil
	}
	if len(cmds) > 0 {
		fmt.Fprintf(o.stderr, "the topology runs these commands in its nodes once they are up (%s):\n", execConfinement)
		for _, c := range cmds {
			fmt.Fprintf(o.stderr, "  %s: %s\n", c.Node, c.Command)
		}
	}
	if len(binds) > 0 {
		fmt.Fprintf(o.stderr, "the topology gives its containers these paths of this machine (what a node's programs can then read, or write unless :ro):\n")
		for _, c := range binds {
			fmt.Fprintf(o.stderr, "  %s: %s\n", c.Node, c.Command)
		}
	}
	owner, caller, err := fileOwner(lab.File)
	if err != nil {
		return false, err
	}
	if flag || owner == caller {
		return true, nil
	}
	why := fmt.Sprintf("%s belongs to uid %d, not to you (uid %d)", lab.File, owner, caller)
	if interactive() && stdinIsTerminal() {
		fmt.Fprintf(o.stderr, "%s. Run these commands? [y/N] ", why)
		var answer string
		fmt.Fscanln(os.Stdin, &answer)
		if a := strings.ToLower(strings.TrimSpace(answer)); a == "y" || a == "yes" {
			return true, nil
		}
		return false, errors.New("not deployed: the exec: commands and binds were not allowed")
	}
	return false, fmt.Errorf("%s: read the commands and binds above, and deploy with --allow-exec if they may run", why)
}

// execConfinement says where exec: commands run, for the list deploy
// prints (runtime/netns.Exec and runtime/docker.Exec).
const execConfinement = "inside the container on docker; on netns in the node's network namespace as user nobody, " +
	"allowed to administer that namespace's network only; on kubernetes as root of the node's worker pod, in the node's network namespace, with busybox's programs"

// fileOwner returns the uid that owns path and the uid of the caller: the
// user who ran sudo, if netlab runs under sudo.
func fileOwner(path string) (owner, caller int, err error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, 0, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, fmt.Errorf("%s: no owner", path)
	}
	caller = os.Getuid()
	if s := os.Getenv("SUDO_UID"); s != "" && caller == 0 {
		if uid, err := strconv.Atoi(s); err == nil {
			caller = uid
		}
	}
	return int(st.Uid), caller, nil
}

func stdinIsTerminal() bool {
	fi, err := os.Stdin.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func printNodes(o *options, st *deploy.State, withAddrs bool) {
	w := tabwriter.NewWriter(o.stdout, 2, 4, 2, ' ', 0)
	where := "NAMESPACE"
	if st.Cluster != nil {
		where = "POD on KUBERNETES NODE"
	}
	fmt.Fprintln(w, "NODE\tKIND\tSTACK\t"+where+"\tALIVE\tAGENT\tINTERFACES")
	for _, n := range st.Nodes {
		var ifs []string
		if withAddrs {
			if n.MgmtIPv4 != "" {
				ifs = append(ifs, "eth0 (mgmt) "+n.MgmtIPv4)
			}
			for _, i := range n.Interfaces {
				name := i.Name
				if i.Written != "" {
					name += " (" + i.Written + ")"
				}
				ifs = append(ifs, name+" "+i.IPv4)
			}
		} else {
			ifs = []string{fmt.Sprintf("%d", len(n.Interfaces))}
		}
		agent := n.Agent
		if agent == "" {
			agent = "-"
		}
		at := n.LongName
		if st.Cluster != nil {
			at = n.Pod
			if n.KubeNode != "" {
				at += " on " + n.KubeNode
			}
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%v\t%s\t%s\n", n.Name, n.Kind, n.Stack, at, n.Alive, agent, strings.Join(ifs, ", "))
	}
	w.Flush()
	for _, n := range st.Nodes {
		if !n.Alive && n.Reason != "" {
			fmt.Fprintf(o.stdout, "  %s is not alive: %s\n", n.Name, n.Reason)
		}
	}
}

type destroyOptions struct {
	topoOptions
	all, cleanup, noWait, forget bool
	runtime, name                string
}

func newDestroyCmd(o *options) *cobra.Command {
	d := &destroyOptions{}
	cmd := &cobra.Command{
		Use:   "destroy [-t FILE | --all] [--cleanup]",
		Short: "Remove a lab: agents, nodes, links, bridges (also after a crash)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rtName := d.runtime
			rl, _ := runningLab(d.file)
			if d.name != "" {
				rl = nil
				if labs, err := deploy.Running(runDir()); err == nil {
					for i := range labs {
						if labs[i].Lab == d.name {
							rl = &labs[i]
						}
					}
				}
			}
			if rtName == "" {
				rtName = "netns"
				if rl != nil && rl.Runtime != "" && !d.all {
					rtName = rl.Runtime
				}
			}
			if d.forget && (d.all || rtName != kubelab.Runtime) {
				return errors.New("--forget: only for one lab on a cluster that cannot be reached any more (a lab of this machine is destroyed whatever state it is in)")
			}
			if rtName == kubelab.Runtime && !d.all {
				if rl == nil || rl.Runtime != kubelab.Runtime {
					return fmt.Errorf("no lab deployed on kubernetes from this machine is selected: %w", deploy.ErrNotRunning)
				}
				err := destroyCluster(cmd.Context(), o, d, rl.Lab)
				if err != nil {
					return err
				}
				return printOut(o, d.format, map[string]bool{"destroyed": true}, func() { fmt.Fprintln(o.stdout, "destroyed") })
			}
			if d.all {
				// The labs on a cluster first: the runtime of this
				// machine knows nothing of them.
				cls, err := clusterLabs()
				if err != nil {
					return err
				}
				var errs []error
				for _, l := range cls {
					errs = append(errs, destroyCluster(cmd.Context(), o, d, l.Lab))
				}
				if err := errors.Join(errs...); err != nil {
					return err
				}
				if rtName == kubelab.Runtime {
					return printOut(o, d.format, map[string]bool{"destroyed": len(cls) > 0}, func() { fmt.Fprintln(o.stdout, "destroyed") })
				}
			}
			rt, err := newRuntime(cmd.Context(), rtName)
			if err != nil {
				return err
			}
			opts := deploy.DestroyOptions{All: d.all, Runtime: rt, Cleanup: d.cleanup, Agent: deploy.Agents{}, RunDir: runDir(),
				NoWait: d.noWait, Notice: func(msg string) { fmt.Fprintln(o.stderr, msg) }}
			switch {
			case d.all && (d.file != "" || d.name != ""), d.file != "" && d.name != "":
				return errors.New("say which lab with one of -t FILE, --name LAB or --all")
			case d.name != "":
				opts.LabName = d.name
			case !d.all:
				opts.TopoFile = d.file
			}
			if interactive() {
				opts.Progress = deploy.ProgressLine(o.stderr, "destroy")
			}
			err = deploy.Destroy(cmd.Context(), opts)
			if errors.Is(err, deploy.ErrNotRunning) {
				fmt.Fprintln(o.stderr, err)
				return printOut(o, d.format, map[string]bool{"destroyed": false}, func() {})
			}
			if err != nil {
				return err
			}
			return printOut(o, d.format, map[string]bool{"destroyed": true}, func() { fmt.Fprintln(o.stdout, "destroyed") })
		},
	}
	addTopoFlag(cmd, &d.topoOptions)
	cmd.Flags().BoolVarP(&d.all, "all", "a", false, "destroy every lab netlab knows of (other people's too)")
	cmd.Flags().StringVar(&d.name, "name", "", "the lab to destroy, by name (when its topology file is gone)")
	cmd.Flags().BoolVarP(&d.cleanup, "cleanup", "c", false, "also remove the lab directory (every run: traces, captures, logs)")
	cmd.Flags().MarkShorthandDeprecated("cleanup", "use --cleanup (-c is --count on the verbs that count)")
	addFormatFlag(cmd, &d.topoOptions)
	cmd.Flags().StringVar(&d.runtime, "runtime", "", "runtime of the lab (default: the one it was deployed on)")
	addNoWaitFlag(cmd, &d.noWait)
	cmd.Flags().BoolVar(&d.forget, "forget", false, "a lab on a cluster gone for good: remove its record here without reaching the cluster")
	return cmd
}

func newInspectCmd(o *options) *cobra.Command {
	t := &topoOptions{}
	var all bool
	cmd := &cobra.Command{
		Use:   "inspect [-t FILE | --all] [--format text|json]",
		Short: "Show a running lab's nodes, interfaces and whether they are alive",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rtName := "netns"
			if rl, _ := runningLab(t.file); rl != nil && rl.Runtime != "" && rl.Runtime != kubelab.Runtime {
				rtName = rl.Runtime
			}
			rt, err := newRuntime(cmd.Context(), rtName)
			if err != nil {
				return err
			}
			sts, err := deploy.Inspect(cmd.Context(), deploy.InspectOptions{TopoFile: t.file, All: all || t.file == "", Runtime: rt, RunDir: runDir()})
			if err != nil {
				return err
			}
			for _, st := range sts {
				if err := inspectCluster(cmd.Context(), st); err != nil {
					return err
				}
			}
			if t.format == "json" {
				return printOut(o, "json", sts, nil)
			}
			if len(sts) == 0 {
				fmt.Fprintln(o.stdout, "no lab is running")
				return nil
			}
			for _, st := range sts {
				fmt.Fprintf(o.stdout, "lab %s (%s, %s, run %s) from %s\n", st.Lab, st.Runtime, st.Status, st.Run, st.TopoFile)
				printNodes(o, st, true)
				if st.StateDir != "" {
					printImpairments(o, filepath.Join(st.StateDir, labdir.PlanFile))
				}
			}
			return nil
		},
	}
	addTopoFlag(cmd, t)
	addFormatFlag(cmd, t)
	cmd.Flags().BoolVarP(&all, "all", "a", false, "every running lab")
	return cmd
}

func newExecCmd(o *options) *cobra.Command {
	t := &topoOptions{}
	cmd := &cobra.Command{
		Use:   "exec [-t FILE] NODE -- COMMAND [ARGS...]",
		Short: "Run a command inside a node: in its container on docker when the node has an image: (as docker exec -i), in its network namespace in its worker pod on kubernetes (busybox's programs), else in its network namespace with this machine's programs",
		Args:  cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := findLab(t)
			if err != nil {
				return err
			}
			n, err := r.node(args[0])
			if err != nil {
				return err
			}
			// A node of netlab's own image (no image: in the file) has
			// nothing in its container but netlab: this machine's
			// programs run in its network namespace, as on netns.
			if r.state.Runtime == "docker" && r.lab.Node(n.Name).Image != "" {
				rt, err := newRuntime(cmd.Context(), "docker")
				if err != nil {
					return err
				}
				d, ok := rt.(interface {
					Attach(context.Context, runtime.Node, []string, io.Reader, io.Writer, io.Writer) (int, error)
				})
				if !ok {
					return fmt.Errorf("the docker runtime cannot attach to a container")
				}
				code, err := d.Attach(cmd.Context(), runtime.Node{Name: n.Name, LongName: n.LongName, ID: n.ID}, args[1:], os.Stdin, o.stdout, o.stderr)
				if err != nil {
					return err
				}
				if code != 0 {
					os.Exit(code)
				}
				return nil
			}
			if r.state.Cluster != nil {
				c, err := r.podConn(n)
				if err != nil {
					return err
				}
				code, err := c.Exec(cmd.Context(), n.Name, n.Pod, args[1:], os.Stdin, o.stdout, o.stderr)
				if err != nil {
					return err
				}
				if code != 0 {
					os.Exit(code)
				}
				return nil
			}
			if n.NSPath == "" {
				return fmt.Errorf("node %s has no network namespace (is the lab still being deployed?)", n.Name)
			}
			var runErr error
			err = linuxnet.InNamespace(n.NSPath, func() error {
				c := exec.CommandContext(cmd.Context(), args[1], args[2:]...)
				c.Stdin, c.Stdout, c.Stderr = os.Stdin, o.stdout, o.stderr
				runErr = c.Run() // forked from this thread: the child starts in the namespace
				return nil
			})
			if err != nil {
				return err
			}
			var ee *exec.ExitError
			if errors.As(runErr, &ee) {
				os.Exit(ee.ExitCode())
			}
			return runErr
		},
	}
	addTopoFlag(cmd, t)
	return cmd
}

func absPath(p string) (string, error) { return filepath.Abs(p) }

// printImpairments lists the impairments the lab was deployed with and
// their seeds: the same seed and the same traffic give the same decisions.
func printImpairments(o *options, planFile string) {
	lab, err := topology.ReadPlan(planFile)
	if err != nil {
		return
	}
	first := true
	for _, n := range lab.Nodes {
		for _, ifc := range n.Interfaces {
			for _, d := range []struct {
				dir string
				im  *impair.Config
			}{{"egress", ifc.Egress}, {"ingress", ifc.Ingress}} {
				if d.im == nil {
					continue
				}
				if first {
					fmt.Fprintln(o.stdout, "impairments (as deployed; `netlab impair show` for changes and counters):")
					first = false
				}
				where := ""
				if ifc.Relay || ifc.Peer != nil && ifc.Peer.Relay {
					where = ", applied by a relay"
				}
				fmt.Fprintf(o.stdout, "  %s %s: %s (seed %d%s)\n", ifc, d.dir, d.im, d.im.Seed, where)
			}
		}
	}
}
