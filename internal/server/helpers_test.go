package server_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/montool/montool/internal/server"
	"github.com/montool/montool/internal/store"
	"github.com/montool/montool/internal/storetest"
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
	return newAPIWith(t, cfg, storetest.New(t, store.Policy{}))
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

// checkClients compares the client list with want, in order.
func checkClients(t *testing.T, a *api, want []clientInfo) {
	t.Helper()
	got := a.clients()
	if len(got) != len(want) {
		t.Errorf("clients = %+v, want %+v", got, want)
		return
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("clients[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
}

// checkTotal checks the CUMULATIVE total of key for clientID.
func checkTotal(t *testing.T, a *api, clientID, key, wantValue string, wantCount int64) {
	t.Helper()
	d, _ := a.dump(clientID)
	if tot := d.total(t, key); tot.EventValue != json.Number(wantValue) || tot.EventCount != wantCount {
		t.Errorf("%s %s = %s over %d events, want %s over %d", clientID, key, tot.EventValue, tot.EventCount, wantValue, wantCount)
	}
}

// wantErrorCode checks the code of the error object of an ingest answer.
func wantErrorCode(t *testing.T, got ingestResponse, code string) {
	t.Helper()
	if got.Error != nil && got.Error.Code != code {
		t.Errorf("error code = %q, want %q", got.Error.Code, code)
	}
}

// checkItemErrors compares the errors of an answer, ignoring the messages
// (which must merely be present).
func checkItemErrors(t *testing.T, got, want []itemError) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("errors = %+v, want %d entries %+v", got, len(want), want)
		return
	}
	for i := range want {
		g := got[i]
		if g.Message == "" {
			t.Errorf("errors[%d] has no message: %+v", i, g)
		}
		g.Message = ""
		if g != want[i] {
			t.Errorf("errors[%d] = %+v, want %+v", i, g, want[i])
		}
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

// validFields is a valid event as a map, for tests that break one field.
func validFields() map[string]any {
	return map[string]any{
		"client_id":       "agent-1",
		"event_id":        "e1",
		"event_timestamp": ts0,
		"event_type":      "CUMULATIVE",
		"event_key":       "http_requests_total",
		"event_value":     3,
	}
}

// missing marks a field to delete in an invalidEvent.
type missingField struct{}

var missing = missingField{}

// invalidEvent is a valid event (validFields) with one field broken.
type invalidEvent struct {
	name  string
	field string
	value any // the field's new value; missing deletes it
}

// invalidEventCases are the ways an event can be invalid, one field at a
// time. The JSON tests send each alone and the NDJSON tests each as a line
// among valid ones.
var invalidEventCases = []invalidEvent{
	{"client_id missing", "client_id", missing},
	{"client_id null", "client_id", nil},
	{"client_id a number", "client_id", 42},
	{"client_id an object", "client_id", map[string]any{"id": "x"}},
	{"client_id empty", "client_id", ""},
	{"client_id too long", "client_id", strings.Repeat("c", 129)},
	{"event_id missing", "event_id", missing},
	{"event_id a bool", "event_id", true},
	{"event_id empty", "event_id", ""},
	{"event_id too long", "event_id", strings.Repeat("e", 129)},
	{"event_timestamp missing", "event_timestamp", missing},
	{"event_timestamp null", "event_timestamp", nil},
	{"event_timestamp a word", "event_timestamp", "yesterday"},
	{"event_timestamp a bool", "event_timestamp", true},
	{"event_timestamp negative", "event_timestamp", -1},
	{"event_timestamp past year 2262", "event_timestamp", json.Number("1e30")},
	{"event_type missing", "event_type", missing},
	{"event_type unknown", "event_type", "GAUGE"},
	{"event_type empty", "event_type", ""},
	{"event_type a number", "event_type", 1},
	{"event_key missing", "event_key", missing},
	{"event_key empty", "event_key", ""},
	{"event_key a number", "event_key", 7},
	{"event_key too long", "event_key", strings.Repeat("k", 257)},
	{"event_key with a control character", "event_key", "http\nrequests"},
	{"event_value missing", "event_value", missing},
	{"event_value null", "event_value", nil},
	{"event_value a word", "event_value", "three"},
	{"event_value a bool", "event_value", false},
	{"event_value an array", "event_value", []int{3}},
	{"event_value an object", "event_value", map[string]int{"v": 3}},
	{"event_value overflows to infinity", "event_value", json.Number("1e400")},
	{"event_value negative overflow", "event_value", json.Number("-1e400")},
	{"event_value NaN string", "event_value", "NaN"},
	{"event_value Infinity string", "event_value", "Infinity"},
	{"event_value hex string", "event_value", "0x10"},
}

// json returns the event as JSON.
func (tt invalidEvent) json(t *testing.T) string {
	t.Helper()
	f := validFields()
	if tt.value == missing {
		delete(f, tt.field)
	} else {
		f[tt.field] = tt.value
	}
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	return string(b)
}

// check checks the answer to a request whose only rejected event is tt,
// at index in the request: its error names the field, and the event's id
// as far as it could be read.
func (tt invalidEvent) check(t *testing.T, got ingestResponse, index int) {
	t.Helper()
	wantErrorCode(t, got, "invalid")
	if len(got.Errors) != 1 {
		return // wantSummary tells
	}
	e := got.Errors[0]
	if e.Index != index || e.Code != "invalid" || e.Field != tt.field || e.Message == "" {
		t.Errorf("errors[0] = %+v, want index %d, code invalid, field %s and a message", e, index, tt.field)
	}
	wantID := "e1"
	if tt.field == "event_id" {
		wantID, _ = tt.value.(string) // "" when it is not a string
	}
	if e.EventID != wantID {
		t.Errorf("errors[0].event_id = %q, want %q", e.EventID, wantID)
	}
}

// batchCase is a batch of events sent after agent-1's event "old"
// (CUMULATIVE "requests" 1) is stored, and what the answer and the store
// say after it.
type batchCase struct {
	name         string
	events       []string
	wantStatus   int
	wantCode     string // "" for a 2xx
	wantAccepted int
	wantDups     int
	wantErrors   []itemError
	wantTotal    string // agent-1 "requests" afterwards
	wantCount    int64
}

// batchCases are the outcomes of a batch of events, sent as a JSON array
// and as NDJSON lines alike.
var batchCases = []batchCase{
	{
		name: "all new is 202",
		events: []string{
			cum("agent-1", "n1", ts1, "requests", 10),
			cum("agent-1", "n2", ts2, "requests", 20),
		},
		wantStatus:   http.StatusAccepted,
		wantAccepted: 2,
		wantTotal:    "31",
		wantCount:    3,
	},
	{
		name: "all duplicates is 200",
		events: []string{
			cum("agent-1", "old", ts0, "requests", 1),
			cum("agent-1", "old", ts0, "requests", 1),
		},
		wantStatus: http.StatusOK,
		wantDups:   2,
		wantTotal:  "1",
		wantCount:  1,
	},
	{
		name: "new and duplicate is 202",
		events: []string{
			cum("agent-1", "old", ts0, "requests", 1),
			cum("agent-1", "n1", ts1, "requests", 10),
		},
		wantStatus:   http.StatusAccepted,
		wantAccepted: 1,
		wantDups:     1,
		wantTotal:    "11",
		wantCount:    2,
	},
	{
		name: "only conflicts among the rejections is 409",
		events: []string{
			cum("agent-1", "n1", ts1, "requests", 10),
			cum("agent-1", "old", ts0, "requests", 99),  // conflict: other value
			cum("agent-1", "old", ts0, "requests", 1),   // duplicate
			series("agent-1", "n2", ts1, "requests", 5), // conflict: other type
			cum("agent-1", "n3", ts2, "requests", 20),
		},
		wantStatus:   http.StatusConflict,
		wantCode:     "conflict",
		wantAccepted: 2,
		wantDups:     1,
		wantErrors: []itemError{
			{Index: 1, EventID: "old", Code: "conflict", Field: "event_id"},
			{Index: 3, EventID: "n2", Code: "conflict", Field: "event_type"},
		},
		wantTotal: "31",
		wantCount: 3,
	},
	{
		name: "conflicts and invalid events is 400",
		events: []string{
			cum("agent-1", "old", ts0, "requests", 2), // conflict
			cum("agent-1", "n1", ts1, "requests", 10),
			cum("agent-1", "n2", "soon", "requests", 1), // invalid
		},
		wantStatus:   http.StatusBadRequest,
		wantCode:     "invalid",
		wantAccepted: 1,
		wantErrors: []itemError{
			{Index: 0, EventID: "old", Code: "conflict", Field: "event_id"},
			{Index: 2, EventID: "n2", Code: "invalid", Field: "event_timestamp"},
		},
		wantTotal: "11",
		wantCount: 2,
	},
	{
		name: "same new id twice with other content is 409",
		events: []string{
			cum("agent-1", "n1", ts1, "requests", 10),
			cum("agent-1", "n1", ts1, "requests", 11),
		},
		wantStatus:   http.StatusConflict,
		wantCode:     "conflict",
		wantAccepted: 1,
		wantErrors: []itemError{
			{Index: 1, EventID: "n1", Code: "conflict", Field: "event_id"},
		},
		wantTotal: "11",
		wantCount: 2,
	},
	{
		name: "every event a conflict is 409",
		events: []string{
			cum("agent-1", "old", ts0, "requests", 2),
			series("agent-1", "n1", ts0, "requests", 2),
		},
		wantStatus: http.StatusConflict,
		wantCode:   "conflict",
		wantErrors: []itemError{
			{Index: 0, EventID: "old", Code: "conflict", Field: "event_id"},
			{Index: 1, EventID: "n1", Code: "conflict", Field: "event_type"},
		},
		wantTotal: "1",
		wantCount: 1,
	},
}

// setup stores agent-1's event "old".
func (batchCase) setup(t *testing.T, a *api) {
	t.Helper()
	if status, _ := a.post(cum("agent-1", "old", ts0, "requests", 1)); status != http.StatusAccepted {
		t.Fatalf("setup: status %d, want 202", status)
	}
}

// check checks the answer to the batch and agent-1's total after it.
func (tt batchCase) check(t *testing.T, a *api, status int, got ingestResponse) {
	t.Helper()
	wantStatus(t, status, tt.wantStatus)
	wantSummary(t, got, tt.wantAccepted, tt.wantDups, len(tt.wantErrors))
	wantErrorCode(t, got, tt.wantCode)
	checkItemErrors(t, got.Errors, tt.wantErrors)
	checkTotal(t, a, "agent-1", "requests", tt.wantTotal, tt.wantCount)
}
