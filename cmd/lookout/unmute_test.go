package main

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/lookout/lookout/internal/notify"
	"github.com/lookout/lookout/internal/store"
	"github.com/lookout/lookout/internal/testkit"
	"github.com/lookout/lookout/internal/uptime"
)

// TestAMuteEndedEarlyLetsTheIncidentBeHeard: an incident opens under a
// silence or maintenance window, which is then deleted or cut short while
// the target is still down. The channel hears "still down" when the mute
// lets go, not at the mute's original end, and then the resolution: before,
// the reminder waited for the original end, the target recovered first, and
// the resolution was skipped as never alerted, so nobody heard of the
// outage. A silence left to run out is heard of at its end, as ever. The
// real store and dispatcher, on a clock the test moves.
func TestAMuteEndedEarlyLetsTheIncidentBeHeard(t *testing.T) {
	jobs := map[string]string{"team": "jobs"}
	tests := []struct {
		name string
		// mute creates the mute at t0, ending at t0+1h.
		mute func(t *testing.T, r *rig) (id int64)
		// end ends it early at t0+5m and says when it lets go.
		end func(t *testing.T, r *rig, id int64) time.Time
	}{
		{"a silence running out, not ended early",
			func(t *testing.T, r *rig) int64 { return r.silence(t, jobs) },
			func(t *testing.T, r *rig, id int64) time.Time { return r.t0.Add(time.Hour) }},
		{"a silence deleted",
			func(t *testing.T, r *rig) int64 { return r.silence(t, jobs) },
			func(t *testing.T, r *rig, id int64) time.Time {
				must(t, r.db.DeleteSilence(r.ctx, id))
				return r.clock.Now()
			}},
		{"a silence shortened",
			func(t *testing.T, r *rig) int64 { return r.silence(t, jobs) },
			func(t *testing.T, r *rig, id int64) time.Time {
				end := r.t0.Add(10 * time.Minute)
				_, err := r.db.UpdateSilence(r.ctx, id, func(s *uptime.Silence) error { s.EndsAt = end; return nil })
				must(t, err)
				return end
			}},
		{"a maintenance window deleted",
			func(t *testing.T, r *rig) int64 {
				m := &uptime.Maintenance{Matchers: jobs, StartsAt: r.t0, EndsAt: r.t0.Add(time.Hour)}
				must(t, r.db.CreateMaintenance(r.ctx, m))
				return m.ID
			},
			func(t *testing.T, r *rig, id int64) time.Time {
				must(t, r.db.DeleteMaintenance(r.ctx, id))
				return r.clock.Now()
			}},
		{"a recurring maintenance window shortened",
			func(t *testing.T, r *rig) int64 {
				// Every day at t0 (midnight UTC) for an hour.
				m := &uptime.Maintenance{Matchers: jobs, Schedule: "CRON_TZ=UTC 0 0 * * *", Duration: uptime.Duration(time.Hour)}
				must(t, r.db.CreateMaintenance(r.ctx, m))
				return m.ID
			},
			func(t *testing.T, r *rig, id int64) time.Time {
				_, err := r.db.UpdateMaintenance(r.ctx, id, func(m *uptime.Maintenance) error {
					m.Duration = uptime.Duration(10 * time.Minute)
					return nil
				})
				must(t, err)
				return r.t0.Add(10 * time.Minute)
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, jobs)
			id := tc.mute(t, r)
			r.check(t, uptime.StatusDown)
			// The opening is muted and its reminder put off until the mute ends.
			r.clock.Set(r.t0.Add(2 * time.Second))
			r.waitReminder(t, r.t0.Add(time.Hour))

			r.clock.Set(r.t0.Add(5 * time.Minute))
			letGo := tc.end(t, r, id)
			r.waitReminder(t, letGo)
			r.clock.Set(letGo)
			r.dispatcher.Kick()
			reminder := waitMessage(t, r.rc, "incident.reminder", r.logs.String)
			if reminder.Data["target"] != "worker" || reminder.Data["at"] != letGo.Format(time.RFC3339) {
				t.Errorf("reminder %+v, want worker's, at %s", reminder.Data, letGo.Format(time.RFC3339))
			}
			// The send ends before the clock moves on by a whole lease, as
			// a send does in real time: the test does not hang on what the
			// store makes of a lease that ran out mid-send.
			r.waitDelivered(t, uptime.EventIncidentReminder)

			r.clock.Set(letGo.Add(time.Minute))
			r.check(t, uptime.StatusUp)
			r.dispatcher.Kick()
			waitMessage(t, r.rc, "incident.resolved", r.logs.String)
			var types []string
			for _, m := range r.rc.Messages(t) {
				types = append(types, m.Type)
			}
			if fmt.Sprint(types) != "[incident.reminder incident.resolved]" {
				t.Errorf("the channel received %v, want the reminder and the resolution", types)
			}
		})
	}
}

// rig is a store, a webhook channel and a running dispatcher around one
// target, "worker".
type rig struct {
	ctx        context.Context
	t0         time.Time
	clock      *testkit.Clock
	db         *store.DB
	dispatcher *notify.Dispatcher
	rc         *testkit.Webhook
	logs       *testkit.LogBuffer
	target     uptime.Target
	state      uptime.State
}

func newRig(t *testing.T, labels map[string]string) *rig {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &rig{ctx: ctx, t0: time.Date(2026, 3, 14, 0, 0, 0, 0, time.UTC), logs: &testkit.LogBuffer{}}
	r.clock = testkit.NewClock(r.t0)
	log := slog.New(slog.NewTextHandler(r.logs, nil))
	opts := storeOptions(log)
	opts.Now = r.clock.Now
	db := openMigrated(t, opts)
	r.db = db

	rc, url, secret := webhookSink(t)
	r.rc = rc
	ch := uptime.Channel{Name: "ops", Kind: "webhook", URL: uptime.Secret(url), Secret: uptime.Secret(secret),
		Default: true, GroupWait: uptime.WaitFor(time.Second)}
	ch.Normalize()
	must(t, db.CreateChannel(ctx, &ch))
	r.target = uptime.Target{Name: "worker", URL: "http://worker.test/health", Labels: labels}
	r.target.Normalize()
	must(t, db.CreateTarget(ctx, &r.target))

	r.dispatcher = notify.New(db, notify.Config{Logger: log, Now: r.clock.Now, PollInterval: 20 * time.Millisecond})
	done := make(chan error, 1)
	go func() { done <- r.dispatcher.Run(ctx) }()
	t.Cleanup(func() { // before the store closes
		cancel()
		<-done
	})
	return r
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (r *rig) silence(t *testing.T, matchers map[string]string) int64 {
	t.Helper()
	s := &uptime.Silence{Matchers: matchers, StartsAt: r.t0, EndsAt: r.t0.Add(time.Hour), Comment: "migration"}
	must(t, r.db.CreateSilence(r.ctx, s))
	return s.ID
}

// check records a check of the target with status at the clock's time, as
// the scheduler does, and waits until it is stored.
func (r *rig) check(t *testing.T, status uptime.Status) {
	t.Helper()
	res := uptime.Result{TargetID: r.target.ID, Target: r.target.Name, StartedAt: r.clock.Now(), Status: status}
	if status != uptime.StatusUp {
		res.ErrorClass, res.Error = uptime.ClassStatus, "503 Service Unavailable"
	}
	var evs []uptime.Event
	r.state, evs = r.state.Next(res, uptime.Policy{FailureThreshold: 1, SuccessThreshold: 1}, res.StartedAt)
	for i := range evs {
		evs[i].TargetID, evs[i].Target, evs[i].Labels = r.target.ID, r.target.Name, r.target.Labels
	}
	r.db.Record(uptime.Observation{Result: res, State: r.state, Events: evs})
	ctx, cancel := context.WithTimeout(r.ctx, testkit.WaitLimit)
	defer cancel()
	must(t, r.db.Flush(ctx))
}

// waitDelivered waits until a delivery of typ is recorded as delivered.
func (r *rig) waitDelivered(t *testing.T, typ uptime.EventType) {
	t.Helper()
	testkit.WaitFor(t, func() bool {
		ds, err := r.db.ListDeliveries(r.ctx, uptime.DeliveryFilter{Status: uptime.DeliveryDelivered})
		must(t, err)
		for _, d := range ds {
			if d.Event.Type == typ {
				return true
			}
		}
		return false
	}, func() string { return fmt.Sprintf("no %s recorded as delivered\n%s", typ, r.logs) })
}

// waitReminder waits until the incident's reminder is pending, due at at.
func (r *rig) waitReminder(t *testing.T, at time.Time) {
	t.Helper()
	var seen []string
	testkit.WaitFor(t, func() bool {
		ds, err := r.db.ListDeliveries(r.ctx, uptime.DeliveryFilter{Status: uptime.DeliveryPending})
		must(t, err)
		seen = seen[:0]
		for _, d := range ds {
			seen = append(seen, fmt.Sprintf("%s due %s", d.Event.Type, d.NextAt.Format(time.TimeOnly)))
			if d.Event.Type == uptime.EventIncidentReminder && d.NextAt.Equal(at) {
				return true
			}
		}
		return false
	}, func() string {
		return fmt.Sprintf("no reminder due at %s; pending: %v\n%s", at.Format(time.TimeOnly), seen, r.logs)
	})
}
