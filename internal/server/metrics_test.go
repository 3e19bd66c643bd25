package server_test

import (
	"bufio"
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/montool/montool/internal/auth"
	"github.com/montool/montool/internal/store"
	"github.com/montool/montool/internal/storetest"
)

// metricValue returns the value of the sample of the exposition text whose
// name and labels are series (such as `montool_store_clients` or
// `montool_events_total{outcome="accepted",type="CUMULATIVE"}`), and
// whether there is one.
func metricValue(t *testing.T, text []byte, series string) (float64, bool) {
	t.Helper()
	sc := bufio.NewScanner(bytes.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		at := strings.LastIndexByte(line, ' ') // label values may hold spaces
		if at > 0 && line[:at] == series {
			value := line[at+1:]
			v, err := strconv.ParseFloat(value, 64)
			if err != nil {
				t.Fatalf("sample %q: %v", sc.Text(), err)
			}
			return v, true
		}
	}
	return 0, false
}

// TestMetrics sends events with every outcome and reads them back from
// /metrics, with the store's size and the requests' times.
func TestMetrics(t *testing.T) {
	a := newDefaultAPI(t)
	a.post(batch(cum("agent-1", "e1", ts0, "requests", 1), cum("agent-1", "e2", ts0, "requests", 1)))
	a.post(cum("agent-1", "e1", ts0, "requests", 1)) // a duplicate
	a.post(cum("agent-1", "e1", ts0, "requests", 5)) // a conflict
	a.post(`{"client_id":"agent-1"}`)                // invalid
	r := a.get("/metrics")
	wantStatus(t, r.status, http.StatusOK)
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type %q, want the text exposition format", ct)
	}
	for series, want := range map[string]float64{
		`montool_events_total{outcome="accepted",type="CUMULATIVE"}`:                            2,
		`montool_events_total{outcome="duplicate",type="CUMULATIVE"}`:                           1,
		`montool_events_rejected_total{reason="conflict"}`:                                      1,
		`montool_events_rejected_total{reason="invalid"}`:                                       1,
		`montool_store_clients`:                                                                 1,
		`montool_store_events`:                                                                  2,
		`montool_store_keys`:                                                                    1,
		`montool_http_request_duration_seconds_count{route="POST /api/v1/events",status="202"}`: 1,
		`montool_http_request_duration_seconds_count{route="POST /api/v1/events",status="200"}`: 1,
		`montool_http_request_duration_seconds_count{route="POST /api/v1/events",status="409"}`: 1,
		`montool_http_request_duration_seconds_count{route="POST /api/v1/events",status="400"}`: 1,
		`montool_http_requests_in_flight`:                                                       1, // the scrape itself
	} {
		got, ok := metricValue(t, r.body, series)
		if !ok || got != want {
			t.Errorf("%s = %v (found %v), want %v", series, got, ok, want)
		}
	}
	for _, name := range []string{"montool_store_bytes", "go_goroutines", "process_resident_memory_bytes"} {
		if _, ok := metricValue(t, r.body, name); !ok {
			t.Errorf("no %s in /metrics", name)
		}
	}
	// A request the mux did not route is counted under route "none".
	a.get("/nope")
	r = a.get("/metrics")
	if got, ok := metricValue(t, r.body, `montool_http_request_duration_seconds_count{route="none",status="404"}`); !ok || got != 1 {
		t.Errorf("unrouted 404s counted %v (found %v), want 1", got, ok)
	}
}

// TestMetricsAccess: with tokens, /metrics takes an admin token unless it
// is public.
func TestMetricsAccess(t *testing.T) {
	admin, reader := auth.NewSecret(), auth.NewSecret()
	tokens, err := auth.NewSet([]auth.Token{
		{Name: "admin", Hash: auth.Hash(admin), Role: auth.RoleAdmin, Clients: []string{"*"}},
		{Name: "reader", Hash: auth.Hash(reader), Role: auth.RoleRead, Clients: []string{"*"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name   string
		public bool
		token  string
		want   int
	}{
		{"no token", false, "", http.StatusUnauthorized},
		{"a read token", false, reader, http.StatusForbidden},
		{"an admin token", false, admin, http.StatusOK},
		{"public, no token", true, "", http.StatusOK},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.Tokens, cfg.MetricsPublic = tokens, tt.public
			a := newAPIWith(t, cfg, storetest.New(t, store.Policy{}))
			h := map[string]string{}
			if tt.token != "" {
				h["Authorization"] = "Bearer " + tt.token
			}
			r := a.do(http.MethodGet, "/metrics", nil, h)
			wantStatus(t, r.status, tt.want)
		})
	}
}
