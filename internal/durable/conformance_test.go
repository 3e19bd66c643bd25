package durable_test

import (
	"testing"

	"github.com/montool/montool/internal/durable"
	"github.com/montool/montool/internal/server"
	"github.com/montool/montool/internal/store"
	"github.com/montool/montool/internal/storetest"
	"github.com/montool/montool/internal/wal"
)

// TestConformance runs the store conformance suite against the durable
// store, syncing every write as serve does by default.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, p store.Policy) server.Store {
		s := openStore(t, durable.Options{Dir: t.TempDir(), Sync: wal.SyncAlways, Policy: p})
		t.Cleanup(func() { closeStore(t, s) })
		return s
	})
}
