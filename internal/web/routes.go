package web

import (
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
)

// routes builds the router. Probes, /metrics, /openapi.json and the
// dashboard are outside this auth (the dashboard asks for a token itself,
// through Sessions); /api/v1 is behind it. HEAD is answered
// by every GET route, without the body, and OPTIONS by every route, with
// 204 and Allow; both pass the same auth as GET, since the method-not-
// allowed handler that answers OPTIONS runs behind /api/v1's middleware.
func (s *Server) routes() http.Handler {
	r := chi.NewRouter()
	// No RealIP: X-Forwarded-For is not trusted, the peer address is logged as is.
	r.Use(middleware.RequestID, s.accessLog, s.recoverer, middleware.GetHead)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, newHTTPError(http.StatusNotFound, "no such route"))
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, req *http.Request) {
		allow := strings.Join(allowedMethods(r, req), ", ")
		if req.Method == http.MethodOptions {
			w.Header().Set("Allow", allow)
			w.WriteHeader(http.StatusNoContent)
			return
		}
		e := newHTTPError(http.StatusMethodNotAllowed, "the route does not allow "+req.Method)
		e.header = http.Header{"Allow": {allow}}
		s.writeError(w, req, e)
	})

	if s.cfg.UI != nil {
		for _, p := range []string{"/", "/targets/*", "/incidents", "/incidents/*", "/status", "/badge/*",
			"/static/*", "/login", "/logout"} {
			r.Handle(p, s.cfg.UI)
		}
	} else {
		r.Get("/", s.handleIndex)
	}
	r.Get("/openapi.json", s.handleOpenAPI)
	r.Method(http.MethodGet, "/metrics", s.metrics)
	r.Get("/health/live", s.handleHealthLive)
	r.Get("/livez", s.handleHealthLive)
	r.Get("/health/ready", s.handleHealthReady)
	r.Get("/readyz", s.handleHealthReady)

	r.Route("/api/v1", func(r chi.Router) {
		r.Use(s.requireToken)
		r.Group(func(r chi.Router) {
			r.Use(timeout(s.cfg.RequestTimeout))
			r.Get("/targets", s.handleTargetList)
			r.Post("/targets", s.handleTargetCreate)
			r.Get("/targets/{name}", s.handleTargetGet)
			r.Put("/targets/{name}", s.handleTargetPut)
			r.Patch("/targets/{name}", s.handleTargetPatch)
			r.Delete("/targets/{name}", s.handleTargetDelete)
			r.Post("/targets/{name}/pause", s.handleTargetPause)
			r.Post("/targets/{name}/resume", s.handleTargetResume)
			r.Get("/targets/{name}/results", s.handleResultList)
			r.Get("/targets/{name}/components", s.handleComponentList)
			r.Get("/targets/{name}/components/{component}", s.handleComponentGet)
			r.Get("/targets/{name}/components/{component}/trend", s.handleComponentTrend)
			r.Get("/targets/{name}/uptime", s.handleTargetUptime)
			r.Get("/targets/{name}/trend", s.handleTargetTrend)
			r.Post("/sync", s.handleSync)
			r.Get("/trends", s.handleTrends)
			r.Get("/summary", s.handleSummary)
			r.Get("/cluster", s.handleCluster)

			r.Get("/channels", s.handleChannelList)
			r.Post("/channels", s.handleChannelCreate)
			r.Get("/channels/{name}", s.handleChannelGet)
			r.Put("/channels/{name}", s.handleChannelPut)
			r.Patch("/channels/{name}", s.handleChannelPatch)
			r.Delete("/channels/{name}", s.handleChannelDelete)
			r.Post("/channels/{name}/test", s.handleChannelTest)

			r.Get("/incidents", s.handleIncidentList)
			r.Get("/notifications", s.handleNotificationList)

			r.Get("/silences", s.handleSilenceList)
			r.Post("/silences", s.handleSilenceCreate)
			r.Get("/silences/{id}", s.handleSilenceGet)
			r.Patch("/silences/{id}", s.handleSilencePatch)
			r.Delete("/silences/{id}", s.handleSilenceDelete)
			r.Get("/maintenance", s.handleMaintenanceList)
			r.Post("/maintenance", s.handleMaintenanceCreate)
			r.Get("/maintenance/{id}", s.handleMaintenanceGet)
			r.Patch("/maintenance/{id}", s.handleMaintenancePatch)
			r.Delete("/maintenance/{id}", s.handleMaintenanceDelete)
		})
		// A check may take the target's whole timeout: it sets its own deadline.
		r.Post("/targets/{name}/check", s.handleTargetCheck)
	})
	return r
}

// allowedMethods lists the methods the request's path answers, for the
// Allow header of a 405 (RFC 9110, 15.5.6) and of OPTIONS: those routed,
// HEAD wherever GET is, and OPTIONS. chi sends Allow only from its own 405
// handler.
func allowedMethods(routes chi.Routes, r *http.Request) []string {
	path := r.URL.RawPath
	if path == "" {
		path = r.URL.Path
	}
	var out []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		if routes.Match(chi.NewRouteContext(), m, path) {
			out = append(out, m)
			if m == http.MethodGet {
				out = append(out, http.MethodHead)
			}
		}
	}
	if len(out) > 0 {
		out = append(out, http.MethodOptions)
	}
	return out
}
