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
