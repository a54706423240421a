package impair

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/netlab/netlab/clock"
	"github.com/netlab/netlab/stack/wire"
)

// fuzzReader hands out fuzz bytes as config fields, zeros once they run out.
type fuzzReader struct{ b []byte }

func (r *fuzzReader) u64() uint64 {
	var v [8]byte
	n := copy(v[:], r.b)
	r.b = r.b[n:]
	return binary.LittleEndian.Uint64(v[:])
}

func (r *fuzzReader) u8() uint8 { return uint8(r.u64()) }

// prob returns a probability, sometimes out of range or NaN.
func (r *fuzzReader) prob() float64 {
	switch v := r.u8(); {
	case v == 255:
		return math.NaN()
	case v >= 250:
		return float64(v) - 250 // 0..4, over 1
	case v >= 240:
		return -float64(v-240) / 10
	default:
		return float64(v) / 200
	}
}

func (r *fuzzReader) dur() time.Duration {
	return time.Duration(int64(r.u64()) >> (r.u8() % 64))
}

func (r *fuzzReader) config() Config {
	c := Config{
		Delay: r.dur(), Jitter: r.dur(), DelayCorrelation: r.prob(), Order: Order(r.u8() % 3),
		Duplicate: r.prob(), DuplicateCorrelation: r.prob(), Corrupt: r.prob(), CorruptCorrelation: r.prob(),
		Reorder: r.prob(), ReorderCorrelation: r.prob(), Gap: int(int8(r.u8())),
		Rate: r.u64() >> (r.u8() % 64), Overhead: int(int16(r.u64())), CellSize: int(int8(r.u8())), CellOverhead: int(int8(r.u8())),
		Limit: int(int8(r.u8())), LimitBytes: int(int16(r.u64())), CoDel: r.u8()&1 == 1,
		CoDelTarget: r.dur(), CoDelInterval: r.dur(), ECN: r.u8()&1 == 1,
		DropEveryNth: uint64(r.u8()), Down: r.u8() == 7,
		Outage: Outage{Every: r.dur(), For: r.dur(), Offset: r.dur()},
		Seed:   r.u64(),
	}
	switch r.u8() % 5 {
	case 1:
		c.Loss = RandomLoss(r.prob(), r.prob())
	case 2:
		c.Loss = StateLoss(r.prob(), r.prob(), r.prob(), r.prob(), r.prob())
	case 3:
		c.Loss = GELoss(r.prob(), r.prob(), r.prob(), r.prob())
	case 4:
		c.Loss = Loss{Model: LossModel(r.u8())}
	}
	switch r.u8() % 5 {
	case 1:
		c.Distribution = NormalTable()
	case 2:
		c.Distribution = ParetoTable()
	case 3:
		c.Distribution = DistTable{int16(r.u64()), int16(r.u64())}
	case 4:
		c.Distribution = DistTable{}
	}
	for range r.u8() % 4 {
		c.DropPackets = append(c.DropPackets, uint64(r.u8()))
	}
	for range r.u8() % 3 {
		seq := uint32(r.u64())
		m := Match{Proto: r.u8() % 20, Flags: wire.TCPFlags(r.u8()), NotFlags: wire.TCPFlags(r.u8()),
			PureACK: r.u8()&1 == 1, Data: r.u8()&1 == 1, SrcPort: uint16(r.u8()), Skip: uint64(r.u8() % 4), Count: uint64(r.u8() % 4)}
		if r.u8()&1 == 1 {
			m.Seq = &seq
		}
		c.DropMatch = append(c.DropMatch, m)
	}
	return c
}

// fuzzSeed is one named seed of a fuzz target: the bytes and, for FuzzSend,
// the seed of the random source.
type fuzzSeed struct {
	name string
	b    []byte
	seed uint64
}

// fuzzSeeds returns the seeds of each fuzz target. They are added with f.Add
// and also kept in testdata/fuzz/<target>/ (go test -update rewrites them),
// so plain go test runs them.
func fuzzSeeds() map[string][]fuzzSeed {
	mixed := make([]byte, 400)
	for i := range mixed {
		mixed[i] = byte(i * 37)
	}
	return map[string][]fuzzSeed{
		"FuzzConfig": {
			{"empty", nil, 0},
			{"short", []byte("\x00\x00\x00\x01\x00\x00\x00\x00\x10"), 0},
			{"zeros", make([]byte, 400), 0},
			{"mixed", mixed, 0},
		},
		"FuzzSend": {
			{"syn", tcpFrame(wire.TCPFlagSYN, 1, 0, 0, 0), 1},
			{"fin-data-ect", tcpFrame(wire.TCPFlagACK|wire.TCPFlagFIN, 1, 2, 100, tosECT0), 2},
			{"udp-ce", udpFrame(1, 100, tosCE), 3},
			{"ipv6-ect1", ipv6Frame(tosECT1, 10), 4},
			{"empty", nil, 5},
			{"ethernet-only", make([]byte, 14), 6},
		},
	}
}

func (s fuzzSeed) file(target string) string {
	if target == "FuzzSend" {
		return fmt.Sprintf("go test fuzz v1\n[]byte(%q)\nuint64(%d)\n", s.b, s.seed)
	}
	return fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", s.b)
}

// TestWriteFuzzSeeds rewrites testdata/fuzz from fuzzSeeds under -update,
// and otherwise checks the files are there and current.
func TestWriteFuzzSeeds(t *testing.T) {
	for target, seeds := range fuzzSeeds() {
		for _, s := range seeds {
			path := filepath.Join("testdata", "fuzz", target, s.name)
			want := s.file(target)
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			if got, err := os.ReadFile(path); err != nil || string(got) != want {
				t.Errorf("%s is missing or stale (%v): run go test ./impair -run TestWriteFuzzSeeds -update", path, err)
			}
		}
	}
}

// FuzzConfig: whatever the Config, Validate, New, Send, SetConfig and Close
// do not panic, and every frame is accounted for.
func FuzzConfig(f *testing.F) {
	for _, s := range fuzzSeeds()["FuzzConfig"] {
		f.Add(s.b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := &fuzzReader{b: data}
		cfg := r.config()
		_ = cfg.Validate()
		_ = cfg.IsZero()
		for _, m := range cfg.DropMatch {
			if again, err := ParseMatch(m.String()); err == nil && !again.equal(&m) {
				t.Fatalf("ParseMatch(%q) = %v, want %v", m.String(), again, m)
			}
		}
		clk := clock.NewManual(clock.Epoch)
		d := New(cfg, clk, func([]byte) {})
		frames := [][]byte{tcpFrame(wire.TCPFlagSYN, 1, 0, 0, tosECT0), udpFrame(1, 1500, tosECT1), ipv6Frame(tosECT0, 20), {1, 2, 3}, nil}
		for i := range 64 {
			d.Send(frames[i%len(frames)])
			clk.Advance(time.Duration(r.u8()) * time.Millisecond)
			if i == 32 {
				d.SetConfig(r.config())
			}
		}
		// Run the clock a while; a huge delay need not finish.
		for range 1000 {
			next, ok := clk.Next()
			if !ok {
				break
			}
			clk.AdvanceTo(next)
		}
		checkConservation(t, d.Stats())
		d.Close()
	})
}

// FuzzSend: whatever the frame, the engine with every feature on does not
// panic, and a frame that leaves unchanged is the frame offered.
func FuzzSend(f *testing.F) {
	for _, s := range fuzzSeeds()["FuzzSend"] {
		f.Add(s.b, s.seed)
	}
	f.Fuzz(func(t *testing.T, frame []byte, seed uint64) {
		cfg := everything(seed)
		cfg.Corrupt, cfg.Duplicate = 0.3, 0.3
		cfg.Loss = RandomLoss(0.3, 0.2)
		cfg.DropMatch = append(cfg.DropMatch, Match{Flags: wire.TCPFlagSYN, Skip: 1}, Match{PureACK: true, Count: 2}, Match{SrcPort: 1, DstPort: 2})
		clk := clock.NewManual(clock.Epoch)
		orig := append([]byte(nil), frame...)
		d := New(cfg, clk, func(out []byte) {
			if len(out) != len(orig) {
				t.Fatalf("frame of %d bytes left as %d bytes", len(orig), len(out))
			}
		})
		for range 20 {
			d.Send(frame)
			clk.Advance(time.Millisecond)
		}
		for {
			next, ok := clk.Next()
			if !ok {
				break
			}
			clk.AdvanceTo(next)
		}
		if string(frame) != string(orig) {
			t.Fatal("Send changed the caller's frame")
		}
		checkConservation(t, d.Stats())
	})
}
