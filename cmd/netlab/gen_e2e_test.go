package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netlab/netlab/nodeagent"
	"github.com/netlab/netlab/topology"
)

// TestGenDeployEndToEnd: a generated dumbbell and a generated leaf-spine
// deploy as they are, a host on one side pings a host on the other (the
// dumbbell's RTT shows its delays were applied), and destroy leaves
// nothing.
func TestGenDeployEndToEnd(t *testing.T) {
	needRoot(t)
	for _, tc := range []struct {
		name     string
		args     []string
		from, to string
		minRTT   time.Duration // what the generated delays add up to
	}{
		// 2·(1 ms + 10 ms + 1 ms) of netem delay on the way there and back.
		{"dumbbell", []string{"dumbbell", "--pairs", "2", "--delay", "10ms", "--access-delay", "1ms"}, "snd1", "rcv2", 24 * time.Millisecond},
		{"leaf-spine", []string{"leaf-spine", "--leaves", "3", "--spines", "2", "--hosts-per-leaf", "2"}, "h1-1", "h3-2", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var rnd [3]byte
			rand.Read(rnd[:])
			name := "e2egen" + hex.EncodeToString(rnd[:])
			topo := filepath.Join(t.TempDir(), name+".yml")
			netlab(t, append([]string{"gen"}, append(tc.args, "--name", name, "-o", topo)...)...)
			lab, err := topology.Load(topo)
			if err != nil {
				t.Fatal(err)
			}
			if lab.Node(tc.from) == nil || lab.Node(tc.to) == nil {
				t.Fatalf("no %s or %s in the generated lab", tc.from, tc.to)
			}
			to := lab.Node(tc.to).Interfaces[0].Addr.Addr().String()
			cleanupLab(t, topo, name)
			netlab(t, "deploy", "-t", topo)

			// ARP along the path may cost the first echo: ping until one
			// comes back, within a deadline.
			var rtts []time.Duration
			deadline := time.Now().Add(20 * time.Second)
			for len(rtts) == 0 {
				if time.Now().After(deadline) {
					t.Fatalf("%s -> %s (%s): no echo reply in 20s", tc.from, tc.to, to)
				}
				out, _, _ := netlabErr(t, "ping", tc.from, to, "-c", "3", "-i", "50ms", "-t", topo, "--format", "json")
				for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
					var p nodeagent.PingReply
					if json.Unmarshal([]byte(line), &p) == nil && !p.Lost && p.Seq > 0 {
						rtts = append(rtts, p.RTT)
					}
				}
			}
			for _, rtt := range rtts {
				if rtt < tc.minRTT {
					t.Errorf("%s -> %s: RTT %v, below the %v the generated netem delays add up to", tc.from, tc.to, rtt, tc.minRTT)
				}
			}
			t.Logf("%s -> %s (%s): %d replies, RTT %v", tc.from, tc.to, to, len(rtts), rtts)
			netlab(t, "destroy", "-t", topo, "--cleanup")
			assertGone(t, name)
		})
	}
}
