package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	"github.com/pb33f/libopenapi-validator/content"
	"github.com/pb33f/libopenapi-validator/errors"
	"go.yaml.in/yaml/v3"

	"github.com/montool/montool/internal/event"
	"github.com/montool/montool/internal/server"
	"github.com/montool/montool/internal/store"
	"github.com/montool/montool/internal/storetest"
)

// openAPIDoc is the part of the OpenAPI document the tests read.
type openAPIDoc struct {
	OpenAPI string                          `yaml:"openapi"`
	Paths   map[string]map[string]yaml.Node `yaml:"paths"` // path → method (or parameters) → operation
}

type openAPIOperation struct {
	OperationID string           `yaml:"operationId"`
	Responses   map[string]any   `yaml:"responses"`
	Examples    []openAPIExample `yaml:"x-examples"`
}

// openAPIExample is a request of the document that the test sends to a
// real server.
type openAPIExample struct {
	Name        string `yaml:"name"`
	Path        string `yaml:"path"` // the operation's path when empty
	Body        string `yaml:"body"`
	ContentType string `yaml:"content_type"`
	// Token names the token sent to a server that takes tokens; empty
	// sends the request to a server in open mode.
	Token string `yaml:"token"`
	// InvalidRequest says that the request breaks the document on purpose.
	InvalidRequest bool `yaml:"invalid_request"`
	Status         int  `yaml:"status"`
}

// methods are the keys of a path item that are operations.
var methods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// openAPISpec is the served document, read both ways: as plain YAML for
// what the tests walk, and by an OpenAPI validator.
type openAPISpec struct {
	doc       openAPIDoc
	validator validator.Validator
}

// loadOpenAPI fetches the document a serves and reads it.
func loadOpenAPI(t *testing.T, a *api) openAPISpec {
	t.Helper()
	r := a.get("/api/v1/openapi.yaml")
	wantStatus(t, r.status, http.StatusOK)
	if ct := r.header.Get("Content-Type"); ct != "application/yaml" {
		t.Errorf("Content-Type %q, want application/yaml", ct)
	}
	var spec openAPISpec
	if err := yaml.Unmarshal(r.body, &spec.doc); err != nil {
		t.Fatalf("the document is not YAML: %v", err)
	}
	doc, err := libopenapi.NewDocument(r.body)
	if err != nil {
		t.Fatalf("libopenapi: %v", err)
	}
	v, errs := validator.NewValidator(doc, config.WithBodyDecoder("application/x-ndjson", ndjsonLines))
	if len(errs) > 0 {
		t.Fatalf("libopenapi-validator: %v", errs)
	}
	spec.validator = v
	return spec
}

// ndjsonLines reads an NDJSON body as the array of its lines, blank lines
// skipped, which is how the document describes it.
var ndjsonLines = content.DecoderFunc(func(in *content.DecodeInput) (any, error) {
	lines := []any{}
	sc := bufio.NewScanner(in.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var v any
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			return nil, fmt.Errorf("line %d: %w", len(lines)+1, err)
		}
		lines = append(lines, v)
	}
	return lines, sc.Err()
})

// operations calls f with each operation of the document.
func (s openAPISpec) operations(t *testing.T, f func(method, path string, op openAPIOperation)) {
	t.Helper()
	for path, item := range s.doc.Paths {
		for method, node := range item {
			if !slices.Contains(methods, method) {
				continue
			}
			var op openAPIOperation
			if err := node.Decode(&op); err != nil {
				t.Fatalf("%s %s: %v", method, path, err)
			}
			f(strings.ToUpper(method), path, op)
		}
	}
}

// validationErrors words what the validator found.
func validationErrors(errs []*errors.ValidationError) string {
	var b strings.Builder
	for _, e := range errs {
		fmt.Fprintf(&b, "\n\t%s", e.Error())
		for _, f := range e.SchemaValidationErrors {
			fmt.Fprintf(&b, "\n\t\t%s: %s", f.FieldPath, f.Reason)
		}
	}
	return b.String()
}

// exchange is one request and its answer, as the validator takes them.
type exchange struct {
	method, url string
	header      http.Header
	body        string
	status      int
	respHeader  http.Header
	respBody    []byte
}

func (x exchange) request(t *testing.T) *http.Request {
	t.Helper()
	req, err := http.NewRequest(x.method, x.url, strings.NewReader(x.body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range x.header {
		req.Header[k] = v
	}
	return req
}

// checkRequest checks that the request follows the document, or, when
// invalid, that the validator refuses it.
func (s openAPISpec) checkRequest(t *testing.T, x exchange, invalid bool) {
	t.Helper()
	ok, errs := s.validator.ValidateHttpRequestSync(x.request(t))
	switch {
	case invalid && ok:
		t.Errorf("%s %s: the validator takes the request, which the document says breaks it", x.method, x.url)
	case !invalid && !ok:
		t.Errorf("%s %s: the request does not follow the document:%s", x.method, x.url, validationErrors(errs))
	}
}

// checkAnswer checks that the answer follows the document.
func (s openAPISpec) checkAnswer(t *testing.T, x exchange) {
	t.Helper()
	if ok, errs := s.validateAnswer(t, x); !ok {
		t.Errorf("%s %s: answer %d %s does not follow the document:%s", x.method, x.url, x.status, x.respBody, validationErrors(errs))
	}
}

func (s openAPISpec) validateAnswer(t *testing.T, x exchange) (bool, []*errors.ValidationError) {
	t.Helper()
	req := x.request(t)
	resp := &http.Response{StatusCode: x.status, Header: x.respHeader, Body: io.NopCloser(bytes.NewReader(x.respBody)), Request: req}
	if resp.Header == nil {
		resp.Header = http.Header{}
	}
	return s.validator.ValidateHttpResponse(req, resp)
}

// send sends x to a and fills in its answer.
func (x exchange) send(t *testing.T, a *api) exchange {
	t.Helper()
	h := map[string]string{}
	for k := range x.header {
		h[k] = x.header.Get(k)
	}
	got := a.do(x.method, strings.TrimPrefix(x.url, a.url), strings.NewReader(x.body), h)
	x.status, x.respHeader, x.respBody = got.status, got.header, got.body
	return x
}

// seedOpenAPIStore returns a store that holds what the examples of the
// document expect.
func seedOpenAPIStore(t *testing.T) *store.Memory {
	t.Helper()
	m := storetest.NewMemory(t, store.Policy{})
	if _, err := m.Apply(context.Background(), []event.Event{
		{ClientID: "web-01", ID: "r1", Timestamp: 1763850000_000_000_000, Type: event.Cumulative, Key: "requests", Value: 3},
		{ClientID: "web-01", ID: "c1", Timestamp: 1763850000_000_000_000, Type: event.TimeSeries, Key: "cpu", Value: 12.5},
		{ClientID: "web-01", ID: "c2", Timestamp: 1763850060_000_000_000, Type: event.TimeSeries, Key: "cpu", Value: 14},
	}); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestOpenAPIDocumentIsValid validates the document against the OpenAPI
// 3.1 schema, and checks what linters ask of each operation: a unique
// operationId, 4xx answers, and the 405 the server gives every path.
func TestOpenAPIDocumentIsValid(t *testing.T) {
	spec := loadOpenAPI(t, newDefaultAPI(t))
	if ok, errs := spec.validator.ValidateDocument(); !ok {
		t.Errorf("the document is not valid OpenAPI 3.1:%s", validationErrors(errs))
	}
	ids := map[string]string{}
	spec.operations(t, func(method, path string, op openAPIOperation) {
		switch prev, dup := ids[op.OperationID]; {
		case op.OperationID == "":
			t.Errorf("%s %s has no operationId", method, path)
		case dup:
			t.Errorf("%s %s has the operationId %q of %s", method, path, op.OperationID, prev)
		}
		ids[op.OperationID] = method + " " + path
		var has4xx bool
		for status := range op.Responses {
			has4xx = has4xx || strings.HasPrefix(status, "4")
		}
		if !has4xx {
			t.Errorf("%s %s documents no 4xx answer", method, path)
		}
		for _, status := range []string{"400", "405"} {
			if _, ok := op.Responses[status]; !ok {
				t.Errorf("%s %s does not document %s, which the server answers on every path", method, path, status)
			}
		}
	})
}

// TestOpenAPI reads the document the server serves: it documents every
// route the server has and no other, and each example request gets the
// status the document gives it from a real server, which is among the
// operation's responses; the request follows the document (or breaks it
// where the example says so) and the answer follows it.
func TestOpenAPI(t *testing.T) {
	m := seedOpenAPIStore(t)
	srv, err := server.New(testConfig(), m, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	open := newAPIWith(t, testConfig(), m)
	secrets := newSecrets()
	cfg := testConfig()
	cfg.Tokens = secrets.tokenSet(t)
	withTokens := newAPIWith(t, cfg, m)
	tokens := map[string]string{
		"none":        "",
		"unknown":     "not-a-token-of-this-server",
		"ingest-web":  secrets.ingestWeb,
		"read-web-01": secrets.readWeb01,
		"admin":       secrets.admin,
		"admin-web":   secrets.adminWeb,
	}

	spec := loadOpenAPI(t, open)
	if spec.doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi = %q, want 3.1.0", spec.doc.OpenAPI)
	}

	documented := map[string]bool{}
	spec.operations(t, func(method, path string, _ openAPIOperation) { documented[method+" "+path] = true })
	for _, route := range srv.Routes() {
		if !documented[route] {
			t.Errorf("route %s is not in the OpenAPI document", route)
		}
		delete(documented, route)
	}
	for op := range documented {
		t.Errorf("the OpenAPI document has %s, which the server does not route", op)
	}

	spec.operations(t, func(method, path string, op openAPIOperation) {
		if len(op.Examples) == 0 {
			t.Errorf("%s %s has no example", method, path)
		}
		for _, ex := range op.Examples {
			t.Run(method+" "+path+" "+ex.Name, func(t *testing.T) {
				if _, ok := op.Responses[strconv.Itoa(ex.Status)]; !ok {
					t.Errorf("example status %d is not among the operation's responses", ex.Status)
				}
				a := open
				x := exchange{method: method, header: http.Header{}, body: ex.Body}
				if ex.Token != "" {
					a = withTokens
					token, ok := tokens[ex.Token]
					if !ok {
						t.Fatalf("no token named %q", ex.Token)
					}
					if token != "" {
						x.header.Set("Authorization", "Bearer "+token)
					}
				}
				target := ex.Path
				if target == "" {
					target = path
				}
				if ex.Body != "" {
					x.header.Set("Content-Type", "application/json")
				}
				if ex.ContentType != "" {
					x.header.Set("Content-Type", ex.ContentType)
				}
				x.url = a.url + target
				x = x.send(t, a)
				if x.status != ex.Status {
					t.Errorf("status %d, the document says %d; body %s", x.status, ex.Status, x.respBody)
				}
				// A path that is not clean matches no path of the document:
				// it is validated in its clean form, which the answer names.
				if p, q, _ := strings.Cut(target, "?"); cleanURLPath(p) != p {
					x.url = a.url + cleanURLPath(p)
					if q != "" {
						x.url += "?" + q
					}
				}
				spec.checkRequest(t, x, ex.InvalidRequest)
				spec.checkAnswer(t, x)
			})
		}
	})
}

// cleanURLPath is p without empty, "." or ".." segments.
func cleanURLPath(p string) string {
	clean := path.Clean(p)
	if strings.HasSuffix(p, "/") && clean != "/" {
		clean += "/"
	}
	return clean
}

// concrete returns path with its parameters filled in.
func concrete(path string) string {
	return strings.ReplaceAll(path, "{client_id}", "web-01")
}

// TestOpenAPIMethodNotAllowed sends every path each method it does not
// document: the answer is 405 with the Allow header and body that each
// operation of the path documents for it.
func TestOpenAPIMethodNotAllowed(t *testing.T) {
	a := newAPIWith(t, testConfig(), seedOpenAPIStore(t))
	spec := loadOpenAPI(t, a)
	for path, item := range spec.doc.Paths {
		var documented []string
		for method := range item {
			if slices.Contains(methods, method) {
				documented = append(documented, strings.ToUpper(method))
			}
		}
		for _, method := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
			if slices.Contains(documented, method) {
				continue
			}
			t.Run(method+" "+path, func(t *testing.T) {
				x := exchange{method: method, url: a.url + concrete(path), header: http.Header{}}.send(t, a)
				wantStatus(t, x.status, http.StatusMethodNotAllowed)
				allow := strings.Split(x.respHeader.Get("Allow"), ", ")
				for _, m := range documented {
					if !slices.Contains(allow, m) {
						t.Errorf("Allow %q does not list %s", allow, m)
					}
				}
				for _, m := range documented { // the answer of each operation of the path
					x.method = m
					spec.checkAnswer(t, x)
				}
			})
		}
	}
}

var (
	_ server.Failure   = failingStore{}
	_ server.Readiness = loadingStore{}
)

// failingStore is a store whose write-ahead log has failed for good.
type failingStore struct {
	*store.Memory
}

func (failingStore) Failed() error {
	return &event.Error{Kind: event.ErrStorageFull, Message: "the write-ahead log cannot be written: disk full"}
}

// loadingStore is a store still loading its data.
type loadingStore struct {
	*store.Memory
}

func (loadingStore) Ready() bool { return false }

// TestOpenAPIServerStates checks that the answers a server gives in states
// the examples do not reach (limits passed, a store loading or failed)
// follow the document.
func TestOpenAPIServerStates(t *testing.T) {
	newEvent := cum("web-09", "s1", ts0, "requests", 1)
	tests := []struct {
		name   string
		config func(*server.Config)
		store  func(*store.Memory) server.Store
		method string
		path   string
		body   string
		before string // a body sent first
		ctype  string // the body's Content-Type, when not application/json
		status int
	}{
		{name: "a body over the limit", config: func(c *server.Config) { c.MaxBodyBytes = 16 },
			method: http.MethodPost, path: "/api/v1/events", body: newEvent, status: http.StatusRequestEntityTooLarge},
		{name: "a client over its rate", config: func(c *server.Config) { c.RateLimit, c.RateBurst = 1, 1 },
			method: http.MethodPost, path: "/api/v1/events", before: newEvent, body: cum("web-09", "s2", ts0, "requests", 1), status: http.StatusTooManyRequests},
		{name: "a store over its clients", store: func(m *store.Memory) server.Store {
			m.SetPolicy(store.Policy{Limits: store.Limits{MaxClients: 1}})
			return m
		},
			method: http.MethodPost, path: "/api/v1/events", body: newEvent, status: http.StatusTooManyRequests},
		{name: "a full store", store: func(m *store.Memory) server.Store {
			m.SetPolicy(store.Policy{Limits: store.Limits{MaxBytes: 1}})
			return m
		},
			method: http.MethodPost, path: "/api/v1/events", body: newEvent, status: http.StatusInsufficientStorage},
		{name: "a store loading, ingest", store: func(m *store.Memory) server.Store { return loadingStore{m} },
			method: http.MethodPost, path: "/api/v1/events", body: newEvent, status: http.StatusServiceUnavailable},
		{name: "a store loading, readiness", store: func(m *store.Memory) server.Store { return loadingStore{m} },
			method: http.MethodGet, path: "/readyz", status: http.StatusServiceUnavailable},
		{name: "a store loading, stats", store: func(m *store.Memory) server.Store { return loadingStore{m} },
			method: http.MethodGet, path: "/api/v1/stats", status: http.StatusServiceUnavailable},
		{name: "a failed store, ingest", store: func(m *store.Memory) server.Store { return failingStore{m} },
			method: http.MethodPost, path: "/api/v1/events", body: newEvent, status: http.StatusInsufficientStorage},
		{name: "a failed store, delete", store: func(m *store.Memory) server.Store { return failingStore{m} },
			method: http.MethodDelete, path: "/api/v1/clients/web-01", status: http.StatusInsufficientStorage},
		{name: "a failed store, dump", store: func(m *store.Memory) server.Store { return failingStore{m} },
			method: http.MethodGet, path: "/api/v1/clients/web-01/events", status: http.StatusServiceUnavailable},
		{name: "a failed store, list", store: func(m *store.Memory) server.Store { return failingStore{m} },
			method: http.MethodGet, path: "/api/v1/clients", status: http.StatusServiceUnavailable},
		{name: "a failed store, export", store: func(m *store.Memory) server.Store { return failingStore{m} },
			method: http.MethodGet, path: "/api/v1/export/prometheus", status: http.StatusServiceUnavailable},
		{name: "a charset other than UTF-8", method: http.MethodPost, path: "/api/v1/events", body: newEvent,
			ctype: "application/json; charset=latin1", status: http.StatusUnsupportedMediaType},
		{name: "events as NDJSON", method: http.MethodPost, path: "/api/v1/events", body: newEvent + "\n\n" + cum("web-09", "s5", ts0, "requests", 1) + "\n",
			ctype: "application/x-ndjson", status: http.StatusAccepted},
		{name: "a batch of events lower and upper case", method: http.MethodPost, path: "/api/v1/events",
			body: batch(ev("web-09", "s3", ts0, "cumulative", "requests", 1), ev("web-09", "s4", ts0, "Time-Series", "cpu", "1.5")), status: http.StatusAccepted},
		{name: "a dump as NDJSON", method: http.MethodGet, path: "/api/v1/clients/web-01/events?format=ndjson", status: http.StatusOK},
		{name: "a dump between timestamps", method: http.MethodGet, path: "/api/v1/clients/web-01/events?key=cpu&key=requests&from=1763850000&to=1763850030", status: http.StatusOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			if tc.config != nil {
				tc.config(&cfg)
			}
			m := seedOpenAPIStore(t)
			var st server.Store = m
			if tc.store != nil {
				st = tc.store(m)
			}
			a := newAPIWith(t, cfg, st)
			spec := loadOpenAPI(t, a)
			x := exchange{method: tc.method, url: a.url + tc.path, header: http.Header{}, body: tc.body}
			if tc.body != "" {
				x.header.Set("Content-Type", "application/json")
			}
			if tc.ctype != "" {
				x.header.Set("Content-Type", tc.ctype)
			}
			if tc.before != "" {
				a.postRaw(tc.before, "application/json")
			}
			x = x.send(t, a)
			if x.status != tc.status {
				t.Fatalf("status %d, want %d; body %s", x.status, tc.status, x.respBody)
			}
			if tc.status < 300 {
				spec.checkRequest(t, x, false)
			}
			spec.checkAnswer(t, x)
		})
	}
}

// TestOpenAPIRequestTimeout trickles a body slower than the read timeout:
// the 408 follows the document.
func TestOpenAPIRequestTimeout(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.ReadTimeout = 300 * time.Millisecond
	srv, err := server.New(cfg, storetest.NewMemory(t, store.Policy{}), discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	addr := startServer(t, srv)
	spec := loadOpenAPI(t, &api{t: t, url: "http://" + addr, client: &http.Client{Timeout: 5 * time.Second}})

	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := cum("agent-1", "e1", ts0, "requests", 1)
	// Half the body, and never the rest: the read timeout passes.
	fmt.Fprintf(conn, "POST /api/v1/events HTTP/1.1\r\nHost: montool\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body[:len(body)/2])
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Fatalf("status %d, want 408; body %s", resp.StatusCode, raw)
	}
	spec.checkAnswer(t, exchange{method: http.MethodPost, url: "http://" + addr + "/api/v1/events", header: http.Header{"Content-Type": {"application/json"}},
		body: body, status: resp.StatusCode, respHeader: resp.Header, respBody: raw})
}

// TestOpenAPISchemasAreTight feeds the validator answers that are wrong
// in one way each: a misnamed, missing, extra or mistyped field. It must
// refuse every one, or the checks of the real answers above prove little.
func TestOpenAPISchemasAreTight(t *testing.T) {
	a := newDefaultAPI(t)
	spec := loadOpenAPI(t, a)
	tests := []struct {
		name, method, path string
		status             int
		body               string
	}{
		{"a misnamed field of the ingest answer", "POST", "/api/v1/events", 202, `{"accepted":1,"duplicate":0,"rejected":0,"errors":[]}`},
		{"a count that is a string", "POST", "/api/v1/events", 202, `{"accepted":"1","duplicates":0,"rejected":0,"errors":[]}`},
		{"an ingest error without its summary", "POST", "/api/v1/events", 409, `{"errors":[],"error":{"code":"conflict","message":"m"}}`},
		{"a rejected event without its code", "POST", "/api/v1/events", 400,
			`{"accepted":0,"duplicates":0,"rejected":1,"errors":[{"index":0,"event_id":"e","message":"m"}],"error":{"code":"invalid","message":"m"}}`},
		{"an error code the server has not", "GET", "/api/v1/clients/nobody", 404, `{"error":{"code":"missing","message":"m"}}`},
		{"an error with a stray field", "GET", "/api/v1/clients/nobody", 404, `{"error":{"code":"not_found","message":"m","status":404}}`},
		{"a misnamed field of the client list", "GET", "/api/v1/clients", 200, `{"clients":[{"client_id":"web-01","events":3}]}`},
		{"a summary key with the wrong type name", "GET", "/api/v1/clients/web-01", 200,
			`{"client_id":"web-01","event_count":1,"keys":[{"event_key":"k","event_type":"cumulative","event_count":1,"last_timestamp":1,"event_value":1}]}`},
		{"a CUMULATIVE total without its count", "GET", "/api/v1/clients/web-01/events", 200,
			`{"client_id":"web-01","events":{"requests":{"client_id":"web-01","event_type":"CUMULATIVE","event_key":"requests","event_value":3,"event_timestamp":1}}}`},
		{"a dumped event with a misnamed field", "GET", "/api/v1/clients/web-01/events", 200,
			`{"client_id":"web-01","events":{"cpu":[{"client_id":"web-01","event_id":"c1","timestamp":1,"event_type":"TIME-SERIES","event_key":"cpu","event_value":1}]}}`},
		{"a dumped timestamp as a string", "GET", "/api/v1/clients/web-01/events", 200,
			`{"client_id":"web-01","events":{"cpu":[{"client_id":"web-01","event_id":"c1","event_timestamp":"1","event_type":"TIME-SERIES","event_key":"cpu","event_value":1}]}}`},
		{"a deletion with a misnamed count", "DELETE", "/api/v1/clients/web-01", 200, `{"client_id":"web-01","deleted":3}`},
		{"stats without the memory", "GET", "/api/v1/stats", 200, `{"clients":0,"events":0,"store_bytes":0,"rate_limit_buckets":0,"goroutines":1}`},
		{"stats with a misnamed memory figure", "GET", "/api/v1/stats", 200,
			`{"clients":0,"events":0,"store_bytes":0,"rate_limit_buckets":0,"goroutines":1,"memory":{"heap_alloc":1,"heap_inuse_bytes":1,"sys_bytes":1,"rss_bytes":1}}`},
		{"a health answer with another field", "GET", "/healthz", 200, `{"status":"ok","uptime":1}`},
		{"a status the operation does not document", "GET", "/healthz", 418, `{"error":{"code":"internal","message":"m"}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			x := exchange{method: tc.method, url: a.url + tc.path, header: http.Header{}, status: tc.status,
				respHeader: http.Header{"Content-Type": {"application/json"}}, respBody: []byte(tc.body)}
			ok, errs := spec.validateAnswer(t, x)
			if ok {
				t.Errorf("the validator takes %d %s", tc.status, tc.body)
			}
			t.Logf("refused:%s", validationErrors(errs))
		})
	}
	// The right answers, so that the cases above fail for their fault.
	for _, body := range []string{
		`{"accepted":1,"duplicates":0,"rejected":0,"errors":[]}`,
	} {
		x := exchange{method: "POST", url: a.url + "/api/v1/events", header: http.Header{}, status: 202,
			respHeader: http.Header{"Content-Type": {"application/json"}}, respBody: []byte(body)}
		spec.checkAnswer(t, x)
	}
}
