package scheduler

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/lookout/lookout/internal/testkit"
	"github.com/lookout/lookout/internal/uptime"
)

// memFeed is an in-memory Source: every write takes the next version.
type memFeed struct {
	mu      sync.Mutex
	version int64
	targets map[int64]uptime.Snapshot
	at      map[int64]int64 // target id → version of its last change
	gone    map[int64]int64 // deleted id → version
	pruned  int64
}

func newMemFeed() *memFeed {
	return &memFeed{targets: map[int64]uptime.Snapshot{}, at: map[int64]int64{}, gone: map[int64]int64{}}
}

func (f *memFeed) put(t uptime.Target, st uptime.State) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.version++
	f.targets[t.ID] = uptime.Snapshot{Target: t, State: st}
	f.at[t.ID] = f.version
}

func (f *memFeed) remove(id int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.version++
	delete(f.targets, id)
	delete(f.at, id)
	f.gone[id] = f.version
}

func (f *memFeed) Changes(_ context.Context, since int64) ([]uptime.Snapshot, []int64, int64, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	reset := since > 0 && since < f.pruned
	if reset {
		since = 0
	}
	var changed []uptime.Snapshot
	for id, v := range f.at {
		if v > since {
			changed = append(changed, f.targets[id])
		}
	}
	var deleted []int64
	for id, v := range f.gone {
		if since > 0 && v > since {
			deleted = append(deleted, id)
		}
	}
	return changed, deleted, f.version, reset, nil
}

func TestSyncFollowsTheFeed(t *testing.T) {
	feed := newMemFeed()
	s, _, p, _ := fixture(Config{Source: feed})
	down := uptime.State{Status: uptime.StatusDown, ConsecutiveFailures: 3}
	feed.put(target(1, "api", 10*time.Second), down)
	feed.put(target(2, "web", 10*time.Second), uptime.State{})
	if err := s.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Taken over with the state the store had.
	if st, ok := s.State(1); !ok || st.Status != uptime.StatusDown || st.ConsecutiveFailures != 3 {
		t.Fatalf("api's state %+v (known %v), want the stored one", st, ok)
	}
	// A known target's edit keeps the state in memory, not the stored one.
	if _, err := s.CheckNow(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	edited := target(1, "api", time.Minute)
	feed.put(edited, uptime.State{})
	feed.remove(2)
	if err := s.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st, _ := s.State(1); st.ConsecutiveSuccesses != 1 || st.LastCheck.IsZero() {
		t.Errorf("api's state after an edit %+v, want the one in memory (one success)", st)
	}
	s.mu.Lock()
	every, webKnown := s.targets[1].tm.every, s.targets[2] != nil
	s.mu.Unlock()
	if every != time.Minute || webKnown {
		t.Errorf("after the feed: api every %s (want 1m), web known %v (want removed)", every, webKnown)
	}
	// A target registered a moment ago is found by CheckNow.
	feed.put(target(3, "new", 10*time.Second), uptime.State{})
	if _, err := s.CheckNow(context.Background(), 3); err != nil {
		t.Errorf("check now of a target not synced yet: %v", err)
	}
	if p.count(3) != 1 {
		t.Errorf("new checked %d times, want 1", p.count(3))
	}
	// Too far behind: everything again, and what was not handed goes.
	s.mu.Lock()
	s.targets[99] = &entry{index: -1, sem: make(chan struct{}, 1), t: target(99, "ghost", time.Minute)}
	s.mu.Unlock()
	feed.mu.Lock()
	feed.pruned = feed.version + 1
	feed.version += 2
	feed.mu.Unlock()
	if err := s.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s.knows(99) || !s.knows(1) || !s.knows(3) {
		t.Errorf("after a reset: ghost %v, api %v, new %v; want only api and new", s.knows(99), s.knows(1), s.knows(3))
	}
}

// TestRunFollowsTheFeed: with Run going, a target written to the feed is
// checked without anyone telling the scheduler, and a deleted one stops.
func TestRunFollowsTheFeed(t *testing.T) {
	feed := newMemFeed()
	p := newFakeProber()
	s := New(p, nopRecorder{}, Config{Source: feed, FollowEvery: 5 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Run(ctx) }()
	defer func() { cancel(); <-done }()
	feed.put(target(7, "api", time.Second), uptime.State{})
	testkit.WaitFor(t, func() bool { return p.count(7) > 0 }, testkit.Waiting("api to be checked"))
	feed.remove(7)
	testkit.WaitFor(t, func() bool { return !s.knows(7) }, testkit.Waiting("api to be forgotten"))
}
