package web

import (
	_ "embed"
	"net/http"
)

// openAPI is the hand-written description of the routes in routes.go; a
// test keeps the two in step.
//
//go:embed openapi.json
var openAPI []byte

// handleOpenAPI serves the OpenAPI 3.1 document.
func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(openAPI)
}
