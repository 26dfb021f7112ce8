package scheduler

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/lookout/lookout/internal/uptime"
)

// maxSleep bounds the dispatcher's sleep so that Stats.LastTurn stays fresh
// for the liveness probe even when nothing is due.
const maxSleep = time.Second

// warnEvery rate-limits the overload warning.
const warnEvery = time.Minute

// Run dispatches checks until ctx is done. Then it starts no new check,
// waits for the checks in flight (scheduled and CheckNow) to finish and be
// handed to the Recorder, and returns nil. Checks are not cancelled with
// ctx: each is bounded by its target's timeout. Run may be called once; a
// second call returns an error at once.
func (s *Scheduler) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.started {
		s.mu.Unlock()
		return errors.New("scheduler: run called twice")
	}
	s.started = true
	s.runStart = s.nowNs()
	n := len(s.targets)
	s.mu.Unlock()
	s.log.Info("scheduler started", "workers", s.workers, "targets", n)

	jobs := make(chan *entry)
	probeCtx := context.WithoutCancel(ctx)
	var wg sync.WaitGroup
	if s.src != nil {
		wg.Go(func() { s.follow(ctx) })
	}
	for range s.workers {
		wg.Go(func() {
			for e := range jobs {
				s.runScheduled(ctx, probeCtx, e)
			}
		})
	}
	s.dispatch(ctx, jobs)

	s.mu.Lock()
	s.stopping = true
	s.mu.Unlock()
	close(jobs)
	wg.Wait()
	s.checkNow.Wait()
	s.log.Info("scheduler stopped", "checks", s.checks.Load(), "missed", s.missedTotal())
	return nil
}

// dispatch is the dispatcher loop: it sleeps until the earliest slot (or a
// wake-up because an earlier one was queued), pops due entries and hands
// them to the workers, one at a time, until ctx is done.
func (s *Scheduler) dispatch(ctx context.Context, jobs chan<- *entry) {
	timer := time.NewTimer(maxSleep)
	defer timer.Stop()
	for {
		now := s.nowNs()
		s.lastTurn.Store(now)
		if ctx.Err() != nil {
			return
		}
		e, wait := s.popDue(now)
		if e != nil {
			if !s.hand(ctx, jobs, e, timer) {
				return
			}
			continue
		}
		// Since Go 1.23, Reset discards any value a fired timer left unread.
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		case <-timer.C:
		}
	}
}

// popDue takes the earliest entry off the queue if it is due at now, marking
// it running. Otherwise it returns how long to sleep.
func (s *Scheduler) popDue(now int64) (*entry, time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.queue) == 0 {
		return nil, maxSleep
	}
	if d := time.Duration(s.queue[0].due - now); d > 0 {
		return nil, min(d, maxSleep)
	}
	e := heap.Pop(&s.queue).(*entry)
	e.running = true
	return e, 0
}

// hand gives e to a worker, waiting for one to be free. It reports false when
// ctx was done first; e is then put back.
func (s *Scheduler) hand(ctx context.Context, jobs chan<- *entry, e *entry, timer *time.Timer) bool {
	s.pending.Store(e)
	defer s.pending.Store(nil)
	select {
	case jobs <- e: // a worker was waiting: the usual case
		return true
	default:
	}
	timer.Reset(maxSleep)
	for {
		select {
		case jobs <- e:
			return true
		case <-ctx.Done():
			s.mu.Lock()
			s.release(e, e.due)
			s.mu.Unlock()
			return false
		case <-timer.C:
			// Every worker is busy: the loop still turns.
			s.lastTurn.Store(s.nowNs())
			timer.Reset(maxSleep)
		}
	}
}

// release ends a scheduled check's hold on e and queues its next slot, unless
// the target was removed or paused meanwhile. s.mu is held.
func (s *Scheduler) release(e *entry, next int64) {
	e.running = false
	if e.removed || e.t.Paused || e.tmErr != nil || e.index >= 0 {
		e.retime, e.catchUp = false, false
		return
	}
	switch {
	case e.retime:
		next = e.tm.first(s.nowNs())
	case e.catchUp:
		// Back to the cadence, three quarters of an interval on at
		// least: never twice in one interval, nor two apart.
		next = e.tm.first(s.nowNs() + int64(e.tm.every)*3/4)
	}
	e.retime, e.catchUp = false, false
	s.enqueue(e, next)
}

// runScheduled runs the scheduled check of e, which the dispatcher popped.
// runCtx is Run's context: once it is done the check is not started. The
// probe itself runs under probeCtx, which is not cancelled on shutdown.
func (s *Scheduler) runScheduled(runCtx, probeCtx context.Context, e *entry) {
	// Wait for a CheckNow of the same target; scheduled checks cannot
	// overlap as the entry is out of the queue while one runs.
	select {
	case e.sem <- struct{}{}:
	case <-runCtx.Done():
		s.mu.Lock()
		s.release(e, e.due)
		s.mu.Unlock()
		return
	}
	defer func() { <-e.sem }()

	start := s.clock()
	startNs := start.UnixNano()
	s.mu.Lock()
	if runCtx.Err() != nil || e.removed || e.t.Paused || e.tmErr != nil {
		s.release(e, e.due)
		s.mu.Unlock()
		return
	}
	t, due := e.t, e.due
	next := e.tm.after(due)
	var missed, overrun uint64
	if next != 0 && next <= startNs {
		missed, next = e.tm.skip(due, startNs)
		overrun = e.tm.overrun(due, e.busyUntil, missed)
	}
	sec := s.recent.at(startNs)
	sec.slots += max(missed, 1)
	sec.overloaded += missed - overrun
	sec.overrun += overrun
	s.mu.Unlock()

	var res uptime.Result
	if missed > 0 {
		// The check starts more than one slot late: skip to the next slot
		// after now rather than pile up, and record the gap as unknown, not
		// as the target's failure.
		s.overloaded.Add(missed - overrun)
		s.overrun.Add(overrun)
		why := "scheduler overloaded"
		if overrun == missed {
			why = "the previous check was still running"
		}
		res = uptime.Result{
			TargetID:   t.ID,
			Target:     t.Name,
			StartedAt:  start,
			Status:     uptime.StatusUnknown,
			ErrorClass: uptime.ClassInternal,
			Error:      fmt.Sprintf("missed %d checks: %s", missed, why),
		}
		if overrun < missed {
			s.warnOverload(startNs, time.Duration(startNs-due))
		}
	} else {
		if s.onStart != nil {
			s.onStart(time.Duration(max(startNs-due, 0)))
		}
		res = s.probe(probeCtx, t, start)
	}
	end := s.observe(probeCtx, e, res).UnixNano()

	s.mu.Lock()
	if missed == 0 {
		sec := s.recent.at(end)
		sec.checks++
		sec.busy += end - startNs
	}
	e.busyUntil = end
	s.release(e, next)
	s.mu.Unlock()
}

// CheckNow runs one check of the target at once, through the same path as
// scheduled checks: its state is updated and the observation recorded. A
// target the scheduler does not know yet is looked for in the change feed
// first. It
// waits for a check of the target already running (and a scheduled check
// waits for it); a paused target can be checked too. Once the check started
// it runs to the end even if ctx is cancelled, so its result is never a
// false failure. Errors: uptime.ErrNotFound for an unknown target (or one
// removed meanwhile), uptime.ErrUnavailable once Run's context is done, and
// ctx's error if ctx is done while waiting.
func (s *Scheduler) CheckNow(ctx context.Context, id int64) (uptime.Result, error) {
	if !s.knows(id) && s.src != nil {
		// Registered a moment ago, before the feed was read: read it now.
		if err := s.Sync(ctx); err != nil {
			return uptime.Result{}, fmt.Errorf("check target %d: %w", id, err)
		}
	}
	s.mu.Lock()
	e, ok := s.targets[id]
	switch {
	case !ok:
		s.mu.Unlock()
		return uptime.Result{}, fmt.Errorf("check target %d: %w", id, uptime.ErrNotFound)
	case s.stopping:
		s.mu.Unlock()
		return uptime.Result{}, fmt.Errorf("check target %d: %w", id, errStopping)
	}
	s.checkNow.Add(1)
	s.mu.Unlock()
	defer s.checkNow.Done()

	select {
	case e.sem <- struct{}{}:
	case <-ctx.Done():
		return uptime.Result{}, fmt.Errorf("check target %d: %w", id, ctx.Err())
	}
	defer func() { <-e.sem }()

	s.mu.Lock()
	t, removed, stopping := e.t, e.removed, s.stopping
	s.mu.Unlock()
	switch {
	case removed:
		return uptime.Result{}, fmt.Errorf("check target %d: %w", id, uptime.ErrNotFound)
	case stopping:
		return uptime.Result{}, fmt.Errorf("check target %d: %w", id, errStopping)
	}
	probeCtx := context.WithoutCancel(ctx)
	res := s.probe(probeCtx, t, s.clock())
	end := s.observe(probeCtx, e, res).UnixNano()
	// A scheduled check waiting for this one must not take the slots it
	// skips meanwhile for the scheduler's lateness.
	s.mu.Lock()
	e.busyUntil = max(e.busyUntil, end)
	s.mu.Unlock()
	return res, nil
}

// Probe runs one check of t at once and returns its result, touching
// neither the target's state nor its schedule, nor recording anything: a
// "check now" of a target another instance holds. Like CheckNow, once
// started it runs to the end even if ctx is cancelled.
func (s *Scheduler) Probe(ctx context.Context, t uptime.Target) uptime.Result {
	return s.probe(context.WithoutCancel(ctx), t, s.clock())
}

// probe calls the prober and fills in what the result must carry. A prober
// that panics despite its contract gives an unknown result: the failure is
// Lookout's, not the target's.
func (s *Scheduler) probe(ctx context.Context, t uptime.Target, start time.Time) (res uptime.Result) {
	s.inFlight.Add(1)
	defer func() {
		s.inFlight.Add(-1)
		s.checks.Add(1)
		if r := recover(); r != nil {
			s.log.Error("prober panicked", "target", t.Name, "panic", fmt.Sprint(r))
			res = uptime.Result{Status: uptime.StatusUnknown, ErrorClass: uptime.ClassInternal, Error: "internal error: the check panicked"}
		}
		res.TargetID = t.ID
		if res.Target == "" {
			res.Target = t.Name
		}
		if res.StartedAt.IsZero() {
			res.StartedAt = start
		}
	}()
	return s.prober.Check(ctx, t)
}

// observe applies res to e's state and records the observation. The caller
// holds e.sem, so the state and the records of one target stay in order.
// The result of a target removed meanwhile is dropped. It returns the time
// it applied res at, which ends the check.
func (s *Scheduler) observe(ctx context.Context, e *entry, res uptime.Result) time.Time {
	now := s.clock()
	s.mu.Lock()
	if e.removed {
		s.mu.Unlock()
		s.log.Debug("result dropped: target removed", "target", res.Target)
		return now
	}
	st, events := e.st.Next(res, e.t.Policy(), now)
	for i := range events {
		// The state machine knows results, not targets: add who this is,
		// where its alerts go and what its outage is attributed to.
		ev := &events[i]
		ev.TargetID, ev.Target = e.t.ID, e.t.Name
		ev.Labels, ev.Channels = e.t.Labels, e.t.Channels
		if ev.Type == uptime.EventIncidentOpened {
			// Provisional: the dispatcher decides again when the message
			// goes out, after group_wait, from the store.
			ev.Cause = uptime.Attribute(&e.t, ev.Components, s.peer).Cause
			st.Cause = ev.Cause
		}
	}
	e.st, e.lastDuration = st, res.Duration
	epoch := e.epoch
	s.mu.Unlock()

	if s.log.Enabled(ctx, slog.LevelDebug) {
		s.log.Debug("check done", "target", res.Target, "status", res.Status.String(),
			"duration_ms", res.Duration.Milliseconds(), "error_class", res.ErrorClass.String(), "err", res.Error)
	}
	s.recorder.Record(uptime.Observation{Result: res, State: st, Events: events, Epoch: epoch})
	return now
}

// peer looks a target up by name for the cause rule. s.mu is held.
func (s *Scheduler) peer(name string) (uptime.Peer, bool) {
	e, ok := s.byName[name]
	if !ok {
		return uptime.Peer{}, false
	}
	if e.t.Paused {
		return uptime.Peer{}, true
	}
	p := uptime.Peer{Down: e.st.Status == uptime.StatusDown}
	if p.Down {
		p.Cause = e.st.Cause
	} else {
		p.Failing = e.st.ConsecutiveFailures > 0
	}
	return p, true
}

// warnOverload logs, at most once a minute, that slots are being skipped
// for want of workers, and how many workers the last minute's load needs by
// Little's law: checks per second times the mean time a check takes.
func (s *Scheduler) warnOverload(now int64, late time.Duration) {
	last := s.lastWarn.Load()
	if now-last < int64(warnEvery) || !s.lastWarn.CompareAndSwap(last, now) {
		return
	}
	s.mu.Lock()
	r := s.recent.sum(now, s.runStart)
	s.mu.Unlock()
	need := r.WorkersNeeded()
	var advice string
	switch {
	case need == 0:
		advice = fmt.Sprintf("raise %s", s.setting)
	case need > s.workers:
		advice = fmt.Sprintf("raise %s to at least %d", s.setting, need)
	default:
		// Little's law says the pool suffices: the checks wait elsewhere.
		advice = "the workers suffice for the load: checks are held up by the CPU or the store"
	}
	s.log.Warn("scheduler overloaded: skipping missed checks",
		"missed_total", s.missedTotal(),
		"missed_pct", math.Round(r.OverloadedShare()*1000)/10,
		"late_ms", late.Milliseconds(),
		"checks_per_second", math.Round(r.PerSecond()*10)/10,
		"mean_check_ms", math.Round(float64(r.MeanCheck().Microseconds()))/1000,
		"workers", s.workers, "workers_needed", need, "advice", advice)
}
