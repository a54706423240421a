package wire_test

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"strconv"
)

func itoa(n int) string { return strconv.Itoa(n) }

func randAddr4(r *rand.Rand) netip.Addr {
	var a [4]byte
	binary.BigEndian.PutUint32(a[:], r.Uint32())
	return netip.AddrFrom4(a)
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }
