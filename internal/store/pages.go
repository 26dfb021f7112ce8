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
	p, err := db.PageHistory(ctx, PageQuery{IDs: ids, Tallies: []Window{{from, to}}})
	if err != nil {
		return nil, err
	}
	return p.Tallies[0], nil
}

// DayRollups returns the day rollups of the targets ids from the day of
// from to the day before to's (whole UTC days, rolled up), by id and in
// day order; a day without data has no rollup. Errors: a
// *uptime.ValidationError on "ids" for more than MaxPageTargets, else the
// database's.
func (db *DB) DayRollups(ctx context.Context, ids []int64, from, to time.Time) (map[int64][]uptime.Rollup, error) {
	cond, err := idsIn(ids)
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return map[int64][]uptime.Rollup{}, nil
	}
	out, err := db.readRollupsWhere(ctx, targetRollups, cond, nil, uptime.Day, uptime.Day.Bucket(from), uptime.Day.Bucket(to))
	if err != nil {
		return nil, fmt.Errorf("read the day rollups of %d targets: %w", len(ids), err)
	}
	return out, nil
}

// PageQuery is what PageHistory reads of a page of targets.
type PageQuery struct {
	// IDs are the targets, at most MaxPageTargets.
	IDs []int64
	// Tallies are windows whose whole tallies are read, latencies
	// included, as Tally counts them.
	Tallies []Window
	// Briefs are windows of which only a Brief is read, as Tally counts
	// it: a few columns of the rollups that only they need, and no
	// histogram.
	Briefs []Window
	// Days are the whole UTC days, from the day of From to the day before
	// To's, each of whose Brief is read; none when zero.
	Days Window
}

// Page is what PageHistory read, by target id: Tallies[i] is
// PageQuery.Tallies[i]'s, Briefs[i] PageQuery.Briefs[i]'s, and Days each
// target's days in order (a day without data has none).
type Page struct {
	Tallies []map[int64]uptime.Tally
	Briefs  []map[int64]uptime.Brief
	Days    map[int64][]uptime.Brief
}

// PageHistory reads what a page of targets shows (see PageQuery). Each
// rollup row is read once however many windows hold it, in one read per
// resolution and stretch for all the targets: whole where a Tally window
// needs it, else only the columns of a Brief. Each target's checks after
// the watermark are read in one read for all of them. An id with no
// target is left out. Errors: a *uptime.ValidationError on "ids" for more
// than MaxPageTargets, else the database's.
func (db *DB) PageHistory(ctx context.Context, q PageQuery) (page Page, err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("read the history of %d targets: %w", len(q.IDs), err)
		}
	}()
	page = Page{Tallies: make([]map[int64]uptime.Tally, len(q.Tallies)), Briefs: make([]map[int64]uptime.Brief, len(q.Briefs)),
		Days: map[int64][]uptime.Brief{}}
	for i := range page.Tallies {
		page.Tallies[i] = map[int64]uptime.Tally{}
	}
	for i := range page.Briefs {
		page.Briefs[i] = map[int64]uptime.Brief{}
	}
	targets, cond, err := db.pageTargets(ctx, q.IDs)
	if err != nil || len(targets) == 0 {
		return page, err
	}
	w, err := db.Watermark(ctx)
	if err != nil {
		return Page{}, err
	}

	// Each window as history reads it for one series: whole minute
	// buckets, rollups up to the watermark, checks after it.
	now := db.now()
	span := func(win Window) pageSpan {
		sp := pageSpan{a: uptime.Minute.Bucket(win.From), b: ceilTime(win.To, time.Minute)}
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
		}
		sp.tailFrom = latest(sp.a, w)
		return sp
	}
	// Added up in place, a target at a time: rows come by target.
	type sums struct {
		tallies []uptime.Tally
		briefs  []uptime.Brief
		days    []uptime.Brief
	}
	byID := make(map[int64]*sums, len(targets))
	for _, t := range targets {
		byID[t.ID] = &sums{tallies: make([]uptime.Tally, len(q.Tallies)), briefs: make([]uptime.Brief, len(q.Briefs))}
	}
	defer func() {
		if err != nil {
			return
		}
		for id, s := range byID {
			for i := range s.tallies {
				page.Tallies[i][id] = s.tallies[i]
			}
			for i := range s.briefs {
				page.Briefs[i][id] = s.briefs[i]
			}
			if len(s.days) > 0 {
				// Read whole for some window and briefly for the rest, a
				// target's days come in two runs.
				byStart := func(a, b uptime.Brief) int { return a.Start.Compare(b.Start) }
				if !slices.IsSortedFunc(s.days, byStart) {
					slices.SortFunc(s.days, byStart)
				}
				page.Days[id] = s.days
			}
		}
	}()
	full := make([]pageSpan, len(q.Tallies))
	var whole, brief []piece
	for i, win := range q.Tallies {
		full[i] = span(win)
		whole = append(whole, full[i].pieces...)
	}
	briefs := make([]pageSpan, len(q.Briefs))
	for i, win := range q.Briefs {
		briefs[i] = span(win)
		brief = append(brief, briefs[i].pieces...)
	}
	dayFrom, dayTo := uptime.Day.Bucket(q.Days.From), uptime.Day.Bucket(q.Days.To)
	if !q.Days.From.IsZero() && dayFrom.Before(dayTo) {
		brief = append(brief, piece{uptime.Day, dayFrom, dayTo})
	}
	nDays := max(0, int(dayTo.Sub(dayFrom)/(24*time.Hour)))
	// A row is read whole where a Tally window holds it, else briefly.
	whole = mergePieces(whole)
	brief = subtractPieces(mergePieces(brief), whole)

	var (
		curID  int64 = -1
		cur    *sums
		target = func(id int64) *sums {
			if id != curID {
				curID, cur = id, byID[id]
			}
			return cur
		}
	)
	addBrief := func(s *sums, res uptime.Resolution, start time.Time, b *uptime.Brief) {
		for i := range briefs {
			if briefs[i].holds(res, start) {
				s.briefs[i].Merge(b)
			}
		}
		if res == uptime.Day && !start.Before(dayFrom) && start.Before(dayTo) {
			if s.days == nil {
				s.days = make([]uptime.Brief, 0, nDays) // one allocation a target
			}
			d := *b
			d.Start = start
			s.days = append(s.days, d)
		}
	}
	for _, p := range whole {
		err := db.scanRollupsEncoded(ctx, targetRollups, cond, nil, p.res, p.from, p.to, func(id int64, r *uptime.Rollup, hist []byte) error {
			s := target(id)
			if s == nil {
				return nil
			}
			for i := range full {
				if full[i].holds(p.res, r.Start) {
					if err := s.tallies[i].MergeEncoded(&r.Tally, hist); err != nil {
						return fmt.Errorf("decode the latency histogram of target %d at %d: %w", id, r.Start.UnixMilli(), err)
					}
				}
			}
			b := r.Brief()
			addBrief(s, p.res, r.Start, &b)
			return nil
		})
		if err != nil {
			return Page{}, err
		}
	}
	for _, p := range brief {
		err := db.scanBriefs(ctx, cond, p.res, p.from, p.to, func(id int64, b *uptime.Brief) {
			if s := target(id); s != nil {
				addBrief(s, p.res, b.Start, b)
			}
		})
		if err != nil {
			return Page{}, err
		}
	}

	// The checks after the watermark: read once for all the targets,
	// rolled up for each window that reaches them.
	var tailFrom, tailTo time.Time
	always := false
	for _, sp := range append(slices.Clip(full), briefs...) {
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
		return page, nil
	}
	te, err := db.tailEnv(ctx, tailFrom)
	if err != nil {
		return Page{}, err
	}
	pts, err := db.pagePoints(ctx, cond, targets, tailFrom, tailTo)
	if err != nil {
		return Page{}, err
	}
	for _, t := range targets {
		s := series{target: t}
		all := pts[t.ID]
		i, _ := slices.BinarySearchFunc(all, tailFrom, func(p uptime.Point, at time.Time) int { return p.At.Compare(at) })
		var prev uptime.Point
		var points []uptime.Point
		if i < len(all) || always {
			if prev, err = db.prevPoint(ctx, &s, all[:i], tailFrom); err != nil {
				return Page{}, fmt.Errorf("target %q: %w", t.Name, err)
			}
			points = all[i:]
		}
		sm := byID[t.ID]
		for _, set := range []struct {
			spans []pageSpan
			add   func(i int, r *uptime.Rollup)
		}{
			{full, func(i int, r *uptime.Rollup) { sm.tallies[i].Merge(&r.Tally) }},
			{briefs, func(i int, r *uptime.Rollup) { b := r.Brief(); sm.briefs[i].Merge(&b) }},
		} {
			for i, sp := range set.spans {
				if !sp.tailFrom.Before(sp.b) && !sp.present {
					continue
				}
				lo, _ := slices.BinarySearchFunc(points, sp.tailFrom, func(p uptime.Point, t time.Time) int { return p.At.Compare(t) })
				hi, _ := slices.BinarySearchFunc(points, sp.b, func(p uptime.Point, t time.Time) int { return p.At.Compare(t) })
				before := prev
				if lo > 0 {
					before = points[lo-1]
				}
				rs := db.rollTail(&s, sp.a, sp.tailFrom, sp.b, sp.present, before, points[lo:hi], te)
				for j := range rs {
					set.add(i, &rs[j])
				}
			}
		}
	}
	return page, nil
}

// pageSpan is a window of a page as read: from a to b (whole minutes),
// the rollups of pieces, the checks from tailFrom on.
type pageSpan struct {
	a, b, tailFrom time.Time
	present        bool
	pieces         []piece
}

// holds says the rollup of res starting at start is one of the span's.
func (sp *pageSpan) holds(res uptime.Resolution, start time.Time) bool {
	for _, p := range sp.pieces {
		if p.res == res && !start.Before(p.from) && start.Before(p.to) {
			return true
		}
	}
	return false
}

// scanBriefs reads the Briefs of the target rollups of res in [from, to)
// selected by cond, by target id and in bucket order: five columns a row,
// summed by the database. b is reused for the next row.
func (db *DB) scanBriefs(ctx context.Context, cond string, res uptime.Resolution, from, to time.Time, fn func(id int64, b *uptime.Brief)) error {
	rows, err := db.rdb.QueryContext(ctx, `SELECT target_id, bucket, up_ms + degraded_ms, down_ms,
		up_n + degraded_n + down_n + unknown_n FROM rollups WHERE res = $1 AND bucket >= $2 AND bucket < $3 AND `+cond+`
		ORDER BY target_id, bucket`, int64(res), timeMS(from), to.UnixMilli())
	if err != nil {
		return dbErr(err)
	}
	defer rows.Close()
	var b uptime.Brief
	for rows.Next() {
		var id, bucket, up, down, checks int64
		if err := rows.Scan(&id, &bucket, &up, &down, &checks); err != nil {
			return dbErr(err)
		}
		b = uptime.Brief{Start: msTime(bucket), Up: time.Duration(up) * time.Millisecond, Down: time.Duration(down) * time.Millisecond, Checks: int(checks)}
		fn(id, &b)
	}
	return dbErr(rows.Err())
}

// pagePoints reads the checks of targets (selected by cond) in
// [from, to), and those of the longest gap before from, for a last check
// before it, by target id and in time order: one read for a page.
func (db *DB) pagePoints(ctx context.Context, cond string, targets []*uptime.Target, from, to time.Time) (map[int64][]uptime.Point, error) {
	var gap time.Duration
	for _, t := range targets {
		gap = max(gap, db.maxGap(t))
	}
	rows, err := db.rdb.QueryContext(ctx, `SELECT target_id, ts, status, dur_us FROM results
		WHERE ts >= $1 AND ts < $2 AND `+cond+` ORDER BY target_id, ts`, timeMS(from.Add(-gap)), to.UnixMilli())
	if err != nil {
		return nil, dbErr(err)
	}
	defer rows.Close()
	out := make(map[int64][]uptime.Point, len(targets))
	for rows.Next() {
		var id, ts, st, us int64
		if err := rows.Scan(&id, &ts, &st, &us); err != nil {
			return nil, dbErr(err)
		}
		out[id] = append(out[id], uptime.Point{At: msTime(ts), Status: uptime.Status(st), Latency: time.Duration(us) * time.Microsecond})
	}
	return out, dbErr(rows.Err())
}

// subtractPieces is what of ps minus does not cover.
func subtractPieces(ps, minus []piece) []piece {
	var out []piece
	for _, p := range ps {
		rest := []piece{p}
		for _, m := range minus {
			if m.res != p.res {
				continue
			}
			var next []piece
			for _, r := range rest {
				if !m.from.Before(r.to) || !r.from.Before(m.to) {
					next = append(next, r)
					continue
				}
				if r.from.Before(m.from) {
					next = append(next, piece{r.res, r.from, m.from})
				}
				if m.to.Before(r.to) {
					next = append(next, piece{r.res, m.to, r.to})
				}
			}
			rest = next
		}
		out = append(out, rest...)
	}
	return out
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
