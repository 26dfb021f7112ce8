package notify

import (
	"crypto/sha256"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/lookout/lookout/internal/uptime"
)

// message is one alert to render for one channel: a single event, or the
// openings (or resolutions) of several targets grouped into one.
type message struct {
	Type uptime.EventType
	// Events holds one event, or every event of a grouped message.
	Events []uptime.Event
	// Cause, set on a grouped message only, is what its events are
	// attributed to; the cause's own event, when it is a target that is
	// down too, is among them.
	Cause string
	// Channel is the Lookout channel's name.
	Channel string
	// ID is stable across retries of the same deliveries: the webhook-id.
	ID string
	// Thread is the Slack ts of the incident's opening, for replies.
	Thread string
	// Attempt is when this send is tried.
	Attempt   time.Time
	Dashboard string
}

// grouped reports whether m speaks of several targets.
func (m message) grouped() bool { return len(m.Events) > 1 }

// byCause splits a grouped message's events into the cause's own, if it
// is among them, and its dependents'.
func (m message) byCause() (own *uptime.Event, dependents []uptime.Event) {
	for i, e := range m.Events {
		if own == nil && e.Target == m.Cause && e.Cause == "" {
			own = &m.Events[i]
			continue
		}
		dependents = append(dependents, e)
	}
	return own, dependents
}

// first is the event a single message is about.
func (m message) first() uptime.Event { return m.Events[0] }

// at is when the message's news happened: its latest event.
func (m message) at() time.Time {
	var t time.Time
	for _, e := range m.Events {
		if e.At.After(t) {
			t = e.At
		}
	}
	return t
}

// targetURL links to a target on the dashboard, or "" without a dashboard.
func (m message) targetURL(name string) string {
	if m.Dashboard == "" || name == "" {
		return ""
	}
	return strings.TrimRight(m.Dashboard, "/") + "/targets/" + url.PathEscape(name)
}

// incidentURL links to an incident on the dashboard, or "" without a
// dashboard or an incident.
func (m message) incidentURL(id int64) string {
	if m.Dashboard == "" || id == 0 {
		return ""
	}
	return strings.TrimRight(m.Dashboard, "/") + "/incidents/" + strconv.FormatInt(id, 10)
}

// eventURL is the page an event's button opens: its incident's, or its
// target's.
func (m message) eventURL(e uptime.Event) string {
	if u := m.incidentURL(e.IncidentID); u != "" {
		return u
	}
	return m.targetURL(e.Target)
}

// dashboardURL is the dashboard's home, or "".
func (m message) dashboardURL() string {
	if m.Dashboard == "" {
		return ""
	}
	return strings.TrimRight(m.Dashboard, "/") + "/"
}

// messageID is the webhook-id of a message carrying these deliveries: the
// uid of a lone delivery, or a hash of the uids of a group, so that every
// retry of the same deliveries has the same id and no two messages share
// one, whichever database or instance sent them. A group that changes
// between retries (a member resolved meanwhile) is a new message with a
// new id: a receiver that dropped it as a duplicate would lose news.
func messageID(ds []uptime.Delivery) string {
	if len(ds) == 1 {
		return "msg_" + ds[0].UID
	}
	h := sha256.New()
	for _, d := range ds {
		h.Write([]byte(d.UID))
		h.Write([]byte{0})
	}
	return fmt.Sprintf("msg_%x", h.Sum(nil)[:16])
}

// human formats a duration for people: "3d4h", "1h30m", "12m30s", "45s".
func human(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	d = d.Round(time.Second)
	days := d / (24 * time.Hour)
	d -= days * 24 * time.Hour
	h := d / time.Hour
	d -= h * time.Hour
	m := d / time.Minute
	s := (d - m*time.Minute) / time.Second
	switch {
	case days > 0 && h > 0:
		return fmt.Sprintf("%dd%dh", days, h)
	case days > 0:
		return fmt.Sprintf("%dd", days)
	case h > 0 && m > 0:
		return fmt.Sprintf("%dh%dm", h, m)
	case h > 0:
		return fmt.Sprintf("%dh", h)
	case m > 0 && s > 0:
		return fmt.Sprintf("%dm%ds", m, s)
	case m > 0:
		return fmt.Sprintf("%dm", m)
	default:
		return fmt.Sprintf("%ds", s)
	}
}

// clock formats a time for people, in UTC so that every reader of a shared
// channel sees the same thing.
func clock(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// since is when the event's outage began, falling back to its time.
func since(e uptime.Event) time.Time {
	if !e.Since.IsZero() {
		return e.Since
	}
	return e.At
}
