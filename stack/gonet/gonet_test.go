package gonet

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/netlab/netlab/stack"
	"github.com/netlab/netlab/stack/link/pipe"
)

// pair returns two stacks on the real clock joined by an async pipe.
func pair(t *testing.T) (*stack.Stack, *stack.Stack) {
	t.Helper()
	ea, eb := pipe.Pair(pipe.Async, 1500, net.HardwareAddr{2, 0, 0, 0, 0, 1}, net.HardwareAddr{2, 0, 0, 0, 0, 2})
	a, b := stack.New(stack.Options{Seed: 1}), stack.New(stack.Options{Seed: 2})
	for _, x := range []struct {
		s    *stack.Stack
		ep   *pipe.Endpoint
		addr string
	}{{a, ea, "10.0.0.1/24"}, {b, eb, "10.0.0.2/24"}} {
		id, err := x.s.AddInterface("eth1", x.ep)
		if err != nil {
			t.Fatal(err)
		}
		if err := x.s.AddAddress(id, netip.MustParsePrefix(x.addr)); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		a.Destroy()
		b.Destroy()
		ea.Close()
		eb.Close()
	})
	return a, b
}

func TestHTTPOverStack(t *testing.T) {
	client, server := pair(t)
	ln, err := Listen(server, ":80")
	if err != nil {
		t.Fatal(err)
	}
	body := bytes.Repeat([]byte("netlab "), 300000) // 2.1 MB
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s", body)
	})}
	go srv.Serve(ln)
	defer srv.Close()

	tr := &http.Transport{DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
		return Dial(ctx, client, addr)
	}}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	for i := 0; i < 3; i++ {
		resp, err := hc.Get("http://10.0.0.2/file")
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if sha256.Sum256(got) != sha256.Sum256(body) {
			t.Fatalf("GET %d: %d bytes, content differs from the %d served", i, len(got), len(body))
		}
	}
}

func TestDialRefusedIsECONNREFUSED(t *testing.T) {
	client, _ := pair(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := Dial(ctx, client, "10.0.0.2:9")
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("Dial to closed port = %v, want ECONNREFUSED", err)
	}
}

func TestReadDeadline(t *testing.T) {
	client, server := pair(t)
	ln, err := Listen(server, ":7")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			time.Sleep(2 * time.Second)
			c.Close()
		}
	}()
	c, err := Dial(context.Background(), client, "10.0.0.2:7")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	_, err = c.Read(make([]byte, 10))
	var ne net.Error
	if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("Read past deadline = %v, want os.ErrDeadlineExceeded with Timeout()", err)
	}
}

func TestListenerCloseUnblocksAccept(t *testing.T) {
	_, server := pair(t)
	ln, err := Listen(server, ":8080")
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { _, err := ln.Accept(); errc <- err }()
	time.Sleep(20 * time.Millisecond)
	ln.Close()
	select {
	case err := <-errc:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Accept after Close = %v, want net.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Accept still blocked after Close")
	}
}

func TestPacketConnEcho(t *testing.T) {
	a, b := pair(t)
	srv, err := ListenPacket(b, ":5353")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	go func() {
		buf := make([]byte, 2048)
		for {
			n, from, err := srv.ReadFrom(buf)
			if err != nil {
				return
			}
			srv.WriteTo(buf[:n], from)
		}
	}()
	cl, err := ListenPacket(a, ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	dst := &net.UDPAddr{IP: net.IPv4(10, 0, 0, 2), Port: 5353}
	cl.SetReadDeadline(time.Now().Add(5 * time.Second))
	for i := 0; i < 5; i++ {
		msg := []byte(fmt.Sprintf("hello %d", i))
		if _, err := cl.WriteTo(msg, dst); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 100)
		n, from, err := cl.ReadFrom(buf)
		if err != nil {
			t.Fatal(err)
		}
		if string(buf[:n]) != string(msg) || from.String() != "10.0.0.2:5353" {
			t.Fatalf("echo = %q from %v, want %q from 10.0.0.2:5353", buf[:n], from, msg)
		}
	}
}

func TestNoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Run("http", TestHTTPOverStack)
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before+2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before+2 {
		buf := make([]byte, 1<<16)
		t.Fatalf("goroutines %d before, %d after\n%s", before, n, buf[:runtime.Stack(buf, true)])
	}
}
