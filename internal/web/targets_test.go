package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lookout/lookout/internal/testkit"
	"github.com/lookout/lookout/internal/uptime"
)

func TestCreateTarget(t *testing.T) {
	e := newEnv(t)
	r := e.do("POST", "/api/v1/targets", `{"name":"payments-api","url":"https://pay.internal/health","labels":{"team":"payments"}}`)
	got := r.must(t, http.StatusCreated)
	if loc := r.header.Get("Location"); loc != "/api/v1/targets/payments-api" {
		t.Errorf("Location %q", loc)
	}
	// Defaults are filled in and shown.
	for k, want := range map[string]any{"kind": "http", "interval": "30s", "timeout": "10s", "failure_threshold": 3.0} {
		if got[k] != want {
			t.Errorf("%s = %v, want %v", k, got[k], want)
		}
	}
	if st := got["state"].(map[string]any)["status"]; st != "unknown" {
		t.Errorf("state.status = %v, want unknown", st)
	}

	p := e.do("POST", "/api/v1/targets", `{"name":"payments-api","url":"https://other"}`).problem(t, http.StatusConflict)
	if !strings.Contains(p.Detail, "PUT") {
		t.Errorf("conflict detail %q does not point at PUT", p.Detail)
	}

	// A member sent as null is left out, as in a merge patch.
	got = e.do("POST", "/api/v1/targets", `{"name":"nulls","url":"https://x","failure_threshold":null,"success_threshold":null}`).must(t, http.StatusCreated)
	if got["failure_threshold"] != 3.0 || got["success_threshold"] != 1.0 {
		t.Errorf("thresholds sent as null: %v and %v, want the defaults 3 and 1", got["failure_threshold"], got["success_threshold"])
	}
}

func TestPutIsIdempotent(t *testing.T) {
	e := newEnv(t)
	body := `{"url":"http://api/health","interval":"1m","labels":{"env":"prod"}}`
	r := e.do("PUT", "/api/v1/targets/api", body)
	first := r.must(t, http.StatusCreated)
	if loc := r.header.Get("Location"); loc != "/api/v1/targets/api" {
		t.Errorf("Location %q", loc)
	}
	if first["name"] != "api" {
		t.Errorf("name %v, want it taken from the path", first["name"])
	}

	e.clock.Advance(time.Minute)
	second := e.do("PUT", "/api/v1/targets/api", body).must(t, http.StatusOK)
	if diff := cmp.Diff(first, second); diff != "" {
		t.Errorf("second identical PUT changed the target (-first +second):\n%s", diff)
	}

	// The name in the body may be given if it agrees; a change replaces.
	e.clock.Advance(time.Minute)
	third := e.do("PUT", "/api/v1/targets/api", `{"name":"api","url":"http://api/health","interval":"2m"}`).must(t, http.StatusOK)
	if third["interval"] != "2m0s" || third["updated_at"] == first["updated_at"] || third["created_at"] != first["created_at"] {
		t.Errorf("replace: got interval %v updated_at %v created_at %v", third["interval"], third["updated_at"], third["created_at"])
	}
	if _, ok := third["labels"].(map[string]any)["env"]; ok {
		t.Error("PUT replaces: labels left out must be dropped")
	}
}

func TestPatchMerges(t *testing.T) {
	e := newEnv(t)
	e.do("POST", "/api/v1/targets", `{"name":"db","kind":"postgres","url":"postgres://u:pw@db/app","labels":{"team":"core","env":"prod"},"interval":"1m"}`).must(t, 201)

	got := e.do("PATCH", "/api/v1/targets/db", `{"labels":{"env":null,"tier":"1"},"failure_threshold":5}`,
		"Content-Type: application/merge-patch+json").must(t, http.StatusOK)
	if diff := cmp.Diff(map[string]any{"team": "core", "tier": "1"}, got["labels"]); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	if got["failure_threshold"] != 5.0 || got["interval"] != "1m0s" || got["kind"] != "postgres" {
		t.Errorf("untouched fields changed or patch lost: %v", got)
	}
	if got["url"] != "postgres://u:***@db/app" {
		t.Errorf("url %v, want the password redacted", got["url"])
	}
	if stored := e.store.targets["db"].Target.URL; stored != "postgres://u:pw@db/app" {
		t.Errorf("stored url %q lost its password through a patch", stored)
	}

	// Switching from interval to schedule needs the interval removed.
	got = e.do("PATCH", "/api/v1/targets/db", `{"interval":null,"schedule":"@every 5m"}`).must(t, http.StatusOK)
	if got["schedule"] != "@every 5m" || got["interval"] != nil {
		t.Errorf("schedule %v interval %v", got["schedule"], got["interval"])
	}

	for _, tc := range []struct{ body, field string }{
		{`{"name":"db2"}`, "name"},
		{`{"name":null}`, "name"},
		{`{"interval":"10ms","schedule":null}`, "interval"},
		{`{"interval":"0s","schedule":null}`, "interval"},
		{`{"timeout":"0s"}`, "timeout"},
		{`{"failure_threshold":0}`, "failure_threshold"},
		{`{"http":{"expect_status":"abc"}}`, "http.expect_status"},
		{`{"bogus":true}`, "bogus"},
		{`[]`, "body"},
		{`null`, "body"},
		{`{"a":`, "body"},
	} {
		p := e.do("PATCH", "/api/v1/targets/db", tc.body).problem(t, http.StatusBadRequest)
		if !slices.Contains(fields(p), tc.field) {
			t.Errorf("PATCH %s: errors %v do not name %q", tc.body, fields(p), tc.field)
		}
	}
	// A member removed by the patch is left out, so it gets its default.
	e.do("PATCH", "/api/v1/targets/db", `{"timeout":"3s","failure_threshold":7}`).must(t, http.StatusOK)
	got = e.do("PATCH", "/api/v1/targets/db", `{"timeout":null,"failure_threshold":null}`).must(t, http.StatusOK)
	if got["timeout"] != "10s" || got["failure_threshold"] != 3.0 {
		t.Errorf("removed by a patch: timeout %v failure_threshold %v, want the defaults 10s and 3", got["timeout"], got["failure_threshold"])
	}
	e.do("PATCH", "/api/v1/targets/nope", `{"paused":true}`).problem(t, http.StatusNotFound)
}

func TestPauseResumeCheckDelete(t *testing.T) {
	e := newEnv(t)
	e.seed(uptime.Target{Name: "web", URL: "http://web"})
	e.store.setState("web", uptime.State{Status: uptime.StatusDown, ConsecutiveFailures: 4})

	got := e.do("POST", "/api/v1/targets/web/pause", "").must(t, http.StatusOK)
	if got["paused"] != true || got["state"].(map[string]any)["status"] != "paused" {
		t.Errorf("after pause: paused %v state %v", got["paused"], got["state"])
	}
	got = e.do("POST", "/api/v1/targets/web/resume", "").must(t, http.StatusOK)
	if got["paused"] != false || got["state"].(map[string]any)["status"] != "down" {
		t.Errorf("after resume: paused %v state %v", got["paused"], got["state"])
	}
	if got["state"].(map[string]any)["consecutive_failures"] != 4.0 {
		t.Errorf("state lost: %v", got["state"])
	}

	e.sched.result = uptime.Result{Target: "web", StartedAt: e.clock.Now(), Duration: 1500 * time.Microsecond, Status: uptime.StatusUp, Code: 200}
	got = e.do("POST", "/api/v1/targets/web/check", "").must(t, http.StatusOK)
	if got["status"] != "up" || got["duration_us"] != 1500.0 || got["duration"] != "1.5ms" || got["code"] != 200.0 {
		t.Errorf("check result %v", got)
	}
	e.sched.known = func(int64) bool { return false }
	e.do("POST", "/api/v1/targets/web/check", "").problem(t, http.StatusNotFound)

	e.do("DELETE", "/api/v1/targets/web", "").must(t, http.StatusNoContent)
	e.do("GET", "/api/v1/targets/web", "").problem(t, http.StatusNotFound)
	e.do("DELETE", "/api/v1/targets/web", "").problem(t, http.StatusNotFound)
	for _, op := range []string{"pause", "resume", "check"} {
		e.do("POST", "/api/v1/targets/web/"+op, "").problem(t, http.StatusNotFound)
	}
}

func TestGetTargetShowsState(t *testing.T) {
	e := newEnv(t)
	e.seed(uptime.Target{Name: "shop", URL: "https://shop/health", Labels: map[string]string{"team": "web"}})
	since := e.clock.Now().Add(-time.Hour)
	e.store.setState("shop", uptime.State{
		Status: uptime.StatusDown, Since: since, LastCheck: e.clock.Now(), LastResult: uptime.StatusDown,
		LastError: "connection refused", LastErrorClass: uptime.ClassRefused, ConsecutiveFailures: 7, FailingSince: since,
	})
	r := e.do("GET", "/api/v1/targets/shop", "")
	r.must(t, http.StatusOK)
	golden(t, "target", r.body)
}

// A flapping target says so, and since when; one that is not shows
// flapping false (TestGetTargetShowsState).
func TestGetTargetShowsFlapping(t *testing.T) {
	e := newEnv(t)
	e.seed(uptime.Target{Name: "shop", URL: "https://shop/health"})
	start := e.clock.Now().Add(-20 * time.Minute)
	e.store.setState("shop", uptime.State{
		Status: uptime.StatusUp, Since: e.clock.Now().Add(-time.Minute), LastCheck: e.clock.Now(), LastResult: uptime.StatusUp,
		ConsecutiveSuccesses: 1, Flapping: true, FlappingSince: start,
		Flips: []time.Time{start, start.Add(5 * time.Minute), start.Add(10 * time.Minute)},
	})
	r := e.do("GET", "/api/v1/targets/shop", "")
	r.must(t, http.StatusOK)
	golden(t, "target_flapping", r.body)
}

func TestSecretsAreRedactedAndKept(t *testing.T) {
	e := newEnv(t)
	body := `{"url":"https://bot:s3cret@api.example/health?token=abc","http":{"headers":{"Authorization":"Bearer xyz","Accept":"application/json"}}}`
	checkRedacted := func(t *testing.T, where string, tg map[string]any) {
		t.Helper()
		if tg["url"] != "https://bot:***@api.example/health?token=***" {
			t.Errorf("%s: url %v", where, tg["url"])
		}
		h := tg["http"].(map[string]any)["headers"].(map[string]any)
		if h["Authorization"] != "***" || h["Accept"] != "application/json" {
			t.Errorf("%s: headers %v", where, h)
		}
	}
	created := e.do("PUT", "/api/v1/targets/api", body).must(t, http.StatusCreated)
	checkRedacted(t, "PUT response", created)
	checkRedacted(t, "GET", e.do("GET", "/api/v1/targets/api", "").must(t, 200))
	list := e.do("GET", "/api/v1/targets", "").must(t, 200)
	checkRedacted(t, "list", list["targets"].([]any)[0].(map[string]any))
	checkRedacted(t, "pause", e.do("POST", "/api/v1/targets/api/pause", "").must(t, 200))
	checkRedacted(t, "patch", e.do("PATCH", "/api/v1/targets/api", `{"paused":false}`).must(t, 200))
	for _, raw := range [][]byte{e.do("GET", "/api/v1/targets/api", "").body, e.do("GET", "/api/v1/targets", "").body} {
		for _, secret := range []string{"s3cret", "abc", "xyz"} {
			if strings.Contains(string(raw), secret) {
				t.Errorf("response leaks %q: %s", secret, raw)
			}
		}
	}

	// What was read can be PUT back as is, state and timestamps included.
	read := e.do("GET", "/api/v1/targets/api", "").body
	e.clock.Advance(time.Minute)
	again := e.do("PUT", "/api/v1/targets/api", string(read)).must(t, http.StatusOK)
	if again["updated_at"] != created["updated_at"] {
		t.Errorf("PUT of what was read changed the target: updated_at %v → %v", created["updated_at"], again["updated_at"])
	}
	stored := e.store.targets["api"].Target
	if stored.URL != "https://bot:s3cret@api.example/health?token=abc" || stored.HTTP.Headers["Authorization"] != "Bearer xyz" {
		t.Errorf("secrets not kept: url %q headers %v", stored.URL, stored.HTTP.Headers)
	}

	// A changed host does not inherit the old password.
	e.do("PUT", "/api/v1/targets/api", `{"url":"https://bot:***@evil.example/health?token=***","http":{"headers":{"Authorization":"***"}}}`).must(t, 200)
	stored = e.store.targets["api"].Target
	if strings.Contains(stored.URL, "s3cret") {
		t.Errorf("password moved to another host: %q", stored.URL)
	}
	if stored.HTTP.Headers["Authorization"] != "Bearer xyz" {
		t.Errorf("header secret not kept: %v", stored.HTTP.Headers)
	}
}

func TestListFiltersAndPages(t *testing.T) {
	e := newEnv(t)
	for i := range 12 {
		team := []string{"payments", "search", "core"}[i%3]
		name := fmt.Sprintf("t%02d", i)
		e.seed(uptime.Target{Name: name, URL: "http://x", Labels: map[string]string{"team": team, "env": "prod"}})
		if i%4 == 0 {
			e.store.setState(name, uptime.State{Status: uptime.StatusDown})
		}
	}
	// t00 (payments) and t04 (search) and t08 (core) are down; pause t00 and t01.
	for _, n := range []string{"t00", "t01"} {
		e.do("POST", "/api/v1/targets/"+n+"/pause", "").must(t, 200)
	}

	names := func(v map[string]any) []string { return members[string](v, "targets", "name") }

	tests := []struct {
		query string
		want  []string
	}{
		{"", []string{"t00", "t01", "t02", "t03", "t04", "t05", "t06", "t07", "t08", "t09", "t10", "t11"}},
		{"label=team=payments", []string{"t00", "t03", "t06", "t09"}},
		{"label=team=payments&label=env=prod", []string{"t00", "t03", "t06", "t09"}},
		{"label=team=payments&label=env=dev", nil},
		{"status=down", []string{"t04", "t08"}},
		{"status=paused", []string{"t00", "t01"}},
		{"status=down,paused", []string{"t00", "t01", "t04", "t08"}},
		{"status=down&status=unknown&label=team=search", []string{"t04", "t07", "t10"}},
		{"status=down&label=team=core", []string{"t08"}},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			one := e.do("GET", "/api/v1/targets?"+tc.query, "").must(t, 200)
			if diff := cmp.Diff(tc.want, names(one)); diff != "" {
				t.Errorf("one page (-want +got):\n%s", diff)
			}
			if one["next_cursor"] != "" {
				t.Errorf("next_cursor %v on the only page", one["next_cursor"])
			}
			paged, pages := walkPages[string](t, e, "/api/v1/targets?limit=2&"+tc.query, "targets", "name")
			if diff := cmp.Diff(tc.want, paged); diff != "" {
				t.Errorf("pages of 2 (-want +got):\n%s", diff)
			}
			if want := max(1, (len(tc.want)+1)/2); pages != want {
				t.Errorf("%d pages, want %d", pages, want)
			}
		})
	}

	one := e.do("GET", "/api/v1/targets?status=paused", "").must(t, 200)
	if st := one["targets"].([]any)[0].(map[string]any)["state"].(map[string]any)["status"]; st != "paused" {
		t.Errorf("paused target shown as %v", st)
	}

	for _, tc := range []struct{ query, field string }{
		{"label=team", "label"},
		{"status=sideways", "status"},
		{"limit=0", "limit"},
		{"limit=100000", "limit"},
		{"limit=x", "limit"},
		{"cursor=!!!", "cursor"},
	} {
		p := e.do("GET", "/api/v1/targets?"+tc.query, "").problem(t, 400)
		if !slices.Contains(fields(p), tc.field) {
			t.Errorf("%s: errors %v do not name %q", tc.query, fields(p), tc.field)
		}
	}
}

func TestListEmptyIsAnArray(t *testing.T) {
	e := newEnv(t)
	r := e.do("GET", "/api/v1/targets", "")
	r.must(t, 200)
	if got := strings.TrimSpace(string(r.body)); got != `{"targets":[],"next_cursor":""}` {
		t.Errorf("body %s", got)
	}
}

func TestResultsPages(t *testing.T) {
	e := newEnv(t)
	tg := e.seed(uptime.Target{Name: "api", URL: "http://api"})
	base := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	for i := 9; i >= 0; i-- { // newest first
		e.store.results[tg.ID] = append(e.store.results[tg.ID], uptime.Result{
			TargetID: tg.ID, Target: "api", StartedAt: base.Add(time.Duration(i) * time.Minute),
			Duration: time.Millisecond, Status: uptime.StatusUp, Code: 200,
		})
	}
	got, pages := walkPages[string](t, e, "/api/v1/targets/api/results?limit=4&from=2025-03-01T00:02:00Z&to=2025-03-01T00:09:00Z",
		"results", "started_at")
	var want []string
	for m := 8; m >= 2; m-- {
		want = append(want, fmt.Sprintf("2025-03-01T00:%02d:00Z", m))
	}
	if pages != 2 {
		t.Errorf("%d pages of 4, want 2", pages)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}

	empty := e.do("GET", "/api/v1/targets/api/results?from=2030-01-01T00:00:00Z", "")
	empty.must(t, 200)
	if !strings.Contains(string(empty.body), `"results":[]`) {
		t.Errorf("no results should be an empty array: %s", empty.body)
	}
	for _, tc := range []struct{ query, field string }{
		{"from=yesterday", "from"},
		{"to=2025-13-01T00:00:00Z", "to"},
		{"from=2025-03-02T00:00:00Z&to=2025-03-01T00:00:00Z", "to"},
		{"limit=0", "limit"},
		{"limit=5000", "limit"},
		{"cursor=zz", "cursor"},
	} {
		p := e.do("GET", "/api/v1/targets/api/results?"+tc.query, "").problem(t, 400)
		if !slices.Contains(fields(p), tc.field) {
			t.Errorf("%s: errors %v do not name %q", tc.query, fields(p), tc.field)
		}
	}
	e.do("GET", "/api/v1/targets/nope/results", "").problem(t, 404)
}

func TestErrorMapping(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		err    error
		status int
	}{
		{fmt.Errorf("get target: %w", uptime.ErrUnavailable), http.StatusServiceUnavailable},
		{fmt.Errorf("get target: %w", uptime.ErrNotFound), http.StatusNotFound},
		{fmt.Errorf("database is locked at /var/lib/lookout.db password=hunter2"), http.StatusInternalServerError},
	} {
		e.store.mu.Lock()
		e.store.err = tc.err
		e.store.mu.Unlock()
		r := e.do("GET", "/api/v1/targets/x", "")
		p := r.problem(t, tc.status)
		if strings.Contains(string(r.body), "hunter2") || strings.Contains(string(r.body), "lookout.db") {
			t.Errorf("internal error text leaked: %s", r.body)
		}
		if tc.status == 500 && p.RequestID == "" {
			t.Error("a 500 must carry the request id to find it in the log")
		}
		wantRetry := ""
		if tc.status == http.StatusServiceUnavailable {
			wantRetry = "5"
		}
		if got := r.header.Get("Retry-After"); got != wantRetry {
			t.Errorf("%d: Retry-After %q, want %q", tc.status, got, wantRetry)
		}
	}
	e.store.err = nil

	p := e.do("GET", "/api/v1/nope", "").problem(t, http.StatusNotFound)
	if p.Detail == "" {
		t.Error("404 without detail")
	}
	// A 405 says which methods the route allows (RFC 9110).
	for _, tc := range []struct{ method, path, allow string }{
		{"PATCH", "/api/v1/targets", "GET, HEAD, POST, OPTIONS"},
		{"POST", "/api/v1/targets/a%2Fb", "GET, HEAD, PUT, PATCH, DELETE, OPTIONS"},
		{"TRACE", "/api/v1/silences/1", "GET, HEAD, PATCH, DELETE, OPTIONS"},
		{"GET", "/api/v1/targets/a/pause", "POST, OPTIONS"},
		{"HEAD", "/api/v1/targets/a/pause", "POST, OPTIONS"},
		{"POST", "/metrics", "GET, HEAD, OPTIONS"},
	} {
		r := e.do(tc.method, tc.path, "")
		if tc.method == "HEAD" {
			if r.status != http.StatusMethodNotAllowed || len(r.body) != 0 {
				t.Errorf("HEAD %s: %d with %d bytes, want 405 without a body", tc.path, r.status, len(r.body))
			}
		} else {
			r.problem(t, http.StatusMethodNotAllowed)
		}
		if got := r.header.Get("Allow"); got != tc.allow {
			t.Errorf("%s %s: Allow %q, want %q", tc.method, tc.path, got, tc.allow)
		}
	}
}

func TestPanicsBecomeProblems(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.Validate = func(*uptime.Target) error { panic("validator bug") }
	})
	r := e.do("POST", "/api/v1/targets", `{"name":"a","url":"http://x"}`)
	r.problem(t, http.StatusInternalServerError)
	if strings.Contains(string(r.body), "validator bug") {
		t.Errorf("panic text leaked: %s", r.body)
	}
	e.do("GET", "/api/v1/targets", "").must(t, 200) // still serving
}

func TestAuth(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.Token = "write-secret"
		c.ReadTokens = []string{"dash-1", "dash-2"}
	})
	create := `{"name":"a","url":"http://x"}`

	r := e.do("POST", "/api/v1/targets", create)
	r.problem(t, http.StatusUnauthorized)
	if got := r.header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
		t.Errorf("WWW-Authenticate %q", got)
	}
	e.do("GET", "/api/v1/targets", "").problem(t, http.StatusUnauthorized)

	e.token = "wrong"
	r = e.do("GET", "/api/v1/targets", "")
	r.problem(t, http.StatusUnauthorized)
	if got := r.header.Get("WWW-Authenticate"); !strings.Contains(got, "invalid_token") {
		t.Errorf("WWW-Authenticate %q", got)
	}

	e.token = "dash-2"
	e.do("GET", "/api/v1/targets", "").must(t, http.StatusOK)
	r = e.do("POST", "/api/v1/targets", create)
	r.problem(t, http.StatusForbidden)
	if got := r.header.Get("WWW-Authenticate"); !strings.Contains(got, "insufficient_scope") {
		t.Errorf("WWW-Authenticate %q", got)
	}
	e.do("DELETE", "/api/v1/targets/a", "").problem(t, http.StatusForbidden)

	e.token = "write-secret"
	e.do("POST", "/api/v1/targets", create).must(t, http.StatusCreated)
	e.do("GET", "/api/v1/targets/a", "").must(t, http.StatusOK)

	// Probes, metrics and the description stay open.
	e.token = ""
	for _, p := range []string{"/health/live", "/health/ready", "/livez", "/readyz", "/metrics", "/openapi.json", "/"} {
		if r := e.do("GET", p, ""); r.status != http.StatusOK {
			t.Errorf("GET %s without a token: %d", p, r.status)
		}
	}
	// The scheme is case-insensitive.
	e.do("GET", "/api/v1/targets", "", "Authorization: bearer dash-1").must(t, http.StatusOK)
	e.do("GET", "/api/v1/targets", "", "Authorization: Basic ZGFzaC0xOg==").problem(t, http.StatusUnauthorized)
}

func TestReadTokensOnlyLockMutations(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.ReadTokens = []string{"ro"} })
	e.token = "ro"
	e.do("GET", "/api/v1/targets", "").must(t, http.StatusOK)
	e.do("POST", "/api/v1/targets", `{"name":"a","url":"http://x"}`).problem(t, http.StatusForbidden)
}

func TestNoTokenConfiguredIsOpen(t *testing.T) {
	e := newEnv(t)
	e.do("POST", "/api/v1/targets", `{"name":"a","url":"http://x"}`).must(t, http.StatusCreated)
}

func TestAccessLogHasRequestID(t *testing.T) {
	var buf testkit.LogBuffer
	e := newEnv(t, func(c *Config) { c.Logger = testkit.JSONLogger(&buf) })
	r := e.do("GET", "/api/v1/targets", "", "X-Request-Id: abc-123")
	r.must(t, 200)
	if r.header.Get("X-Request-Id") != "abc-123" {
		t.Errorf("X-Request-Id %q", r.header.Get("X-Request-Id"))
	}
	var line map[string]any
	for l := range strings.SplitSeq(strings.TrimSpace(buf.String()), "\n") {
		if err := json.Unmarshal([]byte(l), &line); err != nil {
			t.Fatal(err)
		}
		if line["msg"] == "http request" {
			break
		}
	}
	for _, k := range []string{"method", "path", "status", "duration_ms", "request_id"} {
		if _, ok := line[k]; !ok {
			t.Errorf("access log lacks %s: %v", k, line)
		}
	}
	if line["request_id"] != "abc-123" || line["status"] != 200.0 {
		t.Errorf("access log %v", line)
	}
}
