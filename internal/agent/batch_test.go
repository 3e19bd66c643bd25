package agent_test

import (
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/montool/montool/internal/agent"
	"github.com/montool/montool/internal/event"
)

// batchConfig returns a fast configuration of one agent sending batches of
// n. Its flush interval is long enough that only a full batch, or the end of
// the run, sends one.
func batchConfig(n int, keys ...agent.KeySpec) agent.Config {
	cfg := testConfig(keys...)
	cfg.Rate, cfg.Batch, cfg.Gzip, cfg.FlushInterval = 200, n, true, waitLimit
	return cfg
}

// postsOf returns the POSTs the proxy saw from one client, in order.
func postsOf(p *proxy, clientID string) []postSeen {
	var out []postSeen
	for _, ps := range p.postsSeen() {
		if ps.clientID == clientID {
			out = append(out, ps)
		}
	}
	return out
}

// eventIDsOf returns the event ids of posts, in order.
func eventIDsOf(posts []postSeen) []string {
	var ids []string
	for _, ps := range posts {
		ids = append(ids, ps.ids...)
	}
	return ids
}

// sampleIDs returns the ids of every TIME-SERIES sample of d, with how often
// each occurs.
func sampleIDs(d *event.Dump) map[string]int {
	ids := map[string]int{}
	for _, s := range d.Series {
		for _, smp := range s.Samples {
			ids[smp.ID]++
		}
	}
	return ids
}

func TestBatchAgainstRealServer(t *testing.T) {
	const n = 10
	p := newProxy(realHandler(t), math.MaxInt64, nil)
	ts := startServer(t, p)
	keys := agent.DefaultKeys()
	cfg := batchConfig(n, keys...)
	cfg.Count, cfg.Duration = 3, 300*time.Millisecond
	f := newFleet(t, cfg, ts.URL)
	p.serve(f)

	if err := runToEnd(t, f); err != nil {
		t.Fatalf("Run: %v", err)
	}
	c := newClient(t, ts.URL)
	for _, a := range f.Agents() {
		s := a.Stats()
		checkStatsAddUp(t, s)
		if s.Accepted != s.Sent || s.Duplicates != 0 || s.Rejected != 0 || s.Errors != 0 || s.Retries != 0 {
			t.Errorf("agent %s: stats %+v; want every event accepted at the first attempt", s.ClientID, s)
		}
		posts := postsOf(p, a.ClientID())
		ids := eventIDsOf(posts)
		if int64(len(ids)) != s.Sent {
			t.Errorf("agent %s: the server saw %d events, the agent sent %d", s.ClientID, len(ids), s.Sent)
		}
		if len(posts) == 0 || len(posts) >= len(ids) {
			t.Errorf("agent %s: %d requests for %d events, want fewer requests than events", s.ClientID, len(posts), len(ids))
		}
		for i, ps := range posts {
			if !ps.gzip {
				t.Errorf("agent %s: request %d was not gzip", s.ClientID, i+1)
			}
			last := i == len(posts)-1
			if got := len(ps.ids); (!last && got != n) || (last && (got < 1 || got > n)) {
				t.Errorf("agent %s: request %d of %d holds %d events; want %d, or 1 to %d for the last", s.ClientID, i+1, len(posts), got, n, n)
			}
		}
		if len(slices.Compact(slices.Sorted(slices.Values(ids)))) != len(ids) {
			t.Errorf("agent %s: an event id was sent twice", s.ClientID)
		}
		checkDump(t, dumpOf(t, c, a.ClientID()), keys, s.Accepted)
	}
}

// TestBatchRetrySendsTheSameBatch loses the answer to a batch the server
// applied: the retry carries the same events, and counts them as duplicates.
func TestBatchRetrySendsTheSameBatch(t *testing.T) {
	const n = 5
	h := realHandler(t)
	// POST 1 is applied but its answer lost, POST 2 is its retry, POST 3 a new batch.
	p := newProxy(h, 3, killAfterApply(t, h))
	ts := startServer(t, p)
	keys := []agent.KeySpec{gaugeKey, counterKey}
	f := newFleet(t, batchConfig(n, keys...), ts.URL)
	p.serve(f)

	if err := runUntil(t, f, p.done); err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
	a := f.Agents()[0]
	s := a.Stats()
	checkStatsAddUp(t, s)
	if s.Duplicates != n {
		t.Errorf("duplicates = %d, want %d (the retried batch whose answer was lost)", s.Duplicates, n)
	}
	if s.Retries < 1 || s.Errors != 0 || s.Rejected != 0 {
		t.Errorf("stats = %+v; want a retry and no errors or rejections", s)
	}
	posts := postsOf(p, a.ClientID())
	if len(posts) < 3 {
		t.Fatalf("the server saw %d POSTs of the agent, want at least 3", len(posts))
	}
	if len(posts[0].ids) != n || !slices.Equal(posts[1].ids, posts[0].ids) {
		t.Errorf("POST 2 carries events %q, want the retry of POST 1's %d events %q", posts[1].ids, n, posts[0].ids)
	}
	if !posts[0].gzip || !posts[1].gzip {
		t.Errorf("gzip of POST 1, 2 = %v, %v; want both gzip", posts[0].gzip, posts[1].gzip)
	}

	// The server holds every event once, the lost batch included.
	d := dumpOf(t, newClient(t, ts.URL), a.ClientID())
	checkDump(t, d, keys, s.Sent)
	for id, copies := range sampleIDs(d) {
		if copies != 1 {
			t.Errorf("event %s is in the dump %d times, want 1", id, copies)
		}
	}
}

// TestBatchPartialFlushedAtEnd stops the agent before its batch fills: what
// it holds is still sent, in one request.
func TestBatchPartialFlushedAtEnd(t *testing.T) {
	tests := []struct {
		name     string
		duration time.Duration // the run's Duration
		ctxAfter time.Duration // when the context ends, as Ctrl-C would; 0 for never
	}{
		{name: "duration ends", duration: 150 * time.Millisecond},
		{name: "context ends", ctxAfter: 150 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newProxy(realHandler(t), math.MaxInt64, nil)
			ts := startServer(t, p)
			cfg := batchConfig(1000) // 200 events/s: a batch fills in 5s
			cfg.Duration = tt.duration
			f := newFleet(t, cfg, ts.URL)
			p.serve(f)

			ctx := t.Context()
			if tt.ctxAfter > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.ctxAfter)
				defer cancel()
			}
			res := make(chan error, 1)
			go func() { res <- f.Run(ctx) }()
			select {
			case err := <-res:
				if err != nil {
					t.Fatalf("Run: %v", err)
				}
			case <-time.After(waitLimit):
				t.Fatalf("Run did not stop within %s", waitLimit)
			}

			a := f.Agents()[0]
			s := a.Stats()
			checkStatsAddUp(t, s)
			if s.Sent < 1 || s.Sent >= 1000 || s.Accepted != s.Sent {
				t.Errorf("stats = %+v; want a partial batch sent and all of it accepted", s)
			}
			posts := postsOf(p, a.ClientID())
			if len(posts) != 1 || int64(len(posts[0].ids)) != s.Sent {
				t.Errorf("the server saw %d POSTs, want 1 holding the %d events sent", len(posts), s.Sent)
			}
			checkDump(t, dumpOf(t, newClient(t, ts.URL), a.ClientID()), cfg.Keys, s.Sent)
		})
	}
}

// TestBatchFlushInterval sends batches that never fill: each goes when its
// first event has waited FlushInterval.
func TestBatchFlushInterval(t *testing.T) {
	const interval = 50 * time.Millisecond
	p := newProxy(realHandler(t), 3, nil)
	ts := startServer(t, p)
	cfg := testConfig()
	cfg.Rate, cfg.Batch, cfg.FlushInterval = 100, agent.MaxBatch, interval // plain JSON
	f := newFleet(t, cfg, ts.URL)
	p.serve(f)

	if err := runUntil(t, f, p.done); err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
	a := f.Agents()[0]
	s := a.Stats()
	checkStatsAddUp(t, s)
	if s.Accepted != s.Sent || s.Errors != 0 {
		t.Errorf("stats = %+v; want every event accepted", s)
	}
	posts := postsOf(p, a.ClientID())
	if len(posts) < 3 {
		t.Fatalf("the server saw %d POSTs before the run was stopped, want 3", len(posts))
	}
	for i, ps := range posts[:3] {
		if ps.gzip {
			t.Errorf("POST %d is gzip; want plain JSON", i+1)
		}
		if len(ps.ids) < 1 || len(ps.ids) >= agent.MaxBatch {
			t.Errorf("POST %d holds %d events; want a batch that is not full", i+1, len(ps.ids))
		}
		// The next batch starts after this one is sent, and waits the interval.
		if i > 0 {
			if gap := ps.at.Sub(posts[i-1].at); gap < interval {
				t.Errorf("POST %d came %s after POST %d, want at least the flush interval %s", i+1, gap, i, interval)
			}
		}
	}
}

// TestBatchRejectedEventsAreCounted sends batches some of whose events the
// server rejects: it answers 409 with a summary, which is counted and not
// retried.
func TestBatchRejectedEventsAreCounted(t *testing.T) {
	ts := startServer(t, realHandler(t))
	cfg := batchConfig(10, gaugeKey, counterKey)
	cfg.Duration = 300 * time.Millisecond
	f := newFleet(t, cfg, ts.URL)
	a := f.Agents()[0]

	// The agent's gauge key is already a counter for its client: every gauge
	// event it sends is a conflict.
	c := newClient(t, ts.URL)
	taken := event.Event{ClientID: a.ClientID(), ID: "taken", Timestamp: event.FromTime(time.Now()), Type: event.Cumulative, Key: gaugeKey.Name, Value: 1}
	if _, err := c.Send(t.Context(), taken); err != nil {
		t.Fatalf("Send: %v", err)
	}

	if err := runToEnd(t, f); err != nil {
		t.Fatalf("Run: %v", err)
	}
	s := a.Stats()
	checkStatsAddUp(t, s)
	if s.Rejected < 1 || s.Accepted < 1 {
		t.Errorf("stats = %+v; want gauge events rejected and counter events accepted", s)
	}
	if s.Retries != 0 || s.Errors != 0 || s.Duplicates != 0 {
		t.Errorf("stats = %+v; want no retries, errors or duplicates: a rejection is an answer", s)
	}
	infos, err := c.Clients(t.Context())
	if err != nil {
		t.Fatalf("Clients: %v", err)
	}
	if len(infos) != 1 || infos[0].Events != s.Accepted+1 {
		t.Errorf("the server holds %+v, want %d events for %s: the accepted ones and the one sent first", infos, s.Accepted+1, a.ClientID())
	}
}

// TestBatchRefusedAsAWhole answers every batch with 413 and no counts: each
// event of it is an error, and it is not retried.
func TestBatchRefusedAsAWhole(t *testing.T) {
	const n = 5
	p := newProxy(realHandler(t), 2, func(_ int64, w http.ResponseWriter, _ *http.Request) bool {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		io.WriteString(w, `{"accepted":0,"duplicates":0,"rejected":0,"errors":[],"error":{"code":"too_large","message":"request body is too large"}}`)
		return true
	})
	ts := startServer(t, p)
	f := newFleet(t, batchConfig(n), ts.URL)
	p.serve(f)

	err := runUntil(t, f, p.done)
	if !errors.Is(err, event.ErrTooLarge) {
		t.Errorf("Run = %v; want an error saying no event reached the server, matching event.ErrTooLarge", err)
	}
	a := f.Agents()[0]
	s := a.Stats()
	checkStatsAddUp(t, s)
	if s.Sent < 2*n || s.Errors != s.Sent || s.Retries != 0 {
		t.Errorf("stats = %+v; want at least %d events sent, each an error, and no retries", s, 2*n)
	}
	posts := postsOf(p, a.ClientID())
	if len(posts) < 2 {
		t.Fatalf("the server saw %d POSTs of the agent, want at least 2", len(posts))
	}
	for i, ps := range posts[:2] {
		if len(ps.ids) != n {
			t.Errorf("POST %d holds %d events, want %d", i+1, len(ps.ids), n)
		}
	}
}

// TestBatchAnswerCountingTooFew answers the first batch with a summary that
// counts fewer events than it held: the events left out are errors, so that
// every event sent is still counted once.
func TestBatchAnswerCountingTooFew(t *testing.T) {
	const n = 5
	p := newProxy(realHandler(t), 2, func(i int64, w http.ResponseWriter, _ *http.Request) bool {
		if i > 1 {
			return false
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, `{"accepted":2,"duplicates":0,"rejected":0,"errors":[]}`)
		return true
	})
	ts := startServer(t, p)
	f := newFleet(t, batchConfig(n), ts.URL)
	p.serve(f)

	if err := runUntil(t, f, p.done); err != nil {
		t.Errorf("Run = %v, want nil: some events were answered", err)
	}
	s := f.Agents()[0].Stats()
	checkStatsAddUp(t, s)
	if s.Errors != n-2 || s.Accepted != s.Sent-(n-2) || s.Retries != 0 {
		t.Errorf("stats = %+v; want %d errors (of the first batch), every other event accepted, no retries", s, n-2)
	}
}
