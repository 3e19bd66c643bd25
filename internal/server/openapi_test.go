package server_test

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/montool/montool/internal/event"
	"github.com/montool/montool/internal/server"
	"github.com/montool/montool/internal/store"
)

// openAPIDoc is the part of the OpenAPI document the tests read.
type openAPIDoc struct {
	OpenAPI string                          `yaml:"openapi"`
	Paths   map[string]map[string]yaml.Node `yaml:"paths"` // path → method (or parameters) → operation
}

type openAPIOperation struct {
	Responses map[string]any   `yaml:"responses"`
	Examples  []openAPIExample `yaml:"x-examples"`
}

// openAPIExample is a request of the document whose status the test
// checks against a real server.
type openAPIExample struct {
	Name        string `yaml:"name"`
	Path        string `yaml:"path"` // the operation's path when empty
	Body        string `yaml:"body"`
	ContentType string `yaml:"content_type"`
	Status      int    `yaml:"status"`
}

// methods are the keys of a path item that are operations.
var methods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// TestOpenAPI reads the document the server serves: it documents every
// route the server has and no other, each example request gets the status
// the document gives it from a real server, and each such status is among
// the operation's responses.
func TestOpenAPI(t *testing.T) {
	m := store.New()
	if _, err := m.Apply(context.Background(), []event.Event{
		{ClientID: "web-01", ID: "r1", Timestamp: 1763850000_000_000_000, Type: event.Cumulative, Key: "requests", Value: 3},
		{ClientID: "web-01", ID: "c1", Timestamp: 1763850000_000_000_000, Type: event.TimeSeries, Key: "cpu", Value: 12.5},
		{ClientID: "web-01", ID: "c2", Timestamp: 1763850060_000_000_000, Type: event.TimeSeries, Key: "cpu", Value: 14},
	}); err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(testConfig(), m, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	a := newAPIWith(t, testConfig(), m)
	r := a.get("/api/v1/openapi.yaml")
	wantStatus(t, r.status, http.StatusOK)
	if ct := r.header.Get("Content-Type"); ct != "application/yaml" {
		t.Errorf("Content-Type %q, want application/yaml", ct)
	}
	var doc openAPIDoc
	if err := yaml.Unmarshal(r.body, &doc); err != nil {
		t.Fatalf("the document is not YAML: %v", err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi = %q, want 3.1.0", doc.OpenAPI)
	}

	documented := map[string]bool{}
	for path, item := range doc.Paths {
		for method := range item {
			if slices.Contains(methods, method) {
				documented[strings.ToUpper(method)+" "+path] = true
			}
		}
	}
	for _, route := range srv.Routes() {
		if !documented[route] {
			t.Errorf("route %s is not in the OpenAPI document", route)
		}
		delete(documented, route)
	}
	for op := range documented {
		t.Errorf("the OpenAPI document has %s, which the server does not route", op)
	}

	for path, item := range doc.Paths {
		for method, node := range item {
			if !slices.Contains(methods, method) {
				continue
			}
			var op openAPIOperation
			if err := node.Decode(&op); err != nil {
				t.Fatalf("%s %s: %v", method, path, err)
			}
			if len(op.Examples) == 0 {
				t.Errorf("%s %s has no example", strings.ToUpper(method), path)
			}
			for _, ex := range op.Examples {
				t.Run(strings.ToUpper(method)+" "+path+" "+ex.Name, func(t *testing.T) {
					if _, ok := op.Responses[strconv.Itoa(ex.Status)]; !ok {
						t.Errorf("example status %d is not among the operation's responses", ex.Status)
					}
					target := ex.Path
					if target == "" {
						target = path
					}
					h := map[string]string{}
					if ex.Body != "" {
						h["Content-Type"] = "application/json"
					}
					if ex.ContentType != "" {
						h["Content-Type"] = ex.ContentType
					}
					got := a.do(strings.ToUpper(method), target, strings.NewReader(ex.Body), h)
					if got.status != ex.Status {
						t.Errorf("status %d, the document says %d; body %s", got.status, ex.Status, got.body)
					}
				})
			}
		}
	}
}
