package check

import "sort"

// Kinds returns every kind of check, sorted by name.
func Kinds() []Kind {
	ks := []Kind{
		answerKind(),
		counterKind(),
		deliveredKind(),
		fastRetransmitKind(),
		goodputKind(),
		handshakeKind(),
		inflightKind(),
		maxSegmentKind(),
		retransmitsKind(),
		rtoBackoffKind(),
		sequenceKind(),
		ssthreshKind(),
		stepKind(),
		timeWaitKind(),
		windowKind(),
		zeroWindowKind(),
	}
	sort.Slice(ks, func(i, j int) bool { return ks[i].Name < ks[j].Name })
	return ks
}
