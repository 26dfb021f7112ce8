package web

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lookout/lookout/internal/uptime"
)

// Every time in every response is UTC, as the API promises, whatever zone
// the store and the scheduler hand back.
func TestTimesAreUTC(t *testing.T) {
	e := newEnv(t)
	e.clock.Set(e.clock.Now().In(time.FixedZone("CET", 3600)))
	now := e.clock.Now()
	seedIncidents(e) // targets api and web; web's incident 5 is open
	api := e.store.targets["api"].Target
	e.store.setState("web", uptime.State{Status: uptime.StatusDown, Since: now, LastCheck: now,
		FailingSince: now, CertExpiry: now.AddDate(0, 1, 0)})
	res := uptime.Result{Target: "api", StartedAt: now, Status: uptime.StatusUp,
		CertExpiry: now.AddDate(0, 1, 0), ChainExpiry: now.AddDate(0, 2, 0)}
	e.store.results[api.ID] = []uptime.Result{res}
	e.sched.result = res
	e.store.addComponentPoints(api.ID, "db", uptime.ComponentPoint{At: now.Add(-time.Minute), Status: uptime.StatusUp})
	e.store.deliveries = []uptime.Delivery{{ID: 1, Channel: "ops", Status: uptime.DeliveryPending,
		Event:     uptime.Event{Type: uptime.EventIncidentOpened, At: now, Since: now, Target: "api"},
		CreatedAt: now, NextAt: now.Add(time.Minute), FinishedAt: now}}
	e.store.silences = []uptime.Silence{{ID: 1, Matchers: map[string]string{"a": "b"}, StartsAt: now, EndsAt: now.Add(time.Hour), CreatedAt: now}}
	e.store.maintenance = []uptime.Maintenance{{ID: 2, Matchers: map[string]string{"a": "b"}, StartsAt: now, EndsAt: now.Add(time.Hour), CreatedAt: now}}

	rs := map[string]response{
		"PUT channel": e.do("PUT", "/api/v1/channels/ops", `{"kind":"webhook","url":"https://x"}`),
		"POST target": e.do("POST", "/api/v1/targets", `{"name":"new","url":"http://new"}`),
		"POST silence": e.do("POST", "/api/v1/silences",
			`{"matchers":{"a":"b"},"starts_at":"2030-01-01T01:00:00+01:00","ends_at":"2030-01-01T02:00:00+01:00"}`),
		"POST maintenance": e.do("POST", "/api/v1/maintenance",
			`{"matchers":{"a":"b"},"starts_at":"2030-01-01T01:00:00+01:00","ends_at":"2030-01-01T02:00:00+01:00"}`),
		"POST check": e.do("POST", "/api/v1/targets/api/check", ""),
	}
	for _, path := range []string{
		"/api/v1/targets", "/api/v1/targets/web", "/api/v1/targets/api/results",
		"/api/v1/targets/api/components", "/api/v1/targets/api/components/db",
		"/api/v1/channels", "/api/v1/channels/ops", "/api/v1/incidents", "/api/v1/notifications",
		"/api/v1/silences", "/api/v1/silences/1", "/api/v1/maintenance", "/api/v1/maintenance/2",
	} {
		rs["GET "+path] = e.do("GET", path, "")
	}
	for name, r := range rs {
		var v any
		decodeInto(t, r.body, &v)
		times := 0
		var walk func(path string, v any)
		walk = func(path string, v any) {
			switch v := v.(type) {
			case map[string]any:
				for k, x := range v {
					walk(path+"."+k, x)
				}
			case []any:
				for _, x := range v {
					walk(path+"[]", x)
				}
			case string:
				if _, err := time.Parse(time.RFC3339Nano, v); err == nil {
					times++
					if !strings.HasSuffix(v, "Z") {
						t.Errorf("%s: %s = %s, not UTC", name, path, v)
					}
				}
			}
		}
		walk("", v)
		if r.status >= http.StatusBadRequest || times == 0 {
			t.Errorf("%s: status %d, %d times: %s", name, r.status, times, r.body)
		}
	}
}
