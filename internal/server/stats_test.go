package server_test

import (
	"encoding/json"
	"net/http"
	"runtime"
	"strings"
	"testing"
)

// statsBody is the body of GET /api/v1/stats.
type statsBody struct {
	Clients    int   `json:"clients"`
	Events     int64 `json:"events"`
	Goroutines int   `json:"goroutines"`
	Memory     struct {
		HeapAllocBytes uint64 `json:"heap_alloc_bytes"`
		HeapInuseBytes uint64 `json:"heap_inuse_bytes"`
		SysBytes       uint64 `json:"sys_bytes"`
		RSSBytes       uint64 `json:"rss_bytes"`
	} `json:"memory"`
}

// stats fetches path (the stats endpoint with a query, if any), checks the
// status, the Content-Type and that every field is present, and decodes it.
func (a *api) stats(path string) statsBody {
	a.t.Helper()
	r := a.get(path)
	if r.status != http.StatusOK {
		a.t.Fatalf("GET %s: status %d, want 200; body %s", path, r.status, r.body)
	}
	checkJSONContentType(a.t, r)
	var fields struct {
		Top    map[string]json.RawMessage
		Memory map[string]json.RawMessage
	}
	if err := json.Unmarshal(r.body, &fields.Top); err != nil {
		a.t.Fatalf("GET %s: %s is not a JSON object: %v", path, r.body, err)
	}
	for _, name := range []string{"clients", "events", "goroutines", "memory"} {
		if _, ok := fields.Top[name]; !ok {
			a.t.Errorf("GET %s: body %s has no %q", path, r.body, name)
		}
	}
	if err := json.Unmarshal(fields.Top["memory"], &fields.Memory); err != nil {
		a.t.Fatalf("GET %s: memory in %s is not a JSON object: %v", path, r.body, err)
	}
	for _, name := range []string{"heap_alloc_bytes", "heap_inuse_bytes", "sys_bytes", "rss_bytes"} {
		if _, ok := fields.Memory[name]; !ok {
			a.t.Errorf("GET %s: memory in %s has no %q", path, r.body, name)
		}
	}
	var s statsBody
	if err := json.Unmarshal(r.body, &s); err != nil {
		a.t.Fatalf("GET %s: decoding %s: %v", path, r.body, err)
	}
	return s
}

// checkProcessStats checks the figures of the process: goroutines and memory.
func checkProcessStats(t *testing.T, s statsBody) {
	t.Helper()
	if s.Goroutines <= 0 {
		t.Errorf("goroutines = %d, want > 0", s.Goroutines)
	}
	if s.Memory.HeapAllocBytes == 0 {
		t.Errorf("heap_alloc_bytes = 0, want > 0")
	}
	if s.Memory.HeapInuseBytes == 0 {
		t.Errorf("heap_inuse_bytes = 0, want > 0")
	}
	if s.Memory.SysBytes == 0 {
		t.Errorf("sys_bytes = 0, want > 0")
	}
	if runtime.GOOS == "linux" && s.Memory.RSSBytes == 0 {
		t.Errorf("rss_bytes = 0 on linux, want > 0")
	}
}

var statsPaths = []string{
	"/api/v1/stats",
	"/api/v1/stats?gc=true",
	"/api/v1/stats?gc=false",
}

func TestStatsEmptyStore(t *testing.T) {
	for _, path := range statsPaths {
		t.Run(path, func(t *testing.T) {
			a := newDefaultAPI(t)
			s := a.stats(path)
			if s.Clients != 0 || s.Events != 0 {
				t.Errorf("clients/events = %d/%d, want 0/0", s.Clients, s.Events)
			}
			checkProcessStats(t, s)
		})
	}
}

func TestStatsCounts(t *testing.T) {
	a := newDefaultAPI(t)
	status, got := a.post(batch(
		cum("alpha", "e1", ts0, "requests", 1),        // accepted
		series("alpha", "e2", ts1, "cpu", 0.5),        // accepted
		cum("beta", "e1", ts0, "requests", 2),         // accepted
		cum("beta", "e1", ts0, "requests", 2),         // duplicate
		series("gamma", "e1", ts2, "cpu", 1),          // accepted
		cum("delta", "e1", ts0, "requests", "plenty"), // invalid: delta is never stored
	))
	wantStatus(t, status, http.StatusBadRequest)
	wantSummary(t, got, 4, 1, 1)
	status, got = a.postNDJSON(ndjson(
		cum("alpha", "e1", ts0, "requests", 1), // duplicate
		cum("alpha", "e3", ts1, "requests", 3), // accepted
		cum("alpha", "e1", ts0, "requests", 9), // conflict
		"",
		series("gamma", "e2", ts3, "cpu", 2), // accepted
	))
	wantStatus(t, status, http.StatusConflict)
	wantSummary(t, got, 2, 1, 1)

	for _, path := range statsPaths {
		t.Run(path, func(t *testing.T) {
			s := a.stats(path)
			if s.Clients != 3 {
				t.Errorf("clients = %d, want 3 (alpha, beta, gamma)", s.Clients)
			}
			if s.Events != 6 {
				t.Errorf("events = %d, want the 6 accepted", s.Events)
			}
			checkProcessStats(t, s)
		})
	}
}

func TestStatsWrongMethod(t *testing.T) {
	for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch} {
		t.Run(method, func(t *testing.T) {
			a := newDefaultAPI(t)
			r := a.do(method, "/api/v1/stats", strings.NewReader(cum("agent-1", "e1", ts0, "requests", 1)),
				map[string]string{"Content-Type": "application/json"})
			wantStatus(t, r.status, http.StatusMethodNotAllowed)
			e := decodeError(t, r)
			if e.Code != "method_not_allowed" {
				t.Errorf("error code = %q, want method_not_allowed", e.Code)
			}
			if allow := r.header.Get("Allow"); !strings.Contains(allow, http.MethodGet) {
				t.Errorf("Allow = %q, want it to list GET", allow)
			}
			a.wantNoClients()
		})
	}
}

// TestStatsGCParameter checks that gc takes the forms strconv.ParseBool
// reads, and that any other value is refused with 400 invalid naming gc,
// rather than taken for false.
func TestStatsGCParameter(t *testing.T) {
	a := newDefaultAPI(t)
	for _, v := range []string{"", "true", "false", "1", "0", "TRUE", "f"} {
		t.Run("gc="+v, func(t *testing.T) {
			checkProcessStats(t, a.stats("/api/v1/stats?gc="+v))
		})
	}
	for _, v := range []string{"maybe", "yes", "2", "%20true"} {
		t.Run("gc="+v, func(t *testing.T) {
			r := a.get("/api/v1/stats?gc=" + v)
			wantStatus(t, r.status, http.StatusBadRequest)
			e := decodeError(t, r)
			if e.Code != "invalid" {
				t.Errorf("error code = %q, want invalid", e.Code)
			}
			if !strings.HasPrefix(e.Message, "gc: ") {
				t.Errorf("error message %q does not name the parameter gc", e.Message)
			}
		})
	}
}
