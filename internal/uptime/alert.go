package uptime

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Defaults of a channel's noise control.
const (
	DefaultGroupWait      = 10 * time.Second
	DefaultRepeatInterval = 4 * time.Hour
)

// Channel is where alerts go: a Slack incoming webhook or bot, or a signed
// webhook. Its secrets marshal as "***"; the store keeps the real values.
type Channel struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
	// URL is the Slack incoming-webhook URL (itself a credential) or the
	// webhook endpoint.
	URL Secret `json:"url,omitempty"`
	// Secret is a webhook's Standard Webhooks signing secret ("whsec_…").
	Secret Secret `json:"secret,omitempty"`
	// Token and Channel are a Slack bot's, used instead of URL.
	Token   Secret `json:"token,omitempty"`
	Channel string `json:"channel,omitempty"`
	// APIURL is the Web API base URL a Slack bot posts to, for a
	// Slack-compatible server or a local fake; empty is Slack's own.
	APIURL         string            `json:"api_url,omitempty"`
	Default        bool              `json:"default"`
	MatchLabels    map[string]string `json:"match_labels,omitempty"`
	GroupWait      GroupWait         `json:"group_wait"`
	RepeatInterval Duration          `json:"repeat_interval,omitempty"`
	// Owner is the sync owner whose channels POST /api/v1/sync manages
	// (what the owner label is to a target); empty for none.
	Owner     string    `json:"owner,omitempty"`
	CreatedAt time.Time `json:"created_at,omitzero"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// GroupWait is how long a channel's first opening waits for others to join
// it. Zero is a setting (send at once), so the type tells it from left out:
// the zero GroupWait is left out and waits DefaultGroupWait, WaitFor(0)
// waits nothing. It reads and writes JSON as a Go duration string; null is
// left out.
type GroupWait struct {
	d   time.Duration
	set bool
}

// WaitFor returns a group_wait of d.
func WaitFor(d time.Duration) GroupWait { return GroupWait{d: d, set: true} }

// D returns how long to wait: DefaultGroupWait when left out.
func (w GroupWait) D() time.Duration {
	if !w.set {
		return DefaultGroupWait
	}
	return w.d
}

// IsSet reports whether a value was given, zero included.
func (w GroupWait) IsSet() bool { return w.set }

// Equal reports whether w and o are the same setting; left out is not a
// given DefaultGroupWait. go-cmp compares GroupWaits with it.
func (w GroupWait) Equal(o GroupWait) bool { return w == o }

// String formats the wait like time.Duration.
func (w GroupWait) String() string { return w.D().String() }

// MarshalText writes the wait as a Go duration string; one left out writes
// as the default it waits.
func (w GroupWait) MarshalText() ([]byte, error) { return []byte(w.String()), nil }

// UnmarshalText reads a Go duration string.
func (w *GroupWait) UnmarshalText(b []byte) error {
	var d Duration
	if err := d.UnmarshalText(b); err != nil {
		return err
	}
	*w = WaitFor(d.D())
	return nil
}

// UnmarshalJSON reads a JSON string holding a Go duration; null is left out.
func (w *GroupWait) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*w = GroupWait{}
		return nil
	}
	var d Duration
	if err := d.UnmarshalJSON(b); err != nil {
		return err
	}
	*w = WaitFor(d.D())
	return nil
}

// Normalize fills in the defaults of what was left out: group_wait, and a
// zero RepeatInterval (which cannot be meant: see RefuseGivenZeros).
func (c *Channel) Normalize() {
	c.Kind = strings.ToLower(strings.TrimSpace(c.Kind))
	if !c.GroupWait.IsSet() {
		c.GroupWait = WaitFor(DefaultGroupWait)
	}
	if c.RepeatInterval == 0 {
		c.RepeatInterval = Duration(DefaultRepeatInterval)
	}
}

// RefuseGivenZeros returns a *ValidationError when repeat_interval was sent
// as zero, which Normalize would otherwise replace by its default as if it
// had been left out. given reports whether a member was sent (and not as
// null). Decoders that can tell call it before Normalize.
func (c *Channel) RefuseGivenZeros(given func(field string) bool) error {
	if given("repeat_interval") && c.RepeatInterval == 0 {
		return Invalid("repeat_interval", fmt.Sprintf("must be at least 1m; leave it out for the default (%s)", Duration(DefaultRepeatInterval)))
	}
	return nil
}

// Validate checks the fields every channel kind shares; the notifier checks
// the kind's own. It returns a *ValidationError or nil.
func (c *Channel) Validate() error {
	var v ValidationError
	switch {
	case c.Name == "":
		v.Add("name", "is required")
	case !ValidName(c.Name):
		v.Add("name", "must match [a-z0-9][a-z0-9._-]{0,62}")
	}
	if c.Kind == "" {
		v.Add("kind", "is required (slack or webhook)")
	}
	if w := c.GroupWait.D(); w < 0 || w > time.Hour {
		v.Add("group_wait", "must be between 0s (send at once) and 1h")
	}
	if c.RepeatInterval < 0 || (c.RepeatInterval > 0 && c.RepeatInterval.D() < time.Minute) {
		v.Add("repeat_interval", "must be at least 1m")
	}
	if c.APIURL != "" {
		if u, err := url.Parse(c.APIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			v.Add("api_url", "must be an absolute http(s) URL such as https://slack.example.com/api/, or left out for Slack's own")
		}
	}
	for k := range c.MatchLabels {
		if !labelKeyRE.MatchString(k) {
			v.Add("match_labels", fmt.Sprintf("label name %q is not valid", k))
		}
	}
	if c.Owner != "" && !ValidName(c.Owner) {
		v.Add("owner", "must match [a-z0-9][a-z0-9._-]{0,62}, or be left out")
	}
	return v.Err()
}

// Routes reports whether events of a target with these labels and
// channels go to c: a target naming channels gets exactly those; a target
// naming none gets the default channels; a channel with match_labels also
// gets every target whose labels match them.
func (c *Channel) Routes(labels map[string]string, channels []string) bool {
	for _, n := range channels {
		if n == c.Name {
			return true
		}
	}
	if len(c.MatchLabels) > 0 && Matches(labels, c.MatchLabels) {
		return true
	}
	return len(channels) == 0 && c.Default && len(c.MatchLabels) == 0
}

// Incident is one outage of one target: from its first failing check to
// the check that resolved it.
type Incident struct {
	ID       int64  `json:"id"`
	TargetID int64  `json:"-"`
	Target   string `json:"target"`
	// StartedAt is the first failing check; DetectedAt when the threshold
	// was met; ResolvedAt is zero while open.
	StartedAt  time.Time  `json:"started_at"`
	DetectedAt time.Time  `json:"detected_at"`
	ResolvedAt time.Time  `json:"resolved_at,omitzero"`
	Failures   int        `json:"failures"`
	LastError  string     `json:"last_error,omitempty"`
	ErrorClass ErrorClass `json:"error_class,omitempty"`
	Cause      string     `json:"cause,omitempty"`
	// Suppressed is why its opening was not alerted ("flapping").
	Suppressed string `json:"suppressed,omitempty"`
	AlertsSent int    `json:"alerts_sent"`
}

// Open reports whether the incident is still going on.
func (i *Incident) Open() bool { return i.ResolvedAt.IsZero() }

// Duration is the outage's length so far (until now when still open).
func (i *Incident) Duration(now time.Time) time.Duration {
	end := i.ResolvedAt
	if end.IsZero() {
		end = now
	}
	if end.Before(i.StartedAt) {
		return 0
	}
	return end.Sub(i.StartedAt)
}

// IncidentFilter selects incidents.
type IncidentFilter struct {
	Target   string
	OpenOnly bool
	From, To time.Time
	Limit    int
	// Before is the pagination cursor: incidents with a smaller id.
	Before int64
}

// DeliveryStatus is where an alert's delivery to one channel stands.
type DeliveryStatus string

// The delivery statuses.
const (
	DeliveryPending   DeliveryStatus = "pending"
	DeliveryDelivered DeliveryStatus = "delivered"
	DeliveryDead      DeliveryStatus = "dead"  // gave up: permanent error or too old
	DeliveryMuted     DeliveryStatus = "muted" // a silence or maintenance window held it; Reason says which
	DeliverySkipped   DeliveryStatus = "skipped"
)

// Delivery is one event on its way to one channel: the delivery log's row.
type Delivery struct {
	ID int64 `json:"id"`
	// UID is unique across databases and instances, and the same on every
	// retry: the webhook-id of the message that carries this delivery alone.
	UID        string         `json:"-"`
	EventID    int64          `json:"event_id"`
	Event      Event          `json:"event"`
	Channel    string         `json:"channel"`
	Status     DeliveryStatus `json:"status"`
	Attempts   int            `json:"attempts"`
	NextAt     time.Time      `json:"next_attempt_at,omitzero"`
	LastError  string         `json:"last_error,omitempty"`
	Reason     string         `json:"reason,omitempty"`
	CreatedAt  time.Time      `json:"created_at"`
	FinishedAt time.Time      `json:"finished_at,omitzero"`

	// Filled on claim, for the notifier only: when the event's incident
	// resolved (zero while open), and the Slack thread of its opening on
	// this channel, if one was recorded.
	IncidentResolvedAt time.Time `json:"-"`
	Thread             string    `json:"-"`
}

// DeliveryUpdate is the outcome of handling one claimed delivery.
type DeliveryUpdate struct {
	// Status is pending to retry at NextAt, or a final status.
	Status DeliveryStatus
	NextAt time.Time
	// Attempted says a send was tried (counted in Attempts); muting or
	// skipping is not an attempt.
	Attempted bool
	Error     string
	Reason    string
	// Thread is the Slack message ts of a delivered opening, so that the
	// incident's reminders and resolution reply in its thread.
	Thread string
	At     time.Time
}

// DeliveryFilter selects deliveries for the delivery log.
type DeliveryFilter struct {
	Channel string
	Target  string
	Status  DeliveryStatus
	Limit   int
	Before  int64
}

// Silence mutes the alerts of matching targets for a while; checks go on.
type Silence struct {
	ID        int64             `json:"id"`
	Matchers  map[string]string `json:"matchers"`
	StartsAt  time.Time         `json:"starts_at"`
	EndsAt    time.Time         `json:"ends_at"`
	Comment   string            `json:"comment,omitempty"`
	CreatedBy string            `json:"created_by,omitempty"`
	CreatedAt time.Time         `json:"created_at,omitzero"`
}

// Active reports whether the silence mutes labels at t. A silence without
// matchers matches nothing, so that an empty one cannot mute everything by
// accident.
func (s *Silence) Active(labels map[string]string, t time.Time) bool {
	return len(s.Matchers) > 0 && !t.Before(s.StartsAt) && t.Before(s.EndsAt) && Matches(labels, s.Matchers)
}

// Validate returns a *ValidationError or nil.
func (s *Silence) Validate() error {
	var v ValidationError
	if len(s.Matchers) == 0 {
		v.Add("matchers", "at least one label matcher is required")
	}
	if s.EndsAt.IsZero() {
		v.Add("ends_at", "is required")
	} else if !s.EndsAt.After(s.StartsAt) {
		v.Add("ends_at", "must be after starts_at")
	}
	return v.Err()
}

// Maintenance is a planned window: alerts of matching targets are muted and
// the time is excluded from their uptime. It is one-off (StartsAt..EndsAt)
// or recurring (Schedule, a cron expression, each occurrence lasting
// Duration).
type Maintenance struct {
	ID        int64             `json:"id"`
	Name      string            `json:"name,omitempty"`
	Matchers  map[string]string `json:"matchers"`
	StartsAt  time.Time         `json:"starts_at,omitzero"`
	EndsAt    time.Time         `json:"ends_at,omitzero"`
	Schedule  string            `json:"schedule,omitempty"`
	Duration  Duration          `json:"duration,omitempty"`
	Comment   string            `json:"comment,omitempty"`
	CreatedAt time.Time         `json:"created_at,omitzero"`
}

// Validate checks the shape; the cron syntax of Schedule is checked by the
// package that owns cron. It returns a *ValidationError or nil.
func (m *Maintenance) Validate() error {
	var v ValidationError
	if len(m.Matchers) == 0 {
		v.Add("matchers", "at least one label matcher is required")
	}
	switch {
	case m.Schedule != "" && (!m.StartsAt.IsZero() || !m.EndsAt.IsZero()):
		v.Add("schedule", "give either schedule with duration, or starts_at and ends_at, not both")
	case m.Schedule != "":
		if m.Duration <= 0 {
			v.Add("duration", "is required with a schedule")
		}
	case m.EndsAt.IsZero() || m.StartsAt.IsZero():
		v.Add("ends_at", "starts_at and ends_at are required for a one-off window")
	case !m.EndsAt.After(m.StartsAt):
		v.Add("ends_at", "must be after starts_at")
	}
	return v.Err()
}

// IncidentStats sums up a set of incidents: how many, how long they took
// to resolve on average (MTTR), and how long targets ran between one
// incident's resolution and their next incident on average (MTBF).
type IncidentStats struct {
	Count, Open int
	// MTTR is the mean duration of the resolved incidents; MTBF the mean
	// time from a target's recovery to its next incident. Zero when there
	// is nothing to average (see HasMTTR, HasMTBF).
	MTTR, MTBF       time.Duration
	HasMTTR, HasMTBF bool
}

// Span is what IncidentStats needs of one incident.
type Span struct {
	TargetID          int64
	Started, Resolved time.Time // Resolved is zero while open
}

// SumIncidents computes IncidentStats over spans, in any order.
func SumIncidents(spans []Span) IncidentStats {
	var st IncidentStats
	var repair, between time.Duration
	var repaired, gaps int
	byTarget := map[int64][]Span{}
	for _, s := range spans {
		st.Count++
		if s.Resolved.IsZero() {
			st.Open++
		} else if !s.Resolved.Before(s.Started) {
			repair += s.Resolved.Sub(s.Started)
			repaired++
		}
		byTarget[s.TargetID] = append(byTarget[s.TargetID], s)
	}
	for _, ss := range byTarget {
		slices.SortFunc(ss, func(a, b Span) int { return a.Started.Compare(b.Started) })
		for i := 1; i < len(ss); i++ {
			if prev := ss[i-1].Resolved; !prev.IsZero() && ss[i].Started.After(prev) {
				between += ss[i].Started.Sub(prev)
				gaps++
			}
		}
	}
	if repaired > 0 {
		st.MTTR, st.HasMTTR = repair/time.Duration(repaired), true
	}
	if gaps > 0 {
		st.MTBF, st.HasMTBF = between/time.Duration(gaps), true
	}
	return st
}
