package ui

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/lookout/lookout/internal/uptime"
)

// chartRange is one of the latency chart's windows and its bucket.
type chartRange struct {
	Name string
	Span time.Duration
	Step time.Duration
}

var chartRanges = []chartRange{
	{"1h", time.Hour, time.Minute},
	{"24h", 24 * time.Hour, 15 * time.Minute},
	{"7d", 7 * 24 * time.Hour, 2 * time.Hour},
	{"30d", 30 * 24 * time.Hour, 12 * time.Hour},
	{"1y", 365 * 24 * time.Hour, 24 * time.Hour},
}

// Target page sizes.
const (
	targetResults    = 20
	targetIncidents  = 20
	targetComponents = 50
	componentDays    = 30
)

type uptimeFigure struct {
	Window string
	Uptime string
	Down   string
	Checks string
}

type componentRow struct {
	uptime.ComponentState
	StatusName string
	Up24h      string
	Strip      strip
}

type resultRow struct {
	At       time.Time
	Status   string
	Code     int
	Duration string
	Class    string
	Error    string
}

type targetData struct {
	Now        time.Time
	Target     uptime.Target
	State      uptime.State
	Status     string
	Failing    []componentRow
	Components []componentRow
	MoreComps  int
	Open       *incidentRow
	Range      string
	Ranges     []chartRange
	Chart      latencyChart
	Figures    []uptimeFigure
	Days       strip
	Incidents  []incidentRow
	Results    []resultRow
	Config     string
	// CauseIsTarget says the cause is a registered target, with a page.
	CauseIsTarget bool
}

func (h *Handler) handleTarget(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	now := h.now()
	sn, err := h.store.GetTarget(ctx, chi.URLParam(r, "name"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	name := sn.Target.Name
	d := targetData{Now: now, Target: sn.Target, State: sn.State, Status: shownStatus(&sn), Ranges: chartRanges, Range: "24h"}
	cr := chartRanges[1]
	for _, c := range chartRanges {
		if c.Name == r.URL.Query().Get("range") {
			cr, d.Range = c, c.Name
		}
	}
	from := now.Add(-cr.Span)
	trend, err := h.store.Trend(ctx, name, "", from, now, cr.Step)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d.Chart = newLatencyChart(trend, from.Truncate(cr.Step), now, cr.Step)

	// The uptime figures, today and the days of the strip: Briefs, in one
	// read.
	midnight := uptime.Day.Bucket(now)
	first := midnight.Add(-(stripDays - 1) * 24 * time.Hour)
	figures := []struct {
		name string
		d    time.Duration
	}{{"24 hours", 24 * time.Hour}, {"7 days", 7 * 24 * time.Hour}, {"30 days", 30 * 24 * time.Hour}, {"1 year", 365 * 24 * time.Hour}}
	q := uptime.PageQuery{IDs: []int64{sn.Target.ID}, Days: uptime.Interval{From: first, To: midnight}}
	for _, f := range figures {
		q.Briefs = append(q.Briefs, uptime.Interval{From: now.Add(-f.d), To: now})
	}
	q.Briefs = append(q.Briefs, uptime.Interval{From: midnight, To: now})
	p, err := h.store.PageHistory(ctx, q)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	for i, f := range figures {
		b := p.Briefs[i][sn.Target.ID]
		d.Figures = append(d.Figures, uptimeFigure{Window: f.name, Uptime: pctOfBrief(&b), Down: human(b.Down), Checks: thousands(b.Checks)})
	}
	d.Days = dayStrip(p.Days[sn.Target.ID], first, stripDays, false, todayBrief(p.Briefs[len(figures)][sn.Target.ID], midnight))

	comps, err := h.store.Components(ctx, sn.Target.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if len(comps) > 0 {
		tallies, err := h.store.ComponentTallies(ctx, name, now.Add(-24*time.Hour), now)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		cfirst := midnight.Add(-(componentDays - 1) * 24 * time.Hour)
		for i, c := range comps {
			cr := componentRow{ComponentState: c, StatusName: c.Status.String(), Up24h: pctOf(tallies[c.Name])}
			if i < targetComponents {
				cdays, err := h.store.Trend(ctx, name, c.Name, cfirst, now, 24*time.Hour)
				if err != nil {
					h.fail(w, r, err)
					return
				}
				cr.Strip = dayStrip(briefs(cdays), cfirst, componentDays, false)
				d.Components = append(d.Components, cr)
			} else {
				d.MoreComps++
			}
			if c.Status == uptime.StatusDown || c.Status == uptime.StatusDegraded {
				d.Failing = append(d.Failing, cr)
			}
		}
	}

	incs, err := h.store.ListIncidents(ctx, uptime.IncidentFilter{Target: name, Limit: targetIncidents})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d.Incidents = incidentRows(incs, nil, now)
	for i := range d.Incidents {
		if d.Incidents[i].Open {
			d.Open = &d.Incidents[i]
			break
		}
	}
	results, _, err := h.store.Results(ctx, ResultQuery{TargetID: sn.Target.ID, Limit: targetResults})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	for _, res := range results {
		rr := resultRow{At: res.StartedAt, Status: res.Status.String(), Code: res.Code, Duration: latency(res.Duration), Error: res.Error}
		if res.ErrorClass != 0 {
			rr.Class = res.ErrorClass.String()
		}
		d.Results = append(d.Results, rr)
	}
	t := sn.Target.Redacted()
	t.CreatedAt, t.UpdatedAt = t.CreatedAt.UTC(), t.UpdatedAt.UTC()
	b, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d.Config = string(b)
	if d.CauseIsTarget, err = h.isTarget(r, sn.State.Cause); err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, "target", page{Title: name, Nav: "overview", Data: d}, "")
}

// isTarget reports whether name is a registered target's.
func (h *Handler) isTarget(r *http.Request, name string) (bool, error) {
	if name == "" {
		return false, nil
	}
	_, err := h.store.GetTarget(r.Context(), name)
	if notFound(err) {
		return false, nil
	}
	return err == nil, err
}
