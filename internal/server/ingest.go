package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/montool/montool/internal/event"
	"github.com/montool/montool/internal/ingestjson"
)

// The body formats the events endpoint takes.
const (
	mediaJSON   = "application/json"
	mediaNDJSON = "application/x-ndjson"
)

// ingestResponse is the body of every answer of the events endpoint: the
// summary, and an error object when the status is not 2xx.
type ingestResponse struct {
	event.Summary
	Error *errorBody `json:"error,omitempty"`
}

// handleIngest takes one event object or a batch of them, as JSON or as
// NDJSON, plain or gzip-compressed.
func (s *Server) handleIngest() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		decode, err := decoderFor(r.Header.Get("Content-Type"))
		if err == nil {
			err = checkContentEncoding(r.Header.Get("Content-Encoding"))
		}
		if err != nil {
			s.writeIngestError(w, r, event.Summary{}, err)
			return
		}
		b := s.getBatch()
		defer s.putBatch(b) // b.decoded, and the answer made of it, are valid until then
		hold := bodyHold{budget: s.bodies}
		defer hold.release()
		if err := s.readBody(w, r, b, &hold); err != nil {
			if errors.Is(err, errOverloaded) {
				w.Header().Set("Retry-After", "1")
			}
			w.Header().Set("Connection", "close") // the rest of the body may not be read
			s.writeIngestError(w, r, event.Summary{}, err)
			return
		}
		if err = decode(&b.decoded, b.body, s.cfg.MaxBatchEvents); err != nil {
			s.writeIngestError(w, r, event.Summary{}, err)
			return
		}
		s.apply(w, r, b)
	}
}

// apply applies the valid events of b and answers with what became of each
// event. Nothing is applied when a client of the request is over its rate
// limit or the store fails as a whole.
func (s *Server) apply(w http.ResponseWriter, r *http.Request, b *batch) {
	ctx := r.Context()
	b.sift(ctx)
	s.countForLog(ctx, b)
	limiter := s.liveOf(ctx).limiter
	made, wait, err := limiter.takeRequest(b.valid)
	if err != nil {
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(wait.Seconds())))))
		s.refuseWhole(w, r, b, err)
		return
	}
	results, err := s.store.Apply(ctx, b.valid)
	limiter.settle(made, b.valid, results)
	if err != nil {
		s.refuseWhole(w, r, b, fmt.Errorf("apply %d events: %w", len(b.valid), err))
		return
	}
	s.metrics.countResults(b.valid, results)
	sum := b.summarize(results)
	codes := s.metrics.countRefused(b.refused)
	s.answerIngest(w, r, sum, codes, len(b.decoded.Items()))
}

// sift sorts the decoded items of b into the valid events, with their
// places in the request, and the refused ones: those that did not decode
// or validate, and those of clients the request's token may not write.
func (b *batch) sift(ctx context.Context) {
	items := b.decoded.Items()
	b.valid, b.index = slices.Grow(b.valid, len(items)), slices.Grow(b.index, len(items))
	for i, it := range items {
		if it.Err == nil && !mayActFor(ctx, it.Event.ClientID) {
			it.Err = errNotYourClient
		}
		if it.Err != nil {
			b.refused = append(b.refused, refusal{index: i, id: it.RawID, err: it.Err})
			continue
		}
		b.valid = append(b.valid, it.Event)
		b.index = append(b.index, i)
	}
}

// countForLog tells the request log how many events and clients the
// request holds. Only its debug line shows them, so they are counted only
// when it is written.
func (s *Server) countForLog(ctx context.Context, b *batch) {
	if !s.log.Enabled(ctx, slog.LevelDebug) {
		return
	}
	ri := infoOf(ctx)
	ri.events = len(b.decoded.Items())
	for i := range b.valid { // runs of a client, as agents send them
		if i == 0 || b.valid[i].ClientID != b.valid[i-1].ClientID {
			ri.clients++
		}
	}
}

// refuseWhole answers err to a request of which nothing was applied; the
// events refused before the store still count in the metrics.
func (s *Server) refuseWhole(w http.ResponseWriter, r *http.Request, b *batch, err error) {
	s.metrics.countRefused(b.refused)
	s.writeIngestError(w, r, event.Summary{}, err)
}

// summarize adds the events the store refused to b.refused, which stays in
// request order, and returns the summary of the request: how many events
// were accepted, duplicates or rejected, and the first rejections.
func (b *batch) summarize(results []event.Result) event.Summary {
	var sum event.Summary
	valid, index := b.valid, b.index
	decoded := len(b.refused) // refused before the store, in order
	for j, res := range results {
		switch {
		case res.Err != nil:
			b.refused = append(b.refused, refusal{index: index[j], id: valid[j].ID, err: res.Err})
		case res.Duplicate:
			sum.Duplicates++
		default:
			sum.Accepted++
		}
	}
	if decoded > 0 && len(b.refused) > decoded {
		slices.SortFunc(b.refused, func(a, b refusal) int { return a.index - b.index })
	}
	sum.Rejected = len(b.refused)
	sum.Errors = make([]event.ItemError, min(len(b.refused), maxListedErrors))
	for i := range sum.Errors {
		sum.Errors[i] = itemError(b.refused[i])
	}
	sum.ErrorsOmitted = sum.Rejected - len(sum.Errors)
	return sum
}

// answerIngest answers with the summary of a request of total events: an
// error of the kind requestKind picks from the codes of the rejected
// events when there are any, else 202 when an event was accepted, else 200
// (every event was a duplicate).
func (s *Server) answerIngest(w http.ResponseWriter, r *http.Request, sum event.Summary, codes map[string]int, total int) {
	switch {
	case sum.Rejected > 0:
		s.writeIngestError(w, r, sum, &event.Error{Kind: requestKind(codes), Message: rejectedMessage(sum, total)})
	case sum.Accepted > 0:
		writeJSON(w, http.StatusAccepted, ingestResponse{Summary: sum})
	default:
		writeJSON(w, http.StatusOK, ingestResponse{Summary: sum})
	}
}

// maxListedErrors is the most rejected events an answer lists; the
// summary counts the others, so that a body of bad events costs no more
// to answer than its size.
const maxListedErrors = 100

// refusal is a rejected event of a request: its place in the request, its
// id as sent (a string of the request's decoded batch) and why.
type refusal struct {
	index int
	id    string
	err   error
}

// errNotYourClient refuses an event of a client the request's token may
// not write.
var errNotYourClient = &event.Error{Kind: event.ErrForbidden, Field: event.FieldClientID, Message: "this token may not write events of this client"}

// requestKind returns the kind of error of a request whose events were
// rejected, from the number of them by code: forbidden (403) if any event
// was of a client its token may not write, else storage full (507) if any
// found the store full, else a limit (429) if any went past one, else too
// old (400) if any was, else conflict (409) if every one was a conflict,
// else invalid (400).
func requestKind(codes map[string]int) error {
	for _, kind := range []error{event.ErrForbidden, event.ErrStorageFull, event.ErrLimit, event.ErrTooOld} {
		if codes[event.Code(kind)] > 0 {
			return kind
		}
	}
	if len(codes) == 1 && codes[event.Code(event.ErrConflict)] > 0 {
		return event.ErrConflict
	}
	return event.ErrInvalid
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

// itemError is the entry of r in the errors of a summary. The summary is
// written before the request's decoded batch is reset, so the id need not
// be copied.
func itemError(r refusal) event.ItemError {
	ie := event.ItemError{Index: r.index, EventID: r.id, Code: event.Code(r.err), Message: r.err.Error()}
	var e *event.Error
	if errors.As(r.err, &e) {
		ie.Field, ie.Message = e.Field, e.Message
	}
	return ie
}

func rejectedMessage(sum event.Summary, total int) string {
	if total == 1 {
		e := sum.Errors[0]
		if e.Field == "" {
			return "event rejected (" + e.Code + "): " + e.Message
		}
		return "event rejected (" + e.Code + "): " + e.Field + ": " + e.Message
	}
	return strconv.Itoa(sum.Rejected) + " of " + strconv.Itoa(total) + " events were rejected; see errors"
}

// decoderFor returns the decoder of a Content-Type: JSON, also for a request
// with none, or NDJSON, in UTF-8.
func decoderFor(ct string) (func(*ingestjson.Batch, []byte, int) error, error) {
	if ct == "" {
		return (*ingestjson.Batch).DecodeJSON, nil
	}
	mt, params, err := mime.ParseMediaType(ct)
	if cs, ok := params["charset"]; ok && err == nil && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "utf8") {
		return nil, &event.Error{Kind: errUnsupportedMediaType, Message: "charset " + strconv.Quote(cs) + " is not supported: send UTF-8 (charset=utf-8, or no charset)"}
	}
	switch {
	case err != nil:
	case mt == mediaJSON:
		return (*ingestjson.Batch).DecodeJSON, nil
	case mt == mediaNDJSON:
		return (*ingestjson.Batch).DecodeNDJSON, nil
	}
	return nil, &event.Error{Kind: errUnsupportedMediaType, Message: "Content-Type " + strconv.Quote(ct) + " is not supported: send " + mediaJSON + " or " + mediaNDJSON}
}

// isGzip reports whether a Content-Encoding is gzip; x-gzip is its old name.
func isGzip(ce string) bool {
	return strings.EqualFold(ce, "gzip") || strings.EqualFold(ce, "x-gzip")
}

// checkContentEncoding accepts gzip and no encoding.
func checkContentEncoding(ce string) error {
	if ce == "" || isGzip(ce) || strings.EqualFold(ce, "identity") {
		return nil
	}
	return &event.Error{Kind: errUnsupportedMediaType, Message: "Content-Encoding " + strconv.Quote(ce) + " is not supported: send gzip or no encoding"}
}

// batch holds the buffers of one request to the events endpoint: its body,
// its decoded items, the valid events among them and the rejected ones.
// Batches are pooled (Server.batches), so that a busy server reuses these
// buffers instead of allocating them for every request.
//
// The events of valid and the ids of refused are those of decoded, and
// share its lifetime: they are valid until putBatch resets it.
type batch struct {
	body []byte
	// packed is a gzip body as sent, read by packedReader.
	packed       []byte
	packedReader bytes.Reader
	decoded      ingestjson.Batch // body, decoded
	valid        []event.Event
	index        []int // the position in the request of each valid event
	// refused are the rejected events, by their place in the request.
	refused []refusal
}

// maxPooledBody is the largest body buffer kept for reuse.
const maxPooledBody = 16 << 20

// getBatch returns an empty batch from the pool, or a new one.
func (s *Server) getBatch() *batch { return s.batches.Get().(*batch) }

// putBatch empties b and keeps it for reuse. Resetting b.decoded ends the
// lifetime of its events, so that b.body may be read into again; they are
// cleared, with the valid and refused ones, so that nothing they refer to
// outlives the request.
func (s *Server) putBatch(b *batch) {
	if cap(b.body) > maxPooledBody || cap(b.packed) > maxPooledBody {
		return
	}
	b.decoded.Reset()
	b.body, b.packed = b.body[:0], b.packed[:0]
	b.packedReader.Reset(nil)
	clear(b.valid)
	clear(b.refused)
	b.valid, b.index, b.refused = b.valid[:0], b.index[:0], b.refused[:0]
	s.batches.Put(b)
}
