package ui

import (
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/lookout/lookout/internal/uptime"
)

// incidentsPage is how many recent incidents the incidents page lists.
const incidentsPage = 50

// incidentRow is an incident as the pages show it.
type incidentRow struct {
	ID         int64
	Target     string
	Open       bool
	StartedAt  time.Time
	ResolvedAt time.Time
	Duration   string
	Cause      string
	Error      string
	Class      string
	Failures   int
	AlertsSent int
	Suppressed string
	// Dependents are the incidents listed with it attributed to its target
	// while it lasted.
	Dependents []string
}

// incidentRows shows incs; dependents are looked for among all (incs when nil).
func incidentRows(incs, all []uptime.Incident, now time.Time) []incidentRow {
	if all == nil {
		all = incs
	}
	out := make([]incidentRow, len(incs))
	for i, in := range incs {
		row := incidentRow{ID: in.ID, Target: in.Target, Open: in.Open(), StartedAt: in.StartedAt, ResolvedAt: in.ResolvedAt,
			Duration: human(in.Duration(now)), Cause: in.Cause, Error: in.LastError, Failures: in.Failures,
			AlertsSent: in.AlertsSent, Suppressed: in.Suppressed}
		if in.ErrorClass != 0 {
			row.Class = in.ErrorClass.String()
		}
		end := in.ResolvedAt
		if end.IsZero() {
			end = now
		}
		for _, o := range all {
			if o.ID != in.ID && o.Cause == in.Target && !o.StartedAt.After(end) && (o.Open() || !o.ResolvedAt.Before(in.StartedAt)) {
				row.Dependents = append(row.Dependents, o.Target)
			}
		}
		out[i] = row
	}
	return out
}

type incidentsData struct {
	Now    time.Time
	Open   []incidentRow
	Recent []incidentRow
	Count  int
	MTTR   string
	MTBF   string
	Next   string
}

func (h *Handler) handleIncidents(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	now := h.now()
	before, _ := strconv.ParseInt(r.URL.Query().Get("before"), 10, 64)
	open, err := h.store.ListIncidents(ctx, uptime.IncidentFilter{OpenOnly: true, Limit: 500})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	recent, err := h.store.ListIncidents(ctx, uptime.IncidentFilter{Before: max(before, 0), Limit: incidentsPage + 1})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d := incidentsData{Now: now}
	if len(recent) > incidentsPage {
		recent = recent[:incidentsPage]
		d.Next = "/incidents?before=" + strconv.FormatInt(recent[len(recent)-1].ID, 10)
	}
	all := append(append([]uptime.Incident(nil), open...), recent...)
	d.Open = incidentRows(open, all, now)
	var closed []uptime.Incident
	for _, in := range recent {
		if !in.Open() {
			closed = append(closed, in)
		}
	}
	d.Recent = incidentRows(closed, all, now)
	st, err := h.store.IncidentStats(ctx, uptime.IncidentFilter{})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d.Count, d.MTTR, d.MTBF = st.Count, "–", "–"
	if st.HasMTTR {
		d.MTTR = human(st.MTTR)
	}
	if st.HasMTBF {
		d.MTBF = human(st.MTBF)
	}
	h.render(w, r, http.StatusOK, "incidents", page{Title: "Incidents", Nav: "incidents", Data: d}, "")
}

type incidentData struct {
	Now           time.Time
	Incident      incidentRow
	Related       []incidentRow
	CauseIsTarget bool
}

// handleIncident shows one incident, and the incidents attributed to it
// or that it is attributed to.
func (h *Handler) handleIncident(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	now := h.now()
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if err != nil || id <= 0 {
		h.renderError(w, r, http.StatusNotFound, "There is no such incident.")
		return
	}
	got, err := h.store.ListIncidents(ctx, uptime.IncidentFilter{Before: id + 1, Limit: 1})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if len(got) == 0 || got[0].ID != id {
		h.renderError(w, r, http.StatusNotFound, "There is no such incident: it may have gone with its target.")
		return
	}
	in := got[0]
	end := in.ResolvedAt
	if end.IsZero() {
		end = now
	}
	// The incidents around it: those it caused, and its cause's.
	around, err := h.store.ListIncidents(ctx, uptime.IncidentFilter{From: in.StartedAt.Add(-time.Hour), To: end.Add(time.Minute), Limit: 500})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	rows := incidentRows([]uptime.Incident{in}, around, now)
	var related []uptime.Incident
	for _, o := range around {
		if o.ID != in.ID && (o.Cause == in.Target || (in.Cause != "" && o.Target == in.Cause)) {
			related = append(related, o)
		}
	}
	d := incidentData{Now: now, Incident: rows[0], Related: incidentRows(related, around, now)}
	if d.CauseIsTarget, err = h.isTarget(r, in.Cause); err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, "incident", page{Title: "Incident " + strconv.FormatInt(id, 10), Nav: "incidents", Data: d}, "")
}
