package web

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lookout/lookout/internal/uptime"
)

func TestNotificationList(t *testing.T) {
	e := newEnv(t)
	now := e.clock.Now()
	ev := func(typ uptime.EventType, target string) uptime.Event {
		return uptime.Event{ID: 1, Type: typ, At: now.Add(-time.Hour), Target: target, IncidentID: 9}
	}
	e.store.deliveries = []uptime.Delivery{
		{ID: 1, EventID: 1, Event: ev(uptime.EventIncidentOpened, "api"), Channel: "ops", Status: uptime.DeliveryDelivered,
			Attempts: 1, CreatedAt: now.Add(-time.Hour), FinishedAt: now.Add(-time.Hour)},
		{ID: 2, EventID: 1, Event: ev(uptime.EventIncidentOpened, "api"), Channel: "slack", Status: uptime.DeliveryPending,
			Attempts: 3, NextAt: now.Add(time.Minute), LastError: "503 Service Unavailable", CreatedAt: now.Add(-time.Hour)},
		{ID: 3, EventID: 2, Event: ev(uptime.EventIncidentOpened, "web"), Channel: "ops", Status: uptime.DeliveryMuted,
			Reason: "silence 4", CreatedAt: now.Add(-30 * time.Minute), FinishedAt: now.Add(-30 * time.Minute)},
		{ID: 4, EventID: 3, Event: ev(uptime.EventIncidentResolved, "web"), Channel: "slack", Status: uptime.DeliveryDead,
			Attempts: 1, LastError: "404 channel_not_found", CreatedAt: now, FinishedAt: now},
	}
	ids := func(v map[string]any) []float64 { return members[float64](v, "notifications", "id") }

	all := e.do("GET", "/api/v1/notifications", "").must(t, http.StatusOK)
	if diff := cmp.Diff([]float64{4, 3, 2, 1}, ids(all)); diff != "" {
		t.Errorf("all, newest first (-want +got):\n%s", diff)
	}
	pending := all["notifications"].([]any)[2].(map[string]any)
	for k, want := range map[string]any{
		"status": "pending", "attempts": 3.0, "next_attempt_at": "2025-03-04T05:07:07Z",
		"last_error": "503 Service Unavailable", "type": "incident.opened", "target": "api", "channel": "slack",
	} {
		if pending[k] != want {
			t.Errorf("pending delivery %s = %v, want %v", k, pending[k], want)
		}
	}
	muted := all["notifications"].([]any)[1].(map[string]any)
	if muted["reason"] != "silence 4" || muted["attempts"] != 0.0 || muted["next_attempt_at"] != nil {
		t.Errorf("muted delivery %v", muted)
	}
	if event := muted["event"].(map[string]any); event["type"] != "incident.opened" || event["incident_id"] != 9.0 {
		t.Errorf("event %v", event)
	}

	tests := []struct {
		query string
		want  []float64
	}{
		{"channel=ops", []float64{3, 1}},
		{"target=web", []float64{4, 3}},
		{"status=pending", []float64{2}},
		{"channel=slack&target=web&status=dead", []float64{4}},
		{"channel=nope", nil},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			v := e.do("GET", "/api/v1/notifications?"+tc.query, "").must(t, http.StatusOK)
			if diff := cmp.Diff(tc.want, ids(v)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}

	paged, _ := walkPages[float64](t, e, "/api/v1/notifications?limit=3", "notifications", "id")
	if diff := cmp.Diff([]float64{4, 3, 2, 1}, paged); diff != "" {
		t.Errorf("pages of 3 (-want +got):\n%s", diff)
	}

	for _, tc := range []struct{ query, field string }{
		{"status=sent", "status"},
		{"channel=%23ops", "channel"},
		{"target=A%20B", "target"},
		{"limit=-1", "limit"},
		{"cursor=abc", "cursor"},
	} {
		p := e.do("GET", "/api/v1/notifications?"+tc.query, "").problem(t, http.StatusBadRequest)
		if !slices.Contains(fields(p), tc.field) {
			t.Errorf("%s: errors %v do not name %q", tc.query, fields(p), tc.field)
		}
	}
}
