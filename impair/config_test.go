package impair

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cfg     Config
		wantErr []string
	}{
		{"zero", Config{}, nil},
		{"everything", everything(1), nil},
		{"netem-like", Config{Delay: 100 * time.Millisecond, Jitter: 10 * time.Millisecond, DelayCorrelation: 0.25,
			Distribution: NormalTable(), Loss: StateLoss(0.01), Reorder: 0.25, ReorderCorrelation: 0.5, Limit: 1000}, nil},
		{"negative delay", Config{Delay: -1}, []string{"delay -1ns not in"}},
		{"huge jitter", Config{Jitter: 2 * time.Hour}, []string{"jitter 2h0m0s"}},
		{"probabilities", Config{Duplicate: 1.5, Corrupt: -0.1, Reorder: math.NaN(), Delay: 1},
			[]string{"duplicate 1.5", "corrupt -0.1", "reorder NaN"}},
		{"correlations", Config{DelayCorrelation: 2, DuplicateCorrelation: 2, CorruptCorrelation: 2, ReorderCorrelation: 2},
			[]string{"delay correlation", "duplicate correlation", "corrupt correlation", "reorder correlation"}},
		{"random loss", Config{Loss: RandomLoss(2, -1)}, []string{"loss 2 not", "loss correlation -1"}},
		{"state loss", Config{Loss: StateLoss(0.6, 0.5, 0.6, 2, 0.5)}, []string{"p23 2", "p13 + p14", "p31 + p32"}},
		{"state loss ranges", Config{Loss: Loss{Model: LossState, P13: -1, P31: -1, P32: -1, P14: -1}}, []string{"p13 -1", "p31 -1", "p32 -1", "p14 -1"}},
		{"ge loss", Config{Loss: Loss{Model: LossGE, P: -1, R: 2, OneMinusH: 3, OneMinusK: -2}}, []string{"loss p -1", "loss r 2", "1-h 3", "1-k -2"}},
		{"unknown loss", Config{Loss: Loss{Model: 9}}, []string{"unknown loss model 9"}},
		{"unknown order", Config{Order: 5}, []string{"unknown order 5"}},
		{"reorder without delay", Config{Reorder: 0.5}, []string{"reorder needs a delay"}},
		{"gap without delay", Config{Gap: 5}, []string{"reorder needs a delay"}},
		{"negative gap", Config{Gap: -1, Delay: 1}, []string{"gap -1"}},
		{"negative sizes", Config{CellSize: -1, Limit: -1, LimitBytes: -1}, []string{"cell size -1", "limit -1", "limit bytes -1"}},
		{"codel without rate", Config{CoDel: true}, []string{"codel needs a rate"}},
		{"codel times", Config{Rate: 1, CoDel: true, CoDelTarget: -1, CoDelInterval: 2 * time.Hour}, []string{"codel target", "codel interval"}},
		{"outage", Config{Outage: Outage{Every: -1, For: -1, Offset: -1}}, []string{"outage every", "outage for", "outage offset"}},
		{"empty table", Config{Distribution: DistTable{}}, []string{"empty distribution"}},
		{"bad match", Config{DropMatch: []Match{{Proto: 17, PureACK: true}}}, []string{"drop match 1: TCP fields"}},
		{"frame zero", Config{DropPackets: []uint64{0}}, []string{"start at 1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want errors %q", tc.wantErr)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %v, want it to mention %q", err, w)
				}
			}
			// Whatever Validate says, the engine must not fail on it.
			h := newHarness(t, tc.cfg)
			h.run(100, time.Millisecond, 200)
			checkConservation(t, h.d.Stats())
		})
	}
}

// TestClamp: out-of-range values are clamped, not trusted.
func TestClamp(t *testing.T) {
	h := newHarness(t, Config{Loss: RandomLoss(7, 0), Delay: 5 * time.Hour})
	h.run(10, time.Millisecond, 100)
	if s := h.d.Stats(); s.DroppedLoss != 10 {
		t.Errorf("loss 7 dropped %d of 10, want all", s.DroppedLoss)
	}
	h = newHarness(t, Config{Delay: 5 * time.Hour})
	h.send(1, 100)
	h.drain()
	if l := h.latencies(); len(l) != 1 || l[0] != MaxDelay {
		t.Errorf("latencies %v, want one of MaxDelay", l)
	}
}

func TestIsZero(t *testing.T) {
	if c := (Config{Seed: 5, Order: KeepOrder, ECN: true, Limit: 1000, LimitBytes: 5, CoDel: true}); !c.IsZero() {
		t.Error("a Config with only Seed, Order, ECN, limits and CoDel is not zero")
	}
	for _, c := range []Config{{Delay: 1}, {Loss: RandomLoss(0.1, 0)}, {Rate: 1}, {Down: true}, {DropEveryNth: 2}} {
		if c.IsZero() {
			t.Errorf("%+v is zero", c)
		}
	}
}

func TestStrings(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{ReorderLikeNetem.String(), "netem"},
		{KeepOrder.String(), "keep"},
		{Order(9).String(), "Order(9)"},
		{NoLoss.String(), "none"},
		{LossRandom.String(), "random"},
		{LossState.String(), "state"},
		{LossGE.String(), "gemodel"},
		{LossModel(9).String(), "LossModel(9)"},
		{DropNone.String(), "none"},
		{DropLoss.String(), "loss"},
		{DropQueue.String(), "queue"},
		{DropCoDel.String(), "codel"},
		{DropSchedule.String(), "schedule"},
		{DropOutage.String(), "outage"},
		{DropReason(9).String(), "DropReason(9)"},
		{EventDrop.String(), "drop"},
		{EventQueue.String(), "queue"},
		{EventSend.String(), "send"},
		{Event(9).String(), "Event(9)"},
		{Verdict{Seq: 3, Event: EventDrop, Reason: DropLoss, Copy: true}.String(), "#3 drop loss copy"},
		{Verdict{Seq: 4, Event: EventQueue, Delay: time.Millisecond, Corrupted: true, Marked: true}.String(), "#4 queue delay=1ms corrupted ce"},
		{Verdict{Seq: 5, Event: EventSend, Ahead: true}.String(), "#5 send ahead"},
		{Match{}.String(), "any"},
	} {
		if tc.got != tc.want {
			t.Errorf("String() = %q, want %q", tc.got, tc.want)
		}
	}
}
