package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/lookout/lookout/internal/uptime"
)

// Claim sizes.
const (
	DefaultClaimLimit = 100
	MaxClaimLimit     = 1000
)

// deliverySelect reads deliveries with their event, the resolution time and
// current cause of the event's incident, and the Slack thread of that
// incident's delivered opening on the same channel.
const deliverySelect = `SELECT d.id, d.uid, d.event_id, e.body, e.target_id, e.incident_id, d.channel,
	d.status, d.attempts, d.next_at, d.last_error, d.reason, d.created_at, d.finished_at,
	COALESCE(i.resolved_at, 0), i.cause,
	COALESCE((SELECT o.thread FROM deliveries o WHERE d.incident_id <> 0
		AND o.incident_id = d.incident_id AND o.channel = d.channel
		AND o.event_type = 'incident.opened' AND o.status = 'delivered' AND o.thread <> ''
		ORDER BY o.id DESC LIMIT 1), '')
FROM deliveries d JOIN events e ON e.id = d.event_id LEFT JOIN incidents i ON i.id = d.incident_id`

func scanDelivery(sc scanner) (uptime.Delivery, error) {
	var (
		d                           uptime.Delivery
		body, status                string
		targetID, incidentID        int64
		next, created, finished, rs int64
		cause                       sql.NullString
	)
	if err := sc.Scan(&d.ID, &d.UID, &d.EventID, &body, &targetID, &incidentID, &d.Channel,
		&status, &d.Attempts, &next, &d.LastError, &d.Reason, &created, &finished,
		&rs, &cause, &d.Thread); err != nil {
		return uptime.Delivery{}, err
	}
	if err := json.Unmarshal([]byte(body), &d.Event); err != nil {
		return uptime.Delivery{}, fmt.Errorf("decode event %d: %w", d.EventID, err)
	}
	if cause.Valid {
		// The incident's cause is decided again when its opening is sent,
		// and may be known only after this event was written.
		d.Event.Cause = cause.String
	}
	d.Event.ID, d.Event.TargetID, d.Event.IncidentID = d.EventID, targetID, incidentID
	d.Status = uptime.DeliveryStatus(status)
	d.NextAt, d.CreatedAt, d.FinishedAt = msTime(next), msTime(created), msTime(finished)
	d.IncidentResolvedAt = msTime(rs)
	return d, nil
}

func queryDeliveries(ctx context.Context, q querier, query string, args ...any) ([]uptime.Delivery, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, dbErr(err)
	}
	defer rows.Close()
	out := []uptime.Delivery{}
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, dbErr(err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr(err)
	}
	return out, nil
}

// ListDeliveries returns a page of the delivery log, newest first, each
// with its event: those to f.Channel, of the target named f.Target, in
// f.Status. f.Limit defaults to 100 and is capped at 1000; f.Before
// continues below the last id returned. An empty page is an empty slice.
// Errors are the database's.
func (db *DB) ListDeliveries(ctx context.Context, f uptime.DeliveryFilter) ([]uptime.Delivery, error) {
	limit := pageLimit(f.Limit, DefaultIncidentLimit, MaxIncidentLimit)
	var w where
	if f.Channel != "" {
		w.add(`d.channel = ?`, f.Channel)
	}
	if f.Target != "" {
		w.add(`d.target_id = (SELECT id FROM targets WHERE name = ?)`, f.Target)
	}
	if f.Status != "" {
		w.add(`d.status = ?`, string(f.Status))
	}
	if f.Before > 0 {
		w.add(`d.id < ?`, f.Before)
	}
	q, args := w.newestFirst(deliverySelect, "d.id", limit)
	out, err := queryDeliveries(ctx, db.rdb, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	return out, nil
}

// ClaimDeliveries leases up to limit deliveries (default 100, at most
// 1000) that are pending, due at now, not leased by another claimer, and
// not queued behind an earlier unfinished delivery of the same target to
// the same channel: a target's alerts reach a channel in the order they
// happened, so a resolution never overtakes its opening. Each is leased
// until now+lease; one whose lease runs out (its claimer crashed) can be
// claimed again. They are returned ordered by id with Event,
// IncidentResolvedAt and Thread filled; none is an empty slice.
//
// Claimers may run concurrently, on several instances sharing PostgreSQL:
// each delivery is leased to one at a time (row locks with SKIP LOCKED on
// PostgreSQL; SQLite's single write connection serialises claims). Errors
// are the database's.
func (db *DB) ClaimDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]uptime.Delivery, error) {
	limit = pageLimit(limit, DefaultClaimLimit, MaxClaimLimit)
	out, err := db.claim(ctx, now, lease, limit, `d.next_at <= $1`)
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	return out, nil
}

// ClaimPending leases every pending delivery of eventType to channel whose
// event happened at or before now, even if it is not due yet: the
// dispatcher folds the incidents that opened (or, sharing a cause,
// resolved) within a channel's group_wait into one message. With cause
// set, only the deliveries of incidents attributed to cause are claimed,
// and those of the target named cause itself when its incident has no
// cause: the cause and its dependents make one message. Deliveries leased
// by another claimer, or queued behind an earlier unfinished one of their
// target, are left out. It returns them ordered by id, as ClaimDeliveries
// does (at most 1000). Errors are the database's.
func (db *DB) ClaimPending(ctx context.Context, channel string, eventType uptime.EventType, cause string, now time.Time, lease time.Duration) ([]uptime.Delivery, error) {
	cond := `d.channel = $3 AND d.event_type = $4 AND EXISTS (SELECT 1 FROM events e WHERE e.id = d.event_id AND e.at <= $1)`
	args := []any{channel, string(eventType)}
	if cause != "" {
		cond += ` AND EXISTS (SELECT 1 FROM incidents i WHERE i.id = d.incident_id
			AND (i.cause = $5 OR (i.cause = '' AND i.target_id IN (SELECT t.id FROM targets t WHERE t.name = $5))))`
		args = append(args, cause)
	}
	out, err := db.claim(ctx, now, lease, MaxClaimLimit, cond, args...)
	if err != nil {
		if cause != "" {
			return nil, fmt.Errorf("claim %s deliveries of channel %q caused by %q: %w", eventType, channel, cause, err)
		}
		return nil, fmt.Errorf("claim %s deliveries of channel %q: %w", eventType, channel, err)
	}
	return out, nil
}

// claim leases the deliveries matching cond (whose parameters start at
// $3; $1 is now, $2 the limit) and returns them.
func (db *DB) claim(ctx context.Context, now time.Time, lease time.Duration, limit int, cond string, args ...any) ([]uptime.Delivery, error) {
	q := `SELECT d.id FROM deliveries d
		WHERE d.status = 'pending' AND d.lease_until <= $1 AND ` + cond + `
		AND NOT EXISTS (SELECT 1 FROM deliveries p WHERE p.target_id = d.target_id
			AND p.channel = d.channel AND p.status = 'pending' AND p.id < d.id)
		ORDER BY d.id LIMIT $2`
	if db.driver == DriverPostgres {
		// A row another claimer holds is skipped, not waited for; one it
		// has leased and committed is re-checked (lease_until) under the
		// lock and dropped.
		q += ` FOR UPDATE SKIP LOCKED`
	}
	var out []uptime.Delivery
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, q, append([]any{now.UnixMilli(), limit}, args...)...)
		if err != nil {
			return dbErr(err)
		}
		var ids []any
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return dbErr(err)
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return dbErr(err)
		}
		if len(ids) == 0 {
			out = []uptime.Delivery{}
			return nil
		}
		in := placeholders(2, len(ids))
		if _, err := tx.ExecContext(ctx, `UPDATE deliveries SET lease_until = $1 WHERE id IN (`+in+`)`,
			append([]any{now.Add(lease).UnixMilli()}, ids...)...); err != nil {
			return dbErr(err)
		}
		out, err = queryDeliveries(ctx, tx, deliverySelect+` WHERE d.id IN (`+placeholders(1, len(ids))+`) ORDER BY d.id`, ids...)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// placeholders returns "$from, $from+1, …", n of them.
func placeholders(from, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(from + i))
	}
	return b.String()
}

// FinishDelivery records the outcome of handling a claimed delivery and
// releases its lease. With u.Status pending it is retried at u.NextAt (at
// once when zero); any other status is final and u.At (the store's now
// when zero) is its finished_at. A reminder skipped because its incident
// resolved while it was being sent (its lease ran out meanwhile) is
// recorded delivered when it was: the channel was told. u.Attempted counts
// an attempt; u.Error and
// u.Reason, when set, replace the delivery's; u.Thread, when set, is kept
// for the incident's later alerts on the channel. A delivery that is
// already final (finished by a claimer whose lease overlapped, or skipped
// by DeleteChannel) is left as it is and nil returned. It returns an error
// wrapping uptime.ErrNotFound for an unknown id and a
// *uptime.ValidationError for an unknown status.
func (db *DB) FinishDelivery(ctx context.Context, id int64, u uptime.DeliveryUpdate) error {
	switch u.Status {
	case uptime.DeliveryPending, uptime.DeliveryDelivered, uptime.DeliveryDead,
		uptime.DeliveryMuted, uptime.DeliverySkipped:
	default:
		return fmt.Errorf("finish delivery %d: %w", id, uptime.Invalid("status", fmt.Sprintf("%q is not a delivery status", u.Status)))
	}
	var next, finished, attempted int64
	if u.Status == uptime.DeliveryPending {
		next = timeMS(u.NextAt)
	} else if finished = timeMS(u.At); finished == 0 {
		finished = db.stamp().UnixMilli()
	}
	if u.Attempted {
		attempted = 1
	}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE deliveries SET status = $2, attempts = attempts + $3,
			last_error = CASE WHEN $4 = '' THEN last_error ELSE $4 END,
			reason = CASE WHEN $5 = '' THEN reason ELSE $5 END,
			thread = CASE WHEN $6 = '' THEN thread ELSE $6 END,
			next_at = CASE WHEN CAST($7 AS BIGINT) = 0 THEN next_at ELSE $7 END,
			finished_at = $8, lease_until = 0
			WHERE id = $1 AND (status = 'pending'
				OR $2 = 'delivered' AND status = 'skipped' AND reason = $9)`,
			id, string(u.Status), attempted, cleanText(u.Error), cleanText(u.Reason), cleanText(u.Thread), next, finished,
			ReasonIncidentResolved)
		if err != nil {
			return dbErr(err)
		}
		if n, err := res.RowsAffected(); err != nil || n > 0 {
			return dbErr(err)
		}
		var exists bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM deliveries WHERE id = $1)`, id).Scan(&exists); err != nil {
			return dbErr(err)
		}
		if !exists {
			return uptime.ErrNotFound
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("finish delivery %d: %w", id, err)
	}
	return nil
}

// EnqueueReminder queues an incident.reminder of the incident for channel,
// due at at, built from the incident's opening event. It does nothing when
// the incident is resolved or a reminder of it is already pending on that
// channel. It returns an error wrapping uptime.ErrNotFound when the
// incident or the channel does not exist.
func (db *DB) EnqueueReminder(ctx context.Context, incidentID int64, channel string, at time.Time) error {
	now := db.stamp()
	lock, share := "", ""
	if db.driver == DriverPostgres {
		// Serialise with a concurrent resolution or enqueue of the same
		// incident, and with the channel's deletion.
		lock, share = ` FOR UPDATE OF i`, ` FOR SHARE`
	}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var (
			in                          uptime.Incident
			started, detected, resolved int64
			class                       int64
		)
		err := tx.QueryRowContext(ctx, `SELECT i.target_id, t.name, i.started_at, i.detected_at, i.resolved_at,
			i.failures, i.last_error, i.error_class, i.cause
			FROM incidents i JOIN targets t ON t.id = i.target_id WHERE i.id = $1`+lock, incidentID).
			Scan(&in.TargetID, &in.Target, &started, &detected, &resolved, &in.Failures, &in.LastError, &class, &in.Cause)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("incident %d: %w", incidentID, uptime.ErrNotFound)
		}
		if err != nil {
			return dbErr(err)
		}
		if resolved != 0 {
			return nil
		}
		var ok bool
		err = tx.QueryRowContext(ctx, `SELECT true FROM channels WHERE name = $1`+share, channel).Scan(&ok)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("channel %q: %w", channel, uptime.ErrNotFound)
		}
		if err != nil {
			return dbErr(err)
		}
		err = tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM deliveries WHERE incident_id = $1
			AND channel = $2 AND event_type = $3 AND status = 'pending')`,
			incidentID, channel, string(uptime.EventIncidentReminder)).Scan(&ok)
		if err != nil {
			return dbErr(err)
		}
		if ok {
			return nil
		}
		var ev uptime.Event
		var body string
		err = tx.QueryRowContext(ctx, `SELECT body FROM events WHERE incident_id = $1 AND type = $2
			ORDER BY id DESC LIMIT 1`, incidentID, string(uptime.EventIncidentOpened)).Scan(&body)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			ev = uptime.Event{Target: in.Target, Error: in.LastError, ErrorClass: uptime.ErrorClass(class), Cause: in.Cause}
		case err != nil:
			return dbErr(err)
		default:
			if err := json.Unmarshal([]byte(body), &ev); err != nil {
				return fmt.Errorf("decode opening of incident %d: %w", incidentID, err)
			}
		}
		ev.Type, ev.At, ev.Since = uptime.EventIncidentReminder, at, msTime(started)
		ev.Failures, ev.Suppressed = in.Failures, ""
		ev.TargetID, ev.IncidentID = in.TargetID, incidentID
		if err := insertEvent(ctx, tx, &ev); err != nil {
			return err
		}
		return insertDelivery(ctx, tx, &ev, channel, at, now)
	})
	if err != nil {
		return fmt.Errorf("enqueue reminder of incident %d: %w", incidentID, err)
	}
	return nil
}

// OutboxPending returns how many pending deliveries are due at now (their
// next attempt is at or before now: waiting for the dispatcher, or being
// sent) and how many are scheduled later (reminders, retries backing off,
// openings held for group_wait). An open incident always has its next
// reminder scheduled, so only the due count says the outbox is behind.
// Errors are the database's.
func (db *DB) OutboxPending(ctx context.Context, now time.Time) (due, later int, err error) {
	if err := db.rdb.QueryRowContext(ctx, `SELECT
		COALESCE(SUM(CASE WHEN next_at <= $1 THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN next_at > $1 THEN 1 ELSE 0 END), 0)
		FROM deliveries WHERE status = 'pending'`, now.UnixMilli()).Scan(&due, &later); err != nil {
		return 0, 0, fmt.Errorf("outbox pending: %w", dbErr(err))
	}
	return due, later, nil
}

// OldestPending returns the earliest due time (next attempt) among pending
// deliveries, the zero time when none is pending: one due long ago says no
// dispatcher is draining the outbox. A receiver that keeps failing does not
// age it, since each retry moves its delivery's due time on. Errors are the
// database's.
func (db *DB) OldestPending(ctx context.Context) (time.Time, error) {
	var ms sql.NullInt64
	if err := db.rdb.QueryRowContext(ctx, `SELECT MIN(next_at) FROM deliveries WHERE status = 'pending'`).Scan(&ms); err != nil {
		return time.Time{}, fmt.Errorf("oldest pending delivery: %w", dbErr(err))
	}
	return msTime(ms.Int64), nil
}

// Alerted reports whether the channel was told of the incident: its
// incident.opened or one of its reminders was delivered there. A reminder
// counts because it is the first the channel hears of an incident whose
// opening a silence or maintenance window muted.
func (db *DB) Alerted(ctx context.Context, incidentID int64, channel string) (bool, error) {
	var ok bool
	err := db.rdb.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM deliveries WHERE incident_id = $1
		AND channel = $2 AND event_type IN ($3, $4) AND status = 'delivered')`,
		incidentID, channel, string(uptime.EventIncidentOpened), string(uptime.EventIncidentReminder)).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("incident %d alerted to %q: %w", incidentID, channel, dbErr(err))
	}
	return ok, nil
}
