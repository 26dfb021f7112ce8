package testkit

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"
)

// DefaultPostgres is the test PostgreSQL when LOOKOUT_TEST_POSTGRES is not set.
const DefaultPostgres = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// PostgresDSN returns the DSN of a fresh schema on the test PostgreSQL
// (LOOKOUT_TEST_POSTGRES, or the local one), dropped when the test ends,
// and skips the test with a message when none is reachable. The caller's
// test binary registers the "pgx" driver (the store package does).
func PostgresDSN(t testing.TB) string {
	t.Helper()
	admin, base := postgresAdmin(t)
	schema := newSchema(t, admin)
	t.Cleanup(func() {
		if err := dropSchema(admin, schema); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return withSchema(base, schema)
}

// postgresBase is the DSN of the test PostgreSQL.
func postgresBase() string {
	if base := os.Getenv("LOOKOUT_TEST_POSTGRES"); base != "" {
		return base
	}
	return DefaultPostgres
}

// newSchema creates a schema of a random name.
func newSchema(t testing.TB, admin *sql.DB) string {
	t.Helper()
	var rnd [6]byte
	rand.Read(rnd[:])
	schema := "lookout_test_" + hex.EncodeToString(rnd[:])
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	return schema
}

func dropSchema(admin *sql.DB, schema string) error {
	_, err := admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
	return err
}

// withSchema is base with schema as its search path.
func withSchema(base, schema string) string {
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "search_path=" + schema
}
