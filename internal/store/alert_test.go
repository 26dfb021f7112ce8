package store

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lookout/lookout/internal/testkit"
	"github.com/lookout/lookout/internal/uptime"
)

// TestAlerting runs the incident, outbox and channel behaviours against
// every backend, each on a fresh database.
func TestAlerting(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, e *env)
	}{
		{"an incident opens and resolves with its events", testIncidentLifecycle},
		{"events are routed per channel", testRouting},
		{"a suppressed event is logged as skipped", testSuppressed},
		{"a resolution never goes before its opening", testClaimOrder},
		{"a lease holds a delivery until it expires", testLeases},
		{"concurrent claimers never share a delivery", testConcurrentClaims},
		{"finish retries and finishes", testFinishDelivery},
		{"the opening's thread is handed to later alerts", testThread},
		{"reminders are queued once and not after resolve", testReminder},
		{"pending openings are claimed for grouping", testClaimPendingOpened},
		{"resolutions sharing a cause wait and are claimed together", testClaimPendingByCause},
		{"channels are stored with their secrets", testChannelsCRUD},
		{"deleting a channel skips its pending deliveries", testDeleteChannel},
		{"deleting a target skips its pending deliveries", testDeleteTargetAlerts},
		{"silences and maintenance windows", testSilencesMaintenance},
		{"incidents are filtered and paged", testListIncidents},
		{"incident stats sum up every incident of the filter", testIncidentStats},
		{"the delivery log is filtered and paged", testListDeliveries},
		{"an opening of an open incident reuses it", testReopenedAfterFlap},
		{"a certificate warning is due at once, with no incident", testCertWarning},
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

func (e *env) mustChannel(t testing.TB, name string, mod func(*uptime.Channel)) *uptime.Channel {
	t.Helper()
	c := &uptime.Channel{Name: name, Kind: "webhook", URL: uptime.Secret("https://hooks.example.com/" + name)}
	if mod != nil {
		mod(c)
	}
	c.Normalize()
	fatalIf(t, c.Validate(), "channel %s", name)
	fatalIf(t, e.CreateChannel(bg, c), "create channel %s", name)
	return c
}

// recordEvents records one failed check of tg at at carrying evs, as the
// scheduler would, and waits until it is committed.
func (e *env) recordEvents(t testing.TB, tg *uptime.Target, at time.Time, evs ...uptime.Event) {
	t.Helper()
	for i := range evs {
		ev := &evs[i]
		ev.TargetID, ev.Target, ev.Labels, ev.Channels = tg.ID, tg.Name, tg.Labels, tg.Channels
		if ev.At.IsZero() {
			ev.At = at
		}
	}
	r := uptime.Result{TargetID: tg.ID, StartedAt: at, Status: uptime.StatusDown, Code: 503,
		ErrorClass: uptime.ClassStatus, Error: "503 Service Unavailable"}
	e.Record(uptime.Observation{Result: r, State: uptime.State{Status: uptime.StatusDown}, Events: evs})
	e.mustFlush(t)
}

func opened(since time.Time) uptime.Event {
	return uptime.Event{Type: uptime.EventIncidentOpened, Since: since, Error: "503 Service Unavailable",
		ErrorClass: uptime.ClassStatus, Failures: 3}
}

func resolved(since time.Time, failures int) uptime.Event {
	return uptime.Event{Type: uptime.EventIncidentResolved, Since: since, Failures: failures}
}

func (e *env) deliveries(t testing.TB, f uptime.DeliveryFilter) []uptime.Delivery {
	t.Helper()
	ds, err := e.ListDeliveries(bg, f)
	fatalIf(t, err, "list deliveries")
	return ds
}

func (e *env) claim(t testing.TB, now time.Time) []int64 {
	t.Helper()
	ds, err := e.ClaimDeliveries(bg, now, time.Minute, 100)
	fatalIf(t, err, "claim")
	return ids(ds)
}

func ids(ds []uptime.Delivery) []int64 {
	out := []int64{}
	for _, d := range ds {
		out = append(out, d.ID)
	}
	return out
}

func testIncidentLifecycle(t *testing.T, e *env) {
	ch := e.mustChannel(t, "ops", func(c *uptime.Channel) { c.Default = true })
	tg := e.mustCreate(t, "api", map[string]string{"team": "a"})
	t0 := e.clock.Now()
	e.recordEvents(t, tg, t0, opened(t0.Add(-20*time.Second)))

	in, err := e.OpenIncident(bg, tg.ID)
	fatalIf(t, err, "open incident")
	want := uptime.Incident{ID: in.ID, TargetID: tg.ID, Target: "api", StartedAt: t0.Add(-20 * time.Second),
		DetectedAt: t0, Failures: 3, LastError: "503 Service Unavailable", ErrorClass: uptime.ClassStatus}
	if diff := cmp.Diff(want, in); diff != "" {
		t.Errorf("open incident (-want +got):\n%s", diff)
	}
	ds := e.deliveries(t, uptime.DeliveryFilter{})
	if len(ds) != 1 {
		t.Fatalf("%d deliveries, want 1", len(ds))
	}
	d := ds[0]
	wantEv := uptime.Event{ID: d.EventID, Type: uptime.EventIncidentOpened, At: t0, Since: t0.Add(-20 * time.Second),
		Error: "503 Service Unavailable", ErrorClass: uptime.ClassStatus, Failures: 3, IncidentID: in.ID,
		TargetID: tg.ID, Target: "api", Labels: map[string]string{"team": "a"}}
	if diff := cmp.Diff(wantEv, d.Event); diff != "" {
		t.Errorf("stored event (-want +got):\n%s", diff)
	}
	if d.Channel != "ops" || d.Status != uptime.DeliveryPending || d.Attempts != 0 ||
		!d.NextAt.Equal(t0.Add(ch.GroupWait.D())) || !d.CreatedAt.Equal(e.clock.Now()) || !d.FinishedAt.IsZero() {
		t.Errorf("opened delivery %+v; want pending to ops due at %v (group_wait)", d, t0.Add(ch.GroupWait.D()))
	}

	// While open, the incident counts the failed checks so far, as the
	// target's state does.
	e.Record(uptime.Observation{Result: uptime.Result{TargetID: tg.ID, StartedAt: t0.Add(time.Minute), Status: uptime.StatusDown},
		State: uptime.State{Status: uptime.StatusDown, IncidentFailures: 5}})
	e.mustFlush(t)
	list, err := e.ListIncidents(bg, uptime.IncidentFilter{})
	fatalIf(t, err, "list incidents")
	if in, err := e.OpenIncident(bg, tg.ID); err != nil || len(list) != 1 || list[0].Failures != 5 || in.Failures != 5 {
		t.Errorf("open incident after 2 more failures: %d listed (%+v), open one %+v %v; want 5 failures", len(list), list, in, err)
	}

	t1 := t0.Add(5 * time.Minute)
	e.recordEvents(t, tg, t1, resolved(t0.Add(-20*time.Second), 7))
	if _, err := e.OpenIncident(bg, tg.ID); !errors.Is(err, uptime.ErrNotFound) {
		t.Errorf("open incident after resolve: %v, want ErrNotFound", err)
	}
	list, err = e.ListIncidents(bg, uptime.IncidentFilter{})
	fatalIf(t, err, "list incidents")
	want.ResolvedAt, want.Failures = t1, 7
	if diff := cmp.Diff([]uptime.Incident{want}, list); diff != "" {
		t.Errorf("resolved incident (-want +got):\n%s", diff)
	}
	ds = e.deliveries(t, uptime.DeliveryFilter{})
	if len(ds) != 2 || ds[0].Event.Type != uptime.EventIncidentResolved || ds[0].Event.IncidentID != in.ID ||
		!ds[0].NextAt.Equal(t1) || ds[0].Event.Duration() != 5*time.Minute+20*time.Second {
		t.Errorf("after resolve, deliveries %+v; want the resolution first, due at once, of incident %d", ds, in.ID)
	}
	if !ds[0].IncidentResolvedAt.Equal(t1) {
		t.Errorf("IncidentResolvedAt %v, want %v", ds[0].IncidentResolvedAt, t1)
	}
	// Events that are no incident's own still name the open one.
	e.recordEvents(t, tg, t1.Add(time.Minute), opened(t1.Add(time.Minute)),
		uptime.Event{Type: uptime.EventFlapping, Since: t0})
	ds = e.deliveries(t, uptime.DeliveryFilter{Limit: 2})
	in2, err := e.OpenIncident(bg, tg.ID)
	fatalIf(t, err, "second incident")
	if in2.ID == in.ID || ds[0].Event.Type != uptime.EventFlapping || ds[0].Event.IncidentID != in2.ID ||
		ds[1].Event.IncidentID != in2.ID {
		t.Errorf("flapping event %+v of new incident %d", ds[0].Event, in2.ID)
	}
}

func testRouting(t *testing.T, e *env) {
	e.mustChannel(t, "def", func(c *uptime.Channel) { c.Default = true })
	e.mustChannel(t, "named", nil)
	e.mustChannel(t, "ops", func(c *uptime.Channel) { c.MatchLabels = map[string]string{"team": "ops"} })
	e.mustChannel(t, "quiet", nil)
	at := e.clock.Now()
	cases := []struct {
		name     string
		labels   map[string]string
		channels []string
		want     []string
	}{
		{"web", map[string]string{"team": "web"}, nil, []string{"def"}},
		{"named", nil, []string{"named"}, []string{"named"}},
		{"opsdefault", map[string]string{"team": "ops"}, nil, []string{"def", "ops"}},
		{"opsnamed", map[string]string{"team": "ops"}, []string{"named"}, []string{"named", "ops"}},
	}
	for _, c := range cases {
		tg := e.mustCreate(t, c.name, c.labels, c.channels...)
		e.recordEvents(t, tg, at, opened(at))
		var got []string
		for _, d := range e.deliveries(t, uptime.DeliveryFilter{Target: c.name}) {
			got = append(got, d.Channel)
		}
		slices.Sort(got)
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("%s routed to (-want +got):\n%s", c.name, diff)
		}
	}
	// The writer's channel list follows channel changes at once.
	e.mustChannel(t, "late", func(c *uptime.Channel) { c.Default = true })
	_, err := e.UpdateChannel(bg, "quiet", func(c *uptime.Channel) error {
		c.MatchLabels = map[string]string{"team": "web"}
		return nil
	})
	fatalIf(t, err, "update channel")
	tg := e.mustCreate(t, "web2", map[string]string{"team": "web"})
	e.recordEvents(t, tg, at, opened(at))
	var got []string
	for _, d := range e.deliveries(t, uptime.DeliveryFilter{Target: "web2"}) {
		got = append(got, d.Channel)
	}
	slices.Sort(got)
	if diff := cmp.Diff([]string{"def", "late", "quiet"}, got); diff != "" {
		t.Errorf("after channel changes, routed to (-want +got):\n%s", diff)
	}
}

func testSuppressed(t *testing.T, e *env) {
	e.mustChannel(t, "ops", func(c *uptime.Channel) { c.Default = true })
	tg := e.mustCreate(t, "api", nil)
	at := e.clock.Now()
	ev := opened(at)
	ev.Suppressed = uptime.SuppressedFlapping
	e.recordEvents(t, tg, at, ev)
	ds := e.deliveries(t, uptime.DeliveryFilter{})
	if len(ds) != 1 || ds[0].Status != uptime.DeliverySkipped || ds[0].Reason != "flapping" ||
		ds[0].FinishedAt.IsZero() || ds[0].Event.Suppressed != "flapping" {
		t.Errorf("suppressed event's deliveries %+v; want one skipped with reason flapping", ds)
	}
	in, err := e.OpenIncident(bg, tg.ID)
	fatalIf(t, err, "open incident")
	if in.Suppressed != "flapping" {
		t.Errorf("incident suppressed %q, want flapping", in.Suppressed)
	}
	if ok, err := e.Alerted(bg, in.ID, "ops"); err != nil || ok {
		t.Errorf("Alerted after a skipped opening: %v, %v", ok, err)
	}
	if got := e.claim(t, at.Add(time.Hour)); len(got) != 0 {
		t.Errorf("claimed skipped deliveries %v", got)
	}
	n, later, err := e.OutboxPending(bg, at.Add(time.Hour))
	fatalIf(t, err, "outbox pending")
	if n != 0 || later != 0 {
		t.Errorf("outbox pending %d due, %d later, want none", n, later)
	}
	// A reminder delivered is the channel told, when the opening was not.
	fatalIf(t, e.EnqueueReminder(bg, in.ID, "ops", at.Add(time.Hour)), "reminder")
	ds, err = e.ClaimDeliveries(bg, at.Add(time.Hour), time.Minute, 10)
	fatalIf(t, err, "claim reminder")
	if len(ds) != 1 || ds[0].Event.Type != uptime.EventIncidentReminder {
		t.Fatalf("claimed %+v, want the reminder", ds)
	}
	fatalIf(t, e.FinishDelivery(bg, ds[0].ID, uptime.DeliveryUpdate{Status: uptime.DeliveryDelivered, At: at.Add(time.Hour)}), "finish")
	if ok, err := e.Alerted(bg, in.ID, "ops"); err != nil || !ok {
		t.Errorf("Alerted after a delivered reminder: %v, %v; want true", ok, err)
	}
}

func testClaimOrder(t *testing.T, e *env) {
	e.mustChannel(t, "ops", func(c *uptime.Channel) { c.Default = true; c.GroupWait = uptime.WaitFor(10 * time.Second) })
	tg := e.mustCreate(t, "api", nil)
	t0 := e.clock.Now()
	e.recordEvents(t, tg, t0, opened(t0))
	e.recordEvents(t, tg, t0.Add(time.Second), resolved(t0, 3))
	ds := e.deliveries(t, uptime.DeliveryFilter{})
	res, open := ds[0], ds[1]

	if got := e.claim(t, t0.Add(5*time.Second)); len(got) != 0 {
		t.Fatalf("claimed %v before the opening was due; the resolution must wait for it", got)
	}
	n, later, err := e.OutboxPending(bg, t0.Add(5*time.Second))
	fatalIf(t, err, "pending")
	oldest, err := e.OldestPending(bg)
	fatalIf(t, err, "oldest")
	// The resolution is due (held behind its opening); the opening
	// waits for group_wait, until t0+10s.
	if n != 1 || later != 1 || !oldest.Equal(t0.Add(time.Second)) {
		t.Errorf("outbox pending %d due, %d later, oldest %v; want 1, 1 and %v", n, later, oldest, t0.Add(time.Second))
	}
	if n, later, err = e.OutboxPending(bg, t0.Add(10*time.Second)); err != nil || n != 2 || later != 0 {
		t.Errorf("outbox pending at group_wait's end: %d due, %d later, %v; want 2 and 0", n, later, err)
	}
	if diff := cmp.Diff([]int64{open.ID}, e.claim(t, t0.Add(10*time.Second))); diff != "" {
		t.Fatalf("claim once the opening is due (-want +got):\n%s", diff)
	}
	if got := e.claim(t, t0.Add(11*time.Second)); len(got) != 0 {
		t.Fatalf("claimed %v while the opening is out", got)
	}
	fatalIf(t, e.FinishDelivery(bg, open.ID, uptime.DeliveryUpdate{Status: uptime.DeliveryDelivered, Attempted: true,
		At: t0.Add(11 * time.Second)}), "finish")
	if diff := cmp.Diff([]int64{res.ID}, e.claim(t, t0.Add(12*time.Second))); diff != "" {
		t.Fatalf("claim after the opening went (-want +got):\n%s", diff)
	}
	fatalIf(t, e.FinishDelivery(bg, res.ID, uptime.DeliveryUpdate{Status: uptime.DeliveryDelivered, Attempted: true,
		At: t0.Add(12 * time.Second)}), "finish")
	oldest, err = e.OldestPending(bg)
	fatalIf(t, err, "oldest")
	if !oldest.IsZero() {
		t.Errorf("oldest pending %v with nothing pending", oldest)
	}
	list, err := e.ListIncidents(bg, uptime.IncidentFilter{})
	fatalIf(t, err, "incidents")
	if len(list) != 1 || list[0].AlertsSent != 2 {
		t.Errorf("incidents %+v, want one with 2 alerts sent", list)
	}
}

func testLeases(t *testing.T, e *env) {
	e.mustChannel(t, "ops", func(c *uptime.Channel) { c.Default = true })
	tg := e.mustCreate(t, "api", nil)
	t0 := e.clock.Now()
	e.recordEvents(t, tg, t0, resolved(t0, 1))
	now := t0.Add(time.Second)
	ds, err := e.ClaimDeliveries(bg, now, 30*time.Second, 10)
	fatalIf(t, err, "claim")
	if len(ds) != 1 {
		t.Fatalf("claimed %d, want 1", len(ds))
	}
	for _, at := range []time.Duration{0, 29 * time.Second} {
		if got := e.claim(t, now.Add(at)); len(got) != 0 {
			t.Errorf("claimed %v again %v into a 30s lease", got, at)
		}
	}
	// The claimer crashed: once its lease runs out, the delivery is due again.
	if diff := cmp.Diff([]int64{ds[0].ID}, e.claim(t, now.Add(30*time.Second))); diff != "" {
		t.Errorf("claim after the lease expired (-want +got):\n%s", diff)
	}
}

func testConcurrentClaims(t *testing.T, e *env) {
	e.mustChannel(t, "a", func(c *uptime.Channel) { c.Default = true })
	e.mustChannel(t, "b", func(c *uptime.Channel) { c.Default = true })
	t0 := e.clock.Now()
	const targets = 30
	for i := range targets {
		tg := e.mustCreate(t, fmt.Sprintf("t%02d", i), nil)
		// Two events per target and channel: the second must wait for the
		// first, whoever claims it.
		e.Record(uptime.Observation{
			Result: uptime.Result{TargetID: tg.ID, StartedAt: t0, Status: uptime.StatusDown},
			Events: []uptime.Event{
				{Type: uptime.EventIncidentOpened, At: t0, Since: t0, TargetID: tg.ID, Target: tg.Name, Channels: tg.Channels},
				{Type: uptime.EventIncidentResolved, At: t0, Since: t0, TargetID: tg.ID, Target: tg.Name, Channels: tg.Channels},
			},
		})
	}
	e.mustFlush(t)
	now := t0.Add(time.Hour)
	var (
		mu      sync.Mutex
		claimed = map[int64]int{}
		// openDone holds the (target, channel) pairs whose opening was
		// finished, or is being finished: their resolution may go.
		openDone = map[string]bool{}
		wg       sync.WaitGroup
	)
	errs := make(chan error, 4*targets*4)
	for range 4 {
		wg.Go(func() {
			for idle := 0; idle < 20; {
				ds, err := e.ClaimDeliveries(bg, now, time.Hour, 3)
				if err != nil {
					errs <- err
					return
				}
				if len(ds) == 0 {
					idle++
					time.Sleep(time.Millisecond)
					continue
				}
				idle = 0
				for _, d := range ds {
					key := d.Event.Target + "|" + d.Channel
					mu.Lock()
					claimed[d.ID]++
					if d.Event.Type == uptime.EventIncidentResolved && !openDone[key] {
						errs <- fmt.Errorf("resolution %d to %s claimed before its opening finished", d.ID, key)
					}
					if d.Event.Type == uptime.EventIncidentOpened {
						openDone[key] = true
					}
					mu.Unlock()
					if err := e.FinishDelivery(bg, d.ID, uptime.DeliveryUpdate{Status: uptime.DeliveryDelivered, Attempted: true, At: now}); err != nil {
						errs <- err
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("claimer: %v", err)
	}
	if len(claimed) != targets*4 {
		t.Errorf("%d deliveries claimed, want %d", len(claimed), targets*4)
	}
	for id, n := range claimed {
		if n != 1 {
			t.Errorf("delivery %d claimed %d times", id, n)
		}
	}
	n, later, err := e.OutboxPending(bg, e.clock.Now().Add(24*time.Hour))
	fatalIf(t, err, "pending")
	if n+later != 0 {
		t.Errorf("%d still pending", n+later)
	}
}

func testFinishDelivery(t *testing.T, e *env) {
	e.mustChannel(t, "ops", func(c *uptime.Channel) { c.Default = true })
	tg := e.mustCreate(t, "api", nil)
	t0 := e.clock.Now()
	e.recordEvents(t, tg, t0, resolved(t0, 1))
	id := e.claim(t, t0)[0]
	fatalIf(t, e.FinishDelivery(bg, id, uptime.DeliveryUpdate{Status: uptime.DeliveryPending, Attempted: true,
		NextAt: t0.Add(time.Minute), Error: "503 from receiver"}), "retry")
	if got := e.claim(t, t0.Add(59*time.Second)); len(got) != 0 {
		t.Errorf("claimed %v before its retry time", got)
	}
	ds, err := e.ClaimDeliveries(bg, t0.Add(time.Minute), time.Minute, 10)
	fatalIf(t, err, "claim retry")
	if len(ds) != 1 || ds[0].ID != id || ds[0].Attempts != 1 || ds[0].LastError != "503 from receiver" ||
		!ds[0].NextAt.Equal(t0.Add(time.Minute)) || ds[0].Status != uptime.DeliveryPending {
		t.Fatalf("retried delivery %+v", ds)
	}
	end := t0.Add(2 * time.Minute)
	fatalIf(t, e.FinishDelivery(bg, id, uptime.DeliveryUpdate{Status: uptime.DeliveryDead, Attempted: true,
		Error: "400 bad request", Reason: "permanent error", At: end}), "final")
	got := e.deliveries(t, uptime.DeliveryFilter{})[0]
	if got.Status != uptime.DeliveryDead || got.Attempts != 2 || got.LastError != "400 bad request" ||
		got.Reason != "permanent error" || !got.FinishedAt.Equal(end) {
		t.Errorf("dead delivery %+v", got)
	}
	// A late finish of a final delivery changes nothing.
	fatalIf(t, e.FinishDelivery(bg, id, uptime.DeliveryUpdate{Status: uptime.DeliveryPending, NextAt: end}), "late finish")
	if again := e.deliveries(t, uptime.DeliveryFilter{})[0]; again.Status != uptime.DeliveryDead || again.Attempts != 2 {
		t.Errorf("late finish changed a final delivery: %+v", again)
	}
	if err := e.FinishDelivery(bg, 999999, uptime.DeliveryUpdate{Status: uptime.DeliveryDelivered}); !errors.Is(err, uptime.ErrNotFound) {
		t.Errorf("finish of an unknown delivery: %v, want ErrNotFound", err)
	}
	var v *uptime.ValidationError
	if err := e.FinishDelivery(bg, id, uptime.DeliveryUpdate{Status: "sent"}); !errors.As(err, &v) {
		t.Errorf("finish with an unknown status: %v, want a ValidationError", err)
	}
	// Muting is no attempt.
	e.recordEvents(t, tg, t0.Add(time.Hour), resolved(t0, 1))
	id = e.claim(t, t0.Add(time.Hour))[0]
	fatalIf(t, e.FinishDelivery(bg, id, uptime.DeliveryUpdate{Status: uptime.DeliveryMuted, Reason: "silence 3"}), "mute")
	if got := e.deliveries(t, uptime.DeliveryFilter{})[0]; got.Status != uptime.DeliveryMuted || got.Attempts != 0 ||
		got.Reason != "silence 3" || !got.FinishedAt.Equal(e.clock.Now()) {
		t.Errorf("muted delivery %+v", got)
	}
}

func testThread(t *testing.T, e *env) {
	e.mustChannel(t, "a", func(c *uptime.Channel) { c.Default = true })
	e.mustChannel(t, "b", func(c *uptime.Channel) { c.Default = true })
	tg := e.mustCreate(t, "api", nil)
	t0 := e.clock.Now()
	e.recordEvents(t, tg, t0, opened(t0))
	due := t0.Add(time.Minute)
	ds, err := e.ClaimDeliveries(bg, due, time.Minute, 10)
	fatalIf(t, err, "claim openings")
	if len(ds) != 2 || ds[0].Thread != "" {
		t.Fatalf("claimed openings %+v", ds)
	}
	for _, d := range ds {
		u := uptime.DeliveryUpdate{Status: uptime.DeliveryDelivered, Attempted: true, At: due}
		if d.Channel == "a" {
			u.Thread = "1700000000.000100"
		}
		fatalIf(t, e.FinishDelivery(bg, d.ID, u), "finish")
	}
	in, err := e.OpenIncident(bg, tg.ID)
	fatalIf(t, err, "open")
	for ch, want := range map[string]bool{"a": true, "b": true, "nope": false} {
		got, err := e.Alerted(bg, in.ID, ch)
		fatalIf(t, err, "alerted")
		if got != want {
			t.Errorf("Alerted(%s) = %v, want %v", ch, got, want)
		}
	}
	fatalIf(t, e.EnqueueReminder(bg, in.ID, "a", due), "reminder")
	ds, err = e.ClaimDeliveries(bg, due, time.Minute, 10)
	fatalIf(t, err, "claim reminder")
	if len(ds) != 1 || ds[0].Event.Type != uptime.EventIncidentReminder || ds[0].Thread != "1700000000.000100" {
		t.Fatalf("claimed reminder %+v, want it with the opening's thread", ds)
	}
	fatalIf(t, e.FinishDelivery(bg, ds[0].ID, uptime.DeliveryUpdate{Status: uptime.DeliveryDelivered, At: due}), "finish")
	e.recordEvents(t, tg, due.Add(time.Second), resolved(t0, 4))
	ds, err = e.ClaimDeliveries(bg, due.Add(time.Second), time.Minute, 10)
	fatalIf(t, err, "claim")
	got := map[string]string{}
	for _, d := range ds {
		got[string(d.Event.Type)+" "+d.Channel] = d.Thread
		if !d.IncidentResolvedAt.Equal(due.Add(time.Second)) {
			t.Errorf("resolution's IncidentResolvedAt %v", d.IncidentResolvedAt)
		}
	}
	want := map[string]string{
		"incident.resolved a": "1700000000.000100",
		"incident.resolved b": "",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("threads handed out (-want +got):\n%s", diff)
	}
}

func testReminder(t *testing.T, e *env) {
	e.mustChannel(t, "ops", func(c *uptime.Channel) { c.Default = true })
	tg := e.mustCreate(t, "api", map[string]string{"team": "a"})
	t0 := e.clock.Now()
	e.recordEvents(t, tg, t0, opened(t0.Add(-time.Minute)))
	in, err := e.OpenIncident(bg, tg.ID)
	fatalIf(t, err, "open")
	openID := e.claim(t, t0.Add(time.Minute))[0]
	fatalIf(t, e.FinishDelivery(bg, openID, uptime.DeliveryUpdate{Status: uptime.DeliveryDelivered, At: t0.Add(time.Minute)}), "finish")
	at := t0.Add(4 * time.Hour)
	fatalIf(t, e.EnqueueReminder(bg, in.ID, "ops", at), "reminder")
	fatalIf(t, e.EnqueueReminder(bg, in.ID, "ops", at.Add(time.Minute)), "second reminder")
	rs := e.deliveries(t, uptime.DeliveryFilter{Limit: 10})
	if len(rs) != 2 {
		t.Fatalf("%d deliveries after two enqueues, want the opening and one reminder", len(rs))
	}
	r := rs[0]
	if r.Event.Type != uptime.EventIncidentReminder || !r.NextAt.Equal(at) || !r.Event.At.Equal(at) ||
		!r.Event.Since.Equal(t0.Add(-time.Minute)) || r.Event.Target != "api" || r.Event.IncidentID != in.ID ||
		r.Event.Labels["team"] != "a" || r.Status != uptime.DeliveryPending {
		t.Errorf("reminder %+v", r)
	}
	if err := e.EnqueueReminder(bg, in.ID, "nope", at); !errors.Is(err, uptime.ErrNotFound) {
		t.Errorf("reminder to an unknown channel: %v, want ErrNotFound", err)
	}
	if err := e.EnqueueReminder(bg, 999999, "ops", at); !errors.Is(err, uptime.ErrNotFound) {
		t.Errorf("reminder of an unknown incident: %v, want ErrNotFound", err)
	}
	// The resolution skips the waiting reminder rather than queue behind it.
	t1 := t0.Add(time.Hour)
	e.recordEvents(t, tg, t1, resolved(t0.Add(-time.Minute), 5))
	rs = e.deliveries(t, uptime.DeliveryFilter{Limit: 10})
	if rs[1].ID != r.ID || rs[1].Status != uptime.DeliverySkipped || rs[1].Reason != ReasonIncidentResolved {
		t.Errorf("reminder after resolve: %+v", rs[1])
	}
	if diff := cmp.Diff([]int64{rs[0].ID}, e.claim(t, t1)); diff != "" {
		t.Errorf("claim after resolve, want the resolution (-want +got):\n%s", diff)
	}
	fatalIf(t, e.EnqueueReminder(bg, in.ID, "ops", t1.Add(time.Hour)), "reminder after resolve")
	if n := len(e.deliveries(t, uptime.DeliveryFilter{Limit: 10})); n != 3 {
		t.Errorf("%d deliveries: a reminder was queued for a resolved incident", n)
	}
}

func testClaimPendingOpened(t *testing.T, e *env) {
	e.mustChannel(t, "ops", func(c *uptime.Channel) { c.Default = true; c.GroupWait = uptime.WaitFor(time.Minute) })
	e.mustChannel(t, "other", func(c *uptime.Channel) { c.Default = true })
	t0 := e.clock.Now()
	a := e.mustCreate(t, "a", nil)
	b := e.mustCreate(t, "b", nil)
	c := e.mustCreate(t, "c", nil)
	e.recordEvents(t, a, t0, opened(t0))
	e.recordEvents(t, b, t0.Add(5*time.Second), opened(t0))
	e.recordEvents(t, c, t0.Add(20*time.Second), opened(t0))
	if got := e.claim(t, t0.Add(9*time.Second)); len(got) != 0 {
		t.Fatalf("claimed %v before group_wait", got)
	}
	now := t0.Add(10 * time.Second)
	ds, err := e.ClaimPending(bg, "ops", uptime.EventIncidentOpened, "", now, time.Hour)
	fatalIf(t, err, "claim pending opened")
	var got []string
	for _, d := range ds {
		got = append(got, d.Channel+":"+d.Event.Target)
	}
	if diff := cmp.Diff([]string{"ops:a", "ops:b"}, got); diff != "" {
		t.Errorf("pending openings (-want +got):\n%s", diff)
	}
	ds, err = e.ClaimPending(bg, "ops", uptime.EventIncidentOpened, "", now, time.Hour)
	fatalIf(t, err, "claim again")
	if len(ds) != 0 {
		t.Errorf("claimed leased openings again: %+v", ds)
	}
	// At group_wait's end only c's opening is left to claim on ops.
	var left []string
	dl, err := e.ClaimDeliveries(bg, t0.Add(90*time.Second), time.Minute, 10)
	fatalIf(t, err, "claim")
	for _, d := range dl {
		left = append(left, d.Channel+":"+d.Event.Target)
	}
	if diff := cmp.Diff([]string{"other:a", "other:b", "ops:c", "other:c"}, left); diff != "" {
		t.Errorf("left to claim (-want +got):\n%s", diff)
	}
}

// targetsOf lists "channel:target" of deliveries, in their order.
func targetsOf(ds []uptime.Delivery) []string {
	out := []string{}
	for _, d := range ds {
		out = append(out, d.Channel+":"+d.Event.Target)
	}
	return out
}

func testClaimPendingByCause(t *testing.T, e *env) {
	const wait = time.Minute
	e.mustChannel(t, "ops", func(c *uptime.Channel) { c.Default = true; c.GroupWait = uptime.WaitFor(wait) })
	t0 := e.clock.Now()
	pg := e.mustCreate(t, "pg", nil)
	a := e.mustCreate(t, "a", nil)
	b := e.mustCreate(t, "b", nil)
	c := e.mustCreate(t, "c", nil)
	d := e.mustCreate(t, "d", nil)
	caused := func(ev uptime.Event, cause string) uptime.Event { ev.Cause = cause; return ev }
	e.recordEvents(t, pg, t0, opened(t0))
	e.recordEvents(t, a, t0, caused(opened(t0), "pg"))
	e.recordEvents(t, b, t0.Add(time.Second), caused(opened(t0), "pg"))
	e.recordEvents(t, c, t0.Add(time.Second), opened(t0))
	e.recordEvents(t, d, t0.Add(2*time.Second), caused(opened(t0), "database"))
	in, err := e.OpenIncident(bg, a.ID)
	fatalIf(t, err, "open incident of a")
	if in.Cause != "pg" {
		t.Errorf("incident of a records cause %q, want pg", in.Cause)
	}

	// Openings by cause: the cause's own and its dependents'.
	ds, err := e.ClaimPending(bg, "ops", uptime.EventIncidentOpened, "pg", t0.Add(5*time.Second), time.Hour)
	fatalIf(t, err, "claim openings caused by pg")
	if diff := cmp.Diff([]string{"ops:pg", "ops:a", "ops:b"}, targetsOf(ds)); diff != "" {
		t.Errorf("openings caused by pg (-want +got):\n%s", diff)
	}
	rest, err := e.ClaimDeliveries(bg, t0.Add(2*wait), time.Minute, 10)
	fatalIf(t, err, "claim the rest")
	if diff := cmp.Diff([]string{"ops:c", "ops:d"}, targetsOf(rest)); diff != "" {
		t.Errorf("the other openings (-want +got):\n%s", diff)
	}
	for _, dl := range append(ds, rest...) {
		fatalIf(t, e.FinishDelivery(bg, dl.ID, uptime.DeliveryUpdate{Status: uptime.DeliveryDelivered}), "deliver %d", dl.ID)
	}

	// a's resolution comes without its cause (the scheduler restarted): the
	// incident supplies it. pg's own resolution waits with its dependents';
	// c's, which nothing is attributed to, is due at once.
	t1 := t0.Add(10 * time.Minute)
	e.recordEvents(t, a, t1, resolved(t0, 4))
	e.recordEvents(t, b, t1, caused(resolved(t0, 4), "pg"))
	e.recordEvents(t, pg, t1.Add(time.Second), resolved(t0, 4))
	e.recordEvents(t, c, t1.Add(time.Second), resolved(t0, 4))
	e.recordEvents(t, d, t1.Add(2*time.Second), resolved(t0, 4))
	due := map[string]time.Time{}
	for _, dl := range e.deliveries(t, uptime.DeliveryFilter{Status: uptime.DeliveryPending}) {
		due[dl.Event.Target+":"+dl.Event.Cause] = dl.NextAt
	}
	want := map[string]time.Time{
		"a:pg": t1.Add(wait), "b:pg": t1.Add(wait), "pg:": t1.Add(time.Second + wait),
		"c:": t1.Add(time.Second), "d:database": t1.Add(2*time.Second + wait),
	}
	if diff := cmp.Diff(want, due); diff != "" {
		t.Errorf("pending resolutions target:cause → due (-want +got):\n%s", diff)
	}

	now := t1.Add(5 * time.Second)
	ds, err = e.ClaimPending(bg, "ops", uptime.EventIncidentResolved, "pg", now, time.Minute)
	fatalIf(t, err, "claim resolutions caused by pg")
	if diff := cmp.Diff([]string{"ops:a", "ops:b", "ops:pg"}, targetsOf(ds)); diff != "" {
		t.Errorf("resolutions caused by pg (-want +got):\n%s", diff)
	}
	ds, err = e.ClaimPending(bg, "ops", uptime.EventIncidentResolved, "pg", now, time.Minute)
	fatalIf(t, err, "claim again")
	if len(ds) != 0 {
		t.Errorf("claimed leased resolutions again: %v", targetsOf(ds))
	}
	ds, err = e.ClaimPending(bg, "ops", uptime.EventIncidentResolved, "database", now, time.Minute)
	fatalIf(t, err, "claim resolutions caused by database")
	if diff := cmp.Diff([]string{"ops:d"}, targetsOf(ds)); diff != "" {
		t.Errorf("resolutions caused by database (-want +got):\n%s", diff)
	}
	ds, err = e.ClaimPending(bg, "ops", uptime.EventIncidentResolved, "", now, time.Minute)
	fatalIf(t, err, "claim every resolution")
	if diff := cmp.Diff([]string{"ops:c"}, targetsOf(ds)); diff != "" {
		t.Errorf("resolutions left (-want +got):\n%s", diff)
	}
}

func testChannelsCRUD(t *testing.T, e *env) {
	c := &uptime.Channel{Name: "hooks", Kind: "webhook", URL: "https://hooks.example.com/T0/B0/xyz",
		Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", Default: true, MatchLabels: map[string]string{"team": "a"}}
	c.Normalize()
	fatalIf(t, e.CreateChannel(bg, c), "create")
	if !c.CreatedAt.Equal(e.clock.Now()) || !c.UpdatedAt.Equal(e.clock.Now()) {
		t.Errorf("create set times %v %v", c.CreatedAt, c.UpdatedAt)
	}
	got, err := e.GetChannel(bg, "hooks")
	fatalIf(t, err, "get")
	if diff := cmp.Diff(*c, got); diff != "" {
		t.Errorf("stored channel (-created +read):\n%s", diff)
	}
	if got.URL.Reveal() != "https://hooks.example.com/T0/B0/xyz" || got.Secret.Reveal() != "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" {
		t.Errorf("secrets read back as %q %q", got.URL.Reveal(), got.Secret.Reveal())
	}
	var url, secret string
	fatalIf(t, e.rdb.QueryRow(`SELECT url, secret FROM channels WHERE name = 'hooks'`).Scan(&url, &secret), "raw read")
	if url != c.URL.Reveal() || secret != c.Secret.Reveal() {
		t.Errorf("columns hold %q %q, want the real secrets", url, secret)
	}
	if err := e.CreateChannel(bg, &uptime.Channel{Name: "hooks", Kind: "slack"}); !errors.Is(err, uptime.ErrConflict) {
		t.Errorf("duplicate create: %v, want ErrConflict", err)
	}

	bot := &uptime.Channel{Name: "alerts", Kind: "slack", Token: "xoxb-1-2-3", Channel: "#alerts"}
	bot.Normalize()
	e.clock.Advance(time.Minute)
	created, changed, err := e.PutChannel(bg, bot)
	fatalIf(t, err, "put")
	if !created || !changed {
		t.Errorf("first put: created %v changed %v", created, changed)
	}
	same := &uptime.Channel{Name: "alerts", Kind: "slack", Token: "xoxb-1-2-3", Channel: "#alerts"}
	same.Normalize()
	e.clock.Advance(time.Minute)
	created, changed, err = e.PutChannel(bg, same)
	fatalIf(t, err, "same put")
	if created || changed || !same.UpdatedAt.Equal(bot.UpdatedAt) {
		t.Errorf("identical put: created %v changed %v updated %v", created, changed, same.UpdatedAt)
	}
	same.Token = "xoxb-4-5-6"
	created, changed, err = e.PutChannel(bg, same)
	fatalIf(t, err, "changed put")
	if created || !changed || !same.UpdatedAt.Equal(e.clock.Now()) || !same.CreatedAt.Equal(bot.CreatedAt) {
		t.Errorf("changed put: created %v changed %v %+v", created, changed, same)
	}
	e.clock.Advance(time.Minute)
	same.APIURL = "http://127.0.0.1:9000/api/"
	created, changed, err = e.PutChannel(bg, same)
	fatalIf(t, err, "api_url put")
	if created || !changed || !same.UpdatedAt.Equal(e.clock.Now()) {
		t.Errorf("api_url put: created %v changed %v %+v", created, changed, same)
	}
	list, err := e.ListChannels(bg)
	fatalIf(t, err, "list")
	if len(list) != 2 || list[0].Name != "alerts" || list[1].Name != "hooks" || list[0].Token.Reveal() != "xoxb-4-5-6" ||
		list[0].APIURL != "http://127.0.0.1:9000/api/" {
		t.Errorf("list %+v", list)
	}

	boom := errors.New("boom")
	if _, err := e.UpdateChannel(bg, "hooks", func(c *uptime.Channel) error {
		c.MatchLabels["team"] = "b"
		return boom
	}); err != boom {
		t.Errorf("update aborted by fn: %v, want fn's error", err)
	}
	if got, _ := e.GetChannel(bg, "hooks"); got.MatchLabels["team"] != "a" {
		t.Errorf("aborted update changed the channel: %+v", got)
	}
	e.clock.Advance(time.Minute)
	up, err := e.UpdateChannel(bg, "hooks", func(c *uptime.Channel) error {
		c.Name, c.GroupWait = "webhooks", uptime.WaitFor(30*time.Second)
		return nil
	})
	fatalIf(t, err, "rename")
	if up.Name != "webhooks" || up.GroupWait.D() != 30*time.Second || !up.UpdatedAt.Equal(e.clock.Now()) ||
		up.Secret.Reveal() != c.Secret.Reveal() {
		t.Errorf("renamed channel %+v", up)
	}
	if _, err := e.GetChannel(bg, "hooks"); !errors.Is(err, uptime.ErrNotFound) {
		t.Errorf("old name after rename: %v", err)
	}
	if _, err := e.UpdateChannel(bg, "webhooks", func(c *uptime.Channel) error { c.Name = "alerts"; return nil }); !errors.Is(err, uptime.ErrConflict) {
		t.Errorf("rename onto a taken name: %v, want ErrConflict", err)
	}
	if _, err := e.UpdateChannel(bg, "nope", func(*uptime.Channel) error { return nil }); !errors.Is(err, uptime.ErrNotFound) {
		t.Errorf("update of a missing channel: %v, want ErrNotFound", err)
	}
	fatalIf(t, e.DeleteChannel(bg, "webhooks"), "delete")
	if err := e.DeleteChannel(bg, "webhooks"); !errors.Is(err, uptime.ErrNotFound) {
		t.Errorf("second delete: %v, want ErrNotFound", err)
	}
	if _, err := e.GetChannel(bg, "webhooks"); !errors.Is(err, uptime.ErrNotFound) {
		t.Errorf("get after delete: %v, want ErrNotFound", err)
	}
}

func testDeleteChannel(t *testing.T, e *env) {
	e.mustChannel(t, "gone", func(c *uptime.Channel) { c.Default = true })
	e.mustChannel(t, "kept", func(c *uptime.Channel) { c.Default = true })
	tg := e.mustCreate(t, "api", nil)
	t0 := e.clock.Now()
	e.recordEvents(t, tg, t0, resolved(t0, 1))
	for _, d := range e.deliveries(t, uptime.DeliveryFilter{Channel: "gone"}) {
		fatalIf(t, e.FinishDelivery(bg, d.ID, uptime.DeliveryUpdate{Status: uptime.DeliveryDelivered, Attempted: true, At: t0}), "finish")
	}
	e.recordEvents(t, tg, t0.Add(time.Minute), resolved(t0, 1))
	fatalIf(t, e.DeleteChannel(bg, "gone"), "delete")
	var got []string
	for _, d := range e.deliveries(t, uptime.DeliveryFilter{Channel: "gone"}) {
		got = append(got, string(d.Status)+" "+d.Reason)
	}
	if diff := cmp.Diff([]string{"skipped channel deleted", "delivered "}, got); diff != "" {
		t.Errorf("deleted channel's log (-want +got):\n%s", diff)
	}
	if n := len(e.deliveries(t, uptime.DeliveryFilter{Channel: "kept", Status: uptime.DeliveryPending})); n != 2 {
		t.Errorf("%d deliveries pending to the kept channel, want 2", n)
	}
	// Events after the delete are not routed to it.
	e.recordEvents(t, tg, t0.Add(2*time.Minute), resolved(t0, 1))
	if n := len(e.deliveries(t, uptime.DeliveryFilter{Channel: "gone"})); n != 2 {
		t.Errorf("%d deliveries to the deleted channel, want 2", n)
	}
}

func testDeleteTargetAlerts(t *testing.T, e *env) {
	e.mustChannel(t, "ops", func(c *uptime.Channel) { c.Default = true })
	tg := e.mustCreate(t, "api", nil)
	t0 := e.clock.Now()
	e.recordEvents(t, tg, t0, opened(t0))
	fatalIf(t, e.DeleteTarget(bg, "api"), "delete target")
	ds := e.deliveries(t, uptime.DeliveryFilter{})
	if len(ds) != 1 || ds[0].Status != uptime.DeliverySkipped || ds[0].Reason != ReasonTargetDeleted {
		t.Errorf("deliveries of a deleted target %+v", ds)
	}
	if n := e.count(t, "incidents"); n != 0 {
		t.Errorf("%d incidents left", n)
	}
	// Events of a target deleted before its batch is written are dropped
	// with its result, not retried.
	e.recordEvents(t, tg, t0.Add(time.Minute), resolved(t0, 1))
	if n := e.count(t, "events"); n != 1 {
		t.Errorf("%d events, want the first one only", n)
	}
	if st := e.WriterStats(); st.Failed != 0 {
		t.Errorf("writer failed on a deleted target's events: %+v", st)
	}
}

func testSilencesMaintenance(t *testing.T, e *env) {
	t0 := e.clock.Now()
	s := &uptime.Silence{Matchers: map[string]string{"team": "a"}, StartsAt: t0, EndsAt: t0.Add(time.Hour),
		Comment: "deploy", CreatedBy: "ops@example.com"}
	fatalIf(t, e.CreateSilence(bg, s), "create silence")
	if s.ID == 0 || !s.CreatedAt.Equal(t0) {
		t.Errorf("silence id %d created %v", s.ID, s.CreatedAt)
	}
	s2 := &uptime.Silence{Matchers: map[string]string{"env": "dev"}, StartsAt: t0, EndsAt: t0.Add(time.Minute)}
	fatalIf(t, e.CreateSilence(bg, s2), "create silence")
	list, err := e.ListSilences(bg)
	fatalIf(t, err, "list silences")
	if diff := cmp.Diff([]uptime.Silence{*s, *s2}, list); diff != "" {
		t.Errorf("silences (-want +got):\n%s", diff)
	}
	fatalIf(t, e.DeleteSilence(bg, s.ID), "delete silence")
	if err := e.DeleteSilence(bg, s.ID); !errors.Is(err, uptime.ErrNotFound) {
		t.Errorf("second delete: %v, want ErrNotFound", err)
	}
	list, err = e.ListSilences(bg)
	fatalIf(t, err, "list silences")
	if len(list) != 1 || list[0].ID != s2.ID {
		t.Errorf("silences after delete %+v", list)
	}

	once := &uptime.Maintenance{Name: "db upgrade", Matchers: map[string]string{"team": "db"}, StartsAt: t0,
		EndsAt: t0.Add(2 * time.Hour), Comment: "v17"}
	cron := &uptime.Maintenance{Name: "nightly", Matchers: map[string]string{"env": "prod"}, Schedule: "0 3 * * *",
		Duration: uptime.Duration(30 * time.Minute)}
	for _, m := range []*uptime.Maintenance{once, cron} {
		fatalIf(t, m.Validate(), "validate")
		fatalIf(t, e.CreateMaintenance(bg, m), "create maintenance")
	}
	ms, err := e.ListMaintenance(bg)
	fatalIf(t, err, "list maintenance")
	if diff := cmp.Diff([]uptime.Maintenance{*once, *cron}, ms); diff != "" {
		t.Errorf("maintenance (-want +got):\n%s", diff)
	}
	fatalIf(t, e.DeleteMaintenance(bg, once.ID), "delete maintenance")
	if err := e.DeleteMaintenance(bg, once.ID); !errors.Is(err, uptime.ErrNotFound) {
		t.Errorf("second delete: %v, want ErrNotFound", err)
	}
	ms, err = e.ListMaintenance(bg)
	fatalIf(t, err, "list maintenance")
	if len(ms) != 1 || ms[0].ID != cron.ID {
		t.Errorf("maintenance after delete %+v", ms)
	}
}

func testListIncidents(t *testing.T, e *env) {
	e.mustChannel(t, "ops", func(c *uptime.Channel) { c.Default = true })
	a := e.mustCreate(t, "a", nil)
	b := e.mustCreate(t, "b", nil)
	t0 := e.clock.Now().Add(-10 * time.Hour)
	h := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Hour) }
	// a: [0h, 1h) and [4h, open); b: [2h, 3h)
	e.recordEvents(t, a, h(0), opened(h(0)))
	e.recordEvents(t, a, h(1), resolved(h(0), 3))
	e.recordEvents(t, b, h(2), opened(h(2)))
	e.recordEvents(t, b, h(3), resolved(h(2), 3))
	e.recordEvents(t, a, h(4), opened(h(4)))
	for _, d := range e.deliveries(t, uptime.DeliveryFilter{Target: "b"}) {
		fatalIf(t, e.FinishDelivery(bg, d.ID, uptime.DeliveryUpdate{Status: uptime.DeliveryDelivered, Attempted: true, At: h(3)}), "finish")
	}
	list := func(f uptime.IncidentFilter) []string {
		t.Helper()
		is, err := e.ListIncidents(bg, f)
		fatalIf(t, err, "list %+v", f)
		out := []string{}
		for _, in := range is {
			out = append(out, fmt.Sprintf("%s@%dh", in.Target, int(in.StartedAt.Sub(t0).Hours())))
		}
		return out
	}
	all, err := e.ListIncidents(bg, uptime.IncidentFilter{})
	fatalIf(t, err, "list")
	cases := []struct {
		name string
		f    uptime.IncidentFilter
		want []string
	}{
		{"all, newest first", uptime.IncidentFilter{}, []string{"a@4h", "b@2h", "a@0h"}},
		{"target", uptime.IncidentFilter{Target: "a"}, []string{"a@4h", "a@0h"}},
		{"unknown target", uptime.IncidentFilter{Target: "zzz"}, []string{}},
		{"open", uptime.IncidentFilter{OpenOnly: true}, []string{"a@4h"}},
		{"overlap", uptime.IncidentFilter{From: h(0).Add(30 * time.Minute), To: h(2).Add(time.Minute)}, []string{"b@2h", "a@0h"}},
		{"end is exclusive", uptime.IncidentFilter{From: h(1), To: h(2)}, []string{}},
		{"open lasts until now", uptime.IncidentFilter{From: h(9)}, []string{"a@4h"}},
		{"not past now", uptime.IncidentFilter{From: h(11)}, []string{}},
		{"page", uptime.IncidentFilter{Limit: 2}, []string{"a@4h", "b@2h"}},
		{"next page", uptime.IncidentFilter{Limit: 2, Before: all[1].ID}, []string{"a@0h"}},
	}
	for _, c := range cases {
		if diff := cmp.Diff(c.want, list(c.f)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", c.name, diff)
		}
	}
	sent := map[string]int{}
	for _, in := range all {
		sent[fmt.Sprintf("%s@%dh", in.Target, int(in.StartedAt.Sub(t0).Hours()))] = in.AlertsSent
	}
	if diff := cmp.Diff(map[string]int{"a@4h": 0, "b@2h": 2, "a@0h": 0}, sent); diff != "" {
		t.Errorf("alerts sent (-want +got):\n%s", diff)
	}
}

func testListDeliveries(t *testing.T, e *env) {
	e.mustChannel(t, "x", func(c *uptime.Channel) { c.Default = true })
	e.mustChannel(t, "y", func(c *uptime.Channel) { c.Default = true })
	a := e.mustCreate(t, "a", nil)
	b := e.mustCreate(t, "b", nil)
	t0 := e.clock.Now()
	e.recordEvents(t, a, t0, resolved(t0, 1))
	e.recordEvents(t, b, t0, resolved(t0, 1))
	ds := e.deliveries(t, uptime.DeliveryFilter{})
	if len(ds) != 4 || ds[0].ID < ds[3].ID {
		t.Fatalf("deliveries %+v, want 4 newest first", ds)
	}
	fatalIf(t, e.FinishDelivery(bg, ds[0].ID, uptime.DeliveryUpdate{Status: uptime.DeliveryDelivered, At: t0}), "finish")
	key := func(ds []uptime.Delivery) []string {
		out := []string{}
		for _, d := range ds {
			out = append(out, d.Event.Target+">"+d.Channel)
		}
		return out
	}
	cases := []struct {
		f    uptime.DeliveryFilter
		want []string
	}{
		{uptime.DeliveryFilter{Channel: "x"}, []string{"b>x", "a>x"}},
		{uptime.DeliveryFilter{Target: "a"}, []string{"a>y", "a>x"}},
		{uptime.DeliveryFilter{Target: "a", Channel: "y"}, []string{"a>y"}},
		{uptime.DeliveryFilter{Status: uptime.DeliveryDelivered}, []string{"b>y"}},
		{uptime.DeliveryFilter{Limit: 1, Before: ds[1].ID}, []string{"a>y"}},
	}
	for _, c := range cases {
		if diff := cmp.Diff(c.want, key(e.deliveries(t, c.f))); diff != "" {
			t.Errorf("%+v (-want +got):\n%s", c.f, diff)
		}
	}
}

// State.Next emits a second opening for an incident whose first was
// suppressed by a flap once the target is stable: it alerts the same
// incident, not a new one.
func testReopenedAfterFlap(t *testing.T, e *env) {
	e.mustChannel(t, "ops", func(c *uptime.Channel) { c.Default = true })
	tg := e.mustCreate(t, "api", nil)
	t0 := e.clock.Now()
	first := opened(t0)
	first.Suppressed = uptime.SuppressedFlapping
	e.recordEvents(t, tg, t0, first)
	again := opened(t0)
	again.Failures = 9
	e.recordEvents(t, tg, t0.Add(time.Hour), uptime.Event{Type: uptime.EventStable}, again)
	is, err := e.ListIncidents(bg, uptime.IncidentFilter{})
	fatalIf(t, err, "list")
	if len(is) != 1 || is[0].Suppressed != "" || is[0].Failures != 9 || !is[0].StartedAt.Equal(t0) {
		t.Errorf("incidents %+v, want the one, no longer suppressed", is)
	}
	var got []string
	for _, d := range e.deliveries(t, uptime.DeliveryFilter{}) {
		got = append(got, fmt.Sprintf("%s %s %v", d.Event.Type, d.Status, d.Event.IncidentID == is[0].ID))
	}
	want := []string{"incident.opened pending true", "target.stable pending true", "incident.opened skipped true"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("deliveries (-want +got):\n%s", diff)
	}
}

// TestEventsWithTheirState: the events of a batch are committed if and only
// if its results and states are. A failing write keeps both out; the retry
// writes both, once.
func TestEventsWithTheirState(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := openEnv(t, b)
		e.mustChannel(t, "ops", func(c *uptime.Channel) { c.Default = true })
		tg := e.mustCreate(t, "api", nil)
		_, err := e.wdb.Exec(`ALTER TABLE deliveries RENAME TO deliveries_away`)
		fatalIf(t, err, "break deliveries")
		t0 := e.clock.Now()
		r := uptime.Result{TargetID: tg.ID, StartedAt: t0, Status: uptime.StatusDown, Error: "refused"}
		s, evs := uptime.State{}.Next(r, uptime.Policy{FailureThreshold: 1}, t0)
		for i := range evs {
			evs[i].TargetID, evs[i].Target = tg.ID, tg.Name
		}
		e.Record(uptime.Observation{Result: r, State: s, Events: evs})
		testkit.WaitFor(t, func() bool { return e.WriterStats().Failed >= 2 }, testkit.Waiting("a failed write"))
		for _, table := range []string{"results", "target_state", "incidents", "events"} {
			if n := e.count(t, table); n != 0 {
				t.Errorf("%d rows in %s while the outbox cannot be written", n, table)
			}
		}
		_, err = e.wdb.Exec(`ALTER TABLE deliveries_away RENAME TO deliveries`)
		fatalIf(t, err, "repair deliveries")
		e.mustFlush(t)
		for table, want := range map[string]int{"results": 1, "target_state": 1, "incidents": 1, "events": 1, "deliveries": 1} {
			if n := e.count(t, table); n != want {
				t.Errorf("%d rows in %s after recovery, want %d", n, table, want)
			}
		}
		snap, err := e.GetTarget(bg, "api")
		fatalIf(t, err, "get")
		if !snap.State.Notified || snap.State.Status != uptime.StatusDown {
			t.Errorf("state after recovery %+v", snap.State)
		}
		if evs[0].IncidentID != 0 || evs[0].ID != 0 {
			t.Errorf("the writer wrote ids into the caller's events: %+v", evs[0])
		}
	})
}

func testCertWarning(t *testing.T, e *env) {
	e.mustChannel(t, "ops", func(c *uptime.Channel) { c.Default = true; c.GroupWait = uptime.WaitFor(time.Minute) })
	tg := e.mustCreate(t, "api", nil)
	t0 := e.clock.Now()
	expiry := t0.Add(7 * 24 * time.Hour)
	e.recordEvents(t, tg, t0, uptime.Event{Type: uptime.EventCertExpiring, Since: expiry,
		Error: uptime.CertExpiryText(expiry, t0)})
	ds := e.deliveries(t, uptime.DeliveryFilter{})
	if len(ds) != 1 {
		t.Fatalf("%d deliveries, want 1", len(ds))
	}
	d := ds[0]
	if d.Event.Type != uptime.EventCertExpiring || !d.Event.Since.Equal(expiry) || d.Event.IncidentID != 0 ||
		d.Event.Error != "certificate expires in 7 days ("+expiry.UTC().Format(time.DateOnly)+")" {
		t.Errorf("stored event %+v; want a certificate warning for %v with no incident", d.Event, expiry)
	}
	if !d.NextAt.Equal(t0) {
		t.Errorf("due at %v, want %v: a warning waits for no group_wait", d.NextAt, t0)
	}
	if n := e.count(t, "incidents"); n != 0 {
		t.Errorf("%d incidents, want none: a warning is no outage", n)
	}
}

func testIncidentStats(t *testing.T, e *env) {
	a := e.mustCreate(t, "a", nil)
	b := e.mustCreate(t, "b", nil)
	t0 := e.clock.Now()
	h := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Hour) }
	// a: down 1h, up 13h, down 3h, then down again (open); b: down 2h.
	e.recordEvents(t, a, h(0), opened(h(0)))
	e.recordEvents(t, a, h(1), resolved(h(0), 3))
	e.recordEvents(t, b, h(5), opened(h(5)))
	e.recordEvents(t, b, h(7), resolved(h(5), 3))
	e.recordEvents(t, a, h(14), opened(h(14)))
	e.recordEvents(t, a, h(17), resolved(h(14), 3))
	e.recordEvents(t, a, h(21), opened(h(21)))
	st, err := e.IncidentStats(bg, uptime.IncidentFilter{})
	fatalIf(t, err, "stats")
	want := uptime.IncidentStats{Count: 4, Open: 1, MTTR: 2 * time.Hour, HasMTTR: true, MTBF: 8*time.Hour + 30*time.Minute, HasMTBF: true}
	if st != want {
		t.Errorf("all: %+v, want %+v", st, want)
	}
	st, err = e.IncidentStats(bg, uptime.IncidentFilter{Target: "b", Limit: 1})
	fatalIf(t, err, "stats of b")
	if st.Count != 1 || st.MTTR != 2*time.Hour || st.HasMTBF {
		t.Errorf("b: %+v", st)
	}
}
