package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lookout/lookout/internal/notify"
	"github.com/lookout/lookout/internal/scheduler"
	"github.com/lookout/lookout/internal/store"
	"github.com/lookout/lookout/internal/testkit"
	"github.com/lookout/lookout/internal/uptime"
)

// sloAlert is one burn-rate alert as it happened: when, after the
// scripted phases began, and whether it was sent or only logged.
type sloAlert struct {
	Event, Severity string
	At              time.Duration
	Sent            bool
}

func (a sloAlert) String() string {
	how := "sent"
	if !a.Sent {
		how = "covered"
	}
	return fmt.Sprintf("%s %s %s at +%s", how, a.Event, a.Severity, a.At)
}

// sloWant expects one alert within [From, To] after the phases began.
type sloWant struct {
	Event, Severity string
	From, To        time.Duration
	Sent            bool
}

// sloPhase is a stretch of checks: down says which fail, by their index
// within the phase; nil, none is made (the target is paused).
type sloPhase struct {
	d    time.Duration
	down func(i int) bool
}

func clean(int) bool { return false }

// TestSLOBurnRateAlerts scripts a target's failures against the default
// rules on a 99.9 % objective, with the real store (a SQLite file, and
// PostgreSQL when reachable), the rollup job, the SLO job and the
// dispatcher delivering to a webhook, all on one injected clock moved a
// minute at a time, and asserts when each alert fires and clears.
func TestSLOBurnRateAlerts(t *testing.T) {
	scenarios := []struct {
		name     string
		interval time.Duration
		phases   []sloPhase
		// restartAt, when set, reopens the store and restarts the job and
		// the dispatcher that far into the phases.
		restartAt time.Duration
		// every is how often the jobs run (--slo-schedule); a minute when 0.
		every time.Duration
		want  []sloWant
	}{
		{
			// 14.4× over an hour is 52 s of downtime: the outage starts with
			// the check at +30 s, and the page fires at the first evaluation
			// after 52 s of it. It clears when the 5 m window has no downtime
			// left, though the hour is far from recovered. The ticket's
			// windows burn above 6× from minute 3, while the page fires:
			// covered, and never sent.
			name: "a hard outage pages at once and clears with the short window; a restart changes nothing", interval: 30 * time.Second,
			phases:    []sloPhase{{20 * time.Minute, func(int) bool { return true }}, {40 * time.Minute, clean}},
			restartAt: 10 * time.Minute,
			want: []sloWant{
				{"slo.burn", "page", time.Minute, 2 * time.Minute, true},
				{"slo.burn", "ticket", 3 * time.Minute, 4 * time.Minute, false},
				{"slo.recovered", "page", 25 * time.Minute, 26 * time.Minute, true},
				{"slo.recovered", "ticket", 50 * time.Minute, 51 * time.Minute, false},
			},
		},
		{
			// One failed check in a hundred, every 6 s: 1 % of the time
			// down, a 10× burn. It never pages (10 < 14.4); the 30 m window
			// burns 10× from the first failures, and the 6 h window, with
			// its 6 clean hours before the leak, crosses 6× when 22 failed
			// checks (132 s) are in it, 3 h 40 m in. Once the leak stops,
			// the ticket clears when the 30 m window holds one failure (3.3×).
			// Over hours the jobs run every 5 minutes: the expected times
			// are no finer, and 330 evaluations a minute apart would cost
			// the suite a minute under the race detector.
			name: "a slow 1 % leak tickets and never pages", interval: 6 * time.Second, every: 5 * time.Minute,
			phases: []sloPhase{{5 * time.Hour, func(i int) bool { return i%100 == 99 }}, {30 * time.Minute, clean}},
			want: []sloWant{
				{"slo.burn", "ticket", 3*time.Hour + 35*time.Minute, 3*time.Hour + 45*time.Minute, true},
				{"slo.recovered", "ticket", 5*time.Hour + 15*time.Minute, 5*time.Hour + 25*time.Minute, true},
			},
		},
		{
			// 30 s down is 8.3× over the hour and 1.4× over 6 h: nothing.
			name: "a 30-second blip alerts nothing", interval: 30 * time.Second,
			phases: []sloPhase{{30 * time.Minute, func(i int) bool { return i == 2 }}},
		},
	}
	for _, db := range sloDatabases() {
		t.Run(db.name, func(t *testing.T) {
			t.Parallel()
			for _, sc := range scenarios {
				t.Run(sc.name, func(t *testing.T) {
					t.Parallel()
					s := newSLOSim(t, db.dsn(t), sc.interval)
					if sc.every > 0 {
						s.every = sc.every
					}
					s.history(6 * time.Hour)
					for _, p := range sc.phases {
						s.run(p, sc.restartAt)
					}
					got := s.alerts()
					t.Logf("alerts:\n%s", join(got))
					if !matches(got, sc.want) {
						t.Errorf("alerts:\n%s\nwant:\n%s", join(got), joinWant(sc.want))
					}
				})
			}
		})
	}
}

// TestSLOPausedAndRemoved: a paused target's alert is left as it is,
// even when its windows would say it recovered; removing the objective
// ends it with a recovery of threshold 0, paused or not.
func TestSLOPausedAndRemoved(t *testing.T) {
	s := newSLOSim(t, testkit.MigratedSQLite(t, migrateTo), 30*time.Second)
	s.history(6 * time.Hour)
	s.run(sloPhase{5 * time.Minute, func(int) bool { return true }}, 0)
	s.run(sloPhase{2 * time.Minute, clean}, 0)
	if got := s.alerts(); len(got) != 2 || got[0].Event != "slo.burn" || !got[0].Sent {
		t.Fatalf("alerts before the pause:\n%s", join(got))
	}
	update := func(fn func(*uptime.Target)) {
		t.Helper()
		if _, err := s.db.UpdateTarget(s.ctx, s.target.Name, func(x *uptime.Target) error { fn(x); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	update(func(x *uptime.Target) { x.Paused = true })
	// The two clean minutes would bring the 5 m window under 14.4× soon.
	s.run(sloPhase{10 * time.Minute, nil}, 0)
	if n := len(s.sent); n != 1 {
		t.Fatalf("alerts while paused:\n%s", join(s.alerts()))
	}
	update(func(x *uptime.Target) { x.SLO = 0 })
	s.run(sloPhase{2 * time.Minute, nil}, 0)
	msgs := s.hook.Messages(t)
	if len(msgs) != 2 || msgs[1].Type != "slo.recovered" || msgs[1].Data["severity"] != "page" || msgs[1].Data["threshold"] != float64(0) {
		t.Fatalf("messages %+v, want the page's burn, then its end with threshold 0", msgs)
	}
	if ts, err := s.db.SLOTargets(s.ctx); err != nil || len(ts) != 0 {
		t.Errorf("still evaluated: %+v, %v", ts, err)
	}
}

func matches(got []sloAlert, want []sloWant) bool {
	if len(got) != len(want) {
		return false
	}
	for i, w := range want {
		g := got[i]
		if g.Event != w.Event || g.Severity != w.Severity || g.Sent != w.Sent || g.At < w.From || g.At > w.To {
			return false
		}
	}
	return true
}

func join(as []sloAlert) string {
	var b strings.Builder
	for _, a := range as {
		fmt.Fprintf(&b, "\t%s\n", a)
	}
	return b.String()
}

func joinWant(ws []sloWant) string {
	var b strings.Builder
	for _, w := range ws {
		how := "sent"
		if !w.Sent {
			how = "covered"
		}
		fmt.Fprintf(&b, "\t%s %s %s at +%s..+%s\n", how, w.Event, w.Severity, w.From, w.To)
	}
	return b.String()
}

// sloSim is one target's history written check by check on an injected
// clock, with the jobs and the dispatcher run as serve runs them.
type sloSim struct {
	t        *testing.T
	ctx      context.Context
	dsn      string
	clk      *testkit.Clock
	db       *store.DB
	job      *sloJob
	notify   *notify.Dispatcher
	hook     *testkit.Webhook
	hookURL  string
	target   *uptime.Target
	interval time.Duration
	every    time.Duration // how often the jobs run
	next     time.Time     // the next check
	start    time.Time     // when the phases began
	elapsed  time.Duration
	restarts int
	sent     []sloAlert
}

func newSLOSim(t *testing.T, dsn string, interval time.Duration) *sloSim {
	s := &sloSim{t: t, ctx: context.Background(), dsn: dsn, interval: interval, every: time.Minute, hook: testkit.NewWebhook(t),
		clk: testkit.NewClock(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))}
	s.hookURL = s.hook.URL
	s.open()
	// A group_wait longer than a step: what is sent in the step that
	// raised it waited for none.
	ch := &uptime.Channel{Name: "oncall", Kind: "webhook", URL: uptime.Secret(s.hookURL), Default: true,
		GroupWait: uptime.WaitFor(time.Minute)}
	ch.Normalize()
	if err := s.db.CreateChannel(s.ctx, ch); err != nil {
		t.Fatal(err)
	}
	s.target = &uptime.Target{Name: "payments", URL: "http://payments.test/health", Interval: uptime.Duration(interval), SLO: 0.999}
	s.target.Normalize()
	if err := s.db.CreateTarget(s.ctx, s.target); err != nil {
		t.Fatal(err)
	}
	s.next = s.clk.Now()
	return s
}

// open opens the store and starts what runs on it.
func (s *sloSim) open() {
	db, err := store.Open(s.ctx, s.dsn, store.Options{Now: s.clk.Now, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { db.Close() })
	s.db = db
	s.job = &sloJob{db: db, rules: uptime.DefaultBurnRules(), now: s.clk.Now, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	s.notify = notify.New(db, notify.Config{Now: s.clk.Now, DashboardURL: "http://lookout.test"})
}

// restart closes the store and opens it again, as a new process would.
func (s *sloSim) restart() {
	if err := s.db.Close(); err != nil {
		s.t.Fatal(err)
	}
	s.open()
	s.restarts++
}

// checks records the checks due up to the clock, failing those down says.
func (s *sloSim) checks(i *int, down func(int) bool) {
	for !s.next.After(s.clk.Now()) {
		r := uptime.Result{TargetID: s.target.ID, StartedAt: s.next, Duration: 20 * time.Millisecond, Status: uptime.StatusUp, Code: 200}
		if down(*i) {
			r.Status, r.Code, r.ErrorClass, r.Error = uptime.StatusDown, 503, uptime.ClassStatus, "503 Service Unavailable"
		}
		s.db.Record(uptime.Observation{Result: r})
		s.next = s.next.Add(s.interval)
		*i++
	}
	if err := s.db.Flush(s.ctx); err != nil {
		s.t.Fatal(err)
	}
}

// history writes d of clean checks at once and rolls them up, with no
// evaluation: the target's past.
func (s *sloSim) history(d time.Duration) {
	s.clk.Advance(d)
	i := 0
	s.checks(&i, clean)
	if _, err := s.db.RollUp(s.ctx, s.clk.Now()); err != nil {
		s.t.Fatal(err)
	}
	s.start = s.clk.Now()
}

// run plays a phase a step (s.every) at a time: its checks, the rollup
// job, the SLO job, then the dispatcher, each step. It restarts everything
// once restartAt into the phases.
func (s *sloSim) run(p sloPhase, restartAt time.Duration) {
	i := 0
	for end := s.elapsed + p.d; s.elapsed < end; {
		s.clk.Advance(s.every)
		s.elapsed += s.every
		if restartAt > 0 && s.elapsed == restartAt && s.restarts == 0 {
			s.restart()
		}
		if p.down != nil {
			s.checks(&i, p.down)
		}
		if _, err := s.db.RollUp(s.ctx, s.clk.Now()); err != nil {
			s.t.Fatal(err)
		}
		if err := s.job.run(s.ctx); err != nil {
			s.t.Fatalf("slo job at +%s: %v", s.elapsed, err)
		}
		before := len(s.hook.Messages(s.t))
		s.notify.Drain(s.ctx)
		for _, m := range s.hook.Messages(s.t)[before:] {
			sev, _ := m.Data["severity"].(string)
			at, err := time.Parse(time.RFC3339, fmt.Sprint(m.Data["at"]))
			if err != nil || !at.Equal(s.clk.Now().Truncate(time.Second)) {
				s.t.Errorf("%s at +%s speaks of %v, want the step's time %v", m.Type, s.elapsed, m.Data["at"], s.clk.Now())
			}
			s.sent = append(s.sent, sloAlert{Event: m.Type, Severity: sev, At: s.elapsed, Sent: true})
		}
	}
}

// alerts are the alerts sent to the webhook, and those the delivery log
// shows were covered, in order.
func (s *sloSim) alerts() []sloAlert {
	out := slices.Clone(s.sent)
	ds, err := s.db.ListDeliveries(s.ctx, uptime.DeliveryFilter{Status: uptime.DeliverySkipped, Limit: 1000})
	if err != nil {
		s.t.Fatal(err)
	}
	for _, d := range slices.Backward(ds) {
		if d.Reason != "covered by the page alert" {
			s.t.Errorf("delivery %d of %s skipped: %q", d.ID, d.Event.Type, d.Reason)
		}
		out = append(out, sloAlert{Event: string(d.Event.Type), Severity: d.Event.SLO.Severity, At: d.Event.At.Sub(s.start)})
	}
	slices.SortStableFunc(out, func(a, b sloAlert) int { return int(a.At - b.At) })
	return out
}

// sloDatabases are the stores the scenarios run on: a SQLite file, and a
// schema of its own in PostgreSQL when one is reachable.
func sloDatabases() []struct {
	name string
	dsn  func(t *testing.T) string
} {
	return []struct {
		name string
		dsn  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return testkit.MigratedSQLite(t, migrateTo) }},
		{"postgres", func(t *testing.T) string { return testkit.MigratedPostgresDSN(t, migrateTo) }},
	}
}

// TestSLOSettings: the rules default to the workbook's, can be set by
// flag, environment or file, or turned off; the job runs on its schedule.
func TestSLOSettings(t *testing.T) {
	file := filepath.Join(t.TempDir(), "lookout.yaml")
	if err := os.WriteFile(file, []byte("slo_page: 2h,10m,10\nslo_schedule: '@every 30s'\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	off := filepath.Join(t.TempDir(), "off.yaml")
	if err := os.WriteFile(off, []byte("slo_page: off\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name     string
		args     []string
		env      map[string]string
		want     []uptime.BurnRule
		schedule string
		wantErr  string
	}{
		{name: "defaults", want: uptime.DefaultBurnRules(), schedule: "@every 1m"},
		{name: "file", args: []string{"--config", file}, schedule: "@every 30s", want: []uptime.BurnRule{
			{Severity: "page", Long: 2 * time.Hour, Short: 10 * time.Minute, Factor: 10}, uptime.DefaultBurnRules()[1]}},
		{name: "off in the file", args: []string{"--config", off}, schedule: "@every 1m", want: uptime.DefaultBurnRules()[1:]},
		{name: "env", env: map[string]string{"LOOKOUT_SLO_TICKET": "72h,6h,1"}, schedule: "@every 1m", want: []uptime.BurnRule{
			uptime.DefaultBurnRules()[0], {Severity: "ticket", Long: 72 * time.Hour, Short: 6 * time.Hour, Factor: 1}}},
		{name: "flag over env, off", args: []string{"--slo-ticket", "off"}, env: map[string]string{"LOOKOUT_SLO_TICKET": "72h,6h,1", "LOOKOUT_SLO_PAGE": "30m,2m,20"},
			schedule: "@every 1m", want: []uptime.BurnRule{{Severity: "page", Long: 30 * time.Minute, Short: 2 * time.Minute, Factor: 20}}},
		{name: "bad env", env: map[string]string{"LOOKOUT_SLO_TICKET": "3d,6h,1"},
			wantErr: `LOOKOUT_SLO_TICKET: "3d,6h,1": the long window "3d" is not a duration`},
		{name: "bad rule", args: []string{"--slo-page", "5m,1h,14.4"}, wantErr: "long: must be a whole number of minutes, longer than the short window"},
		{name: "bad schedule", args: []string{"--slo-schedule", "often"}, wantErr: "slo schedule"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg, _, err := loadConfig("serve", tt.args, env(tt.env), io.Discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want an error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.burnRules(); !slices.Equal(got, tt.want) {
				t.Errorf("rules %+v, want %+v", got, tt.want)
			}
			a := &app{}
			i := slices.IndexFunc(a.jobs(cfg, slog.New(slog.DiscardHandler)), func(j scheduler.Job) bool { return j.Name == "slo" })
			if i < 0 || a.jobs(cfg, slog.New(slog.DiscardHandler))[i].Schedule != tt.schedule {
				t.Errorf("jobs have no slo job on %q", tt.schedule)
			}
		})
	}
	var help strings.Builder
	if _, _, err := loadConfig("serve", []string{"--help"}, env(nil), &help); !errors.Is(err, flag.ErrHelp) {
		t.Fatal(err)
	}
	for _, want := range []string{`-slo-page LONG,SHORT,FACTOR`, `(default 1h,5m,14.4)`, `(default 6h,30m,6)`} {
		if !strings.Contains(help.String(), want) {
			t.Errorf("--help lacks %q:\n%s", want, help.String())
		}
	}
}
