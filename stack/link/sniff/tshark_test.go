package sniff_test

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netlab/netlab/clock"
	"github.com/netlab/netlab/stack"
	"github.com/netlab/netlab/stack/gonet"
	"github.com/netlab/netlab/stack/link"
	"github.com/netlab/netlab/stack/link/pipe"
	"github.com/netlab/netlab/stack/link/sniff"
)

// lossy drops a seeded fraction of the frames it is given to send.
type lossy struct {
	link.Endpoint
	r    *rand.Rand
	loss float64
}

func (l *lossy) WritePacket(f []byte) error {
	if l.r.Float64() < l.loss {
		return nil
	}
	return l.Endpoint.WritePacket(f)
}

func needTshark(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("tshark")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("tshark is not installed; .ci/run installs it")
		}
		t.Skip("tshark not installed (apt-get install tshark)")
	}
	return p
}

// TestTsharkReadsCaptureCleanly captures a TCP transfer over a lossy link
// and checks with tshark that every frame decodes, every checksum is right,
// nothing is "ACKed unseen", and the retransmissions are recognised.
func TestTsharkReadsCaptureCleanly(t *testing.T) {
	tshark := needTshark(t)
	ea, eb := pipe.Pair(pipe.Async, 1500, net.HardwareAddr{2, 0, 0, 0, 0, 1}, net.HardwareAddr{2, 0, 0, 0, 0, 2})
	defer ea.Close()
	defer eb.Close()
	var buf bytes.Buffer
	w := sniff.NewWriter(&buf, clock.Real{}, 0)
	// Capture on the sender's interface: its outgoing frames are recorded
	// before the loss, as a capture on the sending host would show them.
	ta, err := w.Tap("a-eth1", ea)
	if err != nil {
		t.Fatal(err)
	}
	sa, sb := stack.New(stack.Options{Seed: 1}), stack.New(stack.Options{Seed: 2})
	defer sa.Destroy()
	defer sb.Destroy()
	for _, x := range []struct {
		s    *stack.Stack
		ep   link.Endpoint
		addr string
	}{
		{sa, &lossy{Endpoint: ta, r: rand.New(rand.NewPCG(3, 3)), loss: 0.02}, "10.0.0.1/24"},
		{sb, eb, "10.0.0.2/24"},
	} {
		id, err := x.s.AddInterface("eth1", x.ep)
		if err != nil {
			t.Fatal(err)
		}
		x.s.AddAddress(id, netip.MustParsePrefix(x.addr))
	}
	ln, err := gonet.Listen(sb, ":80")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan int64)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- -1
			return
		}
		n, _ := io.Copy(io.Discard, c)
		c.Close()
		done <- n
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := gonet.Dial(ctx, sa, "10.0.0.2:80")
	if err != nil {
		t.Fatal(err)
	}
	const size = 2 << 20
	if _, err := c.Write(make([]byte, size)); err != nil {
		t.Fatal(err)
	}
	c.CloseWrite()
	if n := <-done; n != size {
		t.Fatalf("received %d, want %d", n, size)
	}
	c.Close()
	time.Sleep(50 * time.Millisecond)
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "cap.pcapng")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	count := func(filter string) int {
		cmd := exec.Command(tshark, "-r", path, "-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE",
			"-Y", filter, "-T", "fields", "-e", "frame.number")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("tshark -Y %q: %v\n%s", filter, err, stderr.Bytes())
		}
		return len(strings.Fields(string(out)))
	}
	if n := count("frame"); n < 1000 {
		t.Fatalf("tshark read %d frames, want the whole transfer", n)
	}
	for _, bad := range []string{"_ws.malformed", "tcp.checksum.status == 0", "ip.checksum.status == 0", "tcp.analysis.ack_lost_segment", "_ws.expert.severity == error"} {
		if n := count(bad); n != 0 {
			t.Errorf("%d frames match %q", n, bad)
		}
	}
	if n := count("tcp.analysis.retransmission || tcp.analysis.fast_retransmission"); n == 0 {
		t.Error("tshark sees no retransmission on a 2% lossy link")
	}
}
