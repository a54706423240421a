package sim

import "github.com/netlab/netlab/nodeagent"

// pattern is the node agent's deterministic byte stream (which
// nodeagent.PatternDigest digests): the same bytes for the same length, so
// a digest taken at both ends can be compared. A copy goes on from where
// it was copied.
type pattern = nodeagent.Pattern

func newPattern() pattern { return pattern{} }
