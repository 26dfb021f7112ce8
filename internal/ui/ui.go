// Package ui serves Lookout's dashboard: server-rendered HTML pages of the
// targets, their history and incidents, a public status page and SVG
// badges, with no script build step and nothing loaded from elsewhere.
//
// It reads through the small Store interface it declares, the same store
// methods the JSON API reads, and signs viewers in through Auth, the API's
// own token check; cmd/lookout passes both in and mounts the handler.
package ui

import (
	"context"
	"embed"
	"errors"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/lookout/lookout/internal/uptime"
)

// Store is what the dashboard reads. Its methods are the JSON API's
// (web.Store), plus the page reads of many targets at once.
type Store interface {
	// GetTarget returns a target and its state, or uptime.ErrNotFound.
	GetTarget(ctx context.Context, name string) (uptime.Snapshot, error)
	// ListTargets returns targets sorted by name, after f.After, at most f.Limit.
	ListTargets(ctx context.Context, f uptime.TargetFilter) ([]uptime.Snapshot, error)
	// Results returns a target's raw results newest first and the cursor
	// of the next page.
	Results(ctx context.Context, q ResultQuery) ([]uptime.Result, string, error)
	// Components returns the latest state of each component of a target,
	// sorted by name.
	Components(ctx context.Context, targetID int64) ([]uptime.ComponentState, error)
	// ComponentTallies adds up each component's history over [from, to), by name.
	ComponentTallies(ctx context.Context, target string, from, to time.Time) (map[string]uptime.Tally, error)
	// Tally adds up a target's (component "") or a component's history
	// over [from, to); uptime.ErrNotFound for an unknown one.
	Tally(ctx context.Context, target, component string, from, to time.Time) (uptime.Tally, error)
	// Trend is that history in buckets of step, oldest first.
	Trend(ctx context.Context, target, component string, from, to time.Time, step time.Duration) ([]uptime.Rollup, error)
	// PageHistory reads what a page of targets shows of their history:
	// whole tallies over some windows, Briefs over others, and each day's
	// Brief (see PageQuery).
	PageHistory(ctx context.Context, q uptime.PageQuery) (uptime.Page, error)
	// FleetTally adds up every target's history over [from, to) as of the
	// last rollup, which it returns too.
	FleetTally(ctx context.Context, from, to time.Time) (uptime.Tally, time.Time, error)
	// StateCounts counts the targets by shown status ("paused" included).
	StateCounts(ctx context.Context) (map[string]int, error)
	// ListIncidents returns incidents newest first.
	ListIncidents(ctx context.Context, f uptime.IncidentFilter) ([]uptime.Incident, error)
	// IncidentStats sums up every incident of f, its paging aside.
	IncidentStats(ctx context.Context, f uptime.IncidentFilter) (uptime.IncidentStats, error)
}

// ResultQuery selects a page of one target's raw results.
type ResultQuery struct {
	TargetID int64
	From, To time.Time
	Limit    int
	Cursor   string
}

// Auth is the API's authentication, shared with the dashboard (web.Sessions).
type Auth interface {
	// AuthEnabled reports whether any token is configured.
	AuthEnabled() bool
	// Access tells what the request's token allows.
	Access(r *http.Request) (read, write bool)
	// SignIn keeps a valid token in the session cookie and reports
	// whether it was valid.
	SignIn(w http.ResponseWriter, r *http.Request, token string) bool
	// SignOut clears the session cookie.
	SignOut(w http.ResponseWriter, r *http.Request)
	// CSRFToken is what a change made with the request's cookie carries.
	CSRFToken(r *http.Request) string
}

// CSRFHeader is the header the page's script sends the CSRF token in
// (web.CSRFHeader).
const CSRFHeader = "X-Lookout-CSRF"

// Config configures the dashboard.
type Config struct {
	// Auth signs viewers in; nil leaves the dashboard open.
	Auth Auth
	// StatusLabel turns the public status page and badges on for the
	// targets carrying this label (key and value); the zero value leaves
	// them off.
	StatusLabel Label
	// StatusTitle heads the status page; "" is "Status".
	StatusTitle string
	// PublicURL is where people reach Lookout, for the first-run panel's
	// curl; "" uses the request's host.
	PublicURL string
	// Logger receives errors; nil discards them.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Refresh is how often the overview refreshes itself; 0 means 30 s.
	Refresh time.Duration
}

// Label is one key=value pair.
type Label struct{ Key, Value string }

// ParseLabel reads "key=value"; "" is the zero Label. Errors name what is
// wrong.
func ParseLabel(s string) (Label, error) {
	if s == "" {
		return Label{}, nil
	}
	for i := 0; i < len(s); i++ {
		if s[i] == '=' {
			if i == 0 {
				break
			}
			return Label{s[:i], s[i+1:]}, nil
		}
	}
	return Label{}, errors.New("a label is key=value, such as team=public")
}

func (l Label) set() bool { return l.Key != "" }

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Handler serves the dashboard.
type Handler struct {
	cfg    Config
	store  Store
	log    *slog.Logger
	now    func() time.Time
	pages  map[string]*template.Template
	router http.Handler
}

// New returns the dashboard's handler. It panics if its own templates do
// not parse, which a test catches.
func New(cfg Config, st Store) *Handler {
	h := &Handler{cfg: cfg, store: st, log: cfg.Logger, now: cfg.Now}
	if h.log == nil {
		h.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.cfg.Refresh <= 0 {
		h.cfg.Refresh = 30 * time.Second
	}
	if h.cfg.StatusTitle == "" {
		h.cfg.StatusTitle = "Status"
	}
	h.pages = parsePages()
	h.router = h.routes()
	return h
}

// ServeHTTP serves one request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.router.ServeHTTP(w, r) }

func (h *Handler) routes() http.Handler {
	r := chi.NewRouter()
	// Pages are repetitive markup: gzip makes them a fraction of their size.
	r.Use(middleware.GetHead, middleware.Compress(5, "text/html", "text/css", "text/javascript", "image/svg+xml"))
	static, _ := fs.Sub(staticFS, "static")
	fileServer := http.StripPrefix("/static/", http.FileServer(http.FS(static)))
	r.Get("/static/*", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		fileServer.ServeHTTP(w, r)
	})
	r.Get("/login", h.handleLoginForm)
	r.Post("/login", h.handleLogin)
	r.Post("/logout", h.handleLogout)
	r.Get("/status", h.handleStatus)
	r.Get("/badge/{name}/status.svg", h.handleStatusBadge)
	r.Get("/badge/{name}/uptime/{window}.svg", h.handleUptimeBadge)
	r.Group(func(r chi.Router) {
		r.Use(h.requireViewer)
		r.Get("/", h.handleOverview)
		r.Get("/targets/{name}", h.handleTarget)
		r.Get("/incidents", h.handleIncidents)
		r.Get("/incidents/{id}", h.handleIncident)
	})
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		h.renderError(w, r, http.StatusNotFound, "There is no such page.")
	})
	// OPTIONS is answered as the API answers it: 204 and Allow.
	r.MethodNotAllowed(func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Allow", strings.Join(allowedMethods(r, req.URL.Path), ", "))
		if req.Method == http.MethodOptions {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		h.renderError(w, req, http.StatusMethodNotAllowed, "This page cannot be "+req.Method+".")
	})
	return r
}

// allowedMethods lists the methods routes answers on path: HEAD wherever
// GET, and OPTIONS.
func allowedMethods(routes chi.Routes, path string) []string {
	var out []string
	for _, m := range []string{http.MethodGet, http.MethodPost} {
		if routes.Match(chi.NewRouteContext(), m, path) {
			out = append(out, m)
			if m == http.MethodGet {
				out = append(out, http.MethodHead)
			}
		}
	}
	return append(out, http.MethodOptions)
}

// requireViewer sends a viewer without a valid token to the sign-in page.
func (h *Handler) requireViewer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h.cfg.Auth != nil {
			if read, _ := h.cfg.Auth.Access(r); !read {
				http.Redirect(w, r, "/login?next="+urlQueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// viewer is what the request may do on the page.
type viewer struct {
	CanWrite  bool
	SignedIn  bool
	CSRF      string
	StatusURL string
}

func (h *Handler) viewerOf(r *http.Request) viewer {
	v := viewer{CanWrite: true}
	if a := h.cfg.Auth; a != nil && a.AuthEnabled() {
		_, v.CanWrite = a.Access(r)
		v.SignedIn = true
		v.CSRF = a.CSRFToken(r)
	}
	if h.cfg.StatusLabel.set() {
		v.StatusURL = "/status"
	}
	return v
}

// notFound reports whether err is the store's "no such thing".
func notFound(err error) bool { return errors.Is(err, uptime.ErrNotFound) }
