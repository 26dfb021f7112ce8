package web

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestSilenceLifecycle(t *testing.T) {
	e := newEnv(t)
	r := e.do("POST", "/api/v1/silences", `{"matchers":{"team":"payments"},"ends_at":"2025-03-04T07:00:00+01:00","comment":"db migration","created_by":"ana"}`)
	got := r.must(t, http.StatusCreated)
	id := got["id"].(float64)
	if loc := r.header.Get("Location"); loc != fmt.Sprintf("/api/v1/silences/%d", int(id)) {
		t.Errorf("Location %q", loc)
	}
	want := map[string]any{
		"id": id, "matchers": map[string]any{"team": "payments"}, "comment": "db migration", "created_by": "ana",
		"starts_at": "2025-03-04T05:06:07Z", "ends_at": "2025-03-04T06:00:00Z", "created_at": "2025-03-04T05:06:07Z",
		"active": true,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("created (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, e.do("GET", r.header.Get("Location"), "").must(t, http.StatusOK)); diff != "" {
		t.Errorf("GET Location (-want +got):\n%s", diff)
	}

	// A later one is listed, not yet active; what was read can be sent again.
	read := e.do("GET", r.header.Get("Location"), "").body
	later := strings.Replace(string(read), `"starts_at":"2025-03-04T05:06:07Z"`, `"starts_at":"2025-03-04T05:30:00Z"`, 1)
	e.do("POST", "/api/v1/silences", later).must(t, http.StatusCreated)
	list := e.do("GET", "/api/v1/silences", "").must(t, http.StatusOK)["silences"].([]any)
	if len(list) != 2 || list[0].(map[string]any)["active"] != true || list[1].(map[string]any)["active"] != false {
		t.Errorf("list %v", list)
	}

	path := fmt.Sprintf("/api/v1/silences/%d", int(id))
	e.do("DELETE", path, "").must(t, http.StatusNoContent)
	p := e.do("DELETE", path, "").problem(t, http.StatusNotFound)
	if p.Detail != fmt.Sprintf(`no silence with id "%d"`, int(id)) {
		t.Errorf("404 detail %q", p.Detail)
	}
	e.do("GET", path, "").problem(t, http.StatusNotFound)
	e.do("DELETE", "/api/v1/silences/abc", "").problem(t, http.StatusNotFound)
	e.do("DELETE", "/api/v1/silences/-1", "").problem(t, http.StatusNotFound)
	if n := len(e.do("GET", "/api/v1/silences", "").must(t, http.StatusOK)["silences"].([]any)); n != 1 {
		t.Errorf("%d silences left, want 1", n)
	}
}

func TestSilenceRejectsInvalid(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct{ name, body, field, detail string }{
		{"ends before it starts", `{"matchers":{"a":"b"},"starts_at":"2030-01-02T00:00:00Z","ends_at":"2030-01-01T00:00:00Z"}`, "ends_at", "after starts_at"},
		{"no matchers", `{"ends_at":"2030-01-01T00:00:00Z"}`, "matchers", "at least one"},
		{"empty matchers", `{"matchers":{},"ends_at":"2030-01-01T00:00:00Z"}`, "matchers", "at least one"},
		{"no end", `{"matchers":{"a":"b"}}`, "ends_at", "required"},
		{"ended already", `{"matchers":{"a":"b"},"starts_at":"2025-01-01T00:00:00Z","ends_at":"2025-01-02T00:00:00Z"}`, "ends_at", "future"},
		{"bad time", `{"matchers":{"a":"b"},"ends_at":"tomorrow"}`, "ends_at", "tomorrow"},
		{"unknown field", `{"matchers":{"a":"b"},"ends_at":"2030-01-01T00:00:00Z","duration":"1h"}`, "duration", "not a known field"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := e.do("POST", "/api/v1/silences", tc.body).problem(t, http.StatusBadRequest)
			wantFieldProblem(t, p, tc.field, tc.detail)
		})
	}
	if n := len(e.store.silences); n != 0 {
		t.Errorf("%d silences stored by invalid requests", n)
	}
}

func TestMaintenanceLifecycle(t *testing.T) {
	e := newEnv(t)
	r := e.do("POST", "/api/v1/maintenance", `{"name":"weekly","matchers":{"env":"prod"},"schedule":"0 3 * * 0","duration":"2h","comment":"patching"}`)
	got := r.must(t, http.StatusCreated)
	want := map[string]any{
		"id": got["id"], "name": "weekly", "matchers": map[string]any{"env": "prod"}, "schedule": "0 3 * * 0",
		"duration": "2h0m0s", "comment": "patching", "created_at": "2025-03-04T05:06:07Z",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("created (-want +got):\n%s", diff)
	}
	loc := r.header.Get("Location")
	if loc != fmt.Sprintf("/api/v1/maintenance/%v", got["id"]) {
		t.Errorf("Location %q", loc)
	}
	if diff := cmp.Diff(want, e.do("GET", loc, "").must(t, http.StatusOK)); diff != "" {
		t.Errorf("GET Location (-want +got):\n%s", diff)
	}

	oneOff := e.do("POST", "/api/v1/maintenance", `{"matchers":{"team":"db"},"starts_at":"2025-03-05T01:00:00+02:00","ends_at":"2025-03-05T02:00:00+02:00"}`).must(t, http.StatusCreated)
	if oneOff["starts_at"] != "2025-03-04T23:00:00Z" || oneOff["ends_at"] != "2025-03-05T00:00:00Z" {
		t.Errorf("one-off window %v", oneOff)
	}
	list := e.do("GET", "/api/v1/maintenance", "").must(t, http.StatusOK)["maintenance"].([]any)
	if len(list) != 2 {
		t.Fatalf("list %v", list)
	}

	e.do("DELETE", loc, "").must(t, http.StatusNoContent)
	p := e.do("DELETE", loc, "").problem(t, http.StatusNotFound)
	if !strings.HasPrefix(p.Detail, "no maintenance window with id") {
		t.Errorf("404 detail %q", p.Detail)
	}
	e.do("GET", loc, "").problem(t, http.StatusNotFound)
}

func TestMaintenanceRejectsInvalid(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct{ name, body, field, detail string }{
		{"bad cron", `{"matchers":{"a":"b"},"schedule":"every sunday","duration":"1h"}`, "schedule", `"every sunday" is not a valid cron expression`},
		{"schedule without duration", `{"matchers":{"a":"b"},"schedule":"0 3 * * 0"}`, "duration", "required"},
		{"schedule and window", `{"matchers":{"a":"b"},"schedule":"0 3 * * 0","duration":"1h","starts_at":"2030-01-01T00:00:00Z"}`, "schedule", "not both"},
		{"ends before it starts", `{"matchers":{"a":"b"},"starts_at":"2030-01-02T00:00:00Z","ends_at":"2030-01-01T00:00:00Z"}`, "ends_at", "after starts_at"},
		{"no window", `{"matchers":{"a":"b"}}`, "ends_at", "required"},
		{"no matchers", `{"schedule":"0 3 * * 0","duration":"1h"}`, "matchers", "at least one"},
		{"duration as number", `{"matchers":{"a":"b"},"schedule":"0 3 * * 0","duration":3600}`, "duration", "must be a string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := e.do("POST", "/api/v1/maintenance", tc.body).problem(t, http.StatusBadRequest)
			wantFieldProblem(t, p, tc.field, tc.detail)
		})
	}
	if n := len(e.store.maintenance); n != 0 {
		t.Errorf("%d windows stored by invalid requests", n)
	}
}

func TestMaintenanceErrorGolden(t *testing.T) {
	e := newEnv(t)
	e.clock.Advance(time.Hour)
	r := e.do("POST", "/api/v1/maintenance", `{"matchers":{},"schedule":"61 * * *","duration":"-1h"}`, "X-Request-Id: req-2")
	r.problem(t, http.StatusBadRequest)
	golden(t, "maintenance_error", r.body)
}

// A silence is edited by merge patch: it may end sooner or later, and an
// end in the past ends it now.
func TestSilencePatch(t *testing.T) {
	e := newEnv(t)
	created := e.do("POST", "/api/v1/silences", `{"matchers":{"team":"payments"},"ends_at":"2025-03-04T06:00:00Z","comment":"db migration"}`).must(t, http.StatusCreated)
	path := fmt.Sprintf("/api/v1/silences/%v", created["id"])

	got := e.do("PATCH", path, `{"ends_at":"2025-03-04T05:30:00Z","comment":"shorter","active":false,"created_at":"2020-01-01T00:00:00Z"}`,
		"Content-Type: application/merge-patch+json").must(t, http.StatusOK)
	want := map[string]any{
		"id": created["id"], "matchers": map[string]any{"team": "payments"}, "comment": "shorter",
		"starts_at": "2025-03-04T05:06:07Z", "ends_at": "2025-03-04T05:30:00Z", "created_at": "2025-03-04T05:06:07Z",
		"active": true,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("shortened (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, e.do("GET", path, "").must(t, http.StatusOK)); diff != "" {
		t.Errorf("GET after PATCH (-want +got):\n%s", diff)
	}

	e.clock.Advance(time.Minute)
	got = e.do("PATCH", path, `{"ends_at":"2025-03-04T05:00:00Z"}`).must(t, http.StatusOK)
	if got["ends_at"] != "2025-03-04T05:07:07Z" || got["active"] != false {
		t.Errorf("an end in the past: ends_at %v active %v, want now and inactive", got["ends_at"], got["active"])
	}
	p := e.do("PATCH", path, `{"ends_at":"2025-03-04T04:00:00Z"}`).problem(t, http.StatusBadRequest)
	wantFieldProblem(t, p, "ends_at", "ended already")
	got = e.do("PATCH", path, `{"ends_at":"2025-03-04T09:00:00Z"}`).must(t, http.StatusOK)
	if got["ends_at"] != "2025-03-04T09:00:00Z" || got["active"] != true {
		t.Errorf("an ended silence given a later end: %v", got)
	}

	for _, tc := range []struct{ name, body, field, detail string }{
		{"id", `{"id":99}`, "id", "cannot be changed"},
		{"matchers removed", `{"matchers":null}`, "matchers", "at least one"},
		{"ends before it starts", `{"starts_at":"2025-03-04T10:00:00Z"}`, "ends_at", "after starts_at"},
		{"unknown field", `{"schedule":"@daily"}`, "schedule", "not a known field"},
		{"bad time", `{"ends_at":"soon"}`, "ends_at", "soon"},
		{"not an object", `[1]`, "body", "must be an object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := e.do("PATCH", path, tc.body).problem(t, http.StatusBadRequest)
			wantFieldProblem(t, p, tc.field, tc.detail)
		})
	}
	if s := e.do("GET", path, "").must(t, http.StatusOK); s["ends_at"] != "2025-03-04T09:00:00Z" || s["id"] != created["id"] {
		t.Errorf("a refused patch changed the silence: %v", s)
	}
	p = e.do("PATCH", "/api/v1/silences/999", `{"comment":"x"}`).problem(t, http.StatusNotFound)
	if p.Detail != `no silence with id "999"` {
		t.Errorf("404 detail %q", p.Detail)
	}
	e.do("PATCH", "/api/v1/silences/abc", `{"comment":"x"}`).problem(t, http.StatusNotFound)
}

// A maintenance window is edited by merge patch and validated as on
// creation; a one-off window's end in the past ends it now.
func TestMaintenancePatch(t *testing.T) {
	e := newEnv(t)
	created := e.do("POST", "/api/v1/maintenance", `{"name":"db","matchers":{"team":"db"},"starts_at":"2025-03-04T05:00:00Z","ends_at":"2025-03-04T07:00:00Z"}`).must(t, http.StatusCreated)
	path := fmt.Sprintf("/api/v1/maintenance/%v", created["id"])

	got := e.do("PATCH", path, `{"ends_at":"2025-03-04T06:00:00Z","comment":"quicker"}`).must(t, http.StatusOK)
	if got["ends_at"] != "2025-03-04T06:00:00Z" || got["comment"] != "quicker" || got["name"] != "db" || got["id"] != created["id"] {
		t.Errorf("shortened window %v", got)
	}
	got = e.do("PATCH", path, `{"ends_at":"2025-03-04T05:00:01Z"}`).must(t, http.StatusOK)
	if got["ends_at"] != "2025-03-04T05:06:07Z" {
		t.Errorf("an end in the past: ends_at %v, want now", got["ends_at"])
	}

	for _, tc := range []struct{ name, body, field, detail string }{
		{"id", `{"id":99}`, "id", "cannot be changed"},
		{"schedule and window", `{"schedule":"0 3 * * 0","duration":"1h"}`, "schedule", "not both"},
		{"bad cron", `{"starts_at":null,"ends_at":null,"schedule":"every sunday","duration":"1h"}`, "schedule", `"every sunday" is not a valid cron expression`},
		{"unknown field", `{"active":true}`, "active", "not a known field"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := e.do("PATCH", path, tc.body).problem(t, http.StatusBadRequest)
			wantFieldProblem(t, p, tc.field, tc.detail)
		})
	}

	got = e.do("PATCH", path, `{"starts_at":null,"ends_at":null,"schedule":"0 3 * * 0","duration":"2h"}`).must(t, http.StatusOK)
	want := map[string]any{
		"id": created["id"], "name": "db", "matchers": map[string]any{"team": "db"}, "schedule": "0 3 * * 0",
		"duration": "2h0m0s", "comment": "quicker", "created_at": "2025-03-04T05:06:07Z",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("made recurring (-want +got):\n%s", diff)
	}
	p := e.do("PATCH", "/api/v1/maintenance/999", `{"comment":"x"}`).problem(t, http.StatusNotFound)
	if !strings.HasPrefix(p.Detail, "no maintenance window with id") {
		t.Errorf("404 detail %q", p.Detail)
	}
}
