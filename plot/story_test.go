package plot

import "github.com/netlab/netlab/trace"

// storyConfig is the synthetic connection of the tests: ISN 40 000 below
// 2^32, so the sequence numbers wrap during the transfer; a 1 Mbit/s-ish
// bottleneck with 50 ms each way; a loss repaired by fast retransmit; the
// receiver not reading for 0.4 s (zero window); a 0.8 s outage (RTO,
// backoff); and the close.
func storyConfig() simCfg {
	return simCfg{
		issA: 1<<32 - 40_000, issB: 3_000_000_000,
		mss: 1000, total: 200_000, rcvBuf: 24_000, initCwnd: 2,
		oneWay: 50_000, rate: 125_000,
		dropFirst: 60_001,
		pause:     [2]int64{1_400_000, 1_800_000},
		outage:    [2]int64{2_300_000, 3_100_000},
		offB:      5_000_000,
	}
}

func storyTrace() (a, b []trace.Event) { return runSim(storyConfig()) }
