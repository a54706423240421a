package experiment

import (
	"flag"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the README's metrics table from Metrics")

// metricsTable is the README's table of metrics, made from Metrics.
func metricsTable() string {
	var b strings.Builder
	b.WriteString("\nEvery trial reports these (results.csv, one row each); times are the trial's, from its\n")
	b.WriteString("time zero; the measured window is [warmup, duration].\n\n")
	b.WriteString("| metric | unit | definition |\n|---|---|---|\n")
	for _, m := range Metrics {
		b.WriteString("| `" + m.Name + "` | " + string(m.Unit) + " | " + strings.ReplaceAll(m.Doc, "|", "\\|") + " |\n")
	}
	return b.String()
}

func TestREADMEMetrics(t *testing.T) {
	const path = "../README.md"
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	begin := strings.Index(s, "<!-- metrics:begin")
	end := strings.Index(s, "<!-- metrics:end -->")
	if begin < 0 || end < begin {
		t.Fatal("README.md has no <!-- metrics:begin ... --> <!-- metrics:end --> markers")
	}
	begin += strings.Index(s[begin:], "-->") + len("-->\n")
	if *update {
		s = s[:begin] + strings.TrimPrefix(metricsTable(), "\n") + s[end:]
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if got, want := s[begin:end], strings.TrimPrefix(metricsTable(), "\n"); got != want {
		t.Errorf("README.md's metrics table is not experiment.Metrics': run go test ./experiment -run TestREADMEMetrics -update\ngot:\n%s\nwant:\n%s", got, want)
	}
}
