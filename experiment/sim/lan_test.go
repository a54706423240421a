package sim

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/netlab/netlab/impair"
	"github.com/netlab/netlab/nodeagent"
	"github.com/netlab/netlab/stack"
	"github.com/netlab/netlab/topology"
)

// lanYAML has a LAN of three members and a bridge node, impaired with
// jitter and losses.
const lanYAML = `name: lan
topology:
  auto-routes: true
  nodes:
    r1: {kind: router}
    h1: {}
    h2: {}
    h3: {}
    sw: {kind: bridge}
  links:
    - endpoints: ["h1:eth1", "r1:eth1"]
      netem: {a-to-b: {delay: 5ms, jitter: 1ms, distribution: normal}, b-to-a: {rate: 10mbit, loss: 0.5%}}
    - name: office
      endpoints: ["r1:eth2", "h2:eth1", "h3:eth1"]
      netem: {delay: 2ms}
    - endpoints: ["h2:eth2", "sw:p1"]
      netem: {a-to-b: {loss-model: {model: gemodel, p: 1%}}}
    - endpoints: ["sw:p2", "h3:eth2"]
`

// lanRun is what a run of the LAN lab produced.
type lanRun struct {
	Reports map[string][]nodeagent.FlowReport  `json:"reports"`
	Sink    []nodeagent.ConnRecord             `json:"sink"`
	RR      []nodeagent.ConnRecord             `json:"rr"`
	Impair  map[string][]nodeagent.ImpairState `json:"impair"`
	probes  int
	sinkID  int
}

// runLAN runs bulk flows from h1 (through r1 and the LAN) and from h2
// (through the bridge) to a sink on h3, and a group of requests from h1
// to an rr server on h3, with a link change on the way.
func runLAN(t *testing.T, seed uint64) *lanRun {
	t.Helper()
	plan, err := topology.Parse("lan.yml", []byte(lanYAML))
	if err != nil {
		t.Fatal(err)
	}
	res := &lanRun{Reports: map[string][]nodeagent.FlowReport{}, Impair: map[string][]nodeagent.ImpairState{}}
	l, err := New(plan, Options{Seed: seed, Probe: func(string, stack.ProbeEvent) { res.probes++ }})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	sink, err := l.StartApp("h3", nodeagent.AppSpec{Mode: "sink", Port: sinkPort, Record: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	rr, err := l.StartApp("h3", nodeagent.AppSpec{Mode: "rr", Port: 80, Record: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	res.sinkID = sink
	h3 := plan.Node("h3")
	at := l.Now()
	for _, tc := range []struct{ from, to string }{{"h1", "eth1"}, {"h2", "eth2"}} {
		to := fmt.Sprintf("%v:%d", h3.Interface(tc.to).Addr.Addr(), sinkPort)
		b := nodeagent.FlowBatch{At: at, Sample: 50 * time.Millisecond, Flows: []nodeagent.FlowSpec{{ID: 1, To: to, Bytes: 2 << 20}}}
		if tc.from == "h1" {
			for i := range 3 {
				b.Flows = append(b.Flows, nodeagent.FlowSpec{ID: 2 + i, To: fmt.Sprintf("%v:80", h3.Interface("eth1").Addr.Addr()),
					Requests: 5, Response: 30 << 10, Every: 100 * time.Millisecond, Group: "g"})
			}
		}
		if err := l.Flows(tc.from, b); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := l.At(at.Add(300*time.Millisecond), func() {
		if _, err := l.ChangeImpairment("r1", nodeagent.ImpairChange{Interface: "eth2", Dir: "egress",
			Impairment: mustImpair(t, map[string]string{"delay": "3ms", "jitter": "2ms", "seed": "5"})}); err != nil {
			t.Error(err)
		}
	}); err != nil {
		t.Fatal(err)
	}
	if done, err := l.RunFlows(at.Add(time.Minute)); err != nil || !done {
		t.Fatal(done, err)
	}
	for _, n := range []string{"h1", "h2"} {
		if res.Reports[n], err = l.Reports(n); err != nil {
			t.Fatal(err)
		}
	}
	if res.Sink, err = l.AppConns("h3", sink); err != nil {
		t.Fatal(err)
	}
	if res.RR, err = l.AppConns("h3", rr); err != nil {
		t.Fatal(err)
	}
	for _, n := range plan.Nodes {
		if res.Impair[n.Name], err = l.Impairments(n.Name); err != nil {
			t.Fatal(err)
		}
	}
	return res
}

func mustImpair(t *testing.T, fields map[string]string) *impair.Config {
	t.Helper()
	c, err := topology.ParseImpairment(fields)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestSegments checks what crossed the LAN and the bridge.
func TestSegments(t *testing.T) {
	res := runLAN(t, 4)
	for _, from := range []string{"h1", "h2"} {
		rep := res.Reports[from][0]
		var rec *nodeagent.ConnRecord
		for i := range res.Sink {
			if res.Sink[i].Remote == rep.From {
				rec = &res.Sink[i]
			}
		}
		if rep.Error != "" || rec == nil || !rec.EOF || rec.Bytes != 2<<20 || rec.SHA256 != nodeagent.PatternDigest(2<<20) {
			t.Fatalf("flow from %s: error %q; record %+v", from, rep.Error, rec)
		}
		t.Logf("flow from %s to %s: %v, retrans %d, min rtt %v", from, rep.To, rep.End.Sub(rep.Start), rep.Retrans, rep.MinRTT)
	}
	for _, rep := range res.Reports["h1"][1:] {
		if rep.Error != "" || len(rep.Queries) != 5 || rep.End.IsZero() {
			t.Errorf("flow of requests %d: %+v", rep.ID, rep)
		}
	}
	if len(res.RR) != 3 {
		t.Errorf("rr records: %+v", res.RR)
	}
	if res.probes == 0 {
		t.Error("no probe events")
	}
}

// TestDeterminismLAN runs the LAN lab twice with one seed: jitter,
// Gilbert-Elliott loss, a segment, a bridge, groups of requests and a
// change of impairment on the way give the same results, byte for byte.
func TestDeterminismLAN(t *testing.T) {
	a, b := runLAN(t, 8), runLAN(t, 8)
	ja, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	jb, _ := json.Marshal(b)
	if !bytes.Equal(ja, jb) || a.probes != b.probes {
		t.Fatalf("two runs of one seed differ (%d and %d probe events):\n%s\n%s", a.probes, b.probes, ja, jb)
	}
	// Compare across processes by hand: go test -v -run DeterminismLAN.
	t.Logf("sha256 of the results: %x (%d probe events)", sha256.Sum256(ja), a.probes)
}
