package check

import (
	"fmt"

	"github.com/netlab/netlab/trace"
)

// window: the largest receive window the peer advertised, in bytes.
type window struct {
	sel    connSel
	lo, hi int // hi < 0: no upper bound
}

func windowKind() Kind {
	return kind("window",
		"the largest window the peer advertised to the node (scaled to bytes, SYNs aside) is at least min and at most max: whether the receiver's buffer and window scale let a window cover the bandwidth-delay product",
		connKeys(map[string]string{
			"min": "the least the largest advertised window may be (a size: 65535, 256KB)",
			"max": "the most it may be (a size)",
		}), []string{"node"},
		func(a Args) (*window, error) {
			sel, err := readConnSel(a)
			if err != nil {
				return nil, err
			}
			c := &window{sel: sel, hi: -1}
			lo, okLo, err := sizeArg(a, "min")
			if err != nil {
				return nil, err
			}
			hi, okHi, err := sizeArg(a, "max")
			if err != nil {
				return nil, err
			}
			switch {
			case !okLo && !okHi:
				return nil, &ArgError{Key: "min", Msg: "give min, max or both"}
			case okHi && lo > hi:
				return nil, &ArgError{Key: "max", Msg: fmt.Sprintf("max %d is below min %d", hi, lo)}
			}
			c.lo = int(lo)
			if okHi {
				c.hi = int(hi)
			}
			return c, nil
		})
}

func (c *window) Eval(ev *Evidence) Outcome {
	o := Outcome{Expected: "the peer's largest advertised window " + boundsText(c.lo, c.hi) + " bytes"}
	v := c.sel.pick(ev, &o)
	if v == nil {
		return o
	}
	largest, at := 0, -1
	for i := range v.events {
		e := &v.events[i]
		if e.Kind != trace.KindIn || e.HasFlag('S') || e.HasFlag('R') {
			continue
		}
		if at < 0 || int(e.Window) > largest {
			largest, at = int(e.Window), i
		}
	}
	if at < 0 {
		o.Actual = fmt.Sprintf("%s received no segment after the handshake's SYNs", v.name())
		return o
	}
	o.Pass = inBounds(largest, c.lo, c.hi)
	o.Actual = fmt.Sprintf("the largest window the peer advertised was %d bytes, at %s", largest, v.at(&v.events[at]))
	if o.Pass {
		v.showOnly(&o, []int{at}, at)
	} else {
		v.around(&o, at)
	}
	return o
}
