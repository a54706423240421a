//go:build race

package sim

// raceEnabled says the race detector is on: wall times mean little.
const raceEnabled = true
