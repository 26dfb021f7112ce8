package store

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lookout/lookout/internal/uptime"
)

// Reads for a page of targets: what one Tally or one day series is for a
// target, for a hundred of them in a handful of queries, so that a
// dashboard page costs the same however many targets the fleet has.

// MaxPageTargets caps how many targets one page read takes.
const MaxPageTargets = 1000

// Window is a span of history [From, To).
type Window struct{ From, To time.Time }

// Tallies adds up, as Tally does for one target, the history of each of
// the targets ids over [from, to), by id (PageHistory of one window).
// Errors are PageHistory's.
func (db *DB) Tallies(ctx context.Context, ids []int64, from, to time.Time) (map[int64]uptime.Tally, error) {
	ts, _, err := db.PageHistory(ctx, ids, []Window{{from, to}}, Window{})
	if err != nil {
		return nil, err
	}
	return ts[0], nil
}

// DayRollups returns the day rollups of the targets ids from the day of
// from to the day before to's (whole UTC days, rolled up), by id and in
// day order; a day without data has no rollup (PageHistory with no
// window). Errors are PageHistory's.
func (db *DB) DayRollups(ctx context.Context, ids []int64, from, to time.Time) (map[int64][]uptime.Rollup, error) {
	_, days, err := db.PageHistory(ctx, ids, nil, Window{from, to})
	return days, err
}

// PageHistory reads what a page of targets shows: for each of the targets
// ids, its tally over each window, as Tally counts it (tallies[i] is
// windows[i]'s, by id), and its day rollups over the whole UTC days of
// days (from the day of From to the day before To's; none when days is
// zero), by id and in day order. Each rollup row is read once however many
// windows hold it, in one read per resolution and stretch for all the
// targets, and each target's checks after the watermark once. An id with
// no target is left out. Errors: a *uptime.ValidationError on "ids" for
// more than MaxPageTargets, else the database's.
func (db *DB) PageHistory(ctx context.Context, ids []int64, windows []Window, days Window) (tallies []map[int64]uptime.Tally, dayRollups map[int64][]uptime.Rollup, err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("read the history of %d targets: %w", len(ids), err)
		}
	}()
	tallies = make([]map[int64]uptime.Tally, len(windows))
	for i := range tallies {
		tallies[i] = map[int64]uptime.Tally{}
	}
	dayRollups = map[int64][]uptime.Rollup{}
	if len(ids) == 0 {
		return tallies, dayRollups, nil
	}
	targets, cond, err := db.pageTargets(ctx, ids)
	if err != nil || len(targets) == 0 {
		return tallies, dayRollups, err
	}
	w, err := db.Watermark(ctx)
	if err != nil {
		return nil, nil, err
	}
	// Added up in place: a tally is over 2 KiB with its histogram.
	sums := make([]map[int64]*uptime.Tally, len(windows))
	for i := range sums {
		sums[i] = make(map[int64]*uptime.Tally, len(targets))
		for _, t := range targets {
			sums[i][t.ID] = new(uptime.Tally)
		}
	}
	defer func() {
		for i := range sums {
			for id, t := range sums[i] {
				tallies[i][id] = *t
			}
		}
	}()

	// Each window as history reads it for one series: whole minute
	// buckets, rollups up to the watermark, checks after it.
	type span struct {
		a, b, tailFrom time.Time
		present        bool
		pieces         []piece
	}
	now := db.now()
	spans := make([]span, len(windows))
	var reads []piece
	for i, win := range windows {
		sp := span{a: uptime.Minute.Bucket(win.From), b: ceilTime(win.To, time.Minute)}
		sp.present = reachesNow(sp.b, now)
		if !win.From.Before(win.To) {
			sp.a = sp.b // empty
		}
		rolled := w
		if sp.b.Before(rolled) {
			rolled = sp.b
		}
		if sp.a.Before(rolled) {
			sp.pieces = plan(sp.a, rolled, uptime.Day)
			reads = append(reads, sp.pieces...)
		}
		sp.tailFrom = latest(sp.a, w)
		spans[i] = sp
	}
	dayFrom, dayTo := uptime.Day.Bucket(days.From), uptime.Day.Bucket(days.To)
	if !days.From.IsZero() && dayFrom.Before(dayTo) {
		reads = append(reads, piece{uptime.Day, dayFrom, dayTo})
	}
	nDays := max(0, int(dayTo.Sub(dayFrom)/(24*time.Hour)))
	add := func(res uptime.Resolution) func(id int64, r *uptime.Rollup) {
		return func(id int64, r *uptime.Rollup) {
			for i := range spans {
				for _, p := range spans[i].pieces {
					if p.res == res && !r.Start.Before(p.from) && r.Start.Before(p.to) {
						if t := sums[i][id]; t != nil {
							t.Merge(&r.Tally)
						}
						break
					}
				}
			}
			if res == uptime.Day && !r.Start.Before(dayFrom) && r.Start.Before(dayTo) {
				rs, ok := dayRollups[id]
				if !ok {
					rs = make([]uptime.Rollup, 0, nDays) // one allocation a target
				}
				dayRollups[id] = append(rs, *r)
			}
		}
	}
	for _, p := range mergePieces(reads) {
		if err := db.scanRollups(ctx, targetRollups, cond, nil, p.res, p.from, p.to, add(p.res)); err != nil {
			return nil, nil, err
		}
	}

	// The checks after the watermark: read once a target, rolled up for
	// each window that reaches them.
	var tailFrom, tailTo time.Time
	always := false
	for _, sp := range spans {
		if !sp.tailFrom.Before(sp.b) && !sp.present {
			continue
		}
		if tailTo.IsZero() || sp.tailFrom.Before(tailFrom) {
			tailFrom = sp.tailFrom
		}
		tailTo = latest(tailTo, sp.b)
		always = always || sp.present
	}
	if tailTo.IsZero() {
		return tallies, dayRollups, nil
	}
	te, err := db.tailEnv(ctx, tailFrom)
	if err != nil {
		return nil, nil, err
	}
	for _, t := range targets {
		s := series{target: t}
		prev, points, err := db.seriesPoints(ctx, &s, tailFrom, tailTo, db.maxGap(t), always)
		if err != nil {
			return nil, nil, fmt.Errorf("target %q: %w", t.Name, err)
		}
		all := append([]uptime.Point{prev}, points...) // all[0] may be the zero Point
		for i, sp := range spans {
			if !sp.tailFrom.Before(sp.b) && !sp.present {
				continue
			}
			lo, _ := slices.BinarySearchFunc(all[1:], sp.tailFrom, func(p uptime.Point, t time.Time) int { return p.At.Compare(t) })
			hi, _ := slices.BinarySearchFunc(all[1:], sp.b, func(p uptime.Point, t time.Time) int { return p.At.Compare(t) })
			rs := db.rollTail(&s, sp.a, sp.tailFrom, sp.b, sp.present, all[lo], all[1+lo:1+hi], te)
			for j := range rs {
				sums[i][t.ID].Merge(&rs[j].Tally)
			}
		}
	}
	return tallies, dayRollups, nil
}

// mergePieces joins pieces of one resolution that overlap or touch, so
// that a stretch is read once.
func mergePieces(ps []piece) []piece {
	ps = slices.Clone(ps)
	slices.SortFunc(ps, func(x, y piece) int {
		if x.res != y.res {
			return int(x.res) - int(y.res)
		}
		return x.from.Compare(y.from)
	})
	var out []piece
	for _, p := range ps {
		if n := len(out); n > 0 && out[n-1].res == p.res && !p.from.After(out[n-1].to) {
			out[n-1].to = latest(out[n-1].to, p.to)
			continue
		}
		out = append(out, p)
	}
	return out
}

// pageTargets reads the targets ids and the condition that selects their
// rollups.
func (db *DB) pageTargets(ctx context.Context, ids []int64) ([]*uptime.Target, string, error) {
	cond, err := idsIn(ids)
	if err != nil {
		return nil, "", err
	}
	snaps, err := db.querySnapshots(ctx, snapshotSelect+` WHERE t.`+strings.Replace(cond, "target_id", "id", 1))
	if err != nil {
		return nil, "", err
	}
	out := make([]*uptime.Target, len(snaps))
	for i := range snaps {
		out[i] = &snaps[i].Target
	}
	return out, cond, nil
}

// idsIn is "target_id IN (…)" with the ids written out: they are numbers,
// and one statement then reads any number of them.
func idsIn(ids []int64) (string, error) {
	if len(ids) > MaxPageTargets {
		return "", uptime.Invalid("ids", fmt.Sprintf("at most %d targets at once, not %d", MaxPageTargets, len(ids)))
	}
	var b strings.Builder
	b.WriteString("target_id IN (")
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(id, 10))
	}
	b.WriteByte(')')
	return b.String(), nil
}
