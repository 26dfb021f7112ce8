package ui

import (
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lookout/lookout/internal/uptime"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func newTestHandler(f *fakeStore, tweak ...func(*Config)) *Handler {
	cfg := Config{Now: func() time.Time { return now }, PublicURL: "http://lookout.test:8080"}
	for _, fn := range tweak {
		fn(&cfg)
	}
	return New(cfg, f)
}

func get(t *testing.T, h http.Handler, path string, cookies ...*http.Cookie) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, path, nil)
	for _, c := range cookies {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run with -update to write it): %v", err)
	}
	if got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := range max(len(gl), len(wl)) {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Fatalf("%s differs from line %d:\n got: %s\nwant: %s\n(run go test -update after checking the change)", name, i+1, g, w)
			}
		}
	}
}

// allUp is three targets up for 30 days.
func allUp() *fakeStore {
	f := newFake()
	f.add("api", uptime.StatusUp, map[string]string{"team": "core"})
	f.add("payments", uptime.StatusUp, map[string]string{"team": "payments", "public": "yes"})
	f.add("web", uptime.StatusUp, map[string]string{"team": "core", "public": "yes"})
	f.avail["web"] = 0.9995
	return f
}

// oneDown is allUp with payments down: its db component failing, an
// open incident that web is attributed to, and a resolved one.
func oneDown() *fakeStore {
	f := allUp()
	p, _ := f.byName("payments")
	p.State.Status, p.State.LastResult = uptime.StatusDown, uptime.StatusDown
	p.State.Since = now.Add(-25 * time.Minute)
	p.State.LastError, p.State.LastErrorClass = "GET /health: 503 Service Unavailable", uptime.ClassStatus
	f.avail["payments"] = 0.97
	f.components[p.Target.ID] = []uptime.ComponentState{
		{Name: "cache", Status: uptime.StatusUp, Since: now.Add(-48 * time.Hour), LastSeen: now.Add(-12 * time.Second)},
		{Name: "db", Status: uptime.StatusDown, Since: now.Add(-25 * time.Minute), LastSeen: now.Add(-12 * time.Second), Output: "connection refused"},
	}
	f.results[p.Target.ID] = []uptime.Result{
		{StartedAt: now.Add(-12 * time.Second), Status: uptime.StatusDown, Code: 503, Duration: 41 * time.Millisecond, ErrorClass: uptime.ClassStatus, Error: "GET /health: 503 Service Unavailable"},
		{StartedAt: now.Add(-42 * time.Second), Status: uptime.StatusDown, Code: 503, Duration: 38 * time.Millisecond, ErrorClass: uptime.ClassStatus, Error: "GET /health: 503 Service Unavailable"},
	}
	f.incidents = []uptime.Incident{
		{ID: 7, Target: "web", StartedAt: now.Add(-24 * time.Minute), DetectedAt: now.Add(-23 * time.Minute), ResolvedAt: now.Add(-20 * time.Minute), Failures: 8, Cause: "payments", AlertsSent: 1, LastError: "GET /: 502 Bad Gateway", ErrorClass: uptime.ClassStatus},
		{ID: 6, Target: "payments", StartedAt: now.Add(-25 * time.Minute), DetectedAt: now.Add(-24 * time.Minute), Failures: 50, AlertsSent: 2, LastError: "GET /health: 503 Service Unavailable", ErrorClass: uptime.ClassStatus},
		{ID: 3, Target: "api", StartedAt: now.Add(-50 * time.Hour), DetectedAt: now.Add(-50 * time.Hour), ResolvedAt: now.Add(-49*time.Hour - 46*time.Minute), Failures: 28, AlertsSent: 2, LastError: "dial tcp: connection refused", ErrorClass: uptime.ClassRefused},
	}
	return f
}

func TestGoldenPages(t *testing.T) {
	for _, tc := range []struct {
		name, path string
		store      func() *fakeStore
	}{
		{"overview_all_up.html", "/", allUp},
		{"overview_one_down.html", "/", oneDown},
		{"overview_empty.html", "/", newFake},
		{"target_down.html", "/targets/payments", oneDown},
		{"incidents.html", "/incidents", oneDown},
		{"status.html", "/status", oneDown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newTestHandler(tc.store(), func(c *Config) { c.StatusLabel = Label{"public", "yes"}; c.StatusTitle = "Example status" })
			w := get(t, h, tc.path)
			if w.Code != http.StatusOK {
				t.Fatalf("GET %s: %d", tc.path, w.Code)
			}
			golden(t, tc.name, w.Body.String())
		})
	}
}

func TestOverview(t *testing.T) {
	h := newTestHandler(oneDown())
	body := get(t, h, "/").Body.String()
	// Down first, then the rest by name.
	rowRE := regexp.MustCompile(`<tr><th scope="row"><a href="/targets/([a-z]+)">`)
	var names []string
	for _, m := range rowRE.FindAllStringSubmatch(body, -1) {
		names = append(names, m[1])
	}
	if strings.Join(names, ",") != "payments,api,web" {
		t.Errorf("rows in order %v, want payments (down) first, then api, web", names)
	}
	for _, want := range []string{`<span class="n">1</span> down`, `href="/incidents/6"`, "Open incidents"} {
		if !strings.Contains(body, want) {
			t.Errorf("overview lacks %q", want)
		}
	}
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"?q=pay", []string{"payments"}},
		{"?label=team%3Dcore", []string{"api", "web"}},
		{"?status=up", []string{"api", "web"}},
		{"?status=down&label=team%3Dcore", nil},
	} {
		body := get(t, h, "/"+tc.query).Body.String()
		var got []string
		for _, m := range rowRE.FindAllStringSubmatch(body, -1) {
			got = append(got, m[1])
		}
		if strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("%s: rows %v, want %v", tc.query, got, tc.want)
		}
	}
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Accept-Encoding", "gzip")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Header().Get("Content-Encoding") != "gzip" || w.Body.Len() >= len(body) {
		t.Errorf("asked for gzip, the overview came %q in %d bytes (%d plain)", w.Header().Get("Content-Encoding"), w.Body.Len(), len(body))
	}
	if w := httptest.NewRecorder(); true {
		h.ServeHTTP(w, httptest.NewRequest(http.MethodHead, "/targets/payments", nil))
		if w.Code != http.StatusOK {
			t.Errorf("HEAD of a page: %d", w.Code)
		}
	}
	frag := get(t, h, "/?fragment=1").Body.String()
	if strings.Contains(frag, "<html") || !strings.Contains(frag, `href="/targets/payments"`) {
		t.Errorf("the refresh fragment is a whole page or lacks the rows:\n%.300s", frag)
	}
}

func TestOverviewPages(t *testing.T) {
	f := newFake()
	for i := range 250 {
		st := uptime.StatusUp
		if i%100 == 7 {
			st = uptime.StatusDown
		}
		f.add(fmt.Sprintf("t%03d", i), st, nil)
	}
	h := newTestHandler(f)
	seen := map[string]bool{}
	path, pages := "/", 0
	link := regexp.MustCompile(`<a href="([^"]+)" rel="next">`)
	row := regexp.MustCompile(`<tr><th scope="row"><a href="/targets/([a-z0-9]+)">`)
	for path != "" {
		pages++
		body := get(t, h, path).Body.String()
		rows := row.FindAllStringSubmatch(body, -1)
		if pages == 1 && (len(rows) != overviewRows || rows[0][1] != "t007" || rows[1][1] != "t107" || rows[2][1] != "t207") {
			t.Fatalf("first page: %d rows starting %v, want %d starting with the 3 down ones", len(rows), rows[:3], overviewRows)
		}
		for _, m := range rows {
			if seen[m[1]] {
				t.Errorf("%s shown twice", m[1])
			}
			seen[m[1]] = true
		}
		path = ""
		if m := link.FindStringSubmatch(body); m != nil {
			path = strings.ReplaceAll(m[1], "&amp;", "&")
		}
	}
	if len(seen) != 250 || pages != 3 {
		t.Errorf("%d targets over %d pages, want 250 over 3", len(seen), pages)
	}
}

func TestAuth(t *testing.T) {
	h := newTestHandler(oneDown(), func(c *Config) { c.Auth = fakeAuth{} })
	w := get(t, h, "/targets/payments?range=7d")
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/login?next="+url.QueryEscape("/targets/payments?range=7d") {
		t.Fatalf("no token: %d to %q, want 303 to the sign-in page", w.Code, w.Header().Get("Location"))
	}
	post := func(form url.Values, origin string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if origin != "" {
			r.Header.Set("Origin", origin)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	if w := post(url.Values{"token": {"nope"}, "next": {"/incidents"}}, ""); w.Code != http.StatusUnauthorized || len(w.Result().Cookies()) != 0 {
		t.Errorf("a wrong token: %d, cookies %v", w.Code, w.Result().Cookies())
	}
	if w := post(url.Values{"token": {"read"}, "next": {"/incidents"}}, "http://evil.test"); w.Code != http.StatusForbidden {
		t.Errorf("a sign-in posted from another site: %d, want 403", w.Code)
	}
	w = post(url.Values{"token": {"read"}, "next": {"//evil.test/x"}}, "http://example.com")
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/" || len(w.Result().Cookies()) != 1 {
		t.Fatalf("sign in: %d to %q, want 303 to / (never off the site)", w.Code, w.Header().Get("Location"))
	}
	read := w.Result().Cookies()[0]
	body := get(t, h, "/targets/payments", read).Body.String()
	if strings.Contains(body, `data-action="pause"`) || !strings.Contains(body, "Sign out") {
		t.Errorf("a read token sees the buttons, or no sign-out")
	}
	body = get(t, h, "/targets/payments", &http.Cookie{Name: "t", Value: "write"}).Body.String()
	if !strings.Contains(body, `data-action="pause"`) || !strings.Contains(body, `data-csrf="csrf-of-cookie"`) {
		t.Errorf("the write token's page lacks the buttons or the CSRF token")
	}
	// The status page and badges are public.
	h = newTestHandler(oneDown(), func(c *Config) { c.Auth = fakeAuth{}; c.StatusLabel = Label{"public", "yes"} })
	if w := get(t, h, "/status"); w.Code != http.StatusOK {
		t.Errorf("status page without a token: %d", w.Code)
	}
}

func TestStatusPageAndBadges(t *testing.T) {
	off := newTestHandler(oneDown())
	for _, p := range []string{"/status", "/badge/web/status.svg", "/badge/web/uptime/30d.svg"} {
		if w := get(t, off, p); w.Code != http.StatusNotFound {
			t.Errorf("%s with no status page configured: %d, want 404", p, w.Code)
		}
	}
	h := newTestHandler(oneDown(), func(c *Config) { c.StatusLabel = Label{"public", "yes"} })
	for _, tc := range []struct {
		path   string
		status int
		want   string
	}{
		{"/badge/web/status.svg", 200, ">up</text>"},
		{"/badge/payments/status.svg", 200, ">down</text>"},
		{"/badge/web/uptime/30d.svg", 200, ">99.95%</text>"},
		{"/badge/payments/uptime/24h.svg", 200, ">97.01%</text>"},
		{"/badge/api/status.svg", 404, ""},
		{"/badge/nope/status.svg", 404, ""},
		{"/badge/web/uptime/30x.svg", 404, ""},
	} {
		w := get(t, h, tc.path)
		if w.Code != tc.status || !strings.Contains(w.Body.String(), tc.want) {
			t.Errorf("%s: %d %.200s, want %d with %q", tc.path, w.Code, w.Body.String(), tc.status, tc.want)
		}
		if tc.status == 200 && w.Header().Get("Content-Type") != "image/svg+xml" {
			t.Errorf("%s: Content-Type %q", tc.path, w.Header().Get("Content-Type"))
		}
	}
	body := get(t, h, "/status").Body.String()
	if strings.Contains(body, "api") || strings.Contains(body, "503") || strings.Contains(body, "secret") {
		t.Errorf("the status page shows a target without the label, an error or a secret")
	}
	if !strings.Contains(body, "Partial outage") {
		t.Errorf("the status page does not say a public service is down")
	}
}

func TestTargetPage(t *testing.T) {
	h := newTestHandler(oneDown())
	if w := get(t, h, "/targets/nope"); w.Code != http.StatusNotFound {
		t.Errorf("unknown target: %d", w.Code)
	}
	for _, r := range chartRanges {
		body := get(t, h, "/targets/payments?range="+r.Name).Body.String()
		if !strings.Contains(body, `<polyline class="p95"`) || !strings.Contains(body, `href="?range=`+r.Name+`#latency-h" aria-current="true"`) {
			t.Errorf("range %s: no chart, or the range not marked", r.Name)
		}
	}
	body := get(t, h, "/targets/payments").Body.String()
	if strings.Contains(body, "user:secret@") || !strings.Contains(body, "***") {
		t.Errorf("the configuration shows the URL's password")
	}
	if w := get(t, h, "/incidents/6"); w.Code != 200 || !strings.Contains(w.Body.String(), `<a href="/targets/web">web</a>`) {
		t.Errorf("incident 6: %d, or web is not among its dependents", w.Code)
	}
	if w := get(t, h, "/incidents/5"); w.Code != http.StatusNotFound {
		t.Errorf("a missing incident: %d", w.Code)
	}
}

// A page answers OPTIONS as the API does, 204 and Allow, and a method it
// does not take with 405 and Allow.
func TestOptions(t *testing.T) {
	h := newTestHandler(oneDown(), func(c *Config) { c.Auth = fakeAuth{}; c.StatusLabel = Label{"public", "yes"} })
	for _, tc := range []struct{ path, allow string }{
		{"/", "GET, HEAD, OPTIONS"},
		{"/targets/payments", "GET, HEAD, OPTIONS"},
		{"/incidents/6", "GET, HEAD, OPTIONS"},
		{"/status", "GET, HEAD, OPTIONS"},
		{"/login", "GET, HEAD, POST, OPTIONS"},
		{"/logout", "POST, OPTIONS"},
	} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodOptions, tc.path, nil))
		if w.Code != http.StatusNoContent || w.Body.Len() != 0 || w.Header().Get("Allow") != tc.allow {
			t.Errorf("OPTIONS %s: %d, Allow %q, %d bytes; want 204, %q, none", tc.path, w.Code, w.Header().Get("Allow"), w.Body.Len(), tc.allow)
		}
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodDelete, "/targets/payments", nil))
	if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != "GET, HEAD, OPTIONS" {
		t.Errorf("DELETE of a page: %d, Allow %q; want 405, GET, HEAD, OPTIONS", w.Code, w.Header().Get("Allow"))
	}
}
