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
		Trials: []TrialMeta{{N: 1, Events: []EventMeta{{At: 1.5, Link: "bottleneck", Action: "down"}}},
			{N: 4, Invalid: []string{"a flow started 300ms late"}}}}
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

// TestReportFigures: the report draws its figures from the directory's
// files — FCTs of valid trials' completed flows, each cell's first valid
// trial over time with its events — and links them.
func TestReportFigures(t *testing.T) {
	dir := writeResults(t, [4]string{"16e6", "14e6", "18e6", "30e6"})
	flows := "trial,cell,rep,cc,flow,size,fct_s,slowdown,complete\n" +
		"1,0,1,reno,1,100000,0.05,2.5,true\n1,0,1,reno,2,200000,0.09,3,true\n" +
		"2,1,1,cubic,1,100000,0.04,2,true\n" +
		"4,1,2,cubic,1,100000,9.99,500,true\n" + // an invalid trial: left out
		"3,0,2,reno,1,100000,NA,NA,false\n" // incomplete: left out
	os.WriteFile(filepath.Join(dir, FlowsFile), []byte(flows), 0o644)
	os.MkdirAll(filepath.Join(dir, SeriesDir), 0o755)
	for _, n := range []string{"1", "2", "4"} {
		ts := "t_s,series,metric,value\n0.1,flow1,goodput_bps,1e6\n0.2,flow1,goodput_bps,2e6\n0.1,r1:eth1>egress,queue_len,3\n0.2,r1:eth1>egress,queue_len,5\n"
		os.WriteFile(filepath.Join(dir, SeriesDir, "trial-"+n+".csv"), []byte(ts), 0o644)
	}
	r, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	in, err := r.FigureInput()
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Flows) != 3 {
		t.Errorf("flows %+v, want the 3 complete ones of valid trials", in.Flows)
	}
	if len(in.Trials) != 2 || in.Trials[0].N != 1 || in.Trials[1].N != 2 {
		t.Fatalf("trials %+v, want 1 and 2 (cubic's first valid)", in.Trials)
	}
	if ev := in.Trials[0].Events; len(ev) != 1 || ev[0].T != 1.5 || ev[0].Label != "bottleneck down" {
		t.Errorf("trial 1 events %+v", ev)
	}
	if _, err := Report(dir); err != nil {
		t.Fatal(err)
	}
	md, _ := os.ReadFile(filepath.Join(dir, ReportFile))
	for _, row := range []string{
		"| cc=reno | <=100KB | 1 | 50.00 ms | 50.00 ms | 50.00 ms | 2.5 | 2.5 | 2.5 |",
		"| cc=reno | <=10MB | 1 | 90.00 ms |",
		"| cc=cubic | <=100KB | 1 | 40.00 ms | 40.00 ms | 40.00 ms | 2 | 2 | 2 |",
	} {
		if !strings.Contains(string(md), row) {
			t.Errorf("report.md lacks the size row %q:\n%s", row, md)
		}
	}
	for _, f := range []string{"figures/fct-cdf", "figures/slowdown-cdf", "figures/goodput-trial-1", "figures/goodput-trial-2"} {
		if !strings.Contains(string(md), "]("+f+".svg)") {
			t.Errorf("report.md does not link %s.svg:\n%s", f, md)
		}
		for _, ext := range []string{".svg", ".png"} {
			if st, err := os.Stat(filepath.Join(dir, f+ext)); err != nil || st.Size() == 0 {
				t.Errorf("%s%s: %v", f, ext, err)
			}
		}
	}
	if strings.Contains(string(md), "goodput-trial-4") {
		t.Error("report.md draws the invalid trial 4")
	}
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
		"| 4 | cc=cubic | 2 | n/a | n/a | n/a | n/a | n/a | n/a | **no**: a flow started 300ms late |",
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
