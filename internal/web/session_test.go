package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestSessionCookie(t *testing.T) {
	sessions := NewSessions("write-secret", []string{"dash-1"})
	e := newEnv(t, func(c *Config) {
		c.Token, c.ReadTokens, c.Sessions = "write-secret", []string{"dash-1"}, sessions
	})
	signIn := func(token string) (*http.Cookie, string) {
		t.Helper()
		w := httptest.NewRecorder()
		r := httptest.NewRequest("POST", "/login", nil)
		if !sessions.SignIn(w, r, token) {
			t.Fatalf("sign in with %q refused", token)
		}
		c := w.Result().Cookies()[0]
		if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" {
			t.Errorf("cookie %+v: want HttpOnly, SameSite=Strict, Path=/", c)
		}
		r.AddCookie(c)
		return c, sessions.CSRFToken(r)
	}
	if sessions.SignIn(httptest.NewRecorder(), httptest.NewRequest("POST", "/login", nil), "wrong") {
		t.Error("a wrong token signs in")
	}
	read, readCSRF := signIn("dash-1")
	write, csrf := signIn("write-secret")
	if csrf == "" || csrf == readCSRF || strings.Contains(csrf, "write-secret") {
		t.Fatalf("CSRF token %q: empty, shared between sessions or showing the token", csrf)
	}
	cookie := func(c *http.Cookie) string { return "Cookie: " + c.Name + "=" + c.Value }

	e.do("GET", "/api/v1/targets", "", cookie(read)).must(t, http.StatusOK)
	e.do("POST", "/api/v1/targets", `{"name":"a","url":"http://x"}`, cookie(read), CSRFHeader+": "+readCSRF).problem(t, http.StatusForbidden)
	// The write token's cookie changes things only with its CSRF token.
	e.do("POST", "/api/v1/targets", `{"name":"a","url":"http://x"}`, cookie(write)).problem(t, http.StatusForbidden)
	e.do("POST", "/api/v1/targets", `{"name":"a","url":"http://x"}`, cookie(write), CSRFHeader+": "+readCSRF).problem(t, http.StatusForbidden)
	e.do("POST", "/api/v1/targets", `{"name":"a","url":"http://x"}`, cookie(write), CSRFHeader+": "+csrf).must(t, http.StatusCreated)
	e.do("POST", "/api/v1/targets/a/pause", "", cookie(write), CSRFHeader+": "+csrf).must(t, http.StatusOK)
	// A bearer token needs no CSRF token: no browser sends it by itself.
	e.do("POST", "/api/v1/targets/a/resume", "", "Authorization: Bearer write-secret").must(t, http.StatusOK)
	e.do("GET", "/api/v1/targets", "", "Cookie: "+SessionCookie+"=forged").problem(t, http.StatusUnauthorized)

	r := httptest.NewRequest("GET", "/", nil)
	if rd, wr := sessions.Access(r); rd || wr {
		t.Error("no cookie, yet access")
	}
	r.AddCookie(read)
	if rd, wr := sessions.Access(r); !rd || wr {
		t.Errorf("read cookie: read %v write %v", rd, wr)
	}
	if rd, wr := NewSessions("", nil).Access(httptest.NewRequest("GET", "/", nil)); !rd || !wr {
		t.Error("with no token configured, the dashboard is not open")
	}
}

func TestUIMounted(t *testing.T) {
	ui := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ui " + r.URL.Path)) })
	e := newEnv(t, func(c *Config) { c.UI = ui })
	for _, p := range []string{"/", "/targets/a", "/incidents", "/incidents/3", "/status", "/badge/a/status.svg", "/static/style.css", "/login"} {
		if r := e.do("GET", p, ""); r.status != http.StatusOK || string(r.body) != "ui "+p {
			t.Errorf("GET %s: %d %q, want the dashboard's", p, r.status, r.body)
		}
	}
	e.do("GET", "/api/v1/targets", "").must(t, http.StatusOK)
}
