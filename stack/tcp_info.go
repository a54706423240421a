package stack

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// TCPInfo is a snapshot of one connection, with the names Linux `ss -ti`
// prints (struct tcp_info). Windows and cwnd are in bytes; CwndSegs and
// SsthreshSegs give Linux's segment counts.
type TCPInfo struct {
	State         string         `json:"state"`
	Local         netip.AddrPort `json:"local"`
	Remote        netip.AddrPort `json:"remote"`
	Congestion    string         `json:"cc"`
	CAState       string         `json:"ca_state"`
	SACK          bool           `json:"sack"`
	Timestamps    bool           `json:"ts"`
	WScaleSnd     int            `json:"wscale_snd"`
	WScaleRcv     int            `json:"wscale_rcv"`
	RTO           time.Duration  `json:"rto"`
	Backoff       int            `json:"backoff"`
	SRTT          time.Duration  `json:"rtt"`
	RTTVar        time.Duration  `json:"rttvar"`
	MinRTT        time.Duration  `json:"minrtt"`
	ATO           time.Duration  `json:"ato"`
	MSS           int            `json:"mss"`
	AdvMSS        int            `json:"advmss"`
	RcvMSS        int            `json:"rcvmss"`
	Cwnd          uint32         `json:"cwnd"`
	CwndSegs      uint32         `json:"cwnd_segs"`
	Ssthresh      uint32         `json:"ssthresh"`
	SsthreshSegs  uint32         `json:"ssthresh_segs"`
	SndUna        uint32         `json:"snd_una"`
	SndNxt        uint32         `json:"snd_nxt"`
	SndWnd        uint32         `json:"snd_wnd"`
	RcvNxt        uint32         `json:"rcv_nxt"`
	RcvWnd        uint32         `json:"rcv_wnd"`
	BytesSent     uint64         `json:"bytes_sent"`
	BytesRetrans  uint64         `json:"bytes_retrans"`
	BytesAcked    uint64         `json:"bytes_acked"`
	BytesReceived uint64         `json:"bytes_received"`
	SegsOut       uint64         `json:"segs_out"`
	SegsIn        uint64         `json:"segs_in"`
	DataSegsOut   uint64         `json:"data_segs_out"`
	DataSegsIn    uint64         `json:"data_segs_in"`
	Unacked       uint32         `json:"unacked"`
	Retrans       uint64         `json:"retrans"`
	Lost          uint64         `json:"lost"`
	Sacked        uint32         `json:"sacked"`
	DupAcks       int            `json:"dupacks"`
	Timeouts      uint64         `json:"timeouts"`
	FastRetrans   uint64         `json:"fast_retransmits"`
	// SpuriousRetrans counts retransmitted segments found unnecessary: on
	// the Go stack by Eifel detection (RFC 3522, with timestamps: the
	// episode's first retransmission answered by an ACK echoing an older
	// timestamp counts all of the episode's); from the kernel, the
	// duplicates the receiver reported with D-SACK (tcpi_dsack_dups).
	SpuriousRetrans uint64 `json:"spurious_retrans"`
	Probes          uint64 `json:"probes"`
	DeliveryRate    uint64 `json:"delivery_rate"` // bits/s
	NotSent         int    `json:"notsent"`
	RecvQ           int    `json:"recv_q"`
	Timer           string `json:"timer,omitempty"`
}

// Info returns the `ss -ti` view of fd's connection.
func (s *Stack) Info(fd int) (TCPInfo, error) {
	s.mu.Lock()
	defer s.unlock()
	so, err := s.lookupLocked(fd)
	if err != nil {
		return TCPInfo{}, opErr("info", fd, err)
	}
	if so.tcp == nil {
		if so.lsn != nil {
			return TCPInfo{State: StateListen.String(), Local: so.local}, nil
		}
		return TCPInfo{}, opErr("info", fd, ENOTCONN)
	}
	return so.tcp.info(), nil
}

// Connections returns the `ss -ti` view of every TCP connection of the
// stack, including orphans (closed by the application, still in FIN-WAIT or
// TIME-WAIT).
func (s *Stack) Connections() []TCPInfo {
	s.mu.Lock()
	defer s.unlock()
	out := make([]TCPInfo, 0, len(s.tcpConn))
	for _, c := range s.tcpConn {
		out = append(out, c.info())
	}
	return out
}

func (c *tcpConn) info() TCPInfo {
	mss := uint32(max(c.mss, 1))
	i := TCPInfo{
		State: c.state.String(), Local: c.id.local, Remote: c.id.remote, Congestion: c.cc.name(),
		CAState: c.caState.String(), SACK: c.sackOK, Timestamps: c.tsOK,
		RTO: c.rto, Backoff: c.backoff, SRTT: c.srtt, RTTVar: c.rttvar, MinRTT: c.minRTT, ATO: c.opts.DelayedACK,
		MSS: c.mss, AdvMSS: c.advMSS, RcvMSS: c.rcvMSS, Cwnd: c.cwnd, CwndSegs: c.cwnd / mss,
		Ssthresh: c.ssthresh, SsthreshSegs: c.ssthresh / mss,
		SndUna: uint32(c.sndUna), SndNxt: uint32(c.sndNxt), SndWnd: c.sndWnd, RcvNxt: uint32(c.rcvNxt),
		RcvWnd:    uint32(c.rcvWindowNow()),
		BytesSent: c.stats.bytesSent, BytesRetrans: c.stats.bytesRetrans, BytesAcked: c.stats.bytesAcked,
		BytesReceived: c.stats.bytesReceived, SegsOut: c.stats.segsOut, SegsIn: c.stats.segsIn,
		DataSegsOut: c.stats.dataSegsOut, DataSegsIn: c.stats.dataSegsIn,
		Unacked: c.inFlight() / mss, Retrans: c.stats.retrans, Lost: c.stats.lost,
		Sacked: c.sacked.sackedBytes() / mss, DupAcks: c.dupAcks, Timeouts: c.stats.timeouts,
		FastRetrans: c.stats.fastRetrans, SpuriousRetrans: c.stats.spurious, Probes: c.stats.probes, DeliveryRate: c.stats.deliveryRate * 8,
		NotSent: max(0, int(int32(c.sndBase.Add(sizeOf(c.sndBuf.n))-c.sndNxt))), RecvQ: c.rcvBuf.n,
	}
	if c.wsOK {
		i.WScaleSnd, i.WScaleRcv = int(c.sndWS), int(c.rcvWS)
	}
	if c.ssthresh >= 1<<30 {
		i.Ssthresh, i.SsthreshSegs = 0, 0
	}
	now := c.s.clock.Now()
	switch {
	case !c.rtoAt.IsZero():
		i.Timer = fmt.Sprintf("on,%dms,%d", c.rtoAt.Sub(now).Milliseconds(), c.retries)
	case !c.persistAt.IsZero():
		i.Timer = fmt.Sprintf("persist,%dms,%d", c.persistAt.Sub(now).Milliseconds(), c.persistN)
	case c.state == StateTimeWait:
		i.Timer = fmt.Sprintf("timewait,%dms,0", c.closeAt.Sub(now).Milliseconds())
	case !c.keepAt.IsZero():
		i.Timer = fmt.Sprintf("keepalive,%dms,%d", c.keepAt.Sub(now).Milliseconds(), c.keepN)
	}
	return i
}

// String formats the snapshot as `ss -ti` does.
func (i TCPInfo) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s\n\t", i.State, i.Local, i.Remote)
	if i.Timestamps {
		b.WriteString("ts ")
	}
	if i.SACK {
		b.WriteString("sack ")
	}
	fmt.Fprintf(&b, "%s wscale:%d,%d rto:%g rtt:%g/%g ato:%g mss:%d advmss:%d rcvmss:%d cwnd:%d",
		i.Congestion, i.WScaleSnd, i.WScaleRcv, ms(i.RTO), ms(i.SRTT), ms(i.RTTVar), ms(i.ATO), i.MSS, i.AdvMSS,
		i.RcvMSS, i.CwndSegs)
	if i.SsthreshSegs > 0 {
		fmt.Fprintf(&b, " ssthresh:%d", i.SsthreshSegs)
	}
	fmt.Fprintf(&b, " bytes_sent:%d bytes_retrans:%d bytes_acked:%d bytes_received:%d segs_out:%d segs_in:%d data_segs_out:%d data_segs_in:%d",
		i.BytesSent, i.BytesRetrans, i.BytesAcked, i.BytesReceived, i.SegsOut, i.SegsIn, i.DataSegsOut, i.DataSegsIn)
	if i.DeliveryRate > 0 {
		fmt.Fprintf(&b, " delivery_rate %s", bps(i.DeliveryRate))
	}
	fmt.Fprintf(&b, " unacked:%d retrans:%d lost:%d sacked:%d rcv_wnd:%d snd_wnd:%d notsent:%d minrtt:%g ca_state:%s",
		i.Unacked, i.Retrans, i.Lost, i.Sacked, i.RcvWnd, i.SndWnd, i.NotSent, ms(i.MinRTT), i.CAState)
	if i.SpuriousRetrans > 0 {
		fmt.Fprintf(&b, " spurious_retrans:%d", i.SpuriousRetrans)
	}
	if i.Timer != "" {
		fmt.Fprintf(&b, " timer:(%s)", i.Timer)
	}
	return b.String()
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func bps(v uint64) string {
	switch {
	case v >= 1e9:
		return fmt.Sprintf("%.1fGbps", float64(v)/1e9)
	case v >= 1e6:
		return fmt.Sprintf("%.1fMbps", float64(v)/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1fKbps", float64(v)/1e3)
	}
	return fmt.Sprintf("%dbps", v)
}
