package store

import (
	"context"
	"fmt"
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

// Tallies adds up, as Tally does for one target, the history of each of
// the targets ids over [from, to), by id: one read of all their rollups
// per resolution, one tail of checks after the watermark per target. An
// id with no target is left out. Errors: a *uptime.ValidationError on
// "ids" for more than MaxPageTargets, else the database's.
func (db *DB) Tallies(ctx context.Context, ids []int64, from, to time.Time) (map[int64]uptime.Tally, error) {
	out := make(map[int64]uptime.Tally, len(ids))
	if len(ids) == 0 || !from.Before(to) {
		return out, nil
	}
	targets, cond, err := db.pageTargets(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("tally targets: %w", err)
	}
	if len(targets) == 0 {
		return out, nil
	}
	w, err := db.Watermark(ctx)
	if err != nil {
		return nil, err
	}
	// As history does for one series: whole minute buckets, rollups up to
	// the watermark, checks after it.
	a, b := uptime.Minute.Bucket(from), ceilTime(to, time.Minute)
	rolled := w
	if b.Before(rolled) {
		rolled = b
	}
	add := func(id int64, rs []uptime.Rollup) {
		t := out[id]
		for i := range rs {
			t.Merge(&rs[i].Tally)
		}
		out[id] = t
	}
	if a.Before(rolled) {
		for _, p := range plan(a, rolled, uptime.Day) {
			got, err := db.readRollupsWhere(ctx, targetRollups, cond, nil, p.res, p.from, p.to)
			if err != nil {
				return nil, fmt.Errorf("tally targets: %w", err)
			}
			for id, rs := range got {
				add(id, rs)
			}
		}
	}
	tailFrom := latest(a, w)
	present := !to.Before(db.now())
	if !tailFrom.Before(b) && !present {
		return out, nil
	}
	te, err := db.tailEnv(ctx, tailFrom)
	if err != nil {
		return nil, fmt.Errorf("tally targets: %w", err)
	}
	for _, t := range targets {
		s := series{target: t}
		prev, points, err := db.seriesPoints(ctx, &s, tailFrom, b, db.maxGap(t), present)
		if err != nil {
			return nil, fmt.Errorf("tally target %q: %w", t.Name, err)
		}
		add(t.ID, db.rollTail(&s, a, tailFrom, b, present, prev, points, te))
	}
	return out, nil
}

// DayRollups returns the day rollups of the targets ids from the day of
// from to the day before to's (whole UTC days, rolled up), by id and in
// day order, in one read; a day without data has no rollup. Errors: a
// *uptime.ValidationError on "ids" for more than MaxPageTargets, else the
// database's.
func (db *DB) DayRollups(ctx context.Context, ids []int64, from, to time.Time) (map[int64][]uptime.Rollup, error) {
	if len(ids) == 0 {
		return map[int64][]uptime.Rollup{}, nil
	}
	cond, err := idsIn(ids)
	if err != nil {
		return nil, err
	}
	got, err := db.readRollupsWhere(ctx, targetRollups, cond, nil, uptime.Day, uptime.Day.Bucket(from), uptime.Day.Bucket(to))
	if err != nil {
		return nil, fmt.Errorf("read day rollups: %w", err)
	}
	return got, nil
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
