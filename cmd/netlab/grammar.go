package main

// One CLI grammar (README "One grammar"): the flags several verbs share
// are added here, so that a flag means the same thing on every verb.
//
//   - -t/--topo FILE names the lab by its topology file; it may be left
//     out where exactly one lab runs, except on the verbs that read the
//     file itself (deploy, validate, graph).
//   - --format text|json on every verb that prints (inspect also takes
//     its old word, table, for text).
//   - --duration D is every time limit; --run ID|latest|all picks the
//     run a reading verb reads; --no-wait fails instead of waiting for a
//     lab another command holds.
//   - a short flag means one long flag everywhere: -t topo, -o output,
//     -w write, -c count, -a all, -i interval, -s size.
//   - renamed flags keep working, with a note (see aliasFlag).

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// topoOptions are what most verbs share: the lab's topology file and the
// output format.
type topoOptions struct {
	file   string
	format string
}

// addTopoFlag adds -t/--topo to a verb that works on a deployed lab.
func addTopoFlag(cmd *cobra.Command, t *topoOptions) {
	cmd.Flags().StringVarP(&t.file, "topo", "t", "", "topology file (may be left out when exactly one lab is running)")
	cmd.MarkFlagFilename("topo", "yml", "yaml")
}

// addTopoFileFlag adds -t/--topo to a verb that reads the file itself.
func addTopoFileFlag(cmd *cobra.Command, t *topoOptions) {
	cmd.Flags().StringVarP(&t.file, "topo", "t", "", "topology file (required)")
	cmd.MarkFlagFilename("topo", "yml", "yaml")
	cmd.MarkFlagRequired("topo")
}

// formatWords are the values --format takes, and the old words each verb
// still takes for them.
var formatAliases = map[string]map[string]string{
	"inspect": {"table": "text"},
}

// checkFormat checks the verb's --format, if it has one, and turns an old
// word into the new one.
func checkFormat(cmd *cobra.Command) error {
	f := cmd.Flags().Lookup("format")
	if f == nil || cmd.Annotations[annotationOwnFormat] != "" {
		return nil
	}
	v := f.Value.String()
	if w, ok := formatAliases[cmd.Name()][v]; ok {
		return f.Value.Set(w)
	}
	if v != "text" && v != "json" {
		return fmt.Errorf("--format %q: want text or json", v)
	}
	return nil
}

// annotationOwnFormat marks a verb whose --format is not text|json (a
// deprecated spelling of another flag).
const annotationOwnFormat = "netlab-own-format"

// aliasFlag adds old as a deprecated spelling of the flag called name,
// setting the same value: `--old` works and says to use `--name`.
func aliasFlag(cmd *cobra.Command, old, name string) {
	f := cmd.Flags().Lookup(name)
	if f == nil {
		panic("aliasFlag: no flag " + name)
	}
	cmd.Flags().Var(f.Value, old, f.Usage)
	if f.Value.Type() == "bool" {
		cmd.Flags().Lookup(old).NoOptDefVal = "true"
	}
	cmd.Flags().MarkDeprecated(old, "use --"+name)
}

// visibleFlags returns the flags of cmd that are not deprecated or
// hidden, by name.
func visibleFlags(cmd *cobra.Command) []*pflag.Flag {
	var out []*pflag.Flag
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Deprecated == "" && !f.Hidden {
			out = append(out, f)
		}
	})
	slices.SortFunc(out, func(a, b *pflag.Flag) int { return strings.Compare(a.Name, b.Name) })
	return out
}
