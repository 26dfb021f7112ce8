package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/lookout/lookout/internal/uptime"
)

// Page sizes of Results.
const (
	DefaultResultLimit = 100
	MaxResultLimit     = 1000
)

// ResultQuery selects one target's raw results.
type ResultQuery struct {
	TargetID int64
	// From (inclusive) and To (exclusive) bound StartedAt; zero is unbounded.
	From, To time.Time
	// Limit is the page size: default 100, at most 1000.
	Limit int
	// Cursor continues from a previous page: pass the next value it returned.
	Cursor string
}

// Results returns a page of a target's results, newest first, and the cursor
// of the next page ("" when there is none). Results of a target are unique
// by start time (the writer makes them so), which is what the cursor holds.
// A malformed cursor gives a *uptime.ValidationError on field "cursor"; an
// unknown target an error wrapping uptime.ErrNotFound.
func (db *DB) Results(ctx context.Context, q ResultQuery) (rs []uptime.Result, next string, err error) {
	limit := pageLimit(q.Limit, DefaultResultLimit, MaxResultLimit)
	lo, hi := bounds(q.From, q.To)
	if q.Cursor != "" {
		ts, ok := decodeCursor(q.Cursor)
		if !ok {
			return nil, "", uptime.Invalid("cursor", "is not a cursor returned by this query; start again without it")
		}
		hi = min(hi, ts)
	}

	// One read transaction, so that the name and the rows come from the same
	// snapshot.
	tx, err := db.rdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, "", fmt.Errorf("results of target %d: %w", q.TargetID, dbErr(err))
	}
	defer tx.Rollback()
	var name string
	err = tx.QueryRowContext(ctx, `SELECT name FROM targets WHERE id = $1`, q.TargetID).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", fmt.Errorf("results of target %d: %w", q.TargetID, uptime.ErrNotFound)
	}
	if err != nil {
		return nil, "", fmt.Errorf("results of target %d: %w", q.TargetID, dbErr(err))
	}
	// One row more than asked tells whether another page exists.
	rows, err := tx.QueryContext(ctx, `SELECT ts, dur_us, status, code, err_class, COALESCE(err, '')
		FROM results WHERE target_id = $1 AND ts >= $2 AND ts < $3
		ORDER BY ts DESC LIMIT $4`, q.TargetID, lo, hi, limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("results of %q: %w", name, dbErr(err))
	}
	defer rows.Close()
	rs = make([]uptime.Result, 0, min(limit, 128))
	for rows.Next() {
		var ts, dur, status, code, class int64
		var msg string
		if err := rows.Scan(&ts, &dur, &status, &code, &class, &msg); err != nil {
			return nil, "", fmt.Errorf("results of %q: %w", name, dbErr(err))
		}
		rs = append(rs, uptime.Result{
			TargetID:   q.TargetID,
			Target:     name,
			StartedAt:  time.UnixMilli(ts).UTC(),
			Duration:   time.Duration(dur) * time.Microsecond,
			Status:     uptime.Status(status),
			Code:       int(code),
			ErrorClass: uptime.ErrorClass(class),
			Error:      msg,
		})
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("results of %q: %w", name, dbErr(err))
	}
	if len(rs) > limit {
		rs = rs[:limit]
		next = encodeCursor(rs[limit-1].StartedAt.UnixMilli())
	}
	return rs, next, nil
}

// A cursor is the start time of the last result returned, opaque to
// clients so that its form can change.
func encodeCursor(ts int64) string {
	var b [9]byte
	b[0] = 1 // version
	binary.BigEndian.PutUint64(b[1:], uint64(ts))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func decodeCursor(s string) (int64, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != 9 || b[0] != 1 {
		return 0, false
	}
	return int64(binary.BigEndian.Uint64(b[1:])), true
}
