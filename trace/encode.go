package trace

import (
	"encoding/json"
	"net/netip"
	"strconv"
)

// AppendJSON appends e as encoding/json marshals it (the same bytes: field
// order, omitted empty fields, escaping), without reflection: a recorder
// writes an event per segment, and json.Marshal was a quarter of a busy
// agent's time. TestAppendJSONMatchesMarshal holds the two together.
func AppendJSON(b []byte, e *Event) []byte {
	b = append(b, `{"t_us":`...)
	b = strconv.AppendInt(b, e.TimeUS, 10)
	b = appendStr(b, `,"kind":`, e.Kind)
	b = appendAddrPort(b, `,"local":`, e.Local)
	b = appendAddrPort(b, `,"remote":`, e.Remote)
	if e.Flags != "" {
		b = appendStr(b, `,"flags":`, e.Flags)
	}
	b = appendUintOmit(b, `,"seq":`, uint64(e.Seq))
	b = appendUintOmit(b, `,"ack":`, uint64(e.Ack))
	if e.Len != 0 {
		b = append(b, `,"len":`...)
		b = strconv.AppendInt(b, int64(e.Len), 10)
	}
	b = appendUintOmit(b, `,"wnd":`, uint64(e.Window))
	if e.Retrans {
		b = append(b, `,"retrans":true`...)
	}
	if e.SACK != 0 {
		b = append(b, `,"sack_blocks":`...)
		b = strconv.AppendInt(b, int64(e.SACK), 10)
	}
	if len(e.SACKRanges) > 0 {
		b = append(b, `,"sack":[`...)
		for i, r := range e.SACKRanges {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '[')
			b = strconv.AppendUint(b, uint64(r[0]), 10)
			b = append(b, ',')
			b = strconv.AppendUint(b, uint64(r[1]), 10)
			b = append(b, ']')
		}
		b = append(b, ']')
	}
	b = appendStr(b, `,"state":`, e.State)
	if e.OldState != "" {
		b = appendStr(b, `,"old_state":`, e.OldState)
	}
	if e.Timer != "" {
		b = appendStr(b, `,"timer":`, e.Timer)
	}
	b = appendUint(b, `,"snd_una":`, uint64(e.SndUna))
	b = appendUint(b, `,"snd_nxt":`, uint64(e.SndNxt))
	b = appendUint(b, `,"rcv_nxt":`, uint64(e.RcvNxt))
	b = appendUint(b, `,"snd_wnd":`, uint64(e.SndWnd))
	b = appendUint(b, `,"rcv_wnd":`, uint64(e.RcvWnd))
	b = appendUint(b, `,"snd_cwnd":`, uint64(e.Cwnd))
	b = appendUint(b, `,"ssthresh":`, uint64(e.Ssthresh))
	b = appendUint(b, `,"inflight":`, uint64(e.InFlight))
	b = append(b, `,"srtt_us":`...)
	b = strconv.AppendInt(b, e.SRTTUS, 10)
	if e.RTTVarUS != 0 {
		b = append(b, `,"rttvar_us":`...)
		b = strconv.AppendInt(b, e.RTTVarUS, 10)
	}
	if e.Options != "" {
		b = appendStr(b, `,"opts":`, e.Options)
	}
	b = append(b, `,"rto_ms":`...)
	b = strconv.AppendInt(b, e.RTOMS, 10)
	b = appendStr(b, `,"ca_state":`, e.CAState)
	if e.Reason != "" {
		b = appendStr(b, `,"reason":`, e.Reason)
	}
	if e.Ifname != "" {
		b = appendStr(b, `,"ifname":`, e.Ifname)
	}
	if e.Dir != "" {
		b = appendStr(b, `,"dir":`, e.Dir)
	}
	return append(b, '}')
}

func appendUint(b []byte, key string, v uint64) []byte {
	return strconv.AppendUint(append(b, key...), v, 10)
}

func appendUintOmit(b []byte, key string, v uint64) []byte {
	if v == 0 {
		return b
	}
	return appendUint(b, key, v)
}

// appendStr appends key and s as a JSON string, escaped as encoding/json
// escapes it (the plain ASCII the stack writes is copied as it is).
func appendStr(b []byte, key, s string) []byte {
	b = append(b, key...)
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendAddrPort appends key and p as its MarshalText (empty when p is the
// zero AddrPort), quoted.
func appendAddrPort(b []byte, key string, p netip.AddrPort) []byte {
	b = append(b, key...)
	b = append(b, '"')
	if p.Addr().IsValid() {
		b = p.AppendTo(b)
	}
	return append(b, '"')
}
