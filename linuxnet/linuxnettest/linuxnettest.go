// Package linuxnettest gives tests throwaway network namespaces and veth
// pairs with unique names, removed when the test ends, also on failure.
// Everything it creates lives inside namespaces it creates; it never touches
// the host's interfaces.
package linuxnettest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/netlab/netlab/linuxnet"
)

// Prefix starts the name of every namespace and interface this package
// creates, so that leftovers are easy to spot (`ip netns list | grep nlt`).
const Prefix = "nlt"

// RequireRoot skips the test unless it runs as root.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespaces and veths); run as root to test")
	}
}

// UniqueName returns Prefix, tag and 8 random hex digits; with a tag of at
// most 4 characters it fits an interface name (15 characters).
func UniqueName(t testing.TB, tag string) string {
	t.Helper()
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("random name: %v", err)
	}
	return Prefix + tag + hex.EncodeToString(b[:])
}

// nsPrefix starts the names of the namespaces NewNS creates; the creating
// process's PID follows, then '-' and random hex digits.
const nsPrefix = Prefix + "ns"

// NewNS creates a named network namespace with a unique name and returns its
// name; the namespace is deleted when the test ends. The name carries the
// test process's PID, and NewNS first deletes the namespaces that earlier
// test processes, now dead (a test binary killed on timeout runs no
// cleanup), left behind.
func NewNS(t testing.TB) string {
	t.Helper()
	RequireRoot(t)
	sweepDeadNS(t)
	name := linuxnet.OwnedNSName(nsPrefix, UniqueName(t, "")[len(Prefix):])
	if _, err := linuxnet.NewNamedNS(name); err != nil {
		t.Fatalf("NewNamedNS(%q): %v", name, err)
	}
	t.Cleanup(func() {
		if err := linuxnet.DeleteNamedNS(name); err != nil {
			t.Errorf("DeleteNamedNS(%q): %v", name, err)
		}
		if _, err := os.Stat(filepath.Join(linuxnet.NetnsRunDir, name)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("namespace %s still there after DeleteNamedNS (stat: %v)", name, err)
		}
	})
	return name
}

// sweepDeadNS deletes the namespaces named by NewNS in processes that are
// gone.
func sweepDeadNS(t testing.TB) {
	t.Helper()
	deleted, err := linuxnet.DeleteOrphanedNS(nsPrefix)
	for _, ns := range deleted {
		t.Logf("deleted namespace %s left by a dead test process", ns)
	}
	if err != nil {
		t.Logf("namespaces left by dead test processes: %v", err)
	}
}

// VethPair is a veth pair between two fresh namespaces.
type VethPair struct {
	// NSA and NSB are the namespaces' names (under linuxnet.NetnsRunDir).
	NSA, NSB string
	// IfA (in NSA) and IfB (in NSB) are the two ends.
	IfA, IfB string
	// MTU is the MTU of both ends.
	MTU int
}

// NewVethPair creates two namespaces and a veth pair between them with
// linuxnet.CreateVethPair (so IPv6 and TX checksum offload are off and both
// ends are up). Deleting the namespaces at the end of the test deletes the
// pair. Interface names are unique too, so that a leak shows in
// `ip -o link show`.
func NewVethPair(t testing.TB, mtu int) *VethPair {
	t.Helper()
	p := &VethPair{NSA: NewNS(t), NSB: NewNS(t), IfA: UniqueName(t, "a"), IfB: UniqueName(t, "b"), MTU: mtu}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := linuxnet.CreateVethPair(ctx, p.IfA, p.IfB, p.NSA, p.NSB, mtu); err != nil {
		t.Fatalf("CreateVethPair: %v", err)
	}
	if p.MTU == 0 {
		p.MTU = 1500
	}
	return p
}
