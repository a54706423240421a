package nodeagent

import (
	"encoding/json"
	"net"
	"testing"
	"time"

	"github.com/netlab/netlab/stack"
	"github.com/netlab/netlab/stack/link/pipe"
	"github.com/netlab/netlab/topology"
)

// FuzzSockCall: whatever socket calls the control API is sent (a JSON
// body anyone with the socket can write), the agent answers and never
// panics. Calls run on a node whose only link goes nowhere, with short
// timeouts, one after the other on the same stack so descriptors made by
// one call meet the next.
func FuzzSockCall(f *testing.F) {
	for _, s := range []string{
		`[{"call":"socket"},{"call":"bind","fd":3,"addr":":80"},{"call":"listen","fd":3,"backlog":5},{"call":"accept","fd":3}]`,
		`[{"call":"socket","type":"udp"},{"call":"write","fd":3,"data":"x"},{"call":"read","fd":3,"size":-1}]`,
		`[{"call":"setopt","fd":3,"opt":"sndbuf","value":"-1"},{"call":"shutdown","fd":3,"how":"sideways"}]`,
		`[{"call":"connect","fd":99,"addr":"10.0.0.1:0"},{"call":"close","fd":-1},{"call":"info","fd":3}]`,
		`[{"call":"socket"},{"call":"write","fd":3,"size":1000000000}]`,
	} {
		f.Add([]byte(s))
	}
	a, b := pipe.Pair(pipe.Async, 1500, net.HardwareAddr{2, 0, 0, 0, 0, 1}, net.HardwareAddr{2, 0, 0, 0, 0, 2})
	defer b.Close()
	s := stack.New(stack.Options{})
	defer s.Destroy()
	if _, err := s.AddInterface("eth1", a); err != nil {
		f.Fatal(err)
	}
	n := &node{plan: &topology.Node{Name: "h1"}, stack: s}
	f.Fuzz(func(t *testing.T, data []byte) {
		var calls []SockCall
		if json.Unmarshal(data, &calls) != nil || len(calls) > 16 {
			return
		}
		for _, c := range calls {
			if c.Size > 1<<20 {
				c.Size = 1 << 20
			}
			c.Timeout = min(max(c.Timeout, time.Millisecond), 5*time.Millisecond)
			r := n.sockCall(c)
			if _, err := json.Marshal(r); err != nil {
				t.Fatalf("%+v: result does not encode: %v", c, err)
			}
		}
	})
}
