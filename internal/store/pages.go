package store

import (
	"context"
	"database/sql"
	"encoding/hex"
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

// PageHistory reads what a page of targets shows (see PageQuery). The
// windows' rollups are cut into stretches that the same windows hold
// (segments), each read once for all the targets and every window that
// holds it; the database adds a stretch up, a row a target, and strings
// together what must come a rollup at a time (the histograms for the
// Tally windows, the days' figures). Each target's checks after the
// watermark are read in one read for all of them. An id with no target
// is left out. Errors: a *uptime.ValidationError on "ids" for more than
// MaxPageTargets, else the database's.
func (db *DB) PageHistory(ctx context.Context, q uptime.PageQuery) (page uptime.Page, err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("read the history of %d targets: %w", len(q.IDs), err)
		}
	}()
	page = uptime.Page{Tallies: make([]map[int64]uptime.Tally, len(q.Tallies)), Briefs: make([]map[int64]uptime.Brief, len(q.Briefs)),
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
		return uptime.Page{}, err
	}

	// Each window as history reads it for one series: whole minute
	// buckets, rollups up to the watermark, checks after it.
	now := db.now()
	span := func(win uptime.Interval) pageSpan {
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
				// The database strings a target's days together in no
				// particular order.
				byStart := func(a, b uptime.Brief) int { return a.Start.Compare(b.Start) }
				if !slices.IsSortedFunc(s.days, byStart) {
					slices.SortFunc(s.days, byStart)
				}
				page.Days[id] = s.days
			}
		}
	}()
	full := make([]pageSpan, len(q.Tallies))
	for i, win := range q.Tallies {
		full[i] = span(win)
	}
	briefs := make([]pageSpan, len(q.Briefs))
	for i, win := range q.Briefs {
		briefs[i] = span(win)
	}
	dayFrom, dayTo := uptime.Day.Bucket(q.Days.From), uptime.Day.Bucket(q.Days.To)
	var days []piece
	if !q.Days.From.IsZero() && dayFrom.Before(dayTo) {
		days = []piece{{uptime.Day, dayFrom, dayTo}}
	}
	nDays := max(0, int(dayTo.Sub(dayFrom)/(24*time.Hour)))

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
	for _, sg := range segments(full, briefs, days) {
		switch {
		case sg.days:
			// Each day's Brief, and the windows added up as they come.
			err := db.scanBriefs(ctx, cond, sg.res, sg.from, sg.to, func(id int64, b *uptime.Brief) {
				s := target(id)
				if s == nil {
					return
				}
				for _, i := range sg.briefs {
					s.briefs[i].Merge(b)
				}
				if s.days == nil {
					s.days = make([]uptime.Brief, 0, nDays) // one allocation a target
				}
				s.days = append(s.days, *b)
			})
			if err != nil {
				return uptime.Page{}, err
			}
			if len(sg.tallies) > 0 {
				err := db.sumRollups(ctx, cond, sg.piece, func(id int64, t *uptime.Tally) {
					if s := byID[id]; s != nil {
						for _, i := range sg.tallies {
							s.tallies[i].Merge(t)
						}
					}
				})
				if err != nil {
					return uptime.Page{}, err
				}
			}
		case len(sg.tallies) > 0:
			// Added up by the database, but for the histograms.
			err := db.sumRollups(ctx, cond, sg.piece, func(id int64, t *uptime.Tally) {
				s := byID[id]
				if s == nil {
					return
				}
				for _, i := range sg.tallies {
					s.tallies[i].Merge(t)
				}
				b := t.Brief()
				for _, i := range sg.briefs {
					s.briefs[i].Merge(&b)
				}
			})
			if err != nil {
				return uptime.Page{}, err
			}
		default:
			got, err := db.sumBriefs(ctx, cond, sg.piece)
			if err != nil {
				return uptime.Page{}, err
			}
			for id, b := range got {
				if s := byID[id]; s != nil {
					for _, i := range sg.briefs {
						s.briefs[i].Merge(&b)
					}
				}
			}
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
		return uptime.Page{}, err
	}
	pts, err := db.pagePoints(ctx, cond, targets, tailFrom, tailTo)
	if err != nil {
		return uptime.Page{}, err
	}
	for _, t := range targets {
		s := series{target: t}
		all := pts[t.ID]
		i, _ := slices.BinarySearchFunc(all, tailFrom, func(p uptime.Point, at time.Time) int { return p.At.Compare(at) })
		var prev uptime.Point
		var points []uptime.Point
		if i < len(all) || always {
			if prev, err = db.prevPoint(ctx, &s, all[:i], tailFrom); err != nil {
				return uptime.Page{}, fmt.Errorf("target %q: %w", t.Name, err)
			}
			points = all[i:]
		}
		// Windows that end alike share their tail: it is rolled up once.
		type tailKey struct {
			lo, hi         int
			from, to, open time.Time
			present        bool
		}
		tails := map[tailKey]*uptime.Tally{}
		tail := func(sp *pageSpan) *uptime.Tally {
			lo, _ := slices.BinarySearchFunc(points, sp.tailFrom, func(p uptime.Point, t time.Time) int { return p.At.Compare(t) })
			hi, _ := slices.BinarySearchFunc(points, sp.b, func(p uptime.Point, t time.Time) int { return p.At.Compare(t) })
			before := prev
			if lo > 0 {
				before = points[lo-1]
			}
			last := before
			if hi > lo {
				last = points[hi-1]
			}
			// The window's start counts only where it cuts the span after
			// the last check (rollTail).
			k := tailKey{lo, hi, sp.tailFrom, sp.b, latest(last.At, sp.a), sp.present}
			if t, ok := tails[k]; ok {
				return t
			}
			t := new(uptime.Tally)
			rs := db.rollTail(&s, sp.a, sp.tailFrom, sp.b, sp.present, before, points[lo:hi], te)
			for j := range rs {
				t.Merge(&rs[j].Tally)
			}
			tails[k] = t
			return t
		}
		sm := byID[t.ID]
		for i := range full {
			if sp := &full[i]; sp.tailFrom.Before(sp.b) || sp.present {
				sm.tallies[i].Merge(tail(sp))
			}
		}
		for i := range briefs {
			if sp := &briefs[i]; sp.tailFrom.Before(sp.b) || sp.present {
				b := tail(sp).Brief()
				sm.briefs[i].Merge(&b)
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

// scanBriefs reads the Briefs of the target rollups of res in [from, to)
// selected by cond, by target id (in any order of buckets), a row a target: the
// database writes each rollup's bucket (in res' units since the epoch),
// time up (and degraded), time down and checks as four numbers, and
// strings them together. b is reused for the next rollup.
func (db *DB) scanBriefs(ctx context.Context, cond string, res uptime.Resolution, from, to time.Time, fn func(id int64, b *uptime.Brief)) error {
	unit := res.Duration().Milliseconds()
	rows, err := db.rdb.QueryContext(ctx, `SELECT target_id, `+db.joined(`(bucket / $4) || ' ' || (up_ms + degraded_ms) || ' ' || down_ms
		|| ' ' || (up_n + degraded_n + down_n + unknown_n)`)+`
		FROM rollups WHERE res = $1 AND bucket >= $2 AND bucket < $3 AND `+cond+` GROUP BY target_id`,
		int64(res), timeMS(from), to.UnixMilli(), unit)
	if err != nil {
		return dbErr(err)
	}
	defer rows.Close()
	var list sql.RawBytes // parsed at once: no copy a row
	var b uptime.Brief
	var nums []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id, &list); err != nil {
			return dbErr(err)
		}
		nums = nums[:0]
		for f := range strings.FieldsSeq(string(list)) {
			n, err := strconv.ParseInt(f, 10, 64)
			if err != nil {
				return fmt.Errorf("read the day figures of target %d: %w", id, err)
			}
			nums = append(nums, n)
		}
		for i := 0; i+4 <= len(nums); i += 4 {
			b = uptime.Brief{Start: time.UnixMilli(nums[i] * unit).UTC(), Up: time.Duration(nums[i+1]) * time.Millisecond,
				Down: time.Duration(nums[i+2]) * time.Millisecond, Checks: int(nums[i+3])}
			fn(id, &b)
		}
	}
	return dbErr(rows.Err())
}

// joined is the aggregate that strings the values of expr, text, together
// with spaces between, in any order: an order asked for would cost a sort
// a target, and the readers sort what they need sorted.
func (db *DB) joined(expr string) string {
	if db.driver == DriverSQLite {
		return `group_concat(` + expr + `, ' ')`
	}
	return `string_agg(` + expr + `, ' ')`
}

// hex is expr, a blob, as hexadecimal text.
func (db *DB) hex(expr string) string {
	if db.driver == DriverSQLite {
		return `hex(` + expr + `)`
	}
	return `encode(` + expr + `, 'hex')`
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

// segment is a stretch of rollups of one resolution that the same
// windows of a page hold, whole: tallies and briefs are their indexes;
// days says the stretch is of the days asked for.
type segment struct {
	piece
	tallies, briefs []int
	days            bool
}

// segments cuts the pieces of the windows full and briefs, and days, at
// every window's edges: each segment is then read once, in one query (two
// with the histograms), for every window that holds it.
func segments(full, briefs []pageSpan, days []piece) []segment {
	type member struct {
		p    piece
		kind int // 0 a Tally window, 1 a Brief window, 2 the days
		i    int
	}
	var all []member
	for i := range full {
		for _, p := range full[i].pieces {
			all = append(all, member{p, 0, i})
		}
	}
	for i := range briefs {
		for _, p := range briefs[i].pieces {
			all = append(all, member{p, 1, i})
		}
	}
	for _, p := range days {
		all = append(all, member{p, 2, 0})
	}
	var out []segment
	for _, res := range []uptime.Resolution{uptime.Day, uptime.Hour, uptime.Minute} {
		var edges []time.Time
		for _, m := range all {
			if m.p.res == res {
				edges = append(edges, m.p.from, m.p.to)
			}
		}
		slices.SortFunc(edges, time.Time.Compare)
		edges = slices.CompactFunc(edges, time.Time.Equal)
		for k := 0; k+1 < len(edges); k++ {
			sg := segment{piece: piece{res, edges[k], edges[k+1]}}
			in := false
			for _, m := range all {
				if m.p.res != res || sg.from.Before(m.p.from) || m.p.to.Before(sg.to) {
					continue
				}
				in = true
				switch m.kind {
				case 0:
					sg.tallies = append(sg.tallies, m.i)
				case 1:
					sg.briefs = append(sg.briefs, m.i)
				default:
					sg.days = true
				}
			}
			if !in {
				continue
			}
			// A neighbour held by the same windows is read with it.
			if n := len(out); n > 0 && out[n-1].res == res && out[n-1].to.Equal(sg.from) && out[n-1].days == sg.days &&
				slices.Equal(out[n-1].tallies, sg.tallies) && slices.Equal(out[n-1].briefs, sg.briefs) {
				out[n-1].to = sg.to
				continue
			}
			out = append(out, sg)
		}
	}
	return out
}

// sumRollups adds up the target rollups of p selected by cond, by target
// id, as Tally.Merge adds them, in one row a target: the database sums
// the columns and strings the histograms together, hex-encoded, to be
// merged here; fn has each target's sum, t being reused for the next. A
// row a target rather than a row a rollup spares most of the cost of a
// row read (the driver's per column and per row work).
func (db *DB) sumRollups(ctx context.Context, cond string, p piece, fn func(id int64, t *uptime.Tally)) error {
	// A rollup without latencies has none to add (Tally.Merge): its
	// latency columns are 0, which leaves the maximum and the sum as they
	// are, but not the minimum.
	rows, err := db.rdb.QueryContext(ctx, `SELECT target_id, `+sumCols(`up_n`, `degraded_n`, `down_n`, `unknown_n`,
		`up_ms`, `degraded_ms`, `down_ms`, `unknown_ms`, `maint_ms`, `paused_ms`)+`,
		COALESCE(MIN(CASE WHEN length(hist) > 0 THEN lat_min_us END), 0), COALESCE(MAX(lat_max_us), 0),
		`+sumCols(`lat_sum_us`)+`,
		COALESCE(`+db.joined(db.hex(`hist`))+`, '')
		FROM rollups WHERE res = $1 AND bucket >= $2 AND bucket < $3 AND `+cond+` GROUP BY target_id`,
		int64(p.res), timeMS(p.from), p.to.UnixMilli())
	if err != nil {
		return dbErr(err)
	}
	defer rows.Close()
	t := new(uptime.Tally)
	var hists sql.RawBytes // decoded at once: no copy a row
	var hist []byte
	for rows.Next() {
		var id, up, degraded, down, unknown, upMS, degMS, downMS, unkMS, mMS, pMS, latMin, latMax, latSum int64
		if err := rows.Scan(&id, &up, &degraded, &down, &unknown, &upMS, &degMS, &downMS, &unkMS, &mMS, &pMS,
			&latMin, &latMax, &latSum, &hists); err != nil {
			return dbErr(err)
		}
		ms := func(v int64) time.Duration { return time.Duration(v) * time.Millisecond }
		us := func(v int64) time.Duration { return time.Duration(v) * time.Microsecond }
		*t = uptime.Tally{Up: int(up), Degraded: int(degraded), Down: int(down), Unknown: int(unknown),
			UpTime: ms(upMS), DegradedTime: ms(degMS), DownTime: ms(downMS), UnknownTime: ms(unkMS),
			MaintenanceTime: ms(mMS), PausedTime: ms(pMS), LatencyMin: us(latMin), LatencyMax: us(latMax), LatencySum: us(latSum)}
		for h := range strings.FieldsSeq(string(hists)) {
			if hist, err = hex.AppendDecode(hist[:0], []byte(h)); err == nil {
				err = t.Latency.MergeBinary(hist)
			}
			if err != nil {
				return fmt.Errorf("decode a latency histogram of target %d: %w", id, err)
			}
		}
		fn(id, t)
	}
	return dbErr(rows.Err())
}

// sumBriefs adds up the Briefs of the target rollups of p selected by
// cond, by target id, in the database: one row a target.
func (db *DB) sumBriefs(ctx context.Context, cond string, p piece) (map[int64]uptime.Brief, error) {
	rows, err := db.rdb.QueryContext(ctx, `SELECT target_id, `+sumCols(`up_ms + degraded_ms`, `down_ms`, `up_n + degraded_n + down_n + unknown_n`)+`
		FROM rollups WHERE res = $1 AND bucket >= $2 AND bucket < $3 AND `+cond+` GROUP BY target_id`,
		int64(p.res), timeMS(p.from), p.to.UnixMilli())
	if err != nil {
		return nil, dbErr(err)
	}
	defer rows.Close()
	out := map[int64]uptime.Brief{}
	for rows.Next() {
		var id, up, down, checks int64
		if err := rows.Scan(&id, &up, &down, &checks); err != nil {
			return nil, dbErr(err)
		}
		out[id] = uptime.Brief{Up: time.Duration(up) * time.Millisecond, Down: time.Duration(down) * time.Millisecond, Checks: int(checks)}
	}
	return out, dbErr(rows.Err())
}

// sumCols is the sums of exprs, as BIGINT on either database (PostgreSQL
// sums a BIGINT into a NUMERIC).
func sumCols(exprs ...string) string {
	var b strings.Builder
	for i, e := range exprs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("CAST(SUM(" + e + ") AS BIGINT)")
	}
	return b.String()
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
