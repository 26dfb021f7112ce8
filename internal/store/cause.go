package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/lookout/lookout/internal/uptime"
)

// AttributeIncidents decides again what each open incident of ids is
// attributed to (uptime.Attribute), from what the store knows now: the
// targets' specs, their latest states, and the failing components of each
// incident's opening. The dispatcher calls it when an opening is about to
// be sent, after group_wait, so that the choice does not depend on which
// check happened to cross its threshold first. An incident whose cause
// changed is updated, and so is the open incident of each dependency the
// decision went through (a chain is attributed to its root). Resolved and
// unknown incidents keep their stored cause. It returns the attribution of
// every id it found. Errors are the database's.
func (db *DB) AttributeIncidents(ctx context.Context, ids []int64) (map[int64]uptime.Attribution, error) {
	out := make(map[int64]uptime.Attribution, len(ids))
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		a := &attributor{ctx: ctx, tx: tx, memo: map[int64]attributed{}, peers: map[string]peerRow{}}
		for _, id := range ids {
			got, err := a.incident(id)
			if err != nil {
				return err
			}
			if got.found {
				out[id] = got.Attribution
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("attribute incidents: %w", err)
	}
	return out, nil
}

// attributor decides causes within one transaction, each incident once.
type attributor struct {
	ctx   context.Context
	tx    *sql.Tx
	memo  map[int64]attributed
	peers map[string]peerRow
}

type attributed struct {
	uptime.Attribution
	found bool
}

// peerRow is a registered target as the cause rule sees it.
type peerRow struct {
	found      bool
	paused     bool
	status     uptime.Status
	failures   int
	incidentID int64 // its open incident, 0 when none
}

func (a *attributor) incident(id int64) (attributed, error) {
	if got, ok := a.memo[id]; ok {
		return got, nil
	}
	var (
		spec, stored, name string
		targetID, resolved int64
		paused             bool
		created, updated   int64
	)
	err := a.tx.QueryRowContext(a.ctx, `SELECT i.target_id, i.resolved_at, i.cause, t.name, t.spec, t.paused,
		t.created_at, t.updated_at FROM incidents i JOIN targets t ON t.id = i.target_id WHERE i.id = $1`, id).
		Scan(&targetID, &resolved, &stored, &name, &spec, &paused, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		a.memo[id] = attributed{}
		return attributed{}, nil
	}
	if err != nil {
		return attributed{}, dbErr(err)
	}
	// Until decided, a cycle through this incident reads what is stored.
	kept := attributed{Attribution: uptime.Attribution{Cause: stored}, found: true}
	a.memo[id] = kept
	if resolved != 0 {
		return kept, nil
	}
	t, err := decodeTarget(targetID, spec, paused, created, updated)
	if err != nil {
		return attributed{}, err
	}
	failing, err := a.openingComponents(id)
	if err != nil {
		return attributed{}, err
	}
	var lookupErr error
	attr := uptime.Attribute(&t, failing, func(name string) (uptime.Peer, bool) {
		p, found, err := a.peer(name)
		if err != nil && lookupErr == nil {
			lookupErr = err
		}
		return p, found
	})
	if lookupErr != nil {
		return attributed{}, lookupErr
	}
	got := attributed{Attribution: attr, found: true}
	a.memo[id] = got
	if attr.Cause != stored {
		if _, err := a.tx.ExecContext(a.ctx, `UPDATE incidents SET cause = $2 WHERE id = $1`, id, cleanText(attr.Cause)); err != nil {
			return attributed{}, dbErr(err)
		}
	}
	return got, nil
}

// peer looks a registered target up by name: its state, and the cause of
// its open incident, decided in turn. found is false for no such target.
func (a *attributor) peer(name string) (p uptime.Peer, found bool, err error) {
	row, ok := a.peers[name]
	if !ok {
		var status, failures int64
		err := a.tx.QueryRowContext(a.ctx, `SELECT t.paused, COALESCE(s.status, 0), COALESCE(s.consecutive_failures, 0),
			COALESCE((SELECT i.id FROM incidents i WHERE i.target_id = t.id AND i.resolved_at = 0), 0)
			FROM targets t LEFT JOIN target_state s ON s.target_id = t.id WHERE t.name = $1`, name).
			Scan(&row.paused, &status, &failures, &row.incidentID)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return uptime.Peer{}, false, dbErr(err)
		default:
			row.found, row.status, row.failures = true, uptime.Status(status), int(failures)
		}
		a.peers[name] = row
	}
	if !row.found || row.paused {
		// A paused target is known but judged neither way.
		return uptime.Peer{}, row.found, nil
	}
	p = uptime.Peer{Down: row.status == uptime.StatusDown}
	if !p.Down {
		p.Failing = row.failures > 0
		return p, true, nil
	}
	if row.incidentID != 0 {
		got, err := a.incident(row.incidentID)
		if err != nil {
			return uptime.Peer{}, true, err
		}
		p.Cause, p.CauseSuspected = got.Cause, got.Suspected
	}
	return p, true, nil
}

// openingComponents returns the failing components the incident's opening
// reported.
func (a *attributor) openingComponents(id int64) ([]uptime.Component, error) {
	var body string
	err := a.tx.QueryRowContext(a.ctx, `SELECT body FROM events WHERE incident_id = $1 AND type = $2
		ORDER BY id DESC LIMIT 1`, id, string(uptime.EventIncidentOpened)).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, dbErr(err)
	}
	var ev uptime.Event
	if err := json.Unmarshal([]byte(body), &ev); err != nil {
		return nil, fmt.Errorf("decode opening of incident %d: %w", id, err)
	}
	return ev.Components, nil
}
