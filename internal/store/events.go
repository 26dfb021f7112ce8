package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/lookout/lookout/internal/uptime"
)

// ReasonIncidentResolved is the Reason of reminders skipped because their
// incident resolved before they were due.
const ReasonIncidentResolved = "incident resolved"

// batchEvents copies a batch's events, in order, so that every attempt
// at writing the batch starts from the same events and the caller's slices
// are never written to; with each, the lease epoch of its observation.
func batchEvents(batch []*item) (events []uptime.Event, epochs []int64) {
	for _, it := range batch {
		if it.obs.ResultOnly {
			continue
		}
		for _, ev := range it.obs.Events {
			if ev.TargetID == 0 {
				ev.TargetID = it.obs.Result.TargetID
			}
			events = append(events, ev)
			epochs = append(epochs, it.obs.Epoch)
		}
	}
	return events, epochs
}

// writeEvents turns a batch's events into incidents, event rows and
// deliveries inside the batch's transaction: an alert exists if and only
// if the state change that caused it was committed. Events of targets
// deleted meanwhile are dropped, as their results are.
func (w *writer) writeEvents(ctx context.Context, tx *sql.Tx, events []uptime.Event) error {
	if len(events) == 0 {
		return nil
	}
	chans, err := w.db.chans.get(ctx, tx, w.now())
	if err != nil {
		return fmt.Errorf("read channels: %w", err)
	}
	now := w.db.stamp()
	exists := map[int64]bool{}
	for _, ev := range events {
		ok, seen := exists[ev.TargetID]
		if !seen {
			err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM targets WHERE id = $1)`, ev.TargetID).Scan(&ok)
			if err != nil {
				return fmt.Errorf("write %s event: %w", ev.Type, dbErr(err))
			}
			exists[ev.TargetID] = ok
		}
		if !ok {
			continue
		}
		if err := writeEvent(ctx, tx, &ev, chans, now); err != nil {
			return fmt.Errorf("write %s event of target %d: %w", ev.Type, ev.TargetID, err)
		}
	}
	return nil
}

func writeEvent(ctx context.Context, tx *sql.Tx, ev *uptime.Event, chans []uptime.Channel, now time.Time) error {
	if ev.At.IsZero() {
		ev.At = now
	}
	open, err := openIncidentID(ctx, tx, ev.TargetID)
	if err != nil {
		return err
	}
	ev.IncidentID = open
	// grouped says a resolution waits group_wait like an opening: it is
	// sent in one message with the others of its cause.
	grouped := false
	switch ev.Type {
	case uptime.EventIncidentOpened:
		if open != 0 {
			// The opening of an incident already open: one a flap
			// suppressed, alerted now that the target is stable.
			_, err := tx.ExecContext(ctx, `UPDATE incidents SET failures = $2, suppressed = $3,
				last_error = CASE WHEN $4 = '' THEN last_error ELSE $4 END,
				error_class = CASE WHEN $4 = '' THEN error_class ELSE $5 END,
				cause = CASE WHEN $6 = '' THEN cause ELSE $6 END WHERE id = $1`,
				open, ev.Failures, ev.Suppressed, cleanText(ev.Error), int64(ev.ErrorClass), cleanText(ev.Cause))
			if err != nil {
				return dbErr(err)
			}
			break
		}
		started := ev.Since
		if started.IsZero() {
			started = ev.At
		}
		err := tx.QueryRowContext(ctx, `INSERT INTO incidents (target_id, started_at, detected_at,
			failures, last_error, error_class, cause, suppressed) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
			RETURNING id`, ev.TargetID, started.UnixMilli(), ev.At.UnixMilli(), ev.Failures,
			cleanText(ev.Error), int64(ev.ErrorClass), cleanText(ev.Cause), ev.Suppressed).Scan(&ev.IncidentID)
		if err != nil {
			return dbErr(err)
		}
	case uptime.EventIncidentResolved:
		if open == 0 {
			break // opened before incidents were kept
		}
		// The resolution speaks of the cause its opening was attributed
		// to, even when the scheduler no longer knows it (a restart).
		var cause string
		var started int64
		err := tx.QueryRowContext(ctx, `UPDATE incidents SET resolved_at = $2, failures = $3 WHERE id = $1
			RETURNING cause, started_at`, open, ev.At.UnixMilli(), ev.Failures).Scan(&cause, &started)
		if err != nil {
			return dbErr(err)
		}
		if cause != "" {
			ev.Cause = cause
		}
		grouped = ev.Cause != ""
		if !grouped && ev.Target != "" {
			// The resolution of a cause waits with its dependents', so that
			// they recover in one message.
			// "cause <> ''" lets SQLite use the partial index.
			if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM incidents
				WHERE cause <> '' AND cause = $1 AND (resolved_at = 0 OR resolved_at >= $2))`,
				ev.Target, started).Scan(&grouped); err != nil {
				return dbErr(err)
			}
		}
		// A reminder waiting for its time would hold the resolution back
		// (deliveries go out in order); it has nothing left to remind of.
		// One being sent right now is left to finish.
		if _, err := tx.ExecContext(ctx, `UPDATE deliveries SET status = $1, reason = $2, finished_at = $3
			WHERE incident_id = $4 AND event_type = $5 AND status = $6 AND lease_until <= $3`,
			string(uptime.DeliverySkipped), ReasonIncidentResolved, now.UnixMilli(), open,
			string(uptime.EventIncidentReminder), string(uptime.DeliveryPending)); err != nil {
			return dbErr(err)
		}
	}
	return queueEvent(ctx, tx, ev, chans, ev.Type == uptime.EventIncidentOpened || grouped, now)
}

// queueEvent stores ev and queues a delivery of it to every channel that
// routes it, due at ev.At, or a channel's group_wait later when wait is
// set.
func queueEvent(ctx context.Context, q querier, ev *uptime.Event, chans []uptime.Channel, wait bool, now time.Time) error {
	if err := insertEvent(ctx, q, ev); err != nil {
		return err
	}
	for i := range chans {
		ch := &chans[i]
		if !ch.Routes(ev.Labels, ev.Channels) {
			continue
		}
		next := ev.At
		if wait {
			next = next.Add(ch.GroupWait.D())
		}
		if err := insertDelivery(ctx, q, ev, ch.Name, next, now); err != nil {
			return err
		}
	}
	return nil
}

// openIncidentID returns the id of the target's open incident, 0 if none.
func openIncidentID(ctx context.Context, q querier, targetID int64) (int64, error) {
	var id int64
	err := q.QueryRowContext(ctx, `SELECT id FROM incidents WHERE target_id = $1 AND resolved_at = 0`, targetID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return id, dbErr(err)
}

// insertEvent stores ev, the whole of it as JSON for rendering, and sets
// its ID.
func insertEvent(ctx context.Context, q querier, ev *uptime.Event) error {
	ev.ID = 0
	ev.Error, ev.Cause = cleanText(ev.Error), cleanText(ev.Cause)
	body, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("encode event: %w", err)
	}
	err = q.QueryRowContext(ctx, `INSERT INTO events (type, target_id, incident_id, at, body)
		VALUES ($1, $2, $3, $4, $5) RETURNING id`,
		string(ev.Type), ev.TargetID, ev.IncidentID, ev.At.UnixMilli(), string(body)).Scan(&ev.ID)
	return dbErr(err)
}

// insertDelivery queues ev for channel, due at next. A suppressed event's
// delivery is logged as skipped, with the suppression as its reason. The
// delivery gets its uid here, once: a UUID (version 7, time-ordered), unique
// across databases and instances, that every retry of it is sent under.
func insertDelivery(ctx context.Context, q querier, ev *uptime.Event, channel string, next, now time.Time) error {
	status, finished := uptime.DeliveryPending, int64(0)
	if ev.Suppressed != "" {
		status, finished = uptime.DeliverySkipped, now.UnixMilli()
	}
	uid, err := uuid.NewV7()
	if err != nil {
		return fmt.Errorf("make delivery uid: %w", err)
	}
	_, err = q.ExecContext(ctx, `INSERT INTO deliveries (event_id, target_id, incident_id, event_type,
		channel, status, next_at, reason, created_at, finished_at, uid)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		ev.ID, ev.TargetID, ev.IncidentID, string(ev.Type), channel, string(status),
		next.UnixMilli(), ev.Suppressed, now.UnixMilli(), finished, uid.String())
	return dbErr(err)
}
