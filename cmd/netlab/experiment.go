package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/netlab/netlab/experiment"
	"github.com/netlab/netlab/experiment/runner"
)

const experimentLong = `experiment runs load experiments: a topology, a parameter matrix with
repetitions, workloads, a schedule of events and thresholds, in one file.

  netlab gen dumbbell --pairs 4 --rate 20mbit -o db.yml
  netlab experiment validate cc.yml        every cell checked, nothing run
  netlab experiment run cc.yml -o results  deploy, run every trial, destroy

A run writes results.csv (one row per trial × metric, with every
parameter), flows.csv (one row per flow), timeseries/trial-N.csv,
metadata.json (versions, file hashes, seeds, machine) and report.md (each
cell's mean ± 95% confidence interval, the emulation health of every
trial). A trial the machine limited (agents out of CPU, a shaper below its
rate, flows started late, AF_PACKET ring drops) is marked invalid and left
out of the means. A threshold (assert:) not met makes run exit with 3;
Ctrl-C stops after cleaning up, keeping the finished trials.`

func newExperimentCmd(o *options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "experiment",
		Short: "Run load experiments: a parameter matrix of workloads, with results as data",
		Long:  experimentLong,
	}
	cmd.AddCommand(newExperimentValidateCmd(o), newExperimentRunCmd(o), newExperimentReportCmd(o), newExperimentCompareCmd(o))
	return cmd
}

func newExperimentValidateCmd(o *options) *cobra.Command {
	t := &topoOptions{}
	cmd := &cobra.Command{
		Use:   "validate FILE",
		Short: "Check an experiment file, every cell of it, without running anything",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			x, err := experiment.Load(args[0])
			if err != nil {
				return err
			}
			trials := x.Trials()
			type cell struct {
				Index  int               `json:"index"`
				Values map[string]string `json:"values"`
			}
			var cells []cell
			for _, c := range x.Cells {
				cells = append(cells, cell{c.Index, c.Values})
			}
			return printOut(o, t.format, map[string]any{"name": x.Name, "topology": x.Topology, "cells": cells, "trials": len(trials),
				"duration": x.Duration.String()}, func() {
				fmt.Fprintf(o.stdout, "%s: experiment %s on %s: %d cells × %d repetitions = %d trials of %v (at least %v)\n",
					args[0], x.Name, x.Topology, len(x.Cells), x.Repetitions, len(trials), x.Duration, x.Duration*time.Duration(len(trials)))
				for _, c := range x.Cells {
					fmt.Fprintf(o.stdout, "  cell %d: %s\n", c.Index, c.Key(x.Params))
				}
			})
		},
	}
	addFormatFlag(cmd, t)
	return cmd
}

func newExperimentRunCmd(o *options) *cobra.Command {
	t := &topoOptions{}
	var out, rtName, clockName string
	cmd := &cobra.Command{
		Use:   "run FILE",
		Short: "Deploy the experiment's topology, run every trial, write the results, destroy",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			x, err := experiment.Load(args[0])
			if err != nil {
				return err
			}
			if out == "" {
				out = x.Name + "-results"
			}
			opts := runner.Options{RunDir: runDir(), Out: out, Version: version()}
			switch clockName {
			case "virtual":
				if cmd.Flags().Changed("runtime") {
					return fmt.Errorf("--runtime %s: a virtual clock deploys nothing (the lab runs in this process); leave out --runtime or --clock", rtName)
				}
				opts.Virtual = true
			case "real":
				rt, err := newRuntime(cmd.Context(), rtName)
				if err != nil {
					return err
				}
				opts.Runtime = rt
			default:
				return fmt.Errorf("--clock %q: real (deploy the lab, real time) or virtual (in this process, reproducible exactly)", clockName)
			}
			if t.format != "json" && interactive() {
				opts.Progress = func(msg string) { fmt.Fprintln(o.stderr, msg) }
			}
			res, err := runner.Run(cmd.Context(), x, opts)
			if err != nil {
				return err
			}
			perr := printOut(o, t.format, res, func() {
				fmt.Fprintf(o.stdout, "%d trials (%d invalid) in %s: %s, %s, %s\n", res.Trials, res.Invalid, res.Dir,
					runner.ResultsFile, runner.FlowsFile, runner.ReportFile)
			})
			switch {
			case perr != nil:
				return perr
			case res.Interrupted:
				return &exitError{code: 130, err: fmt.Errorf("interrupted after %d trials; the results so far are in %s", res.Trials, res.Dir)}
			case len(res.Failed) > 0:
				return &exitError{code: 3, err: fmt.Errorf("%d thresholds not met:\n%s", len(res.Failed), strings.Join(res.Failed, "\n"))}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "results directory, new or empty (default NAME-results)")
	cmd.Flags().StringVar(&rtName, "runtime", "netns", "netns (network namespaces, no daemon) or docker")
	cmd.Flags().StringVar(&clockName, "clock", "real", "real (deploy the lab) or virtual (every node a Go stack in this process on a virtual clock: the same seed, the same results exactly)")
	addFormatFlag(cmd, t)
	return cmd
}

func newExperimentReportCmd(o *options) *cobra.Command {
	t := &topoOptions{}
	cmd := &cobra.Command{
		Use:   "report DIR",
		Short: "Render a results directory's report.md again from its results",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			failed, err := runner.Report(args[0])
			if err != nil {
				return err
			}
			path := filepath.Join(args[0], runner.ReportFile)
			if err := printOut(o, t.format, map[string]any{"report": path, "failed": failed}, func() {
				fmt.Fprintln(o.stdout, path)
			}); err != nil {
				return err
			}
			if len(failed) > 0 {
				return &exitError{code: 3, err: fmt.Errorf("%d thresholds not met:\n%s", len(failed), strings.Join(failed, "\n"))}
			}
			return nil
		},
	}
	addFormatFlag(cmd, t)
	return cmd
}

func newExperimentCompareCmd(o *options) *cobra.Command {
	t := &topoOptions{}
	var names []string
	cmd := &cobra.Command{
		Use:   "compare DIR-A DIR-B",
		Short: "Put two runs' results side by side, cell by cell",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, n := range names {
				if _, ok := experiment.MetricByName(n); !ok {
					return fmt.Errorf("--metric %s: no such metric (see the README's metrics table)", n)
				}
			}
			a, err := runner.Load(args[0])
			if err != nil {
				return err
			}
			b, err := runner.Load(args[1])
			if err != nil {
				return err
			}
			if t.format == "json" {
				return printOut(o, "json", map[string]any{"a": a.Cells(), "b": b.Cells()}, nil)
			}
			fmt.Fprint(o.stdout, runner.Compare(a, b, names))
			return nil
		},
	}
	cmd.Flags().StringSliceVar(&names, "metric", []string{"goodput", "jain", "rtt_p99", "retrans_rate", "rtos"}, "metrics to compare")
	addFormatFlag(cmd, t)
	return cmd
}
