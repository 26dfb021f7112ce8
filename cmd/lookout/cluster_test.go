package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/lookout/lookout/internal/cluster"
	"github.com/lookout/lookout/internal/store"
	"github.com/lookout/lookout/internal/testkit"
	"github.com/lookout/lookout/internal/uptime"
	"github.com/lookout/lookout/internal/web"
)

// clusterApp assembles a Lookout of id on the PostgreSQL database at dsn,
// closed when the test ends; its scheduler does not run.
func clusterApp(t *testing.T, dsn, id string, tweak ...func(*config)) *app {
	t.Helper()
	a, err := newClusterApp(dsn, id, tweak...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.db.Close() })
	return a
}

func newClusterApp(dsn, id string, tweak ...func(*config)) (*app, error) {
	cfg := defaultConfig()
	cfg.DB, cfg.InstanceID = dsn, id
	for _, f := range tweak {
		f(&cfg)
	}
	return newApp(context.Background(), cfg, slog.New(slog.DiscardHandler), nil)
}

// A process started under the id of one that just died waits for the
// id's lease to run out and takes it over; one started under the id of a
// live process gives up.
func TestInstanceIDInUse(t *testing.T) {
	t.Parallel()
	dsn := testkit.MigratedPostgresDSN(t, migrateTo)
	leases := func(c *config) { c.LeaseTTL, c.LeaseHeartbeat = 1500*time.Millisecond, 250*time.Millisecond }
	live := clusterApp(t, dsn, "x", leases)
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); live.member.Run(ctx, live.sched.Sync) }()
	if a, err := newClusterApp(dsn, "x", leases); !errors.Is(err, store.ErrInstanceInUse) {
		if a != nil {
			a.db.Close()
		}
		t.Errorf("a second process under the id of a live one: %v, want ErrInstanceInUse", err)
	}
	// The live one dies (its loop stops): the next process under its id
	// takes over, with the shards it held.
	stop()
	<-done
	next := clusterApp(t, dsn, "x", leases)
	if n := next.member.Status().Held; n != uptime.Shards {
		t.Errorf("the process taking the id over holds %d shards, want the %d its predecessor held", n, uptime.Shards)
	}
}

// "Check now" of a target another instance holds probes it from here and
// stores the result alone: the state stays the holder's to change.
func TestCheckNowOfATargetHeldElsewhere(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }))
	defer srv.Close()
	dsn := testkit.MigratedPostgresDSN(t, migrateTo)
	holder := clusterApp(t, dsn, "holder") // first in: every shard
	other := clusterApp(t, dsn, "other")
	if n := other.member.Status().Held; n != 0 {
		t.Fatalf("the second instance holds %d shards before the first made room, want 0", n)
	}
	tg := &uptime.Target{Name: "api", URL: srv.URL, Interval: uptime.Duration(time.Minute)}
	tg.Normalize()
	if err := other.db.CreateTarget(ctx, tg); err != nil {
		t.Fatal(err)
	}
	res, err := checker{other}.CheckNow(ctx, tg.ID)
	if err != nil || res.Status != uptime.StatusUp {
		t.Fatalf("check now on the instance not holding the target: %+v, %v; want up", res, err)
	}
	if err := other.db.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	sn, err := other.db.GetTarget(ctx, "api")
	if err != nil {
		t.Fatal(err)
	}
	if sn.State.Status != uptime.StatusUnknown {
		t.Errorf("state after a check elsewhere: %s, want unknown until the holder checks", sn.State.Status)
	}
	if rs, _, err := (storeAPI{other.db}).Results(ctx, web.ResultQuery{TargetID: tg.ID}); err != nil || len(rs) != 1 {
		t.Errorf("results after a check elsewhere: %d (%v), want 1", len(rs), err)
	}
	// The holder's check changes the state.
	if _, err := (checker{holder}).CheckNow(ctx, tg.ID); err != nil {
		t.Fatal(err)
	}
	if err := holder.db.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if sn, _ = holder.db.GetTarget(ctx, "api"); sn.State.Status != uptime.StatusUp {
		t.Errorf("state after the holder's check: %s, want up", sn.State.Status)
	}
	if _, err := (checker{other}).CheckNow(ctx, tg.ID+1000); !errors.Is(err, uptime.ErrNotFound) {
		t.Errorf("check now of no target: %v, want not found", err)
	}
}

func TestLeaseReadiness(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name   string
		st     cluster.Status
		status string
	}{
		{"renewed", cluster.Status{Held: 86, Live: 3, TTL: time.Second, Started: now.Add(-time.Hour), Renewed: now.Add(-200 * time.Millisecond)}, "pass"},
		{"never renewed", cluster.Status{TTL: time.Second, Started: now, Err: errors.New("connection refused")}, "fail"},
		{"not renewed for a lease's time", cluster.Status{Held: 86, Live: 3, TTL: time.Second, Started: now.Add(-time.Hour),
			Renewed: now.Add(-2 * time.Second), Err: errors.New("connection refused")}, "fail"},
		{"none held, just started", cluster.Status{Live: 3, TTL: time.Second, Started: now.Add(-time.Second), Renewed: now}, "pass"},
		{"none held for long", cluster.Status{Live: 3, TTL: time.Second, Started: now.Add(-time.Minute), Renewed: now}, "fail"},
		{"alone with all", cluster.Status{Held: 256, Live: 1, TTL: time.Second, Started: now.Add(-time.Minute), Renewed: now}, "pass"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, checks := readiness(t, leaseCheck(func() cluster.Status { return tt.st }, func() time.Time { return now }))
			c := checks["cluster:leases"]
			if len(c) != 1 || c[0].Status != tt.status {
				t.Errorf("cluster:leases %+v, want %s", c, tt.status)
			}
		})
	}
}
