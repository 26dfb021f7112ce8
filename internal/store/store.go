// Package store keeps Lookout's targets, their state and every check result
// in SQLite (the embedded default) or PostgreSQL, behind one *DB.
//
// Both dialects share one SQL text wherever they can: $N placeholders,
// INSERT … ON CONFLICT, and times stored as Unix milliseconds. Results are
// written by one batching goroutine (see Record), target mutations go
// straight through their own transaction.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/lookout/lookout/internal/uptime"
	"github.com/lookout/lookout/migrations"
)

// Driver names as returned by DB.Driver.
const (
	DriverSQLite   = "sqlite"
	DriverPostgres = "postgres"
)

// Defaults for Options.
const (
	DefaultBatchSize     = 1000
	DefaultFlushInterval = 250 * time.Millisecond
	// MaxFlushInterval caps FlushInterval: results older than this must be
	// on disk, whatever the configuration says.
	MaxFlushInterval = 250 * time.Millisecond
	// DefaultQueueSize is how many observations Record buffers before it
	// blocks its caller.
	DefaultQueueSize = 1 << 16
)

// Options tune a DB. The zero value is usable.
type Options struct {
	// Logger receives the writer's failures; nil discards them.
	Logger *slog.Logger
	// BatchSize is the most results written in one transaction (default 1000).
	BatchSize int
	// FlushInterval is the longest a recorded result waits before its batch
	// is written (default and maximum 250ms).
	FlushInterval time.Duration
	// QueueSize is the capacity of Record's queue (default 65536); a full
	// queue blocks Record rather than dropping results.
	QueueSize int
	// Now is the clock for created_at, updated_at and the heartbeat; nil is time.Now.
	Now func() time.Time
	// MaintenanceWindows lists the spans of a maintenance window that cover
	// a target with these labels within [from, to), as the alert
	// dispatcher sees them (notify.MaintenanceWindows): history leaves them
	// out of uptime, and ending a recurring window early needs to know when
	// its occurrence in force would have ended. nil knows one-off windows
	// only, and leaves nothing out of uptime.
	MaintenanceWindows func(m uptime.Maintenance, labels map[string]string, from, to time.Time) []uptime.Interval
	// MaxGap is how long a check of t vouches for its status before the
	// time is unknown; nil is DefaultMaxGap.
	MaxGap func(t *uptime.Target) time.Duration
	// Instance is this process's id among the instances sharing a
	// PostgreSQL database: the holder its shard leases are taken under
	// (Lease), and the one an observation's epoch is checked against
	// (Observation.Epoch). "" outside a cluster.
	Instance string
}

func (o *Options) defaults() {
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.BatchSize <= 0 {
		o.BatchSize = DefaultBatchSize
	}
	if o.FlushInterval <= 0 || o.FlushInterval > MaxFlushInterval {
		o.FlushInterval = DefaultFlushInterval
	}
	if o.QueueSize <= 0 {
		o.QueueSize = DefaultQueueSize
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// DB is Lookout's store. It is safe for concurrent use.
type DB struct {
	driver string
	// wdb takes every write: on SQLite it holds a single connection, so that
	// writers queue in Go instead of fighting over SQLite's one write lock
	// with busy retries. rdb serves reads; on SQLite it is a separate pool of
	// query_only connections that WAL lets read while a batch is written.
	// On PostgreSQL both are the same pool.
	wdb, rdb *sql.DB
	path     string // the SQLite file; "" for PostgreSQL
	log      *slog.Logger
	now      func() time.Time
	opts     Options
	w        *writer
	// chans is the channel list the writer routes events with.
	chans channelCache
	// wstmts and rstmts are the statements kept prepared on wdb and rdb.
	wstmts, rstmts stmtCache
	// days keeps fleet-wide sums of whole days rolled up (EachDailyTally).
	days dayCache
	// session tells this process apart from another using the same
	// instance id.
	session string

	closeOnce sync.Once
	closeErr  error
}

// Open connects to the database named by dsn and starts the result writer.
// A dsn starting with postgres:// or postgresql:// selects PostgreSQL; any
// other dsn is the path of a SQLite file (an optional "file:" prefix is
// dropped), created if missing. Open does not migrate: call Migrate.
//
// Open returns an error when the database cannot be opened or does not
// answer a ping; no DB is returned then.
func Open(ctx context.Context, dsn string, opts Options) (*DB, error) {
	opts.defaults()
	db := &DB{log: opts.Logger, now: opts.Now, opts: opts, session: newSession()}
	var err error
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		err = db.openPostgres(ctx, dsn)
	} else {
		err = db.openSQLite(ctx, dsn)
	}
	if err != nil {
		return nil, err
	}
	db.w = newWriter(db, opts)
	return db, nil
}

func (db *DB) openPostgres(ctx context.Context, dsn string) error {
	db.driver = DriverPostgres
	p, err := sql.Open("pgx", dsn)
	if err != nil {
		return fmt.Errorf("open postgres: %w", err)
	}
	p.SetMaxOpenConns(16)
	p.SetMaxIdleConns(16)
	p.SetConnMaxIdleTime(5 * time.Minute)
	if err := p.PingContext(ctx); err != nil {
		p.Close()
		return fmt.Errorf("open postgres: %w", err)
	}
	db.wdb, db.rdb = p, p
	return nil
}

// sqlitePragmas go into every connection's DSN so that each pooled
// connection has them, not only the first one.
const sqlitePragmas = "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)" +
	"&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"

// readerCache is each reading connection's page cache: 16 MiB rather than
// SQLite's 2 MiB, so that what a dashboard page reads (its targets, their
// states, a page of rollups) stays cached between pages rather than read
// from the file again. It is a bound, not an allocation: a connection uses
// it only as it reads.
const readerCache = "&_pragma=cache_size(-16384)"

func (db *DB) openSQLite(ctx context.Context, dsn string) error {
	db.driver = DriverSQLite
	path := strings.TrimPrefix(dsn, "file:")
	if path == "" {
		return errors.New("open sqlite: empty database path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("open sqlite %q: %w", path, err)
	}
	db.path = abs
	// In a SQLite URI, '?' and '#' end the path and '%' escapes; nothing
	// else needs quoting.
	uri := "file:" + strings.NewReplacer("%", "%25", "?", "%3F", "#", "%23").Replace(abs) + "?"

	// _txlock=immediate takes the write lock at BEGIN, so a transaction that
	// reads before it writes cannot fail with SQLITE_BUSY half-way when
	// another process (lookout migrate) holds the lock.
	w, err := sql.Open("sqlite", uri+sqlitePragmas+"&_txlock=immediate")
	if err != nil {
		return fmt.Errorf("open sqlite %q: %w", abs, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	// Connect the writer first: it switches a new file to WAL, which the
	// query_only readers could not do.
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return fmt.Errorf("open sqlite %q: %w", abs, err)
	}
	r, err := sql.Open("sqlite", uri+sqlitePragmas+"&_pragma=query_only(1)"+readerCache)
	if err != nil {
		w.Close()
		return fmt.Errorf("open sqlite %q: %w", abs, err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	r.SetConnMaxIdleTime(5 * time.Minute)
	if err := r.PingContext(ctx); err != nil {
		w.Close()
		r.Close()
		return fmt.Errorf("open sqlite %q: %w", abs, err)
	}
	db.wdb, db.rdb = w, r
	return nil
}

// Driver returns "sqlite" or "postgres".
func (db *DB) Driver() string { return db.driver }

// Close flushes every result recorded so far, stops the writer and closes
// the connections. It is Shutdown with a 30-second limit: if the database
// stays unwritable that long, the results still queued are dropped and
// Close says how many.
func (db *DB) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return db.Shutdown(ctx)
}

// Shutdown is Close with a caller's deadline: the writer keeps retrying a
// failing write until ctx is done, then drops what is left and returns an
// error counting the lost results. Record must not be called during or after
// Shutdown; such results are logged and dropped. Calling it twice is harmless.
func (db *DB) Shutdown(ctx context.Context) error {
	db.closeOnce.Do(func() { db.closeErr = db.shutdown(ctx) })
	return db.closeErr
}

func (db *DB) shutdown(ctx context.Context) error {
	werr := db.w.stop(ctx)
	var errs []error
	if werr != nil {
		errs = append(errs, werr)
	}
	db.wstmts.close()
	db.rstmts.close()
	if err := db.wdb.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close store: %w", err))
	}
	if db.rdb != db.wdb {
		if err := db.rdb.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close store: %w", err))
		}
	}
	return errors.Join(errs...)
}

func (db *DB) provider() (*goose.Provider, error) {
	dialect, dir := goose.DialectSQLite3, "sqlite"
	if db.driver == DriverPostgres {
		dialect, dir = goose.DialectPostgres, "postgres"
	}
	fsys, err := fs.Sub(migrations.FS, dir)
	if err != nil {
		return nil, err
	}
	// The global registry holds Go migrations registered by init functions;
	// ours are SQL files only, and a stray registration must not leak in.
	opts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true)}
	if db.driver == DriverPostgres {
		// Instances sharing a database may start together: an advisory
		// lock lets one migrate while the others wait, then find nothing
		// to do. (SQLite's single writer serialises them already.)
		// Retried every second for up to 5 minutes: a migration in
		// progress elsewhere is waited for, not failed.
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
		if err != nil {
			return nil, err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	return goose.NewProvider(dialect, db.wdb, fsys, opts...)
}

// Migrate applies every pending migration, each in its own transaction. It
// returns the first migration's error; migrations applied before it stay.
func (db *DB) Migrate(ctx context.Context) error {
	if db.path != "" {
		// Processes sharing a SQLite file may start together too.
		unlock, err := lockFile(db.path + "-migrate.lock")
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		defer unlock()
	}
	p, err := db.provider()
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// MigrationStatus returns the schema version of the database (0 when never
// migrated) and the latest version this binary embeds. The readiness check
// wants them equal.
func (db *DB) MigrationStatus(ctx context.Context) (current, latest int64, err error) {
	p, err := db.provider()
	if err != nil {
		return 0, 0, fmt.Errorf("migration status: %w", err)
	}
	current, latest, err = p.GetVersions(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("migration status: %w", err)
	}
	return current, latest, nil
}

// Ping proves the store takes writes: it upserts the heartbeat row through
// the writer's pool and reads it back in one transaction. It returns the
// database's error, or one saying the row read back was not the one written.
func (db *DB) Ping(ctx context.Context) error {
	at := db.now().UnixMilli()
	tx, err := db.wdb.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("ping store: %w", dbErr(err))
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO heartbeat (id, at) VALUES (1, $1)
		ON CONFLICT (id) DO UPDATE SET at = excluded.at`, at); err != nil {
		return fmt.Errorf("ping store: %w", dbErr(err))
	}
	var got int64
	if err := tx.QueryRowContext(ctx, `SELECT at FROM heartbeat WHERE id = 1`).Scan(&got); err != nil {
		return fmt.Errorf("ping store: %w", dbErr(err))
	}
	if got != at {
		return fmt.Errorf("ping store: heartbeat read back %d, wrote %d", got, at)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("ping store: %w", dbErr(err))
	}
	return nil
}

// DiskFree returns the free and total bytes of the filesystem holding the
// SQLite file. On PostgreSQL the database's disk is not visible from here,
// and it returns an error saying so; callers skip the check.
func (db *DB) DiskFree() (free, total uint64, err error) {
	if db.driver != DriverSQLite {
		return 0, 0, errors.New("disk free: unknown for postgres (the database's disk is not local)")
	}
	return diskFree(filepath.Dir(db.path))
}
