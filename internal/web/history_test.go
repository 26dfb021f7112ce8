package web

import (
	"encoding/csv"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lookout/lookout/internal/uptime"
)

// tallyOf is a tally with the given time by status and some latencies.
func tallyOf(up, down, unknown time.Duration, lat ...time.Duration) uptime.Tally {
	t := uptime.Tally{UpTime: up, DownTime: down, UnknownTime: unknown}
	for _, l := range lat {
		t.AddCheck(uptime.Point{Status: uptime.StatusUp, Latency: l})
	}
	return t
}

func TestUptimeWindows(t *testing.T) {
	e := newEnv(t)
	e.store.addTarget(uptime.Target{Name: "payments", URL: "https://payments.test/health", SLO: 0.999})
	// 1000 minutes known, 2 of them down: twice the budget of 99.9 %.
	e.store.tallies = map[string]uptime.Tally{"payments": tallyOf(998*time.Minute, 2*time.Minute, 5*time.Minute)}
	v := e.do("GET", "/api/v1/targets/payments/uptime?windows=1h,30d,1y", "").must(t, http.StatusOK)
	ws := v["windows"].([]any)
	if len(ws) != 3 || v["slo"] != 0.999 {
		t.Fatalf("body %v", v)
	}
	w := ws[1].(map[string]any)
	budget := w["error_budget"].(map[string]any)
	want := map[string]any{"window": "30d", "uptime": 0.998, "downtime": "2m0s", "unknown": "5m0s", "burn_rate": 2.0000000000000018}
	for k, x := range want {
		if got := w[k]; got != x {
			if f, ok := got.(float64); !ok || k != "burn_rate" || f < 1.999 || f > 2.001 {
				t.Errorf("%s = %v, want %v", k, got, x)
			}
		}
	}
	if budget["allowed"] != "1m0s" || budget["spent"] != "2m0s" || budget["left"] != "-1m0s" || budget["left_ratio"] != -1.0 {
		t.Errorf("error budget %v, want 1m allowed, 2m spent, -1m left", budget)
	}
	now := e.clock.Now()
	wantAsked := [][2]time.Time{{now.Add(-time.Hour), now}, {now.Add(-30 * 24 * time.Hour), now}, {now.Add(-365 * 24 * time.Hour), now}}
	if diff := cmp.Diff(wantAsked, e.store.asked); diff != "" {
		t.Errorf("windows asked of the store (-want +got):\n%s", diff)
	}

	// No known time: null, not 0 %; no slo: no budget.
	e.store.addTarget(uptime.Target{Name: "quiet", URL: "https://quiet.test/"})
	v = e.do("GET", "/api/v1/targets/quiet/uptime", "").must(t, http.StatusOK)
	w = v["windows"].([]any)[0].(map[string]any)
	if w["uptime"] != nil || w["error_budget"] != nil || len(v["windows"].([]any)) != 3 {
		t.Errorf("a target without data or slo: %v", v)
	}
}

func TestUptimeAlignedToDays(t *testing.T) {
	e := newEnv(t) // now is 2025-03-04 05:06:07 UTC
	e.store.addTarget(uptime.Target{Name: "api", URL: "https://api.test/"})
	e.do("GET", "/api/v1/targets/api/uptime?windows=7d,1h&align=day&tz=America/New_York", "").must(t, http.StatusOK)
	ny, _ := time.LoadLocation("America/New_York")
	// 05:06 UTC is 00:06 in New York on March 4th: the window starts on
	// February 26th at midnight there; 1h is not whole days and stays rolling.
	want := [][2]time.Time{{time.Date(2025, 2, 26, 0, 0, 0, 0, ny), e.clock.Now()}, {e.clock.Now().Add(-time.Hour), e.clock.Now()}}
	for i := range want {
		if !e.store.asked[i][0].Equal(want[i][0]) {
			t.Errorf("window %d from %v, want %v", i, e.store.asked[i][0], want[i][0])
		}
	}
}

func TestHistoryBadInput(t *testing.T) {
	e := newEnv(t)
	e.store.addTarget(uptime.Target{Name: "api", URL: "https://api.test/"})
	for _, tc := range []struct{ path, field, detail string }{
		{"/api/v1/targets/api/uptime?windows=24h,3x", "windows", `"3x"`},
		{"/api/v1/targets/api/uptime?windows=0d", "windows", `"0d"`},
		{"/api/v1/targets/api/uptime?windows=20y", "windows", "10y"},
		{"/api/v1/targets/api/uptime?align=week", "align", "day"},
		{"/api/v1/targets/api/uptime?align=day&tz=Mars/Olympus", "tz", "Mars/Olympus"},
		{"/api/v1/targets/api/trend?from=2025-03-04T00:00:00Z&to=2025-03-03T00:00:00Z", "from", "before to"},
		{"/api/v1/targets/api/trend?step=90s", "step", "whole number of minutes"},
		{"/api/v1/targets/api/trend?step=fortnight", "step", `"fortnight"`},
		{"/api/v1/trends?window=36h", "window", "whole days"},
		{"/api/v1/trends?compare=2q", "compare", `"2q"`},
		{"/api/v1/trends?label=team", "label", "name=value"},
	} {
		p := e.do("GET", tc.path, "").problem(t, http.StatusBadRequest)
		wantFieldProblem(t, p, tc.field, tc.detail)
	}
	for _, path := range []string{"/api/v1/targets/nope/uptime", "/api/v1/targets/nope/trend",
		"/api/v1/targets/api/components/db/trend"} {
		e.do("GET", path, "").problem(t, http.StatusNotFound)
	}
}

func TestTrendJSONAndCSV(t *testing.T) {
	e := newEnv(t)
	e.store.addTarget(uptime.Target{Name: "api", URL: "https://api.test/"})
	t0 := time.Date(2025, 3, 3, 0, 0, 0, 0, time.UTC)
	e.store.trends = map[string][]uptime.Rollup{"api": {
		{Start: t0, Tally: tallyOf(time.Hour-90*time.Second, 90*time.Second, 0, 10*time.Millisecond, 20*time.Millisecond, 400*time.Millisecond)},
		{Start: t0.Add(time.Hour), Tally: uptime.Tally{UnknownTime: time.Hour}},
	}}
	e.store.trends["api"][0].Down = 2
	v := e.do("GET", "/api/v1/targets/api/trend?step=1h", "").must(t, http.StatusOK)
	bs := v["buckets"].([]any)
	first, second := bs[0].(map[string]any), bs[1].(map[string]any)
	lat := first["latency"].(map[string]any)
	if first["checks"] != 5.0 || first["failures"] != 2.0 || first["downtime"] != "1m30s" || lat["max_ms"] != 400.0 ||
		lat["p50_ms"].(float64) < 19 || lat["p50_ms"].(float64) > 21 {
		t.Errorf("first bucket %v", first)
	}
	if second["uptime"] != nil || second["latency"] != nil || v["step"] != "1h0m0s" {
		t.Errorf("a bucket without known time: %v (step %v)", second, v["step"])
	}

	r := e.do("GET", "/api/v1/targets/api/trend?step=1h", "", "Accept: text/csv")
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/csv") {
		t.Fatalf("CSV: %d %s", r.status, r.header.Get("Content-Type"))
	}
	rows, err := csv.NewReader(strings.NewReader(string(r.body))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || rows[0][0] != "start" || rows[1][0] != "2025-03-03T00:00:00Z" || rows[1][4] != "90" ||
		rows[1][10] != "400" || rows[2][3] != "" {
		t.Errorf("CSV rows %q", rows)
	}
}

func TestTrendsWorstFirst(t *testing.T) {
	e := newEnv(t) // today is 2025-03-04
	for _, n := range []string{"steady", "slower", "flaky", "new"} {
		e.store.addTarget(uptime.Target{Name: n, URL: "https://" + n + ".test/", Labels: map[string]string{"team": "core"}})
	}
	e.store.addTarget(uptime.Target{Name: "other", URL: "https://other.test/", Labels: map[string]string{"team": "edge"}})
	id := func(name string) int64 { return e.store.targets[name].Target.ID }
	today := time.Date(2025, 3, 4, 0, 0, 0, 0, time.UTC)
	ms := time.Millisecond
	e.store.daily = map[time.Time]map[int64]uptime.Tally{
		today.Add(-7 * 24 * time.Hour): {
			id("steady"): tallyOf(time.Hour, 0, 0, 50*ms), id("slower"): tallyOf(time.Hour, 0, 0, 200*ms),
			id("flaky"): tallyOf(50*time.Minute, 10*time.Minute, 0, 50*ms), id("new"): tallyOf(time.Hour, 0, 0, 50*ms),
			id("other"): tallyOf(0, time.Hour, 0),
		},
		today.Add(-14 * 24 * time.Hour): {
			id("steady"): tallyOf(time.Hour, 0, 0, 50*ms), id("slower"): tallyOf(time.Hour, 0, 0, 100*ms),
			id("flaky"): tallyOf(time.Hour, 0, 0, 50*ms), id("other"): tallyOf(time.Hour, 0, 0),
		},
	}
	v := e.do("GET", "/api/v1/trends?window=7d&label=team=core", "").must(t, http.StatusOK)
	names := members[string](v, "targets", "target")
	if diff := cmp.Diff([]string{"flaky", "slower", "new", "steady"}, names); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
	rows := v["targets"].([]any)
	slower := rows[slices.Index(names, "slower")].(map[string]any)
	if c := slower["p95_change"].(float64); c < 0.9 || c > 1.1 {
		t.Errorf("slower's p95 change %v, want about +100 %%", c)
	}
	if n := rows[slices.Index(names, "new")].(map[string]any); n["uptime_before"] != nil || n["uptime_change"] != nil {
		t.Errorf("a target with no window before: %v", n)
	}
	if v["from"] != "2025-02-25T00:00:00Z" || v["to"] != "2025-03-04T00:00:00Z" || v["compared_from"] != "2025-02-18T00:00:00Z" {
		t.Errorf("windows %v %v %v", v["compared_from"], v["from"], v["to"])
	}
}

func TestSummary(t *testing.T) {
	e := newEnv(t)
	e.store.addTarget(uptime.Target{Name: "a", URL: "https://a.test/"})
	e.store.addTarget(uptime.Target{Name: "b", URL: "https://b.test/"})
	e.store.addTarget(uptime.Target{Name: "c", URL: "https://c.test/", Paused: true})
	e.store.setState("a", uptime.State{Status: uptime.StatusUp})
	e.store.setState("b", uptime.State{Status: uptime.StatusDown})
	e.store.incidents = []uptime.Incident{{ID: 1, Target: "b"}, {ID: 2, Target: "a", ResolvedAt: e.clock.Now()}}
	e.store.fleet = tallyOf(3*time.Hour, time.Hour, 0)
	v := e.do("GET", "/api/v1/summary", "").must(t, http.StatusOK)
	want := map[string]any{"targets": 3.0, "open_incidents": 1.0, "uptime_24h": 0.75,
		"by_status": map[string]any{"up": 1.0, "down": 1.0, "paused": 1.0}, "as_of": "2025-03-04T05:05:07Z"}
	if diff := cmp.Diff(want, v); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
}
