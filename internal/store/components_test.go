package store

import (
	"context"
	"errors"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lookout/lookout/internal/uptime"
)

// TestComponents runs the component behaviours against every backend.
func TestComponents(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, e *env)
	}{
		{"components are upserted and since moves only on a status change, batched or not", testComponentUpsert},
		{"a late result does not overwrite a component's state", testComponentLateResult},
		{"history comes back newest first, bounded by from, to and limit", testComponentHistory},
		{"uptime is time-weighted over a window with a gap", testComponentUptime},
		{"results without components write no component rows", testNoComponentRows},
		{"unknown targets and components are not found", testComponentNotFound},
		{"odd names and values are stored cleaned, never failing the batch", testComponentCleaning},
		{"deleting the target deletes its components and their history", testComponentCascade},
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

// cobs is an observation of target id at at whose health document
// reported comps. The check's own status is the worst of them.
func cobs(id int64, at time.Time, comps ...uptime.Component) uptime.Observation {
	st := uptime.StatusUp
	for _, c := range comps {
		st = uptime.Worst(st, c.Status)
	}
	o := obs(id, at, st, "component down")
	o.Result.Components = comps
	return o
}

func comp(name string, st uptime.Status) uptime.Component {
	return uptime.Component{Name: name, Status: st}
}

func (e *env) components(t testing.TB, id int64) []uptime.ComponentState {
	t.Helper()
	cs, err := e.Components(bg, id)
	fatalIf(t, err, "components")
	return cs
}

func testComponentUpsert(t *testing.T, e *env) {
	up, down := uptime.StatusUp, uptime.StatusDown
	base := e.clock.Now().Add(-time.Hour)
	at := func(i int) time.Time { return base.Add(time.Duration(i) * 30 * time.Second) }
	script := []uptime.Observation{}
	add := func(i int, comps ...uptime.Component) {
		script = append(script, cobs(0, at(i), comps...))
	}
	add(0, comp("db", up), uptime.Component{Name: "broker.us1", Status: up, Observed: 12, Unit: "ms", Output: "fine"})
	add(1, comp("db", up), uptime.Component{Name: "broker.us1", Status: up, Observed: 15, Unit: "ms"})
	add(2, comp("db", down), comp("broker.us1", up))
	add(3, comp("db", down))
	add(4, comp("db", up))
	want := []uptime.ComponentState{
		{Name: "broker.us1", Status: up, Since: at(0), LastSeen: at(2)},
		{Name: "db", Status: up, Since: at(4), LastSeen: at(4)},
	}
	wantAt3 := []uptime.ComponentState{
		{Name: "broker.us1", Status: up, Since: at(0), LastSeen: at(2)},
		{Name: "db", Status: down, Since: at(2), LastSeen: at(3)},
	}
	// The same script in one batch (several results of a target in one
	// transaction) and one batch per result must give the same state.
	for _, mode := range []string{"one batch", "a batch each"} {
		t.Run(mode, func(t *testing.T) {
			tg := e.mustCreate(t, strings.ReplaceAll(mode, " ", "-"), nil)
			for i, o := range script {
				o.Result.TargetID = tg.ID
				e.Record(o)
				if mode == "a batch each" {
					e.mustFlush(t)
				}
				if mode == "a batch each" && i == 3 {
					if diff := cmp.Diff(wantAt3, e.components(t, tg.ID)); diff != "" {
						t.Errorf("after the 4th check (-want +got):\n%s", diff)
					}
				}
			}
			e.mustFlush(t)
			if diff := cmp.Diff(want, e.components(t, tg.ID)); diff != "" {
				t.Errorf("components (-want +got):\n%s", diff)
			}
			h, err := e.ComponentHistory(bg, tg.ID, "db", time.Time{}, time.Time{}, 0)
			fatalIf(t, err, "history")
			if len(h) != 5 {
				t.Errorf("db has %d points, want 5", len(h))
			}
		})
	}
	// observed, unit and output follow the latest report, including its
	// empty output.
	tg := e.mustCreate(t, "values", nil)
	e.Record(cobs(tg.ID, at(0), uptime.Component{Name: "disk", Status: up, Observed: 0.5, Unit: "ratio", Output: "half full"}))
	e.Record(cobs(tg.ID, at(1), uptime.Component{Name: "disk", Status: up, Observed: 0.75, Unit: "ratio"}))
	e.mustFlush(t)
	got := e.components(t, tg.ID)
	wantV := []uptime.ComponentState{{Name: "disk", Status: up, Since: at(0), LastSeen: at(1), Observed: 0.75, Unit: "ratio"}}
	if diff := cmp.Diff(wantV, got); diff != "" {
		t.Errorf("values (-want +got):\n%s", diff)
	}
}

func testComponentLateResult(t *testing.T, e *env) {
	tg := e.mustCreate(t, "api", nil)
	base := e.clock.Now().Add(-time.Hour)
	e.Record(cobs(tg.ID, base.Add(time.Minute), comp("db", uptime.StatusUp)))
	e.mustFlush(t)
	e.Record(cobs(tg.ID, base, comp("db", uptime.StatusDown)))
	e.mustFlush(t)
	want := []uptime.ComponentState{{Name: "db", Status: uptime.StatusUp, Since: base.Add(time.Minute), LastSeen: base.Add(time.Minute)}}
	if diff := cmp.Diff(want, e.components(t, tg.ID)); diff != "" {
		t.Errorf("components (-want +got):\n%s", diff)
	}
	// The late point is still history.
	h, err := e.ComponentHistory(bg, tg.ID, "db", time.Time{}, time.Time{}, 0)
	fatalIf(t, err, "history")
	if len(h) != 2 || h[1].Status != uptime.StatusDown {
		t.Errorf("history %+v, want the late down point last", h)
	}
}

func testComponentHistory(t *testing.T, e *env) {
	tg := e.mustCreate(t, "api", nil)
	base := e.clock.Now().Add(-time.Hour)
	at := func(i int) time.Time { return base.Add(time.Duration(i) * time.Minute) }
	for i := range 10 {
		st := uptime.StatusUp
		if i%3 == 0 {
			st = uptime.StatusDown
		}
		e.Record(cobs(tg.ID, at(i), uptime.Component{Name: "broker.us1", Status: st, Observed: float64(i)}, comp("other", uptime.StatusUp)))
	}
	e.mustFlush(t)
	point := func(i int) uptime.ComponentPoint {
		st := uptime.StatusUp
		if i%3 == 0 {
			st = uptime.StatusDown
		}
		return uptime.ComponentPoint{At: at(i), Status: st, Observed: float64(i)}
	}
	points := func(is ...int) []uptime.ComponentPoint {
		out := []uptime.ComponentPoint{}
		for _, i := range is {
			out = append(out, point(i))
		}
		return out
	}
	for _, tc := range []struct {
		name     string
		from, to time.Time
		limit    int
		want     []uptime.ComponentPoint
	}{
		{"all", time.Time{}, time.Time{}, 0, points(9, 8, 7, 6, 5, 4, 3, 2, 1, 0)},
		{"limit", time.Time{}, time.Time{}, 3, points(9, 8, 7)},
		{"from inclusive", at(7), time.Time{}, 0, points(9, 8, 7)},
		{"to exclusive", time.Time{}, at(2), 0, points(1, 0)},
		{"from, to and limit", at(2), at(8), 2, points(7, 6)},
		{"empty window", at(20), at(30), 0, points()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := e.ComponentHistory(bg, tg.ID, "broker.us1", tc.from, tc.to, tc.limit)
			fatalIf(t, err, "history")
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("history (-want +got):\n%s", diff)
			}
		})
	}
}

func testComponentUptime(t *testing.T, e *env) {
	tg := e.mustCreate(t, "api", nil) // interval 30s: a status holds 60s at most
	base := e.clock.Now().Add(-time.Hour)
	at := func(s int) time.Time { return base.Add(time.Duration(s) * time.Second) }
	// db: up at 0, 30, 60; Lookout down until 300; down at 300, 330; up
	// at 360. queue: up throughout.
	for _, p := range []struct {
		s  int
		st uptime.Status
	}{{0, uptime.StatusUp}, {30, uptime.StatusUp}, {60, uptime.StatusUp},
		{300, uptime.StatusDown}, {330, uptime.StatusDown}, {360, uptime.StatusUp}} {
		e.Record(cobs(tg.ID, at(p.s), comp("db", p.st), comp("queue", uptime.StatusUp)))
	}
	e.mustFlush(t)
	sec := time.Second
	db := uptime.Tally{Up: 4, Down: 2, UpTime: 120 * sec, DownTime: 60 * sec, UnknownTime: 180 * sec}
	queue := uptime.Tally{Up: 6, UpTime: 180 * sec, UnknownTime: 180 * sec}
	for _, rolled := range []bool{false, true} {
		if rolled {
			_, err := e.RollUp(bg, e.clock.Now())
			fatalIf(t, err, "roll up")
		}
		// A window in the past: the stretches the checks in it end.
		got, err := e.Tally(bg, Series{Target: "api", Component: "db"}, at(0), at(390))
		fatalIf(t, err, "tally db")
		if diff := cmp.Diff(db, got, cmpTally); diff != "" {
			t.Errorf("rolled up %v: db's tally (-want +got):\n%s", rolled, diff)
		}
		all, err := e.ComponentTallies(bg, "api", at(0), at(390))
		fatalIf(t, err, "component tallies")
		if diff := cmp.Diff(map[string]uptime.Tally{"db": db, "queue": queue}, all, cmpTally); diff != "" {
			t.Errorf("rolled up %v: every component's tally (-want +got):\n%s", rolled, diff)
		}
		// Up to now: the last check vouches for 60s, then nothing does.
		all, err = e.ComponentTallies(bg, "api", at(0), e.clock.Now())
		fatalIf(t, err, "component tallies to now")
		if got := all["db"]; got.UpTime != 180*sec || got.UnknownTime != time.Hour-420*sec+180*sec {
			t.Errorf("rolled up %v: db up to now: up %s unknown %s", rolled, got.UpTime, got.UnknownTime)
		}
	}
	if _, err := e.ComponentTallies(bg, "nope", at(0), at(390)); !isNotFound(err) {
		t.Errorf("unknown target: %v", err)
	}
}

func testNoComponentRows(t *testing.T, e *env) {
	tg := e.mustCreate(t, "api", nil)
	for i := range 5 {
		e.Record(obs(tg.ID, e.clock.Now().Add(time.Duration(i)*time.Second), uptime.StatusUp, ""))
	}
	e.mustFlush(t)
	if n, m := e.count(t, "components"), e.count(t, "component_results"); n != 0 || m != 0 {
		t.Errorf("%d component and %d component result rows for results without components", n, m)
	}
	cs := e.components(t, tg.ID)
	if cs == nil || len(cs) != 0 {
		t.Errorf("components %#v, want an empty list", cs)
	}
	if got := batchComponents([]*item{{obs: obs(tg.ID, e.clock.Now(), uptime.StatusUp, "")}}, make([]resultRow, 1)); got.rounds != nil || got.rows != 0 {
		t.Errorf("a batch without components collected %+v", got)
	}
}

func testComponentNotFound(t *testing.T, e *env) {
	tg := e.mustCreate(t, "api", nil)
	e.Record(cobs(tg.ID, e.clock.Now().Add(-time.Minute), comp("db", uptime.StatusUp)))
	e.mustFlush(t)
	now := e.clock.Now()
	for name, err := range map[string]error{
		"components of an unknown target": func() error { _, err := e.Components(bg, tg.ID+100); return err }(),
		"history of an unknown target": func() error {
			_, err := e.ComponentHistory(bg, tg.ID+100, "db", time.Time{}, time.Time{}, 0)
			return err
		}(),
		"history of an unknown component": func() error {
			_, err := e.ComponentHistory(bg, tg.ID, "cache", time.Time{}, time.Time{}, 0)
			return err
		}(),
		"tally of an unknown component": func() error {
			_, err := e.Tally(bg, Series{Target: tg.Name, Component: "cache"}, now.Add(-time.Hour), now)
			return err
		}(),
	} {
		if !errors.Is(err, uptime.ErrNotFound) {
			t.Errorf("%s: %v, want ErrNotFound", name, err)
		}
	}
}

func testComponentCleaning(t *testing.T, e *env) {
	tg := e.mustCreate(t, "api", nil)
	at := e.clock.Now().Add(-time.Minute)
	long := strings.Repeat("n", 300)
	e.Record(cobs(tg.ID, at,
		uptime.Component{Name: long, Status: uptime.StatusUp},
		uptime.Component{Name: "dup", Status: uptime.StatusUp, Output: "first"},
		uptime.Component{Name: "dup", Status: uptime.StatusDown, Output: "second"},
		uptime.Component{Name: "nul\x00\xff", Status: uptime.StatusUp, Observed: math.NaN(), Unit: strings.Repeat("u", 100)},
		uptime.Component{Name: "inf", Status: uptime.StatusUp, Observed: math.Inf(1)},
		uptime.Component{Name: "", Status: uptime.StatusUp},
	))
	e.mustFlush(t)
	if st := e.WriterStats(); st.Failed != 0 || st.Written != 1 {
		t.Fatalf("writer stats %+v, want one result written and no failure", st)
	}
	got := e.components(t, tg.ID)
	var names []string
	for _, c := range got {
		names = append(names, c.Name)
		if len(c.Name) > uptime.MaxComponentNameLen || len(c.Unit) > uptime.MaxComponentUnitLen || c.Observed != 0 && c.Name != "dup" {
			t.Errorf("component not cleaned: %+v", c)
		}
		if c.Name == "dup" && (c.Output != "first" || c.Status != uptime.StatusUp) {
			t.Errorf("duplicate name kept %+v, want the first", c)
		}
	}
	cut := uptime.Truncate(long, uptime.MaxComponentNameLen)
	want := []string{"dup", "inf", cut, "nul\uFFFD"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
}

func testComponentCascade(t *testing.T, e *env) {
	gone := e.mustCreate(t, "gone", nil)
	kept := e.mustCreate(t, "kept", nil)
	at := e.clock.Now().Add(-time.Minute)
	e.Record(cobs(gone.ID, at, comp("db", uptime.StatusUp), comp("cache", uptime.StatusUp)))
	e.Record(cobs(kept.ID, at, comp("db", uptime.StatusUp)))
	e.mustFlush(t)
	fatalIf(t, e.mustUpdate(gone, func(x *uptime.Target) { x.Paused = true }), "pause")
	e.clock.Advance(5 * time.Minute)
	_, err := e.RollUp(bg, e.clock.Now())
	fatalIf(t, err, "roll up")
	// A minute and its hour for each target, and for each component.
	if n, m := e.count(t, "rollups"), e.count(t, "component_rollups"); n != 4 || m != 6 {
		t.Fatalf("test setup: %d rollups, %d component rollups; want 4 and 6", n, m)
	}
	fatalIf(t, e.DeleteTarget(bg, "gone"), "delete")
	if n, m := e.count(t, "components"), e.count(t, "component_results"); n != 1 || m != 1 {
		t.Errorf("after delete: %d components, %d component results; want only kept's 1 and 1", n, m)
	}
	if n, m, p := e.count(t, "rollups"), e.count(t, "component_rollups"), e.count(t, "target_pauses"); n != 2 || m != 2 || p != 0 {
		t.Errorf("after delete: %d rollups, %d component rollups, %d paused spans; want kept's 2, 2 and none", n, m, p)
	}
	// Components of a target deleted while its results were queued are
	// dropped with them, not retried.
	e.Record(cobs(gone.ID, at.Add(time.Second), comp("db", uptime.StatusUp)))
	e.mustFlush(t)
	if st := e.WriterStats(); st.Failed != 0 {
		t.Errorf("writer failed %d times on a deleted target's components: %s", st.Failed, st.LastError)
	}
	if n := e.count(t, "components"); n != 1 {
		t.Errorf("%d components after a deleted target's result, want 1", n)
	}
}

// A result's many components split over several statements, and several
// targets' results in one batch, all land.
func TestComponentsManyInOneBatch(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := openEnv(t, b)
		at := e.clock.Now().Add(-time.Hour)
		var ids []int64
		for i := range 3 {
			ids = append(ids, e.mustCreate(t, "t"+strconv.Itoa(i), nil).ID)
		}
		comps := make([]uptime.Component, 250)
		for i := range comps {
			comps[i] = comp("c"+strconv.Itoa(i), uptime.StatusUp)
		}
		for round := range 3 {
			for _, id := range ids {
				e.Record(cobs(id, at.Add(time.Duration(round)*time.Second), comps...))
			}
		}
		e.mustFlush(t)
		if n, m := e.count(t, "components"), e.count(t, "component_results"); n != 750 || m != 2250 {
			t.Errorf("%d components and %d points, want 750 and 2250", n, m)
		}
	})
}

// BenchmarkBytesPerComponentResult writes LOOKOUT_BENCH_ROWS results
// (default 20k) of 100 targets, each reporting 10 components, into a fresh
// SQLite file and reports the size per component point, the file's growth
// over the same results without components. Run it with -benchtime=1x.
func BenchmarkBytesPerComponentResult(b *testing.B) {
	rows := 20_000
	if v := os.Getenv("LOOKOUT_BENCH_ROWS"); v != "" {
		n, err := strconv.Atoi(v)
		fatalIf(b, err, "LOOKOUT_BENCH_ROWS")
		rows = n
	}
	const perResult = 10
	names := make([]string, perResult)
	for i := range names {
		names[i] = "component-" + strconv.Itoa(i)
	}
	size := func(b *testing.B, withComponents bool) int64 {
		e := openEnv(b, backends[0])
		g := newBenchObs(b, e, 100)
		for range rows {
			o := g.next()
			if withComponents {
				o.Result.Components = make([]uptime.Component, perResult)
				for i := range perResult {
					o.Result.Components[i] = uptime.Component{Name: names[i], Status: o.Result.Status}
				}
			}
			e.Record(o)
		}
		fatalIf(b, e.Flush(context.Background()), "flush")
		fatalIf(b, e.Close(), "close")
		return fileSize(b, e.DB.path)
	}
	for range b.N {
		plain, with := size(b, false), size(b, true)
		b.ReportMetric(float64(with-plain)/float64(rows*perResult), "bytes/component_point")
	}
}
