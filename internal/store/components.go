package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/lookout/lookout/internal/uptime"
)

// Page sizes of ComponentHistory.
const (
	DefaultComponentHistoryLimit = 100
	MaxComponentHistoryLimit     = 1000
)

// componentRow is one component of one result, cleaned for storage.
type componentRow struct {
	targetID, ts int64
	name         string
	status       int64
	observed     float64
	unit, output string
}

// componentBatch is what a batch's health documents reported. Results
// without components add nothing to it, and an empty batch costs no
// statement at all.
type componentBatch struct {
	// rounds[k] holds the components of each target's k-th result in the
	// batch that reported any. One upsert statement must not touch a row
	// twice (PostgreSQL refuses it), and writing a target's results one
	// round after another moves since exactly as separate batches would.
	rounds [][]componentRow
	rows   int
}

// batchComponents collects the components of a batch's results; results[i]
// is the row of batch[i], whose ts the component rows share.
func batchComponents(batch []*item, results []resultRow) componentBatch {
	var cb componentBatch
	var nth map[int64]int
	for i, it := range batch {
		cs := it.obs.Result.Components
		if len(cs) == 0 {
			continue
		}
		if nth == nil {
			nth = map[int64]int{}
		}
		r := &results[i]
		k := nth[r.targetID]
		nth[r.targetID] = k + 1
		if k == len(cb.rounds) {
			cb.rounds = append(cb.rounds, nil)
		}
		seen := make(map[string]bool, len(cs))
		for _, c := range cs[:min(len(cs), uptime.MaxComponents)] {
			name := clean(c.Name, uptime.MaxComponentNameLen)
			if name == "" || seen[name] {
				continue
			}
			seen[name] = true
			obs := c.Observed
			if math.IsNaN(obs) || math.IsInf(obs, 0) {
				obs = 0 // SQLite stores NaN as NULL, which the column refuses
			}
			cb.rounds[k] = append(cb.rounds[k], componentRow{
				targetID: r.targetID,
				ts:       r.ts,
				name:     name,
				status:   int64(c.Status),
				observed: obs,
				unit:     clean(c.Unit, uptime.MaxComponentUnitLen),
				output:   cleanText(c.Output),
			})
			cb.rows++
		}
	}
	// Key order, so that instances sharing a PostgreSQL database lock
	// component rows in the same order.
	for _, round := range cb.rounds {
		slices.SortFunc(round, func(a, b componentRow) int {
			return cmp.Or(cmp.Compare(a.targetID, b.targetID), strings.Compare(a.name, b.name))
		})
	}
	return cb
}

// prepareComponents prepares the statements writeComponents will use. Like
// the writer's other statements, they must be prepared before BEGIN.
func (w *writer) prepareComponents(ctx context.Context, cb componentBatch) error {
	for _, round := range cb.rounds {
		if err := w.prepare(ctx, stmtComponents, len(round)); err != nil {
			return err
		}
	}
	return w.prepare(ctx, stmtComponentResults, cb.rows)
}

// writeComponents upserts each reported component's latest state and
// appends its history rows, inside the batch's transaction.
func (w *writer) writeComponents(ctx context.Context, tx *sql.Tx, cb componentBatch) error {
	for _, round := range cb.rounds {
		for part := range slices.Chunk(round, rowsPerStatement) {
			args := w.args[:0]
			for _, c := range part {
				args = append(args, c.targetID, c.name, c.status, c.ts, c.ts, c.observed, c.unit, c.output)
			}
			if _, err := w.exec(ctx, tx, stmtComponents, len(part), args); err != nil {
				return fmt.Errorf("upsert components: %w", err)
			}
		}
	}
	if cb.rows == 0 {
		return nil
	}
	all := make([]componentRow, 0, cb.rows)
	for _, round := range cb.rounds {
		all = append(all, round...)
	}
	for part := range slices.Chunk(all, rowsPerStatement) {
		args := w.args[:0]
		for _, c := range part {
			args = append(args, c.targetID, c.name, c.ts, c.status, c.observed)
		}
		if _, err := w.exec(ctx, tx, stmtComponentResults, len(part), args); err != nil {
			return fmt.Errorf("insert component results: %w", err)
		}
	}
	return nil
}

// componentsSQL upserts n components. since moves only when the status
// changes; a row older than the stored one (a result that arrived late)
// changes nothing.
func componentsSQL(n int, anon bool) string {
	return valuesInsert(`INSERT INTO components (target_id, name, status, since, last_seen, observed, unit, output)`,
		[]string{"BIGINT", "TEXT", "INTEGER", "BIGINT", "BIGINT", "DOUBLE PRECISION", "TEXT", "TEXT"}, n, anon,
		`ON CONFLICT (target_id, name) DO UPDATE SET
		since = CASE WHEN components.status <> excluded.status THEN excluded.since ELSE components.since END,
		status = excluded.status, last_seen = excluded.last_seen, observed = excluded.observed,
		unit = excluded.unit, output = excluded.output
		WHERE excluded.last_seen >= components.last_seen`)
}

// componentResultsSQL inserts n history rows, finding each component by
// target and name: the components were upserted just before, in the same
// transaction. A component of a deleted target has no row and is skipped.
func componentResultsSQL(n int, anon bool) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO component_results (component_id, ts, status, observed)
		SELECT c.id, v.column3, v.column4, v.column5 FROM (VALUES `)
	writeValues(&b, []string{"BIGINT", "TEXT", "BIGINT", "INTEGER", "DOUBLE PRECISION"}, n, anon)
	// A WHERE, not JOIN … ON: SQLite's parser needs one before ON CONFLICT.
	b.WriteString(`) AS v, components c WHERE c.target_id = v.column1 AND c.name = v.column2
		ON CONFLICT DO NOTHING`)
	return b.String()
}

// Components returns the latest state of each component the target's
// health documents reported, sorted by name (bytewise, on both databases);
// an empty list when they reported none. An unknown target gives an error
// wrapping uptime.ErrNotFound.
func (db *DB) Components(ctx context.Context, targetID int64) ([]uptime.ComponentState, error) {
	tx, err := db.rdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("components of target %d: %w", targetID, dbErr(err))
	}
	defer tx.Rollback()
	if _, err := targetInterval(ctx, tx, targetID); err != nil {
		return nil, fmt.Errorf("components of target %d: %w", targetID, err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT name, status, since, last_seen, observed, unit, output
		FROM components WHERE target_id = $1`, targetID)
	if err != nil {
		return nil, fmt.Errorf("components of target %d: %w", targetID, dbErr(err))
	}
	defer rows.Close()
	out := []uptime.ComponentState{}
	for rows.Next() {
		var c uptime.ComponentState
		var status, since, seen int64
		if err := rows.Scan(&c.Name, &status, &since, &seen, &c.Observed, &c.Unit, &c.Output); err != nil {
			return nil, fmt.Errorf("components of target %d: %w", targetID, dbErr(err))
		}
		c.Status, c.Since, c.LastSeen = uptime.Status(status), msTime(since), msTime(seen)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("components of target %d: %w", targetID, dbErr(err))
	}
	// Sorted here: PostgreSQL's ORDER BY follows the database's collation.
	slices.SortFunc(out, func(a, b uptime.ComponentState) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// ComponentHistory returns a component's points newest first, those with
// from <= At < to (a zero bound is open), at most limit (default 100, at
// most 1000). An unknown target or component gives an error wrapping
// uptime.ErrNotFound.
func (db *DB) ComponentHistory(ctx context.Context, targetID int64, name string, from, to time.Time, limit int) ([]uptime.ComponentPoint, error) {
	limit = pageLimit(limit, DefaultComponentHistoryLimit, MaxComponentHistoryLimit)
	lo, hi := bounds(from, to)
	tx, err := db.rdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("history of component %q: %w", name, dbErr(err))
	}
	defer tx.Rollback()
	if _, err := targetInterval(ctx, tx, targetID); err != nil {
		return nil, fmt.Errorf("history of component %q: %w", name, err)
	}
	id, err := componentID(ctx, tx, targetID, name)
	if err != nil {
		return nil, fmt.Errorf("history of component %q: %w", name, err)
	}
	pts, err := componentPoints(ctx, tx, `SELECT ts, status, observed FROM component_results
		WHERE component_id = $1 AND ts >= $2 AND ts < $3 ORDER BY ts DESC LIMIT $4`, id, lo, hi, limit)
	if err != nil {
		return nil, fmt.Errorf("history of component %q: %w", name, err)
	}
	return pts, nil
}

// bounds turns an optional [from, to) into Unix milliseconds.
func bounds(from, to time.Time) (lo, hi int64) {
	lo, hi = math.MinInt64, math.MaxInt64
	if !from.IsZero() {
		lo = from.UnixMilli()
	}
	if !to.IsZero() {
		hi = to.UnixMilli()
	}
	return lo, hi
}

// targetInterval returns the target's check interval, 0 for a target on a
// cron schedule, or an error wrapping uptime.ErrNotFound.
func targetInterval(ctx context.Context, tx *sql.Tx, targetID int64) (time.Duration, error) {
	var spec string
	err := tx.QueryRowContext(ctx, `SELECT spec FROM targets WHERE id = $1`, targetID).Scan(&spec)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("target %d: %w", targetID, uptime.ErrNotFound)
	}
	if err != nil {
		return 0, dbErr(err)
	}
	var t struct {
		Interval uptime.Duration `json:"interval"`
	}
	if err := json.Unmarshal([]byte(spec), &t); err != nil {
		return 0, fmt.Errorf("target %d: decode spec: %w", targetID, err)
	}
	return t.Interval.D(), nil
}

func componentID(ctx context.Context, tx *sql.Tx, targetID int64, name string) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, `SELECT id FROM components WHERE target_id = $1 AND name = $2`,
		targetID, name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("component %q of target %d: %w", name, targetID, uptime.ErrNotFound)
	}
	if err != nil {
		return 0, dbErr(err)
	}
	return id, nil
}

func componentPoints(ctx context.Context, tx *sql.Tx, q string, args ...any) ([]uptime.ComponentPoint, error) {
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, dbErr(err)
	}
	defer rows.Close()
	out := []uptime.ComponentPoint{}
	for rows.Next() {
		var ts, status int64
		var p uptime.ComponentPoint
		if err := rows.Scan(&ts, &status, &p.Observed); err != nil {
			return nil, dbErr(err)
		}
		p.At, p.Status = time.UnixMilli(ts).UTC(), uptime.Status(status)
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr(err)
	}
	return out, nil
}
