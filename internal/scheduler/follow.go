package scheduler

import (
	"context"
	"fmt"
	"time"

	"github.com/lookout/lookout/internal/uptime"
)

// Source is where the scheduler learns of targets: the store's change
// feed. Registration writes the store and nothing else; each scheduler
// follows the feed, so a change made through any path, on any instance,
// reaches it the same way.
type Source interface {
	// Changes returns the targets created or changed after version since
	// (all of them for 0), each with its stored state; the ids of those
	// deleted; and the version this brings the caller to. With reset set
	// the caller fell too far behind and must forget the targets not
	// handed.
	Changes(ctx context.Context, since int64) (changed []uptime.Snapshot, deleted []int64, next int64, reset bool, err error)
}

// DefaultFollowEvery is how often Run reads the change feed: a change
// takes effect within about that long.
const DefaultFollowEvery = 500 * time.Millisecond

// Sync reads the change feed once and applies it: a target new to the
// scheduler is loaded with its stored state (it is taken over), a known
// one is updated keeping its state in memory, a deleted one is removed.
// A known target handed under another lease epoch (its shard changed
// hands meanwhile) is taken over again, from its stored state.
// Calls are serialised. It returns the source's error, and does nothing
// without a source.
func (s *Scheduler) Sync(ctx context.Context) error {
	if s.src == nil {
		return nil
	}
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	changed, deleted, next, reset, err := s.src.Changes(ctx, s.version)
	if err != nil {
		return fmt.Errorf("follow target changes: %w", err)
	}
	if reset {
		keep := make(map[int64]bool, len(changed))
		for _, sn := range changed {
			keep[sn.Target.ID] = true
		}
		s.mu.Lock()
		var gone []int64
		for id := range s.targets {
			if !keep[id] {
				gone = append(gone, id)
			}
		}
		s.mu.Unlock()
		deleted = append(deleted, gone...)
	}
	for _, sn := range changed {
		if epoch, known := s.epochOf(sn.Target.ID); known && epoch == sn.Epoch {
			s.Upsert(sn.Target)
		} else {
			s.put(sn.Target, &sn.State, sn.Epoch)
		}
	}
	for _, id := range deleted {
		s.Remove(id)
	}
	s.version = next
	return nil
}

func (s *Scheduler) knows(id int64) bool {
	_, ok := s.epochOf(id)
	return ok
}

// epochOf returns the lease epoch a known target was handed under.
func (s *Scheduler) epochOf(id int64) (int64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.targets[id]
	if !ok {
		return 0, false
	}
	return e.epoch, true
}

// follow reads the change feed every followEvery until ctx is done. A
// failing read is logged when it starts failing and when it recovers, not
// every time.
func (s *Scheduler) follow(ctx context.Context) {
	t := time.NewTicker(s.followEvery)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := s.Sync(ctx)
		switch {
		case err != nil && ctx.Err() != nil:
			return
		case err != nil && !failing:
			failing = true
			s.log.Error("cannot follow target changes; checking the targets known", "err", err)
		case err == nil && failing:
			failing = false
			s.log.Info("following target changes again")
		}
	}
}
