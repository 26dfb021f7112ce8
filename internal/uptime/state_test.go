package uptime

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

// run applies a script of results, one a minute: U up, G degraded, D down,
// ? unknown. It returns the final state and the events as "type@minute"
// strings (with "/s" for a suppressed event). With restart set, the state is
// written to JSON and read back between every two steps, as a restart does.
// Each edit, if any, may change step i's result before it is applied.
func run(t *testing.T, st State, p Policy, script string, restart bool, edits ...func(i int, r *Result)) (State, []string) {
	t.Helper()
	var got []string
	for i, c := range script {
		r := Result{StartedAt: t0.Add(time.Duration(i) * time.Minute)}
		switch c {
		case 'U':
			r.Status = StatusUp
		case 'G':
			r.Status = StatusDegraded
		case 'D':
			r.Status = StatusDown
			r.ErrorClass = ClassRefused
			r.Error = fmt.Sprintf("refused %d", i)
		case '?':
			r.Status = StatusUnknown
			r.ErrorClass = ClassInternal
		case ' ':
			continue
		default:
			t.Fatalf("bad script char %q", c)
		}
		for _, edit := range edits {
			edit(i, &r)
		}
		var evs []Event
		st, evs = st.Next(r, p, r.StartedAt)
		for _, e := range evs {
			s := fmt.Sprintf("%s@%d", strings.TrimPrefix(strings.TrimPrefix(string(e.Type), "incident."), "target."), i)
			if e.Suppressed != "" {
				s += "/s"
			}
			got = append(got, s)
		}
		if restart {
			b, err := json.Marshal(st)
			if err != nil {
				t.Fatal(err)
			}
			var back State
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(st, back); diff != "" {
				t.Fatalf("state does not survive a restart after step %d (-before +after):\n%s", i, diff)
			}
			st = back
		}
	}
	return st, got
}

// bothWays runs f as two subtests: once straight, and once with the state
// restarted between every two steps (see run).
func bothWays(t *testing.T, name string, f func(t *testing.T, restart bool)) {
	t.Helper()
	for _, restart := range []bool{false, true} {
		n := name
		if restart {
			n += " (restarted between every step)"
		}
		t.Run(n, func(t *testing.T) { f(t, restart) })
	}
}

func TestStateNext(t *testing.T) {
	p31 := Policy{FailureThreshold: 3, SuccessThreshold: 1}
	p22 := Policy{FailureThreshold: 2, SuccessThreshold: 2}
	flap := Policy{FailureThreshold: 1, SuccessThreshold: 1, FlapThreshold: 3, FlapWindow: 10 * time.Minute}
	tests := []struct {
		name       string
		p          Policy
		start      State
		script     string
		wantEvents []string
		wantStatus Status
		check      func(t *testing.T, s State)
	}{
		{name: "first success makes an unknown target up", p: p31, script: "U", wantStatus: StatusUp},
		{name: "failures below the threshold open nothing", p: p31, script: "UDD", wantStatus: StatusUp,
			check: func(t *testing.T, s State) {
				if s.ConsecutiveFailures != 2 || !s.FailingSince.Equal(t0.Add(time.Minute)) {
					t.Errorf("failures %d since %s, want 2 since minute 1", s.ConsecutiveFailures, s.FailingSince)
				}
			}},
		{name: "the threshold opens an incident dated from the first failure", p: p31, script: "UDDD",
			wantEvents: []string{"opened@3"}, wantStatus: StatusDown,
			check: func(t *testing.T, s State) {
				if !s.Since.Equal(t0.Add(time.Minute)) || s.IncidentFailures != 3 || !s.Notified {
					t.Errorf("since %s failures %d notified %v, want minute 1, 3, true", s.Since, s.IncidentFailures, s.Notified)
				}
			}},
		{name: "a success breaks the run", p: p31, script: "DDUDD", wantStatus: StatusUp},
		{name: "unknown results count neither way", p: p31, script: "DD??D", wantEvents: []string{"opened@4"}, wantStatus: StatusDown,
			check: func(t *testing.T, s State) {
				if s.LastResult != StatusDown || s.LastErrorClass != ClassRefused {
					t.Errorf("last result %s/%s", s.LastResult, s.LastErrorClass)
				}
			}},
		{name: "unknown does not resolve", p: p31, script: "DDD???", wantEvents: []string{"opened@2"}, wantStatus: StatusDown},
		{name: "one success resolves with the default threshold", p: p31, script: "DDDDU",
			wantEvents: []string{"opened@2", "resolved@4"}, wantStatus: StatusUp,
			check: func(t *testing.T, s State) {
				if s.IncidentFailures != 0 || s.Notified || !s.Since.Equal(t0.Add(4*time.Minute)) {
					t.Errorf("after resolve: %+v", s)
				}
			}},
		{name: "success threshold 2 needs two successes in a row", p: p22, script: "DDUDUU",
			wantEvents: []string{"opened@1", "resolved@5"}, wantStatus: StatusUp},
		{name: "degraded is a success and resolves as degraded", p: p31, script: "DDDG",
			wantEvents: []string{"opened@2", "resolved@3"}, wantStatus: StatusDegraded},
		{name: "up and degraded alternate without events", p: p31, script: "UGUGG", wantStatus: StatusDegraded,
			check: func(t *testing.T, s State) {
				if !s.Since.Equal(t0.Add(3 * time.Minute)) {
					t.Errorf("since %s, want minute 3 (when it became degraded)", s.Since)
				}
			}},
		{name: "further failures while down alert nothing and are counted", p: p31, script: "DDDDDD",
			wantEvents: []string{"opened@2"}, wantStatus: StatusDown,
			check: func(t *testing.T, s State) {
				if s.IncidentFailures != 6 {
					t.Errorf("incident failures %d, want 6", s.IncidentFailures)
				}
			}},
		{name: "a restarted down target does not re-alert", p: p31,
			start:  State{Status: StatusDown, Since: t0.Add(-time.Hour), Notified: true, IncidentFailures: 3, ConsecutiveFailures: 3},
			script: "DDU", wantEvents: []string{"resolved@2"}, wantStatus: StatusUp},
		{name: "a restored run of failures without its start dates from the next failure", p: p31,
			start: State{Status: StatusUp, ConsecutiveFailures: 2}, script: "D",
			wantEvents: []string{"opened@0"}, wantStatus: StatusDown,
			check: func(t *testing.T, s State) {
				if !s.Since.Equal(t0) || !s.FailingSince.Equal(t0) {
					t.Errorf("since %s, failing since %s; want both minute 0", s.Since, s.FailingSince)
				}
			}},
		{name: "a second outage is a second incident", p: p31, script: "DDDUDDD",
			wantEvents: []string{"opened@2", "resolved@3", "opened@6"}, wantStatus: StatusDown},
		{name: "thresholds below one act as one", p: Policy{}, script: "DU",
			wantEvents: []string{"opened@0", "resolved@1"}, wantStatus: StatusUp},
		{name: "flapping alerts once and suppresses the flips inside it", p: flap, script: "UDUDUDU",
			// flips at 1 (open), 2 (resolve), 3 (open) → the 4th flip at 4 starts flapping.
			wantEvents: []string{"opened@1", "resolved@2", "opened@3", "resolved@4", "flapping@4", "opened@5/s", "resolved@6/s"},
			wantStatus: StatusUp,
			check: func(t *testing.T, s State) {
				if !s.Flapping {
					t.Error("not flapping")
				}
			}},
		{name: "flapping ends when the window empties, alerting a suppressed open incident", p: flap,
			script:     "UDUDUDUD" + strings.Repeat("D", 12),
			wantEvents: []string{"opened@1", "resolved@2", "opened@3", "resolved@4", "flapping@4", "opened@5/s", "resolved@6/s", "opened@7/s", "stable@15", "opened@15"},
			wantStatus: StatusDown,
			check: func(t *testing.T, s State) {
				if s.Flapping || !s.Notified || !s.Since.Equal(t0.Add(7*time.Minute)) {
					t.Errorf("flapping %v notified %v since %s", s.Flapping, s.Notified, s.Since)
				}
			}},
		{name: "the resolution whose flip starts a flap is still alerted", p: flap,
			script:     "UDUDU",
			wantEvents: []string{"opened@1", "resolved@2", "opened@3", "resolved@4", "flapping@4"},
			wantStatus: StatusUp},
		{name: "turning flap detection off ends a flap", p: p31,
			start: State{Status: StatusUp, Flapping: true, Flips: []time.Time{t0}}, script: "U",
			wantEvents: []string{"stable@0"}, wantStatus: StatusUp},
		{name: "flips outside the window do not count", p: flap,
			script:     "UD" + strings.Repeat("D", 11) + "U" + strings.Repeat("U", 11) + "DU",
			wantEvents: []string{"opened@1", "resolved@13", "opened@25", "resolved@26"},
			wantStatus: StatusUp},
	}
	for _, tt := range tests {
		bothWays(t, tt.name, func(t *testing.T, restart bool) {
			s, got := run(t, tt.start, tt.p, tt.script, restart)
			if diff := cmp.Diff(tt.wantEvents, got); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			if s.Status != tt.wantStatus {
				t.Errorf("status %s, want %s", s.Status, tt.wantStatus)
			}
			if tt.check != nil {
				tt.check(t, s)
			}
		})
	}
}

// TestFlappingSince: a flapping target says since when, the first of the
// flips that made it flapping, until the flap ends.
func TestFlappingSince(t *testing.T) {
	flap := Policy{FailureThreshold: 1, SuccessThreshold: 1, FlapThreshold: 3, FlapWindow: 10 * time.Minute}
	quiet := strings.Repeat("U", 12)
	const never = -1
	tests := []struct {
		name   string
		p      Policy
		start  State
		script string
		since  int // minute of the script, or never
	}{
		{name: "flips within the limit are no flap", p: flap, script: "UDUD", since: never},
		{name: "flapping starts at the first flip of the window", p: flap, script: "UDUDU", since: 1},
		{name: "later flips do not move it", p: flap, script: "UDUDUDUD", since: 1},
		{name: "it stays when its first flips leave the window", p: flap, script: "UDUDUDUDUDUDUDUD", since: 1},
		{name: "it is cleared when the flap ends", p: flap, script: "UDUDUDU" + quiet, since: never},
		{name: "a second flap has its own", p: flap, script: "UDUDUDU" + quiet + "DUDU", since: 19},
		{name: "turning flap detection off clears it", p: Policy{FailureThreshold: 1, SuccessThreshold: 1},
			start: State{Status: StatusUp, Flapping: true, FlappingSince: t0.Add(-time.Hour), Flips: []time.Time{t0}}, script: "U", since: never},
	}
	for _, tt := range tests {
		bothWays(t, tt.name, func(t *testing.T, restart bool) {
			s, _ := run(t, tt.start, tt.p, tt.script, restart)
			var want time.Time
			if tt.since != never {
				want = t0.Add(time.Duration(tt.since) * time.Minute)
			}
			if !s.FlappingSince.Equal(want) || s.Flapping != (tt.since != never) {
				t.Errorf("flapping %v since %s, want since %s", s.Flapping, s.FlappingSince, want)
			}
		})
	}
}

func TestStateNextEventDetails(t *testing.T) {
	p := Policy{FailureThreshold: 2, SuccessThreshold: 1}
	var s State
	down := Result{Status: StatusDown, ErrorClass: ClassStatus, Error: "status 500",
		Components: []Component{{Name: "db", Status: StatusDown}, {Name: "cache", Status: StatusUp}}}
	down.StartedAt = t0
	s, _ = s.Next(down, p, t0)
	down.StartedAt = t0.Add(30 * time.Second)
	s, evs := s.Next(down, p, t0)
	if len(evs) != 1 {
		t.Fatalf("events %+v", evs)
	}
	want := Event{Type: EventIncidentOpened, At: t0.Add(30 * time.Second), Since: t0, Error: "status 500",
		ErrorClass: ClassStatus, Failures: 2, Components: []Component{{Name: "db", Status: StatusDown}}}
	if diff := cmp.Diff(want, evs[0]); diff != "" {
		t.Errorf("opened event (-want +got):\n%s", diff)
	}
	_, evs = s.Next(Result{Status: StatusUp, StartedAt: t0.Add(5 * time.Minute)}, p, t0)
	if len(evs) != 1 || evs[0].Type != EventIncidentResolved || evs[0].Duration() != 5*time.Minute || evs[0].Failures != 2 {
		t.Errorf("resolved event %+v, want a 5m outage of 2 failures", evs)
	}
}

func TestStateNextLeavesItsInputAlone(t *testing.T) {
	p := Policy{FailureThreshold: 1, SuccessThreshold: 1, FlapThreshold: 10, FlapWindow: time.Hour}
	s := State{Flips: make([]time.Time, 1, 8)}
	s.Flips[0] = t0
	before := s.Flips[:1:1]
	_, _ = s.Next(Result{Status: StatusDown, StartedAt: t0.Add(time.Minute)}, p, t0)
	if len(s.Flips) != 1 || !before[0].Equal(t0) || s.Flips[:2][1] != (time.Time{}) {
		t.Errorf("Next wrote into its receiver's flips: %v", s.Flips[:2])
	}
}

func TestStateNextCertificateExpiry(t *testing.T) {
	day := func(d float64) time.Time { return t0.Add(time.Duration(d * float64(24*time.Hour))) }
	warn := Policy{FailureThreshold: 3, SuccessThreshold: 1, ExpiryWarn: []int{21, 7, 1}}
	tests := []struct {
		name   string
		p      Policy
		script string
		// at and expires are, for each check, the day it runs and the day
		// its certificate expires (0: the result carries none).
		at, expires []float64
		wantEvents  []string
		wantExpiry  float64
		wantWarned  int
	}{
		{name: "crossing 21, 7 and 1 days warns once at each", p: warn, script: "UUUUUUUUUUU",
			at:         []float64{0, 8, 9, 9.5, 12, 23, 23.5, 25, 29, 29.5, 29.9},
			expires:    []float64{30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30},
			wantEvents: []string{"certificate.expiring@2", "certificate.expiring@5", "certificate.expiring@8"},
			wantExpiry: 30, wantWarned: 1},
		{name: "a first check inside several thresholds warns once, for the smallest", p: warn, script: "UUU",
			at: []float64{0, 1, 4.5}, expires: []float64{5, 5, 5},
			wantEvents: []string{"certificate.expiring@0", "certificate.expiring@2"},
			wantExpiry: 5, wantWarned: 1},
		{name: "a renewal starts over", p: warn, script: "UUUUU",
			at: []float64{23, 24, 25, 98, 99}, expires: []float64{30, 120, 120, 120, 120},
			wantEvents: []string{"certificate.expiring@0", "certificate.expiring@4"},
			wantExpiry: 120, wantWarned: 21},
		{name: "a renewal already inside a threshold does not warn, the next threshold does", p: warn, script: "UUUU",
			at: []float64{9, 10, 12, 13}, expires: []float64{10, 20, 20, 20},
			wantEvents: []string{"certificate.expiring@0", "certificate.expiring@3"},
			wantExpiry: 20, wantWarned: 7},
		{name: "unknown results are ignored", p: warn, script: "??U",
			at: []float64{0, 1, 2}, expires: []float64{40, 5, 40},
			wantExpiry: 40},
		{name: "results without a certificate keep the last expiry", p: warn, script: "UDU",
			at: []float64{0, 1, 2}, expires: []float64{6, 0, 0},
			wantEvents: []string{"certificate.expiring@0"},
			wantExpiry: 6, wantWarned: 7},
		{name: "an expired certificate fails the check; it warns only at a threshold not yet alerted", p: warn, script: "UDDDD",
			at: []float64{3, 10.5, 11, 11.5, 12}, expires: []float64{10, 10, 10, 10, 10},
			wantEvents: []string{"certificate.expiring@0", "certificate.expiring@1", "opened@3"},
			wantExpiry: 10, wantWarned: 1},
		{name: "no thresholds never warn", p: Policy{FailureThreshold: 1}, script: "U",
			at: []float64{0}, expires: []float64{1}, wantExpiry: 1},
		{name: "thresholds below a day are ignored", p: Policy{FailureThreshold: 1, ExpiryWarn: []int{-1, 0, 7}}, script: "UUUU",
			at: []float64{3, 9.5, 10.5, 12}, expires: []float64{10, 10, 10, 10},
			wantEvents: []string{"certificate.expiring@0"},
			wantExpiry: 10, wantWarned: 7},
	}
	for _, tt := range tests {
		bothWays(t, tt.name, func(t *testing.T, restart bool) {
			s, got := run(t, State{}, tt.p, tt.script, restart, func(i int, r *Result) {
				r.StartedAt = day(tt.at[i])
				if tt.expires[i] != 0 {
					r.CertExpiry = day(tt.expires[i])
				}
			})
			if diff := cmp.Diff(tt.wantEvents, got); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			if want := day(tt.wantExpiry); tt.wantExpiry == 0 && !s.CertExpiry.IsZero() || tt.wantExpiry != 0 && !s.CertExpiry.Equal(want) {
				t.Errorf("cert expiry %s, want day %v", s.CertExpiry, tt.wantExpiry)
			}
			if s.CertWarned != tt.wantWarned {
				t.Errorf("cert warned %d, want %d", s.CertWarned, tt.wantWarned)
			}
		})
	}
}

func TestStateNextCertificateEventDetails(t *testing.T) {
	p := Policy{FailureThreshold: 3, SuccessThreshold: 1, ExpiryWarn: []int{21, 7, 1}}
	expiry := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	at := expiry.Add(-7 * 24 * time.Hour).Add(time.Hour)
	s, evs := State{}.Next(Result{Status: StatusUp, StartedAt: at, CertExpiry: expiry}, p, at)
	want := []Event{{Type: EventCertExpiring, At: at, Since: expiry, Error: "certificate expires in 7 days (2026-12-01)"}}
	if diff := cmp.Diff(want, evs); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	if s.Status != StatusUp || !s.CertExpiry.Equal(expiry) || s.CertWarned != 7 {
		t.Errorf("state %+v", s)
	}
	// An intermediate expiring before the leaf is what warns.
	chain := expiry.Add(-6 * 24 * time.Hour)
	s2, evs := s.Next(Result{Status: StatusUp, StartedAt: at.Add(time.Hour), CertExpiry: expiry, ChainExpiry: chain}, p, at)
	if len(evs) != 1 || !evs[0].Since.Equal(chain) || evs[0].Error != "certificate expires in 1 day (2026-11-25)" ||
		!s2.CertExpiry.Equal(chain) || s2.CertWarned != 1 {
		t.Errorf("chain expiring first: events %+v, state %+v", evs, s2)
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"cert_expiry":"2026-12-01T10:00:00Z","cert_warned":7`) {
		t.Errorf("state JSON %s lacks the certificate", b)
	}
	b, _ = json.Marshal(State{})
	if strings.Contains(string(b), "cert_") {
		t.Errorf("a state without a certificate shows one: %s", b)
	}
}

func TestCertExpiryText(t *testing.T) {
	expiry := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		left time.Duration
		want string
	}{
		{7 * 24 * time.Hour, "certificate expires in 7 days (2026-12-01)"},
		{6*24*time.Hour + time.Second, "certificate expires in 7 days (2026-12-01)"},
		{time.Hour, "certificate expires in 1 day (2026-12-01)"},
		{0, "certificate expired on 2026-12-01"},
		{-48 * time.Hour, "certificate expired on 2026-12-01"},
	} {
		if got := CertExpiryText(expiry, expiry.Add(-tt.left)); got != tt.want {
			t.Errorf("%s before expiry: %q, want %q", tt.left, got, tt.want)
		}
	}
}

// The resolution carries the cause the scheduler gave the opening, and
// clears it: the next outage is attributed afresh.
func TestStateNextResolutionCarriesTheCause(t *testing.T) {
	p := Policy{FailureThreshold: 1, SuccessThreshold: 1}
	s, evs := State{}.Next(Result{Status: StatusDown, StartedAt: t0}, p, t0)
	if len(evs) != 1 || evs[0].Type != EventIncidentOpened {
		t.Fatalf("events %+v, want an opening", evs)
	}
	s.Cause = "postgres-main"
	s, evs = s.Next(Result{Status: StatusUp, StartedAt: t0.Add(time.Minute)}, p, t0)
	if len(evs) != 1 || evs[0].Type != EventIncidentResolved || evs[0].Cause != "postgres-main" {
		t.Errorf("events %+v, want a resolution caused by postgres-main", evs)
	}
	if s.Cause != "" {
		t.Errorf("cause %q after the resolution, want none", s.Cause)
	}
}

// Next runs for every check: a check that changes nothing but the counters
// copies nothing, even for a target with flips in its history.
func TestStateNextSteadyCheckAllocatesNothing(t *testing.T) {
	p := Policy{FailureThreshold: 3, SuccessThreshold: 1, FlapThreshold: 5, FlapWindow: 30 * time.Minute, ExpiryWarn: []int{21, 7, 1}}
	s := State{Status: StatusUp, Flips: []time.Time{t0, t0.Add(time.Minute)}}
	r := Result{Status: StatusUp, StartedAt: t0.Add(time.Hour)}
	if n := testing.AllocsPerRun(100, func() { s.Next(r, p, r.StartedAt) }); n != 0 {
		t.Errorf("%v allocations per steady check, want 0", n)
	}
}
