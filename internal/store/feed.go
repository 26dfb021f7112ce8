package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/lookout/lookout/internal/uptime"
)

// tombstoneAge is how long a deleted target's tombstone is kept: a
// scheduler that has not read the feed for that long reloads everything.
const tombstoneAge = 24 * time.Hour

// nextVersion takes the feed's next version inside tx. The feed's single
// row stays locked until tx ends, so versions commit in the order they are
// taken: a reader that saw version V has seen every change up to V.
func nextVersion(ctx context.Context, tx *sql.Tx) (int64, error) {
	var v int64
	err := tx.QueryRowContext(ctx, `UPDATE feed SET version = version + 1 WHERE id = 1 RETURNING version`).Scan(&v)
	return v, dbErr(err)
}

// buryTarget leaves a tombstone for target id, inside the transaction that
// deletes it.
func (db *DB) buryTarget(ctx context.Context, tx *sql.Tx, id int64) error {
	v, err := nextVersion(ctx, tx)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO target_tombstones (target_id, version, deleted_at) VALUES ($1, $2, $3)
		ON CONFLICT (target_id) DO UPDATE SET version = excluded.version, deleted_at = excluded.deleted_at`,
		id, v, db.stamp().UnixMilli())
	return dbErr(err)
}

// Changes returns what happened to targets after version since: the
// targets created or changed, with their state, and the ids of those
// deleted; and the version this brings the caller to, to pass next time.
// since 0 returns every target. A caller that fell behind the tombstones
// kept (a day) is handed everything again, with reset set: it should
// forget the targets not handed. Errors are the database's.
func (db *DB) Changes(ctx context.Context, since int64) (changed []uptime.Snapshot, deleted []int64, next int64, reset bool, err error) {
	tx, err := db.rdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, nil, since, false, fmt.Errorf("read target changes: %w", dbErr(err))
	}
	defer tx.Rollback()
	var pruned int64
	if err := tx.QueryRowContext(ctx, `SELECT version, pruned FROM feed WHERE id = 1`).Scan(&next, &pruned); err != nil {
		return nil, nil, since, false, fmt.Errorf("read target changes: %w", dbErr(err))
	}
	if next == since {
		return nil, nil, since, false, nil
	}
	if since > 0 && since < pruned {
		// Deletions it has not seen may be forgotten: start over.
		since, reset = 0, true
	}
	rows, err := tx.QueryContext(ctx, snapshotSelect+` WHERE t.version > $1 AND t.version <= $2 ORDER BY t.id`, since, next)
	if err != nil {
		return nil, nil, since, false, fmt.Errorf("read target changes: %w", dbErr(err))
	}
	for rows.Next() {
		s, err := scanSnapshot(rows)
		if err != nil {
			rows.Close()
			return nil, nil, since, false, fmt.Errorf("read target changes: %w", dbErr(err))
		}
		changed = append(changed, s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, since, false, fmt.Errorf("read target changes: %w", dbErr(err))
	}
	if since > 0 {
		rows, err = tx.QueryContext(ctx, `SELECT target_id FROM target_tombstones WHERE version > $1 AND version <= $2`, since, next)
		if err != nil {
			return nil, nil, since, false, fmt.Errorf("read target changes: %w", dbErr(err))
		}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, nil, since, false, fmt.Errorf("read target changes: %w", dbErr(err))
			}
			deleted = append(deleted, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, nil, since, false, fmt.Errorf("read target changes: %w", dbErr(err))
		}
	}
	return changed, deleted, next, reset, nil
}

// pruneTombstones forgets deletions older than tombstoneAge, noting the
// newest version forgotten so that a scheduler behind it starts over.
func (db *DB) pruneTombstones(ctx context.Context, now time.Time) (int64, error) {
	var n int64
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		cut := now.Add(-tombstoneAge).UnixMilli()
		if _, err := tx.ExecContext(ctx, `UPDATE feed SET pruned = COALESCE((SELECT MAX(version)
			FROM target_tombstones WHERE deleted_at < $1), pruned) WHERE id = 1`, cut); err != nil {
			return dbErr(err)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM target_tombstones WHERE deleted_at < $1`, cut)
		if err != nil {
			return dbErr(err)
		}
		n, err = res.RowsAffected()
		return dbErr(err)
	})
	return n, err
}
