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
	base := os.Getenv("LOOKOUT_TEST_POSTGRES")
	if base == "" {
		base = DefaultPostgres
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Skipf("PostgreSQL not reachable at %s (%v); set LOOKOUT_TEST_POSTGRES", base, err)
	}
	t.Cleanup(func() { admin.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		t.Skipf("PostgreSQL not reachable at %s (%v); set LOOKOUT_TEST_POSTGRES", base, err)
	}
	var rnd [6]byte
	rand.Read(rnd[:])
	schema := "lookout_test_" + hex.EncodeToString(rnd[:])
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "search_path=" + schema
}
