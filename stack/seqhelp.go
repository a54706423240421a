package stack

import "github.com/netlab/netlab/stack/seqnum"

func sizeOf(n int) seqnum.Size { return seqnum.Size(n) }
