package scheduler

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lookout/lookout/internal/testkit"
	"github.com/lookout/lookout/internal/uptime"
)

// takesProber's checks take d of the fake clock each: the clock moves on by
// d during every check, as if one worker ran them all.
type takesProber struct {
	clk *testkit.Clock
	d   time.Duration
}

func (p takesProber) Check(context.Context, uptime.Target) uptime.Result {
	p.clk.Set(p.clk.Now().Add(p.d))
	return uptime.Result{Status: uptime.StatusUp, Duration: p.d}
}

// runDue runs every entry due at the clock's time, in slot order, as the
// dispatcher and a free worker would.
func runDue(s *Scheduler, clk *testkit.Clock) {
	for {
		e, _ := s.popDue(clk.Now().UnixNano())
		if e == nil {
			return
		}
		s.runScheduled(context.Background(), context.Background(), e)
	}
}

// A slot skipped because the target's own check was still running is an
// overrun; one skipped while the target was free is the scheduler's
// overload. Both are counted, and the last minute's share is the
// overload's alone.
func TestMissedByReason(t *testing.T) {
	s, clk, p, r := fixture(Config{})
	s.Upsert(target(1, "slow", 10*time.Second))
	slowDue, done := startHeld(s, clk, p, 1)
	s.Upsert(target(2, "late", 10*time.Second)) // its first slot is after now
	lateDue, _ := dueOf(s, 2)

	// The slow check holds its target for 35 s; the scheduler gets to
	// neither target meanwhile.
	now := slowDue.Add(35 * time.Second)
	clk.Set(now)
	close(p.hold)
	<-done
	runDue(s, clk)

	const overrun = 3 // slow's slots at +10 s, +20 s and +30 s
	overloaded := uint64(now.Sub(lateDue)/(10*time.Second)) + 1
	st := s.Stats()
	if st.MissedOverrun != overrun || st.MissedOverloaded != overloaded || st.Missed != overrun+overloaded {
		t.Errorf("missed %d = %d overloaded + %d overrun, want %d + %d", st.Missed, st.MissedOverloaded, st.MissedOverrun, overloaded, overrun)
	}
	want := Recent{Span: RecentWindow, Slots: 1 + overrun + overloaded, Overloaded: overloaded, Overrun: overrun, Checks: 1, Busy: 35 * time.Second}
	if st.Recent != want {
		t.Errorf("recent = %+v, want %+v", st.Recent, want)
	}
	if got, want := st.Recent.OverloadedShare(), float64(overloaded)/float64(1+overrun+overloaded); got != want {
		t.Errorf("overloaded share %v, want %v", got, want)
	}
	if st.Recent.MeanCheck() != 35*time.Second {
		t.Errorf("mean check %s, want 35s", st.Recent.MeanCheck())
	}
	for id, want := range map[int64]string{
		1: "missed 3 checks: the previous check was still running",
		2: fmt.Sprintf("missed %d checks: scheduler overloaded", overloaded),
	} {
		obs := r.of(id)
		if len(obs) == 0 || obs[len(obs)-1].Result.Error != want || obs[len(obs)-1].Result.Status != uptime.StatusUnknown {
			t.Errorf("target %d: last result %+v, want unknown %q", id, obs, want)
		}
	}

	// A minute on, the window has forgotten them; the totals have not.
	clk.Set(now.Add(RecentWindow + time.Second))
	st = s.Stats()
	if st.Recent != (Recent{Span: RecentWindow}) || st.Missed != overrun+overloaded {
		t.Errorf("a minute later: recent %+v, missed %d; want an empty window and %d missed", st.Recent, st.Missed, overrun+overloaded)
	}
}

// A scheduled check that waited for a "check now" of its target past its
// next slots missed them for the overrun, not for the scheduler.
func TestCheckNowHoldingTheTargetIsOverrun(t *testing.T) {
	s, clk, p, r := fixture(Config{})
	s.Upsert(target(1, "a", 10*time.Second))
	due, _ := dueOf(s, 1)
	clk.Set(due)
	p.hold = make(chan struct{})
	p.started = make(chan int64, 1)
	checked := make(chan error, 1)
	go func() {
		_, err := s.CheckNow(context.Background(), 1)
		checked <- err
	}()
	<-p.started

	e, _ := s.popDue(due.UnixNano())
	scheduled := make(chan struct{})
	go func() {
		s.runScheduled(context.Background(), context.Background(), e)
		close(scheduled)
	}()
	clk.Set(due.Add(25 * time.Second))
	close(p.hold)
	if err := <-checked; err != nil {
		t.Fatal(err)
	}
	<-scheduled

	if st := s.Stats(); st.MissedOverrun != 3 || st.MissedOverloaded != 0 || st.Recent.Overloaded != 0 {
		t.Errorf("stats %+v, want 3 overrun, none overloaded", st)
	}
	obs := r.of(1)
	if len(obs) != 2 || obs[1].Result.Error != "missed 3 checks: the previous check was still running" {
		t.Errorf("observations %+v, want the check-now's then the skipped slots'", obs)
	}
}

// One worker, 50 targets a second and checks of 100 ms: five times what
// the worker can do. Most slots are skipped, the share says so, and the
// warning says how many workers the load needs, at most once a minute.
func TestOverloadShareAndWorkersNeeded(t *testing.T) {
	clk := testkit.NewClock(t0)
	var logs testkit.LogBuffer
	s := New(takesProber{clk, 100 * time.Millisecond}, &fakeRecorder{}, Config{
		Workers: 1, Now: clk.Now, Logger: slog.New(slog.NewTextHandler(&logs, nil)), WorkersSetting: "--workers (LOOKOUT_WORKERS)",
	})
	for i := range 50 {
		s.Upsert(target(int64(i+1), fmt.Sprint("t", i), time.Second))
	}
	simulate(t, s, clk, t0.Add(3*time.Minute))

	st := s.Stats()
	rc := st.Recent
	if rc.MeanCheck() != 100*time.Millisecond {
		t.Errorf("mean check %s, want 100ms", rc.MeanCheck())
	}
	// Each second brings 50 slots; a skipped run accounts for its slots
	// when it is picked up, so a window's count is off by a few.
	if ps := rc.PerSecond(); ps < 45 || ps > 55 {
		t.Errorf("%.1f slots a second, want about 50", ps)
	}
	if share := rc.OverloadedShare(); share < 0.7 || share > 0.9 {
		t.Errorf("overloaded share %.2f, want about 0.8 (10 of 50 checks a second run)", share)
	}
	if rc.Overrun != 0 || st.MissedOverrun != 0 {
		t.Errorf("overrun %d (window) %d (total), want none: no check outlasted its interval", rc.Overrun, st.MissedOverrun)
	}
	if n := rc.WorkersNeeded(); n < 5 || n > 6 {
		t.Errorf("%d workers needed, want 5 (50/s × 100ms)", n)
	}

	warns := regexp.MustCompile(`(?m)^.*level=WARN msg="scheduler overloaded.*$`).FindAllString(logs.String(), -1)
	if len(warns) < 2 || len(warns) > 4 {
		t.Fatalf("%d overload warnings in 3 minutes, want one a minute:\n%s", len(warns), logs.String())
	}
	last := warns[len(warns)-1]
	m := regexp.MustCompile(`workers_needed=(\d+)`).FindStringSubmatch(last)
	if m == nil {
		t.Fatalf("warning without workers_needed: %s", last)
	}
	if n, _ := strconv.Atoi(m[1]); n < 5 || n > 6 {
		t.Errorf("warning says %d workers needed, want 5: %s", n, last)
	}
	for _, want := range []string{"workers=1 ", "mean_check_ms=100 ", `advice="raise --workers (LOOKOUT_WORKERS) to at least `} {
		if !strings.Contains(last, want) {
			t.Errorf("warning lacks %s: %s", want, last)
		}
	}
	// Overload is Lookout's problem, never the targets'.
	for id := range int64(50) {
		if st, _ := s.State(id + 1); st.Status == uptime.StatusDown || st.ConsecutiveFailures != 0 {
			t.Fatalf("target %d: overload counted against it: %+v", id+1, st)
		}
	}
}

// Targets checked in time produce no skipped slot, no overload share and no
// warning: the figures do not cry wolf on a healthy scheduler.
func TestKeepingUpMissesNothing(t *testing.T) {
	clk := testkit.NewClock(t0)
	var logs testkit.LogBuffer
	r := &fakeRecorder{}
	s := New(takesProber{clk, time.Millisecond}, r, Config{Now: clk.Now, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	for i := range 200 {
		s.Upsert(target(int64(i+1), fmt.Sprint("t", i), time.Second))
	}
	simulate(t, s, clk, t0.Add(3*time.Minute))

	st := s.Stats()
	if st.Missed != 0 || st.Recent.Overloaded != 0 || st.Recent.OverloadedShare() != 0 {
		t.Errorf("a scheduler keeping up counted skipped slots: %+v", st)
	}
	if rc := st.Recent; rc.Slots < 200*59 || rc.Slots > 200*60 || rc.WorkersNeeded() != 1 {
		t.Errorf("recent %+v (%d workers needed), want 200 slots a second and 1 worker", rc, rc.WorkersNeeded())
	}
	if strings.Contains(logs.String(), "overloaded") {
		t.Errorf("overload logged:\n%s", logs.String())
	}
	for _, o := range r.all() {
		if o.Result.Status != uptime.StatusUp || len(o.Events) > 0 {
			t.Fatalf("a healthy target was not up or alerted: %+v", o)
		}
	}
}

// A cron target whose check outlasts its minute skips slots of its own:
// counted as overrun, and neither overload nor its warning.
func TestOverrunningCronTargetIsNotOverload(t *testing.T) {
	clk := testkit.NewClock(t0)
	var logs testkit.LogBuffer
	s := New(takesProber{clk, 150 * time.Second}, &fakeRecorder{}, Config{Now: clk.Now, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	cron := uptime.Target{ID: 1, Name: "slow-cron", URL: "http://x", Schedule: "TZ=UTC * * * * *"}
	cron.Normalize()
	s.Upsert(cron)
	simulate(t, s, clk, t0.Add(10*time.Minute))

	st := s.Stats()
	if st.MissedOverloaded != 0 || st.Recent.Overloaded != 0 {
		t.Errorf("a check's overrun counted as overload: %+v", st)
	}
	// Each 150 s check skips the two slots that came up during it.
	if st.MissedOverrun < 6 || st.Checks < 3 {
		t.Errorf("stats %+v, want the skipped slots counted as overrun", st)
	}
	if strings.Contains(logs.String(), "overloaded") {
		t.Errorf("overload logged:\n%s", logs.String())
	}
}

func TestRecentSpanShortAfterStart(t *testing.T) {
	var r recent
	start := t0.UnixNano()
	r.at(start + int64(1500*time.Millisecond)).slots += 3
	got := r.sum(start+int64(2*time.Second), start)
	if got.Span != 2*time.Second || got.Slots != 3 || got.PerSecond() != 1.5 {
		t.Errorf("two seconds after start: %+v (%.2f/s), want 3 slots over 2s", got, got.PerSecond())
	}
	if got := r.sum(start+int64(time.Hour), start); got.Span != RecentWindow || got.Slots != 0 {
		t.Errorf("an hour later: %+v, want an empty minute", got)
	}
	var none Recent
	if none.OverloadedShare() != 0 || none.PerSecond() != 0 || none.MeanCheck() != 0 || none.WorkersNeeded() != 0 {
		t.Errorf("an empty window gives figures: %+v", none)
	}
}
