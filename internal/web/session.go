package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
)

// SessionCookie holds a dashboard viewer's token.
const SessionCookie = "lookout_token"

// CSRFHeader carries the CSRF token of a change made from the dashboard.
const CSRFHeader = "X-Lookout-CSRF"

// Sessions signs dashboard viewers in with the API's own tokens and keeps
// the token in an HttpOnly, SameSite=Strict cookie, which the API then
// accepts in place of a bearer token. A change sent with the cookie needs
// the CSRF token too (in CSRFHeader): an HMAC of the cookie's token under a
// key made at start-up, so it is good until a restart or a sign-out.
type Sessions struct {
	auth authenticator
	key  []byte
}

// NewSessions authenticates by the write token and the read tokens, as the
// API does; with none, everyone may read and write.
func NewSessions(token string, readTokens []string) *Sessions {
	key := make([]byte, 32)
	_, _ = rand.Read(key) // never fails (crypto/rand panics instead)
	return &Sessions{auth: newAuthenticator(token, readTokens), key: key}
}

// AuthEnabled reports whether any token is configured.
func (s *Sessions) AuthEnabled() bool { return s.auth.enabled() }

// Access tells what the request's bearer token or session cookie allows;
// with no token configured, everything.
func (s *Sessions) Access(r *http.Request) (read, write bool) {
	if !s.auth.enabled() {
		return true, true
	}
	token, ok := bearer(r)
	if !ok {
		token, ok = s.cookie(r)
	}
	if !ok {
		return false, false
	}
	a := s.auth.lookup(token)
	return a >= accessRead, a == accessWrite
}

// SignIn sets the session cookie when token is one of the configured
// tokens, and reports whether it was.
func (s *Sessions) SignIn(w http.ResponseWriter, r *http.Request, token string) bool {
	if !s.auth.enabled() || token == "" || s.auth.lookup(token) == accessNone {
		return false
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: token, Path: "/", HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	return true
}

// SignOut clears the session cookie.
func (s *Sessions) SignOut(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
}

// CSRFToken is what a change sent with the request's session cookie must
// carry in CSRFHeader; "" without a cookie.
func (s *Sessions) CSRFToken(r *http.Request) string {
	token, ok := s.cookie(r)
	if !ok {
		return ""
	}
	return s.csrf(token)
}

func (s *Sessions) csrf(token string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(token))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// validCSRF reports whether the request carries the CSRF token of token.
func (s *Sessions) validCSRF(r *http.Request, token string) bool {
	got := r.Header.Get(CSRFHeader)
	return got != "" && hmac.Equal([]byte(got), []byte(s.csrf(token)))
}

func (s *Sessions) cookie(r *http.Request) (string, bool) {
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return "", false
	}
	return c.Value, true
}
