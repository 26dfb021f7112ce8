package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"sync"
	"time"

	"github.com/lookout/lookout/internal/uptime"
)

// channelCacheTTL bounds how long the writer routes with a channel list
// read before: this instance's channel mutations invalidate it at once, but
// another instance's on the same PostgreSQL database cannot.
const channelCacheTTL = 30 * time.Second

// channelCache is the channel list the writer routes events with. Events
// are rare, so it is loaded only when a batch carries one.
type channelCache struct {
	mu       sync.Mutex
	gen      uint64 // bumped by every invalidation
	list     []uptime.Channel
	loaded   bool
	loadedAt time.Time
}

func (c *channelCache) invalidate() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.list, c.loaded = nil, false
}

// get returns the cached channels, reading them through q when there are
// none or they are stale. A list read while a mutation committed is used
// but not kept, so that it cannot outlive the invalidation.
func (c *channelCache) get(ctx context.Context, q querier, now time.Time) ([]uptime.Channel, error) {
	c.mu.Lock()
	if c.loaded && now.Sub(c.loadedAt) < channelCacheTTL {
		list := c.list
		c.mu.Unlock()
		return list, nil
	}
	gen := c.gen
	c.mu.Unlock()
	list, err := queryChannels(ctx, q)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.gen == gen {
		c.list, c.loaded, c.loadedAt = list, true, now
	}
	c.mu.Unlock()
	return list, nil
}

// querier is what *sql.DB and *sql.Tx share.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

const channelColumns = `name, kind, url, secret, token, channel, is_default, match_labels,
	group_wait_ns, repeat_interval_ns, created_at, updated_at, api_url, owner`

func scanChannel(sc scanner) (uptime.Channel, error) {
	var (
		c                  uptime.Channel
		url, secret, token string
		labels             string
		groupWait, repeat  int64
		created, updated   int64
	)
	if err := sc.Scan(&c.Name, &c.Kind, &url, &secret, &token, &c.Channel, &c.Default, &labels,
		&groupWait, &repeat, &created, &updated, &c.APIURL, &c.Owner); err != nil {
		return uptime.Channel{}, err
	}
	if err := json.Unmarshal([]byte(labels), &c.MatchLabels); err != nil {
		return uptime.Channel{}, fmt.Errorf("decode match_labels of channel %q: %w", c.Name, err)
	}
	c.URL, c.Secret, c.Token = uptime.Secret(url), uptime.Secret(secret), uptime.Secret(token)
	// A stored 0 is a group_wait of 0 (send at once), never "left out".
	c.GroupWait, c.RepeatInterval = uptime.WaitFor(time.Duration(groupWait)), uptime.Duration(repeat)
	c.CreatedAt, c.UpdatedAt = msTime(created), msTime(updated)
	return c, nil
}

// channelArgs are c's column values in channelColumns order. Secrets go in
// revealed: the store keeps the real values, only their display is redacted.
func channelArgs(c *uptime.Channel) ([]any, error) {
	labels, err := json.Marshal(c.MatchLabels)
	if err != nil {
		return nil, fmt.Errorf("encode match_labels of channel %q: %w", c.Name, err)
	}
	return []any{c.Name, c.Kind, c.URL.Reveal(), c.Secret.Reveal(), c.Token.Reveal(), c.Channel,
		c.Default, string(labels), int64(c.GroupWait.D()), int64(c.RepeatInterval),
		c.CreatedAt.UnixMilli(), c.UpdatedAt.UnixMilli(), c.APIURL, c.Owner}, nil
}

func queryChannels(ctx context.Context, q querier) ([]uptime.Channel, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+channelColumns+` FROM channels ORDER BY name`)
	if err != nil {
		return nil, dbErr(err)
	}
	defer rows.Close()
	out := []uptime.Channel{}
	for rows.Next() {
		c, err := scanChannel(rows)
		if err != nil {
			return nil, dbErr(err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr(err)
	}
	return out, nil
}

// sameChannel reports whether a and b configure the same channel,
// timestamps aside.
func sameChannel(a, b *uptime.Channel) bool {
	return a.Name == b.Name && a.Kind == b.Kind && a.URL == b.URL && a.Secret == b.Secret &&
		a.Token == b.Token && a.Channel == b.Channel && a.Default == b.Default &&
		maps.Equal(a.MatchLabels, b.MatchLabels) && a.GroupWait.D() == b.GroupWait.D() &&
		a.RepeatInterval == b.RepeatInterval && a.APIURL == b.APIURL && a.Owner == b.Owner
}

// CreateChannel inserts c and sets its CreatedAt and UpdatedAt. The caller
// normalises and validates c first. It returns an error wrapping
// uptime.ErrConflict when a channel of that name exists.
func (db *DB) CreateChannel(ctx context.Context, c *uptime.Channel) error {
	now := db.stamp()
	next := *c
	next.CreatedAt, next.UpdatedAt = now, now
	if err := db.inTx(ctx, func(tx *sql.Tx) error { return insertChannel(ctx, tx, &next) }); err != nil {
		return fmt.Errorf("create channel %q: %w", c.Name, err)
	}
	db.chans.invalidate()
	c.CreatedAt, c.UpdatedAt = now, now
	return nil
}

func insertChannel(ctx context.Context, tx *sql.Tx, c *uptime.Channel) error {
	args, err := channelArgs(c)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO channels (`+channelColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`, args...)
	return dbErr(err)
}

// PutChannel creates c, or replaces the channel of the same name, keeping
// its CreatedAt. When c configures the same channel as the stored one
// nothing is written, changed is false and c is filled from the store. c's
// CreatedAt and UpdatedAt are set on success. Errors are the database's.
func (db *DB) PutChannel(ctx context.Context, c *uptime.Channel) (created, changed bool, err error) {
	created, changed, err = db.putChannel(ctx, c)
	if errors.Is(err, uptime.ErrConflict) {
		// Created by another writer between our read and our insert.
		created, changed, err = db.putChannel(ctx, c)
	}
	if err == nil && changed {
		db.chans.invalidate()
	}
	return created, changed, err
}

func (db *DB) putChannel(ctx context.Context, c *uptime.Channel) (created, changed bool, err error) {
	now := db.stamp()
	next := *c
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		old, err := db.channelForUpdate(ctx, tx, c.Name)
		switch {
		case errors.Is(err, uptime.ErrNotFound):
			next.CreatedAt, next.UpdatedAt = now, now
			created, changed = true, true
			return insertChannel(ctx, tx, &next)
		case err != nil:
			return err
		case sameChannel(&old, c):
			next = old
			return nil
		}
		next.CreatedAt, next.UpdatedAt = old.CreatedAt, now
		changed = true
		return updateChannel(ctx, tx, c.Name, &next)
	})
	if err != nil {
		return false, false, fmt.Errorf("put channel %q: %w", c.Name, err)
	}
	*c = next
	return created, changed, nil
}

// updateChannel writes c over the channel named old; a rename carries the
// channel's deliveries along, so that its log and queue stay whole.
func updateChannel(ctx context.Context, tx *sql.Tx, old string, c *uptime.Channel) error {
	args, err := channelArgs(c)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE channels SET name = $1, kind = $2, url = $3, secret = $4,
		token = $5, channel = $6, is_default = $7, match_labels = $8, group_wait_ns = $9,
		repeat_interval_ns = $10, created_at = $11, updated_at = $12, api_url = $13, owner = $14 WHERE name = $15`,
		append(args, old)...); err != nil {
		return dbErr(err)
	}
	if c.Name != old {
		if _, err := tx.ExecContext(ctx, `UPDATE deliveries SET channel = $1 WHERE channel = $2`,
			c.Name, old); err != nil {
			return dbErr(err)
		}
	}
	return nil
}

// channelForUpdate reads a channel inside a write transaction, locking its
// row on PostgreSQL (SQLite's transaction holds the write lock already).
func (db *DB) channelForUpdate(ctx context.Context, tx *sql.Tx, name string) (uptime.Channel, error) {
	q := `SELECT ` + channelColumns + ` FROM channels WHERE name = $1`
	if db.driver == DriverPostgres {
		q += ` FOR UPDATE`
	}
	c, err := scanChannel(tx.QueryRowContext(ctx, q, name))
	if errors.Is(err, sql.ErrNoRows) {
		return uptime.Channel{}, uptime.ErrNotFound
	}
	if err != nil {
		return uptime.Channel{}, dbErr(err)
	}
	return c, nil
}

// GetChannel returns the named channel with its real secrets. It returns an
// error wrapping uptime.ErrNotFound when there is no such channel.
func (db *DB) GetChannel(ctx context.Context, name string) (uptime.Channel, error) {
	c, err := scanChannel(db.rdb.QueryRowContext(ctx, `SELECT `+channelColumns+` FROM channels WHERE name = $1`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return uptime.Channel{}, fmt.Errorf("get channel %q: %w", name, uptime.ErrNotFound)
	}
	if err != nil {
		return uptime.Channel{}, fmt.Errorf("get channel %q: %w", name, dbErr(err))
	}
	return c, nil
}

// ListChannels returns every channel, sorted by name; none is an empty
// slice. Errors are the database's.
func (db *DB) ListChannels(ctx context.Context) ([]uptime.Channel, error) {
	out, err := queryChannels(ctx, db.rdb)
	if err != nil {
		return nil, fmt.Errorf("list channels: %w", err)
	}
	return out, nil
}

// UpdateChannel reads the named channel, lets fn change it and writes it
// back in one transaction. fn may rename the channel (its deliveries
// follow); it cannot change CreatedAt. If fn changes nothing, nothing is
// written. It returns the channel as stored. fn's error is returned as is;
// a missing channel gives uptime.ErrNotFound, a rename onto an existing
// name uptime.ErrConflict.
func (db *DB) UpdateChannel(ctx context.Context, name string, fn func(*uptime.Channel) error) (uptime.Channel, error) {
	now := db.stamp()
	var out uptime.Channel
	var fnErr error
	changed := false
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		old, err := db.channelForUpdate(ctx, tx, name)
		if err != nil {
			return err
		}
		next := old
		next.MatchLabels = maps.Clone(old.MatchLabels)
		if fnErr = fn(&next); fnErr != nil {
			return fnErr
		}
		next.CreatedAt, next.UpdatedAt = old.CreatedAt, old.UpdatedAt
		if sameChannel(&old, &next) {
			out = old
			return nil
		}
		next.UpdatedAt = now
		if err := updateChannel(ctx, tx, name, &next); err != nil {
			return err
		}
		out, changed = next, true
		return nil
	})
	if fnErr != nil {
		return uptime.Channel{}, fnErr
	}
	if err != nil {
		return uptime.Channel{}, fmt.Errorf("update channel %q: %w", name, err)
	}
	if changed {
		db.chans.invalidate()
	}
	return out, nil
}

// ReasonChannelDeleted is the Reason of deliveries skipped because their
// channel was deleted before they were sent.
const ReasonChannelDeleted = "channel deleted"

// DeleteChannel removes the named channel; its pending deliveries become
// skipped with reason "channel deleted", in the same transaction, and its
// delivery log stays. It returns an error wrapping uptime.ErrNotFound when
// there is no such channel.
func (db *DB) DeleteChannel(ctx context.Context, name string) error {
	now := db.stamp().UnixMilli()
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM channels WHERE name = $1`, name)
		if err != nil {
			return dbErr(err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return dbErr(err)
		} else if n == 0 {
			return uptime.ErrNotFound
		}
		_, err = tx.ExecContext(ctx, `UPDATE deliveries SET status = $1, reason = $2, finished_at = $3,
			lease_until = 0 WHERE channel = $4 AND status = $5`,
			string(uptime.DeliverySkipped), ReasonChannelDeleted, now, name, string(uptime.DeliveryPending))
		return dbErr(err)
	})
	if err != nil {
		return fmt.Errorf("delete channel %q: %w", name, err)
	}
	db.chans.invalidate()
	return nil
}

// inTx runs fn in a write transaction and commits it unless fn fails.
// fn's errors are returned as they are; fn maps its driver errors itself.
func (db *DB) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.wdb.BeginTx(ctx, nil)
	if err != nil {
		return dbErr(err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return dbErr(tx.Commit())
}
