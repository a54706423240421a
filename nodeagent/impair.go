package nodeagent

import (
	"fmt"
	"os"

	"github.com/netlab/netlab/impair"
	"github.com/netlab/netlab/topology"
)

// ImpairConfig turns a planned impairment (the topology's netem: block for
// one direction) into the impairment engine's configuration. nil stays
// nil: no impairment.
func ImpairConfig(im *topology.Impairment) (*impair.Config, error) {
	if im == nil {
		return nil, nil
	}
	c := &impair.Config{
		Delay: im.Delay, Jitter: im.Jitter, DelayCorrelation: im.Correlation,
		Duplicate: im.Duplicate, Corrupt: im.Corrupt, Reorder: im.Reorder, Gap: im.Gap,
		Rate: im.Rate, Overhead: im.RateOverhead, Limit: im.Limit, LimitBytes: int(im.LimitBytes),
		ECN: im.ECN, CoDel: im.CoDel, Seed: im.Seed,
	}
	switch d := im.Distribution; d {
	case "", "uniform":
	default:
		t, err := impair.NamedTable(d)
		if err != nil {
			f, ferr := os.Open(d)
			if ferr != nil {
				return nil, fmt.Errorf("distribution %q: not a built-in table (%v) nor a readable .dist file (%v)", d, err, ferr)
			}
			t, err = impair.ParseDistTable(f)
			f.Close()
			if err != nil {
				return nil, fmt.Errorf("distribution %s: %w", d, err)
			}
		}
		c.Distribution = t
	}
	if im.Order == topology.OrderKeep {
		c.Order = impair.KeepOrder
	}
	c.DropEveryNth = im.DropEveryNth
	c.DropPackets = append([]uint64(nil), im.DropPackets...)
	for _, m := range im.DropMatch {
		pm, err := impair.ParseMatch(m)
		if err != nil {
			return nil, fmt.Errorf("drop-match %q: %w", m, err)
		}
		c.DropMatch = append(c.DropMatch, pm)
	}
	if o := im.Outage; o != nil {
		c.Outage = impair.Outage{Every: o.Every, For: o.For, Offset: o.Offset}
	}
	l := im.Loss
	switch l.Model {
	case "":
	case topology.LossRandom:
		c.Loss = impair.Loss{Model: impair.LossRandom, P: l.P}
	case topology.LossState:
		c.Loss = impair.Loss{Model: impair.LossState, P13: l.P13, P31: l.P31, P32: l.P32, P23: l.P23, P14: l.P14}
	case topology.LossGE:
		c.Loss = impair.Loss{Model: impair.LossGE, P: l.P, R: l.R, OneMinusH: l.OneMinusH, OneMinusK: l.OneMinusK}
	default:
		return nil, fmt.Errorf("unknown loss model %q", l.Model)
	}
	return c, nil
}

// planImpairments returns what an interface applies: its own egress and
// ingress from the plan and, on a link to a `stack: linux` node (which has
// no agent on its frame path), the peer's egress as this end's ingress.
func planImpairments(ifc *topology.Interface) (egress, ingress *topology.Impairment) {
	egress, ingress = ifc.Egress, ifc.Ingress
	if ingress == nil && ifc.Peer != nil && ifc.Peer.Node != nil && ifc.Peer.Node.Stack == topology.StackLinux {
		ingress = ifc.Peer.Egress
	}
	return egress, ingress
}

// ImpairState is one interface's impairment as `netlab impair show` prints
// it: the impairment in force each way, and the engine's counters.
type ImpairState struct {
	Interface string               `json:"interface"`
	Egress    *topology.Impairment `json:"egress,omitempty"`
	Ingress   *topology.Impairment `json:"ingress,omitempty"`
	Down      bool                 `json:"down,omitempty"`
	Stats     impair.EndpointStats `json:"stats"`
}

// ImpairChange changes one interface's impairment. Dir is "egress",
// "ingress" or "both"; a nil Impairment removes it; Reset goes back to the
// topology file's values; Down, if set, takes the interface down or up
// (both directions drop everything) without touching the rest.
type ImpairChange struct {
	Interface  string               `json:"interface"`
	Dir        string               `json:"dir"`
	Impairment *topology.Impairment `json:"impairment,omitempty"`
	Reset      bool                 `json:"reset,omitempty"`
	Down       *bool                `json:"down,omitempty"`
}

// impairIfc is what the agent keeps per Go-stack interface.
type impairIfc struct {
	tap            *tap // the capture tap above it
	name           string
	ep             *impair.Endpoint
	planEg, planIn *topology.Impairment
	curEg, curIn   *topology.Impairment
	down           bool
}

func (ii *impairIfc) apply() error {
	eg, err := ImpairConfig(ii.curEg)
	if err != nil {
		return err
	}
	in, err := ImpairConfig(ii.curIn)
	if err != nil {
		return err
	}
	if ii.tap != nil && ii.tap.sinks.Load() != nil {
		// A capture runs: mark what the impairment drops.
		if eg != nil {
			eg.Trace = ii.tap.egressVerdict
		}
		if in != nil {
			in.Trace = ii.tap.ingressVerdict
		}
	}
	if ii.down {
		if eg == nil {
			eg = &impair.Config{}
		}
		if in == nil {
			in = &impair.Config{}
		}
		eg.Down, in.Down = true, true
		if ii.tap != nil && ii.tap.sinks.Load() != nil {
			eg.Trace, in.Trace = ii.tap.egressVerdict, ii.tap.ingressVerdict
		}
	}
	ii.ep.SetConfig(eg, in)
	return nil
}

func (ii *impairIfc) state() ImpairState {
	return ImpairState{Interface: ii.name, Egress: ii.curEg, Ingress: ii.curIn, Down: ii.down, Stats: ii.ep.Stats()}
}

func (n *node) impairIfc(name string) (*impairIfc, error) {
	for _, ii := range n.impairs {
		if ii.name == name {
			return ii, nil
		}
	}
	return nil, fmt.Errorf("node %s has no Go-stack interface %q", n.plan.Name, name)
}

// change applies ch; the caller holds the lock that guards ii.
func (ii *impairIfc) change(ch ImpairChange) (ImpairState, error) {
	switch {
	case ch.Reset:
		ii.curEg, ii.curIn, ii.down = ii.planEg, ii.planIn, false
	case ch.Down != nil:
		ii.down = *ch.Down
	default:
		switch ch.Dir {
		case "egress":
			ii.curEg = ch.Impairment
		case "ingress":
			ii.curIn = ch.Impairment
		case "both", "":
			ii.curEg, ii.curIn = ch.Impairment, ch.Impairment
		default:
			return ImpairState{}, fmt.Errorf("direction %q: want egress, ingress or both", ch.Dir)
		}
	}
	if err := ii.apply(); err != nil {
		return ImpairState{}, err
	}
	return ii.state(), nil
}
