package apiclient_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/montool/montool/internal/apiclient"
	"github.com/montool/montool/internal/event"
	"github.com/montool/montool/internal/server"
	"github.com/montool/montool/internal/store"
	"github.com/montool/montool/internal/storetest"
)

// Timestamps used by the tests, in nanoseconds since the Unix epoch.
const (
	ts0 event.Timestamp = 1763850000000000000 // 1763850000
	ts1 event.Timestamp = 1763850001123456789 // 1763850001.123456789
	ts2 event.Timestamp = 1763850002500000000 // 1763850002.5
	ts3 event.Timestamp = 1763850003000000001 // 1763850003.000000001
)

// realHandler returns the handler of a real montool server over a new store.
func realHandler(t *testing.T) http.Handler {
	t.Helper()
	srv, err := server.New(server.DefaultConfig(), storetest.NewMemory(t, store.Policy{}), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	return srv.Handler()
}

// startServer serves h on loopback until the test ends.
func startServer(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts
}

// newClient returns a client of the server at url, failing the test if New does.
func newClient(t *testing.T, url string) *apiclient.Client {
	t.Helper()
	c, err := apiclient.New(url, &http.Client{Timeout: 10 * time.Second})
	if err != nil {
		t.Fatalf("apiclient.New(%q): %v", url, err)
	}
	return c
}

// newRealClient starts a real montool server and returns a client of it.
func newRealClient(t *testing.T) *apiclient.Client {
	t.Helper()
	return newClient(t, startServer(t, realHandler(t)).URL)
}

// closedURL returns the URL of a server that has been shut down.
func closedURL(t *testing.T) string {
	t.Helper()
	ts := httptest.NewServer(http.NotFoundHandler())
	url := ts.URL
	ts.Close()
	return url
}

// ctx returns a context that ends with the test, bounded to 10 s.
func ctx(t *testing.T) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func cumulative(clientID, id string, ts event.Timestamp, key string, v float64) event.Event {
	return event.Event{ClientID: clientID, ID: id, Timestamp: ts, Type: event.Cumulative, Key: key, Value: v}
}

func gauge(clientID, id string, ts event.Timestamp, key string, v float64) event.Event {
	return event.Event{ClientID: clientID, ID: id, Timestamp: ts, Type: event.TimeSeries, Key: key, Value: v}
}

// mustSend sends events and fails the test unless the server accepted them all.
func mustSend(t *testing.T, c *apiclient.Client, events ...event.Event) {
	t.Helper()
	sum, err := c.Send(ctx(t), events...)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if sum.Accepted != len(events) {
		t.Fatalf("Send: accepted %d events, want %d (summary %+v)", sum.Accepted, len(events), sum)
	}
}

// apiError returns err as a *apiclient.Error, failing the test if it is not one.
func apiError(t *testing.T, err error) *apiclient.Error {
	t.Helper()
	var apiErr *apiclient.Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("error %v (%T) is not a *apiclient.Error", err, err)
	}
	return apiErr
}

// fixed answers every request with status, headers and body.
func fixed(status int, header map[string]string, body string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	})
}

// request is what a recording handler saw of one request.
type request struct {
	Method, Path, ContentType, ContentEncoding string
	Body                                       []byte // as sent, before any decompression
}

// recorder records every request, then hands it to next.
type recorder struct {
	next http.Handler
	mu   sync.Mutex
	reqs []request
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rec.mu.Lock()
	rec.reqs = append(rec.reqs, request{
		Method: r.Method, Path: r.URL.EscapedPath(),
		ContentType: r.Header.Get("Content-Type"), ContentEncoding: r.Header.Get("Content-Encoding"),
		Body: body,
	})
	rec.mu.Unlock()
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec.next.ServeHTTP(w, r)
}

func (rec *recorder) requests() []request {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]request(nil), rec.reqs...)
}

func TestNewRejectsBadURLs(t *testing.T) {
	tests := []struct {
		name, url string
	}{
		{"empty", ""},
		{"no scheme, host and port", "127.0.0.1:8080"},
		{"no scheme, name and port", "localhost:8080"},
		{"no scheme, host only", "example.com"},
		{"ftp scheme", "ftp://example.com"},
		{"file scheme", "file:///tmp/montool"},
		{"empty host", "http://"},
		{"empty host with path", "http:///api"},
		{"unparsable: unclosed IPv6 bracket", "http://[::1"},
		{"unparsable: missing scheme", "://127.0.0.1:8080"},
		{"unparsable: control character", "http://127.0.0.1:8080/\x7f"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := apiclient.New(tt.url, nil)
			if err == nil {
				t.Fatalf("New(%q) = %v, nil; want an error", tt.url, c.URL())
			}
			if c != nil {
				t.Errorf("New(%q) returned a client along with error %v", tt.url, err)
			}
			if !strings.Contains(err.Error(), "server URL") {
				t.Errorf("New(%q) error %q does not say it is about the server URL", tt.url, err)
			}
		})
	}
}

func TestNewErrorNamesTheURLAndTheFix(t *testing.T) {
	_, err := apiclient.New("ftp://example.com", nil)
	if err == nil {
		t.Fatal("New(ftp://example.com) succeeded; want an error")
	}
	for _, want := range []string{`"ftp://example.com"`, "http://", "https://"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

func TestNewAcceptsGoodURLs(t *testing.T) {
	tests := []struct {
		name, url, wantURL string
	}{
		{"http with port", "http://127.0.0.1:8080", "http://127.0.0.1:8080"},
		{"trailing slash", "http://127.0.0.1:8080/", "http://127.0.0.1:8080"},
		{"https", "https://montool.example.com", "https://montool.example.com"},
		{"path prefix with trailing slash", "http://127.0.0.1:8080/montool/", "http://127.0.0.1:8080/montool"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := apiclient.New(tt.url, nil)
			if err != nil {
				t.Fatalf("New(%q): %v", tt.url, err)
			}
			if got := c.URL(); got != tt.wantURL {
				t.Errorf("URL() = %q, want %q", got, tt.wantURL)
			}
		})
	}
}

func TestTrailingSlashAndPathPrefixReachTheServer(t *testing.T) {
	h := realHandler(t)
	mux := http.NewServeMux()
	mux.Handle("/montool/", http.StripPrefix("/montool", h))
	mux.Handle("/", h)
	ts := startServer(t, mux)

	for _, base := range []string{ts.URL + "/", ts.URL + "/montool", ts.URL + "/montool/"} {
		t.Run(base, func(t *testing.T) {
			c := newClient(t, base)
			if err := c.Health(ctx(t)); err != nil {
				t.Fatalf("Health: %v", err)
			}
			clientID := "prefix-" + strings.ReplaceAll(base, "/", "_")
			mustSend(t, c, gauge(clientID, "e1", ts1, "cpu", 1))
			d, err := c.Dump(ctx(t), clientID)
			if err != nil {
				t.Fatalf("Dump: %v", err)
			}
			if d.ClientID != clientID {
				t.Errorf("dump client id = %q, want %q", d.ClientID, clientID)
			}
		})
	}
}

func TestSendBodyShape(t *testing.T) {
	tests := []struct {
		name      string
		events    []event.Event
		wantFirst byte
		want      string
	}{
		{
			name:      "one event is an object",
			events:    []event.Event{gauge("c1", "e1", ts1, "cpu", 12.5)},
			wantFirst: '{',
			want:      `{"client_id":"c1","event_id":"e1","event_timestamp":1763850001.123456789,"event_type":"TIME-SERIES","event_key":"cpu","event_value":12.5}`,
		},
		{
			name:      "two events are a batch",
			events:    []event.Event{gauge("c1", "e1", ts1, "cpu", 12.5), cumulative("c1", "e2", ts2, "requests", 3)},
			wantFirst: '[',
			want: `[{"client_id":"c1","event_id":"e1","event_timestamp":1763850001.123456789,"event_type":"TIME-SERIES","event_key":"cpu","event_value":12.5},` +
				`{"client_id":"c1","event_id":"e2","event_timestamp":1763850002.5,"event_type":"CUMULATIVE","event_key":"requests","event_value":3}]`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{next: realHandler(t)}
			c := newClient(t, startServer(t, rec).URL)
			sum, err := c.Send(ctx(t), tt.events...)
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			if sum.Accepted != len(tt.events) {
				t.Errorf("accepted = %d, want %d", sum.Accepted, len(tt.events))
			}
			reqs := rec.requests()
			if len(reqs) != 1 {
				t.Fatalf("server saw %d requests, want 1", len(reqs))
			}
			r := reqs[0]
			if r.Method != http.MethodPost {
				t.Errorf("method = %q, want POST", r.Method)
			}
			if r.Path != "/api/v1/events" {
				t.Errorf("path = %q, want /api/v1/events", r.Path)
			}
			if r.ContentType != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", r.ContentType)
			}
			body := bytes.TrimSpace(r.Body)
			if len(body) == 0 || body[0] != tt.wantFirst {
				t.Errorf("body starts with %q, want %q: %s", body[:min(len(body), 1)], tt.wantFirst, body)
			}
			if string(body) != tt.want {
				t.Errorf("body =\n%s\nwant\n%s", body, tt.want)
			}
		})
	}
}

func TestSendSummaryOnSuccess(t *testing.T) {
	c := newRealClient(t)
	e1 := gauge("c1", "e1", ts1, "cpu", 1)
	e2 := gauge("c1", "e2", ts2, "cpu", 2)

	tests := []struct {
		name   string
		events []event.Event
		want   event.Summary
	}{
		{"new event (202)", []event.Event{e1}, event.Summary{Accepted: 1}},
		{"same event again (200)", []event.Event{e1}, event.Summary{Duplicates: 1}},
		{"batch of a new and an old event", []event.Event{e2, e1}, event.Summary{Accepted: 1, Duplicates: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sum, err := c.Send(ctx(t), tt.events...)
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			if sum == nil {
				t.Fatal("Send returned a nil summary")
			}
			if sum.Accepted != tt.want.Accepted || sum.Duplicates != tt.want.Duplicates || sum.Rejected != tt.want.Rejected {
				t.Errorf("summary = %+v, want %+v", *sum, tt.want)
			}
			if len(sum.Errors) != 0 {
				t.Errorf("summary errors = %+v, want none", sum.Errors)
			}
		})
	}
}

func TestSendConflictReturnsSummaryAndError(t *testing.T) {
	c := newRealClient(t)
	mustSend(t, c, gauge("c1", "e1", ts1, "cpu", 1), cumulative("c1", "e2", ts1, "requests", 5))

	tests := []struct {
		name      string
		events    []event.Event
		want      event.Summary
		wantItems []event.ItemError // Index, EventID, Code, Field
	}{
		{
			name:      "same id, other value",
			events:    []event.Event{gauge("c1", "e1", ts1, "cpu", 2)},
			want:      event.Summary{Rejected: 1},
			wantItems: []event.ItemError{{Index: 0, EventID: "e1", Code: "conflict", Field: "event_id"}},
		},
		{
			name:      "key used with the other type",
			events:    []event.Event{cumulative("c1", "e3", ts2, "cpu", 2)},
			want:      event.Summary{Rejected: 1},
			wantItems: []event.ItemError{{Index: 0, EventID: "e3", Code: "conflict", Field: "event_type"}},
		},
		{
			name:      "batch with one good event and one conflict",
			events:    []event.Event{gauge("c1", "e4", ts3, "cpu", 4), cumulative("c1", "e2", ts1, "requests", 6)},
			want:      event.Summary{Accepted: 1, Rejected: 1},
			wantItems: []event.ItemError{{Index: 1, EventID: "e2", Code: "conflict", Field: "event_id"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sum, err := c.Send(ctx(t), tt.events...)
			if err == nil {
				t.Fatal("Send succeeded; want a conflict error")
			}
			if sum == nil {
				t.Fatalf("Send returned a nil summary with error %v; want the server's summary", err)
			}
			if sum.Accepted != tt.want.Accepted || sum.Duplicates != tt.want.Duplicates || sum.Rejected != tt.want.Rejected {
				t.Errorf("summary = %+v, want %+v", *sum, tt.want)
			}
			if len(sum.Errors) != len(tt.wantItems) {
				t.Fatalf("summary errors = %+v, want %d", sum.Errors, len(tt.wantItems))
			}
			for i, want := range tt.wantItems {
				got := sum.Errors[i]
				if got.Index != want.Index || got.EventID != want.EventID || got.Code != want.Code || got.Field != want.Field {
					t.Errorf("errors[%d] = %+v, want index %d, event %q, code %q, field %q", i, got, want.Index, want.EventID, want.Code, want.Field)
				}
				if got.Message == "" {
					t.Errorf("errors[%d] has no message", i)
				}
			}
			apiErr := apiError(t, err)
			if apiErr.Status != http.StatusConflict {
				t.Errorf("Status = %d, want 409", apiErr.Status)
			}
			if apiErr.Code != "conflict" {
				t.Errorf("Code = %q, want conflict", apiErr.Code)
			}
			if apiErr.Message == "" {
				t.Error("Message is empty")
			}
			if !errors.Is(err, event.ErrConflict) {
				t.Errorf("errors.Is(%v, event.ErrConflict) = false, want true", err)
			}
			if errors.Is(err, event.ErrInvalid) {
				t.Errorf("errors.Is(%v, event.ErrInvalid) = true, want false", err)
			}
			if apiErr.Temporary() {
				t.Error("Temporary() = true for a 409, want false")
			}
		})
	}
}

func TestSendInvalidReturnsSummaryAndError(t *testing.T) {
	const body = `{"accepted":1,"duplicates":0,"rejected":1,` +
		`"errors":[{"index":1,"event_id":"e2","code":"invalid","field":"event_value","message":"must be a finite number"}],` +
		`"error":{"code":"invalid","message":"1 of 2 events were rejected; see errors"}}`
	ts := startServer(t, fixed(http.StatusBadRequest, map[string]string{"Content-Type": "application/json"}, body))
	c := newClient(t, ts.URL)

	sum, err := c.Send(ctx(t), gauge("c1", "e1", ts1, "cpu", 1), gauge("c1", "e2", ts2, "cpu", 2))
	if err == nil {
		t.Fatal("Send succeeded; want an error for a 400")
	}
	if sum == nil {
		t.Fatalf("Send returned a nil summary with error %v; want the server's summary", err)
	}
	if sum.Accepted != 1 || sum.Duplicates != 0 || sum.Rejected != 1 {
		t.Errorf("summary = %+v, want 1 accepted, 0 duplicates, 1 rejected", *sum)
	}
	wantItem := event.ItemError{Index: 1, EventID: "e2", Code: "invalid", Field: "event_value", Message: "must be a finite number"}
	if len(sum.Errors) != 1 || sum.Errors[0] != wantItem {
		t.Errorf("summary errors = %+v, want [%+v]", sum.Errors, wantItem)
	}
	apiErr := apiError(t, err)
	if apiErr.Status != http.StatusBadRequest {
		t.Errorf("Status = %d, want 400", apiErr.Status)
	}
	if apiErr.Code != "invalid" {
		t.Errorf("Code = %q, want invalid", apiErr.Code)
	}
	if apiErr.Message != "1 of 2 events were rejected; see errors" {
		t.Errorf("Message = %q, want %q", apiErr.Message, "1 of 2 events were rejected; see errors")
	}
	if got, want := err.Error(), "1 of 2 events were rejected; see errors (HTTP 400)"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(err, event.ErrInvalid) {
		t.Errorf("errors.Is(%v, event.ErrInvalid) = false, want true", err)
	}
	if errors.Is(err, event.ErrConflict) {
		t.Errorf("errors.Is(%v, event.ErrConflict) = true, want false", err)
	}
	if apiErr.Temporary() {
		t.Error("Temporary() = true for a 400, want false")
	}
}

func TestSendErrorAnswerWithoutSummary(t *testing.T) {
	ts := startServer(t, fixed(http.StatusNotFound, map[string]string{"Content-Type": "text/html"}, "<html><body>404 page not found</body></html>"))
	c := newClient(t, ts.URL)

	sum, err := c.Send(ctx(t), gauge("c1", "e1", ts1, "cpu", 1))
	if sum != nil {
		t.Errorf("summary = %+v, want nil for an answer that holds none", *sum)
	}
	apiErr := apiError(t, err)
	if apiErr.Status != http.StatusNotFound {
		t.Errorf("Status = %d, want 404", apiErr.Status)
	}
	if apiErr.Code != "" || apiErr.Message != "" {
		t.Errorf("Code, Message = %q, %q; want both empty for a non-JSON body", apiErr.Code, apiErr.Message)
	}
	if got, want := err.Error(), "server answered 404 Not Found"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if errors.Is(err, event.ErrNotFound) {
		t.Error("errors.Is(err, event.ErrNotFound) = true for an answer without an error code, want false")
	}
	if apiErr.Temporary() {
		t.Error("Temporary() = true for a 404, want false")
	}
}

func TestSendNoEvents(t *testing.T) {
	var hits atomic.Int64
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusAccepted)
	}))
	c := newClient(t, ts.URL)

	sum, err := c.Send(ctx(t))
	if err == nil {
		t.Fatal("Send() with no events succeeded; want an error")
	}
	if sum != nil {
		t.Errorf("summary = %+v, want nil", *sum)
	}
	var apiErr *apiclient.Error
	if errors.As(err, &apiErr) {
		t.Errorf("error %v is a *apiclient.Error; want a local error", err)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("server saw %d requests, want 0", n)
	}
}

func TestSendInvalidEventIsNotSent(t *testing.T) {
	var hits atomic.Int64
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusAccepted)
	}))
	c := newClient(t, ts.URL)

	sum, err := c.Send(ctx(t), gauge("c1", "", ts1, "cpu", 1))
	if err == nil {
		t.Fatal("Send of an event without id succeeded; want an error")
	}
	if sum != nil {
		t.Errorf("summary = %+v, want nil", *sum)
	}
	if !errors.Is(err, event.ErrInvalid) {
		t.Errorf("errors.Is(%v, event.ErrInvalid) = false, want true", err)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("server saw %d requests, want 0", n)
	}
}

func TestErrorUnwrap(t *testing.T) {
	tests := []struct {
		code string
		want error
	}{
		{"invalid", event.ErrInvalid},
		{"conflict", event.ErrConflict},
		{"not_found", event.ErrNotFound},
		{"too_large", event.ErrTooLarge},
		{"internal", nil},
		{"method_not_allowed", nil},
		{"", nil},
	}
	kinds := []error{event.ErrInvalid, event.ErrConflict, event.ErrNotFound, event.ErrTooLarge}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			err := error(&apiclient.Error{Status: 400, Code: tt.code, Message: "m"})
			if got := errors.Unwrap(err); got != tt.want {
				t.Errorf("Unwrap() = %v, want %v", got, tt.want)
			}
			for _, kind := range kinds {
				if got, want := errors.Is(err, kind), kind == tt.want; got != want {
					t.Errorf("errors.Is(err, %v) = %v, want %v", kind, got, want)
				}
			}
			wrapped := fmt.Errorf("send: %w", err)
			if tt.want != nil && !errors.Is(wrapped, tt.want) {
				t.Errorf("errors.Is(wrapped, %v) = false, want true", tt.want)
			}
		})
	}
}

func TestErrorTemporary(t *testing.T) {
	tests := []struct {
		status int
		code   string
		want   bool
	}{
		{400, "", false},
		{401, "", false},
		{403, "", false},
		{404, "", false},
		{409, "", false},
		{413, "", false},
		{415, "", false},
		{429, "", true},
		{429, "limit_exceeded", false},
		{500, "", true},
		{502, "", true},
		{503, "not_ready", true},
		{504, "", true},
		{507, "insufficient_storage", true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status, tt.code), func(t *testing.T) {
			e := &apiclient.Error{Status: tt.status, Code: tt.code}
			if got := e.Temporary(); got != tt.want {
				t.Errorf("Error{Status: %d}.Temporary() = %v, want %v", tt.status, got, tt.want)
			}
		})
	}
}

func TestErrorMessage(t *testing.T) {
	tests := []struct {
		name string
		err  *apiclient.Error
		want string
	}{
		{"with message", &apiclient.Error{Status: 409, Code: "conflict", Message: "event_id: already used"}, "event_id: already used (HTTP 409)"},
		{"without message", &apiclient.Error{Status: 503}, "server answered 503 Service Unavailable"},
		{"429 without message", &apiclient.Error{Status: 429}, "server answered 429 Too Many Requests"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestErrorStatusesOverHTTP(t *testing.T) {
	tests := []struct {
		name          string
		status        int
		header        map[string]string
		body          string
		wantCode      string
		wantTemporary bool
		wantRetry     time.Duration
		wantSummary   bool // Send returns a summary besides the error
	}{
		{
			name:          "429 with Retry-After seconds",
			status:        http.StatusTooManyRequests,
			header:        map[string]string{"Retry-After": "7", "Content-Type": "application/json"},
			body:          `{"error":{"code":"rate_limited","message":"slow down"}}`,
			wantCode:      "rate_limited",
			wantTemporary: true,
			wantRetry:     7 * time.Second,
		},
		{
			name:          "429 with Retry-After padded",
			status:        http.StatusTooManyRequests,
			header:        map[string]string{"Retry-After": " 2 "},
			wantTemporary: true,
			wantRetry:     2 * time.Second,
		},
		{
			name:          "429 without Retry-After",
			status:        http.StatusTooManyRequests,
			wantTemporary: true,
		},
		{
			name:          "503 with Retry-After as a date (ignored)",
			status:        http.StatusServiceUnavailable,
			header:        map[string]string{"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"},
			body:          "busy",
			wantTemporary: true,
		},
		{
			name:          "503 with negative Retry-After (ignored)",
			status:        http.StatusServiceUnavailable,
			header:        map[string]string{"Retry-After": "-3"},
			wantTemporary: true,
		},
		{
			name:          "500 with JSON error",
			status:        http.StatusInternalServerError,
			body:          `{"error":{"code":"internal","message":"internal server error"}}`,
			wantCode:      "internal",
			wantTemporary: true,
		},
		{
			name:          "502 from a proxy",
			status:        http.StatusBadGateway,
			body:          "<html>bad gateway</html>",
			wantTemporary: true,
		},
		{
			name:        "413 too large",
			status:      http.StatusRequestEntityTooLarge,
			body:        `{"accepted":0,"duplicates":0,"rejected":0,"errors":[],"error":{"code":"too_large","message":"too big"}}`,
			wantCode:    "too_large",
			wantSummary: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t, startServer(t, fixed(tt.status, tt.header, tt.body)).URL)
			for _, call := range []struct {
				name string
				do   func() error
			}{
				{"Send", func() error {
					sum, err := c.Send(ctx(t), gauge("c1", "e1", ts1, "cpu", 1))
					if got := sum != nil; got != tt.wantSummary {
						t.Errorf("Send: got a summary %v, want %v (%+v)", got, tt.wantSummary, sum)
					}
					return err
				}},
				{"Health", func() error { return c.Health(ctx(t)) }},
			} {
				err := call.do()
				if err == nil {
					t.Fatalf("%s succeeded; want an error for status %d", call.name, tt.status)
				}
				apiErr := apiError(t, err)
				if apiErr.Status != tt.status {
					t.Errorf("%s: Status = %d, want %d", call.name, apiErr.Status, tt.status)
				}
				if apiErr.Code != tt.wantCode {
					t.Errorf("%s: Code = %q, want %q", call.name, apiErr.Code, tt.wantCode)
				}
				if got := apiErr.Temporary(); got != tt.wantTemporary {
					t.Errorf("%s: Temporary() = %v, want %v", call.name, got, tt.wantTemporary)
				}
				if apiErr.RetryAfter != tt.wantRetry {
					t.Errorf("%s: RetryAfter = %v, want %v", call.name, apiErr.RetryAfter, tt.wantRetry)
				}
			}
		})
	}
}

func TestDumpEqualsWhatWasSent(t *testing.T) {
	c := newRealClient(t)
	// Samples out of timestamp order, and decimal increments whose exact sum is 0.3.
	mustSend(t, c,
		gauge("host-1", "s3", ts3, "cpu", 30.25),
		cumulative("host-1", "r1", ts2, "requests", 0.1),
		gauge("host-1", "s1", ts1, "cpu", 10.5),
	)
	mustSend(t, c, cumulative("host-1", "r2", ts1, "requests", 0.2))
	mustSend(t, c, gauge("host-1", "s2", ts2, "cpu", -20))
	mustSend(t, c, gauge("host-1", "s0", ts0, "cpu", 0))
	mustSend(t, c, gauge("other", "x1", ts1, "cpu", 99)) // another client: not in the dump

	want := &event.Dump{
		ClientID: "host-1",
		Series: []event.Series{
			{Key: "cpu", Type: event.TimeSeries, Samples: []event.Sample{
				{ID: "s0", Timestamp: 1763850000000000000, Value: 0},
				{ID: "s1", Timestamp: 1763850001123456789, Value: 10.5},
				{ID: "s2", Timestamp: 1763850002500000000, Value: -20},
				{ID: "s3", Timestamp: 1763850003000000001, Value: 30.25},
			}},
			{Key: "requests", Type: event.Cumulative, Total: 0.3, Count: 2, Last: 1763850002500000000},
		},
	}
	got, err := c.Dump(ctx(t), "host-1")
	if err != nil {
		t.Fatalf("Dump: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Dump =\n%+v\nwant\n%+v", *got, *want)
	}
}

func TestDumpRawIsTheServersJSON(t *testing.T) {
	c := newRealClient(t)
	mustSend(t, c,
		gauge("host-1", "s2", ts2, "cpu", 20),
		gauge("host-1", "s1", ts1, "cpu", 10.5),
		cumulative("host-1", "r1", ts1, "requests", 1.5),
		cumulative("host-1", "r2", ts3, "requests", 2),
	)
	const want = `{"client_id":"host-1","events":{` +
		`"cpu":[` +
		`{"client_id":"host-1","event_id":"s1","event_timestamp":1763850001.123456789,"event_type":"TIME-SERIES","event_key":"cpu","event_value":10.5},` +
		`{"client_id":"host-1","event_id":"s2","event_timestamp":1763850002.5,"event_type":"TIME-SERIES","event_key":"cpu","event_value":20}],` +
		`"requests":{"client_id":"host-1","event_type":"CUMULATIVE","event_key":"requests","event_value":3.5,"event_count":2,"event_timestamp":1763850003.000000001}}}`
	raw, err := c.DumpRaw(ctx(t), "host-1")
	if err != nil {
		t.Fatalf("DumpRaw: %v", err)
	}
	if got := string(bytes.TrimSpace(raw)); got != want {
		t.Errorf("DumpRaw =\n%s\nwant\n%s", got, want)
	}
}

func TestDumpUnknownClient(t *testing.T) {
	c := newRealClient(t)
	mustSend(t, c, gauge("known", "e1", ts1, "cpu", 1))

	calls := []struct {
		name string
		do   func() (any, error)
	}{
		{"Dump", func() (any, error) { return c.Dump(ctx(t), "nobody") }},
		{"DumpRaw", func() (any, error) { return c.DumpRaw(ctx(t), "nobody") }},
	}
	for _, call := range calls {
		t.Run(call.name, func(t *testing.T) {
			got, err := call.do()
			if err == nil {
				t.Fatalf("%s(nobody) = %v, nil; want an error", call.name, got)
			}
			if !errors.Is(err, event.ErrNotFound) {
				t.Errorf("errors.Is(%v, event.ErrNotFound) = false, want true", err)
			}
			apiErr := apiError(t, err)
			if apiErr.Status != http.StatusNotFound {
				t.Errorf("Status = %d, want 404", apiErr.Status)
			}
			if apiErr.Code != "not_found" {
				t.Errorf("Code = %q, want not_found", apiErr.Code)
			}
			if apiErr.Temporary() {
				t.Error("Temporary() = true for a 404, want false")
			}
		})
	}
	t.Run("Dump returns no dump", func(t *testing.T) {
		d, err := c.Dump(ctx(t), "nobody")
		if d != nil {
			t.Errorf("Dump(nobody) = %+v, %v; want nil dump", *d, err)
		}
	})
}

func TestDumpEscapesClientID(t *testing.T) {
	tests := []struct {
		name, clientID string
	}{
		{"slash", "team/host-1"},
		{"space", "host 1"},
		{"slash and spaces", "rack 4/host 12"},
		{"percent", "50%cpu"},
		{"escaped-looking slash", "a%2Fb"},
		{"question mark and hash", "who?#what"},
		{"unicode", "hôte-été"},
	}
	c := newRealClient(t)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			value := float64(i + 1)
			mustSend(t, c, gauge(tt.clientID, "e1", ts1, "cpu", value))
			d, err := c.Dump(ctx(t), tt.clientID)
			if err != nil {
				t.Fatalf("Dump(%q): %v", tt.clientID, err)
			}
			if d.ClientID != tt.clientID {
				t.Errorf("dump client id = %q, want %q", d.ClientID, tt.clientID)
			}
			if len(d.Series) != 1 || len(d.Series[0].Samples) != 1 || d.Series[0].Samples[0].Value != value {
				t.Errorf("dump = %+v, want one cpu sample of value %g", *d, value)
			}
		})
	}
}

func TestDumpEscapedPathOnTheWire(t *testing.T) {
	rec := &recorder{next: realHandler(t)}
	c := newClient(t, startServer(t, rec).URL)
	mustSend(t, c, gauge("rack 4/host?12", "e1", ts1, "cpu", 1))
	if _, err := c.Dump(ctx(t), "rack 4/host?12"); err != nil {
		t.Fatalf("Dump: %v", err)
	}
	reqs := rec.requests()
	if len(reqs) != 2 {
		t.Fatalf("server saw %d requests, want 2", len(reqs))
	}
	if got, want := reqs[1].Path, "/api/v1/clients/rack%204%2Fhost%3F12/events"; got != want {
		t.Errorf("dump path = %q, want %q", got, want)
	}
	if reqs[1].Method != http.MethodGet {
		t.Errorf("dump method = %q, want GET", reqs[1].Method)
	}
}

func TestClients(t *testing.T) {
	c := newRealClient(t)

	got, err := c.Clients(ctx(t))
	if err != nil {
		t.Fatalf("Clients on an empty server: %v", err)
	}
	if len(got) != 0 {
		t.Errorf("Clients on an empty server = %+v, want none", got)
	}

	mustSend(t, c,
		gauge("c-b", "e1", ts1, "cpu", 1),
		cumulative("c-a", "e1", ts1, "requests", 1),
		cumulative("c-a", "e2", ts2, "requests", 2),
		gauge("c-a", "e3", ts3, "cpu", 3),
	)
	mustSend(t, c, gauge("c/c", "e1", ts1, "cpu", 1))

	want := []event.ClientInfo{
		{ClientID: "c-a", Events: 3},
		{ClientID: "c-b", Events: 1},
		{ClientID: "c/c", Events: 1},
	}
	got, err = c.Clients(ctx(t))
	if err != nil {
		t.Fatalf("Clients: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Clients = %+v, want %+v", got, want)
	}
}

func TestHealth(t *testing.T) {
	c := newRealClient(t)
	if err := c.Health(ctx(t)); err != nil {
		t.Errorf("Health: %v", err)
	}
}

func TestNetworkErrorNamesMethodAndURL(t *testing.T) {
	base := closedURL(t)
	c := newClient(t, base)
	tests := []struct {
		name, method, url string
		do                func() error
	}{
		{"Health", "GET", base + "/healthz", func() error { return c.Health(ctx(t)) }},
		{"Clients", "GET", base + "/api/v1/clients", func() error { _, err := c.Clients(ctx(t)); return err }},
		{"Dump", "GET", base + "/api/v1/clients/host-1/events", func() error { _, err := c.Dump(ctx(t), "host-1"); return err }},
		{"DumpRaw", "GET", base + "/api/v1/clients/host-1/events", func() error { _, err := c.DumpRaw(ctx(t), "host-1"); return err }},
		{"Send", "POST", base + "/api/v1/events", func() error {
			_, err := c.Send(ctx(t), gauge("host-1", "e1", ts1, "cpu", 1))
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.do()
			if err == nil {
				t.Fatal("call to a closed server succeeded; want an error")
			}
			var apiErr *apiclient.Error
			if errors.As(err, &apiErr) {
				t.Errorf("error %v is a *apiclient.Error; want a network error", err)
			}
			if want := tt.method + " " + tt.url; !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not contain %q", err, want)
			}
		})
	}
}

func TestCancelledContext(t *testing.T) {
	c := newRealClient(t)
	cctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := c.Send(cctx, gauge("c1", "e1", ts1, "cpu", 1))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Send with a cancelled context: error %v, want one matching context.Canceled", err)
	}
	var apiErr *apiclient.Error
	if errors.As(err, &apiErr) {
		t.Errorf("error %v is a *apiclient.Error; want a local error", err)
	}
}

func TestConcurrentSends(t *testing.T) {
	const workers, perWorker = 8, 10
	c := newRealClient(t)
	var wg sync.WaitGroup
	errs := make(chan error, workers*perWorker)
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				e := cumulative(fmt.Sprintf("w%d", w), fmt.Sprintf("e%d", i), ts1, "requests", 1)
				if _, err := c.Send(ctx(t), e); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Send: %v", err)
	}
	infos, err := c.Clients(ctx(t))
	if err != nil {
		t.Fatalf("Clients: %v", err)
	}
	if len(infos) != workers {
		t.Fatalf("Clients = %+v, want %d clients", infos, workers)
	}
	for _, info := range infos {
		if info.Events != perWorker {
			t.Errorf("client %q holds %d events, want %d", info.ClientID, info.Events, perWorker)
		}
	}
}
