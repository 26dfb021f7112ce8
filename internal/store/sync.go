package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lookout/lookout/internal/uptime"
)

// Sync makes an owner's targets and channels what s lists, in one
// transaction: everything or, on any error, nothing. Channels go first, so
// that targets may name channels the same sync creates; every reference
// and dependency cycle is checked once all rows are written, so entries
// may name each other in any order. On a dry run the transaction is rolled
// back after those checks. It returns what it did to each object, sorted
// by name. A name that exists but is not the owner's is an
// *uptime.ForeignError; an entry that does not validate, names what does
// not exist or closes a cycle is an *uptime.ValidationError with fields
// under "targets[i]" or "channels[i]"; other errors are the database's.
func (db *DB) Sync(ctx context.Context, s uptime.Sync) (uptime.SyncResult, error) {
	now := db.stamp()
	tx, err := db.wdb.BeginTx(ctx, nil)
	if err != nil {
		return uptime.SyncResult{}, fmt.Errorf("sync %q: %w", s.Owner, dbErr(err))
	}
	defer tx.Rollback()
	if db.driver == DriverPostgres {
		// Two syncs of one owner would each read the owner's set before
		// the other's writes; serialise them.
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext('lookout sync ' || $1))`, s.Owner); err != nil {
			return uptime.SyncResult{}, fmt.Errorf("sync %q: %w", s.Owner, dbErr(err))
		}
	}
	var res uptime.SyncResult
	if s.SyncChannels {
		if res.Channels, err = db.syncChannels(ctx, tx, s, now); err != nil {
			return uptime.SyncResult{}, fmt.Errorf("sync %q: %w", s.Owner, err)
		}
	}
	var deleted bool
	if s.SyncTargets {
		if res.Targets, deleted, err = db.syncTargets(ctx, tx, s, now); err != nil {
			return uptime.SyncResult{}, fmt.Errorf("sync %q: %w", s.Owner, err)
		}
	}
	if err := refuseDeletedChannelsInUse(ctx, tx, res.Channels); err != nil {
		return uptime.SyncResult{}, fmt.Errorf("sync %q: %w", s.Owner, err)
	}
	if s.DryRun {
		return res, nil
	}
	if err := tx.Commit(); err != nil {
		return uptime.SyncResult{}, fmt.Errorf("sync %q: %w", s.Owner, dbErr(err))
	}
	if s.SyncChannels {
		db.chans.invalidate()
	}
	if deleted {
		db.days.clear()
	}
	return res, nil
}

// syncTargets is Sync's part for targets; deleted reports whether it
// deleted any.
func (db *DB) syncTargets(ctx context.Context, tx *sql.Tx, s uptime.Sync, now time.Time) (out []uptime.Synced[uptime.Target], deleted bool, err error) {
	owned, err := ownedTargets(ctx, tx, s.Owner)
	if err != nil {
		return nil, false, err
	}
	foreign, err := foreignTargets(ctx, tx, owned)
	if err != nil {
		return nil, false, err
	}
	ts := slices.Clone(s.Targets)
	given, err := prepareEntries("targets", ts, func(t *uptime.Target) string { return t.Name }, owned, foreign,
		"target %q exists and is not labelled "+uptime.OwnerLabel+"="+s.Owner+": delete it, or label it so to hand it to this sync",
		s.PrepareTarget)
	if err != nil {
		return nil, false, err
	}

	// Deletions first: a name freed by one is not taken again (names are
	// the key), but their tombstones must precede the writes in the feed.
	if s.Prune {
		for _, name := range slices.Sorted(maps.Keys(owned)) {
			if given[name] {
				continue
			}
			old := owned[name]
			if err := db.deleteTargetRows(ctx, tx, old.ID); err != nil {
				return nil, false, fmt.Errorf("delete target %q: %w", name, err)
			}
			out = append(out, uptime.Synced[uptime.Target]{Name: name, Old: &old, Changed: true})
			deleted = true
		}
	}
	written := make([]int, 0, len(ts)) // indexes of the targets written
	// Every target the sync writes takes one feed version: the scheduler
	// sees them all at once, when the transaction commits.
	var version int64
	stamp := func() (int64, error) {
		var err error
		if version == 0 {
			version, err = nextVersion(ctx, tx)
		}
		return version, err
	}
	for i := range ts {
		t := &ts[i]
		o, ok := owned[t.Name]
		switch {
		case !ok:
			v, err := stamp()
			if err != nil {
				return nil, false, err
			}
			id, err := insertTargetRow(ctx, tx, t, now, v)
			if err != nil {
				return nil, false, fmt.Errorf("create target %q: %w", t.Name, err)
			}
			t.ID, t.CreatedAt, t.UpdatedAt = id, now, now
			out = append(out, uptime.Synced[uptime.Target]{Name: t.Name, New: t, Changed: true})
			written = append(written, i)
		case t.SameSpec(&o):
			*t = o
			out = append(out, uptime.Synced[uptime.Target]{Name: t.Name, Old: &o, New: t})
		default:
			t.ID, t.CreatedAt, t.UpdatedAt = o.ID, o.CreatedAt, now
			v, err := stamp()
			if err != nil {
				return nil, false, err
			}
			if err := updateTargetRow(ctx, tx, t, &o, v); err != nil {
				return nil, false, fmt.Errorf("update target %q: %w", t.Name, err)
			}
			out = append(out, uptime.Synced[uptime.Target]{Name: t.Name, Old: &o, New: t, Changed: true})
			written = append(written, i)
		}
	}
	var verr uptime.ValidationError
	for _, i := range written {
		t := &ts[i]
		var old *uptime.Target
		if o, ok := owned[t.Name]; ok {
			old = &o
		}
		err := db.refuseCycle(ctx, tx, t)
		if err == nil {
			err = refuseDangling(ctx, tx, t, old)
		}
		if !verr.MergeUnder(fmt.Sprintf("targets[%d]", i), err) {
			return nil, false, err
		}
	}
	if err := verr.Err(); err != nil {
		return nil, false, err
	}
	slices.SortFunc(out, func(a, b uptime.Synced[uptime.Target]) int { return strings.Compare(a.Name, b.Name) })
	return out, deleted, nil
}

// syncChannels is Sync's part for channels.
func (db *DB) syncChannels(ctx context.Context, tx *sql.Tx, s uptime.Sync, now time.Time) ([]uptime.Synced[uptime.Channel], error) {
	all, err := queryChannels(ctx, tx)
	if err != nil {
		return nil, err
	}
	owned := map[string]uptime.Channel{}
	foreign := map[string]bool{}
	for _, c := range all {
		if c.Owner == s.Owner {
			owned[c.Name] = c
		} else {
			foreign[c.Name] = true
		}
	}
	cs := slices.Clone(s.Channels)
	given, err := prepareEntries("channels", cs, func(c *uptime.Channel) string { return c.Name }, owned, foreign,
		"channel %q exists and its owner is not "+strconv.Quote(s.Owner)+": delete it, or set its owner to hand it to this sync",
		s.PrepareChannel)
	if err != nil {
		return nil, err
	}
	var out []uptime.Synced[uptime.Channel]
	if s.Prune {
		for _, name := range slices.Sorted(maps.Keys(owned)) {
			if given[name] {
				continue
			}
			old := owned[name]
			if _, err := tx.ExecContext(ctx, `DELETE FROM channels WHERE name = $1`, name); err != nil {
				return nil, fmt.Errorf("delete channel %q: %w", name, dbErr(err))
			}
			out = append(out, uptime.Synced[uptime.Channel]{Name: name, Old: &old, Changed: true})
		}
	}
	for i := range cs {
		c := &cs[i]
		o, ok := owned[c.Name]
		switch {
		case !ok:
			c.CreatedAt, c.UpdatedAt = now, now
			if err := insertChannel(ctx, tx, c); err != nil {
				return nil, fmt.Errorf("create channel %q: %w", c.Name, err)
			}
			out = append(out, uptime.Synced[uptime.Channel]{Name: c.Name, New: c, Changed: true})
		case sameChannel(&o, c):
			*c = o
			out = append(out, uptime.Synced[uptime.Channel]{Name: c.Name, Old: &o, New: c})
		default:
			c.CreatedAt, c.UpdatedAt = o.CreatedAt, now
			if err := updateChannel(ctx, tx, c.Name, c); err != nil {
				return nil, fmt.Errorf("update channel %q: %w", c.Name, err)
			}
			out = append(out, uptime.Synced[uptime.Channel]{Name: c.Name, Old: &o, New: c, Changed: true})
		}
	}
	slices.SortFunc(out, func(a, b uptime.Synced[uptime.Channel]) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// prepareEntries runs prepare (when set) on each entry of a sync's list,
// named kind in errors, with the stored object of its name that the owner
// has (nil when none), and returns the names given. An entry naming an
// object not the owner's is an *uptime.ForeignError with foreignProblem
// (a format taking the name); problems prepare finds are one
// *uptime.ValidationError, each under the entry's index.
func prepareEntries[T any](kind string, entries []T, nameOf func(*T) string, owned map[string]T,
	foreign map[string]bool, foreignProblem string, prepare func(x, old *T) error) (map[string]bool, error) {
	var (
		verr  uptime.ValidationError
		ferr  uptime.ForeignError
		given = make(map[string]bool, len(entries))
	)
	for i := range entries {
		x := &entries[i]
		name := nameOf(x)
		given[name] = true
		if foreign[name] {
			ferr.Errors = append(ferr.Errors, uptime.FieldError{Field: fmt.Sprintf("%s[%d].name", kind, i),
				Problem: fmt.Sprintf(foreignProblem, name)})
			continue
		}
		if prepare == nil {
			continue
		}
		var old *T
		if o, ok := owned[name]; ok {
			old = &o
		}
		if err := prepare(x, old); !verr.MergeUnder(fmt.Sprintf("%s[%d]", kind, i), err) {
			return nil, err
		}
	}
	if len(ferr.Errors) > 0 {
		return nil, &ferr
	}
	return given, verr.Err()
}

// ownedTargets reads the targets labelled owner=owner, by name.
func ownedTargets(ctx context.Context, tx *sql.Tx, owner string) (map[string]uptime.Target, error) {
	rows, err := tx.QueryContext(ctx, `SELECT t.id, t.spec, t.paused, t.created_at, t.updated_at
		FROM targets t JOIN target_labels l ON l.target_id = t.id
		WHERE l.key = $1 AND l.value = $2`, uptime.OwnerLabel, owner)
	if err != nil {
		return nil, dbErr(err)
	}
	defer rows.Close()
	out := map[string]uptime.Target{}
	for rows.Next() {
		var (
			id, created, updated int64
			spec                 string
			paused               bool
		)
		if err := rows.Scan(&id, &spec, &paused, &created, &updated); err != nil {
			return nil, dbErr(err)
		}
		t, err := decodeTarget(id, spec, paused, created, updated)
		if err != nil {
			return nil, err
		}
		out[t.Name] = t
	}
	return out, dbErr(rows.Err())
}

// foreignTargets returns the names of the targets not in owned.
func foreignTargets(ctx context.Context, tx *sql.Tx, owned map[string]uptime.Target) (map[string]bool, error) {
	rows, err := tx.QueryContext(ctx, `SELECT name FROM targets`)
	if err != nil {
		return nil, dbErr(err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, dbErr(err)
		}
		if _, ok := owned[name]; !ok {
			out[name] = true
		}
	}
	return out, dbErr(rows.Err())
}

// refuseDeletedChannelsInUse returns a *uptime.ValidationError on
// "channels" for each channel the sync deletes that a target still names
// once the sync's own target writes are done: its alerts would go nowhere.
func refuseDeletedChannelsInUse(ctx context.Context, tx *sql.Tx, synced []uptime.Synced[uptime.Channel]) error {
	var v uptime.ValidationError
	for _, c := range synced {
		if c.New != nil {
			continue
		}
		// The spec's JSON holds the name quoted; decoding tells a channel
		// from a label or a URL that happens to hold the same text.
		rows, err := tx.QueryContext(ctx, `SELECT name, spec FROM targets WHERE spec LIKE $1 ORDER BY name`,
			`%"`+c.Name+`"%`)
		if err != nil {
			return dbErr(err)
		}
		var users []string
		for rows.Next() {
			var name, spec string
			if err := rows.Scan(&name, &spec); err != nil {
				rows.Close()
				return dbErr(err)
			}
			var t struct {
				Channels []string `json:"channels"`
			}
			if json.Unmarshal([]byte(spec), &t) == nil && slices.Contains(t.Channels, c.Name) {
				users = append(users, name)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return dbErr(err)
		}
		if len(users) > 0 {
			v.Add("channels", fmt.Sprintf("the sync deletes channel %q, which targets still name (%s): keep the channel, or take it out of their channels",
				c.Name, strings.Join(users, ", ")))
		}
	}
	return v.Err()
}
