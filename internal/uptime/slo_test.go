package uptime

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// spent is a tally of a window of length w whose time is known, down for
// frac of it.
func spent(w time.Duration, frac float64) Tally {
	down := time.Duration(float64(w) * frac)
	return Tally{UpTime: w - down, DownTime: down}
}

// windows are the default rules' four windows, each down for its share.
func windows(h1, m5, h6, m30 float64) map[time.Duration]Tally {
	return map[time.Duration]Tally{
		time.Hour:        spent(time.Hour, h1),
		5 * time.Minute:  spent(5*time.Minute, m5),
		6 * time.Hour:    spent(6*time.Hour, h6),
		30 * time.Minute: spent(30*time.Minute, m30),
	}
}

func firing(alerts ...any) SLOState {
	s := SLOState{Firing: map[string]SLOAlert{}}
	for i := 0; i < len(alerts); i += 2 {
		s.Firing[alerts[i].(string)] = alerts[i+1].(SLOAlert)
	}
	return s
}

func TestBurnRate(t *testing.T) {
	for _, tt := range []struct {
		name      string
		t         Tally
		objective float64
		want      float64
	}{
		{"no downtime burns nothing", spent(time.Hour, 0), 0.999, 0},
		{"the budget exactly", spent(time.Hour, 0.25), 0.75, 1},
		{"all down", spent(time.Hour, 1), 0.75, 4},
		{"degraded time is available", Tally{DegradedTime: time.Hour}, 0.75, 0},
		{"unknown, maintenance and paused time are left out",
			Tally{UpTime: 30 * time.Minute, DownTime: 30 * time.Minute, UnknownTime: time.Hour, MaintenanceTime: time.Hour, PausedTime: time.Hour}, 0.75, 2},
		{"no known time burns nothing", Tally{UnknownTime: time.Hour, MaintenanceTime: time.Hour}, 0.999, 0},
		{"no objective burns nothing", spent(time.Hour, 1), 0, 0},
		{"an objective of 1 burns nothing", spent(time.Hour, 1), 1, 0},
	} {
		if got := BurnRate(&tt.t, tt.objective); got != tt.want {
			t.Errorf("%s: BurnRate = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestSLOStateNext(t *testing.T) {
	before := t0.Add(-20 * time.Minute)
	p := SLOPolicy{Objective: 0.999, Rules: DefaultBurnRules()}
	page := func(long, short, budget float64) *SLOBurn {
		return &SLOBurn{Severity: "page", Objective: 0.999, Threshold: 14.4, BudgetSpent: budget,
			Long: Burn{Duration(time.Hour), long}, Short: Burn{Duration(5 * time.Minute), short}}
	}
	ticket := func(long, short, budget float64) *SLOBurn {
		return &SLOBurn{Severity: "ticket", Objective: 0.999, Threshold: 6, BudgetSpent: budget,
			Long: Burn{Duration(6 * time.Hour), long}, Short: Burn{Duration(30 * time.Minute), short}}
	}
	for _, tt := range []struct {
		name       string
		state      SLOState
		policy     SLOPolicy
		tallies    map[time.Duration]Tally
		want       SLOState
		wantEvents []Event
	}{
		{name: "all clean: nothing fires", policy: p, tallies: windows(0, 0, 0, 0)},
		{name: "1 h and 5 m above 14.4: page", policy: p, tallies: windows(0.02, 0.2, 0.001, 0.004),
			want:       firing("page", SLOAlert{Since: t0}),
			wantEvents: []Event{{Type: EventSLOBurn, At: t0, SLO: page(20, 200, 0.0278)}}},
		{name: "the long window alone: a burst already over", policy: p, tallies: windows(0.05, 0, 0.001, 0.001)},
		{name: "the short window alone: a blip", policy: p, tallies: windows(0.005, 0.5, 0.001, 0.001)},
		{name: "6 h and 30 m above 6: ticket", policy: p, tallies: windows(0.01, 0.01, 0.01, 0.01),
			want:       firing("ticket", SLOAlert{Since: t0}),
			wantEvents: []Event{{Type: EventSLOBurn, At: t0, SLO: ticket(10, 10, 0.0833)}}},
		{name: "at the factor exactly is not above it",
			policy:  SLOPolicy{Objective: 0.75, Rules: []BurnRule{{Severity: "page", Long: time.Hour, Short: 5 * time.Minute, Factor: 2}}},
			tallies: windows(0.5, 0.5, 0, 0)},
		{name: "a firing page that still holds: nothing new", state: firing("page", SLOAlert{Since: before}),
			policy: p, tallies: windows(0.3, 1, 0.001, 0.004), want: firing("page", SLOAlert{Since: before})},
		{name: "the short window cools down: the page recovers", state: firing("page", SLOAlert{Since: before}),
			policy: p, tallies: windows(0.3, 0.01, 0.001, 0.004),
			wantEvents: []Event{{Type: EventSLORecovered, At: t0, Since: before, SLO: page(300, 10, 0.4167)}}},
		{name: "no known time in the short window is no recovery", state: firing("page", SLOAlert{Since: before}), policy: p,
			tallies: map[time.Duration]Tally{time.Hour: spent(time.Hour, 0.3), 5 * time.Minute: {UnknownTime: 5 * time.Minute}},
			want:    firing("page", SLOAlert{Since: before})},
		{name: "no known time starts nothing", policy: p,
			tallies: map[time.Duration]Tally{time.Hour: {MaintenanceTime: time.Hour}, 5 * time.Minute: {MaintenanceTime: 5 * time.Minute}}},
		{name: "a ticket starting while the page fires is covered", state: firing("page", SLOAlert{Since: before}),
			policy: p, tallies: windows(0.3, 1, 0.05, 0.6),
			want: firing("page", SLOAlert{Since: before}, "ticket", SLOAlert{Since: t0, Suppressed: "covered by the page alert"}),
			wantEvents: []Event{{Type: EventSLOBurn, At: t0, Suppressed: "covered by the page alert",
				SLO: ticket(50, 600, 0.4167)}}},
		{name: "both at once: the page covers the ticket", policy: p, tallies: windows(0.1, 1, 0.05, 0.2),
			want: firing("page", SLOAlert{Since: t0}, "ticket", SLOAlert{Since: t0, Suppressed: "covered by the page alert"}),
			wantEvents: []Event{
				{Type: EventSLOBurn, At: t0, SLO: page(100, 1000, 0.1389)},
				{Type: EventSLOBurn, At: t0, Suppressed: "covered by the page alert", SLO: ticket(50, 200, 0.4167)},
			}},
		{name: "a ticket sent before the page stays sent: an escalation pages", state: firing("ticket", SLOAlert{Since: before}),
			policy: p, tallies: windows(0.1, 1, 0.05, 0.2),
			want:       firing("page", SLOAlert{Since: t0}, "ticket", SLOAlert{Since: before}),
			wantEvents: []Event{{Type: EventSLOBurn, At: t0, SLO: page(100, 1000, 0.1389)}}},
		{name: "a covered ticket stays covered when the page recovers first",
			state:  firing("page", SLOAlert{Since: before}, "ticket", SLOAlert{Since: before, Suppressed: "covered by the page alert"}),
			policy: p, tallies: windows(0.3, 0, 0.05, 0.6),
			want:       firing("ticket", SLOAlert{Since: before, Suppressed: "covered by the page alert"}),
			wantEvents: []Event{{Type: EventSLORecovered, At: t0, Since: before, SLO: page(300, 0, 0.4167)}}},
		{name: "a covered ticket recovers unsent", state: firing("ticket", SLOAlert{Since: before, Suppressed: "covered by the page alert"}),
			policy: p, tallies: windows(0, 0, 0.05, 0.001),
			wantEvents: []Event{{Type: EventSLORecovered, At: t0, Since: before, Suppressed: "covered by the page alert", SLO: ticket(50, 1, 0.4167)}}},
		{name: "the objective removed: what fires recovers, with nothing to measure",
			state: firing("page", SLOAlert{Since: before}), policy: SLOPolicy{Rules: DefaultBurnRules()},
			wantEvents: []Event{{Type: EventSLORecovered, At: t0, Since: before,
				SLO: &SLOBurn{Severity: "page"}}}},
		{name: "a severity no rule has any more recovers", state: firing("urgent", SLOAlert{Since: before}),
			policy: p, tallies: windows(0, 0, 0, 0),
			wantEvents: []Event{{Type: EventSLORecovered, At: t0, Since: before, SLO: &SLOBurn{Severity: "urgent", Objective: 0.999}}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, events := tt.state.Next(tt.tallies, tt.policy, t0)
			if !got.Equal(tt.want) {
				t.Errorf("state %+v, want %+v", got, tt.want)
			}
			if diff := cmp.Diff(tt.wantEvents, events); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSLOStateNextHardOutage plays a hard outage minute by minute against
// the default rules: it pages as soon as the hour has burned 14.4× (under a
// minute of downtime), never sends a ticket as well, and the page recovers
// five minutes after the outage, when the short window has cooled.
func TestSLOStateNextHardOutage(t *testing.T) {
	p := SLOPolicy{Objective: 0.999, Rules: DefaultBurnRules()}
	const outage = 20 // minutes, from minute 0
	downIn := func(w time.Duration, at int) time.Duration {
		// The outage's minutes that fall in the w before the end of minute at.
		from, to := at+1-int(w/time.Minute), at+1
		lo, hi := max(from, 0), min(to, outage)
		return time.Duration(max(hi-lo, 0)) * time.Minute
	}
	var (
		s    SLOState
		sent []string
	)
	for at := range 60 {
		tallies := map[time.Duration]Tally{}
		for _, w := range p.Windows() {
			d := downIn(w, at)
			tallies[w] = Tally{UpTime: w - d, DownTime: d}
		}
		var events []Event
		s, events = s.Next(tallies, p, t0.Add(time.Duration(at+1)*time.Minute))
		for _, e := range events {
			if e.Suppressed == "" {
				sent = append(sent, strings.Join([]string{string(e.Type), e.SLO.Severity, e.At.Format("15:04")}, " "))
			}
		}
	}
	want := []string{"slo.burn page 12:01", "slo.recovered page 12:25"}
	if !slices.Equal(sent, want) {
		t.Errorf("sent %q, want %q", sent, want)
	}
}

func TestSLOPolicyWindows(t *testing.T) {
	p := SLOPolicy{Rules: append(DefaultBurnRules(), BurnRule{Severity: "slow", Long: 6 * time.Hour, Short: 5 * time.Minute, Factor: 2})}
	want := []time.Duration{5 * time.Minute, 30 * time.Minute, time.Hour, 6 * time.Hour}
	if got := p.Windows(); !slices.Equal(got, want) {
		t.Errorf("Windows = %v, want %v", got, want)
	}
}

func TestParseBurnRule(t *testing.T) {
	for _, tt := range []struct {
		in      string
		want    BurnRule
		wantErr string
	}{
		{in: "1h,5m,14.4", want: BurnRule{Severity: "page", Long: time.Hour, Short: 5 * time.Minute, Factor: 14.4}},
		{in: " 6h , 30m , 6 ", want: BurnRule{Severity: "page", Long: 6 * time.Hour, Short: 30 * time.Minute, Factor: 6}},
		{in: "1h,5m", wantErr: "is not LONG,SHORT,FACTOR"},
		{in: "1x,5m,2", wantErr: "long window"},
		{in: "1h,5,2", wantErr: "short window"},
		{in: "1h,5m,fast", wantErr: "factor"},
		{in: "5m,1h,2", wantErr: "long: must be"},
		{in: "1h,30s,2", wantErr: "short: must be a whole number of minutes"},
		{in: "1h,5m,0", wantErr: "factor: must be a positive number"},
		{in: "1h,5m,-3", wantErr: "factor"},
		{in: "1h,5m,NaN", wantErr: "factor"},
		{in: "1h,5m,+Inf", wantErr: "factor"},
	} {
		got, err := ParseBurnRule("page", tt.in)
		switch {
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("ParseBurnRule(%q) = %+v, %v; want an error with %q", tt.in, got, err, tt.wantErr)
		case tt.wantErr == "" && (err != nil || got != tt.want):
			t.Errorf("ParseBurnRule(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
	for _, r := range DefaultBurnRules() {
		back, err := ParseBurnRule(r.Severity, r.String())
		if err != nil || back != r {
			t.Errorf("%s: %q reads back as %+v, %v", r.Severity, r.String(), back, err)
		}
	}
	if got := (BurnRule{Long: 90 * time.Minute, Short: 10 * time.Minute, Factor: 3}).String(); got != "1h30m,10m,3" {
		t.Errorf("String = %q, want 1h30m,10m,3", got)
	}
}
