package web

import (
	_ "embed"
	"net/http"
)

//go:embed static/index.html
var indexHTML []byte

// handleIndex serves the dashboard's landing page.
func (s *Server) handleIndex(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'self'")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(indexHTML)
}
