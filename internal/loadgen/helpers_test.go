package loadgen

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/montool/montool/internal/server"
	"github.com/montool/montool/internal/store"
	"github.com/montool/montool/internal/storetest"
)

// newMontool starts a real montool server over a fresh store on 127.0.0.1
// and returns its URL and its store.
func newMontool(t *testing.T) (string, *store.Memory) {
	t.Helper()
	st := storetest.NewMemory(t, store.Policy{})
	srv, err := server.New(server.DefaultConfig(), st, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return ts.URL, st
}

// storedEvents returns the number of events the store holds.
func storedEvents(t *testing.T, st *store.Memory) int64 {
	t.Helper()
	clients, err := st.Clients(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, c := range clients {
		n += c.Events
	}
	return n
}

// newFloor starts a floor server and stops it when the test ends.
func newFloor(t *testing.T, mode FloorMode) *Floor {
	t.Helper()
	f := NewFloor(mode)
	if err := f.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := f.Close(); err != nil {
			t.Errorf("close the floor: %v", err)
		}
	})
	return f
}

// smallConfig returns a config for a short run of events events.
func smallConfig(events int64, batch int) Config {
	cfg := DefaultConfig()
	cfg.Events = events
	cfg.Batch = batch
	cfg.Connections = 2
	cfg.Duration = 30 * time.Second // a bound only: the runs end by their count
	return cfg
}
