package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/lookout/lookout/internal/store"
)

// migratedTemplate is a SQLite database migrated once for the whole test
// run, as bytes: a test copies it rather than migrating its own database,
// which takes a quarter of a second under the race detector.
var migratedTemplate = sync.OnceValues(func() ([]byte, error) {
	dir, err := os.MkdirTemp("", "lookout-test-db-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "template.db")
	db, err := store.Open(context.Background(), path, store.Options{})
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(context.Background()); err != nil {
		db.Close()
		return nil, err
	}
	if err := db.Close(); err != nil {
		return nil, err
	}
	// The last connection to close checkpoints the WAL into the file and
	// removes it: the file alone is the database.
	if _, err := os.Stat(path + "-wal"); !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("the template's WAL is left after closing (%v)", err)
	}
	return os.ReadFile(path)
})

// openMigrated opens a store at the latest schema in a file of t's, closed
// when the test ends.
func openMigrated(t *testing.T, opts store.Options) *store.DB {
	t.Helper()
	b, err := migratedTemplate()
	if err != nil {
		t.Fatalf("migrated template: %v", err)
	}
	path := filepath.Join(t.TempDir(), "lookout.db")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(context.Background(), path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
