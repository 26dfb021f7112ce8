package ui

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/lookout/lookout/internal/uptime"
)

// statusPageTargets caps the status page: it is meant for a handful of
// public services.
const statusPageTargets = 200

type statusData struct {
	Title   string
	Now     time.Time
	Overall string
	Class   string
	Rows    []row
	More    bool
}

// handleStatus is the public status page: the targets carrying the
// configured label, their state, 30-day uptime and 90 days of history,
// and nothing else (no errors, URLs or incidents' details).
func (h *Handler) handleStatus(w http.ResponseWriter, r *http.Request) {
	if !h.cfg.StatusLabel.set() {
		h.renderError(w, r, http.StatusNotFound, "There is no such page.")
		return
	}
	ctx := r.Context()
	now := h.now()
	l := h.cfg.StatusLabel
	snaps, err := h.store.ListTargets(ctx, uptime.TargetFilter{Labels: map[string]string{l.Key: l.Value}, Limit: statusPageTargets + 1})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d := statusData{Title: h.cfg.StatusTitle, Now: now}
	if len(snaps) > statusPageTargets {
		snaps, d.More = snaps[:statusPageTargets], true
	}
	rows, err := h.rows(ctx, snaps, now)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	down, degraded := 0, 0
	for i := range rows {
		rows[i].LastError = "" // public: say that, not why
		switch rows[i].Status {
		case "down":
			down++
		case "degraded":
			degraded++
		}
	}
	d.Rows = rows
	switch {
	case len(rows) == 0:
		d.Overall, d.Class = "No services are listed yet.", "unknown"
	case down == len(rows):
		d.Overall, d.Class = "Major outage", "down"
	case down > 0:
		d.Overall, d.Class = "Partial outage", "down"
	case degraded > 0:
		d.Overall, d.Class = "Degraded performance", "degraded"
	default:
		d.Overall, d.Class = "All systems operational", "up"
	}
	// A public page is not the viewer's: no sign-in, no navigation.
	h.render(w, r, http.StatusOK, "status", page{Title: d.Title, Data: d}, "")
}

// publicTarget is the named target when it carries the status label.
func (h *Handler) publicTarget(r *http.Request) (uptime.Snapshot, bool, error) {
	if !h.cfg.StatusLabel.set() {
		return uptime.Snapshot{}, false, nil
	}
	sn, err := h.store.GetTarget(r.Context(), chi.URLParam(r, "name"))
	if notFound(err) {
		return sn, false, nil
	}
	if err != nil {
		return sn, false, err
	}
	l := h.cfg.StatusLabel
	v, ok := sn.Target.Labels[l.Key]
	return sn, ok && v == l.Value, nil
}

var statusColours = map[string]string{"up": "#2e7d32", "degraded": "#b26a00", "down": "#c62828", "unknown": "#616161", "paused": "#616161"}

// handleStatusBadge is a badge of a public target's state.
func (h *Handler) handleStatusBadge(w http.ResponseWriter, r *http.Request) {
	sn, ok, err := h.publicTarget(r)
	if err != nil || !ok {
		h.badgeMissing(w, r, err)
		return
	}
	st := shownStatus(&sn)
	writeBadge(w, badge(sn.Target.Name, st, statusColours[st]))
}

// handleUptimeBadge is a badge of a public target's uptime over a window
// such as 24h, 7d, 30d or 1y.
func (h *Handler) handleUptimeBadge(w http.ResponseWriter, r *http.Request) {
	win, ok := parseWindow(chi.URLParam(r, "window"))
	if !ok {
		h.renderError(w, r, http.StatusNotFound, "A badge's window is such as 24h, 7d, 30d or 1y.")
		return
	}
	sn, ok, err := h.publicTarget(r)
	if err != nil || !ok {
		h.badgeMissing(w, r, err)
		return
	}
	now := h.now()
	t, err := h.store.Tally(r.Context(), sn.Target.Name, "", now.Add(-win), now)
	if err != nil {
		h.badgeMissing(w, r, err)
		return
	}
	colour := "#616161"
	if a, ok := t.Availability(); ok {
		switch {
		case a >= 0.999:
			colour = "#2e7d32"
		case a >= 0.99:
			colour = "#7a8c00"
		case a >= 0.95:
			colour = "#b26a00"
		default:
			colour = "#c62828"
		}
	}
	writeBadge(w, badge("uptime "+chi.URLParam(r, "window"), pctOf(t), colour))
}

func (h *Handler) badgeMissing(w http.ResponseWriter, r *http.Request, err error) {
	if err != nil && !notFound(err) {
		h.fail(w, r, err)
		return
	}
	http.Error(w, "no such badge", http.StatusNotFound)
}

func writeBadge(w http.ResponseWriter, svg []byte) {
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Cache-Control", "max-age=60")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(svg)
}

// parseWindow reads a badge's window: a whole number of m, h, d, w or y,
// up to 10 years.
func parseWindow(s string) (time.Duration, bool) {
	units := map[byte]time.Duration{'m': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour, 'w': 7 * 24 * time.Hour, 'y': 365 * 24 * time.Hour}
	if len(s) < 2 {
		return 0, false
	}
	u, ok := units[s[len(s)-1]]
	n, err := strconv.Atoi(s[:len(s)-1])
	if !ok || err != nil || n <= 0 || strings.HasPrefix(s, "+") {
		return 0, false
	}
	d := time.Duration(n) * u
	return d, d <= 10*365*24*time.Hour
}
