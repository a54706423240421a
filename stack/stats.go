package stack

import (
	"errors"
	"reflect"

	"github.com/netlab/netlab/stack/wire"
)

// Stats are the stack-wide counters, named as Linux `nstat` names them
// (Ip*, Icmp*, Tcp*, TcpExt*, Udp*), plus a few for Ethernet and ARP.
type Stats struct {
	EthInErrors, EthInUnknownProtos, EthOutErrors uint64

	ArpInPkts, ArpInErrors, ArpOutRequests, ArpOutReplies, ArpFailures, ArpQueueDrops uint64

	IpInReceives, IpInHdrErrors, IpInCsumErrors, IpInAddrErrors, IpInUnknownProtos, IpInDelivers  uint64
	IpOutRequests, IpOutNoRoutes, IpForwDatagrams                                                 uint64
	IpReasmReqds, IpReasmOKs, IpReasmFails, IpReasmTimeout, IpFragOKs, IpFragFails, IpFragCreates uint64

	IcmpInMsgs, IcmpInErrors, IcmpInCsumErrors, IcmpInDestUnreachs, IcmpInTimeExcds, IcmpInEchos, IcmpInEchoReps uint64
	IcmpOutMsgs, IcmpOutDestUnreachs, IcmpOutTimeExcds, IcmpOutEchos, IcmpOutEchoReps                            uint64

	TcpActiveOpens, TcpPassiveOpens, TcpAttemptFails, TcpEstabResets, TcpCurrEstab uint64
	TcpInSegs, TcpOutSegs, TcpRetransSegs, TcpInErrs, TcpOutRsts, TcpInCsumErrors  uint64

	TcpExtListenOverflows, TcpExtListenDrops, TcpExtSyncookiesSent, TcpExtSyncookiesRecv, TcpExtSyncookiesFailed uint64
	TcpExtTCPTimeouts, TcpExtTCPFastRetrans, TcpExtTCPSackRecovery, TcpExtTCPRenoRecovery, TcpExtTCPLossProbes   uint64
	TcpExtTCPChallengeACK, TcpExtTCPAbortOnTimeout, TcpExtTCPAbortOnData, TcpExtPAWSEstab, TcpExtTCPOFOQueue     uint64
	TcpExtTCPOFODrop, TcpExtTCPRcvQDrop, TcpExtTCPDelayedACKs, TcpExtTCPSACKReneging, TcpExtTCPZeroWindowProbes  uint64
	TcpExtTW, TcpExtTCPKeepAlive, TcpExtOutOfWindowIcmps, TcpExtTCPACKSkippedSeq                                 uint64

	UdpInDatagrams, UdpNoPorts, UdpInErrors, UdpOutDatagrams, UdpRcvbufErrors, UdpInCsumErrors uint64
}

// Stats returns a copy of the counters.
func (s *Stack) Stats() Stats {
	s.mu.Lock()
	defer s.unlock()
	return s.stats
}

// Map returns the counters by their nstat names.
func (st Stats) Map() map[string]uint64 {
	v := reflect.ValueOf(st)
	t := v.Type()
	m := make(map[string]uint64, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		m[t.Field(i).Name] = v.Field(i).Uint()
	}
	return m
}

func errorsIsChecksum(err error) bool { return errors.Is(err, wire.ErrBadChecksum) }
