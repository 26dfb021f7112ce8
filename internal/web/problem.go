package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/lookout/lookout/internal/uptime"
)

// problem is an RFC 9457 problem details document. Lookout uses the
// "about:blank" type throughout: the status code says what kind of problem
// it is, detail says what happened and errors says which fields to fix.
type problem struct {
	Type      string              `json:"type"`
	Title     string              `json:"title"`
	Status    int                 `json:"status"`
	Detail    string              `json:"detail,omitempty"`
	Errors    []uptime.FieldError `json:"errors,omitempty"`
	RequestID string              `json:"request_id,omitempty"`
}

// httpError is an error that already knows its HTTP status: what the
// request decoder and the auth middleware return. Its detail is safe to
// show to the client.
type httpError struct {
	status int
	detail string
	fields []uptime.FieldError
	header http.Header
}

func (e *httpError) Error() string { return e.detail }

func newHTTPError(status int, detail string, fields ...uptime.FieldError) *httpError {
	return &httpError{status: status, detail: detail, fields: fields}
}

// writeError is the one place an error becomes a response. Domain errors
// map to their status; anything unrecognised is a 500 whose text is logged
// with the request id and never sent to the client.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	p := problem{RequestID: middleware.GetReqID(r.Context())}
	var (
		herr *httpError
		verr *uptime.ValidationError
	)
	switch {
	case errors.As(err, &herr):
		p.Status, p.Detail, p.Errors = herr.status, herr.detail, herr.fields
		for k, v := range herr.header {
			w.Header()[k] = v
		}
	case errors.As(err, &verr):
		p.Status, p.Detail, p.Errors = http.StatusBadRequest, "the request has invalid fields", verr.Errors
	case errors.Is(err, uptime.ErrNotFound):
		p.Status, p.Detail = http.StatusNotFound, notFoundDetail(r)
	case errors.Is(err, uptime.ErrConflict):
		p.Status, p.Detail = http.StatusConflict, conflictDetail(r)
	case errors.Is(err, uptime.ErrUnavailable):
		p.Status, p.Detail = http.StatusServiceUnavailable, "a component Lookout needs is unavailable; retry later"
		w.Header().Set("Retry-After", "5")
		s.log.WarnContext(r.Context(), "request failed", "request_id", p.RequestID, "err", err)
	case errors.Is(err, context.DeadlineExceeded):
		p.Status, p.Detail = http.StatusServiceUnavailable, "the request took too long"
		s.log.WarnContext(r.Context(), "request timed out", "request_id", p.RequestID, "err", err)
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		// The client went away; nobody reads this answer.
		s.log.DebugContext(r.Context(), "request canceled", "request_id", p.RequestID)
		p.Status, p.Detail = 499, "the request was canceled"
	default:
		p.Status, p.Detail = http.StatusInternalServerError, "an internal error occurred; the request id is in the server log"
		s.log.ErrorContext(r.Context(), "request failed", "request_id", p.RequestID,
			"method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeProblem(w, p)
}

func writeProblem(w http.ResponseWriter, p problem) {
	if p.Type == "" {
		p.Type = "about:blank"
	}
	if p.Title == "" {
		p.Title = http.StatusText(p.Status)
		if p.Title == "" {
			p.Title = "Client Closed Request"
		}
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

func notFoundDetail(r *http.Request) string {
	switch routeResource(r) {
	case "channels":
		return "no channel named " + quote(routeName(r))
	case "silences":
		return "no silence with id " + quote(chi.URLParam(r, "id"))
	case "maintenance":
		return "no maintenance window with id " + quote(chi.URLParam(r, "id"))
	}
	if name := routeName(r); name != "" {
		return "no target named " + quote(name)
	}
	return "not found"
}

func conflictDetail(r *http.Request) string {
	if routeResource(r) == "channels" {
		return "a channel with that name already exists; use PUT /api/v1/channels/{name} to replace it"
	}
	return "a target with that name already exists; use PUT /api/v1/targets/{name} to replace it"
}

// routeResource is the collection a matched /api/v1 route belongs to
// ("targets", "channels"), or "" outside of one.
func routeResource(r *http.Request) string {
	rc := chi.RouteContext(r.Context())
	if rc == nil {
		return ""
	}
	rest, ok := strings.CutPrefix(rc.RoutePattern(), "/api/v1/")
	if !ok {
		return ""
	}
	res, _, _ := strings.Cut(rest, "/")
	return res
}

// quote quotes s for a detail message without JSON-escaping twice.
func quote(s string) string { return `"` + s + `"` }

// writeJSON writes v as a JSON response with the given status.
func (s *Server) writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
