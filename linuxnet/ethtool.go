package linuxnet

import (
	"errors"
	"fmt"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Offloads is the state of the offloads that matter to a userspace stack on
// an interface, as `ethtool -k` names them. Frames that the kernel sends with
// TX checksum offload on carry partial checksums; with TSO, GSO or GRO on,
// frames longer than the MTU can cross a veth.
type Offloads struct {
	// TXChecksum is tx-checksumming (ETHTOOL_STXCSUM).
	TXChecksum bool
	// ScatterGather is scatter-gather (ETHTOOL_SSG).
	ScatterGather bool
	// TSO is tcp-segmentation-offload (ETHTOOL_STSO).
	TSO bool
	// GSO is generic-segmentation-offload (ETHTOOL_SGSO).
	GSO bool
	// GRO is generic-receive-offload (ETHTOOL_SGRO).
	GRO bool
}

// String lists the offloads that are on, e.g. "tx,sg,gso", or "none".
func (o Offloads) String() string {
	var on []string
	for _, f := range o.features() {
		if *f.on {
			on = append(on, f.name)
		}
	}
	if len(on) == 0 {
		return "none"
	}
	return strings.Join(on, ",")
}

type offloadFeature struct {
	name     string
	get, set uint32 // ETHTOOL_Gxxx and ETHTOOL_Sxxx
	on       *bool
}

// features lists o's fields in dependency order: an earlier one is needed
// for a later one to be on (TSO needs TX checksum and SG, GSO needs SG).
func (o *Offloads) features() []offloadFeature {
	return []offloadFeature{
		{"tx", unix.ETHTOOL_GTXCSUM, unix.ETHTOOL_STXCSUM, &o.TXChecksum},
		{"sg", unix.ETHTOOL_GSG, unix.ETHTOOL_SSG, &o.ScatterGather},
		{"tso", unix.ETHTOOL_GTSO, unix.ETHTOOL_STSO, &o.TSO},
		{"gso", unix.ETHTOOL_GGSO, unix.ETHTOOL_SGSO, &o.GSO},
		{"gro", unix.ETHTOOL_GGRO, unix.ETHTOOL_SGRO, &o.GRO},
	}
}

// ethtoolValue is struct ethtool_value.
type ethtoolValue struct {
	cmd  uint32
	data uint32
}

// ifreqData is struct ifreq with ifr_data, the pointer SIOCETHTOOL reads.
type ifreqData struct {
	name [unix.IFNAMSIZ]byte
	data unsafe.Pointer
	_    [24 - unsafe.Sizeof(uintptr(0))]byte
}

// ethtoolSocket opens a socket for SIOCETHTOOL in the calling thread's
// network namespace.
func ethtoolSocket() (int, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if errors.Is(err, unix.EAFNOSUPPORT) {
		fd, err = unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_GENERIC)
	}
	if err != nil {
		return -1, fmt.Errorf("open socket for ethtool: %w", err)
	}
	return fd, nil
}

// ethtoolValueCmd runs one ethtool_value command (a get or a set).
func ethtoolValueCmd(fd int, ifname string, cmd uint32, data uint32) (uint32, error) {
	if err := validIfname(ifname); err != nil {
		return 0, err
	}
	v := &ethtoolValue{cmd: cmd, data: data}
	ifr := &ifreqData{data: unsafe.Pointer(v)}
	copy(ifr.name[:unix.IFNAMSIZ-1], ifname)
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SIOCETHTOOL, uintptr(unsafe.Pointer(ifr)))
	if errno != 0 {
		return 0, errno
	}
	return v.data, nil
}

func getOffloads(fd int, ifname string) (Offloads, error) {
	var o Offloads
	for _, f := range o.features() {
		v, err := ethtoolValueCmd(fd, ifname, f.get, 0)
		if err != nil {
			return Offloads{}, fmt.Errorf("get offload %s of %s: %w", f.name, ifname, err)
		}
		*f.on = v != 0
	}
	return o, nil
}

// GetOffloads reports the offloads of ifname in the calling thread's network
// namespace.
func GetOffloads(ifname string) (Offloads, error) {
	fd, err := ethtoolSocket()
	if err != nil {
		return Offloads{}, err
	}
	defer unix.Close(fd)
	return getOffloads(fd, ifname)
}

// SetOffloads sets the offloads of ifname in the calling thread's network
// namespace to want, through the SIOCETHTOOL ioctl, and checks that the
// kernel agreed: it fails if a feature that cannot be changed on this device
// stays different from want.
func SetOffloads(ifname string, want Offloads) error {
	fd, err := ethtoolSocket()
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	have, err := getOffloads(fd, ifname)
	if err != nil {
		return err
	}
	hf, wf := have.features(), want.features()
	// Turn features off from the most dependent one, then on from the least.
	for i := len(wf) - 1; i >= 0; i-- {
		if *hf[i].on && !*wf[i].on {
			if _, err := ethtoolValueCmd(fd, ifname, wf[i].set, 0); err != nil && !errors.Is(err, unix.EOPNOTSUPP) {
				return fmt.Errorf("turn offload %s of %s off: %w", wf[i].name, ifname, err)
			}
		}
	}
	for i := range wf {
		if !*hf[i].on && *wf[i].on {
			if _, err := ethtoolValueCmd(fd, ifname, wf[i].set, 1); err != nil && !errors.Is(err, unix.EOPNOTSUPP) {
				return fmt.Errorf("turn offload %s of %s on: %w", wf[i].name, ifname, err)
			}
		}
	}
	got, err := getOffloads(fd, ifname)
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("set offloads of %s to %v: kernel has %v", ifname, want, got)
	}
	return nil
}

// DisableTXChecksum turns TX checksum offload off on ifname in the calling
// thread's network namespace (as `ethtool -K ifname tx off`). The kernel
// then also turns TSO off, which needs it.
func DisableTXChecksum(ifname string) error {
	fd, err := ethtoolSocket()
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if _, err := ethtoolValueCmd(fd, ifname, unix.ETHTOOL_STXCSUM, 0); err != nil {
		if errors.Is(err, unix.EOPNOTSUPP) {
			// Not changeable here: fine if it is off already.
			v, gerr := ethtoolValueCmd(fd, ifname, unix.ETHTOOL_GTXCSUM, 0)
			if gerr == nil && v == 0 {
				return nil
			}
		}
		return fmt.Errorf("turn TX checksum offload of %s off: %w", ifname, err)
	}
	return nil
}

// DisableOffloads turns all of Offloads off on ifname in the calling
// thread's network namespace, so every frame on the wire is at most MTU
// bytes and carries full checksums.
func DisableOffloads(ifname string) error {
	return SetOffloads(ifname, Offloads{})
}

func validIfname(ifname string) error {
	if ifname == "" || len(ifname) >= unix.IFNAMSIZ || ifname == "." || ifname == ".." ||
		strings.ContainsAny(ifname, "/: \t\n") {
		return fmt.Errorf("invalid interface name %q", ifname)
	}
	return nil
}
