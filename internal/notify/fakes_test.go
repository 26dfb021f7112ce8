package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/lookout/lookout/internal/testkit"
	"github.com/lookout/lookout/internal/uptime"
)

// memOutbox is an in-memory Outbox keeping the store's contract: claims in
// id order, leases, and never a delivery while an earlier one for the same
// target and channel is unfinished.
type memOutbox struct {
	mu        sync.Mutex
	nextID    int64
	ds        []*memDelivery
	incidents map[int64]*memIncident
	threads   map[string]string
	channels  []uptime.Channel
	silences  []uptime.Silence
	maint     []uptime.Maintenance
	finishes  []finishRec
	reminders []reminderRec
	attrib    map[int64]uptime.Attribution
}

type memDelivery struct {
	d      uptime.Delivery
	leased time.Time
}

type memIncident struct {
	resolvedAt time.Time
	opened     uptime.Event
}

type finishRec struct {
	id int64
	u  uptime.DeliveryUpdate
}

type reminderRec struct {
	incident int64
	channel  string
	at       time.Time
}

func newOutbox(channels ...uptime.Channel) *memOutbox {
	return &memOutbox{incidents: map[int64]*memIncident{}, threads: map[string]string{}, channels: channels,
		attrib: map[int64]uptime.Attribution{}}
}

func threadKey(incident int64, channel string) string { return fmt.Sprint(incident, "/", channel) }

// add writes an event's delivery to a channel as the store would: an
// opening becomes due after the channel's group_wait.
func (o *memOutbox) add(ev uptime.Event, channel string, created time.Time) int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.nextID++
	ev.ID = o.nextID
	next := created
	if ev.Type == uptime.EventIncidentOpened || ev.Type == uptime.EventIncidentResolved && o.isCaused(ev) {
		for _, c := range o.channels {
			if c.Name == channel {
				c.Normalize()
				next = created.Add(c.GroupWait.D())
			}
		}
		if ev.IncidentID != 0 && o.incidents[ev.IncidentID] == nil {
			o.incidents[ev.IncidentID] = &memIncident{opened: ev}
		}
	}
	o.ds = append(o.ds, &memDelivery{d: uptime.Delivery{
		ID: o.nextID, UID: uuid.NewString(), EventID: ev.ID, Event: ev, Channel: channel, Status: uptime.DeliveryPending,
		NextAt: next, CreatedAt: created,
	}})
	return o.nextID
}

// resolve marks the incident resolved and, as the store does in the same
// transaction, skips its pending reminders: they would otherwise hold up
// the resolution behind them.
func (o *memOutbox) resolve(incident int64, at time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.incidents[incident].resolvedAt = at
	for _, m := range o.ds {
		if m.d.Event.IncidentID == incident && m.d.Event.Type == uptime.EventIncidentReminder && m.d.Status == uptime.DeliveryPending && !m.leased.After(at) {
			m.d.Status, m.d.Reason, m.d.FinishedAt = uptime.DeliverySkipped, "incident resolved", at
		}
	}
}

func (o *memOutbox) blocked(i int) bool {
	d := o.ds[i].d
	for _, e := range o.ds[:i] {
		if e.d.Status == uptime.DeliveryPending && e.d.Channel == d.Channel && e.d.Event.Target == d.Event.Target {
			return true
		}
	}
	return false
}

func (o *memOutbox) fill(m *memDelivery) uptime.Delivery {
	d := m.d
	if inc := o.incidents[d.Event.IncidentID]; inc != nil {
		d.IncidentResolvedAt = inc.resolvedAt
	}
	d.Thread = o.threads[threadKey(d.Event.IncidentID, d.Channel)]
	return d
}

func (o *memOutbox) ClaimDeliveries(_ context.Context, now time.Time, lease time.Duration, limit int) ([]uptime.Delivery, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []uptime.Delivery
	for i, m := range o.ds {
		if len(out) == limit {
			break
		}
		if m.d.Status != uptime.DeliveryPending || m.d.NextAt.After(now) || m.leased.After(now) || o.blocked(i) {
			continue
		}
		m.leased = now.Add(lease)
		out = append(out, o.fill(m))
	}
	return out, nil
}

// isCaused says a resolution waits group_wait as the store has it: it has
// a cause, or an incident is attributed to its target. o.mu is held.
func (o *memOutbox) isCaused(ev uptime.Event) bool {
	if ev.Cause != "" {
		return true
	}
	for _, inc := range o.incidents {
		if inc.opened.Cause != "" && inc.opened.Cause == ev.Target {
			return true
		}
	}
	return false
}

func (o *memOutbox) ClaimPending(_ context.Context, channel string, typ uptime.EventType, cause string, now time.Time, lease time.Duration) ([]uptime.Delivery, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []uptime.Delivery
	for i, m := range o.ds {
		if m.d.Status != uptime.DeliveryPending || m.d.Channel != channel || m.d.Event.Type != typ ||
			m.d.CreatedAt.After(now) || m.leased.After(now) || o.blocked(i) {
			continue
		}
		if ev := m.d.Event; cause != "" && ev.Cause != cause && (ev.Cause != "" || ev.Target != cause) {
			continue
		}
		m.leased = now.Add(lease)
		out = append(out, o.fill(m))
	}
	return out, nil
}

// AttributeIncidents keeps each incident's cause as its opening had it,
// unless the test set another in attrib.
func (o *memOutbox) AttributeIncidents(_ context.Context, ids []int64) (map[int64]uptime.Attribution, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := map[int64]uptime.Attribution{}
	for _, id := range ids {
		inc := o.incidents[id]
		if inc == nil {
			continue
		}
		a, ok := o.attrib[id]
		if !ok || !inc.resolvedAt.IsZero() {
			a = uptime.Attribution{Cause: inc.opened.Cause}
		}
		inc.opened.Cause = a.Cause
		for _, m := range o.ds {
			if m.d.Event.IncidentID == id {
				m.d.Event.Cause = a.Cause
			}
		}
		out[id] = a
	}
	return out, nil
}

// attribute makes AttributeIncidents decide a for the incident.
func (o *memOutbox) attribute(incident int64, a uptime.Attribution) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.attrib[incident] = a
}

func (o *memOutbox) FinishDelivery(_ context.Context, id int64, u uptime.DeliveryUpdate) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, m := range o.ds {
		if m.d.ID != id {
			continue
		}
		if m.d.Status != uptime.DeliveryPending {
			return fmt.Errorf("finish delivery %d: already %s", id, m.d.Status)
		}
		m.d.Status, m.d.NextAt, m.d.LastError, m.d.Reason = u.Status, u.NextAt, u.Error, u.Reason
		if u.Attempted {
			m.d.Attempts++
		}
		if u.Status != uptime.DeliveryPending {
			m.d.FinishedAt = u.At
		}
		m.leased = time.Time{}
		if u.Thread != "" {
			o.threads[threadKey(m.d.Event.IncidentID, m.d.Channel)] = u.Thread
		}
		o.finishes = append(o.finishes, finishRec{id, u})
		return nil
	}
	return fmt.Errorf("finish delivery %d: %w", id, uptime.ErrNotFound)
}

func (o *memOutbox) EnqueueReminder(_ context.Context, incidentID int64, channel string, at time.Time) error {
	o.mu.Lock()
	inc := o.incidents[incidentID]
	if inc == nil || !inc.resolvedAt.IsZero() {
		o.mu.Unlock()
		return nil
	}
	for _, m := range o.ds {
		if m.d.Status == uptime.DeliveryPending && m.d.Channel == channel && m.d.Event.IncidentID == incidentID && m.d.Event.Type == uptime.EventIncidentReminder {
			o.mu.Unlock()
			return nil
		}
	}
	o.reminders = append(o.reminders, reminderRec{incidentID, channel, at})
	ev := inc.opened
	ev.Type, ev.At = uptime.EventIncidentReminder, at
	o.mu.Unlock()
	o.add(ev, channel, at)
	return nil
}

func (o *memOutbox) Alerted(_ context.Context, incidentID int64, channel string) (bool, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, m := range o.ds {
		told := m.d.Event.Type == uptime.EventIncidentOpened || m.d.Event.Type == uptime.EventIncidentReminder
		if m.d.Channel == channel && m.d.Event.IncidentID == incidentID && told && m.d.Status == uptime.DeliveryDelivered {
			return true, nil
		}
	}
	return false, nil
}

func (o *memOutbox) ListChannels(context.Context) ([]uptime.Channel, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.channels), nil
}

func (o *memOutbox) ListSilences(context.Context) ([]uptime.Silence, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.silences), nil
}

func (o *memOutbox) ListMaintenance(context.Context) ([]uptime.Maintenance, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.maint), nil
}

// delivery returns the current row of a delivery.
func (o *memOutbox) delivery(id int64) uptime.Delivery {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, m := range o.ds {
		if m.d.ID == id {
			return m.d
		}
	}
	panic(fmt.Sprint("no delivery ", id))
}

// updates returns the updates recorded for a delivery, oldest first.
func (o *memOutbox) updates(id int64) []uptime.DeliveryUpdate {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []uptime.DeliveryUpdate
	for _, f := range o.finishes {
		if f.id == id {
			out = append(out, f.u)
		}
	}
	return out
}

func (o *memOutbox) all() []uptime.Delivery {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make([]uptime.Delivery, len(o.ds))
	for i, m := range o.ds {
		out[i] = m.d
	}
	return out
}

var t0 = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)

// harness is a dispatcher on an in-memory outbox and a fake clock, driven
// one poll at a time.
type harness struct {
	t    *testing.T
	clk  *testkit.Clock
	out  *memOutbox
	d    *Dispatcher
	logs *testkit.LogBuffer
}

func newHarness(t *testing.T, cfg Config, channels ...uptime.Channel) *harness {
	t.Helper()
	h := &harness{t: t, clk: testkit.NewClock(t0), out: newOutbox(channels...), logs: &testkit.LogBuffer{}}
	cfg.Logger = testkit.JSONLogger(h.logs)
	cfg.Now = h.clk.Now
	if cfg.DashboardURL == "" {
		cfg.DashboardURL = "http://lookout.test:8080"
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 2 * time.Second}
	}
	h.d = New(h.out, cfg)
	h.d.noRateLimit = true
	return h
}

// cycle claims once and waits until every claimed delivery is handled.
func (h *harness) cycle() { h.d.Drain(context.Background()) }

// opened adds an incident.opened of target to channel now.
func (h *harness) opened(incident int64, target, channel string) int64 {
	return h.out.add(uptime.Event{
		Type: uptime.EventIncidentOpened, At: h.clk.Now(), Since: h.clk.Now().Add(-90 * time.Second),
		Error: "dial tcp 10.0.0.7:443: connect: connection refused", ErrorClass: uptime.ClassRefused, Failures: 3,
		IncidentID: incident, Target: target, Labels: map[string]string{"env": "prod", "team": "core"},
	}, channel, h.clk.Now())
}

// resolved resolves the incident and adds its incident.resolved now.
func (h *harness) resolved(incident int64, target, channel string) int64 {
	h.out.resolve(incident, h.clk.Now())
	h.out.mu.Lock()
	since := h.out.incidents[incident].opened.Since
	h.out.mu.Unlock()
	return h.out.add(uptime.Event{
		Type: uptime.EventIncidentResolved, At: h.clk.Now(), Since: since, IncidentID: incident, Target: target,
		Labels: map[string]string{"env": "prod", "team": "core"},
	}, channel, h.clk.Now())
}

// fakeSlack answers the Web API's chat.postMessage and chat.update and an
// incoming webhook at /hooks/…, recording every call. fail, when set,
// answers a call instead (n counts calls from 1) and returns true.
type fakeSlack struct {
	srv   *httptest.Server
	mu    sync.Mutex
	calls []slackCall
	fail  func(w http.ResponseWriter, r *http.Request, n int) bool
	n     int
}

type slackCall struct {
	Path   string
	Form   url.Values // Web API calls
	Body   string     // incoming-webhook JSON
	Header http.Header
}

func newFakeSlack(t *testing.T) *fakeSlack {
	f := &fakeSlack{}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeSlack) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	f.mu.Lock()
	f.n++
	n, fail := f.n, f.fail
	f.mu.Unlock()
	if fail != nil && fail(w, r, n) {
		return
	}
	call := slackCall{Path: r.URL.Path, Header: r.Header.Clone()}
	if strings.HasPrefix(r.URL.Path, "/hooks/") {
		call.Body = string(body)
	} else {
		call.Form, _ = url.ParseQuery(string(body))
	}
	f.mu.Lock()
	f.calls = append(f.calls, call)
	ts := fmt.Sprintf("1773480413.%06d", len(f.calls))
	f.mu.Unlock()
	switch {
	case strings.HasPrefix(r.URL.Path, "/hooks/"):
		_, _ = io.WriteString(w, "ok")
	case r.URL.Path == "/api/chat.postMessage", r.URL.Path == "/api/chat.update":
		// As Slack does: chat.postMessage takes a channel's name or id and
		// answers with the id; chat.update takes the id only.
		channel := call.Form.Get("channel")
		w.Header().Set("Content-Type", "application/json")
		if !slackChannelID.MatchString(channel) {
			if r.URL.Path == "/api/chat.update" {
				_ = json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": "channel_not_found"})
				return
			}
			channel = "C0" + strings.ToUpper(strings.TrimPrefix(channel, "#"))
		}
		if call.Form.Get("ts") != "" {
			ts = call.Form.Get("ts")
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "channel": channel, "ts": ts})
	default:
		http.NotFound(w, r)
	}
}

// slackChannelID is the shape of a Slack channel id, as opposed to a name.
var slackChannelID = regexp.MustCompile(`^[CGD][A-Z0-9]+$`)

func (f *fakeSlack) recorded() []slackCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

func (f *fakeSlack) setFail(fn func(w http.ResponseWriter, r *http.Request, n int) bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail, f.n = fn, 0
}
