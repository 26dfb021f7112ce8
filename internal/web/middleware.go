package web

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/go-chi/chi/v5/middleware"
)

// accessLog logs one line per request once it is answered. Probe and
// scrape requests are logged at debug so that they do not drown the rest.
func (s *Server) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := middleware.GetReqID(r.Context())
		w.Header().Set(middleware.RequestIDHeader, id)
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		defer func() {
			status := ww.Status()
			if status == 0 {
				status = http.StatusOK
			}
			level := slog.LevelInfo
			if isQuietPath(r.URL.Path) && status < 500 {
				level = slog.LevelDebug
			}
			s.log.LogAttrs(r.Context(), level, "http request",
				slog.String("method", r.Method),
				slog.String("path", r.URL.Path),
				slog.Int("status", status),
				slog.Int("bytes", ww.BytesWritten()),
				slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
				slog.String("request_id", id),
			)
		}()
		next.ServeHTTP(ww, r)
	})
}

func isQuietPath(p string) bool {
	return strings.HasPrefix(p, "/health/") || p == "/livez" || p == "/readyz" || p == "/metrics"
}

// recoverer turns a handler's panic into a logged 500 problem, so one bad
// request never takes the process down. http.ErrAbortHandler is let through
// as net/http expects.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ww, ok := w.(middleware.WrapResponseWriter)
		if !ok {
			ww = middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		}
		defer func() {
			rec := recover()
			if rec == nil {
				return
			}
			if rec == http.ErrAbortHandler {
				panic(rec)
			}
			s.log.ErrorContext(r.Context(), "handler panic",
				"request_id", middleware.GetReqID(r.Context()),
				"method", r.Method, "path", r.URL.Path,
				"err", fmt.Sprint(rec), "stack", string(debug.Stack()))
			if ww.Status() == 0 {
				s.writeError(ww, r, fmt.Errorf("panic: %v", rec))
			}
		}()
		next.ServeHTTP(ww, r)
	})
}

// timeout bounds the request's context. Handlers pass the context to the
// store, which gives up when it expires.
func timeout(d time.Duration) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx, cancel := context.WithTimeout(r.Context(), d)
			defer cancel()
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}

// access is what a presented token allows.
type access int

const (
	accessNone access = iota
	accessRead
	accessWrite
)

// authenticator holds the SHA-256 of each configured token. Comparing
// fixed-length hashes with subtle.ConstantTimeCompare, over every token
// without stopping early, leaks neither a token's length nor which one matched.
type authenticator struct {
	write [][sha256.Size]byte
	read  [][sha256.Size]byte
}

func newAuthenticator(token string, readTokens []string) authenticator {
	var a authenticator
	if token != "" {
		a.write = append(a.write, sha256.Sum256([]byte(token)))
	}
	for _, t := range readTokens {
		if t != "" {
			a.read = append(a.read, sha256.Sum256([]byte(t)))
		}
	}
	return a
}

func (a authenticator) enabled() bool { return len(a.write)+len(a.read) > 0 }

func (a authenticator) lookup(token string) access {
	h := sha256.Sum256([]byte(token))
	var w, r int
	for _, k := range a.write {
		w |= subtle.ConstantTimeCompare(h[:], k[:])
	}
	for _, k := range a.read {
		r |= subtle.ConstantTimeCompare(h[:], k[:])
	}
	switch {
	case w == 1:
		return accessWrite
	case r == 1:
		return accessRead
	}
	return accessNone
}

// requireToken guards /api/v1. With no token configured everything is open
// (cmd/lookout then listens on loopback only). Otherwise reads need a read
// or write token and every other method needs the write token. The token
// comes as a bearer token or, from the dashboard, in the session cookie;
// a change sent with the cookie needs its CSRF token too.
func (s *Server) requireToken(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.auth.enabled() {
			next.ServeHTTP(w, r)
			return
		}
		token, ok := bearer(r)
		fromCookie := false
		if !ok {
			token, ok = s.sessions.cookie(r)
			fromCookie = ok
		}
		if !ok {
			s.writeError(w, r, authError(http.StatusUnauthorized, `Bearer realm="lookout"`,
				"this API needs a bearer token: send Authorization: Bearer <token>"))
			return
		}
		got := s.auth.lookup(token)
		if got == accessNone {
			s.writeError(w, r, authError(http.StatusUnauthorized, `Bearer realm="lookout", error="invalid_token"`,
				"the bearer token is not valid"))
			return
		}
		if !isRead(r.Method) && got != accessWrite {
			s.writeError(w, r, authError(http.StatusForbidden, `Bearer realm="lookout", error="insufficient_scope"`,
				"this token may only read; changes need the API token"))
			return
		}
		if fromCookie && !isRead(r.Method) && !s.sessions.validCSRF(r, token) {
			s.writeError(w, r, newHTTPError(http.StatusForbidden,
				"a change made with the dashboard's cookie needs its CSRF token in "+CSRFHeader))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func authError(status int, challenge, detail string) error {
	e := newHTTPError(status, detail)
	e.header = http.Header{"Www-Authenticate": {challenge}}
	return e
}

func isRead(method string) bool {
	return method == http.MethodGet || method == http.MethodHead || method == http.MethodOptions
}

func bearer(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}
