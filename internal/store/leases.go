package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/lookout/lookout/internal/uptime"
)

// ErrInstanceInUse is returned by Lease when another live process holds
// the instance id this DB was opened with.
var ErrInstanceInUse = errors.New("instance id in use by another live process")

// errNeedsPostgres is returned by the lease methods on SQLite, which one
// instance serves alone.
var errNeedsPostgres = errors.New("leases need PostgreSQL: a SQLite database is served by one instance")

// instanceRetention is how long a dead instance stays in the cluster view
// once it holds no shard.
const instanceRetention = time.Hour

// newSession is a random token telling this process apart from any other
// that uses the same instance id.
func newSession() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Instance returns the id this DB leases shards and fences writes under
// (Options.Instance), "" outside a cluster.
func (db *DB) Instance() string { return db.opts.Instance }

// msf is d in milliseconds as the float8 the lease statements multiply an
// interval by.
func msf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Lease runs one turn of this instance's lease loop on PostgreSQL, in one
// transaction and by the database's clock: it records the instance's
// heartbeat, renews every lease it holds for req.TTL, counts the
// instances alive (a heartbeat within req.TTL), and claims shards until it
// holds its share (Shards / alive, rounded up): first those nobody holds,
// then, with req.ClaimExpired, those whose lease ran out, unless this
// instance is itself just back from a lapse (Leases.Rejoined). A claimed
// shard takes the next epoch. Shards another claimer has locked, or whose
// holder is writing a batch, are skipped, to be claimed on a later turn.
// It never gives a shard up: see ReleaseLeases.
//
// A new process under an id whose previous holder stopped heartbeating
// takes the id over, and moves the epoch of the shards still held under
// it on, so that writes of the previous holder are refused. It returns an
// error wrapping ErrInstanceInUse while that holder's heartbeat is recent;
// other errors are the database's.
func (db *DB) Lease(ctx context.Context, req uptime.LeaseRequest) (uptime.Leases, error) {
	if db.driver != DriverPostgres {
		return uptime.Leases{}, errNeedsPostgres
	}
	if db.opts.Instance == "" {
		return uptime.Leases{}, errors.New("lease: the store was opened without an instance id")
	}
	me, ttl := db.opts.Instance, msf(req.TTL)
	var out uptime.Leases
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		rejoined, err := db.heartbeat(ctx, tx, req, ttl)
		if err != nil {
			return err
		}
		out.Rejoined = rejoined
		if _, err := tx.ExecContext(ctx, `UPDATE shard_leases SET expires_at = now() + $2::float8 * interval '1 millisecond'
			WHERE owner = $1`, me, ttl); err != nil {
			return dbErr(err)
		}
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM instances
			WHERE heartbeat_at > now() - $1::float8 * interval '1 millisecond'`, ttl).Scan(&out.Live); err != nil {
			return dbErr(err)
		}
		out.Live = max(out.Live, 1)
		out.Share = (uptime.Shards + out.Live - 1) / out.Live
		var held int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM shard_leases WHERE owner = $1`, me).Scan(&held); err != nil {
			return dbErr(err)
		}
		if want := out.Share - held; want > 0 {
			cond := `owner IS NULL`
			if req.ClaimExpired && !rejoined {
				cond = `(owner IS NULL OR expires_at < now()) AND owner IS DISTINCT FROM $1`
			}
			// Shards nobody holds first: those released by an instance
			// making room, then those whose holder died.
			if _, err := tx.ExecContext(ctx, `UPDATE shard_leases SET owner = $1, epoch = epoch + 1,
				expires_at = now() + $2::float8 * interval '1 millisecond'
				WHERE shard IN (SELECT shard FROM shard_leases WHERE `+cond+`
					ORDER BY owner IS NOT NULL, shard LIMIT $3 FOR UPDATE SKIP LOCKED)`,
				me, ttl, want); err != nil {
				return dbErr(err)
			}
		}
		out.Held, err = db.held(ctx, tx, "")
		return err
	})
	if err != nil {
		return uptime.Leases{}, fmt.Errorf("lease shards: %w", err)
	}
	return out, nil
}

// heartbeat records this instance's heartbeat inside a lease turn. It
// reports whether the instance's previous heartbeat had run out: it was
// cut off and rejoins.
func (db *DB) heartbeat(ctx context.Context, tx *sql.Tx, req uptime.LeaseRequest, ttl float64) (rejoined bool, err error) {
	me := db.opts.Instance
	var session string
	var stale bool
	err = tx.QueryRowContext(ctx, `SELECT session, heartbeat_at < now() - $2::float8 * interval '1 millisecond'
		FROM instances WHERE id = $1 FOR UPDATE`, me, ttl).Scan(&session, &stale)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		// Two processes starting under one id race here: the loser's
		// insert conflicts, and its next turn finds the winner's session.
		_, err = tx.ExecContext(ctx, `INSERT INTO instances (id, session, address, version, started_at, heartbeat_at)
			VALUES ($1, $2, $3, $4, now(), now())`, me, db.session, req.Address, req.Version)
		return false, dbErr(err)
	case err != nil:
		return false, dbErr(err)
	case session != db.session && !stale:
		return false, fmt.Errorf("instance %q: %w: give each instance its own --instance-id", me, ErrInstanceInUse)
	case session != db.session:
		// The id's previous process is gone: its shards change hands
		// to this one, under new epochs.
		if _, err := tx.ExecContext(ctx, `UPDATE instances SET session = $2, address = $3, version = $4,
			started_at = now(), heartbeat_at = now() WHERE id = $1`, me, db.session, req.Address, req.Version); err != nil {
			return false, dbErr(err)
		}
		_, err = tx.ExecContext(ctx, `UPDATE shard_leases SET epoch = epoch + 1 WHERE owner = $1`, me)
		return false, dbErr(err)
	}
	_, err = tx.ExecContext(ctx, `UPDATE instances SET heartbeat_at = now(), address = $2, version = $3 WHERE id = $1`,
		me, req.Address, req.Version)
	return stale, dbErr(err)
}

// held reads the shards this instance holds and their epochs; lock, when
// set, is the row lock taken on them ("FOR KEY SHARE").
func (db *DB) held(ctx context.Context, q querier, lock string) (map[int]int64, error) {
	rows, err := q.QueryContext(ctx, `SELECT shard, epoch FROM shard_leases WHERE owner = $1 `+lock, db.opts.Instance)
	if err != nil {
		return nil, dbErr(err)
	}
	defer rows.Close()
	out := map[int]int64{}
	for rows.Next() {
		var shard int
		var epoch int64
		if err := rows.Scan(&shard, &epoch); err != nil {
			return nil, dbErr(err)
		}
		out[shard] = epoch
	}
	return out, dbErr(rows.Err())
}

// ReleaseLeases gives up the shards listed, of those this instance holds,
// at once: another instance may claim them on its next turn. Release only
// shards whose targets are no longer checked here and whose results are
// flushed, or their last writes will be refused. Errors are the
// database's.
func (db *DB) ReleaseLeases(ctx context.Context, shards []int) error {
	if db.driver != DriverPostgres {
		return errNeedsPostgres
	}
	if len(shards) == 0 {
		return nil
	}
	ids := make([]int64, len(shards))
	for i, s := range shards {
		ids[i] = int64(s)
	}
	if _, err := db.wdb.ExecContext(ctx, `UPDATE shard_leases SET owner = NULL, expires_at = '-infinity'
		WHERE owner = $1 AND shard = ANY($2)`, db.opts.Instance, ids); err != nil {
		return fmt.Errorf("release %d shards: %w", len(shards), dbErr(err))
	}
	return nil
}

// Leave gives up every shard this instance holds and takes it out of the
// cluster: the others count one instance fewer at once and share its
// shards on their next turn, without waiting for its leases to run out.
// Call it once its checks have stopped and its results are flushed.
// Errors are the database's.
func (db *DB) Leave(ctx context.Context) error {
	if db.driver != DriverPostgres {
		return errNeedsPostgres
	}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE shard_leases SET owner = NULL, expires_at = '-infinity' WHERE owner = $1`,
			db.opts.Instance); err != nil {
			return dbErr(err)
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM instances WHERE id = $1 AND session = $2`, db.opts.Instance, db.session)
		return dbErr(err)
	})
	if err != nil {
		return fmt.Errorf("leave the cluster: %w", err)
	}
	return nil
}

// forgetDeadInstances deletes the instances dead for over
// instanceRetention that hold nothing, by the database's clock (the
// retention job's work), and returns how many.
func (db *DB) forgetDeadInstances(ctx context.Context) (int64, error) {
	if db.driver != DriverPostgres {
		return 0, nil
	}
	res, err := db.wdb.ExecContext(ctx, `DELETE FROM instances WHERE heartbeat_at < now() - $1::float8 * interval '1 millisecond'
		AND id NOT IN (SELECT owner FROM shard_leases WHERE owner IS NOT NULL)`, msf(instanceRetention))
	if err != nil {
		return 0, dbErr(err)
	}
	return res.RowsAffected()
}

// Cluster lists the instances sharing the database, alive (a heartbeat
// within ttl) or dead, by id, with the shards and targets each holds.
// Instances dead for over an hour that hold nothing are forgotten by
// Prune. Errors are the database's.
func (db *DB) Cluster(ctx context.Context, ttl time.Duration) ([]uptime.Instance, error) {
	if db.driver != DriverPostgres {
		return nil, errNeedsPostgres
	}
	// Targets per shard are counted here: the shard of a target is a
	// hash SQL does not compute.
	perShard := make([]int, uptime.Shards)
	if err := eachID(ctx, db.rdb, `SELECT id FROM targets`, func(id int64) { perShard[uptime.ShardOf(id)]++ }); err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	owners := map[string][]int{}
	rows, err := db.rdb.QueryContext(ctx, `SELECT shard, owner FROM shard_leases WHERE owner IS NOT NULL`)
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", dbErr(err))
	}
	for rows.Next() {
		var shard int
		var owner string
		if err := rows.Scan(&shard, &owner); err != nil {
			rows.Close()
			return nil, fmt.Errorf("cluster: %w", dbErr(err))
		}
		owners[owner] = append(owners[owner], shard)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("cluster: %w", dbErr(err))
	}
	rows, err = db.rdb.QueryContext(ctx, `SELECT id, address, version, started_at, heartbeat_at,
		heartbeat_at > now() - $1::float8 * interval '1 millisecond' FROM instances ORDER BY id`, msf(ttl))
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", dbErr(err))
	}
	defer rows.Close()
	out := []uptime.Instance{}
	for rows.Next() {
		var in uptime.Instance
		if err := rows.Scan(&in.ID, &in.Address, &in.Version, &in.StartedAt, &in.HeartbeatAt, &in.Alive); err != nil {
			return nil, fmt.Errorf("cluster: %w", dbErr(err))
		}
		in.StartedAt, in.HeartbeatAt = in.StartedAt.UTC(), in.HeartbeatAt.UTC()
		in.Shards = len(owners[in.ID])
		for _, s := range owners[in.ID] {
			in.Targets += perShard[s]
		}
		out = append(out, in)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("cluster: %w", dbErr(err))
	}
	return out, nil
}

// eachID calls fn with each id the query returns.
func eachID(ctx context.Context, q querier, query string, fn func(int64)) error {
	rows, err := q.QueryContext(ctx, query)
	if err != nil {
		return dbErr(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return dbErr(err)
		}
		fn(id)
	}
	return dbErr(rows.Err())
}

// Exclusive runs fn unless another instance sharing the PostgreSQL
// database is running a job of the same name: it holds a session advisory
// lock named after the job while fn runs, and reports false without
// running fn when the lock is taken. On SQLite, served by one instance, it
// always runs fn. The lock goes with its connection, so an instance that
// dies or loses the database lets another take the job over. It returns
// fn's error, or the database's.
func (db *DB) Exclusive(ctx context.Context, name string, fn func(context.Context) error) (ran bool, err error) {
	if db.driver != DriverPostgres {
		return true, fn(ctx)
	}
	h := fnv.New64a()
	h.Write([]byte("lookout job " + name))
	key := int64(h.Sum64())
	conn, err := db.wdb.Conn(ctx)
	if err != nil {
		return false, fmt.Errorf("job %s: %w", name, dbErr(err))
	}
	defer conn.Close()
	var got bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&got); err != nil {
		return false, fmt.Errorf("job %s: lock: %w", name, dbErr(err))
	}
	if !got {
		return false, nil
	}
	defer func() {
		// A failed unlock (the connection is gone) released the lock
		// already; the connection is not reused then.
		if _, uerr := conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, key); uerr != nil {
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	return true, fn(ctx)
}
