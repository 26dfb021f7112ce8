package web

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
)

// Every route answers OPTIONS with 204 and an Allow listing what it
// routes, HEAD wherever GET, and OPTIONS; every GET route answers HEAD as
// it answers GET, without the body. Both need a read token under /api/v1,
// as GET does. The routes are found by walking the router, so a new one is
// covered without touching this test.
func TestHeadAndOptionsOnEveryRoute(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.Token = "write-secret"
		c.ReadTokens = []string{"read-only"}
	})
	e.token = "write-secret"
	seedComponents(e) // target api, with component db
	e.do("PUT", "/api/v1/channels/ops", `{"kind":"webhook","url":"https://hooks.example/ops"}`).must(t, http.StatusCreated)
	silence := e.do("POST", "/api/v1/silences", `{"matchers":{"team":"x"},"ends_at":"2030-01-01T00:00:00Z"}`).must(t, http.StatusCreated)
	window := e.do("POST", "/api/v1/maintenance", `{"matchers":{"team":"x"},"schedule":"0 3 * * *","duration":"1h"}`).must(t, http.StatusCreated)
	fill := strings.NewReplacer(
		"/targets/{name}", "/targets/api",
		"/components/{component}", "/components/db",
		"/channels/{name}", "/channels/ops",
		"/silences/{id}", "/silences/"+strconv.Itoa(int(silence["id"].(float64))),
		"/maintenance/{id}", "/maintenance/"+strconv.Itoa(int(window["id"].(float64))),
	)

	routed := map[string][]string{} // path → methods, in walk order
	err := chi.Walk(e.s.handler.(chi.Routes), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		route = strings.TrimSuffix(route, "/*")
		if route != "/" {
			route = strings.TrimSuffix(route, "/")
		}
		path := fill.Replace(route)
		if strings.Contains(path, "{") {
			t.Fatalf("route %s has a parameter this test does not fill: add it to the replacer", route)
		}
		routed[path] = append(routed[path], method)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(routed) < 15 {
		t.Fatalf("walked only %d paths", len(routed))
	}

	e.token = "read-only"
	for path, methods := range routed {
		var want []string
		for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
			if slices.Contains(methods, m) {
				want = append(want, m)
				if m == "GET" {
					want = append(want, "HEAD")
				}
			}
		}
		want = append(want, "OPTIONS")
		r := e.do("OPTIONS", path, "")
		if r.status != http.StatusNoContent || len(r.body) != 0 {
			t.Errorf("OPTIONS %s: %d %s, want 204 without a body", path, r.status, r.body)
		}
		if got := r.header.Get("Allow"); got != strings.Join(want, ", ") {
			t.Errorf("OPTIONS %s: Allow %q, want %q", path, got, strings.Join(want, ", "))
		}
		if !slices.Contains(methods, "GET") {
			continue
		}
		get := e.do("GET", path, "")
		if get.status != http.StatusOK || len(get.body) == 0 {
			t.Errorf("GET %s: %d with %d bytes; the test should reach an existing thing", path, get.status, len(get.body))
		}
		head := e.do("HEAD", path, "")
		if head.status != get.status || len(head.body) != 0 {
			t.Errorf("HEAD %s: %d with %d bytes, want %d without a body", path, head.status, len(head.body), get.status)
		}
		if got, want := head.header.Get("Content-Type"), get.header.Get("Content-Type"); got != want {
			t.Errorf("HEAD %s: Content-Type %q, GET's is %q", path, got, want)
		}
	}

	// Without a token, HEAD and OPTIONS under /api/v1 are refused as GET is.
	e.token = ""
	for path, methods := range routed {
		open := !strings.HasPrefix(path, "/api/v1/")
		want := map[string]int{"HEAD": http.StatusOK, "OPTIONS": http.StatusNoContent}
		if !open {
			want = map[string]int{"HEAD": http.StatusUnauthorized, "OPTIONS": http.StatusUnauthorized}
		}
		for _, m := range []string{"HEAD", "OPTIONS"} {
			if m == "HEAD" && !slices.Contains(methods, "GET") {
				continue
			}
			if r := e.do(m, path, ""); r.status != want[m] {
				t.Errorf("%s %s without a token: %d, want %d", m, path, r.status, want[m])
			}
		}
	}
	if r := e.do("OPTIONS", "/no/such/route", ""); r.status != http.StatusNotFound {
		t.Errorf("OPTIONS of no route: %d, want 404", r.status)
	}
}
