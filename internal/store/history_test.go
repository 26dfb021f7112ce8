package store

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/lookout/lookout/internal/uptime"
)

func TestHistory(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, e *env)
	}{
		{"rollups and the raw tail answer as the checks do", testRollupsAnswerAsChecks},
		{"rolling up again counts nothing twice", testRollUpIdempotent},
		{"trend buckets add up to the window", testTrendBuckets},
		{"unknown series and bad steps", testHistoryErrors},
		{"paused time is left out", testPausedTime},
		{"a pruned database answers the same uptime", testPrunedAnswersTheSame},
		{"the delivery log is pruned, pending alerts kept", testPruneDeliveries},
		{"the fleet and daily tallies add targets up", testFleet},
		{"target names by label", testTargetNames},
		{"kept sums of days go with their target", testKeptDaysForgotten},
		{"maintenance is left out of uptime", testMaintenanceLeftOut},
		{"the time since the latest check counts up to now", testOpenStretch},
	}
	forEachBackend(t, func(t *testing.T, b backend) {
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				tc.run(t, openEnv(t, b, func(o *Options) { o.MaintenanceWindows = oneOffWindows }))
			})
		}
	})
}

// oneOffWindows is Options.MaintenanceWindows for one-off windows only.
func oneOffWindows(m uptime.Maintenance, labels map[string]string, from, to time.Time) []uptime.Interval {
	if m.Schedule != "" || !uptime.Matches(labels, m.Matchers) || !m.StartsAt.Before(to) || !m.EndsAt.After(from) {
		return nil
	}
	return []uptime.Interval{{From: m.StartsAt, To: m.EndsAt}}
}

// every is the fixture's check interval: three days of checks every 5
// minutes are few enough to write and roll up quickly under the race
// detector, and still fill every hour and day bucket.
const every = 5 * time.Minute

// historyFixture stores three days of checks of one target every 5
// minutes, with an outage of 7 checks, a stop of 20 checks (Lookout not
// running) and latencies that vary, and returns them with the clock at the
// end.
func historyFixture(t *testing.T, e *env) (*uptime.Target, []uptime.Point) {
	t.Helper()
	tg := e.mustCreate(t, "api", nil)
	fatalIf(t, e.mustUpdate(tg, func(x *uptime.Target) { x.Interval = uptime.Duration(every) }), "set interval")
	start := e.clock.Now()
	var pts []uptime.Point
	for i := range int(3 * 24 * time.Hour / every) {
		if i >= 400 && i < 420 {
			continue // not running
		}
		p := uptime.Point{At: start.Add(time.Duration(i)*every + 1500*time.Millisecond),
			Status: uptime.StatusUp, Latency: time.Duration(10+i%90) * time.Millisecond}
		if i >= 200 && i < 207 {
			p.Status = uptime.StatusDown
		}
		pts = append(pts, p)
		r := uptime.Result{TargetID: tg.ID, StartedAt: p.At, Duration: p.Latency, Status: p.Status}
		e.Record(uptime.Observation{Result: r})
	}
	e.mustFlush(t)
	e.clock.Advance(3 * 24 * time.Hour)
	return tg, pts
}

// want is what the checks themselves add up to over [from, to), by the
// same rules, with the minute buckets that start in it.
func want(pts []uptime.Point, from, to time.Time, now time.Time, gap time.Duration) uptime.Tally {
	rs, last := uptime.RollUp(uptime.Point{}, pts, gap, nil, nil)
	var t uptime.Tally
	for i := range rs {
		if !rs[i].Start.Before(uptime.Minute.Bucket(from)) && rs[i].Start.Before(to) {
			t.Merge(&rs[i].Tally)
		}
	}
	if !to.Before(now) {
		t.AddSpan(last.Status, last.At, last.At, now, gap, nil, nil)
	}
	return t
}

// cmpTally compares tallies (histograms whole, by their Equal).
var cmpTally = cmpopts.EquateEmpty()

func testRollupsAnswerAsChecks(t *testing.T, e *env) {
	tg, pts := historyFixture(t, e)
	now := e.clock.Now()
	start := pts[0].At
	windows := [][2]time.Time{
		{start, now},
		{start.Add(10 * time.Hour), start.Add(40*time.Hour + 17*time.Minute)},
		{start.Add(16 * time.Hour), start.Add(17 * time.Hour)},
		{now.Add(-24 * time.Hour), now},
		{now.Add(-5 * time.Minute), now},
	}
	check := func(label string) {
		t.Helper()
		for _, w := range windows {
			got, err := e.Tally(bg, Series{Target: "api"}, w[0], w[1])
			fatalIf(t, err, "tally")
			if diff := cmp.Diff(want(pts, w[0], w[1], now, 2*every), got, cmpTally); diff != "" {
				t.Errorf("%s: window %v – %v (-checks +store):\n%s", label, w[0], w[1], diff)
			}
		}
	}
	check("nothing rolled up")
	// Up to an hour and a bit before now: days, hours and minutes rolled
	// up, the rest read from the checks.
	wm, err := e.RollUp(bg, now.Add(-70*time.Minute))
	fatalIf(t, err, "roll up")
	if want := uptime.Minute.Bucket(now.Add(-70 * time.Minute)); !wm.Equal(want) {
		t.Errorf("watermark %v, want %v", wm, want)
	}
	check("rolled up")
	check("rolled up, the whole days' sums kept")
	var days int
	fatalIf(t, e.rdb.QueryRow(`SELECT COUNT(*) FROM rollups WHERE target_id = $1 AND res = 2`, tg.ID).Scan(&days), "count days")
	if days != 3 {
		t.Errorf("%d day rollups, want 3", days)
	}
	// The outage is 7 intervals, whatever reads it.
	got, err := e.Tally(bg, Series{Target: "api"}, start, now)
	fatalIf(t, err, "tally")
	if got.DownTime != 7*every || got.Down != 7 {
		t.Errorf("outage: %s down over %d checks, want %s over 7", got.DownTime, got.Down, 7*every)
	}
	// 21 intervals pass between the checks around the stop, of which the
	// first check vouches for 2.
	if got.UnknownTime != 19*every {
		t.Errorf("the stop of 20 checks counts %s unknown, want %s", got.UnknownTime, 19*every)
	}
}

func testRollUpIdempotent(t *testing.T, e *env) {
	_, pts := historyFixture(t, e)
	now := e.clock.Now()
	_, err := e.RollUp(bg, now.Add(-36*time.Hour))
	fatalIf(t, err, "roll up")
	// A crash after writing a step's rows but before moving the watermark:
	// the step is computed again.
	w, err := e.Watermark(bg)
	fatalIf(t, err, "watermark")
	_, err = e.RollUp(bg, now.Add(-30*time.Hour))
	fatalIf(t, err, "roll up")
	_, err = e.wdb.Exec(`UPDATE rollup_state SET value = $1`, w.UnixMilli())
	fatalIf(t, err, "rewind")
	for range 2 {
		_, err = e.RollUp(bg, now)
		fatalIf(t, err, "roll up again")
	}
	got, err := e.Tally(bg, Series{Target: "api"}, pts[0].At, now)
	fatalIf(t, err, "tally")
	if diff := cmp.Diff(want(pts, pts[0].At, now, now, 2*every), got, cmpTally); diff != "" {
		t.Errorf("after a repeated step (-checks +store):\n%s", diff)
	}
}

func testTrendBuckets(t *testing.T, e *env) {
	_, pts := historyFixture(t, e)
	now := e.clock.Now()
	_, err := e.RollUp(bg, now.Add(-3*time.Hour-5*time.Minute))
	fatalIf(t, err, "roll up")
	start := pts[0].At
	whole := want(pts, start, now, now, 2*every)
	for _, step := range []time.Duration{5 * time.Minute, time.Hour, 24 * time.Hour} {
		rs, err := e.Trend(bg, Series{Target: "api"}, start, now, step)
		fatalIf(t, err, "trend %s", step)
		var sum uptime.Tally
		for i, r := range rs {
			if !r.Start.Equal(r.Start.Truncate(step)) || i > 0 && !rs[i-1].Start.Before(r.Start) {
				t.Errorf("step %s: bucket %v out of order or not aligned", step, r.Start)
			}
			sum.Merge(&rs[i].Tally)
		}
		if diff := cmp.Diff(whole, sum, cmpTally); diff != "" {
			t.Errorf("step %s: buckets add up to (-checks +trend):\n%s", step, diff)
		}
	}
	rs, err := e.Trend(bg, Series{Target: "api"}, start, now, 24*time.Hour)
	fatalIf(t, err, "trend")
	// The first day holds the 12 hours from noon, the second the outage
	// and the stop.
	perDay := int(24 * time.Hour / every)
	if len(rs) != 4 || rs[0].DownTime != 0 || rs[0].Checks() != perDay/2 || rs[1].DownTime != 7*every || rs[1].Checks() != perDay-20 {
		for _, r := range rs {
			t.Logf("%v checks %d down %s", r.Start, r.Checks(), r.DownTime)
		}
		t.Errorf("daily trend: %d buckets", len(rs))
	}
}

func testHistoryErrors(t *testing.T, e *env) {
	e.mustCreate(t, "api", nil)
	now := e.clock.Now()
	if _, err := e.Tally(bg, Series{Target: "nope"}, now.Add(-time.Hour), now); !isNotFound(err) {
		t.Errorf("unknown target: %v", err)
	}
	if _, err := e.Tally(bg, Series{Target: "api", Component: "db"}, now.Add(-time.Hour), now); !isNotFound(err) {
		t.Errorf("unknown component: %v", err)
	}
	if _, err := e.Trend(bg, Series{Target: "api"}, now.Add(-time.Hour), now, 30*time.Second); !isInvalid(err, "step") {
		t.Errorf("step under a minute: %v", err)
	}
	if _, err := e.Trend(bg, Series{Target: "api"}, now.Add(-365*24*time.Hour), now, time.Minute); !isInvalid(err, "step") {
		t.Errorf("half a million buckets: %v", err)
	}
}

func isNotFound(err error) bool { return errors.Is(err, uptime.ErrNotFound) }

// isInvalid reports whether err is a validation error naming field.
func isInvalid(err error, field string) bool {
	var v *uptime.ValidationError
	if !errors.As(err, &v) {
		return false
	}
	for _, f := range v.Errors {
		if f.Field == field {
			return true
		}
	}
	return false
}

func testPausedTime(t *testing.T, e *env) {
	tg := e.mustCreate(t, "api", nil)
	fatalIf(t, e.mustUpdate(tg, func(x *uptime.Target) { x.Interval = uptime.Duration(time.Minute) }), "set interval")
	start := e.clock.Now()
	record := func(from, to int) {
		for i := from; i < to; i++ {
			e.Record(uptime.Observation{Result: uptime.Result{TargetID: tg.ID,
				StartedAt: start.Add(time.Duration(i) * time.Minute), Status: uptime.StatusUp, Duration: time.Millisecond}})
		}
		e.mustFlush(t)
	}
	record(0, 21)
	e.clock.Advance(20*time.Minute + 30*time.Second)
	fatalIf(t, e.mustUpdate(tg, func(x *uptime.Target) { x.Paused = true }), "pause")
	e.clock.Advance(20 * time.Minute)
	fatalIf(t, e.mustUpdate(tg, func(x *uptime.Target) { x.Paused = false }), "resume")
	record(41, 60)
	e.clock.Advance(19*time.Minute + 30*time.Second) // one hour after start
	for _, rolled := range []bool{false, true} {
		if rolled {
			_, err := e.RollUp(bg, e.clock.Now())
			fatalIf(t, err, "roll up")
		}
		got, err := e.Tally(bg, Series{Target: "api"}, start, e.clock.Now())
		fatalIf(t, err, "tally")
		// Up until the pause and after the first check after it; the 30 s
		// from the resume to that check no check vouched for.
		if got.PausedTime != 20*time.Minute || got.UnknownTime != 30*time.Second || got.UpTime != 39*time.Minute+30*time.Second {
			t.Errorf("rolled up %v: up %s, paused %s, unknown %s; want 39m30s up, 20m paused, 30s unknown",
				rolled, got.UpTime, got.PausedTime, got.UnknownTime)
		}
	}
}

func testPrunedAnswersTheSame(t *testing.T, e *env) {
	tg, pts := historyFixture(t, e)
	now := e.clock.Now()
	_, err := e.RollUp(bg, now.Add(-5*time.Minute))
	fatalIf(t, err, "roll up")
	start := pts[0].At
	// Old windows (hour-aligned where the minute rollups go) and recent
	// ones, ending in the past and reaching the present.
	windows := [][2]time.Time{
		{start, now},
		{uptime.Hour.Bucket(start.Add(3 * time.Hour)), uptime.Hour.Bucket(start.Add(30 * time.Hour))},
		{start.Add(30 * time.Hour), start.Add(50*time.Hour + 13*time.Minute)},
		{now.Add(-24 * time.Hour), now},
		{now.Add(-time.Hour), now},
	}
	before := make([]uptime.Tally, len(windows))
	for i, w := range windows {
		before[i], err = e.Tally(bg, Series{Target: "api"}, w[0], w[1])
		fatalIf(t, err, "tally before")
	}
	raw := e.count(t, "results")
	fleetDay, _, err := e.FleetTally(bg, now.Add(-24*time.Hour), now)
	fatalIf(t, err, "fleet before")
	oldFleetMinutes := func() int {
		var n int
		fatalIf(t, e.rdb.QueryRow(`SELECT COUNT(*) FROM fleet_rollups WHERE res = 0 AND bucket < $1`,
			now.Add(-48*time.Hour).UnixMilli()).Scan(&n), "count the fleet's minutes")
		return n
	}
	if oldFleetMinutes() == 0 {
		t.Fatal("the fixture has no fleet minutes older than two days")
	}
	// Keep a day of checks and two days of minute rollups.
	st, err := e.Prune(bg, now, Retention{Raw: 24 * time.Hour, Minute: 48 * time.Hour})
	fatalIf(t, err, "prune")
	if n := oldFleetMinutes(); n != 0 {
		t.Errorf("%d of the fleet's minute rollups are left, older than two days", n)
	}
	after, _, err := e.FleetTally(bg, now.Add(-24*time.Hour), now)
	fatalIf(t, err, "fleet after")
	if diff := cmp.Diff(fleetDay, after, cmpTally); diff != "" {
		t.Errorf("the fleet's last day before and after pruning (-before +after):\n%s", diff)
	}
	if st.Results < int64(raw)/2 || st.Rollups == 0 {
		t.Errorf("pruned %+v of %d results, want most results and some minute rollups gone", st, raw)
	}
	var oldest int64
	fatalIf(t, e.rdb.QueryRow(`SELECT MIN(ts) FROM results WHERE target_id = $1`, tg.ID).Scan(&oldest), "oldest")
	if msTime(oldest).Before(now.Add(-24 * time.Hour)) {
		t.Errorf("a result of %v is left, older than a day", msTime(oldest))
	}
	for i, w := range windows {
		after, err := e.Tally(bg, Series{Target: "api"}, w[0], w[1])
		fatalIf(t, err, "tally after")
		if diff := cmp.Diff(before[i], after, cmpTally); diff != "" {
			t.Errorf("window %v – %v before and after pruning (-before +after):\n%s", w[0], w[1], diff)
		}
	}
}

func testPruneDeliveries(t *testing.T, e *env) {
	e.mustChannel(t, "ops", func(c *uptime.Channel) { c.Default = true })
	a := e.mustCreate(t, "a", nil)
	b := e.mustCreate(t, "b", nil)
	t0 := e.clock.Now()
	e.recordEvents(t, a, t0, opened(t0))
	e.recordEvents(t, b, t0, opened(t0))
	for _, d := range e.deliveries(t, uptime.DeliveryFilter{Target: "a"}) {
		fatalIf(t, e.FinishDelivery(bg, d.ID, uptime.DeliveryUpdate{Status: uptime.DeliveryDelivered, At: t0}), "finish")
	}
	st, err := e.Prune(bg, t0.Add(31*24*time.Hour), Retention{Deliveries: DefaultDeliveriesRetention})
	fatalIf(t, err, "prune")
	if st.Deliveries != 1 || st.Events != 1 {
		t.Errorf("pruned %+v, want a's delivered opening and its event", st)
	}
	left := e.deliveries(t, uptime.DeliveryFilter{})
	if len(left) != 1 || left[0].Event.Target != "b" || left[0].Status != uptime.DeliveryPending {
		t.Errorf("left %+v, want b's pending opening", left)
	}
	if in, err := e.OpenIncident(bg, a.ID); err != nil || in.ID == 0 {
		t.Errorf("a's incident is gone with its alerts: %+v %v", in, err)
	}
}

func testFleet(t *testing.T, e *env) {
	tg, pts := historyFixture(t, e)
	other := e.mustCreate(t, "other", nil)
	now := e.clock.Now()
	for i := range 3 * 24 {
		at := pts[0].At.Add(time.Duration(i) * time.Hour)
		e.Record(uptime.Observation{Result: uptime.Result{TargetID: other.ID, StartedAt: at, Status: uptime.StatusDown, Duration: time.Second}})
	}
	e.mustFlush(t)
	w, err := e.RollUp(bg, now.Add(-10*time.Minute))
	fatalIf(t, err, "roll up")
	var sum uptime.Tally
	for _, name := range []string{"api", "other"} {
		got, err := e.Tally(bg, Series{Target: name}, pts[0].At, w)
		fatalIf(t, err, "tally %s", name)
		sum.Merge(&got)
	}
	fleetTally, asOf, err := e.FleetTally(bg, pts[0].At, now)
	fatalIf(t, err, "fleet")
	if !asOf.Equal(w) {
		t.Errorf("fleet as of %v, want the watermark %v", asOf, w)
	}
	if diff := cmp.Diff(sum, fleetTally, cmpTally); diff != "" {
		t.Errorf("fleet up to the watermark (-targets +fleet):\n%s", diff)
	}
	daily := func() map[int64]uptime.Tally {
		t.Helper()
		out := map[int64]uptime.Tally{}
		var last int64
		fatalIf(t, e.EachDailyTally(bg, pts[0].At, now, func(id int64, t *uptime.Tally) {
			if id <= last {
				panic("targets out of order")
			}
			out[id], last = *t, id
		}), "daily")
		return out
	}
	days := daily()
	api, err := e.Tally(bg, Series{Target: "api"}, uptime.Day.Bucket(pts[0].At), uptime.Day.Bucket(now))
	fatalIf(t, err, "tally api by day")
	if got := days[tg.ID]; len(days) != 2 || !cmp.Equal(api, got, cmpTally) {
		t.Errorf("daily tallies of %d targets; api's %+v, want %+v", len(days), got, api)
	}
	// Those days are rolled up: asked again, they are what is kept.
	if again := daily(); !cmp.Equal(days, again, cmpTally) {
		t.Errorf("daily tallies asked again:\n%s", cmp.Diff(days, again, cmpTally))
	}
	fatalIf(t, e.DeleteTarget(bg, "other"), "delete other")
	if after := daily(); len(after) != 1 || !cmp.Equal(api, after[tg.ID], cmpTally) {
		t.Errorf("daily tallies of %d targets after other's removal, want api's alone", len(after))
	}
}

// testKeptDaysForgotten: the sums of whole days kept for a series go with
// its target, so that a component of a target made after (SQLite may give
// it the same id) does not show them.
func testKeptDaysForgotten(t *testing.T, e *env) {
	record := func(tg *uptime.Target, at time.Time) {
		e.Record(uptime.Observation{Result: uptime.Result{TargetID: tg.ID, StartedAt: at, Status: uptime.StatusUp,
			Components: []uptime.Component{{Name: "db", Status: uptime.StatusUp}}}})
	}
	tg := e.mustCreate(t, "api", nil)
	start := e.clock.Now()
	n := int(3 * 24 * time.Hour / every)
	for i := range n {
		record(tg, start.Add(time.Duration(i)*every))
	}
	e.mustFlush(t)
	e.clock.Advance(3 * 24 * time.Hour)
	now := e.clock.Now()
	_, err := e.RollUp(bg, now)
	fatalIf(t, err, "roll up")
	for range 2 { // the second time from the kept sums
		got, err := e.Tally(bg, Series{Target: "api", Component: "db"}, start, now)
		fatalIf(t, err, "tally")
		if got.Checks() != n {
			t.Fatalf("%d checks of db, want the fixture's %d", got.Checks(), n)
		}
	}
	fatalIf(t, e.DeleteTarget(bg, "api"), "delete")
	again := e.mustCreate(t, "again", nil)
	record(again, now.Add(-time.Minute))
	e.mustFlush(t)
	got, err := e.Tally(bg, Series{Target: "again", Component: "db"}, start, now)
	fatalIf(t, err, "tally")
	if got.Checks() != 1 {
		t.Errorf("a new target's component shows %d checks, want its one", got.Checks())
	}
}

func testTargetNames(t *testing.T, e *env) {
	a := e.mustCreate(t, "a", map[string]string{"team": "core", "tier": "1"})
	b := e.mustCreate(t, "b", map[string]string{"team": "core"})
	c := e.mustCreate(t, "c", nil)
	for _, tc := range []struct {
		labels map[string]string
		want   map[int64]string
	}{
		{nil, map[int64]string{a.ID: "a", b.ID: "b", c.ID: "c"}},
		{map[string]string{"team": "core"}, map[int64]string{a.ID: "a", b.ID: "b"}},
		{map[string]string{"team": "core", "tier": "1"}, map[int64]string{a.ID: "a"}},
		{map[string]string{"team": "edge"}, map[int64]string{}},
	} {
		got, err := e.TargetNames(bg, tc.labels)
		fatalIf(t, err, "target names")
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("names of %v (-want +got):\n%s", tc.labels, diff)
		}
	}
}

func testMaintenanceLeftOut(t *testing.T, e *env) {
	tg := e.mustCreate(t, "api", map[string]string{"team": "core"})
	fatalIf(t, e.mustUpdate(tg, func(x *uptime.Target) { x.Interval = uptime.Duration(time.Minute) }), "set interval")
	other := e.mustCreate(t, "other", map[string]string{"team": "edge"})
	start := e.clock.Now()
	// Both down from minute 10 to 40; the window covers 5 to 45 for core.
	for i := range 60 {
		st := uptime.StatusUp
		if i >= 10 && i < 40 {
			st = uptime.StatusDown
		}
		for _, id := range []int64{tg.ID, other.ID} {
			e.Record(uptime.Observation{Result: uptime.Result{TargetID: id, StartedAt: start.Add(time.Duration(i) * time.Minute), Status: st}})
		}
	}
	e.mustFlush(t)
	fatalIf(t, e.CreateMaintenance(bg, &uptime.Maintenance{Matchers: map[string]string{"team": "core"},
		StartsAt: start.Add(5 * time.Minute), EndsAt: start.Add(45 * time.Minute)}), "create maintenance")
	e.clock.Advance(time.Hour)
	for _, rolled := range []bool{false, true} {
		if rolled {
			_, err := e.RollUp(bg, e.clock.Now())
			fatalIf(t, err, "roll up")
		}
		api, err := e.Tally(bg, Series{Target: "api"}, start, start.Add(59*time.Minute))
		fatalIf(t, err, "tally api")
		if api.DownTime != 0 || api.MaintenanceTime != 40*time.Minute || api.UpTime != 18*time.Minute {
			t.Errorf("rolled up %v: api in maintenance: up %s down %s maintenance %s; want 18m, 0, 40m",
				rolled, api.UpTime, api.DownTime, api.MaintenanceTime)
		}
		o, err := e.Tally(bg, Series{Target: "other"}, start, start.Add(59*time.Minute))
		fatalIf(t, err, "tally other")
		if o.DownTime != 30*time.Minute || o.MaintenanceTime != 0 {
			t.Errorf("rolled up %v: other, not matched: down %s maintenance %s", rolled, o.DownTime, o.MaintenanceTime)
		}
	}
}

// testOpenStretch: a window that ends a moment before the store's now (the
// caller read its clock first) still counts the time since the latest
// check, as one that ends at now does.
func testOpenStretch(t *testing.T, e *env) {
	tg := e.mustCreate(t, "api", nil)
	at := e.clock.Now()
	e.Record(uptime.Observation{Result: uptime.Result{TargetID: tg.ID, StartedAt: at, Status: uptime.StatusUp}})
	e.mustFlush(t)
	e.clock.Advance(20 * time.Second)
	for _, to := range []time.Time{e.clock.Now(), e.clock.Now().Add(-time.Microsecond)} {
		got, err := e.Tally(bg, Series{Target: "api"}, at.Add(-time.Hour), to)
		fatalIf(t, err, "tally")
		if got.UpTime != 20*time.Second {
			t.Errorf("window to %v: up %s, want the 20s since the check", to, got.UpTime)
		}
	}
}
