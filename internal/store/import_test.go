package store

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lookout/lookout/internal/uptime"
)

func TestImportHistory(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		t.Run("imported rollups are the rollup job's", func(t *testing.T) {
			t.Parallel()
			testImportIsRollUp(t, b)
		})
		t.Run("whole days from the watermark only", func(t *testing.T) {
			t.Parallel()
			testImportRefuses(t, openEnv(t, b))
		})
	})
}

// importFixture is three days of checks of three targets every 5 minutes,
// from midnight: an outage across a midnight, a stop of an hour (unknown
// time), a target silent for its first day, latencies that vary.
func importFixture(day0 time.Time) map[string][]uptime.Point {
	out := map[string][]uptime.Point{}
	for k, name := range []string{"api", "db", "web"} {
		for i := range int(3 * 24 * time.Hour / every) {
			at := day0.Add(time.Duration(i)*every + time.Duration(k)*37*time.Second + 1500*time.Millisecond)
			if name == "web" && at.Before(day0.Add(24*time.Hour)) || i >= 400 && i < 412 {
				continue
			}
			p := uptime.Point{At: at, Status: uptime.StatusUp, Latency: time.Duration(5+(i*7+k*13)%200) * time.Millisecond}
			switch {
			case i >= 280 && i < 295 && name != "db": // 23:20 to 00:35
				p.Status = uptime.StatusDown
			case i%97 == 0:
				p.Status = uptime.StatusDegraded
			case i%211 == 5:
				p.Status = uptime.StatusUnknown
			}
			out[name] = append(out[name], p)
		}
	}
	return out
}

// testImportIsRollUp: importing the first two days and recording the
// third, then rolling up, stores the same rollups as recording all three
// and rolling up, and so answers the same uptime and trends.
func testImportIsRollUp(t *testing.T, b backend) {
	imp, raw := openEnv(t, b), openEnv(t, b)
	day0 := uptime.Day.Bucket(testT0)
	pts := importFixture(day0)
	names := []string{"api", "db", "web"}
	for _, e := range []*env{imp, raw} {
		for _, name := range names {
			tg := e.mustCreate(t, name, nil)
			fatalIf(t, e.mustUpdate(tg, func(x *uptime.Target) { x.Interval = uptime.Duration(every) }), "set interval")
		}
	}
	split := day0.Add(2 * 24 * time.Hour)
	end := day0.Add(3 * 24 * time.Hour)
	var days []time.Time
	err := imp.ImportHistory(bg, HistoryImport{
		From: day0, To: split, MinutesFrom: day0.Add(24 * time.Hour),
		Points: func(tg *uptime.Target, day time.Time) []uptime.Point {
			var out []uptime.Point
			for _, p := range pts[tg.Name] {
				if !p.At.Before(day) && p.At.Before(day.Add(24*time.Hour)) {
					out = append(out, p)
				}
			}
			return out
		},
		Progress: func(day time.Time) { days = append(days, day) },
	})
	fatalIf(t, err, "import")
	if len(days) != 2 || !days[1].Equal(day0.Add(24*time.Hour)) {
		t.Errorf("progress told of %v, want the two days", days)
	}
	if w, err := imp.Watermark(bg); err != nil || !w.Equal(split) {
		t.Errorf("watermark after the import %v (%v), want %v", w, err, split)
	}
	// The imported database gets the checks from two intervals before
	// the split on; the other gets them all.
	record := func(e *env, from time.Time) {
		for _, name := range names {
			snap, err := e.GetTarget(bg, name)
			fatalIf(t, err, "get %s", name)
			for _, p := range pts[name] {
				if !p.At.Before(from) {
					e.Record(uptime.Observation{Result: uptime.Result{TargetID: snap.Target.ID, StartedAt: p.At, Status: p.Status, Duration: p.Latency}})
				}
			}
		}
		e.mustFlush(t)
		e.clock.Set(end.Add(time.Hour))
		_, err := e.RollUp(bg, end)
		fatalIf(t, err, "roll up")
	}
	record(imp, split.Add(-2*every))
	record(raw, time.Time{})

	// Every rollup the job keeps after a retention of a day and a half of
	// minutes: hours and days, and the minutes from the second day on.
	rollups := func(e *env) map[string]uptime.Tally {
		out := map[string]uptime.Tally{}
		for res := uptime.Minute; res <= uptime.Day; res++ {
			from := day0
			if res == uptime.Minute {
				from = day0.Add(24 * time.Hour)
			}
			for _, name := range append(names, "") {
				tab, id := fleetRollups, int64(0)
				if name != "" {
					snap, err := e.GetTarget(bg, name)
					fatalIf(t, err, "get %s", name)
					tab, id = targetRollups, snap.Target.ID
				}
				got, err := e.readRollups(bg, tab, id, res, from, end)
				fatalIf(t, err, "read rollups")
				for _, r := range got[id] {
					out[name+" "+res.String()+" "+r.Start.Format(time.RFC3339)] = r.Tally
				}
			}
		}
		return out
	}
	want, got := rollups(raw), rollups(imp)
	if len(want) < 3*2*24*12 {
		t.Fatalf("the job wrote %d rollups, fewer than the fixture's minutes", len(want))
	}
	if diff := cmp.Diff(want, got, cmpTally); diff != "" {
		t.Errorf("rollups (-rolled up from stored checks +imported):\n%s", diff)
	}
	var early int
	fatalIf(t, imp.rdb.QueryRow(`SELECT COUNT(*) FROM rollups WHERE res = 0 AND bucket < $1`,
		day0.Add(24*time.Hour).UnixMilli()).Scan(&early), "count minutes")
	if early != 0 {
		t.Errorf("%d minute rollups imported before MinutesFrom", early)
	}

	now := end.Add(time.Hour)
	for _, w := range [][2]time.Time{{day0, now}, {day0.Add(23 * time.Hour), day0.Add(49*time.Hour + 10*time.Minute)}, {split.Add(-time.Hour), now}} {
		for _, name := range names {
			a, err := raw.Tally(bg, Series{Target: name}, w[0], w[1])
			fatalIf(t, err, "tally")
			b, err := imp.Tally(bg, Series{Target: name}, w[0], w[1])
			fatalIf(t, err, "tally")
			if diff := cmp.Diff(a, b, cmpTally); diff != "" {
				t.Errorf("%s over %v – %v (-recorded +imported):\n%s", name, w[0], w[1], diff)
			}
		}
	}
	fa, _, err := raw.FleetTally(bg, day0, now)
	fatalIf(t, err, "fleet")
	fb, _, err := imp.FleetTally(bg, day0, now)
	fatalIf(t, err, "fleet")
	if diff := cmp.Diff(fa, fb, cmpTally); diff != "" {
		t.Errorf("the fleet (-recorded +imported):\n%s", diff)
	}
}

func testImportRefuses(t *testing.T, e *env) {
	e.mustCreate(t, "api", nil)
	day0 := uptime.Day.Bucket(testT0)
	none := func(*uptime.Target, time.Time) []uptime.Point { return nil }
	for _, h := range []HistoryImport{
		{From: day0.Add(time.Hour), To: day0.Add(25 * time.Hour), Points: none},
		{From: day0, To: day0, Points: none},
	} {
		if err := e.ImportHistory(bg, h); !isInvalid(err, "from") {
			t.Errorf("import of %v – %v: %v, want a validation error on from", h.From, h.To, err)
		}
	}
	fatalIf(t, e.ImportHistory(bg, HistoryImport{From: day0, To: day0.Add(24 * time.Hour), Points: none}), "import")
	if err := e.ImportHistory(bg, HistoryImport{From: day0, To: day0.Add(48 * time.Hour), Points: none}); !isInvalid(err, "from") {
		t.Errorf("importing a day rolled up already: %v, want a validation error on from", err)
	}
	outside := func(*uptime.Target, time.Time) []uptime.Point {
		return []uptime.Point{{At: day0, Status: uptime.StatusUp}}
	}
	if err := e.ImportHistory(bg, HistoryImport{From: day0.Add(24 * time.Hour), To: day0.Add(48 * time.Hour), Points: outside}); err == nil {
		t.Error("checks outside their day were imported")
	}
}
