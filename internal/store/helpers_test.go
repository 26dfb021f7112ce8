package store

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lookout/lookout/internal/testkit"
	"github.com/lookout/lookout/internal/uptime"
)

// backend opens fresh databases of one kind for a test.
type backend struct {
	name string
	// dsn returns the DSN of an empty database that lives as long as t.
	dsn func(t testing.TB) string
	// migrated returns the DSN of a database that lives as long as t, at
	// the latest schema version.
	migrated func(t testing.TB) string
}

var backends = []backend{
	{"sqlite", func(t testing.TB) string { return filepath.Join(t.TempDir(), "lookout.db") }, migratedSQLite},
	{"postgres", testkit.PostgresDSN, func(t testing.TB) string {
		return testkit.MigratedPostgresDSN(t, migrateTo)
	}},
}

// migrateTo brings the database at dsn (a SQLite path or a PostgreSQL
// DSN) to the latest schema version and closes it.
func migrateTo(dsn string) error {
	db, err := Open(context.Background(), dsn, Options{})
	if err != nil {
		return err
	}
	if err := db.Migrate(context.Background()); err != nil {
		db.Close()
		return err
	}
	return db.Close()
}

func migratedSQLite(t testing.TB) string { return testkit.MigratedSQLite(t, migrateTo) }

// TestMain drops the PostgreSQL schemas the tests migrated and shared.
func TestMain(m *testing.M) {
	code := m.Run()
	testkit.DropPostgresSchemas()
	os.Exit(code)
}

// forEachBackend runs fn once per database kind, as subtests.
func forEachBackend(t *testing.T, fn func(t *testing.T, b backend)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { fn(t, b) })
	}
}

// testT0 is where every test's clock starts.
var testT0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// env is one open, migrated store and what a test needs around it.
type env struct {
	*DB
	dsn   string
	opts  Options
	clock *testkit.Clock
	logs  *testkit.LogBuffer
}

func openEnv(t testing.TB, b backend, tweak ...func(*Options)) *env {
	t.Helper()
	e := &env{dsn: b.migrated(t), clock: testkit.NewClock(testT0), logs: &testkit.LogBuffer{}}
	e.opts = Options{
		Logger: slog.New(slog.NewTextHandler(e.logs, nil)),
		Now:    e.clock.Now,
	}
	for _, f := range tweak {
		f(&e.opts)
	}
	e.DB = e.open(t)
	return e
}

// open opens the env's database again, closing it when the test ends.
func (e *env) open(t testing.TB) *DB {
	t.Helper()
	db, err := Open(context.Background(), e.dsn, e.opts)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func newTarget(name string, labels map[string]string) *uptime.Target {
	t := &uptime.Target{Name: name, URL: "https://" + name + ".example.com/health", Labels: labels}
	t.Normalize()
	return t
}

// mustCreate creates a target alerting to channels (none: the defaults).
func (e *env) mustCreate(t testing.TB, name string, labels map[string]string, channels ...string) *uptime.Target {
	t.Helper()
	tg := newTarget(name, labels)
	tg.Channels = append(tg.Channels, channels...)
	if err := e.CreateTarget(context.Background(), tg); err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	return tg
}

func (e *env) mustFlush(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.Flush(ctx); err != nil {
		t.Fatalf("flush: %v", err)
	}
}

// obs builds an observation of target id at ms after base, with the state
// the state machine would compute from it alone.
func obs(id int64, at time.Time, st uptime.Status, errText string) uptime.Observation {
	r := uptime.Result{TargetID: id, StartedAt: at, Duration: 1234 * time.Microsecond, Status: st, Code: 200}
	if !st.OK() {
		r.Code, r.ErrorClass, r.Error = 503, uptime.ClassStatus, errText
	}
	s, events := uptime.State{}.Next(r, uptime.Policy{FailureThreshold: 1, SuccessThreshold: 1}, at)
	return uptime.Observation{Result: r, State: s, Events: events}
}

// count returns how many rows table (a constant) holds.
func (e *env) count(t testing.TB, table string) int {
	t.Helper()
	var n int
	fatalIf(t, e.rdb.QueryRow(`SELECT COUNT(*) FROM `+table).Scan(&n), "count %s", table)
	return n
}

func fatalIf(t testing.TB, err error, format string, args ...any) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", fmt.Sprintf(format, args...), err)
	}
}
