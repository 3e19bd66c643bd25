package server

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"

	"github.com/montool/montool/internal/event"
)

// ingestResponse is the body of every answer of the events endpoint: the
// summary, and an error object when the status is not 2xx.
type ingestResponse struct {
	event.Summary
	Error *errorBody `json:"error,omitempty"`
}

// handleIngest takes one event object or a batch of them.
func (s *Server) handleIngest() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := checkContentType(r.Header.Get("Content-Type")); err != nil {
			s.writeIngestError(w, r, event.Summary{}, err)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				err = &event.Error{Kind: event.ErrTooLarge, Message: "request body is larger than the limit of " + strconv.FormatInt(tooLarge.Limit, 10) + " bytes"}
			} else {
				err = &event.Error{Kind: event.ErrInvalid, Message: "reading the request body failed: " + err.Error()}
			}
			s.writeIngestError(w, r, event.Summary{}, err)
			return
		}
		items, err := event.Decode(body, s.cfg.MaxBatchEvents)
		if err != nil {
			s.writeIngestError(w, r, event.Summary{}, err)
			return
		}

		var sum event.Summary
		valid := make([]event.Event, 0, len(items))
		index := make([]int, 0, len(items)) // position in the request of each valid event
		for i, it := range items {
			if it.Err != nil {
				sum.Errors = append(sum.Errors, itemError(i, it.RawID, it.Err))
				continue
			}
			valid = append(valid, it.Event)
			index = append(index, i)
		}
		results, err := s.store.Apply(r.Context(), valid)
		if err != nil {
			s.writeIngestError(w, r, event.Summary{}, fmt.Errorf("apply %d events: %w", len(valid), err))
			return
		}
		for j, res := range results {
			switch {
			case res.Err != nil:
				sum.Errors = append(sum.Errors, itemError(index[j], valid[j].ID, res.Err))
			case res.Duplicate:
				sum.Duplicates++
			default:
				sum.Accepted++
			}
		}
		sum.Rejected = len(sum.Errors)
		slices.SortFunc(sum.Errors, func(a, b event.ItemError) int { return a.Index - b.Index })

		switch {
		case sum.Rejected > 0:
			kind := event.ErrConflict
			for _, e := range sum.Errors {
				if e.Code != event.Code(event.ErrConflict) {
					kind = event.ErrInvalid
				}
			}
			s.writeIngestError(w, r, sum, &event.Error{Kind: kind, Message: rejectedMessage(sum, len(items))})
		case sum.Accepted > 0:
			writeJSON(w, http.StatusAccepted, ingestResponse{Summary: withErrors(sum)})
		default:
			writeJSON(w, http.StatusOK, ingestResponse{Summary: withErrors(sum)})
		}
	}
}

// writeIngestError answers the events endpoint with an error and the summary.
func (s *Server) writeIngestError(w http.ResponseWriter, r *http.Request, sum event.Summary, err error) {
	status, code := statusOf(err)
	body := s.errorBody(r, status, code, err)
	writeJSON(w, status, ingestResponse{Summary: withErrors(sum), Error: &body})
}

// withErrors makes sure the errors list is written as [] rather than null.
func withErrors(sum event.Summary) event.Summary {
	if sum.Errors == nil {
		sum.Errors = []event.ItemError{}
	}
	return sum
}

func itemError(index int, eventID string, err error) event.ItemError {
	ie := event.ItemError{Index: index, EventID: eventID, Code: event.Code(err), Message: err.Error()}
	var e *event.Error
	if errors.As(err, &e) {
		ie.Field, ie.Message = e.Field, e.Message
	}
	return ie
}

func rejectedMessage(sum event.Summary, total int) string {
	if total == 1 {
		e := sum.Errors[0]
		return "event rejected (" + e.Code + "): " + e.Field + ": " + e.Message
	}
	return strconv.Itoa(sum.Rejected) + " of " + strconv.Itoa(total) + " events were rejected; see errors"
}

// checkContentType accepts application/json, with any parameters, and a
// request with no Content-Type at all.
func checkContentType(ct string) error {
	if ct == "" {
		return nil
	}
	if mt, _, err := mime.ParseMediaType(ct); err == nil && mt == "application/json" {
		return nil
	}
	return &event.Error{Kind: errUnsupportedMediaType, Message: "Content-Type " + strconv.Quote(ct) + " is not supported: send application/json"}
}

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
