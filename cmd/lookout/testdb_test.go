package main

import (
	"context"
	"testing"

	"github.com/lookout/lookout/internal/store"
	"github.com/lookout/lookout/internal/testkit"
)

// migrateTo brings the database at dsn (a SQLite path or a PostgreSQL
// DSN) to the latest schema version and closes it.
func migrateTo(dsn string) error {
	db, err := store.Open(context.Background(), dsn, store.Options{})
	if err != nil {
		return err
	}
	if err := db.Migrate(context.Background()); err != nil {
		db.Close()
		return err
	}
	return db.Close()
}

// openMigrated opens a store at the latest schema in a file of t's, closed
// when the test ends.
func openMigrated(t *testing.T, opts store.Options) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), testkit.MigratedSQLite(t, migrateTo), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
