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
		ECN: im.ECN, Seed: im.Seed,
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
