package store

import (
	"context"
	"fmt"
	"time"

	"github.com/lookout/lookout/internal/uptime"
)

// Retention says how long each kind of history is kept; 0 keeps it
// forever.
type Retention struct {
	// Raw is for each check's result and each component's point.
	Raw time.Duration
	// Minute and Hour are for those rollups, the targets', the
	// components' and the fleet's; day rollups are kept forever.
	Minute, Hour time.Duration
	// Deliveries is for finished deliveries (the delivery log) and the
	// events no pending delivery needs.
	Deliveries time.Duration
}

// Default retention.
const (
	DefaultRawRetention        = 14 * 24 * time.Hour
	DefaultMinuteRetention     = 30 * 24 * time.Hour
	DefaultHourRetention       = 2 * 365 * 24 * time.Hour
	DefaultDeliveriesRetention = 30 * 24 * time.Hour
)

// pruneBatch is the most rows one DELETE removes: each is its own short
// transaction, so the result writer never waits more than a few
// milliseconds for the writer connection.
const pruneBatch = 1000

// PruneStats counts what Prune deleted.
type PruneStats struct {
	Results, ComponentResults, Rollups, Deliveries, Events, Tombstones int64
	// Instances is how many instances sharing PostgreSQL were forgotten:
	// dead for over an hour and holding nothing.
	Instances int64
}

// Prune deletes history older than r says, in small batches. Raw checks go
// only once they are rolled up (before the watermark), so that a pruned
// database answers the same uptime for old windows. Incidents are kept.
// Deleted targets' tombstones in the change feed go after a day, and
// instances dead for an hour that hold nothing leave the cluster view.
// It returns what it deleted, also when ctx ends or the database fails
// midway (the rest goes at the next run). Errors are the database's.
func (db *DB) Prune(ctx context.Context, now time.Time, r Retention) (PruneStats, error) {
	var st PruneStats
	w, err := db.Watermark(ctx)
	if err != nil {
		return st, err
	}
	cut := func(age time.Duration) int64 {
		if age <= 0 {
			return 0
		}
		return now.Add(-age).UnixMilli()
	}
	if raw := cut(r.Raw); raw > 0 && !w.IsZero() {
		raw = min(raw, w.UnixMilli())
		n, err := db.pruneSeries(ctx, `SELECT id FROM targets`, "results", "target_id", "ts", raw, "")
		st.Results += n
		if err != nil {
			return st, fmt.Errorf("prune results: %w", err)
		}
		n, err = db.pruneSeries(ctx, `SELECT id FROM components`, "component_results", "component_id", "ts", raw, "")
		st.ComponentResults += n
		if err != nil {
			return st, fmt.Errorf("prune component results: %w", err)
		}
	}
	for _, p := range []struct {
		res uptime.Resolution
		age time.Duration
	}{{uptime.Minute, r.Minute}, {uptime.Hour, r.Hour}} {
		c := cut(p.age)
		if c == 0 {
			continue
		}
		res := fmt.Sprintf(" AND res = %d", p.res)
		n, err := db.pruneSeries(ctx, `SELECT id FROM targets`, "rollups", "target_id", "bucket", c, res)
		st.Rollups += n
		if err == nil {
			n, err = db.pruneSeries(ctx, `SELECT id FROM components`, "component_rollups", "component_id", "bucket", c, res)
			st.Rollups += n
		}
		if err == nil {
			// The fleet's, one series keyed (res, bucket).
			n, err = db.deleteInBatches(ctx, fmt.Sprintf(`DELETE FROM fleet_rollups WHERE res = %[1]d
				AND bucket < COALESCE((SELECT bucket FROM fleet_rollups WHERE res = %[1]d AND bucket < $1
				ORDER BY bucket LIMIT 1 OFFSET %[2]d), $1)`, p.res, pruneBatch), c)
			st.Rollups += n
		}
		if err != nil {
			return st, fmt.Errorf("prune %s rollups: %w", p.res, err)
		}
	}
	if c := cut(r.Deliveries); c > 0 {
		n, err := db.pruneRows(ctx, `DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries
			WHERE status <> 'pending' AND finished_at < $1 ORDER BY id LIMIT $2)`, c)
		st.Deliveries += n
		if err != nil {
			return st, fmt.Errorf("prune deliveries: %w", err)
		}
		n, err = db.pruneRows(ctx, `DELETE FROM events WHERE id IN (SELECT e.id FROM events e WHERE e.at < $1
			AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id) ORDER BY e.id LIMIT $2)`, c)
		st.Events += n
		if err != nil {
			return st, fmt.Errorf("prune events: %w", err)
		}
	}
	n, err := db.pruneTombstones(ctx, now)
	st.Tombstones += n
	if err != nil {
		return st, fmt.Errorf("prune tombstones: %w", err)
	}
	n, err = db.forgetDeadInstances(ctx)
	st.Instances += n
	if err != nil {
		return st, fmt.Errorf("forget dead instances: %w", err)
	}
	return st, nil
}

// pruneSeries deletes the rows of table (a per-series table keyed by
// (col, key…), a constant) whose key column is before cut, series by
// series, a batch at a time. ids lists the series; extra narrows the rows.
func (db *DB) pruneSeries(ctx context.Context, ids, table, col, key string, cut int64, extra string) (int64, error) {
	rows, err := db.rdb.QueryContext(ctx, ids)
	if err != nil {
		return 0, dbErr(err)
	}
	var all []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, dbErr(err)
		}
		all = append(all, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, dbErr(err)
	}
	// Up to pruneBatch rows at a time: below the key of the row pruneBatch
	// places on, or all of them when there are fewer.
	q := fmt.Sprintf(`DELETE FROM %[1]s WHERE %[2]s = $1 AND %[3]s < COALESCE((SELECT %[3]s FROM %[1]s
		WHERE %[2]s = $1 AND %[3]s < $2%[4]s ORDER BY %[3]s LIMIT 1 OFFSET %[5]d), $2)%[4]s`,
		table, col, key, extra, pruneBatch)
	var total int64
	for _, id := range all {
		n, err := db.deleteInBatches(ctx, q, id, cut)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// pruneRows runs a DELETE of at most $2 rows older than $1 until it
// deletes fewer.
func (db *DB) pruneRows(ctx context.Context, q string, cut int64) (int64, error) {
	return db.deleteInBatches(ctx, q, cut, pruneBatch)
}

// deleteInBatches runs q, a DELETE of at most pruneBatch rows, each in its
// own transaction, until it deletes fewer.
func (db *DB) deleteInBatches(ctx context.Context, q string, args ...any) (int64, error) {
	var total int64
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		res, err := db.wdb.ExecContext(ctx, q, args...)
		if err != nil {
			return total, dbErr(err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, dbErr(err)
		}
		total += n
		if n < pruneBatch {
			return total, nil
		}
	}
}
