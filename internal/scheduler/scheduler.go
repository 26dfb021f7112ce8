// Package scheduler decides when checks run and runs them: one timer queue
// (a min-heap of next-run times) read by one dispatcher goroutine, which
// hands due targets to a bounded pool of workers. A worker probes the target,
// applies the result to the target's state (uptime.State.Next) and hands the
// observation to a Recorder.
//
// Interval targets run at wall-clock times ≡ phase (mod interval), where the
// phase is FNV-1a of the target's name modulo its interval: many targets
// added at once spread over one interval, and a restart keeps the cadence.
// Targets with a cron schedule run at the schedule's times (no jitter); an
// "@every" schedule is run as an interval.
//
// The package knows nothing of HTTP or SQL: the prober and the recorder are
// the small interfaces below.
package scheduler

import (
	"container/heap"
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lookout/lookout/internal/uptime"
)

// Prober runs one check. Check must return within about t.Timeout, must not
// panic, and reports every failure in the Result (it has no error return).
// It is called concurrently for different targets, never twice at once for
// one target by this package.
type Prober interface {
	Check(ctx context.Context, t uptime.Target) uptime.Result
}

// Recorder takes each observation (the result, the state it led to and the
// events it caused) to be stored. Record may block briefly to push back when
// storage falls behind; it is called from worker goroutines, concurrently
// for different targets and in order for one target.
type Recorder interface {
	Record(obs uptime.Observation)
}

// DefaultWorkers is the worker pool size when Config.Workers is not set.
//
// Checks wait on the network, not the CPU, so the pool is sized by Little's
// law (concurrent checks = checks per second × seconds per check) and capped
// by sockets: 256 workers sustain 2,560 checks/s at 100 ms each, or 25/s
// even if every check hangs to a 10 s timeout, while staying well under the
// usual 1,024 open-file limit and costing ~2 MiB of goroutine stacks.
const DefaultWorkers = 256

// Config tunes a Scheduler. The zero value is usable.
type Config struct {
	// Workers bounds the number of checks run at once; 0 means DefaultWorkers.
	Workers int
	// Logger receives the scheduler's logs; nil discards them. Nothing is
	// logged per check above debug level.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now. Tests inject their own.
	Now func() time.Time
	// OnStart, when set, is called as each scheduled check starts with how
	// late it starts (start time minus its slot; never negative). It is how
	// start lateness is observed: cmd feeds a Prometheus histogram with it and
	// the bench tool computes percentiles. It is called from worker goroutines
	// concurrently and must be quick. Slots skipped because the scheduler fell
	// behind are not starts: they are counted in Stats.Missed instead. Checks
	// run by CheckNow have no slot and are not reported.
	OnStart func(late time.Duration)
	// WorkersSetting names how an operator raises Workers ("--workers"),
	// for the overload warning; empty means "Workers".
	WorkersSetting string
	// Source, when set, is the change feed Run follows and Sync reads:
	// targets come from it rather than from Upsert and Remove calls.
	Source Source
	// FollowEvery is how often Run reads Source; 0 means
	// DefaultFollowEvery.
	FollowEvery time.Duration
}

// Stats is a snapshot of the scheduler's health, for /metrics and readiness.
type Stats struct {
	// Targets is the number of targets known, paused ones included.
	Targets int
	// Queued is the number of targets due now and waiting for a worker.
	Queued int
	// InFlight is the number of checks running now, CheckNow's included.
	InFlight int
	// Lag is how late the most overdue due-but-not-started target is now,
	// 0 when none is waiting.
	Lag time.Duration
	// LastTurn is when the dispatcher loop last ran; it turns at least once
	// a second while Run runs, so a stale value means the loop is stuck.
	LastTurn time.Time
	// Workers is the size of the worker pool.
	Workers int
	// Checks counts checks run since start (scheduled and CheckNow).
	Checks uint64
	// Missed counts slots skipped because a target's check started more
	// than one interval late; each run of them is recorded as one unknown
	// result. It is MissedOverloaded plus MissedOverrun.
	Missed uint64
	// MissedOverloaded counts the slots skipped because the scheduler fell
	// behind: the target was free, but no worker started its check in time.
	MissedOverloaded uint64
	// MissedOverrun counts the slots skipped because the target's previous
	// check (scheduled or CheckNow) was still running when they came up: a
	// cron target whose timeout outlasts its period, say. More workers do
	// not help these.
	MissedOverrun uint64
	// Recent is the load over the last RecentWindow.
	Recent Recent
}

// Scheduler runs the checks of a set of targets on their schedules. Its
// methods are safe for concurrent use.
type Scheduler struct {
	prober   Prober
	recorder Recorder
	log      *slog.Logger
	clock    func() time.Time
	workers  int
	onStart  func(time.Duration)
	setting  string // how Workers is raised, for the overload warning

	src         Source
	followEvery time.Duration
	syncMu      sync.Mutex // serialises Sync
	version     int64      // of the change feed, guarded by syncMu

	mu       sync.Mutex
	targets  map[int64]*entry
	byName   map[string]*entry // the same entries by target name, for causes
	queue    queue
	started  bool  // Run was called
	stopping bool  // Run's context is done: no check starts any more
	runStart int64 // when Run started, Unix ns
	recent   recent

	pending  atomic.Pointer[entry] // popped by the dispatcher, not yet taken by a worker
	wake     chan struct{}         // an earlier entry was queued: the dispatcher re-reads the heap
	checkNow sync.WaitGroup        // CheckNow calls Run waits for

	inFlight atomic.Int64
	checks   atomic.Uint64
	// Slots skipped, by reason: two counters rather than a total and a
	// share, so that each only ever grows.
	overloaded atomic.Uint64
	overrun    atomic.Uint64
	lastTurn   atomic.Int64
	lastWarn   atomic.Int64
}

// entry is one target in the scheduler. Its fields are guarded by
// Scheduler.mu, but for sem.
type entry struct {
	t     uptime.Target
	tm    timing
	tmErr error // why the target cannot be scheduled (a bad schedule)
	st    uptime.State
	due   int64 // the slot of the next scheduled check, Unix ns
	index int   // position in the queue, -1 when not queued

	// running is set while a scheduled check holds the entry, from the
	// dispatcher's pop to the end of the check: the entry is then out of the
	// queue, so a slot that comes up meanwhile cannot start a second check.
	running bool
	// retime asks for a fresh slot after the running check: the target's
	// interval or schedule changed meanwhile.
	retime  bool
	removed bool
	// busyUntil is when the target's last check (scheduled or CheckNow)
	// ended, Unix ns: slots that came up before it were skipped for the
	// check's overrun, not for the scheduler's lateness.
	busyUntil int64
	// sem serialises the target's checks: the scheduled one and CheckNow.
	sem chan struct{}
	// lastDuration is how long the last check applied to st took.
	lastDuration time.Duration
	// epoch is the lease epoch the target was handed under, stamped on
	// its observations (uptime.Observation.Epoch).
	epoch int64
	// catchUp marks a check run at once because the target was taken
	// over late: the check after it goes back to the target's cadence.
	catchUp bool
}

// New returns a scheduler with no targets. It checks nothing until Run.
func New(p Prober, r Recorder, cfg Config) *Scheduler {
	s := &Scheduler{
		prober:   p,
		recorder: r,
		log:      cfg.Logger,
		clock:    cfg.Now,
		workers:  cfg.Workers,
		onStart:  cfg.OnStart,
		setting:  cfg.WorkersSetting,
		targets:  make(map[int64]*entry),
		byName:   make(map[string]*entry),
		wake:     make(chan struct{}, 1),
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if s.clock == nil {
		s.clock = time.Now
	}
	if s.workers <= 0 {
		s.workers = DefaultWorkers
	}
	s.src, s.followEvery = cfg.Source, cfg.FollowEvery
	if s.followEvery <= 0 {
		s.followEvery = DefaultFollowEvery
	}
	if s.setting == "" {
		s.setting = "Workers"
	}
	return s
}

// Load adds a target with the state persisted for it, at start-up, before or
// after Run. A target already known is replaced as by Upsert and its state
// overwritten.
//
// An interval target loaded while Run runs whose last check is more than
// an interval old (it was taken over from an instance that stopped) is
// checked at once, and from then on at its usual slots, the first at
// least three quarters of an interval later: its checks stay less than
// two intervals apart across the takeover, as long as it comes within an
// interval of the previous holder's last check.
func (s *Scheduler) Load(t uptime.Target, st uptime.State) { s.put(t, &st, 0) }

// Upsert adds a target or replaces its definition, with effect at once.
// A known target keeps its in-memory state, and keeps its next slot when its
// interval or schedule is unchanged; otherwise it takes the next slot of its
// new timing. A paused target is taken out of the queue but stays known
// (State, CheckNow). A target whose schedule does not parse (it should have
// been refused by ValidateSchedule) is kept but not scheduled, and logged.
// A change made while the target's check runs applies after that check.
func (s *Scheduler) Upsert(t uptime.Target) { s.put(t, nil, 0) }

// put adds or replaces t; with st, its state is overwritten and its
// epoch set (Load), else both are kept (Upsert).
func (s *Scheduler) put(t uptime.Target, st *uptime.State, epoch int64) {
	tm, err := timingFor(&t)
	if err != nil {
		s.log.Warn("target not scheduled", "target", t.Name, "err", err)
	}
	now := s.nowNs()

	s.mu.Lock()
	defer s.mu.Unlock()
	e, known := s.targets[t.ID]
	if !known {
		e = &entry{index: -1, sem: make(chan struct{}, 1)}
		s.targets[t.ID] = e
	}
	same := known && err == nil && e.tmErr == nil &&
		tm.every == e.tm.every && t.Schedule == e.t.Schedule
	if known && e.t.Name != t.Name && s.byName[e.t.Name] == e {
		delete(s.byName, e.t.Name)
	}
	s.byName[t.Name] = e
	e.t, e.tm, e.tmErr = t, tm, err
	late := false
	if st != nil {
		e.st, e.epoch = *st, epoch
		last := st.LastCheck.UnixNano()
		late = s.started && !st.LastCheck.IsZero() && tm.every > 0 && now-last > int64(tm.every)
	}
	switch {
	case e.running:
		// The check's end queues the next slot, or not if now paused.
		e.retime = e.retime || !same
	case t.Paused || err != nil:
		s.dequeue(e)
	case late:
		// Taken over late: check now, then back to the cadence.
		s.dequeue(e)
		e.catchUp = true
		s.enqueue(e, now)
	case same && e.index >= 0:
		// Unchanged timing: keep the slot, and so the phase.
	default:
		s.dequeue(e)
		s.enqueue(e, tm.first(now))
	}
}

// Remove forgets a target; an unknown id is ignored. A check of it already
// running finishes; its result is dropped (not recorded) unless it was
// being recorded already when Remove was called. The target is never
// queued again.
func (s *Scheduler) Remove(id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.targets[id]
	if !ok {
		return
	}
	e.removed = true
	s.dequeue(e)
	delete(s.targets, id)
	if s.byName[e.t.Name] == e {
		delete(s.byName, e.t.Name)
	}
}

// State returns a target's current state, and false when it is unknown.
func (s *Scheduler) State(id int64) (uptime.State, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.targets[id]
	if !ok {
		return uptime.State{}, false
	}
	return e.st, true
}

// TargetStatus is one target as the scheduler knows it, for per-target
// metrics.
type TargetStatus struct {
	Name, Kind string
	Paused     bool
	// Status is the judged status, LastCheck when the last check started
	// (zero before the first) and LastDuration how long it took.
	Status       uptime.Status
	LastCheck    time.Time
	LastDuration time.Duration
}

// Targets returns every target the scheduler knows (with PostgreSQL, those
// of the shards this instance leases) in no particular order. It copies
// them under the scheduler's lock: about a millisecond per 10,000 targets.
func (s *Scheduler) Targets() []TargetStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]TargetStatus, 0, len(s.targets))
	for _, e := range s.targets {
		out = append(out, TargetStatus{Name: e.t.Name, Kind: e.t.Kind, Paused: e.t.Paused,
			Status: e.st.Status, LastCheck: e.st.LastCheck, LastDuration: e.lastDuration})
	}
	return out
}

// Stats returns a snapshot of the scheduler's counters. It is cheap: the
// cost grows with the number of due entries, not with the number of targets.
func (s *Scheduler) Stats() Stats {
	now := s.nowNs()
	s.mu.Lock()
	st := Stats{
		Targets: len(s.targets),
		Queued:  s.queue.countDue(now),
		Workers: s.workers,
		Recent:  s.recent.sum(now, s.runStart),
	}
	oldest := int64(0)
	if len(s.queue) > 0 && s.queue[0].due <= now {
		oldest = s.queue[0].due
	}
	if p := s.pending.Load(); p != nil {
		st.Queued++
		if oldest == 0 || p.due < oldest {
			oldest = p.due
		}
	}
	s.mu.Unlock()
	if oldest != 0 {
		st.Lag = time.Duration(now - oldest)
	}
	st.InFlight = int(s.inFlight.Load())
	st.Checks = s.checks.Load()
	st.MissedOverloaded = s.overloaded.Load()
	st.MissedOverrun = s.overrun.Load()
	st.Missed = st.MissedOverloaded + st.MissedOverrun
	if lt := s.lastTurn.Load(); lt != 0 {
		st.LastTurn = time.Unix(0, lt)
	}
	return st
}

// enqueue puts e in the queue at due (0 means never: not queued) and wakes
// the dispatcher when e became the earliest entry. s.mu is held.
func (s *Scheduler) enqueue(e *entry, due int64) {
	if due == 0 {
		s.log.Warn("target not scheduled: its schedule has no next run", "target", e.t.Name)
		return
	}
	e.due = due
	heap.Push(&s.queue, e)
	if e.index == 0 {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

// dequeue takes e out of the queue if it is in. s.mu is held.
func (s *Scheduler) dequeue(e *entry) {
	if e.index >= 0 {
		heap.Remove(&s.queue, e.index)
	}
}

// missedTotal is the number of slots skipped for any reason.
func (s *Scheduler) missedTotal() uint64 { return s.overloaded.Load() + s.overrun.Load() }

func (s *Scheduler) nowNs() int64 { return s.clock().UnixNano() }

// errStopping is wrapped by CheckNow once Run's context is done.
var errStopping = fmt.Errorf("scheduler stopping: %w", uptime.ErrUnavailable)
