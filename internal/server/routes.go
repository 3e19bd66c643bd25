package server

import (
	"net/http"

	"github.com/montool/montool/internal/auth"
)

// routes registers every route of the API in one place.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("POST /api/v1/events", s.limitInFlight(s.authorize(auth.RoleIngest, s.whenReady(s.handleIngest()))))
	mux.Handle("GET /api/v1/clients", s.authorize(auth.RoleRead, s.whenReady(s.handleClients())))
	mux.Handle("GET /api/v1/clients/{client_id}/events", s.authorize(auth.RoleRead, s.whenReady(s.handleDump())))
	mux.Handle("GET /api/v1/clients/{client_id}", s.authorize(auth.RoleRead, s.whenReady(s.handleClient())))
	mux.Handle("DELETE /api/v1/clients/{client_id}", s.authorize(auth.RoleAdmin, s.whenReady(s.handleDelete())))
	mux.Handle("GET /api/v1/stats", s.authorize(auth.RoleAdmin, s.whenReady(s.handleStats())))
	mux.Handle("GET /api/v1/export/prometheus", s.authorize(auth.RoleRead, s.whenReady(s.handleExportPrometheus())))
	mux.Handle("GET /healthz", handleHealth())
	mux.Handle("GET /readyz", s.handleReady())
	if s.cfg.MetricsPublic {
		mux.Handle("GET /metrics", s.metrics.handler())
	} else {
		mux.Handle("GET /metrics", s.authorize(auth.RoleAdmin, s.metrics.handler()))
	}
	return s.recoverPanics(s.observe(jsonMuxErrors(mux)))
}
