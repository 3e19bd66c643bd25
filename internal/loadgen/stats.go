package loadgen

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// ServerStats is what a run reads of a montool server's GET
// /api/v1/stats: the part of its answer that the report shows. The server
// keeps its answer's type to itself, and a load generator that drives any
// server over HTTP should not need the server's package to read it, so it
// decodes the fields it needs here.
type ServerStats struct {
	Clients int   `json:"clients"`
	Events  int64 `json:"events"`
	Memory  struct {
		HeapAllocBytes uint64 `json:"heap_alloc_bytes"`
		RSSBytes       uint64 `json:"rss_bytes"`
	} `json:"memory"`
}

// fetchStats reads the server's stats after a garbage collection, so that
// the memory figures are of what is live.
func fetchStats(ctx context.Context, client *http.Client, base string) (*ServerStats, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/stats?gc=true", nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("read the server's stats: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return nil, fmt.Errorf("read the server's stats: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("read the server's stats: GET /api/v1/stats answered HTTP %d: %s", resp.StatusCode, snippet(raw))
	}
	var st ServerStats
	if err := json.Unmarshal(raw, &st); err != nil {
		return nil, fmt.Errorf("read the server's stats: %w", err)
	}
	return &st, nil
}
