package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lookout/lookout/internal/uptime"
)

// maxGap is how long a check of t vouches for its status before the time
// is unknown (Options.MaxGap).
func (db *DB) maxGap(t *uptime.Target) time.Duration {
	if db.opts.MaxGap != nil {
		return db.opts.MaxGap(t)
	}
	return DefaultMaxGap(t)
}

// DefaultMaxGap is two intervals, or two minutes for a target on a cron
// schedule.
func DefaultMaxGap(t *uptime.Target) time.Duration {
	if t.Interval > 0 {
		return 2 * t.Interval.D()
	}
	return 2 * time.Minute
}

// maintenance returns the maintenance spans covering labels within
// [from, to), merged, from the windows ms (Options.MaintenanceWindows).
func (db *DB) maintenance(ms []uptime.Maintenance, labels map[string]string, from, to time.Time) []uptime.Interval {
	if db.opts.MaintenanceWindows == nil {
		return nil
	}
	var out []uptime.Interval
	for _, m := range ms {
		out = append(out, db.opts.MaintenanceWindows(m, labels, from, to)...)
	}
	return uptime.MergeIntervals(out)
}

// rollupRowsPerStatement keeps a multi-row insert of 17 columns well under
// both databases' parameter limits; rollupRowsPerTx bounds how long one
// transaction holds the writer (a few milliseconds on SQLite).
const (
	rollupRowsPerStatement = 50
	rollupRowsPerTx        = 500
)

// watermarkKey names the rollup job's progress in rollup_state.
const watermarkKey = "watermark"

// Watermark returns how far history is rolled up: every check before it
// is in the minute rollups, every whole hour and day before it in theirs;
// the zero time when nothing is. Errors are the database's.
func (db *DB) Watermark(ctx context.Context) (time.Time, error) {
	var ms int64
	err := db.rdb.QueryRowContext(ctx, `SELECT value FROM rollup_state WHERE name = $1`, watermarkKey).Scan(&ms)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("read the rollup watermark: %w", dbErr(err))
	}
	return msTime(ms), nil
}

// rollupMargin is how long after its longest possible check a minute is
// rolled up: a check is stored when it ends, under the time it started,
// and a minute is final only once every check started in it is stored.
const rollupMargin = time.Minute

// RollUp rolls the checks of every target and component up, from the
// watermark to upTo (cut to the minute): minute rollups, then hour and day
// rollups for every hour and day the pass completes. upTo is held back to
// the store's now less the longest target timeout and a minute, so that
// every check started before it is stored.
//
// It is restart-safe and never counts twice: the rollups of a step are
// computed from stored checks alone, so computing them again gives the same
// rows, which are inserted only where missing; the watermark moves only
// after a step's rows are written. Rows are written in small transactions,
// so the result writer never waits long. It returns the new watermark.
// Errors are the database's; the watermark then stays where the last
// completed step left it.
func (db *DB) RollUp(ctx context.Context, upTo time.Time) (time.Time, error) {
	w, err := db.Watermark(ctx)
	if err != nil {
		return time.Time{}, err
	}
	end := uptime.Minute.Bucket(upTo)
	if w.IsZero() {
		// History starts with the first target.
		var first sql.NullInt64
		if err := db.rdb.QueryRowContext(ctx, `SELECT MIN(created_at) FROM targets`).Scan(&first); err != nil {
			return w, fmt.Errorf("roll up: %w", dbErr(err))
		}
		if !first.Valid {
			return w, nil
		}
		w = uptime.Day.Bucket(msTime(first.Int64))
	}
	if !w.Before(end) {
		return w, nil
	}
	series, err := db.rollupSeries(ctx)
	if err != nil {
		return w, fmt.Errorf("roll up: %w", err)
	}
	longest := time.Duration(0)
	for _, s := range series {
		if s.target != nil {
			longest = max(longest, s.target.Timeout.D())
		}
	}
	if settled := uptime.Minute.Bucket(db.now().Add(-longest - rollupMargin)); settled.Before(end) {
		end = settled
	}
	for w.Before(end) {
		// A long catch-up (after a long stop, or an upgrade) goes a day at
		// a time: one range read per series and day.
		next := uptime.Day.Bucket(w).Add(24 * time.Hour)
		if next.After(end) {
			next = end
		}
		if err := db.rollUpStep(ctx, series, w, next, db.storedPoints, true); err != nil {
			return w, fmt.Errorf("roll up %s to %s: %w", w.Format(time.RFC3339), next.Format(time.RFC3339), err)
		}
		w = next
	}
	return w, nil
}

// series is one history to roll up: a target, a component of one, or
// the whole fleet (every target's, added up).
type series struct {
	target    *uptime.Target // nil for the fleet
	component int64          // 0 for the target itself
}

// fleet is the series of every target added up.
var fleet = series{}

// rollupTable is where a kind of series keeps its rollups.
type rollupTable struct {
	name string
	// id is the series' key column and parent the table it refers to;
	// "" for the one fleet series.
	id, parent string
}

var (
	targetRollups    = rollupTable{"rollups", "target_id", "targets"}
	componentRollups = rollupTable{"component_rollups", "component_id", "components"}
	fleetRollups     = rollupTable{name: "fleet_rollups"}
	rollupTables     = []rollupTable{targetRollups, componentRollups, fleetRollups}
)

func (s *series) table() rollupTable {
	switch {
	case s.target == nil:
		return fleetRollups
	case s.component != 0:
		return componentRollups
	}
	return targetRollups
}

// id is the series' key in its table.
func (s *series) id() int64 {
	switch {
	case s.target == nil:
		return 0
	case s.component != 0:
		return s.component
	}
	return s.target.ID
}

func (db *DB) rollupSeries(ctx context.Context) ([]series, error) {
	snaps, err := db.AllTargets(ctx)
	if err != nil {
		return nil, err
	}
	byID := make(map[int64]*uptime.Target, len(snaps))
	out := make([]series, 0, len(snaps))
	for i := range snaps {
		t := &snaps[i].Target
		byID[t.ID] = t
		out = append(out, series{target: t})
	}
	rows, err := db.rdb.QueryContext(ctx, `SELECT id, target_id FROM components ORDER BY id`)
	if err != nil {
		return nil, dbErr(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, tid int64
		if err := rows.Scan(&id, &tid); err != nil {
			return nil, dbErr(err)
		}
		if t := byID[tid]; t != nil {
			out = append(out, series{target: t, component: id})
		}
	}
	return out, dbErr(rows.Err())
}

// stepPoints gives a series' checks in [from, to) and its last check
// before from, as seriesPoints reads them for a rollup step: with none in
// [from, to), none at all.
type stepPoints func(ctx context.Context, s *series, from, to time.Time, gap time.Duration) (uptime.Point, []uptime.Point, error)

// storedPoints is stepPoints of the stored checks: the rollup job's.
func (db *DB) storedPoints(ctx context.Context, s *series, from, to time.Time, gap time.Duration) (uptime.Point, []uptime.Point, error) {
	return db.seriesPoints(ctx, s, from, to, gap, false)
}

// rollUpStep rolls [from, to) up, to lying within from's day: the minute
// rollups of each series, and the hour and day rollups of the hours and the
// day the step completes, from the checks src gives. Unless writeMinutes,
// no minute rollups are written (they would be past their retention), and
// the checks are rolled up by the hour at once, which is the same as their
// minutes added up; to is then on a whole hour.
func (db *DB) rollUpStep(ctx context.Context, all []series, from, to time.Time, src stepPoints, writeMinutes bool) error {
	pauses, err := db.pauses(ctx, from)
	if err != nil {
		return err
	}
	ms, err := db.ListMaintenance(ctx)
	if err != nil {
		return err
	}
	finest := uptime.Minute
	if !writeMinutes {
		finest = uptime.Hour
	}
	ins := &rollupInserter{db: db}
	// The fleet's finest rollups add up those of every target, all of
	// which this step computes.
	fleetFinest := map[time.Time]*uptime.Tally{}
	for i := range all {
		s := &all[i]
		gap := db.maxGap(s.target)
		prev, points, err := src(ctx, s, from, to, gap)
		if err != nil {
			return err
		}
		var fine []uptime.Rollup
		if len(points) > 0 {
			start := from
			if !prev.At.IsZero() {
				start = prev.At
			}
			maint := db.maintenance(ms, s.target.Labels, start, to)
			fine, _ = uptime.RollUpBy(finest, prev, points, gap, maint, pauses[s.target.ID])
			if s.component != 0 {
				noLatency(fine)
			} else {
				for j := range fine {
					t := fleetFinest[fine[j].Start]
					if t == nil {
						t = &uptime.Tally{}
						fleetFinest[fine[j].Start] = t
					}
					t.Merge(&fine[j].Tally)
				}
			}
			if writeMinutes {
				if err := ins.add(ctx, s, uptime.Minute, fine); err != nil {
					return err
				}
			}
		}
		// The step that ends an hour completes it, and a day with its last
		// hour; the rest of them was rolled up by earlier steps.
		hours, err := db.complete(ctx, ins, s, uptime.Hour, fine, from, to)
		if err != nil {
			return err
		}
		if _, err := db.complete(ctx, ins, s, uptime.Day, hours, from, to); err != nil {
			return err
		}
	}
	fine := make([]uptime.Rollup, 0, len(fleetFinest))
	for start, t := range fleetFinest {
		fine = append(fine, uptime.Rollup{Start: start, Tally: *t})
	}
	slices.SortFunc(fine, func(a, b uptime.Rollup) int { return a.Start.Compare(b.Start) })
	if writeMinutes {
		if err := ins.add(ctx, &fleet, uptime.Minute, fine); err != nil {
			return err
		}
	}
	hours, err := db.complete(ctx, ins, &fleet, uptime.Hour, fine, from, to)
	if err != nil {
		return err
	}
	if _, err := db.complete(ctx, ins, &fleet, uptime.Day, hours, from, to); err != nil {
		return err
	}
	if err := ins.flush(ctx); err != nil {
		return err
	}
	_, err = db.wdb.ExecContext(ctx, `INSERT INTO rollup_state (name, value) VALUES ($1, $2)
		ON CONFLICT (name) DO UPDATE SET value = excluded.value`, watermarkKey, to.UnixMilli())
	return dbErr(err)
}

// noLatency clears the latency of a component's rollups: a component's
// checks carry no latency of their own.
func noLatency(rs []uptime.Rollup) {
	for i := range rs {
		t := &rs[i].Tally
		t.LatencyMin, t.LatencyMax, t.LatencySum, t.Latency = 0, 0, 0, uptime.Histogram{}
	}
}

// complete writes the rollups of res that the step [from, to) completes,
// merged from the finer ones: fresh, the finer rollups of this step, and
// those stored by earlier steps. It returns what it wrote.
func (db *DB) complete(ctx context.Context, ins *rollupInserter, s *series, res uptime.Resolution, fresh []uptime.Rollup, from, to time.Time) ([]uptime.Rollup, error) {
	first, last := res.Bucket(from), res.Bucket(to)
	if !first.Before(last) {
		return nil, nil
	}
	finer := uptime.Minute
	if res == uptime.Day {
		finer = uptime.Hour
	}
	// The finer rollups from the bucket's start to this step's first are
	// stored; fresh holds the rest. (A crashed earlier attempt at this
	// step may have stored some of fresh too: they are not read.)
	var out []uptime.Rollup
	if upper := finer.Bucket(from); first.Before(upper) {
		stored, err := db.readRollups(ctx, s.table(), s.id(), finer, first, upper)
		if err != nil {
			return nil, err
		}
		out = uptime.Coarsen(stored[s.id()], res)
	}
	n, _ := slices.BinarySearchFunc(fresh, last, func(r uptime.Rollup, t time.Time) int { return r.Start.Compare(t) })
	out = uptime.AppendCoarse(out, fresh[:n], res)
	return out, ins.add(ctx, s, res, out)
}

// seriesPoints reads a series' checks in [from, to) and its last check
// before from. The last check is looked for within gap first (one range
// read with the rest); only a series that was silent longer is asked
// again, and with none in [from, to) only when always is set.
func (db *DB) seriesPoints(ctx context.Context, s *series, from, to time.Time, gap time.Duration, always bool) (uptime.Point, []uptime.Point, error) {
	pts, err := db.readPoints(ctx, s, from.Add(-gap), to, 0)
	if err != nil {
		return uptime.Point{}, nil, err
	}
	i, _ := slices.BinarySearchFunc(pts, from, func(p uptime.Point, t time.Time) int { return p.At.Compare(t) })
	if i == len(pts) && !always {
		return uptime.Point{}, nil, nil
	}
	prev, err := db.prevPoint(ctx, s, pts[:i], from)
	return prev, pts[i:], err
}

// prevPoint is the last of before, the series' checks read just before
// from, or when there are none the series' last check before from at all.
func (db *DB) prevPoint(ctx context.Context, s *series, before []uptime.Point, from time.Time) (uptime.Point, error) {
	if n := len(before); n > 0 {
		return before[n-1], nil
	}
	last, err := db.readPoints(ctx, s, time.Time{}, from, 1)
	if err != nil || len(last) == 0 {
		return uptime.Point{}, err
	}
	return last[0], nil
}

// readPoints reads a series' checks in [from, to), oldest first; with last
// set, only the last that many.
func (db *DB) readPoints(ctx context.Context, s *series, from, to time.Time, last int) ([]uptime.Point, error) {
	q := `SELECT ts, status, dur_us FROM results WHERE target_id = $1 AND ts >= $2 AND ts < $3`
	id := s.target.ID
	if s.component != 0 {
		q = `SELECT ts, status, 0 FROM component_results WHERE component_id = $1 AND ts >= $2 AND ts < $3`
		id = s.component
	}
	order := ` ORDER BY ts`
	if last > 0 {
		order = fmt.Sprintf(` ORDER BY ts DESC LIMIT %d`, last)
	}
	rows, err := db.query(ctx, true, q+order, id, timeMS(from), to.UnixMilli())
	if err != nil {
		return nil, dbErr(err)
	}
	defer rows.Close()
	var out []uptime.Point
	for rows.Next() {
		var ts, st, us int64
		if err := rows.Scan(&ts, &st, &us); err != nil {
			return nil, dbErr(err)
		}
		out = append(out, uptime.Point{At: msTime(ts), Status: uptime.Status(st), Latency: time.Duration(us) * time.Microsecond})
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr(err)
	}
	if last > 0 {
		slices.Reverse(out)
	}
	return out, nil
}

// pauses returns each target's paused spans that end after since (or have
// not ended: they run to the far future), merged and sorted.
func (db *DB) pauses(ctx context.Context, since time.Time) (map[int64][]uptime.Interval, error) {
	rows, err := db.rdb.QueryContext(ctx, `SELECT target_id, started, ended FROM target_pauses
		WHERE ended = 0 OR ended > $1`, since.UnixMilli())
	if err != nil {
		return nil, dbErr(err)
	}
	defer rows.Close()
	out := map[int64][]uptime.Interval{}
	for rows.Next() {
		var id, started, ended int64
		if err := rows.Scan(&id, &started, &ended); err != nil {
			return nil, dbErr(err)
		}
		iv := uptime.Interval{From: msTime(started), To: msTime(ended)}
		if ended == 0 {
			iv.To = time.Unix(1<<40, 0)
		}
		out[id] = append(out[id], iv)
	}
	for id, ivs := range out {
		out[id] = uptime.MergeIntervals(ivs)
	}
	return out, dbErr(rows.Err())
}

// rollupColumns are read and written in this order.
const rollupColumns = `bucket, up_n, degraded_n, down_n, unknown_n, up_ms, degraded_ms, down_ms,
	unknown_ms, maint_ms, paused_ms, lat_min_us, lat_max_us, lat_sum_us, hist`

// readRollups reads the rollups of res in [from, to) of one series (id)
// or, with id 0, of every series in the table, by series id (0 for the
// fleet) and in bucket order.
func (db *DB) readRollups(ctx context.Context, tab rollupTable, id int64, res uptime.Resolution, from, to time.Time) (map[int64][]uptime.Rollup, error) {
	if id == 0 {
		return db.readRollupsWhere(ctx, tab, "", nil, res, from, to)
	}
	return db.readRollupsWhere(ctx, tab, tab.id+` = $3`, id, res, from, to)
}

// readRollupsWhere is readRollups narrowed by cond, whose parameter $3 is
// arg (a nil arg is no parameter); "" reads every series.
func (db *DB) readRollupsWhere(ctx context.Context, tab rollupTable, cond string, arg any, res uptime.Resolution, from, to time.Time) (map[int64][]uptime.Rollup, error) {
	out := map[int64][]uptime.Rollup{}
	err := db.scanRollups(ctx, tab, cond, arg, res, from, to, func(id int64, r *uptime.Rollup) {
		out[id] = append(out[id], *r)
	})
	return out, err
}

// scanRollups reads rollups as readRollupsWhere does and hands each to fn,
// by series id and in bucket order. r is reused for the next row: fn
// copies what it keeps. A rollup is over 2 KiB with its histogram, so
// reads that only add rollups up should add them in fn.
func (db *DB) scanRollups(ctx context.Context, tab rollupTable, cond string, arg any, res uptime.Resolution, from, to time.Time, fn func(id int64, r *uptime.Rollup)) error {
	col := tab.id
	if col == "" {
		col = "0"
	}
	// res is written in, not bound: SQLite plans a statement again each
	// time a value its plan depends on is bound, and the days' partial
	// index makes the plan depend on res.
	q := fmt.Sprintf(`SELECT %s, %s FROM %s WHERE res = %d AND bucket >= $1 AND bucket < $2`, col, rollupColumns, tab.name, res)
	args := []any{timeMS(from), to.UnixMilli()}
	if cond != "" {
		q += ` AND ` + cond
		if arg != nil {
			args = append(args, arg)
		}
	}
	order := ` ORDER BY bucket`
	if tab.id != "" {
		order = ` ORDER BY ` + col + `, bucket`
	}
	// Every series, every target, or one by parameter: a few texts, kept
	// prepared; not those with ids written in.
	rows, err := db.query(ctx, cond == "" || cond == everyTarget || arg != nil, q+order, args...)
	if err != nil {
		return dbErr(err)
	}
	defer rows.Close()
	r := new(uptime.Rollup)
	var hist sql.RawBytes // decoded at once: no copy a row
	for rows.Next() {
		var (
			sid, bucket                          int64
			up, degraded, down, unknown          int64
			upMS, degMS, downMS, unkMS, mMS, pMS int64
			latMin, latMax, latSum               int64
		)
		if err := rows.Scan(&sid, &bucket, &up, &degraded, &down, &unknown, &upMS, &degMS, &downMS,
			&unkMS, &mMS, &pMS, &latMin, &latMax, &latSum, &hist); err != nil {
			return dbErr(err)
		}
		// Every field is set: the histogram is replaced, not cleared first.
		r.Start = msTime(bucket)
		r.Up, r.Degraded, r.Down, r.Unknown = int(up), int(degraded), int(down), int(unknown)
		ms := func(v int64) time.Duration { return time.Duration(v) * time.Millisecond }
		r.UpTime, r.DegradedTime, r.DownTime, r.UnknownTime = ms(upMS), ms(degMS), ms(downMS), ms(unkMS)
		r.MaintenanceTime, r.PausedTime = ms(mMS), ms(pMS)
		us := func(v int64) time.Duration { return time.Duration(v) * time.Microsecond }
		r.LatencyMin, r.LatencyMax, r.LatencySum = us(latMin), us(latMax), us(latSum)
		if err := r.Latency.UnmarshalBinary(hist); err != nil {
			return fmt.Errorf("decode the latency histogram of %s %d at %d: %w", tab.name, sid, bucket, err)
		}
		fn(sid, r)
	}
	return dbErr(rows.Err())
}

// rollupInserter writes rollups in small transactions, keeping any row
// that exists already: a step computed again after a crash gives the same
// rows. A row of a series deleted meanwhile is skipped. Rows wait as
// their statements' arguments, the histogram encoded: a rollup is over
// 2 KiB, its row a few dozen bytes.
type rollupInserter struct {
	db *DB
	// args and rows are per table, in rollupTables' order.
	args [3][]any
	rows [3]int
}

func (ins *rollupInserter) add(ctx context.Context, s *series, res uptime.Resolution, rs []uptime.Rollup) error {
	tab := s.table()
	t := slices.Index(rollupTables, tab)
	for i := range rs {
		r := &rs[i]
		if tab.id != "" {
			ins.args[t] = append(ins.args[t], s.id())
		}
		hist, _ := r.Latency.MarshalBinary()
		if hist == nil {
			hist = []byte{}
		}
		ins.args[t] = append(ins.args[t], int64(res), r.Start.UnixMilli(),
			r.Up, r.Degraded, r.Down, r.Unknown,
			r.UpTime.Milliseconds(), r.DegradedTime.Milliseconds(), r.DownTime.Milliseconds(),
			r.UnknownTime.Milliseconds(), r.MaintenanceTime.Milliseconds(), r.PausedTime.Milliseconds(),
			r.LatencyMin.Microseconds(), r.LatencyMax.Microseconds(), r.LatencySum.Microseconds(), hist)
		ins.rows[t]++
	}
	if ins.rows[0]+ins.rows[1]+ins.rows[2] >= rollupRowsPerTx {
		return ins.flush(ctx)
	}
	return nil
}

func (ins *rollupInserter) flush(ctx context.Context) error {
	// Prepared before BEGIN: on SQLite the transaction holds the writer
	// pool's only connection.
	var stmts [3][2]*sql.Stmt // a full chunk's and the rest's
	for t, tab := range rollupTables {
		for k, n := range []int{min(ins.rows[t], rollupRowsPerStatement), ins.rows[t] % rollupRowsPerStatement} {
			if n == 0 {
				continue
			}
			st, err := ins.db.wstmts.get(ctx, ins.db.wdb, rollupInsertKey{tab.name, n}, func() string { return ins.db.rollupInsertSQL(tab, n) })
			if err != nil {
				return dbErr(err)
			}
			stmts[t][k] = st
		}
	}
	err := ins.db.inTx(ctx, func(tx *sql.Tx) error {
		for t := range rollupTables {
			args, rows := ins.args[t], ins.rows[t]
			per := len(args) / max(rows, 1)
			for rows > 0 {
				n, st := min(rows, rollupRowsPerStatement), stmts[t][0]
				if n < rollupRowsPerStatement {
					st = stmts[t][1]
				}
				if _, err := tx.StmtContext(ctx, st).ExecContext(ctx, args[:n*per]...); err != nil {
					return dbErr(err)
				}
				args, rows = args[n*per:], rows-n
			}
		}
		return nil
	})
	for t := range ins.args {
		clear(ins.args[t]) // let the histograms go
		ins.args[t], ins.rows[t] = ins.args[t][:0], 0
	}
	return err
}

// rollupInsertKey names the statement that inserts rows rollups into table.
type rollupInsertKey struct {
	table string
	rows  int
}

// rollupInsertSQL is the statement that inserts rows rollups into tab:
// the series' id (but for the fleet), res, then rollupColumns, a row after
// the other.
func (db *DB) rollupInsertSQL(tab rollupTable, rows int) string {
	// res, then rollupColumns.
	types := []string{"SMALLINT", "BIGINT", "BIGINT", "BIGINT", "BIGINT", "BIGINT", "BIGINT", "BIGINT",
		"BIGINT", "BIGINT", "BIGINT", "BIGINT", "BIGINT", "BIGINT", "BIGINT", "BYTEA"}
	if db.driver == DriverSQLite {
		types[0], types[len(types)-1] = "INTEGER", "BLOB"
	}
	cols := `res, ` + rollupColumns
	if tab.id != "" {
		types = append([]string{"BIGINT"}, types...)
		cols = tab.id + `, ` + cols
	}
	var b strings.Builder
	b.WriteString(`INSERT INTO ` + tab.name + ` (` + cols + `) SELECT `)
	for i := range types {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "v.column%d", i+1)
	}
	b.WriteString(` FROM (VALUES `)
	writeValues(&b, types, rows, db.driver == DriverSQLite)
	b.WriteString(`) AS v`)
	if tab.parent != "" {
		// A series deleted meanwhile has its rows skipped.
		b.WriteString(` WHERE EXISTS (SELECT 1 FROM ` + tab.parent + ` p WHERE p.id = v.column1)`)
	} else {
		b.WriteString(` WHERE true`) // SQLite's parser needs a WHERE before ON CONFLICT
	}
	b.WriteString(` ON CONFLICT DO NOTHING`)
	return b.String()
}
