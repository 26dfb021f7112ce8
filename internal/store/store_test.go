package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/lookout/lookout/internal/uptime"
)

var bg = context.Background()

// TestStore runs every behaviour against every backend, each on a fresh
// database.
func TestStore(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, e *env)
	}{
		{"create sets identity and refuses a duplicate name", testCreateConflict},
		{"put of the same spec changes nothing", testPutIdempotent},
		{"put of a new spec replaces it and keeps identity", testPutChanges},
		{"update applies fn in one transaction", testUpdate},
		{"update aborted by fn writes nothing", testUpdateAbort},
		{"list filters by label and status and pages by name", testList},
		{"delete removes the target, its state and its results", testDelete},
		{"results come back newest first, paged and bounded", testResults},
		{"a bad cursor is a validation error", testBadCursor},
		{"results in the same millisecond are all kept", testSameMillisecond},
		{"results of a deleted target are dropped, not retried", testDeletedTargetResults},
		{"state is persisted with results", testState},
		{"data survives close and reopen", testReopen},
		{"secrets are stored as given", testSecretsStored},
		{"reads are not blocked by a write in progress", testReadsDuringWrite},
		{"ping writes and reads back", testPing},
		{"a dependency cycle is refused on every write", testDependencyCycles},
		{"migration status is current after migrate", testMigrationStatus},
	}
	forEachBackend(t, func(t *testing.T, b backend) {
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				tc.run(t, openEnv(t, b))
			})
		}
	})
}

func testCreateConflict(t *testing.T, e *env) {
	tg := newTarget("api", map[string]string{"team": "a"})
	fatalIf(t, e.CreateTarget(bg, tg), "create")
	if tg.ID == 0 || !tg.CreatedAt.Equal(e.clock.Now()) || !tg.UpdatedAt.Equal(e.clock.Now()) {
		t.Errorf("create set ID %d, CreatedAt %v, UpdatedAt %v; want an ID and %v", tg.ID, tg.CreatedAt, tg.UpdatedAt, e.clock.Now())
	}
	got, err := e.GetTarget(bg, "api")
	fatalIf(t, err, "get")
	if diff := cmp.Diff(*tg, got.Target); diff != "" {
		t.Errorf("stored target differs (-created +read):\n%s", diff)
	}
	err = e.CreateTarget(bg, newTarget("api", nil))
	if !errors.Is(err, uptime.ErrConflict) {
		t.Errorf("second create: got %v, want ErrConflict", err)
	}
}

func testPutIdempotent(t *testing.T, e *env) {
	first := newTarget("api", map[string]string{"team": "a"})
	created, changed, err := e.PutTarget(bg, first)
	fatalIf(t, err, "first put")
	if !created || !changed {
		t.Errorf("first put: created=%v changed=%v, want true true", created, changed)
	}
	e.clock.Advance(time.Hour)
	again := newTarget("api", map[string]string{"team": "a"})
	created, changed, err = e.PutTarget(bg, again)
	fatalIf(t, err, "second put")
	if created || changed {
		t.Errorf("identical put: created=%v changed=%v, want false false", created, changed)
	}
	if diff := cmp.Diff(*first, *again); diff != "" {
		t.Errorf("identical put did not fill t from the stored target (-first +second):\n%s", diff)
	}
	got, err := e.GetTarget(bg, "api")
	fatalIf(t, err, "get")
	if !got.Target.UpdatedAt.Equal(first.UpdatedAt) {
		t.Errorf("updated_at moved to %v on an identical put, want %v", got.Target.UpdatedAt, first.UpdatedAt)
	}
}

func testPutChanges(t *testing.T, e *env) {
	first := newTarget("api", map[string]string{"team": "a"})
	_, _, err := e.PutTarget(bg, first)
	fatalIf(t, err, "first put")
	e.clock.Advance(time.Hour)
	next := newTarget("api", map[string]string{"team": "b"})
	next.URL = "https://other.example.com/"
	created, changed, err := e.PutTarget(bg, next)
	fatalIf(t, err, "second put")
	if created || !changed {
		t.Errorf("changed put: created=%v changed=%v, want false true", created, changed)
	}
	if next.ID != first.ID || !next.CreatedAt.Equal(first.CreatedAt) || !next.UpdatedAt.Equal(e.clock.Now()) {
		t.Errorf("put gave ID %d created %v updated %v; want ID %d created %v updated %v",
			next.ID, next.CreatedAt, next.UpdatedAt, first.ID, first.CreatedAt, e.clock.Now())
	}
	got, err := e.GetTarget(bg, "api")
	fatalIf(t, err, "get")
	if diff := cmp.Diff(*next, got.Target); diff != "" {
		t.Errorf("stored target differs (-put +read):\n%s", diff)
	}
	// The label index follows the spec.
	for team, want := range map[string]int{"a": 0, "b": 1} {
		l, err := e.ListTargets(bg, uptime.TargetFilter{Labels: map[string]string{"team": team}})
		fatalIf(t, err, "list")
		if len(l) != want {
			t.Errorf("team=%s lists %d targets, want %d", team, len(l), want)
		}
	}
}

func testUpdate(t *testing.T, e *env) {
	tg := e.mustCreate(t, "api", nil)
	e.clock.Advance(time.Minute)
	got, err := e.UpdateTarget(bg, "api", func(t *uptime.Target) error {
		t.Paused = true
		t.Labels["team"] = "a"
		return nil
	})
	fatalIf(t, err, "pause")
	if !got.Paused || got.ID != tg.ID || !got.UpdatedAt.Equal(e.clock.Now()) || !got.CreatedAt.Equal(tg.CreatedAt) {
		t.Errorf("pause returned %+v", got)
	}
	read, err := e.GetTarget(bg, "api")
	fatalIf(t, err, "get")
	if diff := cmp.Diff(got, read.Target); diff != "" {
		t.Errorf("stored target differs (-returned +read):\n%s", diff)
	}
	// An fn that changes nothing writes nothing.
	e.clock.Advance(time.Minute)
	same, err := e.UpdateTarget(bg, "api", func(*uptime.Target) error { return nil })
	fatalIf(t, err, "no-op update")
	if !same.UpdatedAt.Equal(got.UpdatedAt) {
		t.Errorf("no-op update moved updated_at to %v", same.UpdatedAt)
	}
	// A rename onto a taken name conflicts.
	e.mustCreate(t, "web", nil)
	_, err = e.UpdateTarget(bg, "api", func(t *uptime.Target) error { t.Name = "web"; return nil })
	if !errors.Is(err, uptime.ErrConflict) {
		t.Errorf("rename onto an existing name: got %v, want ErrConflict", err)
	}
	_, err = e.UpdateTarget(bg, "nope", func(*uptime.Target) error { return nil })
	if !errors.Is(err, uptime.ErrNotFound) {
		t.Errorf("update of a missing target: got %v, want ErrNotFound", err)
	}
}

func testUpdateAbort(t *testing.T, e *env) {
	tg := e.mustCreate(t, "api", map[string]string{"team": "a"})
	boom := errors.New("boom")
	_, err := e.UpdateTarget(bg, "api", func(t *uptime.Target) error {
		t.URL = "https://changed.example.com/"
		t.Labels["team"] = "b"
		return boom
	})
	if err != boom {
		t.Errorf("update returned %v, want fn's error as is", err)
	}
	got, err := e.GetTarget(bg, "api")
	fatalIf(t, err, "get")
	if diff := cmp.Diff(*tg, got.Target); diff != "" {
		t.Errorf("aborted update changed the target (-before +after):\n%s", diff)
	}
}

func testList(t *testing.T, e *env) {
	ids := map[string]int64{}
	for _, n := range []string{"a1", "a2", "a3", "b1", "b2"} {
		ids[n] = e.mustCreate(t, n, map[string]string{"team": n[:1], "env": "prod"}).ID
	}
	now := e.clock.Now()
	e.Record(obs(ids["a1"], now, uptime.StatusDown, "503"))
	e.Record(obs(ids["b1"], now, uptime.StatusDown, "503"))
	e.Record(obs(ids["a2"], now, uptime.StatusUp, ""))
	e.mustFlush(t)

	names := func(f uptime.TargetFilter) []string {
		t.Helper()
		l, err := e.ListTargets(bg, f)
		fatalIf(t, err, "list %+v", f)
		out := []string{}
		for _, s := range l {
			out = append(out, s.Target.Name)
		}
		return out
	}
	cases := []struct {
		name string
		f    uptime.TargetFilter
		want []string
	}{
		{"all", uptime.TargetFilter{}, []string{"a1", "a2", "a3", "b1", "b2"}},
		{"label", uptime.TargetFilter{Labels: map[string]string{"team": "a"}}, []string{"a1", "a2", "a3"}},
		{"two labels", uptime.TargetFilter{Labels: map[string]string{"team": "b", "env": "prod"}}, []string{"b1", "b2"}},
		{"label no match", uptime.TargetFilter{Labels: map[string]string{"team": "a", "env": "dev"}}, []string{}},
		{"status down", uptime.TargetFilter{Status: []uptime.Status{uptime.StatusDown}}, []string{"a1", "b1"}},
		{"never checked is unknown", uptime.TargetFilter{Status: []uptime.Status{uptime.StatusUnknown}}, []string{"a3", "b2"}},
		{"label and status", uptime.TargetFilter{Labels: map[string]string{"team": "a"}, Status: []uptime.Status{uptime.StatusUp, uptime.StatusDown}}, []string{"a1", "a2"}},
		{"page 1", uptime.TargetFilter{Limit: 2}, []string{"a1", "a2"}},
		{"page 2", uptime.TargetFilter{Limit: 2, After: "a2"}, []string{"a3", "b1"}},
		{"page 3", uptime.TargetFilter{Limit: 2, After: "b1"}, []string{"b2"}},
		{"past the end", uptime.TargetFilter{Limit: 2, After: "b2"}, []string{}},
	}
	for _, c := range cases {
		if diff := cmp.Diff(c.want, names(c.f)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", c.name, diff)
		}
	}
	all, err := e.AllTargets(bg)
	fatalIf(t, err, "all targets")
	if len(all) != 5 {
		t.Errorf("AllTargets returned %d, want 5", len(all))
	}
}

func testDelete(t *testing.T, e *env) {
	tg := e.mustCreate(t, "api", map[string]string{"team": "a"})
	e.Record(obs(tg.ID, e.clock.Now(), uptime.StatusUp, ""))
	e.mustFlush(t)
	fatalIf(t, e.DeleteTarget(bg, "api"), "delete")
	if _, err := e.GetTarget(bg, "api"); !errors.Is(err, uptime.ErrNotFound) {
		t.Errorf("get after delete: %v, want ErrNotFound", err)
	}
	if _, _, err := e.Results(bg, ResultQuery{TargetID: tg.ID}); !errors.Is(err, uptime.ErrNotFound) {
		t.Errorf("results after delete: %v, want ErrNotFound", err)
	}
	if n := e.count(t, "results"); n != 0 {
		t.Errorf("%d results left after delete", n)
	}
	if err := e.DeleteTarget(bg, "api"); !errors.Is(err, uptime.ErrNotFound) {
		t.Errorf("second delete: %v, want ErrNotFound", err)
	}
	again := e.mustCreate(t, "api", nil)
	if again.ID == tg.ID {
		t.Errorf("a new target reused deleted id %d", tg.ID)
	}
	snap, err := e.GetTarget(bg, "api")
	fatalIf(t, err, "get recreated")
	if diff := cmp.Diff(uptime.State{}, snap.State); diff != "" {
		t.Errorf("recreated target inherited state (-zero +read):\n%s", diff)
	}
}

func testResults(t *testing.T, e *env) {
	tg := e.mustCreate(t, "api", nil)
	other := e.mustCreate(t, "other", nil)
	base := e.clock.Now()
	const n = 25
	for i := range n {
		st := uptime.StatusUp
		if i%5 == 0 {
			st = uptime.StatusDown
		}
		e.Record(obs(tg.ID, base.Add(time.Duration(i)*time.Second), st, "connection refused"))
		e.Record(obs(other.ID, base.Add(time.Duration(i)*time.Second), uptime.StatusUp, ""))
	}
	e.mustFlush(t)

	// Paging through everything returns every result once, newest first.
	var all []uptime.Result
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > n {
			t.Fatal("paging does not end")
		}
		rs, next, err := e.Results(bg, ResultQuery{TargetID: tg.ID, Limit: 10, Cursor: cursor})
		fatalIf(t, err, "results")
		all = append(all, rs...)
		if next == "" {
			break
		}
		cursor = next
	}
	if len(all) != n {
		t.Fatalf("paged through %d results, want %d", len(all), n)
	}
	for i, r := range all {
		want := obs(tg.ID, base.Add(time.Duration(n-1-i)*time.Second), uptime.StatusUp, "").Result
		if (n-1-i)%5 == 0 {
			want = obs(tg.ID, want.StartedAt, uptime.StatusDown, "connection refused").Result
		}
		want.Target = "api"
		if diff := cmp.Diff(want, r); diff != "" {
			t.Fatalf("result %d (-want +got):\n%s", i, diff)
		}
	}
	// From is inclusive, To exclusive.
	rs, next, err := e.Results(bg, ResultQuery{TargetID: tg.ID, From: base.Add(10 * time.Second), To: base.Add(15 * time.Second)})
	fatalIf(t, err, "bounded results")
	var got []time.Time
	for _, r := range rs {
		got = append(got, r.StartedAt)
	}
	want := []time.Time{base.Add(14 * time.Second), base.Add(13 * time.Second), base.Add(12 * time.Second), base.Add(11 * time.Second), base.Add(10 * time.Second)}
	if diff := cmp.Diff(want, got); diff != "" || next != "" {
		t.Errorf("from/to window (-want +got):\n%s next=%q", diff, next)
	}
	// An exact last page has no next cursor.
	_, next, err = e.Results(bg, ResultQuery{TargetID: tg.ID, Limit: n})
	fatalIf(t, err, "full page")
	if next != "" {
		t.Errorf("a page holding everything returned next=%q", next)
	}
	if _, _, err := e.Results(bg, ResultQuery{TargetID: 999999}); !errors.Is(err, uptime.ErrNotFound) {
		t.Errorf("results of an unknown target: %v, want ErrNotFound", err)
	}
}

func testBadCursor(t *testing.T, e *env) {
	tg := e.mustCreate(t, "api", nil)
	for _, c := range []string{"garbage!", "AAAA", encodeCursor(1)[1:]} {
		_, _, err := e.Results(bg, ResultQuery{TargetID: tg.ID, Cursor: c})
		var v *uptime.ValidationError
		if !errors.As(err, &v) || len(v.Errors) != 1 || v.Errors[0].Field != "cursor" {
			t.Errorf("cursor %q: got %v, want a ValidationError on cursor", c, err)
		}
	}
}

func testSameMillisecond(t *testing.T, e *env) {
	tg := e.mustCreate(t, "api", nil)
	at := e.clock.Now()
	for range 3 {
		e.Record(obs(tg.ID, at, uptime.StatusUp, ""))
	}
	e.mustFlush(t)
	// A duplicate recorded in a later batch is still kept.
	e.Record(obs(tg.ID, at, uptime.StatusDown, "late"))
	e.mustFlush(t)
	rs, _, err := e.Results(bg, ResultQuery{TargetID: tg.ID})
	fatalIf(t, err, "results")
	var got []time.Time
	for _, r := range rs {
		got = append(got, r.StartedAt)
	}
	want := []time.Time{at.Add(3 * time.Millisecond), at.Add(2 * time.Millisecond), at.Add(time.Millisecond), at}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("same-millisecond results (-want +got):\n%s", diff)
	}
}

func testDeletedTargetResults(t *testing.T, e *env) {
	gone := e.mustCreate(t, "gone", nil)
	kept := e.mustCreate(t, "kept", nil)
	fatalIf(t, e.DeleteTarget(bg, "gone"), "delete")
	e.Record(obs(gone.ID, e.clock.Now(), uptime.StatusDown, "x"))
	e.Record(obs(kept.ID, e.clock.Now(), uptime.StatusUp, ""))
	e.mustFlush(t)
	if n := e.count(t, "results"); n != 1 {
		t.Errorf("%d results stored, want only the kept target's", n)
	}
	st := e.WriterStats()
	if st.Written != 1 || st.Dropped != 1 || st.Failed != 0 || st.Pending != 0 {
		t.Errorf("writer stats %+v, want 1 written, 1 dropped, no failure", st)
	}
}

func testState(t *testing.T, e *env) {
	tg := e.mustCreate(t, "api", nil)
	at := e.clock.Now()
	p := tg.Policy()
	p.FailureThreshold, p.SuccessThreshold = 1, 1
	p.FlapThreshold, p.FlapWindow = 2, time.Hour
	p.ExpiryWarn = []int{21, 7}
	expiry := at.Add(5*24*time.Hour + time.Hour).Truncate(time.Millisecond)
	check := func(label string, want uptime.State) {
		t.Helper()
		e.mustFlush(t)
		snap, err := e.GetTarget(bg, "api")
		fatalIf(t, err, "get")
		if diff := cmp.Diff(want, snap.State, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s: GetTarget state (-recorded +stored):\n%s", label, diff)
		}
		all, err := e.AllTargets(bg)
		fatalIf(t, err, "all")
		if len(all) != 1 {
			t.Fatalf("AllTargets returned %d", len(all))
		}
		if diff := cmp.Diff(want, all[0].State, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s: AllTargets state (-recorded +stored):\n%s", label, diff)
		}
	}
	// down, up, down, up, down, down: the first opening is alerted, then
	// the flips make the target flapping with an incident open.
	var s uptime.State
	for i, st := range []uptime.Status{uptime.StatusDown, uptime.StatusUp, uptime.StatusDown,
		uptime.StatusUp, uptime.StatusDown, uptime.StatusDown} {
		r := uptime.Result{TargetID: tg.ID, StartedAt: at.Add(time.Duration(i) * time.Second), Status: st}
		if i == 1 {
			r.CertExpiry = expiry // an https check seeing a certificate 6 days from expiry
		}
		if st == uptime.StatusDown {
			r.ErrorClass, r.Error = uptime.ClassTimeout, "timeout after 10s"
		}
		var ev []uptime.Event
		s, ev = s.Next(r, p, r.StartedAt)
		if len(ev) > 0 && ev[len(ev)-1].Type == uptime.EventIncidentOpened {
			// As the scheduler attributes it: the state shows the open
			// incident's cause.
			s.Cause, ev[len(ev)-1].Cause = "postgres-main", "postgres-main"
		}
		e.Record(uptime.Observation{Result: r, State: s, Events: ev})
		if i == 0 {
			if !s.Notified || s.IncidentFailures != 1 || len(s.Flips) != 1 {
				t.Fatalf("test setup: first state %+v", s)
			}
			check("first failure", s)
		}
	}
	if s.Status != uptime.StatusDown || !s.Flapping || !s.FlappingSince.Equal(at) || s.Notified || s.IncidentFailures != 2 || len(s.Flips) != 5 ||
		!s.CertExpiry.Equal(expiry) || s.CertWarned != 7 || s.Cause != "postgres-main" {
		t.Fatalf("test setup: state machine says %+v", s)
	}
	check("flapping", s)
}

func testReopen(t *testing.T, e *env) {
	tg := e.mustCreate(t, "api", map[string]string{"team": "a"})
	o := obs(tg.ID, e.clock.Now(), uptime.StatusDown, "refused")
	e.Record(o)
	// Close must write what is still queued: no Flush here on purpose.
	fatalIf(t, e.Close(), "close")
	if err := e.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
	db := e.open(t)
	snap, err := db.GetTarget(bg, "api")
	fatalIf(t, err, "get after reopen")
	if diff := cmp.Diff(*tg, snap.Target); diff != "" {
		t.Errorf("target after reopen (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(o.State, snap.State); diff != "" {
		t.Errorf("state after reopen (-before +after):\n%s", diff)
	}
	rs, _, err := db.Results(bg, ResultQuery{TargetID: tg.ID})
	fatalIf(t, err, "results after reopen")
	want := o.Result
	want.Target = "api"
	if diff := cmp.Diff([]uptime.Result{want}, rs); diff != "" {
		t.Errorf("results after reopen (-before +after):\n%s", diff)
	}
}

func testSecretsStored(t *testing.T, e *env) {
	tg := newTarget("db", nil)
	tg.Kind = "postgres"
	tg.URL = "postgres://app:s3cret@db:5432/app"
	tg.HTTP = &uptime.HTTPOptions{Headers: map[string]string{"Authorization": "Bearer tok"}}
	fatalIf(t, e.CreateTarget(bg, tg), "create")
	got, err := e.GetTarget(bg, "db")
	fatalIf(t, err, "get")
	if got.Target.URL != tg.URL || got.Target.HTTP.Headers["Authorization"] != "Bearer tok" {
		t.Errorf("secrets not kept: url %q, headers %v", got.Target.URL, got.Target.HTTP.Headers)
	}
}

func testReadsDuringWrite(t *testing.T, e *env) {
	e.mustCreate(t, "api", nil)
	// Hold the write side (on SQLite, its only connection) in an open
	// transaction that has written.
	tx, err := e.wdb.BeginTx(bg, nil)
	fatalIf(t, err, "begin")
	defer tx.Rollback()
	_, err = tx.Exec(`UPDATE targets SET paused = $1 WHERE name = 'api'`, true)
	fatalIf(t, err, "update")
	ctx, cancel := context.WithTimeout(bg, 2*time.Second)
	defer cancel()
	snap, err := e.GetTarget(ctx, "api")
	fatalIf(t, err, "get during a write")
	if snap.Target.Paused {
		t.Error("read saw an uncommitted change")
	}
	_, err = e.ListTargets(ctx, uptime.TargetFilter{})
	fatalIf(t, err, "list during a write")
}

func testPing(t *testing.T, e *env) {
	fatalIf(t, e.Ping(bg), "ping")
	e.clock.Advance(time.Second)
	fatalIf(t, e.Ping(bg), "second ping")
	if e.Driver() == DriverSQLite {
		free, total, err := e.DiskFree()
		fatalIf(t, err, "disk free")
		if total == 0 || free > total {
			t.Errorf("disk free %d of %d", free, total)
		}
	} else if _, _, err := e.DiskFree(); err == nil {
		t.Error("DiskFree on postgres returned no error")
	}
}

func testMigrationStatus(t *testing.T, e *env) {
	cur, latest, err := e.MigrationStatus(bg)
	fatalIf(t, err, "status")
	if cur != latest || latest < 1 {
		t.Errorf("after migrate: current %d, latest %d", cur, latest)
	}
	fatalIf(t, e.Migrate(bg), "migrate again")
}

func TestMigrationStatusBeforeMigrate(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		db, err := Open(bg, b.dsn(t), Options{})
		fatalIf(t, err, "open")
		defer db.Close()
		cur, latest, err := db.MigrationStatus(bg)
		fatalIf(t, err, "status")
		if cur != 0 || latest < 1 {
			t.Errorf("fresh database: current %d latest %d, want 0 and at least 1", cur, latest)
		}
	})
}

func TestOpenDriver(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := openEnv(t, b)
		if e.Driver() != b.name {
			t.Errorf("Driver() = %q, want %q", e.Driver(), b.name)
		}
	})
}

// A SQLite path is a path, whatever characters it holds: '?', '#' and '%'
// mean something in the URI the driver is given.
func TestOpenSQLitePathNeedsNoQuoting(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "odd ?name#with%20chars")
	fatalIf(t, os.Mkdir(dir, 0o755), "mkdir")
	path := filepath.Join(dir, "lookout.db")
	for _, dsn := range []string{path, "file:" + path} {
		db, err := Open(bg, dsn, Options{})
		fatalIf(t, err, "open %q", dsn)
		fatalIf(t, db.Migrate(bg), "migrate")
		fatalIf(t, db.Ping(bg), "ping")
		fatalIf(t, db.Close(), "close")
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("database not created at the path given: %v", err)
	}
	entries, _ := os.ReadDir(filepath.Dir(dir))
	if len(entries) != 1 {
		t.Errorf("files were created outside %q: %v", dir, entries)
	}
}

// TestConcurrentMigrate: instances starting together on one database all
// come up migrated; none fails on a half-applied schema.
func TestConcurrentMigrate(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		dsn := b.dsn(t)
		const n = 4
		dbs := make([]*DB, n)
		for i := range dbs {
			db, err := Open(bg, dsn, Options{})
			fatalIf(t, err, "open %d", i)
			t.Cleanup(func() { db.Close() })
			dbs[i] = db
		}
		errs := make(chan error, n)
		for _, db := range dbs {
			go func() { errs <- db.Migrate(bg) }()
		}
		for range n {
			if err := <-errs; err != nil {
				t.Errorf("migrate: %v", err)
			}
		}
		cur, latest, err := dbs[0].MigrationStatus(bg)
		fatalIf(t, err, "status")
		if cur != latest {
			t.Errorf("schema at %d, want %d", cur, latest)
		}
	})
}
