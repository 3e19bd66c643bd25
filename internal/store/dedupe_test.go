package store_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/montool/montool/internal/event"
	"github.com/montool/montool/internal/store"
	"github.com/montool/montool/internal/storetest"
)

// TestManyIDsPerClient sends one client enough events that its dedupe index
// grows and splits many times, then sends them all again: every event must
// be accepted once and found again as a duplicate, and an id sent again
// with other content must still be a conflict.
func TestManyIDsPerClient(t *testing.T) {
	tests := []struct {
		name string
		id   func(i int) string
	}{
		{"UUID ids", func(i int) string { return fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i*2654435761) }},
		{"ids that are not UUIDs", func(i int) string { return fmt.Sprintf("event-%d", i) }},
		{"both kinds", func(i int) string {
			if i%2 == 0 {
				return fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i)
			}
			return fmt.Sprintf("e%d", i)
		}},
	}
	const n = 40_000 // over ten times the slots of one full table
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := storetest.NewMemory(t, store.Policy{})
			ctx := context.Background()
			events := make([]event.Event, n)
			for i := range events {
				key := "gauge"
				if i%3 == 0 {
					key = "other"
				}
				events[i] = timeSeries("c", tt.id(i), key, sec(int64(i)), float64(i))
			}
			for _, round := range []struct {
				name          string
				wantDuplicate bool
			}{{"first", false}, {"again", true}} {
				for start := 0; start < n; start += 1000 {
					results, err := m.Apply(ctx, events[start:start+1000])
					if err != nil {
						t.Fatal(err)
					}
					for j, r := range results {
						if r.Err != nil || r.Duplicate != round.wantDuplicate {
							t.Fatalf("%s round, event %d: got {Duplicate: %v, Err: %v}, want Duplicate %v",
								round.name, start+j, r.Duplicate, r.Err, round.wantDuplicate)
						}
					}
				}
			}
			changed := events[n/2]
			changed.Value++
			results, err := m.Apply(ctx, []event.Event{changed})
			if err != nil {
				t.Fatal(err)
			}
			if !errors.Is(results[0].Err, event.ErrConflict) {
				t.Errorf("id sent again with another value: got %+v, want a conflict", results[0])
			}
			clients, err := m.Clients(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(clients) != 1 || clients[0].Events != n {
				t.Errorf("Clients = %+v, want one client with %d events", clients, n)
			}
			// The rows span many chunks: every event comes back, in order.
			d, err := m.Dump(ctx, "c")
			if err != nil {
				t.Fatal(err)
			}
			want := map[string][]event.Sample{}
			for _, e := range events {
				want[e.Key] = append(want[e.Key], event.Sample{ID: e.ID, Timestamp: e.Timestamp, Value: e.Value})
			}
			for _, s := range d.Series {
				if !slices.Equal(s.Samples, want[s.Key]) {
					t.Errorf("Dump: series %q has %d samples, want the %d sent, in order", s.Key, len(s.Samples), len(want[s.Key]))
				}
				delete(want, s.Key)
			}
			if len(want) != 0 {
				t.Errorf("Dump: series missing: %v", slices.Collect(maps.Keys(want)))
			}
		})
	}
}
