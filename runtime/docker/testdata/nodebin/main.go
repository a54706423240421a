// Command nodebin stands in for the netlab binary in the docker runtime's
// tests: a tiny static binary put into a test node image. It waits for
// SIGTERM or SIGINT and exits 0.
//
// Its arguments (after the image's "pause") choose what else it does:
//
//	status      write /netlab/run/<hostname>.status: effective capabilities,
//	            whether a raw AF_PACKET socket opens (NET_RAW), the variant
//	            and NODEBIN_ENV from the environment
//	exit N      exit at once with status N, after a line on stderr
package main

import (
	"bufio"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
)

// variant is set with -ldflags -X to make a binary with another hash.
var variant = "1"

func main() {
	args := os.Args[1:]
	if len(args) > 0 && args[0] == "pause" {
		args = args[1:]
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	if len(args) > 0 {
		switch args[0] {
		case "exit":
			code := 1
			if len(args) > 1 {
				code, _ = strconv.Atoi(args[1])
			}
			fmt.Fprintf(os.Stderr, "nodebin: exiting with status %d as asked\n", code)
			os.Exit(code)
		case "status":
			if err := writeStatus(); err != nil {
				fmt.Fprintf(os.Stderr, "nodebin: %v\n", err)
				os.Exit(2)
			}
		}
	}
	<-sig
}

func writeStatus() error {
	host, err := os.Hostname()
	if err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "variant=%s\n", variant)
	fmt.Fprintf(&b, "capeff=%s\n", capEff())
	fmt.Fprintf(&b, "rawsock=%s\n", rawSocket())
	fmt.Fprintf(&b, "env=%s\n", os.Getenv("NODEBIN_ENV"))
	path := "/netlab/run/" + host + ".status"
	if err := os.WriteFile(path+".tmp", []byte(b.String()), 0o644); err != nil {
		return err
	}
	return os.Rename(path+".tmp", path)
}

// capEff returns the CapEff line of /proc/self/status.
func capEff() string {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return "error: " + err.Error()
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "CapEff:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "missing"
}

// rawSocket opens and closes an AF_PACKET raw socket, which needs NET_RAW.
func rawSocket() string {
	const ethPAll = 0x0003
	proto := int((ethPAll&0xff)<<8 | ethPAll>>8) // htons
	fd, err := syscall.Socket(syscall.AF_PACKET, syscall.SOCK_RAW, proto)
	if err != nil {
		return "error: " + err.Error()
	}
	syscall.Close(fd)
	return "ok"
}
