package store

import (
	"context"
	"database/sql"
	"sync"
)

// stmtCache keeps the statements run over and over prepared, so that
// SQLite parses each once per connection rather than at every run (a
// multi-row insert takes longer to parse than to run). database/sql
// prepares a statement again on each connection of the pool that runs it.
type stmtCache struct {
	mu sync.Mutex
	m  map[any]*sql.Stmt
}

// get returns the statement of key, prepared on pool from the text q
// gives the first time. A statement for the writer pool must be got
// before a transaction begins: on SQLite the transaction holds the pool's
// only connection.
func (c *stmtCache) get(ctx context.Context, pool *sql.DB, key any, q func() string) (*sql.Stmt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st := c.m[key]; st != nil {
		return st, nil
	}
	st, err := pool.PrepareContext(ctx, q())
	if err != nil {
		return nil, err
	}
	if c.m == nil {
		c.m = map[any]*sql.Stmt{}
	}
	c.m[key] = st
	return st, nil
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.m {
		st.Close()
	}
	c.m = nil
}

// query runs q on the read pool: prepared once and kept when keep is
// set, for a text the program has only a few of; a text with values
// written in (a page's ids) is run unprepared.
func (db *DB) query(ctx context.Context, keep bool, q string, args ...any) (*sql.Rows, error) {
	if !keep {
		return db.rdb.QueryContext(ctx, q, args...)
	}
	st, err := db.rstmts.get(ctx, db.rdb, q, func() string { return q })
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}
