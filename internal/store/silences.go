package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

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

// ListSilences returns every silence, expired ones included, in the order
// they were created; none is an empty slice. Errors are the database's.
func (db *DB) ListSilences(ctx context.Context) ([]uptime.Silence, error) {
	rows, err := db.rdb.QueryContext(ctx, `SELECT id, matchers, starts_at, ends_at, comment, created_by, created_at
		FROM silences ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list silences: %w", dbErr(err))
	}
	defer rows.Close()
	out := []uptime.Silence{}
	for rows.Next() {
		var (
			s                     uptime.Silence
			matchers              string
			starts, ends, created int64
		)
		if err := rows.Scan(&s.ID, &matchers, &starts, &ends, &s.Comment, &s.CreatedBy, &created); err != nil {
			return nil, fmt.Errorf("list silences: %w", dbErr(err))
		}
		if err := json.Unmarshal([]byte(matchers), &s.Matchers); err != nil {
			return nil, fmt.Errorf("list silences: decode matchers of %d: %w", s.ID, err)
		}
		s.StartsAt, s.EndsAt, s.CreatedAt = msTime(starts), msTime(ends), msTime(created)
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list silences: %w", dbErr(err))
	}
	return out, nil
}

// DeleteSilence removes the silence. It returns an error wrapping
// uptime.ErrNotFound when there is no such silence.
func (db *DB) DeleteSilence(ctx context.Context, id int64) error {
	if err := db.deleteByID(ctx, "silences", id); err != nil {
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

// ListMaintenance returns every maintenance window, past ones included, in
// the order they were created; none is an empty slice. Errors are the
// database's.
func (db *DB) ListMaintenance(ctx context.Context) ([]uptime.Maintenance, error) {
	rows, err := db.rdb.QueryContext(ctx, `SELECT id, name, matchers, starts_at, ends_at, schedule,
		duration_ns, comment, created_at FROM maintenance ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list maintenance: %w", dbErr(err))
	}
	defer rows.Close()
	out := []uptime.Maintenance{}
	for rows.Next() {
		var (
			m                               uptime.Maintenance
			matchers                        string
			starts, ends, duration, created int64
		)
		if err := rows.Scan(&m.ID, &m.Name, &matchers, &starts, &ends, &m.Schedule, &duration,
			&m.Comment, &created); err != nil {
			return nil, fmt.Errorf("list maintenance: %w", dbErr(err))
		}
		if err := json.Unmarshal([]byte(matchers), &m.Matchers); err != nil {
			return nil, fmt.Errorf("list maintenance: decode matchers of %d: %w", m.ID, err)
		}
		m.StartsAt, m.EndsAt, m.CreatedAt = msTime(starts), msTime(ends), msTime(created)
		m.Duration = uptime.Duration(duration)
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list maintenance: %w", dbErr(err))
	}
	return out, nil
}

// DeleteMaintenance removes the maintenance window. It returns an error
// wrapping uptime.ErrNotFound when there is no such window.
func (db *DB) DeleteMaintenance(ctx context.Context, id int64) error {
	if err := db.deleteByID(ctx, "maintenance", id); err != nil {
		return fmt.Errorf("delete maintenance %d: %w", id, err)
	}
	return nil
}

// deleteByID deletes a row of table (a constant, never input) by id.
func (db *DB) deleteByID(ctx context.Context, table string, id int64) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE id = $1`, id)
		if err != nil {
			return dbErr(err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return dbErr(err)
		}
		if n == 0 {
			return uptime.ErrNotFound
		}
		return nil
	})
}
