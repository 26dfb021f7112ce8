package testkit

import (
	"context"
	"database/sql"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"
)

// TestPooledSchemaComesBackAsMigrated: a schema handed to a second test
// holds what the migration wrote and nothing the first test did, and its
// ids begin where they did; migrate runs once for both.
func TestPooledSchemaComesBackAsMigrated(t *testing.T) {
	t.Cleanup(DropPostgresSchemas)
	migrations := 0
	migrate := func(dsn string) error {
		migrations++
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			return err
		}
		defer db.Close()
		_, err = db.Exec(`CREATE TABLE parent (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL);
			CREATE TABLE child (id bigserial PRIMARY KEY, parent_id bigint NOT NULL REFERENCES parent (id));
			INSERT INTO parent (name) VALUES ('seeded')`)
		return err
	}
	var first string
	use := func(t *testing.T) {
		dsn := MigratedPostgresDSN(t, migrate)
		if first == "" {
			first = dsn
		} else if dsn != first {
			t.Fatalf("second test got %s, want the first's schema %s back", dsn, first)
		}
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		ctx := context.Background()
		var names []string
		rows, err := db.QueryContext(ctx, `SELECT name FROM parent ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				t.Fatal(err)
			}
			names = append(names, n)
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
		if len(names) != 1 || names[0] != "seeded" {
			t.Fatalf("parent holds %v, want only the migration's row", names)
		}
		var parent, child int64
		if err := db.QueryRowContext(ctx, `INSERT INTO parent (name) VALUES ('mine') RETURNING id`).Scan(&parent); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRowContext(ctx, `INSERT INTO child (parent_id) VALUES ($1) RETURNING id`, parent).Scan(&child); err != nil {
			t.Fatal(err)
		}
		if parent != 2 || child != 1 {
			t.Errorf("new ids %d and %d, want 2 and 1", parent, child)
		}
	}
	t.Run("first", use)
	t.Run("second", use)
	if migrations != 1 {
		t.Errorf("migrated %d times, want once", migrations)
	}
}
