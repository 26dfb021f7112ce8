package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/lookout/lookout/internal/uptime"
)

// Series names a history: a target's (Component "") or that of one
// component its health documents report.
type Series struct {
	Target    string
	Component string
}

func (s Series) String() string {
	if s.Component != "" {
		return fmt.Sprintf("component %q of target %q", s.Component, s.Target)
	}
	return fmt.Sprintf("target %q", s.Target)
}

// resolve finds the series' target and, for a component, its id. It
// returns an error wrapping uptime.ErrNotFound when either is unknown.
func (db *DB) resolve(ctx context.Context, s Series) (series, error) {
	snap, err := db.GetTarget(ctx, s.Target)
	if err != nil {
		return series{}, err
	}
	out := series{target: &snap.Target}
	if s.Component == "" {
		return out, nil
	}
	err = db.rdb.QueryRowContext(ctx, `SELECT id FROM components WHERE target_id = $1 AND name = $2`,
		snap.Target.ID, s.Component).Scan(&out.component)
	if errors.Is(err, sql.ErrNoRows) {
		return series{}, fmt.Errorf("component %q of target %q: %w", s.Component, s.Target, uptime.ErrNotFound)
	}
	if err != nil {
		return series{}, dbErr(err)
	}
	return out, nil
}

// Tally adds up a series' history over [from, to): rolled-up history up to
// the watermark, read from the coarsest rollups that fit (a year is a few
// hundred rows), and the checks stored after it. Buckets count whole, by
// their start: the window is counted to the minute (to the hour for parts
// older than the minute rollups' retention). The time since the latest
// check counts (as its status, for at most MaxGap) when the window reaches
// the present. Errors: uptime.ErrNotFound for an unknown target or
// component, else the database's.
func (db *DB) Tally(ctx context.Context, s Series, from, to time.Time) (uptime.Tally, error) {
	var t uptime.Tally
	err := db.history(ctx, s, from, to, func(a, b time.Time) []piece { return plan(a, b, uptime.Day) }, true,
		func(r *uptime.Rollup) { t.Merge(&r.Tally) })
	if err != nil {
		return uptime.Tally{}, fmt.Errorf("tally %s: %w", s, err)
	}
	return t, nil
}

// MaxTrendBuckets caps how many buckets one Trend returns.
const MaxTrendBuckets = 10000

// Trend returns a series' history over [from, to) in buckets of step
// (a whole number of minutes), aligned to multiples of step since the Unix
// epoch (UTC), oldest first; buckets without data are left out. Each is
// read from the coarsest rollups that fit the step (day rollups for whole
// days, hours for whole hours, else minutes) and from the checks stored
// after the watermark. Errors: a *uptime.ValidationError for a bad step or
// too many buckets, uptime.ErrNotFound for an unknown series, else the
// database's.
func (db *DB) Trend(ctx context.Context, s Series, from, to time.Time, step time.Duration) ([]uptime.Rollup, error) {
	var out []uptime.Rollup
	err := db.EachTrendBucket(ctx, s, from, to, step, func(b *uptime.Rollup) {
		if out == nil {
			// Room for every bucket at once: grown, the slice of 2 KiB
			// buckets would be copied again and again.
			out = make([]uptime.Rollup, 0, int(ceilTime(to, step).Sub(from.Truncate(step))/step))
		}
		out = append(out, *b)
	})
	return out, err
}

// EachTrendBucket hands fn the buckets of Trend one at a time, as each is
// complete, without making a slice of them (a bucket is over 2 KiB with
// its histogram): b is reused. Errors are Trend's; fn is not called
// before the window is found valid.
func (db *DB) EachTrendBucket(ctx context.Context, s Series, from, to time.Time, step time.Duration, fn func(b *uptime.Rollup)) error {
	if step < time.Minute || step%time.Minute != 0 {
		return uptime.Invalid("step", "must be a whole number of minutes, at least 1m")
	}
	from, to = from.Truncate(step), ceilTime(to, step)
	if n := int64(to.Sub(from) / step); n > MaxTrendBuckets {
		return uptime.Invalid("step", fmt.Sprintf("gives %d buckets, more than %d: use a longer step or a shorter window", n, MaxTrendBuckets))
	}
	res := uptime.Minute
	switch {
	case step%(24*time.Hour) == 0:
		res = uptime.Day
	case step%time.Hour == 0:
		res = uptime.Hour
	}
	// from is aligned to the step, so whole buckets of res from there, and
	// finer rollups for the rest up to the watermark.
	var cur uptime.Rollup
	open := false
	err := db.history(ctx, s, from, to, func(a, b time.Time) []piece { return plan(a, b, res) }, false, func(r *uptime.Rollup) {
		start := r.Start.Truncate(step)
		if !open || !cur.Start.Equal(start) {
			if open {
				fn(&cur)
			}
			cur, open = uptime.Rollup{Start: start}, true
		}
		cur.Merge(&r.Tally)
	})
	if err != nil {
		return fmt.Errorf("trend of %s: %w", s, err)
	}
	if open {
		fn(&cur)
	}
	return nil
}

// piece is a span [from, to) to read from rollups of one resolution.
type piece struct {
	res      uptime.Resolution
	from, to time.Time
}

// plan splits [a, b) (minute-aligned) into the fewest pieces of rollups of
// at most resolution top: whole days, then whole hours at either end, then
// minutes.
func plan(a, b time.Time, top uptime.Resolution) []piece {
	if !a.Before(b) {
		return nil
	}
	if top == uptime.Minute {
		return []piece{{uptime.Minute, a, b}}
	}
	finer := top - 1
	ca, fb := ceilTime(a, top.Duration()), top.Bucket(b)
	if !ca.Before(fb) {
		return plan(a, b, finer)
	}
	out := plan(a, ca, finer)
	out = append(out, piece{top, ca, fb})
	return append(out, plan(fb, b, finer)...)
}

// ceilTime rounds t up to a multiple of d since the Unix epoch.
func ceilTime(t time.Time, d time.Duration) time.Time {
	f := t.Truncate(d)
	if f.Before(t) {
		return f.Add(d)
	}
	return f
}

// history hands fn a series' rollups over [from, to) as split, up to the
// watermark, then the checks after it rolled up to minute rollups, in
// order. fn adds each up as it comes: r is reused, and a rollup is over
// 2 KiB with its histogram. When fn adds them all into one (summed), the
// whole days come as one rollup, their sum, kept once read (daySum).
func (db *DB) history(ctx context.Context, ref Series, from, to time.Time, split func(a, b time.Time) []piece, summed bool, fn func(r *uptime.Rollup)) error {
	s, err := db.resolve(ctx, ref)
	if err != nil {
		return err
	}
	if !from.Before(to) {
		return nil
	}
	w, err := db.Watermark(ctx)
	if err != nil {
		return err
	}
	// Whole minute buckets: those that start in the window.
	a, b := uptime.Minute.Bucket(from), ceilTime(to, time.Minute)
	tab, id, cond := s.table(), s.id(), ""
	if tab.id != "" {
		cond = tab.id + ` = $3`
	}
	each := func(_ int64, r *uptime.Rollup) { fn(r) }
	rolled := w // the end of what the rollups hold of the window
	if b.Before(rolled) {
		rolled = b
	}
	if a.Before(rolled) {
		for _, p := range split(a, rolled) {
			// Whole days before the watermark's: rolled up, they no
			// longer change.
			if summed && p.res == uptime.Day {
				err = db.daySum(ctx, &s, p.from, p.to, fn)
			} else {
				err = db.scanRollups(ctx, tab, cond, id, p.res, p.from, p.to, each)
			}
			if err != nil {
				return err
			}
		}
	}
	// The checks after the watermark, and the time since the latest check
	// when the window reaches the present.
	tailFrom := latest(a, w)
	present := reachesNow(b, db.now())
	if !tailFrom.Before(b) && !present {
		return nil
	}
	tail, err := db.tail(ctx, &s, a, tailFrom, b, present)
	if err != nil {
		return err
	}
	for i := range tail {
		fn(&tail[i])
	}
	return nil
}

// tail rolls up the checks of [from, to), not rolled up yet, as the job
// will: minute rollups, with maintenance and paused time left out. With
// present set, the time since the latest check counts too, from the
// window's start at the earliest.
func (db *DB) tail(ctx context.Context, s *series, start, from, to time.Time, present bool) ([]uptime.Rollup, error) {
	prev, points, err := db.seriesPoints(ctx, s, from, to, db.maxGap(s.target), present)
	if err != nil {
		return nil, err
	}
	te, err := db.tailEnv(ctx, from)
	if err != nil {
		return nil, err
	}
	return db.rollTail(s, start, from, to, present, prev, points, te), nil
}

// tailEnvironment is what rolling the tail up leaves out: the maintenance
// windows and the paused spans.
type tailEnvironment struct {
	maint  []uptime.Maintenance
	pauses map[int64][]uptime.Interval
}

func (db *DB) tailEnv(ctx context.Context, from time.Time) (*tailEnvironment, error) {
	ms, err := db.ListMaintenance(ctx)
	if err != nil {
		return nil, err
	}
	pauses, err := db.pauses(ctx, from)
	if err != nil {
		return nil, err
	}
	return &tailEnvironment{ms, pauses}, nil
}

// rollTail is tail with the checks read: prev, the last before from, and
// points, those of [from, to).
func (db *DB) rollTail(s *series, start, from, to time.Time, present bool, prev uptime.Point, points []uptime.Point, te *tailEnvironment) []uptime.Rollup {
	gap := db.maxGap(s.target)
	last := prev
	if n := len(points); n > 0 {
		last = points[n-1]
	}
	now := db.now()
	open := present && !last.At.IsZero() && last.At.Before(now)
	if len(points) == 0 && !open {
		return nil
	}
	ms, pauses := te.maint, te.pauses
	first := from
	if !prev.At.IsZero() {
		first = prev.At
	}
	maint := db.maintenance(ms, s.target.Labels, first, latest(to, now))
	rs, _ := uptime.RollUp(prev, points, gap, maint, pauses[s.target.ID])
	if open {
		b := uptime.Minute.Bucket(now)
		if n := len(rs); n == 0 || !rs[n-1].Start.Equal(b) {
			rs = append(rs, uptime.Rollup{Start: b})
		}
		rs[len(rs)-1].AddSpan(last.Status, last.At, latest(last.At, start), now, gap, maint, pauses[s.target.ID])
	}
	if s.component != 0 {
		noLatency(rs)
	}
	return rs
}

func latest(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// FleetTally adds up the history of every target over [from, to), from
// the rollups alone: a few rows whatever the number of targets, as of the
// watermark (a minute or two behind the present), which it returns too.
// Errors are the database's.
func (db *DB) FleetTally(ctx context.Context, from, to time.Time) (uptime.Tally, time.Time, error) {
	var t uptime.Tally
	w, err := db.Watermark(ctx)
	if err != nil {
		return t, w, err
	}
	b := ceilTime(to, time.Minute)
	if w.Before(b) {
		b = w
	}
	for _, p := range plan(uptime.Minute.Bucket(from), b, uptime.Day) {
		got, err := db.readRollups(ctx, fleetRollups, 0, p.res, p.from, p.to)
		if err != nil {
			return t, w, fmt.Errorf("tally the fleet: %w", err)
		}
		for i := range got[0] {
			t.Merge(&got[0][i].Tally)
		}
	}
	return t, w, nil
}

// StateCounts counts the targets by the status they show: paused, or
// their judged status (unknown until first judged). Errors are the
// database's.
//
// It is one statement, so one snapshot, and reads little whatever the
// fleet: the states counted whole (a count of the table, not of its rows),
// those not up counted through the index on status (usually few), and
// the paused targets through theirs; the up ones are the rest.
func (db *DB) StateCounts(ctx context.Context) (map[string]int, error) {
	rows, err := db.rdb.QueryContext(ctx, `SELECT 0, status, COUNT(*) FROM target_state WHERE status IN (0, 2, 3) GROUP BY status
		UNION ALL
		SELECT 1, COALESCE(s.status, 0), COUNT(*) FROM targets t LEFT JOIN target_state s ON s.target_id = t.id
			WHERE t.paused GROUP BY COALESCE(s.status, 0)
		UNION ALL
		SELECT 2, 0, COUNT(*) FROM targets
		UNION ALL
		SELECT 3, 0, COUNT(*) FROM target_state`)
	if err != nil {
		return nil, fmt.Errorf("count targets by state: %w", dbErr(err))
	}
	defer rows.Close()
	var states, paused [4]int // by status
	var targets, stated int
	for rows.Next() {
		var kind, status, n int
		if err := rows.Scan(&kind, &status, &n); err != nil {
			return nil, fmt.Errorf("count targets by state: %w", dbErr(err))
		}
		if status < 0 || status >= len(states) {
			continue // none: a status is 0 to 3
		}
		switch kind {
		case 0:
			states[status] = n
		case 1:
			paused[status] = n
		case 2:
			targets = n
		case 3:
			stated = n
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count targets by state: %w", dbErr(err))
	}
	states[uptime.StatusUp] = stated - states[0] - states[2] - states[3]
	out := map[string]int{}
	add := func(name string, n int) {
		if n != 0 {
			out[name] = n
		}
	}
	nPaused := paused[0] + paused[1] + paused[2] + paused[3]
	add("paused", nPaused)
	shown := nPaused
	for _, st := range []uptime.Status{uptime.StatusUp, uptime.StatusDegraded, uptime.StatusDown} {
		add(st.String(), states[st]-paused[st])
		shown += states[st] - paused[st]
	}
	add(uptime.StatusUnknown.String(), targets-shown) // never judged, or judged unknown
	return out, nil
}

// OpenIncidentCount counts the incidents not resolved yet. Errors are the
// database's.
func (db *DB) OpenIncidentCount(ctx context.Context) (int, error) {
	var n int
	if err := db.rdb.QueryRowContext(ctx, `SELECT COUNT(*) FROM incidents WHERE resolved_at = 0`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count open incidents: %w", dbErr(err))
	}
	return n, nil
}

// reachesNow says a window counted to b (whole minutes) reaches the
// present: its last minute is the current one, or later.
func reachesNow(b, now time.Time) bool { return !b.Before(now) }

// ComponentTallies adds up, as Tally does for one, the history over
// [from, to) of every component the named target's health documents
// reported, by name: one read of all their rollups per resolution, and one
// of all their checks since the watermark. Errors: uptime.ErrNotFound for
// an unknown target, else the database's.
func (db *DB) ComponentTallies(ctx context.Context, target string, from, to time.Time) (map[string]uptime.Tally, error) {
	ts, err := db.resolve(ctx, Series{Target: target})
	if err != nil {
		return nil, fmt.Errorf("tally the components of %q: %w", target, err)
	}
	out, err := db.componentTallies(ctx, ts.target, from, to)
	if err != nil {
		return nil, fmt.Errorf("tally the components of %q: %w", target, err)
	}
	return out, nil
}

func (db *DB) componentTallies(ctx context.Context, t *uptime.Target, from, to time.Time) (map[string]uptime.Tally, error) {
	names := map[int64]string{}
	rows, err := db.rdb.QueryContext(ctx, `SELECT id, name FROM components WHERE target_id = $1`, t.ID)
	if err != nil {
		return nil, dbErr(err)
	}
	for rows.Next() {
		var id int64
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			rows.Close()
			return nil, dbErr(err)
		}
		names[id] = name
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, dbErr(err)
	}
	out := make(map[string]uptime.Tally, len(names))
	if len(names) == 0 || !from.Before(to) {
		return out, nil
	}
	add := func(id int64, rs []uptime.Rollup) {
		name, ok := names[id]
		if !ok {
			return // a component that came after the list was read
		}
		t := out[name]
		for i := range rs {
			t.Merge(&rs[i].Tally)
		}
		out[name] = t
	}
	w, err := db.Watermark(ctx)
	if err != nil {
		return nil, err
	}
	a, b := uptime.Minute.Bucket(from), ceilTime(to, time.Minute)
	rolled := w
	if b.Before(rolled) {
		rolled = b
	}
	const ofTarget = `component_id IN (SELECT id FROM components WHERE target_id = $3)`
	for _, p := range plan(a, rolled, uptime.Day) {
		got, err := db.readRollupsWhere(ctx, componentRollups, ofTarget, t.ID, p.res, p.from, p.to)
		if err != nil {
			return nil, err
		}
		for id, rs := range got {
			add(id, rs)
		}
	}
	present := reachesNow(b, db.now())
	tailFrom := latest(a, w)
	if !tailFrom.Before(b) && !present {
		return out, nil
	}
	// Every component's checks since the watermark, and the two
	// intervals before it for each one's last check before.
	gap := db.maxGap(t)
	pts := map[int64][]uptime.Point{}
	rows, err = db.rdb.QueryContext(ctx, `SELECT r.component_id, r.ts, r.status FROM component_results r
		WHERE r.component_id IN (SELECT id FROM components WHERE target_id = $1) AND r.ts >= $2 AND r.ts < $3
		ORDER BY r.component_id, r.ts`, t.ID, tailFrom.Add(-gap).UnixMilli(), b.UnixMilli())
	if err != nil {
		return nil, dbErr(err)
	}
	for rows.Next() {
		var id, ts, st int64
		if err := rows.Scan(&id, &ts, &st); err != nil {
			rows.Close()
			return nil, dbErr(err)
		}
		pts[id] = append(pts[id], uptime.Point{At: msTime(ts), Status: uptime.Status(st)})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, dbErr(err)
	}
	te, err := db.tailEnv(ctx, tailFrom)
	if err != nil {
		return nil, err
	}
	for id := range names {
		s := series{target: t, component: id}
		all := pts[id]
		i, _ := slices.BinarySearchFunc(all, tailFrom, func(p uptime.Point, at time.Time) int { return p.At.Compare(at) })
		prev, err := db.prevPoint(ctx, &s, all[:i], tailFrom)
		if err != nil {
			return nil, err
		}
		add(id, db.rollTail(&s, a, tailFrom, b, present, prev, all[i:], te))
	}
	return out, nil
}
