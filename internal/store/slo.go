package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/lookout/lookout/internal/uptime"
)

// SLOTarget is a target whose burn-rate alerts are evaluated, with the
// state of those alerts.
type SLOTarget struct {
	Target uptime.Target
	State  uptime.SLOState
}

// SLOTargets returns, by id, the targets that have an objective (slo),
// paused or not, and those whose burn-rate alerts still fire though their
// objective was removed since, each with the state of its alerts. It reads
// two queries whatever the number of targets. Errors are the database's.
func (db *DB) SLOTargets(ctx context.Context) ([]SLOTarget, error) {
	states, err := sloStates(ctx, db.rdb, 0)
	if err != nil {
		return nil, fmt.Errorf("read burn-rate alerts: %w", err)
	}
	// A spec holds "slo": as a key when the objective is set (the field is
	// left out when zero), or as a map key (a label named slo), which the
	// decoding weeds out; within a JSON string the quotes are escaped.
	rows, err := db.rdb.QueryContext(ctx, `SELECT id, spec, paused, created_at, updated_at FROM targets
		WHERE spec LIKE '%"slo":%' OR id IN (SELECT target_id FROM slo_alerts) ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list targets with an slo: %w", dbErr(err))
	}
	defer rows.Close()
	var out []SLOTarget
	for rows.Next() {
		var (
			id, created, updated int64
			spec                 string
			paused               bool
		)
		if err := rows.Scan(&id, &spec, &paused, &created, &updated); err != nil {
			return nil, fmt.Errorf("list targets with an slo: %w", dbErr(err))
		}
		t, err := decodeTarget(id, spec, paused, created, updated)
		if err != nil {
			return nil, fmt.Errorf("list targets with an slo: %w", err)
		}
		st := states[id]
		if t.SLO == 0 && len(st.Firing) == 0 {
			continue
		}
		out = append(out, SLOTarget{Target: t, State: st})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list targets with an slo: %w", dbErr(err))
	}
	return out, nil
}

// sloStates reads the burn-rate alerts firing, by target: those of
// targetID only, or of every target when it is 0.
func sloStates(ctx context.Context, q querier, targetID int64) (map[int64]uptime.SLOState, error) {
	query, args := `SELECT target_id, severity, since, suppressed FROM slo_alerts`, []any{}
	if targetID != 0 {
		query, args = query+` WHERE target_id = $1`, append(args, targetID)
	}
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, dbErr(err)
	}
	defer rows.Close()
	out := map[int64]uptime.SLOState{}
	for rows.Next() {
		var (
			id, since            int64
			severity, suppressed string
		)
		if err := rows.Scan(&id, &severity, &since, &suppressed); err != nil {
			return nil, dbErr(err)
		}
		st := out[id]
		if st.Firing == nil {
			st.Firing = map[string]uptime.SLOAlert{}
		}
		st.Firing[severity] = uptime.SLOAlert{Since: msTime(since), Suppressed: suppressed}
		out[id] = st
	}
	return out, dbErr(rows.Err())
}

// RecordSLO replaces the state of a target's burn-rate alerts, prev, with
// next, and queues events in the outbox, in one transaction: an alert is
// sent if and only if the state that says it fired is committed. The
// events go to the channels that route the target's alerts (those it
// names, or the default ones, and those matching its labels; the events
// carry the target's labels and channels), due at once: a burn waits no
// group_wait. A suppressed event's deliveries are logged as skipped.
//
// It reports false and writes nothing when the stored state is no longer
// prev (another instance recorded this change first) or the target was
// deleted meanwhile. Errors are the database's.
func (db *DB) RecordSLO(ctx context.Context, targetID int64, prev, next uptime.SLOState, events []uptime.Event) (bool, error) {
	lock := ""
	if db.driver == DriverPostgres {
		// Serialise with another instance recording the same target. A
		// result's insert only takes a key share of the row, which this
		// does not conflict with.
		lock = ` FOR NO KEY UPDATE`
	}
	done := false
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM targets WHERE id = $1`+lock, targetID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return dbErr(err)
		}
		cur, err := sloStates(ctx, tx, targetID)
		if err != nil {
			return err
		}
		if !cur[targetID].Equal(prev) {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM slo_alerts WHERE target_id = $1`, targetID); err != nil {
			return dbErr(err)
		}
		for sev, a := range next.Firing {
			if _, err := tx.ExecContext(ctx, `INSERT INTO slo_alerts (target_id, severity, since, suppressed)
				VALUES ($1, $2, $3, $4)`, targetID, sev, timeMS(a.Since), a.Suppressed); err != nil {
				return dbErr(err)
			}
		}
		if len(events) > 0 {
			now := db.stamp()
			chans, err := db.chans.get(ctx, tx, now)
			if err != nil {
				return fmt.Errorf("read channels: %w", err)
			}
			for _, ev := range events {
				// A copy: the caller's events are not written to.
				ev.TargetID, ev.IncidentID = targetID, 0
				if ev.At.IsZero() {
					ev.At = now
				}
				if err := queueEvent(ctx, tx, &ev, chans, false, now); err != nil {
					return fmt.Errorf("write %s event: %w", ev.Type, err)
				}
			}
		}
		done = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("record burn-rate alerts of target %d: %w", targetID, err)
	}
	return done, nil
}
