package ui

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/lookout/lookout/internal/uptime"
)

// Overview paging.
const (
	// overviewRows is a page of the overview: small enough for the first
	// screen to stay light at any fleet size.
	overviewRows = 100
	// stripDays is the length of the overview's and the status page's strips.
	stripDays = 90
	// scanBatch and maxScans bound the store reads of one page when rows
	// are filtered here (paused targets, the attention groups).
	scanBatch = 500
	maxScans  = 20
)

// statuses are the shown statuses, for counts and the filter.
var statuses = []string{"down", "degraded", "up", "unknown", "paused"}

// filter is the overview's query: name part, labels, status.
type filter struct {
	Q      string
	Labels string // "team=payments,env=prod", as typed
	Status string
	labels map[string]string
	Cursor string
}

func parseFilter(v url.Values) (filter, []string) {
	f := filter{Q: strings.TrimSpace(v.Get("q")), Labels: strings.TrimSpace(v.Get("label")), Status: v.Get("status"), Cursor: v.Get("cursor")}
	var problems []string
	for part := range strings.SplitSeq(f.Labels, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, val, ok := strings.Cut(part, "=")
		if !ok || k == "" {
			problems = append(problems, fmt.Sprintf("%q is not a label: write key=value", part))
			continue
		}
		if f.labels == nil {
			f.labels = map[string]string{}
		}
		f.labels[strings.TrimSpace(k)] = strings.TrimSpace(val)
	}
	if f.Status != "" && !contains(statuses, f.Status) {
		problems = append(problems, fmt.Sprintf("%q is not a state", f.Status))
		f.Status = ""
	}
	return f, problems
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// query is the filter as URL parameters, without the cursor.
func (f filter) query() url.Values {
	v := url.Values{}
	if f.Q != "" {
		v.Set("q", f.Q)
	}
	if f.Labels != "" {
		v.Set("label", f.Labels)
	}
	if f.Status != "" {
		v.Set("status", f.Status)
	}
	return v
}

// group is one part of the overview's order: the targets of some shown
// statuses, read from the store by judged status where it can filter.
type group struct {
	judged []uptime.Status // what the store filters on; nil for all
	shown  map[string]bool // what is kept of that
}

// groups orders the overview: down first, then degraded, then the rest
// by name; with a status chosen, only those.
func (f filter) groups() []group {
	if f.Status != "" {
		g := group{shown: map[string]bool{f.Status: true}}
		if st, err := uptime.ParseStatus(f.Status); err == nil {
			g.judged = []uptime.Status{st}
		}
		return []group{g}
	}
	return []group{
		{judged: []uptime.Status{uptime.StatusDown}, shown: map[string]bool{"down": true}},
		{judged: []uptime.Status{uptime.StatusDegraded}, shown: map[string]bool{"degraded": true}},
		{shown: map[string]bool{"up": true, "unknown": true, "paused": true}},
	}
}

// cursor is where a page starts: a group and the last name shown of it.
type cursor struct {
	group int
	after string
}

func encodeCursor(c cursor) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(c.group) + ":" + c.after))
}

func decodeCursor(s string) cursor {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return cursor{}
	}
	g, after, ok := strings.Cut(string(b), ":")
	n, err := strconv.Atoi(g)
	if !ok || err != nil || n < 0 || n > 2 || (after != "" && !uptime.ValidName(after)) {
		return cursor{}
	}
	return cursor{n, after}
}

func shownStatus(sn *uptime.Snapshot) string {
	if sn.Target.Paused {
		return "paused"
	}
	return sn.State.Status.String()
}

// listPage reads one page of the overview's order: at most limit rows,
// and the cursor of the next page ("" at the end).
func (h *Handler) listPage(ctx context.Context, f filter, limit int) ([]uptime.Snapshot, string, error) {
	groups := f.groups()
	c := decodeCursor(f.Cursor)
	var out []uptime.Snapshot
	for gi := c.group; gi < len(groups); gi++ {
		g := groups[gi]
		after := ""
		if gi == c.group {
			after = c.after
		}
		// Rows the group does not show are few (paused ones, or the down
		// and degraded shown before): a batch a little over what the page
		// lacks is usually enough.
		sf := uptime.TargetFilter{Labels: f.labels, Name: f.Q, Status: g.judged, After: after, Limit: min(scanBatch, limit-len(out)+20)}
		for range maxScans {
			batch, err := h.store.ListTargets(ctx, sf)
			if err != nil {
				return nil, "", err
			}
			for i := range batch {
				if !g.shown[shownStatus(&batch[i])] {
					continue
				}
				if len(out) == limit {
					return out, encodeCursor(cursor{gi, out[len(out)-1].Target.Name}), nil
				}
				out = append(out, batch[i])
			}
			if len(batch) < sf.Limit {
				break
			}
			sf.After, sf.Limit = batch[len(batch)-1].Target.Name, scanBatch
		}
	}
	return out, "", nil
}

// row is one target on the overview or the status page.
type row struct {
	Name      string
	Status    string
	LastCheck time.Time
	Ago       string
	LastError string
	Flapping  bool
	Up24h     string
	Up30d     string
	P95       string
	Strip     strip
}

// overviewData is the overview page's.
type overviewData struct {
	Now       time.Time
	Total     int
	Counts    []stateCount
	Uptime24h string
	AsOf      time.Time
	Open      []incidentRow
	OpenMore  int
	Filter    filter
	Statuses  []string
	Problems  []string
	Rows      []row
	NextURL   string
	FirstURL  string
	FirstRun  bool
	CurlBase  string
}

type stateCount struct {
	Status string
	N      int
}

func (h *Handler) handleOverview(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	now := h.now()
	f, problems := parseFilter(r.URL.Query())
	d := overviewData{Now: now, Filter: f, Statuses: statuses, Problems: problems}
	counts, err := h.store.StateCounts(ctx)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	for _, st := range statuses {
		d.Counts = append(d.Counts, stateCount{st, counts[st]})
		d.Total += counts[st]
	}
	if d.Total == 0 {
		d.FirstRun = true
		d.CurlBase = h.publicURL(r)
		h.render(w, r, http.StatusOK, "overview", page{Title: "Overview", Nav: "overview", Data: d}, fragmentOf(r))
		return
	}
	fleet, asOf, err := h.store.FleetTally(ctx, now.Add(-24*time.Hour), now)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d.Uptime24h, d.AsOf = pctOf(fleet), asOf
	open, err := h.store.ListIncidents(ctx, uptime.IncidentFilter{OpenOnly: true, Limit: 11})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if len(open) > 10 {
		open, d.OpenMore = open[:10], 1
	}
	d.Open = incidentRows(open, nil, now)
	snaps, next, err := h.listPage(ctx, f, overviewRows)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if d.Rows, err = h.rows(ctx, snaps, now); err != nil {
		h.fail(w, r, err)
		return
	}
	q := f.query()
	if next != "" {
		q.Set("cursor", next)
		d.NextURL = "/?" + q.Encode()
		q.Del("cursor")
	}
	if f.Cursor != "" {
		d.FirstURL = "/?" + q.Encode()
	}
	h.render(w, r, http.StatusOK, "overview", page{Title: "Overview", Nav: "overview", Data: d,
		Refresh: int(h.cfg.Refresh / time.Second)}, fragmentOf(r))
}

// fragmentOf is the block the page's script asks for when it refreshes.
func fragmentOf(r *http.Request) string {
	if r.URL.Query().Get("fragment") == "1" {
		return "live"
	}
	return ""
}

// rows gives the page's targets their figures: one read of history for
// the whole page, whatever its length.
func (h *Handler) rows(ctx context.Context, snaps []uptime.Snapshot, now time.Time) ([]row, error) {
	if len(snaps) == 0 {
		return nil, nil
	}
	ids := make([]int64, len(snaps))
	for i := range snaps {
		ids[i] = snaps[i].Target.ID
	}
	p, first, err := h.pageHistory(ctx, ids, now)
	if err != nil {
		return nil, err
	}
	day, month, today := p.Tallies[0], p.Briefs[0], p.Briefs[1]
	out := make([]row, len(snaps))
	for i := range snaps {
		sn := &snaps[i]
		id := sn.Target.ID
		t24, t30 := day[id], month[id]
		out[i] = row{Name: sn.Target.Name, Status: shownStatus(sn), LastCheck: sn.State.LastCheck,
			Ago: ago(now, sn.State.LastCheck), LastError: sn.State.LastError, Flapping: sn.State.Flapping,
			Up24h: pctOf(t24), Up30d: pctOfBrief(&t30), P95: latency(t24.LatencyQuantile(0.95)),
			Strip: dayStrip(p.Days[id], first, stripDays, true, todayBrief(today[id], first.Add((stripDays-1)*24*time.Hour)))}
	}
	return out, nil
}

// pageHistory reads a page's 24-hour tallies (with their latencies, for
// the p95), its 30-day and today's Briefs, and the Briefs of the whole days
// before today in the strip, in one store read. The two windows start on
// the hour (up to an hour longer than their names): their first hour is
// then one hour rollup rather than up to sixty minute rollups per target,
// which is most of what a page of busy targets reads.
func (h *Handler) pageHistory(ctx context.Context, ids []int64, now time.Time) (p uptime.Page, first time.Time, err error) {
	midnight := uptime.Day.Bucket(now)
	first = midnight.Add(-(stripDays - 1) * 24 * time.Hour)
	p, err = h.store.PageHistory(ctx, uptime.PageQuery{IDs: ids,
		Tallies: []uptime.Interval{{From: uptime.Hour.Bucket(now.Add(-24 * time.Hour)), To: now}},
		Briefs:  []uptime.Interval{{From: uptime.Hour.Bucket(now.Add(-30 * 24 * time.Hour)), To: now}, {From: midnight, To: now}},
		Days:    uptime.Interval{From: first, To: midnight}})
	return p, first, err
}

// todayBrief is today's Brief so far, as a day of a strip.
func todayBrief(today uptime.Brief, midnight time.Time) uptime.Brief {
	today.Start = midnight
	return today
}

// publicURL is where the viewer reaches Lookout, for commands to copy.
func (h *Handler) publicURL(r *http.Request) string {
	if h.cfg.PublicURL != "" {
		return strings.TrimRight(h.cfg.PublicURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
