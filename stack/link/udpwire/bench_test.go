package udpwire

import (
	"context"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/netlab/netlab/internal/vethlab"
	"github.com/netlab/netlab/stack"
)

// BenchmarkTCP moves data with TCP between two Go stacks in two
// namespaces joined by a veth of MTU 1500 (root): over the veth itself
// (AF_PACKET, a link inside one worker) and over a UDP wire across it (a
// link between two workers: full-sized frames fragmented), and over a
// UDP wire across a veth of MTU 9000 (a pod network with jumbo frames:
// no fragments). Each
// iteration sends 1 MB on one connection; RTT is a 1-byte ping-pong.
//
//	go test -run '^$' -bench TCP ./stack/link/udpwire/
func BenchmarkTCP(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root to make namespaces")
	}
	for _, kind := range []string{"veth", "udpwire", "udpwire-mtu9000"} {
		b.Run(kind+"/bulk", func(b *testing.B) {
			cli, srv, done := pair(b, kind)
			defer done()
			wfd, rfd := connect(b, cli, srv)
			chunk := frame(64<<10, 1)
			got := make(chan int64)
			go func() {
				var n int64
				p := make([]byte, 64<<10)
				for {
					k, err := srv.Read(rfd, p)
					n += int64(k)
					if err != nil || k == 0 {
						got <- n
						return
					}
				}
			}()
			b.SetBytes(1 << 20)
			b.ResetTimer()
			for range b.N {
				for off := 0; off < 1<<20; {
					n, err := cli.Write(wfd, chunk[:min(len(chunk), 1<<20-off)])
					if err != nil {
						b.Fatal(err)
					}
					off += n
				}
			}
			cli.Close(wfd)
			if n := <-got; n != int64(b.N)<<20 {
				b.Fatalf("received %d bytes of %d", n, int64(b.N)<<20)
			}
		})
		b.Run(kind+"/rtt", func(b *testing.B) {
			cli, srv, done := pair(b, kind)
			defer done()
			wfd, rfd := connect(b, cli, srv)
			go func() {
				p := make([]byte, 1)
				for {
					if n, err := srv.Read(rfd, p); err != nil || n == 0 {
						return
					}
					srv.Write(rfd, p)
				}
			}()
			p := []byte{1}
			b.ResetTimer()
			for range b.N {
				cli.Write(wfd, p)
				if n, err := cli.Read(wfd, p); err != nil || n != 1 {
					b.Fatalf("read %d, %v", n, err)
				}
			}
			b.StopTimer()
			cli.Close(wfd)
		})
	}
}

// pair makes two Go stacks joined by kind ("veth", "udpwire",
// "udpwire-mtu9000") and
// returns them with what removes them.
func pair(b *testing.B, kind string) (*stack.Stack, *stack.Stack, func()) {
	b.Helper()
	mtu := 1500
	if kind == "udpwire-mtu9000" {
		mtu = 9000
	}
	under, err := vethlab.New(context.Background(), vethlab.Options{Prefix: "nluwb", MTU: mtu})
	if err != nil {
		b.Fatal(err)
	}
	if kind == "veth" {
		a, err1 := under.GoStack(vethlab.A, stack.Options{})
		c, err2 := under.GoStack(vethlab.B, stack.Options{})
		if err1 != nil || err2 != nil {
			under.Close()
			b.Fatal(err1, err2)
		}
		return a, c, func() { under.Close() }
	}
	var mux [2]*Mux
	var stacks [2]*stack.Stack
	cleanup := func() {
		for i := range 2 {
			if stacks[i] != nil {
				stacks[i].Destroy()
			}
			if mux[i] != nil {
				mux[i].Close()
			}
		}
		under.Close()
	}
	for side := range 2 {
		if err := under.Kernel(vethlab.Side(side)); err != nil {
			cleanup()
			b.Fatal(err)
		}
		err := under.InNamespace(vethlab.Side(side), func() error {
			var err error
			mux[side], err = Listen(netip.AddrPortFrom(under.Addr[side].Addr(), 4790).String())
			return err
		})
		if err != nil {
			cleanup()
			b.Fatal(err)
		}
	}
	for side := range 2 {
		ep, err := mux[side].Link(1, mux[1-side].Addr(), 1500, mac(byte(side+1)))
		if err != nil {
			cleanup()
			b.Fatal(err)
		}
		stacks[side] = stack.New(stack.Options{})
		nic, err := stacks[side].AddInterface("eth1", ep)
		if err == nil {
			err = stacks[side].AddAddress(nic, under.Addr[side])
		}
		if err != nil {
			cleanup()
			b.Fatal(err)
		}
	}
	return stacks[0], stacks[1], cleanup
}

// connect opens a TCP connection from cli to srv (at srv's address on
// the pair) and returns both ends' descriptors.
func connect(b *testing.B, cli, srv *stack.Stack) (int, int) {
	b.Helper()
	addr := srv.Interfaces()[0].Addrs[0].Addr()
	lfd, _ := srv.Socket(stack.SockStream)
	if err := srv.Bind(lfd, netip.AddrPortFrom(addr, 5001)); err != nil {
		b.Fatal(err)
	}
	if err := srv.Listen(lfd, 1); err != nil {
		b.Fatal(err)
	}
	accepted := make(chan int, 1)
	go func() {
		fd, _, err := srv.Accept(lfd)
		if err != nil {
			fd = -1
		}
		accepted <- fd
	}()
	fd, _ := cli.Socket(stack.SockStream)
	if err := cli.Connect(fd, addr, 5001); err != nil {
		b.Fatal(err)
	}
	select {
	case rfd := <-accepted:
		if rfd < 0 {
			b.Fatal("accept failed")
		}
		return fd, rfd
	case <-time.After(10 * time.Second):
		b.Fatal("no connection within 10 s")
	}
	return 0, 0
}
