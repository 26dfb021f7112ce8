package main

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/lookout/lookout/internal/store"
	"github.com/lookout/lookout/internal/uptime"
)

// TestBenchHistoryIsTheJobs: the file `lookout bench history` writes
// answers as a database where the same checks were all recorded, rolled
// up by the rollup job and pruned by the retention job.
func TestBenchHistoryIsTheJobs(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC)
	o := historyOpts{targets: 3, interval: 5 * time.Minute, span: 4 * 24 * time.Hour,
		out: filepath.Join(t.TempDir(), "history.db"), seed: 7, now: now,
		retention: store.Retention{Raw: 36 * time.Hour, Minute: 60 * time.Hour, Hour: store.DefaultHourRetention}}
	rep, err := benchHistory(ctx, o, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	clock := newBenchClock(now)
	opts := storeOptions(slog.New(slog.DiscardHandler))
	opts.Now = clock.Now
	gen, err := store.Open(ctx, o.out, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { gen.Close() })

	// The same checks, every one recorded, then the jobs.
	from := uptime.Day.Bucket(now.Add(-o.span))
	clock.Set(from)
	ref := openMigrated(t, opts)
	fleet := newFleetModel(o.seed, o.targets, o.interval, from, now)
	var checks int64
	for i := range o.targets {
		tg := &uptime.Target{Name: benchTargetName(i), URL: "http://127.0.0.1:9/", Interval: uptime.Duration(o.interval)}
		tg.Normalize()
		if err := ref.CreateTarget(ctx, tg); err != nil {
			t.Fatal(err)
		}
		for d := from; d.Before(now); d = d.Add(24 * time.Hour) {
			for _, p := range fleet.day(i, d, nil) {
				if p.At.Before(now) {
					ref.Record(uptime.Observation{Result: uptime.Result{TargetID: tg.ID, StartedAt: p.At, Status: p.Status, Duration: p.Latency}})
					checks++
				}
			}
		}
	}
	if err := ref.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	clock.Set(now)
	if _, err := ref.RollUp(ctx, now); err != nil {
		t.Fatal(err)
	}
	if _, err := ref.Prune(ctx, now, o.retention); err != nil {
		t.Fatal(err)
	}
	if rep.Checks != checks {
		t.Errorf("the bench made %d checks, the fixture %d", rep.Checks, checks)
	}

	opt := cmpopts.EquateEmpty()
	windows := [][2]time.Time{
		{from, now},
		{now.Add(-24 * time.Hour), now},
		{from.Add(27*time.Hour + 13*time.Minute), from.Add(50 * time.Hour)},
		{now.Add(-40 * time.Hour), now.Add(-30 * time.Hour)},
	}
	for i := range o.targets {
		for _, w := range windows {
			s := store.Series{Target: benchTargetName(i)}
			want, err := ref.Tally(ctx, s, w[0], w[1])
			if err != nil {
				t.Fatal(err)
			}
			got, err := gen.Tally(ctx, s, w[0], w[1])
			if err != nil {
				t.Fatal(err)
			}
			if want.Checks() == 0 {
				t.Fatalf("%s has no checks over %v – %v", s.Target, w[0], w[1])
			}
			if diff := cmp.Diff(want, got, opt); diff != "" {
				t.Errorf("%s over %v – %v (-recorded and rolled up +bench history):\n%s", s.Target, w[0], w[1], diff)
			}
		}
	}
	for _, w := range windows {
		want, _, err := ref.FleetTally(ctx, w[0], w[1])
		if err != nil {
			t.Fatal(err)
		}
		got, _, err := gen.FleetTally(ctx, w[0], w[1])
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got, opt); diff != "" {
			t.Errorf("the fleet over %v – %v (-recorded and rolled up +bench history):\n%s", w[0], w[1], diff)
		}
	}
}
