package topology

import (
	"fmt"
	"strconv"
	"strings"
)

// Graph formats formats the lab as a graph for `netlab graph`: "dot"
// (Graphviz) or "mermaid". Nodes are drawn as boxes (routers as ellipses in
// dot, stadiums in mermaid), segments as hexagons; edges carry interface
// names, addresses and the link's impairment. The output is deterministic.
func (l *Lab) Graph(format string) (string, error) {
	switch format {
	case "dot":
		return l.dot(), nil
	case "mermaid":
		return l.mermaid(), nil
	}
	return "", fmt.Errorf("graph: unknown format %q (allowed: dot, mermaid)", format)
}

func nodeLabel(n *Node) string {
	label := n.Kind
	if n.Stack != StackGo {
		label += ", " + string(n.Stack)
	}
	return label
}

func segLabel(s *Segment) string {
	if s.Prefix.IsValid() {
		return s.Prefix.String()
	}
	return "LAN"
}

// end describes one end of an edge: "eth1 10.0.0.1".
func end(i *Interface) string {
	if i.Addr.IsValid() {
		return i.Name + " " + i.Addr.Addr().String()
	}
	return i.Name
}

func linkImpair(k *Link) string {
	a, b := k.Netem.AtoB.String(), k.Netem.BtoA.String()
	switch {
	case a == "" && b == "":
		return ""
	case a == b:
		return a
	}
	var parts []string
	if a != "" {
		parts = append(parts, "a-to-b: "+a)
	}
	if b != "" {
		parts = append(parts, "b-to-a: "+b)
	}
	return strings.Join(parts, "; ")
}

func memberImpair(i *Interface) string {
	e, in := i.Egress.String(), i.Ingress.String()
	switch {
	case e == "" && in == "":
		return ""
	case e == in || in == "":
		return e
	case e == "":
		return "in: " + in
	}
	return "out: " + e + "; in: " + in
}

func (l *Lab) dot() string {
	var b strings.Builder
	q := strconv.Quote
	fmt.Fprintf(&b, "graph %s {\n", q(l.Name))
	b.WriteString("  node [shape=box, fontname=\"monospace\"];\n")
	b.WriteString("  edge [fontname=\"monospace\", fontsize=10];\n")
	for _, n := range l.Nodes {
		attrs := ""
		if n.Forwarding {
			attrs = ", shape=ellipse"
		}
		fmt.Fprintf(&b, "  %s [label=%s%s];\n", q(n.Name), q(n.Name+"\n"+nodeLabel(n)), attrs)
	}
	for _, s := range l.Segments {
		fmt.Fprintf(&b, "  %s [label=%s, shape=hexagon];\n", q(s.Name), q(s.Name+"\n"+segLabel(s)))
	}
	for _, k := range l.Links {
		label := k.Prefix.String()
		if imp := linkImpair(k); imp != "" {
			label += "\n" + imp
		}
		fmt.Fprintf(&b, "  %s -- %s [label=%s, taillabel=%s, headlabel=%s];\n",
			q(k.A.Node.Name), q(k.B.Node.Name), q(label), q(end(k.A)), q(end(k.B)))
	}
	for _, s := range l.Segments {
		for _, m := range s.Members {
			attrs := ""
			if imp := memberImpair(m); imp != "" {
				attrs = ", label=" + q(imp)
			}
			fmt.Fprintf(&b, "  %s -- %s [taillabel=%s%s];\n", q(m.Node.Name), q(s.Name), q(end(m)), attrs)
		}
	}
	b.WriteString("}\n")
	return b.String()
}

// mermaidText escapes text for a quoted mermaid label.
func mermaidText(s string) string {
	s = strings.ReplaceAll(s, `"`, "#quot;")
	return strings.ReplaceAll(s, "\n", "<br/>")
}

func (l *Lab) mermaid() string {
	var b strings.Builder
	b.WriteString("graph LR\n")
	for _, n := range l.Nodes {
		open, closing := "[", "]"
		if n.Forwarding {
			open, closing = "([", "])"
		}
		fmt.Fprintf(&b, "  n%d%s\"%s\"%s\n", n.Index, open, mermaidText(n.Name+"\n"+nodeLabel(n)), closing)
	}
	for _, s := range l.Segments {
		fmt.Fprintf(&b, "  s%d{{\"%s\"}}\n", s.Index, mermaidText(s.Name+"\n"+segLabel(s)))
	}
	for _, k := range l.Links {
		label := end(k.A) + " — " + end(k.B) + "\n" + k.Prefix.String()
		if imp := linkImpair(k); imp != "" {
			label += "\n" + imp
		}
		fmt.Fprintf(&b, "  n%d ---|\"%s\"| n%d\n", k.A.Node.Index, mermaidText(label), k.B.Node.Index)
	}
	for _, s := range l.Segments {
		for _, m := range s.Members {
			label := end(m)
			if imp := memberImpair(m); imp != "" {
				label += "\n" + imp
			}
			fmt.Fprintf(&b, "  n%d ---|\"%s\"| s%d\n", m.Node.Index, mermaidText(label), s.Index)
		}
	}
	return b.String()
}

// String formats the impairment in netem's words, leaving out what is
// unset and the seed: "delay 20ms loss 2%". What netem lacks follows in the
// same manner: "order keep drop every 10 drop packets 3,7 drop-match syn
// first outage 2s every 10s" (one drop-match per match). A nil impairment
// is "".
func (m *Impairment) String() string {
	if m == nil {
		return ""
	}
	var parts []string
	add := func(format string, args ...any) { parts = append(parts, fmt.Sprintf(format, args...)) }
	pct := func(f float64) string { return strconv.FormatFloat(f*100, 'g', -1, 64) + "%" }
	if m.Delay > 0 {
		add("delay %s", m.Delay)
		if m.Jitter > 0 {
			add("%s", m.Jitter)
			if m.Correlation > 0 {
				add("%s", pct(m.Correlation))
			}
			if m.Distribution != "uniform" {
				add("distribution %s", m.Distribution)
			}
		}
	}
	switch m.Loss.Model {
	case LossRandom:
		add("loss %s", pct(m.Loss.P))
	case LossState:
		add("loss state %s %s %s %s %s", pct(m.Loss.P13), pct(m.Loss.P31), pct(m.Loss.P32), pct(m.Loss.P23), pct(m.Loss.P14))
	case LossGE:
		add("loss gemodel %s %s %s %s", pct(m.Loss.P), pct(m.Loss.R), pct(m.Loss.OneMinusH), pct(m.Loss.OneMinusK))
	}
	if m.Duplicate > 0 {
		add("duplicate %s", pct(m.Duplicate))
	}
	if m.Corrupt > 0 {
		add("corrupt %s", pct(m.Corrupt))
	}
	if m.Reorder > 0 {
		add("reorder %s gap %d", pct(m.Reorder), m.Gap)
	}
	if m.Rate > 0 {
		add("rate %s", rateString(m.Rate))
		if m.RateOverhead != 0 {
			add("%d", m.RateOverhead)
		}
	}
	if m.ECN {
		add("ecn")
	}
	if m.CoDel {
		add("codel")
	}
	if m.Limit != netemLimit && m.Limit > 0 {
		add("limit %d", m.Limit)
	}
	if m.LimitBytes > 0 {
		add("limit-bytes %d", m.LimitBytes)
	}
	if m.Order != "" {
		add("order %s", m.Order)
	}
	if m.DropEveryNth > 0 {
		add("drop every %d", m.DropEveryNth)
	}
	if len(m.DropPackets) > 0 {
		nums := make([]string, len(m.DropPackets))
		for i, n := range m.DropPackets {
			nums[i] = strconv.FormatUint(n, 10)
		}
		add("drop packets %s", strings.Join(nums, ","))
	}
	for _, dm := range m.DropMatch {
		add("drop-match %s", dm)
	}
	if o := m.Outage; o != nil {
		add("outage %s every %s", o.For, o.Every)
		if o.Offset > 0 {
			add("offset %s", o.Offset)
		}
	}
	return strings.Join(parts, " ")
}

// rateString formats bits per second with the largest tc unit that divides
// it: 10mbit, 1gbit, 1500bit.
func rateString(bps uint64) string {
	for _, u := range []struct {
		name string
		v    uint64
	}{{"tbit", 1e12}, {"gbit", 1e9}, {"mbit", 1e6}, {"kbit", 1e3}} {
		if bps >= u.v && bps%u.v == 0 {
			return strconv.FormatUint(bps/u.v, 10) + u.name
		}
	}
	return strconv.FormatUint(bps, 10) + "bit"
}
