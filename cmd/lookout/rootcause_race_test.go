package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lookout/lookout/internal/notify"
	"github.com/lookout/lookout/internal/scheduler"
	"github.com/lookout/lookout/internal/store"
	"github.com/lookout/lookout/internal/testkit"
	"github.com/lookout/lookout/internal/uptime"
)

// TestRootCauseWhateverCrossesFirst: ten services depend on a database
// (five declare it, five report it in their health documents); all fail
// together, and the services cross their thresholds before the database
// does — within group_wait, or later than it. In every order of the checks,
// on-call gets one opened message naming the database and all ten, and one
// resolved message, and every service's incident records the cause.
//
// The real store, scheduler path (CheckNow), dispatcher and a webhook
// receiver run on one injected clock; nothing sleeps.
func TestRootCauseWhateverCrossesFirst(t *testing.T) {
	const services = 10
	orders := map[string]func(names []string) []string{
		"database first": func(n []string) []string { return n },
		"database last":  func(n []string) []string { return append(slices.Clone(n[1:]), n[0]) },
		"reversed": func(n []string) []string {
			r := slices.Clone(n)
			slices.Reverse(r)
			return r
		},
	}
	for seed := range uint64(3) {
		orders[fmt.Sprintf("shuffled %d", seed)] = func(n []string) []string {
			r := slices.Clone(n)
			rnd := rand.New(rand.NewPCG(seed, 7))
			rnd.Shuffle(len(r), func(i, j int) { r[i], r[j] = r[j], r[i] })
			return r
		}
	}
	for _, lag := range []struct {
		name string
		// dbThreshold is the database's failure threshold; the services'
		// are 1 and 2. Checks run every 2 s and group_wait is 10 s, so 3
		// crosses within group_wait of the first services, 8 after it.
		dbThreshold int
	}{{"cause detected within group_wait", 3}, {"cause detected after group_wait", 8}} {
		for name, order := range orders {
			t.Run(lag.name+"/"+name, func(t *testing.T) {
				t.Parallel()
				testRootCauseRace(t, services, lag.dbThreshold, order)
			})
		}
	}
}

func testRootCauseRace(t *testing.T, services, dbThreshold int, order func([]string) []string) {
	ctx := context.Background()
	clk := testkit.NewClock(time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC))
	db := openMigrated(t, store.Options{Now: clk.Now})
	hook := testkit.NewWebhook(t)
	ch := &uptime.Channel{Name: "oncall", Kind: "webhook", URL: uptime.Secret(hook.URL), Default: true,
		GroupWait: uptime.WaitFor(10 * time.Second)}
	ch.Normalize()
	if err := db.CreateChannel(ctx, ch); err != nil {
		t.Fatal(err)
	}

	world := &fakeWorld{}
	sched := scheduler.New(world, db, scheduler.Config{Now: clk.Now})
	var names []string
	add := func(tg *uptime.Target) {
		tg.URL = "http://" + tg.Name + ".test/health"
		tg.Interval = uptime.Duration(2 * time.Second)
		tg.Normalize()
		if err := db.CreateTarget(ctx, tg); err != nil {
			t.Fatal(err)
		}
		sched.Load(*tg, uptime.State{})
		names = append(names, tg.Name)
	}
	add(&uptime.Target{Name: "database", FailureThreshold: dbThreshold})
	for i := range services {
		tg := &uptime.Target{Name: fmt.Sprintf("svc-%02d", i), FailureThreshold: 1 + i%2}
		if i < services/2 {
			tg.DependsOn = []string{"database"}
		} else {
			world.reports = append(world.reports, tg.Name)
		}
		add(tg)
	}
	ids := map[string]int64{}
	snaps, err := db.AllTargets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range snaps {
		ids[s.Target.Name] = s.Target.ID
	}
	d := notify.New(db, notify.Config{Now: clk.Now})

	// tick checks every target once, in the order under test, commits the
	// results, then lets two seconds pass one at a time, the dispatcher
	// running at each.
	tick := func() {
		t.Helper()
		for _, n := range order(names) {
			if _, err := sched.CheckNow(ctx, ids[n]); err != nil {
				t.Fatalf("check %s: %v", n, err)
			}
		}
		if err := db.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			clk.Advance(time.Second)
			d.Drain(ctx)
		}
	}
	tick() // all up
	world.set(true)
	for range 15 {
		tick()
	}
	world.set(false)
	for range 15 {
		tick()
	}

	got := hook.Messages(t)
	var kinds []string
	for _, m := range got {
		kinds = append(kinds, m.Type)
	}
	if !slices.Equal(kinds, []string{"incident.opened", "incident.resolved"}) {
		for _, m := range got {
			t.Logf("%s cause=%q targets=%v", m.Type, causeOf(m.Data), targetsOf(m.Data))
		}
		t.Fatalf("messages %v, want one opened and one resolved", kinds)
	}
	for _, m := range got {
		if causeOf(m.Data) != "database" {
			t.Errorf("%s names cause %q, want database", m.Type, causeOf(m.Data))
		}
		ts := targetsOf(m.Data)
		slices.Sort(ts)
		if want := slices.Sorted(slices.Values(names)); !slices.Equal(ts, want) {
			t.Errorf("%s names %v, want %v", m.Type, ts, want)
		}
	}
	incidents, err := db.ListIncidents(ctx, uptime.IncidentFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(incidents) != services+1 {
		t.Errorf("%d incidents, want %d", len(incidents), services+1)
	}
	for _, in := range incidents {
		want := "database"
		if in.Target == "database" {
			want = ""
		}
		if in.Cause != want {
			t.Errorf("incident of %s records cause %q, want %q", in.Target, in.Cause, want)
		}
	}
}

// fakeWorld is the prober: every target is down while failing is set; the
// services in reports answer with a health document naming the database.
type fakeWorld struct {
	mu      sync.Mutex
	failing bool
	reports []string
}

func (w *fakeWorld) set(failing bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.failing = failing
}

func (w *fakeWorld) Check(_ context.Context, t uptime.Target) uptime.Result {
	w.mu.Lock()
	defer w.mu.Unlock()
	r := uptime.Result{Status: uptime.StatusUp, Code: 200, Duration: time.Millisecond}
	if w.failing {
		r = uptime.Result{Status: uptime.StatusDown, Code: 503, ErrorClass: uptime.ClassStatus, Error: "503 Service Unavailable"}
		if slices.Contains(w.reports, t.Name) {
			r.ErrorClass = uptime.ClassAssertion
			r.Components = []uptime.Component{{Name: "database", Status: uptime.StatusDown}}
		}
	}
	return r
}

// causeOf is the cause a webhook message's data names.
func causeOf(data map[string]any) string { s, _ := data["cause"].(string); return s }
