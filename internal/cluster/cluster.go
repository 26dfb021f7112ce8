// Package cluster lets several Lookout instances share the targets of one
// database. The targets are divided into uptime.Shards shards (a target's
// is its id modulo the count), and each shard is leased to one instance at
// a time through the store, by the database's clock. A Member runs its
// instance's lease loop: every heartbeat it renews what it holds, claims
// its fair share of what nobody holds or what a dead instance let run
// out, and gives up what it holds beyond its share when others join,
// after it stopped checking those targets. It stands between the store's
// change feed and the scheduler (Member.Changes), so that the scheduler
// sees only the targets of the shards held, each with the epoch of its
// shard's lease, which the store checks before it writes a state or an
// alert (fencing).
package cluster

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lookout/lookout/internal/uptime"
)

// Store is what a Member needs of the store.
type Store interface {
	// Lease runs one turn of the lease loop: heartbeat, renewal, claims.
	Lease(ctx context.Context, req uptime.LeaseRequest) (uptime.Leases, error)
	// ReleaseLeases gives up the shards listed.
	ReleaseLeases(ctx context.Context, shards []int) error
	// Leave gives up every shard and leaves the cluster.
	Leave(ctx context.Context) error
	// Flush waits until every observation recorded so far is written.
	Flush(ctx context.Context) error
	// Changes is the change feed of every target (scheduler.Source).
	Changes(ctx context.Context, since int64) (changed []uptime.Snapshot, deleted []int64, next int64, reset bool, err error)
}

// Defaults for Config.
const (
	DefaultHeartbeat = 250 * time.Millisecond
	DefaultTTL       = time.Second
)

// Config tunes a Member.
type Config struct {
	// TTL is how long a lease lasts unrenewed: an instance that stops is
	// replaced about TTL plus a heartbeat after its last turn.
	TTL time.Duration
	// Heartbeat is how often the lease loop turns; TTL should be several
	// heartbeats, so that a turn or two missed (a pause, a slow database)
	// loses nothing.
	Heartbeat time.Duration
	// Address and Version describe the instance in the cluster view.
	Address, Version string
	// Logger receives the loop's logs; nil discards them.
	Logger *slog.Logger
	// Now is the clock of the readiness figures; nil is time.Now. The
	// leases themselves run on the database's clock.
	Now func() time.Time
}

// Member is one instance's part in the cluster. Its methods are safe for
// concurrent use.
type Member struct {
	store Store
	cfg   Config
	log   *slog.Logger

	mu sync.Mutex
	// held maps each shard held to its epoch; leaving are those of them
	// given up: no longer handed to the scheduler, to be released.
	held    map[int]int64
	leaving map[int]bool
	// gen counts the changes of the shards handed to the scheduler;
	// served is the gen Changes last handed targets under.
	gen, served uint64
	live, share int
	started     time.Time
	renewed     time.Time // the last turn that succeeded
	lastErr     error
	claimFrom   time.Time // claims of expired leases wait until then after a lapse

	changes atomic.Uint64
}

// New returns a member holding nothing until its first turn.
func New(st Store, cfg Config) *Member {
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = DefaultHeartbeat
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	m := &Member{store: st, cfg: cfg, log: cfg.Logger, held: map[int]int64{}, leaving: map[int]bool{}}
	if m.log == nil {
		m.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	m.started = cfg.Now()
	return m
}

// Changes is the store's change feed restricted to the targets of the
// shards this member holds (and has not given up), each handed with its
// shard's epoch: the scheduler's Source. When the shards held changed
// since the last call it hands every such target again, with reset set,
// so that the scheduler takes over the targets of the shards gained (from
// their state stored by then) and forgets those of the shards lost.
func (m *Member) Changes(ctx context.Context, since int64) ([]uptime.Snapshot, []int64, int64, bool, error) {
	m.mu.Lock()
	shards := m.scheduledLocked()
	gen := m.gen
	reset := gen != m.served
	m.mu.Unlock()
	if reset {
		since = 0
	}
	changed, deleted, next, r, err := m.store.Changes(ctx, since)
	if err != nil {
		return nil, nil, since, false, err
	}
	kept := changed[:0]
	for _, sn := range changed {
		if epoch, ok := shards[uptime.ShardOf(sn.Target.ID)]; ok {
			sn.Epoch = epoch
			kept = append(kept, sn)
		}
	}
	m.mu.Lock()
	m.served = gen
	m.mu.Unlock()
	return kept, deleted, next, reset || r, nil
}

// scheduledLocked is the shards whose targets the scheduler is handed:
// those held and not given up. m.mu is held.
func (m *Member) scheduledLocked() map[int]int64 {
	out := make(map[int]int64, len(m.held))
	for s, e := range m.held {
		if !m.leaving[s] {
			out[s] = e
		}
	}
	return out
}

// Owns reports whether this member checks the target: it holds the
// target's shard and has not given it up.
func (m *Member) Owns(targetID int64) bool {
	s := uptime.ShardOf(targetID)
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.held[s]
	return ok && !m.leaving[s]
}

// Turn runs one turn of the lease loop: it renews and claims through the
// store, and when what it holds changed, calls resync so that the
// scheduler follows at once. When it holds more than its share (others
// joined), it gives the excess up: it stops handing those shards'
// targets to the scheduler, calls resync, flushes the results already
// recorded, and only then releases them. A nil resync (before the
// scheduler runs) leaves that for a later turn. It returns the store's
// error, or resync's.
func (m *Member) Turn(ctx context.Context, resync func(context.Context) error) error {
	now := m.cfg.Now()
	m.mu.Lock()
	claim := !now.Before(m.claimFrom)
	m.mu.Unlock()
	lctx, cancel := context.WithTimeout(ctx, m.cfg.TTL)
	l, err := m.store.Lease(lctx, uptime.LeaseRequest{TTL: m.cfg.TTL, ClaimExpired: claim,
		Address: m.cfg.Address, Version: m.cfg.Version})
	cancel()
	if err != nil {
		m.mu.Lock()
		m.lastErr = err
		m.mu.Unlock()
		return err
	}
	changed := m.apply(now, l)
	if changed && resync != nil {
		if err := resync(ctx); err != nil {
			return err
		}
	}
	if resync == nil {
		return nil
	}
	return m.makeRoom(ctx, resync)
}

// apply records a turn's outcome and reports whether the shards handed
// to the scheduler changed.
func (m *Member) apply(now time.Time, l uptime.Leases) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if l.Rejoined {
		m.claimFrom = now.Add(m.cfg.TTL)
		m.log.Info("back in touch with the database after a lapse: renewing the leases still held, claiming others' only after a lease's time",
			"held", len(l.Held), "wait", m.cfg.TTL)
	}
	before := m.scheduledLocked()
	var gained, lost int
	for s, e := range l.Held {
		if old, ok := m.held[s]; !ok || old != e {
			gained++
		}
	}
	for s := range m.held {
		if _, ok := l.Held[s]; !ok {
			lost++
			delete(m.leaving, s)
		}
	}
	m.held = l.Held
	m.live, m.share = l.Live, l.Share
	m.renewed, m.lastErr = now, nil
	if gained+lost > 0 {
		m.changes.Add(uint64(gained + lost))
		m.log.Info("shard leases changed", "gained", gained, "lost", lost, "held", len(l.Held),
			"instances", l.Live, "share", l.Share)
	}
	if maps.Equal(before, m.scheduledLocked()) {
		return false
	}
	m.gen++
	return true
}

// makeRoom gives up the shards held beyond the share, the highest first,
// and releases those given up once their targets are no longer checked
// and their results are written.
func (m *Member) makeRoom(ctx context.Context, resync func(context.Context) error) error {
	m.mu.Lock()
	kept := slices.Sorted(maps.Keys(m.scheduledLocked()))
	if excess := len(kept) - m.share; excess > 0 && m.share > 0 {
		for _, s := range kept[len(kept)-excess:] {
			m.leaving[s] = true
		}
		m.gen++
	}
	leaving := slices.Sorted(maps.Keys(m.leaving))
	m.mu.Unlock()
	if len(leaving) == 0 {
		return nil
	}
	if err := resync(ctx); err != nil {
		return err
	}
	fctx, cancel := context.WithTimeout(ctx, m.cfg.TTL)
	err := m.store.Flush(fctx)
	cancel()
	if err != nil {
		return fmt.Errorf("flush results before releasing %d shards: %w", len(leaving), err)
	}
	rctx, cancel := context.WithTimeout(ctx, m.cfg.TTL)
	err = m.store.ReleaseLeases(rctx, leaving)
	cancel()
	if err != nil {
		return err
	}
	m.mu.Lock()
	for _, s := range leaving {
		delete(m.held, s)
		delete(m.leaving, s)
	}
	m.mu.Unlock()
	m.changes.Add(uint64(len(leaving)))
	m.log.Info("shards released for instances that joined", "released", len(leaving))
	return nil
}

// Run turns the lease loop every heartbeat until ctx is done, calling
// resync when the shards held change. A failing turn is logged when the
// failures start and when they end; meanwhile the targets held go on
// being checked.
func (m *Member) Run(ctx context.Context, resync func(context.Context) error) {
	t := time.NewTicker(m.cfg.Heartbeat)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := m.Turn(ctx, resync)
		switch {
		case err != nil && ctx.Err() != nil:
			return
		case err != nil && !failing:
			failing = true
			m.log.Error("cannot renew shard leases; checking the targets held meanwhile", "err", err)
		case err == nil && failing:
			failing = false
			m.log.Info("shard leases renewed again")
		}
	}
}

// Leave releases every shard and takes the instance out of the cluster,
// so that the others share its targets at their next turn instead of
// after its leases run out. Call it after Run returned, once the
// scheduler stopped and the results are flushed.
func (m *Member) Leave(ctx context.Context) error {
	if err := m.store.Leave(ctx); err != nil {
		return err
	}
	m.mu.Lock()
	n := len(m.held)
	m.held, m.leaving = map[int]int64{}, map[int]bool{}
	m.gen++
	m.mu.Unlock()
	m.changes.Add(uint64(n))
	return nil
}

// Status is a member's state for readiness and metrics.
type Status struct {
	// Held counts the shards held, Leaving those of them given up and
	// not yet released.
	Held, Leaving int
	// Live counts the instances alive at the last turn, this one
	// included; Share is the shards each should hold.
	Live, Share int
	// Started is when the member was made; Renewed when a turn last
	// succeeded (zero before the first).
	Started, Renewed time.Time
	// Err is the last turn's error, nil once a turn succeeds.
	Err error
	// Changes counts shards gained, lost and released so far.
	Changes uint64
	// TTL is the leases' time to live.
	TTL time.Duration
}

// Status returns the member's state now.
func (m *Member) Status() Status {
	m.mu.Lock()
	defer m.mu.Unlock()
	return Status{Held: len(m.held), Leaving: len(m.leaving), Live: m.live, Share: m.share,
		Started: m.started, Renewed: m.renewed, Err: m.lastErr, Changes: m.changes.Load(), TTL: m.cfg.TTL}
}
