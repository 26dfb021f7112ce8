package scheduler

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lookout/lookout/internal/testkit"
	"github.com/lookout/lookout/internal/uptime"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// fixture is a scheduler on a fake clock with a fake prober and recorder.
func fixture(cfg Config) (*Scheduler, *testkit.Clock, *fakeProber, *fakeRecorder) {
	clk := testkit.NewClock(t0)
	p := newFakeProber()
	p.clock = clk.Now
	r := &fakeRecorder{}
	cfg.Now = clk.Now
	return New(p, r, cfg), clk, p, r
}

func dueOf(s *Scheduler, id int64) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.targets[id]
	if !ok || e.index < 0 {
		return time.Time{}, false
	}
	return time.Unix(0, e.due).UTC(), true
}

func TestIntervalCadence(t *testing.T) {
	s, clk, p, r := fixture(Config{})
	tg := target(1, "payments-api", 10*time.Second)
	s.Upsert(tg)
	first, ok := dueOf(s, 1)
	if !ok {
		t.Fatal("target not queued")
	}
	if off := first.Sub(t0); off < 0 || off >= 10*time.Second {
		t.Fatalf("first slot at now+%s, want within one interval", off)
	}

	simulate(t, s, clk, t0.Add(time.Minute))
	calls := p.times(1)
	if len(calls) < 6 {
		t.Fatalf("%d checks in a minute at 10s, want 6 or 7", len(calls))
	}
	for i, c := range calls {
		if want := first.Add(time.Duration(i) * 10 * time.Second); !c.Equal(want) {
			t.Errorf("check %d at %s, want %s (no drift, on the phase)", i, c.Format(time.TimeOnly+".000"), want.Format(time.TimeOnly+".000"))
		}
	}
	if obs := r.of(1); len(obs) != len(calls) || obs[0].Result.TargetID != 1 || obs[0].Result.Target != "payments-api" {
		t.Fatalf("%d observations for %d checks (first %+v)", len(obs), len(calls), obs[0].Result)
	}
	if st, ok := s.State(1); !ok || st.Status != uptime.StatusUp || st.ConsecutiveSuccesses != len(calls) {
		t.Errorf("state = %+v, %v; want up with %d successes", st, ok, len(calls))
	}
	if got := s.Stats(); got.Checks != uint64(len(calls)) || got.Missed != 0 || got.Targets != 1 {
		t.Errorf("stats = %+v", got)
	}
	last := r.of(1)[len(calls)-1].Result
	want := []TargetStatus{{Name: "payments-api", Kind: tg.Kind, Status: uptime.StatusUp,
		LastCheck: last.StartedAt, LastDuration: last.Duration}}
	if got := s.Targets(); !reflect.DeepEqual(got, want) {
		t.Errorf("Targets() = %+v, want %+v", got, want)
	}
}

func TestCronTarget(t *testing.T) {
	s, clk, p, _ := fixture(Config{})
	clk.Set(t0.Add(7 * time.Minute))
	tg := uptime.Target{ID: 1, Name: "nightly", URL: "http://x", Schedule: "TZ=UTC */15 * * * *"}
	tg.Normalize()
	if err := ValidateSchedule(tg.Schedule); err != nil {
		t.Fatal(err)
	}
	s.Upsert(tg)
	simulate(t, s, clk, t0.Add(67*time.Minute))
	want := []time.Time{t0.Add(15 * time.Minute), t0.Add(30 * time.Minute), t0.Add(45 * time.Minute), t0.Add(60 * time.Minute)}
	got := p.times(1)
	if len(got) != len(want) {
		t.Fatalf("checks at %v, want %v", got, want)
	}
	for i := range want {
		if !got[i].Equal(want[i]) {
			t.Errorf("check %d at %s, want %s", i, got[i], want[i])
		}
	}
}

func TestUpsertChangesInterval(t *testing.T) {
	s, clk, p, _ := fixture(Config{})
	s.Upsert(target(1, "a", 10*time.Second))
	simulate(t, s, clk, t0.Add(30*time.Second))
	before := p.count(1)

	s.Upsert(target(1, "a", time.Minute))
	due, ok := dueOf(s, 1)
	if !ok || due.Sub(clk.Now()) < 0 || due.Sub(clk.Now()) >= time.Minute {
		t.Fatalf("after the change the next slot is %s, want within a minute of %s", due, clk.Now())
	}
	if want := intervalTiming("a", time.Minute).first(clk.Now().UnixNano()); due.UnixNano() != want {
		t.Errorf("next slot %s is not the 1m phase slot %s", due, time.Unix(0, want).UTC())
	}
	simulate(t, s, clk, t0.Add(30*time.Second+5*time.Minute))
	calls := p.times(1)[before:]
	if len(calls) < 4 {
		t.Fatalf("%d checks in 5 minutes at 1m", len(calls))
	}
	for i := 1; i < len(calls); i++ {
		if gap := calls[i].Sub(calls[i-1]); gap != time.Minute {
			t.Errorf("gap %s between checks after the change, want 1m", gap)
		}
	}
}

func TestUpsertChangesSchedule(t *testing.T) {
	s, clk, _, _ := fixture(Config{})
	tg := uptime.Target{ID: 1, Name: "nightly", URL: "http://x", Schedule: "TZ=UTC */15 * * * *"}
	tg.Normalize()
	s.Upsert(tg)
	if due, _ := dueOf(s, 1); !due.Equal(t0) {
		t.Fatalf("first slot %s, want %s", due, t0)
	}
	clk.Set(t0.Add(time.Minute))
	tg.Schedule = "TZ=UTC 10 * * * *"
	s.Upsert(tg)
	if due, _ := dueOf(s, 1); !due.Equal(t0.Add(10 * time.Minute)) {
		t.Errorf("after the schedule changed the next slot is %s, want the new schedule's %s", due, t0.Add(10*time.Minute))
	}
}

func TestUpsertSameIntervalKeepsSlotAndState(t *testing.T) {
	s, clk, p, _ := fixture(Config{})
	p.status = func(uptime.Target, int) uptime.Status { return uptime.StatusDown }
	tg := target(1, "a", 10*time.Second)
	s.Upsert(tg)
	simulate(t, s, clk, t0.Add(25*time.Second))
	st, _ := s.State(1)
	due, _ := dueOf(s, 1)

	tg.URL = "http://elsewhere"
	tg.Labels = map[string]string{"team": "payments"}
	s.Upsert(tg)
	st2, _ := s.State(1)
	due2, _ := dueOf(s, 1)
	if !due2.Equal(due) {
		t.Errorf("slot moved from %s to %s on an upsert that kept the interval", due, due2)
	}
	if !reflect.DeepEqual(st2, st) || st2.ConsecutiveFailures == 0 {
		t.Errorf("state changed on upsert: %+v, was %+v", st2, st)
	}
}

func TestPauseAndResume(t *testing.T) {
	s, clk, p, _ := fixture(Config{})
	tg := target(1, "a", 10*time.Second)
	s.Upsert(tg)
	simulate(t, s, clk, t0.Add(20*time.Second))
	n := p.count(1)
	st, _ := s.State(1)

	tg.Paused = true
	s.Upsert(tg)
	if _, queued := dueOf(s, 1); queued {
		t.Fatal("paused target still queued")
	}
	simulate(t, s, clk, t0.Add(5*time.Minute))
	if p.count(1) != n {
		t.Fatalf("paused target checked %d times", p.count(1)-n)
	}
	if got, ok := s.State(1); !ok || !reflect.DeepEqual(got, st) {
		t.Errorf("paused target's state = %+v, %v; want it kept: %+v", got, ok, st)
	}
	if got := s.Stats().Targets; got != 1 {
		t.Errorf("Stats.Targets = %d, want the paused target counted", got)
	}
	// A paused target can still be checked on demand.
	if _, err := s.CheckNow(context.Background(), 1); err != nil || p.count(1) != n+1 {
		t.Fatalf("CheckNow on a paused target: %v (checks %d)", err, p.count(1)-n)
	}

	tg.Paused = false
	s.Upsert(tg)
	simulate(t, s, clk, t0.Add(6*time.Minute))
	if got := p.count(1) - n - 1; got < 5 || got > 7 {
		t.Errorf("resumed target checked %d times in a minute at 10s, want 6±1", got)
	}
}

func TestRemove(t *testing.T) {
	s, clk, p, _ := fixture(Config{})
	s.Upsert(target(1, "a", 10*time.Second))
	s.Upsert(target(2, "b", 10*time.Second))
	simulate(t, s, clk, t0.Add(20*time.Second))
	n := p.count(1)

	s.Remove(1)
	s.Remove(42) // unknown: ignored
	simulate(t, s, clk, t0.Add(2*time.Minute))
	if p.count(1) != n {
		t.Errorf("removed target checked %d more times", p.count(1)-n)
	}
	if p.count(2) < 11 {
		t.Errorf("other target checked %d times, want it unaffected", p.count(2))
	}
	if _, ok := s.State(1); ok {
		t.Error("State of a removed target found")
	}
	if _, err := s.CheckNow(context.Background(), 1); !errors.Is(err, uptime.ErrNotFound) {
		t.Errorf("CheckNow of a removed target: %v, want ErrNotFound", err)
	}
	if got := s.Stats().Targets; got != 1 {
		t.Errorf("Stats.Targets = %d, want 1", got)
	}
}

func TestMissedSlotsAreUnknownNotFailures(t *testing.T) {
	s, clk, p, r := fixture(Config{})
	var lates []time.Duration
	s.onStart = func(d time.Duration) { lates = append(lates, d) }
	s.Upsert(target(1, "a", 10*time.Second))
	due, _ := dueOf(s, 1)

	// The scheduler stalls: the slot is picked up 35 s late.
	clk.Set(due.Add(35 * time.Second))
	e, _ := s.popDue(clk.Now().UnixNano())
	if e == nil {
		t.Fatal("nothing due")
	}
	s.runScheduled(context.Background(), context.Background(), e)

	if p.count(1) != 0 {
		t.Errorf("a missed slot was probed")
	}
	obs := r.of(1)
	if len(obs) != 1 {
		t.Fatalf("%d observations, want 1 for the missed run", len(obs))
	}
	res := obs[0].Result
	if res.Status != uptime.StatusUnknown || res.ErrorClass != uptime.ClassInternal || res.Error != "missed 4 checks: scheduler overloaded" {
		t.Errorf("missed result = %+v", res)
	}
	if st := obs[0].State; st.ConsecutiveFailures != 0 || st.Status != uptime.StatusUnknown || st.LastResult != uptime.StatusUnknown {
		t.Errorf("a missed slot counted against the target: %+v", st)
	}
	if got := s.Stats(); got.Missed != 4 || got.Checks != 0 {
		t.Errorf("stats = %+v, want 4 missed, 0 checks", got)
	}
	if len(lates) != 0 {
		t.Errorf("OnStart called for a skipped slot: %v", lates)
	}
	if next, _ := dueOf(s, 1); !next.Equal(due.Add(40 * time.Second)) {
		t.Errorf("next slot %s, want the first after now: due+40s", next.Sub(due))
	}

	// Half an interval late is not missed: it runs, late, and says so.
	clk.Set(due.Add(45 * time.Second))
	e, _ = s.popDue(clk.Now().UnixNano())
	s.runScheduled(context.Background(), context.Background(), e)
	if p.count(1) != 1 || len(lates) != 1 || lates[0] != 5*time.Second {
		t.Errorf("late check: %d probes, lateness %v; want 1 probe, 5s late", p.count(1), lates)
	}
	if next, _ := dueOf(s, 1); !next.Equal(due.Add(50 * time.Second)) {
		t.Errorf("next slot due+%s, want due+50s (no drift)", next.Sub(due))
	}
}

// A clock stepped back between the pop and the start makes a check start
// 0 late, never a negative lateness.
func TestOnStartNeverNegative(t *testing.T) {
	s, clk, _, _ := fixture(Config{})
	var lates []time.Duration
	s.onStart = func(d time.Duration) { lates = append(lates, d) }
	s.Upsert(target(1, "a", 10*time.Second))
	due, _ := dueOf(s, 1)
	e, _ := s.popDue(due.UnixNano())
	clk.Set(due.Add(-time.Second))
	s.runScheduled(context.Background(), context.Background(), e)
	if !slices.Equal(lates, []time.Duration{0}) {
		t.Errorf("lateness reported %v, want [0]", lates)
	}
}

// Stats counts the due targets, the one the dispatcher holds for a worker
// included, and how late the most overdue of them is.
func TestStatsQueuedAndLag(t *testing.T) {
	s, clk, _, _ := fixture(Config{})
	clk.Set(t0.Add(time.Second))
	earliest := t0.Add(time.Hour)
	for i := range 3 {
		s.Upsert(target(int64(i+1), fmt.Sprint("t", i), 10*time.Second))
		if due, _ := dueOf(s, int64(i+1)); due.Before(earliest) {
			earliest = due
		}
	}
	hourly := uptime.Target{ID: 4, Name: "hourly", URL: "http://x", Schedule: "TZ=UTC @hourly"}
	hourly.Normalize()
	s.Upsert(hourly) // due at 13:00, not yet
	if due, _ := dueOf(s, 4); !due.Equal(t0.Add(time.Hour)) {
		t.Fatalf("hourly target due at %s", due)
	}
	now := t0.Add(15 * time.Second)
	clk.Set(now)
	if st := s.Stats(); st.Queued != 3 || st.Lag != now.Sub(earliest) || st.Targets != 4 {
		t.Errorf("stats = %+v, want 3 queued, lag %s, 4 targets", st, now.Sub(earliest))
	}
	e, _ := s.popDue(now.UnixNano())
	s.pending.Store(e)
	if st := s.Stats(); st.Queued != 3 || st.Lag != now.Sub(earliest) {
		t.Errorf("with the earliest handed to a worker: stats = %+v, want 3 queued, lag %s", st, now.Sub(earliest))
	}
}

func TestStateMachine(t *testing.T) {
	s, _, p, r := fixture(Config{})
	p.status = func(_ uptime.Target, n int) uptime.Status {
		if n <= 3 {
			return uptime.StatusDown
		}
		return uptime.StatusUp
	}
	tg := target(1, "a", 10*time.Second)
	tg.Labels, tg.Channels = map[string]string{"team": "payments"}, []string{"ops"}
	s.Upsert(tg)
	for range 4 {
		if _, err := s.CheckNow(context.Background(), 1); err != nil {
			t.Fatal(err)
		}
	}
	obs := r.of(1)
	if len(obs) != 4 {
		t.Fatalf("%d observations, want 4", len(obs))
	}
	for i, want := range []struct {
		status   uptime.Status
		failures int
		events   []uptime.EventType
	}{
		{uptime.StatusUnknown, 1, nil},
		{uptime.StatusUnknown, 2, nil},
		{uptime.StatusDown, 3, []uptime.EventType{uptime.EventIncidentOpened}},
		{uptime.StatusUp, 0, []uptime.EventType{uptime.EventIncidentResolved}},
	} {
		o := obs[i]
		var evs []uptime.EventType
		for _, e := range o.Events {
			evs = append(evs, e.Type)
			if e.TargetID != 1 || e.Target != "a" || !maps.Equal(e.Labels, tg.Labels) || !slices.Equal(e.Channels, tg.Channels) {
				t.Errorf("check %d: event %s names target %d %q, labels %v, channels %v; want the checked target's",
					i+1, e.Type, e.TargetID, e.Target, e.Labels, e.Channels)
			}
		}
		if o.State.Status != want.status || o.State.ConsecutiveFailures != want.failures || !slices.Equal(evs, want.events) {
			t.Errorf("check %d: status %s, %d failures, events %v; want %s, %d, %v",
				i+1, o.State.Status, o.State.ConsecutiveFailures, evs, want.status, want.failures, want.events)
		}
	}
	if since := obs[2].State.Since; !since.Equal(obs[0].Result.StartedAt) {
		t.Errorf("down since %s, want the first failing check %s", since, obs[0].Result.StartedAt)
	}
	if st, _ := s.State(1); !reflect.DeepEqual(st, obs[3].State) {
		t.Errorf("in-memory state %+v differs from the last recorded %+v", st, obs[3].State)
	}
}

func TestLoadKeepsPersistedState(t *testing.T) {
	s, _, p, r := fixture(Config{})
	p.status = func(uptime.Target, int) uptime.Status { return uptime.StatusDown }
	s.Load(target(1, "a", 10*time.Second), uptime.State{Status: uptime.StatusUp, ConsecutiveFailures: 2, FailingSince: t0.Add(-time.Minute)})
	if _, err := s.CheckNow(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	o := r.of(1)[0]
	if o.State.Status != uptime.StatusDown || len(o.Events) != 1 || !o.State.Since.Equal(t0.Add(-time.Minute)) {
		t.Errorf("third failure after a restart: %+v, events %+v; want down since the persisted first failure", o.State, o.Events)
	}
}

// startHeld moves the clock to the slot of target id, the earliest queued,
// and runs its scheduled check on a goroutine, where the prober holds it
// until p.hold is fed or closed. It returns once the check has started,
// with the slot and a channel closed when the check ends.
func startHeld(s *Scheduler, clk *testkit.Clock, p *fakeProber, id int64) (time.Time, <-chan struct{}) {
	p.hold = make(chan struct{})
	p.started = make(chan int64, 1)
	due, _ := dueOf(s, id)
	clk.Set(due)
	e, _ := s.popDue(due.UnixNano())
	done := make(chan struct{})
	go func() {
		s.runScheduled(context.Background(), context.Background(), e)
		close(done)
	}()
	<-p.started
	return due, done
}

// A target's entry is out of the queue while its check runs: a slot that
// comes up meanwhile cannot start a second check.
func TestNoOverlapOnSlowCheck(t *testing.T) {
	s, clk, p, _ := fixture(Config{})
	s.Upsert(target(1, "a", time.Second))
	due, done := startHeld(s, clk, p, 1)
	clk.Set(due.Add(2500 * time.Millisecond))
	if e2, _ := s.popDue(clk.Now().UnixNano()); e2 != nil {
		t.Fatal("a target with a check in flight was dispatched again")
	}
	if got := s.Stats(); got.InFlight != 1 || got.Queued != 0 {
		t.Errorf("stats = %+v, want 1 in flight, 0 queued", got)
	}
	clk.Set(due.Add(900 * time.Millisecond)) // the check ends within its slot
	close(p.hold)
	<-done
	if next, ok := dueOf(s, 1); !ok || !next.Equal(due.Add(time.Second)) {
		t.Errorf("after the check the next slot is %s, want due+1s", next.Sub(due))
	}
}

// Upsert while the target's check runs: the change applies after the check.
func TestUpsertWhileInFlight(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*uptime.Target)
		queued bool
		every  time.Duration
	}{
		{"same interval", func(t *uptime.Target) { t.URL = "http://other" }, true, 0},
		{"new interval", func(t *uptime.Target) { t.Interval = uptime.Duration(time.Minute) }, true, time.Minute},
		{"paused", func(t *uptime.Target) { t.Paused = true }, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, clk, p, r := fixture(Config{})
			tg := target(1, "a", 10*time.Second)
			s.Upsert(tg)
			due, done := startHeld(s, clk, p, 1)
			tc.change(&tg)
			s.Upsert(tg)
			if _, queued := dueOf(s, 1); queued {
				t.Fatal("Upsert queued a target whose check is in flight")
			}
			clk.Set(due.Add(2 * time.Second))
			close(p.hold)
			<-done

			if n := len(r.of(1)); n != 1 {
				t.Errorf("%d observations, want the in-flight result recorded", n)
			}
			next, queued := dueOf(s, 1)
			if queued != tc.queued {
				t.Fatalf("queued after the check = %v, want %v", queued, tc.queued)
			}
			switch {
			case !queued:
			case tc.every == 0 && !next.Equal(due.Add(10*time.Second)):
				t.Errorf("next slot due+%s, want due+10s", next.Sub(due))
			case tc.every != 0 && next.UnixNano() != intervalTiming("a", tc.every).first(clk.Now().UnixNano()):
				t.Errorf("next slot %s is not the new interval's slot", next)
			}
		})
	}
}

func TestPanickingProberGivesUnknown(t *testing.T) {
	r := &fakeRecorder{}
	s := New(panicProber{}, r, Config{})
	s.Upsert(target(1, "a", 10*time.Second))
	res, err := s.CheckNow(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != uptime.StatusUnknown || res.ErrorClass != uptime.ClassInternal || res.Target != "a" || res.StartedAt.IsZero() {
		t.Errorf("result of a panicking check = %+v", res)
	}
	if len(r.all()) != 1 {
		t.Errorf("%d observations, want 1", len(r.all()))
	}
}

type panicProber struct{}

func (panicProber) Check(context.Context, uptime.Target) uptime.Result { panic("boom") }

func TestCheckNowNotFound(t *testing.T) {
	s := New(nopProber{}, nopRecorder{}, Config{})
	if _, err := s.CheckNow(context.Background(), 7); !errors.Is(err, uptime.ErrNotFound) {
		t.Errorf("CheckNow(unknown) = %v, want ErrNotFound", err)
	}
}

// --- Real time: Run with its dispatcher and workers. ---

func run(t *testing.T, s *Scheduler) (cancel func() error) {
	t.Helper()
	ctx, stop := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- s.Run(ctx) }()
	var once sync.Once
	var err error
	cancel = func() error {
		once.Do(func() {
			stop()
			select {
			case err = <-errc:
			case <-time.After(5 * time.Second):
				err = errors.New("Run did not return within 5s of cancel")
			}
		})
		return err
	}
	t.Cleanup(func() { _ = cancel() })
	return cancel
}

// Run's own loop and workers check each target at its slots, never a
// paused one, and a removed one no more; driven slot by slot on the fake
// clock, the checks are exactly the slots.
func TestRunChecksAtInterval(t *testing.T) {
	t.Parallel()
	s, clk, p, r := fixture(Config{Workers: 4})
	s.Upsert(target(1, "one-second", time.Second))
	s.Upsert(target(2, "one-and-a-half", 1500*time.Millisecond))
	paused := target(3, "paused", time.Second)
	paused.Paused = true
	s.Upsert(paused)
	s.Upsert(target(4, "removed", time.Second))
	first := map[int64]time.Time{}
	for _, id := range []int64{1, 2, 4} {
		first[id], _ = dueOf(s, id)
	}

	stop := run(t, s)
	drive(t, s, clk, t0.Add(1200*time.Millisecond))
	s.Remove(4)
	removedAt := clk.Now()
	end := t0.Add(3200 * time.Millisecond)
	drive(t, s, clk, end)
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		id    int64
		every time.Duration
		until time.Time
	}{{1, time.Second, end}, {2, 1500 * time.Millisecond, end}, {4, time.Second, removedAt}} {
		var want []time.Time
		for at := first[tc.id]; !at.After(tc.until); at = at.Add(tc.every) {
			want = append(want, at)
		}
		if got := p.times(tc.id); !slices.EqualFunc(got, want, time.Time.Equal) {
			t.Errorf("target %d every %s checked at %v, want its slots %v", tc.id, tc.every, got, want)
		}
		if obs := len(r.of(tc.id)); obs != p.count(tc.id) {
			t.Errorf("target %d: %d observations for %d checks", tc.id, obs, p.count(tc.id))
		}
	}
	if n := p.count(3); n != 0 {
		t.Errorf("paused target checked %d times", n)
	}
	if st := s.Stats(); !st.LastTurn.Equal(end) || st.InFlight != 0 || st.Missed != 0 {
		t.Errorf("stats after stop = %+v, want the last turn at %s, nothing in flight or missed", st, end.Format(time.TimeOnly+".000"))
	}
}

func TestCheckNowSerialisedWithScheduled(t *testing.T) {
	t.Parallel()
	s, clk, p, _ := fixture(Config{Workers: 4})
	p.hold = make(chan struct{})
	p.started = make(chan int64, 16)
	s.Upsert(target(1, "slow", time.Second))
	due, _ := dueOf(s, 1)
	stop := run(t, s)
	wakeAt(s, clk, due)

	<-p.started // the scheduled check is running and held
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for range 3 {
		wg.Go(func() {
			_, err := s.CheckNow(context.Background(), 1)
			errs <- err
		})
	}
	// The next slot passes while every check is held: the dispatcher turns
	// past it and starts nothing.
	wakeAt(s, clk, due.Add(1100*time.Millisecond))
	now := clk.Now().UnixNano()
	testkit.WaitFor(t, func() bool { return s.lastTurn.Load() >= now }, testkit.Waiting("the dispatcher to turn"))
	if n := p.count(1); n != 1 {
		t.Fatalf("%d checks started while one was in flight, want 1", n)
	}
	close(p.hold)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("CheckNow: %v", err)
		}
	}
	settle(t, s, clk)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if m := p.maxConcurrent(1); m != 1 {
		t.Errorf("up to %d checks of one target ran at once, want 1", m)
	}
	if n := p.count(1); n != 5 {
		t.Errorf("%d checks, want the scheduled one, 3 CheckNow and the slot that came meanwhile", n)
	}
}

func TestShutdownWaitsForInFlight(t *testing.T) {
	t.Parallel()
	s, clk, p, r := fixture(Config{Workers: 2})
	p.hold = make(chan struct{})
	for i := range 10 {
		s.Upsert(target(int64(i+1), "t"+string(rune('a'+i)), time.Second))
	}
	ctx, cancel := context.WithCancel(context.Background())
	// inFlight is what was still running when Run returned.
	type returned struct {
		err      error
		inFlight int
	}
	done := make(chan returned, 1)
	go func() {
		err := s.Run(ctx)
		done <- returned{err, s.Stats().InFlight}
	}()
	wakeAt(s, clk, t0.Add(time.Second)) // every target is due
	testkit.WaitFor(t, func() bool { return s.Stats().InFlight == 2 }, testkit.Waiting("both workers busy"))

	cancel()
	testkit.WaitFor(t, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.stopping
	}, testkit.Waiting("Run to stop dispatching"))
	if _, err := s.CheckNow(context.Background(), 1); !errors.Is(err, uptime.ErrUnavailable) {
		t.Errorf("CheckNow after cancel = %v, want ErrUnavailable", err)
	}
	close(p.hold)
	select {
	case got := <-done:
		if got.err != nil {
			t.Fatalf("Run = %v, want nil", got.err)
		}
		if got.inFlight != 0 {
			t.Errorf("Run returned with %d checks in flight", got.inFlight)
		}
	case <-time.After(testkit.WaitLimit):
		t.Fatal("Run did not return after the in-flight checks finished")
	}
	if n := p.total(); n != 2 {
		t.Errorf("%d checks ran, want the 2 in flight at cancel and no more", n)
	}
	if n := len(r.all()); n != 2 {
		t.Errorf("%d observations recorded, want 2", n)
	}
}

func TestRemoveWhileInFlight(t *testing.T) {
	t.Parallel()
	s, clk, p, r := fixture(Config{Workers: 2})
	p.hold = make(chan struct{})
	p.started = make(chan int64, 4)
	s.Upsert(target(1, "a", time.Second))
	due, _ := dueOf(s, 1)
	stop := run(t, s)
	wakeAt(s, clk, due)
	<-p.started
	s.Remove(1)
	close(p.hold)
	testkit.WaitFor(t, func() bool { return s.Stats().InFlight == 0 }, testkit.Waiting("the check to end"))
	wakeAt(s, clk, due.Add(1200*time.Millisecond)) // a slot passes
	settle(t, s, clk)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if n := p.count(1); n != 1 {
		t.Errorf("removed target checked %d times, want only the one in flight", n)
	}
	if n := len(r.all()); n != 0 {
		t.Errorf("%d observations of a removed target recorded, want its in-flight result dropped", n)
	}
	if _, ok := s.State(1); ok || s.Stats().Targets != 0 {
		t.Error("removed target came back")
	}
}

// One worker, held by a check while the other targets' slots pass by more
// than an interval: Run's loop skips them, records each as unknown (not as
// the target's failure) and shows the lag meanwhile.
func TestOverloadRecordsMissedAsUnknown(t *testing.T) {
	t.Parallel()
	s, clk, p, r := fixture(Config{Workers: 1})
	p.hold = make(chan struct{})
	p.started = make(chan int64, 1)
	const n = 30
	for i := range n {
		s.Upsert(target(int64(i+1), "t"+string(rune('a'+i)), time.Second))
	}
	stop := run(t, s)
	wakeAt(s, clk, t0.Add(time.Second)) // every target is due
	<-p.started
	clk.Set(t0.Add(3 * time.Second))
	lag := s.Stats().Lag
	close(p.hold)
	settle(t, s, clk)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	st := s.Stats()
	if lag < 2*time.Second {
		t.Errorf("lag %s while overloaded, want over 2s", lag)
	}
	var unknown uint64
	for _, o := range r.all() {
		switch o.Result.Status {
		case uptime.StatusUnknown:
			if o.Result.ErrorClass != uptime.ClassInternal {
				t.Errorf("missed result class %s, want internal", o.Result.ErrorClass)
			}
			unknown++
		case uptime.StatusDown:
			t.Errorf("overload recorded as the target's failure: %+v", o.Result)
		}
		if o.State.ConsecutiveFailures != 0 || o.State.Status == uptime.StatusDown {
			t.Errorf("overload counted against a target: %+v", o.State)
		}
	}
	// Every target but the one checked missed its slots; that one's next
	// slot passed while its own check ran.
	if unknown != n || st.Missed < 2*n || st.MissedOverloaded < 2*(n-1) {
		t.Errorf("%d unknown results for %d targets, stats %+v", unknown, n, st)
	}
	if st.Checks != uint64(p.total()) || st.Checks != 1 {
		t.Errorf("Stats.Checks = %d, prober saw %d, want the one check that ran", st.Checks, p.total())
	}
}

func TestRunTwice(t *testing.T) {
	s := New(nopProber{}, nopRecorder{}, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Run(ctx); err != nil {
		t.Fatalf("Run with a done context = %v, want nil", err)
	}
	if err := s.Run(context.Background()); err == nil {
		t.Error("second Run returned nil")
	}
}
