package storetest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/montool/montool/internal/event"
	"github.com/montool/montool/internal/server"
	"github.com/montool/montool/internal/store"
)

// Factory returns a new, empty store that is ready to use, with policy p,
// and closes it when t ends.
type Factory func(t *testing.T, p store.Policy) server.Store

// Run runs the conformance suite of the Store contract against the stores
// that newStore makes: dedupe, conflicts, exact sums, the order of
// samples, deletion, the client list, limits, retention and concurrent
// dedupe. Every store implementation runs it, so that each gives the same
// answers as the others.
func Run(t *testing.T, newStore Factory) {
	tests := []struct {
		name string
		run  func(*testing.T, Factory)
	}{
		{"CumulativeSumsExactly", testCumulativeSumsExactly},
		{"TimeSeriesInTimestampOrder", testTimeSeriesInTimestampOrder},
		{"Duplicate", testDuplicate},
		{"Conflicts", testConflicts},
		{"ClientsApart", testClientsApart},
		{"Delete", testDelete},
		{"Clients", testClients},
		{"NotFound", testNotFound},
		{"Limits", testLimits},
		{"Retention", testRetention},
		{"ConcurrentDedupe", testConcurrentDedupe},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, newStore) })
	}
}

// base is the timestamp of the suite's events: recent, so that a
// retention of an hour keeps them.
var base = event.FromTime(time.Now().Add(-10 * time.Minute).Truncate(time.Second))

func at(sec int64) event.Timestamp { return base + event.Timestamp(sec)*event.Timestamp(time.Second) }

func cumulative(client, id, key string, ts event.Timestamp, v float64) event.Event {
	return event.Event{ClientID: client, ID: id, Timestamp: ts, Type: event.Cumulative, Key: key, Value: v}
}

func timeSeries(client, id, key string, ts event.Timestamp, v float64) event.Event {
	return event.Event{ClientID: client, ID: id, Timestamp: ts, Type: event.TimeSeries, Key: key, Value: v}
}

// apply applies events and fails t if the store fails as a whole.
func apply(t *testing.T, st server.Store, events ...event.Event) []event.Result {
	t.Helper()
	results, err := st.Apply(context.Background(), events)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if len(results) != len(events) {
		t.Fatalf("Apply of %d events: %d results", len(events), len(results))
	}
	return results
}

// outcome is what became of one event: "accepted", "duplicate", or the
// error code and field of its refusal, such as "conflict event_id".
func outcome(r event.Result) string {
	var e *event.Error
	switch {
	case r.Err == nil && r.Duplicate:
		return "duplicate"
	case r.Err == nil:
		return "accepted"
	case errors.As(r.Err, &e) && e.Field != "":
		return event.Code(r.Err) + " " + e.Field
	}
	return event.Code(r.Err)
}

// expect applies events and checks what became of each.
func expect(t *testing.T, st server.Store, events []event.Event, want ...string) {
	t.Helper()
	for i, r := range apply(t, st, events...) {
		if got := outcome(r); got != want[i] {
			t.Errorf("event %d (%s/%s): %s, want %s (%v)", i, events[i].ClientID, events[i].ID, got, want[i], r.Err)
		}
	}
}

// dump returns what client holds, failing t if it cannot.
func dump(t *testing.T, st server.Store, client string) *event.Dump {
	t.Helper()
	v, err := st.View(context.Background(), client)
	if err != nil {
		t.Fatalf("View(%q): %v", client, err)
	}
	return v.Dump()
}

// series returns the series of key in d, failing t if there is none.
func series(t *testing.T, d *event.Dump, key string) event.Series {
	t.Helper()
	for _, s := range d.Series {
		if s.Key == key {
			return s
		}
	}
	t.Fatalf("client %s has no key %q", d.ClientID, key)
	return event.Series{}
}

func testCumulativeSumsExactly(t *testing.T, newStore Factory) {
	st := newStore(t, store.Policy{})
	var events []event.Event
	for i := range 10 {
		events = append(events, cumulative("c", "tenth-"+strconv.Itoa(i), "tenths", at(int64(i)), 0.1))
	}
	events = append(events, cumulative("c", "a", "pair", at(1), 0.1), cumulative("c", "b", "pair", at(2), 0.2))
	apply(t, st, events...)
	d := dump(t, st, "c")
	for _, tt := range []struct {
		key   string
		total float64
		count int64
		last  event.Timestamp
	}{{"tenths", 1, 10, at(9)}, {"pair", 0.3, 2, at(2)}} {
		s := series(t, d, tt.key)
		if s.Type != event.Cumulative || s.Total != tt.total || s.Count != tt.count || s.Last != tt.last {
			t.Errorf("key %s: %v total %v count %d last %v; want CUMULATIVE %v, %d, %v", tt.key, s.Type, s.Total, s.Count, s.Last, tt.total, tt.count, tt.last)
		}
	}
}

func testTimeSeriesInTimestampOrder(t *testing.T, newStore Factory) {
	st := newStore(t, store.Policy{})
	apply(t, st,
		timeSeries("c", "e3", "cpu", at(3), 3),
		timeSeries("c", "e1", "cpu", at(1), 1),
		timeSeries("c", "e2a", "cpu", at(2), 2),
		timeSeries("c", "e2b", "cpu", at(2), 2.5), // a tie: after e2a, which came first
	)
	apply(t, st, timeSeries("c", "e0", "cpu", at(0), 0))
	s := series(t, dump(t, st, "c"), "cpu")
	var got []string
	for _, smp := range s.Samples {
		got = append(got, fmt.Sprintf("%s@%d=%v", smp.ID, (smp.Timestamp-base)/event.Timestamp(time.Second), smp.Value))
	}
	want := []string{"e0@0=0", "e1@1=1", "e2a@2=2", "e2b@2=2.5", "e3@3=3"}
	if fmt.Sprint(got) != fmt.Sprint(want) || s.Type != event.TimeSeries {
		t.Errorf("samples %v (%v), want %v", got, s.Type, want)
	}
}

func testDuplicate(t *testing.T, newStore Factory) {
	st := newStore(t, store.Policy{})
	first := []event.Event{cumulative("c", "e1", "hits", at(1), 2), timeSeries("c", "e2", "cpu", at(1), 0.5)}
	expect(t, st, first, "accepted", "accepted")
	expect(t, st, append(first, first[0]), "duplicate", "duplicate", "duplicate")
	d := dump(t, st, "c")
	if s := series(t, d, "hits"); s.Total != 2 || s.Count != 1 {
		t.Errorf("hits after duplicates: total %v count %d, want 2 and 1", s.Total, s.Count)
	}
	if s := series(t, d, "cpu"); len(s.Samples) != 1 {
		t.Errorf("cpu after duplicates: %d samples, want 1", len(s.Samples))
	}
}

func testConflicts(t *testing.T, newStore Factory) {
	st := newStore(t, store.Policy{})
	expect(t, st, []event.Event{cumulative("c", "e1", "hits", at(1), 1), timeSeries("c", "e2", "cpu", at(1), 1)}, "accepted", "accepted")
	expect(t, st, []event.Event{
		cumulative("c", "e1", "hits", at(1), 5),    // the id again, with another value
		cumulative("c", "e1", "hits", at(2), 1),    // and another timestamp
		timeSeries("c", "e3", "hits", at(3), 1),    // the key as the other type
		cumulative("c", "e4", "cpu", at(3), 1),     // and the other way
		cumulative("c", "e5", "hits", at(3), 0.25), // beside them, still taken
	}, "conflict event_id", "conflict event_id", "conflict event_type", "conflict event_type", "accepted")
	if s := series(t, dump(t, st, "c"), "hits"); s.Total != 1.25 || s.Count != 2 {
		t.Errorf("hits: total %v count %d, want 1.25 and 2: a conflict changes nothing", s.Total, s.Count)
	}
}

func testClientsApart(t *testing.T, newStore Factory) {
	st := newStore(t, store.Policy{})
	expect(t, st, []event.Event{
		cumulative("a", "e1", "hits", at(1), 1),
		cumulative("b", "e1", "hits", at(1), 7), // the same id and key, another client
		timeSeries("b", "e2", "hits2", at(1), 7),
		cumulative("a", "e2", "hits2", at(1), 1), // a's hits2 is not b's
	}, "accepted", "accepted", "accepted", "accepted")
	if s := series(t, dump(t, st, "a"), "hits"); s.Total != 1 {
		t.Errorf("a's hits: %v, want 1", s.Total)
	}
	if s := series(t, dump(t, st, "b"), "hits"); s.Total != 7 {
		t.Errorf("b's hits: %v, want 7", s.Total)
	}
}

func testDelete(t *testing.T, newStore Factory) {
	st := newStore(t, store.Policy{})
	ctx := context.Background()
	sent := []event.Event{cumulative("c", "e1", "hits", at(1), 1), timeSeries("c", "e2", "cpu", at(1), 1), cumulative("other", "e1", "hits", at(1), 1)}
	apply(t, st, sent...)
	n, err := st.Delete(ctx, "c")
	if err != nil || n != 2 {
		t.Fatalf("Delete(c) = %d, %v; want its 2 events", n, err)
	}
	if _, err := st.View(ctx, "c"); !errors.Is(err, event.ErrNotFound) {
		t.Errorf("View after Delete: %v, want not found", err)
	}
	if _, err := st.Delete(ctx, "c"); !errors.Is(err, event.ErrNotFound) {
		t.Errorf("Delete again: %v, want not found", err)
	}
	// Its ids are forgotten: the same events are new again.
	expect(t, st, sent[:2], "accepted", "accepted")
	if s := series(t, dump(t, st, "other"), "hits"); s.Total != 1 {
		t.Errorf("another client after the delete: hits %v, want 1", s.Total)
	}
}

func testClients(t *testing.T, newStore Factory) {
	st := newStore(t, store.Policy{})
	apply(t, st, cumulative("web-02", "e1", "k", at(1), 1), cumulative("web-01", "e1", "k", at(1), 1),
		timeSeries("web-01", "e2", "t", at(1), 1), cumulative("web-01", "e1", "k", at(1), 1))
	clients, err := st.Clients(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []event.ClientInfo{{ClientID: "web-01", Events: 2}, {ClientID: "web-02", Events: 1}}
	if fmt.Sprint(clients) != fmt.Sprint(want) {
		t.Errorf("Clients = %v, want %v, sorted by id", clients, want)
	}
}

func testNotFound(t *testing.T, newStore Factory) {
	st := newStore(t, store.Policy{})
	if _, err := st.View(context.Background(), "nobody"); !errors.Is(err, event.ErrNotFound) {
		t.Errorf("View of an unknown client: %v, want not found", err)
	}
	if clients, err := st.Clients(context.Background()); err != nil || len(clients) != 0 {
		t.Errorf("Clients of an empty store = %v, %v; want none", clients, err)
	}
	// Refused events make nothing: no client to list or view.
	st = newStore(t, store.Policy{Retention: time.Hour})
	expect(t, st, []event.Event{cumulative("old", "e1", "k", at(-7200), 1)}, "too_old event_timestamp")
	if _, err := st.View(context.Background(), "old"); !errors.Is(err, event.ErrNotFound) {
		t.Errorf("View of a client whose every event was refused: %v, want not found", err)
	}
}

func testLimits(t *testing.T, newStore Factory) {
	st := newStore(t, store.Policy{Limits: store.Limits{MaxClients: 1, MaxKeysPerClient: 2}})
	expect(t, st, []event.Event{
		cumulative("a", "e1", "k1", at(1), 1),
		cumulative("a", "e2", "k2", at(1), 1),
		cumulative("a", "e3", "k3", at(1), 1), // a third key
		cumulative("b", "e1", "k1", at(1), 1), // a second client
		cumulative("a", "e1", "k1", at(1), 1), // a duplicate is still found
		cumulative("a", "e4", "k1", at(2), 1), // and a known key still takes events
	}, "accepted", "accepted", "limit_exceeded event_key", "limit_exceeded client_id", "duplicate", "accepted")
}

func testRetention(t *testing.T, newStore Factory) {
	st := newStore(t, store.Policy{Retention: time.Hour})
	expect(t, st, []event.Event{
		cumulative("c", "old", "k", at(-7200), 1),
		cumulative("c", "new", "k", at(1), 1),
	}, "too_old event_timestamp", "accepted")
	if s := series(t, dump(t, st, "c"), "k"); s.Total != 1 || s.Count != 1 {
		t.Errorf("k: total %v count %d, want only the recent event", s.Total, s.Count)
	}
}

// testConcurrentDedupe sends the same events from several goroutines at
// once: each is accepted exactly once, and the totals are exact.
func testConcurrentDedupe(t *testing.T, newStore Factory) {
	st := newStore(t, store.Policy{})
	const senders, clients, perClient = 4, 3, 200
	var events []event.Event
	for c := range clients {
		client := "c" + strconv.Itoa(c)
		for i := range perClient {
			events = append(events, cumulative(client, "e"+strconv.Itoa(i), "hits", at(int64(i)), 0.1),
				timeSeries(client, "s"+strconv.Itoa(i), "cpu", at(int64(i)), float64(i)))
		}
	}
	var accepted sync.Map // client/id → *atomic.Int64, the times it was accepted
	var wg sync.WaitGroup
	for s := range senders {
		wg.Go(func() {
			for start := 0; start < len(events); start += 50 {
				// Each sender its own order of batches, so that they race.
				from := (start + s*150) % len(events)
				batch := events[from:min(from+50, len(events))]
				results, err := st.Apply(context.Background(), batch)
				if err != nil {
					t.Errorf("Apply: %v", err)
					return
				}
				for i, r := range results {
					if r.Err != nil {
						t.Errorf("%s/%s: %v", batch[i].ClientID, batch[i].ID, r.Err)
					}
					if !r.Duplicate {
						n, _ := accepted.LoadOrStore(batch[i].ClientID+"/"+batch[i].ID, new(atomic.Int64))
						n.(*atomic.Int64).Add(1)
					}
				}
			}
		})
	}
	wg.Wait()
	accepted.Range(func(k, v any) bool {
		if n := v.(*atomic.Int64).Load(); n != 1 {
			t.Errorf("%s accepted %d times", k, n)
		}
		return true
	})
	for c := range clients {
		d := dump(t, st, "c"+strconv.Itoa(c))
		if s := series(t, d, "hits"); s.Count != perClient || s.Total != 20 {
			t.Errorf("client %d hits: count %d total %v, want %d and exactly 20", c, s.Count, s.Total, perClient)
		}
		if s := series(t, d, "cpu"); len(s.Samples) != perClient {
			t.Errorf("client %d cpu: %d samples, want %d", c, len(s.Samples), perClient)
		}
	}
}
