package store_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/montool/montool/internal/event"
	"github.com/montool/montool/internal/store"
)

// recordCall is one call of Record, as a fakeJournal saw it.
type recordCall struct {
	seq      int // the place of the call among all calls, from 0
	clientID string
	events   []event.Event
	results  []event.Result
}

// fakeJournal is a store.Journal that keeps a copy of every call: Record
// must not keep the events, their strings or the results it is given.
type fakeJournal struct {
	mu      sync.Mutex // guards calls and deleted
	calls   []recordCall
	deleted []string // the clients passed to Delete, if the Journal has it
}

var _ store.Journal = (*fakeJournal)(nil)

func (j *fakeJournal) Record(clientID string, events []event.Event, results []event.Result) {
	c := recordCall{
		clientID: strings.Clone(clientID),
		events:   make([]event.Event, len(events)),
		results:  slices.Clone(results),
	}
	for i, e := range events {
		e.ClientID, e.ID, e.Key = strings.Clone(e.ClientID), strings.Clone(e.ID), strings.Clone(e.Key)
		c.events[i] = e
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	c.seq = len(j.calls)
	j.calls = append(j.calls, c)
}

// forget forgets what j was told so far.
func (j *fakeJournal) forget() {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.calls, j.deleted = nil, nil
}

// newJournalled returns an empty store that records into j.
func newJournalled(t *testing.T, j store.Journal) *store.Memory {
	t.Helper()
	m, err := store.New(store.Options{Journal: j})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// Delete records the deletion of a client.
func (j *fakeJournal) Delete(clientID string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.deleted = append(j.deleted, strings.Clone(clientID))
}

// recorded returns the calls made so far.
func (j *fakeJournal) recorded() []recordCall {
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Clone(j.calls)
}

// wantCall is a Record call a test expects: of client, with the events
// batch[from:to] of the Apply, and these outcomes.
type wantCall struct {
	client   string
	from, to int
	outcomes []outcome
}

func TestJournalRecordsRuns(t *testing.T) {
	tests := []struct {
		name   string
		before []event.Event // applied before the journal is set
		batch  []event.Event
		want   []wantCall
	}{
		{
			name: "one call per run of consecutive events of a client",
			batch: []event.Event{
				cumulative("c1", "a", "hits", sec(1), 1),
				timeSeries("c1", "b", "cpu", sec(2), 2),
				cumulative("c2", "a", "hits", sec(3), 3),
				cumulative("c1", "c", "hits", sec(4), 4),
			},
			want: []wantCall{
				{client: "c1", from: 0, to: 2, outcomes: []outcome{accepted, accepted}},
				{client: "c2", from: 2, to: 3, outcomes: []outcome{accepted}},
				{client: "c1", from: 3, to: 4, outcomes: []outcome{accepted}},
			},
		},
		{
			name: "rejected events are passed with their results",
			before: []event.Event{
				cumulative("c1", "a", "hits", sec(1), 1),
				timeSeries("c1", "t", "cpu", sec(1), 0.5),
			},
			batch: []event.Event{
				cumulative("c1", "a", "hits", sec(1), 1),   // duplicate
				cumulative("c1", "a", "hits", sec(1), 2),   // same id, other value
				cumulative("c1", "n1", "cpu", sec(2), 1),   // cpu is TIME-SERIES
				timeSeries("c1", "n2", "cpu", sec(3), 0.7), // accepted
			},
			want: []wantCall{
				{client: "c1", from: 0, to: 4, outcomes: []outcome{
					duplicate, conflict(event.FieldEventID), conflict(event.FieldType), accepted}},
			},
		},
		{
			name:   "a run with nothing accepted is still passed",
			before: []event.Event{timeSeries("c1", "x", "cpu", sec(1), 1)},
			batch: []event.Event{
				timeSeries("c1", "x", "cpu", sec(1), 1),
				timeSeries("c1", "x", "cpu", sec(1), 1),
				timeSeries("c2", "x", "cpu", sec(1), 1),
			},
			want: []wantCall{
				{client: "c1", from: 0, to: 2, outcomes: []outcome{duplicate, duplicate}},
				{client: "c2", from: 2, to: 3, outcomes: []outcome{accepted}},
			},
		},
		{
			name: "duplicates within one batch",
			batch: []event.Event{
				timeSeries("c2", "x", "cpu", sec(1), 1),
				timeSeries("c2", "x", "cpu", sec(1), 1),
				timeSeries("c1", "x", "cpu", sec(1), 1),
				timeSeries("c2", "x", "cpu", sec(1), 1),
			},
			want: []wantCall{
				{client: "c2", from: 0, to: 2, outcomes: []outcome{accepted, duplicate}},
				{client: "c1", from: 2, to: 3, outcomes: []outcome{accepted}},
				{client: "c2", from: 3, to: 4, outcomes: []outcome{duplicate}},
			},
		},
		{
			name: "a batch larger than the small-request path",
			batch: []event.Event{
				timeSeries("c1", "00000000-0000-4000-8000-000000000001", "cpu", sec(5), 1),
				timeSeries("c1", "00000000-0000-4000-8000-000000000002", "cpu", sec(4), 2),
				timeSeries("c1", "00000000-0000-4000-8000-000000000003", "cpu", sec(3), 3),
				timeSeries("c1", "00000000-0000-4000-8000-000000000001", "cpu", sec(5), 1),
				timeSeries("c1", "n-5", "cpu", sec(2), 5),
				timeSeries("c2", "00000000-0000-4000-8000-000000000001", "cpu", sec(5), 1),
				cumulative("c2", "n-1", "hits", sec(1), 1),
				cumulative("c2", "n-2", "hits", sec(1), 1),
				cumulative("c2", "n-3", "hits", sec(1), 1),
				cumulative("c2", "n-3", "hits", sec(1), 9),
				cumulative("c2", "n-4", "hits", sec(1), 1),
				cumulative("c2", "n-5", "cpu", sec(1), 1),
			},
			want: []wantCall{
				{client: "c1", from: 0, to: 5, outcomes: []outcome{accepted, accepted, accepted, duplicate, accepted}},
				{client: "c2", from: 5, to: 12, outcomes: []outcome{
					accepted, accepted, accepted, accepted, conflict(event.FieldEventID), accepted, conflict(event.FieldType)}},
			},
		},
		{
			name: "an empty batch makes no call",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := &fakeJournal{}
			m := newJournalled(t, j)
			if len(tt.before) > 0 {
				apply(t, m, tt.before...)
				j.forget()
			}
			results := apply(t, m, tt.batch...)

			calls := j.recorded()
			if len(calls) != len(tt.want) {
				t.Fatalf("got %d Record calls, want %d: %+v", len(calls), len(tt.want), calls)
			}
			for i, want := range tt.want {
				got := calls[i]
				what := fmt.Sprintf("call %d", i)
				if got.clientID != want.client {
					t.Errorf("%s: clientID: got %q, want %q", what, got.clientID, want.client)
				}
				if !slices.Equal(got.events, tt.batch[want.from:want.to]) {
					t.Errorf("%s: events: got %+v, want %+v", what, got.events, tt.batch[want.from:want.to])
				}
				for k, e := range got.events {
					if e.ClientID != got.clientID {
						t.Errorf("%s: event %d: ClientID %q, but the call is for %q", what, k, e.ClientID, got.clientID)
					}
				}
				if len(got.results) != want.to-want.from {
					t.Errorf("%s: got %d results, want %d", what, len(got.results), want.to-want.from)
					continue
				}
				for k, r := range got.results {
					applied := results[want.from+k]
					if r.Duplicate != applied.Duplicate || r.Err != applied.Err {
						t.Errorf("%s: result %d: got %+v, but Apply returned %+v", what, k, r, applied)
					}
					checkResult(t, fmt.Sprintf("%s: result %d", what, k), r, want.outcomes[k])
				}
			}
		})
	}
}

// TestJournalConcurrentApplies has 8 goroutines send the same events of
// one client at once, in different orders and batch sizes, some with other
// content: the journal must be given each accepted event exactly once, and
// the original of every duplicate before (or earlier in the same call as)
// the duplicate.
func TestJournalConcurrentApplies(t *testing.T) {
	const (
		goroutines = 8
		distinct   = 300
	)
	ids := slices.Concat(eventIDs(distinct/2), namedIDs(distinct/2))
	events := make([]event.Event, distinct)
	for i, id := range ids {
		if i%3 == 0 {
			events[i] = cumulative("c1", id, "hits", sec(int64(i)), 1)
		} else {
			events[i] = timeSeries("c1", id, "cpu", sec(int64(distinct-i)), float64(i))
		}
	}

	j := &fakeJournal{}
	m := newJournalled(t, j)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			order := slices.Clone(events)
			rng := rand.New(rand.NewPCG(uint64(g), 7))
			rng.Shuffle(len(order), func(a, b int) { order[a], order[b] = order[b], order[a] })
			if g%2 == 1 { // every tenth event with other content: a conflict unless it came first
				for k := range order {
					if k%10 == 0 {
						order[k].Value += 1000
					}
				}
			}
			batch := []int{1, 3, 12, 40}[g%4]
			<-start
			for chunk := range slices.Chunk(order, batch) {
				if _, err := m.Apply(context.Background(), chunk); err != nil {
					t.Errorf("goroutine %d: Apply: %v", g, err)
					return
				}
			}
		})
	}
	close(start)
	wg.Wait()

	type place struct{ seq, index int }
	acceptedAt := make(map[string]place)
	acceptedEvent := make(map[string]event.Event)
	passed := 0
	for _, c := range j.recorded() {
		if c.clientID != "c1" {
			t.Errorf("call %d: clientID: got %q, want %q", c.seq, c.clientID, "c1")
		}
		if len(c.events) != len(c.results) {
			t.Fatalf("call %d: %d events but %d results", c.seq, len(c.events), len(c.results))
		}
		passed += len(c.events)
		for k, e := range c.events {
			r := c.results[k]
			switch {
			case r.Err != nil:
				if !errors.Is(r.Err, event.ErrConflict) {
					t.Errorf("call %d: event %q: got error %v, want a conflict or none", c.seq, e.ID, r.Err)
				}
			case r.Duplicate:
				orig, ok := acceptedAt[e.ID]
				if !ok {
					t.Errorf("call %d: event %q: a duplicate, but its original was not recorded before", c.seq, e.ID)
					continue
				}
				if acceptedEvent[e.ID] != e {
					t.Errorf("call %d: event %q: a duplicate of %+v, but has other content: %+v", c.seq, e.ID, acceptedEvent[e.ID], e)
				}
				if orig.seq > c.seq || orig.seq == c.seq && orig.index >= k {
					t.Errorf("call %d, event %d (%q): a duplicate recorded before its original (call %d, event %d)", c.seq, k, e.ID, orig.seq, orig.index)
				}
			default:
				if prev, ok := acceptedAt[e.ID]; ok {
					t.Errorf("event %q: accepted twice, in call %d and call %d", e.ID, prev.seq, c.seq)
					continue
				}
				acceptedAt[e.ID] = place{c.seq, k}
				acceptedEvent[e.ID] = e
			}
		}
	}
	if passed != goroutines*distinct {
		t.Errorf("events passed to Record: got %d, want %d (every event sent)", passed, goroutines*distinct)
	}
	if len(acceptedAt) != distinct {
		t.Errorf("distinct events recorded as accepted: got %d, want %d", len(acceptedAt), distinct)
	}
	for _, id := range ids {
		if _, ok := acceptedAt[id]; !ok {
			t.Errorf("event %q: never recorded as accepted", id)
		}
	}
	checkClients(t, m, []event.ClientInfo{{ClientID: "c1", Events: distinct}})
}
