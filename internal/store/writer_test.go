package store

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/lookout/lookout/internal/testkit"
	"github.com/lookout/lookout/internal/uptime"
)

// breakResults makes every result insert fail, as a lost table would, and
// returns the repair. Renaming the table is deterministic on both backends,
// unlike pulling a disk or a network cable.
func breakResults(t *testing.T, e *env) (repair func()) {
	t.Helper()
	_, err := e.wdb.Exec(`ALTER TABLE results RENAME TO results_away`)
	fatalIf(t, err, "break results")
	return func() {
		t.Helper()
		_, err := e.wdb.Exec(`ALTER TABLE results_away RENAME TO results`)
		fatalIf(t, err, "repair results")
	}
}

// TestWriterSurvivesFailure: while the database refuses writes, Record
// blocks once the queue is full, nothing is lost, and every row arrives
// once the database is back.
func TestWriterSurvivesFailure(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		const queue, batch, total = 16, 8, 200
		e := openEnv(t, b, func(o *Options) { o.QueueSize, o.BatchSize = queue, batch })
		tg := e.mustCreate(t, "api", nil)
		repair := breakResults(t, e)

		base := e.clock.Now()
		done := make(chan struct{})
		go func() {
			defer close(done)
			for i := range total {
				e.Record(obs(tg.ID, base.Add(time.Duration(i)*time.Second), uptime.StatusUp, ""))
			}
		}()
		testkit.WaitFor(t, func() bool { return e.WriterStats().Failed >= 2 }, testkit.Waiting("a failed write"))
		// The writer holds one batch and the queue holds the rest: with the
		// database down, the producer cannot have got all of them in.
		select {
		case <-done:
			t.Fatal("Record did not block on a full queue while writes fail")
		default:
		}
		st := e.WriterStats()
		if st.LastError == "" || st.Pending > queue+batch+1 || st.Written != 0 {
			t.Errorf("while failing: stats %+v", st)
		}
		if logs := e.logs.String(); !strings.Contains(logs, `msg="store write failed"`) || !strings.Contains(logs, "pending=") {
			t.Errorf("failure not logged as wanted:\n%s", logs)
		}

		repair()
		<-done
		e.mustFlush(t)
		if n := e.count(t, "results"); n != total {
			t.Errorf("%d results stored after recovery, want %d", n, total)
		}
		st = e.WriterStats()
		if st.Written != total || st.Pending != 0 || st.LastError != "" || st.Dropped != 0 {
			t.Errorf("after recovery: stats %+v", st)
		}
		snap, err := e.GetTarget(bg, "api")
		fatalIf(t, err, "get")
		if want := base.Add((total - 1) * time.Second); !snap.State.LastCheck.Equal(want) {
			t.Errorf("state's last check %v, want %v", snap.State.LastCheck, want)
		}
	})
}

// TestShutdownGivesUp: a database that stays broken cannot hold Close
// hostage; Shutdown returns at its deadline and says what was lost.
func TestShutdownGivesUp(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := openEnv(t, b)
		tg := e.mustCreate(t, "api", nil)
		breakResults(t, e) // never repaired: the store is closed broken
		for i := range 3 {
			e.Record(obs(tg.ID, e.clock.Now().Add(time.Duration(i)*time.Second), uptime.StatusUp, ""))
		}
		testkit.WaitFor(t, func() bool { return e.WriterStats().Failed >= 1 }, testkit.Waiting("a failed write"))
		ctx, cancel := context.WithTimeout(bg, 200*time.Millisecond)
		defer cancel()
		err := e.Shutdown(ctx)
		if err == nil || !strings.Contains(err.Error(), "3 results could not be written") {
			t.Fatalf("Shutdown returned %v, want it to count 3 lost results", err)
		}
		// Flush after Shutdown reports the loss Shutdown did.
		if ferr := e.Flush(bg); ferr == nil || ferr.Error() != err.Error() {
			t.Errorf("Flush after Shutdown returned %v, want %v", ferr, err)
		}
		// Record after Close neither panics nor blocks; its result is
		// counted as dropped and logged.
		e.Record(obs(tg.ID, e.clock.Now(), uptime.StatusUp, ""))
		if st := e.WriterStats(); st.Dropped != 4 || st.Pending != 0 || st.Written != 0 {
			t.Errorf("after Shutdown: stats %+v, want 4 dropped (3 lost, 1 recorded after close), none pending", st)
		}
		if logs := e.logs.String(); !strings.Contains(logs, `msg="store closed, result dropped"`) {
			t.Errorf("a result recorded after close was not logged:\n%s", logs)
		}
	})
}

// TestFlushWaitsForEarlierRecords checks Flush's promise under concurrent
// producers: whatever was recorded before Flush is readable after it.
func TestFlushWaitsForEarlierRecords(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := openEnv(t, b)
		tg := e.mustCreate(t, "api", nil)
		base := e.clock.Now()
		for i := range 1500 {
			e.Record(obs(tg.ID, base.Add(time.Duration(i)*time.Second), uptime.StatusUp, ""))
		}
		e.mustFlush(t)
		if n := e.count(t, "results"); n != 1500 {
			t.Errorf("%d results readable after Flush, want 1500", n)
		}
		if st := e.WriterStats(); st.Batches < 2 {
			t.Errorf("1500 results went in %d batches, want at least 2 of at most 1000", st.Batches)
		}
	})
}

func TestWriterSQL(t *testing.T) {
	got := stmtResults.sql(2, false)
	for _, want := range []string{
		"SELECT v.column1, v.column2",
		"(CAST($1 AS BIGINT), CAST($2 AS BIGINT)",
		", ($8, $9, $10, $11, $12, $13, $14)) AS v WHERE EXISTS",
		"ON CONFLICT DO NOTHING",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("results insert lacks %q:\n%s", want, got)
		}
	}
	if got := stmtResults.sql(2, true); !strings.Contains(got, "(CAST(? AS BIGINT), CAST(? AS BIGINT)") || strings.Contains(got, "$") {
		t.Errorf("anonymous placeholders not used:\n%s", got)
	}
}

func TestCleanText(t *testing.T) {
	for in, want := range map[string]string{
		"":                       "",
		"plain":                  "plain",
		"nul\x00byte":            "nulbyte",
		"bad \xff utf8":          "bad \uFFFD utf8",
		strings.Repeat("x", 300): strings.Repeat("x", uptime.MaxErrorLen-len("…")) + "…",
	} {
		if got := cleanText(in); got != want {
			t.Errorf("cleanText(%q) = %q, want %q", in, got, want)
		}
	}
}
