package scheduler

import (
	"context"
	"testing"
	"time"

	"github.com/lookout/lookout/internal/testkit"
	"github.com/lookout/lookout/internal/uptime"
)

// putAt writes a target to the feed as handed under a lease epoch.
func (f *memFeed) putAt(t uptime.Target, st uptime.State, epoch int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.version++
	f.targets[t.ID] = uptime.Snapshot{Target: t, State: st, Epoch: epoch}
	f.at[t.ID] = f.version
}

// A target's observations carry the lease epoch it was handed under; a
// target handed again under another epoch (its shard changed hands
// meanwhile) is taken over again from its stored state, while one handed
// under the same epoch keeps the state in memory.
func TestEpochs(t *testing.T) {
	feed := newMemFeed()
	s, _, _, r := fixture(Config{Source: feed})
	tg := target(1, "api", 10*time.Second)
	feed.putAt(tg, uptime.State{}, 3)
	if err := s.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CheckNow(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	if o := r.of(1); len(o) != 1 || o[0].Epoch != 3 {
		t.Fatalf("observations %+v, want one of epoch 3", o)
	}
	feed.putAt(tg, uptime.State{Status: uptime.StatusDown, ConsecutiveFailures: 9}, 3)
	if err := s.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st, _ := s.State(1); st.ConsecutiveSuccesses != 1 {
		t.Errorf("handed again under the same epoch: state %+v, want the one in memory", st)
	}
	feed.putAt(tg, uptime.State{Status: uptime.StatusDown, ConsecutiveFailures: 9}, 5)
	if err := s.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st, _ := s.State(1); st.ConsecutiveFailures != 9 {
		t.Errorf("handed under a new epoch: state %+v, want the stored one", st)
	}
	if _, err := s.CheckNow(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	if o := r.of(1); len(o) != 2 || o[1].Epoch != 5 {
		t.Errorf("observations %+v, want the second of epoch 5", o)
	}
}

// A target taken over while Run runs, whose last check is more than an
// interval old, is checked at once and then at its slots, the next at
// least ¾ of an interval on; one checked recently, or loaded before Run (a
// start-up), keeps its slots.
func TestTakeoverCatchesUp(t *testing.T) {
	t.Parallel()
	s, clk, p, _ := fixture(Config{Workers: 4})
	every := 10 * time.Second
	s.Load(target(3, "at-start", every), uptime.State{LastCheck: t0.Add(-time.Minute)})
	startSlot, _ := dueOf(s, 3)
	stop := run(t, s)
	testkit.WaitFor(t, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.started
	}, testkit.Waiting("Run to start"))
	s.Load(target(1, "late", every), uptime.State{LastCheck: t0.Add(-15 * time.Second)})
	s.Load(target(2, "recent", every), uptime.State{LastCheck: t0.Add(-5 * time.Second)})
	recentSlot, _ := dueOf(s, 2)
	end := t0.Add(30 * time.Second)
	drive(t, s, clk, end)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	late := p.times(1)
	if len(late) < 3 || !late[0].Equal(t0) {
		t.Fatalf("the late target was checked at %v, want first at once (%s)", late, t0)
	}
	if gap := late[1].Sub(late[0]); gap < every*3/4 || gap >= every*7/4 {
		t.Errorf("after catching up, the next check came %s later, want ¾ of an interval or more, under 1¾", gap)
	}
	if gap := late[2].Sub(late[1]); gap != every {
		t.Errorf("then checks %s apart, want %s: back on the cadence", gap, every)
	}
	if got := p.times(2); len(got) == 0 || !got[0].Equal(recentSlot) {
		t.Errorf("the recently checked target was checked at %v, want first at its slot %s", got, recentSlot)
	}
	if got := p.times(3); len(got) == 0 || !got[0].Equal(startSlot) {
		t.Errorf("the target loaded at start-up was checked at %v, want first at its slot %s", got, startSlot)
	}
}
