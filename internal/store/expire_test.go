package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/montool/montool/internal/event"
	"github.com/montool/montool/internal/store"
	"github.com/montool/montool/internal/storetest"
)

// TestExpireIdle forgets the clients that had no event since a time: any
// event counts, a duplicate or a refused one too.
func TestExpireIdle(t *testing.T) {
	ctx := context.Background()
	m := storetest.NewMemory(t, store.Policy{})
	apply := func(events ...event.Event) {
		t.Helper()
		if _, err := m.Apply(ctx, events); err != nil {
			t.Fatal(err)
		}
	}
	apply(cumulative("idle", "e1", "n", sec(1), 1), cumulative("idle", "e2", "n", sec(2), 1))
	apply(cumulative("dup", "e1", "n", sec(1), 1))
	apply(cumulative("conflict", "e1", "n", sec(1), 1))
	apply(cumulative("busy", "e1", "n", sec(1), 1))
	cutoff := time.Now()
	for !time.Now().After(cutoff) { // the clock may not have moved yet
	}
	apply(cumulative("dup", "e1", "n", sec(1), 1))      // a duplicate
	apply(cumulative("conflict", "e1", "n", sec(1), 2)) // refused
	apply(cumulative("busy", "e2", "n", sec(2), 1))     // new
	if got, err := m.ExpireIdle(ctx, cutoff.Add(-time.Hour)); err != nil || len(got) != 0 {
		t.Fatalf("ExpireIdle an hour before = %+v, %v; want nothing", got, err)
	}
	got, err := m.ExpireIdle(ctx, cutoff)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ClientID != "idle" || got[0].Events != 2 || got[0].LastSeen.After(cutoff) {
		t.Fatalf("ExpireIdle = %+v, want only idle, with its 2 events, last seen before the cutoff", got)
	}
	if _, err := m.Dump(ctx, "idle"); !errors.Is(err, event.ErrNotFound) {
		t.Errorf("Dump(idle) after ExpireIdle: err %v, want ErrNotFound", err)
	}
	clients, err := m.Clients(ctx)
	if err != nil || len(clients) != 3 {
		t.Errorf("Clients after ExpireIdle = %+v, %v; want the 3 others", clients, err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := m.ExpireIdle(cancelled, time.Now().Add(time.Hour)); !errors.Is(err, context.Canceled) {
		t.Errorf("ExpireIdle with a cancelled context: err %v, want context.Canceled", err)
	}
	got, err = m.ExpireIdle(ctx, time.Now().Add(time.Hour))
	if err != nil || len(got) != 3 {
		t.Errorf("ExpireIdle an hour on = %+v, %v; want the 3 others", got, err)
	}
}
