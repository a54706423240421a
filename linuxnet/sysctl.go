package linuxnet

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// SysctlPath returns the /proc/sys file of a network sysctl, written with
// dots (net.ipv4.ip_forward) or slashes (net/ipv4/conf/eth1.10/rp_filter,
// for names holding a dot). Only net.* sysctls are allowed: a network
// namespace has no others.
func SysctlPath(key string) (string, error) {
	p := key
	if !strings.Contains(p, "/") {
		p = strings.ReplaceAll(p, ".", "/")
	}
	parts := strings.Split(p, "/")
	if parts[0] != "net" || len(parts) < 2 {
		return "", fmt.Errorf("sysctl %s: only net.* sysctls can be set on a node (its network namespace has no others)", key)
	}
	for _, s := range parts {
		if s == "" || s == "." || s == ".." {
			return "", fmt.Errorf("sysctl %s: not a sysctl name", key)
		}
	}
	return "/proc/sys/" + p, nil
}

// WriteSysctl writes value to the sysctl file path, in the calling thread's
// network namespace (/proc/sys/net follows the thread).
func WriteSysctl(path, value string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("no such sysctl (%s): %w", path, fs.ErrNotExist)
		}
		return err
	}
	_, err = f.WriteString(value + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
