package server

import (
	"testing"
	"time"

	"github.com/montool/montool/internal/event"
)

// TestLimiterDropsFullBuckets checks that buckets that have refilled are
// dropped by the next sweep, and the others kept with their tokens.
func TestLimiterDropsFullBuckets(t *testing.T) {
	l := newLimiter(1, 100) // refills in 100 s; sweeps every minute at the soonest
	t0 := time.Unix(1_700_000_000, 0)
	if ok, _, _ := l.take(map[string]int{"idle": 100}, t0); !ok {
		t.Fatal("the first take was refused")
	}
	drained := t0.Add(l.sweepEvery - time.Second)
	if ok, _, _ := l.take(map[string]int{"busy": 100}, drained); !ok {
		t.Fatal("the take of busy was refused")
	}
	if got := l.buckets(); got != 2 {
		t.Fatalf("%d buckets before the sweep, want 2", got)
	}
	// The next take after sweepEvery sweeps each shard it reaches; take
	// from every client so that both shards are swept.
	later := t0.Add(l.sweepEvery + time.Second)
	l.take(map[string]int{"idle": 1}, later)
	l.take(map[string]int{"busy": 1}, later)
	if got := l.buckets(); got != 2 { // idle was swept, then made again by its take
		t.Fatalf("%d buckets after the sweep and two takes, want 2", got)
	}
	// busy had 2 s to refill 100 tokens: it is short, not made anew.
	if ok, _, _ := l.take(map[string]int{"busy": 10}, later); ok {
		t.Error("busy got 10 more tokens: its bucket was dropped while it was not full")
	}
	if ok, _, _ := l.take(map[string]int{"idle": 10}, later); !ok {
		t.Error("idle was refused 10 tokens: its bucket was kept though it had refilled")
	}
}

// TestLimiterSettle checks that buckets made for clients that the store
// took nothing of are dropped, and the others kept.
func TestLimiterSettle(t *testing.T) {
	l := newLimiter(10, 10)
	now := time.Unix(1_700_000_000, 0)
	ok, _, made := l.take(map[string]int{"taken": 1, "refused": 1}, now)
	if !ok || len(made) != 2 {
		t.Fatalf("take: ok %v, made %v", ok, made)
	}
	events := []event.Event{{ClientID: "taken"}, {ClientID: "refused"}}
	results := []event.Result{{}, {Err: &event.Error{Kind: event.ErrLimit}}}
	l.settle(made, events, results)
	if got := l.buckets(); got != 1 {
		t.Errorf("%d buckets after settle, want 1 (taken's)", got)
	}
	// A request refused for its rate leaves no bucket for the clients of
	// it that had tokens.
	l.take(map[string]int{"taken": 9}, now)
	if ok, _, made := l.take(map[string]int{"taken": 5, "new": 1}, now); ok || made != nil {
		t.Fatalf("an over-rate take: ok %v, made %v", ok, made)
	}
	if got := l.buckets(); got != 1 {
		t.Errorf("%d buckets after a refused take, want 1", got)
	}
}
