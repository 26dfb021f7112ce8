package testkit

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// pgPool holds the schemas MigratedPostgresDSN has migrated: a test takes
// a free one, and gives it back reset when it ends. Migrating a schema
// takes PostgreSQL some 400 ms of catalog writes and commits; resetting
// one takes a few.
var pgPool struct {
	mu    sync.Mutex
	admin *sql.DB
	base  string
	free  []pooledSchema
	all   []string
}

// pooledSchema is a migrated schema and the statements that bring it back
// to its state right after migrating.
type pooledSchema struct {
	name, reset string
}

// MigratedPostgresDSN returns the DSN of a schema on the test PostgreSQL
// at the latest schema version, empty of rows, for t alone; it skips t with
// a message when no PostgreSQL is reachable. migrate brings a fresh schema's
// DSN to the latest version; it runs only when no schema is free. When t
// ends, its schema is emptied (every table but goose's, sequences restarted)
// and handed to a later test, or dropped when that fails. Call
// DropPostgresSchemas from TestMain once the tests have run.
func MigratedPostgresDSN(t testing.TB, migrate func(dsn string) error) string {
	t.Helper()
	admin, base := postgresAdmin(t)
	pgPool.mu.Lock()
	var ps pooledSchema
	if n := len(pgPool.free); n > 0 {
		ps, pgPool.free = pgPool.free[n-1], pgPool.free[:n-1]
	}
	pgPool.mu.Unlock()
	if ps.name == "" {
		ps.name = newSchema(t, admin)
		pgPool.mu.Lock()
		pgPool.all = append(pgPool.all, ps.name)
		pgPool.mu.Unlock()
		if err := migrate(withSchema(base, ps.name)); err != nil {
			t.Fatalf("migrate schema %s: %v", ps.name, err)
		}
		var err error
		if ps.reset, err = resetScript(admin, ps.name); err != nil {
			t.Fatalf("schema %s: %v", ps.name, err)
		}
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, ps.reset); err != nil {
			t.Logf("schema %s not reused, dropped: %v", ps.name, err)
			dropSchema(admin, ps.name)
			return
		}
		pgPool.mu.Lock()
		pgPool.free = append(pgPool.free, ps)
		pgPool.mu.Unlock()
	})
	return withSchema(base, ps.name)
}

// DropPostgresSchemas drops every schema MigratedPostgresDSN made.
func DropPostgresSchemas() {
	pgPool.mu.Lock()
	defer pgPool.mu.Unlock()
	for _, s := range pgPool.all {
		dropSchema(pgPool.admin, s)
	}
	pgPool.all, pgPool.free = nil, nil
}

// postgresAdmin returns the shared connection pool to the test PostgreSQL
// and its DSN, skipping t when it is unreachable.
func postgresAdmin(t testing.TB) (*sql.DB, string) {
	t.Helper()
	pgPool.mu.Lock()
	defer pgPool.mu.Unlock()
	if pgPool.admin != nil {
		return pgPool.admin, pgPool.base
	}
	base := postgresBase()
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Skipf("PostgreSQL not reachable at %s (%v); set LOOKOUT_TEST_POSTGRES", base, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		admin.Close()
		t.Skipf("PostgreSQL not reachable at %s (%v); set LOOKOUT_TEST_POSTGRES", base, err)
	}
	pgPool.admin, pgPool.base = admin, base
	return admin, base
}

// resetScript returns one transaction that brings schema back to how it
// is now, right after migrating: it deletes every row of its tables but
// goose's, children before the tables they reference, inserts again the
// rows the migrations wrote, and sets each sequence where it stands, so
// that ids begin where they did.
func resetScript(admin *sql.DB, schema string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tables, err := tablesChildrenFirst(ctx, admin, schema)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("BEGIN;\n")
	for _, tab := range tables {
		fmt.Fprintf(&b, "DELETE FROM %s.%s;\n", schema, tab)
	}
	for _, tab := range slices.Backward(tables) {
		var rows sql.NullString
		if err := admin.QueryRowContext(ctx, fmt.Sprintf("SELECT json_agg(t) FROM %s.%s t", schema, tab)).Scan(&rows); err != nil {
			return "", err
		}
		if rows.Valid {
			fmt.Fprintf(&b, "INSERT INTO %[1]s.%[2]s OVERRIDING SYSTEM VALUE SELECT * FROM json_populate_recordset(NULL::%[1]s.%[2]s, %[3]s);\n",
				schema, tab, quote(rows.String))
		}
	}
	seqs, err := admin.QueryContext(ctx, `SELECT sequencename, COALESCE(last_value, start_value), last_value IS NOT NULL
		FROM pg_sequences WHERE schemaname = $1`, schema)
	if err != nil {
		return "", err
	}
	defer seqs.Close()
	for seqs.Next() {
		var name string
		var value int64
		var called bool
		if err := seqs.Scan(&name, &value, &called); err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "SELECT setval('%s.%s', %d, %t);\n", schema, name, value, called)
	}
	if err := seqs.Err(); err != nil {
		return "", err
	}
	b.WriteString("COMMIT;")
	return b.String(), nil
}

// quote is s as an SQL string literal.
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// tablesChildrenFirst lists schema's tables but goose's so that a table
// comes before every table it references.
func tablesChildrenFirst(ctx context.Context, admin *sql.DB, schema string) ([]string, error) {
	rows, err := admin.QueryContext(ctx, `SELECT tablename FROM pg_tables WHERE schemaname = $1 AND tablename <> 'goose_db_version' ORDER BY tablename`, schema)
	if err != nil {
		return nil, err
	}
	var tables []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return nil, err
		}
		tables = append(tables, n)
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	rows, err = admin.QueryContext(ctx, `SELECT c.relname, p.relname FROM pg_constraint k
		JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class p ON p.oid = k.confrelid
		WHERE k.contype = 'f' AND k.connamespace = $1::regnamespace AND k.conrelid <> k.confrelid`, schema)
	if err != nil {
		return nil, err
	}
	children := map[string][]string{} // parent → the tables referencing it
	for rows.Next() {
		var child, parent string
		if err := rows.Scan(&child, &parent); err != nil {
			rows.Close()
			return nil, err
		}
		children[parent] = append(children[parent], child)
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	var order []string
	done := map[string]bool{}
	var visit func(string)
	visit = func(tab string) {
		if done[tab] {
			return
		}
		done[tab] = true
		for _, c := range children[tab] {
			visit(c)
		}
		order = append(order, tab)
	}
	for _, tab := range tables {
		visit(tab)
	}
	return order, nil
}
