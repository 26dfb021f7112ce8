package uptime

import "time"

// Policy is what the state machine needs to know of a target.
type Policy struct {
	FailureThreshold int
	SuccessThreshold int
}

// State is a target's current condition as the state machine sees it. The
// scheduler holds it in memory and the store persists it with each result,
// so that a restart resumes with the same counters.
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
}

// EventType names an alertable change.
type EventType string

// The events the state machine emits.
const (
	EventIncidentOpened   EventType = "incident.opened"
	EventIncidentResolved EventType = "incident.resolved"
)

// Event is an alertable change produced by State.Next.
type Event struct {
	Type EventType `json:"type"`
	// At is when the event happened (the check that caused it).
	At time.Time `json:"at"`
	// Since is when the outage began (first failing check).
	Since time.Time `json:"since"`
	// Error is the failing check's error text.
	Error string `json:"error,omitempty"`
}

// Next applies one check result to the state and returns the new state and
// the events the change causes. It is pure: now is only used for times
// that are not taken from the result.
//
// A result whose status is Unknown (the check failed for Lookout's own
// reasons) is recorded as the last check but counts neither way.
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
	switch {
	case r.Status == StatusUnknown:
		return s, nil
	case r.Status.OK():
		s.ConsecutiveSuccesses++
		s.ConsecutiveFailures = 0
		s.FailingSince = time.Time{}
		switch {
		case s.Status != StatusDown:
			s.set(r.Status, at)
		case s.ConsecutiveSuccesses >= p.SuccessThreshold:
			events = append(events, Event{Type: EventIncidentResolved, At: at, Since: s.Since})
			s.set(r.Status, at)
		}
	default:
		s.ConsecutiveFailures++
		s.ConsecutiveSuccesses = 0
		if s.ConsecutiveFailures == 1 || s.FailingSince.IsZero() {
			s.FailingSince = at
		}
		if s.Status != StatusDown && s.ConsecutiveFailures >= p.FailureThreshold {
			s.set(StatusDown, s.FailingSince)
			events = append(events, Event{Type: EventIncidentOpened, At: at, Since: s.FailingSince, Error: r.Error})
		}
	}
	return s, events
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
}

// Snapshot is a target together with its current state, as listed.
type Snapshot struct {
	Target Target
	State  State
}
