package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lookout/lookout/internal/uptime"
)

// Page sizes of ListTargets.
const (
	DefaultTargetLimit = 100
	MaxTargetLimit     = 1000
)

// snapshotSelect reads a target and its state; a target never checked has
// no target_state row and reads as the zero State. The cause is the open
// incident's: it is decided again when the incident's opening is sent.
const snapshotSelect = `SELECT t.id, t.spec, t.paused, t.created_at, t.updated_at,
	COALESCE(s.status, 0), COALESCE(s.since, 0), COALESCE(s.last_check, 0),
	COALESCE(s.last_result, 0), COALESCE(s.last_error, ''), COALESCE(s.last_error_class, 0),
	COALESCE(s.consecutive_failures, 0), COALESCE(s.consecutive_successes, 0),
	COALESCE(s.failing_since, 0), COALESCE(s.incident_failures, 0),
	COALESCE(s.notified, false), COALESCE(s.flapping, false), COALESCE(s.flips, ''),
	COALESCE(s.cert_expiry, 0), COALESCE(s.cert_warned, 0),
	COALESCE((SELECT i.cause FROM incidents i WHERE i.target_id = t.id AND i.resolved_at = 0), ''),
	COALESCE(s.flapping_since, 0)
FROM targets t LEFT JOIN target_state s ON s.target_id = t.id`

type scanner interface{ Scan(dest ...any) error }

func scanSnapshot(sc scanner) (uptime.Snapshot, error) {
	var (
		snap                           uptime.Snapshot
		spec                           string
		paused                         bool
		id, created, updated           int64
		status, lastResult, class      int64
		since, lastCheck, failingSince int64
		failures, successes            int64
		lastError, flips, cause        string
		incidentFailures               int64
		notified, flapping             bool
		certExpiry, certWarned         int64
		flappingSince                  int64
	)
	if err := sc.Scan(&id, &spec, &paused, &created, &updated,
		&status, &since, &lastCheck, &lastResult, &lastError, &class,
		&failures, &successes, &failingSince, &incidentFailures,
		&notified, &flapping, &flips, &certExpiry, &certWarned, &cause, &flappingSince); err != nil {
		return uptime.Snapshot{}, err
	}
	var err error
	if snap.Target, err = decodeTarget(id, spec, paused, created, updated); err != nil {
		return uptime.Snapshot{}, err
	}
	snap.State = uptime.State{
		Status:               uptime.Status(status),
		Since:                msTime(since),
		LastCheck:            msTime(lastCheck),
		LastResult:           uptime.Status(lastResult),
		LastError:            lastError,
		LastErrorClass:       uptime.ErrorClass(class),
		ConsecutiveFailures:  int(failures),
		ConsecutiveSuccesses: int(successes),
		FailingSince:         msTime(failingSince),
		IncidentFailures:     int(incidentFailures),
		Notified:             notified,
		Flapping:             flapping,
		FlappingSince:        msTime(flappingSince),
		CertExpiry:           msTime(certExpiry),
		CertWarned:           int(certWarned),
		Cause:                cause,
	}
	if snap.State.Flips, err = decodeFlips(flips); err != nil {
		return uptime.Snapshot{}, fmt.Errorf("decode state of target %d: %w", id, err)
	}
	return snap, nil
}

// encodeSpec is the JSON kept in targets.spec. Identity and timestamps live
// in their own columns and are left out, so that the spec is the same for
// the same check.
func encodeSpec(t *uptime.Target) (string, error) {
	c := *t
	c.ID, c.CreatedAt, c.UpdatedAt = 0, time.Time{}, time.Time{}
	b, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("encode target %q: %w", t.Name, err)
	}
	return string(b), nil
}

// stamp is the store's notion of now, cut to what the columns keep, so that
// a target's times read back equal to what the writer saw.
func (db *DB) stamp() time.Time { return db.now().UTC().Truncate(time.Millisecond) }

// CreateTarget inserts t and sets its ID, CreatedAt and UpdatedAt. The caller
// normalises and validates t first. It returns an error wrapping
// uptime.ErrConflict when a target of that name exists, and a
// *uptime.ValidationError when t names a channel or target that does not
// exist (uptime.Target.CheckReferences) or closes a dependency cycle.
func (db *DB) CreateTarget(ctx context.Context, t *uptime.Target) error {
	now := db.stamp()
	tx, err := db.wdb.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("create target %q: %w", t.Name, dbErr(err))
	}
	defer tx.Rollback()
	id, err := db.insertTarget(ctx, tx, t, now)
	if err != nil {
		return fmt.Errorf("create target %q: %w", t.Name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("create target %q: %w", t.Name, dbErr(err))
	}
	t.ID, t.CreatedAt, t.UpdatedAt = id, now, now
	return nil
}

// PutTarget creates t, or replaces the target of the same name, keeping its
// ID and CreatedAt. When t describes the same check as the stored target
// (uptime.Target.SameSpec) nothing is written, changed is false and t is
// filled from the stored target. t's ID, CreatedAt and UpdatedAt are set on
// success. A reference to a channel or target that does not exist, which
// the stored target did not already make, or a dependency cycle is a
// *uptime.ValidationError; other errors are the database's.
func (db *DB) PutTarget(ctx context.Context, t *uptime.Target) (created, changed bool, err error) {
	created, changed, err = db.putTarget(ctx, t)
	if errors.Is(err, uptime.ErrConflict) {
		// Another writer created the name between our read and our insert
		// (possible on PostgreSQL); now it exists, so this is a replace.
		created, changed, err = db.putTarget(ctx, t)
	}
	return created, changed, err
}

func (db *DB) putTarget(ctx context.Context, t *uptime.Target) (created, changed bool, err error) {
	now := db.stamp()
	tx, err := db.wdb.BeginTx(ctx, nil)
	if err != nil {
		return false, false, fmt.Errorf("put target %q: %w", t.Name, dbErr(err))
	}
	defer tx.Rollback()
	old, err := db.targetForUpdate(ctx, tx, t.Name)
	switch {
	case errors.Is(err, uptime.ErrNotFound):
		id, err := db.insertTarget(ctx, tx, t, now)
		if err != nil {
			return false, false, fmt.Errorf("put target %q: %w", t.Name, err)
		}
		if err := tx.Commit(); err != nil {
			return false, false, fmt.Errorf("put target %q: %w", t.Name, dbErr(err))
		}
		t.ID, t.CreatedAt, t.UpdatedAt = id, now, now
		return true, true, nil
	case err != nil:
		return false, false, fmt.Errorf("put target %q: %w", t.Name, err)
	}
	if t.SameSpec(&old) {
		*t = old
		return false, false, nil
	}
	next := *t
	next.ID, next.CreatedAt, next.UpdatedAt = old.ID, old.CreatedAt, now
	if err := db.updateTarget(ctx, tx, &next, &old); err != nil {
		return false, false, fmt.Errorf("put target %q: %w", t.Name, err)
	}
	if err := tx.Commit(); err != nil {
		return false, false, fmt.Errorf("put target %q: %w", t.Name, dbErr(err))
	}
	*t = next
	return false, true, nil
}

// UpdateTarget reads the named target, lets fn change it and writes it back,
// all in one transaction (PATCH, pause, resume). fn may rename the target;
// it cannot change its ID or CreatedAt. If fn leaves the spec as it was,
// nothing is written. It returns the target as stored. fn's error aborts the
// update and is returned as is; a missing target gives uptime.ErrNotFound, a
// rename onto an existing name uptime.ErrConflict, and a new reference to a
// channel or target that does not exist, or a dependency cycle, a
// *uptime.ValidationError.
func (db *DB) UpdateTarget(ctx context.Context, name string, fn func(*uptime.Target) error) (uptime.Target, error) {
	now := db.stamp()
	tx, err := db.wdb.BeginTx(ctx, nil)
	if err != nil {
		return uptime.Target{}, fmt.Errorf("update target %q: %w", name, dbErr(err))
	}
	defer tx.Rollback()
	old, err := db.targetForUpdate(ctx, tx, name)
	if err != nil {
		return uptime.Target{}, fmt.Errorf("update target %q: %w", name, err)
	}
	// fn gets its own deep copy: it may edit maps and slices in place, and
	// old must stay as read to tell whether anything changed.
	next, err := cloneTarget(old)
	if err != nil {
		return uptime.Target{}, fmt.Errorf("update target %q: %w", name, err)
	}
	if err := fn(&next); err != nil {
		return uptime.Target{}, err
	}
	next.ID, next.CreatedAt, next.UpdatedAt = old.ID, old.CreatedAt, old.UpdatedAt
	if next.SameSpec(&old) {
		return old, nil
	}
	next.UpdatedAt = now
	if err := db.updateTarget(ctx, tx, &next, &old); err != nil {
		return uptime.Target{}, fmt.Errorf("update target %q: %w", name, err)
	}
	if err := tx.Commit(); err != nil {
		return uptime.Target{}, fmt.Errorf("update target %q: %w", name, dbErr(err))
	}
	return next, nil
}

func cloneTarget(t uptime.Target) (uptime.Target, error) {
	spec, err := encodeSpec(&t)
	if err != nil {
		return uptime.Target{}, err
	}
	var c uptime.Target
	if err := json.Unmarshal([]byte(spec), &c); err != nil {
		return uptime.Target{}, fmt.Errorf("copy target %q: %w", t.Name, err)
	}
	c.ID, c.CreatedAt, c.UpdatedAt = t.ID, t.CreatedAt, t.UpdatedAt
	return c, nil
}

// targetForUpdate reads a target inside a write transaction. On PostgreSQL
// it locks the row so that concurrent read-modify-writes serialise; SQLite
// needs no lock, its transactions take the database's write lock at BEGIN.
func (db *DB) targetForUpdate(ctx context.Context, tx *sql.Tx, name string) (uptime.Target, error) {
	q := `SELECT id, spec, paused, created_at, updated_at FROM targets WHERE name = $1`
	if db.driver == DriverPostgres {
		q += ` FOR UPDATE`
	}
	var (
		id, created, updated int64
		spec                 string
		paused               bool
	)
	err := tx.QueryRowContext(ctx, q, name).Scan(&id, &spec, &paused, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return uptime.Target{}, uptime.ErrNotFound
	}
	if err != nil {
		return uptime.Target{}, dbErr(err)
	}
	return decodeTarget(id, spec, paused, created, updated)
}

// decodeTarget rebuilds a target from its row: the spec, with identity,
// paused and timestamps from their own columns.
func decodeTarget(id int64, spec string, paused bool, created, updated int64) (uptime.Target, error) {
	var t uptime.Target
	if err := json.Unmarshal([]byte(spec), &t); err != nil {
		return uptime.Target{}, fmt.Errorf("decode target %d: %w", id, err)
	}
	t.ID, t.Paused, t.CreatedAt, t.UpdatedAt = id, paused, msTime(created), msTime(updated)
	return t, nil
}

func (db *DB) insertTarget(ctx context.Context, tx *sql.Tx, t *uptime.Target, now time.Time) (int64, error) {
	if err := db.refuseCycle(ctx, tx, t); err != nil {
		return 0, err
	}
	v, err := nextVersion(ctx, tx)
	if err != nil {
		return 0, err
	}
	id, err := insertTargetRow(ctx, tx, t, now, v)
	if err != nil {
		return 0, err
	}
	return id, refuseDangling(ctx, tx, t, nil)
}

// insertTargetRow writes a new target's rows at feed version v (of
// nextVersion, in tx), its references unchecked.
func insertTargetRow(ctx context.Context, tx *sql.Tx, t *uptime.Target, now time.Time, v int64) (int64, error) {
	spec, err := encodeSpec(t)
	if err != nil {
		return 0, err
	}
	var id int64
	err = tx.QueryRowContext(ctx, `INSERT INTO targets (name, kind, spec, paused, created_at, updated_at, version)
		VALUES ($1, $2, $3, $4, $5, $5, $6) RETURNING id`,
		t.Name, t.Kind, spec, t.Paused, now.UnixMilli(), v).Scan(&id)
	if err != nil {
		return 0, dbErr(err)
	}
	if err := insertLabels(ctx, tx, id, t.Labels); err != nil {
		return 0, err
	}
	if err := notePause(ctx, tx, id, false, t.Paused, now); err != nil {
		return 0, err
	}
	return id, nil
}

// notePause keeps target_pauses: a target that is paused now opens a
// paused span, one resumed closes it. History leaves paused time out of
// uptime.
func notePause(ctx context.Context, tx *sql.Tx, id int64, was, paused bool, at time.Time) error {
	var err error
	switch {
	case paused && !was:
		_, err = tx.ExecContext(ctx, `INSERT INTO target_pauses (target_id, started) VALUES ($1, $2)
			ON CONFLICT DO NOTHING`, id, at.UnixMilli())
	case was && !paused:
		_, err = tx.ExecContext(ctx, `UPDATE target_pauses SET ended = $2 WHERE target_id = $1 AND ended = 0`,
			id, at.UnixMilli())
	}
	return dbErr(err)
}

// updateTarget writes t over the row of t.ID, name included. old is the
// target as it was, whose references are not checked again.
func (db *DB) updateTarget(ctx context.Context, tx *sql.Tx, t, old *uptime.Target) error {
	if err := db.refuseCycle(ctx, tx, t); err != nil {
		return err
	}
	v, err := nextVersion(ctx, tx)
	if err != nil {
		return err
	}
	if err := updateTargetRow(ctx, tx, t, old, v); err != nil {
		return err
	}
	return refuseDangling(ctx, tx, t, old)
}

// updateTargetRow writes t over the rows of t.ID at feed version v (of
// nextVersion, in tx), its references unchecked.
func updateTargetRow(ctx context.Context, tx *sql.Tx, t, old *uptime.Target, v int64) error {
	spec, err := encodeSpec(t)
	if err != nil {
		return err
	}
	if err := notePause(ctx, tx, t.ID, old.Paused, t.Paused, t.UpdatedAt); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE targets
		SET name = $2, kind = $3, spec = $4, paused = $5, updated_at = $6, version = $7 WHERE id = $1`,
		t.ID, t.Name, t.Kind, spec, t.Paused, t.UpdatedAt.UnixMilli(), v); err != nil {
		return dbErr(err)
	}
	if !maps.Equal(t.Labels, old.Labels) {
		return writeLabels(ctx, tx, t.ID, t.Labels)
	}
	return nil
}

// refuseDangling returns a *uptime.ValidationError naming each channel or
// target that t names, and old (nil for a new target) did not, which does
// not exist as the write's transaction sees it. It runs after t's row is
// written, so a write of several targets in one transaction can write them
// all and then check each: references among them pass. A channel or target
// deleted later leaves the reference dangling, as before; the check is for
// names mistyped when written.
func refuseDangling(ctx context.Context, q querier, t, old *uptime.Target) error {
	return t.CheckReferences(old, func(r uptime.Reference) (bool, error) {
		query := `SELECT EXISTS (SELECT 1 FROM targets WHERE name = $1)`
		if r.Channel {
			query = `SELECT EXISTS (SELECT 1 FROM channels WHERE name = $1)`
		}
		var ok bool
		if err := q.QueryRowContext(ctx, query, r.Name).Scan(&ok); err != nil {
			return false, dbErr(err)
		}
		return ok, nil
	})
}

// graphLock is the PostgreSQL advisory lock that serialises writes of
// targets with dependencies, so that two concurrent writes cannot each
// close half of a cycle. SQLite's single writer serialises them already.
const graphLock = 0x4c6f6f6b6f7574 // "Lookout"

// refuseCycle returns a *uptime.ValidationError on depends_on when t's
// dependencies lead back to t. Only the part of the graph reachable from t's
// dependencies is read, one indexed lookup per target, so a target without
// dependencies costs nothing.
func (db *DB) refuseCycle(ctx context.Context, tx *sql.Tx, t *uptime.Target) error {
	if len(t.DependsOn) == 0 {
		return nil
	}
	if db.driver == DriverPostgres {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, graphLock); err != nil {
			return dbErr(err)
		}
	}
	graph := map[string][]string{t.Name: t.DependsOn}
	queue := slices.Clone(t.DependsOn)
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		if _, seen := graph[name]; seen {
			continue
		}
		var spec string
		err := tx.QueryRowContext(ctx, `SELECT spec FROM targets WHERE name = $1`, name).Scan(&spec)
		if errors.Is(err, sql.ErrNoRows) {
			graph[name] = nil // not registered: refuseDangling says so
			continue
		}
		if err != nil {
			return dbErr(err)
		}
		var deps struct {
			DependsOn []string `json:"depends_on"`
		}
		if err := json.Unmarshal([]byte(spec), &deps); err != nil {
			return fmt.Errorf("decode dependencies of %q: %w", name, err)
		}
		graph[name] = deps.DependsOn
		queue = append(queue, deps.DependsOn...)
	}
	if cycle := uptime.FindCycle(graph); cycle != nil {
		return uptime.CycleError(cycle)
	}
	return nil
}

// writeLabels replaces a target's rows in target_labels, the indexed copy of
// its labels that ListTargets filters on.
func writeLabels(ctx context.Context, tx *sql.Tx, id int64, labels map[string]string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM target_labels WHERE target_id = $1`, id); err != nil {
		return dbErr(err)
	}
	return insertLabels(ctx, tx, id, labels)
}

// insertLabels adds a target's labels to target_labels, in one statement.
func insertLabels(ctx context.Context, tx *sql.Tx, id int64, labels map[string]string) error {
	if len(labels) == 0 {
		return nil
	}
	var q strings.Builder
	q.WriteString(`INSERT INTO target_labels (target_id, key, value) VALUES `)
	args := []any{id}
	for k, v := range labels {
		if len(args) > 1 {
			q.WriteString(", ")
		}
		args = append(args, k, v)
		fmt.Fprintf(&q, "($1, $%d, $%d)", len(args)-1, len(args))
	}
	_, err := tx.ExecContext(ctx, q.String(), args...)
	return dbErr(err)
}

// GetTarget returns the named target with its current state (the zero
// State if it was never checked). It returns an error wrapping
// uptime.ErrNotFound when there is no such target.
func (db *DB) GetTarget(ctx context.Context, name string) (uptime.Snapshot, error) {
	snap, err := scanSnapshot(db.rdb.QueryRowContext(ctx, snapshotSelect+` WHERE t.name = $1`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return uptime.Snapshot{}, fmt.Errorf("get target %q: %w", name, uptime.ErrNotFound)
	}
	if err != nil {
		return uptime.Snapshot{}, fmt.Errorf("get target %q: %w", name, dbErr(err))
	}
	return snap, nil
}

// TargetByID returns the target of this id and its state, or an error
// wrapping uptime.ErrNotFound.
func (db *DB) TargetByID(ctx context.Context, id int64) (uptime.Snapshot, error) {
	snap, err := scanSnapshot(db.rdb.QueryRowContext(ctx, snapshotSelect+` WHERE t.id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return uptime.Snapshot{}, fmt.Errorf("get target %d: %w", id, uptime.ErrNotFound)
	}
	if err != nil {
		return uptime.Snapshot{}, fmt.Errorf("get target %d: %w", id, dbErr(err))
	}
	return snap, nil
}

// ListTargets returns one page of targets with their state, sorted by name:
// those named after f.After whose name contains f.Name (when set), whose
// labels include every pair of f.Labels and, when f.Status is set, whose
// state is one of its statuses (a target never checked is unknown). f.Limit defaults to 100 and is capped at 1000; the
// next page starts after the last name returned. An empty page is an empty
// slice, not an error. Errors are the database's.
func (db *DB) ListTargets(ctx context.Context, f uptime.TargetFilter) ([]uptime.Snapshot, error) {
	limit := pageLimit(f.Limit, DefaultTargetLimit, MaxTargetLimit)
	var q strings.Builder
	args := []any{f.After}
	q.WriteString(snapshotSelect + ` WHERE t.name > $1`)
	args = labelFilter(&q, args, f.Labels)
	if f.Name != "" {
		// Names hold '_', which LIKE reads as any character.
		esc := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(strings.ToLower(f.Name))
		args = append(args, "%"+esc+"%")
		fmt.Fprintf(&q, ` AND t.name LIKE $%d ESCAPE '\'`, len(args))
	}
	if len(f.Status) > 0 {
		// A target without a state is unknown; without unknown asked
		// for, the status column alone lets its index find the few down
		// or degraded targets among many.
		col := `s.status`
		if slices.Contains(f.Status, uptime.StatusUnknown) {
			col = `COALESCE(s.status, 0)`
		}
		q.WriteString(` AND ` + col + ` IN (`)
		for i, st := range f.Status {
			if i > 0 {
				q.WriteString(", ")
			}
			args = append(args, int64(st))
			fmt.Fprintf(&q, "$%d", len(args))
		}
		q.WriteString(`)`)
	}
	args = append(args, limit)
	fmt.Fprintf(&q, ` ORDER BY t.name LIMIT $%d`, len(args))
	out, err := db.querySnapshots(ctx, q.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("list targets: %w", err)
	}
	return out, nil
}

// labelFilter writes the conditions that keep the targets t carrying
// every label of labels, as parameters after args, and returns args with
// them.
func labelFilter(q *strings.Builder, args []any, labels map[string]string) []any {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	slices.Sort(keys) // one SQL text per filter shape, for the statement cache
	for _, k := range keys {
		args = append(args, k, labels[k])
		fmt.Fprintf(q, ` AND EXISTS (SELECT 1 FROM target_labels l
			WHERE l.target_id = t.id AND l.key = $%d AND l.value = $%d)`, len(args)-1, len(args))
	}
	return args
}

// TargetNames returns the name of every target carrying every label of
// labels (every target when there is none), by id: what a fleet-wide read
// needs of them, without their specs. Errors are the database's.
func (db *DB) TargetNames(ctx context.Context, labels map[string]string) (map[int64]string, error) {
	var q strings.Builder
	q.WriteString(`SELECT t.id, t.name FROM targets t WHERE true`)
	args := labelFilter(&q, nil, labels)
	rows, err := db.rdb.QueryContext(ctx, q.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("list target names: %w", dbErr(err))
	}
	defer rows.Close()
	out := map[int64]string{}
	for rows.Next() {
		var id int64
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			return nil, fmt.Errorf("list target names: %w", dbErr(err))
		}
		out[id] = name
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list target names: %w", dbErr(err))
	}
	return out, nil
}

// AllTargets returns every target with its state, sorted by name: what the
// scheduler loads at start-up. Errors are the database's.
func (db *DB) AllTargets(ctx context.Context) ([]uptime.Snapshot, error) {
	out, err := db.querySnapshots(ctx, snapshotSelect+` ORDER BY t.name`)
	if err != nil {
		return nil, fmt.Errorf("all targets: %w", err)
	}
	return out, nil
}

func (db *DB) querySnapshots(ctx context.Context, q string, args ...any) ([]uptime.Snapshot, error) {
	rows, err := db.rdb.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, dbErr(err)
	}
	defer rows.Close()
	out := []uptime.Snapshot{}
	for rows.Next() {
		s, err := scanSnapshot(rows)
		if err != nil {
			return nil, dbErr(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr(err)
	}
	return out, nil
}

// ReasonTargetDeleted is the Reason of deliveries skipped because their
// target was deleted before they were sent.
const ReasonTargetDeleted = "target deleted"

// DeleteTarget removes the named target, its state, its incidents and all
// its results in one transaction; its pending deliveries become skipped
// with reason "target deleted". Results of it still queued in the writer are dropped
// when their batch is written. It returns an error wrapping
// uptime.ErrNotFound when there is no such target.
func (db *DB) DeleteTarget(ctx context.Context, name string) error {
	tx, err := db.wdb.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("delete target %q: %w", name, dbErr(err))
	}
	defer tx.Rollback()
	var id int64
	err = tx.QueryRowContext(ctx, `SELECT id FROM targets WHERE name = $1`, name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("delete target %q: %w", name, uptime.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("delete target %q: %w", name, dbErr(err))
	}
	if err := db.deleteTargetRows(ctx, tx, id); err != nil {
		return fmt.Errorf("delete target %q: %w", name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("delete target %q: %w", name, dbErr(err))
	}
	db.days.clear() // its series' kept sums go: a component's id may be given again
	return nil
}

// deleteTargetRows removes target id, its state, its incidents and all its
// history, and leaves its tombstone in the feed. Its pending deliveries
// become skipped with reason "target deleted". The caller clears db.days
// once the transaction commits.
func (db *DB) deleteTargetRows(ctx context.Context, tx *sql.Tx, id int64) error {
	// Its pending alerts have no one left to speak of; the delivery log and
	// the events stay.
	if _, err := tx.ExecContext(ctx, `UPDATE deliveries SET status = $1, reason = $2, finished_at = $3,
		lease_until = 0 WHERE target_id = $4 AND status = $5`, string(uptime.DeliverySkipped),
		ReasonTargetDeleted, db.stamp().UnixMilli(), id, string(uptime.DeliveryPending)); err != nil {
		return dbErr(err)
	}
	// Explicit deletes rather than trusting ON DELETE CASCADE alone: the
	// cascade depends on the foreign_keys pragma of whoever connects.
	for _, q := range []string{
		`DELETE FROM incidents WHERE target_id = $1`,
		`DELETE FROM results WHERE target_id = $1`,
		`DELETE FROM component_results WHERE component_id IN (SELECT id FROM components WHERE target_id = $1)`,
		`DELETE FROM component_rollups WHERE component_id IN (SELECT id FROM components WHERE target_id = $1)`,
		`DELETE FROM components WHERE target_id = $1`,
		`DELETE FROM rollups WHERE target_id = $1`,
		`DELETE FROM target_pauses WHERE target_id = $1`,
		`DELETE FROM target_state WHERE target_id = $1`,
		`DELETE FROM slo_alerts WHERE target_id = $1`,
		`DELETE FROM target_labels WHERE target_id = $1`,
		`DELETE FROM targets WHERE id = $1`,
	} {
		if _, err := tx.ExecContext(ctx, q, id); err != nil {
			return dbErr(err)
		}
	}
	return db.buryTarget(ctx, tx, id)
}

// msTime and timeMS convert between time.Time and the stored Unix
// milliseconds, where 0 stands for the zero time.
func msTime(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

func timeMS(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// encodeFlips and decodeFlips convert State.Flips to and from the stored
// comma-separated Unix milliseconds.
func encodeFlips(flips []time.Time) string {
	if len(flips) == 0 {
		return ""
	}
	b := make([]byte, 0, len(flips)*14)
	for i, f := range flips {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, f.UnixMilli(), 10)
	}
	return string(b)
}

func decodeFlips(s string) ([]time.Time, error) {
	if s == "" {
		return nil, nil
	}
	parts := strings.Split(s, ",")
	out := make([]time.Time, len(parts))
	for i, p := range parts {
		ms, err := strconv.ParseInt(p, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("flips %q: %w", s, err)
		}
		out[i] = time.UnixMilli(ms).UTC()
	}
	return out, nil
}
