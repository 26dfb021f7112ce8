package web

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/lookout/lookout/internal/uptime"
)

// Page sizes of GET /api/v1/incidents and GET /api/v1/notifications.
const (
	defaultLogLimit = 100
	maxLogLimit     = 500
)

// incidentView is an incident as the API shows it: with whether it is
// still open and how long it lasted (so far, while open).
type incidentView struct {
	uptime.Incident
	Duration uptime.Duration `json:"duration"`
	Open     bool            `json:"open"`
}

func incidentViewOf(i uptime.Incident, now time.Time) incidentView {
	i.StartedAt, i.DetectedAt, i.ResolvedAt = i.StartedAt.UTC(), i.DetectedAt.UTC(), i.ResolvedAt.UTC()
	return incidentView{Incident: i, Duration: uptime.Duration(i.Duration(now)), Open: i.Open()}
}

// incidentList is the body of GET /api/v1/incidents.
type incidentList struct {
	Incidents  []incidentView `json:"incidents"`
	NextCursor string         `json:"next_cursor"`
	Stats      incidentStats  `json:"stats"`
}

// incidentStats sums up every incident of the filter, on every page: mean
// time to recovery and mean time between failures (from a target's
// recovery to its next incident); null when there is nothing to average.
type incidentStats struct {
	Count int              `json:"count"`
	Open  int              `json:"open"`
	MTTR  *uptime.Duration `json:"mttr"`
	MTBF  *uptime.Duration `json:"mtbf"`
}

func incidentStatsOf(st uptime.IncidentStats) incidentStats {
	out := incidentStats{Count: st.Count, Open: st.Open}
	if st.HasMTTR {
		d := uptime.Duration(st.MTTR.Round(time.Second))
		out.MTTR = &d
	}
	if st.HasMTBF {
		d := uptime.Duration(st.MTBF.Round(time.Second))
		out.MTBF = &d
	}
	return out
}

// handleIncidentList lists incidents newest first, filtered by target
// name, open ones only (?open=true) and time, a page at a time.
func (s *Server) handleIncidentList(w http.ResponseWriter, r *http.Request) {
	f, err := parseIncidentQuery(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	limit := f.Limit
	f.Limit++ // one more tells whether there is a next page
	incs, err := s.store.ListIncidents(r.Context(), f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	incs, next := pageByID(incs, limit, func(i uptime.Incident) int64 { return i.ID })
	st, err := s.store.IncidentStats(r.Context(), f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := incidentList{Incidents: make([]incidentView, len(incs)), NextCursor: next, Stats: incidentStatsOf(st)}
	now := s.now()
	for i, inc := range incs {
		out.Incidents[i] = incidentViewOf(inc, now)
	}
	s.writeJSON(w, r, http.StatusOK, out)
}

func parseIncidentQuery(r *http.Request) (uptime.IncidentFilter, error) {
	v := r.URL.Query()
	var verr uptime.ValidationError
	f := uptime.IncidentFilter{Target: v.Get("target")}
	if f.Target != "" && !uptime.ValidName(f.Target) {
		verr.Add("target", fmt.Sprintf("%q is not a valid target name", f.Target))
	}
	if o := v.Get("open"); o != "" {
		open, err := strconv.ParseBool(o)
		switch {
		case err != nil:
			verr.Add("open", fmt.Sprintf("%q is not true or false", o))
		case !open:
			verr.Add("open", "only open=true filters; leave it out for every incident")
		default:
			f.OpenOnly = true
		}
	}
	f.From, f.To = queryTime(v, "from", &verr), queryTime(v, "to", &verr)
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		verr.Add("to", "must be after from")
	}
	f.Limit = queryLimit(v, defaultLogLimit, maxLogLimit, &verr)
	f.Before = queryCursor(v, &verr)
	return f, verr.Err()
}
