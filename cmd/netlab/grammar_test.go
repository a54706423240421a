package main

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// quietVerbs print nothing of their own that --format could shape: exec
// passes the command's output through, graph prints a drawing in the
// syntax --syntax picks, completion prints a shell script, help is cobra's,
// agent, worker and controller are not for people, k8s manifests prints the
// YAML a cluster admin applies.
var quietVerbs = []string{"netlab exec", "netlab graph", "netlab completion", "netlab help", "netlab agent", "netlab pause",
	"netlab worker", "netlab controller", "netlab k8s manifests"}

// fileVerbs read the topology file itself: -t is required there.
var fileVerbs = []string{"netlab deploy", "netlab validate", "netlab graph"}

// noLabVerbs work without a lab.
var noLabVerbs = []string{"netlab version", "netlab completion", "netlab help", "netlab agent", "netlab pause", "netlab lab", "netlab doctor", "netlab gen", "netlab image",
	"netlab worker", "netlab controller", "netlab k8s", // a cluster's, not a lab's
	"netlab experiment"} // an experiment file names its topology and deploys it

// leaves returns every command that runs (not a group), by path.
func leaves(root *cobra.Command) []*cobra.Command {
	var out []*cobra.Command
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Runnable() {
			out = append(out, c)
		}
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(root)
	return out
}

// under reports whether path is one of the verbs or below one of them.
func under(path string, verbs []string) bool {
	for _, v := range verbs {
		if path == v || strings.HasPrefix(path, v+" ") {
			return true
		}
	}
	return false
}

// TestOneGrammar walks every verb's flags: a short flag means one long
// flag everywhere, a long flag is one type everywhere, every verb that
// prints takes --format text|json, every verb on a lab takes -t/--topo,
// time limits are --duration, and the old spellings are hidden aliases.
func TestOneGrammar(t *testing.T) {
	root := newRootCmd(&options{stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}})
	root.InitDefaultCompletionCmd()
	root.InitDefaultHelpCmd()
	shorts := map[string]string{} // letter -> long name
	types := map[string]string{}  // long name -> type
	where := map[string]string{}  // long name or letter -> first verb
	for _, c := range leaves(root) {
		path := c.CommandPath()
		for _, f := range visibleFlags(c) {
			if f.Shorthand != "" && f.ShorthandDeprecated == "" {
				if long, ok := shorts[f.Shorthand]; ok && long != f.Name {
					t.Errorf("-%s is --%s in %s but --%s in %s", f.Shorthand, long, where["-"+f.Shorthand], f.Name, path)
				} else if !ok {
					shorts[f.Shorthand], where["-"+f.Shorthand] = f.Name, path
				}
			}
			if typ, ok := types[f.Name]; ok && typ != f.Value.Type() {
				t.Errorf("--%s is a %s in %s but a %s in %s", f.Name, typ, where[f.Name], f.Value.Type(), path)
			} else if !ok {
				types[f.Name], where[f.Name] = f.Value.Type(), path
			}
			switch f.Name {
			case "time", "timeout-after", "for":
				t.Errorf("%s: --%s is a time limit: call it --duration", path, f.Name)
			case "json":
				t.Errorf("%s: --json: use --format json", path)
			case "dir":
				t.Errorf("%s: --dir is ambiguous (a direction? a directory?): use --direction or --directory", path)
			}
		}
		format := c.Flags().Lookup("format")
		switch {
		case under(path, quietVerbs):
		case format == nil || format.Deprecated != "":
			t.Errorf("%s prints, but has no --format text|json", path)
		case format.DefValue != "text" || !strings.Contains(format.Usage, "json"):
			t.Errorf("%s: --format defaults to %q (%q); want text, and json offered", path, format.DefValue, format.Usage)
		}
		topo := c.Flags().Lookup("topo")
		switch {
		case under(path, noLabVerbs):
		case topo == nil || topo.Shorthand != "t" || topo.Value.Type() != "string":
			t.Errorf("%s has no -t/--topo", path)
		case slices.Contains(fileVerbs, path) != strings.Contains(topo.Usage, "required"):
			t.Errorf("%s: -t says %q", path, topo.Usage)
		}
	}
	for _, want := range []string{"t", "o", "w", "c", "a"} {
		if _, ok := shorts[want]; !ok {
			t.Errorf("-%s is used nowhere: the grammar in grammar.go names it", want)
		}
	}
}

// TestOldSpellingsStillWork: renamed flags keep working, saying what to
// use, and --format refuses what it does not know.
func TestOldSpellingsStillWork(t *testing.T) {
	for _, tc := range []struct {
		args      []string
		out, fail string
	}{
		{args: []string{"version", "--format", "json"}, out: `"version"`},
		{args: []string{"version", "--format", "yaml"}, fail: `--format "yaml": want text or json`},
		{args: []string{"graph", "-t", "../../examples/two-hosts.yml", "--format", "mermaid"}, out: "Flag --format has been deprecated, use --syntax"},
		{args: []string{"graph", "-t", "../../examples/two-hosts.yml", "--syntax", "mermaid"}, out: "graph"},
		{args: []string{"graph"}, fail: `required flag(s) "topo" not set`},
		{args: []string{"validate", "-t", "../../examples/two-hosts.yml", "--format", "json"}, out: `"name": "two-hosts"`},
	} {
		var out bytes.Buffer
		root := newRootCmd(&options{stdout: &out, stderr: &out})
		root.SetArgs(tc.args)
		err := root.ExecuteContext(context.Background())
		switch {
		case tc.fail != "" && (err == nil || !strings.Contains(err.Error(), tc.fail)):
			t.Errorf("netlab %v = %v, want an error saying %q", tc.args, err, tc.fail)
		case tc.fail == "" && err != nil:
			t.Errorf("netlab %v: %v\n%s", tc.args, err, out.String())
		case tc.fail == "" && !strings.Contains(out.String(), tc.out):
			t.Errorf("netlab %v printed %q, want %q in it", tc.args, out.String(), tc.out)
		}
	}
	var v map[string]string
	var out bytes.Buffer
	root := newRootCmd(&options{stdout: &out, stderr: &out})
	root.SetArgs([]string{"version", "--format", "json"})
	if err := root.ExecuteContext(context.Background()); err != nil || json.Unmarshal(out.Bytes(), &v) != nil || v["version"] == "" {
		t.Errorf("version --format json: %v, %q", err, out.String())
	}
}
