// Package web serves the live page of a deployed lab (`netlab web`): the
// topology with live link counters and impairments, a node's sockets, a
// connection's segments as they happen, and impairment and link controls.
// The page's assets are embedded: nothing is fetched from elsewhere. Every
// request, the event stream and every control included, needs the
// server's random token; there are no CORS headers, and a control from
// another origin is refused.
package web

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/netlab/netlab/nodeagent"
	"github.com/netlab/netlab/stack"
	"github.com/netlab/netlab/topology"
	"github.com/netlab/netlab/trace"
)

//go:embed assets
var assets embed.FS

// Agent is what the page asks of the agent that serves a node: a
// *nodeagent.Client.
type Agent interface {
	Sockets(ctx context.Context) ([]stack.TCPInfo, error)
	Impairments(ctx context.Context) ([]nodeagent.ImpairState, error)
	ChangeImpairment(ctx context.Context, ch nodeagent.ImpairChange) (nodeagent.ImpairState, error)
	// TraceFrom streams the node's trace events sel picks, calling
	// subscribed once the agent has subscribed the stream.
	TraceFrom(ctx context.Context, sel trace.Selector, subscribed func(), each func(trace.Event)) error
	Status(ctx context.Context) (nodeagent.NodeStatus, error)
}

// WholeAgent is an Agent that can also answer for every node its agent
// serves in one request (nodeagent.Client can): the page's server asks a
// lab of hundreds of nodes for their counters and states every few
// seconds, and one agent serves them all in the netns runtime.
type WholeAgent interface {
	Agent
	// AgentKey is the same for the nodes one agent serves.
	AgentKey() string
	AllImpairments(ctx context.Context) (map[string][]nodeagent.ImpairState, error)
	AllStatus(ctx context.Context) (map[string]nodeagent.NodeStatus, error)
}

// Options configure a Handler.
type Options struct {
	// Plan is the deployed lab's resolved plan.
	Plan *topology.Lab
	// Agent returns the agent that serves node (for a relay's side, the
	// node the side names). Nil replays a run that is over: the page shows
	// what its traces recorded, and nothing live (no stream, sockets,
	// node state or controls).
	Agent func(node string) (Agent, error)
	// TraceFile returns where node's trace of the run shown is recorded.
	TraceFile func(node string) string
	// Run names the run shown, for the page's title.
	Run string
	// Token is required on every request (?token= or Authorization:
	// Bearer); see NewToken.
	Token string
	// StreamBuffer is how many events a slow page may fall behind before
	// the stream drops events for it (and says so); 0 means 4096.
	StreamBuffer int
}

// NewToken returns a random token: 128 bits, hex.
func NewToken() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}

// Handler returns the page's HTTP handler.
func Handler(o Options) (http.Handler, error) {
	if o.Plan == nil || o.TraceFile == nil || len(o.Token) < 16 {
		return nil, errors.New("web: a plan, the traces' paths and a token of at least 16 characters are needed")
	}
	if o.StreamBuffer <= 0 {
		o.StreamBuffer = 4096
	}
	s := &server{o: o, traces: newTraces(o.TraceFile)}
	static, err := fs.Sub(assets, "assets")
	if err != nil {
		return nil, err
	}
	index, err := fs.ReadFile(static, "index.html")
	if err != nil {
		return nil, err
	}
	// The page asks for its script and style with the token too.
	page := []byte(strings.ReplaceAll(string(index), "__TOKEN__", o.Token))
	mux := http.NewServeMux()
	mux.Handle("GET /", http.FileServerFS(static))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(page)
	})
	mux.HandleFunc("GET /api/lab", s.lab)
	mux.HandleFunc("GET /api/conns", s.conns)
	mux.HandleFunc("GET /api/conn/events", s.connEvents)
	mux.HandleFunc("GET /api/conn/series", s.series)
	live := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if s.o.Agent == nil {
				httpError(w, http.StatusConflict, "this page replays run "+s.o.Run+", which is over: nothing in it is live")
				return
			}
			h(w, r)
		}
	}
	mux.HandleFunc("GET /api/impairments", live(s.impairments))
	mux.HandleFunc("GET /api/nodes", live(s.nodes))
	mux.HandleFunc("GET /api/nodes/{node}/sockets", live(s.sockets))
	mux.HandleFunc("POST /api/impair", live(s.impair))
	mux.HandleFunc("GET /api/events", live(s.events))
	return s.guard(mux), nil
}

type server struct {
	o      Options
	traces *traces
}

// guard lets through only requests that carry the token; a change must
// also come from the page's own origin (or name none).
func (s *server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok := r.URL.Query().Get("token")
		if h, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
			tok = h
		}
		if subtle.ConstantTimeCompare([]byte(tok), []byte(s.o.Token)) != 1 {
			httpError(w, http.StatusUnauthorized, "a token is needed: open the address `netlab web` printed")
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if origin := r.Header.Get("Origin"); origin != "" {
				if u, err := url.Parse(origin); err != nil || u.Host != r.Host {
					httpError(w, http.StatusForbidden, "a change must come from the page itself")
					return
				}
			}
		}
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

func httpError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// Lab is the topology as the page draws it.
type Lab struct {
	Name string `json:"name"`
	// Live tells a deployed lab from the replay of a run that is over.
	Live bool `json:"live"`
	// Run is the run shown.
	Run      string    `json:"run,omitempty"`
	Nodes    []Node    `json:"nodes"`
	Links    []Link    `json:"links"`
	Segments []Segment `json:"segments"`
}

// Node is a node of the page's topology.
type Node struct {
	Name       string      `json:"name"`
	Kind       string      `json:"kind"`
	Stack      string      `json:"stack"`
	Interfaces []Interface `json:"interfaces"`
}

// Interface is a node's interface.
type Interface struct {
	Name string `json:"name"`
	// Written is the name the file gave it, when Name is its Linux mapping.
	Written string `json:"written,omitempty"`
	IPv4    string `json:"ipv4,omitempty"`
	MAC     string `json:"mac,omitempty"`
	MTU     int    `json:"mtu,omitempty"`
}

// Link is a point-to-point link: its ends as "node:interface".
type Link struct {
	Name string `json:"name"`
	A    string `json:"a"`
	B    string `json:"b"`
}

// Segment is a LAN and its members, "node:interface".
type Segment struct {
	Name    string   `json:"name"`
	Members []string `json:"members"`
}

// PageLab returns the topology of plan as the page draws it.
func PageLab(plan *topology.Lab) Lab {
	l := Lab{Name: plan.Name, Nodes: []Node{}, Links: []Link{}, Segments: []Segment{}}
	for _, n := range plan.Nodes {
		pn := Node{Name: n.Name, Kind: n.Kind, Stack: string(n.Stack), Interfaces: []Interface{}}
		for _, ifc := range n.Interfaces {
			i := Interface{Name: ifc.Name, Written: ifc.Written, MAC: ifc.MAC.String(), MTU: ifc.MTU}
			if ifc.Addr.IsValid() {
				i.IPv4 = ifc.Addr.String()
			}
			pn.Interfaces = append(pn.Interfaces, i)
		}
		l.Nodes = append(l.Nodes, pn)
	}
	end := func(ifc *topology.Interface) string { return ifc.Node.Name + ":" + ifc.Name }
	for _, k := range plan.Links {
		l.Links = append(l.Links, Link{Name: k.Name, A: end(k.A), B: end(k.B)})
	}
	for _, sg := range plan.Segments {
		seg := Segment{Name: sg.Name}
		for _, m := range sg.Members {
			seg.Members = append(seg.Members, end(m))
		}
		l.Segments = append(l.Segments, seg)
	}
	return l
}

func (s *server) lab(w http.ResponseWriter, r *http.Request) {
	l := PageLab(s.o.Plan)
	l.Live, l.Run = s.o.Agent != nil, s.o.Run
	writeJSON(w, l)
}

// NodeState is a node as the page shows it: alive (its agent answers for
// it) or not, and what the agent says of it.
type NodeState struct {
	Name   string                `json:"name"`
	Alive  bool                  `json:"alive"`
	Error  string                `json:"error,omitempty"`
	Status *nodeagent.NodeStatus `json:"status,omitempty"`
}

// nodeStatusTimeout bounds how long one node's agent may take to answer.
const nodeStatusTimeout = 2 * time.Second

// nodes answers the state of the nodes asked (?node=, repeated; all of
// them without one), asking their agents at most 16 at a time.
func (s *server) nodes(w http.ResponseWriter, r *http.Request) {
	names := r.URL.Query()["node"]
	if len(names) == 0 {
		for _, n := range s.o.Plan.Nodes {
			names = append(names, n.Name)
		}
	}
	for _, n := range names {
		if s.o.Plan.Node(n) == nil {
			httpError(w, http.StatusNotFound, "no node "+n)
			return
		}
	}
	out := make([]NodeState, len(names))
	// Nodes whose agent answers for all of its nodes at once are asked
	// that way, one request an agent; the others one by one; 16 requests
	// at a time.
	type group struct {
		wa    WholeAgent
		nodes []int
	}
	groups := map[string]*group{}
	var jobs []func()
	for i, n := range names {
		out[i].Name = n
		a, err := s.o.Agent(n)
		if err != nil {
			out[i].Error = err.Error()
			continue
		}
		wa, ok := a.(WholeAgent)
		if !ok {
			jobs = append(jobs, func() { out[i] = s.nodeState(r.Context(), n) })
			continue
		}
		g := groups[wa.AgentKey()]
		if g == nil {
			g = &group{wa: wa}
			groups[wa.AgentKey()] = g
			jobs = append(jobs, func() {
				ctx, cancel := context.WithTimeout(r.Context(), nodeStatusTimeout)
				defer cancel()
				all, err := g.wa.AllStatus(ctx)
				if errors.Is(err, nodeagent.ErrUnsupported) { // an older agent
					for _, k := range g.nodes {
						out[k] = s.nodeState(r.Context(), names[k])
					}
					return
				}
				for _, k := range g.nodes {
					st, served := all[names[k]]
					switch {
					case err != nil:
						out[k].Error = err.Error()
					case !served:
						out[k].Error = "its agent does not serve it"
					default:
						out[k].Alive, out[k].Status = true, &st
					}
				}
			})
		}
		g.nodes = append(g.nodes, i)
	}
	sem := make(chan struct{}, 16)
	done := make(chan struct{})
	for _, job := range jobs {
		go func() {
			defer func() { done <- struct{}{} }()
			sem <- struct{}{}
			defer func() { <-sem }()
			job()
		}()
	}
	for range jobs {
		<-done
	}
	writeJSON(w, out)
}

func (s *server) nodeState(ctx context.Context, name string) NodeState {
	ns := NodeState{Name: name}
	a, err := s.o.Agent(name)
	if err != nil {
		ns.Error = err.Error()
		return ns
	}
	ctx, cancel := context.WithTimeout(ctx, nodeStatusTimeout)
	defer cancel()
	st, err := a.Status(ctx)
	if err != nil {
		ns.Error = err.Error()
		return ns
	}
	ns.Alive, ns.Status = true, &st
	return ns
}

// LinkState is an impaired interface as the page shows it: the agent's
// state and counters, and each direction's impairment in netem's words.
type LinkState struct {
	nodeagent.ImpairState
	EgressText  string `json:"egress_text,omitempty"`
	IngressText string `json:"ingress_text,omitempty"`
}

// impairments answers every impaired interface's state and counters, by
// "node:interface".
func (s *server) impairments(w http.ResponseWriter, r *http.Request) {
	out := map[string]LinkState{}
	asked := map[string]bool{}
	wholes := map[string]map[string][]nodeagent.ImpairState{} // by agent
	for _, side := range s.o.Plan.ImpairedInterfaces() {
		if asked[side.Node] {
			continue
		}
		asked[side.Node] = true
		a, err := s.o.Agent(side.Node)
		if err != nil {
			httpError(w, http.StatusBadGateway, err.Error())
			return
		}
		var states []nodeagent.ImpairState
		wa, whole := a.(WholeAgent)
		if whole {
			// Every node of its agent in one request, once (node by node
			// if the agent is older than that request).
			all, done := wholes[wa.AgentKey()]
			if !done {
				all, err = wa.AllImpairments(r.Context())
				if err != nil && !errors.Is(err, nodeagent.ErrUnsupported) {
					httpError(w, http.StatusBadGateway, fmt.Sprintf("node %s: %v", side.Node, err))
					return
				}
				wholes[wa.AgentKey()] = all // nil: unsupported
			}
			states, whole = all[side.Node], all != nil
		}
		if !whole {
			if states, err = a.Impairments(r.Context()); err != nil {
				httpError(w, http.StatusBadGateway, fmt.Sprintf("node %s: %v", side.Node, err))
				return
			}
		}
		for _, st := range states {
			ls := LinkState{ImpairState: st}
			if st.Egress != nil {
				ls.EgressText = st.Egress.String()
			}
			if st.Ingress != nil {
				ls.IngressText = st.Ingress.String()
			}
			out[side.Node+":"+st.Interface] = ls
		}
	}
	writeJSON(w, out)
}

func (s *server) sockets(w http.ResponseWriter, r *http.Request) {
	node := r.PathValue("node")
	if s.o.Plan.Node(node) == nil {
		httpError(w, http.StatusNotFound, "no node "+node)
		return
	}
	a, err := s.o.Agent(node)
	if err != nil {
		httpError(w, http.StatusBadGateway, err.Error())
		return
	}
	socks, err := a.Sockets(r.Context())
	if err != nil {
		httpError(w, http.StatusBadGateway, err.Error())
		return
	}
	if socks == nil {
		socks = []stack.TCPInfo{}
	}
	writeJSON(w, socks)
}

// ImpairRequest is a control of the page: the same operations as `netlab
// impair` and `netlab link`, on a link name or a "node:interface".
type ImpairRequest struct {
	Target string `json:"target"`
	// Dir is egress, ingress or both (the default).
	Dir string `json:"dir,omitempty"`
	// Set are netem values (delay, loss, rate, ...) for the direction(s).
	Set map[string]string `json:"set,omitempty"`
	// Clear removes the impairment; Reset goes back to the file's.
	Clear bool `json:"clear,omitempty"`
	Reset bool `json:"reset,omitempty"`
	// Down takes the link down (true) or up (false).
	Down *bool `json:"down,omitempty"`
}

func (s *server) impair(w http.ResponseWriter, r *http.Request) {
	var req ImpairRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		httpError(w, http.StatusBadRequest, "want {target, dir, set|clear|reset|down}: "+err.Error())
		return
	}
	if req.Dir == "" {
		req.Dir = topology.DirBoth
	}
	sides, err := s.o.Plan.ImpairTargets(req.Target, req.Dir)
	if err != nil {
		httpError(w, http.StatusBadRequest, err.Error())
		return
	}
	clientOf := func(side topology.ImpairSide) (nodeagent.ImpairChanger, error) { return s.o.Agent(side.Node) }
	ctx := r.Context()
	if req.Down != nil {
		if len(req.Set) > 0 || req.Clear || req.Reset {
			httpError(w, http.StatusBadRequest, "down is alone: take the link down or up, then change it")
			return
		}
		if err := nodeagent.SetDown(ctx, sides, *req.Down, clientOf); err != nil {
			httpError(w, http.StatusBadGateway, err.Error())
			return
		}
		writeJSON(w, map[string]any{"target": req.Target, "down": *req.Down})
		return
	}
	ch := nodeagent.ImpairChange{Reset: req.Reset}
	switch {
	case req.Reset && (req.Clear || len(req.Set) > 0), req.Clear && len(req.Set) > 0:
		httpError(w, http.StatusBadRequest, "one of set, clear and reset")
		return
	case len(req.Set) > 0:
		im, err := topology.ParseImpairment(req.Set)
		if err != nil {
			httpError(w, http.StatusBadRequest, err.Error())
			return
		}
		ch.Impairment = im
	case !req.Clear && !req.Reset:
		httpError(w, http.StatusBadRequest, "say what to change: set, clear, reset or down")
		return
	}
	var out []nodeagent.ImpairState
	for _, side := range sides {
		a, err := clientOf(side)
		if err != nil {
			httpError(w, http.StatusBadGateway, err.Error())
			return
		}
		c := ch
		c.Interface, c.Dir = side.Interface, side.Dir
		st, err := a.ChangeImpairment(ctx, c)
		if err != nil {
			httpError(w, http.StatusBadGateway, fmt.Sprintf("%s: %v", side, err))
			return
		}
		out = append(out, st)
	}
	writeJSON(w, out)
}

// StreamEvery is how often the event stream sends the page what came:
// each "trace" message holds the events of one such interval.
const StreamEvery = 250 * time.Millisecond

// maxBatch bounds a "trace" message: more events in one interval go in
// several.
const maxBatch = 2000

// events streams the trace events of the nodes asked (?node=, repeated;
// all Go-stack nodes without one) as server-sent events: "ready" once
// every agent has subscribed the stream, "trace" with a JSON array of
// {node, event} (what came in the last StreamEvery), and
// "dropped" with how many events a slow page has missed. ?conn=
// (local->remote) and ?kind= (comma-separated) narrow the events, at the
// agents: a page follows the state changes of every connection and the
// segments of the one it shows, not every segment of the lab. The lab
// never waits for the page: events it cannot take are dropped.
func (s *server) events(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		httpError(w, http.StatusInternalServerError, "streaming not supported")
		return
	}
	nodes := r.URL.Query()["node"]
	if len(nodes) == 0 {
		for _, n := range s.o.Plan.Nodes {
			if n.Stack == topology.StackGo {
				nodes = append(nodes, n.Name)
			}
		}
	}
	sort.Strings(nodes)
	for _, n := range nodes {
		if s.o.Plan.Node(n) == nil {
			httpError(w, http.StatusNotFound, "no node "+n)
			return
		}
	}
	sel, err := trace.ParseSelector(r.URL.Query().Get("conn"), r.URL.Query().Get("kind"))
	if err != nil {
		httpError(w, http.StatusBadRequest, err.Error())
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	fl.Flush()
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	type ev struct {
		Node  string      `json:"node"`
		Event trace.Event `json:"event"`
	}
	ch := make(chan ev, s.o.StreamBuffer)
	var dropped atomic.Int64
	done := make(chan struct{}, len(nodes))
	subscribed := make(chan struct{}, len(nodes))
	for _, n := range nodes {
		a, err := s.o.Agent(n)
		if err != nil {
			fmt.Fprintf(w, "event: error\ndata: %q\n\n", err.Error())
			fl.Flush()
			return
		}
		go func() {
			defer func() { done <- struct{}{} }()
			a.TraceFrom(ctx, sel, func() { subscribed <- struct{}{} }, func(e trace.Event) {
				select {
				case ch <- ev{n, e}:
				default:
					dropped.Add(1)
				}
			})
		}()
	}
	defer func() {
		cancel()
		for range nodes {
			<-done
		}
	}()
	// Events go to the page in batches, one message every StreamEvery:
	// a busy connection traces thousands of events a second, and a
	// message each would cost the browser (which shares the lab's
	// processors) a task each.
	tick := time.NewTicker(StreamEvery)
	defer tick.Stop()
	var batch []ev
	send := func() {
		if len(batch) == 0 {
			return
		}
		b, _ := json.Marshal(batch)
		fmt.Fprintf(w, "event: trace\ndata: %s\n\n", b)
		batch = batch[:0]
	}
	reported, ticks := int64(0), 0
	// "ready" says that every event from then on is in the stream (or
	// counted as dropped); what came before is in the traces. A
	// subscription is counted before any event that came after it.
	waiting := len(nodes) + 1
	made := func() {
		if waiting--; waiting == 0 {
			send()
			fmt.Fprintf(w, "event: ready\ndata: %d\n\n", len(nodes))
			fl.Flush()
		}
	}
	made()
	for {
		for waiting > 0 && len(subscribed) > 0 {
			<-subscribed
			made()
		}
		select {
		case <-ctx.Done():
			return
		case <-subscribed:
			made()
		case e := <-ch:
			batch = append(batch, e)
			if len(batch) >= maxBatch {
				send()
			}
		case <-tick.C:
			send()
			if d := dropped.Load(); d != reported {
				fmt.Fprintf(w, "event: dropped\ndata: %d\n\n", d)
				reported = d
			}
			if ticks++; ticks%int(time.Second/StreamEvery) == 0 {
				fmt.Fprint(w, ": alive\n\n")
			}
			fl.Flush()
		}
	}
}
