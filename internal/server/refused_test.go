package server_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/montool/montool/internal/auth"
	"github.com/montool/montool/internal/server"
	"github.com/montool/montool/internal/store"
	"github.com/montool/montool/internal/storetest"
)

// TestRefusedFloodCreatesNothing sends a million refused events, each of
// its own new client, for each kind of refusal, and checks that the server
// holds no more than before: no client, no key, no row, no rate-limit
// bucket.
func TestRefusedFloodCreatesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("a million events per case")
	}
	const (
		floodEvents = 1_000_000
		perRequest  = 10_000
		maxGrowth   = 10 << 20
	)
	old := time.Now().Add(-2 * time.Hour).Unix()
	ingest := auth.NewSecret()
	tokens, err := auth.NewSet([]auth.Token{{Name: "ingest-web", Hash: auth.Hash(ingest), Role: auth.RoleIngest, Clients: []string{"web-*"}}})
	if err != nil {
		t.Fatalf("auth.NewSet: %v", err)
	}
	tests := []struct {
		name      string
		limits    store.Limits
		retention time.Duration
		cfg       func(*server.Config)
		token     string
		setup     string // accepted first, so that the store is at its limit
		timestamp int64
		value     string // of the flood's events
		status    int
		code      string
	}{
		{name: "storage full", limits: store.Limits{MaxBytes: 600}, setup: cum("agent-1", "e1", ts0, "requests", 1),
			status: http.StatusInsufficientStorage, code: "insufficient_storage"},
		{name: "too old", retention: time.Hour, timestamp: old,
			status: http.StatusBadRequest, code: "too_old"},
		{name: "max clients", limits: store.Limits{MaxClients: 1}, setup: cum("agent-1", "e1", ts0, "requests", 1),
			status: http.StatusTooManyRequests, code: "limit_exceeded"},
		{name: "max clients with a rate limit", limits: store.Limits{MaxClients: 1}, setup: cum("agent-1", "e1", ts0, "requests", 1),
			cfg:    func(c *server.Config) { c.RateLimit = 1000 },
			status: http.StatusTooManyRequests, code: "limit_exceeded"},
		{name: "invalid", value: `"lots"`,
			status: http.StatusBadRequest, code: "invalid"},
		{name: "not granted", cfg: func(c *server.Config) { c.Tokens = tokens }, token: ingest,
			status: http.StatusForbidden, code: "forbidden"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			m := storetest.NewMemory(t, store.Policy{Limits: tt.limits, Retention: tt.retention})
			a := newAPIWith(t, cfg, m)
			header := map[string]string{"Content-Type": "application/json"}
			if tt.token != "" {
				header["Authorization"] = "Bearer " + tt.token
			}
			if tt.setup != "" {
				if status, _ := a.post(tt.setup); status != http.StatusAccepted {
					t.Fatalf("setup answered %d", status)
				}
			}
			ts, value := tt.timestamp, tt.value
			if ts == 0 {
				ts = time.Now().Unix()
			}
			if value == "" {
				value = "1.5"
			}
			// One body, whose client ids are made new for each request by
			// writing its number over their first digits.
			var b strings.Builder
			b.WriteByte('[')
			for i := range perRequest {
				if i > 0 {
					b.WriteByte(',')
				}
				fmt.Fprintf(&b, `{"client_id":"flood-000000-%d","event_id":"e","event_timestamp":%d,"event_type":"TIME-SERIES","event_key":"k","event_value":%s}`, i, ts, value)
			}
			b.WriteByte(']')
			template := []byte(b.String())
			var places []int
			for i := 0; ; {
				at := bytes.Index(template[i:], []byte("flood-000000"))
				if at < 0 {
					break
				}
				places = append(places, i+at+len("flood-"))
				i += at + 1
			}
			sent := 0
			flood := func(requests int) {
				t.Helper()
				body := make([]byte, len(template))
				for range requests {
					copy(body, template)
					number := fmt.Appendf(nil, "%06d", sent)
					for _, at := range places {
						copy(body[at:], number)
					}
					sent++
					resp := a.do(http.MethodPost, "/api/v1/events", bytes.NewReader(body), header)
					if resp.status != tt.status {
						t.Fatalf("flood request %d answered %d, want %d: %.300s", sent, resp.status, tt.status, resp.body)
					}
					if e := decodeError(t, resp); e.Code != tt.code {
						t.Fatalf("flood request %d: code %q, want %q", sent, e.Code, tt.code)
					}
				}
			}
			flood(2) // the server's pools and buffers are made
			before, bytesBefore := heapInUse(), m.Bytes()
			flood(floodEvents / perRequest)
			after := heapInUse()
			grown := int64(after) - int64(before)
			if grown > maxGrowth {
				t.Errorf("the heap grew by %d bytes (%d → %d) over %d refused events, want at most %d", grown, before, after, floodEvents, maxGrowth)
			}
			t.Logf("the heap grew by %d bytes over %d refused events", grown, floodEvents)
			if got := m.Bytes(); got != bytesBefore {
				t.Errorf("the store reckons %d bytes after the flood, %d before", got, bytesBefore)
			}
			infos, err := m.Clients(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if want := min(len(tt.setup), 1); len(infos) != want {
				t.Errorf("the store lists %d clients after the flood, want %d", len(infos), want)
			}
			if cfg.RateLimit > 0 {
				var stats struct {
					Buckets *int `json:"rate_limit_buckets"`
				}
				if err := json.Unmarshal(a.get("/api/v1/stats").body, &stats); err != nil || stats.Buckets == nil {
					t.Fatalf("stats: %v, rate_limit_buckets %v", err, stats.Buckets)
				}
				if want := min(len(tt.setup), 1); *stats.Buckets != want {
					t.Errorf("the rate limit tracks %d clients after the flood, want %d", *stats.Buckets, want)
				}
			}
		})
	}
}

// heapInUse returns the bytes of live heap objects after two collections
// (the second empties what sync.Pools keep for one cycle).
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestRejectedEventsListedUpToALimit checks that an answer lists the first
// hundred rejected events, by their place in the request, and counts the
// others, so that a small body of bad events gets a small answer.
func TestRejectedEventsListedUpToALimit(t *testing.T) {
	const n = 10_000
	var emptyObjects, brokenLines, mixed strings.Builder
	emptyObjects.WriteByte('[')
	mixed.WriteByte('[')
	old := time.Now().Add(-2 * time.Hour).Unix()
	for i := range n {
		if i > 0 {
			emptyObjects.WriteByte(',')
			mixed.WriteByte(',')
		}
		emptyObjects.WriteString("{}")
		brokenLines.WriteString("{\n")
		if i%2 == 0 { // refused by the decoder
			mixed.WriteString(series("agent-1", fmt.Sprint("e", i), ts0, "k", "lots"))
		} else { // refused by the store
			mixed.WriteString(series("agent-1", fmt.Sprint("e", i), old, "k", 1))
		}
	}
	emptyObjects.WriteByte(']')
	mixed.WriteByte(']')
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(emptyObjects.String()))
	zw.Close()

	m := storetest.NewMemory(t, store.Policy{Retention: time.Hour})
	a := newAPIWith(t, testConfig(), m)
	tests := []struct {
		name   string
		body   []byte
		header map[string]string
	}{
		{name: "gzip of empty objects", body: gz.Bytes(), header: map[string]string{"Content-Type": "application/json", "Content-Encoding": "gzip"}},
		{name: "broken NDJSON lines", body: []byte(brokenLines.String()), header: map[string]string{"Content-Type": "application/x-ndjson"}},
		{name: "refused by the decoder and by the store", body: []byte(mixed.String()), header: map[string]string{"Content-Type": "application/json"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := a.do(http.MethodPost, "/api/v1/events", bytes.NewReader(tt.body), tt.header)
			wantStatus(t, r.status, http.StatusBadRequest)
			if len(r.body) > 64<<10 {
				t.Errorf("the answer is %d bytes, want at most 64 KiB", len(r.body))
			}
			got := decodeIngest(t, r)
			if got.Rejected != n || len(got.Errors) != 100 || got.Omitted != n-100 {
				t.Fatalf("rejected %d, %d listed, %d omitted; want %d, 100, %d", got.Rejected, len(got.Errors), got.Omitted, n, n-100)
			}
			for i, e := range got.Errors {
				if e.Index != i {
					t.Fatalf("error %d is of event %d, want the first hundred in order", i, e.Index)
				}
			}
		})
	}
}
