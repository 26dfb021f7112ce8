package web

import (
	"cmp"
	"encoding/csv"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/lookout/lookout/internal/uptime"
)

// Defaults and limits of the history routes.
const (
	defaultUptimeWindows = "24h,7d,30d"
	maxUptimeWindows     = 20
	maxWindow            = 10 * 365 * 24 * time.Hour
	defaultTrendWindow   = 24 * time.Hour
	defaultTrendStep     = time.Hour
	defaultTrendsWindow  = 7 * 24 * time.Hour
)

// parseWindow reads a window length: a whole number with a unit of m, h,
// d (24h), w (7d) or y (365d), or any Go duration ("1h30m").
func parseWindow(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("is empty")
	}
	d, ok := uptime.ParseSpan(s)
	if !ok {
		if strings.ContainsAny(s[len(s)-1:], "dwy") {
			return 0, fmt.Errorf("%q is not a window such as 24h, 7d, 4w or 1y", s)
		}
		return 0, fmt.Errorf("%q is not a window: use a number with a unit of m, h, d, w or y, such as 24h, 7d or 1y", s)
	}
	if d < time.Minute || d > maxWindow {
		return 0, fmt.Errorf("%q must be between 1m and 10y", s)
	}
	return d, nil
}

// uptimeWindow is one window of GET /api/v1/targets/{name}/uptime.
type uptimeWindow struct {
	Window string    `json:"window"`
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
	// Uptime is the available share of the time whose status is known;
	// null when none is.
	Uptime      *float64        `json:"uptime"`
	Downtime    uptime.Duration `json:"downtime"`
	Degraded    uptime.Duration `json:"degraded"`
	Unknown     uptime.Duration `json:"unknown"`
	Maintenance uptime.Duration `json:"maintenance"`
	Paused      uptime.Duration `json:"paused"`
	Observed    uptime.Duration `json:"observed"`
	Checks      int             `json:"checks"`
	Failures    int             `json:"failures"`
	// With the target's slo set.
	ErrorBudget *errorBudget `json:"error_budget,omitempty"`
	BurnRate    *float64     `json:"burn_rate,omitempty"`
}

// errorBudget is the downtime an objective allows over a window's known
// time, and how much of it is spent.
type errorBudget struct {
	Objective float64         `json:"objective"`
	Allowed   uptime.Duration `json:"allowed"`
	Spent     uptime.Duration `json:"spent"`
	Left      uptime.Duration `json:"left"`
	// LeftRatio is Left/Allowed: 1 untouched, 0 spent, negative overspent.
	LeftRatio float64 `json:"left_ratio"`
}

type uptimeResponse struct {
	Target  string         `json:"target"`
	SLO     float64        `json:"slo,omitempty"`
	Windows []uptimeWindow `json:"windows"`
}

// handleTargetUptime answers uptime per window, rolling (the last 30×24h)
// unless align=day, which starts each whole-day window at a midnight in tz
// (default UTC) and runs to now: 7d is the six days before today, and
// today so far.
func (s *Server) handleTargetUptime(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	var verr uptime.ValidationError
	spec := v.Get("windows")
	if spec == "" {
		spec = defaultUptimeWindows
	}
	names := strings.Split(spec, ",")
	if len(names) > maxUptimeWindows {
		verr.Add("windows", fmt.Sprintf("at most %d windows", maxUptimeWindows))
	}
	lengths := make([]time.Duration, len(names))
	for i, n := range names {
		d, err := parseWindow(n)
		if err != nil {
			verr.Add("windows", err.Error())
		}
		lengths[i] = d
	}
	align := v.Get("align")
	if align != "" && align != "day" {
		verr.Add("align", fmt.Sprintf("%q is not an alignment: leave it out for rolling windows, or use day", align))
	}
	loc := time.UTC
	if tz := v.Get("tz"); tz != "" {
		l, err := time.LoadLocation(tz)
		if err != nil || strings.EqualFold(tz, "local") {
			verr.Add("tz", fmt.Sprintf("%q is not a time zone name such as Europe/Paris", tz))
		} else {
			loc = l
		}
	}
	if err := verr.Err(); err != nil {
		s.writeError(w, r, err)
		return
	}
	snap, err := s.store.GetTarget(r.Context(), routeName(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	now := s.now()
	out := uptimeResponse{Target: snap.Target.Name, SLO: snap.Target.SLO, Windows: make([]uptimeWindow, len(names))}
	for i, d := range lengths {
		from := now.Add(-d)
		if align == "day" && d%(24*time.Hour) == 0 {
			y, m, day := now.In(loc).Date()
			from = time.Date(y, m, day-int(d/(24*time.Hour))+1, 0, 0, 0, 0, loc)
		}
		t, err := s.store.Tally(r.Context(), snap.Target.Name, "", from, now)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		out.Windows[i] = uptimeWindowOf(strings.TrimSpace(names[i]), from, now, &t, snap.Target.SLO)
	}
	s.writeJSON(w, r, http.StatusOK, out)
}

func uptimeWindowOf(name string, from, to time.Time, t *uptime.Tally, slo float64) uptimeWindow {
	u := uptimeWindow{
		Window: name, From: from.UTC(), To: to.UTC(),
		Downtime: uptime.Duration(t.DownTime), Degraded: uptime.Duration(t.DegradedTime),
		Unknown: uptime.Duration(t.UnknownTime), Maintenance: uptime.Duration(t.MaintenanceTime),
		Paused: uptime.Duration(t.PausedTime), Observed: uptime.Duration(t.Observed()),
		Checks: t.Checks(), Failures: t.Failures(),
	}
	a, ok := t.Availability()
	if ok {
		u.Uptime = &a
	}
	if slo > 0 && slo < 1 {
		allowed := time.Duration(float64(t.Known()) * (1 - slo)).Round(time.Millisecond)
		b := &errorBudget{Objective: slo, Allowed: uptime.Duration(allowed), Spent: uptime.Duration(t.DownTime),
			Left: uptime.Duration(allowed - t.DownTime), LeftRatio: 1}
		if allowed > 0 {
			b.LeftRatio = float64(allowed-t.DownTime) / float64(allowed)
		}
		u.ErrorBudget = b
		if ok {
			burn := uptime.BurnRate(t, slo)
			u.BurnRate = &burn
		}
	}
	return u
}

// latencyView is a bucket's latencies in milliseconds.
type latencyView struct {
	Avg float64 `json:"avg_ms"`
	P50 float64 `json:"p50_ms"`
	P95 float64 `json:"p95_ms"`
	P99 float64 `json:"p99_ms"`
	Max float64 `json:"max_ms"`
}

func latencyOf(t *uptime.Tally) *latencyView {
	if t.Latency.Count() == 0 {
		return nil
	}
	return &latencyView{Avg: ms(t.LatencyMean()), P50: ms(t.LatencyQuantile(0.5)), P95: ms(t.LatencyQuantile(0.95)),
		P99: ms(t.LatencyQuantile(0.99)), Max: ms(t.LatencyMax)}
}

// ms is d in milliseconds, to the microsecond.
func ms(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }

type trendBucket struct {
	Start    time.Time       `json:"start"`
	Checks   int             `json:"checks"`
	Failures int             `json:"failures"`
	Uptime   *float64        `json:"uptime"`
	Downtime uptime.Duration `json:"downtime"`
	Unknown  uptime.Duration `json:"unknown"`
	Latency  *latencyView    `json:"latency"`
}

type trendResponse struct {
	Target    string          `json:"target"`
	Component string          `json:"component,omitempty"`
	From      time.Time       `json:"from"`
	To        time.Time       `json:"to"`
	Step      uptime.Duration `json:"step"`
	Buckets   []trendBucket   `json:"buckets"`
}

// handleTargetTrend answers a target's history in buckets of step (5m,
// 1h, 1d, … any whole number of minutes; default 1h) over [from, to)
// (default the last 24 hours); with Accept: text/csv, as CSV.
func (s *Server) handleTargetTrend(w http.ResponseWriter, r *http.Request) {
	s.trend(w, r, "")
}

// handleComponentTrend is handleTargetTrend for one component.
func (s *Server) handleComponentTrend(w http.ResponseWriter, r *http.Request) {
	name, ok := routeComponent(r)
	if !ok {
		s.writeError(w, r, newHTTPError(http.StatusNotFound, "no component named "+quote(chi.URLParam(r, "component"))))
		return
	}
	s.trend(w, r, name)
}

func (s *Server) trend(w http.ResponseWriter, r *http.Request, component string) {
	v := r.URL.Query()
	var verr uptime.ValidationError
	now := s.now()
	from, to := queryTime(v, "from", &verr), queryTime(v, "to", &verr)
	if to.IsZero() {
		to = now
	}
	if from.IsZero() {
		from = to.Add(-defaultTrendWindow)
	}
	if !from.Before(to) {
		verr.Add("from", "must be before to")
	}
	step := defaultTrendStep
	if st := v.Get("step"); st != "" {
		d, err := parseWindow(st)
		switch {
		case err != nil:
			verr.Add("step", err.Error())
		case d%time.Minute != 0:
			verr.Add("step", "must be a whole number of minutes")
		default:
			step = d
		}
	}
	if err := verr.Err(); err != nil {
		s.writeError(w, r, err)
		return
	}
	out := trendResponse{Target: routeName(r), Component: component, From: from.UTC(), To: to.UTC(),
		Step: uptime.Duration(step), Buckets: []trendBucket{}}
	err := s.store.EachTrendBucket(r.Context(), routeName(r), component, from, to, step, func(rb *uptime.Rollup) {
		t := &rb.Tally
		b := trendBucket{Start: rb.Start.UTC(), Checks: t.Checks(), Failures: t.Failures(),
			Downtime: uptime.Duration(t.DownTime), Unknown: uptime.Duration(t.UnknownTime), Latency: latencyOf(t)}
		if a, ok := t.Availability(); ok {
			b.Uptime = &a
		}
		out.Buckets = append(out.Buckets, b)
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if wantsCSV(r) {
		writeTrendCSV(w, &out)
		return
	}
	s.writeJSON(w, r, http.StatusOK, out)
}

// wantsCSV reports whether the client asked for text/csv over JSON.
func wantsCSV(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		switch strings.ToLower(strings.TrimSpace(mt)) {
		case "text/csv":
			return true
		case "application/json", "*/*":
			return false
		}
	}
	return false
}

// writeTrendCSV writes a trend for spreadsheets: one row per bucket,
// durations in seconds, latencies in milliseconds, empty cells where
// there is no data.
func writeTrendCSV(w http.ResponseWriter, t *trendResponse) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	name := t.Target
	if t.Component != "" {
		name += "-" + t.Component
	}
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-trend.csv"`, safeFilename(name)))
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"start", "checks", "failures", "uptime", "downtime_s", "unknown_s",
		"latency_avg_ms", "latency_p50_ms", "latency_p95_ms", "latency_p99_ms", "latency_max_ms"})
	f := func(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }
	for _, b := range t.Buckets {
		row := []string{b.Start.Format(time.RFC3339), strconv.Itoa(b.Checks), strconv.Itoa(b.Failures), "",
			f(b.Downtime.D().Seconds()), f(b.Unknown.D().Seconds()), "", "", "", "", ""}
		if b.Uptime != nil {
			row[3] = f(*b.Uptime)
		}
		if l := b.Latency; l != nil {
			row[6], row[7], row[8], row[9], row[10] = f(l.Avg), f(l.P50), f(l.P95), f(l.P99), f(l.Max)
		}
		_ = cw.Write(row)
	}
	cw.Flush()
}

// safeFilename keeps a name's letters, digits, '.', '_' and '-'.
func safeFilename(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 128 && (r == '.' || r == '_' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return r
		}
		return '_'
	}, s)
}

// trendRow is one target in GET /api/v1/trends.
type trendRow struct {
	Target string `json:"target"`
	// Uptime and P95 are of the window; the Before ones of the window
	// before it. null where a window has no data.
	Uptime       *float64 `json:"uptime"`
	UptimeBefore *float64 `json:"uptime_before"`
	// UptimeChange is Uptime − UptimeBefore (negative: less available).
	UptimeChange *float64 `json:"uptime_change"`
	P95          *float64 `json:"p95_ms"`
	P95Before    *float64 `json:"p95_before_ms"`
	// P95Change is P95 / P95Before − 1 (0.25: a quarter slower).
	P95Change *float64 `json:"p95_change"`
}

type trendsResponse struct {
	From    time.Time  `json:"from"`
	To      time.Time  `json:"to"`
	Compare time.Time  `json:"compared_from"`
	Targets []trendRow `json:"targets"`
}

// handleTrends compares each target's uptime and p95 latency over the
// last window of whole UTC days with the window before it, the targets
// that got worst first: by uptime lost, then by latency gained.
func (s *Server) handleTrends(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	var verr uptime.ValidationError
	day := 24 * time.Hour
	window, compare := defaultTrendsWindow, time.Duration(0)
	for _, p := range []struct {
		name string
		into *time.Duration
	}{{"window", &window}, {"compare", &compare}} {
		if q := v.Get(p.name); q != "" {
			d, err := parseWindow(q)
			switch {
			case err != nil:
				verr.Add(p.name, err.Error())
			case d%day != 0:
				verr.Add(p.name, "must be whole days, such as 7d")
			default:
				*p.into = d
			}
		}
	}
	if compare == 0 {
		compare = window
	}
	labels := parseLabelFilter(v, &verr)
	if err := verr.Err(); err != nil {
		s.writeError(w, r, err)
		return
	}
	to := uptime.Day.Bucket(s.now())
	from, before := to.Add(-window), to.Add(-window-compare)
	ctx := r.Context()
	names, err := s.store.TargetNames(ctx, labels)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := trendsResponse{From: from, To: to, Compare: before, Targets: make([]trendRow, 0, len(names))}
	rows := make(map[int64]int, len(names)) // index in out.Targets
	for id, name := range names {
		rows[id] = len(out.Targets)
		out.Targets = append(out.Targets, trendRow{Target: name})
	}
	// Each target's two windows, as each is read: a Tally is over 2 KiB.
	err = s.store.EachDailyTally(ctx, from, to, func(id int64, t *uptime.Tally) {
		if i, ok := rows[id]; ok {
			out.Targets[i].Uptime, out.Targets[i].P95 = availability(t), p95(t)
		}
	})
	if err == nil {
		err = s.store.EachDailyTally(ctx, before, from, func(id int64, t *uptime.Tally) {
			if i, ok := rows[id]; ok {
				out.Targets[i].UptimeBefore, out.Targets[i].P95Before = availability(t), p95(t)
			}
		})
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	for i := range out.Targets {
		row := &out.Targets[i]
		if row.Uptime != nil && row.UptimeBefore != nil {
			d := *row.Uptime - *row.UptimeBefore
			row.UptimeChange = &d
		}
		if row.P95 != nil && row.P95Before != nil && *row.P95Before > 0 {
			c := *row.P95 / *row.P95Before - 1
			row.P95Change = &c
		}
	}
	// Names are unique: the order is total, no stable sort needed.
	slices.SortFunc(out.Targets, func(x, y trendRow) int {
		if c := cmp.Compare(orZero(x.UptimeChange), orZero(y.UptimeChange)); c != 0 {
			return c // the most uptime lost first
		}
		if c := cmp.Compare(orZero(y.P95Change), orZero(x.P95Change)); c != 0 {
			return c // then the most slowed down
		}
		return cmp.Compare(x.Target, y.Target)
	})
	s.writeJSON(w, r, http.StatusOK, out)
}

func availability(t *uptime.Tally) *float64 {
	if a, ok := t.Availability(); ok {
		return &a
	}
	return nil
}

func p95(t *uptime.Tally) *float64 {
	if t.Latency.Count() == 0 {
		return nil
	}
	v := ms(t.LatencyQuantile(0.95))
	return &v
}

func orZero(p *float64) float64 {
	if p == nil {
		return 0
	}
	return *p
}

// summary is the body of GET /api/v1/summary: the dashboard's header.
type summary struct {
	Targets       int            `json:"targets"`
	ByStatus      map[string]int `json:"by_status"`
	OpenIncidents int            `json:"open_incidents"`
	// Uptime24h is the whole fleet's over the last 24 hours, as of the
	// last rollup; null without data.
	Uptime24h *float64 `json:"uptime_24h"`
	// AsOf is when that figure was rolled up to; null before the first
	// rollup.
	AsOf *time.Time `json:"as_of"`
}

// handleSummary counts targets by state and open incidents, and gives
// the fleet's 24-hour uptime.
func (s *Server) handleSummary(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	counts, err := s.store.StateCounts(ctx)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := summary{ByStatus: map[string]int{}}
	for st, n := range counts {
		out.ByStatus[st] = n
		out.Targets += n
	}
	if out.OpenIncidents, err = s.store.OpenIncidentCount(ctx); err != nil {
		s.writeError(w, r, err)
		return
	}
	now := s.now()
	t, asOf, err := s.store.FleetTally(ctx, now.Add(-24*time.Hour), now)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out.Uptime24h = availability(&t)
	if !asOf.IsZero() {
		asOf = asOf.UTC()
		out.AsOf = &asOf
	}
	s.writeJSON(w, r, http.StatusOK, out)
}
