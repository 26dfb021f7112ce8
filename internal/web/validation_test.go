package web

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// Every rule a target must meet (uptime.Target.Validate and the kinds'
// own) and every decoding failure comes back as a problem naming the field
// to fix.
func TestCreateRejectsInvalidTargets(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name   string
		body   string
		status int
		field  string
		detail string // substring of the field's problem
	}{
		{"empty name", `{"url":"http://x"}`, 400, "name", "required"},
		{"blank name", `{"name":"  ","url":"http://x"}`, 400, "name", "required"},
		{"invalid name", `{"name":"Payments API","url":"http://x"}`, 400, "name", "must match"},
		{"name too long", `{"name":"` + strings.Repeat("a", 64) + `","url":"http://x"}`, 400, "name", "must match"},
		{"unknown kind", `{"name":"a","kind":"smtp","url":"x"}`, 400, "kind", "smtp"},
		{"empty url", `{"name":"a","url":""}`, 400, "url", "required"},
		{"missing url", `{"name":"a"}`, 400, "url", "required"},
		{"interval below 1s", `{"name":"a","url":"http://x","interval":"500ms"}`, 400, "interval", "at least 1s"},
		{"timeout equal to interval", `{"name":"a","url":"http://x","interval":"30s","timeout":"30s"}`, 400, "timeout", "shorter"},
		{"timeout above interval", `{"name":"a","url":"http://x","interval":"5s","timeout":"10s"}`, 400, "timeout", "shorter"},
		{"negative timeout", `{"name":"a","url":"http://x","timeout":"-1s"}`, 400, "timeout", "positive"},
		{"interval and schedule", `{"name":"a","url":"http://x","interval":"1m","schedule":"@every 5m"}`, 400, "schedule", "not both"},
		{"bad cron", `{"name":"a","url":"http://x","schedule":"every tuesday"}`, 400, "schedule", "cron"},
		{"status out of range", `{"name":"a","url":"http://x","http":{"expect_status":"600"}}`, 400, "http.expect_status", "600"},
		{"status range backwards", `{"name":"a","url":"http://x","http":{"expect_status":"299-200"}}`, 400, "http.expect_status", "backwards"},
		{"status not a code", `{"name":"a","url":"http://x","http":{"expect_status":"abc"}}`, 400, "http.expect_status", "abc"},
		{"status number out of range", `{"name":"a","url":"http://x","http":{"expect_status":[200,999]}}`, 400, "http.expect_status", "999"},
		{"failure threshold", `{"name":"a","url":"http://x","failure_threshold":-1}`, 400, "failure_threshold", "between"},
		{"interval of zero", `{"name":"a","url":"http://x","interval":"0s"}`, 400, "interval", "leave it out for the default"},
		{"interval of zero, any case", `{"name":"a","url":"http://x","Interval":"0s"}`, 400, "interval", "leave it out for the default"},
		{"timeout of zero", `{"name":"a","url":"http://x","timeout":"0s"}`, 400, "timeout", "leave it out for the default"},
		{"failure threshold of zero", `{"name":"a","url":"http://x","failure_threshold":0}`, 400, "failure_threshold", "leave it out for the default (3)"},
		{"success threshold of zero", `{"name":"a","url":"http://x","success_threshold":0}`, 400, "success_threshold", "leave it out for the default (1)"},
		{"success threshold", `{"name":"a","url":"http://x","success_threshold":1001}`, 400, "success_threshold", "between"},
		{"slo", `{"name":"a","url":"http://x","slo":99.9}`, 400, "slo", "fraction"},
		{"degraded latency", `{"name":"a","url":"http://x","degraded_latency":"-1s"}`, 400, "degraded_latency", "negative"},
		{"tls expiry", `{"name":"a","url":"http://x","tls_expiry_warn":[7,-1]}`, 400, "tls_expiry_warn[1]", "days"},
		{"label key", `{"name":"a","url":"http://x","labels":{"1bad":"x"}}`, 400, "labels", "label name"},
		{"depends on itself", `{"name":"a","url":"http://x","depends_on":["a"]}`, 400, "depends_on[0]", "itself"},
		{"depends on bad name", `{"name":"a","url":"http://x","depends_on":["B C"]}`, 400, "depends_on[0]", "not a valid"},
		{"channel name", `{"name":"a","url":"http://x","channels":["#ops"]}`, 400, "channels[0]", "not a valid"},

		{"duration as number", `{"name":"a","url":"http://x","interval":30}`, 400, "interval", "must be a string"},
		{"bad duration", `{"name":"a","url":"http://x","timeout":"ten seconds"}`, 400, "timeout", "not a duration"},
		{"int as string", `{"name":"a","url":"http://x","failure_threshold":"3"}`, 400, "failure_threshold", "must be an integer, not a string"},
		{"nested wrong type", `{"name":"a","url":"http://x","http":{"headers":{"X":1}}}`, 400, "http.headers", "must be a string"},
		{"bool wrong type", `{"name":"a","url":"http://x","paused":"yes"}`, 400, "paused", "boolean"},
		{"not an object", `[1,2]`, 400, "body", "object"},
		{"unknown field", `{"name":"a","url":"http://x","intervall":"30s"}`, 400, "intervall", "not a known field"},
		{"unknown nested field", `{"name":"a","url":"http://x","http":{"expect":"200"}}`, 400, "http.expect", "not a known field"},
		{"malformed JSON", `{"name":"a",}`, 400, "body", "at byte 13"},
		{"truncated JSON", `{"name":"a"`, 400, "body", "unexpected end"},
		{"trailing garbage", `{"name":"a","url":"http://x"} {}`, 400, "body", "after the JSON"},
		{"empty body", ` `, 400, "body", "empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := e.do("POST", "/api/v1/targets", tc.body).problem(t, tc.status)
			wantFieldProblem(t, p, tc.field, tc.detail)
		})
	}
	if n := len(e.store.targets); n != 0 {
		t.Errorf("%d targets stored by invalid requests", n)
	}
}

// A target naming a channel or target that does not exist is a 400 naming
// the field, however it is written, and nothing is stored.
func TestReferencesMustExist(t *testing.T) {
	e := newEnv(t)
	e.do("PUT", "/api/v1/channels/ops", `{"kind":"webhook","url":"https://hooks.example/ops"}`).must(t, http.StatusCreated)
	e.do("PUT", "/api/v1/targets/db", `{"url":"http://db"}`).must(t, http.StatusCreated)
	for _, tc := range []struct{ name, members, field, detail string }{
		{"channel", `"channels":["ops","nochan"]`, "channels[1]", `no channel "nochan" exists`},
		{"dependency", `"depends_on":["typo"]`, "depends_on[0]", `no target "typo" exists`},
		{"component's target", `"components":{"db":"nothere"}`, "components", `component "db" maps to "nothere", and no target`},
	} {
		for _, req := range []struct{ method, path, body string }{
			{"POST", "/api/v1/targets", `{"name":"api","url":"http://x",` + tc.members + `}`},
			{"PUT", "/api/v1/targets/api", `{"url":"http://x",` + tc.members + `}`},
			{"PATCH", "/api/v1/targets/db", `{` + tc.members + `}`},
		} {
			t.Run(tc.name+" "+req.method, func(t *testing.T) {
				p := e.do(req.method, req.path, req.body).problem(t, http.StatusBadRequest)
				wantFieldProblem(t, p, tc.field, tc.detail)
			})
		}
	}
	if _, ok := e.store.targets["api"]; ok {
		t.Error("a target with a dangling reference was stored")
	}
	e.do("POST", "/api/v1/targets", `{"name":"api","url":"http://x","channels":["ops"],"depends_on":["db"],"components":{"database":"db"}}`).must(t, http.StatusCreated)
}

// A member sent twice in one object is a 400 naming it, on every route that
// takes a body: encoding/json would keep the last without a word. In an
// object that fills a struct, names differing only in case are the same
// member; in a map (labels, headers) they are different keys.
func TestDuplicateMembers(t *testing.T) {
	e := newEnv(t)
	e.do("PUT", "/api/v1/targets/db", `{"url":"http://db"}`).must(t, http.StatusCreated)
	e.do("PUT", "/api/v1/channels/ops", `{"kind":"webhook","url":"https://hooks.example/ops"}`).must(t, http.StatusCreated)
	tests := []struct {
		name, method, path, body, field, detail string
	}{
		{"top level", "POST", "/api/v1/targets", `{"name":"a","url":"http://x","interval":"1m","interval":"0s"}`, "interval", "appears twice"},
		{"top level in another case", "POST", "/api/v1/targets", `{"name":"a","url":"http://x","interval":"1m","INTERVAL":"2m"}`, "interval", `as "interval" and "INTERVAL"`},
		{"in another case, not first", "PUT", "/api/v1/targets/a", `{"Url":"http://x","url":"http://y"}`, "url", `as "Url" and "url"`},
		{"label", "POST", "/api/v1/targets", `{"name":"a","url":"http://x","labels":{"team":"a","team":"b"}}`, "labels.team", "appears twice"},
		{"nested header", "PUT", "/api/v1/targets/a", `{"url":"http://x","http":{"headers":{"X-A":"1","X-A":"2"}}}`, "http.headers.X-A", "appears twice"},
		{"nested option", "PUT", "/api/v1/targets/a", `{"url":"http://x","http":{"method":"GET","Method":"POST"}}`, "http.method", "regardless of case"},
		{"inside an array", "POST", "/api/v1/targets", `{"name":"a","url":"http://x","state":{"x":[{"y":1,"y":2}]}}`, "state.x[0].y", "appears twice"},
		{"patch", "PATCH", "/api/v1/targets/db", `{"paused":true,"paused":false}`, "paused", "appears twice"},
		{"patch in another case", "PATCH", "/api/v1/targets/db", `{"Timeout":"5s"}`, "timeout", `"Timeout"`},
		{"channel", "PUT", "/api/v1/channels/x", `{"kind":"webhook","kind":"slack","url":"https://hooks.example/x"}`, "kind", "appears twice"},
		{"channel patch", "PATCH", "/api/v1/channels/ops", `{"match_labels":{"a":"1","a":"2"}}`, "match_labels.a", "appears twice"},
		{"silence", "POST", "/api/v1/silences", `{"matchers":{"team":"x","team":"y"},"ends_at":"2030-01-01T00:00:00Z"}`, "matchers.team", "appears twice"},
		{"maintenance", "POST", "/api/v1/maintenance", `{"matchers":{"team":"x"},"schedule":"0 3 * * *","duration":"1h","duration":"2h"}`, "duration", "appears twice"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := e.do(tc.method, tc.path, tc.body).problem(t, http.StatusBadRequest)
			wantFieldProblem(t, p, tc.field, tc.detail)
		})
	}
	if _, ok := e.store.targets["a"]; ok {
		t.Error("a target with a duplicate member was stored")
	}
	// Map keys that differ in case are different keys.
	e.do("POST", "/api/v1/targets", `{"name":"a","url":"http://x","labels":{"team":"a","Team":"b"}}`).must(t, http.StatusCreated)
}

func TestBodyLimitsAndMediaTypes(t *testing.T) {
	e := newEnv(t)
	t.Run("oversized body", func(t *testing.T) {
		big := `{"name":"a","url":"http://x","http":{"body":"` + strings.Repeat("x", maxBodyBytes) + `"}}`
		p := e.do("POST", "/api/v1/targets", big).problem(t, http.StatusRequestEntityTooLarge)
		if !slices.Contains(fields(p), "body") {
			t.Errorf("errors %v do not name body", fields(p))
		}
	})
	t.Run("body just under the limit is read", func(t *testing.T) {
		pad := maxBodyBytes - len(`{"name":"a","url":"http://x","http":{"body":""}}`)
		ok := `{"name":"a","url":"http://x","http":{"body":"` + strings.Repeat("x", pad) + `"}}`
		e.do("POST", "/api/v1/targets", ok).must(t, http.StatusCreated)
	})
	for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", "", "application/json-seq", "application/merge-patch+json"} {
		t.Run("content type "+ct, func(t *testing.T) {
			r := e.do("POST", "/api/v1/targets", `{"name":"b","url":"http://x"}`, "Content-Type: "+ct)
			p := r.problem(t, http.StatusUnsupportedMediaType)
			if !slices.Contains(fields(p), "Content-Type") {
				t.Errorf("errors %v do not name Content-Type", fields(p))
			}
			if got := r.header.Get("Accept-Post"); got != "application/json" {
				t.Errorf("Accept-Post %q", got)
			}
		})
	}
	t.Run("charset parameter is fine", func(t *testing.T) {
		e.do("POST", "/api/v1/targets", `{"name":"c","url":"http://x"}`, "Content-Type: application/json; charset=utf-8").must(t, http.StatusCreated)
	})
	t.Run("merge patch type on PATCH", func(t *testing.T) {
		e.do("PATCH", "/api/v1/targets/c", `{"paused":true}`, "Content-Type: application/merge-patch+json").must(t, http.StatusOK)
		r := e.do("PATCH", "/api/v1/targets/c", `{"paused":true}`, "Content-Type: text/plain")
		r.problem(t, http.StatusUnsupportedMediaType)
		if got := r.header.Get("Accept-Patch"); got != "application/merge-patch+json, application/json" {
			t.Errorf("Accept-Patch %q", got)
		}
	})
}

func TestPutNameMustMatchPath(t *testing.T) {
	e := newEnv(t)
	p := e.do("PUT", "/api/v1/targets/api", `{"name":"web","url":"http://x"}`).problem(t, 400)
	if !slices.Equal(fields(p), []string{"name"}) {
		t.Errorf("errors %v, want [name]", fields(p))
	}
	p = e.do("PUT", "/api/v1/targets/Bad%20Name", `{"url":"http://x"}`).problem(t, 400)
	if !slices.Equal(fields(p), []string{"name"}) {
		t.Errorf("errors %v, want [name]", fields(p))
	}
}

func TestValidationErrorGolden(t *testing.T) {
	e := newEnv(t)
	r := e.do("POST", "/api/v1/targets", `{"name":"Payments","interval":"500ms","timeout":"2s"}`, "X-Request-Id: req-1")
	r.problem(t, 400)
	golden(t, "validation_error", r.body)
}
