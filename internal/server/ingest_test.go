package server_test

import (
	"cmp"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestIngestContentType(t *testing.T) {
	event := cum("agent-1", "e1", ts0, "http_requests_total", 3)
	tests := []struct {
		name        string
		contentType string // "" sends no Content-Type
		wantStatus  int
	}{
		{"application/json", "application/json", http.StatusAccepted},
		{"application/json with charset", "application/json; charset=utf-8", http.StatusAccepted},
		{"application/json in upper case", "Application/JSON", http.StatusAccepted},
		{"no Content-Type is read as JSON", "", http.StatusAccepted},
		{"text/plain", "text/plain", http.StatusUnsupportedMediaType},
		{"text/plain with charset", "text/plain; charset=utf-8", http.StatusUnsupportedMediaType},
		{"form", "application/x-www-form-urlencoded", http.StatusUnsupportedMediaType},
		{"multipart", "multipart/form-data; boundary=xyz", http.StatusUnsupportedMediaType},
		{"text/json", "text/json", http.StatusUnsupportedMediaType},
		{"json suffix type", "application/problem+json", http.StatusUnsupportedMediaType},
		{"garbage", "garbage", http.StatusUnsupportedMediaType},
		{"garbage with slashes", "%%%/;;;", http.StatusUnsupportedMediaType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newDefaultAPI(t)
			r := a.postRaw(event, tt.contentType)
			wantStatus(t, r.status, tt.wantStatus)
			got := decodeIngest(t, r)
			if tt.wantStatus == http.StatusAccepted {
				wantSummary(t, got, 1, 0, 0)
				if clients := a.clients(); len(clients) != 1 {
					t.Errorf("clients = %+v, want agent-1 only", clients)
				}
				return
			}
			wantSummary(t, got, 0, 0, 0)
			if got.Error != nil {
				if got.Error.Code != "unsupported_media_type" {
					t.Errorf("error code = %q, want unsupported_media_type", got.Error.Code)
				}
				if !strings.Contains(got.Error.Message, "application/json") {
					t.Errorf("error message = %q, want it to say to send application/json", got.Error.Message)
				}
			}
			a.wantNoClients()
		})
	}
}

func TestIngestSingleNewEventIs202(t *testing.T) {
	a := newDefaultAPI(t)
	status, got := a.post(cum("agent-1", "e1", ts0, "http_requests_total", 3))
	wantStatus(t, status, http.StatusAccepted)
	wantSummary(t, got, 1, 0, 0)

	d, _ := a.dump("agent-1")
	tot := d.total(t, "http_requests_total")
	if tot.EventValue != "3" || tot.EventCount != 1 {
		t.Errorf("total = %s over %d events, want 3 over 1", tot.EventValue, tot.EventCount)
	}
}

func TestIngestReplayIsHarmless(t *testing.T) {
	a := newDefaultAPI(t)
	events := batch(
		cum("agent-1", "e1", ts0, "requests", 1),
		cum("agent-1", "e2", ts1, "requests", 2),
		series("agent-1", "e3", ts2, "cpu", 0.5),
	)
	status, got := a.post(events)
	wantStatus(t, status, http.StatusAccepted)
	wantSummary(t, got, 3, 0, 0)

	for i := range 3 {
		t.Run(fmt.Sprintf("replay %d of the whole batch", i+1), func(t *testing.T) {
			status, got := a.post(events)
			wantStatus(t, status, http.StatusOK)
			wantSummary(t, got, 0, 3, 0)
		})
	}
	t.Run("replay of a single event", func(t *testing.T) {
		status, got := a.post(series("agent-1", "e3", ts2, "cpu", 0.5))
		wantStatus(t, status, http.StatusOK)
		wantSummary(t, got, 0, 1, 0)
	})
	t.Run("replay mixed with a new event", func(t *testing.T) {
		status, got := a.post(batch(
			cum("agent-1", "e1", ts0, "requests", 1),
			cum("agent-1", "e4", ts3, "requests", 4),
			cum("agent-1", "e2", ts1, "requests", 2),
		))
		wantStatus(t, status, http.StatusAccepted)
		wantSummary(t, got, 1, 2, 0)
	})
	t.Run("same event twice in one batch", func(t *testing.T) {
		e := series("agent-1", "e5", ts3, "cpu", 0.75)
		status, got := a.post(batch(e, e))
		wantStatus(t, status, http.StatusAccepted)
		wantSummary(t, got, 1, 1, 0)
	})

	d, _ := a.dump("agent-1")
	tot := d.total(t, "requests")
	if tot.EventValue != "7" || tot.EventCount != 3 {
		t.Errorf("requests total = %s over %d events, want 7 over 3", tot.EventValue, tot.EventCount)
	}
	if s := d.samples(t, "cpu"); len(s) != 2 {
		t.Errorf("cpu has %d samples, want 2: %+v", len(s), s)
	}
	if c := a.clients(); len(c) != 1 || c[0].EventCount != 5 {
		t.Errorf("clients = %+v, want agent-1 with 5 events", c)
	}
}

func TestIngestConflictSingleEvent(t *testing.T) {
	// Every case starts from this state of client agent-1.
	setup := batch(
		cum("agent-1", "e1", ts0, "requests", 3),
		series("agent-1", "e2", ts1, "cpu", 0.5),
	)
	tests := []struct {
		name      string
		event     string
		wantField string
	}{
		{"same id, other value", cum("agent-1", "e1", ts0, "requests", 4), "event_id"},
		{"same id, other timestamp", cum("agent-1", "e1", ts1, "requests", 3), "event_id"},
		{"same id, other key", cum("agent-1", "e1", ts0, "errors", 3), "event_id"},
		{"same id, other type", series("agent-1", "e1", ts0, "requests", 3), "event_id"},
		{"same time-series id, other value", series("agent-1", "e2", ts1, "cpu", 0.25), "event_id"},
		{"cumulative key sent as time-series", series("agent-1", "e3", ts2, "requests", 1), "event_type"},
		{"time-series key sent as cumulative", cum("agent-1", "e3", ts2, "cpu", 1), "event_type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newDefaultAPI(t)
			if status, _ := a.post(setup); status != http.StatusAccepted {
				t.Fatalf("setup: status %d, want 202", status)
			}
			_, before := a.dump("agent-1")

			status, got := a.post(tt.event)
			wantStatus(t, status, http.StatusConflict)
			wantSummary(t, got, 0, 0, 1)
			if got.Error != nil && got.Error.Code != "conflict" {
				t.Errorf("error code = %q, want conflict", got.Error.Code)
			}
			if len(got.Errors) == 1 {
				e := got.Errors[0]
				if e.Index != 0 || e.Code != "conflict" || e.Field != tt.wantField {
					t.Errorf("errors[0] = %+v, want index 0, code conflict, field %s", e, tt.wantField)
				}
				if e.Message == "" {
					t.Errorf("errors[0] has no message")
				}
			}

			_, after := a.dump("agent-1")
			if string(after) != string(before) {
				t.Errorf("dump changed by a rejected event:\nbefore %s\nafter  %s", before, after)
			}
			if c := a.clients(); len(c) != 1 || c[0].EventCount != 2 {
				t.Errorf("clients = %+v, want agent-1 with 2 events", c)
			}
		})
	}
}

func TestIngestOtherClientMayReuseIDsAndKeys(t *testing.T) {
	a := newDefaultAPI(t)
	if status, _ := a.post(cum("agent-1", "e1", ts0, "requests", 3)); status != http.StatusAccepted {
		t.Fatalf("first event: status %d, want 202", status)
	}
	// Same event id, same key, other type, other client.
	status, got := a.post(series("agent-2", "e1", ts1, "requests", 7))
	wantStatus(t, status, http.StatusAccepted)
	wantSummary(t, got, 1, 0, 0)
	// The very same content as agent-1's event, from agent-3: new, not a duplicate.
	status, got = a.post(cum("agent-3", "e1", ts0, "requests", 3))
	wantStatus(t, status, http.StatusAccepted)
	wantSummary(t, got, 1, 0, 0)

	d1, _ := a.dump("agent-1")
	if tot := d1.total(t, "requests"); tot.EventValue != "3" || tot.EventCount != 1 {
		t.Errorf("agent-1 requests = %s over %d, want 3 over 1", tot.EventValue, tot.EventCount)
	}
	d2, _ := a.dump("agent-2")
	s := d2.samples(t, "requests")
	if len(s) != 1 || s[0].EventID != "e1" || s[0].EventValue != "7" || s[0].EventType != "TIME-SERIES" {
		t.Errorf("agent-2 requests = %+v, want one TIME-SERIES sample e1 of 7", s)
	}
}

func TestIngestInvalidSingleEvent(t *testing.T) {
	for _, tt := range invalidEventCases {
		t.Run(tt.name, func(t *testing.T) {
			a := newDefaultAPI(t)
			status, got := a.post(tt.json(t))
			wantStatus(t, status, http.StatusBadRequest)
			wantSummary(t, got, 0, 0, 1)
			tt.check(t, got, 0)
			a.wantNoClients()
		})
	}
}

func TestIngestBatchWithInvalidEvents(t *testing.T) {
	a := newDefaultAPI(t)
	status, got := a.post(batch(
		cum("agent-1", "e0", ts0, "requests", 1),
		invalidEvent{field: "event_type", value: "GAUGE"}.json(t), // index 1, id e1
		series("agent-2", "e2", ts1, "cpu", 0.5),
		`{"client_id":"agent-1","event_id":"e3","event_timestamp":1763850003,"event_type":"CUMULATIVE","event_key":"requests"}`,
		cum("agent-1", "e4", ts2, "requests", 2),
		`{}`,
	))
	wantStatus(t, status, http.StatusBadRequest)
	wantSummary(t, got, 3, 0, 3)
	if got.Error != nil && got.Error.Code != "invalid" {
		t.Errorf("error code = %q, want invalid", got.Error.Code)
	}
	want := []itemError{
		{Index: 1, EventID: "e1", Code: "invalid", Field: "event_type"},
		{Index: 3, EventID: "e3", Code: "invalid", Field: "event_value"},
		{Index: 5, EventID: "", Code: "invalid", Field: "client_id"},
	}
	checkItemErrors(t, got.Errors, want)

	// The valid events are applied.
	d1, _ := a.dump("agent-1")
	if tot := d1.total(t, "requests"); tot.EventValue != "3" || tot.EventCount != 2 {
		t.Errorf("agent-1 requests = %s over %d, want 3 over 2", tot.EventValue, tot.EventCount)
	}
	d2, _ := a.dump("agent-2")
	if s := d2.samples(t, "cpu"); len(s) != 1 || s[0].EventID != "e2" {
		t.Errorf("agent-2 cpu = %+v, want sample e2", s)
	}
}

func TestIngestBatchStatus(t *testing.T) {
	for _, tt := range batchCases {
		t.Run(tt.name, func(t *testing.T) {
			a := newDefaultAPI(t)
			tt.setup(t, a)
			status, got := a.post(batch(tt.events...))
			tt.check(t, a, status, got)
		})
	}
}

func TestIngestBadBody(t *testing.T) {
	valid := cum("agent-1", "e1", ts0, "requests", 1)
	tests := []struct {
		name string
		body string
	}{
		{"empty body", ""},
		{"only whitespace", " \n\t "},
		{"truncated object", `{"client_id":"agent-1",`},
		{"not JSON", "hello"},
		{"empty array", "[]"},
		{"empty array with spaces", " [ ] "},
		{"null", "null"},
		{"a number", "42"},
		{"a string", `"event"`},
		{"a bool", "true"},
		{"array holding a number", "[1]"},
		{"array holding null", "[null]"},
		{"valid event then a non-object", batch(valid, `"x"`)},
		{"nested array", "[" + batch(valid) + "]"},
		{"truncated array", "[" + valid + ","},
		{"two objects", valid + valid},
		{"object then garbage", valid + "x"},
		{"array then garbage", batch(valid) + "]"},
		{"100000 nested arrays", strings.Repeat("[", 100000)},
		{"100000 nested arrays closed", strings.Repeat("[", 100000) + strings.Repeat("]", 100000)},
		{"100000 nested objects", strings.Repeat(`{"a":`, 100000)},
		{"invalid UTF-8 outside strings", "\xff\xfe"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newDefaultAPI(t)
			status, got := a.post(tt.body)
			wantStatus(t, status, http.StatusBadRequest)
			wantSummary(t, got, 0, 0, 0)
			if got.Error != nil && got.Error.Code != "invalid" {
				t.Errorf("error code = %q, want invalid", got.Error.Code)
			}
			a.wantNoClients()
		})
	}
}

func TestIngestBodyLimit(t *testing.T) {
	event := cum("agent-1", "e1", ts0, "requests", 1)
	const limit = 1024
	pad := func(n int) string { return event + strings.Repeat(" ", n-len(event)) }
	tests := []struct {
		name       string
		body       string
		wantStatus int
	}{
		{"just under the limit", pad(limit - 1), http.StatusAccepted},
		{"exactly the limit", pad(limit), http.StatusAccepted},
		{"one byte over", pad(limit + 1), http.StatusRequestEntityTooLarge},
		{"far over", pad(4 * limit), http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.MaxBodyBytes = limit
			a := newAPI(t, cfg)
			status, got := a.post(tt.body)
			wantStatus(t, status, tt.wantStatus)
			if tt.wantStatus == http.StatusAccepted {
				wantSummary(t, got, 1, 0, 0)
				return
			}
			wantSummary(t, got, 0, 0, 0)
			if got.Error != nil && got.Error.Code != "too_large" {
				t.Errorf("error code = %q, want too_large", got.Error.Code)
			}
			a.wantNoClients()
		})
	}
}

func TestIngestDefaultBodyLimit(t *testing.T) {
	const limit = 8 << 20 // 8 MiB
	event := cum("agent-1", "e1", ts0, "requests", 1)
	body := func(n int) string { return event + strings.Repeat(" ", n-len(event)) }

	a := newDefaultAPI(t)
	status, got := a.post(body(limit + 1))
	wantStatus(t, status, http.StatusRequestEntityTooLarge)
	wantSummary(t, got, 0, 0, 0)
	if got.Error != nil && got.Error.Code != "too_large" {
		t.Errorf("error code = %q, want too_large", got.Error.Code)
	}
	a.wantNoClients()

	status, got = a.post(body(limit))
	wantStatus(t, status, http.StatusAccepted)
	wantSummary(t, got, 1, 0, 0)
}

// manyEvents returns a batch of n distinct valid events of client agent-1.
func manyEvents(n int) string {
	events := make([]string, n)
	for i := range events {
		events[i] = cum("agent-1", fmt.Sprintf("e%d", i), ts0, "requests", 1)
	}
	return batch(events...)
}

func TestIngestBatchLimit(t *testing.T) {
	tests := []struct {
		name       string
		maxEvents  int // 0 keeps the default
		events     int
		wantStatus int
	}{
		{"at a small limit", 3, 3, http.StatusAccepted},
		{"over a small limit", 3, 4, http.StatusRequestEntityTooLarge},
		{"limit of one, one event", 1, 1, http.StatusAccepted},
		{"limit of one, two events", 1, 2, http.StatusRequestEntityTooLarge},
		{"at the default limit", 0, 10_000, http.StatusAccepted},
		{"over the default limit", 0, 10_001, http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			if tt.maxEvents > 0 {
				cfg.MaxBatchEvents = tt.maxEvents
			}
			a := newAPI(t, cfg)
			status, got := a.post(manyEvents(tt.events))
			wantStatus(t, status, tt.wantStatus)
			if tt.wantStatus == http.StatusAccepted {
				wantSummary(t, got, tt.events, 0, 0)
				return
			}
			wantSummary(t, got, 0, 0, 0)
			if got.Error != nil && got.Error.Code != "too_large" {
				t.Errorf("error code = %q, want too_large", got.Error.Code)
			}
			a.wantNoClients()
		})
	}
}

// TestIngestNamesTheProblem sends bodies and paths that are wrong in ways
// a decoder alone would word badly: each answer is JSON and names what is
// wrong.
func TestIngestNamesTheProblem(t *testing.T) {
	event := series("agent-1", "e1", ts0, "k", 1)
	tests := []struct {
		name        string
		method      string
		path        string
		contentType string
		body        string
		wantStatus  int
		wantMessage string
	}{
		{name: "byte order mark", body: "\xef\xbb\xbf" + event, wantStatus: http.StatusBadRequest, wantMessage: "byte order mark"},
		{name: "byte order mark of an NDJSON line", contentType: "application/x-ndjson", body: "\xef\xbb\xbf" + event, wantStatus: http.StatusBadRequest, wantMessage: "byte order mark"},
		{name: "charset latin1", contentType: "application/json; charset=latin1", body: event, wantStatus: http.StatusUnsupportedMediaType, wantMessage: `charset "latin1"`},
		{name: "charset utf-16 of NDJSON", contentType: "application/x-ndjson; charset=utf-16", body: event, wantStatus: http.StatusUnsupportedMediaType, wantMessage: "UTF-8"},
		{name: "charset UTF-8 is taken", contentType: "application/json; charset=UTF-8", body: event, wantStatus: http.StatusAccepted},
		{name: "an empty segment", path: "/api/v1//events", body: event, wantStatus: http.StatusBadRequest, wantMessage: `send "/api/v1/events"`},
		{name: "a .. segment", method: http.MethodGet, path: "/api/v1/clients/../stats", wantStatus: http.StatusBadRequest, wantMessage: `send "/api/v1/stats"`},
		{name: "a . segment", method: http.MethodGet, path: "/./healthz", wantStatus: http.StatusBadRequest, wantMessage: `send "/healthz"`},
	}
	a := newDefaultAPI(t)
	a.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method, path, ct := cmp.Or(tt.method, http.MethodPost), cmp.Or(tt.path, "/api/v1/events"), cmp.Or(tt.contentType, "application/json")
			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
			}
			r := a.do(method, path, body, map[string]string{"Content-Type": ct})
			wantStatus(t, r.status, tt.wantStatus)
			checkJSONContentType(t, r)
			if r.header.Get("Location") != "" {
				t.Errorf("answered with Location %q", r.header.Get("Location"))
			}
			if tt.wantMessage != "" {
				if e := decodeError(t, r); !strings.Contains(e.Message, tt.wantMessage) {
					t.Errorf("message %q does not say %q", e.Message, tt.wantMessage)
				}
			}
		})
	}
}
