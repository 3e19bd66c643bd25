package server_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/montool/montool/internal/server"
	"github.com/montool/montool/internal/store"
	"github.com/montool/montool/internal/storetest"
)

// newBenchHandler returns the handler of a server over a fresh store.
func newBenchHandler(b *testing.B) http.Handler {
	b.Helper()
	srv, err := server.New(testConfig(), storetest.NewMemory(b, store.Policy{}), discardLogger())
	if err != nil {
		b.Fatalf("server.New: %v", err)
	}
	return srv.Handler()
}

// serveIngest posts body to h and returns the answer.
func serveIngest(h http.Handler, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/api/v1/events", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.RemoteAddr = "127.0.0.1:1234" // open mode takes requests from loopback only
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// BenchmarkIngestSingle posts one new event per request.
func BenchmarkIngestSingle(b *testing.B) {
	h := newBenchHandler(b)
	bodies := make([][]byte, b.N)
	var size int64
	for i := range bodies {
		client := fmt.Sprintf("agent-%d", i%100)
		if i%5 == 0 {
			bodies[i] = []byte(cum(client, fmt.Sprintf("ev-%d", i), ts0+i%1000, "http_requests_total", 3))
		} else {
			bodies[i] = []byte(series(client, fmt.Sprintf("ev-%d", i), ts0+i%1000, fmt.Sprintf("latency_%d", i%4), 0.25))
		}
		size += int64(len(bodies[i]))
	}
	if b.N > 0 {
		b.SetBytes(size / int64(b.N))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if rec := serveIngest(h, bodies[i]); rec.Code != http.StatusAccepted {
			b.Fatalf("request %d: status %d, want 202: %s", i, rec.Code, rec.Body)
		}
	}
}

// BenchmarkIngestBatch1000 posts batches of 1,000 new events over 100
// clients × 5 keys, one key of five (20%) CUMULATIVE.
func BenchmarkIngestBatch1000(b *testing.B) {
	const perBatch = 1000
	h := newBenchHandler(b)
	bodies := make([][]byte, b.N)
	var size int64
	for n := range bodies {
		var sb strings.Builder
		sb.WriteByte('[')
		for j := range perBatch {
			if j > 0 {
				sb.WriteByte(',')
			}
			client := fmt.Sprintf("agent-%d", j/10) // 10 events of each of 100 clients
			id := fmt.Sprintf("b%d-e%d", n, j)      // new ids every iteration
			ts := ts0 + n
			if k := j % 5; k == 0 {
				sb.WriteString(cum(client, id, ts, "key_0", 1.5))
			} else {
				sb.WriteString(series(client, id, ts, fmt.Sprintf("key_%d", k), float64(j)/8))
			}
		}
		sb.WriteByte(']')
		bodies[n] = []byte(sb.String())
		size += int64(len(bodies[n]))
	}
	if b.N > 0 {
		b.SetBytes(size / int64(b.N))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if rec := serveIngest(h, bodies[i]); rec.Code != http.StatusAccepted {
			b.Fatalf("request %d: status %d, want 202: %s", i, rec.Code, rec.Body)
		}
	}
	b.ReportMetric(float64(b.N*perBatch)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkIngestBatch1000Refused posts batches of 1,000 events that are
// all refused, for each kind of refusal: a refused event should cost no
// more than an accepted one (BenchmarkIngestBatch1000).
func BenchmarkIngestBatch1000Refused(b *testing.B) {
	const perBatch = 1000
	old := time.Now().Add(-2 * time.Hour).Unix()
	for _, bc := range []struct {
		name   string
		limits store.Limits
		ts     int64
		value  string
		status int
	}{
		{name: "invalid", ts: ts0, value: `"lots"`, status: http.StatusBadRequest},
		{name: "too_old", ts: old, value: "1.5", status: http.StatusBadRequest},
		{name: "storage_full", limits: store.Limits{MaxBytes: 1}, ts: ts0, value: "1.5", status: http.StatusInsufficientStorage},
	} {
		b.Run(bc.name, func(b *testing.B) {
			policy := store.Policy{Limits: bc.limits, Retention: time.Hour}
			if bc.ts != old {
				policy.Retention = 0
			}
			m := storetest.NewMemory(b, policy)
			srv, err := server.New(testConfig(), m, discardLogger())
			if err != nil {
				b.Fatalf("server.New: %v", err)
			}
			h := srv.Handler()
			var sb strings.Builder
			sb.WriteByte('[')
			for j := range perBatch {
				if j > 0 {
					sb.WriteByte(',')
				}
				fmt.Fprintf(&sb, `{"client_id":"agent-%d","event_id":"e%d","event_timestamp":%d,"event_type":"TIME-SERIES","event_key":"key_%d","event_value":%s}`,
					j/10, j, bc.ts, j%5, bc.value)
			}
			sb.WriteByte(']')
			body := []byte(sb.String())
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if rec := serveIngest(h, body); rec.Code != bc.status {
					b.Fatalf("request %d: status %d, want %d: %.300s", i, rec.Code, bc.status, rec.Body)
				}
			}
			b.ReportMetric(float64(b.N*perBatch)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
