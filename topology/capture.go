package topology

import (
	"fmt"

	"github.com/netlab/netlab/internal/suggest"
)

// captureLink records that the link ls captures the interfaces ifcs when its
// `capture:` is on.
func (r *resolver) captureLink(ls *linkSpec, ifcs ...*Interface) {
	if ls.capture == nil {
		return
	}
	for _, ifc := range ifcs {
		r.linkCaps = append(r.linkCaps, linkCapture{ifc: ifc, spec: ls.capture})
	}
}

// ringOf returns the file size and file count c asks for, defaults filled in.
func ringOf(c *captureSpec) (int64, int) {
	size, files := int64(defaultCaptureFileSize), defaultCaptureFiles
	if c.fileSize.ok {
		size = c.fileSize.v
	}
	if c.files.ok {
		files = c.files.v
	}
	return size, files
}

// planCaptures sets Node.Capture once the nodes' interfaces are known and
// sorted. A node's own capture (node, then kind, then defaults) names its
// interfaces (all of them by default) and its ring; every link whose capture
// is on adds its interfaces on the node. The ring is the node's when its own
// capture is on, else the first such link's (a later link asking for another
// ring gets a warning).
func (r *resolver) planCaptures() {
	type ifKey struct{ node, iface string }
	written := map[ifKey]bool{} // every endpoint written, even on a bad link
	for _, ls := range r.spec.links {
		for _, es := range ls.eps {
			written[ifKey{es.node, es.iface}] = true
		}
	}
	byNode := map[*Node][]linkCapture{}
	for _, lc := range r.linkCaps {
		byNode[lc.ifc.Node] = append(byNode[lc.ifc.Node], lc)
	}
	for _, n := range r.lab.Nodes {
		own := r.captures[n]
		if own.ok && own.v.bad {
			continue // reported
		}
		links := byNode[n]
		on := own.ok && own.v.on
		if !on && len(links) == 0 {
			continue
		}
		want := map[string]bool{}
		var size int64
		var files int
		if on {
			size, files = ringOf(own.v)
			if own.v.ifaces == nil {
				for _, ifc := range n.Interfaces {
					want[ifc.Name] = true
				}
			}
			for _, ref := range own.v.ifaces {
				if n.Interface(ref.name) == nil {
					if !written[ifKey{n.Name, ref.name}] { // else its link is in error
						r.unknownCaptureIface(n, ref)
					}
					continue
				}
				want[ref.name] = true
			}
		} else {
			size, files = ringOf(links[0].spec)
		}
		warned := map[*captureSpec]bool{}
		for _, lc := range links {
			want[lc.ifc.Name] = true
			if on || warned[lc.spec] {
				continue
			}
			if s, f := ringOf(lc.spec); s != size || f != files {
				warned[lc.spec] = true
				r.warnf(lc.spec.pos, "capture: node %q records one ring, of %d files of %d bytes from the link at %s; this link's file-size and files are not used for it (give the node its own capture to choose)",
					n.Name, files, size, links[0].spec.pos)
			}
		}
		c := &Capture{FileSize: size, Files: files}
		for _, ifc := range n.Interfaces {
			if want[ifc.Name] {
				c.Interfaces = append(c.Interfaces, ifc.Name)
			}
		}
		if len(c.Interfaces) > 0 {
			n.Capture = c
		}
	}
}

// unknownCaptureIface reports an interface in capture.interfaces that node n
// does not have.
func (r *resolver) unknownCaptureIface(n *Node, ref ifaceRef) {
	names := make([]string, 0, 2*len(n.Interfaces))
	for _, ifc := range n.Interfaces {
		names = append(names, ifc.Name)
		if ifc.Written != "" {
			names = append(names, ifc.Written)
		}
	}
	have := "it has none: it ends no link"
	if len(n.Interfaces) > 0 {
		have = "its interfaces: " + ifaceList(n)
	}
	msg := fmt.Sprintf("capture: node %q has no interface %s", n.Name, ifQuote(ref.name, ref.written))
	if sug := suggest.Closest(ifWritten(ref.name, ref.written), names); sug != "" {
		msg += fmt.Sprintf("; did you mean %q?", sug)
	}
	r.errorf(ref.pos, "%s (%s)", msg, have)
}
