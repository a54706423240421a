package nodeagent

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netlab/netlab/stack/link"
	"github.com/netlab/netlab/stack/link/pipe"
	"github.com/netlab/netlab/topology"
)

// TestRelayOnlyAgent runs an agent that serves no node, only the relay of a
// link between two Linux-stack nodes, on in-memory ports: frames cross it
// impaired each way as the file says, the API shows and changes its
// impairment by the relayed node's name, and asks for other nodes fail.
func TestRelayOnlyAgent(t *testing.T) {
	lab, err := topology.Parse("relay.yml", []byte(`name: relay
topology:
  nodes: {a: {stack: linux}, b: {stack: linux}}
  links:
    - endpoints: ["a:eth1", "b:eth1"]
      netem: {a-to-b: {drop-every: 2}, b-to-a: {delay: 30ms}}
`))
	if err != nil {
		t.Fatal(err)
	}
	// The test holds the node ends of the relay's two veths.
	var mu sync.Mutex
	nodeEnd := map[string]*pipe.Endpoint{}
	open := func(node, ns, ifname string) (link.Endpoint, error) {
		if ns != "/run/netns/sw" {
			return nil, errors.New("relay port opened outside the switch namespace: " + ns)
		}
		mu.Lock()
		defer mu.Unlock()
		port, end := pipe.Pair(pipe.Async, 1500, net.HardwareAddr{2, 0, 0, 0, 0, 1}, net.HardwareAddr{2, 0, 0, 0, 0, 2})
		nodeEnd[ifname] = end
		t.Cleanup(func() { end.Close() })
		return port, nil
	}
	ctx := context.Background()
	a, err := New(ctx, Config{Lab: lab, OpenLink: open, SwitchNS: "/run/netns/sw"})
	if err != nil {
		t.Fatal(err)
	}
	sock := serveAgent(t, a)

	near, far := nodeEnd["rl0a"], nodeEnd["rl0b"]
	if near == nil || far == nil {
		t.Fatalf("relay ports opened: %v, want rl0a and rl0b", nodeEnd)
	}
	type arrival struct {
		frame []byte
		at    time.Time
	}
	recv := func(ep *pipe.Endpoint) chan arrival {
		ch := make(chan arrival, 16)
		ep.Attach(link.DispatcherFunc(func(f []byte) { ch <- arrival{bytes.Clone(f), time.Now()} }))
		return ch
	}
	atB, atA := recv(far), recv(near)
	frame := func(k byte) []byte {
		f := make([]byte, 60)
		copy(f, []byte{2, 0, 0, 0, 0, 0xb, 2, 0, 0, 0, 0, 0xa, 0x88, 0xb5}) // a local experimental EtherType
		f[20] = k
		return f
	}
	collect := func(ch chan arrival, wait time.Duration) []byte {
		var got []byte
		deadline := time.After(wait)
		for {
			select {
			case a := <-ch:
				got = append(got, a.frame[20])
			case <-deadline:
				return got
			}
		}
	}
	// a-to-b: every second frame dropped.
	for k := byte(1); k <= 4; k++ {
		near.WritePacket(frame(k))
	}
	if got := collect(atB, 200*time.Millisecond); !bytes.Equal(got, []byte{1, 3}) {
		t.Errorf("a-to-b with drop-every 2 delivered frames %v, want [1 3]", got)
	}
	// b-to-a: 30 ms late.
	sent := time.Now()
	far.WritePacket(frame(9))
	select {
	case a := <-atA:
		if d := a.at.Sub(sent); d < 30*time.Millisecond || d > 200*time.Millisecond {
			t.Errorf("b-to-a frame took %v, want 30 ms", d)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("b-to-a frame never arrived")
	}

	c := NewClient(sock, "a")
	states, err := c.Impairments(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(states) != 1 || states[0].Interface != "eth1" || states[0].Egress == nil || states[0].Egress.DropEveryNth != 2 ||
		states[0].Stats.Egress.Passed != 2 || states[0].Stats.Egress.DroppedSchedule != 2 || states[0].Stats.Ingress.Passed != 1 {
		t.Fatalf("impairments of a: %+v", states)
	}
	if _, err := c.ChangeImpairment(ctx, ImpairChange{Interface: "eth1", Dir: "egress"}); err != nil {
		t.Fatal(err)
	}
	for k := byte(1); k <= 4; k++ {
		near.WritePacket(frame(k))
	}
	if got := collect(atB, 200*time.Millisecond); !bytes.Equal(got, []byte{1, 2, 3, 4}) {
		t.Errorf("a-to-b with no impairment delivered frames %v, want [1 2 3 4]", got)
	}
	if all, err := NewClient(sock, "").AllImpairments(ctx); err != nil || len(all) != 1 || len(all["a"]) != 1 || all["a"][0].Interface != "eth1" {
		t.Errorf("every node's impairments: %+v, %v; want a's relay only", all, err)
	}
	if _, err := NewClient(sock, "b").Impairments(ctx); err == nil || !strings.Contains(err.Error(), "no node") {
		t.Errorf("impairments of b (no relay of its own, not served) = %v, want not found", err)
	}
	if _, err := c.ChangeImpairment(ctx, ImpairChange{Interface: "eth9", Dir: "egress"}); err == nil {
		t.Error("a change of a:eth9, which does not exist, succeeded")
	}
}
