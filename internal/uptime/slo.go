package uptime

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The events of burn-rate alerts, from SLOState.Next.
const (
	EventSLOBurn      EventType = "slo.burn"
	EventSLORecovered EventType = "slo.recovered"
)

// The severities of the default burn-rate rules.
const (
	SeverityPage   = "page"
	SeverityTicket = "ticket"
)

// BudgetPeriod is the period an error budget is reckoned over. The default
// factors are the burn rates that spend 2 % (page) and 5 % (ticket) of it
// within their long windows.
const BudgetPeriod = 30 * 24 * time.Hour

// BurnRule is one multi-window burn-rate alert: it fires while the error
// budget burns more than Factor times as fast as the objective allows over
// both the Long and the Short window. The long window makes it fire only
// for a burn that spends a real share of the budget; the short one makes
// it stop soon after the burn does, where the long window alone would
// keep it firing for as long as the burn stays inside it.
type BurnRule struct {
	Severity    string
	Long, Short time.Duration
	Factor      float64
}

// DefaultBurnRules are the multi-window, multi-burn-rate alerts of an
// availability objective: page while 1 h and 5 m both burn above 14.4×,
// ticket while 6 h and 30 m both burn above 6×.
func DefaultBurnRules() []BurnRule {
	return []BurnRule{
		{Severity: SeverityPage, Long: time.Hour, Short: 5 * time.Minute, Factor: 14.4},
		{Severity: SeverityTicket, Long: 6 * time.Hour, Short: 30 * time.Minute, Factor: 6},
	}
}

// String is "1h,5m,14.4", the form ParseBurnRule reads.
func (r BurnRule) String() string {
	return fmt.Sprintf("%s,%s,%s", shortDuration(r.Long), shortDuration(r.Short), formatFactor(r.Factor))
}

// ParseBurnRule reads "LONG,SHORT,FACTOR", such as "1h,5m,14.4", as the
// rule of severity. It returns an error saying what is wrong when s does
// not have that form or the rule does not validate.
func ParseBurnRule(severity, s string) (BurnRule, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 3 {
		return BurnRule{}, fmt.Errorf("%q is not LONG,SHORT,FACTOR such as 1h,5m,14.4", s)
	}
	r := BurnRule{Severity: severity}
	var err error
	if r.Long, err = time.ParseDuration(strings.TrimSpace(parts[0])); err != nil {
		return BurnRule{}, fmt.Errorf("%q: the long window %q is not a duration such as 1h", s, parts[0])
	}
	if r.Short, err = time.ParseDuration(strings.TrimSpace(parts[1])); err != nil {
		return BurnRule{}, fmt.Errorf("%q: the short window %q is not a duration such as 5m", s, parts[1])
	}
	if r.Factor, err = strconv.ParseFloat(strings.TrimSpace(parts[2]), 64); err != nil {
		return BurnRule{}, fmt.Errorf("%q: the factor %q is not a number such as 14.4", s, parts[2])
	}
	if err := r.Validate(); err != nil {
		return BurnRule{}, fmt.Errorf("%q: %w", s, err)
	}
	return r, nil
}

// Validate returns a *ValidationError or nil: both windows are whole
// minutes (history is counted by the minute), the short one shorter than
// the long one, and the factor positive.
func (r BurnRule) Validate() error {
	var v ValidationError
	if r.Severity == "" {
		v.Add("severity", "is required")
	}
	if r.Short < time.Minute || r.Short%time.Minute != 0 {
		v.Add("short", "must be a whole number of minutes, at least 1m")
	}
	if r.Long%time.Minute != 0 || r.Long <= r.Short {
		v.Add("long", "must be a whole number of minutes, longer than the short window")
	}
	if !(r.Factor > 0) || math.IsInf(r.Factor, 0) {
		v.Add("factor", "must be a positive number such as 14.4")
	}
	return v.Err()
}

// SLOPolicy is what the burn-rate alerts of one target need to know.
type SLOPolicy struct {
	// Objective is the target's slo, such as 0.999. Outside (0, 1) the
	// target has none, and every alert still firing recovers.
	Objective float64
	// Rules are the alerts, the most severe first: a burn that starts
	// while a more severe alert of the target fires is covered by it.
	Rules []BurnRule
}

// Windows are the distinct windows the rules measure, shortest first, so
// that each is tallied once.
func (p SLOPolicy) Windows() []time.Duration {
	var out []time.Duration
	for _, r := range p.Rules {
		for _, w := range []time.Duration{r.Long, r.Short} {
			if !slices.Contains(out, w) {
				out = append(out, w)
			}
		}
	}
	slices.Sort(out)
	return out
}

// BurnRate is how fast t's downtime spends the error budget of objective:
// (1 − availability) / (1 − objective), availability being time-weighted
// with unknown, maintenance and paused time left out. At 1 the budget
// lasts exactly its period; at 14.4 a 30-day budget is gone in 50 hours.
// A tally with no known time, or an objective outside (0, 1), burns
// nothing.
func BurnRate(t *Tally, objective float64) float64 {
	a, ok := t.Availability()
	if !ok || !(objective > 0 && objective < 1) {
		return 0
	}
	return (1 - a) / (1 - objective)
}

// SLOAlert is a burn-rate alert that is firing.
type SLOAlert struct {
	// Since is when it started firing.
	Since time.Time
	// Suppressed, when set, is why it (and its recovery) are stored but
	// not sent: it started while a more severe alert of the target fired.
	Suppressed string
}

// SLOState is which burn-rate alerts of a target are firing, by severity.
// The store keeps it, so that a restart neither alerts a burn again nor
// forgets one.
type SLOState struct {
	Firing map[string]SLOAlert
}

// Equal reports whether s and o have the same alerts firing, alike.
func (s SLOState) Equal(o SLOState) bool {
	return maps.EqualFunc(s.Firing, o.Firing, func(a, b SLOAlert) bool {
		return a.Since.Equal(b.Since) && a.Suppressed == b.Suppressed
	})
}

// Burn is the error budget's burn rate over one window.
type Burn struct {
	Window Duration `json:"window"`
	Rate   float64  `json:"burn_rate"`
}

// SLOBurn is what a burn-rate event reports: the rule, and the burn rates
// measured when it fired or recovered.
type SLOBurn struct {
	Severity  string  `json:"severity"`
	Objective float64 `json:"objective"`
	// Threshold is the rule's factor; 0 when the rule or the objective is
	// gone and the alert ended with it.
	Threshold float64 `json:"threshold"`
	// Long and Short are left out when the alert ended with its rule.
	Long  Burn `json:"long_window,omitzero"`
	Short Burn `json:"short_window,omitzero"`
	// BudgetSpent is the share of a BudgetPeriod's error budget that the
	// long window's downtime used: 0.02 for 14.4× over an hour.
	BudgetSpent float64 `json:"budget_spent"`
}

// Next evaluates the rules of p against the tallies of the windows they
// measure (tallies[w] is the target's history over the last w), and
// returns the new state and the events of the alerts that start or stop
// firing. It is pure.
//
// A rule holds while the burn rates over both its windows are above its
// factor. An alert starts firing (EventSLOBurn) when its rule comes to
// hold, and recovers (EventSLORecovered) when it no longer does. A window
// without known time burns nothing, so it starts no alert; but it is no
// evidence of recovery either (Lookout was stopped, or the window was all
// maintenance), so an alert already firing keeps firing until its windows
// show otherwise. An alert that starts while a more severe one (an earlier
// rule) of the target is firing is covered by it: it and its recovery are
// emitted suppressed, so that one outage pages and does not ticket as
// well. Alerts of severities the rules no longer have, and every alert
// when the objective is gone, recover at once.
func (s SLOState) Next(tallies map[time.Duration]Tally, p SLOPolicy, now time.Time) (SLOState, []Event) {
	var (
		next   = SLOState{Firing: map[string]SLOAlert{}}
		events []Event
		// covering is the most severe alert firing so far.
		covering string
		valid    = p.Objective > 0 && p.Objective < 1
		seen     = map[string]bool{}
	)
	for _, r := range p.Rules {
		if seen[r.Severity] {
			continue
		}
		seen[r.Severity] = true
		long, short := tallies[r.Long], tallies[r.Short]
		m := measure(r, p.Objective, &long, &short)
		cur, firing := s.Firing[r.Severity]
		known := long.Known() > 0 && short.Known() > 0
		holds := valid && known && m.Long.Rate > r.Factor && m.Short.Rate > r.Factor
		switch {
		case firing && (holds || (valid && !known)):
			next.Firing[r.Severity] = cur
		case firing:
			ended := roundBurn(m)
			if !valid {
				ended = &SLOBurn{Severity: r.Severity, Objective: p.Objective}
			}
			events = append(events, Event{Type: EventSLORecovered, At: now, Since: cur.Since, Suppressed: cur.Suppressed, SLO: ended})
		case holds:
			a := SLOAlert{Since: now}
			if covering != "" {
				a.Suppressed = "covered by the " + covering + " alert"
			}
			next.Firing[r.Severity] = a
			events = append(events, Event{Type: EventSLOBurn, At: now, Suppressed: a.Suppressed, SLO: roundBurn(m)})
		}
		if _, ok := next.Firing[r.Severity]; ok && covering == "" {
			covering = r.Severity
		}
	}
	for _, sev := range slices.Sorted(maps.Keys(s.Firing)) {
		if seen[sev] {
			continue
		}
		cur := s.Firing[sev]
		events = append(events, Event{Type: EventSLORecovered, At: now, Since: cur.Since, Suppressed: cur.Suppressed,
			SLO: &SLOBurn{Severity: sev, Objective: p.Objective}})
	}
	if len(next.Firing) == 0 {
		next.Firing = nil
	}
	return next, events
}

// measure is what rule r sees of its windows' tallies.
func measure(r BurnRule, objective float64, long, short *Tally) SLOBurn {
	m := SLOBurn{
		Severity: r.Severity, Objective: objective, Threshold: r.Factor,
		Long:  Burn{Window: Duration(r.Long), Rate: BurnRate(long, objective)},
		Short: Burn{Window: Duration(r.Short), Rate: BurnRate(short, objective)},
	}
	if objective > 0 && objective < 1 {
		m.BudgetSpent = float64(long.DownTime) / ((1 - objective) * float64(BudgetPeriod))
	}
	return m
}

// roundBurn keeps what people read: burn rates to the hundredth, the
// budget spent to the hundredth of a percent.
func roundBurn(m SLOBurn) *SLOBurn {
	m.Long.Rate = math.Round(m.Long.Rate*100) / 100
	m.Short.Rate = math.Round(m.Short.Rate*100) / 100
	m.BudgetSpent = math.Round(m.BudgetSpent*1e4) / 1e4
	return &m
}

// shortDuration is "1h", "5m", "1h30m": a duration without its zero
// units.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// formatFactor is "14.4", "6".
func formatFactor(f float64) string { return fmt.Sprintf("%g", f) }
