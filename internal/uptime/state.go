package uptime

import (
	"fmt"
	"slices"
	"time"
)

// Policy is what the state machine needs to know of a target.
type Policy struct {
	FailureThreshold int
	SuccessThreshold int
	// FlapThreshold is how many up/down flips within FlapWindow make a
	// target flapping; 0 turns flap detection off.
	FlapThreshold int
	FlapWindow    time.Duration
	// ExpiryWarn are the days before a certificate's expiry at which to
	// warn (tls_expiry_warn); empty never warns.
	ExpiryWarn []int
}

// Default flap detection: more than 5 flips within 30 minutes.
const (
	DefaultFlapThreshold = 5
	DefaultFlapWindow    = 30 * time.Minute
)

// State is a target's current condition as the state machine sees it. The
// scheduler holds it in memory and the store persists it with each result,
// so that a restart resumes with the same counters, the same open incident
// and the same knowledge of what was alerted.
type State struct {
	// Status is the judged status: it turns down only after
	// FailureThreshold consecutive failures and back after SuccessThreshold
	// consecutive successes. Unknown until the first verdict.
	Status Status `json:"status"`
	// Since is when Status took its current value. For down it is the
	// first failing check of the run, not the moment the threshold was met.
	Since time.Time `json:"since,omitzero"`
	// LastCheck is when the last check started, and LastResult its verdict.
	LastCheck      time.Time  `json:"last_check,omitzero"`
	LastResult     Status     `json:"last_result"`
	LastError      string     `json:"last_error,omitempty"`
	LastErrorClass ErrorClass `json:"last_error_class,omitempty"`
	// ConsecutiveFailures and ConsecutiveSuccesses count the current run.
	ConsecutiveFailures  int `json:"consecutive_failures"`
	ConsecutiveSuccesses int `json:"consecutive_successes"`
	// FailingSince is the start of the current run of failures, if any.
	FailingSince time.Time `json:"failing_since,omitzero"`
	// IncidentFailures counts the failed checks of the open incident.
	IncidentFailures int `json:"incident_failures,omitempty"`
	// Notified says the open incident's opening was alerted (not
	// suppressed), so that its resolution is alerted too.
	Notified bool `json:"notified,omitempty"`
	// Flapping is set while the target flips more than the policy allows.
	Flapping bool `json:"flapping,omitempty"`
	// FlappingSince is when the flapping began, as its target.flapping
	// event says: the first of the flips that made the target flapping.
	// Zero while it is not flapping.
	FlappingSince time.Time `json:"flapping_since,omitzero"`
	// Flips are the times of recent up/down flips, oldest first. Those
	// outside the flap window are dropped when a flip is recorded (and while
	// flapping), so a quiet target may keep old ones; they never count.
	Flips []time.Time `json:"flips,omitempty"`
	// Cause is what the open incident is attributed to, a down dependency
	// or a failing component (the README's "Dependencies and root cause"):
	// the scheduler sets it when the incident opens, from the targets and
	// components it knows; Next clears it on resolution and hands it to
	// the resolved event. Kept with the state so that, after a restart, a
	// dependent of this target is still grouped under the root cause.
	Cause string `json:"cause,omitempty"`
	// CertExpiry is the expiry of the certificate last seen, if any.
	CertExpiry time.Time `json:"cert_expiry,omitzero"`
	// CertWarned is the smallest of the policy's ExpiryWarn days already
	// alerted for the current certificate; 0 when none was.
	CertWarned int `json:"cert_warned,omitempty"`
}

// EventType names an alertable change.
type EventType string

// The alertable events, as webhooks and Slack receive them. Opened,
// resolved, the flapping pair and certificate warnings come from
// State.Next; reminders are scheduled per channel by the notifier; test
// events come from the API.
const (
	EventIncidentOpened   EventType = "incident.opened"
	EventIncidentReminder EventType = "incident.reminder"
	EventIncidentResolved EventType = "incident.resolved"
	EventFlapping         EventType = "target.flapping"
	EventStable           EventType = "target.stable"
	EventCertExpiring     EventType = "certificate.expiring"
	EventChannelTest      EventType = "channel.test"
)

// SuppressedFlapping is Event.Suppressed for changes inside a flap.
const SuppressedFlapping = "flapping"

// Event is an alertable change. State.Next fills what it knows; the
// scheduler adds the target's identity and routing, the store its ids.
type Event struct {
	ID   int64     `json:"id,omitempty"`
	Type EventType `json:"type"`
	// At is when the event happened (the check that caused it).
	At time.Time `json:"at"`
	// Since is when the outage or the flapping began; for a certificate
	// warning, when the certificate expires.
	Since time.Time `json:"since,omitzero"`
	// Error and ErrorClass are the failing check's, for opened events.
	Error      string     `json:"error,omitempty"`
	ErrorClass ErrorClass `json:"error_class,omitempty"`
	// Failures counts the incident's failed checks so far.
	Failures int `json:"failures,omitempty"`
	// Suppressed, when set, says why this event is stored but not alerted.
	Suppressed string `json:"suppressed,omitempty"`

	IncidentID int64             `json:"incident_id,omitempty"`
	TargetID   int64             `json:"-"`
	Target     string            `json:"target"`
	Labels     map[string]string `json:"labels,omitempty"`
	Channels   []string          `json:"channels,omitempty"`
	// Components are the failing components of the check, if any.
	Components []Component `json:"components,omitempty"`
	// Cause is the target or component this target's outage is attributed to.
	Cause string `json:"cause,omitempty"`
	// SLO is a burn-rate alert's measure (slo.burn, slo.recovered).
	SLO *SLOBurn `json:"slo,omitempty"`
}

// Duration is the outage's length for a resolved event.
func (e *Event) Duration() time.Duration {
	if e.Since.IsZero() || e.At.Before(e.Since) {
		return 0
	}
	return e.At.Sub(e.Since)
}

// Next applies one check result to the state and returns the new state and
// the events the change causes. It is pure.
//
// The rules: a result of status Unknown (the check failed for Lookout's own
// reasons) is recorded as the last check but counts neither way. Degraded
// counts as a success. FailureThreshold consecutive failures open an
// incident that started at the first of them; SuccessThreshold consecutive
// successes resolve it. More than FlapThreshold up/down flips within
// FlapWindow make the target flapping since the first of them: one
// EventFlapping is emitted, and the openings and resolutions inside the flap
// are emitted suppressed (stored, not alerted) — but a resolution of an
// incident whose opening was alerted is always alerted. When the flips fall
// back within the limit, flapping ends (FlappingSince is cleared), one
// EventStable is emitted, and an incident still open whose opening was
// suppressed is alerted then.
//
// A result that carries a certificate expiry records it (the earliest of
// the leaf's and the chain's: an intermediate that expires first breaks the
// service as surely). When the days left
// before it fall to one of ExpiryWarn's thresholds (at most that many days
// left, counting a started day as whole), one EventCertExpiring is emitted
// for the smallest threshold reached, unless that one or a smaller one was
// already alerted for this certificate: a check that jumps past several
// thresholds alerts once. A renewed certificate (a later expiry) starts
// over. Thresholds below one day are ignored: an expired certificate fails
// the check, which is alerted as an incident.
func (s State) Next(r Result, p Policy, now time.Time) (State, []Event) {
	if p.FailureThreshold < 1 {
		p.FailureThreshold = 1
	}
	if p.SuccessThreshold < 1 {
		p.SuccessThreshold = 1
	}
	at := r.StartedAt
	if at.IsZero() {
		at = now
	}
	s.LastCheck = at
	s.LastResult = r.Status
	s.LastError = r.Error
	s.LastErrorClass = r.ErrorClass

	var events []Event
	if r.Status == StatusUnknown {
		return s, nil
	}
	if expiry := r.certExpiry(); !expiry.IsZero() {
		events = s.cert(expiry, at, p, events)
	}
	switch {
	case r.Status.OK():
		s.ConsecutiveSuccesses++
		s.ConsecutiveFailures = 0
		s.FailingSince = time.Time{}
		switch {
		case s.Status != StatusDown:
			s.set(r.Status, at)
		case s.ConsecutiveSuccesses >= p.SuccessThreshold:
			ev := Event{Type: EventIncidentResolved, At: at, Since: s.Since, Failures: s.IncidentFailures, Cause: s.Cause}
			if !s.Notified {
				ev.Suppressed = SuppressedFlapping
			}
			s.set(r.Status, at)
			s.IncidentFailures, s.Notified, s.Cause = 0, false, ""
			events = append(events, ev)
			events = s.flip(at, p, events)
		}
	default:
		s.ConsecutiveFailures++
		s.ConsecutiveSuccesses = 0
		if s.ConsecutiveFailures == 1 || s.FailingSince.IsZero() {
			s.FailingSince = at
		}
		switch {
		case s.Status == StatusDown:
			s.IncidentFailures++
		case s.ConsecutiveFailures >= p.FailureThreshold:
			s.set(StatusDown, s.FailingSince)
			s.IncidentFailures = s.ConsecutiveFailures
			events = s.flip(at, p, events)
			ev := s.opening(r, at)
			if s.Flapping {
				ev.Suppressed = SuppressedFlapping
			} else {
				s.Notified = true
			}
			events = append(events, ev)
		}
	}
	return s.settle(at, p, events, r)
}

// cert records a certificate's expiry and warns when it reaches a threshold.
func (s *State) cert(expiry, at time.Time, p Policy, events []Event) []Event {
	d := reached(expiry, at, p.ExpiryWarn)
	renewed := s.CertWarned != 0 && expiry.After(s.CertExpiry)
	s.CertExpiry = expiry
	switch {
	case d == 0 || renewed:
		// None reached, or renewed: what was alerted was about the old certificate. The
		// thresholds the new one is already within count as alerted, so
		// that a renewal is not itself a warning; the rest alert again.
		s.CertWarned = d
	case s.CertWarned == 0 || d < s.CertWarned:
		s.CertWarned = d
		events = append(events, Event{Type: EventCertExpiring, At: at, Since: expiry, Error: CertExpiryText(expiry, at)})
	}
	return events
}

// certExpiry is the earliest expiry the result saw, leaf or chain; zero
// when it saw no certificate.
func (r *Result) certExpiry() time.Time {
	if !r.ChainExpiry.IsZero() && (r.CertExpiry.IsZero() || r.ChainExpiry.Before(r.CertExpiry)) {
		return r.ChainExpiry
	}
	return r.CertExpiry
}

// reached returns the smallest threshold of warn, in days, that a
// certificate expiring at expiry has reached at at; 0 when none.
func reached(expiry, at time.Time, warn []int) int {
	left := DaysLeft(expiry, at)
	smallest := 0
	for _, d := range warn {
		if d >= 1 && left <= d && (smallest == 0 || d < smallest) {
			smallest = d
		}
	}
	return smallest
}

// DaysLeft is the number of days from at until expiry, a started day
// counting as whole: 7 for anything from 6 days and a second to 7 days.
// It is 0 or less once the certificate has expired.
func DaysLeft(expiry, at time.Time) int {
	left := expiry.Sub(at)
	n := int(left / (24 * time.Hour))
	if left%(24*time.Hour) > 0 {
		n++
	}
	return n
}

// CertExpiryText says when a certificate expires, in days and as a date:
// "certificate expires in 7 days (2026-12-01)".
func CertExpiryText(expiry, at time.Time) string {
	date := expiry.UTC().Format(time.DateOnly)
	switch n := DaysLeft(expiry, at); {
	case n <= 0:
		return fmt.Sprintf("certificate expired on %s", date)
	case n == 1:
		return fmt.Sprintf("certificate expires in 1 day (%s)", date)
	default:
		return fmt.Sprintf("certificate expires in %d days (%s)", n, date)
	}
}

// flip records an up/down flip and starts flapping when there are too many.
func (s *State) flip(at time.Time, p Policy, events []Event) []Event {
	if p.FlapThreshold <= 0 {
		return events
	}
	// Clipped, the append copies: the caller's state keeps its own flips,
	// and the checks that flip nothing (nearly all) copy nothing.
	s.Flips = append(slices.Clip(pruneFlips(s.Flips, at, p.FlapWindow)), at)
	if !s.Flapping && len(s.Flips) > p.FlapThreshold {
		s.Flapping, s.FlappingSince = true, s.Flips[0]
		events = append(events, Event{Type: EventFlapping, At: at, Since: s.FlappingSince})
	}
	return events
}

// settle ends flapping once the flips within the window are back within
// the limit, alerting an incident whose opening the flap suppressed.
func (s State) settle(at time.Time, p Policy, events []Event, r Result) (State, []Event) {
	if !s.Flapping {
		return s, events
	}
	s.Flips = pruneFlips(s.Flips, at, p.FlapWindow)
	if p.FlapThreshold > 0 && len(s.Flips) > p.FlapThreshold {
		return s, events
	}
	s.Flapping, s.FlappingSince = false, time.Time{}
	events = append(events, Event{Type: EventStable, At: at})
	if s.Status == StatusDown && !s.Notified {
		s.Notified = true
		events = append(events, s.opening(r, at))
	}
	return s, events
}

// opening is the event of the open incident's opening, alerted at at with
// r, the check that crossed the threshold or that ended a flap.
func (s *State) opening(r Result, at time.Time) Event {
	return Event{Type: EventIncidentOpened, At: at, Since: s.Since, Error: r.Error,
		ErrorClass: r.ErrorClass, Failures: s.IncidentFailures, Components: failing(r.Components)}
}

func pruneFlips(flips []time.Time, at time.Time, window time.Duration) []time.Time {
	cut := 0
	for cut < len(flips) && at.Sub(flips[cut]) > window {
		cut++
	}
	return flips[cut:]
}

// failing returns the components that are down.
func failing(cs []Component) []Component {
	var out []Component
	for _, c := range cs {
		if c.Status == StatusDown {
			out = append(out, c)
		}
	}
	return out
}

func (s *State) set(st Status, since time.Time) {
	if s.Status != st {
		s.Status = st
		s.Since = since
	}
}

// Observation is one check's result together with the state it led to and
// the events it caused: what the scheduler hands to be stored, atomically.
type Observation struct {
	Result Result
	State  State
	Events []Event
	// Epoch is the lease epoch of the target's shard the check was made
	// under, when instances share the database: the state and the events
	// are stored only while that lease still holds (the result always
	// is). 0 stores them unconditionally, as a lone instance does.
	Epoch int64
	// ResultOnly stores the result alone, neither State nor Events: a
	// check made by an instance that does not hold the target.
	ResultOnly bool
}

// Snapshot is a target together with its current state, as listed.
type Snapshot struct {
	Target Target
	State  State
	// Epoch is the lease epoch its shard is held under by the instance
	// that reads it, 0 outside a cluster (see Observation.Epoch).
	Epoch int64
}
