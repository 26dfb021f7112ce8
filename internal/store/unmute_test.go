package store

import (
	"errors"
	"testing"
	"time"

	"github.com/lookout/lookout/internal/uptime"
)

// TestEndingAMuteEarly: the reminders a silence or maintenance window put
// off until its end are brought forward when it is deleted or shortened,
// in the same transaction; those another mute put off stay.
func TestEndingAMuteEarly(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, m *muted)
	}{
		{"deleting a silence makes its reminders due now", testDeleteSilenceUnmutes},
		{"a silence outlasted by another leaves their reminders alone", testOverlappingSilences},
		{"shortening a silence brings its reminders to its new end", testShortenSilence},
		{"deleting a one-off maintenance window makes its reminders due now", testDeleteWindowUnmutes},
		{"a recurring window ends its occurrence in force", testRecurringWindow},
	}
	forEachBackend(t, func(t *testing.T, b backend) {
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				tc.run(t, newMuted(t, b))
			})
		}
	})
}

// muted is a store where targets a (team=a) and b (team=b) are down, each
// with an incident whose reminder to channel ops is pending.
type muted struct {
	*env
	t0   time.Time
	a, b *uptime.Target
	inc  map[string]int64
}

func newMuted(t *testing.T, b backend) *muted {
	// Recurring windows for this test: "hourly" runs at every full hour,
	// and nothing else recurs.
	e := openEnv(t, b, func(o *Options) {
		o.MaintenanceWindows = func(m uptime.Maintenance, labels map[string]string, from, to time.Time) []uptime.Interval {
			if m.Schedule != "hourly" || !uptime.Matches(labels, m.Matchers) {
				return nil
			}
			var out []uptime.Interval
			for at := from.Add(-m.Duration.D()).Truncate(time.Hour); at.Before(to); at = at.Add(time.Hour) {
				if end := at.Add(m.Duration.D()); end.After(from) {
					out = append(out, uptime.Interval{From: at, To: end})
				}
			}
			return out
		}
	})
	e.mustChannel(t, "ops", func(c *uptime.Channel) { c.Default = true })
	m := &muted{env: e, t0: e.clock.Now(), inc: map[string]int64{}}
	m.a = e.mustCreate(t, "a", map[string]string{"team": "a"})
	m.b = e.mustCreate(t, "b", map[string]string{"team": "b"})
	for _, tg := range []*uptime.Target{m.a, m.b} {
		e.recordEvents(t, tg, m.t0.Add(-time.Minute), opened(m.t0.Add(-2*time.Minute)))
		in, err := e.OpenIncident(bg, tg.ID)
		fatalIf(t, err, "open incident of %s", tg.Name)
		m.inc[tg.Name] = in.ID
	}
	e.clock.Advance(10 * time.Minute)
	// The openings were muted.
	for _, d := range e.claim(t, e.clock.Now()) {
		fatalIf(t, e.FinishDelivery(bg, d, uptime.DeliveryUpdate{Status: uptime.DeliveryMuted, Reason: "silenced"}), "mute")
	}
	return m
}

// remindAt queues target's reminder at at, as the dispatcher does when a
// mute ending then held its opening.
func (m *muted) remindAt(t *testing.T, target string, at time.Time) {
	t.Helper()
	fatalIf(t, m.EnqueueReminder(bg, m.inc[target], "ops", at), "enqueue reminder of %s", target)
}

// dueAt returns when target's pending reminder is due, checking that its
// event says the same time.
func (m *muted) dueAt(t *testing.T, target string) time.Time {
	t.Helper()
	var out time.Time
	for _, d := range m.deliveries(t, uptime.DeliveryFilter{Target: target, Status: uptime.DeliveryPending}) {
		if d.Event.Type != uptime.EventIncidentReminder {
			continue
		}
		if !out.IsZero() {
			t.Fatalf("two reminders of %s pending", target)
		}
		out = d.NextAt
		if !d.Event.At.Equal(d.NextAt) {
			t.Errorf("reminder of %s due at %s, its event at %s", target, d.NextAt, d.Event.At)
		}
	}
	if out.IsZero() {
		t.Fatalf("no reminder of %s pending", target)
	}
	return out
}

func (m *muted) wantDue(t *testing.T, target string, want time.Time, why string) {
	t.Helper()
	if got := m.dueAt(t, target); !got.Equal(want) {
		t.Errorf("%s: reminder of %s due at %s, want %s", why, target, got.Format(time.TimeOnly), want.Format(time.TimeOnly))
	}
}

func (m *muted) silence(t *testing.T, team string, ends time.Time) *uptime.Silence {
	t.Helper()
	s := &uptime.Silence{Matchers: map[string]string{"team": team}, StartsAt: m.t0, EndsAt: ends}
	fatalIf(t, m.CreateSilence(bg, s), "create silence")
	return s
}

func testDeleteSilenceUnmutes(t *testing.T, m *muted) {
	now := m.clock.Now()
	end := now.Add(time.Hour)
	s := m.silence(t, "a", end)
	m.remindAt(t, "a", end)
	// b's reminder falls due at the same time for another reason.
	m.remindAt(t, "b", end)
	fatalIf(t, m.DeleteSilence(bg, s.ID), "delete silence")
	m.wantDue(t, "a", now, "silence deleted")
	m.wantDue(t, "b", end, "another target's reminder")
	if got := m.claim(t, now); len(got) != 1 {
		t.Errorf("claimed %v now, want a's reminder", got)
	}
	if err := m.DeleteSilence(bg, s.ID); !errors.Is(err, uptime.ErrNotFound) {
		t.Errorf("second delete: %v, want ErrNotFound", err)
	}
}

func testOverlappingSilences(t *testing.T, m *muted) {
	now := m.clock.Now()
	long := m.silence(t, "a", now.Add(2*time.Hour))
	short := m.silence(t, "a", now.Add(time.Hour))
	// The dispatcher queues for the last of the mutes to end.
	m.remindAt(t, "a", long.EndsAt)
	fatalIf(t, m.DeleteSilence(bg, short.ID), "delete the shorter silence")
	m.wantDue(t, "a", long.EndsAt, "the longer silence still holds")
	_, err := m.UpdateSilence(bg, short.ID, func(*uptime.Silence) error { return nil })
	if !errors.Is(err, uptime.ErrNotFound) {
		t.Errorf("update of a deleted silence: %v, want ErrNotFound", err)
	}
	// Shortened to end before the other: the other's screening puts it off
	// again, as when it is deleted.
	_, err = m.UpdateSilence(bg, long.ID, func(s *uptime.Silence) error { s.EndsAt = now.Add(30 * time.Minute); return nil })
	fatalIf(t, err, "shorten")
	m.wantDue(t, "a", now.Add(30*time.Minute), "shortened")
}

func testShortenSilence(t *testing.T, m *muted) {
	now := m.clock.Now()
	end := now.Add(2 * time.Hour)
	s := m.silence(t, "a", end)
	m.remindAt(t, "a", end)
	m.remindAt(t, "b", end)

	got, err := m.UpdateSilence(bg, s.ID, func(s *uptime.Silence) error {
		s.EndsAt, s.Comment, s.ID, s.CreatedAt = now.Add(3*time.Hour), "longer", 99, time.Time{}
		return nil
	})
	fatalIf(t, err, "extend")
	if got.ID != s.ID || !got.CreatedAt.Equal(s.CreatedAt) || got.Comment != "longer" {
		t.Errorf("updated silence %+v: want its id and creation time kept", got)
	}
	m.wantDue(t, "a", end, "extended: the screening puts it off again when due")

	ss, err := m.ListSilences(bg)
	fatalIf(t, err, "list")
	if len(ss) != 1 || !ss[0].EndsAt.Equal(now.Add(3*time.Hour)) || ss[0].Comment != "longer" {
		t.Errorf("stored silences %+v", ss)
	}
	_, err = m.UpdateSilence(bg, s.ID, func(s *uptime.Silence) error { s.EndsAt = end; return nil })
	fatalIf(t, err, "back to its first end")

	_, err = m.UpdateSilence(bg, s.ID, func(s *uptime.Silence) error { s.EndsAt = now.Add(time.Hour); return nil })
	fatalIf(t, err, "shorten")
	m.wantDue(t, "a", now.Add(time.Hour), "shortened")
	m.wantDue(t, "b", end, "another target's reminder")

	m.clock.Advance(time.Minute)
	_, err = m.UpdateSilence(bg, s.ID, func(s *uptime.Silence) error { s.Matchers = map[string]string{"team": "z"}; return nil })
	fatalIf(t, err, "match another team")
	m.wantDue(t, "a", now.Add(time.Minute), "no longer matched")

	want := errors.New("refused")
	if _, err := m.UpdateSilence(bg, s.ID, func(*uptime.Silence) error { return want }); err != want {
		t.Errorf("fn's error came back as %v", err)
	}
}

func testDeleteWindowUnmutes(t *testing.T, m *muted) {
	now := m.clock.Now()
	w := &uptime.Maintenance{Name: "db upgrade", Matchers: map[string]string{"team": "a"}, StartsAt: m.t0, EndsAt: now.Add(time.Hour)}
	fatalIf(t, m.CreateMaintenance(bg, w), "create window")
	m.remindAt(t, "a", w.EndsAt)
	got, err := m.UpdateMaintenance(bg, w.ID, func(w *uptime.Maintenance) error { w.EndsAt = now.Add(20 * time.Minute); return nil })
	fatalIf(t, err, "shorten window")
	if got.Name != "db upgrade" || !got.EndsAt.Equal(now.Add(20*time.Minute)) {
		t.Errorf("updated window %+v", got)
	}
	m.wantDue(t, "a", now.Add(20*time.Minute), "window shortened")
	fatalIf(t, m.DeleteMaintenance(bg, w.ID), "delete window")
	m.wantDue(t, "a", now, "window deleted")
	if err := m.DeleteMaintenance(bg, w.ID); !errors.Is(err, uptime.ErrNotFound) {
		t.Errorf("second delete: %v, want ErrNotFound", err)
	}
	if _, err := m.UpdateMaintenance(bg, w.ID, func(*uptime.Maintenance) error { return nil }); !errors.Is(err, uptime.ErrNotFound) {
		t.Errorf("update of a deleted window: %v, want ErrNotFound", err)
	}
}

func testRecurringWindow(t *testing.T, m *muted) {
	now := m.clock.Now() // 12:10, in the occurrence from 12:00 to 12:30
	hour := now.Truncate(time.Hour)
	w := &uptime.Maintenance{Matchers: map[string]string{"team": "a"}, Schedule: "hourly", Duration: uptime.Duration(30 * time.Minute)}
	fatalIf(t, m.CreateMaintenance(bg, w), "create window")
	m.remindAt(t, "a", hour.Add(30*time.Minute))
	_, err := m.UpdateMaintenance(bg, w.ID, func(w *uptime.Maintenance) error { w.Duration = uptime.Duration(15 * time.Minute); return nil })
	fatalIf(t, err, "shorten occurrences")
	m.wantDue(t, "a", hour.Add(15*time.Minute), "occurrence shortened")
	fatalIf(t, m.DeleteMaintenance(bg, w.ID), "delete window")
	m.wantDue(t, "a", now, "window deleted")
}
