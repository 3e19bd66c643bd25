package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/montool/montool/internal/event"
	"github.com/montool/montool/internal/store"
	"github.com/montool/montool/internal/storetest"
)

// fillOld applies n events of each kind for client c, all older than an
// hour before now: with no retention yet, as a server started without one
// would hold them. CUMULATIVE values alternate 1 and 0.5.
func fillOld(t *testing.T, m *store.Memory, c string, n int) (total float64) {
	t.Helper()
	old := event.FromTime(time.Now().Add(-2 * time.Hour))
	var events []event.Event
	for i := range n {
		v := 1.0
		if i%2 == 1 {
			v = 0.5
		}
		total += v
		ts := old + event.Timestamp(i)
		events = append(events,
			cumulative(c, fmt.Sprintf("c%d", i), "count", ts, v),
			timeSeries(c, fmt.Sprintf("t%d", i), "gauge", ts, float64(i)))
	}
	for _, r := range apply(t, m, events...) {
		if r.Err != nil || r.Duplicate {
			t.Fatalf("fill: got %+v, want accepted", r)
		}
	}
	return total
}

func TestRetention(t *testing.T) {
	ctx := context.Background()
	m := storetest.NewMemory(t, store.Policy{})
	const n = 2500 // two full chunks of 1,024 and a part of one
	total := fillOld(t, m, "c", n)
	setPolicy(t, m, store.Policy{Retention: time.Hour})

	// Old events are refused as too old, before the dedupe: whether stored
	// or not, and whether their rows are dropped yet or not.
	old := event.FromTime(time.Now().Add(-2 * time.Hour))
	for _, e := range []event.Event{
		timeSeries("c", "t0", "gauge", old, 0),      // stored
		timeSeries("c", "new", "gauge", old, 0),     // never seen
		cumulative("c", "c0", "count", old, 1),      // stored
		cumulative("other", "x", "count", old-1, 1), // a client never seen
	} {
		if r := apply(t, m, e)[0]; !errors.Is(r.Err, event.ErrTooOld) {
			t.Errorf("event %s/%s an hour past retention: got %+v, want too old", e.ClientID, e.ID, r)
		}
	}

	count := int64(n)
	check := func(when string, wantSamples int) {
		t.Helper()
		d, err := m.Dump(ctx, "c")
		if err != nil {
			t.Fatalf("%s: Dump: %v", when, err)
		}
		for _, s := range d.Series {
			switch s.Key {
			case "count":
				if s.Total != total || s.Count != count {
					t.Errorf("%s: CUMULATIVE total %v of %d events, want %v of %d", when, s.Total, s.Count, total, count)
				}
			case "gauge":
				if len(s.Samples) != wantSamples {
					t.Errorf("%s: %d samples, want %d", when, len(s.Samples), wantSamples)
				}
			}
		}
	}
	check("before Prune", 0) // views leave out what retention does not keep

	dropped, err := m.Prune(ctx, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(2 * 2 * 1024); dropped != want {
		t.Errorf("Prune dropped %d events, want the %d of the full chunks of both keys", dropped, want)
	}
	check("after Prune", 0)
	if again, err := m.Prune(ctx, time.Now()); err != nil || again != 0 {
		t.Errorf("Prune again = %d, %v; want nothing more", again, err)
	}

	// New events go on, into the same keys.
	now := event.FromTime(time.Now())
	results := apply(t, m, timeSeries("c", "fresh-t", "gauge", now, 1), cumulative("c", "fresh-c", "count", now, 2))
	for _, r := range results {
		if r.Err != nil || r.Duplicate {
			t.Errorf("fresh event: got %+v, want accepted", r)
		}
	}
	total, count = total+2, count+1
	check("after a fresh event", 1)
	clients, err := m.Clients(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// n CUMULATIVE events and the fresh one, and the TIME-SERIES rows not
	// dropped yet (those of the last chunk) and the fresh one.
	if want := int64(n + 1 + (n - 2048) + 1); len(clients) != 1 || clients[0].Events != want {
		t.Errorf("Clients = %+v, want c with %d events", clients, want)
	}
}

// TestRetentionExportKeepsTotals exports a store whose CUMULATIVE rows were
// partly dropped: a store rebuilt from the export holds the same totals.
func TestRetentionExportKeepsTotals(t *testing.T) {
	ctx := context.Background()
	src := storetest.NewMemory(t, store.Policy{})
	total := fillOld(t, src, "c", 2500)
	setPolicy(t, src, store.Policy{Retention: time.Hour})
	if _, err := src.Prune(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	dst := storetest.NewMemory(t, store.Policy{})
	var bases int
	err := src.Export(ctx, func(events []event.Event) error {
		_, err := dst.Apply(ctx, events)
		return err
	}, func(b *store.Base) error {
		bases++
		if b.ClientID != "c" || b.Key != "count" || b.Count != 2048 {
			t.Errorf("Base = %s/%s of %d events, want c/count of 2048", b.ClientID, b.Key, b.Count)
		}
		return dst.LoadBase(b)
	})
	if err != nil {
		t.Fatal(err)
	}
	if bases != 1 {
		t.Errorf("Export gave %d key totals, want 1", bases)
	}
	d, err := dst.Dump(ctx, "c")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range d.Series {
		if s.Key == "count" && (s.Total != total || s.Count != 2500) {
			t.Errorf("rebuilt CUMULATIVE total %v of %d events, want %v of 2500", s.Total, s.Count, total)
		}
	}
	// LoadBase onto a TIME-SERIES key is a conflict.
	if err := dst.LoadBase(&store.Base{ClientID: "c", Key: "gauge", Count: 1}); !errors.Is(err, event.ErrConflict) {
		t.Errorf("LoadBase onto a TIME-SERIES key: err %v, want a conflict", err)
	}
}
