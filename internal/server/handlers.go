package server

import (
	"errors"
	"net/http"
	"slices"
	"strconv"

	"github.com/montool/montool/internal/dumpformat"
	"github.com/montool/montool/internal/event"
)

// handleDump serves everything one client holds, grouped by key, streamed
// as it is encoded.
func (s *Server) handleDump() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, ok := s.grantedClient(w, r)
		if !ok {
			return
		}
		q, format, err := parseDumpQuery(r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		v, err := s.store.View(r.Context(), id)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		v.Narrow(q)
		switch format {
		case "ndjson":
			w.Header().Set("Content-Type", mediaNDJSON)
		case "csv":
			w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		default:
			w.Header().Set("Content-Type", "application/json")
		}
		// A dump may take longer to read than the write timeout: the
		// deadline moves on as long as the reader takes what is written.
		pw := newProgressWriter(w, s.cfg.WriteTimeout)
		switch format {
		case "ndjson":
			err = dumpformat.WriteNDJSON(pw, v)
		case "csv":
			err = dumpformat.WriteCSV(pw, v)
		default:
			if err = dumpformat.WriteJSON(pw, v); err == nil {
				_, err = pw.Write([]byte{'\n'})
			}
		}
		if err != nil {
			// The status is sent: all the reader can see is a body that
			// ends before its end.
			s.log.Warn("dump cut short", "client_id", v.ClientID, "bytes", pw.written,
				"reason", cutReason(r.Context(), err, s.cfg.WriteTimeout))
		}
	}
}

// dumpFormats are the formats a dump is written in.
var dumpFormats = []string{"json", "ndjson", "csv"}

// parseDumpQuery reads the query parameters of a dump: key (repeated), from
// and to (timestamps as events take them), limit and format.
func parseDumpQuery(r *http.Request) (event.Query, string, error) {
	params := r.URL.Query()
	q := event.Query{Keys: params["key"]}
	for _, p := range []struct {
		name string
		ts   *event.Timestamp
		has  *bool
	}{{"from", &q.From, &q.HasFrom}, {"to", &q.To, &q.HasTo}} {
		if v := params.Get(p.name); v != "" {
			ts, err := event.ParseTimestamp(v)
			if err != nil {
				msg := err.Error()
				var e *event.Error
				if errors.As(err, &e) {
					msg = e.Message // without the event field's name
				}
				return q, "", &event.Error{Kind: event.ErrInvalid, Field: p.name, Message: msg}
			}
			*p.ts, *p.has = ts, true
		}
	}
	if v := params.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return q, "", &event.Error{Kind: event.ErrInvalid, Field: "limit", Message: "must be a whole number from 1, not " + strconv.Quote(v)}
		}
		q.Limit = n
	}
	format := params.Get("format")
	if format == "" {
		format = "json"
	}
	if !slices.Contains(dumpFormats, format) {
		return q, "", &event.Error{Kind: event.ErrInvalid, Field: "format", Message: "must be json, ndjson or csv, not " + strconv.Quote(format)}
	}
	return q, format, nil
}

// keySummary is what the client summary says of one key.
type keySummary struct {
	Key   string           `json:"event_key"`
	Type  string           `json:"event_type"`
	Count int64            `json:"event_count"`
	First *event.Timestamp `json:"first_timestamp,omitempty"` // TIME-SERIES only
	Last  event.Timestamp  `json:"last_timestamp"`
	Total *float64         `json:"event_value,omitempty"`
}

// clientSummary is the body of GET /api/v1/clients/{client_id}.
type clientSummary struct {
	ClientID string       `json:"client_id"`
	Events   int64        `json:"event_count"`
	Keys     []keySummary `json:"keys"`
}

// handleClient answers with a summary of one client: its keys, their
// types and counts, the timestamps of their first and last events (a
// CUMULATIVE key keeps only its latest) and the totals of CUMULATIVE keys.
func (s *Server) handleClient() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, ok := s.grantedClient(w, r)
		if !ok {
			return
		}
		v, err := s.store.View(r.Context(), id)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		sum := clientSummary{ClientID: v.ClientID, Keys: make([]keySummary, 0, len(v.Series))}
		for _, sv := range v.Series {
			k := keySummary{Key: sv.Key, Type: sv.Type.String(), Count: sv.Count, Last: sv.Last}
			if sv.Samples != nil {
				k.Count = int64(sv.Samples.Len())
				if k.Count > 0 {
					first := sv.Samples.At(0).Timestamp
					k.First, k.Last = &first, sv.Samples.At(int(k.Count)-1).Timestamp
				}
			} else {
				total := sv.Total
				k.Total = &total
			}
			sum.Events += k.Count
			sum.Keys = append(sum.Keys, k)
		}
		writeJSON(w, http.StatusOK, sum)
	}
}

// grantedClient returns the client of the request's path, or answers 403
// and returns false when the request's token is not granted it.
func (s *Server) grantedClient(w http.ResponseWriter, r *http.Request) (string, bool) {
	id := event.NormalizeID(r.PathValue("client_id"))
	if !mayActFor(r.Context(), id) {
		s.writeError(w, r, errNotGranted)
		return "", false
	}
	return id, true
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
		id, ok := s.grantedClient(w, r)
		if !ok {
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

// errNotReady is the error of every API request made before the store is
// ready.
var errNotReady = &event.Error{Kind: errUnavailable, Message: "montool is loading its data; try again shortly"}

// unready returns why the store cannot take r now, or nil when it can.
func (s *Server) unready(r *http.Request) error {
	if f, ok := s.store.(Failure); ok {
		if err := f.Failed(); err != nil {
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				return &event.Error{Kind: errUnavailable, Message: err.Error()}
			}
			return err
		}
	}
	if rd, ok := s.store.(Readiness); ok && !rd.Ready() {
		return errNotReady
	}
	return nil
}

// handleReady answers 200 once the store is ready, 503 before, and 503
// once it has failed.
func (s *Server) handleReady() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := s.unready(r); err != nil {
			w.Header().Set("Retry-After", "1")
			s.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	}
}

// whenReady answers instead of h while the store is not ready (503) or
// has failed.
func (s *Server) whenReady(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.unready(r); err != nil {
			w.Header().Set("Retry-After", "1")
			s.writeError(w, r, err)
			return
		}
		h.ServeHTTP(w, r)
	})
}
