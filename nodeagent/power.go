package nodeagent

import (
	"fmt"
	"slices"
)

// PowerChange stops or starts a node, as `docker stop` and `docker start`
// do a container.
type PowerChange struct {
	// Up starts the node; false stops it.
	Up bool `json:"up"`
}

// PowerState is a node's state after a PowerChange.
type PowerState struct {
	Node string `json:"node"`
	Up   bool   `json:"up"`
	// Lost is how many TCP connections the stop ended (0 on start).
	Lost int `json:"lost"`
	// Apps is how many of the node's servers the change closed or
	// started again.
	Apps int `json:"apps"`
}

// setPower stops or starts n. Stopping takes every interface down (in
// both directions, whatever its link's own state), ends every TCP
// connection without a word on the wire and closes the node's servers,
// keeping what they recorded. Starting brings the interfaces back to
// their links' state and opens the servers again, as services start when
// a machine boots; the lost connections stay lost (a peer sending on them
// is reset). Either is idempotent. A `stack: linux` node is not the
// agent's to stop: its sockets are the kernel's.
func (n *node) setPower(ch PowerChange) (PowerState, error) {
	if n.stack == nil {
		return PowerState{}, fmt.Errorf("node %s runs stack: linux: stop and start are for Go-stack nodes (the kernel's sockets are not the agent's to drop)", n.plan.Name)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	st := PowerState{Node: n.plan.Name, Up: ch.Up}
	if n.stopped == !ch.Up {
		return st, nil
	}
	n.stopped = !ch.Up
	ids := make([]int, 0, len(n.apps))
	for id := range n.apps {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	if !ch.Up {
		// Silence first, so that nothing of the crash reaches the wire.
		for _, ii := range n.impairs {
			ii.stopped = true
			ii.apply()
		}
		st.Lost = n.stack.Crash()
		for _, id := range ids {
			n.apps[id].close()
			st.Apps++
		}
		return st, nil
	}
	var errs []error
	for _, id := range ids {
		if err := n.apps[id].serve(); err != nil {
			errs = append(errs, fmt.Errorf("app %d: %w", id, err))
			continue
		}
		st.Apps++
	}
	for _, ii := range n.impairs {
		ii.stopped = false
		ii.apply()
	}
	if len(errs) > 0 {
		return st, fmt.Errorf("node %s started, but not all its servers: %v", n.plan.Name, errs)
	}
	return st, nil
}
