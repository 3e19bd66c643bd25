package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/montool/montool/internal/auth"
	"github.com/montool/montool/internal/store"
)

// TestExportPrometheus reads the export: counters for CUMULATIVE keys,
// the latest sample of TIME-SERIES keys as gauges, names sanitised.
func TestExportPrometheus(t *testing.T) {
	a := newDefaultAPI(t)
	a.post(batch(
		cum("web-01", "e1", ts0, "http.requests", 3),
		cum("web-01", "e2", ts1, "http.requests", 2),
		cum("web-01", "e3", ts0, "errors_total", 1),
		series("web-01", "e4", ts0, "cpu-usage %", 10),
		series("web-01", "e5", ts2, "cpu-usage %", 30),
		series("web-01", "e6", ts1, "cpu-usage %", 20), // arrived last, not the latest
		series("db-1", "e1", ts0, "queue_total", 4),    // a gauge whose name would look like a counter's
	))
	r := a.get("/api/v1/export/prometheus")
	wantStatus(t, r.status, http.StatusOK)
	for _, line := range []string{
		"# TYPE montool_key_http_requests_total counter",
		`montool_key_http_requests_total{client_id="web-01",key="http.requests"} 5`,
		"# TYPE montool_key_errors_total counter",
		`montool_key_errors_total{client_id="web-01",key="errors_total"} 1`,
		"# TYPE montool_key_cpu_usage__ gauge",
		`montool_key_cpu_usage__{client_id="web-01",key="cpu-usage %"} 30`,
		"# TYPE montool_key_queue_total_gauge gauge",
		`montool_key_queue_total_gauge{client_id="db-1",key="queue_total"} 4`,
	} {
		if !strings.Contains(string(r.body), line+"\n") {
			t.Errorf("export lacks %q:\n%s", line, r.body)
		}
	}
}

// TestExportPrometheusGrants: a read token sees only its clients; an
// ingest token may not read.
func TestExportPrometheusGrants(t *testing.T) {
	reader, ingester := auth.NewSecret(), auth.NewSecret()
	tokens, err := auth.NewSet([]auth.Token{
		{Name: "reader", Hash: auth.Hash(reader), Role: auth.RoleRead, Clients: []string{"web-*"}},
		{Name: "ingester", Hash: auth.Hash(ingester), Role: auth.RoleIngest, Clients: []string{"*"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.Tokens = tokens
	a := newAPIWith(t, cfg, store.New())
	bearer := func(s string) map[string]string {
		return map[string]string{"Authorization": "Bearer " + s, "Content-Type": "application/json"}
	}
	a.do(http.MethodPost, "/api/v1/events", strings.NewReader(batch(cum("web-01", "e1", ts0, "n", 1), cum("db-1", "e1", ts0, "n", 2))), bearer(ingester))

	r := a.do(http.MethodGet, "/api/v1/export/prometheus", nil, bearer(reader))
	wantStatus(t, r.status, http.StatusOK)
	if !strings.Contains(string(r.body), `client_id="web-01"`) || strings.Contains(string(r.body), `client_id="db-1"`) {
		t.Errorf("export for a token of web-*:\n%s", r.body)
	}
	r = a.do(http.MethodGet, "/api/v1/export/prometheus", nil, bearer(ingester))
	wantStatus(t, r.status, http.StatusForbidden)
	r = a.do(http.MethodGet, "/api/v1/export/prometheus", nil, nil)
	wantStatus(t, r.status, http.StatusUnauthorized)
}
