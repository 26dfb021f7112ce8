package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/lookout/lookout/internal/testkit"
	"github.com/lookout/lookout/internal/uptime"
)

// syncAs posts a sync body and decodes the report of a 200.
func (sv *served) syncAs(t *testing.T, body string, want int) (uptime.SyncReport, problemBody) {
	t.Helper()
	code, b := sv.do(t, http.MethodPost, "/api/v1/sync", body)
	if code != want {
		t.Fatalf("sync: status %d, want %d: %s", code, want, b)
	}
	var rep uptime.SyncReport
	var p problemBody
	if code == http.StatusOK {
		mustJSON(t, b, &rep)
	} else {
		mustJSON(t, b, &p)
	}
	return rep, p
}

type problemBody struct {
	Detail string              `json:"detail"`
	Errors []uptime.FieldError `json:"errors"`
}

func (p problemBody) fields() []string {
	var out []string
	for _, e := range p.Errors {
		out = append(out, e.Field)
	}
	return out
}

func wantLists(t *testing.T, what string, d *uptime.SyncDiff, created, changed, deleted, unchanged []string) {
	t.Helper()
	if d == nil {
		t.Fatalf("%s: no diff", what)
	}
	var ch []string
	for _, c := range d.Changed {
		ch = append(ch, c.Name)
	}
	same := func(a, b []string) bool { return len(a) == 0 && len(b) == 0 || slices.Equal(a, b) }
	if !same(d.Created, created) || !same(ch, changed) || !same(d.Deleted, deleted) || !same(d.Unchanged, unchanged) {
		t.Errorf("%s: created %v changed %v deleted %v unchanged %v; want %v %v %v %v",
			what, d.Created, ch, d.Deleted, d.Unchanged, created, changed, deleted, unchanged)
	}
}

func TestSyncEndpoint(t *testing.T) {
	var hits atomic.Int64
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { hits.Add(1) }))
	defer up.Close()
	sv := serveInProcess(t, defaultHTTPTimeouts)

	first := fmt.Sprintf(`{"owner": "team-a", "targets": [
		{"name": "web", "url": %[1]q, "interval": "1s", "timeout": "500ms", "depends_on": ["db"], "channels": ["ops"],
		 "http": {"headers": {"Authorization": "Bearer s3cret-token"}}},
		{"name": "db", "url": %[1]q, "interval": "1s", "timeout": "500ms"},
		{"name": "cache", "url": %[1]q}
	], "channels": [{"name": "ops", "kind": "webhook", "url": "https://hooks.example.com/lookout"}]}`, up.URL+"/health")
	rep, _ := sv.syncAs(t, first, http.StatusOK)
	wantLists(t, "first sync", rep.Targets, []string{"cache", "db", "web"}, nil, nil, nil)
	wantLists(t, "first sync's channels", rep.Channels, []string{"ops"}, nil, nil, nil)
	if !rep.Prune || rep.DryRun || rep.Owner != "team-a" {
		t.Errorf("report header %+v: want owner team-a, prune by default, not a dry run", rep)
	}

	// The scheduler checks what a sync created, without a restart.
	testkit.WaitFor(t, func() bool {
		code, b := sv.do(t, http.MethodGet, "/api/v1/targets/db/results?limit=1", "")
		return code == http.StatusOK && strings.Contains(string(b), `"status":"up"`)
	}, func() string { return "no result for a synced target" })
	code, b := sv.do(t, http.MethodGet, "/api/v1/targets/web", "")
	if code != http.StatusOK || !strings.Contains(string(b), `"owner":"team-a"`) || strings.Contains(string(b), "s3cret") {
		t.Errorf("GET web after the sync: %d %s; want it labelled owner=team-a, its token hidden", code, b)
	}

	// Sending back what was read (secrets as "***") changes nothing.
	same := strings.Replace(first, "Bearer s3cret-token", uptime.Redacted, 1)
	rep, _ = sv.syncAs(t, same, http.StatusOK)
	wantLists(t, "same sync", rep.Targets, nil, nil, nil, []string{"cache", "db", "web"})
	wantLists(t, "same sync's channels", rep.Channels, nil, nil, nil, []string{"ops"})

	// A target paused by hand stays paused when the file does not say.
	sv.do(t, http.MethodPost, "/api/v1/targets/cache/pause", "")
	rep, _ = sv.syncAs(t, same, http.StatusOK)
	wantLists(t, "sync after a pause", rep.Targets, nil, nil, nil, []string{"cache", "db", "web"})

	// A change shows each field, a secret's hidden; without prune nothing goes.
	changed := fmt.Sprintf(`{"owner": "team-a", "prune": false, "targets": [
		{"name": "web", "url": %[1]q, "interval": "2s", "timeout": "500ms", "depends_on": ["db"], "channels": ["ops"],
		 "labels": {"env": "prod"}, "http": {"headers": {"Authorization": "Bearer other-token"}}}
	]}`, up.URL+"/health")
	rep, _ = sv.syncAs(t, changed, http.StatusOK)
	wantLists(t, "change without prune", rep.Targets, nil, []string{"web"}, nil, nil)
	if rep.Channels != nil {
		t.Errorf("channels left out of the request got a diff: %+v", rep.Channels)
	}
	if len(rep.Targets.Changed) == 1 {
		var got []string
		for _, f := range rep.Targets.Changed[0].Fields {
			got = append(got, fmt.Sprintf("%s: %s → %s sensitive=%v", f.Field, f.Old, f.New, f.Sensitive))
		}
		want := []string{
			`http.headers.Authorization: "***" → "***" sensitive=true`,
			`interval: "1s" → "2s" sensitive=false`,
			`labels.env:  → "prod" sensitive=false`,
		}
		if !slices.Equal(got, want) {
			t.Errorf("changed fields:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
	for _, name := range []string{"db", "cache"} {
		if code, _ := sv.do(t, http.MethodGet, "/api/v1/targets/"+name, ""); code != http.StatusOK {
			t.Errorf("GET %s after a sync without prune: %d", name, code)
		}
	}

	// A dry run of a prune says what would go and leaves it.
	rep, _ = sv.syncAs(t, strings.Replace(changed, `"prune": false`, `"dry_run": true`, 1), http.StatusOK)
	wantLists(t, "dry run", rep.Targets, nil, nil, []string{"cache", "db"}, []string{"web"})
	if code, _ := sv.do(t, http.MethodGet, "/api/v1/targets/db", ""); code != http.StatusOK {
		t.Errorf("a dry run deleted db: GET %d", code)
	}

	// One bad entry: a 400 naming it, and nothing of the rest applied.
	bad := `{"owner": "team-a", "targets": [{"name": "new-one", "url": "https://example.com"},
		{"name": "broken", "url": "ftp://nowhere", "interval": "5s"},
		{"name": "new-one", "url": "https://example.com"}]}`
	_, p := sv.syncAs(t, bad, http.StatusBadRequest)
	if f := p.fields(); !slices.Equal(f, []string{"targets[1].url", "targets[2].name"}) {
		t.Errorf("400 fields %v (%+v), want targets[1].url and targets[2].name", f, p.Errors)
	}
	if code, _ := sv.do(t, http.MethodGet, "/api/v1/targets/new-one", ""); code != http.StatusNotFound {
		t.Errorf("a refused sync created new-one: GET %d", code)
	}

	// A name that is not the owner's: 409, nothing applied.
	sv.do(t, http.MethodPut, "/api/v1/targets/handmade", `{"url": "https://example.com"}`)
	_, p = sv.syncAs(t, `{"owner": "team-b", "targets": [{"name": "new-two", "url": "https://example.com"},
		{"name": "handmade", "url": "https://example.com"}]}`, http.StatusConflict)
	if f := p.fields(); !slices.Equal(f, []string{"targets[1].name"}) {
		t.Errorf("409 fields %v, want targets[1].name", f)
	}
	if code, _ := sv.do(t, http.MethodGet, "/api/v1/targets/new-two", ""); code != http.StatusNotFound {
		t.Errorf("a refused sync created new-two: GET %d", code)
	}

	// Bodies a client gets wrong.
	for body, field := range map[string]string{
		`{"targets": []}`:                    "owner",
		`{"owner": "Team A", "targets": []}`: "owner",
		`{"owner": "x", "targets": [{"name": "a", "labels": {"owner": "y"}}]}`:            "targets[0].labels.owner",
		`{"owner": "x", "targets": [{"name": "a", "url": "https://e.com", "bogus": 1}]}`:  "targets[0].bogus",
		`{"owner": "x", "channels": [{"name": "c", "kind": "pager"}]}`:                    "channels[0].kind",
		`{"owner": "x", "targets": [{"name": "a", "url": "https://e.com", "Name": "b"}]}`: "targets[0].name",
		`{"owner": "x", "owner": "y", "targets": []}`:                                     "owner",
		`{"owner": "x", "targets": {}}`:                                                   "targets",
	} {
		_, p := sv.syncAs(t, body, http.StatusBadRequest)
		if !slices.Contains(p.fields(), field) {
			t.Errorf("%s: fields %v, want %s", body, p.fields(), field)
		}
	}

	// The prune for real, channels too.
	rep, _ = sv.syncAs(t, `{"owner": "team-a", "targets": [], "channels": []}`, http.StatusOK)
	wantLists(t, "prune all", rep.Targets, nil, nil, []string{"cache", "db", "web"}, nil)
	wantLists(t, "prune all channels", rep.Channels, nil, nil, []string{"ops"}, nil)
	code, b = sv.do(t, http.MethodGet, "/api/v1/targets", "")
	var list struct {
		Targets []struct {
			Name string `json:"name"`
		} `json:"targets"`
	}
	mustJSON(t, b, &list)
	if code != http.StatusOK || len(list.Targets) != 1 || list.Targets[0].Name != "handmade" {
		t.Errorf("after pruning team-a: %d %s; want handmade alone", code, b)
	}
}

// BenchmarkSync10k measures POST /api/v1/sync of 10,000 targets against a
// real SQLite store: into an empty Lookout, and again with no change.
func BenchmarkSync10k(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"owner": "bench", "targets": [`)
	for i := range 10000 {
		if i > 0 {
			sb.WriteString(",")
		}
		fmt.Fprintf(&sb, `{"name": "svc-%05d", "url": "http://127.0.0.1:9/health/%d", "interval": "30s", "labels": {"team": "t%d"}}`, i, i, i%10)
	}
	sb.WriteString(`]}`)
	body := sb.String()
	for _, run := range []struct {
		name  string
		again bool
	}{{"create", false}, {"unchanged", true}} {
		b.Run(run.name, func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				sv := serveInProcess(b, defaultHTTPTimeouts)
				if run.again {
					sv.do(b, http.MethodPost, "/api/v1/sync", body)
				}
				b.StartTimer()
				if code, out := sv.do(b, http.MethodPost, "/api/v1/sync", body); code != http.StatusOK {
					b.Fatalf("sync: %d %.300s", code, out)
				}
				b.StopTimer()
				_ = sv.stop()
				b.StartTimer()
			}
		})
	}
}

// The targets and channels of a config file are synced at start as owner
// "config": created, then changed and pruned when the file changes, and a
// bad one stops the start, named.
func TestConfigFileTargets(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer up.Close()
	dir := t.TempDir()
	file, db := filepath.Join(dir, "lookout.yaml"), filepath.Join(dir, "lookout.db")
	load := func(yaml string) config {
		t.Helper()
		if err := os.WriteFile(file, []byte(strings.ReplaceAll(yaml, "UP", up.URL)), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, _, err := loadConfig("serve", []string{"--config", file}, env(nil), io.Discard)
		if err != nil {
			t.Fatalf("load config: %v", err)
		}
		cfg.Addr, cfg.DB = "127.0.0.1:0", db
		return cfg
	}
	serve := func(cfg config) *served {
		return serveInProcess(t, defaultHTTPTimeouts, func(c *config) { *c = cfg })
	}

	sv := serve(load(`
workers: 8
channels:
  - name: ops
    kind: webhook
    url: https://hooks.example.com/lookout
targets:
  - name: web
    url: UP/health
    interval: 1s
    timeout: 500ms
    depends_on: [db]
    channels: [ops]
  - name: db
    url: UP/health
    interval: 1s
    timeout: 500ms
`))
	code, b := sv.do(t, http.MethodGet, "/api/v1/targets/web", "")
	if code != http.StatusOK || !strings.Contains(string(b), `"owner":"config"`) {
		t.Fatalf("GET web: %d %s; want the config's target, labelled owner=config", code, b)
	}
	testkit.WaitFor(t, func() bool {
		code, b := sv.do(t, http.MethodGet, "/api/v1/targets/db/results?limit=1", "")
		return code == http.StatusOK && strings.Contains(string(b), `"status":"up"`)
	}, func() string { return "the config's target db was never checked" })
	if !strings.Contains(sv.logs.String(), `"msg":"config file synced","kind":"targets","owner":"config","created":2`) {
		t.Errorf("no log line of the targets created:\n%s", sv.logs)
	}
	if err := sv.stop(); err != nil {
		t.Fatal(err)
	}

	sv = serve(load(`
channels:
  - name: ops
    kind: webhook
    url: https://hooks.example.com/lookout
targets:
  - name: web
    url: UP/health
    interval: 2s
    channels: [ops]
`))
	if code, _ := sv.do(t, http.MethodGet, "/api/v1/targets/db", ""); code != http.StatusNotFound {
		t.Errorf("db, gone from the file, is still there: GET %d", code)
	}
	if code, b := sv.do(t, http.MethodGet, "/api/v1/targets/web", ""); code != http.StatusOK || !strings.Contains(string(b), `"interval":"2s"`) {
		t.Errorf("web after its interval changed in the file: %d %s", code, b)
	}
	if err := sv.stop(); err != nil {
		t.Fatal(err)
	}

	cfg := load("targets:\n  - name: web\n    url: ftp://nowhere\n")
	err := serveWith(context.Background(), cfg, slog.New(slog.DiscardHandler), defaultHTTPTimeouts)
	if err == nil || !strings.Contains(err.Error(), "targets[0].url") || !strings.Contains(err.Error(), `owner "config"`) {
		t.Errorf("serve with a bad target in its config file: %v; want an error naming targets[0].url", err)
	}
}

// lookout apply against a real Lookout: the plan, the apply, a no-change
// re-apply, and --detailed-exitcode on a change.
func TestApplyAgainstServer(t *testing.T) {
	sv := serveInProcess(t, defaultHTTPTimeouts)
	file := filepath.Join(t.TempDir(), "targets.yaml")
	apply := func(yaml string, args ...string) (int, string) {
		t.Helper()
		if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		var out, errOut strings.Builder
		code := runApply(context.Background(), append([]string{"-f", file, "--server", sv.base}, args...),
			env(nil), strings.NewReader(""), &out, &errOut)
		return code, out.String() + errOut.String()
	}
	const first = `owner: team-a
targets:
  - name: web
    url: https://web.example.com/health
    depends_on: [db]
  - name: db
    url: https://db.example.com/health
`
	if code, out := apply(first, "--dry-run", "--detailed-exitcode"); code != 2 || !strings.Contains(out, "+ target web") {
		t.Errorf("dry run of a new file: exit %d\n%s\nwant 2 and the plan", code, out)
	}
	if code, _ := sv.do(t, http.MethodGet, "/api/v1/targets/web", ""); code != http.StatusNotFound {
		t.Errorf("a dry run created web: GET %d", code)
	}
	if code, out := apply(first); code != 0 || !strings.Contains(out, "Applied: 2 created") {
		t.Errorf("apply: exit %d\n%s", code, out)
	}
	if code, out := apply(first, "--detailed-exitcode"); code != 0 || !strings.Contains(out, "No changes") {
		t.Errorf("re-apply of the same file: exit %d\n%s\nwant 0 and no changes", code, out)
	}
	changed := strings.Replace(first, "    depends_on: [db]\n", "    interval: 10s\n", 1)
	code, out := apply(changed, "--dry-run", "--detailed-exitcode", "--prune")
	if code != 2 || !strings.Contains(out, "~ target web") || !strings.Contains(out, `interval: "30s" → "10s"`) {
		t.Errorf("dry run of a change: exit %d\n%s", code, out)
	}
	if code, out := apply("owner: team-a\ntargets:\n  - name: web\n    url: ftp://x\n"); code != 1 || !strings.Contains(out, "targets[0].url") {
		t.Errorf("apply of a bad target: exit %d\n%s\nwant 1 naming targets[0].url", code, out)
	}
}
