package web

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lookout/lookout/internal/testkit"
	"github.com/lookout/lookout/internal/uptime"
)

type fieldErr = uptime.FieldError

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// env is a running server over fakes.
type env struct {
	t     *testing.T
	srv   *httptest.Server
	s     *Server
	store *fakeStore
	sched *fakeScheduler
	notif *fakeNotifier
	clock *testkit.Clock
	token string // sent as a bearer token when set
}

func newEnv(t *testing.T, mod ...func(*Config)) *env {
	t.Helper()
	c := testkit.NewClock(time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC))
	cfg := Config{Validate: testValidate, ValidateMaintenance: testValidateMaintenance, Now: c.Now, Version: "v1.2.3"}
	for _, m := range mod {
		m(&cfg)
	}
	e := &env{t: t, clock: c, store: newFakeStore(c.Now), sched: &fakeScheduler{}, notif: &fakeNotifier{}}
	e.s = New(cfg, e.store, e.sched, e.notif)
	e.srv = httptest.NewServer(e.s)
	t.Cleanup(e.srv.Close)
	return e
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request. body is sent as application/json unless a
// Content-Type is given in hdr ("Name: value" pairs).
func (e *env) do(method, path, body string, hdr ...string) response {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if e.token != "" {
		req.Header.Set("Authorization", "Bearer "+e.token)
	}
	for _, h := range hdr {
		k, v, _ := strings.Cut(h, ": ")
		req.Header.Set(k, v)
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: b}
}

// must checks the status and decodes the body into a generic value.
func (r response) must(t *testing.T, status int) map[string]any {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body: %s", r.status, status, r.body)
	}
	var v map[string]any
	if len(r.body) > 0 {
		if err := json.Unmarshal(r.body, &v); err != nil {
			t.Fatalf("body is not a JSON object: %v: %s", err, r.body)
		}
	}
	return v
}

// problemOf checks a problem+json response and returns it.
func (r response) problem(t *testing.T, status int) problem {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body: %s", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type %q, want application/problem+json", ct)
	}
	var p problem
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatalf("problem body: %v: %s", err, r.body)
	}
	if p.Type != "about:blank" || p.Status != status || p.Title == "" {
		t.Fatalf("malformed problem: %+v", p)
	}
	return p
}

func fields(p problem) []string {
	var out []string
	for _, f := range p.Errors {
		out = append(out, f.Field)
	}
	return out
}

// wantFieldProblem fails unless the first error of p on field has a
// problem that mentions detail.
func wantFieldProblem(t *testing.T, p problem, field, detail string) {
	t.Helper()
	i := slices.IndexFunc(p.Errors, func(f fieldErr) bool { return f.Field == field })
	if i < 0 {
		t.Fatalf("errors %v do not name %q: %+v", fields(p), field, p)
	}
	if !strings.Contains(p.Errors[i].Problem, detail) {
		t.Errorf("problem %q does not mention %q", p.Errors[i].Problem, detail)
	}
}

// members returns the key member of each item of the listing v[list]:
// the ids or names of one page, in order.
func members[T any](v map[string]any, list, key string) []T {
	var out []T
	for _, it := range v[list].([]any) {
		out = append(out, it.(map[string]any)[key].(T))
	}
	return out
}

// walkPages GETs path (which has a query) page by page, following
// next_cursor, and returns members of every page and how many pages there
// were. It stops after 20 pages.
func walkPages[T any](t *testing.T, e *env, path, list, key string) ([]T, int) {
	t.Helper()
	var all []T
	cursor := ""
	for pages := 1; ; pages++ {
		v := e.do("GET", path+"&cursor="+cursor, "").must(t, http.StatusOK)
		all = append(all, members[T](v, list, key)...)
		if cursor = v["next_cursor"].(string); cursor == "" || pages == 20 {
			return all, pages
		}
	}
}

// golden compares got with testdata/name.golden, rewriting it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, got, "", "  "); err != nil {
		t.Fatalf("golden %s: %v", name, err)
	}
	buf.WriteByte('\n')
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), buf.String()); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", path, diff)
	}
}

// seed stores a target directly.
func (e *env) seed(tg uptime.Target) uptime.Target {
	e.t.Helper()
	tg.Normalize()
	if err := e.store.CreateTarget(e.t.Context(), &tg); err != nil {
		e.t.Fatal(err)
	}
	return tg
}

func decodeInto(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
}
