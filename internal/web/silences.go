package web

import (
	"context"
	"encoding/json"
	"fmt"
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

// handleSilencePatch applies a JSON merge patch (RFC 7386) to a silence
// and validates the result as a whole; its id and created_at cannot
// change. Moving ends_at before now ends the silence now: it is stored as
// now. A silence that ends sooner, or no longer matches a target, lets the
// reminders it held back go out when it lets go (the store sees to it).
func (s *Server) handleSilencePatch(w http.ResponseWriter, r *http.Request) {
	id, err := routeID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	b, err := readMergePatch(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	now := s.now().UTC()
	sl, err := s.store.UpdateSilence(r.Context(), id, func(cur *uptime.Silence) error {
		var in silenceInput
		if err := mergeInto(silenceViewOf(*cur, now), b, &in); err != nil {
			return err
		}
		next := in.Silence
		if next.ID != cur.ID {
			return uptime.Invalid("id", "cannot be changed")
		}
		next.CreatedAt = cur.CreatedAt
		next.StartsAt, next.EndsAt = next.StartsAt.UTC(), next.EndsAt.UTC()
		if err := endsNow(&next.EndsAt, cur.EndsAt, now); err != nil {
			return err
		}
		if err := next.Validate(); err != nil {
			return err
		}
		*cur = next
		return nil
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, silenceViewOf(sl, now))
}

// mergeInto merges an RFC 7386 patch into cur as the API shows it and
// decodes the result into v, strictly, as a POST body is.
func mergeInto(cur any, patch []byte, v any) error {
	doc, err := json.Marshal(cur)
	if err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	merged, err := mergePatch(doc, patch)
	if err != nil {
		return err
	}
	return decodeJSON(merged, v)
}

// endsNow applies the rule of an edited end: a silence or window that has
// not ended may be ended now by an ends_at in the past, which is stored as
// now; one that has ended can only be given an end in the future again.
func endsNow(ends *time.Time, was, now time.Time) error {
	if ends.Equal(was) || ends.IsZero() || ends.After(now) {
		return nil
	}
	if !was.After(now) {
		return uptime.Invalid("ends_at", "must be in the future: it has ended already")
	}
	*ends = now
	return nil
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
