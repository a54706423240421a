package nodeagent

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"time"
)

// FlowSpec is one flow of a FlowBatch: a connection that sends the
// pattern to a sink, Bytes of it or for Duration, then half-closes and
// waits for the sink to close.
type FlowSpec struct {
	// ID names the flow in its report.
	ID int `json:"id"`
	// To is the sink's IP:PORT.
	To string `json:"to"`
	// Start is when to connect, after the batch's At.
	Start time.Duration `json:"start"`
	// Bytes is how much to send; or
	Bytes int64 `json:"bytes,omitempty"`
	// Duration is for how long to send, from Start.
	Duration time.Duration `json:"duration,omitempty"`
	// Drain bounds how long a flow of a Duration waits, once it stopped
	// writing, for the receiver to read what its buffer still held; then
	// it resets the connection and reports Cut (0: as long as the batch).
	Drain time.Duration `json:"drain,omitempty"`
	// CC is the congestion control; empty keeps the node's.
	CC string `json:"cc,omitempty"`
	// NoDelay turns Nagle off.
	NoDelay bool `json:"nodelay,omitempty"`
	// SndBuf and RcvBuf size the connecting socket's buffers (bytes; 0:
	// the stack's default).
	SndBuf int `json:"sndbuf,omitempty"`
	RcvBuf int `json:"rcvbuf,omitempty"`
	// Requests, instead of Bytes or Duration, makes the flow ask an rr
	// app for Response bytes that many times on one connection, a request
	// Every after the previous (or when its answer came, if later).
	Requests int           `json:"requests,omitempty"`
	Response int64         `json:"response,omitempty"`
	Every    time.Duration `json:"every,omitempty"`
	// Group names flows of requests that ask together: request k goes out
	// on all of them at once, when all have their answer to k-1 (incast).
	Group string `json:"group,omitempty"`
}

// FlowBatch is the flows one node runs in an experiment cell. The agent
// starts each flow on its own timer, so the orchestrator sends one request
// per node and never paces flows itself.
type FlowBatch struct {
	// At is the wall-clock time the flows' Start offsets count from.
	At time.Time `json:"at"`
	// Sample is how often each flow's cwnd, srtt and acknowledged bytes
	// are read (0: only at the end).
	Sample time.Duration `json:"sample,omitempty"`
	// Limit ends every flow still running at At+Limit (0: no limit).
	Limit time.Duration `json:"limit,omitempty"`
	Flows []FlowSpec    `json:"flows"`
}

// FlowSample is a flow's sender state at one moment.
type FlowSample struct {
	// At is the time since the batch's At.
	At         time.Duration `json:"at"`
	CwndSegs   uint32        `json:"cwnd"`
	SRTT       time.Duration `json:"srtt"`
	BytesAcked uint64        `json:"acked"`
	Retrans    uint64        `json:"retrans"`
}

// FlowReport is what one flow did, seen from its sender.
type FlowReport struct {
	ID   int    `json:"id"`
	From string `json:"from,omitempty"` // the sender's IP:PORT
	To   string `json:"to"`
	// Start is when connect was called; Skew how late that was against
	// the schedule.
	Start time.Time     `json:"start"`
	Skew  time.Duration `json:"skew"`
	// Connected is when the handshake completed.
	Connected time.Time `json:"connected,omitzero"`
	// End is when the sink's FIN came: everything sent was delivered.
	End time.Time `json:"end,omitzero"`
	// Bytes is what the application wrote; SHA256 their digest.
	Bytes int64 `json:"bytes"`
	// Cut says a flow of a Duration was reset after its Drain: the
	// receiver has a prefix of Bytes (see PatternDigest).
	Cut    bool   `json:"cut,omitempty"`
	SHA256 string `json:"sha256,omitempty"`
	CC     string `json:"cc,omitempty"`
	MSS    int    `json:"mss,omitempty"`
	// Counters at the end (tcp_info).
	DataSegsOut  uint64        `json:"data_segs_out"`
	BytesSent    uint64        `json:"bytes_sent"`
	Retrans      uint64        `json:"retrans"`
	RTOs         uint64        `json:"rtos"`
	FastRetrans  uint64        `json:"fast_retrans"`
	Spurious     uint64        `json:"spurious_retrans"`
	BytesRetrans uint64        `json:"bytes_retrans"`
	SRTT         time.Duration `json:"srtt"`
	MinRTT       time.Duration `json:"min_rtt"`
	MaxCwndSegs  uint32        `json:"max_cwnd"`
	Samples      []FlowSample  `json:"samples,omitempty"`
	// Queries are a flow of requests' requests.
	Queries []QueryReport `json:"queries,omitempty"`
	// Error says why the flow did not complete.
	Error string `json:"error,omitempty"`
}

// runBatch runs every flow of b and reports them in b's order.
func runBatch(ctx context.Context, n netAPI, digests *patternDigests, b FlowBatch) ([]FlowReport, error) {
	groups := map[string]*queryGroup{}
	for _, f := range b.Flows {
		switch {
		case f.Requests > 0:
			if f.Response <= 0 || f.Response > maxResponse {
				return nil, fmt.Errorf("flow %d: a flow of requests needs a response size from 1 byte to 1 TiB", f.ID)
			}
			if f.Bytes > 0 || f.Duration > 0 {
				return nil, fmt.Errorf("flow %d: a flow of requests has no bytes or duration of its own", f.ID)
			}
			if f.Group != "" {
				if groups[f.Group] == nil {
					groups[f.Group] = newQueryGroup(0)
				}
				groups[f.Group].members++
			}
		case f.Group != "":
			return nil, fmt.Errorf("flow %d: only flows of requests have a group", f.ID)
		case f.Bytes <= 0 && f.Duration <= 0:
			return nil, fmt.Errorf("flow %d: say how much to send: bytes or duration", f.ID)
		}
		if _, err := netip.ParseAddrPort(f.To); err != nil {
			return nil, fmt.Errorf("flow %d: bad address %q: want IP:PORT", f.ID, f.To)
		}
	}
	if b.Limit > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, b.At.Add(b.Limit))
		defer cancel()
	}
	out := make([]FlowReport, len(b.Flows))
	var wg sync.WaitGroup
	for i, f := range b.Flows {
		wg.Go(func() {
			t := time.NewTimer(time.Until(b.At.Add(f.Start)))
			defer t.Stop()
			g := groups[f.Group]
			select {
			case <-t.C:
			case <-ctx.Done():
				out[i] = FlowReport{ID: f.ID, To: f.To, Error: "not started: " + ctx.Err().Error()}
				if g != nil {
					g.leave(false)
				}
				return
			}
			if f.Requests > 0 {
				out[i] = runQueries(ctx, n, f, b.At, g)
				return
			}
			out[i] = runFlow(ctx, n, digests, f, b.At, b.Sample, true)
		})
	}
	wg.Wait()
	return out, nil
}

// runFlow connects, sends, half-closes, waits for the peer to close, and
// reports. Samples are kept when keep is set; the largest cwnd is found
// from them (every 10 ms when sample is 0).
func runFlow(ctx context.Context, n netAPI, digests *patternDigests, f FlowSpec, at time.Time, sample time.Duration, keep bool) (rep FlowReport) {
	rep = FlowReport{ID: f.ID, To: f.To, Start: time.Now()}
	if !at.IsZero() {
		rep.Skew = rep.Start.Sub(at.Add(f.Start))
	}
	ap, err := netip.ParseAddrPort(f.To)
	if err != nil {
		rep.Error = fmt.Sprintf("bad address %q: want IP:PORT", f.To)
		return rep
	}
	if at.IsZero() {
		at = rep.Start
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
	if f.NoDelay {
		if t, ok := c.(interface{ SetNoDelay(bool) error }); ok {
			t.SetNoDelay(true)
		}
	}
	// Ending the context ends the flow: a past deadline wakes any read or
	// write in progress.
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	smp := newSampler(n, c, at, sample, keep)
	defer smp.stop()

	// What a flow writes is always the pattern's first rep.Bytes bytes (a
	// Write short of its buffer returns an error, which ends the loop), so
	// the sender's digest is taken after the flow, off its data path.
	// Written straight from the pattern's table: one copy fewer a byte,
	// and its source stays in the caches however many flows share it.
	src := newPattern()
	var end time.Time
	if f.Duration > 0 {
		end = rep.Start.Add(f.Duration)
		c.SetWriteDeadline(end)
	}
	var werr error
	for {
		if err := ctx.Err(); err != nil {
			// A write that never blocks never sees the past deadline.
			werr = fmt.Errorf("send: %w", err)
			break
		}
		chunk := int64(64 << 10)
		if f.Bytes > 0 {
			if rep.Bytes >= f.Bytes {
				break
			}
			chunk = min(chunk, f.Bytes-rep.Bytes)
		}
		w, err := c.Write(src.Next(int(chunk)))
		rep.Bytes += int64(w)
		if err != nil {
			if !end.IsZero() && isTimeout(err) && ctx.Err() == nil {
				break // the duration is over; the digest holds what was written
			}
			werr = fmt.Errorf("send: %w", err)
			break
		}
		if !end.IsZero() && !time.Now().Before(end) {
			break
		}
	}
	if werr == nil {
		c.SetWriteDeadline(time.Time{})
		if cw, ok := c.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		}
		// The sink's FIN says everything sent was read.
		drain := 5 * time.Minute
		if f.Duration > 0 && f.Drain > 0 {
			drain = f.Drain
		}
		c.SetReadDeadline(time.Now().Add(drain))
		_, err := io.Copy(io.Discard, c)
		switch {
		case err == nil:
			rep.End = time.Now()
		case f.Duration > 0 && f.Drain > 0 && isTimeout(err) && ctx.Err() == nil:
			// What the buffers still hold is not part of the cell: reset.
			if l, ok := c.(interface{ SetLinger(int) error }); ok {
				l.SetLinger(0)
			}
			rep.Cut, rep.End = true, time.Now()
		default:
			werr = fmt.Errorf("waiting for the receiver to close: %w", err)
		}
	}
	if werr != nil {
		if ctx.Err() != nil {
			werr = fmt.Errorf("%w (stopped: %v)", werr, ctx.Err())
		}
		rep.Error = werr.Error()
	}
	smp.stop()
	rep.SHA256 = digests.sum(rep.Bytes)
	if info, err := n.Info(c); err == nil {
		rep.MSS, rep.CC = info.MSS, info.Congestion
		rep.DataSegsOut, rep.BytesSent = info.DataSegsOut, info.BytesSent
		rep.Retrans, rep.RTOs, rep.FastRetrans, rep.BytesRetrans = info.Retrans, info.Timeouts, info.FastRetrans, info.BytesRetrans
		rep.Spurious = info.SpuriousRetrans
		rep.SRTT, rep.MinRTT = info.SRTT, info.MinRTT
		smp.maxCwnd = max(smp.maxCwnd, info.CwndSegs)
	}
	rep.MaxCwndSegs = smp.maxCwnd
	rep.Samples = smp.samples
	return rep
}

// PatternDigest is the sha256 of the first n bytes every flow sends: what
// the receiver of a Cut flow must have, for the n bytes it read.
func PatternDigest(n int64) string {
	d := patternDigest(n)
	return hex.EncodeToString(d[:])
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// sampler reads a connection's tcp_info on a ticker until stopped.
type sampler struct {
	done    chan struct{}
	wg      sync.WaitGroup
	once    sync.Once
	maxCwnd uint32       // written by the goroutine; read after stop
	samples []FlowSample // likewise
}

func newSampler(n netAPI, c net.Conn, at time.Time, every time.Duration, keep bool) *sampler {
	s := &sampler{done: make(chan struct{})}
	if every <= 0 {
		every, keep = 10*time.Millisecond, false
	}
	s.wg.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			if info, err := n.Info(c); err == nil {
				s.maxCwnd = max(s.maxCwnd, info.CwndSegs)
				if keep {
					s.samples = append(s.samples, FlowSample{At: time.Since(at), CwndSegs: info.CwndSegs,
						SRTT: info.SRTT, BytesAcked: info.BytesAcked, Retrans: info.Retrans})
				}
			}
			select {
			case <-t.C:
			case <-s.done:
				return
			}
		}
	})
	return s
}

// stop ends the sampling goroutine and waits for it; it may be called
// more than once.
func (s *sampler) stop() {
	s.once.Do(func() { close(s.done) })
	s.wg.Wait()
}
