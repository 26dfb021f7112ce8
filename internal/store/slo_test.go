package store

import (
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lookout/lookout/internal/uptime"
)

func TestSLOAlerts(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, e *env)
	}{
		{"targets with an slo or a firing alert are listed", testSLOTargets},
		{"a burn is recorded with its state and due at once", testRecordSLO},
		{"a stale or deleted state records nothing", testRecordSLOStale},
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

func (e *env) mustSLOTargets(t *testing.T) map[string]SLOTarget {
	t.Helper()
	ts, err := e.SLOTargets(bg)
	fatalIf(t, err, "slo targets")
	out := map[string]SLOTarget{}
	for _, st := range ts {
		out[st.Target.Name] = st
	}
	return out
}

func testSLOTargets(t *testing.T, e *env) {
	api := e.mustCreate(t, "api", nil)
	fatalIf(t, e.mustUpdate(api, func(x *uptime.Target) { x.SLO = 0.999 }), "set slo")
	e.mustCreate(t, "plain", nil)
	// Looks like an slo to a text search, but is a label.
	e.mustCreate(t, "labelled", map[string]string{"slo": "gold"})
	paused := e.mustCreate(t, "paused", nil)
	fatalIf(t, e.mustUpdate(paused, func(x *uptime.Target) { x.SLO = 0.99; x.Paused = true }), "pause")
	// An objective removed while its page fires: still to be evaluated.
	gone := e.mustCreate(t, "gone", nil)
	fatalIf(t, e.mustUpdate(gone, func(x *uptime.Target) { x.SLO = 0.9 }), "set slo")
	since := e.clock.Now()
	page := uptime.SLOState{Firing: map[string]uptime.SLOAlert{"page": {Since: since}}}
	ok, err := e.RecordSLO(bg, gone.ID, uptime.SLOState{}, page, nil)
	fatalIf(t, err, "record")
	if !ok {
		t.Fatal("the first state was not recorded")
	}
	fatalIf(t, e.mustUpdate(gone, func(x *uptime.Target) { x.SLO = 0 }), "unset slo")

	got := e.mustSLOTargets(t)
	names := slices.Sorted(maps.Keys(got))
	if want := []string{"api", "gone", "paused"}; !slices.Equal(names, want) {
		t.Fatalf("targets %q, want %q", names, want)
	}
	if got["api"].Target.SLO != 0.999 || got["api"].Target.ID != api.ID || len(got["api"].State.Firing) != 0 {
		t.Errorf("api: %+v, want its slo and nothing firing", got["api"])
	}
	if !got["paused"].Target.Paused {
		t.Errorf("paused target listed as %+v, want paused", got["paused"].Target)
	}
	if !got["gone"].State.Equal(page) || got["gone"].Target.SLO != 0 {
		t.Errorf("gone: %+v, want no slo and its page firing since %v", got["gone"], since)
	}
}

func testRecordSLO(t *testing.T, e *env) {
	// A long group_wait: burn-rate alerts must not wait for it.
	e.mustChannel(t, "ops", func(c *uptime.Channel) { c.Default = true; c.GroupWait = uptime.WaitFor(time.Minute) })
	e.mustChannel(t, "payments", func(c *uptime.Channel) { c.MatchLabels = map[string]string{"team": "payments"} })
	e.mustChannel(t, "other", nil)
	api := e.mustCreate(t, "api", map[string]string{"team": "payments"})
	t0 := e.clock.Now()
	burn := &uptime.SLOBurn{Severity: "page", Objective: 0.999, Threshold: 14.4,
		Long: uptime.Burn{Window: uptime.Duration(time.Hour), Rate: 20}, Short: uptime.Burn{Window: uptime.Duration(5 * time.Minute), Rate: 200},
		BudgetSpent: 0.0278}
	ev := func(typ uptime.EventType, suppressed string) uptime.Event {
		return uptime.Event{Type: typ, At: t0, Target: api.Name, Labels: api.Labels, Channels: api.Channels, Suppressed: suppressed, SLO: burn}
	}
	next := uptime.SLOState{Firing: map[string]uptime.SLOAlert{
		"page":   {Since: t0},
		"ticket": {Since: t0, Suppressed: "covered by the page alert"},
	}}
	events := []uptime.Event{ev(uptime.EventSLOBurn, ""), ev(uptime.EventSLOBurn, "covered by the page alert")}
	ok, err := e.RecordSLO(bg, api.ID, uptime.SLOState{}, next, events)
	fatalIf(t, err, "record")
	if !ok {
		t.Fatal("not recorded")
	}
	if events[0].ID != 0 || events[0].TargetID != 0 {
		t.Errorf("the caller's event was written to: %+v", events[0])
	}

	ds := e.deliveries(t, uptime.DeliveryFilter{Target: "api"})
	type row struct {
		Channel string
		Status  uptime.DeliveryStatus
		Reason  string
		Due     time.Time
	}
	var got []row
	for _, d := range ds {
		got = append(got, row{d.Channel, d.Status, d.Reason, d.NextAt})
		if d.Event.Type != uptime.EventSLOBurn || d.Event.IncidentID != 0 || d.Event.Target != "api" {
			t.Errorf("delivery %d carries %+v, want api's burn with no incident", d.ID, d.Event)
		}
		if diff := cmp.Diff(burn, d.Event.SLO); diff != "" {
			t.Errorf("delivery %d's burn (-want +got):\n%s", d.ID, diff)
		}
	}
	want := []row{ // newest first
		{"payments", uptime.DeliverySkipped, "covered by the page alert", t0},
		{"ops", uptime.DeliverySkipped, "covered by the page alert", t0},
		{"payments", uptime.DeliveryPending, "", t0},
		{"ops", uptime.DeliveryPending, "", t0},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("deliveries (-want +got):\n%s", diff)
	}
	if n := e.count(t, "incidents"); n != 0 {
		t.Errorf("%d incidents, want none: a burn is no outage", n)
	}

	// The state survives a restart.
	again := e.open(t)
	ts, err := again.SLOTargets(bg)
	fatalIf(t, err, "slo targets after a restart")
	if len(ts) != 1 || !ts[0].State.Equal(next) {
		t.Errorf("after a restart %+v, want api with %+v", ts, next)
	}

	// Recovered: the state empties, the recovery is queued.
	ok, err = e.RecordSLO(bg, api.ID, next, uptime.SLOState{}, []uptime.Event{ev(uptime.EventSLORecovered, "")})
	fatalIf(t, err, "record recovery")
	if !ok || e.count(t, "slo_alerts") != 0 {
		t.Errorf("recovery recorded %v with %d alerts left, want true and none", ok, e.count(t, "slo_alerts"))
	}
	if ds := e.deliveries(t, uptime.DeliveryFilter{Status: uptime.DeliveryPending}); len(ds) != 4 || ds[0].Event.Type != uptime.EventSLORecovered {
		t.Errorf("%d pending deliveries, the newest %+v; want 4, the recovery first", len(ds), ds[0].Event)
	}
	// Nothing firing any more, no slo: no longer listed.
	if got := e.mustSLOTargets(t); len(got) != 0 {
		t.Errorf("listed %v, want none", got)
	}
}

func testRecordSLOStale(t *testing.T, e *env) {
	e.mustChannel(t, "ops", func(c *uptime.Channel) { c.Default = true })
	api := e.mustCreate(t, "api", nil)
	t0 := e.clock.Now()
	page := uptime.SLOState{Firing: map[string]uptime.SLOAlert{"page": {Since: t0}}}
	burn := []uptime.Event{{Type: uptime.EventSLOBurn, At: t0, Target: "api", SLO: &uptime.SLOBurn{Severity: "page"}}}
	ok, err := e.RecordSLO(bg, api.ID, uptime.SLOState{}, page, burn)
	fatalIf(t, err, "record")
	if !ok {
		t.Fatal("not recorded")
	}
	// Another evaluation from the same stale state (another instance's)
	// loses: the burn is alerted once.
	ok, err = e.RecordSLO(bg, api.ID, uptime.SLOState{}, page, burn)
	fatalIf(t, err, "record again")
	if ok {
		t.Error("a stale state was recorded")
	}
	if n := e.count(t, "events"); n != 1 {
		t.Errorf("%d events, want 1", n)
	}
	// A deleted target records nothing, and leaves no state behind.
	fatalIf(t, e.DeleteTarget(bg, "api"), "delete")
	ok, err = e.RecordSLO(bg, api.ID, page, uptime.SLOState{}, burn)
	fatalIf(t, err, "record for a deleted target")
	if ok || e.count(t, "events") != 1 || e.count(t, "slo_alerts") != 0 {
		t.Errorf("deleted target: recorded %v, %d events, %d alerts; want false, 1, 0", ok, e.count(t, "events"), e.count(t, "slo_alerts"))
	}
}
