package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lookout/lookout/internal/uptime"
)

const (
	// rowsPerStatement is how many rows one prepared INSERT carries: big
	// enough that statement overhead vanishes, small enough to stay far
	// below both databases' parameter limits (700 and 1400 parameters,
	// against SQLite's 32766 and PostgreSQL's 65535).
	rowsPerStatement = 100
	// collisionWindowMS: a result that starts at most this long before the
	// last one written for its target is moved to just after it rather
	// than dropped as a duplicate key. Two checks of one target in the same
	// millisecond (a scheduled check and a "check now") both stay; an
	// out-of-order result from seconds ago keeps its own time.
	collisionWindowMS = 5
	// writeTimeout bounds one attempt, so that a hung connection becomes a
	// retried failure instead of a stuck writer.
	writeTimeout = 30 * time.Second
	minBackoff   = 50 * time.Millisecond
	maxBackoff   = 5 * time.Second
)

// WriterStats describes the result writer, for metrics and readiness.
type WriterStats struct {
	// Written counts results committed; Batches the transactions that
	// committed them.
	Written, Batches uint64
	// Failed counts failed write attempts, each of which was retried.
	Failed uint64
	// Dropped counts results not stored: those of targets deleted before
	// their batch was written, duplicates of a stored (target, start time),
	// and, at shutdown only, results the database would not take in time.
	Dropped uint64
	// Fenced counts the target states and events not stored because they
	// were made under a shard lease this instance no longer held when
	// their batch was written (their results were stored).
	Fenced uint64
	// Pending is how many recorded results are not yet committed.
	Pending int
	// LastFlush is when a batch last committed.
	LastFlush time.Time
	// LastError is the last failed attempt's error, "" once a write succeeds again.
	LastError string
}

// item is one queued Observation, or a Flush waiting for what precedes it.
type item struct {
	obs   uptime.Observation
	flush chan error
}

type writer struct {
	db        *DB
	log       *slog.Logger
	now       func() time.Time
	batchSize int
	interval  time.Duration
	ch        chan *item
	// wake tells a waiting run that a batch is full, a flush was asked
	// for, or the queue closed. Otherwise run sleeps out its interval and
	// takes the queue in bulk: one wake-up per batch, not one per result.
	wake chan struct{}

	// mu guards closed and the closing of ch: Record and Flush send under
	// the read lock, stop closes ch under the write lock, so no send can
	// hit a closed channel.
	mu     sync.RWMutex
	closed bool
	done   chan struct{}
	// ctx is cancelled when Shutdown's deadline passes: a failing writer
	// then stops retrying and drops what it holds.
	ctx     context.Context
	abandon context.CancelFunc
	stopErr error // set by run before done closes

	pending                                   atomic.Int64
	written, batches, failed, dropped, fenced atomic.Uint64
	statMu                                    sync.Mutex
	lastFlush                                 time.Time
	lastErr                                   string

	// Owned by the run goroutine.
	lastTS map[int64]int64
	stmts  map[stmtKey]*sql.Stmt
	args   []any
	lost   int
}

func newWriter(db *DB, o Options) *writer {
	w := &writer{
		db:        db,
		log:       o.Logger,
		now:       o.Now,
		batchSize: o.BatchSize,
		interval:  o.FlushInterval,
		// Pointers, so that a 64k queue costs 512 KiB up front, not the
		// size of 64k Observations.
		ch:     make(chan *item, o.QueueSize),
		wake:   make(chan struct{}, 1),
		done:   make(chan struct{}),
		lastTS: map[int64]int64{},
		stmts:  map[stmtKey]*sql.Stmt{},
	}
	w.ctx, w.abandon = context.WithCancel(context.Background())
	go w.run()
	return w
}

// Record queues an observation for the result writer and returns at once.
// When the queue is full (the database is slow or failing) it blocks until
// there is room: results are never dropped for being too many. The result,
// and the state of its target, are committed within FlushInterval unless
// the database fails, in which case the writer retries with backoff. A
// result for a target deleted meanwhile is dropped silently. Record must
// not be called after Close; such a result is logged and dropped.
func (db *DB) Record(obs uptime.Observation) {
	w := db.w
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		w.dropped.Add(1)
		w.log.Error("store closed, result dropped", "target", obs.Result.Target)
		return
	}
	w.pending.Add(1)
	w.ch <- &item{obs: obs}
	if len(w.ch) >= w.batchSize {
		w.signal()
	}
}

// signal wakes run if it is waiting; it never blocks.
func (w *writer) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Flush waits until every observation recorded before the call is
// committed. It returns ctx's error if ctx ends first (the results stay
// queued and will still be written), or the write error that made the
// writer drop them at shutdown.
func (db *DB) Flush(ctx context.Context) error {
	w := db.w
	it := &item{flush: make(chan error, 1)}
	w.mu.RLock()
	if w.closed {
		w.mu.RUnlock()
		select {
		case <-w.done:
			return w.stopErr
		case <-ctx.Done():
			return fmt.Errorf("flush results: %w", ctx.Err())
		}
	}
	select {
	case w.ch <- it:
		w.mu.RUnlock()
		w.signal()
	case <-ctx.Done():
		w.mu.RUnlock()
		return fmt.Errorf("flush results: %w", ctx.Err())
	}
	select {
	case err := <-it.flush:
		return err
	case <-ctx.Done():
		return fmt.Errorf("flush results: %w", ctx.Err())
	}
}

// WriterStats returns the result writer's counters. It never fails.
func (db *DB) WriterStats() WriterStats {
	w := db.w
	w.statMu.Lock()
	defer w.statMu.Unlock()
	return WriterStats{
		Written:   w.written.Load(),
		Batches:   w.batches.Load(),
		Failed:    w.failed.Load(),
		Dropped:   w.dropped.Load(),
		Fenced:    w.fenced.Load(),
		Pending:   int(w.pending.Load()),
		LastFlush: w.lastFlush,
		LastError: w.lastErr,
	}
}

// stop writes what is queued and ends the writer. If ctx ends first, the
// writer gives up retrying and stop reports how many results were lost.
func (w *writer) stop(ctx context.Context) error {
	go func() {
		select {
		case <-ctx.Done():
			w.abandon()
		case <-w.done:
		}
	}()
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.ch)
	}
	w.mu.Unlock()
	w.signal()
	<-w.done
	w.abandon() // release the context's resources
	return w.stopErr
}

func (w *writer) run() {
	defer close(w.done)
	defer func() {
		for _, s := range w.stmts {
			s.Close()
		}
	}()
	batch := make([]*item, 0, w.batchSize)
	var flushes []chan error
	add := func(it *item) {
		if it.flush != nil {
			flushes = append(flushes, it.flush)
		} else {
			batch = append(batch, it)
		}
	}
	open := true
	// take adds one queued item without waiting. It reports whether it
	// took one; when the queue is closed it turns open false.
	take := func() bool {
		select {
		case it, ok := <-w.ch:
			if !ok {
				open = false
				return false
			}
			add(it)
			return true
		default:
			return false
		}
	}
	// The deadline runs from the first item of a batch, so no result waits
	// longer than interval plus one write.
	timer := time.NewTimer(w.interval)
	timer.Stop()
	for open {
		it, ok := <-w.ch
		if !ok {
			break
		}
		add(it)
		timer.Reset(w.interval)
	collect:
		for len(batch) < w.batchSize && len(flushes) == 0 {
			// Take whatever is queued without waiting, then sleep until
			// the deadline or a signal rather than waking per result.
			if take() {
				continue
			}
			if !open {
				break
			}
			select {
			case <-w.wake:
			case <-timer.C:
				// Take what arrived while asleep, up to a batch.
				for len(batch) < w.batchSize && take() {
				}
				break collect
			}
		}
		timer.Stop()
		err := w.commit(batch)
		for _, f := range flushes {
			f <- err
		}
		clear(batch)
		batch, flushes = batch[:0], flushes[:0]
	}
	if w.lost > 0 {
		w.stopErr = fmt.Errorf("close store: %d results could not be written: %s", w.lost, w.lastError())
	}
}

func (w *writer) lastError() string {
	w.statMu.Lock()
	defer w.statMu.Unlock()
	return w.lastErr
}

// resultRow and stateRow are an observation flattened to column values.
type resultRow struct {
	targetID, ts, durUS int64
	status, code, class int64
	err                 any // nil or a non-empty string: NULL costs no bytes
}

type stateRow struct {
	targetID                       int64
	status, lastResult, class      int64
	since, lastCheck, failingSince int64
	lastError                      string
	failures, successes            int64
	incidentFailures               int64
	notified, flapping             bool
	flappingSince                  int64
	flips, cause                   string
	certExpiry, certWarned         int64
	// epoch is the lease epoch the state was computed under (see
	// uptime.Observation.Epoch); it is not a column.
	epoch int64
}

// commit writes one batch, retrying until it commits or Shutdown gives up.
func (w *writer) commit(batch []*item) error {
	if len(batch) == 0 {
		return nil
	}
	results, states := w.rows(batch)
	comps := batchComponents(batch, results)
	events, epochs := batchEvents(batch)
	backoff := minBackoff
	for {
		n, refused, err := w.write(results, states, comps, events, epochs)
		if err == nil {
			if refused > 0 {
				w.fenced.Add(uint64(refused))
				w.log.Info("target states and events refused: this instance no longer holds their shards",
					"refused", refused, "instance", w.db.opts.Instance)
			}
			w.written.Add(uint64(n))
			w.dropped.Add(uint64(len(batch) - n))
			w.batches.Add(1)
			w.pending.Add(-int64(len(batch)))
			w.statMu.Lock()
			w.lastFlush, w.lastErr = w.now(), ""
			w.statMu.Unlock()
			return nil
		}
		w.failed.Add(1)
		w.statMu.Lock()
		w.lastErr = err.Error()
		w.statMu.Unlock()
		w.log.Error("store write failed", "err", err, "pending", w.pending.Load())
		select {
		case <-time.After(backoff):
		case <-w.ctx.Done():
			w.lost += len(batch)
			w.dropped.Add(uint64(len(batch)))
			w.pending.Add(-int64(len(batch)))
			w.log.Error("store gave up writing results at shutdown", "count", len(batch), "err", err)
			return fmt.Errorf("write results: %w", err)
		}
		backoff = min(backoff*2, maxBackoff)
	}
}

// rows flattens a batch once, before the first attempt, so that retries
// write exactly the same rows. Only each target's latest state is kept: the
// earlier ones would be overwritten in the same transaction anyway.
func (w *writer) rows(batch []*item) ([]resultRow, []stateRow) {
	results := make([]resultRow, len(batch))
	latest := map[int64]int{}
	for i, it := range batch {
		r := &it.obs.Result
		start := r.StartedAt
		if start.IsZero() {
			start = w.now()
		}
		ts := start.UnixMilli()
		last, seen := w.lastTS[r.TargetID]
		if seen && ts <= last && last-ts <= collisionWindowMS {
			ts = last + 1
		}
		if !seen || ts > last {
			w.lastTS[r.TargetID] = ts
		}
		row := resultRow{
			targetID: r.TargetID,
			ts:       ts,
			durUS:    max(0, r.Duration.Microseconds()),
			status:   int64(r.Status),
			code:     int64(min(max(r.Code, 0), 1<<31-1)),
			class:    int64(r.ErrorClass),
		}
		if msg := cleanText(r.Error); msg != "" {
			row.err = msg
		}
		results[i] = row
		if !it.obs.ResultOnly {
			latest[r.TargetID] = i
		}
	}
	states := make([]stateRow, 0, len(latest))
	for id, i := range latest {
		s := &batch[i].obs.State
		states = append(states, stateRow{
			targetID:     id,
			epoch:        batch[i].obs.Epoch,
			status:       int64(s.Status),
			since:        timeMS(s.Since),
			lastCheck:    timeMS(s.LastCheck),
			lastResult:   int64(s.LastResult),
			lastError:    cleanText(s.LastError),
			class:        int64(s.LastErrorClass),
			failures:     int64(s.ConsecutiveFailures),
			successes:    int64(s.ConsecutiveSuccesses),
			failingSince: timeMS(s.FailingSince),

			incidentFailures: int64(s.IncidentFailures),
			notified:         s.Notified,
			flapping:         s.Flapping,
			flappingSince:    timeMS(s.FlappingSince),
			flips:            encodeFlips(s.Flips),
			certExpiry:       timeMS(s.CertExpiry),
			certWarned:       int64(s.CertWarned),
			cause:            cleanText(s.Cause),
		})
	}
	// Rows in key order, so that two instances sharing a PostgreSQL
	// database lock target_state rows in the same order and cannot deadlock.
	slices.SortFunc(states, func(a, b stateRow) int { return cmp.Compare(a.targetID, b.targetID) })
	return results, states
}

// cleanText makes an error text storable everywhere, as clean does, and
// at most uptime.MaxErrorLen bytes long.
func cleanText(s string) string { return clean(s, uptime.MaxErrorLen) }

// clean makes a text storable everywhere and at most n bytes long:
// PostgreSQL refuses NUL bytes and invalid UTF-8, and a batch that can never
// be written must not exist, since the writer retries a failed batch forever.
func clean(s string, n int) string {
	if s == "" {
		return s
	}
	s = strings.ReplaceAll(s, "\x00", "")
	s = strings.ToValidUTF8(s, "\uFFFD")
	return uptime.Truncate(s, n)
}

// write commits one batch's results, states, components and events in one
// transaction and returns how many results were inserted, and how many
// states and events it refused for their lease (see fence).
func (w *writer) write(results []resultRow, states []stateRow, comps componentBatch, events []uptime.Event, epochs []int64) (inserted, refused int, err error) {
	ctx, cancel := context.WithTimeout(w.ctx, writeTimeout)
	defer cancel()
	// Prepare before BEGIN: on SQLite the pool's only connection is the
	// transaction's, and preparing on the pool would wait for it forever.
	if err := w.prepare(ctx, stmtResults, len(results)); err != nil {
		return 0, 0, fmt.Errorf("prepare: %w", err)
	}
	if err := w.prepare(ctx, stmtStates, len(states)); err != nil {
		return 0, 0, fmt.Errorf("prepare: %w", err)
	}
	if err := w.prepareComponents(ctx, comps); err != nil {
		return 0, 0, fmt.Errorf("prepare: %w", err)
	}
	tx, err := w.db.wdb.BeginTx(ctx, nil)
	if err != nil {
		return 0, 0, err
	}
	defer tx.Rollback()
	// Fencing may leave fewer states than prepared for; it happens on
	// PostgreSQL alone, where a statement prepared now takes another
	// pooled connection.
	states, events, refused, err = w.fence(ctx, tx, states, events, epochs)
	if err != nil {
		return 0, 0, fmt.Errorf("check leases: %w", err)
	}
	for part := range slices.Chunk(results, rowsPerStatement) {
		args := w.args[:0]
		for _, r := range part {
			args = append(args, r.targetID, r.ts, r.durUS, r.status, r.code, r.class, r.err)
		}
		n, err := w.exec(ctx, tx, stmtResults, len(part), args)
		if err != nil {
			return 0, 0, fmt.Errorf("insert results: %w", err)
		}
		inserted += int(n)
	}
	for part := range slices.Chunk(states, rowsPerStatement) {
		args := w.args[:0]
		for _, s := range part {
			args = append(args, s.targetID, s.status, s.since, s.lastCheck, s.lastResult,
				s.lastError, s.class, s.failures, s.successes, s.failingSince,
				s.incidentFailures, s.notified, s.flapping, s.flips, s.certExpiry, s.certWarned, s.cause,
				s.flappingSince)
		}
		if _, err := w.exec(ctx, tx, stmtStates, len(part), args); err != nil {
			return 0, 0, fmt.Errorf("upsert target state: %w", err)
		}
	}
	if err := w.writeComponents(ctx, tx, comps); err != nil {
		return 0, 0, err
	}
	// Incidents and their outbox rows go in this same transaction, so that
	// an alert exists if and only if the state change that caused it does.
	if err := w.writeEvents(ctx, tx, events); err != nil {
		return 0, 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, 0, err
	}
	return inserted, refused, nil
}

// fence drops the states and events made under a shard lease this
// instance no longer holds (an epoch other than the shard's now, or a
// shard it lost), and returns what is left and how many it dropped. It
// reads the instance's leases with a key-share lock held to the end of
// tx: an instance claiming one of them skips it until the batch is
// committed, so the state it then loads is the last this one wrote.
// Observations of epoch 0 are never fenced, nor anything outside a
// cluster. The slices given are not written to: a retry starts again
// from them.
func (w *writer) fence(ctx context.Context, tx *sql.Tx, states []stateRow, events []uptime.Event, epochs []int64) ([]stateRow, []uptime.Event, int, error) {
	if w.db.driver != DriverPostgres || w.db.opts.Instance == "" ||
		(!slices.ContainsFunc(states, func(s stateRow) bool { return s.epoch != 0 }) &&
			!slices.ContainsFunc(epochs, func(e int64) bool { return e != 0 })) {
		return states, events, 0, nil
	}
	held, err := w.db.held(ctx, tx, "FOR KEY SHARE")
	if err != nil {
		return nil, nil, 0, err
	}
	holds := func(target, epoch int64) bool { return epoch == 0 || held[uptime.ShardOf(target)] == epoch }
	refused := 0
	keptStates := make([]stateRow, 0, len(states))
	for _, s := range states {
		if holds(s.targetID, s.epoch) {
			keptStates = append(keptStates, s)
		} else {
			refused++
		}
	}
	keptEvents := make([]uptime.Event, 0, len(events))
	for i, ev := range events {
		if holds(ev.TargetID, epochs[i]) {
			keptEvents = append(keptEvents, ev)
		} else {
			refused++
		}
	}
	return keptStates, keptEvents, refused, nil
}

func (w *writer) exec(ctx context.Context, tx *sql.Tx, kind stmtKind, rows int, args []any) (int64, error) {
	defer func() { w.args = args[:0] }()
	stmt, err := w.stmt(ctx, kind, rows)
	if err != nil {
		return 0, err
	}
	res, err := tx.StmtContext(ctx, stmt).ExecContext(ctx, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// prepare prepares the statements that writing rows rows of kind in chunks
// of rowsPerStatement takes: one for the full chunks, one for the rest.
func (w *writer) prepare(ctx context.Context, kind stmtKind, rows int) error {
	for _, n := range []int{min(rows, rowsPerStatement), rows % rowsPerStatement} {
		if n > 0 {
			if _, err := w.stmt(ctx, kind, n); err != nil {
				return err
			}
		}
	}
	return nil
}

// stmt returns the prepared statement for rows rows of kind, preparing it
// on first use. Statements live as long as the writer; database/sql
// re-prepares them on a new connection when one is replaced.
func (w *writer) stmt(ctx context.Context, kind stmtKind, rows int) (*sql.Stmt, error) {
	key := stmtKey{kind, rows}
	if s, ok := w.stmts[key]; ok {
		return s, nil
	}
	s, err := w.db.wdb.PrepareContext(ctx, kind.sql(rows, w.db.driver == DriverSQLite))
	if err != nil {
		return nil, err
	}
	w.stmts[key] = s
	return s, nil
}

type stmtKind int

const (
	stmtResults stmtKind = iota
	stmtStates
	stmtComponents
	stmtComponentResults
)

type stmtKey struct {
	kind stmtKind
	rows int
}

// sql returns the multi-row statement for n rows, with anonymous "?"
// placeholders when anon is set. SQLite takes those ~2x faster than $N
// here: binding a numbered parameter looks its name up in a list, which
// turns 700 parameters into a quadratic cost. Rows go through a VALUES
// list filtered on their target's existence, so that a result or state of
// a target deleted meanwhile is skipped instead of failing the batch on the
// foreign key (and then failing every retry).
func (k stmtKind) sql(n int, anon bool) string {
	switch k {
	case stmtResults:
		return valuesInsert(`INSERT INTO results (target_id, ts, dur_us, status, code, err_class, err)`,
			[]string{"BIGINT", "BIGINT", "BIGINT", "INTEGER", "INTEGER", "INTEGER", "TEXT"}, n, anon,
			// A same-key row already stored (written before a restart, or
			// outside the collision window) is a duplicate: keep the first.
			`ON CONFLICT DO NOTHING`)
	case stmtStates:
		return valuesInsert(`INSERT INTO target_state (target_id, status, since, last_check, last_result,
			last_error, last_error_class, consecutive_failures, consecutive_successes, failing_since,
			incident_failures, notified, flapping, flips, cert_expiry, cert_warned, cause, flapping_since)`,
			[]string{"BIGINT", "INTEGER", "BIGINT", "BIGINT", "INTEGER", "TEXT", "INTEGER", "INTEGER", "INTEGER", "BIGINT",
				"INTEGER", "BOOLEAN", "BOOLEAN", "TEXT", "BIGINT", "INTEGER", "TEXT", "BIGINT"}, n, anon,
			`ON CONFLICT (target_id) DO UPDATE SET status = excluded.status, since = excluded.since,
			last_check = excluded.last_check, last_result = excluded.last_result,
			last_error = excluded.last_error, last_error_class = excluded.last_error_class,
			consecutive_failures = excluded.consecutive_failures,
			consecutive_successes = excluded.consecutive_successes,
			failing_since = excluded.failing_since,
			incident_failures = excluded.incident_failures, notified = excluded.notified,
			flapping = excluded.flapping, flips = excluded.flips,
			cert_expiry = excluded.cert_expiry, cert_warned = excluded.cert_warned, cause = excluded.cause,
			flapping_since = excluded.flapping_since`)
	case stmtComponents:
		return componentsSQL(n, anon)
	case stmtComponentResults:
		return componentResultsSQL(n, anon)
	}
	panic(fmt.Sprintf("store: unknown statement kind %d", k))
}

// pageLimit is a page size: def when n is unset, at most most.
func pageLimit(n, def, most int) int {
	switch {
	case n <= 0:
		return def
	case n > most:
		return most
	}
	return n
}

// writeValues writes rows parenthesised rows of len(types) parameters, "?"
// on SQLite (anon) or "$N" on PostgreSQL. The first row's parameters are
// cast so that PostgreSQL can type the VALUES columns; SQLite takes the
// casts as no-ops.
func writeValues(b *strings.Builder, types []string, rows int, anon bool) {
	p := 1
	for r := range rows {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for c, typ := range types {
			if c > 0 {
				b.WriteString(", ")
			}
			ph := "?"
			if !anon {
				ph = "$" + strconv.Itoa(p)
			}
			if r == 0 {
				fmt.Fprintf(b, "CAST(%s AS %s)", ph, typ)
			} else {
				b.WriteString(ph)
			}
			p++
		}
		b.WriteByte(')')
	}
}

// valuesInsert builds `head SELECT v.column1, … FROM (VALUES (…), …) AS v
// WHERE <target exists> tail`. Both dialects name VALUES columns column1…N.
func valuesInsert(head string, types []string, rows int, anon bool, tail string) string {
	var b strings.Builder
	b.WriteString(head)
	b.WriteString(" SELECT ")
	for i := range types {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "v.column%d", i+1)
	}
	b.WriteString(" FROM (VALUES ")
	writeValues(&b, types, rows, anon)
	// SQLite needs the WHERE anyway: without one, "SELECT … ON CONFLICT"
	// is ambiguous to its parser.
	b.WriteString(") AS v WHERE EXISTS (SELECT 1 FROM targets t WHERE t.id = v.column1) ")
	b.WriteString(tail)
	return b.String()
}
