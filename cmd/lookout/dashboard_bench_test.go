package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/lookout/lookout/internal/store"
	"github.com/lookout/lookout/internal/ui"
	"github.com/lookout/lookout/internal/uptime"
	"github.com/lookout/lookout/internal/web"
)

// The dashboard's benchmark fleet: 10,000 targets with 90 days of history
// (a check every 12 hours), 50 of them down; the first 200 of the
// overview's order (the down ones, then by name) also checked every
// minute for the last 26 hours, as a 30 s target's rollups are dense near
// now; and "year", checked every minute for a year. Built once (a few
// minutes) and kept in the temporary directory.
const (
	benchTargets  = 10000
	benchDown     = 50
	benchDense    = 200
	benchFixture  = "lookout-dashboard-bench-v2.db"
	benchOldEvery = 12 * time.Hour
)

var benchNow = time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC)

func benchName(i int) string { return fmt.Sprintf("svc-%05d", i) }

// benchDB opens the fixture, building it when missing.
func benchDB(b *testing.B) (*store.DB, *benchClock) {
	b.Helper()
	path := filepath.Join(os.TempDir(), benchFixture)
	clock := newBenchClock(benchNow)
	opts := store.Options{Now: clock.Now, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	ctx := context.Background()
	if _, err := os.Stat(path); err == nil {
		db, err := store.Open(ctx, path, opts)
		if err != nil {
			b.Fatal(err)
		}
		return db, clock
	}
	tmp := path + ".building"
	_ = os.Remove(tmp)
	clock.Set(benchNow.Add(-366 * 24 * time.Hour))
	db, err := store.Open(ctx, tmp, opts)
	if err != nil {
		b.Fatal(err)
	}
	if err := db.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	create := func(name string, labels map[string]string) *uptime.Target {
		t := &uptime.Target{Name: name, URL: "http://127.0.0.1:9/" + name, Interval: uptime.Duration(30 * time.Second), Labels: labels}
		t.Normalize()
		if err := db.CreateTarget(ctx, t); err != nil {
			b.Fatal(err)
		}
		return t
	}
	record := func(t *uptime.Target, at time.Time, st uptime.Status, lat time.Duration) {
		db.Record(uptime.Observation{Result: uptime.Result{TargetID: t.ID, Target: t.Name, StartedAt: at, Status: st, Duration: lat},
			State: uptime.State{Status: st, Since: at, LastCheck: at, LastResult: st}})
	}
	flushAndRoll := func(upTo time.Time) {
		if err := db.Flush(ctx); err != nil {
			b.Fatal(err)
		}
		clock.Set(upTo.Add(2 * time.Minute))
		if _, err := db.RollUp(ctx, upTo); err != nil {
			b.Fatal(err)
		}
	}
	// A year of one target, rolled up alone first.
	year := create("year", map[string]string{"team": "core"})
	fleetStart := benchNow.Add(-91 * 24 * time.Hour)
	for at := clock.Now().Add(time.Minute); at.Before(benchNow); at = at.Add(time.Minute) {
		st := uptime.StatusUp
		if at.Minute() < 3 && at.Hour() == 4 && at.Day()%9 == 0 {
			st = uptime.StatusDown
		}
		record(year, at, st, time.Duration(20+at.Minute()%40)*time.Millisecond)
		if at.Equal(fleetStart) {
			flushAndRoll(fleetStart)
		}
	}
	// The fleet.
	clock.Set(fleetStart)
	targets := make([]*uptime.Target, benchTargets)
	for i := range targets {
		labels := map[string]string{"team": fmt.Sprintf("team-%d", i%20)}
		if i%100 == 0 {
			labels["public"] = "yes"
		}
		targets[i] = create(benchName(i), labels)
	}
	down := func(i int) bool { return i%(benchTargets/benchDown) == 7 }
	var order []int // the overview's: down first, then by name
	for i := range targets {
		if down(i) {
			order = append(order, i)
		}
	}
	for i := range targets {
		if !down(i) {
			order = append(order, i)
		}
	}
	dense := map[int]bool{}
	for _, i := range order[:benchDense] {
		dense[i] = true
	}
	denseFrom := benchNow.Add(-26 * time.Hour)
	for i, t := range targets {
		for at := fleetStart.Add(time.Duration(i) * time.Second); at.Before(benchNow); at = at.Add(benchOldEvery) {
			if dense[i] && !at.Before(denseFrom) {
				break
			}
			st := uptime.StatusUp
			if (i+at.Day())%37 == 0 {
				st = uptime.StatusDown
			}
			record(t, at, st, time.Duration(10+(i+at.Hour())%90)*time.Millisecond)
		}
		if dense[i] {
			for at := denseFrom.Add(time.Duration(i%60) * time.Second); at.Before(benchNow.Add(-30 * time.Second)); at = at.Add(time.Minute) {
				st := uptime.StatusUp
				if down(i) && at.After(benchNow.Add(-20*time.Minute)) {
					st = uptime.StatusDown
				}
				record(t, at, st, time.Duration(10+(i+at.Minute())%90)*time.Millisecond)
			}
		}
		if down(i) {
			record(t, benchNow.Add(-10*time.Second), uptime.StatusDown, 5*time.Millisecond)
		} else if !dense[i] {
			record(t, benchNow.Add(-time.Duration(1+i%29)*time.Second), uptime.StatusUp, 12*time.Millisecond)
		}
	}
	flushAndRoll(benchNow.Add(-3 * time.Minute))
	clock.Set(benchNow)
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		b.Fatal(err)
	}
	for _, ext := range []string{"-wal", "-shm"} {
		_ = os.Rename(tmp+ext, path+ext)
	}
	b.Logf("built %s in %s", path, time.Since(start).Round(time.Second))
	db, err = store.Open(ctx, path, opts)
	if err != nil {
		b.Fatal(err)
	}
	return db, clock
}

// benchHandler is the HTTP handler as served: web with the dashboard.
func benchHandler(db *store.DB, clock *benchClock) http.Handler {
	sessions := web.NewSessions("", nil)
	dash := ui.New(ui.Config{Auth: sessions, Now: clock.Now, StatusLabel: ui.Label{Key: "public", Value: "yes"}}, uiStore{storeAPI{db}})
	return web.New(web.Config{Sessions: sessions, UI: dash, Now: clock.Now}, storeAPI{db}, nopScheduler{}, nopNotifier{})
}

// benchPage serves path b.N times and reports the p50 and p99 times and
// the body's size.
func benchPage(b *testing.B, path string) {
	db, clock := benchDB(b)
	defer db.Close()
	h := benchHandler(db, clock)
	serve := func() *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		if w.Code != http.StatusOK {
			b.Fatalf("GET %s: %d %.300s", path, w.Code, w.Body.String())
		}
		return w
	}
	first := serve() // and warm the caches
	size := first.Body.Len()
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, 5) // as the dashboard serves it
	_, _ = zw.Write(first.Body.Bytes())
	_ = zw.Close()
	times := make([]time.Duration, 0, b.N)
	cpu0 := processCPU()
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		serve()
		times = append(times, time.Since(t0))
	}
	b.StopTimer()
	// The process's CPU time per page: what the wall times cost when the
	// machine is not shared.
	b.ReportMetric(float64((processCPU()-cpu0)/time.Duration(len(times)))/1e6, "cpu-ms/op")
	slices.Sort(times)
	q := func(p float64) float64 {
		return float64(times[min(len(times)-1, int(p*float64(len(times))))].Microseconds()) / 1000
	}
	b.ReportMetric(q(0.5), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(float64(size)/1024, "KiB")
	b.ReportMetric(float64(gz.Len())/1024, "gzip-KiB")
}

// BenchmarkDashboardOverview is the first screen of the overview of
// 10,000 targets.
func BenchmarkDashboardOverview(b *testing.B) { benchPage(b, "/") }

// BenchmarkDashboardTarget is the page of a target with a year of
// history, its chart over a year.
func BenchmarkDashboardTarget(b *testing.B) {
	for _, r := range []string{"24h", "1y"} {
		b.Run(r, func(b *testing.B) { benchPage(b, "/targets/year?range="+r) })
	}
}

// BenchmarkDashboardStatus is the public status page of 100 targets.
func BenchmarkDashboardStatus(b *testing.B) { benchPage(b, "/status") }

// processCPU is the user and system time the process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
