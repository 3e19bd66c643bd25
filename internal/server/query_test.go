package server_test

import (
	"encoding/csv"
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/montool/montool/internal/store"
	"github.com/montool/montool/internal/storetest"
)

// queryClient is the client seeded by seedQuery.
const queryClient = "agent-q"

// seedQuery stores, for queryClient:
//
//	cpu (TIME-SERIES): c1@ts0 c2@ts1 c3@ts1.5 c4@ts2 c6@ts2 c5@ts3 (c6 ties c4, arriving later)
//	mem (TIME-SERIES): m1@ts0.25 m2@ts2
//	requests (CUMULATIVE): 2@ts0 + 3.5@ts3 = 5.5 of 2 events, latest ts3
func seedQuery(t *testing.T, a *api) {
	t.Helper()
	status, got := a.post(batch(
		series(queryClient, "c5", ts3, "cpu", 0.5),
		series(queryClient, "c1", ts0, "cpu", 0.1),
		series(queryClient, "c3", 1763850001.5, "cpu", 0.3),
		series(queryClient, "c2", ts1, "cpu", 0.2),
		series(queryClient, "c4", ts2, "cpu", 0.4),
		series(queryClient, "m2", ts2, "mem", 2048),
		series(queryClient, "m1", 1763850000.25, "mem", 1024),
		cum(queryClient, "r2", ts3, "requests", 3.5),
		cum(queryClient, "r1", ts0, "requests", 2),
	))
	wantStatus(t, status, http.StatusAccepted)
	wantSummary(t, got, 9, 0, 0)
	status, got = a.post(series(queryClient, "c6", ts2, "cpu", 0.6))
	wantStatus(t, status, http.StatusAccepted)
	wantSummary(t, got, 1, 0, 0)
}

// requestsTotal is the CUMULATIVE total seedQuery stores, whatever the
// time range or limit of a dump.
var requestsTotal = total{
	ClientID:       queryClient,
	EventType:      "CUMULATIVE",
	EventKey:       "requests",
	EventValue:     "5.5",
	EventCount:     2,
	EventTimestamp: "1763850003",
}

// getDump fetches the dump of queryClient with query and checks its status
// and Content-Type.
func getDump(t *testing.T, a *api, query, wantType string) response {
	t.Helper()
	r := a.get(dumpPath(queryClient) + "?" + query)
	if r.status != http.StatusOK {
		t.Fatalf("GET ?%s: status %d, want 200; body %s", query, r.status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != wantType {
		t.Errorf("GET ?%s: Content-Type = %q, want %q", query, ct, wantType)
	}
	return r
}

func TestDumpQuery(t *testing.T) {
	a := newDefaultAPI(t)
	seedQuery(t, a)

	all := map[string][]string{"cpu": {"c1", "c2", "c3", "c4", "c6", "c5"}, "mem": {"m1", "m2"}}
	tests := []struct {
		name         string
		query        string
		wantSamples  map[string][]string // ids of each TIME-SERIES key in the dump
		wantRequests bool                // the dump holds the requests total
	}{
		{"no query", "", all, true},
		{"one key", "key=cpu", map[string][]string{"cpu": all["cpu"]}, false},
		{"two keys", "key=cpu&key=mem", all, false},
		{"CUMULATIVE key only", "key=requests", nil, true},
		{"unknown key", "key=disk", nil, false},
		{"unknown and known key", "key=disk&key=mem", map[string][]string{"mem": all["mem"]}, false},
		{"from in seconds, on a tie", "from=1763850002", map[string][]string{"cpu": {"c4", "c6", "c5"}, "mem": {"m2"}}, true},
		{"from in milliseconds", "from=1763850001500", map[string][]string{"cpu": {"c3", "c4", "c6", "c5"}, "mem": {"m2"}}, true},
		{"from in fractional seconds", "from=1763850001.5", map[string][]string{"cpu": {"c3", "c4", "c6", "c5"}, "mem": {"m2"}}, true},
		{"from just after a sample", "from=1763850001.501", map[string][]string{"cpu": {"c4", "c6", "c5"}, "mem": {"m2"}}, true},
		{"to in seconds, on a tie", "to=1763850002", map[string][]string{"cpu": {"c1", "c2", "c3", "c4", "c6"}, "mem": {"m1", "m2"}}, true},
		{"to in fractional seconds", "to=1763850001.5", map[string][]string{"cpu": {"c1", "c2", "c3"}, "mem": {"m1"}}, true},
		{"to in milliseconds, before a fraction", "to=1763850000249", map[string][]string{"cpu": {"c1"}, "mem": {}}, true},
		{"to in microseconds", "to=1763850000250000", map[string][]string{"cpu": {"c1"}, "mem": {"m1"}}, true},
		{"from and to", "from=1763850001&to=1763850002", map[string][]string{"cpu": {"c2", "c3", "c4", "c6"}, "mem": {"m2"}}, true},
		{"from and to in mixed units", "from=1763850001000&to=1763850001.5", map[string][]string{"cpu": {"c2", "c3"}, "mem": {}}, true},
		{"from equal to on a tie keeps both", "from=1763850002&to=1763850002", map[string][]string{"cpu": {"c4", "c6"}, "mem": {"m2"}}, true},
		{"from after to is empty", "from=1763850003&to=1763850000", map[string][]string{"cpu": {}, "mem": {}}, true},
		{"from after every sample", "from=1763850004", map[string][]string{"cpu": {}, "mem": {}}, true},
		{"from and to around every sample", "from=1700000000&to=1800000000", all, true},
		{"empty from and to are ignored", "from=&to=", all, true},
		{"limit 2", "limit=2", map[string][]string{"cpu": {"c6", "c5"}, "mem": {"m1", "m2"}}, true},
		{"limit 1 with to, latest of a tie", "limit=1&to=1763850002", map[string][]string{"cpu": {"c6"}, "mem": {"m2"}}, true},
		{"limit bigger than the samples", "limit=100", all, true},
		{"limit with from and to", "limit=2&from=1763850000&to=1763850001.9", map[string][]string{"cpu": {"c2", "c3"}, "mem": {"m1"}}, true},
		{"key, range and limit", "key=cpu&key=requests&from=1763850001&limit=3", map[string][]string{"cpu": {"c4", "c6", "c5"}}, true},
		{"explicit json format", "format=json&limit=1", map[string][]string{"cpu": {"c5"}, "mem": {"m2"}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := getDump(t, a, tt.query, "application/json")
			var d dumpResponse
			if err := json.Unmarshal(r.body, &d); err != nil {
				t.Fatalf("decoding %s: %v", r.body, err)
			}
			if d.ClientID != queryClient {
				t.Errorf("client_id = %q, want %q", d.ClientID, queryClient)
			}
			wantKeys := slices.Collect(maps.Keys(tt.wantSamples))
			if tt.wantRequests {
				wantKeys = append(wantKeys, "requests")
			}
			slices.Sort(wantKeys)
			if got := slices.Sorted(maps.Keys(d.Events)); !slices.Equal(got, wantKeys) {
				t.Fatalf("keys = %q, want %q; body %s", got, wantKeys, r.body)
			}
			for key, want := range tt.wantSamples {
				var ids []string
				for _, s := range d.samples(t, key) {
					ids = append(ids, s.EventID)
					if s.ClientID != queryClient || s.EventKey != key || s.EventType != "TIME-SERIES" {
						t.Errorf("key %s: event %+v is not a TIME-SERIES event of %s", key, s, queryClient)
					}
				}
				if !slices.Equal(ids, want) {
					t.Errorf("key %s: ids = %q, want %q", key, ids, want)
				}
			}
			if tt.wantRequests {
				if got := d.total(t, "requests"); got != requestsTotal {
					t.Errorf("requests = %+v, want %+v", got, requestsTotal)
				}
			}
		})
	}
}

// TestDumpQuerySampleFields checks that a narrowed dump keeps each event's
// timestamp and value as they were sent.
func TestDumpQuerySampleFields(t *testing.T) {
	a := newDefaultAPI(t)
	seedQuery(t, a)
	r := getDump(t, a, "key=cpu&key=mem&from=1763850000.1&to=1763850001.5", "application/json")
	var d dumpResponse
	if err := json.Unmarshal(r.body, &d); err != nil {
		t.Fatalf("decoding %s: %v", r.body, err)
	}
	want := map[string][]sample{
		"cpu": {
			{queryClient, "c2", "1763850001", "TIME-SERIES", "cpu", "0.2"},
			{queryClient, "c3", "1763850001.5", "TIME-SERIES", "cpu", "0.3"},
		},
		"mem": {{queryClient, "m1", "1763850000.25", "TIME-SERIES", "mem", "1024"}},
	}
	for key, w := range want {
		if got := d.samples(t, key); !slices.Equal(got, w) {
			t.Errorf("key %s = %+v, want %+v", key, got, w)
		}
	}
}

// flatEvent is one event of a dump in a form common to its three formats.
type flatEvent struct {
	clientID, typ, key, id, timestamp, value, count string
}

// flatFromObject reads one event object of a JSON or NDJSON dump.
func flatFromObject(t *testing.T, raw []byte) flatEvent {
	t.Helper()
	var o struct {
		ClientID  string       `json:"client_id"`
		Type      string       `json:"event_type"`
		Key       string       `json:"event_key"`
		ID        string       `json:"event_id"`
		Timestamp json.Number  `json:"event_timestamp"`
		Value     json.Number  `json:"event_value"`
		Count     *json.Number `json:"event_count"`
	}
	if err := json.Unmarshal(raw, &o); err != nil {
		t.Fatalf("event %s: %v", raw, err)
	}
	e := flatEvent{o.ClientID, o.Type, o.Key, o.ID, o.Timestamp.String(), o.Value.String(), ""}
	if o.Count != nil {
		e.count = o.Count.String()
	}
	return e
}

func flatFromJSON(t *testing.T, body []byte) []flatEvent {
	t.Helper()
	var d dumpResponse
	if err := json.Unmarshal(body, &d); err != nil {
		t.Fatalf("decoding %s: %v", body, err)
	}
	var out []flatEvent
	for _, key := range slices.Sorted(maps.Keys(d.Events)) {
		raw := d.Events[key]
		if strings.HasPrefix(string(raw), "[") {
			var objs []json.RawMessage
			if err := json.Unmarshal(raw, &objs); err != nil {
				t.Fatalf("key %s: %s: %v", key, raw, err)
			}
			for _, o := range objs {
				out = append(out, flatFromObject(t, o))
			}
			continue
		}
		out = append(out, flatFromObject(t, raw))
	}
	return out
}

func flatFromNDJSON(t *testing.T, body []byte) []flatEvent {
	t.Helper()
	if len(body) > 0 && !strings.HasSuffix(string(body), "\n") {
		t.Errorf("NDJSON body %q does not end in a newline", body)
	}
	var out []flatEvent
	for line := range strings.Lines(string(body)) {
		out = append(out, flatFromObject(t, []byte(line)))
	}
	return out
}

func flatFromCSV(t *testing.T, body []byte) []flatEvent {
	t.Helper()
	rows, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
	if err != nil {
		t.Fatalf("CSV body %s: %v", body, err)
	}
	header := []string{"client_id", "event_type", "event_key", "event_id", "event_timestamp", "event_value", "event_count"}
	if len(rows) == 0 || !slices.Equal(rows[0], header) {
		t.Fatalf("CSV body %s: want the header %q first", body, header)
	}
	var out []flatEvent
	for _, r := range rows[1:] {
		out = append(out, flatEvent{r[0], r[1], r[2], r[3], r[4], r[5], r[6]})
	}
	return out
}

func TestDumpFormats(t *testing.T) {
	a := newDefaultAPI(t)
	seedQuery(t, a)
	formats := []struct {
		format, contentType string
		flat                func(*testing.T, []byte) []flatEvent
	}{
		{"ndjson", "application/x-ndjson", flatFromNDJSON},
		{"csv", "text/csv; charset=utf-8", flatFromCSV},
	}
	for _, tt := range []struct {
		name, query string
		want        int // events
	}{
		{"everything", "", 6 + 2 + 1},
		{"keys", "key=cpu&key=requests", 6 + 1},
		{"from, to and limit", "from=1763850000.25&to=1763850002&limit=2", 2 + 2 + 1},
		{"nothing in range", "key=cpu&from=1763850004", 0},
	} {
		jsonEvents := flatFromJSON(t, getDump(t, a, tt.query, "application/json").body)
		if len(jsonEvents) != tt.want {
			t.Errorf("%s: JSON dump holds %d events, want %d: %v", tt.name, len(jsonEvents), tt.want, jsonEvents)
		}
		for _, f := range formats {
			t.Run(tt.name+"/"+f.format, func(t *testing.T) {
				q := "format=" + f.format
				if tt.query != "" {
					q = tt.query + "&" + q
				}
				r := getDump(t, a, q, f.contentType)
				if got := f.flat(t, r.body); !slices.Equal(got, jsonEvents) {
					t.Errorf("%s events\n%q\nJSON events\n%q", f.format, got, jsonEvents)
				}
			})
		}
	}

	t.Run("csv rows", func(t *testing.T) {
		r := getDump(t, a, "format=csv&key=mem&key=requests", "text/csv; charset=utf-8")
		want := []flatEvent{
			{queryClient, "TIME-SERIES", "mem", "m1", "1763850000.25", "1024", ""},
			{queryClient, "TIME-SERIES", "mem", "m2", "1763850002", "2048", ""},
			{queryClient, "CUMULATIVE", "requests", "", "1763850003", "5.5", "2"},
		}
		if got := flatFromCSV(t, r.body); !slices.Equal(got, want) {
			t.Errorf("rows = %q, want %q", got, want)
		}
	})
	t.Run("unknown client in csv is a JSON 404", func(t *testing.T) {
		r := a.get(dumpPath("nobody") + "?format=csv")
		wantStatus(t, r.status, http.StatusNotFound)
		if e := decodeError(t, r); e.Code != "not_found" {
			t.Errorf("code = %q, want not_found", e.Code)
		}
	})
}

func TestDumpQueryErrors(t *testing.T) {
	a := newDefaultAPI(t)
	seedQuery(t, a)
	tests := []struct {
		query   string
		field   string
		wantMsg string // also in the message, when not ""
	}{
		{"limit=0", "limit", `"0"`},
		{"limit=-1", "limit", `"-1"`},
		{"limit=x", "limit", `"x"`},
		{"limit=1.5", "limit", `"1.5"`},
		{"limit=99999999999999999999", "limit", ""},
		{"key=cpu&limit=0", "limit", ""},
		{"from=yesterday", "from", ""},
		{"from=1763850000&to=yesterday", "to", ""},
		{"to=-5", "to", "negative"},
		{"from=99999999999999999999", "from", "range"},
		{"format=xml", "format", `"xml"`},
		{"format=ndjson&limit=0", "limit", ""},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			r := a.get(dumpPath(queryClient) + "?" + tt.query)
			wantStatus(t, r.status, http.StatusBadRequest)
			e := decodeError(t, r)
			if e.Code != "invalid" {
				t.Errorf("code = %q, want invalid", e.Code)
			}
			if !strings.HasPrefix(e.Message, tt.field+": ") {
				t.Errorf("message = %q, want it to name %s first", e.Message, tt.field)
			}
			if strings.Contains(e.Message, "event_timestamp") {
				t.Errorf("message = %q names an event field, not the parameter", e.Message)
			}
			if !strings.Contains(e.Message, tt.wantMsg) {
				t.Errorf("message = %q, want it to hold %s", e.Message, tt.wantMsg)
			}
		})
	}
}

// keySummaryJSON is one key of a client summary, each field as written and
// nil when absent.
type keySummaryJSON struct {
	Key   *string      `json:"event_key"`
	Type  *string      `json:"event_type"`
	Count *json.Number `json:"event_count"`
	First *json.Number `json:"first_timestamp"`
	Last  *json.Number `json:"last_timestamp"`
	Value *json.Number `json:"event_value"`
}

// flat writes k with "-" for an absent field.
func (k keySummaryJSON) flat() string {
	f := func(s *string) string {
		if s == nil {
			return "-"
		}
		return *s
	}
	n := func(x *json.Number) string {
		if x == nil {
			return "-"
		}
		return x.String()
	}
	return strings.Join([]string{f(k.Key), f(k.Type), n(k.Count), n(k.First), n(k.Last), n(k.Value)}, " ")
}

// clientSummaryOf fetches the summary of clientID and fails unless it is 200.
func clientSummaryOf(t *testing.T, a *api, clientID string) (string, int64, []string) {
	t.Helper()
	r := a.get("/api/v1/clients/" + clientID)
	if r.status != http.StatusOK {
		t.Fatalf("GET client %s: status %d, want 200; body %s", clientID, r.status, r.body)
	}
	checkJSONContentType(t, r)
	var s struct {
		ClientID string           `json:"client_id"`
		Events   *int64           `json:"event_count"`
		Keys     []keySummaryJSON `json:"keys"`
	}
	if err := json.Unmarshal(r.body, &s); err != nil {
		t.Fatalf("decoding %s: %v", r.body, err)
	}
	if s.Events == nil || s.Keys == nil {
		t.Fatalf("summary %s lacks event_count or keys", r.body)
	}
	keys := make([]string, len(s.Keys))
	for i, k := range s.Keys {
		keys[i] = k.flat()
	}
	return s.ClientID, *s.Events, keys
}

func TestClientSummary(t *testing.T) {
	a := newDefaultAPI(t)
	seedQuery(t, a)
	status, _ := a.post(batch(
		series("edge-0", "z1", 0, "boot", 1),
		series("edge-0", "z2", 5, "boot", 2),
		cum("edge-0", "z3", 0, "errors", 0.1),
		cum("edge-0", "z4", 0, "errors", 0.2),
	))
	wantStatus(t, status, http.StatusAccepted)

	tests := []struct {
		name, clientID string
		wantEvents     int64
		wantKeys       []string // key type count first last value, "-" when absent
	}{
		{"both key types", queryClient, 6 + 2 + 2, []string{
			"cpu TIME-SERIES 6 1763850000 1763850003 -",
			"mem TIME-SERIES 2 1763850000.25 1763850002 -",
			"requests CUMULATIVE 2 - 1763850003 5.5",
		}},
		// A TIME-SERIES key has a first_timestamp even when it is 0.
		{"timestamps at the epoch", "edge-0", 2 + 2, []string{
			"boot TIME-SERIES 2 0 5 -",
			"errors CUMULATIVE 2 - 0 0.3", // summed exactly, not as 0.1+0.2 in float64
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, events, keys := clientSummaryOf(t, a, tt.clientID)
			if id != tt.clientID {
				t.Errorf("client_id = %q, want %q", id, tt.clientID)
			}
			if events != tt.wantEvents {
				t.Errorf("event_count = %d, want %d", events, tt.wantEvents)
			}
			if !slices.Equal(keys, tt.wantKeys) {
				t.Errorf("keys =\n%q\nwant\n%q", keys, tt.wantKeys)
			}
		})
	}

	t.Run("event count matches the client list", func(t *testing.T) {
		for _, c := range a.clients() {
			_, events, _ := clientSummaryOf(t, a, c.ClientID)
			if events != c.EventCount {
				t.Errorf("client %s: summary event_count = %d, list says %d", c.ClientID, events, c.EventCount)
			}
		}
	})
}

func TestClientSummaryErrors(t *testing.T) {
	a := newDefaultAPI(t)
	seedQuery(t, a)
	tests := []struct {
		name, method, path string
		wantStatus         int
		wantCode           string
		wantAllow          []string
	}{
		{"unknown client", http.MethodGet, "/api/v1/clients/nobody", http.StatusNotFound, "not_found", nil},
		{"POST", http.MethodPost, "/api/v1/clients/" + queryClient, http.StatusMethodNotAllowed, "method_not_allowed", []string{"GET", "DELETE"}},
		{"PUT", http.MethodPut, "/api/v1/clients/" + queryClient, http.StatusMethodNotAllowed, "method_not_allowed", []string{"GET", "DELETE"}},
		{"PATCH on an unknown client", http.MethodPatch, "/api/v1/clients/nobody", http.StatusMethodNotAllowed, "method_not_allowed", []string{"GET", "DELETE"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := a.do(tt.method, tt.path, nil, nil)
			wantStatus(t, r.status, tt.wantStatus)
			if e := decodeError(t, r); e.Code != tt.wantCode {
				t.Errorf("code = %q, want %q", e.Code, tt.wantCode)
			}
			allow := r.header.Get("Allow")
			for _, m := range tt.wantAllow {
				if !strings.Contains(allow, m) {
					t.Errorf("Allow = %q, want it to list %s", allow, m)
				}
			}
			if strings.Contains(allow, http.MethodPost) {
				t.Errorf("Allow = %q lists POST", allow)
			}
		})
	}
}

func TestClientSummaryGrants(t *testing.T) {
	a, s := newTokenAPI(t, storetest.New(t, store.Policy{}))
	tests := []struct {
		name, token, clientID string
		wantStatus            int
	}{
		{"granted client", s.readWeb01, "web-01", http.StatusOK},
		{"client not granted", s.readWeb01, "web-02", http.StatusForbidden},
		{"unknown client not granted", s.readWeb01, "nobody", http.StatusForbidden},
		{"admin, unknown client", s.admin, "nobody", http.StatusNotFound},
		{"no token", "", "web-01", http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := a.doAs(tt.token, http.MethodGet, "/api/v1/clients/"+tt.clientID, "")
			wantStatus(t, r.status, tt.wantStatus)
			if tt.wantStatus != http.StatusOK {
				decodeError(t, r)
				return
			}
			var sum struct {
				ClientID string `json:"client_id"`
				Events   int64  `json:"event_count"`
			}
			if err := json.Unmarshal(r.body, &sum); err != nil {
				t.Fatalf("decoding %s: %v", r.body, err)
			}
			if sum.ClientID != tt.clientID || sum.Events != 2 {
				t.Errorf("summary = %+v, want %s with 2 events", sum, tt.clientID)
			}
		})
	}
}
