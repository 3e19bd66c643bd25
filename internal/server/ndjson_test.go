package server_test

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
)

const mediaNDJSON = "application/x-ndjson"

// ndjson returns the lines joined by "\n", with a final "\n".
func ndjson(lines ...string) string {
	return strings.Join(lines, "\n") + "\n"
}

// postEvents posts body to the events endpoint with the given Content-Type
// and Content-Encoding ("" sends no such header).
func (a *api) postEvents(body []byte, contentType, contentEncoding string) response {
	a.t.Helper()
	h := map[string]string{}
	if contentType != "" {
		h["Content-Type"] = contentType
	}
	if contentEncoding != "" {
		h["Content-Encoding"] = contentEncoding
	}
	return a.do(http.MethodPost, "/api/v1/events", bytes.NewReader(body), h)
}

// postNDJSON sends body as application/x-ndjson and decodes the ingest answer.
func (a *api) postNDJSON(body string) (int, ingestResponse) {
	a.t.Helper()
	r := a.postRaw(body, mediaNDJSON)
	return r.status, decodeIngest(a.t, r)
}

func TestIngestNDJSONFraming(t *testing.T) {
	e1 := cum("agent-1", "e1", ts0, "requests", 1)
	e2 := cum("agent-1", "e2", ts1, "requests", 2)
	e3 := series("agent-2", "e3", ts2, "cpu", 0.5)
	oneClient := []clientInfo{{"agent-1", 1}}
	twoClients := []clientInfo{{"agent-1", 2}, {"agent-2", 1}}
	tests := []struct {
		name        string
		contentType string
		body        string
		wantEvents  int
		wantClients []clientInfo
		wantTotal   string // agent-1 "requests"
		wantCount   int64
	}{
		{"one event with a newline", mediaNDJSON, e1 + "\n", 1, oneClient, "1", 1},
		{"one event without a newline", mediaNDJSON, e1, 1, oneClient, "1", 1},
		{"one event with CRLF", mediaNDJSON, e1 + "\r\n", 1, oneClient, "1", 1},
		{"LF line ends", mediaNDJSON, e1 + "\n" + e2 + "\n" + e3 + "\n", 3, twoClients, "3", 2},
		{"last line without a newline", mediaNDJSON, e1 + "\n" + e2 + "\n" + e3, 3, twoClients, "3", 2},
		{"CRLF line ends", mediaNDJSON, e1 + "\r\n" + e2 + "\r\n" + e3 + "\r\n", 3, twoClients, "3", 2},
		{"CRLF, last line without one", mediaNDJSON, e1 + "\r\n" + e2 + "\r\n" + e3, 3, twoClients, "3", 2},
		{"LF and CRLF mixed", mediaNDJSON, e1 + "\r\n" + e2 + "\n" + e3 + "\r\n", 3, twoClients, "3", 2},
		{"blank lines before, between and after", mediaNDJSON, "\n\n" + e1 + "\n\n" + e2 + "\n\n\n" + e3 + "\n\n", 3, twoClients, "3", 2},
		{"blank CRLF lines", mediaNDJSON, "\r\n" + e1 + "\r\n\r\n" + e2 + "\r\n\r\n" + e3 + "\r\n\r\n", 3, twoClients, "3", 2},
		{"lines of spaces, tabs and CR", mediaNDJSON, " \n\t\n" + e1 + "\n \t \r\n\r\n" + e2 + "\n\t\t\n" + e3 + "\n   ", 3, twoClients, "3", 2},
		{"lone CR line at the end without a newline", mediaNDJSON, e1 + "\n" + e2 + "\n" + e3 + "\n\r", 3, twoClients, "3", 2},
		{"white space around the objects", mediaNDJSON, "  " + e1 + "\t\n\t" + e2 + "  \r\n " + e3 + " ", 3, twoClients, "3", 2},
		{"Content-Type with charset", "application/x-ndjson; charset=utf-8", ndjson(e1, e2, e3), 3, twoClients, "3", 2},
		{"Content-Type in upper case", "Application/X-NDJSON", ndjson(e1, e2, e3), 3, twoClients, "3", 2},
		{"Content-Type with spaces around a parameter", "application/x-ndjson ; charset=UTF-8", ndjson(e1, e2, e3), 3, twoClients, "3", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newDefaultAPI(t)
			r := a.postRaw(tt.body, tt.contentType)
			wantStatus(t, r.status, http.StatusAccepted)
			wantSummary(t, decodeIngest(t, r), tt.wantEvents, 0, 0)
			checkClients(t, a, tt.wantClients)
			checkTotal(t, a, "agent-1", "requests", tt.wantTotal, tt.wantCount)
			if tt.wantEvents == 3 {
				d, _ := a.dump("agent-2")
				if s := d.samples(t, "cpu"); len(s) != 1 || s[0].EventID != "e3" || s[0].EventValue != "0.5" {
					t.Errorf("agent-2 cpu = %+v, want one sample e3 of 0.5", s)
				}
			}
		})
	}
}

func TestIngestNDJSONLineNotAnObject(t *testing.T) {
	valid0 := cum("agent-1", "e0", ts0, "requests", 1)
	valid2 := series("agent-2", "e2", ts1, "cpu", 0.5)
	// Events inside bad lines add 5 or 7 to agent-1's "requests", so the
	// dump shows it if they were applied.
	inner := cum("agent-1", "e1", ts1, "requests", 5)
	other := cum("agent-1", "e9", ts2, "requests", 7)
	badLines := []struct {
		name string
		line string
	}{
		{"a word", "nope"},
		{"an array of a number", "[1]"},
		{"a number", "5"},
		{"null", "null"},
		{"true", "true"},
		{"a string", `"event"`},
		{"a truncated object", `{"client_id":"agent-1","event_id":"e1"`},
		{"a truncated event", inner[:len(inner)-1]},
		{"an open brace", "{"},
		{"a close brace", "}"},
		{"an object with a trailing comma", `{"client_id":"agent-1",}`},
		{"an event in an array", "[" + inner + "]"},
		{"two events on one line", inner + other},
		{"two events on one line with a space", inner + " " + other},
		{"an event then garbage", inner + " x"},
		{"an event then a comma", inner + ","},
		{"invalid UTF-8", "\xff\xfe"},
		{"a byte order mark before an event", "\ufeff" + inner},
		{"a form feed before an event", "\f" + inner},
		{"a form feed alone", "\f"},
		{"a vertical tab alone", "\v"},
		{"a truncated object nested 100000 deep", `{"a":` + strings.Repeat("[", 100000)},
		{"an event with an unknown field nested 100000 deep", `{"extra":` + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + "," + inner[1:]},
	}
	positions := []struct {
		name      string
		body      func(bad string) string
		wantIndex int
	}{
		{"first line", func(bad string) string { return bad + "\r\n" + valid0 + "\r\n" + valid2 }, 0},
		{"middle line after a blank one", func(bad string) string { return valid0 + "\n\n" + bad + "\n" + valid2 + "\n" }, 1},
		{"last line without a newline", func(bad string) string { return valid0 + "\n" + valid2 + "\n \n" + bad }, 2},
	}
	for _, bl := range badLines {
		for _, pos := range positions {
			t.Run(bl.name+", "+pos.name, func(t *testing.T) {
				a := newDefaultAPI(t)
				status, got := a.postNDJSON(pos.body(bl.line))
				wantStatus(t, status, http.StatusBadRequest)
				wantSummary(t, got, 2, 0, 1)
				wantErrorCode(t, got, "invalid")
				if len(got.Errors) == 1 {
					e := got.Errors[0]
					if e.Index != pos.wantIndex || e.Code != "invalid" || e.Field != "" || e.Message == "" {
						t.Errorf("errors[0] = %+v, want index %d, code invalid, no field and a message", e, pos.wantIndex)
					}
				}
				// The other lines are applied.
				checkClients(t, a, []clientInfo{{"agent-1", 1}, {"agent-2", 1}})
				checkTotal(t, a, "agent-1", "requests", "1", 1)
				d, _ := a.dump("agent-2")
				if s := d.samples(t, "cpu"); len(s) != 1 || s[0].EventID != "e2" {
					t.Errorf("agent-2 cpu = %+v, want sample e2", s)
				}
			})
		}
	}
}

func TestIngestNDJSONInvalidEventLine(t *testing.T) {
	valid0 := cum("agent-1", "e0", ts0, "requests", 1)
	valid2 := series("agent-2", "e2", ts1, "cpu", 0.5)
	for _, tt := range invalidEventCases {
		t.Run(tt.name, func(t *testing.T) {
			a := newDefaultAPI(t)
			body := "\n" + valid0 + "\n \t\n" + tt.json(t) + "\r\n" + valid2
			status, got := a.postNDJSON(body)
			wantStatus(t, status, http.StatusBadRequest)
			wantSummary(t, got, 2, 0, 1)
			tt.check(t, got, 1)
			checkClients(t, a, []clientInfo{{"agent-1", 1}, {"agent-2", 1}})
			checkTotal(t, a, "agent-1", "requests", "1", 1)
		})
	}
}

func TestIngestNDJSONStatus(t *testing.T) {
	// Cases only NDJSON can send: blank lines, which are no events, and
	// lines that are not objects, each refused on its own.
	ndjsonOnly := []batchCase{
		{
			name: "blank lines are not events: only conflicts among the rejections is 409",
			events: []string{
				cum("agent-1", "n1", ts1, "requests", 10),
				"",
				cum("agent-1", "old", ts0, "requests", 99), // conflict: other value
				"  ",
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
			name: "all duplicates around a blank line is 200",
			events: []string{
				cum("agent-1", "old", ts0, "requests", 1),
				"",
				cum("agent-1", "old", ts0, "requests", 1),
			},
			wantStatus: http.StatusOK,
			wantDups:   2,
			wantTotal:  "1",
			wantCount:  1,
		},
		{
			name: "a conflict and a line that is not an object is 400",
			events: []string{
				cum("agent-1", "old", ts0, "requests", 2), // conflict
				"\t",
				"nope",
				cum("agent-1", "n1", ts1, "requests", 10),
			},
			wantStatus:   http.StatusBadRequest,
			wantCode:     "invalid",
			wantAccepted: 1,
			wantErrors: []itemError{
				{Index: 0, EventID: "old", Code: "conflict", Field: "event_id"},
				{Index: 1, EventID: "", Code: "invalid", Field: ""},
			},
			wantTotal: "11",
			wantCount: 2,
		},
		{
			name: "only rejected lines is 400",
			events: []string{
				"[1]",
				"",
				cum("agent-1", "n1", ts1, "requests", "ten"),
			},
			wantStatus: http.StatusBadRequest,
			wantCode:   "invalid",
			wantErrors: []itemError{
				{Index: 0, EventID: "", Code: "invalid", Field: ""},
				{Index: 1, EventID: "n1", Code: "invalid", Field: "event_value"},
			},
			wantTotal: "1",
			wantCount: 1,
		},
	}
	for _, tt := range append(slices.Clone(batchCases), ndjsonOnly...) {
		t.Run(tt.name, func(t *testing.T) {
			a := newDefaultAPI(t)
			tt.setup(t, a)
			status, got := a.postNDJSON(ndjson(tt.events...))
			tt.check(t, a, status, got)
		})
	}
}

func TestIngestNDJSONReplay(t *testing.T) {
	body := "\r\n" + cum("agent-1", "e1", ts0, "requests", 1) + "\r\n\r\n" +
		series("agent-2", "e2", ts1, "cpu", 0.5) + "\r\n" +
		cum("agent-3", "e3", ts2, "requests", 2)
	steps := []struct {
		name       string
		wantStatus int
		wantNew    int
		wantDups   int
	}{
		{"first post", http.StatusAccepted, 3, 0},
		{"replay", http.StatusOK, 0, 3},
		{"second replay", http.StatusOK, 0, 3},
	}
	a := newDefaultAPI(t)
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			r := a.postRaw(body, mediaNDJSON)
			wantStatus(t, r.status, step.wantStatus)
			wantSummary(t, decodeIngest(t, r), step.wantNew, step.wantDups, 0)
		})
	}
	checkClients(t, a, []clientInfo{{"agent-1", 1}, {"agent-2", 1}, {"agent-3", 1}})
}

func TestIngestNDJSONNoEvent(t *testing.T) {
	tests := []struct {
		name string
		body string
	}{
		{"empty body", ""},
		{"one newline", "\n"},
		{"newlines", "\n\n\n"},
		{"CRLFs", "\r\n\r\n"},
		{"a lone CR", "\r"},
		{"spaces", "   "},
		{"spaces, tabs and CRs on lines", " \t \r\n\t\n \r\n\t"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newDefaultAPI(t)
			status, got := a.postNDJSON(tt.body)
			wantStatus(t, status, http.StatusBadRequest)
			wantSummary(t, got, 0, 0, 0)
			wantErrorCode(t, got, "invalid")
			a.wantNoClients()
		})
	}
}

// ndjsonEvents returns n distinct valid events of client agent-1, one a line.
func ndjsonEvents(n int) []string {
	lines := make([]string, n)
	for i := range lines {
		lines[i] = cum("agent-1", fmt.Sprintf("e%d", i), ts0, "requests", 1)
	}
	return lines
}

func TestIngestNDJSONEventLimit(t *testing.T) {
	three := ndjsonEvents(3)
	four := ndjsonEvents(4)
	tests := []struct {
		name       string
		maxEvents  int // 0 keeps the default
		body       string
		wantStatus int
		wantEvents int // accepted, when the status is 202
	}{
		{"at a small limit", 3, ndjson(three...), http.StatusAccepted, 3},
		{"at a small limit with blank lines", 3, "\n\n" + strings.Join(three, "\n\n \n") + "\r\n\r\n\n", http.StatusAccepted, 3},
		{"one over a small limit", 3, ndjson(four...), http.StatusRequestEntityTooLarge, 0},
		{"one over, no final newline", 3, strings.Join(four, "\n"), http.StatusRequestEntityTooLarge, 0},
		{"one over, CRLF", 3, strings.Join(four, "\r\n") + "\r\n", http.StatusRequestEntityTooLarge, 0},
		{"one over, the extra line not an object", 3, ndjson(append(ndjsonEvents(3), "nope")...), http.StatusRequestEntityTooLarge, 0},
		{"one over, the first line not an object", 3, ndjson(append([]string{"nope"}, three...)...), http.StatusRequestEntityTooLarge, 0},
		{"four lines, none an object", 3, ndjson("1", "2", "3", "4"), http.StatusRequestEntityTooLarge, 0},
		{"limit of one, two lines", 1, ndjson(ndjsonEvents(2)...), http.StatusRequestEntityTooLarge, 0},
		{"at the default limit", 0, ndjson(ndjsonEvents(10_000)...), http.StatusAccepted, 10_000},
		{"over the default limit", 0, ndjson(ndjsonEvents(10_001)...), http.StatusRequestEntityTooLarge, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			if tt.maxEvents > 0 {
				cfg.MaxBatchEvents = tt.maxEvents
			}
			a := newAPI(t, cfg)
			status, got := a.postNDJSON(tt.body)
			wantStatus(t, status, tt.wantStatus)
			if tt.wantStatus == http.StatusAccepted {
				wantSummary(t, got, tt.wantEvents, 0, 0)
				checkClients(t, a, []clientInfo{{"agent-1", int64(tt.wantEvents)}})
				return
			}
			wantSummary(t, got, 0, 0, 0)
			wantErrorCode(t, got, "too_large")
			a.wantNoClients()
		})
	}
}

func TestIngestNDJSONBodyLimit(t *testing.T) {
	const limit = 1024
	e1 := cum("agent-1", "e1", ts0, "requests", 1)
	e2 := cum("agent-1", "e2", ts1, "requests", 2)
	// pad returns the lines e1 and e2 with spaces after e2 to n bytes.
	pad := func(n int) string {
		body := e1 + "\n" + e2
		return body + strings.Repeat(" ", n-len(body))
	}
	tests := []struct {
		name       string
		body       string
		wantStatus int
	}{
		{"exactly the limit", pad(limit), http.StatusAccepted},
		{"one byte over", pad(limit + 1), http.StatusRequestEntityTooLarge},
		{"far over", pad(8 * limit), http.StatusRequestEntityTooLarge},
		{"far over in blank lines", e1 + "\n" + e2 + strings.Repeat("\n", 8*limit), http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.MaxBodyBytes = limit
			a := newAPI(t, cfg)
			status, got := a.postNDJSON(tt.body)
			wantStatus(t, status, tt.wantStatus)
			if tt.wantStatus == http.StatusAccepted {
				wantSummary(t, got, 2, 0, 0)
				return
			}
			wantSummary(t, got, 0, 0, 0)
			wantErrorCode(t, got, "too_large")
			a.wantNoClients()
		})
	}
}

func TestIngestUnsupportedContentType(t *testing.T) {
	event := cum("agent-1", "e1", ts0, "requests", 1) // valid as JSON and as NDJSON
	tests := []struct {
		name        string
		contentType string
	}{
		{"text/plain", "text/plain"},
		{"text/plain with charset", "text/plain; charset=utf-8"},
		{"application/xml", "application/xml"},
		{"application/octet-stream", "application/octet-stream"},
		{"application/ndjson", "application/ndjson"},
		{"application/jsonl", "application/jsonl"},
		{"application/json-seq", "application/json-seq"},
		{"text/x-ndjson", "text/x-ndjson"},
		{"no subtype", "application"},
		{"garbage", ";;;"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newDefaultAPI(t)
			r := a.postRaw(event, tt.contentType)
			wantStatus(t, r.status, http.StatusUnsupportedMediaType)
			got := decodeIngest(t, r)
			wantSummary(t, got, 0, 0, 0)
			wantErrorCode(t, got, "unsupported_media_type")
			if got.Error != nil {
				for _, want := range []string{"application/json", "application/x-ndjson"} {
					if !strings.Contains(got.Error.Message, want) {
						t.Errorf("error message = %q, want it to name %s", got.Error.Message, want)
					}
				}
			}
			a.wantNoClients()
		})
	}
}

// TestIngestStoredEventsOutliveTheBody checks that what the store keeps does
// not share memory with a request body: after other bodies of the same shape
// went through the server, the first event still reads as it was sent.
func TestIngestStoredEventsOutliveTheBody(t *testing.T) {
	keep := series("keep-client", "keep-id", ts0, "keep_key", 1.5)
	// swap returns an event laid out like keep, with every string changed.
	swap := func(i int) string { return series("swap-client", fmt.Sprintf("sw-%04d", i), ts1, "swap_key", 2.5) }
	tests := []struct {
		name        string
		contentType string
		encoding    string
		body        func(event string) string
	}{
		{"JSON object", "application/json", "", func(e string) string { return e }},
		{"JSON batch", "application/json", "", func(e string) string { return batch(e) }},
		{"NDJSON", mediaNDJSON, "", func(e string) string { return ndjson(e) }},
		{"gzip JSON", "application/json", "gzip", func(e string) string { return e }},
		{"gzip NDJSON", mediaNDJSON, "gzip", func(e string) string { return ndjson(e) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newDefaultAPI(t)
			send := func(body string) response {
				t.Helper()
				b := []byte(body)
				if tt.encoding == "gzip" {
					b = gzipped(t, body)
				}
				return a.postEvents(b, tt.contentType, tt.encoding)
			}
			if r := send(tt.body(keep)); r.status != http.StatusAccepted {
				t.Fatalf("first event: status %d, want 202; body %s", r.status, r.body)
			}
			const others = 20
			for i := range others {
				if r := send(tt.body(swap(i))); r.status != http.StatusAccepted {
					t.Fatalf("event %d: status %d, want 202; body %s", i, r.status, r.body)
				}
			}
			checkClients(t, a, []clientInfo{{"keep-client", 1}, {"swap-client", others}})
			d, _ := a.dump("keep-client")
			if d.ClientID != "keep-client" {
				t.Errorf("dump client_id = %q, want keep-client", d.ClientID)
			}
			if len(d.Events) != 1 {
				t.Errorf("dump keys = %v, want keep_key only", keysOf(d))
			}
			want := sample{"keep-client", "keep-id", "1763850000", "TIME-SERIES", "keep_key", "1.5"}
			if s := d.samples(t, "keep_key"); len(s) != 1 || s[0] != want {
				t.Errorf("keep_key = %+v, want [%+v]", s, want)
			}
			// The first event is still known by its id: sent again, a duplicate.
			r := send(tt.body(keep))
			wantStatus(t, r.status, http.StatusOK)
			wantSummary(t, decodeIngest(t, r), 0, 1, 0)
		})
	}
}

func TestIngestNDJSONSameEventWrittenOtherwise(t *testing.T) {
	canonical := cum("agent-1", "e1", ts0, "requests", 1)
	tests := []struct {
		name string
		line string
	}{
		{"canonical", canonical},
		{"white space inside", "{ \"client_id\" :\t\"agent-1\" , \"event_id\":\"e1\",\t\"event_timestamp\" : 1763850000 ,\"event_type\":\"CUMULATIVE\", \"event_key\":\"requests\",\"event_value\":1 }"},
		{"fields in another order", `{"event_value":1,"event_key":"requests","event_type":"CUMULATIVE","event_timestamp":1763850000,"event_id":"e1","client_id":"agent-1"}`},
		{"strings with escapes", `{"client_id":"agent\u002d1","event_id":"\u00651","event_timestamp":1763850000,"event_type":"\u0043UMULATIVE","event_key":"requ\u0065sts","event_value":1}`},
		{"numbers as numeric strings", `{"client_id":"agent-1","event_id":"e1","event_timestamp":"1763850000","event_type":"CUMULATIVE","event_key":"requests","event_value":"1"}`},
		{"value with a fraction and an exponent", `{"client_id":"agent-1","event_id":"e1","event_timestamp":1763850000,"event_type":"CUMULATIVE","event_key":"requests","event_value":0.1e1}`},
		{"value 1.0", `{"client_id":"agent-1","event_id":"e1","event_timestamp":1763850000,"event_type":"CUMULATIVE","event_key":"requests","event_value":1.0}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newDefaultAPI(t)
			status, got := a.postNDJSON(ndjson(tt.line))
			wantStatus(t, status, http.StatusAccepted)
			wantSummary(t, got, 1, 0, 0)
			// The canonical form of the same event is a duplicate, as JSON
			// and as NDJSON.
			status, got = a.post(canonical)
			wantStatus(t, status, http.StatusOK)
			wantSummary(t, got, 0, 1, 0)
			status, got = a.postNDJSON(canonical + "\r\n")
			wantStatus(t, status, http.StatusOK)
			wantSummary(t, got, 0, 1, 0)
			checkClients(t, a, []clientInfo{{"agent-1", 1}})
			checkTotal(t, a, "agent-1", "requests", "1", 1)
		})
	}
}
