package topology

import (
	"fmt"
	"strings"
)

// builtinKinds lists the builtin kinds for messages.
const builtinKinds = "host, router, linux, bridge"

// vendorKinds are containerlab's kinds that run a vendor's network
// operating system (a container or a VM in one), with the product's name.
// netlab runs Linux containers and its own stack; it never turns one of
// these into a host.
var vendorKinds = map[string]string{
	"nokia_srlinux": "Nokia SR Linux", "srl": "Nokia SR Linux",
	"nokia_sros": "Nokia SR OS", "vr-sros": "Nokia SR OS", "vr-nokia_sros": "Nokia SR OS", "nokia_srsim": "Nokia SR OS",
	"ceos": "Arista cEOS", "arista_ceos": "Arista cEOS", "vr-veos": "Arista vEOS", "arista_veos": "Arista vEOS", "vr-arista_veos": "Arista vEOS",
	"crpd": "Juniper cRPD", "juniper_crpd": "Juniper cRPD", "vr-vmx": "Juniper vMX", "juniper_vmx": "Juniper vMX", "vr-juniper_vmx": "Juniper vMX",
	"vr-vqfx": "Juniper vQFX", "juniper_vqfx": "Juniper vQFX", "vr-juniper_vqfx": "Juniper vQFX", "juniper_vsrx": "Juniper vSRX", "vr-vsrx": "Juniper vSRX",
	"juniper_vjunosrouter": "Juniper vJunos", "juniper_vjunosswitch": "Juniper vJunos", "juniper_vjunosevolved": "Juniper vJunosEvolved", "juniper_cjunosevolved": "Juniper cJunosEvolved",
	"vr-xrv": "Cisco IOS XRv", "cisco_xrv": "Cisco IOS XRv", "vr-xrv9k": "Cisco IOS XRv 9000", "cisco_xrv9k": "Cisco IOS XRv 9000", "xrd": "Cisco XRd", "cisco_xrd": "Cisco XRd",
	"vr-csr": "Cisco CSR 1000v", "cisco_csr1000v": "Cisco CSR 1000v", "vr-n9kv": "Cisco Nexus 9000v", "cisco_n9kv": "Cisco Nexus 9000v", "vr-nxos": "Cisco NX-OS", "cisco_nxos": "Cisco NX-OS",
	"cisco_c8000": "Cisco 8000", "cisco_c8000v": "Cisco Catalyst 8000V", "vr-c8000v": "Cisco Catalyst 8000V", "cisco_cat9kv": "Cisco Catalyst 9000v", "vr-cat9kv": "Cisco Catalyst 9000v",
	"cisco_iol": "Cisco IOL", "cisco_ftdv": "Cisco FTDv", "cisco_asav": "Cisco ASAv",
	"vr-pan": "Palo Alto PAN-OS", "paloalto_panos": "Palo Alto PAN-OS", "vr-ftosv": "Dell FTOS", "dell_ftosv": "Dell FTOS", "dell_sonic": "Dell SONiC",
	"sonic-vs": "SONiC", "sonic-vm": "SONiC", "cvx": "NVIDIA Cumulus VX", "vr-ros": "MikroTik RouterOS", "mikrotik_ros": "MikroTik RouterOS",
	"fortinet_fortigate": "Fortinet FortiGate", "checkpoint_cloudguard": "Check Point CloudGuard", "ipinfusion_ocnos": "IP Infusion OcNOS",
	"huawei_vrp": "Huawei VRP", "6wind_vsr": "6WIND VSR", "aruba_aoscx": "Aruba AOS-CX", "vr-aoscx": "Aruba AOS-CX", "fdio_vpp": "FD.io VPP",
	"keysight_ixia-c-one": "Keysight Ixia-c", "ixia-c-one": "Keysight Ixia-c", "c8000": "Cisco 8000", "openbsd": "OpenBSD (a VM)", "freebsd": "FreeBSD (a VM)",
	"generic_vm": "a virtual machine", "rare": "RARE/freeRtr",
}

// otherKinds are containerlab's kinds that are no vendor's OS but that
// netlab does not do, with the reason.
var otherKinds = map[string]string{
	"ext-container": "is a container made outside the lab; netlab wires only the nodes it creates",
	"ovs-bridge":    "is an Open vSwitch bridge on the host; netlab has no Open vSwitch: use kind: bridge (a LAN segment inside the lab)",
	"k8s-kind":      "is a Kubernetes-in-Docker cluster; netlab's Kubernetes support deploys labs onto a cluster instead",
}

// refusedKinds says why netlab does not run kind, when it is a kind of
// containerlab's that netlab does not do.
func refusedKinds(kind string) (string, bool) {
	if isBuiltin(kind) {
		return "", false
	}
	if product, ok := vendorKinds[strings.ToLower(kind)]; ok {
		return fmt.Sprintf("kind %q runs %s, a vendor network operating system, which netlab does not run "+
			"(it runs Linux nodes and its own TCP/IP stack): use kind: router for a node that forwards, "+
			"or kind: linux with a Linux routing image such as FRR", kind, product), true
	}
	if why, ok := otherKinds[kind]; ok {
		return fmt.Sprintf("kind %q %s", kind, why), true
	}
	return "", false
}
