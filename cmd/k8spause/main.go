// Command k8spause is the sandbox ("pause") process of the single-node
// Kubernetes test cluster that scripts/k8s-cluster brings up, built
// locally because this machine has no image registry to pull
// registry.k8s.io/pause from.
//
// Run without arguments it is the pod's first process: it holds the
// pod's namespaces, sleeps until SIGTERM or SIGINT and reaps every child
// that is re-parented to it (it is PID 1 when the pod shares one PID
// namespace). It exits 0 on SIGTERM or SIGINT.
//
// The same static binary serves the cluster's smoke test, so that a pod
// image needs nothing but this file:
//
//	k8spause serve PORT    answer each TCP connection on PORT with "hello from HOSTNAME\n"
//	k8spause dial ADDR     connect to ADDR (host:port), copy the answer to stdout
//	k8spause version       print the program's name
package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		pause()
		return
	}
	switch os.Args[1] {
	case "serve":
		if len(os.Args) != 3 {
			usage()
		}
		serve(os.Args[2])
	case "dial":
		if len(os.Args) != 3 {
			usage()
		}
		dial(os.Args[2])
	case "version":
		fmt.Println("k8spause (netlab test-cluster pause and smoke binary)")
	default:
		usage()
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: k8spause [serve PORT | dial HOST:PORT | version]")
	os.Exit(2)
}

// pause sleeps until SIGTERM or SIGINT, reaping children on SIGCHLD.
func pause() {
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
	for s := range sigs {
		if s == syscall.SIGCHLD {
			reap()
			continue
		}
		os.Exit(0)
	}
}

// reap collects every exited child; signals coalesce, so one SIGCHLD
// may stand for several children.
func reap() {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
	}
}

// serve answers every connection on port with the pod's hostname and
// closes it; it exits 0 on SIGTERM or SIGINT.
func serve(port string) {
	ln, err := net.Listen("tcp", net.JoinHostPort("", port))
	if err != nil {
		fmt.Fprintln(os.Stderr, "k8spause:", err)
		os.Exit(1)
	}
	go func() {
		sigs := make(chan os.Signal, 1)
		signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
		<-sigs
		os.Exit(0)
	}()
	host, _ := os.Hostname()
	for {
		c, err := ln.Accept()
		if err != nil {
			fmt.Fprintln(os.Stderr, "k8spause:", err)
			continue
		}
		go func(c net.Conn) {
			defer c.Close()
			c.SetWriteDeadline(time.Now().Add(5 * time.Second))
			fmt.Fprintf(c, "hello from %s\n", host)
		}(c)
	}
}

// dial connects to addr and copies what it answers to stdout.
func dial(addr string) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		fmt.Fprintln(os.Stderr, "k8spause:", err)
		os.Exit(1)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.Copy(os.Stdout, c); err != nil {
		fmt.Fprintln(os.Stderr, "k8spause:", err)
		os.Exit(1)
	}
}
