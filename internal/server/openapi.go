package server

import (
	_ "embed"
	"net/http"
	"strings"
)

// openAPI is the OpenAPI 3.1 document of the API.
//
//go:embed openapi.yaml
var openAPI []byte

// handleOpenAPI serves the OpenAPI document.
func handleOpenAPI() http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/yaml")
		w.Write(openAPI)
	}
}

// Routes returns the patterns the server routes, as "METHOD /path".
func (s *Server) Routes() []string { return s.patterns }

// handle registers h for pattern on mux and remembers the pattern.
func (s *Server) handle(mux *http.ServeMux, pattern string, h http.Handler) {
	if !strings.Contains(pattern, " ") {
		panic("route without a method: " + pattern)
	}
	s.patterns = append(s.patterns, pattern)
	mux.Handle(pattern, h)
}
