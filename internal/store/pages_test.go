package store

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lookout/lookout/internal/uptime"
)

func TestPageReads(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, e *env)
	}{
		{"a page's tallies are each target's Tally", testTalliesAreTally},
		{"day rollups as the job stored them", testDayRollups},
		{"many windows and the days in one read", testPageHistory},
		{"targets filtered by a part of their name", testListByName},
		{"targets counted by the status they show", testStateCounts},
	}
	forEachBackend(t, func(t *testing.T, b backend) {
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				tc.run(t, openEnv(t, b))
			})
		}
	})
}

// pageFixture is historyFixture's "api" and "other", down once an hour,
// rolled up to 70 minutes before now.
func pageFixture(t *testing.T, e *env) (api, other *uptime.Target, start time.Time) {
	t.Helper()
	api, pts := historyFixture(t, e)
	other = e.mustCreate(t, "other", nil)
	for i := range 3 * 24 {
		at := pts[0].At.Add(time.Duration(i) * time.Hour)
		e.Record(uptime.Observation{Result: uptime.Result{TargetID: other.ID, StartedAt: at, Status: uptime.StatusDown, Duration: time.Second}})
	}
	e.mustFlush(t)
	_, err := e.RollUp(bg, e.clock.Now().Add(-70*time.Minute))
	fatalIf(t, err, "roll up")
	return api, other, pts[0].At
}

func testTalliesAreTally(t *testing.T, e *env) {
	api, other, start := pageFixture(t, e)
	now := e.clock.Now()
	for _, w := range [][2]time.Time{
		{start, now},
		{now.Add(-24 * time.Hour), now},
		{uptime.Day.Bucket(now), now},
		{start.Add(10 * time.Hour), start.Add(40*time.Hour + 17*time.Minute)},
		{now.Add(-5 * time.Minute), now},
	} {
		p, err := e.PageHistory(bg, uptime.PageQuery{IDs: []int64{api.ID, other.ID, 9999}, Tallies: []uptime.Interval{{From: w[0], To: w[1]}}})
		fatalIf(t, err, "page history")
		got := p.Tallies[0]
		if len(got) != 2 {
			t.Errorf("%v – %v: %d tallies, want 2 (the unknown id left out)", w[0], w[1], len(got))
		}
		for _, tg := range []*uptime.Target{api, other} {
			one, err := e.Tally(bg, Series{Target: tg.Name}, w[0], w[1])
			fatalIf(t, err, "tally")
			if diff := cmp.Diff(one, got[tg.ID], cmpTally); diff != "" {
				t.Errorf("%s over %v – %v (-Tally +PageHistory):\n%s", tg.Name, w[0], w[1], diff)
			}
		}
	}
	if _, err := e.PageHistory(bg, uptime.PageQuery{IDs: make([]int64, MaxPageTargets+1), Tallies: []uptime.Interval{{From: start, To: now}}}); !isInvalid(err, "ids") {
		t.Errorf("too many ids: %v", err)
	}
}

// dayRollups returns the day rollups of the targets ids from the day of
// from to the day before to's, by id and in day order, read as the
// rollup job stored them: what PageHistory's days are checked against.
func (e *env) dayRollups(t *testing.T, ids []int64, from, to time.Time) map[int64][]uptime.Rollup {
	t.Helper()
	cond, err := idsIn(ids)
	fatalIf(t, err, "ids")
	out, err := e.readRollupsWhere(bg, targetRollups, cond, nil, uptime.Day, uptime.Day.Bucket(from), uptime.Day.Bucket(to))
	fatalIf(t, err, "read day rollups")
	return out
}

func testDayRollups(t *testing.T, e *env) {
	api, other, start := pageFixture(t, e)
	now := e.clock.Now()
	got := e.dayRollups(t, []int64{api.ID}, start.Add(-90*24*time.Hour), now)
	if _, ok := got[other.ID]; ok || len(got[api.ID]) != 3 {
		t.Fatalf("day rollups: %d targets, api's %d days; want api's 3 only", len(got), len(got[api.ID]))
	}
	for i, r := range got[api.ID] {
		day, err := e.Tally(bg, Series{Target: "api"}, r.Start, r.Start.Add(24*time.Hour))
		fatalIf(t, err, "tally")
		if i > 0 && !got[api.ID][i-1].Start.Before(r.Start) || !cmp.Equal(day, r.Tally, cmpTally) {
			t.Errorf("day %d (%v) out of order, or not the day's tally", i, r.Start)
		}
	}
}

func testListByName(t *testing.T, e *env) {
	for _, n := range []string{"pay_api", "payments", "paypal", "web", "xpay"} {
		e.mustCreate(t, n, nil)
	}
	for _, tc := range []struct {
		name string
		want []string
	}{
		{"pay", []string{"pay_api", "payments", "paypal", "xpay"}},
		{"y_", []string{"pay_api"}},
		{"%", nil},
		{"PAY", []string{"pay_api", "payments", "paypal", "xpay"}},
	} {
		got, err := e.ListTargets(bg, uptime.TargetFilter{Name: tc.name})
		fatalIf(t, err, "list")
		var names []string
		for _, s := range got {
			names = append(names, s.Target.Name)
		}
		if !cmp.Equal(names, tc.want) {
			t.Errorf("name %q: %v, want %v", tc.name, names, tc.want)
		}
	}
}

func testPageHistory(t *testing.T, e *env) {
	api, other, start := pageFixture(t, e)
	now := e.clock.Now()
	windows := []uptime.Interval{
		{From: now.Add(-24 * time.Hour), To: now},
		{From: now.Add(-30 * 24 * time.Hour), To: now},
		{From: uptime.Day.Bucket(now), To: now},
		{From: start.Add(10 * time.Hour), To: start.Add(40*time.Hour + 17*time.Minute)},
		{From: now, To: now},
		{From: uptime.Hour.Bucket(now.Add(-26 * time.Hour)), To: now.Add(-2 * time.Hour)},
	}
	days := uptime.Interval{From: start.Add(-90 * 24 * time.Hour), To: now}
	// Each window asked whole and briefly, alone and with the others: the
	// rows read whole for some and briefly for others add up alike.
	for _, q := range []uptime.PageQuery{
		{Tallies: windows, Briefs: windows, Days: days},
		{Tallies: windows[:1], Briefs: windows[1:], Days: days},
		{Tallies: windows[3:], Briefs: windows, Days: days},
		{Briefs: windows, Days: days},
		{Tallies: windows},
	} {
		q.IDs = []int64{other.ID, api.ID, 9999}
		got, err := e.PageHistory(bg, q)
		fatalIf(t, err, "page history")
		check := func(kind string, w uptime.Interval, tg *uptime.Target, f func(one uptime.Tally) string) {
			one, err := e.Tally(bg, Series{Target: tg.Name}, w.From, w.To)
			fatalIf(t, err, "tally")
			if diff := f(one); diff != "" {
				t.Errorf("%s window %v – %v, %s (-Tally +PageHistory):\n%s", kind, w.From, w.To, tg.Name, diff)
			}
		}
		for _, tg := range []*uptime.Target{api, other} {
			for i, w := range q.Tallies {
				check("whole", w, tg, func(one uptime.Tally) string { return cmp.Diff(one, got.Tallies[i][tg.ID], cmpTally) })
			}
			for i, w := range q.Briefs {
				check("brief", w, tg, func(one uptime.Tally) string { return cmp.Diff(one.Brief(), got.Briefs[i][tg.ID]) })
			}
		}
		if len(got.Tallies) != len(q.Tallies) || len(got.Briefs) != len(q.Briefs) || len(got.Tallies) > 0 && len(got.Tallies[0]) != 2 {
			t.Errorf("%d and %d windows, the first of %d targets; want %d, %d, of 2 (the unknown id left out)",
				len(got.Tallies), len(got.Briefs), len(got.Tallies[0]), len(q.Tallies), len(q.Briefs))
		}
		want := e.dayRollups(t, []int64{api.ID, other.ID}, days.From, days.To)
		wantDays := map[int64][]uptime.Brief{}
		for id, rs := range want {
			for _, r := range rs {
				b := r.Brief()
				b.Start = r.Start
				wantDays[id] = append(wantDays[id], b)
			}
		}
		if q.Days.From.IsZero() {
			wantDays = map[int64][]uptime.Brief{}
		} else if len(wantDays[api.ID]) != 3 {
			t.Errorf("api has %d days, want 3", len(wantDays[api.ID]))
		}
		if diff := cmp.Diff(wantDays, got.Days); diff != "" {
			t.Errorf("the days read with the windows differ from the day rollups (-DayRollups +PageHistory):\n%s", diff)
		}
	}
}

func testStateCounts(t *testing.T, e *env) {
	got, err := e.StateCounts(bg)
	fatalIf(t, err, "state counts")
	if len(got) != 0 {
		t.Errorf("no targets counted %v", got)
	}
	at := e.clock.Now()
	judge := func(tg *uptime.Target, st uptime.Status) {
		e.Record(uptime.Observation{Result: uptime.Result{TargetID: tg.ID, StartedAt: at, Status: st},
			State: uptime.State{Status: st, Since: at, LastCheck: at, LastResult: st}})
	}
	e.mustCreate(t, "new", nil) // never judged
	for i, st := range []uptime.Status{uptime.StatusUp, uptime.StatusUp, uptime.StatusDegraded, uptime.StatusDown, uptime.StatusUnknown} {
		judge(e.mustCreate(t, fmt.Sprintf("t%d", i), nil), st)
	}
	for i, st := range []uptime.Status{uptime.StatusDown, uptime.StatusUp} {
		tg := newTarget(fmt.Sprintf("paused%d", i), nil)
		tg.Paused = true
		fatalIf(t, e.CreateTarget(bg, tg), "create paused")
		judge(tg, st)
	}
	paused := newTarget("paused-new", nil)
	paused.Paused = true
	fatalIf(t, e.CreateTarget(bg, paused), "create paused")
	e.mustFlush(t)
	got, err = e.StateCounts(bg)
	fatalIf(t, err, "state counts")
	want := map[string]int{"unknown": 2, "up": 2, "degraded": 1, "down": 1, "paused": 3}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("state counts (-want +got):\n%s", diff)
	}
}
