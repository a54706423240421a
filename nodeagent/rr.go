package nodeagent

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"time"
)

// The request/response protocol of the rr app and of flows with
// Requests: a request is 8 bytes, the size of the response wanted (big
// endian); the response is that many bytes of the pattern, from its
// start. The client half-closes after its last request.

// maxResponse bounds one response.
const maxResponse = 1 << 40

// rrServe answers the requests of one connection until its end.
func (a *app) rrServe(c net.Conn) {
	defer c.Close()
	var rec *ConnRecord
	if a.record > 0 {
		rec = &ConnRecord{Remote: c.RemoteAddr().String(), Accepted: time.Now()}
		a.mu.Lock()
		a.conns = append(a.conns, rec)
		a.mu.Unlock()
	}
	var hdr [8]byte
	for {
		_, err := io.ReadFull(c, hdr[:])
		if err != nil {
			if rec != nil {
				a.mu.Lock()
				rec.EOF = errors.Is(err, io.EOF)
				a.countersLocked(rec, c)
				a.mu.Unlock()
			}
			return
		}
		size := int64(binary.BigEndian.Uint64(hdr[:]))
		if size < 0 || size > maxResponse {
			return
		}
		n, err := io.CopyN(c, newPattern(), size)
		a.mu.Lock()
		a.info.Bytes += n
		if rec != nil {
			rec.Bytes += n
			rec.Last = time.Now()
			if rec.First.IsZero() {
				rec.First = rec.Last
			}
		}
		a.mu.Unlock()
		if err != nil {
			return
		}
	}
}

// QueryReport is one request of a flow: when it was sent and when its
// whole response had come, both since the batch's At.
type QueryReport struct {
	Sent time.Duration `json:"sent"`
	Done time.Duration `json:"done,omitempty"`
	// OK says the response came whole and was the pattern.
	OK bool `json:"ok"`
}

// queryGroup makes the flows of one Group ask together (incast): query k
// goes out on every connection at once, when all of them have their
// response to query k-1 and its time (Every) has come. A member that
// fails leaves the group, and the others go on without it.
type queryGroup struct {
	mu      sync.Mutex
	members int           // members still in
	ready   int           // members connected
	started bool          // start is closed
	start   chan struct{} // closed when every member is ready
	done    int           // answers to the current query
	next    chan struct{} // closed when every member has its answer
}

func newQueryGroup(members int) *queryGroup {
	return &queryGroup{members: members, start: make(chan struct{}), next: make(chan struct{})}
}

// checkLocked releases whoever waits for the members still in.
func (g *queryGroup) checkLocked() {
	if !g.started && g.ready >= g.members {
		g.started = true
		close(g.start)
	}
	if g.done > 0 && g.done >= g.members {
		g.done = 0
		close(g.next)
		g.next = make(chan struct{})
	}
}

// arrive says a member is connected, and waits for the others.
func (g *queryGroup) arrive(ctx context.Context) bool {
	g.mu.Lock()
	g.ready++
	g.checkLocked()
	g.mu.Unlock()
	select {
	case <-g.start:
		return true
	case <-ctx.Done():
		return false
	}
}

// answered says a member has its answer to the current query, and waits
// for the others'.
func (g *queryGroup) answered(ctx context.Context) bool {
	g.mu.Lock()
	ch := g.next
	g.done++
	g.checkLocked()
	g.mu.Unlock()
	select {
	case <-ch:
		return true
	case <-ctx.Done():
		return false
	}
}

// leave takes a member out: one that failed, or finished (arrived says
// whether it had arrived).
func (g *queryGroup) leave(arrived bool) {
	g.mu.Lock()
	g.members--
	if arrived {
		g.ready--
	}
	g.checkLocked()
	g.mu.Unlock()
}

// runQueries is a flow with Requests: it connects, then asks for Response
// bytes Requests times, each request Every after the previous one (or
// once its answer came, if later), in step with its group if it has one.
func runQueries(ctx context.Context, n netAPI, f FlowSpec, at time.Time, g *queryGroup) (rep FlowReport) {
	rep = FlowReport{ID: f.ID, To: f.To, Start: time.Now()}
	rep.Skew = rep.Start.Sub(at.Add(f.Start))
	arrived := false
	if g != nil {
		defer func() { g.leave(arrived) }() // failed or done: the others go on
	}
	ap, err := netip.ParseAddrPort(f.To)
	if err != nil {
		rep.Error = fmt.Sprintf("bad address %q: want IP:PORT", f.To)
		return rep
	}
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	c, err := n.Dial(dctx, ap, SocketOptions{CC: f.CC, SndBuf: f.SndBuf, RcvBuf: f.RcvBuf})
	cancel()
	if err != nil {
		rep.Error = fmt.Sprintf("connect to %v: %v", ap, err)
		return rep
	}
	defer c.Close()
	rep.Connected = time.Now()
	rep.From = c.LocalAddr().String()
	if t, ok := c.(interface{ SetNoDelay(bool) error }); ok {
		t.SetNoDelay(true) // a request must not wait for the previous answer's ACK
	}
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if g != nil {
		arrived = true
		if !g.arrive(ctx) {
			rep.Error = "stopped before the group was connected: " + ctx.Err().Error()
			return rep
		}
	}
	want := patternDigest(f.Response)
	buf := make([]byte, 64<<10)
	var hdr [8]byte
	binary.BigEndian.PutUint64(hdr[:], uint64(f.Response))
	next := time.Now()
	for q := range f.Requests {
		if q > 0 && f.Every > 0 {
			next = next.Add(f.Every)
			if !sleepUntilCtx(ctx, next) {
				rep.Error = "stopped: " + ctx.Err().Error()
				break
			}
		}
		qr := QueryReport{Sent: time.Since(at)}
		if _, err := c.Write(hdr[:]); err != nil {
			rep.Error = fmt.Sprintf("request %d: %v", q+1, err)
		} else {
			h := sha256.New()
			got, err := io.CopyBuffer(h, io.LimitReader(c, f.Response), buf)
			rep.Bytes += got
			switch {
			case err != nil:
				rep.Error = fmt.Sprintf("response %d: %v", q+1, err)
			case got < f.Response:
				rep.Error = fmt.Sprintf("response %d: %d of %d bytes before the server closed", q+1, got, f.Response)
			default:
				qr.Done, qr.OK = time.Since(at), [32]byte(h.Sum(nil)) == want
				if !qr.OK {
					rep.Error = fmt.Sprintf("response %d: not the bytes asked for", q+1)
				}
			}
		}
		rep.Queries = append(rep.Queries, qr)
		if rep.Error != "" {
			break
		}
		if g != nil && !g.answered(ctx) {
			rep.Error = "stopped: " + ctx.Err().Error()
			break
		}
	}
	if rep.Error == "" {
		if cw, ok := c.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		}
		c.SetReadDeadline(time.Now().Add(time.Minute))
		if k, err := io.Copy(io.Discard, c); err != nil || k > 0 {
			rep.Error = fmt.Sprintf("after the last response: %d bytes more, %v", k, err)
		} else {
			rep.End = time.Now()
		}
	}
	if info, err := n.Info(c); err == nil {
		rep.MSS, rep.CC = info.MSS, info.Congestion
		rep.DataSegsOut, rep.BytesSent = info.DataSegsOut, info.BytesSent
		rep.Retrans, rep.RTOs, rep.FastRetrans, rep.BytesRetrans = info.Retrans, info.Timeouts, info.FastRetrans, info.BytesRetrans
		rep.Spurious = info.SpuriousRetrans
		rep.SRTT, rep.MinRTT, rep.MaxCwndSegs = info.SRTT, info.MinRTT, info.CwndSegs
	}
	return rep
}

// patternDigest is the sha256 of the pattern's first size bytes.
func patternDigest(size int64) [32]byte {
	h := sha256.New()
	io.CopyN(h, newPattern(), size)
	return [32]byte(h.Sum(nil))
}

func sleepUntilCtx(ctx context.Context, t time.Time) bool {
	tm := time.NewTimer(time.Until(t))
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-ctx.Done():
		return false
	}
}
