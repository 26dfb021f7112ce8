package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lookout/lookout/internal/notify"
	"github.com/lookout/lookout/internal/probe"
	"github.com/lookout/lookout/internal/uptime"
)

// applyFileCases are the parser's table: a file and either the JSON it
// becomes (owner, then targets and channels, "absent" when left out) or
// a part of the error it gets. They seed FuzzApplyFile too.
var applyFileCases = []struct {
	name, in string
	owner    string
	targets  string
	channels string
	err      string
}{
	{
		name: "yaml object",
		in: `owner: team-a
targets:
  - name: api
    url: https://api.example.test/health
    interval: 30s
    failure_threshold: 2
    paused: false
    labels: {env: prod, port: "8080", legacy: "no", region: no}
    http:
      expect_status: 200
      headers: {Authorization: Bearer x}
channels:
  - name: ops
    kind: webhook
    url: https://hooks.example.test/
`,
		owner:    "team-a",
		targets:  `[{"failure_threshold":2,"http":{"expect_status":200,"headers":{"Authorization":"Bearer x"}},"interval":"30s","labels":{"env":"prod","legacy":"no","port":"8080","region":"no"},"name":"api","paused":false,"url":"https://api.example.test/health"}]`,
		channels: `[{"kind":"webhook","name":"ops","url":"https://hooks.example.test/"}]`,
	},
	{
		name:     "json object",
		in:       `{"owner": "team-b", "targets": [{"name": "db", "kind": "postgres", "slo": 0.999, "tls_expiry_warn": [30, 7]}], "channels": []}`,
		owner:    "team-b",
		targets:  `[{"kind":"postgres","name":"db","slo":0.999,"tls_expiry_warn":[30,7]}]`,
		channels: `[]`,
	},
	{
		name:     "json that YAML does not read",
		in:       "{\n\t\"targets\": [{\"name\": \"smile\", \"url\": \"https:\\/\\/x.test\\/\\ud83d\\ude00\", \"slo\": 0.9990}]\n}",
		targets:  `[{"name":"smile","slo":0.9990,"url":"https://x.test/😀"}]`,
		channels: "absent",
	},
	{
		name:     "bare list",
		in:       "- name: a\n  url: https://a.test\n- {name: b, kind: tcp, url: b.test:22}\n",
		targets:  `[{"name":"a","url":"https://a.test"},{"kind":"tcp","name":"b","url":"b.test:22"}]`,
		channels: "absent",
	},
	{
		name:     "absent targets",
		in:       "owner: x\nchannels: [{name: c, kind: webhook}]\n",
		owner:    "x",
		targets:  "absent",
		channels: `[{"kind":"webhook","name":"c"}]`,
	},
	{
		name:     "empty targets",
		in:       "owner: x\ntargets: []\n",
		owner:    "x",
		targets:  `[]`,
		channels: "absent",
	},
	{
		name: "defaults key at the top",
		in:   "defaults: &d {interval: 1m, labels: {team: a}}\n",
		err:  `unknown key "defaults" at the top of the file`,
	},
	{
		name:     "merge keys",
		in:       "targets:\n  - &base {name: a, interval: 1m, labels: {team: a}}\n  - <<: *base\n    name: b\n",
		targets:  `[{"interval":"1m","labels":{"team":"a"},"name":"a"},{"interval":"1m","labels":{"team":"a"},"name":"b"}]`,
		channels: "absent",
	},
	{name: "unknown keys", in: "owner: x\ntarget: []\nchanels: []\n", err: `unknown key "chanels", "target" at the top of the file: it may hold only owner, targets and channels`},
	{name: "non-string key", in: "targets:\n  - name: a\n    http:\n      headers:\n        200: ok\n", err: `line 5: targets[0].http.headers: the key 200 (!!int) is not a string; quote it`},
	{name: "null key", in: "targets: [{~: a}]", err: `line 1: targets[0]: the key ~ (!!null) is not a string; quote it`},
	{name: "duplicate key", in: "targets:\n  - name: a\n    name: b\n", err: `line 3: targets[0].name appears twice; keep one`},
	{name: "duplicate json key", in: `{"targets": [{"labels": {"a": "1", "a": "2"}, "url": "\/"}]}`, err: `targets[0].labels.a appears twice; keep one`},
	{name: "empty file", in: "", err: "the file is empty"},
	{name: "only an owner", in: "owner: team-a\n", err: "the file has neither targets: nor channels:, so there is nothing to sync"},
	{name: "empty object", in: "{}", err: "the file has neither targets: nor channels:"},
	{name: "only a comment", in: "# nothing yet\n", err: "the file is empty"},
	{name: "garbage", in: "targets: [unclosed\n", err: "not valid YAML or JSON: yaml: line 1: did not find expected ',' or ']'"},
	{name: "binary garbage", in: "\x00\x01\xff", err: "not valid YAML or JSON"},
	{name: "a string", in: "hello", err: "the file holds a string: it must hold an object with owner, targets and channels, or a list of targets"},
	{name: "targets not a list", in: "targets: {name: a}", err: "targets must be a list (write targets: [] for none), not an object"},
	{name: "null targets", in: "targets:\n", err: "targets must be a list (write targets: [] for none), not nothing (null)"},
	{name: "target not an object", in: "- a\n", err: "targets[0] must be an object (a target), not a string"},
	{name: "channel not an object", in: "channels: [[]]", err: "channels[0] must be an object (a channel), not a list"},
	{name: "owner not a string", in: "owner: 12\ntargets: []", err: "owner must be a name"},
	{name: "several documents", in: "targets: []\n---\ntargets: []\n", err: "several YAML documents"},
	{name: "infinity", in: "targets: [{slo: .inf}]", err: "line 1: targets[0].slo: .inf is not a number JSON can hold; quote it"},
	{name: "custom tag", in: "targets: [!thing {a: 1}]", err: "targets[0]: the tag !thing is not supported"},
	{name: "alias bomb", in: "a: &a [1, 1, 1, 1, 1, 1, 1, 1]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e]\n", err: "too much"},
	{name: "recursive alias", in: "targets: &t [*t]", err: "too much"},
}

// rawList shows a parsed list as the JSON the request carries, or "absent".
func rawList(l []json.RawMessage) string {
	if l == nil {
		return "absent"
	}
	b, err := json.Marshal(l)
	if err != nil {
		return "unmarshalable: " + err.Error()
	}
	return string(b)
}

func TestApplyParseFile(t *testing.T) {
	for _, tc := range applyFileCases {
		t.Run(tc.name, func(t *testing.T) {
			f, err := parseApplyFile([]byte(tc.in))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error = %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if f.Owner != tc.owner {
				t.Errorf("owner = %q, want %q", f.Owner, tc.owner)
			}
			if got := rawList(f.Targets); got != tc.targets {
				t.Errorf("targets =\n%s\nwant\n%s", got, tc.targets)
			}
			if got := rawList(f.Channels); got != tc.channels {
				t.Errorf("channels =\n%s\nwant\n%s", got, tc.channels)
			}
		})
	}
}

// FuzzApplyFile: no input makes the parser panic, and whatever it accepts
// is objects that encode as JSON and read back the same.
func FuzzApplyFile(f *testing.F) {
	for _, tc := range applyFileCases {
		f.Add([]byte(tc.in))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := parseApplyFile(b)
		if err != nil {
			return
		}
		for _, l := range [][]json.RawMessage{file.Targets, file.Channels} {
			for _, o := range l {
				var m map[string]any
				if err := json.Unmarshal(o, &m); err != nil || m == nil {
					t.Fatalf("%q became %s, which is not a JSON object: %v", b, o, err)
				}
				again, err := json.Marshal(m)
				if err != nil {
					t.Fatal(err)
				}
				var m2 map[string]any
				if err := json.Unmarshal(again, &m2); err != nil {
					t.Fatalf("%s does not read back: %v", again, err)
				}
			}
		}
		if _, err := json.Marshal(syncRequest{Owner: file.Owner, Targets: file.Targets, Channels: file.Channels}); err != nil {
			t.Fatalf("%q: the request does not encode: %v", b, err)
		}
	})
}

// planReport is a dry run's report of one of each change, sensitive and
// unset values included.
func planReport() *uptime.SyncReport {
	return &uptime.SyncReport{
		Owner: "team-a", DryRun: true, Prune: true,
		Targets: &uptime.SyncDiff{
			Created: []string{"api"},
			Changed: []uptime.SyncChange{{Name: "web", Fields: []uptime.FieldChange{
				{Field: "http.headers.Authorization", Old: json.RawMessage(`"***"`), New: json.RawMessage(`"***"`), Sensitive: true},
				{Field: "interval", Old: json.RawMessage(`"30s"`), New: json.RawMessage(`"10s"`)},
				{Field: "labels.env", New: json.RawMessage(`"prod"`)},
				{Field: "labels.team", Old: json.RawMessage(`"web"`)},
				{Field: "tls_expiry_warn", Old: json.RawMessage(`[21, 7, 1]`), New: json.RawMessage(`[30,7]`)},
			}}},
			Deleted:   []string{"old"},
			Unchanged: []string{"a", "b", "c", "d", "e", "f"},
		},
		Channels: &uptime.SyncDiff{
			Created:   []string{"ops-slack"},
			Unchanged: []string{"pager"},
		},
	}
}

func TestApplyPlanDryRun(t *testing.T) {
	var b strings.Builder
	printPlan(&b, planReport())
	want := `Lookout will sync owner "team-a" (dry run: nothing is applied):

  + target api
  ~ target web
      http.headers.Authorization: (sensitive value changed)
      interval: "30s" → "10s"
      labels.env: (unset) → "prod"
      labels.team: "web" → (unset)
      tls_expiry_warn: [21,7,1] → [30,7]
  - target old
  + channel ops-slack

Plan: 2 to create, 1 to change, 1 to delete, 7 unchanged.
`
	if b.String() != want {
		t.Errorf("plan:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestApplyPlanApplied(t *testing.T) {
	r := planReport()
	r.DryRun, r.Prune = false, false
	r.Targets.Deleted = nil
	var b strings.Builder
	printPlan(&b, r)
	want := `Lookout synced owner "team-a":

  + target api
  ~ target web
      http.headers.Authorization: (sensitive value changed)
      interval: "30s" → "10s"
      labels.env: (unset) → "prod"
      labels.team: "web" → (unset)
      tls_expiry_warn: [21,7,1] → [30,7]
  + channel ops-slack

Applied: 2 created, 1 changed, 7 unchanged.
`
	if b.String() != want {
		t.Errorf("plan:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestApplyPlanNoChanges(t *testing.T) {
	for _, tc := range []struct {
		r    uptime.SyncReport
		want string
	}{
		{uptime.SyncReport{Owner: "team-a", Targets: &uptime.SyncDiff{Unchanged: []string{"a", "b"}}, Channels: &uptime.SyncDiff{Unchanged: []string{"c"}}},
			`No changes: the file matches owner "team-a"'s 3 targets and channels.` + "\n"},
		{uptime.SyncReport{Owner: "x", DryRun: true, Prune: true, Targets: &uptime.SyncDiff{Unchanged: []string{"a"}}},
			`No changes: the file matches owner "x"'s 1 target.` + "\n"},
		{uptime.SyncReport{Owner: "x", Channels: &uptime.SyncDiff{}},
			`No changes: the file matches owner "x"'s 0 channels.` + "\n"},
	} {
		var b strings.Builder
		printPlan(&b, &tc.r)
		if b.String() != tc.want {
			t.Errorf("got %q, want %q", b.String(), tc.want)
		}
	}
}

// syncCall is what a test server saw of one POST /api/v1/sync.
type syncCall struct {
	method, path, contentType, auth string
	body                            map[string]json.RawMessage
}

// syncServer answers POST /api/v1/sync with status, contentType and body,
// and records the request it got.
func syncServer(t *testing.T, status int, contentType, body string) (*httptest.Server, *syncCall) {
	t.Helper()
	call := &syncCall{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		call.method, call.path = r.Method, r.URL.Path
		call.contentType, call.auth = r.Header.Get("Content-Type"), r.Header.Get("Authorization")
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &call.body); err != nil {
			t.Errorf("the request body is not a JSON object: %v\n%s", err, b)
		}
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, call
}

// runApplyTest runs `lookout apply` with args, the environment vars and
// stdin, and returns its exit code, stdout and stderr.
func runApplyTest(t *testing.T, vars map[string]string, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := runApply(context.Background(), args, env(vars), strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

// writeApplyFile writes a file of targets for a test and returns its path.
func writeApplyFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "targets.yaml")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// body fields of a recorded request, as the JSON text sent.
func (c *syncCall) field(name string) string {
	v, ok := c.body[name]
	if !ok {
		return "absent"
	}
	return string(v)
}

func TestApplySendsTheFileAndPrintsThePlan(t *testing.T) {
	rep, _ := json.Marshal(planReport())
	srv, call := syncServer(t, http.StatusOK, "application/json", string(rep))
	file := writeApplyFile(t, "owner: team-a\ntargets:\n  - name: api\n    url: https://api.test\n    interval: 10s\n")
	vars := map[string]string{"LOOKOUT_SERVER": srv.URL + "/", "LOOKOUT_API_TOKEN": "s3cret"}

	code, out, errs := runApplyTest(t, vars, "", "-f", file, "--dry-run")
	if code != 0 || errs != "" {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	if call.method != http.MethodPost || call.path != "/api/v1/sync" || call.contentType != "application/json" || call.auth != "Bearer s3cret" {
		t.Errorf("request %s %s, Content-Type %q, Authorization %q", call.method, call.path, call.contentType, call.auth)
	}
	for name, want := range map[string]string{
		"owner":    `"team-a"`,
		"prune":    "false",
		"dry_run":  "true",
		"targets":  `[{"interval":"10s","name":"api","url":"https://api.test"}]`,
		"channels": "absent",
	} {
		if got := call.field(name); got != want {
			t.Errorf("request %s = %s, want %s", name, got, want)
		}
	}
	if !strings.HasPrefix(out, `Lookout will sync owner "team-a" (dry run: nothing is applied):`) ||
		!strings.Contains(out, "\n      labels.env: (unset) → \"prod\"\n") ||
		!strings.HasSuffix(out, "\nPlan: 2 to create, 1 to change, 1 to delete, 7 unchanged.\n") {
		t.Errorf("stdout:\n%s", out)
	}

	code, _, _ = runApplyTest(t, vars, "", "-f", file, "--dry-run", "--detailed-exitcode")
	if code != 2 {
		t.Errorf("--detailed-exitcode with changes: exit %d, want 2", code)
	}
}

func TestApplyOwnerFlagPruneAndStdin(t *testing.T) {
	srv, call := syncServer(t, http.StatusOK, "application/json",
		`{"owner":"team-b","dry_run":false,"prune":true,"targets":{"created":[],"changed":[],"deleted":[],"unchanged":["a","b"]},"channels":{"created":[],"changed":[],"deleted":[],"unchanged":[]}}`)
	code, out, errs := runApplyTest(t, nil, "owner: team-a\ntargets: []\nchannels: []\n",
		"-f", "-", "--owner", "team-b", "--prune", "--server", srv.URL, "--detailed-exitcode")
	if code != 0 || errs != "" {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	for name, want := range map[string]string{"owner": `"team-b"`, "prune": "true", "dry_run": "false", "targets": "[]", "channels": "[]"} {
		if got := call.field(name); got != want {
			t.Errorf("request %s = %s, want %s", name, got, want)
		}
	}
	if call.auth != "" {
		t.Errorf("Authorization %q sent without LOOKOUT_API_TOKEN", call.auth)
	}
	if want := "No changes: the file matches owner \"team-b\"'s 2 targets and channels.\n"; out != want {
		t.Errorf("stdout %q, want %q", out, want)
	}
}

func TestApplyServerErrors(t *testing.T) {
	file := writeApplyFile(t, "- name: api\n  url: https://api.test\n")
	for _, tc := range []struct {
		name        string
		status      int
		contentType string
		body        string
		stderr      string
	}{
		{"bad request", 400, "application/problem+json",
			`{"type":"about:blank","title":"Bad Request","status":400,"detail":"the request has invalid fields","errors":[{"field":"targets[3].url","problem":"is required"},{"field":"targets[4].interval","problem":"must be at least 1s"}]}`,
			"lookout apply: Bad Request: the request has invalid fields\n  targets[3].url: is required\n  targets[4].interval: must be at least 1s\n"},
		{"unauthorized", 401, "application/problem+json",
			`{"type":"about:blank","title":"Unauthorized","status":401,"detail":"a valid API token is required"}`,
			"lookout apply: Unauthorized: a valid API token is required\n  set LOOKOUT_API_TOKEN to an API token of the server at SERVER\n"},
		{"forbidden", 403, "application/problem+json",
			`{"type":"about:blank","title":"Forbidden","status":403,"detail":"this token is read-only"}`,
			"lookout apply: Forbidden: this token is read-only\n  the token in LOOKOUT_API_TOKEN may not change targets: use one that may\n"},
		{"conflict", 409, "application/problem+json",
			`{"type":"about:blank","title":"Conflict","status":409,"detail":"target \"api\" belongs to owner \"team-b\""}`,
			"lookout apply: Conflict: target \"api\" belongs to owner \"team-b\"\n"},
		{"not a lookout", 404, "text/plain", "404 page not found\n",
			"lookout apply: SERVER answered 404 Not Found: 404 page not found\n  the server at SERVER has no /api/v1/sync: upgrade it, or check --server\n"},
		{"another owner's report", 200, "application/json", `{"owner":"team-b","targets":{"unchanged":["a"]}}`,
			"lookout apply: SERVER answered with a report on owner \"team-b\", not \"team-a\"; is it a Lookout server?\n"},
		{"not a report", 200, "text/html", "<html>hello</html>",
			"lookout apply: SERVER answered with something other than a sync report (invalid character '<' looking for beginning of value); is it a Lookout server?\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := syncServer(t, tc.status, tc.contentType, tc.body)
			code, out, errs := runApplyTest(t, map[string]string{"LOOKOUT_API_TOKEN": "t"}, "", "-f", file, "--owner", "team-a", "--server", srv.URL, "--detailed-exitcode")
			if code != 1 {
				t.Errorf("exit %d, want 1", code)
			}
			if out != "" {
				t.Errorf("stdout %q, want nothing", out)
			}
			if want := strings.ReplaceAll(tc.stderr, "SERVER", srv.URL); errs != want {
				t.Errorf("stderr:\n%s\nwant:\n%s", errs, want)
			}
		})
	}
}

func TestApplyRedirect(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://lookout.example.test/api/v1/sync", http.StatusMovedPermanently)
	}))
	t.Cleanup(srv.Close)
	file := writeApplyFile(t, "owner: a\ntargets: []\n")
	code, _, errs := runApplyTest(t, nil, "", "-f", file, "--server", srv.URL)
	want := "lookout apply: " + srv.URL + " answered 301 Moved Permanently\n  it redirects to https://lookout.example.test/api/v1/sync: set --server to https://lookout.example.test\n"
	if code != 1 || errs != want {
		t.Errorf("exit %d, stderr:\n%s\nwant 1 and:\n%s", code, errs, want)
	}
}

func TestApplyUnreachableServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := "http://" + ln.Addr().String()
	ln.Close()
	file := writeApplyFile(t, "owner: a\ntargets: []\n")
	code, out, errs := runApplyTest(t, map[string]string{"LOOKOUT_SERVER": addr}, "", "-f", file)
	if code != 1 || out != "" {
		t.Errorf("exit %d, stdout %q; want 1 and nothing", code, out)
	}
	if want := "is Lookout running at " + addr + "? set --server or LOOKOUT_SERVER\n"; !strings.HasPrefix(errs, "lookout apply: cannot reach Lookout at "+addr+": ") || !strings.HasSuffix(errs, want) {
		t.Errorf("stderr %q, want it to end %q", errs, want)
	}
}

func TestApplyTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // so that the server notices the client leave
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	t.Cleanup(srv.Close)
	file := writeApplyFile(t, "owner: a\ntargets: []\n")
	code, _, errs := runApplyTest(t, nil, "", "-f", file, "--server", srv.URL, "--timeout", "50ms")
	want := "lookout apply: no answer from Lookout at " + srv.URL + " in time: context deadline exceeded; raise --timeout\n" +
		"  the server may still apply the sync: run lookout apply --dry-run to see where it stands\n"
	if code != 1 || errs != want {
		t.Errorf("exit %d, stderr:\n%s\nwant 1 and:\n%s", code, errs, want)
	}
}

func TestApplyUsageAndFileErrors(t *testing.T) {
	noOwner := writeApplyFile(t, "targets: []\n")
	bad := writeApplyFile(t, "targets: []\nchanels: []\n")
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"no file", []string{"--owner", "a"}, 3, "lookout apply: give the file with -f FILE, or -f - to read it from stdin\n"},
		{"no owner", []string{"-f", noOwner}, 3, "lookout apply: set --owner or owner: in the file\n"},
		{"bad flag", []string{"-f", noOwner, "--purge"}, 3, "flag provided but not defined: -purge\n"},
		{"stray argument", []string{"-f", noOwner, "extra"}, 3, "lookout apply: unexpected argument \"extra\"; give the file with -f FILE\n"},
		{"bad server", []string{"-f", noOwner, "--owner", "a", "--server", "localhost:8080"}, 3, "lookout apply: --server \"localhost:8080\" must be an http(s) URL such as http://127.0.0.1:8080\n"},
		{"missing file", []string{"-f", noOwner + ".nope", "--owner", "a"}, 1, "no such file or directory\n"},
		{"bad file", []string{"-f", bad, "--owner", "a"}, 1, "lookout apply: " + bad + `: unknown key "chanels" at the top of the file: it may hold only owner, targets and channels` + "\n"},
		{"empty stdin", []string{"-f", "-", "--owner", "a"}, 1, "lookout apply: stdin: the file is empty: list targets in it, or write targets: [] to delete every target of the owner\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runApplyTest(t, nil, "", tc.args...)
			if code != tc.code || out != "" {
				t.Errorf("exit %d, stdout %q; want %d and nothing", code, out, tc.code)
			}
			if !strings.Contains(errs, tc.stderr) {
				t.Errorf("stderr %q, want it to hold %q", errs, tc.stderr)
			}
		})
	}
}

func TestApplyIsACommand(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"apply", "--help"}, env(nil), &out, &errb); code != 0 || !strings.Contains(errb.String(), "Usage: lookout apply -f FILE") {
		t.Errorf("lookout apply --help: exit %d, stderr %q", code, errb.String())
	}
	usage(&out)
	if !strings.Contains(out.String(), "\n  apply ") {
		t.Errorf("usage does not list apply:\n%s", out.String())
	}
}

// TestApplyExamples: every file under examples/ parses, and each of its
// targets and channels decodes without unknown fields and passes the
// checks the server makes of one, its references to others in the file
// included, so that the examples cannot drift from the API.
func TestApplyExamples(t *testing.T) {
	files, err := filepath.Glob("../../examples/*")
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	validTarget := validator(probe.New(probe.Options{}))
	dispatcher := notify.New(nil, notify.Config{})
	strict := func(b json.RawMessage, v any) error {
		d := json.NewDecoder(bytes.NewReader(b))
		d.DisallowUnknownFields()
		return d.Decode(v)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			f, err := parseApplyFile(b)
			if err != nil {
				t.Fatal(err)
			}
			if f.Owner == "" || len(f.Targets) == 0 {
				t.Errorf("owner %q and %d targets: an example names its owner and lists targets", f.Owner, len(f.Targets))
			}
			channels := map[string]bool{}
			for i, raw := range f.Channels {
				var c uptime.Channel
				if err := strict(raw, &c); err != nil {
					t.Errorf("channels[%d]: %v", i, err)
					continue
				}
				c.Normalize()
				if err := c.Validate(); err != nil {
					t.Errorf("channels[%d]: %v", i, err)
				}
				if err := dispatcher.Validate(&c); err != nil {
					t.Errorf("channels[%d]: %v", i, err)
				}
				channels[c.Name] = true
			}
			targets := map[string]bool{}
			var all []uptime.Target
			for i, raw := range f.Targets {
				var tg uptime.Target
				if err := strict(raw, &tg); err != nil {
					t.Errorf("targets[%d]: %v", i, err)
					continue
				}
				tg.Normalize()
				if err := validTarget(&tg); err != nil {
					t.Errorf("targets[%d] (%s): %v", i, tg.Name, err)
				}
				targets[tg.Name] = true
				all = append(all, tg)
			}
			for _, tg := range all {
				for _, ref := range tg.References(nil) {
					if ref.Channel && !channels[ref.Name] || !ref.Channel && !targets[ref.Name] {
						t.Errorf("target %s: %s names %q, which the file does not define", tg.Name, ref.Field, ref.Name)
					}
				}
			}
		})
	}
}
