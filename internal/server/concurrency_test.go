package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"
)

// TestIngestDedupeIsAtomic has 32 goroutines post the same 200 events at the
// same moment, each in its own way: one at a time, in one batch, in batches
// of 50 (last event first), in batches of 7. Each event must be accepted
// exactly once.
func TestIngestDedupeIsAtomic(t *testing.T) {
	t.Parallel()
	const (
		workers = 32
		nEvents = 200
	)
	// Event i is from agent-1 (i even) or agent-2 (i odd); events with
	// i%4 < 2 add 0.1 to the CUMULATIVE key "hits", the others are samples
	// of the TIME-SERIES key "latency" at ts0+i with value i.
	events := make([]string, nEvents)
	for i := range events {
		client := []string{"agent-1", "agent-2"}[i%2]
		id := fmt.Sprintf("e%d", i)
		if i%4 < 2 {
			events[i] = cum(client, id, ts0+i, "hits", 0.1)
		} else {
			events[i] = series(client, id, ts0+i, "latency", i)
		}
	}
	reversed := slices.Clone(events)
	slices.Reverse(reversed)

	// bodies returns what worker w posts.
	bodies := func(w int) []string {
		var out []string
		chunk := func(evs []string, size int) {
			for start := 0; start < len(evs); start += size {
				out = append(out, batch(evs[start:min(start+size, len(evs))]...))
			}
		}
		switch w % 4 {
		case 0:
			out = slices.Clone(events) // single objects
		case 1:
			chunk(events, nEvents)
		case 2:
			chunk(reversed, 50)
		case 3:
			chunk(events, 7)
		}
		return out
	}

	a := newDefaultAPI(t)
	a.client = &http.Client{
		Transport: &http.Transport{MaxIdleConnsPerHost: workers},
		Timeout:   60 * time.Second,
	}
	t.Cleanup(a.client.CloseIdleConnections)

	type tally struct{ accepted, duplicates, rejected, requests int }
	results := make([]tally, workers)
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	for w := range workers {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			todo := bodies(w)
			ready.Done()
			<-start
			for _, body := range todo {
				status, got, err := postConcurrently(a, body)
				if err != nil {
					t.Errorf("worker %d: %v", w, err)
					return
				}
				if status != http.StatusOK && status != http.StatusAccepted {
					t.Errorf("worker %d: status %d, want 200 or 202 (answer %+v)", w, status, got)
				}
				results[w].accepted += got.Accepted
				results[w].duplicates += got.Duplicates
				results[w].rejected += got.Rejected
				results[w].requests++
			}
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()

	var sum tally
	for _, r := range results {
		sum.accepted += r.accepted
		sum.duplicates += r.duplicates
		sum.rejected += r.rejected
		sum.requests += r.requests
	}
	if sum.accepted != 200 {
		t.Errorf("accepted in all = %d, want 200", sum.accepted)
	}
	if sum.duplicates != 32*200-200 {
		t.Errorf("duplicates in all = %d, want %d", sum.duplicates, 32*200-200)
	}
	if sum.rejected != 0 {
		t.Errorf("rejected in all = %d, want 0", sum.rejected)
	}
	t.Logf("%d requests", sum.requests)

	wantClients := []clientInfo{{"agent-1", 100}, {"agent-2", 100}}
	if got := a.clients(); !slices.Equal(got, wantClients) {
		t.Errorf("clients = %+v, want %+v", got, wantClients)
	}
	for c, client := range []string{"agent-1", "agent-2"} {
		d, _ := a.dump(client)
		// 50 times 0.1, the latest at ts0+196 (agent-1) or ts0+197 (agent-2).
		wantTotal := total{client, "CUMULATIVE", "hits", "5", 50, json.Number(fmt.Sprint(1763850196 + c))}
		if got := d.total(t, "hits"); got != wantTotal {
			t.Errorf("%s hits = %+v, want %+v", client, got, wantTotal)
		}
		got := d.samples(t, "latency")
		if len(got) != 50 {
			t.Errorf("%s latency has %d samples, want 50", client, len(got))
			continue
		}
		for k := range 50 {
			i := 4*k + 2 + c // agent-1 holds events 2, 6, 10, …; agent-2 3, 7, 11, …
			want := sample{client, fmt.Sprintf("e%d", i), json.Number(fmt.Sprint(1763850000 + i)), "TIME-SERIES", "latency", json.Number(fmt.Sprint(i))}
			if got[k] != want {
				t.Errorf("%s latency[%d] = %+v, want %+v", client, k, got[k], want)
			}
		}
	}
}

// postConcurrently posts body from a goroutine other than the test's.
func postConcurrently(a *api, body string) (int, ingestResponse, error) {
	resp, err := a.client.Post(a.url+"/api/v1/events", "application/json", bytes.NewReader([]byte(body)))
	if err != nil {
		return 0, ingestResponse{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, ingestResponse{}, err
	}
	var got ingestResponse
	if err := json.Unmarshal(raw, &got); err != nil {
		return resp.StatusCode, got, fmt.Errorf("answer %q: %v", raw, err)
	}
	return resp.StatusCode, got, nil
}
