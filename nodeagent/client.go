package nodeagent

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/netlab/netlab/stack"
	"github.com/netlab/netlab/trace"
)

// Client talks to an agent's control API over its unix socket (or what
// NewClientDial's dial opens).
type Client struct {
	hc     *http.Client
	key    string // names the agent: its socket
	socket string
	node   string
	log    string // where the agent logs, for errors; may be empty
}

// NewClient returns a client for node, reached through socket.
func NewClient(socket, node string) *Client {
	c := NewClientDial(func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", socket)
	}, socket, node)
	c.socket = socket
	return c
}

// NewClientDial returns a client for node whose connections to its agent
// dial opens: a stream through a Kubernetes API server to a worker pod
// (kube.Forwarder), a TCP connection. key names the agent (AgentKey).
func NewClientDial(dial func(ctx context.Context) (net.Conn, error), key, node string) *Client {
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) { return dial(ctx) }}
	return &Client{hc: &http.Client{Transport: tr}, key: key, node: node}
}

// WithLog returns c, telling it where its agent logs (a file, or how to
// see the log), which errors that mean the agent is gone then name.
func (c *Client) WithLog(log string) *Client {
	c.log = log
	return c
}

// Unreachable turns the error of a request the agent never answered into
// one a user can act on, wrapping ErrAgentGone, naming the node and the
// agent's log.
func (c *Client) Unreachable(err error) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // not the URL, which is made up
	}
	msg := fmt.Sprintf("the agent of node %s does not answer (%v): it has exited or was killed", c.node, err)
	if c.log != "" {
		msg += "; see " + c.log
	}
	return fmt.Errorf("%s; `netlab inspect` shows which nodes are alive, `netlab deploy --reconfigure` redeploys: %w", msg, ErrAgentGone)
}

// ErrAgentGone is wrapped by the errors of requests whose agent did not
// answer at all (its socket is gone or refuses connections).
var ErrAgentGone = errors.New("agent gone")

func (c *Client) url(p string) string {
	return "http://agent/v1/nodes/" + url.PathEscape(c.node) + "/" + p
}

// send makes one API request with in (if not nil) as its JSON body and
// returns the response, or the agent's error. The caller closes the body.
func (c *Client) send(ctx context.Context, method, p string, in any) (*http.Response, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.url(p), body)
	if err != nil {
		return nil, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, c.Unreachable(err)
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		var ae apiError
		if json.NewDecoder(resp.Body).Decode(&ae) == nil && ae.Error != "" {
			return nil, errors.New(ae.Error)
		}
		return nil, fmt.Errorf("agent: %s", resp.Status)
	}
	return resp, nil
}

func (c *Client) do(ctx context.Context, method, p string, in, out any) error {
	resp, err := c.send(ctx, method, p, in)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// HealthTimeout bounds how long Health waits: an agent that is alive
// answers at once, one that is stopped or stuck must not hold the caller.
const HealthTimeout = 2 * time.Second

// Health asks the agent how it is: it answers with the nodes it serves,
// within HealthTimeout.
// HealthTries is how many health checks of HealthTimeout each
// PatientHealth makes of an agent that does not answer in time.
const HealthTries = 3

// PatientHealth is Health, asked again while the agent does not answer
// within HealthTimeout, HealthTries times at most: an agent that is only
// slow (a lab keeping the processors busy) is not called gone, and one
// that is stuck holds its caller HealthTries × HealthTimeout at most.
func (c *Client) PatientHealth(ctx context.Context) (Health, error) {
	var h Health
	var err error
	for try := 0; try < HealthTries; try++ {
		if h, err = c.Health(ctx); !errors.Is(err, context.DeadlineExceeded) {
			break
		}
	}
	return h, err
}

func (c *Client) Health(ctx context.Context) (Health, error) {
	var h Health
	ctx, cancel := context.WithTimeout(ctx, HealthTimeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://agent/v1/health", nil)
	resp, err := c.hc.Do(req)
	if err != nil {
		return h, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return h, fmt.Errorf("agent health: %s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		return h, fmt.Errorf("agent health: %w", err)
	}
	return h, nil
}

// Status returns the node's interfaces, routes, apps and counters.
func (c *Client) Status(ctx context.Context) (NodeStatus, error) {
	var st NodeStatus
	return st, c.do(ctx, http.MethodGet, "status", nil, &st)
}

// Sockets returns the `ss -ti` view of every connection of the node.
func (c *Client) Sockets(ctx context.Context) ([]stack.TCPInfo, error) {
	var out []stack.TCPInfo
	return out, c.do(ctx, http.MethodGet, "sockets", nil, &out)
}

// StartApp starts a server app.
func (c *Client) StartApp(ctx context.Context, spec AppSpec) (AppInfo, error) {
	var out AppInfo
	return out, c.do(ctx, http.MethodPost, "apps", spec, &out)
}

// Apps lists the node's server apps.
func (c *Client) Apps(ctx context.Context) ([]AppInfo, error) {
	var out []AppInfo
	return out, c.do(ctx, http.MethodGet, "apps", nil, &out)
}

// StopApp stops a server app.
func (c *Client) StopApp(ctx context.Context, id int) (AppInfo, error) {
	var out AppInfo
	return out, c.do(ctx, http.MethodDelete, fmt.Sprintf("apps/%d", id), nil, &out)
}

// AppConns returns the connection records of a recording sink.
func (c *Client) AppConns(ctx context.Context, id int) ([]ConnRecord, error) {
	var out []ConnRecord
	return out, c.do(ctx, http.MethodGet, fmt.Sprintf("apps/%d/conns", id), nil, &out)
}

// Flows runs a batch of flows on the node and returns their reports, in
// the batch's order, when the last one ends. Cancelling ctx ends them.
func (c *Client) Flows(ctx context.Context, b FlowBatch) ([]FlowReport, error) {
	var out []FlowReport
	return out, c.do(ctx, http.MethodPost, "flows", b, &out)
}

// Send runs a bulk send and returns its report.
func (c *Client) Send(ctx context.Context, spec SendSpec) (SendReport, error) {
	var out SendReport
	return out, c.do(ctx, http.MethodPost, "send", spec, &out)
}

// Get fetches url from the node, writing the body to w.
func (c *Client) Get(ctx context.Context, rawURL string, w io.Writer) (GetReport, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url("get")+"?url="+url.QueryEscape(rawURL), nil)
	if err != nil {
		return GetReport{}, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return GetReport{}, c.Unreachable(err)
	}
	defer resp.Body.Close()
	if _, err := io.Copy(w, resp.Body); err != nil {
		return GetReport{}, err
	}
	var rep GetReport
	var e apiError
	raw := resp.Trailer.Get("X-Netlab-Report")
	if json.Unmarshal([]byte(raw), &e) == nil && e.Error != "" {
		return rep, errors.New(e.Error)
	}
	if err := json.Unmarshal([]byte(raw), &rep); err != nil {
		return rep, fmt.Errorf("agent sent no report")
	}
	return rep, nil
}

// Capture streams a pcapng capture of the node's interfaces (all when
// ifaces is empty) into w until ctx ends, duration passes or count frames
// were captured (0: no limit); those three are normal ends (nil). The
// agent's refusal (an interface it does not have) is returned as it said
// it; a stream that ends otherwise, the agent gone in the middle, is
// Stopped's error.
func (c *Client) Capture(ctx context.Context, ifaces []string, duration time.Duration, count int, w io.Writer) error {
	q := url.Values{}
	if len(ifaces) > 0 {
		q.Set("if", strings.Join(ifaces, ","))
	}
	if duration > 0 {
		q.Set("duration", duration.String())
	}
	if count > 0 {
		q.Set("count", strconv.Itoa(count))
	}
	resp, err := c.send(ctx, http.MethodGet, "capture?"+q.Encode(), nil)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	defer resp.Body.Close()
	cw := &checkedWriter{w: w}
	_, err = io.Copy(cw, resp.Body)
	switch {
	case ctx.Err() != nil:
		return nil
	case cw.err != nil:
		return cw.err
	case err == nil && resp.Trailer.Get(EndTrailer) != "":
		return nil
	}
	return c.Stopped("the capture", err)
}

// EndTrailer is the HTTP trailer with which the agent ends a capture
// stream it ended itself (its value says why: "count" or "duration"). A
// stream without it was cut: the agent stopped in the middle.
const EndTrailer = "X-Netlab-End"

// checkedWriter keeps the first error of w, to tell a write that failed
// (the caller's) from a read that did (the agent's).
type checkedWriter struct {
	w   io.Writer
	err error
}

func (cw *checkedWriter) Write(p []byte) (int, error) {
	n, err := cw.w.Write(p)
	if err != nil && cw.err == nil {
		cw.err = err
	}
	return n, err
}

// Stopped is the error of a stream or a watch (what: "the capture", "the
// trace") whose agent stopped in the middle, cause being what the client
// saw (nil when the stream merely ended): one sentence naming the node,
// saying why that happens and where the agent logged. It wraps
// ErrAgentGone and cause.
func (c *Client) Stopped(what string, cause error) error {
	msg := fmt.Sprintf("the agent of node %s stopped during %s: the lab was destroyed or its agent died", c.node, what)
	if c.log != "" {
		msg += " (its log: " + c.log + ")"
	}
	return &stoppedError{msg: msg, cause: cause}
}

type stoppedError struct {
	msg   string
	cause error
}

func (e *stoppedError) Error() string { return e.msg }

func (e *stoppedError) Unwrap() []error {
	if e.cause == nil {
		return []error{ErrAgentGone}
	}
	return []error{ErrAgentGone, e.cause}
}

// Impairments returns the impairment and counters of each Go-stack
// interface of the node.
func (c *Client) Impairments(ctx context.Context) ([]ImpairState, error) {
	var out []ImpairState
	return out, c.do(ctx, http.MethodGet, "impair", nil, &out)
}

// AgentKey names the agent the client talks to (its socket): clients of
// nodes with the same key reach the same agent.
func (c *Client) AgentKey() string { return c.key }

// AllImpairments returns, in one request, the impairments of every node
// the agent serves (its nodes' and its relays'), by node; the client's own
// node does not matter.
func (c *Client) AllImpairments(ctx context.Context) (map[string][]ImpairState, error) {
	out := map[string][]ImpairState{}
	return out, c.doAgent(ctx, "impair", &out)
}

// AllStatus returns, in one request, the status of every node the agent
// serves, by node.
func (c *Client) AllStatus(ctx context.Context) (map[string]NodeStatus, error) {
	out := map[string]NodeStatus{}
	return out, c.doAgent(ctx, "status", &out)
}

// doAgent asks the agent itself (/v1/p, not a node's) and decodes the
// answer into out.
func (c *Client) doAgent(ctx context.Context, p string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://agent/v1/"+p, nil)
	if err != nil {
		return err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return c.Unreachable(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed {
		return fmt.Errorf("agent: /v1/%s: %w", p, ErrUnsupported)
	}
	if resp.StatusCode != http.StatusOK {
		var ae apiError
		if json.NewDecoder(resp.Body).Decode(&ae) == nil && ae.Error != "" {
			return errors.New(ae.Error)
		}
		return fmt.Errorf("agent: %s", resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// ErrUnsupported is wrapped by the errors of requests the agent does not
// know (one started by an older netlab): ask node by node instead.
var ErrUnsupported = errors.New("the agent does not answer this request (started by an older netlab?)")

// ChangeImpairment changes one interface's impairment.
func (c *Client) ChangeImpairment(ctx context.Context, ch ImpairChange) (ImpairState, error) {
	var out ImpairState
	return out, c.do(ctx, http.MethodPost, "impair", ch, &out)
}

// SetPower stops or starts the node (see PowerChange).
func (c *Client) SetPower(ctx context.Context, ch PowerChange) (PowerState, error) {
	var out PowerState
	return out, c.do(ctx, http.MethodPost, "power", ch, &out)
}

// Sock makes one socket call on the node's Go stack.
func (c *Client) Sock(ctx context.Context, call SockCall) (SockResult, error) {
	var out SockResult
	return out, c.do(ctx, http.MethodPost, "sock", call, &out)
}

// Ping pings and calls each for every reply as it comes.
func (c *Client) Ping(ctx context.Context, spec PingSpec, each func(PingReply)) error {
	return c.stream(ctx, http.MethodPost, "ping", spec, "the ping", false, func(line []byte) error {
		var e apiError
		if json.Unmarshal(line, &e) == nil && e.Error != "" {
			return errors.New(e.Error)
		}
		var p PingReply
		if err := json.Unmarshal(line, &p); err != nil {
			return err
		}
		each(p)
		return nil
	})
}

// Trace streams the node's probe events until ctx ends (then it returns
// nil), with the drop events (trace.KindDrop) of its impaired interfaces;
// for a `stack: linux` node whose links the agent's relays impair, the
// relays' drop events only. The agent never ends the stream itself: if it
// ends, the agent stopped, and the error is Stopped's.
func (c *Client) Trace(ctx context.Context, each func(trace.Event)) error {
	return c.TraceFrom(ctx, trace.Selector{}, nil, each)
}

// TraceFrom is Trace for the events sel picks (the agent leaves the
// others out), calling subscribed (when not nil) once the agent has
// subscribed the stream: every event after that is in it, unless the
// stream falls behind (then a KindLost event says how many it missed).
func (c *Client) TraceFrom(ctx context.Context, sel trace.Selector, subscribed func(), each func(trace.Event)) error {
	p := "trace"
	if q := (url.Values{}); sel.Local.IsValid() || len(sel.Kinds) > 0 {
		if sel.Local.IsValid() {
			q.Set("conn", sel.Conn())
		}
		if len(sel.Kinds) > 0 {
			q.Set("kind", strings.Join(sel.Kinds, ","))
		}
		p += "?" + q.Encode()
	}
	return c.streamFrom(ctx, http.MethodGet, p, nil, "the trace", true, subscribed, func(line []byte) error {
		var e trace.Event
		if err := json.Unmarshal(line, &e); err != nil {
			return err
		}
		each(e)
		return nil
	})
}

// stream makes a request whose answer is JSON lines and calls each for
// every complete line (a line cut short by the end of the stream is never
// given). It returns nil when ctx ends; a stream cut by the agent's end,
// or any end of an endless one, is Stopped's error.
func (c *Client) stream(ctx context.Context, method, p string, in any, what string, endless bool, each func([]byte) error) error {
	return c.streamFrom(ctx, method, p, in, what, endless, nil, each)
}

// streamFrom is stream, calling started (when not nil) once the agent has
// answered, before the first line.
func (c *Client) streamFrom(ctx context.Context, method, p string, in any, what string, endless bool, started func(), each func([]byte) error) error {
	resp, err := c.send(ctx, method, p, in)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	if started != nil {
		started()
	}
	defer resp.Body.Close()
	br := bufio.NewReaderSize(resp.Body, 64<<10)
	var long []byte // a line longer than the reader's buffer, so far
	for {
		chunk, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			if len(long)+len(chunk) > 1<<20 {
				return fmt.Errorf("%s: a line longer than 1 MiB from the agent of node %s", what, c.node)
			}
			long = append(long, chunk...)
			continue
		}
		if err != nil {
			switch {
			case ctx.Err() != nil:
				return nil
			case errors.Is(err, io.EOF) && !endless:
				return nil
			}
			return c.Stopped(what, err)
		}
		line := chunk
		if long != nil {
			line = append(long, chunk...)
			long = nil
		}
		if err := each(line); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
}
