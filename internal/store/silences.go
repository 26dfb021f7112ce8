package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/lookout/lookout/internal/uptime"
)

// CreateSilence stores s and sets its ID and CreatedAt. The caller
// validates s first. Errors are the database's.
func (db *DB) CreateSilence(ctx context.Context, s *uptime.Silence) error {
	now := db.stamp()
	matchers, err := json.Marshal(s.Matchers)
	if err != nil {
		return fmt.Errorf("create silence: encode matchers: %w", err)
	}
	var id int64
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		return dbErr(tx.QueryRowContext(ctx, `INSERT INTO silences (matchers, starts_at, ends_at, comment,
			created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
			string(matchers), timeMS(s.StartsAt), timeMS(s.EndsAt), s.Comment, s.CreatedBy, now.UnixMilli()).Scan(&id))
	})
	if err != nil {
		return fmt.Errorf("create silence: %w", err)
	}
	s.ID, s.CreatedAt = id, now
	return nil
}

const silenceColumns = `id, matchers, starts_at, ends_at, comment, created_by, created_at`

func scanSilence(sc scanner) (uptime.Silence, error) {
	var (
		s                     uptime.Silence
		matchers              string
		starts, ends, created int64
	)
	if err := sc.Scan(&s.ID, &matchers, &starts, &ends, &s.Comment, &s.CreatedBy, &created); err != nil {
		return uptime.Silence{}, dbErr(err)
	}
	if err := json.Unmarshal([]byte(matchers), &s.Matchers); err != nil {
		return uptime.Silence{}, fmt.Errorf("decode matchers of silence %d: %w", s.ID, err)
	}
	s.StartsAt, s.EndsAt, s.CreatedAt = msTime(starts), msTime(ends), msTime(created)
	return s, nil
}

// ListSilences returns every silence, expired ones included, in the order
// they were created; none is an empty slice. Errors are the database's.
func (db *DB) ListSilences(ctx context.Context) ([]uptime.Silence, error) {
	rows, err := db.rdb.QueryContext(ctx, `SELECT `+silenceColumns+` FROM silences ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list silences: %w", dbErr(err))
	}
	defer rows.Close()
	out := []uptime.Silence{}
	for rows.Next() {
		s, err := scanSilence(rows)
		if err != nil {
			return nil, fmt.Errorf("list silences: %w", err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list silences: %w", dbErr(err))
	}
	return out, nil
}

// silenceForUpdate reads a silence inside tx, locking its row on
// PostgreSQL; uptime.ErrNotFound when there is none.
func (db *DB) silenceForUpdate(ctx context.Context, tx *sql.Tx, id int64) (uptime.Silence, error) {
	lock := ""
	if db.driver == DriverPostgres {
		lock = ` FOR UPDATE`
	}
	s, err := scanSilence(tx.QueryRowContext(ctx, `SELECT `+silenceColumns+` FROM silences WHERE id = $1`+lock, id))
	if errors.Is(err, sql.ErrNoRows) {
		return uptime.Silence{}, uptime.ErrNotFound
	}
	return s, err
}

// UpdateSilence runs fn on the stored silence inside one transaction and
// stores what fn leaves of its matchers, times, comment and author; its id
// and creation time stay. When the change ends the silence's hold on a
// target sooner (it ends earlier, or no longer matches), the reminders it
// had put off until its end are due at its new end, or now when it no
// longer holds: see DeleteSilence. The caller validates in fn. It returns
// the silence as stored, an error wrapping uptime.ErrNotFound when there is
// no such silence, fn's error as is, or the database's.
func (db *DB) UpdateSilence(ctx context.Context, id int64, fn func(*uptime.Silence) error) (uptime.Silence, error) {
	now := db.stamp()
	var out uptime.Silence
	var fnErr error
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		old, err := db.silenceForUpdate(ctx, tx, id)
		if err != nil {
			return err
		}
		next := old
		next.Matchers = maps.Clone(old.Matchers)
		if fnErr = fn(&next); fnErr != nil {
			return fnErr
		}
		next.ID, next.CreatedAt = old.ID, old.CreatedAt
		matchers, err := json.Marshal(next.Matchers)
		if err != nil {
			return fmt.Errorf("encode matchers: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE silences SET matchers = $2, starts_at = $3, ends_at = $4,
			comment = $5, created_by = $6 WHERE id = $1`, id, string(matchers), timeMS(next.StartsAt),
			timeMS(next.EndsAt), next.Comment, next.CreatedBy); err != nil {
			return dbErr(err)
		}
		out = next
		nm := silenceMute(next)
		return db.unmute(ctx, tx, now, silenceMute(old), &nm)
	})
	if fnErr != nil {
		return uptime.Silence{}, fnErr
	}
	if err != nil {
		return uptime.Silence{}, fmt.Errorf("update silence %d: %w", id, err)
	}
	return out, nil
}

// DeleteSilence removes the silence. In the same transaction, the
// incident.reminder deliveries it had put off until its end (queued when it
// muted an incident's opening or reminder) become due now, so that an
// incident still open is heard of at once, and its resolution after; should
// another silence or maintenance window still hold, the dispatcher mutes
// them again until that one ends. It returns an error wrapping
// uptime.ErrNotFound when there is no such silence.
func (db *DB) DeleteSilence(ctx context.Context, id int64) error {
	now := db.stamp()
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		old, err := db.silenceForUpdate(ctx, tx, id)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM silences WHERE id = $1`, id); err != nil {
			return dbErr(err)
		}
		return db.unmute(ctx, tx, now, silenceMute(old), nil)
	})
	if err != nil {
		return fmt.Errorf("delete silence %d: %w", id, err)
	}
	return nil
}

// CreateMaintenance stores m and sets its ID and CreatedAt. The caller
// validates m first. Errors are the database's.
func (db *DB) CreateMaintenance(ctx context.Context, m *uptime.Maintenance) error {
	now := db.stamp()
	matchers, err := json.Marshal(m.Matchers)
	if err != nil {
		return fmt.Errorf("create maintenance: encode matchers: %w", err)
	}
	var id int64
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		return dbErr(tx.QueryRowContext(ctx, `INSERT INTO maintenance (name, matchers, starts_at, ends_at,
			schedule, duration_ns, comment, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
			m.Name, string(matchers), timeMS(m.StartsAt), timeMS(m.EndsAt), m.Schedule, int64(m.Duration),
			m.Comment, now.UnixMilli()).Scan(&id))
	})
	if err != nil {
		return fmt.Errorf("create maintenance: %w", err)
	}
	m.ID, m.CreatedAt = id, now
	return nil
}

const maintenanceColumns = `id, name, matchers, starts_at, ends_at, schedule, duration_ns, comment, created_at`

func scanMaintenance(sc scanner) (uptime.Maintenance, error) {
	var (
		m                               uptime.Maintenance
		matchers                        string
		starts, ends, duration, created int64
	)
	if err := sc.Scan(&m.ID, &m.Name, &matchers, &starts, &ends, &m.Schedule, &duration,
		&m.Comment, &created); err != nil {
		return uptime.Maintenance{}, dbErr(err)
	}
	if err := json.Unmarshal([]byte(matchers), &m.Matchers); err != nil {
		return uptime.Maintenance{}, fmt.Errorf("decode matchers of maintenance %d: %w", m.ID, err)
	}
	m.StartsAt, m.EndsAt, m.CreatedAt = msTime(starts), msTime(ends), msTime(created)
	m.Duration = uptime.Duration(duration)
	return m, nil
}

// ListMaintenance returns every maintenance window, past ones included, in
// the order they were created; none is an empty slice. Errors are the
// database's.
func (db *DB) ListMaintenance(ctx context.Context) ([]uptime.Maintenance, error) {
	rows, err := db.rdb.QueryContext(ctx, `SELECT `+maintenanceColumns+` FROM maintenance ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list maintenance: %w", dbErr(err))
	}
	defer rows.Close()
	out := []uptime.Maintenance{}
	for rows.Next() {
		m, err := scanMaintenance(rows)
		if err != nil {
			return nil, fmt.Errorf("list maintenance: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list maintenance: %w", dbErr(err))
	}
	return out, nil
}

// maintenanceForUpdate reads a maintenance window inside tx, locking its
// row on PostgreSQL; uptime.ErrNotFound when there is none.
func (db *DB) maintenanceForUpdate(ctx context.Context, tx *sql.Tx, id int64) (uptime.Maintenance, error) {
	lock := ""
	if db.driver == DriverPostgres {
		lock = ` FOR UPDATE`
	}
	m, err := scanMaintenance(tx.QueryRowContext(ctx, `SELECT `+maintenanceColumns+` FROM maintenance WHERE id = $1`+lock, id))
	if errors.Is(err, sql.ErrNoRows) {
		return uptime.Maintenance{}, uptime.ErrNotFound
	}
	return m, err
}

// UpdateMaintenance runs fn on the stored maintenance window inside one
// transaction and stores what fn leaves; its id and creation time stay.
// When the change ends the window's hold on a target sooner, the reminders
// it had put off until the end of its occurrence are due at its new end,
// or now: see DeleteMaintenance. The caller validates in fn. It returns the
// window as stored, an error wrapping uptime.ErrNotFound when there is no
// such window, fn's error as is, or the database's.
func (db *DB) UpdateMaintenance(ctx context.Context, id int64, fn func(*uptime.Maintenance) error) (uptime.Maintenance, error) {
	now := db.stamp()
	var out uptime.Maintenance
	var fnErr error
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		old, err := db.maintenanceForUpdate(ctx, tx, id)
		if err != nil {
			return err
		}
		next := old
		next.Matchers = maps.Clone(old.Matchers)
		if fnErr = fn(&next); fnErr != nil {
			return fnErr
		}
		next.ID, next.CreatedAt = old.ID, old.CreatedAt
		matchers, err := json.Marshal(next.Matchers)
		if err != nil {
			return fmt.Errorf("encode matchers: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE maintenance SET name = $2, matchers = $3, starts_at = $4,
			ends_at = $5, schedule = $6, duration_ns = $7, comment = $8 WHERE id = $1`,
			id, next.Name, string(matchers), timeMS(next.StartsAt), timeMS(next.EndsAt), next.Schedule,
			int64(next.Duration), next.Comment); err != nil {
			return dbErr(err)
		}
		out = next
		nm := db.maintenanceMute(next)
		return db.unmute(ctx, tx, now, db.maintenanceMute(old), &nm)
	})
	if fnErr != nil {
		return uptime.Maintenance{}, fnErr
	}
	if err != nil {
		return uptime.Maintenance{}, fmt.Errorf("update maintenance %d: %w", id, err)
	}
	return out, nil
}

// DeleteMaintenance removes the maintenance window. In the same
// transaction, the incident.reminder deliveries it had put off until the
// end of its current occurrence become due now, as DeleteSilence does for
// a silence. It returns an error wrapping uptime.ErrNotFound when there is
// no such window.
func (db *DB) DeleteMaintenance(ctx context.Context, id int64) error {
	now := db.stamp()
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		old, err := db.maintenanceForUpdate(ctx, tx, id)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM maintenance WHERE id = $1`, id); err != nil {
			return dbErr(err)
		}
		return db.unmute(ctx, tx, now, db.maintenanceMute(old), nil)
	})
	if err != nil {
		return fmt.Errorf("delete maintenance %d: %w", id, err)
	}
	return nil
}

// mute is a silence or maintenance window as the dispatcher's screening
// sees it.
type mute struct {
	matchers map[string]string
	// end is when its hold on a target with these labels, in force at now,
	// ends: zero when it does not hold that target then.
	end func(labels map[string]string, now time.Time) time.Time
}

func silenceMute(s uptime.Silence) mute {
	return mute{matchers: s.Matchers, end: func(labels map[string]string, now time.Time) time.Time {
		if s.Active(labels, now) {
			return s.EndsAt
		}
		return time.Time{}
	}}
}

// maintenanceMute knows a one-off window's end; a recurring one's
// occurrence in force comes from Options.MaintenanceWindows, and without it
// a recurring window is not known to hold anything.
func (db *DB) maintenanceMute(m uptime.Maintenance) mute {
	return mute{matchers: m.Matchers, end: func(labels map[string]string, now time.Time) time.Time {
		if len(m.Matchers) == 0 || !uptime.Matches(labels, m.Matchers) {
			return time.Time{}
		}
		if m.Schedule == "" {
			if now.Before(m.StartsAt) || !now.Before(m.EndsAt) {
				return time.Time{}
			}
			return m.EndsAt
		}
		var end time.Time
		if db.opts.MaintenanceWindows == nil {
			return end
		}
		for _, span := range db.opts.MaintenanceWindows(m, labels, now, now.Add(time.Millisecond)) {
			if !span.From.After(now) && span.To.After(end) {
				end = span.To
			}
		}
		return end
	}}
}

// unmute brings forward the reminders that old put off until its end, now
// that it holds less long (next; nil when it was deleted). The dispatcher
// queues the reminder of an incident whose opening or reminder a mute held
// for when the mute ends (the last to end, when several held it); such a
// reminder is pending, due exactly then, of a target the mute matches. The
// end of the mute in force now is the same for every target it matches, so
// the reminders due then are the only candidates. Each becomes due when
// next lets go of its target, or now if next does not hold it. A reminder
// due at another time was put off by a mute that outlasts old, and stays.
// The reminder's event moves with it: its time is the message's.
func (db *DB) unmute(ctx context.Context, tx *sql.Tx, now time.Time, old mute, next *mute) error {
	oldEnd := old.end(old.matchers, now)
	if oldEnd.IsZero() {
		return nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT d.id, e.id, e.body FROM deliveries d
		JOIN events e ON e.id = d.event_id
		WHERE d.status = $1 AND d.next_at = $2 AND d.event_type = $3 AND d.lease_until <= $4`,
		string(uptime.DeliveryPending), oldEnd.UnixMilli(), string(uptime.EventIncidentReminder), now.UnixMilli())
	if err != nil {
		return dbErr(err)
	}
	type moved struct {
		delivery, event int64
		ev              uptime.Event
	}
	var move []moved
	for rows.Next() {
		var (
			m    moved
			body string
		)
		if err := rows.Scan(&m.delivery, &m.event, &body); err != nil {
			rows.Close()
			return dbErr(err)
		}
		if err := json.Unmarshal([]byte(body), &m.ev); err != nil {
			rows.Close()
			return fmt.Errorf("decode event %d: %w", m.event, err)
		}
		if !old.end(m.ev.Labels, now).Equal(oldEnd) {
			continue // not a target old holds
		}
		due := now
		if next != nil {
			if e := next.end(m.ev.Labels, now); e.After(now) {
				due = e
			}
		}
		if due.Before(oldEnd) {
			m.ev.At = due.UTC().Truncate(time.Millisecond)
			move = append(move, m)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return dbErr(err)
	}
	for _, m := range move {
		body, err := json.Marshal(m.ev)
		if err != nil {
			return fmt.Errorf("encode event %d: %w", m.event, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE events SET at = $2, body = $3 WHERE id = $1`,
			m.event, m.ev.At.UnixMilli(), string(body)); err != nil {
			return dbErr(err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE deliveries SET next_at = $2 WHERE id = $1`,
			m.delivery, m.ev.At.UnixMilli()); err != nil {
			return dbErr(err)
		}
	}
	return nil
}
