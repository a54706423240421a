package topology

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/netlab/netlab/impair"
)

func TestParseImpairment(t *testing.T) {
	im, err := ParseImpairment(map[string]string{"delay": "50ms", "jitter": "5ms", "loss": "2%", "rate": "10mbit"})
	if err != nil {
		t.Fatal(err)
	}
	if im.Delay != 50*time.Millisecond || im.Jitter != 5*time.Millisecond || im.Loss.P != 0.02 || im.Rate != 10e6 {
		t.Fatalf("ParseImpairment = %+v", im)
	}
	if _, err := ParseImpairment(map[string]string{"delay": "fast"}); err == nil || !strings.Contains(err.Error(), "delay") {
		t.Fatalf("a bad delay: %v", err)
	}
	if _, err := ParseImpairment(map[string]string{"lost": "2%"}); err == nil || !strings.Contains(err.Error(), "loss") {
		t.Fatalf("a misspelt key should suggest loss: %v", err)
	}
}

// TestParseImpairmentSchedules checks the keys netem lacks, lists and
// mappings written in flow style included.
func TestParseImpairmentSchedules(t *testing.T) {
	tests := []struct {
		name    string
		fields  map[string]string
		check   func(*impair.Config) any // the part of the result to compare
		want    any
		wantErr string // a part of the error; "" for none
	}{
		{name: "order", fields: map[string]string{"order": "keep"},
			check: func(m *impair.Config) any { return m.Order }, want: impair.KeepOrder},
		{name: "drop-every", fields: map[string]string{"drop-every": "10"},
			check: func(m *impair.Config) any { return m.DropEveryNth }, want: uint64(10)},
		{name: "drop-packets", fields: map[string]string{"drop-packets": "[3, 7]"},
			check: func(m *impair.Config) any { return m.DropPackets }, want: []uint64{3, 7}},
		{name: "drop-match", fields: map[string]string{"drop-match": `["syn first", fin, "seq=1101 data"]`},
			check: func(m *impair.Config) any { return fmt.Sprint(m.DropMatch) }, want: "[syn first fin data seq=1101]"},
		{name: "outage", fields: map[string]string{"outage": "{every: 10s, for: 2s}"},
			check: func(m *impair.Config) any { return m.Outage }, want: impair.Outage{Every: 10 * time.Second, For: 2 * time.Second}},
		{name: "bad order", fields: map[string]string{"order": "kepp"}, wantErr: `did you mean "keep"`},
		{name: "drop-every 0", fields: map[string]string{"drop-every": "0"}, wantErr: "must be at least 1"},
		{name: "bad match", fields: map[string]string{"drop-match": "[sny]"}, wantErr: `unknown word "sny"`},
		{name: "outage too long", fields: map[string]string{"outage": "{every: 1s, for: 1s}"}, wantErr: "must be shorter than every"},
		{name: "not one flow value", fields: map[string]string{"drop-packets": "[1], delay: 5ms"}, wantErr: "bad impairment field"},
		{name: "two flow values", fields: map[string]string{"drop-packets": "[1] [2]"}, wantErr: "bad impairment field"},
		{name: "comma in a scalar", fields: map[string]string{"delay": "5ms, loss: 2%"}, wantErr: "bad impairment field"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ParseImpairment(tc.fields)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseImpairment(%v) error = %v, want one containing %q", tc.fields, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseImpairment(%v): %v", tc.fields, err)
			}
			if diff := cmp.Diff(tc.want, tc.check(m)); diff != "" {
				t.Errorf("ParseImpairment(%v) (-want +got):\n%s", tc.fields, diff)
			}
		})
	}
}

// TestRelays checks which interfaces get a relay: a `netem:` block with no
// Go stack on its frame path, and nothing else.
func TestRelays(t *testing.T) {
	lab, err := Load("testdata/linux-relays.yml")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ifc := range lab.Relays() {
		got = append(got, ifc.String())
	}
	want := []string{"l1:eth1", "l3:eth3", "l3:eth1", "l2:eth2"} // bridge segments come first
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("relays %v, want %v", got, want)
	}
	l1 := lab.Node("l1").Interface("eth1")
	if l1.Egress == nil || l1.Egress.Delay != 10*time.Millisecond || l1.Peer.Egress == nil || l1.Peer.Egress.Loss.P != 0.01 {
		t.Errorf("l1:eth1 relay impairments: egress %v, peer egress %v", l1.Egress, l1.Peer.Egress)
	}
	if l1.Peer.Relay {
		t.Error("l2:eth1 is marked as a relay too: one relay carries both directions of a link")
	}
	if l3 := lab.Node("l3").Interface("eth1"); l3.Egress != nil || l3.Ingress == nil || l3.Ingress.Delay != 5*time.Millisecond {
		t.Errorf("l3:eth1 (bridge member): egress %v ingress %v, want none and 5ms", l3.Egress, l3.Ingress)
	}
	if e := lab.Node("l3").Interface("eth3"); e.Egress == nil || e.Peer.Egress == nil || e.Egress.Delay != 0 || e.Egress.Loss.Model != impair.NoLoss {
		t.Errorf("netem: {} gives %v / %v, want empty impairments (seed only)", e.Egress, e.Peer.Egress)
	}
	for _, n := range []string{"g1", "g2"} {
		for _, ifc := range lab.Node(n).Interfaces {
			if ifc.Relay {
				t.Errorf("%s is relayed, but its Go stack applies the impairment", ifc)
			}
		}
	}
}
