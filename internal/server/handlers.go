package server

import (
	"net/http"

	"github.com/montool/montool/internal/event"
)

// handleDump serves everything one client holds, grouped by key.
func (s *Server) handleDump() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		d, err := s.store.Dump(r.Context(), event.NormalizeID(r.PathValue("client_id")))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, d)
	}
}

// clientsResponse is the body of the client list.
type clientsResponse struct {
	Clients []event.ClientInfo `json:"clients"`
}

// handleClients lists the known clients with their event counts.
func (s *Server) handleClients() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		clients, err := s.store.Clients(r.Context())
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if clients == nil {
			clients = []event.ClientInfo{}
		}
		writeJSON(w, http.StatusOK, clientsResponse{Clients: clients})
	}
}

// handleHealth answers that the server is alive.
func handleHealth() http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	}
}
