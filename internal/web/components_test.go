package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lookout/lookout/internal/uptime"
)

// seedComponents stores target api (interval 30s) whose documents report
// broker.us1 (up, down for the last two minutes), db (up) and queue/orders
// (a single unknown verdict), a check every 30s for the last hour.
func seedComponents(e *env) uptime.Target {
	e.t.Helper()
	tg := e.seed(uptime.Target{Name: "api", URL: "https://api.example.com/health"})
	now := e.clock.Now()
	for i := 120; i >= 1; i-- {
		at := now.Add(-time.Duration(i) * 30 * time.Second)
		st := uptime.StatusUp
		if i <= 4 {
			st = uptime.StatusDown
		}
		e.store.addComponentPoints(tg.ID, "broker.us1", uptime.ComponentPoint{At: at, Status: st, Observed: float64(i)})
		e.store.addComponentPoints(tg.ID, "db", uptime.ComponentPoint{At: at, Status: uptime.StatusUp})
	}
	e.store.addComponentPoints(tg.ID, "queue/orders", uptime.ComponentPoint{At: now.Add(-time.Minute), Status: uptime.StatusUnknown})
	// Their last 24 hours as the store adds them up: broker.us1 observed
	// for an hour, up for 58 minutes and down for the last 2.
	e.store.tallies = map[string]uptime.Tally{
		"api/broker.us1":   {UpTime: 58 * time.Minute, DownTime: 2 * time.Minute},
		"api/db":           {UpTime: time.Hour},
		"api/queue/orders": {UnknownTime: time.Minute},
	}
	return tg
}

func TestComponentList(t *testing.T) {
	e := newEnv(t)
	seedComponents(e)
	r := e.do("GET", "/api/v1/targets/api/components", "")
	r.must(t, http.StatusOK)
	golden(t, "components", r.body)

	var got struct {
		Components []struct {
			Name      string   `json:"name"`
			Status    string   `json:"status"`
			Since     string   `json:"since"`
			Uptime24h *float64 `json:"uptime_24h"`
		} `json:"components"`
	}
	decodeInto(t, r.body, &got)
	if len(got.Components) != 3 {
		t.Fatalf("%d components, want 3: %s", len(got.Components), r.body)
	}
	b, db, q := got.Components[0], got.Components[1], got.Components[2]
	if b.Name != "broker.us1" || db.Name != "db" || q.Name != "queue/orders" {
		t.Errorf("names %s, %s, %s; want sorted broker.us1, db, queue/orders", b.Name, db.Name, q.Name)
	}
	if b.Status != "down" || b.Since != e.clock.Now().Add(-2*time.Minute).Format(time.RFC3339) ||
		b.Uptime24h == nil || *b.Uptime24h != 58.0/60 {
		t.Errorf("broker.us1: %+v (uptime %v), want down since 2m ago, uptime 58/60", b, deref(b.Uptime24h))
	}
	if db.Uptime24h == nil || *db.Uptime24h != 1 {
		t.Errorf("db uptime %v, want 1", deref(db.Uptime24h))
	}
	if q.Uptime24h != nil {
		t.Errorf("queue/orders uptime %v, want null: nothing known", *q.Uptime24h)
	}
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

func TestComponentListEmpty(t *testing.T) {
	e := newEnv(t)
	e.seed(uptime.Target{Name: "plain", URL: "https://plain.example.com/"})
	r := e.do("GET", "/api/v1/targets/plain/components", "")
	r.must(t, http.StatusOK)
	if string(r.body) != "{\"components\":[]}\n" {
		t.Errorf("body %s, want an empty list", r.body)
	}
}

func TestComponentGet(t *testing.T) {
	e := newEnv(t)
	seedComponents(e)
	now := e.clock.Now()
	from, to := now.Add(-5*time.Minute), now.Add(-time.Minute)
	e.store.tallies["api/broker.us1"] = uptime.Tally{UpTime: 3 * time.Minute, DownTime: time.Minute}
	q := url.Values{"from": {from.Format(time.RFC3339)}, "to": {to.Format(time.RFC3339)}, "limit": {"3"}}
	r := e.do("GET", "/api/v1/targets/api/components/broker.us1?"+q.Encode(), "")
	r.must(t, http.StatusOK)
	golden(t, "component", r.body)

	var got struct {
		Component uptime.ComponentState `json:"component"`
		Uptime    map[string]any        `json:"uptime"`
		History   []uptime.ComponentPoint
	}
	decodeInto(t, r.body, &got)
	if got.Component.Name != "broker.us1" || got.Component.Status != uptime.StatusDown {
		t.Errorf("component %+v", got.Component)
	}
	// The store's tally of the window, as an uptime.
	wantUptime := map[string]any{
		"from": from.Format(time.RFC3339), "to": to.Format(time.RFC3339), "observed": "4m0s", "up": "3m0s",
		"degraded": "0s", "down": "1m0s", "unknown": "0s", "maintenance": "0s", "paused": "0s", "ratio": 0.75,
	}
	if diff := cmp.Diff(wantUptime, got.Uptime); diff != "" {
		t.Errorf("uptime (-want +got):\n%s", diff)
	}
	wantHistory := []uptime.ComponentPoint{
		{At: now.Add(-90 * time.Second), Status: uptime.StatusDown, Observed: 3},
		{At: now.Add(-120 * time.Second), Status: uptime.StatusDown, Observed: 4},
		{At: now.Add(-150 * time.Second), Status: uptime.StatusUp, Observed: 5},
	}
	if diff := cmp.Diff(wantHistory, got.History); diff != "" {
		t.Errorf("history, newest first, limit 3 (-want +got):\n%s", diff)
	}
}

func TestComponentGetDefaultsAndEscapes(t *testing.T) {
	e := newEnv(t)
	seedComponents(e)
	for _, path := range []string{
		"/api/v1/targets/api/components/db",
		"/api/v1/targets/api/components/broker.us1",
		"/api/v1/targets/api/components/" + url.PathEscape("queue/orders"),
	} {
		r := e.do("GET", path, "")
		body := r.must(t, http.StatusOK)
		var got struct {
			Component uptime.ComponentState   `json:"component"`
			History   []uptime.ComponentPoint `json:"history"`
		}
		decodeInto(t, r.body, &got)
		want, _ := url.PathUnescape(path[len("/api/v1/targets/api/components/"):])
		if got.Component.Name != want {
			t.Errorf("%s: component %q, want %q", path, got.Component.Name, want)
		}
		// Default window: the last 24 hours, to now.
		u := body["uptime"].(map[string]any)
		if u["to"] != e.clock.Now().Format(time.RFC3339) || u["from"] != e.clock.Now().Add(-24*time.Hour).Format(time.RFC3339) {
			t.Errorf("%s: default window %v to %v", path, u["from"], u["to"])
		}
		if want == "db" && len(got.History) != defaultHistoryLimit {
			t.Errorf("db: %d points, want the default limit %d", len(got.History), defaultHistoryLimit)
		}
	}
}

func TestComponentNotFound(t *testing.T) {
	e := newEnv(t)
	seedComponents(e)
	for path, detail := range map[string]string{
		"/api/v1/targets/nope/components":                   `no target named "nope"`,
		"/api/v1/targets/nope/components/db":                `no target named "nope"`,
		"/api/v1/targets/api/components/cache":              `no component named "cache" in target "api"`,
		"/api/v1/targets/api/components/queue":              `no component named "queue" in target "api"`,
		"/api/v1/targets/api/components/broker.us1/history": "no such route",
	} {
		p := e.do("GET", path, "").problem(t, http.StatusNotFound)
		if p.Detail != detail {
			t.Errorf("%s: detail %q, want %q", path, p.Detail, detail)
		}
	}
}

func TestComponentBadQuery(t *testing.T) {
	e := newEnv(t)
	seedComponents(e)
	for query, field := range map[string]string{
		"from=yesterday": "from",
		"to=2025-03-04T00:00:00Z&from=2025-03-04T01:00:00Z": "to",
		"limit=0":    "limit",
		"limit=1001": "limit",
	} {
		p := e.do("GET", "/api/v1/targets/api/components/db?"+query, "").problem(t, http.StatusBadRequest)
		if diff := cmp.Diff([]string{field}, fields(p)); diff != "" {
			t.Errorf("%s: fields (-want +got):\n%s", query, diff)
		}
	}
}

func TestComponentStoreError(t *testing.T) {
	e := newEnv(t)
	seedComponents(e)
	e.store.mu.Lock()
	e.store.err = fmt.Errorf("disk on fire: %w", uptime.ErrUnavailable)
	e.store.mu.Unlock()
	for _, path := range []string{"/api/v1/targets/api/components", "/api/v1/targets/api/components/db"} {
		r := e.do("GET", path, "")
		r.problem(t, http.StatusServiceUnavailable)
		if strings.Contains(string(r.body), "fire") {
			t.Errorf("%s: leaked the store's error: %s", path, r.body)
		}
	}
}
