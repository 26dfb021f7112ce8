package web

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/lookout/lookout/internal/uptime"
)

// silenceView is a silence as the API shows it, with whether it is in
// force now.
type silenceView struct {
	uptime.Silence
	Active bool `json:"active"`
}

func silenceViewOf(s uptime.Silence, now time.Time) silenceView {
	s.StartsAt, s.EndsAt, s.CreatedAt = s.StartsAt.UTC(), s.EndsAt.UTC(), s.CreatedAt.UTC()
	return silenceView{Silence: s, Active: !now.Before(s.StartsAt) && now.Before(s.EndsAt)}
}

// silenceInput is what POST accepts: a silence, plus the read-only
// members a GET returns, which are ignored.
type silenceInput struct {
	uptime.Silence
	Active json.RawMessage `json:"active,omitempty"`
}

// silenceList is the body of GET /api/v1/silences.
type silenceList struct {
	Silences []silenceView `json:"silences"`
}

// routeID is the {id} of a silence or maintenance route. A malformed id
// names nothing, so it is a 404 like an unknown one.
func routeID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if err != nil || id < 1 {
		return 0, uptime.ErrNotFound
	}
	return id, nil
}

// findByID returns the item of the listing that the route's {id} names,
// or uptime.ErrNotFound. Silences and maintenance windows are few, so the
// stores offer no lookup by id.
func findByID[T any](r *http.Request, list func(context.Context) ([]T, error), id func(T) int64) (T, error) {
	var zero T
	want, err := routeID(r)
	if err != nil {
		return zero, err
	}
	all, err := list(r.Context())
	if err != nil {
		return zero, err
	}
	for _, x := range all {
		if id(x) == want {
			return x, nil
		}
	}
	return zero, uptime.ErrNotFound
}

func silenceLocation(id int64) string { return "/api/v1/silences/" + strconv.FormatInt(id, 10) }

// handleSilenceList lists every silence, expired ones included.
func (s *Server) handleSilenceList(w http.ResponseWriter, r *http.Request) {
	ss, err := s.store.ListSilences(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	now := s.now()
	out := silenceList{Silences: make([]silenceView, len(ss))}
	for i, sl := range ss {
		out.Silences[i] = silenceViewOf(sl, now)
	}
	s.writeJSON(w, r, http.StatusOK, out)
}

// handleSilenceCreate adds a silence: 201 with Location. starts_at
// defaults to now; ends_at must be after it and in the future.
func (s *Server) handleSilenceCreate(w http.ResponseWriter, r *http.Request) {
	b, err := readBody(w, r, "application/json")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var in silenceInput
	if err := decodeJSON(b, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	now := s.now().UTC()
	sl := in.Silence
	sl.ID, sl.CreatedAt = 0, time.Time{}
	if sl.StartsAt.IsZero() {
		sl.StartsAt = now
	}
	sl.StartsAt, sl.EndsAt = sl.StartsAt.UTC(), sl.EndsAt.UTC()
	if err := sl.Validate(); err != nil {
		s.writeError(w, r, err)
		return
	}
	if !sl.EndsAt.After(now) {
		s.writeError(w, r, uptime.Invalid("ends_at", "must be in the future"))
		return
	}
	if err := s.store.CreateSilence(r.Context(), &sl); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", silenceLocation(sl.ID))
	s.writeJSON(w, r, http.StatusCreated, silenceViewOf(sl, now))
}

// handleSilenceGet returns one silence.
func (s *Server) handleSilenceGet(w http.ResponseWriter, r *http.Request) {
	sl, err := findByID(r, s.store.ListSilences, func(sl uptime.Silence) int64 { return sl.ID })
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, silenceViewOf(sl, s.now()))
}

// handleSilenceDelete removes a silence, ending it at once: 204.
func (s *Server) handleSilenceDelete(w http.ResponseWriter, r *http.Request) {
	id, err := routeID(r)
	if err == nil {
		err = s.store.DeleteSilence(r.Context(), id)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
