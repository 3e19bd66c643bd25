package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/montool/montool/internal/server"
	"github.com/montool/montool/internal/store"
)

// Timestamps used throughout the tests, in Unix seconds.
const (
	ts0 = 1763850000
	ts1 = 1763850001
	ts2 = 1763850002
	ts3 = 1763850003
)

// discardLogger returns a logger that drops everything.
func discardLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a logger.
type syncBuffer struct {
	mu  sync.Mutex // guards buf
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testConfig returns the default configuration with a loopback address.
func testConfig() server.Config {
	cfg := server.DefaultConfig()
	cfg.Addr = "127.0.0.1:0"
	return cfg
}

// api is a server under test reached over real HTTP.
type api struct {
	t      *testing.T
	url    string
	client *http.Client
}

// newAPI starts an httptest server over a fresh store with cfg.
func newAPI(t *testing.T, cfg server.Config) *api {
	t.Helper()
	return newAPIWith(t, cfg, store.New())
}

// newAPIWith starts an httptest server over st with cfg.
func newAPIWith(t *testing.T, cfg server.Config, st server.Store) *api {
	t.Helper()
	srv, err := server.New(cfg, st, discardLogger())
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	return newAPIFor(t, srv)
}

// newAPIFor starts an httptest server over srv.
func newAPIFor(t *testing.T, srv *server.Server) *api {
	t.Helper()
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	client := ts.Client()
	client.Timeout = 30 * time.Second
	return &api{t: t, url: ts.URL, client: client}
}

// newDefaultAPI starts a server with the default configuration.
func newDefaultAPI(t *testing.T) *api {
	t.Helper()
	return newAPI(t, testConfig())
}

// response is what came back from one request.
type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends one request and reads the whole response.
func (a *api) do(method, path string, body io.Reader, header map[string]string) response {
	a.t.Helper()
	req, err := http.NewRequest(method, a.url+path, body)
	if err != nil {
		a.t.Fatalf("NewRequest %s %s: %v", method, path, err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := a.client.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		a.t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: raw}
}

// postRaw posts body to the events endpoint with the given Content-Type
// ("" sends none).
func (a *api) postRaw(body, contentType string) response {
	a.t.Helper()
	h := map[string]string{}
	if contentType != "" {
		h["Content-Type"] = contentType
	}
	return a.do(http.MethodPost, "/api/v1/events", strings.NewReader(body), h)
}

// post sends body as application/json and decodes the ingest answer.
func (a *api) post(body string) (int, ingestResponse) {
	a.t.Helper()
	r := a.postRaw(body, "application/json")
	return r.status, decodeIngest(a.t, r)
}

// get sends a GET.
func (a *api) get(path string) response {
	a.t.Helper()
	return a.do(http.MethodGet, path, nil, nil)
}

// dumpPath is the dump URL path of a client id, escaped as a path segment
// ("." and ".." escaped too, or they would be dot segments).
func dumpPath(clientID string) string {
	seg := url.PathEscape(clientID)
	if clientID == "." || clientID == ".." {
		seg = strings.ReplaceAll(seg, ".", "%2E")
	}
	return "/api/v1/clients/" + seg + "/events"
}

// dump fetches the dump of clientID and fails unless it is a 200.
func (a *api) dump(clientID string) (dumpResponse, []byte) {
	a.t.Helper()
	r := a.get(dumpPath(clientID))
	if r.status != http.StatusOK {
		a.t.Fatalf("GET %s: status %d, want 200; body %s", dumpPath(clientID), r.status, r.body)
	}
	checkJSONContentType(a.t, r)
	var d dumpResponse
	if err := json.Unmarshal(r.body, &d); err != nil {
		a.t.Fatalf("GET %s: decoding %s: %v", dumpPath(clientID), r.body, err)
	}
	return d, r.body
}

// clients fetches the client list.
func (a *api) clients() []clientInfo {
	a.t.Helper()
	r := a.get("/api/v1/clients")
	if r.status != http.StatusOK {
		a.t.Fatalf("GET /api/v1/clients: status %d, want 200; body %s", r.status, r.body)
	}
	checkJSONContentType(a.t, r)
	var c struct {
		Clients []clientInfo `json:"clients"`
	}
	if err := json.Unmarshal(r.body, &c); err != nil {
		a.t.Fatalf("GET /api/v1/clients: decoding %s: %v", r.body, err)
	}
	if c.Clients == nil {
		a.t.Fatalf("GET /api/v1/clients: body %s has no clients array", r.body)
	}
	return c.Clients
}

// wantNoClients fails unless the store holds no client at all.
func (a *api) wantNoClients() {
	a.t.Helper()
	if got := a.clients(); len(got) != 0 {
		a.t.Errorf("clients = %+v, want none stored", got)
	}
}

// apiError is the error object of every error response.
type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// itemError is one entry of the errors list of an ingest answer.
type itemError struct {
	Index   int    `json:"index"`
	EventID string `json:"event_id"`
	Code    string `json:"code"`
	Field   string `json:"field"`
	Message string `json:"message"`
}

// ingestResponse is the body of every answer of POST /api/v1/events.
type ingestResponse struct {
	Accepted   int         `json:"accepted"`
	Duplicates int         `json:"duplicates"`
	Rejected   int         `json:"rejected"`
	Errors     []itemError `json:"errors"`
	Omitted    int         `json:"errors_omitted"`
	Error      *apiError   `json:"error"`
}

// decodeIngest decodes an ingest answer and checks its shape: JSON, every
// summary field present, errors an array (never null), and an error object
// exactly when the status is not 2xx.
func decodeIngest(t *testing.T, r response) ingestResponse {
	t.Helper()
	checkJSONContentType(t, r)
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(r.body, &fields); err != nil {
		t.Fatalf("ingest answer %q (status %d) is not a JSON object: %v", r.body, r.status, err)
	}
	for _, name := range []string{"accepted", "duplicates", "rejected", "errors"} {
		if _, ok := fields[name]; !ok {
			t.Errorf("ingest answer %s has no %q", r.body, name)
		}
	}
	if e := strings.TrimSpace(string(fields["errors"])); !strings.HasPrefix(e, "[") {
		t.Errorf("ingest answer %s: errors = %s, want an array", r.body, e)
	}
	var out ingestResponse
	if err := json.Unmarshal(r.body, &out); err != nil {
		t.Fatalf("decoding ingest answer %s: %v", r.body, err)
	}
	is2xx := r.status >= 200 && r.status < 300
	switch {
	case is2xx && out.Error != nil:
		t.Errorf("status %d answer %s has an error object", r.status, r.body)
	case !is2xx && out.Error == nil:
		t.Errorf("status %d answer %s has no error object", r.status, r.body)
	case !is2xx && (out.Error.Code == "" || out.Error.Message == ""):
		t.Errorf("status %d answer %s: error object needs a code and a message", r.status, r.body)
	}
	return out
}

// decodeError decodes a {"error":{...}} answer and checks its Content-Type.
func decodeError(t *testing.T, r response) apiError {
	t.Helper()
	checkJSONContentType(t, r)
	var e struct {
		Error *apiError `json:"error"`
	}
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Fatalf("error answer %q (status %d) is not JSON: %v", r.body, r.status, err)
	}
	if e.Error == nil {
		t.Fatalf("answer %s (status %d) has no error object", r.body, r.status)
	}
	if e.Error.Message == "" {
		t.Errorf("answer %s (status %d) has an empty error message", r.body, r.status)
	}
	return *e.Error
}

func checkJSONContentType(t *testing.T, r response) {
	t.Helper()
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q, want application/json (status %d, body %s)", ct, r.status, r.body)
	}
}

// wantSummary checks the counts of an ingest answer.
func wantSummary(t *testing.T, got ingestResponse, accepted, duplicates, rejected int) {
	t.Helper()
	if got.Accepted != accepted || got.Duplicates != duplicates || got.Rejected != rejected {
		t.Errorf("accepted/duplicates/rejected = %d/%d/%d, want %d/%d/%d (errors %+v)",
			got.Accepted, got.Duplicates, got.Rejected, accepted, duplicates, rejected, got.Errors)
	}
	if len(got.Errors) != rejected {
		t.Errorf("len(errors) = %d, want %d: %+v", len(got.Errors), rejected, got.Errors)
	}
}

// wantStatus checks a status code.
func wantStatus(t *testing.T, got, want int) {
	t.Helper()
	if got != want {
		t.Errorf("status = %d, want %d", got, want)
	}
}

// dumpResponse is the body of GET /api/v1/clients/{id}/events.
type dumpResponse struct {
	ClientID string                     `json:"client_id"`
	Events   map[string]json.RawMessage `json:"events"`
}

// total is the dump of a CUMULATIVE key. Numbers are kept as written.
type total struct {
	ClientID       string      `json:"client_id"`
	EventType      string      `json:"event_type"`
	EventKey       string      `json:"event_key"`
	EventValue     json.Number `json:"event_value"`
	EventCount     int64       `json:"event_count"`
	EventTimestamp json.Number `json:"event_timestamp"`
}

// sample is one event of a TIME-SERIES key in a dump.
type sample struct {
	ClientID       string      `json:"client_id"`
	EventID        string      `json:"event_id"`
	EventTimestamp json.Number `json:"event_timestamp"`
	EventType      string      `json:"event_type"`
	EventKey       string      `json:"event_key"`
	EventValue     json.Number `json:"event_value"`
}

// total returns the CUMULATIVE total of key in d.
func (d dumpResponse) total(t *testing.T, key string) total {
	t.Helper()
	raw, ok := d.Events[key]
	if !ok {
		t.Fatalf("dump of %q has no key %q (keys: %v)", d.ClientID, key, keysOf(d))
	}
	var tot total
	if err := json.Unmarshal(raw, &tot); err != nil {
		t.Fatalf("key %q: %s is not a total object: %v", key, raw, err)
	}
	return tot
}

// samples returns the TIME-SERIES events of key in d.
func (d dumpResponse) samples(t *testing.T, key string) []sample {
	t.Helper()
	raw, ok := d.Events[key]
	if !ok {
		t.Fatalf("dump of %q has no key %q (keys: %v)", d.ClientID, key, keysOf(d))
	}
	var s []sample
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatalf("key %q: %s is not an array of events: %v", key, raw, err)
	}
	return s
}

func keysOf(d dumpResponse) []string {
	keys := make([]string, 0, len(d.Events))
	for k := range d.Events {
		keys = append(keys, k)
	}
	return keys
}

// clientInfo is one entry of GET /api/v1/clients.
type clientInfo struct {
	ClientID   string `json:"client_id"`
	EventCount int64  `json:"event_count"`
}

// wireEvent is an event in its JSON form; any field may hold any JSON value.
type wireEvent struct {
	ClientID       any `json:"client_id"`
	EventID        any `json:"event_id"`
	EventTimestamp any `json:"event_timestamp"`
	EventType      any `json:"event_type"`
	EventKey       any `json:"event_key"`
	EventValue     any `json:"event_value"`
}

// ev returns the JSON of one event.
func ev(clientID, eventID string, timestamp any, typ, key string, value any) string {
	b, err := json.Marshal(wireEvent{clientID, eventID, timestamp, typ, key, value})
	if err != nil {
		panic(err)
	}
	return string(b)
}

// cum returns a CUMULATIVE event.
func cum(clientID, eventID string, timestamp any, key string, value any) string {
	return ev(clientID, eventID, timestamp, "CUMULATIVE", key, value)
}

// series returns a TIME-SERIES event.
func series(clientID, eventID string, timestamp any, key string, value any) string {
	return ev(clientID, eventID, timestamp, "TIME-SERIES", key, value)
}

// batch returns a JSON array of events.
func batch(events ...string) string {
	return "[" + strings.Join(events, ",") + "]"
}
