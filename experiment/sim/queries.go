package sim

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/netlab/netlab/nodeagent"
	"github.com/netlab/netlab/stack"
)

// The request/response protocol of the agent's rr app and flows of
// requests: a request is 8 bytes, the size of the response wanted (big
// endian); the response is that many bytes of the pattern, from its
// start. The client half-closes after its last request.

// maxResponse bounds one response, as the agent does.
const maxResponse = 1 << 40

// closeWait bounds how long a flow of requests waits for the server's FIN
// after its last answer.
const closeWait = time.Minute

// queryGroup makes the flows of one Group ask together (incast), as the
// agent's does: query k goes out on every member at once, when all have
// their answer to k-1. A member that fails or ends leaves it.
type queryGroup struct {
	members int  // members still in
	ready   int  // members connected
	started bool // every member connected
	done    int  // answers to the current query
	gen     int  // moves on when every member has its answer
}

func (g *queryGroup) check() {
	if !g.started && g.ready >= g.members {
		g.started = true
	}
	if g.done > 0 && g.done >= g.members {
		g.done = 0
		g.gen++
	}
}

func (g *queryGroup) leave(arrived bool) {
	g.members--
	if arrived {
		g.ready--
	}
	g.check()
}

// queryPhase is where a flow of requests is in its current query.
type queryPhase int

const (
	qWait  queryPhase = iota // for the query's time
	qSend                    // writing the request
	qRecv                    // reading the answer
	qGroup                   // for the group's other answers
)

// query is the state of a flow of requests.
type query struct {
	g       *queryGroup
	arrived bool // counted in g.ready
	left    bool // out of g
	q       int  // the current query, from 0
	phase   queryPhase
	next    time.Time // when the current query is due
	armed   bool      // a timer wakes the flow at next
	hdr     [8]byte
	hdrSent int
	got     int64
	qr      nodeagent.QueryReport
	gen     int    // the group's generation when this member answered
	want    string // the digest of a whole answer
	extra   int64  // bytes after the last answer
}

// deadline is the agent's word for a context that ended.
var deadline = context.DeadlineExceeded.Error()

// startQueries follows a flow of requests' connect.
func (f *flow) startQueries(l *Lab) {
	f.n.st.SetOption(f.fd, stack.OptNoDelay, true) // a request must not wait for the previous answer's ACK
	f.want = nodeagent.PatternDigest(f.spec.Response)
	f.state = flowQuerying
	f.next = l.clk.Now()
	if f.g != nil {
		f.arrived = true
		f.g.ready++
		f.g.check()
		f.state = flowGroup
	}
	f.querying(l)
}

// querying moves a flow of requests on as far as it goes without waiting;
// it reports whether it did anything.
func (f *flow) querying(l *Lab) bool {
	s := f.n.st
	now := l.clk.Now()
	did := false
	if f.state == flowGroup {
		if !f.g.started {
			if f.limited {
				f.rep.Error = "stopped before the group was connected: " + deadline
				f.finish(l, false)
				return true
			}
			return false
		}
		f.state, f.next, did = flowQuerying, now, true
	}
	for f.state == flowQuerying {
		switch f.phase {
		case qWait:
			if f.q == f.spec.Requests {
				s.Shutdown(f.fd, stack.ShutWR)
				f.timers = append(f.timers, l.clk.AfterFunc(closeWait, func() { f.drainExpired = true }))
				f.state = flowClosing
				f.closing(l)
				return true
			}
			if f.q > 0 && f.spec.Every > 0 && !f.armed {
				f.next, f.armed = f.next.Add(f.spec.Every), true
				if f.next.After(now) {
					f.timers = append(f.timers, l.clk.AfterFunc(f.next.Sub(now), func() {}))
				}
			}
			if f.next.After(now) {
				if f.limited {
					f.rep.Error = "stopped: " + deadline
					f.finish(l, true)
					return true
				}
				return did
			}
			f.armed = false
			f.qr = nodeagent.QueryReport{Sent: now.Sub(f.at)}
			f.hdrSent, f.got, f.h = 0, 0, sha256.New()
			binary.BigEndian.PutUint64(f.hdr[:], uint64(f.spec.Response))
			f.phase, did = qSend, true
		case qSend:
			w, err := s.Write(f.fd, f.hdr[f.hdrSent:])
			f.hdrSent += w
			if err != nil && !errors.Is(err, stack.EAGAIN) {
				f.rep.Error = fmt.Sprintf("request %d: %v", f.q+1, err)
				f.answered(l)
				return true
			}
			if f.hdrSent < len(f.hdr) {
				return did || w > 0
			}
			f.phase, did = qRecv, true
		case qRecv:
			k, err := s.Read(f.fd, l.buf[:min(int64(len(l.buf)), f.spec.Response-f.got)])
			switch {
			case k > 0:
				did = true
				f.h.Write(l.buf[:k])
				f.got += int64(k)
				f.rep.Bytes += int64(k)
				if f.got < f.spec.Response {
					continue
				}
				f.qr.Done, f.qr.OK = now.Sub(f.at), hex.EncodeToString(f.h.Sum(nil)) == f.want
				if !f.qr.OK {
					f.rep.Error = fmt.Sprintf("response %d: not the bytes asked for", f.q+1)
				}
			case err == nil:
				f.rep.Error = fmt.Sprintf("response %d: %d of %d bytes before the server closed", f.q+1, f.got, f.spec.Response)
			case !errors.Is(err, stack.EAGAIN):
				f.rep.Error = fmt.Sprintf("response %d: %v", f.q+1, err)
			case f.limited:
				f.rep.Error = fmt.Sprintf("response %d: read: %v", f.q+1, os.ErrDeadlineExceeded)
			default:
				return did
			}
			f.answered(l)
			did = true
		case qGroup:
			if f.g.gen == f.gen {
				if f.limited {
					f.rep.Error = "stopped: " + deadline
					f.finish(l, true)
					return true
				}
				return did
			}
			f.q++
			f.phase, did = qWait, true
		}
	}
	if f.state == flowClosing {
		return f.closing(l) || did
	}
	return did
}

// answered ends the current query: an error ends the flow; otherwise the
// flow goes on to the next query, with its group if it has one.
func (f *flow) answered(l *Lab) {
	f.rep.Queries = append(f.rep.Queries, f.qr)
	if f.rep.Error != "" {
		f.finish(l, true)
		return
	}
	if f.g != nil {
		f.gen = f.g.gen
		f.g.done++
		f.g.check()
		f.phase = qGroup
		return
	}
	f.q++
	f.phase = qWait
}

// closing reads until the server's FIN after the last answer: anything
// more is an error.
func (f *flow) closing(l *Lab) bool {
	s := f.n.st
	did := false
	for {
		k, err := s.Read(f.fd, l.buf)
		switch {
		case k > 0:
			did = true
			f.extra += int64(k)
			continue
		case err == nil:
			if f.extra > 0 {
				f.rep.Error = fmt.Sprintf("after the last response: %d bytes more, <nil>", f.extra)
			} else {
				f.rep.End = l.clk.Now()
			}
		case !errors.Is(err, stack.EAGAIN):
			f.rep.Error = fmt.Sprintf("after the last response: %d bytes more, %v", f.extra, err)
		case f.limited || f.drainExpired:
			f.rep.Error = fmt.Sprintf("after the last response: %d bytes more, read: %v", f.extra, os.ErrDeadlineExceeded)
		default:
			return did
		}
		f.finish(l, true)
		return true
	}
}
