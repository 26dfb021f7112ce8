package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/lookout/lookout/internal/uptime"
)

// Page sizes of ListIncidents and ListDeliveries.
const (
	DefaultIncidentLimit = 100
	MaxIncidentLimit     = 1000
)

// incidentSelect reads incidents with their target's name. alerts_sent is
// counted from the delivery log rather than kept as a counter, so that it
// cannot drift from it. An open incident's failures are its target's
// count so far (the row keeps the count at its opening until resolved),
// never fewer than the row's.
const incidentSelect = `SELECT i.id, i.target_id, t.name, i.started_at, i.detected_at, i.resolved_at,
	CASE WHEN i.resolved_at = 0 THEN COALESCE((SELECT s.incident_failures FROM target_state s
		WHERE s.target_id = i.target_id AND s.incident_failures > i.failures), i.failures) ELSE i.failures END,
	i.last_error, i.error_class, i.cause, i.suppressed,
	(SELECT COUNT(*) FROM deliveries d WHERE d.incident_id = i.id AND d.status = 'delivered')
FROM incidents i JOIN targets t ON t.id = i.target_id`

func scanIncident(sc scanner) (uptime.Incident, error) {
	var (
		in                          uptime.Incident
		started, detected, resolved int64
		class, sent                 int64
	)
	if err := sc.Scan(&in.ID, &in.TargetID, &in.Target, &started, &detected, &resolved,
		&in.Failures, &in.LastError, &class, &in.Cause, &in.Suppressed, &sent); err != nil {
		return uptime.Incident{}, err
	}
	in.StartedAt, in.DetectedAt, in.ResolvedAt = msTime(started), msTime(detected), msTime(resolved)
	in.ErrorClass, in.AlertsSent = uptime.ErrorClass(class), int(sent)
	return in, nil
}

// ListIncidents returns a page of incidents, newest first: those of the
// target named f.Target, only open ones with f.OpenOnly, and with From or
// To set those overlapping [From, To) (an open incident lasts until now).
// f.Limit defaults to 100 and is capped at 1000; f.Before continues below
// the last id returned. An empty page is an empty slice. Errors are the
// database's.
func (db *DB) ListIncidents(ctx context.Context, f uptime.IncidentFilter) ([]uptime.Incident, error) {
	limit := pageLimit(f.Limit, DefaultIncidentLimit, MaxIncidentLimit)
	w := db.incidentWhere(f)
	if f.Before > 0 {
		w.add(`i.id < ?`, f.Before)
	}
	q, args := w.newestFirst(incidentSelect, "i.id", limit)
	rows, err := db.rdb.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list incidents: %w", dbErr(err))
	}
	defer rows.Close()
	out := []uptime.Incident{}
	for rows.Next() {
		in, err := scanIncident(rows)
		if err != nil {
			return nil, fmt.Errorf("list incidents: %w", dbErr(err))
		}
		out = append(out, in)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list incidents: %w", dbErr(err))
	}
	return out, nil
}

// incidentWhere is the filter of f, but for its paging.
func (db *DB) incidentWhere(f uptime.IncidentFilter) *where {
	w := &where{}
	if f.Target != "" {
		w.add(`t.name = ?`, f.Target)
	}
	if f.OpenOnly {
		w.add(`i.resolved_at = 0`)
	}
	if !f.From.IsZero() {
		w.add(`CASE WHEN i.resolved_at = 0 THEN ? ELSE i.resolved_at END > ?`, db.now().UnixMilli(), f.From.UnixMilli())
	}
	if !f.To.IsZero() {
		w.add(`i.started_at < ?`, f.To.UnixMilli())
	}
	return w
}

// IncidentStats sums up every incident matching f, its paging left aside:
// count, open, MTTR and MTBF (see uptime.SumIncidents). Errors are the
// database's.
func (db *DB) IncidentStats(ctx context.Context, f uptime.IncidentFilter) (uptime.IncidentStats, error) {
	w := db.incidentWhere(f)
	q := `SELECT i.target_id, i.started_at, i.resolved_at FROM incidents i JOIN targets t ON t.id = i.target_id`
	if len(w.conds) > 0 {
		q += ` WHERE ` + strings.Join(w.conds, ` AND `)
	}
	rows, err := db.rdb.QueryContext(ctx, q, w.args...)
	if err != nil {
		return uptime.IncidentStats{}, fmt.Errorf("incident stats: %w", dbErr(err))
	}
	defer rows.Close()
	var spans []uptime.Span
	for rows.Next() {
		var id, started, resolved int64
		if err := rows.Scan(&id, &started, &resolved); err != nil {
			return uptime.IncidentStats{}, fmt.Errorf("incident stats: %w", dbErr(err))
		}
		spans = append(spans, uptime.Span{TargetID: id, Started: msTime(started), Resolved: msTime(resolved)})
	}
	if err := rows.Err(); err != nil {
		return uptime.IncidentStats{}, fmt.Errorf("incident stats: %w", dbErr(err))
	}
	return uptime.SumIncidents(spans), nil
}

// OpenIncident returns the target's open incident. It returns an error
// wrapping uptime.ErrNotFound when the target has none (or does not exist).
func (db *DB) OpenIncident(ctx context.Context, targetID int64) (uptime.Incident, error) {
	in, err := scanIncident(db.rdb.QueryRowContext(ctx,
		incidentSelect+` WHERE i.target_id = $1 AND i.resolved_at = 0`, targetID))
	if errors.Is(err, sql.ErrNoRows) {
		return uptime.Incident{}, fmt.Errorf("open incident of target %d: %w", targetID, uptime.ErrNotFound)
	}
	if err != nil {
		return uptime.Incident{}, fmt.Errorf("open incident of target %d: %w", targetID, dbErr(err))
	}
	return in, nil
}

// where collects the AND-ed conditions of a list query; each "?" in a
// condition becomes the next $N placeholder, bound to the next value.
type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, vals ...any) {
	for _, v := range vals {
		w.args = append(w.args, v)
		cond = strings.Replace(cond, "?", "$"+strconv.Itoa(len(w.args)), 1)
	}
	w.conds = append(w.conds, cond)
}

// newestFirst returns sel filtered by the conditions, ordered by id
// descending and limited to limit rows, with its arguments.
func (w *where) newestFirst(sel, id string, limit int) (string, []any) {
	q := sel
	if len(w.conds) > 0 {
		q += ` WHERE ` + strings.Join(w.conds, ` AND `)
	}
	args := append(w.args, limit)
	return q + ` ORDER BY ` + id + ` DESC LIMIT $` + strconv.Itoa(len(args)), args
}
