package scheduler

import (
	"context"
	"testing"
	"time"

	"github.com/lookout/lookout/internal/uptime"
)

// The scheduler attributes an opening to a dependency it sees down, and
// the resolution carries the opening's cause.
func TestCauseOnEvents(t *testing.T) {
	s, _, p, r := fixture(Config{})
	dbDown := true
	p.status = func(tg uptime.Target, _ int) uptime.Status {
		if dbDown {
			return uptime.StatusDown
		}
		return uptime.StatusUp
	}
	db := target(1, "postgres-main", 10*time.Second)
	db.FailureThreshold = 1
	api := target(2, "api", 10*time.Second)
	api.FailureThreshold, api.DependsOn = 1, []string{"postgres-main"}
	other := target(3, "other", 10*time.Second)
	other.FailureThreshold = 1
	for _, tg := range []uptime.Target{db, api, other} {
		s.Upsert(tg)
	}
	check := func(id int64) {
		t.Helper()
		if _, err := s.CheckNow(context.Background(), id); err != nil {
			t.Fatal(err)
		}
	}
	event := func(id int64) uptime.Event {
		t.Helper()
		obs := r.of(id)
		o := obs[len(obs)-1]
		if len(o.Events) != 1 {
			t.Fatalf("target %d: events %+v, want one", id, o.Events)
		}
		return o.Events[0]
	}
	check(1)
	check(2)
	check(3)
	if ev := event(1); ev.Type != uptime.EventIncidentOpened || ev.Cause != "" {
		t.Errorf("the cause's own opening: %s cause %q, want opened without a cause", ev.Type, ev.Cause)
	}
	if ev := event(2); ev.Type != uptime.EventIncidentOpened || ev.Cause != "postgres-main" {
		t.Errorf("dependent's opening: %s cause %q, want opened caused by postgres-main", ev.Type, ev.Cause)
	}
	if ev := event(3); ev.Cause != "" {
		t.Errorf("unrelated target's opening has cause %q", ev.Cause)
	}
	dbDown = false
	check(2)
	if ev := event(2); ev.Type != uptime.EventIncidentResolved || ev.Cause != "postgres-main" {
		t.Errorf("dependent's resolution: %s cause %q, want resolved caused by postgres-main", ev.Type, ev.Cause)
	}

	// Renamed, the cause is found under its new name only.
	db.Name = "pg"
	s.Upsert(db)
	dbDown = true
	check(2)
	if ev := event(2); ev.Cause != "" {
		t.Errorf("after the rename, cause %q; the old name is no target any more", ev.Cause)
	}
}

// The cause of an open incident is part of the state the store keeps: a
// scheduler loaded after a restart still groups a new dependent of a
// dependent under the root.
func TestCauseChainSurvivesARestart(t *testing.T) {
	s, _, p, r := fixture(Config{})
	p.status = func(uptime.Target, int) uptime.Status { return uptime.StatusDown }
	db := target(1, "postgres-main", 10*time.Second)
	api := target(2, "api", 10*time.Second)
	api.DependsOn = []string{"postgres-main"}
	web := target(3, "web", 10*time.Second)
	web.FailureThreshold, web.DependsOn = 1, []string{"api"}
	down := uptime.State{Status: uptime.StatusDown, Since: t0.Add(-time.Minute), ConsecutiveFailures: 3}
	apiDown := down
	apiDown.Cause = "postgres-main"
	s.Load(db, down)
	s.Load(api, apiDown)
	s.Load(web, uptime.State{})

	if _, err := s.CheckNow(context.Background(), 3); err != nil {
		t.Fatal(err)
	}
	obs := r.of(3)
	if len(obs) != 1 || len(obs[0].Events) != 1 {
		t.Fatalf("web's observations %+v, want one with an opening", obs)
	}
	if ev := obs[0].Events[0]; ev.Type != uptime.EventIncidentOpened || ev.Cause != "postgres-main" {
		t.Errorf("web's opening: %s cause %q, want opened caused by the root, postgres-main", ev.Type, ev.Cause)
	}
	if c := obs[0].State.Cause; c != "postgres-main" {
		t.Errorf("web's recorded state has cause %q, want postgres-main, for its own dependents", c)
	}
}

// The peers the cause rule looks up: a paused target's down state is stale,
// so it is no one's cause; and when two targets share a name for a moment
// (one deleted while another is created under its name), removing or
// renaming the old one leaves the new one found by that name.
func TestCausePeers(t *testing.T) {
	s, _, p, r := fixture(Config{})
	p.status = func(uptime.Target, int) uptime.Status { return uptime.StatusDown }
	down := uptime.State{Status: uptime.StatusDown, Since: t0.Add(-time.Minute)}
	api := target(10, "api", 10*time.Second)
	api.FailureThreshold, api.DependsOn = 1, []string{"postgres-main"}
	cause := func() string {
		t.Helper()
		s.Load(api, uptime.State{}) // up again: the next check opens anew
		if _, err := s.CheckNow(context.Background(), api.ID); err != nil {
			t.Fatal(err)
		}
		obs := r.of(api.ID)
		evs := obs[len(obs)-1].Events
		if len(evs) != 1 || evs[0].Type != uptime.EventIncidentOpened {
			t.Fatalf("events %+v, want an opening", evs)
		}
		return evs[0].Cause
	}

	old := target(1, "postgres-main", 10*time.Second)
	old.Paused = true
	s.Load(old, down)
	if c := cause(); c != "" {
		t.Errorf("paused dependency down: cause %q, want none", c)
	}

	s.Load(target(2, "postgres-main", 10*time.Second), down)
	s.Remove(1)
	if c := cause(); c != "postgres-main" {
		t.Errorf("after the old holder of the name was removed: cause %q, want postgres-main", c)
	}

	s.Load(target(3, "postgres-main", 10*time.Second), down)
	s.Upsert(target(2, "postgres-old", 10*time.Second))
	if c := cause(); c != "postgres-main" {
		t.Errorf("after the old holder of the name was renamed: cause %q, want postgres-main", c)
	}
}
