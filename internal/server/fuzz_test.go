package server_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/montool/montool/internal/server"
	"github.com/montool/montool/internal/store"
	"github.com/montool/montool/internal/storetest"
)

// FuzzIngest posts any bytes, with any Content-Type and Content-Encoding,
// to the events endpoint: the server must answer every one with a status
// it documents and a JSON body, never a 500 (a panic caught by the last
// line of defence would be one), and what it says it accepted must be in
// the store.
func FuzzIngest(f *testing.F) {
	for _, seed := range []struct {
		body, contentType, contentEncoding string
	}{
		{`{"client_id":"a","event_id":"e1","event_timestamp":1763850000,"event_type":"CUMULATIVE","event_key":"k","event_value":1}`, "application/json", ""},
		{`[{"client_id":"a","event_id":"e1","event_timestamp":1763850000,"event_type":"TIME-SERIES","event_key":"k","event_value":1.5},{"client_id":"b","event_id":"e1","event_timestamp":"1763850000123","event_type":"cumulative","event_key":"k","event_value":"2"}]`, "application/json; charset=utf-8", ""},
		{"{\"client_id\":\"a\",\"event_id\":\"e1\",\"event_timestamp\":1,\"event_type\":\"CUMULATIVE\",\"event_key\":\"k\",\"event_value\":1}\n{}\n", "application/x-ndjson", ""},
		{"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff", "application/json", "gzip"},
		{`[]`, "", ""},
		{`{"client_id":"a","event_id":"e1","event_timestamp":1e400,"event_type":"X","event_key":"","event_value":null}`, "text/plain", "br"},
	} {
		f.Add([]byte(seed.body), seed.contentType, seed.contentEncoding)
	}
	m := storetest.NewMemory(f, store.Policy{})
	srv, err := server.New(testConfig(), m, discardLogger())
	if err != nil {
		f.Fatal(err)
	}
	h := srv.Handler()
	documented := map[int]bool{200: true, 202: true, 400: true, 409: true, 413: true, 415: true}
	stored := func(t *testing.T) int64 {
		clients, err := m.Clients(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		var n int64
		for _, c := range clients {
			n += c.Events
		}
		return n
	}
	f.Fuzz(func(t *testing.T, body []byte, contentType, contentEncoding string) {
		before := stored(t)
		req := httptest.NewRequest(http.MethodPost, "/api/v1/events", bytes.NewReader(body))
		req.RemoteAddr = "127.0.0.1:1234"
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		if contentEncoding != "" {
			req.Header.Set("Content-Encoding", contentEncoding)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if !documented[w.Code] {
			t.Fatalf("status %d for %q (%q, %q); body %s", w.Code, body, contentType, contentEncoding, w.Body)
		}
		var answer struct {
			Accepted *int `json:"accepted"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &answer); err != nil || answer.Accepted == nil {
			t.Fatalf("status %d with a body that is not an ingest answer: %q (%v)", w.Code, w.Body, err)
		}
		if got := stored(t) - before; got != int64(*answer.Accepted) {
			t.Fatalf("answer says %d accepted, the store took %d; body %s", *answer.Accepted, got, w.Body)
		}
	})
}
