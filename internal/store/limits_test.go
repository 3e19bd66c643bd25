package store_test

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/montool/montool/internal/event"
	"github.com/montool/montool/internal/store"
	"github.com/montool/montool/internal/storetest"
)

func TestLimits(t *testing.T) {
	tests := []struct {
		name   string
		limits store.Limits
		// first is applied and must be accepted; then over is refused with
		// wantKind, and first sent again is still all duplicates.
		first    []event.Event
		over     event.Event
		wantKind error
	}{
		{
			name:   "max clients",
			limits: store.Limits{MaxClients: 2},
			first: []event.Event{
				cumulative("c1", "e1", "n", sec(1), 1),
				cumulative("c2", "e1", "n", sec(1), 1),
				cumulative("c1", "e2", "m", sec(2), 1), // an existing client may go on
			},
			over:     cumulative("c3", "e1", "n", sec(1), 1),
			wantKind: event.ErrLimit,
		},
		{
			name:   "max keys per client",
			limits: store.Limits{MaxKeysPerClient: 2},
			first: []event.Event{
				timeSeries("c1", "e1", "a", sec(1), 1),
				timeSeries("c1", "e2", "b", sec(1), 1),
				timeSeries("c1", "e3", "a", sec(2), 1), // an existing key may go on
				timeSeries("c2", "e1", "c", sec(1), 1), // the limit is per client
			},
			over:     timeSeries("c1", "e4", "c", sec(2), 1),
			wantKind: event.ErrLimit,
		},
		{
			name: "max bytes",
			// More than a client takes before its events, less than with them.
			limits: store.Limits{MaxBytes: 600},
			first: []event.Event{
				timeSeries("c1", "e1", "a", sec(1), 1),
				timeSeries("c1", "e2", "a", sec(2), 1), // the same run: the store was not yet full
			},
			over:     timeSeries("c1", "e3", "a", sec(3), 1),
			wantKind: event.ErrStorageFull,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			m := storetest.NewMemory(t, store.Policy{Limits: tt.limits})
			results, err := m.Apply(ctx, tt.first)
			if err != nil {
				t.Fatal(err)
			}
			for i, r := range results {
				if r.Err != nil || r.Duplicate {
					t.Fatalf("first events: #%d got %+v, want accepted", i, r)
				}
			}
			before := m.Bytes()
			results, err = m.Apply(ctx, []event.Event{tt.over})
			if err != nil {
				t.Fatal(err)
			}
			if !errors.Is(results[0].Err, tt.wantKind) {
				t.Errorf("over the limit: got %+v, want an error of kind %v", results[0], tt.wantKind)
			}
			if m.Bytes() != before {
				t.Errorf("Bytes went from %d to %d with a refused event", before, m.Bytes())
			}
			results, err = m.Apply(ctx, tt.first)
			if err != nil {
				t.Fatal(err)
			}
			for i, r := range results {
				if !r.Duplicate {
					t.Errorf("first events again: #%d got %+v, want a duplicate", i, r)
				}
			}
			clients, err := m.Clients(ctx)
			if err != nil {
				t.Fatal(err)
			}
			total := int64(0)
			for _, c := range clients {
				total += c.Events
			}
			if total != int64(len(tt.first)) {
				t.Errorf("store holds %d events, want the %d first ones", total, len(tt.first))
			}
		})
	}
}

// TestDeleteFreesLimits checks that what a deleted client took of the
// limits is free again: its place among MaxClients and its bytes.
func TestDeleteFreesLimits(t *testing.T) {
	ctx := context.Background()
	m := storetest.NewMemory(t, store.Policy{Limits: store.Limits{MaxClients: 1}})
	empty := m.Bytes()
	for round := range 3 {
		id := "c" + strconv.Itoa(round)
		results, err := m.Apply(ctx, []event.Event{cumulative(id, "e1", "n", sec(1), 1)})
		if err != nil || results[0].Err != nil {
			t.Fatalf("round %d: Apply = %+v, %v; want accepted", round, results, err)
		}
		if m.Bytes() <= empty {
			t.Errorf("round %d: Bytes = %d with a client, want more than the %d of none", round, m.Bytes(), empty)
		}
		if _, err := m.Delete(ctx, id); err != nil {
			t.Fatalf("round %d: Delete: %v", round, err)
		}
		if m.Bytes() != empty {
			t.Errorf("round %d: Bytes = %d after Delete, want %d", round, m.Bytes(), empty)
		}
	}
}

// TestLimitsChangeWhileApplying changes the limits and the retention while
// events are being applied, as a reload of the configuration does: every
// Apply sees one set of limits whole (no race), and the new ones hold for
// what comes after.
func TestLimitsChangeWhileApplying(t *testing.T) {
	m := storetest.NewMemory(t, store.Policy{Limits: store.Limits{MaxClients: 1000}})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 200 {
			setPolicy(t, m, store.Policy{Limits: store.Limits{MaxClients: 1000 + i%2}})
		}
	}()
	for i := range 200 {
		if _, err := m.Apply(context.Background(), []event.Event{cumulative("c"+strconv.Itoa(i%10), "e"+strconv.Itoa(i), "n", sec(1), 1)}); err != nil {
			t.Fatalf("Apply: %v", err)
		}
	}
	<-done

	setPolicy(t, m, store.Policy{Limits: store.Limits{MaxClients: 10}})
	res := apply(t, m, cumulative("c-new", "e1", "n", sec(1), 1))
	if !errors.Is(res[0].Err, event.ErrLimit) {
		t.Errorf("a new client past the lowered max clients: %v, want a limit error", res[0].Err)
	}
	setPolicy(t, m, store.Policy{})
	applyOK(t, m, cumulative("c-new", "e1", "n", sec(1), 1))
	setPolicy(t, m, store.Policy{Retention: time.Hour})
	if res := apply(t, m, cumulative("c-new", "e2", "n", sec(1), 1)); !errors.Is(res[0].Err, event.ErrTooOld) {
		t.Errorf("an old event after retention was set: %v, want too old", res[0].Err)
	}
}

// setPolicy sets the policy of m, failing t if it does not validate.
func setPolicy(t *testing.T, m *store.Memory, p store.Policy) {
	t.Helper()
	if err := m.SetPolicy(p); err != nil {
		t.Errorf("SetPolicy(%+v): %v", p, err)
	}
}
