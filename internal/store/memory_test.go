package store_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/montool/montool/internal/event"
	"github.com/montool/montool/internal/server"
	"github.com/montool/montool/internal/store"
	"github.com/montool/montool/internal/storetest"
)

// The memory store is a server.Store with these of the optional abilities.
var (
	_ server.Store      = (*store.Memory)(nil)
	_ server.Sizer      = (*store.Memory)(nil)
	_ server.KeyCounter = (*store.Memory)(nil)
)

// base is an arbitrary moment (2025-11-22T22:20:00Z) in nanoseconds.
const base = event.Timestamp(1_763_850_000_000_000_000)

// sec returns the timestamp n seconds after base.
func sec(n int64) event.Timestamp { return base + event.Timestamp(n)*1_000_000_000 }

func cumulative(client, id, key string, ts event.Timestamp, v float64) event.Event {
	return event.Event{ClientID: client, ID: id, Timestamp: ts, Type: event.Cumulative, Key: key, Value: v}
}

func timeSeries(client, id, key string, ts event.Timestamp, v float64) event.Event {
	return event.Event{ClientID: client, ID: id, Timestamp: ts, Type: event.TimeSeries, Key: key, Value: v}
}

// apply applies events and fails the test if Apply itself fails.
func apply(t *testing.T, m *store.Memory, events ...event.Event) []event.Result {
	t.Helper()
	results, err := m.Apply(context.Background(), events)
	if err != nil {
		t.Fatalf("Apply: unexpected error %v", err)
	}
	if len(results) != len(events) {
		t.Fatalf("Apply: got %d results, want %d", len(results), len(events))
	}
	return results
}

// applyOK applies events and fails the test unless every one is accepted.
func applyOK(t *testing.T, m *store.Memory, events ...event.Event) {
	t.Helper()
	for i, r := range apply(t, m, events...) {
		if r.Duplicate || r.Err != nil {
			t.Fatalf("Apply: event %d (%q): got {Duplicate: %v, Err: %v}, want accepted", i, events[i].ID, r.Duplicate, r.Err)
		}
	}
}

// outcome is what a test expects of one Result: accepted (the zero value),
// a duplicate, or a conflict naming field.
type outcome struct {
	duplicate     bool
	conflictField string
}

var (
	accepted  = outcome{}
	duplicate = outcome{duplicate: true}
)

func conflict(field string) outcome { return outcome{conflictField: field} }

func checkResult(t *testing.T, what string, got event.Result, want outcome) {
	t.Helper()
	if got.Duplicate != want.duplicate {
		t.Errorf("%s: Duplicate: got %v, want %v", what, got.Duplicate, want.duplicate)
	}
	if want.conflictField == "" {
		if got.Err != nil {
			t.Errorf("%s: Err: got %v, want nil", what, got.Err)
		}
		return
	}
	checkConflict(t, what, got.Err, want.conflictField)
}

func checkConflict(t *testing.T, what string, err error, field string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: Err: got nil, want a conflict on %s", what, field)
		return
	}
	var e *event.Error
	if !errors.As(err, &e) {
		t.Errorf("%s: Err: got %T (%v), want *event.Error", what, err, err)
		return
	}
	if !errors.Is(err, event.ErrConflict) {
		t.Errorf("%s: errors.Is(err, event.ErrConflict): got false, want true (err %v)", what, err)
	}
	if e.Field != field {
		t.Errorf("%s: Field: got %q, want %q", what, e.Field, field)
	}
}

func checkResults(t *testing.T, got []event.Result, want []outcome) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d results, want %d", len(got), len(want))
	}
	for i := range want {
		checkResult(t, fmt.Sprintf("result %d", i), got[i], want[i])
	}
}

func dump(t *testing.T, m *store.Memory, client string) *event.Dump {
	t.Helper()
	d, err := m.Dump(context.Background(), client)
	if err != nil {
		t.Fatalf("Dump(%q): unexpected error %v", client, err)
	}
	return d
}

// checkDump compares the dump of client with want, field by field.
func checkDump(t *testing.T, m *store.Memory, client string, want []event.Series) {
	t.Helper()
	d := dump(t, m, client)
	if d.ClientID != client {
		t.Errorf("Dump(%q): ClientID: got %q, want %q", client, d.ClientID, client)
	}
	checkSeries(t, client, d.Series, want)
}

func checkSeries(t *testing.T, client string, got, want []event.Series) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("Dump(%q): got %d series %v, want %d %v", client, len(got), got, len(want), want)
		return
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Key != w.Key {
			t.Errorf("Dump(%q): series %d: Key: got %q, want %q", client, i, g.Key, w.Key)
		}
		if g.Type != w.Type {
			t.Errorf("Dump(%q): series %q: Type: got %v, want %v", client, w.Key, g.Type, w.Type)
		}
		if g.Total != w.Total {
			t.Errorf("Dump(%q): series %q: Total: got %v, want %v", client, w.Key, g.Total, w.Total)
		}
		if g.Count != w.Count {
			t.Errorf("Dump(%q): series %q: Count: got %v, want %v", client, w.Key, g.Count, w.Count)
		}
		if g.Last != w.Last {
			t.Errorf("Dump(%q): series %q: Last: got %v, want %v", client, w.Key, g.Last, w.Last)
		}
		if !slices.Equal(g.Samples, w.Samples) {
			t.Errorf("Dump(%q): series %q: Samples: got %v, want %v", client, w.Key, g.Samples, w.Samples)
		}
	}
}

func clients(t *testing.T, m *store.Memory) []event.ClientInfo {
	t.Helper()
	infos, err := m.Clients(context.Background())
	if err != nil {
		t.Fatalf("Clients: unexpected error %v", err)
	}
	return infos
}

func checkClients(t *testing.T, m *store.Memory, want []event.ClientInfo) {
	t.Helper()
	got := clients(t, m)
	if !slices.Equal(got, want) {
		t.Errorf("Clients: got %v, want %v", got, want)
	}
}

func checkNotFound(t *testing.T, m *store.Memory, client string) {
	t.Helper()
	d, err := m.Dump(context.Background(), client)
	if d != nil {
		t.Errorf("Dump(%q): got dump %v, want nil", client, d)
	}
	var e *event.Error
	if !errors.As(err, &e) {
		t.Errorf("Dump(%q): err: got %T (%v), want *event.Error", client, err, err)
		return
	}
	if !errors.Is(err, event.ErrNotFound) {
		t.Errorf("Dump(%q): errors.Is(err, event.ErrNotFound): got false, want true (err %v)", client, err)
	}
}

func TestCumulativeTotals(t *testing.T) {
	tests := []struct {
		name   string
		events []event.Event
		want   event.Series
	}{
		{
			name: "one event",
			events: []event.Event{
				cumulative("c", "e1", "k", sec(1), 42),
			},
			want: event.Series{Key: "k", Type: event.Cumulative, Total: 42, Count: 1, Last: sec(1)},
		},
		{
			name: "ten 0.1 total exactly 1",
			events: []event.Event{
				cumulative("c", "e1", "k", sec(1), 0.1),
				cumulative("c", "e2", "k", sec(2), 0.1),
				cumulative("c", "e3", "k", sec(3), 0.1),
				cumulative("c", "e4", "k", sec(4), 0.1),
				cumulative("c", "e5", "k", sec(5), 0.1),
				cumulative("c", "e6", "k", sec(6), 0.1),
				cumulative("c", "e7", "k", sec(7), 0.1),
				cumulative("c", "e8", "k", sec(8), 0.1),
				cumulative("c", "e9", "k", sec(9), 0.1),
				cumulative("c", "e10", "k", sec(10), 0.1),
			},
			want: event.Series{Key: "k", Type: event.Cumulative, Total: 1, Count: 10, Last: sec(10)},
		},
		{
			name: "0.1 plus 0.2 is 0.3",
			events: []event.Event{
				cumulative("c", "e1", "k", sec(1), 0.1),
				cumulative("c", "e2", "k", sec(2), 0.2),
			},
			want: event.Series{Key: "k", Type: event.Cumulative, Total: 0.3, Count: 2, Last: sec(2)},
		},
		{
			name: "large values cancel exactly",
			events: []event.Event{
				cumulative("c", "e1", "k", sec(1), 1e20),
				cumulative("c", "e2", "k", sec(2), 1),
				cumulative("c", "e3", "k", sec(3), -1e20),
			},
			want: event.Series{Key: "k", Type: event.Cumulative, Total: 1, Count: 3, Last: sec(3)},
		},
		{
			name: "negative and zero values",
			events: []event.Event{
				cumulative("c", "e1", "k", sec(1), -2.5),
				cumulative("c", "e2", "k", sec(2), 0),
				cumulative("c", "e3", "k", sec(3), -0.25),
			},
			want: event.Series{Key: "k", Type: event.Cumulative, Total: -2.75, Count: 3, Last: sec(3)},
		},
		{
			name: "Last is the latest timestamp, not the last arrived",
			events: []event.Event{
				cumulative("c", "e1", "k", sec(20), 1),
				cumulative("c", "e2", "k", sec(30), 1),
				cumulative("c", "e3", "k", sec(10), 1),
			},
			want: event.Series{Key: "k", Type: event.Cumulative, Total: 3, Count: 3, Last: sec(30)},
		},
		{
			name: "timestamp zero",
			events: []event.Event{
				cumulative("c", "e1", "k", 0, 7),
			},
			want: event.Series{Key: "k", Type: event.Cumulative, Total: 7, Count: 1, Last: 0},
		},
		{
			name: "one event per call",
			events: []event.Event{
				cumulative("c", "e1", "k", sec(5), 1.5),
				cumulative("c", "e2", "k", sec(1), 2.25),
			},
			want: event.Series{Key: "k", Type: event.Cumulative, Total: 3.75, Count: 2, Last: sec(5)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name+"/batch", func(t *testing.T) {
			m := storetest.NewMemory(t, store.Policy{})
			applyOK(t, m, tt.events...)
			checkDump(t, m, "c", []event.Series{tt.want})
		})
		t.Run(tt.name+"/singly", func(t *testing.T) {
			m := storetest.NewMemory(t, store.Policy{})
			for _, e := range tt.events {
				applyOK(t, m, e)
			}
			checkDump(t, m, "c", []event.Series{tt.want})
		})
	}
}

func TestTimeSeriesOrder(t *testing.T) {
	tests := []struct {
		name   string
		events []event.Event
		want   []event.Sample
	}{
		{
			name: "in order",
			events: []event.Event{
				timeSeries("c", "a", "k", sec(1), 1),
				timeSeries("c", "b", "k", sec(2), 2),
				timeSeries("c", "d", "k", sec(3), 3),
			},
			want: []event.Sample{
				{ID: "a", Timestamp: sec(1), Value: 1},
				{ID: "b", Timestamp: sec(2), Value: 2},
				{ID: "d", Timestamp: sec(3), Value: 3},
			},
		},
		{
			name: "out of order",
			events: []event.Event{
				timeSeries("c", "a", "k", sec(3), 30),
				timeSeries("c", "b", "k", sec(1), 10),
				timeSeries("c", "d", "k", sec(4), 40),
				timeSeries("c", "e", "k", sec(2), 20),
			},
			want: []event.Sample{
				{ID: "b", Timestamp: sec(1), Value: 10},
				{ID: "e", Timestamp: sec(2), Value: 20},
				{ID: "a", Timestamp: sec(3), Value: 30},
				{ID: "d", Timestamp: sec(4), Value: 40},
			},
		},
		{
			name: "reverse order",
			events: []event.Event{
				timeSeries("c", "a", "k", sec(3), 3),
				timeSeries("c", "b", "k", sec(2), 2),
				timeSeries("c", "d", "k", sec(1), 1),
			},
			want: []event.Sample{
				{ID: "d", Timestamp: sec(1), Value: 1},
				{ID: "b", Timestamp: sec(2), Value: 2},
				{ID: "a", Timestamp: sec(3), Value: 3},
			},
		},
		{
			name: "ties keep arrival order",
			events: []event.Event{
				timeSeries("c", "z", "k", sec(5), 1),
				timeSeries("c", "y", "k", sec(5), 2),
				timeSeries("c", "x", "k", sec(5), 3),
			},
			want: []event.Sample{
				{ID: "z", Timestamp: sec(5), Value: 1},
				{ID: "y", Timestamp: sec(5), Value: 2},
				{ID: "x", Timestamp: sec(5), Value: 3},
			},
		},
		{
			name: "ties keep arrival order among out-of-order events",
			events: []event.Event{
				timeSeries("c", "t2-first", "k", sec(2), 1),
				timeSeries("c", "t1-first", "k", sec(1), 2),
				timeSeries("c", "t2-second", "k", sec(2), 3),
				timeSeries("c", "t3", "k", sec(3), 4),
				timeSeries("c", "t1-second", "k", sec(1), 5),
				timeSeries("c", "t2-third", "k", sec(2), 6),
			},
			want: []event.Sample{
				{ID: "t1-first", Timestamp: sec(1), Value: 2},
				{ID: "t1-second", Timestamp: sec(1), Value: 5},
				{ID: "t2-first", Timestamp: sec(2), Value: 1},
				{ID: "t2-second", Timestamp: sec(2), Value: 3},
				{ID: "t2-third", Timestamp: sec(2), Value: 6},
				{ID: "t3", Timestamp: sec(3), Value: 4},
			},
		},
		{
			// Enough samples that an unstable sort would show.
			name: "many ties out of order",
			events: []event.Event{
				timeSeries("c", "a00", "k", sec(3), 0),
				timeSeries("c", "a01", "k", sec(1), 1),
				timeSeries("c", "a02", "k", sec(2), 2),
				timeSeries("c", "a03", "k", sec(3), 3),
				timeSeries("c", "a04", "k", sec(1), 4),
				timeSeries("c", "a05", "k", sec(2), 5),
				timeSeries("c", "a06", "k", sec(3), 6),
				timeSeries("c", "a07", "k", sec(1), 7),
				timeSeries("c", "a08", "k", sec(2), 8),
				timeSeries("c", "a09", "k", sec(3), 9),
				timeSeries("c", "a10", "k", sec(1), 10),
				timeSeries("c", "a11", "k", sec(2), 11),
				timeSeries("c", "a12", "k", sec(3), 12),
				timeSeries("c", "a13", "k", sec(1), 13),
				timeSeries("c", "a14", "k", sec(2), 14),
				timeSeries("c", "a15", "k", sec(3), 15),
				timeSeries("c", "a16", "k", sec(1), 16),
				timeSeries("c", "a17", "k", sec(2), 17),
				timeSeries("c", "a18", "k", sec(3), 18),
				timeSeries("c", "a19", "k", sec(1), 19),
				timeSeries("c", "a20", "k", sec(2), 20),
				timeSeries("c", "a21", "k", sec(3), 21),
				timeSeries("c", "a22", "k", sec(1), 22),
				timeSeries("c", "a23", "k", sec(2), 23),
			},
			want: []event.Sample{
				{ID: "a01", Timestamp: sec(1), Value: 1},
				{ID: "a04", Timestamp: sec(1), Value: 4},
				{ID: "a07", Timestamp: sec(1), Value: 7},
				{ID: "a10", Timestamp: sec(1), Value: 10},
				{ID: "a13", Timestamp: sec(1), Value: 13},
				{ID: "a16", Timestamp: sec(1), Value: 16},
				{ID: "a19", Timestamp: sec(1), Value: 19},
				{ID: "a22", Timestamp: sec(1), Value: 22},
				{ID: "a02", Timestamp: sec(2), Value: 2},
				{ID: "a05", Timestamp: sec(2), Value: 5},
				{ID: "a08", Timestamp: sec(2), Value: 8},
				{ID: "a11", Timestamp: sec(2), Value: 11},
				{ID: "a14", Timestamp: sec(2), Value: 14},
				{ID: "a17", Timestamp: sec(2), Value: 17},
				{ID: "a20", Timestamp: sec(2), Value: 20},
				{ID: "a23", Timestamp: sec(2), Value: 23},
				{ID: "a00", Timestamp: sec(3), Value: 0},
				{ID: "a03", Timestamp: sec(3), Value: 3},
				{ID: "a06", Timestamp: sec(3), Value: 6},
				{ID: "a09", Timestamp: sec(3), Value: 9},
				{ID: "a12", Timestamp: sec(3), Value: 12},
				{ID: "a15", Timestamp: sec(3), Value: 15},
				{ID: "a18", Timestamp: sec(3), Value: 18},
				{ID: "a21", Timestamp: sec(3), Value: 21},
			},
		},
		{
			name: "same value twice is two samples",
			events: []event.Event{
				timeSeries("c", "a", "k", sec(1), 9),
				timeSeries("c", "b", "k", sec(1), 9),
			},
			want: []event.Sample{
				{ID: "a", Timestamp: sec(1), Value: 9},
				{ID: "b", Timestamp: sec(1), Value: 9},
			},
		},
	}
	for _, tt := range tests {
		want := []event.Series{{Key: "k", Type: event.TimeSeries, Samples: tt.want}}
		t.Run(tt.name+"/batch", func(t *testing.T) {
			m := storetest.NewMemory(t, store.Policy{})
			applyOK(t, m, tt.events...)
			checkDump(t, m, "c", want)
			// A second dump, with nothing new, is the same.
			checkDump(t, m, "c", want)
		})
		t.Run(tt.name+"/singly", func(t *testing.T) {
			m := storetest.NewMemory(t, store.Policy{})
			for _, e := range tt.events {
				applyOK(t, m, e)
			}
			checkDump(t, m, "c", want)
		})
	}
}

func TestTimeSeriesOrderAfterEarlierDump(t *testing.T) {
	m := storetest.NewMemory(t, store.Policy{})
	applyOK(t, m,
		timeSeries("c", "a", "k", sec(20), 1),
		timeSeries("c", "b", "k", sec(10), 2),
		timeSeries("c", "c", "k", sec(30), 3),
	)
	checkDump(t, m, "c", []event.Series{{Key: "k", Type: event.TimeSeries, Samples: []event.Sample{
		{ID: "b", Timestamp: sec(10), Value: 2},
		{ID: "a", Timestamp: sec(20), Value: 1},
		{ID: "c", Timestamp: sec(30), Value: 3},
	}}})

	// More arrivals: one before everything, one tying an earlier sample, one
	// at the end, one in the middle.
	applyOK(t, m,
		timeSeries("c", "d", "k", sec(5), 4),
		timeSeries("c", "e", "k", sec(20), 5),
	)
	applyOK(t, m, timeSeries("c", "f", "k", sec(40), 6))
	applyOK(t, m, timeSeries("c", "g", "k", sec(15), 7))
	checkDump(t, m, "c", []event.Series{{Key: "k", Type: event.TimeSeries, Samples: []event.Sample{
		{ID: "d", Timestamp: sec(5), Value: 4},
		{ID: "b", Timestamp: sec(10), Value: 2},
		{ID: "g", Timestamp: sec(15), Value: 7},
		{ID: "a", Timestamp: sec(20), Value: 1},
		{ID: "e", Timestamp: sec(20), Value: 5},
		{ID: "c", Timestamp: sec(30), Value: 3},
		{ID: "f", Timestamp: sec(40), Value: 6},
	}}})

	// In-order arrivals after a dump, including a tie with the last sample.
	applyOK(t, m, timeSeries("c", "h", "k", sec(40), 8))
	applyOK(t, m, timeSeries("c", "i", "k", sec(50), 9))
	// And one more out-of-order tie.
	applyOK(t, m, timeSeries("c", "j", "k", sec(10), 10))
	checkDump(t, m, "c", []event.Series{{Key: "k", Type: event.TimeSeries, Samples: []event.Sample{
		{ID: "d", Timestamp: sec(5), Value: 4},
		{ID: "b", Timestamp: sec(10), Value: 2},
		{ID: "j", Timestamp: sec(10), Value: 10},
		{ID: "g", Timestamp: sec(15), Value: 7},
		{ID: "a", Timestamp: sec(20), Value: 1},
		{ID: "e", Timestamp: sec(20), Value: 5},
		{ID: "c", Timestamp: sec(30), Value: 3},
		{ID: "f", Timestamp: sec(40), Value: 6},
		{ID: "h", Timestamp: sec(40), Value: 8},
		{ID: "i", Timestamp: sec(50), Value: 9},
	}}})
}

func TestDuplicate(t *testing.T) {
	tests := []struct {
		name  string
		first event.Event
		again event.Event
		want  []event.Series
	}{
		{
			name:  "cumulative",
			first: cumulative("c", "e1", "k", sec(1), 2.5),
			again: cumulative("c", "e1", "k", sec(1), 2.5),
			want:  []event.Series{{Key: "k", Type: event.Cumulative, Total: 2.5, Count: 1, Last: sec(1)}},
		},
		{
			name:  "time-series",
			first: timeSeries("c", "e1", "k", sec(1), 2.5),
			again: timeSeries("c", "e1", "k", sec(1), 2.5),
			want: []event.Series{{Key: "k", Type: event.TimeSeries, Samples: []event.Sample{
				{ID: "e1", Timestamp: sec(1), Value: 2.5},
			}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name+"/later call", func(t *testing.T) {
			m := storetest.NewMemory(t, store.Policy{})
			applyOK(t, m, tt.first)
			for i := range 3 {
				checkResults(t, apply(t, m, tt.again), []outcome{duplicate})
				checkDump(t, m, "c", tt.want)
				checkClients(t, m, []event.ClientInfo{{ClientID: "c", Events: 1}})
				if t.Failed() {
					t.Fatalf("failed after %d re-sends", i+1)
				}
			}
		})
		t.Run(tt.name+"/same batch", func(t *testing.T) {
			m := storetest.NewMemory(t, store.Policy{})
			checkResults(t, apply(t, m, tt.first, tt.again, tt.again), []outcome{accepted, duplicate, duplicate})
			checkDump(t, m, "c", tt.want)
			checkClients(t, m, []event.ClientInfo{{ClientID: "c", Events: 1}})
		})
	}
}

func TestSameIDOtherClient(t *testing.T) {
	tests := []struct {
		name   string
		first  event.Event
		second event.Event
		wantA  []event.Series
		wantB  []event.Series
	}{
		{
			name:   "same content",
			first:  cumulative("a", "e1", "k", sec(1), 3),
			second: cumulative("b", "e1", "k", sec(1), 3),
			wantA:  []event.Series{{Key: "k", Type: event.Cumulative, Total: 3, Count: 1, Last: sec(1)}},
			wantB:  []event.Series{{Key: "k", Type: event.Cumulative, Total: 3, Count: 1, Last: sec(1)}},
		},
		{
			name:   "other value",
			first:  timeSeries("a", "e1", "k", sec(1), 3),
			second: timeSeries("b", "e1", "k", sec(1), 4),
			wantA: []event.Series{{Key: "k", Type: event.TimeSeries, Samples: []event.Sample{
				{ID: "e1", Timestamp: sec(1), Value: 3},
			}}},
			wantB: []event.Series{{Key: "k", Type: event.TimeSeries, Samples: []event.Sample{
				{ID: "e1", Timestamp: sec(1), Value: 4},
			}}},
		},
		{
			name:   "other type, same key",
			first:  timeSeries("a", "e1", "k", sec(1), 3),
			second: cumulative("b", "e1", "k", sec(2), 4),
			wantA: []event.Series{{Key: "k", Type: event.TimeSeries, Samples: []event.Sample{
				{ID: "e1", Timestamp: sec(1), Value: 3},
			}}},
			wantB: []event.Series{{Key: "k", Type: event.Cumulative, Total: 4, Count: 1, Last: sec(2)}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name+"/batch", func(t *testing.T) {
			m := storetest.NewMemory(t, store.Policy{})
			checkResults(t, apply(t, m, tt.first, tt.second), []outcome{accepted, accepted})
			checkDump(t, m, "a", tt.wantA)
			checkDump(t, m, "b", tt.wantB)
			checkClients(t, m, []event.ClientInfo{{ClientID: "a", Events: 1}, {ClientID: "b", Events: 1}})
		})
		t.Run(tt.name+"/singly", func(t *testing.T) {
			m := storetest.NewMemory(t, store.Policy{})
			checkResults(t, apply(t, m, tt.first), []outcome{accepted})
			checkResults(t, apply(t, m, tt.second), []outcome{accepted})
			// Re-sending to either client is now a duplicate for that client.
			checkResults(t, apply(t, m, tt.second, tt.first), []outcome{duplicate, duplicate})
			checkDump(t, m, "a", tt.wantA)
			checkDump(t, m, "b", tt.wantB)
			checkClients(t, m, []event.ClientInfo{{ClientID: "a", Events: 1}, {ClientID: "b", Events: 1}})
		})
	}
}

func TestEventIDConflict(t *testing.T) {
	// Every case starts from this state of client "c".
	setup := []event.Event{
		cumulative("c", "cum-1", "hits", sec(10), 2),
		timeSeries("c", "ts-1", "temp", sec(10), 20.5),
		timeSeries("c", "ts-2", "load", sec(11), 0.5),
	}
	wantState := []event.Series{
		{Key: "hits", Type: event.Cumulative, Total: 2, Count: 1, Last: sec(10)},
		{Key: "load", Type: event.TimeSeries, Samples: []event.Sample{{ID: "ts-2", Timestamp: sec(11), Value: 0.5}}},
		{Key: "temp", Type: event.TimeSeries, Samples: []event.Sample{{ID: "ts-1", Timestamp: sec(10), Value: 20.5}}},
	}
	tests := []struct {
		name string
		e    event.Event
	}{
		{"cumulative, other value", cumulative("c", "cum-1", "hits", sec(10), 3)},
		{"cumulative, other timestamp", cumulative("c", "cum-1", "hits", sec(11), 2)},
		{"cumulative, other timestamp earlier", cumulative("c", "cum-1", "hits", sec(9), 2)},
		{"cumulative, other key, new", cumulative("c", "cum-1", "misses", sec(10), 2)},
		{"cumulative, other type, same key", timeSeries("c", "cum-1", "hits", sec(10), 2)},
		{"cumulative, other type, other key of that type", timeSeries("c", "cum-1", "temp", sec(10), 2)},
		{"cumulative, zero value instead", cumulative("c", "cum-1", "hits", sec(10), 0)},
		{"time-series, other value", timeSeries("c", "ts-1", "temp", sec(10), 20.25)},
		{"time-series, other timestamp", timeSeries("c", "ts-1", "temp", sec(12), 20.5)},
		{"time-series, one nanosecond later", timeSeries("c", "ts-1", "temp", sec(10)+1, 20.5)},
		{"time-series, other key, new", timeSeries("c", "ts-1", "humidity", sec(10), 20.5)},
		{"time-series, other key, existing", timeSeries("c", "ts-1", "load", sec(10), 20.5)},
		{"time-series, other type, same key", cumulative("c", "ts-1", "temp", sec(10), 20.5)},
		{"time-series, other type, new key", cumulative("c", "ts-1", "volts", sec(10), 20.5)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := storetest.NewMemory(t, store.Policy{})
			applyOK(t, m, setup...)
			checkResults(t, apply(t, m, tt.e), []outcome{conflict(event.FieldEventID)})
			checkDump(t, m, "c", wantState)
			checkClients(t, m, []event.ClientInfo{{ClientID: "c", Events: 3}})
			// Still a conflict when sent again, and the original still a
			// duplicate.
			checkResults(t, apply(t, m, tt.e, setup[0], setup[1], setup[2]),
				[]outcome{conflict(event.FieldEventID), duplicate, duplicate, duplicate})
			checkDump(t, m, "c", wantState)
			checkClients(t, m, []event.ClientInfo{{ClientID: "c", Events: 3}})
		})
	}
}

func TestEventTypeConflict(t *testing.T) {
	tests := []struct {
		name      string
		first     event.Event
		other     event.Event
		wantFirst []event.Series
	}{
		{
			name:      "cumulative key sent as time-series",
			first:     cumulative("a", "e1", "k", sec(1), 5),
			other:     timeSeries("a", "e2", "k", sec(2), 6),
			wantFirst: []event.Series{{Key: "k", Type: event.Cumulative, Total: 5, Count: 1, Last: sec(1)}},
		},
		{
			name:  "time-series key sent as cumulative",
			first: timeSeries("a", "e1", "k", sec(1), 5),
			other: cumulative("a", "e2", "k", sec(2), 6),
			wantFirst: []event.Series{{Key: "k", Type: event.TimeSeries, Samples: []event.Sample{
				{ID: "e1", Timestamp: sec(1), Value: 5},
			}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := storetest.NewMemory(t, store.Policy{})
			applyOK(t, m, tt.first)
			checkResults(t, apply(t, m, tt.other), []outcome{conflict(event.FieldType)})
			checkDump(t, m, "a", tt.wantFirst)
			checkClients(t, m, []event.ClientInfo{{ClientID: "a", Events: 1}})
			// Nothing was recorded: the same event is the same conflict
			// again, not a duplicate.
			checkResults(t, apply(t, m, tt.other, tt.other), []outcome{conflict(event.FieldType), conflict(event.FieldType)})
			checkDump(t, m, "a", tt.wantFirst)
			checkClients(t, m, []event.ClientInfo{{ClientID: "a", Events: 1}})

			// Another client may use the key with the other type.
			other := tt.other
			other.ClientID = "b"
			checkResults(t, apply(t, m, other), []outcome{accepted})
			checkDump(t, m, "a", tt.wantFirst)
			checkClients(t, m, []event.ClientInfo{{ClientID: "a", Events: 1}, {ClientID: "b", Events: 1}})
			d := dump(t, m, "b")
			if len(d.Series) != 1 {
				t.Fatalf("Dump(b): got %d series, want 1", len(d.Series))
			}
			if d.Series[0].Type != other.Type {
				t.Errorf("Dump(b): Type: got %v, want %v", d.Series[0].Type, other.Type)
			}
		})
	}
}

func TestCumulativeOverflow(t *testing.T) {
	tests := []struct {
		name      string
		first     []event.Event
		over      event.Event
		after     event.Event // accepted after the rejected one
		wantTotal float64     // after first
		wantLast  event.Timestamp
		wantFinal event.Series // after "after"
	}{
		{
			name: "positive",
			first: []event.Event{
				cumulative("c", "e1", "k", sec(1), math.MaxFloat64),
			},
			over:      cumulative("c", "e2", "k", sec(2), math.MaxFloat64),
			after:     cumulative("c", "e3", "k", sec(3), -math.MaxFloat64),
			wantTotal: math.MaxFloat64,
			wantLast:  sec(1),
			wantFinal: event.Series{Key: "k", Type: event.Cumulative, Total: 0, Count: 2, Last: sec(3)},
		},
		{
			name: "negative",
			first: []event.Event{
				cumulative("c", "e1", "k", sec(1), -math.MaxFloat64),
			},
			over:      cumulative("c", "e2", "k", sec(2), -1e308),
			after:     cumulative("c", "e3", "k", sec(3), 1e308),
			wantTotal: -math.MaxFloat64,
			wantLast:  sec(1),
			wantFinal: event.Series{Key: "k", Type: event.Cumulative, Total: -7.976931348623157e307, Count: 2, Last: sec(3)},
		},
		{
			name: "over several events",
			first: []event.Event{
				cumulative("c", "e1", "k", sec(1), 1e308),
			},
			over:      cumulative("c", "e2", "k", sec(5), 1e308),
			after:     cumulative("c", "e3", "k", sec(3), 5e307),
			wantTotal: 1e308,
			wantLast:  sec(1),
			wantFinal: event.Series{Key: "k", Type: event.Cumulative, Total: 1.5e308, Count: 2, Last: sec(3)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := storetest.NewMemory(t, store.Policy{})
			applyOK(t, m, tt.first...)
			checkResults(t, apply(t, m, tt.over), []outcome{conflict(event.FieldValue)})
			checkDump(t, m, "c", []event.Series{{Key: "k", Type: event.Cumulative, Total: tt.wantTotal, Count: int64(len(tt.first)), Last: tt.wantLast}})
			checkClients(t, m, []event.ClientInfo{{ClientID: "c", Events: int64(len(tt.first))}})
			// Sent again in a batch, still rejected; the next event is not.
			checkResults(t, apply(t, m, tt.over, tt.after), []outcome{conflict(event.FieldValue), accepted})
			checkDump(t, m, "c", []event.Series{tt.wantFinal})
			checkClients(t, m, []event.ClientInfo{{ClientID: "c", Events: int64(len(tt.first)) + 1}})
		})
	}
}

func TestApplyBatchIndependent(t *testing.T) {
	m := storetest.NewMemory(t, store.Policy{})
	applyOK(t, m,
		cumulative("a", "a1", "hits", sec(1), 1),
		timeSeries("b", "b1", "temp", sec(1), 20),
	)
	batch := []event.Event{
		cumulative("a", "a2", "hits", sec(2), 1),    // accepted
		cumulative("a", "a1", "hits", sec(1), 99),   // id conflict
		timeSeries("b", "b2", "temp", sec(3), 21),   // accepted
		cumulative("b", "b3", "temp", sec(3), 1),    // type conflict
		cumulative("a", "a1", "hits", sec(1), 1),    // duplicate
		timeSeries("c", "c1", "temp", sec(2), 22),   // accepted, new client
		cumulative("a", "a3", "hits", sec(4), 1),    // accepted
		timeSeries("b", "b1", "temp", sec(1), 20),   // duplicate
		timeSeries("b", "b4", "temp", sec(2), 20.5), // accepted, out of order
		cumulative("a", "a2", "hits", sec(2), 1),    // duplicate of one in this batch
	}
	checkResults(t, apply(t, m, batch...), []outcome{
		accepted,
		conflict(event.FieldEventID),
		accepted,
		conflict(event.FieldType),
		duplicate,
		accepted,
		accepted,
		duplicate,
		accepted,
		duplicate,
	})
	checkDump(t, m, "a", []event.Series{{Key: "hits", Type: event.Cumulative, Total: 3, Count: 3, Last: sec(4)}})
	checkDump(t, m, "b", []event.Series{{Key: "temp", Type: event.TimeSeries, Samples: []event.Sample{
		{ID: "b1", Timestamp: sec(1), Value: 20},
		{ID: "b4", Timestamp: sec(2), Value: 20.5},
		{ID: "b2", Timestamp: sec(3), Value: 21},
	}}})
	checkDump(t, m, "c", []event.Series{{Key: "temp", Type: event.TimeSeries, Samples: []event.Sample{
		{ID: "c1", Timestamp: sec(2), Value: 22},
	}}})
	checkClients(t, m, []event.ClientInfo{
		{ClientID: "a", Events: 3},
		{ClientID: "b", Events: 3},
		{ClientID: "c", Events: 1},
	})
}

func TestApplyEmptyBatch(t *testing.T) {
	m := storetest.NewMemory(t, store.Policy{})
	results, err := m.Apply(context.Background(), nil)
	if err != nil {
		t.Fatalf("Apply(nil): got error %v, want nil", err)
	}
	if len(results) != 0 {
		t.Errorf("Apply(nil): got %d results, want 0", len(results))
	}
	checkClients(t, m, []event.ClientInfo{})
}

func TestApplyCancelledContext(t *testing.T) {
	tests := []struct {
		name  string
		batch []event.Event
	}{
		{"one event, new client", []event.Event{timeSeries("new", "n1", "k", sec(1), 1)}},
		{"one event, known client", []event.Event{cumulative("known", "k2", "hits", sec(2), 1)}},
		{"batch", []event.Event{
			cumulative("known", "k2", "hits", sec(2), 1),
			timeSeries("new", "n1", "k", sec(1), 1),
			timeSeries("known", "k3", "temp", sec(1), 1),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := storetest.NewMemory(t, store.Policy{})
			applyOK(t, m, cumulative("known", "k1", "hits", sec(1), 1))
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			results, err := m.Apply(ctx, tt.batch)
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Apply: err: got %v, want %v", err, context.Canceled)
			}
			if len(results) != 0 {
				t.Errorf("Apply: got %d results, want none", len(results))
			}
			checkDump(t, m, "known", []event.Series{{Key: "hits", Type: event.Cumulative, Total: 1, Count: 1, Last: sec(1)}})
			checkNotFound(t, m, "new")
			checkClients(t, m, []event.ClientInfo{{ClientID: "known", Events: 1}})
			// Nothing was recorded: the same events are accepted later.
			for i, r := range apply(t, m, tt.batch...) {
				checkResult(t, fmt.Sprintf("later result %d", i), r, accepted)
			}
		})
	}
}

func TestDumpUnknownClient(t *testing.T) {
	m := storetest.NewMemory(t, store.Policy{})
	checkNotFound(t, m, "nobody")
	applyOK(t, m, timeSeries("somebody", "e1", "k", sec(1), 1))
	checkNotFound(t, m, "nobody")
	checkNotFound(t, m, "Somebody")
	checkNotFound(t, m, "")
}

func TestDumpReturnsCopy(t *testing.T) {
	m := storetest.NewMemory(t, store.Policy{})
	applyOK(t, m,
		timeSeries("c", "e2", "temp", sec(2), 2),
		timeSeries("c", "e1", "temp", sec(1), 1),
		cumulative("c", "e3", "hits", sec(3), 3),
	)
	want := []event.Series{
		{Key: "hits", Type: event.Cumulative, Total: 3, Count: 1, Last: sec(3)},
		{Key: "temp", Type: event.TimeSeries, Samples: []event.Sample{
			{ID: "e1", Timestamp: sec(1), Value: 1},
			{ID: "e2", Timestamp: sec(2), Value: 2},
		}},
	}

	d := dump(t, m, "c")
	checkSeries(t, "c", d.Series, want)
	if len(d.Series) != 2 || len(d.Series[1].Samples) != 2 {
		t.Fatalf("Dump: unexpected shape %v", d.Series)
	}
	d.Series[1].Samples[0] = event.Sample{ID: "changed", Timestamp: sec(9), Value: 99}
	d.Series[1].Samples[1].Value = -1
	slices.Reverse(d.Series[1].Samples)
	d.Series[1].Samples = append(d.Series[1].Samples, event.Sample{ID: "added"})
	d.Series[0].Total = 100
	d.Series[0].Count = 100
	d.Series[0].Key = "renamed"
	d.Series[0], d.Series[1] = d.Series[1], d.Series[0]
	d.ClientID = "other"

	checkDump(t, m, "c", want)

	// Samples appended to a returned slice must not show up later either,
	// nor may a later Apply write into an earlier dump.
	d2 := dump(t, m, "c")
	d2.Series[1].Samples = append(d2.Series[1].Samples[:1], event.Sample{ID: "x", Timestamp: sec(5), Value: 5})
	applyOK(t, m, timeSeries("c", "e4", "temp", sec(4), 4))
	if got := d2.Series[1].Samples[1]; got != (event.Sample{ID: "x", Timestamp: sec(5), Value: 5}) {
		t.Errorf("earlier dump changed by Apply: got %v, want %v", got, event.Sample{ID: "x", Timestamp: sec(5), Value: 5})
	}
	checkDump(t, m, "c", []event.Series{
		{Key: "hits", Type: event.Cumulative, Total: 3, Count: 1, Last: sec(3)},
		{Key: "temp", Type: event.TimeSeries, Samples: []event.Sample{
			{ID: "e1", Timestamp: sec(1), Value: 1},
			{ID: "e2", Timestamp: sec(2), Value: 2},
			{ID: "e4", Timestamp: sec(4), Value: 4},
		}},
	})
}

func TestDumpSeriesSortedByKey(t *testing.T) {
	m := storetest.NewMemory(t, store.Policy{})
	applyOK(t, m,
		timeSeries("c", "1", "zeta", sec(1), 1),
		cumulative("c", "2", "alpha", sec(1), 1),
		timeSeries("c", "3", "Beta", sec(1), 1),
		cumulative("c", "4", "alpha.sub", sec(1), 1),
		timeSeries("c", "5", "alph", sec(1), 1),
		cumulative("c", "6", "mu", sec(1), 1),
	)
	applyOK(t, m, cumulative("c", "7", "a", sec(1), 1))
	d := dump(t, m, "c")
	var got []string
	for _, s := range d.Series {
		got = append(got, s.Key)
	}
	want := []string{"Beta", "a", "alph", "alpha", "alpha.sub", "mu", "zeta"}
	if !slices.Equal(got, want) {
		t.Errorf("Dump: keys: got %q, want %q", got, want)
	}
}

func TestClients(t *testing.T) {
	m := storetest.NewMemory(t, store.Policy{})
	checkClients(t, m, []event.ClientInfo{})

	applyOK(t, m,
		timeSeries("zulu", "1", "k", sec(1), 1),
		cumulative("alpha", "1", "k", sec(1), 1),
		cumulative("alpha", "2", "k", sec(2), 1),
		cumulative("mike", "1", "k", sec(1), 1),
		timeSeries("alpha", "3", "t", sec(1), 1),
		timeSeries("Bravo", "1", "t", sec(1), 1),
	)
	checkClients(t, m, []event.ClientInfo{
		{ClientID: "Bravo", Events: 1},
		{ClientID: "alpha", Events: 3},
		{ClientID: "mike", Events: 1},
		{ClientID: "zulu", Events: 1},
	})

	// Duplicates and conflicts are not counted.
	checkResults(t, apply(t, m,
		cumulative("alpha", "1", "k", sec(1), 1),                 // duplicate
		cumulative("alpha", "1", "k", sec(1), 2),                 // id conflict
		timeSeries("alpha", "4", "k", sec(1), 1),                 // type conflict
		cumulative("mike", "2", "k", sec(2), math.MaxFloat64),    // accepted
		cumulative("mike", "3", "k", sec(3), math.MaxFloat64),    // overflow
		timeSeries("zulu", "1", "k", sec(1), 1),                  // duplicate
		timeSeries("zulu", "2", "k", sec(1), 1),                  // accepted
		cumulative("alpha", "5", "k", sec(5), 1),                 // accepted
		timeSeries("Bravo", "1", "t", sec(1), 1),                 // duplicate
		timeSeries("charlie", "1", "t", sec(1), 1),               // accepted
		timeSeries("charlie", "1", "t", sec(1), 2),               // id conflict
		timeSeries("charlie", "1", "t", sec(1), 1),               // duplicate
		cumulative("charlie", "2", "t", sec(1), 1),               // type conflict
		cumulative("charlie", "3", "other", sec(1), 1),           // accepted
		timeSeries("zulu", "3", "k", event.Timestamp(0), 1),      // accepted
		cumulative("mike", "4", "k", sec(4), -math.MaxFloat64/2), // accepted
	), []outcome{
		duplicate,
		conflict(event.FieldEventID),
		conflict(event.FieldType),
		accepted,
		conflict(event.FieldValue),
		duplicate,
		accepted,
		accepted,
		duplicate,
		accepted,
		conflict(event.FieldEventID),
		duplicate,
		conflict(event.FieldType),
		accepted,
		accepted,
		accepted,
	})
	checkClients(t, m, []event.ClientInfo{
		{ClientID: "Bravo", Events: 1},
		{ClientID: "alpha", Events: 4},
		{ClientID: "charlie", Events: 2},
		{ClientID: "mike", Events: 3},
		{ClientID: "zulu", Events: 3},
	})
}

func TestCancelledContextReads(t *testing.T) {
	m := storetest.NewMemory(t, store.Policy{})
	applyOK(t, m, timeSeries("c", "e1", "k", sec(1), 1))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if d, err := m.Dump(ctx, "c"); !errors.Is(err, context.Canceled) || d != nil {
		t.Errorf("Dump: got (%v, %v), want (nil, %v)", d, err, context.Canceled)
	}
	if infos, err := m.Clients(ctx); !errors.Is(err, context.Canceled) || infos != nil {
		t.Errorf("Clients: got (%v, %v), want (nil, %v)", infos, err, context.Canceled)
	}
}

// TestConcurrentSameEvents sends the same events from many goroutines at
// once, in batches and singly, and checks each is accepted exactly once.
func TestConcurrentSameEvents(t *testing.T) {
	for round := range 20 {
		concurrentSameEvents(t, round)
		if t.Failed() {
			t.Fatalf("failed in round %d", round)
		}
	}
}

// concurrentSameEvents is one round of TestConcurrentSameEvents, on a new
// store.
func concurrentSameEvents(t *testing.T, round int) {
	t.Helper()
	const goroutines = 16
	clientIDs := []string{"c0", "c1", "c2", "c3", "c4"}
	// Per client: 15 "hits" of 0.1, 10 "bytes" of 2.5, 15 "latency"
	// samples. The same event ids are used by every client.
	var events []event.Event
	for i := range 40 {
		id := fmt.Sprintf("ev-%02d", i)
		for _, c := range clientIDs {
			switch {
			case i < 15:
				events = append(events, cumulative(c, id, "hits", sec(int64(i)), 0.1))
			case i < 25:
				events = append(events, cumulative(c, id, "bytes", sec(int64(i)), 2.5))
			default:
				// Timestamps 39 down to 25: out of order.
				events = append(events, timeSeries(c, id, "latency", sec(int64(64-i)), float64(i)))
			}
		}
	}
	const distinct = 5 * 40
	m := storetest.NewMemory(t, store.Policy{})

	type tally struct{ accepted, duplicates, errors int }
	tallies := make([]tally, goroutines)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			order := slices.Clone(events)
			rng := rand.New(rand.NewPCG(uint64(g), uint64(round)))
			if g%4 != 0 { // a quarter send them in the same order
				rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
			}
			batch := 1 // g%3 == 0: one event per call
			switch g % 3 {
			case 1:
				batch = 7
			case 2:
				batch = len(order)
			}
			<-start
			for chunk := range slices.Chunk(order, batch) {
				results, err := m.Apply(context.Background(), chunk)
				if err != nil {
					t.Errorf("goroutine %d: Apply: %v", g, err)
					return
				}
				for _, r := range results {
					switch {
					case r.Err != nil:
						tallies[g].errors++
						t.Errorf("goroutine %d: unexpected error %v", g, r.Err)
					case r.Duplicate:
						tallies[g].duplicates++
					default:
						tallies[g].accepted++
					}
				}
			}
		})
	}
	close(start)
	wg.Wait()

	var total tally
	for _, tl := range tallies {
		total.accepted += tl.accepted
		total.duplicates += tl.duplicates
		total.errors += tl.errors
	}
	if total.accepted != distinct {
		t.Errorf("accepted: got %d, want %d", total.accepted, distinct)
	}
	if total.duplicates != goroutines*distinct-distinct {
		t.Errorf("duplicates: got %d, want %d", total.duplicates, goroutines*distinct-distinct)
	}
	if total.errors != 0 {
		t.Errorf("errors: got %d, want 0", total.errors)
	}

	wantLatency := []event.Sample{
		{ID: "ev-39", Timestamp: sec(25), Value: 39},
		{ID: "ev-38", Timestamp: sec(26), Value: 38},
		{ID: "ev-37", Timestamp: sec(27), Value: 37},
		{ID: "ev-36", Timestamp: sec(28), Value: 36},
		{ID: "ev-35", Timestamp: sec(29), Value: 35},
		{ID: "ev-34", Timestamp: sec(30), Value: 34},
		{ID: "ev-33", Timestamp: sec(31), Value: 33},
		{ID: "ev-32", Timestamp: sec(32), Value: 32},
		{ID: "ev-31", Timestamp: sec(33), Value: 31},
		{ID: "ev-30", Timestamp: sec(34), Value: 30},
		{ID: "ev-29", Timestamp: sec(35), Value: 29},
		{ID: "ev-28", Timestamp: sec(36), Value: 28},
		{ID: "ev-27", Timestamp: sec(37), Value: 27},
		{ID: "ev-26", Timestamp: sec(38), Value: 26},
		{ID: "ev-25", Timestamp: sec(39), Value: 25},
	}
	for _, c := range clientIDs {
		checkDump(t, m, c, []event.Series{
			{Key: "bytes", Type: event.Cumulative, Total: 25, Count: 10, Last: sec(24)},
			{Key: "hits", Type: event.Cumulative, Total: 1.5, Count: 15, Last: sec(14)},
			{Key: "latency", Type: event.TimeSeries, Samples: wantLatency},
		})
	}
	checkClients(t, m, []event.ClientInfo{
		{ClientID: "c0", Events: 40},
		{ClientID: "c1", Events: 40},
		{ClientID: "c2", Events: 40},
		{ClientID: "c3", Events: 40},
		{ClientID: "c4", Events: 40},
	})
}

// TestConcurrentNewClients has many goroutines send, at once, the first
// event of many new clients: each client must be created once and keep its
// event.
func TestConcurrentNewClients(t *testing.T) {
	const (
		goroutines = 16
		newClients = 300
	)
	for round := range 5 {
		m := storetest.NewMemory(t, store.Policy{})
		var events []event.Event
		for i := range newClients {
			events = append(events, cumulative(fmt.Sprintf("client-%03d", i), "first", "k", sec(1), 0.5))
		}
		accepted := make([]int, goroutines)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for g := range goroutines {
			wg.Go(func() {
				order := slices.Clone(events)
				rng := rand.New(rand.NewPCG(uint64(g), uint64(round)))
				rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
				<-start
				for i := range order {
					results, err := m.Apply(context.Background(), order[i:i+1])
					if err != nil {
						t.Errorf("goroutine %d: Apply: %v", g, err)
						return
					}
					if r := results[0]; r.Err != nil {
						t.Errorf("goroutine %d: unexpected error %v", g, r.Err)
					} else if !r.Duplicate {
						accepted[g]++
					}
				}
			})
		}
		close(start)
		wg.Wait()

		total := 0
		for _, n := range accepted {
			total += n
		}
		if total != newClients {
			t.Errorf("round %d: accepted: got %d, want %d", round, total, newClients)
		}
		infos := clients(t, m)
		if len(infos) != newClients {
			t.Fatalf("round %d: Clients: got %d clients, want %d", round, len(infos), newClients)
		}
		for i, info := range infos {
			want := event.ClientInfo{ClientID: fmt.Sprintf("client-%03d", i), Events: 1}
			if info != want {
				t.Errorf("round %d: Clients[%d]: got %v, want %v", round, i, info, want)
			}
			checkDump(t, m, want.ClientID, []event.Series{{Key: "k", Type: event.Cumulative, Total: 0.5, Count: 1, Last: sec(1)}})
		}
		if t.Failed() {
			t.Fatalf("failed in round %d", round)
		}
	}
}

// TestConcurrentReadWrite dumps and lists clients while events are written,
// and checks every read sees a consistent state.
func TestConcurrentReadWrite(t *testing.T) {
	const (
		writers   = 4
		perWriter = 1000 // half to each client
		readers   = 3
		maxReads  = 10_000 // bound on a reader's loop; writers end it sooner
	)
	clientIDs := []string{"c0", "c1"}
	// Writer w sends, for i in [0, perWriter): to client i%2, a cumulative
	// "n" of value 1 when i%4 < 2, else a "t" sample with timestamps going
	// backwards.
	batches := make([][]event.Event, writers)
	for w := range writers {
		for i := range perWriter {
			c := clientIDs[i%2]
			id := fmt.Sprintf("w%d-%d", w, i)
			if i%4 < 2 {
				batches[w] = append(batches[w], cumulative(c, id, "n", sec(int64(i)), 1))
			} else {
				batches[w] = append(batches[w], timeSeries(c, id, "t", sec(int64(5000-i)), float64(i)))
			}
		}
	}

	m := storetest.NewMemory(t, store.Policy{})
	start := make(chan struct{})
	done := make(chan struct{})
	var writersWG, readersWG sync.WaitGroup
	for w := range writers {
		writersWG.Go(func() {
			<-start
			// Writer w sends w+1 events per call; then re-sends its first
			// call, now all duplicates.
			for chunk := range slices.Chunk(batches[w], w+1) {
				results, err := m.Apply(context.Background(), chunk)
				if err != nil {
					t.Errorf("writer %d: Apply: %v", w, err)
					return
				}
				for _, r := range results {
					if r.Duplicate || r.Err != nil {
						t.Errorf("writer %d: got {Duplicate: %v, Err: %v}, want accepted", w, r.Duplicate, r.Err)
					}
				}
			}
			results, err := m.Apply(context.Background(), batches[w][:w+1])
			if err != nil {
				t.Errorf("writer %d: Apply: %v", w, err)
				return
			}
			for _, r := range results {
				if !r.Duplicate || r.Err != nil {
					t.Errorf("writer %d: re-send: got {Duplicate: %v, Err: %v}, want duplicate", w, r.Duplicate, r.Err)
				}
			}
		})
	}
	for r := range readers {
		readersWG.Go(func() {
			<-start
			lastSeen := map[string]int64{}
			for range maxReads {
				for _, c := range clientIDs {
					if msg := checkConsistentRead(m, c, lastSeen); msg != "" {
						t.Errorf("reader %d: %s", r, msg)
						return
					}
				}
				select {
				case <-done:
					return
				default:
				}
			}
		})
	}
	close(start)
	writersWG.Wait()
	close(done)
	readersWG.Wait()

	checkClients(t, m, []event.ClientInfo{{ClientID: "c0", Events: 2000}, {ClientID: "c1", Events: 2000}})
	for c, last := range map[string]event.Timestamp{"c0": sec(996), "c1": sec(997)} {
		d := dump(t, m, c)
		if len(d.Series) != 2 {
			t.Fatalf("Dump(%q): got %d series, want 2", c, len(d.Series))
		}
		n, ts := d.Series[0], d.Series[1]
		want := event.Series{Key: "n", Type: event.Cumulative, Total: 1000, Count: 1000, Last: last}
		if n.Key != want.Key || n.Type != want.Type || n.Total != want.Total || n.Count != want.Count || n.Last != want.Last {
			t.Errorf("Dump(%q): series n: got %+v, want %+v", c, n, want)
		}
		if ts.Key != "t" || ts.Type != event.TimeSeries || len(ts.Samples) != 1000 {
			t.Errorf("Dump(%q): series t: got key %q type %v with %d samples, want key \"t\" type TIME-SERIES with 1000", c, ts.Key, ts.Type, len(ts.Samples))
		}
		if msg := checkSamplesOrdered(ts.Samples); msg != "" {
			t.Errorf("Dump(%q): %s", c, msg)
		}
	}
}

// checkConsistentRead reads client c between two Clients calls and returns
// what is wrong with what it saw, or "". lastSeen holds, per client, the
// number of events a reader saw in its last dump.
func checkConsistentRead(m *store.Memory, c string, lastSeen map[string]int64) string {
	ctx := context.Background()
	count := func() (int64, string) {
		infos, err := m.Clients(ctx)
		if err != nil {
			return 0, fmt.Sprintf("Clients: %v", err)
		}
		if !slices.IsSortedFunc(infos, func(a, b event.ClientInfo) int { return strings.Compare(a.ClientID, b.ClientID) }) {
			return 0, fmt.Sprintf("Clients: not sorted by id: %v", infos)
		}
		for _, info := range infos {
			if info.ClientID == c {
				return info.Events, ""
			}
		}
		return 0, ""
	}
	before, msg := count()
	if msg != "" {
		return msg
	}
	d, err := m.Dump(ctx, c)
	if errors.Is(err, event.ErrNotFound) {
		if before > 0 {
			return fmt.Sprintf("Dump(%q): not found after Clients listed it with %d events", c, before)
		}
		return ""
	}
	if err != nil {
		return fmt.Sprintf("Dump(%q): %v", c, err)
	}
	after, msg := count()
	if msg != "" {
		return msg
	}
	var held int64
	for i, s := range d.Series {
		if i > 0 && d.Series[i-1].Key >= s.Key {
			return fmt.Sprintf("Dump(%q): series not sorted by key", c)
		}
		switch s.Key {
		case "n":
			if s.Type != event.Cumulative {
				return fmt.Sprintf("Dump(%q): n: type %v, want CUMULATIVE", c, s.Type)
			}
			if s.Total != float64(s.Count) {
				return fmt.Sprintf("Dump(%q): n: Total %v with Count %d, want equal (every value is 1)", c, s.Total, s.Count)
			}
			held += s.Count
		case "t":
			if s.Type != event.TimeSeries {
				return fmt.Sprintf("Dump(%q): t: type %v, want TIME-SERIES", c, s.Type)
			}
			if msg := checkSamplesOrdered(s.Samples); msg != "" {
				return fmt.Sprintf("Dump(%q): %s", c, msg)
			}
			held += int64(len(s.Samples))
		default:
			return fmt.Sprintf("Dump(%q): unexpected key %q", c, s.Key)
		}
	}
	if held < before || held > after {
		return fmt.Sprintf("Dump(%q): holds %d events, want between %d (Clients before) and %d (Clients after)", c, held, before, after)
	}
	if held < lastSeen[c] {
		return fmt.Sprintf("Dump(%q): holds %d events, fewer than the %d of an earlier dump", c, held, lastSeen[c])
	}
	lastSeen[c] = held
	return ""
}

// checkSamplesOrdered returns what is wrong with the order of samples, or "".
func checkSamplesOrdered(samples []event.Sample) string {
	ids := make(map[string]bool, len(samples))
	for i, s := range samples {
		if i > 0 && samples[i-1].Timestamp > s.Timestamp {
			return fmt.Sprintf("samples %d and %d out of order: %v then %v", i-1, i, samples[i-1], s)
		}
		if ids[s.ID] {
			return fmt.Sprintf("sample id %q held twice", s.ID)
		}
		ids[s.ID] = true
	}
	return ""
}
