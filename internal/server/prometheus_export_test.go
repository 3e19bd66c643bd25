package server_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/montool/montool/internal/auth"
	"github.com/montool/montool/internal/event"
	"github.com/montool/montool/internal/store"
	"github.com/montool/montool/internal/storetest"
)

// TestExportPrometheus reads the whole export of a few keys: the total and
// event count of CUMULATIVE keys, the latest sample of TIME-SERIES keys,
// and the latest timestamp of each, in fixed families with the key a label.
func TestExportPrometheus(t *testing.T) {
	a := newDefaultAPI(t)
	a.post(batch(
		cum("web-01", "e1", ts0, "http.requests", 3),
		cum("web-01", "e2", ts1, "http.requests", 2),
		series("web-01", "e4", ts0, "cpu-usage %", 10),
		series("web-01", "e5", ts2, "cpu-usage %", 30),
		series("web-01", "e6", ts1, "cpu-usage %", 20), // arrived last, not the latest
		series("db-1", "e1", ts0, "queue_total", 4),    // a gauge named like a counter
	))
	r := a.get("/api/v1/export/prometheus")
	wantStatus(t, r.status, http.StatusOK)
	want := `# HELP montool_cumulative_events_total The events summed into a CUMULATIVE key, by client and key.
# TYPE montool_cumulative_events_total counter
montool_cumulative_events_total{client_id="web-01",key="http.requests"} 2
# HELP montool_cumulative_total The sum of the values of the events of a CUMULATIVE key, by client and key.
# TYPE montool_cumulative_total counter
montool_cumulative_total{client_id="web-01",key="http.requests"} 5
# HELP montool_last_event_timestamp_seconds The Unix time of the latest event of a key (the event's own timestamp), by client and key.
# TYPE montool_last_event_timestamp_seconds gauge
montool_last_event_timestamp_seconds{client_id="db-1",key="queue_total"} 1.76385e+09
montool_last_event_timestamp_seconds{client_id="web-01",key="cpu-usage %"} 1.763850002e+09
montool_last_event_timestamp_seconds{client_id="web-01",key="http.requests"} 1.763850001e+09
# HELP montool_timeseries_value The value of the latest sample of a TIME-SERIES key, by client and key.
# TYPE montool_timeseries_value gauge
montool_timeseries_value{client_id="db-1",key="queue_total"} 4
montool_timeseries_value{client_id="web-01",key="cpu-usage %"} 30
`
	if got := string(r.body); got != want {
		t.Errorf("export:\n%s\nwant:\n%s", got, want)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("Content-Type %q, want the text exposition format", ct)
	}
}

// TestExportPrometheusKeys reads, through HTTP, the exact export of keys
// that no metric name could hold: each is a label value, escaped as the
// exposition format says (\\, \" and \n), and any other character kept.
// The events go straight into the store, since the API refuses a key with
// a newline; the export must be well-formed whatever the store holds.
func TestExportPrometheusKeys(t *testing.T) {
	for _, tc := range []struct {
		name     string
		clientID string
		key      string
		escaped  string // the label value as the export writes it
	}{
		{"plain", "web-01", "http_requests_total", "http_requests_total"},
		{"quotes", "web-01", `say "hi"`, `say \"hi\"`},
		{"backslash", "web-01", `C:\temp\x`, `C:\\temp\\x`},
		{"backslash n", "web-01", `a\nb`, `a\\nb`},
		{"newline", "web-01", "line 1\nline 2", `line 1\nline 2`},
		{"quote at the end", "web-01", `a\"`, `a\\\"`},
		{"utf-8", "web-01", "température °C · 温度 🌡", "température °C · 温度 🌡"},
		{"utf-8 client", "Zürich-ü", "cpu", "cpu"},
		{"label syntax", "web-01", `a="b",c}`, `a=\"b\",c}`},
		{"named like an export metric", "web-01", "montool_cumulative_total", "montool_cumulative_total"},
		{"named like a series", "web-01", `montool_timeseries_value{client_id="db-1"}`, `montool_timeseries_value{client_id=\"db-1\"}`},
		{"named like an own metric", "web-01", "montool_events_total", "montool_events_total"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := storetest.New(t, store.Policy{})
			if _, err := m.Apply(context.Background(), []event.Event{
				{ClientID: tc.clientID, ID: "1", Timestamp: ts0 * 1e9, Type: event.Cumulative, Key: tc.key, Value: 2},
				{ClientID: tc.clientID, ID: "2", Timestamp: ts1 * 1e9, Type: event.Cumulative, Key: tc.key, Value: 0.5},
				{ClientID: tc.clientID, ID: "3", Timestamp: ts2 * 1e9, Type: event.TimeSeries, Key: tc.key + " (gauge)", Value: -1.5},
			}); err != nil {
				t.Fatal(err)
			}
			a := newAPIWith(t, testConfig(), m)
			r := a.get("/api/v1/export/prometheus")
			wantStatus(t, r.status, http.StatusOK)
			labels := `{client_id="` + tc.clientID + `",key="` + tc.escaped + `"}`
			gauge := `{client_id="` + tc.clientID + `",key="` + tc.escaped + ` (gauge)"}`
			want := `# HELP montool_cumulative_events_total The events summed into a CUMULATIVE key, by client and key.
# TYPE montool_cumulative_events_total counter
montool_cumulative_events_total` + labels + ` 2
# HELP montool_cumulative_total The sum of the values of the events of a CUMULATIVE key, by client and key.
# TYPE montool_cumulative_total counter
montool_cumulative_total` + labels + ` 2.5
# HELP montool_last_event_timestamp_seconds The Unix time of the latest event of a key (the event's own timestamp), by client and key.
# TYPE montool_last_event_timestamp_seconds gauge
montool_last_event_timestamp_seconds` + labels + ` 1.763850001e+09
montool_last_event_timestamp_seconds` + gauge + ` 1.763850002e+09
# HELP montool_timeseries_value The value of the latest sample of a TIME-SERIES key, by client and key.
# TYPE montool_timeseries_value gauge
montool_timeseries_value` + gauge + ` -1.5
`
			if got := string(r.body); got != want {
				t.Errorf("export of key %q:\n%s\nwant:\n%s", tc.key, got, want)
			}
		})
	}
}

// TestExportPrometheusGrants: a read token sees only the clients it is
// granted; an ingest token may not read; no token gets 401.
func TestExportPrometheusGrants(t *testing.T) {
	clients := []string{"db-1", "web-01", "web-02"}
	ingester := auth.NewSecret()
	tokens := []auth.Token{{Name: "ingester", Hash: auth.Hash(ingester), Role: auth.RoleIngest, Clients: []string{"*"}}}
	readers := []struct {
		grant []string
		sees  []string
	}{
		{[]string{"web-*"}, []string{"web-01", "web-02"}},
		{[]string{"db-1"}, []string{"db-1"}},
		{[]string{"db-1", "web-02"}, []string{"db-1", "web-02"}},
		{[]string{"*"}, clients},
		{[]string{"none-*"}, nil},
	}
	secrets := make([]string, len(readers))
	for i, rd := range readers {
		secrets[i] = auth.NewSecret()
		tokens = append(tokens, auth.Token{Name: "reader-" + strings.Join(rd.grant, "+"), Hash: auth.Hash(secrets[i]), Role: auth.RoleRead, Clients: rd.grant})
	}
	set, err := auth.NewSet(tokens)
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.Tokens = set
	a := newAPIWith(t, cfg, storetest.New(t, store.Policy{}))
	bearer := func(s string) map[string]string {
		return map[string]string{"Authorization": "Bearer " + s, "Content-Type": "application/json"}
	}
	var events []string
	for _, c := range clients {
		events = append(events, cum(c, "e1", ts0, "n", 1), series(c, "e2", ts0, "g", 2))
	}
	wantStatus(t, a.do(http.MethodPost, "/api/v1/events", strings.NewReader(batch(events...)), bearer(ingester)).status, http.StatusAccepted)

	for i, rd := range readers {
		t.Run(strings.Join(rd.grant, ","), func(t *testing.T) {
			r := a.do(http.MethodGet, "/api/v1/export/prometheus", nil, bearer(secrets[i]))
			wantStatus(t, r.status, http.StatusOK)
			var seen []string
			for _, c := range clients {
				if strings.Contains(string(r.body), `client_id="`+c+`"`) {
					seen = append(seen, c)
				}
			}
			if !slices.Equal(seen, rd.sees) {
				t.Errorf("a token of %v sees %v, want %v:\n%s", rd.grant, seen, rd.sees, r.body)
			}
			for _, c := range rd.sees {
				for _, line := range []string{
					`montool_cumulative_total{client_id="` + c + `",key="n"} 1`,
					`montool_timeseries_value{client_id="` + c + `",key="g"} 2`,
				} {
					if !strings.Contains(string(r.body), line+"\n") {
						t.Errorf("export for a token of %v lacks %q:\n%s", rd.grant, line, r.body)
					}
				}
			}
		})
	}
	r := a.do(http.MethodGet, "/api/v1/export/prometheus", nil, bearer(ingester))
	wantStatus(t, r.status, http.StatusForbidden)
	r = a.do(http.MethodGet, "/api/v1/export/prometheus", nil, nil)
	wantStatus(t, r.status, http.StatusUnauthorized)
}
