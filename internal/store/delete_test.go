package store_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/montool/montool/internal/event"
	"github.com/montool/montool/internal/store"
	"github.com/montool/montool/internal/storetest"
)

func TestDelete(t *testing.T) {
	ctx := context.Background()
	m := storetest.NewMemory(t, store.Policy{})
	if _, err := m.Apply(ctx, []event.Event{
		cumulative("c1", "e1", "n", sec(1), 2),
		timeSeries("c1", "e2", "t", sec(1), 5),
		cumulative("c2", "e1", "n", sec(1), 7),
	}); err != nil {
		t.Fatal(err)
	}
	n, err := m.Delete(ctx, "c1")
	if err != nil || n != 2 {
		t.Fatalf("Delete(c1) = %d, %v; want 2, nil", n, err)
	}
	if _, err := m.Delete(ctx, "c1"); !errors.Is(err, event.ErrNotFound) {
		t.Errorf("Delete(c1) again: err %v, want ErrNotFound", err)
	}
	if _, err := m.Delete(ctx, "nobody"); !errors.Is(err, event.ErrNotFound) {
		t.Errorf("Delete(nobody): err %v, want ErrNotFound", err)
	}
	if _, err := m.Dump(ctx, "c1"); !errors.Is(err, event.ErrNotFound) {
		t.Errorf("Dump(c1) after Delete: err %v, want ErrNotFound", err)
	}
	clients, err := m.Clients(ctx)
	if err != nil || len(clients) != 1 || clients[0].ClientID != "c2" {
		t.Errorf("Clients after Delete = %+v, %v; want only c2", clients, err)
	}
	// The ids went with the client.
	results, err := m.Apply(ctx, []event.Event{cumulative("c1", "e1", "n", sec(1), 2)})
	if err != nil || results[0].Duplicate || results[0].Err != nil {
		t.Errorf("event sent again after Delete: %+v, %v; want it accepted", results, err)
	}
	ctx2, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := m.Delete(ctx2, "c2"); !errors.Is(err, context.Canceled) {
		t.Errorf("Delete with a cancelled context: err %v, want context.Canceled", err)
	}
}

// replica is a journal that applies what it is told, in the order told, to
// a second store: what a replay of a write-ahead log would rebuild.
type replica struct {
	mu sync.Mutex
	m  *store.Memory
}

func (r *replica) Record(clientID string, events []event.Event, results []event.Result) {
	var accepted []event.Event
	for i, res := range results {
		if res.Err == nil && !res.Duplicate {
			accepted = append(accepted, events[i])
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, err := r.m.Apply(context.Background(), accepted); err != nil {
		panic(err)
	}
}

func (r *replica) Delete(clientID string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.m.Delete(context.Background(), clientID) // not found is fine: replay may see it so
}

// TestJournalOrderWithDeletes applies and deletes one client's events from
// many goroutines at once: a store rebuilt from its journal, in the order
// the journal was told, must end up holding what the store holds.
func TestJournalOrderWithDeletes(t *testing.T) {
	ctx := context.Background()
	r := &replica{m: storetest.NewMemory(t, store.Policy{})}
	m := newJournalled(t, r)
	const writers, batches = 8, 60
	var wg, deleter sync.WaitGroup
	var done atomic.Bool
	deletes := 0
	deleter.Go(func() {
		for !done.Load() {
			if _, err := m.Delete(ctx, "c"); err == nil {
				deletes++
			}
			runtime.Gosched()
		}
	})
	for w := range writers {
		wg.Go(func() {
			for b := range batches {
				batch := make([]event.Event, 5)
				for i := range batch {
					id := fmt.Sprintf("w%d-b%d-e%d", w, b, i)
					batch[i] = cumulative("c", id, "n", sec(int64(b)), 1)
				}
				if _, err := m.Apply(ctx, batch); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	done.Store(true)
	deleter.Wait()
	if deletes == 0 {
		t.Fatal("no Delete found the client while it was written")
	}
	want, wantErr := m.Dump(ctx, "c")
	got, gotErr := r.m.Dump(ctx, "c")
	if (wantErr == nil) != (gotErr == nil) {
		t.Fatalf("Dump: store %v, rebuilt %v", wantErr, gotErr)
	}
	if wantErr != nil {
		return
	}
	if len(want.Series) != 1 || len(got.Series) != 1 || want.Series[0].Count != got.Series[0].Count || want.Series[0].Total != got.Series[0].Total {
		t.Errorf("rebuilt from the journal: %+v, want %+v", got.Series, want.Series)
	}
}
