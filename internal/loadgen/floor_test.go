package loadgen

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/montool/montool/internal/event"
)

const floorEvent = `{"client_id":"c1","event_id":"e1","event_timestamp":1763850000,"event_type":"CUMULATIVE","event_key":"k","event_value":3}`

func gzipped(t *testing.T, s string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestFloorHandlers(t *testing.T) {
	tests := []struct {
		name         string
		handler      http.Handler
		body         []byte
		contentType  string
		gzip         bool
		wantStatus   int
		wantAccepted int
	}{
		{name: "decode a batch", handler: DecodeHandler(), body: []byte("[" + floorEvent + "," + floorEvent + "," + floorEvent + "]"), wantStatus: 202, wantAccepted: 3},
		{name: "decode one event", handler: DecodeHandler(), body: []byte(floorEvent), wantStatus: 202, wantAccepted: 1},
		{name: "decode ndjson", handler: DecodeHandler(), body: []byte(floorEvent + "\n\n" + floorEvent + "\n"), contentType: "application/x-ndjson", wantStatus: 202, wantAccepted: 2},
		{name: "decode gzip", handler: DecodeHandler(), body: gzipped(t, "["+floorEvent+","+floorEvent+"]"), gzip: true, wantStatus: 202, wantAccepted: 2},
		{name: "decode refuses bad JSON", handler: DecodeHandler(), body: []byte(`[{"client_id":`), wantStatus: 400},
		{name: "decode refuses an array of numbers", handler: DecodeHandler(), body: []byte(`[1,2]`), wantStatus: 400},
		{name: "decode refuses bad gzip", handler: DecodeHandler(), body: []byte("not gzip"), gzip: true, wantStatus: 400},
		{name: "decode refuses a bad ndjson line", handler: DecodeHandler(), body: []byte(floorEvent + "\nnope\n"), contentType: "application/x-ndjson", wantStatus: 400},
		{name: "decode refuses a body over 8 MiB", handler: DecodeHandler(), body: bytes.Repeat([]byte(" "), floorMaxBody+1), wantStatus: 413},
		{name: "drop takes anything", handler: DropHandler(), body: []byte("anything at all"), wantStatus: 202, wantAccepted: 1},
		{name: "drop takes an empty body", handler: DropHandler(), wantStatus: 202, wantAccepted: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, EventsPath, bytes.NewReader(tt.body))
			ct := tt.contentType
			if ct == "" {
				ct = "application/json"
			}
			req.Header.Set("Content-Type", ct)
			if tt.gzip {
				req.Header.Set("Content-Encoding", "gzip")
			}
			rec := httptest.NewRecorder()
			tt.handler.ServeHTTP(rec, req)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.wantStatus, rec.Body)
			}
			if got := rec.Header().Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type %q", got)
			}
			var ans event.Summary
			if err := json.Unmarshal(rec.Body.Bytes(), &ans); err != nil {
				t.Fatalf("answer is not JSON: %v: %s", err, rec.Body)
			}
			if tt.wantStatus == 202 && ans.Accepted != tt.wantAccepted {
				t.Errorf("accepted %d, want %d", ans.Accepted, tt.wantAccepted)
			}
			if tt.wantStatus != 202 && !strings.Contains(rec.Body.String(), `"error"`) {
				t.Errorf("an error answer without an error: %s", rec.Body)
			}
		})
	}
}

func TestFloorServer(t *testing.T) {
	for _, mode := range []FloorMode{FloorDecode, FloorDrop} {
		t.Run(mode.String(), func(t *testing.T) {
			f := newFloor(t, mode)
			if !strings.HasPrefix(f.URL(), "http://127.0.0.1:") {
				t.Errorf("URL %q is not on 127.0.0.1", f.URL())
			}
			batch := 100
			if mode == FloorDrop {
				batch = 1
			}
			res, err := Run(t.Context(), smallConfig(500, batch), Target{Name: "floor", URL: f.URL()})
			if err != nil {
				t.Fatal(err)
			}
			if res.Events != 500 || res.Failed() != 0 || res.Statuses[202] != res.Requests {
				t.Errorf("events %d, failed %d, statuses %v", res.Events, res.Failed(), res.Statuses)
			}
			resp, err := http.Get(f.URL() + "/healthz")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("healthz: %d", resp.StatusCode)
			}
			if err := f.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
			if _, err := http.Get(f.URL() + "/healthz"); err == nil {
				t.Error("the floor still answers after Close")
			}
		})
	}
	if FloorModeFor(1) != FloorDrop || FloorModeFor(2) != FloorDecode {
		t.Error("FloorModeFor: want drop for single events, decode for batches")
	}
}
