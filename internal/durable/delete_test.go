package durable_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/montool/montool/internal/durable"
	"github.com/montool/montool/internal/event"
	"github.com/montool/montool/internal/wal"
)

// TestDeletionsSurviveACrash deletes one client and forgets another as
// idle, then crashes (no snapshot): after a restart both stay gone, the
// third client is there, and an event sent again to a deleted client is
// new. The same holds when a snapshot was written before the deletions.
func TestDeletionsSurviveACrash(t *testing.T) {
	for _, snapshotFirst := range []bool{false, true} {
		name := "log only"
		if snapshotFirst {
			name = "snapshot, then the log"
		}
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			opts := durable.Options{Dir: t.TempDir(), Sync: wal.SyncAlways}
			s := openStore(t, opts)
			ev := func(client string) event.Event {
				return event.Event{ClientID: client, ID: "e1", Timestamp: 1763850000_000_000_000, Type: event.Cumulative, Key: "k", Value: 1}
			}
			if _, err := s.Apply(ctx, []event.Event{ev("deleted"), ev("idle"), ev("kept")}); err != nil {
				t.Fatal(err)
			}
			if snapshotFirst {
				if err := s.Snapshot(ctx); err != nil {
					t.Fatal(err)
				}
			}
			if n, err := s.Delete(ctx, "deleted"); err != nil || n != 1 {
				t.Fatalf("Delete = %d, %v; want 1, nil", n, err)
			}
			cutoff := time.Now()
			if _, err := s.Apply(ctx, []event.Event{{ClientID: "kept", ID: "e2", Timestamp: 1763850001_000_000_000, Type: event.Cumulative, Key: "k", Value: 1}}); err != nil {
				t.Fatal(err)
			}
			expired, err := s.ExpireIdle(ctx, cutoff.Add(time.Nanosecond))
			if err != nil || len(expired) != 1 || expired[0].ClientID != "idle" {
				t.Fatalf("ExpireIdle = %+v, %v; want idle alone", expired, err)
			}
			if err := s.Discard(); err != nil { // a crash: no last snapshot
				t.Fatal(err)
			}

			s = openStore(t, opts)
			defer s.Discard()
			for _, gone := range []string{"deleted", "idle"} {
				if _, err := s.View(ctx, gone); !errors.Is(err, event.ErrNotFound) {
					t.Errorf("View(%s) after a restart: err %v, want ErrNotFound", gone, err)
				}
			}
			if v, err := s.View(ctx, "kept"); err != nil || v.Series[0].Count != 2 {
				t.Errorf("View(kept) after a restart: %+v, %v; want its 2 events", v, err)
			}
			results, err := s.Apply(ctx, []event.Event{ev("deleted")})
			if err != nil || results[0].Err != nil || results[0].Duplicate {
				t.Errorf("an event of the deleted client sent again: %+v, %v; want it new", results, err)
			}
		})
	}
}
