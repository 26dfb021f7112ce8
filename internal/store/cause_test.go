package store

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lookout/lookout/internal/uptime"
)

func TestAttributeIncidents(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		t.Parallel()
		testAttributeIncidents(t, openEnv(t, b))
	})
}

// testAttributeIncidents: incidents that opened before their dependency
// failed are attributed to it once it does — suspected while it is below
// its threshold, then for sure — and a chain goes to its root.
func testAttributeIncidents(t *testing.T, e *env) {
	e.mustChannel(t, "ops", func(c *uptime.Channel) { c.Default = true })
	t0 := e.clock.Now()
	db := e.mustCreate(t, "db", nil)
	api := e.mustCreate(t, "api", nil)
	web := e.mustCreate(t, "web", nil)
	svc := e.mustCreate(t, "svc", nil)
	lone := e.mustCreate(t, "lone", nil)
	for _, tg := range []*uptime.Target{api, web, svc} {
		fatalIf(t, e.mustUpdate(tg, func(x *uptime.Target) {
			switch x.Name {
			case "api":
				x.DependsOn = []string{"db"}
			case "web":
				x.DependsOn = []string{"api"}
			case "svc":
				x.Components = map[string]string{"database": "db"}
			}
		}), "update %s", tg.Name)
	}
	// api, web and svc cross their thresholds before db fails at all;
	// web's provisional cause is api, as the scheduler saw it.
	e.recordEvents(t, api, t0, opened(t0))
	webOpened := opened(t0)
	webOpened.Cause = "api"
	e.recordEvents(t, web, t0, webOpened)
	svcOpened := opened(t0)
	svcOpened.Components = []uptime.Component{{Name: "database", Status: uptime.StatusDown}}
	e.recordEvents(t, svc, t0, svcOpened)
	e.recordEvents(t, lone, t0, opened(t0))
	incident := func(tg *uptime.Target) int64 {
		in, err := e.OpenIncident(bg, tg.ID)
		fatalIf(t, err, "open incident of %s", tg.Name)
		return in.ID
	}
	ids := []int64{incident(api), incident(web), incident(svc), incident(lone), 999999}
	attribute := func(label string, want map[int64]uptime.Attribution) {
		t.Helper()
		got, err := e.AttributeIncidents(bg, ids)
		fatalIf(t, err, "attribute")
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: attributions (-want +got):\n%s", label, diff)
		}
		for _, tg := range []*uptime.Target{api, web, svc, lone} {
			in, err := e.OpenIncident(bg, tg.ID)
			fatalIf(t, err, "open incident of %s", tg.Name)
			if in.Cause != want[in.ID].Cause {
				t.Errorf("%s: incident of %s records cause %q, want %q", label, tg.Name, in.Cause, want[in.ID].Cause)
			}
		}
	}
	// db is up: api has no cause, web's is api itself (down), svc reports
	// db failing in its health document: suspected.
	e.Record(uptime.Observation{Result: uptime.Result{TargetID: db.ID, StartedAt: t0, Status: uptime.StatusUp},
		State: uptime.State{Status: uptime.StatusUp, ConsecutiveSuccesses: 1}})
	e.mustFlush(t)
	attribute("db up", map[int64]uptime.Attribution{
		ids[0]: {}, ids[1]: {Cause: "api"}, ids[2]: {Cause: "db", Suspected: true}, ids[3]: {},
	})

	// db's latest check failed, below its threshold: a suspected cause of
	// api, and so of web through it.
	at := t0.Add(time.Second)
	e.Record(uptime.Observation{Result: uptime.Result{TargetID: db.ID, StartedAt: at, Status: uptime.StatusDown},
		State: uptime.State{Status: uptime.StatusUp, ConsecutiveFailures: 1, FailingSince: at}})
	e.mustFlush(t)
	attribute("db failing", map[int64]uptime.Attribution{
		ids[0]: {Cause: "db", Suspected: true}, ids[1]: {Cause: "db", Suspected: true},
		ids[2]: {Cause: "db", Suspected: true}, ids[3]: {},
	})

	// db is down: the cause for sure, and what the deliveries and the
	// targets' states now say.
	e.recordEvents(t, db, t0.Add(2*time.Second), opened(at))
	attribute("db down", map[int64]uptime.Attribution{
		ids[0]: {Cause: "db"}, ids[1]: {Cause: "db"}, ids[2]: {Cause: "db"}, ids[3]: {},
	})
	for _, dl := range e.deliveries(t, uptime.DeliveryFilter{Channel: "ops"}) {
		want := "db"
		if dl.Event.Target == "db" || dl.Event.Target == "lone" {
			want = ""
		}
		if dl.Event.Cause != want {
			t.Errorf("delivery of %s's %s says cause %q, want %q", dl.Event.Target, dl.Event.Type, dl.Event.Cause, want)
		}
	}
	snap, err := e.GetTarget(bg, "web")
	fatalIf(t, err, "get web")
	if snap.State.Cause != "db" {
		t.Errorf("web's state says cause %q, want db", snap.State.Cause)
	}

	// A resolved incident keeps what it was attributed to.
	e.recordEvents(t, api, t0.Add(time.Minute), resolved(t0, 3))
	e.Record(uptime.Observation{Result: uptime.Result{TargetID: db.ID, StartedAt: t0.Add(time.Minute), Status: uptime.StatusUp},
		State: uptime.State{Status: uptime.StatusUp, ConsecutiveSuccesses: 1}})
	e.mustFlush(t)
	got, err := e.AttributeIncidents(bg, ids[:1])
	fatalIf(t, err, "attribute resolved")
	if got[ids[0]].Cause != "db" {
		t.Errorf("resolved incident attributed %+v, want its stored cause db", got[ids[0]])
	}
}

// mustUpdate changes a stored target.
func (e *env) mustUpdate(tg *uptime.Target, fn func(*uptime.Target)) error {
	_, err := e.UpdateTarget(bg, tg.Name, func(x *uptime.Target) error { fn(x); return nil })
	return err
}
