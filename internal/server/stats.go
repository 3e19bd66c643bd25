package server

import (
	"bytes"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"

	"github.com/montool/montool/internal/event"
)

// statsResponse is the body of GET /api/v1/stats: what the store holds and
// what the process uses, for load tools and people.
type statsResponse struct {
	Clients int   `json:"clients"`
	Events  int64 `json:"events"`
	// StoreBytes is about how much memory the stored events take, as the
	// store counts it against its max_memory.
	StoreBytes int64 `json:"store_bytes"`
	// RateLimitBuckets is the number of clients the rate limit tracks:
	// those that sent events it took lately.
	RateLimitBuckets int         `json:"rate_limit_buckets"`
	Goroutines       int         `json:"goroutines"`
	Memory           memoryStats `json:"memory"`
}

type memoryStats struct {
	// HeapAllocBytes is the size of live heap objects (and garbage not yet
	// collected, unless the request asked for a collection first).
	HeapAllocBytes uint64 `json:"heap_alloc_bytes"`
	// HeapInuseBytes is the size of heap spans in use.
	HeapInuseBytes uint64 `json:"heap_inuse_bytes"`
	// SysBytes is all the memory the Go runtime has from the OS.
	SysBytes uint64 `json:"sys_bytes"`
	// RSSBytes is the resident set size of the process, where the OS tells
	// it (Linux); 0 elsewhere.
	RSSBytes uint64 `json:"rss_bytes"`
}

// handleStats answers with the store's size and the process's memory. With
// ?gc=true it first collects garbage and returns freed memory to the OS, so
// that the figures show what is live. debug.FreeOSMemory collects a second
// time: the pooled buffers of past requests (sync.Pool) survive one
// collection.
func (s *Server) handleStats() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		gc, err := parseGC(r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if gc {
			runtime.GC()
			debug.FreeOSMemory()
		}
		clients, err := s.store.Clients(r.Context())
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		resp := statsResponse{Clients: len(clients), Goroutines: runtime.NumGoroutine()}
		if b, ok := s.store.(Sizer); ok {
			resp.StoreBytes = b.Bytes()
		}
		if l := s.live.Load().limiter; l != nil {
			resp.RateLimitBuckets = l.buckets()
		}
		for _, c := range clients {
			resp.Events += c.Events
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		resp.Memory = memoryStats{
			HeapAllocBytes: ms.HeapAlloc,
			HeapInuseBytes: ms.HeapInuse,
			SysBytes:       ms.Sys,
			RSSBytes:       residentBytes(),
		}
		writeJSON(w, http.StatusOK, resp)
	}
}

// parseGC reads the gc query parameter of the stats: true or false, as
// strconv.ParseBool reads them; absent or empty is false.
func parseGC(r *http.Request) (bool, error) {
	v := r.URL.Query().Get("gc")
	if v == "" {
		return false, nil
	}
	gc, err := strconv.ParseBool(v)
	if err != nil {
		return false, &event.Error{Kind: event.ErrInvalid, Field: "gc", Message: "must be true or false, not " + strconv.Quote(v)}
	}
	return gc, nil
}

// residentBytes returns the resident set size of the process from
// /proc/self/statm, or 0 where there is none.
func residentBytes() uint64 {
	statm, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	fields := bytes.Fields(statm)
	if len(fields) < 2 {
		return 0
	}
	pages, err := strconv.ParseUint(string(fields[1]), 10, 64)
	if err != nil {
		return 0
	}
	return pages * uint64(os.Getpagesize())
}
