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
			m := store.New()
			if len(tt.before) > 0 {
				apply(t, m, tt.before...)
			}
			j := &fakeJournal{}
			m.SetJournal(j)
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

	m := store.New()
	j := &fakeJournal{}
	m.SetJournal(j)
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

// exportClients are the clients fillForExport fills.
var exportClients = []string{"client-a", "7d444840-9dc0-11d1-b245-5ffdce74fad2", "client-c"}

// fillForExport fills m with three clients, CUMULATIVE and TIME-SERIES
// keys, UUID and other ids, out-of-order timestamps and one series of
// 2,500 events, and returns the ids of that series in order of arrival.
func fillForExport(t *testing.T, m *store.Memory) []string {
	t.Helper()
	const big = 2500
	a, b, c := exportClients[0], exportClients[1], exportClients[2]
	uuids := eventIDs(big)
	cpuIDs := make([]string, big)
	var events []event.Event
	for i := range big {
		cpuIDs[i] = uuids[i]
		if i%3 == 0 {
			cpuIDs[i] = fmt.Sprintf("cpu-%d", i)
		}
		// 1,000 distinct timestamps out of order: ties too.
		events = append(events, timeSeries(a, cpuIDs[i], "cpu", sec(int64(i*37%1000)), float64(i)/8))
	}
	for i := range 10 {
		events = append(events, cumulative(a, fmt.Sprintf("req-%d", i), "requests", sec(int64(10-i)), 0.1))
	}
	for i := range 5 {
		events = append(events, timeSeries(b, fmt.Sprintf("mem-%d", i), "mem", sec(int64(i%2)), float64(100+i)))
	}
	for i := range 3 {
		events = append(events, cumulative(b, uuids[i], "bytes", sec(int64(3-i)), 2.5))
	}
	events = append(events, cumulative(c, "only", "errors", sec(0), -4))
	applyOK(t, m, events...)
	// Rejected events leave nothing to export.
	results := apply(t, m,
		timeSeries(a, cpuIDs[0], "cpu", sec(0), 0),  // duplicate
		timeSeries(a, cpuIDs[1], "cpu", sec(0), 99), // conflict
		timeSeries(b, "mem-9", "bytes", sec(0), 1),  // type conflict
		cumulative(c, "only", "errors", sec(0), -4), // duplicate
	)
	checkResults(t, results, []outcome{duplicate, conflict(event.FieldEventID), conflict(event.FieldType), duplicate})
	return cpuIDs
}

func TestExportRebuildsStore(t *testing.T) {
	ctx := context.Background()
	src := store.New()
	cpuIDs := fillForExport(t, src)

	dst := store.New()
	arrival := make(map[string][]string) // client and key → ids, as exported
	var (
		series []string // client and key of each batch, when it changes
		runs   []string // client of each batch, when it changes
		total  int
	)
	err := src.Export(ctx, func(events []event.Event) error {
		if len(events) == 0 || len(events) > 1024 {
			t.Errorf("Export gave a batch of %d events, want 1 to 1,024", len(events))
		}
		first := events[0]
		sk := first.ClientID + "/" + first.Key
		for _, e := range events {
			if e.ClientID != first.ClientID || e.Key != first.Key {
				t.Errorf("Export gave a batch that mixes series: %s/%s and %s", e.ClientID, e.Key, sk)
			}
			arrival[sk] = append(arrival[sk], strings.Clone(e.ID))
		}
		if len(series) == 0 || series[len(series)-1] != sk {
			series = append(series, sk)
		}
		if len(runs) == 0 || runs[len(runs)-1] != first.ClientID {
			runs = append(runs, strings.Clone(first.ClientID))
		}
		total += len(events)
		results, err := dst.Apply(ctx, events)
		if err != nil {
			return err
		}
		for i, r := range results {
			if r.Err != nil || r.Duplicate {
				t.Errorf("Apply of exported event %s/%s %q: got %+v, want accepted", events[i].ClientID, events[i].Key, events[i].ID, r)
			}
		}
		return nil
	}, noBase(t))
	if err != nil {
		t.Fatalf("Export: unexpected error %v", err)
	}

	// Client by client, series by series: none comes back after another began.
	if got := len(runs); got != len(exportClients) {
		t.Errorf("Export: the client changed %d times between batches (%v), want %d: one run per client", got, runs, len(exportClients))
	}
	if got, want := len(series), 5; got != want {
		t.Errorf("Export: the series changed %d times between batches (%v), want %d: one run per series", got, series, want)
	}
	if want := 2500 + 10 + 5 + 3 + 1; total != want {
		t.Errorf("Export gave %d events, want %d", total, want)
	}
	if got := arrival["client-a/cpu"]; !slices.Equal(got, cpuIDs) {
		t.Errorf("Export of client-a/cpu: ids not in order of arrival (got %d ids, want %d)", len(got), len(cpuIDs))
	}
	if got, want := arrival[exportClients[1]+"/mem"], []string{"mem-0", "mem-1", "mem-2", "mem-3", "mem-4"}; !slices.Equal(got, want) {
		t.Errorf("Export of mem: got ids %v, want %v", got, want)
	}

	checkClients(t, dst, clients(t, src))
	for _, c := range exportClients {
		checkSeries(t, c, dump(t, dst, c).Series, dump(t, src, c).Series)
	}
	// The dedupe index came along with the rows.
	checkResults(t, apply(t, dst,
		timeSeries("client-a", cpuIDs[0], "cpu", sec(0), 0),
		timeSeries("client-a", cpuIDs[2499], "cpu", sec(int64(2499*37%1000)), 2499.0/8),
		timeSeries("client-a", cpuIDs[1], "cpu", sec(0), 99),
	), []outcome{duplicate, duplicate, conflict(event.FieldEventID)})
}

// noBase is an Export callback for a store without retention, where no key
// holds a total beyond its rows.
func noBase(t *testing.T) func(*store.Base) error {
	return func(b *store.Base) error {
		t.Errorf("Export gave a key total beyond its rows, %s/%s, from a store without retention", b.ClientID, b.Key)
		return nil
	}
}

func TestExportStops(t *testing.T) {
	errStop := errors.New("stop here")
	src := store.New()
	fillForExport(t, src)
	batches := 0
	if err := src.Export(context.Background(), func([]event.Event) error { batches++; return nil }, noBase(t)); err != nil {
		t.Fatalf("Export: unexpected error %v", err)
	}

	tests := []struct {
		name string
		// fn is the function given to Export; cancel cancels its context.
		fn         func(cancel context.CancelFunc) error
		cancelling bool // the context is cancelled before Export
		wantErr    error
		maxCalls   int
	}{
		{
			name:     "at the first error of fn",
			fn:       func(context.CancelFunc) error { return errStop },
			wantErr:  errStop,
			maxCalls: 1,
		},
		{
			name:       "with a cancelled context",
			fn:         func(context.CancelFunc) error { return nil },
			cancelling: true,
			wantErr:    context.Canceled,
			maxCalls:   0,
		},
		{
			name: "once the context is cancelled meanwhile",
			fn: func(cancel context.CancelFunc) error {
				cancel()
				return nil
			},
			wantErr: context.Canceled,
			// It checks the context between clients: at most the batches
			// of the first client, client-a having the most, 4.
			maxCalls: 4,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.cancelling {
				cancel()
			}
			calls := 0
			err := src.Export(ctx, func([]event.Event) error {
				calls++
				return tt.fn(cancel)
			}, noBase(t))
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("Export: got error %v, want %v", err, tt.wantErr)
			}
			if calls > tt.maxCalls || calls >= batches {
				t.Errorf("Export called fn %d times, want at most %d (of %d batches in all)", calls, tt.maxCalls, batches)
			}
		})
	}
}
