package runner

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeResults makes a results directory by hand: cell 0 valid twice,
// cell 1 once valid and once not.
func writeResults(t *testing.T, goodputs [4]string) string {
	t.Helper()
	dir := t.TempDir()
	meta := Metadata{Experiment: "cc", File: "cc.yml", Params: nil, Repetitions: 2, Limits: DefaultLimits,
		Asserts: []AssertMeta{{Text: "goodput > 15mbit", Line: 9, Col: 5}},
		Trials:  []TrialMeta{{N: 4, Invalid: []string{"a flow started 300ms late"}}}}
	meta.Params = append(meta.Params, struct {
		Name   string   `json:"name"`
		Values []string `json:"values"`
	}{"cc", []string{"reno", "cubic"}})
	b, _ := json.Marshal(meta)
	os.WriteFile(filepath.Join(dir, MetadataFile), b, 0o644)
	csv := "trial,cell,rep,seed,cc,metric,value,unit,valid\n" +
		"1,0,1,11,reno,goodput," + goodputs[0] + ",bit/s,1\n1,0,1,11,reno,jain,NA,number,1\n" +
		"2,1,1,12,cubic,goodput," + goodputs[1] + ",bit/s,1\n" +
		"3,0,2,13,reno,goodput," + goodputs[2] + ",bit/s,1\n" +
		"4,1,2,14,cubic,goodput," + goodputs[3] + ",bit/s,0\n"
	os.WriteFile(filepath.Join(dir, ResultsFile), []byte(csv), 0o644)
	return dir
}

func TestReportFromDirectory(t *testing.T) {
	dir := writeResults(t, [4]string{"16e6", "14e6", "18e6", "30e6"})
	failed, err := Report(dir)
	if err != nil {
		t.Fatal(err)
	}
	// cubic's valid trial is 14 Mbit/s; its invalid 30 must not count.
	if len(failed) != 1 || failed[0] != "cc.yml:9:5: cc=cubic: goodput > 15mbit not met: goodput is 14.00 Mbit/s (mean of 1 valid trials)" {
		t.Fatalf("failed %q", failed)
	}
	md, _ := os.ReadFile(filepath.Join(dir, ReportFile))
	for _, want := range []string{
		"| cc=reno | 2 | 17.00 Mbit/s ± 12.71 |", // t(0.975, 1) = 12.706 × sd 1.414/√2
		"| cc=cubic | 1 | 14.00 Mbit/s |",
		"| 4 | cc=cubic | 2 | n/a | n/a | n/a | n/a | n/a | **no**: a flow started 300ms late |",
		"- **not met**: cc.yml:9:5: cc=cubic",
	} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report.md lacks %q:\n%s", want, md)
		}
	}
}

func TestCompareMarksDistinctIntervals(t *testing.T) {
	a, err := Load(writeResults(t, [4]string{"16e6", "14e6", "16.1e6", "30e6"}))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Load(writeResults(t, [4]string{"10e6", "14e6", "10.1e6", "30e6"}))
	if err != nil {
		t.Fatal(err)
	}
	out := Compare(a, b, []string{"goodput", "jain"})
	for _, want := range []string{
		"| cc=reno | goodput | 16.05 Mbit/s ± 0.64 | 10.05 Mbit/s ± 0.64 | -6.00 Mbit/s | **-37.4%** |",
		"| cc=cubic | goodput | 14.00 Mbit/s | 14.00 Mbit/s | 0.00 Mbit/s | +0.0% |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("compare lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "| jain |") {
		t.Errorf("a metric that is n/a in both runs is listed:\n%s", out)
	}
}

func TestLoadRefusesWhatIsNotResults(t *testing.T) {
	if _, err := Load(t.TempDir()); err == nil || !strings.Contains(err.Error(), "not a results directory") {
		t.Errorf("error %v", err)
	}
	dir := writeResults(t, [4]string{"x", "1", "1", "1"})
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "results.csv:2: not a row netlab wrote") {
		t.Errorf("error %v", err)
	}
}
