package main

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/lookout/lookout/internal/scheduler"
	"github.com/lookout/lookout/internal/store"
	"github.com/lookout/lookout/internal/testkit"
	"github.com/lookout/lookout/internal/uptime"
)

// countingProber counts each target's checks.
type countingProber struct {
	mu     sync.Mutex
	checks map[string]int
}

func (p *countingProber) Check(_ context.Context, t uptime.Target) uptime.Result {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.checks[t.Name]++
	return uptime.Result{Status: uptime.StatusUp, Duration: time.Millisecond}
}

func (p *countingProber) count(name string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.checks[name]
}

// TestChangesMadeElsewhereTakeEffect: a target registered and deleted
// through another connection to the database (another Lookout,
// or any path that writes the store) is picked up by a running scheduler
// without a restart, and one that existed before starts from its stored
// state.
func TestChangesMadeElsewhereTakeEffect(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "lookout.db")
	open := func() *store.DB {
		db, err := store.Open(ctx, path, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		if err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		return db
	}
	mine, other := open(), open()
	before := &uptime.Target{Name: "before", URL: "http://before.test/", Interval: uptime.Duration(time.Second)}
	before.Normalize()
	if err := other.CreateTarget(ctx, before); err != nil {
		t.Fatal(err)
	}
	other.Record(uptime.Observation{Result: uptime.Result{TargetID: before.ID, StartedAt: time.Now().Add(-time.Second), Status: uptime.StatusDown},
		State: uptime.State{Status: uptime.StatusDown, ConsecutiveFailures: 7}})
	if err := other.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	p := &countingProber{checks: map[string]int{}}
	sched := scheduler.New(p, mine, scheduler.Config{Source: mine})
	if err := sched.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if st, ok := sched.State(before.ID); !ok || st.ConsecutiveFailures != 7 {
		t.Fatalf("a target taken over starts from %+v (known %v), want its stored state", st, ok)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- sched.Run(runCtx) }()
	defer func() { stop(); <-done }()

	added := &uptime.Target{Name: "added", URL: "http://added.test/", Interval: uptime.Duration(time.Second)}
	added.Normalize()
	if err := other.CreateTarget(ctx, added); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, func() bool { return p.count("added") > 0 }, testkit.Waiting("a target added elsewhere to be checked"))

	if err := other.DeleteTarget(ctx, "before"); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, func() bool {
		_, known := sched.State(before.ID)
		return !known
	}, testkit.Waiting("a target deleted elsewhere to be forgotten"))
}
