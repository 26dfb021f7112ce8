package web

import (
	"net/http"

	"github.com/lookout/lookout/internal/uptime"
)

// Page sizes of GET /api/v1/targets/{name}/results.
const (
	defaultResultLimit = 100
	maxResultLimit     = 1000
)

// resultList is the body of GET /api/v1/targets/{name}/results.
type resultList struct {
	Results    []uptime.Result `json:"results"`
	NextCursor string          `json:"next_cursor"`
}

// handleResultList returns a target's raw results newest first, optionally
// between from (inclusive) and to (exclusive), a page at a time.
func (s *Server) handleResultList(w http.ResponseWriter, r *http.Request) {
	q, err := parseResultQuery(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	sn, err := s.store.GetTarget(r.Context(), routeName(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q.TargetID = sn.Target.ID
	res, next, err := s.store.Results(r.Context(), q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if res == nil {
		res = []uptime.Result{}
	}
	for i := range res {
		res[i] = utcResult(res[i])
	}
	s.writeJSON(w, r, http.StatusOK, resultList{Results: res, NextCursor: next})
}

// utcResult shows r's times in UTC, as every time the API shows.
func utcResult(r uptime.Result) uptime.Result {
	r.StartedAt, r.CertExpiry, r.ChainExpiry = r.StartedAt.UTC(), r.CertExpiry.UTC(), r.ChainExpiry.UTC()
	return r
}

func parseResultQuery(r *http.Request) (ResultQuery, error) {
	v := r.URL.Query()
	q := ResultQuery{Limit: defaultResultLimit, Cursor: v.Get("cursor")}
	var verr uptime.ValidationError
	q.From, q.To = queryTime(v, "from", &verr), queryTime(v, "to", &verr)
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		verr.Add("to", "must be after from")
	}
	q.Limit = queryLimit(v, defaultResultLimit, maxResultLimit, &verr)
	return q, verr.Err()
}
