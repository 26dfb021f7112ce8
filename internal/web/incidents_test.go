package web

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lookout/lookout/internal/uptime"
)

// seedIncidents stores, for targets api and web, incidents 1..6 an hour
// apart ending at the clock; 5 (web) and 6 (api) are still open.
func seedIncidents(e *env) {
	api := e.seed(uptime.Target{Name: "api", URL: "http://api"})
	web := e.seed(uptime.Target{Name: "web", URL: "http://web"})
	now := e.clock.Now()
	for id := int64(1); id <= 6; id++ {
		tg := api
		if id%2 == 1 {
			tg = web
		}
		start := now.Add(-time.Duration(7-id) * time.Hour)
		inc := uptime.Incident{ID: id, TargetID: tg.ID, Target: tg.Name, StartedAt: start, DetectedAt: start.Add(time.Minute),
			Failures: 3, LastError: "connection refused", ErrorClass: uptime.ClassRefused, AlertsSent: 1}
		if id < 5 {
			inc.ResolvedAt = start.Add(10 * time.Minute)
		}
		e.store.incidents = append(e.store.incidents, inc)
	}
}

func TestIncidentList(t *testing.T) {
	e := newEnv(t)
	seedIncidents(e)
	ids := func(v map[string]any) []float64 { return members[float64](v, "incidents", "id") }

	got := e.do("GET", "/api/v1/incidents", "").must(t, http.StatusOK)
	if diff := cmp.Diff([]float64{6, 5, 4, 3, 2, 1}, ids(got)); diff != "" {
		t.Errorf("all, newest first (-want +got):\n%s", diff)
	}
	first := got["incidents"].([]any)
	open, resolved := first[0].(map[string]any), first[2].(map[string]any)
	if open["open"] != true || open["duration"] != "1h0m0s" || open["resolved_at"] != nil || open["target"] != "api" {
		t.Errorf("open incident %v", open)
	}
	if resolved["open"] != false || resolved["duration"] != "10m0s" || resolved["resolved_at"] != "2025-03-04T02:16:07Z" {
		t.Errorf("resolved incident %v", resolved)
	}
	if _, ok := open["TargetID"]; ok {
		t.Error("the internal target id is shown")
	}
	// Every incident counts, on every page: each resolved one took 10
	// minutes; web and api each recovered and failed again an hour and
	// fifty minutes later.
	paged := e.do("GET", "/api/v1/incidents?limit=2", "").must(t, http.StatusOK)
	want := map[string]any{"count": 6.0, "open": 2.0, "mttr": "10m0s", "mtbf": "1h50m0s"}
	if diff := cmp.Diff(want, paged["stats"]); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}

	tests := []struct {
		query string
		want  []float64
	}{
		{"target=api", []float64{6, 4, 2}},
		{"open=true", []float64{6, 5}},
		{"open=1&target=web", []float64{5}},
		{"to=2025-03-04T02:06:07Z", []float64{3, 2, 1}},
		{"from=2025-03-04T02:10:00Z", []float64{6, 5, 4}},
		{"from=2025-03-04T01:00:00Z&to=2025-03-04T03:00:00Z&target=web", []float64{3}},
		{"target=nope", nil},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			v := e.do("GET", "/api/v1/incidents?"+tc.query, "").must(t, http.StatusOK)
			if diff := cmp.Diff(tc.want, ids(v)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			// The same in pages of 2.
			paged, _ := walkPages[float64](t, e, "/api/v1/incidents?limit=2&"+tc.query, "incidents", "id")
			if diff := cmp.Diff(tc.want, paged); diff != "" {
				t.Errorf("pages of 2 (-want +got):\n%s", diff)
			}
		})
	}

	empty := e.do("GET", "/api/v1/incidents?target=nope", "")
	empty.must(t, http.StatusOK)
	if got := strings.TrimSpace(string(empty.body)); got != `{"incidents":[],"next_cursor":"","stats":{"count":0,"open":0,"mttr":null,"mtbf":null}}` {
		t.Errorf("empty list %s", got)
	}
	// An exact last page has no cursor.
	if v := e.do("GET", "/api/v1/incidents?limit=6", "").must(t, http.StatusOK); v["next_cursor"] != "" {
		t.Errorf("next_cursor %v after the last incident", v["next_cursor"])
	}

	for _, tc := range []struct{ query, field string }{
		{"open=false", "open"},
		{"open=maybe", "open"},
		{"target=Not%20A%20Name", "target"},
		{"from=yesterday", "from"},
		{"from=2025-03-04T00:00:00Z&to=2025-03-03T00:00:00Z", "to"},
		{"limit=0", "limit"},
		{"limit=501", "limit"},
		{"cursor=!!", "cursor"},
		{"cursor=" + idCursor(0), "cursor"},
	} {
		p := e.do("GET", "/api/v1/incidents?"+tc.query, "").problem(t, http.StatusBadRequest)
		if !slices.Contains(fields(p), tc.field) {
			t.Errorf("%s: errors %v do not name %q", tc.query, fields(p), tc.field)
		}
	}
}

func TestTargetGetShowsOpenIncident(t *testing.T) {
	e := newEnv(t)
	seedIncidents(e)
	e.seed(uptime.Target{Name: "calm", URL: "http://calm"})

	got := e.do("GET", "/api/v1/targets/web", "").must(t, http.StatusOK)
	inc, ok := got["incident"].(map[string]any)
	if !ok {
		t.Fatalf("no incident in %v", got)
	}
	want := map[string]any{
		"id": 5.0, "target": "web", "started_at": "2025-03-04T03:06:07Z", "detected_at": "2025-03-04T03:07:07Z",
		"failures": 3.0, "last_error": "connection refused", "error_class": "refused", "alerts_sent": 1.0,
		"duration": "2h0m0s", "open": true,
	}
	if diff := cmp.Diff(want, inc); diff != "" {
		t.Errorf("incident (-want +got):\n%s", diff)
	}

	calm := e.do("GET", "/api/v1/targets/calm", "")
	if _, ok := calm.must(t, http.StatusOK)["incident"]; ok {
		t.Errorf("a target without an open incident shows one: %s", calm.body)
	}
	// Listings do not look incidents up.
	for _, it := range e.do("GET", "/api/v1/targets", "").must(t, http.StatusOK)["targets"].([]any) {
		if _, ok := it.(map[string]any)["incident"]; ok {
			t.Errorf("list shows an incident: %v", it)
		}
	}
	// What was read, incident included, can be PUT back.
	read := e.do("GET", "/api/v1/targets/web", "").body
	e.do("PUT", "/api/v1/targets/web", string(read)).must(t, http.StatusOK)

	e.store.err = fmt.Errorf("disk on fire: %w", uptime.ErrUnavailable)
	e.do("GET", "/api/v1/targets/web", "").problem(t, http.StatusServiceUnavailable)
}
