package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func TestDumpFormat(t *testing.T) {
	a := newDefaultAPI(t)
	status, _ := a.post(batch(
		cum("agent-1", "e1", 1763850005, "requests", 2),
		cum("agent-1", "e2", 1763850001, "requests", 3),
		series("agent-1", "e3", 1763850030, "cpu", 0.3),
		series("agent-1", "e4", 1763850010, "cpu", 0.1),
	))
	wantStatus(t, status, http.StatusAccepted)
	status, _ = a.post(batch(
		series("agent-1", "e5", 1763850020, "cpu", 0.2),
		series("agent-1", "e6", 1763850010, "cpu", 0.15), // same time as e4, arrived later
		series("agent-1", "e7", 1763850030, "cpu", 0.35), // same time as e3, arrived later
	))
	wantStatus(t, status, http.StatusAccepted)
	status, _ = a.post(series("agent-1", "e8", 1763850000, "cpu", 0.05))
	wantStatus(t, status, http.StatusAccepted)

	d, _ := a.dump("agent-1")
	if d.ClientID != "agent-1" {
		t.Errorf("client_id = %q, want agent-1", d.ClientID)
	}
	if len(d.Events) != 2 {
		t.Errorf("events has keys %v, want cpu and requests", keysOf(d))
	}

	t.Run("cumulative key is a total", func(t *testing.T) {
		got := d.total(t, "requests")
		want := total{
			ClientID:       "agent-1",
			EventType:      "CUMULATIVE",
			EventKey:       "requests",
			EventValue:     "5",
			EventCount:     2,
			EventTimestamp: "1763850005", // the latest, not the last to arrive
		}
		if got != want {
			t.Errorf("requests = %+v, want %+v", got, want)
		}
	})

	t.Run("time-series key is its events ordered by timestamp then arrival", func(t *testing.T) {
		got := d.samples(t, "cpu")
		want := []sample{
			{"agent-1", "e8", "1763850000", "TIME-SERIES", "cpu", "0.05"},
			{"agent-1", "e4", "1763850010", "TIME-SERIES", "cpu", "0.1"},
			{"agent-1", "e6", "1763850010", "TIME-SERIES", "cpu", "0.15"},
			{"agent-1", "e5", "1763850020", "TIME-SERIES", "cpu", "0.2"},
			{"agent-1", "e3", "1763850030", "TIME-SERIES", "cpu", "0.3"},
			{"agent-1", "e7", "1763850030", "TIME-SERIES", "cpu", "0.35"},
		}
		if len(got) != len(want) {
			t.Fatalf("cpu = %+v, want %+v", got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("cpu[%d] = %+v, want %+v", i, got[i], want[i])
			}
		}
	})
}

func TestDumpTiesKeepArrivalOrder(t *testing.T) {
	// 40 samples arrive latest first, four at each of ten timestamps:
	// event i is at 1763850000+(39-i)/4. The dump orders them by
	// timestamp and keeps the order of arrival within each timestamp.
	a := newDefaultAPI(t)
	events := make([]string, 40)
	for i := range events {
		events[i] = series("agent-1", fmt.Sprintf("e%02d", i), 1763850000+(39-i)/4, "cpu", i)
	}
	status, got := a.post(batch(events[:25]...))
	wantStatus(t, status, http.StatusAccepted)
	wantSummary(t, got, 25, 0, 0)
	status, got = a.post(batch(events[25:]...))
	wantStatus(t, status, http.StatusAccepted)
	wantSummary(t, got, 15, 0, 0)

	wantIDs := []string{
		"e36", "e37", "e38", "e39", // 1763850000
		"e32", "e33", "e34", "e35", // 1763850001
		"e28", "e29", "e30", "e31",
		"e24", "e25", "e26", "e27",
		"e20", "e21", "e22", "e23",
		"e16", "e17", "e18", "e19",
		"e12", "e13", "e14", "e15",
		"e08", "e09", "e10", "e11",
		"e04", "e05", "e06", "e07",
		"e00", "e01", "e02", "e03", // 1763850009
	}
	d, _ := a.dump("agent-1")
	s := d.samples(t, "cpu")
	if len(s) != len(wantIDs) {
		t.Fatalf("cpu has %d samples, want %d", len(s), len(wantIDs))
	}
	for k, want := range wantIDs {
		if s[k].EventID != want {
			t.Errorf("cpu[%d] = %s at %s, want %s", k, s[k].EventID, s[k].EventTimestamp, want)
		}
	}
	if s[0].EventTimestamp != "1763850000" || s[39].EventTimestamp != "1763850009" {
		t.Errorf("cpu runs from %s to %s, want 1763850000 to 1763850009", s[0].EventTimestamp, s[39].EventTimestamp)
	}
}

func TestDumpUnknownClientIs404(t *testing.T) {
	a := newDefaultAPI(t)
	// A client whose only event was rejected holds nothing.
	if status, _ := a.post(cum("ghost", "e1", ts0, "requests", "many")); status != http.StatusBadRequest {
		t.Fatalf("setup: status %d, want 400", status)
	}
	if status, _ := a.post(cum("agent-1", "e1", ts0, "requests", 1)); status != http.StatusAccepted {
		t.Fatalf("setup: status %d, want 202", status)
	}
	for _, id := range []string{"nobody", "ghost", "AGENT-1", "3f2504e0-4f89-41d3-9a0c-0305e82c3301"} {
		t.Run(id, func(t *testing.T) {
			r := a.get(dumpPath(id))
			wantStatus(t, r.status, http.StatusNotFound)
			if e := decodeError(t, r); e.Code != "not_found" {
				t.Errorf("error code = %q, want not_found", e.Code)
			}
		})
	}
}

func TestUUIDsMatchCaseInsensitively(t *testing.T) {
	const (
		clientUpper = "3F2504E0-4F89-41D3-9A0C-0305E82C3301"
		clientLower = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
		clientMixed = "3f2504E0-4f89-41D3-9a0c-0305e82C3301"
		eventUpper  = "A987FBC9-4BED-4078-8F07-9141BA07C9F3"
		eventLower  = "a987fbc9-4bed-4078-8f07-9141ba07c9f3"
		event2Upper = "16FD2706-8BAF-433B-82EB-8C7FADA847DA"
		event2Lower = "16fd2706-8baf-433b-82eb-8c7fada847da"
	)
	a := newDefaultAPI(t)
	status, got := a.post(batch(
		cum(clientUpper, eventUpper, ts0, "requests", 2),
		series(clientUpper, event2Upper, ts1, "cpu", 0.5),
	))
	wantStatus(t, status, http.StatusAccepted)
	wantSummary(t, got, 2, 0, 0)

	t.Run("dumped under the lower-case id", func(t *testing.T) {
		d, _ := a.dump(clientLower)
		if d.ClientID != clientLower {
			t.Errorf("client_id = %q, want %q", d.ClientID, clientLower)
		}
		if tot := d.total(t, "requests"); tot.ClientID != clientLower {
			t.Errorf("requests client_id = %q, want %q", tot.ClientID, clientLower)
		}
		s := d.samples(t, "cpu")
		if len(s) != 1 || s[0].ClientID != clientLower || s[0].EventID != event2Lower {
			t.Errorf("cpu = %+v, want one sample of client %s, event %s", s, clientLower, event2Lower)
		}
	})

	for _, id := range []string{clientUpper, clientMixed} {
		t.Run("dump via "+id, func(t *testing.T) {
			d, _ := a.dump(id)
			if d.ClientID != clientLower {
				t.Errorf("client_id = %q, want %q", d.ClientID, clientLower)
			}
		})
	}

	t.Run("lower-case replay is a duplicate", func(t *testing.T) {
		status, got := a.post(batch(
			cum(clientLower, eventLower, ts0, "requests", 2),
			series(clientMixed, event2Lower, ts1, "cpu", 0.5),
		))
		wantStatus(t, status, http.StatusOK)
		wantSummary(t, got, 0, 2, 0)
	})

	t.Run("lower-case id with other content is a conflict", func(t *testing.T) {
		status, got := a.post(cum(clientLower, eventLower, ts0, "requests", 3))
		wantStatus(t, status, http.StatusConflict)
		wantSummary(t, got, 0, 0, 1)
	})

	t.Run("client list holds the lower-case id once", func(t *testing.T) {
		c := a.clients()
		if len(c) != 1 || c[0] != (clientInfo{clientLower, 2}) {
			t.Errorf("clients = %+v, want [{%s 2}]", c, clientLower)
		}
	})
}

func TestNonUUIDIDsKeptByteForByte(t *testing.T) {
	ids := []string{
		"agent-a",
		"Agent-A",
		"rack/7",
		"with space",
		"100%",
		".",
		"..",
		"агент-1",
		"3F2504E04F8941D39A0C0305E82C3301",       // a UUID without hyphens
		"{3F2504E0-4F89-41D3-9A0C-0305E82C3301}", // a UUID in braces
	}
	a := newDefaultAPI(t)
	events := make([]string, len(ids))
	for i, id := range ids {
		events[i] = series(id, "Ev-"+id, ts0, "cpu", 1)
	}
	status, got := a.post(batch(events...))
	wantStatus(t, status, http.StatusAccepted)
	wantSummary(t, got, len(ids), 0, 0)

	for _, id := range ids {
		t.Run("dump "+id, func(t *testing.T) {
			d, _ := a.dump(id)
			if d.ClientID != id {
				t.Errorf("client_id = %q, want %q", d.ClientID, id)
			}
			s := d.samples(t, "cpu")
			if len(s) != 1 || s[0].ClientID != id || s[0].EventID != "Ev-"+id {
				t.Errorf("cpu = %+v, want one sample of client %q, event %q", s, id, "Ev-"+id)
			}
		})
	}

	t.Run("client list", func(t *testing.T) {
		want := []clientInfo{ // sorted by id, byte by byte
			{".", 1},
			{"..", 1},
			{"100%", 1},
			{"3F2504E04F8941D39A0C0305E82C3301", 1},
			{"Agent-A", 1},
			{"agent-a", 1},
			{"rack/7", 1},
			{"with space", 1},
			{"{3F2504E0-4F89-41D3-9A0C-0305E82C3301}", 1},
			{"агент-1", 1},
		}
		got := a.clients()
		if len(got) != len(want) {
			t.Fatalf("clients = %+v, want %+v", got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("clients[%d] = %+v, want %+v", i, got[i], want[i])
			}
		}
	})

	t.Run("slash in the id needs %2F", func(t *testing.T) {
		r := a.get("/api/v1/clients/rack%2F7/events")
		wantStatus(t, r.status, http.StatusOK)
		r = a.get("/api/v1/clients/rack/7/events")
		wantStatus(t, r.status, http.StatusNotFound)
	})
}

func TestDumpTimestampsExactly(t *testing.T) {
	tests := []struct {
		name      string
		timestamp any
		want      string // as written in the dump
	}{
		{"seconds", 1763850000, "1763850000"},
		{"milliseconds", 1763850001123, "1763850001.123"},
		{"milliseconds as a numeric string", "1763850001123", "1763850001.123"},
		{"microseconds", 1763850001123456, "1763850001.123456"},
		{"nanoseconds", 1763850001123456789, "1763850001.123456789"},
		{"seconds with a fraction", json.Number("1763850000.5"), "1763850000.5"},
		{"zero", 0, "0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newDefaultAPI(t)
			status, _ := a.post(batch(
				series("agent-1", "e1", tt.timestamp, "cpu", 1),
				cum("agent-1", "e2", tt.timestamp, "requests", 1),
			))
			wantStatus(t, status, http.StatusAccepted)
			d, raw := a.dump("agent-1")
			if !strings.Contains(string(raw), `"event_timestamp":`+tt.want+`,`) &&
				!strings.Contains(string(raw), `"event_timestamp":`+tt.want+`}`) {
				t.Errorf("dump %s does not hold event_timestamp %s", raw, tt.want)
			}
			if s := d.samples(t, "cpu"); len(s) != 1 || string(s[0].EventTimestamp) != tt.want {
				t.Errorf("cpu = %+v, want one sample at %s", s, tt.want)
			}
			if tot := d.total(t, "requests"); string(tot.EventTimestamp) != tt.want {
				t.Errorf("requests event_timestamp = %s, want %s", tot.EventTimestamp, tt.want)
			}
		})
	}
}

func TestDumpValuesExactly(t *testing.T) {
	tests := []struct {
		name  string
		value any
		want  string // as written in the dump
	}{
		{"numeric string", "3.5", "3.5"},
		{"number", 3.5, "3.5"},
		{"trailing zero", json.Number("3.50"), "3.5"},
		{"exponent", json.Number("1e3"), "1000"},
		{"negative", -0.25, "-0.25"},
		{"negative numeric string", "-0.25", "-0.25"},
		{"integer", 42, "42"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newDefaultAPI(t)
			status, _ := a.post(series("agent-1", "e1", ts0, "cpu", tt.value))
			wantStatus(t, status, http.StatusAccepted)
			d, raw := a.dump("agent-1")
			if !strings.Contains(string(raw), `"event_value":`+tt.want+`}`) {
				t.Errorf("dump %s does not hold event_value %s", raw, tt.want)
			}
			if s := d.samples(t, "cpu"); len(s) != 1 || string(s[0].EventValue) != tt.want {
				t.Errorf("cpu = %+v, want one sample of %s", s, tt.want)
			}
		})
	}
}

func TestCumulativeSumIsExact(t *testing.T) {
	tests := []struct {
		name      string
		values    []any
		wantValue string
		wantCount int64
		wantRaw   string // as the dump's raw bytes hold it
	}{
		{"ten times 0.1", []any{0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1}, "1", 10, `"event_value":1,"event_count":10`},
		{"ten times 0.1 as numeric strings", []any{"0.1", "0.1", "0.1", "0.1", "0.1", "0.1", "0.1", "0.1", "0.1", "0.1"}, "1", 10, `"event_value":1,"event_count":10`},
		{"0.1 and 0.2", []any{0.1, 0.2}, "0.3", 2, `"event_value":0.3,"event_count":2`},
		{"back to zero", []any{1.5, -0.5, -1}, "0", 3, `"event_value":0,"event_count":3`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newDefaultAPI(t)
			events := make([]string, len(tt.values))
			for i, v := range tt.values {
				events[i] = cum("agent-1", fmt.Sprintf("e%d", i), ts0+i, "bytes", v)
			}
			status, got := a.post(batch(events...))
			wantStatus(t, status, http.StatusAccepted)
			wantSummary(t, got, len(tt.values), 0, 0)

			d, raw := a.dump("agent-1")
			if !strings.Contains(string(raw), tt.wantRaw) {
				t.Errorf("dump %s does not hold %s", raw, tt.wantRaw)
			}
			if tot := d.total(t, "bytes"); string(tot.EventValue) != tt.wantValue || tot.EventCount != tt.wantCount {
				t.Errorf("bytes = %s over %d events, want %s over %d", tot.EventValue, tot.EventCount, tt.wantValue, tt.wantCount)
			}
		})
	}
}

func TestClientsList(t *testing.T) {
	a := newDefaultAPI(t)

	t.Run("empty", func(t *testing.T) {
		r := a.get("/api/v1/clients")
		wantStatus(t, r.status, http.StatusOK)
		checkJSONContentType(t, r)
		if got := strings.TrimSpace(string(r.body)); got != `{"clients":[]}` {
			t.Errorf("body = %s, want {\"clients\":[]}", got)
		}
	})

	status, _ := a.post(batch(
		cum("zeta", "e1", ts0, "requests", 1),
		series("alpha", "e1", ts0, "cpu", 1),
		cum("mid", "e1", ts0, "requests", 1),
		series("alpha", "e2", ts1, "cpu", 2),
		cum("alpha", "e3", ts1, "requests", 5), // cumulative events count too
		cum("mid", "e2", ts1, "requests", 1),
		cum("mid", "e2", ts1, "requests", 1), // a duplicate does not count
	))
	wantStatus(t, status, http.StatusAccepted)

	t.Run("sorted by id with event counts", func(t *testing.T) {
		want := []clientInfo{{"alpha", 3}, {"mid", 2}, {"zeta", 1}}
		got := a.clients()
		if len(got) != len(want) {
			t.Fatalf("clients = %+v, want %+v", got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("clients[%d] = %+v, want %+v", i, got[i], want[i])
			}
		}
	})
}

func TestDeleteClient(t *testing.T) {
	a := newDefaultAPI(t)
	for _, body := range []string{
		cum("agent-1", "e1", ts0, "requests", 2),
		cum("agent-1", "e2", ts1, "requests", 3),
		cum("agent-2", "e1", ts0, "requests", 5),
	} {
		if status, _ := a.post(body); status != http.StatusAccepted {
			t.Fatalf("setup: status %d, want 202", status)
		}
	}

	r := a.do(http.MethodDelete, "/api/v1/clients/agent-1", nil, nil)
	wantStatus(t, r.status, http.StatusOK)
	checkJSONContentType(t, r)
	var got struct {
		ClientID      string `json:"client_id"`
		DeletedEvents int64  `json:"deleted_events"`
	}
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatalf("decoding %s: %v", r.body, err)
	}
	if got.ClientID != "agent-1" || got.DeletedEvents != 2 {
		t.Errorf("DELETE answered %s, want agent-1 with 2 deleted events", r.body)
	}

	if r := a.get(dumpPath("agent-1")); r.status != http.StatusNotFound {
		t.Errorf("dump after DELETE: status %d, want 404", r.status)
	}
	if got := a.clients(); len(got) != 1 || got[0].ClientID != "agent-2" {
		t.Errorf("clients after DELETE = %+v, want only agent-2", got)
	}
	r = a.do(http.MethodDelete, "/api/v1/clients/agent-1", nil, nil)
	wantStatus(t, r.status, http.StatusNotFound)
	if e := decodeError(t, r); e.Code != "not_found" {
		t.Errorf("second DELETE: error code %q, want not_found", e.Code)
	}
	// The ids went with the client: the same event is new again.
	status, resp := a.post(cum("agent-1", "e1", ts0, "requests", 2))
	if status != http.StatusAccepted || resp.Accepted != 1 {
		t.Errorf("event sent again after DELETE: status %d, %+v; want it accepted", status, resp)
	}
	if d, _ := a.dump("agent-1"); len(d.Events) != 1 {
		t.Errorf("dump after sending again: %+v, want one key", d)
	}
}

func TestHealthz(t *testing.T) {
	a := newDefaultAPI(t)
	r := a.get("/healthz")
	wantStatus(t, r.status, http.StatusOK)
}

func TestRoutingErrors(t *testing.T) {
	tests := []struct {
		name       string
		method     string
		path       string
		wantStatus int
		wantCode   string
		wantAllow  []string // methods the Allow header must list
	}{
		{"unknown path", http.MethodGet, "/nope", http.StatusNotFound, "not_found", nil},
		{"root", http.MethodGet, "/", http.StatusNotFound, "not_found", nil},
		{"unknown API version", http.MethodPost, "/api/v2/events", http.StatusNotFound, "not_found", nil},
		{"POST on a client, which takes GET and DELETE", http.MethodPost, "/api/v1/clients/agent-1", http.StatusMethodNotAllowed, "method_not_allowed", []string{"GET", "DELETE"}},
		{"events below a client, extra segment", http.MethodGet, "/api/v1/clients/agent-1/events/x", http.StatusNotFound, "not_found", nil},
		{"GET on the events endpoint", http.MethodGet, "/api/v1/events", http.StatusMethodNotAllowed, "method_not_allowed", []string{"POST"}},
		{"PUT on the events endpoint", http.MethodPut, "/api/v1/events", http.StatusMethodNotAllowed, "method_not_allowed", []string{"POST"}},
		{"DELETE on healthz", http.MethodDelete, "/healthz", http.StatusMethodNotAllowed, "method_not_allowed", []string{"GET"}},
		{"POST on healthz", http.MethodPost, "/healthz", http.StatusMethodNotAllowed, "method_not_allowed", []string{"GET"}},
		{"POST on the client list", http.MethodPost, "/api/v1/clients", http.StatusMethodNotAllowed, "method_not_allowed", []string{"GET"}},
		{"DELETE on a dump", http.MethodDelete, "/api/v1/clients/agent-1/events", http.StatusMethodNotAllowed, "method_not_allowed", []string{"GET"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newDefaultAPI(t)
			r := a.do(tt.method, tt.path, nil, nil)
			wantStatus(t, r.status, tt.wantStatus)
			e := decodeError(t, r)
			if e.Code != tt.wantCode {
				t.Errorf("error code = %q, want %q", e.Code, tt.wantCode)
			}
			allow := r.header.Get("Allow")
			for _, m := range tt.wantAllow {
				if !strings.Contains(allow, m) {
					t.Errorf("Allow = %q, want it to list %s", allow, m)
				}
			}
			if tt.wantAllow == nil && allow != "" {
				t.Errorf("Allow = %q on a %d", allow, r.status)
			}
		})
	}
}
