package server

import (
	"net/http"
	"slices"

	"github.com/montool/montool/internal/event"
)

// handleDump serves everything one client holds, grouped by key, streamed
// as it is encoded.
func (s *Server) handleDump() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := event.NormalizeID(r.PathValue("client_id"))
		if !mayActFor(r.Context(), id) {
			s.writeError(w, r, errNotGranted)
			return
		}
		v, err := s.store.View(r.Context(), id)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if err := v.WriteJSON(w); err != nil {
			s.log.Debug("dump cut short", "client_id", v.ClientID, "err", err)
			return
		}
		w.Write([]byte{'\n'}) // an error here means the client went away
	}
}

// errNotGranted refuses to read or delete a client the request's token is
// not granted. It is the same whether the client exists or not.
var errNotGranted = &event.Error{Kind: event.ErrForbidden, Message: "this token is not granted this client"}

// deleteResponse is the body of the answer to a deletion.
type deleteResponse struct {
	ClientID      string `json:"client_id"`
	DeletedEvents int64  `json:"deleted_events"`
}

// handleDelete forgets a client and everything it sent.
func (s *Server) handleDelete() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := event.NormalizeID(r.PathValue("client_id"))
		if !mayActFor(r.Context(), id) {
			s.writeError(w, r, errNotGranted)
			return
		}
		n, err := s.store.Delete(r.Context(), id)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		s.log.Info("client deleted", "client_id", id, "events", n)
		writeJSON(w, http.StatusOK, deleteResponse{ClientID: id, DeletedEvents: n})
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
		clients = slices.DeleteFunc(clients, func(c event.ClientInfo) bool { return !mayActFor(r.Context(), c.ClientID) })
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

// Readiness is what a Store that is not usable at once implements, such as
// a durable store loading its data: until Ready reports true, the API
// answers 503 and /readyz says so.
type Readiness interface {
	Ready() bool
}

// errNotReady is the error of every API request made before the store is
// ready.
var errNotReady = &event.Error{Kind: errUnavailable, Message: "montool is loading its data; try again shortly"}

// ready reports whether the store is ready for requests.
func (s *Server) ready() bool {
	r, ok := s.store.(Readiness)
	return !ok || r.Ready()
}

// handleReady answers 200 once the store is ready, 503 before.
func (s *Server) handleReady() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.ready() {
			w.Header().Set("Retry-After", "1")
			s.writeError(w, r, errNotReady)
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	}
}

// whenReady answers 503 instead of h until the store is ready.
func (s *Server) whenReady(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.ready() {
			w.Header().Set("Retry-After", "1")
			s.writeError(w, r, errNotReady)
			return
		}
		h.ServeHTTP(w, r)
	})
}
