package server

import (
	"net/http"

	"github.com/montool/montool/internal/auth"
)

// routes registers every route of the API in one place.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	s.handle(mux, "POST /api/v1/events", s.limitInFlight(s.authorize(auth.RoleIngest, s.whenReady(s.handleIngest()))))
	s.handle(mux, "GET /api/v1/clients", s.authorize(auth.RoleRead, s.whenReady(s.handleClients())))
	s.handle(mux, "GET /api/v1/clients/{client_id}/events", s.authorize(auth.RoleRead, s.whenReady(s.handleDump())))
	s.handle(mux, "GET /api/v1/clients/{client_id}", s.authorize(auth.RoleRead, s.whenReady(s.handleClient())))
	s.handle(mux, "DELETE /api/v1/clients/{client_id}", s.authorize(auth.RoleAdmin, s.whenReady(s.handleDelete())))
	s.handle(mux, "GET /api/v1/stats", s.authorize(auth.RoleAdmin, s.wholeServer(s.whenReady(s.handleStats()))))
	s.handle(mux, "GET /api/v1/export/prometheus", s.authorize(auth.RoleRead, s.whenReady(s.handleExportPrometheus())))
	s.handle(mux, "POST /-/reload", s.authorize(auth.RoleAdmin, s.wholeServer(s.handleReload())))
	s.handle(mux, "GET /api/v1/openapi.yaml", handleOpenAPI())
	s.handle(mux, "GET /healthz", handleHealth())
	s.handle(mux, "GET /readyz", s.handleReady())
	if s.cfg.MetricsPublic {
		s.handle(mux, "GET /metrics", s.metrics.handler())
	} else {
		s.handle(mux, "GET /metrics", s.authorize(auth.RoleAdmin, s.wholeServer(s.metrics.handler())))
	}
	return s.recoverPanics(s.observe(jsonMuxErrors(mux)))
}
