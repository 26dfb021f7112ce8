package ui

import (
	"bytes"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lookout/lookout/internal/uptime"
)

// page is what every page's template gets.
type page struct {
	Title  string
	Nav    string // the navigation entry to mark current
	Viewer viewer
	// Refresh is the overview's refresh period in seconds, 0 elsewhere.
	Refresh int
	Data    any
}

// pageNames are the pages, each a template of its own over the layout.
var pageNames = []string{"overview", "target", "incidents", "incident", "status", "login", "error"}

func parsePages() map[string]*template.Template {
	out := map[string]*template.Template{}
	for _, name := range pageNames {
		t := template.New(name).Funcs(funcs)
		out[name] = template.Must(t.ParseFS(templateFS, "templates/layout.html", "templates/parts.html", "templates/"+name+".html"))
	}
	return out
}

var funcs = template.FuncMap{
	"pct":      pct,
	"pctOf":    pctOf,
	"ago":      ago,
	"dur":      human,
	"latency":  latency,
	"utc":      func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
	"day":      func(t time.Time) string { return t.UTC().Format("2006-01-02") },
	"iso":      func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"pathEsc":  url.PathEscape,
	"queryEsc": url.QueryEscape,
	"thousands": func(n int) string {
		return thousands(n)
	},
}

// render writes a whole page, or only the template block given (a
// fragment the page's script refreshes).
// pageBuffers keep the buffers pages are rendered into, which grow to a
// page's size (over 100 KiB for the overview): a page is not built by
// growing and copying a new one each time. Those grown past maxPooledPage
// are let go.
var pageBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

const maxPooledPage = 1 << 20

func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string, p page, block string) {
	p.Viewer = h.viewerOf(r)
	buf := pageBuffers.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= maxPooledPage {
			pageBuffers.Put(buf)
		}
	}()
	entry := "layout"
	if block != "" {
		entry = block
	}
	if err := h.pages[name].ExecuteTemplate(buf, entry, p); err != nil {
		h.log.ErrorContext(r.Context(), "render page", "page", name, "err", err)
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	setPageHeaders(w)
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func setPageHeaders(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	// Everything is served from here; inline SVG styles use classes only.
	w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "same-origin")
	w.Header().Set("Cache-Control", "no-store")
}

// renderError shows a page saying what went wrong.
func (h *Handler) renderError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	h.render(w, r, status, "error", page{Title: http.StatusText(status), Data: msg}, "")
}

// fail shows the store's error: not found as a 404, anything else as a
// 500 whose cause is logged, not shown.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	if notFound(err) {
		h.renderError(w, r, http.StatusNotFound, "There is no such page: it may have been deleted.")
		return
	}
	if r.Context().Err() != nil {
		return // the viewer went away
	}
	h.log.ErrorContext(r.Context(), "dashboard page", "path", r.URL.Path, "err", err)
	h.renderError(w, r, http.StatusInternalServerError, "Lookout could not read its store. The log says why.")
}

// pct shows an availability: never rounded up to 100 %, so that any
// downtime shows.
func pct(a float64) string {
	if a >= 1 {
		return "100%"
	}
	v := math.Floor(a*10000) / 100
	return strconv.FormatFloat(v, 'f', 2, 64) + "%"
}

// pctOf is pct of a tally's availability, or "–" with no known time.
func pctOf(t uptime.Tally) string {
	b := t.Brief()
	return pctOfBrief(&b)
}

// pctOfBrief is pctOf of a Brief.
func pctOfBrief(b *uptime.Brief) string {
	a, ok := b.Availability()
	if !ok {
		return "–"
	}
	return pct(a)
}

// latency shows a duration measured in milliseconds or seconds.
func latency(d time.Duration) string {
	switch {
	case d <= 0:
		return "–"
	case d < 10*time.Millisecond:
		return strconv.FormatFloat(float64(d)/1e6, 'f', 1, 64) + " ms"
	case d < time.Second:
		return strconv.FormatInt(d.Round(time.Millisecond).Milliseconds(), 10) + " ms"
	}
	return strconv.FormatFloat(d.Seconds(), 'f', 2, 64) + " s"
}

// human shows a duration for people: "3d 4h", "1h 30m", "12m 30s", "45s".
func human(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	d = d.Round(time.Second)
	days := d / (24 * time.Hour)
	d -= days * 24 * time.Hour
	hh, mm, ss := d/time.Hour, (d%time.Hour)/time.Minute, (d%time.Minute)/time.Second
	switch {
	case days > 0:
		return fmt.Sprintf("%dd %dh", days, hh)
	case hh > 0:
		return fmt.Sprintf("%dh %dm", hh, mm)
	case mm > 0:
		return fmt.Sprintf("%dm %ds", mm, ss)
	}
	return fmt.Sprintf("%ds", ss)
}

// ago is how long before now t was, or "never" for the zero time.

func ago(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	if d < time.Second {
		return "just now"
	}
	return human(d) + " ago"
}

func thousands(n int) string {
	s := strconv.Itoa(n)
	if n < 0 || len(s) <= 3 {
		return s
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }
