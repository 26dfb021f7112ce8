package web

import (
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/lookout/lookout/internal/uptime"
)

// Defaults of GET /api/v1/targets/{name}/components/{component}.
const (
	defaultComponentWindow = 24 * time.Hour
	defaultHistoryLimit    = 100
	maxHistoryLimit        = 1000
)

// componentView is a component's latest state and its uptime over the last
// 24 hours; uptime_24h is null when no time in them has a known status.
type componentView struct {
	uptime.ComponentState
	Uptime24h *float64 `json:"uptime_24h"`
}

// componentList is the body of GET /api/v1/targets/{name}/components.
type componentList struct {
	Components []componentView `json:"components"`
}

// componentDetail is the body of GET /api/v1/targets/{name}/components/{component}.
type componentDetail struct {
	Component uptime.ComponentState `json:"component"`
	// Uptime covers the window asked for; History is its latest points,
	// newest first.
	Uptime  uptime.Uptime           `json:"uptime"`
	History []uptime.ComponentPoint `json:"history"`
}

// handleComponentList returns every component a target's health documents
// reported, sorted by name, with their current status and 24-hour uptime.
func (s *Server) handleComponentList(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	tg, cs, err := s.targetComponents(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	now := s.now().UTC()
	tallies, err := s.store.ComponentTallies(ctx, tg.Name, now.Add(-defaultComponentWindow), now)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := componentList{Components: make([]componentView, 0, len(cs))}
	for _, c := range cs {
		t := tallies[c.Name]
		out.Components = append(out.Components, componentView{ComponentState: utcComponent(c), Uptime24h: availability(&t)})
	}
	s.writeJSON(w, r, http.StatusOK, out)
}

// handleComponentGet returns one component's state, its uptime over
// [from, to) (default: the last 24 hours) and its latest points in that
// window, newest first. A name with a slash is sent escaped (%2F).
func (s *Server) handleComponentGet(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	name, ok := routeComponent(r)
	if !ok {
		s.writeError(w, r, newHTTPError(http.StatusNotFound, "no component named "+quote(chi.URLParam(r, "component"))))
		return
	}
	from, to, limit, err := parseComponentQuery(r, s.now().UTC())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	tg, cs, err := s.targetComponents(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	i := slices.IndexFunc(cs, func(c uptime.ComponentState) bool { return c.Name == name })
	if i < 0 {
		s.writeError(w, r, newHTTPError(http.StatusNotFound,
			"no component named "+quote(name)+" in target "+quote(tg.Name)))
		return
	}
	out := componentDetail{Component: utcComponent(cs[i])}
	t, err := s.store.Tally(ctx, tg.Name, name, from, to)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out.Uptime = t.Uptime(from.UTC(), to.UTC())
	if out.History, err = s.store.ComponentHistory(ctx, tg.ID, name, from, to, limit); err != nil {
		s.writeError(w, r, err)
		return
	}
	if out.History == nil {
		out.History = []uptime.ComponentPoint{}
	}
	for i := range out.History {
		out.History[i].At = out.History[i].At.UTC()
	}
	s.writeJSON(w, r, http.StatusOK, out)
}

// targetComponents returns the target named in the path and the latest
// state of each of its components.
func (s *Server) targetComponents(r *http.Request) (uptime.Target, []uptime.ComponentState, error) {
	sn, err := s.store.GetTarget(r.Context(), routeName(r))
	if err != nil {
		return uptime.Target{}, nil, err
	}
	cs, err := s.store.Components(r.Context(), sn.Target.ID)
	return sn.Target, cs, err
}

// routeComponent is the {component} path segment, unescaped. chi matches
// against the escaped path when the request had escapes that matter (a
// %2F), and then the segment is still escaped.
func routeComponent(r *http.Request) (string, bool) {
	raw := chi.URLParam(r, "component")
	if r.URL.RawPath == "" {
		return raw, raw != ""
	}
	name, err := url.PathUnescape(raw)
	return name, err == nil && name != ""
}

// parseComponentQuery reads from, to and limit. A missing to is now, a
// missing from is 24 hours before to.
func parseComponentQuery(r *http.Request, now time.Time) (from, to time.Time, limit int, err error) {
	v := r.URL.Query()
	var verr uptime.ValidationError
	from, to = queryTime(v, "from", &verr), queryTime(v, "to", &verr)
	if to.IsZero() {
		to = now
	}
	if from.IsZero() {
		from = to.Add(-defaultComponentWindow)
	}
	if !from.Before(to) {
		verr.Add("to", "must be after from")
	}
	limit = queryLimit(v, defaultHistoryLimit, maxHistoryLimit, &verr)
	return from, to, limit, verr.Err()
}

func utcComponent(c uptime.ComponentState) uptime.ComponentState {
	c.Since, c.LastSeen = c.Since.UTC(), c.LastSeen.UTC()
	return c
}
