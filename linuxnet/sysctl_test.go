package linuxnet_test

import (
	"testing"

	"github.com/netlab/netlab/linuxnet"
)

func TestSysctlPath(t *testing.T) {
	tests := []struct {
		key, want string
		wantErr   bool
	}{
		{key: "net.ipv4.ip_forward", want: "/proc/sys/net/ipv4/ip_forward"},
		{key: "net/ipv4/conf/eth1.10/rp_filter", want: "/proc/sys/net/ipv4/conf/eth1.10/rp_filter"},
		{key: "kernel.hostname", wantErr: true},
		{key: "vm.swappiness", wantErr: true},
		{key: "net", wantErr: true},
		{key: "net/../kernel/x", wantErr: true},
		{key: "net/./x", wantErr: true},
		{key: "net..ipv4", wantErr: true},
	}
	for _, tc := range tests {
		got, err := linuxnet.SysctlPath(tc.key)
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("SysctlPath(%q) = %q, %v; want %q, error %v", tc.key, got, err, tc.want, tc.wantErr)
		}
	}
}
