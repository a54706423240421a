package sim

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"net/netip"
	"slices"
	"time"

	"github.com/netlab/netlab/nodeagent"
	"github.com/netlab/netlab/stack"
)

// maxEchoPending is how many bytes an echo connection reads ahead of what
// it could send back; beyond it the connection stops reading, so the
// sender's window closes as with the agent's blocking copy.
const maxEchoPending = 256 << 10

// app is a server application on a node: a sink or an echo server, the
// node agent's (see nodeagent.AppSpec) made event-driven.
type app struct {
	n     *node
	spec  nodeagent.AppSpec
	info  nodeagent.AppInfo
	lfd   int                     // the listening socket; -1 once stopped
	conns []*nodeagent.ConnRecord // recorded connections, in accept order
	live  []*conn                 // connections being served, in accept order
}

// conn is one connection an app serves.
type conn struct {
	fd   int
	h    hash.Hash
	rec  *nodeagent.ConnRecord // nil unless the app records
	n    int64                 // bytes read
	prev time.Time             // when the read before the last one was
	last nodeagent.ByteSample  // the last sample taken at a read
	out  []byte                // echo: read, not yet written back; rr: the answer's chunk not written yet
	eof  bool                  // echo: the peer's FIN came; close once out is sent

	// rr: the request being read, and the answer being written.
	hdr    [8]byte
	hdrGot int
	busy   bool  // answering
	left   int64 // bytes of the answer not generated yet
	size   int64 // the answer's size
	pat    pattern
	chunk  []byte
}

// StartApp starts a server application on a node, as the node agent's
// apps API does, and returns its id (1, 2, ... per node). Modes "sink"
// (with Record, a ConnRecord per connection: see AppConns), "echo" and
// "rr" (the server of flows of requests; with Record, a ConnRecord per
// connection) run on the virtual clock; "http" does not.
func (l *Lab) StartApp(node string, spec nodeagent.AppSpec) (int, error) {
	if l.closed {
		return 0, ErrClosed
	}
	n, err := l.node(node)
	if err != nil {
		return 0, err
	}
	if n.stopped {
		return 0, fmt.Errorf("sim: node %s is stopped: start it first", node)
	}
	n.nextApp++
	id := n.nextApp
	if err := checkApp(spec); err != nil {
		return 0, fmt.Errorf("sim: app on %s: %w", node, err)
	}
	fd, err := listen(n.st, spec.Port, spec)
	if err != nil {
		return 0, fmt.Errorf("sim: app on %s: listen on port %d: %w", node, spec.Port, err)
	}
	n.apps = append(n.apps, &app{n: n, spec: spec, info: nodeagent.AppInfo{ID: id, Mode: spec.Mode, Port: spec.Port}, lfd: fd})
	return id, nil
}

// checkApp validates spec as the agent does, refusing what the virtual
// clock cannot run.
func checkApp(spec nodeagent.AppSpec) error {
	if spec.Port == 0 {
		return errors.New("a port is needed")
	}
	switch spec.Mode {
	case "sink", "echo", "rr":
	case "http":
		return errors.New("mode http does not run on the virtual clock (sink, echo and rr do)")
	default:
		return fmt.Errorf("unknown mode %q: want sink, echo, rr or http", spec.Mode)
	}
	if spec.Dir != "" {
		return fmt.Errorf("a directory is served in http mode only, not %s", spec.Mode)
	}
	if spec.Record < 0 || spec.Record > 0 && spec.Mode != "sink" && spec.Mode != "rr" {
		return errors.New("record needs sink or rr mode and an interval > 0")
	}
	if spec.SndBuf < 0 || spec.RcvBuf < 0 {
		return fmt.Errorf("buffer sizes %d and %d: bytes, or 0 for the stack's default", spec.SndBuf, spec.RcvBuf)
	}
	return nil
}

// setBuffers sets fd's SO_SNDBUF and SO_RCVBUF where given (> 0), as the
// agent does (nodeagent.SocketOptions).
func setBuffers(s *stack.Stack, fd, sndbuf, rcvbuf int) error {
	if sndbuf > 0 {
		if err := s.SetOption(fd, stack.OptSendBuffer, sndbuf); err != nil {
			return err
		}
	}
	if rcvbuf > 0 {
		return s.SetOption(fd, stack.OptReceiveBuffer, rcvbuf)
	}
	return nil
}

// listen opens a non-blocking listening socket on port, all addresses,
// whose connections start with spec's buffer sizes.
func listen(s *stack.Stack, port uint16, spec nodeagent.AppSpec) (int, error) {
	fd, err := s.Socket(stack.SockStream)
	if err != nil {
		return -1, err
	}
	err = s.SetNonblock(fd, true)
	if err == nil {
		err = setBuffers(s, fd, spec.SndBuf, spec.RcvBuf)
	}
	if err == nil {
		err = s.Bind(fd, netip.AddrPortFrom(netip.IPv4Unspecified(), port))
	}
	if err == nil {
		err = s.Listen(fd, 128)
	}
	if err != nil {
		s.Close(fd)
		return -1, err
	}
	return fd, nil
}

// StopApp stops an app as the agent's DELETE does: its listener and the
// connections it serves are closed (an open recorded connection ends
// without EOF); its records stay.
func (l *Lab) StopApp(node string, id int) error {
	if l.closed {
		return ErrClosed
	}
	a, err := l.app(node, id)
	if err != nil {
		return err
	}
	a.stop()
	return nil
}

func (l *Lab) app(node string, id int) (*app, error) {
	n, err := l.node(node)
	if err != nil {
		return nil, err
	}
	for _, a := range n.apps {
		if a.info.ID == id {
			return a, nil
		}
	}
	return nil, fmt.Errorf("sim: node %s has no app %d", node, id)
}

// Apps returns what the apps of a node did, in id order.
func (l *Lab) Apps(node string) ([]nodeagent.AppInfo, error) {
	n, err := l.node(node)
	if err != nil {
		return nil, err
	}
	out := make([]nodeagent.AppInfo, len(n.apps))
	for i, a := range n.apps {
		out[i] = a.info
	}
	return out, nil
}

// AppConns returns copies of a recording sink's connection records, in
// accept order; a connection still being read is Open, with the digest of
// what was read so far.
func (l *Lab) AppConns(node string, id int) ([]nodeagent.ConnRecord, error) {
	a, err := l.app(node, id)
	if err != nil {
		return nil, err
	}
	out := make([]nodeagent.ConnRecord, len(a.conns))
	for i, r := range a.conns {
		out[i] = *r
		out[i].Samples = slices.Clone(r.Samples)
	}
	for _, c := range a.live {
		if c.rec == nil || a.spec.Mode != "sink" {
			continue // the agent shows only a sink's records as open
		}
		if i := slices.Index(a.conns, c.rec); i >= 0 {
			out[i].Open = true
			out[i].SHA256 = hex.EncodeToString(c.h.Sum(nil))
		}
	}
	return out, nil
}

// stop closes the listener and every connection.
func (a *app) stop() {
	s := a.n.st
	if a.lfd >= 0 {
		s.Close(a.lfd)
		a.lfd = -1
	}
	for _, c := range a.live {
		if a.spec.Mode == "rr" {
			a.endRR(c, false)
		} else {
			a.end(c, false)
		}
	}
	a.live = nil
}

// restart listens again after stop (a node's start).
func (a *app) restart() error {
	if a.lfd >= 0 {
		return nil
	}
	fd, err := listen(a.n.st, a.spec.Port, a.spec)
	if err != nil {
		return fmt.Errorf("listen on port %d: %w", a.spec.Port, err)
	}
	a.lfd = fd
	return nil
}

// poll accepts and serves what can be without waiting; it reports whether
// it did anything.
func (a *app) poll(l *Lab) bool {
	if a.lfd < 0 {
		return false
	}
	s := a.n.st
	busy := false
	for {
		fd, remote, err := s.Accept(a.lfd)
		if err != nil {
			break // EAGAIN: none waiting
		}
		busy = true
		s.SetNonblock(fd, true)
		a.info.Accepted++
		c := &conn{fd: fd, h: sha256.New()}
		if a.spec.Record > 0 {
			c.rec = &nodeagent.ConnRecord{Remote: remote.String(), Accepted: l.clk.Now()}
			a.conns = append(a.conns, c.rec)
		}
		a.live = append(a.live, c)
	}
	kept := a.live[:0]
	for _, c := range a.live {
		did, open := a.serve(l, c)
		busy = busy || did
		if open {
			kept = append(kept, c)
		}
	}
	clear(a.live[len(kept):])
	a.live = kept
	return busy
}

// serve reads (and echoes) what c can without waiting. It reports whether
// it did anything and whether c is still open.
func (a *app) serve(l *Lab, c *conn) (did, open bool) {
	if a.spec.Mode == "rr" {
		return a.answer(l, c)
	}
	s := a.n.st
	now := l.clk.Now()
	for {
		if a.spec.Mode == "echo" && len(c.out) > 0 {
			w, err := s.Write(c.fd, c.out)
			if w > 0 {
				did = true
				c.out = c.out[w:]
				if len(c.out) == 0 {
					c.out = nil
				}
			}
			if err != nil && !errors.Is(err, stack.EAGAIN) {
				a.end(c, false)
				return true, false
			}
		}
		if c.eof {
			if len(c.out) == 0 {
				a.end(c, true)
				return true, false
			}
			return did, true
		}
		if len(c.out) >= maxEchoPending {
			return did, true
		}
		k, err := s.Read(c.fd, l.buf)
		switch {
		case k > 0:
			did = true
			a.got(c, l.buf[:k], now)
		case err == nil:
			// End of stream: the sender's FIN.
			if a.spec.Mode == "echo" && len(c.out) > 0 {
				c.eof = true
				continue
			}
			a.end(c, true)
			return true, false
		case errors.Is(err, stack.EAGAIN):
			return did, true
		default:
			a.end(c, false)
			return true, false
		}
	}
}

// got accounts for b, read from c at now, as the agent's recordConn does:
// a sample at most every Record interval, and both ends of a gap longer
// than it.
func (a *app) got(c *conn, b []byte, now time.Time) {
	c.h.Write(b)
	k := int64(len(b))
	if a.spec.Mode == "echo" {
		c.out = append(c.out, b...)
	}
	if rec := c.rec; rec != nil {
		if rec.First.IsZero() {
			rec.First = now
		}
		at := now.Sub(rec.Accepted)
		gap := len(rec.Samples) > 0 && now.Sub(c.prev) >= a.spec.Record
		if len(rec.Samples) == 0 || at-c.last.At >= a.spec.Record || gap {
			if gap {
				if p := c.prev.Sub(rec.Accepted); p > c.last.At {
					rec.Samples = append(rec.Samples, nodeagent.ByteSample{At: p, Bytes: c.n})
				}
				rec.Samples = append(rec.Samples, nodeagent.ByteSample{At: at, Bytes: c.n})
			}
			c.last = nodeagent.ByteSample{At: at, Bytes: c.n + k}
			rec.Samples = append(rec.Samples, c.last)
		}
		rec.Bytes, rec.Last = c.n+k, now
		a.info.Bytes += k
	}
	c.n += k
	c.prev = now
}

// end finishes c: its record gets its last sample, counters and digest,
// and the socket is closed. eof says the sender's FIN came.
func (a *app) end(c *conn, eof bool) {
	s := a.n.st
	sum := hex.EncodeToString(c.h.Sum(nil))
	if rec := c.rec; rec != nil {
		if at := rec.Last.Sub(rec.Accepted); c.n > 0 && at > c.last.At {
			rec.Samples = append(rec.Samples, nodeagent.ByteSample{At: at, Bytes: c.n})
		}
		if info, err := s.Info(c.fd); err == nil {
			rec.Retrans, rec.RTOs, rec.FastRetrans, rec.DataSegsOut = info.Retrans, info.Timeouts, info.FastRetrans, info.DataSegsOut
			rec.Spurious = info.SpuriousRetrans
		}
		rec.SHA256 = sum
		rec.EOF = eof
		if eof {
			a.info.LastSHA256 = sum
		}
	} else {
		a.info.Bytes += c.n
		a.info.LastSHA256 = sum
	}
	s.Close(c.fd)
}

// answer serves an rr connection as the agent's rrServe does: it reads a
// request, writes the answer, and again, until the client's FIN. It
// reports whether it did anything and whether c is still open.
func (a *app) answer(l *Lab, c *conn) (did, open bool) {
	s := a.n.st
	for {
		if c.busy {
			if len(c.out) == 0 && c.left > 0 {
				if c.chunk == nil {
					c.chunk = make([]byte, chunkSize)
				}
				k := min(c.left, int64(len(c.chunk)))
				c.pat.Read(c.chunk[:k])
				c.out, c.left = c.chunk[:k], c.left-k
			}
			w, err := s.Write(c.fd, c.out)
			c.out = c.out[w:]
			did = did || w > 0
			if err != nil && !errors.Is(err, stack.EAGAIN) {
				s.Close(c.fd) // the agent keeps no account of a failed answer
				return true, false
			}
			if len(c.out) > 0 || c.left > 0 {
				return did, true
			}
			now := l.clk.Now()
			a.info.Bytes += c.size
			if rec := c.rec; rec != nil {
				rec.Bytes += c.size
				rec.Last = now
				if rec.First.IsZero() {
					rec.First = now
				}
			}
			c.busy, c.size, c.out, c.chunk = false, 0, nil, nil
		}
		k, err := s.Read(c.fd, c.hdr[c.hdrGot:])
		switch {
		case k > 0:
			did = true
			if c.hdrGot += k; c.hdrGot < len(c.hdr) {
				continue
			}
			c.hdrGot = 0
			size := int64(binary.BigEndian.Uint64(c.hdr[:]))
			if size < 0 || size > maxResponse {
				s.Close(c.fd)
				return true, false
			}
			c.busy, c.size, c.left, c.pat = true, size, size, newPattern()
			continue
		case errors.Is(err, stack.EAGAIN):
			return did, true
		}
		// The end: EOF between requests, or an error.
		a.endRR(c, err == nil && c.hdrGot == 0)
		return true, false
	}
}

// endRR finishes an rr connection: its record gets EOF and the counters
// (no digest: the agent keeps none), and the socket is closed.
func (a *app) endRR(c *conn, eof bool) {
	s := a.n.st
	if rec := c.rec; rec != nil {
		rec.EOF = eof
		if info, err := s.Info(c.fd); err == nil {
			rec.Retrans, rec.RTOs, rec.FastRetrans, rec.DataSegsOut = info.Retrans, info.Timeouts, info.FastRetrans, info.DataSegsOut
			rec.Spurious = info.SpuriousRetrans
		}
	}
	s.Close(c.fd)
}
