package server

import (
	"encoding/json"
	"errors"
	"net/http"
	"path"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/montool/montool/internal/event"
)

// errUnsupportedMediaType is the kind of error for a body the server cannot read.
var errUnsupportedMediaType = errors.New("unsupported media type")

// errUnavailable is the kind of error for a request the server cannot serve
// yet.
var errUnavailable = errors.New("unavailable")

// errUnauthorized is the kind of error for a request without a token the
// server takes.
var errUnauthorized = errors.New("unauthorized")

// errRateLimited and errOverloaded are the kinds of error for a request
// refused whole, before it applied anything: a client over its rate, and
// too many requests in flight.
var (
	errRateLimited = errors.New("rate limited")
	errOverloaded  = errors.New("overloaded")
)

// statuses maps each kind of error to its HTTP status and API code. Any
// other error is a 500 "internal".
var statuses = []struct {
	kind   error
	status int
	code   string
}{
	{event.ErrInvalid, http.StatusBadRequest, event.Code(event.ErrInvalid)},
	{event.ErrNotFound, http.StatusNotFound, event.Code(event.ErrNotFound)},
	{event.ErrConflict, http.StatusConflict, event.Code(event.ErrConflict)},
	{event.ErrTooLarge, http.StatusRequestEntityTooLarge, event.Code(event.ErrTooLarge)},
	{event.ErrLimit, http.StatusTooManyRequests, event.Code(event.ErrLimit)},
	{event.ErrStorageFull, http.StatusInsufficientStorage, event.Code(event.ErrStorageFull)},
	{event.ErrTooOld, http.StatusBadRequest, event.Code(event.ErrTooOld)},
	{errUnsupportedMediaType, http.StatusUnsupportedMediaType, "unsupported_media_type"},
	{errUnavailable, http.StatusServiceUnavailable, "not_ready"},
	{errUnauthorized, http.StatusUnauthorized, "unauthorized"},
	{errRateLimited, http.StatusTooManyRequests, "rate_limited"},
	{errOverloaded, http.StatusServiceUnavailable, "overloaded"},
	{errRequestTimeout, http.StatusRequestTimeout, "request_timeout"},
	{errBadConfig, http.StatusBadRequest, "invalid_config"},
	{event.ErrForbidden, http.StatusForbidden, event.Code(event.ErrForbidden)},
}

// statusOf returns the HTTP status and API code of err.
func statusOf(err error) (int, string) {
	for _, s := range statuses {
		if errors.Is(err, s.kind) {
			return s.status, s.code
		}
	}
	return http.StatusInternalServerError, "internal"
}

// errorBody is the JSON form of every error response.
type errorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// errorResponse is the body of an error response outside the events endpoint.
type errorResponse struct {
	Error errorBody `json:"error"`
}

// writeError answers with the status, code and message of err, as
// errorBody words them.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, code := statusOf(err)
	writeJSON(w, status, errorResponse{Error: s.errorBody(r, status, code, err)})
}

// errorBody returns what a client is told of err. An internal error (500)
// is logged and its message kept from the client; the server's other 5xx
// (503 not ready, 507 storage full) are for the client to act on.
func (s *Server) errorBody(r *http.Request, status int, code string, err error) errorBody {
	if status == http.StatusInternalServerError {
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
		return errorBody{Code: code, Message: "internal server error"}
	}
	return errorBody{Code: code, Message: err.Error()}
}

// writeJSON answers with status and v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		body = []byte(`{"error":{"code":"internal","message":"internal server error"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(body, '\n')) // an error here means the client went away
}

// jsonMuxErrors makes the mux's own answers (404 for an unknown path, 405
// with an Allow header for a wrong method) JSON like every other error. A
// path with an empty, "." or ".." segment, which the mux would redirect to
// its clean form, gets 400 instead, saying so: an API client is told, not
// sent elsewhere.
func jsonMuxErrors(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p, clean := r.URL.EscapedPath(), cleanPath(r.URL.EscapedPath()); p != clean {
			writeJSON(w, http.StatusBadRequest, errorResponse{Error: errorBody{Code: event.Code(event.ErrInvalid),
				Message: "the path " + strconv.Quote(p) + " has an empty, \".\" or \"..\" segment: send " + strconv.Quote(clean)}})
			return
		}
		mux.ServeHTTP(&muxErrorWriter{ResponseWriter: w, r: r}, r)
	})
}

// cleanPath returns the clean form of a path as the mux makes it: rooted,
// without empty, "." or ".." segments, its trailing slash kept.
func cleanPath(p string) string {
	if p == "" || p[0] != '/' {
		p = "/" + p
	}
	clean := path.Clean(p)
	if strings.HasSuffix(p, "/") && clean != "/" {
		clean += "/"
	}
	return clean
}

// muxErrorWriter replaces the plain-text body of the mux's own error answers
// with JSON. The mux sets r.Pattern to the route it matched: an answer to a
// request that matched none is the mux's own.
type muxErrorWriter struct {
	http.ResponseWriter
	r        *http.Request
	replaced bool // the JSON body is written; drop the mux's own
}

func (m *muxErrorWriter) WriteHeader(status int) {
	var body errorBody
	switch {
	case m.r.Pattern != "":
		m.ResponseWriter.WriteHeader(status)
		return
	case status == http.StatusNotFound:
		body = errorBody{Code: "not_found", Message: "no such endpoint: " + m.r.URL.Path}
	case status == http.StatusMethodNotAllowed:
		body = errorBody{Code: "method_not_allowed", Message: "method " + m.r.Method + " is not allowed on " + m.r.URL.Path + "; allowed: " + m.Header().Get("Allow")}

	default:
		m.ResponseWriter.WriteHeader(status)
		return
	}
	m.Header().Del("X-Content-Type-Options")
	writeJSON(m.ResponseWriter, status, errorResponse{Error: body})
	m.replaced = true
}

func (m *muxErrorWriter) Write(b []byte) (int, error) {
	if m.replaced {
		return len(b), nil
	}
	return m.ResponseWriter.Write(b)
}

// Unwrap gives http.ResponseController the writer underneath.
func (m *muxErrorWriter) Unwrap() http.ResponseWriter { return m.ResponseWriter }

// recoverPanics answers 500 to a request whose handler panicked, and logs
// it, instead of dropping the connection.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("handler panicked", "method", r.Method, "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
			writeJSON(w, http.StatusInternalServerError, errorResponse{Error: errorBody{Code: "internal", Message: "internal server error"}})
		}()
		next.ServeHTTP(w, r)
	})
}
