// Package interop tests netlab's Go stack against the Linux kernel's TCP
// over a real veth between two fresh namespaces, with real tools on the
// Linux side (python3 -m http.server, curl, ping) and tshark reading a
// capture of it all.
package interop

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/netlab/netlab/clock"
	"github.com/netlab/netlab/internal/vethlab"
	"github.com/netlab/netlab/stack"
	"github.com/netlab/netlab/stack/gonet"
	"github.com/netlab/netlab/stack/link"
	"github.com/netlab/netlab/stack/link/sniff"
	"github.com/netlab/netlab/stack/wire"
)

// dropper drops chosen outgoing frames of the Go side.
type dropper struct {
	link.Endpoint
	mu    sync.Mutex
	match func(h wire.TCPFields, payload []byte) bool
	n     atomic.Int64
}

func (d *dropper) WritePacket(f []byte) error {
	d.mu.Lock()
	m := d.match
	d.mu.Unlock()
	if m != nil {
		if _, p, err := wire.ParseEthernet(f); err == nil {
			if ip, p, err := wire.ParseIPv4(p); err == nil && ip.Protocol == wire.ProtoTCP {
				if h, pl, err := wire.ParseTCP(p, ip.Src, ip.Dst); err == nil && m(h, pl) {
					d.n.Add(1)
					return nil
				}
			}
		}
	}
	return d.Endpoint.WritePacket(f)
}

func (d *dropper) set(m func(wire.TCPFields, []byte) bool) {
	d.mu.Lock()
	d.match = m
	d.mu.Unlock()
	d.n.Store(0)
}

// firstN returns a matcher that matches the first n frames pred accepts.
func firstN(n int, pred func(wire.TCPFields, []byte) bool) func(wire.TCPFields, []byte) bool {
	var left atomic.Int64
	left.Store(int64(n))
	return func(h wire.TCPFields, p []byte) bool {
		return pred(h, p) && left.Add(-1) >= 0
	}
}

type env struct {
	lab     *vethlab.Lab
	goStack *stack.Stack
	drop    *dropper
	capture *bytes.Buffer
	writer  *sniff.Writer
	goAddr  netip.Addr
	linAddr netip.Addr
}

func needTool(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not installed; .ci/run installs it", name)
		}
		t.Skipf("%s not installed", name)
	}
}

// newEnv makes the lab: Go stack on side A (tapped and droppable), the
// Linux kernel on side B.
func newEnv(t *testing.T) *env {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to make network namespaces (CI runs as root)")
	}
	e := &env{capture: &bytes.Buffer{}}
	e.writer = sniff.NewWriter(e.capture, clock.Real{}, 256)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	lab, err := vethlab.New(ctx, vethlab.Options{Prefix: "nlint", WrapLink: func(_ vethlab.Side, ep link.Endpoint) link.Endpoint {
		tapped, err := e.writer.Tap("go-eth1", ep)
		if err != nil {
			t.Fatal(err)
		}
		e.drop = &dropper{Endpoint: tapped}
		return e.drop
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lab.Close() })
	e.lab = lab
	if e.goStack, err = lab.GoStack(vethlab.A, stack.Options{}); err != nil {
		t.Fatal(err)
	}
	if err := lab.Kernel(vethlab.B); err != nil {
		t.Fatal(err)
	}
	e.goAddr, e.linAddr = lab.Addr[0].Addr(), lab.Addr[1].Addr()
	return e
}

// checkCapture has tshark read the capture: no malformed frame and no ACK
// of an unseen segment anywhere, no bad checksum on what the Go stack sent.
// (Linux itself sometimes sends a TCP checksum of 0xffff where tshark wants
// the equal 0x0000, RFC 1624's negative zero; that is not ours to judge.)
func (e *env) checkCapture(t *testing.T) {
	t.Helper()
	needTool(t, "tshark")
	if err := e.writer.Flush(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "interop.pcapng")
	os.WriteFile(path, e.capture.Bytes(), 0o644)
	fromGo := "ip.src == " + e.goAddr.String() + " && "
	for _, filter := range []string{"_ws.malformed", fromGo + "tcp.checksum.status == 0", fromGo + "ip.checksum.status == 0", "tcp.analysis.ack_lost_segment"} {
		args := []string{"-r", path, "-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE"}
		// The payload is read as data: with the capture's short snap
		// length an application dissector (HTTP on 8000) loses its place in
		// a body and calls a body segment a malformed header (seen once in
		// CI on one of Linux's segments). What is checked is IP and TCP.
		for _, port := range []int{8000, 8080, 9000, 9001, 9100, 9101} {
			args = append(args, "-d", fmt.Sprintf("tcp.port==%d,data", port))
		}
		cmd := exec.Command("tshark", append(args, "-Y", filter, "-T", "fields", "-e", "frame.number")...)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("tshark -Y %s: %v", filter, err)
		}
		if n := len(strings.Fields(string(out))); n > 0 {
			keep := filepath.Join(os.TempDir(), "netlab-interop-"+t.Name()+".pcapng")
			os.WriteFile(keep, e.capture.Bytes(), 0o644)
			t.Errorf("%d captured frames match %q (frames %s; capture kept in %s)", n, filter, strings.Join(strings.Fields(string(out)), ","), keep)
		}
	}
}

func makeFile(t *testing.T, dir string, size int64) string {
	t.Helper()
	f, err := os.Create(filepath.Join(dir, "blob"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	buf := make([]byte, 1<<20)
	for i := range buf {
		buf[i] = byte(i*7 + i>>8)
	}
	for left := size; left > 0; left -= int64(len(buf)) {
		n := min(left, int64(len(buf)))
		f.Write(buf[:n])
		h.Write(buf[:n])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// TestGoClientLinuxHTTPServer: 100 MB from python3 -m http.server (Linux)
// to net/http on the Go stack.
func TestGoClientLinuxHTTPServer(t *testing.T) {
	needTool(t, "python3")
	e := newEnv(t)
	dir := t.TempDir()
	want := makeFile(t, dir, 100<<20)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	srv := e.lab.Command(ctx, vethlab.B, "python3", "-m", "http.server", "8000", "--bind", e.linAddr.String(), "--directory", dir)
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { srv.Process.Kill(); srv.Wait() }()
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
		return gonet.Dial(ctx, e.goStack, addr)
	}}}
	url := fmt.Sprintf("http://%s:8000/blob", e.linAddr)
	var resp *http.Response
	var err error
	for i := 0; i < 100; i++ { // wait for python to listen
		if resp, err = hc.Get(url); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	n, err := io.Copy(h, resp.Body)
	resp.Body.Close()
	if err != nil || n != 100<<20 || hex.EncodeToString(h.Sum(nil)) != want {
		t.Fatalf("GET %s: %d bytes, %v; sha256 equal %v", url, n, err, hex.EncodeToString(h.Sum(nil)) == want)
	}
	e.checkCapture(t)
}

// TestLinuxCurlFromGoServer: curl (Linux) downloads 100 MB from net/http
// served on the Go stack's Listener; the Go sender uses a Linux receive
// window above 64 KiB (window scaling) and timestamps.
func TestLinuxCurlFromGoServer(t *testing.T) {
	needTool(t, "curl")
	e := newEnv(t)
	const size = 100 << 20
	body := bytes.Repeat([]byte("0123456789abcdef"), size/16)
	want := sha256.Sum256(body)
	ln, err := gonet.Listen(e.goStack, ":8080")
	if err != nil {
		t.Fatal(err)
	}
	var maxWnd atomic.Uint32
	var info stack.TCPInfo
	var infoMu sync.Mutex
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := r.Context().Value(connKey{}).(*gonet.Conn)
		w.Header().Set("Content-Length", fmt.Sprint(size))
		for off := 0; off < size; off += 1 << 20 {
			w.Write(body[off : off+1<<20])
			if i, err := c.Info(); err == nil && i.SndWnd > maxWnd.Load() {
				maxWnd.Store(i.SndWnd)
			}
		}
		if i, err := c.Info(); err == nil {
			infoMu.Lock()
			info = i
			infoMu.Unlock()
		}
	}), ConnContext: func(ctx context.Context, c net.Conn) context.Context { return context.WithValue(ctx, connKey{}, c) }}
	go srv.Serve(ln)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out := filepath.Join(t.TempDir(), "got")
	cmd := e.lab.Command(ctx, vethlab.B, "curl", "-sS", "--fail", "-o", out, fmt.Sprintf("http://%s:8080/blob", e.goAddr))
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("curl: %v\n%s", err, b)
	}
	got, err := os.ReadFile(out)
	if err != nil || sha256.Sum256(got) != want {
		t.Fatalf("curl got %d bytes (%v), sha256 equal %v", len(got), err, sha256.Sum256(got) == want)
	}
	infoMu.Lock()
	defer infoMu.Unlock()
	if !info.Timestamps || info.WScaleSnd == 0 || info.MSS != 1448 {
		t.Errorf("negotiated with Linux: ts %v wscale %d,%d mss %d; want timestamps, window scaling, mss 1448", info.Timestamps, info.WScaleSnd, info.WScaleRcv, info.MSS)
	}
	if maxWnd.Load() <= 65535 {
		t.Errorf("largest Linux receive window the Go sender saw: %d; want > 64 KiB (window scaling used)", maxWnd.Load())
	}
	e.checkCapture(t)
}

type connKey struct{}

// TestPingBothWays: Linux ping answers and is answered; ARP resolved both
// ways.
func TestPingBothWays(t *testing.T) {
	needTool(t, "ping")
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if out, err := e.lab.Command(ctx, vethlab.B, "ping", "-c", "3", "-i", "0.2", "-W", "2", e.goAddr.String()).CombinedOutput(); err != nil {
		t.Fatalf("Linux ping to the Go stack: %v\n%s", err, out)
	}
	for seq := uint16(1); seq <= 3; seq++ {
		if _, err := e.goStack.Ping(ctx, e.linAddr, seq, 56); err != nil {
			t.Fatalf("Go stack ping to Linux: %v", err)
		}
	}
	neigh, _ := e.lab.Command(ctx, vethlab.B, "ip", "neigh", "show", e.goAddr.String()).Output()
	goMAC := e.goStack.Interfaces()[0].MAC
	if !strings.Contains(string(neigh), goMAC) {
		t.Errorf("Linux neighbour table %q lacks the Go stack's MAC %s", neigh, goMAC)
	}
	var found bool
	for _, n := range e.goStack.Neighbors() {
		found = found || (n.IP == e.linAddr && n.Resolved)
	}
	if !found {
		t.Errorf("Go stack did not resolve %v: %+v", e.linAddr, e.goStack.Neighbors())
	}
	e.checkCapture(t)
}

// TestRecoveryFromDroppedSegments: with Linux as the peer, a dropped SYN,
// SYN-ACK, data segments and FIN (dropped on the Go side) are recovered and
// the transfers complete byte-exact.
func TestRecoveryFromDroppedSegments(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// A Linux sink that reports the sha256 of what it got.
	var lnk net.Listener
	if err := e.lab.InNamespace(vethlab.B, func() (err error) { lnk, err = net.Listen("tcp4", e.linAddr.String()+":9000"); return err }); err != nil {
		t.Fatal(err)
	}
	defer lnk.Close()
	sums := make(chan string, 16)
	go func() {
		for {
			c, err := lnk.Accept()
			if err != nil {
				return
			}
			go func() {
				h := sha256.New()
				io.Copy(h, c)
				c.Close()
				sums <- hex.EncodeToString(h.Sum(nil))
			}()
		}
	}()
	send := func(name string, size int) {
		t.Helper()
		data := bytes.Repeat([]byte(name), size/len(name)+1)[:size]
		want := sha256.Sum256(data)
		c, err := gonet.Dial(ctx, e.goStack, e.linAddr.String()+":9000")
		if err != nil {
			t.Fatalf("%s: dial: %v", name, err)
		}
		if _, err := c.Write(data); err != nil {
			t.Fatalf("%s: write: %v", name, err)
		}
		c.Close()
		select {
		case got := <-sums:
			if got != hex.EncodeToString(want[:]) {
				t.Fatalf("%s: Linux received different data", name)
			}
		case <-ctx.Done():
			t.Fatalf("%s: Linux never finished receiving", name)
		}
	}
	isSYN := func(h wire.TCPFields, _ []byte) bool { return h.Flags == wire.TCPFlagSYN }
	isData := func(h wire.TCPFields, p []byte) bool { return len(p) > 0 }
	isFIN := func(h wire.TCPFields, _ []byte) bool { return h.Flags.Has(wire.TCPFlagFIN) }

	e.drop.set(firstN(1, isSYN))
	send("dropped-syn", 100<<10)
	if e.drop.n.Load() != 1 {
		t.Fatal("the SYN was not dropped")
	}
	var seen atomic.Int64
	e.drop.set(func(h wire.TCPFields, p []byte) bool { // the 3rd, 4th and 10th data segments
		if !isData(h, p) {
			return false
		}
		k := seen.Add(1)
		return k == 3 || k == 4 || k == 10
	})
	send("dropped-data", 2<<20)
	if e.drop.n.Load() != 3 {
		t.Fatalf("%d data segments dropped, want 3", e.drop.n.Load())
	}
	e.drop.set(firstN(1, isFIN))
	send("dropped-fin", 50<<10)
	if e.drop.n.Load() != 1 {
		t.Fatal("the FIN was not dropped")
	}

	// A dropped SYN-ACK: Linux connects to the Go stack.
	ln, err := gonet.Listen(e.goStack, ":9001")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- err.Error()
			return
		}
		h := sha256.New()
		io.Copy(h, c)
		c.Close()
		got <- hex.EncodeToString(h.Sum(nil))
	}()
	e.drop.set(firstN(1, func(h wire.TCPFields, _ []byte) bool { return h.Flags == wire.TCPFlagSYN|wire.TCPFlagACK }))
	data := bytes.Repeat([]byte("synack"), 200000)
	want := sha256.Sum256(data)
	err = e.lab.InNamespace(vethlab.B, func() error {
		c, err := net.DialTimeout("tcp4", e.goAddr.String()+":9001", 30*time.Second)
		if err != nil {
			return err
		}
		go func() { c.Write(data); c.Close() }()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if g := <-got; g != hex.EncodeToString(want[:]) {
		t.Fatalf("dropped SYN-ACK: Go received %q", g)
	}
	if e.drop.n.Load() != 1 {
		t.Fatal("the SYN-ACK was not dropped")
	}
	info := e.goStack.Stats()
	if info.TcpRetransSegs < 6 {
		t.Errorf("TcpRetransSegs = %d, want at least the 6 dropped segments resent", info.TcpRetransSegs)
	}
	e.checkCapture(t)
}

// TestConcurrentConnections: 10 connections each way at once.
func TestConcurrentConnections(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const conns, size = 10, 1 << 20
	payload := bytes.Repeat([]byte("concurrent"), size/10)
	want := sha256.Sum256(payload)
	sink := func(ln net.Listener, errs chan<- error) {
		for i := 0; i < conns; i++ {
			c, err := ln.Accept()
			if err != nil {
				errs <- err
				return
			}
			go func() {
				h := sha256.New()
				io.Copy(h, c)
				c.Close()
				if !bytes.Equal(h.Sum(nil), want[:]) {
					errs <- fmt.Errorf("a connection delivered different data")
					return
				}
				errs <- nil
			}()
		}
	}
	// Go -> Linux.
	var lnk net.Listener
	if err := e.lab.InNamespace(vethlab.B, func() (err error) { lnk, err = net.Listen("tcp4", e.linAddr.String()+":9100"); return err }); err != nil {
		t.Fatal(err)
	}
	defer lnk.Close()
	errs := make(chan error, 4*conns)
	go sink(lnk, errs)
	for i := 0; i < conns; i++ {
		go func() {
			c, err := gonet.Dial(ctx, e.goStack, e.linAddr.String()+":9100")
			if err != nil {
				errs <- err
				return
			}
			c.Write(payload)
			c.Close()
		}()
	}
	// Linux -> Go.
	lng, err := gonet.Listen(e.goStack, ":9101")
	if err != nil {
		t.Fatal(err)
	}
	defer lng.Close()
	go sink(lng, errs)
	for i := 0; i < conns; i++ {
		err := e.lab.InNamespace(vethlab.B, func() error {
			c, err := net.DialTimeout("tcp4", e.goAddr.String()+":9101", 30*time.Second)
			if err != nil {
				return err
			}
			go func() { c.Write(payload); c.Close() }()
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 2*conns; i++ {
		select {
		case err := <-errs:
			if err != nil {
				t.Fatal(err)
			}
		case <-ctx.Done():
			t.Fatalf("only %d of %d connections finished", i, 2*conns)
		}
	}
	e.checkCapture(t)
}
