package web

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lookout/lookout/internal/uptime"
)

const (
	hookURL    = "https://hooks.example/T0-hook-url-s3cr3t"
	hookSecret = "whsec_c2lnbmluZy1zM2NyM3Q="
	botToken   = "xoxb-bot-t0ken-s3cr3t"
)

func TestChannelCRUD(t *testing.T) {
	e := newEnv(t)
	body := `{"name":"ops-hook","kind":"Webhook","url":"` + hookURL + `","secret":"` + hookSecret + `","match_labels":{"team":"ops"}}`
	r := e.do("POST", "/api/v1/channels", body)
	got := r.must(t, http.StatusCreated)
	if loc := r.header.Get("Location"); loc != "/api/v1/channels/ops-hook" {
		t.Errorf("Location %q", loc)
	}
	want := map[string]any{
		"name": "ops-hook", "kind": "webhook", "url": "***", "secret": "***", "default": false,
		"match_labels": map[string]any{"team": "ops"}, "group_wait": "10s", "repeat_interval": "4h0m0s",
		"created_at": "2025-03-04T05:06:07Z", "updated_at": "2025-03-04T05:06:07Z",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("POST response (-want +got):\n%s", diff)
	}
	if c := e.store.channels["ops-hook"]; c.URL.Reveal() != hookURL || c.Secret.Reveal() != hookSecret {
		t.Errorf("stored secrets %q %q, want the real values", c.URL.Reveal(), c.Secret.Reveal())
	}

	p := e.do("POST", "/api/v1/channels", body).problem(t, http.StatusConflict)
	if !strings.Contains(p.Detail, "PUT /api/v1/channels/") {
		t.Errorf("conflict detail %q", p.Detail)
	}

	if diff := cmp.Diff(want, e.do("GET", "/api/v1/channels/ops-hook", "").must(t, http.StatusOK)); diff != "" {
		t.Errorf("GET (-want +got):\n%s", diff)
	}
	e.do("PUT", "/api/v1/channels/slack-bot", `{"kind":"slack","token":"`+botToken+`","channel":"#ops","default":true}`).must(t, http.StatusCreated)
	list := e.do("GET", "/api/v1/channels", "").must(t, http.StatusOK)
	var names []string
	for _, it := range list["channels"].([]any) {
		c := it.(map[string]any)
		names = append(names, c["name"].(string))
		for _, k := range []string{"url", "secret", "token"} {
			if v, ok := c[k]; ok && v != "***" {
				t.Errorf("list: %s.%s = %v", c["name"], k, v)
			}
		}
	}
	if !slices.Equal(names, []string{"ops-hook", "slack-bot"}) {
		t.Errorf("list names %v", names)
	}

	e.clock.Advance(time.Minute)
	got = e.do("PATCH", "/api/v1/channels/ops-hook", `{"group_wait":"30s","match_labels":{"team":null,"tier":"1"}}`,
		"Content-Type: application/merge-patch+json").must(t, http.StatusOK)
	if got["group_wait"] != "30s" || got["url"] != "***" || got["secret"] != "***" || got["updated_at"] == got["created_at"] {
		t.Errorf("PATCH response %v", got)
	}
	if diff := cmp.Diff(map[string]any{"tier": "1"}, got["match_labels"]); diff != "" {
		t.Errorf("match_labels (-want +got):\n%s", diff)
	}
	for _, tc := range []struct{ body, field string }{
		{`{"name":"other"}`, "name"},
		{`{"group_wait":"2h"}`, "group_wait"},
		{`{"kind":"smtp"}`, "kind"},
		{`{"bogus":1}`, "bogus"},
		{`[]`, "body"},
	} {
		p := e.do("PATCH", "/api/v1/channels/ops-hook", tc.body).problem(t, http.StatusBadRequest)
		if !slices.Contains(fields(p), tc.field) {
			t.Errorf("PATCH %s: errors %v do not name %q", tc.body, fields(p), tc.field)
		}
	}
	e.do("PATCH", "/api/v1/channels/nope", `{"default":true}`).problem(t, http.StatusNotFound)

	e.do("DELETE", "/api/v1/channels/ops-hook", "").must(t, http.StatusNoContent)
	p = e.do("GET", "/api/v1/channels/ops-hook", "").problem(t, http.StatusNotFound)
	if p.Detail != `no channel named "ops-hook"` {
		t.Errorf("404 detail %q", p.Detail)
	}
	e.do("DELETE", "/api/v1/channels/ops-hook", "").problem(t, http.StatusNotFound)
}

func TestChannelListEmptyIsAnArray(t *testing.T) {
	e := newEnv(t)
	r := e.do("GET", "/api/v1/channels", "")
	r.must(t, http.StatusOK)
	if got := strings.TrimSpace(string(r.body)); got != `{"channels":[]}` {
		t.Errorf("body %s", got)
	}
}

func TestChannelSecretsRoundTrip(t *testing.T) {
	e := newEnv(t)
	e.do("PUT", "/api/v1/channels/hook", `{"kind":"webhook","url":"`+hookURL+`","secret":"`+hookSecret+`"}`).must(t, http.StatusCreated)
	stored := func() uptime.Channel { return e.store.channels["hook"] }

	// What was read can be PUT back as is: nothing changes.
	read := e.do("GET", "/api/v1/channels/hook", "")
	e.clock.Advance(time.Minute)
	again := e.do("PUT", "/api/v1/channels/hook", string(read.body)).must(t, http.StatusOK)
	if again["updated_at"] != "2025-03-04T05:06:07Z" {
		t.Errorf("PUT of what was read changed the channel: updated_at %v", again["updated_at"])
	}
	if c := stored(); c.URL.Reveal() != hookURL || c.Secret.Reveal() != hookSecret {
		t.Errorf("secrets not kept: %q %q", c.URL.Reveal(), c.Secret.Reveal())
	}

	// A PATCH leaves the secrets alone.
	e.do("PATCH", "/api/v1/channels/hook", `{"repeat_interval":"1h"}`).must(t, http.StatusOK)
	if c := stored(); c.URL.Reveal() != hookURL || c.Secret.Reveal() != hookSecret || c.RepeatInterval.D() != time.Hour {
		t.Errorf("after PATCH: %q %q %v", c.URL.Reveal(), c.Secret.Reveal(), c.RepeatInterval)
	}

	// A new endpoint does not inherit the signing secret.
	p := e.do("PATCH", "/api/v1/channels/hook", `{"url":"https://elsewhere.example/in"}`).problem(t, http.StatusBadRequest)
	if !slices.Equal(fields(p), []string{"secret"}) {
		t.Errorf("errors %v, want [secret]", fields(p))
	}
	e.do("PATCH", "/api/v1/channels/hook", `{"url":"https://elsewhere.example/in","secret":"whsec_bmV3"}`).must(t, http.StatusOK)
	if c := stored(); c.URL.Reveal() != "https://elsewhere.example/in" || c.Secret.Reveal() != "whsec_bmV3" {
		t.Errorf("after rotation: %q %q", c.URL.Reveal(), c.Secret.Reveal())
	}

	// "***" with nothing stored to keep is refused, never stored.
	for _, tc := range []struct{ method, path, body, field string }{
		{"POST", "/api/v1/channels", `{"name":"new","kind":"webhook","url":"***"}`, "url"},
		{"PUT", "/api/v1/channels/new", `{"kind":"slack","token":"***","channel":"#x"}`, "token"},
		{"PATCH", "/api/v1/channels/hook", `{"kind":"slack","token":"***","channel":"#x"}`, "token"},
	} {
		p := e.do(tc.method, tc.path, tc.body).problem(t, http.StatusBadRequest)
		if !slices.Contains(fields(p), tc.field) {
			t.Errorf("%s %s: errors %v do not name %q", tc.method, tc.path, fields(p), tc.field)
		}
	}
	if _, ok := e.store.channels["new"]; ok {
		t.Error("a channel with a placeholder secret was stored")
	}
}

// Every rule of the shared validation and of the kind comes back as a
// problem naming the field.
func TestChannelRejectsInvalid(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name, body, field, detail string
	}{
		{"unknown kind", `{"name":"a","kind":"smtp","url":"https://x"}`, "kind", `"smtp" is not a known kind`},
		{"missing kind", `{"name":"a","url":"https://x"}`, "kind", "required"},
		{"missing name", `{"kind":"webhook","url":"https://x"}`, "name", "required"},
		{"invalid name", `{"name":"#ops","kind":"webhook","url":"https://x"}`, "name", "must match"},
		{"negative group_wait", `{"name":"a","kind":"webhook","url":"https://x","group_wait":"-1s"}`, "group_wait", "between"},
		{"short repeat", `{"name":"a","kind":"webhook","url":"https://x","repeat_interval":"10s"}`, "repeat_interval", "at least 1m"},
		{"repeat of zero", `{"name":"a","kind":"webhook","url":"https://x","repeat_interval":"0s"}`, "repeat_interval", "leave it out for the default (4h0m0s)"},
		{"webhook without url", `{"name":"a","kind":"webhook"}`, "url", "required"},
		{"slack without url or token", `{"name":"a","kind":"slack","channel":"#x"}`, "url", "token"},
		{"bad label", `{"name":"a","kind":"webhook","url":"https://x","match_labels":{"1x":"y"}}`, "match_labels", "not valid"},
		{"duration as number", `{"name":"a","kind":"webhook","url":"https://x","group_wait":10}`, "group_wait", "must be a string"},
		{"url as number", `{"name":"a","kind":"webhook","url":5}`, "url", "must be a string"},
		{"api_url not absolute", `{"name":"a","kind":"slack","token":"xoxb-1","channel":"#x","api_url":"slack.example.com/api"}`, "api_url", "absolute http(s) URL"},
		{"api_url not http", `{"name":"a","kind":"slack","token":"xoxb-1","channel":"#x","api_url":"ftp://slack.example.com/api"}`, "api_url", "absolute http(s) URL"},
		{"unknown field", `{"name":"a","kind":"webhook","url":"https://x","headers":{}}`, "headers", "not a known field"},
		{"not an object", `"a"`, "body", "object"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := e.do("POST", "/api/v1/channels", tc.body).problem(t, http.StatusBadRequest)
			wantFieldProblem(t, p, tc.field, tc.detail)
		})
	}
	if n := len(e.store.channels); n != 0 {
		t.Errorf("%d channels stored by invalid requests", n)
	}
	p := e.do("PUT", "/api/v1/channels/a", `{"name":"b","kind":"webhook","url":"https://x"}`).problem(t, http.StatusBadRequest)
	if !slices.Equal(fields(p), []string{"name"}) {
		t.Errorf("PUT with another name: errors %v", fields(p))
	}
}

// group_wait "0s" means send at once: it is stored and read back as 0s, and
// PUT again or PATCHed elsewhere it stays so. Only a group_wait left out
// (or removed by a merge patch) gets the default.
// A bot's api_url is stored and read back as given.
func TestChannelAPIURL(t *testing.T) {
	e := newEnv(t)
	body := `{"kind":"slack","token":"` + botToken + `","channel":"C0ALERTS","api_url":"http://127.0.0.1:9000/api/"}`
	if got := e.do("PUT", "/api/v1/channels/bot", body).must(t, http.StatusCreated); got["api_url"] != "http://127.0.0.1:9000/api/" {
		t.Errorf("PUT answered api_url %v", got["api_url"])
	}
	if c := e.store.channels["bot"]; c.APIURL != "http://127.0.0.1:9000/api/" {
		t.Errorf("stored api_url %q", c.APIURL)
	}
	e.do("PATCH", "/api/v1/channels/bot", `{"api_url":null}`).must(t, http.StatusOK)
	if c := e.store.channels["bot"]; c.APIURL != "" {
		t.Errorf("api_url after removing it: %q", c.APIURL)
	}
}

func TestChannelGroupWaitZero(t *testing.T) {
	e := newEnv(t)
	body := `{"kind":"webhook","url":"` + hookURL + `","group_wait":"0s"}`
	got := e.do("PUT", "/api/v1/channels/now", body).must(t, http.StatusCreated)
	if got["group_wait"] != "0s" {
		t.Errorf("PUT answered group_wait %v, want 0s", got["group_wait"])
	}
	if w := e.store.channels["now"].GroupWait; w != uptime.WaitFor(0) {
		t.Errorf("stored group_wait %#v, want 0", w)
	}
	if got := e.do("GET", "/api/v1/channels/now", "").must(t, http.StatusOK); got["group_wait"] != "0s" {
		t.Errorf("GET group_wait %v, want 0s", got["group_wait"])
	}
	e.clock.Advance(time.Minute)
	if again := e.do("PUT", "/api/v1/channels/now", body).must(t, http.StatusOK); again["updated_at"] != again["created_at"] {
		t.Errorf("the same PUT again changed the channel: %v", again)
	}
	if got := e.do("PATCH", "/api/v1/channels/now", `{"default":true}`).must(t, http.StatusOK); got["group_wait"] != "0s" {
		t.Errorf("PATCH of another field made group_wait %v", got["group_wait"])
	}
	if got := e.do("PATCH", "/api/v1/channels/now", `{"group_wait":null}`).must(t, http.StatusOK); got["group_wait"] != "10s" {
		t.Errorf("PATCH removing group_wait made it %v, want the default 10s", got["group_wait"])
	}
}

func TestChannelTest(t *testing.T) {
	e := newEnv(t)
	e.do("PUT", "/api/v1/channels/hook", `{"kind":"webhook","url":"`+hookURL+`","secret":"`+hookSecret+`"}`).must(t, http.StatusCreated)

	r := e.do("POST", "/api/v1/channels/hook/test", "")
	r.must(t, http.StatusOK)
	if got := strings.TrimSpace(string(r.body)); got != `{"ok":true}` {
		t.Errorf("body %s", got)
	}
	if len(e.notif.tested) != 1 || e.notif.tested[0].URL.Reveal() != hookURL || e.notif.tested[0].Secret.Reveal() != hookSecret {
		t.Errorf("notifier was not given the real channel: %+v", e.notif.tested)
	}

	// The error says what went wrong, without the URL it went wrong with.
	e.notif.testErr = fmt.Errorf("post %s: 410 Gone", hookURL)
	p := e.do("POST", "/api/v1/channels/hook/test", "").problem(t, http.StatusBadGateway)
	if p.Detail != "post ***: 410 Gone" {
		t.Errorf("detail %q", p.Detail)
	}
	e.notif.testErr = errors.New("slack: channel_not_found")
	p = e.do("POST", "/api/v1/channels/hook/test", "").problem(t, http.StatusBadGateway)
	if p.Detail != "slack: channel_not_found" {
		t.Errorf("detail %q", p.Detail)
	}

	e.do("POST", "/api/v1/channels/nope/test", "").problem(t, http.StatusNotFound)
}

// A channel's secret values appear in no response of any route: reads,
// writes, validation failures and failed tests.
func TestChannelSecretsNeverLeak(t *testing.T) {
	e := newEnv(t)
	secrets := []string{hookURL, "T0-hook-url-s3cr3t", hookSecret, botToken, "legacy-http-s3cr3t"}
	var bodies []response
	keep := func(r response) response { bodies = append(bodies, r); return r }

	keep(e.do("POST", "/api/v1/channels", `{"name":"hook","kind":"webhook","url":"`+hookURL+`","secret":"`+hookSecret+`"}`)).must(t, http.StatusCreated)
	keep(e.do("PUT", "/api/v1/channels/bot", `{"kind":"slack","token":"`+botToken+`","channel":"#ops"}`)).must(t, http.StatusCreated)
	keep(e.do("GET", "/api/v1/channels", "")).must(t, http.StatusOK)
	keep(e.do("GET", "/api/v1/channels/hook", "")).must(t, http.StatusOK)
	keep(e.do("GET", "/api/v1/channels/bot", "")).must(t, http.StatusOK)
	read := keep(e.do("GET", "/api/v1/channels/hook", ""))
	keep(e.do("PUT", "/api/v1/channels/hook", string(read.body))).must(t, http.StatusOK)
	keep(e.do("PUT", "/api/v1/channels/bot", `{"kind":"slack","token":"***","channel":"#ops2"}`)).must(t, http.StatusOK)
	keep(e.do("PATCH", "/api/v1/channels/hook", `{"default":true}`)).must(t, http.StatusOK)
	keep(e.do("PATCH", "/api/v1/channels/bot", `{"repeat_interval":"2h"}`)).must(t, http.StatusOK)

	// A channel stored before the validator got stricter: the validator
	// echoes its URL, the API must not.
	legacy := uptime.Channel{Name: "legacy", Kind: "webhook", URL: "http://hooks.example/legacy-http-s3cr3t"}
	legacy.Normalize()
	if err := e.store.CreateChannel(t.Context(), &legacy); err != nil {
		t.Fatal(err)
	}
	keep(e.do("PATCH", "/api/v1/channels/legacy", `{"group_wait":"20s"}`)).problem(t, http.StatusBadRequest)
	keep(e.do("PUT", "/api/v1/channels/legacy", `{"kind":"webhook","url":"***"}`)).problem(t, http.StatusBadRequest)

	e.notif.testErr = fmt.Errorf("post %q: dial tcp: connection refused (signed with %s)", hookURL, hookSecret)
	keep(e.do("POST", "/api/v1/channels/hook/test", "")).problem(t, http.StatusBadGateway)
	e.notif.testErr = fmt.Errorf("slack auth with %s failed", botToken)
	keep(e.do("POST", "/api/v1/channels/bot/test", "")).problem(t, http.StatusBadGateway)
	keep(e.do("GET", "/api/v1/notifications", "")).must(t, http.StatusOK)
	keep(e.do("GET", "/openapi.json", ""))

	for _, r := range bodies {
		for _, s := range secrets {
			if strings.Contains(string(r.body), s) {
				t.Errorf("response leaks %q: %s", s, r.body)
			}
		}
		for k, vs := range r.header {
			for _, v := range vs {
				for _, s := range secrets {
					if strings.Contains(v, s) {
						t.Errorf("header %s leaks %q", k, s)
					}
				}
			}
		}
	}
	if c := e.store.channels["bot"]; c.Token.Reveal() != botToken || c.Channel != "#ops2" {
		t.Errorf("bot channel after PUT with ***: token kept %v, channel %q", c.Token.Reveal() == botToken, c.Channel)
	}
}

func TestAlertMutationsNeedTheWriteToken(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.Token = "write-secret"
		c.ReadTokens = []string{"dash"}
	})
	e.token = "write-secret"
	e.do("PUT", "/api/v1/channels/hook", `{"kind":"webhook","url":"`+hookURL+`"}`).must(t, http.StatusCreated)
	sl := e.do("POST", "/api/v1/silences", `{"matchers":{"team":"x"},"ends_at":"2030-01-01T00:00:00Z"}`).must(t, http.StatusCreated)

	e.token = "dash"
	for _, p := range []string{"/api/v1/channels", "/api/v1/channels/hook", "/api/v1/incidents", "/api/v1/notifications",
		"/api/v1/silences", "/api/v1/maintenance"} {
		e.do("GET", p, "").must(t, http.StatusOK)
	}
	id := fmt.Sprint(sl["id"])
	for _, tc := range []struct{ method, path, body string }{
		{"POST", "/api/v1/channels", `{"name":"x","kind":"webhook","url":"https://x"}`},
		{"PUT", "/api/v1/channels/hook", `{"kind":"webhook","url":"https://x"}`},
		{"PATCH", "/api/v1/channels/hook", `{"default":true}`},
		{"DELETE", "/api/v1/channels/hook", ""},
		{"POST", "/api/v1/channels/hook/test", ""},
		{"POST", "/api/v1/silences", `{"matchers":{"team":"x"},"ends_at":"2030-01-01T00:00:00Z"}`},
		{"DELETE", "/api/v1/silences/" + id, ""},
		{"POST", "/api/v1/maintenance", `{"matchers":{"team":"x"},"schedule":"0 3 * * *","duration":"1h"}`},
		{"DELETE", "/api/v1/maintenance/1", ""},
	} {
		e.do(tc.method, tc.path, tc.body).problem(t, http.StatusForbidden)
	}
	if len(e.notif.tested) != 0 {
		t.Error("a read-only token sent a test notification")
	}
	e.token = ""
	e.do("GET", "/api/v1/channels", "").problem(t, http.StatusUnauthorized)
}

// A secret that contains another is hidden whole, not around the shorter one.
func TestScrubberHidesTheLongestSecretFirst(t *testing.T) {
	c := &uptime.Channel{Kind: "webhook", URL: "https://hooks.example/in", Secret: "https://hooks.example/in#signing-key"}
	if got := scrubberOf(c).text("signed for https://hooks.example/in#signing-key"); got != "signed for ***" {
		t.Errorf("scrubbed %q, want %q", got, "signed for ***")
	}
}
