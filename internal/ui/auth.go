package ui

import (
	"net/http"
	"net/url"
	"strings"
)

type loginData struct {
	Next    string
	Failed  bool
	Enabled bool
}

// safeNext keeps a redirect on this site: a path, never //host or a scheme.
func safeNext(s string) string {
	if !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") || strings.HasPrefix(s, "/\\") {
		return "/"
	}
	return s
}

func (h *Handler) handleLoginForm(w http.ResponseWriter, r *http.Request) {
	d := loginData{Next: safeNext(r.URL.Query().Get("next")), Enabled: h.cfg.Auth != nil && h.cfg.Auth.AuthEnabled()}
	h.render(w, r, http.StatusOK, "login", page{Title: "Sign in", Data: d}, "")
}

// handleLogin keeps a valid token in the session cookie. A sign-in posted
// from another site is refused, so no page can sign a viewer in as someone
// else.
func (h *Handler) handleLogin(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		h.renderError(w, r, http.StatusForbidden, "Sign in from Lookout's own page.")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	next := safeNext(r.PostFormValue("next"))
	if h.cfg.Auth == nil || !h.cfg.Auth.AuthEnabled() {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	if !h.cfg.Auth.SignIn(w, r, strings.TrimSpace(r.PostFormValue("token"))) {
		h.render(w, r, http.StatusUnauthorized, "login", page{Title: "Sign in", Data: loginData{Next: next, Failed: true, Enabled: true}}, "")
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (h *Handler) handleLogout(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		h.renderError(w, r, http.StatusForbidden, "Sign out from Lookout's own page.")
		return
	}
	if h.cfg.Auth != nil {
		h.cfg.Auth.SignOut(w, r)
	}
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// sameOrigin reports whether a form was posted from this site: browsers
// send Origin (or at least Referer) with a cross-site POST.
func sameOrigin(r *http.Request) bool {
	src := r.Header.Get("Origin")
	if src == "" {
		src = r.Header.Get("Referer")
	}
	if src == "" {
		return true // not a browser's cross-site form
	}
	u, err := url.Parse(src)
	return err == nil && u.Host == r.Host
}
